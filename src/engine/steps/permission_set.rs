//! The step of a vend-managed IAM Identity Center permission set (issue 18,
//! `permission_set:<name>`). Create: CreatePermissionSet with its tags (vend's ownership tag
//! from the first call on), then its managed policies and inline policy; the ARN is remembered
//! for the assignments of the same apply. Update and adopt: the ownership tag (adopt), the
//! description and session duration (UpdatePermissionSet), managed policies attached and
//! detached, the inline policy put or deleted, then ProvisionPermissionSet to every account it
//! is provisioned in (TargetType ALL_PROVISIONED_ACCOUNTS — "If the permission set is already
//! referenced by one or more account assignments, you will need to call ProvisionPermissionSet
//! after this action to apply the corresponding IAM policy updates to all assigned accounts",
//! API_PutInlinePolicyToPermissionSet), polled through the engine's clock until it leaves
//! IN_PROGRESS. Delete: DeletePermissionSet (after its assignments: the plan orders it so).

use super::{Run, StepResult};
use crate::plan::apply_view::Sides;
use crate::plan::payload::PermissionSetState;
use crate::plan::{Action, Change};
use crate::port::Op;

impl Run<'_, '_> {
    pub(super) fn permission_set(&mut self, c: &Change) -> StepResult {
        let p: Sides<PermissionSetState> = tri!(Sides::of(c));
        let (b, a) = (&p.before, &p.after);
        let instance_arn = p.subject().instance_arn.clone();
        if instance_arn.is_empty() {
            return Ok(Err(super::missing("instance_arn", c)));
        }
        if c.action == Action::Delete {
            let permission_set_arn = tri!(b.arn.clone().ok_or_else(|| super::missing("arn", c)));
            tri!(self.call(c, Op::DeletePermissionSet { instance_arn, permission_set_arn })?);
            return Ok(Ok(()));
        }
        let create = c.action == Action::Create;
        let permission_set_arn = if create {
            let out = tri!(self.call(
                c,
                Op::CreatePermissionSet {
                    instance_arn: instance_arn.clone(),
                    name: a.name.clone(),
                    description: a.description.clone(),
                    session_duration: a.session_duration.clone(),
                    tags: a.tags.clone(),
                },
            )?);
            let arn =
                tri!(out.id.ok_or_else(|| format!("{}: AWS returned no permission set ARN", c.address)));
            self.remember(c, Some(arn.clone()));
            arn
        } else {
            let arn = tri!(b.arn.clone().ok_or_else(|| super::missing("arn", c)));
            self.remember(c, Some(arn.clone()));
            let changed: crate::model::Tags = a
                .tags
                .iter()
                .filter(|(k, v)| b.tags.get(*k) != Some(*v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if !changed.is_empty() {
                tri!(self.call(
                    c,
                    Op::TagPermissionSet {
                        instance_arn: instance_arn.clone(),
                        permission_set_arn: arn.clone(),
                        tags: changed,
                    },
                )?);
            }
            if a.description != b.description || a.session_duration != b.session_duration {
                tri!(self.call(
                    c,
                    Op::UpdatePermissionSet {
                        instance_arn: instance_arn.clone(),
                        permission_set_arn: arn.clone(),
                        description: a.description.clone(),
                        session_duration: a.session_duration.clone(),
                    },
                )?);
            }
            arn
        };
        let ps = || (instance_arn.clone(), permission_set_arn.clone());
        for policy in b.managed_policies.iter().filter(|m| !a.managed_policies.contains(m)) {
            let (instance_arn, permission_set_arn) = ps();
            let managed_policy_arn = policy.clone();
            tri!(self.call(
                c,
                Op::DetachManagedPolicyFromPermissionSet {
                    instance_arn,
                    permission_set_arn,
                    managed_policy_arn
                },
            )?);
        }
        for policy in a.managed_policies.iter().filter(|m| !b.managed_policies.contains(m)) {
            let (instance_arn, permission_set_arn) = ps();
            let managed_policy_arn = policy.clone();
            tri!(self.call(
                c,
                Op::AttachManagedPolicyToPermissionSet {
                    instance_arn,
                    permission_set_arn,
                    managed_policy_arn
                },
            )?);
        }
        if a.inline_policy != b.inline_policy {
            let (instance_arn, permission_set_arn) = ps();
            let op = match &a.inline_policy {
                Some(inline_policy) => Op::PutInlinePolicyToPermissionSet {
                    instance_arn,
                    permission_set_arn,
                    inline_policy: inline_policy.clone(),
                },
                None => Op::DeleteInlinePolicyFromPermissionSet { instance_arn, permission_set_arn },
            };
            tri!(self.call(c, op)?);
        }
        if create {
            return Ok(Ok(()));
        }
        // The accounts it is provisioned in get the new policies.
        let (instance_arn, permission_set_arn) = ps();
        let out = tri!(self.call(
            c,
            Op::ProvisionPermissionSet { instance_arn: instance_arn.clone(), permission_set_arn }
        )?);
        let request_id =
            tri!(out.id.ok_or_else(|| format!("{}: AWS returned no provisioning request id", c.address)));
        let status =
            Op::DescribePermissionSetProvisioningStatus { instance_arn, request_id: request_id.clone() };
        let done = tri!(self.poll(c, status, &["IN_PROGRESS"])?);
        if done.status.as_deref() != Some("SUCCEEDED") {
            return Ok(Err(format!(
                "{}: provisioning request {request_id} {}: {}",
                c.address,
                done.status.unwrap_or_default(),
                done.result.unwrap_or_default()
            )));
        }
        Ok(Ok(()))
    }
}
