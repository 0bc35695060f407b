//! Text the screens show that is not drawing: `TextView` (a scrollable block of styled lines:
//! diffs, details, records), the key help table, and small formatting helpers (short ids,
//! truncation, mm:ss, the visible window of a list). Pure data and functions: no model, no
//! terminal.

/// A scrollable block of styled lines (diffs, details).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TextView {
    pub title: String,
    pub lines: Vec<crate::render::Line>,
    pub scroll: usize,
}

/// First row to show so that `selected` stays visible in `height` rows (centred when possible).
pub(super) fn window(selected: usize, len: usize, height: usize) -> usize {
    if len <= height || height == 0 {
        return 0;
    }
    selected.saturating_sub(height / 2).min(len - height)
}

pub(super) fn short(id: &str) -> String {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    format!("sha256:{}", hex.chars().take(12).collect::<String>())
}

pub(super) fn trunc(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n.saturating_sub(1)).collect::<String>() + "…"
    }
}

pub(super) fn mmss(ms: u64) -> String {
    let s = ms / 1000;
    format!("{:02}:{:02}", s / 60, s % 60)
}

pub(super) const HELP: &[(&str, &str)] = &[
    ("everywhere", ""),
    ("1..7, tab", "catalog, request, plan, apply, audit, metrics, org"),
    ("? or F1", "this help (any key closes it)"),
    ("j/k, arrows", "move; g/G home/end; ctrl-d/u page"),
    ("r", "read the workspace and the state again"),
    ("q, ctrl-c", "quit (ctrl-c during an apply: stop; steps in flight finish)"),
    ("plan", ""),
    ("enter / esc", "drill into a change (field and line diffs) / back"),
    ("space or x", "exclude / include a change (its dependents follow); X: include all"),
    ("/  f  esc", "search text, cycle action filter, clear filters"),
    ("e", "effective SCPs, before -> after, of the accounts touched"),
    ("s / a", "save the plan (with excluded) / apply (type yes)"),
    ("catalog", ""),
    ("d / m", "diff with the marked (else previous) version / mark"),
    ("n or enter", "request from the selected version"),
    ("request form", ""),
    ("up/down, tab", "next field; left/right or space picks a choice"),
    ("ctrl-s", "submit (or enter on Submit); esc back to the catalog"),
    ("organization", ""),
    ("space h/l", "fold; enter: the node's changes in the plan; / n N: search"),
    ("audit, metrics", ""),
    ("enter / r", "a record's details / reload, verify, recount the metrics"),
];
