//! The narrow interfaces the apply engine needs, in vend's own types: a `Cloud` that reads the
//! state and performs AWS-shaped operations (`Op`), an `Audit` sink for the append-only log, and
//! a `Clock`. Adapters implement them (`adapter::local_cloud` now, `adapter::aws` later); the
//! engine never sees an adapter, an SDK type or the file system.

use crate::model::{State, Tags};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod audit_event;
pub use audit_event::{
    ApplyEnd, ApplyStart, Approve, AuditEvent, Call, Completed, Event, EventKind, ForceUnlock, Intent,
    LockTakeover, OpenWrite, OutcomeDetail, Recovery, RequestDetail, StepCounts,
};

/// One AWS API operation, with every id already resolved. Names follow the AWS operations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "PascalCase")]
pub enum Op {
    // ---- Organizations
    EnablePolicyType {
        root_id: String,
        policy_type: String,
    },
    CreateOrganizationalUnit {
        parent_id: String,
        name: String,
        tags: Tags,
    },
    /// Rename an OU in place: same id; its accounts, child OUs and attached policies stay.
    UpdateOrganizationalUnit {
        ou_id: String,
        name: String,
    },
    DeleteOrganizationalUnit {
        ou_id: String,
    },
    /// Set (add or overwrite) tags on an OU, account or policy.
    TagResource {
        resource_id: String,
        tags: Tags,
    },
    /// Asynchronous: returns a `car-…` request id; poll `DescribeCreateAccountStatus`.
    /// Never retried blindly (no idempotency token in AWS).
    CreateAccount {
        name: String,
        email: String,
        tags: Tags,
    },
    DescribeCreateAccountStatus {
        request_id: String,
    },
    /// Reconciliation after an ambiguous CreateAccount (5xx, timeout): the newest creation
    /// request for this name that is in progress, or that succeeded with this e-mail
    /// (ListCreateAccountStatus, DescribeAccount). `Outcome::id` is the `car-…` id, or none.
    FindCreateAccount {
        name: String,
        email: String,
    },
    /// Where an account is now (ListParents): `Outcome::id` is the parent's id.
    ListParents {
        child_id: String,
    },
    MoveAccount {
        account_id: String,
        source_parent_id: String,
        destination_parent_id: String,
    },
    CloseAccount {
        account_id: String,
    },
    CreatePolicy {
        name: String,
        content: String,
        tags: Tags,
    },
    UpdatePolicy {
        policy_id: String,
        content: String,
    },
    DeletePolicy {
        policy_id: String,
    },
    AttachPolicy {
        policy_id: String,
        target_id: String,
    },
    DetachPolicy {
        policy_id: String,
        target_id: String,
    },
    // ---- S3 (templates, content-addressed)
    PutTemplate {
        url: String,
        body: String,
    },
    /// The template bucket, in `region` (outside `us-east-1` with a LocationConstraint).
    CreateBucket {
        bucket: String,
        region: String,
    },
    /// All four block-public-access settings on.
    PutPublicAccessBlock {
        bucket: String,
    },
    /// Default encryption `algorithm` (`AES256`: SSE-S3).
    PutBucketEncryption {
        bucket: String,
        algorithm: String,
    },
    /// Versioning `Enabled`.
    PutBucketVersioning {
        bucket: String,
    },
    /// Replace the bucket's tag set with `tags`.
    PutBucketTagging {
        bucket: String,
        tags: Tags,
    },
    // ---- IAM: launch roles, in the account `account_id` (the caller's own, or a member
    // account through the member role)
    /// A role Service Catalog may assume (`trust_policy`), tagged in the same call.
    CreateRole {
        account_id: String,
        name: String,
        trust_policy: String,
        tags: Tags,
    },
    /// Replace the role's trust policy.
    UpdateAssumeRolePolicy {
        account_id: String,
        name: String,
        trust_policy: String,
    },
    /// Create or replace the role's inline policy `policy_name`.
    PutRolePolicy {
        account_id: String,
        name: String,
        policy_name: String,
        document: String,
    },
    DeleteRolePolicy {
        account_id: String,
        name: String,
        policy_name: String,
    },
    /// A role with no inline policy left (IAM refuses DeleteRole otherwise: DeleteConflict).
    DeleteRole {
        account_id: String,
        name: String,
    },
    // ---- Organizations: trusted access for another AWS service (issue 18: AWS Account
    // Management, `account.amazonaws.com`, which PutAlternateContact for a member needs)
    #[serde(rename = "EnableAWSServiceAccess")]
    EnableAwsServiceAccess {
        service_principal: String,
    },
    // ---- IAM Identity Center (sso-admin), in the instance's home region, from the management
    // account or the delegated administrator (issue 18)
    /// Asynchronous: `Outcome::id` is the assignment request to poll (`result`: the failure
    /// reason once FAILED).
    CreateAccountAssignment {
        instance_arn: String,
        account_id: String,
        permission_set_arn: String,
        /// `GROUP`.
        principal_type: String,
        principal_id: String,
    },
    /// `Outcome::status`: IN_PROGRESS | FAILED | SUCCEEDED (`Outcome::reason` on FAILED).
    DescribeAccountAssignmentCreationStatus {
        instance_arn: String,
        request_id: String,
    },
    DeleteAccountAssignment {
        instance_arn: String,
        account_id: String,
        permission_set_arn: String,
        principal_type: String,
        principal_id: String,
    },
    DescribeAccountAssignmentDeletionStatus {
        instance_arn: String,
        request_id: String,
    },
    // ---- IAM Identity Center permission sets vend manages (issue 18, `catalog/permission_sets/`)
    /// `Outcome::id`: the new permission set's ARN.
    CreatePermissionSet {
        instance_arn: String,
        name: String,
        description: String,
        /// ISO-8601 (`PT8H`).
        session_duration: String,
        tags: Tags,
    },
    UpdatePermissionSet {
        instance_arn: String,
        permission_set_arn: String,
        description: String,
        session_duration: String,
    },
    /// sso-admin TagResource (ResourceArn: the permission set's ARN).
    TagPermissionSet {
        instance_arn: String,
        permission_set_arn: String,
        tags: Tags,
    },
    AttachManagedPolicyToPermissionSet {
        instance_arn: String,
        permission_set_arn: String,
        managed_policy_arn: String,
    },
    DetachManagedPolicyFromPermissionSet {
        instance_arn: String,
        permission_set_arn: String,
        managed_policy_arn: String,
    },
    PutInlinePolicyToPermissionSet {
        instance_arn: String,
        permission_set_arn: String,
        inline_policy: String,
    },
    DeleteInlinePolicyFromPermissionSet {
        instance_arn: String,
        permission_set_arn: String,
    },
    /// TargetType `ALL_PROVISIONED_ACCOUNTS`; asynchronous: `Outcome::id` is the request to poll.
    ProvisionPermissionSet {
        instance_arn: String,
        permission_set_arn: String,
    },
    /// `Outcome::status`: IN_PROGRESS | FAILED | SUCCEEDED (`Outcome::result`: the failure reason).
    DescribePermissionSetProvisioningStatus {
        instance_arn: String,
        request_id: String,
    },
    DeletePermissionSet {
        instance_arn: String,
        permission_set_arn: String,
    },
    // ---- AWS Account Management: alternate contacts of a member account (issue 18)
    PutAlternateContact {
        account_id: String,
        /// `BILLING` | `OPERATIONS` | `SECURITY`.
        contact_type: String,
        name: String,
        email: String,
        phone: String,
        title: String,
    },
    DeleteAlternateContact {
        account_id: String,
        contact_type: String,
    },
    // ---- Service Catalog: the organization
    /// Lets Service Catalog share to organization nodes (from the management account).
    #[serde(rename = "EnableAWSOrganizationsAccess")]
    EnableAwsOrganizationsAccess {},
    /// `Outcome::status`: ENABLED | DISABLED | UNDER_CHANGE.
    #[serde(rename = "GetAWSOrganizationsAccessStatus")]
    GetAwsOrganizationsAccessStatus {},
    // ---- Service Catalog
    CreatePortfolio {
        name: String,
        description: String,
        provider: String,
        tags: Tags,
        token: String,
    },
    UpdatePortfolio {
        portfolio_id: String,
        description: String,
        provider: String,
        tags: Tags,
    },
    DeletePortfolio {
        portfolio_id: String,
    },
    /// Creates the product with its first version (AWS requires one).
    CreateProduct {
        name: String,
        owner: String,
        description: String,
        tags: Tags,
        version: ArtifactSpec,
        token: String,
    },
    UpdateProduct {
        product_id: String,
        owner: String,
        tags: Tags,
    },
    DeleteProduct {
        product_id: String,
    },
    CreateProvisioningArtifact {
        product_id: String,
        version: ArtifactSpec,
        token: String,
    },
    UpdateProvisioningArtifact {
        product_id: String,
        artifact_id: String,
        active: bool,
        guidance: String,
        /// A new description (vend's `vend-sha256:` content hash, when it adopts a version);
        /// absent: the description stays.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
    DeleteProvisioningArtifact {
        product_id: String,
        artifact_id: String,
    },
    AssociateProductWithPortfolio {
        product_id: String,
        portfolio_id: String,
    },
    DisassociateProductFromPortfolio {
        product_id: String,
        portfolio_id: String,
    },
    AssociatePrincipalWithPortfolio {
        portfolio_id: String,
        arn: String,
        principal_type: String,
    },
    DisassociatePrincipalFromPortfolio {
        portfolio_id: String,
        arn: String,
        principal_type: String,
    },
    /// Asynchronous: returns a share token; poll `DescribePortfolioShareStatus`.
    /// `share_type`: ORGANIZATION | ORGANIZATIONAL_UNIT | ACCOUNT; `value`: the org, OU or account id.
    CreatePortfolioShare {
        portfolio_id: String,
        share_type: String,
        value: String,
        /// `SharePrincipals` (organization and OU shares only); absent when off.
        #[serde(default, skip_serializing_if = "crate::model::is_false")]
        share_principals: bool,
    },
    /// Turn principal sharing on or off on an existing organization or OU share. Asynchronous:
    /// returns a share token; poll `DescribePortfolioShareStatus`.
    UpdatePortfolioShare {
        portfolio_id: String,
        share_type: String,
        value: String,
        share_principals: bool,
    },
    DescribePortfolioShareStatus {
        token: String,
    },
    DeletePortfolioShare {
        portfolio_id: String,
        share_type: String,
        value: String,
    },
    CreateConstraint {
        portfolio_id: String,
        product_id: String,
        local_role_name: String,
        token: String,
    },
    DeleteConstraint {
        portfolio_id: String,
        product_id: String,
    },
    /// Asynchronous: returns a record id; poll `DescribeRecord`.
    ProvisionProduct {
        account_id: String,
        name: String,
        product_id: String,
        artifact_id: String,
        params: BTreeMap<String, String>,
        tags: Tags,
        token: String,
    },
    UpdateProvisionedProduct {
        provisioned_product_id: String,
        artifact_id: String,
        params: BTreeMap<String, String>,
        token: String,
    },
    TerminateProvisionedProduct {
        provisioned_product_id: String,
        token: String,
    },
    DescribeRecord {
        record_id: String,
    },
}

impl Op {
    /// The AWS operation name (`CreateAccount`, …).
    pub fn name(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.get("op").and_then(|o| o.as_str()).map(str::to_string))
            .unwrap_or_default()
    }

    /// The Organizations entities (root, OU, account and policy ids) this write modifies: AWS
    /// answers `ConcurrentModificationException` to a second write to one of them while the
    /// first is in progress, so the engine never has two such calls in flight at once. The sets
    /// are those the emulator enforces (`organizations.one-writer-per-entity`, the strict
    /// reading of the API reference, where AWS does not say what "the target" is): a create
    /// names the parent it adds to; CreateAccount and CreatePolicy change the organization as a
    /// whole, named by its root; the root is `root` whatever its id (an organization has one).
    /// Reads and the other services name none.
    pub fn entities(&self) -> Vec<&str> {
        fn e(id: &str) -> &str {
            if id.starts_with("r-") { "root" } else { id }
        }
        let ids: Vec<&str> = match self {
            Op::EnablePolicyType { root_id, .. } => vec![root_id],
            // Trusted access changes the organization as a whole: like a new account, it holds
            // the root (the emulator, following AWS's ConcurrentModificationException, refuses
            // a CreateAccount meanwhile).
            Op::CreateAccount { .. } | Op::CreatePolicy { .. } | Op::EnableAwsServiceAccess { .. } => {
                vec!["root"]
            }
            Op::CreateOrganizationalUnit { parent_id, .. } => vec![parent_id],
            Op::UpdateOrganizationalUnit { ou_id, .. } | Op::DeleteOrganizationalUnit { ou_id } => {
                vec![ou_id]
            }
            Op::TagResource { resource_id, .. } => vec![resource_id],
            Op::MoveAccount { account_id, source_parent_id, destination_parent_id } => {
                vec![account_id, source_parent_id, destination_parent_id]
            }
            Op::CloseAccount { account_id } => vec![account_id],
            Op::UpdatePolicy { policy_id, .. } | Op::DeletePolicy { policy_id } => vec![policy_id],
            Op::AttachPolicy { policy_id, target_id } | Op::DetachPolicy { policy_id, target_id } => {
                vec![policy_id, target_id]
            }
            _ => vec![],
        };
        let mut ids: Vec<&str> = ids.into_iter().map(e).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Reads change nothing: they get no intent/outcome records.
    pub fn is_read(&self) -> bool {
        matches!(
            self,
            Op::DescribeCreateAccountStatus { .. }
                | Op::FindCreateAccount { .. }
                | Op::ListParents { .. }
                | Op::DescribePortfolioShareStatus { .. }
                | Op::DescribeRecord { .. }
                | Op::GetAwsOrganizationsAccessStatus {}
                | Op::DescribeAccountAssignmentCreationStatus { .. }
                | Op::DescribeAccountAssignmentDeletionStatus { .. }
                | Op::DescribePermissionSetProvisioningStatus { .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactSpec {
    pub name: String,
    /// `vend-sha256:<hex>`.
    pub description: String,
    pub template_url: String,
    pub guidance: String,
}

/// What an operation returned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The AWS request id of the call (for the audit log).
    pub request_id: String,
    /// The id of what was created (OU, policy, account, portfolio, product, artifact,
    /// provisioned product), or of the asynchronous request (`car-…`, share token, record id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// For `CreateProduct`: the id of its first provisioning artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_id: Option<String>,
    /// For polls: IN_PROGRESS | SUCCEEDED | FAILED (accounts), NOT_STARTED | IN_PROGRESS |
    /// COMPLETED | COMPLETED_WITH_ERRORS | ERROR (shares), IN_PROGRESS | SUCCEEDED | FAILED (records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// For a finished asynchronous request: the id of the result (account id, provisioned
    /// product id) or the failure reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// AWS turned the request away without carrying it out (throttling, concurrent
    /// modification, policy changes in progress, organization finalizing): send it again after
    /// a backoff — safe for every operation.
    Retryable,
    /// The request may or may not have been carried out (5xx, timeout, lost response): reconcile
    /// before sending a non-idempotent write again.
    Unknown,
    /// AWS said no (a rule, a quota, a missing resource): stop.
    Hard,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[error("{code}: {message}")]
pub struct CloudError {
    pub kind: ErrorKind,
    /// The AWS error code (`ConstraintViolationException`, …).
    pub code: String,
    pub message: String,
    /// The rule of `adapter::aws_rules` that refused the call, when the in-process cloud did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

impl CloudError {
    pub fn hard(code: &str, message: impl Into<String>) -> Self {
        CloudError { kind: ErrorKind::Hard, code: code.to_string(), message: message.into(), rule: None }
    }
    pub fn retryable(code: &str, message: impl Into<String>) -> Self {
        CloudError { kind: ErrorKind::Retryable, code: code.to_string(), message: message.into(), rule: None }
    }
}

/// AWS as the engine sees it.
pub trait Cloud: Send {
    /// The whole current state (snapshot format v1).
    fn read_state(&mut self) -> Result<State, CloudError>;
    /// Perform one operation.
    fn call(&mut self, op: &Op) -> Result<Outcome, CloudError>;
    /// The same calls from several threads at once, where the cloud can take them (AWS, whose
    /// calls wait on the network). `None`: the engine sends this cloud one call at a time (the
    /// in-process cloud, whose calls take microseconds), while steps still overlap their waits.
    fn concurrent(&self) -> Option<&dyn ConcurrentCloud> {
        None
    }
}

/// A cloud that performs operations from several threads at once (see [`Cloud::concurrent`]).
pub trait ConcurrentCloud: Sync {
    fn call(&self, op: &Op) -> Result<Outcome, CloudError>;
}

#[derive(Debug, thiserror::Error)]
#[error("audit log: {0}")]
pub struct AuditError(pub String);

/// The append-only, tamper-evident log (appended to by one thread at a time: the engine holds it
/// behind a lock while steps run in parallel).
pub trait Audit: Send {
    /// Append one record durably (flushed and synced) before returning.
    fn append(&mut self, event: AuditEvent) -> Result<(), AuditError>;
}

/// Time, injected so the engine is deterministic under test; used by every step in flight.
pub trait Clock: Sync {
    /// RFC 3339 UTC, seconds precision.
    fn now(&self) -> String;
    /// Wait before polling again (the in-process cloud needs no real wait).
    fn sleep(&self, millis: u64);
}
