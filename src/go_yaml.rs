//! YAML text laid out the way Go's `gopkg.in/yaml.v3` encoder writes it with a 2-space indent.
//!
//! faas-cli writes `generate` output and `~/.openfaas/config.yml` with yaml.v3, so matching its
//! layout (indented sequences, `{}`/`[]` for empty collections) and its quoting rules (a string that
//! would read back as another type is double-quoted; one that cannot be plain is single-quoted)
//! makes rfaas's output byte-identical. serde_yaml picks different quotes (`'1'` instead of `"1"`),
//! which is why this small emitter exists.

use crate::scan::Scan;

/// A document: mappings keep insertion order, as Go struct fields do.
#[derive(Debug, Clone, PartialEq)]
pub enum Doc {
    Map(Vec<(String, Doc)>),
    Seq(Vec<Doc>),
    Str(String),
    Bool(bool),
}

impl Doc {
    pub fn str(s: impl Into<String>) -> Doc {
        Doc::Str(s.into())
    }

    /// A mapping from sorted string pairs (Go sorts map keys when encoding).
    pub fn string_map<'a>(pairs: impl IntoIterator<Item = (&'a String, &'a String)>) -> Doc {
        let mut entries: Vec<(String, Doc)> =
            pairs.into_iter().map(|(k, v)| (k.clone(), Doc::str(v.clone()))).collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Doc::Map(entries)
    }

    pub fn string_seq<'a>(items: impl IntoIterator<Item = &'a String>) -> Doc {
        Doc::Seq(items.into_iter().map(|s| Doc::str(s.clone())).collect())
    }
}

/// Encodes `doc` (normally a mapping) as yaml.v3 would, ending with a newline.
pub fn to_string(doc: &Doc) -> String {
    let mut out = String::new();
    match doc {
        Doc::Map(entries) if !entries.is_empty() => write_map(&mut out, entries, 0),
        Doc::Seq(items) if !items.is_empty() => write_seq(&mut out, items, 0),
        other => {
            out.push_str(&inline(other, 0));
            out.push('\n');
        }
    }
    out
}

fn is_block(doc: &Doc) -> bool {
    match doc {
        Doc::Map(e) => !e.is_empty(),
        Doc::Seq(i) => !i.is_empty(),
        _ => false,
    }
}

fn write_map(out: &mut String, entries: &[(String, Doc)], indent: usize) {
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(&scalar(key, indent));
        out.push(':');
        write_value(out, value, indent);
    }
}

fn write_seq(out: &mut String, items: &[Doc], indent: usize) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str("- ");
        match item {
            Doc::Map(e) if !e.is_empty() => write_map(out, e, indent + 2),
            Doc::Seq(s) if !s.is_empty() => write_seq(out, s, indent + 2),
            other => {
                out.push_str(&inline(other, indent + 2));
                out.push('\n');
            }
        }
    }
}

fn write_value(out: &mut String, value: &Doc, indent: usize) {
    if is_block(value) {
        out.push('\n');
        out.push_str(&" ".repeat(indent + 2));
        match value {
            Doc::Map(e) => write_map(out, e, indent + 2),
            Doc::Seq(s) => write_seq(out, s, indent + 2),
            _ => unreachable!("is_block checked"),
        }
    } else {
        out.push(' ');
        out.push_str(&inline(value, indent));
        out.push('\n');
    }
}

fn inline(doc: &Doc, indent: usize) -> String {
    match doc {
        Doc::Map(_) => "{}".into(),
        Doc::Seq(_) => "[]".into(),
        Doc::Bool(b) => b.to_string(),
        Doc::Str(s) => scalar(s, indent),
    }
}

/// A string scalar with yaml.v3's choice of style.
pub fn scalar(s: &str, indent: usize) -> String {
    if s.contains('\n') {
        return literal(s, indent);
    }
    if !resolves_to_string(s) {
        return double_quoted(s);
    }
    if plain_allowed(s) {
        return s.to_string();
    }
    if s.chars().all(|c| !c.is_control() || c == '\t') {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        double_quoted(s)
    }
}

fn literal(s: &str, indent: usize) -> String {
    let chomp = if !s.ends_with('\n') {
        "-"
    } else if s.ends_with("\n\n") {
        "+"
    } else {
        ""
    };
    let pad = " ".repeat(indent + 2);
    let body = s.strip_suffix('\n').unwrap_or(s);
    let lines: Vec<String> =
        body.split('\n').map(|l| if l.is_empty() { String::new() } else { format!("{pad}{l}") }).collect();
    let lead = if s.starts_with(' ') { "2" } else { "" };
    format!("|{lead}{chomp}\n{}", lines.join("\n"))
}

fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() => out.push_str(&format!("\\x{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// False when yaml.v3 would read `s`, written plain, as null, a bool, a number or a timestamp.
fn resolves_to_string(s: &str) -> bool {
    const SPECIAL: &[&str] = &[
        "", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", ".inf", ".Inf", ".INF",
        "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN", "<<", "y", "Y", "yes", "Yes",
        "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF",
    ];
    if SPECIAL.contains(&s) {
        return false;
    }
    let first = s.as_bytes()[0];
    if !(first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.')) {
        return true;
    }
    let compact = s.replace('_', "");
    !(is_int(&compact) || is_float(&compact) || is_base60(s) || is_timestamp(s))
}

fn digit(b: u8) -> bool {
    b.is_ascii_digit()
}

/// `^[-+]?(0b[01]+|0o[0-7]+|0x[0-9a-fA-F]+|[0-9]+)$`
fn is_int(s: &str) -> bool {
    let mut scan = Scan::new(s);
    scan.eat_any(b"+-");
    let radix = match scan.rest() {
        [b'0', b'b', ..] => Some(2),
        [b'0', b'o', ..] => Some(8),
        [b'0', b'x', ..] => Some(16),
        _ => None,
    };
    if let Some(radix) = radix {
        let mut prefixed = Scan::new(&s[s.len() - scan.rest().len() + 2..]);
        if prefixed.eat_while(usize::MAX, |b| (b as char).is_digit(radix)) > 0 && prefixed.done() {
            return true;
        }
    }
    scan.eat_while(usize::MAX, digit) > 0 && scan.done()
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_float(s: &str) -> bool {
    let mut scan = Scan::new(s);
    scan.eat_any(b"+-");
    if !scan.eat_decimal() {
        return false;
    }
    if scan.eat_any(b"eE") {
        scan.eat_any(b"+-");
        if scan.eat_while(usize::MAX, digit) == 0 {
            return false;
        }
    }
    scan.done()
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`
fn is_base60(s: &str) -> bool {
    let mut scan = Scan::new(s);
    scan.eat_any(b"+-");
    if !scan.eat_if(digit) {
        return false;
    }
    scan.eat_while(usize::MAX, |b| digit(b) || b == b'_');
    let mut groups = 0;
    while scan.eat_any(b":") {
        // [0-5]?[0-9]: one digit, or two when the first is 0-5.
        match scan.rest() {
            [b'0'..=b'5', b, ..] if digit(*b) => {
                scan.eat_between(2, 2, digit);
            }
            [a, ..] if digit(*a) => {
                scan.eat_if(digit);
            }
            _ => return false,
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if scan.eat_any(b".") {
        scan.eat_while(usize::MAX, |b| digit(b) || b == b'_');
    }
    scan.done()
}

/// `^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\.[0-9]+)?(Z|[-+][0-9]{2}:[0-9]{2})?)?$`
fn is_timestamp(s: &str) -> bool {
    let mut scan = Scan::new(s);
    let date = scan.eat_between(4, 4, digit)
        && scan.eat_any(b"-")
        && scan.eat_between(1, 2, digit)
        && scan.eat_any(b"-")
        && scan.eat_between(1, 2, digit);
    if !date {
        return false;
    }
    if scan.done() {
        return true;
    }
    let time = scan.eat_any(b"Tt ")
        && scan.eat_between(1, 2, digit)
        && scan.eat_any(b":")
        && scan.eat_between(1, 2, digit)
        && scan.eat_any(b":")
        && scan.eat_between(1, 2, digit);
    if !time {
        return false;
    }
    if scan.eat_any(b".") && scan.eat_while(usize::MAX, digit) == 0 {
        return false;
    }
    if !scan.eat_any(b"Z")
        && scan.eat_any(b"+-")
        && !(scan.eat_between(2, 2, digit) && scan.eat_any(b":") && scan.eat_between(2, 2, digit))
    {
        return false;
    }
    scan.done()
}

/// libyaml's test for a plain scalar in block context.
fn plain_allowed(s: &str) -> bool {
    let bytes = s.as_bytes();
    let first = s.chars().next().unwrap_or(' ');
    let followed_by_space = |i: usize| bytes.get(i + 1).is_none_or(|b| *b == b' ' || *b == b'\t');
    if s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    if s.starts_with(' ') || s.ends_with(' ') || s.starts_with('\t') || s.ends_with('\t') {
        return false;
    }
    if "#,[]{}&*!|>'\"%@`".contains(first) {
        return false;
    }
    if matches!(first, '-' | '?' | ':') && followed_by_space(0) {
        return false;
    }
    for (i, c) in s.char_indices() {
        if c.is_control() && c != '\t' {
            return false;
        }
        if c == ':' && followed_by_space(i) {
            return false;
        }
        if c == '#' && i > 0 && matches!(bytes[i - 1], b' ' | b'\t') {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_matches_yaml_v3() {
        let cases = [
            ("plain", "plain"),
            ("1", "\"1\""),
            ("1.50", "\"1.50\""),
            ("true", "\"true\""),
            ("yes", "\"yes\""),
            ("", "\"\""),
            ("~", "\"~\""),
            ("0o17", "\"0o17\""),
            ("0x1F", "\"0x1F\""),
            ("1_000", "\"1_000\""),
            ("1e3", "\"1e3\""),
            ("2024-01-01", "\"2024-01-01\""),
            ("12:30", "\"12:30\""),
            ("*/5 * * * *", "'*/5 * * * *'"),
            ("@every 1m", "'@every 1m'"),
            ("a: b", "'a: b'"),
            ("a #b", "'a #b'"),
            ("a#b", "a#b"),
            ("- x", "'- x'"),
            ("-x", "-x"),
            ("it's", "it's"),
            (" lead", "' lead'"),
            ("http://x:8080/a", "http://x:8080/a"),
            ("node.platform.os == linux", "node.platform.os == linux"),
            ("128Mi", "128Mi"),
            ("0.5", "\"0.5\""),
            ("500m", "500m"),
            ("--version", "--version"),
            ("1.2.3", "1.2.3"),
            ("bell\u{7}", "\"bell\\x07\""),
        ];
        for (input, want) in cases {
            assert_eq!(scalar(input, 0), want, "input {input:?}");
        }
    }

    /// The hand-written matchers accept exactly what the regexes they replaced accepted.
    #[test]
    fn matchers_agree_with_the_regexes_they_replaced() {
        use crate::scan::tests::strings;
        use regex::Regex;
        /// A name, the matcher, its regex and the longest string tried.
        type Check = (&'static str, fn(&str) -> bool, &'static str, usize);
        let checks: [Check; 4] = [
            ("int", is_int, r"^[-+]?(0b[01]+|0o[0-7]+|0x[0-9a-fA-F]+|[0-9]+)$", 5),
            ("float", is_float, r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$", 5),
            ("base60", is_base60, r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$", 6),
            (
                "timestamp",
                is_timestamp,
                r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\.[0-9]+)?(Z|[-+][0-9]{2}:[0-9]{2})?)?$",
                0,
            ),
        ];
        let alphabets = ["019-+.eExobF", "05_9:.-", "0-+"];
        for (name, matcher, pattern, len) in checks {
            let re = Regex::new(pattern).unwrap();
            for alphabet in alphabets {
                for s in strings(alphabet, len) {
                    assert_eq!(matcher(&s), re.is_match(&s), "{name} on {s:?}");
                }
            }
        }
        let timestamp = Regex::new(checks[3].2).unwrap();
        let mut samples = vec![];
        for date in ["2024-01-01", "2024-1-1", "2024-01-011", "202-01-01", "2024-01-", "2024/01/01"] {
            samples.push(date.to_string());
            for time in ["T1:2:3", "t12:30:45", " 12:30:45", "T12:30", "T123:30:45", "_12:30:45"] {
                for frac in ["", ".5", ".", ".123"] {
                    for zone in ["", "Z", "+01:00", "-0100", "+1:00", "z", "+01:00Z"] {
                        samples.push(format!("{date}{time}{frac}{zone}"));
                    }
                }
            }
        }
        for s in samples {
            assert_eq!(is_timestamp(&s), timestamp.is_match(&s), "timestamp on {s:?}");
        }
    }

    #[test]
    fn layout_indents_sequences_and_nested_maps() {
        let doc = Doc::Map(vec![
            ("a".into(), Doc::str("x")),
            ("list".into(), Doc::Seq(vec![Doc::str("one"), Doc::str("2")])),
            ("nested".into(), Doc::Map(vec![("k".into(), Doc::str("v")), ("empty".into(), Doc::Map(vec![]))])),
            (
                "maps".into(),
                Doc::Seq(vec![Doc::Map(vec![("name".into(), Doc::str("nm")), ("b".into(), Doc::Bool(true))])]),
            ),
            ("none".into(), Doc::Seq(vec![])),
        ]);
        let want = "a: x\nlist:\n  - one\n  - \"2\"\nnested:\n  k: v\n  empty: {}\nmaps:\n  - name: nm\n    b: true\nnone: []\n";
        assert_eq!(to_string(&doc), want);
    }

    #[test]
    fn multi_line_strings_use_literal_blocks() {
        let doc = Doc::Map(vec![("k".into(), Doc::str("line1\nline2"))]);
        assert_eq!(to_string(&doc), "k: |-\n  line1\n  line2\n");
    }
}
