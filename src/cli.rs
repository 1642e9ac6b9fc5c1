//! The command line, as clap derive types only. Names, aliases, flags and environment variables
//! follow faas-cli so scripts keep working after renaming the binary.

use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::stack::image::TagFormat;

mod api;
mod async_calls;
mod diff;
mod local_run;
mod publish;
mod queue;
pub use api::*;
pub use async_calls::{AsyncArgs, AsyncCallArgs, AsyncCommand, AsyncListArgs};
pub use diff::DiffArgs;
pub use local_run::LocalRunArgs;
pub use publish::{DEFAULT_PLATFORMS, MultiArchFlags, PublishArgs};
pub use queue::QueueFlags;

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

/// `--envsubst[=false]`: substitute `${VAR}` in the stack file (default true).
#[derive(Debug, Clone, Copy, Args)]
pub struct EnvsubstArg {
    /// Substitute ${VAR} environment variables in the stack file
    #[arg(long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", require_equals = true, value_name = "BOOL")]
    pub envsubst: bool,
}

/// `-j/--json` (faas-cli's flag) or `--output json`: print JSON for scripts.
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

/// The gateway to talk to and how to reach it.
///
/// `global` matters only where these flags sit on a command with subcommands (`namespace`): like
/// faas-cli's persistent flags they are then accepted after the subcommand too
/// (`rfaas namespace list -g URL`).
#[derive(Debug, Clone, Args)]
pub struct GatewayArgs {
    /// Gateway URL [default: stack provider.gateway, then $OPENFAAS_URL, then http://127.0.0.1:8080]
    #[arg(short = 'g', long, value_name = "URL", global = true)]
    pub gateway: Option<String>,
    /// Disable TLS certificate verification
    #[arg(long, global = true)]
    pub tls_no_verify: bool,
}

#[derive(Debug, Subcommand)]
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
    Gateway(LocalGatewayArgs),
}

const GENERATE_EXAMPLES: &str = "Examples:
  rfaas generate -f stack.yaml | kubectl apply -f -
  rfaas generate --namespace openfaas-fn --tag sha
  rfaas generate --api serving.knative.dev/v1 --filter 'api-*'";

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// API of the generated objects: openfaas.com/v1 or serving.knative.dev/v1
    #[arg(long, default_value = crate::kubernetes::OPENFAAS_API, value_name = "API")]
    pub api: String,
    /// Kubernetes namespace of the generated objects (the stack's namespace is not used, as in faas-cli)
    #[arg(short = 'n', long, default_value = "openfaas-fn")]
    pub namespace: String,
    /// Image tag: latest, sha, branch, describe or digest
    #[arg(long, default_value = "latest", value_parser = parse_tag)]
    pub tag: TagFormat,
    #[command(flatten)]
    pub envsubst: EnvsubstArg,
}

pub fn parse_tag(s: &str) -> Result<TagFormat, String> {
    s.parse()
}

const COMPLETION_EXAMPLES: &str = "Examples:
  rfaas completion bash > /etc/bash_completion.d/rfaas
  rfaas completion zsh > \"${fpath[1]}/_rfaas\"
  rfaas completion --shell fish > ~/.config/fish/completions/rfaas.fish";

#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell to generate completions for
    #[arg(value_enum, required_unless_present = "shell_flag", conflicts_with = "shell_flag")]
    pub shell: Option<Shell>,
    /// The shell, given as a flag as faas-cli takes it
    #[arg(long = "shell", value_enum, id = "shell_flag")]
    pub shell_flag: Option<Shell>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

const VERSION_EXAMPLES: &str = "Examples:
  rfaas version
  rfaas version --short-version
  rfaas version --json";

#[derive(Debug, Args)]
pub struct VersionArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub envsubst: EnvsubstArg,
    /// Print only the version number
    #[arg(long)]
    pub short_version: bool,
    #[command(flatten)]
    pub json: JsonArg,
    /// Accepted for faas-cli compatibility; rfaas never checks the Internet for updates
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false,
          default_missing_value = "true", require_equals = true, hide = true)]
    pub warn_update: bool,
}

const LOGIN_EXAMPLES: &str = "Examples:
  cat password.txt | rfaas login --password-stdin
  rfaas login --gateway https://openfaas.example.com -u admin --password-stdin < password.txt
  CI=true rfaas login -g http://127.0.0.1:8080 -s < password.txt   # writes ./.openfaas/config.yml
  rfaas login --local                 # rfaas's own gateway, credentials from its state directory";

#[derive(Debug, Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub gateway: GatewayArgs,
    /// Gateway username
    #[arg(short = 'u', long, default_value = "admin")]
    pub username: String,
    /// Gateway password (prefer --password-stdin: a flag is visible to other users in `ps`)
    #[arg(short = 'p', long, conflicts_with = "password_stdin")]
    pub password: Option<String>,
    /// Read the password from stdin
    #[arg(short = 's', long)]
    pub password_stdin: bool,
    /// Timeout for the credential check
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Log in to rfaas's local gateway with the credentials in its state directory
    #[arg(long, conflicts_with_all = ["password", "password_stdin"])]
    pub local: bool,
    /// The local gateway's state directory (with --local) [default: ~/.rfaas/gateway]
    #[arg(long, value_name = "DIR", requires = "local")]
    pub state_dir: Option<std::path::PathBuf>,
}

const LOGOUT_EXAMPLES: &str = "Examples:
  rfaas logout
  rfaas logout --gateway https://openfaas.example.com";

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Gateway URL [default: $OPENFAAS_URL, then http://127.0.0.1:8080]
    #[arg(short = 'g', long, value_name = "URL")]
    pub gateway: Option<String>,
}

/// A duration above zero.
fn parse_positive_duration(s: &str) -> Result<Duration, String> {
    match parse_duration(s)? {
        d if d.is_zero() => Err(format!("invalid duration \"{s}\": must be more than 0")),
        d => Ok(d),
    }
}

/// Go-style durations (`5s`, `1m30s`, `500ms`) or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(s).map_err(|e| format!("invalid duration \"{s}\": {e}"))
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
    fn global_flags_work_after_the_subcommand() {
        let cli = Cli::try_parse_from(["rfaas", "generate", "-f", "x.yml", "--filter", "a*"]).unwrap();
        assert_eq!(cli.global.yaml.as_deref(), Some("x.yml"));
        assert_eq!(cli.global.filter.as_deref(), Some("a*"));
    }
}

// ---------------------------------------------------------------------------------------------
// Build, push, scaffolding, templates and registry login.

/// `KEY=VALUE` for `--build-arg` / `--build-label`.
pub fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("\"{s}\" is not in KEY=VALUE form")),
    }
}

/// `--parallel N`, N > 0.
pub fn parse_parallel(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("the --parallel flag must be greater than 0".to_string()),
    }
}

/// `--overwrite[=false]`: replace templates that already exist (default true).
#[derive(Debug, Clone, Copy, Args)]
pub struct OverwriteArg {
    /// Overwrite existing templates in ./template when pulling
    #[arg(long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", require_equals = true, value_name = "BOOL")]
    pub overwrite: bool,
}

/// Flags that shape how images are built.
#[derive(Debug, Clone, Args)]
pub struct BuildFlags {
    /// Add a Docker build-arg (repeatable; ADDITIONAL_PACKAGE values are merged)
    #[arg(short = 'b', long = "build-arg", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub build_args: Vec<(String, String)>,
    /// Select a build option from the template's template.yml, e.g. dev (repeatable)
    #[arg(short = 'o', long = "build-option", value_name = "NAME")]
    pub build_options: Vec<String>,
    /// Add a label to the image (repeatable)
    #[arg(long = "build-label", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub build_labels: Vec<(String, String)>,
    /// Extra path (inside the project) copied into every function's build context (repeatable)
    #[arg(long = "copy-extra", value_name = "PATH")]
    pub copy_extra: Vec<String>,
    /// Do not use Docker's build cache (always rebuilds)
    #[arg(long)]
    pub no_cache: bool,
    /// Pull newer base images during the build (always rebuilds)
    #[arg(long)]
    pub pull: bool,
    /// Squash the image layers (needs an engine with experimental features)
    #[arg(long)]
    pub squash: bool,
    /// Ignore the stack's configuration.templates when looking for templates
    #[arg(long)]
    pub disable_stack_pull: bool,
    #[command(flatten)]
    pub overwrite: OverwriteArg,
    /// Accepted for faas-cli compatibility
    #[arg(long, hide = true)]
    pub debug: bool,
}

const BUILD_EXAMPLES: &str = "Examples:
  rfaas build
  rfaas build -f stack.yaml --parallel 4 --filter 'api-*'
  rfaas build --build-option dev --build-arg ADDITIONAL_PACKAGE=jq
  rfaas build --shrinkwrap            # only write ./build/<fn>/
  rfaas build --force --tag sha       # rebuild even when nothing changed";

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub flags: BuildFlags,
    /// Only assemble ./build/<fn>/ (the Docker build context) and stop
    #[arg(long)]
    pub shrinkwrap: bool,
    /// Build even when the image is already built from the same files and arguments
    #[arg(long)]
    pub force: bool,
    /// Build this many functions at the same time
    #[arg(long, default_value_t = 1, value_parser = parse_parallel, value_name = "N")]
    pub parallel: usize,
    /// Hide Docker's build output (failures still show the last lines)
    #[arg(long)]
    pub quiet: bool,
    /// Image tag: latest, sha, branch, describe or digest
    #[arg(long, default_value = "latest", value_parser = parse_tag)]
    pub tag: TagFormat,
    #[command(flatten)]
    pub envsubst: EnvsubstArg,
    /// Without a stack file: image to build
    #[arg(long)]
    pub image: Option<String>,
    /// Without a stack file: handler directory
    #[arg(long)]
    pub handler: Option<String>,
    /// Without a stack file: function name
    #[arg(long)]
    pub name: Option<String>,
    /// Without a stack file: language template
    #[arg(long)]
    pub lang: Option<String>,
}

const PUSH_EXAMPLES: &str = "Examples:
  rfaas push
  rfaas push -f stack.yaml --parallel 4 --filter 'api-*'
  DOCKER_CONFIG=./credentials rfaas push    # use credentials from `rfaas registry-login`";

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Push this many images at the same time
    #[arg(long, default_value_t = 1, value_parser = parse_parallel, value_name = "N")]
    pub parallel: usize,
    /// Hide the per-layer output
    #[arg(long)]
    pub quiet: bool,
    /// Image tag: latest, sha, branch, describe or digest
    #[arg(long, default_value = "latest", value_parser = parse_tag)]
    pub tag: TagFormat,
    #[command(flatten)]
    pub envsubst: EnvsubstArg,
}

const NEW_EXAMPLES: &str = "Examples:
  rfaas new hello --lang python3-http --prefix 127.0.0.1:5000/team
  rfaas new api --lang node18 --append stack.yaml
  rfaas new --list";

#[derive(Debug, Args)]
pub struct NewArgs {
    /// Name of the new function (a-z, 0-9 and dashes)
    pub name: Option<String>,
    /// Language template to use (asked for on a terminal when missing)
    #[arg(long)]
    pub lang: Option<String>,
    /// Append the function to this existing stack file instead of writing stack.yaml
    #[arg(short = 'a', long, value_name = "FILE")]
    pub append: Option<String>,
    /// Image prefix, e.g. a registry and user
    #[arg(short = 'p', long, env = crate::env_vars::OPENFAAS_PREFIX, value_name = "PREFIX")]
    pub prefix: Option<String>,
    /// Directory the handler is written to [default: ./NAME]
    #[arg(long, value_name = "DIR")]
    pub handler: Option<String>,
    /// Gateway URL written into a new stack file
    #[arg(short = 'g', long, env = crate::env_vars::OPENFAAS_URL, default_value = "http://127.0.0.1:8080")]
    pub gateway: String,
    #[command(flatten)]
    pub resources: ResourceFlags,
    /// Do not print the template's notes
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// List the available languages
    #[arg(long)]
    pub list: bool,
}

const TEMPLATE_EXAMPLES: &str = "Examples:
  rfaas template pull https://github.com/openfaas/templates#1.0
  rfaas template pull stack
  rfaas template store list --recommended
  rfaas template store pull golang-middleware";

#[derive(Debug, Args)]
pub struct TemplateArgs {
    #[command(subcommand)]
    pub command: TemplateCommand,
}

#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Download templates from a git repository (or directory) into ./template/; `stack` pulls
    /// the stack's configuration.templates
    #[command(after_help = TEMPLATE_PULL_EXAMPLES)]
    Pull(TemplatePullArgs),
    /// Browse and pull templates from the template store
    #[command(after_help = TEMPLATE_EXAMPLES)]
    Store(TemplateStoreArgs),
}

const TEMPLATE_PULL_EXAMPLES: &str = "Examples:
  rfaas template pull                                          # $OPENFAAS_TEMPLATE_URL or openfaas/templates
  rfaas template pull https://github.com/openfaas/templates#1.0   # written as template/<lang>@1.0
  rfaas template pull git@github.com:me/templates.git#sha-90ff40b
  rfaas template pull ../my-templates --overwrite=false
  rfaas template pull stack";

#[derive(Debug, Args)]
pub struct TemplatePullArgs {
    /// Git URL (optionally #ref or #sha-<hex>), local directory, or `stack`
    #[arg(value_name = "REPOSITORY[#REF]|stack")]
    pub repository: Option<String>,
    #[command(flatten)]
    pub overwrite: OverwriteArg,
    /// Keep the temporary clone and print where it is
    #[arg(long)]
    pub debug: bool,
}

#[derive(Debug, Args)]
pub struct TemplateStoreArgs {
    #[command(subcommand)]
    pub command: TemplateStoreCommand,
}

/// `--url`: the template store, a URL or a local JSON file.
#[derive(Debug, Clone, Args)]
pub struct StoreUrlArg {
    /// Template store JSON (http(s) URL or file)
    #[arg(short = 'u', long, env = crate::env_vars::OPENFAAS_TEMPLATE_STORE_URL,
          default_value = crate::template::store::DEFAULT_STORE_URL, value_name = "URL|FILE")]
    pub url: String,
}

#[derive(Debug, Subcommand)]
pub enum TemplateStoreCommand {
    /// List the store's templates for a platform
    #[command(
        visible_alias = "ls",
        after_help = "Examples:\n  rfaas template store list --verbose\n  rfaas template store ls --official --json"
    )]
    List(TemplateStoreListArgs),
    /// Show one store template
    #[command(visible_alias = "inspect", after_help = "Examples:\n  rfaas template store describe golang-http")]
    Describe(TemplateStoreDescribeArgs),
    /// Pull the repository that holds a store template (NAME, NAME@REF or SOURCE/NAME)
    #[command(
        after_help = "Examples:\n  rfaas template store pull golang-http\n  rfaas template store pull node22@1.0"
    )]
    Pull(TemplateStorePullArgs),
}

#[derive(Debug, Args)]
pub struct TemplateStoreListArgs {
    #[command(flatten)]
    pub url: StoreUrlArg,
    /// Also show the language and platform columns
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Platform to list templates for
    #[arg(short = 'p', long, default_value = "x86_64")]
    pub platform: String,
    /// Only recommended templates
    #[arg(short = 'r', long)]
    pub recommended: bool,
    /// Only official templates
    #[arg(short = 'o', long)]
    pub official: bool,
    /// Print JSON
    #[arg(short = 'j', long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TemplateStoreDescribeArgs {
    /// Template name
    pub name: String,
    #[command(flatten)]
    pub url: StoreUrlArg,
    /// Print JSON
    #[arg(short = 'j', long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TemplateStorePullArgs {
    /// Template name, NAME@REF or SOURCE/NAME
    pub name: String,
    #[command(flatten)]
    pub url: StoreUrlArg,
    #[command(flatten)]
    pub overwrite: OverwriteArg,
    /// Keep the temporary clone and print where it is
    #[arg(long)]
    pub debug: bool,
}

const REGISTRY_LOGIN_EXAMPLES: &str = "Examples:
  rfaas registry-login --server 127.0.0.1:5000 -u me --password-stdin < password.txt
  DOCKER_CONFIG=./credentials rfaas push    # push with the credentials just written
  rfaas registry-login --ecr --account-id 123456789012 --region eu-west-1";

#[derive(Debug, Args)]
pub struct RegistryLoginArgs {
    /// Registry username
    #[arg(short = 'u', long)]
    pub username: Option<String>,
    /// Registry password (prefer --password-stdin)
    #[arg(long, conflicts_with = "password_stdin")]
    pub password: Option<String>,
    /// Read the password from stdin
    #[arg(short = 's', long)]
    pub password_stdin: bool,
    /// Registry server
    #[arg(long, default_value = crate::docker::auth::DOCKER_HUB)]
    pub server: String,
    /// Directory config.json is written to (use it with DOCKER_CONFIG=<dir>)
    #[arg(long, default_value = "./credentials", value_name = "DIR")]
    pub config_dir: String,
    /// Write an Amazon ECR credential-helper config instead (needs --account-id and --region)
    #[arg(long, requires_all = ["account_id", "region"])]
    pub ecr: bool,
    /// AWS account id (with --ecr)
    #[arg(long)]
    pub account_id: Option<String>,
    /// AWS region (with --ecr)
    #[arg(long)]
    pub region: Option<String>,
}

const LOCAL_GATEWAY_EXAMPLES: &str = "Examples:
  rfaas gateway                       # foreground on http://127.0.0.1:8080
  rfaas gateway start --port 0        # background, on a free port; prints the URL
  rfaas gateway start --max-connections 4096 --idle-timeout 30s
  rfaas gateway status
  rfaas gateway stop
  rfaas login -g http://127.0.0.1:8080 --password-stdin < ~/.rfaas/gateway/basic-auth-password";

/// `rfaas gateway [start|stop|status]`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LocalGatewayArgs {
    #[command(subcommand)]
    pub action: Option<LocalGatewayAction>,
    #[command(flatten)]
    pub serve: LocalGatewayServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum LocalGatewayAction {
    /// Start the gateway in the background and wait until it answers
    Start(LocalGatewayServeArgs),
    /// Stop the background gateway (SIGTERM) and wait for it to exit; functions keep running
    Stop(LocalGatewayStateArgs),
    /// Show whether the gateway is running, and its URL
    Status(LocalGatewayStateArgs),
}

/// Where and how the local gateway listens.
#[derive(Debug, Clone, Args)]
pub struct LocalGatewayServeArgs {
    /// Port to listen on (0 picks a free one; the URL is written to <state-dir>/gateway.json)
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    #[command(flatten)]
    pub state: LocalGatewayStateArgs,
    /// How long to wait for a function's response headers before answering 504
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub upstream_timeout: Duration,
    /// How long a new replica has to pass its health check (GET /_/health)
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub health_timeout: Duration,
    #[command(flatten)]
    pub connections: GatewayConnectionArgs,
    #[command(flatten)]
    pub queue: QueueFlags,
}

/// Bounds on the gateway's inbound connections, so no client can hold them all.
#[derive(Debug, Clone, Args)]
pub struct GatewayConnectionArgs {
    /// Close a connection whose request head has not arrived this long after its first byte
    #[arg(long, default_value = "10s", value_parser = parse_positive_duration)]
    pub header_read_timeout: Duration,
    /// Close a connection that waits this long for its client (kept alive between requests, or
    /// stalled in a request body)
    #[arg(long, default_value = "60s", value_parser = parse_positive_duration)]
    pub idle_timeout: Duration,
    /// About how many connections may be open; at the bound, those waiting longest for their
    /// client are closed to make room, and only when all are busy is a new one refused (503)
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
}

impl GatewayConnectionArgs {
    /// The same settings as flags, for `gateway start` to pass to the background gateway.
    pub fn to_args(&self) -> Vec<String> {
        // Whole milliseconds: the duration parser takes `1500ms`, not `1.5s`.
        vec![
            format!("--header-read-timeout={}ms", self.header_read_timeout.as_millis()),
            format!("--idle-timeout={}ms", self.idle_timeout.as_millis()),
            format!("--max-connections={}", self.max_connections),
        ]
    }
}

/// The gateway's state directory.
#[derive(Debug, Clone, Args)]
pub struct LocalGatewayStateArgs {
    /// State directory: credentials, functions, secrets, queue [default: ~/.rfaas/gateway]
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<std::path::PathBuf>,
}

/// `--cpu-limit`, `--cpu-request`, `--memory-limit`, `--memory-request` (Kubernetes quantities),
/// shared by `new` (written into the stack file) and `deploy` (without a stack file).
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
