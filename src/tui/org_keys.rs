//! The organization screen's keys (`update` hands them over): moving through the tree,
//! opening and closing nodes, the `/` search with next/previous match, and the jump from a
//! node to its changes in the plan review (filtered on the node's address, the cursor on its
//! first change). Pure: it changes the model and returns effects; it draws nothing.

use super::edit::{nav, refresh_rows, set_error, set_status};
use super::model::*;
use super::org::NodeKind;

/// Keys while the search text is typed.
pub(super) fn org_search_key(m: &mut Model, k: Key) -> Vec<Effect> {
    let Some(ws) = m.workspace.clone() else { return vec![] };
    match k {
        Key::Esc => {
            m.org.editing_search = false;
            m.org.search.clear();
            m.org.matches.clear();
            return vec![];
        }
        Key::Enter => {
            m.org.editing_search = false;
            if m.org.matches.is_empty() && !m.org.search.is_empty() {
                set_error(m, format!("No OU, account or pipeline name or id contains '{}'.", m.org.search));
            }
            return vec![];
        }
        Key::Backspace => {
            m.org.search.pop();
        }
        Key::Char(c) => m.org.search.push(c),
        _ => return vec![],
    }
    m.org.matches = ws.org.search(&m.org.search);
    if let Some(&first) = m.org.matches.first() {
        m.org.select(&ws.org, first);
    }
    vec![]
}

pub(super) fn org_key(m: &mut Model, k: Key) -> Vec<Effect> {
    let Some(ws) = m.workspace.clone() else { return vec![] };
    let org = &ws.org;
    if let Some(s) = nav(k, m.org.selected, m.org.rows.len()) {
        m.org.selected = s;
        return vec![];
    }
    let Some(i) = m.org.node() else { return vec![] };
    let node = &org.nodes[i];
    let open = m.org.open.get(i).copied().unwrap_or(false);
    match k {
        Key::Right | Key::Char('l') => {
            if !open && !node.children.is_empty() {
                m.org.set_open(org, i, true);
            } else if let Some(&c) = node.children.first() {
                m.org.select(org, c);
            }
        }
        Key::Left | Key::Char('h') => {
            if open && !node.children.is_empty() {
                m.org.set_open(org, i, false);
            } else if let Some(p) = node.parent {
                m.org.select(org, p);
            }
        }
        Key::Char(' ') => m.org.set_open(org, i, !open),
        Key::Enter => return jump(m, i),
        Key::Char('/') => {
            m.org.editing_search = true;
            m.org.search.clear();
            m.org.matches.clear();
        }
        Key::Char('n') | Key::Char('N') => {
            if m.org.matches.is_empty() {
                set_status(m, "No search: / searches names and ids.");
                return vec![];
            }
            // The next (previous) match after (before) the cursor, in tree order (the matches
            // are in tree order: a binary search on their rank).
            let at = org.rank[i];
            let split = m.org.matches.partition_point(|n| org.rank[*n] <= at);
            let next = if k == Key::Char('n') {
                m.org.matches.get(split).or(m.org.matches.first())
            } else {
                let before = m.org.matches.partition_point(|n| org.rank[*n] < at);
                before.checked_sub(1).and_then(|b| m.org.matches.get(b)).or(m.org.matches.last())
            };
            if let Some(&n) = next {
                m.org.select(org, n);
            }
        }
        Key::Esc => {
            m.org.search.clear();
            m.org.matches.clear();
        }
        _ => {}
    }
    vec![]
}

/// Show node `i`'s changes in the plan review: filtered on its address, the cursor on its
/// first change. A node without changes of its own opens or closes instead.
fn jump(m: &mut Model, i: usize) -> Vec<Effect> {
    let Some(ws) = m.workspace.clone() else { return vec![] };
    let node = &ws.org.nodes[i];
    if node.changes.is_empty() {
        if !node.children.is_empty() {
            let open = m.org.open.get(i).copied().unwrap_or(false);
            m.org.set_open(&ws.org, i, !open);
        }
        if node.inside > 0 {
            set_status(m, format!("{} has no change of its own; {} below it.", node.name, node.inside));
        } else if node.children.is_empty() {
            set_status(m, format!("The plan does not change {}.", node.name));
        }
        return vec![];
    }
    // The root's changes are its SCP attachments (`…@root`).
    m.review.filter = if node.kind == NodeKind::Root { "@root".into() } else { node.address.clone() };
    m.review.action_filter = None;
    m.review.editing_filter = false;
    m.review.detail = None;
    m.review.effective = None;
    refresh_rows(m);
    if let Some(at) =
        m.review.rows.iter().position(|r| matches!(r, Row::Change(c) if node.changes.contains(c)))
    {
        m.review.selected = at;
    }
    m.screen = Screen::Plan;
    set_status(
        m,
        format!(
            "The plan filtered to {} ({} change(s) of its own); esc clears the filter, 7 goes back.",
            m.review.filter,
            node.changes.len()
        ),
    );
    vec![]
}
