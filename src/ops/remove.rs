//! Remove: delete functions from a gateway. Every function is attempted; the outcome lists the
//! ones that could not be removed.

use super::Env;
use crate::openfaas::{Client, ClientError};

/// What happened to each function.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoveOutcome {
    pub removed: Vec<String>,
    /// Functions not removed (missing, or the gateway refused); the reason was shown.
    pub failed: Vec<String>,
}

/// Some functions could not be removed.
#[derive(Debug, thiserror::Error)]
#[error("failed to remove: {}", .0.join(", "))]
pub struct RemoveFailed(pub Vec<String>);

impl RemoveOutcome {
    pub fn check(&self) -> Result<(), RemoveFailed> {
        if self.failed.is_empty() { Ok(()) } else { Err(RemoveFailed(self.failed.clone())) }
    }
}

/// Deletes each `(name, namespace)`; an empty namespace is the gateway's default.
pub async fn remove(client: &Client, functions: &[(String, String)], env: &Env<'_>) -> RemoveOutcome {
    let mut outcome = RemoveOutcome::default();
    for (name, namespace) in functions {
        env.printer.status(&format!("Deleting: {name}.{namespace}"));
        match client.delete_function(name, namespace).await {
            Ok(()) => {
                env.printer.status("Removing old function.");
                outcome.removed.push(name.clone());
            }
            Err(ClientError::NotFound { .. }) => {
                env.printer.error(&format!("error: no existing function to remove: {name}"));
                outcome.failed.push(name.clone());
            }
            Err(e) => {
                env.printer.error(&crate::error::render(&e.into()));
                outcome.failed.push(name.clone());
            }
        }
    }
    outcome
}
