//! Names the gateway accepts: functions and namespaces are DNS-1123 labels, secrets are DNS-1123
//! subdomains without `/` or `..`, and `name.namespace` splits at the last dot as OpenFaaS does.
//! Every name that reaches the filesystem or Docker passes through here first.

use std::fmt;

use crate::openfaas::types::DEFAULT_NAMESPACE;

/// A function's identity: its namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FnKey {
    pub namespace: String,
    pub name: String,
}

impl FnKey {
    pub fn new(name: &str, namespace: &str) -> FnKey {
        let namespace = if namespace.is_empty() { DEFAULT_NAMESPACE } else { namespace };
        FnKey { namespace: namespace.to_string(), name: name.to_string() }
    }

    /// Parses `name` or `name.namespace` (the namespace is the text after the last dot).
    pub fn parse_qualified(text: &str) -> FnKey {
        match text.rsplit_once('.') {
            Some((name, ns)) => FnKey::new(name, ns),
            None => FnKey::new(text, ""),
        }
    }
}

impl fmt::Display for FnKey {
    /// `name.namespace`, the form metrics and error messages use.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.name, self.namespace)
    }
}

/// True for a DNS-1123 label: 1-63 of `[a-z0-9-]`, starting and ending with a letter or digit.
pub fn is_dns1123_label(s: &str) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

/// True for a DNS-1123 subdomain: dot-separated labels, 253 characters at most.
pub fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns1123_label)
}

/// Checks a function name; the error is the message for a 400.
pub fn check_function(name: &str) -> Result<(), String> {
    if is_dns1123_label(name) {
        Ok(())
    } else {
        Err(format!(
            "invalid function name {name:?}: use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit"
        ))
    }
}

/// Checks a namespace name; the error is the message for a 400.
pub fn check_namespace(name: &str) -> Result<(), String> {
    if is_dns1123_label(name) {
        Ok(())
    } else {
        Err(format!("invalid namespace {name:?}: use a DNS-1123 label (lower-case letters, digits and '-')"))
    }
}

/// Checks a secret name; the error is the message for a 400.
pub fn check_secret(name: &str) -> Result<(), String> {
    if name.contains('/') || name.contains("..") || !is_dns1123_subdomain(name) {
        Err(format!("invalid secret name {name:?}: use lower-case letters, digits, '-' and '.', with no '/' or '..'"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert!(is_dns1123_label("figlet"));
        assert!(is_dns1123_label("a-1"));
        for bad in ["", "-a", "a-", "A", "a_b", "a.b", &"x".repeat(64)] {
            assert!(!is_dns1123_label(bad), "{bad}");
        }
    }

    #[test]
    fn secrets_reject_traversal() {
        assert!(check_secret("api-key").is_ok());
        assert!(check_secret("db.password").is_ok());
        for bad in ["../etc", "a/b", "a..b", ".", "..", "", "UP"] {
            assert!(check_secret(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn qualified_names_split_at_the_last_dot() {
        assert_eq!(FnKey::parse_qualified("figlet"), FnKey::new("figlet", "openfaas-fn"));
        assert_eq!(FnKey::parse_qualified("figlet.dev"), FnKey::new("figlet", "dev"));
        assert_eq!(FnKey::parse_qualified("a.b.dev"), FnKey::new("a.b", "dev"));
        assert_eq!(FnKey::new("f", "dev").to_string(), "f.dev");
    }
}
