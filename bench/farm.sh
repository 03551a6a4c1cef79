# shellcheck shell=bash disable=SC2034  # BUILD_CMD/CLEAN_CMD are read by run.sh
# Compile-farm scenario for bench/run.sh (sourced by it; uses its helpers).
#
#   S9  cold overhead of a cache with distcc as its prefix command, beside
#       distcc alone: zlib-ng (as S3) and zstd static+shared (as S4) through
#       CMake + Ninja, every contender against a fresh distccd on 127.0.0.1.
#       bare = `distcc` alone as CMAKE_C_COMPILER_LAUNCHER; ccache with
#       CCACHE_PREFIX=distcc (prefix_command); ours with ZCCACHE_PREFIX=distcc
#       through the CMake module. sccache and upstream zccache have no prefix
#       command, and base (an older build of ours) predates ZCCACHE_PREFIX:
#       they are skipped with a note. DISTCC_FALLBACK=0, so a compile that
#       does not reach distccd fails (distcc itself); distccd's jobs are
#       counted around every phase (cold: misses on the farm; warm after
#       `ninja clean`: hits must not reach it). Skipped when distcc, distccd
#       or cmake is missing.
#
# One distccd per contender run of S9 (scenarios run in a subshell per
# contender; the subshell's EXIT trap stops it by PID), serving both projects:
# --allow/--listen 127.0.0.1 on a free port, --jobs $JOBS, --user nobody when
# root (distccd refuses to run as root), its log in $RUN/S9-farm-<c>/.
# distccd and the compilers it runs are part of the build: the timing helper
# counts their CPU with the build, not as "other load".

S9_PROJECTS=${S9_PROJECTS:-"zlib-ng zstd"}   # knob for quick checks
S9_FARM_PID=
S9_FARM_DIR=
S9_FARM_LOG=

# s9_free_port: a TCP port on 127.0.0.1 that nothing listens on right now
s9_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# s9_jobs: compile jobs distccd has finished so far (one `dcc_job_summary ...
# COMPILE_OK|COMPILE_ERROR|...` line per job, written by the worker after it
# answered the client), once the count is stable
s9_jobs() {
  local a b i re='dcc_job_summary.* COMPILE_'
  a=$(grep -c "$re" "$S9_FARM_LOG" 2>/dev/null || true)
  for i in $(seq 25); do
    sleep 0.2
    b=$(grep -c "$re" "$S9_FARM_LOG" 2>/dev/null || true)
    [ "$a" != "$b" ] || break
    a=$b
  done
  echo "${a:-0}"
}

# s9_farm_start C TRACK: start distccd for contender C; TRACK is the directory
# the timing helper treats as C's daemon (distccd gets ZCB_FARM=TRACK, so it
# and its compilers count as part of the build)
s9_farm_start() {
  local c=$1 track=$2 port i
  local -a user=()
  S9_FARM_DIR=$RUN/S9-farm-$c
  S9_FARM_LOG=$S9_FARM_DIR/distccd.log
  mkdir -p "$S9_FARM_DIR"
  : >"$S9_FARM_LOG"
  if [ "$(id -u)" = 0 ]; then   # distccd refuses root; it opens its log as nobody
    user=(--user nobody)
    chown nobody "$S9_FARM_LOG"
  fi
  port=$(s9_free_port)
  env ZCB_FARM="$track" distccd --daemon --no-detach --allow 127.0.0.1 --listen 127.0.0.1 \
    --port "$port" --jobs "$JOBS" --log-level info --log-file "$S9_FARM_LOG" "${user[@]}" \
    </dev/null >>"$S9_FARM_DIR/distccd.out" 2>&1 &
  S9_FARM_PID=$!
  trap s9_farm_stop EXIT
  trap 'exit 130' INT TERM
  for i in $(seq 50); do   # up to 10 s until it listens (a probe connection would be a job)
    if grep -q "listening on 127.0.0.1:$port" "$S9_FARM_LOG" 2>/dev/null &&
       grep -q 'daemon started' "$S9_FARM_LOG" 2>/dev/null; then
      S9_PORT=$port
      echo "distccd pid $S9_FARM_PID on 127.0.0.1:$port (log $S9_FARM_LOG)" >>"$S9_FARM_DIR/distccd.out"
      return 0
    fi
    kill -0 "$S9_FARM_PID" 2>/dev/null || break
    sleep 0.2
  done
  echo "distccd did not come up on 127.0.0.1:$port; see $S9_FARM_DIR" >&2
  return 1
}

# s9_farm_stop: SIGTERM distccd by PID (its workers exit with it), verify by PID
s9_farm_stop() {
  local pid=$S9_FARM_PID i left
  [ -n "$pid" ] || return 0
  S9_FARM_PID=
  stop_pid "$pid" "S9: distccd"
  # its workers (same argv, the log under S9_FARM_DIR): gone with the parent?
  for i in $(seq 25); do
    left=$(python3 "$ZCBPY" pids "$S9_FARM_DIR" | tr '\n' ' ')
    [ -n "$left" ] || return 0
    sleep 0.2
  done
  warn "S9: distccd worker(s) ${left% } outlived distccd; sending SIGTERM"
  local -a pl
  read -r -a pl <<<"$left"
  kill -TERM "${pl[@]}" 2>/dev/null || true
}

# s9_farm_counters A B: ours' farm counters between two `status --json`
# snapshots, as "compiles/errors/fallbacks" ("n/a" if unreadable)
s9_farm_counters() {
  python3 - "$1" "$2" <<'PY'
import json, sys
def load(p):
    try:
        with open(p) as fh:
            d = json.load(fh)
        d = d.get("daemon", d)
        return [int(d.get(k, 0)) for k in ("farm_compiles", "farm_errors", "farm_fallbacks")]
    except (OSError, ValueError, TypeError, AttributeError):
        return None
a, b = load(sys.argv[1]) or [0, 0, 0], load(sys.argv[2])
print("n/a" if b is None else "/".join(str(y - x) for x, y in zip(a, b)))
PY
}

# s9_project S C LOG SRCDIR ARTIFACTS CMAKE-ARGS...: like run.sh's
# cmake_scenario, with distcc as the launcher for bare
s9_project() {
  local S=$1 c=$2 log=$3 src=$4 arts=$5; shift 5
  local d=$WORK/$S b a z st=$RUN/$S-$c.stats jc jw fc fw n
  b=$d/build
  rm -rf "$d"; mkdir -p "$d"
  rec "$S" "$c" status "FAIL (see the S9 row)"   # replaced below on success
  local -a launch=()
  case $c in
    bare) launch=(-DCMAKE_C_COMPILER_LAUNCHER=distcc) ;;
    ours) z=$(bin_of "$c")
          launch=(-DCMAKE_PROJECT_TOP_LEVEL_INCLUDES="$(cenv "$c" "$z" cmake-module)"
                  -DZCCACHE_PROGRAM="$z" -DZCCACHE_MODE=ON) ;;
    *) launch=(-DCMAKE_C_COMPILER_LAUNCHER="$(bin_of "$c")") ;;
  esac
  echo "--- configure ($S)" >>"$log"
  cenv "$c" cmake -S "$src" -B "$b" -G Ninja -DCMAKE_C_COMPILER=gcc \
    -DCMAKE_BUILD_TYPE=Release "${launch[@]}" "$@" >>"$log" 2>&1
  BUILD_CMD=(ninja -C "$b" -j "$JOBS")
  CLEAN_CMD=(ninja -C "$b" clean)
  local -a files=()
  for a in $arts; do files+=("$b/$a"); done
  build_cycle "$S" "$c" "$log" - "${files[@]}"
  # distccd jobs per phase (snap, wrapped in scenario_S9, wrote them)
  jc=$(( $(cat "$st.1.jobs") - $(cat "$st.0.jobs") ))
  jw=$(( $(cat "$st.2.jobs") - $(cat "$st.1.jobs") ))
  rec "$S" "$c" farm_jobs_cold "$jc"
  rec "$S" "$c" farm_jobs_warm "$jw"
  n="distccd jobs cold $jc, warm $jw (all $REPS runs)"
  [ "$jc" -gt 0 ] || warn "$S $c: no compile reached distccd in the cold build"
  if [ "$c" != bare ] && [ "$jw" -ne 0 ]; then
    warn "$S $c: $jw compile(s) reached distccd in the warm builds (hits should not)"
  fi
  if [ "$c" = ours ]; then
    fc=$(s9_farm_counters "$st.0" "$st.1")
    fw=$(s9_farm_counters "$st.1" "$st.2")
    rec "$S" "$c" farm_cold "$fc"
    rec "$S" "$c" farm_warm "$fw"
    n="$n; farm compiles/errors/fallbacks cold $fc, warm $fw"
    # farm_compiles counts the compiles handed to distcc, and distcc runs
    # some of them locally itself even with DISTCC_FALLBACK=0 (`.S` files:
    # not distributable), so it may exceed distccd's count; never be below
    case $fc in
      */0/0) [ "${fc%%/*}" -ge "$jc" ] ||
               warn "$S $c: farm_compiles ${fc%%/*} < the $jc jobs distccd served" ;;
      *) warn "$S $c: farm counters cold $fc (compiles/errors/fallbacks), expected errors/fallbacks 0" ;;
    esac
    [ "$fw" = 0/0/0 ] || [ "$fw" = n/a ] || warn "$S $c: farm counters warm $fw, expected 0/0/0"
  fi
  # keep the daemon's own note (build_cycle's note_daemon) too
  a=$(awk -F'\t' -v s="$S" -v c="$c" '$1 == s && $2 == c && $3 == "note" { v = $4 } END { print v }' "$TSV")
  rec "$S" "$c" note "${a:+$a; }$n"
  echo "   $n"
  rec "$S" "$c" status ok
}

scenario_S9() {  # the same CMake builds with distcc: alone, and as a cache's prefix
  local c=$1 log=$2 t p
  case $c in
    sccache|zccache)
      echo "   skip S9 $c: no prefix command (prefix_command/ZCCACHE_PREFIX) to put distcc in front"
      rec S9 "$c" note "skipped: $c has no prefix command for distcc"
      return 0 ;;
    base)
      echo "   skip S9 base: BASE_BIN predates ZCCACHE_PREFIX"
      rec S9 "$c" note "skipped: BASE_BIN predates ZCCACHE_PREFIX"
      return 0 ;;
  esac
  for t in distcc distccd cmake ninja; do
    command -v "$t" >/dev/null 2>&1 ||
      { echo "   skip S9: $t not found"; rec S9 "$c" note "skipped: $t not found"; return 0; }
  done
  [ -f "$FIX/zlib-ng/CMakeLists.txt" ] && [ -f "$FIX/zstd/build/cmake/CMakeLists.txt" ] ||
    { echo "fixtures missing: zlib-ng / zstd (run bench/fixtures.sh)" >&2; return 2; }

  # distccd (and the compilers it runs) is tracked like the contender's daemon
  local track
  track=$(dd_of "$c")
  [ -n "$track" ] || track=$RUN/S9-farm-$c
  s9_farm_start "$c" "$track"
  echo "   distccd pid $S9_FARM_PID on 127.0.0.1:$S9_PORT, DISTCC_HOSTS=127.0.0.1:$S9_PORT/$JOBS"

  # the farm settings reach the contender through cenv (EXTRA_ENV_<c>)
  local ddir=$ROOT/home/$c/.distcc xv=EXTRA_ENV_$c
  mkdir -p "$ddir"
  local farm_env="DISTCC_HOSTS=127.0.0.1:$S9_PORT/$JOBS DISTCC_DIR=$ddir DISTCC_FALLBACK=0"
  case $c in
    ccache) farm_env+=" CCACHE_PREFIX=distcc" ;;
    ours)   farm_env+=" ZCCACHE_PREFIX=distcc" ;;
  esac
  printf -v "$xv" '%s' "${!xv:+${!xv} }$farm_env"
  rec S9 "$c" note "farm env: $farm_env"

  # wrappers, local to this subshell: snap also records distccd's job count;
  # the timing helper also treats distccd (env ZCB_FARM=$track) as the daemon
  eval "s9_snap_orig() $(declare -f snap | sed 1d)"
  snap() { s9_snap_orig "$@"; s9_jobs >"$2.jobs"; }
  S9_TRACK=$track
  tcmd() {
    local c=$1 log=$2; shift 2
    cenv "$c" env ZCB_DAEMON_DIR="$S9_TRACK" ZCB_DAEMON_ENVS="${DAEMON_ENVS[*]} ZCB_FARM" \
      python3 "$ZCBPY" time "$log" -- "$@"
  }

  for p in $S9_PROJECTS; do
    echo "   -- $p"
    case $p in
      zlib-ng) s9_project S9-zlib-ng "$c" "$log" "$FIX/zlib-ng" "libz.a" \
                 -DBUILD_TESTING=OFF -DZLIB_COMPAT=ON -DBUILD_SHARED_LIBS=OFF ;;
      zstd)    s9_project S9-zstd "$c" "$log" "$FIX/zstd/build/cmake" "lib/libzstd.a lib/libzstd.so" \
                 -DZSTD_BUILD_PROGRAMS=OFF -DZSTD_BUILD_TESTS=OFF -DZSTD_BUILD_CONTRIB=OFF \
                 -DZSTD_BUILD_STATIC=ON -DZSTD_BUILD_SHARED=ON ;;
    esac
  done
}
