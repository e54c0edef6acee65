//! OTLP/protobuf trace export requests decoded straight into our model (and, in [`log_request`], log
//! export requests).
//!
//! [`trace_request`] reads the bytes of an `ExportTraceServiceRequest` and builds the same
//! `(Batch, problem)` that [`convert::trace_request`] builds from prost's decoded message, without
//! prost's intermediate structs: ids are read in place, strings are validated and copied once, end
//! to end into the batch's one text buffer, every span's attributes go into the batch's one
//! attribute vector, and attributes, events and links beyond the limits are skipped rather than
//! decoded and then dropped.
//!
//! Protobuf's merge rules are followed: a repeated field may appear any number of times, a singular
//! message field that appears twice is merged (resource, scope and status), scalars and strings are
//! last-wins, unknown fields are skipped. The one merge that cannot be done in a single pass — an
//! attribute's `AnyValue` given twice — sends the whole request down the prost + convert path, so
//! the result is the same either way.
//!
//! Hostile input: every length is checked against the bytes that remain before it is used, nothing
//! is preallocated from a length or a count in the input, and recursion is bounded (nested values
//! deeper than 8 are replaced by the marker convert uses, without being parsed; unknown groups are
//! skipped by prost's own bounded `skip_field`).

use std::borrow::Cow;
use std::fmt;

use compact_str::CompactString;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message as _;
use prost::encoding::{DecodeContext, WireType, check_wire_type, decode_key, decode_varint};

use super::convert::{self, Limits, cut_at, id8, id16, truncated, truncation_marker};
use crate::model::{
    Batch, NewAttr, NewEvent, NewLink, NewResourceSpans, NewScopeSpans, NewSpan, NewValue,
    SpanKind, StatusCode, Text, Value,
};

mod logs;

pub use logs::log_request;

/// Nested values (arrays, maps) deeper than this are replaced by a marker, as convert does.
const MAX_DEPTH: usize = 8;

/// Why a request could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError(Cow<'static, str>);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "failed to decode OTLP protobuf: {}", self.0)
    }
}

impl std::error::Error for DecodeError {}

impl From<prost::DecodeError> for DecodeError {
    fn from(e: prost::DecodeError) -> Self {
        Self(Cow::Owned(e.to_string()))
    }
}

/// Internal outcome of the single pass: malformed, or "take the prost path".
enum Fail {
    Bad(DecodeError),
    Fallback,
}

impl From<prost::DecodeError> for Fail {
    fn from(e: prost::DecodeError) -> Self {
        Self::Bad(e.into())
    }
}

fn bad(msg: &'static str) -> Fail {
    Fail::Bad(DecodeError(Cow::Borrowed(msg)))
}

type R<T> = Result<T, Fail>;

/// Decodes an `ExportTraceServiceRequest` into a batch, exactly as
/// `convert::trace_request(ExportTraceServiceRequest::decode(buf)?, limits)` would.
///
/// # Errors
/// When the bytes are not a valid encoding of the message.
pub fn trace_request(buf: &[u8], limits: &Limits) -> Result<(Batch, String), DecodeError> {
    match request(buf, limits) {
        Ok(r) => Ok(r),
        Err(Fail::Bad(e)) => Err(e),
        Err(Fail::Fallback) => {
            let req = ExportTraceServiceRequest::decode(buf)?;
            Ok(convert::trace_request(req, limits))
        }
    }
}

/// A cursor over one message's bytes.
struct Rd<'a>(&'a [u8]);

impl<'a> Rd<'a> {
    #[inline]
    fn more(&self) -> bool {
        !self.0.is_empty()
    }

    /// A field's key. Keys of fields 1 to 15 are one byte, read here; anything else, or a
    /// byte prost would refuse, goes to prost's `decode_key` (same checks, same errors).
    /// (Always inlined: left to itself, the compiler stopped inlining it, 20% slower.)
    #[inline(always)]
    fn key(&mut self) -> R<(u32, WireType)> {
        if let Some((&b, rest)) = self.0.split_first()
            && (8..0x80).contains(&b)
            && let Ok(wt) = WireType::try_from(u64::from(b & 7))
        {
            self.0 = rest;
            return Ok((u32::from(b >> 3), wt));
        }
        Ok(decode_key(&mut self.0)?)
    }

    /// A varint: one byte read here, longer ones by prost. (Always inlined, as `key`.)
    #[inline(always)]
    fn raw_varint(&mut self) -> R<u64> {
        if let Some((&b, rest)) = self.0.split_first()
            && b < 0x80
        {
            self.0 = rest;
            return Ok(u64::from(b));
        }
        Ok(decode_varint(&mut self.0)?)
    }

    #[inline]
    fn varint(&mut self, wt: WireType) -> R<u64> {
        check_wire_type(WireType::Varint, wt)?;
        self.raw_varint()
    }

    #[inline]
    fn fixed64(&mut self, wt: WireType) -> R<u64> {
        check_wire_type(WireType::SixtyFourBit, wt)?;
        let Some((head, rest)) = self.0.split_first_chunk::<8>() else {
            return Err(bad("buffer underflow"));
        };
        self.0 = rest;
        Ok(u64::from_le_bytes(*head))
    }

    /// A length-delimited field's bytes.
    #[inline]
    fn bytes(&mut self, wt: WireType) -> R<&'a [u8]> {
        check_wire_type(WireType::LengthDelimited, wt)?;
        let len = self.raw_varint()?;
        if len > self.0.len() as u64 {
            return Err(bad("buffer underflow"));
        }
        #[allow(clippy::cast_possible_truncation)] // checked against a slice length above
        let (head, rest) = self.0.split_at(len as usize);
        self.0 = rest;
        Ok(head)
    }

    #[inline]
    fn str(&mut self, wt: WireType) -> R<&'a str> {
        utf8(self.bytes(wt)?)
    }

    /// Skips a field we do not read (bounded recursion for groups, lengths checked).
    #[inline]
    fn skip(&mut self, wt: WireType, tag: u32) -> R<()> {
        prost::encoding::skip_field(wt, tag, &mut self.0, DecodeContext::default())?;
        Ok(())
    }

    /// Skips an unknown field. When `EXACT`, a group is left to prost: its recursion limit
    /// counts the depth the group is found at, which a fresh `skip` here would not.
    #[inline]
    fn skip_unknown<const EXACT: bool>(&mut self, wt: WireType, tag: u32) -> R<()> {
        if EXACT && wt == WireType::StartGroup {
            return Err(Fail::Fallback);
        }
        self.skip(wt, tag)
    }

    /// Skips a known field we do not use, checking its wire type as prost would.
    #[inline]
    fn ignore(&mut self, wt: WireType, expected: WireType, tag: u32) -> R<()> {
        check_wire_type(expected, wt)?;
        if expected == WireType::LengthDelimited {
            self.bytes(wt).map(|_| ())
        } else {
            self.skip(wt, tag)
        }
    }
}

/// A string field's bytes as text, refused as prost refuses them when not UTF-8.
#[inline]
fn utf8(raw: &[u8]) -> R<&str> {
    std::str::from_utf8(raw).map_err(|_| bad("invalid string value: data is not UTF-8 encoded"))
}

/// Spans rejected so far, and the first reason.
struct Rejects {
    count: u64,
    first: &'static str,
}

fn request(buf: &[u8], limits: &Limits) -> R<(Batch, String)> {
    // Strings are a fraction of a request (a quarter or less of the loadgen's); the buffer grows
    // if they are more. Sized from the request's length, never from a count inside it.
    let mut batch = Batch::with_text_capacity(buf.len() / 4);
    let mut rejects = Rejects {
        count: 0,
        first: "",
    };
    let mut rd = Rd(buf);
    while rd.more() {
        let (tag, wt) = rd.key()?;
        match tag {
            1 => {
                let m = rd.bytes(wt)?;
                let rs = resource_spans(m, limits, &mut batch, &mut rejects)?;
                // Nothing to keep from a resource without spans: no allocation for it.
                if !rs.scopes.is_empty() {
                    batch.resources.push(rs);
                }
            }
            _ => rd.skip(wt, tag)?,
        }
    }
    batch.rejected = rejects.count;
    let problem = if rejects.count > 0 {
        format!("{} span(s) rejected: {}", rejects.count, rejects.first)
    } else {
        String::new()
    };
    Ok((batch, problem))
}

fn resource_spans(
    buf: &[u8],
    limits: &Limits,
    b: &mut Batch,
    rejects: &mut Rejects,
) -> R<NewResourceSpans> {
    let mut attrs = Vec::new();
    let mut scopes = Vec::new();
    let mut rd = Rd(buf);
    while rd.more() {
        let (tag, wt) = rd.key()?;
        match tag {
            // Resource: a second occurrence merges (its attributes are appended).
            1 => resource(rd.bytes(wt)?, limits, b, &mut attrs)?,
            2 => {
                if let Some(scope) = scope_spans(rd.bytes(wt)?, limits, b, rejects)? {
                    scopes.push(scope);
                }
            }
            3 => {
                rd.str(wt)?;
            }
            _ => rd.skip(wt, tag)?,
        }
    }
    Ok(NewResourceSpans { attrs, scopes })
}

fn resource(buf: &[u8], limits: &Limits, b: &mut Batch, attrs: &mut Vec<NewAttr>) -> R<()> {
    let mut rd = Rd(buf);
    while rd.more() {
        let (tag, wt) = rd.key()?;
        match tag {
            1 => push_attr(rd.bytes(wt)?, limits, b, attrs)?,
            2 => rd.ignore(wt, WireType::Varint, tag)?,
            3 => rd.ignore(wt, WireType::LengthDelimited, tag)?,
            _ => rd.skip(wt, tag)?,
        }
    }
    Ok(())
}

/// Decodes one `KeyValue` into `attrs` unless the limit is reached (then it is skipped).
#[inline]
fn push_attr(buf: &[u8], limits: &Limits, b: &mut Batch, attrs: &mut Vec<NewAttr>) -> R<()> {
    if attrs.len() < limits.max_attrs {
        attrs.push(attr(buf, limits, b, None)?);
    }
    Ok(())
}

fn scope_spans(
    buf: &[u8],
    limits: &Limits,
    b: &mut Batch,
    rejects: &mut Rejects,
) -> R<Option<NewScopeSpans>> {
    let (mut name, mut version) = ("", "");
    let mut spans = Vec::new();
    let mut last = LastSpan::new();
    let mut rd = Rd(buf);
    while rd.more() {
        let (tag, wt) = rd.key()?;
        match tag {
            1 => scope(rd.bytes(wt)?, &mut name, &mut version)?,
            2 => match span(rd.bytes(wt)?, limits, b, &mut last)? {
                Ok(s) => spans.push(s),
                Err(why) => {
                    if rejects.count == 0 {
                        rejects.first = why;
                    }
                    rejects.count += 1;
                }
            },
            3 => {
                rd.str(wt)?;
            }
            _ => rd.skip(wt, tag)?,
        }
    }
    // A scope without spans (or whose spans were all rejected) is not kept.
    if spans.is_empty() {
        return Ok(None);
    }
    Ok(Some(NewScopeSpans {
        name: b.text(name),
        version: b.text(version),
        spans,
    }))
}

fn scope<'a>(buf: &'a [u8], name: &mut &'a str, version: &mut &'a str) -> R<()> {
    let mut rd = Rd(buf);
    while rd.more() {
        let (tag, wt) = rd.key()?;
        match tag {
            1 => *name = rd.str(wt)?,
            2 => *version = rd.str(wt)?,
            3 => rd.ignore(wt, WireType::LengthDelimited, tag)?,
            4 => rd.ignore(wt, WireType::Varint, tag)?,
            _ => rd.skip(wt, tag)?,
        }
    }
    Ok(())
}

/// One span; the inner `Err` is a rejection (invalid ids), the outer one malformed bytes.
///
/// Its attributes go to the end of `b.span_attrs`; a rejected span's are taken off again.
fn span<'a>(
    buf: &'a [u8],
    limits: &Limits,
    b: &mut Batch,
    last: &mut LastSpan<'a>,
) -> R<Result<NewSpan, &'static str>> {
    let (mut trace_id, mut span_id, mut parent_id): (&[u8], &[u8], &[u8]) = (&[], &[], &[]);
    // The name's bytes, and its text when it is not the last span's name.
    let (mut name, mut new_name): (&[u8], Option<&str>) = (&[], Some(""));
    let mut kind = 0i32;
    let (mut start, mut end) = (0u64, 0u64);
    let first_attr = b.span_attrs.len();
    let mut events = Vec::new();
    let mut links = Vec::new();
    let mut links_seen = 0usize;
    let (mut status_code, mut status_message) = (0i32, "");
    let mut rd = Rd(buf);
    while rd.more() {
        let (tag, wt) = rd.key()?;
        match tag {
            1 => trace_id = rd.bytes(wt)?,
            2 => span_id = rd.bytes(wt)?,
            3 => {
                rd.str(wt)?;
            }
            4 => parent_id = rd.bytes(wt)?,
            5 => {
                name = rd.bytes(wt)?;
                new_name = match last.name {
                    Some((last, _)) if last == name => None,
                    _ => Some(utf8(name)?),
                };
            }
            #[allow(clippy::cast_possible_truncation)] // int32 on the wire, as prost reads it
            6 => kind = rd.varint(wt)? as i32,
            7 => start = rd.fixed64(wt)?,
            8 => end = rd.fixed64(wt)?,
            9 => {
                let m = rd.bytes(wt)?;
                if b.span_attrs.len() - first_attr < limits.max_attrs {
                    let pos = b.span_attrs.len() - first_attr;
                    let a = attr(m, limits, b, Some((last, pos)))?;
                    b.span_attrs.push(a);
                }
            }
            11 => {
                let m = rd.bytes(wt)?;
                if events.len() < limits.max_events {
                    events.push(event(m, limits, b)?);
                }
            }
            13 => {
                let m = rd.bytes(wt)?;
                // As convert: the first `max_events` links are taken, then invalid ones dropped.
                if links_seen < limits.max_events {
                    links_seen += 1;
                    if let Some(l) = link(m, limits, b)? {
                        links.push(l);
                    }
                }
            }
            // Status: a second occurrence merges into the first.
            15 => status(rd.bytes(wt)?, &mut status_code, &mut status_message)?,
            10 | 12 | 14 => rd.ignore(wt, WireType::Varint, tag)?,
            16 => rd.ignore(wt, WireType::ThirtyTwoBit, tag)?,
            _ => rd.skip(wt, tag)?,
        }
    }
    let ids = (|| {
        let trace_id = id16(trace_id).ok_or("trace_id must be 16 bytes and not all zero")?;
        let span_id = id8(span_id).ok_or("span_id must be 8 bytes and not all zero")?;
        let parent_id = match *parent_id {
            [] => 0,
            [a, b, c, d, e, f, g, h] => u64::from_be_bytes([a, b, c, d, e, f, g, h]),
            _ => return Err("parent_span_id must be empty or 8 bytes"),
        };
        Ok((trace_id, span_id, parent_id))
    })();
    let (trace_id, span_id, parent_id) = match ids {
        Ok(ids) => ids,
        Err(why) => {
            // (Its strings stay in the text buffer: later spans may share its keys' text.)
            b.span_attrs.truncate(first_attr);
            return Ok(Err(why));
        }
    };
    #[allow(clippy::cast_possible_truncation)] // a request's attributes are far fewer than 2^32
    let attrs = first_attr as u32..b.span_attrs.len() as u32;
    let name = match (new_name, last.name) {
        (None, Some((_, text))) => text,
        (s, _) => {
            let text = b.text(s.unwrap_or_default());
            last.name = Some((name, text));
            text
        }
    };
    Ok(Ok(NewSpan {
        trace_id,
        span_id,
        parent_id,
        name,
        kind: SpanKind::from_otlp(kind),
        start,
        end,
        status: StatusCode::from_otlp(status_code),
        status_message: limited_text(b, status_message, limits.max_attr_value_len),
        attrs,
        events,
        links,
    }))
}

fn status<'a>(buf: &'a [u8], code: &mut i32, message: &mut &'a str) -> R<()> {
    let mut rd = Rd(buf);
    while rd.more() {
        let (tag, wt) = rd.key()?;
        match tag {
            2 => *message = rd.str(wt)?,
            #[allow(clippy::cast_possible_truncation)] // int32 on the wire, as prost reads it
            3 => *code = rd.varint(wt)? as i32,
            _ => rd.skip(wt, tag)?,
        }
    }
    Ok(())
}

fn event(buf: &[u8], limits: &Limits, b: &mut Batch) -> R<NewEvent> {
    let mut time = 0;
    let mut name = "";
    let mut attrs = Vec::new();
    let mut rd = Rd(buf);
    while rd.more() {
        let (tag, wt) = rd.key()?;
        match tag {
            1 => time = rd.fixed64(wt)?,
            2 => name = rd.str(wt)?,
            3 => push_attr(rd.bytes(wt)?, limits, b, &mut attrs)?,
            4 => rd.ignore(wt, WireType::Varint, tag)?,
            _ => rd.skip(wt, tag)?,
        }
    }
    Ok(NewEvent {
        time,
        name: b.text(name),
        attrs,
    })
}

/// A link, or `None` when its ids are invalid (dropped, as convert does).
fn link(buf: &[u8], limits: &Limits, b: &mut Batch) -> R<Option<NewLink>> {
    let (mut trace_id, mut span_id): (&[u8], &[u8]) = (&[], &[]);
    let mut attrs = Vec::new();
    let mut rd = Rd(buf);
    while rd.more() {
        let (tag, wt) = rd.key()?;
        match tag {
            1 => trace_id = rd.bytes(wt)?,
            2 => span_id = rd.bytes(wt)?,
            3 => {
                rd.str(wt)?;
            }
            4 => push_attr(rd.bytes(wt)?, limits, b, &mut attrs)?,
            5 => rd.ignore(wt, WireType::Varint, tag)?,
            6 => rd.ignore(wt, WireType::ThirtyTwoBit, tag)?,
            _ => rd.skip(wt, tag)?,
        }
    }
    Ok(id16(trace_id)
        .zip(id8(span_id))
        .map(|(trace_id, span_id)| NewLink {
            trace_id,
            span_id,
            attrs,
        }))
}

/// The last span of a scope: its name, and its attributes by position (each key's bytes and
/// text, each value's encoded `AnyValue` and what it decoded to). Spans of one scope mostly carry
/// the same name, keys in the same order, and many of the same values: a name, key or value whose
/// bytes equal the last span's is taken as decoded then (decoding is a function of the bytes and
/// the limits) rather than checked as UTF-8 and copied again, and the store sees the same `Text`
/// and skips interning it.
struct LastSpan<'a> {
    name: Option<(&'a [u8], Text)>,
    keys: Vec<Option<(&'a [u8], Text)>>,
    values: Vec<Option<(&'a [u8], NewValue)>>,
}

impl<'a> LastSpan<'a> {
    fn new() -> Self {
        Self {
            name: None,
            keys: Vec::new(),
            values: Vec::new(),
        }
    }

    fn known(&self, pos: usize, raw: &[u8]) -> Option<Text> {
        match self.keys.get(pos) {
            Some(&Some((bytes, text))) if bytes == raw => Some(text),
            _ => None,
        }
    }

    fn remember(&mut self, pos: usize, raw: &'a [u8], text: Text) {
        put(&mut self.keys, pos, Some((raw, text)));
    }

    fn known_value(&self, pos: usize, raw: &[u8]) -> Option<NewValue> {
        match self.values.get(pos) {
            Some(Some((bytes, v))) if *bytes == raw => Some(v.clone()),
            _ => None,
        }
    }

    /// Remembers a string or scalar (boxed values are not worth a clone).
    fn remember_value(&mut self, pos: usize, raw: &'a [u8], v: &NewValue) {
        let entry = (!matches!(v, NewValue::Other(_))).then(|| (raw, v.clone()));
        put(&mut self.values, pos, entry);
    }
}

/// Sets position `pos` (bounded by `--max-attrs`), growing the vector as needed.
fn put<T: Clone>(v: &mut Vec<Option<T>>, pos: usize, item: Option<T>) {
    if pos >= v.len() {
        v.resize(pos + 1, None);
    }
    v[pos] = item;
}

/// A key read so far: already in the batch, or a checked string still to copy.
enum Key<'a> {
    Known(Text),
    New(&'a str),
}

/// A span's, event's, link's or resource's `KeyValue`, its strings copied into the batch; for a
/// span's, `memo` holds the last span and this attribute's position.
fn attr<'a>(
    buf: &'a [u8],
    limits: &Limits,
    b: &mut Batch,
    mut memo: Option<(&mut LastSpan<'a>, usize)>,
) -> R<NewAttr> {
    let mut key = Key::New("");
    let mut value = None;
    let mut rd = Rd(buf);
    while rd.more() {
        let (tag, wt) = rd.key()?;
        match tag {
            1 => {
                let raw = rd.bytes(wt)?;
                key = match memo.as_ref().and_then(|(m, pos)| m.known(*pos, raw)) {
                    Some(text) => Key::Known(text),
                    None => Key::New(utf8(raw)?),
                };
            }
            2 => {
                let m = rd.bytes(wt)?;
                if value.is_some() {
                    // Two AnyValues merge field by field; leave that to prost.
                    return Err(Fail::Fallback);
                }
                if let Some(v) = memo
                    .as_ref()
                    .and_then(|(memo, pos)| memo.known_value(*pos, m))
                {
                    value = Some(v);
                    continue;
                }
                let v = match any_value::<false>(m, limits, 0)? {
                    Raw::Str(s) => NewValue::Str(limited_text(b, s, limits.max_attr_value_len)),
                    Raw::Int(i) => NewValue::Int(i),
                    Raw::Double(d) => NewValue::Double(d),
                    Raw::Bool(v) => NewValue::Bool(v),
                    Raw::Empty => NewValue::Empty,
                    Raw::Value(v) => NewValue::Other(Box::new(v)),
                };
                if let Some((memo, pos)) = memo.as_mut() {
                    memo.remember_value(*pos, m, &v);
                }
                value = Some(v);
            }
            3 => rd.ignore(wt, WireType::Varint, tag)?,
            _ => rd.skip(wt, tag)?,
        }
    }
    let key = match key {
        Key::Known(text) => text,
        Key::New(s) => {
            let text = b.text(s);
            if let Some((m, pos)) = memo.as_mut() {
                m.remember(*pos, s.as_bytes(), text);
            }
            text
        }
    };
    Ok(NewAttr {
        key,
        value: value.unwrap_or(NewValue::Empty),
    })
}

/// A nested `KeyValue` (in a map; a log record's own): its key (borrowed) and its value at
/// nesting `depth`. `EXACT` as for [`any_value`].
fn key_value<'a, const EXACT: bool>(
    buf: &'a [u8],
    limits: &Limits,
    depth: usize,
) -> R<(&'a str, Value)> {
    let mut key = "";
    let mut value = None;
    let mut rd = Rd(buf);
    while rd.more() {
        let (tag, wt) = rd.key()?;
        match tag {
            1 => key = rd.str(wt)?,
            2 => {
                let m = rd.bytes(wt)?;
                if value.is_some() {
                    return Err(Fail::Fallback);
                }
                value = Some(owned(any_value::<EXACT>(m, limits, depth)?, limits));
            }
            3 => rd.ignore(wt, WireType::Varint, tag)?,
            _ => rd.skip_unknown::<EXACT>(wt, tag)?,
        }
    }
    Ok((key, value.unwrap_or(Value::Empty)))
}

/// A decoded `AnyValue`: a string still in the request's bytes, a scalar, or any other value.
enum Raw<'a> {
    Str(&'a str),
    Int(i64),
    Double(f64),
    Bool(bool),
    Empty,
    Value(Value),
}

/// A nested value, owned; long strings truncated as convert does.
fn owned(raw: Raw<'_>, limits: &Limits) -> Value {
    match raw {
        Raw::Str(s) if s.len() <= limits.max_attr_value_len => Value::Str(CompactString::from(s)),
        Raw::Str(s) => Value::Str(CompactString::from(truncated(s, limits.max_attr_value_len))),
        Raw::Int(i) => Value::Int(i),
        Raw::Double(d) => Value::Double(d),
        Raw::Bool(b) => Value::Bool(b),
        Raw::Empty => Value::Empty,
        Raw::Value(v) => v,
    }
}

/// A string copied into the batch, cut and marked as convert does when longer than `max`.
fn limited_text(b: &mut Batch, s: &str, max: usize) -> Text {
    if s.len() <= max {
        return b.text(s);
    }
    let cut = cut_at(s, max);
    b.text_parts(&s[..cut], &truncation_marker(s.len() - cut))
}

/// An `AnyValue` at nesting `depth` (0 for an attribute's own value).
///
/// With `EXACT` (the log decoder), every byte prost would look at is looked at here too, so the
/// two refuse the same inputs: items past `max_attrs` are decoded and dropped rather than
/// skipped, and a non-empty array or map deeper than `MAX_DEPTH`, or an unknown group, sends the
/// request to prost (whose own recursion limit then decides). The trace decoder skips those.
fn any_value<'a, const EXACT: bool>(buf: &'a [u8], limits: &Limits, depth: usize) -> R<Raw<'a>> {
    let mut value = None;
    let mut rd = Rd(buf);
    while rd.more() {
        let (tag, wt) = rd.key()?;
        let v = match tag {
            1 => Raw::Str(rd.str(wt)?),
            2 => Raw::Bool(rd.varint(wt)? != 0),
            #[allow(clippy::cast_possible_wrap)] // int64 on the wire, as prost reads it
            3 => Raw::Int(rd.varint(wt)? as i64),
            4 => Raw::Double(f64::from_bits(rd.fixed64(wt)?)),
            5 | 6 => {
                let m = rd.bytes(wt)?;
                Raw::Value(if depth >= MAX_DEPTH {
                    if EXACT && !m.is_empty() {
                        return Err(Fail::Fallback);
                    }
                    Value::Str("…[nested too deep]".into())
                } else if tag == 5 {
                    array::<EXACT>(m, limits, depth)?
                } else {
                    map::<EXACT>(m, limits, depth)?
                })
            }
            7 => {
                let b = rd.bytes(wt)?;
                Raw::Value(Value::Bytes(
                    b[..b.len().min(limits.max_attr_value_len)].into(),
                ))
            }
            8 => {
                rd.varint(wt)?;
                Raw::Empty
            }
            _ => {
                rd.skip_unknown::<EXACT>(wt, tag)?;
                continue;
            }
        };
        if value.is_some() {
            // A oneof given twice: the last wins, or two arrays/maps merge; leave that to prost.
            return Err(Fail::Fallback);
        }
        value = Some(v);
    }
    Ok(value.unwrap_or(Raw::Empty))
}

fn array<const EXACT: bool>(buf: &[u8], limits: &Limits, depth: usize) -> R<Value> {
    let mut items = Vec::new();
    let mut rd = Rd(buf);
    while rd.more() {
        let (tag, wt) = rd.key()?;
        match tag {
            1 => {
                let m = rd.bytes(wt)?;
                if items.len() < limits.max_attrs {
                    items.push(owned(any_value::<EXACT>(m, limits, depth + 1)?, limits));
                } else if EXACT {
                    any_value::<EXACT>(m, limits, depth + 1)?;
                }
            }
            _ => rd.skip_unknown::<EXACT>(wt, tag)?,
        }
    }
    Ok(Value::Array(items.into_boxed_slice()))
}

fn map<const EXACT: bool>(buf: &[u8], limits: &Limits, depth: usize) -> R<Value> {
    let mut items = Vec::new();
    let mut rd = Rd(buf);
    while rd.more() {
        let (tag, wt) = rd.key()?;
        match tag {
            1 => {
                let m = rd.bytes(wt)?;
                if items.len() < limits.max_attrs {
                    let (k, v) = key_value::<EXACT>(m, limits, depth + 1)?;
                    items.push((CompactString::from(k), v));
                } else if EXACT {
                    key_value::<EXACT>(m, limits, depth + 1)?;
                }
            }
            _ => rd.skip_unknown::<EXACT>(wt, tag)?,
        }
    }
    Ok(Value::Map(items.into_boxed_slice()))
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{
        AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
    };
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::select;
    use prost::Message as _;

    use super::*;

    /// What the prost path gives, as a comparable string (Debug: NaN equals NaN).
    fn via_prost(buf: &[u8], limits: &Limits) -> Option<String> {
        let req = ExportTraceServiceRequest::decode(buf).ok()?;
        let (batch, problem) = convert::trace_request(req, limits);
        Some(format!("{:?}", (batch.to_owned(), batch.rejected, problem)))
    }

    fn direct(buf: &[u8], limits: &Limits) -> Option<String> {
        trace_request(buf, limits)
            .ok()
            .map(|(batch, problem)| format!("{:?}", (batch.to_owned(), batch.rejected, problem)))
    }

    pub(super) fn text() -> impl Strategy<Value = String> {
        vec(select(vec!['a', 'b', 'z', ' ', 'é', '€', '𝄞', '\0']), 0..12)
            .prop_map(String::from_iter)
    }

    pub(super) fn id(n: usize) -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            4 => vec(any::<u8>(), n..=n),
            1 => Just(Vec::new()),
            1 => Just(vec![0; n]),
            1 => vec(any::<u8>(), 0..20),
        ]
    }

    pub(super) fn any_value() -> impl Strategy<Value = AnyValue> {
        let leaf = prop_oneof![
            text().prop_map(any_value::Value::StringValue),
            any::<bool>().prop_map(any_value::Value::BoolValue),
            any::<i64>().prop_map(any_value::Value::IntValue),
            any::<f64>().prop_map(any_value::Value::DoubleValue),
            vec(any::<u8>(), 0..30).prop_map(any_value::Value::BytesValue),
            any::<i32>().prop_map(any_value::Value::StringValueStrindex),
        ];
        let leaf = proptest::option::weighted(0.9, leaf).prop_map(|value| AnyValue { value });
        leaf.prop_recursive(12, 96, 4, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..4).prop_map(|values| AnyValue {
                    value: Some(any_value::Value::ArrayValue(ArrayValue { values })),
                }),
                vec((text(), proptest::option::of(inner)), 0..4).prop_map(|kvs| AnyValue {
                    value: Some(any_value::Value::KvlistValue(KeyValueList {
                        values: kvs
                            .into_iter()
                            .map(|(key, value)| KeyValue {
                                key,
                                value,
                                ..Default::default()
                            })
                            .collect(),
                    })),
                }),
            ]
        })
    }

    pub(super) fn key_values(max: usize) -> impl Strategy<Value = Vec<KeyValue>> {
        vec((text(), proptest::option::of(any_value())), 0..max).prop_map(|kvs| {
            kvs.into_iter()
                .map(|(key, value)| KeyValue {
                    key,
                    value,
                    ..Default::default()
                })
                .collect()
        })
    }

    fn span() -> impl Strategy<Value = Span> {
        (
            (id(16), id(8), prop_oneof![Just(Vec::new()), id(8)], text()),
            (any::<i32>(), any::<u64>(), any::<u64>(), -1..7i32),
            key_values(6),
            vec((any::<u64>(), text(), key_values(3)), 0..4),
            vec((id(16), id(8), key_values(3)), 0..4),
            proptest::option::of((text(), -1..4i32)),
        )
            .prop_map(
                |(
                    (trace_id, span_id, parent_span_id, name),
                    (flags, start, end, kind),
                    attributes,
                    events,
                    links,
                    status,
                )| {
                    Span {
                        trace_id,
                        span_id,
                        parent_span_id,
                        name,
                        flags: flags as u32,
                        start_time_unix_nano: start,
                        end_time_unix_nano: end,
                        kind,
                        attributes,
                        events: events
                            .into_iter()
                            .map(|(time_unix_nano, name, attributes)| Event {
                                time_unix_nano,
                                name,
                                attributes,
                                dropped_attributes_count: 1,
                            })
                            .collect(),
                        links: links
                            .into_iter()
                            .map(|(trace_id, span_id, attributes)| Link {
                                trace_id,
                                span_id,
                                attributes,
                                trace_state: "k=v".into(),
                                ..Default::default()
                            })
                            .collect(),
                        status: status.map(|(message, code)| Status { message, code }),
                        trace_state: String::new(),
                        dropped_attributes_count: 3,
                        ..Default::default()
                    }
                },
            )
    }

    fn request() -> impl Strategy<Value = ExportTraceServiceRequest> {
        let scope_spans = (
            proptest::option::of((text(), text(), key_values(2))),
            vec(span(), 0..5),
        )
            .prop_map(|(scope, spans)| ScopeSpans {
                scope: scope.map(|(name, version, attributes)| InstrumentationScope {
                    name,
                    version,
                    attributes,
                    dropped_attributes_count: 0,
                }),
                spans,
                schema_url: "https://opentelemetry.io/schemas/1.0".into(),
            });
        let resource_spans = (proptest::option::of(key_values(5)), vec(scope_spans, 0..3))
            .prop_map(|(resource, scope_spans)| ResourceSpans {
                resource: resource.map(|attributes| Resource {
                    attributes,
                    ..Default::default()
                }),
                scope_spans,
                schema_url: String::new(),
            });
        vec(resource_spans, 0..3)
            .prop_map(|resource_spans| ExportTraceServiceRequest { resource_spans })
    }

    pub(super) fn limits() -> impl Strategy<Value = Limits> {
        prop_oneof![
            Just(Limits::default()),
            (0..20usize, 0..5usize, 0..4usize).prop_map(|(len, attrs, events)| Limits {
                max_attr_value_len: len,
                max_attrs: attrs,
                max_events: events,
            }),
        ]
    }

    /// A length-delimited field.
    pub(super) fn field(tag: u32, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        prost::encoding::encode_key(tag, WireType::LengthDelimited, &mut out);
        prost::encoding::encode_varint(body.len() as u64, &mut out);
        out.extend_from_slice(body);
        out
    }

    /// A request with one resource, one scope and the given span bytes.
    fn wrap_span(span: &[u8]) -> Vec<u8> {
        field(1, &field(2, &field(2, span)))
    }

    fn valid_span() -> Span {
        Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: "s".into(),
            ..Default::default()
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn same_as_prost_then_convert(req in request(), limits in limits()) {
            let buf = req.encode_to_vec();
            let want = via_prost(&buf, &limits);
            prop_assert!(want.is_some());
            prop_assert_eq!(direct(&buf, &limits), want);
        }

        /// Concatenated encodings merge: resources, scopes and statuses merge, repeated fields
        /// append, scalars are last-wins.
        #[test]
        fn merged_messages_as_prost_merges_them(
            a in request(), b in request(), s1 in span(), s2 in span(), limits in limits(),
        ) {
            let mut rs = Vec::new();
            for r in a.resource_spans.iter().chain(&b.resource_spans) {
                rs.extend(r.encode_to_vec());
            }
            let mut buf = field(1, &rs);
            let mut span = s1.encode_to_vec();
            span.extend(s2.encode_to_vec());
            buf.extend(wrap_span(&span));
            prop_assert_eq!(direct(&buf, &limits), via_prost(&buf, &limits));
        }

        /// An attribute's value given twice (merged by prost, the fallback path here).
        #[test]
        fn attribute_value_given_twice(a in key_values(2), b in key_values(2), limits in limits()) {
            let mut kv = Vec::new();
            for x in a.iter().chain(&b) {
                kv.extend(x.encode_to_vec());
            }
            let mut span = valid_span().encode_to_vec();
            span.extend(field(9, &kv));
            let buf = wrap_span(&span);
            prop_assert_eq!(direct(&buf, &limits), via_prost(&buf, &limits));
        }

        #[test]
        fn random_bytes_never_panic(buf in vec(any::<u8>(), 0..600), limits in limits()) {
            let _ = trace_request(&buf, &limits);
        }

        /// Valid encodings with a few bytes changed, removed or inserted: never a panic, and
        /// when both decoders accept the bytes they agree.
        #[test]
        fn mutated_encodings(
            req in request(),
            edits in vec((any::<prop::sample::Index>(), 0..3u8, any::<u8>()), 1..6),
            limits in limits(),
        ) {
            let mut buf = req.encode_to_vec();
            for (at, op, byte) in edits {
                if buf.is_empty() {
                    buf.push(byte);
                    continue;
                }
                let i = at.index(buf.len());
                match op {
                    0 => buf[i] = byte,
                    1 => { buf.remove(i); }
                    _ => buf.insert(i, byte),
                }
            }
            let ours = direct(&buf, &limits);
            if let (Some(ours), Some(theirs)) = (&ours, via_prost(&buf, &limits)) {
                prop_assert_eq!(ours, &theirs);
            }
            for cut in [0, buf.len() / 3, buf.len() / 2, buf.len().saturating_sub(1)] {
                let _ = trace_request(&buf[..cut], &limits);
            }
        }
    }

    #[test]
    fn malformed_is_an_error_not_a_panic() {
        let limits = Limits::default();
        let good = wrap_span(&valid_span().encode_to_vec());
        assert!(trace_request(&good, &limits).is_ok());
        for cut in 1..good.len() {
            assert!(trace_request(&good[..cut], &limits).is_err(), "cut {cut}");
        }
        // A length far beyond the input: refused before anything is allocated from it.
        let huge = [0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f];
        assert!(trace_request(&huge, &limits).is_err());
        // Invalid UTF-8 in a span name.
        let mut span = valid_span().encode_to_vec();
        span.extend(field(5, &[0xff, 0xfe]));
        let err = trace_request(&wrap_span(&span), &limits).unwrap_err();
        assert!(err.to_string().contains("decode"), "{err}");
        // Wrong wire type for a known field.
        let mut span = valid_span().encode_to_vec();
        span.extend([7 << 3, 1]); // start time as a varint
        assert!(trace_request(&wrap_span(&span), &limits).is_err());
    }

    #[test]
    fn a_span_is_decoded_the_same_whatever_the_span_before_it_carried() {
        // Keys and values repeat, move, change type and vanish between consecutive spans (the
        // decoder reuses what the last span decoded at a position when the bytes are equal).
        let s = |v: &str| any_value::Value::StringValue(v.into());
        let i = any_value::Value::IntValue;
        let kv = |k: &str, v: any_value::Value| KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(v) }),
            ..Default::default()
        };
        let shapes = vec![
            vec![kv("a", s("x")), kv("b", i(1))],
            vec![kv("a", s("x")), kv("b", i(2))],
            vec![kv("a", s("y")), kv("b", s("x"))],
            vec![kv("b", s("y")), kv("a", s("y"))],
            vec![],
            vec![
                kv("a", s(&"long ".repeat(10))),
                kv("b", i(2)),
                kv("c", s("x")),
            ],
            vec![
                kv("a", s(&"long ".repeat(10))),
                kv("b", i(2)),
                kv("c", s("x")),
            ],
        ];
        let spans = shapes
            .into_iter()
            .map(|attributes| Span {
                attributes,
                ..valid_span()
            })
            .collect();
        let req = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let buf = req.encode_to_vec();
        // Limits that truncate the long value, so a memorised value must be the truncated one.
        let limits = Limits {
            max_attr_value_len: 20,
            ..Limits::default()
        };
        let got = direct(&buf, &limits).unwrap();
        assert_eq!(got, via_prost(&buf, &limits).unwrap());
        assert_eq!(got.matches("more bytes").count(), 2, "{got}");
    }

    #[test]
    fn unknown_fields_are_skipped() {
        let limits = Limits::default();
        let mut unknown = field(99, b"future");
        prost::encoding::encode_key(1000, WireType::Varint, &mut unknown);
        prost::encoding::encode_varint(5, &mut unknown);
        prost::encoding::encode_key(1001, WireType::SixtyFourBit, &mut unknown);
        unknown.extend([0; 8]);
        prost::encoding::encode_key(1002, WireType::ThirtyTwoBit, &mut unknown);
        unknown.extend([0; 4]);
        let mut span = valid_span().encode_to_vec();
        span.extend(&unknown);
        let mut buf = wrap_span(&span);
        buf.extend(&unknown);
        let got = direct(&buf, &limits).expect("decodes");
        assert_eq!(Some(got.clone()), via_prost(&buf, &limits));
        assert!(got.contains("name: \"s\""));
    }

    #[test]
    fn deep_nesting_is_bounded() {
        // 10,000 nested arrays: a marker past depth 8, no recursion beyond it.
        let mut v = AnyValue {
            value: Some(any_value::Value::IntValue(1)),
        }
        .encode_to_vec();
        for _ in 0..10_000 {
            v = field(5, &field(1, &v));
        }
        let kv = [field(1, b"k"), field(2, &v)].concat();
        let mut span = valid_span().encode_to_vec();
        span.extend(field(9, &kv));
        let (batch, _) = trace_request(&wrap_span(&span), &Limits::default()).expect("decodes");
        let s = format!("{batch:?}");
        assert!(s.contains("nested too deep"), "{s}");
    }
}
