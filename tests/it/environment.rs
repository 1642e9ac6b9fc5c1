//! The services tests/env/setup.sh starts answer on loopback: Docker, the registry with auth,
//! Redis and MariaDB. Run `bash tests/env/setup.sh` (as root) first.

use std::collections::BTreeMap;
use std::io::{Read, Write};

/// KEY=VALUE pairs written by tests/env/setup.sh.
pub fn test_env() -> BTreeMap<String, String> {
    read_test_env()
        .unwrap_or_else(|e| panic!("{e}: run `sudo bash tests/env/setup.sh` to install and start the test services"))
}

/// KEY=VALUE pairs written by tests/env/setup.sh, or why its file cannot be read.
pub fn read_test_env() -> Result<BTreeMap<String, String>, String> {
    let state = std::env::var("RFAAS_TEST_STATE").unwrap_or_else(|_| "/var/lib/rfaas-test".into());
    let path = format!("{state}/env");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path} ({e})"))?;
    Ok(text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect())
}

#[tokio::test]
async fn docker_engine_answers() {
    let docker = bollard::Docker::connect_with_local_defaults().expect("docker client");
    let info = docker.info().await.unwrap_or_else(|e| {
        panic!("Docker engine not answering ({e}): run `sudo bash tests/env/setup.sh` to start dockerd")
    });
    assert!(info.server_version.is_some());
    let image = docker.inspect_image(&test_env()["RFAAS_TEST_BASE_IMAGE"]).await;
    assert!(image.is_ok(), "base image missing: run tests/env/setup.sh");
}

#[tokio::test]
async fn registry_requires_and_accepts_credentials() {
    let env = test_env();
    let url = format!("http://{}/v2/", env["RFAAS_TEST_REGISTRY"]);
    let client = reqwest::Client::new();
    let anonymous = client.get(&url).send().await.expect("registry reachable");
    assert_eq!(anonymous.status(), 401);
    let authed = client
        .get(&url)
        .basic_auth(&env["RFAAS_TEST_REGISTRY_USER"], Some(&env["RFAAS_TEST_REGISTRY_PASSWORD"]))
        .send()
        .await
        .expect("registry reachable");
    assert_eq!(authed.status(), 200);
}

#[test]
fn redis_answers_ping() {
    let env = test_env();
    let mut conn =
        std::net::TcpStream::connect(format!("{}:{}", env["RFAAS_TEST_REDIS_HOST"], env["RFAAS_TEST_REDIS_PORT"]))
            .expect("redis reachable");
    conn.write_all(b"PING\r\n").unwrap();
    let mut reply = [0u8; 7];
    conn.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"+PONG\r\n");
}

#[test]
fn mariadb_answers_a_query() {
    let env = test_env();
    let out = std::process::Command::new("mariadb")
        .args([
            "-h",
            &env["RFAAS_TEST_MYSQL_HOST"],
            "-P",
            &env["RFAAS_TEST_MYSQL_PORT"],
            "-u",
            &env["RFAAS_TEST_MYSQL_USER"],
        ])
        .arg(format!("-p{}", env["RFAAS_TEST_MYSQL_PASSWORD"]))
        .args(["-N", "-e", "SELECT 6*7"])
        .arg(&env["RFAAS_TEST_MYSQL_DATABASE"])
        .output()
        .expect("mariadb client installed by tests/env/setup.sh");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42");
}
