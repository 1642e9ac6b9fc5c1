//! The hot path: new handler code into every running replica of a function, no image build.
//!
//! Only replicas whose image says it supports hot reload ([`reload::supports_hot_reload`], a
//! label the python3-http and node18 templates set) are reloaded. The first replica is reloaded
//! alone: when the new code does not load there, the others are left alone too (all keep serving
//! the old code) and the error is reported with its file and line. The other replicas are then
//! reloaded together. Any replica that cannot be reloaded at all (read-only root file system, a
//! runtime that does not answer) sends the function down the slow path (rebuild and redeploy),
//! which also brings every replica back to one version.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use bollard::Docker;

use super::reload::{self, ReloadOutcome, ReloadRequest};
use super::session::Replica;

/// How long one replica may take to load the new code before the function is rebuilt instead.
/// Loads take about 0.1 s (benches/devloop.sh); a handler whose import takes longer than this
/// still gets served, by the rebuild.
const RELOAD_TIMEOUT: Duration = Duration::from_secs(5);

/// What a hot reload of one function did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every replica serves the new code.
    Loaded { replicas: usize, elapsed: Duration },
    /// The new code does not load; every replica keeps the old code. `report` says why, with the
    /// file and line.
    Failed { report: String },
    /// A hot reload cannot be done: rebuild instead.
    Unavailable { reason: String },
}

/// Reloads `handler` into every replica in `replicas`.
pub async fn reload_all(
    docker: &Docker,
    replicas: &[Replica],
    handler: &Path,
    ignore: &(dyn Fn(&Path) -> bool + Sync),
    shown_as: &str,
) -> Outcome {
    if let Some(reason) = unsupported(docker, replicas).await {
        return Outcome::Unavailable { reason };
    }
    let started = Instant::now();
    let Some((first, rest)) = replicas.split_first() else {
        return Outcome::Unavailable { reason: "no running replica".to_string() };
    };
    let request = ReloadRequest { container: &first.container, handler_dir: handler, ignore };
    match reload::reload(docker, &request, RELOAD_TIMEOUT).await {
        Ok(ReloadOutcome::Loaded { .. }) => {}
        Ok(failed @ ReloadOutcome::Failed { .. }) => {
            return Outcome::Failed { report: render_failure(&failed, shown_as) };
        }
        Err(e) => return Outcome::Unavailable { reason: format!("cannot hot reload: {e}") },
    }
    let others = futures_util::future::join_all(rest.iter().map(|r| async move {
        let request = ReloadRequest { container: &r.container, handler_dir: handler, ignore };
        reload::reload(docker, &request, RELOAD_TIMEOUT).await
    }))
    .await;
    for result in others {
        match result {
            Ok(ReloadOutcome::Loaded { .. }) => {}
            Ok(failed @ ReloadOutcome::Failed { .. }) => {
                return Outcome::Failed { report: render_failure(&failed, shown_as) };
            }
            Err(e) => return Outcome::Unavailable { reason: format!("cannot hot reload every replica: {e}") },
        }
    }
    Outcome::Loaded { replicas: replicas.len(), elapsed: started.elapsed() }
}

/// Why the replicas' images cannot be hot reloaded, if they cannot.
async fn unsupported(docker: &Docker, replicas: &[Replica]) -> Option<String> {
    let images: BTreeSet<&str> = replicas.iter().map(|r| r.image_id.as_str()).collect();
    for image in images {
        let labels: HashMap<String, String> = match docker.inspect_image(image).await {
            Ok(i) => i.config.and_then(|c| c.labels).unwrap_or_default(),
            Err(e) => return Some(format!("cannot read its image: {}", crate::docker::engine_reason(&e))),
        };
        if !reload::supports_hot_reload(&labels) {
            return Some("its template has no hot reload".to_string());
        }
    }
    None
}

/// `error: … orders/handler.py:3: invalid syntax` and the runtime's detail, indented. The
/// runtime names files under `function/` in the container; they are shown under `shown_as`, the
/// handler folder as the user knows it.
fn render_failure(outcome: &ReloadOutcome, shown_as: &str) -> String {
    let ReloadOutcome::Failed { error, file, line, detail } = outcome else { return String::new() };
    let file = file.as_deref().map(|f| match f.strip_prefix("function/") {
        Some(rest) if !shown_as.is_empty() => format!("{}/{rest}", shown_as.trim_end_matches('/')),
        _ => f.to_string(),
    });
    let place = match (file, line) {
        (Some(f), Some(l)) => format!("{f}:{l}: "),
        (Some(f), None) => format!("{f}: "),
        _ => String::new(),
    };
    let mut text = format!("error: the new code does not load: {place}{error}");
    for l in detail.lines().filter(|l| !l.trim().is_empty()) {
        text.push_str(&format!("\n  {l}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_names_the_file_and_line() {
        let failed = ReloadOutcome::Failed {
            error: "SyntaxError: invalid syntax".into(),
            file: Some("function/handler.py".into()),
            line: Some(3),
            detail: "    def handle(event, context)\n                              ^\n".into(),
        };
        assert_eq!(
            render_failure(&failed, "orders"),
            "error: the new code does not load: orders/handler.py:3: SyntaxError: invalid syntax\n      def handle(event, context)\n                                ^"
        );
    }
}
