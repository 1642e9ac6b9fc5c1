//! `rfaas invoke`: call a function with stdin as the body and stream the response to stdout.

use std::io::Read;

use anyhow::Context as _;
use hmac::{KeyInit, Mac};
use reqwest::Method;

use crate::cli::InvokeArgs;
use crate::commands::{self, Context};
use crate::openfaas::types::DEFAULT_NAMESPACE;
use crate::openfaas::{Auth, Client, ClientError, ClientOptions};

pub async fn run(args: InvokeArgs, ctx: &Context) -> anyhow::Result<()> {
    if args.auth {
        return Err(crate::error::with_hint(
            anyhow::anyhow!(
                "--auth exchanges credentials for an OpenFaaS Pro IAM function token, which rfaas does not support"
            ),
            "call the function without --auth; give it credentials of its own with -H if it checks them",
        ));
    }
    let name = args.name.function().to_string();
    let stack = ctx.optional_stack(args.envsubst.envsubst).await?;
    let flags = commands::flags(&args.gateway, None, args.namespace.namespace.as_deref());
    let settings = ctx.settings_without_credentials(flags, stack.as_ref());
    let (mut namespace, _) = settings.namespace_for(&name);
    if namespace.is_empty() {
        namespace = DEFAULT_NAMESPACE.to_string();
    }
    let headers = parse_headers(&args.headers)?;
    let body = read_body(ctx)?;
    let opts = ClientOptions {
        tls_no_verify: settings.tls_no_verify,
        timeout: Some(args.timeout),
        debug: ctx.environment.debug,
    };
    // Like faas-cli, the gateway's credentials are not sent to functions.
    let client = Client::new(&settings.gateway.url, Auth::None, opts)?;
    let route = if args.is_async { "async-function" } else { "function" };
    let mut path = format!("/{route}/{}.{namespace}", name);
    let query = parse_query(&args.query)?;
    if !query.is_empty() {
        path.push('?');
        path.push_str(&query);
    }
    let method = Method::from_bytes(args.method.to_uppercase().as_bytes()).context("invalid --method")?;
    let mut req = client.request_open(method, &path);
    let has_content_type = headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    if args.content_type.is_some() || !has_content_type {
        req = req.header("Content-Type", args.content_type.clone().unwrap_or_else(|| "text/plain".into()));
    }
    for (k, v) in &headers {
        req = req.header(k, v);
    }
    if let (Some(header), Some(key)) = (&args.sign, &args.key) {
        req = req.header(header, sign(key, &body));
    }
    let response = client.send(req.body(body)).await.map_err(ClientError::into_anyhow)?;
    finish(&client, response, args.is_async, ctx).await
}

async fn finish(client: &Client, mut response: reqwest::Response, is_async: bool, ctx: &Context) -> anyhow::Result<()> {
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        anyhow::bail!("server returned unexpected status code: {} - {}", status.as_u16(), body.trim());
    }
    if is_async {
        let call_id = response.headers().get("X-Call-Id").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        ctx.printer.status(format!("Function submitted asynchronously. {call_id}").trim_end());
        return Ok(());
    }
    while let Some(chunk) = client.next_chunk(&mut response, None).await.map_err(ClientError::into_anyhow)? {
        ctx.printer.raw(&chunk);
    }
    Ok(())
}

fn read_body(ctx: &Context) -> anyhow::Result<Vec<u8>> {
    let stdin = std::io::stdin();
    if ctx.printer.terminal().stdin_is_tty {
        ctx.printer.status("Reading from STDIN - hit (Control + D) to stop.");
    }
    let mut body = Vec::new();
    stdin.lock().read_to_end(&mut body).context("cannot read the request body from stdin")?;
    Ok(body)
}

/// `Key: Value` headers, falling back to faas-cli's older `key=value`.
pub fn parse_headers(values: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    values
        .iter()
        .map(|h| {
            // Whichever separator comes first wins, so `K=http://x` and `K: a=b` both work.
            let pair = match (h.find(':'), h.find('=')) {
                (Some(c), Some(e)) if e < c => h.split_once('='),
                (Some(_), _) => h.split_once(':'),
                (None, _) => h.split_once('='),
            };
            match pair {
                Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
                _ => anyhow::bail!("-H needs \"Key: Value\", but got \"{h}\""),
            }
        })
        .collect()
}

/// `k=v` pairs as an encoded query string, keys sorted as Go's `url.Values` encodes them.
pub fn parse_query(values: &[String]) -> anyhow::Result<String> {
    let mut pairs = Vec::new();
    for q in values {
        let Some((k, v)) = q.split_once('=') else { anyhow::bail!("--query needs key=value, but got \"{q}\"") };
        pairs.push((k.to_string(), v.to_string()));
    }
    pairs.sort();
    Ok(url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish())
}

/// `sha256=<hex HMAC-SHA256 of body>`, as faas-cli 0.18 signs.
pub fn sign(key: &str, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_accept_both_forms_and_keep_colons_in_values() {
        let h = parse_headers(&["X-A: http://x:1".into(), "x-b=c".into(), "X-C=http://y".into()]).unwrap();
        assert_eq!(
            h,
            vec![("X-A".into(), "http://x:1".into()), ("x-b".into(), "c".into()), ("X-C".into(), "http://y".into())]
        );
        assert!(parse_headers(&["nope".into()]).is_err());
    }

    #[test]
    fn query_is_sorted_and_encoded() {
        assert_eq!(parse_query(&["b=2".into(), "a=x y".into()]).unwrap(), "a=x+y&b=2");
    }

    #[test]
    fn signature_matches_a_known_hmac() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), a published test vector.
        assert_eq!(
            sign("key", b"The quick brown fox jumps over the lazy dog"),
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }
}
