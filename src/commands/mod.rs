//! One module per command: each turns its flags into a call on the domain modules.

pub mod async_calls;
pub mod build;
pub mod chart;
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
pub mod plugin;
pub mod publish;
pub mod push;
pub mod ready;
pub mod registry_login;
pub mod remove;
pub mod secret;
pub mod secret_apply;
pub mod secret_seal;
pub mod store;
pub mod template;
pub mod up;
pub mod version;

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use crate::cli::{ApiArgs, GatewayArgs, GlobalArgs, NamespaceArg};
use crate::config;
use crate::openfaas::{Client, ClientError, ClientOptions};
use crate::output::Printer;
use crate::settings::{self, Environment, Flags, Settings};
use crate::stack::{LoadOptions, Stack};

/// How long one call to the gateway API may take, for the commands without a `--timeout` (faas-cli
/// uses the same 60 s).
pub const API_CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// What every command gets: the printer, the working directory, the global flags and the
/// environment, each built once in [`crate::run`].
pub struct Context {
    pub printer: Printer,
    pub cwd: PathBuf,
    pub global: GlobalArgs,
    pub environment: Environment,
    /// Where the gateway came from, once a command resolved it, for the hint of a failed call.
    gateway_provenance: Mutex<Option<String>>,
}

impl Context {
    pub fn new(printer: Printer, cwd: PathBuf, global: GlobalArgs, environment: Environment) -> Context {
        Context { printer, cwd, global, environment, gateway_provenance: Mutex::new(None) }
    }

    /// What operations get: the printer, the working directory and the environment.
    pub fn env(&self) -> crate::ops::Env<'_> {
        crate::ops::Env { printer: &self.printer, cwd: &self.cwd, environment: &self.environment }
    }

    fn load_options(&self, envsubst: bool) -> LoadOptions {
        LoadOptions {
            file: self.global.yaml.clone(),
            envsubst,
            filter: self.global.filter.clone(),
            regex: self.global.regex.clone(),
        }
    }

    /// Loads and validates the stack file named by `-f` (or discovered), showing its warnings.
    /// Call it once per invocation and pass the stack to every operation.
    pub async fn load_stack(&self, envsubst: bool) -> anyhow::Result<Stack> {
        let stack = crate::stack::load(&self.load_options(envsubst), &self.cwd).await?;
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

    /// Where config.yml is for this invocation.
    pub fn config_path(&self) -> anyhow::Result<PathBuf> {
        config::config_path(&self.cwd, self.printer.terminal().ci)
    }

    /// Reads config.yml (missing: empty).
    pub fn read_config(&self) -> anyhow::Result<(PathBuf, config::ConfigFile)> {
        let path = self.config_path()?;
        let file = config::read_config(&path)?;
        Ok((path, file))
    }

    /// Writes config.yml (mode 0600).
    pub fn write_config(&self, path: &std::path::Path, file: &config::ConfigFile) -> anyhow::Result<()> {
        config::write_config(path, file, self.printer.terminal().ci)
    }

    /// Resolves the settings ([`settings::resolve`]) and prints their warnings; with
    /// `FAAS_DEBUG=1` also where the gateway and credentials came from. config.yml is read only
    /// when `flags.token` does not already give credentials.
    pub fn settings(&self, flags: Flags<'_>, stack: Option<&Stack>) -> anyhow::Result<Settings> {
        let config = match flags.token.filter(|t| !t.is_empty()) {
            Some(_) => None,
            None => Some(self.read_config()?),
        };
        Ok(self.resolve(flags, stack, config))
    }

    /// [`Context::settings`] for a command that sends no gateway credentials (`invoke`, `login`):
    /// config.yml is not read.
    pub fn settings_without_credentials(&self, flags: Flags<'_>, stack: Option<&Stack>) -> Settings {
        self.resolve(flags, stack, None)
    }

    fn resolve(
        &self,
        flags: Flags<'_>,
        stack: Option<&Stack>,
        config: Option<(PathBuf, config::ConfigFile)>,
    ) -> Settings {
        let inputs = settings::Inputs {
            flags,
            stack,
            env: &self.environment,
            config: config.as_ref().map(|(path, file)| (path.as_path(), file)),
        };
        let resolved = settings::resolve(inputs);
        for warning in &resolved.warnings {
            self.printer.warn(warning);
        }
        if self.environment.debug {
            self.printer.status(&format!("{}, {}", resolved.gateway_provenance(), resolved.credentials_provenance()));
        }
        if let Ok(mut slot) = self.gateway_provenance.lock() {
            *slot = Some(resolved.gateway_provenance());
        }
        resolved
    }

    /// The settings for a command's gateway flags.
    fn api_settings(&self, api: &ApiArgs, namespace: Option<&str>, stack: Option<&Stack>) -> anyhow::Result<Settings> {
        self.settings(flags(&api.gateway, api.token.as_deref(), namespace), stack)
    }

    /// The settings for a command's gateway flags and `--namespace`, and a client for them
    /// whose calls may each take `timeout`.
    pub fn namespaced_client(
        &self,
        api: &ApiArgs,
        namespace: &NamespaceArg,
        stack: Option<&Stack>,
        timeout: Option<Duration>,
    ) -> anyhow::Result<(Settings, Client)> {
        let settings = self.api_settings(api, namespace.namespace.as_deref(), stack)?;
        let client = self.client_for(&settings, timeout)?;
        Ok((settings, client))
    }

    /// A client for resolved settings.
    pub fn client_for(&self, settings: &Settings, timeout: Option<Duration>) -> anyhow::Result<Client> {
        let opts = ClientOptions { tls_no_verify: settings.tls_no_verify, timeout, debug: self.environment.debug };
        Ok(Client::new(&settings.gateway.url, settings.auth.clone(), opts)?)
    }

    /// A client for the API commands, with the credentials saved for the resolved gateway
    /// (or `--token`).
    pub fn client(&self, api: &ApiArgs, stack: Option<&Stack>, timeout: Option<Duration>) -> anyhow::Result<Client> {
        let settings = self.api_settings(api, None, stack)?;
        self.client_for(&settings, timeout)
    }

    /// Hints to add to a failed command's error: where the gateway came from, when the failure
    /// was talking to it.
    pub fn error_hints(&self, err: &anyhow::Error) -> Vec<String> {
        let about_gateway = err.chain().any(|c| {
            matches!(
                c.downcast_ref::<ClientError>(),
                Some(ClientError::Unreachable { .. } | ClientError::Unauthorized { .. } | ClientError::Stalled(_))
            )
        });
        let provenance = self.gateway_provenance.lock().ok().and_then(|p| p.clone());
        match provenance {
            Some(p) if about_gateway => vec![format!("rfaas used the {p}")],
            _ => Vec::new(),
        }
    }
}

/// The settings flags from a command's gateway flags.
pub fn flags<'a>(gateway: &'a GatewayArgs, token: Option<&'a str>, namespace: Option<&'a str>) -> Flags<'a> {
    Flags { gateway: gateway.gateway.as_deref(), tls_no_verify: gateway.tls_no_verify, token, namespace }
}

/// A password from `--password` (with a warning), `--password-stdin`, or a prompt on a terminal;
/// an empty one is an error whose hint shows `example`.
pub fn read_password(flag: Option<&str>, from_stdin: bool, example: &str, ctx: &Context) -> anyhow::Result<String> {
    use std::io::Read;
    let password = if let Some(p) = flag {
        ctx.printer.warn("--password is visible to other users of this machine; prefer --password-stdin");
        p.trim().to_string()
    } else if from_stdin {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| anyhow::anyhow!("cannot read the password from stdin: {e}"))?;
        text.trim().to_string()
    } else if ctx.printer.can_prompt() {
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
