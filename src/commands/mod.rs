//! One module per command: each turns its flags into a call on the domain modules.

pub mod async_calls;
pub mod build;
pub mod completion;
pub mod deploy;
pub mod describe;
pub mod diff;
pub mod gateway;
pub mod generate;
pub mod invoke;
pub mod list;
pub mod local_run;
pub mod login;
pub mod logout;
pub mod logs;
pub mod namespace;
pub mod new;
pub mod publish;
pub mod push;
pub mod ready;
pub mod registry_login;
pub mod remove;
pub mod secret;
pub mod template;
pub mod up;
pub mod version;

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{ApiArgs, GatewayArgs, GlobalArgs};
use crate::config::{self, Gateway};
use crate::env_vars;
use crate::openfaas::{Auth, Client, ClientError, ClientOptions};
use crate::output::Printer;
use crate::stack::{LoadOptions, Stack};

/// What every command gets: the printer, the working directory and the global flags.
pub struct Context {
    pub printer: Printer,
    pub cwd: PathBuf,
    pub global: GlobalArgs,
}

impl Context {
    fn load_options(&self, envsubst: bool) -> LoadOptions {
        LoadOptions {
            file: self.global.yaml.clone(),
            envsubst,
            filter: self.global.filter.clone(),
            regex: self.global.regex.clone(),
        }
    }

    /// Loads and validates the stack file named by `-f` (or discovered), showing its warnings.
    pub async fn load_stack(&self, envsubst: bool) -> anyhow::Result<Stack> {
        let stack =
            crate::stack::load(&self.load_options(envsubst), &self.cwd).await.map_err(crate::error::stack_error)?;
        for warning in &stack.warnings {
            self.printer.warn(warning);
        }
        Ok(stack)
    }

    /// The stack for commands that only read its gateway and namespaces: an error when `-f` names
    /// a bad file; `None` when none is found; a warning (not a failure) when a discovered file is bad.
    pub async fn optional_stack(&self, envsubst: bool) -> anyhow::Result<Option<Stack>> {
        if self.global.yaml.is_some() {
            return self.load_stack(envsubst).await.map(Some);
        }
        if crate::stack::discover(None, &self.cwd).is_none() {
            return Ok(None);
        }
        match crate::stack::load(&self.load_options(envsubst), &self.cwd).await {
            Ok(stack) => Ok(Some(stack)),
            Err(e) => {
                self.printer.warn(&format!("ignoring the stack file in this directory: {e}"));
                Ok(None)
            }
        }
    }

    /// The gateway by precedence: `-g` > the stack's `provider.gateway` > `OPENFAAS_URL` > default.
    pub fn gateway(&self, args: &GatewayArgs, stack: Option<&Stack>) -> Gateway {
        let from_stack = stack.and_then(|s| s.file.provider.gateway.as_deref());
        let env = std::env::var(env_vars::OPENFAAS_URL).ok();
        let gateway = config::resolve_gateway(args.gateway.as_deref(), from_stack, env.as_deref());
        warn_if_unencrypted(&self.printer, &gateway.url);
        gateway
    }

    /// A client for the API commands, with the credentials saved for the resolved gateway
    /// (or `--token`).
    pub fn client(&self, api: &ApiArgs, stack: Option<&Stack>, timeout: Option<Duration>) -> anyhow::Result<Client> {
        let gateway = self.gateway(&api.gateway, stack);
        let auth = match &api.token {
            Some(token) if !token.is_empty() => Auth::Bearer(token.clone()),
            _ => {
                let path = config::config_path(&self.cwd)?;
                Auth::from_config(&config::read_config(&path)?, &gateway.url)
            }
        };
        let opts = ClientOptions { tls_no_verify: api.gateway.tls_no_verify, timeout };
        Client::new(&gateway.url, auth, opts).map_err(ClientError::into_anyhow)
    }
}

/// The plain-HTTP warning every command that talks to a remote gateway prints, `login` included.
pub fn warn_if_unencrypted(printer: &Printer, url: &str) {
    let local = ["http://127.", "http://localhost", "http://[::1]"].iter().any(|p| url.starts_with(p));
    if url.starts_with("http://") && !local {
        printer.warn("you are not using an encrypted connection to the gateway, consider using HTTPS");
    }
}

/// The namespace for a function: `-n` > the stack function's `namespace` > empty (gateway default).
pub fn namespace_for(flag: &Option<String>, stack: Option<&Stack>, function: &str) -> String {
    flag.clone()
        .or_else(|| stack.and_then(|s| s.file.functions.get(function)).and_then(|f| f.namespace.clone()))
        .unwrap_or_default()
}

/// A password from `--password` (with a warning), `--password-stdin`, or a prompt on a terminal;
/// an empty one is an error whose hint shows `example`.
pub fn read_password(flag: Option<&str>, from_stdin: bool, example: &str, ctx: &Context) -> anyhow::Result<String> {
    use std::io::{IsTerminal, Read};
    let password = if let Some(p) = flag {
        ctx.printer.warn("--password is visible to other users of this machine; prefer --password-stdin");
        p.trim().to_string()
    } else if from_stdin {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| anyhow::anyhow!("cannot read the password from stdin: {e}"))?;
        text.trim().to_string()
    } else if ctx.printer.is_interactive() && std::io::stdin().is_terminal() {
        dialoguer::Password::new().with_prompt("Password").interact()?
    } else {
        String::new()
    };
    if password.is_empty() {
        return Err(crate::error::with_hint(
            anyhow::anyhow!("must provide a non-empty password via --password or --password-stdin"),
            format!("pipe it in: `{example}`"),
        ));
    }
    Ok(password)
}
