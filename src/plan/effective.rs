//! The organization as it will be after a plan (`Projection`: OU paths, account parents and the
//! SCPs attached to each target, from the state plus the plan's changes) and the
//! effective-policy preview built on it: for every existing account the plan touches (moved,
//! under an OU or root whose SCP set changes, or with its own SCPs changed) the effective SCP set
//! — the SCPs attached to the root, every OU on its path and the account itself — before and
//! after. Pure; also used by `plan::guardrails`.

use super::{AccountKeys, Action, Address, Change, Kind, Payload};
use crate::model::{Desired, State};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One account's effective SCPs before and after the plan (plan JSON: `effective_policies`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectivePolicy {
    pub account: String,
    pub account_id: String,
    /// OU path before and after ("" is the root).
    pub ou_before: String,
    pub ou_after: String,
    /// SCP names, sorted.
    pub before: Vec<String>,
    pub after: Vec<String>,
}

/// Target keys: `root`, `ou:<path>`, `account:<key>` (`AccountKeys`).
pub(crate) type Attached = BTreeMap<String, BTreeSet<String>>;

/// What exists before and after the plan, as far as the guardrails and the preview need.
/// The attachments after the plan are the ones before, overlaid by the targets the plan
/// touches (`changed`, `removed`): nothing is copied per account.
#[derive(Debug, Clone, Default)]
pub(crate) struct Projection {
    pub before: Attached,
    /// Targets whose SCP set the plan changes: their whole set after the plan.
    changed: Attached,
    /// Targets the plan deletes.
    removed: BTreeSet<String>,
    /// OU paths that exist after the plan.
    pub ous_after: BTreeSet<String>,
    /// Account key -> (id, parent path before, parent path after), for existing ACTIVE
    /// accounts that are not being closed (the management account left out).
    pub accounts: BTreeMap<String, (String, String, String)>,
    /// Accounts the plan creates: key -> parent path.
    pub created: BTreeMap<String, String>,
}

/// The parent path of an account after the change.
fn parent(c: &Change) -> Option<String> {
    c.after.as_ref().and_then(Payload::parent).map(str::to_string)
}

/// The OU id -> path map of a state, with the new names of the OUs the plan renames (`renamed`:
/// id -> name): the paths the plan's addresses use.
pub(crate) fn ou_paths<'s>(state: &'s State, renamed: &BTreeMap<&str, &'s str>) -> BTreeMap<String, String> {
    let by_id: BTreeMap<&str, _> = state.organizational_units.iter().map(|o| (o.id.as_str(), o)).collect();
    let name = |o: &'s crate::model::OrgUnit| renamed.get(o.id.as_str()).copied().unwrap_or(o.name.as_str());
    let mut out = BTreeMap::new();
    for o in &state.organizational_units {
        let mut names = vec![name(o)];
        let mut cur = o.parent_id.as_str();
        for _ in 0..16 {
            let Some(parent) = by_id.get(cur) else { break };
            names.push(name(parent));
            cur = parent.parent_id.as_str();
        }
        names.reverse();
        out.insert(o.id.clone(), names.join("/"));
    }
    out
}

impl Projection {
    pub(crate) fn new(state: &State, changes: &[Change], keys: &AccountKeys) -> Projection {
        let renamed: BTreeMap<&str, &str> = changes
            .iter()
            .filter(|c| c.kind == Kind::Ou && c.action == Action::Rename)
            .filter_map(|c| match (&c.before, &c.after) {
                (Some(Payload::Ou(b)), Some(Payload::Ou(a))) => Some((b.id.as_str(), a.name.as_str())),
                _ => None,
            })
            .collect();
        let paths = ou_paths(state, &renamed);
        let root = &state.organization.root_id;
        let parent_path = |id: &str| -> Option<String> {
            if id == root { Some(String::new()) } else { paths.get(id).cloned() }
        };
        let names: BTreeMap<&str, &str> =
            state.accounts.iter().map(|a| (a.id.as_str(), keys.key(a))).collect();
        let mut before = Attached::new();
        for p in state.policies.iter().filter(|p| p.policy_type == "SERVICE_CONTROL_POLICY") {
            for t in &p.target_ids {
                let key = if t == root {
                    Some("root".to_string())
                } else if let Some(path) = paths.get(t) {
                    Some(Address::ou(path).to_string())
                } else {
                    names.get(t.as_str()).map(|n| Address::account(n).to_string())
                };
                if let Some(key) = key {
                    before.entry(key).or_default().insert(p.name.clone());
                }
            }
        }
        let mut changed = Attached::new();
        let mut removed = BTreeSet::new();
        let mut ous_after: BTreeSet<String> = paths.values().cloned().collect();
        let mut moved: BTreeMap<String, String> = BTreeMap::new();
        let mut closing: BTreeSet<String> = BTreeSet::new();
        let mut created = BTreeMap::new();
        let touch = |changed: &mut Attached, removed: &mut BTreeSet<String>, target: &str| {
            removed.remove(target);
            changed
                .entry(target.to_string())
                .or_insert_with(|| before.get(target).cloned().unwrap_or_default());
        };
        for c in changes {
            let key = c.address.key();
            match (c.kind, c.action) {
                (Kind::PolicyAttachment, Action::Create | Action::Delete) => {
                    if let Some((policy, target)) = c.address.attachment() {
                        let target = target.to_string();
                        touch(&mut changed, &mut removed, &target);
                        if let Some(set) = changed.get_mut(&target) {
                            if c.action == Action::Create {
                                set.insert(policy.to_string());
                            } else {
                                set.remove(policy);
                            }
                        }
                    }
                }
                (Kind::Ou, Action::Create) => {
                    ous_after.insert(key.to_string());
                    let target = Address::ou(key).to_string();
                    touch(&mut changed, &mut removed, &target);
                    if let Some(set) = changed.get_mut(&target) {
                        set.insert("FullAWSAccess".into());
                    }
                }
                (Kind::Ou, Action::Delete) => {
                    ous_after.remove(key);
                    let target = Address::ou(key).to_string();
                    changed.remove(&target);
                    removed.insert(target);
                }
                (Kind::Account, Action::Create) => {
                    touch(&mut changed, &mut removed, &c.address);
                    if let Some(set) = changed.get_mut(c.address.as_str()) {
                        set.insert("FullAWSAccess".into());
                    }
                    created.insert(key.to_string(), parent(c).unwrap_or_default());
                }
                (Kind::Account, Action::Close) => {
                    closing.insert(key.to_string());
                }
                (Kind::Account, _) => {
                    if let Some(p) = parent(c) {
                        moved.insert(key.to_string(), p);
                    }
                }
                _ => {}
            }
        }
        let mut accounts = BTreeMap::new();
        for a in &state.accounts {
            let key = keys.key(a);
            if a.state != "ACTIVE"
                || closing.contains(key)
                || a.id == state.organization.management_account_id
            {
                continue;
            }
            let Some(from) = parent_path(&a.parent_id) else { continue };
            let to = moved.get(key).cloned().unwrap_or_else(|| from.clone());
            accounts.insert(key.to_string(), (a.id.clone(), from, to));
        }
        Projection { before, changed, removed, ous_after, accounts, created }
    }

    /// The SCPs attached to `target` (`root`, `ou:<path>`, `account:<name>`) after the plan.
    pub(crate) fn after_of(&self, target: &str) -> Option<&BTreeSet<String>> {
        if self.removed.contains(target) {
            None
        } else {
            self.changed.get(target).or_else(|| self.before.get(target))
        }
    }

    /// The SCPs attached to `target` before the plan.
    pub(crate) fn before_of(&self, target: &str) -> Option<&BTreeSet<String>> {
        self.before.get(target)
    }

    /// The SCPs of the root and every OU down to `path`, through `get`.
    fn down_to<'a>(get: impl Fn(&str) -> Option<&'a BTreeSet<String>>, path: &str) -> BTreeSet<String> {
        let mut out = get("root").cloned().unwrap_or_default();
        let mut prefix = String::new();
        for (i, part) in path.split('/').filter(|p| !p.is_empty()).enumerate() {
            if i > 0 {
                prefix.push('/');
            }
            prefix.push_str(part);
            if let Some(set) = get(Address::ou(&prefix).as_str()) {
                out.extend(set.iter().cloned());
            }
        }
        out
    }

    /// The effective SCPs of the OU at `path` after the plan (root and every OU down to it).
    pub(crate) fn effective_ou_after(&self, path: &str) -> BTreeSet<String> {
        Self::down_to(|t| self.after_of(t), path)
    }

    /// The effective SCPs of the OU at `path` before the plan.
    pub(crate) fn effective_ou_before(&self, path: &str) -> BTreeSet<String> {
        Self::down_to(|t| self.before_of(t), path)
    }
}

/// The effective-policy preview: existing accounts whose effective SCP set or OU changes.
pub fn preview(desired: &Desired, state: &State, changes: &[Change]) -> Vec<EffectivePolicy> {
    preview_of(&Projection::new(state, changes, &AccountKeys::new(desired, state)))
}

/// The preview from a projection. The OU part of an effective set is computed once per path
/// (an organization has few OUs and many accounts); an account that stays where it is, under
/// an OU chain whose SCPs do not change and with its own SCPs unchanged, is skipped without
/// building its sets.
pub(crate) fn preview_of(p: &Projection) -> Vec<EffectivePolicy> {
    let mut ou_before: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut ou_after: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (_, from, to) in p.accounts.values() {
        if !ou_before.contains_key(from.as_str()) {
            ou_before.insert(from.as_str(), p.effective_ou_before(from));
        }
        if !ou_after.contains_key(to.as_str()) {
            ou_after.insert(to.as_str(), p.effective_ou_after(to));
        }
    }
    let same_chain: BTreeSet<&str> = ou_before
        .iter()
        .filter(|(path, set)| ou_after.get(*path) == Some(*set))
        .map(|(path, _)| *path)
        .collect();
    let empty = BTreeSet::new();
    let mut out = vec![];
    for (name, (id, from, to)) in &p.accounts {
        let key = Address::account(name);
        let own_before = p.before_of(&key).unwrap_or(&empty);
        let own_after = p.after_of(&key).unwrap_or(&empty);
        if from == to && own_before == own_after && same_chain.contains(from.as_str()) {
            continue;
        }
        let mut before = ou_before.get(from.as_str()).cloned().unwrap_or_default();
        before.extend(own_before.iter().cloned());
        let mut after = ou_after.get(to.as_str()).cloned().unwrap_or_default();
        after.extend(own_after.iter().cloned());
        if before != after || from != to {
            out.push(EffectivePolicy {
                account: name.clone(),
                account_id: id.clone(),
                ou_before: from.clone(),
                ou_after: to.clone(),
                before: before.into_iter().collect(),
                after: after.into_iter().collect(),
            });
        }
    }
    out
}

/// Who may sign in to one account before and after the plan (plan JSON: `effective_access`),
/// for every account whose Identity Center assignments the plan changes: `group -> permission
/// set` entries by name (an id the state cannot name is shown as it is), sorted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectiveAccess {
    pub account: String,
    /// `null` while the plan creates the account.
    pub account_id: Option<String>,
    pub before: Vec<String>,
    pub after: Vec<String>,
}

fn access_entry(group: &str, permission_set: &str) -> String {
    format!("{group} -> {permission_set}")
}

/// The access preview of `changes` against `state` (see [`EffectiveAccess`]).
pub fn access_preview(state: &State, changes: &[Change]) -> Vec<EffectiveAccess> {
    let mut out: BTreeMap<String, EffectiveAccess> = BTreeMap::new();
    let ic = state.access.as_ref().and_then(|a| a.identity_center.as_ref());
    for c in changes.iter().filter(|c| c.kind == Kind::AccountAssignment) {
        let Some(Payload::Assignment(p)) = c.after.as_ref().or(c.before.as_ref()) else { continue };
        let e = out.entry(p.account.clone()).or_insert_with(|| {
            let before: BTreeSet<String> = match (&p.account_id, state.access.as_ref()) {
                (Some(id), Some(access)) => access
                    .assignments
                    .iter()
                    .filter(|a| &a.account_id == id)
                    .map(|a| {
                        let group = ic
                            .and_then(|ic| ic.groups.iter().find(|g| g.id == a.principal_id))
                            .map(|g| g.display_name.clone())
                            .unwrap_or_else(|| format!("{} {}", a.principal_type, a.principal_id));
                        let set = ic
                            .and_then(|ic| ic.permission_sets.iter().find(|s| s.arn == a.permission_set_arn))
                            .map(|s| s.name.clone())
                            .unwrap_or_else(|| a.permission_set_arn.clone());
                        access_entry(&group, &set)
                    })
                    .collect(),
                _ => BTreeSet::new(),
            };
            EffectiveAccess {
                account: p.account.clone(),
                account_id: p.account_id.clone(),
                after: before.iter().cloned().collect(),
                before: before.into_iter().collect(),
            }
        });
        let entry = access_entry(&p.group, &p.permission_set);
        match c.action {
            Action::Delete => e.after.retain(|x| x != &entry),
            _ if !e.after.contains(&entry) => {
                e.after.push(entry);
                e.after.sort();
            }
            _ => {}
        }
    }
    out.into_values().collect()
}
