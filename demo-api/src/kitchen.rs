//! `kitchen` (port 8083): MicroDonuts' kitchen. `POST /kitchen/add_donut` queues a donut for the
//! fryer, `GET /kitchen/get_donuts` lists donuts (optionally of one order).
//!
//! One fryer works a FIFO queue: a donut it takes is `received` at once, `cooking` 0.4 s later and
//! `ready` 1 s after that. Each donut keeps the span context of the request that added it, so the
//! fryer's steps are spans of the order's trace: `fryer` (from the moment the donut was added)
//! with `fryer.queue`, `fryer.prepare` and `fryer.cook` under it. Orders whose donuts are all ready are pruned after
//! a while, and the kitchen never holds more than a fixed number of donuts.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use opentelemetry::trace::{Span as _, SpanContext, SpanKind, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::time::Instant;
use uuid::Uuid;

use crate::error::{AppError, JsonBody};
use crate::telemetry::{Telemetry, trace_requests};

/// How long a received donut waits before it is cooking.
pub const PREPARE_TIME: Duration = Duration::from_millis(400);
/// How long a donut cooks before it is ready.
pub const COOK_TIME: Duration = Duration::from_secs(1);

/// The six flavours on the menu.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flavor {
    /// Classic sugar glaze.
    Glazed,
    /// Rolled in cinnamon sugar.
    Cinnamon,
    /// Cake donut with cracked edges.
    OldFashioned,
    /// Chocolate icing.
    Chocolate,
    /// Pink icing with sprinkles.
    Sprinkles,
    /// Filled with jam, dusted with sugar.
    Jelly,
}

impl Flavor {
    /// Every flavour, in menu order.
    pub const ALL: [Self; 6] = [
        Self::Glazed,
        Self::Cinnamon,
        Self::OldFashioned,
        Self::Chocolate,
        Self::Sprinkles,
        Self::Jelly,
    ];

    /// The flavour's name in JSON and on the page.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Glazed => "glazed",
            Self::Cinnamon => "cinnamon",
            Self::OldFashioned => "old-fashioned",
            Self::Chocolate => "chocolate",
            Self::Sprinkles => "sprinkles",
            Self::Jelly => "jelly",
        }
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The message for a flavour not on the menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFlavor(pub String);

impl fmt::Display for UnknownFlavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let menu: Vec<&str> = Flavor::ALL.iter().map(|f| f.name()).collect();
        write!(
            f,
            "unknown flavor {:?}: choose one of {}",
            self.0,
            menu.join(", ")
        )
    }
}

impl std::error::Error for UnknownFlavor {}

impl FromStr for Flavor {
    type Err = UnknownFlavor;

    /// Accepts any case, and `_` or a space for `-` (`Old Fashioned`, `old_fashioned`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace(['_', ' '], "-");
        Self::ALL
            .into_iter()
            .find(|f| f.name() == wanted)
            .ok_or_else(|| UnknownFlavor(s.to_owned()))
    }
}

/// Where a donut is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DonutStatus {
    /// Waiting in the fryer's queue.
    NewOrder,
    /// Taken by the fryer.
    Received,
    /// In the oil.
    Cooking,
    /// Done.
    Ready,
}

impl DonutStatus {
    /// The name in JSON.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::NewOrder => "new_order",
            Self::Received => "received",
            Self::Cooking => "cooking",
            Self::Ready => "ready",
        }
    }

    /// Seconds this donut adds to its order's estimated delivery time, as in the original.
    #[must_use]
    pub fn estimate_seconds(self) -> u64 {
        match self {
            Self::NewOrder => 3,
            Self::Received => 2,
            Self::Cooking => 1,
            Self::Ready => 0,
        }
    }
}

/// A donut as the kitchen API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DonutView {
    /// The donut's own id.
    pub id: Uuid,
    /// Its flavour.
    pub flavor: Flavor,
    /// The order it belongs to.
    pub order_id: Uuid,
    /// Where it is.
    pub status: DonutStatus,
}

/// How much the kitchen remembers.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Most donuts held at once (queued, frying or ready); a full kitchen answers 503.
    pub max_donuts: usize,
    /// How long a finished order is kept after its last donut is ready.
    pub retention: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_donuts: 1_000,
            retention: Duration::from_secs(10 * 60),
        }
    }
}

#[derive(Debug)]
struct Donut {
    id: Uuid,
    flavor: Flavor,
    order_id: Uuid,
    status: DonutStatus,
    added_at: Instant,
    /// Wall-clock time of `added_at`, for the queue span's start.
    added_wall: SystemTime,
    ready_at: Option<Instant>,
    /// The span that added the donut: the fryer's spans are its children.
    parent: SpanContext,
}

impl Donut {
    fn view(&self) -> DonutView {
        DonutView {
            id: self.id,
            flavor: self.flavor,
            order_id: self.order_id,
            status: self.status,
        }
    }
}

/// The donuts the kitchen holds, oldest first.
#[derive(Debug, Default)]
struct Store {
    donuts: VecDeque<Donut>,
}

impl Store {
    /// Drops finished orders older than the retention, then, while the kitchen is full, the
    /// oldest finished orders. Returns how many donuts were dropped.
    fn prune(&mut self, now: Instant, limits: Limits, room_for: usize) -> usize {
        let before = self.donuts.len();
        // Per order: when its last donut was ready, or None while one is not.
        let mut orders: HashMap<Uuid, Option<Instant>> = HashMap::new();
        for donut in &self.donuts {
            let entry = orders.entry(donut.order_id).or_insert(donut.ready_at);
            *entry = match (*entry, donut.ready_at) {
                (Some(a), Some(b)) => Some(a.max(b)),
                _ => None,
            };
        }
        let mut finished: Vec<(Uuid, Instant)> = orders
            .into_iter()
            .filter_map(|(id, ready_at)| ready_at.map(|at| (id, at)))
            .collect();
        // Oldest finished first.
        finished.sort_by_key(|(_, ready_at)| *ready_at);
        for (order_id, ready_at) in finished {
            let expired = now.saturating_duration_since(ready_at) >= limits.retention;
            let crowded = self.donuts.len() + room_for > limits.max_donuts;
            if !expired && !crowded {
                break;
            }
            self.donuts.retain(|d| d.order_id != order_id);
        }
        before - self.donuts.len()
    }
}

/// Why a donut could not be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KitchenFull;

/// The kitchen: its store of donuts and the queue to its fryer. Cheap to clone.
#[derive(Clone)]
pub struct Kitchen {
    store: Arc<Mutex<Store>>,
    queue: mpsc::Sender<Uuid>,
    limits: Limits,
    telemetry: Telemetry,
}

impl fmt::Debug for Kitchen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kitchen")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

fn lock(store: &Mutex<Store>) -> MutexGuard<'_, Store> {
    // A panic while holding the lock cannot leave the store half-changed in a way that matters.
    store
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Kitchen {
    /// Opens the kitchen and lights the fryer (a task on the current Tokio runtime, which ends
    /// when the last clone of the kitchen is dropped).
    #[must_use]
    pub fn start(telemetry: Telemetry, limits: Limits) -> Self {
        let store = Arc::new(Mutex::new(Store::default()));
        let (queue, orders) = mpsc::channel(limits.max_donuts.max(1));
        tokio::spawn(fryer(Arc::clone(&store), orders, telemetry.clone()));
        Self {
            store,
            queue,
            limits,
            telemetry,
        }
    }

    /// Queues a donut for the fryer; its fryer spans will be children of `parent`.
    ///
    /// # Errors
    /// When the kitchen holds `max_donuts` donuts that are not all done.
    pub fn add(
        &self,
        flavor: Flavor,
        order_id: Uuid,
        parent: SpanContext,
    ) -> Result<DonutView, KitchenFull> {
        let now = Instant::now();
        let mut store = lock(&self.store);
        store.prune(now, self.limits, 1);
        if store.donuts.len() >= self.limits.max_donuts {
            return Err(KitchenFull);
        }
        let donut = Donut {
            id: Uuid::new_v4(),
            flavor,
            order_id,
            status: DonutStatus::NewOrder,
            added_at: now,
            added_wall: SystemTime::now(),
            ready_at: None,
            parent,
        };
        // The queue has room for max_donuts ids and the store holds fewer donuts than that.
        self.queue.try_send(donut.id).map_err(|_| KitchenFull)?;
        let view = donut.view();
        store.donuts.push_back(donut);
        Ok(view)
    }

    /// Every donut, oldest first, or only those of one order.
    #[must_use]
    pub fn donuts(&self, order_id: Option<Uuid>) -> Vec<DonutView> {
        let mut store = lock(&self.store);
        store.prune(Instant::now(), self.limits, 0);
        store
            .donuts
            .iter()
            .filter(|d| order_id.is_none_or(|id| d.order_id == id))
            .map(Donut::view)
            .collect()
    }

    /// How many donuts the kitchen holds.
    #[must_use]
    pub fn len(&self) -> usize {
        lock(&self.store).donuts.len()
    }

    /// Whether the kitchen holds no donut.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn set_status(store: &Mutex<Store>, id: Uuid, status: DonutStatus) {
    let mut store = lock(store);
    if let Some(donut) = store.donuts.iter_mut().find(|d| d.id == id) {
        donut.status = status;
        if status == DonutStatus::Ready {
            donut.ready_at = Some(Instant::now());
        }
    }
}

/// The fryer: one donut at a time, in order.
async fn fryer(store: Arc<Mutex<Store>>, mut orders: mpsc::Receiver<Uuid>, telemetry: Telemetry) {
    while let Some(id) = orders.recv().await {
        let taken = {
            let mut store = lock(&store);
            store.donuts.iter_mut().find(|d| d.id == id).map(|donut| {
                donut.status = DonutStatus::Received;
                (
                    donut.flavor,
                    donut.order_id,
                    donut.parent.clone(),
                    donut.added_at.elapsed(),
                    donut.added_wall,
                )
            })
        };
        let Some((flavor, order_id, parent, waited, added_wall)) = taken else {
            continue;
        };
        let tracer = telemetry.tracer();
        let parent = Context::new().with_remote_span_context(parent);
        let fry = tracer
            .span_builder("fryer")
            .with_kind(SpanKind::Internal)
            .with_attributes([
                KeyValue::new("donut.id", id.to_string()),
                KeyValue::new("donut.flavor", flavor.name()),
                KeyValue::new("order.id", order_id.to_string()),
                KeyValue::new(
                    "kitchen.queue_wait_ms",
                    i64::try_from(waited.as_millis()).unwrap_or(i64::MAX),
                ),
            ])
            .with_start_time(added_wall)
            .start_with_context(tracer, &parent);
        let fry = parent.with_span(fry);

        // The wait in the fryer's queue, from when the donut was added until now.
        let mut step = tracer
            .span_builder("fryer.queue")
            .with_kind(SpanKind::Internal)
            .with_attributes([KeyValue::new("donut.status", DonutStatus::NewOrder.name())])
            .with_start_time(added_wall)
            .start_with_context(tracer, &fry);
        step.end();

        let mut step = tracer
            .span_builder("fryer.prepare")
            .with_kind(SpanKind::Internal)
            .with_attributes([KeyValue::new("donut.status", DonutStatus::Received.name())])
            .start_with_context(tracer, &fry);
        tokio::time::sleep(PREPARE_TIME).await;
        step.end();
        set_status(&store, id, DonutStatus::Cooking);

        let mut step = tracer
            .span_builder("fryer.cook")
            .with_kind(SpanKind::Internal)
            .with_attributes([KeyValue::new("donut.status", DonutStatus::Cooking.name())])
            .start_with_context(tracer, &fry);
        tokio::time::sleep(COOK_TIME).await;
        step.end();
        set_status(&store, id, DonutStatus::Ready);
        fry.span()
            .add_event("ready", vec![KeyValue::new("donut.flavor", flavor.name())]);
        fry.span().end();
    }
}

/// The body of `POST /kitchen/add_donut`.
#[derive(Debug, Deserialize)]
struct AddDonut {
    flavor: String,
    order_id: String,
}

/// The query of `GET /kitchen/get_donuts`.
#[derive(Debug, Deserialize)]
struct DonutsQuery {
    order_id: Option<String>,
}

/// Parses an order id, or says what is wrong with it.
///
/// # Errors
/// When `value` is not a UUID.
pub fn parse_order_id(value: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(value.trim())
        .map_err(|_| AppError::bad_request(format!("order_id {value:?} is not a UUID")))
}

/// The kitchen's routes, traced.
pub fn app(kitchen: Kitchen) -> Router {
    let telemetry = kitchen.telemetry.clone();
    Router::new()
        .route("/kitchen/add_donut", post(add_donut))
        .route("/kitchen/get_donuts", get(get_donuts))
        .with_state(kitchen)
        .layer(axum::middleware::from_fn_with_state(
            telemetry,
            trace_requests,
        ))
}

async fn add_donut(
    State(kitchen): State<Kitchen>,
    JsonBody(body): JsonBody<AddDonut>,
) -> Result<Json<DonutView>, AppError> {
    kitchen.telemetry.count_request("kitchen add donut");
    let flavor: Flavor = body
        .flavor
        .parse()
        .map_err(|e: UnknownFlavor| AppError::bad_request(e.to_string()))?;
    let order_id = parse_order_id(&body.order_id)?;
    let parent = Context::current().span().span_context().clone();
    let donut = kitchen
        .add(flavor, order_id, parent)
        .map_err(|KitchenFull| {
            AppError::unavailable(format!(
                "the kitchen is full ({} donuts in the works); try again in a few seconds",
                kitchen.limits.max_donuts
            ))
        })?;
    Ok(Json(donut))
}

async fn get_donuts(
    State(kitchen): State<Kitchen>,
    query: Result<Query<DonutsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<DonutView>>, AppError> {
    kitchen.telemetry.count_request("kitchen get donuts");
    let Query(query) = query.map_err(|e| AppError::bad_request(e.body_text()))?;
    let order_id = query.order_id.as_deref().map(parse_order_id).transpose()?;
    Ok(Json(kitchen.donuts(order_id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{Body, to_bytes};
    use http::{Request, StatusCode};
    use tower::ServiceExt as _;

    fn kitchen(limits: Limits) -> Kitchen {
        Kitchen::start(Telemetry::disabled("kitchen"), limits)
    }

    fn statuses(kitchen: &Kitchen) -> Vec<DonutStatus> {
        kitchen.donuts(None).iter().map(|d| d.status).collect()
    }

    #[test]
    fn flavors_parse_leniently_and_reject_unknown_ones() {
        assert_eq!("Old Fashioned".parse(), Ok(Flavor::OldFashioned));
        assert_eq!("old_fashioned".parse(), Ok(Flavor::OldFashioned));
        assert_eq!(" GLAZED ".parse(), Ok(Flavor::Glazed));
        let err = "bacon".parse::<Flavor>().unwrap_err().to_string();
        assert!(err.contains("\"bacon\"") && err.contains("jelly"), "{err}");
        for flavor in Flavor::ALL {
            assert_eq!(flavor.name().parse(), Ok(flavor));
            assert_eq!(
                serde_json::to_value(flavor).unwrap(),
                serde_json::json!(flavor.name())
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn fryer_moves_donuts_through_the_states_in_order() {
        let kitchen = kitchen(Limits::default());
        let order = Uuid::new_v4();
        kitchen
            .add(Flavor::Glazed, order, SpanContext::empty_context())
            .unwrap();
        kitchen
            .add(Flavor::Jelly, order, SpanContext::empty_context())
            .unwrap();
        use DonutStatus::{Cooking, NewOrder, Ready, Received};
        assert_eq!(statuses(&kitchen), [NewOrder, NewOrder]);

        // The fryer takes the first donut at once; the second waits its turn.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(statuses(&kitchen), [Received, NewOrder]);
        tokio::time::sleep(Duration::from_millis(400)).await; // t = 0.5 s
        assert_eq!(statuses(&kitchen), [Cooking, NewOrder]);
        tokio::time::sleep(Duration::from_millis(1_000)).await; // t = 1.5 s
        assert_eq!(statuses(&kitchen), [Ready, Received]);
        tokio::time::sleep(Duration::from_millis(400)).await; // t = 1.9 s
        assert_eq!(statuses(&kitchen), [Ready, Cooking]);
        tokio::time::sleep(Duration::from_millis(1_000)).await; // t = 2.9 s
        assert_eq!(statuses(&kitchen), [Ready, Ready]);
    }

    #[tokio::test(start_paused = true)]
    async fn finished_orders_are_forgotten_after_the_retention() {
        let limits = Limits {
            max_donuts: 100,
            retention: Duration::from_secs(60),
        };
        let kitchen = kitchen(limits);
        let order = Uuid::new_v4();
        kitchen
            .add(Flavor::Cinnamon, order, SpanContext::empty_context())
            .unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(kitchen.donuts(Some(order)).len(), 1);
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert_eq!(
            kitchen.donuts(Some(order)).len(),
            1,
            "kept within retention"
        );
        tokio::time::sleep(Duration::from_secs(31)).await;
        assert!(kitchen.donuts(Some(order)).is_empty(), "forgotten after it");
    }

    #[tokio::test(start_paused = true)]
    async fn memory_stays_bounded_under_a_stream_of_orders() {
        let limits = Limits {
            max_donuts: 5,
            retention: Duration::from_secs(3_600),
        };
        let kitchen = kitchen(limits);
        let mut refused = 0;
        for _ in 0..50 {
            let order = Uuid::new_v4();
            for _ in 0..2 {
                if kitchen
                    .add(Flavor::Sprinkles, order, SpanContext::empty_context())
                    .is_err()
                {
                    refused += 1;
                }
                assert!(kitchen.len() <= limits.max_donuts);
            }
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        // With 3 s between orders of two donuts (2.8 s of frying) nothing is refused: finished
        // orders make room even though their retention has not run out.
        assert_eq!(refused, 0);
        assert!(kitchen.len() <= limits.max_donuts);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_kitchen_refuses_until_donuts_are_ready() {
        let limits = Limits {
            max_donuts: 2,
            retention: Duration::from_secs(3_600),
        };
        let kitchen = kitchen(limits);
        let order = Uuid::new_v4();
        for _ in 0..2 {
            kitchen
                .add(Flavor::Glazed, order, SpanContext::empty_context())
                .unwrap();
        }
        assert_eq!(
            kitchen.add(Flavor::Glazed, Uuid::new_v4(), SpanContext::empty_context()),
            Err(KitchenFull)
        );
        tokio::time::sleep(Duration::from_secs(3)).await;
        kitchen
            .add(Flavor::Glazed, Uuid::new_v4(), SpanContext::empty_context())
            .unwrap();
        assert_eq!(kitchen.len(), 1, "the finished order made room");
    }

    async fn call(router: Router, request: Request<Body>) -> (StatusCode, serde_json::Value) {
        let response = router.oneshot(request).await.unwrap();
        let status = response.status();
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    fn add_request(body: &str) -> Request<Body> {
        Request::post("/kitchen/add_donut")
            .header("content-type", "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap()
    }

    #[tokio::test]
    async fn add_and_list_through_the_api() {
        let router = app(kitchen(Limits::default()));
        let order = Uuid::new_v4();
        let (status, donut) = call(
            router.clone(),
            add_request(&format!(r#"{{"flavor":"chocolate","order_id":"{order}"}}"#)),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{donut}");
        assert_eq!(donut["flavor"], "chocolate");
        assert_eq!(donut["order_id"], order.to_string());

        let (status, list) = call(
            router.clone(),
            Request::get(format!("/kitchen/get_donuts?order_id={order}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list.as_array().unwrap().len(), 1);
        let (_, other) = call(
            router,
            Request::get(format!("/kitchen/get_donuts?order_id={}", Uuid::new_v4()))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(other, serde_json::json!([]));
    }

    #[tokio::test]
    async fn bad_input_is_a_4xx_with_a_message() {
        let router = app(kitchen(Limits::default()));
        let order = Uuid::new_v4();
        for (body, expected, needle) in [
            (
                format!(r#"{{"flavor":"bacon","order_id":"{order}"}}"#),
                StatusCode::BAD_REQUEST,
                "unknown flavor",
            ),
            (
                r#"{"flavor":"glazed","order_id":"42"}"#.to_owned(),
                StatusCode::BAD_REQUEST,
                "not a UUID",
            ),
            (
                r#"{"flavor":"glazed""#.to_owned(),
                StatusCode::BAD_REQUEST,
                "malformed JSON",
            ),
            (
                r#"{"flavor":"glazed"}"#.to_owned(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "order_id",
            ),
        ] {
            let (status, answer) = call(router.clone(), add_request(&body)).await;
            assert_eq!(status, expected, "{body} -> {answer}");
            let message = answer["error"].as_str().unwrap();
            assert!(message.contains(needle), "{body} -> {message}");
        }
        let (status, answer) = call(
            router,
            Request::get("/kitchen/get_donuts?order_id=nope")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(answer["error"].as_str().unwrap().contains("not a UUID"));
    }
}
