# Package config for find_package(ZCCache): loads ZCCache.cmake from the
# same directory (written there by `zccache cmake-module`).
include("${CMAKE_CURRENT_LIST_DIR}/ZCCache.cmake")
set(ZCCache_FOUND TRUE)
