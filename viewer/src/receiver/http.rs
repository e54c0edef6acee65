//! OTLP/HTTP: `POST /v1/traces`, `/v1/metrics`, `/v1/logs`, protobuf or JSON, optionally gzip.

use std::future::Future;
use std::io::Read;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
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

use super::budget::{Charge, ChargedBody, MemoryBudget, Over, SharedCharge};
use super::conn::LimitedListener;
use super::decode::DecodeError;
use super::{Limits, Options, UNAUTHENTICATED, convert, estimate};
use crate::ingest::{Counters, Ingest, Signal};
use crate::record::forward::Hops;

#[derive(Clone)]
struct HttpState {
    ingest: Ingest,
    max_message_size: usize,
    budget: MemoryBudget,
}

/// The OTLP/HTTP routes.
pub fn app(ingest: Ingest, options: Options) -> Router {
    let auth_options = options.clone();
    Router::new()
        .route("/v1/traces", post(traces))
        .route("/v1/metrics", post(metrics))
        .route("/v1/logs", post(logs))
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
            budget: options.budget,
        })
}

/// Serves OTLP/HTTP on an already-bound listener until `shutdown` completes, then lets the
/// requests in progress finish.
///
/// Its own accept loop rather than `axum::serve`, which sets no timer: here a client must send
/// a request's headers within `header_timeout` (HTTP/1.1; the connection's first request on
/// either protocol through [`LimitedListener`]), however slowly it trickles them.
pub async fn serve(
    listener: TcpListener,
    ingest: Ingest,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use tower::ServiceExt as _;

    let mut listener = LimitedListener::new(listener, options.conn);
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(super::MAX_STREAMS);
    let builder = Arc::new(builder);
    let router = app(ingest, options);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (conn, _) = tokio::select! {
            conn = listener.next() => conn,
            () = &mut shutdown => break,
        };
        let served = conn.served();
        let router = router.clone();
        let service =
            hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                served.mark();
                router.clone().oneshot(req.map(Body::new))
            });
        let builder = Arc::clone(&builder);
        let conn = builder
            .serve_connection(TokioIo::new(conn), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    graceful.shutdown().await;
    Ok(())
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

impl Refused {
    fn over(over: Over, format: Format) -> Self {
        let status = match over {
            Over::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Over::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        };
        Self::new(status, format, over.message())
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

/// The request's format and whether its body is gzip-compressed, from its headers.
fn content(headers: &HeaderMap) -> Result<(Format, bool), Refused> {
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
                "unsupported content type {:?}: use application/x-protobuf or application/json",
                crate::format::safe(ct)
            ),
        ));
    };
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .trim();
    match encoding {
        "" | "identity" => Ok((format, false)),
        e if e.eq_ignore_ascii_case("gzip") => Ok((format, true)),
        other => Err(Refused::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format,
            format!(
                "unsupported content encoding {:?}: use gzip or none",
                crate::format::safe(other)
            ),
        )),
    }
}

/// Bodies at least this long are decompressed and decoded on a blocking thread, off the
/// receivers' async workers.
const BLOCKING_FROM: usize = 1024 * 1024;

/// Runs `f` on a blocking thread when `len` is large, in place otherwise.
async fn off_thread<T: Send + 'static>(len: usize, f: impl FnOnce() -> T + Send + 'static) -> T {
    if len < BLOCKING_FROM {
        return f();
    }
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// A request read whole, decompressed, and charged to the in-flight budget for what decoding it
/// will take: its format, its bytes, and the charge (given back when dropped).
struct Received {
    format: Format,
    body: Bytes,
    _charge: Charge,
}

/// Reads a request's body frame by frame, each charged to the in-flight budget before it is
/// kept; decompresses it (charged up to the size limit first) off the async workers; then
/// charges what decoding it is expected to take.
async fn receive(
    st: &HttpState,
    signal: Signal,
    headers: &HeaderMap,
    body: Body,
) -> Result<Received, Refused> {
    let (format, gzip) = content(headers)?;
    let max = st.max_message_size;
    let too_large = || {
        Refused::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format,
            format!("the body exceeds the limit of {max} bytes (--max-message-size)"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let shared = SharedCharge::default();
    let charged = ChargedBody::new(body, st.budget.clone(), Arc::clone(&shared));
    let collected = http_body_util::BodyExt::collect(http_body_util::Limited::new(charged, max))
        .await
        .map_err(|e| {
            if let Some(over) = e.downcast_ref::<Over>() {
                Refused::over(*over, format)
            } else if e.is::<http_body_util::LengthLimitError>() {
                too_large()
            } else {
                Refused::new(
                    StatusCode::BAD_REQUEST,
                    format,
                    format!("could not read the body: {e}"),
                )
            }
        })?;
    let mut body = collected.to_bytes();
    let mut charge = std::mem::take(&mut *shared.lock().unwrap_or_else(|e| e.into_inner()));
    if gzip {
        // What it inflates to is not known ahead: charge the most it may become.
        st.budget
            .charge(&mut charge, max)
            .await
            .map_err(|o| Refused::over(o, format))?;
        let compressed = body;
        body = off_thread(compressed.len(), move || gunzip(&compressed, max))
            .await
            .map_err(|e| match e {
                Gunzip::TooLarge => Refused::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format,
                    format!("decompressed body exceeds the limit of {max} bytes"),
                ),
                Gunzip::Bad(e) => Refused::new(
                    StatusCode::BAD_REQUEST,
                    format,
                    format!("bad gzip body: {e}"),
                ),
            })?;
    }
    let need = match format {
        Format::Protobuf => estimate::protobuf(signal, &body),
        Format::Json => estimate::json(&body),
    };
    let more = need.saturating_sub(charge.bytes());
    st.budget
        .charge(&mut charge, more)
        .await
        .map_err(|o| Refused::over(o.needing(need), format))?;
    Ok(Received {
        format,
        body,
        _charge: charge,
    })
}

enum Gunzip {
    TooLarge,
    Bad(std::io::Error),
}

fn gunzip(body: &[u8], max: usize) -> Result<Bytes, Gunzip> {
    let mut out = Vec::new();
    let mut reader = flate2::read::GzDecoder::new(body).take(max as u64 + 1);
    reader.read_to_end(&mut out).map_err(Gunzip::Bad)?;
    if out.len() > max {
        return Err(Gunzip::TooLarge);
    }
    Ok(Bytes::from(out))
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

async fn traces(State(st): State<HttpState>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        let received = receive(&st, Signal::Traces, &headers, body).await?;
        let format = received.format;
        let ((batch, problem), raw) = direct_or_json(
            &st,
            received,
            super::decode::trace_request,
            convert::trace_request,
        )
        .await?;
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

async fn metrics(State(st): State<HttpState>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        let Received {
            format,
            body,
            _charge,
        } = receive(&st, Signal::Metrics, &headers, body).await?;
        let (recording, limits) = (st.ingest.recording(), st.ingest.limits);
        let ((batch, problem), raw) = off_thread(body.len(), move || {
            let req: ExportMetricsServiceRequest = decode(format, &body)?;
            let raw = match format {
                Format::Protobuf => recording.then(|| body.clone()),
                Format::Json => recording.then(|| Bytes::from(req.encode_to_vec())),
            };
            Ok::<_, Refused>((convert::metric_request(req, &limits), raw))
        })
        .await?;
        drop(_charge);
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

async fn logs(State(st): State<HttpState>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        let received = receive(&st, Signal::Logs, &headers, body).await?;
        let format = received.format;
        let ((batch, problem), raw) = direct_or_json(
            &st,
            received,
            super::decode::log_request,
            convert::log_request,
        )
        .await?;
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

/// A trace or log request decoded (off the async workers when large): protobuf straight into
/// our model (`direct`), JSON through serde and `convert`; with the bytes to record, when
/// requests are recorded. The request's charge is given back once it is decoded.
async fn direct_or_json<M, B>(
    st: &HttpState,
    received: Received,
    direct: Direct<B>,
    convert: fn(M, &Limits) -> (B, String),
) -> Result<((B, String), Option<Bytes>), Refused>
where
    M: Message + Default + serde::de::DeserializeOwned + 'static,
    B: Send + 'static,
{
    let Received {
        format,
        body,
        _charge,
    } = received;
    let (recording, limits) = (st.ingest.recording(), st.ingest.limits);
    off_thread(body.len(), move || match format {
        Format::Protobuf => {
            let decoded = direct(&body, &limits).map_err(|e| {
                Refused::new(
                    StatusCode::BAD_REQUEST,
                    format,
                    format!("malformed protobuf: {e}"),
                )
            })?;
            Ok((decoded, recording.then_some(body)))
        }
        Format::Json => {
            let req: M = decode(format, &body)?;
            let raw = recording.then(|| Bytes::from(req.encode_to_vec()));
            Ok((convert(req, &limits), raw))
        }
    })
    .await
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
