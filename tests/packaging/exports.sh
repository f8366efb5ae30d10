#!/usr/bin/env bash
# The shared library exports the public API and nothing else: every
# defined dynamic symbol starts with eddy_ (internals, eddy__*, are hidden).
set -euo pipefail
lib=${1:?usage: exports.sh path/to/libeddy.so}
syms=$(nm -D --defined-only "$lib" | awk '{print $3}')
bad=$(printf '%s\n' "$syms" | grep -v '^eddy_' | grep -v '^$' || true)
internal=$(printf '%s\n' "$syms" | grep '^eddy__' || true)
count=$(printf '%s\n' "$syms" | grep -c '^eddy_' || true)
if [ -n "$bad$internal" ]; then
    echo "exported symbols outside the public API:"
    printf '%s\n' $bad $internal
    exit 1
fi
[ "$count" -gt 100 ] || { echo "only $count eddy_ symbols exported"; exit 1; }
echo "exports: $count eddy_* symbols, nothing else"
