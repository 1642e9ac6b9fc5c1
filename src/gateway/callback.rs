//! Async callbacks: which `X-Callback-Url`s a call may name, and the one POST that tells that URL
//! how the call ended.
//!
//! `/async-function` is open (no auth), so a callback URL lets any client that reaches the gateway
//! make it send a POST somewhere. That is bounded here: only `http` and `https` URLs are accepted
//! (anything else is a 400 when the call is queued, not a failure later); redirects are never
//! followed (a 3xx is the callback's answer); each callback has a connect and a total time limit;
//! and the hosts may be restricted with `rfaas gateway --callback-allow`.
//!
//! Without `--callback-allow` the default depends on the listening address: a gateway bound to a
//! loopback address accepts any callback host, since whoever can reach it can already send the same
//! requests from this machine; a gateway bound to any other address accepts none, since it would
//! otherwise let the network reach whatever this machine can (a blind request-forgery path).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue};

/// Headers the gateway sets on a callback; the function's headers of the same name are dropped so
/// each appears once.
const GATEWAY_HEADERS: [&str; 6] =
    ["x-duration-seconds", "x-function-status", "x-function-name", "x-call-id", "x-call-status", "x-call-attempts"];
/// Function response headers not replayed: they describe the function's connection, not the result.
const NOT_REPLAYED: [&str; 6] = ["host", "content-length", "connection", "transfer-encoding", "keep-alive", "upgrade"];
/// The longest a callback may take to connect (the total limit is `--callback-timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// One `--callback-allow` entry: `HOST`, `HOST:PORT`, `*.DOMAIN[:PORT]`, or `*` for any host.
/// IPv6 addresses are written in brackets (`[::1]:9000`). Without a port, any port matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    host: HostMatch,
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostMatch {
    Any,
    Exact(String),
    /// `*.example.com`, kept as `.example.com`: matches `a.example.com`, not `example.com`.
    Suffix(String),
}

impl FromStr for HostPattern {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad =
            |why: &str| format!("invalid callback host {text:?}: {why} (expected HOST, HOST:PORT, *.DOMAIN or *)");
        let t = text.trim();
        if t == "*" {
            return Ok(HostPattern { host: HostMatch::Any, port: None });
        }
        let (host, port) = split_port(t).map_err(|why| bad(&why))?;
        if host.is_empty() {
            return Err(bad("the host is empty"));
        }
        let host = host.to_ascii_lowercase();
        let host = match host.strip_prefix("*.") {
            Some(domain) => HostMatch::Suffix(format!(".{}", valid_domain(domain).map_err(|why| bad(&why))?)),
            None if host.parse::<IpAddr>().is_ok() => HostMatch::Exact(host),
            None => HostMatch::Exact(valid_domain(&host).map_err(|why| bad(&why))?.to_string()),
        };
        Ok(HostPattern { host, port })
    }
}

/// `(host, port)` from `host`, `host:port`, `[v6]` or `[v6]:port`; brackets are removed.
fn split_port(t: &str) -> Result<(&str, Option<u16>), String> {
    let (host, port) = if let Some(rest) = t.strip_prefix('[') {
        let (v6, after) = rest.split_once(']').ok_or("an IPv6 address needs a closing ]")?;
        v6.parse::<std::net::Ipv6Addr>().map_err(|_| format!("{v6:?} is not an IPv6 address"))?;
        match after {
            "" => (v6, None),
            _ => (v6, Some(after.strip_prefix(':').ok_or("expected :PORT after ]")?)),
        }
    } else {
        match t.rsplit_once(':') {
            Some((h, _)) if h.contains(':') => return Err("write IPv6 addresses in brackets, e.g. [::1]:9000".into()),
            Some((h, p)) => (h, Some(p)),
            None => (t, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p > 0).ok_or(format!("{p:?} is not a port"))?),
    };
    Ok((host, port))
}

fn valid_domain(domain: &str) -> Result<&str, String> {
    let label_ok = |l: &str| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if domain.split('.').all(label_ok) { Ok(domain) } else { Err(format!("{domain:?} is not a host name")) }
}

impl HostPattern {
    fn matches(&self, host: &str, port: u16) -> bool {
        let host_ok = match &self.host {
            HostMatch::Any => true,
            HostMatch::Exact(h) => h == host,
            HostMatch::Suffix(s) => host.ends_with(s.as_str()),
        };
        host_ok && self.port.is_none_or(|p| p == port)
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = match &self.host {
            HostMatch::Any => return f.write_str("*"),
            HostMatch::Exact(h) if h.contains(':') => format!("[{h}]"),
            HostMatch::Exact(h) => h.clone(),
            HostMatch::Suffix(s) => format!("*{s}"),
        };
        match self.port {
            Some(p) => write!(f, "{host}:{p}"),
            None => f.write_str(&host),
        }
    }
}

/// Which callback hosts are accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackAllow {
    Any,
    /// Only these; an empty list refuses every callback.
    Only(Vec<HostPattern>),
}

impl CallbackAllow {
    /// The policy from the `--callback-allow` flags, or the default for a gateway bound to `bind`.
    pub fn from_flags(flags: &[HostPattern], bind: IpAddr) -> CallbackAllow {
        if flags.iter().any(|p| p.host == HostMatch::Any && p.port.is_none()) {
            CallbackAllow::Any
        } else if !flags.is_empty() {
            CallbackAllow::Only(flags.to_vec())
        } else if bind.is_loopback() {
            CallbackAllow::Any
        } else {
            CallbackAllow::Only(Vec::new())
        }
    }

    /// A line for the gateway's start-up log.
    pub fn describe(&self) -> String {
        match self {
            CallbackAllow::Any => "async callbacks: any host".to_string(),
            CallbackAllow::Only(list) if list.is_empty() => {
                "async callbacks: none (the gateway listens beyond loopback; allow hosts with --callback-allow)"
                    .to_string()
            }
            CallbackAllow::Only(list) => {
                let names: Vec<String> = list.iter().map(ToString::to_string).collect();
                format!("async callbacks: only to {}", names.join(", "))
            }
        }
    }
}

/// What a callback reports, besides the function's own response headers and body.
pub struct Report<'a> {
    pub call_id: &'a str,
    /// `name.namespace`.
    pub function: &'a str,
    /// The function's last status (503 when it could not be invoked).
    pub status: u16,
    pub seconds: f64,
    /// Extra gateway headers (name, value), e.g. the call's final state.
    pub extra: Vec<(&'static str, String)>,
}

/// How a callback went: the receiver's status, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: Option<u16>,
    pub error: Option<String>,
}

/// Checks callback URLs and sends callbacks.
pub struct Callbacks {
    allow: CallbackAllow,
    client: reqwest::Client,
}

impl Callbacks {
    /// A sender whose callbacks take at most `timeout` each and never follow redirects.
    pub fn new(allow: CallbackAllow, timeout: Duration) -> anyhow::Result<Callbacks> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .timeout(timeout)
            // The allow list is about where callbacks go: never through a proxy from the environment.
            .no_proxy()
            .user_agent(super::proxy::SERVED_BY)
            .build()?;
        Ok(Callbacks { allow, client })
    }

    /// Checks an `X-Callback-Url` value; the error is the text of a 400.
    pub fn check(&self, text: &str) -> Result<url::Url, String> {
        let url = url::Url::parse(text).map_err(|e| format!("invalid X-Callback-Url: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("X-Callback-Url must be an http:// or https:// URL, not {}://", url.scheme()));
        }
        let (Some(host), Some(port)) = (url.host(), url.port_or_known_default()) else {
            return Err("X-Callback-Url has no host".to_string());
        };
        let host = match host {
            url::Host::Domain(d) => d.to_ascii_lowercase(),
            url::Host::Ipv4(ip) => ip.to_string(),
            url::Host::Ipv6(ip) => ip.to_string(),
        };
        let allowed = match &self.allow {
            CallbackAllow::Any => true,
            CallbackAllow::Only(list) => list.iter().any(|p| p.matches(&host, port)),
        };
        if !allowed {
            return Err(format!(
                "X-Callback-Url host {} is not allowed on this gateway (see rfaas gateway --callback-allow)",
                url.host_str().unwrap_or_default()
            ));
        }
        Ok(url)
    }

    /// POSTs the result to `url`: the function's headers, then the gateway's (each once), and body.
    pub async fn send(&self, url: &str, report: &Report<'_>, function_headers: &HeaderMap, body: Bytes) -> Outcome {
        let headers = callback_headers(report, function_headers);
        match self.client.post(url).headers(headers).body(body).send().await {
            Ok(response) => Outcome { status: Some(response.status().as_u16()), error: None },
            Err(e) => Outcome { status: None, error: Some(crate::error::describe_reqwest(&e.without_url())) },
        }
    }
}

/// The function's response headers without hop-by-hop ones and those the gateway sets, then the
/// gateway's: `X-Duration-Seconds`, `X-Function-Status`, `X-Function-Name`, `X-Call-Id` and extras.
fn callback_headers(report: &Report<'_>, function_headers: &HeaderMap) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in function_headers {
        let n = name.as_str();
        if !NOT_REPLAYED.contains(&n) && !GATEWAY_HEADERS.contains(&n) {
            headers.append(name.clone(), value.clone());
        }
    }
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    };
    set("x-duration-seconds", format!("{:.6}", report.seconds));
    set("x-function-status", report.status.to_string());
    set("x-function-name", report.function.to_string());
    set("x-call-id", report.call_id.to_string());
    for (name, value) in &report.extra {
        set(name, value.clone());
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(text: &str) -> HostPattern {
        text.parse().unwrap()
    }

    fn callbacks(allow: CallbackAllow) -> Callbacks {
        Callbacks::new(allow, Duration::from_secs(1)).unwrap()
    }

    #[test]
    fn only_http_and_https_urls_with_a_host_are_accepted() {
        let any = callbacks(CallbackAllow::Any);
        for good in ["http://127.0.0.1:9000/cb", "https://hooks.example.com/x?y=1", "http://[::1]:8/cb"] {
            assert!(any.check(good).is_ok(), "{good}");
        }
        for (bad, says) in [
            ("file:///etc/passwd", "not file://"),
            ("ftp://127.0.0.1/x", "not ftp://"),
            ("gopher://127.0.0.1:70/_x", "not gopher://"),
            ("javascript:alert(1)", "not javascript://"),
            ("::not a url", "invalid X-Callback-Url"),
            ("/relative", "invalid X-Callback-Url"),
        ] {
            let err = any.check(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn the_allow_list_matches_host_port_and_domain_suffixes() {
        let only = callbacks(CallbackAllow::Only(vec![
            pattern("127.0.0.1:9000"),
            pattern("*.hooks.example.com"),
            pattern("[::1]"),
            pattern("Receiver.Local:443"),
        ]));
        for good in [
            "http://127.0.0.1:9000/cb",
            "https://a.hooks.example.com/x",
            "http://b.a.hooks.example.com:81/",
            "http://[::1]:5/",
            "https://receiver.local/",
        ] {
            assert!(only.check(good).is_ok(), "{good}");
        }
        for bad in [
            "http://127.0.0.1:9001/cb",
            "http://127.0.0.1/cb",
            "https://hooks.example.com/x",
            "https://evilhooks.example.com/x",
            "http://receiver.local/",
            "http://127.0.0.2:9000/",
        ] {
            let err = only.check(bad).unwrap_err();
            assert!(err.contains("is not allowed on this gateway"), "{bad}: {err}");
        }
        assert!(callbacks(CallbackAllow::Only(Vec::new())).check("http://127.0.0.1/").is_err());
    }

    #[test]
    fn patterns_parse_and_print() {
        for text in ["*", "example.com", "example.com:8443", "*.example.com", "127.0.0.1:9", "[::1]:9000", "[::1]"] {
            assert_eq!(pattern(text).to_string(), text);
        }
        for bad in
            ["", ":80", "example.com:0", "example.com:http", "::1", "[::1", "[::1]x", "a..b", "a/b", "*.", "h:1:2"]
        {
            assert!(bad.parse::<HostPattern>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_default_depends_on_the_listening_address() {
        let loopback: IpAddr = [127, 0, 0, 1].into();
        let everywhere: IpAddr = [0, 0, 0, 0].into();
        assert_eq!(CallbackAllow::from_flags(&[], loopback), CallbackAllow::Any);
        assert_eq!(CallbackAllow::from_flags(&[], everywhere), CallbackAllow::Only(Vec::new()));
        assert_eq!(CallbackAllow::from_flags(&[], "::1".parse().unwrap()), CallbackAllow::Any);
        let one = vec![pattern("127.0.0.1:9")];
        assert_eq!(CallbackAllow::from_flags(&one, loopback), CallbackAllow::Only(one.clone()));
        assert_eq!(CallbackAllow::from_flags(&[pattern("*")], everywhere), CallbackAllow::Any);
    }

    #[test]
    fn gateway_headers_replace_the_functions_own() {
        let mut function = HeaderMap::new();
        function.insert("x-duration-seconds", HeaderValue::from_static("0.001"));
        function.insert("x-call-id", HeaderValue::from_static("other"));
        function.insert("content-length", HeaderValue::from_static("5"));
        function.insert("content-type", HeaderValue::from_static("application/json"));
        function.append("set-cookie", HeaderValue::from_static("a=1"));
        function.append("set-cookie", HeaderValue::from_static("b=2"));
        let report = Report {
            call_id: "id-1",
            function: "f.ns",
            status: 200,
            seconds: 1.5,
            extra: vec![("x-call-attempts", "2".into())],
        };
        let h = callback_headers(&report, &function);
        for name in GATEWAY_HEADERS.iter().filter(|n| **n != "x-call-status") {
            assert_eq!(h.get_all(*name).iter().count(), 1, "{name}");
        }
        assert_eq!((h["x-call-id"].to_str().unwrap(), h["x-duration-seconds"].to_str().unwrap()), ("id-1", "1.500000"));
        assert_eq!(h["x-function-status"], "200");
        assert_eq!(h["content-type"], "application/json");
        assert_eq!(h.get_all("set-cookie").iter().count(), 2);
        assert!(h.get("content-length").is_none());
    }
}
