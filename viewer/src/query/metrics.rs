//! A query compiled for metric series: a metric matches when one of its series does.

use super::compile::{self, AttrLeaf, Filter, Leaves, SymTest, TextLeaf, choice, not_here, table};
use super::{Cond, Field, QueryError, Signal};
use crate::catalog::Interner;
use crate::model::MetricKind;
use crate::store::Store;
use crate::store::metrics::{Metric, MetricId, Series};

const TYPES: [&str; 6] = [
    "gauge",
    "counter",
    "updown",
    "histogram",
    "exphistogram",
    "summary",
];

/// What a metric query's conditions and words compile to.
pub enum Leaf {
    Metric(SymTest),
    Type(Vec<bool>),
    Unit(SymTest),
    Service(Vec<bool>),
    Attr(AttrLeaf),
    Text(TextLeaf),
}

/// A query compiled for metrics: a metric matches when one of its series does.
pub type MetricFilter = Filter<Leaf>;

impl Leaves for Leaf {
    fn condition(c: &Cond, store: &Store) -> Result<Self, QueryError> {
        leaf(c, store)
    }

    fn text(t: TextLeaf) -> Self {
        Self::Text(t)
    }
}

impl MetricFilter {
    /// Whether one series of `metric` matches.
    #[must_use]
    pub fn matches_series(&self, store: &Store, metric: &Metric, series: &Series) -> bool {
        let strings = store.strings();
        self.node.eval(&|l| eval(l, strings, metric, series))
    }

    /// Whether a metric matches: one of its series does.
    #[must_use]
    pub fn matches_metric(&self, store: &Store, id: MetricId) -> bool {
        let Some(metric) = store.metrics.metric(id) else {
            return false;
        };
        store
            .metrics
            .series_of(id)
            .any(|(_, s)| self.matches_series(store, metric, s))
    }
}

fn type_index(k: MetricKind) -> usize {
    TYPES.iter().position(|t| *t == k.as_str()).unwrap_or(0)
}

fn leaf(c: &Cond, store: &Store) -> Result<Leaf, QueryError> {
    let strings = store.strings();
    let resources = store.resources();
    Ok(match &c.field {
        Field::Metric | Field::Name => Leaf::Metric(SymTest::new(c.op, &c.value, strings)?),
        Field::Type => {
            let mut lit = c.clone();
            // The OTLP names read as ours.
            let alias = match lit.value.text.to_ascii_lowercase().as_str() {
                "sum" | "monotonic" => Some("counter"),
                "updowncounter" | "up_down_counter" => Some("updown"),
                "exponential_histogram" | "exponentialhistogram" => Some("exphistogram"),
                _ => None,
            };
            if let Some(a) = alias {
                a.clone_into(&mut lit.value.text);
            }
            Leaf::Type(choice(&lit, &TYPES, "")?)
        }
        Field::Unit => Leaf::Unit(SymTest::new(c.op, &c.value, strings)?),
        Field::Service => Leaf::Service(compile::services(c.op, &c.value, resources, strings)?),
        Field::Attr { scope, key } => {
            Leaf::Attr(AttrLeaf::new(c, *scope, key, Signal::Metrics, store)?)
        }
        _ => return Err(not_here(c, Signal::Metrics)),
    })
}

fn eval(leaf: &Leaf, strings: &Interner, metric: &Metric, s: &Series) -> bool {
    match leaf {
        Leaf::Metric(t) => t.matches(metric.name, strings),
        Leaf::Type(t) => t[type_index(metric.kind)],
        Leaf::Unit(t) => t.matches(metric.unit, strings),
        Leaf::Service(t) => table(t, s.resource.0),
        Leaf::Attr(a) => a.matches(&s.attrs, s.resource, strings, |_| false),
        Leaf::Text(t) => {
            t.test.sym(metric.name, strings)
                || t.test.text.matches(&metric.description)
                || t.resource(s.resource)
                || t.test.attrs(&s.attrs, strings)
        }
    }
}
