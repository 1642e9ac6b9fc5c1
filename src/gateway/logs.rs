//! `GET /system/logs`: function logs as NDJSON `LogMessage` lines, read from the Docker logs API
//! of each replica (stdout and stderr) and flushed one line at a time.
//!
//! Query (the last value of a repeated key wins): `name` (required), `namespace`, `instance`
//! (a container name or id prefix), `since` (RFC3339, 422 when unparseable), `tail` (integer,
//! `<= 0` = everything, 422 when unparseable), `follow` (Go `ParseBool`; anything else = false).
//! Without `follow` the lines of all replicas are merged in time order; with it, lines stream as
//! they come until the client disconnects. Replicas started after a follow began are not added.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptionsBuilder;
use chrono::{DateTime, Utc};
use futures_util::stream::{self, BoxStream, StreamExt};

use super::error::ApiError;
use super::names::FnKey;
use super::provider::Replica;
use super::state::Gateway;
use crate::openfaas::types::LogMessage;

/// A parsed logs request.
#[derive(Debug, Clone, PartialEq)]
pub struct LogQuery {
    pub key: FnKey,
    pub instance: Option<String>,
    pub since: Option<DateTime<Utc>>,
    /// `None` = all lines.
    pub tail: Option<u32>,
    pub follow: bool,
}

fn parse_bool(text: &str) -> bool {
    matches!(text, "1" | "t" | "T" | "true" | "TRUE" | "True")
}

/// Parses the query string; errors are 400 (missing name) or 422 (bad since/tail).
pub fn parse_query(raw: Option<&str>) -> Result<LogQuery, ApiError> {
    let mut pairs = std::collections::HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        pairs.insert(k.into_owned(), v.into_owned());
    }
    let get = |k: &str| pairs.get(k).filter(|v| !v.is_empty()).cloned();
    let name = get("name").ok_or_else(|| ApiError::BadRequest("the name query parameter is required".into()))?;
    let since =
        match get("since") {
            None => None,
            Some(s) => Some(DateTime::parse_from_rfc3339(&s).map(|t| t.with_timezone(&Utc)).map_err(|_| {
                ApiError::Unprocessable("could not parse the log request: since must be RFC3339".into())
            })?),
        };
    let tail = match get("tail") {
        None => None,
        Some(t) => {
            let n: i64 = t.parse().map_err(|_| {
                ApiError::Unprocessable("could not parse the log request: tail must be an integer".into())
            })?;
            (n > 0).then(|| u32::try_from(n).unwrap_or(u32::MAX))
        }
    };
    Ok(LogQuery {
        key: FnKey::new(&name, &get("namespace").unwrap_or_default()),
        instance: get("instance"),
        since,
        tail,
        follow: get("follow").is_some_and(|f| parse_bool(&f)),
    })
}

/// `GET /system/logs`.
pub async fn handle(State(gw): State<Arc<Gateway>>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let query = parse_query(raw.as_deref())?;
    if gw.functions.get(&query.key).is_none() {
        return Err(ApiError::NotFound(format!("function {} not found", query.key)));
    }
    let replicas =
        gw.provider.list(Some(&query.key)).await.map_err(|e| ApiError::internal("cannot list replicas", e))?;
    let replicas: Vec<Replica> = replicas
        .into_iter()
        .filter(|r| query.instance.as_ref().is_none_or(|i| r.name == *i || r.id.starts_with(i.as_str())))
        .collect();
    let streams: Vec<BoxStream<'static, LogMessage>> =
        replicas.iter().map(|r| replica_stream(&gw, r, &query)).collect();
    let lines: BoxStream<'static, LogMessage> = if query.follow {
        stream::select_all(streams).boxed()
    } else {
        let mut all: Vec<LogMessage> = stream::iter(streams).flatten().collect().await;
        all.sort_by_key(|m| m.timestamp);
        stream::iter(all).boxed()
    };
    let body = lines.map(|m| {
        let mut line =
            serde_json::to_vec(&m).unwrap_or_else(|_| b"{\"text\":\"failed to serialize log message\"}".to_vec());
        line.push(b'\n');
        Ok::<_, Infallible>(Bytes::from(line))
    });
    let mut response = (StatusCode::OK, Body::from_stream(body)).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    Ok(response)
}

fn replica_stream(gw: &Gateway, replica: &Replica, q: &LogQuery) -> BoxStream<'static, LogMessage> {
    let mut options = LogsOptionsBuilder::default().stdout(true).stderr(true).timestamps(true).follow(q.follow);
    if let Some(since) = q.since {
        options = options.since(i32::try_from(since.timestamp()).unwrap_or(0));
    }
    options = options.tail(&q.tail.map_or("all".to_string(), |n| n.to_string()));
    let (key, instance, since) = (q.key.clone(), replica.name.clone(), q.since);
    gw.provider
        .docker
        .logs(&replica.id, Some(options.build()))
        .take_while(|item| std::future::ready(item.is_ok()))
        .filter_map(|item| std::future::ready(item.ok()))
        .flat_map(move |output| {
            let lines = to_messages(&key, &instance, output);
            stream::iter(lines.into_iter().filter(move |m| since.is_none_or(|s| m.timestamp >= s)))
        })
        .boxed()
}

/// Splits one Docker log frame (`<RFC3339Nano> <text>` lines) into messages.
fn to_messages(key: &FnKey, instance: &str, output: LogOutput) -> Vec<LogMessage> {
    let bytes = match output {
        LogOutput::StdOut { message } | LogOutput::StdErr { message } | LogOutput::Console { message } => message,
        LogOutput::StdIn { .. } => return Vec::new(),
    };
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let (timestamp, text) = match line.split_once(' ') {
                Some((ts, text)) => match DateTime::parse_from_rfc3339(ts) {
                    Ok(t) => (t.with_timezone(&Utc), text),
                    Err(_) => (Utc::now(), line),
                },
                None => (Utc::now(), line),
            };
            LogMessage {
                name: key.name.clone(),
                namespace: key.namespace.clone(),
                instance: instance.to_string(),
                timestamp,
                text: text.to_string(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parsing() {
        let q = parse_query(Some("name=a&name=echo&namespace=dev&tail=-1&follow=true&since=2025-01-01T00:00:00.5Z"))
            .unwrap();
        assert_eq!(q.key, FnKey::new("echo", "dev"));
        assert_eq!(q.tail, None);
        assert!(q.follow);
        assert!(q.since.is_some());
        assert!(!parse_query(Some("name=e&follow=yes")).unwrap().follow);
        assert_eq!(parse_query(Some("name=e&tail=3")).unwrap().tail, Some(3));
        assert!(matches!(parse_query(Some("name=e&tail=x")), Err(ApiError::Unprocessable(_))));
        assert!(matches!(parse_query(Some("name=e&since=yesterday")), Err(ApiError::Unprocessable(_))));
        assert!(matches!(parse_query(Some("tail=1")), Err(ApiError::BadRequest(_))));
    }

    #[test]
    fn docker_lines_become_messages() {
        let out = LogOutput::StdOut { message: Bytes::from("2025-01-02T03:04:05.123456789Z hello world\n") };
        let m = to_messages(&FnKey::new("echo", ""), "rfaas-x", out);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].text, "hello world");
        assert_eq!(m[0].instance, "rfaas-x");
        assert_eq!(m[0].timestamp.timestamp_subsec_nanos(), 123456789);
    }
}
