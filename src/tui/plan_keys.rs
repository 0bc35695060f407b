//! The plan screen's keys (`update` hands them over): moving through the changes, drilling in,
//! excluding and including, search and action filters, the effective-SCP preview, saving the
//! plan, and asking for an apply through the typed confirmation (`Confirm`), which starts it.
//! Pure: it changes the model and returns effects; it draws nothing.

use super::edit::{
    nav, refresh_exclusions, refresh_rows, scroll_text, selected_change, set_error, set_status,
};
use super::model::*;
use super::review;
use crate::plan::Action;

pub(super) fn review_input_key(m: &mut Model, k: Key) -> Vec<Effect> {
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

pub(super) fn review_key(m: &mut Model, k: Key) -> Vec<Effect> {
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
        Key::Char('e') => {
            match review::effective(&ws.plan, &ws.loaded.desired, &ws.state, &m.review.excluded) {
                Some(view) => m.review.effective = Some(view),
                None => set_status(
                    m,
                    "The plan changes no existing account's effective SCPs, and nobody's access.",
                ),
            }
        }
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
    // What to confirm is the CLI's policy (`flow::confirm`); only the wording is the UI's.
    let prompts = crate::flow::confirm::asks(&plan)
        .into_iter()
        .map(|ask| match ask {
            crate::flow::confirm::Ask::Apply => {
                Prompt { text: "Type yes to apply these changes:".into(), expected: "yes".into() }
            }
            crate::flow::confirm::Ask::Close(name) => Prompt {
                text: format!("Closing account '{name}' cannot be undone by vend. Type its name:"),
                expected: name,
            },
        })
        .collect();
    m.confirm = Some(Confirm {
        action: ConfirmAction::Apply(Box::new(plan)),
        prompts,
        step: 0,
        input: String::new(),
        error: None,
    });
    vec![]
}

pub(super) fn confirm_key(m: &mut Model, k: Key) -> Vec<Effect> {
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
    let steps: Vec<StepView> = plan
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
        progress: crate::render::progress::Progress::new(steps.len()),
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
    set_status(m, "Applying… Ctrl-C stops: no new step starts, the steps in flight finish.");
    vec![Effect::Apply { generation, plan }]
}
