//! Basic auth on every `/system/*` route and method: no credentials, wrong ones and malformed
//! ones are 401 with `WWW-Authenticate: Basic realm="Restricted"`; the right ones pass whatever
//! the case of the scheme. The route table is checked against `src/gateway/router.rs`, so a
//! new route cannot slip in without being listed (and tested) here.

use std::collections::BTreeSet;

use base64::Engine;

use super::wire::{Answer, send};
use crate::support::gateway::TestGateway;

/// `(method, route as router.rs writes it, a concrete path, status of an authenticated request
/// with an empty body)`.
const ROUTES: &[(&str, &str, &str, u16)] = &[
    ("GET", "/system/info", "/system/info", 200),
    ("GET", "/system/health", "/system/health", 200),
    ("GET", "/system/function-stats", "/system/function-stats", 200),
    ("GET", "/system/functions", "/system/functions", 200),
    ("POST", "/system/functions", "/system/functions", 400),
    ("PUT", "/system/functions", "/system/functions", 400),
    ("DELETE", "/system/functions", "/system/functions", 400),
    ("GET", "/system/function/{name}", "/system/function/ghost", 404),
    ("GET", "/system/function/{name}/schedule", "/system/function/ghost/schedule", 404),
    ("POST", "/system/scale-function/{name}", "/system/scale-function/ghost", 400),
    ("GET", "/system/secrets", "/system/secrets", 200),
    ("POST", "/system/secrets", "/system/secrets", 400),
    ("PUT", "/system/secrets", "/system/secrets", 400),
    ("DELETE", "/system/secrets", "/system/secrets", 400),
    ("GET", "/system/logs", "/system/logs", 400),
    ("GET", "/system/namespaces", "/system/namespaces", 200),
    ("GET", "/system/async/invocations", "/system/async/invocations", 200),
    ("GET", "/system/async/invocations/{call_id}", "/system/async/invocations/ghost", 404),
    ("POST", "/system/async/invocations/{call_id}/retry", "/system/async/invocations/ghost/retry", 404),
    ("POST", "/system/namespace/", "/system/namespace/", 400),
    ("GET", "/system/namespace/{name}", "/system/namespace/ghost", 404),
    ("POST", "/system/namespace/{name}", "/system/namespace/ghost", 400),
    ("PUT", "/system/namespace/{name}", "/system/namespace/ghost", 400),
    ("DELETE", "/system/namespace/{name}", "/system/namespace/ghost", 404),
];

/// `(method, route)` of every `/system` route registered in the router's source.
fn router_routes() -> BTreeSet<(String, String)> {
    let source = include_str!("../../../src/gateway/router.rs");
    let method = regex::Regex::new(r"(?:^|[^:\w])(get|post|put|delete|patch|head|options|any)\(").unwrap();
    let path = regex::Regex::new(r#""([^"]*)""#).unwrap();
    let mut found = BTreeSet::new();
    for (start, _) in source.match_indices(".route(") {
        let call = balanced(&source[start + ".route".len()..]);
        let route = path.captures(call).expect("a path literal")[1].to_string();
        for m in method.captures_iter(call) {
            found.insert((m[1].to_ascii_uppercase(), route.clone()));
        }
    }
    found.into_iter().filter(|(_, route)| route.starts_with("/system")).collect()
}

/// The text of a parenthesised call starting at `text[0] == '('`, parentheses included.
fn balanced(text: &str) -> &str {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        depth += match c {
            '(' => 1,
            ')' => -1,
            _ => 0,
        };
        if depth == 0 {
            return &text[..=i];
        }
    }
    panic!("unbalanced route call: {text}")
}

#[test]
fn the_table_lists_every_system_route_of_the_router() {
    let table: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, r, _, _)| (m.to_string(), r.to_string())).collect();
    let router = router_routes();
    assert!(router.len() >= 19, "the router's source could not be read: {router:?}");
    assert_eq!(table, router, "update ROUTES in tests/it/hostile/auth.rs");
}

fn basic(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[track_caller]
fn assert_refused(answer: &Answer, what: &str) {
    assert_eq!(answer.status, 401, "{what}: {answer:?}");
    assert_eq!(answer.header("www-authenticate"), Some("Basic realm=\"Restricted\""), "{what}");
    assert_eq!(answer.body, "invalid credentials\n", "{what}");
}

#[tokio::test]
async fn every_system_route_refuses_missing_wrong_and_malformed_credentials() {
    let gw = TestGateway::start().await;
    let good = basic(&format!("admin:{}", gw.password));
    let huge = format!("Basic {}", basic(&format!("admin:{}", "x".repeat(48 * 1024))));
    let refused: Vec<(&str, Option<String>)> = vec![
        ("no header", None),
        ("empty header", Some(String::new())),
        ("wrong password", Some(format!("Basic {}", basic("admin:wrong")))),
        ("wrong user", Some(format!("Basic {}", basic(&format!("root:{}", gw.password))))),
        ("password with a suffix", Some(format!("Basic {}", basic(&format!("admin:{}x", gw.password))))),
        ("password with a newline", Some(format!("Basic {}", basic(&format!("admin:{}\n", gw.password))))),
        ("empty user and password", Some(format!("Basic {}", basic(":")))),
        ("no colon", Some(format!("Basic {}", basic(&format!("admin{}", gw.password))))),
        ("bad base64", Some("Basic !!!not-base64!!!".to_string())),
        ("base64 without padding", Some(format!("Basic {}", good.trim_end_matches('=')))),
        ("space inside the token", Some(format!("Basic {} {}", &good[..4], &good[4..]))),
        ("scheme only", Some("Basic".to_string())),
        ("scheme and a space", Some("Basic ".to_string())),
        ("no space after the scheme", Some(format!("Basic{good}"))),
        ("another scheme", Some(format!("Bearer {good}"))),
        ("a bearer password", Some(format!("Bearer {}", gw.password))),
        ("the raw password", Some(gw.password.clone())),
        ("a 64 KiB header", Some(huge)),
    ];
    // The UI mounts the same API under /ui/api: every route is checked at both places.
    let mounted: Vec<(&str, String, u16)> = ROUTES
        .iter()
        .flat_map(|(m, _, p, s)| [(*m, p.to_string(), *s), (*m, format!("/ui/api{p}"), *s)])
        .chain([("GET", "/ui/".to_string(), 200)])
        .collect();
    for (method, path, authed_status) in &mounted {
        let (method, path) = (*method, path.as_str());
        for (what, header) in &refused {
            let headers: Vec<(&str, &str)> = header.iter().map(|h| ("Authorization", h.as_str())).collect();
            let answer = send(&gw.url, method, path, &headers, b"").await;
            assert_refused(&answer, &format!("{method} {path} with {what}"));
        }
        for scheme in ["Basic", "basic", "BASIC", "bAsIc"] {
            let header = format!("{scheme} {good}");
            let answer = send(&gw.url, method, path, &[("Authorization", &header)], b"").await;
            assert_eq!(answer.status, *authed_status, "{method} {path} with scheme {scheme}: {answer:?}");
            assert_eq!(answer.header("www-authenticate"), None, "{method} {path}");
        }
        // Optional whitespace around the value and extra spaces after the scheme are allowed.
        let padded = format!("basic   {good}  ");
        let answer = send(&gw.url, method, path, &[("Authorization", &padded)], b"").await;
        assert_eq!(answer.status, *authed_status, "{method} {path} with {padded:?}");
    }
}

#[tokio::test]
async fn other_methods_are_401_then_405_and_oversized_headers_431() {
    let gw = TestGateway::start().await;
    let good = format!("Basic {}", basic(&format!("admin:{}", gw.password)));
    let paths: BTreeSet<&str> = ROUTES.iter().map(|(_, _, path, _)| *path).collect();
    for path in paths {
        let allowed: Vec<&str> = ROUTES.iter().filter(|r| r.2 == path).map(|r| r.0).collect();
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"].into_iter().filter(|m| !allowed.contains(m)) {
            // Without credentials even the method is not revealed.
            assert_refused(&send(&gw.url, method, path, &[], b"").await, &format!("{method} {path}"));
            let answer = send(&gw.url, method, path, &[("Authorization", &good)], b"").await;
            assert_eq!(answer.status, 405, "{method} {path}: {answer:?}");
        }
    }
    // Past the server's header limit the request is refused before any route or auth runs.
    let oversized = format!("Basic {}", "A".repeat(1 << 20));
    let answer = send(&gw.url, "GET", "/system/functions", &[("Authorization", &oversized)], b"").await;
    assert_eq!(answer.status, 431, "{answer:?}");
}
