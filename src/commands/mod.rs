//! One module per command: each turns its flags into a call on the domain modules.

pub mod completion;
pub mod gateway;
pub mod generate;
pub mod login;
pub mod logout;
pub mod version;

use std::path::PathBuf;

use crate::cli::GlobalArgs;
use crate::output::Printer;
use crate::stack::{LoadOptions, Stack};

/// What every command gets: the printer, the working directory and the global flags.
pub struct Context {
    pub printer: Printer,
    pub cwd: PathBuf,
    pub global: GlobalArgs,
}

impl Context {
    /// Loads and validates the stack file named by `-f` (or discovered), showing its warnings.
    pub async fn load_stack(&self, envsubst: bool) -> anyhow::Result<Stack> {
        let opts = LoadOptions {
            file: self.global.yaml.clone(),
            envsubst,
            filter: self.global.filter.clone(),
            regex: self.global.regex.clone(),
        };
        let stack = crate::stack::load(&opts, &self.cwd).await.map_err(crate::error::stack_error)?;
        for warning in &stack.warnings {
            self.printer.warn(warning);
        }
        Ok(stack)
    }
}
