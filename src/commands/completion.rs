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
    clap_complete::generate(target, &mut full_command(), "rfaas", &mut script);
    ctx.printer.raw(&script);
    Ok(())
}

/// The whole command tree with every command's flags, as the scripts need it.
///
/// [`Cli::command`] adds a command's flags and subcommands only when that command is built (the
/// tree is deferred for start-up), and the root's `help` command copies the tree before its
/// commands are built, so its copy would lack their subcommands (`rfaas help secret <TAB>` would
/// offer nothing). After the build, each copied command gets its subcommands the way clap copies
/// them: names, summaries and hidden flags only.
fn full_command() -> clap::Command {
    let mut root = Cli::command();
    root.set_bin_name("rfaas");
    root.build();
    let copies: Vec<(String, Vec<clap::Command>)> = root
        .get_subcommands()
        .filter(|c| c.get_name() != "help")
        .map(|c| (c.get_name().to_string(), help_copies(c, &format!("rfaas help {}", c.get_name()))))
        .collect();
    root.mut_subcommand("help", |help| {
        help.mut_subcommands(|copy| match copies.iter().find(|(name, _)| name == copy.get_name()) {
            Some((_, subcommands)) => copy.subcommands(subcommands.clone()),
            None => copy,
        })
    })
}

/// `command`'s subcommands as they appear under `help`, named from `bin_name`.
fn help_copies(command: &clap::Command, bin_name: &str) -> Vec<clap::Command> {
    command
        .get_subcommands()
        .filter(|c| c.get_name() != "help")
        .map(|c| {
            let bin_name = format!("{bin_name} {}", c.get_name());
            let mut copy = clap::Command::new(c.get_name().to_string())
                .hide(c.is_hide_set())
                .disable_help_flag(true)
                .disable_version_flag(true)
                .disable_help_subcommand(true)
                .subcommands(help_copies(c, &bin_name));
            if let Some(about) = c.get_about() {
                copy = copy.about(about.clone());
            }
            copy.set_bin_name(bin_name);
            copy
        })
        .collect()
}
