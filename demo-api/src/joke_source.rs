//! `joke-source` (port 8001): an offline stand-in for the public joke API the seed called.
//!
//! `GET /random_joke` answers `{"id","type","setup","punchline"}` from a bundled list. It can be
//! told to fail a share of requests and to be slow for another share, so that error traces and
//! slow traces exist.

use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use opentelemetry::KeyValue;
use opentelemetry::trace::TraceContextExt as _;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::telemetry::{Telemetry, trace_requests};

/// A joke, in the public joke API's shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Joke {
    /// Position in the bundled list, from 1.
    pub id: u32,
    /// `general`, `programming` or `knock-knock`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The question.
    pub setup: String,
    /// The answer.
    pub punchline: String,
}

/// The bundled jokes: (type, setup, punchline).
pub const JOKES: &[(&str, &str, &str)] = &[
    (
        "general",
        "Why did the scarecrow win an award?",
        "Because he was outstanding in his field.",
    ),
    (
        "general",
        "Why don't skeletons fight each other?",
        "They don't have the guts.",
    ),
    ("general", "What do you call a fish with no eyes?", "A fsh."),
    (
        "general",
        "Why did the bicycle fall over?",
        "Because it was two tired.",
    ),
    (
        "general",
        "What do you call a bear with no teeth?",
        "A gummy bear.",
    ),
    (
        "general",
        "Why can't you give Elsa a balloon?",
        "Because she will let it go.",
    ),
    (
        "general",
        "What did the ocean say to the beach?",
        "Nothing, it just waved.",
    ),
    (
        "general",
        "Why did the golfer bring two pairs of pants?",
        "In case he got a hole in one.",
    ),
    (
        "general",
        "How does a penguin build its house?",
        "Igloos it together.",
    ),
    (
        "general",
        "What do you call a dinosaur that is sleeping?",
        "A dino-snore.",
    ),
    (
        "general",
        "Why did the cookie go to the hospital?",
        "Because it felt crummy.",
    ),
    (
        "general",
        "What did one wall say to the other wall?",
        "I'll meet you at the corner.",
    ),
    (
        "general",
        "Why are elevator jokes so good?",
        "They work on so many levels.",
    ),
    (
        "general",
        "What do you call cheese that isn't yours?",
        "Nacho cheese.",
    ),
    (
        "general",
        "Why did the tomato turn red?",
        "Because it saw the salad dressing.",
    ),
    (
        "knock-knock",
        "Knock knock. Who's there? Lettuce. Lettuce who?",
        "Lettuce in, it's cold out here!",
    ),
    (
        "knock-knock",
        "Knock knock. Who's there? Boo. Boo who?",
        "Don't cry, it's only a joke.",
    ),
    (
        "programming",
        "Why do programmers prefer dark mode?",
        "Because light attracts bugs.",
    ),
    (
        "programming",
        "How many programmers does it take to change a light bulb?",
        "None, that's a hardware problem.",
    ),
    (
        "programming",
        "Why do Java developers wear glasses?",
        "Because they don't C#.",
    ),
    (
        "programming",
        "What is a programmer's favourite hangout place?",
        "Foo Bar.",
    ),
    (
        "programming",
        "Why did the developer go broke?",
        "Because he used up all his cache.",
    ),
    (
        "programming",
        "There are 10 kinds of people in the world.",
        "Those who understand binary and those who don't.",
    ),
    (
        "programming",
        "A SQL query walks into a bar, walks up to two tables and asks...",
        "Can I join you?",
    ),
];

/// The joke at `index` (wrapping), with its 1-based id.
#[must_use]
pub fn joke(index: usize) -> Joke {
    let index = index % JOKES.len();
    let (kind, setup, punchline) = JOKES[index];
    Joke {
        id: u32::try_from(index + 1).unwrap_or(u32::MAX),
        kind: kind.to_owned(),
        setup: setup.to_owned(),
        punchline: punchline.to_owned(),
    }
}

/// How badly the joke source behaves.
#[derive(Clone, Debug, clap::Args)]
#[group(id = "joke_source")]
pub struct Settings {
    /// Share of joke requests that fail with 503 (0 to 1), so that error traces exist.
    #[arg(long, env = "JOKE_SOURCE_FAIL_RATE", default_value_t = 0.1, value_parser = parse_rate)]
    pub fail_rate: f64,
    /// Share of joke requests that are slow (0 to 1).
    #[arg(long, env = "JOKE_SOURCE_SLOW_RATE", default_value_t = 0.2, value_parser = parse_rate)]
    pub slow_rate: f64,
    /// How long a slow joke request takes, in milliseconds.
    #[arg(long, env = "JOKE_SOURCE_SLOW_MS", default_value_t = 600)]
    pub slow_ms: u64,
}

impl Settings {
    /// Never fails, never slow.
    #[must_use]
    pub fn reliable() -> Self {
        Self {
            fail_rate: 0.0,
            slow_rate: 0.0,
            slow_ms: 0,
        }
    }
}

/// Parses a share between 0 and 1.
///
/// # Errors
/// When the value is not a number between 0 and 1.
pub fn parse_rate(value: &str) -> Result<f64, String> {
    let rate: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a number"))?;
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(format!("{rate} is not between 0 and 1"))
    }
}

#[derive(Clone)]
struct AppState {
    telemetry: Telemetry,
    settings: Settings,
}

/// The joke source's routes, traced.
pub fn app(telemetry: Telemetry, settings: Settings) -> Router {
    Router::new()
        .route("/random_joke", get(random_joke))
        .with_state(AppState {
            telemetry: telemetry.clone(),
            settings,
        })
        .layer(axum::middleware::from_fn_with_state(
            telemetry,
            trace_requests,
        ))
}

async fn random_joke(State(state): State<AppState>) -> Result<Json<Joke>, AppError> {
    state.telemetry.count_request("joke source");
    let (fail, slow, index) = {
        let mut rng = rand::rng();
        (
            rand::Rng::random_bool(&mut rng, state.settings.fail_rate),
            rand::Rng::random_bool(&mut rng, state.settings.slow_rate),
            rand::Rng::random_range(&mut rng, 0..JOKES.len()),
        )
    };
    if slow {
        opentelemetry::Context::current().span().add_event(
            "slow_response",
            vec![KeyValue::new(
                "delay_ms",
                i64::try_from(state.settings.slow_ms).unwrap_or(i64::MAX),
            )],
        );
        tokio::time::sleep(Duration::from_millis(state.settings.slow_ms)).await;
    }
    if fail {
        return Err(AppError::unavailable(
            "the joke source ran out of jokes for a moment (simulated failure)",
        ));
    }
    Ok(Json(joke(index)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{Body, to_bytes};
    use http::{Request, StatusCode};
    use tower::ServiceExt as _;

    async fn get_joke(settings: Settings) -> (StatusCode, serde_json::Value) {
        let response = app(Telemetry::disabled("joke-source"), settings)
            .oneshot(Request::get("/random_joke").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn answers_a_bundled_joke() {
        let (status, body) = get_joke(Settings::reliable()).await;
        assert_eq!(status, StatusCode::OK);
        let joke: Joke = serde_json::from_value(body).unwrap();
        assert!(JOKES.iter().any(|(_, setup, _)| *setup == joke.setup));
        assert_eq!(joke, super::joke(joke.id as usize - 1));
    }

    #[tokio::test]
    async fn fails_when_told_to() {
        let settings = Settings {
            fail_rate: 1.0,
            ..Settings::reliable()
        };
        let (status, body) = get_joke(settings).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body["error"].as_str().unwrap().contains("simulated"));
    }

    #[tokio::test(start_paused = true)]
    async fn is_slow_when_told_to() {
        let settings = Settings {
            slow_rate: 1.0,
            slow_ms: 5_000,
            ..Settings::reliable()
        };
        let started = tokio::time::Instant::now();
        let (status, _) = get_joke(settings).await;
        assert_eq!(status, StatusCode::OK);
        assert!(started.elapsed() >= Duration::from_secs(5));
    }

    #[test]
    fn rates_are_checked() {
        assert_eq!(parse_rate("0.25"), Ok(0.25));
        assert!(parse_rate("1.5").is_err());
        assert!(parse_rate("-0.1").is_err());
        assert!(parse_rate("often").is_err());
    }

    #[tokio::test]
    async fn unknown_paths_are_404() {
        let response = app(Telemetry::disabled("joke-source"), Settings::reliable())
            .oneshot(Request::get("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
}
