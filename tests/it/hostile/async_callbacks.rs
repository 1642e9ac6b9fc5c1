//! `X-Callback-Url` from an unauthenticated client: only http(s), no redirects, bounded time,
//! an optional host allow list, and each gateway header once.

use std::time::{Duration, Instant};

use crate::support::callbacks::Receiver;
use crate::support::gateway::{TestGateway, echo_fn, echo_images};

async fn queue(gw: &TestGateway, path: &str, callback: &str) -> (u16, String) {
    let request = gw.http.post(format!("{}/async-function/{path}", gw.url)).header("X-Callback-Url", callback);
    gw.send(request).await
}

#[tokio::test]
async fn callbacks_are_http_only_never_redirected_and_carry_each_header_once() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start().await;
    assert_eq!(gw.deploy(&echo_fn("cb", &image)).await.0, 202);
    let receiver = Receiver::start().await;

    for (url, scheme) in [
        ("file:///etc/passwd", "file"),
        ("ftp://127.0.0.1/x", "ftp"),
        ("gopher://127.0.0.1:70/_GET%20/", "gopher"),
        ("data:text/plain,hi", "data"),
    ] {
        let (status, body) = queue(&gw, "cb", url).await;
        assert_eq!(status, 400, "{url}: {body}");
        assert!(body.contains(&format!("not {scheme}://")), "{url}: {body}");
    }
    assert_eq!(queue(&gw, "cb", "http://").await.0, 400);

    // The function itself answers with X-Duration-Seconds and gets X-Call-Id back from the proxy.
    let (status, _) = queue(&gw, "cb/echo", &receiver.url("/cb")).await;
    assert_eq!(status, 202);
    let (status, _) = queue(&gw, "cb/echo", &receiver.url("/redirect")).await;
    assert_eq!(status, 202);
    let got = receiver.wait_for("/cb", 1, Duration::from_secs(20)).await;
    assert_eq!(got.len(), 1, "{}", gw.log());
    let cb = &got[0];
    assert_eq!(cb.method, "POST");
    assert_ne!(cb.header("x-duration-seconds"), "0.001000", "the gateway's duration, not the function's");
    assert_eq!(cb.header("x-function-status"), "200");
    assert_eq!(cb.header("x-function-name"), "cb.openfaas-fn");
    assert!(!cb.header("x-call-id").is_empty());

    assert_eq!(receiver.wait_for("/redirect", 1, Duration::from_secs(20)).await.len(), 1, "{}", gw.log());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(receiver.on("/landing").is_empty(), "the 302 was followed: {:?}", receiver.on("/landing"));
}

#[tokio::test]
async fn callback_hosts_can_be_restricted_and_a_silent_receiver_is_abandoned() {
    let (image, _) = echo_images().await;
    let receiver = Receiver::start().await;
    let allowed = receiver.base.trim_start_matches("http://").to_string();
    let gw = TestGateway::start_with(&["--callback-allow", &allowed, "--callback-timeout", "1s"]).await;
    assert_eq!(gw.deploy(&echo_fn("cb", &image)).await.0, 202);

    let port = allowed.rsplit_once(':').unwrap().1;
    for refused in ["http://127.0.0.1:1/cb".to_string(), format!("http://localhost:{port}/cb")] {
        let (status, body) = queue(&gw, "cb", &refused).await;
        assert_eq!(status, 400, "{refused}: {body}");
        assert!(body.contains("is not allowed on this gateway"), "{body}");
    }

    // More receivers that never answer than there are workers: each must be given up on after
    // --callback-timeout, or the call queued after them waits for the default 10 s several times.
    let started = Instant::now();
    for _ in 0..8 {
        assert_eq!(queue(&gw, "cb", &receiver.url("/silent")).await.0, 202);
    }
    assert_eq!(queue(&gw, "cb", &receiver.url("/cb")).await.0, 202);
    let got = receiver.wait_for("/cb", 1, Duration::from_secs(30)).await;
    assert_eq!(got.len(), 1, "{}", gw.log());
    assert!(started.elapsed() < Duration::from_secs(12), "took {:?}\n{}", started.elapsed(), gw.log());
    assert_eq!(receiver.on("/silent").len(), 8);
}
