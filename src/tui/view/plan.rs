//! The plan review screen: the plan's head (id, state, summary, what is excluded), the change
//! list (only the visible rows built) and, from `SPLIT_WIDTH` columns, the selected change's
//! preview beside it.

use super::{SPLIT_WIDTH, compact_summary, line, selected_style, span, spinner, text_view, text_view_titled};
use crate::render::{self, Tone};
use crate::tui::edit::selected_change;
use crate::tui::model::*;
use crate::tui::text::{short, window};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph};

pub(super) fn plan_screen(m: &Model, ws: &Workspace, f: &mut Frame, area: Rect) {
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
    let touched = crate::tui::review::effective_count(plan);
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
