//! `view(&Model, &mut Frame)`: draws the model, nothing else. Pure — it reads the model and
//! writes cells into the frame's buffer; it never changes state (scroll offsets are derived from
//! the selection). Symbols and words carry every meaning (colour only repeats them), so the UI
//! reads the same without colour; every screen fits 80x24. Only the visible rows of a list are
//! built, so a 10,000-change plan draws as fast as a small one.

use super::apply::summary_of;
use super::model::*;
use super::text::{HELP, short, trunc};
use crate::plan::{Action, Summary};
use crate::render::{self, Tone};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

mod apply;
mod audit;
mod catalog;
mod org;
mod plan;

use apply::apply_screen;
use audit::{audit_screen, metrics_screen};
use catalog::{catalog_screen, request_screen};
use org::org_screen;
use plan::plan_screen;

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
