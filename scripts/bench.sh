#!/usr/bin/env bash
# eddy vs Tokio, as `make bench` / `make bench-quick` run it: installs the
# benchmark's dependencies (scripts/bench-deps.sh), builds the Tokio peer
# offline from Debian's crates into build/tokio-peer, then runs the driver
# bench/run.py with the given arguments (eddy's bench_eddy must be built:
# the Makefile builds build/release first).
#
#   scripts/bench.sh [bench/run.py arguments...]    e.g. --quick
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/bench-deps.sh"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/build/tokio-peer}"
echo "== building the Tokio peer (cargo, offline, $CARGO_TARGET_DIR)"
(cd "$root/bench/peers/tokio" && cargo build --release --offline --quiet)

exec python3 "$root/bench/run.py" --tokio "$CARGO_TARGET_DIR/release/tokio-peer" "$@"
