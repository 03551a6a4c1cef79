# shellcheck shell=bash disable=SC2034  # BUILD_CMD/CLEAN_CMD are read by run.sh
# Emscripten scenario for bench/run.sh (sourced; uses its helpers).
#   S7  `<tool> emcc -O2 -c` of the 15 classic zlib sources (libz-sys's
#       flags), one process per file, one after another (like the reference
#       harness's emcc scenario). Skipped when emcc is missing.

scenario_S7() {  # emcc, one file after another
  local c=$1 log=$2 d=$WORK/S7 Z=$FIX/zlib b f
  command -v emcc >/dev/null 2>&1 || { echo "   skip S7: emcc not found"; return 0; }
  rm -rf "$d"; mkdir -p "$d/obj"
  b=$(bin_of "$c")
  {
    echo "set -e"
    for f in "${ZLIB_SRCS[@]}"; do
      echo "${b:+$b }emcc ${ZLIB_CFLAGS[*]} -I$Z -c $Z/$f.c -o $d/obj/$f.o"
    done
  } >"$d/build.sh"
  BUILD_CMD=(bash "$d/build.sh")
  CLEAN_CMD=(find "$d/obj" -name '*.o' -delete)
  local -a objs=()
  for f in "${ZLIB_SRCS[@]}"; do objs+=("$d/obj/$f.o"); done
  build_cycle S7 "$c" "$log" "${#ZLIB_SRCS[@]}" "${objs[@]}"
}

#   S8  zlib-ng through `emcmake cmake` + Ninja (static library; native
#       optimisations off), the compiler launcher set to each tool. Skipped
#       when emcmake is missing.
scenario_S8() {
  local c=$1 log=$2 d=$WORK/S8 b
  command -v emcmake >/dev/null 2>&1 || { echo "   skip S8: emcmake not found"; return 0; }
  b=$d/build
  rm -rf "$d"; mkdir -p "$d"
  local -a launch=()
  case $c in
    bare) ;;
    # ours: the CMake module (launcher, link and archive rules: emar and
    # emranlib are cached too), as a user would configure it
    ours|base) launch=(-DCMAKE_PROJECT_TOP_LEVEL_INCLUDES="$(cenv "$c" "$(bin_of "$c")" cmake-module)"
                       -DZCCACHE_PROGRAM="$(bin_of "$c")" -DZCCACHE_MODE=ON) ;;
    *) launch=(-DCMAKE_C_COMPILER_LAUNCHER="$(bin_of "$c")") ;;
  esac
  echo "--- emcmake cmake" >>"$log"
  cenv "$c" emcmake cmake -S "$FIX/zlib-ng" -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_TESTING=OFF -DZLIB_COMPAT=ON -DBUILD_SHARED_LIBS=OFF -DWITH_OPTIM=OFF \
    -DWITH_NATIVE_INSTRUCTIONS=OFF -DCMAKE_POLICY_VERSION_MINIMUM=3.5 "${launch[@]}" >>"$log" 2>&1
  BUILD_CMD=(ninja -C "$b" -j "$JOBS")
  CLEAN_CMD=(ninja -C "$b" clean)
  build_cycle S8 "$c" "$log" - "$b/libz.a"
}
