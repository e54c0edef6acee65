//! Interoperability: the official OpenTelemetry Node.js SDK (npm `@opentelemetry/sdk-node` and
//! its OTLP exporters) sends the matrix's scenario (`interop/mod.rs`) over OTLP/gRPC (metrics
//! cumulative), OTLP/HTTP protobuf with gzip (metrics delta) and OTLP/HTTP JSON (metrics delta),
//! and the store and the report hold what was sent. `scripts/interop/node.sh` installs the
//! client (`interop/node/`) and `scripts/test.sh` sets `VIEWER_TEST_NODE` to its export.mjs.

mod interop;

use std::process::Command;
use std::time::Duration;

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
    interop::check_spans(&viewer, &sent);
    interop::check_histograms(&viewer, "node", &sent);
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
