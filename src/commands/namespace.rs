//! `rfaas namespace list|get|create|update|remove` (alias `ns`).

use std::collections::BTreeMap;

use crate::cli::{NamespaceArgs, NamespaceCommand, NamespaceEditArgs};
use crate::commands::Context;
use crate::openfaas::deployment::parse_pairs;
use crate::openfaas::types::FunctionNamespace;
use crate::openfaas::{Client, ClientError};

pub async fn run(args: NamespaceArgs, ctx: &Context) -> anyhow::Result<()> {
    let client = ctx.client(&args.api, None, Some(super::API_CALL_TIMEOUT))?;
    let result = match args.command {
        NamespaceCommand::List { .. } => list(&client, ctx.printer.is_json(), ctx).await,
        NamespaceCommand::Get { name } => get(&client, &name, ctx).await,
        NamespaceCommand::Create(edit) => save(&client, namespace(&edit)?, true, ctx).await,
        NamespaceCommand::Update(edit) => save(&client, namespace(&edit)?, false, ctx).await,
        NamespaceCommand::Remove { name } => {
            client.delete_namespace(&name).await.map(|()| ctx.printer.status(&format!("Namespace {name} removed.")))
        }
    };
    result.map_err(ClientError::into_anyhow)
}

async fn list(client: &Client, json: bool, ctx: &Context) -> Result<(), ClientError> {
    let namespaces = client.list_namespaces().await?;
    if json {
        let _ = ctx.printer.json(&namespaces);
        return Ok(());
    }
    let mut out = String::from("Namespaces:");
    for ns in &namespaces {
        out.push_str(&format!("\n - {ns}"));
    }
    ctx.printer.data(&out);
    Ok(())
}

async fn get(client: &Client, name: &str, ctx: &Context) -> Result<(), ClientError> {
    let ns = client.get_namespace(name).await?;
    let mut out = format!("Name: {}", ns.name);
    for (title, map) in [("Labels", &ns.labels), ("Annotations", &ns.annotations)] {
        if !map.is_empty() {
            out.push_str(&format!("\n{title}:"));
            for (k, v) in map {
                out.push_str(&format!("\n  {k}: {v}"));
            }
        }
    }
    ctx.printer.data(&out);
    Ok(())
}

/// The namespace the flags describe; like the go-sdk, `openfaas=1` is added to both maps (the
/// gateway refuses a namespace without that label).
fn namespace(edit: &NamespaceEditArgs) -> anyhow::Result<FunctionNamespace> {
    let to_map = |flag: &str, values: &[String]| -> anyhow::Result<BTreeMap<String, String>> {
        let mut map: BTreeMap<String, String> =
            parse_pairs(flag, values).map_err(anyhow::Error::msg)?.into_iter().collect();
        map.insert("openfaas".into(), "1".into());
        Ok(map)
    };
    Ok(FunctionNamespace {
        name: edit.name.clone(),
        labels: to_map("--label", &edit.labels)?,
        annotations: to_map("--annotation", &edit.annotations)?,
    })
}

async fn save(client: &Client, ns: FunctionNamespace, create: bool, ctx: &Context) -> Result<(), ClientError> {
    client.save_namespace(&ns, create).await?;
    ctx.printer.status(&format!("Namespace {} {}.", ns.name, if create { "created" } else { "updated" }));
    Ok(())
}
