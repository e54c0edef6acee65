//! Keeping the trace store's memory bounded: an estimate of the bytes each span holds, so the
//! store can evict by size as well as by count. (The interned tables, which would otherwise grow
//! for ever under a sender that makes up new names, keys or resources, are compacted by the
//! catalog: `crate::catalog`.)

use std::mem::size_of;

use compact_str::CompactString;

use crate::model::{Attr, Event, Link, Span, SpanExtra, Value};

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

pub(super) fn attrs_bytes(attrs: &[Attr]) -> usize {
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

pub(super) fn value_heap(v: &Value) -> usize {
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

#[cfg(test)]
mod tests {
    use crate::catalog::COMPACT_FLOOR;
    use crate::model::{Batch, OwnedResource, OwnedScope, Value};
    use crate::store::Store;
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
        let stats = store.stats().traces;
        assert!(stats.bytes <= 64 * 1024, "{stats:?}");
        assert!(stats.evicted > 80, "{stats:?}");
        assert!(stats.spans >= 10, "{stats:?}");
    }
}
