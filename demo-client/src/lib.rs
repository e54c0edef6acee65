//! Drives traffic through the demo services, round after round, so the viewer has traces to show.
//!
//! A round: a joke through jokes-client (which calls delay-proxy, jokes-api and joke-source),
//! hello, healthcheck, a donut order polled until ready, and every few rounds a request that fails
//! on purpose. Every request is a CLIENT span of the `demo-client` service; a donut order and its
//! polls share one trace under an `order donuts` span.

pub mod loadgen;

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use demo_api::kitchen::Flavor;
use demo_api::telemetry::{Telemetry, error_chain};
use opentelemetry::trace::{SpanKind, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue};
use rand::Rng as _;
use rand::seq::IndexedRandom as _;
use serde::Deserialize;

/// The command line of `demo-client`.
#[derive(Clone, Debug, clap::Parser)]
#[command(
    name = "demo-client",
    version,
    about = "Drives traffic through the demo services (start them with `cargo run -p demo-api`) \
             until Ctrl-C, or for --count rounds."
)]
pub struct Options {
    /// Run this many rounds, then exit (default: until Ctrl-C).
    #[arg(long)]
    pub count: Option<u64>,
    /// Base URL of jokes-client.
    #[arg(
        long,
        env = "JOKES_CLIENT_URL",
        default_value = "http://127.0.0.1:5000"
    )]
    pub jokes_client_url: String,
    /// Base URL of donut-shop.
    #[arg(long, env = "DONUT_SHOP_URL", default_value = "http://127.0.0.1:8082")]
    pub donut_shop_url: String,
    /// Pause between rounds, in milliseconds.
    #[arg(long, default_value_t = 1_000)]
    pub pause_ms: u64,
    /// Send a request that fails on purpose every this many rounds (0: never).
    #[arg(long, default_value_t = 3)]
    pub fail_every: u64,
    /// Most donuts in one order (at least 1).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=24))]
    pub max_donuts: u64,
    /// How often an order's status is polled, in milliseconds.
    #[arg(long, default_value_t = 1_000)]
    pub poll_ms: u64,
    /// Give up waiting for an order after this many seconds.
    #[arg(long, default_value_t = 60)]
    pub order_timeout_secs: u64,
    /// OTLP gRPC endpoint (overrides OTEL_EXPORTER_OTLP_ENDPOINT).
    #[arg(long)]
    pub otlp_endpoint: Option<String>,
}

/// What one request gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Round number, from 1.
    pub round: u64,
    /// Which step: `joke`, `hello`, `healthcheck`, `order`, `status`, `failure`.
    pub step: &'static str,
    /// HTTP method and path.
    pub request: String,
    /// The HTTP status, or `None` when the request got no answer.
    pub status: Option<u16>,
    /// How long it took.
    pub elapsed: Duration,
    /// A short description of the answer.
    pub detail: String,
    /// Whether this request was meant to fail.
    pub expected_failure: bool,
}

impl Outcome {
    /// Whether the request was answered as intended (a 2xx, or a 4xx when failing on purpose).
    #[must_use]
    pub fn as_intended(&self) -> bool {
        match self.status {
            Some(code) if self.expected_failure => (400..500).contains(&code),
            Some(code) => (200..300).contains(&code),
            None => false,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self
            .status
            .map_or_else(|| "---".to_owned(), |s| s.to_string());
        let mut detail = self.detail.replace('\n', " ");
        if detail.chars().count() > 90 {
            detail = detail.chars().take(89).collect::<String>() + "…";
        }
        let note = if self.expected_failure {
            " (on purpose)"
        } else {
            ""
        };
        write!(
            f,
            "round {:<3} {:<12} {:<26} {status} {:>6} ms  {detail}{note}",
            self.round,
            self.step,
            self.request,
            self.elapsed.as_millis()
        )
    }
}

/// Totals over a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Rounds completed.
    pub rounds: u64,
    /// Requests sent.
    pub requests: u64,
    /// Requests answered as intended.
    pub as_intended: u64,
    /// Requests answered otherwise (such as the joke source's simulated failures).
    pub errors: u64,
    /// Requests that got no answer at all (service down).
    pub unanswered: u64,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} rounds, {} requests: {} as intended, {} errors, {} unanswered",
            self.rounds, self.requests, self.as_intended, self.errors, self.unanswered
        )
    }
}

#[derive(Debug, Deserialize)]
struct Joke {
    setup: String,
    punchline: String,
}

#[derive(Debug, Deserialize)]
struct OrderStatus {
    order_id: String,
    estimated_delivery_time: u64,
    state: String,
}

/// The requests that fail on purpose, in turn.
const FAILURES: [&str; 5] = [
    "unknown flavour",
    "unknown order",
    "zero quantity",
    "malformed JSON",
    "missing page",
];

struct Driver<'a, R> {
    options: &'a Options,
    telemetry: &'a Telemetry,
    report: R,
    summary: Summary,
    round: u64,
}

impl<R: FnMut(&Outcome)> Driver<'_, R> {
    fn record(&mut self, outcome: &Outcome) {
        self.summary.requests += 1;
        if outcome.status.is_none() {
            self.summary.unanswered += 1;
        } else if outcome.as_intended() {
            self.summary.as_intended += 1;
        } else {
            self.summary.errors += 1;
        }
        (self.report)(outcome);
    }

    /// Sends one request in a CLIENT span under `parent`; returns status and body.
    async fn call(
        &mut self,
        parent: &Context,
        step: &'static str,
        request: reqwest::RequestBuilder,
        expected_failure: bool,
        describe: impl FnOnce(u16, &str) -> String,
    ) -> Option<(u16, String)> {
        let label = request
            .try_clone()
            .and_then(|r| r.build().ok())
            .map(|r| format!("{} {}", r.method(), r.url().path()))
            .unwrap_or_default();
        let started = Instant::now();
        let answer = match self.telemetry.send_with_context(parent, request).await {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response.text().await.unwrap_or_default();
                Ok((status, body))
            }
            Err(err) => Err(err),
        };
        let (status, detail, answer) = match answer {
            Ok((status, body)) => (Some(status), describe(status, &body), Some((status, body))),
            Err(err) => (
                None,
                format!(
                    "no answer: {} (is demo-api running? `cargo run -p demo-api`)",
                    error_chain(&err)
                ),
                None,
            ),
        };
        let outcome = Outcome {
            round: self.round,
            step,
            request: label,
            status,
            elapsed: started.elapsed(),
            detail,
            expected_failure,
        };
        self.record(&outcome);
        answer
    }

    fn jokes_url(&self, path: &str) -> String {
        format!(
            "{}{path}",
            self.options.jokes_client_url.trim_end_matches('/')
        )
    }

    fn shop_url(&self, path: &str) -> String {
        format!(
            "{}{path}",
            self.options.donut_shop_url.trim_end_matches('/')
        )
    }

    async fn jokes_and_hellos(&mut self) {
        let root = Context::new();
        let http = self.telemetry.http().clone();
        self.call(
            &root,
            "joke",
            http.get(self.jokes_url("/jokes")),
            false,
            |status, body| match serde_json::from_str::<Joke>(body) {
                Ok(joke) if status == 200 => format!("{} {}", joke.setup, joke.punchline),
                _ => error_text(body),
            },
        )
        .await;
        self.call(
            &root,
            "hello",
            http.get(self.jokes_url("/hello")),
            false,
            |_, body| error_text(body),
        )
        .await;
        self.call(
            &root,
            "healthcheck",
            http.get(self.jokes_url("/healthcheck")),
            false,
            |_, body| error_text(body),
        )
        .await;
    }

    /// Orders a few donuts and polls until they are ready, all in one trace.
    async fn donut_order(&mut self) {
        let donuts = random_order(self.options.max_donuts);
        let tracer = self.telemetry.tracer();
        let span = tracer
            .span_builder("order donuts")
            .with_kind(SpanKind::Internal)
            .with_attributes([KeyValue::new(
                "order.donut_count",
                i64::try_from(donuts.iter().map(|(_, q)| q).sum::<u64>()).unwrap_or(i64::MAX),
            )])
            .start_with_context(tracer, &Context::new());
        let cx = Context::new().with_span(span);
        let body = serde_json::json!({
            "donuts": donuts
                .iter()
                .map(|(flavor, quantity)| serde_json::json!({"flavor": flavor, "quantity": quantity}))
                .collect::<Vec<_>>()
        });
        let http = self.telemetry.http().clone();
        let placed = self
            .call(
                &cx,
                "order",
                http.post(self.shop_url("/order")).json(&body),
                false,
                |status, body| describe_status(status, body, &donuts),
            )
            .await;
        let order = placed.and_then(|(status, body)| {
            (status == 200)
                .then(|| serde_json::from_str::<OrderStatus>(&body).ok())
                .flatten()
        });
        if let Some(order) = order {
            cx.span()
                .set_attribute(KeyValue::new("order.id", order.order_id.clone()));
            let deadline = Instant::now() + Duration::from_secs(self.options.order_timeout_secs);
            let mut state = order.state;
            while state != "ready" && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(self.options.poll_ms)).await;
                let answer = self
                    .call(
                        &cx,
                        "status",
                        http.post(self.shop_url("/status"))
                            .json(&serde_json::json!({"order_id": order.order_id})),
                        false,
                        |status, body| describe_status(status, body, &[]),
                    )
                    .await;
                match answer {
                    Some((200, body)) => {
                        if let Ok(status) = serde_json::from_str::<OrderStatus>(&body) {
                            state = status.state;
                        }
                    }
                    _ => break,
                }
            }
            cx.span()
                .set_attribute(KeyValue::new("order.state", state.clone()));
            if state != "ready" {
                cx.span()
                    .set_status(opentelemetry::trace::Status::error(format!(
                        "order not ready: {state}"
                    )));
            }
        }
        cx.span().end();
    }

    /// One request that fails on purpose, a different one each time.
    async fn failure(&mut self, which: u64) {
        let root = Context::new();
        let http = self.telemetry.http().clone();
        let index = usize::try_from(which % FAILURES.len() as u64).unwrap_or(0);
        let request = match FAILURES[index] {
            "unknown flavour" => http
                .post(self.shop_url("/order"))
                .json(&serde_json::json!({"donuts": [{"flavor": "bacon maple", "quantity": 1}]})),
            "unknown order" => http
                .post(self.shop_url("/status"))
                .json(&serde_json::json!({"order_id": uuid::Uuid::new_v4()})),
            "zero quantity" => http
                .post(self.shop_url("/order"))
                .json(&serde_json::json!({"donuts": [{"flavor": "glazed", "quantity": 0}]})),
            "malformed JSON" => http
                .post(self.shop_url("/order"))
                .header("content-type", "application/json")
                .body(r#"{"donuts": [{"flavor": "glazed", "quantity": 1}"#),
            _ => http.get(self.jokes_url("/no-such-page")),
        };
        self.call(&root, "failure", request, true, |_, body| error_text(body))
            .await;
    }

    async fn round(&mut self) {
        self.jokes_and_hellos().await;
        self.donut_order().await;
        if self.options.fail_every > 0 && self.round % self.options.fail_every == 0 {
            self.failure(self.round / self.options.fail_every - 1).await;
        }
        self.summary.rounds += 1;
    }
}

/// The `error` of a JSON error body, or the body itself.
fn error_text(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .unwrap_or_else(|| body.trim().to_owned())
}

fn describe_status(status: u16, body: &str, donuts: &[(Flavor, u64)]) -> String {
    match serde_json::from_str::<OrderStatus>(body) {
        Ok(order) if status == 200 => {
            let what = donuts
                .iter()
                .map(|(flavor, quantity)| format!("{quantity} {flavor}"))
                .collect::<Vec<_>>()
                .join(", ");
            let what = if what.is_empty() {
                String::new()
            } else {
                format!("{what}: ")
            };
            format!(
                "{what}{}, about {} s",
                order.state, order.estimated_delivery_time
            )
        }
        _ => error_text(body),
    }
}

/// One to three flavours, at most `max_donuts` donuts in all.
fn random_order(max_donuts: u64) -> Vec<(Flavor, u64)> {
    let mut rng = rand::rng();
    let mut left = max_donuts.max(1);
    let kinds = rng.random_range(1..=3).min(left);
    let mut flavors: Vec<Flavor> = Flavor::ALL
        .choose_multiple(&mut rng, usize::try_from(kinds).unwrap_or(1))
        .copied()
        .collect();
    flavors.sort_by_key(|f| Flavor::ALL.iter().position(|g| g == f));
    let mut order = Vec::new();
    let count = flavors.len() as u64;
    for (i, flavor) in flavors.into_iter().enumerate() {
        let still_to_come = count - i as u64 - 1;
        let most = left - still_to_come;
        let quantity = rng.random_range(1..=most.clamp(1, 2));
        left -= quantity;
        order.push((flavor, quantity));
    }
    order
}

/// Runs rounds until `options.count` is reached or `stop` resolves; reports every request.
pub async fn run(
    options: &Options,
    telemetry: &Telemetry,
    stop: impl Future<Output = ()>,
    report: impl FnMut(&Outcome),
) -> Summary {
    let mut driver = Driver {
        options,
        telemetry,
        report,
        summary: Summary::default(),
        round: 0,
    };
    let rounds = async {
        loop {
            if options.count.is_some_and(|n| driver.round >= n) {
                break;
            }
            if driver.round > 0 {
                tokio::time::sleep(Duration::from_millis(options.pause_ms)).await;
            }
            driver.round += 1;
            driver.round().await;
        }
    };
    tokio::select! {
        () = rounds => {}
        () = stop => {}
    }
    driver.summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory as _, Parser as _};

    #[test]
    fn command_line_is_well_formed() {
        Options::command().debug_assert();
        let options = Options::try_parse_from(["demo-client", "--count", "3"]).unwrap();
        assert_eq!(options.count, Some(3));
        assert_eq!(options.jokes_client_url, "http://127.0.0.1:5000");
        assert!(Options::try_parse_from(["demo-client", "--max-donuts", "0"]).is_err());
    }

    #[test]
    fn random_orders_respect_the_limit() {
        for max in 1..=5 {
            for _ in 0..200 {
                let order = random_order(max);
                let total: u64 = order.iter().map(|(_, q)| q).sum();
                assert!((1..=max).contains(&total), "{order:?} over {max}");
                assert!(order.iter().all(|(_, q)| *q >= 1));
                let mut flavors: Vec<_> = order.iter().map(|(f, _)| *f).collect();
                flavors.dedup();
                assert_eq!(flavors.len(), order.len(), "no flavour twice");
            }
        }
    }

    #[test]
    fn outcome_lines_are_short_and_say_what_happened() {
        let outcome = Outcome {
            round: 2,
            step: "failure",
            request: "POST /order".into(),
            status: Some(400),
            elapsed: Duration::from_millis(3),
            detail: "unknown flavor \"bacon\"".into(),
            expected_failure: true,
        };
        assert!(outcome.as_intended());
        let line = outcome.to_string();
        assert!(
            line.contains("400") && line.contains("on purpose"),
            "{line}"
        );
        let unanswered = Outcome {
            status: None,
            expected_failure: false,
            detail: "x".repeat(500),
            ..outcome
        };
        assert!(!unanswered.as_intended());
        assert!(unanswered.to_string().chars().count() < 160);
    }
}
