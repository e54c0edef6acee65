#!/usr/bin/env bash
# Files and persistence figures, in one run:
#   - loading a file of SPANS spans (typical: 14 attributes, 10-span traces) as OTLP JSON lines,
#     gzip-compressed JSON lines, and a data directory (length-prefixed protobuf): wall time,
#     CPU time and spans per second of `viewer --headless --no-listen`;
#   - ingest with and without --data-dir (every request written before it is acknowledged) and
#     with --save (JSON lines): spans per CPU-second of the viewer and loadgen's send rate,
#     ROUNDS rounds alternating the three.
#
#   bench/files.sh                   # SPANS=1000000 ROUNDS=3
#   SPANS=100000 ROUNDS=1 bench/files.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SPANS=${SPANS:-1000000}
ROUNDS=${ROUNDS:-3}
WORKERS=${WORKERS:-4}
PORT=${PORT:-14417}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/viewer-files-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
TICK=$(getconf CLK_TCK)
TRACES=$((SPANS / 10))

log() { echo "[files.sh] $*" >&2; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
now_ns() { date +%s%N; }

wait_port() {
    local deadline=$(($(now_ns) + 10000000000))
    until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
        if (($(now_ns) > deadline)); then
            log "port $1 never opened"
            return 1
        fi
        sleep 0.005
    done
}

wait_settled() {
    local last now
    last=$(cpu_ticks "$1")
    for _ in $(seq 1 100); do
        sleep 0.2
        now=$(cpu_ticks "$1")
        if ((now == last)); then
            return
        fi
        last=$now
    done
}

loadgen() {
    target/release/loadgen --endpoint "http://127.0.0.1:$PORT" --workers "$WORKERS" \
        --child-spans 9 --attributes 14 --traces "$TRACES"
}

# The viewer receiving SPANS spans with extra flags; prints "cpu-seconds send-rate".
receive() {
    target/release/viewer --headless --grpc-addr "127.0.0.1:$PORT" \
        --http-addr "127.0.0.1:$((PORT + 1))" --max-spans "$((SPANS * 2))" \
        --max-memory-mb 16384 "$@" >/dev/null &
    local pid=$!
    wait_port "$PORT"
    local cpu0 out cpu1
    cpu0=$(cpu_ticks "$pid")
    out=$(loadgen)
    wait_settled "$pid"
    cpu1=$(cpu_ticks "$pid")
    kill -INT "$pid"
    wait "$pid" || true
    local accepted rate
    accepted=$(sed -n 's/.*accepted \([0-9]*\),.*/\1/p' <<<"$out")
    rate=$(sed -n 's/.* \([0-9.]*\) spans\/s.*/\1/p' <<<"$out" | head -1)
    if [[ $accepted != "$SPANS" ]]; then
        log "accepted ${accepted:-none} of $SPANS: $out"
        exit 1
    fi
    awk -v c="$((cpu1 - cpu0))" -v t="$TICK" -v r="${rate:-0}" 'BEGIN { printf "%.2f %s\n", c / t, r }'
}

# Loads files with --no-listen; prints "wall-seconds cpu-seconds".
load() {
    local t0 t1
    t0=$(now_ns)
    local times TIMEFORMAT="%U %S"
    times=$( { time target/release/viewer --headless --no-listen \
        --max-spans "$((SPANS * 2))" --max-memory-mb 16384 "$@" >/dev/null 2>&1; } 2>&1 | tail -1)
    t1=$(now_ns)
    awk -v w="$((t1 - t0))" -v u="${times% *}" -v s="${times#* }" \
        'BEGIN { printf "%.2f %.2f\n", w / 1e9, u + s }'
}

log "building viewer and loadgen (release)..."
cargo build --release -q -p viewer --bin viewer
cargo build --release -q -p demo-client --bin loadgen

log "recording $SPANS spans into a --save file and a --data-dir..."
receive --save "$TMP/spans.jsonl" --save-max-mb 100000 --data-dir "$TMP/data" \
    --data-max-mb 100000 >/dev/null
gzip -k -1 "$TMP/spans.jsonl"
ls -l "$TMP"/spans.jsonl* >&2
du -sh "$TMP/data" >&2

echo
echo "loading $SPANS typical spans ($TRACES traces), $(nproc) cores:"
printf "  %-28s %8s %8s %12s %10s\n" file wall-s cpu-s spans/wall-s MB
for what in "spans.jsonl" "spans.jsonl.gz" "data"; do
    if [[ $what == data ]]; then
        args=(--data-dir "$TMP/data")
        size=$(du -sm "$TMP/data" | cut -f1)
        label="--data-dir (protobuf)"
    else
        args=("$TMP/$what")
        size=$(du -m "$TMP/$what" | cut -f1)
        label=$what
    fi
    read -r wall cpu < <(load "${args[@]}")
    awk -v l="$label" -v w="$wall" -v c="$cpu" -v n="$SPANS" -v m="$size" \
        'BEGIN { printf "  %-28s %8.2f %8.2f %12.0f %10d\n", l, w, c, n / w, m }'
done

echo
echo "ingest of $SPANS typical spans, $WORKERS loadgen workers, gRPC, $ROUNDS round(s) (median):"
declare -A cpu rate
for round in $(seq 1 "$ROUNDS"); do
    for mode in plain data-dir save; do
        case $mode in
        plain) args=() ;;
        data-dir) rm -rf "$TMP/ingest-data"; args=(--data-dir "$TMP/ingest-data" --data-max-mb 100000) ;;
        save) rm -f "$TMP/ingest.jsonl"; args=(--save "$TMP/ingest.jsonl" --save-max-mb 100000) ;;
        esac
        read -r c r < <(receive "${args[@]}")
        log "round $round, $mode: $c cpu-s, send rate $r spans/s"
        cpu[$mode]+="$c "
        rate[$mode]+="$r "
    done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
base=$(median <<<"${cpu[plain]}")
printf "  %-10s %8s %14s %14s %10s\n" mode cpu-s spans/cpu-s send-spans/s cpu/plain
for mode in plain data-dir save; do
    c=$(median <<<"${cpu[$mode]}")
    r=$(median <<<"${rate[$mode]}")
    awk -v m="$mode" -v c="$c" -v r="$r" -v n="$SPANS" -v b="$base" \
        'BEGIN { printf "  %-10s %8.2f %14.0f %14.0f %10.2f\n", m, c, n / c, r, c / b }'
done
