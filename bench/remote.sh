# shellcheck shell=bash
# Second-machine scenario for bench/run.sh (sourced by it; uses its helpers).
#
#   S10 machine A builds zlib-ng (as S3) and zstd static+shared (as S4),
#       CMake + Ninja, one after another, cold, into a shared server (Redis,
#       then an nginx WebDAV server); once A's uploads are done, machine B --
#       an empty local cache, its own daemon, a fresh checkout (the build
#       dirs configured again) at the SAME absolute path -- builds them from
#       the server. Then, times only: B against the server DOWN (the port it
#       listened on, now closed) and against a HANGING server (accepts
#       connections, never answers). Contenders: ccache (remote_storage),
#       sccache (SCCACHE_MULTILEVEL_CHAIN=disk,redis / disk,webdav) and ours
#       (ZCCACHE_REMOTE, one tier); bare builds once, the cold reference.
#       Upstream zccache and base have no remote tiers: skipped with a note.
#       Server kind `reapi`: a buildbox-casd (reapi.sh; ActionCache + CAS,
#       no execution), ours with ZCCACHE_REAPI=grpc://…; ccache and sccache
#       cannot use a REAPI gRPC server: skipped for that kind with the reason.
#
# A "machine" is the contender's cache dir and daemon: between A and B (and
# before each failure row) the daemon is stopped, the cache dir wiped and the
# build dirs removed and configured again (untimed), as on a fresh CI runner.
# The sources are the read-only fixtures, at the same path for every machine.
# Servers are per contender run of S10 (scenarios run in a subshell per
# contender; its EXIT trap stops them by PID): redis-server and nginx on free
# ports of 127.0.0.1, empty at start, their files in $RUN/S10-srv-<c>-<kind>/.
#
# Knobs: S10_SERVERS="redis webdav" (also: reapi), S10_FAIL_LIMIT=120 (s; a failure-row
# build still running then is killed and reported as "> limit"),
# S10_UPLOAD_LIMIT=180 (s to wait for A's uploads to settle).

S10_SERVERS=${S10_SERVERS:-"redis webdav"}
S10_FAIL_LIMIT=${S10_FAIL_LIMIT:-120}
S10_UPLOAD_LIMIT=${S10_UPLOAD_LIMIT:-180}
# nginx lives in /usr/sbin, which run.sh's clean PATH leaves out
S10_NGINX=${S10_NGINX:-$(PATH=$PATH:/usr/sbin:/usr/local/sbin command -v nginx || true)}
S10_DAV_EXT=${S10_DAV_EXT:-/usr/lib/nginx/modules/ngx_http_dav_ext_module.so}
S10_PIDS=()      # servers started by this contender's subshell
S10_PORT=        # port of the server started last
S10_DIR=         # $WORK/S10: the fixed path every machine builds at

# ------------------------------------------------------------------ servers

s10_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# s10_wait_port PORT PID: up to 10 s until something accepts on PORT (PID alive)
s10_wait_port() {
  local port=$1 pid=$2 i
  for i in $(seq 50); do
    python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()' \
      "$port" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

# s10_server_start KIND DIR: start a fresh (empty) server of KIND (redis,
# webdav, reapi, hang) with its files in DIR; sets S10_PORT, adds its PID to S10_PIDS
s10_server_start() {
  local kind=$1 dir=$2 port pid
  rm -rf "$dir"; mkdir -p "$dir"
  case $kind in
    redis)
      port=$(s10_free_port)
      redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$dir" --logfile "$dir/redis.log" </dev/null >>"$dir/out" 2>&1 &
      pid=$! ;;
    webdav)
      port=$(s10_free_port)
      mkdir -p "$dir/data" "$dir/body"
      # sccache's WebDAV client (opendal) sends PROPFIND and MKCOL before a
      # write: nginx answers those only with dav_ext (Debian's nginx has it)
      local ext="" extm=""
      if [ -f "$S10_DAV_EXT" ]; then ext="load_module $S10_DAV_EXT;"; extm=" dav_ext_methods PROPFIND OPTIONS;"; fi
      cat >"$dir/nginx.conf" <<EOF
$ext
daemon off; master_process off; worker_processes 1;
pid $dir/nginx.pid; error_log $dir/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $dir/body; proxy_temp_path $dir/proxy; fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi; scgi_temp_path $dir/scgi;
  server {
    listen 127.0.0.1:$port; root $dir/data; client_max_body_size 0;
    location / { dav_methods PUT DELETE MKCOL; create_full_put_path on; dav_access user:rw group:r all:r;$extm }
  }
}
EOF
      "$S10_NGINX" -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" </dev/null >>"$dir/out" 2>&1 &
      pid=$! ;;
    reapi)  # buildbox-casd (reapi.sh): ActionCache + CAS only, no buildbox-run
      reapi_casd_launch "$dir/data" "$dir/casd.log" cache
      port=$REAPI_PORT pid=$REAPI_PID
      REAPI_PID= ;;   # stopped with the other S10 servers
    hang)   # accepts every connection and never answers (nor closes)
      python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(512)
open(sys.argv[1], "w").write("%d\n" % s.getsockname()[1])
held = []
while True:
    held.append(s.accept()[0])
' "$dir/port" </dev/null >>"$dir/out" 2>&1 &
      pid=$!
      local i
      for i in $(seq 50); do [ -s "$dir/port" ] && break; sleep 0.2; done
      port=$(cat "$dir/port" 2>/dev/null || true) ;;
  esac
  S10_PIDS+=("$pid")
  if [ -z "$port" ] || ! s10_wait_port "$port" "$pid"; then
    echo "$kind server did not come up (see $dir)" >&2
    return 1
  fi
  S10_PORT=$port
  echo "$kind server pid $pid on 127.0.0.1:$port ($dir)" >>"$dir/out"
}

# s10_server_stop PID: SIGTERM by PID, verified; SIGKILL after 5 s
s10_server_stop() { stop_pid "$1" "S10: server"; }
s10_servers_stop() {
  local p
  for p in "${S10_PIDS[@]}"; do s10_server_stop "$p"; done
  S10_PIDS=()
}

# s10_remote_env C KIND PORT: the settings that point contender C at a
# KIND server (redis, webdav or reapi) on PORT, as a VAR=val list; empty
# when C cannot use a KIND server (see s10_no_backend)
s10_remote_env() {
  local c=$1 kind=$2 port=$3 u=127.0.0.1:$3
  case $c/$kind in
    ccache/redis)   echo "CCACHE_REMOTE_STORAGE=redis://$u" ;;
    ccache/webdav)  echo "CCACHE_REMOTE_STORAGE=http://$u/ccache" ;;
    sccache/redis)  echo "SCCACHE_MULTILEVEL_CHAIN=disk,redis SCCACHE_REDIS_ENDPOINT=redis://$u" ;;
    sccache/webdav) echo "SCCACHE_MULTILEVEL_CHAIN=disk,webdav SCCACHE_WEBDAV_ENDPOINT=http://$u/sccache" ;;
    ours/redis)     echo "ZCCACHE_REMOTE=redis://$u" ;;
    ours/webdav)    echo "ZCCACHE_REMOTE=http://$u/cache" ;;
    ours/reapi)     echo "ZCCACHE_REAPI=grpc://$u" ;;
  esac
}

# s10_no_backend C KIND: why contender C has no setting for a KIND server
s10_no_backend() {
  case $1/$2 in
    ccache/reapi)  echo "ccache cannot use a REAPI gRPC server (its remote storage is file, HTTP or Redis; HTTP with layout=bazel reaches a Bazel HTTP cache such as bazel-remote, not gRPC)" ;;
    sccache/reapi) echo "sccache has no REAPI (gRPC) backend" ;;
    *)             echo "$1 has no $2 backend" ;;
  esac
}

# ------------------------------------------------------------ the machines

# s10_configure C LOG PROJECT: configure one project in $S10_DIR/build (as S3/S4)
s10_configure() {
  local c=$1 log=$2 p=$3 src z
  local -a args=() launch=()
  case $p in
    zlib-ng) src=$FIX/zlib-ng
             args=(-DBUILD_TESTING=OFF -DZLIB_COMPAT=ON -DBUILD_SHARED_LIBS=OFF) ;;
    zstd)    src=$FIX/zstd/build/cmake
             args=(-DZSTD_BUILD_PROGRAMS=OFF -DZSTD_BUILD_TESTS=OFF -DZSTD_BUILD_CONTRIB=OFF
                   -DZSTD_BUILD_STATIC=ON -DZSTD_BUILD_SHARED=ON) ;;
  esac
  case $c in
    bare) ;;
    ours) z=$(bin_of "$c")
          launch=(-DCMAKE_PROJECT_TOP_LEVEL_INCLUDES="$(cenv "$c" "$z" cmake-module)"
                  -DZCCACHE_PROGRAM="$z" -DZCCACHE_MODE=ON) ;;
    *) launch=(-DCMAKE_C_COMPILER_LAUNCHER="$(bin_of "$c")") ;;
  esac
  echo "--- configure $p" >>"$log"
  cenv "$c" cmake -S "$src" -B "$S10_DIR/build/$p" -G Ninja -DCMAKE_C_COMPILER=gcc \
    -DCMAKE_BUILD_TYPE=Release "${launch[@]}" "${args[@]}" >>"$log" 2>&1
}

# s10_machine C LOG: a new machine: C's daemon stopped, the build dirs
# removed and configured again at the same path, C's cache dir wiped and its
# daemon started with the current remote settings (EXTRA_ENV_C); not timed.
# Prints the seconds the daemon start took (a hanging server may slow it).
s10_machine() {
  local c=$1 log=$2 t0 ok=0
  daemon_stop "$c"
  rm -rf "$S10_DIR/build"
  s10_configure "$c" "$log" zlib-ng
  s10_configure "$c" "$log" zstd
  t0=$(date +%s.%N)
  cache_reset "$c" "$log" || ok=$?
  [ "$ok" -eq 0 ] || echo "   (daemon start failed, rc=$ok; its first client starts it)" >&2
  python3 -c 'import sys, time; print("%.2f" % (time.time() - float(sys.argv[1])))' "$t0"
}

S10_ARTS=(build/zlib-ng/libz.a build/zstd/lib/libzstd.a build/zstd/lib/libzstd.so)

# s10_build C LOG PHASE LIMIT: one timed build of both projects (killed after
# LIMIT s) with counter snapshots $RUN/S10-C.PHASE.{0,1} around it; sets
# S10_T (seconds, or "> LIMIT"), S10_STATS (H/M/U), S10_RC, S10_LOAD
s10_build() {
  local c=$1 log=$2 ph=$3 lim=$4 st=$RUN/S10-$1.$3 out t o
  echo "--- $ph build" >>"$log"
  snap "$c" "$st.0"
  S10_RC=0
  out=$(tcmd "$c" "$log" timeout -k 5 "$lim" bash "$S10_DIR/build.sh") || S10_RC=$?
  read -r t o <<<"$out"
  snap "$c" "$st.1"
  S10_STATS=$(sdelta "$c" "$st.0" "$st.1")
  S10_LOAD="$o:$t"
  S10_T=$t
  [ "$S10_RC" -ne 124 ] && [ "$S10_RC" -ne 137 ] || S10_T="> $lim"
}

# s10_same S C PHASE: the artifacts of C's PHASE build (A, down, hang) equal
# bare's? (recorded as artifact_<PHASE>; B's own go through run.sh's artifact)
s10_same() {
  local S=$1 c=$2 ph=$3 h b=""
  h=$(python3 "$ZCBPY" hash "${S10_ARTS[@]/#/$S10_DIR/}")
  [ ! -f "$RUN/$S-bare.artifact" ] || b=$(cat "$RUN/$S-bare.artifact")
  if [ -z "$b" ]; then rec "$S" "$c" "artifact_${ph,,}" "-"
  elif [ "$b" = "$h" ]; then rec "$S" "$c" "artifact_${ph,,}" yes
  else rec "$S" "$c" "artifact_${ph,,}" "**NO**"; warn "$S $c: the $ph build's output differs from bare's ($h vs $b)"
  fi
}

# s10_py CMD ARGS: remote counters from the raw snapshots (see below)
s10_py() {
  python3 - "$@" <<'PY'
import json, sys

def load(kind, path):
    """The remote counters of one snapshot: writes, hits, errors, timeouts."""
    try:
        text = open(path).read()
        if kind == "ccache":
            kv = dict(l.split("\t", 1) for l in text.splitlines() if "\t" in l)
            g = lambda k: int(kv.get(k, 0))
            return dict(writes=g("remote_storage_write"), hits=g("remote_storage_read_hit"),
                        errors=g("remote_storage_error"), timeouts=g("remote_storage_timeout"),
                        compiles=None)
        d = json.loads(text)
        if kind == "sccache":
            s = d["stats"]
            ml = s.get("multi_level") or []   # per level; [0] is the local disk
            return dict(writes=sum(x.get("writes", 0) for x in ml[1:]) if ml else s.get("cache_writes", 0),
                        hits=sum(x.get("hits", 0) for x in ml[1:]) if ml else None,
                        errors=s.get("cache_read_errors", 0) + s.get("cache_write_errors", 0),
                        timeouts=s.get("cache_timeouts", 0), compiles=s.get("compilations"))
        d = d.get("daemon", d)
        t = d.get("remote") or []
        return dict(writes=sum(x["writes"] for x in t), hits=sum(x["hits"] for x in t),
                    errors=sum(x["errors"] for x in t), timeouts=sum(x["timeouts"] for x in t),
                    compiles=None)
    except (OSError, ValueError, KeyError, TypeError):
        return None

cmd, kind = sys.argv[1], sys.argv[2]
if cmd == "writes":            # writes KIND SNAP: objects written to the server so far
    r = load(kind, sys.argv[3])
    print(-1 if r is None else r["writes"])
elif cmd == "delta":           # delta KIND A B: "hits errors timeouts" of the server between two snapshots
    a, b = load(kind, sys.argv[3]) or {}, load(kind, sys.argv[4])
    if b is None:
        print("n/a")
    else:
        f = lambda k: "-" if b[k] is None else str(b[k] - (a.get(k) or 0))
        print("remote hits %s, errors %s, timeouts %s" % (f("hits"), f("errors"), f("timeouts"))
              + ("" if b["compiles"] is None else ", compiler runs %s" % f("compiles")))
PY
}

# s10_wait_uploads C: wait until C's count of objects written to the server
# has been non-zero and unchanged for 2 s (ccache writes before the compile
# returns; sccache and ours upload in the background); prints "seconds writes"
s10_wait_uploads() {
  local c=$1 f=$RUN/S10-$1.uploads w last=-2 since=$SECONDS start=$SECONDS
  while :; do
    snap "$c" "$f"
    w=$(s10_py writes "$c" "$f")
    if [ "$w" != "$last" ]; then last=$w; since=$SECONDS
    elif [ "$w" -gt 0 ] && [ $((SECONDS - since)) -ge 2 ]; then break
    fi
    if [ $((SECONDS - start)) -ge "$S10_UPLOAD_LIMIT" ]; then
      warn "S10 $c: uploads did not settle within ${S10_UPLOAD_LIMIT}s (writes $w)"
      break
    fi
    sleep 0.5
  done
  echo "$((since - start)) $w"
}

# s10_kind C LOG KIND: A -> B through a KIND server, then B with it down and hanging
s10_kind() {
  local c=$1 log=$2 kind=$3 base_env=$4 S=S10-$3 xv=EXTRA_ENV_$1 srv env st
  srv=$RUN/S10-srv-$c-$kind
  local -a loads=()
  if [ -z "$(s10_remote_env "$c" "$kind" 0)" ]; then   # the peers and reapi
    env=$(s10_no_backend "$c" "$kind")
    echo "   -- $kind: skipped: $env"
    rec "$S" "$c" status skipped; rec "$S" "$c" note "skipped: $env"
    return 0
  fi
  if [ "$kind" = reapi ] && ! reapi_buildbox; then
    echo "   -- $kind: skipped: buildbox-casd not available in $REAPI_BB"
    rec "$S" "$c" status skipped; rec "$S" "$c" note "skipped: buildbox-casd not available in $REAPI_BB"
    return 0
  fi
  rec "$S" "$c" status "FAIL (see the S10 row)"   # replaced below on success
  s10_server_start "$kind" "$srv"
  local port=$S10_PORT srvpid=${S10_PIDS[-1]}
  env=$(s10_remote_env "$c" "$kind" "$port")
  printf -v "$xv" '%s' "${base_env:+$base_env }$env"
  rec "$S" "$c" env "$env"
  echo "   -- $kind: $kind server pid $srvpid on 127.0.0.1:$port; $env"

  # machine A: cold, uploads
  s10_machine "$c" "$log" >/dev/null
  s10_build "$c" "$log" "$kind-A" 100000
  [ "$S10_RC" -eq 0 ] || { echo "   machine A's build failed (rc=$S10_RC)"; return 1; }
  rec "$S" "$c" a_s "$S10_T"; rec "$S" "$c" stats_a "$S10_STATS"; loads+=("$S10_LOAD")
  s10_same "$S" "$c" A
  local up upt upw
  up=$(s10_wait_uploads "$c"); read -r upt upw <<<"$up"
  rec "$S" "$c" upload_s "$upt"; rec "$S" "$c" writes "$upw"
  printf '   A cold %7.2fs [H/M/U %s]; uploads settled after ~%ss, %s objects written\n' \
    "$S10_T" "$S10_STATS" "$upt" "$upw"

  # machine B: empty local cache, the same path
  s10_machine "$c" "$log" >/dev/null
  s10_build "$c" "$log" "$kind-B" 100000
  [ "$S10_RC" -eq 0 ] || { echo "   machine B's build failed (rc=$S10_RC)"; return 1; }
  rec "$S" "$c" b_s "$S10_T"; rec "$S" "$c" stats_b "$S10_STATS"; loads+=("$S10_LOAD")
  st=$RUN/S10-$c.$kind-B
  local rb; rb=$(s10_py delta "$c" "$st.0" "$st.1")
  rec "$S" "$c" remote_b "$rb"
  artifact "$S" "$c" "${S10_ARTS[@]/#/$S10_DIR/}"
  case $c in
    ours) case $S10_STATS in */0/0) ;; *) warn "$S ours: machine B's counters H/M/U $S10_STATS: compiles ran on B (expected M=0, U=0)" ;; esac ;;
  esac
  printf '   B       %7.2fs [H/M/U %s; %s]\n' "$S10_T" "$S10_STATS" "$rb"

  # B with the server down: the same port, closed now
  s10_server_stop "$srvpid"
  local tstart
  tstart=$(s10_machine "$c" "$log")
  s10_build "$c" "$log" "$kind-down" "$S10_FAIL_LIMIT"
  rec "$S" "$c" down_s "$S10_T"; rec "$S" "$c" stats_down "$S10_STATS"; rec "$S" "$c" down_rc "$S10_RC"
  [ "$S10_RC" -eq 0 ] || [ "${S10_T#>}" != "$S10_T" ] || warn "$S $c: build with the server down failed (rc=$S10_RC)"
  [ "$S10_RC" -ne 0 ] || s10_same "$S" "$c" down
  rb=$(s10_py delta "$c" "$RUN/S10-$c.$kind-down.0" "$RUN/S10-$c.$kind-down.1")
  rec "$S" "$c" note_down "daemon start ${tstart}s; $rb"
  printf '   B, server down     %7s s [H/M/U %s; daemon start %ss; %s]\n' "$S10_T" "$S10_STATS" "$tstart" "$rb"

  # B with a hanging server: accepts, never answers
  s10_server_start hang "$srv-hang"
  env=$(s10_remote_env "$c" "$kind" "$S10_PORT")
  printf -v "$xv" '%s' "${base_env:+$base_env }$env"
  tstart=$(s10_machine "$c" "$log")
  s10_build "$c" "$log" "$kind-hang" "$S10_FAIL_LIMIT"
  rec "$S" "$c" hang_s "$S10_T"; rec "$S" "$c" stats_hang "$S10_STATS"; rec "$S" "$c" hang_rc "$S10_RC"
  [ "$S10_RC" -eq 0 ] || [ "${S10_T#>}" != "$S10_T" ] || warn "$S $c: build with a hanging server failed (rc=$S10_RC)"
  [ "$S10_RC" -ne 0 ] || s10_same "$S" "$c" hang
  rb=$(s10_py delta "$c" "$RUN/S10-$c.$kind-hang.0" "$RUN/S10-$c.$kind-hang.1")
  rec "$S" "$c" note_hang "daemon start ${tstart}s; $rb"
  printf '   B, hanging server  %7s s [H/M/U %s; daemon start %ss; %s]\n' "$S10_T" "$S10_STATS" "$tstart" "$rb"
  daemon_stop "$c"
  s10_servers_stop
  printf -v "$xv" '%s' "$base_env"
  other_load "$S" "$c" "${loads[@]}"
  rec "$S" "$c" status ok
}

scenario_S10() {  # second machine: A builds into a shared server, B builds from it
  local c=$1 log=$2 t kind
  case $c in
    zccache|base)
      echo "   skip S10 $c: no remote tiers"
      rec S10 "$c" note "skipped: $c has no remote tiers"
      return 0 ;;
  esac
  [ -n "$S10_NGINX" ] || { echo "   skip S10: nginx not found"; rec S10 "$c" note "skipped: nginx not found"; return 0; }
  for t in redis-server cmake ninja; do
    command -v "$t" >/dev/null 2>&1 ||
      { echo "   skip S10: $t not found"; rec S10 "$c" note "skipped: $t not found"; return 0; }
  done
  [ -f "$FIX/zlib-ng/CMakeLists.txt" ] && [ -f "$FIX/zstd/build/cmake/CMakeLists.txt" ] ||
    { echo "fixtures missing: zlib-ng / zstd (run bench/fixtures.sh)" >&2; return 2; }
  S10_DIR=$WORK/S10
  mkdir -p "$S10_DIR"
  printf 'set -e\nninja -C %q -j %s\nninja -C %q -j %s\n' \
    "$S10_DIR/build/zlib-ng" "$JOBS" "$S10_DIR/build/zstd" "$JOBS" >"$S10_DIR/build.sh"
  trap s10_servers_stop EXIT
  trap 'exit 130' INT TERM

  if [ "$c" = bare ]; then   # the cold reference, once, for both tables
    s10_machine bare "$log" >/dev/null
    s10_build bare "$log" bare 100000
    [ "$S10_RC" -eq 0 ] || return 1
    for kind in $S10_SERVERS; do
      rec "S10-$kind" bare a_s "$S10_T"
      artifact "S10-$kind" bare "${S10_ARTS[@]/#/$S10_DIR/}"
      rec "S10-$kind" bare status ok
    done
    printf '   bare cold %7.2fs\n' "$S10_T"
    return 0
  fi
  local xv=EXTRA_ENV_$c
  local base_env=${!xv:-}
  for kind in $S10_SERVERS; do
    s10_kind "$c" "$log" "$kind" "$base_env"
  done
}
