//! Snapshots of what users read from `--help` and from build, push, deploy and up on one fixture,
//! so that the operations layer (issue 9 step 1) is checked to leave the output unchanged.
//!
//! Values that differ between runs (the unique tag, the gateway's port, digests, durations) are
//! replaced by placeholders; everything else must match the snapshot byte for byte. Review a
//! change with `cargo insta review` (or accept with `INSTA_UPDATE=always`).

use crate::engine;
use crate::environment::test_env;
use crate::support::Rfaas;
use crate::support::gateway::TestGateway;

#[test]
fn help_texts() {
    let rfaas = Rfaas::new();
    for args in [&["--help"][..], &["build", "--help"], &["push", "--help"], &["deploy", "--help"], &["up", "--help"]] {
        let run = rfaas.run(args);
        run.success();
        let name = format!("help_{}", args[0].trim_start_matches('-'));
        insta::assert_snapshot!(name, run.stdout);
    }
}

/// What clap renders from the command tree, which is built lazily (only the invoked subcommand's
/// arguments are added, issue 13): the root help lists every command with its summary, a nested
/// command's help, the completion script (built from the whole tree) and the tips for a mistyped
/// command or flag must stay what they were when the whole tree was built at every start.
#[test]
fn lazily_built_command_tree_renders_the_same() {
    let rfaas = Rfaas::new();
    for (name, args) in [
        ("help_no_arguments", &[][..]),
        ("help_help_command", &["help"]),
        ("help_secret_create", &["secret", "create", "--help"]),
        ("help_help_secret_create", &["help", "secret", "create"]),
        ("help_template_store_list", &["template", "store", "list", "--help"]),
        ("help_gateway", &["gateway", "--help"]),
    ] {
        let run = rfaas.run(args);
        run.success();
        insta::assert_snapshot!(name, run.stdout);
    }
    let bash = rfaas.run(&["completion", "bash"]);
    let head: Vec<&str> = bash.success().stdout.lines().take(40).collect();
    insta::assert_snapshot!("completion_bash_head", head.join("\n"));
    // The whole scripts by size: a subcommand or flag missing from the tree changes them.
    let sizes: Vec<String> = ["bash", "zsh", "fish"]
        .iter()
        .map(|shell| {
            let run = rfaas.run(&["completion", shell]);
            let script = &run.success().stdout;
            format!("{shell}: {} lines, {} bytes", script.lines().count(), script.len())
        })
        .collect();
    insta::assert_snapshot!("completion_sizes", sizes.join("\n"));
    for (name, args) in [
        ("tip_similar_command", &["lsit"][..]),
        ("tip_similar_nested_command", &["secret", "lst"]),
        ("tip_similar_flag", &["list", "--gatway", "http://127.0.0.1:1"]),
        ("tip_flag_as_value", &["generate", "--nope"]),
        ("tip_missing_value", &["invoke"]),
        ("tip_bad_value", &["list", "--output", "xml"]),
    ] {
        insta::assert_snapshot!(name, transcript(&rfaas.run(args)));
    }
}

/// Two dockerfile-language functions (the echo test server plus a file) whose images go to the
/// test registry under `tag`.
fn fixture(registry: &str, tag: &str, base: &str) -> Rfaas {
    let rfaas = Rfaas::new();
    let mut stack = String::from("version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n");
    for name in ["snap-a", "snap-b"] {
        stack.push_str(&format!(
            "  {name}:\n    lang: dockerfile\n    handler: ./{name}\n    image: {registry}/{}/{name}:{tag}\n",
            engine::PREFIX
        ));
        rfaas.file(&format!("{name}/Dockerfile"), &format!("FROM {base}\nCOPY msg.txt /msg.txt\n"));
        rfaas.file(&format!("{name}/msg.txt"), name);
    }
    rfaas.file("stack.yaml", &stack);
    rfaas
}

/// The filters that make one run's output comparable with another's.
fn settings(tag: &str, gateway: &str) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(&regex_escape(tag), "[TAG]");
    s.add_filter(&regex_escape(gateway), "[GATEWAY]");
    s.add_filter(r"sha256:[0-9a-f]{64}", "[DIGEST]");
    s.add_filter(r"\b[0-9a-f]{12}\b", "[ID]");
    s.add_filter(r"in \d+\.\ds", "in [T]s");
    s.add_filter(r"/tmp/\.tmp[A-Za-z0-9]+", "[TMP]");
    s
}

fn regex_escape(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_string() } else { format!("\\{c}") }).collect()
}

/// stdout and stderr of one run, with its exit code, as one snapshot.
fn transcript(run: &crate::support::Run) -> String {
    format!("exit: {}\n--- stdout\n{}--- stderr\n{}", run.code, run.stdout, run.stderr)
}

#[tokio::test]
async fn build_push_deploy_and_up_print_what_they_did() {
    let env = test_env();
    let (registry, user, password) =
        (&env["RFAAS_TEST_REGISTRY"], &env["RFAAS_TEST_REGISTRY_USER"], &env["RFAAS_TEST_REGISTRY_PASSWORD"]);
    let gateway = TestGateway::start().await;
    let (base, _) = crate::support::gateway::echo_images().await;
    let tag = engine::unique("snap");
    let images: Vec<String> =
        ["snap-a", "snap-b"].iter().map(|n| format!("{registry}/{}/{n}:{tag}", engine::PREFIX)).collect();
    let _images = engine::Images(images);
    let mut rfaas = fixture(registry, &tag, &base);
    rfaas.env("OPENFAAS_CONFIG", &rfaas.path().join("openfaas").display().to_string());
    rfaas.stdin(password.as_bytes());
    let creds = ["registry-login", "--server", registry, "-u", user, "--password-stdin", "--config-dir", "creds"];
    rfaas.run(&creds).success();
    rfaas.env("DOCKER_CONFIG", &rfaas.path().join("creds").display().to_string());
    rfaas.stdin(gateway.password.as_bytes());
    rfaas.run(&["login", "-g", &gateway.url, "--password-stdin"]).success();
    rfaas.stdin(b"");

    let _guard = settings(&tag, &gateway.url).bind_to_scope();
    // --quiet: the engine's own step output (layer ids, cache lines) is not rfaas's to snapshot.
    insta::assert_snapshot!("build_first", transcript(&rfaas.run(&["build", "--quiet"])));
    insta::assert_snapshot!("build_unchanged", transcript(&rfaas.run(&["build"])));
    let pushed = rfaas.run(&["push", "--quiet"]);
    // Parallel pushes finish in any order: sort the lines.
    let mut lines: Vec<&str> = pushed.stderr.lines().collect();
    lines.sort();
    insta::assert_snapshot!("push", format!("exit: {}\n{}", pushed.code, lines.join("\n")));
    insta::assert_snapshot!("deploy", transcript(&rfaas.run(&["deploy", "-g", &gateway.url])));
    let up = rfaas.run(&["up", "-g", &gateway.url, "--skip-push", "--quiet"]);
    insta::assert_snapshot!("up_skip_push", transcript(&up));
    insta::assert_snapshot!("up_parallel_zero", transcript(&rfaas.run(&["up", "--parallel", "0"])));
    insta::assert_snapshot!("remove", transcript(&rfaas.run(&["remove", "-g", &gateway.url])));
}
