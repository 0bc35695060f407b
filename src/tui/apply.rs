//! The apply screen's state: `ApplyRun` (the steps of the running or finished apply and their
//! states), how the engine's events move it (`engine_event`), and the summary of a plan the
//! confirmation shows. Pure: it never starts an apply (that is an `Effect` of `update`) and
//! draws nothing.

use crate::engine::{EngineEvent, Report};
use crate::plan::{Action, Plan, Summary};

/// One step of a running apply.
#[derive(Debug, Clone, PartialEq)]
pub struct StepView {
    pub address: String,
    pub action: Action,
    pub state: StepState,
    /// The last call or retry, for the curious.
    pub note: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepState {
    Pending,
    Running,
    Polling(String),
    Done,
    Failed(String),
    Skipped(String),
}

/// Apply screen state.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyRun {
    pub plan_id: String,
    pub steps: Vec<StepView>,
    /// Changes left out by the reviewer (with their dependents).
    pub excluded: usize,
    pub started_ms: u64,
    pub finished_ms: Option<u64>,
    pub stopping: bool,
    pub report: Option<Report>,
    pub error: Option<String>,
    /// Why the checks before the apply refused it (nothing was sent).
    pub refused: Option<String>,
    /// Index of the first step shown.
    pub scroll: usize,
}

impl ApplyRun {
    pub fn running(&self) -> bool {
        self.finished_ms.is_none()
    }
    pub fn count(&self, f: impl Fn(&StepState) -> bool) -> usize {
        self.steps.iter().filter(|s| f(&s.state)).count()
    }
}

pub(super) fn engine_event(run: &mut ApplyRun, e: EngineEvent) {
    let find = |run: &mut ApplyRun, a: &str| run.steps.iter().position(|s| s.address == a);
    match e {
        EngineEvent::StepStarted { address, .. } => {
            if let Some(i) = find(run, &address) {
                run.steps[i].state = StepState::Running;
                // Keep the running step in view.
                if i >= run.scroll + 8 {
                    run.scroll = i.saturating_sub(4);
                }
            }
        }
        EngineEvent::Called { address, op, request_id } => {
            if let Some(i) = find(run, &address) {
                run.steps[i].note = format!("{op} (request {request_id})");
            }
        }
        EngineEvent::Retrying { address, op, attempt, error } => {
            if let Some(i) = find(run, &address) {
                run.steps[i].note = format!("{op}: {error}; retrying (attempt {})", attempt + 1);
            }
        }
        EngineEvent::Polled { address, status } => {
            if let Some(i) = find(run, &address) {
                run.steps[i].state = StepState::Polling(status);
            }
        }
        EngineEvent::StepSucceeded { address } => {
            if let Some(i) = find(run, &address) {
                run.steps[i].state = StepState::Done;
            }
        }
        EngineEvent::StepFailed { address, error } => {
            if let Some(i) = find(run, &address) {
                run.steps[i].state = StepState::Failed(error);
            }
        }
        EngineEvent::StepSkipped { address, because } => {
            if let Some(i) = find(run, &address) {
                run.steps[i].state = StepState::Skipped(because);
            }
        }
        EngineEvent::Stopped { .. } => run.stopping = true,
    }
}

pub(super) fn summary_of(plan: &Plan) -> (Summary, usize) {
    let excluded = crate::engine::excluded_closure(plan);
    let kept: Vec<crate::plan::Change> =
        plan.changes.iter().filter(|c| !excluded.contains(&c.address)).cloned().collect();
    (Summary::of(&kept), excluded.len())
}
