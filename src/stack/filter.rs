//! `--filter` (faas-cli's wildcard: only `*` is special) and `--regex` (unanchored) selection.

use regex::Regex;

/// Which functions of a stack a command works on.
#[derive(Debug, Clone)]
pub enum Selector {
    All,
    Matching { flag: &'static str, pattern: Regex },
}

/// Why the selection flags could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SelectorError {
    #[error("pass in a regex or a filter, not both")]
    Both,
    #[error("invalid --regex \"{pattern}\": {source}")]
    BadRegex { pattern: String, source: regex::Error },
}

impl Selector {
    pub fn new(filter: Option<&str>, regex: Option<&str>) -> Result<Selector, SelectorError> {
        match (filter.filter(|f| !f.is_empty()), regex.filter(|r| !r.is_empty())) {
            (Some(_), Some(_)) => Err(SelectorError::Both),
            (Some(glob), None) => Ok(Selector::Matching { flag: "--filter", pattern: wildcard(glob) }),
            (None, Some(re)) => Regex::new(re)
                .map(|pattern| Selector::Matching { flag: "--regex", pattern })
                .map_err(|source| SelectorError::BadRegex { pattern: re.to_string(), source }),
            (None, None) => Ok(Selector::All),
        }
    }

    pub fn is_all(&self) -> bool {
        matches!(self, Selector::All)
    }

    pub fn matches(&self, name: &str) -> bool {
        match self {
            Selector::All => true,
            Selector::Matching { pattern, .. } => pattern.is_match(name),
        }
    }
}

/// A whole-name match where `*` is any run of characters and everything else is literal.
fn wildcard(glob: &str) -> Regex {
    let body: Vec<String> = glob.split('*').map(regex::escape).collect();
    Regex::new(&format!("^{}$", body.join(".*"))).expect("escaped wildcard is a valid regex")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(sel: &Selector) -> Vec<&'static str> {
        ["fn1", "fn2", "api-fn", "a?b", "other"].into_iter().filter(|n| sel.matches(n)).collect()
    }

    #[test]
    fn wildcard_only_star_is_special() {
        assert_eq!(names(&Selector::new(Some("fn*"), None).unwrap()), vec!["fn1", "fn2"]);
        assert_eq!(names(&Selector::new(Some("*fn*"), None).unwrap()), vec!["fn1", "fn2", "api-fn"]);
        assert_eq!(names(&Selector::new(Some("a?b"), None).unwrap()), vec!["a?b"]);
        assert_eq!(names(&Selector::new(Some("fn**"), None).unwrap()), vec!["fn1", "fn2"]);
        assert_eq!(names(&Selector::new(Some("fn"), None).unwrap()), Vec::<&str>::new());
    }

    #[test]
    fn regex_is_unanchored() {
        assert_eq!(names(&Selector::new(None, Some("fn")).unwrap()), vec!["fn1", "fn2", "api-fn"]);
        assert_eq!(names(&Selector::new(None, Some("^fn[12]$")).unwrap()), vec!["fn1", "fn2"]);
    }

    #[test]
    fn both_or_bad_regex_are_errors() {
        assert!(matches!(Selector::new(Some("a"), Some("b")), Err(SelectorError::Both)));
        let err = Selector::new(None, Some("(")).unwrap_err();
        assert!(err.to_string().starts_with("invalid --regex \"(\""));
        assert!(Selector::new(Some(""), None).unwrap().is_all());
    }
}
