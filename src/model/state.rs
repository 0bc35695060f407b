//! The observed state of an organization: what exists in AWS Organizations and Service Catalog.
//! Its serde form *is* snapshot format v1 (DESIGN §3) and the local state file; every list is
//! kept sorted by id so the same organization always serialises to the same bytes.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub type Tags = BTreeMap<String, String>;

pub const FORMAT_VERSION: u32 = 1;

/// How AWS (CloudFormation's DescribeStacks) returns the value of a NoEcho parameter.
pub const MASKED: &str = "****";

/// The account tag vend sets (`true`) when it launches a pipeline in an account, so that the
/// AWS backend knows which member accounts to search for provisioned products even after
/// their requests are gone from the workspace.
pub const PIPELINES_TAG: &str = "vend:pipelines";
/// The start of a product version's description when vend published it (or adopted it): the
/// SHA-256 of the version's blueprint files follows (`vend-sha256:<hex>`, DESIGN §2).
pub const VERSION_HASH_MARKER: &str = "vend-sha256:";
/// The tag naming the account blueprint version of a vend-managed account (`<name>@<version>`).
pub const BLUEPRINT_TAG: &str = "vend:blueprint";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub format_version: u32,
    pub captured_at: String,
    pub source: String,
    pub organization: Organization,
    #[serde(default)]
    pub organizational_units: Vec<OrgUnit>,
    #[serde(default)]
    pub accounts: Vec<Account>,
    #[serde(default)]
    pub create_account_requests: Vec<CreateAccountRequest>,
    #[serde(default)]
    pub policies: Vec<Policy>,
    #[serde(default)]
    pub portfolios: Vec<Portfolio>,
    #[serde(default)]
    pub products: Vec<Product>,
    #[serde(default)]
    pub provisioned_products: Vec<ProvisionedProduct>,
    /// Optional extension of format v1 (issue 14): what the launch path of a member account
    /// needs that lives outside Organizations and the portfolio — Service Catalog's AWS
    /// Organizations access and the template bucket. Absent in files written before vend
    /// modelled it: the planner then plans none of it and the in-process cloud behaves as those
    /// versions did (access on, every bucket there), so old state files and saved plans keep
    /// their bytes and still apply (`tests/compat.rs`). Every state vend reads from AWS, and
    /// the demo snapshot, carry it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_path: Option<LaunchPath>,
    /// Optional extension of format v1 (issue 15): the bodies of product version templates,
    /// by URL (`vend snapshot save --for-import`), so that `vend import --state FILE` writes
    /// pipeline blueprints without AWS. Not part of `fingerprint` (a template's URL names its
    /// content; plans do not depend on bodies).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub templates: Vec<TemplateBody>,
    /// Optional extension of format v1 (issue 18): who may sign in to accounts (IAM Identity
    /// Center) and the accounts' alternate contacts. Absent in files written before: the
    /// planner then plans no access or contact change (a workspace that declares some gets a
    /// plan error saying the state does not know them), so old files keep their bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<Access>,
    /// Optional extension of format v1: `sha256:` of the file's canonical content without this
    /// field ([`State::content_digest`]), written by vend when it saves a snapshot or the state
    /// file, so that a hand edit is detected. Readers verify and then clear it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// Identity Center and alternate contacts as vend read them (see [`State::access`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Access {
    /// Organizations trusted access for AWS Account Management (`account.amazonaws.com` listed
    /// by ListAWSServiceAccessForOrganization): what PutAlternateContact for another account
    /// needs.
    #[serde(default)]
    pub account_management_access: bool,
    /// The organization's Identity Center instance; `None` when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_center: Option<IdentityCenter>,
    /// The accounts (ids) whose assignments and contacts were read, sorted. An account not
    /// listed was not looked at (its blueprint declares neither); for a listed one, what
    /// [`Access::assignments`] and [`Access::contacts`] lack does not exist.
    #[serde(default)]
    pub read_accounts: Vec<String>,
    /// Account assignments of the accounts read, sorted by account, permission set, principal.
    #[serde(default)]
    pub assignments: Vec<Assignment>,
    /// Alternate contacts of the accounts read, sorted by account and type.
    #[serde(default)]
    pub contacts: Vec<AlternateContact>,
}

/// An IAM Identity Center instance (`sso-admin ListInstances`) and what vend looked up in it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityCenter {
    /// `arn:aws:sso:::instance/ssoins-…`.
    pub instance_arn: String,
    /// `d-…`: the identity store groups live in.
    pub identity_store_id: String,
    /// The instance's home region.
    pub region: String,
    /// Groups by display name (those the workspace names, or all the in-process cloud holds),
    /// sorted by name. A name not listed does not exist in the identity store.
    #[serde(default)]
    pub groups: Vec<Group>,
    /// Every permission set of the instance, sorted by name.
    #[serde(default)]
    pub permission_sets: Vec<PermissionSet>,
    /// The ARNs of the permission sets provisioned to the management account, sorted
    /// (ListPermissionSetsProvisionedToAccount), read when a delegated administrator manages
    /// Identity Center: it cannot change those (rule
    /// `identitycenter.delegated-admin-management-permission-set`). `None`: not read — then the
    /// management account's assignments the state records tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_permission_sets: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub id: String,
    pub display_name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionSet {
    pub arn: String,
    pub name: String,
    /// What was read of the permission set beyond its name (vend-managed permission sets,
    /// `catalog/permission_sets/`): `None` when it was not described (a set the workspace
    /// neither manages nor names there; a state written before). See [`PermissionSetDetails`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<PermissionSetDetails>,
}

/// A permission set as DescribePermissionSet, ListManagedPoliciesInPermissionSet,
/// GetInlinePolicyForPermissionSet and ListTagsForResource give it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionSetDetails {
    #[serde(default)]
    pub description: String,
    /// ISO-8601 duration (`PT1H`); AWS's default is `PT1H`.
    #[serde(default)]
    pub session_duration: String,
    /// AWS managed policy ARNs attached, sorted.
    #[serde(default)]
    pub managed_policies: Vec<String>,
    /// The inline policy, canonical JSON; `None` when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline_policy: Option<String>,
    #[serde(default)]
    pub tags: Tags,
}

/// One account assignment (ListAccountAssignments).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    pub account_id: String,
    pub permission_set_arn: String,
    /// `GROUP` or `USER`.
    pub principal_type: String,
    pub principal_id: String,
}

/// One alternate contact of an account (GetAlternateContact).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlternateContact {
    pub account_id: String,
    /// `BILLING` | `OPERATIONS` | `SECURITY`.
    #[serde(rename = "type")]
    pub contact_type: String,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub title: String,
}

/// The alternate contact types AWS Account Management knows (API_PutAlternateContact:
/// `AlternateContactType` Valid Values: BILLING | OPERATIONS | SECURITY).
pub const CONTACT_TYPES: [&str; 3] = ["BILLING", "OPERATIONS", "SECURITY"];

/// A product version's template as fetched from its URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateBody {
    pub url: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    pub id: String,
    pub management_account_id: String,
    pub root_id: String,
    #[serde(default)]
    pub enabled_policy_types: Vec<String>,
    #[serde(default)]
    pub root_policy_ids: Vec<String>,
}

/// What the launch path needs beyond Organizations and the portfolio (see [`State::launch_path`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaunchPath {
    /// Service Catalog's AWS Organizations access (`GetAWSOrganizationsAccessStatus`):
    /// `ENABLED`, `DISABLED` or `UNDER_CHANGE`. Shares to an organization node need `ENABLED`.
    pub servicecatalog_organizations_access: String,
    /// The template buckets vend looked at (the workspace's `template_bucket`), sorted by
    /// name. A bucket not listed does not exist (the in-process cloud knows every bucket; a
    /// read from AWS looks up the workspace's).
    #[serde(default)]
    pub buckets: Vec<Bucket>,
    /// The launch roles (a portfolio's `launch_role`) vend looked at, in the management
    /// account and in the member accounts it launches pipelines into, sorted by account and
    /// name. A role not listed in an account vend looked at does not exist there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<LaunchRole>,
}

/// An IAM role a launch constraint names (`LocalRoleName`), in one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaunchRole {
    pub account_id: String,
    pub name: String,
    /// Its trust policy lets `servicecatalog.amazonaws.com` assume it (what a launch needs).
    #[serde(default)]
    pub trusts_catalog: bool,
    /// vend's inline policy on it (`vend-launch`), as canonical JSON; empty when it has none.
    #[serde(default)]
    pub policy: String,
    #[serde(default)]
    pub tags: Tags,
}

/// An S3 bucket as vend needs to know it: who holds it and how it is set up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bucket {
    pub name: String,
    /// `owned` (in the caller's account) or `foreign` (the name is taken by another account:
    /// HeadBucket answers 403).
    pub owner: String,
    #[serde(default)]
    pub region: String,
    /// Default encryption (`AES256` = SSE-S3, `aws:kms`, …); empty when none is reported.
    #[serde(default)]
    pub encryption: String,
    /// All four block-public-access settings on.
    #[serde(default)]
    pub public_access_blocked: bool,
    /// Versioning `Enabled` (not `Suspended`, not never set).
    #[serde(default)]
    pub versioning: bool,
    #[serde(default)]
    pub tags: Tags,
}

/// The trust policy of a launch role: Service Catalog may assume it (AWS Service Catalog
/// Administrator Guide, "AWS Service Catalog launch constraints": the role's trust relationship
/// names `servicecatalog.amazonaws.com`).
pub const LAUNCH_ROLE_TRUST: &str = r#"{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":"servicecatalog.amazonaws.com"}}],"Version":"2012-10-17"}"#;

/// The name of vend's inline policy on a launch role.
pub const LAUNCH_ROLE_POLICY: &str = "vend-launch";

/// Does the trust policy `doc` let Service Catalog assume the role (an `Allow` of
/// `sts:AssumeRole` to the service principal `servicecatalog.amazonaws.com`)?
pub fn trusts_catalog(doc: &serde_json::Value) -> bool {
    let one_or_many = |v: &serde_json::Value| -> Vec<serde_json::Value> {
        match v {
            serde_json::Value::Array(a) => a.clone(),
            serde_json::Value::Null => vec![],
            other => vec![other.clone()],
        }
    };
    one_or_many(&doc["Statement"]).iter().any(|st| {
        st["Effect"] == "Allow"
            && one_or_many(&st["Action"]).iter().any(|a| a == "sts:AssumeRole" || a == "sts:*" || a == "*")
            && one_or_many(&st["Principal"]["Service"]).iter().any(|p| p == "servicecatalog.amazonaws.com")
    })
}

/// `ENABLED`: the one value of [`LaunchPath::servicecatalog_organizations_access`] that lets
/// organization shares be created.
pub const ACCESS_ENABLED: &str = "ENABLED";

impl State {
    /// Whether Service Catalog may share to organization nodes (always, for a state written
    /// before the launch path was modelled).
    pub fn catalog_org_access(&self) -> bool {
        self.launch_path.as_ref().is_none_or(|l| l.servicecatalog_organizations_access == ACCESS_ENABLED)
    }

    /// Role `name` in account `account_id`, when the state knows it.
    pub fn launch_role(&self, account_id: &str, name: &str) -> Option<&LaunchRole> {
        self.launch_path
            .as_ref()
            .and_then(|l| l.roles.iter().find(|r| r.account_id == account_id && r.name == name))
    }

    /// The bucket named `name`, when the state knows it.
    pub fn bucket(&self, name: &str) -> Option<&Bucket> {
        self.launch_path.as_ref().and_then(|l| l.buckets.iter().find(|b| b.name == name))
    }

    /// The ids (`car-…`) of the account creations in progress (they hold AWS's creation slots,
    /// whoever sent them: `engine::Options::creations_in_progress`).
    pub fn creations_in_progress(&self) -> Vec<String> {
        self.create_account_requests
            .iter()
            .filter(|r| r.state == "IN_PROGRESS")
            .map(|r| r.id.clone())
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgUnit {
    pub id: String,
    pub name: String,
    pub parent_id: String,
    #[serde(default)]
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub email: String,
    pub state: String,
    pub parent_id: String,
    #[serde(default)]
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateAccountRequest {
    pub id: String,
    pub account_name: String,
    pub state: String,
    pub account_id: Option<String>,
    pub failure_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub id: String,
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Portfolio {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub tags: Tags,
    #[serde(default)]
    pub product_ids: Vec<String>,
    #[serde(default)]
    pub principals: Vec<Principal>,
    #[serde(default)]
    pub shares: Vec<Share>,
    #[serde(default)]
    pub launch_constraints: Vec<LaunchConstraint>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Principal {
    pub arn: String,
    #[serde(rename = "type")]
    pub principal_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Share {
    #[serde(rename = "type")]
    pub share_type: String,
    pub value: String,
    pub status: String,
    /// Principal sharing (`SharePrincipals`, organization and OU shares only): the portfolio's
    /// `IAM_PATTERN` principals reach the share's accounts. Optional extension of format v1,
    /// absent when off.
    #[serde(default, skip_serializing_if = "is_false")]
    pub share_principals: bool,
}

/// For `skip_serializing_if`: a flag that is off is not written (files keep their bytes).
pub fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaunchConstraint {
    pub product_id: String,
    pub local_role_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub tags: Tags,
    #[serde(default)]
    pub versions: Vec<ProductVersion>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductVersion {
    pub id: String,
    pub name: String,
    pub active: bool,
    pub guidance: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub template_url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionedProduct {
    pub id: String,
    pub name: String,
    pub account_id: String,
    pub product_id: String,
    pub version_id: String,
    pub status: String,
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Optional extension of format v1: tags set at launch (vend sets its ownership tag).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: Tags,
}

impl State {
    /// An organization with only its management account and root, SCPs enabled with
    /// `FullAWSAccess` attached to the root and the account (what AWS sets up).
    pub fn empty(captured_at: &str) -> State {
        let mgmt = "111111111111".to_string();
        let root = "r-a1b2".to_string();
        State {
            format_version: FORMAT_VERSION,
            captured_at: captured_at.to_string(),
            source: "state-file".into(),
            organization: Organization {
                id: "o-a1b2c3d4e5".into(),
                management_account_id: mgmt.clone(),
                root_id: root.clone(),
                enabled_policy_types: vec!["SERVICE_CONTROL_POLICY".into()],
                root_policy_ids: vec!["p-FullAWSAccess".into()],
            },
            organizational_units: vec![],
            accounts: vec![Account {
                id: mgmt.clone(),
                name: "management".into(),
                email: "aws+management@example.com".into(),
                state: "ACTIVE".into(),
                parent_id: root.clone(),
                tags: Tags::new(),
            }],
            create_account_requests: vec![],
            policies: vec![Policy {
                id: "p-FullAWSAccess".into(),
                name: "FullAWSAccess".into(),
                policy_type: "SERVICE_CONTROL_POLICY".into(),
                aws_managed: true,
                content:
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
                        .into(),
                target_ids: vec![mgmt, root],
                tags: Tags::new(),
            }],
            portfolios: vec![],
            products: vec![],
            provisioned_products: vec![],
            launch_path: Some(LaunchPath {
                servicecatalog_organizations_access: "DISABLED".into(),
                buckets: vec![],
                roles: vec![],
            }),
            templates: vec![],
            access: None,
            digest: None,
        }
    }

    /// `sha256:` of the compact JSON of this state without its `digest` (every other field, in
    /// the order it has): what a snapshot's `digest` records.
    pub fn content_digest(&self) -> String {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        // Writing into a hasher cannot fail.
        let _ = serde_json::to_writer(&mut h, &FingerprintView::of(self));
        format!("sha256:{}", hex::encode(h.finalize()))
    }

    /// Sort every list by id (and nested lists by their natural key), as format v1 requires.
    pub fn normalize(&mut self) {
        self.organizational_units.sort_by(|a, b| a.id.cmp(&b.id));
        self.accounts.sort_by(|a, b| a.id.cmp(&b.id));
        self.create_account_requests.sort_by(|a, b| a.id.cmp(&b.id));
        self.policies.sort_by(|a, b| a.id.cmp(&b.id));
        for p in &mut self.policies {
            p.target_ids.sort();
            p.target_ids.dedup();
        }
        self.organization.root_policy_ids.sort();
        self.portfolios.sort_by(|a, b| a.id.cmp(&b.id));
        for p in &mut self.portfolios {
            p.product_ids.sort();
            p.principals.sort();
            p.shares.sort();
            p.launch_constraints.sort();
        }
        self.products.sort_by(|a, b| a.id.cmp(&b.id));
        for p in &mut self.products {
            p.versions.sort_by(|a, b| a.id.cmp(&b.id));
        }
        self.provisioned_products.sort_by(|a, b| a.id.cmp(&b.id));
        self.templates.sort_by(|a, b| a.url.cmp(&b.url));
        self.templates.dedup_by(|a, b| a.url == b.url);
        if let Some(l) = &mut self.launch_path {
            l.buckets.sort_by(|a, b| a.name.cmp(&b.name));
            l.roles.sort_by(|a, b| (&a.account_id, &a.name).cmp(&(&b.account_id, &b.name)));
        }
        if let Some(a) = &mut self.access {
            a.read_accounts.sort();
            a.read_accounts.dedup();
            a.assignments.sort_by(|x, y| {
                (&x.account_id, &x.permission_set_arn, &x.principal_id).cmp(&(
                    &y.account_id,
                    &y.permission_set_arn,
                    &y.principal_id,
                ))
            });
            a.contacts
                .sort_by(|x, y| (&x.account_id, &x.contact_type).cmp(&(&y.account_id, &y.contact_type)));
            if let Some(ic) = &mut a.identity_center {
                ic.groups.sort_by(|x, y| x.display_name.cmp(&y.display_name));
                ic.permission_sets.sort_by(|x, y| x.name.cmp(&y.name));
            }
        }
    }

    /// `sha256:` of the state's canonical JSON without `captured_at` (the plan's `basis.state`).
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        let mut hash = |s: &State| {
            let view = FingerprintView { captured_at: "", source: "", ..FingerprintView::of(s) };
            // Writing into a hasher cannot fail.
            let _ = serde_json::to_writer(&mut h, &view);
        };
        if self.is_normalized() {
            hash(self);
        } else {
            let mut copy = self.clone();
            copy.normalize();
            hash(&copy);
        }
        format!("sha256:{}", hex::encode(h.finalize()))
    }

    /// Are all lists sorted as `normalize` would sort them?
    pub fn is_normalized(&self) -> bool {
        fn by<T>(v: &[T], key: fn(&T) -> &str) -> bool {
            v.windows(2).all(|w| key(&w[0]) < key(&w[1]))
        }
        fn sorted<T: PartialOrd>(v: &[T]) -> bool {
            v.windows(2).all(|w| w[0] < w[1])
        }
        by(&self.organizational_units, |o| &o.id)
            && by(&self.accounts, |a| &a.id)
            && by(&self.create_account_requests, |r| &r.id)
            && by(&self.policies, |p| &p.id)
            && self.policies.iter().all(|p| sorted(&p.target_ids))
            && sorted(&self.organization.root_policy_ids)
            && by(&self.portfolios, |p| &p.id)
            && self.portfolios.iter().all(|p| {
                sorted(&p.product_ids)
                    && sorted(&p.principals)
                    && sorted(&p.shares)
                    && sorted(&p.launch_constraints)
            })
            && by(&self.products, |p| &p.id)
            && self.products.iter().all(|p| by(&p.versions, |v| &v.id))
            && by(&self.provisioned_products, |p| &p.id)
            && by(&self.templates, |t| &t.url)
            && self.launch_path.as_ref().is_none_or(|l| {
                by(&l.buckets, |b| &b.name)
                    && l.roles
                        .windows(2)
                        .all(|w| (&w[0].account_id, &w[0].name) < (&w[1].account_id, &w[1].name))
            })
            && self.access.as_ref().is_none_or(|a| {
                sorted(&a.read_accounts)
                    && a.assignments.windows(2).all(|w| {
                        (&w[0].account_id, &w[0].permission_set_arn, &w[0].principal_id)
                            < (&w[1].account_id, &w[1].permission_set_arn, &w[1].principal_id)
                    })
                    && a.contacts.windows(2).all(|w| {
                        (&w[0].account_id, &w[0].contact_type) < (&w[1].account_id, &w[1].contact_type)
                    })
                    && a.identity_center.as_ref().is_none_or(|ic| {
                        by(&ic.groups, |g| &g.display_name) && by(&ic.permission_sets, |p| &p.name)
                    })
            })
    }

    /// Is this resource tagged as owned by vend?
    pub fn is_managed(tags: &Tags, ownership_tag: &str) -> bool {
        tags.get(ownership_tag).is_some_and(|v| v == "true")
    }
}

/// The state as hashed for `basis.state`: every field, `captured_at` and `source` blanked.
/// Field order and names match `State` (without `digest`), so the hash equals that of the
/// blanked state's JSON.
#[derive(Serialize)]
struct FingerprintView<'a> {
    format_version: u32,
    captured_at: &'a str,
    source: &'a str,
    organization: &'a Organization,
    organizational_units: &'a [OrgUnit],
    accounts: &'a [Account],
    create_account_requests: &'a [CreateAccountRequest],
    policies: &'a [Policy],
    portfolios: &'a [Portfolio],
    products: &'a [Product],
    provisioned_products: &'a [ProvisionedProduct],
    /// Skipped when absent, as in `State`: hashes of states without it are unchanged.
    #[serde(skip_serializing_if = "absent")]
    launch_path: &'a Option<LaunchPath>,
    /// The same for `access` (issue 18).
    #[serde(skip_serializing_if = "absent")]
    access: &'a Option<Access>,
}

fn absent<T>(l: &&Option<T>) -> bool {
    l.is_none()
}

impl<'a> FingerprintView<'a> {
    fn of(s: &'a State) -> Self {
        FingerprintView {
            format_version: s.format_version,
            captured_at: &s.captured_at,
            source: &s.source,
            organization: &s.organization,
            organizational_units: &s.organizational_units,
            accounts: &s.accounts,
            create_account_requests: &s.create_account_requests,
            policies: &s.policies,
            portfolios: &s.portfolios,
            products: &s.products,
            provisioned_products: &s.provisioned_products,
            launch_path: &s.launch_path,
            access: &s.access,
        }
    }
}
