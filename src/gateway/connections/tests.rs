//! The accept loop over real sockets on 127.0.0.1, with a tiny router and short timeouts.

use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

use super::*;

struct Server {
    addr: SocketAddr,
    release: Arc<Notify>,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
}

fn limits(header_read_ms: u64, idle_ms: u64, max_connections: usize) -> Limits {
    Limits {
        header_read_timeout: Duration::from_millis(header_read_ms),
        idle_timeout: Duration::from_millis(idle_ms),
        max_connections,
    }
}

/// `/ok` answers at once, `/hold` once released, `POST /len` with its body's length.
async fn start(limits: Limits) -> Server {
    let release = Arc::new(Notify::new());
    let held = release.clone();
    let app = Router::new()
        .route("/ok", get(|| async { "ok" }))
        .route(
            "/hold",
            get(move || {
                let held = held.clone();
                async move {
                    held.notified().await;
                    "held"
                }
            }),
        )
        .route("/len", post(|body: axum::body::Bytes| async move { body.len().to_string() }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let open = IntGauge::new("open", "open connections").unwrap();
    let done = tokio::spawn(serve(listener, app, limits, open, async {
        let _ = stopped.await;
    }));
    Server { addr, release, stop: Some(stop), done }
}

async fn connect(server: &Server) -> TcpStream {
    TcpStream::connect(server.addr).await.unwrap()
}

/// Sends `GET path` and returns the response (head and body) as text.
async fn get_on(stream: &mut TcpStream, path: &str) -> String {
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes()).await.unwrap();
    read_response(stream).await
}

async fn read_response(stream: &mut TcpStream) -> String {
    let mut text = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let n =
            tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await.expect("a response").unwrap();
        text.extend_from_slice(&buf[..n]);
        let so_far = String::from_utf8_lossy(&text).into_owned();
        if let Some((head, body)) = so_far.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().strip_prefix("content-length: ").map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if body.len() >= length || n == 0 {
                return so_far;
            }
        }
        if n == 0 {
            return so_far;
        }
    }
}

/// How long until the server closes `stream`, if it does within `within`.
async fn closed_after(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 256];
    loop {
        match tokio::time::timeout_at(start + within, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn a_kept_alive_connection_closes_after_the_idle_timeout() {
    let server = start(limits(5_000, 400, 100)).await;
    let mut stream = connect(&server).await;
    assert!(get_on(&mut stream, "/ok").await.ends_with("\r\n\r\nok"));
    assert!(get_on(&mut stream, "/ok").await.ends_with("\r\n\r\nok"), "kept alive between requests");
    let closed = closed_after(&mut stream, Duration::from_secs(5)).await.expect("closed");
    assert!(closed >= Duration::from_millis(350), "closed after {closed:?}, before the idle timeout");
}

#[tokio::test]
async fn a_head_trickled_byte_by_byte_is_cut_at_the_header_read_timeout() {
    let server = start(limits(500, 10_000, 100)).await;
    let mut stream = connect(&server).await;
    stream.write_all(b"GET /ok HTTP/1.1\r\n").await.unwrap();
    let started = Instant::now();
    let trickle = async {
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if stream.write_all(b"X").await.is_err() {
                return started.elapsed();
            }
        }
        started.elapsed()
    };
    let cut = tokio::time::timeout(Duration::from_secs(5), trickle).await.expect("cut within 5 s");
    assert!(cut >= Duration::from_millis(450), "cut after {cut:?}");
    assert!(cut < Duration::from_secs(4), "cut after {cut:?}");
}

#[tokio::test]
async fn a_stalled_request_body_is_cut_at_the_idle_timeout() {
    let server = start(limits(5_000, 500, 100)).await;
    let mut stream = connect(&server).await;
    stream.write_all(b"POST /len HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc").await.unwrap();
    let closed = closed_after(&mut stream, Duration::from_secs(5)).await.expect("closed");
    assert!(closed >= Duration::from_millis(450), "closed after {closed:?}");
    let mut whole = connect(&server).await;
    whole.write_all(b"POST /len HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc").await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    whole.write_all(b"defghij").await.unwrap();
    assert!(read_response(&mut whole).await.ends_with("\r\n\r\n10"), "a short pause is fine");
}

#[tokio::test]
async fn at_the_bound_the_longest_idle_connection_makes_room_and_busy_ones_are_kept() {
    let server = start(limits(5_000, 60_000, 4)).await;
    let mut busy = connect(&server).await;
    busy.write_all(b"GET /hold HTTP/1.1\r\nHost: t\r\n\r\n").await.unwrap();
    let mut idle = Vec::new();
    for _ in 0..3 {
        let mut stream = connect(&server).await;
        assert!(get_on(&mut stream, "/ok").await.ends_with("ok"));
        idle.push(stream);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut fresh = connect(&server).await;
    assert!(get_on(&mut fresh, "/ok").await.ends_with("ok"), "a new connection is served at the bound");
    assert!(closed_after(&mut idle[0], Duration::from_secs(5)).await.is_some(), "the longest idle one is closed");
    for stream in &mut idle[1..] {
        assert!(closed_after(stream, Duration::from_millis(300)).await.is_none(), "the others stay open");
    }
    server.release.notify_waiters();
    assert!(read_response(&mut busy).await.ends_with("held"), "the busy connection was kept");
}

#[tokio::test]
async fn a_bound_full_of_busy_connections_answers_503() {
    let server = start(limits(5_000, 60_000, 2)).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = connect(&server).await;
        stream.write_all(b"GET /hold HTTP/1.1\r\nHost: t\r\n\r\n").await.unwrap();
        held.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut refused = connect(&server).await;
    let answer = get_on(&mut refused, "/ok").await;
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    assert!(answer.ends_with(REFUSAL), "{answer}");
}

#[tokio::test]
async fn shutdown_closes_idle_connections_and_lets_busy_ones_finish() {
    let mut server = start(limits(5_000, 60_000, 100)).await;
    let mut idle = connect(&server).await;
    assert!(get_on(&mut idle, "/ok").await.ends_with("ok"));
    let mut busy = connect(&server).await;
    busy.write_all(b"GET /hold HTTP/1.1\r\nHost: t\r\n\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = server.stop.take().unwrap().send(());
    assert!(closed_after(&mut idle, Duration::from_secs(5)).await.is_some(), "idle closed at once");
    assert!(!server.done.is_finished(), "serve waits for the busy connection");
    server.release.notify_waiters();
    let answer = read_response(&mut busy).await;
    assert!(answer.ends_with("held"), "{answer}");
    tokio::time::timeout(Duration::from_secs(5), server.done).await.expect("serve returns").unwrap();
}

#[test]
fn descriptors_cover_two_per_connection_and_a_reserve() {
    assert_eq!(connections_for_fds(20_000), 9_872);
    assert_eq!(connections_for_fds(1_024), 384);
    assert_eq!(connections_for_fds(100), 0);
}

/// A panic in one connection's task ends that task only: the runtime (and the gateway) goes
/// on. This needs unwinding to work in the binary as linked (build.rs links the unwinder from
/// libgcc_eh.a).
#[tokio::test]
async fn a_panicking_task_is_caught_and_the_runtime_goes_on() {
    let panicked = tokio::spawn(async {
        let empty: Vec<u8> = Vec::new();
        empty[std::hint::black_box(3)]
    })
    .await;
    assert!(panicked.is_err_and(|e| e.is_panic()));
    assert_eq!(tokio::spawn(async { 7 }).await.unwrap(), 7);
}

/// A connection told to close before its task first ran (a flood of new connections fills the
/// bound while the accept loop is still accepting) may have its whole request waiting in the
/// socket: that request is read and answered, and only then is the connection closed.
#[tokio::test]
async fn a_connection_evicted_before_its_first_read_answers_the_request_already_sent() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    client.write_all(b"GET /ok HTTP/1.1\r\nHost: t\r\n\r\n").await.unwrap();
    let (stream, remote) = listener.accept().await.unwrap();
    let tracker = Tracker::new();
    let conn = tracker.register();
    assert_eq!(tracker.admit(1), Admission::Accept);
    assert!(conn.is_evicted(), "the only idle connection was told to close");
    let (_stop, stopped) = signal::channel(false);
    let app = Router::new().route("/ok", get(|| async { "ok" }));
    let served =
        tokio::spawn(async move { drive(stream, remote, app, &conn, limits(5_000, 60_000, 1), stopped).await });
    let answer = read_response(&mut client).await;
    assert!(answer.ends_with("\r\n\r\nok"), "the request sent before the eviction: {answer:?}");
    assert!(closed_after(&mut client, Duration::from_secs(5)).await.is_some(), "then the connection closes");
    tokio::time::timeout(Duration::from_secs(5), served).await.expect("drive returns").unwrap();
}
