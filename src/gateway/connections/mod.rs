//! The gateway's accept loop: it owns every inbound connection, so that no client can hold the
//! gateway's sockets, file descriptors or attention for free.
//!
//! * A request head must arrive within `header_read_timeout` of its first byte (slowloris).
//! * A connection may wait for its client for at most `idle_timeout`: kept alive between
//!   requests, or stalled in the middle of a request body.
//! * At most about `max_connections` are open. When the bound is reached, the connections that
//!   do nothing for anyone (idle, or stalled in a head or body) are closed, those waiting longest
//!   first, and the new one is served; only when every connection is handling a request is a new
//!   one refused (503). Every client here is 127.0.0.1, so a per-address limit would not tell
//!   a flood from the gateway's real clients; waiting-longest-first keeps a client that is
//!   actually sending requests, whose connections were busy a moment ago, and a fresh connection
//!   is the last to go. See [`tracker`].
//!
//! Why not hyper's own `header_read_timeout`: hyper 1.x starts that timer when it begins
//! waiting for a head, which on a kept-alive connection is as soon as the previous response is
//! sent, so it would be an idle timeout too (and it needs a timer that `axum::serve` never sets,
//! which is why connections were never closed). The phases are tracked here instead, from the
//! socket's reads, the request body and the response body ([`watch`]).
//!
//! HTTP/1.1 only, as the OpenFaaS gateway serves it; TCP_NODELAY on every connection; open
//! connections counted in a gauge (`rfaas_open_connections`); on shutdown the listener closes,
//! idle connections close at once and busy ones after their response.

mod tracker;
mod watch;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use prometheus::IntGauge;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch as signal;
use tokio::time::Instant;
use tower::ServiceExt;

use super::console;
use tracker::{Admission, Conn, Phase, Tracker};
use watch::{RequestBody, ResponseBody, ResponseDone, WatchedIo};

/// Bounds on inbound connections (flags of `rfaas gateway`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest a client may take to send a request head, from its first byte.
    pub header_read_timeout: Duration,
    /// The longest a connection may wait for its client: between requests, or for more body.
    pub idle_timeout: Duration,
    /// About how many connections may be open at once.
    pub max_connections: usize,
}

/// File descriptors kept for the gateway's own work (Docker, the database, health checks,
/// logs) beyond two per inbound connection (it and, while proxied, its upstream connection).
const FD_RESERVE: u64 = 256;

/// How long an idle connection told to close may take to finish writing its last response.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// The body of the 503 for a connection there is no room for.
const REFUSAL: &str = "every connection the gateway may open is handling a request; retry later\n";

/// Raises the open-file limit to its hard maximum and returns `limits` with `max_connections`
/// lowered, with a warning, if the descriptors would not cover it and the gateway's own work.
pub fn fit_to_fd_limit(limits: Limits) -> Limits {
    let mut rlim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit read and write the struct passed; no memory is shared.
    let available = unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut rlim) != 0 {
            return limits;
        }
        if rlim.rlim_cur < rlim.rlim_max {
            let raised = libc::rlimit { rlim_cur: rlim.rlim_max, rlim_max: rlim.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                rlim.rlim_cur = rlim.rlim_max;
            }
        }
        rlim.rlim_cur
    };
    let fitted = connections_for_fds(available);
    if (limits.max_connections as u64) <= fitted {
        return limits;
    }
    let max = usize::try_from(fitted).unwrap_or(usize::MAX).max(1);
    console::warn(&format!(
        "--max-connections {} needs more than the {available} open files allowed (ulimit -n); using {max}",
        limits.max_connections
    ));
    Limits { max_connections: max, ..limits }
}

fn connections_for_fds(fds: u64) -> u64 {
    fds.saturating_sub(FD_RESERVE) / 2
}

/// Serves `app` on `listener` within `limits`, counting open connections in `open`, until
/// `shutdown` completes, then until every connection has closed (the caller bounds that wait).
/// Accept errors never end it.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    open: IntGauge,
    shutdown: impl Future<Output = ()>,
) {
    let tracker = Arc::new(Tracker::new());
    let (stop, stopped) = signal::channel(false);
    let refusals = Refusals::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, remote) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                accept_failed(&e).await;
                continue;
            }
        };
        // The proxy forwards a response head as soon as it arrives and the body when it
        // follows (waitress, for one, sends them in separate segments). With Nagle's algorithm
        // on, that second small write waited for the client's delayed ACK: ~40 ms added to
        // most invocations.
        if let Err(e) = stream.set_nodelay(true) {
            console::warn(&format!("cannot set TCP_NODELAY on an accepted connection: {e}"));
        }
        if tracker.admit(limits.max_connections) == Admission::Full {
            refusals.note();
            tokio::spawn(refuse(stream));
            continue;
        }
        open.inc();
        let entry = Open { conn: tracker.register(), tracker: tracker.clone(), gauge: open.clone() };
        let (app, stopped) = (app.clone(), stopped.clone());
        tokio::spawn(async move {
            drive(stream, remote, app, &entry.conn, limits, stopped).await;
        });
    }
    drop(listener);
    let _ = stop.send(true);
    let empty = tracker.empty.notified();
    if tracker.len() > 0 {
        empty.await;
    }
}

/// A connection's place in the tracker and the gauge, given up when its task ends (even by a
/// panic).
struct Open {
    conn: Arc<Conn>,
    tracker: Arc<Tracker>,
    gauge: IntGauge,
}

impl Drop for Open {
    fn drop(&mut self) {
        self.tracker.remove(&self.conn);
        self.gauge.dec();
    }
}

/// Errors that concern one connection only are skipped; others (e.g. out of descriptors) get a
/// warning and a pause, so the loop does not spin.
async fn accept_failed(e: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(e.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    console::warn(&format!("cannot accept a connection: {e}"));
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Serves one connection until it ends, its deadline passes, it is evicted or the gateway stops.
async fn drive(
    stream: TcpStream,
    remote: SocketAddr,
    app: Router,
    conn: &Arc<Conn>,
    limits: Limits,
    mut stopped: signal::Receiver<bool>,
) {
    let io = TokioIo::new(WatchedIo { io: stream, conn: conn.clone() });
    let service = {
        let conn = conn.clone();
        hyper::service::service_fn(move |request| handle(request, remote, app.clone(), conn.clone()))
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    // Disabled: the phases here time heads from their first byte (see the module docs).
    builder.header_read_timeout(None);
    let served = builder.serve_connection(io, service).with_upgrades();
    tokio::pin!(served);
    let mut stopping = false;
    loop {
        // An evicted connection that took a request meanwhile closes after that response.
        if conn.is_evicted() && conn.phase().0 != Phase::Busy {
            break;
        }
        let deadline = conn.deadline(&limits);
        tokio::select! {
            _ = served.as_mut() => return,
            () = sleep_until(deadline) => {
                if conn.deadline(&limits).is_some_and(|d| d <= Instant::now()) {
                    break;
                }
            }
            () = conn.wake.notified() => {}
            _ = stopped.changed(), if !stopping => {
                stopping = true;
                served.as_mut().graceful_shutdown();
            }
        }
    }
    // An idle connection may still be flushing its last response: hyper closes it cleanly.
    // One stalled in a head or a body has nothing worth finishing.
    if conn.phase().0 == Phase::Idle {
        served.as_mut().graceful_shutdown();
        let _ = tokio::time::timeout(CLOSE_GRACE, served).await;
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// One request: the client address for handlers (`ConnectInfo`), a body that reports stalls,
/// and a response body that marks the connection idle again once sent.
async fn handle(
    request: hyper::Request<Incoming>,
    remote: SocketAddr,
    app: Router,
    conn: Arc<Conn>,
) -> Result<axum::response::Response, Infallible> {
    conn.on_request();
    let done = ResponseDone(conn.clone());
    let mut request = request.map(|inner| axum::body::Body::new(RequestBody { inner, conn }));
    request.extensions_mut().insert(ConnectInfo(remote));
    let response = match app.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    Ok(response.map(|inner| axum::body::Body::new(ResponseBody { inner, _done: done })))
}

/// Answers 503 on a connection there is no room for, then closes it.
async fn refuse(mut stream: TcpStream) {
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n{REFUSAL}",
        REFUSAL.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
    // Reading what the client sent before closing, briefly, lets it see the 503 instead of a
    // reset.
    let mut sink = [0u8; 4096];
    let _ =
        tokio::time::timeout(CLOSE_GRACE, async { while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {} })
            .await;
}

/// Logs refused connections at most once every ten seconds.
struct Refusals {
    started: Instant,
    next_ms: AtomicU64,
}

impl Refusals {
    fn new() -> Refusals {
        Refusals { started: Instant::now(), next_ms: AtomicU64::new(0) }
    }

    fn note(&self) {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let next = self.next_ms.load(Ordering::Relaxed);
        let due = now >= next;
        if due
            && self
                .next_ms
                .compare_exchange(next, now.saturating_add(10_000), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            console::warn("every open connection is handling a request; refusing new ones (see --max-connections)");
        }
    }
}

#[cfg(test)]
mod tests;
