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

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bollard::Docker;
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

/// A replica's lines for `q`: without `follow`, its past lines (the last `tail`); with it, those
/// and then every line as it is written.
fn replica_stream(gw: &Gateway, replica: &Replica, q: &LogQuery) -> BoxStream<'static, LogMessage> {
    let (docker, id, q) = (gw.provider.docker.clone(), replica.id.clone(), q.clone());
    let engine_tail = gw.provider.tail_counts_lines;
    let (key, instance) = (q.key.clone(), replica.name.clone());
    let lines = stream::once(async move {
        // Everything up to the end of this second; the live stream starts at the second of the
        // last line read, so lines written meanwhile are neither lost nor shown twice.
        let until = Utc::now().timestamp() + 1;
        let boundary = Arc::new(Mutex::new(Boundary::default()));
        let past = past_lines(&docker, &id, &q, until, engine_tail, boundary.clone());
        if !q.follow {
            return past;
        }
        // Built once the past lines have all gone out, so the boundary is complete.
        let live = stream::once(async move {
            let mut shown = std::mem::take(&mut *boundary.lock().unwrap_or_else(|p| p.into_inner()));
            let from = shown.at.or(q.since).unwrap_or_else(Utc::now);
            let since = q.since;
            line_stream(frames(&docker, &id, from.timestamp(), None, None, true))
                .filter(move |(t, text)| std::future::ready(not_before(*t, since) && !shown.seen(*t, text)))
        })
        .flatten();
        past.chain(live).boxed()
    })
    .flatten();
    lines.map(move |(timestamp, text)| message(&key, &instance, timestamp, text)).boxed()
}

/// The replica's lines written before `until` (whole seconds) and since `q.since`: the last
/// `q.tail` of them, or all of them as they are read (a log of any size streams through; only a
/// `tail` is held). Each line read goes into `boundary`, where a live stream must skip up to.
/// Docker's `tail` counts log entries, a line each (one longer than 16 KiB is several), so twice
/// as many and one more are read and the last `tail` whole lines kept, a first entry that ended
/// an older line falling outside them. Podman (`engine_tail` false) makes an entry of each write
/// and, under `tail`, ends each with a newline, which cuts lines apart: all is read.
fn past_lines(
    docker: &Docker,
    id: &str,
    q: &LogQuery,
    until: i64,
    engine_tail: bool,
    boundary: Arc<Mutex<Boundary>>,
) -> BoxStream<'static, (DateTime<Utc>, String)> {
    let entries = q.tail.filter(|_| engine_tail).map(|n| 2 * u64::from(n) + 1);
    let since = q.since;
    let lines = line_stream(frames(docker, id, since.map_or(0, |s| s.timestamp()), Some(until), entries, false))
        .filter(move |(t, _)| std::future::ready(not_before(*t, since)))
        .inspect(move |(t, text)| boundary.lock().unwrap_or_else(|p| p.into_inner()).read(*t, text));
    let Some(n) = q.tail.map(|n| n as usize) else { return lines.boxed() };
    stream::once(async move {
        let last = lines
            .fold(VecDeque::with_capacity(n.min(4096)), |mut last, line| {
                if last.len() == n {
                    last.pop_front();
                }
                if n > 0 {
                    last.push_back(line);
                }
                std::future::ready(last)
            })
            .await;
        stream::iter(last)
    })
    .flatten()
    .boxed()
}

/// True when a line written at `t` is not before `since`. An engine that stamps whole seconds
/// (Podman) cannot say which lines of `since`'s second came after it: all of them count.
fn not_before(t: DateTime<Utc>, since: Option<DateTime<Utc>>) -> bool {
    match since {
        None => true,
        Some(s) if t.timestamp_subsec_nanos() == 0 => t.timestamp() >= s.timestamp(),
        Some(s) => t >= s,
    }
}

/// The engine's log frames of container `id` (stdout and stderr, with timestamps).
fn frames(
    docker: &Docker,
    id: &str,
    since: i64,
    until: Option<i64>,
    tail: Option<u64>,
    follow: bool,
) -> BoxStream<'static, LogOutput> {
    let clamp = |t: i64| i32::try_from(t).unwrap_or(if t < 0 { 0 } else { i32::MAX });
    let mut options = LogsOptionsBuilder::default().stdout(true).stderr(true).timestamps(true).follow(follow);
    options = options.since(clamp(since)).tail(&tail.map_or("all".to_string(), |n| n.to_string()));
    if let Some(until) = until {
        options = options.until(clamp(until));
    }
    docker
        .logs(id, Some(options.build()))
        .take_while(|item| std::future::ready(item.is_ok()))
        .filter_map(|item| std::future::ready(item.ok()))
        .boxed()
}

/// Whole lines of `frames` ([`LineJoiner`]), an unfinished last one let out at the end.
fn line_stream(frames: BoxStream<'static, LogOutput>) -> BoxStream<'static, (DateTime<Utc>, String)> {
    // `None` marks the end.
    frames
        .map(Some)
        .chain(stream::once(std::future::ready(None)))
        .scan(LineJoiner::default(), |joiner, frame| {
            let lines = match frame {
                Some(output) => joiner.push(output),
                None => joiner.finish(),
            };
            std::future::ready(Some(stream::iter(lines)))
        })
        .flatten()
        .boxed()
}

/// Where the past lines end, so that the live stream, which starts at the second of the last
/// one, skips what was read already (shown, or left out by `tail`): lines before that time, and
/// at that time the ones read (in order; Podman's timestamps are whole seconds, so several lines
/// can share one).
#[derive(Default)]
struct Boundary {
    /// The time of the last line read; `None` once a live line came after it (or none was read).
    at: Option<DateTime<Utc>>,
    /// The lines read at that time, in order.
    shown: VecDeque<String>,
}

impl Boundary {
    /// Notes a past line read (shown, or left out by `tail`).
    fn read(&mut self, t: DateTime<Utc>, text: &str) {
        if self.at != Some(t) {
            self.at = Some(t);
            self.shown.clear();
        }
        self.shown.push_back(text.to_string());
    }

    /// True when the live line (`t`, `text`) was already shown.
    fn seen(&mut self, t: DateTime<Utc>, text: &str) -> bool {
        let Some(at) = self.at else { return false };
        if t < at {
            return true;
        }
        if t == at && self.shown.front().is_some_and(|s| s == text) {
            self.shown.pop_front();
            return true;
        }
        self.at = None;
        false
    }
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
    fn the_live_stream_skips_what_the_past_lines_showed() {
        let t = |s: i64| DateTime::from_timestamp(s, 0).unwrap();
        // Read: a, b, c (b left out by tail=... or shown, alike).
        let past = vec![(t(9), "a".to_string()), (t(10), "b".to_string()), (t(10), "c".to_string())];
        let mut b = Boundary::default();
        for (at, text) in &past {
            b.read(*at, text);
        }
        let live = [(9, "a"), (10, "b"), (10, "c"), (10, "d"), (10, "b"), (11, "e")];
        let shown: Vec<&str> = live.iter().filter(|(s, text)| !b.seen(t(*s), text)).map(|(_, text)| *text).collect();
        assert_eq!(shown, ["d", "b", "e"]);
        let mut none = Boundary::default();
        assert!(!none.seen(t(1), "x"));
    }

    #[test]
    fn since_compares_whole_second_stamps_by_their_second() {
        let since = Some(DateTime::parse_from_rfc3339("2025-01-02T03:04:05.5Z").unwrap().to_utc());
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        assert!(not_before(at("2025-01-02T03:04:05Z"), since), "Podman's stamp of that second");
        assert!(!not_before(at("2025-01-02T03:04:04Z"), since));
        assert!(!not_before(at("2025-01-02T03:04:05.4Z"), since), "Docker's nanoseconds are compared as they are");
        assert!(not_before(at("2025-01-02T03:04:05.6Z"), since));
        assert!(not_before(at("2000-01-01T00:00:00Z"), None));
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
