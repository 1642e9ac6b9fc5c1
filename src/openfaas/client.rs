//! The HTTP client for any OpenFaaS gateway (rfaas's own, faasd, or OpenFaaS on Kubernetes).
//!
//! One [`Client`] per command: it carries the normalised gateway URL, the credentials found for it
//! in config.yml, TLS and timeout settings, and turns HTTP outcomes into [`ClientError`]s that say
//! what to do (401 → log in; connection refused → check the gateway URL).

use std::time::{Duration, Instant};

use base64::Engine;

use crate::config::ConfigFile;
use crate::http_client::{self, BodyDeadlines, FetchError, SendError, Stalled};

/// How requests authenticate.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    None,
    Basic { user: String, password: String },
    Bearer(String),
}

impl std::fmt::Debug for Auth {
    /// Never prints the secret part.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => write!(f, "None"),
            Auth::Basic { user, .. } => write!(f, "Basic({user}, REDACTED)"),
            Auth::Bearer(_) => write!(f, "Bearer(REDACTED)"),
        }
    }
}

impl Auth {
    /// The credentials config.yml holds for `gateway`: basic, or oauth2 as a bearer token.
    pub fn from_config(config: &ConfigFile, gateway: &str) -> Auth {
        match config.lookup(gateway) {
            Some(entry) if entry.auth == "basic" => {
                entry.basic_credentials().map(|(user, password)| Auth::Basic { user, password }).unwrap_or(Auth::None)
            }
            Some(entry) if entry.auth == "oauth2" && !entry.token.is_empty() => Auth::Bearer(entry.token.clone()),
            _ => Auth::None,
        }
    }

    fn header(&self) -> Option<String> {
        match self {
            Auth::None => None,
            Auth::Basic { user, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )),
            Auth::Bearer(token) => Some(format!("Bearer {token}")),
        }
    }
}

/// Transport settings.
#[derive(Debug, Clone, Copy)]
pub struct ClientOptions {
    pub tls_no_verify: bool,
    /// The deadline for each whole request, head and body (`--timeout`, or the command's own).
    /// `None` for streams: the head must still come within [`http_client::RESPONSE_TIMEOUT`];
    /// the body may then last as long as it lasts.
    pub timeout: Option<Duration>,
    /// `FAAS_DEBUG`: each request line and its headers (credentials redacted) go to stderr.
    pub debug: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions { tls_no_verify: false, timeout: Some(Duration::from_secs(60)), debug: false }
    }
}

/// What went wrong talking to the gateway.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("unauthorized access to {gateway}")]
    Unauthorized { gateway: String },
    #[error("{gateway} answered HTTP {status}: {body}")]
    Status { gateway: String, status: u16, body: String },
    #[error("cannot reach the gateway at {gateway}: {reason}")]
    Unreachable { gateway: String, reason: String },
    /// A connection, a response head or a body that did not come in time.
    #[error(transparent)]
    Stalled(#[from] Stalled),
    #[error("{what} not found on {gateway}")]
    NotFound { gateway: String, what: String },
    #[error("{what} already exists on {gateway}")]
    Conflict { gateway: String, what: String },
    #[error("unexpected response from {gateway}: {reason}")]
    Decode { gateway: String, reason: String },
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
}

impl ClientError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            ClientError::Unauthorized { gateway } => Some(format!(
                "run `rfaas login --gateway {gateway}` (or `rfaas login --local` for rfaas's own gateway)"
            )),
            ClientError::Unreachable { .. } => {
                Some("is the gateway running? Check --gateway, the stack's provider.gateway and $OPENFAAS_URL".into())
            }
            ClientError::Stalled(stalled) => Some(stalled.hint().into()),
            _ => None,
        }
    }

    /// The error as an `anyhow::Error` (`?` does the same); its hint is found on the chain by
    /// [`crate::error::render`].
    pub fn into_anyhow(self) -> anyhow::Error {
        self.into()
    }
}

impl crate::error::Hint for ClientError {
    fn hint(&self) -> Option<String> {
        ClientError::hint(self)
    }
}

/// A client bound to one gateway.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    gateway: String,
    auth: Auth,
    /// How long a response head may take: the whole deadline, or the stream default.
    head: Duration,
    total: Option<Duration>,
    debug: bool,
}

/// The most of an error response's body that is read, for the message.
const ERROR_BODY_CAP: usize = 64 * 1024;

impl Client {
    pub fn new(gateway: &str, auth: Auth, opts: ClientOptions) -> Result<Client, ClientError> {
        let head = opts.timeout.unwrap_or(http_client::RESPONSE_TIMEOUT);
        let mut builder = http_client::builder(head, opts.timeout)
            .danger_accept_invalid_certs(opts.tls_no_verify)
            .redirect(reqwest::redirect::Policy::none());
        // Every request goes to `gateway` and redirects are not followed, so a plain-http
        // gateway never needs TLS; loading the platform's root certificates (~150 files) was
        // half the run time of `rfaas list`.
        if gateway.get(..7).is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://")) {
            builder = builder.tls_certs_only(std::iter::empty());
        }
        let http = builder.build().map_err(|e| ClientError::Setup(e.to_string()))?;
        Ok(Client { http, gateway: gateway.to_string(), auth, head, total: opts.timeout, debug: opts.debug })
    }

    pub fn gateway(&self) -> &str {
        &self.gateway
    }

    /// A request to `path` on the gateway, with the saved credentials.
    pub(crate) fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.request_with_auth(method, path, true)
    }

    /// A request without credentials (function invocations, `/healthz`).
    pub(crate) fn request_open(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.request_with_auth(method, path, false)
    }

    fn request_with_auth(&self, method: reqwest::Method, path: &str, auth: bool) -> reqwest::RequestBuilder {
        let url = format!("{}{}", self.gateway, path);
        let mut req = self.http.request(method, url);
        if auth && let Some(h) = self.auth.header() {
            req = req.header(reqwest::header::AUTHORIZATION, h);
        }
        req
    }

    /// Sends `req`; with `FAAS_DEBUG=1` the request line and headers (credentials redacted) go to stderr.
    pub(crate) async fn send(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response, ClientError> {
        let req = req.build().map_err(|e| ClientError::Setup(e.to_string()))?;
        if self.debug {
            crate::output::log_line(&debug_line(&req));
        }
        http_client::send(&self.http, req, self.head).await.map_err(|e| match e {
            SendError::Stalled(stalled) => ClientError::Stalled(stalled),
            SendError::Transport(reason) => ClientError::Unreachable { gateway: self.gateway.clone(), reason },
        })
    }

    /// The next chunk of a response body (`None` at its end), waiting at most `idle` for it;
    /// the client's whole-request deadline applies too.
    pub async fn next_chunk(
        &self,
        response: &mut reqwest::Response,
        idle: Option<Duration>,
    ) -> Result<Option<bytes::Bytes>, ClientError> {
        // reqwest enforces `total` from when the request was sent; the timer started here only
        // names it when it runs out.
        let deadlines = BodyDeadlines { started: Instant::now(), idle, total: self.total };
        http_client::next_chunk(response, deadlines).await.map_err(|e| self.fetch_error(e))
    }

    /// A body read that failed, as a [`ClientError`].
    pub(crate) fn body_error(&self, url: &reqwest::Url, err: &reqwest::Error) -> ClientError {
        self.fetch_error(http_client::body_error(url, err, self.total))
    }

    fn fetch_error(&self, err: FetchError) -> ClientError {
        match err {
            FetchError::Stalled(stalled) => ClientError::Stalled(stalled),
            other => ClientError::Decode { gateway: self.gateway.clone(), reason: other.to_string() },
        }
    }

    pub(crate) async fn status_error(&self, response: reqwest::Response) -> ClientError {
        let status = response.status().as_u16();
        if status == 401 {
            return ClientError::Unauthorized { gateway: self.gateway.clone() };
        }
        let deadlines = BodyDeadlines { started: Instant::now(), idle: Some(self.head), total: self.total };
        let body = http_client::read_capped(response, ERROR_BODY_CAP, deadlines).await.unwrap_or_default();
        let body = String::from_utf8_lossy(&body).trim().to_string();
        ClientError::Status { gateway: self.gateway.clone(), status, body }
    }

    /// `GET /system/functions`, the call faas-cli's `login` uses to check credentials.
    pub async fn check_credentials(&self) -> Result<(), ClientError> {
        let response = self.send(self.request(reqwest::Method::GET, "/system/functions")).await?;
        if response.status() == reqwest::StatusCode::OK {
            return Ok(());
        }
        Err(self.status_error(response).await)
    }
}

fn debug_line(req: &reqwest::Request) -> String {
    let mut line = format!("{} {}", req.method(), req.url());
    for (name, value) in req.headers() {
        let value = if name == reqwest::header::AUTHORIZATION {
            let scheme = value.to_str().unwrap_or("").split(' ').next().unwrap_or("").to_string();
            format!("{scheme} REDACTED")
        } else {
            value.to_str().unwrap_or("<binary>").to_string()
        };
        line.push_str(&format!("\n{name}: {value}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AuthConfig;

    #[test]
    fn auth_from_config_and_redacted_debug() {
        let mut config = ConfigFile::default();
        config.upsert(AuthConfig::basic("http://gw", "admin", "pw"));
        let auth = Auth::from_config(&config, "http://gw");
        assert_eq!(auth, Auth::Basic { user: "admin".into(), password: "pw".into() });
        assert_eq!(format!("{auth:?}"), "Basic(admin, REDACTED)");
        assert_eq!(auth.header().unwrap(), "Basic YWRtaW46cHc=");
        assert_eq!(Auth::from_config(&config, "http://other"), Auth::None);
    }
}
