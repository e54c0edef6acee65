//! OTLP/gRPC: TraceService, MetricsService and LogsService.
//!
//! Traces do not go through prost's generated server: [`DirectTraces`] is the same service with
//! a codec whose decoder hands the message bytes to [`decode::trace_request`], which builds our
//! model directly. Metrics and logs keep the generated servers and convert prost's messages.

use std::future::Future;
use std::task::{Context, Poll};

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
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
use super::{Limits, Options, UNAUTHENTICATED, convert, decode};
use crate::ingest::{Ingest, Refusal, Signal};
use crate::model::Batch;

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
            DirectTraces {
                otlp: svc.clone(),
                max_decoding_message_size: max,
            },
            auth.clone(),
        ))
        .add_service(InterceptedService::new(
            MetricsServiceServer::new(svc.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(max),
            auth.clone(),
        ))
        .add_service(InterceptedService::new(
            LogsServiceServer::new(svc)
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(max),
            auth,
        ))
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

/// The gRPC path of `TraceService/Export`.
const TRACE_EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// `opentelemetry.proto.collector.trace.v1.TraceService`, decoding straight into our model. Built
/// as prost's generated `TraceServiceServer` is, with [`TraceCodec`] in place of `ProstCodec`.
#[derive(Clone)]
struct DirectTraces {
    otlp: Otlp,
    max_decoding_message_size: usize,
}

impl tonic::server::NamedService for DirectTraces {
    const NAME: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
}

impl<B> tower::Service<http::Request<B>> for DirectTraces
where
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
        if req.uri().path() != TRACE_EXPORT_PATH {
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
            let codec = TraceCodec {
                limits: otlp.0.limits,
            };
            let mut grpc = tonic::server::Grpc::new(codec)
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(max);
            Ok(grpc.unary(Export(otlp), req).await)
        })
    }
}

/// Decodes requests with [`decode::trace_request`]; encodes responses with prost.
struct TraceCodec {
    limits: Limits,
}

impl Codec for TraceCodec {
    type Encode = ExportTraceServiceResponse;
    type Decode = Decoded;
    type Encoder = tonic_prost::ProstEncoder<ExportTraceServiceResponse>;
    type Decoder = TraceDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        tonic_prost::ProstEncoder::new(tonic::codec::BufferSettings::default())
    }

    fn decoder(&mut self) -> Self::Decoder {
        TraceDecoder {
            limits: self.limits,
        }
    }
}

struct TraceDecoder {
    limits: Limits,
}

/// A decoded trace request: the batch, what was wrong with parts of it, and its bytes (kept
/// for recording; a reference to the frame, not a copy).
type Decoded = (Batch, String, bytes::Bytes);

impl Decoder for TraceDecoder {
    type Item = Decoded;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        use bytes::Buf as _;
        // The message's bytes, without a copy (the frame buffer is split off).
        let bytes = buf.copy_to_bytes(buf.remaining());
        decode::trace_request(&bytes, &self.limits)
            .map(|(batch, problem)| Some((batch, problem, bytes)))
            .map_err(|e| Status::invalid_argument(e.to_string()))
    }
}

/// The unary handler: hands the decoded batch to the store and reports partial success.
struct Export(Otlp);

impl tonic::server::UnaryService<Decoded> for Export {
    type Response = ExportTraceServiceResponse;
    type Future = BoxFuture<Response<Self::Response>, Status>;

    fn call(&mut self, request: Request<Decoded>) -> Self::Future {
        let otlp = self.0.clone();
        Box::pin(async move { otlp.export_traces(request.into_inner()).await })
    }
}

impl Otlp {
    async fn export_traces(
        &self,
        (batch, problem, bytes): Decoded,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let rejected = batch.rejected;
        let raw = self.0.recording().then_some(bytes);
        self.0
            .accept(batch, raw)
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
}

#[tonic::async_trait]
impl MetricsService for Otlp {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let req = request.into_inner();
        let raw = raw_of(&self.0, &req);
        let (batch, problem) = convert::metric_request(req, &self.0.limits);
        let rejected = batch.rejected;
        self.0
            .accept(batch, raw)
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

#[tonic::async_trait]
impl LogsService for Otlp {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        let req = request.into_inner();
        let raw = raw_of(&self.0, &req);
        let (batch, problem) = convert::log_request(req, &self.0.limits);
        let rejected = batch.rejected;
        self.0
            .accept(batch, raw)
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
