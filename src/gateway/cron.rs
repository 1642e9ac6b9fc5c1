//! The built-in cron connector. Functions annotated `topic: cron-function` and
//! `schedule: <expr>` are invoked like cron-connector does it: `POST /function/<name>.<ns>`, empty
//! body, `X-Topic: cron-function`, `X-Connector: cron-connector`.
//!
//! Differences from cron-connector, on purpose: a run still going when the next tick comes is
//! skipped (and logged) instead of overlapping; an invalid schedule, or one that can never fire
//! (`0 0 30 2 *`), fails the deploy with 400;
//! schedules change at once on redeploy and stop on removal. Schedules are 5-field cron
//! expressions or descriptors (`@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`,
//! `@annually`, `@every <duration>`), evaluated in UTC. The next run time is kept for
//! `GET /system/function/{name}/schedule`.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use croner::parser::{CronParser, Seconds};

use super::console;
use super::error::ApiError;
use super::names::FnKey;
use super::proxy::{Target, forward};
use super::state::{Function, Gateway};
use crate::openfaas::types::FunctionDeployment;

/// The annotation values that opt a function in.
pub const TOPIC: &str = "cron-function";

/// A parsed schedule.
#[derive(Debug, Clone)]
pub enum Schedule {
    Every(Duration),
    Cron(Box<croner::Cron>),
}

impl Schedule {
    /// Parses a schedule; the error is the message for a 400.
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let t = text.trim();
        if let Some(every) = t.strip_prefix("@every") {
            let d = humantime::parse_duration(every.trim()).map_err(|e| {
                format!("invalid schedule {text:?}: @every needs a duration such as 30s or 1h30m ({e})")
            })?;
            if d < Duration::from_secs(1) {
                return Err(format!("invalid schedule {text:?}: @every must be at least 1s"));
            }
            return Ok(Schedule::Every(d));
        }
        let fields = t.split_whitespace().count();
        if !t.starts_with('@') && fields != 5 {
            return Err(format!(
                "invalid schedule {text:?}: expected 5 fields (minute hour day month weekday), got {fields}"
            ));
        }
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .build()
            .parse(t)
            .map_err(|e| format!("invalid schedule {text:?}: {e}"))?;
        // `0 0 30 2 *` parses but no date matches it; croner searches a few thousand years
        // ahead to find that out (~0.2 s in a debug build), so callers on the runtime should
        // parse new schedules off it.
        if cron.find_next_occurrence(&Utc::now(), false).is_err() {
            return Err(format!(
                "invalid schedule {text:?}: it never fires (no date has that day of the month in those months)"
            ));
        }
        Ok(Schedule::Cron(Box::new(cron)))
    }

    /// The first run strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Every(d) => chrono::Duration::from_std(*d).ok().map(|d| after + d),
            Schedule::Cron(c) => c.find_next_occurrence(&after, false).ok(),
        }
    }
}

impl FromStr for Schedule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Schedule::parse(s)
    }
}

/// The schedule text when `d` opts in; an error when it opts in with a bad or missing schedule.
pub fn schedule_of(d: &FunctionDeployment) -> Result<Option<(String, Schedule)>, String> {
    let annotations = d.annotations.clone().unwrap_or_default();
    if annotations.get("topic").map(String::as_str) != Some(TOPIC) {
        return Ok(None);
    }
    let text = annotations.get("schedule").ok_or_else(|| {
        "annotation topic=cron-function needs a schedule annotation, e.g. schedule=\"*/5 * * * *\"".to_string()
    })?;
    Ok(Some((text.clone(), Schedule::parse(text)?)))
}

/// A function's cron task and its next run.
#[derive(Default)]
pub struct CronSlot {
    inner: Mutex<Option<Scheduled>>,
}

struct Scheduled {
    schedule: String,
    next_run: Option<DateTime<Utc>>,
    task: tokio::task::JoinHandle<()>,
}

impl CronSlot {
    fn replace(&self, new: Option<Scheduled>) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = inner.take() {
            old.task.abort();
        }
        *inner = new;
    }

    fn set_next(&self, next: Option<DateTime<Utc>>) {
        if let Some(s) = self.inner.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            s.next_run = next;
        }
    }

    /// `(schedule, next run)` when the function is scheduled.
    pub fn status(&self) -> Option<(String, Option<DateTime<Utc>>)> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|s| (s.schedule.clone(), s.next_run))
    }

    /// `(schedule, next run, task still running)` when the function is scheduled.
    pub fn health(&self) -> Option<(String, Option<DateTime<Utc>>, bool)> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.as_ref().map(|s| (s.schedule.clone(), s.next_run, !s.task.is_finished()))
    }

    /// Stops the schedule (function removed).
    pub fn stop(&self) {
        self.replace(None);
    }
}

/// (Re)starts `f`'s schedule from its current record; stops it when it no longer opts in.
pub fn apply(gw: &Arc<Gateway>, f: &Arc<Function>) {
    let record = f.record();
    match schedule_of(&record.deployment) {
        Ok(Some((text, schedule))) => {
            let first = schedule.next_after(Utc::now());
            let task = tokio::spawn(run(gw.clone(), f.key.clone(), schedule, first));
            f.cron.replace(Some(Scheduled { schedule: text, next_run: first, task }));
        }
        Ok(None) => f.cron.stop(),
        Err(e) => {
            console::warn(&format!("{}: not scheduled: {e}", f.key));
            f.cron.stop();
        }
    }
}

async fn run(gw: Arc<Gateway>, key: FnKey, schedule: Schedule, first: Option<DateTime<Utc>>) {
    let running = Arc::new(AtomicBool::new(false));
    let mut due = first;
    while let Some(next) = due {
        let wait = (next - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        tokio::time::sleep(wait).await;
        due = schedule.next_after(next.max(Utc::now()));
        if let Some(f) = gw.functions.get(&key) {
            f.cron.set_next(due);
        }
        if running.swap(true, Ordering::SeqCst) {
            gw.metrics.cron_skipped(&key.to_string());
            console::info(&format!("cron {key}: previous run still going; skipping the run due at {next}"));
            continue;
        }
        let (gw, key, running) = (gw.clone(), key.clone(), running.clone());
        tokio::spawn(async move {
            let status = trigger(&gw, &key).await;
            running.store(false, Ordering::SeqCst);
            gw.metrics.cron_run(&key.to_string(), status);
            console::info(&format!("cron {key}: status {status}"));
        });
    }
}

/// One cron-connector-style invocation; returns the status.
async fn trigger(gw: &Arc<Gateway>, key: &FnKey) -> u16 {
    let mut request = Request::new(Body::empty());
    *request.method_mut() = axum::http::Method::POST;
    request.headers_mut().insert("x-topic", HeaderValue::from_static(TOPIC));
    request.headers_mut().insert("x-connector", HeaderValue::from_static("cron-connector"));
    let target = Target { key: key.clone(), path_and_query: "/".into() };
    let response = forward(gw, &target, request, None).await;
    let status = response.status().as_u16();
    // Wait for the whole body so "still running" covers the full invocation.
    let _ = http_body_util::BodyExt::collect(response.into_body()).await;
    status
}

/// The next run of `name.namespace`, if it is scheduled.
pub fn next_run(gw: &Gateway, key: &FnKey) -> Option<DateTime<Utc>> {
    gw.functions.get(key).and_then(|f| f.cron.status()).and_then(|(_, next)| next)
}

/// `GET /system/function/{name}/schedule?namespace=`: 404 unless the function is scheduled.
pub async fn status(
    State(gw): State<Arc<Gateway>>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let key = FnKey::new(&name, q.get("namespace").map(String::as_str).unwrap_or_default());
    let f = gw.functions.get(&key).ok_or_else(|| ApiError::NotFound(format!("function {key} not found")))?;
    let (schedule, next_run) =
        f.cron.status().ok_or_else(|| ApiError::NotFound(format!("function {key} has no cron schedule")))?;
    let body =
        crate::openfaas::types::FunctionSchedule { name: key.name, namespace: key.namespace, schedule, next_run };
    Ok(axum::Json(body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn parses_cron_and_descriptors() {
        let t = Utc.with_ymd_and_hms(2025, 1, 1, 10, 7, 30).unwrap();
        let s = Schedule::parse("*/5 * * * *").unwrap();
        assert_eq!(s.next_after(t), Some(Utc.with_ymd_and_hms(2025, 1, 1, 10, 10, 0).unwrap()));
        let s = Schedule::parse("@hourly").unwrap();
        assert_eq!(s.next_after(t), Some(Utc.with_ymd_and_hms(2025, 1, 1, 11, 0, 0).unwrap()));
        let s = Schedule::parse("@every 2s").unwrap();
        assert_eq!(s.next_after(t), Some(t + chrono::Duration::seconds(2)));
        assert!(Schedule::parse("@every 1h30m").is_ok());
    }

    #[test]
    fn rejects_bad_schedules() {
        for bad in ["", "* * * *", "0 * * * * *", "61 * * * *", "@every", "@every soon", "@every 10ms", "@sometimes"] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
        for never in ["0 0 30 2 *", "0 0 31 4,6 *", "*/5 * 31 2,4,6,9,11 *"] {
            let e = Schedule::parse(never).unwrap_err();
            assert_eq!(
                e,
                format!(
                    "invalid schedule {never:?}: it never fires (no date has that day of the month in those months)"
                )
            );
        }
        // Rare is not never: leap days, and day-of-month OR day-of-week as cron has it.
        assert!(Schedule::parse("0 0 29 2 *").is_ok());
        assert!(Schedule::parse("0 0 30 2 1").is_ok());
    }

    #[test]
    fn opt_in_needs_the_exact_topic_and_a_schedule() {
        let mut d = FunctionDeployment::default();
        assert!(schedule_of(&d).unwrap().is_none());
        d.annotations = Some([("topic".to_string(), "cron-function".to_string())].into());
        assert!(schedule_of(&d).is_err());
        d.annotations.as_mut().unwrap().insert("schedule".into(), "@every 5s".into());
        assert_eq!(schedule_of(&d).unwrap().unwrap().0, "@every 5s");
        d.annotations.as_mut().unwrap().insert("topic".into(), "cron-function,kafka".into());
        assert!(schedule_of(&d).unwrap().is_none());
    }
}
