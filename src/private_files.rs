//! Files only the current user may read: directories 0700, files 0600, written atomically
//! (temporary file, fsync, rename) so a crash never leaves half a password or secret behind.

use fs_err::os::unix::fs::OpenOptionsExt;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Creates `dir` (and parents) and sets it to 0700.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    fs_err::create_dir_all(dir)?;
    fs_err::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Atomically replaces `path` with `bytes`, mode `mode`.
pub fn write_file(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut file = fs_err::OpenOptions::new().write(true).create(true).truncate(true).mode(mode).open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs_err::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
    fs_err::rename(&tmp, path)
}

/// Atomically replaces `path` with `bytes`, mode 0600.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_file(path, bytes, 0o600)
}
