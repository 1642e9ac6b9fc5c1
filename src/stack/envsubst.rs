//! `${VAR}` substitution over the raw stack text, before YAML parsing, with faas-cli's forms.
//!
//! Only the braced form is substituted; a bare `$VAR` stays literal and `$$` becomes `$`, as in
//! faas-cli. Differences from faas-cli (documented in README): `${V:?msg}` and `${V?msg}` fail with
//! the message, `${V:+alt}`/`${V+alt}` follow POSIX, and `${V-d}` is supported instead of being a
//! parse error. A variable used without a default that is unset is reported as a warning.

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
                let close = matching_brace(bytes, i + 2).ok_or_else(|| SubstError {
                    message: "missing closing brace '}' for '${'".into(),
                    offset: base + i,
                })?;
                let value = evaluate(&text[i + 2..close], base + i, lookup, out)?;
                out.text.push_str(&value);
                i = close + 1;
                literal_start = i;
            }
            _ => i += 1,
        }
    }
    out.text.push_str(&text[literal_start..]);
    Ok(())
}

/// Index of the `}` closing a `${` whose body starts at `start`, allowing nested `${...}`.
fn matching_brace(bytes: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => return None,
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
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
        return Err(err(format!("invalid variable name in '${{{body}}}'")));
    }
    let (name, op) = body.split_at(n);
    let raw = lookup(name);
    let value = raw.clone().unwrap_or_default();
    let set_nonempty = !value.is_empty();
    let mut word = |w: &str| -> Result<String, SubstError> {
        let mut nested = Substituted::default();
        expand_into(w, offset, lookup, &mut nested)?;
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
        _ if op.starts_with(':') => {
            substring(&value, &op[1..]).ok_or_else(|| err(format!("bad substring expression '${{{body}}}'")))?
        }
        _ if op.starts_with("##") => trim_prefix(&value, &word(&op[2..])?, true),
        _ if op.starts_with('#') => trim_prefix(&value, &word(&op[1..])?, false),
        _ if op.starts_with("%%") => trim_suffix(&value, &word(&op[2..])?, true),
        _ if op.starts_with('%') => trim_suffix(&value, &word(&op[1..])?, false),
        _ if op.starts_with('/') => replace(&value, &op[1..], &mut word)?,
        _ => return Err(err(format!("unsupported expression '${{{body}}}'"))),
    };
    Ok(result)
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_lowercase().chain(c).collect()).unwrap_or_default()
}

/// `${V:pos}` and `${V:pos:len}`; a negative `pos` counts from the end.
fn substring(value: &str, spec: &str) -> Option<String> {
    let chars: Vec<char> = value.chars().collect();
    let mut parts = spec.splitn(2, ':');
    let pos: i64 = parts.next()?.trim().parse().ok()?;
    let start = if pos < 0 { (chars.len() as i64 + pos).max(0) as usize } else { (pos as usize).min(chars.len()) };
    let end = match parts.next() {
        Some(len) => {
            let len: usize = len.trim().parse().ok()?;
            (start + len).min(chars.len())
        }
        None => chars.len(),
    };
    Some(chars[start..end].iter().collect())
}

/// Shell-style pattern (`*` any run, `?` one character) compiled to an anchored regex.
fn pattern(glob: &str) -> regex::Regex {
    let mut re = String::from("^(?s:");
    for c in glob.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            _ => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push_str(")$");
    regex::Regex::new(&re).expect("escaped pattern is a valid regex")
}

fn char_boundaries(s: &str) -> Vec<usize> {
    s.char_indices().map(|(i, _)| i).chain(std::iter::once(s.len())).collect()
}

fn trim_prefix(value: &str, glob: &str, longest: bool) -> String {
    let re = pattern(glob);
    let mut cuts = char_boundaries(value);
    if longest {
        cuts.reverse();
    }
    cuts.into_iter()
        .find(|&i| re.is_match(&value[..i]))
        .map(|i| value[i..].to_string())
        .unwrap_or_else(|| value.to_string())
}

fn trim_suffix(value: &str, glob: &str, longest: bool) -> String {
    let re = pattern(glob);
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
fn replace(
    value: &str,
    spec: &str,
    word: &mut dyn FnMut(&str) -> Result<String, SubstError>,
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
        'a' => value.replace(&pat, &rep),
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
    fn unset_variables_without_default_are_reported() {
        let out = substitute("${UNSET} ${SET} ${OTHER:-x} ${NESTED:-${INNER}}", &env).unwrap();
        assert_eq!(out.unset, vec!["UNSET".to_string(), "INNER".to_string()]);
    }
}
