//! `rfaas async list|describe|retry`: the async call records of rfaas's gateway as a table, one
//! call's details, or JSON; and the replay of a dead call.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::cli::{AsyncArgs, AsyncCallArgs, AsyncCommand, AsyncListArgs};
use crate::commands::Context;
use crate::openfaas::Client;
use crate::openfaas::async_api::{AsyncApiError, InvocationQuery};
use crate::openfaas::invocations::{Invocation, check_call_id};

pub async fn run(args: AsyncArgs, ctx: &Context) -> anyhow::Result<()> {
    let stack = ctx.optional_stack(true).await?;
    let client = ctx.client(&args.api, stack.as_ref(), Some(super::API_CALL_TIMEOUT))?;
    let result = match args.command {
        AsyncCommand::List(list_args) => list(&client, list_args, ctx).await,
        AsyncCommand::Describe(call) => describe(&client, &checked(call)?, ctx).await,
        AsyncCommand::Retry(call) => retry(&client, &checked(call)?, ctx).await,
    };
    result.map_err(AsyncApiError::into_anyhow)
}

/// The call id and output mode, once the id is known to be one the gateway could hold.
struct Call {
    id: String,
    json: bool,
}

fn checked(args: AsyncCallArgs) -> anyhow::Result<Call> {
    check_call_id(&args.call_id).map_err(|why| anyhow::anyhow!("invalid call id {:?}: {why}", short(&args.call_id)))?;
    Ok(Call { id: args.call_id, json: args.json.is_json() })
}

/// At most 40 characters of `text`, for messages.
fn short(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_string(),
    }
}

async fn list(client: &Client, args: AsyncListArgs, ctx: &Context) -> Result<(), AsyncApiError> {
    let query = InvocationQuery {
        function: args.function,
        namespace: args.namespace,
        status: args.status,
        limit: Some(args.limit),
    };
    let records = client.list_invocations(&query).await?;
    if ctx.printer.is_json() {
        let _ = ctx.printer.json(&records);
    } else {
        ctx.printer.data(&table(&records));
    }
    Ok(())
}

async fn describe(client: &Client, call: &Call, ctx: &Context) -> Result<(), AsyncApiError> {
    let record = client.get_invocation(&call.id).await?;
    if call.json {
        let _ = ctx.printer.json(&record);
    } else {
        ctx.printer.data(&details(&record));
    }
    Ok(())
}

async fn retry(client: &Client, call: &Call, ctx: &Context) -> Result<(), AsyncApiError> {
    let record = client.retry_invocation(&call.id).await?;
    if call.json {
        let _ = ctx.printer.json(&record);
    } else {
        let next = record.attempts.len() + 1;
        ctx.printer.status(&format!("async call {} queued again; its next attempt is number {next}", record.call_id));
    }
    Ok(())
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn or_dash<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// Call ID, Function (`name.namespace`), Status, Attempts, Code (the last attempt's), Created.
fn table(records: &[Invocation]) -> String {
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            let code = r.attempts.iter().rev().find_map(|a| a.status_code);
            vec![
                r.call_id.clone(),
                format!("{}.{}", r.function, r.namespace),
                r.status.to_string(),
                r.attempts.len().to_string(),
                or_dash(code),
                time(r.created_at),
            ]
        })
        .collect();
    crate::output::table(
        &["Call ID", "Function", "Status", "Attempts", "Code", "Created"],
        &rows,
        crate::output::Columns::Tabs { min_widths: &[36, 20] },
    )
}

/// One call as `Name: value` lines, then its attempts as a table.
fn details(r: &Invocation) -> String {
    let response = r
        .response
        .as_ref()
        .map(|resp| format!("{}, {} bytes, {:.3}s", resp.status_code, resp.bytes, resp.duration_seconds));
    let callback = r.callback.as_ref().map(|cb| match (&cb.status_code, &cb.error) {
        (Some(code), _) => format!("answered {code} at {}", time(cb.at)),
        (None, error) => format!("failed at {}: {}", time(cb.at), error.as_deref().unwrap_or("no answer")),
    });
    let lines = [
        ("Call ID", r.call_id.clone()),
        ("Function", format!("{}.{}", r.function, r.namespace)),
        ("Status", r.status.to_string()),
        ("Created", time(r.created_at)),
        ("Updated", time(r.updated_at)),
        ("Next attempt", or_dash(r.next_attempt_at.map(time))),
        ("Response", or_dash(response)),
        ("Callback URL", or_dash(r.callback_url.clone())),
        ("Callback", or_dash(callback)),
    ];
    let mut out: Vec<String> = lines.iter().map(|(name, value)| format!("{:<14}{value}", format!("{name}:"))).collect();
    let rows: Vec<Vec<String>> = r
        .attempts
        .iter()
        .map(|a| {
            vec![
                a.number.to_string(),
                time(a.started_at),
                or_dash(a.status_code),
                or_dash(a.duration_seconds.map(|s| format!("{s:.3}s"))),
                or_dash(a.error.clone()),
            ]
        })
        .collect();
    out.push("Attempts:".to_string());
    out.push(crate::output::table(
        &["#", "Started", "Code", "Duration", "Error"],
        &rows,
        crate::output::Columns::Tabs { min_widths: &[2, 24] },
    ));
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openfaas::invocations::{Attempt, CallbackResult, InvocationResponse, InvocationStatus};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn dead() -> Invocation {
        let t = at("2026-01-01T10:00:00.250Z");
        Invocation {
            call_id: "order-42:payment".into(),
            function: "payment".into(),
            namespace: "shop".into(),
            status: InvocationStatus::Dead,
            attempts: vec![
                Attempt {
                    number: 1,
                    started_at: t,
                    finished_at: Some(t),
                    status_code: None,
                    duration_seconds: None,
                    error: Some("interrupted: the gateway stopped during this attempt".into()),
                },
                Attempt {
                    number: 2,
                    started_at: t,
                    finished_at: Some(t),
                    status_code: Some(500),
                    duration_seconds: Some(0.0125),
                    error: None,
                },
            ],
            response: Some(InvocationResponse { status_code: 500, bytes: 6, duration_seconds: 0.0125 }),
            callback_url: Some("http://127.0.0.1:9/cb".into()),
            callback: Some(CallbackResult { status_code: None, error: Some("could not connect".into()), at: t }),
            created_at: t,
            updated_at: t,
            next_attempt_at: None,
        }
    }

    #[test]
    fn a_list_is_a_table_with_the_last_status() {
        let text = table(&[dead()]);
        let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').map(str::trim).collect()).collect();
        assert_eq!(lines[0], ["Call ID", "Function", "Status", "Attempts", "Code", "Created"]);
        assert_eq!(lines[1], ["order-42:payment", "payment.shop", "dead", "2", "500", "2026-01-01T10:00:00.250Z"]);
    }

    #[test]
    fn details_show_every_attempt_and_the_callback() {
        let text = details(&dead());
        for line in [
            "Status:       dead",
            "Next attempt: -",
            "Response:     500, 6 bytes, 0.013s",
            "Callback:     failed at 2026-01-01T10:00:00.250Z: could not connect",
        ] {
            assert!(text.contains(line), "{line:?} in\n{text}");
        }
        let attempts: Vec<Vec<&str>> = text
            .lines()
            .skip_while(|l| *l != "Attempts:")
            .skip(1)
            .map(|l| l.split('\t').map(str::trim).collect())
            .collect();
        assert_eq!(
            attempts[1],
            ["1", "2026-01-01T10:00:00.250Z", "-", "-", "interrupted: the gateway stopped during this attempt"]
        );
        assert_eq!(attempts[2], ["2", "2026-01-01T10:00:00.250Z", "500", "0.013s", "-"]);
    }

    #[test]
    fn long_ids_are_shortened_in_messages() {
        assert_eq!(short("abc"), "abc");
        assert_eq!(short(&"x".repeat(50)), format!("{}...", "x".repeat(40)));
    }
}
