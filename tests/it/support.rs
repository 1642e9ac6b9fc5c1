//! A builder for running the real `rfaas` binary in a temporary directory with a clean environment.

pub mod callbacks;
pub mod capped;
pub mod gateway;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

/// One `rfaas` invocation: a working directory, environment, stdin and arguments.
pub struct Rfaas {
    dir: tempfile::TempDir,
    env: BTreeMap<String, String>,
    stdin: Option<Vec<u8>>,
}

/// The outcome of a run, with helpers that print everything when an assertion fails.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub fn success(&self) -> &Run {
        assert_eq!(self.code, 0, "expected success\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    #[track_caller]
    pub fn failure(&self, code: i32) -> &Run {
        assert_eq!(self.code, code, "expected exit {code}\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, text: &str) -> &Run {
        assert!(self.stderr.contains(text), "stderr lacks {text:?}:\n{}", self.stderr);
        self
    }

    /// Stderr holds one of `texts` (an engine's own wording, which Docker and Podman differ in).
    #[track_caller]
    pub fn stderr_has_one_of(&self, texts: &[&str]) -> &Run {
        assert!(texts.iter().any(|t| self.stderr.contains(t)), "stderr lacks all of {texts:?}:\n{}", self.stderr);
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, text: &str) -> &Run {
        assert!(self.stdout.contains(text), "stdout lacks {text:?}:\n{}", self.stdout);
        self
    }
}

impl Rfaas {
    pub fn new() -> Rfaas {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut env = BTreeMap::new();
        env.insert("HOME".to_string(), dir.path().join("home").display().to_string());
        env.insert("PATH".to_string(), std::env::var("PATH").unwrap_or_default());
        // The engine the tests run against (Docker's socket, or Podman's with RFAAS_TEST_ENGINE=podman).
        if let Ok(host) = std::env::var("DOCKER_HOST") {
            env.insert("DOCKER_HOST".to_string(), host);
        }
        Rfaas { dir, env, stdin: None }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// Writes a file under the working directory, creating parent directories.
    pub fn file(&self, rel: &str, contents: &str) -> &Rfaas {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, contents).expect("write");
        self
    }

    pub fn env(&mut self, key: &str, value: &str) -> &mut Rfaas {
        self.env.insert(key.to_string(), value.to_string());
        self
    }

    pub fn stdin(&mut self, bytes: &[u8]) -> &mut Rfaas {
        self.stdin = Some(bytes.to_vec());
        self
    }

    /// `rfaas ARGS` as a plain child process with this directory and environment (stdin not set),
    /// for runs a test manages itself, such as [`capped::run_capped`].
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_rfaas"));
        cmd.current_dir(self.dir.path()).env_clear().envs(&self.env).args(args);
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let mut cmd = assert_cmd::Command::cargo_bin("rfaas").expect("rfaas binary");
        cmd.current_dir(self.dir.path()).env_clear().envs(&self.env).args(args);
        if let Some(input) = &self.stdin {
            cmd.write_stdin(input.clone());
        }
        Run::from(cmd.output().expect("run rfaas"))
    }
}

/// A request as the test HTTP server saw it.
#[derive(Debug, Clone)]
pub struct SeenRequest {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl SeenRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A small real HTTP/1.1 server on 127.0.0.1 answering with `handler`; returns its base URL.
/// Used where the far side is not rfaas (a stack file host, a third-party gateway's auth check).
pub fn serve<F>(handler: F) -> String
where
    F: Fn(&SeenRequest) -> (u16, String) + Send + Sync + 'static,
{
    serve_requests(move |seen| {
        let (status, body) = handler(seen);
        (status, "text/plain", body.into_bytes())
    })
}

/// The server behind [`serve`] and [`serve_paths`]: one thread per connection, one request per
/// connection, answered with `handler`'s status, content type and body.
fn serve_requests<F>(handler: F) -> String
where
    F: Fn(&SeenRequest) -> (u16, &'static str, Vec<u8>) + Send + Sync + 'static,
{
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let handler = std::sync::Arc::new(handler);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let handler = handler.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    return;
                }
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or_default().to_string();
                let path = parts.next().unwrap_or_default().to_string();
                let mut headers = Vec::new();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.trim_end().split_once(':') {
                        headers.push((k.trim().to_string(), v.trim().to_string()));
                    }
                }
                let (status, content_type, body) = handler(&SeenRequest { method, path, headers });
                let mut stream = stream;
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nContent-Type: {content_type}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            });
        }
    });
    format!("http://{addr}")
}

/// A file of the project's shared reference material, `../shared/reference/NAME` beside the
/// project root (the nearest ancestor with a `shared/reference` folder, so a git worktree nested
/// one level deeper finds it too).
pub fn reference_file(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    root.ancestors()
        .skip(1)
        .map(|dir| dir.join("shared/reference").join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("../shared/reference/{name} not found beside the project root ({}): the shared reference folder is required", root.display()))
}

/// Serves `body` (any bytes) at every path from a real HTTP/1.1 server on 127.0.0.1, with
/// `status`; returns the base URL.
pub fn serve_bytes(status: u16, body: Vec<u8>) -> String {
    serve_paths(move |_| Some((status, body.clone())))
}

/// A real HTTP/1.1 server on 127.0.0.1 that answers each request path with `handler`'s status
/// and bytes, or 404 for `None`; returns the base URL.
pub fn serve_paths<F>(handler: F) -> String
where
    F: Fn(&str) -> Option<(u16, Vec<u8>)> + Send + Sync + 'static,
{
    serve_requests(move |seen| {
        let (status, body) = handler(&seen.path).unwrap_or((404, b"not found".to_vec()));
        (status, "application/octet-stream", body)
    })
}

/// `rfaas build -f stack.yaml --quiet` in `stack_dir` with a clean environment (a temporary
/// HOME; PATH and DOCKER_HOST kept), REGISTRY and TAG set: the images of a reference stack, for
/// tests that run it. Handlers are found relative to the working directory, as with faas-cli.
pub fn build_stack_images(stack_dir: &str, registry: &str, tag: &str) -> Result<(), String> {
    let home = tempfile::tempdir().expect("temp dir");
    let mut cmd = assert_cmd::Command::cargo_bin("rfaas").expect("rfaas binary");
    cmd.current_dir(stack_dir)
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("REGISTRY", registry)
        .env("TAG", tag)
        .args(["build", "-f", "stack.yaml", "--quiet"]);
    if let Ok(host) = std::env::var("DOCKER_HOST") {
        cmd.env("DOCKER_HOST", host);
    }
    let out = cmd.output().expect("run rfaas build");
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "rfaas build of {stack_dir} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}
