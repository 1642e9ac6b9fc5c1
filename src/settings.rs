//! Settings resolved once per invocation, with where each came from.
//!
//! [`resolve`] is the one place that decides which gateway a command talks to, which namespace it
//! uses, which credentials it sends and whether TLS is verified, with faas-cli's precedence:
//!
//! | setting     | precedence                                                              |
//! |-------------|-------------------------------------------------------------------------|
//! | gateway     | `--gateway` > stack `provider.gateway` > `$OPENFAAS_URL` > `http://127.0.0.1:8080` |
//! | namespace   | `--namespace` > the stack function's `namespace` > the gateway's default |
//! | credentials | `--token` > the config.yml entry for the gateway > none                 |
//! | TLS         | `--tls-no-verify`                                                       |
//!
//! It is pure (the environment and config.yml are read by the caller, once) so the precedence is
//! unit-tested as a table. Its [`Settings::warnings`] (plain HTTP to a remote gateway) are printed
//! once by [`crate::commands::Context::settings`], which every command uses, `login` included.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::config::{self, ConfigFile, Gateway, GatewaySource};
use crate::env_vars;
use crate::openfaas::Auth;
use crate::stack::Stack;

/// The environment variables rfaas reads, read once at start-up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    /// `$OPENFAAS_URL`.
    pub openfaas_url: Option<String>,
    /// `$OPENFAAS_TEMPLATE_STORE_URL`, else faas-cli's store.
    pub template_store_url: String,
    /// `$FAAS_DEBUG` is `1` or `true`: HTTP requests and the resolved settings go to stderr.
    pub debug: bool,
}

impl Environment {
    pub fn from_process() -> Environment {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Environment {
            openfaas_url: var(env_vars::OPENFAAS_URL),
            template_store_url: var(env_vars::OPENFAAS_TEMPLATE_STORE_URL)
                .unwrap_or_else(|| crate::template::store::DEFAULT_STORE_URL.to_string()),
            debug: var(env_vars::FAAS_DEBUG).is_some_and(|v| v == "1" || v == "true"),
        }
    }
}

/// The flags that take part in resolution (`None`/`false` where a command has no such flag).
#[derive(Debug, Clone, Copy, Default)]
pub struct Flags<'a> {
    pub gateway: Option<&'a str>,
    pub tls_no_verify: bool,
    pub token: Option<&'a str>,
    pub namespace: Option<&'a str>,
}

/// Everything [`resolve`] looks at.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    pub flags: Flags<'a>,
    pub stack: Option<&'a Stack>,
    pub env: &'a Environment,
    /// config.yml and its path; `None` when it was not read (a `--token` makes it unnecessary).
    pub config: Option<(&'a std::path::Path, &'a ConfigFile)>,
}

/// Where the credentials came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// `--token`.
    TokenFlag,
    /// The config.yml entry for the gateway (`basic` or `oauth2`).
    ConfigFile(PathBuf),
    /// Nothing: requests go without credentials.
    None,
}

/// Where the namespace came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamespaceSource {
    Flag,
    Stack,
    GatewayDefault,
}

/// The resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub gateway: Gateway,
    /// The stack file the gateway came from, when it did.
    pub stack_source: Option<String>,
    namespace_flag: Option<String>,
    /// Each stack function's `namespace:`, where it has one.
    stack_namespaces: BTreeMap<String, String>,
    pub auth: Auth,
    pub credentials: CredentialSource,
    pub tls_no_verify: bool,
    /// Printed once, by whoever resolved the settings.
    pub warnings: Vec<String>,
}

/// The warning for plain HTTP to a gateway that is not on this machine.
pub const UNENCRYPTED_WARNING: &str = "you are not using an encrypted connection to the gateway, consider using HTTPS";

/// Picks every setting by precedence.
pub fn resolve(inputs: Inputs<'_>) -> Settings {
    let from_stack = inputs.stack.and_then(|s| s.file.provider.gateway.as_deref());
    let gateway = config::resolve_gateway(inputs.flags.gateway, from_stack, inputs.env.openfaas_url.as_deref());
    let (auth, credentials) = match inputs.flags.token.filter(|t| !t.is_empty()) {
        Some(token) => (Auth::Bearer(token.to_string()), CredentialSource::TokenFlag),
        None => match inputs.config {
            Some((path, file)) => match Auth::from_config(file, &gateway.url) {
                Auth::None => (Auth::None, CredentialSource::None),
                auth => (auth, CredentialSource::ConfigFile(path.to_path_buf())),
            },
            None => (Auth::None, CredentialSource::None),
        },
    };
    let mut warnings = Vec::new();
    if is_unencrypted_remote(&gateway.url) {
        warnings.push(UNENCRYPTED_WARNING.to_string());
    }
    let stack_namespaces = inputs
        .stack
        .map(|s| s.functions().filter_map(|f| Some((f.name.clone(), f.namespace.clone()?))).collect())
        .unwrap_or_default();
    Settings {
        stack_source: (gateway.source == GatewaySource::Stack)
            .then(|| inputs.stack.map(|s| s.source.clone()))
            .flatten(),
        gateway,
        namespace_flag: inputs.flags.namespace.map(str::to_string),
        stack_namespaces,
        auth,
        credentials,
        tls_no_verify: inputs.flags.tls_no_verify,
        warnings,
    }
}

/// `http://` to anything but this machine.
pub fn is_unencrypted_remote(url: &str) -> bool {
    let local = ["http://127.", "http://localhost", "http://[::1]"].iter().any(|p| url.starts_with(p));
    url.starts_with("http://") && !local
}

impl Settings {
    /// The namespace for `function`: `-n` > the stack function's `namespace` > empty (the
    /// gateway's default), and where it came from.
    pub fn namespace_for(&self, function: &str) -> (String, NamespaceSource) {
        if let Some(ns) = &self.namespace_flag {
            return (ns.clone(), NamespaceSource::Flag);
        }
        match self.stack_namespaces.get(function) {
            Some(ns) => (ns.clone(), NamespaceSource::Stack),
            None => (String::new(), NamespaceSource::GatewayDefault),
        }
    }

    /// `-n`, or empty for the gateway's default (for commands not about one stack function).
    pub fn namespace(&self) -> String {
        self.namespace_flag.clone().unwrap_or_default()
    }

    /// "gateway URL (from ...)", for debug output and hints.
    pub fn gateway_provenance(&self) -> String {
        let from = match self.gateway.source {
            GatewaySource::Flag => "from --gateway".to_string(),
            GatewaySource::Stack => {
                format!("from provider.gateway in {}", self.stack_source.as_deref().unwrap_or("the stack file"))
            }
            GatewaySource::Env => format!("from ${}", env_vars::OPENFAAS_URL),
            GatewaySource::Default => "the default".to_string(),
        };
        format!("gateway {} ({from})", self.gateway.url)
    }

    /// "credentials from ...", for debug output.
    pub fn credentials_provenance(&self) -> String {
        match &self.credentials {
            CredentialSource::TokenFlag => "credentials from --token".to_string(),
            CredentialSource::ConfigFile(path) => format!("credentials from {}", path.display()),
            CredentialSource::None => "no credentials".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(gateway: Option<&str>, namespaced: &[(&str, &str)]) -> Stack {
        let mut file = crate::stack::StackFile::default();
        file.provider.gateway = gateway.map(str::to_string);
        for (name, ns) in namespaced {
            let f = crate::stack::Function {
                name: name.to_string(),
                namespace: Some(ns.to_string()),
                ..Default::default()
            };
            file.functions.insert(name.to_string(), f);
        }
        Stack { source: "stack.yml".into(), file, file_environment: Default::default(), warnings: Vec::new() }
    }

    #[test]
    fn gateway_provenance_follows_precedence() {
        let env = Environment { openfaas_url: Some("http://env:3".into()), ..Default::default() };
        let no_env = Environment::default();
        let s = stack(Some("http://stack:2"), &[]);
        let flag = Flags { gateway: Some("http://flag:1"), ..Default::default() };
        let cases: [(Flags, Option<&Stack>, &Environment, &str); 4] = [
            (flag, Some(&s), &env, "gateway http://flag:1 (from --gateway)"),
            (Flags::default(), Some(&s), &env, "gateway http://stack:2 (from provider.gateway in stack.yml)"),
            (Flags::default(), None, &env, "gateway http://env:3 (from $OPENFAAS_URL)"),
            (Flags::default(), None, &no_env, "gateway http://127.0.0.1:8080 (the default)"),
        ];
        for (flags, stack, env, want) in cases {
            let got = resolve(Inputs { flags, stack, env, config: None });
            assert_eq!(got.gateway_provenance(), want);
        }
    }

    #[test]
    fn credentials_token_beats_config_which_beats_none() {
        let env = Environment::default();
        let mut file = ConfigFile::default();
        file.upsert(config::AuthConfig::basic("http://127.0.0.1:8080", "admin", "pw"));
        let path = std::path::Path::new("/cfg/config.yml");
        let token = Flags { token: Some("tok"), ..Default::default() };
        let got = resolve(Inputs { flags: token, stack: None, env: &env, config: Some((path, &file)) });
        assert_eq!((got.auth, got.credentials), (Auth::Bearer("tok".into()), CredentialSource::TokenFlag));
        let got = resolve(Inputs { flags: Flags::default(), stack: None, env: &env, config: Some((path, &file)) });
        assert_eq!(got.auth, Auth::Basic { user: "admin".into(), password: "pw".into() });
        assert_eq!(got.credentials_provenance(), "credentials from /cfg/config.yml");
        let other = Flags { gateway: Some("http://127.0.0.1:9999"), ..Default::default() };
        let got = resolve(Inputs { flags: other, stack: None, env: &env, config: Some((path, &file)) });
        assert_eq!((got.auth, got.credentials), (Auth::None, CredentialSource::None));
        let empty_token = Flags { token: Some(""), ..Default::default() };
        let got = resolve(Inputs { flags: empty_token, stack: None, env: &env, config: Some((path, &file)) });
        assert_eq!(got.credentials, CredentialSource::ConfigFile(path.to_path_buf()));
    }

    #[test]
    fn namespace_flag_beats_stack_which_beats_default() {
        let env = Environment::default();
        let s = stack(None, &[("a", "team")]);
        let got = resolve(Inputs { flags: Flags::default(), stack: Some(&s), env: &env, config: None });
        assert_eq!(got.namespace_for("a"), ("team".to_string(), NamespaceSource::Stack));
        assert_eq!(got.namespace_for("b"), (String::new(), NamespaceSource::GatewayDefault));
        let flags = Flags { namespace: Some("dev"), ..Default::default() };
        let got = resolve(Inputs { flags, stack: Some(&s), env: &env, config: None });
        assert_eq!(got.namespace_for("a"), ("dev".to_string(), NamespaceSource::Flag));
    }

    #[test]
    fn plain_http_warns_only_for_remote_gateways() {
        let env = Environment::default();
        for (url, warns) in [
            ("http://gw.example:8080", true),
            ("https://gw.example", false),
            ("http://127.0.0.1:8080", false),
            ("http://localhost:8080", false),
            ("http://[::1]:8080", false),
        ] {
            let flags = Flags { gateway: Some(url), ..Default::default() };
            let got = resolve(Inputs { flags, stack: None, env: &env, config: None });
            assert_eq!(!got.warnings.is_empty(), warns, "{url}");
        }
    }
}
