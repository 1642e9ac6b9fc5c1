//! Integration tests: the real `rfaas` binary in temporary directories, and the real services the
//! environment script starts (tests/env/setup.sh).

mod engine;
mod support;

mod build_engine;
mod build_run;
mod build_validation;
mod chart;
mod cli;
mod client_commands;
mod client_timeouts;
mod command_list;
mod config_file;
mod environment;
mod food_delivery;
mod gateway_api;
mod gateway_async;
mod gateway_cron;
mod gateway_daemon;
mod gateway_durability;
mod gateway_functions;
mod gateway_health;
mod gateway_images;
mod gateway_prometheus;
mod gateway_readiness;
mod gateway_scaling;
mod gateway_ui;
mod gateway_validation;
mod generate;
mod generate_schema;
mod hostile;
mod hot_reload;
mod local_run;
mod new_cmd;
mod order_pipeline;
mod output_snapshots;
mod plugins;
mod publish;
mod push;
mod sealed;
mod shrinkwrap;
mod stack_errors;
mod stack_fuzz;
mod stack_limits;
mod store;
mod template_cmd;
