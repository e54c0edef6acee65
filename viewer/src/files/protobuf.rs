//! Length-prefixed OTLP protobuf, as the Collector's `file` exporter writes it with
//! `format: proto`: each record a 4-byte big-endian length, then an `Export*ServiceRequest`.
//! (With `compression: zstd` the legacy exporter compresses each record on its own, JSON ones
//! too: a record that is a zstd frame is decompressed, and one that is then JSON read as an
//! OTLP JSON line.)
//!
//! **Which signal a record carries.** Nothing in a record says so: the three requests are
//! alike down to the third level (`resource_*` at field 1, `scope_*` at field 2 of it, the
//! items at field 2 of that). So the items themselves are looked at, the first 32 of them:
//! a span, a metric and a log record use different wire types at the same field numbers
//! (field 1 is 16 bytes of trace id in a span, a string in a metric, a fixed64 time in a log
//! record; field 7 a fixed64 in a span, a message in a metric; …). A signal whose wire types
//! any item contradicts is out; of those left, the one with the most positive evidence (a
//! 16-byte field 1 and an 8-byte field 2 for spans, fixed64 times for spans and log records,
//! a data message for metrics) wins. A record the structure does not settle (an empty
//! request, or one too odd to tell) takes the signal [`super::Options::signal`] forces, else
//! the one the file name names (`traces`, `metrics`, `logs`), else traces; a record that then
//! does not decode as that signal is tried as the others. `Options::signal`, when set, is
//! taken for every record without looking.

use std::io::{BufRead, Read};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use prost::Message as _;

use super::open::ZSTD_MAGIC;
use super::{FileError, Options, Sink, otlp_json};
use crate::ingest::{Payload, Signal};
use crate::receiver::{Limits, convert, decode};

/// Longest record taken: past this a length is taken for garbage, not a record.
const MAX_RECORD: u64 = 1 << 30;

/// Whether a file's first bytes look like a length-prefixed OTLP record.
pub(super) fn plausible(head: &[u8]) -> bool {
    let Some((len, rest)) = head.split_first_chunk::<4>() else {
        return false;
    };
    let n = u64::from(u32::from_be_bytes(*len));
    if n == 0 {
        // An empty request; what follows must look right too.
        return rest.is_empty() || plausible(rest);
    }
    if n > MAX_RECORD {
        return false;
    }
    if rest.starts_with(ZSTD_MAGIC) {
        return true;
    }
    // Field 1 (resource_*), length-delimited, fitting in the record.
    let Some((&0x0a, mut after)) = rest.split_first() else {
        return false;
    };
    let before = after.len();
    match prost::encoding::decode_varint(&mut after) {
        Ok(len) => len + 1 + (before - after.len()) as u64 <= n,
        Err(_) => false,
    }
}

pub(super) fn read_records(
    reader: &mut dyn BufRead,
    options: &Options,
    name_hint: Option<Signal>,
    sink: &mut Sink<'_>,
) -> Result<(), FileError> {
    let mut buf = Vec::new();
    let mut record = 0u64;
    let cut =
        |e: &std::io::Error| format!("the file cannot be read on (cut short or corrupt?): {e}");
    loop {
        record += 1;
        let mut len = [0u8; 4];
        let got = match read_full(reader, &mut len) {
            Ok(n) => n,
            Err(e) => {
                sink.bad(Some(record), cut(&e));
                return Ok(());
            }
        };
        if got == 0 {
            return Ok(());
        }
        if got < len.len() {
            sink.bad(
                Some(record),
                format!("record cut short: the file ends {got} bytes into its 4-byte length"),
            );
            return Ok(());
        }
        let n = u64::from(u32::from_be_bytes(len));
        if n > MAX_RECORD {
            sink.bad(
                Some(record),
                format!(
                    "record length {n} is over 1 GiB: not a record boundary; the rest of the \
                     file is skipped"
                ),
            );
            return Ok(());
        }
        buf.clear();
        // Grows as bytes come, so a wrong length at the end allocates no more than is there.
        if let Err(e) = reader.take(n).read_to_end(&mut buf) {
            sink.bad(Some(record), cut(&e));
            return Ok(());
        }
        if (buf.len() as u64) < n {
            sink.bad(
                Some(record),
                format!(
                    "record cut short: {} of its {n} bytes (the file ends early)",
                    buf.len()
                ),
            );
            return Ok(());
        }
        match decode_record(&buf, &options.limits, options.signal, name_hint, true) {
            Ok(Some((payload, problem))) => sink.payload(payload, Some(record), &problem),
            Ok(None) => {}
            Err(message) => sink.bad(Some(record), message),
        }
    }
}

/// Reads until `buf` is full or the end; how many bytes came.
fn read_full(reader: &mut dyn BufRead, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

type Converted = Option<(Payload, String)>;

/// One record's bytes into a payload (see the module's doc for the signal).
pub(super) fn decode_record(
    buf: &[u8],
    limits: &Limits,
    forced: Option<Signal>,
    name_hint: Option<Signal>,
    may_be_compressed: bool,
) -> Result<Converted, String> {
    if may_be_compressed && buf.starts_with(ZSTD_MAGIC) {
        let mut inner = Vec::new();
        zstd::stream::read::Decoder::new(buf)
            .and_then(|d| d.take(MAX_RECORD * 4).read_to_end(&mut inner))
            .map_err(|e| format!("a zstd-compressed record does not decompress: {e}"))?;
        return decode_record(&inner, limits, forced, name_hint, false);
    }
    if buf.trim_ascii_start().starts_with(b"{") {
        return otlp_json::parse(buf.trim_ascii(), limits).map_err(|e| e.message);
    }
    if let Some(signal) = forced {
        return decode_as(signal, buf, limits);
    }
    let first = classify(buf).or(name_hint).unwrap_or(Signal::Traces);
    let first_err = match decode_as(first, buf, limits) {
        Ok(done) => return Ok(done),
        Err(e) => e,
    };
    for other in [Signal::Traces, Signal::Logs, Signal::Metrics] {
        if other != first
            && let Ok(done) = decode_as(other, buf, limits)
        {
            return Ok(done);
        }
    }
    Err(first_err)
}

fn decode_as(signal: Signal, buf: &[u8], limits: &Limits) -> Result<Converted, String> {
    let (payload, problem) = match signal {
        Signal::Traces => {
            let (b, problem) = decode::trace_request(buf, limits).map_err(|e| e.to_string())?;
            (Payload::Spans(b), problem)
        }
        Signal::Logs => {
            let req = ExportLogsServiceRequest::decode(buf)
                .map_err(|e| format!("failed to decode OTLP protobuf logs: {e}"))?;
            let (b, problem) = convert::log_request(req, limits);
            (Payload::Logs(b), problem)
        }
        Signal::Metrics => {
            let req = ExportMetricsServiceRequest::decode(buf)
                .map_err(|e| format!("failed to decode OTLP protobuf metrics: {e}"))?;
            let (b, problem) = convert::metric_request(req, limits);
            (Payload::Metrics(b), problem)
        }
    };
    let rejected = match &payload {
        Payload::Spans(b) => b.rejected,
        Payload::Logs(b) => b.rejected,
        Payload::Metrics(b) => b.rejected,
    };
    Ok((payload.items() > 0 || rejected > 0).then_some((payload, problem)))
}

/// Protobuf wire types, as numbers.
const VARINT: u8 = 0;
const I64: u8 = 1;
const LEN: u8 = 2;
const I32: u8 = 5;

/// One field of a message: its number, wire type and (for length-delimited ones) bytes.
struct Field<'a> {
    number: u64,
    wire: u8,
    bytes: &'a [u8],
}

/// The fields of a message, until the end or the first malformed one (after which `rest` is
/// not empty).
struct Fields<'a> {
    rest: &'a [u8],
}

fn fields(buf: &[u8]) -> Fields<'_> {
    Fields { rest: buf }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Field<'a>;

    fn next(&mut self) -> Option<Field<'a>> {
        let mut buf = self.rest;
        if buf.is_empty() {
            return None;
        }
        let key = prost::encoding::decode_varint(&mut buf).ok()?;
        let wire = u8::try_from(key & 7).ok()?;
        let number = key >> 3;
        let bytes = match wire {
            VARINT => {
                prost::encoding::decode_varint(&mut buf).ok()?;
                &[][..]
            }
            I64 => {
                buf = buf.get(8..)?;
                &[][..]
            }
            I32 => {
                buf = buf.get(4..)?;
                &[][..]
            }
            LEN => {
                let len = usize::try_from(prost::encoding::decode_varint(&mut buf).ok()?).ok()?;
                let (head, rest) = buf.split_at_checked(len)?;
                buf = rest;
                head
            }
            _ => return None,
        };
        self.rest = buf;
        Some(Field {
            number,
            wire,
            bytes,
        })
    }
}

/// The wire type each signal's item (span, metric, log record) has at a field number.
fn expected(signal: Signal, number: u64) -> Option<u8> {
    match signal {
        Signal::Traces => match number {
            1..=5 | 9 | 11 | 13 | 15 => Some(LEN),
            6 | 10 | 12 | 14 => Some(VARINT),
            7 | 8 => Some(I64),
            16 => Some(I32),
            _ => None,
        },
        Signal::Metrics => match number {
            1..=3 | 5 | 7 | 9..=12 => Some(LEN),
            _ => None,
        },
        Signal::Logs => match number {
            1 | 11 => Some(I64),
            2 | 7 => Some(VARINT),
            3 | 5 | 6 | 9 | 10 | 12 => Some(LEN),
            8 => Some(I32),
            _ => None,
        },
    }
}

const SIGNALS: [Signal; 3] = [Signal::Traces, Signal::Metrics, Signal::Logs];

/// The signal a request's structure shows, if it shows one (see the module's doc).
pub(super) fn classify(req: &[u8]) -> Option<Signal> {
    let mut possible = [true; 3];
    let mut evidence = [0u32; 3];
    let items = fields(req)
        .filter(|f| f.number == 1 && f.wire == LEN)
        .flat_map(|resource| fields(resource.bytes))
        .filter(|f| f.number == 2 && f.wire == LEN)
        .flat_map(|scope| fields(scope.bytes))
        .filter(|f| f.number == 2 && f.wire == LEN)
        .take(32);
    for item in items {
        for f in fields(item.bytes) {
            for (i, signal) in SIGNALS.iter().enumerate() {
                if expected(*signal, f.number).is_some_and(|w| w != f.wire) {
                    possible[i] = false;
                }
            }
            match (f.number, f.wire) {
                (1, LEN) if f.bytes.len() == 16 => evidence[0] += 2,
                (2, LEN) if f.bytes.len() == 8 => evidence[0] += 1,
                (7 | 8, I64) => evidence[0] += 3,
                (5 | 7 | 9 | 10 | 11, LEN) if metric_data(f.bytes) => evidence[1] += 3,
                (1 | 11, I64) => evidence[2] += 3,
                (2, VARINT) => evidence[2] += 1,
                _ => {}
            }
        }
    }
    let best = (0..3)
        .filter(|&i| possible[i] && evidence[i] > 0)
        .max_by_key(|&i| evidence[i])?;
    // A tie is no answer.
    let tied = (0..3)
        .filter(|&i| possible[i] && evidence[i] == evidence[best])
        .count();
    (tied == 1).then_some(SIGNALS[best])
}

/// Whether bytes read as a metric's data (gauge, sum, histogram, …): data points at field 1,
/// temporality and monotonicity as varints, nothing else.
fn metric_data(bytes: &[u8]) -> bool {
    let mut it = fields(bytes);
    let mut points = false;
    for f in it.by_ref() {
        match (f.number, f.wire) {
            (1, LEN) => points = true,
            (2 | 3, VARINT) => {}
            _ => return false,
        }
    }
    // All of it read as fields.
    points && it.rest.is_empty()
}
