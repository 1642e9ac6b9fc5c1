//! Per-function progress for builds and pushes. On a terminal: one spinner per function showing
//! its current `Step N/M`. Otherwise: plain lines prefixed with `[fn]`. Either way the last lines
//! of each function's log are kept so a failure can show them.

use std::collections::VecDeque;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::Printer;

/// Lines of log kept per function for failure reports.
pub const TAIL_LINES: usize = 30;

/// The display shared by all functions of one command.
#[derive(Clone)]
pub struct Board {
    printer: Printer,
    bars: Option<MultiProgress>,
    show_output: bool,
}

impl Board {
    /// Bars when the printer is interactive; `show_output` prints engine output in plain mode.
    pub fn new(printer: &Printer, show_output: bool) -> Board {
        let bars = printer.is_interactive().then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Board { printer: printer.clone(), bars, show_output }
    }

    /// A line above the bars, or a status line.
    pub fn println(&self, text: &str) {
        match &self.bars {
            Some(mp) => {
                let _ = mp.println(text);
            }
            None => self.printer.status(text),
        }
    }

    /// Starts tracking one function.
    pub fn task(&self, name: &str) -> Task {
        let bar = self.bars.as_ref().map(|mp| {
            let bar = mp.add(ProgressBar::new_spinner());
            bar.set_style(ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg}").expect("valid template"));
            bar.set_prefix(name.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Task {
            name: name.to_string(),
            board: self.clone(),
            bar,
            tail: VecDeque::new(),
            step: None,
            partial: String::new(),
        }
    }
}

/// One function's progress and recent log.
pub struct Task {
    name: String,
    board: Board,
    bar: Option<ProgressBar>,
    tail: VecDeque<String>,
    step: Option<String>,
    partial: String,
}

impl Task {
    /// Engine output, possibly several or partial lines.
    pub fn output(&mut self, chunk: &str) {
        self.partial.push_str(chunk);
        while let Some(pos) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=pos).collect();
            let line = line.trim_end_matches(['\n', '\r']);
            let line = line.rsplit('\r').next().unwrap_or(line).to_string();
            self.line(line);
        }
    }

    fn line(&mut self, line: String) {
        let line = strip_ansi(&line);
        if line.trim().is_empty() {
            return;
        }
        // Docker's legacy builder writes `Step 1/2 : FROM x`, Podman's (buildah) `STEP 1/2: FROM x`.
        if line.starts_with("Step ") || line.starts_with("STEP ") {
            self.step = Some(line.clone());
            if let Some(bar) = &self.bar {
                bar.set_message(line.clone());
            }
        }
        if self.bar.is_none() && self.board.show_output {
            self.board.printer.status(&format!("[{}] {line}", self.name));
        }
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(line);
    }

    /// A status message for this function.
    pub fn status(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(text.to_string()),
            None => self.board.printer.status(&format!("[{}] {text}", self.name)),
        }
    }

    /// Ends the task with a final message (kept on screen).
    pub fn finish(&mut self, text: &str) {
        if !self.partial.is_empty() {
            let rest = std::mem::take(&mut self.partial);
            self.line(rest);
        }
        // The final message becomes a permanent line above the remaining bars, so the terminal
        // ends with plain lines once every bar is gone.
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        self.board.println(text);
    }

    /// The last `Step N/M : ...` line seen.
    pub fn step(&self) -> Option<&str> {
        self.step.as_deref()
    }

    /// The most recent log lines.
    pub fn tail(&self) -> Vec<String> {
        self.tail.iter().cloned().collect()
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Removes terminal escape sequences (the engine colours a RUN step's stderr red).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_removed() {
        assert_eq!(strip_ansi("\u{1b}[91moops\u{1b}[0m done"), "oops done");
        assert_eq!(strip_ansi("plain"), "plain");
    }

    #[test]
    fn steps_and_tail_are_tracked_across_partial_chunks() {
        let board = Board::new(&Printer::plain(), false);
        let mut task = board.task("fn");
        task.output("Step 1/2 : FROM x\n ---> ab");
        task.output("c\nStep 2/2 : RUN y\n");
        assert_eq!(task.step(), Some("Step 2/2 : RUN y"));
        assert_eq!(task.tail(), ["Step 1/2 : FROM x", " ---> abc", "Step 2/2 : RUN y"]);
        task.output("STEP 3/4: RUN z\n");
        assert_eq!(task.step(), Some("STEP 3/4: RUN z"));
    }
}
