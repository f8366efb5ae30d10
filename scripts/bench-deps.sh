#!/usr/bin/env bash
# Checks that what `make bench` needs beyond the build is present, and
# installs what is missing from Debian's packages (as root), or prints the
# command to do so (otherwise, then exits 1). Quiet when all is present.
#
#   wrk                 the load generator of http_hello
#   gnuplot-nox         the chart (bench/results/ratios.svg)
#   python3             the driver, bench/run.py
#   librust-tokio-dev   Tokio 1.24's source and its dependencies, under
#                       /usr/share/cargo/registry: the Tokio peer is built
#                       from it offline (bench/peers/tokio/.cargo/config.toml)
#   liburing-dev        the io_uring loop of the no-runtime http_hello server
#                       (bench/peers/bare)
#   cargo               only if no cargo is on PATH (a rustup one will do)
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1; }

missing_packages() {
    have wrk     || echo wrk
    have gnuplot || echo gnuplot-nox
    have python3 || echo python3
    have cargo   || echo cargo
    [ -e /usr/include/liburing.h ] || echo liburing-dev
    compgen -G "/usr/share/cargo/registry/tokio-1.*" >/dev/null || echo librust-tokio-dev
}

mapfile -t pkgs < <(missing_packages)
[ "${#pkgs[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "bench-deps.sh: missing benchmark dependencies; install them with:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${pkgs[*]}" >&2
    exit 1
fi

echo "bench-deps.sh: installing ${pkgs[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q </dev/null
apt-get install -y -q --no-install-recommends "${pkgs[@]}" </dev/null

mapfile -t still < <(missing_packages)
if [ "${#still[@]}" -ne 0 ]; then
    echo "bench-deps.sh: still missing after install: ${still[*]}" >&2
    exit 1
fi
