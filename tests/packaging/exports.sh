#!/usr/bin/env bash
# The shared library exports exactly the public API: every function the
# headers declare with EDDY_API, and no other symbol (internals, eddy__*,
# and everything else stay hidden).
set -euo pipefail
lib=${1:?usage: exports.sh path/to/libeddy.so include-dir}
inc=${2:?usage: exports.sh path/to/libeddy.so include-dir}

exported=$(nm -D --defined-only "$lib" | awk '{print $3}' | sort -u)
declared=$(cat "$inc"/eddy.h "$inc"/eddy/*.h | tr '\n' ' ' |
    grep -oE 'EDDY_API[^;(]*\beddy_[A-Za-z0-9_]+[[:space:]]*\(' |
    grep -oE 'eddy_[A-Za-z0-9_]+[[:space:]]*\($' | tr -d '( ' | sort -u)

extra=$(comm -23 <(printf '%s\n' "$exported") <(printf '%s\n' "$declared"))
missing=$(comm -13 <(printf '%s\n' "$exported") <(printf '%s\n' "$declared"))
if [ -n "$extra" ]; then
    echo "exported but not public API:"; printf '  %s\n' $extra
fi
if [ -n "$missing" ]; then
    echo "declared in the headers but not exported:"; printf '  %s\n' $missing
fi
[ -z "$extra$missing" ] || exit 1
echo "exports: the $(printf '%s\n' "$declared" | wc -l) public functions, nothing else"
