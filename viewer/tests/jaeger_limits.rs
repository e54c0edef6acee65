//! A hostile or broken Jaeger (issue 26, items 2 and 6), over real sockets: answers that never
//! end, answers announced as too large, a search whose answers are too large together, answers
//! that trickle for ever, over HTTP and gRPC; and a Jaeger that redirects elsewhere. Each ends
//! in a plain error, with what was read bounded by `--jaeger-max-mb`, and the client lets go of
//! the answer.

mod support;

use std::time::{Duration, SystemTime};

use axum::http::{HeaderValue, header};
use axum::response::IntoResponse as _;
use bytes::Bytes;
use futures::StreamExt as _;
use support::upstream::{
    Tap, grpc_frame, grpc_stream, recording_target, redirecting_to, serve_grpc, serve_http,
};
use viewer::jaeger::{Jaeger, JaegerError, Options, Search};

const MIB: u64 = 1024 * 1024;

/// A client of `url` that may read `max_bytes` per search and wait `timeout` per answer.
fn jaeger(url: &str, max_bytes: u64, timeout: Duration) -> Jaeger {
    let options = Options {
        headers: vec![("x-api-key".into(), "SECRET".into())],
        max_bytes,
        timeout,
    };
    Jaeger::new(url, options).unwrap()
}

fn search(service: &str) -> Search {
    Search {
        service: Some(service.into()),
        since: Duration::from_secs(3600),
        limit: 20,
        ..Search::default()
    }
}

/// The error `answer` ends in; a client that never ends fails the test.
async fn error<T>(answer: impl Future<Output = Result<T, JaegerError>>) -> String {
    match tokio::time::timeout(Duration::from_secs(120), answer).await {
        Ok(Err(e)) => e.0,
        Ok(Ok(_)) => panic!("the answer was taken"),
        Err(_) => panic!("the client never gave up"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_http_answer_stops_at_jaeger_max_mb() {
    let tap = Tap::new();
    let app = {
        let tap = tap.clone();
        axum::Router::new().route(
            "/api/v3/services",
            axum::routing::get(move || {
                let tap = tap.clone();
                async move {
                    let head = futures::stream::once(async {
                        Ok(Bytes::from_static(b"{\"services\":[\""))
                    });
                    let body = head.chain(tap.endless(Bytes::from(vec![b'a'; 64 * 1024])));
                    axum::body::Body::from_stream(body)
                }
            }),
        )
    };
    let addr = serve_http(app).await;
    // The binary, with the flag.
    let out = tokio::process::Command::new(support::BIN)
        .args(["--headless", "--jaeger", &format!("http://{addr}")])
        .args(["--jaeger-max-mb", "1"])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "Jaeger's answer to /api/v3/services exceeded --jaeger-max-mb (1 MiB); what was read of it is dropped"
        ),
        "{stderr}"
    );
    // The viewer let go of the answer soon past the limit (what the sockets held aside).
    let sent = tap.hung_up().await;
    assert!(
        sent < 16 * MIB,
        "{sent} bytes sent before the viewer hung up"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_announced_as_too_large_is_not_read() {
    // 2 MiB announced, ten bytes sent, then nothing: refused on its Content-Length, at once
    // (read, it would wait for the rest until the deadline).
    let app = axum::Router::new().route(
        "/api/v3/services",
        axum::routing::get(|| async {
            let body = futures::stream::once(async {
                Ok::<_, std::convert::Infallible>(Bytes::from_static(b"{\"services\""))
            })
            .chain(futures::stream::pending());
            let mut response = axum::body::Body::from_stream(body).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(2 * MIB));
            response
        }),
    );
    let addr = serve_http(app).await;
    let j = jaeger(&format!("http://{addr}"), MIB, Duration::from_secs(600));
    assert_eq!(
        error(j.services()).await,
        "Jaeger's answer to /api/v3/services exceeded --jaeger-max-mb (1 MiB); what was read of it is dropped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_is_limited_by_its_answers_together() {
    // Three services, each answered with 400 KiB: the third answer takes the search past 1 MiB.
    let app = axum::Router::new()
        .route(
            "/api/v3/services",
            axum::routing::get(|| async { r#"{"services":["a","b","c"]}"# }),
        )
        .route(
            "/api/v3/traces",
            axum::routing::get(|| async {
                let mut body = br#"{"result":{"resourceSpans":[]}}"#.to_vec();
                body.resize(400 * 1024, b' ');
                body
            }),
        );
    let addr = serve_http(app).await;
    let j = jaeger(&format!("http://{addr}"), MIB, Duration::from_secs(600));
    let now = SystemTime::now();
    assert_eq!(j.services().await.unwrap(), ["a", "b", "c"]);
    assert!(j.find(&search("a"), now).await.unwrap().is_empty());
    assert!(j.find(&search("b"), now).await.unwrap().is_empty());
    assert_eq!(
        error(j.find(&search("c"), now)).await,
        "Jaeger's answers to this search exceeded --jaeger-max-mb (1 MiB) in all, at /api/v3/traces; the rest of the search is not read"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_answer_that_trickles_for_ever_meets_the_deadline() {
    let tap = Tap::new();
    let app = {
        let tap = tap.clone();
        axum::Router::new().route(
            "/api/v3/services",
            axum::routing::get(move || {
                let tap = tap.clone();
                async move { axum::body::Body::from_stream(tap.trickle(Bytes::from_static(b" "))) }
            }),
        )
    };
    let addr = serve_http(app).await;
    let j = jaeger(&format!("http://{addr}"), MIB, Duration::from_secs(1));
    assert_eq!(
        error(j.services()).await,
        format!("Jaeger at http://{addr} took longer than 1s to answer /api/v3/services")
    );
    tap.hung_up().await;
}

/// `TracesData { resource_spans: [ResourceSpans { schema_url: "xxx…" }] }`, about `size` bytes.
fn traces_data(size: usize) -> Vec<u8> {
    let schema_url = vec![b'x'; size];
    let mut resource_spans = vec![0x1a];
    prost::encoding::encode_varint(schema_url.len() as u64, &mut resource_spans);
    resource_spans.extend_from_slice(&schema_url);
    let mut message = vec![0x0a];
    prost::encoding::encode_varint(resource_spans.len() as u64, &mut message);
    message.extend_from_slice(&resource_spans);
    message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_grpc_stream_stops_at_jaeger_max_mb_and_one_large_message_too() {
    let tap = Tap::new();
    let addr = {
        let tap = tap.clone();
        serve_grpc(move |path| {
            if path.ends_with("/FindTraces") {
                // 64 KiB messages, valid ones, for ever.
                grpc_stream(tap.endless(grpc_frame(&traces_data(64 * 1024))))
            } else {
                // GetTrace: one message of 2 MiB.
                let frame = grpc_frame(&traces_data(2 * 1024 * 1024));
                grpc_stream(futures::stream::iter([Ok(frame)]))
            }
        })
        .await
    };
    let url = format!("grpc://{addr}");
    let j = jaeger(&url, MIB, Duration::from_secs(600));
    assert_eq!(
        error(j.find(&search("a"), SystemTime::now())).await,
        "Jaeger's answer to FindTraces exceeded --jaeger-max-mb (1 MiB); what was read of it is dropped"
    );
    let sent = tap.hung_up().await;
    assert!(
        sent < 16 * MIB,
        "{sent} bytes sent before the client hung up"
    );
    // One message larger than the whole limit is refused as it is announced.
    let j = jaeger(&url, MIB, Duration::from_secs(600));
    assert_eq!(
        error(j.trace(7)).await,
        "Jaeger's answer to GetTrace exceeded --jaeger-max-mb (1 MiB); what was read of it is dropped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpc_stream_that_trickles_for_ever_meets_the_deadline() {
    // tonic's own timeout covers only the answer's headers: a stream of small messages that
    // never ends was waited for without end.
    let tap = Tap::new();
    let addr = {
        let tap = tap.clone();
        serve_grpc(move |_| grpc_stream(tap.trickle(grpc_frame(&traces_data(8))))).await
    };
    let j = jaeger(&format!("grpc://{addr}"), MIB, Duration::from_secs(1));
    assert_eq!(
        error(j.find(&search("a"), SystemTime::now())).await,
        format!("Jaeger at grpc://{addr} took longer than 1s to answer FindTraces")
    );
    tap.hung_up().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_not_followed_and_the_headers_stay_home() {
    let (target, seen) = recording_target().await;
    let redirecting = redirecting_to(target).await;
    let j = jaeger(
        &format!("http://{redirecting}"),
        MIB,
        Duration::from_secs(600),
    );
    let e = error(j.services()).await;
    assert_eq!(
        e,
        format!(
            "Jaeger at http://{redirecting} answered 307 Temporary Redirect to /api/v3/services, to go to \"http://{target}/api/v3/services\": redirects are not followed (they would take --jaeger-header to another address); give --jaeger the address of the query service itself"
        )
    );
    assert!(
        seen.lock().is_empty(),
        "the redirect's target got {:?}",
        seen.lock()
    );
}
