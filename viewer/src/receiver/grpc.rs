//! OTLP/gRPC: TraceService, MetricsService and LogsService.
//!
//! None of the three goes through prost's generated servers: [`Direct`] is the same service with
//! a codec that keeps the message's bytes; the handler charges what decoding them will take to
//! the in-flight memory budget ([`super::budget`]), then decodes them off the async workers when
//! they are large: traces and logs with [`decode::trace_request`] and [`decode::log_request`],
//! which build our model directly, metrics with prost and `convert`. Request bodies are charged
//! as their frames arrive ([`ChargeLayer`]).

use std::future::Future;
use std::marker::PhantomData;
use std::task::{Context, Poll};

use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use tokio::net::TcpListener;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder};
use tonic::codegen::{Body, BoxFuture, StdError, http};
use tonic::service::interceptor::InterceptedService;
use tonic::{Request, Response, Status};

use super::budget::{ChargedBody, MemoryBudget, Over, SharedCharge};
use super::conn::{ConnInfo, LimitedListener};
use super::decode::DecodeError;
use super::{Limits, Options, UNAUTHENTICATED, convert, decode, estimate};
use crate::ingest::{Ingest, Payload, Refusal, Signal};
use crate::model::{Batch, LogBatch, MetricBatch};
use crate::record::forward::Hops;

/// Serves OTLP/gRPC on an already-bound listener until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    ingest: Ingest,
    options: Options,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let svc = Otlp(ingest);
    let max = options.max_message_size;
    let timeout = options.request_timeout;
    let conn = options.conn;
    let budget = options.budget.clone();
    let auth = move |req: Request<()>| -> Result<Request<()>, Status> {
        let header = req.metadata().get("authorization").map(|v| v.as_bytes());
        if options.authorized(header) {
            Ok(req)
        } else {
            Err(Status::unauthenticated(UNAUTHENTICATED))
        }
    };
    tonic::transport::Server::builder()
        .timeout(timeout)
        .max_concurrent_streams(super::MAX_STREAMS)
        .layer(tower::util::MapResponseLayer::new(map_refusals))
        .layer(ChargeLayer(budget.clone()))
        .add_service(InterceptedService::new(
            Direct::<Traces>::new(svc.clone(), max, budget.clone()),
            auth.clone(),
        ))
        .add_service(InterceptedService::new(
            Direct::<Metrics>::new(svc.clone(), max, budget.clone()),
            auth.clone(),
        ))
        .add_service(InterceptedService::new(
            Direct::<Logs>::new(svc, max, budget),
            auth,
        ))
        .serve_with_incoming_shutdown(LimitedListener::new(listener, conn).into_stream(), shutdown)
        .await
}

/// Marks the connection as having sent a request (ending its handshake deadline), and wraps
/// the request's body so each frame is charged to the in-flight budget as it arrives; the
/// charge goes in the request's extensions for the handler.
#[derive(Clone)]
struct ChargeLayer(MemoryBudget);

impl<S> tower::Layer<S> for ChargeLayer {
    type Service = Charging<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Charging {
            inner,
            budget: self.0.clone(),
        }
    }
}

#[derive(Clone)]
struct Charging<S> {
    inner: S,
    budget: MemoryBudget,
}

impl<S> tower::Service<http::Request<tonic::body::Body>> for Charging<S>
where
    S: tower::Service<http::Request<tonic::body::Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        if let Some(info) = req.extensions().get::<ConnInfo>() {
            info.served.mark();
        }
        let charge = SharedCharge::default();
        let budget = self.budget.clone();
        let (mut parts, body) = req.into_parts();
        parts.extensions.insert(std::sync::Arc::clone(&charge));
        let body = http_body_util::BodyExt::map_err(
            ChargedBody::new(body, budget, charge),
            |e| -> tonic::codegen::StdError {
                match e.downcast::<Over>() {
                    Ok(over) => Box::new(over_status(*over)),
                    Err(e) => e,
                }
            },
        );
        self.inner.call(http::Request::from_parts(
            parts,
            tonic::body::Body::new(body),
        ))
    }
}

fn over_status(over: Over) -> Status {
    match over {
        Over::Busy => Status::unavailable(over.message()),
        Over::TooLarge { .. } => Status::resource_exhausted(over.message()),
    }
}

/// Maps tonic's own refusals to the codes OTLP asks for: an over-limit message is
/// OUT_OF_RANGE in tonic and RESOURCE_EXHAUSTED in OTLP; an undecodable one is INTERNAL in tonic
/// and INVALID_ARGUMENT in OTLP. No handler here returns either code itself.
fn map_refusals<B>(mut res: http::Response<B>) -> http::Response<B> {
    let code = res
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok());
    let message = res
        .headers()
        .get("grpc-message")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).to_lowercase())
        .unwrap_or_default();
    let mapped = match code {
        Some(c) if c == tonic::Code::OutOfRange as i32 => Some(tonic::Code::ResourceExhausted),
        Some(c)
            if c == tonic::Code::Internal as i32
                && (message.contains("decode") || message.contains("compress")) =>
        {
            Some(tonic::Code::InvalidArgument)
        }
        _ => None,
    };
    if let Some(mapped) = mapped
        && let Ok(v) = http::HeaderValue::from_str(&(mapped as i32).to_string())
    {
        res.headers_mut().insert("grpc-status", v);
    }
    res
}

#[derive(Clone)]
struct Otlp(Ingest);

fn refusal_status(r: &Refusal, signal: Signal) -> Status {
    Status::unavailable(r.message(signal))
}

/// A signal's gRPC service as far as it differs from the others: its service name, `Export`
/// path, batch and response types, and its decoder.
trait DirectSignal: Send + 'static {
    const NAME: &'static str;
    const EXPORT_PATH: &'static str;
    const SIGNAL: Signal;
    type Batch: Into<Payload> + Send + 'static;
    type Response: prost::Message + Default + Send + 'static;

    /// The batch, what was wrong with parts of it, and the items rejected.
    fn decode(buf: &[u8], limits: &Limits) -> Result<(Self::Batch, String, u64), DecodeError>;

    /// The response, with partial success when items were rejected.
    fn response(rejected: u64, problem: String) -> Self::Response;
}

/// `opentelemetry.proto.collector.trace.v1.TraceService`, with [`decode::trace_request`].
struct Traces;

impl DirectSignal for Traces {
    const NAME: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
    const EXPORT_PATH: &'static str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    const SIGNAL: Signal = Signal::Traces;
    type Batch = Batch;
    type Response = ExportTraceServiceResponse;

    fn decode(buf: &[u8], limits: &Limits) -> Result<(Batch, String, u64), DecodeError> {
        decode::trace_request(buf, limits).map(|(b, p)| {
            let rejected = b.rejected;
            (b, p, rejected)
        })
    }

    fn response(rejected: u64, problem: String) -> ExportTraceServiceResponse {
        ExportTraceServiceResponse {
            partial_success: (rejected > 0).then(|| ExportTracePartialSuccess {
                rejected_spans: i64::try_from(rejected).unwrap_or(i64::MAX),
                error_message: problem,
            }),
        }
    }
}

/// `opentelemetry.proto.collector.logs.v1.LogsService`, with [`decode::log_request`].
struct Logs;

impl DirectSignal for Logs {
    const NAME: &'static str = "opentelemetry.proto.collector.logs.v1.LogsService";
    const EXPORT_PATH: &'static str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
    const SIGNAL: Signal = Signal::Logs;
    type Batch = LogBatch;
    type Response = ExportLogsServiceResponse;

    fn decode(buf: &[u8], limits: &Limits) -> Result<(LogBatch, String, u64), DecodeError> {
        decode::log_request(buf, limits).map(|(b, p)| {
            let rejected = b.rejected;
            (b, p, rejected)
        })
    }

    fn response(rejected: u64, problem: String) -> ExportLogsServiceResponse {
        ExportLogsServiceResponse {
            partial_success: (rejected > 0).then(|| ExportLogsPartialSuccess {
                rejected_log_records: i64::try_from(rejected).unwrap_or(i64::MAX),
                error_message: problem,
            }),
        }
    }
}

/// `opentelemetry.proto.collector.metrics.v1.MetricsService`: prost, then `convert`.
struct Metrics;

impl DirectSignal for Metrics {
    const NAME: &'static str = "opentelemetry.proto.collector.metrics.v1.MetricsService";
    const EXPORT_PATH: &'static str =
        "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
    const SIGNAL: Signal = Signal::Metrics;
    type Batch = MetricBatch;
    type Response = ExportMetricsServiceResponse;

    fn decode(buf: &[u8], limits: &Limits) -> Result<(MetricBatch, String, u64), DecodeError> {
        let req = <ExportMetricsServiceRequest as prost::Message>::decode(buf)?;
        let (b, p) = convert::metric_request(req, limits);
        let rejected = b.rejected;
        Ok((b, p, rejected))
    }

    fn response(rejected: u64, problem: String) -> ExportMetricsServiceResponse {
        ExportMetricsServiceResponse {
            partial_success: (rejected > 0).then(|| ExportMetricsPartialSuccess {
                rejected_data_points: i64::try_from(rejected).unwrap_or(i64::MAX),
                error_message: problem,
            }),
        }
    }
}

/// A signal's gRPC service. Built as prost's generated servers (`TraceServiceServer`, ...) are,
/// with [`RawCodec`] in place of `ProstCodec`.
struct Direct<S> {
    otlp: Otlp,
    max_decoding_message_size: usize,
    budget: MemoryBudget,
    signal: PhantomData<fn() -> S>,
}

impl<S> Direct<S> {
    fn new(otlp: Otlp, max_decoding_message_size: usize, budget: MemoryBudget) -> Self {
        Self {
            otlp,
            max_decoding_message_size,
            budget,
            signal: PhantomData,
        }
    }
}

impl<S> Clone for Direct<S> {
    fn clone(&self) -> Self {
        Self::new(
            self.otlp.clone(),
            self.max_decoding_message_size,
            self.budget.clone(),
        )
    }
}

impl<S: DirectSignal> tonic::server::NamedService for Direct<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B> tower::Service<http::Request<B>> for Direct<S>
where
    S: DirectSignal,
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        if req.uri().path() != S::EXPORT_PATH {
            return Box::pin(async move {
                let mut response = http::Response::new(tonic::body::Body::default());
                let headers = response.headers_mut();
                headers.insert(
                    Status::GRPC_STATUS,
                    (tonic::Code::Unimplemented as i32).into(),
                );
                headers.insert(
                    http::header::CONTENT_TYPE,
                    tonic::metadata::GRPC_CONTENT_TYPE,
                );
                Ok(response)
            });
        }
        let export = Export::<S> {
            otlp: self.otlp.clone(),
            budget: self.budget.clone(),
            signal: PhantomData,
        };
        let max = self.max_decoding_message_size;
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(RawCodec::<S::Response>(PhantomData))
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(max);
            Ok(grpc.unary(export, req).await)
        })
    }
}

/// Keeps a request message's bytes (decoded later, off the async workers); encodes responses
/// with prost.
struct RawCodec<R>(PhantomData<fn() -> R>);

impl<R: prost::Message + Default + Send + 'static> Codec for RawCodec<R> {
    type Encode = R;
    type Decode = bytes::Bytes;
    type Encoder = tonic_prost::ProstEncoder<R>;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        tonic_prost::ProstEncoder::new(tonic::codec::BufferSettings::default())
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawDecoder
    }
}

struct RawDecoder;

impl Decoder for RawDecoder {
    type Item = bytes::Bytes;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<bytes::Bytes>, Status> {
        use bytes::Buf as _;
        // The message's bytes, without a copy (the frame buffer is split off).
        Ok(Some(buf.copy_to_bytes(buf.remaining())))
    }
}

/// Messages at least this long are decoded on a blocking thread.
const BLOCKING_FROM: usize = 1024 * 1024;

/// The unary handler: charges the decoding to the budget, decodes, hands the batch to the store
/// and reports partial success.
struct Export<S> {
    otlp: Otlp,
    budget: MemoryBudget,
    signal: PhantomData<fn() -> S>,
}

impl<S: DirectSignal> tonic::server::UnaryService<bytes::Bytes> for Export<S> {
    type Response = S::Response;
    type Future = BoxFuture<Response<Self::Response>, Status>;

    fn call(&mut self, request: Request<bytes::Bytes>) -> Self::Future {
        let (ingest, budget) = (self.otlp.0.clone(), self.budget.clone());
        Box::pin(async move {
            // What the body's frames were charged; the message (decompressed, if it was) and
            // what decoding it builds are charged on top.
            let mut charge = request
                .extensions()
                .get::<SharedCharge>()
                .and_then(|c| c.lock().ok().map(|mut c| std::mem::take(&mut *c)))
                .unwrap_or_default();
            let hops = Hops::of(request.metadata().as_ref());
            let bytes = request.into_inner();
            let len = bytes.len();
            let need = estimate::protobuf(S::SIGNAL, &bytes);
            let more = need.saturating_sub(charge.bytes());
            budget
                .charge(&mut charge, more)
                .await
                .map_err(|o| over_status(o.needing(need)))?;
            let limits = ingest.limits;
            let recording = ingest.recording();
            let decode = move || {
                S::decode(&bytes, &limits)
                    .map(|decoded| (decoded, recording.then_some(bytes)))
                    .map_err(|e| Status::invalid_argument(e.to_string()))
            };
            let ((batch, problem, rejected), raw) = if len < BLOCKING_FROM {
                decode()?
            } else {
                match tokio::task::spawn_blocking(decode).await {
                    Ok(r) => r?,
                    Err(e) => std::panic::resume_unwind(e.into_panic()),
                }
            };
            drop(charge);
            ingest
                .accept(batch, raw, &hops)
                .await
                .map_err(|r| refusal_status(&r, S::SIGNAL))?;
            Ok(Response::new(S::response(rejected, problem)))
        })
    }
}
