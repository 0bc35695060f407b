//! IAM Identity Center permission sets vend manages (issue 18, `catalog/permission_sets/`):
//! `permission_set:<name>`. Permission sets carry tags, so vend's ownership tag marks the ones
//! it manages (as portfolios): a file without a same-name set is a create (tagged), a tagged set
//! whose fields differ is an update (re-provisioned to the accounts it is assigned in), a
//! same-name set without the tag is refused unless the file says `lifecycle: adopt` (then an
//! `adopt` change adds the tag), and a tagged set whose file was removed is deleted — after the
//! assignments of it this plan deletes; one an account still uses (an `access:` entry, or an
//! assignment the state records that the plan keeps) is a plan error. With IAM Identity Center
//! administered from a delegated administrator, a set provisioned to the management account
//! cannot be updated, adopted or deleted (`delegated-admin-management-permission-set`).
//!
//! Names are unique in an Identity Center instance (CreatePermissionSet: ConflictException,
//! rule `identitycenter.permission-set-name-unique`), so a name is enough to find one.
//! Assignments of a set this plan creates depend on it: its ARN is `null` in their payload and
//! resolved at apply, as an account id is.

use super::*;
use crate::model::{Access, DesiredPermissionSet, IdentityCenter, PermissionSetDetails};

const ADOPT_PERMISSION_SET: &str = "lifecycle: adopt: vend takes over an existing permission set (adds the ownership tag; from now on its description, session duration and policies are what catalog/permission_sets/ says)";

impl<'a> Planner<'a> {
    fn permission_set_state(
        &self,
        ic: &IdentityCenter,
        name: &str,
        arn: Option<String>,
        dp: &DesiredPermissionSet,
        tags: Tags,
    ) -> PermissionSetState {
        PermissionSetState {
            name: name.to_string(),
            arn,
            instance_arn: ic.instance_arn.clone(),
            description: dp.description.clone(),
            session_duration: dp.session_duration.clone(),
            managed_policies: dp.managed_policies.clone(),
            inline_policy: dp.inline_policy.clone(),
            tags,
        }
    }

    /// Plan creates, updates, adoptions and deletes of managed permission sets.
    pub(super) fn permission_sets(&mut self) {
        let d: &'a Desired = self.d;
        let s: &'a State = self.s;
        let Some(access) = s.access.as_ref() else {
            for dp in d.permission_sets.values() {
                self.error(
                    "access-unknown",
                    &dp.origin,
                    format!(
                        "permission set '{}': the state does not record IAM Identity Center: read it again (vend snapshot save --aws, or plan with --aws)",
                        dp.name
                    ),
                );
            }
            return;
        };
        let Some(ic) = access.identity_center.as_ref() else {
            for dp in d.permission_sets.values() {
                self.error(
                    "identity-center-missing",
                    &dp.origin,
                    format!(
                        "permission set '{}': the organization has no IAM Identity Center instance (enable it, or set identity_center: in catalog/vend.yaml to where it is administered)",
                        dp.name
                    ),
                );
            }
            return;
        };
        let own = self.own.to_string();
        for (name, dp) in &d.permission_sets {
            let address = Address::permission_set(name);
            let Some(current) = ic.permission_sets.iter().find(|p| &p.name == name) else {
                let tags: Tags = [(own.clone(), "true".to_string())].into();
                let after = self.permission_set_state(ic, name, None, dp, tags);
                self.new_permission_sets.insert(name.clone());
                self.push(
                    Kind::PermissionSet,
                    address,
                    Action::Create,
                    None,
                    Some(Payload::PermissionSet(after)),
                    vec![],
                    "new permission set in catalog/permission_sets/",
                );
                continue;
            };
            let Some(details) = current.details.as_ref() else {
                self.error(
                    "access-unknown",
                    &dp.origin,
                    format!(
                        "permission set '{name}' exists ({}), but the state does not describe it (it was read before catalog/permission_sets/ named it): read the state again",
                        current.arn
                    ),
                );
                continue;
            };
            let managed = managed(&details.tags, &own);
            if !managed && !dp.adopt {
                self.refused.insert(address);
                self.error(
                    "unmanaged-conflict",
                    &dp.origin,
                    format!(
                        "a permission set named '{name}' already exists and vend does not manage it ({}): rename the file, or add `lifecycle: adopt` to take the existing permission set over",
                        current.arn
                    ),
                );
                continue;
            }
            let before = before_state(ic, name, &current.arn, details);
            let tags = merge_tags(&details.tags, &[(own.clone(), "true".to_string())].into());
            let after = self.permission_set_state(ic, name, Some(current.arn.clone()), dp, tags);
            let differ = differences(&before, &after);
            if managed && differ.is_empty() {
                continue;
            }
            if let Some(admin) = self.management_locked(ic, access, &current.arn) {
                self.refused.insert(address);
                let verb = if managed { "change" } else { "take over (tag)" };
                self.management_locked_error(&dp.origin, name, &admin, verb);
                continue;
            }
            let (action, reason) = if managed {
                (
                    Action::Update,
                    format!(
                        "{} differ from catalog/permission_sets/ (re-provisioned to its accounts)",
                        differ.join(", ")
                    ),
                )
            } else {
                (Action::Adopt, ADOPT_PERMISSION_SET.to_string())
            };
            self.push(
                Kind::PermissionSet,
                address,
                action,
                Some(Payload::PermissionSet(before)),
                Some(Payload::PermissionSet(after)),
                vec![],
                reason,
            );
        }
        // Vend's permission sets whose file is gone.
        for current in &ic.permission_sets {
            let Some(details) = current.details.as_ref() else { continue };
            if d.permission_sets.contains_key(&current.name) || !managed(&details.tags, &own) {
                continue;
            }
            if let Some(admin) = self.management_locked(ic, access, &current.arn) {
                let at = Origin::file(format!("catalog/permission_sets/{}.yaml", current.name));
                self.management_locked_error(&at, &current.name, &admin, "delete");
                continue;
            }
            self.deleted_permission_sets.insert(current.name.clone());
            self.push(
                Kind::PermissionSet,
                Address::permission_set(&current.name),
                Action::Delete,
                Some(Payload::PermissionSet(before_state(ic, &current.name, &current.arn, details))),
                None,
                vec![],
                "vend's permission set is no longer in catalog/permission_sets/",
            );
        }
    }

    /// With IAM Identity Center administered from a delegated administrator: the administrator
    /// (`Some`) when the permission set `arn` is provisioned to the management account, which
    /// it may not change (rule `identitycenter.delegated-admin-management-permission-set`). Where
    /// it is provisioned: what the state read of the management account (`None` there: the
    /// management account's assignments the state records).
    fn management_locked(&self, ic: &IdentityCenter, access: &Access, arn: &str) -> Option<String> {
        let mgmt = self.s.organization.management_account_id.as_str();
        let admin = self.d.settings.identity_center.delegated_admin.as_deref().filter(|a| *a != mgmt)?;
        let provisioned = match &ic.management_permission_sets {
            Some(arns) => arns.iter().any(|a| a == arn),
            None => access.assignments.iter().any(|a| a.account_id == mgmt && a.permission_set_arn == arn),
        };
        provisioned.then(|| admin.to_string())
    }

    fn management_locked_error(&mut self, at: &Origin, name: &str, admin: &str, verb: &str) {
        let mgmt = self.s.organization.management_account_id.clone();
        self.error_rule(
            "identitycenter.delegated-admin-management-permission-set",
            "delegated-admin-management-permission-set",
            at,
            format!(
                "permission set '{name}' is provisioned to the management account {mgmt} (assigned there): IAM Identity Center's delegated administrator {admin} (identity_center.delegated_admin in catalog/vend.yaml) cannot {verb} it, only the management account can (make this change with Identity Center administered from the management account, or leave the set as it is)"
            ),
        );
    }

    /// After the assignments are planned: a deleted permission set waits for the deletion of
    /// its assignments; one that stays in use is a plan error (`permission-set-in-use`:
    /// DeletePermissionSet refuses a set still assigned, rule `identitycenter.permission-set-in-use`).
    pub(super) fn permission_set_deletes(&mut self) {
        if self.deleted_permission_sets.is_empty() {
            return;
        }
        let d: &'a Desired = self.d;
        let deleted = std::mem::take(&mut self.deleted_permission_sets);
        for da in d.accounts.values() {
            for e in da.access.iter().filter(|e| deleted.contains(&e.permission_set)) {
                self.error(
                    "permission-set-in-use",
                    &e.origin,
                    format!(
                        "account request '{}': permission set '{}' is vend's and its file catalog/permission_sets/{}.yaml was removed, so this plan deletes it: put the file back, or remove this access entry",
                        da.name, e.permission_set, e.permission_set
                    ),
                );
            }
        }
        self.deleted_permission_sets = deleted;
        let s: &'a State = self.s;
        let Some(access) = s.access.as_ref() else { return };
        let deleted_assignments: Vec<(Address, String)> = self
            .changes
            .iter()
            .filter(|c| c.kind == Kind::AccountAssignment && c.action == Action::Delete)
            .filter_map(|c| match &c.before {
                Some(Payload::Assignment(a)) => Some((c.address.clone(), a.permission_set.clone())),
                _ => None,
            })
            .collect();
        for i in 0..self.changes.len() {
            let c = &self.changes[i];
            if c.kind != Kind::PermissionSet || c.action != Action::Delete {
                continue;
            }
            let name = c.address.key().to_string();
            let Some(Payload::PermissionSet(p)) = c.before.clone() else { continue };
            let arn = p.arn.unwrap_or_default();
            let mut deps: Vec<Address> =
                deleted_assignments.iter().filter(|(_, n)| n == &name).map(|(a, _)| a.clone()).collect();
            // What the state records of its assignments, against those this plan deletes.
            let assigned = access.assignments.iter().filter(|a| a.permission_set_arn == arn).count();
            let deleting = deps.len();
            if assigned > deleting {
                let at = Origin::file(format!("catalog/permission_sets/{name}.yaml"));
                self.error_rule(
                    "identitycenter.permission-set-in-use",
                    "permission-set-in-use",
                    &at,
                    format!(
                        "permission set '{name}' is vend's and its file was removed, but {} of its account assignments stay (vend deletes only those an account's blueprint owns): remove them first, or put the file back",
                        assigned - deleting
                    ),
                );
            }
            deps.sort();
            self.changes[i].depends_on.extend(deps);
        }
    }
}

/// A permission set as the state describes it.
fn before_state(
    ic: &IdentityCenter,
    name: &str,
    arn: &str,
    details: &PermissionSetDetails,
) -> PermissionSetState {
    PermissionSetState {
        name: name.to_string(),
        arn: Some(arn.to_string()),
        instance_arn: ic.instance_arn.clone(),
        description: details.description.clone(),
        session_duration: details.session_duration.clone(),
        managed_policies: details.managed_policies.clone(),
        inline_policy: details.inline_policy.clone(),
        tags: details.tags.clone(),
    }
}

/// The fields that differ between two sides of a permission set.
fn differences(b: &PermissionSetState, a: &PermissionSetState) -> Vec<&'static str> {
    let mut out = vec![];
    if b.description != a.description {
        out.push("description");
    }
    if b.session_duration != a.session_duration {
        out.push("session duration");
    }
    if b.managed_policies != a.managed_policies {
        out.push("managed policies");
    }
    if b.inline_policy != a.inline_policy {
        out.push("inline policy");
    }
    if b.tags != a.tags {
        out.push("tags");
    }
    out
}
