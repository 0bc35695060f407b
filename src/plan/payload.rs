//! A change's `before`/`after` as typed data, one struct per kind (and per shape where a
//! kind's create differs from its snapshot form). Their serde form is plan JSON v1: field order
//! is key order (serde_json keeps it), an id not known before apply is `null`, and a key that
//! a shape does not carry is absent (`skip_serializing_if`). Display-only fields (a version's
//! previous template) sit apart in their own struct and never steer apply. Reading a saved
//! plan turns the JSON back into these with the change's kind and side ([`Payload::read`]).

use super::{Action, Kind};
use crate::model::{LaunchConstraint, Principal, ProductVersion, Share, Tags};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// `Some(None)` for a key present as `null`, `None` for an absent key.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// One side of a change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Payload {
    PolicyType(PolicyTypeState),
    NewOu(NewOu),
    Ou(OuState),
    NewAccount(NewAccount),
    Account(AccountState),
    Policy(PolicyState),
    Attachment(AttachmentState),
    Portfolio(PortfolioState),
    Product(ProductState),
    Version(VersionState),
    PortfolioProduct(PortfolioProductState),
    Principal(PrincipalState),
    Share(ShareState),
    Constraint(ConstraintState),
    Pipeline(PipelineState),
    ServiceAccess(ServiceAccessState),
    Bucket(BucketState),
    LaunchRole(LaunchRoleState),
    Assignment(AssignmentState),
    Contact(ContactState),
    PermissionSet(PermissionSetState),
}

impl Payload {
    /// Read one side of a change of `kind` from plan JSON (`after` says which side: a create's
    /// `after` of an OU or an account has its own shape).
    pub fn read(kind: Kind, action: Action, after: bool, v: &Value) -> Result<Payload, serde_json::Error> {
        let new = after && action == Action::Create;
        Ok(match kind {
            Kind::PolicyType => Payload::PolicyType(Deserialize::deserialize(v)?),
            Kind::Ou if new => Payload::NewOu(Deserialize::deserialize(v)?),
            Kind::Ou => Payload::Ou(Deserialize::deserialize(v)?),
            Kind::Account if new => Payload::NewAccount(Deserialize::deserialize(v)?),
            Kind::Account => Payload::Account(Deserialize::deserialize(v)?),
            Kind::Policy => Payload::Policy(Deserialize::deserialize(v)?),
            Kind::PolicyAttachment => Payload::Attachment(Deserialize::deserialize(v)?),
            Kind::Portfolio => Payload::Portfolio(Deserialize::deserialize(v)?),
            Kind::Product => Payload::Product(Deserialize::deserialize(v)?),
            Kind::ProductVersion => Payload::Version(Deserialize::deserialize(v)?),
            Kind::PortfolioProduct => Payload::PortfolioProduct(Deserialize::deserialize(v)?),
            Kind::PortfolioPrincipal => Payload::Principal(Deserialize::deserialize(v)?),
            Kind::PortfolioShare => Payload::Share(Deserialize::deserialize(v)?),
            Kind::LaunchConstraint => Payload::Constraint(Deserialize::deserialize(v)?),
            Kind::ProvisionedPipeline => Payload::Pipeline(Deserialize::deserialize(v)?),
            Kind::ServiceAccess => Payload::ServiceAccess(Deserialize::deserialize(v)?),
            Kind::TemplateBucket => Payload::Bucket(Deserialize::deserialize(v)?),
            Kind::LaunchRole => Payload::LaunchRole(Deserialize::deserialize(v)?),
            Kind::AccountAssignment => Payload::Assignment(Deserialize::deserialize(v)?),
            Kind::AlternateContact => Payload::Contact(Deserialize::deserialize(v)?),
            Kind::PermissionSet => Payload::PermissionSet(Deserialize::deserialize(v)?),
        })
    }

    /// The compact plan JSON text of this side (what idempotency tokens hash).
    pub fn json_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The plan JSON of this side (for generic display and the views apply reads).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The account's parent path after the change (accounts only).
    pub fn parent(&self) -> Option<&str> {
        match self {
            Payload::NewAccount(a) => Some(&a.parent),
            Payload::Account(a) => a.parent.as_ref().and_then(|p| p.as_deref()),
            Payload::NewOu(o) => Some(&o.parent),
            _ => None,
        }
    }

    /// The product and version a pipeline runs (pipelines only).
    pub fn pipeline_version(&self) -> Option<(&str, Option<&str>)> {
        match self {
            Payload::Pipeline(p) => Some((&p.product, p.version.as_ref().and_then(|v| v.as_deref()))),
            _ => None,
        }
    }

    /// The resource's id, when the side names one.
    pub fn id(&self) -> Option<&str> {
        match self {
            Payload::NewOu(_)
            | Payload::NewAccount(_)
            | Payload::PolicyType(_)
            | Payload::ServiceAccess(_) => None,
            Payload::Bucket(b) => Some(&b.name),
            Payload::LaunchRole(r) => Some(&r.name),
            Payload::Ou(o) => Some(&o.id),
            Payload::Account(a) => Some(&a.id),
            Payload::Policy(p) => p.id.as_deref(),
            Payload::Portfolio(p) => p.id.as_deref(),
            Payload::Product(p) => p.id.as_deref(),
            Payload::Version(v) => v.id.as_deref(),
            Payload::Pipeline(p) => p.id.as_deref(),
            Payload::PermissionSet(p) => p.arn.as_deref(),
            Payload::Attachment(_)
            | Payload::PortfolioProduct(_)
            | Payload::Principal(_)
            | Payload::Share(_)
            | Payload::Constraint(_)
            | Payload::Assignment(_)
            | Payload::Contact(_) => None,
        }
    }
}

/// An IAM Identity Center account assignment (`account_assignment:<account>/<group>/<permission
/// set>`): the group may sign in to the account with the permission set. Names are what the
/// workspace wrote; ids are `null` until known (the account's while the same plan creates it).
/// AWS keeps no tags on an assignment: which ones are vend's is decided by the account's
/// blueprint (see ARCHITECTURE.md, "Access and contacts").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentState {
    /// The account's name (its request's key) and id.
    pub account: String,
    pub account_id: Option<String>,
    /// The group's display name in the identity store, and its id.
    pub group: String,
    pub group_id: Option<String>,
    /// The permission set's name, and its ARN.
    pub permission_set: String,
    pub permission_set_arn: Option<String>,
    /// The Identity Center instance the assignment is made in (`arn:aws:sso:::instance/…`).
    #[serde(default)]
    pub instance_arn: String,
}

/// An IAM Identity Center permission set vend manages (`permission_set:<name>`,
/// `catalog/permission_sets/<name>.yaml`). Its ARN is `null` until CreatePermissionSet gives it;
/// `tags` carry vend's ownership tag (what makes it vend's).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionSetState {
    pub name: String,
    pub arn: Option<String>,
    /// The Identity Center instance (`arn:aws:sso:::instance/…`).
    pub instance_arn: String,
    pub description: String,
    /// ISO-8601 duration (`PT8H`).
    pub session_duration: String,
    /// AWS managed policy ARNs, sorted.
    #[serde(default)]
    pub managed_policies: Vec<String>,
    /// Canonical JSON; `null` for none.
    #[serde(default)]
    pub inline_policy: Option<String>,
    #[serde(default)]
    pub tags: Tags,
}

/// An account's alternate contact (`alternate_contact:<account>/<type>`), set from the
/// management account through AWS Account Management.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactState {
    pub account: String,
    pub account_id: Option<String>,
    /// `BILLING` | `OPERATIONS` | `SECURITY`.
    #[serde(rename = "type")]
    pub contact_type: String,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyTypeState {
    #[serde(rename = "type")]
    pub policy_type: String,
    pub root_id: String,
    pub status: String,
}

/// Service Catalog's AWS Organizations access (`service_access:servicecatalog`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccessState {
    /// The service's principal (`servicecatalog.amazonaws.com`).
    pub service: String,
    /// `ENABLED` | `DISABLED` | `UNDER_CHANGE` (GetAWSOrganizationsAccessStatus).
    pub status: String,
}

/// The template bucket as vend sets it up (`template_bucket:<name>`): private, encrypted,
/// versioned, tagged with the ownership tag. Apply reads it as it is (its own view).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketState {
    pub name: String,
    pub region: String,
    /// Default encryption: `AES256` (SSE-S3).
    pub encryption: String,
    pub public_access_blocked: bool,
    pub versioning: bool,
    pub tags: Tags,
}

impl From<&crate::model::Bucket> for BucketState {
    fn from(b: &crate::model::Bucket) -> Self {
        BucketState {
            name: b.name.clone(),
            region: b.region.clone(),
            encryption: b.encryption.clone(),
            public_access_blocked: b.public_access_blocked,
            versioning: b.versioning,
            tags: b.tags.clone(),
        }
    }
}

/// A launch constraint's role in one account (`launch_role:<account>/<role>`): trusted by
/// Service Catalog, with vend's inline policy `vend-launch` from
/// `catalog/launch_roles/<role>.json`, tagged with the ownership tag.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaunchRoleState {
    /// The account's name, and its id (`null` while the account is created by the same plan).
    pub account: String,
    pub account_id: Option<String>,
    pub name: String,
    /// The trust policy lets `servicecatalog.amazonaws.com` assume the role.
    pub trusts_catalog: bool,
    /// The inline policy, canonical JSON (empty: none).
    pub policy: String,
    pub tags: Tags,
}

/// An OU to create: no id yet; its parent by id when it exists, and by path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOu {
    pub id: Option<String>,
    pub name: String,
    pub parent_id: Option<String>,
    pub path: String,
    pub parent: String,
    pub tags: Tags,
}

/// An existing OU (snapshot form) with its path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OuState {
    pub id: String,
    pub name: String,
    pub parent_id: String,
    pub tags: Tags,
    pub path: String,
}

/// An account to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    pub id: Option<String>,
    pub name: String,
    pub email: String,
    pub state: String,
    pub parent_id: Option<String>,
    pub parent: String,
    pub tags: Tags,
    pub blueprint: String,
    pub create_account_request_id: Option<String>,
    pub root_id: String,
    /// When the request was made (delivery metrics; recorded with the creation's intent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_at: Option<String>,
}

/// An existing account (snapshot form); moves and retags add its parent path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountState {
    pub id: String,
    pub name: String,
    pub email: String,
    pub state: String,
    /// `null` in `after` when the destination OU is created by the plan.
    pub parent_id: Option<String>,
    #[serde(default)]
    pub tags: Tags,
    /// Parent path ("" for the root; `null` when unknown); absent on a close.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub parent: Option<Option<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyState {
    pub id: Option<String>,
    pub name: String,
    #[serde(rename = "type")]
    pub policy_type: String,
    pub aws_managed: bool,
    pub content: String,
    #[serde(default)]
    pub target_ids: Vec<String>,
    #[serde(default)]
    pub tags: Tags,
}

/// An SCP on a target: names (`policy`, `target` = `root`, `ou:PATH` or `account:NAME`) and
/// the ids when known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentState {
    pub policy: String,
    pub target: String,
    pub target_id: Option<String>,
    pub policy_id: Option<String>,
}

/// A portfolio; a new one also lists its (empty) associations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortfolioState {
    pub id: Option<String>,
    pub name: String,
    pub description: String,
    pub provider: String,
    pub tags: Tags,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principals: Option<Vec<Principal>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shares: Option<Vec<Share>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_constraints: Option<Vec<LaunchConstraint>>,
}

/// A product: snapshot form, or a new one with its description and blueprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductState {
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Tags,
    #[serde(default)]
    pub versions: Vec<ProductVersion>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blueprint: Option<String>,
}

/// A product version (provisioning artifact). A new one carries its template (apply uploads
/// it) and, for display only, the version it follows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionState {
    pub id: Option<String>,
    pub name: String,
    pub active: bool,
    pub guidance: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub template_url: String,
    pub product: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_body: Option<String>,
    #[serde(flatten)]
    pub display: VersionDisplay,
    pub product_id: Option<String>,
}

/// Display only: the diff base of a new version's template. Never read by apply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VersionDisplay {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_template_body: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortfolioProductState {
    pub portfolio: String,
    pub product: String,
    pub portfolio_id: Option<String>,
    pub product_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalState {
    pub portfolio: String,
    pub arn: String,
    #[serde(rename = "type")]
    pub principal_type: String,
    pub portfolio_id: Option<String>,
}

/// A share: `target` is `organization`, `ou:PATH` or `account:NAME`; `value` its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareState {
    pub portfolio: String,
    pub target: String,
    #[serde(rename = "type")]
    pub share_type: String,
    pub value: Option<String>,
    pub status: String,
    pub portfolio_id: Option<String>,
    /// Principal sharing on (organization and OU shares): absent when off, so plans without it
    /// keep their bytes.
    #[serde(default, skip_serializing_if = "crate::model::is_false")]
    pub share_principals: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstraintState {
    pub portfolio: String,
    pub product: String,
    pub local_role_name: String,
    pub product_id: Option<String>,
    pub portfolio_id: Option<String>,
}

/// A provisioned pipeline: snapshot fields, then its account, product and version by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineState {
    pub id: Option<String>,
    pub name: String,
    pub account_id: Option<String>,
    pub product_id: Option<String>,
    pub version_id: Option<String>,
    pub status: String,
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: Tags,
    pub account: String,
    pub product: String,
    /// Absent when a pipeline is terminated; `null` when its current version is not known.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub version: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_at: Option<String>,
    /// Tag the account as holding vend's pipelines before launching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark_account: Option<bool>,
}
