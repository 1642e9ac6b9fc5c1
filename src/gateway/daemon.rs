//! Running the gateway in the background: `rfaas gateway start|stop|status`, and the library API
//! other commands use ([`ensure_running`], [`read_credentials`]).
//!
//! A running gateway announces itself in `<state-dir>/gateway.json` (`{"url", "pid"}`), written
//! once it listens and removed on a clean exit, and holds an flock on `<state-dir>/gateway.lock`
//! for its whole life. It is "running" when that pid holds that lock (the kernel's word, so a
//! stale `gateway.json` naming a pid since reused by another process does not count: `stop` never
//! signals it) and `<url>/healthz` answers (200, or 503 when its engine or store is down).
//! Background gateways log to `<state-dir>/gateway.log`.

use std::net::IpAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::auth;
pub use super::auth::Credentials;
use crate::private_files::{check_private_dir, private_dir, write_private};

/// The file a listening gateway writes into its state directory.
pub const GATEWAY_FILE: &str = "gateway.json";
/// The background gateway's log, inside the state directory.
pub const LOG_FILE: &str = "gateway.log";
/// The file a running gateway holds an exclusive flock on, inside the state directory.
pub const LOCK_FILE: &str = "gateway.lock";
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Contents of `gateway.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayFile {
    pub url: String,
    pub pid: u32,
}

/// A running local gateway and how to log in to it.
#[derive(Clone)]
pub struct LocalGateway {
    pub url: String,
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for LocalGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LocalGateway({}, {}, REDACTED)", self.url, self.user)
    }
}

/// `~/.rfaas/gateway`.
pub fn default_state_dir() -> anyhow::Result<PathBuf> {
    let home = dirs::home_dir().context("cannot find the home directory for the default --state-dir")?;
    Ok(home.join(".rfaas").join("gateway"))
}

pub fn read_gateway_file(state_dir: &Path) -> Option<GatewayFile> {
    let text = std::fs::read_to_string(state_dir.join(GATEWAY_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

pub(crate) fn write_gateway_file(state_dir: &Path, file: &GatewayFile) -> anyhow::Result<()> {
    let path = state_dir.join(GATEWAY_FILE);
    let text = serde_json::to_vec(file)?;
    write_private(&path, &text).with_context(|| format!("cannot write {}", path.display()))
}

/// Removes `gateway.json` if it still names `pid`.
pub(crate) fn remove_gateway_file(state_dir: &Path, pid: u32) {
    if read_gateway_file(state_dir).is_some_and(|f| f.pid == pid) {
        let _ = std::fs::remove_file(state_dir.join(GATEWAY_FILE));
    }
}

/// The gateway's credentials (user and password files in the state directory), read only from
/// a directory no one else can write.
pub fn read_credentials(state_dir: &Path) -> anyhow::Result<Credentials> {
    let context = || format!("cannot read the gateway credentials in {}", state_dir.display());
    check_private_dir(state_dir).with_context(context)?;
    auth::read(state_dir).with_context(context)
}

fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    // SAFETY: signal 0 only checks that the process exists; nothing is delivered.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// True when process `pid` holds the flock on `<state_dir>/gateway.lock`: one of its descriptors
/// is that very file (same device and inode) and `/proc/<pid>/fdinfo` lists a FLOCK on it. Other
/// users' processes cannot be inspected, and are not this user's gateway either.
fn holds_gateway_lock(state_dir: &Path, pid: u32) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(lock) = std::fs::metadata(state_dir.join(LOCK_FILE)) else { return false };
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return false };
    fds.filter_map(Result::ok).any(|fd| {
        let same_file = std::fs::metadata(fd.path()).is_ok_and(|m| m.dev() == lock.dev() && m.ino() == lock.ino());
        let info = || std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{}", fd.file_name().to_string_lossy()));
        same_file && info().is_ok_and(|i| i.lines().any(|l| l.starts_with("lock:") && l.contains(" FLOCK ")))
    })
}

/// The gateway `gateway.json` names, if that process is alive and is the gateway of `state_dir`.
fn gateway_process(state_dir: &Path) -> Option<GatewayFile> {
    let file = read_gateway_file(state_dir)?;
    (pid_alive(file.pid) && holds_gateway_lock(state_dir, file.pid)).then_some(file)
}

/// True when the gateway at `url` serves: `/healthz` answers within two seconds, 200 or 503 (a
/// gateway whose engine or store is down still runs, and says so in its 503).
pub async fn answering(url: &str) -> bool {
    let Ok(client) = reqwest::Client::builder().timeout(Duration::from_secs(2)).build() else { return false };
    matches!(client.get(format!("{url}/healthz")).send().await, Ok(r) if matches!(r.status().as_u16(), 200 | 503))
}

/// The gateway using `state_dir`, if one is running and answering.
pub async fn running(state_dir: &Path) -> Option<GatewayFile> {
    let file = gateway_process(state_dir)?;
    answering(&file.url).await.then_some(file)
}

/// How to start a background gateway.
#[derive(Debug, Clone)]
pub struct StartOptions {
    /// The rfaas binary to run (`std::env::current_exe()` from the CLI).
    pub exe: PathBuf,
    pub bind: IpAddr,
    pub port: u16,
    pub state_dir: PathBuf,
    /// Extra flags passed to `rfaas gateway` (timeouts).
    pub extra_args: Vec<String>,
}

/// Starts a detached gateway unless one is already running; waits until it answers.
/// Returns the gateway file and whether it was started now.
pub async fn start_background(opts: &StartOptions) -> anyhow::Result<(GatewayFile, bool)> {
    // Before gateway.json is read: a directory others can write could hold a planted one.
    private_dir(&opts.state_dir)
        .with_context(|| format!("cannot use the state directory {}", opts.state_dir.display()))?;
    if let Some(file) = running(&opts.state_dir).await {
        return Ok((file, false));
    }
    let _ = std::fs::remove_file(opts.state_dir.join(GATEWAY_FILE));
    let log_path = opts.state_dir.join(LOG_FILE);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot open {}", log_path.display()))?;
    let mut child = std::process::Command::new(&opts.exe)
        .arg("gateway")
        .args(["--bind", &opts.bind.to_string(), "--port", &opts.port.to_string()])
        .arg("--state-dir")
        .arg(&opts.state_dir)
        .args(&opts.extra_args)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot run {}", opts.exe.display()))?;
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    while tokio::time::Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            anyhow::bail!("the gateway exited ({status}) while starting; see {}", log_path.display());
        }
        if let Some(file) = read_gateway_file(&opts.state_dir)
            && file.pid == child.id()
            && answering(&file.url).await
        {
            return Ok((file, true));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the gateway did not answer within {START_TIMEOUT:?}; see {}", log_path.display())
}

/// Sends SIGTERM to the gateway using `state_dir` and waits for it to exit (to release its lock:
/// a zombie nobody reaps counts as exited). Returns its pid, or `None` when none was running; a
/// stale `gateway.json` is removed and the process it names, if any, left alone.
pub async fn stop(state_dir: &Path) -> anyhow::Result<Option<u32>> {
    let Some(file) = gateway_process(state_dir) else {
        if read_gateway_file(state_dir).is_some() {
            let _ = std::fs::remove_file(state_dir.join(GATEWAY_FILE));
        }
        return Ok(None);
    };
    let pid = libc::pid_t::try_from(file.pid).context("invalid pid in gateway.json")?;
    // SAFETY: sends SIGTERM to a pid that was just seen holding this state directory's lock.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = tokio::time::Instant::now() + STOP_TIMEOUT;
    while pid_alive(file.pid) && holds_gateway_lock(state_dir, file.pid) {
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("the gateway (pid {}) did not exit within {STOP_TIMEOUT:?} of SIGTERM", file.pid);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Some(file.pid))
}

/// Makes sure a gateway is running for `state_dir` (starting this binary in the background on
/// `bind:port` if not) and returns its URL and credentials.
pub async fn ensure_running(state_dir: &Path, bind: IpAddr, port: u16) -> anyhow::Result<LocalGateway> {
    let exe = std::env::current_exe().context("cannot find the rfaas binary to start the gateway")?;
    let opts = StartOptions { exe, bind, port, state_dir: state_dir.to_path_buf(), extra_args: Vec::new() };
    let (file, _) = start_background(&opts).await?;
    let creds = read_credentials(state_dir)?;
    Ok(LocalGateway { url: file.url, user: creds.user, password: creds.password })
}
