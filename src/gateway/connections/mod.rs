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
//!
//! Connections are accepted and served by [`Workers`]: one thread per core, each with its own
//! single-threaded runtime, its own duplicate of the listening socket (the kernel hands each
//! new connection to one of the threads waiting in `accept`) and, for the proxy, its own
//! upstream pool, as nginx runs one worker process per core. A request then never leaves its
//! thread: the multi-threaded runtime woke a sibling worker (a futex call) for most of the
//! several task wake-ups of each proxied request, and moved tasks and upstream connections
//! between threads. A thread accepts only as fast as it serves, as one runtime did.

mod tracker;
mod watch;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
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

/// What answers the requests of every connection: an axum [`Router`], or a service that
/// sends some paths elsewhere first (the gateway's `/function/*`, see `router::App`).
pub trait App: Clone + Send + Sync + 'static {
    /// Answers one request.
    fn call(&self, request: Request) -> impl Future<Output = Response> + Send + 'static + use<Self>;
}

impl App for Router {
    fn call(&self, request: Request) -> impl Future<Output = Response> + Send + 'static + use<> {
        let oneshot = self.clone().oneshot(request);
        async move {
            match oneshot.await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        }
    }
}

/// Threads that each run a single-threaded runtime, to serve connections on.
pub struct Workers {
    handles: Vec<tokio::runtime::Handle>,
}

impl Workers {
    /// Starts `count` threads (at least one); each runs its runtime for the life of the process.
    pub fn start(count: usize) -> std::io::Result<Workers> {
        let mut handles = Vec::new();
        for i in 0..count.max(1) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            handles.push(runtime.handle().clone());
            std::thread::Builder::new()
                .name(format!("rfaas-conn-{i}"))
                .spawn(move || runtime.block_on(std::future::pending::<()>()))?;
        }
        Ok(Workers { handles })
    }
}

/// [`serve_on`] with every connection served on the current runtime.
pub async fn serve(
    listener: TcpListener,
    app: impl App,
    limits: Limits,
    open: IntGauge,
    shutdown: impl Future<Output = ()>,
) {
    serve_on(None, listener, app, limits, open, shutdown).await;
}

/// What every accept loop shares.
struct Shared {
    tracker: Arc<Tracker>,
    refusals: Refusals,
    limits: Limits,
    open: IntGauge,
}

/// Serves `app` on `listener` within `limits`, counting open connections in `open`, until
/// `shutdown` completes, then until every connection has closed (the caller bounds that wait).
/// With `workers`, each worker accepts from the same listening socket and serves what it
/// accepted (so accepting never outruns serving, as in one runtime); without, the current
/// runtime does. Accept errors never end it.
pub async fn serve_on(
    workers: Option<Arc<Workers>>,
    listener: TcpListener,
    app: impl App,
    limits: Limits,
    open: IntGauge,
    shutdown: impl Future<Output = ()>,
) {
    let shared = Arc::new(Shared { tracker: Arc::new(Tracker::new()), refusals: Refusals::new(), limits, open });
    let (stop, stopped) = signal::channel(false);
    let mut loops = Vec::new();
    let per_worker = workers.map(|workers| listener_per_worker(&listener, &workers));
    let listeners = match per_worker {
        Some(Ok(per_worker)) => {
            // The duplicates keep the socket open; this one would keep it open after them.
            drop(listener);
            per_worker
        }
        Some(Err(e)) => {
            console::warn(&format!("cannot share the listener with the connection threads: {e}"));
            vec![(tokio::runtime::Handle::current(), Listening::Tokio(listener))]
        }
        None => vec![(tokio::runtime::Handle::current(), Listening::Tokio(listener))],
    };
    for (runtime, listening) in listeners {
        let (app, shared, stopped) = (app.clone(), shared.clone(), stopped.clone());
        loops.push(runtime.spawn(async move {
            let listener = match listening {
                Listening::Tokio(listener) => listener,
                Listening::Std(listener) => match TcpListener::from_std(listener) {
                    Ok(listener) => listener,
                    Err(e) => return console::warn(&format!("a connection thread cannot listen: {e}")),
                },
            };
            accept_loop(listener, app, shared, stopped).await;
        }));
    }
    shutdown.await;
    let _ = stop.send(true);
    // Each loop drops its listener when it ends: once all have, the port is closed.
    for accept in loops {
        let _ = accept.await;
    }
    let empty = shared.tracker.empty.notified();
    if shared.tracker.len() > 0 {
        empty.await;
    }
}

/// A listening socket for one accept loop: the original, or a duplicate for a worker's runtime.
enum Listening {
    Tokio(TcpListener),
    Std(std::net::TcpListener),
}

/// One duplicate of the listening socket for each worker, to be registered with its runtime.
fn listener_per_worker(
    listener: &TcpListener,
    workers: &Workers,
) -> std::io::Result<Vec<(tokio::runtime::Handle, Listening)>> {
    use std::os::fd::AsFd;
    workers
        .handles
        .iter()
        .map(|handle| {
            let dup = listener.as_fd().try_clone_to_owned()?;
            Ok((handle.clone(), Listening::Std(std::net::TcpListener::from(dup))))
        })
        .collect()
}

/// Accepts connections until `stopped`, and serves each on the current runtime.
async fn accept_loop(listener: TcpListener, app: impl App, shared: Arc<Shared>, stopped: signal::Receiver<bool>) {
    let mut stopping = stopped.clone();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopping.wait_for(|stop| *stop) => break,
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
        if shared.tracker.admit(shared.limits.max_connections) == Admission::Full {
            shared.refusals.note();
            tokio::spawn(refuse(stream));
            continue;
        }
        shared.open.inc();
        let entry =
            Open { conn: shared.tracker.register(), tracker: shared.tracker.clone(), gauge: shared.open.clone() };
        let (app, stopped, limits) = (app.clone(), stopped.clone(), shared.limits);
        tokio::spawn(async move {
            drive(stream, remote, app, &entry.conn, limits, stopped).await;
        });
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
    app: impl App,
    conn: &Arc<Conn>,
    limits: Limits,
    mut stopped: signal::Receiver<bool>,
) {
    let io = TokioIo::new(WatchedIo { io: stream, conn: conn.clone() });
    let service = {
        let conn = conn.clone();
        let client = Client::new(remote);
        hyper::service::service_fn(move |request| handle(request, &client, &app, conn.clone()))
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    // Disabled: the phases here time heads from their first byte (see the module docs).
    builder.header_read_timeout(None);
    let served = builder.serve_connection(io, service).with_upgrades();
    tokio::pin!(served);
    // Phase changes wake nobody (see `Conn::transition`): the deadline is checked at least this
    // often, which is soon enough because no phase change sets a deadline nearer than this.
    let check_every = limits.header_read_timeout.min(limits.idle_timeout);
    let timer = tokio::time::sleep(check_every);
    tokio::pin!(timer);
    let mut stopping = false;
    // Made once and polled again on every wake-up of the connection's task: a new `Notified`
    // or `changed()` each time would register and deregister a waiter (two locks) each time.
    let woken = conn.wake.notified();
    tokio::pin!(woken);
    let stop = stopped.changed();
    tokio::pin!(stop);
    loop {
        let next_check = Instant::now() + check_every;
        let at = conn.deadline(&limits).map_or(next_check, |d| d.min(next_check));
        if at != timer.deadline() {
            timer.as_mut().reset(at);
        }
        // `served` first: what the client has sent is read before an eviction is acted on.
        tokio::select! {
            biased;
            _ = served.as_mut() => return,
            () = timer.as_mut() => {
                if conn.deadline(&limits).is_some_and(|d| d <= Instant::now()) {
                    break;
                }
            }
            () = woken.as_mut() => woken.set(conn.wake.notified()),
            _ = stop.as_mut(), if !stopping => {
                stopping = true;
                served.as_mut().graceful_shutdown();
            }
        }
        // An evicted connection that took a request meanwhile closes after that response. Its
        // socket was read first: one evicted before its task ever ran (a flood filled the bound
        // while this thread was still accepting) may hold a whole request its client sent at
        // once, which the phases could not show yet.
        if conn.is_evicted() && conn.phase().0 != Phase::Busy {
            break;
        }
    }
    // An idle connection may still be flushing its last response: hyper closes it cleanly.
    // One stalled in a head or a body has nothing worth finishing.
    if conn.phase().0 == Phase::Idle {
        served.as_mut().graceful_shutdown();
        let _ = tokio::time::timeout(CLOSE_GRACE, served).await;
    }
}

/// The address of a connection's client as header text, for handlers (`ConnectInfo<Client>`;
/// the proxy's `X-Forwarded-For`), formatted once per connection.
#[derive(Debug, Clone)]
pub struct Client(pub axum::http::HeaderValue);

impl Client {
    fn new(addr: SocketAddr) -> Client {
        Client(axum::http::HeaderValue::try_from(addr.to_string()).expect("an address is header text"))
    }
}

/// One request: the client for handlers (`ConnectInfo<Client>`), a body that reports stalls,
/// and a response body that marks the connection idle again once sent.
fn handle<A: App>(
    request: hyper::Request<Incoming>,
    client: &Client,
    app: &A,
    conn: Arc<Conn>,
) -> impl Future<Output = Result<Response, Infallible>> + Send + 'static + use<A> {
    conn.on_request();
    let done = ResponseDone(conn.clone());
    let mut request = request.map(|inner| axum::body::Body::new(RequestBody { inner, conn }));
    request.extensions_mut().insert(ConnectInfo(client.clone()));
    let response = app.call(request);
    async move {
        let response = response.await;
        Ok(response.map(|inner| axum::body::Body::new(ResponseBody { inner, _done: done })))
    }
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
