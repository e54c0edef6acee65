//! Pre-built OTLP metric export requests: one request is what an SDK's periodic exporter sends,
//! every series of every metric at one time. Encoded once; each request is a copy with its time
//! patched in (every `time_unix_nano` is a `fixed64`, so it is found and rewritten in place).
//!
//! Metrics cycle through three kinds, as a service's instrumentation has them: monotonic
//! cumulative sums (request counts), gauges (memory, connections) and explicit-bucket
//! histograms (durations, with the semantic conventions' default buckets). Each metric has the
//! same number of series, told apart by HTTP method, route and status code. The resource names
//! an instance (`service.instance.id`), so senders with different instances send disjoint series.
//!
//! Like `template.rs`, this file depends only on `opentelemetry-proto`, `prost` and its sibling
//! `template` module, so the viewer's benchmarks include it (`#[path]`).

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message as _;

use super::template::resource_attributes;

/// The placeholder time of every point in a template; cannot be a real time (year 2500).
const TIME_MARKER: u64 = 0xf00f_a55a_c33c_9669;

/// What the requests look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricShape {
    /// Metrics in a request (a third each sums, gauges and histograms, in turn).
    pub metrics: usize,
    /// Series of each metric (distinct attribute sets).
    pub series: usize,
}

impl MetricShape {
    /// Data points in one request: one per series.
    #[must_use]
    pub fn points_per_request(&self) -> usize {
        self.metrics * self.series
    }
}

const SUMS: [(&str, &str); 4] = [
    ("http.server.requests", "{request}"),
    ("db.client.operations", "{operation}"),
    ("cache.lookups", "{lookup}"),
    ("messaging.client.published.messages", "{message}"),
];
const GAUGES: [(&str, &str); 4] = [
    ("process.memory.usage", "By"),
    ("db.client.connection.count", "{connection}"),
    ("system.cpu.utilization", "1"),
    ("messaging.queue.depth", "{message}"),
];
const HISTOGRAMS: [(&str, &str); 4] = [
    ("http.server.request.duration", "s"),
    ("db.client.operation.duration", "s"),
    ("http.client.request.duration", "s"),
    ("messaging.process.duration", "s"),
];
/// The semantic conventions' default bucket boundaries for durations in seconds.
pub const BOUNDS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
const ROUTES: [&str; 16] = [
    "/api/v1/items",
    "/api/v1/items/{id}",
    "/api/v1/items/{id}/stock",
    "/api/v1/orders",
    "/api/v1/orders/{id}",
    "/api/v1/orders/{id}/items",
    "/api/v1/users/{id}",
    "/api/v1/users/{id}/cart",
    "/api/v1/cart/checkout",
    "/api/v1/search",
    "/api/v1/recommendations",
    "/api/v1/inventory/{sku}",
    "/api/v1/payments",
    "/api/v1/payments/{id}",
    "/healthz",
    "/metrics",
];
const STATUSES: [i64; 8] = [200, 201, 204, 304, 400, 404, 500, 503];

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

/// The attributes of series `s`: method, route and status code (512 combinations), then a
/// shard number past those.
#[must_use]
pub fn series_attributes(s: usize) -> Vec<KeyValue> {
    let str_value = |v: &str| any_value::Value::StringValue(v.to_owned());
    let mut attrs = vec![
        kv("http.request.method", str_value(METHODS[s % METHODS.len()])),
        kv("http.route", str_value(ROUTES[(s / 4) % ROUTES.len()])),
        kv(
            "http.response.status_code",
            any_value::Value::IntValue(STATUSES[(s / 64) % STATUSES.len()]),
        ),
    ];
    if s >= 512 {
        attrs.push(kv(
            "shard",
            any_value::Value::IntValue(i64::try_from(s / 512).unwrap_or(i64::MAX)),
        ));
    }
    attrs
}

/// Metric `i`'s name, unit and kind (0 sum, 1 gauge, 2 histogram).
fn metric_name(i: usize) -> (String, &'static str, usize) {
    let kind = i % 3;
    let table = [&SUMS, &GAUGES, &HISTOGRAMS][kind];
    let (name, unit) = table[(i / 3) % table.len()];
    let round = i / 3 / table.len();
    let name = if round == 0 {
        name.to_owned()
    } else {
        format!("{name}.{round}")
    };
    (name, unit, kind)
}

/// One request of `shape` from `instance`, every point at `time_unix_nano` (cumulative ones
/// from `start_unix_nano`).
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn request(
    shape: &MetricShape,
    start_unix_nano: u64,
    time_unix_nano: u64,
    instance: &str,
) -> ExportMetricsServiceRequest {
    let cumulative = AggregationTemporality::Cumulative as i32;
    let metrics = (0..shape.metrics)
        .map(|i| {
            let (name, unit, kind) = metric_name(i);
            let numbers = |value: &dyn Fn(usize) -> f64| -> Vec<NumberDataPoint> {
                (0..shape.series)
                    .map(|s| NumberDataPoint {
                        attributes: series_attributes(s),
                        start_time_unix_nano: start_unix_nano,
                        time_unix_nano,
                        value: Some(number_data_point::Value::AsDouble(value(s))),
                        ..NumberDataPoint::default()
                    })
                    .collect()
            };
            let data = match kind {
                0 => metric::Data::Sum(Sum {
                    data_points: numbers(&|s| 1_000.0 + 7.0 * s as f64),
                    aggregation_temporality: cumulative,
                    is_monotonic: true,
                }),
                1 => metric::Data::Gauge(Gauge {
                    data_points: numbers(&|s| 52_428_800.0 + 4_096.0 * s as f64),
                }),
                _ => metric::Data::Histogram(Histogram {
                    data_points: (0..shape.series)
                        .map(|s| {
                            // A bell over the buckets, shifted by series.
                            let counts: Vec<u64> = (0..=BOUNDS.len())
                                .map(|b| {
                                    let d = b.abs_diff(3 + s % 6) as u64;
                                    (64 >> d.min(6)) + (s as u64 % 3)
                                })
                                .collect();
                            HistogramDataPoint {
                                attributes: series_attributes(s),
                                start_time_unix_nano: start_unix_nano,
                                time_unix_nano,
                                count: counts.iter().sum(),
                                sum: Some(12.5 + s as f64),
                                bucket_counts: counts,
                                explicit_bounds: BOUNDS.to_vec(),
                                min: Some(0.001),
                                max: Some(8.2),
                                ..HistogramDataPoint::default()
                            }
                        })
                        .collect(),
                    aggregation_temporality: cumulative,
                }),
            };
            Metric {
                name,
                description: String::new(),
                unit: unit.to_owned(),
                data: Some(data),
                ..Metric::default()
            }
        })
        .collect();
    let mut resource = resource_attributes();
    resource.push(kv(
        "service.instance.id",
        any_value::Value::StringValue(instance.to_owned()),
    ));
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: resource,
                ..Resource::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "loadgen".to_owned(),
                    version: "0.1.0".to_owned(),
                    ..InstrumentationScope::default()
                }),
                metrics,
                ..ScopeMetrics::default()
            }],
            ..ResourceMetrics::default()
        }],
    }
}

/// An encoded metric request and where its points' times sit.
#[derive(Clone, Debug)]
pub struct MetricTemplate {
    pub shape: MetricShape,
    bytes: Vec<u8>,
    times: Vec<usize>,
}

impl MetricTemplate {
    #[must_use]
    pub fn new(shape: MetricShape, start_unix_nano: u64, instance: &str) -> Self {
        let bytes = request(&shape, start_unix_nano, TIME_MARKER, instance).encode_to_vec();
        let marker = TIME_MARKER.to_le_bytes();
        let times: Vec<usize> = (0..bytes.len().saturating_sub(7))
            .filter(|&i| bytes[i..i + 8] == marker)
            .collect();
        debug_assert_eq!(times.len(), shape.points_per_request());
        Self {
            shape,
            bytes,
            times,
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

    /// Writes one request into `out` (replacing its content), every point at `time_unix_nano`.
    pub fn render(&self, time_unix_nano: u64, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&self.bytes);
        let time = time_unix_nano.to_le_bytes();
        for &at in &self.times {
            out[at..at + 8].copy_from_slice(&time);
        }
    }
}
