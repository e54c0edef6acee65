//! End to end: the real OpenTelemetry SDK's OTLP exporters send to a viewer on port 0, and the
//! headless report shows what they sent: a nested multi-service trace as the right tree; and,
//! over gRPC and over HTTP/protobuf, traces, metrics (counter, histogram, gauge, up-down
//! counter, delta temporality) and logs (through the logs bridge API, inside a span) with the
//! values recorded.

use std::time::{Duration, SystemTime};

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{LogExporter, MetricExporter, Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::{SdkMeterProvider, Temporality};
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

// ---- All three signals, over gRPC and over HTTP/protobuf ----------------------------------

#[derive(Clone, Copy, Debug)]
enum Transport {
    Grpc,
    Http,
}

/// Where the SDK's exporters send: the viewer's gRPC address, or its HTTP address.
struct Target {
    transport: Transport,
    grpc: String,
    http: String,
}

impl Target {
    fn of(viewer: &Viewer, transport: Transport) -> Self {
        Self {
            transport,
            grpc: format!("http://{}", viewer.grpc_addr()),
            http: format!("http://{}", viewer.http_addr()),
        }
    }

    fn span_exporter(&self) -> SpanExporter {
        match self.transport {
            Transport::Grpc => SpanExporter::builder()
                .with_tonic()
                .with_endpoint(&self.grpc)
                .build(),
            Transport::Http => SpanExporter::builder()
                .with_http()
                .with_protocol(Protocol::HttpBinary)
                .with_endpoint(format!("{}/v1/traces", self.http))
                .build(),
        }
        .expect("span exporter")
    }

    fn metric_exporter(&self, temporality: Temporality) -> MetricExporter {
        match self.transport {
            Transport::Grpc => MetricExporter::builder()
                .with_tonic()
                .with_endpoint(&self.grpc)
                .with_temporality(temporality)
                .build(),
            Transport::Http => MetricExporter::builder()
                .with_http()
                .with_protocol(Protocol::HttpBinary)
                .with_endpoint(format!("{}/v1/metrics", self.http))
                .with_temporality(temporality)
                .build(),
        }
        .expect("metric exporter")
    }

    fn log_exporter(&self) -> LogExporter {
        match self.transport {
            Transport::Grpc => LogExporter::builder()
                .with_tonic()
                .with_endpoint(&self.grpc)
                .build(),
            Transport::Http => LogExporter::builder()
                .with_http()
                .with_protocol(Protocol::HttpBinary)
                .with_endpoint(format!("{}/v1/logs", self.http))
                .build(),
        }
        .expect("log exporter")
    }
}

/// The providers of one service: traces, metrics (cumulative, and a second reader's worth
/// with delta temporality) and logs.
struct Providers {
    traces: SdkTracerProvider,
    cumulative: SdkMeterProvider,
    delta: SdkMeterProvider,
    logs: SdkLoggerProvider,
}

impl Providers {
    fn new(target: &Target, service: &str) -> Self {
        let resource = || {
            Resource::builder()
                .with_service_name(service.to_owned())
                .build()
        };
        Self {
            traces: SdkTracerProvider::builder()
                .with_resource(resource())
                .with_batch_exporter(target.span_exporter())
                .build(),
            cumulative: SdkMeterProvider::builder()
                .with_resource(resource())
                .with_periodic_exporter(target.metric_exporter(Temporality::Cumulative))
                .build(),
            delta: SdkMeterProvider::builder()
                .with_resource(resource())
                .with_periodic_exporter(target.metric_exporter(Temporality::Delta))
                .build(),
            logs: SdkLoggerProvider::builder()
                .with_resource(resource())
                .with_batch_exporter(target.log_exporter())
                .build(),
        }
    }

    fn shutdown(self) {
        self.traces.shutdown().expect("flush spans");
        self.cumulative.shutdown().expect("flush metrics");
        self.delta.shutdown().expect("flush delta metrics");
        self.logs.shutdown().expect("flush logs");
    }
}

/// 2023-11-14T22:13:20.123456Z, the time of the log record made inside the span.
const LOG_TIME: Duration = Duration::from_micros(1_700_000_000_123_456);

/// What the SDK made that the report must show: the span's ids.
struct Made {
    trace_id: u128,
    span_id: u64,
}

/// Records the known measurements and logs of the e2e (blocking: flushes wait for exports).
fn record_everything(p: &Providers) -> Made {
    let meter = p.cumulative.meter("e2e");
    let orders = meter
        .u64_counter("orders")
        .with_unit("1")
        .with_description("orders taken")
        .build();
    let latency = meter
        .f64_histogram("latency")
        .with_unit("ms")
        .with_boundaries(vec![10.0, 50.0, 100.0, 500.0])
        .build();
    let temperature = meter
        .f64_gauge("fryer.temperature")
        .with_unit("Cel")
        .build();
    let depth = meter
        .i64_up_down_counter("queue.depth")
        .with_unit("{donut}")
        .build();
    let glazed = [
        KeyValue::new("flavor", "glazed"),
        KeyValue::new("region", "eu west"),
    ];
    let jelly = [KeyValue::new("flavor", "jelly")];
    orders.add(3, &glazed);
    orders.add(5, &jelly);
    temperature.record(180.5, &[]);
    depth.add(10, &[KeyValue::new("queue", "fryer")]);
    // A first cumulative export; the second must replace it, not add to it.
    p.cumulative.force_flush().expect("flush metrics");
    orders.add(4, &glazed);
    temperature.record(176.5, &[]);
    depth.add(-3, &[KeyValue::new("queue", "fryer")]);
    // count 10, sum 1295: 1 at or under 10, 3 in (10, 50], 4 in (50, 100], 1 in (100, 500],
    // 1 above 500.
    for v in [5.0, 20.0, 30.0, 40.0, 60.0, 70.0, 80.0, 90.0, 200.0, 700.0] {
        latency.record(v, &[KeyValue::new("http.route", "/checkout")]);
    }

    // Delta temporality: three exports of 5, 7 and 11 read as 23; a histogram's two exports
    // (1 and 2 seconds, then 3) as count 3, sum 6.
    let dmeter = p.delta.meter("e2e");
    let jobs = dmeter.u64_counter("jobs.done").with_unit("1").build();
    let job_time = dmeter
        .f64_histogram("job.duration")
        .with_unit("s")
        .with_boundaries(vec![1.5, 2.5])
        .build();
    jobs.add(5, &[KeyValue::new("worker", "a")]);
    job_time.record(1.0, &[]);
    job_time.record(2.0, &[]);
    p.delta.force_flush().expect("flush delta");
    jobs.add(7, &[KeyValue::new("worker", "a")]);
    job_time.record(3.0, &[]);
    p.delta.force_flush().expect("flush delta");
    jobs.add(11, &[KeyValue::new("worker", "a")]);

    // A log record inside a span (the SDK takes the ids from the current context), and one
    // outside any span.
    let tracer = p.traces.tracer("e2e");
    let logger = p.logs.logger("e2e");
    let mut made = Made {
        trace_id: 0,
        span_id: 0,
    };
    in_span(&tracer, "POST /checkout", SpanKind::Server, |cx| {
        let sc = cx.span().span_context().clone();
        made.trace_id = u128::from_be_bytes(sc.trace_id().to_bytes());
        made.span_id = u64::from_be_bytes(sc.span_id().to_bytes());
        let mut record = logger.create_log_record();
        record.set_timestamp(SystemTime::UNIX_EPOCH + LOG_TIME);
        record.set_severity_number(Severity::Warn);
        record.set_severity_text("WARN");
        record.set_body(AnyValue::from("payment retried: card declined"));
        record.add_attribute("attempt", 2);
        logger.emit(record);
    });
    let mut record = logger.create_log_record();
    record.set_timestamp(SystemTime::UNIX_EPOCH + LOG_TIME + Duration::from_secs(1));
    record.set_severity_number(Severity::Error);
    record.set_body(AnyValue::from("fryer overheated"));
    logger.emit(record);
    made
}

/// The series lines (without their two-space indent) under `metric <name> <type> <unit>
/// <service>`; panics with the report if the header is missing.
fn series<'a>(report: &'a str, header: &str) -> Vec<&'a str> {
    let mut lines = report.lines().skip_while(|l| *l != header);
    assert!(lines.next().is_some(), "no `{header}` in:\n{report}");
    lines
        .take_while(|l| l.starts_with("  "))
        .map(|l| &l[2..])
        .collect()
}

/// The `key=value` fields of a histogram series line, as numbers.
fn field(line: &str, key: &str) -> f64 {
    line.split(' ')
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no number {key}= in {line:?}"))
}

async fn all_three_signals(transport: Transport) {
    let viewer = Viewer::start(Config::for_tests()).await.expect("viewer");
    let target = Target::of(&viewer, transport);
    let service = match transport {
        Transport::Grpc => "rust-grpc",
        Transport::Http => "rust-http",
    };
    // Built here, on the runtime (the gRPC exporter's channel needs it); used on a blocking
    // thread, as flushing waits for the exports.
    let providers = Providers::new(&target, service);
    let made = tokio::task::spawn_blocking(move || {
        let made = record_everything(&providers);
        providers.shutdown();
        made
    })
    .await
    .unwrap();

    viewer.flush().await;
    let trace = format!("{:032x}", made.trace_id);
    let span = format!("{:016x}", made.span_id);
    {
        // The log inside the span is indexed under the span's trace, and the trace is stored.
        let store = viewer.store().lock();
        let of_trace: Vec<_> = store.logs.of_trace(made.trace_id).collect();
        assert_eq!(of_trace.len(), 1, "logs of the trace");
        assert_eq!(of_trace[0].1.span_id, made.span_id);
        assert_eq!(store.logs.of_span(made.trace_id, made.span_id).count(), 1);
        assert!(store.find(made.trace_id).is_some(), "the trace is stored");
        assert_eq!(store.logs.len(), 2);
    }
    let report = viewer.shutdown().await;
    eprintln!("{report}");

    assert!(
        report.starts_with(&format!("trace {trace} 1 spans, 1 services, ")),
        "{report}"
    );
    assert!(
        report.contains(&format!("\n  {service}: POST /checkout [server] ")),
        "{report}"
    );

    // Cumulative counter: the second export (3 + 4) replaced the first, per attribute set.
    let mut orders = series(&report, &format!("metric orders counter 1 {service}"));
    orders.sort_unstable();
    assert_eq!(
        orders,
        ["flavor=glazed region=\"eu west\" 7", "flavor=jelly 5"],
        "{report}"
    );
    // Histogram: exact count and sum; p50 in the (50, 100] bucket, p99 in the last one.
    let latency = series(&report, &format!("metric latency histogram ms {service}"));
    assert_eq!(latency.len(), 1, "{report}");
    assert!(
        latency[0].starts_with("http.route=/checkout count=10 sum=1295 p50="),
        "{report}"
    );
    let (p50, p99) = (field(latency[0], "p50"), field(latency[0], "p99"));
    assert!(p50 > 50.0 && p50 <= 100.0, "p50 {p50}: {report}");
    assert!(p99 > 500.0 && p99 <= 700.0, "p99 {p99}: {report}");
    // Gauge: the latest value; up-down counter: 10 - 3.
    assert_eq!(
        series(
            &report,
            &format!("metric fryer.temperature gauge Cel {service}")
        ),
        ["(no attributes) 176.5"],
        "{report}"
    );
    assert_eq!(
        series(
            &report,
            &format!("metric queue.depth updown {{donut}} {service}")
        ),
        ["queue=fryer 7"],
        "{report}"
    );
    // Delta: three exports accumulated to the cumulative total, shown as a counter.
    assert_eq!(
        series(&report, &format!("metric jobs.done counter 1 {service}")),
        ["worker=a 23"],
        "{report}"
    );
    let job = series(
        &report,
        &format!("metric job.duration histogram s {service}"),
    );
    assert_eq!(job.len(), 1, "{report}");
    assert!(
        job[0].starts_with("(no attributes) count=3 sum=6 p50="),
        "{report}"
    );
    let p50 = field(job[0], "p50");
    assert!(p50 > 1.5 && p50 <= 2.5, "delta p50 {p50}: {report}");

    // Logs: time, severity, service, body, and the span's ids; the other has no trace.
    let logs: Vec<&str> = report.lines().filter(|l| l.starts_with("log ")).collect();
    assert_eq!(
        logs,
        [
            format!(
                "log 2023-11-14T22:13:20.123456Z WARN {service} payment retried: card declined trace={trace} span={span}"
            ),
            format!("log 2023-11-14T22:13:21.123456Z ERROR {service} fryer overheated"),
        ],
        "{report}"
    );
    let totals = report.lines().last().unwrap();
    assert!(
        totals.starts_with("totals: 1 spans received, 1 stored, 1 traces, 0 rejected"),
        "{report}"
    );
    // Every point of every export arrived: 4 then 5 cumulative, 2, 2 and 1 delta.
    assert!(
        totals.ends_with(" 14 metric data points, 2 log records"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_sdk_exports_traces_metrics_and_logs_over_grpc() {
    all_three_signals(Transport::Grpc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_sdk_exports_traces_metrics_and_logs_over_http_protobuf() {
    all_three_signals(Transport::Http).await;
}
