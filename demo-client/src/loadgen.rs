//! `loadgen`: an OTLP load generator in the spirit of the collector's telemetrygen, for traces,
//! logs and metrics.
//!
//! Requests are encoded once ([`template`] for spans, [`logs`] for log records, [`metrics`] for
//! metric points) and sent with fresh trace ids (and record numbers, or times), over gRPC (a
//! tonic client sending the pre-encoded bytes) or HTTP (`POST /v1/traces`, `/v1/logs`,
//! `/v1/metrics`, protobuf). Nothing is retried: a refused request is counted, so the counts say
//! exactly what the receiver took.

pub mod logs;
pub mod metrics;
pub mod template;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use bytes::{BufMut as _, Bytes};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message as _;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;

pub use logs::LogTemplate;
pub use metrics::{MetricShape, MetricTemplate};
pub use template::{Shape, Template};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    Grpc,
    Http,
}

/// What to send.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Signal {
    /// Spans, in whole traces.
    #[default]
    Traces,
    /// Log records, one per span of each trace (same ids, no spans sent).
    Logs,
    /// Metric data points: every series of every metric at one time per request.
    Metrics,
}

impl Signal {
    /// What one item is called, plural.
    #[must_use]
    pub fn items(self) -> &'static str {
        match self {
            Self::Traces => "spans",
            Self::Logs => "log records",
            Self::Metrics => "metric points",
        }
    }

    /// The gRPC method's path.
    fn grpc_path(self) -> &'static str {
        match self {
            Self::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            Self::Logs => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
            Self::Metrics => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
        }
    }

    /// The OTLP/HTTP path.
    fn http_path(self) -> &'static str {
        match self {
            Self::Traces => "/v1/traces",
            Self::Logs => "/v1/logs",
            Self::Metrics => "/v1/metrics",
        }
    }
}

/// The command line of `loadgen`.
#[derive(Clone, Debug, clap::Parser)]
#[command(
    name = "loadgen",
    version,
    about = "Sends OTLP load (traces, logs or metrics) to a receiver and counts what it accepted."
)]
pub struct LoadOptions {
    /// Where to send: a gRPC endpoint, or an HTTP base URL (`/v1/traces`, `/v1/logs` or
    /// `/v1/metrics` is appended).
    /// Default: http://127.0.0.1:4317 for gRPC, http://127.0.0.1:4318 for HTTP.
    #[arg(long)]
    pub endpoint: Option<String>,
    /// What to send: spans; log records (one per span of each trace, with its trace and span
    /// ids; 5 attributes unless --attributes says otherwise); or metric points (--metrics
    /// metrics of --series series each per request, a third each counters, gauges and
    /// histograms; each worker sends as its own service instance, so its series are its own).
    #[arg(long, value_enum, default_value_t = Signal::Traces)]
    pub signal: Signal,
    /// Concurrent senders, one connection and one request in flight each.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub workers: u64,
    /// Spans (log records, metric points) per second across all workers; 0 sends as fast as
    /// the receiver answers.
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Stop after this long (e.g. 10s, 2m).
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub duration: Option<Duration>,
    /// Stop after this many traces in all (traces and logs; default: 1 trace, or 1 request of
    /// metrics, when neither this, --requests nor --duration is given).
    #[arg(long, conflicts_with = "requests")]
    pub traces: Option<u64>,
    /// Stop after this many requests in all.
    #[arg(long)]
    pub requests: Option<u64>,
    /// Child spans under each root span (logs: one record per span).
    #[arg(long, default_value_t = 0)]
    pub child_spans: usize,
    /// Attributes on every span (typical HTTP ones first, then numbered extras) or log record
    /// (function, namespace, thread, status, item, duration, then numbered extras). Default: 2
    /// for spans, 5 for log records.
    #[arg(long)]
    pub attributes: Option<usize>,
    /// Spans (log records) per request (rounded down to whole traces, at least one trace).
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_size: u64,
    /// Metrics: metrics per request.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub metrics: u64,
    /// Metrics: series per metric (and worker).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub series: u64,
    /// Give each span of a request its own status, path, full URL, client address and body
    /// size (the attribute values that differ between real requests); without it every span
    /// carries the same values.
    #[arg(long)]
    pub varied: bool,
    /// Compress requests with gzip.
    #[arg(long)]
    pub gzip: bool,
    /// The `service.name` every request's resource carries.
    #[arg(long, default_value = "loadgen")]
    pub service: String,
    #[arg(long, value_enum, default_value_t = Protocol::Grpc)]
    pub protocol: Protocol,
}

impl LoadOptions {
    /// The shape of trace requests, and of log requests (a record per span).
    #[must_use]
    pub fn shape(&self) -> Shape {
        let attributes = self.attributes.unwrap_or(match self.signal {
            Signal::Logs => 5,
            Signal::Traces | Signal::Metrics => 2,
        });
        Shape {
            varied: self.varied,
            ..Shape::for_batch(
                self.child_spans,
                attributes,
                usize::try_from(self.batch_size).unwrap_or(usize::MAX),
            )
        }
    }

    /// The shape of metric requests.
    #[must_use]
    pub fn metric_shape(&self) -> MetricShape {
        MetricShape {
            metrics: usize::try_from(self.metrics).unwrap_or(usize::MAX),
            series: usize::try_from(self.series).unwrap_or(usize::MAX),
        }
    }

    /// Items (spans, log records, metric points) in one full request.
    #[must_use]
    pub fn items_per_request(&self) -> usize {
        match self.signal {
            Signal::Traces | Signal::Logs => self.shape().spans_per_request(),
            Signal::Metrics => self.metric_shape().points_per_request(),
        }
    }

    /// What the workers claim, one request at a time: traces for spans and logs, requests
    /// for metrics.
    fn units_per_request(&self) -> u64 {
        match self.signal {
            Signal::Traces | Signal::Logs => self.shape().traces_per_request as u64,
            Signal::Metrics => 1,
        }
    }

    fn endpoint(&self) -> String {
        self.endpoint.clone().unwrap_or_else(|| {
            match self.protocol {
                Protocol::Grpc => "http://127.0.0.1:4317",
                Protocol::Http => "http://127.0.0.1:4318",
            }
            .to_owned()
        })
    }

    /// The limit in units (see [`LoadOptions::units_per_request`]).
    fn limit(&self) -> Option<u64> {
        let per_request = self.units_per_request();
        match (self.traces, self.requests, self.duration) {
            (Some(n), _, _) if self.signal != Signal::Metrics => Some(n),
            (_, Some(n), _) => Some(n.saturating_mul(per_request)),
            (_, _, Some(_)) => None,
            _ => Some(1),
        }
    }
}

/// What a run sent and what became of it. Counts of items: spans, log records or metric points.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// What the items are (`Signal::items`).
    pub items: &'static str,
    pub requests: u64,
    pub sent: u64,
    /// In requests answered with success, minus those the receiver rejected.
    pub accepted: u64,
    /// In requests answered with an error status (busy, too large, ...).
    pub refused: u64,
    /// Reported back as rejected in a partial success.
    pub rejected: u64,
    /// In requests that got no answer at all (connection errors).
    pub failed: u64,
    /// Encoded (uncompressed) bytes sent.
    pub bytes: u64,
    /// Refused items by status (gRPC code name or HTTP status).
    pub refusals: BTreeMap<String, u64>,
    pub elapsed: Duration,
}

impl Summary {
    /// Items sent per second.
    #[must_use]
    pub fn rate(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let sent = self.sent as f64;
        sent / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn merge(&mut self, other: &Self) {
        self.requests += other.requests;
        self.sent += other.sent;
        self.accepted += other.accepted;
        self.refused += other.refused;
        self.rejected += other.rejected;
        self.failed += other.failed;
        self.bytes += other.bytes;
        for (k, v) in &other.refusals {
            *self.refusals.entry(k.clone()).or_default() += v;
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items = if self.items.is_empty() {
            "items"
        } else {
            self.items
        };
        write!(
            f,
            "sent {} {items} in {} requests ({} bytes) in {:.2}s: {:.0} {items}/s; accepted {}, refused {}, rejected {}, failed {}",
            self.sent,
            self.requests,
            self.bytes,
            self.elapsed.as_secs_f64(),
            self.rate(),
            self.accepted,
            self.refused,
            self.rejected,
            self.failed
        )?;
        if !self.refusals.is_empty() {
            let parts: Vec<String> = self
                .refusals
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            write!(f, " ({})", parts.join(", "))?;
        }
        Ok(())
    }
}

/// How one request ended.
enum Answer {
    Accepted { rejected: u64 },
    Refused(String),
    Failed(String),
}

/// Sends pre-encoded request bytes and decodes the response. The three signals' responses
/// are the same message on the wire (a partial success, field 1, whose field 1 is the count of
/// rejected items), so the trace response's type reads them all.
#[derive(Clone, Copy, Default)]
struct RawCodec;

struct RawEncoder;
struct ResponseDecoder;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = ExportTraceServiceResponse;
    type Encoder = RawEncoder;
    type Decoder = ResponseDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        RawEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        ResponseDecoder
    }
}

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for ResponseDecoder {
    type Item = ExportTraceServiceResponse;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, tonic::Status> {
        ExportTraceServiceResponse::decode(src)
            .map(Some)
            .map_err(|e| tonic::Status::internal(e.to_string()))
    }
}

fn rejected_of(resp: &ExportTraceServiceResponse) -> u64 {
    resp.partial_success
        .as_ref()
        .map_or(0, |p| u64::try_from(p.rejected_spans).unwrap_or(0))
}

enum Client {
    Grpc {
        grpc: tonic::client::Grpc<Channel>,
        path: &'static str,
    },
    Http {
        client: reqwest::Client,
        url: String,
        gzip: bool,
    },
}

impl Client {
    async fn connect(opts: &LoadOptions) -> anyhow::Result<Self> {
        let endpoint = opts.endpoint();
        Ok(match opts.protocol {
            Protocol::Grpc => {
                let channel = tonic::transport::Endpoint::from_shared(endpoint.clone())
                    .with_context(|| format!("bad endpoint {endpoint}"))?
                    .connect()
                    .await
                    .with_context(|| format!("cannot connect to {endpoint}"))?;
                let mut grpc =
                    tonic::client::Grpc::new(channel).max_decoding_message_size(1024 * 1024);
                if opts.gzip {
                    grpc = grpc.send_compressed(CompressionEncoding::Gzip);
                }
                Self::Grpc {
                    grpc,
                    path: opts.signal.grpc_path(),
                }
            }
            Protocol::Http => {
                let base = endpoint.trim_end_matches('/');
                let path = opts.signal.http_path();
                let url = if base.ends_with(path) {
                    base.to_owned()
                } else {
                    format!("{base}{path}")
                };
                Self::Http {
                    client: reqwest::Client::new(),
                    url,
                    gzip: opts.gzip,
                }
            }
        })
    }

    async fn send(&mut self, body: Vec<u8>) -> Answer {
        match self {
            Self::Grpc { grpc, path } => {
                if let Err(e) = grpc.ready().await {
                    return Answer::Failed(e.to_string());
                }
                let path = PathAndQuery::from_static(path);
                match grpc
                    .unary(tonic::Request::new(Bytes::from(body)), path, RawCodec)
                    .await
                {
                    Ok(resp) => Answer::Accepted {
                        rejected: rejected_of(resp.get_ref()),
                    },
                    Err(status) => Answer::Refused(format!("{:?}", status.code())),
                }
            }
            Self::Http { client, url, gzip } => {
                let mut req = client
                    .post(url.as_str())
                    .header("content-type", "application/x-protobuf");
                let body = if *gzip {
                    req = req.header("content-encoding", "gzip");
                    let mut enc =
                        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                    if let Err(e) = enc.write_all(&body) {
                        return Answer::Failed(e.to_string());
                    }
                    match enc.finish() {
                        Ok(b) => b,
                        Err(e) => return Answer::Failed(e.to_string()),
                    }
                } else {
                    body
                };
                match req.body(body).send().await {
                    Ok(resp) if resp.status().is_success() => {
                        let bytes = resp.bytes().await.unwrap_or_default();
                        let rejected = ExportTraceServiceResponse::decode(bytes.as_ref())
                            .map_or(0, |r| rejected_of(&r));
                        Answer::Accepted { rejected }
                    }
                    Ok(resp) => Answer::Refused(format!("HTTP {}", resp.status().as_u16())),
                    Err(e) => Answer::Failed(e.to_string()),
                }
            }
        }
    }
}

/// Pre-encoded requests of one signal.
enum Requests {
    Traces(Template),
    Logs(LogTemplate),
    Metrics(MetricTemplate),
}

impl Requests {
    /// Requests of `units` traces (spans, logs) from `instance` (metrics).
    fn new(plan: &Plan, units: u64, instance: usize) -> Self {
        let shape = Shape {
            traces_per_request: usize::try_from(units).unwrap_or(1),
            ..plan.shape
        };
        match plan.signal {
            Signal::Traces => Self::Traces(Template::new(shape, plan.start_unix_nano)),
            Signal::Logs => Self::Logs(LogTemplate::new(shape, plan.start_unix_nano)),
            Signal::Metrics => Self::Metrics(MetricTemplate::new(
                plan.metric_shape,
                plan.start_unix_nano,
                &format!("loadgen-{instance}"),
            )),
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::Traces(t) => t.len(),
            Self::Logs(t) => t.len(),
            Self::Metrics(t) => t.len(),
        }
    }

    /// Items in one request.
    fn items(&self) -> u64 {
        match self {
            Self::Traces(t) => t.shape.spans_per_request() as u64,
            Self::Logs(t) => t.shape.spans_per_request() as u64,
            Self::Metrics(t) => t.shape.points_per_request() as u64,
        }
    }
}

/// What the workers share.
struct Plan {
    signal: Signal,
    shape: Shape,
    metric_shape: MetricShape,
    /// Requests of whole traces (spans, logs); metrics workers have their own.
    full: Option<Requests>,
    start_unix_nano: u64,
    /// Trace ids are `nonce << 64 | n` for the n-th trace of the run.
    nonce: u128,
    /// Traces (spans, logs) or requests (metrics) to send in all.
    limit: Option<u64>,
    /// Traces or requests claimed so far.
    claimed: AtomicU64,
    per_request: u64,
    deadline: Option<Instant>,
    stop: AtomicBool,
    /// Seconds between one worker's requests, when rate-limited.
    interval: Option<Duration>,
}

/// Nanoseconds since the Unix epoch.
fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Sends load as `opts` says until the limit, the duration, or `stop` completes.
pub async fn run(
    opts: &LoadOptions,
    stop: impl Future<Output = ()> + Send,
) -> anyhow::Result<Summary> {
    if opts.signal == Signal::Metrics && opts.traces.is_some() {
        anyhow::bail!("--traces counts traces; for metrics, use --requests or --duration");
    }
    template::set_service(&opts.service);
    let start_unix_nano = unix_nanos();
    let interval = (opts.rate > 0).then(|| {
        #[allow(clippy::cast_precision_loss)]
        let secs = opts.items_per_request() as f64 * opts.workers as f64 / opts.rate as f64;
        Duration::from_secs_f64(secs)
    });
    // Different runs never reuse trace ids; zero is never used.
    let nonce = u128::from((start_unix_nano >> 10).max(1));
    let started = Instant::now();
    let mut plan = Plan {
        signal: opts.signal,
        shape: opts.shape(),
        metric_shape: opts.metric_shape(),
        full: None,
        start_unix_nano,
        nonce,
        limit: opts.limit(),
        claimed: AtomicU64::new(0),
        per_request: opts.units_per_request(),
        deadline: opts.duration.map(|d| started + d),
        stop: AtomicBool::new(false),
        interval,
    };
    if opts.signal != Signal::Metrics {
        plan.full = Some(Requests::new(&plan, plan.per_request, 0));
    }
    let plan = Arc::new(plan);
    let mut clients = Vec::new();
    for _ in 0..opts.workers {
        clients.push(Client::connect(opts).await?);
    }
    let started = Instant::now();
    let workers: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, client)| {
            let plan = Arc::clone(&plan);
            tokio::spawn(worker(plan, client, i))
        })
        .collect();
    let all = futures_join(workers);
    tokio::pin!(all);
    let mut summary = tokio::select! {
        s = &mut all => s,
        () = stop => {
            plan.stop.store(true, Ordering::Relaxed);
            all.await
        }
    };
    summary.items = opts.signal.items();
    summary.elapsed = started.elapsed();
    Ok(summary)
}

async fn futures_join(workers: Vec<tokio::task::JoinHandle<Summary>>) -> Summary {
    let mut total = Summary::default();
    for w in workers {
        if let Ok(s) = w.await {
            total.merge(&s);
        }
    }
    total
}

async fn worker(plan: Arc<Plan>, mut client: Client, index: usize) -> Summary {
    let mut s = Summary::default();
    let per_request = plan.per_request;
    // A metrics worker's own series (its own service instance); a last, shorter request.
    let own = (plan.signal == Signal::Metrics).then(|| Requests::new(&plan, 1, index));
    let mut partial: Option<Requests> = None;
    // Metric points carry the time they are sent, strictly increasing per worker.
    let mut last_time = 0u64;
    let mut next = Instant::now();
    if let Some(interval) = plan.interval {
        // Spread the workers' sends over one interval.
        next += interval.mul_f64(index as f64 / 64.0_f64.max(index as f64 + 1.0));
    }
    loop {
        if plan.stop.load(Ordering::Relaxed) || plan.deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let first = plan.claimed.fetch_add(per_request, Ordering::Relaxed);
        let n = match plan.limit {
            Some(limit) if first >= limit => break,
            Some(limit) => per_request.min(limit - first),
            None => per_request,
        };
        let requests = match (&own, &plan.full) {
            (Some(own), _) => own,
            (None, Some(full)) if n == per_request => full,
            _ => partial.get_or_insert_with(|| Requests::new(&plan, n, index)),
        };
        if let Some(interval) = plan.interval {
            tokio::time::sleep_until(next.into()).await;
            next += interval;
        }
        let mut body = Vec::with_capacity(requests.len());
        match requests {
            Requests::Traces(t) => t.render((plan.nonce << 64) | u128::from(first), &mut body),
            Requests::Logs(t) => t.render((plan.nonce << 64) | u128::from(first), &mut body),
            Requests::Metrics(t) => {
                last_time = unix_nanos().max(last_time + 1);
                t.render(last_time, &mut body);
            }
        }
        let items = requests.items();
        s.requests += 1;
        s.sent += items;
        s.bytes += body.len() as u64;
        match client.send(body).await {
            Answer::Accepted { rejected } => {
                s.rejected += rejected;
                s.accepted += items.saturating_sub(rejected);
            }
            Answer::Refused(why) => {
                s.refused += items;
                *s.refusals.entry(why).or_default() += items;
            }
            Answer::Failed(why) => {
                s.failed += items;
                *s.refusals.entry(format!("failed: {why}")).or_default() += items;
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::template::request;
    use super::*;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

    #[test]
    fn rendered_requests_decode_with_the_patched_ids() {
        let shape = Shape::for_batch(3, 14, 10);
        assert_eq!(shape.traces_per_request, 2);
        let t = Template::new(shape, 1_700_000_000_000_000_000);
        let mut out = Vec::new();
        t.render(1000 << 64, &mut out);
        let req = ExportTraceServiceRequest::decode(out.as_slice()).unwrap();
        let spans = &req.resource_spans[0].scope_spans[0].spans;
        assert_eq!(spans.len(), 8);
        assert!(spans.iter().all(|s| s.attributes.len() == 14));
        let ids: Vec<u128> = spans
            .iter()
            .map(|s| u128::from_be_bytes(s.trace_id.as_slice().try_into().unwrap()))
            .collect();
        assert_eq!(ids[..4], [1000 << 64; 4]);
        assert_eq!(ids[4..], [(1000 << 64) + 1; 4]);
        assert_eq!(spans[3].parent_span_id, 2u64.to_be_bytes());
        assert!(spans[0].parent_span_id.is_empty());
        // Same bytes as encoding the request with real ids.
        let direct = request(&shape, 1_700_000_000_000_000_000, Some(1000 << 64)).encode_to_vec();
        assert_eq!(out, direct);
    }

    #[test]
    fn varied_spans_differ_in_the_per_request_values_only() {
        let values = |varied: bool, key: &str| -> Vec<String> {
            let shape = Shape {
                varied,
                ..Shape::for_batch(9, 14, 100)
            };
            let req = request(&shape, 1, Some(1));
            req.resource_spans[0].scope_spans[0]
                .spans
                .iter()
                .map(|s| {
                    let a = s.attributes.iter().find(|a| a.key == key).unwrap();
                    format!("{:?}", a.value)
                })
                .collect()
        };
        let distinct = |v: Vec<String>| {
            v.into_iter()
                .collect::<std::collections::HashSet<_>>()
                .len()
        };
        assert_eq!(distinct(values(true, "url.full")), 100);
        assert_eq!(distinct(values(true, "client.address")), 100);
        assert_eq!(distinct(values(true, "http.request.method")), 1);
        assert_eq!(distinct(values(false, "url.full")), 1);
    }

    mod logs {
        use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
        use opentelemetry_proto::tonic::common::v1::any_value;
        use prost::Message as _;

        use crate::loadgen::logs::{LogTemplate, request};
        use crate::loadgen::template::Shape;

        #[test]
        fn rendered_requests_are_the_requests_with_real_ids() {
            let shape = Shape::for_batch(4, 5, 50);
            let t = LogTemplate::new(shape, 1_700_000_000_000_000_000);
            let mut out = Vec::new();
            let base = (7u128 << 64) | 1234;
            t.render(base, &mut out);
            let direct = request(&shape, 1_700_000_000_000_000_000, Some(base)).encode_to_vec();
            assert_eq!(out, direct);
            let req = ExportLogsServiceRequest::decode(out.as_slice()).unwrap();
            let records = &req.resource_logs[0].scope_logs[0].log_records;
            assert_eq!(records.len(), 50);
            assert!(records.iter().all(|r| r.attributes.len() == 5));
            let bodies: std::collections::HashSet<String> = records
                .iter()
                .map(|r| match &r.body.as_ref().unwrap().value {
                    Some(any_value::Value::StringValue(s)) => s.clone(),
                    _ => panic!("a string body"),
                })
                .collect();
            assert_eq!(bodies.len(), 50, "every body differs");
            assert!(
                bodies.iter().all(|b| (40..=80).contains(&b.len())),
                "{bodies:?}"
            );
            assert!(
                bodies
                    .iter()
                    .any(|b| b.contains(&format!("{:016x}", 1234 * 5 + 49)))
            );
            // The next request's bodies differ from this one's.
            let mut next = Vec::new();
            t.render(base + 10, &mut next);
            let req2 = ExportLogsServiceRequest::decode(next.as_slice()).unwrap();
            assert_ne!(
                req2.resource_logs[0].scope_logs[0].log_records[0].body,
                records[0].body
            );
        }
    }

    mod metrics {
        use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
        use opentelemetry_proto::tonic::metrics::v1::metric;
        use prost::Message as _;

        use crate::loadgen::metrics::{BOUNDS, MetricShape, MetricTemplate, request};

        #[test]
        fn rendered_requests_are_the_requests_at_their_time() {
            let shape = MetricShape {
                metrics: 7,
                series: 600,
            };
            let t = MetricTemplate::new(shape, 1_000, "a");
            let mut out = Vec::new();
            t.render(5_000_000, &mut out);
            assert_eq!(out, request(&shape, 1_000, 5_000_000, "a").encode_to_vec());
            let req = ExportMetricsServiceRequest::decode(out.as_slice()).unwrap();
            let metrics = &req.resource_metrics[0].scope_metrics[0].metrics;
            assert_eq!(metrics.len(), 7);
            let names: std::collections::HashSet<&str> =
                metrics.iter().map(|m| m.name.as_str()).collect();
            assert_eq!(names.len(), 7);
            // Every series of a metric has its own attributes.
            let Some(metric::Data::Histogram(h)) = &metrics[2].data else {
                panic!("the third metric is a histogram");
            };
            let sets: std::collections::HashSet<String> = h
                .data_points
                .iter()
                .map(|p| format!("{:?}", p.attributes))
                .collect();
            assert_eq!(sets.len(), 600);
            assert!(
                h.data_points
                    .iter()
                    .all(|p| p.bucket_counts.len() == BOUNDS.len() + 1
                        && p.count == p.bucket_counts.iter().sum::<u64>())
            );
        }
    }
}
