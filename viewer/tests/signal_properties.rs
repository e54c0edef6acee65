//! Property-based tests of the log and metric stores: random batches of records and points,
//! interleaved with spans and with compactions of the shared catalog, under small caps, checked
//! against plain reference models after every step.
//!
//! Invariants:
//! - nothing panics (stores, filter, text report);
//! - the log store holds exactly the newest `max_logs` records in arrival order, each reading
//!   back its own service, body and attributes (also after the catalog is compacted), and its
//!   trace index gives exactly each trace's records;
//! - log counts add up: `received == records + evicted + rejected`;
//! - each metric series holds exactly the points the model keeps (older-than-newest points
//!   dropped, a re-sent time replaced, delta points accumulated, the ring's oldest dropped),
//!   never more series than `max_series`;
//! - metric counts add up:
//!   `received == points + evicted + series_dropped + out_of_order + replaced + rejected`.

use std::collections::VecDeque;

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::FileFailurePersistence;
use viewer::ingest::Counters;
use viewer::model::{
    Batch, LogBatch, LogResource, LogScope, MetricBatch, MetricKind, MetricResource, MetricScope,
    NewLogRecord, NewMetric, NewPoint, OwnedResource, OwnedScope, OwnedSpan, PointValue, Severity,
    Value,
};
use viewer::store::Store;

const SERVICES: [&str; 3] = ["api", "db\x1b[31m", "Ünïcode"];
const BODIES: [&str; 4] = ["GET / 200", "boom\nstack", "a\x1b]0;pwned\x07", ""];
const TRACES: [u128; 3] = [0, 7, u128::MAX];

#[derive(Clone, Debug)]
enum Step {
    Logs(Vec<(usize, u128, u64, u8, usize)>, u64),
    Points(Vec<PointSpec>),
    Spans(u128),
    Compact,
}

#[derive(Clone, Debug)]
struct PointSpec {
    service: usize,
    metric: usize,
    attr: usize,
    time: u64,
    value: i32,
}

/// Metric names and kinds: cumulative counter, delta counter, gauge.
const METRICS: [(&str, MetricKind); 3] = [
    (
        "requests",
        MetricKind::Sum {
            monotonic: true,
            delta: false,
        },
    ),
    (
        "bytes",
        MetricKind::Sum {
            monotonic: true,
            delta: true,
        },
    ),
    ("queue", MetricKind::Gauge),
];

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (
            prop::collection::vec(
                (0..SERVICES.len(), select(&TRACES[..]), 0..3u64, 0..25u8, 0..BODIES.len()),
                0..6,
            ),
            0..2u64,
        )
            .prop_map(|(r, rejected)| Step::Logs(r, rejected)),
        4 => prop::collection::vec(
            (0..2usize, 0..METRICS.len(), 0..4usize, 0..20u64, -5..50i32).prop_map(
                |(service, metric, attr, time, value)| PointSpec {
                    service,
                    metric,
                    attr,
                    time,
                    value,
                }
            ),
            0..6,
        )
        .prop_map(Step::Points),
        1 => select(&TRACES[1..]).prop_map(Step::Spans),
        1 => Just(Step::Compact),
    ]
}

fn span_batch(service: &str, trace: u128) -> Batch {
    Batch::from_owned(
        vec![OwnedResource {
            attrs: vec![("service.name".into(), Value::Str(service.into()))],
            scopes: vec![OwnedScope {
                spans: vec![OwnedSpan {
                    trace_id: trace,
                    span_id: 1,
                    name: "span".into(),
                    ..OwnedSpan::default()
                }],
                ..OwnedScope::default()
            }],
        }],
        0,
    )
}

fn log_batch(records: &[(usize, u128, u64, u8, usize)], rejected: u64) -> LogBatch {
    // One resource per service, in the order first met.
    let mut resources: Vec<LogResource> = Vec::new();
    for &(service, trace, span, severity, body) in records {
        let name = SERVICES[service];
        let record = NewLogRecord {
            time: 1,
            severity,
            body: Value::Str(BODIES[body].into()),
            attrs: vec![("n".into(), Value::Int(i64::from(severity)))],
            trace_id: trace,
            span_id: if trace == 0 { 0 } else { span + 1 },
            ..NewLogRecord::default()
        };
        match resources.last_mut() {
            Some(r) if r.attrs[0].1 == Value::Str(name.into()) => r.scopes[0].records.push(record),
            _ => resources.push(LogResource {
                attrs: vec![("service.name".into(), Value::Str(name.into()))],
                scopes: vec![LogScope {
                    records: vec![record],
                    ..LogScope::default()
                }],
            }),
        }
    }
    LogBatch {
        resources,
        rejected,
    }
}

fn point_batch(points: &[PointSpec]) -> MetricBatch {
    MetricBatch {
        resources: points
            .iter()
            .map(|p| MetricResource {
                attrs: vec![(
                    "service.name".into(),
                    Value::Str(SERVICES[p.service].into()),
                )],
                scopes: vec![MetricScope {
                    metrics: vec![NewMetric {
                        name: METRICS[p.metric].0.into(),
                        description: String::new(),
                        unit: "1".into(),
                        kind: METRICS[p.metric].1,
                        points: vec![NewPoint {
                            attrs: vec![("k".into(), Value::Int(p.attr as i64))],
                            start: 0,
                            time: p.time,
                            value: PointValue::Number(f64::from(p.value)),
                            exemplars: Vec::new(),
                        }],
                    }],
                    ..MetricScope::default()
                }],
            })
            .collect(),
        rejected: 0,
    }
}

/// What a log record should read back as.
#[derive(Clone, Debug, PartialEq)]
struct LogModel {
    service: &'static str,
    trace: u128,
    span: u64,
    severity: u8,
    body: &'static str,
}

/// A series of the model: (service, metric, attr), and its points (time, value).
type SeriesModel = ((usize, usize, usize), VecDeque<(u64, f64)>);

/// The points a series should hold, and the metric model's counts.
#[derive(Default)]
struct MetricModel {
    /// In the order first met.
    series: Vec<SeriesModel>,
    evicted: u64,
    dropped: u64,
    out_of_order: u64,
    replaced: u64,
}

impl MetricModel {
    fn add(&mut self, p: &PointSpec, max_series: usize, max_points: usize) {
        let key = (p.service, p.metric, p.attr);
        let i = match self.series.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None if self.series.len() >= max_series => {
                self.dropped += 1;
                return;
            }
            None => {
                self.series.push((key, VecDeque::new()));
                self.series.len() - 1
            }
        };
        let delta = METRICS[p.metric].1.is_delta();
        let points = &mut self.series[i].1;
        let mut v = f64::from(p.value);
        match points.back_mut() {
            Some(last) if p.time < last.0 => {
                self.out_of_order += 1;
                return;
            }
            Some(last) if delta => v += last.1,
            Some(last) if p.time == last.0 => {
                self.replaced += 1;
                last.1 = v;
                return;
            }
            _ => {}
        }
        points.push_back((p.time, v));
        if points.len() > max_points {
            points.pop_front();
            self.evicted += 1;
        }
    }
}

fn check(
    store: &Store,
    logs: &VecDeque<LogModel>,
    metrics: &MetricModel,
    rejected: u64,
) -> Result<(), TestCaseError> {
    let s = store.stats();
    // Logs.
    prop_assert_eq!(s.logs.records as usize, logs.len());
    prop_assert_eq!(
        s.logs.received,
        s.logs.records + s.logs.evicted + s.logs.rejected
    );
    prop_assert_eq!(s.logs.rejected, rejected);
    let held: Vec<LogModel> = store
        .logs
        .iter()
        .map(|(_, r)| LogModel {
            service: SERVICES
                .into_iter()
                .find(|s| *s == store.catalog.service(r.resource))
                .expect("a known service"),
            trace: r.trace_id,
            span: r.span_id,
            severity: r.severity,
            body: BODIES
                .into_iter()
                .find(|b| *b == store.value_text(&r.body))
                .expect("a known body"),
        })
        .collect();
    prop_assert_eq!(&held, &logs.iter().cloned().collect::<Vec<_>>());
    for (_, r) in store.logs.iter() {
        prop_assert_eq!(r.attrs.len(), 1);
        prop_assert_eq!(store.str(r.attrs[0].key()), "n");
    }
    for t in TRACES.into_iter().filter(|t| *t != 0) {
        let want: Vec<&LogModel> = logs.iter().filter(|l| l.trace == t).collect();
        let got: Vec<u8> = store.logs.of_trace(t).map(|(_, r)| r.severity).collect();
        prop_assert_eq!(got, want.iter().map(|l| l.severity).collect::<Vec<_>>());
        prop_assert_eq!(store.logs.count_of_trace(t), want.len());
        for min in Severity::ALL {
            let seqs = viewer::query::LogFilter::records(None, store, min, Some(t));
            let want_n = want
                .iter()
                .filter(|l| min == Severity::Unspecified || Severity::of(l.severity) >= min)
                .count();
            prop_assert_eq!(seqs.len(), want_n);
        }
    }
    // Metrics.
    let m = &store.metrics;
    prop_assert_eq!(s.metrics.series as usize, metrics.series.len());
    prop_assert_eq!(
        s.metrics.received,
        s.metrics.points
            + s.metrics.evicted
            + s.metrics.series_dropped
            + s.metrics.out_of_order
            + s.metrics.replaced
            + s.metrics.rejected
    );
    prop_assert_eq!(s.metrics.evicted, metrics.evicted);
    prop_assert_eq!(s.metrics.series_dropped, metrics.dropped);
    prop_assert_eq!(s.metrics.out_of_order, metrics.out_of_order);
    prop_assert_eq!(s.metrics.replaced, metrics.replaced);
    for ((service, metric, attr), points) in &metrics.series {
        let found = m.metrics().iter().enumerate().find_map(|(id, def)| {
            if store.str(def.name) != METRICS[*metric].0 {
                return None;
            }
            m.series_of(u32::try_from(id).ok()?).find(|(_, s)| {
                store.catalog.service(s.resource) == SERVICES[*service]
                    && s.attrs.len() == 1
                    && store.resolve(&s.attrs[0].value()) == Value::Int(*attr as i64)
            })
        });
        let Some((_, series)) = found else {
            return Err(TestCaseError::fail(format!(
                "series {service} {metric} {attr} missing"
            )));
        };
        let got: Vec<(u64, f64)> = series
            .points
            .iter()
            .map(|p| (p.time, p.value.number()))
            .collect();
        prop_assert_eq!(got, points.iter().copied().collect::<Vec<_>>());
    }
    // The report renders whatever is held.
    let report = viewer::report::render(store, &Counters::default());
    prop_assert!(!report.contains('\x1b'));
    prop_assert!(report.lines().last().unwrap_or("").starts_with("totals: "));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 200,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn log_and_metric_stores_match_their_models(
        steps in prop::collection::vec(step(), 1..30),
        max_logs in 1..12usize,
        max_series in 1..8usize,
        max_points in 2..6usize,
    ) {
        let mut store = Store::new(1000).with_max_logs(max_logs).with_max_series(max_series, max_points);
        let mut logs: VecDeque<LogModel> = VecDeque::new();
        let mut metrics = MetricModel::default();
        let mut rejected = 0;
        for step in &steps {
            match step {
                Step::Logs(records, rej) => {
                    store.ingest_logs(log_batch(records, *rej));
                    rejected += rej;
                    for &(service, trace, span, severity, body) in records {
                        logs.push_back(LogModel {
                            service: SERVICES[service],
                            trace,
                            span: if trace == 0 { 0 } else { span + 1 },
                            severity,
                            body: BODIES[body],
                        });
                    }
                    while logs.len() > max_logs {
                        logs.pop_front();
                    }
                }
                Step::Points(points) => {
                    store.ingest_metrics(point_batch(points));
                    for p in points {
                        metrics.add(p, max_series, max_points);
                    }
                }
                Step::Spans(trace) => store.ingest(span_batch("api", *trace)),
                Step::Compact => store.compact(),
            }
            check(&store, &logs, &metrics, rejected)?;
        }
    }
}
