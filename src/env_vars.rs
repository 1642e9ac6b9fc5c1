//! Names of the environment variables rfaas reads, the same ones faas-cli reads.

/// Gateway URL, used when neither `--gateway` nor the stack's `provider.gateway` names one.
pub const OPENFAAS_URL: &str = "OPENFAAS_URL";
/// Image registry prefix for `rfaas new` when `--prefix` is not given.
pub const OPENFAAS_PREFIX: &str = "OPENFAAS_PREFIX";
/// Directory holding `config.yml` (credentials), instead of `~/.openfaas`.
pub const OPENFAAS_CONFIG: &str = "OPENFAAS_CONFIG";
/// Template repository for `rfaas template pull` with no argument.
pub const OPENFAAS_TEMPLATE_URL: &str = "OPENFAAS_TEMPLATE_URL";
/// Function store JSON (URL or file) for `store` commands and `generate --from-store`.
pub const OPENFAAS_STORE: &str = "OPENFAAS_STORE";
/// Template store JSON (URL or file) for `template store` commands and auto-pull.
pub const OPENFAAS_TEMPLATE_STORE_URL: &str = "OPENFAAS_TEMPLATE_STORE_URL";
/// `true`/`1` under CI: credentials go to `./.openfaas/config.yml`; no progress bars or prompts.
pub const CI: &str = "CI";
/// `1` prints each HTTP request (method, URL, headers with credentials redacted) to stderr.
pub const FAAS_DEBUG: &str = "FAAS_DEBUG";
/// OpenFaaS Pro's remote builder URL (`publish`/`up --remote-builder`); rfaas refuses it.
pub const OPENFAAS_REMOTE_BUILDER: &str = "OPENFAAS_REMOTE_BUILDER";
/// OpenFaaS Pro's remote builder payload secret file; rfaas refuses it.
pub const OPENFAAS_PAYLOAD_SECRET: &str = "OPENFAAS_PAYLOAD_SECRET";
