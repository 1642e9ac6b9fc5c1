//! Talking to OpenFaaS gateways: the wire types (shared with rfaas's own gateway), the client and
//! its endpoint methods, and how a stack function becomes a deployment.

pub mod api;
pub mod async_api;
pub mod client;
pub mod deployment;
pub mod invocations;
pub mod log_format;
pub mod types;

pub use api::{DeployMode, DeployOutcome};
pub use client::{Auth, Client, ClientError, ClientOptions};
