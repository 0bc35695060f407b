//! The two screens read from the audit log: the audit screen (chain check, records, a record's
//! detail) and the metrics screen (what the log says about applies and requests).

use super::{selected_style, span, spinner, text_view};
use crate::port::EventKind;
use crate::render::{self, Tone};
use crate::tui::model::*;
use crate::tui::text::{short, trunc, window};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

pub(super) fn audit_screen(m: &Model, f: &mut Frame, area: Rect) {
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

pub(super) fn metrics_screen(m: &Model, f: &mut Frame, area: Rect) {
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
