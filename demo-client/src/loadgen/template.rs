//! Pre-built OTLP trace export requests: encoded once, then copied with fresh trace ids patched
//! into the bytes, so generating load costs a `memcpy` and a few stores per request.
//!
//! This file depends only on `opentelemetry-proto` and `prost`, so the viewer's benchmarks
//! include it (`#[path]`) and decode exactly the requests the load generator sends.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, span};
use prost::Message as _;

/// The first 8 bytes of every placeholder trace id in a template; the last 8 are the trace's
/// number within the request. Chosen so it cannot occur elsewhere in the encoding.
pub const MARKER: [u8; 8] = [0xa5, 0x5a, 0xc3, 0x3c, 0x96, 0x69, 0x0f, 0xf0];

/// What the requests look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Spans under each root span (a heap-shaped tree: span `j`'s parent is span `j / 2`).
    pub child_spans: usize,
    /// Attributes on every span.
    pub attributes: usize,
    /// Whole traces in one request.
    pub traces_per_request: usize,
    /// Each span of a request gets its own values for the attributes that differ between real
    /// requests (status, path, full URL, client address, body size); otherwise every span
    /// carries the same values.
    pub varied: bool,
}

impl Shape {
    /// Spans in one trace.
    #[must_use]
    pub fn spans_per_trace(&self) -> usize {
        self.child_spans + 1
    }

    /// Spans in one request.
    #[must_use]
    pub fn spans_per_request(&self) -> usize {
        self.spans_per_trace() * self.traces_per_request
    }

    /// The shape whose requests hold about `batch_size` spans (at least one whole trace).
    #[must_use]
    pub fn for_batch(child_spans: usize, attributes: usize, batch_size: usize) -> Self {
        let per_trace = child_spans + 1;
        Self {
            child_spans,
            attributes,
            traces_per_request: (batch_size / per_trace).max(1),
            varied: false,
        }
    }
}

/// Attributes of a typical HTTP server span, in the order they are added.
const TYPICAL: &[(&str, Typical)] = &[
    ("http.request.method", Typical::Str("GET")),
    ("http.response.status_code", Typical::Int(200)),
    ("url.path", Typical::Str("/api/v1/items/12345")),
    ("url.scheme", Typical::Str("https")),
    ("server.address", Typical::Str("api.example.internal")),
    ("server.port", Typical::Int(443)),
    ("http.route", Typical::Str("/api/v1/items/{id}")),
    ("network.protocol.version", Typical::Str("1.1")),
    ("client.address", Typical::Str("10.42.17.201")),
    (
        "user_agent.original",
        Typical::Str("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0"),
    ),
    (
        "url.full",
        Typical::Str("https://api.example.internal/api/v1/items/12345?expand=owner"),
    ),
    ("http.request.body.size", Typical::Int(0)),
    ("http.response.body.size", Typical::Int(1834)),
    ("thread.name", Typical::Str("tokio-runtime-worker")),
    ("db.system", Typical::Str("postgresql")),
];

#[derive(Clone, Copy)]
enum Typical {
    Str(&'static str),
    Int(i64),
}

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

fn str_kv(key: &str, value: &str) -> KeyValue {
    kv(key, any_value::Value::StringValue(value.to_owned()))
}

/// `n` span attributes: the typical HTTP ones first, then numbered extras.
#[must_use]
pub fn attributes(n: usize) -> Vec<KeyValue> {
    (0..n)
        .map(|i| match TYPICAL.get(i) {
            Some((k, Typical::Str(v))) => str_kv(k, v),
            Some((k, Typical::Int(v))) => kv(k, any_value::Value::IntValue(*v)),
            None => str_kv(&format!("loadgen.attr.{i}"), &format!("value-{i}")),
        })
        .collect()
}

/// As [`attributes`], with the values that differ between real requests made distinct for span
/// number `k` of a request.
#[must_use]
pub fn varied_attributes(n: usize, k: usize) -> Vec<KeyValue> {
    let item = 10_000 + k;
    let int = |v: usize| any_value::Value::IntValue(i64::try_from(v).unwrap_or(i64::MAX));
    let mut attrs = attributes(n);
    for a in &mut attrs {
        let value = match a.key.as_str() {
            "http.response.status_code" => int([200, 200, 200, 201, 404, 500][k % 6]),
            "url.path" => any_value::Value::StringValue(format!("/api/v1/items/{item}")),
            "url.full" => any_value::Value::StringValue(format!(
                "https://api.example.internal/api/v1/items/{item}?expand=owner"
            )),
            "client.address" => {
                any_value::Value::StringValue(format!("10.42.{}.{}", k / 256, k % 256))
            }
            "http.response.body.size" => int(1_000 + k * 7),
            _ => continue,
        };
        a.value = Some(AnyValue { value: Some(value) });
    }
    attrs
}

const NAMES: [&str; 4] = [
    "SELECT items",
    "GET /inventory",
    "cache.get",
    "render template",
];

/// One request of `shape`, with placeholder trace ids (see [`MARKER`]) unless `trace_id` is
/// given, in which case trace `k` gets `trace_id + k`.
#[must_use]
pub fn request(
    shape: &Shape,
    start_unix_nano: u64,
    trace_id: Option<u128>,
) -> ExportTraceServiceRequest {
    let attrs = attributes(shape.attributes);
    let mut spans = Vec::with_capacity(shape.spans_per_request());
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
        let n = shape.spans_per_trace() as u64;
        for j in 1..=n {
            let parent = if j == 1 {
                Vec::new()
            } else {
                (j / 2).to_be_bytes().to_vec()
            };
            // Children sit inside their parents on the time axis: 1 ms root, narrower below.
            let depth = u64::from(63 - j.leading_zeros());
            let start = start_unix_nano + j * 1_000;
            let end = start + (1_000_000 >> depth.min(10)).max(2_000);
            spans.push(Span {
                trace_id: tid.to_vec(),
                span_id: j.to_be_bytes().to_vec(),
                parent_span_id: parent,
                name: if j == 1 {
                    "GET /api/v1/items/{id}".to_owned()
                } else {
                    NAMES[(j as usize) % NAMES.len()].to_owned()
                },
                kind: if j == 1 {
                    span::SpanKind::Server as i32
                } else {
                    span::SpanKind::Client as i32
                },
                start_time_unix_nano: start,
                end_time_unix_nano: end,
                attributes: if shape.varied {
                    varied_attributes(shape.attributes, spans.len())
                } else {
                    attrs.clone()
                },
                ..Span::default()
            });
        }
    }
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: resource_attributes(),
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "loadgen".to_owned(),
                    version: "0.1.0".to_owned(),
                    ..InstrumentationScope::default()
                }),
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

/// The `service.name` of every request this process makes (`loadgen --service`), set once
/// before the first.
static SERVICE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Names the service every request of this process carries; the first name set stays.
pub fn set_service(name: &str) {
    let _ = SERVICE.set(name.to_owned());
}

/// The resource attributes every request carries.
#[must_use]
pub fn resource_attributes() -> Vec<KeyValue> {
    vec![
        str_kv(
            "service.name",
            SERVICE.get().map_or("loadgen", String::as_str),
        ),
        str_kv("service.version", "0.1.0"),
        str_kv("host.name", "loadgen-host"),
        str_kv("telemetry.sdk.language", "rust"),
    ]
}

/// The placeholder trace ids in an encoded request: each one's byte offset, with the trace's
/// number in the request.
#[must_use]
pub fn find_trace_ids(bytes: &[u8]) -> Vec<(usize, u64)> {
    let mut ids = Vec::new();
    let mut i = 0;
    while i + 16 <= bytes.len() {
        if bytes[i..i + 8] == MARKER {
            let k = u64::from_be_bytes(bytes[i + 8..i + 16].try_into().unwrap_or_default());
            ids.push((i, k));
            i += 16;
        } else {
            i += 1;
        }
    }
    ids
}

/// An encoded request and where its trace ids sit.
#[derive(Clone, Debug)]
pub struct Template {
    pub shape: Shape,
    bytes: Vec<u8>,
    /// For each byte offset of a trace id in `bytes`: the trace's number in the request.
    ids: Vec<(usize, u64)>,
}

impl Template {
    #[must_use]
    pub fn new(shape: Shape, start_unix_nano: u64) -> Self {
        let bytes = request(&shape, start_unix_nano, None).encode_to_vec();
        let ids = find_trace_ids(&bytes);
        debug_assert_eq!(ids.len(), shape.spans_per_request());
        Self { shape, bytes, ids }
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

    /// Writes one request into `out` (replacing its content): trace `k` gets id
    /// `base + k`. `base` must leave room for `traces_per_request` ids and be non-zero.
    pub fn render(&self, base: u128, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&self.bytes);
        for &(at, k) in &self.ids {
            out[at..at + 16].copy_from_slice(&(base + u128::from(k)).to_be_bytes());
        }
    }
}
