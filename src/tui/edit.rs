//! Small operations on the model shared by `update` and the screens' key handlers
//! (`plan_keys`, `screen_keys`): the status line, the plan rows and exclusions after a change,
//! the request form's layout and its background check, the audit load, list navigation and
//! text scrolling. Pure: each changes the model and returns the effects it needs; none
//! dispatches keys or messages.

use super::model::*;
use super::{form, review};
use crate::request::RequestKind;

/// Rows a page key moves.
pub(super) const PAGE: usize = 10;

pub(super) fn set_status(m: &mut Model, text: impl Into<String>) {
    m.status = Some(Status { text: text.into(), error: false });
}

pub(super) fn set_error(m: &mut Model, text: impl Into<String>) {
    m.status = Some(Status { text: text.into(), error: true });
}

pub(super) fn refresh_rows(m: &mut Model) {
    let Some(ws) = m.workspace.clone() else { return };
    let keep = selected_change(m);
    m.review.rows = review::rows(&ws.plan, &m.review.filter, m.review.action_filter);
    m.review.selected = keep
        .and_then(|i| m.review.rows.iter().position(|r| *r == Row::Change(i)))
        .or_else(|| m.review.rows.iter().position(|r| matches!(r, Row::Change(_))))
        .unwrap_or(0);
}

pub(super) fn refresh_exclusions(m: &mut Model) {
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

pub(super) fn relayout_form(m: &mut Model, kind: RequestKind, blueprint: &str) {
    let Some(ws) = m.workspace.clone() else { return };
    let focus_id = m.form.fields.get(m.form.focus).map(|f| f.id.clone());
    m.form.fields = form::layout(&ws.catalog, kind, blueprint, &m.form.fields);
    m.form.focus = focus_id.and_then(|id| m.form.fields.iter().position(|f| f.id == id)).unwrap_or(0);
}

/// Check the request as typed, in the background.
pub(super) fn validate(m: &mut Model) -> Vec<Effect> {
    let Some(base) = m.workspace.clone() else { return vec![] };
    if m.form.fields.is_empty() {
        return vec![];
    }
    let generation = m.next_gen();
    m.gens.validate = generation;
    m.form.checking = true;
    vec![Effect::Validate { generation, request: form::to_request(&m.form), base }]
}

pub(super) fn load_audit(m: &mut Model) -> Vec<Effect> {
    let generation = m.next_gen();
    m.gens.audit = generation;
    m.audit.loading = true;
    vec![Effect::LoadAudit { generation }]
}

/// Up/down/page/home/end on a list of `len` items.
pub(super) fn nav(k: Key, at: usize, len: usize) -> Option<usize> {
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

pub(super) fn scroll_text(view: &mut TextView, k: Key) -> bool {
    match nav(k, view.scroll, view.lines.len()) {
        Some(s) => {
            view.scroll = s;
            true
        }
        None => false,
    }
}
