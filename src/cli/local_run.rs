//! Flags of `local-run`: one function in a container on the local engine, no gateway.

use clap::{ArgAction, Args};

use super::{BuildFlags, EnvsubstArg, TagArg, parse_key_value};

pub const LOCAL_RUN_EXAMPLES: &str = "Examples:
  rfaas local-run                        # the stack's only function, on http://127.0.0.1:8080
  rfaas local-run orders --port 0        # a free port, printed when it starts
  rfaas local-run orders --build=false -e write_debug=true
  rfaas local-run orders --network host -e port=9000
  rfaas local-run orders --print         # only print the equivalent `docker run` line
  rfaas local-run orders --watch         # reload on every save until Ctrl-C

Secrets named in the stack are read from ./.secrets/<name> (mounted read-only).
Ctrl-C (or SIGTERM) stops the function and removes its container.";

#[derive(Debug, Args)]
pub struct LocalRunArgs {
    /// The function to run [default: the stack's only function]
    pub name: Option<String>,
    #[command(flatten)]
    pub flags: BuildFlags,
    /// Port on 127.0.0.1 to publish the function on (0 picks a free one); unused with --network
    #[arg(short = 'p', long, default_value_t = 8080)]
    pub port: u16,
    /// Build the function first (--build=false runs the image as it is)
    #[arg(long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", require_equals = true, value_name = "BOOL")]
    pub build: bool,
    /// Connect the container to this network (e.g. host) instead of publishing --port
    #[arg(long, value_name = "NAME")]
    pub network: Option<String>,
    /// Extra environment variable for the function (KEY=VALUE, repeatable; wins over the stack's)
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub env: Vec<(String, String)>,
    /// Print the equivalent `docker run` command instead of running it
    #[arg(long)]
    pub print: bool,
    #[command(flatten)]
    pub tag: TagArg,
    /// Hide Docker's build output
    #[arg(long)]
    pub quiet: bool,
    /// Accepted for faas-cli compatibility (one function is built)
    #[arg(long, default_value_t = 1, hide = true)]
    pub parallel: usize,
    /// Watch the stack file and the handler folder until Ctrl-C: a handler change is hot reloaded
    /// into the container (python3-http, node18); other changes rebuild and replace it. A
    /// .gitignore is used when present, not required
    #[arg(long, conflicts_with = "print")]
    pub watch: bool,
    #[command(flatten)]
    pub envsubst: EnvsubstArg,
}
