//! The confirmation/close policy of an apply, a pure function of the plan: what must be
//! confirmed before anything is sent (the typed `yes`, then each closed account's name), or why
//! the apply is refused without asking (`--auto-approve` never covers a close that `--allow-close
//! NAME` does not name; no terminal to ask on). Also the texts of every refusal and cancellation
//! of an apply, so the CLI and the TUI say the same. No I/O; the frontends only differ in how
//! they ask.

use crate::plan::{Action, Plan};
use std::fmt;

/// One thing the operator must confirm, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    /// Apply these changes: the word `yes`.
    Apply,
    /// Close this account (it cannot be undone by vend): its name.
    Close(String),
}

/// How the operator consents to an apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Consent {
    /// `--auto-approve`, with the accounts `--allow-close` names.
    Auto { allow_close: Vec<String> },
    /// Ask; `terminal`: whether there is a terminal to ask on.
    Ask { terminal: bool },
}

/// Why an apply was refused before anything was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A saved (or reviewed) plan that no longer holds: the reason `app::stale_saved_plan` gives
    /// (workspace changed, what it touches moved, or its promise broke).
    Stale(String),
    /// The plan has errors.
    NotApplyable,
    /// The checks before an apply (`governance::before_apply`: approvals, close quota).
    Guard(String),
    /// `--auto-approve` with closes that no `--allow-close` names.
    CloseNotAllowed { missing: Vec<String> },
    /// Nothing to confirm on.
    NoTerminal,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Stale(why) | Refusal::Guard(why) => f.write_str(why),
            Refusal::NotApplyable => {
                f.write_str("the plan has errors and cannot be applied; fix them and plan again")
            }
            Refusal::CloseNotAllowed { missing } => {
                let flags: Vec<String> = missing.iter().map(|n| format!("--allow-close {n}")).collect();
                write!(
                    f,
                    "the plan closes account(s) {}; a close is never auto-approved: add {}",
                    missing.join(", "),
                    flags.join(" ")
                )
            }
            Refusal::NoTerminal => f.write_str(
                "no terminal to confirm on; review the plan, then run `vend apply FILE --auto-approve` with a saved plan",
            ),
        }
    }
}

/// The operator did not confirm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cancelled {
    /// Anything but `yes`.
    Declined,
    /// A close confirmed with another name.
    WrongName { typed: String, name: String },
}

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cancelled::Declined => f.write_str("Apply cancelled."),
            Cancelled::WrongName { typed, name } => write!(f, "Apply cancelled: '{typed}' is not '{name}'."),
        }
    }
}

/// What a plan without changes says.
pub const NOTHING_TO_APPLY: &str = "No changes. Nothing to apply.";

/// Why an apply stopped when the shared lock was lost while it ran.
pub fn lock_lost(why: &str) -> String {
    format!(
        "the apply stopped before its next step because the shared lock is no longer ours: {why}; \
         plan again once you know who holds it"
    )
}

/// The accounts the plan closes, in plan order — the closes that are sent: a change excluded
/// by the reviewer (or depending on an excluded one) is not.
pub fn closes(plan: &Plan) -> Vec<String> {
    let excluded = crate::engine::excluded_closure(plan);
    plan.changes
        .iter()
        .filter(|c| c.action == Action::Close && !excluded.contains(&c.address))
        .map(|c| c.address.key().to_string())
        .collect()
}

/// What an operator asked on a terminal must confirm: `yes`, then each closed account's name.
pub fn asks(plan: &Plan) -> Vec<Ask> {
    std::iter::once(Ask::Apply).chain(closes(plan).into_iter().map(Ask::Close)).collect()
}

/// What must be confirmed before `plan` is applied with `consent` (empty: nothing to ask), or
/// why the apply is refused: with `--auto-approve` every close needs its `--allow-close NAME`;
/// without it, the operator is asked, which needs a terminal.
pub fn required(plan: &Plan, consent: &Consent) -> Result<Vec<Ask>, Refusal> {
    match consent {
        Consent::Auto { allow_close } => {
            let missing: Vec<String> =
                closes(plan).into_iter().filter(|n| !allow_close.contains(n)).collect();
            if missing.is_empty() { Ok(vec![]) } else { Err(Refusal::CloseNotAllowed { missing }) }
        }
        Consent::Ask { terminal: false } => Err(Refusal::NoTerminal),
        Consent::Ask { terminal: true } => Ok(asks(plan)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Basis, Change};

    /// A change as a plan file holds it (the JSON contract, so the test does not depend on the
    /// in-memory payload types).
    fn change(address: &str, action: Action) -> Change {
        let action = serde_json::to_value(action).unwrap();
        serde_json::from_value(serde_json::json!({
            "address": address, "kind": "account", "action": action,
            "before": null, "after": null, "depends_on": [], "reason": ""
        }))
        .unwrap()
    }

    fn plan(changes: Vec<Change>) -> Plan {
        Plan::new(Basis::default(), changes, vec![])
    }

    fn closing() -> Plan {
        plan(vec![
            change("account:a", Action::Create),
            change("account:old-1", Action::Close),
            change("account:old-2", Action::Close),
        ])
    }

    #[test]
    fn asked_on_a_terminal_it_is_yes_then_each_closed_name() {
        let asks = required(&closing(), &Consent::Ask { terminal: true }).unwrap();
        assert_eq!(asks, vec![Ask::Apply, Ask::Close("old-1".into()), Ask::Close("old-2".into())]);
        let plain = plan(vec![change("account:a", Action::Create)]);
        assert_eq!(required(&plain, &Consent::Ask { terminal: true }).unwrap(), vec![Ask::Apply]);
    }

    #[test]
    fn without_a_terminal_nothing_is_asked_and_the_apply_is_refused() {
        let why = required(&closing(), &Consent::Ask { terminal: false }).unwrap_err();
        assert_eq!(why, Refusal::NoTerminal);
        assert_eq!(
            why.to_string(),
            "no terminal to confirm on; review the plan, then run `vend apply FILE --auto-approve` with a saved plan"
        );
    }

    #[test]
    fn auto_approve_never_covers_a_close_it_does_not_name() {
        let p = closing();
        let why = required(&p, &Consent::Auto { allow_close: vec!["old-2".into()] }).unwrap_err();
        assert_eq!(why, Refusal::CloseNotAllowed { missing: vec!["old-1".into()] });
        assert_eq!(
            why.to_string(),
            "the plan closes account(s) old-1; a close is never auto-approved: add --allow-close old-1"
        );
        let none = required(&p, &Consent::Auto { allow_close: vec![] }).unwrap_err();
        assert!(none.to_string().ends_with("add --allow-close old-1 --allow-close old-2"), "{none}");
        let all = Consent::Auto { allow_close: vec!["old-1".into(), "old-2".into()] };
        assert_eq!(required(&p, &all).unwrap(), vec![]);
        let plain = plan(vec![change("account:a", Action::Create)]);
        assert_eq!(required(&plain, &Consent::Auto { allow_close: vec![] }).unwrap(), vec![]);
    }

    #[test]
    fn an_excluded_close_is_not_sent_so_not_asked_for() {
        let mut p = closing();
        p.excluded = Some(serde_json::json!(["account:old-1"]));
        assert_eq!(closes(&p), vec!["old-2".to_string()]);
        assert_eq!(asks(&p), vec![Ask::Apply, Ask::Close("old-2".into())]);
    }

    #[test]
    fn cancellations_say_what_was_typed() {
        assert_eq!(Cancelled::Declined.to_string(), "Apply cancelled.");
        let wrong = Cancelled::WrongName { typed: "x".into(), name: "old-1".into() };
        assert_eq!(wrong.to_string(), "Apply cancelled: 'x' is not 'old-1'.");
    }
}
