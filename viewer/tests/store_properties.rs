//! Property-based tests of the store: random span sets, shuffled and split across batches, with
//! missing parents, duplicate span ids, parent cycles, self-parents, extreme timestamps and a
//! small span cap, checked against a plain reference model after every ingest.
//!
//! Invariants (see docs/RELIABILITY.md):
//! - nothing panics (store, tree, filter, headless report);
//! - the store holds exactly the traces and spans the model says (first copy of a duplicate
//!   kept, spans past a full trace dropped, whole oldest traces evicted), never more than
//!   `max_spans`;
//! - counts add up: `received == spans + rejected + evicted + duplicates + trace_full`;
//! - every stored span appears exactly once in its trace's tree walk, and the walk is a forest:
//!   parents come before children, depths step by one, subtrees are contiguous and nested;
//! - only live references resolve; the filter returns exactly the traces with a match.

use std::collections::HashSet;

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::FileFailurePersistence;
use viewer::ingest::Counters;
use viewer::model::{Batch, OwnedResource, OwnedScope, OwnedSpan, StatusCode, Value};
use viewer::query::SpanFilter;
use viewer::store::tree::{TopKind, Tree};
use viewer::store::{Store, TraceRef};

const TRACE_IDS: [u128; 5] = [1, 2, 0xabc, u128::MAX, 1 << 64];
const SERVICES: [&str; 4] = ["api", "db", "checkout\x1b[31m", "Ünïcode"];
const NAMES: [&str; 6] = [
    "GET /cart",
    "db query",
    "SELECT",
    "a\x1b]0;pwned\x07",
    "ÉCOLE é",
    "",
];
const ATTR_VALUES: [&str; 3] = ["alice-42", "Bob", "ünï"];
const QUERIES: [&str; 12] = [
    "get", "GET", "Get", "db", "Db", "é", "É", "alice", "", "\x1b", "zzz", "9",
];

/// One span to send, before it is placed in a batch.
#[derive(Clone, Debug)]
struct SpanSpec {
    trace: u128,
    id: u64,
    parent: u64,
    start: u64,
    end: u64,
    name: &'static str,
    service: &'static str,
    error: bool,
    attr: Option<Value>,
}

fn timestamp() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0),
        Just(u64::MAX),
        Just(u64::MAX - 1),
        0..1_000u64,
        any::<u64>(),
    ]
}

fn span_spec() -> impl Strategy<Value = SpanSpec> {
    // Few span ids, so duplicates, parent links, self-parents and cycles are common.
    let id = prop_oneof![8 => 1..=10u64, 1 => Just(u64::MAX)];
    let parent = prop_oneof![3 => Just(0u64), 6 => 1..=12u64, 1 => Just(u64::MAX)];
    let attr = prop_oneof![
        Just(None),
        select(&ATTR_VALUES[..]).prop_map(|s| Some(Value::Str(s.into()))),
        prop_oneof![Just(9i64), Just(-1)].prop_map(|i| Some(Value::Int(i))),
    ];
    (
        select(&TRACE_IDS[..]),
        id,
        parent,
        timestamp(),
        timestamp(),
        select(&NAMES[..]),
        select(&SERVICES[..]),
        any::<bool>(),
        attr,
    )
        .prop_map(
            |(trace, id, parent, start, end, name, service, error, attr)| SpanSpec {
                trace,
                id,
                parent,
                start,
                end,
                name,
                service,
                error,
                attr,
            },
        )
}

/// A run: the store's cap, the spans in arrival order, how they are cut into batches, and how
/// many spans each batch reports as rejected at the boundary.
#[derive(Clone, Debug)]
struct Run {
    max_spans: usize,
    /// Spans kept per trace (`Store::with_max_trace_spans`), if capped.
    max_trace_spans: Option<usize>,
    spans: Vec<SpanSpec>,
    cuts: Vec<usize>,
    rejected: Vec<u64>,
}

fn run() -> impl Strategy<Value = Run> {
    (
        1..=40usize,
        prop_oneof![3 => Just(None), 1 => (1..=6usize).prop_map(Some)],
        proptest::collection::vec(span_spec(), 0..60).prop_shuffle(),
        proptest::collection::vec(0..12usize, 1..8),
        proptest::collection::vec(prop_oneof![4 => Just(0u64), 1 => 1..4u64], 8),
    )
        .prop_map(|(max_spans, max_trace_spans, spans, cuts, rejected)| Run {
            max_spans,
            max_trace_spans,
            spans,
            cuts,
            rejected,
        })
}

fn new_store(run: &Run) -> Store {
    let store = Store::new(run.max_spans);
    match run.max_trace_spans {
        Some(n) => store.with_max_trace_spans(n),
        None => store,
    }
}

/// Cuts the spans into batches; consecutive spans of one service share a resource entry.
fn batches(run: &Run) -> Vec<Batch> {
    let mut out = Vec::new();
    let mut rest = &run.spans[..];
    for (k, &cut) in run.cuts.iter().enumerate() {
        let take = if k + 1 == run.cuts.len() {
            rest.len()
        } else {
            cut.min(rest.len())
        };
        let (now, later) = rest.split_at(take);
        rest = later;
        let mut resources: Vec<OwnedResource> = Vec::new();
        for s in now {
            let same = resources.last().is_some_and(|r| {
                r.attrs
                    .first()
                    .and_then(|(_, v)| v.as_str())
                    .is_some_and(|v| v == s.service)
            });
            if !same {
                resources.push(OwnedResource {
                    attrs: vec![
                        ("service.name".into(), Value::Str(s.service.into())),
                        ("host".into(), Value::Str("box-9".into())),
                    ],
                    scopes: vec![OwnedScope {
                        name: "prop".into(),
                        version: "1".into(),
                        spans: Vec::new(),
                    }],
                });
            }
            let scope = &mut resources.last_mut().unwrap().scopes[0];
            scope.spans.push(OwnedSpan {
                trace_id: s.trace,
                span_id: s.id,
                parent_id: s.parent,
                name: s.name.into(),
                start: s.start,
                end: s.end,
                status: if s.error {
                    StatusCode::Error
                } else {
                    StatusCode::Unset
                },
                attrs: s.attr.iter().map(|v| ("k".into(), v.clone())).collect(),
                ..OwnedSpan::default()
            });
        }
        out.push(Batch::from_owned(
            resources,
            run.rejected[k % run.rejected.len()],
        ));
    }
    out
}

/// What a stored span must look like: the first copy that arrived.
#[derive(Clone, Debug, PartialEq)]
struct Kept {
    id: u64,
    parent: u64,
    start: u64,
    end: u64,
}

/// The reference model: traces in first-arrival order, each with its spans in arrival order.
#[derive(Default)]
struct Model {
    traces: Vec<(u128, Vec<Kept>)>,
    received: u64,
    rejected: u64,
    duplicates: u64,
    trace_full: u64,
    evicted: u64,
    evicted_traces: u64,
}

impl Model {
    fn ingest(&mut self, batch: &Batch, max_spans: usize, max_trace_spans: Option<usize>) {
        self.received += batch.rejected;
        self.rejected += batch.rejected;
        for s in batch
            .resources
            .iter()
            .flat_map(|r| &r.scopes)
            .flat_map(|s| &s.spans)
        {
            self.received += 1;
            let kept = Kept {
                id: s.span_id,
                parent: s.parent_id,
                start: s.start,
                end: s.end,
            };
            let full = |spans: &Vec<Kept>| max_trace_spans.is_some_and(|m| spans.len() >= m);
            match self.traces.iter_mut().find(|(id, _)| *id == s.trace_id) {
                // A full trace drops the span before looking for a duplicate.
                Some((_, spans)) if full(spans) => self.trace_full += 1,
                Some((_, spans)) if spans.iter().any(|k| k.id == s.span_id) => {
                    self.duplicates += 1;
                }
                Some((_, spans)) => spans.push(kept),
                None => self.traces.push((s.trace_id, vec![kept])),
            }
        }
        while self.spans() > max_spans {
            let (_, gone) = self.traces.remove(0);
            self.evicted += gone.len() as u64;
            self.evicted_traces += 1;
        }
    }

    fn spans(&self) -> usize {
        self.traces.iter().map(|(_, s)| s.len()).sum()
    }
}

/// The tree walk is a forest holding every span exactly once, with consistent links.
fn check_tree(spans: &[viewer::model::Span]) -> Result<(), TestCaseError> {
    let tree = Tree::build(spans);
    let rows = &tree.rows;
    let n = spans.len();
    prop_assert_eq!(rows.len(), n, "one row per span");
    let mut seen = vec![false; n];
    for (i, row) in rows.iter().enumerate() {
        let span = row.span as usize;
        prop_assert!(span < n);
        prop_assert!(!seen[span], "span {} appears twice", span);
        seen[span] = true;
        let end = row.subtree_end as usize;
        prop_assert!(i < end && end <= n, "row {} subtree_end {}", i, end);
        if row.parent_row == u32::MAX {
            prop_assert_eq!(row.depth, 0);
            prop_assert!(row.top != TopKind::Child);
            let s = &spans[span];
            match row.top {
                TopKind::Root => prop_assert_eq!(s.parent_id, 0),
                TopKind::MissingParent => prop_assert!(
                    s.parent_id == s.span_id || !spans.iter().any(|p| p.span_id == s.parent_id),
                    "missing parent is present"
                ),
                TopKind::Cycle => prop_assert!(
                    s.parent_id != 0 && spans.iter().any(|p| p.span_id == s.parent_id),
                    "cycle break without a parent"
                ),
                TopKind::Child => unreachable!(),
            }
        } else {
            let p = row.parent_row as usize;
            prop_assert!(p < i, "parent row {} after child row {}", p, i);
            prop_assert_eq!(row.top, TopKind::Child);
            prop_assert_eq!(row.depth, rows[p].depth + 1);
            prop_assert_eq!(
                spans[span].parent_id,
                spans[rows[p].span as usize].span_id,
                "child row under the wrong parent"
            );
            prop_assert!(end <= rows[p].subtree_end as usize, "subtrees nest");
        }
        // Rows inside the subtree are deeper and hang below this row; the next row after it
        // is not.
        for (j, inner) in rows.iter().enumerate().take(end).skip(i + 1) {
            prop_assert!(inner.depth > row.depth);
            prop_assert!((i..j).contains(&(inner.parent_row as usize)));
        }
        if end < n {
            prop_assert!(rows[end].depth <= row.depth);
        }
    }
    // Collapsing nothing shows every row; collapsing everything shows only the tops.
    prop_assert_eq!(tree.visible(|_| false).len(), n);
    let tops = rows.iter().filter(|r| r.parent_row == u32::MAX).count();
    prop_assert_eq!(tree.visible(|_| true).len(), tops);
    Ok(())
}

/// Smart-case substring match, written plainly.
fn reference_match(query: &str, hay: &str) -> bool {
    if query.chars().any(char::is_uppercase) {
        hay.contains(query)
    } else {
        hay.to_ascii_lowercase()
            .contains(&query.to_ascii_lowercase())
    }
}

fn value_matches(store: &Store, query: &str, v: &Value) -> bool {
    match v {
        Value::Str(s) => reference_match(query, s),
        Value::Sym(s) => reference_match(query, store.str(*s)),
        Value::Int(_) | Value::Bool(_) | Value::Double(_) => reference_match(query, &v.to_string()),
        Value::Array(items) => items.iter().any(|i| value_matches(store, query, i)),
        Value::Map(items) => items.iter().any(|(_, i)| value_matches(store, query, i)),
        Value::Bytes(_) | Value::Empty => false,
    }
}

/// Conditions, `and`, `or` and `not` against a direct reading of the spans.
fn check_structured(store: &Store) -> Result<(), TestCaseError> {
    type Pred = fn(&Store, &viewer::model::Span) -> bool;
    let cases: [(&str, Pred); 4] = [
        ("service=api and duration>=20ns", |st, s| {
            st.service_of(s) == "api" && s.duration() >= 20
        }),
        ("not name~get", |st, s| {
            !st.str(s.name).to_ascii_lowercase().contains("get")
        }),
        ("name=SELECT or service=db", |st, s| {
            st.str(s.name) == "SELECT" || st.service_of(s) == "db"
        }),
        ("duration<5ns", |_, s| s.duration() < 5),
    ];
    for (query, pred) in cases {
        let got = SpanFilter::parse(query, store)
            .unwrap()
            .unwrap()
            .traces(store);
        let expected: Vec<TraceRef> = store
            .traces_by_arrival()
            .filter(|&r| {
                store
                    .trace(r)
                    .unwrap()
                    .spans()
                    .iter()
                    .any(|s| pred(store, s))
            })
            .collect();
        prop_assert_eq!(got, expected, "filter {:?}", query);
    }
    Ok(())
}

fn check_filter(store: &Store, query: &str) -> Result<(), TestCaseError> {
    let got = match SpanFilter::parse(query, store).unwrap() {
        Some(f) => f.traces(store),
        None => store.traces_by_arrival().collect(),
    };
    let expected: Vec<TraceRef> = store
        .traces_by_arrival()
        .filter(|&r| {
            store.trace(r).unwrap().spans().iter().any(|s| {
                let res = store.resource(s.resource);
                reference_match(query, store.str(s.name))
                    || reference_match(query, store.service_of(s))
                    || res
                        .attrs
                        .iter()
                        .any(|a| value_matches(store, query, &a.value()))
                    || s.attrs
                        .iter()
                        .any(|a| value_matches(store, query, &a.value()))
            })
        })
        .collect();
    prop_assert_eq!(got, expected, "filter {:?}", query);
    Ok(())
}

fn check(
    store: &Store,
    model: &Model,
    max_spans: usize,
    seen: &mut Vec<TraceRef>,
) -> Result<(), TestCaseError> {
    let st = store.stats().traces;
    prop_assert!(st.spans as usize <= max_spans, "over the cap: {:?}", st);
    prop_assert_eq!(
        st.received,
        st.spans + st.rejected + st.evicted + st.duplicates + st.trace_full,
        "counts do not add up: {:?}",
        st
    );
    prop_assert_eq!(
        (
            st.received,
            st.rejected,
            st.duplicates,
            st.trace_full,
            st.evicted,
            st.evicted_traces
        ),
        (
            model.received,
            model.rejected,
            model.duplicates,
            model.trace_full,
            model.evicted,
            model.evicted_traces
        )
    );
    prop_assert_eq!(st.spans as usize, model.spans());
    prop_assert_eq!(st.traces as usize, model.traces.len());

    let live: Vec<TraceRef> = store.traces_by_arrival().collect();
    prop_assert_eq!(live.len(), model.traces.len());
    for (&r, (id, want)) in live.iter().zip(&model.traces) {
        let trace = store.trace(r);
        prop_assert!(trace.is_some(), "live reference does not resolve");
        let trace = trace.unwrap();
        prop_assert_eq!(trace.id, *id);
        prop_assert_eq!(store.find(*id), Some(r));
        let got: Vec<Kept> = trace
            .spans()
            .iter()
            .map(|s| Kept {
                id: s.span_id,
                parent: s.parent_id,
                start: s.start,
                end: s.end,
            })
            .collect();
        prop_assert_eq!(&got, want, "trace {:x}", id);
        for s in &got {
            prop_assert_eq!(
                trace.position(s.id).map(|p| trace.spans()[p].span_id),
                Some(s.id)
            );
        }
        prop_assert_eq!(trace.start, got.iter().map(|s| s.start).min().unwrap());
        prop_assert_eq!(
            trace.end,
            got.iter().map(|s| s.end.max(s.start)).max().unwrap()
        );
        let errors = trace.spans().iter().filter(|s| s.is_error()).count();
        prop_assert_eq!(trace.errors as usize, errors);
        if got.iter().any(|s| s.parent == 0) {
            prop_assert_eq!(trace.root().parent_id, 0, "root should be a real root");
        }
        check_tree(trace.spans())?;
    }
    // References to evicted traces never resolve, even once their slot is reused.
    let live_set: HashSet<TraceRef> = live.iter().copied().collect();
    for r in seen.iter() {
        if !live_set.contains(r) {
            prop_assert!(store.trace(*r).is_none(), "stale reference resolves");
        }
    }
    seen.extend(live);
    seen.sort_by_key(|r| (r.slot, r.generation));
    seen.dedup();
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn store_matches_the_model_after_every_batch(run in run()) {
        let mut store = new_store(&run);
        let mut model = Model::default();
        let mut seen = Vec::new();
        for batch in batches(&run) {
            model.ingest(&batch, run.max_spans, run.max_trace_spans);
            store.ingest(batch);
            check(&store, &model, run.max_spans, &mut seen)?;
        }
        for q in QUERIES {
            check_filter(&store, q)?;
        }
        check_structured(&store)?;
        // The headless report walks every tree and formats every timestamp: it must not panic,
        // and it never writes an escape character.
        let report = viewer::report::render(&store, &Counters::default());
        prop_assert!(!report.contains('\x1b'));
        prop_assert_eq!(
            report.lines().filter(|l| l.starts_with("trace ")).count(),
            model.traces.len()
        );
    }

    /// Same spans in any order and any batching: the same set of spans is stored when nothing
    /// is evicted.
    #[test]
    fn arrival_order_does_not_change_what_is_kept_without_eviction(
        run in run(),
        cuts in proptest::collection::vec(0..12usize, 1..8),
    ) {
        let ingest_all = |cuts: Vec<usize>, reverse: bool| {
            let mut r = run.clone();
            r.max_spans = 1_000;
            r.cuts = cuts;
            // Only distinct (trace, id) pairs, so "which copy is kept" does not depend on order.
            let mut firsts = HashSet::new();
            r.spans.retain(|s| firsts.insert((s.trace, s.id)));
            if reverse {
                r.spans.reverse();
            }
            r.max_trace_spans = None;
            let mut store = new_store(&r);
            for b in batches(&r) {
                store.ingest(b);
            }
            let mut all: Vec<(u128, u64, usize)> = store
                .traces_by_arrival()
                .flat_map(|t| {
                    let t = store.trace(t).unwrap();
                    let tree = Tree::build(t.spans());
                    t.spans().iter().map(move |s| (t.id, s.span_id, tree.rows.len())).collect::<Vec<_>>()
                })
                .collect();
            all.sort_unstable();
            (all, store.stats().traces.spans)
        };
        let (a, na) = ingest_all(run.cuts.clone(), false);
        let (b, nb) = ingest_all(cuts, true);
        prop_assert_eq!(na, nb);
        prop_assert_eq!(a, b);
    }

    /// One trace whose parent links are a random map over its own span ids: cycles of every
    /// length, self-parents, long chains and forests, all in one store.
    #[test]
    fn random_parent_maps_give_a_forest_of_every_span(
        parents in proptest::collection::vec(0..=40u64, 1..40),
        starts in proptest::collection::vec(timestamp(), 40),
    ) {
        let n = parents.len();
        let spans: Vec<SpanSpec> = parents
            .iter()
            .enumerate()
            .map(|(i, &p)| SpanSpec {
                trace: 7,
                id: i as u64 + 1,
                // Parents point among the trace's own spans (or nowhere, for 0 and past n).
                parent: if p as usize > n { 0 } else { p },
                start: starts[i],
                end: starts[i],
                name: "s",
                service: "api",
                error: false,
                attr: None,
            })
            .collect();
        let run = Run { max_spans: 1_000, max_trace_spans: None, spans, cuts: vec![3, 5, 0], rejected: vec![0] };
        let mut store = new_store(&run);
        let mut model = Model::default();
        let mut seen = Vec::new();
        for batch in batches(&run) {
            model.ingest(&batch, run.max_spans, run.max_trace_spans);
            store.ingest(batch);
            check(&store, &model, run.max_spans, &mut seen)?;
        }
    }
}
