//! `rfaas list` / `ls`: the functions on a gateway as a table, names, or JSON.

use crate::cli::ListArgs;
use crate::commands::Context;
use crate::openfaas::types::FunctionStatus;
use crate::output::Columns;

pub async fn run(args: ListArgs, ctx: &Context) -> anyhow::Result<()> {
    let stack = ctx.optional_stack(args.envsubst.envsubst).await?;
    let (settings, client) =
        ctx.namespaced_client(&args.api, &args.namespace, stack.as_ref(), Some(super::API_CALL_TIMEOUT))?;
    let mut functions = client.list_functions(&settings.namespace()).await?;
    sort(&mut functions, &args.sort);
    if ctx.printer.is_json() {
        return ctx.printer.json(&functions);
    }
    if args.quiet {
        for f in &functions {
            ctx.printer.data(&f.name);
        }
        return Ok(());
    }
    ctx.printer.data(&table(&functions, args.verbose));
    Ok(())
}

/// `name` (default), `invocations` (most first) or `creation` (oldest first); anything else keeps
/// the gateway's order, as faas-cli does.
pub fn sort(functions: &mut [FunctionStatus], by: &str) {
    match by {
        "name" => functions.sort_by(|a, b| a.name.cmp(&b.name)),
        "invocations" => functions.sort_by(|a, b| b.invocation_count.total_cmp(&a.invocation_count)),
        "creation" => functions.sort_by_key(|f| f.created_at),
        _ => {}
    }
}

/// faas-cli's columns: Function, Invocations, Replicas; `-v` adds Image and CreatedAt.
pub fn table(functions: &[FunctionStatus], verbose: bool) -> String {
    let rows: Vec<Vec<String>> = functions
        .iter()
        .map(|f| {
            let invocations = format!("{}", f.invocation_count as u64);
            if verbose {
                let created = f.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                vec![f.name.clone(), f.image.clone(), invocations, f.replicas.to_string(), created]
            } else {
                vec![f.name.clone(), invocations, f.replicas.to_string()]
            }
        })
        .collect();
    if verbose {
        crate::output::table(
            &["Function", "Image", "Invocations", "Replicas", "CreatedAt"],
            &rows,
            Columns::Tabs { min_widths: &[30, 40, 15, 8] },
        )
    } else {
        crate::output::table(&["Function", "Invocations", "Replicas"], &rows, Columns::Tabs { min_widths: &[30, 15] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &str, invocations: f64) -> FunctionStatus {
        FunctionStatus {
            name: name.into(),
            image: format!("img/{name}"),
            invocation_count: invocations,
            replicas: 1,
            ..Default::default()
        }
    }

    #[test]
    fn sorts_by_name_and_invocations() {
        let mut list = vec![f("b", 1.0), f("a", 5.0), f("c", 3.0)];
        sort(&mut list, "name");
        assert_eq!(list.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["a", "b", "c"]);
        sort(&mut list, "invocations");
        assert_eq!(list.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["a", "c", "b"]);
    }

    #[test]
    fn table_has_faas_cli_columns() {
        let text = table(&[f("figlet", 12.0)], false);
        assert_eq!(
            text.lines().next().unwrap().split('\t').map(str::trim).collect::<Vec<_>>(),
            ["Function", "Invocations", "Replicas"]
        );
        assert_eq!(text.lines().nth(1).unwrap().split('\t').map(str::trim).collect::<Vec<_>>(), ["figlet", "12", "1"]);
    }
}
