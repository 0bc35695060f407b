//! `update(&mut Model, Msg) -> Vec<Effect>`: every key of every screen, every background result.
//! Pure and synchronous: it changes the model and returns the effects the runtime performs
//! (loads, checks, writes, the apply); results of superseded requests (an older generation)
//! are dropped; a destructive action goes through a typed `Confirm` first.

use super::model::*;
use super::{catalog, form, review};
use crate::engine::{EngineEvent, StepStatus};
use crate::plan::Action;
use crate::request::RequestKind;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Rows a page key moves.
const PAGE: usize = 10;

pub fn update(m: &mut Model, msg: Msg) -> Vec<Effect> {
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
        Msg::Engine { generation, event } => {
            if generation != m.gens.apply {
                m.dropped += 1;
                return vec![];
            }
            if let Some(run) = m.apply.as_mut() {
                engine_event(run, event);
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
    }
}

/// Ask for a fresh read of the workspace and the state.
pub(crate) fn start_load(m: &mut Model) -> Effect {
    let generation = m.next_gen();
    m.gens.load = generation;
    m.loading = Loading::Busy { what: "Reading the workspace and the state…".into(), since_ms: m.now_ms };
    Effect::Load { generation }
}

fn set_status(m: &mut Model, text: impl Into<String>) {
    m.status = Some(Status { text: text.into(), error: false });
}

fn set_error(m: &mut Model, text: impl Into<String>) {
    m.status = Some(Status { text: text.into(), error: true });
}

fn set_workspace(m: &mut Model, ws: Arc<Workspace>) {
    let first = m.workspace.is_none();
    for n in &ws.notes {
        set_status(m, n.clone());
    }
    // Exclusions survive a re-plan when their change is still there.
    let roots: BTreeSet<String> =
        m.review.excluded_roots.iter().filter(|a| ws.plan.change(a).is_some()).cloned().collect();
    m.review.excluded_roots = roots;
    m.review.plan_id = ws.plan.plan_id.clone();
    m.review.detail = None;
    m.review.effective = None;
    m.workspace = Some(ws);
    refresh_exclusions(m);
    refresh_rows(m);
    let (kind, bp) = (form::kind(&m.form), form::value(&m.form, &FieldId::Blueprint));
    relayout_form(m, kind, &bp);
    if first {
        m.catalog.selected = 0;
    }
}

fn refresh_rows(m: &mut Model) {
    let Some(ws) = m.workspace.clone() else { return };
    let keep = selected_change(m);
    m.review.rows = review::rows(&ws.plan, &m.review.filter, m.review.action_filter);
    m.review.selected = keep
        .and_then(|i| m.review.rows.iter().position(|r| *r == Row::Change(i)))
        .or_else(|| m.review.rows.iter().position(|r| matches!(r, Row::Change(_))))
        .unwrap_or(0);
}

fn refresh_exclusions(m: &mut Model) {
    let Some(ws) = m.workspace.clone() else { return };
    m.review.excluded = review::exclusions(&ws.plan, &m.review.excluded_roots);
    m.review.included = review::included_summary(&ws.plan, &m.review.excluded);
}

/// The change index under the cursor.
pub fn selected_change(m: &Model) -> Option<usize> {
    match m.review.rows.get(m.review.selected) {
        Some(Row::Change(i)) => Some(*i),
        _ => None,
    }
}

fn relayout_form(m: &mut Model, kind: RequestKind, blueprint: &str) {
    let Some(ws) = m.workspace.clone() else { return };
    let focus_id = m.form.fields.get(m.form.focus).map(|f| f.id.clone());
    m.form.fields = form::layout(&ws.catalog, kind, blueprint, &m.form.fields);
    m.form.focus = focus_id.and_then(|id| m.form.fields.iter().position(|f| f.id == id)).unwrap_or(0);
}

fn clear_form_values(m: &mut Model) {
    let (kind, bp) = (form::kind(&m.form), form::value(&m.form, &FieldId::Blueprint));
    m.form.fields.clear();
    m.form.checked = None;
    relayout_form(m, kind, &bp);
}

/// Check the request as typed, in the background.
fn validate(m: &mut Model) -> Vec<Effect> {
    let Some(base) = m.workspace.clone() else { return vec![] };
    if m.form.fields.is_empty() {
        return vec![];
    }
    let generation = m.next_gen();
    m.gens.validate = generation;
    m.form.checking = true;
    vec![Effect::Validate { generation, request: form::to_request(&m.form), base }]
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

fn load_audit(m: &mut Model) -> Vec<Effect> {
    let generation = m.next_gen();
    m.gens.audit = generation;
    m.audit.loading = true;
    vec![Effect::LoadAudit { generation }]
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
    match k {
        Key::Char('?') => {
            m.help = true;
            return vec![];
        }
        Key::Char('q') => {
            if m.apply_running() {
                set_error(m, "An apply is running: Ctrl-C stops it after the running step.");
                return vec![];
            }
            m.quit = true;
            return vec![Effect::Quit];
        }
        Key::Char(c @ '1'..='6') => {
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
        Screen::Request => vec![],
    }
}

/// Up/down/page/home/end on a list of `len` items.
fn nav(k: Key, at: usize, len: usize) -> Option<usize> {
    if len == 0 {
        return None;
    }
    let last = len - 1;
    Some(match k {
        Key::Down | Key::Char('j') => (at + 1).min(last),
        Key::Up | Key::Char('k') => at.saturating_sub(1),
        Key::PageDown | Key::Ctrl('d') => (at + PAGE).min(last),
        Key::PageUp | Key::Ctrl('u') => at.saturating_sub(PAGE),
        Key::Home | Key::Char('g') => 0,
        Key::End | Key::Char('G') => last,
        _ => return None,
    })
}

fn scroll_text(view: &mut TextView, k: Key) -> bool {
    match nav(k, view.scroll, view.lines.len()) {
        Some(s) => {
            view.scroll = s;
            true
        }
        None => false,
    }
}

fn catalog_key(m: &mut Model, k: Key) -> Vec<Effect> {
    let Some(ws) = m.workspace.clone() else { return vec![] };
    if let Some(diff) = m.catalog.diff.as_mut() {
        if matches!(k, Key::Esc | Key::Char('h') | Key::Left | Key::Char('d')) {
            m.catalog.diff = None;
        } else {
            scroll_text(diff, k);
        }
        return vec![];
    }
    let rows = catalog::rows(&ws.catalog);
    if let Some(s) = nav(k, m.catalog.selected, rows.len()) {
        m.catalog.selected = s;
        return vec![];
    }
    let Some(&(b, v)) = rows.get(m.catalog.selected) else { return vec![] };
    let bp = &ws.catalog.blueprints[b];
    match (k, v) {
        (Key::Char('m'), Some(v)) => {
            m.catalog.mark = Some((b, v));
            set_status(
                m,
                format!(
                    "Marked {}@{} as the diff base; select another version and press d.",
                    bp.name, bp.versions[v].name
                ),
            );
        }
        (Key::Char('d'), Some(v)) => {
            let base = match m.catalog.mark {
                Some((mb, mv)) if mb == b && mv != v => Some(mv),
                _ if v > 0 => Some(v - 1),
                _ => None,
            };
            match base {
                Some(base) => m.catalog.diff = Some(catalog::diff(bp, base, v)),
                None => set_error(
                    m,
                    format!(
                        "{}@{} is the first version: mark another with m to compare.",
                        bp.name, bp.versions[v].name
                    ),
                ),
            }
        }
        (Key::Char('n') | Key::Enter, Some(v)) => {
            let version = &bp.versions[v];
            if !version.published {
                set_error(
                    m,
                    format!("{}@{} is not published: it cannot be requested.", bp.name, version.name),
                );
                return vec![];
            }
            let reference = format!("{}@{}", bp.name, version.name);
            let kind = bp.kind;
            relayout_form(m, kind, &reference);
            m.form.focus = m.form.fields.iter().position(|f| f.id == FieldId::Name).unwrap_or(0);
            m.screen = Screen::Request;
            return validate(m);
        }
        (Key::Esc, _) => m.catalog.mark = None,
        _ => {}
    }
    vec![]
}

fn form_key(m: &mut Model, k: Key) -> Vec<Effect> {
    if m.workspace.is_none() {
        if matches!(k, Key::Esc) {
            m.screen = Screen::Plan;
        }
        return vec![];
    }
    let n = m.form.fields.len();
    if n == 0 {
        return vec![];
    }
    let focus = m.form.focus.min(n - 1);
    let is_choice = !m.form.fields[focus].choices.is_empty();
    let id = m.form.fields[focus].id.clone();
    match k {
        Key::Esc => {
            m.screen = Screen::Catalog;
            vec![]
        }
        Key::Down | Key::Tab => {
            m.form.focus = (focus + 1) % n;
            vec![]
        }
        Key::Up | Key::BackTab => {
            m.form.focus = (focus + n - 1) % n;
            vec![]
        }
        Key::Ctrl('s') => submit(m),
        Key::Enter if id == FieldId::Submit => submit(m),
        Key::Enter => {
            m.form.focus = (focus + 1) % n;
            vec![]
        }
        Key::Left | Key::Right | Key::Char(' ') if is_choice => {
            let f = &mut m.form.fields[focus];
            let at = f.choices.iter().position(|c| *c == f.value).unwrap_or(0);
            let len = f.choices.len();
            let next = if k == Key::Left { (at + len - 1) % len } else { (at + 1) % len };
            f.value = f.choices[next].clone();
            let value = f.value.clone();
            match id {
                FieldId::Kind => {
                    let kind = if value == "pipeline" { RequestKind::Pipeline } else { RequestKind::Account };
                    relayout_form(m, kind, "");
                }
                FieldId::Blueprint => {
                    let kind = form::kind(&m.form);
                    relayout_form(m, kind, &value);
                }
                _ => {}
            }
            validate(m)
        }
        Key::Char(c) if !is_choice && id != FieldId::Submit => {
            m.form.fields[focus].value.push(c);
            validate(m)
        }
        Key::Backspace if !is_choice => {
            m.form.fields[focus].value.pop();
            validate(m)
        }
        Key::Ctrl('u') if !is_choice => {
            m.form.fields[focus].value.clear();
            validate(m)
        }
        _ => vec![],
    }
}

fn submit(m: &mut Model) -> Vec<Effect> {
    if m.form.submitting {
        return vec![];
    }
    if let Some(c) = &m.form.checked
        && !c.is_valid()
    {
        let n = c.errors();
        set_error(m, format!("The request has {n} error(s); fix them first (shown under the fields)."));
        return vec![];
    }
    let generation = m.next_gen();
    m.gens.submit = generation;
    m.form.submitting = true;
    set_status(m, "Writing the request and planning…");
    vec![Effect::Submit { generation, request: form::to_request(&m.form) }]
}

fn review_input_key(m: &mut Model, k: Key) -> Vec<Effect> {
    if let Some(path) = m.review.save_input.as_mut() {
        match k {
            Key::Esc => m.review.save_input = None,
            Key::Backspace => {
                path.pop();
            }
            Key::Char(c) => path.push(c),
            Key::Enter => {
                let path = path.trim().to_string();
                m.review.save_input = None;
                let Some(ws) = m.workspace.clone() else { return vec![] };
                if path.is_empty() {
                    set_error(m, "No file name given; the plan was not saved.");
                    return vec![];
                }
                let plan = review::with_exclusions(&ws.plan, &m.review.excluded);
                let required_approvals = ws.loaded.desired.settings.required_approvals;
                return vec![Effect::SavePlan { path, plan: Box::new(plan), required_approvals }];
            }
            _ => {}
        }
        return vec![];
    }
    match k {
        Key::Esc => {
            m.review.editing_filter = false;
            m.review.filter.clear();
            refresh_rows(m);
        }
        Key::Enter => m.review.editing_filter = false,
        Key::Backspace => {
            m.review.filter.pop();
            refresh_rows(m);
        }
        Key::Char(c) => {
            m.review.filter.push(c);
            refresh_rows(m);
        }
        _ => {}
    }
    vec![]
}

fn review_key(m: &mut Model, k: Key) -> Vec<Effect> {
    let Some(ws) = m.workspace.clone() else { return vec![] };
    if let Some(view) = m.review.effective.as_mut() {
        if matches!(k, Key::Esc | Key::Char('h') | Key::Left | Key::Char('e')) {
            m.review.effective = None;
        } else {
            scroll_text(view, k);
        }
        return vec![];
    }
    if let Some(detail) = m.review.detail.as_mut() {
        match k {
            Key::Esc | Key::Char('h') | Key::Left => m.review.detail = None,
            Key::Char(' ') | Key::Char('x') => {
                toggle_exclusion(m);
                if let Some(i) = selected_change(m) {
                    m.review.detail = Some(review::detail(&ws.plan, i, &m.review.excluded));
                }
            }
            _ => {
                scroll_text(detail, k);
            }
        }
        return vec![];
    }
    // Moves land on changes, never on headings.
    let rows = &m.review.rows;
    let is_change = |i: usize| matches!(rows.get(i), Some(Row::Change(_)));
    if let Some(to) = nav(k, m.review.selected, rows.len()) {
        let down = to >= m.review.selected;
        let mut i = to;
        while !is_change(i) {
            if down {
                if i + 1 >= rows.len() {
                    break;
                }
                i += 1;
            } else {
                if i == 0 {
                    break;
                }
                i -= 1;
            }
        }
        if !is_change(i) {
            // Nothing further that way: search back the other way from the target.
            i = (0..rows.len())
                .rev()
                .find(|&j| j <= to && is_change(j))
                .or_else(|| (to..rows.len()).find(|&j| is_change(j)))
                .unwrap_or(m.review.selected);
        }
        m.review.selected = i;
        return vec![];
    }
    match k {
        Key::Enter | Key::Char('l') | Key::Right => {
            if let Some(i) = selected_change(m) {
                m.review.detail = Some(review::detail(&ws.plan, i, &m.review.excluded));
            }
        }
        Key::Char(' ') | Key::Char('x') => toggle_exclusion(m),
        Key::Char('X') => {
            m.review.excluded_roots.clear();
            refresh_exclusions(m);
            set_status(m, "Every change is included again.");
        }
        Key::Char('/') => {
            m.review.editing_filter = true;
        }
        Key::Char('f') => {
            let all = Action::ALL;
            let present: Vec<Action> = all.into_iter().filter(|a| ws.plan.summary.get(*a) > 0).collect();
            m.review.action_filter = match m.review.action_filter {
                None => present.first().copied(),
                Some(a) => present.iter().position(|x| *x == a).and_then(|i| present.get(i + 1).copied()),
            };
            refresh_rows(m);
        }
        Key::Esc => {
            m.review.filter.clear();
            m.review.action_filter = None;
            refresh_rows(m);
        }
        Key::Char('e') => match review::effective(&ws.plan, &ws.state, &m.review.excluded) {
            Some(view) => m.review.effective = Some(view),
            None => set_status(m, "The plan changes no existing account's effective SCPs."),
        },
        Key::Char('s') => m.review.save_input = Some("plan.json".into()),
        Key::Char('a') => return ask_apply(m),
        _ => {}
    }
    vec![]
}

fn toggle_exclusion(m: &mut Model) {
    let Some(ws) = m.workspace.clone() else { return };
    let Some(i) = selected_change(m) else { return };
    let address = ws.plan.changes[i].address.to_string();
    if m.review.excluded_roots.remove(&address) {
        refresh_exclusions(m);
        set_status(m, format!("Included {address} again."));
        return;
    }
    if let Some(root) = m.review.excluded.get(&address).cloned() {
        set_error(
            m,
            format!("{address} is excluded because it depends on {root}; include {root} to bring it back."),
        );
        return;
    }
    m.review.excluded_roots.insert(address.clone());
    refresh_exclusions(m);
    let with: Vec<String> = m
        .review
        .excluded
        .iter()
        .filter(|(a, r)| **r == address && **a != address)
        .map(|(a, _)| a.clone())
        .collect();
    if with.is_empty() {
        set_status(m, format!("Excluded {address}."));
    } else {
        set_status(
            m,
            format!(
                "Excluded {address} and {} change(s) that depend on it: {}.",
                with.len(),
                with.join(", ")
            ),
        );
    }
}

fn ask_apply(m: &mut Model) -> Vec<Effect> {
    let Some(ws) = m.workspace.clone() else { return vec![] };
    if m.apply_running() {
        set_error(m, "An apply is already running.");
        return vec![];
    }
    if !matches!(m.loading, Loading::Idle) {
        set_error(m, "The plan is being read again; wait for it.");
        return vec![];
    }
    if !ws.plan.applyable {
        set_error(m, "This plan has errors and cannot be applied; fix them and reload (r).");
        return vec![];
    }
    let plan = review::with_exclusions(&ws.plan, &m.review.excluded);
    let included: Vec<&crate::plan::Change> =
        plan.changes.iter().filter(|c| !m.review.excluded.contains_key(c.address.as_str())).collect();
    if included.is_empty() {
        set_error(m, "Nothing to apply: no changes, or all of them excluded.");
        return vec![];
    }
    let mut prompts =
        vec![Prompt { text: "Type yes to apply these changes:".into(), expected: "yes".into() }];
    for c in included.iter().filter(|c| c.action == Action::Close) {
        let name = c.address.trim_start_matches("account:").to_string();
        prompts.push(Prompt {
            text: format!("Closing account '{name}' cannot be undone by vend. Type its name:"),
            expected: name,
        });
    }
    m.confirm = Some(Confirm {
        action: ConfirmAction::Apply(Box::new(plan)),
        prompts,
        step: 0,
        input: String::new(),
        error: None,
    });
    vec![]
}

fn confirm_key(m: &mut Model, k: Key) -> Vec<Effect> {
    let Some(c) = m.confirm.as_mut() else { return vec![] };
    match k {
        Key::Esc | Key::Ctrl('c') => {
            m.confirm = None;
            set_status(m, "Apply cancelled; nothing was changed.");
            vec![]
        }
        Key::Backspace => {
            c.input.pop();
            vec![]
        }
        Key::Char(ch) => {
            c.input.push(ch);
            vec![]
        }
        Key::Enter => {
            let Some(p) = c.prompts.get(c.step) else { return vec![] };
            if c.input.trim() != p.expected {
                c.error = Some(format!("'{}' is not '{}'.", c.input.trim(), p.expected));
                c.input.clear();
                return vec![];
            }
            c.step += 1;
            c.input.clear();
            c.error = None;
            if c.step < c.prompts.len() {
                return vec![];
            }
            // Confirmed.
            let Some(Confirm { action: ConfirmAction::Apply(plan), .. }) = m.confirm.take() else {
                return vec![];
            };
            confirmed_apply(m, plan)
        }
        _ => vec![],
    }
}

fn confirmed_apply(m: &mut Model, plan: Box<crate::plan::Plan>) -> Vec<Effect> {
    let generation = m.next_gen();
    m.gens.apply = generation;
    let excluded = crate::engine::excluded_closure(&plan);
    let steps = plan
        .changes
        .iter()
        .filter(|c| !excluded.contains(&c.address))
        .map(|c| StepView {
            address: c.address.to_string(),
            action: c.action,
            state: StepState::Pending,
            note: String::new(),
        })
        .collect();
    m.apply = Some(ApplyRun {
        plan_id: plan.plan_id.clone(),
        steps,
        excluded: excluded.len(),
        started_ms: m.now_ms,
        finished_ms: None,
        stopping: false,
        report: None,
        error: None,
        refused: None,
        scroll: 0,
    });
    m.screen = Screen::Apply;
    set_status(m, "Applying… Ctrl-C stops after the running step.");
    vec![Effect::Apply { generation, plan }]
}

fn stop_apply(m: &mut Model) -> Vec<Effect> {
    let Some(run) = m.apply.as_mut() else { return vec![] };
    if run.stopping {
        return vec![];
    }
    run.stopping = true;
    let left = run.count(|s| matches!(s, StepState::Pending));
    set_error(m, format!("Stopping after the running step; {left} step(s) will not be started."));
    vec![Effect::StopApply]
}

fn engine_event(run: &mut ApplyRun, e: EngineEvent) {
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

fn apply_key(m: &mut Model, k: Key) -> Vec<Effect> {
    let Some(run) = m.apply.as_mut() else {
        if matches!(k, Key::Enter | Key::Esc) {
            m.screen = Screen::Plan;
        }
        return vec![];
    };
    if let Some(s) = nav(k, run.scroll, run.steps.len()) {
        run.scroll = s;
        return vec![];
    }
    if matches!(k, Key::Enter | Key::Esc) && !run.running() {
        m.screen = Screen::Plan;
    }
    vec![]
}

fn metrics_key(m: &mut Model, k: Key) -> Vec<Effect> {
    if k == Key::Char('r') {
        return load_audit(m);
    }
    // Lead times, then the vended resources that are not ready yet.
    let len =
        m.audit.data.as_ref().map(|d| d.metrics.lead_times.len() + d.metrics.not_ready.len()).unwrap_or(0);
    if let Some(s) = nav(k, m.metrics.scroll, len) {
        m.metrics.scroll = s;
    }
    vec![]
}

fn audit_key(m: &mut Model, k: Key) -> Vec<Effect> {
    if let Some(detail) = m.audit.detail.as_mut() {
        if matches!(k, Key::Esc | Key::Char('h') | Key::Left | Key::Enter) {
            m.audit.detail = None;
        } else {
            scroll_text(detail, k);
        }
        return vec![];
    }
    if k == Key::Char('r') {
        return load_audit(m);
    }
    let len = m.audit.data.as_ref().map(|d| d.rows.len()).unwrap_or(0);
    if let Some(s) = nav(k, m.audit.selected, len) {
        m.audit.selected = s;
        return vec![];
    }
    if matches!(k, Key::Enter | Key::Char('l') | Key::Right)
        && let Some(row) = m.audit.data.as_ref().and_then(|d| d.rows.get(m.audit.selected))
    {
        m.audit.detail = Some(TextView {
            title: format!("record seq {}", row.seq),
            lines: row.detail.lines().map(crate::render::Line::plain).collect(),
            scroll: 0,
        });
    }
    vec![]
}
