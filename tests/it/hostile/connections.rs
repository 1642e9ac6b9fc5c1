//! A flood of idle and half-sent connections from one client (every client here is 127.0.0.1)
//! against a gateway with a small connection bound: `/healthz` and invokes keep answering, the
//! gateway holds no more than the bound, a deploy (Docker, health checks) still works, and what
//! the flood left open is closed by the idle and header-read timeouts.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::gateway::{TestGateway, echo_fn, echo_images};

const MAX_CONNECTIONS: usize = 200;
const IDLE_TIMEOUT: Duration = Duration::from_secs(4);
const FLOOD: usize = 1200;

/// Lets this test process open the flood (its soft open-file limit may be 1024).
fn raise_fd_limit() {
    let mut rlim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut rlim), 0);
        rlim.rlim_cur = rlim.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &rlim), 0);
    }
    assert!(rlim.rlim_cur >= 4 * FLOOD as u64, "the open-file limit ({}) is too low for the flood", rlim.rlim_cur);
}

/// Server-side connections of the gateway's port in the kernel's table (ESTABLISHED).
fn held_by_gateway(port: u16) -> usize {
    let text = std::fs::read_to_string("/proc/net/tcp").unwrap()
        + &std::fs::read_to_string("/proc/net/tcp6").unwrap_or_default();
    let suffix = format!(":{port:04X}");
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some((*f.get(1)?, *f.get(3)?))
        })
        .filter(|(local, state)| local.ends_with(&suffix) && *state == "01")
        .count()
}

/// One request on a new connection (`Connection: close`): the status code and how long it took.
async fn fresh(addr: SocketAddr, request_line: &str) -> (u16, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("{request_line} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, started.elapsed())
}

/// Opens `n` connections; every sixth sends half a request head and stops.
async fn open_flood(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut flood = Vec::with_capacity(n);
    for i in 0..n {
        let Ok(mut stream) = TcpStream::connect(addr).await else { continue };
        if i % 6 == 0 {
            let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: flood\r\n").await;
        }
        flood.push(stream);
    }
    flood
}

/// How many of `flood` the server has closed (a read sees the end or a reset at once).
async fn closed(flood: &mut [TcpStream]) -> usize {
    let mut count = 0;
    for stream in flood {
        let mut buf = [0u8; 64];
        if let Ok(Ok(0) | Err(_)) = tokio::time::timeout(Duration::from_millis(20), stream.read(&mut buf)).await {
            count += 1;
        }
    }
    count
}

#[tokio::test]
async fn a_flood_of_idle_and_half_sent_connections_leaves_healthz_and_invokes_answering() {
    raise_fd_limit();
    let (image, _) = echo_images().await;
    let max = MAX_CONNECTIONS.to_string();
    let idle = format!("{}s", IDLE_TIMEOUT.as_secs());
    let gw =
        TestGateway::start_with(&["--max-connections", &max, "--idle-timeout", &idle, "--header-read-timeout", "2s"])
            .await;
    assert_eq!(gw.deploy(&echo_fn("echo", &image)).await.0, 202);
    let addr: SocketAddr = gw.url.trim_start_matches("http://").parse().unwrap();
    let (_, health_before) = fresh(addr, "GET /healthz").await;
    let (_, invoke_before) = fresh(addr, "POST /function/echo").await;

    let mut flood = open_flood(addr, FLOOD).await;
    assert_eq!(flood.len(), FLOOD, "every flood connection was accepted by the kernel");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let held = held_by_gateway(addr.port());
    // A second wave opens while /healthz and an invoke are measured.
    let wave = tokio::spawn(open_flood(addr, FLOOD / 2));
    let (health_status, health) = fresh(addr, "GET /healthz").await;
    let (invoke_status, invoke) = fresh(addr, "POST /function/echo").await;
    let mut second = wave.await.unwrap();
    // The gateway's own outbound work (Docker, the new replica's health check) is not starved.
    let deploying = Instant::now();
    let (deploy_status, body) = gw.deploy(&echo_fn("during", &image)).await;
    let deploy = deploying.elapsed();
    assert_eq!(deploy_status, 202, "a deploy during the flood: {body}");
    eprintln!(
        "flood of {} connections, bound {MAX_CONNECTIONS}: gateway held {held}; /healthz {health:?} \
         (before the flood {health_before:?}), invoke {invoke:?} (before {invoke_before:?}), deploy {deploy:?}",
        FLOOD + FLOOD / 2
    );
    assert_eq!((health_status, invoke_status), (200, 200), "/healthz and the invoke answer under the flood");
    let bound = Duration::from_secs(5);
    assert!(health < bound && invoke < bound, "/healthz took {health:?}, the invoke {invoke:?}");
    let slack = MAX_CONNECTIONS / 8 + 10;
    assert!(held <= MAX_CONNECTIONS + slack, "the gateway held {held} connections, bound {MAX_CONNECTIONS}");

    tokio::time::sleep(IDLE_TIMEOUT + Duration::from_secs(3)).await;
    let closed_first = closed(&mut flood).await;
    let closed_second = closed(&mut second).await;
    let left = held_by_gateway(addr.port());
    eprintln!(
        "after the idle timeout: {closed_first}/{} and {closed_second}/{} closed; gateway holds {left}",
        flood.len(),
        second.len()
    );
    assert_eq!((closed_first, closed_second), (flood.len(), second.len()), "every flood connection was closed");
    assert!(left <= 2, "the gateway still holds {left} connections");
}
