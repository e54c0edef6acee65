#!/usr/bin/env bash
# Side-by-side ingest figures: the viewer against rotel (a Rust OpenTelemetry collector, run with
# its blackhole exporter), Jaeger v2 with in-memory storage (built from the Go module proxy by
# scripts/jaeger.sh) and otel-tui (installed from the Go module proxy by name, with Debian's X11
# headers, run on a pseudo-terminal; where the proxy refuses it, the script says so and goes on
# without it), under the same load from `loadgen`, in one run.
#
#   bench/compare.sh                 # small (2 attributes), typical (14) and varied spans (typical
#                                    # with per-span values: loadgen --varied), every receiver
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
#   bench/compare.sh listed          # the viewer (terminal UI on a pseudo-terminal), Jaeger (its
#                                    # query API) and otel-tui: a burst of BURST typical spans,
#                                    # then one trace of service "marker": ms from that last
#                                    # send's acknowledgement until it is listed; then, for the
#                                    # terminal UIs, key-to-screen latency under RATE spans/s
#   PEERS="rotel jaeger" bench/compare.sh  # which peers run beside the viewer (default: rotel
#                                    # jaeger otel-tui; Jaeger needs Go, and takes no logs)
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
BURST=${BURST:-200000}           # listed mode: spans in the burst
LISTED_SECONDS=${LISTED_SECONDS:-20}  # listed mode: seconds of key sampling under RATE
PEERS=${PEERS:-rotel jaeger otel-tui}
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

# Jaeger v2 (scripts/jaeger.sh builds it with Go); fails without Go.
jaeger_bin() {
    command -v go >/dev/null 2>&1 || { log "no Go: Jaeger is not measured"; return 1; }
    scripts/jaeger.sh
}

# otel-tui, installed from the Go module proxy by name (its clipboard needs Debian's X11
# headers); fails, saying why, where it cannot be installed. OTEL_TUI=path uses a binary as is.
oteltui_bin() {
    if [[ -n ${OTEL_TUI:-} ]]; then
        echo "$OTEL_TUI"
        return
    fi
    local dir=target/otel-tui-tool
    if [[ ! -x $dir/otel-tui ]]; then
        command -v go >/dev/null 2>&1 || { log "no Go: otel-tui is not measured"; return 1; }
        if ! dpkg -s libx11-dev >/dev/null 2>&1; then
            log "installing Debian's libx11-dev (otel-tui's clipboard)..."
            local sudo=; [[ $(id -u) -eq 0 ]] || sudo=sudo
            $sudo apt-get install -y -q libx11-dev >&2 || { log "libx11-dev could not be installed: otel-tui is not measured"; return 1; }
        fi
        log "installing otel-tui (github.com/ymtdzzz/otel-tui@${OTEL_TUI_VERSION:-latest}) from the Go module proxy..."
        mkdir -p "$dir"
        if ! (cd "$dir" && { [[ -f go.mod ]] || go mod init oteltuitool; } &&
            go get -tool "github.com/ymtdzzz/otel-tui@${OTEL_TUI_VERSION:-latest}" &&
            go build -o otel-tui github.com/ymtdzzz/otel-tui) >"$dir/install.log" 2>&1; then
            log "otel-tui could not be installed, so it is not measured; the Go module proxy said:"
            grep -m 2 -E 'proxy|error|not available' "$dir/install.log" | sed 's/^/    /' >&2 || tail -2 "$dir/install.log" >&2
            return 1
        fi
    fi
    echo "$PWD/$dir/otel-tui"
}

# The peers of PEERS that can run here, each checked once: sets RECEIVERS (viewer first).
peers() {
    RECEIVERS=(viewer)
    local p
    for p in $PEERS; do
        case $p in
        rotel) ROTEL=$(rotel_bin) && RECEIVERS+=(rotel) ;;
        jaeger) if JAEGER=$(jaeger_bin); then RECEIVERS+=(jaeger); fi ;;
        otel-tui) if OTELTUI=$(oteltui_bin); then RECEIVERS+=(otel-tui); fi ;;
        *) log "unknown peer $p (rotel, jaeger, otel-tui)"; exit 2 ;;
        esac
    done
    if [[ -n ${VIEWER_BEFORE:-} ]]; then RECEIVERS+=(before); fi
    log "receivers: ${RECEIVERS[*]}"
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
    jaeger)
        # In-memory storage holding every trace a run sends (scripts/jaeger-memory.yaml).
        JAEGER_OTLP_GRPC=$PORT JAEGER_OTLP_HTTP=$((PORT + 1)) JAEGER_QUERY_HTTP=$((PORT + 2)) \
            JAEGER_QUERY_GRPC=$((PORT + 3)) JAEGER_MAX_TRACES=$((SPANS + BURST + RECORDS)) \
            "$JAEGER" --config scripts/jaeger-memory.yaml >target/jaeger-bench.log 2>&1 &
        ;;
    otel-tui)
        # A terminal UI: on a pseudo-terminal, its screen read (and dropped) by input_latency.py
        # until it is killed; PID is otel-tui's own, from the pid file.
        venv_pyte
        rm -f target/otel-tui.pid
        "$VENV/bin/python" bench/input_latency.py --duration 0 --hold 100000 \
            --pid-file target/otel-tui.pid -- "$OTELTUI" --host 127.0.0.1 --grpc "$PORT" \
            --http "$((PORT + 1))" >/dev/null 2>&1 &
        until [[ -s target/otel-tui.pid ]]; do sleep 0.01; done
        wait_port "$PORT"
        PID=$(cat target/otel-tui.pid)
        STARTUP_MS=$(((($(now_ns) - t0)) / 1000000))
        return
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
    peers
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
            for rx in "${RECEIVERS[@]}"; do
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
    local vsize vstripped
    vsize=$(stat -c %s target/release/viewer)
    strip -o target/viewer-stripped target/release/viewer
    vstripped=$(stat -c %s target/viewer-stripped)
    echo
    echo "$(nproc) cores; $SPANS spans per run in $((CHILD_SPANS + 1))-span traces, $BATCH-span requests, $WORKERS loadgen workers, gRPC, $ROUNDS round(s)"
    printf "%-8s %-8s %5s %10s %8s %8s %12s %8s %8s\n" receiver spans round accepted refused cpu-s spans/cpu-s B/span startup
    printf "%s\n" "${rows[@]}"
    echo
    echo "binary size: viewer $vsize bytes ($vstripped stripped)${ROTEL:+, rotel-agent $(stat -c %s "$ROTEL") bytes ($("$ROTEL" --version))}${JAEGER:+, jaeger $(stat -c %s "$JAEGER") bytes}${OTELTUI:+, otel-tui $(stat -c %s "$OTELTUI") bytes}"
    echo "medians over $ROUNDS round(s): spans per CPU-second and resident growth per span held (rotel holds none); the viewer's rate as a multiple of each peer's, and its memory as a fraction of theirs:"
    printf "%s\n" "${rows[@]}" | summary
}

# The medians of rows (receiver, shape, round, accepted, refused, cpu-s, items/cpu-s, B/item,
# ...) on stdin, per shape: each receiver's rate and memory, and the viewer against each peer.
summary() {
    awk '
        function med(arr, key, c,    i, j, t, a) {
            for (i = 1; i <= c; i++) a[i] = arr[key, i]
            for (i = 2; i <= c; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
            return c % 2 ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
        }
        { k = $2 SUBSEP $1; c = ++n[k]; r[k, c] = $7; b[k, c] = $8
          if (!($2 in seen)) { seen[$2] = 1; order[++ns] = $2 }
          if (!($1 in rseen)) { rseen[$1] = 1; rorder[++nr] = $1 } }
        END { for (i = 1; i <= ns; i++) { s = order[i]; kv = s SUBSEP "viewer"
                vr = med(r, kv, n[kv]); vb = med(b, kv, n[kv])
                printf "  %-8s viewer %9.0f/cpu-s %6.0f B", s, vr, vb
                for (j = 1; j <= nr; j++) { x = rorder[j]; k = s SUBSEP x
                    if (x == "viewer" || !(k in n)) continue
                    pr = med(r, k, n[k]); pb = med(b, k, n[k])
                    printf " | %s %9.0f/cpu-s (viewer %.2fx)", x, pr, (pr > 0 ? vr / pr : 0)
                    if (x != "rotel") printf " %6.0f B (viewer %.2f of it)", pb, (pb > 0 ? vb / pb : 0) }
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
    peers
    build
    BEFORE_FLAGS="--max-logs $((RECORDS * 2)) --max-series 100000 --max-points 100000 --max-memory-mb 16384"
    ROWS=()
    local round rx
    for round in $(seq 1 "$ROUNDS"); do
        for rx in "${RECEIVERS[@]}"; do
            # Jaeger stores traces only.
            [[ $rx == jaeger ]] && continue
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
    echo "medians of every receiver (Jaeger takes no $what):"
    printf "%s\n" "${ROWS[@]}" | summary
}

venv_pyte() {
    venv
    if ! "$VENV/bin/python" -c 'import pyte' 2>/dev/null; then
        log "installing pyte (a terminal screen model) from PyPI into $VENV..."
        "$VENV/bin/pip" install -q pyte
    fi
}

sustained() {
    build
    venv_pyte
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

# Time until listed, and key-to-screen latency under load, for receivers that list traces.
listed() {
    peers
    build
    venv_pyte
    local traces=$((BURST / (CHILD_SPANS + 1))) round rx out ms t0 rows=()
    local lg="target/release/loadgen --endpoint http://127.0.0.1:$PORT"
    # The burst as fast as the receiver takes it, then one trace of service "marker": the last
    # send. Then, for the terminal UIs, a steady load while keys are typed.
    local burst="$lg --workers $WORKERS --batch-size $BATCH --child-spans $CHILD_SPANS --attributes 14 --traces $traces >/dev/null && $lg --traces 1 --service marker >/dev/null"
    local steady="$lg --rate $RATE --duration ${LISTED_SECONDS}s --child-spans $CHILD_SPANS --attributes 14 >/dev/null"
    for round in $(seq 1 "$ROUNDS"); do
        for rx in "${RECEIVERS[@]}"; do
            case $rx in
            viewer | otel-tui)
                local cmd=(target/release/viewer --grpc-addr "127.0.0.1:$PORT" --http-addr "127.0.0.1:$((PORT + 1))" --max-spans $((BURST * 2 + RATE * LISTED_SECONDS * 2)))
                local keys=()
                if [[ $rx == otel-tui ]]; then
                    cmd=("$OTELTUI" --host 127.0.0.1 --grpc "$PORT" --http "$((PORT + 1))")
                    # otel-tui's help: OTEL_TUI_KEY typed until OTEL_TUI_EXPECT is on the screen.
                    keys=(--key "${OTEL_TUI_KEY:-?}" --expect "${OTEL_TUI_EXPECT:-Help}" --close-key "${OTEL_TUI_CLOSE:-$'\e'}" --quit-key $'\x03')
                fi
                out=$("$VENV/bin/python" bench/input_latency.py --warm-up 2 "${keys[@]}" --before "$burst" \
                    --listed marker --during "$steady" --duration "$LISTED_SECONDS" -- "${cmd[@]}") || true
                log "round $round, $rx: $out"
                ms=$(sed -n 's/^listed: \([0-9.]*\) ms.*/\1/p' <<<"$out")
                rows+=("$(printf "%-8s %5d %10s  %s" "$rx" "$round" "${ms:-never}" "$(sed -n 's/^input to frame.*samples, \(.*\)$/\1/p' <<<"$out")")")
                ;;
            jaeger)
                start_receiver jaeger
                sleep 0.5
                eval "$burst"
                t0=$(now_ns)
                # What Jaeger's UI asks for its trace list.
                local url="http://127.0.0.1:$((PORT + 2))/api/traces?service=marker&limit=20&lookback=1h"
                ms=never
                while (($(now_ns) - t0 < 300000000000)); do
                    if curl -sf "$url" | grep -q '"traceID"'; then
                        ms=$(awk -v d="$(($(now_ns) - t0))" 'BEGIN { printf "%.1f", d / 1e6 }')
                        break
                    fi
                    sleep 0.005
                done
                stop_receiver
                log "round $round, jaeger: listed after $ms ms"
                rows+=("$(printf "%-8s %5d %10s  %s" jaeger "$round" "$ms" "(no terminal UI)")")
                ;;
            esac
        done
    done
    echo
    echo "$(nproc) cores; a burst of $BURST typical spans ($((CHILD_SPANS + 1))-span traces, 14 attributes, $WORKERS loadgen workers as fast as acknowledged), then one trace of service \"marker\"; keys typed for ${LISTED_SECONDS} s under $RATE spans/s; $ROUNDS round(s)"
    printf "%-8s %5s %10s  %s\n" receiver round listed-ms "key-to-screen (terminal UIs)"
    printf "%s\n" "${rows[@]}"
    if printf "%s\n" "${rows[@]}" | grep -q ' never '; then
        log "a marker trace was never listed"
        exit 1
    fi
}

case ${1:-compare} in
compare) compare ;;
listed) listed ;;
sustained) sustained ;;
logs | metrics) signal "$1" ;;
*)
    echo "usage: $0 [compare|sustained|logs|metrics|listed]" >&2
    exit 2
    ;;
esac
