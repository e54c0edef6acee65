//! `donut-shop` (port 8082): MicroDonuts' front. `GET /` is the shop's page, `POST /order` takes an
//! order and asks the kitchen for every donut, `POST /status` tells how the order is doing.
//!
//! The order and status handlers each open a hand-made span (`order`, `status`) under the server
//! span, as the original's `root_span` and `status_span`; the kitchen calls are its children.

use axum::extract::State;
use axum::response::Html;
use axum::routing::{get, post};
use axum::{Json, Router};
use http::StatusCode;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AppError, JsonBody};
use crate::kitchen::{DonutStatus, DonutView, Flavor, UnknownFlavor, parse_order_id};
use crate::telemetry::{Telemetry, error_chain, record_exception, trace_requests};

/// The shop's page: our own HTML, CSS and SVG drawings, nothing fetched from elsewhere.
pub const PAGE: &str = include_str!("donut_shop.html");

/// Most donuts of one flavour in one order line.
pub const MAX_PER_LINE: i64 = 12;
/// Most donuts in one order.
pub const MAX_PER_ORDER: i64 = 24;

/// One line of an order.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct OrderLine {
    /// A flavour's name, such as `glazed`.
    #[serde(alias = "flavour")]
    pub flavor: String,
    /// How many, 1 to [`MAX_PER_LINE`].
    pub quantity: i64,
}

/// The body of `POST /order`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct OrderRequest {
    /// What to fry.
    pub donuts: Vec<OrderLine>,
}

/// The body of `POST /status`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct StatusRequest {
    /// The id `POST /order` answered.
    pub order_id: String,
}

/// How an order is doing: the answer of both `POST /order` and `POST /status`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct OrderStatus {
    /// The order's id.
    pub order_id: Uuid,
    /// Seconds until every donut is ready, by the original's rule.
    pub estimated_delivery_time: u64,
    /// The state of the order's last donut.
    pub state: DonutStatus,
}

impl OrderStatus {
    /// Sums 3 s per new donut, 2 per received, 1 per cooking, 0 per ready; the state is the last
    /// donut's. `None` for an order with no donuts.
    #[must_use]
    pub fn of(order_id: Uuid, donuts: &[DonutView]) -> Option<Self> {
        let last = donuts.last()?;
        Some(Self {
            order_id,
            estimated_delivery_time: donuts.iter().map(|d| d.status.estimate_seconds()).sum(),
            state: last.status,
        })
    }
}

/// Checks an order; answers the donuts to fry, one entry per unit.
///
/// # Errors
/// A 400 naming the problem: no donuts, an unknown flavour, a zero, negative or huge quantity.
pub fn validate(order: &OrderRequest) -> Result<Vec<Flavor>, AppError> {
    if order.donuts.is_empty() {
        return Err(AppError::bad_request(
            "an order needs at least one donut: {\"donuts\":[{\"flavor\":\"glazed\",\"quantity\":1}]}",
        ));
    }
    let mut total: i64 = 0;
    let mut units = Vec::new();
    for line in &order.donuts {
        let flavor: Flavor = line
            .flavor
            .parse()
            .map_err(|e: UnknownFlavor| AppError::bad_request(e.to_string()))?;
        if !(1..=MAX_PER_LINE).contains(&line.quantity) {
            return Err(AppError::bad_request(format!(
                "quantity of {flavor} must be between 1 and {MAX_PER_LINE}, got {}",
                line.quantity
            )));
        }
        total += line.quantity;
        if total > MAX_PER_ORDER {
            return Err(AppError::bad_request(format!(
                "an order holds at most {MAX_PER_ORDER} donuts"
            )));
        }
        units.extend(std::iter::repeat_n(
            flavor,
            usize::try_from(line.quantity).unwrap_or(0),
        ));
    }
    Ok(units)
}

#[derive(Clone)]
struct AppState {
    telemetry: Telemetry,
    kitchen_url: String,
}

/// The shop's routes, traced; `kitchen_url` is the kitchen's base URL.
pub fn app(telemetry: Telemetry, kitchen_url: impl Into<String>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/order", post(order))
        .route("/status", post(status))
        .with_state(AppState {
            telemetry: telemetry.clone(),
            kitchen_url: kitchen_url.into().trim_end_matches('/').to_owned(),
        })
        .layer(axum::middleware::from_fn_with_state(
            telemetry,
            trace_requests,
        ))
}

async fn page(State(state): State<AppState>) -> Html<&'static str> {
    state.telemetry.count_request("donut shop page");
    Html(PAGE)
}

/// Starts a hand-made span under the current (server) span.
fn start_span(telemetry: &Telemetry, name: &'static str, order_id: Uuid) -> Context {
    let tracer = telemetry.tracer();
    let span = tracer
        .span_builder(name)
        .with_kind(SpanKind::Internal)
        .with_attributes([KeyValue::new("order.id", order_id.to_string())])
        .start_with_context(tracer, &Context::current());
    Context::current().with_span(span)
}

/// Ends a hand-made span, marking it failed when the handler failed.
fn finish<T>(cx: &Context, result: Result<T, AppError>) -> Result<T, AppError> {
    let span = cx.span();
    if let Err(err) = &result {
        if err.status.is_server_error() {
            record_exception(&span, "AppError", &err.message);
            span.set_status(Status::error(err.message.clone()));
        }
    }
    span.end();
    result
}

impl AppState {
    /// Asks the kitchen for the order's donuts, in a client span under `cx`.
    async fn order_status(&self, cx: &Context, order_id: Uuid) -> Result<OrderStatus, AppError> {
        let url = format!("{}/kitchen/get_donuts", self.kitchen_url);
        let request = self
            .telemetry
            .http()
            .get(&url)
            .query(&[("order_id", order_id.to_string())]);
        let response = self
            .telemetry
            .send_with_context(cx, request)
            .await
            .map_err(|e| kitchen_unreachable(&url, &e))?;
        if !response.status().is_success() {
            return Err(kitchen_failed(response).await);
        }
        let donuts: Vec<DonutView> = response.json().await.map_err(|e| {
            AppError::bad_gateway(format!("the kitchen's answer is not a list of donuts: {e}"))
        })?;
        let status = OrderStatus::of(order_id, &donuts).ok_or_else(|| {
            AppError::not_found(format!(
                "unknown order id {order_id}: no such order (finished orders are forgotten after a while)"
            ))
        })?;
        cx.span().set_attributes([
            KeyValue::new("order.state", status.state.name()),
            KeyValue::new(
                "order.estimated_delivery_time",
                i64::try_from(status.estimated_delivery_time).unwrap_or(i64::MAX),
            ),
        ]);
        Ok(status)
    }
}

fn kitchen_unreachable(url: &str, err: &reqwest::Error) -> AppError {
    AppError::bad_gateway(format!(
        "cannot reach the kitchen at {url}: {}",
        error_chain(err)
    ))
}

/// The kitchen's error, passed on: a full kitchen stays a 503, anything else is a 502.
async fn kitchen_failed(response: reqwest::Response) -> AppError {
    let status = response.status();
    let message = response
        .json::<serde_json::Value>()
        .await
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let code = if status == StatusCode::SERVICE_UNAVAILABLE {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::BAD_GATEWAY
    };
    AppError::new(code, format!("the kitchen answered {status}: {message}"))
}

async fn order(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<OrderRequest>,
) -> Result<Json<OrderStatus>, AppError> {
    state.telemetry.count_request("order");
    let units = validate(&request)?;
    let order_id = Uuid::new_v4();
    let cx = start_span(&state.telemetry, "order", order_id);
    cx.span().set_attribute(KeyValue::new(
        "order.donut_count",
        i64::try_from(units.len()).unwrap_or(i64::MAX),
    ));
    let result = async {
        let url = format!("{}/kitchen/add_donut", state.kitchen_url);
        for flavor in units {
            let request = state.telemetry.http().post(&url).json(&serde_json::json!({
                "flavor": flavor,
                "order_id": order_id,
            }));
            let response = state
                .telemetry
                .send_with_context(&cx, request)
                .await
                .map_err(|e| kitchen_unreachable(&url, &e))?;
            if !response.status().is_success() {
                return Err(kitchen_failed(response).await);
            }
        }
        state.order_status(&cx, order_id).await
    }
    .await;
    finish(&cx, result).map(Json)
}

async fn status(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<StatusRequest>,
) -> Result<Json<OrderStatus>, AppError> {
    state.telemetry.count_request("status");
    let order_id = parse_order_id(&request.order_id)?;
    let cx = start_span(&state.telemetry, "status", order_id);
    let result = state.order_status(&cx, order_id).await;
    finish(&cx, result).map(Json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kitchen::{Kitchen, Limits};
    use axum::body::{Body, to_bytes};
    use http::Request;
    use std::net::SocketAddr;
    use tower::ServiceExt as _;

    async fn kitchen_server() -> (SocketAddr, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let kitchen = Kitchen::start(Telemetry::disabled("kitchen"), Limits::default());
        let server = tokio::spawn(async move {
            axum::serve(listener, crate::kitchen::app(kitchen))
                .await
                .unwrap();
        });
        (addr, server)
    }

    fn dead_url() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    }

    async fn post(router: Router, path: &str, body: &str) -> (StatusCode, serde_json::Value) {
        let response = router
            .oneshot(
                Request::post(path)
                    .header("content-type", "application/json")
                    .body(Body::from(body.to_owned()))
                    .unwrap(),
            )
            .await
            .unwrap();
        let status = response.status();
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        let value = serde_json::from_slice(&body)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&body).into()));
        (status, value)
    }

    #[tokio::test]
    async fn serves_the_page_with_the_six_flavours_and_no_outside_assets() {
        let response = app(Telemetry::disabled("donut-shop"), dead_url())
            .oneshot(Request::get("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        let page = String::from_utf8(body.to_vec()).unwrap();
        assert!(page.contains("Donuts as a Service"));
        for flavor in Flavor::ALL {
            assert!(
                page.contains(&format!("data-flavor=\"{flavor}\"")),
                "{flavor}"
            );
        }
        // Nothing is fetched from elsewhere: no absolute URLs, no external images or scripts.
        assert!(!page.contains("http://") && !page.contains("https://"));
        assert!(!page.contains("<img") && !page.contains("src="));
    }

    #[tokio::test]
    async fn bad_orders_are_400_with_a_message_and_never_reach_the_kitchen() {
        // The kitchen URL is dead: if validation let an order through, the answer would be 502.
        let router = app(Telemetry::disabled("donut-shop"), dead_url());
        for (body, needle) in [
            (
                r#"{"donuts":[{"flavor":"bacon","quantity":1}]}"#,
                "unknown flavor",
            ),
            (
                r#"{"donuts":[{"flavor":"glazed","quantity":0}]}"#,
                "between 1 and 12, got 0",
            ),
            (
                r#"{"donuts":[{"flavor":"glazed","quantity":-3}]}"#,
                "got -3",
            ),
            (
                r#"{"donuts":[{"flavor":"glazed","quantity":1000000}]}"#,
                "got 1000000",
            ),
            (
                r#"{"donuts":[{"flavor":"glazed","quantity":12},{"flavor":"jelly","quantity":12},{"flavor":"cinnamon","quantity":1}]}"#,
                "at most 24",
            ),
            (r#"{"donuts":[]}"#, "at least one donut"),
            (
                r#"{"donuts":[{"flavor":"glazed","quantity":1}"#,
                "malformed JSON",
            ),
            ("flavor=glazed", "malformed JSON"),
        ] {
            let (status, answer) = post(router.clone(), "/order", body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {answer}");
            let message = answer["error"].as_str().unwrap();
            assert!(message.contains(needle), "{body} -> {message}");
        }
        let (status, answer) = post(router.clone(), "/order", r#"{"donut":[]}"#).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert!(answer["error"].as_str().unwrap().contains("donuts"));

        // Without the JSON content type: 415 with a message.
        let response = router
            .oneshot(
                Request::post("/order")
                    .body(Body::from(r#"{"donuts":[]}"#))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }

    #[tokio::test]
    async fn status_of_a_malformed_or_unknown_order() {
        let (addr, server) = kitchen_server().await;
        let router = app(Telemetry::disabled("donut-shop"), format!("http://{addr}"));
        let (status, answer) = post(router.clone(), "/status", r#"{"order_id":"x"}"#).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(answer["error"].as_str().unwrap().contains("not a UUID"));
        let unknown = Uuid::new_v4();
        let (status, answer) =
            post(router, "/status", &format!(r#"{{"order_id":"{unknown}"}}"#)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .contains("unknown order id")
        );
        server.abort();
    }

    #[tokio::test]
    async fn kitchen_down_is_a_bad_gateway() {
        let router = app(Telemetry::disabled("donut-shop"), dead_url());
        let (status, answer) = post(
            router,
            "/order",
            r#"{"donuts":[{"flavor":"glazed","quantity":1}]}"#,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .contains("cannot reach the kitchen")
        );
    }

    #[tokio::test]
    async fn an_order_is_fried_until_ready() {
        let (addr, server) = kitchen_server().await;
        let router = app(Telemetry::disabled("donut-shop"), format!("http://{addr}"));
        let (status, answer) = post(
            router.clone(),
            "/order",
            r#"{"donuts":[{"flavor":"glazed","quantity":1},{"flavor":"Old Fashioned","quantity":1}]}"#,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let placed: OrderStatus = serde_json::from_value(answer).unwrap();
        assert!(placed.estimated_delivery_time >= 4, "{placed:?}");
        assert_ne!(placed.state, DonutStatus::Ready);

        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let body = format!(r#"{{"order_id":"{}"}}"#, placed.order_id);
        loop {
            let (status, answer) = post(router.clone(), "/status", &body).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            let now: OrderStatus = serde_json::from_value(answer).unwrap();
            if now.state == DonutStatus::Ready {
                assert_eq!(now.estimated_delivery_time, 0);
                break;
            }
            assert!(std::time::Instant::now() < deadline, "never ready: {now:?}");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        server.abort();
    }

    #[test]
    fn estimate_follows_the_original_rule() {
        let order_id = Uuid::new_v4();
        let donut = |status| DonutView {
            id: Uuid::new_v4(),
            flavor: Flavor::Glazed,
            order_id,
            status,
        };
        let donuts = [
            donut(DonutStatus::Ready),
            donut(DonutStatus::Cooking),
            donut(DonutStatus::Received),
            donut(DonutStatus::NewOrder),
        ];
        assert_eq!(
            OrderStatus::of(order_id, &donuts),
            Some(OrderStatus {
                order_id,
                estimated_delivery_time: 6,
                state: DonutStatus::NewOrder
            })
        );
        assert_eq!(OrderStatus::of(order_id, &[]), None);
    }
}
