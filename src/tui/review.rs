//! Plan review as data: the plan's changes grouped by kind and by OU / portfolio / account,
//! filtered by text and action; which changes an exclusion takes with it (its dependents); the
//! summary of what would still be applied; a change's drill-down lines (the CLI's own rendering);
//! the plan to save or apply with its `excluded` list; the effective-SCP preview of what would be
//! applied. Pure functions of the plan (and the state it was planned against).

use super::model::{Row, TextView};
use crate::model::{Desired, State};
use crate::plan::{Action, Address, Change, Kind, Plan, Summary, scope};
use crate::render::{self, Line, Tone};
use std::collections::{BTreeMap, BTreeSet};

/// The OU / portfolio / account a change belongs to inside its kind ("" for none).
pub fn group_of(c: &Change) -> String {
    let key = c.address.key();
    let (before, after) = (c.before_json(), c.after_json());
    let field = |name: &str| {
        after
            .as_ref()
            .and_then(|v| v.get(name))
            .or_else(|| before.as_ref().and_then(|v| v.get(name)))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    match c.kind {
        Kind::Ou => match key.rsplit_once('/') {
            Some((parent, _)) => format!("in OU {parent}"),
            None => "in the root".into(),
        },
        Kind::Account => match field("parent") {
            Some(p) if !p.is_empty() => format!("in OU {p}"),
            _ => String::new(),
        },
        Kind::PolicyAttachment => match key.rsplit_once('@') {
            Some((_, target)) => format!("on {target}"),
            None => String::new(),
        },
        Kind::PortfolioProduct | Kind::PortfolioPrincipal | Kind::PortfolioShare | Kind::LaunchConstraint => {
            match key.split_once('/') {
                Some((p, _)) => format!("portfolio {p}"),
                None => String::new(),
            }
        }
        Kind::ProductVersion => match key.split_once('@') {
            Some((p, _)) => format!("product {p}"),
            None => String::new(),
        },
        Kind::ProvisionedPipeline => match key.split_once('/') {
            Some((a, _)) => format!("account {a}"),
            None => String::new(),
        },
        _ => String::new(),
    }
}

fn matches(c: &Change, filter: &str, action: Option<Action>) -> bool {
    if action.is_some_and(|a| a != c.action) {
        return false;
    }
    if filter.is_empty() {
        return true;
    }
    let f = filter.to_lowercase();
    c.address.to_lowercase().contains(&f) || c.reason.to_lowercase().contains(&f) || c.action.as_str() == f
}

/// The list rows for a plan under a filter.
pub fn rows(plan: &Plan, filter: &str, action: Option<Action>) -> Vec<Row> {
    let mut by_kind: BTreeMap<Kind, BTreeMap<String, Vec<usize>>> = BTreeMap::new();
    for (i, c) in plan.changes.iter().enumerate() {
        if matches(c, filter, action) {
            by_kind.entry(c.kind).or_default().entry(group_of(c)).or_default().push(i);
        }
    }
    let mut out = vec![];
    for kind in Kind::ALL {
        let Some(groups) = by_kind.get(&kind) else { continue };
        let count = groups.values().map(Vec::len).sum();
        out.push(Row::Kind { kind, count });
        for (label, items) in groups {
            if !label.is_empty() {
                out.push(Row::Group { label: label.clone(), count: items.len() });
            }
            out.extend(items.iter().map(|i| Row::Change(*i)));
        }
    }
    out
}

/// Every excluded change -> the excluded root it goes with: the roots themselves and,
/// transitively, everything that depends on one (`plan::scope::exclusions`, the closure
/// `--exclude` and apply use too).
pub fn exclusions(plan: &Plan, roots: &BTreeSet<String>) -> BTreeMap<String, String> {
    let roots: BTreeSet<Address> = roots.iter().filter_map(|r| Address::parse(r).ok()).collect();
    scope::exclusions(plan, &roots).into_iter().map(|(a, root)| (a.to_string(), root.to_string())).collect()
}

/// Summary of the changes that are not excluded.
pub fn included_summary(plan: &Plan, excluded: &BTreeMap<String, String>) -> Summary {
    if excluded.is_empty() {
        return plan.summary.clone();
    }
    let kept: Vec<Change> =
        plan.changes.iter().filter(|c| !excluded.contains_key(c.address.as_str())).cloned().collect();
    Summary::of(&kept)
}

/// The plan with its `excluded` list (every excluded address, in plan order), as saved and
/// applied (`plan::scope::with_excluded`, as `--target`/`--exclude` write it). The plan id does
/// not change: it covers basis and changes only.
pub fn with_exclusions(plan: &Plan, excluded: &BTreeMap<String, String>) -> Plan {
    let set: BTreeSet<Address> = plan
        .changes
        .iter()
        .filter(|c| excluded.contains_key(c.address.as_str()))
        .map(|c| c.address.clone())
        .collect();
    scope::with_excluded(plan.clone(), &set)
}

/// The drill-down of change `index`: what the CLI shows for it, its dependencies both ways,
/// and whether it is excluded.
pub fn detail(plan: &Plan, index: usize, excluded: &BTreeMap<String, String>) -> TextView {
    let Some(c) = plan.changes.get(index) else { return TextView::default() };
    let mut lines = render::change_text(c, index + 1);
    lines.push(Line::new());
    match excluded.get(c.address.as_str()) {
        Some(root) if root == &c.address => lines.push(
            Line::new()
                .push("EXCLUDED by you", Tone::Warning)
                .push(" (space includes it again)", Tone::Muted),
        ),
        Some(root) => lines.push(
            Line::new()
                .push("EXCLUDED", Tone::Warning)
                .push(format!(" because it depends on {root}, which you excluded"), Tone::Plain),
        ),
        None => {
            lines.push(Line::new().push("included", Tone::Create).push(" (space excludes it)", Tone::Muted))
        }
    }
    if c.depends_on.is_empty() {
        lines.push(Line::new().push("depends on: nothing", Tone::Muted));
    } else {
        lines.push(Line::new().push("depends on:", Tone::Heading));
        for d in &c.depends_on {
            lines.push(Line::plain(format!("  {d}")));
        }
    }
    let needed_by: Vec<&str> = plan
        .changes
        .iter()
        .filter(|x| x.depends_on.contains(&c.address))
        .map(|x| x.address.as_str())
        .collect();
    if needed_by.is_empty() {
        lines.push(Line::new().push("needed by: nothing", Tone::Muted));
    } else {
        lines.push(Line::new().push("needed by (excluded with it):", Tone::Heading));
        for d in needed_by {
            lines.push(Line::plain(format!("  {d}")));
        }
    }
    TextView { title: format!("#{} {}", index + 1, c.address), lines, scroll: 0 }
}

/// The effective preview of what would be applied (the changes not excluded): for every
/// existing account whose OU or effective SCP set changes, before -> after — the plan's
/// `effective_policies` when nothing is excluded — and, for every account whose Identity Center
/// assignments change, who gets in after (the plan's `effective_access`). `None` when neither
/// touches an account.
pub fn effective(
    plan: &Plan,
    desired: &Desired,
    state: &State,
    excluded: &BTreeMap<String, String>,
) -> Option<TextView> {
    let (list, access) = if excluded.is_empty() {
        (
            plan.effective_policies.clone().unwrap_or_default(),
            plan.effective_access.clone().unwrap_or_default(),
        )
    } else {
        let kept: Vec<Change> =
            plan.changes.iter().filter(|c| !excluded.contains_key(c.address.as_str())).cloned().collect();
        (
            crate::plan::effective::preview(desired, state, &kept),
            crate::plan::effective::access_preview(state, &kept),
        )
    };
    if list.is_empty() && access.is_empty() {
        return None;
    }
    let mut lines = vec![];
    if !excluded.is_empty() {
        lines.push(Line::new().push("Excluded changes are left out.", Tone::Warning));
    }
    if !list.is_empty() {
        lines.push(Line::new().push(
            "SCPs in force: the root's, every OU's on the account's path, the account's own.",
            Tone::Muted,
        ));
        lines.push(Line::new());
        lines.extend(render::effective_lines(&list));
    }
    if !access.is_empty() {
        if !list.is_empty() {
            lines.push(Line::new());
        }
        lines.push(
            Line::new()
                .push("Who gets in (Identity Center group -> permission set), after the plan:", Tone::Muted),
        );
        lines.push(Line::new());
        lines.extend(render::access_lines(&access));
    }
    let title = match (list.len(), access.len()) {
        (n, 0) => format!("effective SCPs, before -> after ({n} account(s)); esc back"),
        (0, a) => format!("who gets in, after the plan ({a} account(s)); esc back"),
        (n, a) => format!("effective SCPs ({n} account(s)) and who gets in ({a}); esc back"),
    };
    Some(TextView { title, lines, scroll: 0 })
}

/// How many existing accounts the plan's effective-SCP preview lists.
pub fn effective_count(plan: &Plan) -> usize {
    plan.effective_policies.as_ref().map(Vec::len).unwrap_or(0)
}
