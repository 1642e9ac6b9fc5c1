//! Flags of the commands that save or remove credentials: `login`, `logout`, `registry-login`.

use std::time::Duration;

use clap::Args;

use super::{GatewayArgs, parse_duration};

pub const LOGIN_EXAMPLES: &str = "Examples:
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

pub const LOGOUT_EXAMPLES: &str = "Examples:
  rfaas logout
  rfaas logout --gateway https://openfaas.example.com";

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Gateway URL [default: $OPENFAAS_URL, then http://127.0.0.1:8080]
    #[arg(short = 'g', long, value_name = "URL")]
    pub gateway: Option<String>,
}

pub const REGISTRY_LOGIN_EXAMPLES: &str = "Examples:
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
