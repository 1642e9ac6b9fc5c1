//! Flags of the commands that build and ship images: `build`, `push` (and the build flags
//! `up` shares).

use clap::{ArgAction, Args};

use super::{EnvsubstArg, FunctionFlags, TagArg, WITHOUT_A_STACK_FILE, parse_key_value};
use crate::ops::Parallelism;

// `--overwrite[=false]`: replace templates that already exist (default true).
#[derive(Debug, Clone, Copy, Args)]
pub struct OverwriteArg {
    /// Overwrite existing templates in ./template when pulling
    #[arg(long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", require_equals = true, value_name = "BOOL")]
    pub overwrite: bool,
}

// Flags that shape how images are built.
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

pub const BUILD_EXAMPLES: &str = "Examples:
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
    #[arg(long, default_value = "1", value_parser = Parallelism::parse, value_name = "N")]
    pub parallel: Parallelism,
    /// Hide Docker's build output (failures still show the last lines)
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub tag: TagArg,
    #[command(flatten)]
    pub envsubst: EnvsubstArg,
    #[command(flatten, next_help_heading = WITHOUT_A_STACK_FILE)]
    pub function: FunctionFlags,
}

pub const PUSH_EXAMPLES: &str = "Examples:
  rfaas push
  rfaas push -f stack.yaml --parallel 4 --filter 'api-*'
  DOCKER_CONFIG=./credentials rfaas push    # use credentials from `rfaas registry-login`";

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Push this many images at the same time
    #[arg(long, default_value = "1", value_parser = Parallelism::parse, value_name = "N")]
    pub parallel: Parallelism,
    /// Hide the per-layer output
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub tag: TagArg,
    #[command(flatten)]
    pub envsubst: EnvsubstArg,
}
