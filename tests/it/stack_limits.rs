//! Hostile stack input: alias bombs, deep nesting, endless or blocking files, huge remote stacks,
//! overflowing substitutions. Each case runs the real binary under support/capped.rs's caps
//! (512 MiB of address space, 10 s) and asserts exit 1 with an error naming the file, line,
//! column and limit. Before the limits these passed 4 GB, overflowed the stack, blocked or panicked.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::support::Rfaas;
use crate::support::capped::{CAPS, CappedRun, run_capped};

const HEAD: &str = "version: 1.0\nprovider:\n  name: openfaas\n";
const FUNCTION: &str = "functions:\n  fn1:\n    image: reg/fn1:0.1\n";

/// Peak RSS a run within the limits stays under (they measure 20 to 100 MiB).
const BOUNDED_RSS_KIB: i64 = 256 << 10;

fn generate(rfaas: &Rfaas, file: &str) -> CappedRun {
    let run = run_capped(rfaas.command(&["generate", "-f", file]), CAPS);
    assert!(run.max_rss_kib < BOUNDED_RSS_KIB, "memory was not bounded: {}", run.describe());
    run
}

/// The billion-laughs stack: 8 levels of 9 aliases each, 43 million nodes once expanded.
fn alias_bomb() -> String {
    let mut text = format!("{HEAD}x-a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..=8 {
        text.push_str(&format!("x-a{i}: &a{i} [{}]\n", vec![format!("*a{}", i - 1); 9].join(", ")));
    }
    format!("{text}{FUNCTION}    labels:\n      bomb: *a8\n")
}

#[test]
fn an_alias_bomb_stops_at_the_node_limit() {
    let rfaas = Rfaas::new();
    rfaas.file("stack.yml", &alias_bomb());
    generate(&rfaas, "stack.yml").fails_with(
        "stack.yml:9:11: YAML: the document reaches 1345219 nodes here; the limit is 1000000 (copies made by anchors and aliases count)",
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let rfaas = Rfaas::new();
    rfaas.file("block.yml", &format!("{HEAD}x-deep:\n  {}x\n", "- ".repeat(100_000)));
    let mappings: String = (1..=5_000).map(|depth| format!("{}a:\n", " ".repeat(depth))).collect();
    rfaas.file("mappings.yml", &format!("{HEAD}x-deep:\n{mappings}"));
    let message = "YAML: collections nest 129 levels deep here; the limit is 128";
    generate(&rfaas, "block.yml").fails_with(&format!("block.yml:5:257: {message}"));
    generate(&rfaas, "mappings.yml").fails_with(&format!("mappings.yml:132:130: {message}"));
}

#[test]
fn environment_files_must_be_regular_files_within_the_size_limit() {
    let rfaas = Rfaas::new();
    let fifo = rfaas.path().join("env.fifo");
    let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0, "mkfifo");
    std::fs::create_dir(rfaas.path().join("env.d")).unwrap();
    let big = std::fs::File::create(rfaas.path().join("big.yml")).unwrap();
    big.set_len(17 << 20).unwrap();
    let entries = ["/dev/zero", "/dev/urandom", "env.fifo", "env.d", "big.yml"];
    let list: String = entries.iter().map(|e| format!("      - {e}\n")).collect();
    rfaas.file("stack.yml", &format!("{HEAD}{FUNCTION}    environment_file:\n{list}"));
    let dir = rfaas.path().display().to_string();
    // Every entry is reported at its line; the FIFO, which has no writer, did not block.
    generate(&rfaas, "stack.yml")
        .fails_with("error: stack.yml: 5 problems found")
        .fails_with("stack.yml:8:9: environment_file \"/dev/zero\": cannot read /dev/zero: it is a character device, not a regular file")
        .fails_with("stack.yml:9:9: environment_file \"/dev/urandom\": cannot read /dev/urandom: it is a character device")
        .fails_with(&format!("stack.yml:10:9: environment_file \"env.fifo\": cannot read {dir}/env.fifo: it is a FIFO (named pipe), not a regular file"))
        .fails_with(&format!("stack.yml:11:9: environment_file \"env.d\": cannot read {dir}/env.d: it is a directory"))
        .fails_with(&format!("stack.yml:12:9: environment_file \"big.yml\": cannot read {dir}/big.yml: the document is 17825792 bytes, over the limit of 16777216 bytes (16 MiB)"));
}

#[test]
fn a_stack_named_with_f_may_be_a_pipe_but_not_an_endless_one() {
    let rfaas = Rfaas::new();
    generate(&rfaas, "/dev/zero").fails_with(
        "cannot read stack file /dev/zero: the document is more than 16777216 bytes, over the limit of 16777216 bytes (16 MiB) for a YAML document",
    );
    let fifo = rfaas.path().join("stack.fifo");
    let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0, "mkfifo");
    // As `-f <(cat stack.yml)` does it.
    let writer = std::thread::spawn(move || std::fs::write(fifo, format!("{HEAD}{FUNCTION}")).unwrap());
    let run = generate(&rfaas, "stack.fifo");
    writer.join().unwrap();
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(run.stdout.contains("name: fn1"), "{}", run.stdout);
}

/// A server that answers every request with 200, the given Content-Length (or none) and an
/// endless body, until the client goes away; returns its URL and the bytes it managed to send.
fn endless_server(content_length: Option<u64>) -> (String, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/stack.yml", listener.local_addr().unwrap());
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            let length = content_length.map(|n| format!("Content-Length: {n}\r\n")).unwrap_or_default();
            let head = format!("HTTP/1.1 200 OK\r\n{length}Connection: close\r\n\r\n{HEAD}x-padding: |\n");
            let _ = stream.write_all(head.as_bytes());
            let chunk = "  padding padding padding padding padding padding padding padding\n".repeat(1000);
            while stream.write_all(chunk.as_bytes()).is_ok() {
                counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            }
        }
    });
    (url, sent)
}

#[test]
fn a_remote_stack_is_capped_before_or_while_reading() {
    let rfaas = Rfaas::new();
    let (url, sent) = endless_server(Some(1 << 30));
    generate(&rfaas, &url).fails_with(&format!(
        "cannot fetch stack file {url}: the document is 1073741824 bytes, over the limit of 16777216 bytes (16 MiB)"
    ));
    let (url, sent_endless) = endless_server(None);
    generate(&rfaas, &url)
        .fails_with(&format!("cannot fetch stack file {url}: the document is more than 16777216 bytes"));
    // Reading stopped at the cap: what was sent is the cap plus what the socket buffers held.
    std::thread::sleep(std::time::Duration::from_millis(200));
    for (what, bytes) in
        [("with Content-Length", sent.load(Ordering::Relaxed)), ("endless", sent_endless.load(Ordering::Relaxed))]
    {
        assert!(bytes < 48 << 20, "{what}: the server sent {bytes} bytes");
    }
}

#[test]
fn substring_lengths_saturate_and_nested_errors_point_inside_multibyte_text() {
    let mut rfaas = Rfaas::new();
    rfaas.env("V", "abcdef");
    let image = |value: &str| format!("{HEAD}functions:\n  fn1:\n    image: {value}\n");
    rfaas.file("sub.yml", &image("${V:1:18446744073709551615}"));
    let run = generate(&rfaas, "sub.yml");
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(run.stdout.contains("image: bcdef:latest"), "{}", run.stdout);
    rfaas.file("nested.yml", &image("${UNSET:-\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}${REQUIRED:?set REQUIRED}}"));
    generate(&rfaas, "nested.yml").fails_with("nested.yml:6:26: REQUIRED: set REQUIRED");
}

#[test]
fn config_and_template_files_get_the_same_limits() {
    let mut rfaas = Rfaas::new();
    let config_dir = rfaas.path().join("openfaas");
    std::fs::create_dir(&config_dir).unwrap();
    let fifo = config_dir.join("config.yml");
    let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0, "mkfifo");
    rfaas.env("OPENFAAS_CONFIG", &config_dir.display().to_string());
    run_capped(rfaas.command(&["logout", "--gateway", "http://127.0.0.1:9"]), CAPS).fails_with(&format!(
        "error: cannot read {}\ncaused by: it is a FIFO (named pipe), not a regular file",
        fifo.display()
    ));

    let bomb = alias_bomb();
    rfaas.file("template/bomb/template.yml", &format!("language: bomb\n{}", &bomb[HEAD.len()..]));
    rfaas.file("fn1/handler.txt", "");
    rfaas.file("stack.yml", &format!("{HEAD}functions:\n  fn1:\n    lang: bomb\n    handler: ./fn1\n    image: fn1\n"));
    let run = run_capped(rfaas.command(&["build", "--shrinkwrap"]), CAPS);
    run.fails_with("template/bomb/template.yml: 7:11: the document reaches");
    assert!(run.max_rss_kib < BOUNDED_RSS_KIB, "{}", run.describe());
}
