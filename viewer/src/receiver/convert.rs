//! Protobuf to our model, at the boundary (JSON requests, and protobuf ones the direct decoder
//! hands back): invalid spans are dropped and counted; over-long values are truncated with a
//! visible marker.

use compact_str::CompactString;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;

use crate::model::{
    Batch, OwnedAttr, OwnedEvent, OwnedLink, OwnedResource, OwnedScope, OwnedSpan, SpanKind,
    StatusCode, Value,
};

/// Per-span limits applied at the boundary.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Longer string values are cut to this many bytes and marked.
    pub max_attr_value_len: usize,
    /// Attributes beyond this many on a span (or event, link, resource) are dropped.
    pub max_attrs: usize,
    /// Events and links beyond this many on a span are dropped.
    pub max_events: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_attr_value_len: 16 * 1024,
            max_attrs: 1024,
            max_events: 1024,
        }
    }
}

/// Converts a trace export request. Spans with invalid ids are dropped; the returned message
/// says why, for the response's partial success.
#[must_use]
pub fn trace_request(req: ExportTraceServiceRequest, limits: &Limits) -> (Batch, String) {
    let mut resources = Vec::with_capacity(req.resource_spans.len());
    let mut rejected = 0;
    let mut problem = String::new();
    for rs in req.resource_spans {
        let attrs = rs
            .resource
            .map(|r| attrs(r.attributes, limits))
            .unwrap_or_default();
        let mut scopes = Vec::with_capacity(rs.scope_spans.len());
        for ss in rs.scope_spans {
            let (name, version) = ss.scope.map(|s| (s.name, s.version)).unwrap_or_default();
            let mut spans = Vec::with_capacity(ss.spans.len());
            for span in ss.spans {
                match span_of(span, limits) {
                    Ok(s) => spans.push(s),
                    Err(why) => {
                        rejected += 1;
                        if problem.is_empty() {
                            problem = why.to_owned();
                        }
                    }
                }
            }
            scopes.push(OwnedScope {
                name,
                version,
                spans,
            });
        }
        resources.push(OwnedResource { attrs, scopes });
    }
    if rejected > 0 {
        problem = format!("{rejected} span(s) rejected: {problem}");
    }
    (Batch::from_owned(resources, rejected), problem)
}

fn span_of(
    s: opentelemetry_proto::tonic::trace::v1::Span,
    limits: &Limits,
) -> Result<OwnedSpan, &'static str> {
    let trace_id = id16(&s.trace_id).ok_or("trace_id must be 16 bytes and not all zero")?;
    let span_id = id8(&s.span_id).ok_or("span_id must be 8 bytes and not all zero")?;
    let parent_id = match s.parent_span_id.len() {
        0 => 0,
        8 => u64::from_be_bytes(s.parent_span_id[..8].try_into().unwrap_or_default()),
        _ => return Err("parent_span_id must be empty or 8 bytes"),
    };
    let (status, status_message) = s
        .status
        .map(|st| (StatusCode::from_otlp(st.code), st.message))
        .unwrap_or_default();
    Ok(OwnedSpan {
        trace_id,
        span_id,
        parent_id,
        name: s.name.into(),
        kind: SpanKind::from_otlp(s.kind),
        start: s.start_time_unix_nano,
        end: s.end_time_unix_nano,
        status,
        status_message: truncate(status_message, limits.max_attr_value_len),
        attrs: attrs(s.attributes, limits),
        events: s
            .events
            .into_iter()
            .take(limits.max_events)
            .map(|e| OwnedEvent {
                time: e.time_unix_nano,
                name: e.name.into(),
                attrs: attrs(e.attributes, limits),
            })
            .collect(),
        links: s
            .links
            .into_iter()
            .take(limits.max_events)
            .filter_map(|l| {
                Some(OwnedLink {
                    trace_id: id16(&l.trace_id)?,
                    span_id: id8(&l.span_id)?,
                    attrs: attrs(l.attributes, limits),
                })
            })
            .collect(),
    })
}

fn id16(b: &[u8]) -> Option<u128> {
    let arr: [u8; 16] = b.try_into().ok()?;
    let id = u128::from_be_bytes(arr);
    (id != 0).then_some(id)
}

fn id8(b: &[u8]) -> Option<u64> {
    let arr: [u8; 8] = b.try_into().ok()?;
    let id = u64::from_be_bytes(arr);
    (id != 0).then_some(id)
}

fn attrs(kvs: Vec<KeyValue>, limits: &Limits) -> Vec<OwnedAttr> {
    kvs.into_iter()
        .take(limits.max_attrs)
        .map(|kv| (kv.key.into(), value(kv.value, limits, 0)))
        .collect()
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        let dropped = s.len() - cut;
        s.truncate(cut);
        s.push_str(&format!("…[{dropped} more bytes]"));
    }
    s
}

fn value(v: Option<AnyValue>, limits: &Limits, depth: usize) -> Value {
    let Some(v) = v.and_then(|v| v.value) else {
        return Value::Empty;
    };
    match v {
        any_value::Value::StringValue(s) => {
            Value::Str(CompactString::from(truncate(s, limits.max_attr_value_len)))
        }
        any_value::Value::BoolValue(b) => Value::Bool(b),
        any_value::Value::IntValue(i) => Value::Int(i),
        any_value::Value::DoubleValue(d) => Value::Double(d),
        any_value::Value::BytesValue(mut b) => {
            b.truncate(limits.max_attr_value_len);
            Value::Bytes(b.into_boxed_slice())
        }
        // Nested values are bounded in depth as in count.
        any_value::Value::ArrayValue(_) | any_value::Value::KvlistValue(_) if depth >= 8 => {
            Value::Str("…[nested too deep]".into())
        }
        any_value::Value::ArrayValue(a) => Value::Array(
            a.values
                .into_iter()
                .take(limits.max_attrs)
                .map(|v| value(Some(v), limits, depth + 1))
                .collect(),
        ),
        any_value::Value::KvlistValue(kv) => Value::Map(
            kv.values
                .into_iter()
                .take(limits.max_attrs)
                .map(|kv| (kv.key.into(), value(kv.value, limits, depth + 1)))
                .collect(),
        ),
        any_value::Value::StringValueStrindex(_) => Value::Empty,
    }
}

/// Number of metric data points in a request.
#[must_use]
pub fn metric_points(req: &ExportMetricsServiceRequest) -> u64 {
    let mut n = 0;
    for rm in &req.resource_metrics {
        for sm in &rm.scope_metrics {
            for m in &sm.metrics {
                n += match &m.data {
                    Some(Data::Gauge(g)) => g.data_points.len(),
                    Some(Data::Sum(s)) => s.data_points.len(),
                    Some(Data::Histogram(h)) => h.data_points.len(),
                    Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
                    Some(Data::Summary(s)) => s.data_points.len(),
                    None => 0,
                } as u64;
            }
        }
    }
    n
}

/// Number of log records in a request.
#[must_use]
pub fn log_records(req: &ExportLogsServiceRequest) -> u64 {
    req.resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .map(|s| s.log_records.len() as u64)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_truncated_with_a_marker() {
        let s = truncate("é".repeat(10), 5);
        assert!(s.starts_with("éé"));
        assert!(s.ends_with("…[16 more bytes]"), "{s}");
        assert_eq!(truncate("short".into(), 5), "short");
    }

    #[test]
    fn ids_must_be_right_length_and_non_zero() {
        assert_eq!(id16(&[0; 16]), None);
        assert_eq!(id16(&[1; 15]), None);
        assert_eq!(id8(&[0, 0, 0, 0, 0, 0, 0, 1]), Some(1));
    }
}
