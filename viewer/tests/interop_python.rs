//! Interoperability: the official Python OpenTelemetry SDK (from PyPI) sends the matrix's
//! scenario (`interop/mod.rs`) over OTLP/gRPC and OTLP/HTTP protobuf with gzip (metrics
//! cumulative over one, delta over the other), and the store and the report hold what was sent.
//! `scripts/test.sh` makes the virtualenv and sets `VIEWER_TEST_PYTHON`.

mod interop;

use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_exports_all_three_signals_over_grpc_and_http() {
    let Some(python) = interop::client("VIEWER_TEST_PYTHON") else {
        return;
    };
    let report = interop::scenario("py", &["grpc", "http-gzip"], |grpc, http| {
        let mut command = Command::new(python);
        command
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/interop/python/export.py"
            ))
            .arg(format!("http://{grpc}"))
            .arg(format!("http://{http}"));
        command
    })
    .await;
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
