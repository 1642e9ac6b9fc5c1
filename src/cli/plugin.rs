//! Flags of `plugin get`, as faas-cli 0.18 spells them.

use clap::{Args, Subcommand};

pub const PLUGIN_EXAMPLES: &str = "Examples:
  rfaas plugin get pro                          # ghcr.io/openfaasltd/pro:latest → ~/.openfaas/plugins/pro
  rfaas plugin get pro --version 0.4.0 --arch arm64 --os linux
  rfaas plugin get hello --registry 127.0.0.1:5000/plugins
  rfaas pro --help                              # run an installed plugin";

#[derive(Debug, Args)]
pub struct PluginArgs {
    #[command(subcommand)]
    pub command: PluginCommand,
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Download a plugin (an OCI image, pulled anonymously) into the plugin folder
    #[command(after_help = PLUGIN_EXAMPLES)]
    Get(PluginGetArgs),
}

#[derive(Debug, Args)]
pub struct PluginGetArgs {
    /// The plugin's name
    pub name: String,
    /// The registry (and path) the plugin image is in
    #[arg(long, default_value = "ghcr.io/openfaasltd")]
    pub registry: String,
    /// Version (tag) of the plugin image
    #[arg(long, default_value = "latest")]
    pub version: String,
    /// Architecture to pull for [default: this machine's]
    #[arg(long)]
    pub arch: Option<String>,
    /// OS to pull for [default: this machine's]
    #[arg(long)]
    pub os: Option<String>,
    /// Folder to write the plugin to [default: $HOME/.openfaas/plugins]
    #[arg(long, value_name = "DIR")]
    pub path: Option<std::path::PathBuf>,
    /// Print what is fetched from where
    #[arg(short = 'v', long)]
    pub verbose: bool,
}
