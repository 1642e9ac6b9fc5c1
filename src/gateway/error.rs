//! The gateway's HTTP errors. Each variant carries the plain-text body a client sees; internal
//! detail is written to the gateway's log by the caller, never into a response.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An error answered as `text/plain` with the status each variant names.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    BadGateway(String),
    #[error("{0}")]
    GatewayTimeout(String),
    /// The message says what failed; the cause has already been logged.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::GatewayTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Logs `cause` and returns a 500 whose body is only `what`.
    pub fn internal(what: &str, cause: impl std::fmt::Display) -> ApiError {
        super::console::error(&format!("{what}: {cause}"));
        ApiError::Internal(what.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        plain(self.status(), self.to_string())
    }
}

/// A `text/plain` response with a trailing newline, as Go's `http.Error` writes.
pub fn plain(status: StatusCode, text: String) -> Response {
    let mut response = (status, format!("{text}\n")).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

/// Parses a JSON body; the 400 names only the position of the problem, never the values.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Data => "unexpected fields or types",
            serde_json::error::Category::Eof => "truncated JSON",
            _ => "malformed JSON",
        };
        ApiError::BadRequest(format!("invalid request body: {what} at line {} column {}", e.line(), e.column()))
    })
}

/// Maps a name check to a 400.
pub fn bad_name(result: Result<(), String>) -> Result<(), ApiError> {
    result.map_err(ApiError::BadRequest)
}
