//! Operations: what a command does, as functions over typed options and an already-loaded
//! stack, returning typed outcomes. Commands turn flags into these options and print the result.

pub mod diff;
pub mod local_run;
pub mod publish;
