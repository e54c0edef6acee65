//! The app driven as a user would: actions in, state and drawn screens out (`TestBackend`,
//! insta snapshots with fixed ids and times).

use std::sync::Arc;
use std::time::{Duration, Instant};

use insta::assert_snapshot;
use parking_lot::Mutex;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::*;
use crate::model::{OwnedEvent, OwnedLink, SpanKind, StatusCode, Value};
use crate::store::Store;
use crate::store::tests::{batch, span};
use crate::tui::cursor::Cursor;
use crate::tui::layout::Shape;
use crate::tui::views::trace_list::Sort;
use crate::tui::views::{TraceList, TraceView};

pub(crate) fn app_with(store: Store, size: (u16, u16)) -> App {
    let mut app = App::new(
        Arc::new(Mutex::new(store)),
        Arc::new(Counters::default()),
        "127.0.0.1:4317".parse().unwrap(),
        "127.0.0.1:4318".parse().unwrap(),
        size,
    );
    // A fixed clock: ages on screen never change between runs.
    app.clock = || T0 + 60_000_000_000;
    app.refresh(Instant::now());
    app
}

pub(crate) fn list(app: &App) -> &TraceList {
    app.view_as::<TraceList>().expect("the trace list is shown")
}

pub(crate) fn trace(app: &App) -> &TraceView {
    app.view_as::<TraceView>().expect("a trace is shown")
}

fn three_traces() -> Store {
    let mut store = Store::new(1000);
    store.ingest(batch("a", vec![span(1, 1, 0, 100, 200, "first")]));
    store.ingest(batch(
        "b",
        vec![
            span(2, 1, 0, 300, 1300, "second"),
            span(2, 2, 1, 400, 500, "child"),
            span(2, 3, 2, 410, 420, "grandchild"),
            span(2, 4, 1, 600, 700, "child2"),
        ],
    ));
    store.ingest(batch("c", vec![span(3, 1, 0, 500, 550, "third")]));
    store
}

#[test]
fn list_is_newest_first_and_sorts() {
    let mut app = app_with(three_traces(), (80, 24));
    let ids = |app: &App| -> Vec<u128> {
        let s = app.store.lock();
        list(app)
            .rows
            .iter()
            .map(|r| s.trace(*r).unwrap().id)
            .collect()
    };
    assert_eq!(ids(&app), vec![3, 2, 1]);
    app.update(Action::CycleSort);
    assert_eq!(list(&app).sort, Sort::Duration);
    assert_eq!(ids(&app), vec![2, 1, 3]);
    app.update(Action::CycleSort);
    assert_eq!(ids(&app)[0], 2);
}

#[test]
fn paused_list_does_not_move_under_the_cursor() {
    let mut app = app_with(three_traces(), (80, 24));
    app.update(Action::ToggleFollow);
    assert!(!list(&app).follow);
    app.store
        .lock()
        .ingest(batch("d", vec![span(4, 1, 0, 900, 950, "new")]));
    app.refresh(Instant::now() + Duration::from_secs(1));
    assert_eq!(list(&app).rows.len(), 3, "paused: no new rows");
    app.update(Action::ToggleFollow);
    assert_eq!(list(&app).rows.len(), 4, "following again: new rows");
}

#[test]
fn following_keeps_the_selected_trace_selected() {
    let mut app = app_with(three_traces(), (80, 24));
    app.update(Action::Down);
    let selected = list(&app).rows[list(&app).cursor.selected];
    app.store
        .lock()
        .ingest(batch("d", vec![span(4, 1, 0, 900, 950, "new")]));
    app.refresh(Instant::now() + Duration::from_secs(1));
    assert_eq!(list(&app).rows.len(), 4);
    assert_eq!(list(&app).rows[list(&app).cursor.selected], selected);
}

#[test]
fn filter_applies_on_enter_and_clears_on_esc() {
    let mut app = app_with(three_traces(), (80, 24));
    app.update(Action::StartFilter);
    assert_eq!(app.mode(), Mode::FilterInput);
    for c in "grand".chars() {
        app.update(Action::Edit(Edit::Insert(c)));
    }
    assert_eq!(list(&app).rows.len(), 3, "not applied while typing");
    app.update(Action::FilterApply);
    assert_eq!(list(&app).rows.len(), 1);
    assert_eq!(list(&app).filter.as_deref(), Some("grand"));
    app.update(Action::Back);
    assert_eq!(list(&app).rows.len(), 3);
    assert!(list(&app).filter.is_none());
}

#[test]
fn open_trace_collapse_expand_and_back() {
    let mut app = app_with(three_traces(), (80, 24));
    app.update(Action::Down);
    app.update(Action::Open);
    assert!(app.view_as::<TraceView>().is_some_and(|v| !v.full_detail));
    let view = trace(&app);
    assert_eq!(view.visible.len(), 4);
    app.update(Action::CollapseAll);
    assert_eq!(trace(&app).visible.len(), 1);
    app.update(Action::ExpandAll);
    assert_eq!(trace(&app).visible.len(), 4);
    app.update(Action::Down); // child (has grandchild)
    app.update(Action::ToggleCollapse);
    assert_eq!(trace(&app).visible.len(), 3);
    app.update(Action::Collapse); // already collapsed: go to parent
    assert_eq!(trace(&app).cursor.selected, 0);
    app.update(Action::Open);
    assert!(trace(&app).full_detail);
    app.update(Action::Back);
    assert!(app.view_as::<TraceView>().is_some_and(|v| !v.full_detail));
    app.update(Action::Back);
    assert!(app.view_as::<TraceList>().is_some());
}

#[test]
fn find_in_a_trace_expands_to_the_match_and_cycles() {
    let mut store = three_traces();
    let mut failing = span(2, 5, 4, 650, 660, "failing grandchild");
    failing.status = crate::model::StatusCode::Error;
    store.ingest(batch("b", vec![failing]));
    let mut app = app_with(store, (80, 24));
    app.update(Action::Down);
    app.update(Action::Open);
    app.update(Action::CollapseAll);
    assert_eq!(trace(&app).visible.len(), 1);
    app.update(Action::StartFilter);
    for c in "grandchild".chars() {
        app.update(Action::Edit(Edit::Insert(c)));
    }
    app.update(Action::FilterApply);
    let name = |app: &App| {
        let store = app.store.lock();
        let view = trace(app);
        let t = store.trace(view.trace).unwrap();
        store
            .str(t.spans()[view.selected_span().unwrap()].name)
            .to_owned()
    };
    assert_eq!(name(&app), "grandchild");
    assert_eq!(trace(&app).visible.len(), 4, "ancestors expanded");
    app.update(Action::FindNext);
    assert_eq!(name(&app), "failing grandchild");
    app.update(Action::FindNext);
    assert_eq!(name(&app), "grandchild", "wraps around");
    app.update(Action::FindPrev);
    assert_eq!(name(&app), "failing grandchild");
    app.update(Action::Top);
    app.update(Action::NextError);
    assert_eq!(name(&app), "failing grandchild");
    app.update(Action::StartFilter);
    app.update(Action::Edit(Edit::Insert('z')));
    app.update(Action::FilterApply);
    assert!(
        app.cx
            .notice
            .as_deref()
            .unwrap()
            .contains("no span matches")
    );
    assert!(app.view_as::<TraceView>().is_some_and(|v| !v.full_detail));
}

#[test]
fn open_trace_grows_live_and_eviction_returns_to_the_list() {
    let mut app = app_with(three_traces(), (80, 24));
    app.update(Action::Open); // trace 3
    app.store
        .lock()
        .ingest(batch("c", vec![span(3, 2, 1, 510, 520, "late child")]));
    app.refresh(Instant::now() + Duration::from_secs(1));
    assert_eq!(trace(&app).visible.len(), 2);
    // Push the store past its cap so trace 3 goes.
    let mut big = Vec::new();
    for i in 0..1000 {
        big.push(span(99, i + 1, 0, 0, 1, "filler"));
    }
    app.store.lock().ingest(batch("z", big));
    app.refresh(Instant::now() + Duration::from_secs(2));
    assert!(app.view_as::<TraceList>().is_some());
    assert!(app.cx.notice.is_some());
}

#[test]
fn paging_and_clicks() {
    let mut store = Store::new(1000);
    for i in 1..=100u128 {
        store.ingest(batch("a", vec![span(i, 1, 0, i as u64, i as u64 + 1, "s")]));
    }
    let mut app = app_with(store, (80, 24));
    app.update(Action::Bottom);
    assert_eq!(list(&app).cursor.selected, 99);
    assert!(list(&app).cursor.offset > 0);
    app.update(Action::Top);
    assert_eq!(list(&app).cursor, Cursor::default());
    app.update(Action::PageDown);
    let page = app.cx.layout(app.view().shape()).body.height as usize;
    assert_eq!(list(&app).cursor.selected, page);
    app.update(Action::Top);
    let body = app.cx.layout(app.view().shape()).body;
    app.update(Action::Click(body.x + 1, body.y + 3));
    assert_eq!(list(&app).cursor.selected, 3);
    app.update(Action::Click(body.x + 1, body.y + 3));
    assert!(app.view_as::<TraceView>().is_some(), "second click opens");
}

const T0: u64 = 1_700_000_000_000_000_000;

pub(crate) fn sample_store() -> Store {
    let mut store = Store::new(1000);
    let mut root = span(0xaaaa, 1, 0, T0, T0 + 120_000_000, "GET /checkout");
    root.kind = SpanKind::Server;
    root.attrs = vec![
        ("http.request.method".into(), Value::Str("GET".into())),
        ("http.response.status_code".into(), Value::Int(500)),
    ];
    root.status = StatusCode::Error;
    root.status_message = "payment failed".into();
    root.events = vec![OwnedEvent {
        time: T0 + 100_000_000,
        name: "exception".into(),
        attrs: vec![(
            "exception.message".into(),
            Value::Str("card declined".into()),
        )],
    }];
    root.links = vec![OwnedLink {
        trace_id: 0xbbbb,
        span_id: 7,
        attrs: vec![],
    }];
    let mut call = span(0xaaaa, 2, 1, T0 + 10_000_000, T0 + 90_000_000, "POST /pay");
    call.kind = SpanKind::Client;
    store.ingest(batch("frontend", vec![root, call]));
    let mut pay = span(0xaaaa, 3, 2, T0 + 15_000_000, T0 + 85_000_000, "pay");
    pay.kind = SpanKind::Server;
    pay.status = StatusCode::Error;
    let db = span(
        0xaaaa,
        4,
        3,
        T0 + 20_000_000,
        T0 + 40_000_000,
        "SELECT cards",
    );
    let orphan = span(
        0xaaaa,
        5,
        99,
        T0 + 50_000_000,
        T0 + 60_000_000,
        "late\x1b[2J",
    );
    store.ingest(batch("payments", vec![pay, db, orphan]));
    store.ingest(batch(
        "worker",
        vec![span(
            0xcccc,
            1,
            0,
            T0 + 200_000_000,
            T0 + 201_500_000,
            "tick",
        )],
    ));
    store
}

pub(crate) fn draw_buffer(app: &App) -> ratatui::buffer::Buffer {
    let mut terminal = Terminal::new(TestBackend::new(app.cx.size.0, app.cx.size.1)).unwrap();
    terminal.draw(|f| f.render_widget(app, f.area())).unwrap();
    terminal.backend().buffer().clone()
}

pub(crate) fn draw(app: &App) -> String {
    let buf = draw_buffer(app);
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        for x in 0..buf.area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn empty_state_says_how_to_send_data() {
    let app = app_with(Store::new(10), (80, 16));
    let screen = draw(&app);
    assert!(screen.contains("OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317"));
    assert_snapshot!(screen);
}

#[test]
fn trace_list() {
    let app = app_with(sample_store(), (100, 10));
    assert_snapshot!(draw(&app));
}

#[test]
fn trace_view_with_detail_pane() {
    let mut app = app_with(sample_store(), (110, 30));
    app.update(Action::Down);
    app.update(Action::Open);
    app.update(Action::Down);
    assert_snapshot!(draw(&app));
}

#[test]
fn span_detail_full_screen() {
    let mut app = app_with(sample_store(), (90, 30));
    app.update(Action::Down);
    app.update(Action::Open);
    app.update(Action::Open);
    assert_snapshot!(draw(&app));
}

#[test]
fn help_overlay() {
    let mut app = app_with(sample_store(), (90, 40));
    app.update(Action::ToggleHelp);
    assert_snapshot!(draw(&app));
}

#[test]
fn help_scrolls_with_j_k_g_g_and_closes_only_on_question_mark_or_esc() {
    use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
    let mut app = app_with(sample_store(), (80, 24));
    let key = |app: &mut App, code: KeyCode| {
        let event = Event::Key(KeyEvent::new(code, KeyModifiers::NONE));
        if let Some(a) = crate::tui::keymap::action_for(app.mode(), app.view_keys(), &event) {
            app.update(a);
        }
    };
    key(&mut app, KeyCode::Char('?'));
    assert_eq!(app.help, Some(0));
    key(&mut app, KeyCode::Char('G'));
    let last = app.help.unwrap();
    assert!(
        last > 0,
        "the keys do not fit 24 rows: G goes to the last page"
    );
    key(&mut app, KeyCode::Char('j'));
    assert_eq!(app.help, Some(last), "no further than the last page");
    key(&mut app, KeyCode::Char('k'));
    assert_eq!(app.help, Some(last - 1));
    key(&mut app, KeyCode::Char('g'));
    assert_eq!(app.help, Some(0));
    // A stray key leaves it open; ? or Esc close it.
    key(&mut app, KeyCode::Char('x'));
    assert_eq!(app.help, Some(0));
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.help, None);
    key(&mut app, KeyCode::Char('?'));
    key(&mut app, KeyCode::Char('?'));
    assert_eq!(app.help, None);
}

#[test]
fn help_fits_a_classic_80x24_terminal() {
    let mut app = app_with(sample_store(), (80, 24));
    app.update(Action::ToggleHelp);
    let screen = draw(&app);
    let view = app.view();
    for b in crate::tui::keymap::COMMON.iter().chain(view.keys()) {
        assert!(screen.contains(b.what), "{:?} missing:\n{screen}", b.what);
    }
}

#[test]
fn filter_input_line() {
    let mut app = app_with(sample_store(), (90, 8));
    app.update(Action::StartFilter);
    app.update(Action::Edit(Edit::Insert('p')));
    app.update(Action::Edit(Edit::Insert('a')));
    assert!(draw(&app).contains("/pa"));
    app.update(Action::FilterApply);
    let screen = draw(&app);
    assert!(screen.contains("GET /checkout"));
    assert!(!screen.contains("tick"));
    assert!(screen.contains("filter: pa"));
}

#[test]
fn tiny_terminals_do_not_panic() {
    for (w, h) in [(20, 5), (1, 1), (0, 0), (5, 20), (20, 2)] {
        let mut app = app_with(sample_store(), (w, h));
        draw(&app);
        app.update(Action::Open);
        draw(&app);
        app.update(Action::Open);
        draw(&app);
        app.update(Action::ToggleHelp);
        draw(&app);
    }
    let app = app_with(sample_store(), (20, 5));
    assert_snapshot!(draw(&app));
}

#[test]
fn escape_sequences_in_span_names_never_reach_the_terminal() {
    let mut app = app_with(sample_store(), (110, 30));
    app.update(Action::Down);
    app.update(Action::Open);
    let screen = draw(&app);
    assert!(!screen.contains('\x1b'));
    assert!(screen.contains("late\\x1b[2J"));
    app.refresh(Instant::now());
}

// ---- Logs and metrics ----

use crate::model::{
    Exemplar, Histogram, LogBatch, LogResource, LogScope, MetricBatch, MetricKind, MetricResource,
    MetricScope, NewLogRecord, NewMetric, NewPoint, PointValue,
};
use crate::tui::views::{LogDetail, LogList, MetricChart, MetricList};

fn log(time: u64, severity: u8, body: &str, trace: u128, span: u64) -> NewLogRecord {
    NewLogRecord {
        time,
        severity,
        body: Value::Str(body.into()),
        attrs: vec![("http.route".into(), Value::Str("/pay".into()))],
        trace_id: trace,
        span_id: span,
        ..NewLogRecord::default()
    }
}

fn logs_of(service: &str, records: Vec<NewLogRecord>) -> LogBatch {
    LogBatch {
        resources: vec![LogResource {
            attrs: vec![("service.name".into(), Value::Str(service.into()))],
            scopes: vec![LogScope {
                name: "app".into(),
                version: "1.0".into(),
                records,
            }],
        }],
        rejected: 0,
    }
}

fn metric_of(
    service: &str,
    name: &str,
    unit: &str,
    kind: MetricKind,
    points: Vec<NewPoint>,
) -> MetricBatch {
    MetricBatch {
        resources: vec![MetricResource {
            attrs: vec![("service.name".into(), Value::Str(service.into()))],
            scopes: vec![MetricScope {
                metrics: vec![NewMetric {
                    name: name.into(),
                    description: format!("{name} described"),
                    unit: unit.into(),
                    kind,
                    points,
                }],
                ..MetricScope::default()
            }],
        }],
        rejected: 0,
    }
}

fn counter_point(endpoint: &str, t: u64, v: f64) -> NewPoint {
    NewPoint {
        attrs: vec![("endpoint".into(), Value::Str(endpoint.into()))],
        start: T0,
        time: T0 + t * 1_000_000_000,
        value: PointValue::Number(v),
        exemplars: Vec::new(),
    }
}

fn histogram_point(t: u64, counts: &[u64], exemplar: Option<(u128, u64)>) -> NewPoint {
    NewPoint {
        attrs: vec![("http.route".into(), Value::Str("/pay".into()))],
        start: T0,
        time: T0 + t * 1_000_000_000,
        value: PointValue::Histogram(Box::new(Histogram {
            count: counts.iter().sum(),
            sum: Some(0.5),
            min: None,
            max: None,
            bounds: vec![0.005, 0.01, 0.05, 0.1].into(),
            counts: counts.into(),
        })),
        exemplars: exemplar
            .map(|(trace_id, span_id)| Exemplar {
                time: T0 + t * 1_000_000_000,
                value: 0.03,
                trace_id,
                span_id,
            })
            .into_iter()
            .collect(),
    }
}

/// The sample traces, with logs on two of their spans and a few metrics.
pub(crate) fn full_store() -> Store {
    let mut store = sample_store();
    store.ingest_logs(logs_of(
        "payments",
        vec![
            log(T0 + 30_000_000, 13, "card declined, retrying", 0xaaaa, 3),
            log(T0 + 16_000_000, 9, "charging card", 0xaaaa, 3),
            log(T0 + 5_000_000, 5, "debug noise", 0, 0),
            log(
                T0 + 101_000_000,
                17,
                r#"{"error":"payment failed","code":402}"#,
                0xaaaa,
                1,
            ),
        ],
    ));
    let counter = MetricKind::Sum {
        monotonic: true,
        delta: false,
    };
    store.ingest_metrics(metric_of(
        "frontend",
        "requests",
        "1",
        counter,
        vec![
            counter_point("checkout", 0, 0.0),
            counter_point("cart", 0, 0.0),
        ],
    ));
    for t in 1..=4 {
        store.ingest_metrics(metric_of(
            "frontend",
            "requests",
            "1",
            counter,
            vec![
                counter_point("checkout", t * 10, (t * t * 10) as f64),
                counter_point("cart", t * 10, (t * 10) as f64),
            ],
        ));
    }
    let hist = MetricKind::Histogram { delta: false };
    for t in 1..=4u64 {
        let ex = (t == 3).then_some((0xaaaa, 3));
        store.ingest_metrics(metric_of(
            "payments",
            "http.server.request.duration",
            "s",
            hist,
            vec![histogram_point(t * 10, &[t, 2 * t, 3 * t, t, 0], ex)],
        ));
    }
    store
}

#[test]
fn tabs_switch_and_each_empty_state_says_how_to_send_it() {
    let mut app = app_with(Store::new(10), (100, 20));
    app.update(Action::NextTab);
    assert_eq!(app.tab, Tab::Logs);
    let logs = draw(&app);
    assert!(logs.contains("Waiting for log records"), "{logs}");
    assert!(logs.contains("OTEL_LOGS_EXPORTER=otlp"), "{logs}");
    app.update(Action::NextTab);
    assert_eq!(app.tab, Tab::Metrics);
    let metrics = draw(&app);
    assert!(metrics.contains("Waiting for metrics"), "{metrics}");
    assert!(metrics.contains("OTEL_METRICS_EXPORTER=otlp"), "{metrics}");
    app.update(Action::NextTab);
    assert_eq!(app.tab, Tab::Traces);
    app.update(Action::PrevTab);
    assert_eq!(app.tab, Tab::Metrics);
    app.update(Action::GoTab(Tab::Logs));
    assert!(app.view_as::<LogList>().is_some());
    // A click on the tab strip switches too.
    let tabs = app.cx.layout(Shape::List).tabs;
    app.update(Action::Click(tabs.x + 1, tabs.y));
    assert_eq!(app.tab, Tab::Traces);
}

#[test]
fn the_status_bar_counts_every_signal() {
    let app = app_with(full_store(), (200, 10));
    let bar = crate::tui::status_bar::text(&app.facts(), 400);
    assert!(
        bar.contains("6 spans / 2 traces · 4 logs · 2 metrics / 3 series"),
        "{bar}"
    );
    // A request that came back round a forwarding loop is said, and kept at 80 columns.
    app.counters
        .forward
        .looped
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let bar = crate::tui::status_bar::text(&app.facts(), 80);
    assert!(bar.contains("1 came back round a forward loop"), "{bar}");
    assert!(
        bar.ends_with("? help") && bar.chars().count() <= 80,
        "{bar}"
    );
}

#[test]
fn the_log_list_is_newest_first_and_filters_by_text_and_severity() {
    let mut app = app_with(full_store(), (120, 20));
    app.update(Action::GoTab(Tab::Logs));
    let bodies = |app: &App| -> Vec<String> {
        let store = app.store.lock();
        let list = app.view_as::<LogList>().unwrap();
        (0..list.len())
            .map(|i| {
                let r = store.logs.get(list.row(&store, i).unwrap()).unwrap();
                store.value_text(&r.body).into_owned()
            })
            .collect()
    };
    assert_eq!(bodies(&app)[0], r#"{"error":"payment failed","code":402}"#);
    assert_eq!(bodies(&app).len(), 4);
    assert_snapshot!("log_list", draw(&app));
    app.update(Action::CycleSeverity); // debug and up: all four
    assert_eq!(bodies(&app).len(), 4);
    app.update(Action::CycleSeverity); // info and up
    assert_eq!(bodies(&app).len(), 3);
    app.update(Action::CycleSeverity); // warn and up
    assert_eq!(
        bodies(&app),
        [
            r#"{"error":"payment failed","code":402}"#,
            "card declined, retrying"
        ]
    );
    app.update(Action::StartFilter);
    for c in "declined".chars() {
        app.update(Action::Edit(Edit::Insert(c)));
    }
    app.update(Action::FilterApply);
    assert_eq!(bodies(&app), ["card declined, retrying"]);
    assert!(draw(&app).contains("WARN+ · filter: declined"));
    app.update(Action::Back);
    assert_eq!(
        bodies(&app).len(),
        2,
        "Esc clears the text, not the severity"
    );
}

#[test]
fn a_log_opens_its_detail_then_its_trace_at_its_span() {
    let mut app = app_with(full_store(), (100, 30));
    app.update(Action::GoTab(Tab::Logs));
    app.update(Action::Open);
    assert!(app.view_as::<LogDetail>().is_some());
    let screen = draw(&app);
    assert!(
        screen.contains("\"error\": \"payment failed\","),
        "JSON pretty-printed:\n{screen}"
    );
    assert!(screen.contains("0000000000000000000000000000aaaa   (Enter opens it)"));
    assert_snapshot!("log_detail", screen);
    app.update(Action::OpenTrace);
    assert_eq!(app.tab, Tab::Traces);
    let view = trace(&app);
    let store = app.store.lock();
    let t = store.trace(view.trace).unwrap();
    assert_eq!(t.spans()[view.selected_span().unwrap()].span_id, 1);
    drop(store);
    // From the list, `t` goes straight to the trace, at the record's span.
    app.update(Action::GoTab(Tab::Logs));
    app.update(Action::Back); // the detail
    app.update(Action::Down); // "card declined, retrying"
    app.update(Action::Down); // "charging card", span 3
    app.update(Action::OpenTrace);
    let view = trace(&app);
    let store = app.store.lock();
    let t = store.trace(view.trace).unwrap();
    assert_eq!(
        store.str(t.spans()[view.selected_span().unwrap()].name),
        "pay"
    );
}

#[test]
fn a_record_without_a_trace_says_so() {
    let mut app = app_with(full_store(), (100, 30));
    app.update(Action::GoTab(Tab::Logs));
    app.update(Action::Bottom); // "debug noise", the oldest
    app.update(Action::OpenTrace);
    assert_eq!(app.tab, Tab::Logs);
    assert_eq!(
        app.cx.notice.as_deref(),
        Some("this record carries no trace")
    );
}

#[test]
fn spans_with_logs_are_marked_and_the_trace_lists_its_logs_in_time_order() {
    let mut app = app_with(full_store(), (140, 34));
    app.update(Action::Down);
    app.update(Action::Open);
    let screen = draw(&app);
    assert!(screen.contains("frontend ✖ GET /checkout ≡"), "{screen}");
    assert!(screen.contains("payments ✖ pay ≡"), "{screen}");
    assert!(!screen.contains("POST /pay ≡"), "{screen}");
    assert!(screen.contains("3 logs (L)"), "{screen}");
    // The span detail lists the span's own records, time from the span's start.
    app.update(Action::Down);
    app.update(Action::Down);
    app.update(Action::Open);
    let detail = draw(&app);
    assert!(detail.contains("Logs (2)"), "{detail}");
    assert!(detail.contains("+1.00ms INFO  charging card"), "{detail}");
    assert!(
        detail.contains("+15.00ms WARN  card declined, retrying"),
        "{detail}"
    );
    app.update(Action::Back);
    app.update(Action::ShowLogs);
    let list = app.view_as::<LogList>().expect("the trace's logs");
    assert_eq!(list.trace, Some(0xaaaa));
    assert_eq!(list.len(), 3);
    let screen = draw(&app);
    let charging = screen.find("charging card").unwrap();
    let declined = screen.find("card declined").unwrap();
    let failed = screen.find("payment failed").unwrap();
    assert!(
        charging < declined && declined < failed,
        "time order:\n{screen}"
    );
    app.update(Action::Back);
    assert!(
        app.view_as::<TraceView>().is_some(),
        "Esc returns to the trace"
    );
}

#[test]
fn the_metric_list_shows_latest_rates_and_percentiles() {
    let mut app = app_with(full_store(), (140, 12));
    app.update(Action::GoTab(Tab::Metrics));
    let list = app.view_as::<MetricList>().unwrap();
    assert_eq!(list.rows.len(), 2);
    let screen = draw(&app);
    // checkout: 90 -> 160 over 10 s = 7/s; cart: 30 -> 40 = 1/s; together 8/s.
    assert!(screen.contains("8/s"), "{screen}");
    assert!(screen.contains("http.server.request.duration"), "{screen}");
    assert_snapshot!("metric_list", screen);
    app.update(Action::StartFilter);
    for c in "requests".chars() {
        app.update(Action::Edit(Edit::Insert(c)));
    }
    app.update(Action::FilterApply);
    assert_eq!(app.view_as::<MetricList>().unwrap().rows.len(), 1);
}

#[test]
fn a_counter_charts_its_rate_and_series_can_be_hidden() {
    let mut app = app_with(full_store(), (120, 24));
    app.update(Action::GoTab(Tab::Metrics));
    app.update(Action::Bottom); // "requests", after "http.server..."
    app.update(Action::Open);
    let chart = app.view_as::<MetricChart>().expect("a chart");
    assert!(chart.rate);
    let screen = draw(&app);
    assert!(screen.contains("rate per second (r: raw)"), "{screen}");
    // Rates from 1/s (cart) to 7/s (checkout's last interval), padded by 5%.
    assert!(screen.contains("7.3/s"), "the top of the axis: {screen}");
    assert_snapshot!("metric_chart_counter", screen);
    app.update(Action::ToggleRate);
    let raw = draw(&app);
    assert!(raw.contains("raw value (r: rate)"), "{raw}");
    assert!(raw.contains("168"), "the raw top, 160 padded: {raw}");
    app.update(Action::ToggleSeries);
    let hidden = draw(&app);
    assert!(hidden.contains("□ endpoint=checkout"), "{hidden}");
    assert!(
        !hidden.contains("168"),
        "checkout hidden, the axis follows cart: {hidden}"
    );
    app.update(Action::ShowAllSeries);
    assert!(draw(&app).contains("■ endpoint=checkout"));
    // Series picked by attribute: `/cart` shows cart's only.
    app.update(Action::StartFilter);
    for c in "cart".chars() {
        app.update(Action::Edit(Edit::Insert(c)));
    }
    app.update(Action::FilterApply);
    let picked = draw(&app);
    assert!(picked.contains("□ endpoint=checkout"), "{picked}");
    assert!(picked.contains("■ endpoint=cart"), "{picked}");
    assert!(picked.contains("series: cart"), "{picked}");
}

#[test]
fn a_histogram_charts_percentiles_and_an_exemplar_opens_its_trace() {
    let mut app = app_with(full_store(), (120, 30));
    app.update(Action::GoTab(Tab::Metrics));
    app.update(Action::Open);
    let screen = draw(&app);
    for want in [
        "p50",
        "p90",
        "p99",
        "latest distribution",
        "≤5ms",
        ">100ms",
        "1 exemplar ",
    ] {
        assert!(screen.contains(want), "{want:?} missing:\n{screen}");
    }
    app.update(Action::Open);
    assert!(
        app.cx
            .notice
            .as_deref()
            .unwrap()
            .contains("select an exemplar")
    );
    app.update(Action::NextExemplar);
    let screen = draw(&app);
    assert!(
        screen.contains("exemplar 30.00ms at 22:13:50.000 · trace 0000000000000000000000000000aaaa span 0000000000000003"),
        "{screen}"
    );
    assert_snapshot!("metric_chart_histogram", screen);
    app.update(Action::Open);
    assert_eq!(app.tab, Tab::Traces);
    let view = trace(&app);
    let store = app.store.lock();
    let t = store.trace(view.trace).unwrap();
    assert_eq!(
        store.str(t.spans()[view.selected_span().unwrap()].name),
        "pay"
    );
}

#[test]
fn help_lists_every_view_s_keys() {
    let app = app_with(full_store(), (100, 30));
    let text: String = crate::tui::help::lines(app.view())
        .iter()
        .map(|l| l.to_string() + "\n")
        .collect();
    for (_, keys) in crate::tui::views::KEY_TABLES {
        for b in keys.iter().filter(|b| !b.keys.is_empty()) {
            assert!(text.contains(b.what), "{:?} missing:\n{text}", b.what);
        }
    }
}

#[test]
fn a_query_filters_the_list_and_an_invalid_one_says_where_and_keeps_the_last() {
    let mut app = app_with(three_traces(), (100, 24));
    let type_in = |app: &mut App, text: &str| {
        app.update(Action::StartFilter);
        let n = app.input.as_ref().map_or(0, |i| i.chars().len());
        for _ in 0..n {
            app.update(Action::Edit(Edit::Backspace));
        }
        for c in text.chars() {
            app.update(Action::Edit(Edit::Insert(c)));
        }
    };
    type_in(&mut app, "service=b and duration>=1us");
    assert!(app.input.as_ref().is_none_or(|l| l.error.is_none()));
    app.update(Action::FilterApply);
    assert_eq!(list(&app).rows.len(), 1);
    // A duration without a unit: the error points at the value while typing, and Enter does
    // not apply it.
    type_in(&mut app, "duration>5");
    let err = app
        .input
        .as_ref()
        .and_then(|l| l.error.clone())
        .expect("an error while typing");
    assert_eq!(err.at, 9);
    let screen = draw(&app);
    assert!(screen.contains("✖ at column 10:"), "{screen}");
    app.update(Action::FilterApply);
    assert_eq!(app.mode(), Mode::FilterInput, "still typing");
    assert_eq!(
        list(&app).filter.as_deref(),
        Some("service=b and duration>=1us"),
        "the last filter stays applied"
    );
    assert_eq!(list(&app).rows.len(), 1);
    app.update(Action::Edit(Edit::Insert('s')));
    assert!(app.input.as_ref().is_none_or(|l| l.error.is_none()));
    app.update(Action::FilterApply);
    assert_eq!(list(&app).rows.len(), 0, "no trace lasts 5 s or more");
    // Up walks back through what was applied; Down comes forward again.
    app.update(Action::StartFilter);
    app.update(Action::FilterHistory(true));
    assert_eq!(app.input_text().as_deref(), Some("duration>5s"));
    app.update(Action::FilterHistory(true));
    assert_eq!(
        app.input_text().as_deref(),
        Some("service=b and duration>=1us")
    );
    app.update(Action::FilterHistory(true));
    assert_eq!(
        app.input_text().as_deref(),
        Some("service=b and duration>=1us")
    );
    app.update(Action::FilterHistory(false));
    assert_eq!(app.input_text().as_deref(), Some("duration>5s"));
    app.update(Action::FilterHistory(false));
    assert_eq!(app.input_text().as_deref(), Some(""));
    app.update(Action::FilterCancel);
    assert_eq!(list(&app).filter.as_deref(), Some("duration>5s"));
}

#[test]
fn tab_completes_fields_and_keys_the_store_holds() {
    let mut store = three_traces();
    let mut s = span(4, 1, 0, 1, 2, "with attrs");
    s.attrs = vec![
        ("http.route".into(), Value::Str("/a".into())),
        ("http.request.method".into(), Value::Str("GET".into())),
    ];
    store.ingest(batch("d", vec![s]));
    let mut app = app_with(store, (100, 24));
    app.update(Action::StartFilter);
    for c in "status=error or http".chars() {
        app.update(Action::Edit(Edit::Insert(c)));
    }
    app.update(Action::FilterComplete);
    assert_eq!(app.input_text().as_deref(), Some("status=error or http.r"));
    assert_eq!(
        app.input.as_ref().unwrap().completions,
        vec!["http.request.method", "http.route"]
    );
    assert!(draw(&app).contains("http.request.method  http.route"));
    app.update(Action::Edit(Edit::Insert('o')));
    app.update(Action::FilterComplete);
    assert_eq!(
        app.input_text().as_deref(),
        Some("status=error or http.route")
    );
    // On the log list, the log fields.
    app.update(Action::FilterCancel);
    app.update(Action::GoTab(Tab::Logs));
    app.update(Action::StartFilter);
    for c in "sev".chars() {
        app.update(Action::Edit(Edit::Insert(c)));
    }
    app.update(Action::FilterComplete);
    assert_eq!(app.input_text().as_deref(), Some("severity"));
}

#[test]
fn a_filter_in_a_trace_keeps_matches_with_their_ancestors_and_h_dims_instead() {
    let mut app = app_with(three_traces(), (100, 24));
    app.update(Action::Down);
    app.update(Action::Open);
    assert_eq!(trace(&app).visible.len(), 4);
    app.update(Action::StartFilter);
    for c in "name=grandchild".chars() {
        app.update(Action::Edit(Edit::Insert(c)));
    }
    app.update(Action::FilterApply);
    // second → child → grandchild; child2 is hidden.
    assert_eq!(trace(&app).visible.len(), 3);
    let screen = draw(&app);
    assert!(!screen.contains("child2"), "{screen}");
    assert!(screen.contains("1 match, rest hidden (H)"), "{screen}");
    app.update(Action::ToggleHideUnmatched);
    assert_eq!(trace(&app).visible.len(), 4, "dimmed, not hidden");
    let view = trace(&app);
    let store = app.store.lock();
    let t = store.trace(view.trace).unwrap();
    let dimmed: Vec<&str> = (0..t.spans().len())
        .filter(|&i| view.dimmed(i))
        .map(|i| store.str(t.spans()[i].name))
        .collect();
    assert_eq!(dimmed.len(), 3);
    assert!(!dimmed.contains(&"grandchild"));
    drop(store);
    // Esc clears the filter first, then leaves the trace.
    app.update(Action::Back);
    assert!(trace(&app).find.is_none());
    assert_eq!(trace(&app).visible.len(), 4);
    app.update(Action::Back);
    assert!(app.view_as::<TraceList>().is_some());
}

#[test]
fn queries_filter_logs_and_metrics_too() {
    let mut app = app_with(full_store(), (100, 30));
    app.update(Action::GoTab(Tab::Logs));
    let before = app.view_as::<LogList>().unwrap().len();
    app.update(Action::StartFilter);
    for c in "severity>=warn".chars() {
        app.update(Action::Edit(Edit::Insert(c)));
    }
    app.update(Action::FilterApply);
    let after = app.view_as::<LogList>().unwrap().len();
    assert!(after > 0 && after < before, "{after} of {before}");
    app.update(Action::GoTab(Tab::Metrics));
    app.update(Action::StartFilter);
    for c in "type=histogram".chars() {
        app.update(Action::Edit(Edit::Insert(c)));
    }
    app.update(Action::FilterApply);
    let m = app.view_as::<MetricList>().unwrap();
    assert_eq!(m.rows.len(), 1);
    // A span field is an error on the metrics tab (added after the filter, kept for editing).
    app.update(Action::StartFilter);
    app.update(Action::Edit(Edit::End));
    for c in " or duration>1s".chars() {
        app.update(Action::Edit(Edit::Insert(c)));
    }
    let err = app.input.as_ref().and_then(|l| l.error.clone()).unwrap();
    assert!(err.message.contains("metrics have no duration"), "{err}");
}

/// A 100 ms request: four SELECTs one after another (10–50 ms), then `render` (60–100 ms) and,
/// in parallel with it, `audit` (55–70 ms), which the end does not wait on.
fn n_plus_one() -> Store {
    let ms = 1_000_000;
    let mut store = Store::new(1000);
    store.ingest(batch(
        "api",
        vec![
            span(9, 1, 0, 0, 100 * ms, "GET /orders"),
            span(9, 6, 1, 60 * ms, 100 * ms, "render"),
            span(9, 7, 1, 55 * ms, 70 * ms, "audit"),
        ],
    ));
    store.ingest(batch(
        "db",
        (0..4)
            .map(|k| {
                span(
                    9,
                    2 + k,
                    1,
                    (10 + 10 * k) * ms,
                    (20 + 10 * k) * ms,
                    "SELECT order",
                )
            })
            .collect(),
    ));
    store
}

#[test]
fn repeated_calls_fold_into_one_row_only_when_asked_and_unfold() {
    let mut app = app_with(n_plus_one(), (150, 24));
    app.update(Action::Open);
    // GET /orders, 4 SELECT order, audit, render: nothing folded unasked.
    assert_eq!(trace(&app).visible.len(), 7);
    app.update(Action::ToggleRuns);
    assert_eq!(trace(&app).visible.len(), 4, "x folds");
    let screen = draw(&app);
    // The folded row says its count, the calls' total and their extent.
    let line = screen.lines().find(|l| l.contains("×4")).unwrap();
    assert!(
        line.contains("×4 db SELECT order · 40.00ms total · 40.00ms span"),
        "{line}"
    );
    assert!(line.trim_end().ends_with("40.00ms"), "{line}");
    app.update(Action::Down);
    app.update(Action::ToggleCollapse);
    assert_eq!(trace(&app).visible.len(), 7, "Space unfolds the run");
    app.update(Action::ToggleRuns);
    app.update(Action::ToggleRuns);
    assert_eq!(trace(&app).visible.len(), 4, "x folds every run again");
    app.update(Action::ToggleRuns);
    assert_eq!(trace(&app).visible.len(), 7);
}

/// Rows whose cells would not read: text drawn in its background's colour.
fn unreadable_cells(app: &App) -> Vec<(u16, u16, String)> {
    let buf = draw_buffer(app);
    let mut bad = Vec::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            let c = &buf[(x, y)];
            if c.symbol() != " " && c.bg != ratatui::style::Color::Reset && c.fg == c.bg {
                bad.push((x, y, c.symbol().to_owned()));
            }
        }
    }
    bad
}

#[test]
fn dimmed_text_stays_readable_on_the_selected_row() {
    // A trace opened from a filtered list: the other spans dimmed; one of them selected.
    let mut app = app_with(n_plus_one(), (120, 24));
    app.apply_filter("name=\"SELECT order\"".into());
    app.update(Action::Open);
    app.update(Action::Top);
    app.update(Action::ToggleSelfTime);
    assert_eq!(unreadable_cells(&app), Vec::new());
    // The list: its dim time column on the selected row.
    app.update(Action::Back);
    assert_eq!(unreadable_cells(&app), Vec::new());
}

#[test]
fn an_empty_log_list_names_what_hides_the_records() {
    let mut app = app_with(full_store(), (120, 20));
    app.update(Action::GoTab(Tab::Logs));
    // FATAL and up: nothing.
    for _ in 0..5 {
        app.update(Action::CycleSeverity);
    }
    assert_eq!(
        app.view_as::<LogList>().unwrap().min_severity,
        crate::model::Severity::Fatal
    );
    assert!(
        draw(&app).contains("No record at FATAL or above"),
        "{}",
        draw(&app)
    );
    // A filter that matches records, all below the floor: the floor is named, not the query.
    app.apply_filter("severity>=warn".into());
    let screen = draw(&app);
    assert!(
        screen.contains("\"severity>=warn\" matches records, none at FATAL or above"),
        "{screen}"
    );
    // Back to all severities, a filter matching nothing: the filter is named.
    app.update(Action::CycleSeverity);
    app.apply_filter("body~nowhere".into());
    assert!(draw(&app).contains("No record matches \"body~nowhere\""));
}

#[test]
fn the_legend_tells_series_apart_and_shows_rates() {
    // Four series that share a long prefix of attributes and differ by the route only.
    let mut store = Store::new(100);
    let counter = MetricKind::Sum {
        monotonic: true,
        delta: false,
    };
    let point = |route: &str, t: u64, v: f64| NewPoint {
        attrs: vec![
            ("http.request.method".into(), Value::Str("POST".into())),
            ("http.response.status_code".into(), Value::Int(200)),
            (
                "server.address".into(),
                Value::Str("donut-shop.internal".into()),
            ),
            ("http.route".into(), Value::Str(route.into())),
        ],
        start: T0,
        time: T0 + t * 1_000_000_000,
        value: PointValue::Number(v),
        exemplars: Vec::new(),
    };
    for t in [0, 10] {
        let points = ["/cart", "/checkout", "/pay", "/add"]
            .iter()
            .enumerate()
            .map(|(i, r)| point(r, t, (t * (i as u64 + 1)) as f64 * 10.0))
            .collect();
        store.ingest_metrics(metric_of(
            "donut-shop",
            "http.requests",
            "1",
            counter,
            points,
        ));
    }
    let mut app = app_with(store, (80, 24));
    app.update(Action::GoTab(Tab::Metrics));
    app.update(Action::Open);
    let screen = draw(&app);
    assert_snapshot!("metric_chart_80x24", screen);
    let legend: Vec<&str> = screen
        .lines()
        .filter(|l| l.contains('■') || l.contains('□'))
        .map(|l| &l[l.rfind(['■', '□']).unwrap()..])
        .collect();
    assert!(legend.len() >= 5, "{screen}");
    let rows = &legend[..4];
    for route in ["/cart", "/checkout", "/pay", "/add"] {
        assert!(rows.iter().any(|l| l.contains(route)), "{route}: {screen}");
    }
    let mut distinct = rows.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 4, "{screen}");
    // Rates, not raw totals: the /cart counter went 0 → 100 in 10 s.
    let cart = rows.iter().find(|l| l.contains("/cart")).unwrap();
    assert!(cart.contains("10/s"), "{cart}");
    // The selected series in full below the chart.
    assert!(
        screen.contains("■ donut-shop http.request.method=POST"),
        "{screen}"
    );
}

#[test]
fn tab_completes_values_and_cycles_and_a_typo_gets_a_hint() {
    let mut app = app_with(full_store(), (120, 30));
    let typed = |app: &mut App, text: &str| {
        for c in text.chars() {
            app.update(Action::Edit(Edit::Insert(c)));
        }
    };
    app.update(Action::StartFilter);
    typed(&mut app, "service=");
    app.update(Action::FilterComplete);
    let line = app.input.as_ref().unwrap();
    assert_eq!(line.completions, ["frontend", "payments", "worker"]);
    // Each Tab after that puts the next candidate in, shown in the list.
    app.update(Action::FilterComplete);
    assert_eq!(app.input_text().as_deref(), Some("service=frontend"));
    app.update(Action::FilterComplete);
    assert_eq!(app.input_text().as_deref(), Some("service=payments"));
    assert!(draw(&app).contains("[payments]"), "{}", draw(&app));
    app.update(Action::FilterCancel);
    // A key no one sends: a hint, and the query still applies.
    app.update(Action::StartFilter);
    typed(&mut app, "servce=frontend");
    let screen = draw(&app);
    assert!(
        screen.contains("no field or attribute \"servce\": did you mean service?"),
        "{screen}"
    );
    app.update(Action::FilterApply);
    assert_eq!(list(&app).filter.as_deref(), Some("servce=frontend"));
}

#[test]
fn errors_and_matches_are_marked_without_colour() {
    // The checkout trace has failing spans; filtered for one name, the rest dimmed.
    let mut app = app_with(full_store(), (120, 30));
    app.apply_filter("name=\"POST /pay\"".into());
    app.update(Action::Open);
    let mut buf = draw_buffer(&app);
    crate::tui::theme::strip_colors(&mut buf);
    let screen: Vec<String> = (0..buf.area.height)
        .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect())
        .collect();
    let pay = screen.iter().find(|l| l.contains("POST /pay")).unwrap();
    assert!(pay.contains("› POST /pay"), "{pay}");
    assert!(
        screen.iter().any(|l| l.contains("payments ✖ pay ")),
        "{screen:#?}"
    );
}

#[test]
fn a_jump_to_a_span_in_a_folded_run_unfolds_it() {
    let mut app = app_with(n_plus_one(), (100, 24));
    app.apply_filter("name=\"SELECT order\"".into());
    app.update(Action::Open);
    // Opened from the filtered list: every span shown, the rest dimmed, a match selected.
    let selected = |app: &App| {
        let view = trace(app);
        let store = app.store.lock();
        let t = store.trace(view.trace).unwrap();
        store
            .str(t.spans()[view.selected_span().unwrap()].name)
            .to_owned()
    };
    assert_eq!(trace(&app).visible.len(), 7);
    assert_eq!(selected(&app), "SELECT order");
    app.update(Action::ToggleRuns);
    assert_eq!(trace(&app).visible.len(), 4);
    // n lands in the folded run: it unfolds, the match selected.
    app.update(Action::FindNext);
    assert_eq!(trace(&app).visible.len(), 7, "the run unfolded");
    assert_eq!(selected(&app), "SELECT order");
}

#[test]
fn the_critical_path_and_self_time() {
    let mut app = app_with(n_plus_one(), (100, 24));
    app.update(Action::Open);
    app.update(Action::ToggleCritical);
    let notice = app.cx.notice.clone().unwrap();
    assert!(notice.contains("critical path: 100.00ms"), "{notice}");
    let view = trace(&app);
    let store = app.store.lock();
    let t = store.trace(view.trace).unwrap();
    let on = |name: &str| {
        let i = t
            .spans()
            .iter()
            .position(|s| store.str(s.name) == name)
            .unwrap();
        (view.timing(i).critical_ns, view.timing(i).self_ns)
    };
    // audit runs in parallel with render, which ends last: not on the path.
    assert_eq!(on("audit").0, 0);
    assert_eq!(on("render").0, 40_000_000);
    // The root waits 10 ms before the first SELECT and 10 ms between the SELECTs and render.
    assert_eq!(on("GET /orders"), (20_000_000, 15_000_000));
    drop(store);
    app.update(Action::ToggleSelfTime);
    let screen = draw(&app);
    assert!(screen.contains("SELF"), "{screen}");
    assert!(screen.contains("SPAN · critical path 100.00ms"), "{screen}");
    let root = screen
        .lines()
        .find(|l| l.contains("GET /orders") && l.contains("15.00ms"));
    assert!(root.is_some(), "{screen}");
    assert_snapshot!(screen);
}

#[test]
fn a_latency_scatter_sits_above_the_list_and_follows_the_selection() {
    let mut store = sample_store();
    for i in 0..40u64 {
        let start = T0 + 300_000_000 + i * 10_000_000;
        store.ingest(batch(
            "load",
            vec![span(
                0x1000 + u128::from(i),
                1,
                0,
                start,
                start + 1_000_000 * (1 + i % 7),
                "GET /load",
            )],
        ));
    }
    let mut app = app_with(store, (100, 30));
    let screen = draw(&app);
    assert!(
        screen.contains("duration (log) over start time"),
        "{screen}"
    );
    assert!(
        screen.contains('◆'),
        "the selected trace is marked: {screen}"
    );
    assert_snapshot!(screen);
    let marked_at = |app: &App| {
        draw(app)
            .lines()
            .position(|l| l.contains('◆'))
            .expect("a marked dot")
    };
    // The newest trace takes 5 ms; the checkout one 120 ms sits higher.
    let newest = marked_at(&app);
    app.update(Action::Bottom);
    assert!(marked_at(&app) < newest, "the slow trace's dot is higher");
    // S hides it and gives its rows to the list.
    let rows = app.cx.layout(app.view().shape()).body.height;
    app.update(Action::ToggleChart);
    assert!(!draw(&app).contains("duration (log)"));
    assert!(app.cx.layout(app.view().shape()).body.height > rows);
}

#[test]
fn a_trace_opened_from_a_filtered_list_dims_what_did_not_match() {
    let mut app = app_with(three_traces(), (100, 24));
    app.update(Action::StartFilter);
    for c in "name=grandchild".chars() {
        app.update(Action::Edit(Edit::Insert(c)));
    }
    app.update(Action::FilterApply);
    assert_eq!(list(&app).rows.len(), 1);
    app.update(Action::Open);
    let view = trace(&app);
    assert_eq!(view.visible.len(), 4, "nothing hidden");
    assert!(!view.hide_unmatched);
    let store = app.store.lock();
    let t = store.trace(view.trace).unwrap();
    let selected = view.selected_span().unwrap();
    assert_eq!(store.str(t.spans()[selected].name), "grandchild");
    assert!(!view.dimmed(selected));
    assert_eq!((0..4).filter(|&i| view.dimmed(i)).count(), 3);
    drop(store);
    let screen = draw(&app);
    assert!(
        screen.contains("SPAN · 1 match, rest dimmed (H) · name"),
        "{screen}"
    );
    // One Esc: back to the list, still filtered.
    app.update(Action::Back);
    assert_eq!(list(&app).rows.len(), 1);
}

#[test]
fn capital_r_without_jaeger_says_how_to_get_one() {
    let mut app = app_with(three_traces(), (100, 24));
    app.update(Action::SearchJaeger);
    assert!(
        app.cx
            .notice
            .as_deref()
            .unwrap()
            .contains("--jaeger http://HOST:16686"),
        "{:?}",
        app.cx.notice
    );
}

#[test]
fn capital_r_never_shows_the_jaegers_password() {
    let mut app = app_with(three_traces(), (160, 24));
    app.jaeger = Some(crate::server::load::JaegerJob {
        // Nothing listens on port 1: the search fails at once, and says where it went.
        url: "http://alice:hunter2@127.0.0.1:1".into(),
        headers: Vec::new(),
        filter: None,
        since: std::time::Duration::from_secs(60),
        limit: 10,
        max_bytes: 1024 * 1024,
    });
    app.update(Action::SearchJaeger);
    let searching = format!("{:?} {}", app.cx.notice, draw(&app));
    assert!(searching.contains("alice:***@127.0.0.1:1"), "{searching}");
    let load = Arc::clone(app.load.as_ref().unwrap());
    while !load.done.load(std::sync::atomic::Ordering::Relaxed) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    app.cx.notice = None;
    app.refresh(Instant::now());
    let failed = draw(&app);
    assert!(failed.contains("alice:***@127.0.0.1:1"), "{failed}");
    for text in [searching, failed, load.summary().unwrap()] {
        assert!(!text.contains("hunter2"), "{text}");
    }
}
