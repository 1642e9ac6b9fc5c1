//! Sealed build secrets in faas-cli's envelope format (`secret keygen|seal|unseal`).
//!
//! An envelope is YAML with `version: v1`, `algorithm: nacl/box`, the recipient's `key_id` (the
//! first 8 base64 characters of its public key), the ephemeral sender's `public_key`, and
//! `secrets:` whose names are in clear text and whose values are each `base64(nonce ‖ box)`: a
//! fresh 24-byte nonce followed by the NaCl box (Curve25519, XSalsa20-Poly1305; tag first) of the
//! value. Keys are 32 raw bytes written as standard base64 without a newline, the way
//! `faas-cli secret keygen` writes them, so files and keys move freely between the two tools.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use crypto_box::aead::{Aead, AeadCore, OsRng};
use crypto_box::{PublicKey, SalsaBox, SecretKey};

/// The envelope format version faas-cli writes and reads.
pub const VERSION: &str = "v1";
/// The only algorithm of that version.
pub const ALGORITHM: &str = "nacl/box";
/// faas-cli's default name for a sealed file, which its builder looks for in a build context.
pub const DEFAULT_FILE: &str = "com.openfaas.secrets";
/// The largest value that may be sealed: the size Kubernetes allows a Secret, far above any
/// token or certificate, and small enough that a mistaken path (a disk image) fails fast.
pub const MAX_VALUE_BYTES: usize = 1024 * 1024;
/// The largest envelope read: every value at its limit would be far larger, but an envelope holds
/// a few build secrets; a bigger file is not an envelope.
pub const MAX_ENVELOPE_BYTES: usize = 16 * 1024 * 1024;

const NONCE_LEN: usize = 24;

/// Why a key, an envelope or a value could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("the {which} key is not valid: {problem}")]
    Key { which: &'static str, problem: String },
    #[error("not a sealed secrets file: {0}")]
    Envelope(String),
    #[error("unsupported envelope version \"{0}\" (expected \"{VERSION}\")")]
    Version(String),
    #[error("unsupported algorithm \"{0}\" (expected \"{ALGORITHM}\")")]
    Algorithm(String),
    #[error("the value of \"{key}\" is not valid base64: {problem}")]
    Base64 { key: String, problem: String },
    #[error("the value of \"{key}\" is too short to be sealed ({len} bytes, at least {min} needed)")]
    TooShort { key: String, len: usize, min: usize },
    #[error(
        "cannot decrypt \"{key}\": this private key does not match the key the file was sealed for (key ID {key_id}), or the file is corrupted"
    )]
    Decrypt { key: String, key_id: String },
    #[error("no secret \"{0}\" in the sealed file")]
    NoSuchKey(String),
    #[error("secret \"{key}\" is {len} bytes; at most {MAX_VALUE_BYTES} bytes can be sealed")]
    TooLarge { key: String, len: usize },
}

impl crate::error::Hint for SealError {
    fn hint(&self) -> Option<String> {
        match self {
            SealError::Decrypt { key_id, .. } => {
                Some(format!("use the private key whose .pub has key ID {key_id} (`rfaas secret keygen` prints it)"))
            }
            SealError::NoSuchKey(_) => Some("`rfaas secret unseal KEYFILE` lists every key".to_string()),
            SealError::Key { .. } => Some(
                "a key file holds 32 bytes as base64, as `rfaas secret keygen` or `faas-cli secret keygen` write it"
                    .to_string(),
            ),
            _ => None,
        }
    }
}

/// A new keypair, each key as base64 text.
pub struct KeyPair {
    pub public: String,
    pub private: String,
}

/// Generates a Curve25519 keypair.
pub fn generate_keypair() -> KeyPair {
    let secret = SecretKey::generate(&mut OsRng);
    KeyPair { public: BASE64.encode(secret.public_key().as_bytes()), private: BASE64.encode(secret.to_bytes()) }
}

/// Decodes a base64 key of 32 bytes; surrounding whitespace (a newline an editor added) is ignored.
fn decode_key(text: &[u8], which: &'static str) -> Result<[u8; 32], SealError> {
    let text = String::from_utf8_lossy(text);
    let raw = BASE64.decode(text.trim()).map_err(|e| SealError::Key { which, problem: format!("not base64 ({e})") })?;
    raw.as_slice()
        .try_into()
        .map_err(|_| SealError::Key { which, problem: format!("expected 32 bytes, got {}", raw.len()) })
}

/// The key ID of a public key: the first 8 characters of its base64 form.
pub fn key_id(public_key: &[u8]) -> Result<String, SealError> {
    let key = decode_key(public_key, "public")?;
    Ok(BASE64.encode(key)[..8].to_string())
}

/// Seals each value for the holder of `public_key`'s private key; returns the envelope text.
pub fn seal(public_key: &[u8], values: &BTreeMap<String, Vec<u8>>) -> Result<String, SealError> {
    let recipient = PublicKey::from(decode_key(public_key, "public")?);
    if let Some((key, v)) = values.iter().find(|(_, v)| v.len() > MAX_VALUE_BYTES) {
        return Err(SealError::TooLarge { key: key.clone(), len: v.len() });
    }
    let ephemeral = SecretKey::generate(&mut OsRng);
    let sealer = SalsaBox::new(&recipient, &ephemeral);
    let mut sealed = BTreeMap::new();
    for (key, value) in values {
        let nonce = SalsaBox::generate_nonce(&mut OsRng);
        // Encryption cannot fail for an in-memory value below the size limit.
        let ciphertext = sealer
            .encrypt(&nonce, value.as_slice())
            .map_err(|_| SealError::TooLarge { key: key.clone(), len: value.len() })?;
        let mut combined = nonce.to_vec();
        combined.extend_from_slice(&ciphertext);
        sealed.insert(key.clone(), BASE64.encode(combined));
    }
    Ok(render_envelope(
        &BASE64.encode(recipient.as_bytes())[..8],
        &BASE64.encode(ephemeral.public_key().as_bytes()),
        &sealed,
    ))
}

/// The envelope as yaml.v3's `Marshal` lays it out (4-space indent, keys sorted).
fn render_envelope(key_id: &str, public_key: &str, secrets: &BTreeMap<String, String>) -> String {
    use crate::go_yaml::scalar;
    let mut out = format!(
        "version: {}\nalgorithm: {}\nkey_id: {}\npublic_key: {}\n",
        scalar(VERSION, 0),
        scalar(ALGORITHM, 0),
        scalar(key_id, 0),
        scalar(public_key, 0)
    );
    if secrets.is_empty() {
        out.push_str("secrets: {}\n");
        return out;
    }
    out.push_str("secrets:\n");
    for (k, v) in secrets {
        out.push_str(&format!("    {}: {}\n", scalar(k, 4), scalar(v, 4)));
    }
    out
}

#[derive(serde::Deserialize)]
struct Envelope {
    #[serde(default)]
    version: String,
    #[serde(default)]
    algorithm: String,
    #[serde(default)]
    key_id: String,
    #[serde(default)]
    public_key: String,
    #[serde(default)]
    secrets: BTreeMap<String, String>,
}

/// A parsed envelope, ready to open.
pub struct Opened {
    envelope: Envelope,
    sender: PublicKey,
    opener: SalsaBox,
}

/// Parses `envelope` and checks its version, algorithm and keys, without decrypting anything.
pub fn open(private_key: &[u8], envelope: &[u8]) -> Result<Opened, SealError> {
    let secret = SecretKey::from(decode_key(private_key, "private")?);
    if envelope.len() > MAX_ENVELOPE_BYTES {
        return Err(SealError::Envelope(format!("it is {} bytes, more than {MAX_ENVELOPE_BYTES}", envelope.len())));
    }
    let envelope: Envelope = serde_yaml::from_slice(envelope).map_err(|e| SealError::Envelope(e.to_string()))?;
    if envelope.version != VERSION {
        return Err(SealError::Version(envelope.version));
    }
    if envelope.algorithm != ALGORITHM {
        return Err(SealError::Algorithm(envelope.algorithm));
    }
    let sender = PublicKey::from(decode_key(envelope.public_key.as_bytes(), "envelope's public")?);
    let opener = SalsaBox::new(&sender, &secret);
    Ok(Opened { envelope, sender, opener })
}

impl Opened {
    /// The key ID the file was sealed for, as recorded in it.
    pub fn key_id(&self) -> &str {
        &self.envelope.key_id
    }

    /// The sender's (ephemeral) public key.
    pub fn sender(&self) -> &PublicKey {
        &self.sender
    }

    /// Decrypts one value.
    pub fn value(&self, key: &str) -> Result<Vec<u8>, SealError> {
        let encoded = self.envelope.secrets.get(key).ok_or_else(|| SealError::NoSuchKey(key.to_string()))?;
        let combined = BASE64
            .decode(encoded.trim())
            .map_err(|e| SealError::Base64 { key: key.to_string(), problem: e.to_string() })?;
        // A box is at least its 16-byte tag.
        let min = NONCE_LEN + 16;
        if combined.len() < min {
            return Err(SealError::TooShort { key: key.to_string(), len: combined.len(), min });
        }
        let (nonce, ciphertext) = combined.split_at(NONCE_LEN);
        self.opener
            .decrypt(nonce.into(), ciphertext)
            .map_err(|_| SealError::Decrypt { key: key.to_string(), key_id: self.envelope.key_id.clone() })
    }

    /// Decrypts every value; the first failure fails the whole, so nothing partial is shown.
    pub fn values(&self) -> Result<BTreeMap<String, Vec<u8>>, SealError> {
        self.envelope.secrets.keys().map(|k| Ok((k.clone(), self.value(k)?))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The NaCl `crypto_box` test vector (as published with libsodium and PHP sodium_compat):
    // Alice (the sender) boxes a 131-byte message for Bob with a fixed nonce. Wrapped in an
    // envelope by hand, it checks the format derivation against NaCl's own numbers, independently
    // of the seal half of this module.
    const ALICE_PUBLIC: &str = "ac3a70ba35df3c3fae427a7c72021d68f2c1e044040b75f17313c0c8b5d4241d";
    const BOB_SECRET: &str = "b581fb5ae182a16f603f39270d4e3b95bc008310b727a11dd4e784a0044d461b";
    const BOB_PUBLIC: &str = "e8980c86e032f1eb2975052e8d65bddd15c3b59641174ec9678a53789d92c754";
    const NONCE: &str = "69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37";
    const PLAINTEXT: &str = "be075fc53c81f2d5cf141316ebeb0c7b5228c52a4c62cbd44b66849b64244ffce5ecbaaf33bd751a1ac728d45e6c61296cdc3c01233561f41db66cce314adb310e3be8250c46f06dceea3a7fa1348057e2f6556ad6b1318a024a838f21af1fde048977eb48f59ffd4924ca1c60902e52f0a089bc76897040e082f937763848645e0705";
    const BOX: &str = "c03f27d188ef650cd12936913137bb17ed4c98c2648939e2e1d2e855470a7b8c632cabfd5ab3b3c2d313dc8c9ecf5da173e1f9c318cdef1dced6d2519e695085e6b5c401a2bd5331442986c7076d412625497c4cb2fd94c6f103961033b2c930d7e82e0341f29d3879bd6ab9d881ea3a1f365d634e653c6e171aac7fc1e76934d23be6f04a54010808dbf0f9bd30f63b68d026";

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn opens_the_nacl_test_vector_wrapped_as_faas_cli_wraps_it() {
        let mut combined = hex(NONCE);
        combined.extend(hex(BOX));
        let envelope = format!(
            "version: v1\nalgorithm: nacl/box\nkey_id: {}\npublic_key: {}\nsecrets:\n    msg: {}\n",
            key_id(BASE64.encode(hex(BOB_PUBLIC)).as_bytes()).unwrap(),
            BASE64.encode(hex(ALICE_PUBLIC)),
            BASE64.encode(&combined)
        );
        let opened = open(BASE64.encode(hex(BOB_SECRET)).as_bytes(), envelope.as_bytes()).unwrap();
        assert_eq!(opened.value("msg").unwrap(), hex(PLAINTEXT));
        assert_eq!(opened.key_id(), &BASE64.encode(hex(BOB_PUBLIC))[..8]);
    }

    #[test]
    fn seal_then_unseal_is_byte_exact_and_lays_out_like_yaml_v3() {
        let pair = generate_keypair();
        let values: BTreeMap<String, Vec<u8>> =
            [("b".to_string(), vec![0, 255, 10, 13]), ("a".to_string(), b"s3cr3t".to_vec())].into();
        let text = seal(pair.public.as_bytes(), &values).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "version: v1");
        assert_eq!(lines[1], "algorithm: nacl/box");
        assert!(lines[2].starts_with("key_id: "));
        assert!(lines[3].starts_with("public_key: "));
        assert_eq!(lines[4], "secrets:");
        assert!(lines[5].starts_with("    a: ") && lines[6].starts_with("    b: "), "{text}");
        let opened = open(pair.private.as_bytes(), text.as_bytes()).unwrap();
        assert_eq!(opened.values().unwrap(), values);
        assert_eq!(opened.key_id(), key_id(pair.public.as_bytes()).unwrap());
    }

    #[test]
    fn the_wrong_key_is_named_as_the_cause() {
        let right = generate_keypair();
        let wrong = generate_keypair();
        let text = seal(right.public.as_bytes(), &[("t".to_string(), b"x".to_vec())].into()).unwrap();
        let err = open(wrong.private.as_bytes(), text.as_bytes()).unwrap().values().unwrap_err();
        assert!(matches!(err, SealError::Decrypt { .. }), "{err}");
        assert!(err.to_string().contains(&key_id(right.public.as_bytes()).unwrap()));
    }

    #[test]
    fn malformed_keys_and_envelopes_are_refused_with_the_reason() {
        let pair = generate_keypair();
        let k = pair.private.as_bytes();
        assert!(matches!(decode_key(b"!!!", "public"), Err(SealError::Key { .. })));
        assert!(decode_key(BASE64.encode([1u8; 31]).as_bytes(), "public").unwrap_err().to_string().contains("31"));
        assert!(decode_key(format!("{}\n", pair.public).as_bytes(), "public").is_ok());
        assert!(matches!(open(k, b"- a\n- b\n"), Err(SealError::Envelope(_))));
        assert!(matches!(open(k, b"version: v2\nalgorithm: nacl/box\n"), Err(SealError::Version(v)) if v == "v2"));
        assert!(matches!(open(k, b"version: v1\nalgorithm: rsa\n"), Err(SealError::Algorithm(_))));
        let bad_value =
            format!("version: v1\nalgorithm: nacl/box\npublic_key: {}\nsecrets:\n  a: '%%%'\n  b: AAAA\n", pair.public);
        let opened = open(k, bad_value.as_bytes()).unwrap();
        assert!(matches!(opened.value("a"), Err(SealError::Base64 { .. })));
        assert!(matches!(opened.value("b"), Err(SealError::TooShort { len: 3, .. })));
        assert!(matches!(opened.value("c"), Err(SealError::NoSuchKey(_))));
        let huge = vec![b'a'; MAX_ENVELOPE_BYTES + 1];
        assert!(matches!(open(k, &huge), Err(SealError::Envelope(_))));
        let too_big = [("big".to_string(), vec![0u8; MAX_VALUE_BYTES + 1])].into();
        assert!(matches!(seal(pair.public.as_bytes(), &too_big), Err(SealError::TooLarge { .. })));
    }
}
