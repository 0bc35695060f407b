//! The catalog screen (blueprints and versions, their details or a version diff) and the
//! request form (its fields, and the chosen account blueprint's "who gets in" pane when wide).

use super::{line, selected_style, span, spinner, text_view};
use crate::render::Tone;
use crate::tui::catalog;
use crate::tui::form;
use crate::tui::model::*;
use crate::tui::text::window;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

pub(super) fn catalog_screen(m: &Model, ws: &Workspace, f: &mut Frame, area: Rect) {
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

pub(super) fn request_screen(m: &Model, ws: &Workspace, f: &mut Frame, area: Rect) {
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
