//! A B3 propagator (Zipkin's headers), for `OTEL_PROPAGATORS=b3` or `b3multi`.
//!
//! Injection writes either the single `b3` header (`{trace}-{span}-{sampled}`) or the multi
//! `X-B3-*` headers. Extraction accepts both forms whatever the injection encoding, the single
//! header first, as the OpenTelemetry specification asks. Debug (`d`, `X-B3-Flags: 1`) is read as
//! sampled: OpenTelemetry has no debug flag.

use opentelemetry::Context;
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};

const B3_SINGLE: &str = "b3";
const B3_TRACE_ID: &str = "x-b3-traceid";
const B3_SPAN_ID: &str = "x-b3-spanid";
const B3_PARENT_SPAN_ID: &str = "x-b3-parentspanid";
const B3_SAMPLED: &str = "x-b3-sampled";
const B3_FLAGS: &str = "x-b3-flags";

/// Which headers [`B3Propagator`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum B3Encoding {
    /// One `b3` header.
    Single,
    /// The `X-B3-TraceId`, `X-B3-SpanId` and `X-B3-Sampled` headers.
    Multiple,
}

/// Propagates span context in B3 headers.
#[derive(Debug)]
pub struct B3Propagator {
    encoding: B3Encoding,
    fields: Vec<String>,
}

impl B3Propagator {
    /// A propagator that injects with the given encoding (and extracts both).
    #[must_use]
    pub fn new(encoding: B3Encoding) -> Self {
        let fields = match encoding {
            B3Encoding::Single => vec![B3_SINGLE.to_owned()],
            B3Encoding::Multiple => [
                B3_TRACE_ID,
                B3_SPAN_ID,
                B3_PARENT_SPAN_ID,
                B3_SAMPLED,
                B3_FLAGS,
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        };
        Self { encoding, fields }
    }
}

fn parse_trace_id(s: &str) -> Option<TraceId> {
    let s = s.trim();
    if (s.len() != 16 && s.len() != 32) || !is_lower_hex(s) {
        return None;
    }
    // A 64-bit trace id is the low half of a 128-bit one.
    let id = TraceId::from_hex(s).ok()?;
    (id != TraceId::INVALID).then_some(id)
}

fn parse_span_id(s: &str) -> Option<SpanId> {
    let s = s.trim();
    if s.len() != 16 || !is_lower_hex(s) {
        return None;
    }
    let id = SpanId::from_hex(s).ok()?;
    (id != SpanId::INVALID).then_some(id)
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Sampling decision: `Some(true)` sampled or debug, `Some(false)` denied, `None` deferred.
fn parse_sampled(s: &str) -> Option<Option<bool>> {
    match s.trim() {
        "1" | "d" | "true" => Some(Some(true)),
        "0" | "false" => Some(Some(false)),
        _ => None,
    }
}

fn flags(sampled: Option<bool>) -> TraceFlags {
    // A deferred decision is taken as sampled, so the demos' traces are complete.
    if sampled.unwrap_or(true) {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    }
}

fn extract_single(value: &str) -> Option<SpanContext> {
    let parts: Vec<&str> = value.trim().split('-').collect();
    let (trace, span, sampled, parent) = match parts.as_slice() {
        [trace, span] => (trace, span, None, None),
        [trace, span, sampled] => (trace, span, Some(sampled), None),
        [trace, span, sampled, parent] => (trace, span, Some(sampled), Some(parent)),
        _ => return None,
    };
    if let Some(parent) = parent {
        parse_span_id(parent)?;
    }
    let sampled = match sampled {
        Some(s) => parse_sampled(s)?,
        None => None,
    };
    Some(remote(
        parse_trace_id(trace)?,
        parse_span_id(span)?,
        sampled,
    ))
}

fn extract_multi(extractor: &dyn Extractor) -> Option<SpanContext> {
    let trace_id = parse_trace_id(extractor.get(B3_TRACE_ID)?)?;
    let span_id = parse_span_id(extractor.get(B3_SPAN_ID)?)?;
    if let Some(parent) = extractor.get(B3_PARENT_SPAN_ID) {
        parse_span_id(parent)?;
    }
    let debug = extractor.get(B3_FLAGS).is_some_and(|f| f.trim() == "1");
    let sampled = if debug {
        Some(true)
    } else {
        match extractor.get(B3_SAMPLED) {
            Some(s) => parse_sampled(s)?,
            None => None,
        }
    };
    Some(remote(trace_id, span_id, sampled))
}

fn remote(trace_id: TraceId, span_id: SpanId, sampled: Option<bool>) -> SpanContext {
    SpanContext::new(
        trace_id,
        span_id,
        flags(sampled),
        true,
        TraceState::default(),
    )
}

impl TextMapPropagator for B3Propagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let sc = span.span_context();
        if !sc.is_valid() {
            return;
        }
        let sampled = if sc.is_sampled() { "1" } else { "0" };
        match self.encoding {
            B3Encoding::Single => injector.set(
                B3_SINGLE,
                format!("{}-{}-{sampled}", sc.trace_id(), sc.span_id()),
            ),
            B3Encoding::Multiple => {
                injector.set(B3_TRACE_ID, sc.trace_id().to_string());
                injector.set(B3_SPAN_ID, sc.span_id().to_string());
                injector.set(B3_SAMPLED, sampled.to_owned());
            }
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let found = match extractor.get(B3_SINGLE) {
            Some(single) => extract_single(single),
            None => extract_multi(extractor),
        };
        match found {
            Some(sc) => cx.with_remote_span_context(sc),
            None => cx.clone(),
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&self.fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const TRACE: &str = "80f198ee56343ba864fe8b2a57d3eff7";
    const SPAN: &str = "e457b5a2e4d86bd1";

    fn context(sampled: bool) -> Context {
        let flags = if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from_hex(TRACE).unwrap(),
            SpanId::from_hex(SPAN).unwrap(),
            flags,
            false,
            TraceState::default(),
        ))
    }

    fn headers(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn extracted(pairs: &[(&str, &str)]) -> SpanContext {
        let carrier = headers(pairs);
        B3Propagator::new(B3Encoding::Single)
            .extract_with_context(&Context::new(), &carrier)
            .span()
            .span_context()
            .clone()
    }

    #[test]
    fn injects_single_header() {
        let mut carrier = HashMap::new();
        B3Propagator::new(B3Encoding::Single).inject_context(&context(true), &mut carrier);
        assert_eq!(carrier.len(), 1);
        assert_eq!(carrier["b3"], format!("{TRACE}-{SPAN}-1"));
    }

    #[test]
    fn injects_multi_headers() {
        let mut carrier = HashMap::new();
        B3Propagator::new(B3Encoding::Multiple).inject_context(&context(false), &mut carrier);
        assert_eq!(carrier["x-b3-traceid"], TRACE);
        assert_eq!(carrier["x-b3-spanid"], SPAN);
        assert_eq!(carrier["x-b3-sampled"], "0");
        assert!(!carrier.contains_key("b3"));
    }

    #[test]
    fn injects_nothing_without_a_span() {
        let mut carrier = HashMap::new();
        B3Propagator::new(B3Encoding::Single).inject_context(&Context::new(), &mut carrier);
        assert!(carrier.is_empty());
    }

    #[test]
    fn extracts_single_header() {
        let sc = extracted(&[("b3", &format!("{TRACE}-{SPAN}-1-05e3ac9a4f6e3b90"))]);
        assert!(sc.is_valid() && sc.is_remote() && sc.is_sampled());
        assert_eq!(sc.trace_id().to_string(), TRACE);
        assert_eq!(sc.span_id().to_string(), SPAN);
    }

    #[test]
    fn extracts_single_header_with_64_bit_trace_id_and_debug() {
        let sc = extracted(&[("b3", &format!("64fe8b2a57d3eff7-{SPAN}-d"))]);
        assert_eq!(
            sc.trace_id().to_string(),
            "000000000000000064fe8b2a57d3eff7"
        );
        assert!(sc.is_sampled());
    }

    #[test]
    fn extracts_deny_and_deferred() {
        assert!(!extracted(&[("b3", &format!("{TRACE}-{SPAN}-0"))]).is_sampled());
        assert!(extracted(&[("b3", &format!("{TRACE}-{SPAN}"))]).is_sampled());
        // A lone "0" says "don't sample" and carries no ids.
        assert!(!extracted(&[("b3", "0")]).is_valid());
    }

    #[test]
    fn extracts_multi_headers_whatever_the_encoding() {
        let sc = extracted(&[
            ("x-b3-traceid", TRACE),
            ("x-b3-spanid", SPAN),
            ("x-b3-sampled", "0"),
        ]);
        assert_eq!(sc.trace_id().to_string(), TRACE);
        assert!(!sc.is_sampled());
        let debug = extracted(&[
            ("x-b3-traceid", TRACE),
            ("x-b3-spanid", SPAN),
            ("x-b3-sampled", "0"),
            ("x-b3-flags", "1"),
        ]);
        assert!(debug.is_sampled());
    }

    #[test]
    fn ignores_malformed_headers() {
        for bad in [
            format!("{TRACE}-{SPAN}-x"),
            format!("{TRACE}-zz57b5a2e4d86bd1-1"),
            format!("{}-{SPAN}-1", "0".repeat(32)),
            format!("{TRACE}-{SPAN}-1-notaspanid"),
            format!("{TRACE}-{SPAN}-1-{SPAN}-extra"),
            "garbage".to_owned(),
        ] {
            assert!(!extracted(&[("b3", &bad)]).is_valid(), "accepted {bad}");
        }
        assert!(!extracted(&[("x-b3-traceid", TRACE)]).is_valid());
    }

    #[test]
    fn round_trips_through_both_encodings() {
        for encoding in [B3Encoding::Single, B3Encoding::Multiple] {
            let propagator = B3Propagator::new(encoding);
            let mut carrier = HashMap::new();
            propagator.inject_context(&context(true), &mut carrier);
            let cx = propagator.extract_with_context(&Context::new(), &carrier);
            let sc = cx.span().span_context().clone();
            assert_eq!(sc.trace_id().to_string(), TRACE, "{encoding:?}");
            assert_eq!(sc.span_id().to_string(), SPAN, "{encoding:?}");
            assert!(sc.is_sampled());
        }
    }
}
