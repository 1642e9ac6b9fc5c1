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

/// The outcome a log line announces for reload `id`; `None` for any other line (another
/// reload's answer, the handler's own output, an access log line).
pub fn parse_line(line: &str, id: &str) -> Option<ReloadOutcome> {
    let json = line.trim_end_matches(['\r', '\n']).strip_prefix(ANSWER_PREFIX)?;
    let answer: Answer = serde_json::from_str(json).ok()?;
    if answer.id != id {
        return None;
    }
    Some(if answer.ok {
        ReloadOutcome::Loaded { elapsed: Duration::from_secs_f64(answer.ms.max(0.0) / 1000.0) }
    } else {
        ReloadOutcome::Failed {
            error: answer.error.unwrap_or_else(|| "the handler failed to load".to_string()),
            file: answer.file,
            line: answer.line,
            detail: answer.detail.unwrap_or_default(),
        }
    })
}

/// Reads `chunks` (log text, cut anywhere) until the answer for `id`: `None` when the log ends
/// first, `Some(Err)` when reading it fails.
pub async fn find<S>(chunks: S, id: &str) -> Option<Result<ReloadOutcome, String>>
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
            if let Some(outcome) = parse_line(&line, id) {
                return Some(Ok(outcome));
            }
        }
    }
    parse_line(&pending, id).map(Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let found = find(stream, "a").await;
        assert_eq!(found, Some(Ok(ReloadOutcome::Loaded { elapsed: Duration::from_millis(4) })));
    }

    #[tokio::test]
    async fn a_log_that_ends_without_the_answer_gives_none() {
        let stream = futures_util::stream::iter([Ok("Server stopped\n".to_string())]);
        assert_eq!(find(stream, "a").await, None);
    }
}
