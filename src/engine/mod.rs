//! Apply: turn a plan's changes, in order, into AWS operations on a `port::Cloud`, writing an
//! intent record to the `port::Audit` log before every remote write and its outcome after it.
//! Polls asynchronous operations, retries retryable errors with backoff and jitter (never a blind
//! resend of CreateAccount or MoveAccount), resolves ids created by earlier steps, and stops the
//! dependents of a failed step. The result is a `Report` value; the engine never prints, never
//! touches files, and knows no adapter.

mod schedule;
mod shared;
mod steps;

use crate::plan::{Action, Address, Change, Plan};
use crate::port::{
    ApplyEnd, ApplyStart, Audit, AuditError, AuditEvent, Clock, Cloud, ErrorKind, Event, Op, StepCounts,
};
use schedule::Schedule;
use serde::Serialize;
use shared::{Calls, SharedAudit, SharedIds};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use steps::{Context, Run, StepResult};

pub use schedule::{creates_account, holds, resumed_request, resumes_creation};

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
    /// Steps in flight at most (`vend apply --parallelism`, whose default is 10). 1: one step
    /// at a time, exactly in plan order (the library's default, and the plan check's).
    pub parallelism: usize,
    /// CreateAccount steps in flight at most: the organization's limit on account creations in
    /// progress (the caller passes the AWS rule table's limit).
    pub max_account_creations: usize,
    /// The account creations in progress in AWS when the apply starts (the `car-…` ids the
    /// state read lists IN_PROGRESS). Those a step resumes are that step's; each of the others
    /// (sent by another tool, or by an interrupted apply for an account the plan no longer
    /// creates) holds one of `max_account_creations` until a poll finds it ended — polled only
    /// when the plan's own creations would otherwise wait for a slot.
    pub creations_in_progress: Vec<String>,
    /// Start the steps that may start in a seeded random order instead of plan order (a
    /// property test of the schedule's rules: every order they allow must apply).
    pub shuffle: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_attempts: 5,
            backoff_ms: 200,
            max_polls: 120,
            poll_interval_ms: 2000,
            parallelism: 1,
            max_account_creations: usize::MAX,
            creations_in_progress: vec![],
            shuffle: None,
        }
    }
}

/// What happened, as it happens (for progress views). `Stopped`: the caller asked to stop; no
/// step starts any more, the `in_flight` steps running then finish, and `remaining` steps were
/// not started (each is then reported skipped).
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
    Stopped { remaining: usize, in_flight: usize },
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
    /// The caller asked to stop (Ctrl-C, a lost lock) before every step had started.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stopped: bool,
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
/// (directly or not): a change whose dependency is not applied cannot be applied either
/// (`plan::scope::excluded_closure`, shared with the TUI and `--exclude`).
pub fn excluded_closure(plan: &Plan) -> BTreeSet<Address> {
    crate::plan::scope::excluded_closure(plan)
}

/// Where a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Waiting,
    Running,
    Finished,
}

/// What a step running on another thread sends back.
enum Msg {
    Event(EngineEvent),
    Done(usize, StepResult),
    /// A creation in progress outside the plan ended (or was given up on): its slot is free.
    OtherCreationEnded,
}

/// `apply`, asking `stop` before starting each step: once it answers true, no step starts any
/// more, the steps in flight finish, and the steps not started are reported as skipped (an
/// `EngineEvent::Stopped` first).
///
/// Up to `options.parallelism` steps run at once, each on a thread of its own (with 1, on the
/// calling thread, in plan order); `on_event` is always called on the calling thread. Which
/// steps may overlap is decided by `schedule` (see there); the report keeps plan order.
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
    let first_version = schedule::first_versions(&changes);
    let calls = Calls::new(cloud);
    let log = SharedAudit::new(audit);
    let ids = SharedIds::default();
    let cx = Context {
        plan_id: &plan.plan_id,
        cloud: &calls,
        audit: &log,
        clock,
        options,
        ids: &ids,
        first_version: &first_version,
    };
    let on_event = RefCell::new(on_event);
    let emit = |e: EngineEvent| (on_event.borrow_mut())(e);
    // Creations in progress that no step resumes hold a slot each until they end.
    let resumed: BTreeSet<String> = changes.iter().filter_map(|c| resumed_request(c)).collect();
    let others: Vec<&String> =
        options.creations_in_progress.iter().filter(|r| !resumed.contains(*r)).collect();
    let mut walk = Walk::new(&changes, options);
    walk.creating += others.len();
    let new_creations = (0..changes.len()).filter(|&i| walk.takes_slot(i)).count();
    let watch = !others.is_empty() && walk.creating + new_creations > walk.max_creating;
    let quit = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<Msg>();
        let mut watching = 0;
        if watch {
            for request_id in others {
                let (tx, calls, quit) = (tx.clone(), &calls, &quit);
                watching += 1;
                scope.spawn(move || {
                    watch_creation(calls, request_id, clock, options, quit);
                    let _ = tx.send(Msg::OtherCreationEnded);
                });
            }
        }
        loop {
            let start = walk.startable(stop, &emit);
            let progressed = !start.is_empty();
            for i in start {
                let change = changes[i];
                walk.started(i);
                emit(EngineEvent::StepStarted {
                    index: i + 1,
                    total: changes.len(),
                    address: change.address.to_string(),
                    action: change.action,
                });
                if options.parallelism <= 1 {
                    let result = Run::new(&cx, change, &emit).step(change);
                    walk.finished(i, result, &emit);
                    continue;
                }
                let (tx, cx) = (tx.clone(), &cx);
                scope.spawn(move || {
                    let send = |e: EngineEvent| {
                        let _ = tx.send(Msg::Event(e));
                    };
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        Run::new(cx, change, &send).step(change)
                    }))
                    .unwrap_or_else(|_| {
                        Ok(Err(format!("{}: vend failed (a panic) while applying this step", change.address)))
                    });
                    let _ = tx.send(Msg::Done(i, result));
                });
            }
            if walk.in_flight == 0 {
                if progressed {
                    continue;
                }
                // Nothing runs: wait only for a slot a creation outside the plan holds.
                if watching == 0 || !walk.waits_for_creation_slot() {
                    break;
                }
            }
            match rx.recv() {
                Ok(Msg::Event(e)) => emit(e),
                Ok(Msg::Done(i, result)) => walk.finished(i, result, &emit),
                Ok(Msg::OtherCreationEnded) => {
                    watching -= 1;
                    walk.creating -= 1;
                }
                Err(_) => break,
            }
        }
        quit.store(true, Ordering::SeqCst);
    });
    let stopped = walk.stopped;
    let steps_out = walk.report(&emit);
    if let Some(e) = walk.audit_failed {
        return Err(e);
    }
    let report = Report { plan_id: plan.plan_id.clone(), steps: steps_out, stopped };
    let steps = StepCounts {
        succeeded: report.succeeded(),
        failed: report.failed().len(),
        skipped: report.skipped(),
    };
    log.append(AuditEvent {
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

/// Follow an account creation in progress that no step of the plan resumes until it ends
/// (DescribeCreateAccountStatus answers other than IN_PROGRESS, or the request is unknown), at
/// most `options.max_polls` polls, or until `quit`. Giving up frees its slot all the same: a
/// CreateAccount AWS then refuses fails its step with AWS's reason.
fn watch_creation(calls: &Calls, request_id: &str, clock: &dyn Clock, options: &Options, quit: &AtomicBool) {
    let op = Op::DescribeCreateAccountStatus { request_id: request_id.to_string() };
    for _ in 0..options.max_polls {
        if quit.load(Ordering::SeqCst) {
            return;
        }
        match calls.call(&op) {
            Ok(o) if o.status.as_deref() != Some("IN_PROGRESS") => return,
            Err(e) if e.kind == ErrorKind::Hard => return,
            _ => clock.sleep(options.poll_interval_ms),
        }
    }
}

/// The walk over the plan: which steps wait, run and finished, and what became of them.
struct Walk<'p> {
    changes: &'p [&'p Change],
    schedule: Schedule,
    slots: Vec<Slot>,
    reports: Vec<Option<StepReport>>,
    broken: BTreeSet<Address>,
    /// Per phase, the steps of that phase not finished yet (for the removal barrier).
    unfinished: Vec<BTreeSet<usize>>,
    /// The first step that may still be waiting.
    cursor: usize,
    in_flight: usize,
    creating: usize,
    parallelism: usize,
    max_creating: usize,
    shuffle: Option<u64>,
    stopped: bool,
    audit_failed: Option<AuditError>,
}

impl<'p> Walk<'p> {
    fn new(changes: &'p [&'p Change], options: &Options) -> Self {
        let schedule = Schedule::of(changes);
        let mut unfinished = vec![BTreeSet::new(); 32];
        for (i, p) in schedule.phase.iter().enumerate() {
            unfinished[usize::from(*p).min(31)].insert(i);
        }
        // Creations an interrupted apply left in progress count against AWS's limit already.
        let creating = schedule.resumes_creation.iter().filter(|r| **r).count();
        Walk {
            changes,
            schedule,
            slots: vec![Slot::Waiting; changes.len()],
            reports: vec![None; changes.len()],
            broken: BTreeSet::new(),
            unfinished,
            cursor: 0,
            in_flight: 0,
            creating,
            parallelism: options.parallelism.max(1),
            max_creating: options.max_account_creations.max(1),
            shuffle: options.shuffle.map(|s| s | 1),
            stopped: false,
            audit_failed: None,
        }
    }

    /// Does step `i` take an account-creation slot when it starts (a new CreateAccount)?
    fn takes_slot(&self, i: usize) -> bool {
        self.schedule.creates_account[i] && !self.schedule.resumes_creation[i]
    }

    /// Is a step that takes a creation slot still waiting (and the walk not stopped)?
    fn waits_for_creation_slot(&self) -> bool {
        !self.stopped
            && self.audit_failed.is_none()
            && (0..self.changes.len()).any(|i| self.slots[i] == Slot::Waiting && self.takes_slot(i))
    }

    /// May step `i` start now (everything it waits for has finished)?
    fn ready(&self, i: usize) -> bool {
        if self.takes_slot(i) && self.creating >= self.max_creating {
            return false;
        }
        if self.schedule.after[i].iter().any(|&j| self.slots[j] != Slot::Finished) {
            return false;
        }
        match self.schedule.barrier[i] {
            Some(p) => {
                self.unfinished[..usize::from(p).min(31)].iter().all(|s| s.range(..i).next().is_none())
            }
            None => true,
        }
    }

    /// The steps to start now, in the order to start them; skips on the way the steps whose
    /// dependency did not complete. Asks `stop` before each step it would start.
    fn startable(&mut self, stop: &dyn Fn() -> bool, emit: &dyn Fn(EngineEvent)) -> Vec<usize> {
        let mut out = vec![];
        if self.stopped || self.audit_failed.is_some() {
            return out;
        }
        let room = self.parallelism.saturating_sub(self.in_flight);
        let mut creating = self.creating;
        let mut i = self.cursor;
        while i < self.changes.len() && (self.shuffle.is_some() || out.len() < room) {
            if self.slots[i] != Slot::Waiting {
                i += 1;
                continue;
            }
            if stop() {
                self.stopped = true;
                // The steps already chosen start (in plan order; a shuffled choice is dropped).
                if self.shuffle.is_some() {
                    out.clear();
                }
                let waiting = self.slots.iter().filter(|s| **s == Slot::Waiting).count();
                emit(EngineEvent::Stopped {
                    remaining: waiting - out.len(),
                    in_flight: self.in_flight + out.len(),
                });
                return out;
            }
            let c = self.changes[i];
            if let Some(dep) = c.depends_on.iter().find(|d| self.broken.contains(*d)) {
                let because = format!("depends on {dep}, which did not complete");
                self.broken.insert(c.address.clone());
                self.skip(i, because, emit);
                i += 1;
                continue;
            }
            let slot_free = !self.takes_slot(i) || creating < self.max_creating;
            if slot_free && self.ready(i) {
                if self.takes_slot(i) {
                    creating += 1;
                }
                out.push(i);
            } else if self.parallelism == 1 && self.shuffle.is_none() {
                // One at a time is plan order exactly: a creation waiting for a slot that a
                // creation outside the plan holds is not overtaken.
                break;
            }
            i += 1;
        }
        while self.cursor < self.changes.len() && self.slots[self.cursor] != Slot::Waiting {
            self.cursor += 1;
        }
        if let Some(seed) = &mut self.shuffle {
            // Fisher–Yates with xorshift, then as many as there is room for (account creations
            // counted again in the new order).
            for k in (1..out.len()).rev() {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                out.swap(k, (*seed % (k as u64 + 1)) as usize);
            }
            let mut creating = self.creating;
            let takes: Vec<bool> = (0..self.changes.len()).map(|i| self.takes_slot(i)).collect();
            out.retain(|&i| {
                let ok = !takes[i] || creating < self.max_creating;
                if ok && takes[i] {
                    creating += 1;
                }
                ok
            });
            out.truncate(room);
        }
        out
    }

    fn started(&mut self, i: usize) {
        self.slots[i] = Slot::Running;
        self.in_flight += 1;
        if self.takes_slot(i) {
            self.creating += 1;
        }
    }

    fn finished(&mut self, i: usize, result: StepResult, emit: &dyn Fn(EngineEvent)) {
        let c = self.changes[i];
        self.slots[i] = Slot::Finished;
        self.in_flight -= 1;
        if self.schedule.creates_account[i] {
            self.creating -= 1;
        }
        self.unfinished[usize::from(self.schedule.phase[i]).min(31)].remove(&i);
        let address = c.address.to_string();
        let (status, error) = match result {
            Ok(Ok(())) => {
                emit(EngineEvent::StepSucceeded { address: address.clone() });
                (StepStatus::Succeeded, None)
            }
            Ok(Err(e)) => {
                self.broken.insert(c.address.clone());
                emit(EngineEvent::StepFailed { address: address.clone(), error: e.clone() });
                (StepStatus::Failed, Some(e))
            }
            Err(e) => {
                // The log refused a record: nothing more is sent (the caller gets the error).
                self.broken.insert(c.address.clone());
                let error = e.to_string();
                if self.audit_failed.is_none() {
                    self.audit_failed = Some(e);
                }
                (StepStatus::Failed, Some(error))
            }
        };
        self.reports[i] = Some(StepReport { address, action: c.action, status, error });
    }

    fn skip(&mut self, i: usize, because: String, emit: &dyn Fn(EngineEvent)) {
        let c = self.changes[i];
        self.slots[i] = Slot::Finished;
        if self.schedule.resumes_creation[i] {
            // Nobody waits for that request now: its slot is no longer counted (AWS frees it
            // when the creation ends, which this apply no longer follows).
            self.creating -= 1;
        }
        self.unfinished[usize::from(self.schedule.phase[i]).min(31)].remove(&i);
        emit(EngineEvent::StepSkipped { address: c.address.to_string(), because: because.clone() });
        self.reports[i] = Some(StepReport {
            address: c.address.to_string(),
            action: c.action,
            status: StepStatus::Skipped,
            error: Some(because),
        });
    }

    /// Every step in plan order; those never started are skipped as stopped.
    fn report(&mut self, emit: &dyn Fn(EngineEvent)) -> Vec<StepReport> {
        for i in 0..self.changes.len() {
            if self.slots[i] == Slot::Waiting {
                self.skip(i, "not started: the apply was stopped".into(), emit);
            }
        }
        self.reports.iter_mut().filter_map(Option::take).collect()
    }
}
