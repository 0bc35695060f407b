//! Apply: turn a plan's changes, in order, into AWS operations on a `port::Cloud`, writing an
//! intent record to the `port::Audit` log before every remote write and its outcome after it.
//! Polls asynchronous operations, retries retryable errors with backoff and jitter (never a blind
//! resend of CreateAccount or MoveAccount), resolves ids created by earlier steps, and stops the
//! dependents of a failed step. The result is a `Report` value; the engine never prints, never
//! touches files, and knows no adapter.

mod steps;

use crate::plan::{Action, Address, Change, Plan};
use crate::port::{ApplyEnd, ApplyStart, Audit, AuditError, AuditEvent, Clock, Cloud, Event, StepCounts};
use serde::Serialize;
use std::collections::BTreeSet;

/// How hard to try.
#[derive(Debug, Clone)]
pub struct Options {
    /// Attempts per operation while AWS turns it away or fails (throttling, concurrent
    /// modification, 5xx); each attempt may include the cloud adapter's own retries. When they
    /// run out the step fails saying so (`<address>: <op> gave up after N attempts: <last
    /// error>`) and the outcome record carries `attempts` and `gave_up`. Reads made to settle an
    /// ambiguous write get the same budget.
    pub max_attempts: u32,
    /// First backoff in milliseconds (doubled per attempt, with jitter).
    pub backoff_ms: u64,
    /// How many times to poll an asynchronous request before giving up on this apply.
    pub max_polls: u32,
    pub poll_interval_ms: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options { max_attempts: 5, backoff_ms: 200, max_polls: 120, poll_interval_ms: 2000 }
    }
}

/// What happened, as it happens (for progress views). `Stopped`: the caller asked to stop; the
/// running step finished and `remaining` steps were not started (each is then reported skipped).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EngineEvent {
    StepStarted { index: usize, total: usize, address: String, action: Action },
    Called { address: String, op: String, request_id: String },
    Retrying { address: String, op: String, attempt: u32, error: String },
    Polled { address: String, status: String },
    StepSucceeded { address: String },
    StepFailed { address: String, error: String },
    StepSkipped { address: String, because: String },
    Stopped { remaining: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Succeeded,
    Failed,
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepReport {
    pub address: String,
    pub action: Action,
    pub status: StepStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The result of an apply: one entry per change, in plan order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub plan_id: String,
    pub steps: Vec<StepReport>,
}

impl Report {
    pub fn succeeded(&self) -> usize {
        self.steps.iter().filter(|s| s.status == StepStatus::Succeeded).count()
    }
    pub fn failed(&self) -> Vec<&StepReport> {
        self.steps.iter().filter(|s| s.status == StepStatus::Failed).collect()
    }
    pub fn skipped(&self) -> usize {
        self.steps.iter().filter(|s| s.status == StepStatus::Skipped).count()
    }
    pub fn is_complete(&self) -> bool {
        self.steps.iter().all(|s| s.status == StepStatus::Succeeded)
    }
}

/// Why a saved plan may not be applied any more (DESIGN §4: basis).
pub fn stale_reason(plan: &Plan, workspace_fingerprint: &str, state_fingerprint: &str) -> Option<String> {
    let mut why = vec![];
    if plan.basis.state != state_fingerprint {
        why.push("the organization's state changed since it was planned");
    }
    if plan.basis.workspace != workspace_fingerprint {
        why.push("the workspace (catalog/ or blueprints/) changed since it was planned");
    }
    (!why.is_empty()).then(|| {
        format!("saved plan {} is stale: {}; run `vend plan` again", plan.plan_id, why.join(" and "))
    })
}

/// Apply `changes` (a plan's changes, possibly a subset) in order.
///
/// Returns `Err` only when the audit log cannot be written: nothing is sent to AWS without its
/// intent record. A failed step is a value in the report; its dependents are skipped, the
/// independent steps still run.
pub fn apply(
    plan: &Plan,
    cloud: &mut dyn Cloud,
    audit: &mut dyn Audit,
    clock: &dyn Clock,
    options: &Options,
    on_event: &mut dyn FnMut(EngineEvent),
) -> Result<Report, AuditError> {
    apply_until(plan, cloud, audit, clock, options, on_event, &|| false)
}

/// The addresses a plan's `excluded` list leaves out, with everything that depends on them
/// (directly or not): a change whose dependency is not applied cannot be applied either.
pub fn excluded_closure(plan: &Plan) -> BTreeSet<Address> {
    let mut excluded: BTreeSet<Address> = plan
        .excluded
        .as_ref()
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|x| x.as_str().and_then(|s| Address::parse(s).ok())).collect())
        .unwrap_or_default();
    if excluded.is_empty() {
        return excluded;
    }
    // Dependencies point to earlier changes, so one pass in plan order is enough; loop anyway in
    // case a hand-edited plan breaks that order.
    loop {
        let before = excluded.len();
        for c in &plan.changes {
            if !excluded.contains(&c.address) && c.depends_on.iter().any(|d| excluded.contains(d)) {
                excluded.insert(c.address.clone());
            }
        }
        if excluded.len() == before {
            return excluded;
        }
    }
}

/// `apply`, asking `stop` before each step: once it answers true, the running step has finished
/// and the steps not started yet are reported as skipped (an `EngineEvent::Stopped` first).
pub fn apply_until(
    plan: &Plan,
    cloud: &mut dyn Cloud,
    audit: &mut dyn Audit,
    clock: &dyn Clock,
    options: &Options,
    on_event: &mut dyn FnMut(EngineEvent),
    stop: &dyn Fn() -> bool,
) -> Result<Report, AuditError> {
    let excluded = excluded_closure(plan);
    let changes: Vec<&Change> = plan.changes.iter().filter(|c| !excluded.contains(&c.address)).collect();
    audit.append(AuditEvent {
        plan_id: plan.plan_id.clone(),
        address: String::new(),
        event: Event::ApplyStart(ApplyStart {
            changes: Some(changes.len()),
            summary: serde_json::to_value(&plan.summary).ok(),
            basis: serde_json::to_value(&plan.basis).ok(),
        }),
    })?;
    let mut run = steps::Run::new(plan.plan_id.clone(), cloud, audit, clock, options, on_event, &changes);
    let mut broken: BTreeSet<Address> = BTreeSet::new();
    let mut steps_out = vec![];
    let total = changes.len();
    let mut stopped = false;
    for (index, change) in changes.into_iter().enumerate() {
        if !stopped && stop() {
            stopped = true;
            (run.on_event)(EngineEvent::Stopped { remaining: total - index });
        }
        let skipped = if stopped {
            Some("not started: the apply was stopped".to_string())
        } else {
            change.depends_on.iter().find(|d| broken.contains(*d)).map(|dep| {
                broken.insert(change.address.clone());
                format!("depends on {dep}, which did not complete")
            })
        };
        if let Some(because) = skipped {
            (run.on_event)(EngineEvent::StepSkipped {
                address: change.address.to_string(),
                because: because.clone(),
            });
            steps_out.push(StepReport {
                address: change.address.to_string(),
                action: change.action,
                status: StepStatus::Skipped,
                error: Some(because),
            });
            continue;
        }
        (run.on_event)(EngineEvent::StepStarted {
            index: index + 1,
            total,
            address: change.address.to_string(),
            action: change.action,
        });
        match run.step(change)? {
            Ok(()) => {
                (run.on_event)(EngineEvent::StepSucceeded { address: change.address.to_string() });
                steps_out.push(StepReport {
                    address: change.address.to_string(),
                    action: change.action,
                    status: StepStatus::Succeeded,
                    error: None,
                });
            }
            Err(e) => {
                broken.insert(change.address.clone());
                (run.on_event)(EngineEvent::StepFailed {
                    address: change.address.to_string(),
                    error: e.clone(),
                });
                steps_out.push(StepReport {
                    address: change.address.to_string(),
                    action: change.action,
                    status: StepStatus::Failed,
                    error: Some(e),
                });
            }
        }
    }
    let report = Report { plan_id: plan.plan_id.clone(), steps: steps_out };
    let steps = StepCounts {
        succeeded: report.succeeded(),
        failed: report.failed().len(),
        skipped: report.skipped(),
    };
    run.audit.append(AuditEvent {
        plan_id: plan.plan_id.clone(),
        address: String::new(),
        event: Event::ApplyEnd(ApplyEnd {
            complete: Some(report.is_complete()),
            steps: Some(steps),
            stopped: stopped.then_some(true),
        }),
    })?;
    Ok(report)
}
