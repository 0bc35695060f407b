//! The organization screen: the tree (only the visible rows drawn) and the selected node's
//! details.

use super::{SPLIT_WIDTH, line, selected_style, span};
use crate::render::Tone;
use crate::tui::model::*;
use crate::tui::text::window;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

/// The organization screen: a head line, the tree (only the visible rows drawn) and the
/// selected node's details — beside the tree from 120 columns, below it otherwise.
pub(super) fn org_screen(m: &Model, ws: &Workspace, f: &mut Frame, area: Rect) {
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
            let l = line(m, &crate::tui::org::row_line(org, &ws.plan, i, open, matched, cursor));
            if r == m.org.selected { l.style(selected_style()) } else { l }
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
    let d: Vec<Line> = m
        .org
        .node()
        .map(|i| crate::tui::org::details(org, &ws.plan, i).iter().map(|l| line(m, l)).collect())
        .unwrap_or_default();
    let block = Block::default().borders(Borders::ALL).title(" details ");
    f.render_widget(Paragraph::new(d).block(block).wrap(Wrap { trim: false }), detail);
}
