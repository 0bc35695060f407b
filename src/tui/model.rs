//! The TUI's state and vocabulary: `Model` (the one owner of UI state), the closed `Msg` enum
//! (keys, ticks, background results), the `Effect`s `update` asks the runtime to perform, and
//! the state of the plan and audit screens. The other screens' state lives in their modules
//! (`catalog`, `form`, `apply`; `TextView` in `text`) and is re-exported here. Plain data: no
//! terminal, no threads, no files, no clock (time arrives in `Msg::Tick`), and no `update`
//! (`update::init` builds the first model). Every background result carries the generation of
//! the request that asked for it, so `update` can drop results of superseded requests.

pub use super::apply::{ApplyRun, StepState, StepView};
pub use super::catalog::{BlueprintEntry, Catalog, CatalogView, ParamInfo, VersionEntry};
pub use super::form::{FieldId, Form, FormField};
pub use super::org::{Org, OrgView};
pub use super::text::TextView;
use crate::engine::{EngineEvent, Report};
use crate::model::State;
use crate::plan::{Action, Kind, Plan, Summary};
use crate::request::{Checked, Request};
use crate::workspace::{Files, Loaded};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A key press, independent of the terminal library (the runtime converts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Ctrl(char),
    Enter,
    Esc,
    Tab,
    BackTab,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    Backspace,
    F(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Catalog,
    Request,
    Plan,
    Apply,
    Audit,
    Metrics,
    /// The organization: OU tree, accounts, pipelines, SCPs, what the plan changes.
    Org,
}

impl Screen {
    pub const ALL: [Screen; 7] = [
        Screen::Catalog,
        Screen::Request,
        Screen::Plan,
        Screen::Apply,
        Screen::Audit,
        Screen::Metrics,
        Screen::Org,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Screen::Catalog => "Catalog",
            Screen::Request => "Request",
            Screen::Plan => "Plan",
            Screen::Apply => "Apply",
            Screen::Audit => "Audit",
            Screen::Metrics => "Metrics",
            Screen::Org => "Org",
        }
    }

    pub fn number(self) -> usize {
        Screen::ALL.iter().position(|s| *s == self).map(|i| i + 1).unwrap_or(1)
    }
}

/// Everything one background load produced: the workspace, the state, the plan and the catalog.
#[derive(Debug)]
pub struct Workspace {
    pub files: Files,
    pub loaded: Loaded,
    pub state: State,
    pub plan: Plan,
    pub catalog: Catalog,
    /// The organization tree of `state`, with `plan`'s changes on its nodes.
    pub org: Org,
    /// Where the state came from, for the header (`local state file`, `AWS`).
    pub source: String,
    /// Things to tell the user (seeding of the local state), shown as `Msg::Notes` are.
    pub notes: Vec<String>,
}

impl Workspace {
    pub fn new(files: Files, loaded: Loaded, state: State, plan: Plan, source: String) -> Workspace {
        let catalog = super::catalog::build(&files, &loaded);
        let org = super::org::build(&state, &plan, &loaded);
        Workspace { files, loaded, state, plan, catalog, org, source, notes: vec![] }
    }
}

/// A background job that has not answered yet, or failed.
#[derive(Debug, Clone, PartialEq)]
pub enum Loading {
    Idle,
    Busy { what: String, since_ms: u64 },
    Failed(String),
}

/// The audit log as the audit and metrics screens show it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditData {
    pub path: String,
    pub rows: Vec<AuditRow>,
    /// `Ok(summary)` when the chain verifies, `Err(what is wrong)` otherwise.
    pub chain: Result<String, String>,
    /// The delivery metrics of these records (`metrics::compute`, as `vend metrics`).
    pub metrics: crate::metrics::Metrics,
}

/// A plan the runtime wrote for `Effect::SavePlan`.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedPlan {
    /// Where it was written.
    pub path: String,
    /// The operator recorded as the plan's `author` (when the workspace requires approvals).
    pub author: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditRow {
    pub seq: u64,
    pub ts: String,
    pub actor: String,
    pub plan_id: String,
    pub event: String,
    pub address: String,
    /// The whole record, pretty JSON.
    pub detail: String,
}

/// Messages: everything that can happen to the UI.
#[derive(Debug)]
pub enum Msg {
    Key(Key),
    /// The terminal was resized (the next frame adapts; nothing to store).
    Resize,
    /// Time passes: milliseconds since the UI started.
    Tick {
        now_ms: u64,
    },
    Loaded {
        generation: u64,
        result: Result<Arc<Workspace>, String>,
    },
    Validated {
        generation: u64,
        checked: Checked,
    },
    Submitted {
        generation: u64,
        result: Result<(String, Arc<Workspace>), String>,
    },
    Saved {
        result: Result<SavedPlan, String>,
    },
    /// An event of the running apply, and when it happened (milliseconds since the UI started,
    /// the clock of `Tick`), so the steps in flight show their elapsed time.
    Engine {
        generation: u64,
        event: EngineEvent,
        at_ms: u64,
    },
    ApplyDone {
        generation: u64,
        result: Result<Report, String>,
    },
    /// The checks before an apply (`governance::before_apply`: required approvals, the rolling
    /// 30-day close quota) refused it: nothing was sent.
    ApplyRefused {
        generation: u64,
        reason: String,
    },
    AuditLoaded {
        generation: u64,
        result: Result<AuditData, String>,
    },
    /// Notes the work behind the UI produced (the state file seeded, where the operator key
    /// lives, AWS credentials, locks, …): what the CLI prints on stderr. Nothing is written to
    /// the terminal behind the UI; the last note goes to the status line, every one to `notes`.
    Notes(Vec<String>),
}

/// What `update` asks the runtime to do.
#[derive(Debug)]
pub enum Effect {
    /// Read the workspace and the state, plan, and answer `Msg::Loaded`.
    Load {
        generation: u64,
    },
    /// Check a request against `base` and answer `Msg::Validated`.
    Validate {
        generation: u64,
        request: Request,
        base: Arc<Workspace>,
    },
    /// Check and write a request, log it, reload, and answer `Msg::Submitted`.
    Submit {
        generation: u64,
        request: Request,
    },
    /// Write the plan (with its `excluded` list) to `path` (relative to the workspace); when
    /// the workspace requires approvals, sign it as its author first (as `vend plan --out`).
    SavePlan {
        path: String,
        plan: Box<Plan>,
        required_approvals: u32,
    },
    /// Apply the plan (its `excluded` list honoured) once the checks before an apply pass
    /// (else `Msg::ApplyRefused`), streaming `Msg::Engine`, then `ApplyDone`.
    Apply {
        generation: u64,
        plan: Box<Plan>,
    },
    /// Stop the running apply: no new step starts, the steps in flight finish.
    StopApply,
    LoadAudit {
        generation: u64,
    },
    Quit,
}

/// A destructive action waiting for its typed confirmation (`Confirm` -> `Confirmed`).
#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    pub action: ConfirmAction,
    /// What to type, in order: `yes`, then each closed account's name.
    pub prompts: Vec<Prompt>,
    pub step: usize,
    pub input: String,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConfirmAction {
    /// Apply this plan (its `excluded` list set).
    Apply(Box<Plan>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    pub text: String,
    pub expected: String,
}

/// One row of the plan list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    /// A kind heading with how many changes it holds (after filtering).
    Kind { kind: Kind, count: usize },
    /// An OU / portfolio / account group inside a kind.
    Group { label: String, count: usize },
    /// A change: index into `plan.changes`.
    Change(usize),
}

/// Plan review state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Review {
    /// The plan the rows were computed for.
    pub plan_id: String,
    pub rows: Vec<Row>,
    /// Index into `rows` (always a `Row::Change` when there is one).
    pub selected: usize,
    pub filter: String,
    pub editing_filter: bool,
    pub action_filter: Option<Action>,
    /// Changes the reviewer excluded.
    pub excluded_roots: BTreeSet<String>,
    /// Every excluded change -> the excluded root it goes with (itself for a root).
    pub excluded: BTreeMap<String, String>,
    /// Summary of the changes that would be applied.
    pub included: Summary,
    /// Drill-down: the change shown and its lines.
    pub detail: Option<TextView>,
    /// The drill-down of the change under the cursor (its index and lines), kept current by
    /// `update`: the right half of the review at 120 columns and more.
    pub preview: Option<(usize, TextView)>,
    /// The plan's effective-SCP preview (before -> after per touched account), when open.
    pub effective: Option<TextView>,
    /// `Some(path)` while the reviewer types where to save the plan.
    pub save_input: Option<String>,
}

/// Audit screen state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditView {
    pub data: Option<AuditData>,
    pub loading: bool,
    pub error: Option<String>,
    pub selected: usize,
    pub detail: Option<TextView>,
}

/// Metrics screen state (its data is the audit screen's `AuditData::metrics`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsView {
    /// First lead-time row shown.
    pub scroll: usize,
}

/// The generation each kind of background request expects; older answers are dropped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Generations {
    pub next: u64,
    pub load: u64,
    pub validate: u64,
    pub submit: u64,
    pub apply: u64,
    pub audit: u64,
}

/// A line for the status bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub text: String,
    pub error: bool,
}

/// The one owner of UI state.
#[derive(Debug)]
pub struct Model {
    pub screen: Screen,
    pub color: bool,
    /// Workspace folder and backend, for the title bar.
    pub label: String,
    pub now_ms: u64,
    pub workspace: Option<Arc<Workspace>>,
    pub loading: Loading,
    pub catalog: CatalogView,
    pub form: Form,
    pub review: Review,
    pub apply: Option<ApplyRun>,
    pub audit: AuditView,
    pub metrics: MetricsView,
    pub org: OrgView,
    pub confirm: Option<Confirm>,
    pub help: bool,
    pub status: Option<Status>,
    /// Every note of this run, oldest first (`Msg::Notes`; the help lists the latest).
    pub notes: Vec<String>,
    pub gens: Generations,
    /// Results dropped because a newer request superseded them (for tests and the curious).
    pub dropped: u64,
    pub quit: bool,
}

impl Model {
    pub fn plan(&self) -> Option<&Plan> {
        self.workspace.as_ref().map(|w| &w.plan)
    }

    pub fn apply_running(&self) -> bool {
        self.apply.as_ref().is_some_and(ApplyRun::running)
    }

    pub(crate) fn next_gen(&mut self) -> u64 {
        self.gens.next += 1;
        self.gens.next
    }
}
