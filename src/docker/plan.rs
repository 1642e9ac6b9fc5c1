//! Everything checked before Docker is touched. Each selected function's handler, template,
//! build options, copy paths, build secrets and image name are validated, and all problems are
//! reported together, so a build either starts with every function ready or does not start.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::build::BuildJob;
use crate::stack::image::{TagFormat, image_name};
use crate::stack::{Function, Stack};
use crate::template::build_context::{self, ContextRequest};
use crate::template::lookup::{self, Sources};
use crate::template::{Template, is_dockerfile};

/// The build-arg that carries extra OS packages into a template's Dockerfile.
pub const ADDITIONAL_PACKAGE: &str = "ADDITIONAL_PACKAGE";

/// Flags that shape every function's build.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// `--build-arg K=V`, in order; later ones win.
    pub build_args: Vec<(String, String)>,
    /// `--build-option NAME`.
    pub build_options: Vec<String>,
    /// `--build-label K=V`.
    pub build_labels: Vec<(String, String)>,
    /// `--copy-extra PATH`.
    pub copy_extra: Vec<String>,
    pub tag: TagFormat,
    /// Ignore the stack's `configuration.templates` when looking for templates.
    pub disable_stack_pull: bool,
    /// Replace templates already in `./template` when pulling them.
    pub overwrite: bool,
}

/// What to do with one selected function.
#[derive(Debug)]
pub enum Step {
    Build(Box<Prepared>),
    /// `skip_build: true`.
    Skip(String),
    /// No `lang`: faas-cli prints a notice and carries on.
    NoLang(String),
}

/// A validated function, ready for its context to be assembled.
#[derive(Debug)]
pub struct Prepared {
    pub job: BuildJob,
    pub template: Template,
    pub handler: PathBuf,
}

/// The problems that stopped a build before it started.
#[derive(Debug, thiserror::Error)]
#[error("{} problem{} found, nothing was built:{}", .0.len(), if .0.len() == 1 { "" } else { "s" }, list(.0))]
pub struct PlanError(pub Vec<String>);

impl crate::error::Hint for PlanError {
    fn hint(&self) -> Option<String> {
        Some("fix the problems above; no image was built".into())
    }
}

fn list(problems: &[String]) -> String {
    problems.iter().map(|p| format!("\n  {p}")).collect()
}

/// Validates every selected function; on success nothing is missing for any build. Templates
/// the stack names and `./template` lacks come from `store_url`'s template store.
pub async fn prepare(
    stack: &Stack,
    opts: &PlanOptions,
    store_url: &str,
    cwd: &Path,
) -> Result<(Vec<Step>, Vec<PathBuf>), PlanError> {
    let mut problems = Vec::new();
    let copy = copy_paths(stack, opts, cwd, &mut problems);
    let no_templates = [];
    let sources = Sources {
        stack_templates: if opts.disable_stack_pull { &no_templates } else { &stack.file.configuration.templates },
        store_url,
        overwrite: opts.overwrite,
    };
    let mut steps = Vec::new();
    for f in stack.functions() {
        let at = format!("{}:{}: function {}", stack.source, f.mark.line, f.name);
        match prepare_one(f, opts, cwd, &sources).await {
            Ok(step) => steps.push(step),
            Err(errs) => problems.extend(errs.into_iter().map(|e| format!("{at}: {e}"))),
        }
    }
    if problems.is_empty() { Ok((steps, copy)) } else { Err(PlanError(problems)) }
}

fn copy_paths(stack: &Stack, opts: &PlanOptions, cwd: &Path, problems: &mut Vec<String>) -> Vec<PathBuf> {
    let mut wanted: Vec<&String> = opts.copy_extra.iter().collect();
    for p in &stack.file.configuration.copy {
        if !wanted.contains(&p) {
            wanted.push(p);
        }
    }
    let mut out = Vec::new();
    for path in wanted {
        match build_context::check_copy_path(cwd, path) {
            Ok(rel) if !out.contains(&rel) => out.push(rel),
            Ok(_) => {}
            Err(e) => problems.push(format!("{}: configuration.copy / --copy-extra: {e}", stack.source)),
        }
    }
    out
}

async fn prepare_one(f: &Function, opts: &PlanOptions, cwd: &Path, sources: &Sources<'_>) -> Result<Step, Vec<String>> {
    if f.skip_build {
        return Ok(Step::Skip(f.name.clone()));
    }
    let Some(lang) = f.lang.as_deref().filter(|l| !l.is_empty()) else {
        return Ok(Step::NoLang(f.name.clone()));
    };
    let mut problems = Vec::new();
    let handler = check_handler(f, cwd).map_err(|e| problems.push(e)).ok();
    if !f.build_secrets.is_empty() {
        let ids: Vec<&str> = f.build_secrets.keys().map(String::as_str).collect();
        problems.push(format!(
            "build_secrets ({}) need BuildKit, and rfaas builds with the engine's legacy builder; pass them as build_args or files in the handler instead",
            ids.join(", ")
        ));
    }
    if f.image.trim().is_empty() {
        problems.push("no image given".to_string());
    }
    let template_lang = if is_dockerfile(lang) { crate::template::DOCKERFILE_LANG } else { lang };
    let template = lookup::resolve(template_lang, cwd, sources).await.map_err(|e| problems.push(e.to_string())).ok();
    let packages = template.as_ref().map(|t| option_packages(f, opts, t, &mut problems)).unwrap_or_default();
    let image =
        image_name(opts.tag, &f.image, f.handler.as_deref(), cwd).map_err(|e| problems.push(e.to_string())).ok();
    let (Some(handler), Some(template), Some(image), true) = (handler, template, image, problems.is_empty()) else {
        return Err(problems);
    };
    let job = BuildJob {
        function: f.name.clone(),
        lang: lang.to_string(),
        image,
        context_dir: build_context::build_dir(cwd, &f.name),
        build_args: build_args(f, opts, &packages),
        labels: opts.build_labels.iter().cloned().collect(),
        platform: None,
        pull_auth: Default::default(),
    };
    Ok(Step::Build(Box::new(Prepared { job, template, handler })))
}

fn check_handler(f: &Function, cwd: &Path) -> Result<PathBuf, String> {
    let Some(handler) = f.handler.as_deref().filter(|h| !h.is_empty()) else {
        return Err("no handler folder given (the `handler` key)".to_string());
    };
    let path = cwd.join(handler);
    if path.is_dir() {
        Ok(path)
    } else if path.exists() {
        Err(format!("handler {handler} is not a directory"))
    } else {
        Err(format!("handler folder {handler} does not exist"))
    }
}

/// Packages of the selected build options (stack, then `--build-option`); unknown ones are problems.
fn option_packages(f: &Function, opts: &PlanOptions, t: &Template, problems: &mut Vec<String>) -> Vec<String> {
    let mut packages = Vec::new();
    let mut seen = Vec::new();
    for name in f.build_options.iter().chain(&opts.build_options) {
        if seen.contains(&name) {
            continue;
        }
        seen.push(name);
        match t.spec.build_option(name) {
            Some(p) => packages.extend(p.iter().cloned()),
            None => {
                let offered: Vec<&str> = t.spec.build_options.iter().map(|o| o.name.as_str()).collect();
                let offered = if offered.is_empty() { "none".to_string() } else { offered.join(", ") };
                problems.push(format!(
                    "build option \"{name}\" is not available for {} (see {}/template.yml; available: {offered})",
                    t.lang,
                    t.describe()
                ));
            }
        }
    }
    packages
}

/// Stack `build_args`, then flags (a flag wins per key), the proxies, and `ADDITIONAL_PACKAGE`
/// (option packages plus the arg's own, de-duplicated, sorted, always passed as faas-cli 0.18).
pub fn build_args(f: &Function, opts: &PlanOptions, option_packages: &[String]) -> BTreeMap<String, String> {
    let mut args = f.build_args.clone();
    for key in ["http_proxy", "https_proxy"] {
        if let Ok(v) = std::env::var(key) {
            args.insert(key.to_string(), v);
        }
    }
    let mut flag_packages: Vec<&str> = Vec::new();
    for (k, v) in &opts.build_args {
        if k == ADDITIONAL_PACKAGE {
            flag_packages.extend(v.split_whitespace());
        } else {
            args.insert(k.clone(), v.clone());
        }
    }
    let extra = args.remove(ADDITIONAL_PACKAGE).unwrap_or_default();
    let mut packages: Vec<String> = option_packages.to_vec();
    if flag_packages.is_empty() {
        packages.extend(extra.split_whitespace().map(str::to_string));
    } else {
        packages.extend(flag_packages.into_iter().map(str::to_string));
    }
    packages.sort();
    packages.dedup();
    args.insert(ADDITIONAL_PACKAGE.to_string(), packages.join(" "));
    args
}

/// Writes `./build/<fn>/` for a prepared function.
pub fn assemble(p: &Prepared, copy: &[PathBuf], cwd: &Path) -> std::io::Result<PathBuf> {
    build_context::assemble(&ContextRequest {
        function: &p.job.function,
        lang: &p.job.lang,
        handler: &p.handler,
        template: &p.template,
        copy,
        cwd,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn additional_package_is_merged_sorted_and_always_set() {
        let mut f = Function::default();
        let opts = PlanOptions::default();
        assert_eq!(build_args(&f, &opts, &[])[ADDITIONAL_PACKAGE], "");
        f.build_args.insert(ADDITIONAL_PACKAGE.into(), "git curl".into());
        let pk = ["make".to_string(), "git".to_string()];
        assert_eq!(build_args(&f, &opts, &pk)[ADDITIONAL_PACKAGE], "curl git make");
        let flags = PlanOptions {
            build_args: vec![(ADDITIONAL_PACKAGE.into(), "jq".into()), (ADDITIONAL_PACKAGE.into(), "vim".into())],
            ..Default::default()
        };
        assert_eq!(build_args(&f, &flags, &[])[ADDITIONAL_PACKAGE], "jq vim", "a flag wins over the stack value");
    }
}
