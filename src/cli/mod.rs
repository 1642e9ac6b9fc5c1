//! The command line, as clap derive types only. Names, aliases, flags and environment variables
//! follow faas-cli so scripts keep working after renaming the binary.
//!
//! This file holds the root ([`Cli`], [`Command`]), the global flags and the small flag groups
//! many commands share; each command family's flags live beside it: [`api`] (commands that talk
//! to a gateway), `build` (build, push), `credentials` (login, logout, registry-login),
//! `generate` (generate, completion), `templates` (new, template), `gateway` (the local
//! gateway), `async_calls` and `queue`.
//!
//! Only the invoked command's flags are built ([`Command`] is `defer`red): building all of
//! them was a third of a short command's start-up (issue 13). Because a deferred command's flags
//! are added after its summary, a flag group's `///` comment would replace that summary (clap
//! takes an `Args` struct's doc comment as the command's about), so the `Args` structs below a
//! command carry plain `//` comments; `tests/it/output_snapshots.rs` checks the rendered help.

use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::openfaas::types::FunctionResources;
use crate::stack::image::TagFormat;

mod api;
mod async_calls;
mod build;
pub mod chart;
mod credentials;
mod diff;
mod gateway;
mod generate;
mod local_run;
pub mod plugin;
mod publish;
mod queue;
mod scaling;
pub mod secret_seal;
pub mod store;
mod templates;
pub use api::*;
pub use async_calls::{AsyncArgs, AsyncCallArgs, AsyncCommand, AsyncListArgs};
pub use build::*;
pub use credentials::*;
pub use diff::DiffArgs;
pub use gateway::*;
pub use generate::*;
pub use local_run::LocalRunArgs;
pub use publish::{DEFAULT_PLATFORMS, MultiArchFlags, PublishArgs};
pub use queue::QueueFlags;
pub use scaling::ScalingFlags;
pub use templates::*;

const ROOT_EXAMPLES: &str = "Examples:
  rfaas generate -f stack.yaml | kubectl apply -f -
  rfaas login --gateway http://127.0.0.1:8080 --password-stdin < password.txt
  rfaas completion bash > /etc/bash_completion.d/rfaas";

/// rfaas: build, ship and run OpenFaaS functions; a drop-in replacement for faas-cli.
#[derive(Debug, Parser)]
#[command(name = "rfaas", version, about, after_help = ROOT_EXAMPLES, arg_required_else_help = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts, as in faas-cli.
#[derive(Debug, Clone, Args, Default)]
pub struct GlobalArgs {
    /// Path or http(s) URL of the stack file [default: ./stack.yaml, then ./stack.yml]
    #[arg(short = 'f', long = "yaml", global = true, value_name = "PATH|URL")]
    pub yaml: Option<String>,
    /// Only functions whose names match this wildcard (`*` matches any run of characters)
    #[arg(long, global = true, value_name = "WILDCARD")]
    pub filter: Option<String>,
    /// Only functions whose names match this regular expression (unanchored)
    #[arg(long, global = true, value_name = "REGEX")]
    pub regex: Option<String>,
}

// `--envsubst[=false]`: substitute `${VAR}` in the stack file (default true).
#[derive(Debug, Clone, Copy, Args)]
pub struct EnvsubstArg {
    /// Substitute ${VAR} environment variables in the stack file
    #[arg(long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", require_equals = true, value_name = "BOOL")]
    pub envsubst: bool,
}

// `--tag`: how the image name's tag is made.
#[derive(Debug, Clone, Copy, Args)]
pub struct TagArg {
    /// Image tag: latest, sha, branch, describe or digest
    #[arg(long, default_value = "latest", value_parser = parse_tag)]
    pub tag: TagFormat,
}

// `-j/--json` (faas-cli's flag) or `--output json`: print JSON for scripts.
#[derive(Debug, Clone, Copy, Args)]
pub struct JsonArg {
    /// Print JSON (same as --output json)
    #[arg(short = 'j', long)]
    pub json: bool,
    /// Output format
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "text")]
    pub output: crate::output::Format,
}

impl JsonArg {
    pub fn is_json(&self) -> bool {
        self.json || self.output == crate::output::Format::Json
    }
}

// The gateway to talk to and how to reach it.
//
// `global` matters only where these flags sit on a command with subcommands (`namespace`): like
// faas-cli's persistent flags they are then accepted after the subcommand too
// (`rfaas namespace list -g URL`).
#[derive(Debug, Clone, Args)]
pub struct GatewayArgs {
    /// Gateway URL [default: stack provider.gateway, then $OPENFAAS_URL, then http://127.0.0.1:8080]
    #[arg(short = 'g', long, value_name = "URL", global = true)]
    pub gateway: Option<String>,
    /// Disable TLS certificate verification
    #[arg(long, global = true)]
    pub tls_no_verify: bool,
}

impl Cli {
    /// The output mode the command's flags ask for (`--json`/`--output json`, build/push/up
    /// `--quiet`), for the one printer built in [`crate::run`].
    pub fn output_mode(&self) -> crate::output::Mode {
        use crate::output::Mode;
        let json = |j: &JsonArg| if j.is_json() { Mode::Json } else { Mode::Human };
        let quiet = |q: bool| if q { Mode::Quiet } else { Mode::Human };
        match &self.command {
            Command::Version(a) => json(&a.json),
            Command::List(a) => json(&a.json),
            Command::Describe(a) => json(&a.json),
            Command::Diff(a) if a.output == crate::output::Format::Json => Mode::Json,
            Command::Secret(SecretArgs { command: SecretCommand::List(a) }) => json(&a.json),
            Command::Secret(SecretArgs { command: SecretCommand::Unseal(a) }) => json(&a.json),
            Command::Store(s) => match &s.command {
                store::StoreCommand::List(l) => json(&l.json),
                store::StoreCommand::Describe(d) => json(&d.json),
                store::StoreCommand::Deploy(_) => Mode::Human,
            },
            Command::Namespace(NamespaceArgs { command: NamespaceCommand::List { json: j }, .. }) => json(j),
            Command::Async(a) => match &a.command {
                AsyncCommand::List(l) => json(&l.json),
                AsyncCommand::Describe(c) | AsyncCommand::Retry(c) => json(&c.json),
            },
            Command::Template(TemplateArgs { command: TemplateCommand::Store(store) }) => match &store.command {
                TemplateStoreCommand::List(l) if l.json => Mode::Json,
                TemplateStoreCommand::Describe(d) if d.json => Mode::Json,
                _ => Mode::Human,
            },
            Command::Build(a) => quiet(a.quiet),
            Command::Push(a) => quiet(a.quiet),
            Command::Up(a) => quiet(a.quiet),
            _ => Mode::Human,
        }
    }
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Generate Kubernetes YAML (openfaas.com/v1 Function or Knative Service) from the stack file
    #[command(after_help = GENERATE_EXAMPLES)]
    Generate(GenerateArgs),
    /// Print a shell completion script (bash, zsh or fish)
    #[command(after_help = COMPLETION_EXAMPLES)]
    Completion(CompletionArgs),
    /// Print the rfaas version
    #[command(after_help = VERSION_EXAMPLES)]
    Version(VersionArgs),
    /// Save basic-auth credentials for a gateway in config.yml (shared with faas-cli)
    #[command(after_help = LOGIN_EXAMPLES)]
    Login(LoginArgs),
    /// Remove the saved credentials for a gateway
    #[command(after_help = LOGOUT_EXAMPLES)]
    Logout(LogoutArgs),
    /// Deploy the stack's functions (or one image given by flags) to a gateway
    #[command(after_help = DEPLOY_EXAMPLES)]
    Deploy(Box<DeployArgs>),
    /// List the functions deployed on a gateway
    #[command(alias = "ls", after_help = LIST_EXAMPLES)]
    List(ListArgs),
    /// Show one function's details
    #[command(after_help = DESCRIBE_EXAMPLES)]
    Describe(DescribeArgs),
    /// Remove a function, or every function in the stack file
    #[command(aliases = ["rm", "delete"], after_help = REMOVE_EXAMPLES)]
    Remove(RemoveArgs),
    /// Call a function with stdin as the request body
    #[command(after_help = INVOKE_EXAMPLES)]
    Invoke(InvokeArgs),
    /// Show or stream a function's logs
    #[command(after_help = LOGS_EXAMPLES)]
    Logs(LogsArgs),
    /// Manage secrets on a gateway
    #[command(after_help = SECRET_EXAMPLES)]
    Secret(SecretArgs),
    /// Manage namespaces on a gateway
    #[command(alias = "ns", after_help = NAMESPACE_EXAMPLES)]
    Namespace(NamespaceArgs),
    /// See and replay async calls on rfaas's gateway (records, dead-letter queue)
    #[command(after_help = async_calls::ASYNC_EXAMPLES)]
    Async(AsyncArgs),
    /// Wait until the gateway, or a function, is ready
    #[command(after_help = READY_EXAMPLES)]
    Ready(ReadyArgs),
    /// Build, push and deploy in one step (`--local`: to rfaas's own gateway, no registry)
    #[command(after_help = UP_EXAMPLES)]
    Up(Box<UpArgs>),
    /// Build the functions' container images (skips images already built from the same files)
    #[command(after_help = BUILD_EXAMPLES)]
    Build(BuildArgs),
    /// Push the functions' images to their registries
    #[command(after_help = PUSH_EXAMPLES)]
    Push(PushArgs),
    /// Build and push multi-platform images (one image index per function)
    #[command(after_help = publish::PUBLISH_EXAMPLES)]
    Publish(Box<PublishArgs>),
    /// Show what `deploy` would change on the gateway (exit 1 when something differs)
    #[command(after_help = diff::DIFF_EXAMPLES)]
    Diff(DiffArgs),
    /// Run one function in a container on the local engine, without a gateway
    #[command(after_help = local_run::LOCAL_RUN_EXAMPLES)]
    LocalRun(Box<LocalRunArgs>),
    /// Create a new function from a template and add it to a stack file
    #[command(after_help = NEW_EXAMPLES)]
    New(NewArgs),
    /// Pull templates and browse the template store
    #[command(after_help = TEMPLATE_EXAMPLES)]
    Template(TemplateArgs),
    /// Save registry credentials in a Docker config.json (default ./credentials)
    #[command(after_help = REGISTRY_LOGIN_EXAMPLES)]
    RegistryLogin(RegistryLoginArgs),
    /// Run the local OpenFaaS-compatible gateway (functions run as Docker containers)
    #[command(after_help = LOCAL_GATEWAY_EXAMPLES)]
    Gateway(Box<LocalGatewayArgs>),
    /// Render Helm charts into plain YAML files (needs `helm` on PATH)
    #[command(after_help = chart::CHART_EXAMPLES)]
    Chart(chart::ChartArgs),
    /// Download plugins; installed ones run as `rfaas NAME ARGS`
    #[command(after_help = plugin::PLUGIN_EXAMPLES)]
    Plugin(plugin::PluginArgs),
    /// Browse the function store and deploy its functions
    #[command(after_help = store::STORE_EXAMPLES)]
    Store(store::StoreArgs),
}

fn parse_tag(s: &str) -> Result<TagFormat, String> {
    s.parse()
}

/// A duration above zero.
fn parse_positive_duration(s: &str) -> Result<Duration, String> {
    match parse_duration(s)? {
        d if d.is_zero() => Err(format!("invalid duration \"{s}\": must be more than 0")),
        d => Ok(d),
    }
}

/// Go-style durations (`5s`, `1m30s`, `500ms`, `1.5s`, as faas-cli's flags take them), the longer
/// units `humantime` knows (`7d`), or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(s).or_else(|e| go_duration(s).ok_or_else(|| format!("invalid duration \"{s}\": {e}")))
}

/// A non-negative duration in Go's `time.ParseDuration` syntax, which allows fractions (`1.5s`).
fn go_duration(s: &str) -> Option<Duration> {
    let nanos = go_parse_duration::parse_duration(s).ok()?;
    u64::try_from(nanos).ok().map(Duration::from_nanos)
}

/// `KEY=VALUE` for `--build-arg` / `--build-label`.
pub fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("\"{s}\" is not in KEY=VALUE form")),
    }
}

// `--cpu-limit`, `--cpu-request`, `--memory-limit`, `--memory-request` (Kubernetes quantities),
// shared by `new` (written into the stack file) and `deploy` (without a stack file).
#[derive(Debug, Clone, Default, Args)]
pub struct ResourceFlags {
    /// CPU limit, e.g. 500m
    #[arg(long, value_name = "CPU")]
    pub cpu_limit: Option<String>,
    /// CPU request, e.g. 100m
    #[arg(long, value_name = "CPU")]
    pub cpu_request: Option<String>,
    /// Memory limit, e.g. 128Mi
    #[arg(long, value_name = "MEMORY")]
    pub memory_limit: Option<String>,
    /// Memory request, e.g. 64Mi
    #[arg(long, value_name = "MEMORY")]
    pub memory_request: Option<String>,
}

impl ResourceFlags {
    /// `--cpu-limit` and `--memory-limit`, when either is given.
    pub fn limits(&self) -> Option<FunctionResources> {
        FunctionResources::given(self.memory_limit.as_deref(), self.cpu_limit.as_deref())
    }

    /// `--cpu-request` and `--memory-request`, when either is given.
    pub fn requests(&self) -> Option<FunctionResources> {
        FunctionResources::given(self.memory_request.as_deref(), self.cpu_request.as_deref())
    }
}

/// The help heading of [`FunctionFlags`] and [`DeployedFunctionFlags`].
pub const WITHOUT_A_STACK_FILE: &str = "Without a stack file";

// One function described by flags instead of a stack file (`build`, `deploy`, `up`); shown
// under the heading the flattening command gives it.
#[derive(Debug, Clone, Default, Args)]
pub struct FunctionFlags {
    /// Function name
    #[arg(long)]
    pub name: Option<String>,
    /// Image name; --tag sha/branch/describe add the handler's git commit to its tag
    #[arg(long)]
    pub image: Option<String>,
    /// Language template (deploy reads fprocess from it)
    #[arg(long)]
    pub lang: Option<String>,
    /// Handler directory
    #[arg(long, value_name = "DIR")]
    pub handler: Option<String>,
}

impl FunctionFlags {
    /// Whether `--name` or `--image` asks for a function without a stack file.
    pub fn names_a_function(&self) -> bool {
        self.name.is_some() || self.image.is_some()
    }
}

// What `deploy` and `up` add for a function described by flags: its process and resources.
#[derive(Debug, Clone, Default, Args)]
pub struct DeployedFunctionFlags {
    #[command(flatten)]
    pub function: FunctionFlags,
    /// Process the function runs [default: the template's fprocess]
    #[arg(long)]
    pub fprocess: Option<String>,
    #[command(flatten)]
    pub resources: ResourceFlags,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1h0.5m"), Ok(Duration::from_secs(3630)));
        assert!(parse_duration("-1s").is_err(), "negative");
        assert!(parse_duration("1.5").is_err(), "a fraction needs a unit, as in Go");
    }

    #[test]
    fn envsubst_needs_equals_like_faas_cli() {
        let cli = Cli::try_parse_from(["rfaas", "generate", "--envsubst=false"]).unwrap();
        let Command::Generate(g) = cli.command else { panic!() };
        assert!(!g.envsubst.envsubst);
        let cli = Cli::try_parse_from(["rfaas", "generate", "--envsubst"]).unwrap();
        let Command::Generate(g) = cli.command else { panic!() };
        assert!(g.envsubst.envsubst);
    }

    #[test]
    fn deploy_and_up_read_the_same_function_flags() {
        let flags = ["--name", "f", "--image", "i:1", "--fprocess", "cat", "--cpu-request", "50m"];
        let up = Cli::try_parse_from(["rfaas", "up"].iter().chain(&flags)).unwrap();
        let deploy = Cli::try_parse_from(["rfaas", "deploy"].iter().chain(&flags)).unwrap();
        let (Command::Up(up), Command::Deploy(deploy)) = (up.command, deploy.command) else { panic!() };
        for f in [&up.function, &deploy.function] {
            assert!(f.function.names_a_function());
            assert_eq!((f.function.name.as_deref(), f.fprocess.as_deref()), (Some("f"), Some("cat")));
            assert_eq!(f.resources.limits(), None, "no limit flag given");
            let requests = f.resources.requests().unwrap();
            assert_eq!((requests.cpu.as_str(), requests.memory.as_str()), ("50m", ""));
        }
    }

    #[test]
    fn global_flags_work_after_the_subcommand() {
        let cli = Cli::try_parse_from(["rfaas", "generate", "-f", "x.yml", "--filter", "a*"]).unwrap();
        assert_eq!(cli.global.yaml.as_deref(), Some("x.yml"));
        assert_eq!(cli.global.filter.as_deref(), Some("a*"));
    }

    #[test]
    fn output_mode_comes_from_the_command_flags() {
        use crate::output::Mode;
        let mode = |args: &[&str]| Cli::try_parse_from(args).unwrap().output_mode();
        assert_eq!(mode(&["rfaas", "list", "--json"]), Mode::Json);
        assert_eq!(mode(&["rfaas", "list", "--output", "json"]), Mode::Json);
        assert_eq!(mode(&["rfaas", "list", "-q"]), Mode::Human, "list -q prints names, it is not --quiet");
        assert_eq!(mode(&["rfaas", "secret", "list", "-j"]), Mode::Json);
        assert_eq!(mode(&["rfaas", "namespace", "list", "--output", "json"]), Mode::Json);
        assert_eq!(mode(&["rfaas", "template", "store", "list", "--json"]), Mode::Json);
        assert_eq!(mode(&["rfaas", "build", "--quiet"]), Mode::Quiet);
        assert_eq!(mode(&["rfaas", "up", "--quiet"]), Mode::Quiet);
        assert_eq!(mode(&["rfaas", "deploy"]), Mode::Human);
    }

    #[test]
    fn every_parallel_flag_refuses_zero() {
        for command in ["build", "push", "up"] {
            let err = Cli::try_parse_from(["rfaas", command, "--parallel", "0"]).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation, "{command}");
            assert!(err.to_string().contains("the --parallel flag must be greater than 0"), "{command}");
        }
    }
}
