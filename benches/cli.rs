//! Speed of what every command pays for: parsing and validating a stack file, and process start-up.
//!
//! `cargo bench --bench cli` reports the time to load a generated 1,000-function stack (target:
//! under 50 ms) and the wall time of `rfaas --help` (target: under 5 ms).

use std::path::Path;
use std::process::Command;

use criterion::{Criterion, criterion_group, criterion_main};
use rfaas::stack::{LoadOptions, parse};

/// A stack with `n` functions using every common key, like a large real project.
fn big_stack(n: usize) -> String {
    let mut text = String::from(
        "version: 1.0\nprovider:\n  name: openfaas\n  gateway: ${GW:-http://127.0.0.1:8080}\nfunctions:\n",
    );
    for i in 0..n {
        text.push_str(&format!(
            "  fn-{i:04}:\n    lang: python3-http\n    handler: ./fn-{i:04}\n    image: ${{REGISTRY:-localhost:5000}}/fn-{i:04}:${{TAG:-latest}}\n    environment:\n      write_timeout: 10s\n      LOG_LEVEL: info\n      RETRIES: 3\n    secrets: [api-key]\n    labels:\n      com.openfaas.scale.min: 1\n    annotations:\n      topic: cron-function\n      schedule: \"*/5 * * * *\"\n    limits:\n      memory: 128Mi\n      cpu: 200m\n"
        ));
    }
    text
}

fn stack_parse(c: &mut Criterion) {
    let text = big_stack(1000);
    let opts = LoadOptions { envsubst: true, ..LoadOptions::default() };
    let env = |k: &str| std::env::var(k).ok();
    c.bench_function("parse+validate 1000-function stack", |b| {
        b.iter(|| {
            let stack = parse("stack.yml", &text, &opts, Path::new("."), &env).expect("valid");
            assert_eq!(stack.file.functions.len(), 1000);
        })
    });
}

fn startup(c: &mut Criterion) {
    let bin = env!("CARGO_BIN_EXE_rfaas");
    c.bench_function("rfaas --help (process start-up)", |b| {
        b.iter(|| {
            let out = Command::new(bin).arg("--help").output().expect("run rfaas");
            assert!(out.status.success());
        })
    });
}

criterion_group!(benches, stack_parse, startup);
criterion_main!(benches);
