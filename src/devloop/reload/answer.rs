//! The runtime's answer to a reload: one stdout line, [`ANSWER_PREFIX`] then a JSON object,
//! `{"id":"<id>","ok":true,"ms":<load ms>}` or
//! `{"id":"<id>","ok":false,"error":"<Type: message>","file":"function/handler.py","line":3,"detail":"<stack>"}`
//! (`file` and `line` only when known).

use std::time::Duration;

use futures_util::{Stream, StreamExt};
use serde::Deserialize;

use super::ReloadOutcome;

/// What starts the answer line.
pub const ANSWER_PREFIX: &str = "rfaas-reload ";

#[derive(Deserialize)]
struct Answer {
    id: String,
    ok: bool,
    #[serde(default)]
    ms: f64,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    line: Option<u32>,
    #[serde(default)]
    detail: Option<String>,
}

/// The answer (to any reload) a log line holds. The runtime writes it as a whole line, but the
/// handler's own output may run into its start: Python's `print()` writes the text and the
/// newline separately, so a handler thread's text can land just before the answer.
fn answer_in(line: &str) -> Option<Answer> {
    let line = line.trim_end_matches(['\r', '\n']);
    line.match_indices(ANSWER_PREFIX).find_map(|(at, prefix)| serde_json::from_str(&line[at + prefix.len()..]).ok())
}

impl Answer {
    fn outcome(self) -> ReloadOutcome {
        if self.ok {
            ReloadOutcome::Loaded { elapsed: Duration::from_secs_f64(self.ms.max(0.0) / 1000.0) }
        } else {
            ReloadOutcome::Failed {
                error: self.error.unwrap_or_else(|| "the handler failed to load".to_string()),
                file: self.file,
                line: self.line,
                detail: self.detail.unwrap_or_default(),
            }
        }
    }
}

/// What the log showed while [`find`] read it, for the error when no answer comes: whether the
/// log was read at all, and whether the runtime answered some other reload (a stale id file).
/// Counts and reload ids only: the lines themselves are the function's output.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LogSeen {
    /// Whole lines read.
    pub lines: usize,
    /// The ids of answers to other reloads, at most [`LogSeen::MAX_OTHER_IDS`].
    pub other_answers: Vec<String>,
}

impl LogSeen {
    const MAX_OTHER_IDS: usize = 3;
    /// Ids are the runtime's output: kept short, and shown escaped.
    const MAX_ID_CHARS: usize = 64;

    fn note(&mut self, line: &str, id: &str) -> Option<ReloadOutcome> {
        self.lines += 1;
        let answer = answer_in(line)?;
        if answer.id == id {
            return Some(answer.outcome());
        }
        if self.other_answers.len() < Self::MAX_OTHER_IDS {
            self.other_answers.push(answer.id.chars().take(Self::MAX_ID_CHARS).collect());
        }
        None
    }
}

impl std::fmt::Display for LogSeen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.lines, self.other_answers.as_slice()) {
            (0, _) => write!(f, "its log showed no line from the second before the signal on"),
            (n, []) => {
                write!(f, "its log showed {n} line(s) from the second before the signal on, no answer among them")
            }
            (n, ids) => write!(
                f,
                "its log showed {n} line(s) from the second before the signal on, with answers to other reloads only ({})",
                ids.iter().map(|id| id.escape_debug().to_string()).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

/// Reads `chunks` (log text, cut anywhere) until the answer for `id`: `None` when the log ends
/// first, `Some(Err)` when reading it fails. `seen` keeps what was read, so that it outlives a
/// timeout that drops this future.
pub async fn find<S>(chunks: S, id: &str, seen: &mut LogSeen) -> Option<Result<ReloadOutcome, String>>
where
    S: Stream<Item = Result<String, String>>,
{
    let mut chunks = std::pin::pin!(chunks);
    let mut pending = String::new();
    while let Some(chunk) = chunks.next().await {
        match chunk {
            Ok(text) => pending.push_str(&text),
            Err(message) => return Some(Err(message)),
        }
        while let Some(end) = pending.find('\n') {
            let line: String = pending.drain(..=end).collect();
            if let Some(outcome) = seen.note(&line, id) {
                return Some(Ok(outcome));
            }
        }
    }
    if pending.is_empty() { None } else { seen.note(&pending, id).map(Ok) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The outcome a line announces for reload `id`.
    fn parse_line(line: &str, id: &str) -> Option<ReloadOutcome> {
        LogSeen::default().note(line, id)
    }

    #[test]
    fn a_success_gives_the_load_time() {
        let line = r#"rfaas-reload {"id":"7-1-5","ok":true,"ms":12.5}"#;
        assert_eq!(parse_line(line, "7-1-5"), Some(ReloadOutcome::Loaded { elapsed: Duration::from_micros(12_500) }));
    }

    #[test]
    fn a_failure_gives_error_file_line_and_detail() {
        let line = "rfaas-reload {\"id\":\"a\",\"ok\":false,\"error\":\"SyntaxError: invalid syntax\",\
                    \"file\":\"function/handler.py\",\"line\":3,\"detail\":\"Traceback\\n  line 3\"}\n";
        assert_eq!(
            parse_line(line, "a"),
            Some(ReloadOutcome::Failed {
                error: "SyntaxError: invalid syntax".into(),
                file: Some("function/handler.py".into()),
                line: Some(3),
                detail: "Traceback\n  line 3".into(),
            })
        );
    }

    #[test]
    fn a_failure_without_a_place_has_no_file_or_line() {
        let line = r#"rfaas-reload {"id":"a","ok":false,"error":"Error: boom","detail":""}"#;
        let Some(ReloadOutcome::Failed { file, line, .. }) = parse_line(line, "a") else { panic!("not a failure") };
        assert_eq!((file, line), (None, None));
    }

    #[test]
    fn an_answer_after_the_handler_s_unfinished_line_is_found() {
        let line = r#"working...rfaas-reload {"id":"a","ok":true,"ms":2}"#;
        assert_eq!(parse_line(line, "a"), Some(ReloadOutcome::Loaded { elapsed: Duration::from_millis(2) }));
        let quoted = r#"log: "rfaas-reload x" then rfaas-reload {"id":"a","ok":true,"ms":3}"#;
        assert_eq!(parse_line(quoted, "a"), Some(ReloadOutcome::Loaded { elapsed: Duration::from_millis(3) }));
    }

    #[test]
    fn other_lines_and_other_ids_are_not_answers() {
        for line in [
            r#"rfaas-reload {"id":"other","ok":true,"ms":1}"#,
            "GET / - 200 - ContentLength: 2 (0.0010s)",
            "rfaas-reload not json",
            r#"print("rfaas-reload {"id":"a","ok":true})"#,
            "",
        ] {
            assert_eq!(parse_line(line, "a"), None, "{line:?}");
        }
    }

    #[tokio::test]
    async fn the_answer_is_found_across_chunk_boundaries() {
        let chunks = [
            "GET / - 200\nrfaas-reload {\"id\":\"b\",\"ok\":true,\"ms\":3}\nrfaas-rel",
            "oad {\"id\":\"a\",\"o",
            "k\":true,\"ms\":4}\n",
        ];
        let stream = futures_util::stream::iter(chunks.map(|c| Ok(c.to_string())));
        let found = find(stream, "a", &mut LogSeen::default()).await;
        assert_eq!(found, Some(Ok(ReloadOutcome::Loaded { elapsed: Duration::from_millis(4) })));
    }

    #[tokio::test]
    async fn a_log_that_ends_without_the_answer_gives_none() {
        let stream = futures_util::stream::iter([Ok("Server stopped\n".to_string())]);
        assert_eq!(find(stream, "a", &mut LogSeen::default()).await, None);
    }

    #[tokio::test]
    async fn what_was_read_survives_a_timeout_that_drops_the_search() {
        let lines = "GET /slow - 200\nrfaas-reload {\"id\":\"stale\",\"ok\":true,\"ms\":1}\n";
        let stream = futures_util::stream::iter([Ok(lines.to_string())]).chain(futures_util::stream::pending());
        let mut seen = LogSeen::default();
        let waited = tokio::time::timeout(Duration::from_millis(50), find(stream, "a", &mut seen)).await;
        assert!(waited.is_err(), "the answer to another reload ended the search: {waited:?}");
        assert_eq!(seen, LogSeen { lines: 2, other_answers: vec!["stale".into()] });
        assert_eq!(
            seen.to_string(),
            "its log showed 2 line(s) from the second before the signal on, with answers to other reloads only (stale)"
        );
    }

    #[test]
    fn an_unread_log_says_so_and_other_ids_are_capped() {
        assert_eq!(LogSeen::default().to_string(), "its log showed no line from the second before the signal on");
        let mut seen = LogSeen::default();
        for id in ["1", "2", "3", "4"] {
            assert_eq!(seen.note(&format!("rfaas-reload {{\"id\":\"{id}\",\"ok\":true}}"), "a"), None);
        }
        assert_eq!((seen.lines, seen.other_answers.len()), (4, 3));
        assert_eq!(seen.note("GET / - 200", "a"), None);
        assert_eq!(
            seen.to_string(),
            "its log showed 5 line(s) from the second before the signal on, with answers to other reloads only (1, 2, 3)"
        );
    }

    #[test]
    fn a_hostile_id_is_shown_short_and_escaped() {
        let mut seen = LogSeen::default();
        let id = format!("\\u001b[2J{}", "x".repeat(10_000));
        seen.note(&format!("rfaas-reload {{\"id\":\"{id}\",\"ok\":true}}"), "a");
        let shown = seen.to_string();
        assert!(!shown.contains('\u{1b}'), "{shown}");
        assert!(shown.contains("(\\u{1b}[2Jxxx") && shown.len() < 250, "{shown}");
    }
}
