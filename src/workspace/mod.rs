//! Workspace text (catalog/ + blueprints/) -> validated `Desired` state plus *every*
//! diagnostic. Pure: the caller hands in the files' bytes (`Files`); reading the disk is the
//! adapter's job. Never stops at the first problem: each file and each item is checked on its
//! own, and an item with errors is left out of `Desired` so the planner never sees it.

mod guardrails;
pub mod raw;
pub mod rules;
pub mod template_lint;
mod yaml;

use crate::model::*;
use raw::*;
use regex::Regex;
use serde_saphyr::Spanned;
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

    /// `sha256:` over every path and its bytes (the plan's `basis.workspace`).
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for (path, bytes) in &self.entries {
            h.update(path.as_bytes());
            h.update([0u8]);
            h.update((bytes.len() as u64).to_be_bytes());
            h.update(bytes);
        }
        format!("sha256:{}", hex::encode(h.finalize()))
    }
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
    pub sha256: String,
    /// `deprecated: true` in the version file.
    pub deprecated: bool,
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
    cx.guardrails();
    let blueprints = cx.blueprints();
    cx.organization();
    let published = cx.portfolios(&blueprints);
    cx.accounts(&blueprints);
    cx.pipelines(&blueprints, &published);
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

const SETTINGS: &str = "catalog/vend.yaml";
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
                ["catalog", "policies", f] => f.ends_with(".json"),
                ["catalog", "accounts" | "pipelines", f] => f.ends_with(".yaml"),
                ["blueprints", "accounts", _, f] => f.ends_with(".yaml"),
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
        let s = &mut self.desired.settings;
        if let Some(r) = raw.region {
            s.region = r.value;
        }
        if let Some(b) = raw.template_bucket {
            s.template_bucket = b.value;
        }
        if let Some(t) = &raw.ownership_tag {
            s.ownership_tag = t.value.clone();
        }
        s.required_approvals = raw.required_approvals.unwrap_or(0);
        s.operators = raw.operators.clone();
        s.close_quota_30d = raw.close_quota_30d.unwrap_or(DEFAULT_CLOSE_QUOTA_30D);
        s.upgrade = raw.upgrade == Some(RawUpgrade::Propose);
        let mut problems = vec![];
        if let Some(m) = raw.management_account {
            self.desired.settings.management_origin = origin(SETTINGS, &m);
            if let Err(e) = rules::account_id(&m.value) {
                problems.push(("bad-account-id", origin(SETTINGS, &m), format!("management_account {e}")));
            }
            self.desired.settings.management_account = Some(m.value);
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
    }

    fn policies(&mut self) {
        let files = self.files;
        for (path, bytes) in files.folder("catalog/policies/", ".json") {
            let name = stem(path);
            let at = Origin::file(path);
            if let Err(e) = rules::policy_name(&name) {
                self.err("bad-name", &at, format!("policy name '{name}' {e}"));
                continue;
            }
            if bytes.len() > MAX_POLICY_BYTES {
                self.err(
                    "policy-size",
                    &at,
                    format!("SCP document is {} bytes; AWS allows at most {MAX_POLICY_BYTES}", bytes.len()),
                );
            }
            let value: serde_json::Value = match serde_json::from_slice(bytes) {
                Ok(v) => v,
                Err(e) => {
                    let at = Origin::new(path, e.line().max(1) as u32, e.column().max(1) as u32);
                    self.err("policy-json", &at, format!("SCP document is not valid JSON: {e}"));
                    continue;
                }
            };
            if !value.get("Statement").is_some_and(|s| s.is_array() || s.is_object()) {
                self.err("policy-invalid", &at, "SCP document needs a \"Statement\" (object or list)");
                continue;
            }
            if bytes.len() > MAX_POLICY_BYTES {
                continue;
            }
            let content = String::from_utf8_lossy(bytes).into_owned();
            self.desired.policies.insert(name.clone(), DesiredPolicy { name, content, origin: at });
        }
    }

    /// Check a `policies:` list for a target: known, no duplicates, at most five managed.
    fn policy_list(&mut self, list: &[Spanned<String>], file: &str, target: &str) -> Vec<String> {
        let mut out: Vec<String> = vec![];
        for p in list {
            let at = origin(file, p);
            if !self.desired.policies.contains_key(&p.value) {
                if self.files.get(&format!("catalog/policies/{}.json", p.value)).is_some() {
                    // The document exists but is invalid: already reported there.
                } else {
                    self.err(
                        "unknown-policy",
                        &at,
                        format!("SCP '{}' has no document catalog/policies/{}.json", p.value, p.value),
                    );
                }
                continue;
            }
            if out.contains(&p.value) {
                self.err("duplicate-policy", &at, format!("SCP '{}' is listed twice for {target}", p.value));
                continue;
            }
            out.push(p.value.clone());
        }
        if out.len() > MAX_SCPS_PER_TARGET
            && let Some(first) = list.first()
        {
            self.err(
                "scp-limit",
                &origin(file, first),
                format!(
                    "{target} would have {} SCPs managed by vend; AWS allows at most {MAX_SCPS_PER_TARGET} per target",
                    out.len()
                ),
            );
        }
        out
    }

    fn blueprints(&mut self) -> Blueprints {
        let mut b = Blueprints::default();
        let paths: Vec<String> = self.files.entries.keys().cloned().collect();
        for p in &paths {
            let parts: Vec<&str> = p.split('/').collect();
            match parts.as_slice() {
                ["blueprints", "accounts", name, file] if file.ends_with(".yaml") => {
                    let version = stem(file);
                    let at = Origin::file(p);
                    if let Err(e) = rules::key_name(name) {
                        self.err("bad-name", &at, format!("blueprint name '{name}' {e}"));
                        continue;
                    }
                    if let Err(e) = rules::version_name(&version) {
                        self.err("bad-name", &at, format!("version name '{version}' {e}"));
                        continue;
                    }
                    b.account_names.insert(name.to_string());
                    b.account_versions.insert((name.to_string(), version.clone()));
                    if let Some(bp) = self.account_blueprint(p, name, &version) {
                        b.accounts.insert((name.to_string(), version), bp);
                    }
                }
                ["blueprints", "pipelines", name, version, "blueprint.yaml"] => {
                    let at = Origin::file(p);
                    if let Err(e) = rules::key_name(name) {
                        self.err("bad-name", &at, format!("blueprint name '{name}' {e}"));
                        continue;
                    }
                    if let Err(e) = rules::version_name(version) {
                        self.err("bad-name", &at, format!("version name '{version}' {e}"));
                        continue;
                    }
                    b.pipeline_names.insert(name.to_string());
                    b.pipeline_versions.insert((name.to_string(), version.to_string()));
                    if let Some(v) = self.pipeline_version(p, name, version) {
                        b.pipelines.insert((name.to_string(), version.to_string()), v);
                    }
                }
                ["blueprints", "pipelines", name, version, _]
                    if !self
                        .files
                        .entries
                        .contains_key(&format!("blueprints/pipelines/{name}/{version}/blueprint.yaml"))
                        && b.pipeline_versions.insert((name.to_string(), version.to_string())) =>
                {
                    b.pipeline_names.insert(name.to_string());
                    self.err(
                        "missing-file",
                        &Origin::file(format!("blueprints/pipelines/{name}/{version}/blueprint.yaml")),
                        format!("pipeline blueprint {name}@{version} has no blueprint.yaml"),
                    );
                }
                _ => {}
            }
        }
        // Product names must be unique across pipeline blueprints.
        let mut products: BTreeMap<String, String> = BTreeMap::new();
        let mut clashes = vec![];
        for ((name, _), v) in &b.pipelines {
            if let Some(other) = products.get(&v.product) {
                if other != name {
                    clashes.push((v.origin.clone(), v.product.clone(), other.clone()));
                }
            } else {
                products.insert(v.product.clone(), name.clone());
            }
        }
        for (at, product, other) in clashes {
            self.err(
                "duplicate-product",
                &at,
                format!("product name '{product}' is already used by pipeline blueprint '{other}'"),
            );
        }
        b
    }

    fn account_blueprint(&mut self, file: &str, name: &str, version: &str) -> Option<AccountBlueprint> {
        let bytes = self.files.get(file)?;
        let sha256 = sha256_hex(bytes);
        let raw: RawAccountBlueprint = yaml::parse(file, bytes, &mut self.diags)?;
        let mut ok = true;
        let mut params = BTreeMap::new();
        for (pname, spec) in &raw.params {
            match self.param_spec(file, pname, spec) {
                Some(s) => {
                    params.insert(pname.clone(), s);
                }
                None => ok = false,
            }
        }
        // Placeholders in `ou` must be declared params or {name}.
        let ou_origin = origin(file, &raw.ou);
        if let Err(unknown) =
            rules::substitute(&raw.ou.value, &|k| (k == "name" || params.contains_key(k)).then(String::new))
        {
            self.err(
                "unknown-placeholder",
                &ou_origin,
                format!("'{{{unknown}}}' is neither a parameter of this blueprint nor {{name}}"),
            );
            ok = false;
        }
        let policies = self.policy_list(&raw.policies, file, &format!("accounts of {name}@{version}"));
        let policies = policies
            .into_iter()
            .map(|p| {
                let at = raw
                    .policies
                    .iter()
                    .find(|s| s.value == p)
                    .map(|s| origin(file, s))
                    .unwrap_or_else(|| Origin::file(file));
                (p, at)
            })
            .collect();
        let mut default_tags = Tags::new();
        for (k, v) in &raw.tags.defaults {
            if let Err(e) = rules::tag(k, &v.value) {
                self.err("bad-tag", &origin(file, v), e);
                ok = false;
            }
            default_tags.insert(k.clone(), v.value.clone());
        }
        let email_pattern = self.pattern(
            file,
            raw.email.as_ref().and_then(|e| e.pattern.as_ref()),
            "e-mail pattern",
            &mut ok,
        );
        let mut pipelines = vec![];
        for bp in &raw.pipelines {
            let at = origin(file, bp);
            let p = &bp.value;
            if parse_ref(&p.blueprint.value).is_none() {
                self.err(
                    "bad-reference",
                    &origin(file, &p.blueprint),
                    format!("'{}' is not of the form name@version", p.blueprint.value),
                );
                ok = false;
                continue;
            }
            pipelines.push(BaselinePipeline {
                blueprint: p.blueprint.value.clone(),
                name: p.name.value.clone(),
                params: p
                    .params
                    .iter()
                    .map(|(k, v)| (k.clone(), (v.value.as_text(), origin(file, v))))
                    .collect(),
                origin: at,
            });
        }
        ok.then(|| AccountBlueprint {
            name: name.to_string(),
            version: version.to_string(),
            file: file.to_string(),
            description: raw.description.unwrap_or_default(),
            params,
            ou: raw.ou.value.clone(),
            ou_origin,
            policies,
            required_tags: raw.tags.required.iter().map(|t| t.value.clone()).collect(),
            default_tags,
            email_pattern,
            pipelines,
            sha256,
            deprecated: raw.deprecated,
        })
    }

    /// Compile a regular expression written in a blueprint; a bad one is a `bad-pattern` error.
    fn pattern(
        &mut self,
        file: &str,
        p: Option<&Spanned<String>>,
        what: &str,
        ok: &mut bool,
    ) -> Option<Regex> {
        let p = p?;
        match Regex::new(&p.value) {
            Ok(r) => Some(r),
            Err(e) => {
                self.err(
                    "bad-pattern",
                    &origin(file, p),
                    format!("{what} is not a valid regular expression: {e}"),
                );
                *ok = false;
                None
            }
        }
    }

    fn param_spec(&mut self, file: &str, pname: &str, spec: &Spanned<RawParamSpec>) -> Option<ParamSpec> {
        let at = origin(file, spec);
        let s = &spec.value;
        let param_type = s.param_type.unwrap_or(ParamType::String);
        let mut ok = true;
        let pattern =
            self.pattern(file, s.pattern.as_ref(), &format!("pattern of parameter '{pname}'"), &mut ok);
        let allowed = s.allowed.as_ref().map(|a| a.iter().map(Scalar::as_text).collect::<Vec<_>>());
        let default = s.default.as_ref().map(Scalar::as_text);
        if let (Some(d), Some(a)) = (&default, &allowed)
            && !a.contains(d)
        {
            self.err(
                "blueprint-invalid",
                &at,
                format!("default '{d}' of parameter '{pname}' is not among its allowed values"),
            );
            ok = false;
        }
        if let Some(d) = &s.default
            && let Err(e) = type_check(param_type, d)
        {
            self.err("blueprint-invalid", &at, format!("default of parameter '{pname}' {e}"));
            ok = false;
        }
        ok.then(|| ParamSpec {
            description: s.description.clone().unwrap_or_default(),
            param_type,
            allowed,
            default,
            pattern,
        })
    }

    fn pipeline_version(&mut self, file: &str, name: &str, version: &str) -> Option<PipelineVersion> {
        let bytes = self.files.get(file)?;
        let raw: RawPipelineBlueprint = yaml::parse(file, bytes, &mut self.diags)?;
        let template_name =
            raw.template.as_ref().map(|t| t.value.clone()).unwrap_or_else(|| "template.yaml".into());
        let dir = format!("blueprints/pipelines/{name}/{version}");
        let template_file = format!("{dir}/{template_name}");
        let Some(template_bytes) = self.files.get(&template_file).filter(|_| !template_name.contains('/'))
        else {
            let at = raw.template.as_ref().map(|t| origin(file, t)).unwrap_or_else(|| Origin::file(file));
            self.err("missing-file", &at, format!("template file {template_file} does not exist"));
            return None;
        };
        let product = raw.product.as_ref().map(|p| p.value.clone()).unwrap_or_else(|| name.to_string());
        if product.is_empty() || product.chars().count() > 8191 {
            let at = raw.product.as_ref().map(|p| origin(file, p)).unwrap_or_else(|| Origin::file(file));
            self.err("bad-name", &at, "product name must be 1 to 8191 characters");
            return None;
        }
        let template: RawTemplate = yaml::parse(&template_file, template_bytes, &mut self.diags)?;
        for f in template_lint::lint(&String::from_utf8_lossy(template_bytes)) {
            let at = Origin::new(&template_file, f.line, f.column);
            self.lint_finding(f.code, &at, format!("{name}@{version}: {}", f.message));
        }
        if template.resources.is_none() {
            self.err(
                "template-invalid",
                &Origin::file(&template_file),
                "CloudFormation template has no Resources section",
            );
            return None;
        }
        let mut parameters = BTreeMap::new();
        let mut ok = true;
        for (pname, p) in &template.parameters {
            let v = &p.value;
            if let Some(pat) = &v.allowed_pattern
                && let Err(e) = Regex::new(&format!("^(?:{})$", pat.value))
            {
                self.err(
                    "template-invalid",
                    &origin(&template_file, pat),
                    format!("AllowedPattern of parameter '{pname}' is not a valid regular expression: {e}"),
                );
                ok = false;
            }
            parameters.insert(
                pname.clone(),
                CfnParam {
                    param_type: v.param_type.clone(),
                    default: v.default.as_ref().map(Scalar::as_text),
                    allowed: v.allowed_values.as_ref().map(|a| a.iter().map(Scalar::as_text).collect()),
                    pattern: v.allowed_pattern.as_ref().map(|p| p.value.clone()),
                    min_length: v.min_length,
                    max_length: v.max_length,
                    min_value: v.min_value,
                    max_value: v.max_value,
                    description: v.description.clone().unwrap_or_default(),
                    no_echo: v.no_echo.as_ref().is_some_and(|x| x.as_text().eq_ignore_ascii_case("true")),
                },
            );
        }
        let sha256 = version_hash(&[("blueprint.yaml", bytes), (&template_name, template_bytes)]);
        ok.then(|| PipelineVersion {
            blueprint: name.to_string(),
            version: version.to_string(),
            product,
            owner: raw.owner.value.clone(),
            description: raw.description.clone().unwrap_or_default(),
            template_file,
            template_body: String::from_utf8_lossy(template_bytes).into_owned(),
            parameters,
            sha256,
            origin: Origin::file(file),
        })
    }

    fn organization(&mut self) {
        let Some(bytes) = self.files.get(ORGANIZATION) else {
            return;
        };
        let Some(raw) = yaml::parse::<RawOrganization>(ORGANIZATION, bytes, &mut self.diags) else {
            self.org_failed = true;
            return;
        };
        self.desired.root_origin = raw
            .root_policies
            .first()
            .map(|p| origin(ORGANIZATION, p))
            .unwrap_or_else(|| Origin::file(ORGANIZATION));
        self.desired.root_policies = self.policy_list(&raw.root_policies, ORGANIZATION, "the root");
        self.units(&raw.units, None, 1);
    }

    fn units(&mut self, units: &BTreeMap<String, Spanned<RawUnit>>, parent: Option<&str>, depth: usize) {
        for (name, unit) in units {
            let at = origin(ORGANIZATION, unit);
            let path = match parent {
                Some(p) => format!("{p}/{name}"),
                None => name.clone(),
            };
            if let Err(e) = rules::ou_name(name) {
                self.err("bad-name", &at, format!("OU name '{name}' {e}"));
                continue;
            }
            if depth > MAX_OU_DEPTH {
                self.err(
                    "ou-depth",
                    &at,
                    format!(
                        "OU '{path}' is {depth} levels below the root; AWS allows at most {MAX_OU_DEPTH}"
                    ),
                );
                continue;
            }
            let policies = self.policy_list(&unit.value.policies, ORGANIZATION, &format!("OU '{path}'"));
            let tags = self.tags_of(ORGANIZATION, &unit.value.tags);
            self.desired.ous.insert(
                path.clone(),
                DesiredOu {
                    path: path.clone(),
                    name: name.clone(),
                    parent: parent.map(str::to_string),
                    tags,
                    policies,
                    origin: at,
                },
            );
            self.units(&unit.value.units, Some(&path), depth + 1);
        }
    }

    /// Validated tags plus vend's ownership tag.
    fn tags_of(&mut self, file: &str, raw: &BTreeMap<String, Spanned<String>>) -> Tags {
        let mut tags = Tags::new();
        for (k, v) in raw {
            if let Err(e) = rules::tag(k, &v.value) {
                self.err("bad-tag", &origin(file, v), e);
                continue;
            }
            tags.insert(k.clone(), v.value.clone());
        }
        tags.insert(self.desired.settings.ownership_tag.clone(), "true".into());
        tags
    }

    fn portfolios(&mut self, b: &Blueprints) -> Published {
        let mut published: Published = BTreeMap::new();
        let mut published_at: BTreeMap<String, (String, Origin)> = BTreeMap::new();
        let Some(bytes) = self.files.get(PORTFOLIOS) else {
            return published;
        };
        let Some(raw) = yaml::parse::<RawPortfolios>(PORTFOLIOS, bytes, &mut self.diags) else {
            return published;
        };
        for (pname, port) in &raw.portfolios {
            let at = origin(PORTFOLIOS, port);
            let p = &port.value;
            if pname.is_empty() || pname.chars().count() > 100 {
                self.err("bad-name", &at, "portfolio name must be 1 to 100 characters");
                continue;
            }
            if p.provider.value.is_empty() || p.provider.value.chars().count() > 50 {
                self.err("bad-name", &origin(PORTFOLIOS, &p.provider), "provider must be 1 to 50 characters");
            }
            let mut products = vec![];
            for (bp_name, entry) in &p.products {
                let eat = origin(PORTFOLIOS, entry);
                if !b.pipeline_names.contains(bp_name) {
                    self.err(
                        "unknown-blueprint",
                        &eat,
                        format!("no pipeline blueprint '{bp_name}' in blueprints/pipelines/"),
                    );
                    continue;
                }
                let mut versions = BTreeSet::new();
                for v in &entry.value.versions {
                    if !b.pipeline_versions.contains(&(bp_name.clone(), v.value.clone())) {
                        self.err(
                            "unknown-version",
                            &origin(PORTFOLIOS, v),
                            format!("pipeline blueprint '{bp_name}' has no version '{}'", v.value),
                        );
                        continue;
                    }
                    versions.insert(v.value.clone());
                }
                let mut deprecated = BTreeSet::new();
                let mut retired = BTreeSet::new();
                for v in &entry.value.retired {
                    if !entry.value.versions.iter().any(|x| x.value == v.value) {
                        self.err(
                            "bad-retired",
                            &origin(PORTFOLIOS, v),
                            format!("retired version '{}' is not among the published versions (a retired version stays listed until it is removed)", v.value),
                        );
                        continue;
                    }
                    // Retired implies deprecated: no new launches, and hidden (Active=false).
                    retired.insert(v.value.clone());
                    deprecated.insert(v.value.clone());
                }
                for v in &entry.value.deprecated {
                    if !entry.value.versions.iter().any(|x| x.value == v.value) {
                        self.err(
                            "bad-deprecated",
                            &origin(PORTFOLIOS, v),
                            format!("deprecated version '{}' is not among the published versions", v.value),
                        );
                        continue;
                    }
                    deprecated.insert(v.value.clone());
                }
                if entry.value.versions.is_empty() {
                    self.err(
                        "last-version",
                        &eat,
                        format!("product '{bp_name}' must publish at least one version"),
                    );
                    continue;
                }
                // The product name comes from the blueprint versions (they agree, or the newest wins).
                let Some(product) = versions
                    .iter()
                    .filter_map(|v| b.pipelines.get(&(bp_name.clone(), v.clone())))
                    .map(|v| v.product.clone())
                    .next_back()
                else {
                    continue;
                };
                match published.get(&product) {
                    Some((vs, ds)) if (vs, ds) != (&versions, &deprecated) => {
                        let (other, _) = published_at.get(&product).cloned().unwrap_or_default();
                        self.err(
                            "version-conflict",
                            &eat,
                            format!("product '{product}' is published with other versions by portfolio '{other}'; list the same versions everywhere"),
                        );
                    }
                    Some(_) => {}
                    None => {
                        published.insert(product.clone(), (versions.clone(), deprecated.clone()));
                        published_at.insert(product.clone(), (pname.clone(), eat.clone()));
                    }
                }
                products.push(product.clone());
                self.product(b, bp_name, &product, &versions, &deprecated, &eat);
                if let Some(p) = self.desired.products.get_mut(&product) {
                    for v in &retired {
                        if let Some(dv) = p.versions.get_mut(v) {
                            dv.retired = true;
                        }
                    }
                }
            }
            let mut principals = vec![];
            let mut patterns = 0;
            let mut over_limit: Option<Origin> = None;
            for pr in &p.principals {
                match rules::principal(&pr.value) {
                    Ok(kind) => {
                        if kind == "IAM_PATTERN" {
                            patterns += 1;
                            if patterns == MAX_PRINCIPAL_PATTERNS + 1 {
                                over_limit = Some(origin(PORTFOLIOS, pr));
                            }
                        }
                        if !principals.contains(&pr.value) {
                            principals.push(pr.value.clone());
                        }
                    }
                    Err(e) => self.err(
                        "bad-principal",
                        &origin(PORTFOLIOS, pr),
                        format!("principal '{}' {e}", pr.value),
                    ),
                }
            }
            if let Some(limit_at) = over_limit {
                self.err(
                    "principal-limit",
                    &limit_at,
                    format!("portfolio '{pname}' has {patterns} IAM_PATTERN principals; AWS allows at most {MAX_PRINCIPAL_PATTERNS}"),
                );
            }
            let mut shares = vec![];
            let mut share_origins = BTreeMap::new();
            for s in &p.shares {
                let target = if s.value == "organization" {
                    ShareTarget::Organization
                } else if self.files.get(&format!("catalog/accounts/{}.yaml", s.value)).is_some() {
                    ShareTarget::Account(s.value.clone())
                } else {
                    ShareTarget::Ou(s.value.clone())
                };
                if !shares.contains(&target) {
                    share_origins.insert(target.key(), origin(PORTFOLIOS, s));
                    shares.push(target);
                }
            }
            let launch_role = match &p.launch_role {
                Some(r) => match rules::role_name(&r.value) {
                    Ok(()) => Some(r.value.clone()),
                    Err(e) => {
                        self.err(
                            "bad-role",
                            &origin(PORTFOLIOS, r),
                            format!("launch_role '{}' {e}", r.value),
                        );
                        None
                    }
                },
                None => None,
            };
            let tags = self.tags_of(PORTFOLIOS, &p.tags);
            self.desired.portfolios.insert(
                pname.clone(),
                DesiredPortfolio {
                    name: pname.clone(),
                    description: p.description.clone().unwrap_or_default(),
                    provider: p.provider.value.clone(),
                    tags,
                    products,
                    principals,
                    shares,
                    share_origins,
                    launch_role,
                    origin: at,
                },
            );
        }
        published
    }

    fn product(
        &mut self,
        b: &Blueprints,
        blueprint: &str,
        product: &str,
        versions: &BTreeSet<String>,
        deprecated: &BTreeSet<String>,
        at: &Origin,
    ) {
        if self.desired.products.contains_key(product) {
            return;
        }
        let mut ordered: Vec<&String> = versions.iter().collect();
        ordered.sort_by(|a, c| rules::version_cmp(a, c));
        let mut out = BTreeMap::new();
        let mut previous: Option<String> = None;
        let mut newest: Option<&PipelineVersion> = None;
        for v in ordered {
            let Some(pv) = b.pipelines.get(&(blueprint.to_string(), v.clone())) else {
                continue; // reported where the version failed to load
            };
            out.insert(
                v.clone(),
                DesiredVersion {
                    name: v.clone(),
                    sha256: pv.sha256.clone(),
                    deprecated: deprecated.contains(v),
                    retired: false,
                    template_body: pv.template_body.clone(),
                    previous: previous.clone(),
                    origin: pv.origin.clone(),
                },
            );
            previous = Some(v.clone());
            newest = Some(pv);
        }
        let Some(newest) = newest else { return };
        let mut tags = Tags::new();
        tags.insert(self.desired.settings.ownership_tag.clone(), "true".into());
        self.desired.products.insert(
            product.to_string(),
            DesiredProduct {
                name: product.to_string(),
                blueprint: blueprint.to_string(),
                owner: newest.owner.clone(),
                description: newest.description.clone(),
                tags,
                versions: out,
                origin: at.clone(),
            },
        );
    }

    fn accounts(&mut self, b: &Blueprints) {
        let files = self.files.folder("catalog/accounts/", ".yaml");
        let mut emails: BTreeMap<String, String> = BTreeMap::new();
        // Parse in batches on all cores, then check in file order (bounded memory, stable output).
        for batch in files.chunks(4096) {
            for ((file, _), parsed) in batch.iter().zip(yaml::parse_many::<RawAccountRequest>(batch)) {
                let raw = match parsed {
                    Ok(raw) => raw,
                    Err(d) => {
                        self.diags.push(d);
                        continue;
                    }
                };
                self.account_request(file, &raw, b, &mut emails);
            }
        }
    }

    fn account_request(
        &mut self,
        file: &str,
        raw: &RawAccountRequest,
        b: &Blueprints,
        emails: &mut BTreeMap<String, String>,
    ) {
        {
            if let Some(a) = self.account(file, raw, b) {
                let key = a.email.to_ascii_lowercase();
                if let Some(other) = emails.get(&key) {
                    self.err(
                        "duplicate-email",
                        &origin(file, &raw.email),
                        format!("e-mail {} is already requested by account '{other}'", a.email),
                    );
                    return;
                }
                emails.insert(key, a.name.clone());
                self.desired.accounts.insert(a.name.clone(), a);
            }
        }
    }

    fn account(&mut self, file: &str, raw: &RawAccountRequest, b: &Blueprints) -> Option<DesiredAccount> {
        let at_name = origin(file, &raw.name);
        let name = raw.name.value.clone();
        let mut ok = true;
        if stem(file) != name {
            self.err(
                "name-mismatch",
                &at_name,
                format!("account name '{name}' must equal the file name '{}'", stem(file)),
            );
            ok = false;
        }
        if let Err(e) = rules::account_name(&name) {
            self.err("bad-account-name", &at_name, format!("account name {e}"));
            ok = false;
        }
        let at_email = origin(file, &raw.email);
        if let Err(e) = rules::email(&raw.email.value) {
            self.err("bad-email", &at_email, format!("e-mail '{}' {e}", raw.email.value));
            ok = false;
        }
        if let Some(ts) = &raw.requested_at
            && ts.value.parse::<jiff::Timestamp>().is_err()
        {
            self.err(
                "bad-timestamp",
                &origin(file, ts),
                format!("requested_at '{}' is not an RFC 3339 time", ts.value),
            );
        }
        let mut bp = self.lookup_account_blueprint(file, &raw.blueprint, b)?;
        if bp.deprecated
            && self.desired.settings.upgrade
            && let Some(newer) = newest_account_blueprint(b, &bp.name).filter(|n| n.version != bp.version)
        {
            self.desired
                .upgraded
                .insert(crate::model::Address::account(&name), format!("{}@{}", bp.name, bp.version));
            bp = newer;
        }
        // Parameters: unknown, type, allowed, pattern, required.
        let mut values: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in &raw.params {
            let at = origin(file, v);
            let Some(spec) = bp.params.get(k) else {
                self.err(
                    "unknown-param",
                    &at,
                    format!("blueprint {}@{} has no parameter '{k}'", bp.name, bp.version),
                );
                ok = false;
                continue;
            };
            if let Err(e) = check_param(spec, &v.value) {
                self.err(e.0, &at, format!("parameter '{k}' {}", e.1));
                ok = false;
                continue;
            }
            values.insert(k.clone(), v.value.as_text());
        }
        for (k, spec) in &bp.params {
            if !values.contains_key(k) {
                match &spec.default {
                    Some(d) => {
                        values.insert(k.clone(), d.clone());
                    }
                    None => {
                        if !raw.params.contains_key(k) {
                            self.err(
                                "missing-param",
                                &at_name,
                                format!("parameter '{k}' of {}@{} is required", bp.name, bp.version),
                            );
                        }
                        ok = false;
                    }
                }
            }
        }
        let lookup = |k: &str| if k == "name" { Some(name.clone()) } else { values.get(k).cloned() };
        let ou = match rules::substitute(&bp.ou, &lookup) {
            Ok(ou) => ou.trim_matches('/').to_string(),
            Err(_) => return None, // reported with the blueprint, or a missing param above
        };
        if ou.split('/').count() > MAX_OU_DEPTH {
            self.err(
                "ou-depth",
                &bp.ou_origin,
                format!("OU '{ou}' is more than {MAX_OU_DEPTH} levels below the root"),
            );
            ok = false;
        }
        if !ou.is_empty() && !self.desired.has_ou(&ou) && !self.org_failed {
            self.warn(
                "ou-undeclared",
                &bp.ou_origin,
                format!("account '{name}' goes to OU '{ou}', which organization.yaml does not declare; `vend plan` checks that it exists"),
            );
        }
        if let Some(re) = &bp.email_pattern
            && !re.is_match(&raw.email.value)
        {
            self.err(
                "email-pattern",
                &at_email,
                format!(
                    "e-mail '{}' does not match the pattern of {}@{}: {}",
                    raw.email.value,
                    bp.name,
                    bp.version,
                    re.as_str()
                ),
            );
            ok = false;
        }
        // Tags: defaults, then the request's, then vend's own.
        let mut tags = bp.default_tags.clone();
        for (k, v) in &raw.tags {
            let text = v.value.as_text();
            if let Err(e) = rules::tag(k, &text) {
                self.err("bad-tag", &origin(file, v), e);
                ok = false;
            }
            tags.insert(k.clone(), text);
        }
        for req in &bp.required_tags {
            if !tags.contains_key(req) {
                self.err(
                    "missing-tag",
                    &at_name,
                    format!("tag '{req}' is required by blueprint {}@{}", bp.name, bp.version),
                );
                ok = false;
            }
        }
        let own = self.desired.settings.ownership_tag.clone();
        tags.insert(own, "true".into());
        tags.insert("vend:blueprint".into(), format!("{}@{}", bp.name, bp.version));
        if let Some(o) = &raw.owner {
            tags.insert("vend:owner".into(), o.value.clone());
        }
        if tags.len() > MAX_TAGS {
            self.err(
                "bad-tag",
                &at_name,
                format!("account would carry {} tags; AWS allows at most {MAX_TAGS}", tags.len()),
            );
            ok = false;
        }
        let lifecycle = match raw.lifecycle.as_ref().map(|l| l.value) {
            None => Lifecycle::Manage,
            Some(RawLifecycle::Adopt) => Lifecycle::Adopt,
            Some(RawLifecycle::Close) => Lifecycle::Close,
        };
        // Baseline pipelines from the blueprint.
        for base in &bp.pipelines {
            let mut params = BTreeMap::new();
            let mut bad = false;
            for (k, (v, at)) in &base.params {
                match rules::substitute(v, &lookup) {
                    Ok(s) => {
                        params.insert(k.clone(), (s, at.clone()));
                    }
                    Err(unknown) => {
                        self.err(
                            "unknown-placeholder",
                            at,
                            format!(
                                "'{{{unknown}}}' is neither a parameter of {}@{} nor {{name}}",
                                bp.name, bp.version
                            ),
                        );
                        bad = true;
                    }
                }
            }
            if bad {
                ok = false;
                continue;
            }
            self.pending_baselines.push((name.clone(), base.clone(), params));
        }
        let policies = bp.policies.iter().map(|(p, _)| p.clone()).collect();
        ok.then(|| DesiredAccount {
            name: name.clone(),
            email: raw.email.value.clone(),
            owner: raw.owner.as_ref().map(|o| o.value.clone()),
            blueprint: format!("{}@{}", bp.name, bp.version),
            ou,
            tags,
            policies,
            lifecycle,
            origin: at_name.clone(),
            ou_origin: bp.ou_origin.clone(),
            email_origin: at_email.clone(),
            lifecycle_origin: raw
                .lifecycle
                .as_ref()
                .map(|l| origin(file, l))
                .unwrap_or_else(|| at_name.clone()),
            requested_at: raw.requested_at.as_ref().map(|r| r.value.clone()),
        })
    }
}

/// The newest version of an account blueprint that is not deprecated (and loaded).
fn newest_account_blueprint<'b>(b: &'b Blueprints, name: &str) -> Option<&'b AccountBlueprint> {
    b.accounts
        .values()
        .filter(|a| a.name == name && !a.deprecated)
        .max_by(|x, y| rules::version_cmp(&x.version, &y.version))
}

/// The newest published version of a product that is neither deprecated nor retired.
fn newest_published(published: &Published, product: &str) -> Option<String> {
    let (versions, deprecated) = published.get(product)?;
    versions.iter().filter(|v| !deprecated.contains(*v)).max_by(|x, y| rules::version_cmp(x, y)).cloned()
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

impl Cx<'_> {
    fn lookup_account_blueprint<'b>(
        &mut self,
        file: &str,
        r: &Spanned<String>,
        b: &'b Blueprints,
    ) -> Option<&'b AccountBlueprint> {
        let at = origin(file, r);
        let Some((n, v)) = parse_ref(&r.value) else {
            self.err(
                "bad-reference",
                &at,
                format!("blueprint '{}' is not of the form name@version", r.value),
            );
            return None;
        };
        if !b.account_names.contains(n) {
            self.err("unknown-blueprint", &at, format!("no account blueprint '{n}' in blueprints/accounts/"));
            return None;
        }
        if !b.account_versions.contains(&(n.to_string(), v.to_string())) {
            let known = group_versions(&b.account_versions).remove(n).unwrap_or_default();
            self.err(
                "unknown-version",
                &at,
                format!("account blueprint '{n}' has no version '{v}' (has: {})", known.join(", ")),
            );
            return None;
        }
        // A version that exists but failed to load was reported in its own file.
        b.accounts.get(&(n.to_string(), v.to_string()))
    }

    fn pipelines(&mut self, b: &Blueprints, published: &Published) {
        let files = self.files;
        for (file, bytes) in files.folder("catalog/pipelines/", ".yaml") {
            let Some(raw) = yaml::parse::<RawPipelineRequest>(file, bytes, &mut self.diags) else {
                continue;
            };
            let at = origin(file, &raw.name);
            if stem(file) != raw.name.value {
                self.err(
                    "name-mismatch",
                    &at,
                    format!("pipeline name '{}' must equal the file name '{}'", raw.name.value, stem(file)),
                );
                continue;
            }
            let account = raw.account.value.clone();
            if !self.desired.accounts.contains_key(&account)
                && self.files.get(&format!("catalog/accounts/{account}.yaml")).is_none()
            {
                self.warn(
                    "account-undeclared",
                    &origin(file, &raw.account),
                    format!("account '{account}' has no request in catalog/accounts/; `vend plan` checks that it exists"),
                );
            }
            let params: BTreeMap<String, (String, Origin)> =
                raw.params.iter().map(|(k, v)| (k.clone(), (v.value.as_text(), origin(file, v)))).collect();
            let bp_at = origin(file, &raw.blueprint);
            let account_at = origin(file, &raw.account);
            self.pipeline(
                b,
                published,
                &raw.blueprint.value,
                &bp_at,
                (&account, &account_at),
                &raw.name.value,
                &params,
                &at,
            );
            if let Some(p) = self.desired.pipelines.get_mut(&format!("{account}/{}", raw.name.value)) {
                p.requested_at = raw.requested_at.as_ref().map(|r| r.value.clone());
            }
        }
        let baselines = std::mem::take(&mut self.pending_baselines);
        for (account, base, params) in baselines {
            if !self.desired.accounts.contains_key(&account) {
                continue;
            }
            let account_at =
                self.desired.accounts.get(&account).map(|a| a.origin.clone()).unwrap_or_default();
            self.pipeline(
                b,
                published,
                &base.blueprint,
                &base.origin,
                (&account, &account_at),
                &base.name,
                &params,
                &base.origin,
            );
            let requested_at = self.desired.accounts.get(&account).and_then(|a| a.requested_at.clone());
            if let Some(p) = self.desired.pipelines.get_mut(&format!("{account}/{}", base.name)) {
                p.requested_at = requested_at;
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn pipeline(
        &mut self,
        b: &Blueprints,
        published: &Published,
        blueprint: &str,
        bp_at: &Origin,
        (account, account_at): (&str, &Origin),
        name: &str,
        params: &BTreeMap<String, (String, Origin)>,
        at: &Origin,
    ) {
        let Some((n, v)) = parse_ref(blueprint) else {
            self.err(
                "bad-reference",
                bp_at,
                format!("blueprint '{blueprint}' is not of the form name@version"),
            );
            return;
        };
        if !b.pipeline_names.contains(n) {
            self.err(
                "unknown-blueprint",
                bp_at,
                format!("no pipeline blueprint '{n}' in blueprints/pipelines/"),
            );
            return;
        }
        if !b.pipeline_versions.contains(&(n.to_string(), v.to_string())) {
            self.err("unknown-version", bp_at, format!("pipeline blueprint '{n}' has no version '{v}'"));
            return;
        }
        let Some(mut pv) = b.pipelines.get(&(n.to_string(), v.to_string())) else {
            return;
        };
        let mut v = v;
        let key = crate::model::Address::provisioned_pipeline(account, name);
        if self.desired.settings.upgrade
            && published.get(&pv.product).is_some_and(|(_, dep)| dep.contains(v))
            && let Some(newest) = newest_published(published, &pv.product)
            && rules::version_cmp(&newest, v).is_gt()
            && let Some(newer) = b.pipelines.get(&(n.to_string(), newest))
        {
            self.desired.upgraded.insert(key, format!("{n}@{v}"));
            pv = newer;
            v = &newer.version;
        }
        let ok_published = published.get(&pv.product).is_some_and(|(vs, _)| vs.contains(v));
        if !ok_published {
            self.err(
                "version-unpublished",
                bp_at,
                format!("{n}@{v} is not published: add it to a portfolio's versions in {PORTFOLIOS}"),
            );
            return;
        }
        let mut ok = true;
        for (k, (value, vat)) in params {
            let Some(p) = pv.parameters.get(k) else {
                self.err(
                    "unknown-param",
                    vat,
                    format!(
                        "template of {n}@{v} has no parameter '{k}' (has: {})",
                        pv.parameters.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                );
                ok = false;
                continue;
            };
            if let Err((code, msg)) = check_cfn_param(p, value) {
                self.err(code, vat, format!("parameter '{k}' {msg}"));
                ok = false;
            }
        }
        for (k, p) in &pv.parameters {
            if p.default.is_none() && !params.contains_key(k) {
                self.err(
                    "missing-param",
                    at,
                    format!("parameter '{k}' of {n}@{v} has no default and must be given"),
                );
                ok = false;
            }
        }
        if !ok {
            return;
        }
        let key = format!("{account}/{name}");
        if self.desired.pipelines.contains_key(&key) {
            self.err(
                "duplicate-pipeline",
                at,
                format!("pipeline '{name}' is requested twice for account '{account}'"),
            );
            return;
        }
        self.desired.pipelines.insert(
            key,
            DesiredPipeline {
                account: account.to_string(),
                name: name.to_string(),
                product: pv.product.clone(),
                version: v.to_string(),
                // The parameters the stack will have: the given ones, then the template's
                // defaults (CloudFormation reports defaulted parameters too).
                params: pv
                    .parameters
                    .iter()
                    .filter_map(|(k, p)| {
                        params
                            .get(k)
                            .map(|(v, _)| v.clone())
                            .or_else(|| p.default.clone())
                            .map(|v| (k.clone(), v))
                    })
                    .collect(),
                no_echo: pv.parameters.iter().filter(|(_, p)| p.no_echo).map(|(k, _)| k.clone()).collect(),
                origin: at.clone(),
                account_origin: account_at.clone(),
                requested_at: None,
            },
        );
    }

    /// Checks that need the whole workspace: share targets.
    fn shares_and_targets(&mut self) {
        let mut warnings = vec![];
        for p in self.desired.portfolios.values() {
            for s in &p.shares {
                if let ShareTarget::Ou(path) = s
                    && !self.desired.has_ou(path)
                    && !self.org_failed
                {
                    warnings.push((
                        p.share_origins.get(&s.key()).unwrap_or(&p.origin).clone(),
                        format!("portfolio '{}' is shared with '{path}', which is neither an OU in organization.yaml nor a requested account; `vend plan` checks the state", p.name),
                    ));
                }
            }
        }
        for (at, m) in warnings {
            self.warn("share-undeclared", &at, m);
        }
    }
}

fn check_cfn_param(p: &CfnParam, value: &str) -> Result<(), (&'static str, String)> {
    if p.param_type == "Number" && value.parse::<f64>().is_err() {
        return Err(("param-type", format!("must be a number, is '{value}'")));
    }
    if let Some(a) = &p.allowed
        && !a.iter().any(|x| x == value)
    {
        return Err(("param-not-allowed", format!("is '{value}'; allowed: {}", a.join(", "))));
    }
    if let Some(pat) = &p.pattern
        && let Ok(re) = Regex::new(&format!("^(?:{pat})$"))
        && !re.is_match(value)
    {
        return Err(("param-pattern", format!("'{value}' does not match AllowedPattern {pat}")));
    }
    if p.min_value.is_some() || p.max_value.is_some() {
        let n: f64 = value.parse().unwrap_or(f64::NAN);
        if n.is_nan() || p.min_value.is_some_and(|m| n < m) || p.max_value.is_some_and(|m| n > m) {
            let show = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
            return Err((
                "param-range",
                format!("is {value}; allowed {}..{}", show(p.min_value), show(p.max_value)),
            ));
        }
    }
    let len = value.chars().count() as u32;
    if p.min_length.is_some_and(|m| len < m) || p.max_length.is_some_and(|m| len > m) {
        return Err((
            "param-length",
            format!(
                "is {len} characters; allowed {}..{}",
                p.min_length.unwrap_or(0),
                p.max_length.map(|m| m.to_string()).unwrap_or_default()
            ),
        ));
    }
    Ok(())
}
