//! A Jaeger backend as a source: its `api_v3` (Jaeger 1.35 and later, v2), which answers in
//! OTLP: services, a trace search, a trace by id; over HTTP JSON (`http://HOST:16686`, here) or
//! gRPC (`grpc://HOST:16685`, `grpc`). Decoded at the boundary into the same payloads the
//! receivers make.
//!
//! A query maps onto api_v3's parameters where it can (`service=`, `name=` as the operation,
//! `duration>`/`>=`, `<`/`<=`); everything is then applied again locally, so the traces kept are
//! exactly those the query matches. Without a service in the query, each service is searched.
//!
//! A Jaeger is trusted with nothing: one search (one [`Jaeger`]) reads at most
//! [`Options::max_bytes`] of answers in all (`--jaeger-max-mb`), counted as they arrive, so an
//! endless body or stream ends in an error rather than in memory; each answer, body or stream
//! included, has one deadline ([`Options::timeout`]); redirects are not followed; Jaeger's own
//! words in an error are escaped and cut, and a password in the URL is never printed.

pub mod answer;
mod grpc;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use crate::format::{redact_url, safe, safe_capped};
use crate::ingest::Payload;
use crate::query::{AttrScope, Cond, Expr, Field, Op};
use crate::receiver::Limits;

/// The longest one answer may take, by default: from the request to the last byte of its body
/// or stream.
pub const TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes of an error answer's body read, at most: enough for its message.
const ERROR_BODY_BYTES: u64 = 64 * 1024;
/// Characters of a `Location` kept in an error.
const LOCATION_CHARS: usize = 200;

/// What went wrong talking to Jaeger, worded for the user; safe to print (no control
/// characters, Jaeger's own text cut short).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JaegerError(pub String);

impl JaegerError {
    /// An error of this text, escaped ([`safe`]).
    #[must_use]
    pub fn new(text: impl AsRef<str>) -> Self {
        Self(safe(text.as_ref()).into_owned())
    }
}

impl std::fmt::Display for JaegerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JaegerError {}

/// How the client talks to Jaeger.
#[derive(Clone, Debug)]
pub struct Options {
    /// Sent with every request (`--jaeger-header`).
    pub headers: Vec<(String, String)>,
    /// Bytes one search may read, all its answers together (`--jaeger-max-mb`).
    pub max_bytes: u64,
    /// The longest one answer may take, from the request to the last byte of its body or
    /// stream.
    pub timeout: Duration,
}

impl Options {
    /// These headers, at most `max_bytes` per search, [`TIMEOUT`] per answer.
    #[must_use]
    pub fn new(headers: Vec<(String, String)>, max_bytes: u64) -> Self {
        Self {
            headers,
            max_bytes,
            timeout: TIMEOUT,
        }
    }
}

/// What one search (one client) has read of Jaeger's answers, against its limit.
#[derive(Debug)]
struct Budget {
    max: u64,
    used: AtomicU64,
}

impl Budget {
    fn new(max: u64) -> Self {
        Self {
            max,
            used: AtomicU64::new(0),
        }
    }

    fn remaining(&self) -> u64 {
        self.max.saturating_sub(self.used.load(Ordering::Relaxed))
    }

    /// A meter for one answer, to `what` (a path or a method).
    fn answer<'a>(&'a self, what: &'a str) -> Meter<'a> {
        Meter {
            budget: self,
            what,
            read: 0,
        }
    }
}

/// One answer's bytes, counted against the search's [`Budget`] as they arrive.
struct Meter<'a> {
    budget: &'a Budget,
    what: &'a str,
    read: u64,
}

impl Meter<'_> {
    /// Counts `n` more bytes of the answer.
    fn add(&mut self, n: usize) -> Result<(), JaegerError> {
        let n = n as u64;
        self.read = self.read.saturating_add(n);
        let before = self.budget.used.fetch_add(n, Ordering::Relaxed);
        if before.saturating_add(n) > self.budget.max {
            return Err(self.exceeded());
        }
        Ok(())
    }

    /// Whether an answer announced as `n` bytes would fit.
    fn expect(&self, n: u64) -> Result<(), JaegerError> {
        if n > self.budget.remaining() {
            return Err(self.exceeded());
        }
        Ok(())
    }

    fn exceeded(&self) -> JaegerError {
        let max = self.budget.max;
        let limit = if max % (1024 * 1024) == 0 {
            format!("{} MiB", max / (1024 * 1024))
        } else {
            format!("{max} bytes")
        };
        let used = self.budget.used.load(Ordering::Relaxed);
        if used.saturating_sub(self.read) == 0 {
            JaegerError::new(format!(
                "Jaeger's answer to {} exceeded --jaeger-max-mb ({limit}); what was read of it is dropped",
                self.what
            ))
        } else {
            JaegerError::new(format!(
                "Jaeger's answers to this search exceeded --jaeger-max-mb ({limit}) in all, at {}; the rest of the search is not read",
                self.what
            ))
        }
    }
}

/// Runs `answer` within `timeout`, or says Jaeger (`name`) took too long to answer `what`.
async fn within<T>(
    name: &str,
    what: &str,
    timeout: Duration,
    answer: impl Future<Output = Result<T, JaegerError>>,
) -> Result<T, JaegerError> {
    tokio::time::timeout(timeout, answer)
        .await
        .unwrap_or_else(|_| {
            Err(JaegerError::new(format!(
                "Jaeger at {name} took longer than {} to answer {what}",
                humantime::format_duration(timeout)
            )))
        })
}

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

/// A Jaeger query service's api_v3, over HTTP JSON or gRPC. One client is one search: what
/// it reads is counted against [`Options::max_bytes`] over all its answers.
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
    pub fn new(url: &str, options: Options) -> Result<Self, JaegerError> {
        if let Some(rest) = url.strip_prefix("grpc://") {
            return Ok(Self::Grpc(Box::new(grpc::Grpc::new(url, rest, options)?)));
        }
        Ok(Self::Http(Http::new(url, options)?))
    }

    /// The services Jaeger holds traces of.
    ///
    /// # Errors
    /// Jaeger cannot be reached, answers with an error, too much or too slowly.
    pub async fn services(&self) -> Result<Vec<String>, JaegerError> {
        match self {
            Self::Http(h) => h.services().await,
            Self::Grpc(g) => g.services().await,
        }
    }

    /// The traces of a search, as payloads.
    ///
    /// # Errors
    /// Jaeger cannot be reached, answers with an error or something not OTLP, too much or too
    /// slowly.
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
    /// Jaeger cannot be reached, answers with an error or something not OTLP, too much or too
    /// slowly.
    pub async fn trace(&self, id: u128) -> Result<Vec<Payload>, JaegerError> {
        match self {
            Self::Http(h) => h.trace(id).await,
            Self::Grpc(g) => g.trace(id).await,
        }
    }
}

/// api_v3's HTTP JSON gateway. Redirects are not followed (they would take the
/// `--jaeger-header` values to another host); a body is read as it arrives, counted against
/// the search's limit, within the deadline.
pub struct Http {
    client: reqwest::Client,
    base: String,
    /// `base` as it may be printed (no password).
    name: String,
    options: Options,
    budget: Budget,
    limits: Limits,
}

impl Http {
    fn new(url: &str, options: Options) -> Result<Self, JaegerError> {
        let name = redact_url(url.trim_end_matches('/')).into_owned();
        if !url.starts_with("http://") {
            return Err(JaegerError::new(format!(
                "--jaeger {:?}: write http://HOST:16686 or grpc://HOST:16685 (the query service; no TLS yet)",
                redact_url(url)
            )));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| JaegerError::new(format!("--jaeger {name:?}: {e}")))?;
        Ok(Self {
            client,
            base: url.trim_end_matches('/').to_owned(),
            name,
            budget: Budget::new(options.max_bytes),
            options,
            limits: Limits::default(),
        })
    }

    /// The body of a successful answer to `GET path?query`; `None` for "not found".
    async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Option<Vec<u8>>, JaegerError> {
        within(
            &self.name,
            path,
            self.options.timeout,
            self.get_now(path, query),
        )
        .await
    }

    async fn get_now(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Option<Vec<u8>>, JaegerError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.client.get(&url).query(query);
        for (k, v) in &self.options.headers {
            request = request.header(k, v);
        }
        let response = request.send().await.map_err(|e| {
            let why = if e.is_connect() {
                "unreachable (is it running? is the port the query service's, 16686?)".to_owned()
            } else {
                crate::format::error_chain(&e.without_url())
            };
            JaegerError::new(format!("Jaeger at {}: {why}", self.name))
        })?;
        let status = response.status();
        if status.is_success() {
            return self.body(response, path).await.map(Some);
        }
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned())
                .unwrap_or_default();
            return Err(JaegerError::new(format!(
                "Jaeger at {} answered {status} to {path}, to go to {:?}: redirects are not followed (they would take --jaeger-header to another address); give --jaeger the address of the query service itself",
                self.name,
                safe_capped(&redact_url(&location), LOCATION_CHARS)
            )));
        }
        let body = error_body(response).await;
        let message = answer::http_error_message(&body);
        if status.as_u16() == 404 && message.to_ascii_lowercase().contains("not found") {
            // "trace not found", "No traces found": nothing, not an error.
            return Ok(None);
        }
        if status.as_u16() == 404 {
            return Err(JaegerError::new(format!(
                "Jaeger at {} has no {path} (api_v3 needs Jaeger 1.35 or later; is this the query service?)",
                self.name
            )));
        }
        Err(JaegerError::new(format!(
            "Jaeger at {} answered {status} to {path}: {message}",
            self.name
        )))
    }

    /// A successful answer's body, read chunk by chunk and counted: past the search's limit
    /// (or announced as over it) the answer is dropped unread.
    async fn body(
        &self,
        mut response: reqwest::Response,
        path: &str,
    ) -> Result<Vec<u8>, JaegerError> {
        let mut meter = self.budget.answer(path);
        let announced = response.content_length();
        if let Some(n) = announced {
            meter.expect(n)?;
        }
        // Kept as they came and joined once, at their final size: a buffer grown as it fills
        // held up to three times the body at its last growth (peak RSS 732 MB at 256 MiB).
        let mut chunks = Vec::new();
        let mut len = 0;
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            JaegerError::new(format!(
                "Jaeger at {}: its answer to {path} broke off: {}",
                self.name,
                crate::format::error_chain(&e.without_url())
            ))
        })? {
            meter.add(chunk.len())?;
            len += chunk.len();
            chunks.push(chunk);
        }
        let mut body = Vec::with_capacity(len);
        for chunk in chunks {
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// The services Jaeger holds traces of.
    ///
    /// # Errors
    /// Jaeger cannot be reached, answers with an error, too much or too slowly.
    pub async fn services(&self) -> Result<Vec<String>, JaegerError> {
        match self.get("/api/v3/services", &[]).await? {
            Some(body) => answer::http_services(&body),
            None => Ok(Vec::new()),
        }
    }

    /// The traces of a search (its service must be set), as payloads.
    ///
    /// # Errors
    /// Jaeger cannot be reached, answers with an error or something not OTLP, too much or too
    /// slowly.
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
            Some(body) => answer::http_traces(&body, &self.limits),
            None => Ok(Vec::new()),
        }
    }

    /// One trace by id; nothing when Jaeger does not have it.
    ///
    /// # Errors
    /// Jaeger cannot be reached, answers with an error or something not OTLP, too much or too
    /// slowly.
    pub async fn trace(&self, id: u128) -> Result<Vec<Payload>, JaegerError> {
        match self.get(&format!("/api/v3/traces/{id:032x}"), &[]).await? {
            Some(body) => answer::http_traces(&body, &self.limits),
            None => Ok(Vec::new()),
        }
    }
}

/// The start of an error answer's body (its message), at most [`ERROR_BODY_BYTES`]; whatever
/// arrived before the body broke off.
async fn error_body(mut response: reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = usize::try_from(ERROR_BODY_BYTES).unwrap_or(usize::MAX) - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() as u64 >= ERROR_BODY_BYTES {
            break;
        }
    }
    body
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
    fn schemes() {
        let options = || Options::new(Vec::new(), 1024);
        assert!(matches!(
            Jaeger::new("http://127.0.0.1:1", options()),
            Ok(Jaeger::Http(_))
        ));
        let Err(e) = Jaeger::new("https://alice:hunter2@x", options()) else {
            panic!("no TLS yet");
        };
        assert!(!e.0.contains("hunter2"), "{e}");
        assert!(matches!(
            Jaeger::new("grpc://127.0.0.1:16685", options()),
            Ok(Jaeger::Grpc(_))
        ));
    }

    #[test]
    fn a_search_counts_its_answers_together() {
        let budget = Budget::new(10);
        let mut first = budget.answer("/api/v3/services");
        first.add(4).unwrap();
        assert!(first.expect(6).is_ok() && first.expect(7).is_err());
        let mut second = budget.answer("/api/v3/traces");
        second.add(6).unwrap();
        let e = second.add(1).unwrap_err();
        assert_eq!(
            e.0,
            "Jaeger's answers to this search exceeded --jaeger-max-mb (10 bytes) in all, at /api/v3/traces; the rest of the search is not read"
        );
        let budget = Budget::new(1024 * 1024);
        let e = budget
            .answer("/api/v3/services")
            .add(1024 * 1024 + 1)
            .unwrap_err();
        assert_eq!(
            e.0,
            "Jaeger's answer to /api/v3/services exceeded --jaeger-max-mb (1 MiB); what was read of it is dropped"
        );
    }
}
