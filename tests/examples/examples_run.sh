#!/usr/bin/env bash
# Runs every example program once, as users would, and fails if any of them
# exits non-zero or runs past its time limit:
#   - demo with --quick (the short run of the showcase);
#   - the servers (any example whose source mentions --selftest) with
#     --selftest: each binds a free loopback port, runs its own clients,
#     checks the answers and exits;
#   - every other example (hello, timeouts, ...) with no arguments.
# The list comes from the sources, examples/*.c (plus examples/NAME/
# directories that build an executable NAME and offer --selftest), so a new
# example is covered as soon as it exists.
#
#   tests/examples/examples_run.sh BUILD_DIR
#
# Environment:
#   EXAMPLES_TIMEOUT  seconds allowed for one program (default 60)
#   EXAMPLES_WRAPPER  a command to run each program under, e.g.
#                     "valgrind -q --leak-check=full --error-exitcode=99
#                      --errors-for-leak-kinds=definite,indirect"
set -euo pipefail

build=$(cd "${1:?usage: examples_run.sh BUILD_DIR}" && pwd)
src=$(cd "$(dirname "$0")/../../examples" && pwd)
limit=${EXAMPLES_TIMEOUT:-60}
read -r -a wrapper <<<"${EXAMPLES_WRAPPER:-}"

logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT

passed=0
failed=()

# run NAME EXE ARGS...: one program, with its output kept for a failure.
run() {
    local name=$1 exe=$2
    shift 2
    local log=$logdir/$name.log start=$SECONDS rc=0
    # -k: a program that ignores SIGTERM is killed 5 s later.
    timeout -k 5 "$limit" ${wrapper[@]+"${wrapper[@]}"} "$exe" "$@" >"$log" 2>&1 </dev/null || rc=$?
    if [ "$rc" -eq 0 ]; then
        printf 'PASS  %-16s %-12s %3ds\n' "$name" "${*:-}" $((SECONDS - start))
        passed=$((passed + 1))
    else
        if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
            printf 'FAIL  %-16s %-12s timed out after %ss\n' "$name" "${*:-}" "$limit"
        else
            printf 'FAIL  %-16s %-12s exit status %d\n' "$name" "${*:-}" "$rc"
        fi
        sed 's/^/      | /' "$log" | tail -n 40
        failed+=("$name")
    fi
}

# args_for SOURCE...: the arguments an example is run with.
args_for() {
    local name=$1
    shift
    if [ "$name" = demo ]; then
        echo --quick
    elif grep -qs -e '--selftest' "$@"; then
        echo --selftest
    fi
}

shopt -s nullglob
for source in "$src"/*.c; do
    name=$(basename "$source" .c)
    exe=$build/$name
    if [ ! -x "$exe" ]; then
        printf 'FAIL  %-16s not built (no %s)\n' "$name" "$exe"
        failed+=("$name")
        continue
    fi
    # shellcheck disable=SC2046 # the arguments are single words
    run "$name" "$exe" $(args_for "$name" "$source")
done

# Examples made of several files live in a directory of their own; they are
# run when the build produced an executable of the directory's name and
# they offer --selftest (a server without it would never end by itself;
# such an example needs a test of its own, as mini_redis has).
for dir in "$src"/*/; do
    name=$(basename "$dir")
    exe=$build/$name
    if [ ! -x "$exe" ]; then
        printf 'SKIP  %-16s no executable %s\n' "$name" "$exe"
    elif ! grep -qs -e '--selftest' "$dir"*.c "$dir"*.h; then
        printf 'SKIP  %-16s no --selftest (tested on its own)\n' "$name"
    else
        run "$name" "$exe" --selftest
    fi
done

echo "examples: $passed passed, ${#failed[@]} failed${failed[*]:+: ${failed[*]}}"
[ "${#failed[@]}" -eq 0 ]
