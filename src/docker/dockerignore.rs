//! `.dockerignore` in a build context: the patterns the Docker CLI applies before it sends the
//! context (the engine does not). `*` and `?` stay within one path segment, `**` spans any
//! number, `!` re-includes, the last matching pattern wins, and excluding a directory excludes
//! what is inside it.

use regex::Regex;

/// Compiled `.dockerignore` patterns.
#[derive(Debug, Default)]
pub struct DockerIgnore {
    rules: Vec<(Regex, bool)>,
}

impl DockerIgnore {
    /// Parses the file's text; lines starting with `#` and blank lines are ignored.
    pub fn parse(text: &str) -> DockerIgnore {
        let rules = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|line| {
                let (negated, pattern) = match line.strip_prefix('!') {
                    Some(p) => (true, p.trim()),
                    None => (false, line),
                };
                let pattern = pattern.trim_start_matches('/').trim_start_matches("./").trim_end_matches('/');
                Regex::new(&to_regex(pattern)).ok().map(|re| (re, negated))
            })
            .collect();
        DockerIgnore { rules }
    }

    /// True when `rel` (slash-separated, relative to the context root) is left out.
    pub fn excludes(&self, rel: &str) -> bool {
        let mut excluded = false;
        for (re, negated) in &self.rules {
            if matches_or_parent(re, rel) {
                excluded = !negated;
            }
        }
        excluded
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

fn matches_or_parent(re: &Regex, rel: &str) -> bool {
    if re.is_match(rel) {
        return true;
    }
    rel.match_indices('/').any(|(i, _)| re.is_match(&rel[..i]))
}

fn to_regex(pattern: &str) -> String {
    let mut out = String::from("^");
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' if chars.get(i + 1) == Some(&'*') => {
                if chars.get(i + 2) == Some(&'/') {
                    out.push_str("(.*/)?");
                    i += 3;
                } else {
                    out.push_str(".*");
                    i += 2;
                }
                continue;
            }
            '*' => out.push_str("[^/]*"),
            '?' => out.push_str("[^/]"),
            '[' => out.push('['),
            ']' => out.push(']'),
            '\\' if i + 1 < chars.len() => {
                out.push_str(&regex::escape(&chars[i + 1].to_string()));
                i += 1;
            }
            c => out.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    out.push('$');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_pattern_rules() {
        let ig = DockerIgnore::parse("# comment\n*/node_modules\n**/*.pyc\n/secret\nlogs\n!logs/keep.txt\n");
        assert!(ig.excludes("function/node_modules/x/index.js"));
        assert!(!ig.excludes("node_modules/x"), "* matches exactly one segment");
        assert!(ig.excludes("a.pyc") && ig.excludes("a/b/c.pyc"));
        assert!(ig.excludes("secret") && ig.excludes("secret/key"));
        assert!(ig.excludes("logs/a.txt") && !ig.excludes("logs/keep.txt"));
        assert!(!ig.excludes("function/handler.py"));
        assert!(DockerIgnore::parse("\n# x\n").is_empty());
    }
}
