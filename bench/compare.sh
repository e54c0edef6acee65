#!/usr/bin/env bash
# Side-by-side ingest figures: the viewer against rotel (a Rust OpenTelemetry collector, run with
# its blackhole exporter), under the same load from `loadgen`, in one run.
#
#   bench/compare.sh                 # small (2 attributes), typical (14) and varied spans (typical
#                                    # with per-span values: loadgen --varied), both receivers
#   SPANS=200000 bench/compare.sh    # fewer spans per run
#   ROUNDS=5 bench/compare.sh        # more rounds (default 3; the summary takes medians)
#   VIEWER_BEFORE=path bench/compare.sh  # a third receiver: another viewer binary (e.g. an
#                                    # earlier commit's, built elsewhere), run in turn with the
#                                    # others, and the ratio viewer/before
#   bench/compare.sh sustained       # the viewer alone, in its terminal UI on a pseudo-terminal:
#                                    # fixed rate above its cap, RSS sampled, input latency timed
#   bench/compare.sh logs            # log records (loadgen --signal logs), both receivers;
#                                    # RECORDS=1000000 by default
#   bench/compare.sh metrics         # metric points (loadgen --signal metrics), both receivers;
#                                    # POINTS=1000000 by default
#
# Figures, per receiver and span shape (or signal):
#   spans/cpu-s  spans (records, points) accepted per second of the receiving process's own CPU
#                time (utime+stime from /proc/PID/stat, read before the load and after it settles)
#   B/span       resident memory growth / spans (records, points) accepted (the viewer holds
#                every one: its caps are set above the run's total; rotel holds none)
#   wire B       (logs, metrics) protobuf bytes sent per record or point, uncompressed
#   startup      from exec to the gRPC port accepting connections
# and the binaries' sizes. Loopback only; every run is bounded in items and time.
set -euo pipefail
cd "$(dirname "$0")/.."

SPANS=${SPANS:-1000000}          # spans per run
CHILD_SPANS=${CHILD_SPANS:-9}    # 10-span traces
BATCH=${BATCH:-512}
WORKERS=${WORKERS:-2}
PORT=${PORT:-24317}
RATE=${RATE:-20000}              # sustained mode: spans/s
MINUTES=${MINUTES:-2}            # sustained mode: how long
CAP=${CAP:-1000000}              # sustained mode: the viewer's --max-spans
ROUNDS=${ROUNDS:-3}              # compare, logs, metrics modes: rounds, alternating the receivers
RECORDS=${RECORDS:-1000000}      # logs mode: log records per run
RECORDS_PER_TRACE=${RECORDS_PER_TRACE:-5}
LOG_ATTRIBUTES=${LOG_ATTRIBUTES:-5}
POINTS=${POINTS:-1000000}        # metrics mode: points per run
METRICS=${METRICS:-16}           # metrics mode: metrics per request...
SERIES=${SERIES:-32}             # ...of this many series each, per loadgen worker
VENV=target/bench-venv
TICK=$(getconf CLK_TCK)

log() { echo "$*" >&2; }

build() {
    log "building viewer and loadgen (release)..."
    cargo build --release -q -p viewer --bin viewer
    cargo build --release -q -p demo-client --bin loadgen
}

venv() {
    if [[ ! -x $VENV/bin/python ]]; then
        python3 -m venv "$VENV"
    fi
}

rotel_bin() {
    venv
    if ! "$VENV/bin/python" -c 'import rotel' 2>/dev/null; then
        log "installing rotel from PyPI into $VENV (pre-release versions only)..."
        "$VENV/bin/pip" install -q --pre rotel
    fi
    "$VENV/bin/python" -c 'import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), "rotel-agent"))'
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
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

# Waits until the process's CPU time stops moving (queued work done), at most 20 s.
wait_settled() {
    local last now i
    last=$(cpu_ticks "$1")
    for i in $(seq 1 100); do
        sleep 0.2
        now=$(cpu_ticks "$1")
        if ((now == last)); then
            return
        fi
        last=$now
    done
}

start_receiver() { # name -> sets PID, STARTUP_MS
    local t0
    t0=$(now_ns)
    case $1 in
    before)
        # In the logs and metrics modes with the viewer's caps (BEFORE_FLAGS); in the spans
        # comparison with --max-spans only, so a binary from before those flags runs too.
        # shellcheck disable=SC2086 # BEFORE_FLAGS is words or nothing
        "$VIEWER_BEFORE" --headless --grpc-addr "127.0.0.1:$PORT" \
            --http-addr "127.0.0.1:$((PORT + 1))" --max-spans "${2:-$((SPANS * 2))}" \
            ${BEFORE_FLAGS:-} >/dev/null &
        ;;
    viewer)
        # Every cap above what a run sends: the viewer holds all of it.
        target/release/viewer --headless --grpc-addr "127.0.0.1:$PORT" \
            --http-addr "127.0.0.1:$((PORT + 1))" --max-spans "${2:-$((SPANS * 2))}" \
            --max-logs "$((RECORDS * 2))" --max-series 100000 --max-points 100000 \
            --max-memory-mb 16384 >/dev/null &
        ;;
    rotel)
        "$ROTEL" start --otlp-grpc-endpoint "127.0.0.1:$PORT" \
            --otlp-http-endpoint "127.0.0.1:$((PORT + 1))" --exporter blackhole \
            --pid-file "target/rotel-bench.pid" --log-file "target/rotel-bench.log" >/dev/null 2>&1 &
        ;;
    esac
    PID=$!
    wait_port "$PORT"
    STARTUP_MS=$(((($(now_ns) - t0)) / 1000000))
}

stop_receiver() {
    kill -9 "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
}

loadgen() {
    target/release/loadgen --endpoint "http://127.0.0.1:$PORT" --workers "$WORKERS" \
        --batch-size "$BATCH" --child-spans "$CHILD_SPANS" "$@"
}

accepted_of() { sed -n 's/.*accepted \([0-9]*\),.*/\1/p' <<<"$1"; }
refused_of() { sed -n 's/.*refused \([0-9]*\),.*/\1/p' <<<"$1"; }
sent_of() { sed -n 's/^sent \([0-9]*\) .*/\1/p' <<<"$1"; }
bytes_of() { sed -n 's/.* requests (\([0-9]*\) bytes).*/\1/p' <<<"$1"; }

compare() {
    ROTEL=$(rotel_bin)
    build
    local traces=$((SPANS / (CHILD_SPANS + 1)))
    local rows=() round
    # Rounds alternate the receivers, so a burst of other work on the shared cores hits both;
    # the summary takes each receiver's median round.
    for round in $(seq 1 "$ROUNDS"); do
        # name:attributes[:loadgen flag]; "varied" is typical with per-span values
        for shape in small:2 typical:14 varied:14:--varied; do
            local name attrs flag
            IFS=: read -r name attrs flag <<<"$shape"
            for rx in viewer rotel ${VIEWER_BEFORE:+before}; do
                start_receiver "$rx"
                sleep 0.5
                local rss0 cpu0 out accepted refused cpu1 rss1
                rss0=$(rss_kib "$PID")
                cpu0=$(cpu_ticks "$PID")
                # shellcheck disable=SC2086 # $flag is one word or none
                out=$(loadgen --traces "$traces" --attributes "$attrs" $flag)
                wait_settled "$PID"
                cpu1=$(cpu_ticks "$PID")
                rss1=$(rss_kib "$PID")
                accepted=$(accepted_of "$out")
                refused=$(refused_of "$out")
                log "round $round, $rx $name: $out"
                stop_receiver
                if [[ $accepted != "$((traces * (CHILD_SPANS + 1)))" ]]; then
                    log "$rx accepted ${accepted:-no} spans of $((traces * (CHILD_SPANS + 1)))"
                    exit 1
                fi
                rows+=("$(awk -v rx="$rx" -v shape="$name" -v a="$accepted" -v r="$refused" \
                    -v c="$((cpu1 - cpu0))" -v t="$TICK" -v m="$((rss1 - rss0))" -v s="$STARTUP_MS" \
                    -v n="$round" \
                    'BEGIN { cs = c / t; printf "%-8s %-8s %5d %10d %8d %8.2f %12.0f %8.0f %8d\n",
                             rx, shape, n, a, r, cs, (cs > 0 ? a / cs : 0), (a > 0 ? m * 1024 / a : 0), s }')")
            done
        done
    done
    local vsize rsize vstripped
    vsize=$(stat -c %s target/release/viewer)
    rsize=$(stat -c %s "$ROTEL")
    strip -o target/viewer-stripped target/release/viewer
    vstripped=$(stat -c %s target/viewer-stripped)
    echo
    echo "$(nproc) cores; $SPANS spans per run in $((CHILD_SPANS + 1))-span traces, $BATCH-span requests, $WORKERS loadgen workers, gRPC, $ROUNDS round(s)"
    printf "%-8s %-8s %5s %10s %8s %8s %12s %8s %8s\n" receiver spans round accepted refused cpu-s spans/cpu-s B/span startup
    printf "%s\n" "${rows[@]}"
    echo
    echo "binary size: viewer $vsize bytes ($vstripped stripped), rotel-agent $rsize bytes ($("$ROTEL" --version))"
    echo "median spans per CPU-second over $ROUNDS round(s), and the ratio viewer/rotel${VIEWER_BEFORE:+ (and viewer/before: $VIEWER_BEFORE)}:"
    printf "%s\n" "${rows[@]}" | sort -k1,1 -k2,2 -k7,7n | awk '
        { key = $1 "/" $2; n[key]++; v[key, n[key]] = $7; shapes[$2] = 1 }
        function median(k) { c = n[k]; return c % 2 ? v[k, (c + 1) / 2] : (v[k, c / 2] + v[k, c / 2 + 1]) / 2 }
        END { for (s in shapes) { vm = median("viewer/" s); rm = median("rotel/" s)
              printf "  %-8s viewer %9.0f  rotel %9.0f  ratio %.2f", s, vm, rm, (rm > 0 ? vm / rm : 0)
              if (n["before/" s] > 0) { bm = median("before/" s); printf "  before %9.0f  viewer/before %.2f", bm, (bm > 0 ? vm / bm : 0) }
              printf "\n" } }'
}

# One receiver under one load: appends a row to ROWS. Args: receiver, label, round, expected
# count, then loadgen's arguments.
measure() {
    local rx=$1 label=$2 round=$3 want=$4
    shift 4
    start_receiver "$rx"
    sleep 0.5
    local rss0 cpu0 out accepted refused cpu1 rss1 sent bytes
    rss0=$(rss_kib "$PID")
    cpu0=$(cpu_ticks "$PID")
    out=$(loadgen "$@")
    wait_settled "$PID"
    cpu1=$(cpu_ticks "$PID")
    rss1=$(rss_kib "$PID")
    accepted=$(accepted_of "$out")
    refused=$(refused_of "$out")
    sent=$(sent_of "$out")
    bytes=$(bytes_of "$out")
    log "round $round, $rx $label: $out"
    stop_receiver
    if [[ $accepted != "$want" ]]; then
        log "$rx accepted ${accepted:-no} $label of $want"
        exit 1
    fi
    ROWS+=("$(awk -v rx="$rx" -v shape="$label" -v a="$accepted" -v r="$refused" \
        -v c="$((cpu1 - cpu0))" -v t="$TICK" -v m="$((rss1 - rss0))" -v s="$STARTUP_MS" \
        -v n="$round" -v w="$bytes" -v sent="$sent" \
        'BEGIN { cs = c / t; printf "%-8s %-8s %5d %10d %8d %8.2f %12.0f %8.0f %8.0f %8d\n",
                 rx, shape, n, a, r, cs, (cs > 0 ? a / cs : 0), (a > 0 ? m * 1024 / a : 0),
                 (sent > 0 ? w / sent : 0), s }')")
}

# Log records or metric points, both receivers, ROUNDS rounds alternating them.
signal() {
    local what=$1 unit label want
    local args=()
    case $what in
    logs)
        local traces=$((RECORDS / RECORDS_PER_TRACE))
        want=$((traces * RECORDS_PER_TRACE))
        unit=records
        label=logs
        args=(--signal logs --traces "$traces" --attributes "$LOG_ATTRIBUTES")
        CHILD_SPANS=$((RECORDS_PER_TRACE - 1))
        ;;
    metrics)
        local per=$((METRICS * SERIES))
        local requests=$(((POINTS + per - 1) / per))
        want=$((requests * per))
        unit=points
        label=metrics
        args=(--signal metrics --requests "$requests" --metrics "$METRICS" --series "$SERIES")
        ;;
    esac
    ROTEL=$(rotel_bin)
    build
    BEFORE_FLAGS="--max-logs $((RECORDS * 2)) --max-series 100000 --max-points 100000 --max-memory-mb 16384"
    ROWS=()
    local round rx
    for round in $(seq 1 "$ROUNDS"); do
        for rx in viewer rotel ${VIEWER_BEFORE:+before}; do
            measure "$rx" "$label" "$round" "$want" "${args[@]}"
        done
    done
    echo
    case $what in
    logs)
        echo "$(nproc) cores; $want log records per run ($RECORDS_PER_TRACE per trace, $LOG_ATTRIBUTES attributes, bodies of 40-80 characters), $BATCH-record requests, $WORKERS loadgen workers, gRPC, $ROUNDS round(s)"
        ;;
    metrics)
        echo "$(nproc) cores; $want metric points per run ($METRICS metrics of $SERIES series per worker: $((METRICS * SERIES * WORKERS)) series; counters, gauges, histograms), $((METRICS * SERIES))-point requests, $WORKERS loadgen workers, gRPC, $ROUNDS round(s)"
        ;;
    esac
    printf "%-8s %-8s %5s %10s %8s %8s %12s %8s %8s %8s\n" receiver signal round accepted refused cpu-s "$unit/cpu-s" "B/${unit%s}" "wire B" startup
    printf "%s\n" "${ROWS[@]}"
    echo
    echo "median $unit per CPU-second over $ROUNDS round(s), and the ratio viewer/rotel (of the medians, and the median of each round's); the viewer's resident growth per ${unit%s} held against the wire size:"
    printf "%s\n" "${ROWS[@]}" | awk '{ r[$1, $3] = $7; rounds = $3 > rounds ? $3 : rounds }
        END { for (i = 1; i <= rounds; i++) if (r["rotel", i] > 0) print "ratio", r["viewer", i] / r["rotel", i]
              for (i = 1; i <= rounds; i++) if (r["before", i] > 0) print "before_ratio", r["viewer", i] / r["before", i] }' |
        sort -k1,1 -k2,2n >"target/bench-ratios.txt"
    printf "%s\n" "${ROWS[@]}" | sort -k1,1 -k7,7n | awk -v ratios="target/bench-ratios.txt" '
        { n[$1]++; v[$1, n[$1]] = $7; b[$1, n[$1]] = $8; wire = $9 }
        function median(k) { c = n[k]; return c % 2 ? v[k, (c + 1) / 2] : (v[k, c / 2] + v[k, c / 2 + 1]) / 2 }
        END { while ((getline line < ratios) > 0) { split(line, f, " "); n[f[1]]++; v[f[1], n[f[1]]] = f[2] }
              vm = median("viewer"); rm = median("rotel")
              printf "  viewer %9.0f  rotel %9.0f  ratio %.2f (median of the rounds: %.2f)\n", vm, rm, (rm > 0 ? vm / rm : 0), median("ratio")
              if (n["before"] > 0) { bm = median("before")
                  printf "  before %9.0f  viewer/before %.2f (median of the rounds: %.2f)\n", bm, vm / bm, median("before_ratio") }
              lo = hi = b["viewer", 1]; for (i = 2; i <= n["viewer"]; i++) { x = b["viewer", i]; if (x < lo) lo = x; if (x > hi) hi = x }
              printf "  viewer memory %.0f-%.0f B per held item; wire %.0f B per item\n", lo, hi, wire }'
}

sustained() {
    build
    venv
    if ! "$VENV/bin/python" -c 'import pyte' 2>/dev/null; then
        log "installing pyte (a terminal screen model) from PyPI into $VENV..."
        "$VENV/bin/pip" install -q pyte
    fi
    local total=$((RATE * MINUTES * 60))
    log "viewer (terminal UI), --max-spans $CAP, $RATE spans/s of typical spans for $MINUTES min ($total spans)"
    # The viewer runs in its terminal UI on a pseudo-terminal, where input_latency.py types a
    # key every half second and times how long until its effect is on the screen.
    rm -f target/viewer.pid
    local t0
    t0=$(now_ns)
    "$VENV/bin/python" bench/input_latency.py --duration "$((MINUTES * 60 + 5))" \
        --pid-file target/viewer.pid -- target/release/viewer --grpc-addr "127.0.0.1:$PORT" \
        --http-addr "127.0.0.1:$((PORT + 1))" --max-spans "$CAP" >target/latency.out &
    local driver=$!
    wait_port "$PORT"
    STARTUP_MS=$(((($(now_ns) - t0)) / 1000000))
    PID=$(cat target/viewer.pid)
    echo "startup ${STARTUP_MS} ms (under the driver); RSS every 10 s (KiB):"
    loadgen --rate "$RATE" --duration "${MINUTES}m" --attributes 14 >target/sustained.out &
    local lg=$! t=0
    while kill -0 "$lg" 2>/dev/null; do
        printf "  t=%4ds rss=%8d KiB cpu=%6.1fs\n" "$t" "$(rss_kib "$PID")" \
            "$(awk -v c="$(cpu_ticks "$PID")" -v t="$TICK" 'BEGIN { print c / t }')"
        sleep 10
        t=$((t + 10))
    done
    wait "$lg" || true
    cat target/sustained.out
    wait "$driver" || true
    cat target/latency.out
}

case ${1:-compare} in
compare) compare ;;
sustained) sustained ;;
logs | metrics) signal "$1" ;;
*)
    echo "usage: $0 [compare|sustained|logs|metrics]" >&2
    exit 2
    ;;
esac
