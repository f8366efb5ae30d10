#!/usr/bin/env bash
# eddy vs Tokio, as `make bench` / `make bench-quick` run it: installs the
# benchmark's dependencies (scripts/bench-deps.sh), builds the Tokio peer
# offline from Debian's crates into build/tokio-peer and the no-runtime
# http_hello server (bench/peers/bare) into build/bare-peer, then runs the
# driver bench/run.py with the given arguments (eddy's bench_eddy must be
# built: the Makefile builds build/release first).
#
#   scripts/bench.sh [bench/run.py arguments...]    e.g. --quick
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/bench-deps.sh"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/build/tokio-peer}"
echo "== building the Tokio peer (cargo, offline, $CARGO_TARGET_DIR)"
(cd "$root/bench/peers/tokio" && cargo build --release --offline --quiet)

# The no-runtime server: its io_uring loop only where liburing's header is.
bare_dir="$root/build/bare-peer"
mkdir -p "$bare_dir"
uring_def=() uring_lib=() with="epoll only: no liburing"
if echo '#include <liburing.h>' | ${CC:-cc} -E -x c - >/dev/null 2>&1; then
    uring_def=(-DBARE_HAVE_URING) uring_lib=(-luring) with="epoll and io_uring"
fi
echo "== building the no-runtime http_hello server ($bare_dir, $with)"
${CC:-cc} -std=c11 -O2 -Wall -Wextra "${uring_def[@]}" -o "$bare_dir/bare-http" \
    "$root/bench/peers/bare/http.c" "${uring_lib[@]}"

exec python3 "$root/bench/run.py" --tokio "$CARGO_TARGET_DIR/release/tokio-peer" \
    --bare "$bare_dir/bare-http" "$@"
