//! `loadgen`: an OTLP trace load generator in the spirit of the collector's telemetrygen.
//!
//! Requests are encoded once ([`template`]) and sent with fresh trace ids, over gRPC (a tonic
//! client sending the pre-encoded bytes) or HTTP (`POST /v1/traces`, protobuf). Nothing is
//! retried: a refused request is counted, so the counts say exactly what the receiver took.

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

pub use template::{Shape, Template};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    Grpc,
    Http,
}

/// The command line of `loadgen`.
#[derive(Clone, Debug, clap::Parser)]
#[command(
    name = "loadgen",
    version,
    about = "Sends OTLP trace load to a receiver and counts what it accepted."
)]
pub struct LoadOptions {
    /// Where to send: a gRPC endpoint, or an HTTP base URL (`/v1/traces` is appended).
    /// Default: http://127.0.0.1:4317 for gRPC, http://127.0.0.1:4318 for HTTP.
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Concurrent senders, one connection and one request in flight each.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub workers: u64,
    /// Spans per second across all workers; 0 sends as fast as the receiver answers.
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Stop after this long (e.g. 10s, 2m).
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub duration: Option<Duration>,
    /// Stop after this many traces in all (default: 1 when no --duration is given).
    #[arg(long)]
    pub traces: Option<u64>,
    /// Child spans under each root span.
    #[arg(long, default_value_t = 0)]
    pub child_spans: usize,
    /// Attributes on every span (typical HTTP ones first, then numbered extras).
    #[arg(long, default_value_t = 2)]
    pub attributes: usize,
    /// Spans per request (rounded down to whole traces, at least one trace).
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_size: u64,
    /// Give each span of a request its own status, path, full URL, client address and body
    /// size (the attribute values that differ between real requests); without it every span
    /// carries the same values.
    #[arg(long)]
    pub varied: bool,
    /// Compress requests with gzip.
    #[arg(long)]
    pub gzip: bool,
    #[arg(long, value_enum, default_value_t = Protocol::Grpc)]
    pub protocol: Protocol,
}

impl LoadOptions {
    #[must_use]
    pub fn shape(&self) -> Shape {
        Shape {
            varied: self.varied,
            ..Shape::for_batch(
                self.child_spans,
                self.attributes,
                usize::try_from(self.batch_size).unwrap_or(usize::MAX),
            )
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

    fn trace_limit(&self) -> Option<u64> {
        match (self.traces, self.duration) {
            (Some(n), _) => Some(n),
            (None, None) => Some(1),
            (None, Some(_)) => None,
        }
    }
}

/// What a run sent and what became of it. Span counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
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
    /// Refused spans by status (gRPC code name or HTTP status).
    pub refusals: BTreeMap<String, u64>,
    pub elapsed: Duration,
}

impl Summary {
    /// Spans sent per second.
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
        write!(
            f,
            "sent {} spans in {} requests ({} bytes) in {:.2}s: {:.0} spans/s; accepted {}, refused {}, rejected {}, failed {}",
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

/// Sends pre-encoded request bytes and decodes the response.
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
    Grpc(tonic::client::Grpc<Channel>),
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
                Self::Grpc(grpc)
            }
            Protocol::Http => {
                let base = endpoint.trim_end_matches('/');
                let url = if base.ends_with("/v1/traces") {
                    base.to_owned()
                } else {
                    format!("{base}/v1/traces")
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
            Self::Grpc(grpc) => {
                if let Err(e) = grpc.ready().await {
                    return Answer::Failed(e.to_string());
                }
                let path = PathAndQuery::from_static(
                    "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                );
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

/// What the workers share.
struct Plan {
    shape: Shape,
    full: Template,
    start_unix_nano: u64,
    /// Trace ids are `nonce << 64 | n` for the n-th trace of the run.
    nonce: u128,
    limit: Option<u64>,
    claimed: AtomicU64,
    deadline: Option<Instant>,
    stop: AtomicBool,
    /// Seconds between one worker's requests, when rate-limited.
    interval: Option<Duration>,
}

/// Sends load as `opts` says until the trace limit, the duration, or `stop` completes.
pub async fn run(
    opts: &LoadOptions,
    stop: impl Future<Output = ()> + Send,
) -> anyhow::Result<Summary> {
    let shape = opts.shape();
    let start_unix_nano = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    let interval = (opts.rate > 0).then(|| {
        #[allow(clippy::cast_precision_loss)]
        let secs = shape.spans_per_request() as f64 * opts.workers as f64 / opts.rate as f64;
        Duration::from_secs_f64(secs)
    });
    // Different runs never reuse trace ids; zero is never used.
    let nonce = u128::from((start_unix_nano >> 10).max(1));
    let started = Instant::now();
    let plan = Arc::new(Plan {
        shape,
        full: Template::new(shape, start_unix_nano),
        start_unix_nano,
        nonce,
        limit: opts.trace_limit(),
        claimed: AtomicU64::new(0),
        deadline: opts.duration.map(|d| started + d),
        stop: AtomicBool::new(false),
        interval,
    });
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
    let per_request = plan.shape.traces_per_request as u64;
    let mut partial: Option<Template> = None;
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
        let template = if n == per_request {
            &plan.full
        } else {
            partial.get_or_insert_with(|| {
                let shape = Shape {
                    traces_per_request: usize::try_from(n).unwrap_or(1),
                    ..plan.shape
                };
                Template::new(shape, plan.start_unix_nano)
            })
        };
        if let Some(interval) = plan.interval {
            tokio::time::sleep_until(next.into()).await;
            next += interval;
        }
        let mut body = Vec::with_capacity(template.len());
        template.render((plan.nonce << 64) | u128::from(first), &mut body);
        let spans = template.shape.spans_per_request() as u64;
        s.requests += 1;
        s.sent += spans;
        s.bytes += body.len() as u64;
        match client.send(body).await {
            Answer::Accepted { rejected } => {
                s.rejected += rejected;
                s.accepted += spans.saturating_sub(rejected);
            }
            Answer::Refused(why) => {
                s.refused += spans;
                *s.refusals.entry(why).or_default() += spans;
            }
            Answer::Failed(why) => {
                s.failed += spans;
                *s.refusals.entry(format!("failed: {why}")).or_default() += spans;
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
}
