//! OTLP/HTTP: `POST /v1/traces`, `/v1/metrics`, `/v1/logs`, protobuf or JSON, optionally gzip.

use std::future::Future;
use std::io::Read;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::Message;
use tokio::net::TcpListener;

use super::conn::LimitedListener;
use super::decode::DecodeError;
use super::{Limits, Options, UNAUTHENTICATED, convert};
use crate::ingest::{Counters, Ingest, Signal};
use crate::record::forward::Hops;

#[derive(Clone)]
struct HttpState {
    ingest: Ingest,
    max_message_size: usize,
}

/// The OTLP/HTTP routes.
pub fn app(ingest: Ingest, options: Options) -> Router {
    let auth_options = options.clone();
    Router::new()
        .route("/v1/traces", post(traces))
        .route("/v1/metrics", post(metrics))
        .route("/v1/logs", post(logs))
        .layer(DefaultBodyLimit::max(options.max_message_size))
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let allowed = auth_options.authorized(
                    req.headers()
                        .get(header::AUTHORIZATION)
                        .map(HeaderValue::as_bytes),
                );
                async move {
                    if allowed {
                        next.run(req).await
                    } else {
                        Refused::new(StatusCode::UNAUTHORIZED, Format::Json, UNAUTHENTICATED)
                            .into_response()
                    }
                }
            },
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            options.request_timeout,
        ))
        .with_state(HttpState {
            ingest,
            max_message_size: options.max_message_size,
        })
}

/// Serves OTLP/HTTP on an already-bound listener until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    ingest: Ingest,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let conn = options.conn;
    axum::serve(LimitedListener::new(listener, conn), app(ingest, options))
        .with_graceful_shutdown(shutdown)
        .await
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Protobuf,
    Json,
}

/// The body of an error response: `google.rpc.Status`.
#[derive(Clone, PartialEq, prost::Message, serde::Serialize)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

struct Refused {
    status: StatusCode,
    format: Format,
    message: String,
}

impl Refused {
    fn new(status: StatusCode, format: Format, message: impl Into<String>) -> Self {
        Self {
            status,
            format,
            message: message.into(),
        }
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let grpc_code = match self.status {
            StatusCode::BAD_REQUEST | StatusCode::UNSUPPORTED_MEDIA_TYPE => 3,
            StatusCode::PAYLOAD_TOO_LARGE => 8,
            StatusCode::UNAUTHORIZED => 16,
            StatusCode::SERVICE_UNAVAILABLE => 14,
            _ => 2,
        };
        let body = RpcStatus {
            code: grpc_code,
            message: self.message,
        };
        let mut res = encode(self.status, self.format, &body, |b| {
            serde_json::to_vec(b).unwrap_or_default()
        });
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        res
    }
}

fn encode<M: Message>(
    status: StatusCode,
    format: Format,
    msg: &M,
    json: impl Fn(&M) -> Vec<u8>,
) -> Response {
    let (ct, body) = match format {
        Format::Protobuf => ("application/x-protobuf", msg.encode_to_vec()),
        Format::Json => ("application/json", json(msg)),
    };
    (status, [(header::CONTENT_TYPE, ct)], body).into_response()
}

/// Checks the content type and encoding, and returns the decompressed body.
fn unpack(headers: &HeaderMap, body: Bytes, max: usize) -> Result<(Format, Bytes), Refused> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim();
    let format = if mime.eq_ignore_ascii_case("application/x-protobuf")
        || mime.eq_ignore_ascii_case("application/protobuf")
    {
        Format::Protobuf
    } else if mime.eq_ignore_ascii_case("application/json") {
        Format::Json
    } else {
        return Err(Refused::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Format::Json,
            format!(
                "unsupported content type {ct:?}: use application/x-protobuf or application/json"
            ),
        ));
    };
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .trim();
    let body = match encoding {
        "" | "identity" => body,
        e if e.eq_ignore_ascii_case("gzip") => {
            let mut out = Vec::new();
            let mut reader = flate2::read::GzDecoder::new(&body[..]).take(max as u64 + 1);
            reader.read_to_end(&mut out).map_err(|e| {
                Refused::new(
                    StatusCode::BAD_REQUEST,
                    format,
                    format!("bad gzip body: {e}"),
                )
            })?;
            if out.len() > max {
                return Err(Refused::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format,
                    format!("decompressed body exceeds the limit of {max} bytes"),
                ));
            }
            Bytes::from(out)
        }
        other => {
            return Err(Refused::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format,
                format!("unsupported content encoding {other:?}: use gzip or none"),
            ));
        }
    };
    Ok((format, body))
}

fn decode<M: Message + Default + serde::de::DeserializeOwned>(
    format: Format,
    body: &[u8],
) -> Result<M, Refused> {
    match format {
        Format::Protobuf => M::decode(body).map_err(|e| {
            Refused::new(
                StatusCode::BAD_REQUEST,
                format,
                format!("malformed protobuf: {e}"),
            )
        }),
        Format::Json => serde_json::from_slice(body).map_err(|e| {
            Refused::new(
                StatusCode::BAD_REQUEST,
                format,
                format!("malformed JSON: {e}"),
            )
        }),
    }
}

fn to_json<M: serde::Serialize>(m: &M) -> Vec<u8> {
    serde_json::to_vec(m).unwrap_or_default()
}

/// Hands a payload to the store, or says why not.
async fn send(
    st: &HttpState,
    format: Format,
    payload: impl Into<crate::ingest::Payload>,
    raw: Option<Bytes>,
    headers: &HeaderMap,
) -> Result<(), Refused> {
    let payload = payload.into();
    let signal = payload.signal();
    st.ingest
        .accept(payload, raw, &Hops::of(headers))
        .await
        .map_err(|r| Refused::new(StatusCode::SERVICE_UNAVAILABLE, format, r.message(signal)))
}

/// The request's protobuf encoding, when requests are recorded.
fn raw_of<M: Message>(st: &HttpState, req: &M) -> Option<Bytes> {
    st.ingest
        .recording()
        .then(|| Bytes::from(req.encode_to_vec()))
}

async fn traces(State(st): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let (format, body) = unpack(&headers, body, st.max_message_size)?;
        let ((batch, problem), raw) = direct_or_json(
            &st,
            format,
            &body,
            super::decode::trace_request,
            convert::trace_request,
        )?;
        let rejected = batch.rejected;
        send(&st, format, batch, raw, &headers).await?;
        let res = ExportTraceServiceResponse {
            partial_success: (rejected > 0).then(|| ExportTracePartialSuccess {
                rejected_spans: i64::try_from(rejected).unwrap_or(i64::MAX),
                error_message: problem,
            }),
        };
        Ok::<_, Refused>(encode(StatusCode::OK, format, &res, to_json))
    }
    .await;
    finish(&st, Signal::Traces, result)
}

async fn metrics(State(st): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let (format, body) = unpack(&headers, body, st.max_message_size)?;
        let req: ExportMetricsServiceRequest = decode(format, &body)?;
        let raw = match format {
            Format::Protobuf => st.ingest.recording().then(|| body.clone()),
            Format::Json => raw_of(&st, &req),
        };
        let (batch, problem) = convert::metric_request(req, &st.ingest.limits);
        let rejected = batch.rejected;
        send(&st, format, batch, raw, &headers).await?;
        let res = ExportMetricsServiceResponse {
            partial_success: (rejected > 0).then(|| ExportMetricsPartialSuccess {
                rejected_data_points: i64::try_from(rejected).unwrap_or(i64::MAX),
                error_message: problem,
            }),
        };
        Ok::<_, Refused>(encode(StatusCode::OK, format, &res, to_json))
    }
    .await;
    finish(&st, Signal::Metrics, result)
}

async fn logs(State(st): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let (format, body) = unpack(&headers, body, st.max_message_size)?;
        let ((batch, problem), raw) = direct_or_json(
            &st,
            format,
            &body,
            super::decode::log_request,
            convert::log_request,
        )?;
        let rejected = batch.rejected;
        send(&st, format, batch, raw, &headers).await?;
        let res = ExportLogsServiceResponse {
            partial_success: (rejected > 0).then(|| ExportLogsPartialSuccess {
                rejected_log_records: i64::try_from(rejected).unwrap_or(i64::MAX),
                error_message: problem,
            }),
        };
        Ok::<_, Refused>(encode(StatusCode::OK, format, &res, to_json))
    }
    .await;
    finish(&st, Signal::Logs, result)
}

/// A decoder straight from protobuf into our model (`decode::trace_request`, `log_request`).
type Direct<B> = fn(&[u8], &Limits) -> Result<(B, String), DecodeError>;

/// A trace or log request decoded: protobuf straight into our model (`direct`), JSON through
/// serde and `convert`; with the bytes to record, when requests are recorded.
fn direct_or_json<M, B>(
    st: &HttpState,
    format: Format,
    body: &Bytes,
    direct: Direct<B>,
    convert: fn(M, &Limits) -> (B, String),
) -> Result<((B, String), Option<Bytes>), Refused>
where
    M: Message + Default + serde::de::DeserializeOwned,
{
    match format {
        Format::Protobuf => {
            let raw = st.ingest.recording().then(|| body.clone());
            let decoded = direct(body, &st.ingest.limits).map_err(|e| {
                Refused::new(
                    StatusCode::BAD_REQUEST,
                    format,
                    format!("malformed protobuf: {e}"),
                )
            })?;
            Ok((decoded, raw))
        }
        Format::Json => {
            let req: M = decode(format, body)?;
            let raw = raw_of(st, &req);
            Ok((convert(req, &st.ingest.limits), raw))
        }
    }
}

fn finish(st: &HttpState, signal: Signal, result: Result<Response, Refused>) -> Response {
    match result {
        Ok(r) => r,
        Err(refused) => {
            if refused.status != StatusCode::SERVICE_UNAVAILABLE {
                Counters::add(&st.ingest.counters.of(signal).bad_requests, 1);
            }
            refused.into_response()
        }
    }
}
