//! `--forward` loops: a URL naming the viewer's own receiver is refused at start; two viewers
//! forwarding to each other (over OTLP/HTTP one way, OTLP/gRPC the other) pass a request round
//! once, and the viewer it came back to acknowledges it without keeping or forwarding it again.

mod support;

use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use viewer::Viewer;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn forwarding_to_its_own_receiver_is_refused_at_start() {
    let (grpc, http) = (free_port(), free_port());
    let listen = [
        "--headless",
        "--exit-after",
        "2s",
        "--grpc-addr",
        &format!("127.0.0.1:{grpc}"),
        "--http-addr",
        &format!("0.0.0.0:{http}"),
    ]
    .map(String::from);
    for url in [
        format!("grpc://127.0.0.1:{grpc}"),
        format!("grpc://localhost:{grpc}"),
        format!("http://[::1]:{http}/"),
        format!("http://0.0.0.0:{http}"),
        format!("http://user@LOCALHOST:{http}/prefix"),
    ] {
        let out = Command::new(support::BIN)
            .args(&listen)
            .args(["--forward", &url])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{url}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{url}: {stderr}");
        assert!(
            stderr.contains("is this viewer's own receiver"),
            "{url}: {stderr}"
        );
    }
    // Another port of this machine is fine.
    let other = free_port();
    let out = Command::new(support::BIN)
        .args(&listen[3..])
        .args(["--headless", "--exit-after", "100ms"])
        .args(["--forward", &format!("grpc://127.0.0.1:{other}")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_forwarded_round_a_loop_comes_back_once_and_stops() {
    // a forwards to b over HTTP; b forwards back to a over gRPC.
    let b_http = free_port();
    let a = Viewer::start(support::config(&[
        "--forward",
        &format!("http://127.0.0.1:{b_http}"),
    ]))
    .await
    .unwrap();
    let mut to_a = support::config(&["--forward", &format!("grpc://{}", a.grpc_addr())]);
    to_a.http_addr = ([127, 0, 0, 1], b_http).into();
    let b = Viewer::start(to_a).await.unwrap();
    let mut client = TraceServiceClient::connect(format!("http://{}", a.grpc_addr()))
        .await
        .unwrap();
    client
        .export(support::trace_request(1, 3, 10))
        .await
        .unwrap();

    let fa = std::sync::Arc::clone(&a.counters().forward);
    let fb = std::sync::Arc::clone(&b.counters().forward);
    // Until the request has come back to a, and neither has anything left to send.
    for _ in 0..1000 {
        if fa.looped.load(Ordering::Relaxed) > 0
            && fa.pending.load(Ordering::Relaxed) == 0
            && fb.pending.load(Ordering::Relaxed) == 0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let sent = |f: &viewer::record::forward::ForwardStats| {
        (
            f.requests.load(Ordering::Relaxed),
            f.looped.load(Ordering::Relaxed),
            f.pending.load(Ordering::Relaxed),
        )
    };
    assert_eq!(sent(&fa), (1, 1, 0), "a: forwarded, came back, pending");
    assert_eq!(sent(&fb), (1, 0, 0), "b: forwarded, came back, pending");
    a.flush().await;
    b.flush().await;
    assert_eq!(a.totals().store.traces.spans, 3, "a keeps the request once");
    assert_eq!(b.totals().store.traces.spans, 3, "b keeps it once");
    a.shutdown().await;
    b.shutdown().await;
}
