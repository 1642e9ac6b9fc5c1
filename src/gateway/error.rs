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
    /// The request was valid and recorded, but what it depends on failed (an image pull).
    #[error("{0}")]
    FailedDependency(String),
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
            ApiError::FailedDependency(_) => StatusCode::FAILED_DEPENDENCY,
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

/// Parses a JSON body, which must be an object (serde would also read a struct from an array,
/// by position); the 400 names only the position of the problem, never the values.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') {
        return Err(ApiError::BadRequest("invalid request body: expected a JSON object".to_string()));
    }
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

/// How a client-supplied value appears in an error message: quoted, and cut after 64
/// characters so a huge value never makes a huge response or log line.
pub fn shown(text: &str) -> String {
    const MAX: usize = 64;
    match text.char_indices().nth(MAX) {
        None => format!("{text:?}"),
        Some((cut, _)) => format!("{:?}... ({} bytes)", &text[..cut], text.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_must_be_objects() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Named {
            name: String,
        }
        assert!(parse_json::<Named>(br#" {"name": "a"}"#).is_ok());
        for bad in [&b"[\"a\"]"[..], b"\"a\"", b"3", b"null", b""] {
            let e = parse_json::<Named>(bad).unwrap_err();
            assert_eq!(e.status(), StatusCode::BAD_REQUEST, "{bad:?}");
        }
    }

    #[test]
    fn shown_values_are_quoted_and_bounded() {
        assert_eq!(shown("4Mi"), "\"4Mi\"");
        assert_eq!(shown("a\u{0}b"), "\"a\\0b\"");
        let long = shown(&"x".repeat(100_000));
        assert!(long.len() < 100 && long.ends_with("... (100000 bytes)"), "{long}");
    }
}
