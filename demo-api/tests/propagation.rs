//! Trace context crosses real HTTP hops: each service has its own provider (its own in-memory
//! exporter here), and the downstream SERVER span's parent is the upstream CLIENT span.

use std::net::SocketAddr;

use demo_api::telemetry::{PropagatorKind, Telemetry, propagator};
use demo_api::{joke_source, jokes_api, kitchen, serve};
use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tokio::net::TcpListener;
use tokio::sync::watch;

struct Service {
    telemetry: Telemetry,
    spans: InMemorySpanExporter,
}

impl Service {
    fn new(name: &str, kinds: &[PropagatorKind]) -> Self {
        let spans = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(spans.clone())
            .build();
        let telemetry = Telemetry::from_providers(
            name,
            provider,
            SdkMeterProvider::builder().build(),
            SdkLoggerProvider::builder().build(),
            propagator(kinds),
        );
        Self { telemetry, spans }
    }

    fn finished(&self) -> Vec<SpanData> {
        self.spans.get_finished_spans().unwrap()
    }

    fn one(&self, kind: &SpanKind, name: &str) -> SpanData {
        let spans: Vec<SpanData> = self
            .finished()
            .into_iter()
            .filter(|s| &s.span_kind == kind && s.name == name)
            .collect();
        assert_eq!(spans.len(), 1, "{name}: {spans:#?}");
        spans.into_iter().next().unwrap()
    }
}

async fn spawn(router: axum::Router, stop: &watch::Receiver<bool>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, router, stop.clone()));
    addr
}

fn attribute(span: &SpanData, key: &str) -> Option<opentelemetry::Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

/// A caller's CLIENT span -> jokes-api SERVER -> jokes-api CLIENT -> joke-source SERVER.
async fn hop(kinds: &[PropagatorKind]) {
    let (_stop_tx, stop) = watch::channel(false);
    let source = Service::new("joke-source", kinds);
    let api = Service::new("jokes-api", kinds);
    let caller = Service::new("caller", kinds);
    let source_addr = spawn(
        joke_source::app(source.telemetry.clone(), joke_source::Settings::reliable()),
        &stop,
    )
    .await;
    let api_addr = spawn(
        jokes_api::app(api.telemetry.clone(), format!("http://{source_addr}")),
        &stop,
    )
    .await;

    let url = format!("http://{api_addr}/jokes");
    let response = caller
        .telemetry
        .send(caller.telemetry.http().get(&url))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let joke: joke_source::Joke = response.json().await.unwrap();
    assert!(!joke.setup.is_empty());

    let caller_client = caller.one(&SpanKind::Client, "GET /jokes");
    let api_server = api.one(&SpanKind::Server, "GET /jokes");
    let api_client = api.one(&SpanKind::Client, "GET /random_joke");
    let source_server = source.one(&SpanKind::Server, "GET /random_joke");

    let trace_id = caller_client.span_context.trace_id();
    for span in [&api_server, &api_client, &source_server] {
        assert_eq!(span.span_context.trace_id(), trace_id, "{}", span.name);
    }
    assert_eq!(caller_client.parent_span_id, SpanId::INVALID);
    assert_eq!(
        api_server.parent_span_id,
        caller_client.span_context.span_id()
    );
    assert!(api_server.parent_span_is_remote);
    assert_eq!(api_client.parent_span_id, api_server.span_context.span_id());
    assert_eq!(
        source_server.parent_span_id,
        api_client.span_context.span_id()
    );

    // Current HTTP semantic conventions on both sides of the hop.
    assert_eq!(
        attribute(&source_server, "http.route").unwrap().as_str(),
        "/random_joke"
    );
    assert_eq!(
        attribute(&source_server, "http.request.method")
            .unwrap()
            .as_str(),
        "GET"
    );
    assert_eq!(
        attribute(&source_server, "http.response.status_code"),
        Some(opentelemetry::Value::I64(200))
    );
    assert_eq!(
        attribute(&source_server, "server.port"),
        Some(opentelemetry::Value::I64(i64::from(source_addr.port())))
    );
    assert!(attribute(&source_server, "user_agent.original").is_some());
    assert_eq!(
        attribute(&api_client, "url.full").unwrap().as_str(),
        format!("http://{source_addr}/random_joke")
    );
    assert_eq!(
        attribute(&api_client, "server.address").unwrap().as_str(),
        "127.0.0.1"
    );
    assert_eq!(
        attribute(&api_client, "http.response.status_code"),
        Some(opentelemetry::Value::I64(200))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn w3c_trace_context_crosses_a_real_hop() {
    hop(&[PropagatorKind::TraceContext, PropagatorKind::Baggage]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b3_single_header_crosses_a_real_hop() {
    hop(&[PropagatorKind::B3]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b3_multi_headers_cross_a_real_hop() {
    hop(&[PropagatorKind::B3Multi]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_failure_marks_spans_as_errors() {
    let (_stop_tx, stop) = watch::channel(false);
    let kinds = [PropagatorKind::TraceContext];
    let source = Service::new("joke-source", &kinds);
    let api = Service::new("jokes-api", &kinds);
    let settings = joke_source::Settings {
        fail_rate: 1.0,
        ..joke_source::Settings::reliable()
    };
    let source_addr = spawn(joke_source::app(source.telemetry.clone(), settings), &stop).await;
    let api_addr = spawn(
        jokes_api::app(api.telemetry.clone(), format!("http://{source_addr}")),
        &stop,
    )
    .await;
    let response = reqwest::get(format!("http://{api_addr}/jokes"))
        .await
        .unwrap();
    assert_eq!(response.status(), 502);

    let source_server = source.one(&SpanKind::Server, "GET /random_joke");
    assert!(matches!(source_server.status, Status::Error { .. }));
    assert_eq!(
        attribute(&source_server, "error.type").unwrap().as_str(),
        "503"
    );
    assert!(
        source_server.events.iter().any(|e| e.name == "exception"),
        "the exception is recorded"
    );
    let api_client = api.one(&SpanKind::Client, "GET /random_joke");
    assert!(matches!(api_client.status, Status::Error { .. }));
    let api_server = api.one(&SpanKind::Server, "GET /jokes");
    assert!(matches!(api_server.status, Status::Error { .. }));
    assert_eq!(
        attribute(&api_server, "http.response.status_code"),
        Some(opentelemetry::Value::I64(502))
    );

    // A client mistake (404) is not a server error.
    let response = reqwest::get(format!("http://{api_addr}/")).await.unwrap();
    assert_eq!(response.status(), 404);
    let not_found = api.one(&SpanKind::Server, "GET");
    assert_eq!(not_found.status, Status::Unset);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fryer_steps_are_spans_of_the_order_trace() {
    let (_stop_tx, stop) = watch::channel(false);
    let kinds = [PropagatorKind::TraceContext];
    let kitchen_service = Service::new("kitchen", &kinds);
    let shop = Service::new("donut-shop", &kinds);
    let kitchen_addr = spawn(
        kitchen::app(kitchen::Kitchen::start(
            kitchen_service.telemetry.clone(),
            kitchen::Limits::default(),
        )),
        &stop,
    )
    .await;
    let shop_addr = spawn(
        demo_api::donut_shop::app(shop.telemetry.clone(), format!("http://{kitchen_addr}")),
        &stop,
    )
    .await;
    let client = reqwest::Client::new();
    let response = client
        .post(format!("http://{shop_addr}/order"))
        .json(&serde_json::json!({"donuts": [{"flavor": "jelly", "quantity": 1}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // Wait for the fryer (0.4 s + 1 s).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !kitchen_service.finished().iter().any(|s| s.name == "fryer") {
        assert!(std::time::Instant::now() < deadline, "no fryer span");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let order = shop.one(&SpanKind::Internal, "order");
    let shop_server = shop.one(&SpanKind::Server, "POST /order");
    assert_eq!(order.parent_span_id, shop_server.span_context.span_id());
    let add = kitchen_service.one(&SpanKind::Server, "POST /kitchen/add_donut");
    let fryer = kitchen_service.one(&SpanKind::Internal, "fryer");
    let prepare = kitchen_service.one(&SpanKind::Internal, "fryer.prepare");
    let cook = kitchen_service.one(&SpanKind::Internal, "fryer.cook");
    let queue = kitchen_service.one(&SpanKind::Internal, "fryer.queue");
    let trace_id = order.span_context.trace_id();
    for span in [&add, &fryer, &prepare, &cook] {
        assert_eq!(span.span_context.trace_id(), trace_id, "{}", span.name);
    }
    // add_donut's client span is a child of the hand-made order span.
    let add_client = shop
        .finished()
        .into_iter()
        .find(|s| s.span_kind == SpanKind::Client && s.span_context.span_id() == add.parent_span_id)
        .expect("the add_donut call's client span");
    assert_eq!(add_client.parent_span_id, order.span_context.span_id());
    assert_eq!(fryer.parent_span_id, add.span_context.span_id());
    assert_eq!(prepare.parent_span_id, fryer.span_context.span_id());
    assert_eq!(cook.parent_span_id, fryer.span_context.span_id());
    assert_eq!(queue.parent_span_id, fryer.span_context.span_id());
    // The fryer span starts when the donut is added: its queue wait shows in the trace.
    assert!(fryer.start_time >= add.start_time && fryer.start_time <= add.end_time);
    assert_eq!(queue.start_time, fryer.start_time);
    assert!(prepare.start_time >= queue.end_time);
    assert!(cook.start_time >= prepare.end_time);
    let cook_time = cook.end_time.duration_since(cook.start_time).unwrap();
    assert!(
        cook_time >= std::time::Duration::from_secs(1),
        "{cook_time:?}"
    );
}
