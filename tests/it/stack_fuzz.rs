//! A bounded fuzz test of the stack parser that runs in CI: seeded, deterministic mutations of
//! the repository's stack files (byte flips, duplicated, deleted and spliced lines, anchors and
//! aliases, deep nesting, huge scalars, `${...}` forms, truncation, indentation) through the real
//! binary (`rfaas generate -f`), each under support/capped.rs's caps (512 MiB, 10 s). Every input
//! must end with exit 0, or exit 1 and an `error:` line: never a panic (101), a signal (a stack
//! overflow or a failed allocation aborts) or a timeout.
//!
//! `RFAAS_FUZZ_SEED` and `RFAAS_FUZZ_INPUTS` change the seed and the number of inputs. A failure
//! prints the seed and keeps each failing input, with the mutations that made it and what rfaas
//! printed, under `target/tmp/stack-fuzz/`; `rfaas generate -f <that file>` reproduces it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use crate::support::Rfaas;
use crate::support::capped::{CAPS, CappedRun, run_capped};

const DEFAULT_SEED: u64 = 150_011;
const DEFAULT_INPUTS: usize = 320;
/// Runs at once: the inputs are small, and the machine may have 2 loaded cores.
const WORKERS: usize = 4;

/// A stack file of the repository and the files beside it (its `environment_file`s).
struct Seed {
    path: PathBuf,
    lines: Vec<String>,
    siblings: Vec<(String, Vec<u8>)>,
}

fn seeds() -> Vec<Seed> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seeds = Vec::new();
    for dir in ["stacks", "tests/it/golden"] {
        for entry in walkdir::WalkDir::new(root.join(dir)).sort_by_file_name() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy();
            if name != "stack.yaml" && name != "stack.yml" {
                continue;
            }
            let text = std::fs::read_to_string(entry.path()).unwrap();
            let folder = entry.path().parent().unwrap();
            let siblings = std::fs::read_dir(folder)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| {
                    p.is_file() && p.extension().is_some_and(|x| x == "yml" || x == "yaml") && p != entry.path()
                })
                .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
                .collect();
            seeds.push(Seed {
                path: entry.path().to_path_buf(),
                lines: text.lines().map(String::from).collect(),
                siblings,
            });
        }
    }
    assert!(seeds.len() >= 4, "expected the repository's stack files, found {}", seeds.len());
    seeds
}

/// `${...}` forms, including the ones that once overflowed, panicked or nested without bound.
const SUBSTITUTIONS: &[&str] = &[
    "${V}",
    "${V:1:18446744073709551615}",
    "${V:18446744073709551615}",
    "${V: -99999999999999999999}",
    "${V:0:-1}",
    "${V:3:-5}",
    "${V:x}",
    "${V:}",
    "${#V}",
    "${V^^}",
    "${V,,}",
    "${V^}",
    "${UNSET:-d}",
    "${UNSET:?required}",
    "${V:+alt}",
    "${UNSET=x}",
    "${V#*b}",
    "${V##*}",
    "${V%c*}",
    "${V%%*}",
    "${V/b/B}",
    "${V//?/xx}",
    "${V/#a/A}",
    "${V/%f/F}",
    "${",
    "${}",
    "${1A}",
    "$${V}",
    "$V",
    "${UNSET:-\u{e9}\u{e9}${ALSO:?inner}}",
    "${V:-${W:-${X:-deep}}}",
    "${V@Q}",
];

struct Mutator<'a> {
    rng: Xoshiro256PlusPlus,
    seeds: &'a [Seed],
    log: Vec<String>,
}

impl Mutator<'_> {
    fn below(&mut self, n: usize) -> usize {
        self.rng.random_range(0..n.max(1))
    }

    /// One input: 1 to 3 mutations of `seed`'s text.
    fn input(&mut self, seed: &Seed) -> Vec<u8> {
        self.log = vec![format!("from {}", seed.path.display())];
        let mut lines = seed.lines.clone();
        let mut bytes = None;
        for _ in 0..=self.below(3) {
            match self.below(10) {
                0 => bytes = Some(self.flip_bytes(bytes.unwrap_or_else(|| join(&lines)))),
                1 => self.duplicate_lines(&mut lines),
                2 => self.delete_lines(&mut lines),
                3 => self.splice(&mut lines),
                4 => self.anchors_and_aliases(&mut lines),
                5 => self.deep_nesting(&mut lines),
                6 => self.huge_scalar(&mut lines),
                7 => self.substitution(&mut lines),
                8 => bytes = Some(self.truncate(bytes.unwrap_or_else(|| join(&lines)))),
                _ => self.indentation(&mut lines),
            }
        }
        bytes.unwrap_or_else(|| join(&lines))
    }

    fn flip_bytes(&mut self, mut bytes: Vec<u8>) -> Vec<u8> {
        for _ in 0..=self.below(8) {
            let (at, bit) = (self.below(bytes.len()), self.below(8));
            if let Some(b) = bytes.get_mut(at) {
                *b ^= 1 << bit;
                self.log.push(format!("flip bit {bit} of byte {at}"));
            }
        }
        bytes
    }

    fn range(&mut self, lines: &[String]) -> (usize, usize) {
        let start = self.below(lines.len());
        (start, (start + 1 + self.below(5)).min(lines.len()))
    }

    fn duplicate_lines(&mut self, lines: &mut Vec<String>) {
        let (start, end) = self.range(lines);
        let copy: Vec<String> = lines[start..end].to_vec();
        let at = self.below(lines.len() + 1);
        self.log.push(format!("copy lines {}..{} to before line {}", start + 1, end, at + 1));
        lines.splice(at..at, copy);
    }

    fn delete_lines(&mut self, lines: &mut Vec<String>) {
        let (start, end) = self.range(lines);
        self.log.push(format!("delete lines {}..{}", start + 1, end));
        lines.drain(start..end);
    }

    fn splice(&mut self, lines: &mut Vec<String>) {
        let other = &self.seeds[self.below(self.seeds.len())];
        let (start, end) = self.range(&other.lines);
        let copy: Vec<String> = other.lines[start..end].to_vec();
        let at = self.below(lines.len() + 1);
        self.log.push(format!(
            "splice lines {}..{} of {} before line {}",
            start + 1,
            end,
            other.path.display(),
            at + 1
        ));
        lines.splice(at..at, copy);
    }

    /// A value line (`key: value`), as (index, offset of the value).
    fn value_line(&mut self, lines: &[String]) -> Option<(usize, usize)> {
        let candidates: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].contains(": ")).collect();
        let i = *candidates.get(self.below(candidates.len()))?;
        Some((i, lines[i].find(": ")? + 2))
    }

    fn anchors_and_aliases(&mut self, lines: &mut Vec<String>) {
        if self.below(3) == 0 {
            let levels = 1 + self.below(9);
            self.log.push(format!("alias bomb of {levels} levels at the top"));
            let mut bomb = vec!["x-b0: &b0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]".to_string()];
            bomb.extend(
                (1..=levels).map(|i| format!("x-b{i}: &b{i} [{}]", vec![format!("*b{}", i - 1); 9].join(", "))),
            );
            bomb.push(format!("x-use: *b{levels}"));
            lines.splice(0..0, bomb);
            return;
        }
        let (Some((a, at)), Some((b, bt))) = (self.value_line(lines), self.value_line(lines)) else { return };
        self.log.push(format!("anchor &fz on line {}, alias *fz on line {}", a + 1, b + 1));
        lines[a].insert_str(at, "&fz ");
        let key = lines[b][..bt].to_string();
        lines[b] = format!("{key}*fz");
    }

    fn deep_nesting(&mut self, lines: &mut Vec<String>) {
        let depth = [10, 127, 128, 129, 300, 5_000, 100_000][self.below(7)];
        let at = self.below(lines.len() + 1);
        let text = match self.below(4) {
            0 => format!("x-deep: {}{}", "[".repeat(depth), "]".repeat(depth)),
            1 => format!("x-deep: {}x{}", "{a: ".repeat(depth.min(1000)), "}".repeat(depth.min(1000))),
            2 => format!("x-deep:\n  {}x", "- ".repeat(depth)),
            _ => format!(
                "x-deep:\n{}",
                (1..=depth.min(3000)).map(|d| format!("{}a:", " ".repeat(d))).collect::<Vec<_>>().join("\n")
            ),
        };
        self.log.push(format!("nesting {depth} deep before line {}", at + 1));
        lines.splice(at..at, text.lines().map(String::from));
    }

    fn huge_scalar(&mut self, lines: &mut [String]) {
        let Some((i, at)) = self.value_line(lines) else { return };
        let size = [1_000, 100_000, 512 << 10][self.below(3)];
        let body = "x".repeat(size);
        let value = match self.below(3) {
            0 => body,
            1 => format!("\"{body}\""),
            _ => format!("|\n{}  {body}", " ".repeat(at)),
        };
        self.log.push(format!("{size}-byte scalar on line {}", i + 1));
        lines[i].replace_range(at.., &value);
    }

    fn substitution(&mut self, lines: &mut [String]) {
        let Some((i, at)) = self.value_line(lines) else { return };
        let mut value: String = (0..=self.below(3)).map(|_| SUBSTITUTIONS[self.below(SUBSTITUTIONS.len())]).collect();
        if self.below(4) == 0 {
            let depth = [31, 32, 33, 1000][self.below(4)];
            value = format!("{}x{}", "${U:-".repeat(depth), "}".repeat(depth));
        }
        self.log.push(format!("line {} value {}", i + 1, value.chars().take(80).collect::<String>()));
        lines[i].replace_range(at.., &value);
    }

    fn truncate(&mut self, mut bytes: Vec<u8>) -> Vec<u8> {
        let at = self.below(bytes.len());
        self.log.push(format!("truncate at byte {at}"));
        bytes.truncate(at);
        bytes
    }

    fn indentation(&mut self, lines: &mut [String]) {
        let i = self.below(lines.len());
        let Some(line) = lines.get_mut(i) else { return };
        let trimmed = line.trim_start().to_string();
        let indent = [0, 1, 3, 8][self.below(4)];
        *line = if self.below(5) == 0 { format!("\t{trimmed}") } else { format!("{}{trimmed}", " ".repeat(indent)) };
        self.log.push(format!("indent line {} to {indent}", i + 1));
    }
}

fn join(lines: &[String]) -> Vec<u8> {
    let mut text = lines.join("\n");
    text.push('\n');
    text.into_bytes()
}

/// Whether a run ended as the parser must: 0, or 1 with an `error:` that says something.
fn acceptable(run: &CappedRun) -> bool {
    let has_error = run.stderr.lines().any(|l| l.strip_prefix("error: ").is_some_and(|rest| !rest.trim().is_empty()));
    !run.timed_out && (run.code == Some(0) || (run.code == Some(1) && has_error))
}

/// `name` from the environment, parsed, or `default` when it is not set.
fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a decimal number")),
        Err(_) => default,
    }
}

#[test]
fn mutated_stack_files_never_crash_hang_or_exhaust_memory() {
    let seed: u64 = env_or("RFAAS_FUZZ_SEED", DEFAULT_SEED);
    let count: usize = env_or("RFAAS_FUZZ_INPUTS", DEFAULT_INPUTS);
    let seeds = seeds();
    // One project directory per seed file, with its sibling files (environment_file is relative
    // to the working directory).
    let projects: Vec<Rfaas> = seeds
        .iter()
        .map(|s| {
            let mut rfaas = Rfaas::new();
            rfaas.env("V", "abcdef").env("W", "").env("TAG", "0.2");
            for (name, bytes) in &s.siblings {
                std::fs::write(rfaas.path().join(name), bytes).unwrap();
            }
            rfaas
        })
        .collect();
    let mut mutator = Mutator { rng: Xoshiro256PlusPlus::seed_from_u64(seed), seeds: &seeds, log: Vec::new() };
    let inputs: Vec<(usize, usize, Vec<String>)> = (0..count)
        .map(|n| {
            let which = n % seeds.len();
            let bytes = mutator.input(&seeds[which]);
            std::fs::write(projects[which].path().join(format!("input-{n:04}.yml")), bytes).unwrap();
            (n, which, std::mem::take(&mut mutator.log))
        })
        .collect();

    let next = Mutex::new(inputs.iter());
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| {
                while let Some((n, which, log)) = {
                    let mut it = next.lock().unwrap();
                    it.next()
                } {
                    let file = format!("input-{n:04}.yml");
                    let run = run_capped(projects[*which].command(&["generate", "-f", &file]), CAPS);
                    if !acceptable(&run) {
                        failures.lock().unwrap().push(keep_failure(
                            seed,
                            &projects[*which].path().join(&file),
                            log,
                            &run,
                        ));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {count} inputs failed (RFAAS_FUZZ_SEED={seed}):\n{}",
        failures.len(),
        failures.iter().take(10).cloned().collect::<Vec<_>>().join("\n\n")
    );
}

/// Copies a failing input (and an account of it) where it outlives the test's temp directory.
fn keep_failure(seed: u64, input: &Path, log: &[String], run: &CappedRun) -> String {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("stack-fuzz");
    std::fs::create_dir_all(&dir).unwrap();
    let name = input.file_name().unwrap().to_string_lossy();
    let kept = dir.join(format!("seed-{seed}-{name}"));
    std::fs::copy(input, &kept).unwrap();
    let account = format!("mutations:\n  {}\n{}", log.join("\n  "), run.describe());
    std::fs::write(kept.with_extension("txt"), &account).unwrap();
    format!("{} ({} beside it): {account}", kept.display(), kept.with_extension("txt").display())
}
