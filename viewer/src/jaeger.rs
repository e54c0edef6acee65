//! A Jaeger backend as a source: its `api_v3` (Jaeger 1.35 and later, v2), which answers in
//! OTLP: services, a trace search, a trace by id; over HTTP JSON (`http://HOST:16686`, here) or
//! gRPC (`grpc://HOST:16685`, `grpc`). Decoded at the boundary into the same payloads the
//! receivers make.
//!
//! A query maps onto api_v3's parameters where it can (`service=`, `name=` as the operation,
//! `duration>`/`>=`, `<`/`<=`); everything is then applied again locally, so the traces kept are
//! exactly those the query matches. Without a service in the query, each service is searched.

mod grpc;

use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::ingest::Payload;
use crate::query::{AttrScope, Cond, Expr, Field, Op};
use crate::receiver::Limits;

/// One request's time limit.
const TIMEOUT: Duration = Duration::from_secs(30);

/// What went wrong talking to Jaeger, worded for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JaegerError(pub String);

impl std::fmt::Display for JaegerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JaegerError {}

/// A trace search.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Search {
    pub service: Option<String>,
    pub operation: Option<String>,
    /// Nanoseconds.
    pub duration_min: Option<u64>,
    pub duration_max: Option<u64>,
    /// Attributes the traces must have (`key=value` at the top of the query; api_v3 takes
    /// them over gRPC only, its HTTP gateway does not).
    pub attributes: Vec<(String, String)>,
    /// How far back from now.
    pub since: Duration,
    /// Traces per service at most.
    pub limit: usize,
}

impl Search {
    /// The parts of a query api_v3 can do: conditions joined by `and` at the top on the
    /// service, the span name (operation) and the duration. The rest is applied locally.
    #[must_use]
    pub fn of(expr: Option<&Expr>, since: Duration, limit: usize) -> Self {
        let mut s = Self {
            since,
            limit,
            ..Self::default()
        };
        let conds: Vec<&Cond> = match expr {
            Some(Expr::Cond(c)) => vec![c],
            Some(Expr::And(items)) => items
                .iter()
                .filter_map(|e| match e {
                    Expr::Cond(c) => Some(c),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        for c in conds {
            let dur = || crate::query::parse_duration(&c.value.text);
            match (&c.field, c.op) {
                (Field::Service, Op::Eq) => s.service = Some(c.value.text.clone()),
                (Field::Name, Op::Eq) => s.operation = Some(c.value.text.clone()),
                (Field::Duration, Op::Gt | Op::Ge) => s.duration_min = dur(),
                (Field::Duration, Op::Lt | Op::Le) => s.duration_max = dur(),
                (
                    Field::Attr {
                        scope: AttrScope::Any | AttrScope::Span | AttrScope::Resource,
                        key,
                    },
                    Op::Eq,
                ) => s.attributes.push((key.clone(), c.value.text.clone())),
                _ => {}
            }
        }
        s
    }
}

/// A Jaeger query service's api_v3, over HTTP JSON or gRPC.
pub enum Jaeger {
    Http(Http),
    Grpc(Box<grpc::Grpc>),
}

impl Jaeger {
    /// `url` names the query service: `http://HOST:16686` (HTTP JSON, as the UI is served) or
    /// `grpc://HOST:16685`.
    ///
    /// # Errors
    /// Another scheme (no TLS yet).
    pub fn new(url: &str, headers: Vec<(String, String)>) -> Result<Self, JaegerError> {
        if let Some(rest) = url.strip_prefix("grpc://") {
            return Ok(Self::Grpc(Box::new(grpc::Grpc::new(url, rest, headers)?)));
        }
        Ok(Self::Http(Http::new(url, headers)?))
    }

    /// The services Jaeger holds traces of.
    ///
    /// # Errors
    /// Jaeger cannot be reached or answers with an error.
    pub async fn services(&self) -> Result<Vec<String>, JaegerError> {
        match self {
            Self::Http(h) => h.services().await,
            Self::Grpc(g) => g.services().await,
        }
    }

    /// The traces of a search, as payloads.
    ///
    /// # Errors
    /// Jaeger cannot be reached, or answers with an error or something not OTLP.
    pub async fn find(
        &self,
        search: &Search,
        now: SystemTime,
    ) -> Result<Vec<Payload>, JaegerError> {
        match self {
            Self::Http(h) => h.find(search, now).await,
            Self::Grpc(g) => g.find(search, now).await,
        }
    }

    /// One trace by id; nothing when Jaeger does not have it.
    ///
    /// # Errors
    /// Jaeger cannot be reached, or answers with an error or something not OTLP.
    pub async fn trace(&self, id: u128) -> Result<Vec<Payload>, JaegerError> {
        match self {
            Self::Http(h) => h.trace(id).await,
            Self::Grpc(g) => g.trace(id).await,
        }
    }
}

/// api_v3's HTTP JSON gateway.
pub struct Http {
    client: reqwest::Client,
    base: String,
    headers: Vec<(String, String)>,
    limits: Limits,
}

impl Http {
    fn new(url: &str, headers: Vec<(String, String)>) -> Result<Self, JaegerError> {
        if !url.starts_with("http://") {
            return Err(JaegerError(format!(
                "--jaeger {url:?}: write http://HOST:16686 or grpc://HOST:16685 (the query service; no TLS yet)"
            )));
        }
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| JaegerError(format!("--jaeger {url:?}: {e}")))?;
        Ok(Self {
            client,
            base: url.trim_end_matches('/').to_owned(),
            headers,
            limits: Limits::default(),
        })
    }

    async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Option<Vec<u8>>, JaegerError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.client.get(&url).query(query);
        for (k, v) in &self.headers {
            request = request.header(k, v);
        }
        let response = request.send().await.map_err(|e| {
            let why = if e.is_timeout() {
                "timed out".to_owned()
            } else if e.is_connect() {
                "unreachable (is it running? is the port the query service's, 16686?)".to_owned()
            } else {
                e.to_string()
            };
            JaegerError(format!("Jaeger at {}: {why}", self.base))
        })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| JaegerError(format!("Jaeger at {}: {e}", self.base)))?;
        if status.is_success() {
            return Ok(Some(body.to_vec()));
        }
        let message = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_owned());
        if status.as_u16() == 404 && message.to_ascii_lowercase().contains("not found") {
            // "trace not found", "No traces found": nothing, not an error.
            return Ok(None);
        }
        if status.as_u16() == 404 {
            return Err(JaegerError(format!(
                "Jaeger at {} has no {path} (api_v3 needs Jaeger 1.35 or later; is this the query service?)",
                self.base
            )));
        }
        Err(JaegerError(format!(
            "Jaeger at {} answered {status} to {path}: {message}",
            self.base
        )))
    }

    /// The services Jaeger holds traces of.
    ///
    /// # Errors
    /// Jaeger cannot be reached or answers with an error.
    pub async fn services(&self) -> Result<Vec<String>, JaegerError> {
        let Some(body) = self.get("/api/v3/services", &[]).await? else {
            return Ok(Vec::new());
        };
        let v: Value = serde_json::from_slice(&body)
            .map_err(|e| JaegerError(format!("Jaeger's services are not JSON: {e}")))?;
        Ok(v["services"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The traces of a search (its service must be set), as payloads.
    ///
    /// # Errors
    /// Jaeger cannot be reached, or answers with an error or something not OTLP.
    pub async fn find(
        &self,
        search: &Search,
        now: SystemTime,
    ) -> Result<Vec<Payload>, JaegerError> {
        let rfc3339 = |t: SystemTime| humantime::format_rfc3339_nanos(t).to_string();
        let mut query = vec![
            ("query.start_time_min", rfc3339(now - search.since)),
            ("query.start_time_max", rfc3339(now)),
            ("query.num_traces", search.limit.to_string()),
        ];
        if let Some(s) = &search.service {
            query.push(("query.service_name", s.clone()));
        }
        if let Some(o) = &search.operation {
            query.push(("query.operation_name", o.clone()));
        }
        let go_duration = |ns: u64| format!("{ns}ns");
        if let Some(d) = search.duration_min {
            query.push(("query.duration_min", go_duration(d)));
        }
        if let Some(d) = search.duration_max {
            query.push(("query.duration_max", go_duration(d)));
        }
        match self.get("/api/v3/traces", &query).await? {
            Some(body) => self.payloads(&body),
            None => Ok(Vec::new()),
        }
    }

    /// One trace by id; `None` when Jaeger does not have it.
    ///
    /// # Errors
    /// Jaeger cannot be reached, or answers with an error or something not OTLP.
    pub async fn trace(&self, id: u128) -> Result<Vec<Payload>, JaegerError> {
        match self.get(&format!("/api/v3/traces/{id:032x}"), &[]).await? {
            Some(body) => self.payloads(&body),
            None => Ok(Vec::new()),
        }
    }

    /// api_v3's answer: one or more `{"result": TracesData}` objects (a stream's chunks), or
    /// `{"error": …}`.
    fn payloads(&self, body: &[u8]) -> Result<Vec<Payload>, JaegerError> {
        let mut out = Vec::new();
        for value in serde_json::Deserializer::from_slice(body).into_iter::<Value>() {
            let value =
                value.map_err(|e| JaegerError(format!("Jaeger's answer is not JSON: {e}")))?;
            if let Some(e) = value.get("error") {
                let message = e["message"].as_str().unwrap_or("an error");
                if message.to_ascii_lowercase().contains("not found") {
                    continue;
                }
                return Err(JaegerError(format!("Jaeger: {message}")));
            }
            let Some(result) = value.get("result") else {
                continue;
            };
            let text = serde_json::to_vec(result).unwrap_or_default();
            match crate::files::parse_otlp_json(&text, &self.limits) {
                Ok(Some((payload, _))) => out.push(payload),
                Ok(None) => {}
                Err(e) => return Err(JaegerError(format!("Jaeger's traces are not OTLP: {e}"))),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search(q: &str) -> Search {
        let e = crate::query::parse(q).unwrap();
        Search::of(e.as_ref(), Duration::from_secs(3600), 20)
    }

    #[test]
    fn a_query_maps_onto_api_v3_where_it_can() {
        let s = search("service=api and name=\"GET /x\" and duration>=250ms and duration<2s");
        assert_eq!(s.service.as_deref(), Some("api"));
        assert_eq!(s.operation.as_deref(), Some("GET /x"));
        assert_eq!(s.duration_min, Some(250_000_000));
        assert_eq!(s.duration_max, Some(2_000_000_000));
        // Under `or` or `not`, nothing can be sent: all of it is applied locally.
        assert_eq!(search("service=api or service=db").service, None);
        assert_eq!(search("not service=api").service, None);
        assert_eq!(search("service~ap").service, None);
        assert_eq!(search("status=error").service, None);
        let s = search("service=api and http.route=/cart and resource.host.name=h1");
        assert_eq!(
            s.attributes,
            vec![
                ("http.route".to_owned(), "/cart".to_owned()),
                ("host.name".to_owned(), "h1".to_owned())
            ]
        );
    }

    #[test]
    fn answers_in_chunks_and_errors() {
        let j = Http::new("http://127.0.0.1:1", Vec::new()).unwrap();
        let chunk = |name: &str| {
            format!(
                r#"{{"result":{{"resourceSpans":[{{"resource":{{}},"scopeSpans":[{{"scope":{{}},"spans":[{{"traceId":"000000000000009600000000000000a0","spanId":"00000000000000b4","parentSpanId":"","name":"{name}","kind":2,"startTimeUnixNano":"1000","endTimeUnixNano":"2000","status":{{"code":2}}}}]}}]}}]}}}}"#
            )
        };
        let body = format!("{}\n{}", chunk("a"), chunk("b"));
        let p = j.payloads(body.as_bytes()).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].items(), 1);
        let Err(err) = j.payloads(br#"{"error":{"httpCode":500,"message":"storage down"}}"#) else {
            panic!("an error answer is an error");
        };
        assert_eq!(err.0, "Jaeger: storage down");
        assert!(
            j.payloads(br#"{"error":{"message":"trace not found"}}"#)
                .unwrap()
                .is_empty()
        );
        assert!(Jaeger::new("https://x", Vec::new()).is_err());
        assert!(matches!(
            Jaeger::new("grpc://127.0.0.1:16685", Vec::new()),
            Ok(Jaeger::Grpc(_))
        ));
    }
}
