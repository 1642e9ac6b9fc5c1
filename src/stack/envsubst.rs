//! `${VAR}` substitution over the raw stack text, before YAML parsing, with faas-cli's forms.
//!
//! Only the braced form is substituted; a bare `$VAR` stays literal and `$$` becomes `$`, as in
//! faas-cli. Differences from faas-cli (documented in README): `${V:?msg}` and `${V?msg}` fail with
//! the message, `${V:+alt}`/`${V+alt}` follow POSIX, and `${V-d}` is supported instead of being a
//! parse error. A variable used without a default that is unset is reported as a warning.
//!
//! The text is hostile input (a remote `-f URL`), so every form is bounded: offsets and lengths
//! saturate, `${` nests at most [`MAX_SUBSTITUTION_DEPTH`] deep, and the result may not grow past
//! [`MAX_DOCUMENT_BYTES`].

use super::limits::{MAX_DOCUMENT_BYTES, MAX_SUBSTITUTION_DEPTH};

/// Why substitution failed, with the byte offset of the `${` that caused it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct SubstError {
    pub message: String,
    pub offset: usize,
}

/// The substituted text and the names of variables that were unset where no default was given.
#[derive(Debug, Default, PartialEq)]
pub struct Substituted {
    pub text: String,
    pub unset: Vec<String>,
}

/// Substitutes every `${...}` in `text`, looking variables up with `lookup`.
pub fn substitute(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Substituted, SubstError> {
    let mut out = Substituted::default();
    expand_into(text, 0, lookup, &mut out)?;
    Ok(out)
}

fn expand_into(
    text: &str,
    base: usize,
    lookup: &dyn Fn(&str) -> Option<String>,
    out: &mut Substituted,
) -> Result<(), SubstError> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut literal_start = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'$') => {
                out.text.push_str(&text[literal_start..i]);
                out.text.push('$');
                i += 2;
                literal_start = i;
            }
            Some(b'{') => {
                out.text.push_str(&text[literal_start..i]);
                let close = matching_brace(bytes, i + 2).map_err(|message| SubstError { message, offset: base + i })?;
                let value = evaluate(&text[i + 2..close], base + i, lookup, out)?;
                out.text.push_str(&value);
                check_size(out.text.len(), base + i)?;
                i = close + 1;
                literal_start = i;
            }
            _ => i += 1,
        }
    }
    out.text.push_str(&text[literal_start..]);
    check_size(out.text.len(), base + literal_start)
}

/// An error once substitution has grown the text past [`MAX_DOCUMENT_BYTES`].
fn check_size(len: usize, offset: usize) -> Result<(), SubstError> {
    if len <= MAX_DOCUMENT_BYTES {
        return Ok(());
    }
    let message = format!(
        "substitution makes the document longer than {MAX_DOCUMENT_BYTES} bytes (16 MiB), the limit for a YAML document"
    );
    Err(SubstError { message, offset })
}

/// Index of the `}` closing a `${` whose body starts at `start`, allowing nested `${...}` up to
/// [`MAX_SUBSTITUTION_DEPTH`] levels (each level is a recursion of [`expand_into`]).
fn matching_brace(bytes: &[u8], start: usize) -> Result<usize, String> {
    let mut depth = 0usize;
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => break,
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                if depth >= MAX_SUBSTITUTION_DEPTH {
                    return Err(format!(
                        "'${{' nests {} levels deep here; the limit is {MAX_SUBSTITUTION_DEPTH}",
                        depth + 1
                    ));
                }
                i += 1;
            }
            b'}' if depth == 0 => return Ok(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    Err("missing closing brace '}' for '${'".to_string())
}

fn name_len(body: &str) -> usize {
    let bytes = body.as_bytes();
    match bytes.first() {
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {}
        _ => return 0,
    }
    bytes.iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'_').count()
}

fn evaluate(
    body: &str,
    offset: usize,
    lookup: &dyn Fn(&str) -> Option<String>,
    out: &mut Substituted,
) -> Result<String, SubstError> {
    let err = |message: String| SubstError { message, offset };
    if let Some(name) = body.strip_prefix('#')
        && name_len(name) == name.len()
        && !name.is_empty()
    {
        return Ok(lookup(name).unwrap_or_default().chars().count().to_string());
    }
    let n = name_len(body);
    if n == 0 {
        return Err(err(format!("invalid variable name in '${{{}}}'", shown(body))));
    }
    let (name, op) = body.split_at(n);
    let raw = lookup(name);
    let value = raw.clone().unwrap_or_default();
    let set_nonempty = !value.is_empty();
    // A word is a slice of `body`; its own `${` are reported where they are in the text.
    let body_offset = offset + 2;
    let mut word = |w: &str| -> Result<String, SubstError> {
        let mut nested = Substituted::default();
        expand_into(w, body_offset + position_in(body, w), lookup, &mut nested)?;
        out.unset.extend(nested.unset);
        Ok(nested.text)
    };
    let result = match op {
        "" => {
            if raw.is_none() {
                out.unset.push(name.to_string());
            }
            value
        }
        _ if op.starts_with(":-") || op.starts_with(":=") => {
            if set_nonempty {
                value
            } else {
                word(&op[2..])?
            }
        }
        _ if op.starts_with('=') => {
            if set_nonempty {
                value
            } else {
                word(&op[1..])?
            }
        }
        _ if op.starts_with('-') => {
            if raw.is_some() {
                value
            } else {
                word(&op[1..])?
            }
        }
        _ if op.starts_with(":?") || op.starts_with('?') => {
            let colon = op.starts_with(':');
            let missing = if colon { !set_nonempty } else { raw.is_none() };
            if missing {
                let msg = word(&op[if colon { 2 } else { 1 }..])?;
                let msg = if msg.is_empty() { "parameter null or not set".to_string() } else { msg };
                return Err(err(format!("{name}: {msg}")));
            }
            value
        }
        _ if op.starts_with(":+") => {
            if set_nonempty {
                word(&op[2..])?
            } else {
                String::new()
            }
        }
        _ if op.starts_with('+') => {
            if raw.is_some() {
                word(&op[1..])?
            } else {
                String::new()
            }
        }
        "^" => upper_first(&value),
        "^^" => value.to_uppercase(),
        "," => lower_first(&value),
        ",," => value.to_lowercase(),
        _ if op.starts_with(':') => substring(&value, &op[1..])
            .ok_or_else(|| err(format!("bad substring expression '${{{}}}'", shown(body))))?,
        _ if op.starts_with("##") => trim_prefix(&value, &pattern(&word(&op[2..])?).map_err(err)?, true),
        _ if op.starts_with('#') => trim_prefix(&value, &pattern(&word(&op[1..])?).map_err(err)?, false),
        _ if op.starts_with("%%") => trim_suffix(&value, &pattern(&word(&op[2..])?).map_err(err)?, true),
        _ if op.starts_with('%') => trim_suffix(&value, &pattern(&word(&op[1..])?).map_err(err)?, false),
        _ if op.starts_with('/') => replace(&value, &op[1..], &mut word, &err)?,
        _ => return Err(err(format!("unsupported expression '${{{}}}'", shown(body)))),
    };
    Ok(result)
}

/// The byte position of `inner`, a slice of `outer`, within it.
fn position_in(outer: &str, inner: &str) -> usize {
    let position = inner.as_ptr() as usize - outer.as_ptr() as usize;
    debug_assert!(position + inner.len() <= outer.len(), "not a slice of outer");
    position
}

/// An expression as shown in an error: at most 60 characters of it, since it can be megabytes.
fn shown(body: &str) -> String {
    match body.char_indices().nth(60) {
        Some((cut, _)) => format!("{}...", &body[..cut]),
        None => body.to_string(),
    }
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_lowercase().chain(c).collect()).unwrap_or_default()
}

/// `${V:pos}` and `${V:pos:len}`, in characters, as bash does them: a negative `pos` counts from
/// the end, a negative `len` is where to stop, counted from the end. Out-of-range numbers (even
/// `18446744073709551615`) saturate; `None` for text that is not a number, or an end before the start.
fn substring(value: &str, spec: &str) -> Option<String> {
    let chars: Vec<char> = value.chars().collect();
    let count = i64::try_from(chars.len()).unwrap_or(i64::MAX);
    let from_end = |n: i64| if n < 0 { count.saturating_add(n).max(0) } else { n.min(count) };
    let mut parts = spec.splitn(2, ':');
    let start = from_end(saturating_number(parts.next()?)?);
    let end = match parts.next() {
        Some(len) => match saturating_number(len)? {
            len if len < 0 => from_end(len),
            len => start.saturating_add(len).min(count),
        },
        None => count,
    };
    let (start, end) = (usize::try_from(start).ok()?, usize::try_from(end).ok()?);
    (start <= end).then(|| chars[start..end].iter().collect())
}

/// A decimal integer with optional sign and surrounding spaces, clamped to the `i64` range.
fn saturating_number(text: &str) -> Option<i64> {
    use std::num::IntErrorKind;
    match text.trim().parse::<i64>() {
        Ok(n) => Some(n),
        Err(e) if *e.kind() == IntErrorKind::PosOverflow => Some(i64::MAX),
        Err(e) if *e.kind() == IntErrorKind::NegOverflow => Some(i64::MIN),
        Err(_) => None,
    }
}

/// Shell-style pattern (`*` any run, `?` one character) compiled to an anchored regex; an error
/// when it is too big for the regex engine's size limit (a pattern can be megabytes long).
fn pattern(glob: &str) -> Result<regex::Regex, String> {
    let mut re = String::from("^(?s:");
    for c in glob.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            _ => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push_str(")$");
    regex::Regex::new(&re).map_err(|e| match e {
        regex::Error::CompiledTooBig(limit) => {
            format!("the pattern '{}' is too long (its regex would exceed {limit} bytes)", shown(glob))
        }
        other => format!("the pattern '{}' cannot be used: {other}", shown(glob)),
    })
}

fn char_boundaries(s: &str) -> Vec<usize> {
    s.char_indices().map(|(i, _)| i).chain(std::iter::once(s.len())).collect()
}

fn trim_prefix(value: &str, re: &regex::Regex, longest: bool) -> String {
    let mut cuts = char_boundaries(value);
    if longest {
        cuts.reverse();
    }
    cuts.into_iter()
        .find(|&i| re.is_match(&value[..i]))
        .map(|i| value[i..].to_string())
        .unwrap_or_else(|| value.to_string())
}

fn trim_suffix(value: &str, re: &regex::Regex, longest: bool) -> String {
    let mut cuts = char_boundaries(value);
    if !longest {
        cuts.reverse();
    }
    cuts.into_iter()
        .find(|&i| re.is_match(&value[i..]))
        .map(|i| value[..i].to_string())
        .unwrap_or_else(|| value.to_string())
}

/// `${V/pat/rep}` (first), `${V//pat/rep}` (all), `${V/#pat/rep}` (prefix), `${V/%pat/rep}` (suffix).
/// Replacing every match is checked against the size limit before the result is built.
fn replace(
    value: &str,
    spec: &str,
    word: &mut dyn FnMut(&str) -> Result<String, SubstError>,
    err: &dyn Fn(String) -> SubstError,
) -> Result<String, SubstError> {
    let (mode, rest) = match spec.chars().next() {
        Some('/') => ('a', &spec[1..]),
        Some('#') => ('p', &spec[1..]),
        Some('%') => ('s', &spec[1..]),
        _ => ('f', spec),
    };
    let (pat, rep) = rest.split_once('/').unwrap_or((rest, ""));
    let (pat, rep) = (word(pat)?, word(rep)?);
    if pat.is_empty() {
        return Ok(value.to_string());
    }
    Ok(match mode {
        'a' => {
            let grown = value.matches(pat.as_str()).count().saturating_mul(rep.len());
            if value.len().saturating_add(grown) > MAX_DOCUMENT_BYTES {
                return Err(err(format!(
                    "replacing every \"{}\" makes the value longer than {MAX_DOCUMENT_BYTES} bytes (16 MiB), the limit for a YAML document",
                    shown(&pat)
                )));
            }
            value.replace(&pat, &rep)
        }
        'p' => value.strip_prefix(&pat).map(|r| format!("{rep}{r}")).unwrap_or_else(|| value.to_string()),
        's' => value.strip_suffix(&pat).map(|r| format!("{r}{rep}")).unwrap_or_else(|| value.to_string()),
        _ => value.replacen(&pat, &rep, 1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "SET" => Some("val".into()),
            "EMPTY" => Some(String::new()),
            "PATHV" => Some("a/b/c.tar.gz".into()),
            _ => None,
        }
    }

    fn sub(text: &str) -> String {
        substitute(text, &env).unwrap().text
    }

    #[test]
    fn table_of_forms() {
        let cases = [
            ("${SET}", "val"),
            ("$SET", "$SET"),
            ("${SET}_more", "val_more"),
            ("$$", "$"),
            ("a$$b", "a$b"),
            ("\\${SET}", "\\val"),
            ("${UNSET}", ""),
            ("${EMPTY}", ""),
            ("${UNSET:-d}", "d"),
            ("${EMPTY:-d}", "d"),
            ("${SET:-d}", "val"),
            ("${UNSET:=d}", "d"),
            ("${EMPTY=d}", "d"),
            ("${UNSET=d}", "d"),
            ("${UNSET-d}", "d"),
            ("${EMPTY-d}", ""),
            ("${SET:+alt}", "alt"),
            ("${EMPTY:+alt}", ""),
            ("${UNSET:+alt}", ""),
            ("${EMPTY+alt}", "alt"),
            ("${SET^}", "Val"),
            ("${SET^^}", "VAL"),
            ("${SET,}", "val"),
            ("${SET,,}", "val"),
            ("${#SET}", "3"),
            ("${#UNSET}", "0"),
            ("${SET:1}", "al"),
            ("${SET:1:2}", "al"),
            ("${SET:0:1}", "v"),
            ("${SET: -2}", "al"),
            ("${PATHV#*/}", "b/c.tar.gz"),
            ("${PATHV##*/}", "c.tar.gz"),
            ("${PATHV%.*}", "a/b/c.tar"),
            ("${PATHV%%.*}", "a/b/c"),
            ("${SET/a/A}", "vAl"),
            ("${PATHV//./_}", "a/b/c_tar_gz"),
            ("${PATHV/./_}", "a/b/c_tar.gz"),
            ("${SET/#v/V}", "Val"),
            ("${SET/%l/L}", "vaL"),
            ("${UNSET:-${SET}}", "val"),
            ("x ${UNSET:-a b} y", "x a b y"),
            // Substring offsets and lengths saturate; a negative length counts back from the end.
            ("${SET:1:18446744073709551615}", "al"),
            ("${SET:18446744073709551615}", ""),
            ("${SET:9223372036854775807:9223372036854775807}", ""),
            ("${SET: -99999999999999999999}", "val"),
            ("${SET: -9223372036854775808:1}", "v"),
            ("${SET:0:-1}", "va"),
            ("${SET:1:-1}", "a"),
            ("${SET:0:-99999999999999999999}", ""),
            ("${UNSET:5:5}", ""),
        ];
        for (input, want) in cases {
            assert_eq!(sub(input), want, "input {input}");
        }
    }

    #[test]
    fn required_variable_fails_with_its_message() {
        let err = substitute("image: ${REGISTRY:?set REGISTRY to your registry}", &env).unwrap_err();
        assert_eq!(err.message, "REGISTRY: set REGISTRY to your registry");
        assert_eq!(err.offset, 7);
        assert!(substitute("${EMPTY:?}", &env).is_err());
        assert_eq!(sub("${EMPTY?oops}"), "");
        assert_eq!(sub("${SET:?oops}"), "val");
    }

    #[test]
    fn unterminated_brace_is_an_error_at_the_dollar() {
        let err = substitute("a: b\nc: ${SET\n", &env).unwrap_err();
        assert!(err.message.contains("missing closing brace"));
        assert_eq!(err.offset, 8);
    }

    #[test]
    fn invalid_names_are_errors() {
        assert!(substitute("${1A}", &env).is_err());
        assert!(substitute("${}", &env).is_err());
    }

    #[test]
    fn substrings_that_are_not_numbers_or_end_before_they_start_are_errors() {
        for bad in ["${SET:2:-2}", "${SET:x}", "${SET:1:y}", "${SET:}"] {
            let err = substitute(bad, &env).unwrap_err();
            assert!(err.message.starts_with("bad substring expression"), "{bad}: {err:?}");
        }
    }

    #[test]
    fn errors_inside_a_default_point_at_the_inner_expression() {
        // Multi-byte text before the inner `${` once put the offset inside a character (a panic).
        let text = "a: ${UNSET:-\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}${REQUIRED:?give it}}";
        let err = substitute(text, &env).unwrap_err();
        assert_eq!(err.message, "REQUIRED: give it");
        assert_eq!(err.offset, text.find("${REQUIRED").unwrap());
    }

    #[test]
    fn nesting_and_growth_are_bounded() {
        let nested = |levels: usize| format!("{}x{}", "${U:-".repeat(levels), "}".repeat(levels));
        assert_eq!(sub(&nested(MAX_SUBSTITUTION_DEPTH)), "x");
        let err = substitute(&nested(100_000), &env).unwrap_err();
        assert_eq!(err.message, "'${' nests 33 levels deep here; the limit is 32");
        assert_eq!(err.offset, 0);
        // Megabytes of text: a failed assertion must not print it.
        let fails = |text: &str| match substitute(text, &env) {
            Err(e) => e,
            Ok(_) => panic!("substitution should fail"),
        };
        let rep = "y".repeat(9 << 20);
        let err = fails(&format!("a\nb: ${{PATHV//./{rep}}}"));
        assert!(err.message.starts_with("replacing every \".\" makes the value longer than 16777216 bytes"), "{err}");
        assert_eq!(err.offset, 5);
        let err = fails(&format!("${{PATHV/a/{rep}}}${{PATHV/a/{rep}}}"));
        assert!(err.message.starts_with("substitution makes the document longer than 16777216 bytes"), "{err}");
        assert_eq!(err.offset, "${PATHV/a/".len() + rep.len() + "}".len());
    }

    #[test]
    fn patterns_too_big_for_the_regex_engine_are_errors() {
        let glob = "?".repeat(20_000);
        let err = substitute(&format!("${{SET#{glob}}}"), &env).unwrap_err();
        assert!(err.message.starts_with("the pattern '????"), "{err:?}");
        assert!(err.message.contains("is too long"), "{err:?}");
    }

    #[test]
    fn unset_variables_without_default_are_reported() {
        let out = substitute("${UNSET} ${SET} ${OTHER:-x} ${NESTED:-${INNER}}", &env).unwrap();
        assert_eq!(out.unset, vec!["UNSET".to_string(), "INNER".to_string()]);
    }
}
