//! The log store: a ring of records in arrival order, capped by count and by approximate size
//! (the oldest go first, counted), indexed by trace id so a trace's or a span's records are
//! found without a scan. Plain data: no async, no terminal.

use std::collections::VecDeque;
use std::mem::size_of;

use rustc_hash::FxHashMap;

use crate::catalog::{Catalog, Remap};
use crate::model::{LogBatch, LogRecord, SpanId, TraceId, Value};

/// What the log store counts; all cumulative except `records` and `bytes`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogStats {
    /// Records received in accepted requests, including rejected ones.
    pub received: u64,
    /// Records dropped at the boundary (invalid ids).
    pub rejected: u64,
    /// Records removed to stay under the caps, oldest first.
    pub evicted: u64,
    /// Records held now.
    pub records: u64,
    /// Approximate bytes the held records take.
    pub bytes: u64,
}

/// A record's position in arrival order, for as long as it is held: the n-th record ever
/// stored has sequence number n.
pub type LogSeq = u64;

/// The log store. See the module docs.
pub struct Logs {
    ring: VecDeque<LogRecord>,
    /// Sequence number of the ring's front.
    first: LogSeq,
    /// Per trace, the sequence numbers of its records, oldest first.
    by_trace: FxHashMap<TraceId, VecDeque<LogSeq>>,
    max_records: usize,
    max_bytes: usize,
    stats: LogStats,
    generation: u64,
}

impl Logs {
    #[must_use]
    pub fn new(max_records: usize) -> Self {
        Self {
            ring: VecDeque::new(),
            first: 0,
            by_trace: FxHashMap::default(),
            max_records: max_records.max(1),
            max_bytes: usize::MAX,
            stats: LogStats::default(),
            generation: 0,
        }
    }

    /// Caps the records held.
    pub fn set_max_records(&mut self, n: usize) {
        self.max_records = n.max(1);
    }

    /// Caps the approximate bytes the records take.
    pub fn set_max_bytes(&mut self, n: usize) {
        self.max_bytes = n.max(1);
    }

    #[must_use]
    pub fn stats(&self) -> LogStats {
        self.stats
    }

    /// Changes whenever a record is added or goes.
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// Sequence numbers held now: `first..end`.
    #[must_use]
    pub fn seqs(&self) -> std::ops::Range<LogSeq> {
        self.first..self.first + self.ring.len() as u64
    }

    /// The record with this sequence number, if still held.
    #[must_use]
    pub fn get(&self, seq: LogSeq) -> Option<&LogRecord> {
        let i = usize::try_from(seq.checked_sub(self.first)?).ok()?;
        self.ring.get(i)
    }

    /// Every record held, oldest first, with its sequence number.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (LogSeq, &LogRecord)> + '_ {
        let first = self.first;
        self.ring
            .iter()
            .enumerate()
            .map(move |(i, r)| (first + i as u64, r))
    }

    /// A trace's records in arrival order, with their sequence numbers.
    pub fn of_trace(&self, trace: TraceId) -> impl Iterator<Item = (LogSeq, &LogRecord)> + '_ {
        self.by_trace
            .get(&trace)
            .into_iter()
            .flatten()
            .filter_map(|&seq| Some((seq, self.get(seq)?)))
    }

    /// A span's records in arrival order.
    pub fn of_span(
        &self,
        trace: TraceId,
        span: SpanId,
    ) -> impl Iterator<Item = (LogSeq, &LogRecord)> + '_ {
        self.of_trace(trace).filter(move |(_, r)| r.span_id == span)
    }

    /// Number of records a trace has.
    #[must_use]
    pub fn count_of_trace(&self, trace: TraceId) -> usize {
        self.by_trace.get(&trace).map_or(0, VecDeque::len)
    }

    /// Adds a batch of records, then evicts the oldest while over the caps.
    pub fn ingest(&mut self, catalog: &mut Catalog, batch: LogBatch) {
        self.stats.received += batch.rejected;
        self.stats.rejected += batch.rejected;
        for rl in batch.resources {
            let attrs: Vec<(&str, Value)> = rl
                .attrs
                .iter()
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect();
            let resource = catalog.intern_resource(&attrs);
            for sl in rl.scopes {
                let scope = catalog.intern_scope(&sl.name, &sl.version);
                for r in sl.records {
                    self.stats.received += 1;
                    let record = LogRecord {
                        time: if r.time == 0 { r.observed_time } else { r.time },
                        trace_id: r.trace_id,
                        span_id: r.span_id,
                        resource,
                        scope,
                        severity: r.severity,
                        severity_text: catalog.intern(&r.severity_text),
                        event_name: catalog.intern(&r.event_name),
                        body: catalog.value(r.body),
                        attrs: catalog.attrs(r.attrs.iter().map(|(k, v)| (k.as_str(), v.clone()))),
                    };
                    self.push(record);
                }
            }
        }
        self.generation += 1;
        while self.ring.len() > self.max_records || self.stats.bytes as usize > self.max_bytes {
            if !self.pop_oldest() {
                break;
            }
        }
    }

    fn push(&mut self, record: LogRecord) {
        let seq = self.first + self.ring.len() as u64;
        if record.trace_id != 0 {
            self.by_trace
                .entry(record.trace_id)
                .or_default()
                .push_back(seq);
        }
        self.stats.bytes += record_bytes(&record) as u64;
        self.stats.records += 1;
        self.ring.push_back(record);
    }

    fn pop_oldest(&mut self) -> bool {
        let Some(record) = self.ring.pop_front() else {
            return false;
        };
        let seq = self.first;
        self.first += 1;
        if record.trace_id != 0
            && let Some(seqs) = self.by_trace.get_mut(&record.trace_id)
        {
            // The oldest record of all is the oldest of its trace.
            if seqs.front() == Some(&seq) {
                seqs.pop_front();
            }
            if seqs.is_empty() {
                self.by_trace.remove(&record.trace_id);
            }
        }
        self.stats.bytes -= record_bytes(&record) as u64;
        self.stats.records -= 1;
        self.stats.evicted += 1;
        true
    }

    /// Renumbers every symbol, resource and scope the held records use (see [`Catalog`]).
    pub fn remap(&mut self, remap: &mut Remap) {
        for r in &mut self.ring {
            r.resource = remap.resource(r.resource);
            r.scope = remap.scope(r.scope);
            r.severity_text = remap.sym(r.severity_text);
            r.event_name = remap.sym(r.event_name);
            if let Value::Sym(s) = &mut r.body {
                *s = remap.sym(*s);
            }
            remap.attrs(&mut r.attrs);
        }
        self.generation += 1;
    }
}

/// Approximate bytes a stored record holds, itself and what it owns (its slot in the ring and
/// its entry in the trace index included).
fn record_bytes(r: &LogRecord) -> usize {
    size_of::<LogRecord>()
        + if r.trace_id == 0 {
            0
        } else {
            size_of::<LogSeq>()
        }
        + super::memory::value_heap(&r.body)
        + super::memory::attrs_bytes(&r.attrs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LogResource, LogScope, NewLogRecord};

    fn record(trace: u128, span: u64, body: &str) -> NewLogRecord {
        NewLogRecord {
            time: 1,
            severity: 9,
            severity_text: "INFO".into(),
            body: Value::Str(body.into()),
            attrs: vec![("k".into(), Value::Int(1))],
            trace_id: trace,
            span_id: span,
            ..NewLogRecord::default()
        }
    }

    fn batch(service: &str, records: Vec<NewLogRecord>) -> LogBatch {
        LogBatch {
            resources: vec![LogResource {
                attrs: vec![("service.name".into(), Value::Str(service.into()))],
                scopes: vec![LogScope {
                    name: "lib".into(),
                    version: "1".into(),
                    records,
                }],
            }],
            rejected: 0,
        }
    }

    fn bodies<'a>(c: &Catalog, it: impl Iterator<Item = (LogSeq, &'a LogRecord)>) -> Vec<String> {
        it.map(|(_, r)| c.value_text(&r.body).into_owned())
            .collect()
    }

    #[test]
    fn records_are_found_by_trace_and_by_span() {
        let mut c = Catalog::default();
        let mut logs = Logs::new(100);
        logs.ingest(
            &mut c,
            batch(
                "api",
                vec![
                    record(7, 1, "a"),
                    record(0, 0, "no trace"),
                    record(7, 2, "b"),
                    record(8, 1, "other trace"),
                    record(7, 1, "c"),
                ],
            ),
        );
        assert_eq!(bodies(&c, logs.of_trace(7)), ["a", "b", "c"]);
        assert_eq!(bodies(&c, logs.of_span(7, 1)), ["a", "c"]);
        assert_eq!(logs.count_of_trace(8), 1);
        assert_eq!(logs.count_of_trace(9), 0);
        let first = logs.iter().next().unwrap().1;
        assert_eq!(c.service(first.resource), "api");
        assert_eq!(logs.stats().records, 5);
    }

    #[test]
    fn the_oldest_records_are_evicted_and_counted_and_leave_the_index() {
        let mut c = Catalog::default();
        let mut logs = Logs::new(3);
        for i in 0..5u64 {
            logs.ingest(
                &mut c,
                batch(
                    "api",
                    vec![record(u128::from(i % 2) + 1, i + 1, &i.to_string())],
                ),
            );
        }
        let s = logs.stats();
        assert_eq!((s.records, s.evicted, s.received), (3, 2, 5));
        assert_eq!(bodies(&c, logs.iter()), ["2", "3", "4"]);
        // Trace 1 had records 0, 2, 4; record 0 went.
        assert_eq!(bodies(&c, logs.of_trace(1)), ["2", "4"]);
        assert_eq!(bodies(&c, logs.of_trace(2)), ["3"]);
        assert_eq!(logs.seqs(), 2..5);
        assert!(logs.get(1).is_none());
        assert_eq!(c.value_text(&logs.get(2).unwrap().body), "2");
    }

    #[test]
    fn the_store_evicts_by_size_too() {
        let mut c = Catalog::default();
        let mut logs = Logs::new(1_000_000);
        logs.set_max_bytes(64 * 1024);
        for _ in 0..100 {
            logs.ingest(&mut c, batch("api", vec![record(1, 1, &"x".repeat(4096))]));
        }
        let s = logs.stats();
        assert!(s.bytes <= 64 * 1024, "{s:?}");
        assert!(s.evicted > 80 && s.records >= 10, "{s:?}");
        assert!(logs.count_of_trace(1) as u64 == s.records);
    }
}
