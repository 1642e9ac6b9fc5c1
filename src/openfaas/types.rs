//! The OpenFaaS REST API's JSON types, written once and used by both the client and the gateway.
//!
//! Field names are exactly faas-provider's (`service`, `envProcess`, `serviceName`, `functionName`,
//! `rawValue`, `availableReplicas`, ...). Go's `omitempty` is mirrored with `skip_serializing_if`,
//! and every field defaults when absent, as Go's decoder does, so any OpenFaaS client or gateway
//! interoperates with these.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The namespace functions live in when none is given.
pub const DEFAULT_NAMESPACE: &str = "openfaas-fn";

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

fn is_zero_f64(n: &f64) -> bool {
    *n == 0.0
}

/// A float64 as Go's encoding/json writes it: whole numbers without a fraction (`12`, not
/// `12.0`), so clients that decode counts into integers (Go `int`, JSON-schema `integer`) work.
fn go_float<S: serde::Serializer>(n: &f64, s: S) -> Result<S::Ok, S::Error> {
    // 2^53: every whole number up to here is exact in both f64 and i64.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if n.fract() == 0.0 && n.abs() <= EXACT { s.serialize_i64(*n as i64) } else { s.serialize_f64(*n) }
}

/// `limits` / `requests`: Kubernetes quantities as strings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FunctionResources {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub memory: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cpu: String,
}

impl FunctionResources {
    pub fn is_empty(&self) -> bool {
        self.memory.is_empty() && self.cpu.is_empty()
    }

    /// The resources from an optional memory and CPU quantity, when either is given.
    pub fn given(memory: Option<&str>, cpu: Option<&str>) -> Option<FunctionResources> {
        let r = FunctionResources { memory: memory.unwrap_or_default().into(), cpu: cpu.unwrap_or_default().into() };
        (!r.is_empty()).then_some(r)
    }
}

/// Body of `POST`/`PUT /system/functions`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FunctionDeployment {
    pub service: String,
    pub image: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub env_process: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub env_vars: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    /// faas-cli always sends `labels` and `annotations`, `{}` when empty.
    pub labels: Option<BTreeMap<String, String>>,
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<FunctionResources>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<FunctionResources>,
    #[serde(skip_serializing_if = "is_false")]
    pub read_only_root_filesystem: bool,
}

/// Resource usage reported for a function.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FunctionUsage {
    #[serde(serialize_with = "go_float")]
    pub cpu: f64,
    #[serde(serialize_with = "go_float")]
    pub total_memory_bytes: f64,
}

/// An item of `GET /system/functions` and the body of `GET /system/function/{name}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FunctionStatus {
    pub name: String,
    pub image: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub env_process: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub env_vars: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<FunctionResources>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<FunctionResources>,
    #[serde(skip_serializing_if = "is_false")]
    pub read_only_root_filesystem: bool,
    #[serde(skip_serializing_if = "is_zero_f64", serialize_with = "go_float")]
    pub invocation_count: f64,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub replicas: u64,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub available_replicas: u64,
    /// Go writes the zero time as `0001-01-01T00:00:00Z`; it is always present.
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<FunctionUsage>,
    /// rfaas only: why the function's replicas are not as desired (an image that cannot be
    /// pulled, replicas that never became ready), until a later try succeeds. OpenFaaS clients
    /// ignore it; absent when all is well.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// rfaas's gateway only: paused replicas and recent replica-count changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaling: Option<ScalingStatus>,
}

/// The scaling state rfaas's gateway adds to a function's status (`scaling`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ScalingStatus {
    /// Idle replicas that are paused (resumed by the next request).
    pub paused_replicas: u64,
    /// Memory those paused replicas hold, bytes.
    pub paused_memory_bytes: u64,
    /// The most recent changes, oldest first.
    pub events: Vec<ScalingEvent>,
}

/// One change of a function's replicas: a wake from zero, autoscaling, a pause or resume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalingEvent {
    pub time: DateTime<Utc>,
    pub from: u64,
    pub to: u64,
    pub reason: String,
}

impl Default for FunctionStatus {
    fn default() -> Self {
        FunctionStatus {
            name: String::new(),
            image: String::new(),
            namespace: String::new(),
            env_process: String::new(),
            env_vars: BTreeMap::new(),
            constraints: Vec::new(),
            secrets: Vec::new(),
            labels: None,
            annotations: None,
            limits: None,
            requests: None,
            read_only_root_filesystem: false,
            invocation_count: 0.0,
            replicas: 0,
            available_replicas: 0,
            created_at: go_zero_time(),
            usage: None,
            scaling: None,
            reason: None,
        }
    }
}

/// Go's zero `time.Time`, which Go encodes as `0001-01-01T00:00:00Z`.
pub fn go_zero_time() -> DateTime<Utc> {
    use chrono::TimeZone;
    Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).single().expect("valid date")
}

/// Body of `DELETE /system/functions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DeleteFunctionRequest {
    pub function_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
}

/// Body of `POST /system/scale-function/{name}`; note `serviceName`, not `service`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ScaleServiceRequest {
    pub service_name: String,
    pub replicas: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
}

/// A secret: `value` as text, and/or `rawValue` as base64 bytes. faas-cli `secret create
/// --from-file` sends both (`value` trimmed and lossily decoded, `rawValue` exact), and faasd and
/// faas-netes store `rawValue` whenever it is set, so the bytes are exact end to end.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Secret {
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none", with = "base64_bytes")]
    pub raw_value: Option<Vec<u8>>,
}

impl std::fmt::Debug for Secret {
    /// Never prints the value.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secret").field("name", &self.name).field("namespace", &self.namespace).finish_non_exhaustive()
    }
}

impl Secret {
    /// The secret's bytes: `rawValue` when set and not empty, else `value`.
    pub fn bytes(&self) -> Vec<u8> {
        match &self.raw_value {
            Some(raw) if !raw.is_empty() => raw.clone(),
            _ => self.value.as_bytes().to_vec(),
        }
    }
}

mod base64_bytes {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(bytes) => s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        match text {
            None => Ok(None),
            Some(t) if t.is_empty() => Ok(None),
            Some(t) => base64::engine::general_purpose::STANDARD.decode(t).map(Some).map_err(serde::de::Error::custom),
        }
    }
}

/// `version` inside `/system/info`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VersionInfo {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub commit_message: String,
    pub sha: String,
    pub release: String,
}

/// `provider` inside `/system/info`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProviderInfo {
    pub provider: String,
    pub orchestration: String,
    pub version: VersionInfo,
}

/// Body of `GET /system/info`; `version` and `provider.version` are never null.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GatewayInfo {
    pub provider: ProviderInfo,
    pub version: VersionInfo,
    pub arch: String,
}

/// `/system/namespace/{name}` bodies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FunctionNamespace {
    pub name: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// `GET /system/function/{name}/schedule` (rfaas's gateway only): a cron function's schedule and
/// next run, for `rfaas describe`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionSchedule {
    pub name: String,
    pub namespace: String,
    pub schedule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_run: Option<DateTime<Utc>>,
}

/// One NDJSON line of `GET /system/logs`; all five keys are always present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogMessage {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub instance: String,
    #[serde(with = "rfc3339_nanos")]
    pub timestamp: DateTime<Utc>,
    #[serde(default)]
    pub text: String,
}

mod rfc3339_nanos {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text).map(|t| t.with_timezone(&Utc)).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deployment_matches_faas_cli_body() {
        let body = json!({"service":"fn1","image":"ttl.sh/fn1:0.1","namespace":"dev","envProcess":"python index.py",
            "envVars":{"FROM_FILE":"1"},"constraints":["node.platform.os == linux"],"secrets":["api-key"],
            "labels":{"com.openfaas.scale.min":"2"},"annotations":{"topic":"cron"},
            "limits":{"memory":"128Mi","cpu":"200m"},"requests":{"memory":"64Mi"},"readOnlyRootFilesystem":true});
        let d: FunctionDeployment = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(d.requests.as_ref().unwrap().cpu, "");
        assert_eq!(serde_json::to_value(&d).unwrap(), body);
    }

    #[test]
    fn empty_labels_are_sent_as_objects() {
        let d = FunctionDeployment {
            service: "a".into(),
            image: "b".into(),
            labels: Some(BTreeMap::new()),
            annotations: Some(BTreeMap::new()),
            ..Default::default()
        };
        assert_eq!(serde_json::to_value(&d).unwrap(), json!({"service":"a","image":"b","labels":{},"annotations":{}}));
    }

    #[test]
    fn status_omits_zero_counts_but_keeps_created_at() {
        let s = FunctionStatus { name: "a".into(), image: "b".into(), ..Default::default() };
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            json!({"name":"a","image":"b","createdAt":"0001-01-01T00:00:00Z"})
        );
        let back: FunctionStatus =
            serde_json::from_value(json!({"name":"a","image":"b","replicas":1,"invocationCount":12})).unwrap();
        assert_eq!(back.replicas, 1);
        assert_eq!(back.invocation_count, 12.0);
    }

    #[test]
    fn floats_are_written_as_go_writes_them() {
        let s = FunctionStatus {
            invocation_count: 12.0,
            usage: Some(FunctionUsage { cpu: 0.25, total_memory_bytes: 1_048_576.0 }),
            ..Default::default()
        };
        let text = serde_json::to_string(&s).unwrap();
        assert!(text.contains(r#""invocationCount":12,"#), "{text}");
        assert!(text.contains(r#""usage":{"cpu":0.25,"totalMemoryBytes":1048576}"#), "{text}");
    }

    #[test]
    fn secret_raw_value_is_base64_and_debug_hides_values() {
        let s: Secret = serde_json::from_value(json!({"name":"k","rawValue":"aGk="})).unwrap();
        assert_eq!(s.bytes(), b"hi");
        assert!(!format!("{s:?}").contains("hi"));
        let v = Secret { name: "k".into(), value: "v".into(), ..Default::default() };
        assert_eq!(serde_json::to_value(&v).unwrap(), json!({"name":"k","value":"v"}));
    }

    #[test]
    fn secret_raw_value_wins_over_value_as_in_faasd() {
        let both: Secret = serde_json::from_value(json!({"name":"k","value":"a","rawValue":"YQo="})).unwrap();
        assert_eq!(both.bytes(), b"a\n");
        let empty_raw: Secret = serde_json::from_value(json!({"name":"k","value":"a","rawValue":""})).unwrap();
        assert_eq!(empty_raw.bytes(), b"a");
    }

    #[test]
    fn log_message_round_trips_with_nanoseconds() {
        let line = r#"{"name":"fn","namespace":"openfaas-fn","instance":"fn-1","timestamp":"2024-01-02T03:04:05.123456789Z","text":"hi"}"#;
        let m: LogMessage = serde_json::from_str(line).unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), line);
    }

    #[test]
    fn schedule_round_trips_with_next_run() {
        let text =
            r#"{"name":"a","namespace":"openfaas-fn","schedule":"*/5 * * * *","nextRun":"2026-01-01T00:05:00Z"}"#;
        let s: FunctionSchedule = serde_json::from_str(text).unwrap();
        assert_eq!(s.next_run.unwrap().to_rfc3339(), "2026-01-01T00:05:00+00:00");
        assert_eq!(serde_json::to_string(&s).unwrap(), text);
    }

    #[test]
    fn scale_request_uses_service_name() {
        let r = ScaleServiceRequest { service_name: "fn".into(), replicas: 3, namespace: String::new() };
        assert_eq!(serde_json::to_value(&r).unwrap(), json!({"serviceName":"fn","replicas":3}));
    }
}
