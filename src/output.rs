//! The one place rfaas writes to the terminal.
//!
//! One [`Printer`] is built in [`crate::run`] from the parsed command line ([`Mode`]) and the
//! terminal ([`Terminal::detect`], the only place TTY and CI are looked at), and handed to every
//! command and operation. Data a script may consume goes to stdout ([`Printer::data`],
//! [`Printer::json`]); status, warnings and progress go to stderr. Progress bars and prompts appear
//! only when stderr is a terminal outside CI, so CI logs get plain lines. [`table`] is the one
//! table renderer.
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

/// The output mode chosen by the command's flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Tables, lines and (on a terminal) progress bars.
    #[default]
    Human,
    /// `--output json` / `--json`: results as one JSON document on stdout.
    Json,
    /// `--quiet` on build, push and up: no engine output; status lines and results are still
    /// printed (as faas-cli's `--quiet` does).
    Quiet,
}

/// What the process is attached to, detected once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Terminal {
    /// stdout is a terminal (help may be coloured and written line by line).
    pub stdout_is_tty: bool,
    /// stderr is a terminal (progress bars and prompts may be drawn there).
    pub stderr_is_tty: bool,
    /// stdin is a terminal (a prompt can be answered).
    pub stdin_is_tty: bool,
    /// `CI` is set at all: never draw bars or prompt.
    pub ci_set: bool,
    /// `CI` is `true` or `1`, as faas-cli checks it (config.yml then lives in `./.openfaas/`).
    pub ci: bool,
}

impl Terminal {
    /// Looks at the real terminal and the `CI` variable.
    pub fn detect() -> Terminal {
        let ci_value = std::env::var_os(crate::env_vars::CI);
        Terminal {
            stdout_is_tty: std::io::stdout().is_terminal(),
            stderr_is_tty: std::io::stderr().is_terminal(),
            stdin_is_tty: std::io::stdin().is_terminal(),
            ci: matches!(ci_value.as_ref().and_then(|v| v.to_str()), Some("true" | "1")),
            ci_set: ci_value.is_some(),
        }
    }
}

/// Writes to stdout and stderr according to the output mode and the terminal.
#[derive(Debug, Clone, Default)]
pub struct Printer {
    mode: Mode,
    terminal: Terminal,
}

impl Printer {
    pub fn new(mode: Mode, terminal: Terminal) -> Self {
        Printer { mode, terminal }
    }

    /// A human-mode printer that never draws bars or prompts (tests, the gateway's own log).
    pub fn plain() -> Self {
        Printer::default()
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn terminal(&self) -> Terminal {
        self.terminal
    }

    /// True when progress bars may be drawn on stderr.
    pub fn is_interactive(&self) -> bool {
        self.terminal.stderr_is_tty && !self.terminal.ci_set
    }

    /// True when the user can be asked a question (a prompt on stderr, the answer from stdin).
    pub fn can_prompt(&self) -> bool {
        self.is_interactive() && self.terminal.stdin_is_tty
    }

    /// `--quiet`: engine output and per-layer lines are hidden.
    pub fn is_quiet(&self) -> bool {
        self.mode == Mode::Quiet
    }

    /// `--output json` / `--json`.
    pub fn is_json(&self) -> bool {
        self.mode == Mode::Json
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

    /// A status line on stderr.
    pub fn status(&self, text: &str) {
        eprintln!("{text}");
    }

    /// A warning on stderr.
    pub fn warn(&self, text: &str) {
        eprintln!("warning: {text}");
    }

    /// An error report on stderr.
    pub fn error(&self, text: &str) {
        eprintln!("{text}");
    }
}

/// One line on stderr, for logs that are not a command's output (the gateway's event log,
/// `FAAS_DEBUG` request lines).
pub fn log_line(text: &str) {
    eprintln!("{text}");
}

/// How a [`table`]'s columns are separated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Columns<'a> {
    /// faas-cli's tabwriter layout: cells padded to the column width (at least `min_widths`),
    /// then a tab, so `awk '{print $1}'` and humans both read it.
    Tabs { min_widths: &'a [usize] },
    /// Cells padded and separated by two spaces, trailing blanks trimmed (the template store).
    Spaces,
}

/// Rows laid out in left-aligned columns; the last column is never padded.
pub fn table(header: &[&str], rows: &[Vec<String>], columns: Columns<'_>) -> String {
    let min_widths = match columns {
        Columns::Tabs { min_widths } => min_widths,
        Columns::Spaces => &[],
    };
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
        match columns {
            Columns::Tabs { .. } => padded.join("\t"),
            Columns::Spaces => padded.join("  ").trim_end().to_string(),
        }
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
        let text = table(&["Function", "Image", "Replicas"], &rows, Columns::Tabs { min_widths: &[10, 5, 0] });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Function  \tImage                 \tReplicas");
        assert_eq!(lines[1], "a         \tvery-long-image:latest\t1");
    }

    #[test]
    fn spaced_table_trims_trailing_blanks() {
        let rows = vec![vec!["golang-http".to_string(), "openfaas".to_string(), String::new()]];
        let text = table(&["NAME", "SOURCE", "DESCRIPTION"], &rows, Columns::Spaces);
        assert_eq!(text, "NAME         SOURCE    DESCRIPTION\ngolang-http  openfaas");
    }

    #[test]
    fn quiet_and_ci_never_draw_bars() {
        let tty = Terminal { stdout_is_tty: true, stderr_is_tty: true, stdin_is_tty: true, ci_set: false, ci: false };
        assert!(Printer::new(Mode::Human, tty).can_prompt());
        assert!(Printer::new(Mode::Quiet, tty).is_quiet());
        assert!(!Printer::new(Mode::Human, Terminal { ci_set: true, ..tty }).is_interactive());
        assert!(!Printer::plain().is_interactive());
    }
}
