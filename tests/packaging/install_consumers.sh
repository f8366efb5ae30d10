#!/usr/bin/env bash
# Installs eddy into a scratch prefix, then builds examples/hello.c against
# the installed copy twice, as a user would: with pkg-config (shared and
# static) and with CMake's find_package(eddy). Each program must run.
set -euo pipefail
build=$(cd "${1:?usage: install_consumers.sh BUILD_DIR SOURCE_DIR}" && pwd)
src=$(cd "${2:?usage: install_consumers.sh BUILD_DIR SOURCE_DIR}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(find "$prefix" -name libeddy.so -printf '%h\n' | head -n1)
test -f "$libdir/libeddy.a"
test -f "$prefix/include/eddy.h"
# a versioned soname
# (outputs are captured before matching: with pipefail, `grep -q` closing
# the pipe early would fail the producer with SIGPIPE)
expect() { # expect PATTERN OUTPUT
    case "$2" in *$1*) ;; *) echo "expected '$1' in: $2"; exit 1 ;; esac
}
expect 'libeddy.so.0' "$(readelf -d "$libdir/libeddy.so" | grep SONAME)"

# pkg-config, shared
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc=${CC:-cc}
$cc -o "$work/hello_pc" "$src/examples/hello.c" $(pkg-config --cflags --libs eddy)
expect 'counter = ' "$(LD_LIBRARY_PATH="$libdir" "$work/hello_pc")"
expect 'libeddy.so.0' "$(LD_LIBRARY_PATH="$libdir" ldd "$work/hello_pc")"
# pkg-config, static
$cc -o "$work/hello_static" "$src/examples/hello.c" \
    $(pkg-config --cflags eddy) "$libdir/libeddy.a" $(pkg-config --libs-only-other --static eddy) -lpthread
expect 'counter = ' "$("$work/hello_static")"

# find_package(eddy)
mkdir -p "$work/cmake-consumer"
cat > "$work/cmake-consumer/CMakeLists.txt" <<CML
cmake_minimum_required(VERSION 3.20)
project(consumer C)
find_package(eddy 0.1 REQUIRED)
add_executable(hello_shared "$src/examples/hello.c")
target_link_libraries(hello_shared PRIVATE eddy::eddy)
add_executable(hello_static "$src/examples/hello.c")
target_link_libraries(hello_static PRIVATE eddy::eddy_static)
CML
cmake -S "$work/cmake-consumer" -B "$work/cmake-consumer/build" \
    -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cmake-consumer/build" >/dev/null
expect 'counter = ' "$(LD_LIBRARY_PATH="$libdir" "$work/cmake-consumer/build/hello_shared")"
expect 'counter = ' "$("$work/cmake-consumer/build/hello_static")"
echo "install: pkg-config (shared, static) and find_package(eddy) consumers built and ran"
