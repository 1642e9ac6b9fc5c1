//! Records the git commit in RFAAS_GIT_SHA for `rfaas version`, and rebuilds when the bundled
//! templates change.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    // The bundled templates are embedded with include_dir!: rebuild when they change.
    println!("cargo:rerun-if-changed=templates");
    // Rebuild when the commit changes. In a worktree `.git` is a file, so the paths come from
    // git itself; a path that does not exist would make cargo rerun this script on every build.
    let git_dir = git(&["rev-parse", "--git-dir"]).map(PathBuf::from);
    let common_dir = git(&["rev-parse", "--git-common-dir"]).map(PathBuf::from);
    let watched = [
        git_dir.as_ref().map(|d| d.join("HEAD")),
        common_dir.as_ref().map(|d| d.join("refs/heads")),
        common_dir.as_ref().map(|d| d.join("packed-refs")),
    ];
    for path in watched.into_iter().flatten().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    if let Some(sha) = git(&["rev-parse", "--short", "HEAD"]) {
        println!("cargo:rustc-env=RFAAS_GIT_SHA={sha}");
    }
    // Release binaries on glibc Linux store their ~35,000 relative relocations packed (DT_RELR):
    // the table shrinks from ~800 KB to a few KB, and the loader's share of a short command's
    // start-up with it (issue 13). Needs binutils >= 2.38 to link and glibc >= 2.36 to run.
    let target = std::env::var("TARGET").unwrap_or_default();
    if std::env::var("PROFILE").as_deref() == Ok("release") && target.ends_with("-linux-gnu") {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    // The unwinder linked in from libgcc_eh.a instead of loaded from libgcc_s.so.1 (what `gcc
    // -static-libgcc` does): libgcc_s's load-time constructor, `__cpu_indicator_init`, runs a
    // series of CPUID instructions, and in a virtual machine each one traps to the hypervisor
    // (~5 µs each here), ~12 % of a short command's time (issue 13). Panics unwind as before.
    if target.ends_with("-linux-gnu")
        && let Some(dir) = static_unwinder_dir()
    {
        println!("cargo:rustc-link-search=native={}", dir.display());
        println!("cargo:rustc-link-lib=static=gcc_eh");
    }
    // RFAAS_NO_PIE=1 links the release binary at a fixed address: no relocations to apply at
    // start (a third of `rfaas --help`'s instructions), but no ASLR for the binary's own code and
    // data either, which matters for `rfaas gateway`, a network server in the same binary. So it
    // is opt-in, for machines that run the CLI only (issue 13; figures in the README).
    println!("cargo:rerun-if-env-changed=RFAAS_NO_PIE");
    if std::env::var("PROFILE").as_deref() == Ok("release") && std::env::var("RFAAS_NO_PIE").as_deref() == Ok("1") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}

/// The trimmed output of a successful `git` command.
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok().filter(|o| o.status.success())?;
    Some(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// The folder of the C compiler's `libgcc_eh.a`, when it has one (`cc` prints the bare name
/// when it has not).
fn static_unwinder_dir() -> Option<PathBuf> {
    let output = Command::new("cc").arg("-print-file-name=libgcc_eh.a").output().ok().filter(|o| o.status.success())?;
    let path = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    (path.is_absolute() && path.is_file()).then(|| path.parent().map(PathBuf::from)).flatten()
}
