//! The log store: a ring of records in arrival order, capped by count and by approximate size
//! (the oldest go first, counted), indexed by trace id so a trace's or a span's records are
//! found without a scan. Plain data: no async, no terminal.

use std::collections::VecDeque;
use std::mem::size_of;

use compact_str::CompactString;
use rustc_hash::FxHashMap;

use crate::catalog::{Catalog, MAX_INTERNED_VALUE, Remap};
use crate::model::{Attr, LogBatch, LogRecord, OwnedAttr, SpanId, Sym, TraceId, Value};

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

/// Records per chunk of the ring.
const CHUNK: usize = 4096;

/// The records in arrival order, in chunks of [`CHUNK`]: growing never copies what is held
/// (a single `VecDeque` would copy every record, under the store's lock, and briefly hold them
/// twice, each time it doubles), and at most one chunk is allocated beyond what is held. Every
/// chunk but the first and the last is full.
#[derive(Default)]
struct Ring {
    chunks: VecDeque<VecDeque<LogRecord>>,
    len: usize,
}

impl Ring {
    fn len(&self) -> usize {
        self.len
    }

    fn get(&self, i: usize) -> Option<&LogRecord> {
        let front = self.chunks.front()?;
        if i < front.len() {
            return front.get(i);
        }
        let j = i - front.len();
        self.chunks.get(1 + j / CHUNK)?.get(j % CHUNK)
    }

    fn push_back(&mut self, record: LogRecord) {
        match self.chunks.back_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push_back(record),
            _ => {
                let mut chunk = VecDeque::with_capacity(CHUNK);
                chunk.push_back(record);
                self.chunks.push_back(chunk);
            }
        }
        self.len += 1;
    }

    fn pop_front(&mut self) -> Option<LogRecord> {
        let front = self.chunks.front_mut()?;
        let record = front.pop_front()?;
        if front.is_empty() {
            self.chunks.pop_front();
        }
        self.len -= 1;
        Some(record)
    }

    fn iter(&self) -> impl DoubleEndedIterator<Item = &LogRecord> + '_ {
        self.chunks.iter().flatten()
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = &mut LogRecord> + '_ {
        self.chunks.iter_mut().flatten()
    }
}

/// Records with their sequence numbers, either way.
struct Numbered<I> {
    records: I,
    front: LogSeq,
    back: LogSeq,
}

impl<'a, I: DoubleEndedIterator<Item = &'a LogRecord>> Iterator for Numbered<I> {
    type Item = (LogSeq, &'a LogRecord);

    fn next(&mut self) -> Option<Self::Item> {
        let r = self.records.next()?;
        self.front += 1;
        Some((self.front - 1, r))
    }
}

impl<'a, I: DoubleEndedIterator<Item = &'a LogRecord>> DoubleEndedIterator for Numbered<I> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let r = self.records.next_back()?;
        self.back -= 1;
        Some((self.back, r))
    }
}

/// The log store. See the module docs.
pub struct Logs {
    ring: Ring,
    /// Sequence number of the ring's front.
    first: LogSeq,
    /// Per trace, the sequence numbers of its records, oldest first.
    by_trace: FxHashMap<TraceId, VecDeque<LogSeq>>,
    /// Every record held, ordered by its time (then arrival): the log list's order. Records
    /// mostly arrive in time order, so most go on the end; a late one is inserted where it
    /// belongs (near the end), an evicted one taken out (near the front).
    by_time: VecDeque<(u64, LogSeq)>,
    max_records: usize,
    max_bytes: usize,
    stats: LogStats,
    generation: u64,
}

impl Logs {
    #[must_use]
    pub fn new(max_records: usize) -> Self {
        Self {
            ring: Ring::default(),
            first: 0,
            by_trace: FxHashMap::default(),
            by_time: VecDeque::new(),
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
        self.ring.len() == 0
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
        Numbered {
            records: self.ring.iter(),
            front: self.first,
            back: self.first + self.ring.len() as u64,
        }
    }

    /// The `i`-th record from the newest, by record time (observed time when it has none).
    #[must_use]
    pub fn nth_newest(&self, i: usize) -> Option<LogSeq> {
        let n = self.by_time.len();
        (i < n).then(|| self.by_time[n - 1 - i].1)
    }

    /// Where a record is from the newest, by record time.
    #[must_use]
    pub fn newest_position(&self, seq: LogSeq) -> Option<usize> {
        let key = (self.get(seq)?.time, seq);
        let pos = self.by_time.partition_point(|e| *e < key);
        (self.by_time.get(pos) == Some(&key)).then(|| self.by_time.len() - 1 - pos)
    }

    /// Every record held, oldest first by record time, with its sequence number.
    pub fn iter_by_time(&self) -> impl DoubleEndedIterator<Item = (LogSeq, &LogRecord)> + '_ {
        self.by_time
            .iter()
            .filter_map(|&(_, seq)| Some((seq, self.get(seq)?)))
    }

    fn insert_by_time(&mut self, key: (u64, LogSeq)) {
        if self.by_time.back().is_none_or(|last| *last <= key) {
            self.by_time.push_back(key);
        } else {
            let pos = self.by_time.partition_point(|e| *e < key);
            self.by_time.insert(pos, key);
        }
    }

    fn remove_by_time(&mut self, key: (u64, LogSeq)) {
        if self.by_time.front() == Some(&key) {
            self.by_time.pop_front();
            return;
        }
        let pos = self.by_time.partition_point(|e| *e < key);
        if self.by_time.get(pos) == Some(&key) {
            self.by_time.remove(pos);
        }
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
    ///
    /// Bodies are kept as they are, not interned: they are mostly unique (they carry ids,
    /// durations, counts), so a table entry would cost more than the text, and ones up to 24
    /// bytes are held inline anyway (see [`repack`] for longer ones). Keys, severity texts and short attribute values are
    /// interned, each first compared with the previous record's at the same position (records
    /// of one scope mostly repeat them), which is cheaper than hashing it again.
    pub fn ingest(&mut self, catalog: &mut Catalog, batch: LogBatch) {
        self.stats.received += batch.rejected;
        self.stats.rejected += batch.rejected;
        // Valid for this batch only: a compaction may renumber symbols between batches.
        let mut memo = Memo::default();
        // Records of one trace mostly come one after the other: each run goes into the trace
        // index with one look-up.
        let mut run = Run::default();
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
                        severity_text: memo.intern(catalog, Slot::Severity, &r.severity_text),
                        event_name: memo.intern(catalog, Slot::EventName, &r.event_name),
                        body: repack(r.body),
                        attrs: memo.attrs(catalog, r.attrs),
                    };
                    let seq = self.first + self.ring.len() as u64;
                    if !run.extend(record.trace_id, seq) {
                        self.index(&run);
                        run = Run::new(record.trace_id, seq);
                    }
                    self.stats.bytes += record_bytes(&record) as u64;
                    self.stats.records += 1;
                    self.insert_by_time((record.time, seq));
                    self.ring.push_back(record);
                }
            }
        }
        self.index(&run);
        self.generation += 1;
        // The oldest go, a run of one trace's records at a time out of the index.
        let mut gone = Run::default();
        while self.ring.len() > self.max_records || self.stats.bytes as usize > self.max_bytes {
            let Some(record) = self.ring.pop_front() else {
                break;
            };
            let seq = self.first;
            self.first += 1;
            self.remove_by_time((record.time, seq));
            if !gone.extend(record.trace_id, seq) {
                self.unindex(&gone);
                gone = Run::new(record.trace_id, seq);
            }
            self.stats.bytes -= record_bytes(&record) as u64;
            self.stats.records -= 1;
            self.stats.evicted += 1;
        }
        self.unindex(&gone);
    }

    /// Adds a run of new records to its trace's list.
    fn index(&mut self, run: &Run) {
        if run.trace != 0 && run.count > 0 {
            self.by_trace
                .entry(run.trace)
                .or_default()
                .extend(run.first..run.first + run.count);
        }
    }

    /// Takes a run of evicted records off its trace's list: the oldest records of all are the
    /// oldest of their trace.
    fn unindex(&mut self, run: &Run) {
        if run.trace == 0 || run.count == 0 {
            return;
        }
        if let Some(seqs) = self.by_trace.get_mut(&run.trace) {
            while seqs.front().is_some_and(|&s| s < run.first + run.count) {
                seqs.pop_front();
            }
            if seqs.is_empty() {
                self.by_trace.remove(&run.trace);
            }
        }
    }

    /// Renumbers every symbol, resource and scope the held records use (see [`Catalog`]).
    pub fn remap(&mut self, remap: &mut Remap) {
        for r in self.ring.iter_mut() {
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

/// Consecutive records (by sequence number) of one trace.
#[derive(Default)]
struct Run {
    trace: TraceId,
    first: LogSeq,
    count: u64,
}

impl Run {
    fn new(trace: TraceId, first: LogSeq) -> Self {
        Self {
            trace,
            first,
            count: 1,
        }
    }

    /// Takes in the record `seq` of `trace` if it continues the run.
    fn extend(&mut self, trace: TraceId, seq: LogSeq) -> bool {
        let continues = self.count > 0 && trace == self.trace && seq == self.first + self.count;
        if continues {
            self.count += 1;
        }
        continues
    }
}

/// A body as kept: a string on the heap is copied into an allocation made here, on the store
/// thread. The one it arrived in was made by the decoder among the request's temporaries, all
/// freed but it, so keeping it would keep their allocator pages part-used (about 15 bytes more
/// resident per record, measured with `bench/compare.sh logs`).
fn repack(v: Value) -> Value {
    match v {
        Value::Str(s) if s.is_heap_allocated() => Value::Str(CompactString::from(s.as_str())),
        other => other,
    }
}

/// What a memo position holds.
#[derive(Clone, Copy)]
enum Slot {
    Severity,
    EventName,
    Key(usize),
    Value(usize),
}

/// The strings the previous record had at each position, with their symbols.
#[derive(Default)]
struct Memo {
    severity: Option<(CompactString, Sym)>,
    event_name: Option<(CompactString, Sym)>,
    keys: Vec<Option<(CompactString, Sym)>>,
    values: Vec<Option<(CompactString, Sym)>>,
}

impl Memo {
    fn slot(&mut self, slot: Slot) -> &mut Option<(CompactString, Sym)> {
        let grow = |v: &mut Vec<Option<(CompactString, Sym)>>, i: usize| {
            if v.len() <= i {
                v.resize(i + 1, None);
            }
        };
        match slot {
            Slot::Severity => &mut self.severity,
            Slot::EventName => &mut self.event_name,
            Slot::Key(i) => {
                grow(&mut self.keys, i);
                &mut self.keys[i]
            }
            Slot::Value(i) => {
                grow(&mut self.values, i);
                &mut self.values[i]
            }
        }
    }

    /// `s` interned, through the memo at `slot`.
    fn intern(&mut self, catalog: &mut Catalog, slot: Slot, s: &str) -> Sym {
        let memo = self.slot(slot);
        if let Some((last, sym)) = memo
            && last.as_str() == s
        {
            return *sym;
        }
        let sym = catalog.intern(s);
        *memo = Some((CompactString::from(s), sym));
        sym
    }

    /// Attributes as stored (as [`Catalog::attrs`] makes them), through the memo.
    fn attrs(&mut self, catalog: &mut Catalog, attrs: Vec<OwnedAttr>) -> Box<[Attr]> {
        let mut out = Vec::with_capacity(attrs.len());
        for (i, (k, v)) in attrs.into_iter().enumerate() {
            let key = self.intern(catalog, Slot::Key(i), &k);
            let value = match v {
                Value::Str(s) if s.len() <= MAX_INTERNED_VALUE => {
                    Value::Sym(self.intern(catalog, Slot::Value(i), &s))
                }
                other => other,
            };
            out.push(Attr::new(key, value));
        }
        out.into_boxed_slice()
    }
}

/// Approximate bytes a stored record holds, itself and what it owns (its slot in the ring and
/// its entry in the trace index included).
fn record_bytes(r: &LogRecord) -> usize {
    // The record, its place in the time order, its place in its trace's list.
    size_of::<LogRecord>()
        + size_of::<(u64, LogSeq)>()
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
    fn records_are_ordered_by_their_time_whatever_the_arrival_order() {
        let mut c = Catalog::default();
        let mut logs = Logs::new(4);
        let at = |time: u64, body: &str| NewLogRecord {
            time,
            ..record(0, 0, body)
        };
        let observed = NewLogRecord {
            time: 0,
            observed_time: 250,
            ..record(0, 0, "observed 250")
        };
        // Two exporters' batches interleaved: 271, 36, then a late 100, and one with only an
        // observed time.
        logs.ingest(&mut c, batch("a", vec![at(271, "271"), at(300, "300")]));
        logs.ingest(&mut c, batch("b", vec![at(36, "36"), observed]));
        let newest: Vec<String> = (0..logs.len())
            .map(|i| {
                let r = logs.get(logs.nth_newest(i).unwrap()).unwrap();
                c.value_text(&r.body).into_owned()
            })
            .collect();
        assert_eq!(newest, ["300", "271", "observed 250", "36"]);
        assert_eq!(logs.newest_position(2), Some(3), "the record of time 36");
        // The oldest to arrive go first (271), and leave the order; a late record (100) goes
        // where it belongs.
        logs.ingest(&mut c, batch("c", vec![at(100, "100")]));
        assert_eq!(
            bodies(&c, logs.iter_by_time()),
            ["36", "100", "observed 250", "300"]
        );
        assert_eq!(logs.nth_newest(4), None);
        assert_eq!(logs.newest_position(0), None, "evicted");
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

    #[test]
    fn records_are_found_across_chunks_while_the_oldest_go() {
        // More records than fit in a few chunks, evicted in steps that do not fall on chunk
        // boundaries: every record held is found by its sequence number, in order both ways.
        let mut c = Catalog::default();
        let max = 2 * CHUNK + 123;
        let mut logs = Logs::new(max);
        let mut sent = 0u64;
        for n in [1, CHUNK - 1, 3, CHUNK + 7, 2 * CHUNK, 5, 777] {
            let records = (0..n)
                .map(|i| {
                    record(
                        u128::from(sent + i as u64) % 97 + 1,
                        1,
                        &(sent + i as u64).to_string(),
                    )
                })
                .collect();
            logs.ingest(&mut c, batch("api", records));
            sent += n as u64;
            let held = logs.seqs();
            assert_eq!(held.end, sent);
            assert_eq!(held.end - held.start, sent.min(max as u64));
            for seq in [
                held.start,
                held.start + 1,
                held.end - 1,
                (held.start + held.end) / 2,
            ]
            .into_iter()
            .filter(|s| held.contains(s))
            {
                assert_eq!(c.value_text(&logs.get(seq).unwrap().body), seq.to_string());
            }
            assert!(logs.get(held.end).is_none());
            assert!(held.start == 0 || logs.get(held.start - 1).is_none());
            let forward: Vec<LogSeq> = logs.iter().map(|(s, _)| s).collect();
            assert_eq!(forward, held.clone().collect::<Vec<_>>());
            let backward: Vec<LogSeq> = logs.iter().rev().take(3).map(|(s, _)| s).collect();
            let last3 = held.end.saturating_sub(3).max(held.start)..held.end;
            assert_eq!(backward, last3.rev().collect::<Vec<_>>());
            assert!(
                logs.iter()
                    .all(|(s, r)| c.value_text(&r.body) == s.to_string())
            );
        }
        assert_eq!(logs.stats().evicted, sent - max as u64);
    }

    #[test]
    fn runs_of_one_trace_are_indexed_and_evicted_in_part() {
        // Runs of records of one trace, interleaved with others and with records of no trace,
        // evicted with a cut inside a run: each trace lists exactly its records still held.
        let mut c = Catalog::default();
        let mut logs = Logs::new(7);
        let first = vec![
            record(1, 1, "a0"),
            record(1, 2, "a1"),
            record(1, 3, "a2"),
            record(0, 0, "none"),
            record(2, 1, "b0"),
            record(2, 1, "b1"),
            record(1, 4, "a3"),
        ];
        logs.ingest(&mut c, batch("api", first));
        assert_eq!(bodies(&c, logs.of_trace(1)), ["a0", "a1", "a2", "a3"]);
        // Two more: a0 and a1 go, the cut falls inside trace 1's first run.
        logs.ingest(
            &mut c,
            batch("api", vec![record(2, 2, "b2"), record(1, 5, "a4")]),
        );
        assert_eq!(bodies(&c, logs.of_trace(1)), ["a2", "a3", "a4"]);
        assert_eq!(bodies(&c, logs.of_trace(2)), ["b0", "b1", "b2"]);
        // Four more of trace 3: a2, none, b0, b1 go.
        let more = (0..4).map(|i| record(3, 1, &format!("c{i}"))).collect();
        logs.ingest(&mut c, batch("api", more));
        assert_eq!(bodies(&c, logs.of_trace(1)), ["a3", "a4"]);
        assert_eq!(bodies(&c, logs.of_trace(2)), ["b2"]);
        assert_eq!(logs.count_of_trace(3), 4);
        // Everything of trace 2 goes: it leaves the index.
        let more = (0..3).map(|i| record(3, 1, &format!("d{i}"))).collect();
        logs.ingest(&mut c, batch("api", more));
        assert_eq!(logs.count_of_trace(2), 0);
        assert!(!logs.by_trace.contains_key(&2));
        assert_eq!(logs.stats().evicted, 9);
    }
}
