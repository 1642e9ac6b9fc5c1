//! Packing an assembled build context: one pass over its files (sorted, `.dockerignore`
//! applied) that produces both the tar the engine receives and the sha256 that decides whether
//! the image is already up to date.

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::dockerignore::DockerIgnore;

/// The image label that records the hash of what an image was built from.
pub const HASH_LABEL: &str = "com.rfaas.build.hash";

/// A context ready to send: the tar bytes and the build hash.
#[derive(Debug)]
pub struct Packed {
    pub tar: Vec<u8>,
    pub hash: String,
    pub files: usize,
}

/// Everything besides the files that changes what `docker build` produces.
#[derive(Debug)]
pub struct HashInputs<'a> {
    pub template: &'a str,
    pub build_args: &'a BTreeMap<String, String>,
    pub labels: &'a BTreeMap<String, String>,
}

/// Tars `dir` and hashes paths, modes and contents (sorted), then the build inputs.
pub fn pack(dir: &Path, inputs: &HashInputs) -> std::io::Result<Packed> {
    let ignore = match fs_err::read_to_string(dir.join(".dockerignore")) {
        Ok(text) => DockerIgnore::parse(&text),
        Err(_) => DockerIgnore::default(),
    };
    let mut hasher = Sha256::new();
    let mut builder = tar::Builder::new(Vec::new());
    let mut files = 0;
    let walker = walkdir::WalkDir::new(dir).min_depth(1).follow_links(true).sort_by_file_name();
    for entry in walker {
        let entry = entry.map_err(std::io::Error::other)?;
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let rel = rel.to_string_lossy().replace('\\', "/");
        let always = rel == "Dockerfile" || rel == ".dockerignore";
        if !always && ignore.excludes(&rel) {
            continue;
        }
        let meta = entry.metadata().map_err(std::io::Error::other)?;
        let mode = file_mode(&meta);
        let mut header = tar::Header::new_gnu();
        header.set_mode(mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(mtime(&meta));
        if meta.is_dir() {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_size(0);
            builder.append_data(&mut header, format!("{rel}/"), std::io::empty())?;
            hasher.update(format!("D\0{rel}\0{mode:o}\0").as_bytes());
        } else if meta.is_file() {
            let data = fs_err::read(entry.path())?;
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(data.len() as u64);
            builder.append_data(&mut header, &rel, data.as_slice())?;
            hasher.update(format!("F\0{rel}\0{mode:o}\0{}\0", data.len()).as_bytes());
            hasher.update(&data);
            files += 1;
        }
    }
    hash_inputs(&mut hasher, inputs);
    let tar = builder.into_inner()?;
    Ok(Packed { tar, hash: hex::encode(hasher.finalize()), files })
}

fn hash_inputs(hasher: &mut Sha256, inputs: &HashInputs) {
    hasher.update(format!("T\0{}\0", inputs.template).as_bytes());
    for (k, v) in inputs.build_args {
        hasher.update(format!("A\0{k}\0{v}\0").as_bytes());
    }
    for (k, v) in inputs.labels {
        hasher.update(format!("L\0{k}\0{v}\0").as_bytes());
    }
}

#[cfg(unix)]
fn file_mode(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn file_mode(meta: &std::fs::Metadata) -> u32 {
    if meta.is_dir() { 0o755 } else { 0o644 }
}

fn mtime(meta: &std::fs::Metadata) -> u64 {
    meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(dir: &Path, args: &BTreeMap<String, String>) -> String {
        let labels = BTreeMap::new();
        pack(dir, &HashInputs { template: "python3-http", build_args: args, labels: &labels }).unwrap().hash
    }

    #[test]
    fn hash_follows_content_mode_and_args_but_not_mtime_or_ignored_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM x\n").unwrap();
        std::fs::write(dir.path().join(".dockerignore"), "*.log\n").unwrap();
        std::fs::write(dir.path().join("a.txt"), "1").unwrap();
        let args = BTreeMap::new();
        let first = hash(dir.path(), &args);
        std::fs::write(dir.path().join("debug.log"), "noise").unwrap();
        std::fs::write(dir.path().join("a.txt"), "1").unwrap();
        assert_eq!(hash(dir.path(), &args), first, "ignored files and rewrites do not count");
        std::fs::write(dir.path().join("a.txt"), "2").unwrap();
        let second = hash(dir.path(), &args);
        assert_ne!(second, first);
        let with_arg = BTreeMap::from([("A".to_string(), "1".to_string())]);
        assert_ne!(hash(dir.path(), &with_arg), second);
        let packed = pack(dir.path(), &HashInputs { template: "t", build_args: &args, labels: &args }).unwrap();
        let names: Vec<String> = tar::Archive::new(packed.tar.as_slice())
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, [".dockerignore", "Dockerfile", "a.txt"]);
    }
}
