//! Errors a handler answers with: a status and a message naming the problem, as JSON.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use opentelemetry::trace::{Status, TraceContextExt as _};
use opentelemetry::{Context, KeyValue};
use serde::de::DeserializeOwned;

use crate::telemetry::{ErrorMessage, record_exception};

/// A failed request: `{"error": message}` with a 4xx or 5xx status.
///
/// Server errors (5xx) are recorded on the current span (status and `exception` event); client
/// mistakes (4xx) are not errors of the service, so they only add an `invalid_request` event.
/// Either way the message rides on the response as an [`ErrorMessage`], for the request's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppError {
    /// The HTTP status answered.
    pub status: StatusCode,
    /// What went wrong, for the caller.
    pub message: String,
}

impl AppError {
    /// Any status.
    #[must_use]
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 400: the request is wrong.
    #[must_use]
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404: no such thing.
    #[must_use]
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 502: a service this one depends on failed.
    #[must_use]
    pub fn bad_gateway(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, message)
    }

    /// 503: this service cannot take the request now.
    #[must_use]
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

impl std::error::Error for AppError {}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let cx = Context::current();
        let span = cx.span();
        if self.status.is_server_error() {
            record_exception(&span, "AppError", &self.message);
            span.set_status(Status::error(self.message.clone()));
        } else {
            span.add_event(
                "invalid_request",
                vec![KeyValue::new("message", self.message.clone())],
            );
        }
        let body = Json(serde_json::json!({ "error": self.message }));
        let mut response = (self.status, body).into_response();
        response.extensions_mut().insert(ErrorMessage(self.message));
        response
    }
}

/// A JSON body whose rejections answer as [`AppError`]s with a clear message.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

fn json_rejection(rejection: &JsonRejection) -> AppError {
    let message = match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            "send a JSON body with the header `Content-Type: application/json`".to_owned()
        }
        JsonRejection::JsonSyntaxError(_) => format!("malformed JSON: {}", rejection.body_text()),
        JsonRejection::JsonDataError(_) => format!("unexpected JSON: {}", rejection.body_text()),
        _ => rejection.body_text(),
    };
    // Client mistakes stay 4xx (axum picks 400, 415 or 422).
    let status = if rejection.status().is_client_error() {
        rejection.status()
    } else {
        StatusCode::BAD_REQUEST
    };
    AppError::new(status, message)
}
