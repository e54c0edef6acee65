//! Load and faults over real sockets: many concurrent exporters lose nothing; a stalled store
//! gives retryable refusals that the real SDK's retry gets through; idle and half-sent requests
//! do not stop the viewer serving others.

use std::time::Duration;

use opentelemetry::trace::{Tracer, TracerProvider};
use opentelemetry_otlp::{RetryPolicy, SpanExporter, WithExportConfig, WithTonicConfig};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use opentelemetry_sdk::trace::SdkTracerProvider;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use viewer::{Config, Viewer};

fn request(trace: u64, spans: u64) -> ExportTraceServiceRequest {
    let mut trace_id = [0u8; 16];
    trace_id[8..].copy_from_slice(&trace.to_be_bytes());
    trace_id[0] = 1;
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: (1..=spans)
                    .map(|i| Span {
                        trace_id: trace_id.to_vec(),
                        span_id: i.to_be_bytes().to_vec(),
                        parent_span_id: if i == 1 {
                            vec![]
                        } else {
                            1u64.to_be_bytes().to_vec()
                        },
                        name: format!("span {i}"),
                        start_time_unix_nano: i,
                        end_time_unix_nano: i + 10,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_concurrent_exporters_lose_nothing() {
    let v = Viewer::start(Config::for_tests()).await.unwrap();
    let (grpc, http) = (v.grpc_addr(), v.http_addr());
    const REQUESTS: u64 = 40;
    const SPANS: u64 = 25;
    let mut tasks = Vec::new();
    for worker in 0..16u64 {
        tasks.push(tokio::spawn(async move {
            let mut acked = 0;
            if worker % 2 == 0 {
                let mut c = TraceServiceClient::connect(format!("http://{grpc}"))
                    .await
                    .unwrap();
                for r in 0..REQUESTS {
                    c.export(request(worker * 1000 + r, SPANS)).await.unwrap();
                    acked += SPANS;
                }
            } else {
                let client = reqwest::Client::new();
                for r in 0..REQUESTS {
                    let res = client
                        .post(format!("http://{http}/v1/traces"))
                        .header("content-type", "application/x-protobuf")
                        .body(request(worker * 1000 + r, SPANS).encode_to_vec())
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(res.status(), 200);
                    acked += SPANS;
                }
            }
            acked
        }));
    }
    let mut acked = 0;
    for t in tasks {
        acked += t.await.unwrap();
    }
    assert_eq!(acked, 16 * REQUESTS * SPANS);
    v.flush().await;
    let totals = v.totals();
    assert_eq!(totals.store.traces.received, acked);
    assert_eq!(
        totals.store.traces.spans, acked,
        "every acknowledged span is stored"
    );
    assert_eq!(totals.store.traces.traces, 16 * REQUESTS);
    v.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_store_refuses_retryably_and_the_sdk_retry_delivers() {
    let mut config = Config::for_tests();
    config.queue_spans = 1;
    config.queue_wait = Duration::from_millis(50);
    let v = Viewer::start(config).await.unwrap();
    let endpoint = format!("http://{}", v.grpc_addr());

    // Stall the store: hold its lock, and fill the queue with one acknowledged span.
    let store = std::sync::Arc::clone(v.store());
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let _guard = store.lock();
        locked_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(400));
    });
    locked_rx.recv().unwrap();
    let mut c = TraceServiceClient::connect(endpoint.clone()).await.unwrap();
    c.export(request(1, 1))
        .await
        .expect("first request fits the queue");

    let exporter = SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .with_retry_policy(
            RetryPolicy::default()
                .with_max_retries(20)
                .with_initial_delay(Duration::from_millis(50))
                .with_max_delay(Duration::from_millis(200)),
        )
        .build()
        .unwrap();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter)
        .build();
    let tracer = provider.tracer("retry");
    tokio::task::spawn_blocking(move || {
        tracer.in_span("delivered after retries", |_| {});
        provider.shutdown().unwrap();
    })
    .await
    .unwrap();
    holder.join().unwrap();

    v.flush().await;
    let totals = v.totals();
    assert!(totals.busy_refusals >= 1, "{totals:?}");
    let report = v.shutdown().await;
    assert!(report.contains("delivered after retries"), "{report}");
    assert!(
        report.contains("totals: 2 spans received, 2 stored"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_half_sent_requests_do_not_block_others() {
    let mut config = Config::for_tests();
    config.request_timeout = Duration::from_millis(500);
    let v = Viewer::start(config).await.unwrap();
    let (grpc, http) = (v.grpc_addr(), v.http_addr());

    // Hundreds of idle connections on both ports.
    let mut idle = Vec::new();
    for _ in 0..200 {
        idle.push(TcpStream::connect(grpc).await.unwrap());
        idle.push(TcpStream::connect(http).await.unwrap());
    }
    // Requests whose body never finishes.
    let mut half = Vec::new();
    for _ in 0..20 {
        let mut s = TcpStream::connect(http).await.unwrap();
        s.write_all(
            b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: 1000\r\n\r\nabc",
        )
        .await
        .unwrap();
        half.push(s);
    }
    // Clients that disconnect mid-request.
    for _ in 0..20 {
        let mut s = TcpStream::connect(http).await.unwrap();
        s.write_all(b"POST /v1/traces HTTP/1.1\r\nContent-Length: 500\r\n\r\nxx")
            .await
            .unwrap();
        drop(s);
    }

    // Others are still served, on both protocols.
    let mut c = TraceServiceClient::connect(format!("http://{grpc}"))
        .await
        .unwrap();
    c.export(request(7, 3)).await.expect("gRPC served");
    let res = reqwest::Client::new()
        .post(format!("http://{http}/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(request(8, 2).encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // A half-sent request is cut off by the request timeout.
    let mut answer = String::new();
    let read =
        tokio::time::timeout(Duration::from_secs(10), half[0].read_to_string(&mut answer)).await;
    assert!(read.is_ok(), "the viewer answers a stalled request in time");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    let totals = v.totals();
    assert_eq!(totals.store.traces.spans, 5);
    drop(idle);
    v.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_capped_and_idle_ones_closed() {
    let mut config = Config::for_tests();
    config.max_connections = 4;
    config.idle_timeout = Duration::from_millis(300);
    let v = Viewer::start(config).await.unwrap();
    let http = v.http_addr();

    // Fill every slot with idle connections.
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(http).await.unwrap());
    }
    let send = move || async move {
        reqwest::Client::new()
            .post(format!("http://{http}/v1/traces"))
            .header("content-type", "application/x-protobuf")
            .body(request(9, 1).encode_to_vec())
            .send()
            .await
            .map(|r| r.status())
    };
    // A fifth client waits for a slot rather than being served at once...
    let waiting = tokio::spawn(send());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!waiting.is_finished(), "served beyond the connection cap");
    // ...and is served once the idle connections are closed by the viewer.
    let status = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("served after idle connections were closed")
        .unwrap()
        .unwrap();
    assert_eq!(status, 200);
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), idle[0].read(&mut buf))
        .await
        .expect("the idle connection was closed by the viewer");
    assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    v.shutdown().await;
}
