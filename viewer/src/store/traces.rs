//! The trace store: groups spans into traces whatever their arrival order, evicts whole oldest
//! traces under a span cap and a size cap, and keeps a summary of each trace up to date. Its
//! names, keys and resources live in the shared [`Catalog`]. Plain data: no async, no terminal.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use super::memory;
use crate::catalog::{Catalog, MAX_INTERNED_VALUE, Remap};
use crate::model::{
    Attr, Batch, Event, Link, NewAttr, NewSpan, NewValue, ResourceId, ScopeId, Span, SpanExtra,
    SpanId, Sym, Text, TraceId, Value,
};

/// Traces with more spans than this keep a hash index of span ids; smaller ones scan.
const INDEX_THRESHOLD: usize = 16;

/// A stable reference to a trace: its slot and the slot's generation, so a reference to an
/// evicted trace never resolves to the trace that later reuses the slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TraceRef {
    pub slot: u32,
    pub generation: u32,
}

/// One trace: its spans in arrival order plus a summary kept up to date on insert.
pub struct Trace {
    pub id: TraceId,
    spans: Vec<Span>,
    /// Boxed: most traces never have one, and every trace's struct sits in one large array.
    index: Option<Box<FxHashMap<SpanId, u32>>>,
    /// Earliest span start and latest span end, in unix nanoseconds.
    pub start: u64,
    pub end: u64,
    /// Number of spans with an error status.
    pub errors: u32,
    /// Distinct service names, in order of first appearance.
    services: Vec<Sym>,
    /// The span that best stands for the trace: the earliest span without a parent id, or
    /// failing that the earliest span.
    root: u32,
    /// Bumped on every change, so views know when to rebuild derived data.
    pub version: u32,
    /// Approximate bytes the spans hold.
    bytes: usize,
}

impl Trace {
    fn new(id: TraceId) -> Self {
        Self {
            id,
            spans: Vec::new(),
            index: None,
            start: u64::MAX,
            end: 0,
            errors: 0,
            services: Vec::new(),
            root: 0,
            version: 0,
            bytes: 0,
        }
    }

    #[must_use]
    pub fn spans(&self) -> &[Span] {
        &self.spans
    }

    #[must_use]
    pub fn span_count(&self) -> usize {
        self.spans.len()
    }

    #[must_use]
    pub fn services(&self) -> &[Sym] {
        &self.services
    }

    /// The root span (see the field's doc); every stored trace has at least one span.
    #[must_use]
    pub fn root(&self) -> &Span {
        &self.spans[self.root as usize]
    }

    /// Duration from the earliest start to the latest end, in nanoseconds.
    #[must_use]
    pub fn duration(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// Position of a span by id.
    #[must_use]
    pub fn position(&self, span_id: SpanId) -> Option<usize> {
        if self.spans.len() > INDEX_THRESHOLD {
            self.index.as_ref()?.get(&span_id).map(|&i| i as usize)
        } else {
            self.spans.iter().position(|s| s.span_id == span_id)
        }
    }

    /// Adds a span; returns false (and changes nothing) for a duplicate span id.
    fn insert(&mut self, span: Span, service: Sym) -> bool {
        if self.position(span.span_id).is_some() {
            return false;
        }
        let idx = u32::try_from(self.spans.len()).unwrap_or(u32::MAX);
        if self.spans.len() == INDEX_THRESHOLD {
            self.index = Some(Box::new(
                self.spans
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (s.span_id, i as u32))
                    .collect(),
            ));
        }
        if let Some(index) = self.index.as_mut() {
            index.insert(span.span_id, idx);
        }
        self.start = self.start.min(span.start);
        self.end = self.end.max(span.end.max(span.start));
        if span.is_error() {
            self.errors += 1;
        }
        if !self.services.contains(&service) {
            self.services.push(service);
        }
        let better_root = match self.spans.get(self.root as usize) {
            None => true,
            Some(cur) => {
                let cur_top = cur.parent_id == 0;
                let new_top = span.parent_id == 0;
                (new_top && !cur_top) || (new_top == cur_top && span.start < cur.start)
            }
        };
        if better_root {
            self.root = idx;
        }
        self.spans.push(span);
        self.version = self.version.wrapping_add(1);
        true
    }
}

/// What the trace store counts; all cumulative except `spans`, `traces` and `bytes`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TraceStats {
    /// Spans received in accepted requests, including rejected and duplicate ones.
    pub received: u64,
    /// Spans dropped at the boundary for invalid ids.
    pub rejected: u64,
    /// Spans whose id was already stored in the same trace (kept once).
    pub duplicates: u64,
    /// Spans dropped because their trace already held `max_trace_spans` spans.
    pub trace_full: u64,
    /// Spans removed to stay under the caps, with whole traces.
    pub evicted: u64,
    pub evicted_traces: u64,
    /// Spans held now.
    pub spans: u64,
    /// Approximate bytes the held spans take.
    pub bytes: u64,
    /// Traces held now.
    pub traces: u64,
}

/// The trace store. See the module docs.
pub struct Traces {
    slots: Vec<Option<Trace>>,
    generations: Vec<u32>,
    free: Vec<u32>,
    by_id: FxHashMap<TraceId, u32>,
    /// Traces in order of first arrival; the front is evicted first.
    arrival: VecDeque<TraceRef>,
    max_spans: usize,
    max_trace_spans: usize,
    max_bytes: usize,
    stats: TraceStats,
    /// Bumped on every change.
    generation: u64,
    memo: Memo,
}

/// What the last span of a batch's scope interned, by attribute position: spans of one scope
/// mostly repeat their keys (the decoder then hands over the very same `Text`) and many of their
/// short values, so a comparison with the last span replaces most hash look-ups. `Text`s belong
/// to one batch, and `Sym`s change when the tables are compacted (after a batch): cleared for
/// every resource of every batch.
#[derive(Default)]
struct Memo {
    keys: Vec<Option<(Text, Sym)>>,
    values: Vec<Option<(Text, Sym)>>,
    names: Vec<Option<(Text, Sym)>>,
}

impl Memo {
    fn clear(&mut self) {
        self.keys.clear();
        self.values.clear();
        self.names.clear();
    }
}

/// Interns `text`, unless the string remembered at `pos` is the same; then remembers it there.
fn intern_memo(
    catalog: &mut Catalog,
    batch: &Batch,
    memo: &mut Vec<Option<(Text, Sym)>>,
    pos: usize,
    text: Text,
) -> Sym {
    if let Some(&Some((t, sym))) = memo.get(pos)
        && (t == text || batch.str(t) == batch.str(text))
    {
        return sym;
    }
    let sym = catalog.intern(batch.str(text));
    if pos >= memo.len() {
        memo.resize(pos + 1, None);
    }
    memo[pos] = Some((text, sym));
    sym
}

impl Traces {
    /// A store that holds at most `max_spans` spans.
    #[must_use]
    pub fn new(max_spans: usize) -> Self {
        Self {
            slots: Vec::new(),
            generations: Vec::new(),
            free: Vec::new(),
            by_id: FxHashMap::default(),
            arrival: VecDeque::new(),
            max_spans: max_spans.max(1),
            max_trace_spans: usize::MAX,
            max_bytes: usize::MAX,
            stats: TraceStats::default(),
            generation: 0,
            memo: Memo::default(),
        }
    }

    /// Caps the spans kept per trace; later spans of a full trace are dropped and counted.
    pub fn set_max_trace_spans(&mut self, n: usize) {
        self.max_trace_spans = n.max(1);
    }

    /// Caps the approximate bytes the stored spans take; whole oldest traces are evicted
    /// to stay under it.
    pub fn set_max_bytes(&mut self, n: usize) {
        self.max_bytes = n.max(1);
    }

    #[must_use]
    pub fn stats(&self) -> TraceStats {
        self.stats
    }

    /// Changes whenever a trace is added, grows or goes.
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    #[must_use]
    pub fn trace(&self, r: TraceRef) -> Option<&Trace> {
        if self.generations.get(r.slot as usize) != Some(&r.generation) {
            return None;
        }
        self.slots.get(r.slot as usize)?.as_ref()
    }

    #[must_use]
    pub fn find(&self, id: TraceId) -> Option<TraceRef> {
        let slot = *self.by_id.get(&id)?;
        Some(TraceRef {
            slot,
            generation: self.generations[slot as usize],
        })
    }

    /// Every trace, oldest first by first arrival.
    pub fn by_arrival(&self) -> impl DoubleEndedIterator<Item = TraceRef> + '_ {
        self.arrival.iter().copied()
    }

    /// Adds a batch of spans, then evicts whole oldest traces while over the caps.
    pub fn ingest(&mut self, catalog: &mut Catalog, batch: &Batch) {
        self.stats.rejected += batch.rejected;
        self.stats.received += batch.rejected;
        for rs in &batch.resources {
            self.memo.clear();
            let resource = intern_resource(catalog, batch, &rs.attrs);
            let service = catalog.resource(resource).service;
            for ss in &rs.scopes {
                let scope = catalog.intern_scope(batch.str(ss.name), batch.str(ss.version));
                for i in 0..ss.spans.len() {
                    self.stats.received += 1;
                    self.insert(catalog, batch, &ss.spans[i..], resource, scope, service);
                }
            }
        }
        self.generation += 1;
        self.evict_to_cap();
    }

    /// Inserts `spans[0]`; the spans after it are the rest of its scope in the batch.
    fn insert(
        &mut self,
        catalog: &mut Catalog,
        batch: &Batch,
        spans: &[NewSpan],
        resource: ResourceId,
        scope: ScopeId,
        service: Sym,
    ) {
        let new = &spans[0];
        let trace_id = new.trace_id;
        let span = self.convert_span(catalog, batch, new, resource, scope);
        let slot = match self.by_id.get(&trace_id) {
            Some(&slot) => slot,
            None => {
                let slot = self.new_trace(trace_id);
                // SDKs send a trace's spans together: room for the run that starts here, so
                // the trace's vector is allocated once and exactly (doubling from 4 to 16 for a
                // 10-span trace left 6 spans' room unused: 40 bytes per span).
                let run = spans.iter().take_while(|s| s.trace_id == trace_id).count();
                if let Some(t) = self.slots[slot as usize].as_mut() {
                    t.spans.reserve_exact(run.min(self.max_trace_spans));
                }
                slot
            }
        };
        let trace = self.slots[slot as usize]
            .as_mut()
            .expect("indexed slot holds a trace");
        let bytes = memory::span_bytes(&span);
        if trace.spans.len() >= self.max_trace_spans {
            self.stats.trace_full += 1;
        } else if trace.insert(span, service) {
            trace.bytes += bytes;
            self.stats.bytes += bytes as u64;
            self.stats.spans += 1;
        } else {
            self.stats.duplicates += 1;
        }
    }

    fn new_trace(&mut self, id: TraceId) -> u32 {
        let slot = if let Some(slot) = self.free.pop() {
            self.slots[slot as usize] = Some(Trace::new(id));
            slot
        } else {
            self.slots.push(Some(Trace::new(id)));
            self.generations.push(0);
            u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX)
        };
        self.by_id.insert(id, slot);
        self.arrival.push_back(TraceRef {
            slot,
            generation: self.generations[slot as usize],
        });
        self.stats.traces += 1;
        slot
    }

    fn evict_to_cap(&mut self) {
        while self.stats.spans as usize > self.max_spans
            || self.stats.bytes as usize > self.max_bytes
        {
            let Some(oldest) = self.arrival.pop_front() else {
                break;
            };
            self.remove(oldest);
        }
    }

    fn remove(&mut self, r: TraceRef) {
        let slot = r.slot as usize;
        if self.generations[slot] != r.generation {
            return;
        }
        if let Some(trace) = self.slots[slot].take() {
            let n = trace.spans.len() as u64;
            self.stats.spans -= n;
            self.stats.bytes -= trace.bytes as u64;
            self.stats.evicted += n;
            self.stats.evicted_traces += 1;
            self.stats.traces -= 1;
            self.by_id.remove(&trace.id);
            self.generations[slot] = self.generations[slot].wrapping_add(1);
            self.free.push(r.slot);
            self.generation += 1;
        }
    }

    /// Stored attributes; `memo` for a span's own (see [`Memo`]).
    fn convert_attrs(
        &mut self,
        catalog: &mut Catalog,
        batch: &Batch,
        attrs: &[NewAttr],
        memo: bool,
    ) -> Box<[Attr]> {
        // Built in an exactly sized allocation: a grown vector shrunk to fit keeps most of its
        // block with mimalloc (measured: ~300 bytes more per typical span).
        let mut out = Vec::with_capacity(attrs.len());
        let m = &mut self.memo;
        out.extend(attrs.iter().enumerate().map(|(i, a)| {
            let key = if memo {
                intern_memo(catalog, batch, &mut m.keys, i, a.key)
            } else {
                catalog.intern(batch.str(a.key))
            };
            let value = match &a.value {
                NewValue::Str(t) => {
                    let s = batch.str(*t);
                    // Short strings repeat (methods, routes, hosts): interned, they take no
                    // room of their own and the filter tests each distinct one once.
                    if s.len() <= MAX_INTERNED_VALUE {
                        Value::Sym(if memo {
                            intern_memo(catalog, batch, &mut m.values, i, *t)
                        } else {
                            catalog.intern(s)
                        })
                    } else {
                        Value::Str(s.into())
                    }
                }
                NewValue::Int(i) => Value::Int(*i),
                NewValue::Double(d) => Value::Double(*d),
                NewValue::Bool(b) => Value::Bool(*b),
                NewValue::Empty => Value::Empty,
                NewValue::Other(v) => (**v).clone(),
            };
            Attr::new(key, value)
        }));
        out.into_boxed_slice()
    }

    fn convert_span(
        &mut self,
        catalog: &mut Catalog,
        batch: &Batch,
        new: &NewSpan,
        resource: ResourceId,
        scope: ScopeId,
    ) -> Span {
        let status_message = batch.str(new.status_message);
        let extra = if status_message.is_empty() && new.events.is_empty() && new.links.is_empty() {
            None
        } else {
            let events = new
                .events
                .iter()
                .map(|e| Event {
                    time: e.time,
                    name: catalog.intern(batch.str(e.name)),
                    attrs: self.convert_attrs(catalog, batch, &e.attrs, false),
                })
                .collect();
            let links = new
                .links
                .iter()
                .map(|l| Link {
                    trace_id: l.trace_id,
                    span_id: l.span_id,
                    attrs: self.convert_attrs(catalog, batch, &l.attrs, false),
                })
                .collect();
            Some(Box::new(SpanExtra {
                status_message: status_message.into(),
                events,
                links,
            }))
        };
        Span {
            span_id: new.span_id,
            parent_id: new.parent_id,
            start: new.start,
            end: new.end,
            name: intern_memo(catalog, batch, &mut self.memo.names, 0, new.name),
            resource,
            scope,
            kind: new.kind,
            status: new.status,
            attrs: self.convert_attrs(catalog, batch, batch.attrs_of(new), true),
            extra,
        }
    }

    /// Renumbers every symbol, resource and scope the live spans use (see [`Catalog`]).
    pub fn remap(&mut self, remap: &mut Remap) {
        for trace in self.slots.iter_mut().flatten() {
            for s in &mut trace.services {
                *s = remap.sym(*s);
            }
            for span in &mut trace.spans {
                span.name = remap.sym(span.name);
                remap.attrs(&mut span.attrs);
                if let Some(extra) = &mut span.extra {
                    for e in &mut extra.events {
                        e.name = remap.sym(e.name);
                        remap.attrs(&mut e.attrs);
                    }
                    for l in &mut extra.links {
                        remap.attrs(&mut l.attrs);
                    }
                }
                span.resource = remap.resource(span.resource);
                span.scope = remap.scope(span.scope);
            }
        }
        self.generation += 1;
    }
}

/// The resource of a batch's resource attributes, interned.
fn intern_resource(catalog: &mut Catalog, batch: &Batch, attrs: &[NewAttr]) -> ResourceId {
    let attrs: Vec<(&str, Value)> = attrs
        .iter()
        .map(|a| (batch.str(a.key), batch.value(&a.value)))
        .collect();
    catalog.intern_resource(&attrs)
}
