# shellcheck shell=bash
# Second-checkout scenario for bench/run.sh (sourced by it; uses its helpers).
#
#   S11 zlib-ng (as S3) and zstd static+shared (as S4), CMake + Ninja,
#       Release, in TWO checkouts at different absolute paths,
#       $WORK/S11/a/<project> and $WORK/S11/b/<project> (build dirs inside
#       each checkout: <project>/_build), sharing ONE cache. Checkout A builds
#       cold; then checkout B builds (timed): with a working base dir, B runs
#       no compiler at all. Each contender uses its own way of sharing
#       entries between checkouts:
#         ccache   CCACHE_BASEDIR=$WORK/S11 (base_dir)
#         sccache  SCCACHE_BASEDIRS=$WORK/S11 (sccache >= 0.10)
#         ours     ZCCACHE_BASE_DIR=$WORK/S11 (our base dirs), CMake module
#         base     the same env as ours (an older build may ignore it)
#         zccache  upstream has no base dir; its nearest feature,
#                  ZCCACHE_PATH_REMAP=auto with ZCCACHE_WORKTREE_ROOT set to
#                  each checkout (its "sibling clones / worktrees" mode), is
#                  used unless S11_ZCCACHE_REMAP=off (then plain defaults)
#       bare builds checkout A once: the cold reference.
#
# Per contender (not timed): both checkouts are fresh copies of the read-only
# fixtures, the cache dir is wiped and the daemon started with the settings
# above, and both build dirs are configured. Timed: the ninja builds of A
# (cold, for information) and of B (the number that matters). "Compiler runs
# in B" comes from the cache's own counters around B's build: ccache
# `cache_miss`, sccache `cache_misses`, zccache/ours/base `cache_misses -
# link_misses` (`status --json`); the H/M/U column shows the rest (U: passed
# through, which also runs the compiler).
#
# Knobs: S11_PROJECTS="zlib-ng zstd" (either or both), S11_ZCCACHE_REMAP=auto|off.
# The table is rendered by post_S11 (run.sh calls post_<S> after its own tables).

S11_PROJECTS=${S11_PROJECTS:-"zlib-ng zstd"}
S11_ZCCACHE_REMAP=${S11_ZCCACHE_REMAP:-auto}
S11_DIR=         # $WORK/S11: the base dir; checkouts in a/ and b/ below it

# s11_env C: C's settings for sharing between checkouts, as a VAR=val list
s11_env() {
  case $1 in
    ccache)    echo "CCACHE_BASEDIR=$S11_DIR" ;;
    sccache)   echo "SCCACHE_BASEDIRS=$S11_DIR" ;;
    ours|base) echo "ZCCACHE_BASE_DIR=$S11_DIR" ;;
    zccache)   [ "$S11_ZCCACHE_REMAP" = off ] || echo "ZCCACHE_PATH_REMAP=auto" ;;
  esac
}

# s11_arts SIDE: the artifacts of one checkout's builds
s11_arts() {
  local p
  for p in $S11_PROJECTS; do
    case $p in
      zlib-ng) echo "$S11_DIR/$1/zlib-ng/_build/libz.a" ;;
      zstd)    echo "$S11_DIR/$1/zstd/_build/lib/libzstd.a"
               echo "$S11_DIR/$1/zstd/_build/lib/libzstd.so" ;;
    esac
  done
}

# s11_checkout C LOG SIDE: a fresh copy of the fixtures in $S11_DIR/SIDE, its
# build dirs configured for C (as S3/S4), and $S11_DIR/build-SIDE.sh, the
# script that builds it
s11_checkout() {
  local c=$1 log=$2 side=$3 p src z root
  local -a args=() launch=()
  rm -rf "${S11_DIR:?}/$side"; mkdir -p "$S11_DIR/$side"
  printf 'set -e\n' >"$S11_DIR/build-$side.sh"
  for p in $S11_PROJECTS; do
    root=$S11_DIR/$side/$p
    cp -a "$FIX/$p" "$root"
    case $p in
      zlib-ng) src=$root
               args=(-DBUILD_TESTING=OFF -DZLIB_COMPAT=ON -DBUILD_SHARED_LIBS=OFF) ;;
      zstd)    src=$root/build/cmake
               args=(-DZSTD_BUILD_PROGRAMS=OFF -DZSTD_BUILD_TESTS=OFF -DZSTD_BUILD_CONTRIB=OFF
                     -DZSTD_BUILD_STATIC=ON -DZSTD_BUILD_SHARED=ON) ;;
    esac
    case $c in
      bare) launch=() ;;
      ours|base) z=$(bin_of "$c")
                 launch=(-DCMAKE_PROJECT_TOP_LEVEL_INCLUDES="$(cenv "$c" "$z" cmake-module)"
                         -DZCCACHE_PROGRAM="$z" -DZCCACHE_MODE=ON) ;;
      *) launch=(-DCMAKE_C_COMPILER_LAUNCHER="$(bin_of "$c")") ;;
    esac
    echo "--- configure $side/$p" >>"$log"
    cenv "$c" cmake -S "$src" -B "$root/_build" -G Ninja -DCMAKE_C_COMPILER=gcc \
      -DCMAKE_BUILD_TYPE=Release "${launch[@]}" "${args[@]}" >>"$log" 2>&1
    if [ "$c" = zccache ] && [ "$S11_ZCCACHE_REMAP" != off ]; then
      printf 'ZCCACHE_WORKTREE_ROOT=%q ninja -C %q -j %s\n' "$root" "$root/_build" "$JOBS"
    else
      printf 'ninja -C %q -j %s\n' "$root/_build" "$JOBS"
    fi >>"$S11_DIR/build-$side.sh"
  done
}

# s11_py CMD ARGS: counters from the raw snapshots
s11_py() {
  python3 - "$@" <<'PY'
import json, sys

def runs(kind, path):
    """Compiler runs (cache misses of compiles) counted so far, or None."""
    try:
        text = open(path).read()
        if not text.strip():
            return 0          # no daemon yet: nothing counted
        if kind == "ccache":
            kv = dict(l.split("\t", 1) for l in text.splitlines() if "\t" in l)
            return int(kv.get("cache_miss", 0))
        d = json.loads(text)
        if kind == "sccache":
            return sum(d["stats"]["cache_misses"]["counts"].values())
        d = d.get("daemon", d)
        return int(d["cache_misses"]) - int(d.get("link_misses", 0))
    except (OSError, ValueError, KeyError, TypeError):
        return None

cmd = sys.argv[1]
if cmd == "runs":              # runs KIND A B: compiler runs between two snapshots
    a, b = runs(sys.argv[2], sys.argv[3]), runs(sys.argv[2], sys.argv[4])
    print("n/a" if a is None or b is None else b - a)
PY
}

# s11_build C LOG SIDE: one timed build of checkout SIDE, counter snapshots
# $RUN/S11-C.SIDE.{0,1} around it; sets S11_T, S11_STATS (H/M/U), S11_RUNS, S11_LOAD
s11_build() {
  local c=$1 log=$2 side=$3 st=$RUN/S11-$1.$3 out rc=0 t o
  echo "--- build $side" >>"$log"
  snap "$c" "$st.0"
  out=$(tcmd "$c" "$log" bash "$S11_DIR/build-$side.sh") || rc=$?
  read -r t o <<<"$out"
  snap "$c" "$st.1"
  [ "$rc" -eq 0 ] || { echo "   checkout ${side^^}'s build failed (rc=$rc; see $log)"; return "$rc"; }
  S11_T=$t
  S11_STATS=$(sdelta "$c" "$st.0" "$st.1")
  S11_RUNS=$(s11_py runs "$c" "$st.0" "$st.1")
  [ "$c" != bare ] || S11_RUNS=-
  S11_LOAD="$o:$t"
}

# s11_same C SIDE: SIDE's artifacts equal bare's? (recorded as artifact_SIDE)
s11_same() {
  local c=$1 side=$2 h b=""
  local -a files
  mapfile -t files < <(s11_arts "$side")
  h=$(python3 "$ZCBPY" hash "${files[@]}")
  [ ! -f "$RUN/S11-bare.artifact" ] || b=$(cat "$RUN/S11-bare.artifact")
  if [ -z "$b" ]; then rec S11 "$c" "artifact_$side" "-"
  elif [ "$b" = "$h" ]; then rec S11 "$c" "artifact_$side" yes
  else rec S11 "$c" "artifact_$side" "**NO**"; warn "S11 $c: checkout ${side^^}'s output differs from bare's ($h vs $b)"
  fi
}

scenario_S11() {  # second checkout: A builds cold, B (another path, same cache) from A's entries
  local c=$1 log=$2 p env xv=EXTRA_ENV_$1
  local -a files
  local -a loads=()
  command -v cmake >/dev/null 2>&1 && command -v ninja >/dev/null 2>&1 ||
    { echo "   skip S11: cmake/ninja not found"; rec S11 "$c" note "skipped: cmake/ninja not found"; return 0; }
  for p in $S11_PROJECTS; do
    case $p in zlib-ng|zstd) ;; *) echo "S11_PROJECTS: unknown project $p (zlib-ng zstd)" >&2; return 2 ;; esac
    [ -f "$FIX/$p/CMakeLists.txt" ] || [ -f "$FIX/$p/build/cmake/CMakeLists.txt" ] ||
      { echo "fixture missing: $FIX/$p (run bench/fixtures.sh)" >&2; return 2; }
  done
  S11_DIR=$WORK/S11
  rm -rf "$S11_DIR"; mkdir -p "$S11_DIR"
  env=$(s11_env "$c")
  printf -v "$xv" '%s' "${!xv:+${!xv} }$env"
  rec S11 "$c" env "${env:--}"
  [ -z "$env" ] || echo "   $env"

  # untimed: empty cache + daemon with the settings, both checkouts configured
  cache_reset "$c" "$log"
  s11_checkout "$c" "$log" a
  [ "$c" = bare ] || s11_checkout "$c" "$log" b

  s11_build "$c" "$log" a
  rec S11 "$c" a_s "$S11_T"; rec S11 "$c" stats_a "$S11_STATS"; rec S11 "$c" runs_a "$S11_RUNS"
  loads+=("$S11_LOAD")
  if [ "$c" = bare ]; then
    mapfile -t files < <(s11_arts a)
    artifact S11 bare "${files[@]}"
    other_load S11 bare "${loads[@]}"
    printf '   A cold %7.2fs (the cold reference)\n' "$S11_T"
    return 0
  fi
  s11_same "$c" a
  printf '   A cold %7.2fs [H/M/U %s, compiler runs %s]\n' "$S11_T" "$S11_STATS" "$S11_RUNS"

  s11_build "$c" "$log" b
  rec S11 "$c" b_s "$S11_T"; rec S11 "$c" stats_b "$S11_STATS"; rec S11 "$c" runs_b "$S11_RUNS"
  loads+=("$S11_LOAD")
  s11_same "$c" b
  case $c in
    ours) [ "$S11_RUNS" = 0 ] && [ "${S11_STATS##*/}" = 0 ] ||
            warn "S11 ours: checkout B ran compiles (compiler runs $S11_RUNS, H/M/U $S11_STATS; expected 0 and U=0)" ;;
  esac
  printf '   B      %7.2fs [H/M/U %s, compiler runs %s]\n' "$S11_T" "$S11_STATS" "$S11_RUNS"
  other_load S11 "$c" "${loads[@]}"
  note_daemon S11 "$c"
  daemon_stop "$c"     # with the settings above (run.sh stops it again without them)
}

# post_S11: the S11 table, from the results TSV (appended to $MD and printed)
post_S11() {
  python3 - "$TSV" "$S11_PROJECTS" "$S11_ZCCACHE_REMAP" <<'PY' | tee -a "$MD"
import sys
tsv, projects, remap = sys.argv[1:4]
rows = {}
for line in open(tsv):
    parts = line.rstrip("\n").split("\t")
    if len(parts) == 4 and parts[0] == "S11":
        rows.setdefault(parts[1], {})[parts[2]] = parts[3]

def num(x):
    try:
        return "%.2f" % float(x)
    except (TypeError, ValueError):
        return "-"

def ratio(a, b):
    try:
        return "%.2fx" % (float(a) / float(b))
    except (TypeError, ValueError, ZeroDivisionError):
        return "-"

bare = rows.get("bare", {})
out = ["### S11 second checkout: %s (CMake + Ninja, Release) built in checkout A, then in checkout B "
       "at another path, one cache" % " + ".join(
           {"zlib-ng": "zlib-ng (static)", "zstd": "zstd (static + shared)"}.get(p, p)
           for p in projects.split()), "",
       "| contender | settings | A cold (s) | A vs bare | **B (s)** | B vs bare A | H/M/U A | H/M/U B | "
       "**compiler runs in B** (A) | artifacts == bare (A, B) | other load | status |",
       "|---|---|---:|---:|---:|---:|---|---|---:|---|---:|---|"]
for c, r in rows.items():
    b = c == "bare"
    out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
        c, "-" if r.get("env", "-") == "-" else "`%s`" % r["env"], num(r.get("a_s")),
        "-" if b else ratio(r.get("a_s"), bare.get("a_s")),
        "-" if b else "**%s**" % num(r.get("b_s")),
        "-" if b else ratio(r.get("b_s"), bare.get("a_s")),
        r.get("stats_a", "-"), "-" if b else r.get("stats_b", "-"),
        "-" if b else "**%s** (%s)" % (r.get("runs_b", "-"), r.get("runs_a", "-")),
        "-" if b else "%s, %s" % (r.get("artifact_a", "-"), r.get("artifact_b", "-")),
        r.get("other_load", "-"), r.get("status", "?")))
out.append("")
peers = []
for c in ("ccache", "sccache", "zccache"):
    r = rows.get(c, {})
    if r.get("b_s") and r.get("status") == "ok":
        peers.append((float(r["b_s"]), c))
ours = rows.get("ours", {})
goal = "goal for ours: B <= 0.5x the best peer's B, with zero compiler runs on B"
if ours.get("b_s"):
    runs0 = ours.get("runs_b") == "0" and ours.get("stats_b", "").endswith("/0")
    if peers:
        best, who = min(peers)
        q = float(ours["b_s"]) / best
        goal += "; ours B %.2f s / best peer's B (%s, %.2f s) = %.2fx, compiler runs %s: %s" % (
            float(ours["b_s"]), who, best, q, ours.get("runs_b", "-"),
            "met" if q <= 0.5 and runs0 else "**NOT met**" + ("" if runs0 else " (compiles ran on B)"))
    else:
        goal += "; no peer's B to compare with; ours: compiler runs %s" % ours.get("runs_b", "-")
out.append("- " + goal)
out.append("- untimed per contender: fresh copies of the fixtures in $WORK/S11/a and $WORK/S11/b, cache "
           "dir wiped, daemon started with the settings, both build dirs (<checkout>/_build) configured; "
           "timed: ninja of A (cold), then of B. bare: A only, the cold reference")
out.append("- compiler runs: ccache `cache_miss`, sccache `cache_misses`, zccache/ours/base "
           "`cache_misses - link_misses` (`status --json`), around B's build (A's in parentheses); "
           "H/M/U's U (passed through) also runs the compiler")
if "zccache" in rows:
    out.append("- zccache (upstream) has no base dir; " + (
        "it ran with its opt-in `ZCCACHE_PATH_REMAP=auto` and `ZCCACHE_WORKTREE_ROOT=<checkout>` per "
        "build (its sibling-clones mode, injects path-prefix maps); `S11_ZCCACHE_REMAP=off` runs it with defaults"
        if remap != "off" else "it ran with its defaults (`S11_ZCCACHE_REMAP=off`)"))
for c, r in rows.items():
    if r.get("note"):
        out.append("- %s: %s" % (c, r["note"]))
out.append("")
print("\n".join(out))
PY
}
