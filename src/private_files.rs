//! Files only their owner may read, and the one owner of atomic writes: directories 0700, files
//! written to a uniquely named temporary file in the target's directory (mode and owner set
//! before the first byte, then fsync), renamed over the target, and the directory fsynced, so
//! neither a crash nor a concurrent write ever leaves half a value or another file's value behind.

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

/// The mode and, optionally, the numeric owner (uid, gid) of a file to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileAttrs {
    pub mode: u32,
    pub owner: Option<(u32, u32)>,
}

impl FileAttrs {
    /// Mode 0600, owned by the current user.
    pub const PRIVATE: FileAttrs = FileAttrs { mode: 0o600, owner: None };
}

/// Atomically replaces `path` with `bytes`, with `attrs`.
pub fn write_file(path: &Path, bytes: &[u8], attrs: FileAttrs) -> std::io::Result<()> {
    let file = temp_file_with(path, bytes, attrs)?;
    file.persist(path).map_err(|e| with_path(e.error, "cannot rename a temporary file to", path))?;
    sync_parent(path)
}

/// Atomically replaces `path` with `bytes`, mode 0600.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_file(path, bytes, FileAttrs::PRIVATE)
}

/// Atomically creates `path` with `bytes`, mode 0600; fails with `ErrorKind::AlreadyExists`
/// (leaving the existing file as it was) when `path` exists, even if another writer created it
/// a moment ago.
pub fn create_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let file = temp_file_with(path, bytes, FileAttrs::PRIVATE)?;
    match file.persist_noclobber(path) {
        Ok(_) => sync_parent(path),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Err(e.error),
        Err(e) => Err(with_path(e.error, "cannot link a temporary file to", path)),
    }
}

/// A new, uniquely named file beside `path` holding `bytes` (synced), with `attrs`.
fn temp_file_with(path: &Path, bytes: &[u8], attrs: FileAttrs) -> std::io::Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // A dot and a suffix no secret, credential or config name can have: a listing of the
    // directory never mistakes a temporary file for a finished one.
    let mut file = tempfile::Builder::new()
        .prefix(".")
        .suffix(".partial")
        .tempfile_in(dir)
        .map_err(|e| with_path(e, "cannot create a temporary file in", dir))?;
    let what = file.path().to_path_buf();
    // tempfile creates it 0600; the final mode and owner are set before the first byte is
    // written, so the value is never readable by anyone it is not meant for.
    let handle = file.as_file();
    handle
        .set_permissions(std::fs::Permissions::from_mode(attrs.mode))
        .map_err(|e| with_path(e, "cannot chmod", &what))?;
    if let Some((uid, gid)) = attrs.owner {
        std::os::unix::fs::fchown(handle, Some(uid), Some(gid)).map_err(|e| with_path(e, "cannot chown", &what))?;
    }
    file.write_all(bytes).map_err(|e| with_path(e, "cannot write", &what))?;
    file.as_file().sync_all().map_err(|e| with_path(e, "cannot sync", &what))?;
    Ok(file)
}

/// Makes the rename that put `path` in place durable.
fn sync_parent(path: &Path) -> std::io::Result<()> {
    let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) else { return Ok(()) };
    fs_err::File::open(dir)?.sync_all()
}

fn with_path(e: std::io::Error, what: &str, path: &Path) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn writes_replace_whole_files_with_the_mode_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.pass");
        write_private(&path, b"first").unwrap();
        write_file(&path, b"second", FileAttrs { mode: 0o400, owner: None }).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o400);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["db.pass"], "no temporary file is left behind");
    }

    #[test]
    fn files_whose_names_differ_only_in_extension_never_share_a_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        std::thread::scope(|s| {
            for t in 0..8 {
                let dir = dir.path();
                s.spawn(move || {
                    for i in 0..50 {
                        for ext in ["pass", "user", "tmp"] {
                            let value = format!("{ext}-{t}-{i}-").repeat(100 + i);
                            write_private(&dir.join(format!("db.{ext}")), value.as_bytes()).unwrap();
                        }
                    }
                });
            }
        });
        for ext in ["pass", "user", "tmp"] {
            let text = std::fs::read_to_string(dir.path().join(format!("db.{ext}"))).unwrap();
            let first = text.split('-').take(3).collect::<Vec<_>>().join("-") + "-";
            assert!(first.starts_with(&format!("{ext}-")), "db.{ext} holds another file's value");
            assert_eq!(text, first.repeat(text.len() / first.len()), "db.{ext} is not one whole value");
        }
    }

    #[test]
    fn create_private_never_replaces_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        create_private(&path, b"one").unwrap();
        let e = create_private(&path, b"two").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn errors_name_the_directory() {
        let e = write_private(Path::new("/nonexistent-rfaas-dir/x"), b"x").unwrap_err();
        assert!(e.to_string().contains("/nonexistent-rfaas-dir"), "{e}");
    }
}
