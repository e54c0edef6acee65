//! The analysis views driven as a user would: a trace's statistics, two traces compared, and
//! the service map (fixed ids and times; snapshots beside the other app tests').

use insta::assert_snapshot;

use super::tests::{app_with, draw, list, trace};
use super::*;
use crate::analysis::{DiffStatus, StatColumn};
use crate::model::StatusCode;
use crate::store::Store;
use crate::store::tests::{batch, span};
use crate::tui::views::{CompareView, ServiceMapView, TraceList, TraceStats, TraceView};

const T0: u64 = 1_700_000_000_000_000_000;
const MS: u64 = 1_000_000;

/// Trace A (0x1111): web `GET /cart` → api `GET /items` → db `SELECT item` ×3 and cache `GET`.
/// Trace B (0x2222), a second later: the same but `SELECT item` ×5 (one failing), no cache,
/// and an api `render`. Trace 0x3333, a second after: worker `tick` → db `SELECT job`.
fn cart_store() -> Store {
    let mut store = Store::new(1000);
    let at = |t: u64, ms: u64| T0 + t * 1_000 * MS + ms * MS;
    // A
    store.ingest(batch(
        "web",
        vec![span(0x1111, 1, 0, at(0, 0), at(0, 100), "GET /cart")],
    ));
    store.ingest(batch(
        "api",
        vec![span(0x1111, 2, 1, at(0, 5), at(0, 95), "GET /items")],
    ));
    store.ingest(batch(
        "db",
        (0..3)
            .map(|i| {
                let s = 10 + 10 * i;
                span(0x1111, 10 + i, 2, at(0, s), at(0, s + 10), "SELECT item")
            })
            .collect(),
    ));
    store.ingest(batch(
        "cache",
        vec![span(0x1111, 20, 2, at(0, 40), at(0, 45), "GET")],
    ));
    // B
    store.ingest(batch(
        "web",
        vec![span(0x2222, 1, 0, at(1, 0), at(1, 150), "GET /cart")],
    ));
    store.ingest(batch(
        "api",
        vec![
            span(0x2222, 2, 1, at(1, 5), at(1, 145), "GET /items"),
            span(0x2222, 3, 2, at(1, 100), at(1, 130), "render"),
        ],
    ));
    store.ingest(batch(
        "db",
        (0..5)
            .map(|i| {
                let s = 10 + 12 * i;
                let mut q = span(0x2222, 10 + i, 2, at(1, s), at(1, s + 12), "SELECT item");
                if i == 3 {
                    q.status = StatusCode::Error;
                }
                q
            })
            .collect(),
    ));
    // The worker's.
    store.ingest(batch(
        "worker",
        vec![span(0x3333, 1, 0, at(2, 0), at(2, 20), "tick")],
    ));
    store.ingest(batch(
        "db",
        vec![span(0x3333, 2, 1, at(2, 5), at(2, 15), "SELECT job")],
    ));
    store
}

/// Selects the trace with this id in the trace list.
fn select(app: &mut App, id: u128) {
    app.update(Action::Top);
    for _ in 0..list(app).rows.len() {
        let r = list(app).rows[list(app).cursor.selected];
        if app.store.lock().trace(r).unwrap().id == id {
            return;
        }
        app.update(Action::Down);
    }
    panic!("trace {id:x} not listed");
}

fn stats(app: &App) -> &TraceStats {
    app.view_as::<TraceStats>()
        .expect("the statistics are shown")
}

/// The statistics' rows as span names.
fn stat_names(app: &App) -> Vec<String> {
    let s = stats(app);
    s.rows.iter().map(|r| s.text(r.name).to_owned()).collect()
}

/// The span names of the rows a trace view shows.
fn visible_names(app: &App) -> Vec<String> {
    let view = trace(app);
    let store = app.store.lock();
    let t = store.trace(view.trace).unwrap();
    view.visible
        .iter()
        .map(|&r| {
            let s = &t.spans()[view.tree.rows[r as usize].span as usize];
            store.str(s.name).to_owned()
        })
        .collect()
}

fn selected_name(app: &App) -> String {
    let view = trace(app);
    let store = app.store.lock();
    let t = store.trace(view.trace).unwrap();
    store
        .str(t.spans()[view.selected_span().unwrap()].name)
        .to_owned()
}

#[test]
fn statistics_sort_and_open_the_group_s_spans_in_the_trace() {
    let mut app = app_with(cart_store(), (110, 12));
    select(&mut app, 0x2222);
    app.update(Action::Open);
    app.update(Action::ShowStats);
    assert_eq!(stats(&app).sort, StatColumn::SelfTime);
    // Self times: SELECT item 5×12 = 60ms, GET /items 140 − 60 − 30 = 50ms, render 30ms,
    // GET /cart 150 − 140 = 10ms.
    assert_eq!(
        stat_names(&app),
        ["SELECT item", "GET /items", "render", "GET /cart"]
    );
    let screen = draw(&app);
    assert!(
        screen.contains(
            "statistics · trace 00000000000000000000000000002222 · 4 groups · sort: self ▼"
        ),
        "{screen}"
    );
    assert!(screen.contains("SELF ▼"), "{screen}");
    assert_snapshot!("trace_stats", screen);

    app.update(Action::CycleSort);
    assert_eq!(stats(&app).sort, StatColumn::Total);
    assert_eq!(
        stat_names(&app),
        ["GET /cart", "GET /items", "SELECT item", "render"]
    );
    let screen = draw(&app);
    assert!(screen.contains("TOTAL ▼"), "{screen}");
    assert!(!screen.contains("SELF ▼"), "{screen}");
    app.update(Action::Reverse);
    assert_eq!(
        stat_names(&app),
        ["render", "SELECT item", "GET /items", "GET /cart"]
    );
    assert!(draw(&app).contains("sort: total ▲"));

    // Enter on SELECT item: the trace, filtered to those five spans and their ancestors.
    app.update(Action::Down);
    app.update(Action::Open);
    assert_eq!(
        visible_names(&app),
        [
            "GET /cart",
            "GET /items",
            "SELECT item",
            "SELECT item",
            "SELECT item",
            "SELECT item",
            "SELECT item"
        ]
    );
    assert_eq!(
        trace(&app).find.as_deref(),
        Some(r#"service="db" and name="SELECT item""#)
    );
    assert_eq!(selected_name(&app), "SELECT item");
    let first = trace(&app).cursor.selected;
    app.update(Action::FindNext);
    assert_eq!(trace(&app).cursor.selected, first + 1, "n walks the group");
    // Esc clears the filter, then goes back to the statistics, then to the trace.
    app.update(Action::Back);
    app.update(Action::Back);
    assert!(app.view_as::<TraceStats>().is_some());
    app.update(Action::Back);
    assert!(app.view_as::<TraceView>().is_some());
}

#[test]
fn statistics_follow_the_trace_and_close_when_it_is_evicted() {
    let mut app = app_with(cart_store(), (110, 12));
    select(&mut app, 0x1111);
    app.update(Action::Open);
    app.update(Action::ShowStats);
    assert_eq!(stats(&app).rows.len(), 4);
    app.store.lock().ingest(batch(
        "cache",
        vec![span(0x1111, 30, 2, T0 + 50 * MS, T0 + 60 * MS, "SET")],
    ));
    app.refresh(Instant::now());
    assert_eq!(
        stats(&app).rows.len(),
        5,
        "rebuilt on the trace's new version"
    );
    let filler = (0..1000)
        .map(|i| span(0x9999, i + 1, 0, T0, T0 + 1, "filler"))
        .collect();
    app.store.lock().ingest(batch("z", filler));
    app.refresh(Instant::now());
    assert!(app.view_as::<TraceStats>().is_none());
    assert!(app.cx.notice.is_some());
}

#[test]
fn compare_needs_a_mark_then_shows_what_b_added_removed_and_changed() {
    let mut app = app_with(cart_store(), (110, 12));
    select(&mut app, 0x2222);
    app.update(Action::Compare);
    assert!(
        app.cx.notice.as_deref().unwrap().contains("press m"),
        "{:?}",
        app.cx.notice
    );
    assert!(app.view_as::<TraceList>().is_some());

    // Mark A on the list, open B, compare from the trace view.
    select(&mut app, 0x1111);
    app.update(Action::MarkCompare);
    assert_eq!(app.cx.marked, Some(0x1111));
    assert_eq!(
        app.cx.notice.as_deref(),
        Some("marked trace 00000000000000000000000000001111 for compare; open another and press C")
    );
    select(&mut app, 0x2222);
    app.update(Action::Open);
    app.update(Action::Compare);
    let view = app.view_as::<CompareView>().expect("the comparison");
    let nodes: Vec<(String, u32, u32, DiffStatus)> = view
        .nodes
        .iter()
        .map(|n| (view.text(n.name).to_owned(), n.count_a, n.count_b, n.status))
        .collect();
    let n = |name: &str, a, b, st| (name.to_owned(), a, b, st);
    assert_eq!(
        nodes,
        [
            n("GET /cart", 1, 1, DiffStatus::Same),
            n("GET /items", 1, 1, DiffStatus::Same),
            n("SELECT item", 3, 5, DiffStatus::Changed),
            n("GET", 1, 0, DiffStatus::Removed),
            n("render", 0, 1, DiffStatus::Added),
        ]
    );
    let screen = draw(&app);
    assert!(
        screen.contains(
            "compare · A 1111 · 6 spans · 100.00ms → B 2222 · 8 spans · 150.00ms · Δ +50.00ms"
        ),
        "{screen}"
    );
    assert!(screen.contains("3→5"), "{screen}");
    assert_snapshot!("compare", screen);

    // Enter on the removed cache GET opens A, filtered to it; on render, B.
    app.update(Action::Down);
    app.update(Action::Down);
    app.update(Action::Down);
    app.update(Action::Open);
    assert_eq!(trace(&app).trace_id, 0x1111);
    assert_eq!(selected_name(&app), "GET");
    assert_eq!(visible_names(&app), ["GET /cart", "GET /items", "GET"]);
    app.update(Action::Back);
    app.update(Action::Back);
    app.update(Action::Down);
    app.update(Action::Open);
    assert_eq!(trace(&app).trace_id, 0x2222);
    assert_eq!(selected_name(&app), "render");
}

#[test]
fn a_trace_compared_with_itself_says_so() {
    let mut app = app_with(cart_store(), (200, 12));
    select(&mut app, 0x1111);
    app.update(Action::MarkCompare);
    app.update(Action::Compare);
    let view = app.view_as::<CompareView>().expect("the comparison");
    assert!(view.nodes.iter().all(|n| n.status == DiffStatus::Same));
    assert!(draw(&app).contains("A and B are the same trace"));
}

/// The screen with the build time (wall clock) masked.
fn masked(app: &App) -> String {
    let screen = draw(app);
    match screen.find("built ") {
        Some(at) => {
            let from = at + "built ".len();
            format!("{}HH:MM:SS{}", &screen[..from], &screen[from + 8..])
        }
        None => screen,
    }
}

fn map(app: &App) -> &ServiceMapView {
    app.view_as::<ServiceMapView>().expect("the service map")
}

/// The map's edges as "from → to calls".
fn edges(app: &App) -> Vec<String> {
    let m = map(app);
    m.order
        .iter()
        .map(|&e| {
            let e = &m.map.edges[e as usize];
            format!(
                "{} → {} {}",
                m.names[e.from as usize], m.names[e.to as usize], e.calls
            )
        })
        .collect()
}

#[test]
fn the_service_map_draws_the_calls_and_lists_the_traces_of_one() {
    let mut app = app_with(cart_store(), (100, 30));
    app.update(Action::ServiceMap);
    assert_eq!(map(&app).map.traces, 3);
    // Read newest first, as listed: the worker's trace first.
    assert_eq!(map(&app).names, ["worker", "db", "web", "api", "cache"]);
    assert_eq!(
        edges(&app),
        [
            "api → db 8",
            "web → api 2",
            "worker → db 1",
            "api → cache 1"
        ]
    );
    let screen = masked(&app);
    assert!(
        screen.contains(
            "service map · 3 traces · 5 services · 4 edges · built HH:MM:SS · r rebuilds"
        ),
        "{screen}"
    );
    assert!(screen.contains("┌"), "a graph: {screen}");
    assert!(screen.contains("▶"), "{screen}");
    assert!(screen.contains("worker → db"), "{screen}");
    assert!(
        screen.contains("1 (12.5%)"),
        "api → db: 1 of 8 failed: {screen}"
    );
    assert_snapshot!("service_map", screen);

    // Enter on api → cache: exactly trace A.
    app.update(Action::Bottom);
    app.update(Action::Open);
    let ids = |app: &App| -> Vec<u128> {
        let store = app.store.lock();
        list(app)
            .rows
            .iter()
            .map(|r| store.trace(*r).unwrap().id)
            .collect()
    };
    assert_eq!(ids(&app), [0x1111]);
    assert!(
        draw(&app).contains("traces with api → cache calls · 1 ·"),
        "{}",
        draw(&app)
    );
    // New traces do not join a fixed list.
    app.store
        .lock()
        .ingest(batch("api", vec![span(0x4444, 1, 0, T0, T0 + 1, "late")]));
    app.refresh(Instant::now());
    assert_eq!(ids(&app), [0x1111]);
    app.update(Action::Back);
    assert!(app.view_as::<ServiceMapView>().is_some());
    // api → db: A and B, newest first; sortable.
    app.update(Action::Top);
    app.update(Action::Open);
    assert_eq!(ids(&app), [0x2222, 0x1111]);
    app.update(Action::CycleSort);
    assert_eq!(ids(&app), [0x2222, 0x1111], "B lasts longer");
    app.update(Action::Back);
    app.update(Action::Back);
    assert!(app.view_as::<TraceList>().is_some());
}

#[test]
fn the_service_map_covers_the_filtered_list_and_rebuilds_on_r_only() {
    let mut app = app_with(cart_store(), (140, 30));
    app.apply_filter("service=worker".into());
    assert_eq!(list(&app).rows.len(), 1);
    app.update(Action::ServiceMap);
    assert_eq!(map(&app).map.traces, 1);
    assert_eq!(map(&app).names, ["worker", "db"]);
    assert_eq!(edges(&app), ["worker → db 1"]);
    assert!(
        masked(&app).contains("service map · 1 traces (filter: service=worker) · 2 services"),
        "{}",
        masked(&app)
    );
    // New data: the map stays as built until r.
    app.store.lock().ingest(batch(
        "worker",
        vec![span(0x5555, 1, 0, T0, T0 + 10, "tick")],
    ));
    app.store.lock().ingest(batch(
        "db",
        vec![span(0x5555, 2, 1, T0 + 1, T0 + 5, "SELECT job")],
    ));
    app.refresh(Instant::now());
    assert_eq!(edges(&app), ["worker → db 1"]);
    app.update(Action::Rebuild);
    assert_eq!(map(&app).map.traces, 2);
    assert_eq!(edges(&app), ["worker → db 2"]);
}

#[test]
fn the_service_map_falls_back_to_the_table_when_the_graph_does_not_fit() {
    let mut app = app_with(cart_store(), (60, 12));
    app.update(Action::ServiceMap);
    let screen = masked(&app);
    assert!(!screen.contains("┌"), "no graph: {screen}");
    assert!(screen.contains("FROM → TO"), "{screen}");
    assert!(screen.contains("api → db"), "{screen}");
}

#[test]
fn tiny_terminals_do_not_panic_in_the_analysis_views() {
    for (w, h) in [(20, 5), (1, 1), (0, 0), (5, 20), (20, 2), (40, 8)] {
        let mut app = app_with(cart_store(), (w, h));
        app.update(Action::ServiceMap);
        draw(&app);
        app.update(Action::Open);
        draw(&app);
        app.update(Action::Back);
        app.update(Action::Back);
        app.update(Action::MarkCompare);
        app.update(Action::Open);
        app.update(Action::ShowStats);
        draw(&app);
        app.update(Action::Open);
        draw(&app);
        app.update(Action::Back);
        app.update(Action::Back);
        app.update(Action::Back);
        app.update(Action::Compare);
        draw(&app);
        app.update(Action::Open);
        draw(&app);
    }
}

#[test]
fn a_call_back_in_a_cycle_is_listed_under_the_graph() {
    // a → b → a (a callback).
    let mut store = Store::new(100);
    store.ingest(batch("a", vec![span(7, 1, 0, T0, T0 + 100 * MS, "x")]));
    store.ingest(batch("b", vec![span(7, 2, 1, T0 + MS, T0 + 90 * MS, "y")]));
    store.ingest(batch(
        "a",
        vec![span(7, 3, 2, T0 + 2 * MS, T0 + 3 * MS, "callback")],
    ));
    let mut app = app_with(store, (100, 30));
    app.update(Action::ServiceMap);
    let screen = masked(&app);
    assert!(screen.contains("▶"), "a → b drawn: {screen}");
    assert!(screen.contains("calls back, not drawn: b → a"), "{screen}");
}

/// A hub calling 150 services, each of which calls another: many columns, many skips.
fn hub_store() -> Store {
    let mut store = Store::new(10_000);
    store.ingest(batch(
        "hub",
        vec![span(8, 1, 0, T0, T0 + 1000 * MS, "fan out")],
    ));
    for i in 0..300u64 {
        let parent = if i % 2 == 0 { 1 } else { i + 1 };
        store.ingest(batch(
            &format!("svc{i}"),
            vec![span(8, i + 2, parent, T0 + i, T0 + i + 1, "call")],
        ));
    }
    store
}

#[test]
fn a_map_of_many_services_shows_the_table_without_panicking() {
    for size in [(200, 60), (80, 24), (30, 10)] {
        let mut app = app_with(hub_store(), size);
        app.update(Action::ServiceMap);
        assert_eq!(map(&app).names.len(), 301);
        let screen = masked(&app);
        assert!(!screen.contains("┌"), "{screen}");
        assert!(screen.contains("FROM → TO"), "{screen}");
        app.update(Action::Bottom);
        draw(&app);
    }
    let app = {
        let mut app = app_with(hub_store(), (200, 60));
        app.update(Action::ServiceMap);
        app
    };
    assert!(masked(&app).contains("· the graph does not fit"));
}
