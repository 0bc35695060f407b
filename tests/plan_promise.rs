//! A plan is a promise (issue 13): seeded random sequences of everyday workspace edits, each
//! planned and — when the plan says `applyable` — applied on the embedded backend.
//!
//! The property, checked after every edit:
//! - applyable ⇒ `vend apply --auto-approve` succeeds ⇒ the re-plan is empty;
//! - not applyable ⇒ at least one error diagnostic that names a file or a change address (the
//!   edit is then undone, so the sequence goes on from a workspace that plans).
//!
//! Applies run in parallel (issue 16): at the default `--parallelism`, and every third one with
//! its steps started one at a time in a seeded random order the schedule allows
//! (`--parallelism 1 --shuffle-seed`), so a rule missing from the schedule (two steps that must
//! keep their plan order) breaks a promise here deterministically, not only by bad timing.
//!
//! The edits work on a typed model of the workspace (`World`), read from the demo's files and
//! written back as JSON (which is YAML), so every edit produces a well-formed workspace; whether
//! it is a *valid* one is for vend to say.
//!
//! Besides everyday edits, the sequences make everyday mistakes (each runs into an AWS rule) and
//! changes behind vend's back (`Drift…`: through the cloud's own API, without vend's ownership
//! tag — foreign tags, a pipeline launched by hand, a hand-made policy or OU, FullAWSAccess
//! detached), each followed by the edit that then meets a rule: these exercise the plan check
//! (`apply-would-fail`) and the planner's ownership checks rather than the loader's. One more
//! kind of change behind vend's back: account creations another tool started, still in progress
//! (up to every slot AWS allows), then new accounts requested (`CreationsElsewhere`).
//!
//! `VEND_PROMISE_SEQUENCES` (default 200, split over two tests by seed parity) and
//! `VEND_PROMISE_STEPS` (default 6) set the embedded run; `VEND_PROMISE_EMULATOR_SEQUENCES`
//! (default 20, split the same way, each half on its own emulator) and
//! `VEND_PROMISE_EMULATOR_STEPS` (default 4) the run against the emulator, whose rules are
//! implemented independently of the planner and its check (Python, tests/emulator/vend_moto, from
//! the same rule table). The long run is
//! `VEND_PROMISE_COVERAGE=1 VEND_PROMISE_SEQUENCES=2000 VEND_PROMISE_EMULATOR_SEQUENCES=200 cargo test --release --test plan_promise -- --nocapture`;
//! with `VEND_PROMISE_COVERAGE` set, each embedded half also asserts that every `reach: plan`
//! rule of the table refused at least one plan, except those the table marks `preempted` (with
//! the reason the sequences cannot run into them).
//! Each test prints its counts (sequences, applied, refused, broken), how often each diagnostic
//! code refused a plan, and the refusals per AWS rule of `src/adapter/aws_rules.yaml`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

mod common;
mod emulator_harness;
use common::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use vend::adapter::aws::AwsCloud;
use vend::adapter::aws_rules as rules;
use vend::adapter::local_cloud::LocalCloud;
use vend::model::State;
use vend::port::{Cloud, Op};

// ------------------------------------------------------------------ the workspace as data

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Unit {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    policies: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    units: BTreeMap<String, Unit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    renamed_from: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Organization {
    units: BTreeMap<String, Unit>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    root_policies: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountRequest {
    blueprint: String,
    name: String,
    email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    params: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    tags: BTreeMap<String, String>,
    /// Issue 18: Identity Center access the request adds (its blueprint's `request_access`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    access: Vec<AccessEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    requested_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    requested_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lifecycle: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessEntry {
    group: String,
    permission_set: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PipelineRequest {
    blueprint: String,
    account: String,
    name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    params: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    requested_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    requested_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

impl PipelineRequest {
    fn new(blueprint: String, account: &str, name: &str, params: BTreeMap<String, Value>) -> Self {
        PipelineRequest {
            blueprint,
            account: account.to_string(),
            name: name.to_string(),
            params,
            requested_by: None,
            requested_at: None,
            reason: None,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductListing {
    versions: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    deprecated: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    retired: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Portfolio {
    description: String,
    provider: String,
    products: BTreeMap<String, ProductListing>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    principals: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    shares: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    launch_role: Option<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Portfolios {
    portfolios: BTreeMap<String, Portfolio>,
}

/// Everything the edits change. Blueprints other than new pipeline versions are left as the demo
/// has them.
#[derive(Debug, Clone)]
struct World {
    org: Organization,
    policies: BTreeMap<String, Value>,
    accounts: BTreeMap<String, AccountRequest>,
    pipelines: BTreeMap<String, PipelineRequest>,
    portfolios: Portfolios,
    /// `catalog/vend.yaml` as text (one edit changes its template bucket).
    settings: String,
    /// `catalog/launch_roles/<role>.json`: the launch roles vend manages.
    launch_roles: BTreeMap<String, Value>,
    /// Pipeline blueprint versions on disk: product -> versions (v1, v2, …).
    version_dirs: BTreeMap<String, Vec<String>>,
    /// Counter for fresh names.
    next: usize,
}

fn yaml<T: for<'de> Deserialize<'de>>(path: &Path) -> T {
    serde_saphyr::from_str(&fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn stems(dir: &Path, ext: &str) -> Vec<(String, std::path::PathBuf)> {
    let mut out: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    out.sort();
    out
}

impl World {
    fn read(ws: &Path) -> World {
        let c = ws.join("catalog");
        let mut version_dirs = BTreeMap::new();
        for e in fs::read_dir(ws.join("blueprints/pipelines")).unwrap() {
            let p = e.unwrap().path();
            let mut vs: Vec<String> = fs::read_dir(&p)
                .unwrap()
                .map(|v| v.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            vs.sort_by_key(|v| v.trim_start_matches('v').parse::<u32>().unwrap_or(0));
            version_dirs.insert(p.file_name().unwrap().to_string_lossy().into_owned(), vs);
        }
        World {
            org: yaml(&c.join("organization.yaml")),
            policies: stems(&c.join("policies"), "json")
                .into_iter()
                .map(|(n, p)| (n, serde_json::from_slice(&fs::read(p).unwrap()).unwrap()))
                .collect(),
            accounts: stems(&c.join("accounts"), "yaml").into_iter().map(|(n, p)| (n, yaml(&p))).collect(),
            pipelines: stems(&c.join("pipelines"), "yaml").into_iter().map(|(n, p)| (n, yaml(&p))).collect(),
            portfolios: yaml(&c.join("portfolios.yaml")),
            settings: fs::read_to_string(c.join("vend.yaml")).unwrap(),
            launch_roles: stems(&c.join("launch_roles"), "json")
                .into_iter()
                .map(|(n, p)| (n, serde_json::from_slice(&fs::read(p).unwrap()).unwrap()))
                .collect(),
            version_dirs,
            next: 0,
        }
    }

    /// Write the catalog files from the model (JSON is YAML); version folders are written by the
    /// edit that adds them.
    fn write(&self, ws: &Path) {
        let c = ws.join("catalog");
        for dir in ["policies", "accounts", "pipelines", "launch_roles"] {
            let _ = fs::remove_dir_all(c.join(dir));
            fs::create_dir_all(c.join(dir)).unwrap();
        }
        fs::write(c.join("organization.yaml"), pretty(&self.org)).unwrap();
        fs::write(c.join("portfolios.yaml"), pretty(&self.portfolios)).unwrap();
        fs::write(c.join("vend.yaml"), &self.settings).unwrap();
        for (n, p) in &self.policies {
            fs::write(c.join(format!("policies/{n}.json")), serde_json::to_string_pretty(p).unwrap())
                .unwrap();
        }
        for (n, r) in &self.launch_roles {
            fs::write(c.join(format!("launch_roles/{n}.json")), pretty(r)).unwrap();
        }
        for (n, a) in &self.accounts {
            fs::write(c.join(format!("accounts/{n}.yaml")), pretty(a)).unwrap();
        }
        for (n, p) in &self.pipelines {
            fs::write(c.join(format!("pipelines/{n}.yaml")), pretty(p)).unwrap();
        }
    }

    /// Every OU path of the tree, parents first.
    fn ou_paths(&self) -> Vec<String> {
        fn walk(prefix: &str, units: &BTreeMap<String, Unit>, out: &mut Vec<String>) {
            for (name, u) in units {
                let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
                out.push(path.clone());
                walk(&path, &u.units, out);
            }
        }
        let mut out = vec![];
        walk("", &self.org.units, &mut out);
        out
    }

    fn unit_mut(&mut self, path: &str) -> Option<&mut Unit> {
        let mut parts = path.split('/');
        let mut unit = self.org.units.get_mut(parts.next()?)?;
        for p in parts {
            unit = unit.units.get_mut(p)?;
        }
        Some(unit)
    }

    /// The children map an OU path would be inserted into (`None`: the parent is missing).
    fn children_mut(&mut self, parent: &str) -> Option<&mut BTreeMap<String, Unit>> {
        if parent.is_empty() {
            Some(&mut self.org.units)
        } else {
            self.unit_mut(parent).map(|u| &mut u.units)
        }
    }

    fn remove_unit(&mut self, path: &str) -> Option<Unit> {
        let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
        self.children_mut(parent)?.remove(name)
    }

    fn fresh(&mut self, what: &str) -> String {
        self.next += 1;
        format!("pp-{what}-{}", self.next)
    }

    fn portfolio(&mut self) -> &mut Portfolio {
        self.portfolios.portfolios.values_mut().next().unwrap()
    }

    fn product(&mut self) -> (String, &mut ProductListing) {
        let p = self.portfolio();
        let (name, listing) = p.products.iter_mut().next().unwrap();
        (name.clone(), listing)
    }
}

fn pretty<T: Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap() + "\n"
}

// ------------------------------------------------------------------ the edits

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Edit {
    NewAccount,
    NewPipeline,
    MoveAccount,
    RetagAccount,
    CloseAccount,
    RemovePipeline,
    UpgradePipeline,
    AddOu,
    RemoveOu,
    RenameOu,
    AddShare,
    RemoveShare,
    AttachScp,
    DetachScp,
    ChangeScp,
    NewScp,
    DeleteScp,
    AddVersion,
    DeprecateVersion,
    RetireVersion,
    LaunchRole,
    // Everyday mistakes that run into an AWS limit or rule (each should be refused).
    DeepOu,
    SixthScp,
    BigScp,
    ReusedEmail,
    LongName,
    ManyPatterns,
    BadLaunchRole,
    ManyTags,
    BadEmail,
    BadAccountTag,
    BadPortfolioTag,
    LongScpName,
    BadScpJson,
    LongPortfolioName,
    LongProductName,
    MissingTemplate,
    NoVersions,
    BadPrincipal,
    LongPipelineName,
    BadParam,
    ShareWithManagement,
    CloseManagement,
    // Changes made behind vend's back (out of band, through the cloud's API without vend's
    // ownership tag), each followed by the everyday edit that then meets an AWS rule: these are
    // what the plan check (`apply-would-fail`) and the planner's ownership checks are for.
    DriftAccountTags,
    DriftPortfolioTags,
    DriftPipeline,
    DriftPolicy,
    DriftOu,
    DriftFullAccess,
    // The launch path (issue 14) undone by hand, then a new pipeline requested: the plan must
    // put it back before the launch.
    DriftSharePrincipals,
    DriftVendPrincipal,
    // A pipeline in an account the portfolio reaches only through an account share: vend's role
    // there has no access (pattern principals do not travel with account shares).
    LaunchThroughAccountShare,
    // A template bucket name S3 refuses (upper case, underscore).
    BadBucketName,
    // Launch roles vend manages (issue 14): a changed policy, a new managed role replacing the
    // old one (created where needed, the old one deleted), a role deleted by hand in an account
    // that then gets a new pipeline, a policy IAM would refuse.
    LaunchRolePolicy,
    ManagedLaunchRole,
    DriftLaunchRole,
    BadLaunchRolePolicy,
    // Account creations another tool started, still in progress (up to every slot AWS has),
    // then new accounts requested: the plan stays applyable and the apply waits for the slots.
    CreationsElsewhere,
}

const EDITS: [Edit; 58] = [
    Edit::NewAccount,
    Edit::NewPipeline,
    Edit::MoveAccount,
    Edit::RetagAccount,
    Edit::CloseAccount,
    Edit::RemovePipeline,
    Edit::UpgradePipeline,
    Edit::AddOu,
    Edit::RemoveOu,
    Edit::RenameOu,
    Edit::AddShare,
    Edit::RemoveShare,
    Edit::AttachScp,
    Edit::DetachScp,
    Edit::ChangeScp,
    Edit::NewScp,
    Edit::DeleteScp,
    Edit::AddVersion,
    Edit::DeprecateVersion,
    Edit::RetireVersion,
    Edit::LaunchRole,
    Edit::DeepOu,
    Edit::SixthScp,
    Edit::BigScp,
    Edit::ReusedEmail,
    Edit::LongName,
    Edit::ManyPatterns,
    Edit::BadLaunchRole,
    Edit::ManyTags,
    Edit::BadEmail,
    Edit::BadAccountTag,
    Edit::BadPortfolioTag,
    Edit::LongScpName,
    Edit::BadScpJson,
    Edit::LongPortfolioName,
    Edit::LongProductName,
    Edit::MissingTemplate,
    Edit::NoVersions,
    Edit::BadPrincipal,
    Edit::LongPipelineName,
    Edit::BadParam,
    Edit::ShareWithManagement,
    Edit::CloseManagement,
    Edit::DriftAccountTags,
    Edit::DriftPortfolioTags,
    Edit::DriftPipeline,
    Edit::DriftPolicy,
    Edit::DriftOu,
    Edit::DriftFullAccess,
    Edit::DriftSharePrincipals,
    Edit::DriftVendPrincipal,
    Edit::LaunchThroughAccountShare,
    Edit::BadBucketName,
    Edit::LaunchRolePolicy,
    Edit::ManagedLaunchRole,
    Edit::DriftLaunchRole,
    Edit::BadLaunchRolePolicy,
    Edit::CreationsElsewhere,
];

fn pick<'a, T>(rng: &mut fastrand::Rng, items: &'a [T]) -> Option<&'a T> {
    if items.is_empty() { None } else { Some(&items[rng.usize(..items.len())]) }
}

/// Apply one edit to the model (and, for a new version, to the blueprints on disk). Returns a
/// description, or `None` when the edit has nothing to work on.
fn edit(w: &mut World, backend: &dyn Backend, e: Edit, rng: &mut fastrand::Rng) -> Option<String> {
    let ws = backend.ws();
    let open_accounts: Vec<String> =
        w.accounts.iter().filter(|(_, a)| a.lifecycle.is_none()).map(|(n, _)| n.clone()).collect();
    let ous = w.ou_paths();
    let policies: Vec<String> = w.policies.keys().cloned().collect();
    Some(match e {
        Edit::NewAccount => {
            let name = w.fresh("acct");
            let (blueprint, params) = if rng.bool() {
                let env = *pick(rng, &["dev", "staging", "prod"])?;
                // workload@v3 (issue 18) gives '{owner}-admins' and platform-readonly access and a
                // security contact; the demo's Identity Center has the checkout team's groups.
                let v = if rng.bool() { "workload@v3" } else { "workload@v2" };
                (v, BTreeMap::from([("environment".to_string(), env.to_string())]))
            } else {
                ("sandbox@v1", BTreeMap::new())
            };
            let tags = BTreeMap::from([("cost-center".to_string(), format!("{}", 1000 + rng.u32(..9000)))]);
            let v3 = blueprint == "workload@v3";
            let access = if v3 && rng.bool() {
                let permission_set = *pick(rng, &["PowerUserAccess", "ReadOnlyAccess"])?;
                vec![AccessEntry {
                    group: "team-checkout-developers".into(),
                    permission_set: permission_set.into(),
                }]
            } else {
                vec![]
            };
            w.accounts.insert(
                name.clone(),
                AccountRequest {
                    blueprint: blueprint.into(),
                    name: name.clone(),
                    email: format!("aws+{name}@example.com"),
                    owner: Some(if v3 { "team-checkout" } else { "team-promise" }.into()),
                    params,
                    tags,
                    access,
                    requested_by: None,
                    requested_at: None,
                    reason: None,
                    lifecycle: None,
                },
            );
            format!("new account {name} ({blueprint})")
        }
        Edit::NewPipeline => {
            let account = pick(rng, &open_accounts)?.clone();
            let name = w.fresh("pipe");
            let (product, listing) = w.product();
            let version = pick(rng, &listing.versions)?.clone();
            let params = BTreeMap::from([("RepositoryName".to_string(), Value::String(name.clone()))]);
            let request = PipelineRequest::new(format!("{product}@{version}"), &account, &name, params);
            w.pipelines.insert(name.clone(), request);
            format!("new pipeline {name} ({product}@{version}) in {account}")
        }
        Edit::MoveAccount => {
            let movable: Vec<String> = open_accounts
                .iter()
                .filter(|n| w.accounts[*n].params.contains_key("environment"))
                .cloned()
                .collect();
            let name = pick(rng, &movable)?.clone();
            let env = *pick(rng, &["dev", "staging", "prod"])?;
            w.accounts.get_mut(&name)?.params.insert("environment".into(), env.into());
            format!("move {name} to environment {env}")
        }
        Edit::RetagAccount => {
            let name = pick(rng, &open_accounts)?.clone();
            let value = format!("{}", 1000 + rng.u32(..9000));
            w.accounts.get_mut(&name)?.tags.insert("cost-center".into(), value.clone());
            format!("retag {name} cost-center={value}")
        }
        Edit::CloseAccount => {
            let name = pick(rng, &open_accounts)?.clone();
            w.accounts.get_mut(&name)?.lifecycle = Some("close".into());
            format!("close {name}")
        }
        Edit::RemovePipeline => {
            let names: Vec<String> = w.pipelines.keys().cloned().collect();
            let name = pick(rng, &names)?.clone();
            w.pipelines.remove(&name);
            format!("remove pipeline request {name}")
        }
        Edit::UpgradePipeline => {
            let names: Vec<String> = w.pipelines.keys().cloned().collect();
            let name = pick(rng, &names)?.clone();
            let (product, listing) = w.product();
            let version = pick(rng, &listing.versions)?.clone();
            w.pipelines.get_mut(&name)?.blueprint = format!("{product}@{version}");
            format!("pipeline {name} to {product}@{version}")
        }
        Edit::AddOu => {
            let mut parents = vec![String::new()];
            parents.extend(ous.iter().cloned());
            let parent = pick(rng, &parents)?.clone();
            let name = w.fresh("ou");
            let mut unit = Unit::default();
            if rng.bool() {
                unit.policies.push(pick(rng, &policies)?.clone());
            }
            w.children_mut(&parent)?.insert(name.clone(), unit);
            format!("add OU {name} under '{parent}'")
        }
        Edit::RemoveOu => {
            let path = pick(rng, &ous)?.clone();
            w.remove_unit(&path)?;
            format!("remove OU {path}")
        }
        Edit::RenameOu => {
            let path = pick(rng, &ous)?.clone();
            let mut unit = w.remove_unit(&path)?;
            let (parent, old) = path.rsplit_once('/').unwrap_or(("", &path));
            let (parent, old) = (parent.to_string(), old.to_string());
            let name = w.fresh("renamed");
            // Usually in place (`renamed_from`, one UpdateOrganizationalUnit); sometimes as a
            // plain delete + create of the subtree.
            let in_place = rng.u8(..4) != 0;
            unit.renamed_from = in_place.then(|| old.clone());
            w.children_mut(&parent)?.insert(name.clone(), unit);
            format!("rename OU {path} to {name}{}", if in_place { " (renamed_from)" } else { "" })
        }
        Edit::AddShare => {
            let mut targets: Vec<String> = ous.clone();
            targets.push("organization".into());
            targets.extend(open_accounts.iter().cloned());
            let target = pick(rng, &targets)?.clone();
            let p = w.portfolio();
            if p.shares.contains(&target) {
                return None;
            }
            p.shares.push(target.clone());
            format!("share the portfolio with {target}")
        }
        Edit::RemoveShare => {
            let shares = w.portfolio().shares.clone();
            let target = pick(rng, &shares)?.clone();
            w.portfolio().shares.retain(|s| *s != target);
            format!("unshare the portfolio from {target}")
        }
        Edit::AttachScp => {
            let mut targets = vec![String::new()];
            targets.extend(ous.iter().cloned());
            let target = pick(rng, &targets)?.clone();
            let policy = pick(rng, &policies)?.clone();
            let list =
                if target.is_empty() { &mut w.org.root_policies } else { &mut w.unit_mut(&target)?.policies };
            if list.contains(&policy) {
                return None;
            }
            list.push(policy.clone());
            format!("attach {policy} to '{target}'")
        }
        Edit::DetachScp => {
            let mut targets = vec![String::new()];
            targets.extend(ous.iter().cloned());
            let target = pick(rng, &targets)?.clone();
            let list =
                if target.is_empty() { &mut w.org.root_policies } else { &mut w.unit_mut(&target)?.policies };
            let policy = pick(rng, list)?.clone();
            list.retain(|p| *p != policy);
            format!("detach {policy} from '{target}'")
        }
        Edit::ChangeScp => {
            let policy = pick(rng, &policies)?.clone();
            let sid = w.fresh("Sid").replace('-', "");
            let doc = w.policies.get_mut(&policy)?;
            doc["Statement"].as_array_mut()?.push(serde_json::json!({
                "Sid": sid, "Effect": "Deny", "Action": "ec2:DeleteVpc", "Resource": "*"
            }));
            format!("edit policy {policy}")
        }
        Edit::NewScp => {
            let name = w.fresh("scp");
            w.policies.insert(
                name.clone(),
                serde_json::json!({ "Version": "2012-10-17", "Statement": [
                    { "Sid": "DenyLeave", "Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*" }
                ]}),
            );
            let target = pick(rng, &ous)?.clone();
            w.unit_mut(&target)?.policies.push(name.clone());
            format!("new policy {name} on {target}")
        }
        Edit::DeleteScp => {
            let policy = pick(rng, &policies)?.clone();
            w.policies.remove(&policy);
            // Usually also take it out of every list (a clean delete); sometimes leave a dangling
            // reference for the loader to catch.
            if rng.u8(..4) != 0 {
                w.org.root_policies.retain(|p| *p != policy);
                for path in &ous {
                    if let Some(u) = w.unit_mut(path) {
                        u.policies.retain(|p| *p != policy);
                    }
                }
            }
            format!("delete policy {policy}")
        }
        Edit::AddVersion => {
            let (product, _) = w.product();
            let next = add_version(w, ws, &product)?;
            format!("add version {product}@{next}")
        }
        Edit::DeprecateVersion => {
            let (product, listing) = w.product();
            let candidates: Vec<String> =
                listing.versions.iter().filter(|v| !listing.deprecated.contains(v)).cloned().collect();
            let v = pick(rng, &candidates)?.clone();
            w.product().1.deprecated.push(v.clone());
            format!("deprecate {product}@{v}")
        }
        Edit::RetireVersion => {
            let (product, listing) = w.product();
            let candidates: Vec<String> =
                listing.versions.iter().filter(|v| !listing.retired.contains(v)).cloned().collect();
            let v = pick(rng, &candidates)?.clone();
            w.product().1.retired.push(v.clone());
            format!("retire {product}@{v}")
        }
        Edit::LaunchRole => {
            let role = w.fresh("LaunchRole").replace('-', "");
            w.portfolio().launch_role = Some(role.clone());
            format!("launch role {role}")
        }
        Edit::DeepOu => {
            // OUs nest at most five levels below the root: grow a chain to six.
            let deepest = ous.iter().max_by_key(|p| p.matches('/').count())?.clone();
            let mut path = deepest;
            while path.matches('/').count() < 5 {
                let name = w.fresh("deep");
                w.unit_mut(&path)?.units.insert(name.clone(), Unit::default());
                path = format!("{path}/{name}");
            }
            format!("nest OUs down to {path}")
        }
        Edit::SixthScp => {
            // At most five SCPs directly on a target (FullAWSAccess counts).
            let target = pick(rng, &ous)?.clone();
            let mut added = vec![];
            while w.unit_mut(&target)?.policies.len() < 5 {
                let name = w.fresh("scp");
                w.policies.insert(
                    name.clone(),
                    serde_json::json!({ "Version": "2012-10-17", "Statement": [
                        { "Sid": "DenyLeave", "Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*" }
                    ]}),
                );
                w.unit_mut(&target)?.policies.push(name.clone());
                added.push(name);
            }
            format!("five SCPs of its own on {target} (+ FullAWSAccess): {added:?}")
        }
        Edit::BigScp => {
            let policy = pick(rng, &policies)?.clone();
            let actions: Vec<String> = (0..260).map(|i| format!("ec2:DeleteSomething{i:03}")).collect();
            let doc = w.policies.get_mut(&policy)?;
            doc["Statement"].as_array_mut()?.push(serde_json::json!({
                "Sid": "Big", "Effect": "Deny", "Action": actions, "Resource": "*"
            }));
            format!("grow policy {policy} past 5,120 characters")
        }
        Edit::ReusedEmail => {
            let other = pick(rng, &open_accounts)?.clone();
            let email = w.accounts.get(&other)?.email.clone();
            let name = w.fresh("twin");
            let mut request = w.accounts.get(&other)?.clone();
            request.name = name.clone();
            request.email = email;
            request.lifecycle = None;
            w.accounts.insert(name.clone(), request);
            format!("new account {name} with the e-mail of {other}")
        }
        Edit::LongName => {
            let name = format!("{}-{}", w.fresh("long"), "x".repeat(130));
            if rng.bool() {
                w.org.units.insert(name.chars().take(129).collect(), Unit::default());
                "an OU name of 129 characters".to_string()
            } else {
                let name: String = name.chars().take(51).collect();
                let mut request = w.accounts.values().next()?.clone();
                request.name = name.clone();
                request.email = format!("aws+{}@example.com", w.fresh("long"));
                request.lifecycle = None;
                w.accounts.insert(name, request);
                "an account name of 51 characters".to_string()
            }
        }
        Edit::ManyPatterns => {
            let p = w.portfolio();
            while p.principals.iter().filter(|a| a.starts_with("arn:aws:iam:::")).count() < 11 {
                let n = p.principals.len();
                p.principals.push(format!("arn:aws:iam:::role/Team{n}*"));
            }
            "eleven IAM_PATTERN principals on the portfolio".to_string()
        }
        Edit::BadLaunchRole => {
            w.portfolio().launch_role = Some("Launch Role!".into());
            "launch role 'Launch Role!'".to_string()
        }
        Edit::ManyTags => {
            let name = pick(rng, &open_accounts)?.clone();
            let request = w.accounts.get_mut(&name)?;
            for i in 0..51 {
                request.tags.insert(format!("label-{i:02}"), "x".into());
            }
            format!("51 tags on account {name}")
        }
        Edit::BadEmail => {
            let name = w.fresh("mail");
            let mut request = w.accounts.values().find(|a| a.lifecycle.is_none())?.clone();
            request.name = name.clone();
            request.email = format!("{name}@localhost");
            w.accounts.insert(name.clone(), request);
            format!("new account {name} with e-mail {name}@localhost (no dotted domain)")
        }
        Edit::BadAccountTag => {
            let name = pick(rng, &open_accounts)?.clone();
            w.accounts.get_mut(&name)?.tags.insert("aws:team".into(), "payments".into());
            format!("tag aws:team on account {name} (the aws: prefix is AWS's)")
        }
        Edit::BadPortfolioTag => {
            w.portfolio().tags.insert("aws:owner".into(), "platform".into());
            "tag aws:owner on the portfolio".to_string()
        }
        Edit::LongScpName => {
            let name = format!("{}-{}", w.fresh("scp"), "x".repeat(130));
            w.policies.insert(
                name,
                serde_json::json!({ "Version": "2012-10-17", "Statement": [
                    { "Sid": "DenyLeave", "Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*" }
                ]}),
            );
            "a policy file name of more than 128 characters".to_string()
        }
        Edit::BadScpJson => {
            let policy = pick(rng, &policies)?.clone();
            w.policies.get_mut(&policy)?["Statement"].as_array_mut()?.push(serde_json::json!({
                "Sid": "Maybe", "Effect": "Maybe", "Action": "ec2:DeleteVpc", "Resource": "*"
            }));
            format!("policy {policy} with \"Effect\": \"Maybe\"")
        }
        Edit::LongPortfolioName => {
            let (old, p) = w.portfolios.portfolios.pop_first()?;
            w.portfolios.portfolios.insert("p".repeat(101), p);
            format!("rename portfolio {old} to 101 characters")
        }
        Edit::LongProductName | Edit::MissingTemplate => {
            let (product, _) = w.product();
            let next = add_version(w, ws, &product)?;
            let dir = ws.join("blueprints/pipelines").join(&product).join(&next);
            if e == Edit::MissingTemplate {
                fs::remove_file(dir.join("template.yaml")).ok()?;
                format!("add version {product}@{next} without its template")
            } else {
                let blueprint = dir.join("blueprint.yaml");
                let text = fs::read_to_string(&blueprint).ok()?;
                let long = "p".repeat(8192);
                fs::write(
                    &blueprint,
                    text.replace(&format!("product: {product}"), &format!("product: {long}")),
                )
                .ok()?;
                format!("add version {product}@{next} naming a product of 8,192 characters")
            }
        }
        Edit::NoVersions => {
            let (product, listing) = w.product();
            listing.versions.clear();
            listing.deprecated.clear();
            listing.retired.clear();
            format!("list no version of {product}")
        }
        Edit::BadPrincipal => {
            w.portfolio().principals.push("arn:aws:iam::role/PlatformAdmin".into());
            "principal arn:aws:iam::role/PlatformAdmin (neither a full ARN nor a pattern)".to_string()
        }
        Edit::LongPipelineName | Edit::BadParam => {
            let account = pick(rng, &open_accounts)?.clone();
            let name = w.fresh("pipe");
            let (product, listing) = w.product();
            let version = listing.versions.last()?.clone();
            let mut params = BTreeMap::from([("RepositoryName".to_string(), Value::String(name.clone()))]);
            let name = if e == Edit::BadParam {
                params.insert("DeployRegion".into(), Value::String("eu-west-1".into()));
                name
            } else {
                format!("{name}-{}", "x".repeat(130))
            };
            let request = PipelineRequest::new(format!("{product}@{version}"), &account, &name, params);
            w.pipelines.insert(name.clone(), request);
            if e == Edit::BadParam {
                format!("new pipeline {name} with a parameter its template does not declare")
            } else {
                format!("new pipeline in {account} named with {} characters", name.len())
            }
        }
        Edit::ShareWithManagement => {
            // By the management account's name as the organization has it (the emulator's
            // differs from the demo's).
            let state = backend.cloud().read_state().ok()?;
            let mgmt = state.organization.management_account_id.clone();
            let name = state.accounts.iter().find(|a| a.id == mgmt)?.name.clone();
            let p = w.portfolio();
            if p.shares.contains(&name) {
                return None;
            }
            p.shares.push(name.clone());
            format!("share the portfolio with the management account {name} (the portfolio's own)")
        }
        Edit::CloseManagement => {
            let state = backend.cloud().read_state().ok()?;
            let mgmt = state.organization.management_account_id.clone();
            let acct = state.accounts.iter().find(|a| a.id == mgmt)?;
            let mut request = w.accounts.values().next()?.clone();
            request.name = acct.name.clone();
            request.email = acct.email.clone();
            request.owner = None;
            request.params.retain(|_, _| false);
            request.blueprint = "sandbox@v1".into();
            request.lifecycle = Some("close".into());
            w.accounts.insert(acct.name.clone(), request);
            format!("close the management account {}", acct.name)
        }
        Edit::DriftAccountTags => {
            // Foreign tags fill the account up to AWS's 50; the edit then adds one more.
            let name = pick(rng, &open_accounts)?.clone();
            let mut cloud = backend.cloud();
            let state = cloud.read_state().ok()?;
            let acct = state.accounts.iter().find(|a| a.name == name && a.state == "ACTIVE")?;
            let tags: BTreeMap<String, String> = (0..50usize.saturating_sub(acct.tags.len()))
                .map(|i| (format!("finance-{i:02}"), "tagged by hand".to_string()))
                .collect();
            cloud.call(&Op::TagResource { resource_id: acct.id.clone(), tags }).ok()?;
            let key = w.fresh("label");
            w.accounts.get_mut(&name)?.tags.insert(key.clone(), "x".into());
            format!("account {name} tagged by hand up to 50 tags, then tag {key} requested")
        }
        Edit::DriftPortfolioTags => {
            let (pname, _) = w.portfolios.portfolios.first_key_value()?;
            let pname = pname.clone();
            let mut cloud = backend.cloud();
            let state = cloud.read_state().ok()?;
            let p = state.portfolios.iter().find(|p| p.name == pname)?;
            let mut tags = p.tags.clone();
            for i in 0..20 {
                if tags.len() >= 20 {
                    break;
                }
                tags.insert(format!("finance-{i:02}"), "tagged by hand".into());
            }
            cloud
                .call(&Op::UpdatePortfolio {
                    portfolio_id: p.id.clone(),
                    description: p.description.clone(),
                    provider: p.provider.clone(),
                    tags,
                })
                .ok()?;
            let key = w.fresh("label");
            w.portfolio().tags.insert(key.clone(), "x".into());
            format!("portfolio {pname} tagged by hand up to 20 tags, then tag {key} requested")
        }
        Edit::DriftPipeline => {
            // Someone launches a product by hand in an account that runs a vend pipeline (so
            // the launch path is there); the next request uses the same name.
            let names: Vec<String> = w.pipelines.keys().cloned().collect();
            let existing = w.pipelines.get(pick(rng, &names)?)?.clone();
            let (product, version) = existing.blueprint.split_once('@')?;
            let mut cloud = backend.cloud();
            let state = cloud.read_state().ok()?;
            let account =
                state.accounts.iter().find(|a| a.name == existing.account && a.state == "ACTIVE")?;
            let prod = state.products.iter().find(|p| p.name == product)?;
            let artifact = prod.versions.iter().find(|v| v.name == version && v.active)?;
            let name = w.fresh("byhand");
            let out = cloud
                .call(&Op::ProvisionProduct {
                    account_id: account.id.clone(),
                    name: name.clone(),
                    product_id: prod.id.clone(),
                    artifact_id: artifact.id.clone(),
                    params: BTreeMap::from([("RepositoryName".to_string(), name.clone())]),
                    tags: BTreeMap::new(),
                    token: name.clone(),
                })
                .ok()?;
            let record_id = out.id?;
            for _ in 0..500 {
                let r = cloud.call(&Op::DescribeRecord { record_id: record_id.clone() }).ok()?;
                if r.status.as_deref() != Some("IN_PROGRESS") {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            let mut request = existing.clone();
            request.name = name.clone();
            request.params.insert("RepositoryName".into(), Value::String(name.clone()));
            w.pipelines.insert(name.clone(), request);
            format!(
                "pipeline {name} launched by hand in {}, then requested under that name",
                existing.account
            )
        }
        Edit::DriftPolicy => {
            let name = w.fresh("scp");
            let doc = serde_json::json!({ "Version": "2012-10-17", "Statement": [
                { "Sid": "DenyLeave", "Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*" }
            ]});
            backend
                .cloud()
                .call(&Op::CreatePolicy {
                    name: name.clone(),
                    content: doc.to_string(),
                    tags: BTreeMap::new(),
                })
                .ok()?;
            let target = pick(rng, &ous)?.clone();
            w.policies.insert(name.clone(), doc);
            w.unit_mut(&target)?.policies.push(name.clone());
            format!("policy {name} created by hand, then requested on {target}")
        }
        Edit::DriftOu => {
            // Someone creates an OU by hand; an in-place rename then wants its name.
            let path = pick(rng, &ous)?.clone();
            let (parent, old) = path.rsplit_once('/').unwrap_or(("", &path));
            let (parent, old) = (parent.to_string(), old.to_string());
            let mut cloud = backend.cloud();
            let state = cloud.read_state().ok()?;
            let parent_id = ou_id(&state, &parent)?;
            let name = w.fresh("byhand");
            cloud
                .call(&Op::CreateOrganizationalUnit { parent_id, name: name.clone(), tags: BTreeMap::new() })
                .ok()?;
            let mut unit = w.remove_unit(&path)?;
            unit.renamed_from = Some(old);
            w.children_mut(&parent)?.insert(name.clone(), unit);
            format!("OU {name} created by hand next to {path}, then {path} renamed to it")
        }
        Edit::DriftFullAccess => {
            // Someone detaches FullAWSAccess from an OU that has an SCP of its own; the edit then
            // detaches that one too, which would leave the OU without any.
            let with_own: Vec<String> = ous
                .iter()
                .filter(|p| w.unit_mut(p).is_some_and(|u| u.policies.len() == 1))
                .cloned()
                .collect();
            let path = pick(rng, &with_own)?.clone();
            let mut cloud = backend.cloud();
            let state = cloud.read_state().ok()?;
            let target_id = ou_id(&state, &path)?;
            let full = state.policies.iter().find(|p| p.aws_managed && p.name == "FullAWSAccess")?;
            cloud.call(&Op::DetachPolicy { policy_id: full.id.clone(), target_id }).ok()?;
            let policy = w.unit_mut(&path)?.policies.pop()?;
            format!("FullAWSAccess detached by hand from {path}, then {policy} detached from it")
        }
        Edit::LaunchRolePolicy => {
            let role = w.portfolio().launch_role.clone()?;
            let doc = w.launch_roles.get_mut(&role)?;
            let sid = format!("Extra{}", doc["Statement"].as_array()?.len());
            doc["Statement"].as_array_mut()?.push(serde_json::json!({
                "Sid": sid, "Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"
            }));
            format!("launch role {role}'s policy gains statement {sid}")
        }
        Edit::ManagedLaunchRole => {
            let role = w.fresh("Launch").replace('-', "");
            let policy = w.launch_roles.values().next().cloned().unwrap_or_else(|| {
                serde_json::json!({ "Version": "2012-10-17", "Statement": [
                    { "Effect": "Allow", "Action": "cloudformation:*", "Resource": "*" }
                ]})
            });
            let old = w.portfolio().launch_role.replace(role.clone());
            if let Some(old) = old {
                w.launch_roles.remove(&old);
            }
            w.launch_roles.insert(role.clone(), policy);
            format!("launch role {role}, managed by vend, replaces the old one")
        }
        Edit::DriftLaunchRole => {
            // Someone deletes vend's launch role in an account with a pipeline; a new pipeline
            // is requested there.
            let mut cloud = backend.cloud();
            let state = cloud.read_state().ok()?;
            let roles: Vec<vend::model::LaunchRole> = state
                .launch_path
                .as_ref()?
                .roles
                .iter()
                .filter(|r| r.account_id != state.organization.management_account_id)
                .cloned()
                .collect();
            let r = pick(rng, &roles)?;
            let account = state.accounts.iter().find(|a| a.id == r.account_id)?.name.clone();
            let names: Vec<String> =
                w.pipelines.iter().filter(|(_, p)| p.account == account).map(|(n, _)| n.clone()).collect();
            let request = w.pipelines.get(pick(rng, &names)?)?.clone();
            if !r.policy.is_empty() {
                cloud
                    .call(&Op::DeleteRolePolicy {
                        account_id: r.account_id.clone(),
                        name: r.name.clone(),
                        policy_name: vend::model::LAUNCH_ROLE_POLICY.into(),
                    })
                    .ok()?;
            }
            cloud.call(&Op::DeleteRole { account_id: r.account_id.clone(), name: r.name.clone() }).ok()?;
            let name = copy_of(w, request);
            format!(
                "launch role {} deleted by hand in {account}, then pipeline {name} requested there",
                r.name
            )
        }
        Edit::BadLaunchRolePolicy => {
            let role = w.portfolio().launch_role.clone()?;
            let doc = w.launch_roles.get_mut(&role)?;
            doc["Statement"].as_array_mut()?.push(serde_json::json!({
                "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"
            }));
            format!("launch role {role}'s policy names a principal")
        }
        Edit::CreationsElsewhere => {
            let limit = rules::limit(rules::CONCURRENT_ACCOUNT_CREATIONS, 5);
            let n = 1 + rng.u64(..limit);
            let mut cloud = backend.cloud();
            for _ in 0..n {
                let name = w.fresh("elsewhere");
                cloud
                    .call(&Op::CreateAccount {
                        name: name.clone(),
                        email: format!("aws+{name}@example.com"),
                        tags: BTreeMap::new(),
                    })
                    .ok()?;
            }
            drop(cloud);
            let first = edit(w, backend, Edit::NewAccount, rng)?;
            let second = edit(w, backend, Edit::NewAccount, rng)?;
            format!("{n} account creation(s) started elsewhere, in progress; then {first}; {second}")
        }
        Edit::BadBucketName => {
            let line = w.settings.lines().find(|l| l.starts_with("template_bucket:"))?.to_string();
            w.settings = w.settings.replace(&line, "template_bucket: Vend_Templates-{management}");
            "template_bucket renamed to Vend_Templates-{management}".to_string()
        }
        Edit::LaunchThroughAccountShare => {
            // The Security OU is never shared: its accounts are reached only by an account share.
            let security: Vec<String> = open_accounts
                .iter()
                .filter(|n| w.accounts.get(*n).is_some_and(|a| a.blueprint.starts_with("security@")))
                .cloned()
                .collect();
            let account = pick(rng, &security)?.clone();
            if !w.portfolio().shares.contains(&account) {
                w.portfolio().shares.push(account.clone());
            }
            let name = copy_pipeline(w, rng)?;
            w.pipelines.get_mut(&name)?.account = account.clone();
            format!("portfolio shared with account {account}, then pipeline {name} requested there")
        }
        Edit::DriftSharePrincipals => {
            // Someone turns principal sharing off on a share; the next pipeline needs it.
            let (pname, _) = w.portfolios.portfolios.first_key_value()?;
            let pname = pname.clone();
            let mut cloud = backend.cloud();
            let state = cloud.read_state().ok()?;
            let p = state.portfolios.iter().find(|p| p.name == pname)?;
            let on: Vec<&vend::model::Share> = p.shares.iter().filter(|s| s.share_principals).collect();
            let s = *pick(rng, &on)?;
            let out = cloud
                .call(&Op::UpdatePortfolioShare {
                    portfolio_id: p.id.clone(),
                    share_type: s.share_type.clone(),
                    value: s.value.clone(),
                    share_principals: false,
                })
                .ok()?;
            cloud.call(&Op::DescribePortfolioShareStatus { token: out.id? }).ok()?;
            let name = copy_pipeline(w, rng)?;
            format!(
                "principal sharing turned off by hand on {pname}'s share with {}, then pipeline {name} requested",
                s.value
            )
        }
        Edit::DriftVendPrincipal => {
            // Someone removes vend's own role pattern from the portfolio; the next pipeline needs it.
            let (pname, _) = w.portfolios.portfolios.first_key_value()?;
            let pname = pname.clone();
            let mut cloud = backend.cloud();
            let state = cloud.read_state().ok()?;
            let p = state.portfolios.iter().find(|p| p.name == pname)?;
            let arn = format!("arn:aws:iam:::role/{}", vend::model::DEFAULT_MEMBER_ROLE);
            let principal = p.principals.iter().find(|x| x.arn == arn)?;
            cloud
                .call(&Op::DisassociatePrincipalFromPortfolio {
                    portfolio_id: p.id.clone(),
                    arn: principal.arn.clone(),
                    principal_type: principal.principal_type.clone(),
                })
                .ok()?;
            let name = copy_pipeline(w, rng)?;
            format!("{arn} disassociated by hand from {pname}, then pipeline {name} requested")
        }
    })
}

/// A new pipeline request, a copy of an existing one under a fresh name; returns the name.
fn copy_pipeline(w: &mut World, rng: &mut fastrand::Rng) -> Option<String> {
    let names: Vec<String> = w.pipelines.keys().cloned().collect();
    let request = w.pipelines.get(pick(rng, &names)?)?.clone();
    Some(copy_of(w, request))
}

/// Request a copy of `request` under a fresh name (its repository named after it); returns the name.
fn copy_of(w: &mut World, mut request: PipelineRequest) -> String {
    let name = w.fresh("again");
    request.name = name.clone();
    request.params.insert("RepositoryName".into(), Value::String(name.clone()));
    w.pipelines.insert(name.clone(), request);
    name
}

/// Copy the newest version folder of `product` to the next number and list it; returns it.
fn add_version(w: &mut World, ws: &Path, product: &str) -> Option<String> {
    let versions = w.version_dirs.get(product)?.clone();
    let last = versions.last()?.clone();
    let n = last.trim_start_matches('v').parse::<u32>().ok()? + 1;
    let next = format!("v{n}");
    let base = ws.join("blueprints/pipelines").join(product);
    copy_dir(&base.join(&last), &base.join(&next));
    let template = base.join(&next).join("template.yaml");
    if let Ok(mut text) = fs::read_to_string(&template) {
        text.push_str(&format!("# revision {next}\n"));
        fs::write(&template, text).unwrap();
    }
    w.version_dirs.get_mut(product)?.push(next.clone());
    w.product().1.versions.push(next.clone());
    Some(next)
}

/// The id of the OU at `path` ("" is the root) in `state`.
fn ou_id(state: &State, path: &str) -> Option<String> {
    let mut id = state.organization.root_id.clone();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        id = state.organizational_units.iter().find(|o| o.parent_id == id && o.name == part)?.id.clone();
    }
    Some(id)
}

// ------------------------------------------------------------------ the property

#[derive(Debug, Default)]
struct Counts {
    sequences: usize,
    steps: usize,
    applied: usize,
    refused: usize,
    unchanged: usize,
    broken: Vec<String>,
    refusals: BTreeMap<String, usize>,
    /// Refusals per AWS rule of the table (diagnostics naming their `rule`).
    rules: BTreeMap<String, usize>,
    /// Refusals by a code several rules share (`bad-tag`, `bad-name`): no single rule named.
    shared_codes: BTreeMap<String, usize>,
    edits: BTreeMap<String, usize>,
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Where a sequence runs: a workspace and the way to run `vend` on it.
trait Backend {
    fn ws(&self) -> &Path;
    fn vend(&self, args: &[&str]) -> std::process::Output;
    /// The cloud itself, for changes made behind vend's back.
    fn cloud(&self) -> Box<dyn Cloud>;
}

/// The embedded backend: the demo in a temp dir with its local state file.
struct Embedded {
    _dir: tempfile::TempDir,
    ws: std::path::PathBuf,
    cfg: std::path::PathBuf,
}

impl Embedded {
    fn new() -> Embedded {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        copy_demo(&ws);
        let cfg = dir.path().join("config");
        fs::create_dir_all(&cfg).unwrap();
        Embedded { _dir: dir, ws, cfg }
    }
}

impl Backend for Embedded {
    fn ws(&self) -> &Path {
        &self.ws
    }
    fn vend(&self, args: &[&str]) -> std::process::Output {
        vend_in(&self.ws, &self.cfg, args)
    }
    fn cloud(&self) -> Box<dyn Cloud> {
        Box::new(LocalCloud::open(self.ws.join(".vend/state.json")).unwrap())
    }
}

/// The emulator: the demo organization and catalog seeded into a freshly reset emulator, vend
/// with `--aws` against it (polling fast).
struct OnEmulator<'a>(emulator_harness::workspace::VendWorkspace<'a>);

impl Backend for OnEmulator<'_> {
    fn ws(&self) -> &Path {
        &self.0.ws
    }
    fn vend(&self, args: &[&str]) -> std::process::Output {
        let mut args = args.to_vec();
        if args.first() == Some(&"apply") {
            args.extend(["--poll-interval-ms", "20"]);
        }
        self.0.run(&args)
    }
    fn cloud(&self) -> Box<dyn Cloud> {
        Box::new(AwsCloud::from_sdk_config(&self.0.emu.sdk_config()).unwrap())
    }
}

fn run_sequence(seed: u64, steps: usize, counts: &mut Counts, backend: &dyn Backend) {
    let ws = backend.ws().to_path_buf();
    let mut world = World::read(&ws);
    let mut rng = fastrand::Rng::with_seed(seed);
    counts.sequences += 1;
    // The demo itself is the first step: its plan is applied as it stands.
    let mut done = 0;
    let mut first = true;
    while done < steps {
        let before = world.clone();
        let what = if first {
            first = false;
            "the demo workspace as it is".to_string()
        } else {
            let e = *pick(&mut rng, &EDITS).unwrap();
            match edit(&mut world, backend, e, &mut rng) {
                Some(what) => {
                    *counts.edits.entry(format!("{e:?}")).or_default() += 1;
                    what
                }
                None => {
                    world = before;
                    continue;
                }
            }
        };
        done += 1;
        counts.steps += 1;
        world.write(&ws);
        let out = backend.vend(&["plan", "--json"]);
        let plan: Value = match serde_json::from_slice(&out.stdout) {
            Ok(p) => p,
            Err(_) => {
                counts.broken.push(format!(
                    "seed {seed} step {done} ({what}): `plan --json` printed no plan (exit {:?}): {}",
                    out.status.code(),
                    text(&out.stderr)
                ));
                return;
            }
        };
        let changes = plan["changes"].as_array().cloned().unwrap_or_default();
        if plan["applyable"] == Value::Bool(true) {
            if changes.is_empty() {
                counts.unchanged += 1;
                continue;
            }
            let mut args = vec!["apply".to_string(), "--auto-approve".to_string()];
            // The schedule's rules (which steps may overlap) hold for every order they allow:
            // every third apply starts its steps one at a time in a random order they permit,
            // the others run at the default parallelism with real overlap.
            if (seed + done as u64).is_multiple_of(3) {
                args.extend([
                    "--parallelism".into(),
                    "1".into(),
                    "--shuffle-seed".into(),
                    format!("{seed}{done}"),
                ]);
            }
            for c in &changes {
                if c["action"] == "close" {
                    let name = c["address"].as_str().unwrap_or("").trim_start_matches("account:").to_string();
                    args.extend(["--allow-close".to_string(), name]);
                }
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = backend.vend(&args);
            if out.status.code() != Some(0) {
                counts.broken.push(format!(
                    "seed {seed} step {done} ({what}): applyable plan of {} changes failed at apply:\n{}{}",
                    changes.len(),
                    text(&out.stdout),
                    text(&out.stderr)
                ));
                return;
            }
            let again = backend.vend(&["plan", "--detailed-exitcode"]);
            if again.status.code() != Some(0) {
                counts.broken.push(format!(
                    "seed {seed} step {done} ({what}): re-plan after apply is not empty (exit {:?}):\n{}",
                    again.status.code(),
                    text(&again.stdout)
                ));
                return;
            }
            counts.applied += 1;
        } else {
            counts.refused += 1;
            let diags = plan["diagnostics"].as_array().cloned().unwrap_or_default();
            let addresses: Vec<&str> = changes.iter().filter_map(|c| c["address"].as_str()).collect();
            let errors: Vec<&Value> = diags.iter().filter(|d| d["severity"] == "error").collect();
            let named = errors.iter().any(|d| {
                d["file"].is_string()
                    || d["address"].is_string()
                    || addresses.iter().any(|a| d["message"].as_str().is_some_and(|m| m.contains(a)))
            });
            if !named {
                counts.broken.push(format!(
                    "seed {seed} step {done} ({what}): not applyable without an error naming a file or change: {diags:?}"
                ));
                return;
            }
            for d in errors {
                let code = d["code"].as_str().unwrap_or("?").to_string();
                match d["rule"].as_str() {
                    Some(rule) => *counts.rules.entry(rule.to_string()).or_default() += 1,
                    None if rules::rules().iter().any(|r| r.planner.contains(&code)) => {
                        *counts.shared_codes.entry(code.clone()).or_default() += 1;
                    }
                    None => {}
                }
                *counts.refusals.entry(code).or_default() += 1;
            }
            // Undo the edit (new version folders stay on disk, unlisted).
            let dirs = world.version_dirs.clone();
            world = before;
            world.version_dirs = dirs;
            world.next += 1000;
            world.write(&ws);
        }
    }
}

fn report(counts: &Counts) {
    eprintln!(
        "plan promise: {} sequences, {} steps: {} applied, {} refused, {} unchanged, {} broken",
        counts.sequences,
        counts.steps,
        counts.applied,
        counts.refused,
        counts.unchanged,
        counts.broken.len()
    );
    eprintln!("edits: {:?}", counts.edits);
    eprintln!("refused by: {:?}", counts.refusals);
    eprintln!("refusals per AWS rule (src/adapter/aws_rules.yaml, reach: plan):");
    for r in rules::rules().iter().filter(|r| r.reach == rules::Reach::Plan) {
        let hits = counts.rules.get(&r.id).copied().unwrap_or(0);
        match &r.preempted {
            Some(why) if hits == 0 => eprintln!("      -  {} (preempted: {why})", r.id),
            _ => eprintln!("  {hits:>5}  {}", r.id),
        }
    }
    if !counts.shared_codes.is_empty() {
        eprintln!("  refusals by codes several rules share: {:?}", counts.shared_codes);
    }
    for b in &counts.broken {
        eprintln!("BROKEN {b}");
    }
}

/// The `reach: plan` rules that refused no plan and are not `preempted` in the table.
fn unfired(counts: &Counts) -> Vec<String> {
    rules::rules()
        .iter()
        .filter(|r| r.reach == rules::Reach::Plan && r.preempted.is_none())
        .filter(|r| !counts.rules.contains_key(&r.id))
        .map(|r| r.id.clone())
        .collect()
}

/// The long run (`VEND_PROMISE_COVERAGE=1`): every rule an everyday edit can run into refused at
/// least one plan.
fn assert_coverage(counts: &Counts) {
    if std::env::var_os("VEND_PROMISE_COVERAGE").is_some() {
        let missing = unfired(counts);
        assert!(missing.is_empty(), "rules that refused no plan over the long run: {missing:?}");
    }
}

/// Run the seeds of `half` (0: even, 1: odd) of `VEND_PROMISE_SEQUENCES` sequences; the two
/// halves run as two tests, in parallel.
fn run_half(half: u64) {
    let sequences = env_usize("VEND_PROMISE_SEQUENCES", 200) as u64;
    let steps = env_usize("VEND_PROMISE_STEPS", 6);
    let mut counts = Counts::default();
    for seed in (0..sequences).filter(|s| s % 2 == half) {
        run_sequence(seed, steps, &mut counts, &Embedded::new());
    }
    report(&counts);
    assert!(counts.applied > 0 && counts.refused > 0, "the edits exercise nothing: {counts:?}");
    assert!(counts.broken.is_empty(), "{} broken promises (see above)", counts.broken.len());
    assert_coverage(&counts);
}

#[test]
fn applyable_plans_apply_and_converge_on_the_embedded_backend_even_seeds() {
    run_half(0);
}

#[test]
fn applyable_plans_apply_and_converge_on_the_embedded_backend_odd_seeds() {
    run_half(1);
}

/// The meaningful run: the emulator's rules are implemented independently of the planner's check
/// (in Python, tests/emulator/vend_moto), so a rule the check misses breaks a promise here.
/// `VEND_PROMISE_EMULATOR_SEQUENCES` (default 20) × `VEND_PROMISE_EMULATOR_STEPS` (default 4), the
/// seeds of `half` (0: even, 1: odd); the two halves run as two tests, in parallel, each on its own
/// emulator.
fn run_half_on_the_emulator(half: u64) {
    let sequences = env_usize("VEND_PROMISE_EMULATOR_SEQUENCES", 20) as u64;
    let steps = env_usize("VEND_PROMISE_EMULATOR_STEPS", 4);
    let mut counts = Counts::default();
    for seed in (0..sequences).filter(|s| s % 2 == half) {
        let (_guard, emu) = emulator_harness::lock();
        let mut ids = emulator_harness::seed::seed_organization(emu);
        emulator_harness::seed::seed_catalog(emu, &mut ids);
        let mgmt = ids[&emulator_harness::seed::demo().organization.management_account_id].clone();
        let backend = OnEmulator(emulator_harness::workspace::VendWorkspace::new(emu, &mgmt));
        run_sequence(1_000_000 + seed, steps, &mut counts, &backend);
        let stats = emu.stats();
        if let Some(hits) = stats["rules"].as_object().filter(|h| !h.is_empty()) {
            // Every refusal the emulator answered during an apply of an applyable plan is a
            // broken promise (the apply failed); list them next to the failure.
            eprintln!("seed {}: emulator rule hits: {hits:?}", 1_000_000 + seed);
        }
    }
    report(&counts);
    assert!(counts.applied > 0 && counts.refused > 0, "the edits exercise nothing: {counts:?}");
    assert!(counts.broken.is_empty(), "{} broken promises (see above)", counts.broken.len());
}

#[test]
fn applyable_plans_apply_and_converge_on_the_emulator_even_seeds() {
    run_half_on_the_emulator(0);
}

#[test]
fn applyable_plans_apply_and_converge_on_the_emulator_odd_seeds() {
    run_half_on_the_emulator(1);
}
