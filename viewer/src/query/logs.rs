//! A query compiled for log records, and the log filter.

use super::compile::{
    self, AttrLeaf, Filter, IdTest, Leaves, StrTest, SymTest, TextLeaf, not_here, table,
};
use super::{Cond, Field, Op, QueryError, Signal};
use crate::catalog::Interner;
use crate::model::{LogRecord, Severity, TraceId, Value};
use crate::store::{LogSeq, Store};

/// What a log query's conditions and words compile to.
pub enum Leaf {
    Service(Vec<bool>),
    Severity(Op, Severity),
    Body(StrTest, SymTest),
    EventName(SymTest),
    TraceId(IdTest),
    SpanId(IdTest),
    Attr(AttrLeaf),
    Text(TextLeaf),
}

/// A query compiled for log records.
pub type LogFilter = Filter<Leaf>;

impl Leaves for Leaf {
    fn condition(c: &Cond, store: &Store) -> Result<Self, QueryError> {
        leaf(c, store)
    }

    fn text(t: TextLeaf) -> Self {
        Self::Text(t)
    }
}

impl LogFilter {
    #[must_use]
    pub fn matches(&self, store: &Store, r: &LogRecord) -> bool {
        let strings = store.strings();
        self.node.eval(&|l| eval(l, store, strings, r))
    }

    /// Log records, oldest first (one trace's in arrival order, all of them by record time),
    /// of at least `min` severity, of one trace when `trace` is given, and matching `filter`
    /// when given.
    #[must_use]
    pub fn records(
        filter: Option<&Self>,
        store: &Store,
        min: Severity,
        trace: Option<TraceId>,
    ) -> Vec<LogSeq> {
        let keep = |r: &LogRecord| {
            (min == Severity::Unspecified || Severity::of(r.severity) >= min)
                && filter.is_none_or(|f| f.matches(store, r))
        };
        match trace {
            Some(t) => store
                .logs
                .of_trace(t)
                .filter(|(_, r)| keep(r))
                .map(|(s, _)| s)
                .collect(),
            None => store
                .logs
                .iter_by_time()
                .filter(|(_, r)| keep(r))
                .map(|(s, _)| s)
                .collect(),
        }
    }
}

const SEVERITIES: [(&str, Severity); 9] = [
    ("trace", Severity::Trace),
    ("debug", Severity::Debug),
    ("info", Severity::Info),
    ("warn", Severity::Warn),
    ("warning", Severity::Warn),
    ("error", Severity::Error),
    ("err", Severity::Error),
    ("fatal", Severity::Fatal),
    ("critical", Severity::Fatal),
];

fn severity(c: &Cond) -> Result<Severity, QueryError> {
    if matches!(c.op, Op::Contains | Op::Regex) {
        return Err(QueryError::new(
            c.at,
            "severity compares with = != > >= < <= (severity>=warn)",
        ));
    }
    let text = c.value.text.to_ascii_lowercase();
    if let Ok(n) = text.parse::<u8>() {
        return Ok(Severity::of(n));
    }
    SEVERITIES
        .iter()
        .find(|(name, _)| *name == text)
        .map(|(_, s)| *s)
        .ok_or_else(|| {
            QueryError::new(
                c.value.at,
                format!(
                    "severity is trace, debug, info, warn, error, fatal or a number, not {:?}",
                    c.value.text
                ),
            )
        })
}

fn leaf(c: &Cond, store: &Store) -> Result<Leaf, QueryError> {
    let strings = store.strings();
    let resources = store.resources();
    Ok(match &c.field {
        Field::Service => Leaf::Service(compile::services(c.op, &c.value, resources, strings)?),
        Field::Severity => Leaf::Severity(c.op, severity(c)?),
        Field::Body => Leaf::Body(
            StrTest::new(c.op, &c.value)?,
            SymTest::new(c.op, &c.value, strings)?,
        ),
        Field::EventName | Field::Name => Leaf::EventName(SymTest::new(c.op, &c.value, strings)?),
        Field::TraceId => Leaf::TraceId(IdTest::new(c, 128)?),
        Field::SpanId => Leaf::SpanId(IdTest::new(c, 64)?),
        Field::Attr { scope, key } => {
            Leaf::Attr(AttrLeaf::new(c, *scope, key, Signal::Logs, store)?)
        }
        Field::Kind
        | Field::Status
        | Field::StatusMessage
        | Field::Duration
        | Field::TraceDuration
        | Field::TraceService
        | Field::TraceName
        | Field::TraceSpans
        | Field::TraceErrors
        | Field::Metric
        | Field::Type
        | Field::Unit => return Err(not_here(c, Signal::Logs)),
    })
}

fn eval(leaf: &Leaf, store: &Store, strings: &Interner, r: &LogRecord) -> bool {
    match leaf {
        Leaf::Service(t) => table(t, r.resource.0),
        Leaf::Severity(op, s) => op.compare(&Severity::of(r.severity), s),
        Leaf::Body(text, sym) => match &r.body {
            Value::Str(s) => text.matches(s),
            Value::Sym(s) => sym.matches(*s, strings),
            other => text.matches(&store.value_text(other)),
        },
        Leaf::EventName(t) => t.matches(r.event_name, strings),
        Leaf::TraceId(t) => t.matches(r.trace_id, 128),
        Leaf::SpanId(t) => t.matches(u128::from(r.span_id), 64),
        Leaf::Attr(a) => a.matches(&r.attrs, r.resource, strings, |_| false),
        Leaf::Text(t) => {
            t.test.text.trace_id.is_some_and(|id| id == r.trace_id)
                || t.resource(r.resource)
                || t.test.sym(r.severity_text, strings)
                || t.test.sym(r.event_name, strings)
                || t.test.value(&r.body, strings)
                || t.test.attrs(&r.attrs, strings)
        }
    }
}
