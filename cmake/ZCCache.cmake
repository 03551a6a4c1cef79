# ZCCache.cmake: build this project through zccache, the compiler cache.
#
# Use it in one of these ways:
#   * without editing the project (CMake >= 3.24):
#       cmake -DCMAKE_PROJECT_TOP_LEVEL_INCLUDES=$(zccache cmake-module) ...
#   * after `zccache cmake-module` has written the package config:
#       find_package(ZCCache)
#   * include(/path/to/ZCCache.cmake) in CMakeLists.txt, after project().
#
# Options (cache variables):
#   ZCCACHE_MODE     AUTO (default): use zccache when it is found;
#                    ON: fail the configure when it is missing; OFF: never.
#   ZCCACHE_LINK     ON (default with CMake >= 3.21): cache links too,
#                    through CMAKE_<LANG>_LINKER_LAUNCHER, and static
#                    libraries, by prefixing CMake's archive rules
#                    (CMAKE_<LANG>_ARCHIVE_CREATE/APPEND/FINISH: `ar qc`,
#                    `ar q`, `ranlib`) with zccache when they use a GNU or
#                    LLVM ar/ranlib and nobody changed them.
#   ZCCACHE_PROGRAM  the zccache binary (found on PATH, or next to this file).
#
# Launchers the user already set are never overridden. Visual Studio and
# Xcode generators ignore launchers, so zccache cannot be used with them.
# Per target: zccache_enable_for_target(<target>).

# include() gives this file its own policy scope: use modern policies here
# (IN_LIST needs CMP0057) whatever the including project asked for. Macros
# and functions keep the policies in effect where they are defined.
cmake_policy(VERSION 3.10)

# Included again as CMAKE_PROJECT_INCLUDE (see _zccache_wrap_rules_later):
# at the end of every project(), wrap the rules of the languages it enabled.
if(_ZCCACHE_RULES_DEFERRED)
  if(_ZCCACHE_USER_PROJECT_INCLUDE)
    include("${_ZCCACHE_USER_PROJECT_INCLUDE}")
  endif()
  _zccache_wrap_rules()
  return()
endif()

include_guard(GLOBAL)

set(ZCCACHE_MODE "AUTO" CACHE STRING "Use zccache: AUTO, ON or OFF")
set_property(CACHE ZCCACHE_MODE PROPERTY STRINGS AUTO ON OFF)
if(CMAKE_VERSION VERSION_GREATER_EQUAL 3.21)
  set(_zccache_link_default ON)
else()
  set(_zccache_link_default OFF)
endif()
option(ZCCACHE_LINK "Cache links with zccache (CMAKE_<LANG>_LINKER_LAUNCHER, CMake >= 3.21)"
       ${_zccache_link_default})

# ZCCacheHint.cmake, written by `zccache cmake-module`, names the directory
# of the binary that wrote this module.
include("${CMAKE_CURRENT_LIST_DIR}/ZCCacheHint.cmake" OPTIONAL)
find_program(ZCCACHE_PROGRAM zccache
  HINTS ${_ZCCACHE_HINT_DIR} "${CMAKE_CURRENT_LIST_DIR}/../../../bin")

# The languages zccache caches.
set(_ZCCACHE_LANGUAGES C CXX OBJC OBJCXX)

function(_zccache_usable out)
  string(TOUPPER "${ZCCACHE_MODE}" _mode)
  if(_mode STREQUAL "OFF")
    set(${out} FALSE PARENT_SCOPE)
    return()
  endif()
  if(NOT ZCCACHE_PROGRAM)
    if(_mode STREQUAL "ON")
      message(FATAL_ERROR
        "zccache: ZCCACHE_MODE is ON but the zccache program was not found. "
        "Install zccache, put it on PATH or set ZCCACHE_PROGRAM, "
        "or configure with -DZCCACHE_MODE=AUTO.")
    endif()
    message(STATUS "zccache: not found; building without it (ZCCACHE_MODE=AUTO)")
    set(${out} FALSE PARENT_SCOPE)
    return()
  endif()
  if(CMAKE_GENERATOR MATCHES "Visual Studio|Xcode")
    message(WARNING
      "zccache: the ${CMAKE_GENERATOR} generator ignores compiler launchers; "
      "use Ninja or Makefiles to build through zccache.")
    set(${out} FALSE PARENT_SCOPE)
    return()
  endif()
  set(${out} TRUE PARENT_SCOPE)
endfunction()

# The languages to set launchers for: the enabled ones zccache supports, or
# all of them when no language is enabled yet (included before project()).
function(_zccache_languages out)
  get_property(_enabled GLOBAL PROPERTY ENABLED_LANGUAGES)
  set(_langs "")
  foreach(_lang IN LISTS _ZCCACHE_LANGUAGES)
    if(NOT _enabled OR _lang IN_LIST _enabled)
      list(APPEND _langs ${_lang})
    endif()
  endforeach()
  set(${out} ${_langs} PARENT_SCOPE)
endfunction()

# Set variable <var> to zccache in the caller's scope unless the user set it.
macro(_zccache_set_launcher var)
  if(DEFINED ${var} OR DEFINED ENV{${var}})
    set(_zccache_current "${${var}}")
    if(NOT _zccache_current)
      set(_zccache_current "$ENV{${var}}")
    endif()
    if(NOT _zccache_current STREQUAL ZCCACHE_PROGRAM)
      message(STATUS "zccache: ${var} is already set to '${_zccache_current}'; leaving it")
    endif()
  else()
    set(${var} "${ZCCACHE_PROGRAM}")
  endif()
endmacro()

# Prefix CMake's default static-library rules for <lang> with zccache:
# CMAKE_<lang>_ARCHIVE_CREATE/APPEND (`<CMAKE_AR> qc|q …`) and _FINISH
# (`<CMAKE_RANLIB> <TARGET>`). Rules that do not start with those
# placeholders were customised by the project or toolchain and are left
# alone, and so are archivers zccache does not cache (lib.exe, …).
# Emscripten's emar/emranlib are cached (keyed by emscripten's identity).
macro(_zccache_wrap_archive_rules lang)
  get_filename_component(_zccache_ar_name "${CMAKE_AR}" NAME)
  get_filename_component(_zccache_ranlib_name "${CMAKE_RANLIB}" NAME)
  set(_zccache_tool_re "^([^/]*-)?(gcc-|llvm-|em)?")
  foreach(_zccache_rule CREATE APPEND FINISH)
    set(_zccache_var CMAKE_${lang}_ARCHIVE_${_zccache_rule})
    if(_zccache_rule STREQUAL "FINISH")
      set(_zccache_name "${_zccache_ranlib_name}")
      set(_zccache_tool ranlib)
      set(_zccache_placeholder "<CMAKE_RANLIB>")
    else()
      set(_zccache_name "${_zccache_ar_name}")
      set(_zccache_tool ar)
      set(_zccache_placeholder "<CMAKE_AR>")
    endif()
    string(FIND "${${_zccache_var}}" "${_zccache_placeholder} " _zccache_at)
    if(_zccache_at EQUAL 0
       AND _zccache_name MATCHES "${_zccache_tool_re}${_zccache_tool}(-[0-9.]+)?$")
      set(${_zccache_var} "\"${ZCCACHE_PROGRAM}\" ${${_zccache_var}}")
    endif()
  endforeach()
endmacro()

# CMake has no launcher for ASM before 3.27 or so; prefix its default compile
# rule (`<CMAKE_ASM_COMPILER> … -c <SOURCE>`) with zccache when the assembler
# is a gcc or clang driver (preprocessed `.S` files cache like C) and nobody
# set an ASM launcher or changed the rule.
macro(_zccache_wrap_asm_rule)
  if(NOT DEFINED CMAKE_ASM_COMPILER_LAUNCHER
     AND NOT DEFINED ENV{CMAKE_ASM_COMPILER_LAUNCHER}
     AND CMAKE_ASM_COMPILER_ID MATCHES "^(GNU|Clang)$")
    string(FIND "${CMAKE_ASM_COMPILE_OBJECT}" "<CMAKE_ASM_COMPILER> " _zccache_at)
    if(_zccache_at EQUAL 0)
      set(CMAKE_ASM_COMPILE_OBJECT "\"${ZCCACHE_PROGRAM}\" ${CMAKE_ASM_COMPILE_OBJECT}")
    endif()
  endif()
endmacro()

# Wrap the rules of the enabled languages: archive rules with ZCCACHE_LINK,
# and ASM compiles. Idempotent: a wrapped rule no longer starts with its
# placeholder.
macro(_zccache_wrap_rules)
  get_property(_zccache_enabled GLOBAL PROPERTY ENABLED_LANGUAGES)
  foreach(_zccache_lang IN LISTS _ZCCACHE_LANGUAGES)
    if(ZCCACHE_LINK AND _zccache_lang IN_LIST _zccache_enabled)
      _zccache_wrap_archive_rules(${_zccache_lang})
    endif()
  endforeach()
  if("ASM" IN_LIST _zccache_enabled)
    _zccache_wrap_asm_rule()
  endif()
endmacro()

# Rules only exist once project() or enable_language() has enabled a
# language, which may come after this module (CMAKE_PROJECT_TOP_LEVEL_INCLUDES
# runs before it; a subproject's project() enables more). So include this
# file again at the end of every project() call (CMAKE_PROJECT_INCLUDE,
# CMake >= 3.15), chaining a file the user set there.
macro(_zccache_wrap_rules_later)
  set(_ZCCACHE_RULES_DEFERRED ON)
  if(DEFINED CMAKE_PROJECT_INCLUDE
     AND NOT CMAKE_PROJECT_INCLUDE STREQUAL CMAKE_CURRENT_LIST_FILE)
    set(_ZCCACHE_USER_PROJECT_INCLUDE "${CMAKE_PROJECT_INCLUDE}")
  endif()
  set(CMAKE_PROJECT_INCLUDE "${CMAKE_CURRENT_LIST_FILE}")
endmacro()

_zccache_usable(_zccache_ok)
if(_zccache_ok)
  _zccache_languages(_zccache_langs)
  foreach(_zccache_lang IN LISTS _zccache_langs)
    _zccache_set_launcher(CMAKE_${_zccache_lang}_COMPILER_LAUNCHER)
    if(ZCCACHE_LINK AND CMAKE_VERSION VERSION_GREATER_EQUAL 3.21)
      _zccache_set_launcher(CMAKE_${_zccache_lang}_LINKER_LAUNCHER)
    endif()
  endforeach()
  _zccache_wrap_rules()
  _zccache_wrap_rules_later()
  message(STATUS "zccache: using ${ZCCACHE_PROGRAM} for ${_zccache_langs}")
endif()

# zccache_enable_for_target(<target>): set the compiler (and linker)
# launcher properties of one target, unless the target already has them.
function(zccache_enable_for_target target)
  _zccache_usable(_ok)
  if(NOT _ok)
    return()
  endif()
  foreach(_lang IN LISTS _ZCCACHE_LANGUAGES)
    set(_props ${_lang}_COMPILER_LAUNCHER)
    if(ZCCACHE_LINK AND CMAKE_VERSION VERSION_GREATER_EQUAL 3.21)
      list(APPEND _props ${_lang}_LINKER_LAUNCHER)
    endif()
    foreach(_prop IN LISTS _props)
      get_target_property(_current ${target} ${_prop})
      if(_current)
        message(STATUS "zccache: ${target} already has ${_prop} '${_current}'; leaving it")
      else()
        set_property(TARGET ${target} PROPERTY ${_prop} "${ZCCACHE_PROGRAM}")
      endif()
    endforeach()
  endforeach()
endfunction()
