//! Flags of the commands that scaffold functions and manage templates: `new`, `template`.

use clap::{Args, Subcommand};

use super::{OverwriteArg, ResourceFlags};

pub const NEW_EXAMPLES: &str = "Examples:
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

pub const TEMPLATE_EXAMPLES: &str = "Examples:
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

pub const TEMPLATE_PULL_EXAMPLES: &str = "Examples:
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

// `--url`: the template store, a URL or a local JSON file.
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
