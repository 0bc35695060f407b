//! What part of a plan is applied, and what a saved plan relies on. Exclusion closures (the
//! TUI's review and `--exclude` share them: excluding a change excludes everything that depends
//! on it), targeting (`--target`: a change and everything it depends on), the plan's `excluded`
//! list (every excluded address, in plan order), applyability of what is left, and the
//! comparison behind scoped staleness (issue 17): which changes of a saved plan a plan made now
//! plans differently ([`moved`]). Pure functions of plans; no I/O.

use super::model::{Address, Change, Plan};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The addresses a plan's `excluded` list leaves out, with everything that depends on them
/// (directly or not): a change whose dependency is not applied cannot be applied either.
pub fn excluded_closure(plan: &Plan) -> BTreeSet<Address> {
    let roots: BTreeSet<Address> = plan
        .excluded
        .as_ref()
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|x| x.as_str().and_then(|s| Address::parse(s).ok())).collect())
        .unwrap_or_default();
    // Roots that are no change of the plan stay in (a plan's list names changes of that plan).
    let start = roots.iter().map(|r| (r.clone(), r.clone())).collect();
    closure(plan, start).into_keys().collect()
}

/// Every change excluded with `roots` -> the root it goes with: the roots that are changes of
/// the plan themselves and, transitively, everything that depends on one.
pub fn exclusions(plan: &Plan, roots: &BTreeSet<Address>) -> BTreeMap<Address, Address> {
    let start = roots.iter().filter(|r| plan.change(r.as_str()).is_some()).map(|r| (r.clone(), r.clone()));
    closure(plan, start.collect())
}

/// `out` (excluded address -> its root) with everything depending on one of them.
fn closure(plan: &Plan, mut out: BTreeMap<Address, Address>) -> BTreeMap<Address, Address> {
    if out.is_empty() {
        return out;
    }
    // Dependencies point to earlier changes, so one pass in plan order is enough; loop anyway in
    // case a hand-edited plan breaks that order.
    loop {
        let before = out.len();
        for c in &plan.changes {
            if out.contains_key(&c.address) {
                continue;
            }
            if let Some(root) = c.depends_on.iter().find_map(|d| out.get(d)) {
                let root = root.clone();
                out.insert(c.address.clone(), root);
            }
        }
        if out.len() == before {
            return out;
        }
    }
}

/// `roots` with everything they depend on (directly or not) among the plan's changes.
pub fn dependencies(plan: &Plan, roots: &BTreeSet<Address>) -> BTreeSet<Address> {
    let by_address: BTreeMap<&Address, &Change> = plan.changes.iter().map(|c| (&c.address, c)).collect();
    let mut out: BTreeSet<Address> = BTreeSet::new();
    let mut todo: Vec<&Address> = roots.iter().collect();
    while let Some(a) = todo.pop() {
        let Some(c) = by_address.get(a) else { continue };
        if out.insert(c.address.clone()) {
            todo.extend(c.depends_on.iter());
        }
    }
    out
}

/// `--target` / `--exclude` addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub targets: Vec<Address>,
    pub excludes: Vec<Address>,
}

impl Selection {
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty() && self.excludes.is_empty()
    }
}

/// A `--target` / `--exclude` address that is no change of the plan, with close matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmatched {
    pub flag: &'static str,
    pub address: Address,
    pub close: Vec<Address>,
}

impl fmt::Display for Unmatched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} matches no change of the plan", self.flag, self.address)?;
        if !self.close.is_empty() {
            let list: Vec<&str> = self.close.iter().map(Address::as_str).collect();
            write!(f, " (did you mean {}?)", list.join(", "))?;
        }
        Ok(())
    }
}

/// Changes of `plan` whose address looks like `a`: same kind and one key contains the other
/// (case-insensitive), else any kind whose key contains `a`'s key; at most three.
fn close_matches(plan: &Plan, a: &Address) -> Vec<Address> {
    let key = a.key().to_lowercase();
    let near = |c: &&Change| {
        let k = c.address.key().to_lowercase();
        !key.is_empty() && (k.contains(&key) || key.contains(&k))
    };
    let mut found: Vec<Address> =
        plan.changes.iter().filter(|c| c.kind == a.kind()).filter(near).map(|c| c.address.clone()).collect();
    if found.is_empty() {
        found = plan.changes.iter().filter(near).map(|c| c.address.clone()).collect();
    }
    found.truncate(3);
    found
}

/// The changes `selection` leaves out: with targets, everything outside the targets and what
/// they depend on; with exclusions, the excluded changes and everything depending on them
/// (both: the targets' closure minus the exclusions'). An address that is no change of the plan
/// is an error.
pub fn select(plan: &Plan, selection: &Selection) -> Result<BTreeSet<Address>, Unmatched> {
    let check = |flag: &'static str, list: &[Address]| -> Result<BTreeSet<Address>, Unmatched> {
        list.iter()
            .map(|a| match plan.change(a.as_str()) {
                Some(_) => Ok(a.clone()),
                None => Err(Unmatched { flag, address: a.clone(), close: close_matches(plan, a) }),
            })
            .collect()
    };
    let targets = check("--target", &selection.targets)?;
    let excludes = check("--exclude", &selection.excludes)?;
    let wanted = if targets.is_empty() {
        plan.changes.iter().map(|c| c.address.clone()).collect()
    } else {
        dependencies(plan, &targets)
    };
    let dropped: BTreeSet<Address> = exclusions(plan, &excludes).into_keys().collect();
    Ok(plan
        .changes
        .iter()
        .filter(|c| !wanted.contains(&c.address) || dropped.contains(&c.address))
        .map(|c| c.address.clone())
        .collect())
}

/// `plan` with its `excluded` list: every address of `excluded` that is a change of the plan,
/// in plan order (none: no list). The plan id does not change: it covers basis and changes only.
pub fn with_excluded(mut plan: Plan, excluded: &BTreeSet<Address>) -> Plan {
    let list: Vec<Value> = plan
        .changes
        .iter()
        .filter(|c| excluded.contains(&c.address))
        .map(|c| Value::String(c.address.to_string()))
        .collect();
    plan.excluded = (!list.is_empty()).then_some(Value::Array(list));
    plan
}

/// The changes applied (not excluded), in plan order.
pub fn included(plan: &Plan) -> Vec<&Change> {
    let excluded = excluded_closure(plan);
    plan.changes.iter().filter(|c| !excluded.contains(&c.address)).collect()
}

/// Are there no error diagnostics, apart from those on a change the plan excludes? (An error
/// without an address, or on an included change, makes the plan unapplyable.)
pub fn applyable(plan: &Plan) -> bool {
    let excluded = excluded_closure(plan);
    !plan
        .diagnostics
        .iter()
        .any(|d| d.is_error() && !d.address.as_deref().is_some_and(|a| excluded.contains(a)))
}

/// A change of a saved plan that a plan made now (same workspace, current state) plans
/// differently: what it reads or writes moved since it was planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    pub address: Address,
    /// What differs, field by field (`before.parent_id: "ou-1" -> "ou-2"`); empty when the plan
    /// made now has no change at this address any more.
    pub fields: Vec<String>,
}

impl fmt::Display for Moved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.fields.is_empty() {
            write!(f, "{} changed since it was planned (it is not planned any more)", self.address)
        } else {
            write!(f, "{} changed since it was planned ({})", self.address, self.fields.join("; "))
        }
    }
}

/// The changes of `saved` that are applied (not excluded) and that `fresh` — the same workspace
/// planned against the state as it is now — plans differently: missing, or another action,
/// `before`, `after` or `depends_on`. A change's payloads carry what it relies on (the resource
/// as it was, its parent and target ids, the policy, portfolio and product ids, the ids of
/// what earlier changes create), so equal changes mean nothing it reads or writes moved.
pub fn moved(saved: &Plan, fresh: &Plan) -> Vec<Moved> {
    let now: BTreeMap<&Address, &Change> = fresh.changes.iter().map(|c| (&c.address, c)).collect();
    included(saved)
        .into_iter()
        .filter_map(|c| {
            let Some(n) = now.get(&c.address) else {
                return Some(Moved { address: c.address.clone(), fields: vec![] });
            };
            let mut fields = vec![];
            if c.action != n.action {
                fields.push(format!("action: {} -> {}", c.action, n.action));
            }
            diff_side("before", c.before_json(), n.before_json(), &mut fields);
            diff_side("after", c.after_json(), n.after_json(), &mut fields);
            if c.depends_on != n.depends_on {
                let list = |d: &[Address]| d.iter().map(Address::as_str).collect::<Vec<_>>().join(", ");
                fields.push(format!("depends_on: [{}] -> [{}]", list(&c.depends_on), list(&n.depends_on)));
            }
            (!fields.is_empty()).then(|| Moved { address: c.address.clone(), fields })
        })
        .collect()
}

/// The fields of one side that differ, as `side.field: was -> now` (values as short JSON).
fn diff_side(side: &str, was: Option<Value>, now: Option<Value>, out: &mut Vec<String>) {
    if was == now {
        return;
    }
    match (&was, &now) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                if a.get(k) != b.get(k) {
                    out.push(format!("{side}.{k}: {} -> {}", short(a.get(k)), short(b.get(k))));
                }
            }
        }
        _ => out.push(format!("{side}: {} -> {}", short(was.as_ref()), short(now.as_ref()))),
    }
}

/// A value as compact JSON, cut at 60 characters.
fn short(v: Option<&Value>) -> String {
    let text = v.map_or_else(|| "none".to_string(), Value::to_string);
    if text.chars().count() <= 60 {
        return text;
    }
    let cut: String = text.chars().take(57).collect();
    format!("{cut}...")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Diagnostic;
    use crate::plan::payload::{AccountState, AttachmentState, PortfolioProductState};
    use crate::plan::{Action, Basis, Payload};

    fn a(s: &str) -> Address {
        Address::parse(s).unwrap_or_else(|e| unreachable!("{e}"))
    }

    fn change(address: &str, action: Action, after: Option<Payload>, depends_on: &[&str]) -> Change {
        let address = a(address);
        Change {
            kind: address.kind(),
            address,
            action,
            before: None,
            after,
            depends_on: depends_on.iter().map(|d| a(d)).collect(),
            reason: String::new(),
        }
    }

    fn account(parent_id: &str, parent: &str) -> Payload {
        Payload::Account(AccountState {
            id: "123456789012".into(),
            name: "payments1".into(),
            email: "p@example.com".into(),
            state: "ACTIVE".into(),
            parent_id: Some(parent_id.into()),
            tags: Default::default(),
            parent: Some(Some(parent.into())),
        })
    }

    fn attachment(target_id: &str, policy_id: &str) -> Payload {
        Payload::Attachment(AttachmentState {
            policy: "policy1".into(),
            target: "ou:Workloads".into(),
            target_id: Some(target_id.into()),
            policy_id: Some(policy_id.into()),
        })
    }

    fn member(portfolio_id: &str) -> Payload {
        Payload::PortfolioProduct(PortfolioProductState {
            portfolio: "platform".into(),
            product: "product1".into(),
            portfolio_id: Some(portfolio_id.into()),
            product_id: Some("prod-1".into()),
        })
    }

    /// ou:A <- account:x <- provisioned_pipeline:x/p; ou:B <- account:y; policy:p alone.
    fn plan() -> Plan {
        Plan::new(
            Basis::default(),
            vec![
                change("ou:A", Action::Create, None, &[]),
                change("ou:B", Action::Create, None, &[]),
                change("policy:p", Action::Create, None, &[]),
                change("account:x", Action::Move, Some(account("ou-1a", "A")), &["ou:A"]),
                change("account:y", Action::Move, Some(account("ou-1b", "B")), &["ou:B"]),
                change("provisioned_pipeline:x/p", Action::Create, None, &["account:x"]),
            ],
            vec![],
        )
    }

    fn names(set: &BTreeSet<Address>) -> Vec<&str> {
        set.iter().map(Address::as_str).collect()
    }

    fn selection(targets: &[&str], excludes: &[&str]) -> Selection {
        Selection {
            targets: targets.iter().map(|t| a(t)).collect(),
            excludes: excludes.iter().map(|t| a(t)).collect(),
        }
    }

    #[test]
    fn excluding_a_change_excludes_what_depends_on_it() {
        let out = select(&plan(), &selection(&[], &["ou:A"])).unwrap_or_default();
        assert_eq!(names(&out), ["account:x", "ou:A", "provisioned_pipeline:x/p"]);
    }

    #[test]
    fn targeting_a_change_includes_what_it_depends_on() {
        let out = select(&plan(), &selection(&["provisioned_pipeline:x/p"], &[])).unwrap_or_default();
        assert_eq!(names(&out), ["account:y", "ou:B", "policy:p"], "only x's chain stays");
        let out = select(&plan(), &selection(&["account:x", "policy:p"], &[])).unwrap_or_default();
        assert_eq!(names(&out), ["account:y", "ou:B", "provisioned_pipeline:x/p"]);
    }

    #[test]
    fn targets_and_exclusions_together_are_the_targets_closure_minus_the_exclusions_closure() {
        let out = select(&plan(), &selection(&["provisioned_pipeline:x/p", "account:y"], &["ou:A"]))
            .unwrap_or_default();
        assert_eq!(names(&out), ["account:x", "ou:A", "policy:p", "provisioned_pipeline:x/p"]);
        // Written as the plan's excluded list, in plan order, read back by the engine's closure.
        let p = with_excluded(plan(), &out);
        let list: Vec<&str> = p
            .excluded
            .as_ref()
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(list, ["ou:A", "policy:p", "account:x", "provisioned_pipeline:x/p"]);
        assert_eq!(excluded_closure(&p), out);
        let kept: Vec<&str> = included(&p).iter().map(|c| c.address.as_str()).collect();
        assert_eq!(kept, ["ou:B", "account:y"]);
        assert_eq!(p.plan_id, plan().plan_id, "the id covers basis and changes only");
    }

    #[test]
    fn an_address_that_is_no_change_is_an_error_with_close_matches() {
        let err = select(&plan(), &selection(&["account:X"], &[])).err();
        let err = err.map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(err, "--target account:X matches no change of the plan (did you mean account:x?)");
        let err = select(&plan(), &selection(&[], &["ou:Nowhere"])).err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("--exclude ou:Nowhere matches no change of the plan"));
    }

    #[test]
    fn errors_on_excluded_changes_do_not_make_the_plan_unapplyable() {
        let mut p = plan();
        p.diagnostics.push(Diagnostic::error("apply-would-fail", "x fails").on("provisioned_pipeline:x/p"));
        assert!(!applyable(&p));
        let p = with_excluded(p, &[a("account:x")].into());
        assert!(applyable(&p), "the error is on a dependent of an excluded change");
        let mut q = p.clone();
        q.diagnostics.push(Diagnostic::error("scp-limit", "no address"));
        assert!(!applyable(&q), "an error without an address still counts");
        let mut q = p;
        q.diagnostics.push(Diagnostic::error("apply-would-fail", "y fails").on("account:y"));
        assert!(!applyable(&q), "an error on an included change still counts");
    }

    fn one(c: Change) -> Plan {
        Plan::new(Basis::default(), vec![c], vec![])
    }

    #[test]
    fn an_account_move_moved_when_its_destination_ou_or_its_source_changed() {
        let saved = one(change("account:x", Action::Move, Some(account("ou-1a", "A")), &[]));
        assert_eq!(moved(&saved, &saved.clone()), []);
        let fresh = one(change("account:x", Action::Move, Some(account("ou-2new", "A")), &[]));
        let m = moved(&saved, &fresh);
        assert_eq!(m.len(), 1);
        assert_eq!(
            m[0].to_string(),
            r#"account:x changed since it was planned (after.parent_id: "ou-1a" -> "ou-2new")"#
        );
        // Moved there meanwhile: the plan made now has nothing to do for it.
        let m = moved(&saved, &one(change("policy:p", Action::Create, None, &[])));
        assert_eq!(m[0].to_string(), "account:x changed since it was planned (it is not planned any more)");
        // Its destination now created by the plan: another dependency.
        let fresh = one(change("account:x", Action::Move, Some(account("ou-1a", "A")), &["ou:A"]));
        assert_eq!(moved(&saved, &fresh)[0].fields, ["depends_on: [] -> [ou:A]"]);
    }

    #[test]
    fn a_policy_attachment_moved_when_its_target_or_policy_changed() {
        let saved = one(change(
            "policy_attachment:region-guard@ou:Workloads",
            Action::Create,
            Some(attachment("ou-1", "p-1")),
            &[],
        ));
        let target = one(change(
            "policy_attachment:region-guard@ou:Workloads",
            Action::Create,
            Some(attachment("ou-2", "p-1")),
            &[],
        ));
        assert_eq!(moved(&saved, &target)[0].fields, [r#"after.target_id: "ou-1" -> "ou-2""#]);
        let policy = one(change(
            "policy_attachment:region-guard@ou:Workloads",
            Action::Create,
            Some(attachment("ou-1", "p-2")),
            &[],
        ));
        assert_eq!(moved(&saved, &policy)[0].fields, [r#"after.policy_id: "p-1" -> "p-2""#]);
    }

    #[test]
    fn a_portfolio_member_moved_when_its_portfolio_changed() {
        let saved = one(change(
            "portfolio_product:platform/service-pipeline",
            Action::Create,
            Some(member("port-1")),
            &[],
        ));
        let fresh = one(change(
            "portfolio_product:platform/service-pipeline",
            Action::Create,
            Some(member("port-2")),
            &[],
        ));
        assert_eq!(moved(&saved, &fresh)[0].fields, [r#"after.portfolio_id: "port-1" -> "port-2""#]);
        let update = one(change(
            "portfolio_product:platform/service-pipeline",
            Action::Delete,
            Some(member("port-1")),
            &[],
        ));
        assert_eq!(moved(&saved, &update)[0].fields, ["action: create -> delete"]);
    }

    #[test]
    fn unrelated_and_excluded_changes_do_not_count() {
        let saved = with_excluded(plan(), &[a("ou:B")].into());
        let mut changes = plan().changes;
        // account:y (excluded with ou:B) moves elsewhere; something new is planned too.
        changes[4] = change("account:y", Action::Move, Some(account("ou-9zzz", "B")), &["ou:B"]);
        changes.push(change("policy:q", Action::Create, None, &[]));
        let fresh = Plan::new(Basis::default(), changes, vec![]);
        assert_eq!(moved(&saved, &fresh), []);
        assert_eq!(moved(&plan(), &fresh).len(), 1, "without the exclusion account:y counts");
    }

    #[test]
    fn a_saved_plan_is_applyable_despite_excluded_errors_and_older_files_still_read() {
        let mut p = plan();
        p.diagnostics.push(Diagnostic::error("apply-would-fail", "x fails").on("account:x"));
        let sealed = with_excluded(p, &[a("ou:A")].into()).reseal();
        assert!(sealed.applyable);
        assert_eq!(sealed.integrity_problem(), None);
        // Saved before errors on excluded changes stopped counting: `false` still reads.
        let mut older = sealed.clone();
        older.applyable = false;
        older.digest = Some(older.compute_digest());
        assert_eq!(older.integrity_problem(), None);
        // Never `true` while an included change has an error.
        let mut bad = plan();
        bad.diagnostics.push(Diagnostic::error("apply-would-fail", "y fails").on("account:y"));
        let mut bad = with_excluded(bad, &[a("ou:A")].into()).reseal();
        assert!(!bad.applyable);
        bad.applyable = true;
        bad.digest = Some(bad.compute_digest());
        assert!(bad.integrity_problem().is_some_and(|w| w.contains("applyable is true")));
    }
}
