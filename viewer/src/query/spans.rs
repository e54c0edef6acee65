//! A query compiled for spans and traces, and the trace filter (split over the cores for a
//! large store).

use super::compile::{
    self, AttrLeaf, Filter, IdTest, Leaves, StrTest, SymTest, TextLeaf, choice, not_here, table,
};
use super::{Cond, Field, Op, QueryError, Signal};
use crate::catalog::Interner;
use crate::model::{Span, SpanKind, StatusCode};
use crate::store::{Store, Trace, TraceRef};

/// Traces per thread below which the filter runs on one thread.
const PARALLEL_MIN_TRACES: usize = 4096;

const KINDS: [&str; 6] = [
    "unspecified",
    "internal",
    "server",
    "client",
    "producer",
    "consumer",
];
const STATUSES: [&str; 3] = ["unset", "ok", "error"];

/// What a span query's conditions and words compile to.
pub enum Leaf {
    Name(SymTest),
    /// Per resource.
    Service(Vec<bool>),
    Kind(Vec<bool>),
    Status(Vec<bool>),
    StatusMessage(StrTest),
    Duration(Op, u64),
    TraceId(IdTest),
    SpanId(IdTest),
    EventName(SymTest),
    TraceDuration(Op, u64),
    TraceService(Vec<bool>),
    TraceName(SymTest),
    TraceSpans(Op, f64),
    TraceErrors(Op, f64),
    Attr(AttrLeaf),
    Text(TextLeaf),
}

/// A query compiled for spans and traces: a trace matches when one of its spans does.
pub type SpanFilter = Filter<Leaf>;

impl Leaves for Leaf {
    fn condition(c: &Cond, store: &Store) -> Result<Self, QueryError> {
        leaf(c, store)
    }

    fn text(t: TextLeaf) -> Self {
        Self::Text(t)
    }
}

impl SpanFilter {
    /// Whether one span of `trace` matches.
    #[must_use]
    pub fn matches_span(&self, store: &Store, trace: &Trace, span: &Span) -> bool {
        let strings = store.strings();
        self.node.eval(&|l| eval(l, strings, trace, span))
    }

    /// Whether a trace matches: one of its spans does.
    #[must_use]
    pub fn matches_trace(&self, store: &Store, trace: &Trace) -> bool {
        trace
            .spans()
            .iter()
            .any(|s| self.matches_span(store, trace, s))
    }

    /// Traces, in arrival order, with a span that matches. Large stores are split over the
    /// available cores.
    #[must_use]
    pub fn traces(&self, store: &Store) -> Vec<TraceRef> {
        let keep = |r: &TraceRef| {
            store
                .trace(*r)
                .is_some_and(|t| self.matches_trace(store, t))
        };
        let all: Vec<TraceRef> = store.traces_by_arrival().collect();
        let threads = std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .min(all.len() / PARALLEL_MIN_TRACES)
            .max(1);
        if threads == 1 {
            return all.into_iter().filter(|r| keep(r)).collect();
        }
        let chunk = all.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let parts: Vec<_> = all
                .chunks(chunk)
                .map(|part| {
                    let keep = &keep;
                    scope
                        .spawn(move || part.iter().copied().filter(|r| keep(r)).collect::<Vec<_>>())
                })
                .collect();
            parts
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        })
    }
}

fn leaf(c: &Cond, store: &Store) -> Result<Leaf, QueryError> {
    let strings = store.strings();
    let resources = store.resources();
    Ok(match &c.field {
        Field::Name => Leaf::Name(SymTest::new(c.op, &c.value, strings)?),
        Field::Service => Leaf::Service(compile::services(c.op, &c.value, resources, strings)?),
        Field::Kind => Leaf::Kind(choice(c, &KINDS, "span_kind_")?),
        Field::Status => Leaf::Status(choice(c, &STATUSES, "status_code_")?),
        Field::StatusMessage => Leaf::StatusMessage(StrTest::new(c.op, &c.value)?),
        Field::Duration => Leaf::Duration(c.op, compile::duration(c)?),
        Field::TraceId => Leaf::TraceId(IdTest::new(c, 128)?),
        Field::SpanId => Leaf::SpanId(IdTest::new(c, 64)?),
        Field::EventName => Leaf::EventName(SymTest::new(c.op, &c.value, strings)?),
        Field::TraceDuration => Leaf::TraceDuration(c.op, compile::duration(c)?),
        Field::TraceService => {
            Leaf::TraceService(compile::services(c.op, &c.value, resources, strings)?)
        }
        Field::TraceName => Leaf::TraceName(SymTest::new(c.op, &c.value, strings)?),
        Field::TraceSpans => Leaf::TraceSpans(c.op, compile::count(c)?),
        Field::TraceErrors => Leaf::TraceErrors(c.op, compile::count(c)?),
        Field::Attr { scope, key } => {
            Leaf::Attr(AttrLeaf::new(c, *scope, key, Signal::Traces, store)?)
        }
        Field::Severity | Field::Body | Field::Metric | Field::Type | Field::Unit => {
            return Err(not_here(c, Signal::Traces));
        }
    })
}

fn kind_index(k: SpanKind) -> usize {
    match k {
        SpanKind::Unspecified => 0,
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

fn status_index(s: StatusCode) -> usize {
    match s {
        StatusCode::Unset => 0,
        StatusCode::Ok => 1,
        StatusCode::Error => 2,
    }
}

fn eval(leaf: &Leaf, strings: &Interner, trace: &Trace, span: &Span) -> bool {
    match leaf {
        Leaf::Name(t) => t.matches(span.name, strings),
        Leaf::Service(t) => table(t, span.resource.0),
        Leaf::Kind(t) => t[kind_index(span.kind)],
        Leaf::Status(t) => t[status_index(span.status)],
        Leaf::StatusMessage(t) => t.matches(span.status_message()),
        Leaf::Duration(op, d) => op.compare(&span.duration(), d),
        Leaf::TraceId(t) => t.matches(trace.id, 128),
        Leaf::SpanId(t) => t.matches(u128::from(span.span_id), 64),
        Leaf::EventName(t) => span.events().iter().any(|e| t.matches(e.name, strings)),
        Leaf::TraceDuration(op, d) => op.compare(&trace.duration(), d),
        Leaf::TraceService(t) => table(t, trace.root().resource.0),
        Leaf::TraceName(t) => t.matches(trace.root().name, strings),
        #[allow(clippy::cast_precision_loss)]
        Leaf::TraceSpans(op, n) => op.compare(&(trace.span_count() as f64), n),
        Leaf::TraceErrors(op, n) => op.compare(&f64::from(trace.errors), n),
        Leaf::Attr(a) => a.matches(&span.attrs, span.resource, strings, |test| {
            span.events().iter().any(|e| test.any(&e.attrs, strings))
        }),
        Leaf::Text(t) => {
            t.test.text.trace_id == Some(trace.id)
                || t.test.sym(span.name, strings)
                || t.resource(span.resource)
                || t.test.attrs(&span.attrs, strings)
        }
    }
}
