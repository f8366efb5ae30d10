#!/usr/bin/env bash
# Runs Criterion test executables under valgrind's memcheck and fails on any
# memory error or definite/indirect leak, in any process.
#
#   scripts/valgrind-tests.sh [BUILD_DIR]        (default: build/release)
#
# Environment:
#   VALGRIND_TESTS    test executables to run, by name, separated by spaces
#                     (default, or "all": every BUILD_DIR/test_*)
#   VALGRIND_TIMEOUT  seconds allowed for one executable (default 900)
#   VALGRIND_ARGS     extra valgrind options (e.g. --track-origins=yes to
#                     see where an uninitialised value came from)
#
# Why not just `valgrind --error-exitcode=1 ./test_x`: Criterion runs every
# test in a child process of its own (it re-executes the test binary), and it
# judges a test by what the child reports, not by the child's exit code. So a
# leak valgrind finds in a child (which makes the child exit 1) still shows up
# as "Passing". We therefore trace the children (--trace-children=yes), give
# every process its own log file (%p), and fail when the runner fails or when
# any process's log reports errors.
#
# Why --fair-sched: valgrind runs one thread at a time, and its default lock
# hands the CPU back to whichever thread grabs it first. The race tests keep
# workers busy (tasks that yield until another thread moves), and a plain
# thread they wait for could then starve for seconds: one test took 2 s
# in most runs and 36 s or more (over its 120 s limit once, in CI) in a few.
# The fair (ticket) lock gives every thread its turn; the whole suite also
# runs in 7.5 minutes instead of 10.5 here. "try": where the platform has no
# fair lock, valgrind falls back to the default one.
set -euo pipefail

build_dir=${1:-build/release}
tests=${VALGRIND_TESTS:-all}
limit=${VALGRIND_TIMEOUT:-900}

if [ ! -d "$build_dir" ]; then
    echo "valgrind-tests: no build directory $build_dir (build it first)" >&2
    exit 2
fi

if [ "$tests" = all ]; then
    tests=""
    for f in "$build_dir"/test_*; do
        [ -f "$f" ] && [ -x "$f" ] && tests+="${tests:+ }$(basename "$f")"
    done
fi
if [ -z "$tests" ]; then
    echo "valgrind-tests: no test executables in $build_dir"
    echo "valgrind: 0 passed, 0 failed"
    exit 0
fi

logroot=$build_dir/valgrind
rm -rf "$logroot"
mkdir -p "$logroot"

export CRITERION_NO_EARLY_EXIT=1
passed=0
failed=0
failed_names=()

for name in $tests; do
    exe=$build_dir/$name
    if [ ! -x "$exe" ]; then
        echo "valgrind-tests: $exe not found" >&2
        failed=$((failed + 1)); failed_names+=("$name (not found)")
        continue
    fi
    logdir=$logroot/$name
    mkdir -p "$logdir"
    echo "== valgrind: $name"
    rc=0
    # shellcheck disable=SC2086
    timeout --kill-after=30 "$limit" \
        valgrind \
            --leak-check=full \
            --errors-for-leak-kinds=definite,indirect \
            --error-exitcode=1 \
            --trace-children=yes \
            --child-silent-after-fork=no \
            --fair-sched=try \
            --log-file="$logdir/%p.log" \
            ${VALGRIND_ARGS:-} \
            "$exe" </dev/null || rc=$?

    # Every process that valgrind saw, and those whose error count is not 0.
    nlogs=$(find "$logdir" -name '*.log' | wc -l)
    bad=$(grep -l -E 'ERROR SUMMARY: [1-9]' "$logdir"/*.log 2>/dev/null || true)
    if [ -n "$bad" ] || [ "$rc" -ne 0 ]; then
        failed=$((failed + 1)); failed_names+=("$name")
        [ "$rc" -eq 124 ] && echo "valgrind-tests: $name timed out after ${limit}s"
        echo "valgrind-tests: $name FAILED (exit $rc; $nlogs processes checked)"
        for log in $bad; do
            echo "---- $log"
            cat "$log"
        done
    else
        passed=$((passed + 1))
        echo "valgrind-tests: $name ok ($nlogs processes checked)"
    fi
done

if [ "$failed" -ne 0 ]; then
    printf 'valgrind-tests: failed: %s\n' "${failed_names[*]}"
fi
echo "valgrind: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
