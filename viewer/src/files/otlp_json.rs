//! OTLP JSON lines: one `Export{Trace,Metrics,Logs}ServiceRequest` per line, as the Collector's
//! `file` exporter and the OTLP file-exporter specification write them.
//!
//! Each line is first parsed straight into opentelemetry-proto's serde types (which already take
//! 64-bit integers as strings or numbers, enums as numbers, and hex ids in either case). Only
//! when that fails is the line parsed into a `serde_json::Value` and normalised for what those
//! types refuse, then parsed again: enums by name (`"SPAN_KIND_SERVER"`), snake-case field
//! names (`trace_id`, as protobuf's JSON mapping allows), ids in base64 (protobuf's standard
//! bytes mapping) or 64-bit trace ids (16 hex digits, padded), small integers and doubles as
//! strings. A line that still fails is reported with its number and skipped.
//!
//! An object spread over several lines (a pretty-printed request) is read whole: when a line
//! ends before its object does, the rest of the file is read as a stream of JSON values.

use std::io::BufRead;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use serde_json::{Map, Value};

use super::{FileError, Options, Sink};
use crate::ingest::{Payload, Signal};
use crate::receiver::{Limits, convert};

pub(super) fn read_lines(
    reader: &mut dyn BufRead,
    options: &Options,
    sink: &mut Sink<'_>,
) -> Result<(), FileError> {
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    // The first line alone: it may start a pretty-printed document.
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) => {
                sink.bad(
                    Some(line_no + 1),
                    format!("the file cannot be read on (cut short or corrupt?): {e}"),
                );
                return Ok(());
            }
        }
        line_no += 1;
        let line = buf.trim_ascii();
        if line.is_empty() {
            continue;
        }
        match parse(line, &options.limits) {
            Ok(Some((payload, problem))) => sink.payload(payload, Some(line_no), &problem),
            Ok(None) => {}
            Err(e) if e.incomplete => {
                // The first object goes on past its line: a pretty-printed document, or a
                // line cut short. Read on as a document; if its first value does not parse
                // either, the line was cut short: go on line by line after it.
                let mut text = buf.clone();
                if let Err(e) = reader.read_to_end(&mut text) {
                    sink.bad(
                        Some(line_no),
                        format!("the file cannot be read on (cut short or corrupt?): {e}"),
                    );
                }
                if read_document(&text, line_no, options, sink) {
                    return Ok(());
                }
                sink.bad(Some(line_no), e.message);
                return read_lines_from(&text[buf.len()..], line_no, options, sink);
            }
            Err(e) => sink.bad(Some(line_no), e.message),
        }
        break;
    }
    read_batches(reader, line_no, options, sink);
    Ok(())
}

/// Lines read per batch at most, and bytes.
const BATCH_LINES: usize = 256;
const BATCH_BYTES: usize = 8 << 20;

/// The lines after the first, parsed in batches on every core; while a batch is parsed, the
/// one before it goes to the sink (the store) on this thread. Payloads keep the file's order.
fn read_batches(
    reader: &mut dyn BufRead,
    mut line_no: u64,
    options: &Options,
    sink: &mut Sink<'_>,
) {
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, 8);
    let mut parsed: Vec<(u64, Result<Converted, LineError>)> = Vec::new();
    loop {
        let mut lines: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut bytes = 0;
        let mut failed = None;
        while lines.len() < BATCH_LINES && bytes < BATCH_BYTES {
            let mut buf = Vec::new();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    line_no += 1;
                    bytes += n;
                    if !buf.trim_ascii().is_empty() {
                        lines.push((line_no, buf));
                    }
                }
                Err(e) => {
                    failed = Some((line_no + 1, e));
                    break;
                }
            }
        }
        let done = lines.is_empty();
        let previous = std::mem::take(&mut parsed);
        parsed = std::thread::scope(|scope| {
            let chunk = lines.len().div_ceil(workers).max(1);
            let handles: Vec<_> = lines
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|(n, l)| (*n, parse(l.trim_ascii(), &options.limits)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            emit(previous, sink);
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        });
        if let Some((n, e)) = failed {
            emit(std::mem::take(&mut parsed), sink);
            sink.bad(
                Some(n),
                format!("the file cannot be read on (cut short or corrupt?): {e}"),
            );
            return;
        }
        if done {
            return;
        }
    }
}

fn emit(parsed: Vec<(u64, Result<Converted, LineError>)>, sink: &mut Sink<'_>) {
    for (n, result) in parsed {
        match result {
            Ok(Some((payload, problem))) => sink.payload(payload, Some(n), &problem),
            Ok(None) => {}
            Err(e) => sink.bad(Some(n), e.message),
        }
    }
}

/// Line by line through the rest of a file already read, after line `line_no`.
fn read_lines_from(
    mut rest: &[u8],
    line_no: u64,
    options: &Options,
    sink: &mut Sink<'_>,
) -> Result<(), FileError> {
    let mut line_no = line_no;
    while !rest.is_empty() {
        let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
        let (raw, tail) = rest.split_at(end);
        rest = tail;
        line_no += 1;
        let line = raw.trim_ascii();
        if line.is_empty() {
            continue;
        }
        match parse(line, &options.limits) {
            Ok(Some((payload, problem))) => sink.payload(payload, Some(line_no), &problem),
            Ok(None) => {}
            Err(e) => sink.bad(Some(line_no), e.message),
        }
    }
    Ok(())
}

/// Reads a file whose objects span lines: `text` from line `line_no` on, as a stream of JSON
/// values. `false`, having loaded nothing, when the first value does not parse.
fn read_document(text: &[u8], line_no: u64, options: &Options, sink: &mut Sink<'_>) -> bool {
    let mut stream = serde_json::Deserializer::from_slice(text).into_iter::<Value>();
    let mut first = true;
    loop {
        let at = stream.byte_offset();
        // The line the next value starts on.
        let line = |offset: usize| {
            let after = text.get(offset..).unwrap_or_default();
            let start = offset + (after.len() - after.trim_ascii_start().len());
            line_no + memchr::memchr_iter(b'\n', &text[..start]).count() as u64
        };
        match stream.next() {
            None => return true,
            Some(Ok(value)) => match from_value(value, &options.limits) {
                Ok(Some((payload, problem))) => sink.payload(payload, Some(line(at)), &problem),
                Ok(None) => {}
                Err(message) => sink.bad(Some(line(at)), message),
            },
            Some(Err(_)) if first => return false,
            Some(Err(e)) => {
                // No way to find the next value after a syntax error: the rest is lost.
                let at_line = line_no + e.line() as u64 - 1;
                sink.bad(Some(at_line), format!("malformed JSON: {e}"));
                return true;
            }
        }
        first = false;
    }
}

/// Why a line did not load.
pub(super) struct LineError {
    pub message: String,
    /// The JSON ended before its value did.
    pub incomplete: bool,
}

impl LineError {
    fn new(message: String) -> Self {
        Self {
            message,
            incomplete: false,
        }
    }
}

type Converted = Option<(Payload, String)>;

/// One line: a payload and what of it was dropped, nothing (an empty request), or why not.
pub(super) fn parse(line: &[u8], limits: &Limits) -> Result<Converted, LineError> {
    let Some((signal, snake)) = signal_of(line) else {
        // No signal named: an empty object is an empty request; anything else is wrong.
        return match serde_json::from_slice::<Value>(line) {
            Ok(Value::Object(m)) if m.is_empty() => Ok(None),
            Ok(_) => Err(LineError::new(
                "not an OTLP export request: no resourceSpans, resourceMetrics or resourceLogs"
                    .to_owned(),
            )),
            Err(e) => Err(LineError {
                incomplete: e.is_eof(),
                message: format!("malformed JSON: {e}"),
            }),
        };
    };
    // Straight into the serde types; only a line that fails, or loads with items dropped
    // or none at all (serde passes over fields it does not know, such as snake-case names),
    // is normalised and parsed again, the better of the two taken.
    let direct = if snake {
        None
    } else {
        match typed(line, signal, limits) {
            Ok(Some(c)) if rejected(&c.0) == 0 => return Ok(Some(c)),
            other => Some(other),
        }
    };
    let mut value: Value = match serde_json::from_slice(line) {
        Ok(v) => v,
        Err(e) => {
            return Err(LineError {
                incomplete: e.is_eof(),
                message: format!("malformed JSON: {e}"),
            });
        }
    };
    normalise(&mut value);
    let normalised = from_value(value, limits);
    match (direct, normalised) {
        (Some(Ok(d)), Ok(n)) => Ok(better(d, n)),
        (Some(Ok(d)), Err(_)) => Ok(d),
        (_, Ok(n)) => Ok(n),
        (Some(Err(e)), Err(_)) => Err(LineError::new(format!(
            "not a valid OTLP/JSON {}: {e}",
            what(signal)
        ))),
        (None, Err(e)) => Err(LineError::new(e)),
    }
}

/// Items dropped from a payload.
fn rejected(p: &Payload) -> u64 {
    match p {
        Payload::Spans(b) => b.rejected,
        Payload::Logs(b) => b.rejected,
        Payload::Metrics(b) => b.rejected,
    }
}

/// Of two readings of a line, the one with more items, or as many and fewer dropped.
fn better(a: Converted, b: Converted) -> Converted {
    let score = |c: &Converted| {
        c.as_ref()
            .map_or((0, 0), |(p, _)| (p.items(), u64::MAX - rejected(p)))
    };
    if score(&b) > score(&a) { b } else { a }
}

/// A line parsed straight into the request's serde type and converted.
fn typed(line: &[u8], signal: Signal, limits: &Limits) -> Result<Converted, serde_json::Error> {
    Ok(match signal {
        Signal::Traces => {
            let req: ExportTraceServiceRequest = serde_json::from_slice(line)?;
            let (b, problem) = convert::trace_request(req, limits);
            non_empty(Payload::Spans(b), problem)
        }
        Signal::Metrics => {
            let req: ExportMetricsServiceRequest = serde_json::from_slice(line)?;
            let (b, problem) = convert::metric_request(req, limits);
            non_empty(Payload::Metrics(b), problem)
        }
        Signal::Logs => {
            let req: ExportLogsServiceRequest = serde_json::from_slice(line)?;
            let (b, problem) = convert::log_request(req, limits);
            non_empty(Payload::Logs(b), problem)
        }
    })
}

/// A parsed JSON value (a request of a multi-line document), as [`parse`] does a line.
fn from_value(mut value: Value, limits: &Limits) -> Result<Converted, String> {
    normalise(&mut value);
    let Value::Object(map) = &value else {
        return Err("not an OTLP export request: not a JSON object".to_owned());
    };
    let signal = if map.contains_key("resourceSpans") {
        Signal::Traces
    } else if map.contains_key("resourceMetrics") {
        Signal::Metrics
    } else if map.contains_key("resourceLogs") {
        Signal::Logs
    } else if map.is_empty() {
        return Ok(None);
    } else {
        return Err(
            "not an OTLP export request: no resourceSpans, resourceMetrics or resourceLogs"
                .to_owned(),
        );
    };
    let invalid = |e: serde_json::Error| format!("not a valid OTLP/JSON {}: {e}", what(signal));
    Ok(match signal {
        Signal::Traces => {
            let req = serde_json::from_value(value).map_err(invalid)?;
            let (b, problem) = convert::trace_request(req, limits);
            non_empty(Payload::Spans(b), problem)
        }
        Signal::Metrics => {
            let req = serde_json::from_value(value).map_err(invalid)?;
            let (b, problem) = convert::metric_request(req, limits);
            non_empty(Payload::Metrics(b), problem)
        }
        Signal::Logs => {
            let req = serde_json::from_value(value).map_err(invalid)?;
            let (b, problem) = convert::log_request(req, limits);
            non_empty(Payload::Logs(b), problem)
        }
    })
}

fn what(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "trace export request",
        Signal::Metrics => "metrics export request",
        Signal::Logs => "logs export request",
    }
}

/// A payload worth handing on: one with items, or with items dropped (to be counted).
fn non_empty(payload: Payload, problem: String) -> Converted {
    let rejected = match &payload {
        Payload::Spans(b) => b.rejected,
        Payload::Logs(b) => b.rejected,
        Payload::Metrics(b) => b.rejected,
    };
    (payload.items() > 0 || rejected > 0).then_some((payload, problem))
}

/// The signal of a request: the first of its `resource…` keys (`"resource…"` cannot occur in
/// a string value unescaped).
fn signal_of(line: &[u8]) -> Option<(Signal, bool)> {
    const KEYS: [(&[u8], Signal); 6] = [
        (b"\"resourceSpans\"", Signal::Traces),
        (b"\"resourceMetrics\"", Signal::Metrics),
        (b"\"resourceLogs\"", Signal::Logs),
        (b"\"resource_spans\"", Signal::Traces),
        (b"\"resource_metrics\"", Signal::Metrics),
        (b"\"resource_logs\"", Signal::Logs),
    ];
    // Almost always the first key: look there before searching the line.
    let head = &line[..line.len().min(64)];
    let found = |hay: &[u8]| {
        KEYS.iter()
            .filter_map(|(k, s)| {
                memchr::memmem::find(hay, k).map(|at| (at, (*s, k.contains(&b'_'))))
            })
            .min_by_key(|(at, _)| *at)
            .map(|(_, found)| found)
    };
    found(head).or_else(|| found(line))
}

/// Rewrites what opentelemetry-proto's serde types refuse into what they take (see the
/// module's doc).
pub(super) fn normalise(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let old = std::mem::take(map);
            let mut new = Map::with_capacity(old.len());
            for (k, mut val) in old {
                let key = if k.contains('_') { camel(&k) } else { k };
                fix_field(&key, &mut val);
                normalise(&mut val);
                if !val.is_null() || !drops_null(&key) {
                    new.insert(key, val);
                }
            }
            *map = new;
        }
        Value::Array(items) => items.iter_mut().for_each(normalise),
        _ => {}
    }
}

/// Fields whose null (left by a NaN we could not carry) is better left out.
fn drops_null(key: &str) -> bool {
    matches!(
        key,
        "sum" | "min" | "max" | "asDouble" | "doubleValue" | "zeroThreshold"
    )
}

fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn fix_field(key: &str, val: &mut Value) {
    match key {
        "traceId" => fix_id(val, 16),
        "spanId" | "parentSpanId" => fix_id(val, 8),
        "kind" | "code" | "severityNumber" | "aggregationTemporality" => {
            if let Value::String(s) = val
                && let Some(n) = enum_number(key, s)
            {
                *val = Value::from(n);
            }
        }
        "droppedAttributesCount"
        | "droppedEventsCount"
        | "droppedLinksCount"
        | "flags"
        | "scale"
        | "offset" => {
            if let Value::String(s) = val
                && let Ok(n) = s.trim().parse::<i64>()
            {
                *val = Value::from(n);
            }
        }
        "asDouble" | "doubleValue" | "sum" | "min" | "max" | "zeroThreshold" | "quantile" => {
            fix_double(val);
        }
        "explicitBounds" => {
            if let Value::Array(items) = val {
                items.iter_mut().for_each(fix_double);
            }
        }
        "isMonotonic" => {
            if let Value::String(s) = val {
                *val = Value::Bool(s.eq_ignore_ascii_case("true"));
            }
        }
        _ => {}
    }
}

/// A double given as a string: its number; NaN or an infinity, which a JSON number cannot be,
/// becomes null (and the field is left out).
fn fix_double(val: &mut Value) {
    if let Value::String(s) = val {
        *val = s
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number);
    }
}

/// An id as lower-case hex of `bytes` bytes, from upper-case hex, shorter hex (a 64-bit trace
/// id, or leading zeros left out) or base64.
fn fix_id(val: &mut Value, bytes: usize) {
    let Value::String(s) = val else { return };
    if s.is_empty() {
        return;
    }
    let hex_len = bytes * 2;
    if s.bytes().all(|b| b.is_ascii_hexdigit()) {
        if s.len() <= hex_len {
            let mut out = "0".repeat(hex_len - s.len());
            out.push_str(&s.to_ascii_lowercase());
            *s = out;
        }
    } else if let Some(raw) = base64(s)
        && raw.len() == bytes
    {
        *s = raw.iter().map(|b| format!("{b:02x}")).collect();
    }
}

/// Standard or URL-safe base64, padded or not.
pub(super) fn base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).unwrap_or_default());
        }
    }
    Some(out)
}

/// An enum given by name (`SPAN_KIND_SERVER`, `server`) or as a number in a string.
fn enum_number(key: &str, name: &str) -> Option<i64> {
    let name = name.trim();
    if let Ok(n) = name.parse::<i64>() {
        return Some(n);
    }
    let upper = name.to_ascii_uppercase();
    let prefix = match key {
        "kind" => "SPAN_KIND_",
        "code" => "STATUS_CODE_",
        "severityNumber" => "SEVERITY_NUMBER_",
        _ => "AGGREGATION_TEMPORALITY_",
    };
    let bare = upper.strip_prefix(prefix).unwrap_or(&upper);
    let n = match (key, bare) {
        (_, "UNSPECIFIED" | "UNSET") => 0,
        ("kind", "INTERNAL") | ("code", "OK") | ("aggregationTemporality", "DELTA") => 1,
        ("kind", "SERVER") | ("code", "ERROR") | ("aggregationTemporality", "CUMULATIVE") => 2,
        ("kind", "CLIENT") => 3,
        ("kind", "PRODUCER") => 4,
        ("kind", "CONSUMER") => 5,
        ("severityNumber", level) => {
            let digits = level.trim_start_matches(|c: char| c.is_ascii_alphabetic());
            let base = match &level[..level.len() - digits.len()] {
                "TRACE" => 1,
                "DEBUG" => 5,
                "INFO" => 9,
                "WARN" => 13,
                "ERROR" => 17,
                "FATAL" => 21,
                _ => return None,
            };
            let step = match digits {
                "" => 0,
                d => d.parse::<i64>().ok().filter(|n| (2..=4).contains(n))? - 1,
            };
            base + step
        }
        _ => return None,
    };
    Some(n)
}
