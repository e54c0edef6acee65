//! The receivers over real sockets on port 0: a real tonic client and real HTTP requests,
//! including every refusal, and the viewer still serving afterwards.

use std::io::Write;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;
use tonic::codec::CompressionEncoding;
use viewer::{Config, Viewer};

mod support;
use support::raw_codec::RawCodec;

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

fn span(trace: u8, id: u8, parent: u8, name: &str) -> Span {
    Span {
        trace_id: vec![trace; 16],
        span_id: vec![id; 8],
        parent_span_id: if parent == 0 { vec![] } else { vec![parent; 8] },
        name: name.into(),
        kind: 2,
        start_time_unix_nano: 1_000_000_000 + u64::from(id) * 1000,
        end_time_unix_nano: 2_000_000_000,
        attributes: vec![kv("http.route", "/checkout")],
        ..Default::default()
    }
}

fn request(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", service)],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

async fn start(max_message_size: u64) -> Viewer {
    let mut config = Config::for_tests();
    config.max_message_size = max_message_size;
    Viewer::start(config).await.expect("start viewer")
}

async fn grpc_client(v: &Viewer) -> TraceServiceClient<tonic::transport::Channel> {
    TraceServiceClient::connect(format!("http://{}", v.grpc_addr()))
        .await
        .expect("connect")
}

#[tokio::test]
async fn grpc_export_stores_a_tree_and_reports_invalid_spans() {
    let v = start(16 << 20).await;
    let mut client = grpc_client(&v).await;
    let mut bad_len = span(1, 9, 0, "bad");
    bad_len.span_id = vec![1, 2, 3];
    let mut zero_trace = span(0, 8, 0, "zero");
    zero_trace.trace_id = vec![0; 16];
    let mut spans = vec![span(1, 2, 1, "child"), bad_len, zero_trace];
    spans[0].status = Some(Status {
        code: 2,
        message: "boom".into(),
    });
    let res = client
        .export(request("api", spans))
        .await
        .expect("export")
        .into_inner();
    let partial = res.partial_success.expect("partial success reported");
    assert_eq!(partial.rejected_spans, 2);
    assert!(partial.error_message.contains("2 span(s) rejected"));
    // The parent arrives in a later request, and the child re-links under it.
    let res = client
        .export(request("web", vec![span(1, 1, 0, "root")]))
        .await
        .unwrap()
        .into_inner();
    assert!(res.partial_success.is_none());
    let report = v.report().await;
    let expected_tree = format!("trace {} 2 spans, 2 services", "01".repeat(16));
    assert!(report.contains(&expected_tree), "{report}");
    assert!(report.contains("\n  web: root [server]"), "{report}");
    assert!(
        report.contains("\n    api: child [server] 1.00s ERROR boom"),
        "{report}"
    );
    assert!(
        report.contains("4 spans received, 2 stored, 1 traces, 2 rejected"),
        "{report}"
    );
    v.shutdown().await;
}

#[tokio::test]
async fn grpc_gzip_metrics_and_logs_are_accepted() {
    let v = start(16 << 20).await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", v.grpc_addr()))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut traces = TraceServiceClient::new(channel.clone())
        .send_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Gzip);
    traces
        .export(request("gz", vec![span(3, 1, 0, "zipped")]))
        .await
        .expect("gzip export");
    let metric = Metric {
        name: "requests".into(),
        data: Some(metric::Data::Gauge(Gauge {
            data_points: vec![NumberDataPoint::default(); 3],
        })),
        ..Default::default()
    };
    MetricsServiceClient::new(channel.clone())
        .export(ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![metric],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        })
        .await
        .expect("metrics accepted");
    LogsServiceClient::new(channel)
        .export(ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    log_records: vec![LogRecord::default(); 2],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        })
        .await
        .expect("logs accepted");
    let report = v.shutdown().await;
    assert!(report.contains("gz: zipped [server]"), "{report}");
    assert!(
        report.ends_with("3 metric data points, 2 log records\n"),
        "{report}"
    );
}

#[tokio::test]
async fn grpc_oversized_is_resource_exhausted_and_the_viewer_keeps_serving() {
    let v = start(64 * 1024).await;
    let mut client = grpc_client(&v).await;
    let mut big = span(4, 1, 0, "big");
    big.attributes = vec![kv("blob", &"x".repeat(100 * 1024))];
    let err = client
        .export(request("big", vec![big]))
        .await
        .expect_err("over the limit");
    assert_eq!(err.code(), tonic::Code::ResourceExhausted, "{err:?}");
    client
        .export(request("small", vec![span(5, 1, 0, "ok")]))
        .await
        .expect("still serving");
    let report = v.shutdown().await;
    assert!(report.contains("small: ok"));
    assert!(!report.contains("big"));
}

#[tokio::test]
async fn grpc_malformed_is_invalid_argument_and_the_viewer_keeps_serving() {
    let v = start(16 << 20).await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", v.grpc_addr()))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.unwrap();
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    );
    let err = grpc
        .unary(
            tonic::Request::new(vec![0xff, 0xff, 0xff, 0x0f, 0x01]),
            path,
            RawCodec,
        )
        .await
        .expect_err("garbage refused");
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
    TraceServiceClient::new(channel)
        .export(request("after", vec![span(6, 1, 0, "fine")]))
        .await
        .expect("still serving");
    assert!(v.shutdown().await.contains("after: fine"));
}

fn http_url(v: &Viewer, path: &str) -> String {
    format!("http://{}{path}", v.http_addr())
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[tokio::test]
async fn http_protobuf_json_and_gzip() {
    let v = start(16 << 20).await;
    let http = reqwest::Client::new();
    let res = http
        .post(http_url(&v, "/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(request("proto", vec![span(7, 1, 0, "p")]).encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/x-protobuf");

    // OTLP/JSON as the spec writes it: hex ids, enum numbers, 64-bit integers as strings.
    let json = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"json-svc"}}]},
      "scopeSpans":[{"scope":{"name":"s"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c",
      "spanId":"eee19b7ec3c1b174","name":"from json","kind":3,"startTimeUnixNano":"1544712660000000000",
      "endTimeUnixNano":"1544712661000000000","attributes":[{"key":"n","value":{"intValue":"42"}}]}]}]}]}"#;
    let res = http
        .post(http_url(&v, "/v1/traces"))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gzip(json.as_bytes()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{:?}", res.text().await);

    let res = http
        .post(http_url(&v, "/v1/metrics"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = http
        .post(http_url(&v, "/v1/logs"))
        .header("content-type", "application/x-protobuf")
        .body(Vec::new())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let report = v.shutdown().await;
    assert!(report.contains("proto: p [server]"), "{report}");
    assert!(
        report.contains("trace 5b8efff798038103d269b633813fc60c 1 spans"),
        "{report}"
    );
    assert!(
        report.contains("json-svc: from json [client] 1.00s"),
        "{report}"
    );
}

#[tokio::test]
async fn http_refusals_have_the_right_status_and_lose_nothing_else() {
    let v = start(64 * 1024).await;
    let http = reqwest::Client::new();
    let post = |ct: &'static str, body: Vec<u8>| {
        http.post(http_url(&v, "/v1/traces"))
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let res = post("application/x-protobuf", vec![0xff, 0xff, 0xff])
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let status = res.bytes().await.unwrap();
    assert!(!status.is_empty(), "a google.rpc.Status body");

    let res = post("application/json", b"{not json".to_vec())
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("malformed JSON"));

    let res = post("text/plain", b"hello".to_vec()).await.unwrap();
    assert_eq!(res.status(), 415);

    let res = post("application/x-protobuf", vec![0; 100 * 1024])
        .await
        .unwrap();
    assert_eq!(res.status(), 413);

    // A small gzip body that inflates past the limit.
    let res = http
        .post(http_url(&v, "/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(gzip(&vec![0; 1 << 20]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);

    let res = post(
        "application/x-protobuf",
        request("survivor", vec![span(8, 1, 0, "ok")]).encode_to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let report = v.shutdown().await;
    assert!(report.contains("survivor: ok"));
}

#[tokio::test]
async fn a_busy_port_is_reported_plainly() {
    let first = start(16 << 20).await;
    let mut config = Config::for_tests();
    config.grpc_addr = first.grpc_addr();
    let err = Viewer::start(config)
        .await
        .err()
        .expect("port in use")
        .to_string();
    assert!(
        err.contains(&format!(
            "cannot listen for OTLP/gRPC on {}",
            first.grpc_addr()
        )),
        "{err}"
    );
    assert!(err.contains("--grpc-addr"), "{err}");
    first.shutdown().await;
}

#[tokio::test]
async fn auth_token_is_required_over_grpc_and_http_when_set() {
    let mut config = Config::for_tests();
    config.auth_token = Some("s3cret".into());
    let v = Viewer::start(config).await.unwrap();

    let mut client = grpc_client(&v).await;
    let err = client
        .export(request("intruder", vec![span(9, 1, 0, "no token")]))
        .await
        .expect_err("refused");
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
    let mut wrong = tonic::Request::new(request("intruder", vec![span(9, 2, 0, "wrong")]));
    wrong
        .metadata_mut()
        .insert("authorization", "Bearer s3cre7".parse().unwrap());
    assert_eq!(
        client.export(wrong).await.unwrap_err().code(),
        tonic::Code::Unauthenticated
    );
    let mut right = tonic::Request::new(request("friend", vec![span(9, 3, 0, "grpc ok")]));
    right
        .metadata_mut()
        .insert("authorization", "Bearer s3cret".parse().unwrap());
    client.export(right).await.expect("authorized");

    let http = reqwest::Client::new();
    let body = request("friend", vec![span(10, 1, 0, "http ok")]).encode_to_vec();
    let res = http
        .post(http_url(&v, "/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = http
        .post(http_url(&v, "/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .header("authorization", "Bearer s3cret")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // The scheme in any case (RFC 7235).
    let res = http
        .post(http_url(&v, "/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .header("authorization", "bearer s3cret")
        .body(request("friend", vec![span(10, 2, 0, "lowercase ok")]).encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let report = v.shutdown().await;
    assert!(report.contains("friend: grpc ok"), "{report}");
    assert!(report.contains("friend: http ok"), "{report}");
    assert!(report.contains("friend: lowercase ok"), "{report}");
    assert!(!report.contains("intruder"), "{report}");
}

#[tokio::test]
async fn per_span_limits_truncate_and_cap() {
    let mut config = Config::for_tests();
    config.max_attr_len = 32;
    config.max_attrs = 3;
    config.max_trace_spans = 2;
    let v = Viewer::start(config).await.unwrap();
    let mut client = grpc_client(&v).await;
    let mut s = span(11, 1, 0, "limited");
    s.attributes = (0..10)
        .map(|i| kv(&format!("k{i}"), &"v".repeat(100)))
        .collect();
    let spans = vec![s, span(11, 2, 1, "second"), span(11, 3, 1, "third")];
    client.export(request("lim", spans)).await.unwrap();
    v.flush().await;
    {
        let store = v.store().lock();
        let t = store
            .trace(store.find(u128::from_be_bytes([11; 16])).unwrap())
            .unwrap();
        assert_eq!(t.span_count(), 2, "third span dropped: the trace is full");
        let first = &t.spans()[0];
        assert_eq!(first.attrs.len(), 3);
        let value = store.value_text(&first.attrs[0].value()).into_owned();
        assert!(value.starts_with(&"v".repeat(32)), "{value}");
        assert!(value.ends_with("…[68 more bytes]"), "{value}");
        assert_eq!(store.stats().traces.trace_full, 1);
    }
    v.shutdown().await;
}
