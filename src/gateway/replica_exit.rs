//! What the gateway says about a replica that exited before it became healthy: its exit code and
//! the last lines of its output, on one line (the gateway's log has one line per event), bounded,
//! with control characters escaped and the values of the function's secrets redacted: a function
//! that prints a secret while crashing must not get it into the gateway's log or an API answer.

use std::fmt;

/// How many of the last output lines Docker is asked for.
pub const TAIL_LINES: usize = 20;
/// The most output bytes kept while reading those lines (a line can be huge).
pub const MAX_READ_BYTES: usize = 1 << 20;
/// The most characters of output a report shows.
const MAX_SHOWN_CHARS: usize = 2000;
const REDACTED: &[u8] = b"[redacted]";

/// How a container ended, as Docker reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    /// `None` when the container is gone and its code unknown.
    pub code: Option<i64>,
    pub oom_killed: bool,
}

/// A replica that exited, and the end of what it wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitReport {
    pub replica: String,
    pub exit: Exit,
    /// The last lines of its output, already redacted and bounded.
    pub output: String,
}

impl fmt::Display for ExitReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "replica {} exited", self.replica)?;
        if let Some(code) = self.exit.code {
            write!(f, " with code {code}")?;
        }
        if self.exit.oom_killed {
            write!(f, " (killed for using more than limits.memory)")?;
        }
        write!(f, " before it became healthy")?;
        if self.output.is_empty() {
            write!(f, "; it wrote nothing")
        } else {
            write!(f, "; its last output: {:?}", self.output)
        }
    }
}

/// The end of `output` for a report: every value in `secrets` (and its whitespace-trimmed form)
/// replaced by `[redacted]`, then the last [`TAIL_LINES`] lines, at most 2,000 characters.
/// When `output` was cut at the front while it was read, its first (partial) line is dropped,
/// so no cut-off piece of a secret survives.
pub fn shown_output(output: &[u8], cut_at_front: bool, secrets: &[Vec<u8>]) -> String {
    let mut values: Vec<&[u8]> =
        secrets.iter().flat_map(|s| [s.as_slice(), s.trim_ascii()]).filter(|v| !v.is_empty()).collect();
    values.sort_by_key(|v| std::cmp::Reverse(v.len())); // a secret containing another goes first
    let mut text = output.to_vec();
    for value in values {
        text = replace_all(&text, value, REDACTED);
    }
    let text = String::from_utf8_lossy(&text);
    let mut lines: Vec<&str> = text.lines().collect();
    if cut_at_front && !lines.is_empty() {
        lines.remove(0);
    }
    let start = lines.len().saturating_sub(TAIL_LINES);
    let mut shown = lines[start..].join("\n");
    if let Some((cut, _)) = shown.char_indices().rev().nth(MAX_SHOWN_CHARS - 1) {
        shown = format!("...{}", &shown[cut..]);
    }
    shown
}

fn replace_all(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_whole_trimmed_and_across_lines() {
        let secrets = vec![b"hunter2\n".to_vec(), b"multi\nline".to_vec(), vec![0xff, 0xfe, b'x'], Vec::new()];
        // The stored value ends in a newline, so that newline goes too; the trimmed form is
        // redacted where the function printed it without one.
        let output = b"start\npassword=hunter2\nkey: multi\nline!\nraw \xff\xfex end\ntrimmed hunter2 too\n";
        assert_eq!(
            shown_output(output, false, &secrets),
            "start\npassword=[redacted]key: [redacted]!\nraw [redacted] end\ntrimmed [redacted] too"
        );
    }

    #[test]
    fn output_is_bounded_to_the_last_lines() {
        let output: String = (1..=30).map(|i| format!("line {i}\n")).collect();
        let shown = shown_output(output.as_bytes(), false, &[]);
        assert!(shown.starts_with("line 11\n") && shown.ends_with("line 30"), "{shown}");
        let huge = format!("{}\nlast\n", "x".repeat(100_000));
        let shown = shown_output(huge.as_bytes(), false, &[]);
        assert_eq!(shown.chars().count(), 2003);
        assert!(shown.starts_with("...x") && shown.ends_with("x\nlast"));
        assert_eq!(shown_output(b"half a line\nwhole\n", true, &[]), "whole");
    }

    #[test]
    fn reports_read_as_one_line_with_control_characters_escaped() {
        let exit = Exit { code: Some(3), oom_killed: false };
        let report = ExitReport { replica: "r1".into(), exit, output: "boom\n\u{1b}[31mred".into() };
        assert_eq!(
            report.to_string(),
            "replica r1 exited with code 3 before it became healthy; its last output: \"boom\\n\\u{1b}[31mred\""
        );
        let oom = ExitReport {
            replica: "r2".into(),
            exit: Exit { code: Some(137), oom_killed: true },
            output: String::new(),
        };
        assert_eq!(
            oom.to_string(),
            "replica r2 exited with code 137 (killed for using more than limits.memory) before it became healthy; it wrote nothing"
        );
    }
}
