//! rfaas: a drop-in replacement for OpenFaaS's faas-cli.
//!
//! Data flows one way: [`cli`] parses flags, [`commands`] adapt them into [`ops`] (operations
//! over a loaded stack) and calls on the domain modules ([`stack`], [`config`], [`kubernetes`],
//! [`openfaas`], [`docker`]); [`settings`] resolves gateway, namespace and credentials once, and
//! [`output`] is the only place that writes to the terminal. [`run`] is the whole program, callable from tests.
//! [`devloop`] is `--watch`: hot reload of a saved handler into running replicas, else a rebuild.
//! [`gateway`] is the built-in OpenFaaS-compatible gateway (`rfaas gateway`).
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod chart;
pub mod cli;
pub mod commands;
pub mod config;
pub mod devloop;
pub mod docker;
pub mod env_vars;
pub mod error;
pub mod function_store;
pub mod gateway;
pub mod go_yaml;
pub mod http_client;
pub mod kubernetes;
pub mod openfaas;
pub mod ops;
pub mod output;
pub mod plugins;
pub mod private_files;
mod scan;
pub mod sealed;
pub mod secrets_folder;
pub mod settings;
pub mod stack;
pub mod template;

use std::ffi::OsString;

use clap::Parser;

use cli::{Cli, Command};
use commands::Context;
use error::Exit;
use output::{Printer, Terminal};

/// The User-Agent rfaas sends.
pub const USER_AGENT: &str = concat!("rfaas/", env!("CARGO_PKG_VERSION"));

/// Parses `args`, runs the command and returns the process exit code.
pub fn run<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    if let Some(code) = run_plugin(&args) {
        return code;
    }
    let terminal = Terminal::detect();
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // Like faas-cli: no arguments prints the help on stdout and succeeds.
            let _ = <Cli as clap::CommandFactory>::command().print_help();
            return Exit::Success as u8;
        }
        Err(e) if !e.use_stderr() && !terminal.stdout_is_tty => {
            // `--help`, `--version` into a pipe: one write instead of one per line.
            output::Printer::plain().raw(e.render().to_string().as_bytes());
            return Exit::Success as u8;
        }
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { Exit::Usage as u8 } else { Exit::Success as u8 };
        }
    };
    // The one printer, from the command's output flags and the terminal, detected once.
    let printer = Printer::new(cli.output_mode(), terminal);
    let cwd = match std::env::current_dir() {
        Ok(cwd) => cwd,
        Err(e) => {
            printer.error(&format!("error: cannot read the current directory: {e}"));
            return Exit::Failure as u8;
        }
    };
    let ctx = Context::new(printer, cwd, cli.global.clone(), settings::Environment::from_process());
    let runtime = match runtime_for(&cli.command) {
        Ok(rt) => rt,
        Err(e) => {
            ctx.printer.error(&format!("error: cannot start the async runtime: {e}"));
            return Exit::Failure as u8;
        }
    };
    match runtime.block_on(dispatch(cli.command, &ctx)) {
        Ok(()) => Exit::Success as u8,
        Err(e) => {
            ctx.printer.error(&error::render_with(&e, &ctx.error_hints(&e)));
            Exit::Failure as u8
        }
    }
}

/// The async runtime a command runs on. Only the gateway's server needs worker threads; every
/// other command waits on one thing at a time (or polls its few builds and pushes from one task)
/// and gets a current-thread runtime, which starts no threads: spawning the multi-thread
/// runtime's workers was a measurable part of a short command's start-up (issue 13).
fn runtime_for(command: &Command) -> std::io::Result<tokio::runtime::Runtime> {
    match command {
        Command::Gateway(args) if args.action.is_none() => {
            tokio::runtime::Builder::new_multi_thread().enable_all().build()
        }
        _ => tokio::runtime::Builder::new_current_thread().enable_all().build(),
    }
}

/// Runs `~/.openfaas/plugins/NAME` when the first argument names no built-in command but a
/// plugin ([`plugins`]); `None` when it is not a plugin call.
fn run_plugin(args: &[OsString]) -> Option<u8> {
    let name = args.get(1)?.to_str()?;
    if !plugins::is_plugin_name(name) || name == "help" {
        return None;
    }
    // The plugin file first: one lookup, where building clap's whole command tree to rule out a
    // built-in would cost every command's start-up.
    let plugin = plugins::find(&plugins::plugin_dir()?, name)?;
    let builtin = <Cli as clap::CommandFactory>::command()
        .get_subcommands()
        .any(|c| c.get_name() == name || c.get_all_aliases().any(|a| a == name));
    if builtin {
        return None;
    }
    let err = plugins::exec(&plugin, &args[2..]);
    Printer::plain().error(&format!("error: cannot run the plugin {}: {err}", plugin.display()));
    Some(plugins::EXEC_FAILED)
}

async fn dispatch(command: Command, ctx: &Context) -> anyhow::Result<()> {
    match command {
        Command::Generate(args) => commands::generate::run(args, ctx).await,
        Command::Completion(args) => commands::completion::run(args, ctx),
        Command::Version(args) => commands::version::run(args, ctx).await,
        Command::Login(args) => commands::login::run(args, ctx).await,
        Command::Logout(args) => commands::logout::run(args, ctx),
        Command::Deploy(args) => commands::deploy::run(*args, ctx).await,
        Command::List(args) => commands::list::run(args, ctx).await,
        Command::Describe(args) => commands::describe::run(args, ctx).await,
        Command::Remove(args) => commands::remove::run(args, ctx).await,
        Command::Invoke(args) => commands::invoke::run(args, ctx).await,
        Command::Logs(args) => commands::logs::run(args, ctx).await,
        Command::Secret(args) => commands::secret::run(args, ctx).await,
        Command::Namespace(args) => commands::namespace::run(args, ctx).await,
        Command::Async(args) => commands::async_calls::run(args, ctx).await,
        Command::Ready(args) => commands::ready::run(args, ctx).await,
        Command::Up(args) => commands::up::run(*args, ctx).await,
        Command::Build(args) => commands::build::run(args, ctx).await,
        Command::Push(args) => commands::push::run(args, ctx).await,
        Command::Publish(args) => commands::publish::run(*args, ctx).await,
        Command::LocalRun(args) => commands::local_run::run(*args, ctx).await,
        Command::Diff(args) => commands::diff::run(args, ctx).await,
        Command::New(args) => commands::new::run(args, ctx).await,
        Command::Template(args) => commands::template::run(args, ctx).await,
        Command::RegistryLogin(args) => commands::registry_login::run(args, ctx),
        Command::Chart(args) => commands::chart::run(args, ctx),
        Command::Plugin(args) => commands::plugin::run(args, ctx).await,
        Command::Store(args) => commands::store::run(args, ctx).await,
        Command::Gateway(args) => commands::gateway::run(*args, ctx).await,
    }
}
