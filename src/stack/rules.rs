//! Value rules shared by the stack decoder and the commands: names, quantities, suggestions.

use crate::scan::Scan;

/// Why a function, secret or namespace name is not usable, or `None` when it is a DNS-1123 label
/// (what Kubernetes, the gateway's URL routing and container names all accept).
pub fn dns_label_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("is empty".into());
    }
    if name.len() > 63 {
        return Some(format!("is {} characters long; at most 63 are allowed", name.len()));
    }
    if !is_dns_label(name) {
        return Some(
            "must consist of lower-case letters, digits and '-', and start and end with a letter or digit".into(),
        );
    }
    None
}

/// Like [`dns_label_problem`] but allowing dots, as Kubernetes secret names do (max 253).
pub fn dns_subdomain_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("is empty".into());
    }
    if name.len() > 253 {
        return Some(format!("is {} characters long; at most 253 are allowed", name.len()));
    }
    if !name.split('.').all(is_dns_label) {
        return Some(
            "must consist of lower-case letters, digits, '-' and '.', and start and end with a letter or digit".into(),
        );
    }
    None
}

/// True when `value` is a Kubernetes resource quantity such as `128Mi`, `0.5`, `500m` or `1e3`.
///
/// The form is `^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([KMGTPE]i|[mkMGTPE]|[eE][+-]?[0-9]+)?$`.
pub fn is_quantity(value: &str) -> bool {
    let mut scan = Scan::new(value);
    scan.eat_any(b"+");
    if !scan.eat_decimal() {
        return false;
    }
    match scan.rest() {
        [] | [b'm' | b'k' | b'M' | b'G' | b'T' | b'P' | b'E'] => true,
        [b'K' | b'M' | b'G' | b'T' | b'P' | b'E', b'i'] => true,
        [b'e' | b'E', exponent @ ..] => {
            let digits = exponent.strip_prefix(b"+").or_else(|| exponent.strip_prefix(b"-")).unwrap_or(exponent);
            !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
        }
        _ => false,
    }
}

/// `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`: lower-case letters, digits and inner `-`.
fn is_dns_label(label: &str) -> bool {
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = label.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => alnum(first) && alnum(last) && bytes.iter().all(|b| alnum(b) || *b == b'-'),
        _ => false,
    }
}

/// The known word closest to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(word, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4) && *d < k.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        for ok in ["a", "fn1", "order-completion", "a-b-c", "0abc"] {
            assert_eq!(dns_label_problem(ok), None, "{ok}");
        }
        for bad in ["", "A", "-a", "a-", "a_b", "a.b", "../etc", &"a".repeat(64)] {
            assert!(dns_label_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn dns_subdomains_allow_dots_but_not_traversal() {
        assert_eq!(dns_subdomain_problem("db.password"), None);
        assert!(dns_subdomain_problem("../x").is_some());
        assert!(dns_subdomain_problem("a/b").is_some());
        assert!(dns_subdomain_problem("a..b").is_some());
    }

    #[test]
    fn quantities() {
        for ok in ["128Mi", "1Gi", "500m", "0.5", "1", "100M", "1e3", ".5"] {
            assert!(is_quantity(ok), "{ok}");
        }
        for bad in ["128MB", "1 Gi", "abc", "", "5mi", "-1"] {
            assert!(!is_quantity(bad), "{bad}");
        }
    }

    /// The hand-written matchers accept exactly what the regexes they replaced accepted.
    #[test]
    fn matchers_agree_with_the_regexes_they_replaced() {
        use crate::scan::tests::strings;
        use regex::Regex;
        let label = Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$").unwrap();
        let subdomain = Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$").unwrap();
        for s in strings("a0-.A_", 6) {
            assert_eq!(is_dns_label(&s), label.is_match(&s), "label {s:?}");
            assert_eq!(s.split('.').all(is_dns_label), subdomain.is_match(&s), "subdomain {s:?}");
        }
        let quantity = Regex::new(r"^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([KMGTPE]i|[mkMGTPE]|[eE][+-]?[0-9]+)?$").unwrap();
        for s in strings("09.+-eEmKMi", 5) {
            assert_eq!(is_quantity(&s), quantity.is_match(&s), "quantity {s:?}");
        }
    }

    #[test]
    fn suggestions() {
        let known = ["environment", "environment_file", "labels", "lang"];
        assert_eq!(did_you_mean("enviroment", &known), Some("environment"));
        assert_eq!(did_you_mean("label", &known), Some("labels"));
        assert_eq!(did_you_mean("zzzzzz", &known), None);
    }
}
