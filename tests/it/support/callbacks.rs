//! A real HTTP server on 127.0.0.1 that receives async callbacks and records every request.
//! `/redirect` answers 302 to `/landing`; `/silent` never answers; any other path answers 200.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Callback {
    pub method: String,
    pub path: String,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Callback {
    /// The one value of header `name` (panics when it is absent or repeated).
    pub fn header(&self, name: &str) -> &str {
        let values: Vec<_> = self.headers.get_all(name).iter().collect();
        assert_eq!(values.len(), 1, "{name} appears {} times in {:?}", values.len(), self.headers);
        values[0].to_str().expect("text header")
    }
}

/// The running receiver.
#[derive(Clone)]
pub struct Receiver {
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub base: String,
    seen: Arc<Mutex<Vec<Callback>>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let seen: Arc<Mutex<Vec<Callback>>> = Arc::default();
        let store = seen.clone();
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let store = store.clone();
            async move { answer(&store, request).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { base, seen }
    }

    /// `<base><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Every request so far.
    pub fn all(&self) -> Vec<Callback> {
        self.seen.lock().expect("lock").clone()
    }

    /// The requests to `path` so far.
    pub fn on(&self, path: &str) -> Vec<Callback> {
        self.all().into_iter().filter(|c| c.path == path).collect()
    }

    /// Waits until `path` has had `n` requests or `timeout` passes; returns them.
    pub async fn wait_for(&self, path: &str, n: usize, timeout: Duration) -> Vec<Callback> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.on(path);
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn answer(store: &Mutex<Vec<Callback>>, request: axum::extract::Request) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 64 << 20).await.unwrap_or_default();
    let path = parts.uri.path().to_string();
    store.lock().expect("lock").push(Callback {
        method: parts.method.to_string(),
        path: path.clone(),
        headers: parts.headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    match path.as_str() {
        "/redirect" => (axum::http::StatusCode::FOUND, [("location", "/landing")], "moved").into_response(),
        "/silent" => std::future::pending().await,
        _ => "thanks".into_response(),
    }
}
