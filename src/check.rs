//! The plan check (issue 13, "a plan is a promise"): before a plan is called applyable, it is
//! applied — by the same engine, step for step — to a scratch in-process cloud seeded with the
//! state it was planned from (embedded and `--aws` alike). The in-process cloud enforces the AWS
//! rules of `adapter::aws_rules`, so every change meets the state its earlier changes leave
//! behind, with the rules apply will meet. A change the scratch cloud refuses becomes an error
//! diagnostic on that change's address naming the rule (code `apply-would-fail`); the plan is
//! then not applyable. Nothing is written anywhere: no audit record, no file, no AWS call.

use crate::adapter::aws_rules;
use crate::adapter::local_cloud::{LocalCloud, Settings};
use crate::engine::{self, EngineEvent, Options, StepStatus};
use crate::model::{Diagnostic, State};
use crate::plan::{Payload, Plan};
use crate::port::{Audit, AuditError, AuditEvent, Clock, Cloud, CloudError, Op, Outcome};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The diagnostic code of a change the check finds would fail.
pub const CODE: &str = "apply-would-fail";

/// Why a change would fail: the refusal the scratch cloud answered.
#[derive(Debug, Clone, PartialEq)]
struct Refusal {
    op: String,
    error: CloudError,
}

/// The scratch cloud: the in-process cloud, remembering the last refusal per change.
struct Scratch {
    cloud: LocalCloud,
    current: Arc<Mutex<String>>,
    refusals: BTreeMap<String, Refusal>,
}

impl Cloud for Scratch {
    fn read_state(&mut self) -> Result<State, CloudError> {
        self.cloud.read_state()
    }

    fn call(&mut self, op: &Op) -> Result<Outcome, CloudError> {
        let result = self.cloud.call(op);
        let refusal = match &result {
            Err(e) => Some(e.clone()),
            // A failed asynchronous request (an account creation) reports its reason in its
            // status; the table knows those reasons as codes.
            Ok(out) if out.status.as_deref() == Some("FAILED") => {
                let reason = out.result.clone().unwrap_or_default();
                let rule = aws_rules::rules().iter().find(|r| r.code == reason);
                Some(CloudError {
                    rule: rule.map(|r| r.id.clone()),
                    ..CloudError::hard(&reason, format!("the request failed: {reason}"))
                })
            }
            Ok(_) => None,
        };
        if let Some(error) = refusal {
            let current = self.current.lock().map(|c| c.clone()).unwrap_or_default();
            self.refusals.insert(current, Refusal { op: op.name(), error });
        }
        result
    }
}

/// The check writes no audit record.
struct NoRecord;
impl Audit for NoRecord {
    fn append(&mut self, _event: AuditEvent) -> Result<(), AuditError> {
        Ok(())
    }
}

/// The scratch cloud completes asynchronous requests on the first poll: nothing to wait for.
struct NoWait(String);
impl Clock for NoWait {
    fn now(&self) -> String {
        self.0.clone()
    }
    fn sleep(&self, _millis: u64) {}
}

/// Check `plan` against `state` with the in-process cloud's rules and quotas (`settings`): one
/// error diagnostic per change that would fail (none: the plan applies).
pub fn check(plan: &Plan, state: &State, settings: &Settings) -> Vec<Diagnostic> {
    if !plan.has_changes() {
        return vec![];
    }
    let current = Arc::new(Mutex::new(String::new()));
    let mut scratch = Scratch {
        cloud: LocalCloud::in_memory(state.clone())
            .with_settings(Settings { polls_to_complete: 1, ..settings.clone() }),
        current: current.clone(),
        refusals: BTreeMap::new(),
    };
    for c in &plan.changes {
        if let Some(Payload::NewAccount(a)) = &c.after
            && let Some(request) = &a.create_account_request_id
        {
            scratch.cloud.assume_in_flight(request, &a.name, &a.email, &a.tags);
        }
    }
    // One step at a time, in plan order: the refusal of a step is the step's own. Creations in
    // progress outside the plan hold their slots as in a real apply, which waits for them to end
    // rather than going over the limit (here they end at their first poll).
    let options = Options {
        max_attempts: 1,
        backoff_ms: 0,
        max_polls: 4,
        poll_interval_ms: 0,
        max_account_creations: settings.max_account_creations_in_progress,
        creations_in_progress: state.creations_in_progress(),
        ..Options::default()
    };
    let mut on_event = |e: EngineEvent| {
        if let EngineEvent::StepStarted { address, .. } = e
            && let Ok(mut c) = current.lock()
        {
            *c = address;
        }
    };
    let Ok(report) = engine::apply(
        plan,
        &mut scratch,
        &mut NoRecord,
        &NoWait(plan.created_at.clone()),
        &options,
        &mut on_event,
    ) else {
        return vec![]; // NoRecord never fails
    };
    report
        .steps
        .iter()
        .filter(|s| s.status == StepStatus::Failed)
        .map(|s| {
            let step_error = s.error.clone().unwrap_or_default();
            match scratch.refusals.get(&s.address) {
                Some(r) => {
                    let rule = r.error.rule.as_deref().and_then(aws_rules::rule);
                    let why = match rule {
                        Some(rule) => format!(" (rule {}: {})", rule.id, rule.says),
                        None => String::new(),
                    };
                    Diagnostic::error(
                        CODE,
                        format!(
                            "{}: apply would fail: AWS refuses {}: {}: {}{why}",
                            s.address, r.op, r.error.code, r.error.message
                        ),
                    )
                    .on(&s.address)
                    .by_rule(r.error.rule.as_deref())
                }
                None => Diagnostic::error(CODE, format!("{}: apply would fail: {step_error}", s.address))
                    .on(&s.address),
            }
        })
        .collect()
}
