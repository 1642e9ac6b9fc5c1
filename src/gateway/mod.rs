//! `rfaas gateway`: a single-process, OpenFaaS-compatible gateway and provider that runs each
//! function replica as a Docker container on the host network.
//!
//! Layout (one concern per file): [`connections`] accepts, bounds and counts inbound connections;
//! [`router`] lists every route; [`auth`] guards `/system/*`;
//! [`functions`], [`secrets`], [`namespaces`], [`logs`], [`invocations`] (the async records) and
//! [`system`] are the REST API; [`proxy`] is the invoke hot path; [`queue`] the durable async
//! queue, whose callbacks [`callback`] checks and sends; [`cron`] the built-in cron connector;
//! [`metrics`] the Prometheus counters; [`replicas`] keeps containers as desired (and [`scaling`]
//! changes how many are desired: from zero, to zero, with the load) using
//! [`provider`] (Docker) and [`image_user`]; [`store`] is the durable state; [`state`] the
//! in-memory state; [`daemon`] runs the gateway in the background for `start`/`stop` and for
//! other commands (`ensure_running`).
//!
//! Start-up order: state directory (created 0700; an existing one must be the user's own and not
//! writable by others) and its lock, credentials, database, Docker, the
//! function table from the database, the listener and `gateway.json`, then in the background the
//! re-adoption of running containers (functions missing from the database are rebuilt from
//! their containers' labels), cron schedules, the async workers and supervision.

pub mod auth;
pub mod callback;
pub mod connections;
pub mod console;
pub mod cron;
pub mod daemon;
pub mod error;
pub mod functions;
pub mod health;
pub mod image_user;
pub mod invocations;
pub mod logs;
pub mod metrics;
pub mod names;
pub mod namespaces;
pub mod provider;
pub mod proxy;
pub mod pull;
mod quantity;
pub mod queue;
pub mod readiness;
mod replica_exit;
pub mod replicas;
pub mod resources;
pub mod router;
pub mod scaling;
pub mod secrets;
pub mod state;
pub mod store;
pub mod system;
pub mod ui;
pub mod window;

#[cfg(test)]
mod tests;
mod upstream;

use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::future::join_all;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub use state::GatewayConfig;
use state::{Function, Gateway};

/// How long open connections (e.g. followed logs) may delay exit after SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Runs the gateway in the foreground until SIGTERM or Ctrl-C.
pub async fn serve(config: GatewayConfig, printer: &crate::output::Printer) -> anyhow::Result<()> {
    let dir = config.state_dir.clone();
    crate::private_files::private_dir(&dir)
        .with_context(|| format!("cannot use the state directory {}", dir.display()))?;
    let _lock = lock_state_dir(&dir)?;
    let (credentials, created) =
        auth::load_or_create(&dir).with_context(|| format!("cannot create credentials in {}", dir.display()))?;
    let verb = if created { "created" } else { "using" };
    printer.status(&format!(
        "{verb} credentials: user {}, password in {}",
        credentials.user,
        auth::password_path(&dir).display()
    ));
    let store = store::Store::open(&dir.join("gateway.db"))?;
    let gateway_id = gateway_id(&dir, &store).await?;
    let provider = provider::Provider::connect(gateway_id, config.pull).await.map_err(|e| {
        crate::error::with_hint(
            anyhow::Error::new(e).context("cannot reach the Docker engine"),
            "start Docker (for the test environment: sudo bash tests/env/setup.sh)",
        )
    })?;
    let secrets = secrets::SecretStore::new(&dir).with_context(|| format!("cannot prepare {}", dir.display()))?;
    let gw = Arc::new(Gateway {
        config: config.clone(),
        credentials,
        store,
        functions: state::FunctionTable::default(),
        provider,
        secrets,
        metrics: metrics::Metrics::default(),
        http: http_client(),
        queue: queue::Queue::new(&config.queue).context("cannot set up the async queue")?,
    });
    for record in gw.store.functions().await? {
        gw.functions.insert(Arc::new(Function::new(record)));
    }
    // Before announcing the gateway: functions that exist only as containers (a lost database)
    // must be known when the first request arrives.
    replicas::recover_from_labels(&gw).await;
    let listener = tokio::net::TcpListener::bind((config.bind, config.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}", config.bind, config.port))?;
    let url = format!("http://{}", listener.local_addr()?);
    daemon::write_gateway_file(&dir, &daemon::GatewayFile { url: url.clone(), pid: std::process::id() })?;
    printer.status(&format!("rfaas gateway listening on {url} (state in {})", dir.display()));
    printer.status(&config.queue.callback_allow.describe());
    tokio::spawn(start_background_work(gw.clone()));
    let result = run_server(listener, gw).await;
    daemon::remove_gateway_file(&dir, std::process::id());
    result
}

/// The pooled client used for function replicas and their health checks.
pub(crate) fn http_client() -> state::HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(Duration::from_secs(5)));
    Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(connector)
}

/// Re-adopts or recreates replicas, then starts cron, the async workers and supervision.
async fn start_background_work(gw: Arc<Gateway>) {
    let all = gw.functions.all();
    for f in &all {
        cron::apply(&gw, f);
    }
    join_all(all.iter().map(|f| {
        let gw = gw.clone();
        async move {
            if let Err(e) = replicas::reconcile(&gw, f, replicas::Cause::Restore).await {
                console::warn(&format!("{}: {e}", f.key));
            }
        }
    }))
    .await;
    queue::start(&gw).await;
    replicas::supervise(&gw);
    scaling::start(&gw);
    console::info(&format!("{} function(s) restored", all.len()));
}

async fn run_server(listener: tokio::net::TcpListener, gw: Arc<Gateway>) -> anyhow::Result<()> {
    let (tx, mut rx) = tokio::sync::watch::channel(false);
    let limits = connections::fit_to_fd_limit(gw.config.connections);
    let open = gw.metrics.open_connections();
    let app = router::app(gw);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = connections::Workers::start(cores).context("cannot start the connection threads")?;
    let server = connections::serve_on(Some(Arc::new(workers)), listener, app, limits, open, async move {
        shutdown_signal().await;
        console::info("shutting down");
        let _ = tx.send(true);
    });
    tokio::select! {
        () = server => Ok(()),
        () = async {
            let _ = rx.wait_for(|stop| *stop).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {
            console::warn("connections still open after the shutdown grace period; exiting");
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

/// The file in the state directory holding the gateway's identity (the value of the
/// `com.rfaas.gateway` label on its containers).
pub const GATEWAY_ID_FILE: &str = "gateway-id";

/// The identity in `<dir>/gateway-id` (kept outside the database so containers can be
/// recovered from their labels if the database is lost), created on first start.
async fn gateway_id(dir: &Path, store: &store::Store) -> anyhow::Result<String> {
    let path = dir.join(GATEWAY_ID_FILE);
    let known = std::fs::read_to_string(&path).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let id = store.gateway_id(known.clone()).await?;
    if known.is_none() {
        crate::private_files::write_private(&path, id.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(id)
}

/// An exclusive lock on `<dir>/gateway.lock`, held for the life of the process, so two gateways
/// never share (and fight over) one state directory.
fn lock_state_dir(dir: &Path) -> anyhow::Result<std::fs::File> {
    let path = dir.join(daemon::LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    // SAFETY: flock on a file descriptor we own; no memory is shared with the kernel.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        anyhow::bail!("another rfaas gateway is already using {}", dir.display());
    }
    Ok(file)
}
