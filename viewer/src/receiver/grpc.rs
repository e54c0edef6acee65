//! OTLP/gRPC: TraceService, MetricsService and LogsService.
//!
//! Traces and logs do not go through prost's generated servers: [`Direct`] is the same service
//! with a codec whose decoder hands the message bytes to [`decode::trace_request`] or
//! [`decode::log_request`], which build our model directly. Metrics keep the generated server and
//! convert prost's messages.

use std::future::Future;
use std::marker::PhantomData;
use std::task::{Context, Poll};

use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
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

use super::conn::LimitedListener;
use super::decode::DecodeError;
use super::{Limits, Options, UNAUTHENTICATED, convert, decode};
use crate::ingest::{Ingest, Refusal, Signal};
use crate::model::{Batch, LogBatch};
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
        .layer(tower::util::MapResponseLayer::new(map_refusals))
        .add_service(InterceptedService::new(
            Direct::<Traces>::new(svc.clone(), max),
            auth.clone(),
        ))
        .add_service(InterceptedService::new(
            MetricsServiceServer::new(svc.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(max),
            auth.clone(),
        ))
        .add_service(InterceptedService::new(Direct::<Logs>::new(svc, max), auth))
        .serve_with_incoming_shutdown(LimitedListener::new(listener, conn).into_stream(), shutdown)
        .await
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

/// A request's protobuf encoding, when requests are recorded.
fn raw_of<M: prost::Message>(ingest: &Ingest, req: &M) -> Option<bytes::Bytes> {
    ingest
        .recording()
        .then(|| bytes::Bytes::from(req.encode_to_vec()))
}

/// A signal whose gRPC service decodes requests straight into our model: its service name,
/// `Export` path, batch and response types, and the direct decoder.
trait DirectSignal: Send + 'static {
    const NAME: &'static str;
    const EXPORT_PATH: &'static str;
    type Batch: Send + 'static;
    type Response: prost::Message + Default + Send + 'static;

    fn decode(buf: &[u8], limits: &Limits) -> Result<(Self::Batch, String), DecodeError>;

    fn export(
        otlp: Otlp,
        hops: Hops,
        decoded: Decoded<Self::Batch>,
    ) -> BoxFuture<Response<Self::Response>, Status>;
}

/// `opentelemetry.proto.collector.trace.v1.TraceService`, with [`decode::trace_request`].
struct Traces;

impl DirectSignal for Traces {
    const NAME: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
    const EXPORT_PATH: &'static str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    type Batch = Batch;
    type Response = ExportTraceServiceResponse;

    fn decode(buf: &[u8], limits: &Limits) -> Result<(Batch, String), DecodeError> {
        decode::trace_request(buf, limits)
    }

    fn export(
        otlp: Otlp,
        hops: Hops,
        decoded: Decoded<Batch>,
    ) -> BoxFuture<Response<ExportTraceServiceResponse>, Status> {
        Box::pin(async move { otlp.export_traces(&hops, decoded).await })
    }
}

/// `opentelemetry.proto.collector.logs.v1.LogsService`, with [`decode::log_request`].
struct Logs;

impl DirectSignal for Logs {
    const NAME: &'static str = "opentelemetry.proto.collector.logs.v1.LogsService";
    const EXPORT_PATH: &'static str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
    type Batch = LogBatch;
    type Response = ExportLogsServiceResponse;

    fn decode(buf: &[u8], limits: &Limits) -> Result<(LogBatch, String), DecodeError> {
        decode::log_request(buf, limits)
    }

    fn export(
        otlp: Otlp,
        hops: Hops,
        decoded: Decoded<LogBatch>,
    ) -> BoxFuture<Response<ExportLogsServiceResponse>, Status> {
        Box::pin(async move { otlp.export_logs(&hops, decoded).await })
    }
}

/// A signal's gRPC service, decoding straight into our model. Built as prost's generated
/// servers (`TraceServiceServer`, `LogsServiceServer`) are, with [`DirectCodec`] in place of
/// `ProstCodec`.
struct Direct<S> {
    otlp: Otlp,
    max_decoding_message_size: usize,
    signal: PhantomData<fn() -> S>,
}

impl<S> Direct<S> {
    fn new(otlp: Otlp, max_decoding_message_size: usize) -> Self {
        Self {
            otlp,
            max_decoding_message_size,
            signal: PhantomData,
        }
    }
}

impl<S> Clone for Direct<S> {
    fn clone(&self) -> Self {
        Self::new(self.otlp.clone(), self.max_decoding_message_size)
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
        let otlp = self.otlp.clone();
        let max = self.max_decoding_message_size;
        Box::pin(async move {
            let codec = DirectCodec::<S> {
                limits: otlp.0.limits,
                signal: PhantomData,
            };
            let mut grpc = tonic::server::Grpc::new(codec)
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(max);
            Ok(grpc.unary(Export::<S>(otlp, PhantomData), req).await)
        })
    }
}

/// Decodes requests with the signal's direct decoder; encodes responses with prost.
struct DirectCodec<S> {
    limits: Limits,
    signal: PhantomData<fn() -> S>,
}

impl<S: DirectSignal> Codec for DirectCodec<S> {
    type Encode = S::Response;
    type Decode = Decoded<S::Batch>;
    type Encoder = tonic_prost::ProstEncoder<S::Response>;
    type Decoder = DirectDecoder<S>;

    fn encoder(&mut self) -> Self::Encoder {
        tonic_prost::ProstEncoder::new(tonic::codec::BufferSettings::default())
    }

    fn decoder(&mut self) -> Self::Decoder {
        DirectDecoder {
            limits: self.limits,
            signal: PhantomData,
        }
    }
}

struct DirectDecoder<S> {
    limits: Limits,
    signal: PhantomData<fn() -> S>,
}

/// A decoded request: the batch, what was wrong with parts of it, and its bytes (kept for
/// recording; a reference to the frame, not a copy).
type Decoded<B> = (B, String, bytes::Bytes);

impl<S: DirectSignal> Decoder for DirectDecoder<S> {
    type Item = Decoded<S::Batch>;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        use bytes::Buf as _;
        // The message's bytes, without a copy (the frame buffer is split off).
        let bytes = buf.copy_to_bytes(buf.remaining());
        S::decode(&bytes, &self.limits)
            .map(|(batch, problem)| Some((batch, problem, bytes)))
            .map_err(|e| Status::invalid_argument(e.to_string()))
    }
}

/// The unary handler: hands the decoded batch to the store and reports partial success.
struct Export<S>(Otlp, PhantomData<fn() -> S>);

impl<S: DirectSignal> tonic::server::UnaryService<Decoded<S::Batch>> for Export<S> {
    type Response = S::Response;
    type Future = BoxFuture<Response<Self::Response>, Status>;

    fn call(&mut self, request: Request<Decoded<S::Batch>>) -> Self::Future {
        let hops = Hops::of(request.metadata().as_ref());
        S::export(self.0.clone(), hops, request.into_inner())
    }
}

impl Otlp {
    async fn export_traces(
        &self,
        hops: &Hops,
        (batch, problem, bytes): Decoded<Batch>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let rejected = batch.rejected;
        let raw = self.0.recording().then_some(bytes);
        self.0
            .accept(batch, raw, hops)
            .await
            .map_err(|r| refusal_status(&r, Signal::Traces))?;
        let partial_success = (rejected > 0).then(|| ExportTracePartialSuccess {
            rejected_spans: i64::try_from(rejected).unwrap_or(i64::MAX),
            error_message: problem,
        });
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success,
        }))
    }

    async fn export_logs(
        &self,
        hops: &Hops,
        (batch, problem, bytes): Decoded<LogBatch>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        let rejected = batch.rejected;
        let raw = self.0.recording().then_some(bytes);
        self.0
            .accept(batch, raw, hops)
            .await
            .map_err(|r| refusal_status(&r, Signal::Logs))?;
        Ok(Response::new(ExportLogsServiceResponse {
            partial_success: (rejected > 0).then(|| ExportLogsPartialSuccess {
                rejected_log_records: i64::try_from(rejected).unwrap_or(i64::MAX),
                error_message: problem,
            }),
        }))
    }
}

#[tonic::async_trait]
impl MetricsService for Otlp {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let hops = &Hops::of(request.metadata().as_ref());
        let req = request.into_inner();
        let raw = raw_of(&self.0, &req);
        let (batch, problem) = convert::metric_request(req, &self.0.limits);
        let rejected = batch.rejected;
        self.0
            .accept(batch, raw, hops)
            .await
            .map_err(|r| refusal_status(&r, Signal::Metrics))?;
        Ok(Response::new(ExportMetricsServiceResponse {
            partial_success: (rejected > 0).then(|| ExportMetricsPartialSuccess {
                rejected_data_points: i64::try_from(rejected).unwrap_or(i64::MAX),
                error_message: problem,
            }),
        }))
    }
}
