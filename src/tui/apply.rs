//! The apply screen's state: `ApplyRun` (the steps of the running or finished apply and their
//! states, and the `render::progress::Progress` of the steps in flight), how the engine's
//! events move it (`engine_event`, each stamped with when it happened), the screen's step lines,
//! in-flight lines and footer as styled text, and the summary of a plan the confirmation shows.
//! Pure: it never starts an apply (that is an `Effect` of `update`) and draws nothing (`view`
//! does).

use super::text::mmss;
use crate::engine::{EngineEvent, Report};
use crate::plan::{Action, Plan, Summary};
use crate::render::progress::Progress;
use crate::render::{self, Line, Tone};

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
    /// The steps in flight (with when each started) and the counts, from the engine's events.
    pub progress: Progress,
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

pub(super) fn engine_event(run: &mut ApplyRun, e: EngineEvent, at_ms: u64) {
    run.progress.apply(&e, at_ms);
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

/// A step's line on the apply screen; `spin` is the spinner's frame, shown while it runs.
pub fn step_line(s: &StepView, spin: &str) -> Line {
    let (word, tone, extra) = match &s.state {
        StepState::Pending => ("pending".to_string(), Tone::Muted, String::new()),
        StepState::Running => (format!("running {spin}"), Tone::Heading, s.note.clone()),
        StepState::Polling(st) => ("polling".to_string(), Tone::Update, st.clone()),
        StepState::Done => ("done".to_string(), Tone::Create, String::new()),
        StepState::Failed(e) => ("FAILED".to_string(), Tone::Error, e.clone()),
        StepState::Skipped(why) => ("skipped".to_string(), Tone::Warning, why.clone()),
    };
    let mut l = Line::new()
        .push(format!("{word:<10} "), tone)
        .push(format!("{:>3} ", render::symbol(s.action)), render::tone(s.action))
        .push(s.address.clone(), Tone::Plain);
    if !extra.is_empty() {
        l = l.push(format!("  {extra}"), Tone::Muted);
    }
    l
}

/// The lines under the steps: why the apply was refused, what a finished apply did and left
/// (`done` steps in `elapsed_ms`), or that it is stopping.
pub fn footer(run: &ApplyRun, done: usize, elapsed_ms: u64) -> Vec<Line> {
    let mut fl = vec![];
    if let Some(why) = &run.refused {
        fl.push(
            Line::new()
                .push("Apply refused before anything was sent: ", Tone::Error)
                .push(why.clone(), Tone::Plain),
        );
        fl.push(Line::new().push(
            "Nothing changed: the plan (3) is as it was. The checks are vend.yaml's required_approvals and close_quota_30d.",
            Tone::Muted,
        ));
    } else if !run.running() {
        let left: Vec<&str> = run
            .steps
            .iter()
            .filter(|s| !matches!(s.state, StepState::Done))
            .map(|s| s.address.as_str())
            .collect();
        if left.is_empty() {
            fl.push(Line::new().push(
                format!("Apply complete! {done} change(s) applied in {}.", mmss(elapsed_ms)),
                Tone::Create,
            ));
        } else {
            fl.push(
                Line::new().push(format!("Not applied ({}): {}", left.len(), left.join(", ")), Tone::Warning),
            );
        }
        if let Some(e) = &run.error {
            fl.push(Line::new().push(e.clone(), Tone::Error));
        }
        fl.push(Line::new().push(
            "The state and the audit log hold what happened; the plan (3) shows what is left.",
            Tone::Muted,
        ));
    } else if run.stopping {
        fl.push(Line::new().push(stopping_text(run), Tone::Warning));
    }
    fl
}

/// What a stop asked for while the apply runs means now: the steps in flight finish, the
/// pending ones will not start.
pub fn stopping_text(run: &ApplyRun) -> String {
    let pending = run.count(|s| matches!(s, StepState::Pending));
    let in_flight = run.progress.in_flight().len();
    format!("Stopping: {in_flight} step(s) in flight finish, {pending} step(s) will not start.")
}
