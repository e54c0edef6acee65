//! `--forward` at exit: the real binary, stopped with Ctrl-C (SIGINT) while requests still wait
//! to be forwarded, says it drains and gives upstream `--forward-drain` to take them. With
//! upstream dead, every request still waiting is counted as not forwarded, with the last error,
//! in the report and on stderr; with upstream coming up during the drain, everything reaches it
//! and the report says so.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use prost::Message as _;
use support::Headless;
use viewer::Viewer;

/// Sends trace `n` (one span) to `http`'s OTLP/HTTP receiver, as an exporter does; it must be
/// acknowledged.
async fn post_trace(http: SocketAddr, n: u64) {
    let body = support::trace_request(n, 1, 10).encode_to_vec();
    let answer = reqwest::Client::new()
        .post(format!("http://{http}/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{answer:?}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_upstream_dead_what_waits_at_exit_is_counted_with_the_error() {
    // Nothing listens on port 1: every try fails at once, and is retried (for 30 s).
    let mut edge = Headless::start(&["--forward", "grpc://127.0.0.1:1"]);
    for n in 1..=5 {
        post_trace(edge.http, n).await;
    }
    edge.signal("INT");
    // The default drain (5 s), then the report.
    let notice = edge.wait_for("--forward-drain", Duration::from_secs(30));
    let out = tokio::task::spawn_blocking(move || edge.finish())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let lost = "forwarded: 0 requests (0 items), 5 not forwarded (5 items), 5 of them still waiting at exit; last error: upstream unreachable: ";
    assert!(out.stdout.contains(&format!("\n{lost}")), "{}", out.stdout);
    assert!(
        out.stderr.contains(&format!("\nviewer: {lost}")),
        "{}",
        out.stderr
    );
    assert_eq!(
        notice.as_deref(),
        Some("viewer: forwarding the 5 requests still waiting, for up to 5s (--forward-drain)"),
        "{out:?}"
    );
    // What was received is stored all the same.
    assert!(
        out.stdout.contains("totals: 5 spans received, 5 stored"),
        "{}",
        out.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_coming_up_during_the_drain_gets_everything() {
    for scheme in ["grpc", "http"] {
        // Upstream's port, not listened on until the edge is draining.
        let port = free_port();
        let url = format!("{scheme}://127.0.0.1:{port}");
        let mut edge = Headless::start(&["--forward", &url, "--forward-drain", "60s"]);
        for n in 1..=5 {
            post_trace(edge.http, n).await;
        }
        edge.signal("INT");
        let draining = edge.wait_for("--forward-drain", Duration::from_secs(30));
        // Upstream, a second viewer, comes up.
        let mut config = support::config(&[]);
        let addr = ([127, 0, 0, 1], port).into();
        if scheme == "grpc" {
            config.grpc_addr = addr;
        } else {
            config.http_addr = addr;
        }
        let upstream = Viewer::start(config).await.unwrap();
        let out = tokio::task::spawn_blocking(move || edge.finish())
            .await
            .unwrap();
        let remote = upstream.shutdown().await;
        assert_eq!(out.status.code(), Some(0), "{scheme}: {out:?}");
        for n in 1..=5 {
            assert!(
                remote.contains(&format!("trace {}", support::trace_hex(n))),
                "{scheme}: trace {n} missing upstream: {remote}"
            );
        }
        assert!(
            remote.contains("totals: 5 spans received, 5 stored"),
            "{scheme}: {remote}"
        );
        let all = "forwarded: 5 requests (5 items), 0 not forwarded (0 items)";
        assert!(
            out.stdout.lines().any(|l| l == all),
            "{scheme}: {}",
            out.stdout
        );
        assert!(
            out.stderr.lines().any(|l| l == format!("viewer: {all}")),
            "{scheme}: {}",
            out.stderr
        );
        assert!(draining.is_some(), "{scheme}: {out:?}");
    }
}
