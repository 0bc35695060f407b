//! IAM Identity Center permission sets vend manages (issue 18, `catalog/permission_sets/`):
//! what a read adds to the permission sets `access.rs` lists, and the writes of their `Op`s.
//!
//! Read cost: with a workspace (an `AccessScope` that is not empty), one ListTagsForResource per
//! permission set of the instance — vend's ownership tag is how it knows which sets are its own,
//! including one whose file was removed — and, for the sets the workspace's
//! `catalog/permission_sets/` names or that carry the ownership tag, their policies
//! (ListManagedPoliciesInPermissionSet, GetInlinePolicyForPermissionSet; DescribePermissionSet
//! was already sent by the listing). Every other set stays name and ARN (`details: None`).
//! Without a workspace nothing more is read.

use super::access::{AccessScope, IdentityClients, done, outcome, rid, status_outcome};
use super::errors::classify;
use super::read::Reader;
use super::write::Writer;
use crate::model::{IdentityCenter, PermissionSetDetails, Tags, canonical_json};
use crate::port::{CloudError, Op, Outcome};
use aws_sdk_ssoadmin as sso;
use futures_util::future::try_join_all;

/// Fill `details` of the permission sets of `ic` the scope asks about (see the module's doc).
pub(super) async fn describe(
    reader: &Reader,
    clients: &IdentityClients,
    ic: &mut IdentityCenter,
    scope: &AccessScope,
) -> Result<(), CloudError> {
    // A workspace that uses nothing of Identity Center reads no more than before.
    let Some(own) = scope.ownership_tag.as_deref().filter(|_| !scope.is_empty()) else { return Ok(()) };
    let instance_arn = ic.instance_arn.clone();
    let found = try_join_all(ic.permission_sets.iter().map(|p| {
        let (instance_arn, arn, name) = (instance_arn.clone(), p.arn.clone(), p.name.clone());
        async move {
            let tags = tags(reader, clients, &instance_arn, &arn).await?;
            let vend = tags.get(own).is_some_and(|v| v == "true");
            if !vend && !scope.permission_sets.contains(&name) {
                return Ok::<_, CloudError>(None);
            }
            let described = reader
                .sent(
                    clients
                        .sso
                        .describe_permission_set()
                        .instance_arn(&instance_arn)
                        .permission_set_arn(&arn)
                        .send(),
                )
                .await
                .map_err(|e| classify("DescribePermissionSet", e))?;
            let ps = described.permission_set();
            let pages: Vec<_> = reader
                .sent(
                    clients
                        .sso
                        .list_managed_policies_in_permission_set()
                        .instance_arn(&instance_arn)
                        .permission_set_arn(&arn)
                        .into_paginator()
                        .send()
                        .try_collect(),
                )
                .await
                .map_err(|e| classify("ListManagedPoliciesInPermissionSet", e))?;
            let mut managed_policies: Vec<String> = pages
                .iter()
                .flat_map(|p| p.attached_managed_policies())
                .filter_map(|m| m.arn().map(str::to_string))
                .collect();
            managed_policies.sort();
            let inline = reader
                .sent(
                    clients
                        .sso
                        .get_inline_policy_for_permission_set()
                        .instance_arn(&instance_arn)
                        .permission_set_arn(&arn)
                        .send(),
                )
                .await
                .map_err(|e| classify("GetInlinePolicyForPermissionSet", e))?;
            // AWS gives the policy as it was put; vend compares canonical JSON.
            let inline_policy = inline.inline_policy().filter(|t| !t.trim().is_empty()).map(|t| {
                serde_json::from_str::<serde_json::Value>(t)
                    .map(|v| canonical_json(&v))
                    .unwrap_or_else(|_| t.to_string())
            });
            Ok(Some(PermissionSetDetails {
                description: ps.and_then(|p| p.description()).unwrap_or_default().to_string(),
                session_duration: ps.and_then(|p| p.session_duration()).unwrap_or("PT1H").to_string(),
                managed_policies,
                inline_policy,
                tags,
            }))
        }
    }))
    .await?;
    for (p, d) in ic.permission_sets.iter_mut().zip(found) {
        p.details = d;
    }
    Ok(())
}

/// ListTagsForResource of one permission set.
async fn tags(
    reader: &Reader,
    clients: &IdentityClients,
    instance_arn: &str,
    arn: &str,
) -> Result<Tags, CloudError> {
    let pages: Vec<_> = reader
        .sent(
            clients
                .sso
                .list_tags_for_resource()
                .instance_arn(instance_arn)
                .resource_arn(arn)
                .into_paginator()
                .send()
                .try_collect(),
        )
        .await
        .map_err(|e| classify("ListTagsForResource", e))?;
    Ok(pages.iter().flat_map(|p| p.tags()).map(|t| (t.key().to_string(), t.value().to_string())).collect())
}

fn sdk_tags(tags: &Tags) -> Result<Vec<sso::types::Tag>, CloudError> {
    tags.iter()
        .map(|(k, v)| {
            sso::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| CloudError::hard("InvalidRequest", format!("tag {k}: {e}")))
        })
        .collect()
}

impl Writer<'_> {
    /// The permission-set operations (None: not one of them).
    pub(super) async fn permission_set_call(&mut self, op: &Op) -> Option<Result<Outcome, CloudError>> {
        if !matches!(
            op,
            Op::CreatePermissionSet { .. }
                | Op::UpdatePermissionSet { .. }
                | Op::TagPermissionSet { .. }
                | Op::AttachManagedPolicyToPermissionSet { .. }
                | Op::DetachManagedPolicyFromPermissionSet { .. }
                | Op::PutInlinePolicyToPermissionSet { .. }
                | Op::DeleteInlinePolicyFromPermissionSet { .. }
                | Op::ProvisionPermissionSet { .. }
                | Op::DescribePermissionSetProvisioningStatus { .. }
                | Op::DeletePermissionSet { .. }
        ) {
            return None;
        }
        let c = match self.sso_for_writes().await {
            Ok(c) => c,
            Err(e) => return Some(Err(e)),
        };
        let name = op.name();
        Some(match op {
            Op::CreatePermissionSet { instance_arn, name: set, description, session_duration, tags } => {
                match sdk_tags(tags) {
                    Err(err) => Err(err),
                    Ok(tags) => {
                        let request = c
                            .create_permission_set()
                            .instance_arn(instance_arn)
                            .name(set)
                            .description(description)
                            .session_duration(session_duration)
                            .set_tags(Some(tags))
                            .send();
                        outcome(&name, request, |out| Outcome {
                            id: out.permission_set().and_then(|p| p.permission_set_arn()).map(str::to_string),
                            ..done(out)
                        })
                        .await
                    }
                }
            }
            Op::UpdatePermissionSet { instance_arn, permission_set_arn, description, session_duration } => {
                let request = c
                    .update_permission_set()
                    .instance_arn(instance_arn)
                    .permission_set_arn(permission_set_arn)
                    .description(description)
                    .session_duration(session_duration)
                    .send();
                outcome(&name, request, done).await
            }
            Op::TagPermissionSet { instance_arn, permission_set_arn, tags } => match sdk_tags(tags) {
                Err(err) => Err(err),
                Ok(tags) => {
                    let request = c
                        .tag_resource()
                        .instance_arn(instance_arn)
                        .resource_arn(permission_set_arn)
                        .set_tags(Some(tags))
                        .send();
                    outcome(&name, request, done).await
                }
            },
            Op::AttachManagedPolicyToPermissionSet {
                instance_arn,
                permission_set_arn,
                managed_policy_arn,
            } => {
                let request = c
                    .attach_managed_policy_to_permission_set()
                    .instance_arn(instance_arn)
                    .permission_set_arn(permission_set_arn)
                    .managed_policy_arn(managed_policy_arn)
                    .send();
                outcome(&name, request, done).await
            }
            Op::DetachManagedPolicyFromPermissionSet {
                instance_arn,
                permission_set_arn,
                managed_policy_arn,
            } => {
                let request = c
                    .detach_managed_policy_from_permission_set()
                    .instance_arn(instance_arn)
                    .permission_set_arn(permission_set_arn)
                    .managed_policy_arn(managed_policy_arn)
                    .send();
                outcome(&name, request, done).await
            }
            Op::PutInlinePolicyToPermissionSet { instance_arn, permission_set_arn, inline_policy } => {
                let request = c
                    .put_inline_policy_to_permission_set()
                    .instance_arn(instance_arn)
                    .permission_set_arn(permission_set_arn)
                    .inline_policy(inline_policy)
                    .send();
                outcome(&name, request, done).await
            }
            Op::DeleteInlinePolicyFromPermissionSet { instance_arn, permission_set_arn } => {
                let request = c
                    .delete_inline_policy_from_permission_set()
                    .instance_arn(instance_arn)
                    .permission_set_arn(permission_set_arn)
                    .send();
                outcome(&name, request, done).await
            }
            Op::ProvisionPermissionSet { instance_arn, permission_set_arn } => {
                let request = c
                    .provision_permission_set()
                    .instance_arn(instance_arn)
                    .permission_set_arn(permission_set_arn)
                    .target_type(sso::types::ProvisionTargetType::AllProvisionedAccounts)
                    .send();
                outcome(&name, request, |out| {
                    status_outcome(rid(&out), out.permission_set_provisioning_status())
                })
                .await
            }
            Op::DescribePermissionSetProvisioningStatus { instance_arn, request_id } => {
                let request = c
                    .describe_permission_set_provisioning_status()
                    .instance_arn(instance_arn)
                    .provision_permission_set_request_id(request_id)
                    .send();
                outcome(&name, request, |out| {
                    status_outcome(rid(&out), out.permission_set_provisioning_status())
                })
                .await
            }
            Op::DeletePermissionSet { instance_arn, permission_set_arn } => {
                let request = c
                    .delete_permission_set()
                    .instance_arn(instance_arn)
                    .permission_set_arn(permission_set_arn)
                    .send();
                outcome(&name, request, done).await
            }
            _ => return None,
        })
    }
}
