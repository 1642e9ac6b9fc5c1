//! Flags of `chart export`, as faas-cli 0.18 spells them.

use clap::{ArgAction, Args, Subcommand};

pub const CHART_EXAMPLES: &str = "Examples:
  rfaas chart export                                   # chart/openfaas → ./yaml/<kind>/<name>.yaml
  rfaas chart export --values chart/openfaas/values-pro.yaml --set openfaasPro=true
  rfaas chart export kafka-connector -o ./rendered --crds=false
Needs Helm 3 (`helm` on PATH): rfaas runs `helm template`.";

#[derive(Debug, Args)]
pub struct ChartArgs {
    #[command(subcommand)]
    pub command: ChartCommand,
}

#[derive(Debug, Subcommand)]
pub enum ChartCommand {
    /// Render a Helm chart (helm template) into one YAML file per resource, by kind
    #[command(after_help = CHART_EXAMPLES)]
    Export(ChartExportArgs),
}

#[derive(Debug, Args)]
pub struct ChartExportArgs {
    /// The chart: a folder under ./chart/
    #[arg(default_value = "openfaas", value_name = "CHART")]
    pub chart: String,
    /// Output folder (replaced on each export)
    #[arg(short = 'o', long, default_value = "./yaml", value_name = "DIR")]
    pub output: std::path::PathBuf,
    /// Values file for helm (repeatable)
    #[arg(long, value_name = "FILE")]
    pub values: Vec<String>,
    /// Set a value, KEY=VALUE (repeatable)
    #[arg(long, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Include the chart's CustomResourceDefinitions
    #[arg(long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", require_equals = true, value_name = "BOOL")]
    pub crds: bool,
    /// Kubernetes namespace of the rendered manifests
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Helm release name
    #[arg(long, default_value = "openfaas")]
    pub release: String,
}
