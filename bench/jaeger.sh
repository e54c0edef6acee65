#!/usr/bin/env bash
# The viewer as a client of a Jaeger backend (docs/SCALING.md): a local Jaeger v2 with in-memory
# storage (built by scripts/jaeger.sh), TRACES traces of 10 spans and one trace of BIG spans sent
# to it with loadgen; then, ROUNDS times each, the wall time of
#   viewer --headless --jaeger URL --limit TRACES             (list every trace: search + print)
#   viewer --headless --jaeger URL --filter trace=<big id>    (open the big trace by id)
#
#   bench/jaeger.sh                     # TRACES=1000 BIG=10000 ROUNDS=5
set -euo pipefail
cd "$(dirname "$0")/.."

TRACES=${TRACES:-1000}
BIG=${BIG:-10000}
ROUNDS=${ROUNDS:-5}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/viewer-jaeger-bench.XXXXXX")
JAEGER_PID=
cleanup() {
    [[ -n $JAEGER_PID ]] && kill "$JAEGER_PID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

log() { echo "[jaeger.sh] $*" >&2; }
now_ns() { date +%s%N; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 1 400); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return
        sleep 0.025
    done
    log "port $1 never opened"
    exit 1
}

JAEGER=$(scripts/jaeger.sh)
log "building viewer and loadgen (release)..."
cargo build --release -q -p viewer --bin viewer
cargo build --release -q -p demo-client --bin loadgen

OTLP=$(free_port)
OTLP_HTTP=$(free_port)
QUERY=$(free_port)
QUERY_GRPC=$(free_port)
JAEGER_OTLP_GRPC=$OTLP JAEGER_OTLP_HTTP=$OTLP_HTTP JAEGER_QUERY_HTTP=$QUERY JAEGER_QUERY_GRPC=$QUERY_GRPC \
    "$JAEGER" --config scripts/jaeger-memory.yaml >"$TMP/jaeger.log" 2>&1 &
JAEGER_PID=$!
wait_port "$OTLP"
wait_port "$QUERY"
URL="http://127.0.0.1:$QUERY"

log "sending $TRACES traces of 10 spans and one of $BIG spans to Jaeger..."
target/release/loadgen --endpoint "http://127.0.0.1:$OTLP" --traces "$TRACES" --child-spans 9 \
    --attributes 14 >&2
target/release/loadgen --endpoint "http://127.0.0.1:$OTLP" --traces 1 --child-spans "$((BIG - 1))" \
    --attributes 14 --batch-size "$BIG" >&2

# Wait until Jaeger has stored every trace.
want=$((TRACES + 1))
for _ in $(seq 1 100); do
    have=$(target/release/viewer --headless --jaeger "$URL" --limit $((want * 2)) 2>/dev/null | grep -c '^trace ' || true)
    [[ $have -ge $want ]] && break
    sleep 0.2
done
log "Jaeger holds $have traces"
big=$(target/release/viewer --headless --jaeger "$URL" --limit $((want * 2)) --filter "trace.spans>=$BIG" |
    sed -n 's/^trace \([0-9a-f]*\) .*/\1/p' | head -1)
[[ -n $big ]] || { log "no trace of $BIG spans found"; exit 1; }

timed() { # args... -> wall seconds
    local t0 t1
    t0=$(now_ns)
    target/release/viewer --headless --jaeger "$URL" "$@" >"$TMP/out" 2>"$TMP/err"
    t1=$(now_ns)
    awk -v d="$((t1 - t0))" 'BEGIN { printf "%.3f\n", d / 1e9 }'
}
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

list=()
open=()
for _ in $(seq 1 "$ROUNDS"); do
    list+=("$(timed --limit "$want")")
    listed=$(grep -c '^trace ' "$TMP/out")
    open+=("$(timed --filter "trace=$big")")
    spans=$(sed -n 's/^trace [0-9a-f]* \([0-9]*\) spans.*/\1/p' "$TMP/out")
done
echo
echo "Jaeger v2 (in-memory), loopback, $(nproc) cores; wall time of viewer --headless --jaeger, median of $ROUNDS:"
printf "  list every trace (%s listed)     %s s   (runs: %s)\n" "$listed" "$(printf '%s\n' "${list[@]}" | median)" "${list[*]}"
printf "  open a %s-span trace by id   %s s   (runs: %s)\n" "$spans" "$(printf '%s\n' "${open[@]}" | median)" "${open[*]}"
