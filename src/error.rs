//! Exit codes, hints, and the one place errors are rendered for a human.
//!
//! Exit codes (also in README.md):
//!
//! | code | meaning |
//! |------|---------|
//! | 0    | success |
//! | 1    | the command failed: bad stack file, HTTP/Docker failure, any function failed |
//! | 2    | the command line itself is wrong: unknown flag, bad flag value, missing argument |
//!
//! faas-cli uses 1 for command-line errors too; rfaas separates them so a pipeline can tell a typo
//! in a script from a failed deployment.

use std::fmt;

/// The process exit codes rfaas uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    Failure = 1,
    Usage = 2,
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e as u8)
    }
}

/// An error with advice for the user, shown as a `hint:` line.
#[derive(Debug)]
pub struct Hinted {
    pub error: anyhow::Error,
    pub hint: String,
}

impl fmt::Display for Hinted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for Hinted {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

/// Attaches a hint to an error.
pub fn with_hint(error: impl Into<anyhow::Error>, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Hinted { error: error.into(), hint: hint.into() })
}

/// Text for a failed stack load, with its hint when the error carries one.
pub fn stack_error(err: crate::stack::StackError) -> anyhow::Error {
    match err.hint() {
        Some(hint) => with_hint(err, hint),
        None => err.into(),
    }
}

/// Renders `err` as `error: ...`, `caused by: ...` lines and `hint: ...` lines.
///
/// A [`Hinted`] error's causes are its inner error's sources, which `chain()` already walks (its
/// `source()` forwards them), so each cause is printed once however many there are.
pub fn render(err: &anyhow::Error) -> String {
    let mut out = format!("error: {err}");
    let mut hints = Vec::new();
    let mut last = err.to_string();
    for cause in err.chain() {
        if let Some(h) = cause.downcast_ref::<Hinted>() {
            hints.push(h.hint.clone());
        }
        push_cause(&mut out, &mut last, &cause.to_string());
    }
    for hint in hints {
        out.push_str(&format!("\nhint: {hint}"));
    }
    out
}

fn push_cause(out: &mut String, last: &mut String, text: &str) {
    if text != *last && !last.contains(text) {
        out.push_str(&format!("\ncaused by: {text}"));
    }
    *last = text.to_string();
}

/// A readable reason for an HTTP client failure, without reqwest's nested debug text.
pub fn describe_reqwest(err: &reqwest::Error) -> String {
    let head = if err.is_timeout() {
        "the request timed out".to_string()
    } else if err.is_connect() {
        "could not connect".to_string()
    } else {
        err.to_string()
    };
    with_sources(head, err)
}

/// `head` followed by each source of `err` that adds something, joined with `: `.
pub fn with_sources(head: String, err: &dyn std::error::Error) -> String {
    let mut text = head;
    let mut source = err.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn renders_causes_and_hints() {
        let err: anyhow::Result<()> = Err(std::io::Error::other("connection refused").into());
        let err = err.context("cannot reach the gateway at http://127.0.0.1:8080").unwrap_err();
        let err = with_hint(err, "is the gateway running? try `rfaas up --local`");
        assert_eq!(
            render(&err),
            "error: cannot reach the gateway at http://127.0.0.1:8080\ncaused by: connection refused\nhint: is the gateway running? try `rfaas up --local`"
        );
    }

    #[test]
    fn hinted_error_with_several_causes_prints_each_once() {
        let err: anyhow::Result<()> = Err(std::io::Error::other("connection refused").into());
        let err = err.context("tcp connect to 127.0.0.1:8080 failed").context("cannot list functions").unwrap_err();
        let err = with_hint(err, "is the gateway running?").context("rfaas list failed");
        assert_eq!(
            render(&err),
            "error: rfaas list failed\ncaused by: cannot list functions\ncaused by: tcp connect to 127.0.0.1:8080 failed\ncaused by: connection refused\nhint: is the gateway running?"
        );
    }

    #[test]
    fn plain_error_is_one_line() {
        assert_eq!(render(&anyhow::anyhow!("boom")), "error: boom");
    }
}
