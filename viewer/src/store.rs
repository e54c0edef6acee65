//! The trace store: groups spans into traces, interns strings, evicts whole oldest traces under
//! a span cap, and answers queries. Plain data structures: no async, no terminal.

pub mod filter;
pub mod memory;
pub mod tree;

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHasher};

use crate::model::{
    Attr, Batch, Event, Link, NewAttr, NewSpan, NewValue, Resource, ResourceId, Scope, ScopeId,
    Span, SpanExtra, SpanId, Sym, Text, TraceId, Value,
};

/// String attribute values up to this many bytes are interned.
const MAX_INTERNED_VALUE: usize = 64;

/// Traces with more spans than this keep a hash index of span ids; smaller ones scan.
const INDEX_THRESHOLD: usize = 16;

/// A stable reference to a trace: its slot and the slot's generation, so a reference to an
/// evicted trace never resolves to the trace that later reuses the slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TraceRef {
    pub slot: u32,
    pub generation: u32,
}

/// Interned strings: service names, span names, attribute keys, scope names.
#[derive(Default)]
pub struct Interner {
    strings: Vec<Arc<str>>,
    ids: FxHashMap<Arc<str>, Sym>,
}

impl Interner {
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&sym) = self.ids.get(s) {
            return sym;
        }
        let sym = Sym(u32::try_from(self.strings.len()).unwrap_or(u32::MAX));
        let arc: Arc<str> = Arc::from(s);
        self.strings.push(Arc::clone(&arc));
        self.ids.insert(arc, sym);
        sym
    }

    #[must_use]
    pub fn get(&self, sym: Sym) -> &str {
        self.strings.get(sym.0 as usize).map_or("", |s| s)
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.strings.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.strings.iter().map(|s| &**s)
    }
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

/// Counters the store keeps; all cumulative except `spans` and `traces`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Spans received in accepted requests, including rejected and duplicate ones.
    pub received: u64,
    /// Spans dropped at the boundary for invalid ids.
    pub rejected: u64,
    /// Spans whose id was already stored in the same trace (kept once).
    pub duplicates: u64,
    /// Spans dropped because their trace already held `max_trace_spans` spans.
    pub trace_full: u64,
    /// Spans removed to stay under the cap, with whole traces.
    pub evicted: u64,
    pub evicted_traces: u64,
    /// Spans held now.
    pub spans: u64,
    /// Approximate bytes the held spans take.
    pub bytes: u64,
    /// Times the interned tables were rebuilt from live data.
    pub compactions: u64,
    /// Traces held now.
    pub traces: u64,
}

/// The store. See the module docs.
pub struct Store {
    strings: Interner,
    resources: Vec<Resource>,
    resource_ids: FxHashMap<u64, Vec<ResourceId>>,
    scopes: Vec<Scope>,
    scope_ids: FxHashMap<Scope, ScopeId>,
    slots: Vec<Option<Trace>>,
    generations: Vec<u32>,
    free: Vec<u32>,
    by_id: FxHashMap<TraceId, u32>,
    /// Traces in order of first arrival; the front is evicted first.
    arrival: VecDeque<TraceRef>,
    max_spans: usize,
    max_trace_spans: usize,
    max_bytes: usize,
    /// Table size past which the interned tables are compacted.
    compact_at: usize,
    stats: StoreStats,
    /// Bumped on every change.
    generation: u64,
    service_name_key: Sym,
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
    strings: &mut Interner,
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
    let sym = strings.intern(batch.str(text));
    if pos >= memo.len() {
        memo.resize(pos + 1, None);
    }
    memo[pos] = Some((text, sym));
    sym
}

impl Store {
    /// A store that holds at most `max_spans` spans.
    #[must_use]
    pub fn new(max_spans: usize) -> Self {
        let mut strings = Interner::default();
        let service_name_key = strings.intern("service.name");
        Self {
            strings,
            resources: Vec::new(),
            resource_ids: FxHashMap::default(),
            scopes: Vec::new(),
            scope_ids: FxHashMap::default(),
            slots: Vec::new(),
            generations: Vec::new(),
            free: Vec::new(),
            by_id: FxHashMap::default(),
            arrival: VecDeque::new(),
            max_spans: max_spans.max(1),
            max_trace_spans: usize::MAX,
            max_bytes: usize::MAX,
            compact_at: 0,
            stats: StoreStats::default(),
            generation: 0,
            service_name_key,
            memo: Memo::default(),
        }
    }

    /// Caps the spans kept per trace; later spans of a full trace are dropped and counted.
    #[must_use]
    pub fn with_max_trace_spans(mut self, n: usize) -> Self {
        self.max_trace_spans = n.max(1);
        self
    }

    /// Caps the approximate bytes the stored spans take; whole oldest traces are evicted
    /// to stay under it.
    #[must_use]
    pub fn with_max_bytes(mut self, n: usize) -> Self {
        self.max_bytes = n.max(1);
        self
    }

    #[must_use]
    pub fn stats(&self) -> StoreStats {
        self.stats
    }

    #[must_use]
    pub fn max_spans(&self) -> usize {
        self.max_spans
    }

    /// Changes whenever the store's content changes.
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    #[must_use]
    pub fn strings(&self) -> &Interner {
        &self.strings
    }

    #[must_use]
    pub fn str(&self, sym: Sym) -> &str {
        self.strings.get(sym)
    }

    #[must_use]
    pub fn resource(&self, id: ResourceId) -> &Resource {
        &self.resources[id.0 as usize]
    }

    #[must_use]
    pub fn resources(&self) -> &[Resource] {
        &self.resources
    }

    #[must_use]
    pub fn scope(&self, id: ScopeId) -> &Scope {
        &self.scopes[id.0 as usize]
    }

    /// Service name of a span.
    #[must_use]
    pub fn service_of(&self, span: &Span) -> &str {
        self.str(self.resource(span.resource).service)
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
    pub fn traces_by_arrival(&self) -> impl DoubleEndedIterator<Item = TraceRef> + '_ {
        self.arrival.iter().copied()
    }

    /// Adds a batch of spans, then evicts whole oldest traces while over the span cap.
    pub fn ingest(&mut self, batch: Batch) {
        self.stats.rejected += batch.rejected;
        self.stats.received += batch.rejected;
        for rs in &batch.resources {
            self.memo.clear();
            let resource = self.intern_resource(&batch, &rs.attrs);
            let service = self.resources[resource.0 as usize].service;
            for ss in &rs.scopes {
                let scope = self.intern_scope(batch.str(ss.name), batch.str(ss.version));
                for i in 0..ss.spans.len() {
                    self.stats.received += 1;
                    self.insert(&batch, &ss.spans[i..], resource, scope, service);
                }
            }
        }
        self.generation += 1;
        self.evict_to_cap();
        self.maybe_compact();
    }

    /// Inserts `spans[0]`; the spans after it are the rest of its scope in the batch.
    fn insert(
        &mut self,
        batch: &Batch,
        spans: &[NewSpan],
        resource: ResourceId,
        scope: ScopeId,
        service: Sym,
    ) {
        let new = &spans[0];
        let trace_id = new.trace_id;
        let span = self.convert_span(batch, new, resource, scope);
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
    fn convert_attrs(&mut self, batch: &Batch, attrs: &[NewAttr], memo: bool) -> Box<[Attr]> {
        // Built in an exactly sized allocation: a grown vector shrunk to fit keeps most of its
        // block with mimalloc (measured: ~300 bytes more per typical span).
        let mut out = Vec::with_capacity(attrs.len());
        let (strings, m) = (&mut self.strings, &mut self.memo);
        out.extend(attrs.iter().enumerate().map(|(i, a)| {
            let key = if memo {
                intern_memo(strings, batch, &mut m.keys, i, a.key)
            } else {
                strings.intern(batch.str(a.key))
            };
            let value = match &a.value {
                NewValue::Str(t) => {
                    let s = batch.str(*t);
                    // Short strings repeat (methods, routes, hosts): interned, they take no
                    // room of their own and the filter tests each distinct one once.
                    if s.len() <= MAX_INTERNED_VALUE {
                        Value::Sym(if memo {
                            intern_memo(strings, batch, &mut m.values, i, *t)
                        } else {
                            strings.intern(s)
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

    /// A stored value with an interned string read back as a plain string value.
    #[must_use]
    pub fn resolve(&self, v: &Value) -> Value {
        match v {
            Value::Sym(s) => Value::Str(self.str(*s).into()),
            other => other.clone(),
        }
    }

    /// A stored value's text, as shown to the user.
    #[must_use]
    pub fn value_text<'a>(&'a self, v: &'a Value) -> std::borrow::Cow<'a, str> {
        match v {
            Value::Sym(s) => std::borrow::Cow::Borrowed(self.str(*s)),
            Value::Str(s) => std::borrow::Cow::Borrowed(s),
            other => std::borrow::Cow::Owned(other.to_string()),
        }
    }

    /// Whether a stored value equals an incoming one.
    fn value_eq(&self, stored: &Value, new: &Value) -> bool {
        match (stored, new) {
            (Value::Sym(s), Value::Str(t)) => self.str(*s) == t.as_str(),
            (a, b) => a == b,
        }
    }

    fn convert_span(
        &mut self,
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
                    name: self.strings.intern(batch.str(e.name)),
                    attrs: self.convert_attrs(batch, &e.attrs, false),
                })
                .collect();
            let links = new
                .links
                .iter()
                .map(|l| Link {
                    trace_id: l.trace_id,
                    span_id: l.span_id,
                    attrs: self.convert_attrs(batch, &l.attrs, false),
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
            name: intern_memo(&mut self.strings, batch, &mut self.memo.names, 0, new.name),
            resource,
            scope,
            kind: new.kind,
            status: new.status,
            attrs: self.convert_attrs(batch, batch.attrs_of(new), true),
            extra,
        }
    }

    fn intern_scope(&mut self, name: &str, version: &str) -> ScopeId {
        let scope = Scope {
            name: self.strings.intern(name),
            version: self.strings.intern(version),
        };
        if let Some(&id) = self.scope_ids.get(&scope) {
            return id;
        }
        let id = ScopeId(u32::try_from(self.scopes.len()).unwrap_or(u32::MAX));
        self.scopes.push(scope.clone());
        self.scope_ids.insert(scope, id);
        id
    }

    fn intern_resource(&mut self, batch: &Batch, new_attrs: &[NewAttr]) -> ResourceId {
        let attrs: Vec<(&str, Value)> = new_attrs
            .iter()
            .map(|a| (batch.str(a.key), batch.value(&a.value)))
            .collect();
        let key = resource_key(attrs.iter().map(|(k, v)| (*k, v)));
        if let Some(candidates) = self.resource_ids.get(&key) {
            for &id in candidates {
                let stored = &self.resources[id.0 as usize];
                let same = stored.attrs.len() == attrs.len()
                    && stored.attrs.iter().zip(&attrs).all(|(a, (k, v))| {
                        self.strings.get(a.key()) == *k && self.value_eq(&a.value(), v)
                    });
                if same {
                    return id;
                }
            }
        }
        let service = attrs
            .iter()
            .find(|(k, _)| *k == "service.name")
            .and_then(|(_, v)| v.as_str())
            .unwrap_or("unknown_service");
        let service = self.strings.intern(service);
        let stored = self.convert_attrs(batch, new_attrs, false);
        let id = ResourceId(u32::try_from(self.resources.len()).unwrap_or(u32::MAX));
        self.resources.push(Resource {
            service,
            attrs: stored,
        });
        self.resource_ids.entry(key).or_default().push(id);
        id
    }

    /// The key under which a resource's service name is stored.
    #[must_use]
    pub fn service_name_key(&self) -> Sym {
        self.service_name_key
    }
}

/// The hash under which a resource with these attributes is found.
fn resource_key<'a>(attrs: impl Iterator<Item = (&'a str, &'a Value)>) -> u64 {
    let mut h = FxHasher::default();
    for (k, v) in attrs {
        k.hash(&mut h);
        hash_value(v, &mut h);
    }
    h.finish()
}

fn hash_value(v: &Value, h: &mut FxHasher) {
    std::mem::discriminant(v).hash(h);
    match v {
        Value::Str(s) => s.hash(h),
        Value::Sym(s) => s.hash(h),
        Value::Bool(b) => b.hash(h),
        Value::Int(i) => i.hash(h),
        Value::Double(d) => d.to_bits().hash(h),
        Value::Bytes(b) => b.hash(h),
        Value::Array(items) => items.iter().for_each(|i| hash_value(i, h)),
        Value::Map(items) => items.iter().for_each(|(k, v)| {
            k.hash(h);
            hash_value(v, h);
        }),
        Value::Empty => {}
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
        let s = store.stats();
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
        let s = store.stats();
        assert_eq!((s.spans, s.duplicates, s.received), (1, 1, 2));
    }

    #[test]
    fn duplicates_detected_in_large_traces_through_the_index() {
        let mut store = Store::new(1000);
        let spans: Vec<_> = (1..=100).map(|i| span(1, i, 0, i, i + 1, "s")).collect();
        store.ingest(batch("a", spans.clone()));
        store.ingest(batch("a", spans));
        assert_eq!(store.stats().spans, 100);
        assert_eq!(store.stats().duplicates, 100);
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
        let s = store.stats();
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
        let s = store.stats();
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
