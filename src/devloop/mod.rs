//! The dev loop: `rfaas up --watch` and `rfaas local-run --watch`, getting a saved handler
//! serving without an image build where the template allows it.
//!
//! [`reload`] owns the container side of hot reload for the templates that support it
//! (python3-http, node18): it copies the handler folder into a running replica, signals the
//! template's server and waits for its answer. [`watcher`] turns file-system events into
//! debounced batches, [`ignore_rules`] leaves out what is not source, [`changes`] says what a
//! batch means per function, and [`session`] runs the loop over a target — [`gateway`] (the
//! functions deployed on a gateway) or [`container`] (local-run's container): a hot reload
//! ([`hot`]) for a handler-only change, a rebuild and redeploy of only the touched functions
//! otherwise.

pub mod changes;
pub mod container;
pub mod gateway;
pub mod hot;
pub mod ignore_rules;
pub mod reload;
pub mod session;
pub mod watcher;
