//! Request logs go out through the OpenTelemetry logs SDK over OTLP gRPC, beside the traces: the
//! demo services export to an in-test collector on a free port, and every log record carries its
//! service's `service.name` and the trace and span ids of the request's SERVER span.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use demo_api::telemetry::TelemetryConfig;
use demo_api::{Options, Service};
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use tokio::sync::oneshot;
use tonic::{Request, Response, Status};

/// What the collector received.
#[derive(Clone, Default)]
struct Received {
    traces: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
    logs: Arc<Mutex<Vec<ExportLogsServiceRequest>>>,
}

#[tonic::async_trait]
impl TraceService for Received {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.traces.lock().unwrap().push(request.into_inner());
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl LogsService for Received {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        self.logs.lock().unwrap().push(request.into_inner());
        Ok(Response::new(ExportLogsServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Received {
    async fn export(
        &self,
        _request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

/// An OTLP gRPC collector on a free port of 127.0.0.1; send on the sender to stop it.
async fn collector() -> (SocketAddr, Received, oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let received = Received::default();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tonic::transport::Server::builder()
        .add_service(TraceServiceServer::new(received.clone()))
        .add_service(LogsServiceServer::new(received.clone()))
        .add_service(MetricsServiceServer::new(received.clone()))
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(listener),
            async {
                let _ = stopped.await;
            },
        );
    tokio::spawn(server);
    (addr, received, stop)
}

fn service_name(resource: Option<&Resource>) -> String {
    resource
        .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
        .and_then(|kv| string(kv.value.as_ref()))
        .expect("a service.name")
}

fn string(value: Option<&AnyValue>) -> Option<String> {
    match value?.value.as_ref()? {
        Value::StringValue(s) => Some(s.clone()),
        _ => None,
    }
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

fn text(attributes: &[KeyValue], key: &str) -> Option<String> {
    match attribute(attributes, key)? {
        Value::StringValue(s) => Some(s.clone()),
        _ => None,
    }
}

/// Every log record received, with its resource's `service.name`.
fn log_records(received: &Received) -> Vec<(String, LogRecord)> {
    let mut records = Vec::new();
    for request in received.logs.lock().unwrap().iter() {
        for resource_logs in &request.resource_logs {
            let service = service_name(resource_logs.resource.as_ref());
            for scope_logs in &resource_logs.scope_logs {
                for record in &scope_logs.log_records {
                    records.push((service.clone(), record.clone()));
                }
            }
        }
    }
    records
}

/// Every span received, with its resource's `service.name`.
fn spans(received: &Received) -> Vec<(String, Span)> {
    let mut spans = Vec::new();
    for request in received.traces.lock().unwrap().iter() {
        for resource_spans in &request.resource_spans {
            let service = service_name(resource_spans.resource.as_ref());
            for scope_spans in &resource_spans.scope_spans {
                for span in &scope_spans.spans {
                    spans.push((service.clone(), span.clone()));
                }
            }
        }
    }
    spans
}

/// The single record whose body starts with `prefix`.
fn record<'a>(records: &'a [(String, LogRecord)], prefix: &str) -> &'a (String, LogRecord) {
    let found: Vec<_> = records
        .iter()
        .filter(|(_, r)| string(r.body.as_ref()).is_some_and(|b| b.starts_with(prefix)))
        .collect();
    assert_eq!(found.len(), 1, "one record for {prefix:?} in {records:#?}");
    found[0]
}

/// The SERVER span the record belongs to, of the same service: same trace id and span id.
fn server_span<'a>(
    spans: &'a [(String, Span)],
    (service, record): &(String, LogRecord),
) -> &'a Span {
    assert_eq!(record.trace_id.len(), 16, "a trace id: {record:?}");
    assert_eq!(record.span_id.len(), 8, "a span id: {record:?}");
    let (span_service, span) = spans
        .iter()
        .find(|(_, s)| s.trace_id == record.trace_id && s.span_id == record.span_id)
        .unwrap_or_else(|| panic!("no exported span with the ids of {record:?}"));
    assert_eq!(
        span_service, service,
        "the log's and the span's service.name"
    );
    assert_eq!(span.kind, SpanKind::Server as i32, "{}", span.name);
    span
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_logs_arrive_over_otlp_on_their_server_spans() {
    let (addr, received, stop) = collector().await;
    let config = TelemetryConfig::otlp(format!("http://{addr}"));
    let mut options = Options::for_tests();
    options.only = vec![Service::JokesApi, Service::DonutShop];
    // Nothing listens there: /jokes fails upstream (502).
    options.joke_source_url = Some({
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", dead.local_addr().unwrap())
    });
    let services = demo_api::start(&options, &config).await.unwrap();
    let api = services.url(Service::JokesApi).unwrap();
    let shop = services.url(Service::DonutShop).unwrap();
    let client = reqwest::Client::new();

    let hello = client.get(format!("{api}/hello")).send().await.unwrap();
    assert_eq!(hello.status(), 200);
    let jokes = client.get(format!("{api}/jokes")).send().await.unwrap();
    assert_eq!(jokes.status(), 502);
    let order = client
        .post(format!("{shop}/order"))
        .json(&serde_json::json!({"donuts": [{"flavor": "kale", "quantity": 1}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(order.status(), 400);

    // Shutting the services down flushes every provider to the collector.
    services.shutdown().await;
    assert!(!config.export_failed(), "export to the collector failed");
    let _ = stop.send(());
    let records = log_records(&received);
    let spans = spans(&received);
    assert_eq!(records.len(), 3, "one record per request: {records:#?}");

    // Success: info, on jokes-api's GET /hello span.
    let ok = record(&records, "GET /hello 200 in ");
    let (service, log) = ok;
    assert_eq!(service, "jokes-api");
    assert_eq!(log.severity_number, 9, "INFO");
    assert_eq!(log.severity_text, "INFO");
    let body = string(log.body.as_ref()).unwrap();
    assert!(body.ends_with(" ms"), "{body}");
    assert_eq!(text(&log.attributes, "http.request.method").unwrap(), "GET");
    assert_eq!(text(&log.attributes, "http.route").unwrap(), "/hello");
    assert_eq!(text(&log.attributes, "url.path").unwrap(), "/hello");
    assert_eq!(
        attribute(&log.attributes, "http.response.status_code"),
        Some(&Value::IntValue(200))
    );
    assert!(matches!(
        attribute(&log.attributes, "duration_ms"),
        Some(Value::DoubleValue(ms)) if *ms >= 0.0
    ));
    assert!(attribute(&log.attributes, "exception.message").is_none());
    assert_eq!(server_span(&spans, ok).name, "GET /hello");

    // Upstream failure: error, with the message the caller got.
    let failed = record(&records, "GET /jokes 502 in ");
    let (service, log) = failed;
    assert_eq!(service, "jokes-api");
    assert_eq!(log.severity_number, 17, "ERROR");
    assert_eq!(log.severity_text, "ERROR");
    let message = text(&log.attributes, "exception.message").unwrap();
    assert!(
        message.starts_with("cannot reach the joke source"),
        "{message}"
    );
    assert!(string(log.body.as_ref()).unwrap().ends_with(&message));
    assert_eq!(text(&log.attributes, "error.type").unwrap(), "502");
    let span = server_span(&spans, failed);
    assert_eq!(span.name, "GET /jokes");
    assert_eq!(
        span.status.as_ref().map(|s| s.code),
        Some(opentelemetry_proto::tonic::trace::v1::status::StatusCode::Error as i32)
    );

    // A client's mistake: warn, from donut-shop, naming the problem.
    let mistake = record(&records, "POST /order 400 in ");
    let (service, log) = mistake;
    assert_eq!(service, "donut-shop");
    assert_eq!(log.severity_number, 13, "WARN");
    assert_eq!(log.severity_text, "WARN");
    let message = text(&log.attributes, "exception.message").unwrap();
    assert!(message.contains("kale"), "{message}");
    assert_eq!(server_span(&spans, mistake).name, "POST /order");
}
