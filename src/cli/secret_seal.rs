//! Flags of `secret keygen|seal|unseal|generate|apply`, as faas-cli 0.18 spells them.

use std::path::PathBuf;

use clap::{ArgAction, Args};

use super::{ApiArgs, NamespaceArg};

pub const KEYGEN_EXAMPLES: &str = "Examples:
  rfaas secret keygen                       # ./key (0600) and ./key.pub
  rfaas secret keygen -o ./keys/builder     # ./keys/builder and ./keys/builder.pub";

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Path of the private key; the public key is written beside it with .pub appended
    #[arg(short = 'o', long, default_value = "key", value_name = "PATH")]
    pub output: PathBuf,
}

pub const SEAL_EXAMPLES: &str = "Examples:
  rfaas secret seal key.pub --from-literal pip_token=s3cr3t --from-literal npm_token=tok123
  rfaas secret seal key.pub --from-file ca.crt=./certs/ca.crt     # binary-safe
  rfaas secret seal key.pub --from-literal token=s3cr3t -o ./build/com.openfaas.secrets";

#[derive(Debug, Args)]
pub struct SealArgs {
    /// The recipient's public key file (from `rfaas secret keygen` or `faas-cli secret keygen`)
    #[arg(value_name = "PUBLIC_KEY_FILE")]
    pub public_key: PathBuf,
    /// A secret given literally, KEY=VALUE (repeatable; visible in `ps`, prefer --from-file)
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_key_and)]
    pub from_literal: Vec<(String, String)>,
    /// A secret read from a file, KEY=PATH; the bytes are sealed exactly (repeatable)
    #[arg(long, value_name = "KEY=PATH", value_parser = parse_key_and)]
    pub from_file: Vec<(String, String)>,
    /// The sealed file to write (mode 0600)
    #[arg(short = 'o', long, default_value = crate::sealed::DEFAULT_FILE, value_name = "PATH")]
    pub output: PathBuf,
}

pub const UNSEAL_EXAMPLES: &str = "Examples:
  rfaas secret unseal key                        # KEY=VALUE lines
  rfaas secret unseal key --key pip_token        # just that value, byte-exact
  rfaas secret unseal key --in ./build/com.openfaas.secrets --json";

#[derive(Debug, Args)]
pub struct UnsealArgs {
    /// The private key file the secrets were sealed for
    #[arg(value_name = "PRIVATE_KEY_FILE")]
    pub private_key: PathBuf,
    /// The sealed secrets file
    #[arg(long = "in", default_value = crate::sealed::DEFAULT_FILE, value_name = "PATH")]
    pub input: PathBuf,
    /// Print only this secret's value, exactly as sealed
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    #[command(flatten)]
    pub json: super::JsonArg,
}

pub const GENERATE_SECRET_EXAMPLES: &str = "Examples:
  rfaas secret generate                       # 32 random bytes, base64, on stdout
  rfaas secret generate -o payload.txt        # written to a 0600 file
  rfaas secret generate --length 64";

#[derive(Debug, Args)]
pub struct SecretGenerateArgs {
    /// Number of random bytes (before base64)
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=65536), value_name = "N")]
    pub length: u32,
    /// Write the secret to this file (mode 0600) instead of stdout
    #[arg(short = 'o', long, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

pub const APPLY_EXAMPLES: &str = "Examples:
  rfaas secret apply                          # every file in ./.secrets/ (the name is the secret's)
  rfaas secret apply --namespace staging
  rfaas secret apply --gateway http://127.0.0.1:8080 --trim=false";

#[derive(Debug, Args)]
pub struct SecretApplyArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub namespace: NamespaceArg,
    /// Trim whitespace around each value's text (the exact bytes are always sent as rawValue)
    #[arg(long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", require_equals = true, value_name = "BOOL")]
    pub trim: bool,
}

/// `KEY=REST` with a non-empty key; the rest may be empty only for literals.
fn parse_key_and(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("\"{s}\" is not in KEY=VALUE form")),
    }
}
