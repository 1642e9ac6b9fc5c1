//! `./.secrets/`: one file per secret, the file name being the secret's name, as faas-cli keeps
//! them for `secret apply` and `local-run`.
//!
//! Reading the folder is separate from sending it, so every file is checked (name, size, where a
//! link points) before the gateway sees the first request: a folder with a problem changes
//! nothing.

use std::path::{Path, PathBuf};

use crate::openfaas::types::Secret;

/// The folder's name, beside the stack file.
pub const FOLDER: &str = ".secrets";
/// The largest secret file. The request carries a value twice (as text and as base64
/// `rawValue`, as faas-cli sends it), and gateways cap a request body at 2 MB (rfaas's, axum's
/// default): 512 KiB keeps the request below that, and is far above any token or certificate.
pub const MAX_SECRET_BYTES: u64 = 512 * 1024;
/// More files than this is not a secrets folder but a mistake (a home directory, a checkout).
pub const MAX_FILES: usize = 1000;

/// One file of the folder, and what is done with it.
#[derive(Debug)]
pub enum Entry {
    /// A valid secret, ready to send.
    Secret(Secret),
    /// A file that is not a secret, as faas-cli skips it: the name is not a valid secret name,
    /// or the value is empty.
    Skipped { name: String, reason: String },
}

/// Why the folder cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    #[error("secrets directory does not exist: {}", .0.display())]
    Missing(PathBuf),
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{} is {len} bytes; a secret can be at most {MAX_SECRET_BYTES} bytes", path.display())]
    TooLarge { path: PathBuf, len: u64 },
    #[error("{} links to {}, outside {FOLDER}/; refusing to send a file from elsewhere as a secret", path.display(), target.display())]
    Outside { path: PathBuf, target: PathBuf },
    #[error("{} holds more than {MAX_FILES} files; is it really the secrets folder?", .0.display())]
    TooMany(PathBuf),
}

impl crate::error::Hint for FolderError {
    fn hint(&self) -> Option<String> {
        match self {
            FolderError::Missing(_) => {
                Some(format!("create {FOLDER}/ with one file per secret, named as the secret, e.g. {FOLDER}/api-key"))
            }
            FolderError::Outside { .. } => Some("copy the file into the folder instead of linking to it".into()),
            _ => None,
        }
    }
}

/// Reads every file of `dir` (the `.secrets` folder), sorted by name. `trim` trims the text
/// `value`; `rawValue` always carries the file's exact bytes.
pub fn read(dir: &Path, namespace: &str, trim: bool) -> Result<Vec<Entry>, FolderError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| FolderError::Io { path, source }
    };
    if !dir.is_dir() {
        return Err(FolderError::Missing(dir.to_path_buf()));
    }
    let root = dir.canonicalize().map_err(io(dir))?;
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        names.push(entry.file_name());
        if names.len() > MAX_FILES {
            return Err(FolderError::TooMany(dir.to_path_buf()));
        }
    }
    names.sort();
    let mut out = Vec::new();
    for os_name in names {
        let path = dir.join(&os_name);
        let name = os_name.to_string_lossy().into_owned();
        let target = path.canonicalize().map_err(io(&path))?;
        if target.parent() != Some(root.as_path()) && !target.is_dir() {
            return Err(FolderError::Outside { path, target });
        }
        let meta = std::fs::metadata(&target).map_err(io(&path))?;
        if meta.is_dir() {
            continue;
        }
        if let Some(problem) = crate::stack::rules::dns_subdomain_problem(&name) {
            out.push(Entry::Skipped { name, reason: format!("not a valid secret name: it {problem}") });
            continue;
        }
        if meta.len() > MAX_SECRET_BYTES {
            return Err(FolderError::TooLarge { path, len: meta.len() });
        }
        let bytes = read_capped(&path).map_err(io(&path))?;
        if bytes.len() as u64 > MAX_SECRET_BYTES {
            return Err(FolderError::TooLarge { path, len: bytes.len() as u64 });
        }
        let text = String::from_utf8_lossy(&bytes);
        let value = if trim { text.trim().to_string() } else { text.into_owned() };
        if value.is_empty() {
            out.push(Entry::Skipped { name, reason: "the file is empty".into() });
            continue;
        }
        out.push(Entry::Secret(Secret { name, namespace: namespace.to_string(), value, raw_value: Some(bytes) }));
    }
    Ok(out)
}

/// The file's bytes, reading at most one byte past the limit (the file may grow after `stat`).
fn read_capped(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(MAX_SECRET_BYTES + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(entries: &[Entry]) -> Vec<(&str, &[u8])> {
        entries
            .iter()
            .filter_map(|e| match e {
                Entry::Secret(s) => Some((s.name.as_str(), s.raw_value.as_deref().unwrap_or_default())),
                Entry::Skipped { .. } => None,
            })
            .collect()
    }

    #[test]
    fn files_become_secrets_byte_exact_and_bad_names_and_empty_files_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("api-key"), b" k3y \n").unwrap();
        std::fs::write(d.join("bin"), [0u8, 255, 10]).unwrap();
        std::fs::write(d.join("Upper"), b"x").unwrap();
        std::fs::write(d.join(".gitkeep"), b"").unwrap();
        std::fs::write(d.join("blank"), b"  \n").unwrap();
        std::fs::create_dir(d.join("sub")).unwrap();
        let entries = read(d, "dev", true).unwrap();
        assert_eq!(secrets(&entries), vec![("api-key", &b" k3y \n"[..]), ("bin", &[0u8, 255, 10][..])]);
        let Entry::Secret(s) = &entries.iter().find(|e| matches!(e, Entry::Secret(s) if s.name == "api-key")).unwrap()
        else {
            unreachable!()
        };
        assert_eq!((s.value.as_str(), s.namespace.as_str()), ("k3y", "dev"));
        let skipped: Vec<&str> = entries
            .iter()
            .filter_map(|e| if let Entry::Skipped { name, .. } = e { Some(name.as_str()) } else { None })
            .collect();
        assert_eq!(skipped, vec![".gitkeep", "Upper", "blank"]);
    }

    #[test]
    fn a_link_out_of_the_folder_and_a_huge_file_fail_the_whole_folder() {
        let dir = tempfile::tempdir().unwrap();
        let secrets_dir = dir.path().join(FOLDER);
        std::fs::create_dir(&secrets_dir).unwrap();
        std::fs::write(dir.path().join("outside"), b"not a secret").unwrap();
        std::os::unix::fs::symlink("../outside", secrets_dir.join("stolen")).unwrap();
        assert!(matches!(read(&secrets_dir, "", true), Err(FolderError::Outside { .. })));
        std::fs::remove_file(secrets_dir.join("stolen")).unwrap();
        std::fs::write(secrets_dir.join("real"), b"v").unwrap();
        std::os::unix::fs::symlink("real", secrets_dir.join("alias")).unwrap();
        assert_eq!(secrets(&read(&secrets_dir, "", true).unwrap()).len(), 2);
        let big = std::fs::File::create(secrets_dir.join("big")).unwrap();
        big.set_len(MAX_SECRET_BYTES + 1).unwrap();
        assert!(matches!(read(&secrets_dir, "", true), Err(FolderError::TooLarge { .. })));
        assert!(matches!(read(&dir.path().join("nope"), "", true), Err(FolderError::Missing(_))));
    }
}
