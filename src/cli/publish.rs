//! Flags of `publish`: multi-platform build and push.

use clap::Args;

use super::{BuildFlags, EnvsubstArg, TagArg};
use crate::ops::Parallelism;

pub const PUBLISH_EXAMPLES: &str = "Examples:
  rfaas publish --platforms linux/amd64,linux/arm64
  rfaas publish -f stack.yaml --filter 'api-*' --extra-tag stable --parallel 2
  DOCKER_CONFIG=./credentials rfaas publish --platforms linux/arm64 --quiet

Each platform is built by the engine itself (no buildx): building for another architecture needs
emulation on the engine's host (qemu-user-static with binfmt), and each platform's base image.";

#[derive(Debug, Args)]
pub struct PublishArgs {
    #[command(flatten)]
    pub flags: BuildFlags,
    #[command(flatten)]
    pub multi: MultiArchFlags,
    /// Publish this many functions at the same time
    #[arg(long, default_value = "1", value_parser = Parallelism::parse, value_name = "N")]
    pub parallel: Parallelism,
    /// Hide Docker's build output (failures still show the last lines)
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub tag: TagArg,
    /// Only assemble ./build/<fn>/ (the Docker build contexts) and stop
    #[arg(long)]
    pub shrinkwrap: bool,
    #[command(flatten)]
    pub envsubst: EnvsubstArg,
}

/// The platform `--platforms` defaults to.
pub const DEFAULT_PLATFORMS: &str = "linux/amd64";

// What `publish` and `up --publish` share.
#[derive(Debug, Clone, Args)]
pub struct MultiArchFlags {
    /// Platforms to build and push, comma-separated os/arch[/variant] [default: linux/amd64]
    #[arg(long, value_name = "LIST")]
    pub platforms: Option<String>,
    /// Also push the image under this tag (repeatable; replaces the tag part of the image)
    #[arg(long = "extra-tag", value_name = "TAG")]
    pub extra_tags: Vec<String>,
    /// Register qemu for foreign architectures first (runs the privileged
    /// multiarch/qemu-user-static image with --reset -p yes; amd64 hosts only)
    #[arg(long)]
    pub reset_qemu: bool,
    /// OpenFaaS Pro's remote builder: not supported by rfaas
    #[arg(long, value_name = "URL", env = crate::env_vars::OPENFAAS_REMOTE_BUILDER, hide_env_values = true)]
    pub remote_builder: Option<String>,
    /// OpenFaaS Pro's remote builder payload secret: not supported by rfaas
    #[arg(long, value_name = "PATH", env = crate::env_vars::OPENFAAS_PAYLOAD_SECRET, hide_env_values = true)]
    pub payload_secret: Option<String>,
    /// OpenFaaS Pro's remote builder public key: not supported by rfaas
    #[arg(long, value_name = "KEY")]
    pub builder_public_key: Option<String>,
}
