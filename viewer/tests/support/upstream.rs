//! Fake upstreams for the client tests (a Jaeger query service, a `--forward` target): real
//! sockets on port 0 of 127.0.0.1, answers the test makes (endless, trickling, redirecting,
//! hostile), and what the client did to them recorded.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use bytes::Bytes;
use futures::{Stream, StreamExt as _};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use parking_lot::Mutex;

/// Where an "endless" answer stops all the same: far past any limit a test sets, short of
/// taking the machine's memory should the client read it all.
pub const ENDLESS: u64 = 1 << 30;

/// Serves `app` over HTTP/1.1 on a new port for the rest of the test.
pub async fn serve_http(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// A gRPC answer's body.
pub type GrpcBody = BoxBody<Bytes, Infallible>;

/// Serves gRPC (HTTP/2 without TLS) on a new port for the rest of the test: `answer` makes
/// the response to a call from its path (`/jaeger.api_v3.QueryService/FindTraces`); the
/// request's message is not read.
pub async fn serve_grpc(
    answer: impl Fn(&str) -> Response<GrpcBody> + Send + Sync + 'static,
) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let answer = Arc::clone(&answer);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: hyper::Request<_>| {
                    let response = answer(req.uri().path());
                    async move { Ok::<_, Infallible>(response) }
                });
                let _ =
                    hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                        .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                        .await;
            });
        }
    });
    addr
}

/// A gRPC frame: not compressed, the message's length, the message.
#[must_use]
pub fn grpc_frame(message: &[u8]) -> Bytes {
    let mut frame = vec![0];
    frame.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(message);
    frame.into()
}

/// A gRPC answer whose messages (frames) are `stream`'s, without trailers.
pub fn grpc_stream(
    stream: impl Stream<Item = Result<Bytes, Infallible>> + Send + Sync + 'static,
) -> Response<GrpcBody> {
    Response::builder()
        .header(header::CONTENT_TYPE, "application/grpc")
        .body(BodyExt::boxed(StreamBody::new(
            stream.map(|b| b.map(Frame::data)),
        )))
        .unwrap()
}

/// A gRPC error answer (trailers only): `code`, and `message` percent-encoded as gRPC does.
#[must_use]
pub fn grpc_error(code: u8, message: &str) -> Response<GrpcBody> {
    let encoded: String = message
        .bytes()
        .map(|b| {
            if (0x20..0x7f).contains(&b) && b != b'%' {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    Response::builder()
        .header(header::CONTENT_TYPE, "application/grpc")
        .header("grpc-status", code.to_string())
        .header("grpc-message", encoded)
        .body(BodyExt::boxed(Full::new(Bytes::new())))
        .unwrap()
}

/// What one answer's body sent, and whether the client has hung up on it (the body dropped,
/// by the client closing the connection or resetting the stream, or the body ending).
#[derive(Default)]
pub struct Tap {
    pub sent: AtomicU64,
    ended: tokio::sync::Notify,
}

/// Tells the tap its body was dropped.
struct Ended(Arc<Tap>);

impl Drop for Ended {
    fn drop(&mut self) {
        self.0.ended.notify_one();
    }
}

impl Tap {
    #[must_use]
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// `chunk` again and again, as fast as the client reads, up to [`ENDLESS`] bytes.
    pub fn endless(
        self: &Arc<Self>,
        chunk: Bytes,
    ) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + Sync + 'static {
        self.stream(chunk, Duration::ZERO)
    }

    /// `chunk` every 20 ms, for ever (up to [`ENDLESS`] bytes).
    pub fn trickle(
        self: &Arc<Self>,
        chunk: Bytes,
    ) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + Sync + 'static {
        self.stream(chunk, Duration::from_millis(20))
    }

    fn stream(
        self: &Arc<Self>,
        chunk: Bytes,
        pause: Duration,
    ) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + Sync + 'static {
        futures::stream::unfold(Ended(Arc::clone(self)), move |ended| {
            let chunk = chunk.clone();
            async move {
                if !pause.is_zero() {
                    tokio::time::sleep(pause).await;
                }
                let n = chunk.len() as u64;
                if ended.0.sent.fetch_add(n, Ordering::Relaxed) + n > ENDLESS {
                    return None;
                }
                Some((Ok(chunk), ended))
            }
        })
    }

    /// Waits until the body is dropped (at most a minute: a client that never lets go fails the
    /// test), then gives what it sent.
    pub async fn hung_up(&self) -> u64 {
        tokio::time::timeout(Duration::from_secs(60), self.ended.notified())
            .await
            .expect("the client never let go of the answer");
        self.sent.load(Ordering::Relaxed)
    }
}

/// The requests a target got: path (and query), and headers.
pub type Seen = Arc<Mutex<Vec<(String, HeaderMap)>>>;

/// A target that records every request and answers `200 {}`.
pub async fn recording_target() -> (SocketAddr, Seen) {
    recording_target_answering(StatusCode::OK).await
}

/// A target that records every request and answers `status` with `{}`.
pub async fn recording_target_answering(status: StatusCode) -> (SocketAddr, Seen) {
    let seen: Seen = Arc::default();
    let app = {
        let seen = Arc::clone(&seen);
        axum::Router::new().fallback(move |uri: axum::http::Uri, headers: HeaderMap| {
            let seen = Arc::clone(&seen);
            async move {
                seen.lock().push((uri.to_string(), headers));
                (status, "{}")
            }
        })
    };
    (serve_http(app).await, seen)
}

/// Answers every request with `307 Temporary Redirect` to the same path at `to`.
pub async fn redirecting_to(to: SocketAddr) -> SocketAddr {
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| async move {
        let location = format!("http://{to}{uri}");
        (
            StatusCode::TEMPORARY_REDIRECT,
            [(header::LOCATION, HeaderValue::from_str(&location).unwrap())],
        )
    });
    serve_http(app).await
}
