//! `chart export`: render a Helm chart with `helm template` and split the manifests into one file
//! per resource under `<output>/<kind>/<name>.yaml`, CustomResourceDefinitions in
//! `00_customresourcedefinition/` so they sort (and apply) first, as faas-cli does.
//!
//! Each document is written as helm rendered it (its `# Source:` comment kept), not re-encoded.

use std::path::{Path, PathBuf};

/// What to render.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// `chart/<name>` relative to the working directory.
    pub chart: PathBuf,
    pub release: String,
    pub values: Vec<String>,
    pub set: Vec<String>,
    pub namespace: Option<String>,
    pub crds: bool,
    pub output: PathBuf,
}

/// Why the chart could not be exported.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("helm is required but was not found in PATH")]
    NoHelm,
    #[error("chart directory not found: {}", .0.display())]
    NoChart(PathBuf),
    #[error("refusing to replace {}: it is the working directory or one of its parents", .0.display())]
    UnsafeOutput(PathBuf),
    #[error("helm template failed ({status}): {stderr}")]
    Helm { status: String, stderr: String },
    #[error("cannot run helm: {0}")]
    Spawn(std::io::Error),
    #[error("helm printed a document that is not YAML: {0}")]
    Yaml(serde_yaml::Error),
    #[error("no resources found in helm output")]
    Empty,
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

impl crate::error::Hint for ChartError {
    fn hint(&self) -> Option<String> {
        match self {
            ChartError::NoHelm => Some(
                "install Helm 3 (https://helm.sh/docs/intro/install/) and put `helm` on PATH; rfaas runs `helm template`"
                    .into(),
            ),
            ChartError::NoChart(_) => Some("CHART names a folder under ./chart/, e.g. `rfaas chart export openfaas`".into()),
            ChartError::UnsafeOutput(_) => Some("give -o a folder of its own, e.g. -o ./yaml".into()),
            _ => None,
        }
    }
}

/// One rendered resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub text: String,
}

/// `helm` on PATH.
pub fn find_helm() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join("helm")).find(|p| {
        use std::os::unix::fs::PermissionsExt;
        p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// The `helm` arguments for `opts`, as faas-cli passes them.
pub fn helm_args(opts: &ExportOptions) -> Vec<String> {
    let mut args = vec!["template".to_string(), opts.release.clone(), opts.chart.display().to_string()];
    if opts.crds {
        args.push("--include-crds".into());
    }
    for v in &opts.values {
        args.extend(["-f".to_string(), v.clone()]);
    }
    for s in &opts.set {
        args.extend(["--set".to_string(), s.clone()]);
    }
    if let Some(ns) = &opts.namespace {
        args.extend(["--namespace".to_string(), ns.clone()]);
    }
    args
}

/// Splits helm's output into resources; documents without a kind or a name are skipped.
pub fn split(stream: &str) -> Result<Vec<Resource>, ChartError> {
    let mut docs = vec![String::new()];
    for line in stream.lines() {
        if line.trim_end() == "---" {
            docs.push(String::new());
        } else {
            let doc = docs.last_mut().expect("one document");
            doc.push_str(line);
            doc.push('\n');
        }
    }
    let mut out = Vec::new();
    for text in docs {
        let value: serde_yaml::Value = serde_yaml::from_str(&text).map_err(ChartError::Yaml)?;
        let field = |v: &serde_yaml::Value, k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or_default().to_string();
        let kind = field(&value, "kind");
        let meta = value.get("metadata").cloned().unwrap_or_default();
        let name = field(&meta, "name");
        if kind.is_empty() || name.is_empty() {
            continue;
        }
        out.push(Resource { kind, namespace: field(&meta, "namespace"), name, text });
    }
    Ok(out)
}

/// The file each resource goes to, relative to the output folder; a kind and name seen twice
/// get the namespace appended.
pub fn file_names(resources: &[Resource]) -> Vec<PathBuf> {
    resources
        .iter()
        .map(|r| {
            let mut dir = r.kind.to_lowercase();
            if r.kind == "CustomResourceDefinition" {
                dir = format!("00_{dir}");
            }
            let twice = resources.iter().filter(|o| o.kind == r.kind && o.name == r.name).count() > 1;
            let file =
                if twice && !r.namespace.is_empty() { format!("{}.{}", r.name, r.namespace) } else { r.name.clone() };
            // Names come from the chart: keep them inside the folder.
            let clean = |s: &str| s.replace(['/', '\\'], "_").replace("..", "_");
            Path::new(&clean(&dir)).join(format!("{}.yaml", clean(&file)))
        })
        .collect()
}

/// Runs helm and writes the files; returns the paths written, relative to `opts.output`.
pub fn export(opts: &ExportOptions, cwd: &Path) -> Result<Vec<PathBuf>, ChartError> {
    let helm = find_helm().ok_or(ChartError::NoHelm)?;
    let chart = cwd.join(&opts.chart);
    if !chart.is_dir() {
        return Err(ChartError::NoChart(opts.chart.clone()));
    }
    let output = cwd.join(&opts.output);
    let resolved = output.canonicalize().unwrap_or_else(|_| output.clone());
    let cwd_real = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
    if cwd_real.starts_with(&resolved) {
        return Err(ChartError::UnsafeOutput(opts.output.clone()));
    }
    let run =
        std::process::Command::new(helm).args(helm_args(opts)).current_dir(cwd).output().map_err(ChartError::Spawn)?;
    if !run.status.success() {
        return Err(ChartError::Helm {
            status: run.status.to_string(),
            stderr: String::from_utf8_lossy(&run.stderr).trim().to_string(),
        });
    }
    let resources = split(&String::from_utf8_lossy(&run.stdout))?;
    if resources.is_empty() {
        return Err(ChartError::Empty);
    }
    let files = file_names(&resources);
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ChartError::Write { path, source }
    };
    if output.exists() {
        std::fs::remove_dir_all(&output).map_err(write_err(&output))?;
    }
    for (r, file) in resources.iter().zip(&files) {
        let path = output.join(file);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(write_err(dir))?;
        }
        std::fs::write(&path, &r.text).map_err(write_err(&path))?;
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helm_output_is_split_by_kind_with_crds_first_and_duplicates_namespaced() {
        let stream = "---\n# Source: a/crd.yaml\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: functions.openfaas.com\n---\nkind: Service\nmetadata:\n  name: gateway\n  namespace: openfaas\n---\nkind: Service\nmetadata:\n  name: gateway\n  namespace: openfaas-fn\n---\n# empty\n---\nkind: ConfigMap\nmetadata:\n  name: ../../evil\n";
        let resources = split(stream).unwrap();
        assert_eq!(resources.len(), 4);
        assert!(resources[0].text.starts_with("# Source: a/crd.yaml\n"));
        let files: Vec<String> = file_names(&resources).iter().map(|p| p.display().to_string()).collect();
        assert_eq!(
            files,
            [
                "00_customresourcedefinition/functions.openfaas.com.yaml",
                "service/gateway.openfaas.yaml",
                "service/gateway.openfaas-fn.yaml",
                "configmap/____evil.yaml"
            ]
        );
        assert!(matches!(split("kind: [unclosed\n"), Err(ChartError::Yaml(_))));
    }

    #[test]
    fn helm_arguments_follow_faas_cli() {
        let opts = ExportOptions {
            chart: "chart/openfaas".into(),
            release: "openfaas".into(),
            values: vec!["v.yaml".into()],
            set: vec!["a=b".into()],
            namespace: Some("ofs".into()),
            crds: true,
            output: "yaml".into(),
        };
        assert_eq!(
            helm_args(&opts).join(" "),
            "template openfaas chart/openfaas --include-crds -f v.yaml --set a=b --namespace ofs"
        );
    }
}
