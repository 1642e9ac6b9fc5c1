//! Operations: what rfaas does, as functions over typed options and an already-loaded
//! [`Stack`](crate::stack::Stack), returning typed outcomes.
//!
//! The layering is `cli` (flags) → `commands` (adapters) → `ops` (this module) → domain modules
//! (`stack`, `docker`, `openfaas`, `template`). An operation:
//! - takes its inputs as a plain options struct (no clap types), the loaded stack (never a path:
//!   the command loads the stack once per invocation, so warnings print once and a URL stack is
//!   fetched once), a connected [`Client`](crate::openfaas::Client) where it talks to a gateway,
//!   and an [`Env`];
//! - reports progress (per-function status lines, progress bars, warnings) through
//!   [`Env::printer`] only, and never prints its result;
//! - returns an outcome struct (`BuildOutcome`, `PushOutcome`, `DeployOutcome`, ...) that the
//!   command renders as text or JSON and turns into an exit status.
//!
//! Commands compose operations (`up` is build → push → deploy over one stack); no command builds
//! another command's flag struct.
//!
//! Adding a command `rfaas foo`:
//! 1. flags in `src/cli/…` (clap types only);
//! 2. `src/ops/foo.rs`: `pub struct FooOptions`, `pub struct FooOutcome`, and
//!    `pub async fn foo(stack: &Stack, opts: &FooOptions, env: &Env<'_>) -> anyhow::Result<FooOutcome>`
//!    (plus a `&Client` argument when it talks to a gateway, from [`Context::client`](crate::commands::Context::client));
//!    errors are typed (`thiserror`) and implement [`crate::error::Hint`] where there is advice;
//! 3. `src/commands/foo.rs`: turn the flags into `FooOptions`, load the stack with
//!    `ctx.load_stack`, call the operation with `ctx.env()`, render the outcome with
//!    `ctx.printer` (text, or JSON when `ctx.printer.is_json()`);
//! 4. one arm in `lib.rs::dispatch`.

pub mod build;
pub mod deploy;
pub mod diff;
pub mod local_run;
pub mod publish;
pub mod push;
pub mod remove;

use std::num::NonZeroUsize;
use std::path::Path;

use crate::output::Printer;

/// What every operation may use besides its options: where to report progress, the directory
/// paths are relative to, and the environment read at start-up.
#[derive(Debug, Clone, Copy)]
pub struct Env<'a> {
    pub printer: &'a Printer,
    pub cwd: &'a Path,
    pub environment: &'a crate::settings::Environment,
}

/// How many functions are built or pushed at the same time: at least one. The one value parser
/// for every `--parallel` flag, so `up --parallel 0` is refused exactly like `build --parallel 0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parallelism(NonZeroUsize);

impl Parallelism {
    pub const ONE: Parallelism = Parallelism(NonZeroUsize::MIN);

    /// `--parallel N`, N > 0.
    pub fn parse(s: &str) -> Result<Parallelism, String> {
        match s.parse::<usize>().ok().and_then(NonZeroUsize::new) {
            Some(n) => Ok(Parallelism(n)),
            None => Err("the --parallel flag must be greater than 0".to_string()),
        }
    }

    pub fn get(self) -> usize {
        self.0.get()
    }
}

impl Default for Parallelism {
    fn default() -> Self {
        Parallelism::ONE
    }
}

impl std::fmt::Display for Parallelism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallelism_is_positive() {
        assert_eq!(Parallelism::parse("3").map(Parallelism::get), Ok(3));
        for bad in ["0", "-1", "", "two"] {
            assert_eq!(Parallelism::parse(bad), Err("the --parallel flag must be greater than 0".to_string()));
        }
    }
}
