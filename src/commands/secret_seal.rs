//! `rfaas secret keygen|seal|unseal|generate`: local files only, no gateway.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use base64::Engine as _;

use crate::cli::secret_seal::{KeygenArgs, SealArgs, SecretGenerateArgs, UnsealArgs};
use crate::commands::Context;
use crate::private_files::{self, FileAttrs};
use crate::sealed;

/// A key file is 44 base64 characters; anything much bigger is the wrong file.
const MAX_KEY_FILE_BYTES: u64 = 4096;

pub fn keygen(args: KeygenArgs, ctx: &Context) -> anyhow::Result<()> {
    let private = ctx.cwd.join(&args.output);
    let public = with_pub(&private);
    for path in [&private, &public] {
        if path.exists() {
            return Err(crate::error::with_hint(
                anyhow::anyhow!("{} already exists; not overwriting a key", path.display()),
                "files sealed for the old key could no longer be opened: remove it first, or give another -o PATH",
            ));
        }
    }
    if let Some(dir) = private.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        create_dir_private(dir)?;
    }
    let pair = sealed::generate_keypair();
    private_files::create_private(&private, pair.private.as_bytes())
        .with_context(|| format!("cannot write the private key {}", private.display()))?;
    private_files::write_file(&public, pair.public.as_bytes(), FileAttrs { mode: 0o644, owner: None })
        .with_context(|| format!("cannot write the public key {}", public.display()))?;
    let key_id = sealed::key_id(pair.public.as_bytes())?;
    ctx.printer.data(&format!(
        "Wrote private key: {}\nWrote public key:  {}\nKey ID:            {key_id}",
        args.output.display(),
        with_pub(&args.output).display()
    ));
    Ok(())
}

/// `PATH.pub`, as faas-cli names the public key (not a replaced extension: `key.v1` → `key.v1.pub`).
fn with_pub(path: &Path) -> std::path::PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(".pub");
    s.into()
}

fn create_dir_private(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create the directory {}", dir.display()))
}

/// Reads at most `limit` bytes of `path` (relative to `cwd`, named as the user gave it),
/// failing when the file is longer.
fn read_limited(cwd: &Path, path: &Path, limit: u64, what: &str) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let file =
        std::fs::File::open(cwd.join(path)).with_context(|| format!("cannot read the {what} {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read the {what} {}", path.display()))?;
    if bytes.len() as u64 > limit {
        anyhow::bail!("the {what} {} is larger than {limit} bytes", path.display());
    }
    Ok(bytes)
}

/// A sealed secret's name: it may become a file name where the secrets are used, so only
/// letters, digits, `.`, `_` and `-`, and not `.` or `..`.
fn check_key(key: &str) -> anyhow::Result<()> {
    let ok = !key.is_empty()
        && key != "."
        && key != ".."
        && key.len() <= 253
        && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !ok {
        anyhow::bail!(
            "invalid secret key \"{key}\": use letters, digits, '.', '_' and '-' (it may become a file name)"
        );
    }
    Ok(())
}

pub fn seal(args: SealArgs, ctx: &Context) -> anyhow::Result<()> {
    if args.from_literal.is_empty() && args.from_file.is_empty() {
        return Err(crate::error::with_hint(
            anyhow::anyhow!("provide at least one secret via --from-literal or --from-file"),
            "rfaas secret seal key.pub --from-literal token=s3cr3t",
        ));
    }
    let public_key = read_limited(&ctx.cwd, &args.public_key, MAX_KEY_FILE_BYTES, "public key")?;
    let mut values = BTreeMap::new();
    let mut add = |key: &str, value: Vec<u8>| -> anyhow::Result<()> {
        check_key(key)?;
        if values.insert(key.to_string(), value).is_some() {
            anyhow::bail!("secret key \"{key}\" is given twice");
        }
        Ok(())
    };
    for (key, value) in &args.from_literal {
        add(key, value.clone().into_bytes())?;
    }
    for (key, path) in &args.from_file {
        if path.is_empty() {
            anyhow::bail!("invalid --from-file \"{key}=\": expected KEY=PATH");
        }
        let bytes =
            read_limited(&ctx.cwd, Path::new(path), sealed::MAX_VALUE_BYTES as u64, &format!("file for \"{key}\""))?;
        add(key, bytes)?;
    }
    let text =
        sealed::seal(&public_key, &values).with_context(|| format!("cannot seal for {}", args.public_key.display()))?;
    let out = ctx.cwd.join(&args.output);
    private_files::write_private(&out, text.as_bytes())
        .with_context(|| format!("cannot write the sealed file {}", out.display()))?;
    let key_id = sealed::key_id(&public_key)?;
    ctx.printer.status(&format!("Sealed {} secret(s) to {} (key ID: {key_id})", values.len(), args.output.display()));
    Ok(())
}

pub fn unseal(args: UnsealArgs, ctx: &Context) -> anyhow::Result<()> {
    let private_key = read_limited(&ctx.cwd, &args.private_key, MAX_KEY_FILE_BYTES, "private key")?;
    let envelope = read_limited(&ctx.cwd, &args.input, sealed::MAX_ENVELOPE_BYTES as u64, "sealed file")?;
    let context = || format!("cannot unseal {}", args.input.display());
    let opened = sealed::open(&private_key, &envelope).map_err(anyhow::Error::from).with_context(context)?;
    let values = match &args.key {
        Some(key) => {
            let value = opened.value(key).with_context(context)?;
            BTreeMap::from([(key.clone(), value)])
        }
        None => opened.values().with_context(context)?,
    };
    if args.json.is_json() {
        // Like faas-cli: JSON strings, so bytes that are not UTF-8 show as U+FFFD.
        let map: BTreeMap<&String, String> =
            values.iter().map(|(k, v)| (k, String::from_utf8_lossy(v).into_owned())).collect();
        return ctx.printer.json(&map);
    }
    let mut out = Vec::new();
    if let (Some(key), Some(value)) = (&args.key, values.values().next()) {
        debug_assert_eq!(values.len(), 1, "{key}");
        out.extend_from_slice(value);
    } else {
        for (k, v) in &values {
            out.extend_from_slice(k.as_bytes());
            out.push(b'=');
            out.extend_from_slice(v);
            out.push(b'\n');
        }
    }
    ctx.printer.raw(&out);
    Ok(())
}

pub fn generate(args: SecretGenerateArgs, ctx: &Context) -> anyhow::Result<()> {
    use rand::RngExt as _;
    let mut bytes = vec![0u8; args.length as usize];
    rand::rng().fill(bytes.as_mut_slice());
    let secret = base64::engine::general_purpose::STANDARD.encode(&bytes);
    match &args.output {
        Some(path) => {
            let full = ctx.cwd.join(path);
            if let Some(dir) = full.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
                create_dir_private(dir)?;
            }
            private_files::write_private(&full, secret.as_bytes())
                .with_context(|| format!("cannot write the secret to {}", full.display()))?;
            ctx.printer.status(&format!("Wrote {}-byte secret to {}", args.length, path.display()));
        }
        // Like faas-cli: a newline only for a terminal, so `$(rfaas secret generate)` and a
        // redirected file hold exactly the secret.
        None if std::io::IsTerminal::is_terminal(&std::io::stdout()) => ctx.printer.data(&secret),
        None => ctx.printer.raw(secret.as_bytes()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_key_names_that_could_escape_a_directory_are_refused() {
        for bad in ["", ".", "..", "../x", "a/b", "a b", "ключ"] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
        for good in ["pip_token", "ca.crt", "NPM-TOKEN"] {
            assert!(check_key(good).is_ok(), "{good:?}");
        }
    }
}
