//! The filter language, one for traces, logs and metrics: parse a query once ([`parse`]), then
//! compile it against the store for one signal ([`SpanFilter`], [`LogFilter`],
//! [`MetricFilter`]) and evaluate it row by row.
//!
//! ```text
//! query      := or
//! or         := and ( ("or" | "||") and )*
//! and        := unary ( ["and" | "&&"] unary )*      (two terms side by side: and)
//! unary      := ("not" | "!") unary | "(" or ")" | condition | words
//! condition  := field op value
//! op         := "=" | "!=" | ">" | ">=" | "<" | "<=" | "~" (contains) | "=~" (regex)
//! value      := word | "quoted" | 'quoted'
//! words      := one or more bare words or a quoted string: a substring of anything
//! ```
//!
//! Fields, named as TraceQL names them where it has a name:
//! - spans: `service` (`resource.service.name`), `name`, `kind`, `status`, `status.message`,
//!   `duration`, `trace` / `trace.id` and `span` / `span.id` (id prefixes), `event.name`;
//!   the trace's own: `trace.duration` (`traceDuration`), `trace.service`
//!   (`rootServiceName`), `trace.name` (`rootName`), `trace.spans`, `trace.errors`;
//! - log records: `service`, `severity` (a name or a number; ordered), `body`, `event.name`,
//!   `trace`, `span`;
//! - metrics: `metric` (the name), `type`, `unit`, `service`;
//! - any other name is an attribute key: the signal's own attributes, its resource's and, for
//!   spans, its events'; `span.KEY`, `resource.KEY`, `event.KEY` pick one of them, and `.KEY`
//!   names an attribute even where a field has the same name.
//!
//! A trace matches when one of its spans matches the whole query (conditions joined by `and`
//! hold for the same span, as in TraceQL's `{ … }`); a metric when one of its series does.

mod compile;
mod complete;
mod logs;
mod metrics;
mod parse;
mod spans;
mod text;

pub use complete::{Completion, complete, hint};
pub use logs::LogFilter;
pub use metrics::MetricFilter;
pub use parse::parse;
pub use spans::SpanFilter;
pub use text::Text;

/// A parsed query.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Cond(Cond),
    /// Bare words or a quoted string: a substring of a name, a service, a body or an attribute
    /// value (or a whole trace id).
    Text(String),
}

/// One `field op value` condition.
#[derive(Clone, Debug, PartialEq)]
pub struct Cond {
    pub field: Field,
    pub op: Op,
    pub value: Lit,
    /// Where the field starts in the query text (characters), for errors.
    pub at: usize,
}

/// What a condition tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Field {
    Service,
    Name,
    Kind,
    Status,
    StatusMessage,
    Duration,
    TraceId,
    SpanId,
    EventName,
    TraceDuration,
    TraceService,
    TraceName,
    TraceSpans,
    TraceErrors,
    Severity,
    Body,
    Metric,
    Type,
    Unit,
    Attr { scope: AttrScope, key: String },
}

/// Which attributes an attribute condition looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrScope {
    /// The signal's own, its resource's and (spans) its events'.
    Any,
    /// `span.KEY`: the span's own.
    Span,
    /// `resource.KEY`.
    Resource,
    /// `event.KEY`: a span event's.
    Event,
}

/// A comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    /// `~`: contains (smart case, as bare words).
    Contains,
    /// `=~`: a regular expression matching the whole value.
    Regex,
}

impl Op {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Contains => "~",
            Self::Regex => "=~",
        }
    }

    /// Whether an ordering holds between `a` and `b` (for `=`, `!=` and the comparisons).
    pub fn compare<T: PartialOrd>(self, a: &T, b: &T) -> bool {
        match self {
            Self::Eq => a == b,
            Self::Ne => a != b,
            Self::Gt => a > b,
            Self::Ge => a >= b,
            Self::Lt => a < b,
            Self::Le => a <= b,
            Self::Contains | Self::Regex => false,
        }
    }

    fn is_ordering(self) -> bool {
        matches!(self, Self::Gt | Self::Ge | Self::Lt | Self::Le)
    }
}

/// A condition's value as written.
#[derive(Clone, Debug, PartialEq)]
pub struct Lit {
    pub text: String,
    /// Written in quotes: always a string.
    pub quoted: bool,
    /// Where it starts in the query text (characters).
    pub at: usize,
}

impl Lit {
    /// The value as a number, when written as one.
    #[must_use]
    pub fn number(&self) -> Option<f64> {
        if self.quoted {
            return None;
        }
        self.text.parse::<f64>().ok().filter(|n| !n.is_nan())
    }
}

/// What is wrong with a query, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryError {
    /// Character position in the query text.
    pub at: usize,
    pub message: String,
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at column {}: {}", self.at + 1, self.message)
    }
}

impl std::error::Error for QueryError {}

impl QueryError {
    fn new(at: usize, message: impl Into<String>) -> Self {
        Self {
            at,
            message: message.into(),
        }
    }
}

/// The signals a query can filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Traces,
    Logs,
    Metrics,
}

impl Signal {
    /// The field names this signal knows, for completion and for error messages.
    #[must_use]
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Self::Traces => &[
                "service",
                "name",
                "kind",
                "status",
                "status.message",
                "duration",
                "trace",
                "span",
                "event.name",
                "trace.duration",
                "trace.service",
                "trace.name",
                "trace.spans",
                "trace.errors",
                "resource.",
                "span.",
                "event.",
            ],
            Self::Logs => &[
                "service",
                "severity",
                "body",
                "event.name",
                "trace",
                "span",
                "resource.",
            ],
            Self::Metrics => &["metric", "type", "unit", "service", "resource."],
        }
    }
}

/// Whether `text` is a valid query for `signal` (parsed and compiled against `store`).
///
/// # Errors
/// What is wrong, and where.
pub fn check(signal: Signal, text: &str, store: &crate::store::Store) -> Result<(), QueryError> {
    let Some(expr) = parse(text)? else {
        return Ok(());
    };
    match signal {
        Signal::Traces => SpanFilter::new(&expr, store).map(drop),
        Signal::Logs => LogFilter::new(&expr, store).map(drop),
        Signal::Metrics => MetricFilter::new(&expr, store).map(drop),
    }
}

/// A duration written with a unit (`250ms`, `1.5s`, `2m`, `100us`, `10ns`, `1h`), in
/// nanoseconds.
#[must_use]
pub fn parse_duration(text: &str) -> Option<u64> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let n: f64 = num.parse().ok()?;
    let scale = match unit {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" => 60e9,
        "h" => 3600e9,
        _ => return None,
    };
    let ns = n * scale;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    (0.0..1.8e19).contains(&ns).then(|| ns.round() as u64)
}

/// Reads a hex id prefix (any case) as `(value, bits)`: the id `id` of `width` bits starts
/// with it when `id >> (width - bits) == value`.
fn hex_prefix(text: &str, width: u32) -> Option<(u128, u32)> {
    let t = text.trim();
    if t.is_empty() || t.len() as u32 * 4 > width || !t.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    Some((u128::from_str_radix(t, 16).ok()?, t.len() as u32 * 4))
}

fn id_has_prefix(id: u128, width: u32, (value, bits): (u128, u32)) -> bool {
    bits == 0 || (id >> (width - bits)) == value
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn durations_need_a_unit() {
        assert_eq!(parse_duration("250ms"), Some(250_000_000));
        assert_eq!(parse_duration("1.5s"), Some(1_500_000_000));
        assert_eq!(parse_duration("2m"), Some(120_000_000_000));
        assert_eq!(parse_duration("10us"), Some(10_000));
        assert_eq!(parse_duration("7ns"), Some(7));
        assert_eq!(parse_duration("1h"), Some(3_600_000_000_000));
        assert_eq!(parse_duration("250"), None);
        assert_eq!(parse_duration("ms"), None);
        assert_eq!(parse_duration("-1s"), None);
        assert_eq!(parse_duration("1x"), None);
    }

    #[test]
    fn id_prefixes() {
        let p = hex_prefix("ABc", 128).unwrap();
        assert!(id_has_prefix(
            0xabc0_0000_0000_0000_0000_0000_0000_0001,
            128,
            p
        ));
        assert!(!id_has_prefix(
            0xabd0_0000_0000_0000_0000_0000_0000_0001,
            128,
            p
        ));
        let p = hex_prefix("00000000000000ff", 64).unwrap();
        assert!(id_has_prefix(0xff, 64, p));
        assert!(hex_prefix("xyz", 64).is_none());
        assert!(hex_prefix(&"f".repeat(17), 64).is_none());
    }
}
