//! Servers that stall: one that accepts connections and never answers, one that sends a response
//! head and then nothing, one whose accept queue is full. Every client command exits within its
//! deadline (its `--timeout`, or the built-in one) with an error naming the URL and what did not
//! come, and a hint; only a followed log stream stays open once it has begun. Before the
//! timeouts, `rfaas logs` against the silent server waited forever.
//!
//! All commands of a test run at once, so each test takes as long as its slowest deadline (30 s).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Duration;

use crate::support::Rfaas;
use crate::support::capped::{CappedRun, Caps, run_capped};

/// The built-in deadlines the commands under test use (src/http_client.rs, src/commands/).
const STREAM_HEAD: Duration = Duration::from_secs(30);
const READY_VERSION: Duration = Duration::from_secs(5);
const STORE: Duration = Duration::from_secs(5);
const FLAG: Duration = Duration::from_secs(2);

/// How much later than its deadline a command may end on a loaded machine.
const SLACK: Duration = Duration::from_secs(15);

const HEAD_HINT: &str = "hint: the server accepted the connection but is not answering";
const BODY_HINT: &str = "hint: the server stopped sending";

/// How a server stalls.
#[derive(Clone, Copy)]
enum Stall {
    /// Accepts and never writes a byte.
    Silent,
    /// Reads the request, sends a 200 head with a chunked body, then nothing.
    AfterHead,
}

/// A server on 127.0.0.1 that stalls every connection as `stall` says, holding them open.
fn stalling_server(stall: Stall) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            if let Stall::AfterHead = stall {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
                let head =
                    "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n";
                let _ = stream.write_all(head.as_bytes());
            }
            held.push(stream);
        }
    });
    url
}

/// A listener whose accept queue is full, so the kernel drops new connection attempts: a
/// connect that never completes, on loopback. The returned values keep it so.
fn full_accept_queue() -> (String, TcpListener, Vec<TcpStream>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    // SAFETY: listen() on our own socket only changes its backlog, to the minimum.
    assert_eq!(unsafe { libc::listen(listener.as_raw_fd(), 0) }, 0, "listen");
    let addr = listener.local_addr().unwrap();
    let queued = (0..2).filter_map(|_| TcpStream::connect_timeout(&addr, Duration::from_millis(300)).ok()).collect();
    (format!("http://{addr}"), listener, queued)
}

/// One command, its deadline, and what its stderr must say.
struct Case {
    args: Vec<String>,
    deadline: Duration,
    code: i32,
    expect: Vec<String>,
}

fn case(args: &[&str], deadline: Duration, code: i32, expect: &[&str]) -> Case {
    Case {
        args: args.iter().map(|a| a.to_string()).collect(),
        deadline,
        code,
        expect: expect.iter().map(|e| e.to_string()).collect(),
    }
}

/// Runs every case at once; each must end with its code, within [deadline, deadline + SLACK],
/// with every expected line in stderr.
fn run_all(rfaas: &Rfaas, cases: Vec<Case>) {
    let runs: Vec<(Case, std::thread::JoinHandle<CappedRun>)> = cases
        .into_iter()
        .map(|c| {
            let args: Vec<&str> = c.args.iter().map(String::as_str).collect();
            let cmd = rfaas.command(&args);
            let caps = Caps { address_space: 512 << 20, wall: c.deadline + SLACK };
            (c, std::thread::spawn(move || run_capped(cmd, caps)))
        })
        .collect();
    for (c, handle) in runs {
        let run = handle.join().unwrap();
        let what = format!("rfaas {}: {}", c.args.join(" "), run.describe());
        assert_eq!(run.code, Some(c.code), "{what}");
        assert!(
            run.elapsed >= c.deadline.saturating_sub(Duration::from_millis(200)),
            "ended before its deadline: {what}"
        );
        for line in &c.expect {
            assert!(run.stderr.contains(line.as_str()), "stderr lacks {line:?}: {what}");
        }
    }
}

fn client() -> Rfaas {
    let mut rfaas = Rfaas::new();
    let config = rfaas.path().join("openfaas").display().to_string();
    rfaas.env("OPENFAAS_CONFIG", &config);
    rfaas
}

#[test]
fn a_server_that_never_answers_is_reported_within_each_deadline() {
    let gw = stalling_server(Stall::Silent);
    let no_head = |path: &str, within: &str| {
        format!(
            "no response from {gw}{path}: the connection was accepted, but no response headers came within {within}"
        )
    };
    let (logs, invoke, login) = (
        no_head("/system/logs", "30s"),
        no_head("/function/echo.openfaas-fn", "2s"),
        no_head("/system/functions", "2s"),
    );
    let (healthz, info) = (no_head("/healthz", "5s"), no_head("/system/info", "5s"));
    let (stack, store) = (no_head("/stack.yml", "30s"), no_head("/templates.json", "5s"));
    run_all(
        &client(),
        vec![
            case(&["logs", "echo", "-g", &gw], STREAM_HEAD, 1, &[&format!("error: {logs}"), HEAD_HINT]),
            case(&["invoke", "echo", "-g", &gw, "--timeout", "2s"], FLAG, 1, &[&format!("error: {invoke}"), HEAD_HINT]),
            case(
                &["login", "-g", &gw, "-p", "pw", "--timeout", "2s"],
                FLAG,
                1,
                &[&format!("error: {login}"), HEAD_HINT],
            ),
            case(
                &["ready", "-g", &gw, "--attempts", "1"],
                READY_VERSION,
                1,
                &[&format!("error: gateway {gw} not ready after"), &format!("caused by: {healthz}"), HEAD_HINT],
            ),
            // As in faas-cli, version without a gateway still prints the client's and succeeds.
            case(&["version", "-g", &gw], READY_VERSION, 0, &[&format!("(no gateway or provider version: {info}")]),
            case(
                &["generate", "-f", &format!("{gw}/stack.yml")],
                STREAM_HEAD,
                1,
                &[&format!("error: cannot fetch stack file: {stack}"), HEAD_HINT],
            ),
            case(
                &["template", "store", "list", "--url", &format!("{gw}/templates.json")],
                STORE,
                1,
                &[&format!("error: cannot read the template store: {store}"), HEAD_HINT],
            ),
        ],
    );
}

#[test]
fn a_server_that_stalls_after_the_head_is_reported_except_in_a_followed_log() {
    let gw = stalling_server(Stall::AfterHead);
    let rfaas = client();
    // A followed log stream has begun: it stays open past every deadline, until the user stops it.
    let cmd = rfaas.command(&["logs", "echo", "-g", &gw]);
    let caps = Caps { address_space: 512 << 20, wall: STREAM_HEAD + Duration::from_secs(5) };
    let follow = std::thread::spawn(move || run_capped(cmd, caps));
    run_all(
        &rfaas,
        vec![
            case(
                &["logs", "echo", "--tail=false", "-g", &gw],
                STREAM_HEAD,
                1,
                &[&format!("error: the response from {gw}/system/logs stalled: nothing arrived for 30s"), BODY_HINT],
            ),
            case(
                &["invoke", "echo", "-g", &gw, "--timeout", "2s"],
                FLAG,
                1,
                &[
                    &format!("error: the response from {gw}/function/echo.openfaas-fn did not finish within 2s"),
                    BODY_HINT,
                ],
            ),
            case(
                &["generate", "-f", &format!("{gw}/stack.yml")],
                STREAM_HEAD,
                1,
                &[
                    &format!(
                        "error: cannot fetch stack file: the response from {gw}/stack.yml stalled: nothing arrived for 30s"
                    ),
                    BODY_HINT,
                ],
            ),
            case(
                &["template", "store", "list", "--url", &format!("{gw}/templates.json")],
                STORE,
                1,
                &[
                    &format!(
                        "error: cannot read the template store: the response from {gw}/templates.json did not finish within 5s"
                    ),
                    BODY_HINT,
                ],
            ),
        ],
    );
    let follow = follow.join().unwrap();
    assert!(follow.timed_out && follow.stderr.is_empty(), "logs --tail ended: {}", follow.describe());
}

#[test]
fn a_connection_that_never_opens_is_reported_as_such() {
    let (gw, _listener, _queued) = full_accept_queue();
    // A 4 s deadline leaves 2 s to connect.
    run_all(
        &client(),
        vec![case(
            &["invoke", "echo", "-g", &gw, "--timeout", "4s"],
            Duration::from_secs(2),
            1,
            &[
                &format!("error: cannot connect to {gw}/function/echo.openfaas-fn: no connection within 2s"),
                "hint: check the URL",
            ],
        )],
    );
}
