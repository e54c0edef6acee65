//! Writes the seed corpus of the `otlp_signals` target: a few small, valid OTLP logs and
//! metrics requests (every metric type, exemplars, records with and without trace ids, an
//! escape sequence, a nested body), each as protobuf and as OTLP/JSON behind the selector byte
//! the target reads (0 logs/protobuf, 1 metrics/protobuf, 2 logs/JSON, 3 metrics/JSON).
//!
//! Run from fuzz/: cargo run --example signal_seeds

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, exemplar, exponential_histogram_data_point, metric, number_data_point,
    summary_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

fn s(v: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(any_value::Value::StringValue(v.into())),
    })
}

fn kv(k: &str, v: Option<AnyValue>) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: v,
        ..KeyValue::default()
    }
}

fn resource(service: &str) -> Option<Resource> {
    Some(Resource {
        attributes: vec![kv("service.name", s(service))],
        ..Resource::default()
    })
}

fn scope() -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: "seed".into(),
        version: "1.0".into(),
        ..InstrumentationScope::default()
    })
}

fn logs() -> Vec<ExportLogsServiceRequest> {
    let record = |sev: i32, body: Option<AnyValue>, trace: Vec<u8>, span: Vec<u8>| LogRecord {
        time_unix_nano: 1_700_000_000_000_000_000,
        observed_time_unix_nano: 1_700_000_000_000_000_100,
        severity_number: sev,
        severity_text: "INFO".into(),
        body,
        attributes: vec![kv("http.route", s("/pay")), kv("n", Some(AnyValue { value: Some(any_value::Value::IntValue(7)) }))],
        trace_id: trace,
        span_id: span,
        event_name: String::new(),
        ..LogRecord::default()
    };
    let nested = Some(AnyValue {
        value: Some(any_value::Value::KvlistValue(KeyValueList {
            values: vec![kv("error", s("payment failed")), kv("line", s("a\x1b[2Jb"))],
        })),
    });
    vec![
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: resource("payments"),
                scope_logs: vec![ScopeLogs {
                    scope: scope(),
                    log_records: vec![
                        record(9, s("charging card"), vec![0xaa; 16], vec![3; 8]),
                        record(13, s("card declined\nretrying"), vec![0xaa; 16], vec![3; 8]),
                        record(17, nested, vec![0xaa; 16], vec![1; 8]),
                        record(0, None, Vec::new(), Vec::new()),
                    ],
                    ..ScopeLogs::default()
                }],
                ..ResourceLogs::default()
            }],
        },
        // Invalid ids: rejected and counted.
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: resource("bad\x1b[31m"),
                scope_logs: vec![ScopeLogs {
                    log_records: vec![record(21, s("x"), vec![1, 2, 3], vec![1; 8])],
                    ..ScopeLogs::default()
                }],
                ..ResourceLogs::default()
            }],
        },
    ]
}

fn metrics() -> Vec<ExportMetricsServiceRequest> {
    let t = |i: u64| 1_700_000_000_000_000_000 + i * 1_000_000_000;
    let attrs = || vec![kv("endpoint", s("jokes api"))];
    let ex = || Exemplar {
        time_unix_nano: t(2),
        value: Some(exemplar::Value::AsDouble(0.03)),
        trace_id: vec![0xaa; 16],
        span_id: vec![3; 8],
        ..Exemplar::default()
    };
    let number = |i: u64, v: f64| NumberDataPoint {
        attributes: attrs(),
        start_time_unix_nano: t(0),
        time_unix_nano: t(i),
        value: Some(number_data_point::Value::AsDouble(v)),
        exemplars: vec![ex()],
        ..NumberDataPoint::default()
    };
    let metric = |name: &str, data| Metric {
        name: name.into(),
        description: "seed".into(),
        unit: "s".into(),
        data: Some(data),
        ..Metric::default()
    };
    let all = vec![
        metric(
            "requests",
            metric::Data::Sum(Sum {
                data_points: vec![number(1, 3.0), number(2, 5.0), number(1, 4.0)],
                aggregation_temporality: 2,
                is_monotonic: true,
            }),
        ),
        metric(
            "bytes",
            metric::Data::Sum(Sum {
                data_points: vec![number(1, 3.0), number(2, 5.0)],
                aggregation_temporality: 1,
                is_monotonic: true,
            }),
        ),
        metric("queue", metric::Data::Gauge(Gauge { data_points: vec![number(3, 1.5)] })),
        metric(
            "duration",
            metric::Data::Histogram(Histogram {
                data_points: vec![HistogramDataPoint {
                    attributes: attrs(),
                    start_time_unix_nano: t(0),
                    time_unix_nano: t(2),
                    count: 10,
                    sum: Some(1.5),
                    bucket_counts: vec![1, 5, 4],
                    explicit_bounds: vec![0.01, 0.1],
                    exemplars: vec![ex()],
                    min: Some(0.001),
                    max: Some(0.5),
                    ..HistogramDataPoint::default()
                }],
                aggregation_temporality: 1,
            }),
        ),
        metric(
            "duration.exp",
            metric::Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![ExponentialHistogramDataPoint {
                    attributes: attrs(),
                    start_time_unix_nano: t(0),
                    time_unix_nano: t(2),
                    count: 6,
                    sum: Some(3.0),
                    scale: 2,
                    zero_count: 1,
                    positive: Some(exponential_histogram_data_point::Buckets {
                        offset: -3,
                        bucket_counts: vec![1, 2, 2],
                    }),
                    negative: None,
                    ..ExponentialHistogramDataPoint::default()
                }],
                aggregation_temporality: 2,
            }),
        ),
        metric(
            "latency.summary",
            metric::Data::Summary(Summary {
                data_points: vec![SummaryDataPoint {
                    attributes: attrs(),
                    start_time_unix_nano: t(0),
                    time_unix_nano: t(2),
                    count: 4,
                    sum: 2.0,
                    quantile_values: vec![summary_data_point::ValueAtQuantile {
                        quantile: 0.5,
                        value: 0.4,
                    }],
                    ..SummaryDataPoint::default()
                }],
            }),
        ),
    ];
    vec![ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource("jokes-api"),
            scope_metrics: vec![ScopeMetrics {
                scope: scope(),
                metrics: all,
                ..ScopeMetrics::default()
            }],
            ..ResourceMetrics::default()
        }],
    }]
}

fn write(dir: &str, name: String, selector: u8, body: &[u8]) {
    let mut bytes = vec![selector];
    bytes.extend_from_slice(body);
    std::fs::write(format!("{dir}/{name}"), bytes).expect("write seed");
}

fn main() {
    let dir = "corpus/otlp_signals";
    std::fs::create_dir_all(dir).expect("corpus dir");
    for (i, req) in logs().into_iter().enumerate() {
        write(dir, format!("seed-logs-{i}.pb"), 0, &req.encode_to_vec());
        write(dir, format!("seed-logs-{i}.json"), 2, &serde_json::to_vec(&req).unwrap());
    }
    for (i, req) in metrics().into_iter().enumerate() {
        write(dir, format!("seed-metrics-{i}.pb"), 1, &req.encode_to_vec());
        write(dir, format!("seed-metrics-{i}.json"), 3, &serde_json::to_vec(&req).unwrap());
    }
    println!("wrote the seeds into {dir}/");
}
