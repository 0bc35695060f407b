//! `update(&mut Model, Msg) -> Vec<Effect>`: every key of every screen, every background result.
//! Pure and synchronous: it changes the model and returns the effects the runtime performs
//! (loads, checks, writes, the apply); results of superseded requests (an older generation)
//! are dropped; a destructive action goes through a typed `Confirm` first. `init` builds the
//! first model. The screens' keys are handled in `plan_keys` and `screen_keys`, with the
//! operations they share in `edit`.

use super::apply::engine_event;
pub use super::edit::selected_change;
use super::edit::{
    load_audit, refresh_exclusions, refresh_rows, relayout_form, set_error, set_status, validate,
};
use super::form;
use super::model::*;
use super::org_keys::{org_key, org_search_key};
use super::plan_keys::{confirm_key, review_input_key, review_key};
use super::screen_keys::{apply_key, audit_key, catalog_key, form_key, metrics_key, stop_apply};
use crate::engine::StepStatus;
use std::collections::BTreeSet;
use std::sync::Arc;

/// A fresh model and the effects that start it (reading the workspace and the state).
pub fn init(label: impl Into<String>, color: bool) -> (Model, Vec<Effect>) {
    let mut m = Model {
        screen: Screen::Plan,
        color,
        label: label.into(),
        now_ms: 0,
        workspace: None,
        loading: Loading::Idle,
        catalog: CatalogView::default(),
        form: Form::default(),
        review: Review::default(),
        apply: None,
        audit: AuditView::default(),
        metrics: MetricsView::default(),
        org: OrgView::default(),
        confirm: None,
        help: false,
        status: None,
        notes: vec![],
        gens: Generations::default(),
        dropped: 0,
        quit: false,
    };
    let load = start_load(&mut m);
    (m, vec![load])
}

impl Model {
    /// A fresh model and the effects that start it (`init`).
    pub fn new(label: impl Into<String>, color: bool) -> (Model, Vec<Effect>) {
        init(label, color)
    }
}

pub fn update(m: &mut Model, msg: Msg) -> Vec<Effect> {
    let new_plan = matches!(msg, Msg::Loaded { .. } | Msg::Submitted { .. });
    let key = matches!(msg, Msg::Key(_));
    let effects = handle(m, msg);
    if new_plan || (key && m.screen == Screen::Plan) {
        refresh_preview(m);
    }
    effects
}

/// Keep the review's preview (the drill-down of the change under the cursor, shown beside the
/// list at 120 columns and more) on the cursor; rebuilt on keys and new plans only.
fn refresh_preview(m: &mut Model) {
    let Some(ws) = m.workspace.clone() else {
        m.review.preview = None;
        return;
    };
    m.review.preview =
        selected_change(m).map(|i| (i, super::review::detail(&ws.plan, i, &m.review.excluded)));
}

fn handle(m: &mut Model, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(k) => key(m, k),
        Msg::Resize => vec![],
        Msg::Tick { now_ms } => {
            m.now_ms = now_ms;
            vec![]
        }
        Msg::Loaded { generation, result } => {
            if generation != m.gens.load {
                m.dropped += 1;
                return vec![];
            }
            match result {
                Ok(ws) => {
                    set_workspace(m, ws);
                    m.loading = Loading::Idle;
                    validate(m)
                }
                Err(e) => {
                    m.loading = Loading::Failed(e);
                    vec![]
                }
            }
        }
        Msg::Validated { generation, checked } => {
            if generation != m.gens.validate {
                m.dropped += 1;
                return vec![];
            }
            m.form.checking = false;
            m.form.checked = Some(checked);
            vec![]
        }
        Msg::Submitted { generation, result } => {
            if generation != m.gens.submit {
                m.dropped += 1;
                return vec![];
            }
            m.form.submitting = false;
            match result {
                Ok((path, ws)) => {
                    let name = form::value(&m.form, &FieldId::Name);
                    set_workspace(m, ws);
                    m.loading = Loading::Idle;
                    // The plan preview: the new request's changes.
                    m.review.filter = name.trim().to_string();
                    m.review.action_filter = None;
                    refresh_rows(m);
                    m.review.detail = None;
                    m.review.effective = None;
                    m.screen = Screen::Plan;
                    set_status(
                        m,
                        format!("Wrote {path}. Plan preview filtered to its name (Esc clears the filter)."),
                    );
                    clear_form_values(m);
                    validate(m)
                }
                Err(e) => {
                    set_error(m, format!("request not written: {e}"));
                    vec![]
                }
            }
        }
        Msg::Saved { result } => {
            match result {
                Ok(SavedPlan { path, author: None }) => {
                    set_status(m, format!("Saved the plan to {path} (with its excluded list)."))
                }
                Ok(SavedPlan { path, author: Some(user) }) => set_status(
                    m,
                    format!(
                        "Saved the plan to {path}, signed by {user} as its author; other operators approve it with `vend approve {path}`."
                    ),
                ),
                Err(e) => set_error(m, format!("saving the plan failed: {e}")),
            }
            vec![]
        }
        Msg::Engine { generation, event, at_ms } => {
            if generation != m.gens.apply {
                m.dropped += 1;
                return vec![];
            }
            if let Some(run) = m.apply.as_mut() {
                engine_event(run, event, at_ms);
            }
            vec![]
        }
        Msg::ApplyDone { generation, result } => {
            if generation != m.gens.apply {
                m.dropped += 1;
                return vec![];
            }
            let now = m.now_ms;
            let Some(run) = m.apply.as_mut() else { return vec![] };
            run.finished_ms = Some(now);
            let text = match result {
                Ok(report) => {
                    let done = report.succeeded();
                    let total = report.steps.len();
                    let text = if report.is_complete() {
                        format!("Apply complete! {done} change(s) applied. The plan is read again.")
                    } else {
                        let failed = report.failed().len();
                        let skipped = report.skipped();
                        format!(
                            "Apply {}: {done} of {total} applied, {failed} failed, {skipped} not applied. The plan is read again: it shows what is left.",
                            if run.stopping { "stopped" } else { "incomplete" }
                        )
                    };
                    // Steps the engine never reported (e.g. before a failure) keep their state.
                    for s in &report.steps {
                        if let Some(v) = run.steps.iter_mut().find(|v| v.address == s.address) {
                            v.state = match s.status {
                                StepStatus::Succeeded => StepState::Done,
                                StepStatus::Failed => StepState::Failed(s.error.clone().unwrap_or_default()),
                                StepStatus::Skipped => {
                                    StepState::Skipped(s.error.clone().unwrap_or_default())
                                }
                            };
                        }
                    }
                    run.report = Some(report);
                    (text, false)
                }
                Err(e) => {
                    run.error = Some(e.clone());
                    (format!("Apply did not run to the end: {e}"), true)
                }
            };
            m.status = Some(Status { text: text.0, error: text.1 });
            vec![start_load(m)]
        }
        Msg::ApplyRefused { generation, reason } => {
            if generation != m.gens.apply {
                m.dropped += 1;
                return vec![];
            }
            let now = m.now_ms;
            let Some(run) = m.apply.as_mut() else { return vec![] };
            run.finished_ms = Some(now);
            run.refused = Some(reason.clone());
            for s in &mut run.steps {
                s.state = StepState::Skipped("not started: the apply was refused".into());
            }
            set_error(m, format!("Apply refused, nothing was sent: {reason}"));
            vec![]
        }
        Msg::AuditLoaded { generation, result } => {
            if generation != m.gens.audit {
                m.dropped += 1;
                return vec![];
            }
            m.audit.loading = false;
            match result {
                Ok(data) => {
                    m.audit.selected = m.audit.selected.min(data.rows.len().saturating_sub(1));
                    m.audit.data = Some(data);
                    m.audit.error = None;
                }
                Err(e) => m.audit.error = Some(e),
            }
            vec![]
        }
        Msg::Notes(notes) => {
            add_notes(m, notes);
            vec![]
        }
    }
}

/// Notes go to the status line, never to the terminal behind the UI: the last one stays there
/// until another message replaces it; every one is kept in `m.notes` for the help to list.
fn add_notes(m: &mut Model, notes: impl IntoIterator<Item = String>) {
    for n in notes {
        let n = n.trim_end().to_string();
        if n.is_empty() {
            continue;
        }
        // One line on the status line; the help shows the note as written.
        set_status(m, n.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" "));
        m.notes.push(n);
    }
}

/// Ask for a fresh read of the workspace and the state.
pub(crate) fn start_load(m: &mut Model) -> Effect {
    let generation = m.next_gen();
    m.gens.load = generation;
    m.loading = Loading::Busy { what: "Reading the workspace and the state…".into(), since_ms: m.now_ms };
    Effect::Load { generation }
}

fn set_workspace(m: &mut Model, ws: Arc<Workspace>) {
    let first = m.workspace.is_none();
    add_notes(m, ws.notes.iter().cloned());
    // Exclusions survive a re-plan when their change is still there.
    let roots: BTreeSet<String> =
        m.review.excluded_roots.iter().filter(|a| ws.plan.change(a).is_some()).cloned().collect();
    m.review.excluded_roots = roots;
    m.review.plan_id = ws.plan.plan_id.clone();
    m.review.detail = None;
    m.review.effective = None;
    let old = m.workspace.take();
    m.org.reset(old.as_ref().map(|w| &w.org), &ws.org);
    m.workspace = Some(ws);
    refresh_exclusions(m);
    refresh_rows(m);
    let (kind, bp) = (form::kind(&m.form), form::value(&m.form, &FieldId::Blueprint));
    relayout_form(m, kind, &bp);
    if first {
        m.catalog.selected = 0;
    }
}

fn clear_form_values(m: &mut Model) {
    let (kind, bp) = (form::kind(&m.form), form::value(&m.form, &FieldId::Blueprint));
    m.form.fields.clear();
    m.form.checked = None;
    relayout_form(m, kind, &bp);
}

fn go(m: &mut Model, screen: Screen) -> Vec<Effect> {
    m.screen = screen;
    m.help = false;
    if screen == Screen::Request && m.form.focus == 0 {
        // Start where typing starts; the kind and blueprint are one line up.
        m.form.focus = m.form.fields.iter().position(|f| f.id == FieldId::Name).unwrap_or(0);
    }
    if matches!(screen, Screen::Audit | Screen::Metrics) {
        return load_audit(m);
    }
    vec![]
}

fn key(m: &mut Model, k: Key) -> Vec<Effect> {
    if m.confirm.is_some() {
        return confirm_key(m, k);
    }
    if m.help {
        if matches!(k, Key::Esc | Key::Char('?') | Key::Char('q') | Key::Enter | Key::F(1)) {
            m.help = false;
        }
        return vec![];
    }
    if k == Key::Ctrl('c') {
        if m.apply_running() {
            return stop_apply(m);
        }
        m.quit = true;
        return vec![Effect::Quit];
    }
    if k == Key::F(1) {
        m.help = true;
        return vec![];
    }
    // Text entry owns the keyboard.
    if m.screen == Screen::Request {
        return form_key(m, k);
    }
    if m.screen == Screen::Plan && (m.review.editing_filter || m.review.save_input.is_some()) {
        return review_input_key(m, k);
    }
    if m.screen == Screen::Org && m.org.editing_search {
        return org_search_key(m, k);
    }
    match k {
        Key::Char('?') => {
            m.help = true;
            return vec![];
        }
        Key::Char('q') => {
            if m.apply_running() {
                set_error(m, "An apply is running: Ctrl-C stops it once the steps in flight finish.");
                return vec![];
            }
            m.quit = true;
            return vec![Effect::Quit];
        }
        Key::Char(c @ '1'..='7') => {
            let i = (c as usize) - ('1' as usize);
            return go(m, Screen::ALL[i]);
        }
        Key::Tab | Key::BackTab => {
            let i = m.screen.number() - 1;
            let n = Screen::ALL.len();
            let next = if k == Key::Tab { (i + 1) % n } else { (i + n - 1) % n };
            return go(m, Screen::ALL[next]);
        }
        Key::Char('r') if !matches!(m.screen, Screen::Audit | Screen::Metrics) => {
            if m.apply_running() {
                set_error(m, "An apply is running; reload when it has finished.");
                return vec![];
            }
            return vec![start_load(m)];
        }
        _ => {}
    }
    match m.screen {
        Screen::Catalog => catalog_key(m, k),
        Screen::Plan => review_key(m, k),
        Screen::Apply => apply_key(m, k),
        Screen::Audit => audit_key(m, k),
        Screen::Metrics => metrics_key(m, k),
        Screen::Org => org_key(m, k),
        Screen::Request => vec![],
    }
}
