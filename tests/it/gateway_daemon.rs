//! `rfaas gateway start|status|stop` (the background gateway), the proxy's timeout answer, and
//! updates whose new replicas never become healthy.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::support::Rfaas;
use crate::support::gateway::{TestGateway, docker, echo_fn, echo_images};

#[tokio::test]
async fn start_status_stop_in_the_background() {
    docker().await;
    let rfaas = Rfaas::new();
    let dir = rfaas.path().join("gw-state");
    let dir_arg = dir.display().to_string();
    let limits = ["--header-read-timeout", "3s", "--idle-timeout", "2500ms", "--max-connections", "300"];
    let timeouts = ["--upstream-timeout", "1.5s", "--health-timeout", "2500ms"];
    let scaling = ["--wake-timeout", "7s", "--pause-before-remove", "0", "--max-replicas", "4"];
    let mut start = vec!["gateway", "start", "--port", "0", "--state-dir", &dir_arg];
    start.extend(limits);
    start.extend(timeouts);
    start.extend(scaling);
    let started = rfaas.run(&start);
    started.success().stderr_has("gateway started").stderr_has("basic-auth-password");
    let url = started.stdout.trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(!started.stderr.contains(std::fs::read_to_string(dir.join("basic-auth-password")).unwrap().trim()));
    let file: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("gateway.json")).unwrap()).unwrap();
    assert_eq!(file["url"], url.as_str());
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", file["pid"])).unwrap();
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    let flags = ["--header-read-timeout=3000ms", "--idle-timeout=2500ms", "--max-connections=300"];
    let scaling_flags =
        ["--wake-timeout=7000ms", "--pause-before-remove=0ms", "--max-replicas=4", "--scale-down-window=60000ms"];
    let all = flags.into_iter().chain(["--upstream-timeout=1500ms", "--health-timeout=2500ms"]).chain(scaling_flags);
    for flag in all {
        assert!(cmdline.contains(flag), "the background gateway runs without {flag}: {cmdline}");
    }
    let mut idle = std::net::TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let opened = std::time::Instant::now();
    assert_eq!(std::io::Read::read(&mut idle, &mut [0u8; 16]).unwrap_or(0), 0, "an idle connection is closed");
    assert!(opened.elapsed() < Duration::from_secs(8), "closed after {:?}, not after --idle-timeout", opened.elapsed());
    let again = rfaas.run(&["gateway", "start", "--port", "0", "--state-dir", &dir_arg]);
    again.success().stderr_has("already running");
    assert_eq!(again.stdout.trim(), url);
    rfaas.run(&["gateway", "status", "--state-dir", &dir_arg]).success().stdout_has(&url);
    assert_eq!(reqwest::get(format!("{url}/healthz")).await.unwrap().status(), 200);

    rfaas.run(&["gateway", "stop", "--state-dir", &dir_arg]).success().stderr_has("stopped");
    assert!(!dir.join("gateway.json").exists(), "a clean exit removes gateway.json");
    assert!(reqwest::get(format!("{url}/healthz")).await.is_err());
    rfaas.run(&["gateway", "status", "--state-dir", &dir_arg]).failure(1).stderr_has("no gateway running");
    rfaas.run(&["gateway", "stop", "--state-dir", &dir_arg]).success().stderr_has("no gateway running");
}

#[tokio::test]
async fn slow_functions_get_a_504_after_the_upstream_timeout() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start_with(&["--upstream-timeout", "1s"]).await;
    assert_eq!(gw.deploy(&echo_fn("slow", &image)).await.0, 202);
    let started = std::time::Instant::now();
    let response = gw.invoke("slow/sleep?s=3").await;
    assert_eq!(response.status(), 504);
    assert!(started.elapsed() < Duration::from_millis(2500));
    assert!(response.headers().contains_key("x-call-id"));
    assert!(response.text().await.unwrap().contains("slow"));
    assert_eq!(gw.invoke("slow/sleep?s=0").await.status(), 200);
}

#[tokio::test]
async fn an_update_that_never_gets_healthy_keeps_the_old_version_serving() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start_with(&["--health-timeout", "2s"]).await;
    assert_eq!(gw.deploy(&echo_fn("steady", &image)).await.0, 202);
    let mut broken = echo_fn("steady", &image);
    broken["envVars"] = serde_json::json!({"ECHO_UNHEALTHY": "1"});
    let (status, body) = gw.update(&broken).await;
    assert_eq!(status, 500);
    assert!(body.contains("did not become healthy"), "{body}");
    let echo: Value = gw.invoke("steady").await.json().await.unwrap();
    assert!(echo["env"].get("ECHO_UNHEALTHY").is_none(), "the previous replica still answers: {echo}");
    assert_eq!(gw.describe("steady").await["availableReplicas"], 1);

    let mut fresh = echo_fn("fresh", &image);
    fresh["envVars"] = serde_json::json!({"ECHO_UNHEALTHY": "1"});
    assert_eq!(gw.deploy(&fresh).await.0, 500);
    assert_eq!(gw.invoke("fresh").await.status(), 503);
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[tokio::test]
async fn state_dirs_others_can_write_are_refused_untouched_and_new_ones_are_0700() {
    docker().await;
    let rfaas = Rfaas::new();
    rfaas.file(
        "stack.yaml",
        "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  hello:\n    lang: python3-http\n    handler: ./hello\n    image: hello:1\n",
    );
    rfaas.file("hello/handler.py", "def handle(event, context):\n    return 'hi'\n");
    let me = unsafe { libc::geteuid() };
    // A directory owned by someone else: as root, one handed to nobody; otherwise /usr (root's).
    let foreign = if me == 0 {
        let dir = rfaas.path().join("nobodys");
        std::fs::create_dir(&dir).unwrap();
        std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
        dir
    } else {
        Path::new("/usr").to_path_buf()
    };
    let owner = std::fs::metadata(&foreign).unwrap().uid();
    let unsafe_dirs = [
        ("shared", 0o1777, "is writable by group or others (mode 1777)".to_string()),
        ("group", 0o770, "is writable by group or others (mode 770)".to_string()),
    ];
    let mut cases: Vec<(std::path::PathBuf, u32, String)> = Vec::new();
    for (name, dir_mode, problem) in unsafe_dirs {
        let dir = rfaas.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        set_mode(&dir, dir_mode);
        cases.push((dir, dir_mode, problem));
    }
    cases.push((foreign.clone(), mode(&foreign), format!("belongs to uid {owner}, not to you (uid {me})")));
    for (dir, dir_mode, problem) in &cases {
        let arg = dir.display().to_string();
        for args in [
            vec!["gateway", "start", "--port", "0", "--state-dir", &arg],
            vec!["gateway", "--port", "0", "--state-dir", &arg],
            vec!["login", "--local", "--state-dir", &arg],
            vec!["up", "--local", "--local-port", "0", "--state-dir", &arg],
        ] {
            let run = rfaas.run(&args);
            run.failure(1)
                .stderr_has(&format!("cannot use the state directory {arg}"))
                .stderr_has(&format!("{arg} {problem}"));
            assert_eq!(mode(dir), *dir_mode, "{args:?} changed the mode of {arg}");
        }
        if *dir != foreign {
            assert_eq!(std::fs::read_dir(dir).unwrap().count(), 0, "nothing written into {arg}");
        }
    }

    // An existing directory of one's own that others can read but not write is used as it is;
    // missing ones are created 0700, parents included.
    let readable = rfaas.path().join("readable");
    std::fs::create_dir(&readable).unwrap();
    set_mode(&readable, 0o755);
    let nested = rfaas.path().join("new/deeper/state");
    for dir in [&readable, &nested] {
        let arg = dir.display().to_string();
        rfaas.run(&["gateway", "start", "--port", "0", "--state-dir", &arg]).success();
        rfaas.run(&["gateway", "stop", "--state-dir", &arg]).success().stderr_has("stopped");
    }
    assert_eq!(mode(&readable), 0o755);
    for dir in ["new", "new/deeper", "new/deeper/state", "new/deeper/state/secrets"] {
        assert_eq!(mode(&rfaas.path().join(dir)), 0o700, "{dir}");
    }
}

#[tokio::test]
async fn stop_and_status_leave_alone_a_live_process_a_stale_gateway_json_names() {
    let rfaas = Rfaas::new();
    let dir = rfaas.path().join("gw-state");
    std::fs::create_dir(&dir).unwrap();
    set_mode(&dir, 0o700);
    let arg = dir.display().to_string();
    let mut sleeper = Sleeper(std::process::Command::new("sleep").arg("300").spawn().unwrap());
    // The gateway that wrote this crashed; its pid now belongs to an unrelated process, and its
    // URL to a server that answers /healthz like any other.
    let healthy = crate::support::serve(|_| (200, "OK".to_string()));
    let stale = serde_json::json!({"url": healthy, "pid": sleeper.0.id()});
    let write_stale = || std::fs::write(dir.join("gateway.json"), stale.to_string()).unwrap();
    write_stale();
    std::fs::write(dir.join("gateway.lock"), "").unwrap();
    rfaas.run(&["gateway", "stop", "--state-dir", &arg]).success().stderr_has("no gateway running");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(sleeper.0.try_wait().unwrap().is_none(), "stop signalled the process gateway.json named");
    assert!(!dir.join("gateway.json").exists(), "the stale gateway.json is removed");
    write_stale();
    rfaas.run(&["gateway", "status", "--state-dir", &arg]).failure(1).stderr_has("no gateway running");

    // Someone holds the lock, but not the process gateway.json names: still not the gateway.
    write_stale();
    let lock = std::fs::File::open(dir.join("gateway.lock")).unwrap();
    // SAFETY: flock on a descriptor this test owns.
    assert_eq!(unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) }, 0);
    rfaas.run(&["gateway", "stop", "--state-dir", &arg]).success().stderr_has("no gateway running");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(sleeper.0.try_wait().unwrap().is_none(), "stop signalled the process gateway.json named");
}

/// A process the test started, killed when the test ends however it ends.
struct Sleeper(std::process::Child);

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_replica_that_exits_is_reported_at_once_with_its_code_and_output_but_no_secret() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start().await; // the default 30 s health timeout
    let secret = "s3cr3t-crash-0451";
    let create = gw
        .system(reqwest::Method::POST, "/system/secrets")
        .json(&serde_json::json!({"name": "crash-key", "value": format!("{secret}\n")}));
    assert_eq!(gw.send(create).await.0, 201);
    let crashing = serde_json::json!({
        "ECHO_UNHEALTHY": "1", "ECHO_EXIT_AFTER": "1.5", "ECHO_EXIT_CODE": "3", "ECHO_PRINT_SECRETS": "crash-key"
    });
    let mut crash = echo_fn("crash", &image);
    crash["envVars"] = crashing.clone();
    crash["secrets"] = serde_json::json!(["crash-key"]);
    let started = std::time::Instant::now();
    let (status, body) = gw.deploy(&crash).await;
    let took = started.elapsed();
    assert_eq!(status, 500, "{body}");
    assert!(took >= Duration::from_millis(1500) && took < Duration::from_secs(10), "answered after {took:?}: {body}");
    assert!(
        body.starts_with("1 of 1 new replicas of crash.openfaas-fn failed: replica rfaas-openfaas-fn-crash-"),
        "{body}"
    );
    // The last 20 lines once the secret (with its newline) is redacted, on Docker and Podman.
    let tail: String = (12..=30).map(|i| format!("line {i}\\n")).collect();
    let expected = format!(
        " exited with code 3 before it became healthy; its last output: \"{tail}secret crash-key: [redacted]\"; the gateway keeps trying (see the function's logs)\n"
    );
    assert!(body.ends_with(&expected), "{body}");
    assert!(!body.contains(secret) && !body.contains("line 11\\n"), "{body}");

    // An update reports it the same way, and the previous version keeps serving.
    assert_eq!(gw.deploy(&echo_fn("steady", &image)).await.0, 202);
    let mut broken = echo_fn("steady", &image);
    broken["envVars"] = crashing;
    broken["envVars"]["ECHO_EXIT_CODE"] = serde_json::json!("7");
    broken["envVars"].as_object_mut().unwrap().remove("ECHO_PRINT_SECRETS");
    let (status, body) = gw.update(&broken).await;
    assert_eq!(status, 500);
    assert!(
        body.contains(" exited with code 7 before it became healthy; its last output: \"line 11\\nline 12"),
        "{body}"
    );
    assert_eq!(gw.invoke("steady").await.status(), 200);
    let log = gw.log();
    assert!(log.contains("exited with code 3") && log.contains("[redacted]"), "{log}");
    assert!(!log.contains(secret), "the gateway's log has the secret:\n{log}");
}
