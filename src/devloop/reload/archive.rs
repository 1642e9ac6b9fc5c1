//! The tar a reload uploads to `/home/app`: `function/…` (the handler folder as it is on disk,
//! byte for byte, with its modes, owned by the image's user) and the reload id file.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tar::{EntryType, Header};

use super::RELOAD_ID_FILE;
use crate::gateway::image_user::Owner;

/// Folders never copied: installed dependencies and Python's byte-code caches belong to the
/// image, not to the host.
pub const ALWAYS_LEFT_OUT: [&str; 2] = ["node_modules", "__pycache__"];

/// Where the handler folder goes in the tar (and so under `/home/app`).
const FUNCTION_DIR: &str = "function";

/// An IO failure and the path it happened on.
pub type PathError = (PathBuf, std::io::Error);

/// The tar bytes for `handler_dir` (minus what `ignore` leaves out) and reload `id`.
pub fn handler_archive(
    handler_dir: &Path,
    ignore: &(dyn Fn(&Path) -> bool + Sync),
    owner: Owner,
    id: &str,
) -> Result<Vec<u8>, PathError> {
    let mut tar = tar::Builder::new(Vec::new());
    let walk = walkdir::WalkDir::new(handler_dir).follow_links(false).sort_by_file_name().into_iter();
    for entry in walk.filter_entry(|e| e.depth() == 0 || !left_out(e.path(), ignore)) {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(handler_dir).to_path_buf();
            (path, e.into_io_error().unwrap_or_else(|| std::io::Error::other("a symlink loop")))
        })?;
        let relative = entry.path().strip_prefix(handler_dir).unwrap_or(entry.path());
        let in_tar = if relative.as_os_str().is_empty() {
            PathBuf::from(FUNCTION_DIR)
        } else {
            Path::new(FUNCTION_DIR).join(relative)
        };
        append(&mut tar, entry.path(), &in_tar, owner).map_err(|e| (entry.path().to_path_buf(), e))?;
    }
    let mut header = owned_header(EntryType::Regular, 0o644, owner, now());
    let line = format!("{id}\n");
    header.set_size(line.len() as u64);
    tar.append_data(&mut header, RELOAD_ID_FILE, line.as_bytes()).map_err(|e| (PathBuf::from(RELOAD_ID_FILE), e))?;
    tar.into_inner().map_err(|e| (handler_dir.to_path_buf(), e))
}

fn left_out(path: &Path, ignore: &(dyn Fn(&Path) -> bool + Sync)) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    ALWAYS_LEFT_OUT.contains(&name) || ignore(path)
}

/// Adds the file, folder or symlink at `path` as `in_tar`.
fn append(tar: &mut tar::Builder<Vec<u8>>, path: &Path, in_tar: &Path, owner: Owner) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    let mode = meta.permissions().mode() & 0o7777;
    let mtime = u64::try_from(meta.mtime()).unwrap_or(0);
    if meta.file_type().is_symlink() {
        let mut header = owned_header(EntryType::Symlink, mode, owner, mtime);
        tar.append_link(&mut header, in_tar, std::fs::read_link(path)?)
    } else if meta.is_dir() {
        let mut header = owned_header(EntryType::Directory, mode, owner, mtime);
        tar.append_data(&mut header, in_tar, std::io::empty())
    } else if meta.is_file() {
        let mut header = owned_header(EntryType::Regular, mode, owner, mtime);
        header.set_size(meta.len());
        tar.append_data(&mut header, in_tar, std::fs::File::open(path)?)
    } else {
        Ok(()) // sockets, fifos, devices: nothing a handler ships
    }
}

fn owned_header(kind: EntryType, mode: u32, owner: Owner, mtime: u64) -> Header {
    let mut header = Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_uid(u64::from(owner.uid));
    header.set_gid(u64::from(owner.gid));
    header.set_mtime(mtime);
    header.set_size(0);
    header
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    const APP: Owner = Owner { uid: 999, gid: 998 };

    struct Entry {
        path: String,
        kind: EntryType,
        mode: u32,
        uid: u64,
        gid: u64,
        bytes: Vec<u8>,
        link: Option<String>,
    }

    fn entries(tar: &[u8]) -> Vec<Entry> {
        let mut archive = tar::Archive::new(tar);
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let header = e.header().clone();
                let mut bytes = Vec::new();
                e.read_to_end(&mut bytes).unwrap();
                Entry {
                    path: e.path().unwrap().display().to_string(),
                    kind: header.entry_type(),
                    mode: header.mode().unwrap(),
                    uid: header.uid().unwrap(),
                    gid: header.gid().unwrap(),
                    bytes,
                    link: e.link_name().unwrap().map(|l| l.display().to_string()),
                }
            })
            .collect()
    }

    fn write(dir: &Path, rel: &str, bytes: &[u8], mode: u32) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn files_are_copied_byte_for_byte_with_their_modes_and_the_image_users_owner() {
        let dir = tempfile::tempdir().unwrap();
        let binary: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        write(dir.path(), "handler.py", b"def handle(e, c):\n    return 'v2'\n", 0o644);
        write(dir.path(), "run.sh", b"#!/bin/sh\n", 0o750);
        write(dir.path(), "lib/data.bin", &binary, 0o600);
        std::os::unix::fs::symlink("handler.py", dir.path().join("alias.py")).unwrap();

        let tar = handler_archive(dir.path(), &|_| false, APP, "42-0-7").unwrap();
        let all = entries(&tar);
        let paths: Vec<&str> = all.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "function",
                "function/alias.py",
                "function/handler.py",
                "function/lib",
                "function/lib/data.bin",
                "function/run.sh",
                ".rfaas-reload"
            ]
        );
        assert!(all.iter().all(|e| (e.uid, e.gid) == (999, 998)), "every entry is owned by 999:998");
        let by_path = |p: &str| all.iter().find(|e| e.path == p).unwrap();
        assert_eq!(by_path("function/handler.py").bytes, b"def handle(e, c):\n    return 'v2'\n");
        assert_eq!(by_path("function/handler.py").mode, 0o644);
        assert_eq!(by_path("function/run.sh").mode, 0o750);
        assert_eq!(by_path("function/lib/data.bin").bytes, binary);
        assert_eq!(by_path("function/lib/data.bin").mode, 0o600);
        assert_eq!(by_path("function/lib").kind, EntryType::Directory);
        assert_eq!(by_path("function/alias.py").kind, EntryType::Symlink);
        assert_eq!(by_path("function/alias.py").link.as_deref(), Some("handler.py"));
        let id = by_path(".rfaas-reload");
        assert_eq!((id.bytes.as_slice(), id.mode, id.kind), (&b"42-0-7\n"[..], 0o644, EntryType::Regular));
    }

    #[test]
    fn dependencies_caches_and_ignored_paths_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "handler.js", b"module.exports = () => 1;\n", 0o644);
        write(dir.path(), "node_modules/left-pad/index.js", b"x", 0o644);
        write(dir.path(), "sub/__pycache__/handler.cpython-311.pyc", b"x", 0o644);
        write(dir.path(), "sub/keep.js", b"k", 0o644);
        write(dir.path(), "notes.tmp", b"x", 0o644);
        write(dir.path(), "build/out.js", b"x", 0o644);
        let root = dir.path().to_path_buf();
        let ignore = move |p: &Path| p.extension().is_some_and(|e| e == "tmp") || p == root.join("build");

        let tar = handler_archive(dir.path(), &ignore, APP, "1").unwrap();
        let paths: Vec<String> = entries(&tar).into_iter().map(|e| e.path).collect();
        assert_eq!(paths, ["function", "function/handler.js", "function/sub", "function/sub/keep.js", ".rfaas-reload"]);
    }

    #[test]
    fn a_missing_handler_folder_names_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let (path, err) = handler_archive(&missing, &|_| false, APP, "1").unwrap_err();
        assert_eq!(path, missing);
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    }
}
