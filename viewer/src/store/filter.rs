//! Substring filtering over service names, span names and attribute values.
//!
//! Interned strings (names, services) are tested once each, not once per span; only attribute
//! string values are searched per span. Smart case: a query with no capital letter matches
//! regardless of ASCII case.

use memchr::memmem;

use super::{Store, TraceRef};
use crate::model::{Attr, Span, Value};

/// A compiled filter query.
pub struct Query {
    needle: Vec<u8>,
    ignore_case: bool,
    finder: memmem::Finder<'static>,
}

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
        Self {
            needle,
            ignore_case,
            finder,
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

    fn matches_value(&self, v: &Value) -> bool {
        match v {
            Value::Str(s) => self.matches(s),
            Value::Bool(_) | Value::Int(_) | Value::Double(_) => self.matches(&v.to_string()),
            Value::Array(items) => items.iter().any(|i| self.matches_value(i)),
            Value::Map(items) => items.iter().any(|(_, i)| self.matches_value(i)),
            Value::Bytes(_) | Value::Empty => false,
        }
    }

    fn matches_attrs(&self, attrs: &[Attr]) -> bool {
        attrs.iter().any(|a| self.matches_value(&a.value))
    }

    /// Whether one span's service, name or an attribute value (its own or its resource's)
    /// matches.
    #[must_use]
    pub fn matches_span(&self, store: &Store, span: &Span) -> bool {
        let resource = store.resource(span.resource);
        self.matches(store.str(span.name))
            || self.matches(store.str(resource.service))
            || self.matches_attrs(&span.attrs)
            || self.matches_attrs(&resource.attrs)
    }
}

impl Store {
    /// Traces, in arrival order, with at least one span whose service name, span name or an
    /// attribute value (span or resource) contains the query.
    #[must_use]
    pub fn filter(&self, query: &Query) -> Vec<TraceRef> {
        let sym_match: Vec<bool> = self.strings().iter().map(|s| query.matches(s)).collect();
        let res_match: Vec<bool> = self
            .resources()
            .iter()
            .map(|r| sym_match[r.service.0 as usize] || query.matches_attrs(&r.attrs))
            .collect();
        self.traces_by_arrival()
            .filter(|&r| {
                self.trace(r).is_some_and(|t| {
                    t.spans().iter().any(|s| {
                        sym_match[s.name.0 as usize]
                            || res_match[s.resource.0 as usize]
                            || query.matches_attrs(&s.attrs)
                    })
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Value;
    use crate::store::tests::{batch, span};

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
}
