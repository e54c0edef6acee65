use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use super::*;
use crate::model::{
    Batch, OwnedAttr, OwnedEvent, OwnedLink, OwnedResource, OwnedScope, OwnedSpan, SpanKind,
    StatusCode, Value,
};
use crate::receiver::{Limits, convert};
use crate::store::tests::span;

/// Every value type, nested ones included, and a string too long to be interned.
fn every_value() -> Vec<OwnedAttr> {
    vec![
        ("s".into(), Value::Str("short".into())),
        ("long".into(), Value::Str("x".repeat(200).into())),
        ("empty string".into(), Value::Str("".into())),
        ("i".into(), Value::Int(-42)),
        ("big".into(), Value::Int(i64::MAX)),
        ("d".into(), Value::Double(2.5)),
        ("b".into(), Value::Bool(true)),
        ("bytes".into(), Value::Bytes(vec![0, 1, 0xfe, 0xff].into())),
        (
            "array".into(),
            Value::Array(
                vec![
                    Value::Str("a".into()),
                    Value::Int(1),
                    Value::Array(vec![Value::Bool(false)].into()),
                ]
                .into(),
            ),
        ),
        (
            "map".into(),
            Value::Map(
                vec![
                    ("k".into(), Value::Str("v".into())),
                    ("n".into(), Value::Double(-0.5)),
                    (
                        "inner".into(),
                        Value::Map(vec![("deep".into(), Value::Int(7))].into()),
                    ),
                ]
                .into(),
            ),
        ),
        ("nothing".into(), Value::Empty),
    ]
}

/// A trace over two resources and three scopes, with every part of a span filled somewhere.
fn store_with_a_rich_trace() -> Store {
    let mut root = span(
        0xabc,
        1,
        0,
        1_700_000_000_000_000_000,
        1_700_000_000_500_000_000,
        "GET /",
    );
    root.kind = SpanKind::Server;
    root.status = StatusCode::Error;
    root.status_message = "boom \"quoted\"\nnext line".into();
    root.attrs = every_value();
    root.events = vec![
        OwnedEvent {
            time: 1_700_000_000_100_000_000,
            name: "exception".into(),
            attrs: every_value(),
        },
        OwnedEvent {
            time: 1_700_000_000_200_000_000,
            name: "bare".into(),
            attrs: vec![],
        },
    ];
    root.links = vec![OwnedLink {
        trace_id: u128::MAX - 1,
        span_id: 0x0102_0304_0506_0708,
        attrs: vec![("why".into(), Value::Str("retry".into()))],
    }];
    let mut child = span(
        0xabc,
        2,
        1,
        1_700_000_000_010_000_000,
        1_700_000_000_020_000_000,
        "SELECT",
    );
    child.kind = SpanKind::Client;
    child.status = StatusCode::Ok;
    let mut other_scope = span(
        0xabc,
        3,
        1,
        1_700_000_000_030_000_000,
        1_700_000_000_040_000_000,
        "é ✓",
    );
    other_scope.kind = SpanKind::Consumer;
    let mut remote = span(
        0xabc,
        4,
        2,
        1_700_000_000_012_000_000,
        1_700_000_000_018_000_000,
        "query",
    );
    remote.kind = SpanKind::Producer;
    let orphan = span(
        0xabc,
        5,
        99,
        1_700_000_000_050_000_000,
        1_700_000_000_060_000_000,
        "late",
    );
    let api = vec![
        ("service.name".into(), Value::Str("api".into())),
        ("host.arch".into(), Value::Str("amd64".into())),
        ("process.pid".into(), Value::Int(1234)),
    ];
    let mut store = Store::new(1000);
    store.ingest(Batch::from_owned(
        vec![
            OwnedResource {
                attrs: api.clone(),
                scopes: vec![
                    OwnedScope {
                        name: "http".into(),
                        version: "1.2".into(),
                        spans: vec![root, child],
                    },
                    OwnedScope {
                        name: "queue".into(),
                        version: String::new(),
                        spans: vec![other_scope],
                    },
                ],
            },
            OwnedResource {
                attrs: vec![("service.name".into(), Value::Str("db".into()))],
                scopes: vec![OwnedScope {
                    name: "sql".into(),
                    version: "0.1".into(),
                    spans: vec![remote],
                }],
            },
        ],
        0,
    ));
    // Another request of the first resource: grouped with the first in the output.
    store.ingest(Batch::from_owned(
        vec![OwnedResource {
            attrs: api,
            scopes: vec![OwnedScope {
                name: "http".into(),
                version: "1.2".into(),
                spans: vec![orphan],
            }],
        }],
        0,
    ));
    store
}

/// A stored trace's spans as owned data with their resource's attributes and their scope,
/// by span id: what a round trip must keep.
fn spans_of(store: &Store, trace: &Trace) -> Vec<(Vec<OwnedAttr>, (String, String), OwnedSpan)> {
    let attrs = |attrs: &[Attr]| -> Vec<OwnedAttr> {
        attrs
            .iter()
            .map(|a| (store.str(a.key()).into(), store.resolve(&a.value())))
            .collect()
    };
    let mut out: Vec<_> = trace
        .spans()
        .iter()
        .map(|s| {
            let scope = store.scope(s.scope);
            (
                attrs(&store.resource(s.resource).attrs),
                (
                    store.str(scope.name).to_owned(),
                    store.str(scope.version).to_owned(),
                ),
                OwnedSpan {
                    trace_id: trace.id,
                    span_id: s.span_id,
                    parent_id: s.parent_id,
                    name: store.str(s.name).into(),
                    kind: s.kind,
                    start: s.start,
                    end: s.end,
                    status: s.status,
                    status_message: s.status_message().to_owned(),
                    attrs: attrs(&s.attrs),
                    events: s
                        .events()
                        .iter()
                        .map(|e| OwnedEvent {
                            time: e.time,
                            name: store.str(e.name).into(),
                            attrs: attrs(&e.attrs),
                        })
                        .collect(),
                    links: s
                        .links()
                        .iter()
                        .map(|l| OwnedLink {
                            trace_id: l.trace_id,
                            span_id: l.span_id,
                            attrs: attrs(&l.attrs),
                        })
                        .collect(),
                },
            )
        })
        .collect();
    out.sort_by_key(|(_, _, s)| s.span_id);
    out
}

/// Reads OTLP JSON lines the way the receiver reads a JSON request, into a fresh store.
fn read_back(lines: &str) -> Store {
    let mut store = Store::new(1000);
    for line in lines.lines() {
        let req: ExportTraceServiceRequest = serde_json::from_str(line).expect("valid OTLP JSON");
        let (batch, problem) = convert::trace_request(req, &Limits::default());
        assert!(problem.is_empty(), "{problem}");
        store.ingest(batch);
    }
    store
}

#[test]
fn a_trace_written_as_otlp_json_reads_back_the_same() {
    let store = store_with_a_rich_trace();
    let trace = store.trace(store.find(0xabc).unwrap()).unwrap();
    let json = trace_json(&store, trace);
    assert!(!json.contains('\n'), "one line");
    let back = read_back(&json);
    let again = back.trace(back.find(0xabc).unwrap()).unwrap();
    assert_eq!(again.span_count(), 5);
    assert_eq!(spans_of(&back, again), spans_of(&store, trace));
    // Written again from the copy: the same line.
    assert_eq!(trace_json(&back, again), json);
}

#[test]
fn spans_are_grouped_by_resource_then_scope() {
    let store = store_with_a_rich_trace();
    let trace = store.trace(store.find(0xabc).unwrap()).unwrap();
    let req = trace_request(&store, trace);
    let shape: Vec<Vec<(String, usize)>> = req
        .resource_spans
        .iter()
        .map(|rs| {
            rs.scope_spans
                .iter()
                .map(|ss| (ss.scope.as_ref().unwrap().name.clone(), ss.spans.len()))
                .collect()
        })
        .collect();
    assert_eq!(
        shape,
        vec![
            vec![("http".to_owned(), 3), ("queue".to_owned(), 1)],
            vec![("sql".to_owned(), 1)],
        ]
    );
}

#[test]
fn the_json_follows_the_otlp_json_mapping() {
    let store = store_with_a_rich_trace();
    let trace = store.trace(store.find(0xabc).unwrap()).unwrap();
    let json = trace_json(&store, trace);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let span = &v["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    // Ids in lowercase hex; an absent parent empty.
    assert_eq!(span["traceId"], "00000000000000000000000000000abc");
    assert_eq!(span["spanId"], "0000000000000001");
    assert_eq!(span["parentSpanId"], "");
    assert_eq!(
        span["links"][0]["traceId"],
        "fffffffffffffffffffffffffffffffe"
    );
    // 64-bit integers as decimal strings; enums as integers.
    assert_eq!(span["startTimeUnixNano"], "1700000000000000000");
    assert_eq!(span["endTimeUnixNano"], "1700000000500000000");
    assert_eq!(span["events"][0]["timeUnixNano"], "1700000000100000000");
    assert_eq!(span["kind"], 2);
    assert_eq!(span["status"]["code"], 2);
    assert_eq!(span["status"]["message"], "boom \"quoted\"\nnext line");
    let attr = |key: &str| {
        span["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|kv| kv["key"] == key)
            .unwrap()["value"]
            .clone()
    };
    assert_eq!(attr("i"), serde_json::json!({"intValue": "-42"}));
    assert_eq!(
        attr("big"),
        serde_json::json!({"intValue": "9223372036854775807"})
    );
    assert_eq!(attr("d"), serde_json::json!({"doubleValue": 2.5}));
    assert_eq!(attr("b"), serde_json::json!({"boolValue": true}));
    assert_eq!(attr("s"), serde_json::json!({"stringValue": "short"}));
    // Bytes in base64.
    assert_eq!(attr("bytes"), serde_json::json!({"bytesValue": "AAH+/w=="}));
    assert_eq!(
        attr("array"),
        serde_json::json!({"arrayValue": {"values": [
            {"stringValue": "a"},
            {"intValue": "1"},
            {"arrayValue": {"values": [{"boolValue": false}]}}
        ]}})
    );
    assert_eq!(attr("nothing"), serde_json::json!({}));
    assert_eq!(
        v["resourceSpans"][0]["resource"]["attributes"][0],
        serde_json::json!({"key": "service.name", "value": {"stringValue": "api"}})
    );
    assert_eq!(
        v["resourceSpans"][0]["scopeSpans"][0]["scope"]["name"],
        "http"
    );
    assert!(!json.contains("null"), "{json}");
}

#[test]
fn doubles_that_are_not_finite_are_spelled_as_the_mapping_says() {
    let mut s = span(1, 1, 0, 1, 2, "s");
    s.attrs = vec![
        ("nan".into(), Value::Double(f64::NAN)),
        ("inf".into(), Value::Double(f64::INFINITY)),
        (
            "nested".into(),
            Value::Array(vec![Value::Double(f64::NEG_INFINITY)].into()),
        ),
    ];
    let mut store = Store::new(10);
    store.ingest(crate::store::tests::batch("svc", vec![s]));
    let trace = store.trace(store.find(1).unwrap()).unwrap();
    let json = trace_json(&store, trace);
    assert!(
        json.contains(r#"{"key":"nan","value":{"doubleValue":"NaN"}}"#),
        "{json}"
    );
    assert!(json.contains(r#"{"key":"inf","value":{"doubleValue":"Infinity"}}"#));
    assert!(json.contains(r#"{"arrayValue":{"values":[{"doubleValue":"-Infinity"}]}}"#));
    assert!(!json.contains("otlp-json:"));
}

#[test]
fn write_traces_writes_one_line_per_trace_and_skips_evicted_ones() {
    let mut store = store_with_a_rich_trace();
    store.ingest(crate::store::tests::batch(
        "worker",
        vec![
            span(0xdef, 1, 0, 5, 9, "tick"),
            span(0xdef, 2, 1, 6, 7, "step"),
        ],
    ));
    let gone = TraceRef {
        slot: 99,
        generation: 0,
    };
    let refs = vec![store.find(0xabc).unwrap(), gone, store.find(0xdef).unwrap()];
    let mut out = Vec::new();
    assert_eq!(write_traces(&store, refs, &mut out).unwrap(), 2);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), 2);
    assert!(text.ends_with('\n'));
    let back = read_back(&text);
    for id in [0xabc, 0xdef] {
        let a = store.trace(store.find(id).unwrap()).unwrap();
        let b = back.trace(back.find(id).unwrap()).unwrap();
        assert_eq!(spans_of(&back, b), spans_of(&store, a));
    }
}
