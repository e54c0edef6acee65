//! Interoperability: the official OpenTelemetry Node.js SDK (npm `@opentelemetry/sdk-node` and
//! its OTLP exporters) sends the matrix's scenario (`interop/mod.rs`) over OTLP/gRPC (metrics
//! cumulative), OTLP/HTTP protobuf with gzip (metrics delta) and OTLP/HTTP JSON (metrics delta),
//! and the store and the report hold what was sent. `scripts/interop/node.sh` installs the
//! client (`interop/node/`) and `scripts/test.sh` sets `VIEWER_TEST_NODE` to its export.mjs.

mod interop;

use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_sdk_exports_all_three_signals_over_grpc_http_protobuf_and_http_json() {
    let Some(script) = interop::client("VIEWER_TEST_NODE") else {
        return;
    };
    let report = interop::scenario(
        "node",
        &["grpc", "http-proto-gzip", "http-json"],
        |grpc, http| {
            let mut command = Command::new("node");
            command
                .arg(script)
                .arg(format!("http://{grpc}"))
                .arg(format!("http://{http}"));
            command
        },
    )
    .await;
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
