#!/usr/bin/env bash
# Checks that what building and testing eddy needs is present, and installs
# what is missing from Debian's packages (as root), or prints the command to
# do so (otherwise, then exits 1). Quiet when everything is present.
#
#   scripts/deps.sh           host build, tests, sanitizers, valgrind
#   scripts/deps.sh --cross   also the aarch64 cross compiler and qemu-user
#   scripts/deps.sh --docs    also doxygen
set -euo pipefail

cross=0
docs=0
for arg in "$@"; do
    case "$arg" in
        --cross) cross=1 ;;
        --docs) docs=1 ;;
        -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
        *) echo "deps.sh: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'int main(void) { return 0; }\n' > "$tmp/t.c"

have() { command -v "$1" >/dev/null 2>&1; }
# compiles_with COMPILER FLAGS...: can COMPILER build and link a program?
compiles_with() {
    local cc=$1; shift
    have "$cc" && "$cc" "$@" "$tmp/t.c" -o "$tmp/t" >/dev/null 2>&1
}

# Prints the Debian packages still needed, one a line.
missing_packages() {
    have cmake      || echo cmake
    have make       || echo make
    have pkg-config || echo pkg-config
    have valgrind   || echo valgrind
    have redis-benchmark || echo redis-tools   # the mini-redis example's test
    if ! have gcc; then
        echo gcc; echo libc6-dev
    elif ! compiles_with gcc; then
        echo libc6-dev
    fi
    if ! have clang; then
        echo clang; echo libclang-rt-dev
    elif ! compiles_with clang -fsanitize=thread; then
        # the sanitizer runtimes are only a recommendation of clang
        echo libclang-rt-dev
    fi
    if ! have pkg-config || ! pkg-config --exists criterion; then
        echo libcriterion-dev
    fi
    if [ "$docs" = 1 ]; then
        have doxygen || echo doxygen
    fi
    if [ "$cross" = 1 ]; then
        have aarch64-linux-gnu-gcc || echo gcc-aarch64-linux-gnu
        compiles_with aarch64-linux-gnu-gcc || echo libc6-dev-arm64-cross
        have qemu-aarch64 || echo qemu-user
    fi
}

mapfile -t pkgs < <(missing_packages | awk '!seen[$0]++')
[ "${#pkgs[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: missing build dependencies; install them with:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${pkgs[*]}" >&2
    exit 1
fi

echo "deps.sh: installing ${pkgs[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q </dev/null
apt-get install -y -q --no-install-recommends "${pkgs[@]}" </dev/null

mapfile -t still < <(missing_packages | awk '!seen[$0]++')
if [ "${#still[@]}" -ne 0 ]; then
    echo "deps.sh: still missing after install: ${still[*]}" >&2
    exit 1
fi
