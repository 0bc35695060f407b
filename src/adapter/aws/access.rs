//! Who gets into accounts (issue 18): IAM Identity Center account assignments (`sso-admin`), the
//! groups they name (`identitystore`), the accounts' alternate contacts (AWS Account
//! Management) and Organizations' trusted access for Account Management — read into
//! `State::access` and written for the seven `Op`s of issue 18.
//!
//! Reads stay cheap (`AccessScope`, set from the workspace by `AwsCloud::set_access`): once per
//! read, ListAWSServiceAccessForOrganization, ListInstances, ListPermissionSets with a
//! DescribePermissionSet each, and GetGroupId per group the workspace names; then, only for the
//! accounts whose blueprint owns something, one ListAccountAssignments per owned permission set
//! (GROUP principals kept) and one GetAlternateContact per owned contact type. Without a scope
//! (no workspace), the instance, its permission sets and the trusted access are still read, and
//! no account.
//!
//! Identity Center lives in its home region (`identity_center.region` of `catalog/vend.yaml`,
//! else the workspace's `region`) and is administered from the management account or, with
//! `identity_center.delegated_admin`, from that account, reached through the member role.
//! Alternate contacts are always written from the management account: with `AccountId` for a
//! member, without it for the management account itself ("The management account can't specify
//! its own AccountId; it must call the operation in standalone context by not including the
//! AccountId parameter", Account Management API reference, PutAlternateContact / AccountId).

use super::config::{CALL_ATTEMPTS, read_retries, retry_partition};
use super::errors::{NotRetried, classify};
use super::read::Reader;
use super::write::Writer;
use crate::model::{Access, AlternateContact, Assignment, Group, IdentityCenter, PermissionSet, State};
use crate::port::{CloudError, Op, Outcome};
use aws_config::Region;
use aws_config::retry::RetryConfig;
use aws_sdk_account as account;
use aws_sdk_identitystore as ids;
use aws_sdk_organizations as org;
use aws_sdk_ssoadmin as sso;
use futures_util::future::{try_join, try_join_all};
use org::config::http::HttpResponse;
use org::error::{ProvideErrorMetadata, SdkError};
use std::collections::{BTreeMap, BTreeSet};

/// The Organizations service principal of AWS Account Management (trusted access that
/// PutAlternateContact for a member account needs).
pub const ACCOUNT_MANAGEMENT_PRINCIPAL: &str = "account.amazonaws.com";

/// What a read looks at for access and contacts (from the workspace; see the module's doc).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessScope {
    /// The accounts whose blueprint owns assignments or contacts, with what it owns.
    pub accounts: Vec<AccessAccount>,
    /// The group display names the workspace names (looked up with GetGroupId).
    pub groups: BTreeSet<String>,
    /// Identity Center's home region; `None`: the clients' region.
    pub region: Option<String>,
    /// The delegated administrator account of Identity Center, reached through the member
    /// role; `None`: the caller's account (the management account).
    pub delegated_admin: Option<String>,
    /// The permission sets `catalog/permission_sets/` manages (described in full, see
    /// `permission_sets.rs`), and vend's ownership tag key (`None`: no workspace, permission sets
    /// stay name and ARN).
    pub permission_sets: BTreeSet<String>,
    pub ownership_tag: Option<String>,
}

/// One account whose assignments and contacts are read, found in the organization by its AWS
/// name and e-mail (as `plan::AccountKeys` claims accounts).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessAccount {
    pub aws_name: String,
    pub email: String,
    /// Permission set names whose assignments vend may own there.
    pub permission_sets: BTreeSet<String>,
    /// Upper case contact types vend may own there.
    pub contact_types: BTreeSet<String>,
}

impl AccessScope {
    /// Does the workspace declare anything at all? Without that, a read that AWS refuses (a
    /// caller without Identity Center permissions) leaves `State::access` out instead of
    /// failing the whole read: a workspace that uses none of it must read as before.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty() && self.groups.is_empty() && self.permission_sets.is_empty()
    }
}

/// An sso-admin client in `region` (else the config's) with vend's retry partition, classifier
/// and `retries`.
pub(super) fn sso_client(
    conf: &aws_config::SdkConfig,
    region: Option<&str>,
    retries: RetryConfig,
) -> sso::Client {
    let mut b = sso::config::Builder::from(conf)
        .retry_config(retries)
        .retry_partition(retry_partition())
        .retry_classifier(NotRetried);
    if let Some(r) = region {
        b = b.region(Region::new(r.to_string()));
    }
    sso::Client::from_conf(b.build())
}

/// An identitystore client, like `sso_client`.
pub(super) fn ids_client(
    conf: &aws_config::SdkConfig,
    region: Option<&str>,
    retries: RetryConfig,
) -> ids::Client {
    let mut b = ids::config::Builder::from(conf)
        .retry_config(retries)
        .retry_partition(retry_partition())
        .retry_classifier(NotRetried);
    if let Some(r) = region {
        b = b.region(Region::new(r.to_string()));
    }
    ids::Client::from_conf(b.build())
}

/// An Account Management client (the caller's account: the management account).
pub(super) fn account_client(conf: &aws_config::SdkConfig, retries: RetryConfig) -> account::Client {
    account::Client::from_conf(
        account::config::Builder::from(conf)
            .retry_config(retries)
            .retry_partition(retry_partition())
            .retry_classifier(NotRetried)
            .build(),
    )
}

/// Identity Center's home region: `region` when the workspace names one, else the config's
/// (`us-east-1` when it has none, as `AwsCloud` defaults).
fn home_region(conf: &aws_config::SdkConfig, region: Option<&str>) -> String {
    region
        .map(str::to_string)
        .or_else(|| conf.region().map(|r| r.to_string()))
        .unwrap_or_else(|| "us-east-1".into())
}

/// The Identity Center clients for reads: in the home region, with the credentials of the
/// account that administers it (`conf`: the caller's, or the delegated administrator's).
#[derive(Debug, Clone)]
pub(super) struct IdentityClients {
    pub sso: sso::Client,
    pub ids: ids::Client,
    /// The region they work in (recorded in `IdentityCenter::region`).
    pub region: String,
}

impl IdentityClients {
    pub(super) fn new(
        conf: &aws_config::SdkConfig,
        region: Option<&str>,
        retries: RetryConfig,
    ) -> IdentityClients {
        let region = home_region(conf, region);
        IdentityClients {
            sso: sso_client(conf, Some(&region), retries.clone()),
            ids: ids_client(conf, Some(&region), retries),
            region,
        }
    }

    pub(super) fn for_reads(conf: &aws_config::SdkConfig, region: Option<&str>) -> IdentityClients {
        IdentityClients::new(conf, region, read_retries())
    }
}

/// `State::access` for `scope` (see the module's doc). `state` holds the organization already
/// read (the accounts to look at are found there); `me` is the caller's account id.
pub(super) async fn read(
    reader: &Reader,
    ic: &IdentityClients,
    scope: &AccessScope,
    state: &State,
    me: &str,
) -> Result<Access, CloudError> {
    let (account_management_access, mut identity_center) =
        try_join(trusted_access(reader), instance(reader, ic, &scope.groups)).await?;
    if let Some(i) = identity_center.as_mut() {
        super::permission_sets::describe(reader, ic, i, scope).await?;
        // A delegated administrator cannot change a permission set provisioned to the
        // management account (rule identitycenter.delegated-admin-management-permission-set):
        // which those are, when vend manages permission sets from there.
        let mgmt = state.organization.management_account_id.as_str();
        if scope.delegated_admin.as_deref().is_some_and(|admin| admin != mgmt)
            && !scope.permission_sets.is_empty()
        {
            i.management_permission_sets = Some(provisioned_to(reader, ic, &i.instance_arn, mgmt).await?);
        }
    }
    // The accounts to look at: those the scope names that exist and are ACTIVE (a suspended
    // account can no longer be signed in to; AWS refuses most calls about it).
    let wanted: BTreeMap<(String, String), &AccessAccount> =
        scope.accounts.iter().map(|a| ((a.aws_name.clone(), a.email.to_ascii_lowercase()), a)).collect();
    let accounts: Vec<(&str, &AccessAccount)> = state
        .accounts
        .iter()
        .filter(|a| a.state == "ACTIVE")
        .filter_map(|a| {
            wanted.get(&(a.name.clone(), a.email.to_ascii_lowercase())).map(|w| (a.id.as_str(), *w))
        })
        .collect();
    let arns: BTreeMap<&str, &str> = identity_center
        .as_ref()
        .map(|i| i.permission_sets.iter().map(|p| (p.name.as_str(), p.arn.as_str())).collect())
        .unwrap_or_default();
    let instance_arn = identity_center.as_ref().map(|i| i.instance_arn.as_str());
    let mut lists = vec![];
    let mut gets = vec![];
    for (id, a) in &accounts {
        if let Some(instance_arn) = instance_arn {
            for ps in &a.permission_sets {
                // A permission set that does not exist has no assignments to read.
                if let Some(arn) = arns.get(ps.as_str()) {
                    lists.push(assignments(reader, ic, instance_arn, id, arn));
                }
            }
        }
        // Without trusted access AWS refuses GetAlternateContact for a member account
        // (rule `account.trusted-access`): vend cannot have set any there, and the planner plans
        // the trusted access before any contact it sets.
        if account_management_access || *id == me {
            for t in &a.contact_types {
                gets.push(contact(reader, id, t, *id == me));
            }
        }
    }
    let (assigned, contacts) = try_join(try_join_all(lists), try_join_all(gets)).await?;
    Ok(Access {
        account_management_access,
        identity_center,
        read_accounts: accounts.iter().map(|(id, _)| id.to_string()).collect(),
        assignments: assigned.into_iter().flatten().collect(),
        contacts: contacts.into_iter().flatten().collect(),
    })
}

/// Is `account.amazonaws.com` among the organization's trusted services
/// (ListAWSServiceAccessForOrganization)?
async fn trusted_access(reader: &Reader) -> Result<bool, CloudError> {
    let pages: Vec<_> = reader
        .sent(reader.org.list_aws_service_access_for_organization().into_paginator().send().try_collect())
        .await
        .map_err(|e| classify("ListAWSServiceAccessForOrganization", e))?;
    Ok(pages
        .iter()
        .flat_map(|p| p.enabled_service_principals())
        .any(|s| s.service_principal() == Some(ACCOUNT_MANAGEMENT_PRINCIPAL)))
}

/// The organization's Identity Center instance (the first ListInstances lists; an organization
/// has at most one), every permission set of it by name, and the groups `groups` names that
/// exist; `None` without an instance.
async fn instance(
    reader: &Reader,
    ic: &IdentityClients,
    groups: &BTreeSet<String>,
) -> Result<Option<IdentityCenter>, CloudError> {
    let pages: Vec<_> = reader
        .sent(ic.sso.list_instances().into_paginator().send().try_collect())
        .await
        .map_err(|e| classify("ListInstances", e))?;
    let Some(found) = pages.iter().flat_map(|p| p.instances()).find(|i| i.instance_arn().is_some()) else {
        return Ok(None);
    };
    let instance_arn = found.instance_arn().unwrap_or_default().to_string();
    let identity_store_id = found.identity_store_id().unwrap_or_default().to_string();
    let (permission_sets, groups) = try_join(
        permission_sets(reader, ic, &instance_arn),
        try_join_all(groups.iter().map(|g| group(reader, ic, &identity_store_id, g))),
    )
    .await?;
    Ok(Some(IdentityCenter {
        instance_arn,
        identity_store_id,
        region: ic.region.clone(),
        groups: groups.into_iter().flatten().collect(),
        permission_sets,
        management_permission_sets: None,
    }))
}

/// The ARNs of the permission sets provisioned to `account` (ListPermissionSetsProvisionedToAccount), sorted.
async fn provisioned_to(
    reader: &Reader,
    ic: &IdentityClients,
    instance_arn: &str,
    account: &str,
) -> Result<Vec<String>, CloudError> {
    let pages: Vec<_> = reader
        .sent(
            ic.sso
                .list_permission_sets_provisioned_to_account()
                .instance_arn(instance_arn)
                .account_id(account)
                .into_paginator()
                .send()
                .try_collect(),
        )
        .await
        .map_err(|e| classify("ListPermissionSetsProvisionedToAccount", e))?;
    let mut arns: Vec<String> = pages.iter().flat_map(|p| p.permission_sets()).cloned().collect();
    arns.sort();
    Ok(arns)
}

/// Every permission set of the instance: ListPermissionSets (ARNs), DescribePermissionSet each.
async fn permission_sets(
    reader: &Reader,
    ic: &IdentityClients,
    instance_arn: &str,
) -> Result<Vec<PermissionSet>, CloudError> {
    let pages: Vec<_> = reader
        .sent(ic.sso.list_permission_sets().instance_arn(instance_arn).into_paginator().send().try_collect())
        .await
        .map_err(|e| classify("ListPermissionSets", e))?;
    let arns: Vec<String> = pages.iter().flat_map(|p| p.permission_sets()).cloned().collect();
    try_join_all(arns.into_iter().map(|arn| async move {
        let out = reader
            .sent(ic.sso.describe_permission_set().instance_arn(instance_arn).permission_set_arn(&arn).send())
            .await
            .map_err(|e| classify("DescribePermissionSet", e))?;
        let name = out.permission_set().and_then(|p| p.name()).unwrap_or_default().to_string();
        Ok::<_, CloudError>(PermissionSet { arn, name, details: None })
    }))
    .await
}

/// The group with display name `name` (GetGroupId on the unique attribute `displayName`);
/// `None` when the identity store has none.
async fn group(
    reader: &Reader,
    ic: &IdentityClients,
    identity_store_id: &str,
    name: &str,
) -> Result<Option<Group>, CloudError> {
    let by_name = ids::types::UniqueAttribute::builder()
        .attribute_path("displayName")
        .attribute_value(name.into())
        .build()
        .map_err(|e| CloudError::hard("InvalidRequest", format!("GetGroupId {name}: {e}")))?;
    let sent = reader
        .sent(
            ic.ids
                .get_group_id()
                .identity_store_id(identity_store_id)
                .alternate_identifier(ids::types::AlternateIdentifier::UniqueAttribute(by_name))
                .send(),
        )
        .await;
    match sent {
        Ok(out) => Ok(Some(Group { id: out.group_id().to_string(), display_name: name.to_string() })),
        Err(e) if e.as_service_error().is_some_and(|x| x.is_resource_not_found_exception()) => Ok(None),
        Err(e) => Err(classify("GetGroupId", e)),
    }
}

/// The GROUP assignments of `permission_set_arn` on `account_id` (ListAccountAssignments).
async fn assignments(
    reader: &Reader,
    ic: &IdentityClients,
    instance_arn: &str,
    account_id: &str,
    permission_set_arn: &str,
) -> Result<Vec<Assignment>, CloudError> {
    let pages: Vec<_> = reader
        .sent(
            ic.sso
                .list_account_assignments()
                .instance_arn(instance_arn)
                .account_id(account_id)
                .permission_set_arn(permission_set_arn)
                .into_paginator()
                .send()
                .try_collect(),
        )
        .await
        .map_err(|e| classify("ListAccountAssignments", e))?;
    Ok(pages
        .iter()
        .flat_map(|p| p.account_assignments())
        .filter(|a| a.principal_type().is_some_and(|t| *t == sso::types::PrincipalType::Group))
        .map(|a| Assignment {
            account_id: a.account_id().unwrap_or(account_id).to_string(),
            permission_set_arn: a.permission_set_arn().unwrap_or(permission_set_arn).to_string(),
            principal_type: "GROUP".into(),
            principal_id: a.principal_id().unwrap_or_default().to_string(),
        })
        .collect())
}

/// The alternate contact `contact_type` of `account_id` (GetAlternateContact; without
/// `AccountId` for the caller's own account); `None` when it is not set
/// (ResourceNotFoundException, rule `account.contact-exists`).
async fn contact(
    reader: &Reader,
    account_id: &str,
    contact_type: &str,
    own: bool,
) -> Result<Option<AlternateContact>, CloudError> {
    let sent = reader
        .sent(
            reader
                .account
                .get_alternate_contact()
                .set_account_id((!own).then(|| account_id.to_string()))
                .alternate_contact_type(account::types::AlternateContactType::from(contact_type))
                .send(),
        )
        .await;
    let out = match sent {
        Ok(out) => out,
        Err(e) if e.as_service_error().is_some_and(|x| x.is_resource_not_found_exception()) => {
            return Ok(None);
        }
        Err(e) => return Err(classify("GetAlternateContact", e)),
    };
    Ok(out.alternate_contact().map(|c| AlternateContact {
        account_id: account_id.to_string(),
        contact_type: c
            .alternate_contact_type()
            .map(|t| t.as_str().to_string())
            .unwrap_or_else(|| contact_type.to_string()),
        name: c.name().unwrap_or_default().to_string(),
        email: c.email_address().unwrap_or_default().to_string(),
        phone: c.phone_number().unwrap_or_default().to_string(),
        title: c.title().unwrap_or_default().to_string(),
    }))
}

// ------------------------------------------------------------------------------- writes

/// The request id of an answer (every SDK crate's `RequestId` is the one trait).
pub(super) fn rid<T: sso::operation::RequestId>(out: &T) -> String {
    out.request_id().unwrap_or_default().to_string()
}

/// Await a write: its answer made an `Outcome` by `to`, its error classified as `op`'s.
pub(super) async fn outcome<T, E>(
    op: &str,
    request: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    to: impl FnOnce(T) -> Outcome,
) -> Result<Outcome, CloudError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    request.await.map(to).map_err(|e| classify(op, e))
}

/// An answer that is its request id alone.
pub(super) fn done<T: sso::operation::RequestId>(out: T) -> Outcome {
    Outcome { request_id: rid(&out), ..Outcome::default() }
}

/// The status of an asynchronous Identity Center request: an account assignment's creation
/// or deletion, a permission set's provisioning (two SDK types with the same fields).
pub(super) trait RequestStatus {
    /// The request to poll, its status, AWS's reason once FAILED.
    fn parts(&self) -> (Option<&str>, Option<&sso::types::StatusValues>, Option<&str>);
}

impl RequestStatus for sso::types::AccountAssignmentOperationStatus {
    fn parts(&self) -> (Option<&str>, Option<&sso::types::StatusValues>, Option<&str>) {
        (self.request_id(), self.status(), self.failure_reason())
    }
}

impl RequestStatus for sso::types::PermissionSetProvisioningStatus {
    fn parts(&self) -> (Option<&str>, Option<&sso::types::StatusValues>, Option<&str>) {
        (self.request_id(), self.status(), self.failure_reason())
    }
}

/// A request's status as an `Outcome`: `id` the request to poll, `status`
/// IN_PROGRESS | FAILED | SUCCEEDED, `result` AWS's reason once FAILED.
pub(super) fn status_outcome(request_id: String, s: Option<&impl RequestStatus>) -> Outcome {
    let (id, status, reason) = s.map(RequestStatus::parts).unwrap_or_default();
    Outcome {
        request_id,
        id: id.map(str::to_string),
        status: status.map(|x| x.as_str().to_string()),
        result: reason.map(str::to_string),
        ..Outcome::default()
    }
}

impl Writer<'_> {
    /// The sso-admin client writes use: Identity Center's home region, as the caller or (with a
    /// delegated administrator) as the member role in that account.
    pub(super) async fn sso_for_writes(&mut self) -> Result<sso::Client, CloudError> {
        let scope = self.routes.access.clone();
        let conf = self.identity_conf(&scope).await?;
        let region = home_region(&conf, scope.region.as_deref());
        Ok(sso_client(&conf, Some(&region), RetryConfig::standard().with_max_attempts(CALL_ATTEMPTS)))
    }

    /// The SDK config Identity Center is administered with: the caller's, or the delegated
    /// administrator's (member role, assumed once and again before it expires).
    pub(super) async fn identity_conf(
        &mut self,
        scope: &AccessScope,
    ) -> Result<aws_config::SdkConfig, CloudError> {
        let (me, _) = self.caller().await?;
        match &scope.delegated_admin {
            Some(admin) if *admin != me => Ok(self.member(admin).await?.conf),
            _ => Ok(self.conf.clone()),
        }
    }

    /// The issue-18 operations but the permission sets' (None: not one of them).
    pub(super) async fn access_call(&mut self, op: &Op) -> Option<Result<Outcome, CloudError>> {
        let name = op.name();
        let contact = |account_id: &str, contact_type: &str| Some(format!("{account_id}/{contact_type}"));
        Some(match op {
            Op::EnableAwsServiceAccess { service_principal } => {
                let request =
                    self.org.enable_aws_service_access().service_principal(service_principal).send();
                outcome(&name, request, |out| Outcome { id: Some(service_principal.clone()), ..done(out) })
                    .await
            }
            Op::CreateAccountAssignment { .. }
            | Op::DescribeAccountAssignmentCreationStatus { .. }
            | Op::DeleteAccountAssignment { .. }
            | Op::DescribeAccountAssignmentDeletionStatus { .. } => match self.sso_for_writes().await {
                Err(e) => Err(e),
                Ok(c) => assignment_call(&c, op).await?,
            },
            Op::PutAlternateContact { account_id, contact_type, name: who, email, phone, title } => {
                match self.contact_account_id(account_id).await {
                    Err(e) => Err(e),
                    Ok(id) => {
                        let request = self
                            .account
                            .put_alternate_contact()
                            .set_account_id(id)
                            .alternate_contact_type(account::types::AlternateContactType::from(
                                contact_type.as_str(),
                            ))
                            .name(who)
                            .email_address(email)
                            .phone_number(phone)
                            .title(title)
                            .send();
                        outcome(&name, request, |out| Outcome {
                            id: contact(account_id, contact_type),
                            ..done(out)
                        })
                        .await
                    }
                }
            }
            Op::DeleteAlternateContact { account_id, contact_type } => {
                match self.contact_account_id(account_id).await {
                    Err(e) => Err(e),
                    Ok(id) => {
                        let request = self
                            .account
                            .delete_alternate_contact()
                            .set_account_id(id)
                            .alternate_contact_type(account::types::AlternateContactType::from(
                                contact_type.as_str(),
                            ))
                            .send();
                        outcome(&name, request, |out| Outcome {
                            id: contact(account_id, contact_type),
                            ..done(out)
                        })
                        .await
                    }
                }
            }
            _ => return None,
        })
    }

    /// The `AccountId` of an alternate-contact call: none for the caller's own account (AWS
    /// refuses the management account's own id; see the module's doc), else `account_id`.
    async fn contact_account_id(&mut self, account_id: &str) -> Result<Option<String>, CloudError> {
        let (me, _) = self.caller().await?;
        Ok((account_id != me).then(|| account_id.to_string()))
    }
}

/// An account-assignment operation with the sso-admin client `c` (None: not one of them).
/// Creation and deletion answer with the request's status, polled with the Describe calls.
async fn assignment_call(c: &sso::Client, op: &Op) -> Option<Result<Outcome, CloudError>> {
    let name = op.name();
    Some(match op {
        Op::CreateAccountAssignment {
            instance_arn,
            account_id,
            permission_set_arn,
            principal_type,
            principal_id,
        }
        | Op::DeleteAccountAssignment {
            instance_arn,
            account_id,
            permission_set_arn,
            principal_type,
            principal_id,
        } => {
            // One request body on either builder: two SDK types with the same setters.
            macro_rules! assignment {
                ($builder:expr) => {
                    $builder
                        .instance_arn(instance_arn)
                        .target_id(account_id)
                        .target_type(sso::types::TargetType::AwsAccount)
                        .permission_set_arn(permission_set_arn)
                        .principal_type(sso::types::PrincipalType::from(principal_type.as_str()))
                        .principal_id(principal_id)
                        .send()
                };
            }
            if matches!(op, Op::CreateAccountAssignment { .. }) {
                let request = assignment!(c.create_account_assignment());
                outcome(&name, request, |out| {
                    status_outcome(rid(&out), out.account_assignment_creation_status())
                })
                .await
            } else {
                let request = assignment!(c.delete_account_assignment());
                outcome(&name, request, |out| {
                    status_outcome(rid(&out), out.account_assignment_deletion_status())
                })
                .await
            }
        }
        Op::DescribeAccountAssignmentCreationStatus { instance_arn, request_id } => {
            let request = c
                .describe_account_assignment_creation_status()
                .instance_arn(instance_arn)
                .account_assignment_creation_request_id(request_id)
                .send();
            outcome(&name, request, |out| status_outcome(rid(&out), out.account_assignment_creation_status()))
                .await
        }
        Op::DescribeAccountAssignmentDeletionStatus { instance_arn, request_id } => {
            let request = c
                .describe_account_assignment_deletion_status()
                .instance_arn(instance_arn)
                .account_assignment_deletion_request_id(request_id)
                .send();
            outcome(&name, request, |out| status_outcome(rid(&out), out.account_assignment_deletion_status()))
                .await
        }
        _ => return None,
    })
}
