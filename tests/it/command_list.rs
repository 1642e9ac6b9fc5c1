//! Every command and flag of faas-cli 0.18.12 (kept as data in `faas_cli_commands.txt`) is either
//! in rfaas (`rfaas CMD --help` works and names the flag) or listed, with its reason, in the
//! README's table "Compatibility with faas-cli 0.18.12: commands and flags".

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::Rfaas;

const LIST: &str = include_str!("faas_cli_commands.txt");

/// The README table: faas-cli command → flags listed (`None`: the whole command).
fn readme_exceptions() -> BTreeMap<String, Option<Vec<String>>> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Compatibility with faas-cli 0.18.12: commands and flags"))
        .expect("README section \"Compatibility with faas-cli 0.18.12: commands and flags\"");
    let mut out: BTreeMap<String, Option<Vec<String>>> = BTreeMap::new();
    for row in section.lines().filter(|l| l.starts_with("| `faas-cli ")) {
        let cells: Vec<&str> = row.split(" | ").collect();
        assert!(
            cells.len() >= 3 && !cells[2].trim().trim_end_matches('|').trim().is_empty(),
            "row without a reason: {row}"
        );
        let command = cells[0].trim_start_matches("| `faas-cli ").trim_end_matches('`').to_string();
        let entry = out.entry(command).or_insert_with(|| Some(Vec::new()));
        if cells[1].trim() == "(command)" {
            *entry = None;
        } else if let Some(flags) = entry {
            flags.extend(cells[1].split('`').filter(|f| f.starts_with("--")).map(str::to_string));
        }
    }
    out
}

/// `--name` is named in `help` as a flag of its own (not as the start of `--namespace`).
fn mentions(help: &str, flag: &str) -> bool {
    help.match_indices(flag).any(|(i, _)| {
        let next = help[i + flag.len()..].chars().next();
        !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

#[test]
fn every_faas_cli_command_and_flag_is_in_rfaas_or_in_the_readme_table() {
    let exceptions = readme_exceptions();
    let r = Rfaas::new();
    let mut problems = Vec::new();
    let mut checked = (0, 0);
    for line in LIST.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let (command, flags) = line.split_once(" | ").unwrap_or((line.trim_end_matches(" |"), ""));
        let command = command.trim();
        let exception = exceptions.get(command);
        if let Some(None) = exception {
            continue;
        }
        let mut args: Vec<&str> = if command == "(root)" { vec![] } else { command.split(' ').collect() };
        args.push("--help");
        let help = r.run(&args);
        if help.code != 0 {
            problems.push(format!(
                "`rfaas {command} --help` exits {} and the README does not list it: {}",
                help.code, help.stderr
            ));
            continue;
        }
        checked.0 += 1;
        for flag in flags.split_whitespace() {
            checked.1 += 1;
            let listed = exception.and_then(|e| e.as_ref()).is_some_and(|fs| fs.iter().any(|f| f == flag));
            if !mentions(&help.stdout, flag) && !listed {
                problems
                    .push(format!("`rfaas {command} --help` does not mention {flag} and the README does not list it"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked.0 > 40 && checked.1 > 250, "walked {} commands and {} flags", checked.0, checked.1);
}

#[test]
fn the_readme_table_lists_nothing_rfaas_already_has() {
    // An entry for a flag rfaas now documents would hide a regression: keep the table honest.
    let r = Rfaas::new();
    for (command, flags) in readme_exceptions() {
        let mut args: Vec<&str> = command.split(' ').collect();
        args.push("--help");
        let help = r.run(&args);
        match flags {
            None => assert_ne!(help.code, 0, "`rfaas {command}` exists now: remove its README row"),
            Some(flags) => {
                for flag in flags {
                    assert!(
                        !mentions(&help.stdout, &flag),
                        "`rfaas {command}` documents {flag} now: remove it from the README row"
                    );
                }
            }
        }
    }
}
