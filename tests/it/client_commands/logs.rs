//! logs: output formats, --lines, --since/--since-time, columns, time format, following.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use super::{Session, eventually};

/// Makes the echo function print `text` (its `/log` route) through the gateway.
async fn log_line(s: &Session, text: &str) {
    let response = s.gw.http.get(format!("{}/function/echo/log?text={text}", s.gw.url)).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn logs_print_plain_json_and_keyvalue_lines_and_follow() {
    let mut s = Session::logged_in().await;
    s.deploy_echo("echo", &[]);
    for text in ["line-1", "line-2", "line-3"] {
        log_line(&s, text).await;
    }
    let mut plain = String::new();
    let arrived = eventually(Duration::from_secs(10), || {
        plain = s.run(&["logs", "echo", "--tail=false"]).success().stdout.clone();
        plain.contains("line-3")
    });
    assert!(arrived, "no log lines:\n{plain}");

    // plain (default): RFC3339 timestamp without fractions, then the text.
    let lines: Vec<&str> = plain.lines().collect();
    assert!(lines[0].contains("listening on 127.0.0.1:"), "{plain}");
    let stamp = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ line-\d$").unwrap();
    assert_eq!(lines[1..].len(), 3, "{plain}");
    assert!(lines[1..].iter().all(|l| stamp.is_match(l)), "{plain}");

    // json: one message per line, faas-provider's field order.
    let out = s.run(&["logs", "echo", "--tail=false", "-o", "json"]);
    let messages: Vec<Value> = out.success().stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(messages.len(), 4);
    let last = &messages[3];
    assert_eq!(
        (last["name"].as_str(), last["namespace"].as_str(), last["text"].as_str()),
        (Some("echo"), Some("openfaas-fn"), Some("line-3"))
    );
    let instance = last["instance"].as_str().unwrap().to_string();
    assert!(last["timestamp"].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().is_ok());
    let last_line = out.stdout.lines().last().unwrap();
    assert!(
        last_line.starts_with(&format!(
            "{{\"name\":\"echo\",\"namespace\":\"openfaas-fn\",\"instance\":\"{instance}\",\"timestamp\":\""
        )),
        "{last_line}"
    );
    assert_eq!(s.run(&["logs", "echo", "--tail=false", "--json"]).success().stdout, out.stdout);

    // keyvalue, with faas-cli's trailing space; --lines keeps the newest N.
    let kv = s.run(&["logs", "echo", "--tail=false", "-o", "keyvalue", "--lines", "2"]);
    let kv_lines: Vec<&str> = kv.success().stdout.lines().collect();
    assert_eq!(kv_lines.len(), 2, "{}", kv.stdout);
    assert!(kv_lines[1].starts_with("timestamp=\"20"), "{}", kv_lines[1]);
    assert!(
        kv_lines[1].ends_with(&format!("name=\"echo\" instance=\"{instance}\" text=\"line-3\" ")),
        "{}",
        kv_lines[1]
    );
    assert!(kv_lines[0].contains("text=\"line-2\""));

    // Columns and an empty time format.
    let columns = s.run(&["logs", "echo", "--tail=false", "--name", "--instance", "--time-format", ""]);
    assert!(columns.success().stdout.ends_with(&format!("echo ({instance}) line-3\n")), "{}", columns.stdout);
    let custom = s.run(&["logs", "echo", "--tail=false", "--lines", "1", "--time-format", "2006/01/02"]);
    assert!(
        regex::Regex::new(r"^\d{4}/\d\d/\d\d line-3\n$").unwrap().is_match(&custom.success().stdout),
        "{}",
        custom.stdout
    );

    // --since-time keeps lines from that instant on; --since counts back from now.
    let since_time = messages[2]["timestamp"].as_str().unwrap();
    let since = s.run(&["logs", "echo", "--tail=false", "--since-time", since_time, "--time-format", ""]);
    assert_eq!(since.success().stdout, "line-2\nline-3\n");
    tokio::time::sleep(Duration::from_millis(3500)).await;
    log_line(&s, "line-late").await;
    let mut recent = String::new();
    let arrived = eventually(Duration::from_secs(10), || {
        recent =
            s.run(&["logs", "echo", "--tail=false", "--since", "2s", "--time-format", ""]).success().stdout.clone();
        recent.contains("line-late")
    });
    assert!(arrived && !recent.contains("line-3"), "{recent}");
    s.run(&["logs", "echo", "--since", "soon"]).failure(2);

    // --tail (the default) follows: a new line shows up while the command runs.
    let mut child =
        s.command(&["logs", "echo", "--lines", "1", "--time-format", ""]).stdout(Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), "line-late");
    log_line(&s, "line-followed").await;
    let next = rx.recv_timeout(Duration::from_secs(10));
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(next.unwrap(), "line-followed");

    s.run(&["logs", "nope", "--tail=false"]).failure(1).stderr_has("404");
}
