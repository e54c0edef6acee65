//! A Jaeger api_v3 answer through the `--jaeger` client's decoders (`viewer::jaeger::answer`),
//! shared by the `jaeger_answers` fuzz target and the viewer's own test of random and mutated
//! answers (`viewer/tests/jaeger_answers.rs`, which includes this file), so `cargo test` runs
//! it too.
//!
//! The first byte picks what the rest is: 0 a search's HTTP JSON body (`{"result": …}` chunks
//! or `{"error": …}`), 1 the services' HTTP JSON, 2 a gRPC trace stream (`TracesData` messages
//! in gRPC framing: a flag byte, a 4-byte big-endian length, the message; the last may be cut
//! short), 3 a gRPC `GetServicesResponse`. Besides "no panic": every error, and the message
//! taken from an error body, is printable as it is (escaping it changes nothing) and short;
//! what decodes is ingested into a small store and reported without a raw ESC.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, span};
use prost::Message as _;
use viewer::ingest::Counters;
use viewer::jaeger::{JaegerError, answer};
use viewer::receiver::Limits;
use viewer::store::Store;

/// Bytes of an error's text at most: Jaeger's part is cut to `MESSAGE_CHARS` characters, each
/// at most 10 bytes escaped (`\u{10ffff}`), around our own words.
const MAX_ERROR_BYTES: usize = answer::MESSAGE_CHARS * 10 + 512;

pub fn jaeger_answer(data: &[u8]) {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let limits = Limits::default();
    let mut payloads = Vec::new();
    match which % 4 {
        0 => match answer::http_traces(body, &limits) {
            Ok(p) => payloads = p,
            Err(e) => printable(&e.0),
        },
        1 => {
            if let Err(e) = answer::http_services(body) {
                printable(&e.0);
            }
        }
        2 => {
            for message in grpc_messages(body) {
                match answer::grpc_traces(message, &limits) {
                    Ok(p) => payloads.push(p),
                    Err(JaegerError(e)) => {
                        printable(&e);
                        break;
                    }
                }
            }
        }
        _ => {
            if let Err(e) = answer::grpc_services(body) {
                printable(&e.0);
            }
        }
    }
    printable(&answer::http_error_message(body));

    let mut store = Store::new(64).with_max_trace_spans(48);
    for p in payloads {
        store.ingest_payload(p);
    }
    let st = store.stats().traces;
    assert!(st.spans <= 64, "over the cap: {st:?}");
    let report = viewer::report::render(&store, &Counters::default());
    assert!(!report.contains('\x1b'), "raw escape in the report");
}

/// Text that may be printed as it is: escaping it changes nothing, and it is short.
fn printable(text: &str) {
    assert_eq!(viewer::format::safe(text), text, "not escaped");
    assert!(text.len() <= MAX_ERROR_BYTES, "{} bytes", text.len());
}

/// The messages of a gRPC stream's frames, the last one cut short if the bytes end first.
fn grpc_messages(mut body: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let header = body.get(..5)?;
        let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
        let rest = &body[5..];
        let (message, after) = rest.split_at(len.min(rest.len()));
        body = after;
        Some(message)
    })
}

/// Valid answers of each kind (and a few awkward ones), behind their selector byte: the fuzz
/// target's seeds (`cargo run --example jaeger_seeds`) and what the viewer's test mutates.
#[must_use]
pub fn seeds() -> Vec<Vec<u8>> {
    let hostile = r"\u001b]0;PWNED\u0007\u001b[2J\u202e";
    let chunk = |trace: u8, name: &str| {
        format!(
            r#"{{"result":{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"shop"}}}}]}},"scopeSpans":[{{"scope":{{"name":"s"}},"spans":[{{"traceId":"{trace:032x}","spanId":"00000000000000b4","parentSpanId":"","name":"{name}","kind":2,"startTimeUnixNano":"1000","endTimeUnixNano":"2000","attributes":[{{"key":"http.route","value":{{"stringValue":"/cart"}}}}],"events":[{{"timeUnixNano":"1500","name":"retry"}}],"status":{{"code":2,"message":"declined"}}}},{{"traceId":"{trace:032x}","spanId":"00000000000000b5","parentSpanId":"00000000000000b4","name":"child","startTimeUnixNano":"1100","endTimeUnixNano":"1900"}}]}}]}}]}}}}"#
        )
    };
    let tagged = |which: u8, body: &[u8]| {
        let mut seed = vec![which];
        seed.extend_from_slice(body);
        seed
    };
    let frame = |message: &[u8]| {
        let mut f = vec![0];
        f.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
        f.extend_from_slice(message);
        f
    };
    let mut stream = Vec::new();
    for t in 1..=2u8 {
        stream.extend(frame(&traces_data(t).encode_to_vec()));
    }
    // A last frame cut short.
    stream.extend(&frame(&traces_data(3).encode_to_vec())[..20]);
    vec![
        tagged(
            0,
            format!("{}\n{}", chunk(1, "GET /cart"), chunk(2, hostile)).as_bytes(),
        ),
        tagged(
            0,
            format!(r#"{{"error":{{"httpCode":500,"message":"{hostile}"}}}}"#).as_bytes(),
        ),
        tagged(
            0,
            br#"{"error":{"httpCode":404,"message":"trace not found"}}"#,
        ),
        tagged(
            1,
            format!(r#"{{"services":["shop","billing","{hostile}"]}}"#).as_bytes(),
        ),
        tagged(2, &stream),
        // GetServicesResponse { services: ["shop", "billing"] }
        tagged(3, b"\x0a\x04shop\x0a\x07billing"),
    ]
}

/// A `TracesData` (the wire shape of an export request): trace `t`, a root and a child, with an
/// attribute, an event and an error status.
fn traces_data(t: u8) -> ExportTraceServiceRequest {
    let span = |id: u8, parent: u8, name: &str| Span {
        trace_id: vec![t; 16],
        span_id: vec![id; 8],
        parent_span_id: if parent == 0 {
            Vec::new()
        } else {
            vec![parent; 8]
        },
        name: name.into(),
        start_time_unix_nano: 1_000 + u64::from(id),
        end_time_unix_nano: 2_000,
        attributes: vec![KeyValue {
            key: "http.route".into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue("/cart".into())),
            }),
            ..Default::default()
        }],
        events: vec![span::Event {
            time_unix_nano: 1_500,
            name: "retry".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue("shop".into())),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![span(1, 0, "GET /cart"), span(2, 1, "charge \u{1b}[2J")],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}
