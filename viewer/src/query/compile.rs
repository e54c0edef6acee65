//! What every signal's compiled query shares: the boolean tree, tests on strings (memoised per
//! interned string, so a name shared by a million spans is tested once), on attribute values
//! and on resources.

use std::sync::atomic::{AtomicU8, Ordering};

use regex::{Regex, RegexBuilder};

use super::text::Text;
use super::{AttrScope, Cond, Expr, Field, Lit, Op, QueryError, Signal};
use crate::catalog::Interner;
use crate::model::{Attr, Resource, ResourceId, Sym, Value};
use crate::store::Store;

/// A compiled boolean tree over some signal's leaves.
pub enum Node<L> {
    All(Vec<Node<L>>),
    Any(Vec<Node<L>>),
    Not(Box<Node<L>>),
    Leaf(L),
}

impl<L> Node<L> {
    /// Builds the tree, compiling each condition with `cond` and each bare text with `text`.
    pub(super) fn build(
        expr: &Expr,
        cond: &mut impl FnMut(&Cond) -> Result<L, QueryError>,
        text: &mut impl FnMut(&str) -> L,
    ) -> Result<Self, QueryError> {
        Ok(match expr {
            Expr::And(items) => Self::All(
                items
                    .iter()
                    .map(|e| Self::build(e, cond, text))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Or(items) => Self::Any(
                items
                    .iter()
                    .map(|e| Self::build(e, cond, text))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Not(inner) => Self::Not(Box::new(Self::build(inner, cond, text)?)),
            Expr::Cond(c) => Self::Leaf(cond(c)?),
            Expr::Text(t) => Self::Leaf(text(t)),
        })
    }

    pub(super) fn eval(&self, leaf: &impl Fn(&L) -> bool) -> bool {
        match self {
            Self::All(items) => items.iter().all(|n| n.eval(leaf)),
            Self::Any(items) => items.iter().any(|n| n.eval(leaf)),
            Self::Not(inner) => !inner.eval(leaf),
            Self::Leaf(l) => leaf(l),
        }
    }
}

/// A test of one string against a condition's operator and value.
pub struct StrTest {
    op: Op,
    lit: String,
    number: Option<f64>,
    text: Option<Box<Text>>,
    regex: Option<Box<Regex>>,
}

impl StrTest {
    pub(super) fn new(op: Op, lit: &Lit) -> Result<Self, QueryError> {
        let regex = if op == Op::Regex {
            Some(Box::new(
                RegexBuilder::new(&format!("^(?:{})$", lit.text))
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| {
                        let detail = e.to_string();
                        let last = detail.lines().last().unwrap_or("invalid").trim();
                        QueryError::new(lit.at, format!("not a regular expression: {last}"))
                    })?,
            ))
        } else {
            None
        };
        Ok(Self {
            op,
            number: lit.number(),
            text: (op == Op::Contains).then(|| Box::new(Text::new(&lit.text))),
            lit: lit.text.clone(),
            regex,
        })
    }

    pub(super) fn matches(&self, s: &str) -> bool {
        match self.op {
            Op::Eq => s == self.lit,
            Op::Ne => s != self.lit,
            Op::Contains => self.text.as_ref().is_some_and(|t| t.matches(s)),
            Op::Regex => self.regex.as_ref().is_some_and(|r| r.is_match(s)),
            op => match (self.number, s.trim().parse::<f64>()) {
                (Some(n), Ok(v)) => op.compare(&v, &n),
                _ => op.compare(&s, &self.lit.as_str()),
            },
        }
    }

    /// Tests a number: numerically when the value was written as a number and the operator
    /// compares, as text otherwise.
    fn matches_number(&self, v: f64, text: &str) -> bool {
        match (self.op, self.number) {
            (Op::Contains | Op::Regex, _) | (_, None) => self.matches(text),
            (op, Some(n)) => op.compare(&v, &n),
        }
    }
}

/// A [`StrTest`] memoised per interned string; shared by the threads of one filter run.
pub struct SymTest {
    test: StrTest,
    /// Per symbol: 0 not yet tested, 1 no, 2 yes.
    memo: Vec<AtomicU8>,
}

impl SymTest {
    pub(super) fn new(op: Op, lit: &Lit, strings: &Interner) -> Result<Self, QueryError> {
        Ok(Self {
            test: StrTest::new(op, lit)?,
            memo: memo_for(strings),
        })
    }

    pub(super) fn matches(&self, sym: Sym, strings: &Interner) -> bool {
        memoised(&self.memo, sym, || self.test.matches(strings.get(sym)))
    }

    pub(super) fn str_test(&self) -> &StrTest {
        &self.test
    }
}

pub(super) fn memo_for(strings: &Interner) -> Vec<AtomicU8> {
    std::iter::repeat_with(|| AtomicU8::new(0))
        .take(strings.len())
        .collect()
}

pub(super) fn memoised(memo: &[AtomicU8], sym: Sym, test: impl FnOnce() -> bool) -> bool {
    let Some(slot) = memo.get(sym.0 as usize) else {
        return test();
    };
    match slot.load(Ordering::Relaxed) {
        1 => false,
        2 => true,
        _ => {
            let hit = test();
            slot.store(if hit { 2 } else { 1 }, Ordering::Relaxed);
            hit
        }
    }
}

/// Bare words, with their per-string memo.
pub struct TextTest {
    pub text: Box<Text>,
    memo: Vec<AtomicU8>,
}

impl TextTest {
    pub(super) fn new(text: &str, strings: &Interner) -> Self {
        Self {
            text: Box::new(Text::new(text)),
            memo: memo_for(strings),
        }
    }

    pub(super) fn sym(&self, sym: Sym, strings: &Interner) -> bool {
        memoised(&self.memo, sym, || self.text.matches(strings.get(sym)))
    }

    pub(super) fn attrs(&self, attrs: &[Attr], strings: &Interner) -> bool {
        self.text.matches_attrs(attrs, &|s| self.sym(s, strings))
    }

    pub(super) fn value(&self, v: &Value, strings: &Interner) -> bool {
        self.text.matches_value(v, &|s| self.sym(s, strings))
    }

    /// Per resource: its service name or an attribute value matches.
    pub(super) fn resources(&self, resources: &[Resource], strings: &Interner) -> Vec<bool> {
        resources
            .iter()
            .map(|r| self.sym(r.service, strings) || self.attrs(&r.attrs, strings))
            .collect()
    }
}

/// A test of an attribute's value, by key.
pub struct AttrTest {
    /// `None`: no attribute anywhere has this key, so nothing matches.
    pub key: Option<Sym>,
    value: SymTest,
}

impl AttrTest {
    pub(super) fn new(
        key: &str,
        op: Op,
        lit: &Lit,
        strings: &Interner,
    ) -> Result<Self, QueryError> {
        Ok(Self {
            key: strings.lookup(key),
            value: SymTest::new(op, lit, strings)?,
        })
    }

    /// Whether an attribute in `attrs` has the key and a value that passes.
    pub(super) fn any(&self, attrs: &[Attr], strings: &Interner) -> bool {
        let Some(key) = self.key else { return false };
        attrs
            .iter()
            .any(|a| a.key() == key && self.attr(a, strings))
    }

    fn attr(&self, a: &Attr, strings: &Interner) -> bool {
        let t = self.value.str_test();
        match a {
            Attr::Sym { value, .. } => self.value.matches(*value, strings),
            Attr::Int { value, .. } => {
                #[allow(clippy::cast_precision_loss)]
                let v = *value as f64;
                t.matches_number(v, itoa::Buffer::new().format(*value))
            }
            Attr::Double { value, .. } => t.matches_number(*value, &value.to_string()),
            Attr::Bool { value, .. } => t.matches(if *value { "true" } else { "false" }),
            Attr::Other { value, .. } => self.value_matches(value, strings),
        }
    }

    fn value_matches(&self, v: &Value, strings: &Interner) -> bool {
        let t = self.value.str_test();
        match v {
            Value::Str(s) => t.matches(s),
            Value::Sym(s) => self.value.matches(*s, strings),
            Value::Bool(b) => t.matches(if *b { "true" } else { "false" }),
            #[allow(clippy::cast_precision_loss)]
            Value::Int(i) => t.matches_number(*i as f64, itoa::Buffer::new().format(*i)),
            Value::Double(d) => t.matches_number(*d, &d.to_string()),
            Value::Array(items) => items.iter().any(|i| self.value_matches(i, strings)),
            Value::Map(items) => items.iter().any(|(_, i)| self.value_matches(i, strings)),
            Value::Bytes(_) | Value::Empty => false,
        }
    }

    /// Per resource: whether one of its attributes passes.
    pub(super) fn resources(&self, resources: &[Resource], strings: &Interner) -> Vec<bool> {
        resources
            .iter()
            .map(|r| self.any(&r.attrs, strings))
            .collect()
    }
}

/// An attribute condition of any signal: where it looks, and its answer per resource.
pub struct AttrLeaf {
    test: AttrTest,
    scope: AttrScope,
    resources: Vec<bool>,
}

impl AttrLeaf {
    pub(super) fn new(
        c: &Cond,
        scope: AttrScope,
        key: &str,
        signal: Signal,
        store: &Store,
    ) -> Result<Self, QueryError> {
        if signal != Signal::Traces && matches!(scope, AttrScope::Span | AttrScope::Event) {
            let what = if signal == Signal::Logs {
                "log records"
            } else {
                "metrics"
            };
            return Err(QueryError::new(
                c.at,
                format!("{what} have no span or event attributes: write {key} or resource.{key}"),
            ));
        }
        let strings = store.strings();
        let test = AttrTest::new(key, c.op, &c.value, strings)?;
        let resources = if matches!(scope, AttrScope::Any | AttrScope::Resource) {
            test.resources(store.resources(), strings)
        } else {
            Vec::new()
        };
        Ok(Self {
            test,
            scope,
            resources,
        })
    }

    /// Whether the item's own attributes, its resource's, or (spans) an event's pass.
    pub(super) fn matches(
        &self,
        own: &[Attr],
        resource: ResourceId,
        strings: &Interner,
        events: impl Fn(&AttrTest) -> bool,
    ) -> bool {
        if self.test.key.is_none() {
            return false;
        }
        let own = || self.test.any(own, strings);
        let resource = || table(&self.resources, resource.0);
        match self.scope {
            AttrScope::Any => own() || resource() || events(&self.test),
            AttrScope::Span => own(),
            AttrScope::Resource => resource(),
            AttrScope::Event => events(&self.test),
        }
    }
}

/// Bare words in any signal's query, with their answer per resource (service name or an
/// attribute value).
pub struct TextLeaf {
    pub(super) test: TextTest,
    resources: Vec<bool>,
}

impl TextLeaf {
    pub(super) fn new(text: &str, store: &Store) -> Self {
        let test = TextTest::new(text, store.strings());
        let resources = test.resources(store.resources(), store.strings());
        Self { test, resources }
    }

    pub(super) fn resource(&self, id: ResourceId) -> bool {
        table(&self.resources, id.0)
    }
}

/// A signal's leaves: what its conditions and its bare words compile to.
pub trait Leaves: Sized {
    /// Compiles one condition; a field the signal does not have is an error.
    fn condition(c: &Cond, store: &Store) -> Result<Self, QueryError>;
    fn text(t: TextLeaf) -> Self;
}

/// A query compiled against one store's tables for one signal ([`super::SpanFilter`],
/// [`super::LogFilter`], [`super::MetricFilter`]). Valid while the store is not compacted:
/// hold the store's lock while using it.
pub struct Filter<L> {
    pub(super) node: Node<L>,
}

impl<L: Leaves> Filter<L> {
    /// Compiles a parsed query.
    ///
    /// # Errors
    /// A field the signal does not have, a value that does not fit its field (a duration
    /// without a unit, an unknown kind or severity), a bad regular expression; each with its
    /// position.
    pub fn new(expr: &Expr, store: &Store) -> Result<Self, QueryError> {
        let node = Node::build(expr, &mut |c| L::condition(c, store), &mut |t| {
            L::text(TextLeaf::new(t, store))
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
}

/// Per resource: whether its service name passes.
pub(super) fn services(
    op: Op,
    lit: &Lit,
    resources: &[Resource],
    strings: &Interner,
) -> Result<Vec<bool>, QueryError> {
    let t = SymTest::new(op, lit, strings)?;
    Ok(resources
        .iter()
        .map(|r| t.matches(r.service, strings))
        .collect())
}

pub(super) fn table(t: &[bool], i: u32) -> bool {
    t.get(i as usize).copied().unwrap_or(false)
}

/// A duration condition's value.
pub(super) fn duration(c: &Cond) -> Result<u64, QueryError> {
    ordering_or_equality(c)?;
    super::parse_duration(&c.value.text).ok_or_else(|| {
        QueryError::new(
            c.value.at,
            format!(
                "{:?} is not a duration: write a number with a unit, as 250ms, 1.5s, 2m",
                c.value.text
            ),
        )
    })
}

/// A count condition's value.
pub(super) fn count(c: &Cond) -> Result<f64, QueryError> {
    ordering_or_equality(c)?;
    c.value
        .number()
        .ok_or_else(|| QueryError::new(c.value.at, format!("{:?} is not a number", c.value.text)))
}

fn ordering_or_equality(c: &Cond) -> Result<(), QueryError> {
    if matches!(c.op, Op::Contains | Op::Regex) {
        return Err(QueryError::new(
            c.at,
            format!(
                "{} compares with = != > >= < <=, not {}",
                name_of(&c.field),
                c.op.as_str()
            ),
        ));
    }
    Ok(())
}

/// A condition over a small set of names (kinds, statuses, metric types): which of `names`
/// pass. Names are matched without case and without a `prefix_` (as `SPAN_KIND_SERVER`).
pub(super) fn choice(c: &Cond, names: &[&str], prefix: &str) -> Result<Vec<bool>, QueryError> {
    let lower = c.value.text.to_ascii_lowercase();
    let lower = lower.strip_prefix(prefix).unwrap_or(&lower).to_owned();
    let lit = Lit {
        text: lower,
        ..c.value.clone()
    };
    if matches!(c.op, Op::Eq | Op::Ne) && !names.contains(&lit.text.as_str()) {
        return Err(QueryError::new(
            c.value.at,
            format!(
                "{} is one of {}, not {:?}",
                name_of(&c.field),
                names.join(", "),
                c.value.text
            ),
        ));
    }
    if c.op.is_ordering() {
        return Err(QueryError::new(
            c.at,
            format!("{} compares with = != ~ =~", name_of(&c.field)),
        ));
    }
    let t = StrTest::new(c.op, &lit)?;
    Ok(names.iter().map(|n| t.matches(n)).collect())
}

/// A field's name as the user would write it.
pub(super) fn name_of(f: &Field) -> String {
    match f {
        Field::Service => "service".into(),
        Field::Name => "name".into(),
        Field::Kind => "kind".into(),
        Field::Status => "status".into(),
        Field::StatusMessage => "status.message".into(),
        Field::Duration => "duration".into(),
        Field::TraceId => "trace".into(),
        Field::SpanId => "span".into(),
        Field::EventName => "event.name".into(),
        Field::TraceDuration => "trace.duration".into(),
        Field::TraceService => "trace.service".into(),
        Field::TraceName => "trace.name".into(),
        Field::TraceSpans => "trace.spans".into(),
        Field::TraceErrors => "trace.errors".into(),
        Field::Severity => "severity".into(),
        Field::Body => "body".into(),
        Field::Metric => "metric".into(),
        Field::Type => "type".into(),
        Field::Unit => "unit".into(),
        Field::Attr { key, .. } => key.clone(),
    }
}

/// The error for a field that this signal does not have.
pub(super) fn not_here(c: &Cond, signal: Signal) -> QueryError {
    let what = match signal {
        Signal::Traces => "spans",
        Signal::Logs => "log records",
        Signal::Metrics => "metrics",
    };
    let fields: Vec<&str> = signal
        .fields()
        .iter()
        .copied()
        .filter(|f| !f.ends_with('.'))
        .collect();
    QueryError::new(
        c.at,
        format!(
            "{what} have no {}; try {} or an attribute key",
            name_of(&c.field),
            fields.join(", ")
        ),
    )
}

/// An id condition: `=`/`!=` a hex prefix, or `~`/`=~` over the hex text.
pub enum IdTest {
    Prefix((u128, u32), bool),
    Text(StrTest),
}

impl IdTest {
    pub(super) fn new(c: &Cond, width: u32) -> Result<Self, QueryError> {
        match c.op {
            Op::Eq | Op::Ne => super::hex_prefix(&c.value.text, width)
                .map(|p| Self::Prefix(p, c.op == Op::Ne))
                .ok_or_else(|| {
                    QueryError::new(
                        c.value.at,
                        format!(
                            "{:?} is not a hex id (or the start of one, up to {} digits)",
                            c.value.text,
                            width / 4
                        ),
                    )
                }),
            Op::Contains | Op::Regex => {
                let lit = Lit {
                    text: c.value.text.to_ascii_lowercase(),
                    ..c.value.clone()
                };
                Ok(Self::Text(StrTest::new(c.op, &lit)?))
            }
            _ => Err(QueryError::new(
                c.at,
                format!("{} compares with = != ~ =~", name_of(&c.field)),
            )),
        }
    }

    pub(super) fn matches(&self, id: u128, width: u32) -> bool {
        match self {
            Self::Prefix(p, negate) => super::id_has_prefix(id, width, *p) != *negate,
            Self::Text(t) => {
                let text = if width == 128 {
                    format!("{id:032x}")
                } else {
                    format!("{id:016x}")
                };
                t.matches(&text)
            }
        }
    }
}
