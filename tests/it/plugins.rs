//! Running faas-cli plugins: `rfaas NAME ARGS` runs `~/.openfaas/plugins/NAME` (or `faas-NAME`).

use std::os::unix::fs::PermissionsExt;

use crate::support::Rfaas;

fn plugin(r: &Rfaas, file: &str, script: &str) {
    let dir = r.home().join(".openfaas/plugins");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(file);
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_plugin_runs_with_its_arguments_and_its_exit_code() {
    let r = Rfaas::new();
    plugin(&r, "hello", "#!/bin/sh\necho \"hello $*\"\necho to-stderr >&2\nexit 7\n");
    plugin(&r, "faas-pro", "#!/bin/sh\necho \"pro $1\"\n");
    let run = r.run(&["hello", "a", "--flag", "b c"]);
    run.failure(7).stdout_has("hello a --flag b c\n").stderr_has("to-stderr");
    r.run(&["pro", "x"]).success().stdout_has("pro x");
}

#[test]
fn plugins_never_shadow_built_ins_or_escape_the_plugin_folder() {
    let r = Rfaas::new();
    plugin(&r, "version", "#!/bin/sh\necho hijacked\n");
    let run = r.run(&["version", "--short-version"]);
    assert!(!run.success().stdout.contains("hijacked"));
    std::fs::write(r.home().join(".openfaas/outside"), "#!/bin/sh\necho escaped\n").unwrap();
    std::fs::set_permissions(r.home().join(".openfaas/outside"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = r.run(&["../outside"]);
    run.failure(2);
    assert!(!run.stdout.contains("escaped"));
    r.run(&["no-such-plugin"]).failure(2).stderr_has("unrecognized subcommand");
    // A plugin file that cannot be executed (bad interpreter) exits 127, as faas-cli does.
    plugin(&r, "broken", "#!/no/such/interpreter\n");
    r.run(&["broken"]).failure(127).stderr_has("cannot run the plugin");
}
