//! Dependency order: a stable topological sort of the changes. Among changes that are ready at
//! the same time, the phase of their (kind, action) decides, then a secondary key (OU depth),
//! then the address, so the same inputs always give the same order.

use super::{Action, Address, Change, Kind};
use std::collections::{BTreeMap, BTreeSet};

/// The phase of a change: creates flow from the organization down to pipelines, deletes flow
/// back up, closing accounts comes last.
pub fn phase(kind: Kind, action: Action) -> u8 {
    use Action::*;
    use Kind::*;
    match (kind, action) {
        (PolicyType | ServiceAccess | TemplateBucket, _) => 0,
        (Ou, Delete) => 18,
        (Ou, _) => 1,
        (Policy, Delete) => 17,
        (Policy, _) => 2,
        (Account, Close) => 19,
        (Account, _) => 3,
        (LaunchRole, Delete) => 13,
        (LaunchRole, _) => 4,
        (PolicyAttachment, Delete) => 5,
        (PolicyAttachment, _) => 4,
        (Product, Delete) => 16,
        (Product, _) => 6,
        (ProductVersion, Delete) => 15,
        (ProductVersion, _) => 7,
        (Portfolio, Delete) => 16,
        (Portfolio, _) => 8,
        (PortfolioProduct, Delete) => 14,
        (PortfolioProduct, _) => 9,
        (LaunchConstraint | PortfolioPrincipal | PortfolioShare, Delete) => 13,
        (LaunchConstraint | PortfolioPrincipal | PortfolioShare, _) => 10,
        (ProvisionedPipeline, Delete) => 12,
        (ProvisionedPipeline, _) => 11,
        // Who gets into an account and its contacts: after the account exists, removed before
        // the account is closed.
        (AccountAssignment | AlternateContact, Delete) => 13,
        (AccountAssignment | AlternateContact, _) => 4,
        // A managed permission set: before the assignments that use it, removed after them.
        (PermissionSet, Delete) => 14,
        (PermissionSet, _) => 3,
    }
}

/// Secondary key: parents before children when creating OUs, children first when deleting.
fn secondary(c: &Change) -> i64 {
    if c.kind == Kind::Ou {
        let depth = c.address.matches('/').count() as i64;
        if c.action == Action::Delete { -depth } else { depth }
    } else {
        0
    }
}

/// Keep only dependencies on changes in the plan, then sort topologically.
pub fn sort(mut changes: Vec<Change>) -> Vec<Change> {
    let present: BTreeSet<Address> = changes.iter().map(|c| c.address.clone()).collect();
    for c in &mut changes {
        c.depends_on.retain(|d| present.contains(d) && d != &c.address);
        c.depends_on.sort();
        c.depends_on.dedup();
    }
    let index: BTreeMap<Address, usize> =
        changes.iter().enumerate().map(|(i, c)| (c.address.clone(), i)).collect();
    let mut indegree = vec![0usize; changes.len()];
    let mut dependents: Vec<Vec<usize>> = vec![vec![]; changes.len()];
    for (i, c) in changes.iter().enumerate() {
        for d in &c.depends_on {
            if let Some(&j) = index.get(d) {
                indegree[i] += 1;
                dependents[j].push(i);
            }
        }
    }
    let key = |i: usize| {
        let c = &changes[i];
        (phase(c.kind, c.action), secondary(c), c.address.clone(), i)
    };
    let mut ready: BTreeSet<(u8, i64, Address, usize)> =
        (0..changes.len()).filter(|&i| indegree[i] == 0).map(key).collect();
    let mut order = Vec::with_capacity(changes.len());
    while let Some(first) = ready.pop_first() {
        let i = first.3;
        order.push(i);
        for &j in &dependents[i] {
            indegree[j] -= 1;
            if indegree[j] == 0 {
                ready.insert(key(j));
            }
        }
    }
    // A cycle cannot come out of the planner's rules; if one did, keep every change anyway.
    if order.len() < changes.len() {
        let placed: BTreeSet<usize> = order.iter().copied().collect();
        let mut rest: Vec<usize> = (0..changes.len()).filter(|i| !placed.contains(i)).collect();
        rest.sort_by_key(|&i| key(i));
        order.extend(rest);
    }
    let mut slots: Vec<Option<Change>> = changes.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}
