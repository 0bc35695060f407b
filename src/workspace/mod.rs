//! Workspace text (catalog/ + blueprints/) -> validated `Desired` state plus *every*
//! diagnostic. Pure: the caller hands in the files' bytes (`Files`); reading the disk is the
//! adapter's job. Never stops at the first problem: each file and each item is checked on its
//! own, and an item with errors is left out of `Desired` so the planner never sees it.
//!
//! This file owns the entry points (`load`, `load_blueprints`), `Files`, the blueprint types,
//! the checking context `Cx` with the layout and `vend.yaml` checks, and the helpers the parts
//! share; each part of the workspace is checked in its own file: `organization` (SCPs, OUs),
//! `blueprints`, `lock` (published account blueprint versions), `portfolios`, `accounts`,
//! `pipelines`, `guardrails`, `access` (who gets into an account: Identity Center access,
//! alternate contacts, what vend owns).

mod access;
mod accounts;
mod blueprints;
mod guardrails;
pub mod lock;
mod operators;
mod organization;
pub mod permission_sets;
mod pipelines;
mod portfolios;
pub mod raw;
pub mod rules;
pub mod schema;
pub mod template_lint;
mod yaml;

use crate::model::*;
use raw::*;
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
pub use yaml::origin;

/// The files of a workspace: paths relative to the root (with `/`), and their bytes.
#[derive(Debug, Default, Clone)]
pub struct Files {
    pub entries: BTreeMap<String, Vec<u8>>,
}

impl Files {
    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.entries.get(path).map(Vec::as_slice)
    }

    /// The files directly in `dir` (ending in `/`) whose names end in `ext`, in path order.
    pub fn folder(&self, dir: &str, ext: &str) -> Vec<(&str, &[u8])> {
        self.entries
            .range::<str, _>((std::ops::Bound::Excluded(dir), std::ops::Bound::Unbounded))
            .take_while(|(p, _)| p.starts_with(dir))
            .filter(|(p, _)| p.ends_with(ext) && !p[dir.len()..].contains('/'))
            .map(|(p, b)| (p.as_str(), b.as_slice()))
            .collect()
    }

    /// Like `folder`, and the files one subfolder down (`catalog/pipelines/<group>/<name>.yaml`:
    /// pipeline requests grouped by account, as `vend import` writes them — pipeline names
    /// repeat across accounts, file names in one folder cannot).
    pub fn folder_and_subfolders(&self, dir: &str, ext: &str) -> Vec<(&str, &[u8])> {
        self.entries
            .range::<str, _>((std::ops::Bound::Excluded(dir), std::ops::Bound::Unbounded))
            .take_while(|(p, _)| p.starts_with(dir))
            .filter(|(p, _)| p.ends_with(ext) && p[dir.len()..].matches('/').count() <= 1)
            .map(|(p, b)| (p.as_str(), b.as_slice()))
            .collect()
    }

    /// `sha256:` over every path and its bytes (the plan's `basis.workspace`), with the
    /// `operators:` block of `catalog/vend.yaml` left out ([`without_operators`]): pinning or
    /// rotating an operator's key does not void saved plans. A `vend.yaml` without one hashes
    /// as it always did.
    pub fn fingerprint(&self) -> String {
        self.hash(true)
    }

    /// The fingerprint vend wrote before `operators:` was left out (every byte): still accepted
    /// as a saved plan's basis.
    pub fn legacy_fingerprint(&self) -> String {
        self.hash(false)
    }

    fn hash(&self, skip_operators: bool) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for (path, bytes) in &self.entries {
            let filtered;
            let bytes = if skip_operators && path == SETTINGS {
                filtered = without_operators(bytes);
                filtered.as_slice()
            } else {
                bytes.as_slice()
            };
            h.update(path.as_bytes());
            h.update([0u8]);
            h.update((bytes.len() as u64).to_be_bytes());
            h.update(bytes);
        }
        format!("sha256:{}", hex::encode(h.finalize()))
    }
}

/// `vend.yaml`'s bytes without its top-level `operators:` block: the key's line (at column 0,
/// plain or quoted) and the lines after it that are blank, comments, indented or `- ` items,
/// up to the next line at column 0. Every other byte is kept as it is.
pub fn without_operators(bytes: &[u8]) -> Vec<u8> {
    let is_key = |line: &[u8]| {
        ["operators", "\"operators\"", "'operators'"].iter().any(|k| {
            line.strip_prefix(k.as_bytes()).is_some_and(|rest| rest.trim_ascii_start().starts_with(b":"))
        })
    };
    let continues = |line: &[u8]| {
        let t = line.trim_ascii();
        t.is_empty() || t.starts_with(b"#") || line[0] == b' ' || line[0] == b'\t' || line.starts_with(b"- ")
    };
    let mut out = Vec::with_capacity(bytes.len());
    let mut inside = false;
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        if inside && continues(line) {
            continue;
        }
        inside = is_key(line);
        if !inside {
            out.extend_from_slice(line);
        }
    }
    out
}

/// The result of loading: the desired state (items with errors left out) and diagnostics.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub desired: Desired,
    pub diagnostics: Vec<Diagnostic>,
}

/// The deepest an OU may sit below the root (AWS).
pub const MAX_OU_DEPTH: usize = 5;
/// At most this many SCPs directly attached to one target (AWS).
pub const MAX_SCPS_PER_TARGET: usize = 5;
/// Maximum SCP document size in bytes (AWS).
pub const MAX_POLICY_BYTES: usize = 5120;
/// IAM: the inline policies of one role together, in characters without whitespace ("Role
/// policy size cannot exceed 10,240 characters", IAM User Guide, "IAM and AWS STS quotas").
pub const MAX_ROLE_POLICY_CHARS: usize = 10_240;
/// Maximum IAM_PATTERN principals per portfolio (AWS).
pub const MAX_PRINCIPAL_PATTERNS: usize = 10;
/// Maximum tags on one resource (AWS Organizations).
pub const MAX_TAGS: usize = 50;

/// SHA-256 of a pipeline version's files: for each (name, bytes): name, NUL, length as 8-byte
/// big-endian, bytes. The hex digest is recorded in Service Catalog as `vend-sha256:<hex>`.
pub fn version_hash(files: &[(&str, &[u8])]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (name, bytes) in files {
        h.update(name.as_bytes());
        h.update([0u8]);
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    }
    hex::encode(h.finalize())
}

/// A validated account blueprint version.
#[derive(Debug, Clone)]
pub struct AccountBlueprint {
    pub name: String,
    pub version: String,
    pub file: String,
    pub description: String,
    pub params: BTreeMap<String, ParamSpec>,
    pub ou: String,
    pub ou_origin: Origin,
    pub policies: Vec<(String, Origin)>,
    pub required_tags: Vec<String>,
    pub default_tags: Tags,
    pub email_pattern: Option<Regex>,
    pub pipelines: Vec<BaselinePipeline>,
    /// `lock::account_version_hash` of the version file (what `blueprints/accounts.lock` records).
    pub sha256: String,
    /// `deprecated: true` in the version file.
    pub deprecated: bool,
    /// `access:` as written (placeholders not yet filled), without duplicates.
    pub access: Vec<BlueprintAccess>,
    /// `request_access:` as written: what a request may add under its own `access:`.
    pub request_access: Option<BlueprintRequestAccess>,
    /// `contacts:` as written, by upper case type (`BILLING`, `OPERATIONS`, `SECURITY`).
    pub contacts: BTreeMap<String, BlueprintContact>,
}

/// A text of a blueprint as written and where: placeholders are filled per request.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub text: String,
    pub origin: Origin,
}

/// One `access:` entry of an account blueprint (or of a request).
#[derive(Debug, Clone, PartialEq)]
pub struct BlueprintAccess {
    pub group: Written,
    pub permission_set: Written,
    /// The entry.
    pub origin: Origin,
}

/// `request_access:` of an account blueprint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BlueprintRequestAccess {
    pub groups: Vec<Written>,
    pub permission_sets: Vec<Written>,
    pub origin: Origin,
}

/// One `contacts:` entry of an account blueprint.
#[derive(Debug, Clone, PartialEq)]
pub struct BlueprintContact {
    pub name: Written,
    pub email: Written,
    pub phone: Written,
    pub title: Written,
    /// The entry.
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct ParamSpec {
    pub description: String,
    pub param_type: ParamType,
    pub allowed: Option<Vec<String>>,
    pub default: Option<String>,
    pub pattern: Option<Regex>,
}

#[derive(Debug, Clone)]
pub struct BaselinePipeline {
    pub blueprint: String,
    pub name: String,
    pub params: BTreeMap<String, (String, Origin)>,
    pub origin: Origin,
}

/// A validated pipeline blueprint version.
#[derive(Debug, Clone)]
pub struct PipelineVersion {
    pub blueprint: String,
    pub version: String,
    pub product: String,
    pub owner: String,
    pub description: String,
    pub template_file: String,
    pub template_body: String,
    pub parameters: BTreeMap<String, CfnParam>,
    pub sha256: String,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct CfnParam {
    pub param_type: String,
    pub default: Option<String>,
    pub allowed: Option<Vec<String>>,
    pub pattern: Option<String>,
    pub min_length: Option<u32>,
    pub max_length: Option<u32>,
    pub min_value: Option<f64>,
    pub max_value: Option<f64>,
    pub description: String,
    pub no_echo: bool,
}

/// Everything found in blueprints/, validated (for the loader and the catalog views).
#[derive(Debug, Clone, Default)]
pub struct Blueprints {
    pub accounts: BTreeMap<(String, String), AccountBlueprint>,
    pub pipelines: BTreeMap<(String, String), PipelineVersion>,
    /// Names of blueprints that exist (even if every version failed to load).
    pub account_names: BTreeSet<String>,
    pub pipeline_names: BTreeSet<String>,
    pub account_versions: BTreeSet<(String, String)>,
    pub pipeline_versions: BTreeSet<(String, String)>,
}

/// Load and validate a workspace.
pub fn load(files: &Files) -> Loaded {
    load_with(files, false)
}

/// Load and validate a workspace; `upgrade` (`vend plan --upgrade`) moves requests off
/// deprecated blueprint versions like `upgrade: propose` in `catalog/vend.yaml` does.
pub fn load_with(files: &Files, upgrade: bool) -> Loaded {
    let mut cx = Cx::new(files);
    cx.desired.fingerprint = files.fingerprint();
    cx.check_layout();
    cx.settings();
    cx.desired.settings.upgrade |= upgrade;
    cx.policies();
    cx.launch_roles();
    cx.permission_sets();
    cx.guardrails();
    let blueprints = cx.blueprints();
    cx.account_lock();
    cx.organization();
    let published = cx.portfolios(&blueprints);
    cx.unused_launch_roles();
    cx.accounts(&blueprints);
    cx.pipelines(&blueprints, &published);
    cx.renamed_references();
    cx.shares_and_targets();
    cx.desired.account_blueprints = group_versions(&blueprints.account_versions);
    cx.desired.pipeline_blueprints = group_versions(&blueprints.pipeline_versions);
    for bp in blueprints.accounts.values().filter(|a| a.deprecated) {
        cx.desired.deprecated_account_blueprints.entry(bp.name.clone()).or_default().push(bp.version.clone());
    }
    Loaded { desired: cx.desired, diagnostics: cx.diags.into_vec() }
}

/// Load only the blueprints (for catalog views and `vend request`).
pub fn load_blueprints(files: &Files) -> (Blueprints, Vec<Diagnostic>) {
    let mut cx = Cx::new(files);
    cx.policies();
    let b = cx.blueprints();
    (b, cx.diags.into_vec())
}

fn group_versions(set: &BTreeSet<(String, String)>) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (n, v) in set {
        out.entry(n.clone()).or_default().push(v.clone());
    }
    for v in out.values_mut() {
        v.sort_by(|a, b| rules::version_cmp(a, b));
    }
    out
}

/// The parameters a CloudFormation template body declares, each with whether it has a
/// `Default`; `None` when the body is not a template vend can read. The in-process cloud checks
/// launch parameters with it, as CloudFormation does when Service Catalog creates the stack.
pub fn template_parameters(body: &str) -> Option<BTreeMap<String, bool>> {
    let mut diags = Diagnostics::default();
    let t: raw::RawTemplate = yaml::parse("template", body.as_bytes(), &mut diags)?;
    Some(t.parameters.into_iter().map(|(k, p)| (k, p.value.default.is_some())).collect())
}

/// Split `name@version`.
pub fn parse_ref(s: &str) -> Option<(&str, &str)> {
    let (n, v) = s.split_once('@')?;
    (!n.is_empty() && !v.is_empty() && !v.contains('@')).then_some((n, v))
}

/// A baseline pipeline of an account request: (account, pipeline, substituted params).
type PendingBaseline = (String, BaselinePipeline, BTreeMap<String, (String, Origin)>);

/// Published versions per product name: (versions, deprecated), from portfolios.yaml.
type Published = BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)>;

struct Cx<'a> {
    files: &'a Files,
    diags: Diagnostics,
    desired: Desired,
    /// organization.yaml exists but did not parse: undeclared-OU warnings would be noise.
    org_failed: bool,
    /// Baseline pipelines of account requests: (account, pipeline, substituted params).
    pending_baselines: Vec<PendingBaseline>,
}

/// The workspace settings file; a workspace without it is not one vend can plan.
pub const SETTINGS: &str = "catalog/vend.yaml";
const ORGANIZATION: &str = "catalog/organization.yaml";
const PORTFOLIOS: &str = "catalog/portfolios.yaml";

impl<'a> Cx<'a> {
    fn new(files: &'a Files) -> Self {
        Cx {
            files,
            diags: Diagnostics::default(),
            desired: Desired::default(),
            pending_baselines: vec![],
            org_failed: false,
        }
    }
}

impl Cx<'_> {
    fn err(&mut self, code: &str, at: &Origin, msg: impl Into<String>) {
        self.diags.error(code, at, msg);
    }
    /// An error that AWS would answer with `rule` (an id of `adapter::aws_rules`), for codes
    /// several rules share (`bad-tag`, `bad-name`).
    fn err_rule(&mut self, rule: &str, code: &str, at: &Origin, msg: impl Into<String>) {
        self.diags.push(Diagnostic::error(code, msg).at(at).by_rule(Some(rule)));
    }
    fn warn(&mut self, code: &str, at: &Origin, msg: impl Into<String>) {
        self.diags.warning(code, at, msg);
    }

    /// Files that match no known place are reported, not silently ignored.
    fn check_layout(&mut self) {
        let paths: Vec<String> = self.files.entries.keys().cloned().collect();
        for p in paths {
            let parts: Vec<&str> = p.split('/').collect();
            if parts.iter().any(|s| s.starts_with('.')) {
                continue;
            }
            let known = match parts.as_slice() {
                ["catalog", "vend.yaml" | "organization.yaml" | "portfolios.yaml" | "guardrails.yaml"] => {
                    true
                }
                ["catalog", "policies" | "launch_roles", f] => f.ends_with(".json"),
                ["catalog", "accounts" | "pipelines" | "permission_sets", f] => f.ends_with(".yaml"),
                ["catalog", "pipelines", _, f] => f.ends_with(".yaml"),
                ["blueprints", "accounts", _, f] => f.ends_with(".yaml"),
                ["blueprints", "accounts.lock"] => true,
                ["blueprints", "pipelines", _, _, _] => true,
                ["catalog" | "blueprints", f] => f.ends_with(".md"),
                _ => false,
            };
            if !known {
                self.warn(
                    "unknown-file",
                    &Origin::file(&p),
                    "file is not part of the workspace layout and is ignored (see README)",
                );
            }
        }
    }

    fn settings(&mut self) {
        let Some(bytes) = self.files.get(SETTINGS) else {
            self.err(
                "missing-file",
                &Origin::file(SETTINGS),
                "workspace settings are missing (is this a vend workspace? see -C/--workspace)",
            );
            return;
        };
        let Some(raw) = yaml::parse::<RawSettings>(SETTINGS, bytes, &mut self.diags) else {
            return;
        };
        let mut bad_bucket = None;
        let s = &mut self.desired.settings;
        if let Some(r) = raw.region {
            s.region = r.value;
        }
        if let Some(b) = raw.template_bucket {
            // `{management}` is the management account's 12 digits: check the name with any 12.
            let name = b.value.replace("{management}", "000000000000");
            if let Err(e) = rules::bucket_name(&name) {
                bad_bucket = Some((origin(SETTINGS, &b), format!("template_bucket '{}' {e}", b.value)));
            }
            s.template_bucket = b.value;
        }
        if let Some(t) = &raw.ownership_tag {
            s.ownership_tag = t.value.clone();
        }
        s.required_approvals = raw.required_approvals.unwrap_or(0);
        s.operators = operators::operators(&raw.operators, &mut self.diags);
        s.close_quota_30d = raw.close_quota_30d.unwrap_or(DEFAULT_CLOSE_QUOTA_30D);
        s.upgrade = raw.upgrade == Some(RawUpgrade::Propose);
        let mut problems = vec![];
        if let Some(r) = &raw.member_role {
            self.desired.settings.member_role = r.value.clone();
            if let Err(e) = rules::role_name(&r.value) {
                problems.push(("bad-role", origin(SETTINGS, r), format!("member_role {e}")));
            }
        }
        if let Some(m) = raw.management_account {
            self.desired.settings.management_origin = origin(SETTINGS, &m);
            if let Err(e) = rules::account_id(&m.value) {
                problems.push(("bad-account-id", origin(SETTINGS, &m), format!("management_account {e}")));
            }
            self.desired.settings.management_account = Some(m.value);
        }
        if let Some(ic) = &raw.identity_center {
            let settings = &mut self.desired.settings.identity_center;
            settings.region = ic.region.as_ref().map(|r| r.value.clone());
            if let Some(id) = &ic.delegated_admin {
                if let Err(e) = rules::account_id(&id.value) {
                    problems.push((
                        "bad-account-id",
                        origin(SETTINGS, id),
                        format!("identity_center.delegated_admin {e}"),
                    ));
                }
                settings.delegated_admin = Some(id.value.clone());
            }
            if let Some(r) = &ic.region
                && let Err(e) = rules::region(&r.value)
            {
                problems.push(("bad-region", origin(SETTINGS, r), format!("identity_center.region {e}")));
            }
        }
        for p in &raw.protected {
            if let Err(e) = rules::account_id(&p.value) {
                problems.push(("bad-account-id", origin(SETTINGS, p), format!("protected account id {e}")));
            }
        }
        if let Some(t) = &raw.ownership_tag
            && let Err(e) = rules::tag(&t.value, "true")
        {
            problems.push(("bad-tag", origin(SETTINGS, t), e));
        }
        self.desired.settings.protected = raw.protected.into_iter().map(|p| p.value).collect();
        for (code, at, msg) in problems {
            self.err(code, &at, msg);
        }
        if let Some((at, msg)) = bad_bucket {
            self.err_rule("s3.bucket-name", "bad-name", &at, msg);
        }
    }
}

/// Strip the folder and the extension.
fn stem(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    match file.rfind('.') {
        Some(i) if i > 0 => file[..i].to_string(),
        _ => file.to_string(),
    }
}

fn type_check(t: ParamType, v: &Scalar) -> Result<(), String> {
    match (t, v) {
        (ParamType::String, _) => Ok(()),
        (ParamType::Number, Scalar::Int(_) | Scalar::Float(_)) => Ok(()),
        (ParamType::Number, Scalar::Str(s)) if s.parse::<f64>().is_ok() => Ok(()),
        (ParamType::Boolean, Scalar::Bool(_)) => Ok(()),
        (ParamType::Number, _) => Err("must be a number".into()),
        (ParamType::Boolean, _) => Err("must be true or false".into()),
    }
}

fn check_param(spec: &ParamSpec, v: &Scalar) -> Result<(), (&'static str, String)> {
    type_check(spec.param_type, v).map_err(|e| ("param-type", e))?;
    let text = v.as_text();
    if let Some(allowed) = &spec.allowed
        && !allowed.contains(&text)
    {
        return Err(("param-not-allowed", format!("is '{text}'; allowed: {}", allowed.join(", "))));
    }
    if let Some(p) = &spec.pattern
        && !p.is_match(&text)
    {
        return Err(("param-pattern", format!("'{text}' does not match {}", p.as_str())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(vend_yaml: &str) -> Files {
        let mut f = Files::default();
        f.entries.insert(SETTINGS.into(), vend_yaml.as_bytes().to_vec());
        f.entries.insert("catalog/organization.yaml".into(), b"ous: []\n".to_vec());
        f
    }

    #[test]
    fn identity_center_settings() {
        let loaded = load(&files(
            "region: eu-west-1\nidentity_center: { region: eu-central-1, delegated_admin: \"222222222222\" }\n",
        ));
        let ic = &loaded.desired.settings.identity_center;
        assert_eq!(
            (ic.region.as_deref(), ic.delegated_admin.as_deref()),
            (Some("eu-central-1"), Some("222222222222"))
        );
        // Absent: the workspace's region, administered from the management account.
        let loaded = load(&files("region: eu-west-1\n"));
        assert_eq!(loaded.desired.settings.identity_center, IdentityCenterSettings::default());
        let loaded = load(&files(
            "region: eu-west-1\nidentity_center:\n  region: Frankfurt\n  delegated_admin: \"2222\"\n",
        ));
        let found: Vec<(&str, Option<u32>)> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.file.as_deref() == Some(SETTINGS))
            .map(|d| (d.code.as_str(), d.line))
            .collect();
        assert!(found.contains(&("bad-region", Some(3))), "{found:?}");
        assert!(found.contains(&("bad-account-id", Some(4))), "{found:?}");
    }

    #[test]
    fn the_operators_block_is_left_out_of_the_fingerprint() {
        let base = "region: us-east-1\nprotected: [\"111111111111\"]\nrequired_approvals: 1\n";
        let pinned = "region: us-east-1\noperators:\n  alice: ed25519:AAA\n\n  # bob rotated\n  bob: ed25519:BBB\nprotected: [\"111111111111\"]\nrequired_approvals: 1\n";
        let quoted = "region: us-east-1\n\"operators\" :\n  carol: ed25519:CCC\nprotected: [\"111111111111\"]\nrequired_approvals: 1\n";
        let flow = "region: us-east-1\n'operators': {dave: ed25519:DDD}\nprotected: [\"111111111111\"]\nrequired_approvals: 1\n";
        let last = "region: us-east-1\nprotected: [\"111111111111\"]\nrequired_approvals: 1\noperators:\n  erin: ed25519:EEE\n";
        assert_eq!(without_operators(pinned.as_bytes()), base.as_bytes());
        for text in [pinned, quoted, flow, last] {
            assert_eq!(files(text).fingerprint(), files(base).fingerprint(), "{text}");
            assert_ne!(files(text).legacy_fingerprint(), files(base).legacy_fingerprint());
        }
        // Without operators, the fingerprint is every byte, as before.
        assert_eq!(files(base).fingerprint(), files(base).legacy_fingerprint());
        // Any other line still counts, and so does a key that only starts like `operators`.
        let edited = base.replace("required_approvals: 1", "required_approvals: 2");
        assert_ne!(files(&edited).fingerprint(), files(base).fingerprint());
        let other = format!("{base}operators_note: x\n");
        assert_ne!(files(&other).fingerprint(), files(base).fingerprint());
        let crlf = "region: us-east-1\r\noperators:\r\n  a: b\r\nprotected: []\r\n";
        assert_eq!(without_operators(crlf.as_bytes()), b"region: us-east-1\r\nprotected: []\r\n");
    }
}
