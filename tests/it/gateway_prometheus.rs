//! A real Prometheus (Debian's, installed by tests/env/setup.sh) scraping a real gateway every
//! second while a real function is invoked; the assertions go through Prometheus's HTTP API, so
//! they prove that the exposition parses and that OpenFaaS-style queries work on it.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::gateway::{TestGateway, echo_fn, echo_images};

const HINT: &str = "run `sudo bash tests/env/setup.sh` to install Prometheus";

/// A Prometheus process on 127.0.0.1 with its own config and data in a temporary directory.
struct Prometheus {
    child: Child,
    url: String,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

impl Prometheus {
    /// Starts Prometheus scraping `target` (`host:port`) every second; waits until it is ready.
    async fn start(dir: &Path, target: &str, http: &reqwest::Client) -> Prometheus {
        let binary = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or_else(|| panic!("prometheus is not installed: {HINT}"));
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: rfaas\n    \
             static_configs:\n      - targets: ['{target}']\n"
        );
        std::fs::write(dir.join("prometheus.yml"), config).expect("write prometheus.yml");
        let log = std::fs::File::create(dir.join("prometheus.log")).expect("log");
        let port = free_port();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {binary} ({e}): {HINT}"));
        let mut prometheus = Prometheus { child, url: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = prometheus.child.try_wait() {
                panic!(
                    "prometheus exited ({status}):\n{}",
                    std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
                );
            }
            let ready = http.get(format!("{}/-/ready", prometheus.url)).send().await;
            if ready.is_ok_and(|r| r.status() == 200) {
                return prometheus;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let _ = prometheus.child.kill();
        panic!(
            "prometheus did not become ready:\n{}",
            std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
        );
    }

    /// The `data.result` of an instant query.
    async fn query(&self, http: &reqwest::Client, promql: &str) -> Vec<Value> {
        let response = http
            .get(format!("{}/api/v1/query", self.url))
            .query(&[("query", promql)])
            .send()
            .await
            .expect("prometheus answers");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["status"], "success", "{promql}: {body}");
        body["data"]["result"].as_array().cloned().unwrap_or_default()
    }
}

/// The value of one result of a vector query.
fn value(sample: &Value) -> f64 {
    sample["value"][1].as_str().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
}

#[tokio::test]
async fn prometheus_scrapes_openfaas_metrics_that_rate_and_histogram_quantile_work_on() {
    let (image, _) = echo_images().await;
    let gw = TestGateway::start().await;
    let (status, body) = gw.deploy(&echo_fn("scraped", &image)).await;
    assert_eq!(status, 202, "{body}");
    let tmp = tempfile::tempdir().expect("temp dir");
    let target = gw.url.trim_start_matches("http://").to_string();
    let prometheus = Prometheus::start(tmp.path(), &target, &gw.http).await;

    let rate = "rate(gateway_function_invocation_total[1m])";
    let p99 = "histogram_quantile(0.99, sum by (le, function_name, code) (rate(gateway_functions_seconds_bucket[1m])))";
    let deadline = Instant::now() + Duration::from_secs(60);
    let (rates, quantiles) = loop {
        for _ in 0..20 {
            assert_eq!(gw.invoke("scraped/some/path").await.status(), 200);
        }
        let (rates, quantiles) = (prometheus.query(&gw.http, rate).await, prometheus.query(&gw.http, p99).await);
        let ready = |r: &[Value]| r.iter().any(|s| value(s) > 0.0);
        if (ready(&rates) && ready(&quantiles)) || Instant::now() > deadline {
            break (rates, quantiles);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(rates.len(), 1, "{rates:?}");
    let labels = &rates[0]["metric"];
    assert_eq!(labels["function_name"], "scraped.openfaas-fn", "{labels}");
    assert_eq!(labels["code"], "200", "{labels}");
    assert_eq!(labels["job"], "rfaas", "{labels}");
    assert!(value(&rates[0]) > 0.0, "{rates:?}");
    assert_eq!(quantiles.len(), 1, "{quantiles:?}");
    assert_eq!(quantiles[0]["metric"]["function_name"], "scraped.openfaas-fn");
    let p99_seconds = value(&quantiles[0]);
    assert!(p99_seconds > 0.0 && p99_seconds <= 10.0, "{quantiles:?}");

    // The scrape itself is clean (no parse errors) and the other families are there.
    let targets: Value = gw
        .http
        .get(format!("{}/api/v1/targets", prometheus.url))
        .send()
        .await
        .expect("targets")
        .json()
        .await
        .expect("json");
    let active = &targets["data"]["activeTargets"][0];
    assert_eq!((&active["health"], &active["lastError"]), (&Value::from("up"), &Value::from("")), "{targets}");
    for (promql, want) in [
        ("gateway_service_count{function_name=\"scraped.openfaas-fn\"}", 1.0),
        ("rfaas_replicas_available{function_name=\"scraped.openfaas-fn\"}", 1.0),
        ("rfaas_cold_starts_total{function_name=\"scraped.openfaas-fn\",cause=\"deploy\"}", 1.0),
    ] {
        let result = prometheus.query(&gw.http, promql).await;
        assert_eq!(result.len(), 1, "{promql}: {result:?}");
        assert_eq!(value(&result[0]), want, "{promql}: {result:?}");
    }
    let started = prometheus.query(&gw.http, "gateway_function_invocation_started").await;
    assert!(value(&started[0]) >= 20.0, "{started:?}");
    let memory = prometheus.query(&gw.http, "process_resident_memory_bytes{job=\"rfaas\"}").await;
    assert!(value(&memory[0]) > 1e6, "{memory:?}");
}
