//! Flags of the commands that write files or text from the stack, without a gateway:
//! `generate` and `completion`.

use clap::Args;

use super::{EnvsubstArg, TagArg};

pub const GENERATE_EXAMPLES: &str = "Examples:
  rfaas generate -f stack.yaml | kubectl apply -f -
  rfaas generate --from-store figlet --name banner --label team=web --arch arm64
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
    #[command(flatten)]
    pub tag: TagArg,
    #[command(flatten)]
    pub envsubst: EnvsubstArg,
    /// Generate the Function of this function-store entry (by name) instead of the stack's
    #[arg(long, value_name = "NAME")]
    pub from_store: Option<String>,
    /// With --from-store: the Function's name [default: the store's]
    #[arg(long)]
    pub name: Option<String>,
    /// With --from-store: add a label, winning over the store's (repeatable)
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// With --from-store: add an annotation, winning over the store's (repeatable)
    #[arg(long = "annotation", value_name = "KEY=VALUE")]
    pub annotations: Vec<String>,
    /// With --from-store: the store platform whose image is used
    #[arg(long, default_value = "x86_64", value_name = "PLATFORM")]
    pub arch: String,
    /// With --from-store: the function store JSON (URL or file)
    #[arg(long, env = crate::env_vars::OPENFAAS_STORE,
          default_value = crate::function_store::DEFAULT_STORE_URL, value_name = "URL|FILE")]
    pub url: String,
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
