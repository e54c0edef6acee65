//! The evaluator: each field, operator and combination against hand-built traces, log records
//! and metrics; compile errors with their positions.

use super::*;
use crate::model::{
    LogBatch, LogResource, LogScope, MetricBatch, MetricKind, MetricResource, MetricScope,
    NewLogRecord, NewMetric, NewPoint, OwnedEvent, PointValue, SpanKind, StatusCode, Value,
};
use crate::store::Store;
use crate::store::tests::{batch, span};

const MS: u64 = 1_000_000;

/// Trace 1: api GET /cart (server, 1.2 s) → db SELECT (client, 300 ms, error "timeout").
/// Trace 2: api GET /items (server, 50 ms, http.response.status_code=200, an event).
/// Trace 3: worker job (internal, 3 s; resource host.name=w1), trace id 0xabcdef….
fn traces() -> Store {
    let mut store = Store::new(1000);
    let mut root = span(1, 1, 0, 0, 1200 * MS, "GET /cart");
    root.kind = SpanKind::Server;
    root.attrs = vec![("http.response.status_code".into(), Value::Int(500))];
    let mut db = span(1, 2, 1, 100 * MS, 400 * MS, "SELECT");
    db.kind = SpanKind::Client;
    db.status = StatusCode::Error;
    db.status_message = "timeout".into();
    db.attrs = vec![("db.system".into(), Value::Str("postgresql".into()))];
    store.ingest(batch("api", vec![root]));
    store.ingest(batch("db", vec![db]));
    let mut items = span(2, 1, 0, 0, 50 * MS, "GET /items");
    items.kind = SpanKind::Server;
    items.status = StatusCode::Ok;
    items.attrs = vec![
        ("http.response.status_code".into(), Value::Int(200)),
        ("ratio".into(), Value::Double(0.5)),
        ("cached".into(), Value::Bool(true)),
    ];
    items.events = vec![OwnedEvent {
        time: 10,
        name: "cache.miss".into(),
        attrs: vec![("cache.key".into(), Value::Str("items:7".into()))],
    }];
    store.ingest(batch("api", vec![items]));
    let mut job = span(0xabcd_ef00 << 96, 7, 0, 0, 3000 * MS, "job");
    job.kind = SpanKind::Internal;
    store.ingest(crate::model::Batch::from_owned(
        vec![crate::model::OwnedResource {
            attrs: vec![
                ("service.name".into(), Value::Str("worker".into())),
                ("host.name".into(), Value::Str("w1".into())),
            ],
            scopes: vec![crate::model::OwnedScope {
                name: "t".into(),
                version: String::new(),
                spans: vec![job],
            }],
        }],
        0,
    ));
    store
}

fn ids(store: &Store, q: &str) -> Vec<u128> {
    let f = SpanFilter::parse(q, store)
        .unwrap_or_else(|e| panic!("{q}: {e}"))
        .unwrap();
    f.traces(store)
        .into_iter()
        .map(|r| store.trace(r).unwrap().id)
        .collect()
}

const JOB: u128 = 0xabcd_ef00 << 96;

#[test]
fn span_fields() {
    let s = traces();
    assert_eq!(ids(&s, "service=db"), vec![1]);
    assert_eq!(ids(&s, "service!=api"), vec![1, JOB]);
    assert_eq!(ids(&s, "name=\"GET /items\""), vec![2]);
    assert_eq!(ids(&s, "name~get"), vec![1, 2]);
    assert_eq!(ids(&s, "name=~\"GET /(cart|nope)\""), vec![1]);
    // A regular expression matches the whole value.
    assert!(ids(&s, "name=~GET").is_empty());
    assert_eq!(ids(&s, "kind=client"), vec![1]);
    assert_eq!(ids(&s, "kind=SPAN_KIND_SERVER"), vec![1, 2]);
    assert_eq!(ids(&s, "status=error"), vec![1]);
    assert_eq!(ids(&s, "status=ok"), vec![2]);
    assert_eq!(ids(&s, "status.message~time"), vec![1]);
    assert_eq!(ids(&s, "duration>1s"), vec![1, JOB]);
    assert_eq!(ids(&s, "duration>=300ms and duration<1s"), vec![1]);
    assert_eq!(ids(&s, "duration<=50ms"), vec![2]);
    assert_eq!(ids(&s, "duration=50ms"), vec![2]);
    assert_eq!(ids(&s, "trace=abcd"), vec![JOB]);
    assert_eq!(ids(&s, "trace=ABCDEF00"), vec![JOB]);
    assert_eq!(ids(&s, "trace!=abcd"), vec![1, 2]);
    assert_eq!(ids(&s, "span=0000000000000002"), vec![1]);
    assert_eq!(ids(&s, "event.name=cache.miss"), vec![2]);
}

#[test]
fn trace_fields_are_the_whole_traces() {
    let s = traces();
    assert_eq!(ids(&s, "trace.duration>1s"), vec![1, JOB]);
    assert_eq!(ids(&s, "traceDuration>1s"), vec![1, JOB]);
    // The db span is short but its trace is long.
    assert_eq!(ids(&s, "service=db and trace.duration>1s"), vec![1]);
    assert_eq!(ids(&s, "trace.service=api"), vec![1, 2]);
    assert_eq!(ids(&s, "rootName=job"), vec![JOB]);
    assert_eq!(ids(&s, "trace.spans>=2"), vec![1]);
    assert_eq!(ids(&s, "trace.errors=0"), vec![2, JOB]);
}

#[test]
fn attributes_by_type_and_scope() {
    let s = traces();
    assert_eq!(ids(&s, "http.response.status_code>=500"), vec![1]);
    assert_eq!(ids(&s, "http.response.status_code=200"), vec![2]);
    assert_eq!(ids(&s, "http.response.status_code~50"), vec![1]);
    assert_eq!(ids(&s, "ratio<1"), vec![2]);
    assert_eq!(ids(&s, "cached=true"), vec![2]);
    assert_eq!(ids(&s, "db.system=postgresql"), vec![1]);
    assert_eq!(ids(&s, "span.db.system=postgresql"), vec![1]);
    assert!(ids(&s, "resource.db.system=postgresql").is_empty());
    assert_eq!(ids(&s, "host.name=w1"), vec![JOB]);
    assert_eq!(ids(&s, "resource.host.name=w1"), vec![JOB]);
    assert!(ids(&s, "span.host.name=w1").is_empty());
    assert_eq!(ids(&s, "cache.key~items"), vec![2]);
    assert_eq!(ids(&s, "event.cache.key~items"), vec![2]);
    assert!(ids(&s, "span.cache.key~items").is_empty());
    // A key nobody sends matches nothing, even with !=.
    assert!(ids(&s, "no.such.key!=x").is_empty());
    // `.name` is an attribute, not the span name.
    assert!(ids(&s, ".name=job").is_empty());
}

#[test]
fn and_or_not_and_words() {
    let s = traces();
    // and holds for one span: no single span is both api and an error.
    assert!(ids(&s, "service=api and status=error").is_empty());
    assert_eq!(ids(&s, "service=api or status=error"), vec![1, 2]);
    assert_eq!(ids(&s, "not service=api"), vec![1, JOB]);
    assert_eq!(
        ids(&s, "(kind=server or kind=internal) and duration>1s"),
        vec![1, JOB]
    );
    assert_eq!(
        ids(&s, "kind=server or kind=internal and duration>1s"),
        vec![1, 2, JOB]
    );
    // Bare words search names, services and attribute values, as before the language.
    assert_eq!(ids(&s, "postgres"), vec![1]);
    assert_eq!(ids(&s, "GET /items"), vec![2]);
    assert_eq!(ids(&s, "worker"), vec![JOB]);
    assert_eq!(ids(&s, "get duration<100ms"), vec![2]);
    assert_eq!(ids(&s, "\"kind=server\""), Vec::<u128>::new());
    assert_eq!(ids(&s, &format!("{JOB:032x}")), vec![JOB]);
}

fn compile_err(q: &str) -> QueryError {
    match SpanFilter::parse(q, &traces()) {
        Err(e) => e,
        Ok(_) => panic!("{q} compiled"),
    }
}

#[test]
fn compile_errors_say_where() {
    let e = compile_err("status=error and duration>1x");
    assert_eq!(e.at, 26);
    assert!(e.message.contains("not a duration"), "{e}");
    let e = compile_err("kind=sever");
    assert_eq!(e.at, 5);
    assert!(e.message.contains("server"), "{e}");
    let e = compile_err("name=~\"(unclosed\"");
    assert_eq!(e.at, 6);
    assert!(e.message.contains("regular expression"), "{e}");
    let e = compile_err("a=1 or severity>=warn");
    assert_eq!(e.at, 7);
    assert!(e.message.contains("spans have no severity"), "{e}");
    let e = compile_err("duration~1s");
    assert_eq!(e.at, 0);
    let e = compile_err("trace=xyz");
    assert_eq!(e.at, 6);
    assert_eq!(
        e.to_string(),
        "at column 7: \"xyz\" is not a hex id (or the start of one, up to 32 digits)"
    );
}

fn logs() -> Store {
    let mut store = Store::new(10);
    let record = |severity, body: &str, trace, attrs: Vec<(&str, Value)>| NewLogRecord {
        time: 1,
        severity,
        body: Value::Str(body.into()),
        trace_id: trace,
        span_id: 1,
        attrs: attrs.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        ..NewLogRecord::default()
    };
    store.ingest_logs(LogBatch {
        resources: vec![LogResource {
            attrs: vec![("service.name".into(), Value::Str("api".into()))],
            scopes: vec![LogScope {
                records: vec![
                    record(9, "started", 0, vec![]),
                    record(13, "slow upstream", 0xab, vec![("retry", Value::Int(2))]),
                    record(17, "upstream failed: timeout", 0xab, vec![]),
                    record(21, "{\"panic\":true}", 0, vec![]),
                ],
                ..LogScope::default()
            }],
        }],
        rejected: 0,
    });
    store
}

fn bodies(store: &Store, q: &str) -> Vec<String> {
    let f = LogFilter::parse(q, store)
        .unwrap_or_else(|e| panic!("{q}: {e}"))
        .unwrap();
    LogFilter::records(Some(&f), store, crate::model::Severity::Unspecified, None)
        .into_iter()
        .map(|s| {
            store
                .value_text(&store.logs.get(s).unwrap().body)
                .into_owned()
        })
        .collect()
}

#[test]
fn log_fields() {
    let s = logs();
    assert_eq!(bodies(&s, "severity>=error").len(), 2);
    assert_eq!(bodies(&s, "severity=warn"), vec!["slow upstream"]);
    assert_eq!(bodies(&s, "severity<warn"), vec!["started"]);
    assert_eq!(
        bodies(&s, "severity>=17 and body~timeout"),
        vec!["upstream failed: timeout"]
    );
    assert_eq!(bodies(&s, "body=~\"slow.*\""), vec!["slow upstream"]);
    assert_eq!(bodies(&s, "trace=00000000000000000000000000000ab").len(), 0);
    assert_eq!(bodies(&s, "trace~ab").len(), 2);
    assert_eq!(bodies(&s, "retry>1"), vec!["slow upstream"]);
    assert_eq!(bodies(&s, "service=api").len(), 4);
    assert_eq!(
        bodies(&s, "upstream"),
        vec!["slow upstream", "upstream failed: timeout"]
    );
    assert_eq!(bodies(&s, "panic"), vec!["{\"panic\":true}"]);
    let e = LogFilter::parse("duration>1s", &s).err().unwrap();
    assert!(e.message.contains("log records have no duration"), "{e}");
    let e = LogFilter::parse("severity>=loud", &s).err().unwrap();
    assert_eq!(e.at, 10);
}

#[test]
fn metric_fields() {
    let mut store = Store::new(10);
    let point = |route: &str| NewPoint {
        attrs: vec![("http.route".into(), Value::Str(route.into()))],
        start: 1,
        time: 2,
        value: PointValue::Number(1.0),
        exemplars: Vec::new(),
    };
    let metric = |name: &str, kind, unit: &str, points| NewMetric {
        name: name.into(),
        description: "how many".into(),
        unit: unit.into(),
        kind,
        points,
    };
    store.ingest_metrics(MetricBatch {
        resources: vec![MetricResource {
            attrs: vec![("service.name".into(), Value::Str("api".into()))],
            scopes: vec![MetricScope {
                metrics: vec![
                    metric(
                        "requests",
                        MetricKind::Sum {
                            monotonic: true,
                            delta: false,
                        },
                        "1",
                        vec![point("/cart"), point("/items")],
                    ),
                    metric("memory", MetricKind::Gauge, "By", vec![point("-")]),
                ],
                ..MetricScope::default()
            }],
        }],
        rejected: 0,
    });
    let names = |q: &str| -> Vec<String> {
        let f = MetricFilter::parse(q, &store).unwrap().unwrap();
        (0..store.metrics.metrics().len() as u32)
            .filter(|&id| f.matches_metric(&store, id))
            .map(|id| store.str(store.metrics.metric(id).unwrap().name).to_owned())
            .collect()
    };
    assert_eq!(names("type=counter"), vec!["requests"]);
    assert_eq!(names("type=sum"), vec!["requests"]);
    assert_eq!(names("type=gauge"), vec!["memory"]);
    assert_eq!(names("metric~mem"), vec!["memory"]);
    assert_eq!(names("unit=By"), vec!["memory"]);
    assert_eq!(names("http.route=/items"), vec!["requests"]);
    assert_eq!(names("service=api").len(), 2);
    assert_eq!(names("how"), vec!["requests", "memory"]);
    assert!(MetricFilter::parse("type=histo", &store).is_err());
    assert!(MetricFilter::parse("status=error", &store).is_err());
}
