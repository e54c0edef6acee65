//! Interoperability: the official Python OpenTelemetry SDK (from PyPI) exports to the viewer
//! over OTLP/gRPC and OTLP/HTTP. `scripts/test.sh` makes the virtualenv and sets
//! `VIEWER_TEST_PYTHON`; without it the test is skipped, except under CI, where it fails.

use std::process::Command;

use viewer::{Config, Viewer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_exports_over_grpc_and_http() {
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
    let report = viewer.shutdown().await;
    for service in ["py-grpc", "py-http"] {
        assert!(
            report.contains(&format!("\n  {service}: GET /py [server]")),
            "{report}"
        );
        assert!(
            report.contains(&format!("\n    {service}: query [client]")),
            "{report}"
        );
    }
    assert_eq!(report.matches(" ERROR db down").count(), 2, "{report}");
    assert!(
        report.contains("4 spans received, 4 stored, 2 traces, 0 rejected"),
        "{report}"
    );
    assert!(report.contains(" 1 log records"), "{report}");
    assert!(!report.contains(" 0 metric data points"), "{report}");
}
