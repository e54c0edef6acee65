//! Jaeger's answers decoded: api_v3 over HTTP (JSON: one or more `{"result": TracesData}`
//! objects, a stream's chunks, or `{"error": …}`) and over gRPC (`TracesData` and
//! `GetServicesResponse` messages). Pure and synchronous, so the client and the fuzz target
//! share them; the bytes have been counted against the search's limit before they get here.
//! Every text of Jaeger's in an error is escaped and cut ([`crate::format::safe_capped`]).

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::JaegerError;
use crate::format::safe_capped;
use crate::ingest::Payload;
use crate::receiver::Limits;

/// Characters of Jaeger's own text (an error's message, a body) kept in an error.
pub const MESSAGE_CHARS: usize = 300;

/// One JSON object of an HTTP answer; anything else in it is ignored.
#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(borrow)]
    result: Option<&'a RawValue>,
    error: Option<Value>,
}

/// The services of `GET /api/v3/services`: `{"services": [name, …]}`; names that are not
/// strings are skipped.
///
/// # Errors
/// The body is not JSON.
pub fn http_services(body: &[u8]) -> Result<Vec<String>, JaegerError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| JaegerError::new(format!("Jaeger's services are not JSON: {e}")))?;
    Ok(v["services"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

/// The traces of an HTTP answer (a search's, or one trace's), as payloads. An error chunk that
/// says "not found" is nothing, not an error.
///
/// # Errors
/// Not JSON, an error chunk, or a result that is not OTLP.
pub fn http_traces(body: &[u8], limits: &Limits) -> Result<Vec<Payload>, JaegerError> {
    let mut out = Vec::new();
    for chunk in serde_json::Deserializer::from_slice(body).into_iter::<Chunk<'_>>() {
        let chunk = chunk
            .map_err(|e| JaegerError::new(format!("Jaeger's answer is not api_v3's JSON: {e}")))?;
        if let Some(e) = chunk.error {
            let message = e["message"].as_str().unwrap_or("an error");
            if message.to_ascii_lowercase().contains("not found") {
                continue;
            }
            return Err(JaegerError::new(format!(
                "Jaeger: {}",
                safe_capped(message, MESSAGE_CHARS)
            )));
        }
        let Some(result) = chunk.result else {
            continue;
        };
        match crate::files::parse_otlp_json(result.get().as_bytes(), limits) {
            Ok(Some((payload, _))) => out.push(payload),
            Ok(None) => {}
            Err(e) => {
                return Err(JaegerError::new(format!(
                    "Jaeger's traces are not OTLP: {}",
                    safe_capped(&e, MESSAGE_CHARS)
                )));
            }
        }
    }
    Ok(out)
}

/// What an HTTP error answer says: api_v3's `{"error": {"message": …}}`, or else the body as
/// text; escaped and cut to [`MESSAGE_CHARS`].
#[must_use]
pub fn http_error_message(body: &[u8]) -> String {
    let message = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned());
    safe_capped(&message, MESSAGE_CHARS).into_owned()
}

/// The services of a gRPC `GetServicesResponse`.
///
/// # Errors
/// The message does not decode.
pub fn grpc_services(message: &[u8]) -> Result<Vec<String>, JaegerError> {
    #[derive(Clone, PartialEq, prost::Message)]
    struct GetServicesResponse {
        #[prost(string, repeated, tag = "1")]
        services: Vec<String>,
    }
    <GetServicesResponse as prost::Message>::decode(message)
        .map(|r| r.services)
        .map_err(|e| JaegerError::new(format!("Jaeger's services do not decode: {e}")))
}

/// One message of a gRPC trace stream: a `TracesData` (the wire shape of an export request),
/// decoded by the receivers' direct decoder.
///
/// # Errors
/// The message does not decode.
pub fn grpc_traces(message: &[u8], limits: &Limits) -> Result<Payload, JaegerError> {
    crate::receiver::decode::trace_request(message, limits)
        .map(|(batch, _)| Payload::Spans(batch))
        .map_err(|e| JaegerError::new(format!("Jaeger's traces do not decode: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(name: &str) -> String {
        format!(
            r#"{{"result":{{"resourceSpans":[{{"resource":{{}},"scopeSpans":[{{"scope":{{}},"spans":[{{"traceId":"000000000000009600000000000000a0","spanId":"00000000000000b4","parentSpanId":"","name":"{name}","kind":2,"startTimeUnixNano":"1000","endTimeUnixNano":"2000","status":{{"code":2}}}}]}}]}}]}}}}"#
        )
    }

    #[test]
    fn answers_in_chunks_and_errors() {
        let limits = Limits::default();
        let body = format!("{}\n{}", chunk("a"), chunk("b"));
        let p = http_traces(body.as_bytes(), &limits).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].items(), 1);
        let Err(err) = http_traces(
            br#"{"error":{"httpCode":500,"message":"storage down"}}"#,
            &limits,
        ) else {
            panic!("an error answer is an error");
        };
        assert_eq!(err.0, "Jaeger: storage down");
        assert!(
            http_traces(br#"{"error":{"message":"trace not found"}}"#, &limits)
                .unwrap()
                .is_empty()
        );
        assert!(http_traces(b"{\"result\":", &limits).is_err());
        assert!(http_traces(b"", &limits).unwrap().is_empty());
    }

    #[test]
    fn jaegers_text_in_errors_is_escaped_and_cut() {
        let hostile = "\x1b]0;PWNED\x07\x1b[2J\x1b]52;c;AAAA\x07\u{202e}";
        let long = format!("{hostile}{}", "x".repeat(10_000));
        let body = serde_json::json!({"error": {"message": long}}).to_string();
        let Err(err) = http_traces(body.as_bytes(), &Limits::default()) else {
            panic!("an error answer is an error");
        };
        for message in [err.0, http_error_message(body.as_bytes()), {
            let mut raw = hostile.as_bytes().to_vec();
            raw.extend(std::iter::repeat_n(b'y', 10_000));
            http_error_message(&raw)
        }] {
            assert!(
                !message.contains(['\x1b', '\x07', '\u{202e}']),
                "{message:?}"
            );
            assert!(message.contains("\\x1b]0;PWNED\\x07"), "{message:?}");
            assert!(message.ends_with(" more bytes]"), "{message:?}");
            assert!(message.len() < 2 * MESSAGE_CHARS, "{}", message.len());
        }
    }

    #[test]
    fn services_over_either() {
        assert_eq!(
            http_services(br#"{"services":["a",1,"b"]}"#).unwrap(),
            ["a", "b"]
        );
        assert!(http_services(br#"{"other":1}"#).unwrap().is_empty());
        assert!(http_services(b"<html>").is_err());
        // GetServicesResponse { services: ["a"] }
        assert_eq!(grpc_services(&[0x0a, 1, b'a']).unwrap(), ["a"]);
        assert!(grpc_services(&[0x0a, 5, b'a']).is_err());
        assert!(grpc_traces(&[0x0a, 5], &Limits::default()).is_err());
    }
}
