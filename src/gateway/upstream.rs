//! The proxy's connections to replicas: HTTP/1.1 over loopback, kept alive and reused, one pool
//! per thread keyed by the replica's port.
//!
//! Each thread that proxies (a connection worker, see `connections::Workers`, or a worker of the
//! main runtime for the async queue and cron) has its own pool, so a request, its upstream
//! connection and that connection's task stay on one thread, and a checkout takes no lock and
//! hashes nothing but a port. A connection goes back to the pool when its response body has
//! been read to the end (an abandoned body closes it); one that has been idle for
//! [`IDLE_FOR`], or that the replica closed, is dropped when next seen; at most [`IDLE_PER_PORT`]
//! idle connections are kept per replica, as nginx's `keepalive`. A request sent on a pooled
//! connection that turned out to be closed before the request went out is sent again once on a
//! new connection (a replica may close an idle connection at any time).

use std::cell::RefCell;
use std::collections::HashMap;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, header};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::time::Instant;

/// How long an idle connection is kept (the gateway's pool kept them 30 s before).
pub const IDLE_FOR: Duration = Duration::from_secs(30);
/// Idle connections kept per replica and thread.
pub const IDLE_PER_PORT: usize = 64;
/// How long connecting to a replica may take.
const CONNECT_WITHIN: Duration = Duration::from_secs(5);

thread_local! {
    static POOL: RefCell<HashMap<u16, Port>> = RefCell::new(HashMap::new());
}

/// One replica's idle connections on this thread, and its `Host` header.
struct Port {
    host: HeaderValue,
    idle: Vec<(SendRequest<Body>, Instant)>,
}

impl Port {
    fn new(port: u16) -> Port {
        let host = HeaderValue::try_from(format!("127.0.0.1:{port}")).expect("an address is header text");
        Port { host, idle: Vec::new() }
    }
}

/// Why a request got no response from the replica.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("cannot connect: {0}")]
    Connect(#[source] std::io::Error),
    #[error("connecting timed out after {}s", CONNECT_WITHIN.as_secs())]
    ConnectTimeout,
    #[error("{0}")]
    Http(#[source] hyper::Error),
}

/// Sends `request` (origin-form URI; its `Host` is set here) to the replica on `port` of
/// 127.0.0.1 and returns its response once the head has arrived. The body streams from the
/// connection, which returns to this thread's pool when the body has been read to the end.
pub async fn send(port: u16, mut request: Request<Body>) -> Result<Response<Body>, Failure> {
    let (pooled, host) = checkout(port);
    request.headers_mut().insert(header::HOST, host);
    let request = match pooled {
        Some(mut sender) => match sender.try_send_request(request).await {
            Ok(response) => return Ok(release_at_end(port, sender, response)),
            Err(mut e) => match e.take_message() {
                // Closed before the request went out: a new connection gets it.
                Some(request) => request,
                None => return Err(Failure::Http(e.into_error())),
            },
        },
        None => request,
    };
    // Boxed: connecting is the rare path, and its state would enlarge every request's future.
    Box::pin(send_on_new_connection(port, request)).await
}

async fn send_on_new_connection(port: u16, request: Request<Body>) -> Result<Response<Body>, Failure> {
    let mut sender = connect(port).await?;
    let response = sender.send_request(request).await.map_err(Failure::Http)?;
    Ok(release_at_end(port, sender, response))
}

/// A live idle connection to `port` from this thread's pool (dropping the dead and the stale),
/// and the `Host` header for it.
fn checkout(port: u16) -> (Option<SendRequest<Body>>, HeaderValue) {
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let entry = pool.entry(port).or_insert_with(|| Port::new(port));
        // Most recently used first, so that the fewest connections stay warm; one still
        // finishing its last response is kept for later, the dead and the stale are dropped.
        let mut busy = Vec::new();
        let mut found = None;
        while let Some((sender, since)) = entry.idle.pop() {
            if since.elapsed() >= IDLE_FOR || sender.is_closed() {
                continue;
            }
            if sender.is_ready() {
                found = Some(sender);
                break;
            }
            busy.push((sender, since));
        }
        entry.idle.extend(busy.into_iter().rev());
        (found, entry.host.clone())
    })
}

/// Puts a connection whose response has ended back into this thread's pool.
fn checkin(port: u16, sender: SendRequest<Body>) {
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let entry = pool.entry(port).or_insert_with(|| Port::new(port));
        let now = Instant::now();
        entry.idle.retain(|(sender, since)| now.duration_since(*since) < IDLE_FOR && !sender.is_closed());
        if entry.idle.len() < IDLE_PER_PORT {
            entry.idle.push((sender, now));
        }
    });
}

/// A new connection to `port`, its task spawned on the current runtime.
async fn connect(port: u16) -> Result<SendRequest<Body>, Failure> {
    let stream = tokio::time::timeout(CONNECT_WITHIN, tokio::net::TcpStream::connect(("127.0.0.1", port)))
        .await
        .map_err(|_| Failure::ConnectTimeout)?
        .map_err(Failure::Connect)?;
    // A response's head and body may come in separate writes: no waiting for ACKs.
    stream.set_nodelay(true).map_err(Failure::Connect)?;
    let (sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(Failure::Http)?;
    tokio::spawn(async move {
        // Errors end the connection; the request that saw them reports them.
        let _ = connection.await;
    });
    Ok(sender)
}

fn release_at_end(port: u16, sender: SendRequest<Body>, response: Response<Incoming>) -> Response<Body> {
    response.map(|inner| {
        let mut body = Releasing { inner, release: Some((port, sender)) };
        body.release_if_ended();
        Body::new(body)
    })
}

/// A response body that gives its connection back to the pool once it has ended.
struct Releasing {
    inner: Incoming,
    release: Option<(u16, SendRequest<Body>)>,
}

impl Releasing {
    fn release_if_ended(&mut self) {
        if hyper::body::Body::is_end_stream(&self.inner)
            && let Some((port, sender)) = self.release.take()
        {
            checkin(port, sender);
        }
    }
}

impl hyper::body::Body for Releasing {
    type Data = bytes::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => self.release_if_ended(),
            Poll::Ready(Some(Ok(_))) => self.release_if_ended(),
            // A failed body leaves the connection unusable: it is dropped, not returned.
            Poll::Ready(Some(Err(_))) => self.release = None,
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests;
