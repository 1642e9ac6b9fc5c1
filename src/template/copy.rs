//! Copying files and directory trees with their Unix modes, naming the path in every error.

use std::io;
use std::path::Path;

/// Copies the tree at `src` into `dest` (created if needed), following symlinks and keeping
/// file modes. Top-level entries named in `skip_top` are left out.
pub fn copy_dir(src: &Path, dest: &Path, skip_top: &[&str]) -> io::Result<()> {
    fs_err::create_dir_all(dest)?;
    for entry in fs_err::read_dir(src)? {
        let entry = entry?;
        let name = entry.file_name();
        if skip_top.iter().any(|s| name == *s) {
            continue;
        }
        copy_path(&entry.path(), &dest.join(&name))?;
    }
    Ok(())
}

/// Copies one file or directory (recursively) to `dest`.
pub fn copy_path(src: &Path, dest: &Path) -> io::Result<()> {
    let meta = fs_err::metadata(src)?;
    if meta.is_dir() {
        copy_dir(src, dest, &[])
    } else {
        if let Some(parent) = dest.parent() {
            fs_err::create_dir_all(parent)?;
        }
        fs_err::copy(src, dest).map(|_| ())
    }
}

/// Writes `contents` to `path` with `mode`, creating parent directories.
pub fn write_file(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        fs_err::create_dir_all(parent)?;
    }
    fs_err::write(path, contents)?;
    set_mode(path, mode)
}

#[cfg(unix)]
pub fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs_err::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
pub fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_trees_with_modes_and_skips_top_level_names() {
        let src = tempfile::tempdir().unwrap();
        let dest = tempfile::tempdir().unwrap();
        write_file(&src.path().join("a/run.sh"), b"#!/bin/sh", 0o755).unwrap();
        write_file(&src.path().join("build/x"), b"x", 0o644).unwrap();
        write_file(&src.path().join("a/build/y"), b"y", 0o644).unwrap();
        copy_dir(src.path(), dest.path(), &["build"]).unwrap();
        assert!(dest.path().join("a/build/y").is_file(), "only top-level entries are skipped");
        assert!(!dest.path().join("build").exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dest.path().join("a/run.sh")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o755);
        }
    }
}
