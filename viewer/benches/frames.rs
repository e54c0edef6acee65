//! Frame times (drawing `&App` to a `TestBackend`) and the filter, over large stores: the trace
//! list with 1,000,000 spans held, the trace view of a 100,000-span trace, the span detail of
//! a span with 500 attributes, and a filter over 1,000,000 spans; metric charts of 50 series
//! of 1,000 points (a gauge, a counter drawn as its rate, a histogram); switching views (tabs,
//! a log's detail, a metric's chart) with 1,000,000 spans and 1,000,000 log records held.
//!
//! `cargo bench -p viewer --bench frames`

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use parking_lot::Mutex;
use prost::Message as _;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use viewer::ingest::Counters;
use viewer::model::{
    Histogram, MetricBatch, MetricKind, MetricResource, MetricScope, NewMetric, NewPoint,
    PointValue, Value,
};
use viewer::query::SpanFilter;
use viewer::receiver::convert::{self, Limits};
use viewer::store::Store;
use viewer::tui::action::Action;
use viewer::tui::app::{App, Tab};
use viewer::tui::views::{LogDetail, MetricChart};

/// The allocator the viewer binary uses (see `src/main.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../../demo-client/src/loadgen/template.rs"]
#[allow(dead_code)]
mod template;

#[path = "../../demo-client/src/loadgen/logs.rs"]
#[allow(dead_code)]
mod logs;

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

/// Adds `requests` requests of `loadgen --signal logs` records (5 per trace, 5 attributes,
/// bodies of 40-80 characters that differ record to record), trace ids from 1, through the
/// receiver's conversion.
fn add_logs(store: &mut Store, requests: usize) {
    let shape = Shape::for_batch(4, 5, 500);
    let t = logs::LogTemplate::new(shape, T0);
    let limits = Limits::default();
    let mut bytes = Vec::new();
    for i in 0..requests {
        t.render(1 + (i * shape.traces_per_request) as u128, &mut bytes);
        let req = ExportLogsServiceRequest::decode(bytes.as_slice()).unwrap();
        store.ingest_logs(convert::log_request(req, &limits).0);
    }
}

/// What a chart bench draws.
#[derive(Clone, Copy)]
enum Chart {
    Gauge,
    Counter,
    Histogram,
}

/// The semantic conventions' default duration buckets (seconds).
const BOUNDS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Adds one metric of `series` series with `points` points each, one a second: gauges wave,
/// counters grow at a rate that waves, histograms' cumulative counts grow with a distribution
/// that drifts over time.
#[allow(clippy::cast_precision_loss)]
fn add_metric(store: &mut Store, chart: Chart, series: usize, points: usize) {
    let (name, unit, kind) = match chart {
        Chart::Gauge => ("process.memory.usage", "By", MetricKind::Gauge),
        Chart::Counter => (
            "http.server.requests",
            "{request}",
            MetricKind::Sum {
                monotonic: true,
                delta: false,
            },
        ),
        Chart::Histogram => (
            "http.server.request.duration",
            "s",
            MetricKind::Histogram { delta: false },
        ),
    };
    let bounds: Arc<[f64]> = BOUNDS.into();
    let mut totals = vec![0.0f64; series];
    let mut buckets = vec![vec![0u64; BOUNDS.len() + 1]; series];
    for t in 0..points {
        let time = T0 + t as u64 * 1_000_000_000;
        let wave = |s: usize| ((t as f64 / 40.0) + s as f64).sin();
        let points = (0..series)
            .map(|s| {
                let value = match chart {
                    Chart::Gauge => PointValue::Number(5e7 + 1e6 * s as f64 + 4e5 * wave(s)),
                    Chart::Counter => {
                        totals[s] += 20.0 + s as f64 + 10.0 * wave(s);
                        PointValue::Number(totals[s])
                    }
                    Chart::Histogram => {
                        let peak = 4 + (t / 100 + s) % 6;
                        for (b, c) in buckets[s].iter_mut().enumerate() {
                            *c += 32 >> b.abs_diff(peak).min(5);
                        }
                        let count = buckets[s].iter().sum();
                        PointValue::Histogram(Box::new(Histogram {
                            count,
                            sum: Some(count as f64 * 0.08),
                            min: Some(0.001),
                            max: Some(9.5),
                            bounds: Arc::clone(&bounds),
                            counts: buckets[s].clone().into(),
                        }))
                    }
                };
                NewPoint {
                    attrs: vec![
                        ("http.request.method".into(), Value::Str("GET".into())),
                        (
                            "http.route".into(),
                            Value::Str(format!("/api/v1/resource{s}/{{id}}").into()),
                        ),
                    ],
                    start: T0 - 1_000_000_000,
                    time,
                    value,
                    exemplars: Vec::new(),
                }
            })
            .collect();
        store.ingest_metrics(MetricBatch {
            resources: vec![MetricResource {
                attrs: vec![("service.name".into(), Value::Str("bench".into()))],
                scopes: vec![MetricScope {
                    name: "bench".into(),
                    version: "1".into(),
                    metrics: vec![NewMetric {
                        name: name.into(),
                        description: "a chart bench's metric".into(),
                        unit: unit.into(),
                        kind,
                        points,
                    }],
                }],
            }],
            rejected: 0,
        });
    }
}

/// Times one step (an action and the frame after it), the screen before it drawn untimed,
/// after `before` puts the app where the step starts.
fn bench_step(
    c: &mut Criterion,
    name: &str,
    app: &mut App,
    before: &[Action],
    step: &Action,
    check: impl Fn(&App),
) {
    let mut terminal = Terminal::new(TestBackend::new(SIZE.0, SIZE.1)).unwrap();
    for a in before {
        app.update(a.clone());
    }
    app.update(step.clone());
    check(app);
    c.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                for a in before {
                    app.update(a.clone());
                }
                terminal.draw(|f| f.render_widget(&*app, f.area())).unwrap();
                let t = Instant::now();
                app.update(step.clone());
                terminal.draw(|f| f.render_widget(&*app, f.area())).unwrap();
                total += t.elapsed();
            }
            total
        });
    });
}

/// Where a chart's time goes: 50 lines of 266 points each (1,000 points thinned to twice the
/// width, as the chart view does) drawn by ratatui's `Chart` (one `Dataset` each) and by one
/// `Canvas` painting every line on one layer.
fn chart_drawing(c: &mut Criterion) {
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    use ratatui::style::{Color, Style};
    use ratatui::symbols::Marker;
    use ratatui::widgets::canvas::{Canvas, Line as CanvasLine};
    use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Widget};

    let area = Rect::new(0, 0, 133, 44);
    #[allow(clippy::cast_precision_loss)]
    let lines: Vec<Vec<(f64, f64)>> = (0..50)
        .map(|s| {
            (0..266)
                .map(|i| {
                    let x = -266.0 + f64::from(i);
                    (
                        x,
                        100.0 + 10.0 * s as f64 + 30.0 * (x / 20.0 + s as f64).sin(),
                    )
                })
                .collect()
        })
        .collect();
    let colors = [
        Color::Cyan,
        Color::Yellow,
        Color::Green,
        Color::Magenta,
        Color::Red,
    ];
    let mut g = c.benchmark_group("chart_drawing");
    g.bench_function("ratatui_chart_50_datasets", |b| {
        let mut buf = Buffer::empty(area);
        b.iter(|| {
            let datasets: Vec<Dataset<'_>> = lines
                .iter()
                .enumerate()
                .map(|(i, pts)| {
                    Dataset::default()
                        .marker(Marker::Braille)
                        .graph_type(GraphType::Line)
                        .style(Style::new().fg(colors[i % colors.len()]))
                        .data(pts)
                })
                .collect();
            Chart::new(datasets)
                .x_axis(Axis::default().bounds([-266.0, 0.0]))
                .y_axis(Axis::default().bounds([0.0, 700.0]))
                .render(area, &mut buf);
        });
    });
    g.bench_function("one_canvas_layer_50_lines", |b| {
        let mut buf = Buffer::empty(area);
        b.iter(|| {
            Canvas::default()
                .marker(Marker::Braille)
                .x_bounds([-266.0, 0.0])
                .y_bounds([0.0, 700.0])
                .paint(|ctx| {
                    for (i, pts) in lines.iter().enumerate() {
                        let color = colors[i % colors.len()];
                        for w in pts.windows(2) {
                            ctx.draw(&CanvasLine::new(w[0].0, w[0].1, w[1].0, w[1].1, color));
                        }
                    }
                })
                .render(area, &mut buf);
        });
    });
    g.finish();
}

/// Metric charts of 50 series of 1,000 points.
fn charts(c: &mut Criterion) {
    chart_drawing(c);
    for (name, chart) in [
        ("frame/chart_gauge_50x1000", Chart::Gauge),
        ("frame/chart_counter_rate_50x1000", Chart::Counter),
        ("frame/chart_histogram_50x1000", Chart::Histogram),
    ] {
        let mut store = Store::new(1_000);
        add_metric(&mut store, chart, 50, 1_000);
        let m = store.stats().metrics;
        assert_eq!((m.series, m.points), (50, 50_000));
        let mut app = app_of(store);
        app.update(Action::GoTab(Tab::Metrics));
        app.update(Action::Open);
        assert!(app.view_as::<MetricChart>().is_some());
        bench_draw(c, name, &app);
    }
}

/// Switching views with 1,000,000 spans and 1,000,000 log records held (and a 50-series metric).
fn switches(c: &mut Criterion, app: &mut App) {
    {
        let mut store = app.store.lock();
        add_logs(&mut store, 2_000);
        add_metric(&mut store, Chart::Gauge, 50, 1_000);
        let s = store.stats();
        // (The refresh benches above added a few traces.)
        assert!(s.traces.spans >= 1_000_000, "{s:?}");
        assert_eq!(s.logs.records, 1_000_000);
    }
    app.refresh(Instant::now());
    // Every tab in turn (Traces, Logs, Metrics, Traces, ...): the mean of the three switches.
    {
        let mut terminal = Terminal::new(TestBackend::new(SIZE.0, SIZE.1)).unwrap();
        c.bench_function("switch/next_tab_cycle_1m_spans_1m_logs", |b| {
            b.iter(|| {
                app.update(Action::NextTab);
                terminal.draw(|f| f.render_widget(&*app, f.area())).unwrap();
            });
        });
    }
    let tab = |t: Tab| move |app: &App| assert_eq!(app.tab, t);
    bench_step(
        c,
        "switch/traces_to_logs",
        app,
        &[Action::GoTab(Tab::Traces)],
        &Action::NextTab,
        tab(Tab::Logs),
    );
    bench_step(
        c,
        "switch/logs_to_metrics",
        app,
        &[Action::GoTab(Tab::Logs)],
        &Action::NextTab,
        tab(Tab::Metrics),
    );
    bench_step(
        c,
        "switch/metrics_to_traces",
        app,
        &[Action::GoTab(Tab::Metrics)],
        &Action::NextTab,
        tab(Tab::Traces),
    );
    // A log's detail, opened from the list (newest record selected) and closed again.
    bench_step(
        c,
        "switch/log_list_to_detail",
        app,
        &[Action::GoTab(Tab::Logs), Action::Back],
        &Action::Open,
        |app| assert!(app.view_as::<LogDetail>().is_some()),
    );
    bench_step(
        c,
        "switch/log_detail_to_list",
        app,
        &[Action::GoTab(Tab::Logs), Action::Back, Action::Open],
        &Action::Back,
        |app| assert_eq!(app.depth(), 1),
    );
    // The metric's chart (50 series of 1,000 points), opened from the list.
    bench_step(
        c,
        "switch/metric_list_to_chart",
        app,
        &[Action::GoTab(Tab::Metrics), Action::Back],
        &Action::Open,
        |app| assert!(app.view_as::<MetricChart>().is_some()),
    );
}

fn frames(c: &mut Criterion) {
    charts(c);

    // 1,000,000 spans: 100,000 traces of 10 spans with 14 attributes each.
    let million = app_of(store_of(Shape::for_batch(9, 14, 500), 2_000));
    assert_eq!(million.store.lock().stats().traces.spans, 1_000_000);
    {
        let store = million.store.lock();
        let mut g = c.benchmark_group("filter_1m_spans");
        g.sample_size(10);
        let run = |q: &str| {
            SpanFilter::parse(q, &store)
                .expect("a valid query")
                .expect("not empty")
                .traces(&store)
        };
        // Nothing matches: every span's name and attribute values are searched.
        g.bench_function("no_match", |b| {
            b.iter(|| black_box(run("nothing-like-this")));
        });
        // A digit string: integer attribute values are searched too.
        g.bench_function("number", |b| {
            b.iter(|| black_box(run("4040")));
        });
        g.bench_function("everything_matches", |b| {
            b.iter(|| black_box(run("items")));
        });
        // The query language: conditions on fields, an attribute, and a regular expression.
        g.bench_function("query_fields", |b| {
            b.iter(|| black_box(run("status=error and duration>1ms")));
        });
        g.bench_function("query_attribute", |b| {
            b.iter(|| black_box(run("http.response.status_code>=500")));
        });
        g.bench_function("query_regex_or_not", |b| {
            b.iter(|| {
                black_box(run(
                    "(name=~\"GET /(cart|items).*\" or service!=api) and not kind=internal",
                ))
            });
        });
        g.finish();
        // The service map over every trace held (built when opened, and on `r`).
        let mut g = c.benchmark_group("analysis_1m_spans");
        g.sample_size(10);
        g.bench_function("service_map", |b| {
            b.iter(|| {
                black_box(viewer::analysis::service_map(
                    &store,
                    store.traces_by_arrival(),
                ))
            });
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
    switches(c, &mut bottom);
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
    {
        // What opening (or a change to) the trace computes: its tree and its analyses.
        let store = big.store.lock();
        let r = store.traces_by_arrival().next().unwrap();
        let spans = store.trace(r).unwrap().spans();
        let tree = viewer::store::tree::Tree::build(spans);
        let service_of = |s: &viewer::model::Span| store.resource(s.resource).service;
        let mut g = c.benchmark_group("analysis_100k_span_trace");
        g.sample_size(10);
        g.bench_function("tree", |b| {
            b.iter(|| black_box(viewer::store::tree::Tree::build(spans)));
        });
        g.bench_function("critical_path", |b| {
            b.iter(|| black_box(viewer::analysis::critical_path(spans, &tree)));
        });
        g.bench_function("self_time", |b| {
            b.iter(|| black_box(viewer::analysis::self_time(spans, &tree)));
        });
        g.bench_function("runs", |b| {
            b.iter(|| black_box(viewer::analysis::runs(spans, &tree, service_of)));
        });
        g.bench_function("stats", |b| {
            b.iter(|| black_box(viewer::analysis::stats(spans, &tree, service_of)));
        });
        g.finish();
    }
    c.bench_function("open/trace_view_100k_spans", |b| {
        b.iter(|| {
            big.update(Action::Open);
            big.update(Action::Back);
        });
    });
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
