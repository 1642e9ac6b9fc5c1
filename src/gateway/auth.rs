//! Basic auth for `/system/*`: the credentials files in the state directory (created on first
//! start: user `admin`, a random password, both 0600) and the middleware that checks them in
//! constant time. The scheme is case-insensitive (RFC 7235). A failure is 401
//! `invalid credentials` with `WWW-Authenticate: Basic realm="Restricted"`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use rand::RngExt;
use subtle::ConstantTimeEq;

use super::error::plain;
use super::state::Gateway;
use crate::private_files::write_private;

/// File names, as faasd names them.
pub const USER_FILE: &str = "basic-auth-user";
pub const PASSWORD_FILE: &str = "basic-auth-password";
const DEFAULT_USER: &str = "admin";
const PASSWORD_LEN: usize = 40;

/// The gateway's basic-auth credentials.
#[derive(Clone)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, REDACTED)", self.user)
    }
}

/// Path of the password file inside `state_dir`.
pub fn password_path(state_dir: &Path) -> PathBuf {
    state_dir.join(PASSWORD_FILE)
}

/// Reads the credentials files (whitespace trimmed).
pub fn read(state_dir: &Path) -> std::io::Result<Credentials> {
    let user = fs_err::read_to_string(state_dir.join(USER_FILE))?.trim().to_string();
    let password = fs_err::read_to_string(password_path(state_dir))?.trim().to_string();
    Ok(Credentials { user, password })
}

/// Reads the credentials, creating them first if absent; `true` when they were just created.
pub fn load_or_create(state_dir: &Path) -> std::io::Result<(Credentials, bool)> {
    if password_path(state_dir).exists() && state_dir.join(USER_FILE).exists() {
        return Ok((read(state_dir)?, false));
    }
    let password: String =
        rand::rng().sample_iter(rand::distr::Alphanumeric).take(PASSWORD_LEN).map(char::from).collect();
    write_private(&state_dir.join(USER_FILE), DEFAULT_USER.as_bytes())?;
    write_private(&password_path(state_dir), password.as_bytes())?;
    Ok((Credentials { user: DEFAULT_USER.to_string(), password }, true))
}

/// The token of a `Basic` credential. The scheme is case-insensitive (RFC 7235 §2.1: `basic`
/// and `BASIC` are `Basic`) and followed by one or more spaces (`1*SP`); spaces and tabs around
/// the whole value are the header's optional whitespace (RFC 7230 §3.2), not part of it. The
/// token itself is strict base64 with padding, as Go's `BasicAuth` (the OpenFaaS gateway's)
/// decodes it: no whitespace inside, no other alphabet.
fn basic_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_matches([' ', '\t']).split_once(' ')?;
    scheme.eq_ignore_ascii_case("basic").then(|| token.trim_start_matches(' '))
}

/// True when `header` carries exactly these credentials; both parts compared in constant time.
pub fn check(creds: &Credentials, header: Option<&HeaderValue>) -> bool {
    let Some(encoded) = header.and_then(|h| h.to_str().ok()).and_then(basic_token) else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
        return false;
    };
    let Some(colon) = decoded.iter().position(|b| *b == b':') else {
        return false;
    };
    let (user, password) = (&decoded[..colon], &decoded[colon + 1..]);
    let user_ok = user.ct_eq(creds.user.as_bytes());
    let password_ok = password.ct_eq(creds.password.as_bytes());
    bool::from(user_ok & password_ok)
}

/// Middleware: rejects requests without the gateway's credentials.
pub async fn require(State(gw): State<Arc<Gateway>>, request: Request, next: Next) -> Response {
    if check(&gw.credentials, request.headers().get(header::AUTHORIZATION)) {
        return next.run(request).await;
    }
    let mut response = plain(StatusCode::UNAUTHORIZED, "invalid credentials".to_string());
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"Restricted\""));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(text: &str) -> HeaderValue {
        let encoded = base64::engine::general_purpose::STANDARD.encode(text);
        HeaderValue::from_str(&format!("Basic {encoded}")).unwrap()
    }

    #[test]
    fn checks_user_and_password() {
        let creds = Credentials { user: "admin".into(), password: "p:w".into() };
        assert!(check(&creds, Some(&basic("admin:p:w"))));
        assert!(!check(&creds, Some(&basic("admin:p"))));
        assert!(!check(&creds, Some(&basic("root:p:w"))));
        assert!(!check(&creds, Some(&HeaderValue::from_static("Bearer x"))));
        assert!(!check(&creds, None));
    }

    #[test]
    fn the_scheme_is_case_insensitive_and_the_token_strict() {
        let creds = Credentials { user: "admin".into(), password: "pw".into() };
        let token = base64::engine::general_purpose::STANDARD.encode("admin:pw");
        let header = |text: String| HeaderValue::from_str(&text).unwrap();
        for scheme in ["Basic", "basic", "BASIC", "bAsIc"] {
            assert!(check(&creds, Some(&header(format!("{scheme} {token}")))), "{scheme}");
        }
        for ok in [format!("Basic  {token}"), format!(" \tBasic {token} \t")] {
            assert!(check(&creds, Some(&header(ok.clone()))), "{ok:?}");
        }
        let (head, tail) = token.split_at(4);
        let unpadded = token.trim_end_matches('=');
        for bad in [
            format!("Basic{token}"),
            format!("Basic\t{token}"),
            format!("Basic {head} {tail}"),
            format!("Basics {token}"),
            format!("Basic {unpadded}"),
            "Basic".to_string(),
            "Basic ".to_string(),
            "Basic !!!!".to_string(),
            String::new(),
        ] {
            assert!(!check(&creds, Some(&header(bad.clone()))), "{bad:?}");
        }
    }

    #[test]
    fn creates_private_files_once() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (first, created) = load_or_create(dir.path()).unwrap();
        assert!(created);
        assert_eq!(first.password.len(), PASSWORD_LEN);
        let mode = std::fs::metadata(password_path(dir.path())).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let (second, created) = load_or_create(dir.path()).unwrap();
        assert!(!created);
        assert_eq!(second.password, first.password);
    }
}
