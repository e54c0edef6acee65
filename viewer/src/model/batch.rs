//! Incoming spans: one request's worth, as the receiver hands it to the store.
//!
//! A [`Batch`] keeps every string of the request in one buffer (`text`) and refers to them by
//! [`Text`] ranges, and keeps every span's attributes in one vector (`span_attrs`), so decoding a
//! request allocates a handful of times rather than several times per span, and the store frees
//! it in one go. (Profiles of end-to-end ingest put a quarter of the CPU in building, moving and
//! freeing per-span strings and vectors: docs/BENCHMARKS.md.)
//!
//! The `Owned*` types are the same data with plain owned strings: what the JSON and prost path
//! builds, what tests write, and how two batches are compared ([`Batch::to_owned`]).

use std::ops::Range;

use compact_str::CompactString;

use super::{SpanId, SpanKind, StatusCode, TraceId, Value};

/// A string of a batch: a range of [`Batch::text`]; read it with [`Batch::str`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Text {
    start: u32,
    end: u32,
}

/// An attribute's value as it arrives: a string of the batch, a number or boolean inline, or
/// anything else (bytes, arrays, maps, rare) boxed, so an attribute is 24 bytes.
#[derive(Clone, Debug, PartialEq)]
pub enum NewValue {
    Str(Text),
    Int(i64),
    Double(f64),
    Bool(bool),
    Empty,
    Other(Box<Value>),
}

impl NewValue {
    /// Any value but a string (strings need the batch: [`Batch::attr`]).
    #[must_use]
    pub fn of(v: Value) -> Self {
        match v {
            Value::Int(i) => Self::Int(i),
            Value::Double(d) => Self::Double(d),
            Value::Bool(b) => Self::Bool(b),
            Value::Empty => Self::Empty,
            other => Self::Other(Box::new(other)),
        }
    }
}

/// An attribute as it arrives.
#[derive(Clone, Debug, PartialEq)]
pub struct NewAttr {
    pub key: Text,
    pub value: NewValue,
}

/// One request's worth of spans, grouped by resource and scope as in OTLP.
#[derive(Debug, Default)]
pub struct Batch {
    /// Every string of the batch, end to end.
    pub text: String,
    /// Every span's attributes, each span's a contiguous run (`NewSpan::attrs`).
    pub span_attrs: Vec<NewAttr>,
    pub resources: Vec<NewResourceSpans>,
    /// Spans dropped at the boundary (invalid ids); reported back to the sender.
    pub rejected: u64,
}

#[derive(Debug, Default)]
pub struct NewResourceSpans {
    pub attrs: Vec<NewAttr>,
    pub scopes: Vec<NewScopeSpans>,
}

#[derive(Debug, Default)]
pub struct NewScopeSpans {
    pub name: Text,
    pub version: Text,
    pub spans: Vec<NewSpan>,
}

/// A span as it arrives; its strings are in the batch's `text`, its attributes in `span_attrs`.
#[derive(Debug, Default, Clone)]
pub struct NewSpan {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent_id: SpanId,
    pub name: Text,
    pub kind: SpanKind,
    pub start: u64,
    pub end: u64,
    pub status: StatusCode,
    pub status_message: Text,
    /// Indices into [`Batch::span_attrs`].
    pub attrs: Range<u32>,
    pub events: Vec<NewEvent>,
    pub links: Vec<NewLink>,
}

#[derive(Debug, Default, Clone)]
pub struct NewEvent {
    pub time: u64,
    pub name: Text,
    pub attrs: Vec<NewAttr>,
}

#[derive(Debug, Default, Clone)]
pub struct NewLink {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub attrs: Vec<NewAttr>,
}

impl Batch {
    /// An empty batch whose text buffer starts with room for `text_capacity` bytes.
    #[must_use]
    pub fn with_text_capacity(text_capacity: usize) -> Self {
        Self {
            text: String::with_capacity(text_capacity),
            ..Self::default()
        }
    }

    /// Copies a string into the batch.
    pub fn text(&mut self, s: &str) -> Text {
        self.text_parts(s, "")
    }

    /// Copies two strings, one after the other, into the batch as one string.
    pub fn text_parts(&mut self, a: &str, b: &str) -> Text {
        let start = self.text.len();
        self.text.push_str(a);
        self.text.push_str(b);
        // A request is at most `--max-message-size` bytes (far below 4 GiB), and its text no
        // longer than the request; past u32, a string reads as empty rather than wrong.
        let pos = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Text {
            start: pos(start),
            end: pos(self.text.len()),
        }
    }

    /// A string of the batch.
    #[must_use]
    pub fn str(&self, t: Text) -> &str {
        self.text
            .get(t.start as usize..t.end as usize)
            .unwrap_or_default()
    }

    /// An attribute, its strings copied into the batch.
    pub fn attr(&mut self, key: &str, value: Value) -> NewAttr {
        let key = self.text(key);
        let value = match value {
            Value::Str(s) => NewValue::Str(self.text(&s)),
            other => NewValue::of(other),
        };
        NewAttr { key, value }
    }

    /// A span's attributes.
    #[must_use]
    pub fn attrs_of(&self, span: &NewSpan) -> &[NewAttr] {
        self.span_attrs
            .get(span.attrs.start as usize..span.attrs.end as usize)
            .unwrap_or_default()
    }

    /// An attribute's value with its string (if any) read out of the batch.
    #[must_use]
    pub fn value(&self, v: &NewValue) -> Value {
        match v {
            NewValue::Str(t) => Value::Str(self.str(*t).into()),
            NewValue::Int(i) => Value::Int(*i),
            NewValue::Double(d) => Value::Double(*d),
            NewValue::Bool(b) => Value::Bool(*b),
            NewValue::Empty => Value::Empty,
            NewValue::Other(v) => (**v).clone(),
        }
    }

    /// Number of valid spans in the batch.
    #[must_use]
    pub fn span_count(&self) -> usize {
        self.resources
            .iter()
            .flat_map(|r| &r.scopes)
            .map(|s| s.spans.len())
            .sum()
    }

    /// A batch built from owned data.
    #[must_use]
    pub fn from_owned(resources: Vec<OwnedResource>, rejected: u64) -> Self {
        let mut b = Self {
            rejected,
            ..Self::default()
        };
        for r in resources {
            let attrs = b.attrs(r.attrs);
            let mut scopes = Vec::with_capacity(r.scopes.len());
            for s in r.scopes {
                let name = b.text(&s.name);
                let version = b.text(&s.version);
                let spans = s.spans.into_iter().map(|span| b.span(span)).collect();
                scopes.push(NewScopeSpans {
                    name,
                    version,
                    spans,
                });
            }
            b.resources.push(NewResourceSpans { attrs, scopes });
        }
        b
    }

    fn attrs(&mut self, attrs: Vec<OwnedAttr>) -> Vec<NewAttr> {
        attrs.into_iter().map(|(k, v)| self.attr(&k, v)).collect()
    }

    fn span(&mut self, s: OwnedSpan) -> NewSpan {
        let start = self.span_attrs.len();
        for (k, v) in s.attrs {
            let a = self.attr(&k, v);
            self.span_attrs.push(a);
        }
        let pos = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        NewSpan {
            trace_id: s.trace_id,
            span_id: s.span_id,
            parent_id: s.parent_id,
            name: self.text(&s.name),
            kind: s.kind,
            start: s.start,
            end: s.end,
            status: s.status,
            status_message: self.text(&s.status_message),
            attrs: pos(start)..pos(self.span_attrs.len()),
            events: s
                .events
                .into_iter()
                .map(|e| NewEvent {
                    time: e.time,
                    name: self.text(&e.name),
                    attrs: self.attrs(e.attrs),
                })
                .collect(),
            links: s
                .links
                .into_iter()
                .map(|l| NewLink {
                    trace_id: l.trace_id,
                    span_id: l.span_id,
                    attrs: self.attrs(l.attrs),
                })
                .collect(),
        }
    }

    /// The batch as owned data (tests compare batches this way).
    #[must_use]
    pub fn to_owned(&self) -> Vec<OwnedResource> {
        let attrs = |attrs: &[NewAttr]| -> Vec<OwnedAttr> {
            attrs
                .iter()
                .map(|a| (self.str(a.key).into(), self.value(&a.value)))
                .collect()
        };
        self.resources
            .iter()
            .map(|r| OwnedResource {
                attrs: attrs(&r.attrs),
                scopes: r
                    .scopes
                    .iter()
                    .map(|s| OwnedScope {
                        name: self.str(s.name).to_owned(),
                        version: self.str(s.version).to_owned(),
                        spans: s
                            .spans
                            .iter()
                            .map(|span| OwnedSpan {
                                trace_id: span.trace_id,
                                span_id: span.span_id,
                                parent_id: span.parent_id,
                                name: self.str(span.name).into(),
                                kind: span.kind,
                                start: span.start,
                                end: span.end,
                                status: span.status,
                                status_message: self.str(span.status_message).to_owned(),
                                attrs: attrs(self.attrs_of(span)),
                                events: span
                                    .events
                                    .iter()
                                    .map(|e| OwnedEvent {
                                        time: e.time,
                                        name: self.str(e.name).into(),
                                        attrs: attrs(&e.attrs),
                                    })
                                    .collect(),
                                links: span
                                    .links
                                    .iter()
                                    .map(|l| OwnedLink {
                                        trace_id: l.trace_id,
                                        span_id: l.span_id,
                                        attrs: attrs(&l.attrs),
                                    })
                                    .collect(),
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect()
    }
}

/// An attribute with an owned key.
pub type OwnedAttr = (CompactString, Value);

#[derive(Debug, Default, Clone, PartialEq)]
pub struct OwnedResource {
    pub attrs: Vec<OwnedAttr>,
    pub scopes: Vec<OwnedScope>,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct OwnedScope {
    pub name: String,
    pub version: String,
    pub spans: Vec<OwnedSpan>,
}

/// A span with owned strings.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct OwnedSpan {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent_id: SpanId,
    pub name: CompactString,
    pub kind: SpanKind,
    pub start: u64,
    pub end: u64,
    pub status: StatusCode,
    pub status_message: String,
    pub attrs: Vec<OwnedAttr>,
    pub events: Vec<OwnedEvent>,
    pub links: Vec<OwnedLink>,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct OwnedEvent {
    pub time: u64,
    pub name: CompactString,
    pub attrs: Vec<OwnedAttr>,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct OwnedLink {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub attrs: Vec<OwnedAttr>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_data_survives_the_round_trip() {
        let owned = vec![OwnedResource {
            attrs: vec![("service.name".into(), Value::Str("api".into()))],
            scopes: vec![OwnedScope {
                name: "lib".into(),
                version: "1.0".into(),
                spans: vec![
                    OwnedSpan {
                        trace_id: 1,
                        span_id: 2,
                        name: "GET /é".into(),
                        status_message: "boom".into(),
                        attrs: vec![
                            ("k".into(), Value::Str("v".into())),
                            ("n".into(), Value::Int(7)),
                        ],
                        events: vec![OwnedEvent {
                            time: 3,
                            name: "ev".into(),
                            attrs: vec![("e".into(), Value::Bool(true))],
                        }],
                        links: vec![OwnedLink {
                            trace_id: 4,
                            span_id: 5,
                            attrs: vec![("l".into(), Value::Double(1.5))],
                        }],
                        ..OwnedSpan::default()
                    },
                    OwnedSpan {
                        trace_id: 1,
                        span_id: 3,
                        parent_id: 2,
                        name: "child".into(),
                        attrs: vec![("k2".into(), Value::Str(String::new().into()))],
                        ..OwnedSpan::default()
                    },
                ],
            }],
        }];
        let b = Batch::from_owned(owned.clone(), 2);
        assert_eq!(b.to_owned(), owned);
        assert_eq!(b.span_count(), 2);
        assert_eq!(b.rejected, 2);
        let spans = &b.resources[0].scopes[0].spans;
        assert_eq!(b.attrs_of(&spans[0]).len(), 2);
        assert_eq!(b.attrs_of(&spans[1]).len(), 1);
    }

    #[test]
    fn an_incoming_attribute_is_24_bytes() {
        assert_eq!(std::mem::size_of::<NewAttr>(), 24);
    }

    #[test]
    fn a_range_outside_the_text_reads_as_empty() {
        let b = Batch::default();
        let t = Text { start: 3, end: 9 };
        assert_eq!(b.str(t), "");
    }
}
