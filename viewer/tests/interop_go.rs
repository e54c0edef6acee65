//! Interoperability: the official OpenTelemetry Go SDK (v1.47.0, from the Go module proxy) sends
//! the matrix's scenario (`interop/mod.rs`) over OTLP/gRPC gzip-compressed with cumulative
//! metrics, and over OTLP/HTTP protobuf uncompressed with delta metrics; the store and the report
//! hold what was sent. `scripts/test.sh` builds the client (`scripts/interop/go.sh`) and sets
//! `VIEWER_TEST_GO`.

mod interop;

use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_sdk_exports_all_three_signals_over_grpc_and_http() {
    let Some(client) = interop::client("VIEWER_TEST_GO") else {
        return;
    };
    let report = interop::scenario("go", &["grpc-gzip", "http"], |grpc, http| {
        let mut command = Command::new(client);
        command.arg(grpc.to_string()).arg(http.to_string());
        command
    })
    .await;
    assert!(
        report.contains("4 spans received, 4 stored, 2 traces, 0 rejected"),
        "{report}"
    );
    // Every point arrived: over gRPC, cumulative, each collection sends all 3 series (2 counter
    // series and the histogram): 3 + 3; over HTTP, delta, the first collection sends 3 and the
    // shutdown's collection only the 2 series recorded since (endpoint="a b" and the histogram;
    // endpoint=x had nothing new, and the Go SDK leaves a delta series without new
    // measurements out): 3 + 2. 6 + 5 = 11.
    assert!(
        report.ends_with(" 11 metric data points, 2 log records\n"),
        "{report}"
    );
}
