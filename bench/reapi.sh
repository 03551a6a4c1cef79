# shellcheck shell=bash
# REAPI (Bazel Remote Execution API v2) pieces for bench/run.sh (sourced by
# it; uses its helpers and those of farm.sh and remote.sh):
#
#   - reapi_buildbox / reapi_casd_launch: a fresh buildbox-casd on a free
#     port of 127.0.0.1 (ActionCache + CAS; with `exec` also Execute, whose
#     actions buildbox-run runs in a bubblewrap sandbox that sees the host's
#     /usr read-only). S10 uses it as its `reapi` server kind (cache only).
#
#   S12 remote execution: zlib-ng (as S3) and zstd static+shared (as S4),
#       CMake + Ninja, cold, in one run: bare local (`ninja -jJOBS`), ours
#       local, ours with ZCCACHE_REAPI='grpc://…|execute|jobs=JOBS' against a
#       fresh buildbox-casd (--jobs=JOBS), distcc alone (as S9's bare) and
#       ours with ZCCACHE_PREFIX=distcc (as S9), each against a fresh distccd.
#       Contenders: `bare` runs the rows bare and distcc, `ours` the rows
#       ours, ours+reapi and ours+distcc; the others are skipped with a note.
#       The ours rows then rebuild warm after `ninja clean` (REPS times):
#       all local hits, no Execute request and no distccd job may be seen.
#
# buildbox-run's sandbox mounts a tmpfs over /tmp, so an action whose inputs
# sit under /tmp cannot see them: S12's sources (copies of the fixtures) and
# build dirs live under $ZCBENCH_EXEC_WORK (default /work/zcbench-exec),
# outside /tmp, at the same paths for every row; casd's data dirs too. Logs
# (casd, distccd, daemon snapshots) stay in $RUN.
#
# Knobs: ZCCACHE_BUILDBOX_DIR=/tmp/zccache-buildbox (fetched with
# scripts/fetch-buildbox.sh when missing), ZCBENCH_EXEC_WORK=/work/zcbench-exec,
# S12_PROJECTS="zlib-ng zstd", S12_DEBUG=1 (ZCCACHE_DEBUG=1 for the
# ours+reapi daemon: its log then says why an action was not executed).

REAPI_BB=${ZCCACHE_BUILDBOX_DIR:-/tmp/zccache-buildbox}
S12_WORK=${ZCBENCH_EXEC_WORK:-/work/zcbench-exec}
S12_PROJECTS=${S12_PROJECTS:-"zlib-ng zstd"}
S12_DEBUG=${S12_DEBUG:-0}
REAPI_PID=       # buildbox-casd started last
REAPI_PORT=
REAPI_LOG=

# reapi_buildbox: buildbox-casd and buildbox-run in $REAPI_BB, fetched by
# scripts/fetch-buildbox.sh when missing (its output on stderr)
reapi_buildbox() {
  [ -x "$REAPI_BB/buildbox-casd" ] && [ -x "$REAPI_BB/buildbox-run" ] && return 0
  echo "   fetching buildbox into $REAPI_BB (scripts/fetch-buildbox.sh)" >&2
  "$HERE/../scripts/fetch-buildbox.sh" "$REAPI_BB" >&2 || return 1
  [ -x "$REAPI_BB/buildbox-casd" ] && [ -x "$REAPI_BB/buildbox-run" ]
}

# reapi_casd_launch DATADIR LOG MODE [TRACK]: start a fresh (empty DATADIR)
# buildbox-casd on a free port of 127.0.0.1; MODE `exec` adds buildbox-run
# (Execute; the host's /usr bind-mounted read-only, with /lib, /lib64, /bin
# pointing into it as on Debian), `cache` serves ActionCache + CAS only.
# TRACK: a directory the timing helper treats as the contender's daemon
# (env ZCB_FARM, as farm.sh does for distccd): casd and the actions it runs
# then count as part of the build, not as other load. Sets REAPI_PID,
# REAPI_PORT, REAPI_LOG; does not wait (see reapi_casd_wait).
reapi_casd_launch() {
  local data=$1 log=$2 mode=$3 track=${4:-}
  local -a run=()
  rm -rf "$data"; mkdir -p "$data" "$(dirname "$log")"
  if [ "$mode" = exec ]; then
    run=(--buildbox-run="$REAPI_BB/buildbox-run"
         --runner-arg=--ro-bind-mount=/usr:/usr --runner-arg=--ro-bind-mount=/usr/lib:/lib
         --runner-arg=--ro-bind-mount=/usr/lib64:/lib64 --runner-arg=--ro-bind-mount=/usr/bin:/bin)
  fi
  REAPI_PORT=$(s10_free_port)
  REAPI_LOG=$log
  env ${track:+ZCB_FARM="$track"} "$REAPI_BB/buildbox-casd" --bind="127.0.0.1:$REAPI_PORT" \
    "${run[@]}" --jobs="$JOBS" --log-level=info "$data" </dev/null >"$log" 2>&1 &
  REAPI_PID=$!
}

# reapi_casd_wait: up to 10 s until casd accepts on REAPI_PORT
reapi_casd_wait() {
  s10_wait_port "$REAPI_PORT" "$REAPI_PID" && return 0
  echo "buildbox-casd did not come up on 127.0.0.1:$REAPI_PORT (see $REAPI_LOG)" >&2
  return 1
}

# reapi_casd_stop: SIGTERM by PID, verified (SIGKILL after 5 s)
reapi_casd_stop() {
  local pid=$REAPI_PID
  [ -n "$pid" ] || return 0
  REAPI_PID=
  stop_pid "$pid" buildbox-casd
}

# reapi_execs: Execute requests casd has logged so far
reapi_execs() {
  grep -c 'Execute request from' "$REAPI_LOG" 2>/dev/null || true
}

# ------------------------------------------------------------------- S12

# s12_counters A B: ours' remote_exec counters between two `status --json`
# snapshots, as "executed/cached/fallbacks/errors/timeouts" ("-" when the
# daemon has no remote execution, "n/a" if unreadable)
s12_counters() {
  python3 - "$1" "$2" <<'PY'
import json, sys
KEYS = ("executed", "cached", "fallbacks", "errors", "timeouts")
def load(p):
    try:
        with open(p) as fh:
            d = json.load(fh)
        d = d.get("daemon", d)
        r = d.get("remote_exec")
        return "none" if r is None else [int(r.get(k, 0)) for k in KEYS]
    except (OSError, ValueError, TypeError, AttributeError):
        return None
a, b = load(sys.argv[1]), load(sys.argv[2])
if b is None:
    print("n/a")
elif b == "none":
    print("-")
else:
    a = a if isinstance(a, list) else [0] * len(KEYS)
    print("/".join(str(y - x) for x, y in zip(a, b)))
PY
}

# s12_sources: fresh copies of the fixtures under $S12_WORK/src (outside /tmp)
s12_sources() {
  local p
  rm -rf "$S12_WORK/src"; mkdir -p "$S12_WORK/src"
  for p in $S12_PROJECTS; do cp -a "$FIX/$p" "$S12_WORK/src/$p"; done
}

pre_S12() {  # the sources, once for every row (same paths for all)
  case $S12_WORK in /tmp|/tmp/*)
    echo "ZCBENCH_EXEC_WORK=$S12_WORK is under /tmp, which buildbox-run's sandbox hides" >&2
    return 2 ;;
  esac
  local p
  for p in $S12_PROJECTS; do
    case $p in zlib-ng|zstd) ;; *) echo "S12_PROJECTS: unknown project $p (zlib-ng zstd)" >&2; return 2 ;; esac
    [ -f "$FIX/$p/CMakeLists.txt" ] || [ -f "$FIX/$p/build/cmake/CMakeLists.txt" ] ||
      { echo "fixture missing: $FIX/$p (run bench/fixtures.sh)" >&2; return 2; }
  done
  s12_sources
  echo "== S12 sources copied to $S12_WORK/src ($S12_PROJECTS)"
}

# s12_stop_all: the farm and the REAPI server of this subshell, by PID
s12_stop_all() {
  s9_farm_stop
  reapi_casd_stop
}

# s12_row C LABEL PROJECT LOG: one row (LABEL: bare distcc ours ours+reapi
# ours+distcc) of one project, run as contender C (bare or ours)
s12_row() {
  local c=$1 lab=$2 p=$3 log=$4 S=S12-$3
  local b=$S12_WORK/build/$p src z st=$RUN/S12-$3-$2.stats track xv=EXTRA_ENV_$1
  local base_env=${!xv:-} env="" out t o cold i n e0 e1 j0 j1
  local -a launch=() args=() arts=() loads=() runs=()
  rec "$S" "$lab" status "FAIL (see $(basename "$log"))"   # replaced below on success
  case $p in
    zlib-ng) src=$S12_WORK/src/zlib-ng; arts=("$b/libz.a")
             args=(-DBUILD_TESTING=OFF -DZLIB_COMPAT=ON -DBUILD_SHARED_LIBS=OFF) ;;
    zstd)    src=$S12_WORK/src/zstd/build/cmake; arts=("$b/lib/libzstd.a" "$b/lib/libzstd.so")
             args=(-DZSTD_BUILD_PROGRAMS=OFF -DZSTD_BUILD_TESTS=OFF -DZSTD_BUILD_CONTRIB=OFF
                   -DZSTD_BUILD_STATIC=ON -DZSTD_BUILD_SHARED=ON) ;;
  esac
  # the servers (and the compilers they run) count as part of the build
  track=$(dd_of "$c")
  [ -n "$track" ] || track=$RUN/S12-track-$c
  case $lab in
    distcc|ours+distcc)
      s9_farm_start "S12-$lab-$p" "$track"
      trap s12_stop_all EXIT
      mkdir -p "$ROOT/home/$c/.distcc"
      env="DISTCC_HOSTS=127.0.0.1:$S9_PORT/$JOBS DISTCC_DIR=$ROOT/home/$c/.distcc DISTCC_FALLBACK=0"
      [ "$lab" = distcc ] || env+=" ZCCACHE_PREFIX=distcc"
      echo "   distccd pid $S9_FARM_PID on 127.0.0.1:$S9_PORT" >>"$log" ;;
    ours+reapi|ours+reapi-base)
      mkdir -p "$S12_WORK/casd"
      reapi_casd_launch "$S12_WORK/casd/$p" "$RUN/S12-casd-$p/casd.log" exec "$track"
      trap s12_stop_all EXIT
      reapi_casd_wait
      env="ZCCACHE_REAPI=grpc://127.0.0.1:$REAPI_PORT|execute|jobs=$JOBS"
      # -base: the input root is the base dir (project files only, at
      # relative paths; system headers stay on the worker)
      [ "$lab" != ours+reapi-base ] || env+=" ZCCACHE_BASE_DIR=$S12_WORK"
      [ "$S12_DEBUG" != 1 ] || env+=" ZCCACHE_DEBUG=1"
      echo "   buildbox-casd pid $REAPI_PID on 127.0.0.1:$REAPI_PORT, --jobs=$JOBS" >>"$log" ;;
  esac
  printf -v "$xv" '%s' "${base_env:+$base_env }$env"
  rec "$S" "$lab" env "${env:--}"
  case $lab in
    bare) ;;
    distcc) launch=(-DCMAKE_C_COMPILER_LAUNCHER=distcc) ;;
    *) z=$(bin_of "$c")
       launch=(-DCMAKE_PROJECT_TOP_LEVEL_INCLUDES="$(cenv "$c" "$z" cmake-module)"
               -DZCCACHE_PROGRAM="$z" -DZCCACHE_MODE=ON) ;;
  esac
  rm -rf "$b"; mkdir -p "$b"
  echo "--- $lab $p: configure" >>"$log"
  cenv "$c" cmake -S "$src" -B "$b" -G Ninja -DCMAKE_C_COMPILER=gcc \
    -DCMAKE_BUILD_TYPE=Release "${launch[@]}" "${args[@]}" >>"$log" 2>&1
  cache_reset "$c" "$log"      # ours: wiped cache, daemon started with env (untimed)

  # cold
  snap "$c" "$st.0"; e0=$(reapi_execs); j0=$(s9_jobs)
  echo "--- $lab $p: cold build" >>"$log"
  out=$(tcmd "$c" "$log" ninja -C "$b" -j "$JOBS")
  read -r cold o <<<"$out"; loads+=("$o:$cold")
  snap "$c" "$st.1"; e1=$(reapi_execs); j1=$(s9_jobs)
  rec "$S" "$lab" cold_s "$cold"
  rec "$S" "$lab" stats_cold "$(sdelta "$c" "$st.0" "$st.1")"
  [ -z "$REAPI_PID" ] || rec "$S" "$lab" execs_cold "$((e1 - e0))"
  [ -z "$S9_FARM_PID" ] || rec "$S" "$lab" farm_jobs_cold "$((j1 - j0))"
  artifact "$S" "$lab" "${arts[@]}"
  n="cold ${cold}s [H/M/U $(sdelta "$c" "$st.0" "$st.1")]"
  [ -z "$REAPI_PID" ] || n+=", Execute requests $((e1 - e0))"
  [ -z "$S9_FARM_PID" ] || n+=", distccd jobs $((j1 - j0))"

  # warm, the ours rows only: after `ninja clean`, every compile a local hit
  if [ "$c" != bare ]; then
    for i in $(seq "$REPS"); do
      echo "--- $lab $p: clean + warm build $i" >>"$log"
      cenv "$c" ninja -C "$b" clean >>"$log" 2>&1
      out=$(tcmd "$c" "$log" ninja -C "$b" -j "$JOBS")
      read -r t o <<<"$out"; loads+=("$o:$t"); runs+=("$t")
    done
    snap "$c" "$st.2"; e0=$(reapi_execs); j0=$(s9_jobs)
    local sw rc rw
    sw=$(sdelta "$c" "$st.1" "$st.2")
    rec "$S" "$lab" warm_s "$(python3 "$ZCBPY" median "${runs[@]}")"
    t="${runs[*]}"; rec "$S" "$lab" warm_runs "${t// /, }"
    rec "$S" "$lab" stats_warm "$sw"
    case $sw in */0/0) ;; *) warn "$S $lab: warm builds' counters H/M/U $sw (expected all hits: n/0/0)" ;; esac
    n+="; warm ${t// /, }s [H/M/U $sw]"
    if [ -n "$REAPI_PID" ]; then
      rec "$S" "$lab" execs_warm "$((e0 - e1))"
      [ "$((e0 - e1))" -eq 0 ] || warn "$S $lab: $((e0 - e1)) Execute request(s) in the warm builds (hits should not execute)"
      n+=", Execute requests $((e0 - e1))"
    fi
    if [ -n "$S9_FARM_PID" ]; then
      rec "$S" "$lab" farm_jobs_warm "$((j0 - j1))"
      [ "$((j0 - j1))" -eq 0 ] || warn "$S $lab: $((j0 - j1)) compile(s) reached distccd in the warm builds (hits should not)"
      n+=", distccd jobs $((j0 - j1))"
    fi
    rc=$(s12_counters "$st.0" "$st.1"); rw=$(s12_counters "$st.1" "$st.2")
    if [ "$rc" != - ]; then
      rec "$S" "$lab" rexec_cold "$rc"; rec "$S" "$lab" rexec_warm "$rw"
      n+="; remote_exec executed/cached/fallbacks/errors/timeouts cold $rc, warm $rw"
    fi
    if [[ $lab == ours+reapi* ]]; then
      local ex fb er tm
      IFS=/ read -r ex _ fb er tm <<<"$rc"
      [ "${ex:-0}" -gt 0 ] 2>/dev/null || warn "$S $lab: nothing executed remotely in the cold build (remote_exec $rc)"
      if [ "${fb:-0}" != 0 ] || [ "${er:-0}" != 0 ] || [ "${tm:-0}" != 0 ]; then
        warn "$S $lab: remote_exec cold $rc (executed/cached/fallbacks/errors/timeouts): fallbacks/errors/timeouts should be 0; daemon log lines in $RUN/$S-$lab.daemon-log.txt"
        grep -rhiE 'remote|reapi|execut|fallback' "$CACHE/$c/logs" >"$RUN/$S-$lab.daemon-log.txt" 2>/dev/null || true
      fi
      [ "$rw" = 0/0/0/0/0 ] || warn "$S $lab: remote_exec warm $rw, expected 0/0/0/0/0"
    fi
    if [ "$lab" = ours+distcc ]; then
      local fc; fc=$(s9_farm_counters "$st.0" "$st.1")
      rec "$S" "$lab" farm_cold "$fc"
      n+="; farm compiles/errors/fallbacks cold $fc"
      case $fc in */0/0|n/a) ;; *) warn "$S $lab: farm counters cold $fc (compiles/errors/fallbacks), expected errors/fallbacks 0" ;; esac
    fi
    note_daemon "$S" "$lab"
    daemon_stop "$c"       # with this row's settings; its log stays in the cache dir
    [[ $lab != ours+reapi* ]] || cp -a "$CACHE/$c/logs" "$RUN/$S-$lab.daemon-logs" 2>/dev/null || true
  fi
  if [[ $lab == ours+reapi* ]]; then
    # casd is tracked, but the compilers buildbox-run starts in its bwrap
    # sandbox do not reach casd's CPU times (checked: a 1.5 s remote compile
    # added 0.2 s to casd's utime+stime+cutime+cstime), so this row's "other"
    # CPU includes its own remote compiles: recorded, not flagged
    rec "$S" "$lab" other_load "$(python3 "$ZCBPY" otherload "${loads[@]}") (incl. remote compiles)"
  else
    other_load "$S" "$lab" "${loads[@]}"
  fi
  s12_stop_all
  S9_FARM_LOG=""; REAPI_LOG=""
  [ ! -d "$S12_WORK/casd/$p" ] || rm -rf "${S12_WORK:?}/casd/$p"
  printf -v "$xv" '%s' "$base_env"
  echo "   $lab: $n"
  rec "$S" "$lab" status ok
}

scenario_S12() {  # remote execution through REAPI beside local builds and distcc
  local c=$1 log=$2 t p lab
  local -a labs=()
  case $c in
    bare) labs=(bare distcc) ;;
    ours) labs=(ours ours+reapi ours+reapi-base ours+distcc) ;;
    *) echo "   skip S12 $c: S12 measures ours' remote execution (ZCCACHE_REAPI …|execute); the peers have no REAPI execution"
       rec S12 "$c" note "skipped: no REAPI remote execution (S12 compares ours local, ours+REAPI execute, distcc)"
       return 0 ;;
  esac
  for t in cmake ninja bwrap; do
    command -v "$t" >/dev/null 2>&1 ||
      { echo "   skip S12: $t not found"; rec S12 "$c" note "skipped: $t not found"; return 0; }
  done
  if ! command -v distcc >/dev/null 2>&1 || ! command -v distccd >/dev/null 2>&1; then
    echo "   S12: distcc/distccd not found: the distcc rows are skipped"
    rec S12 "$c" note "distcc rows skipped: distcc/distccd not found"
    labs=("${labs[@]/*distcc}")
  fi
  if [ "$c" = ours ] && ! reapi_buildbox; then
    echo "   S12: buildbox-casd/buildbox-run not available: the ours+reapi row is skipped"
    rec S12 "$c" note "ours+reapi skipped: buildbox not available in $REAPI_BB"
    labs=("${labs[@]/ours+reapi*}")
  fi
  [ -d "$S12_WORK/src" ] || { echo "S12 sources missing in $S12_WORK/src (pre_S12 failed?)" >&2; return 2; }
  trap s12_stop_all EXIT
  trap 'exit 130' INT TERM
  # the timing helper also treats the farm / REAPI server (env ZCB_FARM) as the daemon
  tcmd() {
    local c=$1 log=$2 track; shift 2
    track=$(dd_of "$c"); [ -n "$track" ] || track=$RUN/S12-track-$c
    cenv "$c" env ZCB_DAEMON_DIR="$track" ZCB_DAEMON_ENVS="${DAEMON_ENVS[*]} ZCB_FARM" \
      python3 "$ZCBPY" time "$log" -- "$@"
  }
  for p in $S12_PROJECTS; do
    echo "   -- $p"
    for lab in "${labs[@]}"; do
      [ -n "$lab" ] || continue
      s12_row "$c" "$lab" "$p" "$log"
    done
  done
  rec S12 "$c" note "rows: ${labs[*]}"
}
