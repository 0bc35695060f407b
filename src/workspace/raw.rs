//! `Raw*`: serde mirrors of the workspace files, exactly as written (DESIGN §2). Unknown keys are
//! errors (`deny_unknown_fields`); values that later checks point at are `Spanned` so a
//! diagnostic can name their line and column. No validation here beyond the shape.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

pub type S<T> = Spanned<T>;

/// A scalar parameter value as written in YAML.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Scalar {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl Scalar {
    /// The string form vend passes on (Service Catalog parameters are strings).
    pub fn as_text(&self) -> String {
        match self {
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Str(s) => s.clone(),
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    #[schemars(with = "Option<String>")]
    pub region: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub management_account: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub template_bucket: Option<S<String>>,
    /// The role vend acts as in member accounts (default `OrganizationAccountAccessRole`).
    #[schemars(with = "Option<String>")]
    pub member_role: Option<S<String>>,
    #[schemars(with = "Option<String>")]
    pub ownership_tag: Option<S<String>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub protected: Vec<S<String>>,
    pub required_approvals: Option<u32>,
    /// Pinned operators: per name one key, or `keys:` and `retired:` (the audit log, approvals).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RawOperator>")]
    pub operators: BTreeMap<String, S<RawOperator>>,
    /// Rolling 30-day account close quota checked before apply (default 10).
    pub close_quota_30d: Option<u32>,
    /// `propose`: plans move requests off deprecated blueprint versions; `off` (default).
    pub upgrade: Option<RawUpgrade>,
    /// Where IAM Identity Center is administered: its home region and a delegated administrator.
    pub identity_center: Option<RawIdentityCenter>,
}

/// `identity_center:` of `catalog/vend.yaml`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawIdentityCenter {
    /// The instance's home region (default: `region`).
    #[schemars(with = "Option<String>")]
    pub region: Option<S<String>>,
    /// The 12-digit id of the delegated administrator account for Identity Center, when it is
    /// not administered from the management account (vend reaches it through `member_role`).
    #[schemars(with = "Option<String>")]
    pub delegated_admin: Option<S<String>>,
}

/// One pinned operator as written: a key, or its current and retired keys.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawOperator {
    Key(String),
    Keys(RawOperatorKeys),
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOperatorKeys {
    #[serde(default)]
    pub keys: Vec<String>,
    #[serde(default)]
    pub retired: Vec<RawRetired>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRetired {
    pub key: String,
    /// RFC 3339 time: records signed with the key up to then stay valid.
    pub until: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RawUpgrade {
    Off,
    Propose,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOrganization {
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RawUnit>")]
    pub units: BTreeMap<String, S<RawUnit>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub root_policies: Vec<S<String>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawUnit {
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub policies: Vec<S<String>>,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub tags: BTreeMap<String, S<String>>,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RawUnit>")]
    pub units: BTreeMap<String, S<RawUnit>>,
    /// The OU's name before: rename it in place (same id) instead of delete + create.
    #[schemars(with = "Option<String>")]
    pub renamed_from: Option<S<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPortfolios {
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RawPortfolio>")]
    pub portfolios: BTreeMap<String, S<RawPortfolio>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPortfolio {
    pub description: Option<String>,
    #[schemars(with = "String")]
    pub provider: S<String>,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RawPortfolioProduct>")]
    pub products: BTreeMap<String, S<RawPortfolioProduct>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub principals: Vec<S<String>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub shares: Vec<S<String>>,
    #[schemars(with = "Option<String>")]
    pub launch_role: Option<S<String>>,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub tags: BTreeMap<String, S<String>>,
    /// `adopt`: take over an existing portfolio of this name that vend does not manage yet.
    #[schemars(with = "Option<RawCatalogLifecycle>")]
    pub lifecycle: Option<S<RawCatalogLifecycle>>,
    /// Principal sharing on the portfolio's organization and OU shares, overriding what the
    /// planner would choose (absent: on when the portfolio has an `IAM_PATTERN` principal).
    #[schemars(with = "Option<bool>")]
    pub share_principals: Option<S<bool>>,
}

/// `lifecycle:` of a portfolio or a product in `portfolios.yaml` (only `adopt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RawCatalogLifecycle {
    Adopt,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPortfolioProduct {
    #[schemars(with = "Vec<String>")]
    pub versions: Vec<S<String>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub deprecated: Vec<S<String>>,
    /// Versions made inactive (hidden, no launches); each must also be listed in `versions`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub retired: Vec<S<String>>,
    /// `adopt`: take over an existing product of this name that vend does not manage yet.
    #[schemars(with = "Option<RawCatalogLifecycle>")]
    pub lifecycle: Option<S<RawCatalogLifecycle>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAccountBlueprint {
    pub description: Option<String>,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RawParamSpec>")]
    pub params: BTreeMap<String, S<RawParamSpec>>,
    #[schemars(with = "String")]
    pub ou: S<String>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub policies: Vec<S<String>>,
    #[serde(default)]
    pub tags: RawBlueprintTags,
    pub email: Option<RawEmailRule>,
    #[serde(default)]
    #[schemars(with = "Vec<RawBaselinePipeline>")]
    pub pipelines: Vec<S<RawBaselinePipeline>>,
    /// This version is deprecated: requests on it are listed, and upgraded with `upgrade`.
    #[serde(default)]
    pub deprecated: bool,
    /// Who gets in: Identity Center groups and the permission set each signs in with.
    #[serde(default)]
    #[schemars(with = "Vec<RawAccess>")]
    pub access: Vec<S<RawAccess>>,
    /// What a request may add under its own `access:`.
    #[schemars(with = "Option<RawRequestAccess>")]
    pub request_access: Option<S<RawRequestAccess>>,
    /// Alternate contacts by type (`billing`, `operations`, `security`).
    #[serde(default)]
    #[schemars(with = "RawContactsSchema")]
    pub contacts: BTreeMap<String, S<RawContact>>,
}

/// One `access:` entry: an Identity Center group (display name) and a permission set (name).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAccess {
    #[schemars(with = "String")]
    pub group: S<String>,
    #[schemars(with = "String")]
    pub permission_set: S<String>,
}

/// `request_access:` of an account blueprint: a request's `access:` entry is allowed when its
/// group is among `groups` and its permission set among `permission_sets`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRequestAccess {
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub groups: Vec<S<String>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub permission_sets: Vec<S<String>>,
}

/// One alternate contact (AWS Account Management): every field is required by AWS.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawContact {
    #[schemars(with = "String")]
    pub name: S<String>,
    #[schemars(with = "String")]
    pub email: S<String>,
    #[schemars(with = "String")]
    pub phone: S<String>,
    #[schemars(with = "String")]
    pub title: S<String>,
}

/// The schema of `contacts:` (the loader reads a map and reports another type as `bad-contact`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawContactsSchema {
    pub billing: Option<RawContact>,
    pub operations: Option<RawContact>,
    pub security: Option<RawContact>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    String,
    Number,
    Boolean,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawParamSpec {
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub param_type: Option<ParamType>,
    pub allowed: Option<Vec<Scalar>>,
    pub default: Option<Scalar>,
    #[schemars(with = "Option<String>")]
    pub pattern: Option<S<String>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBlueprintTags {
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub required: Vec<S<String>>,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub defaults: BTreeMap<String, S<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEmailRule {
    #[schemars(with = "Option<String>")]
    pub pattern: Option<S<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBaselinePipeline {
    #[schemars(with = "String")]
    pub blueprint: S<String>,
    #[schemars(with = "String")]
    pub name: S<String>,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, Scalar>")]
    pub params: BTreeMap<String, S<Scalar>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RawLifecycle {
    Adopt,
    Close,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAccountRequest {
    #[schemars(with = "String")]
    pub blueprint: S<String>,
    #[schemars(with = "String")]
    pub name: S<String>,
    /// The account's name in AWS, when it differs from `name` (the request's key).
    #[schemars(with = "Option<String>")]
    pub account_name: Option<S<String>>,
    #[schemars(with = "String")]
    pub email: S<String>,
    #[schemars(with = "Option<String>")]
    pub owner: Option<S<String>>,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, Scalar>")]
    pub params: BTreeMap<String, S<Scalar>>,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, Scalar>")]
    pub tags: BTreeMap<String, S<Scalar>>,
    pub requested_by: Option<String>,
    #[schemars(with = "Option<String>")]
    pub requested_at: Option<S<String>>,
    pub reason: Option<String>,
    #[schemars(with = "Option<RawLifecycle>")]
    pub lifecycle: Option<S<RawLifecycle>>,
    /// Access of its own, each entry allowed by the blueprint's `request_access:`.
    #[serde(default)]
    #[schemars(with = "Vec<RawAccess>")]
    pub access: Vec<S<RawAccess>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPipelineBlueprint {
    pub description: Option<String>,
    #[schemars(with = "Option<String>")]
    pub product: Option<S<String>>,
    #[schemars(with = "String")]
    pub owner: S<String>,
    #[schemars(with = "Option<String>")]
    pub template: Option<S<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPipelineRequest {
    #[schemars(with = "String")]
    pub blueprint: S<String>,
    #[schemars(with = "String")]
    pub account: S<String>,
    #[schemars(with = "String")]
    pub name: S<String>,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, Scalar>")]
    pub params: BTreeMap<String, S<Scalar>>,
    pub requested_by: Option<String>,
    #[schemars(with = "Option<String>")]
    pub requested_at: Option<S<String>>,
    pub reason: Option<String>,
    /// `adopt`: the provisioned product of this name in the account, launched outside vend, is
    /// vend's from now on (the request records it; no tag is added).
    #[schemars(with = "Option<RawCatalogLifecycle>")]
    pub lifecycle: Option<S<RawCatalogLifecycle>>,
}

/// The part of a CloudFormation template vend reads: its `Parameters`. Everything else,
/// short-form tags included, is skipped.
#[derive(Debug, Deserialize)]
pub struct RawTemplate {
    #[serde(rename = "Parameters", default)]
    pub parameters: BTreeMap<String, S<RawCfnParameter>>,
    #[serde(rename = "Resources")]
    pub resources: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Deserialize)]
pub struct RawCfnParameter {
    #[serde(rename = "Type")]
    pub param_type: String,
    #[serde(rename = "Default")]
    pub default: Option<Scalar>,
    #[serde(rename = "AllowedValues")]
    pub allowed_values: Option<Vec<Scalar>>,
    #[serde(rename = "AllowedPattern")]
    pub allowed_pattern: Option<S<String>>,
    #[serde(rename = "MinLength")]
    pub min_length: Option<u32>,
    #[serde(rename = "MaxLength")]
    pub max_length: Option<u32>,
    #[serde(rename = "MinValue")]
    pub min_value: Option<f64>,
    #[serde(rename = "MaxValue")]
    pub max_value: Option<f64>,
    #[serde(rename = "Description")]
    pub description: Option<String>,
    /// CloudFormation masks the value of a NoEcho parameter (`****`) when the stack is read.
    #[serde(rename = "NoEcho", default)]
    pub no_echo: Option<Scalar>,
}

/// `catalog/guardrails.yaml` (optional): plan guardrails and the template lint.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGuardrails {
    #[schemars(with = "Option<u32>")]
    pub max_destructive: Option<S<u32>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub scp_required_under: Vec<S<String>>,
    #[serde(default)]
    #[schemars(with = "Vec<RawRequiredScps>")]
    pub required_scps: Vec<S<RawRequiredScps>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub required_tags: Vec<S<String>>,
    /// Severity overrides of built-in checks: `{ account-in-root: error }`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RawSeverity>")]
    pub severity: BTreeMap<String, S<RawSeverity>>,
    #[serde(default)]
    #[schemars(with = "Vec<RawRule>")]
    pub rules: Vec<S<RawRule>>,
    pub template_lint: Option<RawTemplateLint>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RawSeverity {
    Error,
    Warning,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRequiredScps {
    #[schemars(with = "String")]
    pub under: S<String>,
    #[schemars(with = "Vec<String>")]
    pub policies: Vec<S<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    #[schemars(with = "String")]
    pub name: S<String>,
    pub description: Option<String>,
    pub severity: Option<RawSeverity>,
    #[schemars(with = "Option<String>")]
    pub accounts_under: Option<S<String>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub require_tags: Vec<S<String>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTemplateLint {
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub errors: Vec<S<String>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub disable: Vec<S<String>>,
}

/// `blueprints/accounts.lock`: published account blueprint versions (`name@version`) and the
/// hex SHA-256 of each version's file (see `workspace::lock`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccountLock {
    #[serde(default)]
    pub versions: BTreeMap<String, S<String>>,
}

/// `catalog/permission_sets/<name>.yaml`: an IAM Identity Center permission set vend manages
/// (issue 18); its name is the file's stem.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPermissionSet {
    #[schemars(with = "String")]
    pub description: S<String>,
    /// ISO-8601 duration of a sign-in session, `PT1H` to `PT12H`.
    #[schemars(with = "String")]
    pub session_duration: S<String>,
    /// AWS managed policy ARNs (`arn:aws:iam::aws:policy/…`).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub managed_policies: Vec<S<String>>,
    /// An IAM policy document (a map, written in YAML or JSON).
    #[schemars(with = "Option<BTreeMap<String, serde_json::Value>>")]
    pub inline_policy: Option<S<serde_json::Value>>,
    /// `adopt`: take over an existing permission set of this name that vend does not manage yet.
    #[schemars(with = "Option<RawCatalogLifecycle>")]
    pub lifecycle: Option<S<RawCatalogLifecycle>>,
}
