//! faas-cli plugins: `rfaas NAME ARGS...` runs `~/.openfaas/plugins/NAME` (as `faas-cli plugin
//! get` installs them), or `~/.openfaas/plugins/faas-NAME`, with the remaining arguments, and
//! exits with its exit code (the process is replaced, as faas-cli does on Unix).
//!
//! Unlike faas-cli, a plugin never shadows a built-in command (a file called `version` there does
//! not replace `rfaas version`), and only plain names (`[a-z0-9][a-z0-9_-]*`) are looked up, so
//! `rfaas ../x` cannot reach outside the plugin folder.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The exit code when a plugin exists but cannot be run, as faas-cli uses.
pub const EXEC_FAILED: u8 = 127;

/// The plugin folder: `$HOME/.openfaas/plugins`.
pub fn plugin_dir() -> Option<PathBuf> {
    dirs::home_dir().map(|h| h.join(".openfaas").join("plugins"))
}

/// A name that may be a plugin's.
pub fn is_plugin_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && name.len() <= 64
}

/// The executable for `name` in `dir`: `dir/NAME`, else `dir/faas-NAME`.
pub fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    if !is_plugin_name(name) {
        return None;
    }
    [name.to_string(), format!("faas-{name}")].into_iter().map(|f| dir.join(f)).find(|p| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// Replaces this process with `plugin ARGS`; returns only when that fails.
pub fn exec(plugin: &Path, args: &[OsString]) -> std::io::Error {
    use std::os::unix::process::CommandExt;
    std::process::Command::new(plugin).args(args).exec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_are_plugins() {
        for good in ["hello", "pro-builder", "a1_b"] {
            assert!(is_plugin_name(good), "{good}");
        }
        for bad in ["", "../x", "a/b", ".hidden", "-x", "Upper", "a.b", &"a".repeat(65)] {
            assert!(!is_plugin_name(bad), "{bad}");
        }
    }

    #[test]
    fn finds_name_then_faas_name_and_only_executables() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, mode: u32| {
            let p = dir.path().join(name);
            std::fs::write(&p, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            p
        };
        let exact = write("hello", 0o755);
        write("faas-hello", 0o755);
        let prefixed = write("faas-other", 0o755);
        write("plain", 0o644);
        assert_eq!(find(dir.path(), "hello"), Some(exact));
        assert_eq!(find(dir.path(), "other"), Some(prefixed));
        assert_eq!(find(dir.path(), "plain"), None);
        assert_eq!(find(dir.path(), "../hello"), None);
    }
}
