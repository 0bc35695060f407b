//! The desired state: what the workspace (catalog/ + blueprints/) asks for, validated and with
//! every `{param}` / `{name}` substituted. Built by `workspace::load`, read by `plan::build`.
//! Every item remembers where it was declared, so plan-stage diagnostics can point at it.

use crate::model::{Origin, Tags};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    pub region: String,
    pub management_account: Option<String>,
    /// May contain `{management}`, filled by the planner from the state.
    pub template_bucket: String,
    /// The role vend assumes in member accounts (to launch pipelines there and read them): the
    /// AWS clients use it, and the planner gives it a launch path (`plan::build::launch`).
    pub member_role: String,
    pub ownership_tag: String,
    pub protected: Vec<String>,
    pub required_approvals: u32,
    /// Where `management_account` was written.
    #[serde(skip)]
    pub management_origin: Origin,
    /// Pinned operators (`operators:`): who may sign the audit log and whose approvals count.
    pub operators: crate::model::operators::Operators,
    /// Rolling 30-day quota of account closes vend checks before an apply (`close_quota_30d`).
    pub close_quota_30d: u32,
    /// Propose upgrades off deprecated blueprint versions (`upgrade: propose`, or `plan --upgrade`).
    pub upgrade: bool,
    /// `identity_center:` (issue 18): where Identity Center is administered from.
    pub identity_center: IdentityCenterSettings,
}

/// `identity_center:` of `catalog/vend.yaml`: the instance's home region (default: `region`)
/// and, when Identity Center is administered from a delegated administrator account rather
/// than the management account, that account's id (vend reaches it through `member_role`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IdentityCenterSettings {
    /// `None`: the workspace's `region`.
    pub region: Option<String>,
    pub delegated_admin: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            region: "us-east-1".into(),
            management_account: None,
            template_bucket: "vend-templates-{management}".into(),
            member_role: DEFAULT_MEMBER_ROLE.into(),
            ownership_tag: "vend:managed".into(),
            protected: vec![],
            required_approvals: 0,
            management_origin: Origin::file("catalog/vend.yaml"),
            operators: Default::default(),
            close_quota_30d: DEFAULT_CLOSE_QUOTA_30D,
            upgrade: false,
            identity_center: IdentityCenterSettings::default(),
        }
    }
}

/// The value `vend import` writes for a NoEcho parameter (AWS never returns one): accepted by
/// the loader for a NoEcho parameter (warning `fill-in`), never sent to AWS (`fill-in-required`).
pub const FILL_IN: &str = "<fill in: NoEcho parameter, AWS never returns its value>";

/// The role AWS Organizations creates in every account it creates, trusted by the management
/// account (vend's default `member_role`).
pub const DEFAULT_MEMBER_ROLE: &str = "OrganizationAccountAccessRole";

/// Default `close_quota_30d` (AWS's quota has changed several times: a visible setting).
pub const DEFAULT_CLOSE_QUOTA_30D: u32 = 10;

/// What a workspace asks for. Maps are keyed by the item's address key.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Desired {
    pub settings: Settings,
    /// Declared OUs by path (`Workloads/prod`).
    pub ous: BTreeMap<String, DesiredOu>,
    /// Managed SCPs on the root.
    pub root_policies: Vec<String>,
    pub root_origin: Origin,
    /// SCP documents by name.
    pub policies: BTreeMap<String, DesiredPolicy>,
    /// Launch roles vend manages, by role name (`catalog/launch_roles/<name>.json`, the role's
    /// permission policy). A portfolio's `launch_role` without a file is the user's own role.
    pub launch_roles: BTreeMap<String, DesiredLaunchRole>,
    /// IAM Identity Center permission sets vend manages (issue 18,
    /// `catalog/permission_sets/<name>.yaml`), by name.
    pub permission_sets: BTreeMap<String, DesiredPermissionSet>,
    /// Account requests by name.
    pub accounts: BTreeMap<String, DesiredAccount>,
    pub portfolios: BTreeMap<String, DesiredPortfolio>,
    /// Products by product name.
    pub products: BTreeMap<String, DesiredProduct>,
    /// Provisioned pipelines by `<account>/<name>`.
    pub pipelines: BTreeMap<String, DesiredPipeline>,
    /// Blueprints found in blueprints/ (for catalog views), by `name`.
    pub account_blueprints: BTreeMap<String, Vec<String>>,
    pub pipeline_blueprints: BTreeMap<String, Vec<String>>,
    /// `sha256:` over the paths and bytes of catalog/ and blueprints/.
    pub fingerprint: String,
    /// `catalog/guardrails.yaml` (defaults when absent).
    pub guardrails: crate::model::guardrails::Guardrails,
    /// Account blueprint versions marked `deprecated: true`, by `name` (for lifecycle checks).
    pub deprecated_account_blueprints: BTreeMap<String, Vec<String>>,
    /// Account blueprint versions (`name@version`) listed in `blueprints/accounts.lock`, `None`
    /// without a lock (then nothing is checked and the plan says nothing about it).
    pub account_lock: Option<std::collections::BTreeSet<String>>,
    /// Upgrades the loader applied (`upgrade: propose` / `plan --upgrade`): address -> old ref.
    pub upgraded: BTreeMap<super::Address, String>,
    /// OU paths as they were before the `renamed_from:` renames -> the path now (only paths
    /// that differ: a renamed OU and everything declared below it).
    pub ou_aliases: BTreeMap<String, String>,
    /// The keys of `ou_aliases` that a blueprint's `ou:` or a share still names (the loader
    /// rewrote them to the new path).
    pub ou_aliases_used: std::collections::BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DesiredOu {
    pub path: String,
    pub name: String,
    /// Parent path, `None` for a child of the root.
    pub parent: Option<String>,
    pub tags: Tags,
    pub policies: Vec<String>,
    pub origin: Origin,
    /// `renamed_from:`: the OU had another name (under the same parent) and is renamed in place.
    pub renamed_from: Option<RenamedFrom>,
}

/// `renamed_from: <old name>` on an OU.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RenamedFrom {
    /// The OU's name before.
    pub name: String,
    /// Its path before: the parent's path before (renamed too, maybe) and the old name.
    pub old_path: String,
    /// Where `renamed_from:` was written.
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DesiredPolicy {
    pub name: String,
    pub content: String,
    pub origin: Origin,
}

/// An IAM Identity Center permission set vend manages (`catalog/permission_sets/<name>.yaml`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DesiredPermissionSet {
    pub name: String,
    pub description: String,
    /// ISO-8601 duration, `PT1H`..`PT12H`.
    pub session_duration: String,
    /// AWS managed policy ARNs, sorted, without duplicates.
    pub managed_policies: Vec<String>,
    /// The inline policy, canonical JSON.
    pub inline_policy: Option<String>,
    /// `lifecycle: adopt`: take over a same-name permission set without vend's ownership tag.
    pub adopt: bool,
    pub origin: Origin,
}

/// A launch role vend creates in each account that needs it (issue 14).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DesiredLaunchRole {
    pub name: String,
    /// The role's inline permission policy, canonical JSON.
    pub policy: String,
    pub origin: Origin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lifecycle {
    Manage,
    Adopt,
    Close,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DesiredAccount {
    /// The request's key: its file name, in `account:<name>` and in pipeline requests.
    pub name: String,
    /// The account's name in AWS: `account_name:` of the request, else `name`.
    pub aws_name: String,
    pub email: String,
    pub owner: Option<String>,
    /// `name@version` of the account blueprint.
    pub blueprint: String,
    /// OU path after substitution (may be empty for the root).
    pub ou: String,
    /// Complete tags vend sets, including its own (`vend:managed`, `vend:blueprint`).
    pub tags: Tags,
    pub policies: Vec<String>,
    pub lifecycle: Lifecycle,
    pub origin: Origin,
    /// Where `ou:` was written (the account blueprint or the request).
    pub ou_origin: Origin,
    pub email_origin: Origin,
    /// Where `lifecycle:` was written (the name when absent).
    pub lifecycle_origin: Origin,
    /// `requested_at` of the request, when given (for delivery metrics).
    pub requested_at: Option<String>,
    /// Who gets in (issue 18): the blueprint's `access:` and the request's own entries, after
    /// substitution, in the order written, without duplicates.
    pub access: Vec<AccessEntry>,
    /// The blueprint's `contacts:` after substitution, by type.
    pub contacts: Vec<ContactEntry>,
    /// What vend owns on this account (AWS keeps no tags on assignments and contacts).
    pub owned: AccessOwnership,
}

/// One `access:` entry: an Identity Center group may sign in with a permission set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessEntry {
    /// The group's display name.
    pub group: String,
    /// The permission set's name.
    pub permission_set: String,
    /// Where the entry was written (blueprint or request), for diagnostics.
    pub origin: Origin,
}

/// One `contacts:` entry (AWS Account Management alternate contact).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContactEntry {
    /// `BILLING` | `OPERATIONS` | `SECURITY` (written lower case in YAML).
    pub contact_type: String,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub title: String,
    pub origin: Origin,
}

/// Which assignments and contacts of a vend-managed account are vend's: those its blueprint
/// declares in any published version (`pairs`, `contact_types`) and those a request may add
/// (`request_access:` of any version), each after substitution with this request's values.
/// Everything else is left alone. The loader (`workspace::access`) puts each version's
/// `request_access:` groups x permission sets into `pairs` (exact: a union of two versions'
/// lists would own combinations neither allows) and leaves `request_groups` and
/// `request_permission_sets` empty; `owns` honours both forms.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AccessOwnership {
    /// (group, permission set) pairs.
    pub pairs: std::collections::BTreeSet<(String, String)>,
    pub request_groups: std::collections::BTreeSet<String>,
    pub request_permission_sets: std::collections::BTreeSet<String>,
    /// Upper case contact types.
    pub contact_types: std::collections::BTreeSet<String>,
}

impl AccessOwnership {
    /// Is the assignment of `group` with `permission_set` vend's on this account?
    pub fn owns(&self, group: &str, permission_set: &str) -> bool {
        self.pairs.contains(&(group.to_string(), permission_set.to_string()))
            || (self.request_groups.contains(group) && self.request_permission_sets.contains(permission_set))
    }

    /// The permission sets whose assignments vend must read on this account.
    pub fn permission_sets(&self) -> std::collections::BTreeSet<String> {
        let mut all: std::collections::BTreeSet<String> = self.pairs.iter().map(|(_, p)| p.clone()).collect();
        if !self.request_groups.is_empty() {
            all.extend(self.request_permission_sets.iter().cloned());
        }
        all
    }

    /// The groups whose assignments may be vend's on this account.
    pub fn groups(&self) -> std::collections::BTreeSet<String> {
        let mut all: std::collections::BTreeSet<String> = self.pairs.iter().map(|(g, _)| g.clone()).collect();
        if !self.request_permission_sets.is_empty() {
            all.extend(self.request_groups.iter().cloned());
        }
        all
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
            && self.contact_types.is_empty()
            && (self.request_groups.is_empty() || self.request_permission_sets.is_empty())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DesiredPortfolio {
    pub name: String,
    pub description: String,
    pub provider: String,
    pub tags: Tags,
    /// Product names (not blueprint names).
    pub products: Vec<String>,
    pub principals: Vec<String>,
    pub shares: Vec<ShareTarget>,
    /// Where each share was written, by `ShareTarget::key()`.
    pub share_origins: BTreeMap<String, Origin>,
    pub launch_role: Option<String>,
    pub origin: Origin,
    /// `lifecycle: adopt`: where it was written (take over a same-name portfolio vend does not
    /// manage yet).
    pub adopt: Option<Origin>,
    /// `share_principals:`: principal sharing on the organization and OU shares as written;
    /// `None`: the planner decides (`plan::build::launch`).
    pub share_principals: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum ShareTarget {
    Organization,
    /// OU path.
    Ou(String),
    /// Account name.
    Account(String),
}

impl ShareTarget {
    /// The address fragment used in `portfolio_share:<portfolio>/<target>`.
    pub fn key(&self) -> String {
        match self {
            ShareTarget::Organization => super::ShareKey::organization(),
            ShareTarget::Ou(p) => super::ShareKey::ou(p),
            ShareTarget::Account(a) => super::ShareKey::account(a),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DesiredProduct {
    pub name: String,
    pub blueprint: String,
    pub owner: String,
    pub description: String,
    pub tags: Tags,
    /// Published versions by name, in version order.
    pub versions: BTreeMap<String, DesiredVersion>,
    pub origin: Origin,
    /// `lifecycle: adopt` on the product in some portfolio: where it was written (take over a
    /// same-name product vend does not manage yet).
    pub adopt: Option<Origin>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DesiredVersion {
    pub name: String,
    /// Hex SHA-256 of the version's files.
    pub sha256: String,
    pub deprecated: bool,
    /// Listed under `retired:`: inactive (hidden, no launches), removable once unused.
    pub retired: bool,
    pub template_body: String,
    /// The version published before this one, for diffs.
    pub previous: Option<String>,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DesiredPipeline {
    pub account: String,
    pub name: String,
    pub product: String,
    pub version: String,
    /// The stack's parameters: the request's, then the template's defaults.
    pub params: BTreeMap<String, String>,
    /// Template parameters marked NoEcho: AWS reads them back masked (`****`).
    pub no_echo: std::collections::BTreeSet<String>,
    pub origin: Origin,
    /// Where the blueprint (`product@version`) was named: the request's `blueprint:` line, or the
    /// account blueprint's baseline entry.
    pub blueprint_origin: Origin,
    /// Where the account was named.
    pub account_origin: Origin,
    /// `requested_at` of the request, when given (for delivery metrics).
    pub requested_at: Option<String>,
    /// `lifecycle: adopt` in the request: where it was written. The provisioned product of this
    /// name in the account is vend's without the ownership tag (the request is the record).
    pub adopt: Option<Origin>,
}

impl Desired {
    /// Does this OU path exist in the workspace (also under a name it had before a
    /// `renamed_from:` rename)?
    pub fn has_ou(&self, path: &str) -> bool {
        self.ous.contains_key(path) || self.ou_aliases.contains_key(path)
    }

    /// The path a reference to an OU means now: a path from before a `renamed_from:` rename
    /// (or below one) maps to the renamed OU's path; `None` when `path` names no renamed OU.
    /// The longest renamed prefix wins, so OUs that exist only in AWS below a renamed OU follow.
    pub fn renamed_path(&self, path: &str) -> Option<(String, &str)> {
        renamed_path(&self.ou_aliases, path)
    }
}

/// [`Desired::renamed_path`] over an alias map (old path -> new path): the path now and the
/// alias that matched.
pub fn renamed_path<'a>(aliases: &'a BTreeMap<String, String>, path: &str) -> Option<(String, &'a str)> {
    let mut prefix = path;
    loop {
        if let Some((old, new)) = aliases.get_key_value(prefix) {
            return Some((format!("{new}{}", &path[prefix.len()..]), old.as_str()));
        }
        prefix = prefix.rsplit_once('/')?.0;
    }
}
