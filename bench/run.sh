#!/usr/bin/env bash
# Compiler caches side by side on real third-party C code, in one run.
#
#   bench/run.sh [bare] [ccache] [sccache] [zccache] [base] [ours]
#
# Contenders: bare (plain gcc), ccache, sccache, zccache (upstream, from
# $PEERS/bin) and ours ($OURS_BIN, our zccache, used exactly like upstream:
# `$OURS_BIN gcc ...`, cache dir via ZCCACHE_CACHE_DIR, counters from
# `$OURS_BIN status --json`, `$OURS_BIN start|stop`). base ($BASE_BIN, an
# older build of ours, for before/after in one run) is driven exactly like
# ours. bare always runs first.
#
# Env knobs:
#   SCENARIOS="S1 S2"  which scenarios (implemented: S1 S2 S3 S4 S5 S6 S7 S8 S9 S10 S11 S12; see README)
#   REPS=3             warm repeats (median reported)
#   S1_HITS=50         S1 hits timed per cache; S1_BARE_REPS=10 bare compiles
#   JOBS=2             make -j for S2
#   OURS_BIN=          path of our zccache binary (needed for `ours`)
#   BASE_BIN=          path of a baseline build of ours (needed for `base`)
#   PEERS=/tmp/peers   venv made by bench/setup.sh
#   ZCBENCH_ROOT=/tmp/zcbench   fixtures (bench/fixtures.sh), work dirs, results
#   SCCACHE_PORT=4227  WAIT_IDLE=0 (s to wait for an idle machine first)
#   EXTRA_ENV_<contender>="VAR=val ..."  extra env for one contender
#
# Output: markdown tables on stdout and in $ZCBENCH_ROOT/results-<ts>.md;
# per scenario/contender logs and raw counter snapshots in $ZCBENCH_ROOT/runs/<ts>/.
#
# Honesty checks: each cache's own counters are snapshotted around every phase
# and shown as H/M/U (hits/misses/uncacheable), and a phase whose counters are
# not what the scenario implies is listed under Warnings; produced objects are
# hashed and compared with bare's; every contender gets its own HOME and cache
# dir; daemons are stopped with their own stop command after each scenario
# and on exit, and the exit is verified by PID (a survivor is reported, then
# SIGTERMed by PID); CPU used by other processes during timed runs is shown.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ZCBPY=$HERE/zcb.py
# shellcheck source=bench/cargo.sh
. "$HERE/cargo.sh"
ROOT=${ZCBENCH_ROOT:-/tmp/zcbench}
FIX=$ROOT/fixtures
PEERS_BIN=${PEERS:-/tmp/peers}/bin
SCENARIOS=${SCENARIOS:-"S1 S2"}
REPS=${REPS:-3}
S1_HITS=${S1_HITS:-50}
S1_BARE_REPS=${S1_BARE_REPS:-10}
JOBS=${JOBS:-2}
SCCACHE_PORT=${SCCACHE_PORT:-4227}
OURS_BIN=${OURS_BIN:-}
BASE_BIN=${BASE_BIN:-}
# S3 CMake+Ninja zlib-ng, S4 CMake+Ninja zstd build/cmake (static+shared),
# S5 Meson zstd (our meson.build). Planned: S6 cargo, S7 emcc. Each is a
# scenario_<name> function. In S3-S5 `ours` (and `base`) also caches links
# (CMake's linker launcher through `zccache cmake-module`; Meson links through
# the native file's compiler); the peers wrap compiles only.

# the flags libz-sys's build.rs uses for its bundled zlib
ZLIB_CFLAGS=(-O2 -DSTDC -D_LARGEFILE64_SOURCE -fvisibility=hidden)
# the 15 classic zlib sources (what libz-sys compiles)
ZLIB_SRCS=(adler32 compress crc32 deflate gzclose gzlib gzread gzwrite
           infback inffast inflate inftrees trees uncompr zutil)

TS=$(date +%Y%m%d-%H%M%S)
RUN=$ROOT/runs/$TS
TSV=$RUN/results.tsv
MD=$ROOT/results-$TS.md
WORK=$ROOT/work
CACHE=$ROOT/cache

# ------------------------------------------------------------- contenders
# bin_var C: the variable holding the binary of one of our builds (ours, base)
bin_var() {
  case $1 in
    ours) echo OURS_BIN ;;
    base) echo BASE_BIN ;;
  esac
}
[ "$#" -gt 0 ] || set -- bare ccache sccache zccache
CONTENDERS=()
ORDER=()
for c in "$@"; do [ "$c" != bare ] || ORDER=(bare); done   # bare runs first
for c in "$@"; do [ "$c" = bare ] || ORDER+=("$c"); done
for c in "${ORDER[@]}"; do
  case " ${CONTENDERS[*]} " in *" $c "*) continue ;; esac
  case $c in
    bare) CONTENDERS+=(bare) ;;
    ccache|sccache|zccache)
      if [ -x "$PEERS_BIN/$c" ]; then CONTENDERS+=("$c")
      else echo "skip $c: $PEERS_BIN/$c not found (run bench/setup.sh)" >&2; fi ;;
    ours|base)   # our zccache: $OURS_BIN / $BASE_BIN (see bin_var), made absolute
      v=$(bin_var "$c"); p=${!v}
      if [ -n "$p" ] && [ -x "$p" ] && "$p" --version >/dev/null 2>&1; then
        printf -v "$v" '%s' "$(cd "$(dirname "$p")" && pwd)/$(basename "$p")"
        CONTENDERS+=("$c")
      else echo "skip $c: $v unset, not executable, or its --version fails" >&2; fi ;;
    *) echo "unknown contender: $c (bare ccache sccache zccache base ours)" >&2; exit 2 ;;
  esac
done
[ "${#CONTENDERS[@]}" -gt 0 ] || { echo "no contenders" >&2; exit 2; }

# ------------------------------------------------------------ environment
# cargo/rustup stay where they are; HOME moves per contender (see cenv).
export CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
export RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}
unset CC CXX CFLAGS CXXFLAGS CPPFLAGS LDFLAGS MAKEFLAGS MFLAGS CPATH \
  C_INCLUDE_PATH CPLUS_INCLUDE_PATH RUSTC_WRAPPER CMAKE_C_COMPILER_LAUNCHER \
  CMAKE_CXX_COMPILER_LAUNCHER CMAKE_GENERATOR
while IFS= read -r v; do unset "$v"; done < <(env | grep -E '^(CCACHE|SCCACHE|ZCCACHE)_' | cut -d= -f1)
# Private PATH with build tools only: no compiler cache can sneak in.
TOOLBIN=$ROOT/toolbin
mkdir -p "$TOOLBIN"
for t in cmake ninja meson; do
  [ ! -x "$PEERS_BIN/$t" ] || ln -sfn "$PEERS_BIN/$t" "$TOOLBIN/$t"
done
export PATH=$TOOLBIN:$CARGO_HOME/bin:/usr/local/bin:/usr/bin:/bin
for t in ccache sccache zccache; do
  if command -v "$t" >/dev/null 2>&1; then
    echo "warning: $t is on the clean PATH ($(command -v "$t"))" >&2
  fi
done

# ---------------------------------------------------------------- helpers
bin_of() {
  case $1 in
    bare) echo "" ;;
    ours|base) local v; v=$(bin_var "$1"); echo "${!v}" ;;
    *) echo "$PEERS_BIN/$1" ;;
  esac
}
dd_of() { [ "$1" = bare ] || echo "$CACHE/$1"; }
DAEMON_ENVS=(SCCACHE_DIR ZCCACHE_CACHE_DIR)

# cenv C CMD...: run CMD in contender C's isolated environment
cenv() {
  local c=$1; shift
  local -a e=(HOME="$ROOT/home/$c")
  case $c in
    ccache)  e+=(CCACHE_DIR="$CACHE/ccache") ;;
    sccache) e+=(SCCACHE_DIR="$CACHE/sccache" SCCACHE_SERVER_PORT="$SCCACHE_PORT"
                 SCCACHE_IDLE_TIMEOUT=3600) ;;
    zccache|ours|base) e+=(ZCCACHE_CACHE_DIR="$CACHE/$c") ;;
  esac
  local extra_var=EXTRA_ENV_$c
  # shellcheck disable=SC2206  # intended word splitting of a VAR=val list
  [ -z "${!extra_var:-}" ] || e+=(${!extra_var})
  mkdir -p "$ROOT/home/$c"
  env "${e[@]}" "$@"
}

warn() { echo "   WARNING: $*" | tee -a "$RUN/warnings.txt" >&2; }
rec() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$TSV"; }

daemon_pids() { python3 "$ZCBPY" pids "$CACHE/$1" "${DAEMON_ENVS[@]}"; }
# stop_pid PID WHAT: SIGTERM a server we started, by PID; verified, SIGKILL
# after 5 s (WHAT names it in the warning)
stop_pid() {
  local pid=$1 what=$2 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 25); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    warn "$what pid $pid still alive 5 s after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
# daemon_stop C: the tool's own stop, then verify by PID that its daemon exited
daemon_stop() {
  local c=$1 i pids
  case $c in
    sccache) cenv sccache "$PEERS_BIN/sccache" --stop-server >>"$RUN/daemon-stop.log" 2>&1 || true ;;
    zccache|ours|base) cenv "$c" "$(bin_of "$c")" stop >>"$RUN/daemon-stop.log" 2>&1 || true ;;
    *) return 0 ;;
  esac
  for i in $(seq 50); do          # up to 10 s for the process to exit
    pids=$(daemon_pids "$c")
    [ -n "$pids" ] || return 0
    sleep 0.2
  done
  pids=$(echo "$pids" | tr '\n' ' ')
  warn "$c daemon pid(s) ${pids% } still alive 10 s after its stop command; sending SIGTERM"
  local -a pl
  read -r -a pl <<<"$pids"
  kill -TERM "${pl[@]}" 2>/dev/null || true
  sleep 2
  pids=$(daemon_pids "$c")
  [ -z "$pids" ] || { read -r -a pl <<<"$(echo "$pids" | tr '\n' ' ')"; kill -KILL "${pl[@]}" 2>/dev/null || true; }
}
daemon_start() {  # output to the log, so a daemon never holds our stdout
  local c=$1 log=$2
  case $c in
    sccache) cenv sccache "$PEERS_BIN/sccache" --start-server >>"$log" 2>&1 ;;
    zccache|ours|base) cenv "$c" "$(bin_of "$c")" start >>"$log" 2>&1 ;;
  esac
}
# cache_reset C LOG: stop the daemon, wipe the cache dir, start the daemon (untimed)
cache_reset() {
  [ "$1" != bare ] || return 0
  daemon_stop "$1"
  rm -rf "${CACHE:?}/$1"
  mkdir -p "$CACHE/$1"
  daemon_start "$1" "$2"
}
# snap C FILE: raw snapshot of the contender's own counters
snap() {
  local c=$1 f=$2
  case $c in
    bare)    : >"$f" ;;
    ccache)  cenv ccache "$PEERS_BIN/ccache" --print-stats >"$f" 2>/dev/null || : >"$f" ;;
    sccache) cenv sccache "$PEERS_BIN/sccache" -s --stats-format=json >"$f" 2>/dev/null || : >"$f" ;;
    zccache|ours|base) cenv "$c" "$(bin_of "$c")" status --json >"$f" 2>/dev/null || : >"$f" ;;
  esac
}
sdelta() { python3 "$ZCBPY" stats "$1" "$2" "$3"; }
# expect S C PHASE GOT WANT: warn when a cache's own counters disagree with
# what the phase implies (e.g. a "hit" phase that was really misses)
expect() {
  [ "$4" = "$5" ] || [ "$4" = - ] || warn "$1 $2 $3: counters H/M/U $4, expected $5"
}
# tcmd C LOG CMD...: time CMD once in C's env -> "seconds other_cpu_s"
tcmd() {
  local c=$1 log=$2; shift 2
  cenv "$c" env ZCB_DAEMON_DIR="$(dd_of "$c")" ZCB_DAEMON_ENVS="${DAEMON_ENVS[*]}" \
    python3 "$ZCBPY" time "$log" -- "$@"
}
# tlat C N LOG CMD...: N runs -> "first_ms median_ms p90_ms other_cpu_s wall_s"
tlat() {
  local c=$1 n=$2 log=$3; shift 3
  cenv "$c" env ZCB_DAEMON_DIR="$(dd_of "$c")" ZCB_DAEMON_ENVS="${DAEMON_ENVS[*]}" \
    python3 "$ZCBPY" lat "$n" "$log" -- "$@"
}
# other_load S C O:W...: record and flag CPU used by other processes
# (S1 flags above 30%: for ~ms processes the kernel's exit/reclaim work is not
#  charged to them and shows up as 10-20% "other")
other_load() {
  local S=$1 c=$2 l lim=10; shift 2
  [ "$S" != S1 ] || lim=30
  l=$(python3 "$ZCBPY" otherload "$@")
  rec "$S" "$c" other_load "$l"
  if [ "${l%\%}" -ge "$lim" ] 2>/dev/null; then
    warn "$S $c: other processes used $l of the CPU during the timed runs; numbers are inflated"
  fi
}
wait_idle() {
  local end b
  [ "${WAIT_IDLE:-0}" -gt 0 ] || return 0
  end=$((SECONDS + WAIT_IDLE))
  while b=$(python3 "$ZCBPY" busy 1); [ "$b" -ge 15 ]; do
    if [ "$SECONDS" -ge "$end" ]; then echo "   machine still ${b}% busy; going on"; return 0; fi
    echo "   machine ${b}% busy; waiting for idle"; sleep 9
  done
}
# artifact S C FILE...: hash the produced files, compare with bare's
# (scenarios run in subshells, so bare's hash is kept in a file)
artifact() {
  local S=$1 c=$2 h b=""; shift 2
  h=$(python3 "$ZCBPY" hash "$@")
  rec "$S" "$c" artifact "$h"
  if [ "$c" = bare ]; then echo "$h" >"$RUN/$S-bare.artifact"; return 0; fi
  [ ! -f "$RUN/$S-bare.artifact" ] || b=$(cat "$RUN/$S-bare.artifact")
  [ -z "$b" ] || [ "$b" = "$h" ] || warn "$S $c: output differs from bare's ($h vs $b)"
}
# note_rss S C: the resident memory of C's daemon (sccache's server,
# zccache's daemon) after the scenario's builds, and its peak (VmRSS and
# VmHWM of /proc/<pid>/status), as a note
note_rss() {
  local pid rss hwm
  for pid in $(daemon_pids "$2"); do
    rss=$(awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status" 2>/dev/null || true)
    hwm=$(awk '/^VmHWM:/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status" 2>/dev/null || true)
    [ -n "$rss" ] || continue
    rec "$1" "$2" note "daemon RSS after the builds: $rss MiB (peak $hwm MiB)"
    echo "   note: daemon RSS $rss MiB (peak $hwm MiB)"
  done
}
note_daemon() {  # facts a zccache-style daemon logs about itself
  case $2 in zccache|ours|base) ;; *) return 0 ;; esac
  local n
  n=$(find "$CACHE/$2" -path '*/logs/*' -name '*.log' -exec grep -ho \
        'compile concurrency capped at [0-9]*\|compile concurrency uncapped' {} + \
        2>/dev/null | tail -n 1 || true)
  [ -z "$n" ] || { rec "$1" "$2" note "$n"; echo "   note: $n"; }
}

# note_hit_latency S C: for ours/base, the daemon's own time per hit
# (journal `latency_ns`: request arrival to reply) over the last S1_HITS
# hits, as a note. Upstream zccache's journal has no such field.
note_hit_latency() {
  case $2 in ours|base) ;; *) return 0 ;; esac
  local lat
  lat=$(python3 "$ZCBPY" hitlat "$CACHE/$2/logs/journal.jsonl" "$S1_HITS")
  [ -n "$lat" ] || return 0
  lat="daemon hit latency (journal) median ${lat% *} us, p90 ${lat#* } us"
  rec "$1" "$2" note "$lat"; echo "   note: $lat"
}

# build_cycle S C LOG EXPECT_N ARTIFACT...: uses arrays BUILD_CMD / CLEAN_CMD.
# Wipe cache + start daemon (untimed); timed cold build; REPS x (clean; timed
# warm build). EXPECT_N = compiles per build (for the counter check).
build_cycle() {
  local S=$1 c=$2 log=$3 n=$4; shift 4
  local st=$RUN/$S-$c.stats cold t o out i
  local -a runs=() loads=()
  cache_reset "$c" "$log"
  snap "$c" "$st.0"
  echo "--- cold build" >>"$log"
  out=$(tcmd "$c" "$log" "${BUILD_CMD[@]}")
  read -r cold o <<<"$out"; loads+=("$o:$cold")
  snap "$c" "$st.1"
  for i in $(seq "$REPS"); do
    echo "--- clean + warm build $i" >>"$log"
    cenv "$c" "${CLEAN_CMD[@]}" >>"$log" 2>&1
    out=$(tcmd "$c" "$log" "${BUILD_CMD[@]}")
    read -r t o <<<"$out"; loads+=("$o:$t")
    runs+=("$t")
  done
  snap "$c" "$st.2"
  local warm sc sw
  warm=$(python3 "$ZCBPY" median "${runs[@]}")
  sc=$(sdelta "$c" "$st.0" "$st.1")
  sw=$(sdelta "$c" "$st.1" "$st.2")
  rec "$S" "$c" cold_s "$cold"
  rec "$S" "$c" warm_s "$warm"
  t="${runs[*]}"
  rec "$S" "$c" warm_runs "${t// /, }"
  rec "$S" "$c" stats_cold "$sc"
  rec "$S" "$c" stats_warm "$sw"
  if [ "$n" != - ]; then   # '-': the step count varies per tool (links)
    expect "$S" "$c" cold "$sc" "0/$n/0"
    expect "$S" "$c" warm "$sw" "$((n * REPS))/0/0"
  fi
  artifact "$S" "$c" "$@"
  printf '   cold %7.2fs [H/M/U %s]   warm median %7.2fs (%s) [H/M/U %s]\n' \
    "$cold" "$sc" "$warm" "${runs[*]}" "$sw"
  other_load "$S" "$c" "${loads[@]}"
  note_daemon "$S" "$c"
  note_rss "$S" "$c"
}

# -------------------------------------------------------------- scenarios
# scenario_<S> C LOG runs one contender; pre_<S> (optional) runs once before.
# Each runs in a subshell with set -e; a failure marks that row FAIL.
need_zlib() {
  local f
  for f in "${ZLIB_SRCS[@]}"; do
    [ -f "$FIX/zlib/$f.c" ] || { echo "fixture missing: $FIX/zlib/$f.c (run bench/fixtures.sh)" >&2; return 2; }
  done
}

pre_S1() {  # process-spawn floor of this harness: /bin/true launched the same way
  local out first med p90 o w
  out=$(tlat bare "$S1_HITS" "$RUN/S1-floor.log" /bin/true)
  read -r first med p90 o w <<<"$out"
  rec S1 floor first_ms "$first"; rec S1 floor median_ms "$med"; rec S1 floor p90_ms "$p90"
  rec S1 floor reps "$S1_HITS"; rec S1 floor status ok
  printf '== S1 floor (/bin/true): median %.2f ms, p90 %.2f ms\n' "$med" "$p90"
}

# shellcheck source=bench/emcc.sh
. "$HERE/emcc.sh"
# shellcheck source=bench/farm.sh
. "$HERE/farm.sh"
# shellcheck source=bench/remote.sh
. "$HERE/remote.sh"
# shellcheck source=bench/checkout.sh
. "$HERE/checkout.sh"
# shellcheck source=bench/reapi.sh
. "$HERE/reapi.sh"

scenario_S1() {  # per-hit latency through the real launcher process
  local c=$1 log=$2 d=$WORK/S1 Z=$FIX/zlib out first med p90 o w
  rm -rf "$d"; mkdir -p "$d"; cd "$d"
  local -a cc=(gcc "${ZLIB_CFLAGS[@]}" -I"$Z" -c "$Z/deflate.c" -o out.o)
  if [ "$c" = bare ]; then
    out=$(tlat bare "$S1_BARE_REPS" "$log" "${cc[@]}")
    read -r first med p90 o w <<<"$out"
    other_load S1 bare "$o:$w"
    rec S1 bare reps "$S1_BARE_REPS"
    printf '   bare compile: first %.1f ms, median %.1f ms, p90 %.1f ms\n' "$first" "$med" "$p90"
  else
    local b st=$RUN/S1-$c.stats sf sr o1 w1
    b=$(bin_of "$c")
    cache_reset "$c" "$log"
    snap "$c" "$st.0"
    out=$(tlat "$c" 1 "$log" "$b" "${cc[@]}")
    read -r first _ _ o1 w1 <<<"$out"
    snap "$c" "$st.1"
    out=$(tlat "$c" "$S1_HITS" "$log" "$b" "${cc[@]}")
    read -r _ med p90 o w <<<"$out"
    snap "$c" "$st.2"
    other_load S1 "$c" "$o1:$w1" "$o:$w"
    sf=$(sdelta "$c" "$st.0" "$st.1"); sr=$(sdelta "$c" "$st.1" "$st.2")
    rec S1 "$c" reps "$S1_HITS"
    rec S1 "$c" stats_first "$sf"
    rec S1 "$c" stats_reps "$sr"
    expect S1 "$c" "first call" "$sf" 0/1/0
    expect S1 "$c" hits "$sr" "$S1_HITS/0/0"
    printf '   first %.1f ms [H/M/U %s]; %s hits: median %.2f ms, p90 %.2f ms [H/M/U %s]\n' \
      "$first" "$sf" "$S1_HITS" "$med" "$p90" "$sr"
    note_daemon S1 "$c"
    note_hit_latency S1 "$c"
  fi
  rec S1 "$c" first_ms "$first"
  rec S1 "$c" median_ms "$med"
  rec S1 "$c" p90_ms "$p90"
  artifact S1 "$c" out.o
}

scenario_S2() {  # cold overhead: 15 zlib files, one compile per process, make -jJOBS
  local c=$1 log=$2 d=$WORK/S2 Z=$FIX/zlib b f
  rm -rf "$d"; mkdir -p "$d/obj"
  b=$(bin_of "$c")
  {
    echo "# generated by bench/run.sh (S2, $c)"
    printf 'all:'; printf ' obj/%s.o' "${ZLIB_SRCS[@]}"; echo
    for f in "${ZLIB_SRCS[@]}"; do
      printf 'obj/%s.o: %s/%s.c\n\t%s\n' "$f" "$Z" "$f" \
        "${b:+$b }gcc ${ZLIB_CFLAGS[*]} -I$Z -c \$< -o \$@"
    done
  } >"$d/Makefile"
  BUILD_CMD=(make -r -s -C "$d" -j "$JOBS")
  CLEAN_CMD=(find "$d/obj" -name '*.o' -delete)
  local -a objs=()
  for f in "${ZLIB_SRCS[@]}"; do objs+=("$d/obj/$f.o"); done
  build_cycle S2 "$c" "$log" "${#ZLIB_SRCS[@]}" "${objs[@]}"
}

# cmake_scenario S C LOG SRCDIR ARTIFACTS(space-separated, relative) CMAKE-ARGS...
cmake_scenario() {
  local S=$1 c=$2 log=$3 src=$4 arts=$5; shift 5
  local d=$WORK/$S b a z
  b=$d/build
  rm -rf "$d"; mkdir -p "$d"
  local -a launch=()
  case $c in
    bare) ;;
    ours|base) z=$(bin_of "$c")
               launch=(-DCMAKE_PROJECT_TOP_LEVEL_INCLUDES="$(cenv "$c" "$z" cmake-module)"
                       -DZCCACHE_PROGRAM="$z" -DZCCACHE_MODE=ON) ;;
    *) launch=(-DCMAKE_C_COMPILER_LAUNCHER="$(bin_of "$c")") ;;
  esac
  echo "--- configure" >>"$log"
  cenv "$c" cmake -S "$src" -B "$b" -G Ninja -DCMAKE_C_COMPILER=gcc \
    -DCMAKE_BUILD_TYPE=Release "${launch[@]}" "$@" >>"$log" 2>&1
  BUILD_CMD=(ninja -C "$b" -j "$JOBS")
  CLEAN_CMD=(ninja -C "$b" clean)
  local -a files=()
  for a in $arts; do files+=("$b/$a"); done
  build_cycle "$S" "$c" "$log" - "${files[@]}"
}

scenario_S3() {  # zlib-ng through its own CMakeLists.txt, CMake+Ninja (static:
  # the shared lib needs zlib.map.in, which the crate's copy omits)
  cmake_scenario S3 "$1" "$2" "$FIX/zlib-ng" "libz.a" \
    -DBUILD_TESTING=OFF -DZLIB_COMPAT=ON -DBUILD_SHARED_LIBS=OFF
}

scenario_S4() {  # zstd lib through its own build/cmake, static + shared
  cmake_scenario S4 "$1" "$2" "$FIX/zstd/build/cmake" "lib/libzstd.a lib/libzstd.so" \
    -DZSTD_BUILD_PROGRAMS=OFF -DZSTD_BUILD_TESTS=OFF -DZSTD_BUILD_CONTRIB=OFF \
    -DZSTD_BUILD_STATIC=ON -DZSTD_BUILD_SHARED=ON
}

# zstd_meson_src DIR: our meson.build over the zstd sources (lib/ symlinked):
# every lib/**/*.c into a static and a shared library, assembly disabled.
zstd_meson_src() {
  local dir=$1
  mkdir -p "$dir"
  ln -sfn "$FIX/zstd/lib" "$dir/lib"
  {
    echo "# NOT UPSTREAM: written by bench/run.sh (S5) over zstd's lib/ sources."
    echo "project('zstd_bench', 'c', default_options: ['buildtype=release', 'warning_level=1'])"
    echo "zstd_srcs = files("
    ( cd "$FIX/zstd" && find lib -name '*.c' | LC_ALL=C sort | sed "s/.*/  '&',/" )
    echo ")"
    echo "zstd_args = ['-DZSTD_DISABLE_ASM', '-DZSTD_MULTITHREAD', '-DZSTD_LEGACY_SUPPORT=5']"
    echo "zstd_inc = include_directories('lib', 'lib/common')"
    echo "both_libraries('zstd', zstd_srcs, include_directories: zstd_inc, c_args: zstd_args,"
    echo "  dependencies: dependency('threads'))"
  } >"$dir/meson.build"
}

scenario_S5() {  # zstd through Meson (our meson.build) and a native file
  local c=$1 log=$2 d=$WORK/S5 b
  b=$d/build
  rm -rf "$d"; mkdir -p "$d"
  zstd_meson_src "$d/src"
  case $c in
    bare) printf "[binaries]\nc = ['gcc']\n" >"$d/native.ini" ;;
    ours|base) cenv "$c" "$(bin_of "$c")" meson native-file --cc gcc --output "$d/native.ini" >>"$log" 2>&1 ;;
    *) printf "[binaries]\nc = ['%s', 'gcc']\n" "$(bin_of "$c")" >"$d/native.ini" ;;
  esac
  echo "--- meson setup" >>"$log"
  cenv "$c" meson setup "$b" "$d/src" --native-file "$d/native.ini" >>"$log" 2>&1
  BUILD_CMD=(ninja -C "$b" -j "$JOBS")
  CLEAN_CMD=(ninja -C "$b" clean)
  build_cycle S5 "$c" "$log" - "$b/libzstd.a" "$b/libzstd.so"
}

# ------------------------------------------------------------------- main
for S in $SCENARIOS; do
  declare -F "scenario_$S" >/dev/null ||
    { echo "scenario $S is not implemented (implemented: S1 S2 S3 S4 S5 S6 S7 S8 S9 S10 S11 S12)" >&2; exit 2; }
done
case " $SCENARIOS " in *" S1 "*|*" S2 "*) need_zlib ;; esac
mkdir -p "$RUN" "$WORK" "$CACHE"

cleanup() {
  local c
  for c in "${CONTENDERS[@]}"; do daemon_stop "$c"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

{
  echo "# zccache bench results $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- host: $(uname -srm), nproc=$(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "- gcc: $(gcc --version | head -n 1); make: $(make --version | head -n 1)"
  echo "- cmake: $(cmake --version 2>/dev/null | head -n 1); meson $(meson --version 2>/dev/null); ninja $(ninja --version 2>/dev/null)"
  [ ! -f "$FIX/VERSIONS" ] || echo "- fixtures: $(tr '\n' ';' <"$FIX/VERSIONS" | sed 's/;$//; s/;/; /g')"
  for c in "${CONTENDERS[@]}"; do
    case $c in
      bare) ;;
      ours|base) echo "- $c: $(bin_of "$c") ($("$(bin_of "$c")" --version 2>&1 | head -n 1))" ;;
      *) echo "- $c: $("$PEERS_BIN/$c" --version 2>&1 | head -n 1)" ;;
    esac
    v=EXTRA_ENV_$c
    [ -z "${!v:-}" ] || echo "- $c extra env: ${!v}"
  done
  echo "- settings: SCENARIOS=\"$SCENARIOS\" JOBS=$JOBS REPS=$REPS S1_HITS=$S1_HITS S1_BARE_REPS=$S1_BARE_REPS"
  echo "- H/M/U = the cache's own counters (hits/misses/uncacheable) in that phase; '-' = bare; 'n/a' = no counters"
  echo "- cold = empty cache, daemon already started (start not timed); warm = objects deleted, cache populated"
  echo "- other load = CPU used during the timed runs by processes other than the build and the contender's daemon, % of the machine"
  echo
} >"$MD"
cat "$MD"
echo "logs: $RUN"
echo

for S in $SCENARIOS; do
  if declare -F "pre_$S" >/dev/null; then
    set +e; ( set -e; "pre_$S" ); rc=$?; set -e
    [ "$rc" -eq 0 ] || warn "$S: pre-step failed (rc=$rc)"
  fi
  for c in "${CONTENDERS[@]}"; do
    echo "== $S $c"
    wait_idle
    log=$RUN/$S-$c.log
    set +e
    ( set -e; "scenario_$S" "$c" "$log" )
    rc=$?
    set -e
    if [ "$rc" -eq 0 ]; then
      rec "$S" "$c" status ok
    else
      rec "$S" "$c" status "FAIL rc=$rc ($(basename "$log"))"
      echo "   FAILED (rc=$rc); tail of $log:"
      tail -n 15 "$log" 2>/dev/null | sed 's/^/   | /'
    fi
    daemon_stop "$c"
  done
done

echo
python3 "$ZCBPY" render "$TSV" "$MD"
for S in $SCENARIOS; do   # post_<S> (optional): a scenario's own table, after the common ones
  ! declare -F "post_$S" >/dev/null || ( "post_$S" ) || warn "$S: post-step failed"
done
if [ -s "$RUN/warnings.txt" ]; then
  { echo "### Warnings"; echo; sed 's/^ *WARNING: /- /' "$RUN/warnings.txt"; echo; } | tee -a "$MD"
fi
echo "written: $MD"
