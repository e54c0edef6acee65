//! Keeping the store's memory bounded: an estimate of the bytes each span holds (so the store
//! can evict by size as well as by count), and compaction of the interned tables, which would
//! otherwise grow for ever under a sender that makes up new span names, keys or resources.

use std::mem::size_of;

use compact_str::CompactString;
use rustc_hash::FxHashMap;

use super::{Interner, Store};
use crate::model::{
    Attr, Event, Link, Resource, ResourceId, Scope, ScopeId, Span, SpanExtra, Sym, Value,
};

/// The interned tables are compacted once they hold this many entries more than were live at
/// the last compaction (and at least this many in all).
pub(super) const COMPACT_FLOOR: usize = 64 * 1024;

/// Approximate bytes a stored span holds, itself and what it owns.
#[must_use]
pub fn span_bytes(s: &Span) -> usize {
    size_of::<Span>()
        + attrs_bytes(&s.attrs)
        + s.extra.as_ref().map_or(0, |e| {
            size_of::<SpanExtra>()
                + e.status_message.len()
                + e.events
                    .iter()
                    .map(|ev| size_of::<Event>() + attrs_bytes(&ev.attrs))
                    .sum::<usize>()
                + e.links
                    .iter()
                    .map(|l| size_of::<Link>() + attrs_bytes(&l.attrs))
                    .sum::<usize>()
        })
}

fn attrs_bytes(attrs: &[Attr]) -> usize {
    std::mem::size_of_val(attrs)
        + attrs
            .iter()
            .map(|a| match a {
                Attr::Other { value, .. } => size_of::<Value>() + value_heap(value),
                _ => 0,
            })
            .sum::<usize>()
}

fn str_heap(s: &CompactString) -> usize {
    if s.is_heap_allocated() { s.len() } else { 0 }
}

fn value_heap(v: &Value) -> usize {
    match v {
        Value::Str(s) => str_heap(s),
        Value::Bytes(b) => b.len(),
        Value::Array(items) => {
            std::mem::size_of_val(&**items) + items.iter().map(value_heap).sum::<usize>()
        }
        Value::Map(items) => {
            items.len() * size_of::<(CompactString, Value)>()
                + items
                    .iter()
                    .map(|(k, v)| str_heap(k) + value_heap(v))
                    .sum::<usize>()
        }
        Value::Sym(_) | Value::Bool(_) | Value::Int(_) | Value::Double(_) | Value::Empty => 0,
    }
}

/// Old symbol to new, filled on demand while the live data is walked.
struct Remap {
    old: Interner,
    new: Interner,
    map: Vec<u32>,
}

impl Remap {
    fn sym(&mut self, sym: Sym) -> Sym {
        let slot = &mut self.map[sym.0 as usize];
        if *slot == u32::MAX {
            *slot = self.new.intern(self.old.get(sym)).0;
        }
        Sym(*slot)
    }

    fn attrs(&mut self, attrs: &mut [Attr]) {
        for a in attrs {
            let key = a.key_mut();
            *key = self.sym(*key);
            if let Attr::Sym { value, .. } = a {
                *value = self.sym(*value);
            }
        }
    }
}

impl Store {
    /// Compacts the interned tables when they have grown well past what live spans use.
    pub(super) fn maybe_compact(&mut self) {
        let threshold = self.compact_at.max(COMPACT_FLOOR);
        if self.strings.len() > threshold || self.resources.len() > threshold {
            self.compact();
        }
    }

    /// Rebuilds the string, resource and scope tables from the live spans only.
    pub fn compact(&mut self) {
        let old = std::mem::take(&mut self.strings);
        let n = old.len();
        let mut remap = Remap {
            old,
            new: Interner::default(),
            map: vec![u32::MAX; n],
        };
        let mut resource_map = vec![u32::MAX; self.resources.len()];
        let mut scope_map = vec![u32::MAX; self.scopes.len()];
        let mut resources: Vec<Resource> = Vec::new();
        let mut scopes: Vec<Scope> = Vec::new();
        self.service_name_key = remap.new.intern("service.name");
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
                let r = &mut resource_map[span.resource.0 as usize];
                if *r == u32::MAX {
                    let mut res = self.resources[span.resource.0 as usize].clone();
                    res.service = remap.sym(res.service);
                    remap.attrs(&mut res.attrs);
                    *r = u32::try_from(resources.len()).unwrap_or(u32::MAX);
                    resources.push(res);
                }
                span.resource = ResourceId(*r);
                let sc = &mut scope_map[span.scope.0 as usize];
                if *sc == u32::MAX {
                    let old_scope = &self.scopes[span.scope.0 as usize];
                    let scope = Scope {
                        name: remap.sym(old_scope.name),
                        version: remap.sym(old_scope.version),
                    };
                    *sc = u32::try_from(scopes.len()).unwrap_or(u32::MAX);
                    scopes.push(scope);
                }
                span.scope = ScopeId(*sc);
            }
        }
        self.strings = remap.new;
        let mut resource_ids: FxHashMap<u64, Vec<ResourceId>> = FxHashMap::default();
        for (i, r) in resources.iter().enumerate() {
            let resolved: Vec<(&str, Value)> = r
                .attrs
                .iter()
                .map(|a| (self.strings.get(a.key()), self.resolve(&a.value())))
                .collect();
            let key = super::resource_key(resolved.iter().map(|(k, v)| (*k, v)));
            resource_ids
                .entry(key)
                .or_default()
                .push(ResourceId(i as u32));
        }
        self.resource_ids = resource_ids;
        self.resources = resources;
        self.scope_ids = scopes
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), ScopeId(i as u32)))
            .collect();
        self.scopes = scopes;
        self.compact_at = 2 * self.strings.len().max(self.resources.len());
        self.stats.compactions += 1;
        self.generation += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Batch, OwnedResource, OwnedScope};
    use crate::store::tests::{batch, span};

    #[test]
    fn unique_names_from_a_hostile_sender_do_not_grow_the_tables_for_ever() {
        let mut store = Store::new(100);
        for i in 0..3 * COMPACT_FLOOR as u64 {
            let mut s = span(u128::from(i) + 1, 1, 0, i, i + 1, &format!("name {i}"));
            s.attrs = vec![(format!("key {i}").into(), Value::Str("v".into()))];
            let mut b = batch(&format!("service {}", i % 7), vec![s]);
            let res = b.attr(&format!("res {i}"), Value::Int(1));
            b.resources[0].attrs.push(res);
            store.ingest(b);
        }
        assert!(store.stats().compactions >= 1);
        assert!(
            store.strings().len() <= 2 * COMPACT_FLOOR + 400,
            "{}",
            store.strings().len()
        );
        assert!(store.resources().len() <= 2 * COMPACT_FLOOR + 400);
        // What is live still reads right.
        let last = 3 * COMPACT_FLOOR as u128;
        let t = store.trace(store.find(last).unwrap()).unwrap();
        let s = t.root();
        assert_eq!(store.str(s.name), format!("name {}", last - 1));
        assert_eq!(store.str(s.attrs[0].key()), format!("key {}", last - 1));
        assert_eq!(store.service_of(s), format!("service {}", (last - 1) % 7));
        let res = store.resource(s.resource);
        assert_eq!(store.str(res.attrs[1].key()), format!("res {}", last - 1));
    }

    #[test]
    fn compaction_keeps_every_live_span_readable_and_interning_consistent() {
        let mut store = Store::new(1000);
        let b = Batch::from_owned(
            vec![OwnedResource {
                attrs: vec![("service.name".into(), Value::Str("a".into()))],
                scopes: vec![OwnedScope {
                    name: "lib".into(),
                    version: "2".into(),
                    spans: vec![span(1, 1, 0, 0, 5, "root"), span(1, 2, 1, 1, 2, "child")],
                }],
            }],
            0,
        );
        store.ingest(b);
        store.compact();
        let t = store.trace(store.find(1).unwrap()).unwrap();
        assert_eq!(store.str(t.spans()[1].name), "child");
        let scope = store.scope(t.spans()[0].scope);
        assert_eq!(
            (store.str(scope.name), store.str(scope.version)),
            ("lib", "2")
        );
        // A later batch with the same resource and scope reuses the compacted entries.
        store.ingest(batch("a", vec![span(2, 1, 0, 0, 1, "again")]));
        assert_eq!(store.resources().len(), 1);
        assert_eq!(store.strings().iter().filter(|s| *s == "again").count(), 1);
    }

    #[test]
    fn the_store_evicts_by_size_too() {
        let mut store = Store::new(1_000_000).with_max_bytes(64 * 1024);
        for i in 0..100u64 {
            let mut s = span(u128::from(i) + 1, 1, 0, i, i + 1, "big");
            s.attrs = vec![("blob".into(), Value::Str("x".repeat(4096).into()))];
            store.ingest(batch("a", vec![s]));
        }
        let stats = store.stats();
        assert!(stats.bytes <= 64 * 1024, "{stats:?}");
        assert!(stats.evicted > 80, "{stats:?}");
        assert!(stats.spans >= 10, "{stats:?}");
    }
}
