//! Exit codes, hints, and the one place errors are rendered for a human.
//!
//! Hints are found on the error chain: [`render`] walks `anyhow::Error::chain()` and asks every
//! cause whose type implements [`Hint`] for advice (see [`hint_of`]). A new error type brings its
//! hint by implementing [`Hint`] and adding itself to the list in [`hint_of`]; no call site has
//! to wrap it. [`with_hint`] stays for ad-hoc advice that depends on where the error happened.
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

/// A failed stack load as an `anyhow::Error`; its hint is found on the chain by [`render`].
pub fn stack_error(err: crate::stack::StackError) -> anyhow::Error {
    err.into()
}

/// Advice an error type carries for the user, shown as a `hint:` line wherever the error sits in
/// the chain.
pub trait Hint {
    fn hint(&self) -> Option<String>;
}

impl Hint for Hinted {
    fn hint(&self) -> Option<String> {
        Some(self.hint.clone())
    }
}

impl Hint for std::io::Error {
    /// A missing file or directory; the message (from `fs-err` or a context) names the path.
    fn hint(&self) -> Option<String> {
        (self.kind() == std::io::ErrorKind::NotFound)
            .then(|| "check the path: relative paths are taken from the current directory".to_string())
    }
}

/// The hint of one cause, by downcasting it to each error type that has one.
pub fn hint_of(cause: &(dyn std::error::Error + 'static)) -> Option<String> {
    macro_rules! first_hint {
        ($($t:ty),* $(,)?) => {
            $(if let Some(e) = cause.downcast_ref::<$t>() {
                return Hint::hint(e);
            })*
        };
    }
    first_hint!(
        Hinted,
        crate::stack::StackError,
        crate::openfaas::ClientError,
        crate::openfaas::async_api::AsyncApiError,
        crate::http_client::Stalled,
        crate::docker::ConnectError,
        crate::docker::push::PushError,
        crate::docker::plan::PlanError,
        crate::ops::build::BuildFailed,
        crate::ops::push::PushFailed,
        crate::template::store::StoreError,
        crate::template::pull::PullError,
        crate::function_store::StoreError,
        crate::chart::ChartError,
        crate::secrets_folder::FolderError,
        crate::sealed::SealError,
        crate::devloop::reload::ReloadError,
        crate::ops::local_run::LocalRunError,
        std::io::Error,
    );
    None
}

/// Renders `err` as `error: ...`, `caused by: ...` lines and `hint: ...` lines.
///
/// A [`Hinted`] error's causes are its inner error's sources, which `chain()` already walks (its
/// `source()` forwards them), so each cause is printed once however many there are. Hints come
/// from every cause in the chain ([`hint_of`]), outermost first, each once.
pub fn render(err: &anyhow::Error) -> String {
    render_with(err, &[])
}

/// [`render`] with `extra` hints after the chain's own (e.g. where the gateway URL came from).
pub fn render_with(err: &anyhow::Error, extra: &[String]) -> String {
    let mut out = format!("error: {err}");
    let mut hints: Vec<String> = Vec::new();
    let mut last = err.to_string();
    for cause in err.chain() {
        if let Some(h) = hint_of(cause).filter(|h| !hints.contains(h)) {
            hints.push(h);
        }
        push_cause(&mut out, &mut last, &cause.to_string());
    }
    for h in extra {
        if !hints.contains(h) {
            hints.push(h.clone());
        }
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

    /// A domain error wrapped by contexts and by another error's `source` still brings its hint,
    /// with no `with_hint` at any call site.
    #[test]
    fn hints_are_found_anywhere_on_the_chain() {
        #[derive(Debug, thiserror::Error)]
        #[error("cannot list functions")]
        struct Wrapper(#[source] crate::openfaas::ClientError);
        let client = crate::openfaas::ClientError::Unauthorized { gateway: "http://gw".into() };
        let err = anyhow::Error::new(Wrapper(client)).context("rfaas list failed");
        let text = render(&err);
        assert!(
            text.starts_with("error: rfaas list failed\ncaused by: cannot list functions\ncaused by: unauthorized")
        );
        assert!(text.ends_with(
            "\nhint: run `rfaas login --gateway http://gw` (or `rfaas login --local` for rfaas's own gateway)"
        ));

        let stack: anyhow::Result<()> = Err(crate::stack::StackError::NotFound("/work".into()).into());
        let err = stack.context("cannot load the stack").unwrap_err();
        assert!(render(&err).ends_with("\nhint: use -f/--yaml to name the stack file, or create one with `rfaas new`"));
    }

    #[test]
    fn a_hint_given_twice_is_printed_once_and_extra_hints_come_last() {
        let client =
            crate::openfaas::ClientError::Unreachable { gateway: "http://gw".into(), reason: "refused".into() };
        let hint = crate::openfaas::ClientError::hint(&client).unwrap();
        let err = with_hint(client, hint.clone());
        let text = render_with(&err, &["rfaas used the gateway http://gw (from --gateway)".to_string()]);
        assert_eq!(text.matches("hint: ").count(), 2, "{text}");
        assert!(text.ends_with(&format!("hint: {hint}\nhint: rfaas used the gateway http://gw (from --gateway)")));
    }

    #[test]
    fn a_missing_file_gets_the_path_hint() {
        let err = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::NotFound)).context("cannot read x.txt");
        assert!(render(&err).contains("hint: check the path"));
        let other = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert!(!render(&other).contains("hint:"));
    }
}
