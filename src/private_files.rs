//! Files only the current user may read: directories 0700, files 0600, written atomically
//! (temporary file, fsync, rename) so a crash never leaves half a password or secret behind.

use fs_err::os::unix::fs::OpenOptionsExt;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Makes sure `dir` is a directory only the current user can change. A missing one is created
/// (with its missing parents) with mode 0700. An existing one is never chmodded (`--state-dir
/// /tmp` used to lock everyone out of /tmp): it must belong to the current user and not be
/// writable by group or others, or the error says which directory and what to do.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    let missing: Vec<&Path> =
        dir.ancestors().take_while(|p| !p.as_os_str().is_empty() && fs_err::symlink_metadata(p).is_err()).collect();
    for path in missing.iter().rev() {
        use std::os::unix::fs::DirBuilderExt;
        match std::fs::DirBuilder::new().mode(0o700).create(path) {
            // Explicitly: a umask such as 0277 would otherwise leave the owner without access.
            Ok(()) => fs_err::set_permissions(path, std::fs::Permissions::from_mode(0o700))?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {} // created meanwhile: checked below
            Err(e) => return Err(std::io::Error::new(e.kind(), format!("cannot create {}: {e}", path.display()))),
        }
    }
    check_private_dir(dir)
}

/// Checks, without changing anything, that an existing `dir` belongs to the current user and is
/// not writable by group or others (see [`private_dir`]).
pub fn check_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs_err::metadata(dir)?;
    let refuse = |problem: String| Err(std::io::Error::new(std::io::ErrorKind::PermissionDenied, problem));
    if !meta.is_dir() {
        return refuse(format!("{} is not a directory", dir.display()));
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return refuse(format!(
            "{} belongs to uid {}, not to you (uid {me}); rfaas keeps credentials there: use a directory you own, \
             or a new path (rfaas creates it with mode 0700)",
            dir.display(),
            meta.uid()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return refuse(format!(
            "{} is writable by group or others (mode {:o}); rfaas keeps credentials there: run `chmod go-w {}` \
             if it is yours alone, or use a new path (rfaas creates it with mode 0700)",
            dir.display(),
            meta.mode() & 0o7777,
            dir.display()
        ));
    }
    Ok(())
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
