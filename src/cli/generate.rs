//! Flags of the commands that write files or text from the stack, without a gateway:
//! `generate` and `completion`.

use clap::Args;

use super::{EnvsubstArg, parse_tag};
use crate::stack::image::TagFormat;

pub const GENERATE_EXAMPLES: &str = "Examples:
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

pub const COMPLETION_EXAMPLES: &str = "Examples:
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
