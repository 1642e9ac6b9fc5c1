//! The web UI at `/ui/` (`/ui` redirects there): hand-written HTML, CSS and JavaScript from
//! `ui/` in the repository, embedded in the binary, so it works offline and needs no CDN.
//!
//! Everything under `/ui` sits behind the gateway's basic auth. The page calls the REST API
//! under `/ui/api/system/...`: the same routes and handlers as `/system/...`, mounted a second
//! time so that they fall in the protection space a browser already sends the credentials to
//! after the page itself was authenticated (RFC 7617 §2.2: paths at or below `/ui/`).
//! Invocations go to the open `/function/...` route. A strict Content-Security-Policy allows
//! only the UI's own script and styles, as a second line behind escaping in the page.

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use include_dir::{Dir, include_dir};

use super::error::plain;
use super::state::Gateway;

static ASSETS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/ui");

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The UI's routes; `api` is the admin router (already behind auth), mounted at `/ui/api`.
/// The caller puts the result behind auth.
pub fn routes(api: Router<Arc<Gateway>>) -> Router<Arc<Gateway>> {
    Router::new()
        .route("/ui", get(|| async { Redirect::permanent("/ui/") }))
        .route("/ui/", get(|| async { asset_response("index.html") }))
        .route("/ui/{file}", get(|Path(file): Path<String>| async move { asset_response(&file) }))
        .nest("/ui/api", api)
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// One embedded file; only top-level names exist, so no path can leave the directory.
fn asset_response(name: &str) -> Response {
    let Some(file) = ASSETS.get_file(name).filter(|_| !name.contains('/')) else {
        return plain(StatusCode::NOT_FOUND, "404 page not found".to_string());
    };
    let mut response = file.contents().into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(name)));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// The embedded assets' total size in bytes.
pub fn assets_size() -> usize {
    ASSETS.files().map(|f| f.contents().len()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_stay_small_and_known_names_only() {
        assert!(assets_size() < 300 * 1024, "{} bytes", assets_size());
        assert!(ASSETS.get_file("index.html").is_some());
        assert_eq!(asset_response("../Cargo.toml").status(), StatusCode::NOT_FOUND);
        assert_eq!(asset_response("nope.js").status(), StatusCode::NOT_FOUND);
        let r = asset_response("app.js");
        assert_eq!(r.headers()[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
        assert!(r.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("script-src 'self'"));
    }
}
