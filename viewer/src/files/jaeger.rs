//! Jaeger's JSON (`model/json` in Jaeger): what its UI downloads and its query API's
//! `/api/traces` answers, `{"data":[trace, …]}`; also a bare array of traces or one trace.
//!
//! Into our model, as Jaeger's own OTLP translator maps it: a process becomes a resource
//! (`service.name` and its tags); tags become attributes, except `span.kind` (the kind),
//! `otel.status_code` / `otel.status_description` and `error=true` (the status: an explicit
//! `otel.status_code` wins), and `otel.scope.name` / `otel.scope.version` (or the older
//! `otel.library.*`, the scope); span logs become events named by their `event` field ("log"
//! without one); the first `CHILD_OF` reference within the trace is the parent, every other
//! reference a link with `opentracing.ref_type`; times in microseconds become nanoseconds;
//! 64-bit trace ids (16 hex digits, or fewer with leading zeros dropped) are padded.
//!
//! One payload per trace; a trace that does not parse is reported and skipped.

use std::io::BufRead;

use compact_str::CompactString;
use rustc_hash::FxHashMap;
use serde::Deserialize;
use serde_json::Value as Json;

use super::{FileError, Options, Sink, otlp_json};
use crate::ingest::Payload;
use crate::model::{
    Batch, OwnedAttr, OwnedEvent, OwnedLink, OwnedResource, OwnedScope, OwnedSpan, SpanKind,
    StatusCode, Value,
};
use crate::receiver::Limits;

#[derive(Deserialize, Default)]
#[serde(default)]
struct Trace {
    #[serde(rename = "traceID")]
    trace_id: String,
    spans: Vec<Span>,
    processes: FxHashMap<String, Process>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Span {
    #[serde(rename = "traceID")]
    trace_id: String,
    #[serde(rename = "spanID")]
    span_id: String,
    /// Older documents give the parent so rather than as a reference.
    #[serde(rename = "parentSpanID")]
    parent_span_id: String,
    operation_name: String,
    references: Vec<Reference>,
    start_time: u64,
    duration: u64,
    tags: Vec<KeyValue>,
    logs: Vec<Log>,
    #[serde(rename = "processID")]
    process_id: String,
    /// A process given in the span itself rather than in the trace's `processes`.
    process: Option<Process>,
    warnings: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Reference {
    ref_type: String,
    #[serde(rename = "traceID")]
    trace_id: String,
    #[serde(rename = "spanID")]
    span_id: String,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default, rename_all = "camelCase")]
struct Process {
    service_name: String,
    tags: Vec<KeyValue>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Log {
    timestamp: u64,
    fields: Vec<KeyValue>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct KeyValue {
    key: String,
    #[serde(rename = "type")]
    ty: String,
    value: Json,
}

/// Characters of an error the document reports (`errors[].msg`) kept.
const ERROR_CHARS: usize = 300;

pub(super) fn read_document(
    reader: &mut dyn BufRead,
    options: &Options,
    sink: &mut Sink<'_>,
) -> Result<(), FileError> {
    let mut text = Vec::new();
    reader
        .read_to_end(&mut text)
        .map_err(|e| sink.fatal(None, format!("cannot read: {e}")))?;
    let doc: Json = serde_json::from_slice(&text).map_err(|e| {
        sink.fatal(
            Some(e.line() as u64),
            format!("malformed JSON (Jaeger): {e}"),
        )
    })?;
    drop(text);
    let traces = match doc {
        Json::Array(traces) => traces,
        Json::Object(mut map) => match map.remove("data") {
            Some(Json::Array(traces)) => {
                // The query API's own errors (`"errors":[{"code":…,"msg":…}]`), if any.
                if let Some(Json::Array(errors)) = map.remove("errors") {
                    for e in errors {
                        let msg = e.get("msg").and_then(Json::as_str).unwrap_or_default();
                        sink.bad(
                            None,
                            format!(
                                "the Jaeger document reports an error: {}",
                                crate::format::safe_capped(msg, ERROR_CHARS)
                            ),
                        );
                    }
                }
                traces
            }
            Some(Json::Null) | None if map.contains_key("spans") => vec![Json::Object(map)],
            Some(Json::Null) | None => Vec::new(),
            Some(_) => {
                return Err(sink.fatal(None, "not Jaeger JSON: `data` is not a list of traces"));
            }
        },
        _ => return Err(sink.fatal(None, "not Jaeger JSON: neither an object nor a list")),
    };
    for (i, t) in traces.into_iter().enumerate() {
        match Trace::deserialize(t) {
            Ok(trace) => {
                let (batch, problem) = convert(trace, &options.limits);
                if batch.span_count() > 0 || batch.rejected > 0 {
                    sink.payload(Payload::Spans(batch), None, &problem);
                }
            }
            Err(e) => sink.bad(None, format!("trace {}: not a Jaeger trace: {e}", i + 1)),
        }
    }
    Ok(())
}

/// One trace into a batch: its spans grouped by process (resource) and scope, and what was
/// dropped (spans with invalid ids).
fn convert(trace: Trace, limits: &Limits) -> (Batch, String) {
    let mut resources: Vec<OwnedResource> = Vec::new();
    let mut by_process: FxHashMap<String, usize> = FxHashMap::default();
    let mut rejected = 0u64;
    let mut problem = String::new();
    for (n, span) in trace.spans.into_iter().enumerate() {
        let key = if span.process.is_some() {
            format!("\0inline{n}")
        } else {
            span.process_id.clone()
        };
        let ri = *by_process.entry(key).or_insert_with(|| {
            let process = span
                .process
                .clone()
                .or_else(|| trace.processes.get(&span.process_id).cloned())
                .unwrap_or_default();
            resources.push(OwnedResource {
                attrs: resource_attrs(process, limits),
                scopes: Vec::new(),
            });
            resources.len() - 1
        });
        let (scope, version, owned) = match span_of(span, &trace.trace_id, limits) {
            Ok(s) => s,
            Err(why) => {
                rejected += 1;
                if problem.is_empty() {
                    problem = why.to_owned();
                }
                continue;
            }
        };
        let scopes = &mut resources[ri].scopes;
        let si = match scopes
            .iter()
            .position(|s| s.name == scope && s.version == version)
        {
            Some(i) => i,
            None => {
                scopes.push(OwnedScope {
                    name: scope,
                    version,
                    spans: Vec::new(),
                });
                scopes.len() - 1
            }
        };
        scopes[si].spans.push(owned);
    }
    resources.retain(|r| !r.scopes.is_empty());
    if rejected > 0 {
        problem = format!("{rejected} span(s) rejected: {problem}");
    }
    (Batch::from_owned(resources, rejected), problem)
}

fn resource_attrs(p: Process, limits: &Limits) -> Vec<OwnedAttr> {
    let mut attrs = Vec::with_capacity(p.tags.len() + 1);
    if !p.service_name.is_empty() {
        attrs.push(("service.name".into(), Value::Str(p.service_name.into())));
    }
    attrs.extend(
        p.tags
            .into_iter()
            .filter(|t| t.key != "service.name")
            .map(|t| attr(t, limits)),
    );
    attrs.truncate(limits.max_attrs);
    attrs
}

type ScopedSpan = (String, String, OwnedSpan);

fn span_of(s: Span, trace_hex: &str, limits: &Limits) -> Result<ScopedSpan, &'static str> {
    let trace_id = hex_id(if s.trace_id.is_empty() {
        trace_hex
    } else {
        &s.trace_id
    })
    .filter(|&t| t != 0)
    .ok_or("traceID must be up to 32 hex digits and not all zero")?;
    let span_id = hex_id(&s.span_id)
        .and_then(|id| u64::try_from(id).ok())
        .filter(|&id| id != 0)
        .ok_or("spanID must be up to 16 hex digits and not all zero")?;
    let mut parent_id = hex_id(&s.parent_span_id)
        .and_then(|id| u64::try_from(id).ok())
        .unwrap_or(0);
    let mut links = Vec::new();
    for r in s.references {
        let Some(ref_trace) = hex_id(&r.trace_id).filter(|&t| t != 0) else {
            continue;
        };
        let Some(ref_span) = hex_id(&r.span_id)
            .and_then(|id| u64::try_from(id).ok())
            .filter(|&id| id != 0)
        else {
            continue;
        };
        let child_of = r.ref_type.eq_ignore_ascii_case("CHILD_OF");
        if child_of && parent_id == 0 && ref_trace == trace_id {
            parent_id = ref_span;
        } else if ref_span != parent_id || ref_trace != trace_id {
            links.push(OwnedLink {
                trace_id: ref_trace,
                span_id: ref_span,
                attrs: vec![(
                    "opentracing.ref_type".into(),
                    Value::Str(if child_of { "child_of" } else { "follows_from" }.into()),
                )],
            });
        }
    }
    links.truncate(limits.max_events);

    let mut kind = SpanKind::Unspecified;
    let mut status = StatusCode::Unset;
    let mut explicit_status = false;
    let mut status_message = String::new();
    let mut scope = String::new();
    let mut version = String::new();
    let mut attrs = Vec::with_capacity(s.tags.len());
    for t in s.tags {
        let text = || match &t.value {
            Json::String(v) => v.clone(),
            other => other.to_string(),
        };
        match t.key.as_str() {
            "span.kind" => {
                kind = match text().to_ascii_lowercase().as_str() {
                    "server" => SpanKind::Server,
                    "client" => SpanKind::Client,
                    "producer" => SpanKind::Producer,
                    "consumer" => SpanKind::Consumer,
                    "internal" => SpanKind::Internal,
                    _ => SpanKind::Unspecified,
                };
            }
            "otel.status_code" => {
                explicit_status = true;
                status = match text().to_ascii_uppercase().as_str() {
                    "ERROR" => StatusCode::Error,
                    "OK" => StatusCode::Ok,
                    _ => StatusCode::Unset,
                };
            }
            "otel.status_description" => status_message = text(),
            "error" if matches!(&t.value, Json::Bool(true)) || text() == "true" => {
                if !explicit_status {
                    status = StatusCode::Error;
                }
            }
            "error" if matches!(&t.value, Json::Bool(false)) || text() == "false" => {}
            "otel.scope.name" | "otel.library.name" => scope = text(),
            "otel.scope.version" | "otel.library.version" => version = text(),
            _ => attrs.push(attr(t, limits)),
        }
    }
    if let Some(w) = s.warnings.filter(|w| !w.is_empty()) {
        attrs.push((
            "jaeger.warnings".into(),
            Value::Array(w.into_iter().map(|w| Value::Str(w.into())).collect()),
        ));
    }
    attrs.truncate(limits.max_attrs);

    let events = s
        .logs
        .into_iter()
        .take(limits.max_events)
        .map(|log| {
            let mut name = CompactString::const_new("log");
            let mut attrs = Vec::with_capacity(log.fields.len());
            for f in log.fields {
                match (&f.key[..], &f.value) {
                    ("event", Json::String(e)) => name = e.as_str().into(),
                    _ => attrs.push(attr(f, limits)),
                }
            }
            attrs.truncate(limits.max_attrs);
            OwnedEvent {
                time: log.timestamp.saturating_mul(1000),
                name,
                attrs,
            }
        })
        .collect();

    let start = s.start_time.saturating_mul(1000);
    let span = OwnedSpan {
        trace_id,
        span_id,
        parent_id,
        name: limit(s.operation_name, limits).into(),
        kind,
        start,
        end: start.saturating_add(s.duration.saturating_mul(1000)),
        status,
        status_message: limit(status_message, limits),
        attrs,
        events,
        links,
    };
    Ok((scope, version, span))
}

/// A tag's value by its `type` (`string`, `bool`, `int64`, `float64`, `binary`), or by its JSON
/// type when it has none or another.
fn attr(kv: KeyValue, limits: &Limits) -> OwnedAttr {
    let value = match (kv.ty.as_str(), kv.value) {
        ("bool", Json::String(s)) => Value::Bool(s.eq_ignore_ascii_case("true")),
        ("int64", Json::String(s)) if s.parse::<i64>().is_ok() => {
            Value::Int(s.parse().unwrap_or_default())
        }
        ("float64", Json::String(s)) if s.parse::<f64>().is_ok() => {
            Value::Double(s.parse().unwrap_or_default())
        }
        ("float64", Json::Number(n)) => Value::Double(n.as_f64().unwrap_or_default()),
        ("binary", Json::String(s)) => match otlp_json::base64(&s) {
            Some(mut bytes) => {
                bytes.truncate(limits.max_attr_value_len);
                Value::Bytes(bytes.into_boxed_slice())
            }
            None => Value::Str(limit(s, limits).into()),
        },
        ("string", Json::String(s)) => Value::Str(limit(s, limits).into()),
        (_, v) => json_value(v, limits),
    };
    (kv.key.into(), value)
}

fn json_value(v: Json, limits: &Limits) -> Value {
    match v {
        Json::Null => Value::Empty,
        Json::Bool(b) => Value::Bool(b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Double(n.as_f64().unwrap_or_default()),
        },
        Json::String(s) => Value::Str(limit(s, limits).into()),
        other => Value::Str(limit(other.to_string(), limits).into()),
    }
}

/// A string cut to the longest value allowed, marked as the receivers mark it.
fn limit(s: String, limits: &Limits) -> String {
    let max = limits.max_attr_value_len;
    if s.len() <= max {
        return s;
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…[{} more bytes]", &s[..cut], s.len() - cut)
}

/// An id of up to 32 hex digits (leading zeros may be left out: Jaeger writes 64-bit trace ids
/// as 16 digits); `None` when empty or not hex.
fn hex_id(s: &str) -> Option<u128> {
    if s.is_empty() || s.len() > 32 {
        return None;
    }
    u128::from_str_radix(s, 16).ok()
}
