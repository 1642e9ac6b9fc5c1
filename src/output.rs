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

    /// Bytes exactly as given to stderr (a child's own stderr, passed through).
    pub fn raw_stderr(&self, bytes: &[u8]) {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(bytes);
        let _ = err.flush();
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

/// Rows laid out in left-aligned columns separated by tabs, each column at least as wide as
/// `min_widths` says and as its widest cell, so `awk '{print $1}'` and humans both read it.
pub fn table(header: &[&str], rows: &[Vec<String>], min_widths: &[usize]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for (i, w) in widths.iter_mut().enumerate() {
        *w = (*w).max(min_widths.get(i).copied().unwrap_or(0));
        for row in rows {
            *w = (*w).max(row.get(i).map_or(0, |c| c.chars().count()));
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| if i == last { c.to_string() } else { format!("{c:<width$}", width = widths[i]) })
            .collect();
        padded.join("\t")
    };
    let mut out = vec![line(header.to_vec())];
    out.extend(rows.iter().map(|r| line(r.iter().map(String::as_str).collect())));
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_columns_fit_the_widest_cell() {
        let rows = vec![vec!["a".to_string(), "very-long-image:latest".to_string(), "1".to_string()]];
        let text = table(&["Function", "Image", "Replicas"], &rows, &[10, 5, 0]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Function  \tImage                 \tReplicas");
        assert_eq!(lines[1], "a         \tvery-long-image:latest\t1");
    }
}
