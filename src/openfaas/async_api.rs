//! The async records endpoints of rfaas's gateway (`/system/async/invocations`) as methods on
//! [`Client`]. Other OpenFaaS gateways do not have them: their 404 becomes [`AsyncApiError::NoApi`]
//! with a hint, told apart from an unknown call id by asking for the list.

use reqwest::{Method, StatusCode};

use super::client::{Client, ClientError};
use super::invocations::{Invocation, InvocationStatus};

const PATH: &str = "/system/async/invocations";

/// What a list asks for (every filter optional).
#[derive(Debug, Clone, Default)]
pub struct InvocationQuery {
    pub function: Option<String>,
    /// `None`: every namespace.
    pub namespace: Option<String>,
    pub status: Option<InvocationStatus>,
    pub limit: Option<u64>,
}

/// What went wrong with an async records request.
#[derive(Debug, thiserror::Error)]
pub enum AsyncApiError {
    #[error("{gateway} has no async records API (GET {PATH} answered 404)")]
    NoApi { gateway: String },
    #[error("no async call {call_id} on {gateway} (unknown, or pruned after the retention window)")]
    UnknownCall { gateway: String, call_id: String },
    #[error(transparent)]
    Client(#[from] ClientError),
}

impl AsyncApiError {
    /// The error as an `anyhow::Error`; its hint is found on the chain by [`crate::error::render`].
    pub fn into_anyhow(self) -> anyhow::Error {
        self.into()
    }
}

impl crate::error::Hint for AsyncApiError {
    fn hint(&self) -> Option<String> {
        match self {
            AsyncApiError::NoApi { .. } => Some(
                "only rfaas's own gateway keeps async records (OpenFaaS and faasd do not): \
                 start it with `rfaas gateway` and point --gateway at it"
                    .to_string(),
            ),
            // Transparent: the chain skips from this error to the client error's sources.
            AsyncApiError::Client(e) => crate::error::Hint::hint(e),
            AsyncApiError::UnknownCall { .. } => None,
        }
    }
}

fn query_string(q: &InvocationQuery) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    if let Some(f) = &q.function {
        out.append_pair("function", f);
    }
    if let Some(ns) = &q.namespace {
        out.append_pair("namespace", ns);
    }
    if let Some(s) = q.status {
        out.append_pair("status", s.as_str());
    }
    if let Some(n) = q.limit {
        out.append_pair("limit", &n.to_string());
    }
    out.finish()
}

/// `PATH/<call id>[/suffix]`, the id percent-encoded as one path segment.
fn call_path(call_id: &str, suffix: &str) -> String {
    let mut url = url::Url::parse("http://gateway").expect("a valid base URL");
    url.path_segments_mut()
        .expect("an http URL has a path")
        .extend(PATH.trim_start_matches('/').split('/'))
        .push(call_id);
    format!("{}{suffix}", url.path())
}

impl Client {
    /// `GET /system/async/invocations?...`: newest first.
    pub async fn list_invocations(&self, q: &InvocationQuery) -> Result<Vec<Invocation>, AsyncApiError> {
        let query = query_string(q);
        let path = if query.is_empty() { PATH.to_string() } else { format!("{PATH}?{query}") };
        let response = self.send(self.request(Method::GET, &path)).await?;
        match response.status() {
            StatusCode::OK => Ok(self.json(response).await?),
            StatusCode::NOT_FOUND => Err(AsyncApiError::NoApi { gateway: self.gateway().to_string() }),
            _ => Err(self.status_error(response).await.into()),
        }
    }

    /// `GET /system/async/invocations/{callId}`.
    pub async fn get_invocation(&self, call_id: &str) -> Result<Invocation, AsyncApiError> {
        let response = self.send(self.request(Method::GET, &call_path(call_id, ""))).await?;
        match response.status() {
            StatusCode::OK => Ok(self.json(response).await?),
            StatusCode::NOT_FOUND => Err(self.not_found_why(call_id).await),
            _ => Err(self.status_error(response).await.into()),
        }
    }

    /// `POST /system/async/invocations/{callId}/retry`: the record, queued again.
    pub async fn retry_invocation(&self, call_id: &str) -> Result<Invocation, AsyncApiError> {
        let response = self.send(self.request(Method::POST, &call_path(call_id, "/retry"))).await?;
        match response.status() {
            StatusCode::ACCEPTED => Ok(self.json(response).await?),
            StatusCode::NOT_FOUND => Err(self.not_found_why(call_id).await),
            _ => Err(self.status_error(response).await.into()),
        }
    }

    /// A 404 for one call: an unknown call when the gateway has the API, else the missing API.
    async fn not_found_why(&self, call_id: &str) -> AsyncApiError {
        match self.list_invocations(&InvocationQuery { limit: Some(1), ..InvocationQuery::default() }).await {
            Ok(_) => AsyncApiError::UnknownCall { gateway: self.gateway().to_string(), call_id: call_id.to_string() },
            Err(e) => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_become_a_query_string() {
        let q = InvocationQuery {
            function: Some("payment".into()),
            namespace: Some("shop".into()),
            status: Some(InvocationStatus::Dead),
            limit: Some(5),
        };
        assert_eq!(query_string(&q), "function=payment&namespace=shop&status=dead&limit=5");
        assert_eq!(query_string(&InvocationQuery::default()), "");
        assert_eq!(call_path("a b/c", "/retry"), "/system/async/invocations/a%20b%2Fc/retry");
        assert_eq!(call_path("order-1:pay", ""), "/system/async/invocations/order-1:pay");
    }
}
