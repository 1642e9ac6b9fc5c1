//! Talking to OpenFaaS gateways: the wire types (shared with rfaas's own gateway) and the client.

pub mod client;
pub mod types;

pub use client::{Auth, Client, ClientError, ClientOptions};
