//! Frame times (drawing `&App` to a `TestBackend`) and the filter, over large stores: the trace
//! list with 1,000,000 spans held, the trace view of a 100,000-span trace, the span detail of
//! a span with 500 attributes, and a filter over 1,000,000 spans.
//!
//! `cargo bench -p viewer --bench frames`

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use parking_lot::Mutex;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use viewer::ingest::Counters;
use viewer::receiver::convert::{self, Limits};
use viewer::store::Store;
use viewer::store::filter::Query;
use viewer::tui::action::Action;
use viewer::tui::app::App;

/// The allocator the viewer binary uses (see `src/main.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../../demo-client/src/loadgen/template.rs"]
#[allow(dead_code)]
mod template;

use template::Shape;

const T0: u64 = 1_700_000_000_000_000_000;
const SIZE: (u16, u16) = (200, 50);

/// A store holding `requests` requests of `shape` (typical attributes), trace ids from 1.
fn store_of(shape: Shape, requests: usize) -> Store {
    let mut store = Store::new(usize::MAX);
    let limits = Limits::default();
    for i in 0..requests {
        let base = 1 + (i * shape.traces_per_request) as u128;
        let req = template::request(&shape, T0 + i as u64 * 1_000_000, Some(base));
        store.ingest(convert::trace_request(req, &limits).0);
    }
    store
}

fn app_of(store: Store) -> App {
    let mut app = App::new(
        Arc::new(Mutex::new(store)),
        Arc::new(Counters::default()),
        "127.0.0.1:4317".parse().unwrap(),
        "127.0.0.1:4318".parse().unwrap(),
        SIZE,
    );
    app.refresh(Instant::now());
    app
}

fn bench_draw(c: &mut Criterion, name: &str, app: &App) {
    let mut terminal = Terminal::new(TestBackend::new(SIZE.0, SIZE.1)).unwrap();
    c.bench_function(name, |b| {
        b.iter(|| {
            terminal.draw(|f| f.render_widget(app, f.area())).unwrap();
        });
    });
}

/// One request of `shape` ingested with new trace ids, then the list refreshed.
fn bench_refresh(c: &mut Criterion, name: &str, app: &mut App, shape: Shape) {
    let limits = Limits::default();
    let mut now = Instant::now();
    let mut next_id = 10_000_000u128;
    let mut g = c.benchmark_group("refresh");
    g.sample_size(10);
    g.bench_function(name, |b| {
        b.iter(|| {
            let req = template::request(&shape, T0, Some(next_id));
            next_id += shape.traces_per_request as u128;
            app.store
                .lock()
                .ingest(convert::trace_request(req, &limits).0);
            now += std::time::Duration::from_secs(1);
            black_box(app.refresh(now));
        });
    });
    g.finish();
}

fn frames(c: &mut Criterion) {
    // 1,000,000 spans: 100,000 traces of 10 spans with 14 attributes each.
    let million = app_of(store_of(Shape::for_batch(9, 14, 500), 2_000));
    assert_eq!(million.store.lock().stats().traces.spans, 1_000_000);
    {
        let store = million.store.lock();
        let mut g = c.benchmark_group("filter_1m_spans");
        g.sample_size(10);
        // Nothing matches: every span's name and attribute values are searched.
        g.bench_function("no_match", |b| {
            b.iter(|| black_box(store.filter(&Query::new("nothing-like-this"))));
        });
        // A digit string: integer attribute values are searched too.
        g.bench_function("number", |b| {
            b.iter(|| black_box(store.filter(&Query::new("4040"))));
        });
        g.bench_function("everything_matches", |b| {
            b.iter(|| black_box(store.filter(&Query::new("items"))));
        });
        g.finish();
    }
    bench_draw(c, "frame/trace_list_1m_spans", &million);

    // Input to frame: a key's action carried out, then the frame drawn (terminal I/O aside).
    let mut million = million;
    {
        let mut terminal = Terminal::new(TestBackend::new(SIZE.0, SIZE.1)).unwrap();
        let mut down = true;
        c.bench_function("input_to_frame/list_1m_spans", |b| {
            b.iter(|| {
                million.update(if down { Action::Down } else { Action::Up });
                down = !down;
                terminal
                    .draw(|f| f.render_widget(&million, f.area()))
                    .unwrap();
            });
        });
    }
    // While following: new data arrives, the list is rebuilt from the store (at most every
    // 200 ms), under the store's lock.
    bench_refresh(
        c,
        "list_1m_spans_after_new_data",
        &mut million,
        Shape::for_batch(9, 14, 500),
    );
    // The worst case for the list: 1,000,000 one-span traces.
    let one_span = Shape {
        child_spans: 0,
        attributes: 2,
        traces_per_request: 500,
        varied: false,
    };
    let mut traces = app_of(store_of(one_span, 2_000));
    bench_refresh(c, "list_1m_traces_after_new_data", &mut traces, one_span);
    drop(traces);
    let mut bottom = million;
    bottom.update(Action::Bottom);
    bench_draw(c, "frame/trace_list_1m_spans_bottom", &bottom);
    drop(bottom);

    // One trace of 100,000 spans (a heap-shaped tree, 17 levels deep).
    let mut big = app_of(store_of(
        Shape {
            child_spans: 99_999,
            attributes: 4,
            traces_per_request: 1,
            varied: false,
        },
        1,
    ));
    big.update(Action::Open);
    bench_draw(c, "frame/trace_view_100k_spans", &big);
    big.update(Action::Bottom);
    bench_draw(c, "frame/trace_view_100k_spans_bottom", &big);
    drop(big);

    // One span with 500 attributes, full screen and as the pane under the tree.
    let mut wide = app_of(store_of(
        Shape {
            child_spans: 0,
            attributes: 500,
            traces_per_request: 1,
            varied: false,
        },
        1,
    ));
    wide.update(Action::Open);
    bench_draw(c, "frame/span_detail_500_attrs_pane", &wide);
    wide.update(Action::Open);
    bench_draw(c, "frame/span_detail_500_attrs", &wide);
    wide.update(Action::Bottom);
    bench_draw(c, "frame/span_detail_500_attrs_bottom", &wide);
}

criterion_group!(benches, frames);
criterion_main!(benches);
