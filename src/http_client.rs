//! What every outgoing HTTP request of the CLI shares (the gateway API, invoke, logs, login,
//! the remote stack file, the template store): the User-Agent, a connect timeout, a deadline for
//! the response head, bodies read with a size cap and an optional idle timeout, and errors that
//! name the URL and what stalled.
//!
//! A server that accepts a connection and never answers used to hold `rfaas logs` forever. Now
//! no request waits without bound: the connection must open within [`CONNECT_TIMEOUT`], the
//! response head arrive within the command's `--timeout` (or its built-in deadline), and only a
//! followed log stream (`logs --tail`) stays open without one once it has begun. There, a quiet
//! function legitimately sends nothing for hours and gateways send no keep-alive lines, so no
//! idle timeout applies; TCP keep-alive (reqwest's default: probes after 15 s idle, every 15 s,
//! 3 of them) ends the stream within about a minute if the gateway's host goes away.

use std::time::{Duration, Instant};

/// How long opening a connection (TCP and TLS) may take. A request whose whole deadline is
/// shorter than twice this gets half of it, so a connection that never opens is reported as
/// that rather than as a missing response.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long to wait for a response head, and between two reads of a body, where the command has
/// no deadline of its own (`logs`, the remote stack file). Gateways answer the head of a log
/// stream as soon as they have found the replicas; a stack file is one small document.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

/// A client builder with the User-Agent and the connect timeout for requests whose head must
/// arrive within `head`; `total`, when set, bounds each whole request (reqwest's `timeout`).
pub fn builder(head: Duration, total: Option<Duration>) -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder().user_agent(crate::USER_AGENT).connect_timeout(connect_within(head));
    match total {
        Some(total) => builder.timeout(total),
        None => builder,
    }
}

fn connect_within(head: Duration) -> Duration {
    CONNECT_TIMEOUT.min(head / 2)
}

/// What did not arrive in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stall {
    /// No connection within the connect timeout.
    Connect(Duration),
    /// Connected, but no response head within the deadline.
    Head(Duration),
    /// The body started, then nothing arrived for this long.
    Idle(Duration),
    /// The whole request took longer than its deadline while the body was arriving.
    Unfinished(Duration),
}

/// A request to `url` that timed out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct Stalled {
    /// The URL without its query string and credentials.
    pub url: String,
    pub stall: Stall,
}

impl Stalled {
    fn new(url: &reqwest::Url, stall: Stall) -> Stalled {
        let mut url = url.clone();
        url.set_query(None);
        let _ = url.set_username("");
        let _ = url.set_password(None);
        Stalled { url: url.to_string(), stall }
    }

    fn describe(&self) -> String {
        let (url, after) = (&self.url, |d: &Duration| humantime::format_duration(*d).to_string());
        match &self.stall {
            Stall::Connect(d) => format!("cannot connect to {url}: no connection within {}", after(d)),
            Stall::Head(d) => format!(
                "no response from {url}: the connection was accepted, but no response headers came within {}",
                after(d)
            ),
            Stall::Idle(d) => format!("the response from {url} stalled: nothing arrived for {}", after(d)),
            Stall::Unfinished(d) => format!("the response from {url} did not finish within {}", after(d)),
        }
    }

    /// What the user can do about it.
    pub fn hint(&self) -> &'static str {
        match self.stall {
            Stall::Connect(_) => {
                "check the URL: a host that is down, or a firewall that drops packets, looks like this"
            }
            Stall::Head(_) => {
                "the server accepted the connection but is not answering: check that it is healthy (its logs and load, or a proxy in between)"
            }
            Stall::Idle(_) | Stall::Unfinished(_) => {
                "the server stopped sending: check that it is healthy (its logs and load, or a proxy in between)"
            }
        }
    }
}

impl crate::error::Hint for Stalled {
    fn hint(&self) -> Option<String> {
        Some(Stalled::hint(self).to_string())
    }
}

/// Why a request failed before its response head arrived.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error(transparent)]
    Stalled(#[from] Stalled),
    /// Any other transport failure, as [`crate::error::describe_reqwest`] words it.
    #[error("{0}")]
    Transport(String),
}

/// Sends `request` and waits at most `head` for the response head (the client's own total
/// deadline, if shorter, also applies).
pub async fn send(
    client: &reqwest::Client,
    request: reqwest::Request,
    head: Duration,
) -> Result<reqwest::Response, SendError> {
    let url = request.url().clone();
    match tokio::time::timeout(head, client.execute(request)).await {
        Err(_) => Err(Stalled::new(&url, Stall::Head(head)).into()),
        Ok(Ok(response)) => Ok(response),
        // The connector's own timeout; any other timeout before the head is the total deadline.
        Ok(Err(e)) if e.is_timeout() && e.is_connect() => {
            Err(Stalled::new(&url, Stall::Connect(connect_within(head))).into())
        }
        Ok(Err(e)) if e.is_timeout() => Err(Stalled::new(&url, Stall::Head(head)).into()),
        Ok(Err(e)) => Err(SendError::Transport(crate::error::describe_reqwest(&e))),
    }
}

/// The error for a failed body read: a [`Stall::Unfinished`] when the client's `total`
/// deadline ran out, otherwise the transport's reason.
pub fn body_error(url: &reqwest::Url, err: &reqwest::Error, total: Option<Duration>) -> FetchError {
    match total {
        Some(total) if err.is_timeout() => FetchError::Stalled(Stalled::new(url, Stall::Unfinished(total))),
        _ => FetchError::Transport(crate::error::describe_reqwest(err)),
    }
}

/// Why a document or a body could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("the server answered HTTP {0}")]
    Status(reqwest::StatusCode),
    /// The body is over the cap: `Some(size)` from its Content-Length, before anything was read;
    /// `None` when it passed the cap while streaming.
    #[error("the response is {} bytes, over the limit of {cap} bytes", .size.map_or_else(|| format!("more than {cap}"), |n| n.to_string()))]
    TooLarge { size: Option<u64>, cap: usize },
    #[error(transparent)]
    Stalled(#[from] Stalled),
    #[error("{0}")]
    Transport(String),
}

impl From<SendError> for FetchError {
    fn from(e: SendError) -> Self {
        match e {
            SendError::Stalled(s) => FetchError::Stalled(s),
            SendError::Transport(t) => FetchError::Transport(t),
        }
    }
}

/// How long a body may take: at most `idle` between two reads, and everything by `total` after
/// the request was sent (`started`).
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadlines {
    pub started: Instant,
    pub idle: Option<Duration>,
    pub total: Option<Duration>,
}

/// Reads the next chunk of `response` within `deadlines`; `None` at the end of the body.
pub async fn next_chunk(
    response: &mut reqwest::Response,
    deadlines: BodyDeadlines,
) -> Result<Option<bytes::Bytes>, FetchError> {
    let url = response.url().clone();
    let idle = deadlines.idle.map(|idle| (idle, Stall::Idle(idle)));
    let total = deadlines.total.map(|t| (t.saturating_sub(deadlines.started.elapsed()), Stall::Unfinished(t)));
    let limit = match (idle, total) {
        (Some(idle), Some(total)) => Some(if total.0 < idle.0 { total } else { idle }),
        (idle, total) => idle.or(total),
    };
    let chunk = match limit {
        Some((wait, stall)) => {
            tokio::time::timeout(wait, response.chunk()).await.map_err(|_| Stalled::new(&url, stall))?
        }
        None => response.chunk().await,
    };
    chunk.map_err(|e| body_error(&url, &e, deadlines.total))
}

/// Reads the body of `response` within `deadlines`: an error before reading when its
/// Content-Length is over `cap`, and as soon as more than `cap` bytes have arrived otherwise
/// (the rest is never read).
pub async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
    deadlines: BodyDeadlines,
) -> Result<Vec<u8>, FetchError> {
    if let Some(size) = response.content_length()
        && size > cap as u64
    {
        return Err(FetchError::TooLarge { size: Some(size), cap });
    }
    let mut body = Vec::new();
    while let Some(chunk) = next_chunk(&mut response, deadlines).await? {
        if body.len() + chunk.len() > cap {
            return Err(FetchError::TooLarge { size: None, cap });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Why [`read_document`] failed: a stalled server (it has a hint of its own) or any other reason.
#[derive(Debug)]
pub enum ReadDocumentError {
    Stalled(Stalled),
    Failed(String),
}

/// The text of a document a user names by an http(s) URL (`timeout` for the response head and
/// between body chunks), a `file://` URL or a path relative to `cwd`, at most
/// [`MAX_DOCUMENT_BYTES`](crate::stack::limits::MAX_DOCUMENT_BYTES): the one reader of the
/// function and template stores.
pub async fn read_document(url: &str, cwd: &std::path::Path, timeout: Duration) -> Result<String, ReadDocumentError> {
    use crate::stack::limits::{self, MAX_DOCUMENT_BYTES};
    if url.starts_with("http://") || url.starts_with("https://") {
        let body = get_document(url, timeout, None, Some(timeout), MAX_DOCUMENT_BYTES).await.map_err(|e| match e {
            FetchError::Stalled(stalled) => ReadDocumentError::Stalled(stalled),
            other => ReadDocumentError::Failed(other.to_string()),
        })?;
        String::from_utf8(body).map_err(|_| ReadDocumentError::Failed("the response is not UTF-8 text".to_string()))
    } else {
        let path = url.strip_prefix("file://").unwrap_or(url);
        limits::read(&cwd.join(path), limits::Accept::Streams).map_err(|e| ReadDocumentError::Failed(e.to_string()))
    }
}

/// Fetches the document at `url` (GET) for a command that reads one: a 2xx head within `head`,
/// then at most `cap` bytes within `idle` between reads and `total` for the whole request.
pub async fn get_document(
    url: &str,
    head: Duration,
    idle: Option<Duration>,
    total: Option<Duration>,
    cap: usize,
) -> Result<Vec<u8>, FetchError> {
    let head = total.map_or(head, |total| head.min(total));
    let client = builder(head, None).build().map_err(|e| FetchError::Transport(e.to_string()))?;
    let request = client.get(url).build().map_err(|e| FetchError::Transport(e.to_string()))?;
    let started = Instant::now();
    let response = send(&client, request, head).await?;
    if !response.status().is_success() {
        return Err(FetchError::Status(response.status()));
    }
    read_capped(response, cap, BodyDeadlines { started, idle, total }).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stalls_name_the_url_without_query_or_credentials_and_what_did_not_come() {
        let url = reqwest::Url::parse("http://admin:secret@gw:8080/system/logs?name=f&follow=true").unwrap();
        let head = Stalled::new(&url, Stall::Head(Duration::from_secs(30)));
        assert_eq!(
            head.to_string(),
            "no response from http://gw:8080/system/logs: the connection was accepted, but no response headers came within 30s"
        );
        let idle = Stalled::new(&url, Stall::Idle(Duration::from_millis(1500)));
        assert_eq!(
            idle.to_string(),
            "the response from http://gw:8080/system/logs stalled: nothing arrived for 1s 500ms"
        );
        assert!(Stalled::new(&url, Stall::Connect(CONNECT_TIMEOUT)).hint().starts_with("check the URL"));
        assert_eq!(connect_within(Duration::from_secs(5)), Duration::from_millis(2500));
        assert_eq!(connect_within(Duration::from_secs(60)), CONNECT_TIMEOUT);
    }
}
