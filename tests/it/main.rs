//! Integration tests: the real `rfaas` binary in temporary directories, and the real services the
//! environment script starts (tests/env/setup.sh).

mod support;

mod cli;
mod config_file;
mod environment;
mod gateway_api;
mod gateway_cron;
mod gateway_daemon;
mod gateway_durability;
mod gateway_functions;
mod generate;
mod stack_errors;
