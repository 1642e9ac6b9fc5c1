//! The dev loop: getting a saved handler serving without an image build.
//!
//! [`reload`] owns the container side of hot reload for the templates that support it
//! (python3-http, node18): it copies the handler folder into a running replica, signals the
//! template's server and waits for its answer. Watching files, deciding between a reload and a
//! rebuild, and the `--watch` orchestration live with the commands that call it.

pub mod reload;
