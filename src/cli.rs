//! The command line, as clap derive types only. Names, aliases, flags and environment variables
//! follow faas-cli so scripts keep working after renaming the binary.

use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::stack::image::TagFormat;

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

/// The gateway to talk to and how to reach it.
#[derive(Debug, Clone, Args)]
pub struct GatewayArgs {
    /// Gateway URL [default: stack provider.gateway, then $OPENFAAS_URL, then http://127.0.0.1:8080]
    #[arg(short = 'g', long, value_name = "URL")]
    pub gateway: Option<String>,
    /// Disable TLS certificate verification
    #[arg(long)]
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
    /// Print only the version number
    #[arg(long)]
    pub short_version: bool,
    /// Print the version as JSON
    #[arg(short = 'j', long)]
    pub json: bool,
    /// Accepted for faas-cli compatibility; rfaas never checks the Internet for updates
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false,
          default_missing_value = "true", require_equals = true, hide = true)]
    pub warn_update: bool,
}

const LOGIN_EXAMPLES: &str = "Examples:
  cat password.txt | rfaas login --password-stdin
  rfaas login --gateway https://openfaas.example.com -u admin --password-stdin < password.txt
  CI=true rfaas login -g http://127.0.0.1:8080 -s < password.txt   # writes ./.openfaas/config.yml";

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

const LOCAL_GATEWAY_EXAMPLES: &str = "Examples:
  rfaas gateway                       # foreground on http://127.0.0.1:8080
  rfaas gateway start --port 0        # background, on a free port; prints the URL
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
}

/// The gateway's state directory.
#[derive(Debug, Clone, Args)]
pub struct LocalGatewayStateArgs {
    /// State directory: credentials, functions, secrets, queue [default: ~/.rfaas/gateway]
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<std::path::PathBuf>,
}
