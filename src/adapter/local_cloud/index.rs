//! The in-process cloud's bookkeeping beside its data: `Index` (id -> position in the state's
//! lists, e-mails, launched names, ids held by idempotency tokens) so that every lookup of a
//! call is a hash lookup instead of a scan; `Touched` (what the running call changed, by id)
//! from which `journal` writes the call's after-images; and, in debug builds, the checks that
//! keep both honest after every call (the index equals one built from scratch, everything that
//! changed was touched, a refused call changed nothing). It enforces no AWS rule and does no I/O.

use super::Extras;
use crate::model::State;
use std::collections::{BTreeSet, HashMap, HashSet};

/// Positions of the state's top-level entries by id, and the secondary keys the rules look up.
/// The lists keep insertion order (sorted on load); `read_state` and the journal sort copies.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Index {
    pub ous: HashMap<String, usize>,
    pub accounts: HashMap<String, usize>,
    pub requests: HashMap<String, usize>,
    pub policies: HashMap<String, usize>,
    pub portfolios: HashMap<String, usize>,
    pub products: HashMap<String, usize>,
    pub provisioned: HashMap<String, usize>,
    /// Lower-cased e-mail -> how many accounts have it.
    pub emails: HashMap<String, usize>,
    /// (account id, name) -> how many provisioned products have them.
    pub launched: HashMap<(String, String), usize>,
    /// Ids named by the outcomes stored for idempotency tokens (never minted again).
    pub token_ids: HashSet<String>,
    /// Identity Center assignment requests in progress, by assignment (`access::flight_key`).
    pub assignments_in_flight: HashMap<String, String>,
}

fn positions<T>(rows: &[T], key: impl Fn(&T) -> &str) -> HashMap<String, usize> {
    rows.iter().enumerate().map(|(i, r)| (key(r).to_string(), i)).collect()
}

fn count<K: std::hash::Hash + Eq>(keys: impl Iterator<Item = K>) -> HashMap<K, usize> {
    let mut out = HashMap::new();
    for k in keys {
        *out.entry(k).or_insert(0) += 1;
    }
    out
}

impl Index {
    pub fn build(s: &State, x: &Extras) -> Index {
        Index {
            ous: positions(&s.organizational_units, |o| &o.id),
            accounts: positions(&s.accounts, |a| &a.id),
            requests: positions(&s.create_account_requests, |r| &r.id),
            policies: positions(&s.policies, |p| &p.id),
            portfolios: positions(&s.portfolios, |p| &p.id),
            products: positions(&s.products, |p| &p.id),
            provisioned: positions(&s.provisioned_products, |p| &p.id),
            emails: count(s.accounts.iter().map(|a| a.email.to_ascii_lowercase())),
            launched: count(s.provisioned_products.iter().map(|p| (p.account_id.clone(), p.name.clone()))),
            token_ids: x
                .tokens
                .values()
                .flat_map(|o| [o.id.clone(), o.artifact_id.clone()])
                .flatten()
                .collect(),
            assignments_in_flight: x
                .assignment_requests
                .iter()
                .filter_map(|(id, r)| r.in_flight().map(|k| (k, id.clone())))
                .collect(),
        }
    }
}

/// Add `row` (whose id is `id`) at the end of `rows`.
pub(super) fn insert<T>(rows: &mut Vec<T>, pos: &mut HashMap<String, usize>, id: &str, row: T) {
    pos.insert(id.to_string(), rows.len());
    rows.push(row);
}

/// Remove the row with `id` (the last row takes its place), returning it.
pub(super) fn remove<T>(
    rows: &mut Vec<T>,
    pos: &mut HashMap<String, usize>,
    id: &str,
    key: impl Fn(&T) -> &str,
) -> Option<T> {
    let i = pos.remove(id)?;
    let row = rows.swap_remove(i);
    if let Some(moved) = rows.get(i) {
        pos.insert(key(moved).to_string(), i);
    }
    Some(row)
}

/// Insert into a sorted list, keeping it sorted and free of duplicates; false if present.
pub(super) fn insert_sorted<T: Ord>(v: &mut Vec<T>, item: T) -> bool {
    match v.binary_search(&item) {
        Ok(_) => false,
        Err(i) => {
            v.insert(i, item);
            true
        }
    }
}

/// Remove from a sorted list; false if absent.
pub(super) fn remove_sorted<T: Ord>(v: &mut Vec<T>, item: &T) -> bool {
    match v.binary_search(item) {
        Ok(i) => {
            v.remove(i);
            true
        }
        Err(_) => false,
    }
}

/// What the running call changed, by id: the journal records the after-image of each (or its
/// absence). Policy attachments are kept apart from the policies, so that attaching
/// FullAWSAccess to the 10,000th account records one pair, not a list of 10,000 targets.
#[derive(Debug, Default)]
pub(super) struct Touched {
    pub organization: bool,
    /// `State::launch_path` (Service Catalog's Organizations access, buckets) changed.
    pub launch_path: bool,
    /// `State::access`'s settings (trusted access, the Identity Center instance) changed.
    pub access: bool,
    /// Accounts whose access rows (read or not, assignments, contacts) changed: recorded per
    /// account, so that vending the 1,000th account does not rewrite 1,000 rows.
    pub access_accounts: BTreeSet<String>,
    pub ous: BTreeSet<String>,
    pub accounts: BTreeSet<String>,
    pub requests: BTreeSet<String>,
    /// Policies whose fields other than `target_ids` changed (or that came or went).
    pub policies: BTreeSet<String>,
    /// (policy id, target id) pairs attached or detached.
    pub attachments: BTreeSet<(String, String)>,
    pub portfolios: BTreeSet<String>,
    pub products: BTreeSet<String>,
    pub provisioned: BTreeSet<String>,
    pub templates: BTreeSet<String>,
    pub tokens: BTreeSet<String>,
    pub pending_accounts: BTreeSet<String>,
    pub share_polls: BTreeSet<String>,
    pub records: BTreeSet<String>,
    pub assignment_requests: BTreeSet<String>,
}

/// Debug builds only: after a successful call, everything that differs from `before` must have
/// been touched (else the journal would lose it); after a failed one, nothing may differ.
#[cfg(debug_assertions)]
pub(super) mod verify {
    use super::{Extras, Index, State, Touched};
    use std::collections::{BTreeMap, BTreeSet};

    fn by_id<T: PartialEq>(rows: &[T], key: impl Fn(&T) -> &str) -> BTreeMap<&str, &T> {
        rows.iter().map(|r| (key(r), r)).collect()
    }

    /// Ids whose entries differ between two lists (added, removed or changed).
    fn changed<'a, T: PartialEq>(a: &'a [T], b: &'a [T], key: impl Fn(&T) -> &str + Copy) -> Vec<String> {
        let (a, b) = (by_id(a, key), by_id(b, key));
        let ids: BTreeSet<&str> = a.keys().chain(b.keys()).copied().collect();
        ids.into_iter().filter(|id| a.get(id) != b.get(id)).map(str::to_string).collect()
    }

    fn changed_keys<V: PartialEq>(a: &BTreeMap<String, V>, b: &BTreeMap<String, V>) -> Vec<String> {
        let ids: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        ids.into_iter().filter(|k| a.get(*k) != b.get(*k)).cloned().collect()
    }

    fn covered(what: &str, changed: Vec<String>, touched: &BTreeSet<String>) {
        let missed: Vec<&String> = changed.iter().filter(|id| !touched.contains(*id)).collect();
        debug_assert!(
            missed.is_empty(),
            "local cloud: {what} changed but not touched (the journal would lose them): {missed:?}"
        );
    }

    pub fn after_success(before: &(State, Extras), s: &State, x: &Extras, t: &Touched, idx: &Index) {
        let (b, bx) = before;
        debug_assert!(
            t.organization || b.organization == s.organization,
            "organization changed, not touched"
        );
        debug_assert!(t.launch_path || b.launch_path == s.launch_path, "launch path changed, not touched");
        access_covered(b.access.as_ref(), s.access.as_ref(), t);
        covered("OUs", changed(&b.organizational_units, &s.organizational_units, |o| &o.id), &t.ous);
        covered("accounts", changed(&b.accounts, &s.accounts, |a| &a.id), &t.accounts);
        covered(
            "requests",
            changed(&b.create_account_requests, &s.create_account_requests, |r| &r.id),
            &t.requests,
        );
        let bare = |ps: &[crate::model::Policy]| {
            ps.iter().map(|p| crate::model::Policy { target_ids: vec![], ..p.clone() }).collect::<Vec<_>>()
        };
        covered("policies", changed(&bare(&b.policies), &bare(&s.policies), |p| &p.id), &t.policies);
        let pairs = |ps: &[crate::model::Policy]| {
            ps.iter()
                .flat_map(|p| p.target_ids.iter().map(|t| (p.id.clone(), t.clone())))
                .collect::<BTreeSet<_>>()
        };
        let (pa, pb) = (pairs(&b.policies), pairs(&s.policies));
        let missed: Vec<_> = pa.symmetric_difference(&pb).filter(|p| !t.attachments.contains(*p)).collect();
        debug_assert!(missed.is_empty(), "attachments changed, not touched: {missed:?}");
        covered("portfolios", changed(&b.portfolios, &s.portfolios, |p| &p.id), &t.portfolios);
        covered("products", changed(&b.products, &s.products, |p| &p.id), &t.products);
        covered(
            "provisioned products",
            changed(&b.provisioned_products, &s.provisioned_products, |p| &p.id),
            &t.provisioned,
        );
        covered("templates", changed_keys(&bx.templates, &x.templates), &t.templates);
        covered("tokens", changed_keys(&bx.tokens, &x.tokens), &t.tokens);
        covered(
            "pending accounts",
            changed_keys(&bx.pending_accounts, &x.pending_accounts),
            &t.pending_accounts,
        );
        covered("share polls", changed_keys(&bx.share_polls, &x.share_polls), &t.share_polls);
        covered("records", changed_keys(&bx.records, &x.records), &t.records);
        covered(
            "assignment requests",
            changed_keys(&bx.assignment_requests, &x.assignment_requests),
            &t.assignment_requests,
        );
        sorted_lists(s);
        debug_assert!(*idx == Index::build(s, x), "local cloud: the index drifted from the state");
    }

    /// `State::access`: its settings changed only if touched, each account's rows only if that
    /// account is touched (the journal records them per account).
    fn access_covered<'a>(
        b: Option<&'a crate::model::Access>,
        s: Option<&'a crate::model::Access>,
        t: &Touched,
    ) {
        let settings = |a: Option<&crate::model::Access>| {
            a.map(|a| (a.account_management_access, a.identity_center.clone())).unwrap_or_default()
        };
        debug_assert!(t.access || settings(b) == settings(s), "access settings changed, not touched");
        type Rows<'a> = (bool, Vec<&'a crate::model::Assignment>, Vec<&'a crate::model::AlternateContact>);
        let rows = |a: Option<&'a crate::model::Access>| {
            let mut by: BTreeMap<&str, Rows> = BTreeMap::new();
            if let Some(a) = a {
                for id in &a.read_accounts {
                    by.entry(id).or_default().0 = true;
                }
                for x in &a.assignments {
                    by.entry(&x.account_id).or_default().1.push(x);
                }
                for x in &a.contacts {
                    by.entry(&x.account_id).or_default().2.push(x);
                }
            }
            by
        };
        let (rb, rs) = (rows(b), rows(s));
        let ids: BTreeSet<&str> = rb.keys().chain(rs.keys()).copied().collect();
        let changed = ids.into_iter().filter(|id| rb.get(id) != rs.get(id)).map(str::to_string).collect();
        covered("access rows", changed, &t.access_accounts);
    }

    /// The nested lists stay sorted (they are kept so on every insert).
    fn sorted_lists(s: &State) {
        let mut copy = s.clone();
        copy.normalize();
        let nested = |s: &State| {
            let mut p: Vec<_> = s.policies.iter().map(|p| (p.id.clone(), p.target_ids.clone())).collect();
            p.sort();
            let mut f: Vec<_> = s
                .portfolios
                .iter()
                .map(|p| {
                    (
                        p.id.clone(),
                        p.product_ids.clone(),
                        p.principals.clone(),
                        p.shares.clone(),
                        p.launch_constraints.clone(),
                    )
                })
                .collect();
            f.sort();
            let mut v: Vec<_> = s
                .products
                .iter()
                .map(|p| (p.id.clone(), p.versions.iter().map(|v| v.id.clone()).collect::<Vec<_>>()))
                .collect();
            v.sort();
            (p, f, v, s.organization.root_policy_ids.clone())
        };
        debug_assert!(nested(s) == nested(&copy), "local cloud: a nested list is not sorted");
    }

    pub fn after_failure(before: &(State, Extras), s: &State, x: &Extras) {
        debug_assert!(before.0 == *s, "local cloud: a refused call changed the state");
        debug_assert!(before.1 == *x, "local cloud: a refused call changed what the journal keeps");
    }
}
