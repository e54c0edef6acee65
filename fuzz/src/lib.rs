//! The decode-and-ingest path shared by the fuzz targets: a decoded OTLP trace request is
//! converted at the boundary, ingested twice (the second time every span is a duplicate) into a
//! small store so eviction and the per-trace cap happen, and every trace's tree and the headless report are built.
//! Beyond "no panic" (overflow checks are on), the store's bookkeeping is checked.

mod jaeger;

pub use jaeger::{jaeger_answer, seeds as jaeger_seeds};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use viewer::ingest::Counters;
use viewer::receiver::Limits;
use viewer::store::Store;
use viewer::store::tree::Tree;

/// Small enough that a fuzzed request overflows it and eviction runs.
const MAX_SPANS: usize = 64;
/// Smaller still, so a trace fills up and later spans are dropped and counted.
const MAX_TRACE_SPANS: usize = 48;

pub fn ingest_and_render(req: ExportTraceServiceRequest) {
    let limits = Limits::default();
    let mut store = Store::new(MAX_SPANS).with_max_trace_spans(MAX_TRACE_SPANS);
    let (batch, _problem) = viewer::receiver::convert::trace_request(req.clone(), &limits);
    store.ingest(batch);
    let (batch, _problem) = viewer::receiver::convert::trace_request(req, &limits);
    store.ingest(batch);

    let st = store.stats().traces;
    assert!(st.spans as usize <= MAX_SPANS, "over the cap: {st:?}");
    assert_eq!(
        st.received,
        st.spans + st.rejected + st.evicted + st.duplicates + st.trace_full,
        "counts do not add up: {st:?}"
    );
    let mut held = 0;
    for r in store.traces_by_arrival() {
        let trace = store.trace(r).expect("live trace reference resolves");
        let tree = Tree::build(trace.spans());
        assert_eq!(
            tree.rows.len(),
            trace.span_count(),
            "every span once in the tree"
        );
        for (i, row) in tree.rows.iter().enumerate() {
            assert!(row.parent_row == u32::MAX || (row.parent_row as usize) < i);
            assert!(
                (row.subtree_end as usize) > i && (row.subtree_end as usize) <= tree.rows.len()
            );
        }
        held += trace.span_count() as u64;
    }
    assert_eq!(held, st.spans);
    let report = viewer::report::render(&store, &Counters::default());
    assert!(!report.contains('\x1b'), "raw escape in the report");
}

/// Small caps for the log and metric stores, so eviction and the series cap happen.
const MAX_LOGS: usize = 32;
const MAX_SERIES: usize = 8;
const MAX_POINTS: usize = 4;

/// A decoded logs request converted, ingested twice (with a compaction between) into a small
/// log store, then every index and the report checked.
pub fn ingest_logs(req: ExportLogsServiceRequest) {
    let limits = Limits::default();
    let mut store = Store::new(MAX_SPANS).with_max_logs(MAX_LOGS);
    let (batch, _problem) = viewer::receiver::convert::log_request(req.clone(), &limits);
    store.ingest_logs(batch);
    store.compact();
    let (batch, _problem) = viewer::receiver::convert::log_request(req, &limits);
    store.ingest_logs(batch);
    let st = store.stats().logs;
    assert!(st.records as usize <= MAX_LOGS, "over the cap: {st:?}");
    assert_eq!(st.received, st.records + st.evicted + st.rejected, "{st:?}");
    let mut indexed = 0;
    for (seq, r) in store.logs.iter() {
        assert_eq!(store.logs.get(seq).map(|g| g.time), Some(r.time));
        if r.trace_id != 0 {
            assert!(store.logs.of_trace(r.trace_id).any(|(s, _)| s == seq));
            indexed += 1;
        }
        let _ = store.catalog.service(r.resource);
        let _ = store.value_text(&r.body);
    }
    let total: usize = store
        .logs
        .iter()
        .filter(|(_, r)| r.trace_id != 0)
        .map(|(_, r)| r.trace_id)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|t| store.logs.count_of_trace(t))
        .sum();
    assert_eq!(total, indexed, "the trace index holds every record with a trace, once");
    let report = viewer::report::render(&store, &Counters::default());
    assert!(!report.contains('\x1b'), "raw escape in the report");
}

/// A decoded metrics request converted, ingested twice (with a compaction between) into a
/// small metric store, then the bookkeeping and the report checked.
pub fn ingest_metrics(req: ExportMetricsServiceRequest) {
    let limits = Limits::default();
    let mut store = Store::new(MAX_SPANS).with_max_series(MAX_SERIES, MAX_POINTS);
    let (batch, _problem) = viewer::receiver::convert::metric_request(req.clone(), &limits);
    store.ingest_metrics(batch);
    store.compact();
    let (batch, _problem) = viewer::receiver::convert::metric_request(req, &limits);
    store.ingest_metrics(batch);
    let st = store.stats().metrics;
    assert!(st.series as usize <= MAX_SERIES, "over the cap: {st:?}");
    assert_eq!(
        st.received,
        st.points + st.evicted + st.series_dropped + st.out_of_order + st.replaced + st.rejected,
        "counts do not add up: {st:?}"
    );
    let mut points = 0;
    for (id, _) in store.metrics.metrics().iter().enumerate() {
        for (_, s) in store.metrics.series_of(u32::try_from(id).unwrap()) {
            assert!(s.points.len() <= MAX_POINTS);
            assert!(s.points.iter().zip(s.points.iter().skip(1)).all(|(a, b)| a.time <= b.time));
            for p in &s.points {
                let _ = p.value.quantile(0.5);
                let _ = p.value.quantile(0.99);
            }
            let _: Vec<_> = s.rates().collect();
            points += s.points.len() as u64;
        }
    }
    assert_eq!(points, st.points);
    let report = viewer::report::render(&store, &Counters::default());
    assert!(!report.contains('\x1b'), "raw escape in the report");
}
