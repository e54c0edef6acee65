//! `jokes-api` (port 8000): the seed's Flask API. `GET /jokes` fetches a random joke from the joke
//! source and returns it; `GET /hello` says `hello world`. There is no `/`: it is a 404, as in the
//! seed.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

use crate::error::AppError;
use crate::joke_source::Joke;
use crate::telemetry::{Telemetry, error_chain, trace_requests};

#[derive(Clone)]
struct AppState {
    telemetry: Telemetry,
    joke_source_url: String,
}

/// The API's routes, traced; `joke_source_url` is the base URL of the joke source.
pub fn app(telemetry: Telemetry, joke_source_url: impl Into<String>) -> Router {
    Router::new()
        .route("/jokes", get(jokes))
        .route("/hello", get(hello))
        .with_state(AppState {
            telemetry: telemetry.clone(),
            joke_source_url: joke_source_url.into(),
        })
        .layer(axum::middleware::from_fn_with_state(
            telemetry,
            trace_requests,
        ))
}

async fn jokes(State(state): State<AppState>) -> Result<Json<Joke>, AppError> {
    state.telemetry.count_request("jokes api");
    let url = format!(
        "{}/random_joke",
        state.joke_source_url.trim_end_matches('/')
    );
    let response = state
        .telemetry
        .send(state.telemetry.http().get(&url))
        .await
        .map_err(|err| {
            AppError::bad_gateway(format!(
                "cannot reach the joke source at {url}: {}",
                error_chain(&err)
            ))
        })?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        return Err(AppError::bad_gateway(format!(
            "the joke source answered {status}: {}",
            body.trim()
        )));
    }
    let joke = response.json::<Joke>().await.map_err(|err| {
        AppError::bad_gateway(format!(
            "the joke source sent something that is not a joke: {}",
            error_chain(&err)
        ))
    })?;
    Ok(Json(joke))
}

async fn hello(State(state): State<AppState>) -> &'static str {
    state.telemetry.count_request("hello api");
    "hello world"
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{Body, to_bytes};
    use http::{Request, StatusCode};
    use tower::ServiceExt as _;

    async fn get(router: Router, path: &str) -> (StatusCode, String) {
        let response = router
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    fn api(upstream: &str) -> Router {
        app(Telemetry::disabled("jokes-api"), upstream)
    }

    #[tokio::test]
    async fn says_hello() {
        assert_eq!(
            get(api("http://127.0.0.1:9"), "/hello").await,
            (StatusCode::OK, "hello world".to_owned())
        );
    }

    #[tokio::test]
    async fn root_is_not_found() {
        let (status, _) = get(api("http://127.0.0.1:9"), "/").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn unreachable_joke_source_is_a_bad_gateway() {
        // Bind then drop a listener: nothing listens on that port any more.
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let (status, body) = get(api(&format!("http://127.0.0.1:{port}")), "/jokes").await;
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        assert!(body.contains("cannot reach the joke source"), "{body}");
    }

    #[tokio::test]
    async fn passes_a_joke_through_from_a_real_joke_source() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let source = crate::joke_source::app(
            Telemetry::disabled("joke-source"),
            crate::joke_source::Settings::reliable(),
        );
        let server = tokio::spawn(async move { axum::serve(listener, source).await });
        let (status, body) = get(api(&format!("http://{addr}")), "/jokes").await;
        server.abort();
        assert_eq!(status, StatusCode::OK, "{body}");
        let joke: Joke = serde_json::from_str(&body).unwrap();
        assert!(!joke.punchline.is_empty());
    }

    #[tokio::test]
    async fn failing_joke_source_is_a_bad_gateway_naming_the_status() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let source = crate::joke_source::app(
            Telemetry::disabled("joke-source"),
            crate::joke_source::Settings {
                fail_rate: 1.0,
                ..crate::joke_source::Settings::reliable()
            },
        );
        let server = tokio::spawn(async move { axum::serve(listener, source).await });
        let (status, body) = get(api(&format!("http://{addr}")), "/jokes").await;
        server.abort();
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        assert!(body.contains("503"), "{body}");
    }
}
