//! The JSON of rfaas's async invocation records (`/system/async/invocations`), written once for the
//! gateway that serves them and the CLI that reads them. OpenFaaS has no such API; the names follow
//! its camelCase style. Every optional field is always present (`null` when unknown), so a client
//! sees one shape whatever the call's state.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The longest call id.
pub const MAX_CALL_ID: usize = 128;

/// Checks a call id (a client's `X-Call-Id`, a route's or the CLI's argument); the error says why
/// without repeating the id.
pub fn check_call_id(id: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
    if id.is_empty() || id.len() > MAX_CALL_ID {
        return Err(format!("a call id must be 1 to {MAX_CALL_ID} characters long, not {}", id.len()));
    }
    if !id.starts_with(|c: char| c.is_ascii_alphanumeric()) || !id.chars().all(allowed) {
        return Err("a call id may hold only letters, digits, '.', '_', ':' and '-', starting with a letter or digit"
            .to_string());
    }
    Ok(())
}

/// Where an async call is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InvocationStatus {
    /// Waiting for its first attempt, or for one after a manual retry.
    Queued,
    /// An attempt is under way.
    Running,
    /// The last attempt ended with a 2xx or 3xx.
    Succeeded,
    /// An attempt failed with a status the retry policy retries; another is due at `nextAttemptAt`.
    Failed,
    /// Attempts ran out, or the status is not one the policy retries: the dead-letter queue.
    Dead,
}

impl InvocationStatus {
    /// Every status, in the order of a call's life.
    pub const ALL: [InvocationStatus; 5] = [
        InvocationStatus::Queued,
        InvocationStatus::Running,
        InvocationStatus::Succeeded,
        InvocationStatus::Failed,
        InvocationStatus::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InvocationStatus::Queued => "queued",
            InvocationStatus::Running => "running",
            InvocationStatus::Succeeded => "succeeded",
            InvocationStatus::Failed => "failed",
            InvocationStatus::Dead => "dead",
        }
    }

    /// True once no further attempt will be made without a manual retry.
    pub fn is_final(self) -> bool {
        matches!(self, InvocationStatus::Succeeded | InvocationStatus::Dead)
    }
}

impl fmt::Display for InvocationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InvocationStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        InvocationStatus::ALL.into_iter().find(|status| status.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = InvocationStatus::ALL.iter().map(|s| s.as_str()).collect();
            format!("unknown status {s:?}: expected one of {}", names.join(", "))
        })
    }
}

/// One attempt at invoking the function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// 1 for the first attempt; numbering goes on across manual retries.
    pub number: u32,
    pub started_at: DateTime<Utc>,
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    /// The function's status, or the gateway's (503 no replica, 502 unreachable, 504 timeout).
    #[serde(default)]
    pub status_code: Option<u16>,
    #[serde(default)]
    pub duration_seconds: Option<f64>,
    /// Why the attempt has no usable answer (e.g. it was interrupted by a gateway restart).
    #[serde(default)]
    pub error: Option<String>,
}

/// The final attempt's response (its body went to the callback, if any, and is not kept).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvocationResponse {
    pub status_code: u16,
    /// Size of the response body.
    pub bytes: u64,
    pub duration_seconds: f64,
}

/// What the callback receiver answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallbackResult {
    /// The receiver's status (a 3xx is not followed); `null` when it could not be reached.
    #[serde(default)]
    pub status_code: Option<u16>,
    #[serde(default)]
    pub error: Option<String>,
    pub at: DateTime<Utc>,
}

/// `GET /system/async/invocations/{callId}`, and each item of the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invocation {
    pub call_id: String,
    /// The function's name (without the namespace).
    pub function: String,
    pub namespace: String,
    pub status: InvocationStatus,
    #[serde(default)]
    pub attempts: Vec<Attempt>,
    #[serde(default)]
    pub response: Option<InvocationResponse>,
    #[serde(default)]
    pub callback_url: Option<String>,
    #[serde(default)]
    pub callback: Option<CallbackResult>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the next attempt is due, while the call is `queued` or `failed`.
    #[serde(default)]
    pub next_attempt_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn client_call_ids_are_checked() {
        for good in ["a", "3f2c1d3e-1b7a-4c7e-9a52-0e0b2b1c6d10", "order-42:payment.v1_x", &"x".repeat(128)] {
            assert_eq!(check_call_id(good), Ok(()), "{good}");
        }
        for bad in ["", &"x".repeat(129), "../etc", ".hidden", "-x", "a/b", "a b", "a%2F", "é", "a\u{0}"] {
            assert!(check_call_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn statuses_parse_and_print_lowercase() {
        for status in InvocationStatus::ALL {
            assert_eq!(status.as_str().parse::<InvocationStatus>(), Ok(status));
            assert_eq!(serde_json::to_value(status).unwrap(), json!(status.as_str()));
        }
        let err = "Dead".parse::<InvocationStatus>().unwrap_err();
        assert_eq!(err, "unknown status \"Dead\": expected one of queued, running, succeeded, failed, dead");
    }

    #[test]
    fn a_record_has_one_camel_case_shape() {
        let at = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
        let record = Invocation {
            call_id: "c1".into(),
            function: "payment".into(),
            namespace: "openfaas-fn".into(),
            status: InvocationStatus::Dead,
            attempts: vec![Attempt {
                number: 1,
                started_at: at,
                finished_at: Some(at),
                status_code: Some(500),
                duration_seconds: Some(0.25),
                error: None,
            }],
            response: Some(InvocationResponse { status_code: 500, bytes: 6, duration_seconds: 0.25 }),
            callback_url: None,
            callback: None,
            created_at: at,
            updated_at: at,
            next_attempt_at: None,
        };
        let value = serde_json::to_value(&record).unwrap();
        assert_eq!(
            value,
            json!({
                "callId": "c1", "function": "payment", "namespace": "openfaas-fn", "status": "dead",
                "attempts": [{"number": 1, "startedAt": "2026-01-01T00:00:00Z", "finishedAt": "2026-01-01T00:00:00Z",
                              "statusCode": 500, "durationSeconds": 0.25, "error": null}],
                "response": {"statusCode": 500, "bytes": 6, "durationSeconds": 0.25},
                "callbackUrl": null, "callback": null,
                "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z", "nextAttemptAt": null
            })
        );
        assert_eq!(serde_json::from_value::<Invocation>(value).unwrap(), record);
    }
}
