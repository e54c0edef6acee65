//! Hostile senders over real sockets (issue: the audit's memory blow-ups and slow clients):
//! small compressed bodies that would inflate to gigabytes are refused before they are decoded
//! while valid requests are served; request bodies share one memory budget; clients that trickle
//! their headers or HTTP/2 preface lose their connection, so they cannot hold every slot.

use std::io::Write as _;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use viewer::{Config, Viewer};

mod support;
use support::raw_codec::RawCodec;

fn valid(trace: u8) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: vec![trace; 16],
                    span_id: vec![1; 8],
                    name: format!("valid {trace}"),
                    start_time_unix_nano: 1,
                    end_time_unix_nano: 2,
                    ..Span::default()
                }],
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// 16 MB (just under the default limit) of `0a 00`: eight million empty `resource_spans`.
fn protobuf_bomb() -> Vec<u8> {
    gzip(&[0x0a, 0x00].repeat(8 * 1024 * 1024 - 8))
}

/// `{"resourceSpans":[{},{},…]}`, 16 MB.
fn json_bomb() -> Vec<u8> {
    let mut body = b"{\"resourceSpans\":[{}".to_vec();
    while body.len() < 16 * 1024 * 1024 - 16 {
        body.extend_from_slice(b",{}");
    }
    body.extend_from_slice(b"]}");
    gzip(&body)
}

async fn post(url: String, content_type: &'static str, body: Vec<u8>, gzip: bool) -> (u16, String) {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body);
    if gzip {
        req = req.header("content-encoding", "gzip");
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap_or_default())
}

/// A gRPC export of raw bytes, gzip-compressed on the wire.
async fn grpc_raw(addr: std::net::SocketAddr, path: &'static str, body: Vec<u8>) -> tonic::Code {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel)
        .send_compressed(tonic::codec::CompressionEncoding::Gzip)
        .max_encoding_message_size(usize::MAX);
    grpc.ready().await.unwrap();
    match grpc
        .unary(
            tonic::Request::new(body),
            tonic::codegen::http::uri::PathAndQuery::from_static(path),
            RawCodec,
        )
        .await
    {
        Ok(_) => tonic::Code::Ok,
        Err(status) => status.code(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_bombs_are_refused_before_decoding_and_valid_requests_are_served() {
    let v = Viewer::start(Config::for_tests()).await.unwrap();
    let (grpc, http) = (v.grpc_addr(), v.http_addr());
    let (pb, json) = (protobuf_bomb(), json_bomb());
    assert!(
        pb.len() < 64 * 1024 && json.len() < 64 * 1024,
        "small on the wire"
    );

    let mut bombs = Vec::new();
    for i in 0..8 {
        let (url, ct, body) = if i % 2 == 0 {
            (
                format!("http://{http}/v1/traces"),
                "application/x-protobuf",
                pb.clone(),
            )
        } else {
            (
                format!("http://{http}/v1/logs"),
                "application/json",
                json.clone(),
            )
        };
        bombs.push(tokio::spawn(post(url, ct, body, true)));
    }
    let grpc_bombs: Vec<_> = [
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    ]
    .into_iter()
    .map(|path| {
        let raw = [0x0a, 0x00].repeat(8 * 1024 * 1024 - 8);
        tokio::spawn(grpc_raw(grpc, path, raw))
    })
    .collect();
    // Meanwhile a valid request over each protocol is served.
    let (status, _) = post(
        format!("http://{http}/v1/traces"),
        "application/x-protobuf",
        valid(1).encode_to_vec(),
        false,
    )
    .await;
    assert_eq!(status, 200);
    TraceServiceClient::connect(format!("http://{grpc}"))
        .await
        .unwrap()
        .export(valid(2))
        .await
        .expect("gRPC served meanwhile");

    for bomb in bombs {
        let (status, body) = bomb.await.unwrap();
        assert_eq!(status, 413, "{body}");
        assert!(body.contains("--max-inflight-mb"), "{body}");
    }
    for bomb in grpc_bombs {
        assert_eq!(bomb.await.unwrap(), tonic::Code::ResourceExhausted);
    }
    let totals = v.totals();
    assert_eq!(totals.store.traces.spans, 2);
    v.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_entries_are_skipped_and_the_span_beside_them_is_stored() {
    let v = Viewer::start(Config::for_tests()).await.unwrap();
    // 100,000 empty resource_spans (within the budget), then a valid request: only its span.
    let body = [[0x0a, 0x00].repeat(100_000), valid(3).encode_to_vec()].concat();
    let (status, text) = post(
        format!("http://{}/v1/traces", v.http_addr()),
        "application/x-protobuf",
        gzip(&body),
        true,
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let report = v.shutdown().await;
    assert!(report.contains("valid 3"), "{report}");
    assert!(report.contains("1 spans received"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_bodies_share_one_memory_budget() {
    let mut config = Config::for_tests();
    config.max_inflight_mb = 16;
    config.queue_wait = Duration::from_millis(300);
    let v = Viewer::start(config).await.unwrap();
    let http = v.http_addr();

    // Two senders hold 15 MiB of bodies they never finish.
    let mut held = Vec::new();
    for mib in [9, 6] {
        let mut s = TcpStream::connect(http).await.unwrap();
        let head = format!(
            "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\n\r\n",
            15 * 1024 * 1024
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(&vec![0u8; mib * 1024 * 1024]).await.unwrap();
        held.push(s);
    }
    // Let the viewer read what they sent.
    tokio::time::sleep(Duration::from_millis(300)).await;
    // A third large body finds no room: refused as retryable.
    let (status, text) = post(
        format!("http://{http}/v1/traces"),
        "application/x-protobuf",
        vec![0u8; 4 * 1024 * 1024],
        false,
    )
    .await;
    assert_eq!(status, 503, "{text}");
    assert!(text.contains("busy"), "{text}");
    // Once the senders go, their share comes back: a valid request is stored.
    drop(held);
    let mut stored = false;
    for _ in 0..50 {
        let (status, _) = post(
            format!("http://{http}/v1/traces"),
            "application/x-protobuf",
            valid(4).encode_to_vec(),
            false,
        )
        .await;
        if status == 200 {
            stored = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(stored, "the budget came back");
    v.shutdown().await;
}

/// Writes `bytes` one at a time, `gap` apart, until the peer closes (returns true) or they run
/// out (returns false).
async fn trickle(s: &mut TcpStream, bytes: &[u8], gap: Duration) -> bool {
    for b in bytes {
        if s.write_all(&[*b]).await.is_err() {
            return true;
        }
        let mut buf = [0u8; 256];
        if let Ok(Ok(0) | Err(_)) = tokio::time::timeout(gap, s.read(&mut buf)).await {
            return true;
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_trickling_headers_lose_their_slot() {
    let mut config = Config::for_tests();
    config.max_connections = 1;
    config.header_timeout = Duration::from_millis(600);
    let v = Viewer::start(config).await.unwrap();
    let (grpc, http) = (v.grpc_addr(), v.http_addr());

    // HTTP/1.1: the only slot, taken by a client sending its headers a byte at a time (each
    // byte resets the idle timer, 120 s).
    let mut slow = TcpStream::connect(http).await.unwrap();
    let head = b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    let closed = trickle(&mut slow, head, Duration::from_millis(100)).await;
    assert!(closed, "the trickling client was cut off");
    // The slot is free again: a normal request is served.
    let (status, _) = tokio::time::timeout(
        Duration::from_secs(20),
        post(
            format!("http://{http}/v1/traces"),
            "application/x-protobuf",
            valid(5).encode_to_vec(),
            false,
        ),
    )
    .await
    .expect("served once the slow client was cut off");
    assert_eq!(status, 200);

    // gRPC: the HTTP/2 preface, trickled.
    let mut slow = TcpStream::connect(grpc).await.unwrap();
    // Short of its last byte: never complete, so only a deadline can end it.
    let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r";
    let closed = trickle(&mut slow, preface, Duration::from_millis(100)).await;
    assert!(closed, "the trickling HTTP/2 client was cut off");
    let export = async {
        TraceServiceClient::connect(format!("http://{grpc}"))
            .await
            .unwrap()
            .export(valid(6))
            .await
    };
    tokio::time::timeout(Duration::from_secs(20), export)
        .await
        .expect("gRPC served once the slow client was cut off")
        .expect("stored");
    v.shutdown().await;
}
