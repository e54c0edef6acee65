//! `--forward URL`: every accepted request sent on to an upstream OTLP endpoint (a Collector,
//! Jaeger), as the receivers got it: the request's protobuf bytes are sent again without being
//! decoded (gRPC) or gzip-compressed once (HTTP).
//!
//! Never in the way of local ingest: a request is offered to a bounded queue (`--forward-queue`)
//! and the receiver moves on; a full queue drops the request and counts it. A few senders take
//! requests from the queue; a request that fails with a retryable error (upstream unreachable,
//! `UNAVAILABLE`, HTTP 429/502/503/504) is tried again with a growing pause, for up to
//! [`GIVE_UP_AFTER`], then dropped and counted; any other error drops it at once.
//!
//! At exit the senders get a bounded time to send what is still waiting ([`Senders::drain`],
//! `--forward-drain`); every request still queued or being sent then is counted as not forwarded
//! too, so nothing leaves uncounted.
//!
//! URLs: `grpc://HOST:PORT` for OTLP/gRPC; `http://HOST:PORT[/PREFIX]` for OTLP/HTTP (protobuf;
//! `/v1/traces`, `/v1/metrics`, `/v1/logs` appended). No TLS yet. Redirects are not followed:
//! a 3xx answer is an error that names where it pointed (following one would send the request
//! and the `--forward-header` values to another address). A password in the URL is never
//! printed ([`crate::format::redact_url`]).
//!
//! Loops: a URL naming the viewer's own receivers is refused at start ([`points_at`]), and every
//! forwarded request carries the [`HOP_HEADER`] header (gRPC metadata) listing the viewers it
//! went through, each by a random id of its own. A request that comes back to a viewer carrying
//! that viewer's id ([`Hops`]) is acknowledged and dropped: it was stored and forwarded when it
//! first came, so a loop through other hops ends there.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::{Buf as _, BufMut as _, Bytes};
use parking_lot::Mutex;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http;

use crate::format::{redact_url, safe_capped};
use crate::ingest::Signal;

/// How long a request is retried before it is given up (and counted).
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(30);
/// Requests sent at once.
const SENDERS: usize = 4;
/// The longest pause between tries.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// One try's time limit.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The header (gRPC metadata) listing the viewers a forwarded request went through.
pub const HOP_HEADER: &str = "x-otel-viewer-hop";
/// Hop ids a forwarded request carries at most (the latest kept).
const MAX_HOPS: usize = 16;

/// What forwarding counts.
#[derive(Debug, Default)]
pub struct ForwardStats {
    /// Whether `--forward` is on (the report then always says what was forwarded).
    pub on: AtomicBool,
    /// Requests (and their spans, log records, points) upstream accepted.
    pub requests: AtomicU64,
    pub items: AtomicU64,
    /// Requests (and items) not forwarded: the queue was full, upstream refused them, they
    /// were given up after [`GIVE_UP_AFTER`], or they were still waiting at exit.
    pub dropped_requests: AtomicU64,
    pub dropped_items: AtomicU64,
    /// Of those, the requests still queued or being sent when the drain at exit ended.
    pub cut_off: AtomicU64,
    /// Tries that failed and were tried again.
    pub retries: AtomicU64,
    /// Requests that came back carrying this viewer's hop id (a forwarding loop): acknowledged,
    /// not stored or forwarded again.
    pub looped: AtomicU64,
    /// Requests (and items) waiting in the queue or being sent.
    pub pending: AtomicU64,
    pub pending_items: AtomicU64,
    /// The last error, for the status bar.
    pub last_error: Mutex<Option<String>>,
}

/// Where and how to forward.
#[derive(Clone, Debug)]
pub struct ForwardOptions {
    pub url: String,
    /// Extra headers (gRPC metadata), as `--forward-header NAME=VALUE` gives them.
    pub headers: Vec<(String, String)>,
    /// Requests that may wait.
    pub queue: usize,
    pub give_up_after: Duration,
}

struct Job {
    signal: Signal,
    bytes: Bytes,
    items: u64,
    /// The [`HOP_HEADER`] to send: the hops it came through, then this viewer.
    hops: http::HeaderValue,
}

/// The viewers a request was forwarded through, as its [`HOP_HEADER`] lists them
/// (comma-separated ids; empty for a request from anything else).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hops(Vec<String>);

impl Hops {
    /// The hops a request's headers (or gRPC metadata) list: ids of visible ASCII, the latest
    /// [`MAX_HOPS`].
    #[must_use]
    pub fn of(headers: &http::HeaderMap) -> Self {
        let mut ids: Vec<String> = headers
            .get_all(HOP_HEADER)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|id| !id.is_empty() && id.len() <= 64)
            .map(str::to_owned)
            .collect();
        let extra = ids.len().saturating_sub(MAX_HOPS);
        ids.drain(..extra);
        Self(ids)
    }

    /// Whether `id` is one of the hops.
    #[must_use]
    pub fn contains(&self, id: &str) -> bool {
        self.0.iter().any(|h| h == id)
    }

    /// The header to forward with: these hops, then `id` (the oldest dropped past
    /// [`MAX_HOPS`]).
    fn then(&self, id: &str) -> http::HeaderValue {
        let skip = (self.0.len() + 1).saturating_sub(MAX_HOPS);
        let mut ids: Vec<&str> = self.0.iter().skip(skip).map(String::as_str).collect();
        ids.push(id);
        http::HeaderValue::from_str(&ids.join(","))
            .unwrap_or_else(|_| http::HeaderValue::from_static("invalid"))
    }
}

/// A random id for one viewer's forwarder: 16 hex digits.
fn new_hop_id() -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    format!("{:016x}", h.finish())
}

/// The listen address among `listen` that `url` (a `--forward` URL) points at, if any: the same
/// port on the same address, or on a loopback or unspecified one (localhost, 127.0.0.1, ::1,
/// 0.0.0.0) while the viewer listens on a loopback or unspecified address. Forwarding there
/// would send each request back to this viewer, for ever.
#[must_use]
pub fn points_at(url: &str, listen: &[SocketAddr]) -> Option<SocketAddr> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        (host, after.strip_prefix(':'))
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    let port: u16 = match port {
        Some(p) => p.parse().ok()?,
        None if scheme == "http" => 80,
        None => return None,
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let ip: Option<IpAddr> = if host == "localhost" {
        Some(IpAddr::from([127, 0, 0, 1]))
    } else {
        host.parse().ok()
    };
    let ip = ip?;
    let local = |ip: IpAddr| ip.is_loopback() || ip.is_unspecified();
    listen.iter().copied().find(|addr| {
        addr.port() != 0
            && addr.port() == port
            && (addr.ip() == ip || (local(ip) && local(addr.ip())))
    })
}

#[derive(Clone)]
enum Upstream {
    Grpc(tonic::transport::Channel),
    Http {
        client: reqwest::Client,
        base: String,
        /// `base` as it may be printed (no password).
        name: String,
    },
}

/// The queue's sending end (the receivers' side).
pub struct Forwarder {
    tx: mpsc::Sender<Job>,
    stats: Arc<ForwardStats>,
    /// This viewer's id in the [`HOP_HEADER`].
    hop: String,
}

/// The senders, kept to drain them at exit ([`Senders::drain`]).
pub struct Senders {
    tasks: Vec<JoinHandle<()>>,
    stats: Arc<ForwardStats>,
    /// Told each time a sender is done with a request.
    done: Arc<Notify>,
}

impl Forwarder {
    /// Checks the URL and starts the senders (on the current Tokio runtime).
    ///
    /// # Errors
    /// The URL is not one this can forward to, or a header is not valid.
    pub fn start(
        options: &ForwardOptions,
        stats: Arc<ForwardStats>,
    ) -> Result<(Self, Senders), String> {
        let upstream = upstream(&options.url)?;
        let mut headers = Vec::new();
        for (k, v) in &options.headers {
            let name = http::HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes())
                .map_err(|e| format!("--forward-header {k:?}: {e}"))?;
            let value = http::HeaderValue::from_str(v)
                .map_err(|e| format!("--forward-header {k:?}: {e}"))?;
            headers.push((name, value));
        }
        let (tx, rx) = mpsc::channel(options.queue.max(1));
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let headers = Arc::new(headers);
        let done = Arc::new(Notify::new());
        let tasks = (0..SENDERS)
            .map(|_| {
                let (rx, upstream, headers, stats, done) = (
                    Arc::clone(&rx),
                    upstream.clone(),
                    Arc::clone(&headers),
                    Arc::clone(&stats),
                    Arc::clone(&done),
                );
                let give_up = options.give_up_after;
                tokio::spawn(async move {
                    loop {
                        let job = rx.lock().await.recv().await;
                        let Some(job) = job else { break };
                        send_until(&upstream, &headers, &job, give_up, &stats).await;
                        // No await from here to the next job: a sender stopped by the drain
                        // is either sending a job (still pending) or done with it (counted).
                        stats.pending.fetch_sub(1, Ordering::Relaxed);
                        stats.pending_items.fetch_sub(job.items, Ordering::Relaxed);
                        done.notify_waiters();
                    }
                })
            })
            .collect();
        stats.on.store(true, Ordering::Relaxed);
        let forwarder = Self {
            tx,
            stats: Arc::clone(&stats),
            hop: new_hop_id(),
        };
        Ok((forwarder, Senders { tasks, stats, done }))
    }

    /// Whether a request that went through `hops` has been through this viewer already (a
    /// forwarding loop); counted when it has.
    pub fn came_back(&self, hops: &Hops) -> bool {
        let back = hops.contains(&self.hop);
        if back {
            self.stats.looped.fetch_add(1, Ordering::Relaxed);
        }
        back
    }

    /// Offers a request that came through `hops`; a full queue drops it (counted). Never
    /// waits.
    pub fn offer(&self, signal: Signal, bytes: Bytes, items: u64, hops: &Hops) {
        self.stats.pending.fetch_add(1, Ordering::Relaxed);
        self.stats.pending_items.fetch_add(items, Ordering::Relaxed);
        if self
            .tx
            .try_send(Job {
                signal,
                bytes,
                items,
                hops: hops.then(&self.hop),
            })
            .is_err()
        {
            self.stats.pending.fetch_sub(1, Ordering::Relaxed);
            self.stats.pending_items.fetch_sub(items, Ordering::Relaxed);
            self.stats.dropped_requests.fetch_add(1, Ordering::Relaxed);
            self.stats.dropped_items.fetch_add(items, Ordering::Relaxed);
        }
    }
}

impl Senders {
    /// Requests waiting in the queue or being sent.
    #[must_use]
    pub fn waiting(&self) -> u64 {
        self.stats.pending.load(Ordering::Relaxed)
    }

    /// The drain at exit (call once nothing offers requests any more): lets the senders go on
    /// (retrying as usual) until nothing is waiting, `within` has passed, or `give_up`
    /// completes; then stops them and counts every request still queued or being sent as not
    /// forwarded ([`ForwardStats::cut_off`]).
    pub async fn drain(self, within: Duration, give_up: impl Future<Output = ()>) {
        let deadline = tokio::time::Instant::now() + within;
        tokio::pin!(give_up);
        loop {
            // Made before the check, so a sender done in between still wakes it.
            let done = self.done.notified();
            if self.waiting() == 0 {
                break;
            }
            tokio::select! {
                () = done => {}
                () = tokio::time::sleep_until(deadline) => break,
                () = &mut give_up => break,
            }
        }
        for task in &self.tasks {
            task.abort();
        }
        for task in self.tasks {
            // Once it has ended, a stopped sender's job is dropped and no longer counted on.
            let _ = task.await;
        }
        let requests = self.stats.pending.swap(0, Ordering::Relaxed);
        let items = self.stats.pending_items.swap(0, Ordering::Relaxed);
        self.stats.cut_off.fetch_add(requests, Ordering::Relaxed);
        self.stats
            .dropped_requests
            .fetch_add(requests, Ordering::Relaxed);
        self.stats.dropped_items.fetch_add(items, Ordering::Relaxed);
    }
}

fn upstream(url: &str) -> Result<Upstream, String> {
    let shown = redact_url(url);
    let (scheme, rest) = url.split_once("://").ok_or_else(|| {
        format!("--forward {shown:?}: write grpc://HOST:PORT or http://HOST:PORT")
    })?;
    match scheme {
        "grpc" => {
            let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{rest}"))
                .map_err(|e| format!("--forward {shown:?}: {e}"))?
                .timeout(REQUEST_TIMEOUT)
                .connect_timeout(REQUEST_TIMEOUT);
            Ok(Upstream::Grpc(endpoint.connect_lazy()))
        }
        "http" => {
            let client = reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| format!("--forward {shown:?}: {e}"))?;
            Ok(Upstream::Http {
                client,
                base: url.trim_end_matches('/').to_owned(),
                name: shown.trim_end_matches('/').to_owned(),
            })
        }
        "https" | "grpcs" => Err(format!(
            "--forward {shown:?}: TLS is not supported yet; forward to a Collector on this machine or network over plain grpc:// or http://"
        )),
        other => Err(format!(
            "--forward {shown:?}: unknown scheme {other:?}; write grpc://HOST:PORT or http://HOST:PORT"
        )),
    }
}

/// A failed try: whether trying again may help, and what happened.
struct Failure {
    retry: bool,
    message: String,
}

/// Sends a job, trying again on retryable failures until `give_up` has passed.
async fn send_until(
    upstream: &Upstream,
    headers: &[(http::HeaderName, http::HeaderValue)],
    job: &Job,
    give_up: Duration,
    stats: &ForwardStats,
) {
    let deadline = tokio::time::Instant::now() + give_up;
    let mut pause = Duration::from_millis(100);
    loop {
        match send(upstream, headers, job).await {
            Ok(()) => {
                stats.requests.fetch_add(1, Ordering::Relaxed);
                stats.items.fetch_add(job.items, Ordering::Relaxed);
                return;
            }
            Err(f) => {
                *stats.last_error.lock() = Some(f.message);
                if !f.retry || tokio::time::Instant::now() + pause > deadline {
                    stats.dropped_requests.fetch_add(1, Ordering::Relaxed);
                    stats.dropped_items.fetch_add(job.items, Ordering::Relaxed);
                    return;
                }
                stats.retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_BACKOFF);
            }
        }
    }
}

fn grpc_path(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        Signal::Metrics => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
        Signal::Logs => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    }
}

fn http_path(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "/v1/traces",
        Signal::Metrics => "/v1/metrics",
        Signal::Logs => "/v1/logs",
    }
}

async fn send(
    upstream: &Upstream,
    headers: &[(http::HeaderName, http::HeaderValue)],
    job: &Job,
) -> Result<(), Failure> {
    match upstream {
        Upstream::Grpc(channel) => {
            let mut grpc = tonic::client::Grpc::new(channel.clone())
                .send_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Gzip);
            grpc.ready().await.map_err(|e| Failure {
                retry: true,
                message: format!("upstream unreachable: {e}"),
            })?;
            let mut request = tonic::Request::new(job.bytes.clone());
            if let Ok(hops) = tonic::metadata::MetadataValue::try_from(job.hops.as_bytes()) {
                request.metadata_mut().insert(HOP_HEADER, hops);
            }
            for (k, v) in headers {
                if let Ok(v) = tonic::metadata::MetadataValue::try_from(v.as_bytes())
                    && let Ok(k) = tonic::metadata::MetadataKey::from_bytes(k.as_str().as_bytes())
                {
                    request.metadata_mut().insert(k, v);
                }
            }
            let path = http::uri::PathAndQuery::from_static(grpc_path(job.signal));
            grpc.unary(request, path, RawCodec)
                .await
                .map(drop)
                .map_err(|s| Failure {
                    retry: matches!(
                        s.code(),
                        tonic::Code::Unavailable
                            | tonic::Code::ResourceExhausted
                            | tonic::Code::DeadlineExceeded
                            | tonic::Code::Aborted
                            | tonic::Code::Cancelled
                    ),
                    message: status_text(&s),
                })
        }
        Upstream::Http { client, base, name } => {
            let body = gzip(&job.bytes);
            let mut request = client
                .post(format!("{base}{}", http_path(job.signal)))
                .header("content-type", "application/x-protobuf")
                .header("content-encoding", "gzip")
                .header(HOP_HEADER, job.hops.clone())
                .body(body);
            for (k, v) in headers {
                request = request.header(k, v);
            }
            match request.send().await {
                Ok(r) if r.status().is_success() => Ok(()),
                Ok(r) if r.status().is_redirection() => {
                    let location = r
                        .headers()
                        .get(http::header::LOCATION)
                        .map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned())
                        .unwrap_or_default();
                    Err(Failure {
                        retry: false,
                        message: format!(
                            "upstream {name} answered {}, to go to {:?}: redirects are not followed (they would send the request and --forward-header elsewhere); give --forward the address itself",
                            r.status(),
                            safe_capped(&redact_url(&location), 200)
                        ),
                    })
                }
                Ok(r) => Err(Failure {
                    retry: matches!(r.status().as_u16(), 429 | 502 | 503 | 504),
                    message: format!("upstream {name} answered {}", r.status()),
                }),
                Err(e) => Err(Failure {
                    retry: true,
                    message: format!("upstream {name} unreachable{}", causes(&e.without_url())),
                }),
            }
        }
    }
}

/// A failed call's status as the last error says it: a status from upstream with its code, one
/// made here for a connection that failed with the errors under it (why it failed).
fn status_text(status: &tonic::Status) -> String {
    match std::error::Error::source(status) {
        None => format!("upstream: {} {}", status.code(), status.message()),
        Some(source) => format!("upstream unreachable{}", causes(source)),
    }
}

/// `error` and the errors under it, each after `: ` (": tcp connect error: Connection refused
/// (os error 111)"), leaving out one that says again what was said.
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    format!(": {}", crate::format::error_chain(error))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4),
        flate2::Compression::fast(),
    );
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}

/// Sends bytes already encoded as the request; reads nothing of the answer but its status.
#[derive(Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = ();
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        Self
    }

    fn decoder(&mut self) -> Self::Decoder {
        Self
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = ();
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<()>, tonic::Status> {
        src.advance(src.remaining());
        Ok(Some(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_addresses_are_found_and_others_are_not() {
        let listen: [SocketAddr; 2] = [
            "127.0.0.1:4317".parse().unwrap(),
            "0.0.0.0:4318".parse().unwrap(),
        ];
        for own in [
            "grpc://127.0.0.1:4317",
            "grpc://localhost.:4317",
            "grpc://[::1]:4317",
            "http://[::]:4318/v1",
            "http://10.1.2.3:4318",
        ] {
            assert!(
                points_at(own, &listen).is_none() == own.contains("10.1.2.3"),
                "{own}"
            );
        }
        for other in [
            "grpc://127.0.0.1:4319",
            "grpc://collector:4317",
            "http://127.0.0.1",
            "grpc://127.0.0.1",
            "nonsense",
            // Maybe this machine's, behind 0.0.0.0: not known here (the hop header catches it).
            "http://10.1.2.3:4318",
        ] {
            assert_eq!(points_at(other, &listen), None, "{other}");
        }
        // Listening on one address of the machine, loopback's same port is someone else.
        let lan: [SocketAddr; 1] = ["10.1.2.3:4317".parse().unwrap()];
        assert_eq!(points_at("grpc://127.0.0.1:4317", &lan), None);
        assert_eq!(points_at("grpc://10.1.2.3:4317", &lan), Some(lan[0]));
        // Port 0 (chosen by the system) is never a match.
        assert_eq!(
            points_at("grpc://127.0.0.1:0", &["127.0.0.1:0".parse().unwrap()]),
            None
        );
    }

    #[test]
    fn a_failure_says_why_with_the_errors_under_it() {
        #[derive(Debug)]
        struct Layer(&'static str, Option<Box<Layer>>);
        impl std::fmt::Display for Layer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.0)
            }
        }
        impl std::error::Error for Layer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                self.1.as_deref().map(|e| e as _)
            }
        }
        let layer = |text, under| Some(Box::new(Layer(text, under)));
        // As hyper and tonic nest a refused connection: one layer says again what another said.
        let refused = Layer(
            "transport error",
            layer(
                "tcp connect error",
                layer("tcp connect error", layer("Connection refused", None)),
            ),
        );
        assert_eq!(
            causes(&refused),
            ": transport error: tcp connect error: Connection refused"
        );
        let status = tonic::Status::from_error(Box::new(refused));
        assert_eq!(
            status_text(&status),
            "upstream unreachable: transport error: tcp connect error: Connection refused"
        );
        // A status upstream answered with has no error under it.
        let busy = tonic::Status::unavailable("the store is behind");
        assert!(
            status_text(&busy).starts_with("upstream: ") && status_text(&busy).ends_with(" behind"),
            "{}",
            status_text(&busy)
        );
    }

    #[test]
    fn hops_are_read_from_every_header_value_and_capped() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(Hops::of(&headers), Hops::default());
        headers.append(HOP_HEADER, http::HeaderValue::from_static("a, b"));
        headers.append(HOP_HEADER, http::HeaderValue::from_static("c"));
        let hops = Hops::of(&headers);
        assert!(hops.contains("a") && hops.contains("c") && !hops.contains("d"));
        assert_eq!(hops.then("d"), "a,b,c,d");
        let many = (0..40).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
        headers.insert(HOP_HEADER, http::HeaderValue::from_str(&many).unwrap());
        let hops = Hops::of(&headers);
        assert_eq!(hops.0.len(), MAX_HOPS);
        assert!(hops.contains("39") && !hops.contains("23"));
        let next = hops.then("me");
        assert_eq!(next.to_str().unwrap().split(',').count(), MAX_HOPS);
        assert!(next.to_str().unwrap().ends_with(",39,me"));
    }
}
