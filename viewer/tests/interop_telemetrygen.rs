//! Interoperability: telemetrygen, the OpenTelemetry Collector's load generator
//! (`cmd/telemetrygen` v0.161.0 of opentelemetry-collector-contrib, built with the Go SDK), sends
//! traces, metrics and logs over OTLP/gRPC and over OTLP/HTTP protobuf (it offers no compression
//! and no JSON), and the store and the report hold exactly what it generated: counts, names,
//! kinds, durations, statuses, attributes, temporalities, severities and bodies. Its delta
//! exponential histograms change scale from point to point: the viewer adds them up at the
//! coarser scale (it used to restart the series at each change of scale).
//! `scripts/test.sh` builds it (`scripts/interop/telemetrygen.sh`) and sets
//! `VIEWER_TEST_TELEMETRYGEN`.

mod interop;

use std::process::Command;
use std::time::Duration;

use viewer::{Config, Viewer};

/// `telemetrygen <signal>` aimed at the viewer's gRPC receiver, or at its HTTP one when `http`,
/// insecure, unthrottled (`--rate 0`), one worker, with `args` after.
fn telemetrygen(bin: &str, viewer: &Viewer, signal: &str, http: bool, args: &[&str]) -> Command {
    let mut command = Command::new(bin);
    command.arg(signal).arg("--otlp-insecure");
    if http {
        command
            .arg("--otlp-http")
            .arg("--otlp-endpoint")
            .arg(viewer.http_addr().to_string());
    } else {
        command
            .arg("--otlp-endpoint")
            .arg(viewer.grpc_addr().to_string());
    }
    command.args(["--rate", "0", "--workers", "1"]).args(args);
    command
}

/// Runs telemetrygen to its end (it prints nothing on stdout: no ids to read).
async fn run(command: Command) {
    let sent = interop::run(command, Duration::from_secs(60)).await;
    assert!(sent.is_empty(), "{sent:?}");
}

/// How many lines of the report are exactly `line`.
fn lines(report: &str, line: &str) -> usize {
    report.lines().filter(|l| *l == line).count()
}

/// The report's totals line.
fn totals(report: &str) -> &str {
    report
        .lines()
        .find(|l| l.starts_with("totals: "))
        .unwrap_or_else(|| panic!("no totals in:\n{report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetrygen_traces_over_grpc_and_http() {
    let Some(bin) = interop::client("VIEWER_TEST_TELEMETRYGEN") else {
        return;
    };
    let viewer = Viewer::start(Config::for_tests()).await.unwrap();
    // 7 traces of a "lets-go" client span with 2 "okey-dokey-N" server children, 10ms each
    // one after the other (the parent spans them: 20ms); status unset.
    run(telemetrygen(
        &bin,
        &viewer,
        "traces",
        false,
        &[
            "--traces",
            "7",
            "--child-spans",
            "2",
            "--span-duration",
            "10ms",
            "--service",
            "tg-traces-grpc",
        ],
    ))
    .await;
    // 3 traces of 1 + 4 spans, 5ms children, every span failed, a resource attribute and an
    // attribute on every span.
    run(telemetrygen(
        &bin,
        &viewer,
        "traces",
        true,
        &[
            "--traces",
            "3",
            "--child-spans",
            "4",
            "--span-duration",
            "5ms",
            "--status-code",
            "Error",
            "--service",
            "tg-traces-http",
            "--otlp-attributes",
            "deployment=\"interop\"",
            "--telemetry-attributes",
            "tier=\"gold\"",
        ],
    ))
    .await;
    viewer.flush().await;
    {
        // Every span with its own attributes and resource, as the span pane shows them.
        let store = viewer.store().lock();
        let (mut grpc, mut http) = (0, 0);
        for r in store.traces_by_arrival() {
            let trace = store.trace(r).unwrap();
            for i in 0..trace.spans().len() {
                let text = viewer::report::span_text(&store, trace, i);
                let has = |s: &str| text.lines().any(|l| l.starts_with(s));
                if text.contains("service.name=tg-traces-grpc") {
                    grpc += 1;
                    assert!(has("  attributes: "), "{text}");
                    assert!(!text.contains("tier="), "{text}");
                    assert!(!text.contains("deployment="), "{text}");
                    assert!(!has("  status "), "{text}");
                } else {
                    http += 1;
                    assert!(text.contains("service.name=tg-traces-http"), "{text}");
                    let attrs = text
                        .lines()
                        .find(|l| l.starts_with("  attributes: "))
                        .unwrap_or_else(|| panic!("{text}"));
                    assert!(attrs.split(' ').any(|w| w == "tier=gold"), "{text}");
                    let resource = text
                        .lines()
                        .find(|l| l.starts_with("  resource: "))
                        .unwrap_or_else(|| panic!("{text}"));
                    assert!(
                        resource.split(' ').any(|w| w == "deployment=interop"),
                        "{text}"
                    );
                    assert!(has("  status error"), "{text}");
                }
            }
        }
        assert_eq!((grpc, http), (7 * 3, 3 * 5));
    }
    let report = viewer.shutdown().await;
    eprintln!("{report}");
    let headers: Vec<&str> = report.lines().filter(|l| l.starts_with("trace ")).collect();
    assert_eq!(headers.len(), 10, "{report}");
    assert_eq!(
        headers
            .iter()
            .filter(|l| l.ends_with(" 3 spans, 1 services, 20.00ms"))
            .count(),
        7,
        "{report}"
    );
    assert_eq!(
        headers
            .iter()
            .filter(|l| l.ends_with(" 5 spans, 1 services, 20.00ms, 5 errors"))
            .count(),
        3,
        "{report}"
    );
    // The trees: the children under their parent, kinds and durations as generated.
    for (line, n) in [
        ("  tg-traces-grpc: lets-go [client] 20.00ms", 7),
        ("    tg-traces-grpc: okey-dokey-0 [server] 10.00ms", 7),
        ("    tg-traces-grpc: okey-dokey-1 [server] 10.00ms", 7),
        ("  tg-traces-http: lets-go [client] 20.00ms ERROR", 3),
        ("    tg-traces-http: okey-dokey-0 [server] 5.00ms ERROR", 3),
        ("    tg-traces-http: okey-dokey-1 [server] 5.00ms ERROR", 3),
        ("    tg-traces-http: okey-dokey-2 [server] 5.00ms ERROR", 3),
        ("    tg-traces-http: okey-dokey-3 [server] 5.00ms ERROR", 3),
    ] {
        assert_eq!(lines(&report, line), n, "`{line}` in:\n{report}");
    }
    assert_eq!(
        totals(&report),
        "totals: 36 spans received, 36 stored, 10 traces, 0 rejected, 0 evicted, 0 duplicates, \
         0 dropped from full traces, 0 metric data points, 0 log records"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetrygen_metrics_over_grpc_and_http() {
    let Some(bin) = interop::client("VIEWER_TEST_TELEMETRYGEN") else {
        return;
    };
    let viewer = Viewer::start(Config::for_tests()).await.unwrap();
    // telemetrygen's i-th point (from 0) of a sum or a gauge has the value i; its histogram
    // points cycle through fixed samples: (count, sum) = (10, 3940), (10, 4455), (10, 5337), ...
    let runs: [(&str, bool, &[&str]); 5] = [
        // Cumulative sum 0, 1, 2, 3, 4 (one start time): the viewer reads the last, 4.
        (
            "tg-metrics-grpc",
            false,
            &[
                "--metric-type",
                "Sum",
                "--aggregation-temporality",
                "cumulative",
                "--otlp-metric-name",
                "tg.sum.cumulative",
            ],
        ),
        // Delta sum 0, 1, 2, 3, 4 (each its own 1s window): the viewer adds them up, 10.
        (
            "tg-metrics-http",
            true,
            &[
                "--metric-type",
                "Sum",
                "--aggregation-temporality",
                "delta",
                "--otlp-metric-name",
                "tg.sum.delta",
                "--telemetry-attributes",
                "tier=\"gold\"",
            ],
        ),
        // Gauge 0..4: the last, 4.
        (
            "tg-gauge-grpc",
            false,
            &["--metric-type", "Gauge", "--otlp-metric-name", "tg.gauge"],
        ),
        // Delta histogram: the first 5 samples added up.
        (
            "tg-histogram-http",
            true,
            &[
                "--metric-type",
                "Histogram",
                "--aggregation-temporality",
                "delta",
                "--otlp-metric-name",
                "tg.histogram",
            ],
        ),
        // Delta exponential histogram of 10 to 29 random values in [0, 1000) per point.
        (
            "tg-exponential-grpc",
            false,
            &[
                "--metric-type",
                "ExponentialHistogram",
                "--aggregation-temporality",
                "delta",
                "--otlp-metric-name",
                "tg.exponential",
            ],
        ),
    ];
    for (service, http, args) in runs {
        let mut command = telemetrygen(
            &bin,
            &viewer,
            "metrics",
            http,
            &["--metrics", "5", "--service", service],
        );
        command.args(args);
        run(command).await;
    }
    viewer.flush().await;
    {
        // No series started over: each delta point was added to the ones before (exponential
        // histograms of different scales too), each cumulative point continued the last.
        let store = viewer.store().lock();
        let m = &store.metrics;
        let mut series = 0;
        for id in 0..m.metrics().len() {
            for (_, s) in m.series_of(u32::try_from(id).unwrap()) {
                series += 1;
                assert_eq!(s.resets, 0, "{}", store.str(m.metrics()[id].name));
            }
        }
        assert_eq!(series, 5);
    }
    let report = viewer.shutdown().await;
    eprintln!("{report}");
    let cases: [(&str, &[&str]); 4] = [
        (
            "metric tg.sum.cumulative counter - tg-metrics-grpc",
            &["(no attributes) 4"],
        ),
        (
            "metric tg.sum.delta counter - tg-metrics-http",
            &["tier=gold 10"],
        ),
        (
            "metric tg.gauge gauge - tg-gauge-grpc",
            &["(no attributes) 4"],
        ),
        (
            "metric tg.histogram histogram - tg-histogram-http",
            // 3940 + 4455 + 5337 + 4477 + 4670; the quantiles checked below.
            &["(no attributes) count=50 sum=22879"],
        ),
    ];
    for (header, want) in cases {
        let mut got = interop::series(&report, header);
        if header.contains("histogram") {
            got = got
                .into_iter()
                .map(|l| l.split(" p50=").next().unwrap())
                .collect();
        }
        assert_eq!(got, want, "{header}:\n{report}");
    }
    // The 5 samples' buckets added up (bounds 0, 5, 10, 25, 50, 75, 100, 250, 500, 750, ...):
    // 2 in (5, 10], 1 in (25, 50], 1 in (50, 75], 11 in (75, 100], 16 in (100, 250], 11 in
    // (250, 500], 8 in (500, 750]: the 25th value is in (100, 250], the 50th in (500, 750].
    let histogram = interop::series(&report, "metric tg.histogram histogram - tg-histogram-http");
    let (p50, p99) = (
        interop::field(histogram[0], "p50"),
        interop::field(histogram[0], "p99"),
    );
    assert!(p50 > 100.0 && p50 <= 250.0, "p50 {p50}: {report}");
    assert!(p99 > 500.0 && p99 <= 750.0, "p99 {p99}: {report}");
    // The exponential histogram's 5 random points added up: 50 to 145 values below 1000.
    let exponential = interop::series(
        &report,
        "metric tg.exponential exphistogram - tg-exponential-grpc",
    );
    assert_eq!(exponential.len(), 1, "{report}");
    let count = interop::field(exponential[0], "count");
    assert!((50.0..=145.0).contains(&count), "{report}");
    let sum = interop::field(exponential[0], "sum");
    assert!(sum >= 0.0 && sum < 999.0 * count, "{report}");
    let (p50, p99) = (
        interop::field(exponential[0], "p50"),
        interop::field(exponential[0], "p99"),
    );
    // At most 8 buckets (telemetrygen's), so the scale is 0 or -1 for values up to 999: the
    // bucket of the largest ends at 1024.
    assert!(p50 >= 0.0 && p50 <= p99 && p99 <= 1024.0, "{report}");
    // Five metrics, nothing else; 5 points each in the totals.
    assert_eq!(
        report.lines().filter(|l| l.starts_with("metric ")).count(),
        5,
        "{report}"
    );
    assert_eq!(
        totals(&report),
        "totals: 0 spans received, 0 stored, 0 traces, 0 rejected, 0 evicted, 0 duplicates, \
         0 dropped from full traces, 25 metric data points, 0 log records"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetrygen_logs_over_grpc_and_http() {
    let Some(bin) = interop::client("VIEWER_TEST_TELEMETRYGEN") else {
        return;
    };
    let viewer = Viewer::start(Config::for_tests()).await.unwrap();
    let (trace, span) = ("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174");
    // 6 warnings with a body of our own, carrying a trace and span id.
    run(telemetrygen(
        &bin,
        &viewer,
        "logs",
        false,
        &[
            "--logs",
            "6",
            "--service",
            "tg-logs-grpc",
            "--body",
            "disk almost full",
            "--severity-number",
            "13",
            "--severity-text",
            "Warn",
            "--trace-id",
            trace,
            "--span-id",
            span,
        ],
    ))
    .await;
    // 4 with telemetrygen's defaults: "the message", INFO (9), no ids.
    run(telemetrygen(
        &bin,
        &viewer,
        "logs",
        true,
        &["--logs", "4", "--service", "tg-logs-http"],
    ))
    .await;
    viewer.flush().await;
    {
        let store = viewer.store().lock();
        let (t, s) = (
            u128::from_str_radix(trace, 16).unwrap(),
            u64::from_str_radix(span, 16).unwrap(),
        );
        assert_eq!(store.logs.of_span(t, s).count(), 6);
    }
    let report = viewer.shutdown().await;
    eprintln!("{report}");
    let logs: Vec<&str> = report.lines().filter(|l| l.starts_with("log ")).collect();
    assert_eq!(logs.len(), 10, "{report}");
    let grpc = format!(" WARN tg-logs-grpc disk almost full trace={trace} span={span}");
    assert_eq!(
        logs.iter().filter(|l| l.ends_with(&grpc)).count(),
        6,
        "{report}"
    );
    assert_eq!(
        logs.iter()
            .filter(|l| l.ends_with(" INFO tg-logs-http the message"))
            .count(),
        4,
        "{report}"
    );
    for l in &logs {
        let time = l.split(' ').nth(1).unwrap();
        assert!(time.len() == 27 && time.ends_with('Z'), "{l}");
    }
    assert!(
        totals(&report).ends_with(" 0 metric data points, 10 log records"),
        "{report}"
    );
}
