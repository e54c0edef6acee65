//! Protobuf to our model, at the boundary (JSON requests, and protobuf ones the direct decoder
//! hands back): invalid spans are dropped and counted; over-long values are truncated with a
//! visible marker.

use compact_str::CompactString;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, ExponentialHistogramDataPoint, HistogramDataPoint, NumberDataPoint,
    exemplar, number_data_point,
};

use crate::model::{
    Batch, Exemplar, ExpHistogram, Histogram, LogBatch, LogResource, LogScope, MetricBatch,
    MetricKind, MetricResource, MetricScope, NewLogRecord, NewMetric, NewPoint, OwnedAttr,
    OwnedEvent, OwnedLink, OwnedResource, OwnedScope, OwnedSpan, PointValue, SpanKind, StatusCode,
    Summary, Value,
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
            // As the direct decoder: a scope or resource with nothing to keep is left out.
            if !spans.is_empty() {
                scopes.push(OwnedScope {
                    name,
                    version,
                    spans,
                });
            }
        }
        if !scopes.is_empty() {
            resources.push(OwnedResource { attrs, scopes });
        }
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

/// A trace id: 16 bytes, not all zero. (Shared with the direct decoder.)
#[inline]
pub(super) fn id16(b: &[u8]) -> Option<u128> {
    let arr: [u8; 16] = b.try_into().ok()?;
    let id = u128::from_be_bytes(arr);
    (id != 0).then_some(id)
}

/// A span id: 8 bytes, not all zero.
#[inline]
pub(super) fn id8(b: &[u8]) -> Option<u64> {
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

/// A string cut at a char boundary at most `max` bytes in and marked with how much went.
fn truncate(s: String, max: usize) -> String {
    if s.len() <= max {
        return s;
    }
    truncated(&s, max)
}

/// As [`truncate`], from a borrowed string. (Shared with the direct decoder.)
pub(super) fn truncated(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let cut = cut_at(s, max);
    let mut out = String::with_capacity(cut + 24);
    out.push_str(&s[..cut]);
    out.push_str(&truncation_marker(s.len() - cut));
    out
}

/// What marks a cut string: `…[N more bytes]`.
pub(super) fn truncation_marker(dropped: usize) -> String {
    format!("…[{dropped} more bytes]")
}

/// The last char boundary at most `max` bytes into `s`.
pub(super) fn cut_at(s: &str, max: usize) -> usize {
    let mut cut = max.min(s.len());
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    cut
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

/// Converts a logs export request. Records with ids of the wrong length are dropped; the
/// returned message says why, for the response's partial success.
#[must_use]
pub fn log_request(req: ExportLogsServiceRequest, limits: &Limits) -> (LogBatch, String) {
    let mut batch = LogBatch::default();
    let mut problem = String::new();
    for rl in req.resource_logs {
        let resource_attrs = rl
            .resource
            .map(|r| attrs(r.attributes, limits))
            .unwrap_or_default();
        let mut scopes = Vec::with_capacity(rl.scope_logs.len());
        for sl in rl.scope_logs {
            let (name, version) = sl.scope.map(|s| (s.name, s.version)).unwrap_or_default();
            let mut records = Vec::with_capacity(sl.log_records.len());
            for r in sl.log_records {
                match log_record(r, limits) {
                    Ok(r) => records.push(r),
                    Err(why) => {
                        batch.rejected += 1;
                        if problem.is_empty() {
                            problem = why.to_owned();
                        }
                    }
                }
            }
            // As the direct decoder: a scope or resource with nothing to keep is left out.
            if !records.is_empty() {
                scopes.push(LogScope {
                    name,
                    version,
                    records,
                });
            }
        }
        if !scopes.is_empty() {
            batch.resources.push(LogResource {
                attrs: resource_attrs,
                scopes,
            });
        }
    }
    if batch.rejected > 0 {
        problem = format!("{} log record(s) rejected: {problem}", batch.rejected);
    }
    (batch, problem)
}

fn log_record(r: LogRecord, limits: &Limits) -> Result<NewLogRecord, &'static str> {
    // A record need not belong to a trace: empty (or all-zero) ids mean none.
    let trace_id = match r.trace_id.len() {
        0 => 0,
        16 => u128::from_be_bytes(r.trace_id[..16].try_into().unwrap_or_default()),
        _ => return Err("trace_id must be empty or 16 bytes"),
    };
    let span_id = match r.span_id.len() {
        0 => 0,
        8 => u64::from_be_bytes(r.span_id[..8].try_into().unwrap_or_default()),
        _ => return Err("span_id must be empty or 8 bytes"),
    };
    Ok(NewLogRecord {
        time: r.time_unix_nano,
        observed_time: r.observed_time_unix_nano,
        severity: u8::try_from(r.severity_number.clamp(0, 24)).unwrap_or(0),
        severity_text: truncate(r.severity_text, 64).into(),
        body: value(r.body, limits, 0),
        attrs: attrs(r.attributes, limits),
        trace_id,
        span_id,
        event_name: truncate(r.event_name, limits.max_attr_value_len).into(),
    })
}

/// Most buckets a histogram point may have; past that the point is refused.
pub const MAX_BUCKETS: usize = 4096;

/// Converts a metrics export request. Malformed data points (no value, bucket counts that do
/// not match the bounds, too many buckets) are dropped; the message says why.
#[must_use]
pub fn metric_request(req: ExportMetricsServiceRequest, limits: &Limits) -> (MetricBatch, String) {
    let mut batch = MetricBatch::default();
    let mut problem = String::new();
    let mut reject = |why: &'static str, n: u64, batch: &mut MetricBatch| {
        batch.rejected += n;
        if problem.is_empty() {
            problem = why.to_owned();
        }
    };
    for rm in req.resource_metrics {
        let resource_attrs = rm
            .resource
            .map(|r| attrs(r.attributes, limits))
            .unwrap_or_default();
        let mut scopes = Vec::with_capacity(rm.scope_metrics.len());
        for sm in rm.scope_metrics {
            let (name, version) = sm.scope.map(|s| (s.name, s.version)).unwrap_or_default();
            let mut metrics = Vec::with_capacity(sm.metrics.len());
            for m in sm.metrics {
                let name: CompactString = truncate(m.name, 255).into();
                let delta = |t: i32| t == AggregationTemporality::Delta as i32;
                let (kind, points) = match m.data {
                    None => continue,
                    Some(Data::Gauge(g)) => (
                        MetricKind::Gauge,
                        number_points(g.data_points, limits, &mut |w| reject(w, 1, &mut batch)),
                    ),
                    Some(Data::Sum(s)) => (
                        MetricKind::Sum {
                            monotonic: s.is_monotonic,
                            delta: delta(s.aggregation_temporality),
                        },
                        number_points(s.data_points, limits, &mut |w| reject(w, 1, &mut batch)),
                    ),
                    Some(Data::Histogram(h)) => (
                        MetricKind::Histogram {
                            delta: delta(h.aggregation_temporality),
                        },
                        h.data_points
                            .into_iter()
                            .filter_map(|p| match histogram_point(p, limits) {
                                Ok(p) => Some(p),
                                Err(why) => {
                                    reject(why, 1, &mut batch);
                                    None
                                }
                            })
                            .collect(),
                    ),
                    Some(Data::ExponentialHistogram(h)) => (
                        MetricKind::ExpHistogram {
                            delta: delta(h.aggregation_temporality),
                        },
                        h.data_points
                            .into_iter()
                            .filter_map(|p| match exp_histogram_point(p, limits) {
                                Ok(p) => Some(p),
                                Err(why) => {
                                    reject(why, 1, &mut batch);
                                    None
                                }
                            })
                            .collect(),
                    ),
                    Some(Data::Summary(s)) => (
                        MetricKind::Summary,
                        s.data_points
                            .into_iter()
                            .map(|p| NewPoint {
                                attrs: attrs(p.attributes, limits),
                                start: p.start_time_unix_nano,
                                time: p.time_unix_nano,
                                value: PointValue::Summary(Box::new(Summary {
                                    count: p.count,
                                    sum: p.sum,
                                    quantiles: p
                                        .quantile_values
                                        .iter()
                                        .take(MAX_BUCKETS)
                                        .map(|q| (q.quantile, q.value))
                                        .collect(),
                                })),
                                exemplars: Vec::new(),
                            })
                            .collect(),
                    ),
                };
                metrics.push(NewMetric {
                    name,
                    description: truncate(m.description, limits.max_attr_value_len),
                    unit: truncate(m.unit, 64).into(),
                    kind,
                    points,
                });
            }
            // A scope or resource with no metric is left out, as the trace and log decoders do.
            if !metrics.is_empty() {
                scopes.push(MetricScope {
                    name,
                    version,
                    metrics,
                });
            }
        }
        if !scopes.is_empty() {
            batch.resources.push(MetricResource {
                attrs: resource_attrs,
                scopes,
            });
        }
    }
    if batch.rejected > 0 {
        problem = format!("{} data point(s) rejected: {problem}", batch.rejected);
    }
    (batch, problem)
}

fn number_points(
    points: Vec<NumberDataPoint>,
    limits: &Limits,
    reject: &mut impl FnMut(&'static str),
) -> Vec<NewPoint> {
    points
        .into_iter()
        .filter_map(|p| {
            #[allow(clippy::cast_precision_loss)]
            let v = match p.value {
                Some(number_data_point::Value::AsDouble(d)) => d,
                Some(number_data_point::Value::AsInt(i)) => i as f64,
                None => {
                    reject("a number data point has no value");
                    return None;
                }
            };
            Some(NewPoint {
                attrs: attrs(p.attributes, limits),
                start: p.start_time_unix_nano,
                time: p.time_unix_nano,
                value: PointValue::Number(v),
                exemplars: exemplars(p.exemplars, limits),
            })
        })
        .collect()
}

fn histogram_point(p: HistogramDataPoint, limits: &Limits) -> Result<NewPoint, &'static str> {
    if p.bucket_counts.len() > MAX_BUCKETS {
        return Err("a histogram data point has too many buckets");
    }
    if !p.bucket_counts.is_empty() && p.bucket_counts.len() != p.explicit_bounds.len() + 1 {
        return Err("a histogram data point needs one bucket count more than bounds");
    }
    Ok(NewPoint {
        attrs: attrs(p.attributes, limits),
        start: p.start_time_unix_nano,
        time: p.time_unix_nano,
        value: PointValue::Histogram(Box::new(Histogram {
            count: p.count,
            sum: p.sum,
            min: p.min,
            max: p.max,
            bounds: if p.bucket_counts.is_empty() {
                Vec::new().into()
            } else {
                p.explicit_bounds.into()
            },
            counts: p.bucket_counts.into(),
        })),
        exemplars: exemplars(p.exemplars, limits),
    })
}

fn exp_histogram_point(
    p: ExponentialHistogramDataPoint,
    limits: &Limits,
) -> Result<NewPoint, &'static str> {
    if !(-10..=20).contains(&p.scale) {
        return Err("an exponential histogram's scale must be from -10 to 20");
    }
    let (positive_offset, positive) = p
        .positive
        .map(|b| (b.offset, b.bucket_counts))
        .unwrap_or_default();
    let (negative_offset, negative) = p
        .negative
        .map(|b| (b.offset, b.bucket_counts))
        .unwrap_or_default();
    if positive.len() > MAX_BUCKETS || negative.len() > MAX_BUCKETS {
        return Err("an exponential histogram data point has too many buckets");
    }
    Ok(NewPoint {
        attrs: attrs(p.attributes, limits),
        start: p.start_time_unix_nano,
        time: p.time_unix_nano,
        value: PointValue::ExpHistogram(Box::new(ExpHistogram {
            count: p.count,
            sum: p.sum,
            min: p.min,
            max: p.max,
            scale: p.scale,
            zero_count: p.zero_count,
            positive_offset,
            positive: positive.into(),
            negative_offset,
            negative: negative.into(),
        })),
        exemplars: exemplars(p.exemplars, limits),
    })
}

fn exemplars(
    list: Vec<opentelemetry_proto::tonic::metrics::v1::Exemplar>,
    limits: &Limits,
) -> Vec<Exemplar> {
    list.into_iter()
        .take(limits.max_events)
        .map(|e| {
            #[allow(clippy::cast_precision_loss)]
            let value = match e.value {
                Some(exemplar::Value::AsDouble(d)) => d,
                Some(exemplar::Value::AsInt(i)) => i as f64,
                None => 0.0,
            };
            // An exemplar with malformed ids keeps its value and loses its link.
            let (trace_id, span_id) = match (id16(&e.trace_id), id8(&e.span_id)) {
                (Some(t), Some(s)) => (t, s),
                _ => (0, 0),
            };
            Exemplar {
                time: e.time_unix_nano,
                value,
                trace_id,
                span_id,
            }
        })
        .collect()
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
