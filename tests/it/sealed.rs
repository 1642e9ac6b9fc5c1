//! `secret keygen|seal|unseal|generate`: the real binary on real files, no gateway.

use std::os::unix::fs::PermissionsExt;

use crate::support::Rfaas;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn keygen_seal_unseal_round_trip_is_byte_exact_with_faas_cli_layout() {
    let r = Rfaas::new();
    let kg = r.run(&["secret", "keygen", "-o", "keys/builder"]);
    kg.success().stdout_has("Wrote private key: keys/builder").stdout_has("Wrote public key:  keys/builder.pub");
    let private = std::fs::read_to_string(r.path().join("keys/builder")).unwrap();
    let public = std::fs::read_to_string(r.path().join("keys/builder.pub")).unwrap();
    // faas-cli's key files: 32 bytes as base64, no newline; the private key 0600 in a 0700 dir.
    assert_eq!((private.len(), public.len()), (44, 44));
    assert_eq!(mode(&r.path().join("keys/builder")), 0o600);
    assert_eq!(mode(&r.path().join("keys")), 0o700);
    assert!(kg.stdout.contains(&format!("Key ID:            {}", &public[..8])), "{}", kg.stdout);
    // An existing key is never overwritten.
    r.run(&["secret", "keygen", "-o", "keys/builder"]).failure(1).stderr_has("already exists");
    assert_eq!(std::fs::read_to_string(r.path().join("keys/builder")).unwrap(), private);

    let binary: Vec<u8> = (0..=255u8).chain([0, 13, 10]).collect();
    std::fs::write(r.path().join("ca.bin"), &binary).unwrap();
    r.run(&[
        "secret",
        "seal",
        "keys/builder.pub",
        "--from-literal",
        "pip_token=s3cr3t=x",
        "--from-file",
        "ca.bin=ca.bin",
        "--from-literal",
        "empty=",
    ])
    .success()
    .stderr_has(&format!("Sealed 3 secret(s) to com.openfaas.secrets (key ID: {})", &public[..8]));
    let sealed_path = r.path().join("com.openfaas.secrets");
    assert_eq!(mode(&sealed_path), 0o600);
    let envelope = std::fs::read_to_string(&sealed_path).unwrap();
    assert!(envelope.starts_with(&format!("version: v1\nalgorithm: nacl/box\nkey_id: {}\npublic_key: ", &public[..8])));
    assert!(!envelope.contains("s3cr3t"), "{envelope}");
    let keys: Vec<&str> = envelope.lines().skip(5).map(|l| l.trim().split(':').next().unwrap()).collect();
    assert_eq!(keys, ["ca.bin", "empty", "pip_token"]);

    let all = r.run(&["secret", "unseal", "keys/builder"]);
    all.success();
    assert!(all.stdout.ends_with("empty=\npip_token=s3cr3t=x\n"), "{}", all.stdout);
    let mut cmd = r.command(&["secret", "unseal", "keys/builder", "--key", "ca.bin"]);
    let out = cmd.output().unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, binary, "--key prints the exact bytes, no newline");
    let json: serde_json::Value =
        serde_json::from_str(&r.run(&["secret", "unseal", "keys/builder", "--json"]).success().stdout).unwrap();
    assert_eq!(json["pip_token"], "s3cr3t=x");
    assert_eq!(json["empty"], "");
    let one: serde_json::Value =
        serde_json::from_str(&r.run(&["secret", "unseal", "keys/builder", "-j", "--key", "pip_token"]).stdout).unwrap();
    assert_eq!(one, serde_json::json!({"pip_token": "s3cr3t=x"}));
}

#[test]
fn the_wrong_key_or_a_malformed_file_fails_with_the_reason_and_prints_nothing() {
    let r = Rfaas::new();
    r.run(&["secret", "keygen"]).success();
    r.run(&["secret", "keygen", "-o", "other"]).success();
    r.run(&["secret", "seal", "key.pub", "--from-literal", "token=top-secret"]).success();
    let wrong = r.run(&["secret", "unseal", "other"]);
    wrong
        .failure(1)
        .stderr_has("cannot decrypt \"token\"")
        .stderr_has("hint: use the private key whose .pub has key ID");
    assert_eq!(wrong.stdout, "", "nothing is printed");
    r.run(&["secret", "unseal", "key", "--key", "nope"]).failure(1).stderr_has("no secret \"nope\" in the sealed file");
    // Sealing with a private key file given as the public one still works (both are 32 bytes),
    // but unsealing a key file as an envelope is refused.
    for (name, contents, expect) in [
        ("junk.secrets", "- just\n- a list\n", "not a sealed secrets file"),
        ("v2.secrets", "version: v2\nalgorithm: nacl/box\n", "unsupported envelope version \"v2\""),
        ("alg.secrets", "version: v1\nalgorithm: rsa\npublic_key: x\n", "unsupported algorithm \"rsa\""),
        (
            "notb64.secrets",
            "version: v1\nalgorithm: nacl/box\npublic_key: '***'\n",
            "envelope's public key is not valid",
        ),
        ("binary.secrets", "\u{0}\u{1}\u{2}", "not a sealed secrets file"),
    ] {
        r.file(name, contents);
        let run = r.run(&["secret", "unseal", "key", "--in", name]);
        run.failure(1).stderr_has(expect).stderr_has(name);
        assert_eq!(run.stdout, "");
    }
    r.file("bad.pub", "not a key");
    let bad = r.run(&["secret", "seal", "bad.pub", "--from-literal", "a=b", "-o", "out.secrets"]);
    bad.failure(1).stderr_has("the public key is not valid");
    assert!(!r.path().join("out.secrets").exists(), "nothing written");
    r.run(&["secret", "seal", "key.pub"]).failure(1).stderr_has("provide at least one secret");
    r.run(&["secret", "seal", "key.pub", "--from-literal", "../escape=x", "-o", "o2"])
        .failure(1)
        .stderr_has("invalid secret key \"../escape\"");
    r.run(&["secret", "seal", "key.pub", "--from-literal", "a=1", "--from-literal", "a=2", "-o", "o3"])
        .failure(1)
        .stderr_has("given twice");
    r.run(&["secret", "seal", "key.pub", "--from-file", "a=missing.txt", "-o", "o4"])
        .failure(1)
        .stderr_has("missing.txt");
    r.run(&["secret", "seal", "key.pub", "--from-literal", "novalue"]).failure(2).stderr_has("KEY=VALUE");
    for out in ["o2", "o3", "o4"] {
        assert!(!r.path().join(out).exists(), "{out} not written");
    }
}

#[test]
fn huge_inputs_are_refused_before_anything_is_written() {
    let r = Rfaas::new();
    r.run(&["secret", "keygen"]).success();
    let big = std::fs::File::create(r.path().join("big.bin")).unwrap();
    big.set_len(1024 * 1024 + 1).unwrap();
    r.run(&["secret", "seal", "key.pub", "--from-file", "big=big.bin", "-o", "big.secrets"])
        .failure(1)
        .stderr_has("larger than 1048576 bytes");
    assert!(!r.path().join("big.secrets").exists());
    let huge = std::fs::File::create(r.path().join("huge.secrets")).unwrap();
    huge.set_len(17 * 1024 * 1024).unwrap();
    r.run(&["secret", "unseal", "key", "--in", "huge.secrets"]).failure(1).stderr_has("larger than");
    // A key file that is really something else.
    r.run(&["secret", "unseal", "big.bin", "--in", "huge.secrets"])
        .failure(1)
        .stderr_has("private key big.bin is larger");
}

#[test]
fn secret_generate_writes_random_base64_like_faas_cli() {
    let r = Rfaas::new();
    let a = r.run(&["secret", "generate"]);
    a.success();
    // Not a terminal: exactly the secret, no newline, 32 bytes as base64.
    assert_eq!(a.stdout.len(), 44, "{:?}", a.stdout);
    assert!(!a.stdout.ends_with('\n'));
    let b = r.run(&["secret", "gen", "--length", "64"]);
    assert_eq!(b.success().stdout.len(), 88);
    assert_ne!(a.stdout, r.run(&["secret", "generate"]).stdout);
    r.run(&["secret", "generate", "-o", "secrets/payload.txt"])
        .success()
        .stderr_has("Wrote 32-byte secret to secrets/payload.txt");
    let path = r.path().join("secrets/payload.txt");
    assert_eq!(std::fs::read_to_string(&path).unwrap().len(), 44);
    assert_eq!(mode(&path), 0o600);
    r.run(&["secret", "generate", "--length", "0"]).failure(2);
    r.run(&["secret", "generate", "--length", "100000000"]).failure(2);
}
