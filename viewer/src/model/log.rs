//! Log records: as they arrive (one request's worth, owned, grouped as in OTLP) and as stored
//! (names and short values interned in the catalog).

use compact_str::CompactString;

use super::{Attr, OwnedAttr, ResourceId, ScopeId, SpanId, Sym, TraceId, Value};

/// One request's worth of log records.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LogBatch {
    pub resources: Vec<LogResource>,
    /// Records dropped at the boundary (invalid ids); reported back to the sender.
    pub rejected: u64,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct LogResource {
    pub attrs: Vec<OwnedAttr>,
    pub scopes: Vec<LogScope>,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct LogScope {
    pub name: String,
    pub version: String,
    pub records: Vec<NewLogRecord>,
}

/// A log record as it arrives.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct NewLogRecord {
    /// When the event happened; zero when unknown.
    pub time: u64,
    /// When the SDK or collector saw it.
    pub observed_time: u64,
    /// OTLP's severity number, 0 (unspecified) to 24.
    pub severity: u8,
    pub severity_text: CompactString,
    pub body: Value,
    pub attrs: Vec<OwnedAttr>,
    /// Zero when the record carries no trace.
    pub trace_id: TraceId,
    /// Zero when the record carries no span.
    pub span_id: SpanId,
    pub event_name: CompactString,
}

impl LogBatch {
    /// Number of valid records in the batch.
    #[must_use]
    pub fn record_count(&self) -> usize {
        self.resources
            .iter()
            .flat_map(|r| &r.scopes)
            .map(|s| s.records.len())
            .sum()
    }
}

/// A stored log record.
#[derive(Debug, Clone)]
pub struct LogRecord {
    /// The record's time, or when it was observed if it has none.
    pub time: u64,
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub resource: ResourceId,
    pub scope: ScopeId,
    pub severity: u8,
    pub severity_text: Sym,
    pub event_name: Sym,
    /// Short strings interned ([`Value::Sym`]).
    pub body: Value,
    pub attrs: Box<[Attr]>,
}

/// The six severity ranges of OTLP, from its severity number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Severity {
    #[default]
    Unspecified,
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl Severity {
    /// All ranges, lowest first.
    pub const ALL: [Self; 7] = [
        Self::Unspecified,
        Self::Trace,
        Self::Debug,
        Self::Info,
        Self::Warn,
        Self::Error,
        Self::Fatal,
    ];

    #[must_use]
    pub fn of(number: u8) -> Self {
        match number {
            1..=4 => Self::Trace,
            5..=8 => Self::Debug,
            9..=12 => Self::Info,
            13..=16 => Self::Warn,
            17..=20 => Self::Error,
            21.. => Self::Fatal,
            0 => Self::Unspecified,
        }
    }

    /// The lowest severity number of the range (0 for unspecified).
    #[must_use]
    pub fn number(self) -> u8 {
        match self {
            Self::Unspecified => 0,
            Self::Trace => 1,
            Self::Debug => 5,
            Self::Info => 9,
            Self::Warn => 13,
            Self::Error => 17,
            Self::Fatal => 21,
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "-",
            Self::Trace => "TRACE",
            Self::Debug => "DEBUG",
            Self::Info => "INFO",
            Self::Warn => "WARN",
            Self::Error => "ERROR",
            Self::Fatal => "FATAL",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_ranges_follow_otlp() {
        assert_eq!(Severity::of(0), Severity::Unspecified);
        assert_eq!(Severity::of(9), Severity::Info);
        assert_eq!(Severity::of(12), Severity::Info);
        assert_eq!(Severity::of(13), Severity::Warn);
        assert_eq!(Severity::of(17), Severity::Error);
        assert_eq!(Severity::of(24), Severity::Fatal);
        assert_eq!(Severity::of(200), Severity::Fatal);
        for s in Severity::ALL {
            assert_eq!(Severity::of(s.number()), s);
        }
    }
}
