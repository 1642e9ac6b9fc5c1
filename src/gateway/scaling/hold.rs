//! How the idle tier holds a replica still, and lets it go.
//!
//! When the engine runs on this host and the gateway may signal the replica's processes, every
//! process of the container's cgroup gets `SIGSTOP`: the kernel stops them at once, they keep
//! their memory, sockets and timers and use no CPU, and `SIGCONT` resumes them in microseconds.
//! Otherwise (an engine on another host, Podman's rootless processes, a cgroup that cannot be
//! read) the engine pauses the container (`docker pause`, the cgroup freezer), whose resume costs
//! an engine call: tens of milliseconds on a busy host.
//!
//! The processes are found through the container's init process: its cgroup (from
//! `/proc/<pid>/cgroup`, which must name the container) lists them all in `cgroup.procs`. A
//! process forked while the others were being stopped is caught by listing again until nothing
//! new appears. A gateway that crashed while holding replicas leaves them stopped;
//! [`release_all`] sends `SIGCONT` to every process of a container, which is harmless for one
//! that runs.

use std::path::{Path, PathBuf};

use bollard::Docker;

/// How a replica is held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    /// These processes (host pids) were sent `SIGSTOP`.
    Stopped(Vec<i32>),
    /// The engine paused the container.
    Paused,
}

/// How many times the processes are listed again to catch one forked meanwhile.
const RELIST: usize = 5;

/// Holds the replica `container` still: its processes stopped, or else the container paused.
pub async fn hold(docker: &Docker, container: &str) -> Result<Hold, String> {
    if let Some(procs) = cgroup_procs(docker, container).await {
        match stop_all(&procs) {
            Ok(pids) => return Ok(Hold::Stopped(pids)),
            Err(stopped) => signal(&stopped, libc::SIGCONT),
        }
    }
    docker.pause_container(container).await.map(|()| Hold::Paused).map_err(|e| e.to_string())
}

/// Lets a held replica go on.
pub async fn release(docker: &Docker, container: &str, hold: &Hold) -> Result<(), String> {
    match hold {
        Hold::Stopped(pids) => {
            signal(pids, libc::SIGCONT);
            Ok(())
        }
        Hold::Paused => docker.unpause_container(container).await.map_err(|e| e.to_string()),
    }
}

/// `SIGCONT` to every process of `container` (after a restart: it may have been held by the
/// gateway that crashed). Best effort; true when its processes could be listed.
pub async fn release_all(docker: &Docker, container: &str) -> bool {
    let Some(procs) = cgroup_procs(docker, container).await else { return false };
    match read_pids(&procs) {
        Some(pids) => {
            signal(&pids, libc::SIGCONT);
            true
        }
        None => false,
    }
}

/// Stops every process listed in `procs`, listing again until no new one appears. `Err` carries
/// the pids already stopped when one could not be (no permission, or the list keeps growing).
fn stop_all(procs: &Path) -> Result<Vec<i32>, Vec<i32>> {
    let mut stopped: Vec<i32> = Vec::new();
    for _ in 0..RELIST {
        let Some(pids) = read_pids(procs) else { return Err(stopped) };
        let new: Vec<i32> = pids.into_iter().filter(|p| !stopped.contains(p)).collect();
        if new.is_empty() {
            return if stopped.is_empty() { Err(stopped) } else { Ok(stopped) };
        }
        for pid in new {
            // SAFETY: kill(2) with a pid read from the container's cgroup and a valid signal.
            if unsafe { libc::kill(pid, libc::SIGSTOP) } != 0
                && std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
            {
                return Err(stopped);
            }
            stopped.push(pid);
        }
    }
    Err(stopped)
}

fn signal(pids: &[i32], sig: libc::c_int) {
    for &pid in pids {
        // SAFETY: kill(2) with a pid we stopped and a valid signal; a gone process is ESRCH.
        unsafe { libc::kill(pid, sig) };
    }
}

fn read_pids(procs: &Path) -> Option<Vec<i32>> {
    let text = std::fs::read_to_string(procs).ok()?;
    Some(text.lines().filter_map(|l| l.trim().parse().ok()).collect())
}

/// The `cgroup.procs` file of `container`'s cgroup, when the engine runs on this host and the
/// cgroup is the container's own.
async fn cgroup_procs(docker: &Docker, container: &str) -> Option<PathBuf> {
    let c = docker.inspect_container(container, None).await.ok()?;
    let id = c.id?;
    let pid = c.state?.pid.filter(|p| *p > 0)?;
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let path = procs_path(&cgroups)?;
    (path.to_string_lossy().contains(&id) && path.exists()).then_some(path)
}

/// Where a process's cgroup lists its processes, from its `/proc/<pid>/cgroup`: the unified
/// hierarchy's (`0::/path`) on cgroup v2, the `pids` controller's on v1.
fn procs_path(cgroups: &str) -> Option<PathBuf> {
    let entries: Vec<(&str, &str)> = cgroups
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            Some((controllers, path))
        })
        .collect();
    if let Some((_, path)) = entries.iter().find(|(c, _)| c.split(',').any(|c| c == "pids")) {
        return Some(PathBuf::from(format!("/sys/fs/cgroup/pids{path}/cgroup.procs")));
    }
    let (_, path) = entries.iter().find(|(c, _)| c.is_empty())?;
    Some(PathBuf::from(format!("/sys/fs/cgroup{path}/cgroup.procs")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_procs_file_comes_from_the_pids_controller_or_the_unified_hierarchy() {
        let v1 = "12:pids:/docker/abc\n11:cpu,cpuacct:/docker/abc\n0::/\n";
        assert_eq!(procs_path(v1), Some(PathBuf::from("/sys/fs/cgroup/pids/docker/abc/cgroup.procs")));
        let v2 = "0::/system.slice/docker-abc.scope\n";
        assert_eq!(procs_path(v2), Some(PathBuf::from("/sys/fs/cgroup/system.slice/docker-abc.scope/cgroup.procs")));
        assert_eq!(procs_path("garbage"), None);
    }

    #[test]
    fn a_child_process_is_stopped_and_continued() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        let procs = dir.path().join("cgroup.procs");
        std::fs::write(&procs, format!("{pid}\n")).unwrap();
        assert_eq!(stop_all(&procs), Ok(vec![pid]));
        assert_eq!(process_state(pid), 'T');
        signal(&[pid], libc::SIGCONT);
        assert_ne!(process_state(pid), 'T');
        child.kill().unwrap();
        child.wait().unwrap();
        // Nothing to stop is not a hold.
        std::fs::write(&procs, "").unwrap();
        assert_eq!(stop_all(&procs), Err(vec![]));
    }

    /// The process's settled state: running (R) and uninterruptible sleep (D, as a child just
    /// spawned may be while exec pages it in) are waited through, since a pending signal takes
    /// effect once they end.
    fn process_state(pid: i32) -> char {
        let mut state = 'R';
        for _ in 0..100 {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
            state = stat.rsplit(')').next().unwrap().trim_start().chars().next().unwrap();
            if !matches!(state, 'R' | 'D') {
                return state;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        state
    }
}
