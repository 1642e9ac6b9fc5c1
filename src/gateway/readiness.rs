//! When a new replica counts as ready, and why one never did.
//!
//! * `com.openfaas.health.http.path` names the path to probe; the replica is ready once
//!   `GET <path>` on its port answers 2xx or 3xx (Kubernetes' rule for HTTP probes, which
//!   faas-netes uses for these annotations).
//! * Without it, `GET /_/health` is probed (the watchdogs' path). An image without that path
//!   answers 404: that answer shows its server accepts connections on its port, so it is ready
//!   then (the TCP check, passed by the very connection that got the 404). Any other status
//!   (the watchdogs' 503 before their lock file exists) means not yet.
//! * `com.openfaas.health.http.initialDelay` (a duration, `2s`, `1m30s`) delays the first probe;
//!   the readiness window (`--health-timeout`) starts after it.
//! * A replica still running at the end of the window is examined ([`why_not_ready`]): the TCP
//!   sockets its processes listen on (their `/proc/<pid>/fd` against the network namespace's
//!   `/proc/<pid>/net/tcp{,6}`) tell an image that ignores env `port` and listens on a fixed
//!   port (which cannot run two replicas on the host network) from one that listens nowhere or
//!   answers the probe wrongly.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use axum::http::{StatusCode, Uri};

use super::state::HttpClient;
use crate::openfaas::types::FunctionDeployment;

/// The annotation naming the HTTP path to probe.
pub const PATH_ANNOTATION: &str = "com.openfaas.health.http.path";
/// The annotation delaying the first probe.
pub const DELAY_ANNOTATION: &str = "com.openfaas.health.http.initialDelay";
/// The watchdogs' health path, probed when the annotation is absent.
const DEFAULT_PATH: &str = "/_/health";
/// The longest initial delay accepted: beyond it a deploy would wait for nothing.
const MAX_DELAY: Duration = Duration::from_secs(600);
/// The longest health path accepted.
const MAX_PATH: usize = 1024;
/// How long one probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// The pause between probes.
const PROBE_INTERVAL: Duration = Duration::from_millis(100);

/// How a function's replicas are probed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub path: String,
    /// False for the default path, where a 404 passes as the TCP check.
    pub explicit: bool,
    pub initial_delay: Duration,
}

impl Default for Probe {
    fn default() -> Probe {
        Probe { path: DEFAULT_PATH.to_string(), explicit: false, initial_delay: Duration::ZERO }
    }
}

impl Probe {
    /// The probe a deployment's annotations ask for; the error names the annotation (a 400).
    pub fn of(d: &FunctionDeployment) -> Result<Probe, String> {
        let annotations = d.annotations.as_ref();
        let get = |name: &str| annotations.and_then(|a| a.get(name));
        let (path, explicit) = match get(PATH_ANNOTATION) {
            Some(path) => (check_path(path)?, true),
            None => (Probe::default().path, false),
        };
        let initial_delay = match get(DELAY_ANNOTATION) {
            Some(text) => check_delay(text)?,
            None => Duration::ZERO,
        };
        Ok(Probe { path, explicit, initial_delay })
    }
}

fn check_path(path: &str) -> Result<String, String> {
    let shown = super::error::shown(path);
    let bad = |why: &str| Err(format!("annotation {PATH_ANNOTATION} {shown}: {why}"));
    if path.len() > MAX_PATH {
        return bad(&format!("longer than {MAX_PATH} bytes"));
    }
    if !path.starts_with('/') {
        return bad("must be an absolute path such as /healthz");
    }
    if path.parse::<axum::http::uri::PathAndQuery>().is_err() || path.contains(['#', ' ']) {
        return bad("is not a valid URL path");
    }
    Ok(path.to_string())
}

fn check_delay(text: &str) -> Result<Duration, String> {
    let shown = super::error::shown(text);
    let delay = crate::cli::parse_duration(text.trim())
        .map_err(|_| format!("annotation {DELAY_ANNOTATION} {shown}: not a duration (examples: 2s, 500ms, 1m30s)"))?;
    if delay > MAX_DELAY {
        return Err(format!("annotation {DELAY_ANNOTATION} {shown}: at most {}s", MAX_DELAY.as_secs()));
    }
    Ok(delay)
}

/// What the last probe of a replica saw, for the reason when it never became ready.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Seen {
    #[default]
    Nothing,
    Unreachable(String),
    Status(u16),
    TimedOut,
}

/// Probes `port` until the replica is ready (true) or `window` (after the initial delay) ends;
/// `seen` keeps the last outcome.
pub async fn wait_ready(client: &HttpClient, port: u16, probe: &Probe, window: Duration, seen: &mut Seen) -> bool {
    tokio::time::sleep(probe.initial_delay).await;
    let deadline = tokio::time::Instant::now() + window;
    let Ok(uri) = format!("http://{}:{port}{}", super::provider::REPLICA_ADDRESS, probe.path).parse::<Uri>() else {
        return false;
    };
    while tokio::time::Instant::now() < deadline {
        *seen = probe_once(client, &uri).await;
        if let Seen::Status(code) = *seen
            && passes(probe, code)
        {
            return true;
        }
        tokio::time::sleep(PROBE_INTERVAL).await;
    }
    false
}

fn passes(probe: &Probe, code: u16) -> bool {
    (200..400).contains(&code) || (!probe.explicit && code == StatusCode::NOT_FOUND.as_u16())
}

async fn probe_once(client: &HttpClient, uri: &Uri) -> Seen {
    let Ok(request) = axum::http::Request::get(uri.clone()).body(axum::body::Body::empty()) else {
        return Seen::Nothing;
    };
    match tokio::time::timeout(PROBE_TIMEOUT, client.request(request)).await {
        Ok(Ok(response)) => Seen::Status(response.status().as_u16()),
        Ok(Err(e)) => Seen::Unreachable(crate::error::with_sources(e.to_string(), &e)),
        Err(_) => Seen::TimedOut,
    }
}

/// Why a replica that still ran at the end of its readiness window never became ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotReady {
    /// Its processes listen, but not on the port given in env `port`.
    IgnoresPort { port: u16, listening: Vec<SocketAddr> },
    /// Its processes listen on no TCP port at all.
    ListensNowhere { port: u16 },
    /// It listens on `port` (or its sockets could not be read) but failed the probe.
    Probe(String),
}

impl std::fmt::Display for NotReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotReady::IgnoresPort { port, listening } => {
                let list = listening.iter().map(SocketAddr::to_string).collect::<Vec<_>>().join(", ");
                write!(
                    f,
                    "the image ignores env port={port}; it listens on {list} (a fixed port cannot serve more than \
                     one replica on the host network: make its server listen on env port, as of-watchdog does)"
                )
            }
            NotReady::ListensNowhere { port } => write!(f, "its processes listen on no TCP port (env port={port})"),
            NotReady::Probe(text) => f.write_str(text),
        }
    }
}

impl NotReady {
    /// The image itself is at fault (not a slow start): the deploy's 424.
    pub fn image_at_fault(&self) -> bool {
        matches!(self, NotReady::IgnoresPort { .. })
    }
}

/// Why a replica whose first process is `main_pid` never became ready on `port`: the image
/// ignores env `port` (it listens elsewhere), listens nowhere, or answers the probe wrongly.
pub fn why_not_ready(main_pid: Option<u32>, port: u16, probe: &Probe, seen: &Seen) -> NotReady {
    if let Some(listening) = main_pid.and_then(|pid| listeners(pid).ok())
        && !listening.iter().any(|a| a.port() == port)
    {
        return if listening.is_empty() {
            NotReady::ListensNowhere { port }
        } else {
            NotReady::IgnoresPort { port, listening }
        };
    }
    let path = &probe.path;
    NotReady::Probe(match seen {
        Seen::Status(code) if probe.explicit => format!("GET {path} on port {port} last answered {code}, not 2xx/3xx"),
        Seen::Status(code) => format!("GET {path} on port {port} last answered {code}, not 2xx/3xx or 404"),
        Seen::Unreachable(e) => format!("GET {path} on port {port} failed: {e}"),
        Seen::TimedOut => format!("GET {path} on port {port} did not answer within {}s", PROBE_TIMEOUT.as_secs()),
        Seen::Nothing => format!("port {port} was never probed"),
    })
}

/// The TCP addresses the processes of the container whose first process is `main_pid` listen on,
/// sorted. Its processes are those in the same cgroup.
pub fn listeners(main_pid: u32) -> std::io::Result<Vec<SocketAddr>> {
    let cgroup = std::fs::read_to_string(format!("/proc/{main_pid}/cgroup"))?;
    let mut inodes = HashSet::new();
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        if pid != main_pid && std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok().as_ref() != Some(&cgroup) {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { continue };
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else { continue };
            let target = target.to_string_lossy();
            if let Some(inode) = target.strip_prefix("socket:[").and_then(|t| t.strip_suffix(']')) {
                inodes.extend(inode.parse::<u64>().ok());
            }
        }
    }
    let mut found = Vec::new();
    for table in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{main_pid}/net/{table}")) else { continue };
        found.extend(parse_listeners(&text).into_iter().filter(|(_, i)| inodes.contains(i)).map(|(a, _)| a));
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// `(local address, socket inode)` of each LISTEN row of a `/proc/net/tcp` or `tcp6` table.
fn parse_listeners(table: &str) -> Vec<(SocketAddr, u64)> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.get(3) != Some(&"0A") {
                return None;
            }
            let (addr, port) = fields.get(1)?.split_once(':')?;
            let port = u16::from_str_radix(port, 16).ok()?;
            Some((SocketAddr::new(parse_address(addr)?, port), fields.get(9)?.parse().ok()?))
        })
        .collect()
}

/// The kernel prints addresses as 32-bit words in the host's byte order.
fn parse_address(hex: &str) -> Option<IpAddr> {
    let word = |i: usize| Some(u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16).ok()?.to_ne_bytes());
    match hex.len() {
        8 => Some(IpAddr::V4(Ipv4Addr::from(word(0)?))),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            Some(IpAddr::V6(Ipv6Addr::from(bytes)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn with(annotations: &[(&str, &str)]) -> FunctionDeployment {
        let map: BTreeMap<String, String> = annotations.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        FunctionDeployment { annotations: Some(map), ..Default::default() }
    }

    #[test]
    fn annotations_choose_the_probe() {
        let default = Probe::of(&with(&[])).unwrap();
        assert_eq!(default, Probe { path: "/_/health".into(), explicit: false, initial_delay: Duration::ZERO });
        let custom = Probe::of(&with(&[(PATH_ANNOTATION, "/ready?deep=1"), (DELAY_ANNOTATION, "1m30s")])).unwrap();
        assert_eq!(
            custom,
            Probe { path: "/ready?deep=1".into(), explicit: true, initial_delay: Duration::from_secs(90) }
        );
        assert!(passes(&default, 404) && passes(&default, 204) && !passes(&default, 503));
        assert!(!passes(&custom, 404) && passes(&custom, 302));
    }

    #[test]
    fn bad_annotations_name_the_annotation() {
        let err = |k: &str, v: &str| Probe::of(&with(&[(k, v)])).unwrap_err();
        assert!(err(PATH_ANNOTATION, "healthz").starts_with("annotation com.openfaas.health.http.path \"healthz\""));
        assert!(err(PATH_ANNOTATION, "/a b").contains("not a valid URL path"));
        assert!(err(PATH_ANNOTATION, &format!("/{}", "a".repeat(2000))).contains("longer than 1024 bytes"));
        assert!(err(DELAY_ANNOTATION, "soon").contains("not a duration"));
        assert!(err(DELAY_ANNOTATION, "2h").contains("at most 600s"));
        assert!(err(DELAY_ANNOTATION, "99999999999999999999s").contains("not a duration"));
    }

    #[test]
    fn proc_net_tcp_rows() {
        let v4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
                  0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1\n\
                  1: 0100007F:1F91 0100007F:9C40 01 00000000:00000000 00:00000000 00000000  1000        0 4243 1\n";
        assert_eq!(parse_listeners(v4), vec![("127.0.0.1:8080".parse().unwrap(), 4242)]);
        let v6 = "header\n 0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 0:0 0:0 0 0 0 77 1\n";
        assert_eq!(parse_listeners(v6), vec![("[::1]:8080".parse().unwrap(), 77)]);
    }

    #[test]
    fn this_process_sockets_are_found() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let found = listeners(std::process::id()).unwrap();
        assert!(found.contains(&addr), "{found:?} lacks {addr}");
    }
}
