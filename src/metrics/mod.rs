//! Delivery metrics from the audit log (`vend metrics`), computed purely from parsed records:
//!
//! - **lead time** per vended account and pipeline: from the request's `requested_at` (written
//!   with the create's `intent` record, else a `request` event for the address) to the first
//!   `completed` record with status `SUCCEEDED` for that address (the account or pipeline is
//!   ready); the median over all of them;
//! - **apply frequency**: applies (`apply-start` records) per week over the span from the first
//!   to the last apply (at least one week);
//! - **change failure rate**: failed applies / applies (an apply fails when its `apply-end` says
//!   `complete: false`, or when it has none — interrupted);
//! - **time to restore**: from the end of a failed apply (the first of a run of failures) to the
//!   end of the next successful apply; the mean over all restores.
//!
//! Also the rolling 30-day count of successful `CloseAccount` calls, for the close quota check
//! before apply. Durations are whole seconds. No I/O: the caller reads the log and hands in
//! its records as [`Record`]s (the fields metrics need), so this module knows no adapter.

use crate::plan::{Action, Address, Kind};
use crate::port::Event;
use serde::Serialize;
use std::collections::BTreeMap;

const WEEK: i64 = 7 * 24 * 3600;

/// The part of an audit record the metrics read.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub ts: String,
    pub plan_id: String,
    pub address: String,
    /// The record's event, typed (`event` and `detail`).
    pub event: Event,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadTime {
    pub address: String,
    /// `account` or `pipeline`.
    pub kind: String,
    pub requested_at: String,
    pub ready_at: String,
    pub seconds: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Restore {
    pub failed_plan_id: String,
    pub failed_at: String,
    pub restored_plan_id: String,
    pub restored_at: String,
    pub seconds: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    pub lead_times: Vec<LeadTime>,
    pub lead_time_median_seconds: Option<i64>,
    pub applies: usize,
    pub failed_applies: usize,
    /// Weeks between the first and the last apply (at least 1).
    pub weeks: f64,
    pub applies_per_week: Option<f64>,
    pub change_failure_rate: Option<f64>,
    pub restores: Vec<Restore>,
    pub mean_time_to_restore_seconds: Option<i64>,
    /// Vended resources created but not (yet) ready: no successful `completed` record.
    pub not_ready: Vec<String>,
}

/// One apply: plan id, start time, (end time, complete) once it ended.
type Apply = (String, String, Option<(String, bool)>);

fn ts(s: &str) -> Option<i64> {
    s.parse::<jiff::Timestamp>().ok().map(|t| t.as_second())
}

/// The kind of a record's address (`None` for a record without one, such as `apply-start`).
fn kind_of(address: &str) -> Option<Kind> {
    Address::parse(address).ok().map(|a| a.kind())
}

/// Compute the metrics from the records of one log, in log order.
pub fn compute(records: &[Record]) -> Metrics {
    // Lead times.
    let mut requested: BTreeMap<&str, &str> = BTreeMap::new();
    let mut created: Vec<&str> = vec![];
    let mut ready: BTreeMap<&str, &str> = BTreeMap::new();
    for r in records {
        let vended = matches!(kind_of(&r.address), Some(Kind::Account | Kind::ProvisionedPipeline));
        if !vended {
            continue;
        }
        match &r.event {
            Event::Request(q) => {
                if let Some(at) = &q.requested_at {
                    requested.insert(&r.address, at);
                }
            }
            Event::Intent(i) if i.action == Some(Action::Create) => {
                if let Some(at) = &i.requested_at {
                    requested.insert(&r.address, at);
                }
                if !created.contains(&r.address.as_str()) {
                    created.push(&r.address);
                }
            }
            Event::Completed(c) if c.status.as_deref() == Some("SUCCEEDED") => {
                ready.entry(&r.address).or_insert(&r.ts);
            }
            Event::Intent(_)
            | Event::Completed(_)
            | Event::ApplyStart(_)
            | Event::Outcome(_)
            | Event::ApplyEnd(_)
            | Event::Recovery(_)
            | Event::Approve(_)
            | Event::LockTakeover(_)
            | Event::ForceUnlock(_)
            | Event::Unknown { .. } => {}
        }
    }
    let mut lead_times = vec![];
    let mut not_ready = vec![];
    for address in created {
        let (Some(req), Some(done)) = (requested.get(address), ready.get(address)) else {
            if !ready.contains_key(address) {
                not_ready.push(address.to_string());
            }
            continue;
        };
        let (Some(a), Some(b)) = (ts(req), ts(done)) else { continue };
        lead_times.push(LeadTime {
            address: address.to_string(),
            kind: if kind_of(address) == Some(Kind::Account) { "account" } else { "pipeline" }.into(),
            requested_at: req.to_string(),
            ready_at: done.to_string(),
            seconds: b - a,
        });
    }
    let mut secs: Vec<i64> = lead_times.iter().map(|l| l.seconds).collect();
    secs.sort_unstable();
    let lead_time_median_seconds = match secs.len() {
        0 => None,
        n if n % 2 == 1 => secs.get(n / 2).copied(),
        n => Some((secs[n / 2 - 1] + secs[n / 2]) / 2),
    };

    // Applies: (plan id, start ts, end ts, complete).
    let mut applies: Vec<Apply> = vec![];
    for r in records {
        match &r.event {
            Event::ApplyStart(_) => applies.push((r.plan_id.clone(), r.ts.clone(), None)),
            Event::ApplyEnd(end) => {
                let complete = end.complete.unwrap_or(false);
                if let Some(a) = applies.iter_mut().rev().find(|a| a.0 == r.plan_id && a.2.is_none()) {
                    a.2 = Some((r.ts.clone(), complete));
                }
            }
            Event::Intent(_)
            | Event::Outcome(_)
            | Event::Completed(_)
            | Event::Recovery(_)
            | Event::Request(_)
            | Event::Approve(_)
            | Event::LockTakeover(_)
            | Event::ForceUnlock(_)
            | Event::Unknown { .. } => {}
        }
    }
    let failed_applies = applies.iter().filter(|a| !matches!(a.2, Some((_, true)))).count();
    let starts: Vec<i64> = applies.iter().filter_map(|a| ts(&a.1)).collect();
    let span = match (starts.iter().min(), starts.iter().max()) {
        (Some(a), Some(b)) => b - a,
        _ => 0,
    };
    let weeks = (span as f64 / WEEK as f64).max(1.0);
    let n = applies.len();
    let round = |x: f64| (x * 1000.0).round() / 1000.0;

    // Restores.
    let mut restores = vec![];
    let mut failing: Option<(String, String)> = None;
    for (plan_id, start, end) in &applies {
        match end {
            Some((at, true)) => {
                if let Some((fp, fat)) = failing.take()
                    && let (Some(a), Some(b)) = (ts(&fat), ts(at))
                {
                    restores.push(Restore {
                        failed_plan_id: fp,
                        failed_at: fat,
                        restored_plan_id: plan_id.clone(),
                        restored_at: at.clone(),
                        seconds: b - a,
                    });
                }
            }
            other => {
                if failing.is_none() {
                    let at = other.as_ref().map(|(at, _)| at.clone()).unwrap_or_else(|| start.clone());
                    failing = Some((plan_id.clone(), at));
                }
            }
        }
    }
    let mean_time_to_restore_seconds = (!restores.is_empty())
        .then(|| restores.iter().map(|r| r.seconds).sum::<i64>() / restores.len() as i64);

    Metrics {
        lead_times,
        lead_time_median_seconds,
        applies: n,
        failed_applies,
        weeks: round(weeks),
        applies_per_week: (n > 0).then(|| round(n as f64 / weeks)),
        change_failure_rate: (n > 0).then(|| round(failed_applies as f64 / n as f64)),
        restores,
        mean_time_to_restore_seconds,
        not_ready,
    }
}

/// Successful `CloseAccount` calls in the 30 days before `now` (RFC 3339).
pub fn closes_last_30_days(records: &[Record], now: &str) -> usize {
    let Some(now) = ts(now) else { return 0 };
    let since = now - 30 * 24 * 3600;
    records
        .iter()
        .filter(|r| match &r.event {
            Event::Outcome(o) => o.op.as_deref() == Some("CloseAccount") && o.ok == Some(true),
            Event::ApplyStart(_)
            | Event::Intent(_)
            | Event::Completed(_)
            | Event::ApplyEnd(_)
            | Event::Recovery(_)
            | Event::Request(_)
            | Event::Approve(_)
            | Event::LockTakeover(_)
            | Event::ForceUnlock(_)
            | Event::Unknown { .. } => false,
        })
        .filter(|r| ts(&r.ts).is_some_and(|t| t > since && t <= now))
        .count()
}

/// `Err(why)` when the plan's `closes` would go over the rolling 30-day quota.
pub fn check_close_quota(records: &[Record], now: &str, closes: usize, quota: u32) -> Result<(), String> {
    if closes == 0 {
        return Ok(());
    }
    let done = closes_last_30_days(records, now);
    if done + closes > quota as usize {
        return Err(format!(
            "the plan closes {closes} account(s) and {done} were closed in the last 30 days: {} would exceed the rolling 30-day close quota of {quota} (`close_quota_30d` in catalog/vend.yaml; check AWS's current quota before raising it)",
            done + closes
        ));
    }
    Ok(())
}
