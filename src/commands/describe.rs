//! `rfaas describe`: one function's status, configuration and URLs.

use std::collections::BTreeMap;

use serde_json::json;

use crate::cli::DescribeArgs;
use crate::commands::Context;
use crate::openfaas::ClientError;
use crate::openfaas::types::{FunctionResources, FunctionStatus, ScalingStatus};

pub async fn run(args: DescribeArgs, ctx: &Context) -> anyhow::Result<()> {
    let name = args.name.function().to_string();
    let stack = ctx.optional_stack(args.envsubst.envsubst).await?;
    let (settings, client) =
        ctx.namespaced_client(&args.api, &args.namespace, stack.as_ref(), Some(super::API_CALL_TIMEOUT))?;
    let (namespace, _) = settings.namespace_for(&name);
    let Some(mut status) = client.get_function(&name, &namespace).await.map_err(ClientError::into_anyhow)? else {
        anyhow::bail!("no such function: {}", name);
    };
    // Like faas-cli, the invocation count comes from the list endpoint.
    if let Ok(all) = client.list_functions(&namespace).await
        && let Some(listed) = all.iter().find(|f| f.name == name)
    {
        status.invocation_count = listed.invocation_count;
    }
    let is_cron = status.annotations.as_ref().and_then(|a| a.get("topic")).is_some_and(|t| t == "cron-function");
    let schedule = if is_cron { client.schedule(&name, &namespace).await } else { None };
    let suffix = if status.namespace.is_empty() { String::new() } else { format!(".{}", status.namespace) };
    let url = format!("{}/function/{}{suffix}", client.gateway(), name);
    let async_url = format!("{}/async-function/{}{suffix}", client.gateway(), name);
    if ctx.printer.is_json() {
        let mut value = serde_json::to_value(&status)?;
        value["Status"] = json!(ready_text(&status));
        value["InvocationCount"] = json!(status.invocation_count as u64);
        value["URL"] = json!(url);
        value["AsyncURL"] = json!(async_url);
        if let Some(s) = &schedule {
            value["Schedule"] = json!(s.schedule);
            value["NextRun"] = json!(s.next_run);
        }
        return ctx.printer.json(&value);
    }
    let mut text = render(&status, &url, &async_url, args.verbose);
    if let Some(s) = &schedule {
        let next = s.next_run.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        text.push_str(&format!(
            "\n{:<20}{}\n{:<20}{}",
            "Schedule",
            s.schedule,
            "Next Run",
            next.unwrap_or_else(|| "-".into())
        ));
    }
    ctx.printer.data(&text);
    Ok(())
}

fn ready_text(status: &FunctionStatus) -> &'static str {
    if status.available_replicas > 0 { "Ready" } else { "Not Ready" }
}

/// faas-cli's describe layout; empty sections are hidden unless `verbose`.
pub fn render(status: &FunctionStatus, url: &str, async_url: &str, verbose: bool) -> String {
    let mut lines = vec![
        ("Name", status.name.clone()),
        ("Status", ready_text(status).to_string()),
        ("Replicas", status.replicas.to_string()),
        ("Available Replicas", status.available_replicas.to_string()),
    ];
    // rfaas's gateway says why replicas are missing; other gateways never set it.
    if let Some(reason) = &status.reason {
        lines.push(("Reason", reason.clone()));
    }
    lines.extend([
        ("Invocations", (status.invocation_count as u64).to_string()),
        ("Image", status.image.clone()),
        (
            "Function Process",
            if status.env_process.is_empty() { "<default>".into() } else { status.env_process.clone() },
        ),
        ("URL", url.to_string()),
        ("Async URL", async_url.to_string()),
    ]);
    let none = || if verbose { Some("<none>".to_string()) } else { None };
    let map = |m: Option<&BTreeMap<String, String>>| match m.filter(|m| !m.is_empty()) {
        Some(m) => Some(m.iter().map(|(k, v)| format!("\n {k}: {v}")).collect::<String>()),
        None => none(),
    };
    let list = |v: &[String]| if v.is_empty() { none() } else { Some(v.iter().map(|s| format!("\n - {s}")).collect()) };
    let resources = |r: Option<&FunctionResources>| match r.filter(|r| !r.is_empty()) {
        Some(r) => Some(
            [("CPU", &r.cpu), ("Memory", &r.memory)]
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| format!("\n {k}: {v}"))
                .collect(),
        ),
        None => none(),
    };
    let optional = [
        ("Labels", map(status.labels.as_ref())),
        ("Annotations", map(status.annotations.as_ref())),
        ("Constraints", list(&status.constraints)),
        ("Environment", map(Some(&status.env_vars))),
        ("Secrets", list(&status.secrets)),
        ("Requests", resources(status.requests.as_ref())),
        ("Limits", resources(status.limits.as_ref())),
    ];
    for (key, value) in optional {
        if let Some(v) = value {
            lines.push((key, v));
        }
    }
    if let Some(scaling) = &status.scaling {
        lines.extend(scaling_lines(scaling));
    }
    if let Some(usage) = &status.usage {
        lines.push((
            "Usage",
            format!("\n RAM: {:.2} MB\n CPU: {:.0} Mi", usage.total_memory_bytes / 1024.0 / 1024.0, usage.cpu),
        ));
    }
    lines
        .into_iter()
        .map(|(k, v)| if v.starts_with('\n') { format!("{k}:{v}") } else { format!("{k:<20}{v}") })
        .collect::<Vec<_>>()
        .join("\n")
}

/// How many of the gateway's recent scaling events the text layout shows (JSON has them all).
const EVENTS_SHOWN: usize = 5;

/// rfaas's gateway only: paused replicas and the latest scaling events.
fn scaling_lines(scaling: &ScalingStatus) -> Vec<(&'static str, String)> {
    let mut lines = Vec::new();
    if scaling.paused_replicas > 0 {
        let mib = scaling.paused_memory_bytes as f64 / 1024.0 / 1024.0;
        lines.push(("Paused Replicas", format!("{} ({mib:.1} MiB)", scaling.paused_replicas)));
    }
    if !scaling.events.is_empty() {
        let skip = scaling.events.len().saturating_sub(EVENTS_SHOWN);
        let text = scaling.events[skip..]
            .iter()
            .map(|e| {
                let time = e.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                format!("\n {time} {} -> {}: {}", e.from, e.to, e.reason)
            })
            .collect();
        lines.push(("Scaling Events", text));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_ready_and_hides_empty_sections() {
        let status = FunctionStatus {
            name: "fn".into(),
            image: "img".into(),
            replicas: 2,
            available_replicas: 1,
            annotations: Some([("topic".to_string(), "cron-function".to_string())].into()),
            ..Default::default()
        };
        let text = render(&status, "http://gw/function/fn", "http://gw/async-function/fn", false);
        assert!(text.contains("Status              Ready"), "{text}");
        assert!(text.contains("Function Process    <default>"));
        assert!(text.contains("Annotations:\n topic: cron-function"));
        assert!(!text.contains("Labels"));
        let half = FunctionStatus {
            requests: Some(FunctionResources { memory: "64Mi".into(), cpu: String::new() }),
            ..status.clone()
        };
        assert!(render(&half, "u", "a", false).contains("Requests:\n Memory: 64Mi"), "no empty CPU line");
        assert!(
            render(&status, "u", "a", true).contains("Labels:<none>")
                || render(&status, "u", "a", true).contains("Labels              <none>")
        );
    }

    #[test]
    fn shows_paused_replicas_and_the_latest_scaling_events() {
        use crate::openfaas::types::ScalingEvent;
        let time = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z").unwrap().to_utc();
        let events = (0..7).map(|i| ScalingEvent { time, from: i, to: i + 1, reason: format!("step {i}") }).collect();
        let status = FunctionStatus {
            name: "fn".into(),
            scaling: Some(ScalingStatus { paused_replicas: 2, paused_memory_bytes: 3 * 1024 * 1024, events }),
            ..Default::default()
        };
        let text = render(&status, "u", "a", false);
        assert!(text.contains("Paused Replicas     2 (3.0 MiB)"), "{text}");
        assert!(text.contains("Scaling Events:\n 2026-01-02T03:04:05Z 2 -> 3: step 2\n"), "{text}");
        assert!(text.ends_with("6 -> 7: step 6"), "{text}");
        assert!(!text.contains("step 1"), "only the last 5: {text}");
        let quiet = FunctionStatus { scaling: Some(ScalingStatus::default()), ..status };
        assert!(!render(&quiet, "u", "a", false).contains("Scaling"), "nothing to show");
    }
}
