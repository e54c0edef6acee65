//! `jokes-client` (port 5000): the seed's Flask client web app. `GET /` is a small home page,
//! `GET /jokes` and `GET /hello` call the API (through the delay proxy by default) and pass its
//! answer through, `GET /healthcheck` says whether the API answers.

use axum::Router;
use axum::extract::State;
use axum::response::{Html, IntoResponse as _, Response};
use axum::routing::get;
use http::{StatusCode, header};

use crate::error::AppError;
use crate::telemetry::{Telemetry, error_chain, trace_requests};

/// The home page.
pub const HOME_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Jokes client</title>
<link rel="icon" href="data:,">
<style>
  body { font-family: system-ui, sans-serif; max-width: 36rem; margin: 4rem auto; color: #222; }
  a { display: inline-block; margin: .5rem 1rem .5rem 0; padding: .6rem 1.2rem; border-radius: .4rem;
      background: #3b5bdb; color: white; text-decoration: none; }
  a:hover { background: #364fc7; }
</style>
</head>
<body>
<h1>Lets generate telemetry data</h1>
<p>Every click is a trace: jokes-client &rarr; delay-proxy &rarr; jokes-api &rarr; joke-source.</p>
<a href="/hello">Say Hello</a>
<a href="/jokes">Get Jokes</a>
</body>
</html>
"#;

#[derive(Clone)]
struct AppState {
    telemetry: Telemetry,
    api_url: String,
}

/// The client's routes, traced; `api_url` is where the jokes API is (or the proxy in front).
pub fn app(telemetry: Telemetry, api_url: impl Into<String>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/jokes", get(jokes))
        .route("/hello", get(hello))
        .route("/healthcheck", get(healthcheck))
        .with_state(AppState {
            telemetry: telemetry.clone(),
            api_url: api_url.into().trim_end_matches('/').to_owned(),
        })
        .layer(axum::middleware::from_fn_with_state(
            telemetry,
            trace_requests,
        ))
}

async fn home() -> Html<&'static str> {
    Html(HOME_PAGE)
}

/// Calls the API and passes status, content type and body through.
async fn pass_through(state: &AppState, path: &str) -> Result<Response, AppError> {
    let url = format!("{}{path}", state.api_url);
    let upstream = state
        .telemetry
        .send(state.telemetry.http().get(&url))
        .await
        .map_err(|err| {
            AppError::bad_gateway(format!(
                "cannot reach the API at {url}: {}",
                error_chain(&err)
            ))
        })?;
    let status = upstream.status();
    let content_type = upstream.headers().get(header::CONTENT_TYPE).cloned();
    let body = upstream.bytes().await.map_err(|err| {
        AppError::bad_gateway(format!("the API's answer broke off: {}", error_chain(&err)))
    })?;
    let mut response = (status, body).into_response();
    if let Some(content_type) = content_type {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type);
    }
    Ok(response)
}

async fn jokes(State(state): State<AppState>) -> Result<Response, AppError> {
    state.telemetry.count_request("jokes client");
    pass_through(&state, "/jokes").await
}

async fn hello(State(state): State<AppState>) -> Result<Response, AppError> {
    state.telemetry.count_request("hello client");
    pass_through(&state, "/hello").await
}

async fn healthcheck(State(state): State<AppState>) -> Result<&'static str, AppError> {
    state.telemetry.count_request("healthcheck client");
    let url = format!("{}/hello", state.api_url);
    match state.telemetry.send(state.telemetry.http().get(&url)).await {
        Ok(response) if response.status().is_success() => Ok("API is live"),
        Ok(response) => Err(AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("API is down: {url} answered {}", response.status()),
        )),
        Err(err) => Err(AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("API is down: {}", error_chain(&err)),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{Body, to_bytes};
    use tower::ServiceExt as _;

    async fn get(router: Router, path: &str) -> (StatusCode, String) {
        let response = router
            .oneshot(http::Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    fn dead_url() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    }

    #[tokio::test]
    async fn home_page_has_the_two_links() {
        let (status, body) = get(app(Telemetry::disabled("jokes-client"), dead_url()), "/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("Lets generate telemetry data"));
        assert!(body.contains(r#"href="/hello""#) && body.contains(r#"href="/jokes""#));
    }

    #[tokio::test]
    async fn healthcheck_fails_with_500_when_the_api_is_down() {
        let (status, body) = get(
            app(Telemetry::disabled("jokes-client"), dead_url()),
            "/healthcheck",
        )
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(body.contains("API is down"), "{body}");
    }

    #[tokio::test]
    async fn passes_the_api_through() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let api = crate::jokes_api::app(Telemetry::disabled("jokes-api"), dead_url());
        let server = tokio::spawn(async move { axum::serve(listener, api).await });
        let client = app(
            Telemetry::disabled("jokes-client"),
            format!("http://{addr}/"),
        );
        assert_eq!(
            get(client.clone(), "/hello").await,
            (StatusCode::OK, "hello world".to_owned())
        );
        assert_eq!(
            get(client.clone(), "/healthcheck").await,
            (StatusCode::OK, "API is live".to_owned())
        );
        // The API's own failure (its joke source is down) passes through as is.
        let (status, body) = get(client, "/jokes").await;
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        assert!(body.contains("joke source"), "{body}");
        server.abort();
    }
}
