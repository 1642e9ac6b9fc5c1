//! The one place rfaas writes to the terminal.
//!
//! Data a script may consume goes to stdout ([`Printer::data`], [`Printer::json`]); status,
//! warnings and progress go to stderr. `--quiet` silences status lines (never data or errors).
//! Progress bars and prompts appear only when stderr is a terminal, so CI logs get plain lines.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{IsTerminal, Write};

/// How command results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Human-readable tables and lines.
    #[default]
    Text,
    /// One JSON document on stdout.
    Json,
}

/// Writes to stdout and stderr according to the user's flags and the terminal.
#[derive(Debug, Clone)]
pub struct Printer {
    quiet: bool,
    interactive: bool,
}

impl Printer {
    pub fn new(quiet: bool) -> Self {
        Printer { quiet, interactive: std::io::stderr().is_terminal() && std::env::var_os("CI").is_none() }
    }

    /// True when progress bars and prompts may be shown.
    pub fn is_interactive(&self) -> bool {
        self.interactive && !self.quiet
    }

    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// Result data, to stdout, with a trailing newline.
    pub fn data(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
    }

    /// Result data exactly as given (no newline added), to stdout.
    pub fn raw(&self, bytes: &[u8]) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(bytes);
        let _ = out.flush();
    }

    /// A value as pretty JSON on stdout.
    pub fn json<T: serde::Serialize>(&self, value: &T) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(value)?;
        self.data(&text);
        Ok(())
    }

    /// A status line on stderr, unless `--quiet`.
    pub fn status(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    /// A warning on stderr; shown even with `--quiet`.
    pub fn warn(&self, text: &str) {
        eprintln!("warning: {text}");
    }

    /// An error report on stderr.
    pub fn error(&self, text: &str) {
        eprintln!("{text}");
    }
}
