//! OTLP/gRPC: TraceService, MetricsService and LogsService.

use std::future::Future;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tokio::net::TcpListener;
use tonic::codec::CompressionEncoding;
use tonic::codegen::http;
use tonic::service::interceptor::InterceptedService;
use tonic::{Request, Response, Status};

use super::conn::LimitedListener;
use super::{Counters, Ingest, Options, Refusal, UNAUTHENTICATED, convert};

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
            TraceServiceServer::new(svc.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(max),
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

fn refusal_status(r: &Refusal) -> Status {
    match r {
        Refusal::Busy => Status::unavailable("the viewer is busy storing spans; retry later"),
        Refusal::Closed => Status::unavailable("the viewer is shutting down"),
    }
}

#[tonic::async_trait]
impl TraceService for Otlp {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let (batch, problem) = convert::trace_request(request.into_inner(), &self.0.limits);
        let rejected = batch.rejected;
        self.0.send(batch).await.map_err(|r| refusal_status(&r))?;
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
        let n = convert::metric_points(request.get_ref());
        Counters::add(&self.0.counters.metric_points, n);
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl LogsService for Otlp {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        let n = convert::log_records(request.get_ref());
        Counters::add(&self.0.counters.log_records, n);
        Ok(Response::new(ExportLogsServiceResponse::default()))
    }
}
