//! The client commands as a user runs them: the real `rfaas` binary against the real
//! `rfaas gateway` (support/gateway.rs) running the echo function image, asserting exit codes,
//! stdout and stderr. Each test owns one gateway and a temporary HOME and OPENFAAS_CONFIG, so no
//! real configuration is read or written; tests share nothing and run in parallel.

mod async_calls;
mod auth;
mod deploy;
mod diff;
mod invoke;
mod logs;
mod namespace_ready_version;
mod secret;
mod secret_apply;
pub(crate) mod up;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::gateway::{TestGateway, echo_images};
use crate::support::{Rfaas, Run};

/// A gateway plus a client environment pointing at it (`OPENFAAS_URL`), in a temporary
/// directory. Every run's output is kept in [`Session::transcript`] so a test can check that a
/// secret never appeared anywhere.
pub struct Session {
    pub gw: TestGateway,
    /// The echo function image.
    pub image: String,
    rfaas: Rfaas,
    pub transcript: String,
}

impl Session {
    /// A gateway and a client that has not logged in.
    pub async fn start() -> Session {
        let (image, _) = echo_images().await;
        let gw = TestGateway::start().await;
        let mut rfaas = Rfaas::new();
        let config_dir = rfaas.path().join("openfaas-config").display().to_string();
        rfaas.env("OPENFAAS_CONFIG", &config_dir).env("OPENFAAS_URL", &gw.url);
        Session { gw, image, rfaas, transcript: String::new() }
    }

    /// A gateway and a client logged in to it with `rfaas login --password-stdin`.
    pub async fn logged_in() -> Session {
        let mut s = Session::start().await;
        let password = format!("{}\n", s.gw.password);
        s.run_stdin(&["login", "--password-stdin"], password.as_bytes()).success();
        s
    }

    /// The project directory the commands run in.
    pub fn path(&self) -> PathBuf {
        self.rfaas.path().to_path_buf()
    }

    /// config.yml, as `$OPENFAAS_CONFIG/config.yml`.
    pub fn config_path(&self) -> PathBuf {
        self.rfaas.path().join("openfaas-config").join("config.yml")
    }

    /// Writes a file in the project directory.
    pub fn file(&self, rel: &str, contents: &str) {
        self.rfaas.file(rel, contents);
    }

    /// Runs `rfaas ARGS` with an empty stdin.
    pub fn run(&mut self, args: &[&str]) -> Run {
        self.run_stdin(args, b"")
    }

    /// Runs `rfaas ARGS` with `stdin`.
    pub fn run_stdin(&mut self, args: &[&str], stdin: &[u8]) -> Run {
        self.rfaas.stdin(stdin);
        let run = self.rfaas.run(args);
        // Output only: the arguments may hold a value on purpose (--from-literal).
        self.transcript.push_str(&run.stdout);
        self.transcript.push_str(&run.stderr);
        run
    }

    /// Runs `rfaas ARGS` with one extra environment variable.
    pub fn run_env(&mut self, args: &[&str], key: &str, value: &str) -> Run {
        self.rfaas.env(key, value);
        let run = self.run(args);
        self.rfaas.env(key, "");
        run
    }

    /// `rfaas ARGS` as a child process to manage by hand (streams).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rfaas"));
        cmd.current_dir(self.rfaas.path())
            .env_clear()
            .env("HOME", self.rfaas.home())
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(std::env::var("DOCKER_HOST").map(|h| ("DOCKER_HOST", h)))
            .env("OPENFAAS_CONFIG", self.rfaas.path().join("openfaas-config"))
            .env("OPENFAAS_URL", &self.gw.url)
            .args(args);
        cmd
    }

    /// `rfaas describe NAME --json`, parsed.
    pub fn describe(&mut self, name: &str) -> Value {
        json(self.run(&["describe", name, "--json"]).success())
    }

    /// Deploys the echo image as `name` with extra deploy flags and waits until it is ready.
    pub fn deploy_echo(&mut self, name: &str, extra: &[&str]) {
        let image = self.image.clone();
        let mut args = vec!["deploy", "--image", &image, "--name", name, "--wait"];
        args.extend_from_slice(extra);
        self.run(&args).success().stderr_has(&format!("{name} is ready"));
    }

    /// The function names the gateway has in the default namespace, through the API.
    pub async fn deployed(&self) -> Vec<String> {
        let (status, body) = self.gw.send(self.gw.system(reqwest::Method::GET, "/system/functions")).await;
        assert_eq!(status, 200, "{body}");
        let list: Value = serde_json::from_str(&body).expect("json");
        let mut names: Vec<String> =
            list.as_array().expect("array").iter().map(|f| f["name"].as_str().expect("name").to_string()).collect();
        names.sort();
        names
    }
}

/// stdout of a run, parsed as JSON.
#[track_caller]
pub fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", run.stdout))
}

/// Calls `check` until it returns true or `limit` passes; true when it did.
pub fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A URL on 127.0.0.1 where nothing listens.
pub fn closed_gateway() -> String {
    format!("http://127.0.0.1:{}", crate::engine::free_port())
}
