//! The keys of the catalog, request, apply, audit and metrics screens (`update` hands them
//! over; the plan screen's are in `plan_keys`): browsing and diffing blueprint versions,
//! editing and submitting the request form, following and stopping an apply, browsing the audit
//! log and the metrics. Pure: it changes the model and returns effects; it draws nothing.

use super::edit::{load_audit, nav, relayout_form, scroll_text, set_error, set_status, validate};
use super::model::*;
use super::{catalog, form};
use crate::request::RequestKind;

pub(super) fn catalog_key(m: &mut Model, k: Key) -> Vec<Effect> {
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
            if version.deprecated {
                let newest = bp
                    .versions
                    .iter()
                    .find(|v| v.default)
                    .map(|v| format!(": request {}@{}", bp.name, v.name));
                set_error(
                    m,
                    format!(
                        "{}@{} is deprecated: new requests cannot name it{}.",
                        bp.name,
                        version.name,
                        newest.unwrap_or_default()
                    ),
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

pub(super) fn form_key(m: &mut Model, k: Key) -> Vec<Effect> {
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

pub(super) fn submit(m: &mut Model) -> Vec<Effect> {
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

pub(super) fn stop_apply(m: &mut Model) -> Vec<Effect> {
    let Some(run) = m.apply.as_mut() else { return vec![] };
    if run.stopping {
        return vec![];
    }
    run.stopping = true;
    let text = super::apply::stopping_text(run);
    set_error(m, text);
    vec![Effect::StopApply]
}

pub(super) fn apply_key(m: &mut Model, k: Key) -> Vec<Effect> {
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

pub(super) fn metrics_key(m: &mut Model, k: Key) -> Vec<Effect> {
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

pub(super) fn audit_key(m: &mut Model, k: Key) -> Vec<Effect> {
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
