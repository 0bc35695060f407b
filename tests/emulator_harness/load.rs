//! The large apply shared by the crash and fault tests: the demo workspace plus `n` generated
//! account requests (`load-NN`), and the checks that the organization ended up as requested —
//! exactly one account per e-mail, in the OU its blueprint names, tagged by vend — plus the
//! emulator's fault counts by kind and by operation.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::Emulator;
use super::seed::{demo, seed_catalog, seed_organization};
use super::workspace::{VendWorkspace, list_accounts, ou_paths};
use serde_json::Value;
use std::collections::BTreeMap;

/// How many accounts the large apply requests.
pub const LOAD_ACCOUNTS: usize = 50;

/// Write `n` generated requests: `load-NN`, alternating dev/prod; every fifth on `workload@v2`
/// (which adds a baseline pipeline in the new account), the others on `workload@v1`.
pub fn write_requests(ws: &VendWorkspace, n: usize) {
    for i in 0..n {
        let name = format!("load-{i:02}");
        let env = if i % 2 == 0 { "dev" } else { "prod" };
        let blueprint = if i % 5 == 0 { "workload@v2" } else { "workload@v1" };
        let yaml = format!(
            "blueprint: {blueprint}\nname: {name}\nemail: aws+{name}@example.com\nowner: team-load\n\
             params: {{ environment: {env} }}\ntags: {{ cost-center: \"9{i:03}\" }}\n\
             requested_by: load@example.com\nrequested_at: \"2026-11-21T10:00:00Z\"\nreason: Load test\n"
        );
        std::fs::write(ws.ws.join(format!("catalog/accounts/{name}.yaml")), yaml).unwrap();
    }
}

/// A freshly reset emulator seeded with the demo organization and catalog, and a copy of the
/// demo workspace with `n` generated requests. The caller holds `lock()`.
pub fn load_workspace(emu: &Emulator, n: usize) -> VendWorkspace<'_> {
    let mut ids = seed_organization(emu);
    seed_catalog(emu, &mut ids);
    let mgmt = ids[&demo().organization.management_account_id].clone();
    let ws = VendWorkspace::new(emu, &mgmt);
    write_requests(&ws, n);
    add_catalog_extras(&ws);
    ws
}

/// What the demo plan does not create on its own, so the large apply calls every kind of write:
/// a new SCP attached to `Sandbox` (CreatePolicy, AttachPolicy) and a new portfolio publishing a
/// new product (CreatePortfolio, S3 PutObject, CreateProduct, AssociateProductWithPortfolio,
/// AssociatePrincipalWithPortfolio, CreateConstraint, CreatePortfolioShare).
pub fn add_catalog_extras(ws: &VendWorkspace) {
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyLeaveLoad","Effect":"Deny","Action":"organizations:LeaveOrganization","Resource":"*"}]}"#;
    std::fs::write(ws.ws.join("catalog/policies/load-guard.json"), policy).unwrap();
    let org_yaml = ws.ws.join("catalog/organization.yaml");
    let text = std::fs::read_to_string(&org_yaml).unwrap();
    let edited = text.replace(
        "  Sandbox:\n    policies: [region-guard]",
        "  Sandbox:\n    policies: [region-guard, load-guard]",
    );
    assert_ne!(edited, text, "catalog/organization.yaml: the Sandbox OU's policy line moved");
    std::fs::write(&org_yaml, edited).unwrap();

    let from = ws.ws.join("blueprints/pipelines/service-pipeline/v1");
    let to = ws.ws.join("blueprints/pipelines/load-pipeline/v1");
    std::fs::create_dir_all(&to).unwrap();
    let blueprint = std::fs::read_to_string(from.join("blueprint.yaml")).unwrap();
    std::fs::write(to.join("blueprint.yaml"), blueprint.replace("service-pipeline", "load-pipeline"))
        .unwrap();
    let template = std::fs::read_to_string(from.join("template.yaml")).unwrap();
    std::fs::write(to.join("template.yaml"), template.replace("service-pipeline v1", "load-pipeline v1"))
        .unwrap();
    let portfolios = ws.ws.join("catalog/portfolios.yaml");
    let mut text = std::fs::read_to_string(&portfolios).unwrap();
    text.push_str(
        "  load-pipelines:\n    description: Load test pipelines\n    provider: Platform Team\n    \
         products:\n      load-pipeline: { versions: [v1] }\n    principals: ['arn:aws:iam:::role/LoadTeam*']\n    \
         shares: [Sandbox]\n    launch_role: VendPipelineLaunchRole\n    tags: {}\n",
    );
    std::fs::write(&portfolios, text).unwrap();
}

/// What a request file says: e-mail, blueprint (`name@version`) and the OU path it belongs in.
#[derive(Debug, Clone)]
pub struct Request {
    pub name: String,
    pub email: String,
    pub blueprint: String,
    pub ou: String,
}

fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|l| l.strip_prefix(key)).map(|v| v.trim().trim_matches('"'))
}

/// Every account request of the workspace, by name.
pub fn requests(ws: &VendWorkspace) -> Vec<Request> {
    let mut out = vec![];
    for e in std::fs::read_dir(ws.ws.join("catalog/accounts")).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        let blueprint = field(&text, "blueprint:").unwrap().to_string();
        let env = text
            .split("environment:")
            .nth(1)
            .map(|rest| {
                rest.trim_start().split(|c: char| !c.is_ascii_alphanumeric()).next().unwrap().to_string()
            })
            .unwrap_or_else(|| "dev".into());
        let ou = match blueprint.split('@').next().unwrap() {
            "workload" => format!("Workloads/{env}"),
            "sandbox" => "Sandbox".into(),
            "security" => "Security".into(),
            other => panic!("{}: unexpected blueprint {other}", p.display()),
        };
        out.push(Request {
            name: field(&text, "name:").unwrap().to_string(),
            email: field(&text, "email:").unwrap().to_string(),
            blueprint,
            ou,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// What is wrong with the organization against the workspace's requests: an e-mail with no
/// account or several, an account outside its blueprint's OU, or without vend's tags. Empty
/// when all is well.
pub fn organization_problems(emu: &Emulator, ws: &VendWorkspace) -> Vec<String> {
    let accounts = list_accounts(emu, true);
    let ous = ou_paths(emu);
    let mut problems = vec![];
    for r in requests(ws) {
        let found: Vec<_> = accounts.iter().filter(|a| a.email.eq_ignore_ascii_case(&r.email)).collect();
        if found.len() != 1 {
            problems.push(format!("{} <{}>: {} accounts", r.name, r.email, found.len()));
            continue;
        }
        let a = found[0];
        if ous.get(&r.ou) != Some(&a.parent) {
            let at =
                ous.iter().find(|(_, id)| **id == a.parent).map(|(p, _)| p.as_str()).unwrap_or(&a.parent);
            problems.push(format!("{}: in {at}, not {}", r.name, r.ou));
        }
        if a.tags.get("vend:managed").map(String::as_str) != Some("true")
            || a.tags.get("vend:blueprint") != Some(&r.blueprint)
        {
            problems.push(format!("{}: tags {:?} (blueprint {})", r.name, a.tags, r.blueprint));
        }
    }
    problems
}

/// Injected faults per kind, summed over operations, and per operation (from `GET /_vend/stats`).
pub fn fault_counts(stats: &Value) -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
    let mut by_kind = BTreeMap::new();
    let mut by_op = BTreeMap::new();
    if let Some(faults) = stats["faults"].as_object() {
        for (op, kinds) in faults {
            for (kind, n) in kinds.as_object().unwrap() {
                let n = n.as_u64().unwrap_or(0);
                *by_kind.entry(kind.clone()).or_insert(0) += n;
                *by_op.entry(op.clone()).or_insert(0) += n;
            }
        }
    }
    (by_kind, by_op)
}

/// How many requests of `service.Operation` the emulator counted.
pub fn op_count(stats: &Value, op: &str) -> u64 {
    let (service, name) = op.split_once('.').unwrap();
    stats["services"][service][name].as_u64().unwrap_or(0)
}
