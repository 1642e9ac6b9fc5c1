//! Talking to OpenFaaS gateways: the HTTP client (wire types join it as the API grows).

pub mod client;

pub use client::{Auth, Client, ClientError, ClientOptions};
