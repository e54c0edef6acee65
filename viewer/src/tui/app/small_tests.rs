//! Every view on a classic 80x24 terminal, with the demos' kind of names: each screen's key
//! facts must show (durations and counts never cut, names ellipsised before the bar, `? help`
//! in the status bar). Snapshots, and the facts checked one by one.

use insta::assert_snapshot;

use super::tests::{app_with, draw, full_store};
use super::*;
use crate::model::{SpanKind, StatusCode, Value};
use crate::store::Store;
use crate::store::tests::{batch, span};

const T0: u64 = 1_764_000_000_000_000_000;
const MS: u64 = 1_000_000;

/// An "order donuts" trace: demo-client → donut-shop → kitchen, three add_donut calls.
fn donuts() -> Store {
    let mut store = full_store();
    let id = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736;
    let mut root = span(id, 1, 0, T0, T0 + 4_200 * MS, "GET /order");
    root.kind = SpanKind::Client;
    store.ingest(batch("demo-client", vec![root]));
    let mut shop = span(id, 2, 1, T0 + 5 * MS, T0 + 4_190 * MS, "POST /order_donuts");
    shop.kind = SpanKind::Server;
    let mut spans = vec![shop];
    for k in 0..3u64 {
        let mut call = span(
            id,
            10 + k,
            2,
            T0 + (10 + k * 1_000) * MS,
            T0 + (900 + k * 1_000) * MS,
            "POST /kitchen/add_donut",
        );
        call.kind = SpanKind::Client;
        spans.push(call);
    }
    store.ingest(batch("donut-shop", spans));
    let mut kitchen = Vec::new();
    for k in 0..3u64 {
        let mut s = span(
            id,
            20 + k,
            10 + k,
            T0 + (15 + k * 1_000) * MS,
            T0 + (890 + k * 1_000) * MS,
            "POST /kitchen/add_donut",
        );
        s.kind = SpanKind::Server;
        s.attrs = vec![(
            "donut.flavor".into(),
            Value::Str("glazed-with-extra-sprinkles".into()),
        )];
        if k == 2 {
            s.status = StatusCode::Error;
            s.status_message = "out of sprinkles".into();
        }
        kitchen.push(s);
    }
    store.ingest(batch("kitchen", kitchen));
    store
}

/// The status bar's line: the last one.
fn status(screen: &str) -> &str {
    screen.lines().last().unwrap_or("")
}

#[test]
fn the_trace_list_at_80x24() {
    let app = app_with(donuts(), (80, 24));
    let screen = draw(&app);
    assert_snapshot!("list_80x24", screen);
    assert!(status(&screen).ends_with("? help"), "{screen}");
    let row = screen.lines().find(|l| l.contains("GET /order")).unwrap();
    assert!(row.contains("4.20s"), "the duration is whole: {row}");
}

#[test]
fn a_trace_at_80x24() {
    let mut app = app_with(donuts(), (80, 24));
    app.update(Action::Open);
    let screen = draw(&app);
    assert_snapshot!("trace_80x24", screen);
    let title = screen.lines().next().unwrap();
    assert!(
        title.contains("4.20s") && title.contains("✖ 1 error"),
        "{title}"
    );
    // A name too long for its column ends with `…` and a gap before the bar.
    let row = screen.lines().find(|l| l.contains("kitchen")).unwrap();
    assert!(
        !row.contains("add_donut█") && !row.contains("add_d█"),
        "{row}"
    );
    assert!(status(&screen).ends_with("? help"), "{screen}");
    for view in [Action::Open, Action::Back, Action::ShowStats] {
        app.update(view);
    }
    let screen = draw(&app);
    assert_snapshot!("stats_80x24", screen);
}

#[test]
fn logs_and_metrics_at_80x24() {
    let mut app = app_with(donuts(), (80, 24));
    app.update(Action::GoTab(Tab::Logs));
    assert_snapshot!("logs_80x24", draw(&app));
    app.update(Action::Open);
    assert_snapshot!("log_detail_80x24", draw(&app));
    app.update(Action::GoTab(Tab::Metrics));
    let screen = draw(&app);
    assert_snapshot!("metrics_80x24", screen);
    app.update(Action::Top);
    app.update(Action::Open);
    let screen = draw(&app);
    assert_snapshot!("histogram_80x24", screen);
    // Bucket labels keep their unit.
    assert!(!screen.contains("≤100m "), "{screen}");
}

#[test]
fn bucket_labels_are_never_cut() {
    use crate::model::{Histogram, MetricBatch, MetricKind, MetricResource, MetricScope};
    use crate::model::{NewMetric, NewPoint, PointValue};
    // The SDKs' default duration buckets: 15 of them, labels up to 7 characters.
    let bounds = [
        0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    ];
    let mut store = Store::new(10);
    store.ingest_metrics(MetricBatch {
        resources: vec![MetricResource {
            attrs: vec![("service.name".into(), Value::Str("kitchen".into()))],
            scopes: vec![MetricScope {
                metrics: vec![NewMetric {
                    name: "http.server.request.duration".into(),
                    unit: "s".into(),
                    kind: MetricKind::Histogram { delta: false },
                    points: vec![NewPoint {
                        attrs: Vec::new(),
                        start: T0,
                        time: T0 + 1_000 * MS,
                        value: PointValue::Histogram(Box::new(Histogram {
                            count: 15,
                            sum: Some(1.0),
                            min: None,
                            max: None,
                            bounds: bounds.to_vec().into(),
                            counts: vec![1; 15].into(),
                        })),
                        exemplars: Vec::new(),
                    }],
                    description: String::new(),
                }],
                ..MetricScope::default()
            }],
        }],
        rejected: 0,
    });
    let mut app = app_with(store, (80, 24));
    app.update(Action::GoTab(Tab::Metrics));
    app.update(Action::Open);
    let screen = draw(&app);
    let labels = screen
        .lines()
        .find(|l| l.trim_start().starts_with('≤'))
        .unwrap_or_else(|| panic!("{screen}"));
    for label in labels.split_whitespace() {
        assert!(label.ends_with('s'), "{label:?} cut: {labels}");
    }
}

#[test]
fn the_service_map_and_compare_at_80x24() {
    let mut app = app_with(donuts(), (80, 24));
    app.update(Action::ServiceMap);
    assert_snapshot!("service_map_80x24", draw(&app));
}
