//! Interoperability: the official Python OpenTelemetry SDK (from PyPI) exports traces, metrics
//! and logs to the viewer over OTLP/gRPC and OTLP/HTTP (metrics cumulative over one, delta over
//! the other), and the report shows the values sent, the logs with their spans' ids.
//! `scripts/test.sh` makes the virtualenv and sets `VIEWER_TEST_PYTHON`; without it the test is
//! skipped, except under CI, where it fails.

use std::process::Command;

use viewer::{Config, Viewer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_exports_all_three_signals_over_grpc_and_http() {
    let Ok(python) = std::env::var("VIEWER_TEST_PYTHON") else {
        assert!(
            std::env::var("CI").is_err(),
            "VIEWER_TEST_PYTHON is not set: run the tests through scripts/test.sh"
        );
        eprintln!("skipped: VIEWER_TEST_PYTHON not set (scripts/test.sh sets it)");
        return;
    };
    let viewer = Viewer::start(Config::for_tests()).await.unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/export.py");
    let grpc = format!("http://{}", viewer.grpc_addr());
    let http = format!("http://{}", viewer.http_addr());
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .arg(grpc)
            .arg(http)
            .output()
    })
    .await
    .unwrap()
    .expect("run python");
    assert!(
        out.status.success(),
        "python exporter failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // One line per transport: `<transport> <trace id> <span id>` of the span the log was in.
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let ids: Vec<(String, String, String)> = stdout
        .lines()
        .filter_map(|l| {
            let mut w = l.split(' ');
            Some((w.next()?.into(), w.next()?.into(), w.next()?.into()))
        })
        .collect();
    assert_eq!(ids.len(), 2, "python printed: {stdout}");
    viewer.flush().await;
    {
        let store = viewer.store().lock();
        for (transport, trace, span) in &ids {
            let trace = u128::from_str_radix(trace, 16).expect("trace id");
            let span = u64::from_str_radix(span, 16).expect("span id");
            assert_eq!(
                store.logs.of_span(trace, span).count(),
                1,
                "the {transport} log is indexed under its span's trace"
            );
            assert!(
                store.find(trace).is_some(),
                "the {transport} trace is stored"
            );
        }
    }
    let report = viewer.shutdown().await;
    eprintln!("{report}");
    for (transport, trace, span) in &ids {
        let service = format!("py-{transport}");
        let header = format!("trace {trace} 2 spans, 1 services, ");
        assert!(report.lines().any(|l| l.starts_with(&header)), "{report}");
        assert!(
            report.contains(&format!("\n  {service}: GET /py [server]")),
            "{report}"
        );
        assert!(
            report.contains(&format!("\n    {service}: query [client]")),
            "{report}"
        );
        // The counter per attribute set: 3 + 4 and 5, whether sent cumulative (gRPC) or
        // delta (HTTP).
        let mut requests = series(&report, &format!("metric requests counter 1 {service}"));
        requests.sort_unstable();
        assert_eq!(requests, ["endpoint=\"a b\" 7", "endpoint=x 5"], "{report}");
        // The histogram: count and sum exact, p50 in (10, 50], p99 in (100, 200].
        let latency = series(
            &report,
            &format!("metric py.latency histogram ms {service}"),
        );
        assert_eq!(latency.len(), 1, "{report}");
        assert!(
            latency[0].starts_with("route=/py count=8 sum=505 p50="),
            "{report}"
        );
        let (p50, p99) = (field(latency[0], "p50"), field(latency[0], "p99"));
        assert!(p50 > 10.0 && p50 <= 50.0, "p50 {p50}: {report}");
        assert!(p99 > 100.0 && p99 <= 200.0, "p99 {p99}: {report}");
        // The log record: severity, service, body, and the ids of the span it was made in.
        let log = report
            .lines()
            .find(|l| l.starts_with("log ") && l.contains(&format!(" {service} ")))
            .unwrap_or_else(|| panic!("no log of {service}: {report}"));
        let time = log.split(' ').nth(1).unwrap();
        assert!(time.len() == 27 && time.ends_with('Z'), "{log}");
        assert!(
            log.ends_with(&format!(
                " WARN {service} order failed over {transport} trace={trace} span={span}"
            )),
            "{report}"
        );
    }
    assert_eq!(report.matches(" ERROR db down").count(), 2, "{report}");
    assert!(
        report.contains("4 spans received, 4 stored, 2 traces, 0 rejected"),
        "{report}"
    );
    // Every point arrived: 3 and 3 cumulative over gRPC; 3, then the 2 series that changed,
    // as delta over HTTP (cumulative would have sent 3 again).
    assert!(
        report.ends_with(" 11 metric data points, 2 log records\n"),
        "{report}"
    );
}

/// The series lines (without their indent) under a `metric <name> <type> <unit> <service>`
/// header; panics with the report if the header is missing.
fn series<'a>(report: &'a str, header: &str) -> Vec<&'a str> {
    let mut lines = report.lines().skip_while(|l| *l != header);
    assert!(lines.next().is_some(), "no `{header}` in:\n{report}");
    lines
        .take_while(|l| l.starts_with("  "))
        .map(|l| &l[2..])
        .collect()
}

/// A `key=number` field of a series line.
fn field(line: &str, key: &str) -> f64 {
    line.split(' ')
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no number {key}= in {line:?}"))
}
