//! `rfaas local-run`: one function in a container on the real engine, its env and secrets from
//! the stack and ./.secrets/, stopped and removed by SIGINT or SIGTERM.
//!
//! The test engine has no bridge network (tests/env/README.md): most runs use `--network host`
//! with the function's `port` set by `-e`; one checks that `-p` alone does the same by itself.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::engine;
use crate::support::Rfaas;
use crate::support::gateway::echo_images;

/// A stack whose function `name` is the echo image (a one-line Dockerfile), with one secret.
async fn project(name: &str) -> Rfaas {
    let (echo, _) = echo_images().await;
    let rfaas = Rfaas::new();
    rfaas.file(
        "stack.yaml",
        &format!(
            "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  {name}:\n    lang: dockerfile\n    handler: ./fn\n    image: rfaas-it/{name}:latest\n    environment:\n      ECHO_FROM_STACK: stack-value\n    secrets:\n      - api-key\n"
        ),
    );
    rfaas.file("fn/Dockerfile", &format!("FROM {echo}\n"));
    rfaas
}

async fn container_exists(name: &str) -> bool {
    engine::docker().await.inspect_container(name, None).await.is_ok()
}

async fn wait_healthy(port: u16, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(120);
    let client = reqwest::Client::new();
    while Instant::now() < deadline {
        if let Ok(r) = client.get(format!("http://127.0.0.1:{port}/_/health")).send().await
            && r.status() == 200
        {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output_lossy();
            panic!("local-run exited early with {status}:\n{out}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the function never answered on port {port}");
}

trait Lossy {
    fn wait_with_output_lossy(&mut self) -> String;
}

impl Lossy for Child {
    fn wait_with_output_lossy(&mut self) -> String {
        use std::io::Read;
        let mut text = String::new();
        if let Some(mut e) = self.stderr.take() {
            let _ = e.read_to_string(&mut text);
        }
        text
    }
}

/// Sends `signal` and waits (bounded) for the process to exit; returns its code and stderr.
fn stop(child: &mut Child, signal: i32) -> (i32, String) {
    unsafe { libc::kill(child.id() as i32, signal) };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code().unwrap_or(-1), child.wait_with_output_lossy());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("local-run did not stop within 30 s of signal {signal}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test]
async fn local_run_serves_env_and_secrets_and_a_signal_removes_the_container() {
    let name = engine::unique("lr");
    let rfaas = project(&name).await;
    let _cleanup = engine::Images(vec![format!("rfaas-it/{name}:latest")]);
    rfaas.file(".secrets/api-key", "s3cret-value");
    for (signal, build) in [(libc::SIGINT, "--build=true"), (libc::SIGTERM, "--build=false")] {
        let port = engine::free_port();
        let port_env = format!("port={port}");
        let mut child = rfaas
            .command(&["local-run", &name, build, "--network", "host", "-e", &port_env, "-e", "ECHO_FROM_FLAG=flag"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_healthy(port, &mut child).await;
        let http = reqwest::Client::new();
        let secret = http.get(format!("http://127.0.0.1:{port}/secret?name=api-key")).send().await.unwrap();
        assert_eq!(secret.text().await.unwrap(), "s3cret-value");
        let echo: serde_json::Value =
            http.get(format!("http://127.0.0.1:{port}/anything")).send().await.unwrap().json().await.unwrap();
        assert_eq!(echo["env"]["ECHO_FROM_STACK"], "stack-value", "{echo}");
        assert_eq!(echo["env"]["ECHO_FROM_FLAG"], "flag", "{echo}");
        assert!(container_exists(&name).await, "no container named {name} while running");
        let (code, stderr) = stop(&mut child, signal);
        assert_eq!(code, 0, "exit after signal {signal}:\n{stderr}");
        assert!(stderr.contains(&format!("{name} stopped and removed")), "{stderr}");
        assert!(!container_exists(&name).await, "the container is left after signal {signal}");
    }
}

/// Reads `child`'s stderr until the "is running on http://127.0.0.1:PORT" line; returns the port
/// and every line read, and the thread that collects the rest of stderr.
fn running_port(child: &mut Child) -> (u16, Vec<String>, std::thread::JoinHandle<Vec<String>>) {
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { panic!("local-run ended before running:\n{}", seen.join("\n")) };
        seen.push(line.clone());
        if let Some(rest) = line.split(" is running on http://127.0.0.1:").nth(1) {
            let port = rest.split_whitespace().next().unwrap().parse().unwrap();
            let rest = std::thread::spawn(move || lines.map_while(Result::ok).collect());
            return (port, seen, rest);
        }
    }
    panic!("local-run never said it was running:\n{}", seen.join("\n"));
}

#[tokio::test]
async fn local_run_port_works_without_a_bridge_network_and_sigint_removes_the_container() {
    let name = engine::unique("lrp");
    let rfaas = project(&name).await;
    let _cleanup = engine::Images(vec![format!("rfaas-it/{name}:latest")]);
    rfaas.file(".secrets/api-key", "s3cret-value");
    let fixed = engine::free_port();
    for (port_arg, build) in [(fixed.to_string(), "--build=true"), ("0".to_string(), "--build=false")] {
        let mut child = rfaas
            .command(&["local-run", &name, build, "-p", &port_arg])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (port, seen, rest) = running_port(&mut child);
        let text = seen.join("\n");
        if port_arg != "0" {
            assert_eq!(port, fixed, "{text}");
        }
        assert!(port > 0);
        let warnings: Vec<&String> = seen.iter().filter(|l| l.contains("no bridge network")).collect();
        assert_eq!(warnings.len(), 1, "one warning line:\n{text}");
        assert!(warnings[0].contains(&format!("listening on 127.0.0.1:{port}")), "{text}");
        wait_healthy(port, &mut child).await;
        let echo: serde_json::Value =
            reqwest::get(format!("http://127.0.0.1:{port}/anything")).await.unwrap().json().await.unwrap();
        assert_eq!(echo["env"]["ECHO_FROM_STACK"], "stack-value", "{echo}");
        let listening = std::process::Command::new("ss").args(["-ltnH", &format!("sport = :{port}")]).output().unwrap();
        let listening = String::from_utf8_lossy(&listening.stdout);
        assert!(listening.contains(&format!("127.0.0.1:{port}")) && !listening.contains("*:"), "{listening}");
        assert!(container_exists(&name).await, "no container named {name} while running");
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        let status = child.wait().unwrap();
        let after = rest.join().unwrap().join("\n");
        assert_eq!(status.code(), Some(0), "{after}");
        assert!(after.contains(&format!("{name} stopped and removed")), "{after}");
        assert!(!container_exists(&name).await, "the container is left after SIGINT");
    }
    // --print says the same: host network, the port as the function's variable, no -p.
    let run = rfaas.run(&["local-run", "--print", "-p", &fixed.to_string()]);
    run.success().stderr_has("no bridge network").stdout_has("--network=host -e=ECHO_FROM_STACK=stack-value");
    run.stdout_has(&format!("-e=port={fixed}")).stdout_has("-e=bind_address=127.0.0.1");
    assert!(!run.stdout.contains("-p="), "{}", run.stdout);
    // A port already taken is refused before anything starts.
    let taken = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port().to_string();
    rfaas
        .run(&["local-run", &name, "--build=false", "-p", &taken_port])
        .failure(1)
        .stderr_has(&format!("port {taken_port} is taken"))
        .stderr_has("hint: pick another with --port");
    assert!(!container_exists(&name).await);
    // A port variable that is no port, or a huge one, names the value and starts nothing.
    for bad in ["abc", "70000", &"9".repeat(10_000)] {
        let env = format!("port={bad}");
        rfaas
            .run(&["local-run", &name, "--build=false", "-e", &env])
            .failure(1)
            .stderr_has(&format!("-e port={bad}: not a port number"));
        assert!(!container_exists(&name).await);
    }
}

#[tokio::test]
async fn local_run_print_shows_the_docker_run_line_and_starts_nothing() {
    let name = engine::unique("lrp");
    let rfaas = project(&name).await;
    rfaas.file(".secrets/api-key", "x");
    let run = rfaas.run(&["local-run", "--print", "--network", "host", "-e", "A=b c"]);
    run.success();
    let secrets = rfaas.path().join(".secrets");
    for part in [
        format!("docker run --name {name} --rm -i --network=host"),
        "-e=ECHO_FROM_STACK=stack-value".to_string(),
        format!("-e=OPENFAAS_NAME={name}"),
        "-e=OPENFAAS_NAMESPACE=openfaas-fn".to_string(),
        "'-e=A=b c'".to_string(),
        format!("--volume={}:/var/openfaas/secrets:ro", secrets.display()),
        format!("rfaas-it/{name}:latest"),
    ] {
        assert!(run.stdout.contains(&part), "no {part:?} in {}", run.stdout);
    }
    assert!(!container_exists(&name).await);
    // Without a name, local-run adds what a project should not commit to .gitignore.
    let gitignore = std::fs::read_to_string(rfaas.path().join(".gitignore")).unwrap();
    assert!(gitignore.lines().any(|l| l == ".secrets"), "{gitignore}");
}

#[tokio::test]
async fn a_missing_secret_stops_local_run_before_anything_starts() {
    let name = engine::unique("lrm");
    let rfaas = project(&name).await;
    let run = rfaas.run(&["local-run", &name, "--network", "host"]);
    let dir = rfaas.path().join(".secrets");
    run.failure(1)
        .stderr_has(&format!("missing files: create the following secrets (api-key) in: \"{}\"", dir.display()))
        .stderr_has("hint: e.g. `mkdir -p .secrets");
    assert!(!container_exists(&name).await);
    assert!(!rfaas.path().join("build").exists(), "it built before checking the secrets");
}

#[test]
fn local_run_needs_a_name_when_the_stack_has_several_functions() {
    let rfaas = Rfaas::new();
    rfaas.file(
        "stack.yaml",
        "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  a:\n    image: x/a\n  b:\n    image: x/b\n",
    );
    rfaas.run(&["local-run"]).failure(1).stderr_has("give a function name to run: [a b]");
    rfaas.run(&["local-run", "c"]).failure(1).stderr_has("no function \"c\"").stderr_has("the stack has: a, b");
    rfaas
        .run(&["local-run", "a", "--watch", "--build=false"])
        .failure(1)
        .stderr_has("cannot be combined with --build=false");
}
