//! Running `rfaas` under a memory and a wall-time cap, for hostile-input tests: the child gets an
//! address-space limit (RLIMIT_AS, so an unbounded allocation fails inside it instead of
//! swapping the machine), is killed at the deadline, and reports how it ended and its peak RSS.

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The caps for one run.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    pub address_space: u64,
    pub wall: Duration,
}

/// 512 MiB of address space and 10 s: far above what rfaas needs for any stack within its
/// limits (under 100 MiB resident), far below what an unbounded parse reaches.
pub const CAPS: Caps = Caps { address_space: 512 << 20, wall: Duration::from_secs(10) };

/// How a capped run ended.
#[derive(Debug)]
pub struct CappedRun {
    /// The exit code, or `None` when a signal ended the process.
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
    /// Peak resident set size in KiB, as sampled (see [`wait_until`]).
    pub max_rss_kib: i64,
    pub elapsed: Duration,
}

impl CappedRun {
    /// A one-line account for assertion messages (stderr cut to 2,000 bytes).
    pub fn describe(&self) -> String {
        let mut stderr = self.stderr.clone();
        if stderr.len() > 2000 {
            let mut cut = 2000;
            while !stderr.is_char_boundary(cut) {
                cut -= 1;
            }
            stderr.truncate(cut);
            stderr.push_str("...");
        }
        format!(
            "code {:?}, signal {:?}, timed out {}, {} KiB peak RSS, {:.2?}; stderr:\n{stderr}",
            self.code, self.signal, self.timed_out, self.max_rss_kib, self.elapsed
        )
    }

    /// Asserts exit 1 with `text` in stderr, within the caps.
    #[track_caller]
    pub fn fails_with(&self, text: &str) -> &CappedRun {
        assert_eq!(self.code, Some(1), "expected exit 1: {}", self.describe());
        assert!(self.stderr.contains(text), "stderr lacks {text:?}: {}", self.describe());
        self
    }
}

/// Runs `cmd` (stdin empty, stdout and stderr captured) under `caps`.
pub fn run_capped(mut cmd: Command, caps: Caps) -> CappedRun {
    let limit = libc::rlimit { rlim_cur: caps.address_space, rlim_max: caps.address_space };
    // SAFETY: setrlimit is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let started = Instant::now();
    let mut child =
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn rfaas");
    let stdout = drain(child.stdout.take().expect("stdout"));
    let stderr = drain(child.stderr.take().expect("stderr"));
    let (status, max_rss_kib, timed_out) = wait_until(&mut child, started + caps.wall);
    let elapsed = started.elapsed();
    CappedRun {
        code: status.code(),
        signal: status.signal(),
        timed_out,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
        max_rss_kib,
        elapsed,
    }
}

/// Waits for `child`, killing it at `deadline`, and samples its peak RSS on the way.
///
/// The peak is VmHWM from /proc, read every 2 ms until the process exits: `ru_maxrss` is no use
/// here, since Linux folds the parent's RSS at fork into it and the test process is large.
/// VmHWM never decreases, so only what happens in the last 2 ms before exit (printing the
/// error) can be missed.
fn wait_until(child: &mut Child, deadline: Instant) -> (ExitStatus, i64, bool) {
    let mut peak_kib = 0;
    let mut timed_out = false;
    let status_file = format!("/proc/{}/status", child.id());
    loop {
        if let Some(hwm) = std::fs::read_to_string(&status_file).ok().as_deref().and_then(vm_hwm_kib) {
            peak_kib = peak_kib.max(hwm);
        }
        if let Some(status) = child.try_wait().expect("wait for rfaas") {
            return (status, peak_kib, timed_out);
        }
        if !timed_out && Instant::now() >= deadline {
            let _ = child.kill();
            timed_out = true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn vm_hwm_kib(status: &str) -> Option<i64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}
