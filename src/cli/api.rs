//! Flags of the commands that talk to a gateway: deploy, list, describe, remove, invoke, logs,
//! secret, namespace, ready.

use std::time::Duration;

use clap::{ArgAction, Args, Subcommand};

use super::{DeployedFunctionFlags, EnvsubstArg, GatewayArgs, TagArg, WITHOUT_A_STACK_FILE, parse_duration};

// Gateway, TLS and token flags shared by the API commands.
#[derive(Debug, Clone, Args)]
pub struct ApiArgs {
    #[command(flatten)]
    pub gateway: GatewayArgs,
    /// Bearer token to send instead of the credentials saved by `rfaas login`
    #[arg(short = 'k', long, global = true)]
    pub token: Option<String>,
}

// The function a command acts on: `NAME`, or `--name NAME` as faas-cli also takes it.
#[derive(Debug, Clone, Args)]
pub struct FunctionNameArg {
    /// Function name
    #[arg(required_unless_present = "name_flag")]
    name: Option<String>,
    /// Function name, given as a flag as faas-cli also takes it
    #[arg(long = "name", id = "name_flag", value_name = "NAME", conflicts_with = "name")]
    name_flag: Option<String>,
}

impl FunctionNameArg {
    /// The function, from the argument or `--name`.
    pub fn function(&self) -> &str {
        self.name.as_deref().or(self.name_flag.as_deref()).unwrap_or_default()
    }
}

// `-n/--namespace`.
#[derive(Debug, Clone, Args)]
pub struct NamespaceArg {
    /// Namespace of the function [default: the stack's namespace, else the gateway's default]
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
}

fn bool_flag_default_true() -> bool {
    true
}

pub const DEPLOY_EXAMPLES: &str = "Examples:
  rfaas deploy -f stack.yaml
  rfaas deploy -f stack.yaml --filter 'api-*' --wait
  rfaas deploy --image ghcr.io/acme/figlet:0.1 --name figlet --env write_timeout=10s
  rfaas deploy --replace --update=false --tag sha";

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub namespace: NamespaceArg,
    #[command(flatten)]
    pub envsubst: EnvsubstArg,
    #[command(flatten)]
    pub tag: TagArg,
    #[command(flatten)]
    pub flags: DeployFlags,
    #[command(flatten, next_help_heading = WITHOUT_A_STACK_FILE)]
    pub function: DeployedFunctionFlags,
    /// Accepted for faas-cli compatibility; never sent
    #[arg(long, hide = true)]
    pub network: Option<String>,
}

// What `deploy` and `up` share: what is deployed and how.
#[derive(Debug, Clone, Args)]
pub struct DeployFlags {
    /// Set an environment variable (KEY=VALUE); wins over the stack's
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Set a label (KEY=VALUE); wins over the stack's
    #[arg(short = 'l', long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Set an annotation (KEY=VALUE); wins over the stack's
    #[arg(long = "annotation", value_name = "KEY=VALUE")]
    pub annotations: Vec<String>,
    /// Give the function access to a secret
    #[arg(long = "secret", value_name = "NAME")]
    pub secrets: Vec<String>,
    /// Add a placement constraint (ignored when the stack has `constraints:`)
    #[arg(long = "constraint")]
    pub constraints: Vec<String>,
    /// Force a read-only root filesystem
    #[arg(long)]
    pub readonly: bool,
    /// Update existing functions in place (PUT, then POST when missing)
    #[arg(long, default_value_t = bool_flag_default_true(), action = ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", require_equals = true, value_name = "BOOL")]
    pub update: bool,
    /// Delete and re-create existing functions
    #[arg(long)]
    pub replace: bool,
    /// Fill an empty fprocess from the function's template
    #[arg(long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", require_equals = true, value_name = "BOOL")]
    pub read_template: bool,
    /// Timeout for each call to the gateway API
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Wait until every deployed function has an available replica
    #[arg(long)]
    pub wait: bool,
}

pub const LIST_EXAMPLES: &str = "Examples:
  rfaas list
  rfaas list --verbose --sort invocations
  rfaas ls -q | xargs -n1 rfaas describe
  rfaas list --json | jq '.[].name'";

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub namespace: NamespaceArg,
    #[command(flatten)]
    pub envsubst: EnvsubstArg,
    /// Also show image and creation time
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Print only function names
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Sort by name, invocations or creation
    #[arg(long, default_value = "name")]
    pub sort: String,
    #[command(flatten)]
    pub json: super::JsonArg,
}

pub const DESCRIBE_EXAMPLES: &str = "Examples:
  rfaas describe figlet
  rfaas describe auto-close-orders --json
  rfaas describe figlet -n dev --verbose";

#[derive(Debug, Args)]
pub struct DescribeArgs {
    #[command(flatten)]
    pub name: FunctionNameArg,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub namespace: NamespaceArg,
    #[command(flatten)]
    pub envsubst: EnvsubstArg,
    #[command(flatten)]
    pub json: super::JsonArg,
    /// Show empty fields too
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

pub const REMOVE_EXAMPLES: &str = "Examples:
  rfaas remove figlet
  rfaas rm -f stack.yaml
  rfaas delete --filter 'test-*'";

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// Function to remove [default: every function in the stack file]
    pub name: Option<String>,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub namespace: NamespaceArg,
    #[command(flatten)]
    pub envsubst: EnvsubstArg,
}

pub const INVOKE_EXAMPLES: &str = "Examples:
  echo -n 'hello' | rfaas invoke figlet
  rfaas invoke delivery-analytics --content-type application/json < payload.json
  rfaas invoke api -m GET --query page=2 -H 'X-Trace: 1' < /dev/null
  rfaas invoke long-job --async -H 'X-Callback-Url: http://127.0.0.1:9000/done' < job.json
  rfaas invoke webhook --sign X-Hub-Signature --key \"$SECRET\" < event.json";

#[derive(Debug, Args)]
pub struct InvokeArgs {
    #[command(flatten)]
    pub name: FunctionNameArg,
    /// OpenFaaS Pro: exchange credentials for an IAM function token (not supported by rfaas)
    #[arg(long)]
    pub auth: bool,
    #[command(flatten)]
    pub gateway: GatewayArgs,
    #[command(flatten)]
    pub namespace: NamespaceArg,
    #[command(flatten)]
    pub envsubst: EnvsubstArg,
    /// Content-Type of the request body [default: text/plain, unless -H sets one]
    #[arg(long)]
    pub content_type: Option<String>,
    /// Request header, "Key: Value" (or Key=Value)
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,
    /// Query-string parameter, key=value
    #[arg(long = "query", value_name = "KEY=VALUE")]
    pub query: Vec<String>,
    /// HTTP method
    #[arg(short = 'm', long, default_value = "POST",
          value_parser = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"], ignore_case = true)]
    pub method: String,
    /// Invoke asynchronously through /async-function/ (202 Accepted)
    #[arg(short = 'a', long = "async")]
    pub is_async: bool,
    /// Header that carries an HMAC-SHA256 signature of the body (needs --key)
    #[arg(long, requires = "key")]
    pub sign: Option<String>,
    /// Key for --sign
    #[arg(long, requires = "sign")]
    pub key: Option<String>,
    /// Give up waiting for the response after this long
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub timeout: Duration,
}

pub const LOGS_EXAMPLES: &str = "Examples:
  rfaas logs figlet
  rfaas logs figlet --tail=false --lines 50
  rfaas logs figlet --since 10m --output json
  rfaas logs figlet --name --instance --time-format '2006-01-02 15:04:05'";

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Function name
    pub name: String,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub namespace: NamespaceArg,
    #[command(flatten)]
    pub envsubst: EnvsubstArg,
    /// Keep streaming new lines (faas-cli's --tail); --tail=false prints what exists and stops
    #[arg(short = 't', long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", require_equals = true, value_name = "BOOL")]
    pub tail: bool,
    /// Number of recent lines to show; -1 or 0 means all
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub lines: i64,
    /// Only lines newer than this duration, e.g. 5m
    #[arg(long, value_parser = parse_duration)]
    pub since: Option<Duration>,
    /// Only lines since this RFC3339 time (wins over --since)
    #[arg(long)]
    pub since_time: Option<String>,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value = "plain")]
    pub output: LogFormat,
    /// Same as --output json
    #[arg(short = 'j', long)]
    pub json: bool,
    /// Timestamp format: a Go layout or rfc3339, rfc3339nano, ansic, unixdate, rubydate, rfc822,
    /// rfc822z, rfc850, rfc1123, rfc1123z; empty prints no timestamp
    #[arg(long, default_value = "2006-01-02T15:04:05Z07:00")]
    pub time_format: String,
    /// Print the function name on each line
    #[arg(long = "name")]
    pub show_name: bool,
    /// Print the instance (replica) on each line
    #[arg(long = "instance")]
    pub show_instance: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Plain,
    Keyvalue,
    Json,
}

pub const SECRET_EXAMPLES: &str = "Examples:
  echo -n \"$DB_PASSWORD\" | rfaas secret create food-db-password
  rfaas secret create api-key --from-file ./api-key.txt --replace
  rfaas secret list --json
  rfaas secret remove api-key";

#[derive(Debug, Args)]
pub struct SecretArgs {
    #[command(subcommand)]
    pub command: SecretCommand,
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Create a secret from --from-literal, --from-file or stdin
    Create(SecretValueArgs),
    /// Update a secret's value
    #[command(alias = "u")]
    Update(SecretValueArgs),
    /// List secret names (never values)
    #[command(alias = "ls")]
    List(SecretListArgs),
    /// Remove a secret
    #[command(aliases = ["rm", "delete"])]
    Remove(SecretRemoveArgs),
    /// Create or update every secret from the files in ./.secrets/
    #[command(after_help = super::secret_seal::APPLY_EXAMPLES)]
    Apply(super::secret_seal::SecretApplyArgs),
    /// Print (or write) a random secret, base64-encoded; no gateway is needed
    #[command(alias = "gen", after_help = super::secret_seal::GENERATE_SECRET_EXAMPLES)]
    Generate(super::secret_seal::SecretGenerateArgs),
    /// Write a keypair for sealing build secrets (faas-cli's key format)
    #[command(after_help = super::secret_seal::KEYGEN_EXAMPLES)]
    Keygen(super::secret_seal::KeygenArgs),
    /// Seal KEY=VALUE secrets for a public key into a file (faas-cli's nacl/box format)
    #[command(after_help = super::secret_seal::SEAL_EXAMPLES)]
    Seal(super::secret_seal::SealArgs),
    /// Decrypt a sealed secrets file with the private key and print its values
    #[command(after_help = super::secret_seal::UNSEAL_EXAMPLES)]
    Unseal(super::secret_seal::UnsealArgs),
}

#[derive(Debug, Args)]
pub struct SecretValueArgs {
    /// Secret name (a DNS-1123 subdomain)
    pub name: String,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub namespace: NamespaceArg,
    /// The value, given literally (visible in `ps`; prefer stdin or --from-file)
    #[arg(long, conflicts_with = "from_file")]
    pub from_literal: Option<String>,
    /// Read the value from this file; its bytes are stored exactly (sent as `rawValue`)
    #[arg(long)]
    pub from_file: Option<std::path::PathBuf>,
    /// Trim whitespace around a literal or stdin value (a --from-file value is stored byte-exact,
    /// as with faas-cli; only the text copy sent beside it is trimmed)
    #[arg(long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", require_equals = true, value_name = "BOOL")]
    pub trim: bool,
    /// On create, update the secret when it already exists
    #[arg(long)]
    pub replace: bool,
}

#[derive(Debug, Args)]
pub struct SecretListArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub namespace: NamespaceArg,
    #[command(flatten)]
    pub json: super::JsonArg,
}

#[derive(Debug, Args)]
pub struct SecretRemoveArgs {
    /// Secret name
    pub name: String,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub namespace: NamespaceArg,
}

pub const NAMESPACE_EXAMPLES: &str = "Examples:
  rfaas namespace list
  rfaas namespace create staging --label team=payments
  rfaas ns get staging
  rfaas namespace remove staging";

#[derive(Debug, Args)]
pub struct NamespaceArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(subcommand)]
    pub command: NamespaceCommand,
}

#[derive(Debug, Subcommand)]
pub enum NamespaceCommand {
    /// List namespaces
    #[command(alias = "ls")]
    List {
        #[command(flatten)]
        json: super::JsonArg,
    },
    /// Show one namespace
    Get { name: String },
    /// Create a namespace
    Create(NamespaceEditArgs),
    /// Update a namespace's labels and annotations
    Update(NamespaceEditArgs),
    /// Remove a namespace
    #[command(aliases = ["rm", "delete"])]
    Remove { name: String },
}

#[derive(Debug, Args)]
pub struct NamespaceEditArgs {
    pub name: String,
    /// Label (KEY=VALUE)
    #[arg(short = 'l', long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Annotation (KEY=VALUE)
    #[arg(long = "annotation", value_name = "KEY=VALUE")]
    pub annotations: Vec<String>,
}

pub const READY_EXAMPLES: &str = "Examples:
  rfaas ready                       # wait for the gateway
  rfaas ready order-completion      # wait for a function
  rfaas ready --attempts 120 --interval 500ms";

#[derive(Debug, Args)]
pub struct ReadyArgs {
    /// Function to wait for [default: the gateway itself]
    pub name: Option<String>,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub namespace: NamespaceArg,
    #[command(flatten)]
    pub envsubst: EnvsubstArg,
    /// How many times to check
    #[arg(long, default_value_t = 60)]
    pub attempts: u32,
    /// Time between checks
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub interval: Duration,
}

pub const UP_EXAMPLES: &str = "Examples:
  rfaas up -f stack.yaml
  rfaas up --publish --platforms linux/amd64,linux/arm64
  rfaas up --local                       # build, then deploy to rfaas's own gateway (started if needed)
  rfaas up --skip-push --filter 'api-*'
  rfaas up --parallel 3 --tag sha --wait
  rfaas up --local --watch               # then hot reload handler edits until Ctrl-C";

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub build: super::BuildFlags,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub namespace: NamespaceArg,
    #[command(flatten)]
    pub deploy: DeployFlags,
    #[command(flatten)]
    pub envsubst: EnvsubstArg,
    #[command(flatten)]
    pub tag: TagArg,
    /// Build and push this many functions at the same time
    #[arg(long, default_value = "1", value_parser = crate::ops::Parallelism::parse, value_name = "N")]
    pub parallel: crate::ops::Parallelism,
    /// Hide Docker's build and push output
    #[arg(long)]
    pub quiet: bool,
    /// Build even when nothing changed
    #[arg(long)]
    pub force: bool,
    /// Do not push the images
    #[arg(long)]
    pub skip_push: bool,
    /// Build (and push) only
    #[arg(long)]
    pub skip_deploy: bool,
    /// Deploy to rfaas's local gateway, starting it if needed; images stay in the local engine
    /// (no push), missing secrets are created from ./.secrets/<name>, and functions are waited for
    #[arg(long)]
    pub local: bool,
    /// The local gateway's state directory (with --local)
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<std::path::PathBuf>,
    /// The local gateway's port when it has to be started (with --local)
    #[arg(long, default_value_t = 8080)]
    pub local_port: u16,
    /// Only assemble ./build/<fn>/ (the Docker build contexts) and stop
    #[arg(long)]
    pub shrinkwrap: bool,
    /// After deploying, watch the stack file and handler folders until Ctrl-C: a handler change
    /// is hot reloaded into the running replicas (python3-http, node18 on the local gateway);
    /// other changes rebuild and redeploy only the functions they touch. A .gitignore is used
    /// when present, not required
    #[arg(long, conflicts_with_all = ["publish", "shrinkwrap", "skip_deploy"])]
    pub watch: bool,
    /// Accepted for faas-cli compatibility; never sent
    #[arg(long, hide = true)]
    pub network: Option<String>,
    /// Build for --platforms and push one image index per function (`rfaas publish`) instead of
    /// build then push
    #[arg(long, conflicts_with_all = ["local", "skip_push"])]
    pub publish: bool,
    #[command(flatten, next_help_heading = "Publish (with --publish)")]
    pub multi: super::MultiArchFlags,
    #[command(flatten, next_help_heading = WITHOUT_A_STACK_FILE)]
    pub function: DeployedFunctionFlags,
}

pub const VERSION_EXAMPLES: &str = "Examples:
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
    pub json: super::JsonArg,
    /// Accepted for faas-cli compatibility; rfaas never checks the Internet for updates
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false,
          default_missing_value = "true", require_equals = true, hide = true)]
    pub warn_update: bool,
}
