//! IAM Identity Center permission sets in the in-process cloud (issue 18, vend-managed sets of
//! `catalog/permission_sets/`): they live in `State::access.identity_center.permission_sets`
//! with their details, so the journal keeps them with the rest of `access`. The rules of
//! `aws_rules.yaml` it enforces: `identitycenter.instance-exists`,
//! `identitycenter.permission-set-exists`, `identitycenter.permission-set-name`,
//! `identitycenter.permission-set-name-unique`, `identitycenter.session-duration`,
//! `identitycenter.managed-policy-limit`, `identitycenter.inline-policy-size`,
//! `identitycenter.permission-set-in-use` and
//! `identitycenter.delegated-admin-management-permission-set`. ProvisionPermissionSet completes at once: the
//! in-process cloud has no IAM roles in member accounts to update (its status read is SUCCEEDED).

use super::{LocalCloud, sha};
use crate::adapter::aws_rules::{limit, refuse};
use crate::model::{PermissionSet, PermissionSetDetails, Tags};
use crate::port::{CloudError, Outcome};
use crate::workspace::permission_sets as check;

impl LocalCloud {
    /// The permission set `arn` of instance `instance_arn`, mutable (rules
    /// `identitycenter.instance-exists`, `identitycenter.permission-set-exists`).
    fn permission_set_mut(
        &mut self,
        instance_arn: &str,
        arn: &str,
    ) -> Result<&mut PermissionSet, CloudError> {
        self.check_set(instance_arn, arn)?;
        let access = self.access_mut();
        access
            .identity_center
            .as_mut()
            .and_then(|ic| ic.permission_sets.iter_mut().find(|p| p.arn == arn))
            .ok_or_else(|| {
                refuse("identitycenter.permission-set-exists", format!("Permission set {arn} does not exist"))
            })
    }

    /// The checks of every call on an existing permission set: it exists, and a delegated
    /// administrator does not change one provisioned to the management account (rule
    /// `identitycenter.delegated-admin-management-permission-set`; provisioned there: an account
    /// assignment of it on the management account).
    fn check_set(&self, instance_arn: &str, arn: &str) -> Result<(), CloudError> {
        self.instance(instance_arn)?;
        if self.permission_set_details(arn).is_none() {
            return Err(refuse(
                "identitycenter.permission-set-exists",
                format!("Permission set {arn} does not exist"),
            ));
        }
        let mgmt = &self.state.organization.management_account_id;
        if let Some(admin) = &self.settings.identity_center_admin
            && admin != mgmt
            && self.state.access.as_ref().is_some_and(|a| {
                a.assignments.iter().any(|x| &x.account_id == mgmt && x.permission_set_arn == arn)
            })
        {
            return Err(refuse(
                "identitycenter.delegated-admin-management-permission-set",
                format!(
                    "The delegated administrator {admin} is not authorized to manage permission set {arn}: it is provisioned to the management account {mgmt}"
                ),
            ));
        }
        Ok(())
    }

    fn permission_set_details(&self, arn: &str) -> Option<&PermissionSet> {
        self.state
            .access
            .as_ref()
            .and_then(|a| a.identity_center.as_ref())
            .and_then(|ic| ic.permission_sets.iter().find(|p| p.arn == arn))
    }

    fn check_description(description: &str) -> Result<(), CloudError> {
        check::description(description)
            .map_err(|e| CloudError::hard("ValidationException", format!("Description {e}")))
    }

    fn check_session(duration: &str) -> Result<(), CloudError> {
        check::session_minutes(duration).map(|_| ()).map_err(|e| {
            refuse("identitycenter.session-duration", format!("SessionDuration {duration:?} {e}"))
        })
    }

    /// CreatePermissionSet: a new set with its tags; `Outcome::id` is its ARN.
    pub(super) fn create_permission_set(
        &mut self,
        instance_arn: &str,
        name: &str,
        description: &str,
        session_duration: &str,
        tags: &Tags,
    ) -> Result<Outcome, CloudError> {
        let ic = self.instance(instance_arn)?;
        if crate::workspace::rules::permission_set_name(name).is_err() {
            return Err(refuse(
                "identitycenter.permission-set-name",
                format!("Name {name:?} must be 1 to 32 characters of [\\w+=,.@-]"),
            ));
        }
        if ic.permission_sets.iter().any(|p| p.name == name) {
            return Err(refuse(
                "identitycenter.permission-set-name-unique",
                format!("A permission set named {name} already exists"),
            ));
        }
        Self::check_description(description)?;
        Self::check_session(session_duration)?;
        let instance_id = instance_arn.rsplit('/').next().unwrap_or_default().to_string();
        let arn = loop {
            self.x.seq += 1;
            let h = hex::encode(&sha(&format!("vend-local-cloud/permission-set\0{}", self.x.seq))[..8]);
            let arn = format!("arn:aws:sso:::permissionSet/{instance_id}/ps-{h}");
            if self.permission_set_details(&arn).is_none() {
                break arn;
            }
        };
        let set = PermissionSet {
            arn: arn.clone(),
            name: name.to_string(),
            details: Some(PermissionSetDetails {
                description: description.to_string(),
                session_duration: session_duration.to_string(),
                managed_policies: vec![],
                inline_policy: None,
                tags: tags.clone(),
            }),
        };
        if let Some(ic) = self.access_mut().identity_center.as_mut() {
            ic.permission_sets.push(set);
            ic.permission_sets.sort_by(|x, y| x.name.cmp(&y.name));
        }
        Ok(Outcome { id: Some(arn), ..Outcome::default() })
    }

    /// UpdatePermissionSet: description and session duration.
    pub(super) fn update_permission_set(
        &mut self,
        instance_arn: &str,
        arn: &str,
        description: &str,
        session_duration: &str,
    ) -> Result<Outcome, CloudError> {
        self.check_set(instance_arn, arn)?;
        Self::check_description(description)?;
        Self::check_session(session_duration)?;
        let p = self.permission_set_mut(instance_arn, arn)?;
        let d = p.details.get_or_insert_with(PermissionSetDetails::default);
        d.description = description.to_string();
        d.session_duration = session_duration.to_string();
        Ok(Outcome::default())
    }

    /// sso-admin TagResource on a permission set: the keys given are set.
    pub(super) fn tag_permission_set(
        &mut self,
        instance_arn: &str,
        arn: &str,
        tags: &Tags,
    ) -> Result<Outcome, CloudError> {
        let p = self.permission_set_mut(instance_arn, arn)?;
        let d = p.details.get_or_insert_with(PermissionSetDetails::default);
        for (k, v) in tags {
            d.tags.insert(k.clone(), v.clone());
        }
        Ok(Outcome::default())
    }

    /// AttachManagedPolicyToPermissionSet (`attach`) or DetachManagedPolicyFromPermissionSet.
    pub(super) fn managed_policy(
        &mut self,
        attach: bool,
        instance_arn: &str,
        arn: &str,
        policy: &str,
    ) -> Result<Outcome, CloudError> {
        let max = usize::try_from(limit("identitycenter.managed-policy-limit", 20)).unwrap_or(20);
        self.check_set(instance_arn, arn)?;
        let current: Vec<String> = self
            .permission_set_details(arn)
            .and_then(|p| p.details.as_ref())
            .map(|d| d.managed_policies.clone())
            .unwrap_or_default();
        let attached = current.iter().any(|m| m == policy);
        if attach && attached {
            return Err(CloudError::hard(
                "ConflictException",
                format!("Managed policy {policy} is already attached to {arn}"),
            ));
        }
        if attach && current.len() >= max {
            return Err(refuse(
                "identitycenter.managed-policy-limit",
                format!("Permission set {arn} already has {max} managed policies"),
            ));
        }
        if !attach && !attached {
            return Err(CloudError::hard(
                "ResourceNotFoundException",
                format!("Managed policy {policy} is not attached to {arn}"),
            ));
        }
        let p = self.permission_set_mut(instance_arn, arn)?;
        let d = p.details.get_or_insert_with(PermissionSetDetails::default);
        if attach {
            d.managed_policies.push(policy.to_string());
            d.managed_policies.sort();
        } else {
            d.managed_policies.retain(|m| m != policy);
        }
        Ok(Outcome::default())
    }

    /// PutInlinePolicyToPermissionSet (`Some`) or DeleteInlinePolicyFromPermissionSet.
    pub(super) fn inline_policy(
        &mut self,
        instance_arn: &str,
        arn: &str,
        policy: Option<&str>,
    ) -> Result<Outcome, CloudError> {
        self.check_set(instance_arn, arn)?;
        if let Some(text) = policy {
            check::inline_policy_size(text)
                .map_err(|e| refuse("identitycenter.inline-policy-size", format!("InlinePolicy {e}")))?;
            if !serde_json::from_str::<serde_json::Value>(text).is_ok_and(|v| v.is_object()) {
                return Err(CloudError::hard(
                    "ValidationException",
                    "InlinePolicy is not a JSON policy document",
                ));
            }
        }
        let p = self.permission_set_mut(instance_arn, arn)?;
        p.details.get_or_insert_with(PermissionSetDetails::default).inline_policy =
            policy.map(str::to_string);
        Ok(Outcome::default())
    }

    /// ProvisionPermissionSet (TargetType ALL_PROVISIONED_ACCOUNTS): a request id, done at once.
    pub(super) fn provision_permission_set(
        &mut self,
        instance_arn: &str,
        arn: &str,
    ) -> Result<Outcome, CloudError> {
        self.check_set(instance_arn, arn)?;
        self.x.seq += 1;
        let h = hex::encode(&sha(&format!("vend-local-cloud/provision\0{}", self.x.seq))[..16]);
        let id = format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]);
        Ok(Outcome { id: Some(id), status: Some("SUCCEEDED".into()), ..Outcome::default() })
    }

    /// DescribePermissionSetProvisioningStatus: a request id of the shape this cloud hands out
    /// has SUCCEEDED.
    pub(super) fn provisioning_status(
        &self,
        instance_arn: &str,
        request_id: &str,
    ) -> Result<Outcome, CloudError> {
        self.instance(instance_arn)?;
        let shaped = request_id.len() == 36
            && request_id
                .chars()
                .enumerate()
                .all(|(i, ch)| if [8, 13, 18, 23].contains(&i) { ch == '-' } else { ch.is_ascii_hexdigit() });
        if !shaped {
            return Err(CloudError::hard(
                "ResourceNotFoundException",
                format!("No permission set provisioning request {request_id}"),
            ));
        }
        Ok(Outcome {
            id: Some(request_id.to_string()),
            status: Some("SUCCEEDED".into()),
            ..Outcome::default()
        })
    }

    /// DeletePermissionSet: refused while an account assignment uses it.
    pub(super) fn delete_permission_set(
        &mut self,
        instance_arn: &str,
        arn: &str,
    ) -> Result<Outcome, CloudError> {
        self.check_set(instance_arn, arn)?;
        let assigned = self
            .state
            .access
            .as_ref()
            .map_or(0, |a| a.assignments.iter().filter(|x| x.permission_set_arn == arn).count());
        if assigned > 0 {
            return Err(refuse(
                "identitycenter.permission-set-in-use",
                format!("Permission set {arn} is still assigned ({assigned} account assignments)"),
            ));
        }
        if let Some(ic) = self.access_mut().identity_center.as_mut() {
            ic.permission_sets.retain(|p| p.arn != arn);
        }
        Ok(Outcome::default())
    }
}
