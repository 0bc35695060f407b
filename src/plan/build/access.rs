//! Who gets into an account and whom AWS tells about it (issue 18): IAM Identity Center account
//! assignments (`account_assignment:<account>/<group>/<permission set>`) and the account's
//! alternate contacts (`alternate_contact:<account>/<type>`), from the account blueprint's
//! `access:`/`contacts:` and the request's own `access:`.
//!
//! AWS keeps no tags on either, so which ones are vend's is decided by the blueprint family
//! (`DesiredAccount::owned`): an assignment or contact it declares — or lets a request declare —
//! in any published version is vend's; the rest is left alone. A missing one is created, an owned
//! one no longer asked for is deleted, a contact that differs is put again (an assignment has no
//! update: it is immutable). Contacts of a member account need Organizations trusted access for
//! AWS Account Management (`service_access:account`), planned before them when off and never
//! turned off. A state without `access` (written before vend read it) plans none of this and says
//! so for every account that asks for some.

use super::*;
use crate::model::{AccessEntry, DesiredAccount, IdentityCenter, Lifecycle};

/// AWS Account Management's service principal, as `service_access:account` names it.
const ACCOUNT: &str = "account";
const ACCOUNT_PRINCIPAL: &str = "account.amazonaws.com";
/// Account assignments vend makes are for Identity Center groups only.
pub(crate) const GROUP: &str = "GROUP";

/// Where a requested account stands for access planning.
enum AccessTarget {
    /// Created by this plan: no id yet, nothing assigned.
    New,
    Existing(String),
}

impl<'a> Planner<'a> {
    pub(super) fn access(&mut self) {
        let d: &'a Desired = self.d;
        let s: &'a State = self.s;
        let wants: Vec<&'a DesiredAccount> = d
            .accounts
            .values()
            .filter(|a| a.lifecycle != Lifecycle::Close)
            .filter(|a| !a.access.is_empty() || !a.contacts.is_empty() || !a.owned.is_empty())
            .collect();
        if wants.is_empty() {
            return;
        }
        // An account that only owns (its version declares nothing) needs no error when its
        // access is unknown: nothing is created, and what vend would remove cannot be known.
        let declares = |da: &DesiredAccount| !da.access.is_empty() || !da.contacts.is_empty();
        let Some(access) = s.access.as_ref() else {
            for da in wants.into_iter().filter(|da| declares(da)) {
                self.error(
                    "access-unknown",
                    &da.origin,
                    format!(
                        "account request '{}' declares access or contacts, but the state does not record access (Identity Center, alternate contacts): read it again (vend snapshot save --aws, or plan with --aws)",
                        da.name
                    ),
                );
            }
            return;
        };
        let mut contact_writes: Vec<usize> = vec![];
        for da in wants {
            let target = match self.fates.get(&da.name) {
                Some(AccountFate::New) => AccessTarget::New,
                Some(AccountFate::Existing(id)) => AccessTarget::Existing(id.clone()),
                _ => continue,
            };
            if let AccessTarget::Existing(id) = &target
                && access.read_accounts.binary_search(id).is_err()
            {
                if !declares(da) {
                    continue;
                }
                self.error(
                    "access-unknown",
                    &da.origin,
                    format!(
                        "account request '{}': the state does not record the access and contacts of account {id} (they were not read): read the state again",
                        da.name
                    ),
                );
                continue;
            }
            self.assignments(da, &target, access);
            contact_writes.extend(self.contacts(da, &target, access));
        }
        if !contact_writes.is_empty() && !access.account_management_access {
            self.enable_service_access(
                ACCOUNT,
                ACCOUNT_PRINCIPAL,
                "alternate contacts of member accounts need AWS Account Management's trusted access in Organizations",
                &contact_writes,
            );
        }
    }

    /// The account's id (`None` while this plan creates it) and what a change on it depends on.
    fn access_target(da: &DesiredAccount, target: &AccessTarget) -> (Option<String>, Vec<Address>) {
        match target {
            AccessTarget::New => (None, vec![Address::account(&da.name)]),
            AccessTarget::Existing(id) => (Some(id.clone()), vec![]),
        }
    }

    /// The group and permission set of an `access:` entry, or the plan error that says which
    /// does not exist (at the entry: the blueprint line or the request line).
    fn resolve_entry<'i>(
        &mut self,
        da: &DesiredAccount,
        e: &AccessEntry,
        ic: &'i IdentityCenter,
    ) -> Option<(&'i Group, PermissionSet)> {
        let group = ic.groups.iter().find(|g| g.display_name == e.group);
        // A managed permission set this plan creates has no ARN yet (`permission_sets.rs`).
        let set = ic.permission_sets.iter().find(|p| p.name == e.permission_set).cloned().or_else(|| {
            self.new_permission_sets
                .contains(&e.permission_set)
                .then(|| PermissionSet { name: e.permission_set.clone(), ..PermissionSet::default() })
        });
        if group.is_none() {
            self.error(
                "unknown-group",
                &e.origin,
                format!(
                    "account request '{}': group '{}' does not exist in the Identity Center identity store {} (create it there, or fix the name)",
                    da.name, e.group, ic.identity_store_id
                ),
            );
        }
        if set.is_none() {
            self.error(
                "unknown-permission-set",
                &e.origin,
                format!(
                    "account request '{}': permission set '{}' does not exist in Identity Center instance {} (create it there, or fix the name)",
                    da.name, e.permission_set, ic.instance_arn
                ),
            );
        }
        group.zip(set)
    }

    fn assignments(&mut self, da: &DesiredAccount, target: &AccessTarget, access: &'a Access) {
        let Some(ic) = access.identity_center.as_ref() else {
            if let Some(first) = da.access.first() {
                self.error(
                    "identity-center-missing",
                    &first.origin,
                    format!(
                        "account request '{}' asks for access through IAM Identity Center, but the organization has no Identity Center instance (enable it, or set identity_center: in catalog/vend.yaml to where it is administered)",
                        da.name
                    ),
                );
            }
            return;
        };
        let (account_id, deps) = Self::access_target(da, target);
        // IAM Identity Center administered from a delegated administrator cannot give or take
        // access to the management account (rule identitycenter.delegated-admin-management-account).
        let mgmt = self.s.organization.management_account_id.as_str();
        let denied = self
            .d
            .settings
            .identity_center
            .delegated_admin
            .as_deref()
            .filter(|admin| *admin != mgmt && account_id.as_deref() == Some(mgmt));
        let payload = |g: &Group, p: &PermissionSet| AssignmentState {
            account: da.name.clone(),
            account_id: account_id.clone(),
            group: g.display_name.clone(),
            group_id: Some(g.id.clone()),
            permission_set: p.name.clone(),
            permission_set_arn: (!p.arn.is_empty()).then(|| p.arn.clone()),
            instance_arn: ic.instance_arn.clone(),
        };
        // What the account has now, by names (an assignment whose group or permission set vend
        // cannot name is not vend's).
        let mut current: BTreeSet<(String, String)> = BTreeSet::new();
        if let Some(id) = &account_id {
            for a in access.assignments.iter().filter(|a| &a.account_id == id && a.principal_type == GROUP) {
                let g = ic.groups.iter().find(|g| g.id == a.principal_id);
                let p = ic.permission_sets.iter().find(|p| p.arn == a.permission_set_arn);
                if let (Some(g), Some(p)) = (g, p) {
                    current.insert((g.display_name.clone(), p.name.clone()));
                }
            }
        }
        let mut wanted: BTreeSet<(String, String)> = BTreeSet::new();
        for e in &da.access {
            let Some((g, p)) = self.resolve_entry(da, e, ic) else { continue };
            let p = &p;
            let mut deps = deps.clone();
            if p.arn.is_empty() {
                deps.push(Address::permission_set(&p.name));
            }
            wanted.insert((g.display_name.clone(), p.name.clone()));
            if current.contains(&(g.display_name.clone(), p.name.clone())) {
                continue;
            }
            if let Some(admin) = denied {
                self.delegated_admin_denied(da, &e.origin, admin, &g.display_name, &p.name);
                continue;
            }
            self.push(
                Kind::AccountAssignment,
                Address::account_assignment(&da.name, &g.display_name, &p.name),
                Action::Create,
                None,
                Some(Payload::Assignment(payload(g, p))),
                deps.clone(),
                format!("group {} signs in to this account with {}", g.display_name, p.name),
            );
        }
        for (group, set) in &current {
            if wanted.contains(&(group.clone(), set.clone())) || !da.owned.owns(group, set) {
                continue;
            }
            let g = ic.groups.iter().find(|g| &g.display_name == group);
            let p = ic.permission_sets.iter().find(|p| &p.name == set);
            let (Some(g), Some(p)) = (g, p) else { continue };
            if let Some(admin) = denied {
                self.delegated_admin_denied(da, &da.origin, admin, group, set);
                continue;
            }
            self.push(
                Kind::AccountAssignment,
                Address::account_assignment(&da.name, group, set),
                Action::Delete,
                Some(Payload::Assignment(payload(g, p))),
                None,
                vec![],
                format!("{}'s blueprint or request no longer gives {group} {set}", da.name),
            );
        }
    }

    /// The plan error for an assignment change on the management account while Identity Center
    /// is administered from the delegated administrator `admin`, which AWS refuses.
    fn delegated_admin_denied(
        &mut self,
        da: &DesiredAccount,
        origin: &Origin,
        admin: &str,
        group: &str,
        set: &str,
    ) {
        self.error(
            "delegated-admin-management-account",
            origin,
            format!(
                "account request '{}' is the management account: IAM Identity Center's delegated administrator {admin} (identity_center.delegated_admin in catalog/vend.yaml) cannot give or take {group}'s {set} access to it, only the management account can (remove the entry, or administer Identity Center from the management account)",
                da.name
            ),
        );
    }

    /// Plan the account's alternate contacts; the indexes of the changes that write one.
    fn contacts(&mut self, da: &DesiredAccount, target: &AccessTarget, access: &Access) -> Vec<usize> {
        let (account_id, deps) = Self::access_target(da, target);
        let current = |t: &str| {
            account_id.as_ref().and_then(|id| {
                access.contacts.iter().find(|c| &c.account_id == id && c.contact_type.eq_ignore_ascii_case(t))
            })
        };
        let state_of = |c: &AlternateContact| ContactState {
            account: da.name.clone(),
            account_id: Some(c.account_id.clone()),
            contact_type: c.contact_type.clone(),
            name: c.name.clone(),
            email: c.email.clone(),
            phone: c.phone.clone(),
            title: c.title.clone(),
        };
        let mut writes = vec![];
        let mut wanted: BTreeSet<String> = BTreeSet::new();
        for e in &da.contacts {
            let t = e.contact_type.to_ascii_uppercase();
            wanted.insert(t.clone());
            let after = ContactState {
                account: da.name.clone(),
                account_id: account_id.clone(),
                contact_type: t.clone(),
                name: e.name.clone(),
                email: e.email.clone(),
                phone: e.phone.clone(),
                title: e.title.clone(),
            };
            let address = Address::alternate_contact(&da.name, &t);
            let (action, before, reason) = match current(&t) {
                None => (Action::Create, None, format!("{} contact of this account", t.to_ascii_lowercase())),
                Some(c) => {
                    let before = state_of(c);
                    let mut diff = vec![];
                    for (field, b, a) in [
                        ("name", &before.name, &after.name),
                        ("email", &before.email, &after.email),
                        ("phone", &before.phone, &after.phone),
                        ("title", &before.title, &after.title),
                    ] {
                        if b != a {
                            diff.push(field);
                        }
                    }
                    if diff.is_empty() {
                        continue;
                    }
                    (
                        Action::Update,
                        Some(Payload::Contact(before)),
                        format!("the contact's {} differ from the blueprint", diff.join(", ")),
                    )
                }
            };
            writes.push(self.changes.len());
            self.push(
                Kind::AlternateContact,
                address,
                action,
                before,
                Some(Payload::Contact(after)),
                deps.clone(),
                reason,
            );
        }
        for t in &da.owned.contact_types {
            if wanted.contains(t) {
                continue;
            }
            let Some(c) = current(t) else { continue };
            // DeleteAlternateContact needs the trusted access too.
            writes.push(self.changes.len());
            self.push(
                Kind::AlternateContact,
                Address::alternate_contact(&da.name, t),
                Action::Delete,
                Some(Payload::Contact(state_of(c))),
                None,
                vec![],
                format!("{}'s blueprint no longer sets a {} contact", da.name, t.to_ascii_lowercase()),
            );
        }
        writes
    }
}
