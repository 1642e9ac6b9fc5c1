//! The gateway's REST endpoints as typed methods on [`Client`], with faas-cli's paths, query
//! strings and bodies, so rfaas works against any OpenFaaS gateway.

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use super::client::{Client, ClientError};
use super::types::{
    DeleteFunctionRequest, FunctionDeployment, FunctionNamespace, FunctionSchedule, FunctionStatus, GatewayInfo, Secret,
};

/// How a deployment was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeployOutcome {
    /// The function existed and was updated in place (PUT).
    Updated(StatusCode),
    /// The function was created (POST).
    Created(StatusCode),
}

/// How `deploy` treats an existing function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeployMode {
    /// PUT, then POST when the gateway answers 404 (faas-cli's default `--update`).
    Update,
    /// DELETE, then POST (`--replace`).
    Replace,
    /// POST only (`--update=false`).
    Create,
}

fn ns_query(namespace: &str) -> String {
    if namespace.is_empty() { String::new() } else { format!("?namespace={}", urlencode(namespace)) }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn is_success(status: StatusCode) -> bool {
    matches!(status.as_u16(), 200..=202)
}

impl Client {
    pub(super) async fn json<T: DeserializeOwned>(&self, response: reqwest::Response) -> Result<T, ClientError> {
        let url = response.url().clone();
        let bytes = response.bytes().await.map_err(|e| self.body_error(&url, &e))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| ClientError::Decode { gateway: self.gateway().to_string(), reason: e.to_string() })
    }

    fn not_found(&self, what: String) -> ClientError {
        ClientError::NotFound { gateway: self.gateway().to_string(), what }
    }

    /// `GET /system/functions[?namespace=]`.
    pub async fn list_functions(&self, namespace: &str) -> Result<Vec<FunctionStatus>, ClientError> {
        let response =
            self.send(self.request(Method::GET, &format!("/system/functions{}", ns_query(namespace)))).await?;
        if response.status() != StatusCode::OK {
            return Err(self.status_error(response).await);
        }
        self.json(response).await
    }

    /// `GET /system/function/<name>?[namespace=&]usage=1`; `None` when the gateway answers 404.
    pub async fn get_function(&self, name: &str, namespace: &str) -> Result<Option<FunctionStatus>, ClientError> {
        let mut path = format!("/system/function/{}?", urlencode(name));
        if !namespace.is_empty() {
            path.push_str(&format!("namespace={}&", urlencode(namespace)));
        }
        path.push_str("usage=1");
        let response = self.send(self.request(Method::GET, &path)).await?;
        match response.status() {
            StatusCode::OK => self.json(response).await.map(Some),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(self.status_error(response).await),
        }
    }

    /// Creates or updates a function as `mode` says.
    pub async fn deploy(
        &self,
        deployment: &FunctionDeployment,
        mode: DeployMode,
    ) -> Result<DeployOutcome, ClientError> {
        if mode == DeployMode::Update {
            let response = self.send(self.request(Method::PUT, "/system/functions").json(deployment)).await?;
            let status = response.status();
            if is_success(status) {
                return Ok(DeployOutcome::Updated(status));
            }
            if status != StatusCode::NOT_FOUND {
                return Err(self.status_error(response).await);
            }
        }
        if mode == DeployMode::Replace {
            match self.delete_function(&deployment.service, &deployment.namespace).await {
                Ok(()) | Err(ClientError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let response = self.send(self.request(Method::POST, "/system/functions").json(deployment)).await?;
        let status = response.status();
        if is_success(status) { Ok(DeployOutcome::Created(status)) } else { Err(self.status_error(response).await) }
    }

    /// `DELETE /system/functions` with `{"functionName","namespace"}`.
    pub async fn delete_function(&self, name: &str, namespace: &str) -> Result<(), ClientError> {
        let body = DeleteFunctionRequest { function_name: name.to_string(), namespace: namespace.to_string() };
        let response = self.send(self.request(Method::DELETE, "/system/functions").json(&body)).await?;
        match response.status() {
            s if is_success(s) => Ok(()),
            StatusCode::NOT_FOUND => Err(self.not_found(format!("function {name}"))),
            _ => Err(self.status_error(response).await),
        }
    }

    /// `GET /system/secrets[?namespace=]`.
    pub async fn list_secrets(&self, namespace: &str) -> Result<Vec<Secret>, ClientError> {
        let response = self.send(self.request(Method::GET, &format!("/system/secrets{}", ns_query(namespace)))).await?;
        if !is_success(response.status()) {
            return Err(self.status_error(response).await);
        }
        self.json(response).await
    }

    /// `POST /system/secrets`; 409 becomes [`ClientError::Conflict`].
    pub async fn create_secret(&self, secret: &Secret) -> Result<StatusCode, ClientError> {
        let response = self.send(self.request(Method::POST, "/system/secrets").json(secret)).await?;
        match response.status() {
            s if is_success(s) => Ok(s),
            StatusCode::CONFLICT => Err(ClientError::Conflict {
                gateway: self.gateway().to_string(),
                what: format!("secret {}", secret.name),
            }),
            _ => Err(self.status_error(response).await),
        }
    }

    /// `PUT /system/secrets`; 404 becomes [`ClientError::NotFound`].
    pub async fn update_secret(&self, secret: &Secret) -> Result<StatusCode, ClientError> {
        let response = self.send(self.request(Method::PUT, "/system/secrets").json(secret)).await?;
        match response.status() {
            s if is_success(s) => Ok(s),
            StatusCode::NOT_FOUND => Err(self.not_found(format!("secret {}", secret.name))),
            _ => Err(self.status_error(response).await),
        }
    }

    /// `DELETE /system/secrets` with `{"name","namespace"}`.
    pub async fn delete_secret(&self, name: &str, namespace: &str) -> Result<(), ClientError> {
        let body = Secret { name: name.to_string(), namespace: namespace.to_string(), ..Default::default() };
        let path = format!("/system/secrets{}", ns_query(namespace));
        let response = self.send(self.request(Method::DELETE, &path).json(&body)).await?;
        match response.status() {
            s if is_success(s) || s == StatusCode::NO_CONTENT => Ok(()),
            StatusCode::NOT_FOUND => Err(self.not_found(format!("secret {name}"))),
            _ => Err(self.status_error(response).await),
        }
    }

    /// `GET /system/namespaces`.
    pub async fn list_namespaces(&self) -> Result<Vec<String>, ClientError> {
        let response = self.send(self.request(Method::GET, "/system/namespaces")).await?;
        if response.status() != StatusCode::OK {
            return Err(self.status_error(response).await);
        }
        self.json(response).await
    }

    /// `GET /system/namespace/<name>`.
    pub async fn get_namespace(&self, name: &str) -> Result<FunctionNamespace, ClientError> {
        let response = self.send(self.request(Method::GET, &format!("/system/namespace/{}", urlencode(name)))).await?;
        match response.status() {
            StatusCode::OK => self.json(response).await,
            StatusCode::NOT_FOUND => Err(self.not_found(format!("namespace {name}"))),
            _ => Err(self.status_error(response).await),
        }
    }

    /// Creates (`POST /system/namespace/`) or updates (`PUT /system/namespace/<name>`) a namespace.
    pub async fn save_namespace(&self, ns: &FunctionNamespace, create: bool) -> Result<(), ClientError> {
        let (method, path) = if create {
            (Method::POST, "/system/namespace/".to_string())
        } else {
            (Method::PUT, format!("/system/namespace/{}", urlencode(&ns.name)))
        };
        let response = self.send(self.request(method, &path).json(ns)).await?;
        match response.status() {
            s if is_success(s) => Ok(()),
            StatusCode::NOT_FOUND => Err(self.not_found(format!("namespace {}", ns.name))),
            StatusCode::CONFLICT => Err(ClientError::Conflict {
                gateway: self.gateway().to_string(),
                what: format!("namespace {}", ns.name),
            }),
            _ => Err(self.status_error(response).await),
        }
    }

    /// `DELETE /system/namespace/<name>`.
    pub async fn delete_namespace(&self, name: &str) -> Result<(), ClientError> {
        let body = FunctionNamespace {
            name: name.to_string(),
            labels: [("openfaas".to_string(), "1".to_string())].into(),
            ..Default::default()
        };
        let path = format!("/system/namespace/{}", urlencode(name));
        let response = self.send(self.request(Method::DELETE, &path).json(&body)).await?;
        match response.status() {
            s if is_success(s) => Ok(()),
            StatusCode::NOT_FOUND => Err(self.not_found(format!("namespace {name}"))),
            _ => Err(self.status_error(response).await),
        }
    }

    /// A cron function's schedule and next run from rfaas's gateway; `None` from gateways that do
    /// not offer it (OpenFaaS on Kubernetes, faasd) or for functions without a schedule.
    pub async fn schedule(&self, name: &str, namespace: &str) -> Option<FunctionSchedule> {
        let path = format!("/system/function/{}/schedule{}", urlencode(name), ns_query(namespace));
        let response = self.send(self.request(Method::GET, &path)).await.ok()?;
        if response.status() != StatusCode::OK {
            return None;
        }
        self.json(response).await.ok()
    }

    /// `GET /system/info`.
    pub async fn info(&self) -> Result<GatewayInfo, ClientError> {
        let response = self.send(self.request(Method::GET, "/system/info")).await?;
        if response.status() != StatusCode::OK {
            return Err(self.status_error(response).await);
        }
        self.json(response).await
    }

    /// `GET /healthz` (no credentials); true on 200.
    pub async fn healthz(&self) -> Result<bool, ClientError> {
        let response = self.send(self.request_open(Method::GET, "/healthz")).await?;
        Ok(response.status() == StatusCode::OK)
    }

    /// `GET /system/logs?...` as a streaming response; the caller reads NDJSON lines.
    pub async fn logs(&self, query: &[(&str, String)]) -> Result<reqwest::Response, ClientError> {
        let mut pairs: Vec<(&str, String)> = query.to_vec();
        pairs.sort_by(|a, b| a.0.cmp(b.0));
        let qs: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect();
        let response = self.send(self.request(Method::GET, &format!("/system/logs?{}", qs.join("&")))).await?;
        if response.status() != StatusCode::OK {
            return Err(self.status_error(response).await);
        }
        Ok(response)
    }
}

impl Client {
    /// Polls `GET /system/function/<name>` until it reports an available replica; false on timeout.
    pub async fn wait_ready(
        &self,
        name: &str,
        namespace: &str,
        limit: std::time::Duration,
    ) -> Result<bool, ClientError> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.get_function(name, namespace).await?
                && status.available_replicas > 0
            {
                return Ok(true);
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
}
