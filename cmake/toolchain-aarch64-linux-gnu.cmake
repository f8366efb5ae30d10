# Cross build for 64-bit ARM Linux with Debian's cross compiler
# (packages gcc-aarch64-linux-gnu and libc6-dev-arm64-cross):
#   cmake -S . -B build/aarch64 \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-linux-gnu.cmake
# Only the library is meant to be built this way: tests, examples and
# benchmarks default to off (their binaries could not run on this host).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(EDDY_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER   ${EDDY_CROSS_TRIPLE}-gcc)
set(CMAKE_ASM_COMPILER ${EDDY_CROSS_TRIPLE}-gcc)
set(CMAKE_AR           ${EDDY_CROSS_TRIPLE}-ar     CACHE FILEPATH "")
set(CMAKE_RANLIB       ${EDDY_CROSS_TRIPLE}-ranlib CACHE FILEPATH "")
set(CMAKE_STRIP        ${EDDY_CROSS_TRIPLE}-strip  CACHE FILEPATH "")

# Look for libraries and headers in the target's sysroot only; programs
# (cmake helpers, pkg-config) come from the host.
set(CMAKE_FIND_ROOT_PATH /usr/${EDDY_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

set(EDDY_BUILD_TESTS    OFF CACHE BOOL "Build the Criterion tests under tests/")
set(EDDY_BUILD_EXAMPLES OFF CACHE BOOL "Build the examples under examples/")
set(EDDY_BUILD_BENCH    OFF CACHE BOOL "Build the benchmarks under bench/")
