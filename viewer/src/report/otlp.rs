//! Stored traces back to OTLP JSON: one `ExportTraceServiceRequest` per trace, one per line, as
//! the OpenTelemetry file exporter writes them
//! (<https://opentelemetry.io/docs/specs/otel/protocol/file-exporter/>), so the Collector's
//! `otlpjsonfile` receiver, `otel-tui --from-json-file` and this viewer's own JSON receiver read
//! them back.
//!
//! The request is built from opentelemetry-proto's prost types and written by their serde
//! implementation (`with-serde`), which follows the OTLP/JSON mapping: ids as lowercase hex,
//! 64-bit integers (`startTimeUnixNano`, `intValue`) as decimal strings, bytes as base64, enums
//! (`kind`, `status.code`) as integers, camelCase names. One place it does not: a double that
//! is not finite, which serde_json writes as `null` (the Collector refuses the whole line) where
//! the mapping wants `"NaN"`, `"Infinity"` or `"-Infinity"`; those are written as the mapping
//! says ([`trace_json`]). (The Collector's reader takes them; opentelemetry-proto's serde reader,
//! which this viewer's JSON receiver uses, refuses a request holding one.)

use std::io::{self, Write};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{self as pb, ResourceSpans, ScopeSpans, Status, span};
use rustc_hash::FxHashMap;

use crate::model::{Attr, ResourceId, ScopeId, SpanKind, StatusCode, Value};
use crate::store::{Store, Trace, TraceRef};

/// Stands in for a double that is not finite while the request is serialized: a string no
/// attribute holds in practice (it starts and ends with NUL), replaced afterwards.
const NON_FINITE: [(&str, &str); 3] = [
    ("\u{0}otlp-json:NaN\u{0}", "NaN"),
    ("\u{0}otlp-json:Infinity\u{0}", "Infinity"),
    ("\u{0}otlp-json:-Infinity\u{0}", "-Infinity"),
];

/// A trace as an OTLP export request: its spans grouped by resource and scope, in the order
/// each resource and scope first appears among them.
#[must_use]
pub fn trace_request(store: &Store, trace: &Trace) -> ExportTraceServiceRequest {
    Builder::new(store).request(trace)
}

/// A trace as one line of OTLP JSON (no newline): the request of [`trace_request`].
#[must_use]
pub fn trace_json(store: &Store, trace: &Trace) -> String {
    let mut b = Builder::new(store);
    let req = b.request(trace);
    to_json(&req, b.non_finite)
}

/// A trace's log records as one line of OTLP JSON (no newline), grouped by resource and
/// scope; `None` when it has none.
#[must_use]
pub fn trace_logs_json(store: &Store, trace: &Trace) -> Option<String> {
    let mut b = Builder::new(store);
    let req = b.logs_request(trace)?;
    Some(to_json(&req, b.non_finite))
}

/// A request as OTLP JSON, doubles that are not finite spelled as the mapping says.
fn to_json(req: &impl serde::Serialize, non_finite: bool) -> String {
    // Serializing prost types into a string cannot fail: every map key is a string.
    let json = serde_json::to_string(req).unwrap_or_default();
    if !non_finite {
        return json;
    }
    let mut json = json;
    for (marker, spelled) in NON_FINITE {
        let written = serde_json::to_string(marker).unwrap_or_default();
        json = json.replace(
            &format!("{{\"stringValue\":{written}}}"),
            &format!("{{\"doubleValue\":\"{spelled}\"}}"),
        );
    }
    json
}

/// Writes traces as OTLP JSON lines, one request per trace, each followed by a logs request
/// with the trace's log records when it has any (so `viewer FILE` shows them again, under their
/// spans); traces no longer held are skipped. Returns how many were written.
///
/// # Errors
/// The writer's.
pub fn write_traces(
    store: &Store,
    traces: impl IntoIterator<Item = TraceRef>,
    out: &mut impl Write,
) -> io::Result<usize> {
    let mut n = 0;
    for r in traces {
        let Some(trace) = store.trace(r) else {
            continue;
        };
        out.write_all(trace_json(store, trace).as_bytes())?;
        out.write_all(b"\n")?;
        if let Some(logs) = trace_logs_json(store, trace) {
            out.write_all(logs.as_bytes())?;
            out.write_all(b"\n")?;
        }
        n += 1;
    }
    Ok(n)
}

struct Builder<'a> {
    store: &'a Store,
    /// A double that is not finite was met (see [`NON_FINITE`]).
    non_finite: bool,
}

impl<'a> Builder<'a> {
    fn new(store: &'a Store) -> Self {
        Self {
            store,
            non_finite: false,
        }
    }

    fn request(&mut self, trace: &Trace) -> ExportTraceServiceRequest {
        let mut resource_spans: Vec<ResourceSpans> = Vec::new();
        let mut resource_at: FxHashMap<ResourceId, usize> = FxHashMap::default();
        let mut scope_at: FxHashMap<(ResourceId, ScopeId), usize> = FxHashMap::default();
        let trace_id = trace.id.to_be_bytes().to_vec();
        for s in trace.spans() {
            let r = *resource_at.entry(s.resource).or_insert_with(|| {
                resource_spans.push(self.resource_spans(s.resource));
                resource_spans.len() - 1
            });
            let scopes = &mut resource_spans[r].scope_spans;
            let i = *scope_at.entry((s.resource, s.scope)).or_insert_with(|| {
                scopes.push(scope_spans(self.store, s.scope));
                scopes.len() - 1
            });
            let span = self.span(&trace_id, s);
            resource_spans[r].scope_spans[i].spans.push(span);
        }
        ExportTraceServiceRequest { resource_spans }
    }

    fn logs_request(&mut self, trace: &Trace) -> Option<ExportLogsServiceRequest> {
        let mut resource_logs: Vec<ResourceLogs> = Vec::new();
        let mut resource_at: FxHashMap<ResourceId, usize> = FxHashMap::default();
        let mut scope_at: FxHashMap<(ResourceId, ScopeId), usize> = FxHashMap::default();
        for (_, r) in self.store.logs.of_trace(trace.id) {
            let i = *resource_at.entry(r.resource).or_insert_with(|| {
                let attributes = self.attrs(&self.store.resource(r.resource).attrs);
                resource_logs.push(ResourceLogs {
                    resource: Some(Resource {
                        attributes,
                        ..Resource::default()
                    }),
                    ..ResourceLogs::default()
                });
                resource_logs.len() - 1
            });
            let scopes = &mut resource_logs[i].scope_logs;
            let j = *scope_at.entry((r.resource, r.scope)).or_insert_with(|| {
                let scope = self.store.scope(r.scope);
                scopes.push(ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: self.store.str(scope.name).to_owned(),
                        version: self.store.str(scope.version).to_owned(),
                        ..InstrumentationScope::default()
                    }),
                    ..ScopeLogs::default()
                });
                scopes.len() - 1
            });
            let record = LogRecord {
                time_unix_nano: r.time,
                observed_time_unix_nano: r.time,
                severity_number: i32::from(r.severity),
                severity_text: self.store.str(r.severity_text).to_owned(),
                body: Some(self.value(&r.body)),
                attributes: self.attrs(&r.attrs),
                trace_id: r.trace_id.to_be_bytes().to_vec(),
                span_id: if r.span_id == 0 {
                    Vec::new()
                } else {
                    r.span_id.to_be_bytes().to_vec()
                },
                event_name: self.store.str(r.event_name).to_owned(),
                ..LogRecord::default()
            };
            resource_logs[i].scope_logs[j].log_records.push(record);
        }
        (!resource_logs.is_empty()).then_some(ExportLogsServiceRequest { resource_logs })
    }

    fn resource_spans(&mut self, id: ResourceId) -> ResourceSpans {
        let attributes = self.attrs(&self.store.resource(id).attrs);
        ResourceSpans {
            resource: Some(Resource {
                attributes,
                ..Resource::default()
            }),
            ..ResourceSpans::default()
        }
    }

    fn span(&mut self, trace_id: &[u8], s: &crate::model::Span) -> pb::Span {
        let id = |n: u64| n.to_be_bytes().to_vec();
        pb::Span {
            trace_id: trace_id.to_vec(),
            span_id: id(s.span_id),
            parent_span_id: if s.parent_id == 0 {
                Vec::new()
            } else {
                id(s.parent_id)
            },
            name: self.store.str(s.name).to_owned(),
            kind: kind(s.kind),
            start_time_unix_nano: s.start,
            end_time_unix_nano: s.end,
            attributes: self.attrs(&s.attrs),
            events: s
                .events()
                .iter()
                .map(|e| span::Event {
                    time_unix_nano: e.time,
                    name: self.store.str(e.name).to_owned(),
                    attributes: self.attrs(&e.attrs),
                    ..span::Event::default()
                })
                .collect(),
            links: s
                .links()
                .iter()
                .map(|l| span::Link {
                    trace_id: l.trace_id.to_be_bytes().to_vec(),
                    span_id: id(l.span_id),
                    attributes: self.attrs(&l.attrs),
                    ..span::Link::default()
                })
                .collect(),
            status: Some(Status {
                message: s.status_message().to_owned(),
                code: match s.status {
                    StatusCode::Unset => 0,
                    StatusCode::Ok => 1,
                    StatusCode::Error => 2,
                },
            }),
            ..pb::Span::default()
        }
    }

    fn attrs(&mut self, attrs: &[Attr]) -> Vec<KeyValue> {
        attrs
            .iter()
            .map(|a| KeyValue {
                key: self.store.str(a.key()).to_owned(),
                value: Some(self.value(&a.value())),
                ..KeyValue::default()
            })
            .collect()
    }

    fn value(&mut self, v: &Value) -> AnyValue {
        use any_value::Value as V;
        let value = match v {
            Value::Str(s) => Some(V::StringValue(s.to_string())),
            Value::Sym(s) => Some(V::StringValue(self.store.str(*s).to_owned())),
            Value::Bool(b) => Some(V::BoolValue(*b)),
            Value::Int(i) => Some(V::IntValue(*i)),
            Value::Double(d) if d.is_finite() => Some(V::DoubleValue(*d)),
            Value::Double(d) => {
                self.non_finite = true;
                let marker = if d.is_nan() {
                    NON_FINITE[0].0
                } else if *d > 0.0 {
                    NON_FINITE[1].0
                } else {
                    NON_FINITE[2].0
                };
                Some(V::StringValue(marker.to_owned()))
            }
            Value::Bytes(b) => Some(V::BytesValue(b.to_vec())),
            Value::Array(items) => Some(V::ArrayValue(ArrayValue {
                values: items.iter().map(|v| self.value(v)).collect(),
            })),
            Value::Map(items) => Some(V::KvlistValue(KeyValueList {
                values: items
                    .iter()
                    .map(|(k, v)| KeyValue {
                        key: k.to_string(),
                        value: Some(self.value(v)),
                        ..KeyValue::default()
                    })
                    .collect(),
            })),
            Value::Empty => None,
        };
        AnyValue { value }
    }
}

fn scope_spans(store: &Store, id: ScopeId) -> ScopeSpans {
    let scope = store.scope(id);
    ScopeSpans {
        scope: Some(InstrumentationScope {
            name: store.str(scope.name).to_owned(),
            version: store.str(scope.version).to_owned(),
            ..InstrumentationScope::default()
        }),
        ..ScopeSpans::default()
    }
}

fn kind(k: SpanKind) -> i32 {
    match k {
        SpanKind::Unspecified => 0,
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

#[cfg(test)]
mod tests;
