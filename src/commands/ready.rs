//! `rfaas ready [NAME]`: wait until the gateway (`/healthz`) or a function has a ready replica.

use crate::cli::ReadyArgs;
use crate::commands::Context;
use crate::openfaas::ClientError;

pub async fn run(args: ReadyArgs, ctx: &Context) -> anyhow::Result<()> {
    let stack = ctx.optional_stack(args.envsubst.envsubst).await?;
    let (settings, client) =
        ctx.namespaced_client(&args.api, &args.namespace, stack.as_ref(), Some(std::time::Duration::from_secs(5)))?;
    let namespace = args.name.as_ref().map(|n| settings.namespace_for(n).0);
    let started = std::time::Instant::now();
    // The last attempt's failure is the cause of a final "not ready" (a gateway that never answers).
    let mut last_error = None;
    // Why the gateway says the function has no replica (rfaas's gateway only), for the final error.
    let mut reason = None;
    for attempt in 1..=args.attempts.max(1) {
        let outcome = match (&args.name, &namespace) {
            (Some(name), Some(ns)) => match client.get_function(name, ns).await {
                // Waiting cannot fix missing credentials: say so now, with the login hint.
                Err(e @ ClientError::Unauthorized { .. }) => return Err(e.into_anyhow()),
                other => other.map(|status| {
                    reason = status.as_ref().and_then(|s| s.reason.clone());
                    status.is_some_and(|s| s.available_replicas > 0)
                }),
            },
            _ => client.healthz().await,
        };
        let ready = matches!(outcome, Ok(true));
        last_error = outcome.err();
        if ready {
            let what = args.name.clone().unwrap_or_else(|| format!("gateway {}", client.gateway()));
            ctx.printer.status(&format!("{what} is ready"));
            return Ok(());
        }
        if attempt < args.attempts {
            tokio::time::sleep(args.interval).await;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let what = match &args.name {
        Some(name) => format!("function {name}"),
        None => format!("gateway {}", client.gateway()),
    };
    let because = reason.map(|r| format!(": {r}")).unwrap_or_default();
    let not_ready = anyhow::anyhow!("{what} not ready after {elapsed:.1}s ({} attempts){because}", args.attempts);
    let Some(cause) = last_error else { return Err(not_ready) };
    Err(anyhow::Error::new(cause).context(not_ready))
}
