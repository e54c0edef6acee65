//! The stores, one per signal, and the [`Catalog`] they share: spans grouped into traces
//! (`traces`), with their tree (`tree`) and memory accounting (`memory`);
//! log records (`logs`); metric series (`metrics`).
//! Plain data structures: no async, no terminal. The whole lives behind one lock
//! ([`crate::server::SharedStore`]), taken by the ingest thread a batch group at a time and by
//! the UI for one visible page.

pub mod logs;
pub mod memory;
pub mod metrics;
pub mod traces;
pub mod tree;

pub use logs::{LogSeq, LogStats, Logs};
pub use metrics::{MetricStats, Metrics};
pub use traces::{Trace, TraceRef, TraceStats, Traces};

use crate::catalog::{Catalog, Interner};
use crate::ingest::Payload;
use crate::model::{
    Batch, LogBatch, MetricBatch, Resource, ResourceId, Scope, ScopeId, Span, Sym, TraceId, Value,
};

/// Log records held when not told otherwise.
pub const DEFAULT_MAX_LOGS: usize = 1_000_000;
/// Metric series held when not told otherwise.
pub const DEFAULT_MAX_SERIES: usize = 10_000;
/// Points kept per metric series when not told otherwise.
pub const DEFAULT_MAX_POINTS: usize = 1_000;

/// What every store counts, read together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub traces: TraceStats,
    pub logs: LogStats,
    pub metrics: MetricStats,
    /// Times the catalog was rebuilt from live data.
    pub compactions: u64,
}

/// Every signal's store and the catalog they share.
pub struct Store {
    pub catalog: Catalog,
    pub traces: Traces,
    pub logs: Logs,
    pub metrics: Metrics,
    /// Bumped on every change to any store.
    generation: u64,
}

impl Store {
    /// A store that holds at most `max_spans` spans (and the default numbers of log records
    /// and metric series).
    #[must_use]
    pub fn new(max_spans: usize) -> Self {
        Self {
            catalog: Catalog::default(),
            traces: Traces::new(max_spans),
            logs: Logs::new(DEFAULT_MAX_LOGS),
            metrics: Metrics::new(DEFAULT_MAX_SERIES, DEFAULT_MAX_POINTS),
            generation: 0,
        }
    }

    /// Caps the log records held; the oldest are evicted and counted.
    #[must_use]
    pub fn with_max_logs(mut self, n: usize) -> Self {
        self.logs.set_max_records(n);
        self
    }

    /// Caps the metric series held and the points kept per series.
    #[must_use]
    pub fn with_max_series(mut self, series: usize, points: usize) -> Self {
        self.metrics.set_caps(series, points);
        self
    }

    /// Caps the spans kept per trace; later spans of a full trace are dropped and counted.
    #[must_use]
    pub fn with_max_trace_spans(mut self, n: usize) -> Self {
        self.traces.set_max_trace_spans(n);
        self
    }

    /// Caps the approximate bytes each store takes: whole oldest traces, oldest log records
    /// and oldest points are evicted to stay under it.
    #[must_use]
    pub fn with_max_bytes(mut self, n: usize) -> Self {
        self.traces.set_max_bytes(n);
        self.logs.set_max_bytes(n);
        self.metrics.set_max_bytes(n);
        self
    }

    #[must_use]
    pub fn stats(&self) -> StoreStats {
        StoreStats {
            traces: self.traces.stats(),
            logs: self.logs.stats(),
            metrics: self.metrics.stats(),
            compactions: self.catalog.compactions,
        }
    }

    /// Changes whenever any store's content changes.
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Adds a batch of spans (see [`Traces::ingest`]).
    pub fn ingest(&mut self, batch: Batch) {
        self.traces.ingest(&mut self.catalog, &batch);
        self.changed();
    }

    /// Adds a batch of log records (see [`Logs::ingest`]).
    pub fn ingest_logs(&mut self, batch: LogBatch) {
        self.logs.ingest(&mut self.catalog, batch);
        self.changed();
    }

    /// Adds a batch of metric points (see [`Metrics::ingest`]).
    pub fn ingest_metrics(&mut self, batch: MetricBatch) {
        self.metrics.ingest(&mut self.catalog, batch);
        self.changed();
    }

    /// Adds one request's worth of any signal.
    pub fn ingest_payload(&mut self, payload: Payload) {
        match payload {
            Payload::Spans(b) => self.ingest(b),
            Payload::Logs(b) => self.ingest_logs(b),
            Payload::Metrics(b) => self.ingest_metrics(b),
        }
    }

    fn changed(&mut self) {
        self.generation += 1;
        self.maybe_compact();
    }

    /// Compacts the catalog when it has grown well past what live data uses.
    fn maybe_compact(&mut self) {
        if self.catalog.wants_compaction() {
            self.compact();
        }
    }

    /// Rebuilds the catalog from what every store holds now; everything else is dropped.
    pub fn compact(&mut self) {
        let mut remap = self.catalog.begin_compaction();
        self.traces.remap(&mut remap);
        self.logs.remap(&mut remap);
        self.metrics.remap(&mut remap);
        self.catalog.finish_compaction(remap);
        self.generation += 1;
    }

    #[must_use]
    pub fn strings(&self) -> &Interner {
        &self.catalog.strings
    }

    #[must_use]
    pub fn str(&self, sym: Sym) -> &str {
        self.catalog.str(sym)
    }

    #[must_use]
    pub fn resource(&self, id: ResourceId) -> &Resource {
        self.catalog.resource(id)
    }

    #[must_use]
    pub fn resources(&self) -> &[Resource] {
        self.catalog.resources()
    }

    #[must_use]
    pub fn scope(&self, id: ScopeId) -> &Scope {
        self.catalog.scope(id)
    }

    /// Service name of a span.
    #[must_use]
    pub fn service_of(&self, span: &Span) -> &str {
        self.catalog.service(span.resource)
    }

    #[must_use]
    pub fn trace(&self, r: TraceRef) -> Option<&Trace> {
        self.traces.trace(r)
    }

    #[must_use]
    pub fn find(&self, id: TraceId) -> Option<TraceRef> {
        self.traces.find(id)
    }

    /// Every trace, oldest first by first arrival.
    pub fn traces_by_arrival(&self) -> impl DoubleEndedIterator<Item = TraceRef> + '_ {
        self.traces.by_arrival()
    }

    /// A stored value with an interned string read back as a plain string value.
    #[must_use]
    pub fn resolve(&self, v: &Value) -> Value {
        self.catalog.resolve(v)
    }

    /// A stored value's text, as shown to the user.
    #[must_use]
    pub fn value_text<'a>(&'a self, v: &'a Value) -> std::borrow::Cow<'a, str> {
        self.catalog.value_text(v)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{OwnedResource, OwnedScope, OwnedSpan, StatusCode};

    pub fn span(trace: u128, id: u64, parent: u64, start: u64, end: u64, name: &str) -> OwnedSpan {
        OwnedSpan {
            trace_id: trace,
            span_id: id,
            parent_id: parent,
            name: name.into(),
            start,
            end,
            ..OwnedSpan::default()
        }
    }

    pub fn batch(service: &str, spans: Vec<OwnedSpan>) -> Batch {
        Batch::from_owned(
            vec![OwnedResource {
                attrs: vec![("service.name".into(), Value::Str(service.into()))],
                scopes: vec![OwnedScope {
                    name: "test".into(),
                    version: "1".into(),
                    spans,
                }],
            }],
            0,
        )
    }

    #[test]
    fn a_trace_without_an_index_stays_small() {
        // Every trace's struct sits in the store's slot array, a million of them at the cap.
        assert!(
            std::mem::size_of::<Trace>() <= 128,
            "{}",
            std::mem::size_of::<Trace>()
        );
    }

    #[test]
    fn attributes_read_back_whatever_the_last_span_carried() {
        // Spans whose keys and values repeat, move, change and vanish from one span to the
        // next: what the store remembers of the last span must never leak into the next.
        let shapes: [&[(&str, Value)]; 6] = [
            &[("a", Value::Str("x".into())), ("b", Value::Int(1))],
            &[("a", Value::Str("x".into())), ("b", Value::Str("y".into()))],
            &[("b", Value::Str("x".into())), ("a", Value::Str("x".into()))],
            &[("a", Value::Str("z".into()))],
            &[],
            &[
                ("a", Value::Str("x".into())),
                ("b", Value::Str("y".into())),
                ("c", Value::Str("long ".repeat(40).into())),
            ],
        ];
        let mut spans = Vec::new();
        for (i, attrs) in shapes.iter().enumerate() {
            let mut s = span(
                1,
                i as u64 + 1,
                0,
                0,
                1,
                if i % 2 == 0 { "even" } else { "odd" },
            );
            s.attrs = attrs
                .iter()
                .map(|(k, v)| ((*k).into(), v.clone()))
                .collect();
            spans.push(s);
        }
        let mut store = Store::new(100);
        store.ingest(batch("svc", spans));
        let t = store.trace(store.find(1).unwrap()).unwrap();
        for (i, attrs) in shapes.iter().enumerate() {
            let s = &t.spans()[i];
            assert_eq!(store.str(s.name), if i % 2 == 0 { "even" } else { "odd" });
            let got: Vec<(String, Value)> = s
                .attrs
                .iter()
                .map(|a| (store.str(a.key()).to_owned(), store.resolve(&a.value())))
                .collect();
            let want: Vec<(String, Value)> = attrs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect();
            assert_eq!(got, want, "span {i}");
        }
    }

    #[test]
    fn groups_spans_into_traces_across_batches() {
        let mut store = Store::new(100);
        store.ingest(batch(
            "a",
            vec![span(1, 1, 0, 10, 50, "root"), span(2, 9, 0, 0, 5, "x")],
        ));
        store.ingest(batch("b", vec![span(1, 2, 1, 20, 40, "child")]));
        let s = store.stats().traces;
        assert_eq!((s.spans, s.traces, s.received), (3, 2, 3));
        let t = store.trace(store.find(1).unwrap()).unwrap();
        assert_eq!(t.span_count(), 2);
        assert_eq!(t.services().len(), 2);
        assert_eq!(store.str(t.root().name), "root");
        assert_eq!((t.start, t.end), (10, 50));
    }

    #[test]
    fn duplicate_spans_are_kept_once_and_counted() {
        let mut store = Store::new(100);
        store.ingest(batch("a", vec![span(1, 1, 0, 10, 50, "root")]));
        store.ingest(batch("a", vec![span(1, 1, 0, 10, 50, "root")]));
        let s = store.stats().traces;
        assert_eq!((s.spans, s.duplicates, s.received), (1, 1, 2));
    }

    #[test]
    fn duplicates_detected_in_large_traces_through_the_index() {
        let mut store = Store::new(1000);
        let spans: Vec<_> = (1..=100).map(|i| span(1, i, 0, i, i + 1, "s")).collect();
        store.ingest(batch("a", spans.clone()));
        store.ingest(batch("a", spans));
        assert_eq!(store.stats().traces.spans, 100);
        assert_eq!(store.stats().traces.duplicates, 100);
        let t = store.trace(store.find(1).unwrap()).unwrap();
        assert_eq!(t.position(77), Some(76));
    }

    #[test]
    fn evicts_whole_oldest_traces_over_the_cap() {
        let mut store = Store::new(5);
        store.ingest(batch(
            "a",
            vec![span(1, 1, 0, 0, 1, "a"), span(1, 2, 1, 0, 1, "b")],
        ));
        store.ingest(batch(
            "a",
            vec![span(2, 1, 0, 0, 1, "a"), span(2, 2, 1, 0, 1, "b")],
        ));
        let old = store.find(1).unwrap();
        store.ingest(batch(
            "a",
            vec![span(3, 1, 0, 0, 1, "a"), span(3, 2, 1, 0, 1, "b")],
        ));
        let s = store.stats().traces;
        assert_eq!(
            (s.spans, s.traces, s.evicted, s.evicted_traces),
            (4, 2, 2, 1)
        );
        assert!(store.find(1).is_none());
        assert!(
            store.trace(old).is_none(),
            "stale reference must not resolve"
        );
        assert_eq!(
            s.received,
            s.spans + s.evicted + s.duplicates + s.rejected + s.trace_full
        );
        // The freed slot is reused by a new trace, and the old reference still does not resolve.
        store.ingest(batch("a", vec![span(4, 1, 0, 0, 1, "a")]));
        assert!(store.trace(old).is_none());
        assert!(store.find(4).is_some());
    }

    #[test]
    fn a_full_trace_drops_later_spans_and_counts_them() {
        let mut store = Store::new(100).with_max_trace_spans(2);
        let spans = (1..=5).map(|i| span(1, i, 0, i, i + 1, "s")).collect();
        store.ingest(batch("a", spans));
        store.ingest(batch("a", vec![span(2, 1, 0, 0, 1, "other trace")]));
        let s = store.stats().traces;
        assert_eq!((s.spans, s.trace_full, s.received), (3, 3, 6));
    }

    #[test]
    fn root_prefers_span_without_parent_even_if_it_arrives_late() {
        let mut store = Store::new(100);
        store.ingest(batch("a", vec![span(1, 2, 1, 5, 6, "child")]));
        let t = store.trace(store.find(1).unwrap()).unwrap();
        assert_eq!(store.str(t.root().name), "child");
        store.ingest(batch("a", vec![span(1, 1, 0, 10, 20, "root")]));
        let t = store.trace(store.find(1).unwrap()).unwrap();
        assert_eq!(store.str(t.root().name), "root");
        assert_eq!((t.start, t.end), (5, 20));
    }

    #[test]
    fn errors_and_negative_durations() {
        let mut store = Store::new(100);
        let mut bad = span(1, 1, 0, 100, 50, "backwards");
        bad.status = StatusCode::Error;
        store.ingest(batch("a", vec![bad]));
        let t = store.trace(store.find(1).unwrap()).unwrap();
        assert_eq!(t.errors, 1);
        assert_eq!(t.root().duration(), 0);
        assert_eq!(t.duration(), 0);
    }

    #[test]
    fn identical_resources_are_interned_once() {
        let mut store = Store::new(100);
        store.ingest(batch("a", vec![span(1, 1, 0, 0, 1, "a")]));
        store.ingest(batch("a", vec![span(2, 1, 0, 0, 1, "a")]));
        store.ingest(batch("b", vec![span(3, 1, 0, 0, 1, "a")]));
        assert_eq!(store.resources().len(), 2);
    }
}
