//! Records the git commit in RFAAS_GIT_SHA for `rfaas version`, and rebuilds when the bundled
//! templates change.

fn main() {
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    // The bundled templates are embedded with include_dir!: rebuild when they change.
    println!("cargo:rerun-if-changed=templates");
    let sha = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if let Some(sha) = sha {
        println!("cargo:rustc-env=RFAAS_GIT_SHA={sha}");
    }
}
