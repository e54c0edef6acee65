//! Metrics and logs at the receivers, over real sockets on port 0 (a real tonic client, real
//! HTTP requests): malformed requests are refused (gRPC `INVALID_ARGUMENT`, HTTP 400) and the
//! viewer keeps serving; invalid log records and histogram points are dropped, reported back
//! in `partial_success`, and the rest of their batch kept; log bodies are escaped and cut at
//! `--max-attr-len` in the report.

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use tonic::transport::Channel;
use viewer::{Config, Viewer};

mod support;
use support::raw_codec::RawCodec;

/// 2023-11-14T22:13:20Z.
const T0: u64 = 1_700_000_000_000_000_000;

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(text(value)),
        ..Default::default()
    }
}

fn text(s: &str) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::StringValue(s.into())),
    }
}

fn resource(service: &str) -> Option<Resource> {
    Some(Resource {
        attributes: vec![kv("service.name", service)],
        ..Default::default()
    })
}

/// A log record at `T0 + n` seconds, INFO, with the body, trace id and span id given.
fn log(n: u64, body: &str, trace_id: Vec<u8>, span_id: Vec<u8>) -> LogRecord {
    LogRecord {
        time_unix_nano: T0 + n * 1_000_000_000,
        severity_number: 9,
        body: Some(text(body)),
        trace_id,
        span_id,
        ..Default::default()
    }
}

fn logs(service: &str, records: Vec<LogRecord>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(service),
            scope_logs: vec![ScopeLogs {
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn metrics(service: &str, metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(service),
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// A cumulative monotonic sum `requests` with one point per `(endpoint, value)`.
fn counter(points: &[(&str, i64)]) -> Metric {
    Metric {
        name: "requests".into(),
        unit: "1".into(),
        data: Some(metric::Data::Sum(Sum {
            data_points: points
                .iter()
                .map(|&(endpoint, v)| NumberDataPoint {
                    attributes: vec![kv("endpoint", endpoint)],
                    start_time_unix_nano: T0,
                    time_unix_nano: T0 + 1_000_000_000,
                    value: Some(number_data_point::Value::AsInt(v)),
                    ..Default::default()
                })
                .collect(),
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            is_monotonic: true,
        })),
        ..Default::default()
    }
}

/// A histogram point on `route` with bounds 10, 100 and the bucket counts given.
fn histogram_point(route: &str, counts: Vec<u64>, sum: f64) -> HistogramDataPoint {
    HistogramDataPoint {
        attributes: vec![kv("http.route", route)],
        start_time_unix_nano: T0,
        time_unix_nano: T0 + 1_000_000_000,
        count: counts.iter().sum(),
        sum: Some(sum),
        bucket_counts: counts,
        explicit_bounds: vec![10.0, 100.0],
        ..Default::default()
    }
}

fn histogram(points: Vec<HistogramDataPoint>) -> Metric {
    Metric {
        name: "duration".into(),
        unit: "ms".into(),
        data: Some(metric::Data::Histogram(Histogram {
            data_points: points,
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
        })),
        ..Default::default()
    }
}

async fn start(max_attr_len: u64) -> Viewer {
    let mut config = Config::for_tests();
    config.max_attr_len = max_attr_len;
    Viewer::start(config).await.expect("start viewer")
}

async fn channel(v: &Viewer) -> Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{}", v.grpc_addr()))
        .unwrap()
        .connect()
        .await
        .expect("connect")
}

/// Posts a protobuf message to the viewer's OTLP/HTTP `path`; the status and the body.
async fn post_proto(v: &Viewer, path: &str, body: Vec<u8>) -> (u16, bytes::Bytes) {
    post(v, path, "application/x-protobuf", body).await
}

async fn post(v: &Viewer, path: &str, content_type: &str, body: Vec<u8>) -> (u16, bytes::Bytes) {
    let res = reqwest::Client::new()
        .post(format!("http://{}{path}", v.http_addr()))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("post");
    (res.status().as_u16(), res.bytes().await.expect("body"))
}

/// The report's `log` lines.
fn log_lines(report: &str) -> Vec<&str> {
    report.lines().filter(|l| l.starts_with("log ")).collect()
}

/// Bytes that are no protobuf message: a field key whose varint never ends.
const GARBAGE: [u8; 5] = [0xff, 0xff, 0xff, 0xff, 0xff];

#[tokio::test]
async fn malformed_metrics_and_logs_are_refused_and_the_viewer_keeps_serving() {
    let v = start(16 * 1024).await;
    let channel = channel(&v).await;
    for path in [
        "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
        "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    ] {
        let mut grpc = tonic::client::Grpc::new(channel.clone());
        grpc.ready().await.unwrap();
        let err = grpc
            .unary(
                tonic::Request::new(GARBAGE.to_vec()),
                tonic::codegen::http::uri::PathAndQuery::from_static(path),
                RawCodec,
            )
            .await
            .expect_err("garbage refused");
        assert_eq!(err.code(), tonic::Code::InvalidArgument, "{path}: {err:?}");
    }
    for path in ["/v1/metrics", "/v1/logs"] {
        let (status, body) = post_proto(&v, path, GARBAGE.to_vec()).await;
        assert_eq!(status, 400, "{path}");
        assert!(!body.is_empty(), "{path}: a google.rpc.Status body");
        let (status, body) = post(&v, path, "application/json", b"{\"resource".to_vec()).await;
        assert_eq!(status, 400, "{path}");
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains("malformed JSON"), "{path}: {body}");
    }
    // (At least) the four HTTP refusals are counted.
    assert!(v.totals().bad_requests >= 4, "{:?}", v.totals());

    // Still serving both signals, over both transports.
    MetricsServiceClient::new(channel.clone())
        .export(metrics("after-grpc", vec![counter(&[("jokes api", 2)])]))
        .await
        .expect("metrics still accepted over gRPC");
    LogsServiceClient::new(channel)
        .export(logs(
            "after-grpc",
            vec![log(1, "still here", vec![], vec![])],
        ))
        .await
        .expect("logs still accepted over gRPC");
    let body = metrics("after-http", vec![counter(&[("hello api", 3)])]).encode_to_vec();
    assert_eq!(post_proto(&v, "/v1/metrics", body).await.0, 200);
    let body = logs("after-http", vec![log(2, "me too", vec![], vec![])]).encode_to_vec();
    assert_eq!(post_proto(&v, "/v1/logs", body).await.0, 200);

    let report = v.shutdown().await;
    assert!(
        report.contains("metric requests counter 1 after-grpc\n  endpoint=\"jokes api\" 2\n"),
        "{report}"
    );
    assert!(
        report.contains("metric requests counter 1 after-http\n  endpoint=\"hello api\" 3\n"),
        "{report}"
    );
    assert_eq!(
        log_lines(&report),
        [
            "log 2023-11-14T22:13:21.000000Z INFO after-grpc still here",
            "log 2023-11-14T22:13:22.000000Z INFO after-http me too",
        ],
        "{report}"
    );
}

/// Three records: a good one with a trace, one with a 3-byte trace id, one with a 5-byte span id.
fn logs_with_bad_ids(service: &str, n: u64) -> ExportLogsServiceRequest {
    logs(
        service,
        vec![
            log(n, "kept", vec![0xab; 16], vec![0xcd; 8]),
            log(n, "short trace id", vec![1, 2, 3], vec![0xcd; 8]),
            log(n, "short span id", vec![0xab; 16], vec![1, 2, 3, 4, 5]),
        ],
    )
}

#[tokio::test]
async fn log_records_with_bad_ids_are_dropped_and_reported_over_grpc_and_http() {
    let v = start(16 * 1024).await;
    let res = LogsServiceClient::new(channel(&v).await)
        .export(logs_with_bad_ids("grpc", 1))
        .await
        .expect("export")
        .into_inner();
    let partial = res.partial_success.expect("partial success over gRPC");
    assert_eq!(partial.rejected_log_records, 2);
    assert!(
        partial.error_message.contains("2 log record(s) rejected")
            && partial.error_message.contains("trace_id"),
        "{}",
        partial.error_message
    );

    let (status, body) =
        post_proto(&v, "/v1/logs", logs_with_bad_ids("http", 2).encode_to_vec()).await;
    assert_eq!(status, 200);
    let res = ExportLogsServiceResponse::decode(body).expect("a protobuf response");
    let partial = res.partial_success.expect("partial success over HTTP");
    assert_eq!(partial.rejected_log_records, 2);
    assert!(partial.error_message.contains("trace_id"), "{partial:?}");

    // A good batch gets no partial success at all.
    let (status, body) = post_proto(
        &v,
        "/v1/logs",
        logs("http", vec![log(3, "fine", vec![], vec![])]).encode_to_vec(),
    )
    .await;
    assert_eq!(status, 200);
    let res = ExportLogsServiceResponse::decode(body).unwrap();
    assert_eq!(res.partial_success, None);

    v.flush().await;
    {
        let store = v.store().lock();
        let stats = store.logs.stats();
        assert_eq!((stats.records, stats.rejected), (3, 4));
        assert_eq!(
            store.logs.of_trace(u128::from_be_bytes([0xab; 16])).count(),
            2
        );
    }
    let report = v.shutdown().await;
    let trace = "ab".repeat(16);
    let span = "cd".repeat(8);
    assert_eq!(
        log_lines(&report),
        [
            format!("log 2023-11-14T22:13:21.000000Z INFO grpc kept trace={trace} span={span}"),
            format!("log 2023-11-14T22:13:22.000000Z INFO http kept trace={trace} span={span}"),
            "log 2023-11-14T22:13:23.000000Z INFO http fine".to_owned(),
        ],
        "{report}"
    );
    assert!(!report.contains("short"), "{report}");
}

/// A good histogram point, one with two bucket counts for two bounds, and a number point with
/// no value.
fn metrics_with_bad_points(service: &str) -> ExportMetricsServiceRequest {
    let mut no_value = counter(&[("broken", 1)]);
    if let Some(metric::Data::Sum(s)) = &mut no_value.data {
        s.data_points[0].value = None;
    }
    metrics(
        service,
        vec![
            histogram(vec![
                histogram_point("/jokes", vec![2, 6, 2], 400.0),
                histogram_point("/hello", vec![1, 1], 12.0),
            ]),
            no_value,
        ],
    )
}

#[tokio::test]
async fn histogram_points_whose_buckets_do_not_match_their_bounds_are_rejected() {
    let v = start(16 * 1024).await;
    let res = MetricsServiceClient::new(channel(&v).await)
        .export(metrics_with_bad_points("grpc"))
        .await
        .expect("export")
        .into_inner();
    let partial = res.partial_success.expect("partial success over gRPC");
    assert_eq!(partial.rejected_data_points, 2);
    assert!(
        partial.error_message.contains("2 data point(s) rejected")
            && partial.error_message.contains("bucket"),
        "{}",
        partial.error_message
    );

    let (status, body) = post_proto(
        &v,
        "/v1/metrics",
        metrics_with_bad_points("http").encode_to_vec(),
    )
    .await;
    assert_eq!(status, 200);
    let res = ExportMetricsServiceResponse::decode(body).expect("a protobuf response");
    let partial = res.partial_success.expect("partial success over HTTP");
    assert_eq!(partial.rejected_data_points, 2);

    let report = v.shutdown().await;
    // The good point of each request is kept: count 10 (2 / 6 / 2 over bounds 10, 100), so the
    // median is in (10, 100].
    for service in ["grpc", "http"] {
        let header = format!("metric duration histogram ms {service}\n");
        let at = report
            .find(&header)
            .unwrap_or_else(|| panic!("{header}{report}"));
        let rest = &report[at + header.len()..];
        assert!(
            rest.starts_with("  http.route=/jokes count=10 sum=400 p50="),
            "{report}"
        );
        assert!(
            !rest.lines().nth(1).unwrap().starts_with("  "),
            "one series only: {report}"
        );
    }
    assert!(
        !report.contains("/hello") && !report.contains("broken"),
        "{report}"
    );
}

#[tokio::test]
async fn log_bodies_are_escaped_and_cut_at_max_attr_len() {
    let v = start(16).await;
    let mut escape = log(1, "\x1b[2Jcls\x07\r\nok", vec![], vec![]);
    // No severity number: the sender's own text is shown, escaped too.
    escape.severity_number = 0;
    escape.severity_text = "NOTICE\x1b[0m".into();
    let long = log(2, "0123456789abcdefghij-the-rest", vec![], vec![]);
    // 11 bytes then 10 two-byte chars: the cut at 16 falls inside one, so it goes back to 15.
    let multibyte = log(
        3,
        &format!("{}{}", "x".repeat(11), "é".repeat(10)),
        vec![],
        vec![],
    );
    let exact = log(4, "sixteen bytes ok", vec![], vec![]);
    let body = logs("esc", vec![escape, long]).encode_to_vec();
    assert_eq!(post_proto(&v, "/v1/logs", body).await.0, 200);
    LogsServiceClient::new(channel(&v).await)
        .export(logs("cut", vec![multibyte, exact]))
        .await
        .expect("export");
    let report = v.shutdown().await;
    assert!(
        !report.contains('\x1b') && !report.contains('\x07'),
        "{report}"
    );
    assert_eq!(
        log_lines(&report),
        [
            "log 2023-11-14T22:13:21.000000Z NOTICE\\x1b[0m esc \\x1b[2Jcls\\x07\\r\\nok",
            "log 2023-11-14T22:13:22.000000Z INFO esc 0123456789abcdef…[13 more bytes]",
            "log 2023-11-14T22:13:23.000000Z INFO cut xxxxxxxxxxxéé…[16 more bytes]",
            "log 2023-11-14T22:13:24.000000Z INFO cut sixteen bytes ok",
        ],
        "{report}"
    );
}

/// OTLP attributes are a set: a series is one series whatever order a sender lists them in.
/// Senders differ (the Rust SDK exports some series' attributes sorted, others in the order they
/// were recorded), and a collector between sender and viewer may reorder them.
#[tokio::test]
async fn a_series_is_one_series_whatever_the_order_of_its_attributes() {
    let v = start(16 * 1024).await;
    let mut client = MetricsServiceClient::new(channel(&v).await);
    for (time, value, attrs) in [
        (1, 2, vec![kv("route", "/a"), kv("method", "GET")]),
        (2, 5, vec![kv("method", "GET"), kv("route", "/a")]),
    ] {
        let mut m = counter(&[("unused", value)]);
        if let Some(metric::Data::Sum(s)) = &mut m.data {
            s.data_points[0].attributes = attrs;
            s.data_points[0].time_unix_nano = T0 + time * 1_000_000_000;
        }
        client
            .export(metrics("api", vec![m]))
            .await
            .expect("export");
    }
    let report = v.shutdown().await;
    let series: Vec<&str> = report
        .lines()
        .skip_while(|l| !l.starts_with("metric requests "))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect();
    assert_eq!(series.len(), 1, "one series, at 5: {report}");
    assert!(series[0].ends_with(" 5"), "{report}");
}
