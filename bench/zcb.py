#!/usr/bin/env python3
"""Helpers for bench/run.sh: timing, statistics, counter parsing, report.

Subcommands
  lat N LOG -- CMD...     run CMD N times (output appended to LOG); print
                          "first_ms median_ms p90_ms other_cpu_s wall_s";
                          fails if any run exits non-zero
  time LOG -- CMD...      run CMD once (output appended to LOG); print
                          "seconds other_cpu_s"; exit with CMD's status
  otherload O:W...        % of the machine's CPU used by OTHER processes (not
                          the command's tree, not the contender's daemon) over
                          the given other_cpu_s:wall_s pairs
  busy SECS               % of CPU capacity busy over SECS (idle check)
  median X...             median of the numbers
  stats KIND A B          delta of a cache's own counters between two raw
                          snapshots, as "H/M/U" (hits/misses/uncacheable or
                          passed through); "-" for bare, "n/a" if unreadable
  hash FILE...            short sha256 over the files' bytes, in order
  pids DIR [ENVVAR...]    live processes tied to the private cache dir DIR:
                          an argv element equal to DIR or under DIR/, an env
                          ENVVAR=DIR, or the pid in DIR/daemon.pid
  render TSV MDOUT        markdown tables from the results TSV (appended to
                          MDOUT and printed)
The "other" CPU is the whole machine's busy time minus that of the command's
children (and this helper) and of the daemon processes found via
$ZCB_DAEMON_DIR / $ZCB_DAEMON_ENVS.
"""
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def pct(values, p):
    """Nearest-rank percentile (p in 0..100)."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def machine_busy_s():
    """CPU-seconds all CPUs have been busy since boot (from /proc/stat)."""
    with open("/proc/stat") as fh:
        v = [int(x) for x in fh.readline().split()[1:9]]
    return (sum(v) - v[3] - v[4]) / CLK_TCK  # minus idle and iowait


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def find_pids(d, envs):
    d = os.path.abspath(d).rstrip("/")
    bd, bsub = d.encode(), (d + "/").encode()
    want_env = {("%s=%s" % (e, d)).encode() for e in envs if e}
    me = {os.getpid(), os.getppid()}
    out = set()
    for ent in os.listdir("/proc"):
        if not ent.isdigit() or int(ent) in me:
            continue
        pid = int(ent)
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as fh:
                cmd = fh.read().split(b"\0")
            with open("/proc/%d/environ" % pid, "rb") as fh:
                env = set(fh.read().split(b"\0"))
        except OSError:
            continue
        if not alive(pid):
            continue
        if any(a == bd or bsub in a for a in cmd) or (want_env & env):
            out.add(pid)
    try:
        with open(os.path.join(d, "daemon.pid")) as fh:
            pid = int(fh.read().split()[0])
        if pid not in me and alive(pid):
            with open("/proc/%d/cmdline" % pid, "rb") as fh:
                if b"daemon" in fh.read():
                    out.add(pid)
    except (OSError, ValueError, IndexError):
        pass
    return sorted(out)


def proc_cpu_s(pid):
    """utime+stime+cutime+cstime of one process."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as fh:
            f = fh.read().rsplit(b")", 1)[1].split()
        return sum(int(x) for x in f[11:15]) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def daemons_cpu():
    d = os.environ.get("ZCB_DAEMON_DIR", "")
    if not d:
        return {}
    res = {}
    for p in find_pids(d, os.environ.get("ZCB_DAEMON_ENVS", "").split()):
        c = proc_cpu_s(p)
        if c is not None:
            res[p] = c
    return res


def children_cpu_s():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    me = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime + me.ru_utime + me.ru_stime


def run_logged(cmd, log, track_daemon=True):
    """Run cmd; return (rc, wall_s, other_cpu_s)."""
    d0 = daemons_cpu() if track_daemon else {}
    b0, c0 = machine_busy_s(), children_cpu_s()
    with open(log, "ab") as fh:
        t0 = time.perf_counter()
        rc = subprocess.call(cmd, stdout=fh, stderr=subprocess.STDOUT)
        dt = time.perf_counter() - t0
    b1, c1 = machine_busy_s(), children_cpu_s()
    d1 = daemons_cpu() if track_daemon else {}
    daemon = sum(v - d0.get(p, 0.0) for p, v in d1.items())  # new daemon: all of it
    return rc, dt, max(0.0, (b1 - b0) - (c1 - c0) - daemon)


def cmd_lat(args):
    n, log = int(args[0]), args[1]
    cmd = args[args.index("--") + 1:]
    # Scanning /proc around every ~1 ms call would itself cost CPU between
    # the runs (not inside the timed window, but it heats caches); do it once
    # around the whole series instead.
    d0, b0, c0 = daemons_cpu(), machine_busy_s(), children_cpu_s()
    times = []
    with open(log, "ab") as fh:
        for _ in range(n):
            t0 = time.perf_counter()
            rc = subprocess.call(cmd, stdout=fh, stderr=subprocess.STDOUT)
            dt = time.perf_counter() - t0
            if rc != 0:
                sys.exit("command failed (rc=%d): %s" % (rc, " ".join(cmd)))
            times.append(dt * 1000.0)
    b1, c1, d1 = machine_busy_s(), children_cpu_s(), daemons_cpu()
    daemon = sum(v - d0.get(p, 0.0) for p, v in d1.items())
    other = max(0.0, (b1 - b0) - (c1 - c0) - daemon)
    print("%.3f %.3f %.3f %.3f %.3f" % (times[0], statistics.median(times), pct(times, 90),
                                        other, sum(times) / 1000.0))


def cmd_time(args):
    log = args[0]
    rc, dt, o = run_logged(args[args.index("--") + 1:], log)
    print("%.3f %.3f" % (dt, o))
    sys.exit(rc)


def cmd_otherload(args):
    other = wall = 0.0
    for a in args:
        o, w = a.split(":")
        other, wall = other + float(o), wall + float(w)
    cap = wall * (os.cpu_count() or 1)
    print("%.0f%%" % (100.0 * other / cap) if cap > 0 else "-")


def cmd_busy(args):
    secs = float(args[0]) if args else 1.0
    b0 = machine_busy_s()
    time.sleep(secs)
    print("%.0f" % (100.0 * (machine_busy_s() - b0) / (secs * (os.cpu_count() or 1))))


def cmd_median(args):
    print("%.3f" % statistics.median(float(a) for a in args))


def cmd_hitlat(args):
    """hitlat JOURNAL N: median and p90 (us) of the daemon's own latency
    (journal `latency_ns`, request arrival to reply) over the last N hits;
    prints nothing when the journal has none."""
    path, n = args[0], int(args[1])
    try:
        with open(path) as f:
            lines = [json.loads(l) for l in f if l.strip()]
    except (OSError, ValueError):
        return
    lat = [l["latency_ns"] / 1000.0 for l in lines if l.get("outcome") == "hit"][-n:]
    if lat:
        print("%.0f %.0f" % (statistics.median(lat), pct(lat, 90)))


# ---------------------------------------------------------------- stats ---
CCACHE_UNCACHEABLE = """autoconf_test bad_compiler_arguments bad_input_file
bad_output_file called_for_link called_for_preprocessing compile_failed
compiler_check_failed compiler_produced_empty_output compiler_produced_no_output
compiler_produced_stdout could_not_find_compiler could_not_use_modules
could_not_use_precompiled_header disabled error_hashing_extra_file
internal_error missing_cache_file modified_input_file multiple_source_files
no_input_file output_to_stdout preprocessor_error unsupported_code_directive
unsupported_compiler_option unsupported_environment_variable
unsupported_source_encoding unsupported_source_language""".split()


def parse_stats(kind, path):
    """(hits, misses, uncacheable) from a raw snapshot, or None."""
    try:
        with open(path) as fh:
            text = fh.read()
    except OSError:
        return None
    if not text.strip():
        return None
    try:
        if kind == "ccache":  # `ccache --print-stats`: key<TAB>value lines
            kv = {}
            for line in text.splitlines():
                parts = line.split("\t")
                if len(parts) == 2 and parts[1].strip().lstrip("-").isdigit():
                    kv[parts[0]] = int(parts[1])
            h = kv.get("direct_cache_hit", 0) + kv.get("preprocessed_cache_hit", 0)
            return h, kv.get("cache_miss", 0), sum(kv.get(k, 0) for k in CCACHE_UNCACHEABLE)
        if kind == "sccache":  # `sccache -s --stats-format=json`
            st = json.loads(text)["stats"]
            return (sum(st["cache_hits"]["counts"].values()),
                    sum(st["cache_misses"]["counts"].values()),
                    st.get("requests_not_cacheable", 0)
                    + st.get("requests_unsupported_compiler", 0)
                    + st.get("non_cacheable_compilations", 0))
        if kind in ("zccache", "ours", "base"):  # `zccache status --json`
            d = json.loads(text)
            d = d.get("daemon", d)
            return (int(d["cache_hits"]), int(d["cache_misses"]), int(d.get("non_cacheable", 0)))
    except (ValueError, KeyError, TypeError):
        return None
    return None


def cmd_stats(args):
    kind, a, b = args
    if kind == "bare":
        print("-")
        return
    sa, sb = parse_stats(kind, a), parse_stats(kind, b)
    if sb is None:
        print("n/a")
        return
    if sa is None:  # no snapshot before (daemon not up yet): counters start at 0
        sa = (0, 0, 0)
    print("%d/%d/%d" % tuple(y - x for x, y in zip(sa, sb)))


def cmd_hash(args):
    h = hashlib.sha256()
    for f in args:
        with open(f, "rb") as fh:
            h.update(fh.read())
    print(h.hexdigest()[:12])


def cmd_pids(args):
    for p in find_pids(args[0], args[1:]):
        print(p)


# --------------------------------------------------------------- render ---
TITLES = {
    "S1": "S1 per-hit latency: `<tool> gcc -O2 -DSTDC -D_LARGEFILE64_SOURCE "
          "-fvisibility=hidden -c zlib/deflate.c` (libz-sys's flags); first call = miss, then hits",
    "S2": "S2 cold overhead: the 15 classic zlib sources, `<tool> gcc <libz-sys flags> -c`, "
          "one process per file under `make -jJOBS`",
    "S9": "S9 compile farm (distcc): contenders run or skipped",
    "S12": "S12 remote execution (REAPI): contenders run or skipped",
    "S9-zlib-ng": "S9 compile farm, zlib-ng through CMake+Ninja (static), misses through distcc "
                  "to a local distccd",
    "S9-zstd": "S9 compile farm, zstd through its build/cmake (static + shared), misses through "
               "distcc to a local distccd",
}
GOALS = {
    "S1": "goal for ours: hit median <= 1.5 ms",
    "S2": "goal for ours: cold overhead <= 1.05x bare",
    "S9-zlib-ng": "bare = `distcc` alone as the compiler launcher (no cache), so *cold vs bare* is "
                  "the overhead over distcc alone; DISTCC_FALLBACK=0; distccd jobs counted from its log",
    "S9-zstd": "bare = `distcc` alone as the compiler launcher (no cache), so *cold vs bare* is "
               "the overhead over distcc alone; DISTCC_FALLBACK=0; distccd jobs counted from its log",
}


def fnum(x, fmt="%.2f"):
    try:
        return fmt % float(x)
    except (TypeError, ValueError):
        return "-"


def ratio(a, b):
    try:
        return "%.2fx" % (float(a) / float(b))
    except (TypeError, ValueError, ZeroDivisionError):
        return "-"


def same_as(bare, r, c):
    if c in ("bare", "floor") or not bare.get("artifact") or not r.get("artifact"):
        return "-"
    return "yes" if r["artifact"] == bare["artifact"] else "**NO**"


# ------------------------------------------------------------ S10 render ---
PEERS = ("ccache", "sccache")


def s10_fail_cell(r, ph):
    """A failure row's time: seconds, '> N s (killed)', or 'N (failed, rc)'."""
    t, rc = r.get(ph + "_s"), r.get(ph + "_rc", "0")
    if t is None:
        return "-"
    if t.startswith(">"):
        return "%s s (killed)" % t
    return fnum(t) + ("" if rc == "0" else " (build failed, rc %s)" % rc)


def render_s10(sc, rows, bare):
    """S10-<kind>: machine A cold into the server, machine B from it, and B
    with the server down / hanging."""
    kind = sc.split("-", 1)[1]
    lines = ["### S10 second machine, %s server: A builds zlib-ng + zstd (CMake, static+shared) "
             "cold into it; B (empty local cache, same path) builds from it" % kind, "",
             "| contender | A cold (s) | A vs bare | A uploads (s / objects) | **B (s)** | B vs bare | "
             "H/M/U A | H/M/U B | B's reads from the server | artifacts == bare (A, B) | "
             "B, server down (s) | B, hanging server (s) | other load | status |",
             "|---|---:|---:|---|---:|---:|---|---|---|---|---:|---:|---:|---|"]
    for c, r in rows.items():
        same_a = r.get("artifact_a") or "-"
        if r.get("status") == "skipped":   # no backend for this server kind: see the notes
            lines.append("| %s |%s skipped (see below) |" % (c, " - |" * 12))
            continue
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            c, fnum(r.get("a_s")), "-" if c == "bare" else ratio(r.get("a_s"), bare.get("a_s")),
            "-" if c == "bare" else "%s / %s" % (r.get("upload_s", "-"), r.get("writes", "-")),
            "-" if c == "bare" else "**%s**" % fnum(r.get("b_s")),
            "-" if c == "bare" else ratio(r.get("b_s"), bare.get("a_s")),
            r.get("stats_a", "-"), r.get("stats_b", "-"), r.get("remote_b", "-"),
            "-" if c == "bare" else "%s, %s" % (same_a, same_as(bare, r, c)),
            s10_fail_cell(r, "down"), s10_fail_cell(r, "hang"),
            r.get("other_load", "-"), r.get("status", "?")))
    lines.append("")
    peers = [(float(r["b_s"]), c) for c, r in rows.items() if c in PEERS and r.get("b_s")]
    ours = rows.get("ours", {})
    goal = "goal for ours: B <= 0.5x the best peer's B, with zero compiler runs on B (H/M/U B = n/0/0)"
    if peers and ours.get("b_s"):
        best, who = min(peers)
        q = float(ours["b_s"]) / best
        m = ours.get("stats_b", "").split("/")
        runs0 = len(m) == 3 and m[1] == "0" and m[2] == "0"
        goal += "; ours B %.2f s / best peer's B (%s, %.2f s) = %.2fx, %s" % (
            float(ours["b_s"]), who, best, q,
            "met" if q <= 0.5 and runs0 else "**NOT met**" + ("" if runs0 else " (compiles ran on B)"))
    elif ours.get("b_s"):
        goal += "; no peer ran against this server (see the notes), ours' H/M/U B %s" % ours.get("stats_b", "-")
    lines.append("- " + goal)
    lines.append("- A and bare: cold (empty cache, daemon started, untimed); B: a new machine "
                 "(daemon stopped, local cache wiped, build dirs configured again at the same path); "
                 "server down: B against the closed port; hanging: B against a server that accepts "
                 "and never answers (times only; killed at the limit); uploads: until the count of "
                 "objects written to the server is stable for 2 s")
    for c, r in rows.items():
        if r.get("env"):
            lines.append("- %s: %s; server down: H/M/U %s, %s, artifacts %s; hanging: H/M/U %s, %s, "
                         "artifacts %s" % (
                             c, r["env"], r.get("stats_down", "-"), r.get("note_down", "-"),
                             r.get("artifact_down", "-"), r.get("stats_hang", "-"),
                             r.get("note_hang", "-"), r.get("artifact_hang", "-")))
        if r.get("note"):
            lines.append("- %s: %s" % (c, r["note"]))
    lines.append("")
    return lines


def render_s10_list(rows):
    """S10 itself: which contenders ran S10, or why not."""
    lines = ["### S10 second machine: contenders", ""]
    for c, r in rows.items():
        lines.append("- %s: %s%s" % (c, r.get("status", "?"), "; " + r["note"] if r.get("note") else ""))
    lines.append("")
    return lines


# ------------------------------------------------------------ S12 render ---
S12_ORDER = ("bare", "ours", "ours+reapi", "ours+reapi-base", "distcc", "ours+distcc")
S12_WHAT = {
    "bare": "bare local: `ninja -jJOBS`, plain gcc",
    "ours": "ours local (no REAPI), the CMake module",
    "ours+reapi": "ours with ZCCACHE_REAPI=grpc://...|execute|jobs=JOBS: misses executed by buildbox-casd",
    "ours+reapi-base": "as ours+reapi, with ZCCACHE_BASE_DIR=<the S12 work dir>: the input root is the base dir "
                       "(project files at relative paths, system headers left to the worker)",
    "distcc": "distcc alone as the compiler launcher (S9's bare)",
    "ours+distcc": "ours with ZCCACHE_PREFIX=distcc (S9)",
}


def render_s12(sc, rows, bare):
    """S12-<project>: cold builds local / REAPI execute / distcc, warm for ours' rows."""
    proj = sc.split("-", 1)[1]
    what = {"zlib-ng": "zlib-ng (static)", "zstd": "zstd (static + shared)"}.get(proj, proj)
    lines = ["### S12 remote execution, %s through CMake+Ninja: cold, local vs REAPI Execute "
             "(buildbox-casd) vs distcc" % what, "",
             "| row | cold (s) | cold vs bare local | H/M/U cold | Execute requests cold | "
             "remote_exec cold (executed/cached/fallbacks/errors/timeouts) | distccd jobs cold | "
             "artifacts == bare local | warm median (s) | H/M/U warm (all runs) | "
             "Execute requests / distccd jobs warm | other load | status |",
             "|---|---:|---:|---|---:|---|---:|---|---:|---|---|---:|---|"]
    order = [c for c in S12_ORDER if c in rows] + [c for c in rows if c not in S12_ORDER]
    for c in order:
        r = rows[c]
        warm_srv = r.get("execs_warm", r.get("farm_jobs_warm", "-"))
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            c, fnum(r.get("cold_s")), "-" if c == "bare" else ratio(r.get("cold_s"), bare.get("cold_s")),
            r.get("stats_cold", "-"), r.get("execs_cold", "-"), r.get("rexec_cold", "-"),
            r.get("farm_jobs_cold", "-"), same_as(bare, r, c), fnum(r.get("warm_s")),
            r.get("stats_warm", "-"), warm_srv, r.get("other_load", "-"), r.get("status", "?")))
    lines.append("")
    lines.append("- one 2-core machine: the REAPI \"cluster\" (buildbox-casd + buildbox-run, "
                 "--jobs=JOBS) and distccd run on the same cores as the build, so neither can be "
                 "faster than a local build here: the rows measure overhead and correctness, not speed-up")
    lines.append("- other load of ours+reapi: the compilers buildbox-run starts in its bwrap sandbox do not "
                 "show in casd's CPU times, so that row's figure includes its own remote compiles (not "
                 "flagged); the other rows show whether the machine was otherwise idle")
    lines.append("- cold: empty cache (daemon started, untimed), fresh server; warm (ours' rows only): "
                 "after `ninja clean`, REPS runs: all local hits, no Execute request and no distccd job "
                 "expected; H/M/U of ours counts links and archives too (CMake module)")
    for c in order:
        r = rows[c]
        lines.append("- %s: %s; env `%s`%s" % (
            c, S12_WHAT.get(c, c), r.get("env", "-"),
            "; remote_exec warm %s" % r["rexec_warm"] if r.get("rexec_warm") else ""
            ) + ("; farm compiles/errors/fallbacks cold %s" % r["farm_cold"] if r.get("farm_cold") else "")
            + ("; %s" % r["note"] if r.get("note") else ""))
    lines.append("")
    return lines


def cmd_render(args):
    tsv, out = args
    data, order = {}, []
    with open(tsv) as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4:
                continue
            sc, c, k, v = parts
            if sc not in data:
                data[sc] = {}
                order.append(sc)
            data[sc].setdefault(c, {})[k] = v
    lines = []
    for sc in order:
        rows, bare = data[sc], data[sc].get("bare", {})
        if sc.startswith("S10-"):
            lines += render_s10(sc, rows, bare)
            continue
        if sc == "S10":
            lines += render_s10_list(rows)
            continue
        if sc.startswith("S12-"):
            lines += render_s12(sc, rows, bare)
            continue
        lines += ["### " + TITLES.get(sc, sc), ""]
        if sc == "S1":
            lines.append("| contender | first call (ms) | hit median (ms) | hit p90 (ms) | hits | "
                         "bare / hit | H/M/U first | H/M/U hits | output == bare | other load | status |")
            lines.append("|---|---:|---:|---:|---:|---:|---|---|---|---:|---|")
            for c, r in rows.items():
                lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                    c, fnum(r.get("first_ms")), fnum(r.get("median_ms")), fnum(r.get("p90_ms")),
                    r.get("reps", "-"),
                    "-" if c == "floor" else ratio(bare.get("median_ms"), r.get("median_ms")),
                    r.get("stats_first", "-"), r.get("stats_reps", "-"), same_as(bare, r, c),
                    r.get("other_load", "-"), r.get("status", "?")))
            lines += ["", "- bare: one plain `gcc` compile per run (`hits` column = runs); "
                      "floor: `/bin/true` launched the same way (process-spawn floor of this harness)"]
        elif not any("cold_s" in r or "median_ms" in r for r in rows.values()):
            # no timings of its own (S9: its rows are per project): status list
            lines += ["- %s: %s%s" % (c, r.get("status", "?"),
                                      " (%s)" % r["note"] if r.get("note") else "")
                      for c, r in rows.items()]
            rows = {}   # notes already shown
        else:
            farm = any("farm_jobs_cold" in r for r in rows.values())
            lines.append("| contender | cold (s) | cold vs bare | warm median (s) | warm runs (s) | "
                         "bare / warm | H/M/U cold | H/M/U warm (all runs) | artifact == bare | "
                         + ("distccd jobs cold | distccd jobs warm (all runs) | " if farm else "")
                         + "other load | status |")
            lines.append("|---|---:|---:|---:|---|---:|---|---|---|" + ("---:|---:|" if farm else "")
                         + "---:|---|")
            for c, r in rows.items():
                cells = [c, fnum(r.get("cold_s")), ratio(r.get("cold_s"), bare.get("cold_s")),
                         fnum(r.get("warm_s")), r.get("warm_runs", "-"),
                         ratio(bare.get("warm_s"), r.get("warm_s")),
                         r.get("stats_cold", "-"), r.get("stats_warm", "-"), same_as(bare, r, c)]
                if farm:
                    cells += [r.get("farm_jobs_cold", "-"), r.get("farm_jobs_warm", "-")]
                cells += [r.get("other_load", "-"), r.get("status", "?")]
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
        if sc in GOALS:
            lines.append("- " + GOALS[sc])
        lines += ["- %s: %s" % (c, r["note"]) for c, r in rows.items() if r.get("note")]
        lines.append("")
    text = "\n".join(lines)
    with open(out, "a") as fh:
        fh.write(text + "\n")
    print(text)


def main():
    fns = {"lat": cmd_lat, "time": cmd_time, "otherload": cmd_otherload, "busy": cmd_busy,
           "median": cmd_median, "hitlat": cmd_hitlat, "stats": cmd_stats, "hash": cmd_hash, "pids": cmd_pids,
           "render": cmd_render}
    if len(sys.argv) < 2 or sys.argv[1] not in fns:
        sys.exit(__doc__)
    fns[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
