//! `rfaas completion`: shell completion scripts generated from the clap definition.

use clap::CommandFactory;
use clap_complete::Shell as Target;

use crate::cli::{Cli, CompletionArgs, Shell};
use crate::commands::Context;

pub fn run(args: CompletionArgs, ctx: &Context) -> anyhow::Result<()> {
    let shell = args.shell.or(args.shell_flag).expect("clap requires one of them");
    let target = match shell {
        Shell::Bash => Target::Bash,
        Shell::Zsh => Target::Zsh,
        Shell::Fish => Target::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(target, &mut Cli::command(), "rfaas", &mut script);
    ctx.printer.raw(&script);
    Ok(())
}
