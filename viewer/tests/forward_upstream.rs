//! `--forward` over HTTP to an upstream that cannot be trusted with everything (issue 26, items
//! 6 and 10): a redirect is not followed (the request and `--forward-header` stay home, the
//! error says where it pointed); a password in the URL is used but never printed.

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::http::StatusCode;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use support::upstream::{recording_target, recording_target_answering, redirecting_to};
use viewer::Viewer;
use viewer::record::forward::ForwardStats;

/// Sends one trace to `viewer`, then waits until forwarding it has ended (forwarded or
/// dropped), at most a minute.
async fn send_one(viewer: &Viewer) -> std::sync::Arc<ForwardStats> {
    let mut client = TraceServiceClient::connect(format!("http://{}", viewer.grpc_addr()))
        .await
        .unwrap();
    client
        .export(support::trace_request(1, 2, 10))
        .await
        .unwrap();
    let stats = std::sync::Arc::clone(&viewer.counters().forward);
    for _ in 0..1200 {
        if stats.requests.load(Ordering::Relaxed) + stats.dropped_requests.load(Ordering::Relaxed)
            > 0
        {
            return stats;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the request was never forwarded nor dropped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_not_followed_and_the_request_stays_home() {
    let (target, seen) = recording_target().await;
    let redirecting = redirecting_to(target).await;
    let viewer = Viewer::start(support::config(&[
        "--forward",
        &format!("http://{redirecting}"),
        "--forward-header",
        "x-api-key=SECRET",
    ]))
    .await
    .unwrap();
    let stats = send_one(&viewer).await;
    assert_eq!(stats.requests.load(Ordering::Relaxed), 0);
    assert_eq!(stats.dropped_requests.load(Ordering::Relaxed), 1);
    assert_eq!(
        stats.last_error.lock().as_deref(),
        Some(
            format!(
                "upstream http://{redirecting} answered 307 Temporary Redirect, to go to \"http://{target}/v1/traces\": redirects are not followed (they would send the request and --forward-header elsewhere); give --forward the address itself"
            )
            .as_str()
        )
    );
    assert!(
        seen.lock().is_empty(),
        "the redirect's target got {:?}",
        seen.lock()
    );
    viewer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_in_the_url_is_sent_but_never_printed() {
    let (upstream, seen) = recording_target_answering(StatusCode::BAD_REQUEST).await;
    let viewer = Viewer::start(support::config(&[
        "--forward",
        &format!("http://alice:hunter2@{upstream}/otlp"),
    ]))
    .await
    .unwrap();
    let stats = send_one(&viewer).await;
    assert_eq!(stats.dropped_requests.load(Ordering::Relaxed), 1);
    // Used: as HTTP basic authentication.
    let auth = seen.lock()[0].1["authorization"].clone();
    assert_eq!(auth, "Basic YWxpY2U6aHVudGVyMg==");
    // Not shown: in the status bar's last error and the headless report's `forwarded:` line.
    let report = viewer.shutdown().await;
    assert!(
        report.contains(&format!(
            "not forwarded (2 items); last error: upstream http://alice:***@{upstream}/otlp answered 400 Bad Request"
        )),
        "{report}"
    );
    assert!(!report.contains("hunter2"), "{report}");

    // Unreachable (nothing listens on port 1): retried, the error shown meanwhile has no
    // password either.
    let viewer = Viewer::start(support::config(&[
        "--forward",
        "http://alice:hunter2@127.0.0.1:1",
    ]))
    .await
    .unwrap();
    let mut client = TraceServiceClient::connect(format!("http://{}", viewer.grpc_addr()))
        .await
        .unwrap();
    client
        .export(support::trace_request(1, 2, 10))
        .await
        .unwrap();
    let stats = std::sync::Arc::clone(&viewer.counters().forward);
    let mut error = None;
    for _ in 0..1200 {
        error = stats.last_error.lock().clone();
        if error.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let error = error.expect("a failed try is reported");
    assert!(
        error.starts_with("upstream http://alice:***@127.0.0.1:1 unreachable: "),
        "{error}"
    );
    assert!(!error.contains("hunter2"), "{error}");
    viewer.shutdown().await;

    // Refused at start, and the binary's own words.
    for (args, code) in [
        (
            vec![
                "--forward",
                "https://alice:hunter2@127.0.0.1:4318",
                "--http-addr",
                "127.0.0.1:0",
            ],
            1,
        ),
        (
            vec![
                "--forward",
                "ftp://alice:hunter2@127.0.0.1:4318",
                "--http-addr",
                "127.0.0.1:0",
            ],
            1,
        ),
        (
            vec![
                "--forward",
                "http://alice:hunter2@127.0.0.1:47318",
                "--http-addr",
                "127.0.0.1:47318",
            ],
            2,
        ),
    ] {
        let out = support::run(
            &[
                &[
                    "--headless",
                    "--exit-after",
                    "1s",
                    "--grpc-addr",
                    "127.0.0.1:0",
                ],
                &args[..],
            ]
            .concat(),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains("alice:***@127.0.0.1"), "{stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
}
