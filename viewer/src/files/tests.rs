use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message as _;

use super::*;
use crate::model::{
    LogBatch, MetricBatch, MetricKind, OwnedLink, OwnedResource, PointValue, SpanKind, StatusCode,
    Value,
};

/// A fresh path in a directory of its own for this test run.
fn path(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "viewer-files-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let p = path(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

struct Read {
    payloads: Vec<Payload>,
    errors: Vec<FileError>,
    progress: Vec<Progress>,
    summary: Summary,
}

fn read_with(p: &Path, options: &Options) -> Read {
    let mut payloads = Vec::new();
    let mut errors = Vec::new();
    let mut progress = Vec::new();
    let summary = read(
        p,
        options,
        |x| payloads.push(x),
        |e| errors.push(e),
        |x| progress.push(x),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    Read {
        payloads,
        errors,
        progress,
        summary,
    }
}

fn load(p: &Path) -> Read {
    read_with(p, &Options::default())
}

fn spans(p: &Payload) -> Vec<OwnedResource> {
    match p {
        Payload::Spans(b) => b.to_owned(),
        _ => panic!("not spans"),
    }
}

fn metrics(p: &Payload) -> &MetricBatch {
    match p {
        Payload::Metrics(b) => b,
        _ => panic!("not metrics"),
    }
}

fn logs(p: &Payload) -> &LogBatch {
    match p {
        Payload::Logs(b) => b,
        _ => panic!("not logs"),
    }
}

fn s(v: &str) -> Value {
    Value::Str(v.into())
}

/// As the Collector's file exporter writes a trace export request, but with upper-case hex ids
/// (and a number where it writes a string).
const COLLECTOR_TRACES: &str = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},"scopeSpans":[{"scope":{"name":"io.opentelemetry.http","version":"1.2"},"spans":[{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","parentSpanId":"","name":"POST /cart","kind":2,"startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000","attributes":[{"key":"http.status_code","value":{"intValue":"500"}},{"key":"retry","value":{"intValue":3}},{"key":"ok","value":{"boolValue":false}}],"status":{"code":2,"message":"boom"}},{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b175","parentSpanId":"EEE19B7EC3C1B174","name":"SELECT","kind":3,"startTimeUnixNano":1544712660100000000,"endTimeUnixNano":"1544712660200000000","events":[{"timeUnixNano":"1544712660150000000","name":"retry","attributes":[{"key":"n","value":{"intValue":"1"}}]}],"status":{}}]}]}]}"#;

const METRICS_LINE: &str = r#"{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},"scopeMetrics":[{"scope":{"name":"m"},"metrics":[{"name":"http.requests","unit":"1","sum":{"dataPoints":[{"attributes":[{"key":"route","value":{"stringValue":"/cart"}}],"startTimeUnixNano":"1","timeUnixNano":"1544712660000000000","asInt":"42"}],"aggregationTemporality":2,"isMonotonic":true}}]}]}]}"#;

const LOGS_LINE: &str = r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},"scopeLogs":[{"scope":{},"logRecords":[{"timeUnixNano":"1544712660300000000","observedTimeUnixNano":1544712660300000001,"severityNumber":17,"severityText":"ERROR","body":{"stringValue":"payment failed"},"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174"}]}]}]}"#;

const TRACE: u128 = 0x5b8e_fff7_9803_8103_d269_b633_813f_c60c;
const ROOT: u64 = 0xeee1_9b7e_c3c1_b174;

#[test]
fn a_collector_traces_file_with_upper_case_hex_and_string_numbers_loads() {
    // opentelemetry-proto's serde types take all of it as it is (no normalising needed).
    let direct = serde_json::from_str::<ExportTraceServiceRequest>(COLLECTOR_TRACES).unwrap();
    assert_eq!(
        direct.resource_spans[0].scope_spans[0].spans[0].span_id,
        ROOT.to_be_bytes()
    );
    let p = write("traces.json", format!("{COLLECTOR_TRACES}\n").as_bytes());
    let r = load(&p);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.summary.format, Format::OtlpJsonLines);
    assert_eq!(r.summary.compression, Compression::None);
    assert_eq!((r.summary.payloads, r.summary.spans), (1, 2));
    let res = spans(&r.payloads[0]);
    assert_eq!(res[0].attrs, vec![("service.name".into(), s("checkout"))]);
    let scope = &res[0].scopes[0];
    assert_eq!(
        (&scope.name[..], &scope.version[..]),
        ("io.opentelemetry.http", "1.2")
    );
    let (root, child) = (&scope.spans[0], &scope.spans[1]);
    assert_eq!(
        (root.trace_id, root.span_id, root.parent_id),
        (TRACE, ROOT, 0)
    );
    assert_eq!(root.name, "POST /cart");
    assert_eq!(root.kind, SpanKind::Server);
    assert_eq!(
        (root.status, &root.status_message[..]),
        (StatusCode::Error, "boom")
    );
    assert_eq!(
        (root.start, root.end),
        (1_544_712_660_000_000_000, 1_544_712_661_000_000_000)
    );
    assert_eq!(
        root.attrs,
        vec![
            ("http.status_code".into(), Value::Int(500)),
            ("retry".into(), Value::Int(3)),
            ("ok".into(), Value::Bool(false)),
        ]
    );
    assert_eq!(
        (child.trace_id, child.span_id, child.parent_id),
        (TRACE, ROOT + 1, ROOT)
    );
    assert_eq!(child.kind, SpanKind::Client);
    assert_eq!(child.start, 1_544_712_660_100_000_000);
    assert_eq!(child.events[0].name, "retry");
    assert_eq!(child.events[0].time, 1_544_712_660_150_000_000);
    assert_eq!(child.events[0].attrs, vec![("n".into(), Value::Int(1))]);
    // Progress ends at the whole file.
    let size = std::fs::metadata(&p).unwrap().len();
    assert_eq!(
        r.progress.last(),
        Some(&Progress {
            bytes_read: size,
            bytes_total: size
        })
    );
}

fn mixed() -> String {
    format!(
        "{COLLECTOR_TRACES}\n{METRICS_LINE}\n{{\"resourceSpans\":[{{\"scopeSpans\":[\n\n{LOGS_LINE}\n\n"
    )
}

fn check_mixed(r: &Read, name: &str) {
    assert_eq!(
        r.payloads.len(),
        3,
        "{:?} {:?}",
        r.errors,
        r.payloads.iter().map(Payload::signal).collect::<Vec<_>>()
    );
    assert_eq!(
        r.payloads.iter().map(Payload::signal).collect::<Vec<_>>(),
        [Signal::Traces, Signal::Metrics, Signal::Logs]
    );
    assert_eq!(
        (
            r.summary.spans,
            r.summary.metric_points,
            r.summary.log_records
        ),
        (2, 1, 1)
    );
    assert_eq!(r.summary.bad_records, 1);
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].line, Some(3));
    let shown = r.errors[0].to_string();
    assert!(
        shown.contains(&format!("{name}:3: malformed JSON: EOF while parsing")),
        "{shown}"
    );

    let m = metrics(&r.payloads[1]);
    let metric = &m.resources[0].scopes[0].metrics[0];
    assert_eq!(metric.name, "http.requests");
    assert_eq!(
        metric.kind,
        MetricKind::Sum {
            monotonic: true,
            delta: false
        }
    );
    assert_eq!(metric.points[0].value, PointValue::Number(42.0));
    assert_eq!(metric.points[0].time, 1_544_712_660_000_000_000);
    assert_eq!(metric.points[0].attrs, vec![("route".into(), s("/cart"))]);

    let l = logs(&r.payloads[2]);
    let rec = &l.resources[0].scopes[0].records[0];
    assert_eq!((rec.trace_id, rec.span_id), (TRACE, ROOT));
    assert_eq!(rec.severity, 17);
    assert_eq!(rec.body, s("payment failed"));
    assert_eq!(rec.observed_time, 1_544_712_660_300_000_001);
}

#[test]
fn mixed_lines_load_and_a_bad_line_is_reported_with_its_number() {
    let p = write("mixed.jsonl", mixed().as_bytes());
    let r = load(&p);
    check_mixed(&r, "mixed.jsonl");
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn gzip_and_zstd_files_load_by_extension_or_by_magic() {
    let text = mixed();
    let gz = gzip(text.as_bytes());
    let zst = zstd::encode_all(text.as_bytes(), 3).unwrap();
    for (name, bytes, compression) in [
        ("mixed.jsonl.gz", &gz, Compression::Gzip),
        ("mixed-gz", &gz, Compression::Gzip),
        ("mixed.jsonl.zst", &zst, Compression::Zstd),
        ("mixed.zstd", &zst, Compression::Zstd),
        ("mixed.log", &zst, Compression::Zstd),
    ] {
        let p = write(name, bytes);
        let r = load(&p);
        assert_eq!(r.summary.compression, compression, "{name}");
        check_mixed(&r, name);
        // Progress counts the compressed bytes on disk.
        let last = r.progress.last().unwrap();
        assert_eq!(last.bytes_total, bytes.len() as u64);
        assert_eq!(last.bytes_read, bytes.len() as u64);
    }
}

#[test]
fn a_truncated_gzip_file_loads_what_came_before_and_says_so() {
    let mut text = String::new();
    for _ in 0..50 {
        text.push_str(COLLECTOR_TRACES);
        text.push('\n');
    }
    let gz = gzip(text.as_bytes());
    let p = write("cut.json.gz", &gz[..gz.len() - 10]);
    let r = load(&p);
    assert!(r.summary.spans >= 2, "{:?}", r.summary);
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert!(r.errors[0].message.contains("cut short or corrupt"));
}

#[test]
fn what_the_serde_types_refuse_is_normalised() {
    // Enums by name, snake-case names, base64 ids, a 64-bit trace id, counts as strings.
    let line = r#"{"resource_spans":[{"scope_spans":[{"spans":[
        {"trace_id":"W47/95gDgQPSabYzgT/GDA==","span_id":"7uGbfsPBsXQ=","name":"a","kind":"SPAN_KIND_CONSUMER","start_time_unix_nano":"5","status":{"code":"STATUS_CODE_OK"},"dropped_attributes_count":"2"},
        {"traceId":"D269B633813FC60C","spanId":"1","name":"b","kind":"server"}]}]}]}"#
        .replace('\n', "");
    let logs_line = r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityNumber":"SEVERITY_NUMBER_WARN2","body":{"stringValue":"x"}}]}]}]}"#;
    let metrics_line = r#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"g","sum":{"aggregationTemporality":"AGGREGATION_TEMPORALITY_DELTA","dataPoints":[{"asDouble":"2.5"}]}}]}]}]}"#;
    let p = write(
        "odd.json",
        format!("{line}\n{logs_line}\n{metrics_line}\n").as_bytes(),
    );
    let r = load(&p);
    assert_eq!(
        r.payloads.len(),
        3,
        "{:?} {:?}",
        r.errors,
        r.payloads.iter().map(Payload::signal).collect::<Vec<_>>()
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let res = spans(&r.payloads[0]);
    let sp = &res[0].scopes[0].spans;
    assert_eq!((sp[0].trace_id, sp[0].span_id), (TRACE, ROOT));
    assert_eq!(sp[0].kind, SpanKind::Consumer);
    assert_eq!(sp[0].status, StatusCode::Ok);
    assert_eq!(sp[0].start, 5);
    assert_eq!(sp[1].trace_id, 0xd269_b633_813f_c60c);
    assert_eq!(sp[1].span_id, 1);
    assert_eq!(sp[1].kind, SpanKind::Server);
    assert_eq!(
        logs(&r.payloads[1]).resources[0].scopes[0].records[0].severity,
        14
    );
    let m = &metrics(&r.payloads[2]).resources[0].scopes[0].metrics[0];
    assert_eq!(
        m.kind,
        MetricKind::Sum {
            monotonic: false,
            delta: true
        }
    );
    assert_eq!(m.points[0].value, PointValue::Number(2.5));
}

#[test]
fn a_pretty_printed_request_is_read_whole() {
    let value: serde_json::Value = serde_json::from_str(COLLECTOR_TRACES).unwrap();
    let pretty = serde_json::to_string_pretty(&value).unwrap();
    let logs: serde_json::Value = serde_json::from_str(LOGS_LINE).unwrap();
    let text = format!(
        "{pretty}\n{}\n",
        serde_json::to_string_pretty(&logs).unwrap()
    );
    let p = write("request.json", text.as_bytes());
    let r = load(&p);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!((r.summary.spans, r.summary.log_records), (2, 1));
    assert_eq!(spans(&r.payloads[0])[0].scopes[0].spans[1].parent_id, ROOT);
}

fn kv(key: &str, v: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..KeyValue::default()
    }
}

fn resource() -> Option<Resource> {
    Some(Resource {
        attributes: vec![kv("service.name", "cart")],
        ..Resource::default()
    })
}

fn trace_req(n: u64) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(),
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: TRACE.to_be_bytes().to_vec(),
                    span_id: (ROOT + n).to_be_bytes().to_vec(),
                    parent_span_id: ROOT.to_be_bytes().to_vec(),
                    name: format!("span {n}"),
                    kind: 3,
                    start_time_unix_nano: 10,
                    end_time_unix_nano: 20,
                    attributes: vec![kv("peer", "db")],
                    status: Some(Status {
                        code: 2,
                        message: "down".into(),
                    }),
                    ..Span::default()
                }],
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

fn metric_req(name: &str) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: name.into(),
                    data: Some(metric::Data::Gauge(Gauge {
                        data_points: vec![NumberDataPoint {
                            time_unix_nano: 7,
                            value: Some(number_data_point::Value::AsDouble(0.5)),
                            ..NumberDataPoint::default()
                        }],
                    })),
                    ..Metric::default()
                }],
                ..ScopeMetrics::default()
            }],
            ..ResourceMetrics::default()
        }],
    }
}

fn log_req() -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(),
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    time_unix_nano: 9,
                    severity_number: 9,
                    body: Some(AnyValue {
                        value: Some(any_value::Value::StringValue("hello".into())),
                    }),
                    ..LogRecord::default()
                }],
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    }
}

fn framed(records: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        out.extend_from_slice(&u32::try_from(r.len()).unwrap().to_be_bytes());
        out.extend_from_slice(r);
    }
    out
}

#[test]
fn length_prefixed_protobuf_of_each_signal_loads_and_a_cut_record_is_reported() {
    // A 16-byte metric name, the shape closest to a span's 16-byte trace id.
    let records = [
        trace_req(1).encode_to_vec(),
        metric_req("sixteen-bytes-ab").encode_to_vec(),
        log_req().encode_to_vec(),
        trace_req(2).encode_to_vec(),
    ];
    let mut bytes = framed(&records);
    let last = trace_req(3).encode_to_vec();
    bytes.extend_from_slice(&u32::try_from(last.len()).unwrap().to_be_bytes());
    bytes.extend_from_slice(&last[..last.len() / 2]);
    // A name that names no signal: the structure alone tells.
    let p = write("export.bin", &bytes);
    let r = load(&p);
    assert_eq!(r.summary.format, Format::OtlpProtobuf);
    assert_eq!(
        r.payloads.iter().map(Payload::signal).collect::<Vec<_>>(),
        [
            Signal::Traces,
            Signal::Metrics,
            Signal::Logs,
            Signal::Traces
        ]
    );
    let sp = &spans(&r.payloads[0])[0].scopes[0].spans[0];
    assert_eq!(
        (sp.trace_id, sp.span_id, sp.parent_id),
        (TRACE, ROOT + 1, ROOT)
    );
    assert_eq!(sp.name, "span 1");
    assert_eq!((sp.kind, sp.status), (SpanKind::Client, StatusCode::Error));
    assert_eq!(sp.attrs, vec![("peer".into(), s("db"))]);
    let m = metrics(&r.payloads[1]);
    assert_eq!(
        m.resources[0].attrs,
        vec![("service.name".into(), s("cart"))]
    );
    assert_eq!(m.resources[0].scopes[0].metrics[0].name, "sixteen-bytes-ab");
    assert_eq!(
        m.resources[0].scopes[0].metrics[0].points[0].value,
        PointValue::Number(0.5)
    );
    assert_eq!(
        logs(&r.payloads[2]).resources[0].scopes[0].records[0].body,
        s("hello")
    );
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].line, Some(5));
    assert!(
        r.errors[0].to_string().ends_with(&format!(
            "export.bin:5: record cut short: {} of its {} bytes (the file ends early)",
            last.len() / 2,
            last.len()
        )),
        "{}",
        r.errors[0]
    );
    assert_eq!(r.summary.bad_records, 1);
}

#[test]
fn the_structure_tells_the_signal_and_the_name_settles_the_rest() {
    use protobuf::classify;
    assert_eq!(
        classify(&trace_req(1).encode_to_vec()),
        Some(Signal::Traces)
    );
    assert_eq!(
        classify(&metric_req("m").encode_to_vec()),
        Some(Signal::Metrics)
    );
    assert_eq!(classify(&log_req().encode_to_vec()), Some(Signal::Logs));
    assert_eq!(
        classify(&metric_req("sixteen-bytes-ab").encode_to_vec()),
        Some(Signal::Metrics)
    );
    // An empty request says nothing.
    assert_eq!(classify(&[]), None);
    assert_eq!(
        signal_in_name(Path::new("/x/otel-metrics.pb.zst")),
        Some(Signal::Metrics)
    );
    assert_eq!(
        signal_in_name(Path::new("logs-2024.binpb")),
        Some(Signal::Logs)
    );
    assert_eq!(signal_in_name(Path::new("traces.pb")), Some(Signal::Traces));
    assert_eq!(signal_in_name(Path::new("traces-and-logs.pb")), None);
    // A record the structure does not settle, and that decodes as anything: the option, then
    // the name.
    let empty_scope = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(),
            ..ResourceMetrics::default()
        }],
    }
    .encode_to_vec();
    assert_eq!(classify(&empty_scope), None);
}

#[test]
fn the_signal_option_is_taken_for_every_record() {
    let p = write("x.pb", &framed(&[log_req().encode_to_vec()]));
    let r = read_with(
        &p,
        &Options {
            signal: Some(Signal::Logs),
            ..Options::default()
        },
    );
    assert_eq!(r.payloads[0].signal(), Signal::Logs);
}

#[test]
fn legacy_collector_zstd_records_and_a_bad_record_in_the_middle() {
    let json = zstd::encode_all(LOGS_LINE.as_bytes(), 3).unwrap();
    let proto = zstd::encode_all(&trace_req(1).encode_to_vec()[..], 3).unwrap();
    let garbage = vec![0x0a, 0x05, 0xff, 0xff];
    let p = write(
        "traces.proto",
        &framed(&[proto, garbage, json, metric_req("m").encode_to_vec()]),
    );
    let r = load(&p);
    assert_eq!(
        r.payloads.iter().map(Payload::signal).collect::<Vec<_>>(),
        [Signal::Traces, Signal::Logs, Signal::Metrics]
    );
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].line, Some(2));
}

const JAEGER: &str = r#"{"data":[{"traceID":"d269b633813fc60c","spans":[
 {"traceID":"d269b633813fc60c","spanID":"0000000000000001","flags":1,"operationName":"GET /api","references":[],"startTime":1700000000000000,"duration":1500,
  "tags":[{"key":"span.kind","type":"string","value":"server"},{"key":"http.status_code","type":"int64","value":200},{"key":"otel.scope.name","type":"string","value":"net/http"}],
  "logs":[],"processID":"p1","warnings":null},
 {"traceID":"d269b633813fc60c","spanID":"0000000000000002","operationName":"SELECT","references":[{"refType":"CHILD_OF","traceID":"d269b633813fc60c","spanID":"0000000000000001"}],"startTime":1700000000000100,"duration":500,
  "tags":[{"key":"span.kind","type":"string","value":"client"},{"key":"error","type":"bool","value":true},{"key":"db.rows","type":"float64","value":1.5},{"key":"blob","type":"binary","value":"AQI="}],
  "logs":[{"timestamp":1700000000000200,"fields":[{"key":"event","type":"string","value":"exception"},{"key":"message","type":"string","value":"timeout"}]}],"processID":"p2"},
 {"traceID":"d269b633813fc60c","spanID":"0000000000000003","operationName":"publish","references":[{"refType":"FOLLOWS_FROM","traceID":"d269b633813fc60c","spanID":"0000000000000001"}],"startTime":1700000000000300,"duration":10,
  "tags":[{"key":"span.kind","type":"string","value":"producer"},{"key":"otel.status_code","type":"string","value":"OK"},{"key":"error","type":"bool","value":true}],"processID":"p1"},
 {"traceID":"d269b633813fc60c","spanID":"zz","operationName":"broken","startTime":1,"duration":1,"processID":"p1"}
],"processes":{"p1":{"serviceName":"frontend","tags":[{"key":"hostname","type":"string","value":"web-1"}]},"p2":{"serviceName":"db","tags":[]}},"warnings":null}],
"total":0,"limit":0,"offset":0,"errors":null}"#;

#[test]
fn a_jaeger_ui_download_loads_with_parents_kinds_errors_events_and_processes() {
    let p = write("trace-d269b633.json", JAEGER.as_bytes());
    let r = load(&p);
    assert_eq!(r.summary.format, Format::JaegerJson);
    assert_eq!(
        (r.summary.payloads, r.summary.spans, r.summary.rejected),
        (1, 3, 1)
    );
    // The span with a bad id is dropped and said so.
    assert_eq!(r.errors.len(), 1);
    assert!(r.errors[0].message.contains("spanID"), "{}", r.errors[0]);
    let res = spans(&r.payloads[0]);
    assert_eq!(res.len(), 2);
    assert_eq!(
        res[0].attrs,
        vec![
            ("service.name".into(), s("frontend")),
            ("hostname".into(), s("web-1"))
        ]
    );
    assert_eq!(res[1].attrs, vec![("service.name".into(), s("db"))]);
    let trace = 0xd269_b633_813f_c60c_u128;
    // frontend: the server span in scope net/http, the producer in the nameless scope.
    assert_eq!(res[0].scopes[0].name, "net/http");
    let root = &res[0].scopes[0].spans[0];
    assert_eq!((root.trace_id, root.span_id, root.parent_id), (trace, 1, 0));
    assert_eq!(
        (root.name.as_str(), root.kind),
        ("GET /api", SpanKind::Server)
    );
    assert_eq!(
        (root.start, root.end),
        (1_700_000_000_000_000_000, 1_700_000_000_001_500_000)
    );
    assert_eq!(root.status, StatusCode::Unset);
    assert_eq!(
        root.attrs,
        vec![("http.status_code".into(), Value::Int(200))]
    );
    let producer = &res[0].scopes[1].spans[0];
    assert_eq!(res[0].scopes[1].name, "");
    assert_eq!((producer.parent_id, producer.kind), (0, SpanKind::Producer));
    // An explicit otel.status_code wins over error=true.
    assert_eq!(producer.status, StatusCode::Ok);
    assert_eq!(
        producer.links,
        vec![OwnedLink {
            trace_id: trace,
            span_id: 1,
            attrs: vec![("opentracing.ref_type".into(), s("follows_from"))],
        }]
    );
    // db: the client span, child of the root, failed, with its log as an event.
    let child = &res[1].scopes[0].spans[0];
    assert_eq!((child.span_id, child.parent_id), (2, 1));
    assert_eq!(
        (child.kind, child.status),
        (SpanKind::Client, StatusCode::Error)
    );
    assert_eq!(
        child.attrs,
        vec![
            ("db.rows".into(), Value::Double(1.5)),
            ("blob".into(), Value::Bytes(vec![1, 2].into_boxed_slice())),
        ]
    );
    assert!(child.links.is_empty());
    assert_eq!(child.events.len(), 1);
    assert_eq!(child.events[0].name, "exception");
    assert_eq!(child.events[0].time, 1_700_000_000_000_200_000);
    assert_eq!(
        child.events[0].attrs,
        vec![("message".into(), s("timeout"))]
    );
}

#[test]
fn a_bare_jaeger_trace_or_list_loads_too() {
    let doc: serde_json::Value = serde_json::from_str(JAEGER).unwrap();
    let trace = doc["data"][0].clone();
    for text in [
        serde_json::to_string(&trace).unwrap(),
        serde_json::to_string(&vec![trace.clone()]).unwrap(),
    ] {
        let p = write("t.json", text.as_bytes());
        let r = load(&p);
        assert_eq!((r.summary.format, r.summary.spans), (Format::JaegerJson, 3));
    }
}

#[test]
fn files_that_cannot_be_read_or_hold_no_telemetry_are_errors() {
    let err = |p: &Path| read_file(p, &Limits::default(), |_| {}, |_| {}, |_| {}).unwrap_err();
    let missing = path("missing.json");
    let e = err(&missing);
    assert_eq!(e.line, None);
    assert!(e.to_string().contains("cannot open"), "{e}");
    let e = err(&write("notes.txt", b"hello, world\nthis is text\n"));
    assert!(e.message.starts_with("not a telemetry file"), "{e}");
    let e = err(&write("other.json", br#"{"name":"package","version":"1"}"#));
    assert!(e.message.contains("first key is \"name\""), "{e}");
    let e = err(&write("bad.json.gz", b"\x1f\x8bnot really gzip"));
    assert!(e.message.starts_with("cannot read gzip"), "{e}");
    // A Jaeger document that does not parse says where.
    let e = err(&write("j.json", b"{\"data\":[\n{\"traceID\":}]}"));
    assert_eq!(e.line, Some(2));
    // An empty file is an empty file.
    let r = load(&write("empty.jsonl", b""));
    assert_eq!((r.summary.payloads, r.summary.bad_records), (0, 0));
}

#[test]
fn detection_reads_the_content_not_the_name() {
    let d = |name: &str, head: &[u8]| detect(Path::new(name), head);
    assert_eq!(
        d("x.pb", b"  {\"resourceLogs\":[]}"),
        Ok(Format::OtlpJsonLines)
    );
    assert_eq!(
        d("x.json", b"\xEF\xBB\xBF{\n  \"data\": []"),
        Ok(Format::JaegerJson)
    );
    assert_eq!(d("x", b"[]"), Ok(Format::JaegerJson));
    assert_eq!(d("x.json", b"{\"other\":1}\n").ok(), None);
    assert_eq!(d("x.ndjson", b"{\"other\":1}\n"), Ok(Format::OtlpJsonLines));
    let rec = framed(&[trace_req(1).encode_to_vec()]);
    assert_eq!(d("x.json", &rec), Ok(Format::OtlpProtobuf));
    assert!(d("x.json", b"\x00\x00\x00\x05hello").is_err());
}

#[test]
fn a_first_line_cut_short_is_not_taken_for_a_pretty_printed_document() {
    let cut = &COLLECTOR_TRACES[..COLLECTOR_TRACES.len() / 2];
    let p = write(
        "t.jsonl",
        format!("{cut}\n{METRICS_LINE}\n{LOGS_LINE}\n").as_bytes(),
    );
    let r = load(&p);
    assert_eq!(
        r.payloads.iter().map(Payload::signal).collect::<Vec<_>>(),
        [Signal::Metrics, Signal::Logs]
    );
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].line, Some(1));
}
