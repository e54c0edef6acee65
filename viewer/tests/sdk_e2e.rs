//! End to end: the real OpenTelemetry SDK's OTLP/gRPC exporter sends a nested multi-service
//! trace to a viewer on port 0, and the headless report shows the right tree.

use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use viewer::{Config, Viewer};

fn provider(endpoint: &str, service: &str) -> SdkTracerProvider {
    let exporter = SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .expect("exporter");
    SdkTracerProvider::builder()
        .with_resource(
            Resource::builder()
                .with_service_name(service.to_owned())
                .build(),
        )
        .with_batch_exporter(exporter)
        .build()
}

/// Runs `f` inside a span of `kind`, as the current span.
fn in_span(tracer: &SdkTracer, name: &'static str, kind: SpanKind, f: impl FnOnce(&Context)) {
    let span = tracer.span_builder(name).with_kind(kind).start(tracer);
    let cx = Context::current_with_span(span);
    {
        let _guard = cx.clone().attach();
        f(&cx);
    }
    cx.span().end();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_exporter_trace_shows_as_a_tree() {
    let viewer = Viewer::start(Config::for_tests()).await.expect("viewer");
    let endpoint = format!("http://{}", viewer.grpc_addr());
    let frontend = provider(&endpoint, "frontend");
    let payments = provider(&endpoint, "payments");
    let ft = frontend.tracer("e2e");
    let pt = payments.tracer("e2e");

    in_span(&ft, "GET /checkout", SpanKind::Server, |_| {
        in_span(&ft, "POST /pay", SpanKind::Client, |_| {
            in_span(&pt, "pay", SpanKind::Server, |cx| {
                cx.span().set_attribute(KeyValue::new("payment.amount", 42));
                in_span(&pt, "SELECT cards", SpanKind::Client, |_| {});
                cx.span().set_status(Status::error("card declined"));
            });
        });
        in_span(&ft, "render", SpanKind::Internal, |_| {});
    });

    let (frontend, payments) = tokio::task::spawn_blocking(move || {
        frontend.shutdown().expect("flush frontend");
        payments.shutdown().expect("flush payments");
        (frontend, payments)
    })
    .await
    .unwrap();
    drop((frontend, payments));

    let report = viewer.shutdown().await;
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 7, "{report}");
    assert!(lines[0].starts_with("trace "), "{report}");
    assert!(lines[0].contains(" 5 spans, 2 services, "), "{report}");
    let shape: Vec<String> = lines[1..6]
        .iter()
        .map(|l| {
            let indent = l.len() - l.trim_start().len();
            let words: Vec<&str> = l.trim_start().split(" [").collect();
            let kind = words[1].split(']').next().unwrap();
            format!("{indent} {} [{kind}]", words[0])
        })
        .collect();
    assert_eq!(
        shape,
        vec![
            "2 frontend: GET /checkout [server]",
            "4 frontend: POST /pay [client]",
            "6 payments: pay [server]",
            "8 payments: SELECT cards [client]",
            "4 frontend: render [internal]",
        ],
        "{report}"
    );
    assert!(lines[3].ends_with("ERROR card declined"), "{report}");
    assert!(lines[6].starts_with("totals: 5 spans received, 5 stored, 1 traces, 0 rejected"));
}
