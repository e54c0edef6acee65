//! How much memory decoding a request may take, found before decoding it, so the request can be
//! charged to the [`super::budget`] first: a few bytes on the wire can become a large structure
//! (an empty message is 2 bytes and a struct of a hundred; a JSON `{}` is 2 bytes and the same).
//!
//! Protobuf is walked without allocating: every nested message the decoder would build is
//! counted at the size of the largest struct it can become, packed varints at eight bytes each,
//! strings and bytes at their length. JSON counts its objects and arrays. Requests under 1 MiB
//! are not walked: they are charged a fixed multiple of their length, which covers the worst
//! case.

use std::mem::size_of;

use opentelemetry_proto::tonic::common::v1 as c;
use opentelemetry_proto::tonic::logs::v1 as l;
use opentelemetry_proto::tonic::metrics::v1 as m;
use opentelemetry_proto::tonic::trace::v1 as t;

use crate::ingest::Signal;

/// Below this length a request is charged [`SMALL_FACTOR`] times its length instead of being
/// walked: the walk costs about as much as decoding (it visits every nested message), so it is
/// kept for the large requests where a blanket multiple would refuse what fits (an SDK's batch
/// of 512 spans is about 300 KB; a 1 MiB request is charged 64 MiB unwalked).
const WALK_FROM: usize = 1024 * 1024;
/// The worst inflation of a protobuf request, with room to spare: a 2-byte empty message becomes
/// a struct of at most about a hundred bytes.
const SMALL_FACTOR: usize = 64;
/// Deepest nesting walked (prost itself stops at 100); deeper is charged as the worst case.
const MAX_DEPTH: usize = 64;
/// What one JSON object or array may become: the largest struct, plus the growth of the vector
/// holding it.
const JSON_OBJECT: usize = 2 * size_of::<t::Span>();

/// The messages of the three requests, as far as their memory is concerned.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Msg {
    Request(Signal),
    ResourceSpans,
    ScopeSpans,
    Span,
    /// An event, a link or a status: small structs holding attributes (field `attrs`).
    SpanPart {
        attrs: u32,
    },
    ResourceLogs,
    ScopeLogs,
    LogRecord,
    ResourceMetrics,
    ScopeMetrics,
    Metric,
    /// Gauge, sum, histogram, exponential histogram or summary: data points in field 1.
    MetricData(Kind),
    Point(Kind),
    /// Exponential histogram buckets: packed varint counts in field 2.
    Buckets,
    /// Exemplar, quantile value: attributes in field `attrs` (0: none).
    PointPart {
        attrs: u32,
    },
    /// A resource or a scope: attributes in field `attrs`.
    Holder {
        attrs: u32,
    },
    KeyValue,
    AnyValue,
    /// An array of values (field 1) or a list of key-values (field 1).
    List {
        of_values: bool,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Number,
    Histogram,
    ExpHistogram,
    Summary,
}

impl Msg {
    /// The message a length-delimited field holds, and the size of the struct it becomes; `None`
    /// for strings and bytes.
    #[allow(clippy::match_same_arms)]
    fn child(self, field: u32) -> Option<(Msg, usize)> {
        use Msg::*;
        let kv = (KeyValue, size_of::<c::KeyValue>());
        Some(match (self, field) {
            (Request(Signal::Traces), 1) => (ResourceSpans, size_of::<t::ResourceSpans>()),
            (Request(Signal::Logs), 1) => (ResourceLogs, size_of::<l::ResourceLogs>()),
            (Request(Signal::Metrics), 1) => (ResourceMetrics, size_of::<m::ResourceMetrics>()),
            (ResourceSpans | ResourceLogs | ResourceMetrics, 1) => (Holder { attrs: 1 }, 64),
            (ResourceSpans, 2) => (ScopeSpans, size_of::<t::ScopeSpans>()),
            (ResourceLogs, 2) => (ScopeLogs, size_of::<l::ScopeLogs>()),
            (ResourceMetrics, 2) => (ScopeMetrics, size_of::<m::ScopeMetrics>()),
            (ScopeSpans | ScopeLogs | ScopeMetrics, 1) => (Holder { attrs: 3 }, 96),
            (ScopeSpans, 2) => (Span, size_of::<t::Span>()),
            (ScopeLogs, 2) => (LogRecord, size_of::<l::LogRecord>()),
            (ScopeMetrics, 2) => (Metric, size_of::<m::Metric>()),
            (Span, 9) | (LogRecord, 6) | (Metric, 12) => kv,
            (Span, 11) => (SpanPart { attrs: 3 }, 96),
            (Span, 13) => (SpanPart { attrs: 4 }, 128),
            (Span, 15) => (SpanPart { attrs: 0 }, 0),
            (SpanPart { attrs }, f) if f == attrs => kv,
            (LogRecord, 5) | (KeyValue, 2) => (AnyValue, size_of::<c::AnyValue>()),
            (List { of_values: true }, 1) => (AnyValue, size_of::<c::AnyValue>()),
            (List { of_values: false }, 1) => kv,
            (AnyValue, 5) => (List { of_values: true }, 32),
            (AnyValue, 6) => (List { of_values: false }, 32),
            (Metric, 5 | 7) => (MetricData(Kind::Number), 40),
            (Metric, 9) => (MetricData(Kind::Histogram), 40),
            (Metric, 10) => (MetricData(Kind::ExpHistogram), 40),
            (Metric, 11) => (MetricData(Kind::Summary), 40),
            (MetricData(p), 1) => (
                Point(p),
                match p {
                    Kind::Number => size_of::<m::NumberDataPoint>(),
                    Kind::Histogram => size_of::<m::HistogramDataPoint>(),
                    Kind::ExpHistogram => size_of::<m::ExponentialHistogramDataPoint>(),
                    Kind::Summary => size_of::<m::SummaryDataPoint>(),
                },
            ),
            (Point(Kind::Number | Kind::Summary), 7)
            | (Point(Kind::Histogram), 9)
            | (Point(Kind::ExpHistogram), 1) => kv,
            (Point(Kind::Number), 5)
            | (Point(Kind::Histogram), 8)
            | (Point(Kind::ExpHistogram), 11) => (PointPart { attrs: 7 }, 128),
            (Point(Kind::Summary), 6) => (PointPart { attrs: 0 }, 24),
            (Point(Kind::ExpHistogram), 8 | 9) => (Buckets, 40),
            (PointPart { attrs }, f) if attrs != 0 && f == attrs => kv,
            (Holder { attrs }, f) if f == attrs => kv,
            _ => return None,
        })
    }

    /// Whether a length-delimited field is a packed varint array (each byte may be a `u64`).
    fn packed_varints(self, field: u32) -> bool {
        matches!(self, Msg::Buckets if field == 2)
    }
}

/// The memory a protobuf request of `signal` may take to decode, its own bytes included.
#[must_use]
pub fn protobuf(signal: Signal, buf: &[u8]) -> usize {
    if buf.len() < WALK_FROM {
        return buf.len().saturating_mul(SMALL_FACTOR);
    }
    // Malformed input is charged the worst case: the decoder will refuse it soon enough, but
    // not before it has built what comes before the fault.
    let walked = walk(buf, Msg::Request(signal), 0)
        .unwrap_or_else(|| buf.len().saturating_mul(SMALL_FACTOR));
    walked.saturating_add(buf.len())
}

/// Walks one message: what its nested messages become.
fn walk(mut buf: &[u8], msg: Msg, depth: usize) -> Option<usize> {
    if depth > MAX_DEPTH {
        return None;
    }
    let mut total = 0usize;
    while !buf.is_empty() {
        let key = varint(&mut buf)?;
        let field = u32::try_from(key >> 3).ok()?;
        match key & 7 {
            0 => {
                varint(&mut buf)?;
            }
            1 => buf = buf.get(8..)?,
            5 => buf = buf.get(4..)?,
            2 => {
                let len = usize::try_from(varint(&mut buf)?).ok()?;
                let inner = buf.get(..len)?;
                buf = &buf[len..];
                if let Some((child, size)) = msg.child(field) {
                    total =
                        total
                            .saturating_add(size)
                            .saturating_add(walk(inner, child, depth + 1)?);
                } else if msg.packed_varints(field) {
                    total = total.saturating_add(len.saturating_mul(8));
                }
                // Strings and bytes: counted in the request's own length.
            }
            // Groups and unknown wire types: the decoder refuses them.
            _ => return None,
        }
    }
    Some(total)
}

fn varint(buf: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for i in 0..10 {
        let (&byte, rest) = buf.split_first()?;
        *buf = rest;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Some(value);
        }
    }
    None
}

/// The memory a JSON request may take to decode, its own bytes included: each object and
/// array may become a struct, and each string a copy.
#[must_use]
pub fn json(buf: &[u8]) -> usize {
    let mut containers = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in buf {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => containers += 1,
                _ => {}
            }
        }
    }
    containers
        .saturating_mul(JSON_OBJECT)
        .saturating_add(buf.len().saturating_mul(2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use c::KeyValue;
    use m::{ExponentialHistogramDataPoint, Metric, ResourceMetrics, ScopeMetrics};
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use prost::Message as _;
    use t::{ResourceSpans, ScopeSpans, Span};

    /// Memory prost's structs take for a request, roughly: the estimate must not be below it.
    fn span_request(spans: usize, attrs: usize) -> Vec<u8> {
        let span = Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: "GET /cart".into(),
            attributes: vec![KeyValue::default(); attrs],
            ..Span::default()
        };
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![span; spans],
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        }
        .encode_to_vec()
    }

    #[test]
    fn empty_entries_are_charged_what_they_would_become() {
        // 0a 00 repeated: empty resource_spans, the gzip bomb's payload.
        let bomb = [0x0a, 0x00].repeat(100_000);
        let est = protobuf(Signal::Traces, &bomb);
        assert!(est >= 100_000 * size_of::<ResourceSpans>(), "{est}");
        // The same bytes as a metrics request.
        assert!(protobuf(Signal::Metrics, &bomb) >= 100_000 * size_of::<ResourceMetrics>());
    }

    #[test]
    fn an_ordinary_request_is_charged_a_few_times_its_size() {
        let req = span_request(30_000, 3);
        let est = protobuf(Signal::Traces, &req);
        let lower = 30_000 * (size_of::<Span>() + 3 * size_of::<KeyValue>());
        assert!(est >= lower, "{est} < {lower}");
        assert!(est < 40 * req.len(), "{est} for {} bytes", req.len());
    }

    #[test]
    fn packed_bucket_counts_and_nesting_are_counted() {
        use opentelemetry_proto::tonic::metrics::v1::{
            ExponentialHistogram, exponential_histogram_data_point::Buckets, metric::Data,
        };
        let point = ExponentialHistogramDataPoint {
            positive: Some(Buckets {
                offset: 0,
                bucket_counts: vec![0; 100_000],
            }),
            ..ExponentialHistogramDataPoint::default()
        };
        let req = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![Metric {
                        data: Some(Data::ExponentialHistogram(ExponentialHistogram {
                            data_points: vec![point],
                            aggregation_temporality: 1,
                        })),
                        ..Metric::default()
                    }],
                    ..ScopeMetrics::default()
                }],
                ..ResourceMetrics::default()
            }],
        }
        .encode_to_vec();
        assert!(protobuf(Signal::Metrics, &req) >= 100_000 * 8);
    }

    #[test]
    fn malformed_or_too_deep_is_charged_the_worst_case() {
        let mut bad = span_request(30_000, 1);
        bad.truncate(bad.len() - 3);
        assert!(bad.len() >= WALK_FROM);
        assert!(protobuf(Signal::Traces, &bad) >= bad.len() * SMALL_FACTOR);
    }

    #[test]
    fn json_counts_objects_outside_strings() {
        let bomb = format!("{{\"resourceSpans\":[{}]}}", vec!["{}"; 1000].join(","));
        assert!(json(bomb.as_bytes()) >= 1000 * JSON_OBJECT);
        let quoted = br#"{"a":"{{{{[[[[\"{{"}"#;
        assert_eq!(json(quoted), JSON_OBJECT + 2 * quoted.len());
    }
}
