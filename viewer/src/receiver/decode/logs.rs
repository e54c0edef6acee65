//! OTLP/protobuf log export requests decoded straight into our model.
//!
//! [`log_request`] reads the bytes of an `ExportLogsServiceRequest` and builds the same
//! `(LogBatch, problem)` that [`convert::log_request`] builds from prost's decoded message, with
//! the trace decoder's reader and value decoding, without prost's intermediate structs: strings
//! are checked in place and copied once, into the record's own `CompactString`s (short ones
//! inline, no allocation at all).
//!
//! Unlike the trace decoder, it refuses exactly what prost refuses: everything prost would
//! decode is decoded here too, even what is then dropped (attributes past `max_attrs`, scope
//! attributes, resource entity refs), and what cannot be followed in one pass goes down the
//! prost + convert path — a body or an attribute value given twice (prost merges them), a
//! non-empty array or map nested deeper than the marker depth, an unknown group (prost's
//! recursion limit counts how deep it is found).

use compact_str::CompactString;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use prost::Message as _;
use prost::encoding::WireType;

use super::{DecodeError, Fail, R, Rd, Rejects, any_value, key_value, owned};
use crate::model::{LogBatch, LogResource, LogScope, NewLogRecord, OwnedAttr, Value};
use crate::receiver::convert::{self, Limits, truncated};

/// Decodes an `ExportLogsServiceRequest` into a batch, exactly as
/// `convert::log_request(ExportLogsServiceRequest::decode(buf)?, limits)` would: same records,
/// same rejections and message, and an error for the same inputs.
///
/// # Errors
/// When the bytes are not a valid encoding of the message.
pub fn log_request(buf: &[u8], limits: &Limits) -> Result<(LogBatch, String), DecodeError> {
    match request(buf, limits) {
        Ok(r) => Ok(r),
        Err(Fail::Bad(e)) => Err(e),
        Err(Fail::Fallback) => {
            let req = ExportLogsServiceRequest::decode(buf)?;
            Ok(convert::log_request(req, limits))
        }
    }
}

/// Skips a field none of these messages know (groups to prost).
#[inline]
fn skip(rd: &mut Rd<'_>, wt: WireType, tag: u32) -> R<()> {
    rd.skip_unknown::<true>(wt, tag)
}

fn request(buf: &[u8], limits: &Limits) -> R<(LogBatch, String)> {
    let mut batch = LogBatch::default();
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
                let rl = resource_logs(m, limits, &mut rejects)?;
                // Nothing to keep from a resource without records: no allocation for it.
                if !rl.scopes.is_empty() {
                    batch.resources.push(rl);
                }
            }
            _ => skip(&mut rd, wt, tag)?,
        }
    }
    batch.rejected = rejects.count;
    let problem = if rejects.count > 0 {
        format!(
            "{} log record(s) rejected: {}",
            rejects.count, rejects.first
        )
    } else {
        String::new()
    };
    Ok((batch, problem))
}

fn resource_logs(buf: &[u8], limits: &Limits, rejects: &mut Rejects) -> R<LogResource> {
    let mut attrs = Vec::new();
    let mut scopes = Vec::new();
    let mut rd = Rd(buf);
    while rd.more() {
        let (tag, wt) = rd.key()?;
        match tag {
            // Resource: a second occurrence merges (its attributes are appended).
            1 => resource(rd.bytes(wt)?, limits, &mut attrs)?,
            2 => {
                if let Some(scope) = scope_logs(rd.bytes(wt)?, limits, rejects)? {
                    scopes.push(scope);
                }
            }
            3 => {
                rd.str(wt)?;
            }
            _ => skip(&mut rd, wt, tag)?,
        }
    }
    Ok(LogResource { attrs, scopes })
}

fn resource(buf: &[u8], limits: &Limits, attrs: &mut Vec<OwnedAttr>) -> R<()> {
    let mut rd = Rd(buf);
    while rd.more() {
        let (tag, wt) = rd.key()?;
        match tag {
            1 => push_attr(rd.bytes(wt)?, limits, attrs)?,
            2 => rd.ignore(wt, WireType::Varint, tag)?,
            3 => entity_ref(rd.bytes(wt)?)?,
            _ => skip(&mut rd, wt, tag)?,
        }
    }
    Ok(())
}

/// A resource's `EntityRef`: not kept, but checked as prost checks it.
fn entity_ref(buf: &[u8]) -> R<()> {
    let mut rd = Rd(buf);
    while rd.more() {
        let (tag, wt) = rd.key()?;
        match tag {
            // schema_url, type, and the repeated id_keys and description_keys.
            1..=4 => {
                rd.str(wt)?;
            }
            _ => skip(&mut rd, wt, tag)?,
        }
    }
    Ok(())
}

/// Decodes one `KeyValue` and keeps it unless `max_attrs` are kept already (then it is dropped:
/// decoded all the same, so that what prost refuses is refused here too).
#[inline]
fn push_attr(buf: &[u8], limits: &Limits, attrs: &mut Vec<OwnedAttr>) -> R<()> {
    let (key, value) = key_value::<true>(buf, limits, 0)?;
    if attrs.len() < limits.max_attrs {
        attrs.push((CompactString::from(key), value));
    }
    Ok(())
}

/// The scope's last kept record: its attributes, and the bytes each was decoded from.
///
/// Records of one scope mostly carry the same keys in the same order, and many of the same
/// values: an attribute whose bytes equal the last record's at its position is that attribute
/// again (decoding is a function of the bytes and the limits), cloned rather than decoded.
#[derive(Clone, Copy)]
struct Last<'r, 'a> {
    attrs: &'r [OwnedAttr],
    raw: &'r [&'a [u8]],
}

/// As [`push_attr`], for a record's attributes: `raw` gets the bytes of each one kept.
#[inline]
fn push_record_attr<'a>(
    buf: &'a [u8],
    limits: &Limits,
    attrs: &mut Vec<OwnedAttr>,
    last: Option<Last<'_, 'a>>,
    raw: &mut Vec<&'a [u8]>,
) -> R<()> {
    let pos = attrs.len();
    if pos >= limits.max_attrs {
        key_value::<true>(buf, limits, 0)?;
        return Ok(());
    }
    if let Some(last) = last
        && last.raw.get(pos) == Some(&buf)
        && let Some(a) = last.attrs.get(pos)
    {
        attrs.push(a.clone());
    } else {
        let (key, value) = key_value::<true>(buf, limits, 0)?;
        attrs.push((CompactString::from(key), value));
    }
    raw.push(buf);
    Ok(())
}

fn scope_logs(buf: &[u8], limits: &Limits, rejects: &mut Rejects) -> R<Option<LogScope>> {
    let (mut name, mut version) = ("", "");
    let mut records: Vec<NewLogRecord> = Vec::new();
    // The bytes of each attribute of the last record kept, and of the record being decoded.
    let (mut last_raw, mut raw) = (Vec::new(), Vec::new());
    let mut rd = Rd(buf);
    while rd.more() {
        let (tag, wt) = rd.key()?;
        match tag {
            1 => scope(rd.bytes(wt)?, limits, &mut name, &mut version)?,
            2 => {
                let m = rd.bytes(wt)?;
                raw.clear();
                let last = records.last().map(|r| Last {
                    attrs: &r.attrs,
                    raw: &last_raw,
                });
                match log_record(m, limits, last, &mut raw)? {
                    Ok(r) => {
                        if records.is_empty() {
                            // Room for as many records again as the first one's size fits in
                            // the bytes left (sized from bytes present, never from a count in
                            // them, and bounded), rather than growing by doubling.
                            let more = rd.0.len() / (m.len() + 3).max(32);
                            records.reserve(more.min(MAX_RECORDS_HINT) + 1);
                        }
                        records.push(r);
                        std::mem::swap(&mut last_raw, &mut raw);
                    }
                    Err(why) => {
                        if rejects.count == 0 {
                            rejects.first = why;
                        }
                        rejects.count += 1;
                    }
                }
            }
            3 => {
                rd.str(wt)?;
            }
            _ => skip(&mut rd, wt, tag)?,
        }
    }
    // A scope without records (or whose records were all rejected) is not kept.
    if records.is_empty() {
        return Ok(None);
    }
    Ok(Some(LogScope {
        name: name.to_owned(),
        version: version.to_owned(),
        records,
    }))
}

/// An `InstrumentationScope` (merged into what earlier occurrences gave): name and version are
/// kept, attributes checked and dropped.
fn scope<'a>(buf: &'a [u8], limits: &Limits, name: &mut &'a str, version: &mut &'a str) -> R<()> {
    let mut rd = Rd(buf);
    while rd.more() {
        let (tag, wt) = rd.key()?;
        match tag {
            1 => *name = rd.str(wt)?,
            2 => *version = rd.str(wt)?,
            3 => {
                key_value::<true>(rd.bytes(wt)?, limits, 0)?;
            }
            4 => rd.ignore(wt, WireType::Varint, tag)?,
            _ => skip(&mut rd, wt, tag)?,
        }
    }
    Ok(())
}

/// A string cut and marked as convert does when longer than `max`.
#[inline]
fn limited(s: &str, max: usize) -> CompactString {
    if s.len() <= max {
        CompactString::from(s)
    } else {
        CompactString::from(truncated(s, max))
    }
}

/// Most records a scope's vector is sized for ahead (it grows past that as needed).
const MAX_RECORDS_HINT: usize = 8192;

/// One log record; the inner `Err` is a rejection (ids of the wrong length), the outer one
/// malformed bytes. `last`: the scope's last record kept; `raw` gets the bytes of each of this
/// record's attributes kept.
fn log_record<'a>(
    buf: &'a [u8],
    limits: &Limits,
    last: Option<Last<'_, 'a>>,
    raw: &mut Vec<&'a [u8]>,
) -> R<Result<NewLogRecord, &'static str>> {
    let (mut trace_id, mut span_id): (&[u8], &[u8]) = (&[], &[]);
    let (mut time, mut observed_time) = (0u64, 0u64);
    let mut severity = 0i32;
    let (mut severity_text, mut event_name) = ("", "");
    let mut body: Option<Value> = None;
    // Records of one scope mostly carry as many attributes as the one before.
    let mut attrs = Vec::with_capacity(last.map_or(0, |l| l.attrs.len()));
    let mut rd = Rd(buf);
    while rd.more() {
        let (tag, wt) = rd.key()?;
        match tag {
            1 => time = rd.fixed64(wt)?,
            #[allow(clippy::cast_possible_truncation)] // int32 on the wire, as prost reads it
            2 => severity = rd.varint(wt)? as i32,
            3 => severity_text = rd.str(wt)?,
            5 => {
                let m = rd.bytes(wt)?;
                if body.is_some() {
                    // Two AnyValues merge field by field; leave that to prost.
                    return Err(Fail::Fallback);
                }
                body = Some(owned(any_value::<true>(m, limits, 0)?, limits));
            }
            6 => push_record_attr(rd.bytes(wt)?, limits, &mut attrs, last, raw)?,
            7 => rd.ignore(wt, WireType::Varint, tag)?,
            8 => rd.ignore(wt, WireType::ThirtyTwoBit, tag)?,
            9 => trace_id = rd.bytes(wt)?,
            10 => span_id = rd.bytes(wt)?,
            11 => observed_time = rd.fixed64(wt)?,
            12 => event_name = rd.str(wt)?,
            _ => skip(&mut rd, wt, tag)?,
        }
    }
    // A record need not belong to a trace: empty (or all-zero) ids mean none.
    let trace_id = match <[u8; 16]>::try_from(trace_id) {
        Ok(id) => u128::from_be_bytes(id),
        Err(_) if trace_id.is_empty() => 0,
        Err(_) => return Ok(Err("trace_id must be empty or 16 bytes")),
    };
    let span_id = match <[u8; 8]>::try_from(span_id) {
        Ok(id) => u64::from_be_bytes(id),
        Err(_) if span_id.is_empty() => 0,
        Err(_) => return Ok(Err("span_id must be empty or 8 bytes")),
    };
    Ok(Ok(NewLogRecord {
        time,
        observed_time,
        severity: u8::try_from(severity.clamp(0, 24)).unwrap_or(0),
        severity_text: limited(severity_text, 64),
        body: body.unwrap_or(Value::Empty),
        attrs,
        trace_id,
        span_id,
        event_name: limited(event_name, limits.max_attr_value_len),
    }))
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{
        AnyValue, InstrumentationScope, KeyValue, any_value,
    };
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::select;
    use prost::Message as _;
    use prost::encoding::{WireType, encode_key, encode_varint};

    use super::super::tests::{any_value, field, id, key_values, limits, text};
    use super::*;

    /// What the prost path gives, as a comparable string (Debug: NaN equals NaN), or that it
    /// refused the bytes.
    fn via_prost(buf: &[u8], limits: &Limits) -> Result<String, ()> {
        let req = ExportLogsServiceRequest::decode(buf).map_err(|_| ())?;
        Ok(format!("{:?}", convert::log_request(req, limits)))
    }

    fn direct(buf: &[u8], limits: &Limits) -> Result<String, ()> {
        log_request(buf, limits)
            .map(|r| format!("{r:?}"))
            .map_err(|_| ())
    }

    /// Both paths agree (on the batch, or on refusing the bytes); the direct path's answer.
    fn same(buf: &[u8], limits: &Limits) -> Result<String, ()> {
        let ours = direct(buf, limits);
        assert_eq!(ours, via_prost(buf, limits), "bytes {buf:02x?}");
        ours
    }

    /// Text long enough to pass the limits (64 bytes for severity text), multi-byte chars
    /// included so that cuts land inside them.
    fn long_text() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => text(),
            1 => vec(select(vec!['a', 'é', '€', '𝄞']), 0..90).prop_map(String::from_iter),
        ]
    }

    fn record() -> impl Strategy<Value = LogRecord> {
        (
            (
                any::<u64>(),
                any::<u64>(),
                prop_oneof![0..25i32, any::<i32>()],
            ),
            (long_text(), long_text()),
            proptest::option::of(any_value()),
            key_values(7),
            (any::<u32>(), any::<u32>()),
            (
                prop_oneof![Just(Vec::new()), id(16)],
                prop_oneof![Just(Vec::new()), id(8)],
            ),
        )
            .prop_map(
                |(
                    (time, observed, severity),
                    (severity_text, event_name),
                    body,
                    attributes,
                    (dropped, flags),
                    (trace_id, span_id),
                )| LogRecord {
                    time_unix_nano: time,
                    observed_time_unix_nano: observed,
                    severity_number: severity,
                    severity_text,
                    body,
                    attributes,
                    dropped_attributes_count: dropped,
                    flags,
                    trace_id,
                    span_id,
                    event_name,
                },
            )
    }

    fn request() -> impl Strategy<Value = ExportLogsServiceRequest> {
        let scope_logs = (
            proptest::option::of((text(), text(), key_values(2))),
            vec(record(), 0..5),
            text(),
        )
            .prop_map(|(scope, log_records, schema_url)| ScopeLogs {
                scope: scope.map(|(name, version, attributes)| InstrumentationScope {
                    name,
                    version,
                    attributes,
                    dropped_attributes_count: 2,
                }),
                log_records,
                schema_url,
            });
        let resource_logs = (proptest::option::of(key_values(5)), vec(scope_logs, 0..3)).prop_map(
            |(resource, scope_logs)| ResourceLogs {
                resource: resource.map(|attributes| Resource {
                    attributes,
                    dropped_attributes_count: 1,
                    ..Default::default()
                }),
                scope_logs,
                schema_url: String::new(),
            },
        );
        vec(resource_logs, 0..3)
            .prop_map(|resource_logs| ExportLogsServiceRequest { resource_logs })
    }

    /// The messages of a logs request, for [`with_unknown_fields`].
    #[derive(Clone, Copy)]
    enum Msg {
        Request,
        ResourceLogs,
        Resource,
        ScopeLogs,
        Scope,
        Record,
        KeyValue,
        AnyValue,
        List,
        KvList,
    }

    /// Which length-delimited fields of a message are messages, and of what type.
    fn child(m: Msg, tag: u32) -> Option<Msg> {
        use Msg::*;
        Some(match (m, tag) {
            (Request, 1) => ResourceLogs,
            (ResourceLogs, 1) => Resource,
            (ResourceLogs, 2) => ScopeLogs,
            (Resource | KvList, 1) | (Scope, 3) | (Record, 6) => KeyValue,
            (ScopeLogs, 1) => Scope,
            (ScopeLogs, 2) => Record,
            (Record, 5) | (KeyValue, 2) | (List, 1) => AnyValue,
            (AnyValue, 5) => List,
            (AnyValue, 6) => KvList,
            _ => return None,
        })
    }

    /// One unknown field (a tag no OTLP logs message uses) of each wire type but groups.
    fn unknown(kind: u8, n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        let tag = 40 + u32::from(kind % 8) * 100;
        match kind % 4 {
            0 => {
                encode_key(tag, WireType::Varint, &mut out);
                encode_varint(n, &mut out);
            }
            1 => {
                encode_key(tag, WireType::SixtyFourBit, &mut out);
                out.extend(n.to_le_bytes());
            }
            2 => {
                encode_key(tag, WireType::ThirtyTwoBit, &mut out);
                out.extend((n as u32).to_le_bytes());
            }
            _ => out = field(tag, &n.to_le_bytes()[..(n % 9) as usize]),
        }
        out
    }

    /// A valid encoding re-written with unknown fields before or after every message's own
    /// fields (taken in turn from `extra`; a zero-length `extra` leaves the bytes as they are).
    fn with_unknown_fields(buf: &[u8], m: Msg, extra: &[(u8, u64)], next: &mut usize) -> Vec<u8> {
        let before = *next % 2 == 0;
        let one = match extra.get(*next % extra.len().max(1)) {
            Some(&(kind, n)) => {
                *next += 1;
                unknown(kind, n)
            }
            None => Vec::new(),
        };
        let (mut out, after) = if before {
            (one, Vec::new())
        } else {
            (Vec::new(), one)
        };
        let mut rd = Rd(buf);
        while rd.more() {
            let start = rd.0;
            let Ok((tag, wt)) = rd.key() else {
                unreachable!()
            };
            match (wt, child(m, tag)) {
                (WireType::LengthDelimited, Some(c)) => {
                    let Ok(body) = rd.bytes(wt) else {
                        unreachable!()
                    };
                    out.extend(field(tag, &with_unknown_fields(body, c, extra, next)));
                }
                _ => {
                    let Ok(()) = rd.skip(wt, tag) else {
                        unreachable!()
                    };
                    out.extend(&start[..start.len() - rd.0.len()]);
                }
            }
        }
        out.extend(after);
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn same_as_prost_then_convert(req in request(), limits in limits()) {
            let buf = req.encode_to_vec();
            let want = via_prost(&buf, &limits);
            prop_assert!(want.is_ok());
            prop_assert_eq!(direct(&buf, &limits), want);
        }

        /// Unknown fields of every wire type, in every message, are skipped as prost skips them.
        #[test]
        fn unknown_fields_anywhere(
            req in request(),
            extra in vec((any::<u8>(), any::<u64>()), 1..8),
            limits in limits(),
        ) {
            let buf = with_unknown_fields(&req.encode_to_vec(), Msg::Request, &extra, &mut 0);
            let want = via_prost(&buf, &limits);
            prop_assert!(want.is_ok());
            prop_assert_eq!(direct(&buf, &limits), want);
        }

        /// Concatenated encodings merge: resources and scopes merge, repeated fields append,
        /// scalars and strings are last-wins; a body given twice (merged by prost) too.
        #[test]
        fn merged_messages_as_prost_merges_them(
            a in request(), b in request(), r1 in record(), r2 in record(), limits in limits(),
        ) {
            let mut rl = Vec::new();
            for r in a.resource_logs.iter().chain(&b.resource_logs) {
                rl.extend(r.encode_to_vec());
            }
            let mut buf = field(1, &rl);
            let mut record = r1.encode_to_vec();
            record.extend(r2.encode_to_vec());
            buf.extend(field(1, &field(2, &field(2, &record))));
            prop_assert_eq!(direct(&buf, &limits), via_prost(&buf, &limits));
        }

        /// An attribute's value given twice (merged by prost, the fallback path here).
        #[test]
        fn attribute_value_given_twice(a in key_values(2), b in key_values(2), limits in limits()) {
            let mut kv = Vec::new();
            for x in a.iter().chain(&b) {
                kv.extend(x.encode_to_vec());
            }
            let buf = field(1, &field(2, &field(2, &field(6, &kv))));
            prop_assert_eq!(direct(&buf, &limits), via_prost(&buf, &limits));
        }

        /// Records of a scope whose attributes repeat, move, change and vanish from one record
        /// to the next (the decoder reuses the last kept record's attribute when the bytes are
        /// equal), some of them rejected in between.
        #[test]
        fn repeated_attributes_as_prost(
            pool in key_values(6),
            records in vec((vec(any::<prop::sample::Index>(), 0..6), any::<bool>()), 0..12),
            limits in limits(),
        ) {
            let log_records = records
                .into_iter()
                .map(|(picks, keep)| LogRecord {
                    attributes: if pool.is_empty() {
                        Vec::new()
                    } else {
                        picks.iter().map(|i| pool[i.index(pool.len())].clone()).collect()
                    },
                    span_id: if keep { vec![2; 8] } else { vec![2; 3] },
                    ..valid_record()
                })
                .collect();
            let req = ExportLogsServiceRequest {
                resource_logs: vec![ResourceLogs {
                    scope_logs: vec![ScopeLogs {
                        log_records,
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
            };
            let buf = req.encode_to_vec();
            let want = via_prost(&buf, &limits);
            prop_assert!(want.is_ok());
            prop_assert_eq!(direct(&buf, &limits), want);
        }

        /// Any bytes: never a panic, and refused by both paths or by neither.
        #[test]
        fn random_bytes_as_prost(buf in vec(any::<u8>(), 0..600), limits in limits()) {
            prop_assert_eq!(direct(&buf, &limits), via_prost(&buf, &limits));
        }

        /// Valid encodings with a few bytes changed, removed or inserted, and cut short: the
        /// same batch or the same refusal through both paths.
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
            prop_assert_eq!(direct(&buf, &limits), via_prost(&buf, &limits));
            for cut in [0, buf.len() / 3, buf.len() / 2, buf.len().saturating_sub(1)] {
                prop_assert_eq!(direct(&buf[..cut], &limits), via_prost(&buf[..cut], &limits));
            }
        }
    }

    fn valid_record() -> LogRecord {
        LogRecord {
            time_unix_nano: 1,
            severity_number: 9,
            severity_text: "INFO".into(),
            body: Some(AnyValue {
                value: Some(any_value::Value::StringValue("hello".into())),
            }),
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            ..Default::default()
        }
    }

    /// A request with one resource, one scope and the given record bytes.
    fn wrap_record(record: &[u8]) -> Vec<u8> {
        field(1, &field(2, &field(2, record)))
    }

    /// A record with one more field appended.
    fn record_with(extra: &[u8]) -> Vec<u8> {
        let mut r = valid_record().encode_to_vec();
        r.extend(extra);
        wrap_record(&r)
    }

    #[test]
    fn cut_short_is_an_error_through_both() {
        let limits = Limits::default();
        let good = record_with(&[]);
        assert!(same(&good, &limits).is_ok());
        for cut in 1..good.len() {
            assert!(same(&good[..cut], &limits).is_err(), "cut {cut}");
        }
        // A length far beyond the input: refused before anything is allocated from it.
        assert!(same(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f], &limits).is_err());
    }

    #[test]
    fn invalid_utf8_anywhere_is_an_error_through_both() {
        let limits = Limits {
            max_attrs: 1,
            ..Limits::default()
        };
        let bad = [0xff, 0xfe];
        let kv_bad_key = [field(1, &bad), field(2, &field(3, &[1]))].concat();
        let kv_bad_value = [field(1, b"k"), field(2, &field(1, &bad))].concat();
        let kv_ok = [field(1, b"k"), field(2, &field(1, b"v"))].concat();
        let nested_bad = field(2, &field(5, &field(1, &field(1, &bad))));
        let cases: Vec<Vec<u8>> = vec![
            record_with(&field(3, &bad)),          // severity text
            record_with(&field(12, &bad)),         // event name
            record_with(&field(6, &kv_bad_key)),   // attribute key
            record_with(&field(6, &kv_bad_value)), // attribute value
            record_with(&[field(6, &kv_ok), field(6, &kv_bad_value)].concat()), // past max_attrs
            record_with(&field(6, &[field(1, b"k"), nested_bad].concat())), // in an array
            wrap_record(&field(5, &field(1, &bad))), // body
            field(1, &field(2, &field(1, &field(1, &bad)))), // scope name
            field(1, &field(2, &field(1, &field(3, &kv_bad_key)))), // scope attribute
            field(1, &field(2, &field(3, &bad))),  // scope schema url
            field(1, &field(3, &bad)),             // resource schema url
            field(1, &field(1, &field(1, &kv_bad_value))), // resource attribute
            field(1, &field(1, &field(3, &field(3, &bad)))), // resource entity ref
        ];
        for (i, buf) in cases.iter().enumerate() {
            let err = log_request(buf, &limits).expect_err(&format!("case {i}"));
            assert!(err.to_string().contains("decode"), "{err}");
            assert!(same(buf, &limits).is_err(), "case {i}");
        }
    }

    #[test]
    fn wrong_wire_types_are_errors_through_both() {
        let limits = Limits::default();
        // Each known record field, given with every other wire type.
        for tag in 1..=12u32 {
            for wt in [0u8, 1, 2, 5] {
                let mut extra = Vec::new();
                encode_varint(u64::from(tag << 3 | u32::from(wt)), &mut extra);
                match wt {
                    0 => extra.push(1),
                    1 => extra.extend([0; 8]),
                    2 => extra.extend([1, b'a']),
                    _ => extra.extend([0; 4]),
                }
                let _ = same(&record_with(&extra), &limits);
            }
        }
    }

    #[test]
    fn scalars_and_ids_as_prost_reads_them() {
        let limits = Limits::default();
        let mut cases = Vec::new();
        // Severity: negative (a ten-byte varint), past 24, past i32.
        for n in [-1i64, 25, 1 << 33, i64::from(i32::MIN)] {
            let mut extra = vec![2 << 3];
            encode_varint(n as u64, &mut extra);
            cases.push(record_with(&extra));
        }
        // Ids: odd lengths, all zero, given twice (the last wins).
        for (tag, ids) in [
            (9u32, vec![vec![], vec![0; 16], vec![1; 15], vec![1; 17]]),
            (10, vec![vec![], vec![0; 8], vec![1; 7], vec![1; 9]]),
        ] {
            for id in &ids {
                cases.push(record_with(&field(tag, id)));
                cases.push(record_with(&[field(tag, &[3; 3]), field(tag, id)].concat()));
            }
        }
        // Strings at and past the limits.
        for n in [63, 64, 65, 200] {
            cases.push(record_with(&field(3, "é".repeat(n / 2).as_bytes())));
            cases.push(record_with(&field(3, "x".repeat(n).as_bytes())));
        }
        for buf in cases {
            assert!(same(&buf, &limits).is_ok());
        }
        let got = same(&record_with(&field(3, &[b'x'; 70])), &limits).unwrap();
        assert!(got.contains("…[6 more bytes]"), "{got}");
    }

    #[test]
    fn rejections_are_counted_and_the_first_reason_given() {
        let bad_trace = LogRecord {
            trace_id: vec![1; 3],
            ..valid_record()
        };
        let bad_span = LogRecord {
            span_id: vec![1; 3],
            ..valid_record()
        };
        let req = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    log_records: vec![valid_record(), bad_span, bad_trace, valid_record()],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let (batch, problem) = log_request(&req.encode_to_vec(), &Limits::default()).unwrap();
        assert_eq!(batch.record_count(), 2);
        assert_eq!(batch.rejected, 2);
        assert_eq!(
            problem,
            "2 log record(s) rejected: span_id must be empty or 8 bytes"
        );
        same(&req.encode_to_vec(), &Limits::default()).unwrap();
    }

    #[test]
    fn merges_and_groups_go_to_prost() {
        let limits = Limits::default();
        // A body given twice: two arrays merge (their items append), a string then an int is
        // the int, an int then an empty AnyValue stays the int.
        let arr = |v: &[u8]| field(5, &field(5, &field(1, v)));
        let int = |n: u8| field(5, &[3 << 3, n]);
        for extra in [
            [arr(&[3 << 3, 1]), arr(&[3 << 3, 2])].concat(),
            [field(5, &field(1, b"s")), int(7)].concat(),
            [int(7), field(5, &[])].concat(),
        ] {
            let r = [field(9, &[1; 16]), extra].concat();
            same(&wrap_record(&r), &limits).unwrap();
        }
        // An unknown group in a record, in an AnyValue, and one never closed.
        let mut group = Vec::new();
        encode_key(50, WireType::StartGroup, &mut group);
        group.extend([8, 1]);
        encode_key(50, WireType::EndGroup, &mut group);
        same(&record_with(&group), &limits).unwrap();
        same(&wrap_record(&field(5, &group)), &limits).unwrap();
        assert!(same(&record_with(&group[..4]), &limits).is_err());
        // A scope given twice: name and version last-wins, each kept unless given again.
        let scope1 = [field(1, b"a"), field(2, b"1")].concat();
        let scope2 = field(1, b"b");
        let buf = field(
            1,
            &field(
                2,
                &[field(1, &scope1), field(1, &scope2), field(2, &[])].concat(),
            ),
        );
        let got = same(&buf, &limits).unwrap();
        assert!(got.contains("name: \"b\", version: \"1\""), "{got}");
    }

    #[test]
    fn deep_nesting_as_prost() {
        let limits = Limits::default();
        let nest = |levels: usize| {
            let mut v = [3 << 3, 1].to_vec();
            for _ in 0..levels {
                v = field(5, &field(1, &v));
            }
            v
        };
        // Past the marker's depth: the marker, through both paths.
        let got = same(&wrap_record(&field(5, &nest(12))), &limits).unwrap();
        assert!(got.contains("nested too deep"), "{got}");
        // Past prost's recursion limit: refused through both (the direct path hands it over).
        assert!(same(&wrap_record(&field(5, &nest(200))), &limits).is_err());
        // 10,000 deep: no stack overflow either way.
        assert!(same(&wrap_record(&field(5, &nest(10_000))), &limits).is_err());
    }

    #[test]
    fn loadgen_requests_as_prost() {
        let kv = |k: &str, v: any_value::Value| KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(v) }),
            ..Default::default()
        };
        let records = (0..20)
            .map(|i| LogRecord {
                attributes: vec![
                    kv("code.function", any_value::Value::StringValue("f".into())),
                    kv("http.response.status_code", any_value::Value::IntValue(200)),
                    kv("item.id", any_value::Value::IntValue(i)),
                ],
                ..valid_record()
            })
            .collect();
        let req = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![kv(
                        "service.name",
                        any_value::Value::StringValue("s".into()),
                    )],
                    ..Default::default()
                }),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: "scope".into(),
                        ..Default::default()
                    }),
                    log_records: records,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let (batch, problem) = log_request(&req.encode_to_vec(), &Limits::default()).unwrap();
        assert_eq!((batch.record_count(), problem.as_str()), (20, ""));
        same(&req.encode_to_vec(), &Limits::default()).unwrap();
    }
}
