//! Telemetry shared by every demo service: providers, propagators, the axum middleware that makes
//! SERVER spans and logs every request, and a reqwest helper that makes CLIENT spans.
//!
//! Each service gets its own [`Telemetry`]: its own tracer, meter and logger providers with its
//! own `service.name`, built from one [`TelemetryConfig`] (exporters, endpoint, propagators), so
//! six services in one process still show up as six services. Spans and log records are made
//! directly with the OpenTelemetry API, not through `tracing`: a `tracing` subscriber is one per
//! process and could not tell the six services' logs apart, and the exporter's own gRPC traffic
//! is never traced or logged into itself.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, bail};
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderMap;
use opentelemetry::context::FutureExt as _;
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::metrics::{Counter, Histogram, MeterProvider as _};
use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry::trace::{
    SpanKind, Status, TraceContextExt as _, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Array, Context, InstrumentationScope, KeyValue, Value};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_otlp::{WithExportConfig as _, WithTonicConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{
    BatchLogProcessor, LogBatch, LogExporter, SdkLogger, SdkLoggerProvider,
};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracer, SdkTracerProvider, SpanData, SpanExporter,
};

use crate::b3::{B3Encoding, B3Propagator};

/// The value of the `environment` attribute on the `requests` counter, as in the seed.
pub const ENVIRONMENT: &str = "dev";
/// Where OTLP goes when `OTEL_EXPORTER_OTLP_ENDPOINT` is not set.
pub const DEFAULT_ENDPOINT: &str = "http://localhost:4317";
/// How often metrics are exported when `OTEL_METRIC_EXPORT_INTERVAL` is not set (the seed's 5 s).
pub const DEFAULT_METRIC_INTERVAL: Duration = Duration::from_secs(5);
/// How long finished spans wait before a batch export when `OTEL_BSP_SCHEDULE_DELAY` is unset:
/// short, so that traces show up in the viewer while the user is still looking.
pub const DEFAULT_SPAN_DELAY: Duration = Duration::from_millis(500);
/// How long log records wait before a batch export when `OTEL_BLRP_SCHEDULE_DELAY` is unset: as
/// short as for spans, so a request's log shows up with its trace.
pub const DEFAULT_LOG_DELAY: Duration = Duration::from_millis(500);

/// Bucket boundaries (seconds) the HTTP semantic conventions advise for request durations.
const DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Where one signal goes: `OTEL_TRACES_EXPORTER`, `OTEL_METRICS_EXPORTER`, `OTEL_LOGS_EXPORTER`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExporterKind {
    /// OTLP over gRPC to the configured endpoint.
    Otlp,
    /// Printed on standard output.
    Console,
    /// Not exported at all.
    None,
}

impl ExporterKind {
    /// Parses an `OTEL_*_EXPORTER` value.
    ///
    /// # Errors
    /// When the value is not `otlp`, `console` or `none`.
    pub fn parse(value: &str) -> anyhow::Result<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "otlp" => Ok(Self::Otlp),
            "console" | "stdout" | "logging" => Ok(Self::Console),
            "none" => Ok(Self::None),
            other => bail!("unknown exporter {other:?}: use otlp, console or none"),
        }
    }
}

/// One entry of `OTEL_PROPAGATORS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropagatorKind {
    /// W3C `traceparent` / `tracestate`.
    TraceContext,
    /// W3C `baggage`.
    Baggage,
    /// Zipkin B3, single `b3` header.
    B3,
    /// Zipkin B3, multiple `X-B3-*` headers.
    B3Multi,
}

impl PropagatorKind {
    /// Parses a comma-separated `OTEL_PROPAGATORS` value; `none` gives an empty list.
    ///
    /// # Errors
    /// When an entry is not one of `tracecontext`, `baggage`, `b3`, `b3multi`, `none`.
    pub fn parse_list(value: &str) -> anyhow::Result<Vec<Self>> {
        let mut kinds = Vec::new();
        for name in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let kind = match name.to_ascii_lowercase().as_str() {
                "tracecontext" => Self::TraceContext,
                "baggage" => Self::Baggage,
                "b3" => Self::B3,
                "b3multi" => Self::B3Multi,
                "none" => return Ok(Vec::new()),
                other => bail!(
                    "unknown propagator {other:?} in OTEL_PROPAGATORS: use tracecontext, baggage, b3 or b3multi"
                ),
            };
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        Ok(kinds)
    }

    fn build(self) -> Box<dyn TextMapPropagator + Send + Sync> {
        match self {
            Self::TraceContext => Box::new(TraceContextPropagator::new()),
            Self::Baggage => Box::new(BaggagePropagator::new()),
            Self::B3 => Box::new(B3Propagator::new(B3Encoding::Single)),
            Self::B3Multi => Box::new(B3Propagator::new(B3Encoding::Multiple)),
        }
    }
}

/// Builds the composite propagator for a list of kinds.
#[must_use]
pub fn propagator(kinds: &[PropagatorKind]) -> TextMapCompositePropagator {
    TextMapCompositePropagator::new(kinds.iter().map(|k| k.build()).collect())
}

/// Exporter settings shared by every service of a process.
#[derive(Clone, Debug)]
pub struct TelemetryConfig {
    /// OTLP gRPC endpoint, such as `http://localhost:4317`.
    pub endpoint: String,
    /// Where spans go.
    pub traces: ExporterKind,
    /// Where metrics go.
    pub metrics: ExporterKind,
    /// Where log records go.
    pub logs: ExporterKind,
    /// How often metrics are exported.
    pub metric_interval: Duration,
    /// How long finished spans wait before being exported in a batch.
    pub span_delay: Duration,
    /// How long log records wait before being exported in a batch.
    pub log_delay: Duration,
    /// Which propagators inject and extract context on every hop.
    pub propagators: Vec<PropagatorKind>,
    /// `OTEL_SERVICE_NAME`, used only when a process runs a single service.
    pub service_name_env: Option<String>,
    health: Arc<ExportHealth>,
}

impl TelemetryConfig {
    /// Reads the standard `OTEL_*` variables.
    ///
    /// # Errors
    /// When a variable holds a value that cannot be understood.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`Self::from_env`], reading variables through `lookup` (for tests).
    ///
    /// # Errors
    /// When a variable holds a value that cannot be understood.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let endpoint =
            get("OTEL_EXPORTER_OTLP_ENDPOINT").unwrap_or_else(|| DEFAULT_ENDPOINT.into());
        let exporter = |name: &str| -> anyhow::Result<ExporterKind> {
            Ok(get(name)
                .map(|v| ExporterKind::parse(&v).context(name.to_owned()))
                .transpose()?
                .unwrap_or(ExporterKind::Otlp))
        };
        let traces = exporter("OTEL_TRACES_EXPORTER")?;
        let metrics = exporter("OTEL_METRICS_EXPORTER")?;
        let logs = exporter("OTEL_LOGS_EXPORTER")?;
        let millis = |name: &str| -> anyhow::Result<Option<Duration>> {
            get(name)
                .map(|v| {
                    v.trim()
                        .parse::<u64>()
                        .map(Duration::from_millis)
                        .map_err(|_| {
                            anyhow::anyhow!("{name} must be a number of milliseconds, got {v:?}")
                        })
                })
                .transpose()
        };
        let metric_interval = millis("OTEL_METRIC_EXPORT_INTERVAL")?
            .filter(|d| !d.is_zero())
            .unwrap_or(DEFAULT_METRIC_INTERVAL);
        let span_delay = millis("OTEL_BSP_SCHEDULE_DELAY")?.unwrap_or(DEFAULT_SPAN_DELAY);
        let log_delay = millis("OTEL_BLRP_SCHEDULE_DELAY")?.unwrap_or(DEFAULT_LOG_DELAY);
        let propagators = match get("OTEL_PROPAGATORS") {
            Some(v) => PropagatorKind::parse_list(&v)?,
            None => vec![PropagatorKind::TraceContext, PropagatorKind::Baggage],
        };
        Ok(Self {
            health: Arc::new(ExportHealth::new(&endpoint)),
            endpoint,
            traces,
            metrics,
            logs,
            metric_interval,
            span_delay,
            log_delay,
            propagators,
            service_name_env: get("OTEL_SERVICE_NAME"),
        })
    }

    /// No exporters at all: spans are still made and context still propagates. For tests.
    #[must_use]
    pub fn disabled() -> Self {
        Self {
            endpoint: DEFAULT_ENDPOINT.into(),
            traces: ExporterKind::None,
            metrics: ExporterKind::None,
            logs: ExporterKind::None,
            metric_interval: DEFAULT_METRIC_INTERVAL,
            span_delay: DEFAULT_SPAN_DELAY,
            log_delay: DEFAULT_LOG_DELAY,
            propagators: vec![PropagatorKind::TraceContext, PropagatorKind::Baggage],
            service_name_env: None,
            health: Arc::new(ExportHealth::new(DEFAULT_ENDPOINT)),
        }
    }

    /// Exports traces, metrics and logs over OTLP to `endpoint` (for a viewer on a test port).
    #[must_use]
    pub fn otlp(endpoint: impl Into<String>) -> Self {
        let endpoint = endpoint.into();
        Self {
            health: Arc::new(ExportHealth::new(&endpoint)),
            endpoint,
            traces: ExporterKind::Otlp,
            metrics: ExporterKind::Otlp,
            logs: ExporterKind::Otlp,
            ..Self::disabled()
        }
    }

    /// Replaces the OTLP endpoint.
    #[must_use]
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = endpoint.into();
        self.health = Arc::new(ExportHealth::new(&self.endpoint));
        self
    }

    /// The name a service reports: its own, or `OTEL_SERVICE_NAME` when it runs alone.
    #[must_use]
    pub fn service_name(&self, default: &str, alone: bool) -> String {
        match (&self.service_name_env, alone) {
            (Some(name), true) => name.clone(),
            _ => default.to_owned(),
        }
    }

    /// Whether an export has failed since start (the warning was printed).
    #[must_use]
    pub fn export_failed(&self) -> bool {
        self.health.failed.load(Ordering::Relaxed)
    }

    /// One line describing where telemetry goes, for the start-up banner.
    #[must_use]
    pub fn describe(&self) -> String {
        let one = |kind: ExporterKind| match kind {
            ExporterKind::Otlp => format!("OTLP gRPC to {}", self.endpoint),
            ExporterKind::Console => "the console".to_owned(),
            ExporterKind::None => "nowhere".to_owned(),
        };
        // Signals that go to the same place are named together, in this order.
        let mut groups: Vec<(ExporterKind, Vec<&str>)> = Vec::new();
        for (signal, kind) in [
            ("traces", self.traces),
            ("metrics", self.metrics),
            ("logs", self.logs),
        ] {
            match groups.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, signals)) => signals.push(signal),
                None => groups.push((kind, vec![signal])),
            }
        }
        let parts: Vec<String> = groups
            .iter()
            .enumerate()
            .map(|(i, (kind, signals))| {
                let names = match signals.as_slice() {
                    [first @ .., last] if !first.is_empty() => {
                        format!("{} and {last}", first.join(", "))
                    }
                    _ => signals.join(""),
                };
                let verb = if i == 0 { " go" } else { "" };
                format!("{names}{verb} to {}", one(*kind))
            })
            .collect();
        parts.join(", ")
    }
}

/// Says once, clearly, that export fails (and once that it works again), for the whole process.
#[derive(Debug)]
struct ExportHealth {
    endpoint: String,
    failed: AtomicBool,
    recovered: AtomicBool,
}

impl ExportHealth {
    fn new(endpoint: &str) -> Self {
        Self {
            endpoint: endpoint.to_owned(),
            failed: AtomicBool::new(false),
            recovered: AtomicBool::new(false),
        }
    }

    /// Notes an export result; returns the message printed, if any.
    fn note(&self, signal: &str, result: &OTelSdkResult) -> Option<String> {
        let message = match result {
            Err(err) if !self.failed.swap(true, Ordering::Relaxed) => format!(
                "warning: cannot export {signal} to {} ({err}). Is the viewer running? Start it \
                 with `cargo run -p viewer`. The demo services keep working; this warning is \
                 shown once.",
                self.endpoint
            ),
            Ok(())
                if self.failed.load(Ordering::Relaxed)
                    && !self.recovered.swap(true, Ordering::Relaxed) =>
            {
                format!("telemetry export to {} works now.", self.endpoint)
            }
            _ => return None,
        };
        eprintln!("{message}");
        Some(message)
    }
}

/// A span exporter that reports failures through [`ExportHealth`].
#[derive(Debug)]
struct ReportingSpanExporter<E> {
    inner: E,
    health: Arc<ExportHealth>,
}

impl<E: SpanExporter> SpanExporter for ReportingSpanExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let result = self.inner.export(batch).await;
        self.health.note("traces", &result);
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// A metric exporter that reports failures through [`ExportHealth`].
struct ReportingMetricExporter<E> {
    inner: E,
    health: Arc<ExportHealth>,
}

impl<E: PushMetricExporter> PushMetricExporter for ReportingMetricExporter<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let result = self.inner.export(metrics).await;
        self.health.note("metrics", &result);
        result
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

/// A log exporter that reports failures through [`ExportHealth`].
#[derive(Debug)]
struct ReportingLogExporter<E> {
    inner: E,
    health: Arc<ExportHealth>,
}

impl<E: LogExporter> LogExporter for ReportingLogExporter<E> {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let result = self.inner.export(batch).await;
        self.health.note("logs", &result);
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn event_enabled(&self, level: Severity, target: &str, name: Option<&str>) -> bool {
        self.inner.event_enabled(level, target, name)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

fn batch(config: &TelemetryConfig, exporter: impl SpanExporter + 'static) -> BatchSpanProcessor {
    BatchSpanProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_scheduled_delay(config.span_delay)
                .build(),
        )
        .build()
}

fn tracer_provider(
    config: &TelemetryConfig,
    resource: Resource,
) -> anyhow::Result<SdkTracerProvider> {
    let builder = SdkTracerProvider::builder().with_resource(resource);
    let builder = match config.traces {
        ExporterKind::Otlp => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(config.endpoint.clone())
                .with_timeout(EXPORT_TIMEOUT)
                .with_retry_policy(opentelemetry_otlp::RetryPolicy::disabled())
                .build()
                .context("cannot build the OTLP span exporter")?;
            let exporter = ReportingSpanExporter {
                inner: exporter,
                health: Arc::clone(&config.health),
            };
            builder.with_span_processor(batch(config, exporter))
        }
        ExporterKind::Console => builder
            .with_span_processor(batch(config, opentelemetry_stdout::SpanExporter::default())),
        ExporterKind::None => builder,
    };
    Ok(builder.build())
}

fn meter_provider(
    config: &TelemetryConfig,
    resource: Resource,
) -> anyhow::Result<SdkMeterProvider> {
    let builder = SdkMeterProvider::builder().with_resource(resource);
    let builder = match config.metrics {
        ExporterKind::Otlp => {
            let exporter = opentelemetry_otlp::MetricExporter::builder()
                .with_tonic()
                .with_endpoint(config.endpoint.clone())
                .with_timeout(EXPORT_TIMEOUT)
                .with_retry_policy(opentelemetry_otlp::RetryPolicy::disabled())
                .build()
                .context("cannot build the OTLP metric exporter")?;
            let exporter = ReportingMetricExporter {
                inner: exporter,
                health: Arc::clone(&config.health),
            };
            builder.with_reader(
                PeriodicReader::builder(exporter)
                    .with_interval(config.metric_interval)
                    .build(),
            )
        }
        ExporterKind::Console => builder.with_reader(
            PeriodicReader::builder(opentelemetry_stdout::MetricExporter::default())
                .with_interval(config.metric_interval)
                .build(),
        ),
        ExporterKind::None => builder,
    };
    Ok(builder.build())
}

fn log_batch(config: &TelemetryConfig, exporter: impl LogExporter + 'static) -> BatchLogProcessor {
    BatchLogProcessor::builder(exporter)
        .with_batch_config(
            opentelemetry_sdk::logs::BatchConfigBuilder::default()
                .with_scheduled_delay(config.log_delay)
                .build(),
        )
        .build()
}

fn logger_provider(
    config: &TelemetryConfig,
    resource: Resource,
) -> anyhow::Result<SdkLoggerProvider> {
    let builder = SdkLoggerProvider::builder().with_resource(resource);
    let builder = match config.logs {
        ExporterKind::Otlp => {
            let exporter = opentelemetry_otlp::LogExporter::builder()
                .with_tonic()
                .with_endpoint(config.endpoint.clone())
                .with_timeout(EXPORT_TIMEOUT)
                .with_retry_policy(opentelemetry_otlp::RetryPolicy::disabled())
                .build()
                .context("cannot build the OTLP log exporter")?;
            let exporter = ReportingLogExporter {
                inner: exporter,
                health: Arc::clone(&config.health),
            };
            builder.with_log_processor(log_batch(config, exporter))
        }
        ExporterKind::Console => builder.with_log_processor(log_batch(
            config,
            opentelemetry_stdout::LogExporter::default(),
        )),
        ExporterKind::None => builder,
    };
    Ok(builder.build())
}

/// One service's telemetry: its providers, its instruments, its propagator and its HTTP client.
/// Cheap to clone.
#[derive(Clone)]
pub struct Telemetry {
    inner: Arc<Inner>,
}

struct Inner {
    service: String,
    tracer_provider: SdkTracerProvider,
    meter_provider: SdkMeterProvider,
    logger_provider: SdkLoggerProvider,
    tracer: SdkTracer,
    logger: SdkLogger,
    propagator: TextMapCompositePropagator,
    http: reqwest::Client,
    requests: Counter<u64>,
    server_duration: Histogram<f64>,
    client_duration: Histogram<f64>,
}

impl fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telemetry")
            .field("service", &self.inner.service)
            .finish_non_exhaustive()
    }
}

impl Telemetry {
    /// Sets up telemetry for the service `service_name`, exporting as `config` says.
    /// `OTEL_RESOURCE_ATTRIBUTES` is read here; `service.name` is always `service_name`.
    ///
    /// Call it inside a Tokio runtime: the gRPC exporters start their connection tasks on it.
    ///
    /// # Errors
    /// When an exporter cannot be built.
    pub fn new(config: &TelemetryConfig, service_name: &str) -> anyhow::Result<Self> {
        let resource = Resource::builder()
            .with_service_name(service_name.to_owned())
            .build();
        let tracer_provider = tracer_provider(config, resource.clone())?;
        let meter_provider = meter_provider(config, resource.clone())?;
        let logger_provider = logger_provider(config, resource)?;
        Ok(Self::from_providers(
            service_name,
            tracer_provider,
            meter_provider,
            logger_provider,
            propagator(&config.propagators),
        ))
    }

    /// Builds telemetry on providers made elsewhere (tests use in-memory exporters).
    ///
    /// # Panics
    /// Never in practice: only if the TLS-less reqwest client cannot be built.
    #[must_use]
    pub fn from_providers(
        service_name: &str,
        tracer_provider: SdkTracerProvider,
        meter_provider: SdkMeterProvider,
        logger_provider: SdkLoggerProvider,
        propagator: TextMapCompositePropagator,
    ) -> Self {
        let scope = InstrumentationScope::builder("demo-api")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        let tracer = tracer_provider.tracer_with_scope(scope.clone());
        let meter = meter_provider.meter_with_scope(scope.clone());
        let logger = logger_provider.logger_with_scope(scope);
        let requests = meter
            .u64_counter("requests")
            .with_description("number of incoming requests")
            .with_unit("1")
            .build();
        let server_duration = meter
            .f64_histogram("http.server.request.duration")
            .with_description("Duration of HTTP server requests.")
            .with_unit("s")
            .with_boundaries(DURATION_BUCKETS.to_vec())
            .build();
        let client_duration = meter
            .f64_histogram("http.client.request.duration")
            .with_description("Duration of HTTP client requests.")
            .with_unit("s")
            .with_boundaries(DURATION_BUCKETS.to_vec())
            .build();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(format!("{service_name}/{}", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a plain HTTP client always builds");
        Self {
            inner: Arc::new(Inner {
                service: service_name.to_owned(),
                tracer_provider,
                meter_provider,
                logger_provider,
                tracer,
                logger,
                propagator,
                http,
                requests,
                server_duration,
                client_duration,
            }),
        }
    }

    /// Telemetry that exports nothing (spans are still made and propagated). For tests.
    #[must_use]
    pub fn disabled(service_name: &str) -> Self {
        Self::from_providers(
            service_name,
            SdkTracerProvider::builder().build(),
            SdkMeterProvider::builder().build(),
            SdkLoggerProvider::builder().build(),
            propagator(&[PropagatorKind::TraceContext]),
        )
    }

    /// This service's `service.name`.
    #[must_use]
    pub fn service_name(&self) -> &str {
        &self.inner.service
    }

    /// The tracer for hand-made spans.
    #[must_use]
    pub fn tracer(&self) -> &SdkTracer {
        &self.inner.tracer
    }

    /// The HTTP client; send its requests with [`Self::send`] so they are traced.
    #[must_use]
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// Emits a log record with the trace and span of `cx` (none when `cx` has no span).
    ///
    /// The context is passed rather than taken from [`Context::current`] so that a record made
    /// after a span's future has finished still lands on that span.
    pub fn log(
        &self,
        cx: &Context,
        severity: Severity,
        body: impl Into<String>,
        attributes: impl IntoIterator<Item = KeyValue>,
    ) {
        let logger = &self.inner.logger;
        let mut record = logger.create_log_record();
        record.set_timestamp(SystemTime::now());
        record.set_severity_number(severity);
        record.set_severity_text(severity.name());
        record.set_body(AnyValue::String(body.into().into()));
        record.add_attributes(
            attributes
                .into_iter()
                .map(|kv| (kv.key, any_value(kv.value))),
        );
        let span = cx.span();
        let span_context = span.span_context();
        if span_context.is_valid() {
            record.set_trace_context(
                span_context.trace_id(),
                span_context.span_id(),
                Some(span_context.trace_flags()),
            );
        }
        logger.emit(record);
    }

    /// Counts one incoming request on the seed's `requests` counter.
    pub fn count_request(&self, endpoint: &'static str) {
        self.inner.requests.add(
            1,
            &[
                KeyValue::new("endpoint", endpoint),
                KeyValue::new("environment", ENVIRONMENT),
            ],
        );
    }

    /// Reads the caller's context from request headers.
    #[must_use]
    pub fn extract(&self, headers: &HeaderMap) -> Context {
        self.inner
            .propagator
            .extract_with_context(&Context::new(), &HeaderExtractor(headers))
    }

    /// Writes `cx` into request headers.
    pub fn inject(&self, cx: &Context, headers: &mut HeaderMap) {
        self.inner
            .propagator
            .inject_context(cx, &mut HeaderInjector(headers));
    }

    /// The header names the propagators use (so a proxy does not forward stale ones).
    pub fn propagation_fields(&self) -> impl Iterator<Item = &str> {
        self.inner.propagator.fields()
    }

    /// Sends a request in a CLIENT span, child of the current context, with the context injected
    /// into its headers. 4xx and 5xx answers and transport errors mark the span as an error.
    ///
    /// # Errors
    /// When the request cannot be built or sent (the span records it).
    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, reqwest::Error> {
        self.send_with_context(&Context::current(), request).await
    }

    /// Like [`Self::send`], with an explicit parent context.
    ///
    /// # Errors
    /// When the request cannot be built or sent (the span records it).
    pub async fn send_with_context(
        &self,
        parent: &Context,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let mut request = request.build()?;
        let method = request.method().as_str().to_owned();
        let url = request.url();
        let mut attributes = vec![
            KeyValue::new("http.request.method", method.clone()),
            KeyValue::new("url.full", url.as_str().to_owned()),
        ];
        if let Some(host) = url.host_str() {
            attributes.push(KeyValue::new("server.address", host.to_owned()));
        }
        if let Some(port) = url.port_or_known_default() {
            attributes.push(KeyValue::new("server.port", i64::from(port)));
        }
        // The demos' outgoing paths carry no ids, so the path is its own low-cardinality
        // template, and the span can be named `{method} {url.template}` as the semantic
        // conventions allow (a list of traces named just "GET" tells nobody anything).
        let template = url.path().to_owned();
        let name = format!("{method} {template}");
        attributes.push(KeyValue::new("url.template", template));
        let span = self
            .inner
            .tracer
            .span_builder(name)
            .with_kind(SpanKind::Client)
            .with_attributes(attributes)
            .start_with_context(&self.inner.tracer, parent);
        let cx = parent.with_span(span);
        self.inject(&cx, request.headers_mut());

        let started = Instant::now();
        let result = self
            .inner
            .http
            .execute(request)
            .with_context(cx.clone())
            .await;
        let span = cx.span();
        let mut metric_attributes = vec![KeyValue::new("http.request.method", method)];
        match &result {
            Ok(response) => {
                let status = response.status();
                let code = i64::from(status.as_u16());
                span.set_attribute(KeyValue::new("http.response.status_code", code));
                metric_attributes.push(KeyValue::new("http.response.status_code", code));
                if status.is_client_error() || status.is_server_error() {
                    let error_type = status.as_u16().to_string();
                    span.set_attribute(KeyValue::new("error.type", error_type.clone()));
                    metric_attributes.push(KeyValue::new("error.type", error_type));
                    span.set_status(Status::error(format!("HTTP {status}")));
                }
            }
            Err(err) => {
                let error_type = if err.is_timeout() {
                    "timeout"
                } else if err.is_connect() {
                    "connect"
                } else {
                    "reqwest::Error"
                };
                span.set_attribute(KeyValue::new("error.type", error_type));
                metric_attributes.push(KeyValue::new("error.type", error_type));
                record_exception(&span, error_type, &error_chain(err));
                span.set_status(Status::error(error_chain(err)));
            }
        }
        span.end();
        self.inner
            .client_duration
            .record(started.elapsed().as_secs_f64(), &metric_attributes);
        result
    }

    /// Flushes and stops the three providers. Blocks: call it from `spawn_blocking` in async
    /// code.
    pub fn shutdown(&self) {
        // Errors here only mean "already shut down" or "the endpoint is gone", both reported.
        let _ = self.inner.tracer_provider.shutdown();
        let _ = self.inner.meter_provider.shutdown();
        let _ = self.inner.logger_provider.shutdown();
    }
}

/// An attribute value as a log record's value.
fn any_value(value: Value) -> AnyValue {
    match value {
        Value::Bool(b) => AnyValue::Boolean(b),
        Value::I64(i) => AnyValue::Int(i),
        Value::F64(f) => AnyValue::Double(f),
        Value::String(s) => AnyValue::String(s),
        Value::Array(Array::Bool(v)) => v.into_iter().collect(),
        Value::Array(Array::I64(v)) => v.into_iter().collect(),
        Value::Array(Array::F64(v)) => v.into_iter().collect(),
        Value::Array(Array::String(v)) => v.into_iter().collect(),
        other => AnyValue::String(other.to_string().into()),
    }
}

/// What went wrong in a failed request, in words, for the request's log record. A handler's error
/// puts it in the response's extensions ([`crate::error::AppError`] does); the middleware reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorMessage(pub String);

/// The error and its sources, joined with ": ".
#[must_use]
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Adds an `exception` event (semantic conventions) to a span.
pub fn record_exception(
    span: &opentelemetry::trace::SpanRef<'_>,
    exception_type: &str,
    message: &str,
) {
    span.add_event(
        "exception",
        vec![
            KeyValue::new("exception.type", exception_type.to_owned()),
            KeyValue::new("exception.message", message.to_owned()),
        ],
    );
}

/// Axum middleware: a SERVER span around every request, child of the caller's context, with the
/// HTTP semantic-convention attributes, the request-duration histogram, and one log record per
/// request on that span: info when it succeeds, warn for a client's mistake (4xx), error for a
/// failure of the service or of one it depends on (5xx), with the handler's [`ErrorMessage`].
/// Install with `axum::middleware::from_fn_with_state(telemetry, trace_requests)`.
pub async fn trace_requests(
    State(telemetry): State<Telemetry>,
    request: Request,
    next: Next,
) -> Response {
    let parent = telemetry.extract(request.headers());
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let name: Cow<'static, str> = match &route {
        Some(route) => format!("{method} {route}").into(),
        None => method.clone().into(),
    };
    let uri = request.uri();
    let path = uri.path().to_owned();
    let mut attributes = vec![
        KeyValue::new("http.request.method", method.clone()),
        KeyValue::new("url.path", path.clone()),
        KeyValue::new("url.scheme", "http"),
        KeyValue::new(
            "network.protocol.version",
            match request.version() {
                http::Version::HTTP_10 => "1.0",
                http::Version::HTTP_2 => "2",
                _ => "1.1",
            },
        ),
    ];
    if let Some(query) = uri.query() {
        attributes.push(KeyValue::new("url.query", query.to_owned()));
    }
    if let Some(route) = &route {
        attributes.push(KeyValue::new("http.route", route.clone()));
    }
    let host = request
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    if let Some(host) = host {
        let (address, port) = split_host(&host);
        attributes.push(KeyValue::new("server.address", address.to_owned()));
        if let Some(port) = port {
            attributes.push(KeyValue::new("server.port", i64::from(port)));
        }
    }
    if let Some(agent) = request
        .headers()
        .get(http::header::USER_AGENT)
        .and_then(|h| h.to_str().ok())
    {
        attributes.push(KeyValue::new("user_agent.original", agent.to_owned()));
    }
    if let Some(peer) = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
    {
        attributes.push(KeyValue::new("client.address", peer.0.ip().to_string()));
        attributes.push(KeyValue::new("client.port", i64::from(peer.0.port())));
    }

    let span = telemetry
        .tracer()
        .span_builder(name)
        .with_kind(SpanKind::Server)
        .with_attributes(attributes)
        .start_with_context(telemetry.tracer(), &parent);
    let cx = parent.with_span(span);
    let started = Instant::now();
    let response = next.run(request).with_context(cx.clone()).await;

    let elapsed = started.elapsed();
    let status = response.status();
    let code = i64::from(status.as_u16());
    let span = cx.span();
    span.set_attribute(KeyValue::new("http.response.status_code", code));
    let mut metric_attributes = vec![
        KeyValue::new("http.request.method", method.clone()),
        KeyValue::new("url.scheme", "http"),
        KeyValue::new("http.response.status_code", code),
    ];
    if let Some(route) = &route {
        metric_attributes.push(KeyValue::new("http.route", route.clone()));
    }
    if status.is_server_error() {
        let error_type = status.as_u16().to_string();
        span.set_attribute(KeyValue::new("error.type", error_type.clone()));
        metric_attributes.push(KeyValue::new("error.type", error_type));
        span.set_status(Status::error(format!("HTTP {status}")));
    }
    log_request(
        &telemetry,
        &cx,
        &RequestSummary {
            method,
            path,
            route,
            status,
            elapsed,
            error: response.extensions().get::<ErrorMessage>(),
        },
    );
    span.end();
    telemetry
        .inner
        .server_duration
        .record(elapsed.as_secs_f64(), &metric_attributes);
    response
}

/// What the request log says about one request.
struct RequestSummary<'a> {
    method: String,
    path: String,
    route: Option<String>,
    status: http::StatusCode,
    elapsed: Duration,
    error: Option<&'a ErrorMessage>,
}

/// The request's log record, on the request's SERVER span (`cx`): a body such as
/// `GET /jokes 200 in 3.2 ms`, and the method, route, path, status and duration as attributes.
fn log_request(telemetry: &Telemetry, cx: &Context, request: &RequestSummary<'_>) {
    let status = request.status;
    let millis = request.elapsed.as_secs_f64() * 1000.0;
    // Two decimals under a millisecond, so a quick request is not "in 0.0 ms".
    let shown = if millis < 1.0 {
        format!("{millis:.2}")
    } else {
        format!("{millis:.1}")
    };
    let mut body = format!(
        "{} {} {} in {shown} ms",
        request.method,
        request.path,
        status.as_u16()
    );
    let mut attributes = vec![
        KeyValue::new("http.request.method", request.method.clone()),
        KeyValue::new("url.path", request.path.clone()),
        KeyValue::new("http.response.status_code", i64::from(status.as_u16())),
        KeyValue::new("duration_ms", millis),
    ];
    if let Some(route) = &request.route {
        attributes.push(KeyValue::new("http.route", route.clone()));
    }
    let severity = if status.is_server_error() {
        Severity::Error
    } else if status.is_client_error() {
        Severity::Warn
    } else {
        Severity::Info
    };
    if severity != Severity::Info {
        // A handler's own words when it gave them; else the status, as on the span.
        let message = request
            .error
            .map_or_else(|| format!("HTTP {status}"), |e| e.0.clone());
        body.push_str(": ");
        body.push_str(&message);
        attributes.push(KeyValue::new("error.type", status.as_u16().to_string()));
        attributes.push(KeyValue::new("exception.message", message));
    }
    telemetry.log(cx, severity, body, attributes);
}

/// Splits a `Host` header into address and port (IPv6 literals keep their brackets off).
fn split_host(host: &str) -> (&str, Option<u16>) {
    if let Some(rest) = host.strip_prefix('[') {
        if let Some((address, after)) = rest.split_once(']') {
            return (
                address,
                after.strip_prefix(':').and_then(|p| p.parse().ok()),
            );
        }
        return (host, None);
    }
    match host.rsplit_once(':') {
        Some((address, port)) => match port.parse() {
            Ok(port) => (address, Some(port)),
            Err(_) => (host, None),
        },
        None => (host, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> anyhow::Result<TelemetryConfig> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        TelemetryConfig::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_follow_the_specification() {
        let c = config(&[]).unwrap();
        assert_eq!(c.endpoint, "http://localhost:4317");
        assert_eq!(c.traces, ExporterKind::Otlp);
        assert_eq!(c.metrics, ExporterKind::Otlp);
        assert_eq!(c.logs, ExporterKind::Otlp);
        assert_eq!(c.metric_interval, Duration::from_secs(5));
        assert_eq!(c.log_delay, DEFAULT_LOG_DELAY);
        assert_eq!(
            c.propagators,
            [PropagatorKind::TraceContext, PropagatorKind::Baggage]
        );
        assert_eq!(c.service_name("kitchen", true), "kitchen");
    }

    #[test]
    fn reads_the_otel_variables() {
        let c = config(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://10.0.0.1:4317"),
            ("OTEL_TRACES_EXPORTER", "console"),
            ("OTEL_METRICS_EXPORTER", "none"),
            ("OTEL_LOGS_EXPORTER", "console"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "1000"),
            ("OTEL_BLRP_SCHEDULE_DELAY", "250"),
            ("OTEL_PROPAGATORS", "b3, tracecontext,b3multi"),
            ("OTEL_SERVICE_NAME", "my-kitchen"),
        ])
        .unwrap();
        assert_eq!(c.endpoint, "http://10.0.0.1:4317");
        assert_eq!(c.traces, ExporterKind::Console);
        assert_eq!(c.metrics, ExporterKind::None);
        assert_eq!(c.logs, ExporterKind::Console);
        assert_eq!(c.metric_interval, Duration::from_secs(1));
        assert_eq!(c.log_delay, Duration::from_millis(250));
        assert_eq!(
            c.propagators,
            [
                PropagatorKind::B3,
                PropagatorKind::TraceContext,
                PropagatorKind::B3Multi
            ]
        );
        assert_eq!(c.service_name("kitchen", true), "my-kitchen");
        assert_eq!(c.service_name("kitchen", false), "kitchen");
    }

    #[test]
    fn rejects_unknown_values_with_a_message() {
        let err = config(&[("OTEL_TRACES_EXPORTER", "jaeger")]).unwrap_err();
        assert!(format!("{err:#}").contains("jaeger"), "{err:#}");
        let err = config(&[("OTEL_PROPAGATORS", "tracecontext,xray")]).unwrap_err();
        assert!(format!("{err:#}").contains("xray"), "{err:#}");
        assert!(config(&[("OTEL_METRIC_EXPORT_INTERVAL", "soon")]).is_err());
        assert!(
            config(&[("OTEL_PROPAGATORS", "none")])
                .unwrap()
                .propagators
                .is_empty()
        );
    }

    #[test]
    fn logs_exporter_is_parsed_and_a_bad_value_is_a_clear_error() {
        for (value, kind) in [
            ("otlp", ExporterKind::Otlp),
            (" OTLP ", ExporterKind::Otlp),
            ("console", ExporterKind::Console),
            ("none", ExporterKind::None),
        ] {
            let c = config(&[("OTEL_LOGS_EXPORTER", value)]).unwrap();
            assert_eq!(c.logs, kind, "{value:?}");
            assert_eq!(
                c.traces,
                ExporterKind::Otlp,
                "the other signals keep their default"
            );
        }
        let err = config(&[("OTEL_LOGS_EXPORTER", "syslog")]).unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("OTEL_LOGS_EXPORTER"), "{text}");
        assert!(text.contains("syslog"), "{text}");
        assert!(text.contains("otlp, console or none"), "{text}");
        assert!(config(&[("OTEL_BLRP_SCHEDULE_DELAY", "later")]).is_err());
    }

    #[test]
    fn describe_names_every_signal() {
        let c = TelemetryConfig::otlp("http://127.0.0.1:4317");
        assert_eq!(
            c.describe(),
            "traces, metrics and logs go to OTLP gRPC to http://127.0.0.1:4317"
        );
        let c = config(&[
            ("OTEL_METRICS_EXPORTER", "none"),
            ("OTEL_LOGS_EXPORTER", "console"),
        ])
        .unwrap();
        assert_eq!(
            c.describe(),
            "traces go to OTLP gRPC to http://localhost:4317, metrics to nowhere, \
             logs to the console"
        );
        let c = config(&[("OTEL_METRICS_EXPORTER", "console")]).unwrap();
        assert_eq!(
            c.describe(),
            "traces and logs go to OTLP gRPC to http://localhost:4317, metrics to the console"
        );
    }

    #[test]
    fn export_failure_is_reported_once_and_recovery_once() {
        let health = ExportHealth::new("http://localhost:1");
        let failure: OTelSdkResult = Err(opentelemetry_sdk::error::OTelSdkError::InternalFailure(
            "connection refused".into(),
        ));
        let first = health.note("traces", &failure).unwrap();
        assert!(first.contains("http://localhost:1") && first.contains("connection refused"));
        assert!(health.note("metrics", &failure).is_none());
        assert!(health.note("traces", &failure).is_none());
        assert!(
            health
                .note("traces", &Ok(()))
                .unwrap()
                .contains("works now")
        );
        assert!(health.note("traces", &Ok(())).is_none());
        assert!(health.note("traces", &failure).is_none());
    }

    #[test]
    fn no_message_while_export_works() {
        let health = ExportHealth::new("http://localhost:1");
        assert!(health.note("traces", &Ok(())).is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_missing_viewer_is_noticed_and_the_service_keeps_working() {
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", dead.local_addr().unwrap());
        drop(dead);
        let config = TelemetryConfig::otlp(endpoint);
        let telemetry = Telemetry::new(&config, "kitchen").unwrap();
        let tracer = telemetry.tracer();
        drop(tracer.start("work"));
        telemetry.count_request("test");
        telemetry.log(&Context::new(), Severity::Info, "work", []);
        assert!(!config.export_failed());
        tokio::task::spawn_blocking(move || telemetry.shutdown())
            .await
            .unwrap();
        assert!(config.export_failed(), "the failed export was noticed");
    }

    /// A router behind [`trace_requests`], with in-memory span and log exporters.
    fn traced(
        router: axum::Router<Telemetry>,
    ) -> (
        axum::Router,
        opentelemetry_sdk::trace::InMemorySpanExporter,
        opentelemetry_sdk::logs::InMemoryLogExporter,
    ) {
        let spans = opentelemetry_sdk::trace::InMemorySpanExporter::default();
        let logs = opentelemetry_sdk::logs::InMemoryLogExporter::default();
        let telemetry = Telemetry::from_providers(
            "test-service",
            SdkTracerProvider::builder()
                .with_simple_exporter(spans.clone())
                .build(),
            SdkMeterProvider::builder().build(),
            SdkLoggerProvider::builder()
                .with_simple_exporter(logs.clone())
                .build(),
            propagator(&[PropagatorKind::TraceContext]),
        );
        let router = router
            .layer(axum::middleware::from_fn_with_state(
                telemetry.clone(),
                trace_requests,
            ))
            .with_state(telemetry);
        (router, spans, logs)
    }

    fn log_attribute<'a>(
        record: &'a opentelemetry_sdk::logs::SdkLogRecord,
        key: &str,
    ) -> Option<&'a AnyValue> {
        record
            .attributes_iter()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v)
    }

    #[tokio::test]
    async fn every_request_is_logged_once_on_its_server_span() {
        use tower::ServiceExt as _;
        let (router, spans, logs) = traced(
            axum::Router::new()
                .route("/ok/{id}", axum::routing::get(|| async { "fine" }))
                .route(
                    "/bad",
                    axum::routing::get(|| async {
                        crate::error::AppError::bad_request("no such flavor: kale")
                    }),
                )
                .route(
                    "/down",
                    axum::routing::get(|| async {
                        crate::error::AppError::bad_gateway("the kitchen is on fire")
                    }),
                ),
        );
        for path in ["/ok/7", "/bad", "/down", "/nowhere"] {
            let request = http::Request::get(path)
                .body(axum::body::Body::empty())
                .unwrap();
            router.clone().oneshot(request).await.unwrap();
        }
        let spans = spans.get_finished_spans().unwrap();
        let logs = logs.get_emitted_logs().unwrap();
        assert_eq!(logs.len(), 4, "one record per request: {logs:#?}");
        let expected = [
            ("/ok/7", Severity::Info, 200, None),
            ("/bad", Severity::Warn, 400, Some("no such flavor: kale")),
            (
                "/down",
                Severity::Error,
                502,
                Some("the kitchen is on fire"),
            ),
            ("/nowhere", Severity::Warn, 404, Some("HTTP 404 Not Found")),
        ];
        for ((path, severity, code, message), log) in expected.into_iter().zip(&logs) {
            let record = &log.record;
            assert_eq!(record.severity_number(), Some(severity), "{path}");
            assert_eq!(record.severity_text(), Some(severity.name()), "{path}");
            let Some(AnyValue::String(body)) = record.body() else {
                panic!("{path}: no body: {record:?}");
            };
            let prefix = format!("GET {path} {code} in ");
            assert!(body.as_str().starts_with(&prefix), "{body}");
            assert_eq!(
                log_attribute(record, "http.response.status_code"),
                Some(&AnyValue::Int(i64::from(code)))
            );
            assert_eq!(
                log_attribute(record, "url.path"),
                Some(&AnyValue::String((*path).into()))
            );
            assert!(matches!(
                log_attribute(record, "duration_ms"),
                Some(AnyValue::Double(ms)) if *ms >= 0.0
            ));
            match message {
                Some(message) => {
                    assert!(
                        body.as_str().ends_with(&format!(" ms: {message}")),
                        "{body}"
                    );
                    assert_eq!(
                        log_attribute(record, "exception.message"),
                        Some(&AnyValue::String(message.into()))
                    );
                }
                None => assert!(log_attribute(record, "exception.message").is_none()),
            }
            // On the request's SERVER span, whose url.path is this path.
            let trace = record.trace_context().expect("trace context");
            let span = spans
                .iter()
                .find(|s| s.span_context.span_id() == trace.span_id)
                .unwrap_or_else(|| panic!("{path}: no span with the log's span id"));
            assert_eq!(span.span_kind, SpanKind::Server);
            assert_eq!(span.span_context.trace_id(), trace.trace_id);
            assert!(span.attributes.contains(&KeyValue::new("url.path", path)));
        }
        assert_eq!(
            log_attribute(&logs[0].record, "http.route"),
            Some(&AnyValue::String("/ok/{id}".into()))
        );
        assert!(log_attribute(&logs[3].record, "http.route").is_none());
    }

    #[test]
    fn attribute_values_keep_their_type_in_log_records() {
        assert_eq!(any_value(Value::I64(3)), AnyValue::Int(3));
        assert_eq!(any_value(Value::F64(0.5)), AnyValue::Double(0.5));
        assert_eq!(any_value(Value::Bool(true)), AnyValue::Boolean(true));
        assert_eq!(any_value("x".into()), AnyValue::String("x".into()));
        assert_eq!(
            any_value(Value::Array(Array::I64(vec![1, 2]))),
            AnyValue::ListAny(Box::new(vec![AnyValue::Int(1), AnyValue::Int(2)]))
        );
    }

    #[test]
    fn splits_host_headers() {
        assert_eq!(split_host("127.0.0.1:8000"), ("127.0.0.1", Some(8000)));
        assert_eq!(split_host("localhost"), ("localhost", None));
        assert_eq!(split_host("[::1]:5000"), ("::1", Some(5000)));
    }
}
