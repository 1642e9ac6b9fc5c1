//! `rfaas logs`: stream a function's logs from `/system/logs` (NDJSON) and print them.

use anyhow::Context as _;

use crate::cli::{LogFormat, LogsArgs};
use crate::commands::Context;
use crate::openfaas::ClientError;
use crate::openfaas::log_format::{self, Columns};
use crate::openfaas::types::LogMessage;

pub async fn run(args: LogsArgs, ctx: &Context) -> anyhow::Result<()> {
    let stack = ctx.optional_stack(args.envsubst.envsubst).await?;
    // A stream: no overall deadline, but the head must come within the client's default.
    let (settings, client) = ctx.namespaced_client(&args.api, &args.namespace, stack.as_ref(), None)?;
    let (namespace, _) = settings.namespace_for(&args.name);
    let query = query(&args, &namespace)?;
    let mut response = client.logs(&query).await.map_err(ClientError::into_anyhow)?;
    let format = if args.json { LogFormat::Json } else { args.output };
    let layout = log_format::layout(&args.time_format).to_string();
    let columns = Columns { name: args.show_name, instance: args.show_instance };
    // Followed, a quiet function sends nothing for hours: only the past (--tail=false) must keep coming.
    let idle = (!args.tail).then_some(crate::http_client::RESPONSE_TIMEOUT);
    let mut pending: Vec<u8> = Vec::new();
    while let Some(chunk) = client.next_chunk(&mut response, idle).await.map_err(ClientError::into_anyhow)? {
        pending.extend_from_slice(&chunk);
        while let Some(pos) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=pos).collect();
            print_line(&line, format, &layout, columns, ctx)?;
        }
    }
    if !pending.is_empty() {
        print_line(&pending, format, &layout, columns, ctx)?;
    }
    Ok(())
}

fn query(args: &LogsArgs, namespace: &str) -> anyhow::Result<Vec<(&'static str, String)>> {
    let mut q = vec![("follow", args.tail.to_string()), ("name", args.name.clone())];
    if !namespace.is_empty() {
        q.push(("namespace", namespace.to_string()));
    }
    let since = match (&args.since_time, args.since) {
        (Some(t), _) => Some(
            chrono::DateTime::parse_from_rfc3339(t)
                .with_context(|| format!("--since-time \"{t}\" is not an RFC3339 time"))?
                .with_timezone(&chrono::Utc),
        ),
        (None, Some(d)) => Some(chrono::Utc::now() - chrono::Duration::from_std(d)?),
        (None, None) => None,
    };
    // Sub-second precision is kept (faas-cli truncates to the second, which brings back lines
    // from before --since-time); every OpenFaaS provider parses fractional RFC3339.
    if let Some(s) = since {
        q.push(("since", s.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)));
    }
    if args.lines != 0 {
        q.push(("tail", args.lines.to_string()));
    }
    Ok(q)
}

fn print_line(line: &[u8], format: LogFormat, layout: &str, columns: Columns, ctx: &Context) -> anyhow::Result<()> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let message: LogMessage = serde_json::from_slice(line).context("cannot parse log results")?;
    let text = match format {
        LogFormat::Plain => log_format::plain(&message, layout, columns),
        LogFormat::Keyvalue => log_format::keyvalue(&message, layout),
        LogFormat::Json => serde_json::to_string(&message)?,
    };
    ctx.printer.data(&text);
    Ok(())
}
