#!/usr/bin/env bash
# Drives the mini-redis example (examples/mini_redis/) with the real Redis
# clients from Debian's redis-tools: redis-cli and redis-benchmark.
#
#   bash tests/examples/mini_redis.sh path/to/mini_redis
#
# Starts the server on a free loopback port (--port 0; the port is read from
# its "listening on" line), then checks, each with a clear message on a
# mismatch: strings, expiry (EX, PX, and a key re-set without expiry that
# must survive its old deadline), DEL, EXISTS, INCR, ECHO, the error
# replies, pipelining (redis-cli --pipe, and a raw pipelined request mixing
# inline and array commands), PUBLISH/SUBSCRIBE (redis-cli subscribe, and a
# raw subscriber for several channels, PING and UNSUBSCRIBE), malformed
# requests over a raw socket, redis-benchmark with and without pipelining,
# and last a SIGTERM with clients still connected, after which the server
# must exit with status 0.
#
# MINI_REDIS_WRAPPER: a command to run the server under, for instance
#   MINI_REDIS_WRAPPER="valgrind --leak-check=full --error-exitcode=99"
# redis-tools is installed when missing and running as root (as
# scripts/deps.sh does); otherwise the test is skipped (exit status 77).
set -euo pipefail

bin=${1:?usage: mini_redis.sh path/to/mini_redis}
[ -x "$bin" ] || { echo "mini_redis.sh: '$bin' is not an executable" >&2; exit 1; }

have_tools() { command -v redis-cli >/dev/null 2>&1 && command -v redis-benchmark >/dev/null 2>&1; }
if ! have_tools && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "mini_redis.sh: installing redis-tools"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends redis-tools </dev/null >/dev/null 2>&1 ||
        { apt-get update -q </dev/null >/dev/null &&
          apt-get install -y -q --no-install-recommends redis-tools </dev/null >/dev/null; } || true
fi
if ! have_tools; then
    echo "SKIP: redis-cli and redis-benchmark are needed: apt-get install redis-tools" >&2
    exit 77
fi

tmp=$(mktemp -d)
server_pid=
bg_pids=()
cleanup() {
    local p
    for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ -n "$server_pid" ]; then kill -KILL "$server_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    echo "--- server stdout:" >&2; cat "$tmp/server.out" >&2 || true
    echo "--- server stderr:" >&2; cat "$tmp/server.err" >&2 || true
    exit 1
}
ok() { echo "ok   $*"; }

# ---- start the server ------------------------------------------------------
# The files exist before the server starts: the background job opens them
# itself, and a first read racing ahead of it made sed fail, which set -e
# turned into an early exit (seen once in CI, after 0.02 s).
: >"$tmp/server.out"
: >"$tmp/server.err"
# shellcheck disable=SC2086 # the wrapper is a command line, split on purpose
${MINI_REDIS_WRAPPER:-} "$bin" --port 0 >"$tmp/server.out" 2>"$tmp/server.err" &
server_pid=$!
port=
for _ in $(seq 600); do # up to 60 s: a server under valgrind starts slowly
    port=$(sed -n 's/^mini-redis listening on .*:\([0-9][0-9]*\)$/\1/p' "$tmp/server.out")
    [ -n "$port" ] && break
    kill -0 "$server_pid" 2>/dev/null || fail "the server exited before listening"
    sleep 0.1
done
[ -n "$port" ] || fail "no 'mini-redis listening on ...' line within 60 s"

cli() { timeout 30 redis-cli -h 127.0.0.1 -p "$port" --no-raw "$@" 2>&1; }

for _ in $(seq 100); do
    [ "$(cli ping || true)" = PONG ] && break
    sleep 0.1
done
[ "$(cli ping || true)" = PONG ] || fail "redis-cli ping never answered PONG"
ok "server up on 127.0.0.1:$port, PING -> PONG"

# expect WANT ARGS...: redis-cli ARGS must print exactly WANT (--no-raw format:
# "bulk" in quotes, (nil), (integer) N, (error) ERR ...).
expect() {
    local want=$1 got
    shift
    got=$(cli "$@" || true)
    [ "$got" = "$want" ] || fail "redis-cli $*: expected [$want], got [$got]"
    ok "$* -> $want"
}

# raw REQUEST: sends REQUEST (bytes, printf %b escapes) on a new connection
# and prints everything the server answers until it closes the connection,
# so every REQUEST must end in QUIT or in something that closes it.
raw() {
    printf '%b' "$1" >"$tmp/raw.req"
    timeout 10 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"; cat "$2" >&3; cat <&3' \
        _ "$port" "$tmp/raw.req"
}

# expect_raw REQUEST WANT: the exact reply bytes (both with printf %b escapes).
expect_raw() {
    local what=$1 req=$2 want=$3
    printf '%b' "$want" >"$tmp/raw.want"
    raw "$req" >"$tmp/raw.got" || true
    if ! cmp -s "$tmp/raw.want" "$tmp/raw.got"; then
        echo "expected bytes:" >&2; od -c "$tmp/raw.want" >&2
        echo "got bytes:" >&2; od -c "$tmp/raw.got" >&2
        fail "$what: wrong reply to $(printf '%q' "$req")"
    fi
    ok "$what"
}

# ---- strings -----------------------------------------------------------------
expect OK set greeting hello
expect '"hello"' get greeting
expect '(nil)' get missing
expect OK SeT MixedCase v
expect '"v"' gEt MixedCase
expect OK set empty ''
expect '""' get empty
expect '"hello world"' echo "hello world"
expect PONG ping
expect '"hi"' ping hi

# ---- expiry ----------------------------------------------------------------
# Deadlines are generous, and each key is read right after it is set, so a
# slow machine (valgrind, sanitizers) cannot make a live key look expired.
expect OK set ex-key v EX 2
expect '"v"' get ex-key
expect OK set px-key v PX 1500
expect '"v"' get px-key
expect OK set rearmed old PX 1500
expect OK set rearmed new          # no expiry now: the old deadline must not fire
expect OK set nx-ttl v NX PX 1500
expect '(nil)' set nx-ttl w NX
sleep 2.2
expect '(nil)' get ex-key
expect '(nil)' get px-key
expect '(nil)' get nx-ttl
expect '"new"' get rearmed
expect '(integer) 1' exists ex-key px-key rearmed
expect "(error) ERR invalid expire time in 'set' command" set k v EX 0
expect "(error) ERR invalid expire time in 'set' command" set k v PX -5
expect '(error) ERR value is not an integer or out of range' set k v EX soon
expect '(error) ERR syntax error' set k v EX
expect '(error) ERR syntax error' set k v NX XX

# ---- DEL, EXISTS -------------------------------------------------------------
expect OK set d1 1
expect OK set d2 2
expect '(integer) 3' exists d1 d2 d1 nope
expect '(integer) 2' del d1 d2 nope
expect '(integer) 0' exists d1 d2
expect '(integer) 0' del d1

# ---- INCR --------------------------------------------------------------------
expect '(integer) 1' incr counter
expect '(integer) 2' incr counter
expect '"2"' get counter
expect OK set negative -10
expect '(integer) -9' incr negative
expect '(error) ERR value is not an integer or out of range' incr greeting
expect OK set padded 007
expect '(error) ERR value is not an integer or out of range' incr padded
expect OK set max 9223372036854775807
expect '(error) ERR increment or decrement would overflow' incr max

# ---- errors --------------------------------------------------------------------
expect "(error) ERR unknown command 'nosuchcmd', with args beginning with: 'a' 'b' " nosuchcmd a b
expect "(error) ERR wrong number of arguments for 'get' command" get
expect "(error) ERR wrong number of arguments for 'get' command" get a b
expect "(error) ERR wrong number of arguments for 'set' command" set onlykey
expect "(error) ERR wrong number of arguments for 'incr' command" incr
expect "(error) ERR wrong number of arguments for 'publish' command" publish ch
expect '(empty array)' command

# ---- pipelining --------------------------------------------------------------
# redis-cli --pipe: a mass insert streamed without waiting for replies; it
# then sends an ECHO marker and counts the replies until the marker's.
n=10000
for ((i = 0; i < n; i++)); do
    printf '*3\r\n$3\r\nSET\r\n$%d\r\nbulk:%d\r\n$%d\r\nvalue-%d\r\n' \
        $((5 + ${#i})) "$i" $((6 + ${#i})) "$i"
done >"$tmp/mass.resp"
pipe_out=$(timeout 60 redis-cli -h 127.0.0.1 -p "$port" --pipe <"$tmp/mass.resp" 2>&1) ||
    fail "redis-cli --pipe failed: $pipe_out"
grep -q "errors: 0, replies: $n" <<<"$pipe_out" ||
    fail "redis-cli --pipe: expected 'errors: 0, replies: $n', got: $pipe_out"
ok "redis-cli --pipe: $n pipelined SETs, errors: 0, replies: $n"
expect '"value-4321"' get bulk:4321

# One write holding inline and array commands; the replies come in order.
expect_raw "pipelined inline + array commands in one write" \
    'PING\r\nping\n*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\nSET p 1\r\n*2\r\n$4\r\nINCR\r\n$1\r\np\r\nGET nope\r\n\r\nQUIT\r\n' \
    '+PONG\r\n+PONG\r\n+PONG\r\n$5\r\nhello\r\n+OK\r\n:2\r\n$-1\r\n+OK\r\n'

# ---- malformed requests: an error reply, then the server closes -------------
expect_raw "bad bulk length" '*1\r\n$x\r\n' '-ERR Protocol error: invalid bulk length\r\n'
expect_raw "bulk over 512 MiB" '*1\r\n$999999999999\r\n' '-ERR Protocol error: invalid bulk length\r\n'
expect_raw "bad multibulk length" '*abc\r\n' '-ERR Protocol error: invalid multibulk length\r\n'
expect_raw "too many arguments" '*99999999\r\n' '-ERR Protocol error: invalid multibulk length\r\n'
expect_raw "not a bulk string" '*2\r\n$4\r\nECHO\r\n:1\r\n' "-ERR Protocol error: expected '\$', got ':'\r\n"
expect_raw "bulk without CRLF" '*1\r\n$4\r\nPINGxx\r\n' '-ERR Protocol error: bulk string not terminated by CRLF\r\n'
expect_raw "replies before the error still arrive" 'PING\r\n*1\r\n$-3\r\n' '+PONG\r\n-ERR Protocol error: invalid bulk length\r\n'
expect PONG ping # the server is still serving others

# ---- PUBLISH / SUBSCRIBE ---------------------------------------------------------
# redis-cli subscribe in the background (its output to a file is the raw
# form: one line per element).
timeout 60 redis-cli -h 127.0.0.1 -p "$port" subscribe news >"$tmp/sub.out" 2>&1 &
sub_pid=$!
bg_pids+=("$sub_pid")
for _ in $(seq 100); do
    [ "$(sed -n 3p "$tmp/sub.out")" = 1 ] && break
    sleep 0.1
done
[ "$(sed -n 3p "$tmp/sub.out")" = 1 ] || fail "redis-cli subscribe news: no confirmation: $(cat "$tmp/sub.out")"
expect '(integer) 1' publish news hello
expect '(integer) 0' publish nobody-listens hello
for _ in $(seq 50); do
    grep -qx hello "$tmp/sub.out" && break
    sleep 0.1
done
printf 'subscribe\nnews\n1\nmessage\nnews\nhello\n' >"$tmp/sub.want"
cmp -s "$tmp/sub.want" "$tmp/sub.out" ||
    fail "subscriber output: expected $(printf '%q' "$(cat "$tmp/sub.want")"), got $(printf '%q' "$(cat "$tmp/sub.out")")"
ok "redis-cli subscribe news received [message news hello]"
kill "$sub_pid" 2>/dev/null || true
wait "$sub_pid" 2>/dev/null || true
# The server drops the subscription when the subscriber's connection ends.
for _ in $(seq 50); do
    [ "$(cli publish news again)" = '(integer) 0' ] && break
    sleep 0.1
done
expect '(integer) 0' publish news again

# A raw subscriber: several channels, a message, PING and a refused command
# in subscribe mode, UNSUBSCRIBE with and without channels, as Redis replies.
exec 4<>"/dev/tcp/127.0.0.1/$port"
printf 'SUBSCRIBE a b\r\n' >&4
for _ in $(seq 100); do # publishes that reach nobody return 0 and are lost
    [ "$(cli publish a one)" = '(integer) 1' ] && break
    sleep 0.1
done
printf 'PING\r\nGET x\r\nUNSUBSCRIBE b\r\nUNSUBSCRIBE\r\nUNSUBSCRIBE\r\nQUIT\r\n' >&4
timeout 10 cat <&4 >"$tmp/raw.got" || true
exec 4<&-
printf '%b' '*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n' \
'*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$3\r\none\r\n' \
'*2\r\n$4\r\npong\r\n$0\r\n\r\n' \
"-ERR Can't execute 'get': only SUBSCRIBE / UNSUBSCRIBE / PING / QUIT are allowed in this context\r\n" \
'*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:1\r\n*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:0\r\n' \
'*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n+OK\r\n' >"$tmp/raw.want"
if ! cmp -s "$tmp/raw.want" "$tmp/raw.got"; then
    echo "expected bytes:" >&2; od -c "$tmp/raw.want" >&2
    echo "got bytes:" >&2; od -c "$tmp/raw.got" >&2
    fail "raw subscriber: wrong replies"
fi
ok "SUBSCRIBE a b, message, PING, refused GET, UNSUBSCRIBE b, UNSUBSCRIBE, UNSUBSCRIBE"

# ---- redis-benchmark -----------------------------------------------------------
expect OK set counter:__rand_int__ 0
bench() {
    local out
    out=$(timeout 120 redis-benchmark -h 127.0.0.1 -p "$port" -q -n 20000 -c 20 \
          -t set,get,incr,ping "$@" 2>&1 | tr '\r' '\n') || fail "redis-benchmark $* failed: $out"
    if grep -qiE 'error|warning' <<<"$out"; then fail "redis-benchmark $*: $out"; fi
    for t in PING_INLINE PING_MBULK SET GET INCR; do
        line=$(grep -E "^$t: [0-9.]+ requests per second" <<<"$out" | tail -1) ||
            fail "redis-benchmark $*: no result for $t in: $out"
        awk '{ exit !($2 > 0) }' <<<"$line" || fail "redis-benchmark $*: $line"
        ok "redis-benchmark ${*:-(no pipelining)} $line"
    done
}
bench
bench -P 16
# 2 x 20000 INCRs from 20 concurrent clients each: none may be lost.
expect '"40000"' get counter:__rand_int__

# ---- SIGTERM with clients connected -----------------------------------------
exec 5<>"/dev/tcp/127.0.0.1/$port" # an idle client
timeout 60 redis-cli -h 127.0.0.1 -p "$port" subscribe idle >/dev/null 2>&1 &
bg_pids+=("$!")
sleep 0.3
kill -TERM "$server_pid"
for _ in $(seq 600); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$server_pid" 2>/dev/null && fail "the server did not exit within 60 s of SIGTERM"
status=0
wait "$server_pid" || status=$?
server_pid=
exec 5<&-
[ "$status" -eq 0 ] || fail "the server exited with status $status after SIGTERM"
grep -q 'shutting down' "$tmp/server.out" || fail "no shutdown message"
ok "SIGTERM with clients connected: clean exit, status 0"
if [ -s "$tmp/server.err" ]; then
    echo "--- server stderr (not empty):"
    cat "$tmp/server.err"
fi
echo "mini-redis: all checks passed"
