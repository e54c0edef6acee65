//! The interoperability matrix's shared scenario and checks. Each SDK's client (Python, Go,
//! Node, ...) sends the same telemetry once per transport it is run with, and prints one line
//! per transport: `<transport> <trace id> <span id>` (lowercase hex) of its "GET /interop" span.
//!
//! The scenario, for a transport T, with resource `service.name` = `<sdk>-<T>`:
//! - a trace: "GET /interop" [server] (attribute `http.request.method` = "GET") with one child
//!   "query" [client] that has an event "retry" (attribute `attempt` = 2, an integer) and ends
//!   with status ERROR, message "db down";
//! - a counter `requests`, unit "1", description "incoming requests": +3 with endpoint="a b",
//!   +5 with endpoint="x", a collection (an export), then +4 with endpoint="a b"; cumulative or
//!   delta, the viewer must read 7 and 5;
//! - a histogram `interop.latency`, unit "ms", explicit bounds 10, 50, 100, attribute
//!   route="/interop": 5, 20, 30, 40, then after the collection 60, 70, 80, 200 (count 8,
//!   sum 505);
//! - a WARN log record with the body "order failed over T", emitted while "GET /interop" is the
//!   current span, so it carries that span's trace and span ids.
//!
//! `scripts/test.sh` builds or installs each client and names it in an environment variable;
//! without it a test is skipped, except under CI, where it fails.

#![allow(dead_code)] // each test file uses its own part of this module

use std::process::Command;
use std::time::Duration;

use viewer::model::{PointValue, SpanKind, Value};
use viewer::{Config, Viewer};

/// The environment variable naming a client, or `None` (the test skips) when it is not set;
/// under CI a missing client fails instead.
pub fn client(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            assert!(
                std::env::var("CI").is_err(),
                "{var} is not set: run the tests through scripts/test.sh"
            );
            eprintln!("skipped: {var} not set (scripts/test.sh sets it)");
            None
        }
    }
}

/// Starts a viewer, runs the client that `command(grpc address, http address)` builds, and
/// checks that it sent the scenario over `transports`, in that order, each as service
/// `<sdk>-<transport>`: in the store (ids, spans, histograms) and in the report. Returns the
/// report, for the caller's totals.
pub async fn scenario(
    sdk: &str,
    transports: &[&str],
    command: impl FnOnce(std::net::SocketAddr, std::net::SocketAddr) -> Command,
) -> String {
    let viewer = Viewer::start(Config::for_tests()).await.unwrap();
    let sent = run(
        command(viewer.grpc_addr(), viewer.http_addr()),
        Duration::from_secs(120),
    )
    .await;
    let printed: Vec<&str> = sent.iter().map(|s| s.transport.as_str()).collect();
    assert_eq!(printed, transports);
    viewer.flush().await;
    check_store(&viewer, &sent);
    check_spans(&viewer, &sent);
    check_histograms(&viewer, sdk, &sent);
    let report = viewer.shutdown().await;
    eprintln!("{report}");
    for s in &sent {
        check_report(&report, &format!("{sdk}-{}", s.transport), s);
    }
    report
}

/// What a client printed for one transport.
#[derive(Debug, Clone)]
pub struct Sent {
    pub transport: String,
    pub trace: String,
    pub span: String,
}

/// Runs a client to its end (at most `limit`), panicking with its output if it fails; returns
/// its `<transport> <trace id> <span id>` lines.
pub async fn run(mut command: Command, limit: Duration) -> Vec<Sent> {
    let shown = format!("{command:?}");
    let (status, stdout, stderr) = tokio::task::spawn_blocking(move || {
        use std::io::Read;
        command.stdin(std::process::Stdio::null());
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {shown}: {e}"));
        let mut out = child.stdout.take().unwrap();
        let mut err = child.stderr.take().unwrap();
        let out = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = out.read_to_string(&mut s);
            s
        });
        let err = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        let deadline = std::time::Instant::now() + limit;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for the client") {
                break Some(status);
            }
            if std::time::Instant::now() > deadline {
                // Past its time: stop it, so the test fails with what it printed.
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        (status, out.join().unwrap(), err.join().unwrap())
    })
    .await
    .unwrap();
    assert!(
        status.is_some_and(|s| s.success()),
        "the client failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        status.map_or(format!("killed after {limit:?}"), |s| s.to_string()),
    );
    stdout
        .lines()
        .filter_map(|l| {
            let mut w = l.split(' ');
            let (transport, trace, span) = (w.next()?, w.next()?, w.next()?);
            (trace.len() == 32 && span.len() == 16).then(|| Sent {
                transport: transport.into(),
                trace: trace.into(),
                span: span.into(),
            })
        })
        .collect()
}

/// Checks the store: each transport's trace is held, and its log record is indexed under the
/// span it was emitted in.
pub fn check_store(viewer: &Viewer, sent: &[Sent]) {
    let store = viewer.store().lock();
    for s in sent {
        let trace = u128::from_str_radix(&s.trace, 16).expect("trace id");
        let span = u64::from_str_radix(&s.span, 16).expect("span id");
        assert!(
            store.find(trace).is_some(),
            "the {} trace is stored",
            s.transport
        );
        assert_eq!(
            store.logs.of_span(trace, span).count(),
            1,
            "the {} log is indexed under its span's trace",
            s.transport
        );
    }
}

/// Checks the headless report for one transport's scenario, sent as service `service`.
pub fn check_report(report: &str, service: &str, s: &Sent) {
    let (transport, trace, span) = (&s.transport, &s.trace, &s.span);
    let header = format!("trace {trace} 2 spans, 1 services, ");
    assert!(
        report.lines().any(|l| l.starts_with(&header)),
        "no `{header}…` in:\n{report}"
    );
    // The trace's block: its header line and the indented span lines under it.
    let tree: String = report
        .lines()
        .skip_while(|l| !l.starts_with(&header))
        .enumerate()
        .take_while(|(i, l)| *i == 0 || l.starts_with("  "))
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    assert!(
        tree.contains(&format!("\n  {service}: GET /interop [server] ")),
        "{service}: {tree}"
    );
    assert!(
        tree.contains(&format!("\n    {service}: query [client] ")),
        "{service}: {tree}"
    );
    assert!(tree.contains(" ERROR db down"), "{service}: {tree}");
    // The counter per attribute set: 3 + 4 and 5, whether sent cumulative or delta.
    let mut requests = series(report, &format!("metric requests counter 1 {service}"));
    requests.sort_unstable();
    assert_eq!(
        requests,
        ["endpoint=\"a b\" 7", "endpoint=x 5"],
        "{service}: {report}"
    );
    // The histogram: count and sum exact, p50 in (10, 50], p99 in (100, 200].
    let latency = series(
        report,
        &format!("metric interop.latency histogram ms {service}"),
    );
    assert_eq!(latency.len(), 1, "{service}: {report}");
    assert!(
        latency[0].starts_with("route=/interop count=8 sum=505 p50="),
        "{service}: {report}"
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
        "{service}: {log}"
    );
}

/// What the report does not show of each transport's trace: "GET /interop" is the printed span,
/// a root with `http.request.method` = "GET"; "query" is its child with the event "retry" whose
/// `attempt` arrived as the integer 2 (OTLP/JSON carries it as `"intValue": 2`; a string would fail).
pub fn check_spans(viewer: &Viewer, sent: &[Sent]) {
    let store = viewer.store().lock();
    for s in sent {
        let t = &s.transport;
        let id = u128::from_str_radix(&s.trace, 16).unwrap();
        let trace = store.trace(store.find(id).unwrap()).unwrap();
        let spans = trace.spans();
        assert_eq!(spans.len(), 2, "{t}: {spans:?}");
        let named = |name: &str| {
            spans
                .iter()
                .find(|sp| store.str(sp.name) == name)
                .unwrap_or_else(|| panic!("{t}: no {name} in {spans:?}"))
        };
        let attrs = |attrs: &[viewer::model::Attr]| -> Vec<(String, Value)> {
            attrs
                .iter()
                .map(|a| (store.str(a.key()).to_owned(), store.resolve(&a.value())))
                .collect()
        };
        let root = named("GET /interop");
        assert_eq!(format!("{:016x}", root.span_id), s.span, "{t}");
        assert_eq!(root.parent_id, 0, "{t}");
        assert_eq!(root.kind, SpanKind::Server, "{t}");
        assert_eq!(
            attrs(&root.attrs),
            [("http.request.method".to_owned(), Value::Str("GET".into()))],
            "{t}"
        );
        let query = named("query");
        assert_eq!(query.parent_id, root.span_id, "{t}");
        assert_eq!(query.kind, SpanKind::Client, "{t}");
        let extra = query
            .extra
            .as_ref()
            .expect("query has an event and a message");
        assert_eq!(&*extra.status_message, "db down", "{t}");
        assert_eq!(extra.events.len(), 1, "{t}: {:?}", extra.events);
        let retry = &extra.events[0];
        assert_eq!(store.str(retry.name), "retry", "{t}");
        assert!(
            retry.time >= query.start && retry.time <= query.end,
            "{t}: event at {} outside the span {}..{}",
            retry.time,
            query.start,
            query.end
        );
        assert_eq!(
            attrs(&retry.attrs),
            [("attempt".to_owned(), Value::Int(2))],
            "{t}"
        );
    }
}

/// What the report's percentiles cannot tell apart: each transport's histogram (service
/// `<sdk>-<transport>`) kept the bounds
/// the client advised (10, 50, 100, not the SDK's default ones) and every value fell in its
/// bucket: 5 | 20 30 40 | 60 70 80 | 200, min 5 and max 200 over both collections. Delta points
/// arrive accumulated.
pub fn check_histograms(viewer: &Viewer, sdk: &str, sent: &[Sent]) {
    let store = viewer.store().lock();
    let metrics = &store.metrics;
    let (id, _) = metrics
        .metrics()
        .iter()
        .enumerate()
        .find(|(_, m)| store.str(m.name) == "interop.latency")
        .expect("interop.latency is stored");
    for s in sent {
        let service = format!("{sdk}-{}", s.transport);
        let series: Vec<_> = metrics
            .series_of(u32::try_from(id).unwrap())
            .filter(|(_, series)| store.catalog.service(series.resource) == service)
            .collect();
        assert_eq!(series.len(), 1, "{service}: {series:?}");
        let last = series[0].1.points.back().expect("a point");
        let PointValue::Histogram(h) = &last.value else {
            panic!("{service}: not a histogram: {last:?}");
        };
        assert_eq!(*h.bounds, [10.0, 50.0, 100.0], "{service}");
        assert_eq!(*h.counts, [1, 3, 3, 1], "{service}");
        assert_eq!((h.count, h.sum), (8, Some(505.0)), "{service}");
        assert_eq!((h.min, h.max), (Some(5.0), Some(200.0)), "{service}");
    }
}

/// The series lines (without their indent) under a `metric <name> <type> <unit> <service>`
/// header; panics with the report if the header is missing.
pub fn series<'a>(report: &'a str, header: &str) -> Vec<&'a str> {
    let mut lines = report.lines().skip_while(|l| *l != header);
    assert!(lines.next().is_some(), "no `{header}` in:\n{report}");
    lines
        .take_while(|l| l.starts_with("  "))
        .map(|l| &l[2..])
        .collect()
}

/// A `key=number` field of a series line.
pub fn field(line: &str, key: &str) -> f64 {
    line.split(' ')
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no number {key}= in {line:?}"))
}
