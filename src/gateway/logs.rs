//! `GET /system/logs`: function logs as NDJSON `LogMessage` lines, read from the Docker logs API
//! of each replica (stdout and stderr) and flushed one line at a time.
//!
//! Query (the last value of a repeated key wins): `name` (required), `namespace`, `instance`
//! (a container name or id prefix), `since` (RFC3339, 422 when unparseable), `tail` (integer,
//! `<= 0` = everything, 422 when unparseable), `follow` (Go `ParseBool`; anything else = false).
//! Without `follow` the lines of all replicas are merged in time order; with it, lines stream as
//! they come until the client disconnects. Replicas started after a follow began are not added.
//!
//! A message is one line the function wrote. Docker sends a log entry per line; Podman sends one
//! per write (Python's `print` writes the text, then its newline) and a line longer than its
//! buffer in pieces. [`LineJoiner`] keeps a stream's unfinished line until its newline comes, so
//! both engines give the same messages.

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
    let frames = gw
        .provider
        .docker
        .logs(&replica.id, Some(options.build()))
        .take_while(|item| std::future::ready(item.is_ok()))
        .filter_map(|item| std::future::ready(item.ok()));
    // `None` marks the end, when an unfinished last line is let out.
    frames
        .map(Some)
        .chain(stream::once(std::future::ready(None)))
        .scan(LineJoiner::default(), |joiner, frame| {
            let lines = match frame {
                Some(output) => joiner.push(output),
                None => joiner.finish(),
            };
            std::future::ready(Some(lines))
        })
        .flat_map(move |lines| {
            let (key, instance) = (key.clone(), instance.clone());
            stream::iter(
                lines
                    .into_iter()
                    .filter(move |(t, _)| since.is_none_or(|s| *t >= s))
                    .map(move |(timestamp, text)| message(&key, &instance, timestamp, text)),
            )
        })
        .boxed()
}

fn message(key: &FnKey, instance: &str, timestamp: DateTime<Utc>, text: String) -> LogMessage {
    LogMessage {
        name: key.name.clone(),
        namespace: key.namespace.clone(),
        instance: instance.to_string(),
        timestamp,
        text,
    }
}

/// The longest unfinished line held back waiting for its newline; longer, it is let out as it is.
const MAX_PENDING: usize = 64 * 1024;

/// Turns Docker log frames (`<RFC3339Nano> <text>`, with `timestamps=true`) into whole lines
/// with the time of their first piece, stdout and stderr apart.
#[derive(Default)]
pub(crate) struct LineJoiner {
    /// The unfinished line of stdout (0) and stderr (1), with the time of its first piece.
    pending: [Option<(DateTime<Utc>, String)>; 2],
}

impl LineJoiner {
    /// The lines `output` finishes.
    pub(crate) fn push(&mut self, output: LogOutput) -> Vec<(DateTime<Utc>, String)> {
        let (stream, bytes) = match output {
            LogOutput::StdOut { message } | LogOutput::Console { message } => (0, message),
            LogOutput::StdErr { message } => (1, message),
            LogOutput::StdIn { .. } => return Vec::new(),
        };
        let frame = String::from_utf8_lossy(&bytes);
        let (timestamp, text) = split_timestamp(&frame);
        let (timestamp, mut text) = match self.pending[stream].take() {
            Some((first, mut held)) => {
                held.push_str(text);
                (first, held)
            }
            None => (timestamp, text.to_string()),
        };
        let unfinished = match text.rfind('\n') {
            Some(end) => text.split_off(end + 1),
            None => std::mem::take(&mut text),
        };
        let mut lines: Vec<(DateTime<Utc>, String)> = text.lines().map(|l| (timestamp, l.to_string())).collect();
        if unfinished.len() > MAX_PENDING {
            lines.push((timestamp, unfinished));
        } else if !unfinished.is_empty() {
            self.pending[stream] = Some((timestamp, unfinished));
        }
        lines
    }

    /// The unfinished lines, at the end of the stream.
    pub(crate) fn finish(&mut self) -> Vec<(DateTime<Utc>, String)> {
        let mut lines: Vec<_> = self.pending.iter_mut().filter_map(Option::take).collect();
        lines.sort_by_key(|(t, _)| *t);
        lines
    }
}

/// `<RFC3339Nano> <text>` into its time and text; a frame without one is stamped now.
fn split_timestamp(frame: &str) -> (DateTime<Utc>, &str) {
    match frame.split_once(' ') {
        Some((ts, text)) => match DateTime::parse_from_rfc3339(ts) {
            Ok(t) => (t.with_timezone(&Utc), text),
            Err(_) => (Utc::now(), frame),
        },
        None => (Utc::now(), frame),
    }
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

    fn out(text: &str) -> LogOutput {
        LogOutput::StdOut { message: Bytes::from(text.to_string()) }
    }

    #[test]
    fn docker_lines_become_lines_with_their_time() {
        let mut j = LineJoiner::default();
        let lines = j.push(out("2025-01-02T03:04:05.123456789Z hello world\n"));
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].1, "hello world");
        assert_eq!(lines[0].0.timestamp_subsec_nanos(), 123456789);
        assert_eq!(
            j.push(out("2025-01-02T03:04:06Z \n")),
            vec![(lines[0].0 + chrono::Duration::nanoseconds(876543211), String::new())]
        );
        assert!(j.finish().is_empty());
    }

    #[test]
    fn podman_pieces_of_a_line_are_joined_and_streams_kept_apart() {
        let mut j = LineJoiner::default();
        assert!(j.push(out("2025-01-02T03:04:05Z hello")).is_empty());
        let err = LogOutput::StdErr { message: Bytes::from("2025-01-02T03:04:05Z oops\n") };
        assert_eq!(j.push(err).iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>(), ["oops"]);
        assert!(j.push(out("2025-01-02T03:04:06Z  world")).is_empty());
        let lines = j.push(out("2025-01-02T03:04:07Z \nnext\nrest"));
        let texts: Vec<&str> = lines.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(texts, ["hello world", "next"]);
        assert_eq!(lines[0].0, DateTime::parse_from_rfc3339("2025-01-02T03:04:05Z").unwrap());
        assert_eq!(j.finish().iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>(), ["rest"]);
    }

    #[test]
    fn an_endless_line_is_let_out_in_bounded_pieces() {
        let mut j = LineJoiner::default();
        let piece = format!("2025-01-02T03:04:05Z {}", "x".repeat(40 * 1024));
        assert!(j.push(out(&piece)).is_empty());
        let lines = j.push(out(&piece));
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].1.len(), 80 * 1024);
        assert!(j.finish().is_empty());
    }
}
