//! Interoperability: the official OpenTelemetry Node.js SDK (npm `@opentelemetry/sdk-node` and
//! its OTLP exporters) sends the matrix's scenario (`interop/mod.rs`) over OTLP/gRPC (metrics
//! cumulative), OTLP/HTTP protobuf with gzip (metrics delta) and OTLP/HTTP JSON (metrics delta),
//! and the store and the report hold what was sent. `scripts/interop/node.sh` installs the
//! client (`interop/node/`) and `scripts/test.sh` sets `VIEWER_TEST_NODE` to its export.mjs.

mod interop;

use std::process::Command;
use std::time::Duration;

use viewer::model::{PointValue, SpanKind, Value};
use viewer::{Config, Viewer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_sdk_exports_all_three_signals_over_grpc_http_protobuf_and_http_json() {
    let Some(script) = interop::client("VIEWER_TEST_NODE") else {
        return;
    };
    let viewer = Viewer::start(Config::for_tests()).await.unwrap();
    let mut command = Command::new("node");
    command
        .arg(script)
        .arg(format!("http://{}", viewer.grpc_addr()))
        .arg(format!("http://{}", viewer.http_addr()));
    let sent = interop::run(command, Duration::from_secs(120)).await;
    let transports: Vec<&str> = sent.iter().map(|s| s.transport.as_str()).collect();
    assert_eq!(transports, ["grpc", "http-proto-gzip", "http-json"]);
    viewer.flush().await;
    interop::check_store(&viewer, &sent);
    check_spans(&viewer, &sent);
    check_histograms(&viewer, &sent);
    let report = viewer.shutdown().await;
    eprintln!("{report}");
    for s in &sent {
        interop::check_report(&report, &format!("node-{}", s.transport), s);
    }
    assert!(
        report.contains("6 spans received, 6 stored, 3 traces, 0 rejected"),
        "{report}"
    );
    // Every point arrived: cumulative over gRPC sends all 3 series (2 counter, 1 histogram) at
    // the collection and all 3 again at shutdown (6); delta over each HTTP transport sends the 3,
    // then only the 2 series that changed since ("a b" and the histogram; x had no new adds):
    // 6 + 5 + 5.
    assert!(
        report.ends_with(" 16 metric data points, 3 log records\n"),
        "{report}"
    );
}

/// What the report does not show of each transport's trace: "GET /interop" is the printed span,
/// a root with `http.request.method` = "GET"; "query" is its child with the event "retry" whose
/// `attempt` arrived as the integer 2 (OTLP/JSON carries it as `"intValue": 2`).
fn check_spans(viewer: &Viewer, sent: &[interop::Sent]) {
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

/// What the report's percentiles cannot tell apart: each transport's histogram kept the bounds
/// the client advised (10, 50, 100, not the SDK's default ones) and every value fell in its
/// bucket: 5 | 20 30 40 | 60 70 80 | 200, min 5 and max 200 over both collections. Delta points
/// arrive accumulated.
fn check_histograms(viewer: &Viewer, sent: &[interop::Sent]) {
    let store = viewer.store().lock();
    let metrics = &store.metrics;
    let (id, _) = metrics
        .metrics()
        .iter()
        .enumerate()
        .find(|(_, m)| store.str(m.name) == "interop.latency")
        .expect("interop.latency is stored");
    for s in sent {
        let service = format!("node-{}", s.transport);
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
