//! Substring matching, for bare words: over names, services, bodies and attribute values.
//! Smart case: text with no capital letter matches regardless of ASCII case. Numbers and
//! booleans are only formatted when the text could occur in them.

use memchr::memmem;

use crate::model::{Attr, Sym, Value};

/// A compiled substring: bare words in a query.
pub struct Text {
    needle: Vec<u8>,
    ignore_case: bool,
    finder: memmem::Finder<'static>,
    /// Whether the needle could occur in a number's or a boolean's text at all; when not,
    /// those values are skipped instead of formatted.
    numeric: bool,
    boolean: bool,
    /// The query read as a whole trace id (32 hex digits), if it is one.
    pub trace_id: Option<u128>,
}

impl Text {
    #[must_use]
    pub fn new(text: &str) -> Self {
        // Smart case; a needle without letters matches the same either way, and the exact
        // search is the fast one.
        let ignore_case =
            !text.chars().any(char::is_uppercase) && text.bytes().any(|b| b.is_ascii_lowercase());
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

    pub fn matches_value(&self, v: &Value, sym: &impl Fn(Sym) -> bool) -> bool {
        match v {
            Value::Str(s) => self.matches(s),
            Value::Sym(s) => sym(*s),
            Value::Bool(b) => self.boolean && self.matches(if *b { "true" } else { "false" }),
            Value::Int(i) => self.numeric && self.matches(itoa::Buffer::new().format(*i)),
            Value::Double(_) => self.numeric && self.matches(&v.to_string()),
            Value::Array(items) => items.iter().any(|i| self.matches_value(i, sym)),
            Value::Map(items) => items.iter().any(|(_, i)| self.matches_value(i, sym)),
            Value::Bytes(_) | Value::Empty => false,
        }
    }

    pub fn matches_attrs(&self, attrs: &[Attr], sym: &impl Fn(Sym) -> bool) -> bool {
        attrs.iter().any(|a| match a {
            Attr::Sym { value, .. } => sym(*value),
            Attr::Int { value, .. } => {
                self.numeric && self.matches(itoa::Buffer::new().format(*value))
            }
            Attr::Bool { value, .. } => {
                self.boolean && self.matches(if *value { "true" } else { "false" })
            }
            Attr::Double { value, .. } => self.numeric && self.matches(&value.to_string()),
            Attr::Other { value, .. } => self.matches_value(value, sym),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smart_case() {
        assert!(Text::new("get").matches("HTTP GET /x"));
        assert!(!Text::new("Get").matches("HTTP GET /x"));
        assert!(Text::new("GET").matches("HTTP GET /x"));
        assert!(!Text::new("gets").matches("get"));
        assert!(Text::new("").matches("anything"));
    }
}
