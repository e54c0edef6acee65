//! OTLP receivers (gRPC and HTTP). They decode, convert to our model at the boundary and send
//! into the bounded ingest path (`crate::ingest`); nothing else. Request limits live here.

pub mod budget;
pub mod conn;
pub mod convert;
pub mod decode;
pub mod estimate;
pub mod grpc;
pub mod http;

use std::sync::Arc;
use std::time::Duration;

pub use convert::Limits;

/// Requests one HTTP/2 connection may have in progress at once (gRPC, and HTTP/2 on the HTTP
/// port): with the connection limit, it bounds the requests a few clients can hold open.
pub const MAX_STREAMS: u32 = 100;

/// Settings the receivers share.
#[derive(Clone, Debug)]
pub struct Options {
    /// Largest request body, after decompression.
    pub max_message_size: usize,
    /// When set, requests must carry `Authorization: Bearer <token>`.
    pub auth_token: Option<Arc<str>>,
    /// Longest a request may take, body included; slower ones are cut off.
    pub request_timeout: Duration,
    /// Longest a client may take to send a request's headers (HTTP/1.1).
    pub header_timeout: Duration,
    /// Open connections per listener, and how long one may sit idle.
    pub conn: conn::ConnLimits,
    /// The memory requests in flight may take, shared by both receivers.
    pub budget: budget::MemoryBudget,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_message_size: 16 * 1024 * 1024,
            auth_token: None,
            request_timeout: Duration::from_secs(30),
            header_timeout: Duration::from_secs(10),
            conn: conn::ConnLimits {
                max: 1024,
                idle: Duration::from_secs(120),
                handshake: Duration::from_secs(10),
            },
            budget: budget::MemoryBudget::new(256 << 20, Duration::from_secs(2)),
        }
    }
}

impl Options {
    /// Whether an `authorization` header value grants access: the scheme `Bearer` in any case
    /// (RFC 7235), then the token, compared in constant time. The time taken depends on the
    /// length of what was sent, never on the token's, so it tells nothing about either.
    #[must_use]
    pub fn authorized(&self, header: Option<&[u8]>) -> bool {
        let Some(token) = &self.auth_token else {
            return true;
        };
        let Some(header) = header else { return false };
        let (scheme, sent) = match header.iter().position(|&b| b == b' ') {
            Some(i) => (&header[..i], &header[i + 1..]),
            None => (header, &[][..]),
        };
        let sent = sent.trim_ascii();
        let expected = token.as_bytes();
        let mut diff = u8::from(sent.len() != expected.len() || expected.is_empty());
        for (i, b) in sent.iter().enumerate() {
            diff |= b ^ expected
                .get(i % expected.len().max(1))
                .copied()
                .unwrap_or(0);
        }
        scheme.eq_ignore_ascii_case(b"bearer") && diff == 0
    }
}

/// The message an unauthenticated sender gets.
pub const UNAUTHENTICATED: &str = "missing or wrong bearer token: send the header \
    `Authorization: Bearer <token>` (OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_in_any_case_and_only_the_exact_token() {
        let options = Options {
            auth_token: Some(Arc::from("s3cret")),
            ..Options::default()
        };
        for ok in [
            "Bearer s3cret",
            "bearer s3cret",
            "BEARER s3cret",
            "Bearer  s3cret ",
        ] {
            assert!(options.authorized(Some(ok.as_bytes())), "{ok}");
        }
        for bad in [
            "Bearer s3cre",
            "Bearer s3crett",
            "Bearer S3CRET",
            "Basic s3cret",
            "Bearers3cret",
            "s3cret",
            "Bearer ",
            "",
        ] {
            assert!(!options.authorized(Some(bad.as_bytes())), "{bad}");
        }
        assert!(!options.authorized(None));
        assert!(Options::default().authorized(None), "no token set: open");
    }
}
