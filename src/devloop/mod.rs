//! The dev loop: `rfaas up --watch` and `rfaas local-run --watch`.
//!
//! [`watcher`] turns file-system events into debounced batches, [`ignore_rules`] leaves out
//! what is not source, [`changes`] says what a batch means per function, and [`session`] runs
//! the loop over a target (the gateway, or local-run's container): a hot reload ([`hot`], over
//! the runtimes' [`reload`] API) for a handler-only change, a rebuild and redeploy of only the
//! touched functions otherwise. [`gateway`] and [`container`] are the two targets.

pub mod changes;
pub mod container;
pub mod gateway;
pub mod hot;
pub mod ignore_rules;
pub mod reload;
pub mod session;
pub mod watcher;
