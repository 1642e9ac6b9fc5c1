//! invoke: body, content type, headers, query, method, async, signatures, namespaces, failures.

use hmac::{KeyInit, Mac};

use super::{Session, json};

#[tokio::test]
async fn invoke_sends_what_the_flags_say_to_the_right_namespace() {
    let mut s = Session::logged_in().await;
    let url = s.gw.url.clone();
    s.run(&["namespace", "create", "dev"]).success();
    s.deploy_echo("echo", &["-e", "ECHO_WHERE=default"]);
    let image = s.image.clone();
    s.file(
        "dev.yml",
        &format!(
            "provider: {{name: openfaas}}\nfunctions:\n  echo:\n    image: {image}\n    namespace: dev\n    environment: {{ECHO_WHERE: dev}}\n"
        ),
    );
    s.run(&["deploy", "-f", "dev.yml", "--wait"]).success().stdout_has(&format!("URL: {url}/function/echo.dev\n"));

    // stdin is the body; the default content type is text/plain; the output is the raw response.
    let run = s.run_stdin(&["invoke", "echo"], b"hello");
    let echo = json(run.success());
    assert_eq!((echo["method"].as_str(), echo["body"].as_str()), (Some("POST"), Some("hello")));
    assert_eq!(echo["headers"]["content-type"], "text/plain");
    assert_eq!(echo["env"]["ECHO_WHERE"], "default");
    assert!(run.stdout.ends_with('}'), "nothing is added to the function's output: {:?}", run.stdout);

    // Headers in both forms (the first separator wins), --content-type, --query sorted and encoded.
    let echo = json(
        s.run_stdin(
            &[
                "invoke",
                "echo",
                "--content-type",
                "application/json",
                "-H",
                "X-One: http://a:1",
                "-H",
                "x-two=c=d",
                "--query",
                "b=2",
                "--query",
                "a=x y&z",
            ],
            b"{}",
        )
        .success(),
    );
    assert_eq!(echo["headers"]["content-type"], "application/json");
    assert_eq!(echo["headers"]["x-one"], "http://a:1");
    assert_eq!(echo["headers"]["x-two"], "c=d");
    assert_eq!(echo["query"], "a=x+y%26z&b=2");
    // A Content-Type header is kept when --content-type is not given.
    let echo = json(s.run(&["invoke", "echo", "-H", "Content-Type: text/csv"]).success());
    assert_eq!(echo["headers"]["content-type"], "text/csv");
    let echo = json(s.run(&["invoke", "echo", "-m", "GET"]).success());
    assert_eq!(echo["method"], "GET");
    let echo = json(s.run(&["invoke", "echo", "--method", "put"]).success());
    assert_eq!(echo["method"], "PUT");
    s.run(&["invoke", "echo", "-m", "BREW"]).failure(2);

    // --sign: HMAC-SHA256 of the body with --key, as sha256=<hex>.
    let body = b"{\"event\": \"push\"}";
    let echo = json(s.run_stdin(&["invoke", "echo", "--sign", "X-Hub-Signature", "--key", "s3cr3t"], body).success());
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"s3cr3t").unwrap();
    mac.update(body);
    let want = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(echo["headers"]["x-hub-signature"], want.as_str());
    s.run(&["invoke", "echo", "--sign", "X-Sig"]).failure(2);

    // Namespaces: -n, else the stack's, else openfaas-fn is appended to the name.
    let debug = s.run_env(&["invoke", "echo"], "FAAS_DEBUG", "1");
    debug.success().stderr_has(&format!("POST {url}/function/echo.openfaas-fn\n"));
    assert!(
        !debug.stderr.to_lowercase().contains("authorization"),
        "gateway credentials go to functions: {}",
        debug.stderr
    );
    assert_eq!(json(s.run(&["invoke", "echo", "-n", "dev"]).success())["env"]["ECHO_WHERE"], "dev");
    assert_eq!(json(s.run(&["invoke", "echo", "-f", "dev.yml"]).success())["env"]["ECHO_WHERE"], "dev");
    assert_eq!(
        json(s.run(&["invoke", "echo", "-f", "dev.yml", "-n", "openfaas-fn"]).success())["env"]["ECHO_WHERE"],
        "default"
    );

    // --async: 202, the message on stderr, nothing on stdout.
    let run = s.run_stdin(&["invoke", "echo", "--async"], b"later");
    run.success().stderr_has("Function submitted asynchronously.");
    assert_eq!(run.stdout, "");

    // Non-2xx answers: exit 1 with the status and the body.
    s.run(&["invoke", "nope"])
        .failure(1)
        .stderr_has("server returned unexpected status code: 404 - error finding function nope.openfaas-fn");
    s.run(&["invoke", "echo", "-n", "qa"]).failure(1).stderr_has("status code: 404");
    s.run(&["invoke", "echo", "--async", "-m", "GET"]).failure(1).stderr_has("status code: 405");
}
