//! The engine's API version from its ping. dockerd answers `GET /_ping` itself, with the
//! version in the `Api-Version` header (Podman's compatible API does the same), where
//! `GET /version`, which bollard's negotiation reads, also asks containerd for its components:
//! most of the time of a no-op rebuild went to that one request (`benches/build.sh`, item 4).

use std::path::Path;
use std::time::Duration;

use bollard::ClientVersion;
use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::rt::TokioIo;

/// How long the ping may take before the caller falls back to bollard's negotiation.
const PING_WITHIN: Duration = Duration::from_secs(2);

/// The API version the engine on `socket` names in its ping; `None` when it cannot be asked
/// or names none (the caller then negotiates the usual way, which reports the error).
pub async fn api_version(socket: &Path) -> Option<ClientVersion> {
    let header = tokio::time::timeout(PING_WITHIN, ping_header(socket)).await.ok()??;
    parse(&header)
}

async fn ping_header(socket: &Path) -> Option<String> {
    let stream = tokio::net::UnixStream::connect(socket).await.ok()?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.ok()?;
    let driven = tokio::spawn(connection);
    let request = hyper::Request::get("/_ping").header(hyper::header::HOST, "docker").body(Empty::<Bytes>::new());
    let response = sender.send_request(request.ok()?).await.ok();
    driven.abort();
    response?.headers().get("api-version")?.to_str().ok().map(str::to_string)
}

/// `1.41` → 1.41; anything else (no minor, text, extra parts) → `None`.
fn parse(version: &str) -> Option<ClientVersion> {
    let (major, minor) = version.trim().split_once('.')?;
    Some(ClientVersion { major_version: major.parse().ok()?, minor_version: minor.parse().ok()? })
}

/// The older of two API versions: the client must not speak a newer one than the engine.
pub fn older(a: ClientVersion, b: ClientVersion) -> ClientVersion {
    let key = |v: &ClientVersion| (v.major_version, v.minor_version);
    if key(&a) <= key(&b) { a } else { b }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(major: usize, minor: usize) -> ClientVersion {
        ClientVersion { major_version: major, minor_version: minor }
    }

    #[test]
    fn versions_parse_from_the_header() {
        assert_eq!(parse("1.41"), Some(v(1, 41)));
        assert_eq!(parse(" 1.53\r"), Some(v(1, 53)));
        for bad in ["", "1", "1.", ".41", "1.41.2", "a.b", "1.-4", "99999999999999999999999.1"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_older_version_is_agreed() {
        assert_eq!(older(v(1, 41), v(1, 53)), v(1, 41));
        assert_eq!(older(v(1, 53), v(1, 44)), v(1, 44));
        assert_eq!(older(v(2, 0), v(1, 99)), v(1, 99));
    }

    #[tokio::test]
    async fn no_socket_is_no_version() {
        let dir = tempfile::tempdir().unwrap();
        assert!(api_version(&dir.path().join("docker.sock")).await.is_none());
    }

    /// A socket that answers every connection with `response` (or, when `None`, never answers).
    fn engine(dir: &Path, response: Option<&'static str>) -> std::path::PathBuf {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let socket = dir.join("engine.sock");
        let listener = tokio::net::UnixListener::bind(&socket).unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut head = [0u8; 1024];
                let _ = stream.read(&mut head).await;
                match response {
                    Some(text) => stream.write_all(text.as_bytes()).await.unwrap(),
                    None => std::mem::forget(stream),
                }
            }
        });
        socket
    }

    #[tokio::test]
    async fn the_version_comes_from_the_ping_header() {
        let dir = tempfile::tempdir().unwrap();
        let ok = "HTTP/1.1 200 OK\r\nApi-Version: 1.43\r\nContent-Length: 2\r\n\r\nOK";
        assert_eq!(api_version(&engine(dir.path(), Some(ok))).await, Some(v(1, 43)));
    }

    #[tokio::test]
    async fn an_engine_that_names_no_version_or_speaks_no_http_gives_none() {
        for answer in ["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK", "SSH-2.0-OpenSSH\r\n"] {
            let dir = tempfile::tempdir().unwrap();
            assert_eq!(api_version(&engine(dir.path(), Some(answer))).await, None, "{answer:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_engine_that_never_answers_is_given_up_on() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(api_version(&engine(dir.path(), None)).await, None);
    }
}
