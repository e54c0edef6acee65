//! Pre-built OTLP log export requests, as [`super::template`] builds trace requests: encoded
//! once, then copied with fresh trace ids and record numbers patched into the bytes.
//!
//! A request holds whole traces' worth of records: one record per span of each trace (the
//! shape's spans), each with that trace's id and its span's id, a time, a severity, a body of
//! 40-80 characters that names its record number (so no two bodies of a run are equal, as in
//! real logs, where bodies carry ids, durations, counts), and typical attributes.
//!
//! Like `template.rs`, this file depends only on `opentelemetry-proto`, `prost` and its sibling
//! `template` module, so the viewer's benchmarks include it (`#[path]`).

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message as _;

use super::template::{MARKER, Shape, find_trace_ids, resource_attributes};

/// Where a record's number goes in its body: 16 bytes, `~` and 15 digits of the record's index
/// in the request, replaced by 16 hex digits of its number in the run.
const BODY_MARK: u8 = b'~';

/// A message kind: severity number and text, the function that logs it, an HTTP status, and
/// the body (`{item}` and `{id}` filled in).
struct Kind {
    severity: i32,
    text: &'static str,
    function: &'static str,
    status: i64,
    body: &'static str,
}

const KINDS: [Kind; 10] = [
    Kind {
        severity: 9,
        text: "INFO",
        function: "handle_get_item",
        status: 200,
        body: "GET /api/v1/items/{item} answered 200 in 12 ms, request {id}",
    },
    Kind {
        severity: 5,
        text: "DEBUG",
        function: "load_item",
        status: 200,
        body: "cache miss for item:{item}, loaded from postgresql, request {id}",
    },
    Kind {
        severity: 9,
        text: "INFO",
        function: "query_items",
        status: 200,
        body: "SELECT items WHERE id = {item}: 1 row in 3 ms, request {id}",
    },
    Kind {
        severity: 9,
        text: "INFO",
        function: "reserve_stock",
        status: 201,
        body: "reserved 2 of item {item} for order, request {id}",
    },
    Kind {
        severity: 5,
        text: "DEBUG",
        function: "render",
        status: 200,
        body: "rendered item {item} page (4812 bytes), request {id}",
    },
    Kind {
        severity: 9,
        text: "INFO",
        function: "handle_get_item",
        status: 404,
        body: "GET /api/v1/items/{item} answered 404: no such item, request {id}",
    },
    Kind {
        severity: 9,
        text: "INFO",
        function: "publish",
        status: 200,
        body: "published item.viewed for {item} to queue events, request {id}",
    },
    Kind {
        severity: 13,
        text: "WARN",
        function: "call_inventory",
        status: 200,
        body: "inventory slow for item {item} (412 ms), retried once, request {id}",
    },
    Kind {
        severity: 9,
        text: "INFO",
        function: "handle_get_item",
        status: 200,
        body: "GET /api/v1/items/{item} answered 200 in 9 ms, request {id}",
    },
    Kind {
        severity: 17,
        text: "ERROR",
        function: "charge_card",
        status: 500,
        body: "payment for item {item} failed: connection reset, request {id}",
    },
];

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

/// `n` attributes of record number `k` of a request: typical ones first (function, namespace,
/// thread, status, item, duration), then numbered extras.
#[must_use]
pub fn attributes(n: usize, k: usize) -> Vec<KeyValue> {
    let kind = &KINDS[k % KINDS.len()];
    let int = |v: usize| any_value::Value::IntValue(i64::try_from(v).unwrap_or(i64::MAX));
    let s = |v: &str| any_value::Value::StringValue(v.to_owned());
    (0..n)
        .map(|i| match i {
            0 => kv("code.function", s(kind.function)),
            1 => kv("code.namespace", s("loadgen::shop")),
            2 => kv("thread.name", s("tokio-runtime-worker")),
            3 => kv(
                "http.response.status_code",
                any_value::Value::IntValue(kind.status),
            ),
            4 => kv("item.id", int(10_000 + k)),
            5 => kv("duration_ms", int(3 + k % 40)),
            _ => kv(&format!("loadgen.attr.{i}"), s(&format!("value-{i}"))),
        })
        .collect()
}

/// The body of record number `k` of a request, with `id` (16 characters) in it.
#[must_use]
pub fn body(k: usize, id: &str) -> String {
    KINDS[k % KINDS.len()]
        .body
        .replace("{item}", &(10_000 + k).to_string())
        .replace("{id}", id)
}

/// One request of `shape` (one record per span, `attributes` attributes each), with placeholder
/// trace ids and record numbers unless `trace_id` is given, in which case trace `k` gets
/// `trace_id + k` and record `i` the number `trace_id`'s low 64 bits times the records per
/// trace, plus `i`.
#[must_use]
pub fn request(
    shape: &Shape,
    start_unix_nano: u64,
    trace_id: Option<u128>,
) -> ExportLogsServiceRequest {
    let mut records = Vec::with_capacity(shape.spans_per_request());
    for k in 0..shape.traces_per_request {
        let tid = match trace_id {
            Some(base) => (base + k as u128).to_be_bytes(),
            None => {
                let mut id = [0u8; 16];
                id[..8].copy_from_slice(&MARKER);
                id[8..].copy_from_slice(&(k as u64).to_be_bytes());
                id
            }
        };
        for j in 1..=shape.spans_per_trace() as u64 {
            let i = records.len();
            let id = match trace_id {
                Some(base) => record_id(base, shape, i),
                None => format!("{}{i:015}", char::from(BODY_MARK)),
            };
            let kind = &KINDS[i % KINDS.len()];
            let time = start_unix_nano + j * 1_000 + k as u64;
            records.push(LogRecord {
                time_unix_nano: time,
                observed_time_unix_nano: time + 50_000,
                severity_number: kind.severity,
                severity_text: kind.text.to_owned(),
                body: Some(AnyValue {
                    value: Some(any_value::Value::StringValue(body(i, &id))),
                }),
                attributes: attributes(shape.attributes, i),
                flags: 1,
                trace_id: tid.to_vec(),
                span_id: j.to_be_bytes().to_vec(),
                ..LogRecord::default()
            });
        }
    }
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: resource_attributes(),
                ..Resource::default()
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: "loadgen".to_owned(),
                    version: "0.1.0".to_owned(),
                    ..InstrumentationScope::default()
                }),
                log_records: records,
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    }
}

/// Record `i`'s number in the run, as 16 hex digits, for a request whose first trace is `base`.
fn record_id(base: u128, shape: &Shape, i: usize) -> String {
    #[allow(clippy::cast_possible_truncation)]
    let first = base as u64;
    format!(
        "{:016x}",
        first
            .wrapping_mul(shape.spans_per_trace() as u64)
            .wrapping_add(i as u64)
    )
}

/// An encoded log request and where its trace ids and record numbers sit.
#[derive(Clone, Debug)]
pub struct LogTemplate {
    pub shape: Shape,
    bytes: Vec<u8>,
    /// Byte offsets of trace ids, with the trace's number in the request.
    ids: Vec<(usize, u64)>,
    /// Byte offsets of record numbers in bodies, with the record's index in the request.
    numbers: Vec<(usize, usize)>,
}

impl LogTemplate {
    #[must_use]
    pub fn new(shape: Shape, start_unix_nano: u64) -> Self {
        let bytes = request(&shape, start_unix_nano, None).encode_to_vec();
        let ids = find_trace_ids(&bytes);
        let mut numbers = Vec::with_capacity(shape.spans_per_request());
        let mut i = 0;
        while i + 16 <= bytes.len() {
            let digits = &bytes[i + 1..i + 16];
            if bytes[i] == BODY_MARK && digits.iter().all(u8::is_ascii_digit) {
                let n = digits
                    .iter()
                    .fold(0usize, |n, d| n * 10 + usize::from(d - b'0'));
                numbers.push((i, n));
                i += 16;
            } else {
                i += 1;
            }
        }
        debug_assert_eq!(ids.len(), shape.spans_per_request());
        debug_assert_eq!(numbers.len(), shape.spans_per_request());
        Self {
            shape,
            bytes,
            ids,
            numbers,
        }
    }

    /// Encoded size of one request.
    #[must_use]
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Writes one request into `out` (replacing its content): trace `k` gets id `base + k`,
    /// record `i` the number `base`'s low 64 bits times the records per trace, plus `i`.
    pub fn render(&self, base: u128, out: &mut Vec<u8>) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out.clear();
        out.extend_from_slice(&self.bytes);
        for &(at, k) in &self.ids {
            out[at..at + 16].copy_from_slice(&(base + u128::from(k)).to_be_bytes());
        }
        #[allow(clippy::cast_possible_truncation)]
        let first = (base as u64).wrapping_mul(self.shape.spans_per_trace() as u64);
        for &(at, i) in &self.numbers {
            let n = first.wrapping_add(i as u64);
            for (d, byte) in out[at..at + 16].iter_mut().enumerate() {
                *byte = HEX[((n >> (60 - 4 * d)) & 0xf) as usize];
            }
        }
    }
}
