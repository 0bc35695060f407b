//! `view(&Model, &mut Frame)`: draws the model, nothing else. Pure — it reads the model and
//! writes cells into the frame's buffer; it never changes state (scroll offsets are derived from
//! the selection). Symbols and words carry every meaning (colour only repeats them), so the UI
//! reads the same without colour; every screen fits 80x24. Only the visible rows of a list are
//! built, so a 10,000-change plan draws as fast as a small one.

use super::apply::{self, summary_of};
use super::catalog;
use super::edit::selected_change;
use super::form;
use super::model::*;
use super::text::{HELP, mmss, short, trunc, window};
use crate::plan::{Action, Summary};
use crate::port::EventKind;
use crate::render::{self, Tone};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

/// From this width on, plan review shows the list and the selected change side by side.
pub const SPLIT_WIDTH: u16 = 120;

pub fn view(m: &Model, f: &mut Frame) {
    let area = f.area();
    let [top, body, bottom] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0), Constraint::Length(1)]).areas(area);
    f.render_widget(Paragraph::new(tabs(m)), top);
    match (&m.workspace, m.screen) {
        (_, Screen::Apply) => apply_screen(m, f, body),
        (_, Screen::Audit) => audit_screen(m, f, body),
        (_, Screen::Metrics) => metrics_screen(m, f, body),
        (None, _) => loading_screen(m, f, body),
        (Some(ws), Screen::Plan) => plan_screen(m, ws, f, body),
        (Some(ws), Screen::Catalog) => catalog_screen(m, ws, f, body),
        (Some(ws), Screen::Request) => request_screen(m, ws, f, body),
        (Some(ws), Screen::Org) => org_screen(m, ws, f, body),
    }
    f.render_widget(Paragraph::new(status_line(m)), bottom);
    if let Some(c) = &m.confirm {
        confirm_dialog(m, c, f, area);
    }
    if m.help {
        help_overlay(m, f, area);
    }
}

fn style(m: &Model, tone: Tone) -> Style {
    let s = Style::default();
    let fg = |c: Color| if m.color { s.fg(c) } else { s };
    match tone {
        Tone::Plain => s,
        Tone::Heading => s.add_modifier(Modifier::BOLD),
        Tone::Muted => {
            if m.color {
                s.fg(Color::DarkGray)
            } else {
                s
            }
        }
        Tone::Create => fg(Color::Green),
        Tone::Update => fg(Color::Yellow),
        Tone::Move => fg(Color::Cyan),
        Tone::Replace => fg(Color::Magenta),
        Tone::Delete => fg(Color::Red),
        Tone::Close => fg(Color::Red).add_modifier(Modifier::BOLD),
        Tone::Adopt => fg(Color::Blue),
        Tone::Deprecate => fg(Color::Yellow),
        Tone::Repair => fg(Color::Magenta).add_modifier(Modifier::BOLD),
        Tone::Error => fg(Color::Red).add_modifier(Modifier::BOLD),
        Tone::Warning => fg(Color::Yellow).add_modifier(Modifier::BOLD),
    }
}

fn span(m: &Model, text: impl Into<String>, tone: Tone) -> Span<'static> {
    Span::styled(text.into(), style(m, tone))
}

/// A renderer line as a ratatui line.
fn line(m: &Model, l: &render::Line) -> Line<'static> {
    Line::from(l.0.iter().map(|s| span(m, s.text.clone(), s.tone)).collect::<Vec<_>>())
}

fn selected_style() -> Style {
    Style::default().add_modifier(Modifier::REVERSED)
}

fn tabs(m: &Model) -> Line<'static> {
    let mut spans = vec![span(m, "vend ", Tone::Heading)];
    for s in Screen::ALL {
        let text = format!("{} {}", s.number(), s.title());
        if s == m.screen {
            spans.push(Span::styled(format!("[{text}]"), selected_style().add_modifier(Modifier::BOLD)));
        } else {
            spans.push(span(m, format!(" {text} "), Tone::Plain));
        }
    }
    spans.push(span(m, format!("  {}", m.label), Tone::Muted));
    Line::from(spans)
}

fn status_line(m: &Model) -> Line<'static> {
    if m.screen == Screen::Plan
        && let Some(path) = &m.review.save_input
    {
        return Line::from(vec![
            span(m, "Save the plan to: ", Tone::Heading),
            span(m, format!("{path}_"), Tone::Plain),
            span(m, "  (enter save, esc cancel)", Tone::Muted),
        ]);
    }
    if m.screen == Screen::Org && m.org.editing_search {
        return Line::from(vec![
            span(m, "Search names and ids: ", Tone::Heading),
            span(m, format!("{}_", m.org.search), Tone::Plain),
            span(m, format!("  {} match(es)  (enter keep, esc clear)", m.org.matches.len()), Tone::Muted),
        ]);
    }
    if let Some(s) = &m.status {
        return if s.error {
            Line::from(vec![span(m, "! ", Tone::Error), span(m, s.text.clone(), Tone::Error)])
        } else {
            Line::from(span(m, s.text.clone(), Tone::Plain))
        };
    }
    let hint = match m.screen {
        Screen::Catalog if m.catalog.diff.is_some() => "j/k scroll  esc close the diff  ? help  q quit",
        Screen::Catalog => "j/k move  d diff  m mark base  n request this  1-7 screens  ? help  q quit",
        Screen::Request => "up/down field  left/right choose  enter next  ctrl-s submit  esc back  F1 help",
        Screen::Plan if m.review.effective.is_some() => "j/k scroll  esc back to the changes  ? help",
        Screen::Plan if m.review.detail.is_some() => "j/k scroll  space exclude/include  esc back  ? help",
        Screen::Plan => "j/k move  enter diff  space exclude  / search  f action  e SCPs  s save  a apply",
        Screen::Apply if m.apply_running() => "j/k scroll  ctrl-c stop (the steps in flight finish)",
        Screen::Apply => "j/k scroll  enter back to the plan  ? help  q quit",
        Screen::Audit => "j/k move  enter details  r reload  ? help  q quit",
        Screen::Metrics => "j/k scroll lead times  r reload  ? help  q quit",
        Screen::Org => "j/k move  space/h/l fold  enter its changes  / search  n/N next/prev  ? help",
    };
    Line::from(span(m, hint, Tone::Muted))
}

fn spinner(m: &Model) -> &'static str {
    ["|", "/", "-", "\\"][((m.now_ms / 250) % 4) as usize]
}

fn loading_screen(m: &Model, f: &mut Frame, area: Rect) {
    let lines = match &m.loading {
        Loading::Failed(e) => vec![
            Line::from(span(m, "Could not read the workspace or the state:", Tone::Error)),
            Line::from(span(m, e.clone(), Tone::Plain)),
            Line::from(""),
            Line::from(span(m, "Press r to try again, q to quit.", Tone::Muted)),
        ],
        Loading::Busy { what, .. } => vec![Line::from(vec![
            span(m, format!("{} ", spinner(m)), Tone::Heading),
            span(m, what.clone(), Tone::Plain),
        ])],
        Loading::Idle => vec![Line::from("")],
    };
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

fn compact_summary(m: &Model, s: &Summary) -> Vec<Span<'static>> {
    let mut out = vec![];
    for a in Action::ALL {
        let n = s.get(a);
        if n > 0 {
            out.push(span(m, format!("{}{n} {a}", render::symbol(a)), render::tone(a)));
            out.push(span(m, "  ", Tone::Plain));
        }
    }
    if out.is_empty() {
        out.push(span(m, "no changes", Tone::Heading));
    }
    out
}

fn plan_screen(m: &Model, ws: &Workspace, f: &mut Frame, area: Rect) {
    let plan = &ws.plan;
    let [head, list] = Layout::vertical([Constraint::Length(3), Constraint::Min(0)]).areas(area);
    let mut busy = vec![];
    if let Loading::Busy { .. } = m.loading {
        busy.push(span(m, format!("  {} re-planning…", spinner(m)), Tone::Muted));
    }
    let mut l1 = vec![
        span(m, "plan ", Tone::Muted),
        span(m, short(&plan.plan_id), Tone::Heading),
        span(m, "  state ", Tone::Muted),
        span(m, short(&plan.basis.state), Tone::Plain),
        span(m, format!("  ({})", ws.source), Tone::Muted),
    ];
    l1.extend(busy);
    let mut l2 = vec![span(m, "Plan: ", Tone::Heading)];
    l2.extend(compact_summary(m, &m.review.included));
    let excluded = m.review.excluded.len();
    let mut l3 = vec![span(
        m,
        format!(
            "{} change(s), {} to apply, {excluded} excluded",
            plan.changes.len(),
            plan.changes.len() - excluded
        ),
        if excluded > 0 { Tone::Warning } else { Tone::Muted },
    )];
    if !plan.applyable {
        l3.push(span(m, "  NOT APPLYABLE (errors below)", Tone::Error));
    }
    if m.review.editing_filter || !m.review.filter.is_empty() {
        let cursor = if m.review.editing_filter { "_" } else { "" };
        l3.push(span(m, format!("  search: {}{cursor}", m.review.filter), Tone::Heading));
    }
    if let Some(a) = m.review.action_filter {
        l3.push(span(m, format!("  action: {a}"), Tone::Heading));
    }
    let touched = super::review::effective_count(plan);
    let access = plan.effective_access.as_ref().map_or(0, Vec::len);
    if touched > 0 {
        l3.push(span(m, format!("  e: effective SCPs of {touched} account(s)"), Tone::Muted));
    } else if access > 0 {
        l3.push(span(m, format!("  e: who gets in, {access} account(s)"), Tone::Muted));
    }
    f.render_widget(Paragraph::new(vec![Line::from(l1), Line::from(l2), Line::from(l3)]), head);
    if let Some(d) = &m.review.effective {
        text_view(m, d, f, list);
        return;
    }
    // At 120 columns and more the list and the drill-down of the change under the cursor (or
    // the one opened with enter, scrollable) side by side; below, one or the other.
    let list = if list.width >= SPLIT_WIDTH {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(list);
        match (&m.review.detail, &m.review.preview) {
            // Opened with enter: the keys scroll it, and its title says so.
            (Some(d), _) => {
                text_view_titled(m, d, format!(" {}  (j/k scroll, esc back) ", d.title), f, right)
            }
            (None, Some((_, d))) => text_view(m, d, f, right),
            (None, None) => {
                let block = Block::default().borders(Borders::ALL).title(" no change selected ");
                f.render_widget(block, right);
            }
        }
        left
    } else if let Some(d) = &m.review.detail {
        text_view(m, d, f, list);
        return;
    } else {
        list
    };
    let block = Block::default().borders(Borders::TOP).title(" changes by kind and OU / portfolio ");
    let inner = block.inner(list);
    f.render_widget(block, list);
    let mut rows: Vec<Line> = vec![];
    if m.review.rows.is_empty() {
        rows.push(Line::from(span(
            m,
            if plan.changes.is_empty() {
                "No changes: the organization matches the workspace."
            } else {
                "No change matches the filter (esc clears it)."
            },
            Tone::Heading,
        )));
        for d in render::diagnostics_text(&plan.diagnostics).iter().take(inner.height as usize) {
            rows.push(line(m, d));
        }
    }
    let height = inner.height as usize;
    let start = window(m.review.selected, m.review.rows.len(), height);
    let current = selected_change(m);
    for (i, row) in m.review.rows.iter().enumerate().skip(start).take(height) {
        rows.push(match row {
            Row::Kind { kind, count } => {
                Line::from(span(m, format!("{} ({count})", kind.title()), Tone::Heading))
            }
            Row::Group { label, count } => Line::from(span(m, format!("  {label} ({count})"), Tone::Muted)),
            Row::Change(ci) => {
                let c = &plan.changes[*ci];
                let (mark, note) = match m.review.excluded.get(c.address.as_str()) {
                    Some(root) if root == &c.address => ("[ ]", "  excluded".to_string()),
                    Some(root) => ("[-]", format!("  excluded with {root}")),
                    None => ("[x]", String::new()),
                };
                let t = render::tone(c.action);
                let mut spans = vec![
                    span(
                        m,
                        if current == Some(*ci) && i == m.review.selected { "> " } else { "  " },
                        Tone::Heading,
                    ),
                    span(m, format!("{mark} "), Tone::Plain),
                    span(m, format!("{:>3} ", render::symbol(c.action)), t),
                    span(m, c.address.clone(), Tone::Plain),
                    span(m, format!("  {}", c.action), t),
                    span(m, format!("  #{}", ci + 1), Tone::Muted),
                ];
                if !note.is_empty() {
                    spans.push(span(m, note, Tone::Warning));
                }
                let mut l = Line::from(spans);
                if i == m.review.selected {
                    l = l.style(selected_style());
                }
                l
            }
        });
    }
    f.render_widget(Paragraph::new(rows), inner);
}

fn text_view(m: &Model, v: &TextView, f: &mut Frame, area: Rect) {
    text_view_titled(m, v, format!(" {} ", v.title), f, area);
}

fn text_view_titled(m: &Model, v: &TextView, title: String, f: &mut Frame, area: Rect) {
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let height = inner.height as usize;
    let start = v.scroll.min(v.lines.len().saturating_sub(height.max(1)));
    let lines: Vec<Line> = v.lines.iter().skip(start).take(height).map(|l| line(m, l)).collect();
    f.render_widget(Paragraph::new(lines), inner);
}

fn catalog_screen(m: &Model, ws: &Workspace, f: &mut Frame, area: Rect) {
    if let Some(d) = &m.catalog.diff {
        text_view(m, d, f, area);
        return;
    }
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(42), Constraint::Percentage(58)]).areas(area);
    let rows = catalog::rows(&ws.catalog);
    let block = Block::default().borders(Borders::ALL).title(" blueprints ");
    let inner = block.inner(left);
    f.render_widget(block, left);
    let height = inner.height as usize;
    let start = window(m.catalog.selected, rows.len(), height);
    let mut lines = vec![];
    for (i, (b, v)) in rows.iter().enumerate().skip(start).take(height) {
        let bp = &ws.catalog.blueprints[*b];
        let sel = i == m.catalog.selected;
        let mut l = match v {
            None => Line::from(vec![
                span(m, if sel { "> " } else { "  " }, Tone::Heading),
                span(m, format!("{} ", bp.kind.as_str()), Tone::Muted),
                span(m, bp.name.clone(), Tone::Heading),
            ]),
            Some(vi) => {
                let ve = &bp.versions[*vi];
                let marked = m.catalog.mark == Some((*b, *vi));
                let tone = if ve.invalid {
                    Tone::Error
                } else if ve.deprecated {
                    Tone::Deprecate
                } else if ve.draft {
                    Tone::Muted
                } else if ve.default {
                    Tone::Create
                } else {
                    Tone::Plain
                };
                Line::from(vec![
                    span(m, if sel { "> " } else { "  " }, Tone::Heading),
                    span(m, if marked { "  *" } else { "   " }, Tone::Warning),
                    span(m, format!("{:<5}", ve.name), Tone::Plain),
                    span(m, format!(" {}", ve.status_words().join(" ")), tone),
                    span(m, format!("  {} use(s)", ve.used_by.len()), Tone::Muted),
                ])
            }
        };
        if sel {
            l = l.style(selected_style());
        }
        lines.push(l);
    }
    f.render_widget(Paragraph::new(lines), inner);
    // Details of the selection.
    let d: Vec<Line> = match rows.get(m.catalog.selected) {
        Some((b, v)) => catalog::details(&ws.catalog.blueprints[*b], *v).iter().map(|l| line(m, l)).collect(),
        None => vec![],
    };
    let block = Block::default().borders(Borders::ALL).title(" details ");
    f.render_widget(Paragraph::new(d).block(block).wrap(Wrap { trim: false }), right);
}

fn request_screen(m: &Model, ws: &Workspace, f: &mut Frame, area: Rect) {
    let wide = area.width >= 110;
    let (left, right) = if wide {
        let [a, b] = Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
        (a, Some(b))
    } else {
        (area, None)
    };
    let block = Block::default().borders(Borders::ALL).title(" request an account or a pipeline ");
    let inner = block.inner(left);
    f.render_widget(block, left);
    let mut lines: Vec<Line> = vec![];
    let mut focus_line = 0;
    for (i, fld) in m.form.fields.iter().enumerate() {
        let focused = i == m.form.focus;
        if focused {
            focus_line = lines.len();
        }
        let value = if fld.id == FieldId::Submit {
            String::new()
        } else if !fld.choices.is_empty() {
            format!("< {} >", if fld.value.is_empty() { "(default)" } else { fld.value.as_str() })
        } else if focused {
            format!("{}_", fld.value)
        } else {
            fld.value.clone()
        };
        let msgs = form::messages(&m.form, &fld.id);
        let marker = if msgs.iter().any(|(e, _)| *e) { "x" } else { " " };
        let mut l = Line::from(vec![
            span(m, if focused { ">" } else { " " }, Tone::Heading),
            span(m, marker, Tone::Error),
            span(
                m,
                format!("{:<16}", fld.label),
                if fld.id == FieldId::Submit { Tone::Heading } else { Tone::Plain },
            ),
            span(m, value, Tone::Plain),
        ]);
        if focused {
            l = l.style(selected_style());
        }
        lines.push(l);
        if focused && !fld.hint.is_empty() {
            lines.push(Line::from(span(m, format!("   {}", fld.hint), Tone::Muted)));
        }
        for (err, text) in msgs {
            lines.push(Line::from(span(
                m,
                format!("   ^ {text}"),
                if err { Tone::Error } else { Tone::Warning },
            )));
        }
    }
    let state = if m.form.submitting {
        span(m, "writing the request…", Tone::Muted)
    } else if m.form.checking {
        span(m, format!("{} checking…", spinner(m)), Tone::Muted)
    } else {
        match &m.form.checked {
            Some(c) if c.is_valid() => span(m, format!("ok: valid; Submit writes {}", c.path), Tone::Create),
            Some(c) => span(m, format!("{} error(s)", c.errors()), Tone::Error),
            None => span(m, "", Tone::Plain),
        }
    };
    lines.push(Line::from(state));
    let who = form::who_gets_in(&m.form, &ws.catalog);
    if right.is_none() && !who.is_empty() {
        lines.extend(std::iter::once(Line::from("")).chain(who.iter().map(|l| line(m, l))));
    }
    let height = inner.height as usize;
    let start = window(focus_line, lines.len(), height);
    let shown: Vec<Line> = lines.into_iter().skip(start).take(height).collect();
    f.render_widget(Paragraph::new(shown), inner);
    if let Some(r) = right {
        let mut p: Vec<Line> = vec![];
        if let Some(c) = &m.form.checked {
            p.push(Line::from(span(m, c.path.clone(), Tone::Heading)));
            p.extend(c.text.lines().map(|l| Line::from(l.to_string())));
        } else {
            p.push(Line::from(span(m, "(the request file appears here)", Tone::Muted)));
        }
        let r = if who.is_empty() {
            r
        } else {
            let width = r.width.saturating_sub(2).max(1) as usize;
            // Word wrap may take a row more than the characters do: one spare row.
            let rows: usize = who.iter().map(|l| l.text().chars().count().div_ceil(width).max(1)).sum();
            let rows = u16::try_from(rows + 3).unwrap_or(u16::MAX);
            let [top, bottom] = Layout::vertical([Constraint::Min(6), Constraint::Length(rows)]).areas(r);
            let who: Vec<Line> = who.iter().map(|l| line(m, l)).collect();
            let block = Block::default().borders(Borders::ALL).title(" who gets in ");
            f.render_widget(Paragraph::new(who).block(block).wrap(Wrap { trim: false }), bottom);
            top
        };
        let block = Block::default().borders(Borders::ALL).title(" file preview ");
        f.render_widget(Paragraph::new(p).block(block).wrap(Wrap { trim: false }), r);
    }
}

fn apply_screen(m: &Model, f: &mut Frame, area: Rect) {
    let Some(run) = &m.apply else {
        let lines = vec![
            Line::from(span(m, "No apply in this session yet.", Tone::Heading)),
            Line::from("Review the plan (3), exclude what should wait (space), then press a to apply."),
        ];
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
        return;
    };
    let total = run.steps.len();
    let done = run.count(|s| matches!(s, StepState::Done));
    let failed = run.count(|s| matches!(s, StepState::Failed(_)));
    let skipped = run.count(|s| matches!(s, StepState::Skipped(_)));
    let finished = done + failed + skipped;
    let elapsed = run.finished_ms.unwrap_or(m.now_ms).saturating_sub(run.started_ms);
    let width = 20usize;
    let filled =
        if run.refused.is_some() { 0 } else { (finished * width).checked_div(total).unwrap_or(width) };
    let bar = format!("[{}{}]", "#".repeat(filled), ".".repeat(width - filled));
    let state = if run.running() {
        if run.stopping { format!("stopping {}", spinner(m)) } else { format!("running {}", spinner(m)) }
    } else if run.refused.is_some() {
        "REFUSED: nothing was sent".to_string()
    } else if run.error.is_some()
        || failed > 0
        || (skipped > 0 && run.report.as_ref().is_some_and(|r| !r.is_complete()))
    {
        "finished with problems".to_string()
    } else {
        "complete".to_string()
    };
    let head = vec![
        Line::from(vec![
            span(m, "Apply ", Tone::Heading),
            span(m, short(&run.plan_id), Tone::Heading),
            span(
                m,
                format!("  {state}"),
                if run.running() {
                    Tone::Plain
                } else if state == "complete" {
                    Tone::Create
                } else {
                    Tone::Error
                },
            ),
            span(
                m,
                if run.excluded > 0 { format!("  ({} excluded)", run.excluded) } else { String::new() },
                Tone::Warning,
            ),
        ]),
        Line::from(vec![
            span(m, bar, Tone::Create),
            span(
                m,
                format!(
                    " {finished}/{total}  done {done}  failed {failed}  not applied {skipped}  elapsed {}",
                    mmss(elapsed)
                ),
                Tone::Plain,
            ),
        ]),
    ];
    let foot_height = if run.refused.is_some() { 6 } else { 3 };
    // The steps in flight, each with its elapsed time, while the apply runs.
    let in_flight = run.progress.in_flight().len();
    let room = (usize::from(area.height).saturating_sub(8) / 3).max(2);
    let flight_height = if run.running() && in_flight > 0 { in_flight.min(room) as u16 + 1 } else { 0 };
    let [h, flight, list, foot] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(flight_height),
        Constraint::Min(0),
        Constraint::Length(foot_height),
    ])
    .areas(area);
    f.render_widget(Paragraph::new(head), h);
    if flight_height > 0 {
        let block = Block::default().borders(Borders::TOP).title(format!(" in flight ({in_flight}) "));
        let lines: Vec<Line> = run.progress.lines(m.now_ms, room).iter().map(|l| line(m, l)).collect();
        f.render_widget(Paragraph::new(lines).block(block), flight);
    }
    let block = Block::default().borders(Borders::TOP).title(" steps ");
    let inner = block.inner(list);
    f.render_widget(block, list);
    let height = inner.height as usize;
    let start = run.scroll.min(total.saturating_sub(height));
    let lines: Vec<Line> = run
        .steps
        .iter()
        .skip(start)
        .take(height)
        .map(|s| line(m, &apply::step_line(s, spinner(m))))
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
    let fl: Vec<Line> = apply::footer(run, done, elapsed).iter().map(|l| line(m, l)).collect();
    f.render_widget(Paragraph::new(fl).wrap(Wrap { trim: false }), foot);
}

fn audit_screen(m: &Model, f: &mut Frame, area: Rect) {
    if let Some(d) = &m.audit.detail {
        text_view(m, d, f, area);
        return;
    }
    let mut lines = vec![];
    match (&m.audit.data, &m.audit.error) {
        (_, Some(e)) => {
            lines.push(Line::from(span(m, format!("Cannot read the audit log: {e}"), Tone::Error)))
        }
        (None, None) => {
            lines.push(Line::from(span(m, format!("{} Reading the audit log…", spinner(m)), Tone::Muted)))
        }
        (Some(d), None) => match &d.chain {
            Ok(s) => lines.push(Line::from(vec![
                span(m, "chain: verified  ", Tone::Create),
                span(m, s.clone(), Tone::Plain),
            ])),
            Err(e) => lines.push(Line::from(vec![
                span(m, "chain: DOES NOT VERIFY  ", Tone::Error),
                span(m, e.clone(), Tone::Plain),
            ])),
        },
    }
    let Some(d) = &m.audit.data else {
        f.render_widget(Paragraph::new(lines), area);
        return;
    };
    lines.push(Line::from(span(
        m,
        format!("{:<5} {:<20} {:<10} {:<19} {:<12} {}", "seq", "time", "actor", "plan", "event", "address"),
        Tone::Heading,
    )));
    if d.rows.is_empty() {
        lines.push(Line::from(span(m, format!("The audit log {} is empty.", d.path), Tone::Muted)));
    }
    let height = (area.height as usize).saturating_sub(lines.len());
    let start = window(m.audit.selected, d.rows.len(), height);
    for (i, r) in d.rows.iter().enumerate().skip(start).take(height) {
        let plan = if r.plan_id.is_empty() { "-".to_string() } else { short(&r.plan_id) };
        let tone = match EventKind::of(&r.event) {
            EventKind::ApplyStart | EventKind::ApplyEnd | EventKind::Request => Tone::Heading,
            EventKind::Recovery => Tone::Warning,
            EventKind::Unknown => Tone::Muted,
            EventKind::Intent
            | EventKind::Outcome
            | EventKind::Completed
            | EventKind::Approve
            | EventKind::LockTakeover
            | EventKind::ForceUnlock => Tone::Plain,
        };
        let ts = r.ts.chars().take(20).collect::<String>();
        let mut l = Line::from(span(
            m,
            format!(
                "{:<5} {:<20} {:<10} {:<19} {:<12} {}",
                r.seq,
                ts,
                trunc(&r.actor, 10),
                plan,
                r.event,
                r.address
            ),
            tone,
        ));
        if i == m.audit.selected {
            l = l.style(selected_style());
        }
        lines.push(l);
    }
    f.render_widget(Paragraph::new(lines), area);
}

fn metrics_screen(m: &Model, f: &mut Frame, area: Rect) {
    let d = match (&m.audit.data, &m.audit.error) {
        (_, Some(e)) => {
            let l = Line::from(span(m, format!("Cannot read the audit log: {e}"), Tone::Error));
            f.render_widget(Paragraph::new(vec![l]).wrap(Wrap { trim: false }), area);
            return;
        }
        (None, None) => {
            let l = Line::from(span(m, format!("{} Reading the audit log…", spinner(m)), Tone::Muted));
            f.render_widget(Paragraph::new(vec![l]), area);
            return;
        }
        (Some(d), None) => d,
    };
    let x = &d.metrics;
    let dur = |s: Option<i64>| s.map(render::duration).unwrap_or_else(|| "n/a".into());
    let row = |label: &str, value: String, note: String| {
        Line::from(vec![
            span(m, format!("  {label:<20} "), Tone::Heading),
            span(m, value, Tone::Plain),
            span(m, note, Tone::Muted),
        ])
    };
    let mut lines = vec![
        Line::from(vec![
            span(m, "Delivery metrics ", Tone::Heading),
            span(m, format!("from {} ({} records; r reloads)", d.path, d.rows.len()), Tone::Muted),
        ]),
        row(
            "apply frequency",
            x.applies_per_week.map(|v| format!("{v:.2} per week")).unwrap_or_else(|| "n/a".into()),
            format!("  {} applies over {:.1} week(s)", x.applies, x.weeks),
        ),
        row(
            "change failure rate",
            x.change_failure_rate.map(|v| format!("{:.1}%", v * 100.0)).unwrap_or_else(|| "n/a".into()),
            format!("  {} of {} applies failed", x.failed_applies, x.applies),
        ),
        row(
            "time to restore",
            dur(x.mean_time_to_restore_seconds),
            if x.restores.is_empty() {
                "  no failed apply was followed by a successful one".to_string()
            } else {
                format!("  mean of {} restore(s)", x.restores.len())
            },
        ),
        row(
            "lead time, median",
            dur(x.lead_time_median_seconds),
            format!("  over {} vended account(s) and pipeline(s)", x.lead_times.len()),
        ),
    ];
    let [head, list] =
        Layout::vertical([Constraint::Length(lines.len() as u16), Constraint::Min(0)]).areas(area);
    f.render_widget(Paragraph::new(std::mem::take(&mut lines)), head);
    let block = Block::default()
        .borders(Borders::TOP)
        .title(" lead time per account and pipeline (request -> ready) ");
    let inner = block.inner(list);
    f.render_widget(block, list);
    // address | kind | lead time | ready at
    let addr_w = (inner.width as usize).saturating_sub(2 + 1 + 9 + 12 + 1 + 20).max(12);
    lines.push(Line::from(span(
        m,
        format!("  {:<addr_w$} {:<8} {:>12} {}", "address", "kind", "lead time", "ready at"),
        Tone::Heading,
    )));
    if x.lead_times.is_empty() && x.not_ready.is_empty() {
        lines.push(Line::from(span(
            m,
            "  No vended account or pipeline has a request time and a ready record yet.",
            Tone::Muted,
        )));
    }
    let height = (inner.height as usize).saturating_sub(1);
    let total = x.lead_times.len() + x.not_ready.len();
    let start = m.metrics.scroll.min(total.saturating_sub(height));
    let entries = x
        .lead_times
        .iter()
        .map(|l| (l.address.as_str(), Some(l)))
        .chain(x.not_ready.iter().map(|a| (a.as_str(), None)));
    for (address, l) in entries.skip(start).take(height) {
        lines.push(match l {
            Some(l) => Line::from(vec![
                span(m, format!("  {:<addr_w$} {:<8} ", trunc(address, addr_w), l.kind), Tone::Plain),
                span(m, format!("{:>12}", render::duration(l.seconds)), Tone::Heading),
                span(m, format!(" {}", l.ready_at.chars().take(20).collect::<String>()), Tone::Muted),
            ]),
            None => Line::from(vec![
                span(m, format!("  {:<addr_w$} ", trunc(address, addr_w)), Tone::Plain),
                span(m, "created, not ready yet", Tone::Warning),
            ]),
        });
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// The organization screen: a head line, the tree (only the visible rows drawn) and the
/// selected node's details — beside the tree from 120 columns, below it otherwise.
fn org_screen(m: &Model, ws: &Workspace, f: &mut Frame, area: Rect) {
    let org = &ws.org;
    let [head, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let mut h =
        vec![span(m, "Organization ", Tone::Heading), span(m, org.organization_id.clone(), Tone::Plain)];
    if !m.org.search.is_empty() {
        let at = m.org.node().and_then(|n| m.org.matches.iter().position(|x| *x == n));
        let pos = at.map(|a| format!("{}/", a + 1)).unwrap_or_default();
        h.push(span(m, format!("  search: {} ({pos}{})", m.org.search, m.org.matches.len()), Tone::Heading));
    }
    h.push(span(
        m,
        format!("  {} OU(s), {} account(s), {} pipeline(s)", org.ous, org.accounts, org.pipelines),
        Tone::Muted,
    ));
    f.render_widget(Paragraph::new(Line::from(h)), head);
    let (tree, detail) = if body.width >= SPLIT_WIDTH {
        let [a, b] = Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(body);
        (a, b)
    } else {
        let [a, b] = Layout::vertical([Constraint::Min(0), Constraint::Length(10)]).areas(body);
        (a, b)
    };
    let block =
        Block::default().borders(Borders::TOP).title(" OUs, accounts, pipelines (plan markers left) ");
    let inner = block.inner(tree);
    f.render_widget(block, tree);
    let height = inner.height as usize;
    let start = window(m.org.selected, m.org.rows.len(), height);
    let query = m.org.search.trim().to_lowercase();
    let lines: Vec<Line> = m
        .org
        .rows
        .iter()
        .enumerate()
        .skip(start)
        .take(height)
        .map(|(r, &i)| {
            let open = m.org.open.get(i).copied().unwrap_or(false);
            let matched = org.matches(i, &query);
            let cursor = r == m.org.selected;
            let l = line(m, &super::org::row_line(org, &ws.plan, i, open, matched, cursor));
            if r == m.org.selected { l.style(selected_style()) } else { l }
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
    let d: Vec<Line> = m
        .org
        .node()
        .map(|i| super::org::details(org, &ws.plan, i).iter().map(|l| line(m, l)).collect())
        .unwrap_or_default();
    let block = Block::default().borders(Borders::ALL).title(" details ");
    f.render_widget(Paragraph::new(d).block(block).wrap(Wrap { trim: false }), detail);
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

fn confirm_dialog(m: &Model, c: &Confirm, f: &mut Frame, area: Rect) {
    let r = centered(area, 72, 14);
    f.render_widget(Clear, r);
    let ConfirmAction::Apply(plan) = &c.action;
    let mut lines = vec![Line::from(vec![
        span(m, "Apply plan ", Tone::Heading),
        span(m, short(&plan.plan_id), Tone::Heading),
    ])];
    let (summary, excluded) = summary_of(plan);
    let mut l = vec![span(m, "Changes: ", Tone::Plain)];
    l.extend(compact_summary(m, &summary));
    lines.push(Line::from(l));
    if excluded > 0 {
        lines.push(Line::from(span(
            m,
            format!("{excluded} change(s) excluded stay as they are."),
            Tone::Warning,
        )));
    }
    let closes: Vec<&str> = c.prompts.iter().skip(1).map(|p| p.expected.as_str()).collect();
    if !closes.is_empty() {
        lines.push(Line::from(span(m, format!("Closes account(s): {}", closes.join(", ")), Tone::Close)));
    }
    lines.push(Line::from(""));
    if let Some(p) = c.prompts.get(c.step) {
        lines.push(Line::from(span(m, p.text.clone(), Tone::Heading)));
    }
    lines.push(Line::from(span(m, format!("> {}_", c.input), Tone::Plain)));
    if let Some(e) = &c.error {
        lines.push(Line::from(span(m, e.clone(), Tone::Error)));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(span(m, "enter confirm   esc cancel", Tone::Muted)));
    let block = Block::default().borders(Borders::ALL).title(" confirm apply ");
    f.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), r);
}

/// How many of the latest notes the help lists.
const NOTES_IN_HELP: usize = 4;

fn help_overlay(m: &Model, f: &mut Frame, area: Rect) {
    let mut lines: Vec<Line> = HELP
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                Line::from(span(m, (*k).to_string(), Tone::Heading))
            } else {
                Line::from(vec![
                    span(m, format!("  {k:<13} "), Tone::Heading),
                    span(m, (*v).to_string(), Tone::Plain),
                ])
            }
        })
        .collect();
    // The notes of this run (the status line shows only the last), newest last, above the keys.
    if !m.notes.is_empty() {
        let mut notes =
            vec![Line::from(span(m, format!("notes ({}, latest last)", m.notes.len()), Tone::Heading))];
        let from = m.notes.len().saturating_sub(NOTES_IN_HELP);
        for n in &m.notes[from..] {
            for l in n.lines() {
                notes.push(Line::from(span(m, format!("  {}", trunc(l, 74)), Tone::Plain)));
            }
        }
        lines.splice(0..0, notes);
    }
    let r = centered(area, 78, (lines.len() + 2).max(23) as u16);
    f.render_widget(Clear, r);
    let block = Block::default().borders(Borders::ALL).title(" keys (esc closes) ");
    f.render_widget(Paragraph::new(lines).block(block), r);
}
