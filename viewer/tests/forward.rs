//! `--forward`: what one viewer receives reaches an upstream OTLP receiver (here a second
//! viewer) over gRPC and over HTTP, all three signals; with upstream gone, local ingest goes on
//! and what could not be forwarded is counted.

use std::time::Duration;

use clap::Parser as _;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use std::sync::atomic::Ordering;
use viewer::{Config, Viewer};

fn config(args: &[&str]) -> Config {
    let mut all = vec![
        "viewer",
        "--grpc-addr",
        "127.0.0.1:0",
        "--http-addr",
        "127.0.0.1:0",
        "--headless",
    ];
    all.extend_from_slice(args);
    Config::parse_from(all)
}

fn resource() -> Option<Resource> {
    Some(Resource {
        attributes: vec![KeyValue {
            key: "service.name".into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue("edge".into())),
            }),
            ..Default::default()
        }],
        ..Default::default()
    })
}

fn spans(trace: u8) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(),
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: vec![trace; 16],
                    span_id: vec![trace; 8],
                    name: format!("request {trace}"),
                    start_time_unix_nano: 1_000_000,
                    end_time_unix_nano: 5_000_000,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn logs() -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(),
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    time_unix_nano: 1_700_000_000_000_000_000,
                    severity_number: 17,
                    body: Some(AnyValue {
                        value: Some(any_value::Value::StringValue("disk full".into())),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn metrics() -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "queue.depth".into(),
                    unit: "1".into(),
                    data: Some(metric::Data::Gauge(Gauge {
                        data_points: vec![NumberDataPoint {
                            time_unix_nano: 1_700_000_000_000_000_000,
                            value: Some(number_data_point::Value::AsInt(42)),
                            ..Default::default()
                        }],
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Sends one trace request, the log request and the metric request to `viewer` over gRPC.
async fn send_all(viewer: &Viewer, trace: u8) {
    let url = format!("http://{}", viewer.grpc_addr());
    TraceServiceClient::connect(url.clone())
        .await
        .unwrap()
        .export(spans(trace))
        .await
        .unwrap();
    LogsServiceClient::connect(url.clone())
        .await
        .unwrap()
        .export(logs())
        .await
        .unwrap();
    MetricsServiceClient::connect(url)
        .await
        .unwrap()
        .export(metrics())
        .await
        .unwrap();
}

/// Waits (up to 10 s) until `viewer` holds `traces` traces, a log record and a metric.
async fn wait_for(viewer: &Viewer, traces: u64) {
    for _ in 0..200 {
        {
            let s = viewer.store().lock().stats();
            if s.traces.traces >= traces && s.logs.records >= 1 && s.metrics.metrics >= 1 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("upstream never got everything");
}

fn without_totals(report: &str) -> String {
    report
        .lines()
        .filter(|l| !l.starts_with("totals:") && !l.starts_with("forwarded:"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_received_reaches_upstream_over_grpc_and_http() {
    for scheme in ["grpc", "http"] {
        // Upstream wants a token: the header given with --forward-header must reach it.
        let upstream = Viewer::start(config(&["--auth-token", "s3cret"]))
            .await
            .unwrap();
        let addr = if scheme == "grpc" {
            upstream.grpc_addr()
        } else {
            upstream.http_addr()
        };
        let url = format!("{scheme}://{addr}");
        let edge = Viewer::start(config(&[
            "--forward",
            &url,
            "--forward-header",
            "authorization=Bearer%20s3cret",
        ]))
        .await
        .unwrap();
        send_all(&edge, 7).await;
        wait_for(&upstream, 1).await;
        let counters = edge.counters();
        let forward = &counters.forward;
        for _ in 0..100 {
            if forward.requests.load(Ordering::Relaxed) == 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(forward.requests.load(Ordering::Relaxed), 3, "{scheme}");
        assert_eq!(forward.items.load(Ordering::Relaxed), 3, "{scheme}");
        assert_eq!(forward.dropped_requests.load(Ordering::Relaxed), 0);
        let local = edge.shutdown().await;
        let remote = upstream.shutdown().await;
        assert!(local.contains("edge: request 7"), "{local}");
        assert!(
            local.contains("disk full") && local.contains("queue.depth"),
            "{local}"
        );
        assert!(
            local.contains("forwarded: 3 requests (3 items), 0 not forwarded"),
            "{local}"
        );
        assert_eq!(
            without_totals(&remote),
            without_totals(&local),
            "over {scheme}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_upstream_gone_local_ingest_goes_on_and_the_rest_is_counted() {
    let upstream = Viewer::start(config(&[])).await.unwrap();
    let url = format!("grpc://{}", upstream.grpc_addr());
    let edge = Viewer::start(config(&["--forward", &url, "--forward-queue", "2"]))
        .await
        .unwrap();
    send_all(&edge, 1).await;
    wait_for(&upstream, 1).await;
    // Upstream stops mid-run (as a Jaeger or a Collector going away).
    drop(upstream.shutdown().await);
    for trace in 2..=21 {
        let url = format!("http://{}", edge.grpc_addr());
        TraceServiceClient::connect(url)
            .await
            .unwrap()
            .export(spans(trace))
            .await
            .expect("acknowledged locally");
    }
    // Each was acknowledged without waiting for upstream (waiting, each would take the 30 s
    // a forward is retried for).
    let counters = edge.counters();
    let forward = &counters.forward;
    // Four senders retrying and two waiting at most: of 20 requests, 14 or more not forwarded.
    assert!(
        forward.dropped_requests.load(Ordering::Relaxed) >= 14,
        "{}",
        forward.dropped_requests.load(Ordering::Relaxed)
    );
    assert!(forward.retries.load(Ordering::Relaxed) >= 1);
    let report = edge.shutdown().await;
    assert_eq!(report.matches("edge: request ").count(), 21, "{report}");
    assert!(report.contains("not forwarded"), "{report}");
}
