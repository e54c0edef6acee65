//! A query compiled for metric series: a metric matches when one of its series does.

use super::compile::{AttrTest, Node, SymTest, TextTest, choice, not_here, table};
use super::{AttrScope, Cond, Expr, Field, QueryError, Signal};
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

enum Leaf {
    Metric(SymTest),
    Type(Vec<bool>),
    Unit(SymTest),
    Service(Vec<bool>),
    Attr {
        test: AttrTest,
        scope: AttrScope,
        resources: Vec<bool>,
    },
    Text {
        test: TextTest,
        resources: Vec<bool>,
    },
}

/// A query compiled against one store's tables for metrics.
pub struct MetricFilter {
    node: Node<Leaf>,
}

impl MetricFilter {
    /// Compiles a parsed query for metrics.
    ///
    /// # Errors
    /// A field metrics do not have, an unknown type, a bad regular expression.
    pub fn new(expr: &Expr, store: &Store) -> Result<Self, QueryError> {
        let strings = store.strings();
        let node = Node::build(expr, &mut |c| leaf(c, store), &mut |t| {
            let test = TextTest::new(t, strings);
            let resources = test.resources(store.resources(), strings);
            Leaf::Text { test, resources }
        })?;
        Ok(Self { node })
    }

    /// Parses and compiles; `Ok(None)` for an empty query.
    ///
    /// # Errors
    /// See [`super::parse`] and [`Self::new`].
    pub fn parse(text: &str, store: &Store) -> Result<Option<Self>, QueryError> {
        super::parse(text)?
            .map(|e| Self::new(&e, store))
            .transpose()
    }

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
        Field::Service => Leaf::Service(super::compile::services(
            c.op, &c.value, resources, strings,
        )?),
        Field::Attr { scope, key } => {
            if matches!(scope, AttrScope::Span | AttrScope::Event) {
                return Err(QueryError::new(
                    c.at,
                    format!(
                        "metrics have no span or event attributes: write {key} or resource.{key}"
                    ),
                ));
            }
            let test = AttrTest::new(key, c.op, &c.value, strings)?;
            let resources = test.resources(resources, strings);
            Leaf::Attr {
                test,
                scope: *scope,
                resources,
            }
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
        Leaf::Attr {
            test,
            scope,
            resources,
        } => match scope {
            AttrScope::Resource => table(resources, s.resource.0),
            _ => test.any(&s.attrs, strings) || table(resources, s.resource.0),
        },
        Leaf::Text { test, resources } => {
            test.sym(metric.name, strings)
                || test.text.matches(&metric.description)
                || table(resources, s.resource.0)
                || test.attrs(&s.attrs, strings)
        }
    }
}
