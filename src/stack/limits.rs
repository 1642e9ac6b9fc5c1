//! The bounds on a YAML document rfaas reads from a user, and the one bounded way to read one.
//!
//! Every user YAML file (stack files, local or remote; `environment_file` entries; config.yml;
//! template.yml) is read through [`read`] (or, for a remote stack, with [`MAX_DOCUMENT_BYTES`] as
//! its cap) and parsed by [`super::yaml_tree::parse`], which enforces the other limits here. A
//! hostile file (an alias bomb, deep nesting, `/dev/zero`, a FIFO) therefore gets an error naming
//! the limit instead of exhausting memory, overflowing the stack or blocking.
//!
//! The limits sit far above any real stack: the largest real stacks are tens of kilobytes, a few
//! thousand nodes, nested about six levels, with aliases copying a few hundred nodes. At the
//! limits the parser's peak memory stays in the low hundreds of MiB (measured by the regression
//! tests in tests/it/stack_limits.rs, which run under a 512 MiB address-space cap).

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// The largest YAML document, in bytes, before or after `${VAR}` substitution: 16 MiB, several
/// hundred times the largest real stack file.
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

/// How deep collections may nest, aliases included. Real stacks nest about six levels; serde_yaml
/// (which decodes template.yml after this check) stops at the same depth. The tree is dropped and
/// cloned recursively, so depth costs native stack.
pub const MAX_DEPTH: usize = 128;

/// How many nodes (keys, values, list items) a document may hold once anchors and aliases are
/// expanded, counting the copy an anchor keeps. A real stack has a few thousand.
pub const MAX_NODES: usize = 1_000_000;

/// How many bytes of scalar text a document may hold once anchors and aliases are expanded
/// (twice [`MAX_DOCUMENT_BYTES`]): each alias of one long string is a few bytes of YAML, but a
/// million of them are gigabytes of text.
pub const MAX_TEXT_BYTES: usize = 2 * MAX_DOCUMENT_BYTES;

/// How deep `${...}` may nest inside one another (`${A:-${B:-${C}}}` is 3). Real stacks use 2.
pub const MAX_SUBSTITUTION_DEPTH: usize = 32;

/// The message for a document over [`MAX_DOCUMENT_BYTES`]; `size` is `None` when reading stopped
/// at the limit without learning the whole size.
pub fn too_large(size: Option<u64>) -> String {
    let size = match size {
        Some(n) => format!("{n} bytes"),
        None => format!("more than {MAX_DOCUMENT_BYTES} bytes"),
    };
    format!("the document is {size}, over the limit of {MAX_DOCUMENT_BYTES} bytes (16 MiB) for a YAML document")
}

/// Which kinds of file a read accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// Regular files only, opened without blocking. For files that a document or a directory
    /// names (`environment_file`, config.yml, template.yml), which a hostile stack could point at
    /// a FIFO (that would block) or a device such as `/dev/zero` (that never ends).
    RegularFiles,
    /// Pipes and character devices too, read up to the size limit. For a file the user named on
    /// the command line, as in `-f <(envsubst < stack.tpl)` or `-f /dev/stdin`.
    Streams,
}

/// Why a document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("it is {0}, not a regular file")]
    NotRegular(&'static str),
    #[error("{}", too_large(*.0))]
    TooLarge(Option<u64>),
}

/// Reads the UTF-8 document at `path`, refusing what `accept` does not allow and anything over
/// [`MAX_DOCUMENT_BYTES`] (a regular file by its size, before reading; a stream once it passes it).
pub fn read(path: &Path, accept: Accept) -> Result<String, ReadError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    if accept == Accept::RegularFiles {
        // Opening a FIFO for reading blocks until a writer appears, unless O_NONBLOCK is set.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    let kind = meta.file_type();
    if kind.is_file() {
        if meta.len() > MAX_DOCUMENT_BYTES as u64 {
            return Err(ReadError::TooLarge(Some(meta.len())));
        }
    } else if kind.is_dir() || accept == Accept::RegularFiles {
        return Err(ReadError::NotRegular(kind_name(&kind)));
    }
    let bytes = read_bounded(file)?;
    String::from_utf8(bytes)
        .map_err(|_| ReadError::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, "the file is not UTF-8 text")))
}

/// Reads at most one byte past the limit, so a file that grows while read (or `/dev/zero`) stops.
fn read_bounded(file: File) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::new();
    file.take(MAX_DOCUMENT_BYTES as u64 + 1).read_to_end(&mut bytes)?;
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(ReadError::TooLarge(None));
    }
    Ok(bytes)
}

fn kind_name(kind: &std::fs::FileType) -> &'static str {
    if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_are_read_and_others_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.yml");
        std::fs::write(&file, "a: 1\n").unwrap();
        assert_eq!(read(&file, Accept::RegularFiles).unwrap(), "a: 1\n");
        let fifo = dir.path().join("fifo");
        let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        // No writer: a blocking open would hang this test.
        let err = read(&fifo, Accept::RegularFiles).unwrap_err();
        assert_eq!(err.to_string(), "it is a FIFO (named pipe), not a regular file");
        let err = read(dir.path(), Accept::Streams).unwrap_err();
        assert_eq!(err.to_string(), "it is a directory, not a regular file");
        let err = read(Path::new("/dev/zero"), Accept::RegularFiles).unwrap_err();
        assert_eq!(err.to_string(), "it is a character device, not a regular file");
    }

    #[test]
    fn streams_stop_at_the_limit_and_large_files_fail_before_reading() {
        let err = read(Path::new("/dev/zero"), Accept::Streams).unwrap_err();
        assert!(matches!(err, ReadError::TooLarge(None)), "{err}");
        assert!(err.to_string().starts_with("the document is more than 16777216 bytes, over the limit"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.yml");
        let file = File::create(&big).unwrap();
        file.set_len(MAX_DOCUMENT_BYTES as u64 + 1).unwrap();
        let err = read(&big, Accept::RegularFiles).unwrap_err();
        assert!(err.to_string().starts_with("the document is 16777217 bytes, over the limit"), "{err}");
    }
}
