//! The effective-policy preview of a plan as lines: for each account whose effective SCP set or
//! OU the plan changes, the OU move, the SCPs it gains (`+`) and loses (`-`) and those it keeps.
//! Pure, like the rest of `render`; `plan_text` includes it before the diagnostics.

use super::{Line, Tone};
use crate::plan::{EffectivePolicy, Plan};

pub fn effective_text(plan: &Plan) -> Vec<Line> {
    let mut out = vec![];
    if let Some(list) = plan.effective_policies.as_ref().filter(|l| !l.is_empty()) {
        out.extend([Line::new(), Line::new().push("Effective SCPs (before -> after)", Tone::Heading)]);
        out.extend(effective_lines(list));
    }
    if let Some(list) = plan.effective_access.as_ref().filter(|l| !l.is_empty()) {
        out.extend([
            Line::new(),
            Line::new().push("Who gets in (Identity Center, after the plan)", Tone::Heading),
        ]);
        out.extend(access_lines(list));
    }
    out
}

/// The lines of each account's access after the plan: `+` what the plan gives, `-` what it
/// takes away, then what stays.
pub fn access_lines(list: &[crate::plan::effective::EffectiveAccess]) -> Vec<Line> {
    let mut out = vec![];
    for e in list {
        let id = e.account_id.clone().unwrap_or_else(|| "new".into());
        out.push(
            Line::new()
                .push(format!("    {}", e.account), Tone::Heading)
                .push(format!(" ({id})"), Tone::Muted),
        );
        for x in e.after.iter().filter(|x| !e.before.contains(x)) {
            out.push(Line::new().push(format!("        + {x}"), Tone::Create));
        }
        for x in e.before.iter().filter(|x| !e.after.contains(x)) {
            out.push(Line::new().push(format!("        - {x}"), Tone::Delete));
        }
        let kept: Vec<&str> = e.after.iter().filter(|x| e.before.contains(x)).map(String::as_str).collect();
        if !kept.is_empty() {
            out.push(Line::new().push(format!("          kept: {}", kept.join(", ")), Tone::Muted));
        }
    }
    out
}

/// The lines of each account's entry (no heading): shared with the TUI's plan review.
pub fn effective_lines(list: &[EffectivePolicy]) -> Vec<Line> {
    let ou = |p: &str| if p.is_empty() { "(root)".to_string() } else { p.to_string() };
    let mut out = vec![];
    for e in list {
        let mut head = Line::new()
            .push(format!("    {}", e.account), Tone::Heading)
            .push(format!(" ({})", e.account_id), Tone::Muted);
        if e.ou_before != e.ou_after {
            head = head.push(format!("  {} -> {}", ou(&e.ou_before), ou(&e.ou_after)), Tone::Move);
        } else {
            head = head.push(format!("  in {}", ou(&e.ou_after)), Tone::Muted);
        }
        out.push(head);
        for p in e.after.iter().filter(|p| !e.before.contains(p)) {
            out.push(Line::new().push(format!("        + {p}"), Tone::Create));
        }
        for p in e.before.iter().filter(|p| !e.after.contains(p)) {
            out.push(Line::new().push(format!("        - {p}"), Tone::Delete));
        }
        let kept: Vec<&str> = e.after.iter().filter(|p| e.before.contains(p)).map(String::as_str).collect();
        if !kept.is_empty() {
            out.push(Line::new().push(format!("          kept: {}", kept.join(", ")), Tone::Muted));
        }
    }
    out
}
