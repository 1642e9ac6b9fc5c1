//! The gateway URL rule and the credentials file shared with faas-cli.
//!
//! The gateway is picked, with provenance, by [`resolve_gateway`] (called by
//! [`crate::settings::resolve`], which resolves every setting): `--gateway` > stack
//! `provider.gateway` > `OPENFAAS_URL` > `http://127.0.0.1:8080`, then normalised the way faas-cli
//! does it (lower-cased, trailing `/` trimmed, `http://` added) so that credentials saved by either
//! tool are found by the other. Unlike faas-cli, an explicit `-g http://127.0.0.1:8080` wins over a
//! stack gateway.
//!
//! `config.yml` lives in `$OPENFAAS_CONFIG/`, else `./.openfaas/` when `CI` is `true`/`1`, else
//! `~/.openfaas/`; it is written with mode 0600 in faas-cli's exact layout.

use std::path::{Path, PathBuf};

use anyhow::Context;
use base64::Engine;

use crate::env_vars;
use crate::go_yaml::{self, Doc};
use crate::stack::limits;
use crate::stack::yaml_tree::{self, Node, Value};

/// The gateway used when nothing else names one.
pub const DEFAULT_GATEWAY: &str = "http://127.0.0.1:8080";

/// Where the resolved gateway came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewaySource {
    Flag,
    Stack,
    Env,
    Default,
}

/// A normalised gateway URL and its provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gateway {
    pub url: String,
    pub source: GatewaySource,
}

/// Picks the gateway by precedence and normalises it.
pub fn resolve_gateway(flag: Option<&str>, stack: Option<&str>, env: Option<&str>) -> Gateway {
    let pick = |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
    let (raw, source) = if let Some(v) = pick(flag) {
        (v, GatewaySource::Flag)
    } else if let Some(v) = pick(stack) {
        (v, GatewaySource::Stack)
    } else if let Some(v) = pick(env) {
        (v, GatewaySource::Env)
    } else {
        (DEFAULT_GATEWAY.to_string(), GatewaySource::Default)
    };
    Gateway { url: normalise_gateway(&raw), source }
}

/// faas-cli's normalisation: lower-case, trim trailing `/`, prepend `http://` when missing.
pub fn normalise_gateway(raw: &str) -> String {
    let lower = raw.trim().to_lowercase();
    let trimmed = lower.trim_end_matches('/');
    if trimmed.starts_with("http") { trimmed.to_string() } else { format!("http://{trimmed}") }
}

/// One `auths:` entry of config.yml.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthConfig {
    pub gateway: String,
    /// `basic` or `oauth2`.
    pub auth: String,
    pub token: String,
    /// `options:` name/value pairs, kept as read.
    pub options: Vec<(String, String)>,
}

impl AuthConfig {
    /// A `basic` entry for `user`/`password`.
    pub fn basic(gateway: &str, user: &str, password: &str) -> Self {
        AuthConfig {
            gateway: gateway.to_string(),
            auth: "basic".into(),
            token: base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")),
            options: Vec::new(),
        }
    }

    /// The user and password of a `basic` entry.
    pub fn basic_credentials(&self) -> Option<(String, String)> {
        if self.auth != "basic" {
            return None;
        }
        let bytes = base64::engine::general_purpose::STANDARD.decode(self.token.trim()).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (user, password) = text.split_once(':')?;
        Some((user.to_string(), password.to_string()))
    }
}

/// The whole config.yml.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigFile {
    pub auths: Vec<AuthConfig>,
}

impl ConfigFile {
    pub fn lookup(&self, gateway: &str) -> Option<&AuthConfig> {
        self.auths.iter().find(|a| a.gateway == gateway)
    }

    /// Replaces the entry for the same gateway, or appends one.
    pub fn upsert(&mut self, entry: AuthConfig) {
        match self.auths.iter_mut().find(|a| a.gateway == entry.gateway) {
            Some(existing) => *existing = entry,
            None => self.auths.push(entry),
        }
    }

    /// Removes the entry for `gateway`; false when there was none.
    pub fn remove(&mut self, gateway: &str) -> bool {
        let before = self.auths.len();
        self.auths.retain(|a| a.gateway != gateway);
        self.auths.len() != before
    }

    pub fn parse(text: &str, path: &Path) -> anyhow::Result<ConfigFile> {
        let root = yaml_tree::parse(text)
            .map_err(|e| anyhow::anyhow!("{}:{}:{}: {}", path.display(), e.mark.line, e.mark.col, e.message))?;
        let mut config = ConfigFile::default();
        let Some(Value::Sequence(items)) = root.as_ref().and_then(|r| r.get("auths")).map(|n| &n.value) else {
            return Ok(config);
        };
        for item in items {
            let text = |key: &str| item.get(key).and_then(Node::as_scalar).map(|s| s.text.clone()).unwrap_or_default();
            let options = match item.get("options").map(|n| &n.value) {
                Some(Value::Sequence(opts)) => opts
                    .iter()
                    .map(|o| {
                        let f =
                            |k: &str| o.get(k).and_then(Node::as_scalar).map(|s| s.text.clone()).unwrap_or_default();
                        (f("name"), f("value"))
                    })
                    .collect(),
                _ => Vec::new(),
            };
            config.auths.push(AuthConfig {
                gateway: text("gateway"),
                auth: text("auth"),
                token: text("token"),
                options,
            });
        }
        Ok(config)
    }

    /// faas-cli's layout (yaml.v3, 2-space indent, empty fields omitted).
    pub fn to_yaml(&self) -> String {
        let auths = self
            .auths
            .iter()
            .map(|a| {
                let mut fields = Vec::new();
                for (key, value) in [("gateway", &a.gateway), ("auth", &a.auth), ("token", &a.token)] {
                    if !value.is_empty() {
                        fields.push((key.to_string(), Doc::str(value.clone())));
                    }
                }
                if !a.options.is_empty() {
                    let opts = a
                        .options
                        .iter()
                        .map(|(n, v)| {
                            Doc::Map(vec![("name".into(), Doc::str(n.clone())), ("value".into(), Doc::str(v.clone()))])
                        })
                        .collect();
                    fields.push(("options".into(), Doc::Seq(opts)));
                }
                Doc::Map(fields)
            })
            .collect();
        go_yaml::to_string(&Doc::Map(vec![("auths".into(), Doc::Seq(auths))]))
    }
}

/// Where config.yml lives, from the environment and the working directory; `ci` is
/// [`crate::output::Terminal::ci`].
pub fn config_dir(cwd: &Path, ci: bool) -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os(env_vars::OPENFAAS_CONFIG).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    if ci {
        return Ok(cwd.join(".openfaas"));
    }
    let home = dirs::home_dir().context("cannot find the home directory; set OPENFAAS_CONFIG")?;
    Ok(home.join(".openfaas"))
}

pub fn config_path(cwd: &Path, ci: bool) -> anyhow::Result<PathBuf> {
    Ok(config_dir(cwd, ci)?.join("config.yml"))
}

/// Reads config.yml (a regular file within the YAML limits); a missing file is an empty config.
pub fn read_config(path: &Path) -> anyhow::Result<ConfigFile> {
    match limits::read(path, limits::Accept::RegularFiles) {
        Ok(text) => ConfigFile::parse(&text, path),
        Err(limits::ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Writes config.yml with mode 0600 (directory 0700, or 0744 under CI as faas-cli does),
/// through a temporary file so a crash never leaves a half-written file.
pub fn write_config(path: &Path, config: &ConfigFile, ci: bool) -> anyhow::Result<()> {
    let dir = path.parent().context("config path has no directory")?;
    if !dir.exists() {
        fs_err::create_dir_all(dir)?;
        set_mode(dir, if ci { 0o744 } else { 0o700 })?;
    }
    write_private(path, config.to_yaml().as_bytes())
}

/// Writes `bytes` to `path` with mode 0600 via a temporary file and rename.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    crate::private_files::write_private(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs_err::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_precedence_table() {
        use GatewaySource::*;
        type Case<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>, &'a str, GatewaySource);
        let cases: [Case; 8] = [
            (Some("http://flag:1"), Some("http://stack:2"), Some("http://env:3"), "http://flag:1", Flag),
            (None, Some("http://stack:2"), Some("http://env:3"), "http://stack:2", Stack),
            (None, None, Some("http://env:3"), "http://env:3", Env),
            (None, None, None, "http://127.0.0.1:8080", Default),
            (Some(""), Some(""), Some(""), "http://127.0.0.1:8080", Default),
            (Some("http://127.0.0.1:8080"), Some("http://stack:2"), None, "http://127.0.0.1:8080", Flag),
            (None, None, Some("gw.example:8080"), "http://gw.example:8080", Env),
            (Some("HTTP://LocalHost:18080/Prefix/"), None, None, "http://localhost:18080/prefix", Flag),
        ];
        for (flag, stack, env, url, source) in cases {
            assert_eq!(
                resolve_gateway(flag, stack, env),
                Gateway { url: url.into(), source },
                "{flag:?} {stack:?} {env:?}"
            );
        }
    }

    #[test]
    fn normalisation() {
        assert_eq!(normalise_gateway("https://GW.example/"), "https://gw.example");
        assert_eq!(normalise_gateway("127.0.0.1:8080//"), "http://127.0.0.1:8080");
    }

    #[test]
    fn config_yaml_matches_faas_cli_layout_and_round_trips() {
        let mut config = ConfigFile::default();
        config.upsert(AuthConfig::basic("http://127.0.0.1:18080", "admin", "s3cr3t"));
        let text = config.to_yaml();
        assert_eq!(text, "auths:\n  - gateway: http://127.0.0.1:18080\n    auth: basic\n    token: YWRtaW46czNjcjN0\n");
        let back = ConfigFile::parse(&text, Path::new("config.yml")).unwrap();
        assert_eq!(back, config);
        assert_eq!(
            back.lookup("http://127.0.0.1:18080").unwrap().basic_credentials(),
            Some(("admin".into(), "s3cr3t".into()))
        );
    }

    #[test]
    fn reads_faas_cli_compact_layout_and_oauth2_options() {
        let text = "auths:\n- gateway: https://gw\n  auth: oauth2\n  token: abc\n  options:\n  - name: client_id\n    value: x\n";
        let config = ConfigFile::parse(text, Path::new("c")).unwrap();
        assert_eq!(config.auths[0].options, vec![("client_id".to_string(), "x".to_string())]);
        assert_eq!(config.auths[0].basic_credentials(), None);
        assert!(ConfigFile::parse(&config.to_yaml(), Path::new("c")).unwrap() == config);
    }

    #[test]
    fn upsert_replaces_and_remove_deletes() {
        let mut config = ConfigFile::default();
        config.upsert(AuthConfig::basic("http://a", "u", "1"));
        config.upsert(AuthConfig::basic("http://b", "u", "2"));
        config.upsert(AuthConfig::basic("http://a", "u", "3"));
        assert_eq!(config.auths.len(), 2);
        assert_eq!(config.lookup("http://a").unwrap().basic_credentials().unwrap().1, "3");
        assert!(config.remove("http://a"));
        assert!(!config.remove("http://a"));
    }

    #[test]
    fn write_config_uses_mode_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("config.yml");
        write_config(&path, &ConfigFile::default(), false).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
