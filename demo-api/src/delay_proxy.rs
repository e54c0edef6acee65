//! `delay-proxy` (port 8090): the seed's planned "proxy that introduces a delay". It forwards any
//! request to a target (by default `jokes-api`) after a configurable delay with jitter; the wait is
//! its own `delay` span, so it stands out in the trace.

use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::{IntoResponse as _, Response};
use axum::routing::any;
use http::{HeaderMap, HeaderName, header};
use opentelemetry::trace::{SpanKind, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue};

use crate::error::AppError;
use crate::telemetry::{Telemetry, error_chain, trace_requests};

/// How long the proxy waits before forwarding.
#[derive(Clone, Debug, clap::Args)]
#[group(id = "delay_proxy")]
pub struct Settings {
    /// Base delay before forwarding a request, in milliseconds.
    #[arg(long, env = "PROXY_DELAY_MS", default_value_t = 150)]
    pub delay_ms: u64,
    /// Random extra delay, up to this many milliseconds.
    #[arg(long, env = "PROXY_JITTER_MS", default_value_t = 100)]
    pub jitter_ms: u64,
}

impl Settings {
    /// A delay drawn from `delay_ms + [0, jitter_ms]`.
    #[must_use]
    pub fn draw(&self) -> Duration {
        let jitter = if self.jitter_ms == 0 {
            0
        } else {
            rand::Rng::random_range(&mut rand::rng(), 0..=self.jitter_ms)
        };
        Duration::from_millis(self.delay_ms.saturating_add(jitter))
    }
}

/// Largest request body the proxy forwards.
const MAX_BODY: usize = 1 << 20;

#[derive(Clone)]
struct AppState {
    telemetry: Telemetry,
    target: String,
    settings: Settings,
}

/// The proxy: every path and method is forwarded to `target` (a base URL).
pub fn app(telemetry: Telemetry, target: impl Into<String>, settings: Settings) -> Router {
    Router::new()
        .route("/", any(forward))
        .route("/{*path}", any(forward))
        .with_state(AppState {
            telemetry: telemetry.clone(),
            target: target.into().trim_end_matches('/').to_owned(),
            settings,
        })
        .layer(axum::middleware::from_fn_with_state(
            telemetry,
            trace_requests,
        ))
}

/// Headers that belong to one connection or that the proxy sets itself.
fn is_hop_header(name: &HeaderName) -> bool {
    [
        header::CONNECTION,
        header::HOST,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::TE,
        header::TRAILER,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
        HeaderName::from_static("keep-alive"),
        HeaderName::from_static("proxy-connection"),
    ]
    .contains(name)
}

/// Trace headers of any propagator: the proxy injects its own, stale ones must not pass.
fn is_trace_header(name: &HeaderName) -> bool {
    let name = name.as_str();
    matches!(name, "traceparent" | "tracestate" | "baggage" | "b3") || name.starts_with("x-b3-")
}

async fn forward(State(state): State<AppState>, request: Request) -> Result<Response, AppError> {
    state.telemetry.count_request("delay proxy");
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        AppError::new(
            http::StatusCode::PAYLOAD_TOO_LARGE,
            "request body over 1 MiB",
        )
    })?;
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    let url = format!("{}{path_and_query}", state.target);

    // The wait, as its own span under the server span.
    let delay = state.settings.draw();
    let tracer = state.telemetry.tracer();
    let span = tracer
        .span_builder("delay")
        .with_kind(SpanKind::Internal)
        .with_attributes([KeyValue::new(
            "proxy.delay_ms",
            i64::try_from(delay.as_millis()).unwrap_or(i64::MAX),
        )])
        .start_with_context(tracer, &Context::current());
    tokio::time::sleep(delay).await;
    drop(span);

    let mut headers = HeaderMap::new();
    for (name, value) in &parts.headers {
        if !is_hop_header(name) && !is_trace_header(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    let request = state
        .telemetry
        .http()
        .request(parts.method.clone(), &url)
        .headers(headers)
        .body(body);
    let upstream = state.telemetry.send(request).await.map_err(|err| {
        AppError::bad_gateway(format!(
            "the proxy cannot reach {url}: {}",
            error_chain(&err)
        ))
    })?;

    let status = upstream.status();
    let mut response_headers = HeaderMap::new();
    for (name, value) in upstream.headers() {
        if !is_hop_header(name) {
            response_headers.append(name.clone(), value.clone());
        }
    }
    let bytes = upstream.bytes().await.map_err(|err| {
        AppError::bad_gateway(format!(
            "the answer from {url} broke off: {}",
            error_chain(&err)
        ))
    })?;
    if status.is_server_error() {
        Context::current().span().add_event(
            "upstream_error",
            vec![KeyValue::new(
                "http.response.status_code",
                i64::from(status.as_u16()),
            )],
        );
    }
    let mut response = (status, Body::from(bytes)).into_response();
    response.headers_mut().extend(response_headers);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;
    use axum::routing::post;
    use http::StatusCode;
    use tower::ServiceExt as _;

    #[test]
    fn delay_stays_within_jitter() {
        let settings = Settings {
            delay_ms: 100,
            jitter_ms: 50,
        };
        for _ in 0..100 {
            let d = settings.draw();
            assert!(d >= Duration::from_millis(100) && d <= Duration::from_millis(150));
        }
        let fixed = Settings {
            delay_ms: 7,
            jitter_ms: 0,
        };
        assert_eq!(fixed.draw(), Duration::from_millis(7));
    }

    /// An upstream that echoes method, path, query, body and the headers it was sent.
    async fn echo(request: Request) -> String {
        let (parts, body) = request.into_parts();
        let body = to_bytes(body, 1 << 20).await.unwrap();
        format!(
            "{} {} traceparent={} b3={} x-custom={} body={}",
            parts.method,
            parts.uri,
            parts.headers.contains_key("traceparent"),
            parts.headers.contains_key("b3"),
            parts
                .headers
                .get("x-custom")
                .map_or("", |v| v.to_str().unwrap()),
            String::from_utf8_lossy(&body)
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn forwards_method_path_query_body_and_headers_after_the_delay() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let upstream = Router::new()
            .route("/things/{id}", post(echo))
            .fallback(|| async { (StatusCode::IM_A_TEAPOT, "nope") });
        let server = tokio::spawn(async move { axum::serve(listener, upstream).await });

        let proxy = app(
            Telemetry::disabled("delay-proxy"),
            format!("http://{addr}/"),
            Settings {
                delay_ms: 50,
                jitter_ms: 0,
            },
        );
        let started = std::time::Instant::now();
        let response = proxy
            .clone()
            .oneshot(
                http::Request::post("/things/7?x=1")
                    .header("x-custom", "kept")
                    .header("b3", "stale")
                    .body(Body::from("hello"))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert!(started.elapsed() >= Duration::from_millis(50));
        assert_eq!(response.status(), StatusCode::OK);
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        assert_eq!(
            String::from_utf8_lossy(&body),
            "POST /things/7?x=1 traceparent=true b3=false x-custom=kept body=hello"
        );

        // The upstream's status passes through.
        let response = proxy
            .oneshot(http::Request::get("/else").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::IM_A_TEAPOT);
        server.abort();
    }

    #[tokio::test]
    async fn unreachable_target_is_a_bad_gateway() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let proxy = app(
            Telemetry::disabled("delay-proxy"),
            format!("http://127.0.0.1:{port}"),
            Settings {
                delay_ms: 0,
                jitter_ms: 0,
            },
        );
        let response = proxy
            .oneshot(http::Request::get("/jokes").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    }
}
