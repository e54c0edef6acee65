//! The viewer's own model of spans, log records (`log`) and metric points (`metric`),
//! independent of the protobuf types.
//!
//! For spans, two layers live here: the *incoming* types ([`Batch`], [`NewSpan`], in `batch`) that the
//! receiver builds at the boundary, with every string in one buffer per request, and the *stored*
//! types ([`Span`], [`Attr`]) that the store keeps, with names and keys interned as [`Sym`]s so a
//! stored span stays small.

mod batch;
mod log;
mod metric;

use compact_str::CompactString;

pub use batch::{
    Batch, NewAttr, NewEvent, NewLink, NewResourceSpans, NewScopeSpans, NewSpan, NewValue,
    OwnedAttr, OwnedEvent, OwnedLink, OwnedResource, OwnedScope, OwnedSpan, Text,
};
pub use log::{LogBatch, LogRecord, LogResource, LogScope, NewLogRecord, Severity};
pub use metric::{
    Exemplar, ExpHistogram, Histogram, MetricBatch, MetricKind, MetricResource, MetricScope,
    NewMetric, NewPoint, PointValue, Summary,
};

/// An interned string: an index into the store's string table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Sym(pub u32);

/// A 128-bit trace id; zero is invalid.
pub type TraceId = u128;
/// A 64-bit span id; zero means "none".
pub type SpanId = u64;

/// What a span represents, as in OTLP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum SpanKind {
    #[default]
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl SpanKind {
    /// From the OTLP enum number; unknown numbers become `Unspecified`.
    #[must_use]
    pub fn from_otlp(n: i32) -> Self {
        match n {
            1 => Self::Internal,
            2 => Self::Server,
            3 => Self::Client,
            4 => Self::Producer,
            5 => Self::Consumer,
            _ => Self::Unspecified,
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::Internal => "internal",
            Self::Server => "server",
            Self::Client => "client",
            Self::Producer => "producer",
            Self::Consumer => "consumer",
        }
    }
}

/// A span's status code, as in OTLP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum StatusCode {
    #[default]
    Unset,
    Ok,
    Error,
}

impl StatusCode {
    #[must_use]
    pub fn from_otlp(n: i32) -> Self {
        match n {
            1 => Self::Ok,
            2 => Self::Error,
            _ => Self::Unset,
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unset => "unset",
            Self::Ok => "ok",
            Self::Error => "error",
        }
    }
}

/// An attribute value. Short strings are stored inline (no allocation).
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    Str(CompactString),
    /// A string the store has interned (stored attributes only; read it with
    /// `Store::value_text`).
    Sym(Sym),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(Box<[u8]>),
    Array(Box<[Value]>),
    Map(Box<[(CompactString, Value)]>),
    #[default]
    Empty,
}

impl Value {
    /// The string payload, if this is a string value.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Str(s) => f.write_str(s),
            Self::Sym(s) => write!(f, "#{}", s.0),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Int(i) => write!(f, "{i}"),
            Self::Double(d) => write!(f, "{d}"),
            Self::Bytes(b) => {
                for byte in b.iter() {
                    write!(f, "{byte:02x}")?;
                }
                Ok(())
            }
            Self::Array(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Self::Map(items) => {
                f.write_str("{")?;
                for (i, (k, v)) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
            Self::Empty => Ok(()),
        }
    }
}

/// A stored attribute: an interned key and its value, in 16 bytes. Interned strings, numbers
/// and booleans sit inline; anything else (long strings, bytes, arrays, maps) is boxed.
#[derive(Clone, Debug, PartialEq)]
pub enum Attr {
    Sym { key: Sym, value: Sym },
    Int { key: Sym, value: i64 },
    Double { key: Sym, value: f64 },
    Bool { key: Sym, value: bool },
    Other { key: Sym, value: Box<Value> },
}

impl Attr {
    /// Packs a value (already interned where it should be).
    #[must_use]
    pub fn new(key: Sym, value: Value) -> Self {
        match value {
            Value::Sym(value) => Self::Sym { key, value },
            Value::Int(value) => Self::Int { key, value },
            Value::Double(value) => Self::Double { key, value },
            Value::Bool(value) => Self::Bool { key, value },
            other => Self::Other {
                key,
                value: Box::new(other),
            },
        }
    }

    #[must_use]
    pub fn key(&self) -> Sym {
        match self {
            Self::Sym { key, .. }
            | Self::Int { key, .. }
            | Self::Double { key, .. }
            | Self::Bool { key, .. }
            | Self::Other { key, .. } => *key,
        }
    }

    pub fn key_mut(&mut self) -> &mut Sym {
        match self {
            Self::Sym { key, .. }
            | Self::Int { key, .. }
            | Self::Double { key, .. }
            | Self::Bool { key, .. }
            | Self::Other { key, .. } => key,
        }
    }

    /// The value; an interned string comes back as [`Value::Sym`].
    #[must_use]
    pub fn value(&self) -> std::borrow::Cow<'_, Value> {
        use std::borrow::Cow;
        match self {
            Self::Sym { value, .. } => Cow::Owned(Value::Sym(*value)),
            Self::Int { value, .. } => Cow::Owned(Value::Int(*value)),
            Self::Double { value, .. } => Cow::Owned(Value::Double(*value)),
            Self::Bool { value, .. } => Cow::Owned(Value::Bool(*value)),
            Self::Other { value, .. } => Cow::Borrowed(value),
        }
    }
}

/// Index of an interned resource (its attributes and service name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct ResourceId(pub u32);

/// Index of an interned instrumentation scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct ScopeId(pub u32);

/// A stored resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub service: Sym,
    pub attrs: Box<[Attr]>,
}

/// A stored instrumentation scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    pub name: Sym,
    pub version: Sym,
}

/// A stored span. Kept small: rarely used parts live behind one optional box.
#[derive(Debug, Clone)]
pub struct Span {
    pub span_id: SpanId,
    pub parent_id: SpanId,
    pub start: u64,
    pub end: u64,
    pub name: Sym,
    pub resource: ResourceId,
    pub scope: ScopeId,
    pub kind: SpanKind,
    pub status: StatusCode,
    pub attrs: Box<[Attr]>,
    pub extra: Option<Box<SpanExtra>>,
}

/// The rarely present parts of a span.
#[derive(Debug, Clone, Default)]
pub struct SpanExtra {
    pub status_message: Box<str>,
    pub events: Box<[Event]>,
    pub links: Box<[Link]>,
}

#[derive(Debug, Clone)]
pub struct Event {
    pub time: u64,
    pub name: Sym,
    pub attrs: Box<[Attr]>,
}

#[derive(Debug, Clone)]
pub struct Link {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub attrs: Box<[Attr]>,
}

impl Span {
    /// Duration in nanoseconds; zero when the end precedes the start.
    #[must_use]
    pub fn duration(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    #[must_use]
    pub fn is_error(&self) -> bool {
        self.status == StatusCode::Error
    }

    #[must_use]
    pub fn status_message(&self) -> &str {
        self.extra.as_ref().map_or("", |e| &e.status_message)
    }

    #[must_use]
    pub fn events(&self) -> &[Event] {
        self.extra.as_ref().map_or(&[], |e| &e.events)
    }

    #[must_use]
    pub fn links(&self) -> &[Link] {
        self.extra.as_ref().map_or(&[], |e| &e.links)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_types_stay_compact() {
        // The memory budget per stored span depends on these sizes; growing them is a decision.
        assert!(
            std::mem::size_of::<Value>() <= 32,
            "{}",
            std::mem::size_of::<Value>()
        );
        assert_eq!(std::mem::size_of::<Attr>(), 16);
        assert!(
            std::mem::size_of::<Span>() <= 80,
            "{}",
            std::mem::size_of::<Span>()
        );
    }
}
