use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

/// How a test replica answers each request on a connection.
#[derive(Clone, Copy)]
enum Replica {
    /// `hello`, keeping the connection open.
    KeepAlive,
    /// `hello`, then closes the connection without saying so (as a replica whose keep-alive
    /// timeout just passed).
    CloseAfter,
    /// A head promising 1 MiB, one chunk of it, then nothing more.
    Stalls,
}

/// A replica on a free port of 127.0.0.1; returns its port and how many connections it accepted.
async fn replica(kind: Replica) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counted = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let Ok(n) = stream.read(&mut buf).await else { return };
                    if n == 0 {
                        return;
                    }
                    head.extend_from_slice(&buf[..n]);
                    while let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                        head.drain(..end + 4);
                        let answer: &[u8] = match kind {
                            Replica::Stalls => b"HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\npart",
                            _ => b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
                        };
                        if stream.write_all(answer).await.is_err() {
                            return;
                        }
                        match kind {
                            Replica::KeepAlive => {}
                            Replica::CloseAfter => return,
                            Replica::Stalls => {
                                tokio::time::sleep(Duration::from_secs(3600)).await;
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    (port, accepted)
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

async fn text(response: Response<Body>) -> String {
    String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

#[tokio::test]
async fn a_connection_is_reused_once_its_response_has_been_read() {
    let (port, accepted) = replica(Replica::KeepAlive).await;
    for _ in 0..20 {
        assert_eq!(text(send(port, get("/")).await.unwrap()).await, "hello");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn concurrent_requests_get_a_connection_each_and_the_pool_keeps_them() {
    let (port, accepted) = replica(Replica::KeepAlive).await;
    for _ in 0..3 {
        let responses = futures_util::future::join_all((0..4).map(|_| send(port, get("/")))).await;
        for response in responses {
            assert_eq!(text(response.unwrap()).await, "hello");
        }
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_connection_the_replica_closed_is_not_used_again() {
    let (port, accepted) = replica(Replica::CloseAfter).await;
    for i in 0..10 {
        let response = send(port, get("/")).await.unwrap_or_else(|e| panic!("request {i}: {e}"));
        assert_eq!(text(response).await, "hello");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 10);
}

#[tokio::test]
async fn a_body_abandoned_before_its_end_does_not_return_its_connection() {
    let (port, accepted) = replica(Replica::Stalls).await;
    let mut body = send(port, get("/")).await.unwrap().into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(&first[..], b"part");
    drop(body);
    let second = send(port, get("/")).await.unwrap();
    assert_eq!(second.status(), 200);
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_host_header_names_the_replica() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = stream.read(&mut buf).await.unwrap();
        stream.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await.unwrap();
        String::from_utf8_lossy(&buf[..n]).to_lowercase()
    });
    let response = send(port, get("/a/b?c=d")).await.unwrap();
    assert_eq!(response.status(), 204);
    let head = seen.await.unwrap();
    assert!(head.starts_with("get /a/b?c=d http/1.1\r\n"), "{head}");
    assert!(head.contains(&format!("\r\nhost: 127.0.0.1:{port}\r\n")), "{head}");
}

#[tokio::test]
async fn a_port_nobody_listens_on_is_a_refused_connection() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    match send(port, get("/")).await {
        Err(Failure::Connect(e)) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused),
        other => panic!("{other:?}"),
    }
}
