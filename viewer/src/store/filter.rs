//! Substring filtering over service names, span names and attribute values (traces), and over
//! bodies, services, severities and attribute values (log records).
//!
//! Interned strings (names, services) are tested once each, not once per span; only attribute
//! string values are searched per span. Smart case: a query with no capital letter matches
//! regardless of ASCII case.

use memchr::memmem;

use super::{LogSeq, Store, TraceRef};
use crate::model::{Attr, LogRecord, Severity, Span, Sym, TraceId, Value};

/// A compiled filter query.
pub struct Query {
    needle: Vec<u8>,
    ignore_case: bool,
    finder: memmem::Finder<'static>,
    /// Whether the needle could occur in a number's or a boolean's text at all; when not,
    /// those values are skipped instead of formatted.
    numeric: bool,
    boolean: bool,
    /// The query read as a whole trace id (32 hex digits), if it is one.
    trace_id: Option<u128>,
}

/// Traces per thread below which the filter runs on one thread.
const PARALLEL_MIN_TRACES: usize = 4096;

impl Query {
    #[must_use]
    pub fn new(text: &str) -> Self {
        let ignore_case = !text.chars().any(char::is_uppercase);
        let needle: Vec<u8> = if ignore_case {
            text.to_ascii_lowercase().into_bytes()
        } else {
            text.as_bytes().to_vec()
        };
        let finder = memmem::Finder::new(&needle).into_owned();
        // Integers and floats print as digits, '-', '.', 'e', "inf" and "NaN".
        let numeric = needle
            .iter()
            .all(|b| b.is_ascii_digit() || b"-+.eE".contains(b))
            || [&b"inf"[..], b"NaN", b"nan"]
                .iter()
                .any(|w| memmem::find(w, &needle).is_some());
        let boolean = [&b"true"[..], b"false"]
            .iter()
            .any(|w| memmem::find(w, &needle).is_some());
        let hex = text.trim();
        let trace_id = (hex.len() == 32)
            .then(|| u128::from_str_radix(hex, 16).ok())
            .flatten();
        Self {
            trace_id,
            needle,
            ignore_case,
            finder,
            numeric,
            boolean,
        }
    }

    #[must_use]
    pub fn matches(&self, hay: &str) -> bool {
        let hay = hay.as_bytes();
        if !self.ignore_case {
            return self.finder.find(hay).is_some();
        }
        let Some(&first) = self.needle.first() else {
            return true;
        };
        let Some(last_start) = hay.len().checked_sub(self.needle.len()) else {
            return false;
        };
        let upper = first.to_ascii_uppercase();
        memchr::memchr2_iter(first, upper, &hay[..=last_start])
            .any(|pos| hay[pos..pos + self.needle.len()].eq_ignore_ascii_case(&self.needle))
    }

    fn matches_value(&self, v: &Value, sym: &impl Fn(Sym) -> bool) -> bool {
        match v {
            Value::Str(s) => self.matches(s),
            Value::Sym(s) => sym(*s),
            Value::Bool(b) => self.boolean && self.matches(if *b { "true" } else { "false" }),
            Value::Int(i) => self.numeric && self.matches(&StackText::of(i)),
            Value::Double(_) => self.numeric && self.matches(&v.to_string()),
            Value::Array(items) => items.iter().any(|i| self.matches_value(i, sym)),
            Value::Map(items) => items.iter().any(|(_, i)| self.matches_value(i, sym)),
            Value::Bytes(_) | Value::Empty => false,
        }
    }

    fn matches_attrs(&self, attrs: &[Attr], sym: &impl Fn(Sym) -> bool) -> bool {
        attrs.iter().any(|a| match a {
            Attr::Sym { value, .. } => sym(*value),
            Attr::Int { value, .. } => self.numeric && self.matches(&StackText::of(value)),
            Attr::Bool { value, .. } => {
                self.boolean && self.matches(if *value { "true" } else { "false" })
            }
            Attr::Double { value, .. } => self.numeric && self.matches(&value.to_string()),
            Attr::Other { value, .. } => self.matches_value(value, sym),
        })
    }

    /// Whether one span's service, name or an attribute value (its own or its resource's)
    /// matches.
    #[must_use]
    pub fn matches_span(&self, store: &Store, span: &Span) -> bool {
        let resource = store.resource(span.resource);
        let sym = |s: Sym| self.matches(store.str(s));
        self.matches(store.str(span.name))
            || self.matches(store.str(resource.service))
            || self.matches_attrs(&span.attrs, &sym)
            || self.matches_attrs(&resource.attrs, &sym)
    }
}

impl Store {
    /// Log records, oldest first, of at least `min` severity, of one trace when `trace` is
    /// given, and matching `query` when given: in the body, the service name, the severity
    /// text, the event name or an attribute value (record or resource); a whole trace id finds
    /// its records. Interned strings and resources are tested once each.
    #[must_use]
    pub fn filter_logs(
        &self,
        query: Option<&Query>,
        min: Severity,
        trace: Option<TraceId>,
    ) -> Vec<LogSeq> {
        let keep_severity =
            |r: &LogRecord| min == Severity::Unspecified || Severity::of(r.severity) >= min;
        let Some(query) = query else {
            return match trace {
                Some(t) => self
                    .logs
                    .of_trace(t)
                    .filter(|(_, r)| keep_severity(r))
                    .map(|(s, _)| s)
                    .collect(),
                None => self
                    .logs
                    .iter()
                    .filter(|(_, r)| keep_severity(r))
                    .map(|(s, _)| s)
                    .collect(),
            };
        };
        let sym_match: Vec<bool> = self.strings().iter().map(|s| query.matches(s)).collect();
        let sym = |s: Sym| sym_match.get(s.0 as usize).copied().unwrap_or(false);
        let res_match: Vec<bool> = self
            .resources()
            .iter()
            .map(|r| sym(r.service) || query.matches_attrs(&r.attrs, &sym))
            .collect();
        let matches = |r: &LogRecord| {
            keep_severity(r)
                && (query.trace_id.is_some_and(|t| t == r.trace_id)
                    || res_match
                        .get(r.resource.0 as usize)
                        .copied()
                        .unwrap_or(false)
                    || sym(r.severity_text)
                    || sym(r.event_name)
                    || query.matches_value(&r.body, &sym)
                    || query.matches_attrs(&r.attrs, &sym))
        };
        match trace {
            Some(t) => self
                .logs
                .of_trace(t)
                .filter(|(_, r)| matches(r))
                .map(|(s, _)| s)
                .collect(),
            None => self
                .logs
                .iter()
                .filter(|(_, r)| matches(r))
                .map(|(s, _)| s)
                .collect(),
        }
    }

    /// Traces, in arrival order, with at least one span whose service name, span name or an
    /// attribute value (span or resource) contains the query.
    ///
    /// Interned strings and resources are tested once each; then, per trace, every span's name
    /// and resource (table look-ups) before any attribute value. Large stores are split over
    /// the available cores.
    #[must_use]
    pub fn filter(&self, query: &Query) -> Vec<TraceRef> {
        let sym_match: Vec<bool> = self.strings().iter().map(|s| query.matches(s)).collect();
        let sym = |s: Sym| sym_match.get(s.0 as usize).copied().unwrap_or(false);
        let res_match: Vec<bool> = self
            .resources()
            .iter()
            .map(|r| sym_match[r.service.0 as usize] || query.matches_attrs(&r.attrs, &sym))
            .collect();
        let keep = |r: &TraceRef| {
            self.trace(*r).is_some_and(|t| {
                if query.trace_id == Some(t.id) {
                    return true;
                }
                let spans = t.spans();
                spans.iter().any(|s| {
                    sym_match.get(s.name.0 as usize).copied().unwrap_or(false)
                        || res_match
                            .get(s.resource.0 as usize)
                            .copied()
                            .unwrap_or(false)
                }) || spans.iter().any(|s| query.matches_attrs(&s.attrs, &sym))
            })
        };
        let all: Vec<TraceRef> = self.traces_by_arrival().collect();
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

/// A number's text on the stack, so testing an integer attribute does not allocate.
struct StackText {
    buf: [u8; 24],
    len: usize,
}

impl StackText {
    fn of(i: &i64) -> Self {
        use std::fmt::Write as _;
        let mut t = Self {
            buf: [0; 24],
            len: 0,
        };
        let _ = write!(t, "{i}");
        t
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl std::ops::Deref for StackText {
    type Target = str;
    fn deref(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Value;
    use crate::store::tests::{batch, span};

    #[test]
    fn a_whole_trace_id_finds_its_trace() {
        let mut store = Store::new(100);
        store.ingest(batch("a", vec![span(0xabc, 1, 0, 0, 1, "x")]));
        store.ingest(batch("a", vec![span(0xdef, 1, 0, 0, 1, "y")]));
        let found = store.filter(&Query::new("00000000000000000000000000000DEF"));
        assert_eq!(found.len(), 1);
        assert_eq!(store.trace(found[0]).unwrap().id, 0xdef);
        assert!(
            store
                .filter(&Query::new("0000000000000000000000000000ffff"))
                .is_empty()
        );
    }

    #[test]
    fn smart_case() {
        assert!(Query::new("get").matches("HTTP GET /x"));
        assert!(!Query::new("Get").matches("HTTP GET /x"));
        assert!(Query::new("GET").matches("HTTP GET /x"));
        assert!(!Query::new("gets").matches("get"));
        assert!(Query::new("").matches("anything"));
    }

    #[test]
    fn matches_service_span_name_and_attribute_values() {
        let mut store = Store::new(100);
        store.ingest(batch("checkout", vec![span(1, 1, 0, 0, 1, "GET /cart")]));
        let mut with_attr = span(2, 1, 0, 0, 1, "work");
        with_attr.attrs = vec![("user.id".into(), Value::Str("alice-42".into()))];
        store.ingest(batch("billing", vec![with_attr]));
        store.ingest(batch("billing", vec![span(3, 1, 0, 0, 1, "other")]));
        let ids = |q: &str| -> Vec<u128> {
            store
                .filter(&Query::new(q))
                .into_iter()
                .map(|r| store.trace(r).unwrap().id)
                .collect()
        };
        assert_eq!(ids("checkout"), vec![1]);
        assert_eq!(ids("cart"), vec![1]);
        assert_eq!(ids("alice"), vec![2]);
        assert_eq!(ids("billing"), vec![2, 3]);
        assert!(ids("nothing-like-this").is_empty());
        // Attribute keys alone do not match: "user.id" is a key, not a value.
        assert!(ids("user.id").is_empty());
    }

    #[test]
    fn numbers_and_booleans_match_their_text() {
        let mut store = Store::new(100);
        let mut s = span(1, 1, 0, 0, 1, "a");
        s.attrs = vec![
            ("http.response.status_code".into(), Value::Int(-4040)),
            ("cache.hit".into(), Value::Bool(true)),
            ("ratio".into(), Value::Double(0.25)),
        ];
        store.ingest(batch("svc", vec![s]));
        let hits = |q: &str| store.filter(&Query::new(q)).len();
        assert_eq!(hits("404"), 1);
        assert_eq!(hits("-40"), 1);
        assert_eq!(hits("rue"), 1);
        assert_eq!(hits("0.25"), 1);
        assert_eq!(hits("false"), 0);
        assert_eq!(hits("4041"), 0);
    }

    #[test]
    fn large_stores_filter_in_parallel_and_keep_arrival_order() {
        let mut store = Store::new(100_000);
        for i in 1..=20_000u128 {
            let name = if i % 7 == 0 { "wanted" } else { "other" };
            let mut s = span(i, 1, 0, 0, 1, "x");
            s.attrs = vec![("k".into(), Value::Str(name.into()))];
            store.ingest(batch("svc", vec![s]));
        }
        let ids: Vec<u128> = store
            .filter(&Query::new("want"))
            .into_iter()
            .map(|r| store.trace(r).unwrap().id)
            .collect();
        let expected: Vec<u128> = (1..=20_000u128).filter(|i| i % 7 == 0).collect();
        assert_eq!(ids, expected);
    }
}
