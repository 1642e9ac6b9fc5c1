//! Flags of `store list|describe|deploy`, as faas-cli 0.18 spells them.

use clap::{ArgAction, Args, Subcommand};

use super::{ApiArgs, DeployFlags, NamespaceArg, ResourceFlags};

pub const STORE_EXAMPLES: &str = "Examples:
  rfaas store list
  rfaas store list --url http://127.0.0.1:8000/functions.json --platform arm64
  OPENFAAS_STORE=./functions.json rfaas store inspect figlet --json
  rfaas store deploy figlet --env write_timeout=10s";

#[derive(Debug, Args)]
pub struct StoreArgs {
    /// Function store JSON: an http(s) URL or a file
    #[arg(short = 'u', long, global = true, env = crate::env_vars::OPENFAAS_STORE,
          default_value = crate::function_store::DEFAULT_STORE_URL, value_name = "URL|FILE")]
    pub url: String,
    /// Store platform whose images are used: x86_64, arm64 or armhf [default: this machine's]
    #[arg(short = 'p', long, global = true, value_name = "PLATFORM")]
    pub platform: Option<String>,
    #[command(subcommand)]
    pub command: StoreCommand,
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// List the store's functions for the platform
    #[command(
        alias = "ls",
        after_help = "Examples:\n  rfaas store list\n  rfaas store ls --verbose=false\n  rfaas store list --json | jq '.[].name'"
    )]
    List(StoreListArgs),
    /// Show one store function (by name or title)
    #[command(
        alias = "inspect",
        after_help = "Examples:\n  rfaas store describe nodeinfo\n  rfaas store inspect NodeInfo --json"
    )]
    Describe(StoreDescribeArgs),
    /// Deploy a store function, with the store's image, fprocess, environment, labels and annotations
    #[command(after_help = STORE_DEPLOY_EXAMPLES)]
    Deploy(Box<StoreDeployArgs>),
}

#[derive(Debug, Args)]
pub struct StoreListArgs {
    /// Show whole titles (--verbose=false shortens them to 40 characters)
    #[arg(short = 'v', long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", require_equals = true, value_name = "BOOL")]
    pub verbose: bool,
    #[command(flatten)]
    pub json: super::JsonArg,
}

#[derive(Debug, Args)]
pub struct StoreDescribeArgs {
    /// The function's name or title
    #[arg(value_name = "NAME|TITLE")]
    pub name: String,
    #[command(flatten)]
    pub json: super::JsonArg,
}

const STORE_DEPLOY_EXAMPLES: &str = "Examples:
  rfaas store deploy figlet
  rfaas store deploy figlet --name banner --env MYVAR=myval --gateway http://127.0.0.1:8080
  rfaas store deploy nodeinfo --platform arm64 --label team=web";

#[derive(Debug, Args)]
pub struct StoreDeployArgs {
    /// The function's name or title
    #[arg(value_name = "NAME|TITLE")]
    pub function: String,
    /// Deploy under this name instead of the store's
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub namespace: NamespaceArg,
    #[command(flatten)]
    pub flags: DeployFlags,
    #[command(flatten, next_help_heading = "Resources")]
    pub resources: ResourceFlags,
}
