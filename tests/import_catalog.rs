//! Adopting a brownfield Service Catalog set-up as it runs (what `vend import` writes): an
//! untagged portfolio (an OU share with principal sharing off, an `IAM_PATTERN` principal, a
//! launch constraint), an untagged product with three versions vend did not publish (one
//! DEPRECATED), and provisioned products launched outside vend (one with a NoEcho parameter
//! read back as `****`). A workspace declaring all of it with `lifecycle: adopt` plans only
//! `adopt` changes (portfolio, product, each version) — no pipeline, share, principal or bucket
//! change — and after applying it on the embedded backend the re-plan is empty. Adopted
//! pipelines are vend's without the ownership tag (the request is the record): a changed
//! parameter is one `update`, and the pipeline is never tagged or terminated.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::{plan_ws as plan, *};
use serde_json::{Value, json};
use std::fs;
use std::path::Path;

const MGMT: &str = "111111111111";
const MEMBER: &str = "222233334444";
const WORKLOADS: &str = "ou-4f2a-wkl3c4d5";
const PORTFOLIO: &str = "port-l3g4cy5p0rtf";
const PRODUCT: &str = "prod-l3g4cy5pr0dt";
const MEMBER_ROLE: &str = "arn:aws:iam:::role/OrganizationAccountAccessRole";

fn artifact(v: &str) -> String {
    format!("pa-l3g4cy5v3rs{v}")
}

const VEND_YAML: &str = "region: us-east-1
management_account: \"111111111111\"
template_bucket: vend-templates-{management}
ownership_tag: vend:managed
";

const PORTFOLIOS: &str = "portfolios:
  legacy-portfolio:
    description: Pipelines from before vend
    provider: Platform Team
    lifecycle: adopt
    share_principals: false
    products:
      legacy-pipeline: { versions: [v1, v2, v3], deprecated: [v1], lifecycle: adopt }
    principals: ['arn:aws:iam:::role/ProductTeam*']
    shares: [Workloads]
    launch_role: LegacyLaunchRole
";

/// A version's template: v1 without the NoEcho parameter, v2 and v3 with it.
fn template(version: &str) -> String {
    let secret = if version == "v1" {
        String::new()
    } else {
        "  WebhookSecret:\n    Type: String\n    NoEcho: true\n".to_string()
    };
    format!(
        "AWSTemplateFormatVersion: '2010-09-09'
Description: legacy pipeline {version}
Parameters:
  RepositoryName:
    Type: String
  BranchName:
    Type: String
    Default: main
{secret}Resources:
  Notifications:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub '${{RepositoryName}}-releases'
"
    )
}

fn pipeline_request(name: &str, version: &str, params: &str) -> String {
    format!(
        "blueprint: legacy-pipeline@{version}
account: orders-prod
name: {name}
params: {{ {params} }}
lifecycle: adopt
"
    )
}

/// The organization as it is before vend: nothing carries the ownership tag.
fn brownfield_state() -> Value {
    let version = |v: &str, guidance: &str| {
        json!({ "id": artifact(v), "name": v, "active": true, "guidance": guidance,
                "description": format!("legacy pipeline {v}, uploaded by hand"),
                "template_url": format!("https://legacy-templates.s3.us-east-1.amazonaws.com/legacy/{v}.yaml") })
    };
    let role = |account: &str| {
        json!({ "account_id": account, "name": "LegacyLaunchRole", "trusts_catalog": true,
                "policy": "", "tags": {} })
    };
    json!({
        "format_version": 1,
        "captured_at": "2026-11-22T10:00:00Z",
        "source": "state-file",
        "organization": { "id": "o-7k2m9xq4ds", "management_account_id": MGMT, "root_id": "r-4f2a",
                          "enabled_policy_types": ["SERVICE_CONTROL_POLICY"],
                          "root_policy_ids": ["p-FullAWSAccess"] },
        "organizational_units": [ { "id": WORKLOADS, "name": "Workloads", "parent_id": "r-4f2a", "tags": {} } ],
        "accounts": [
            { "id": MGMT, "name": "management", "email": "aws+management@example.com", "state": "ACTIVE",
              "parent_id": "r-4f2a", "tags": {} },
            { "id": MEMBER, "name": "orders-prod", "email": "aws+orders-prod@example.com", "state": "ACTIVE",
              "parent_id": WORKLOADS, "tags": {} }
        ],
        "create_account_requests": [],
        "policies": [ { "id": "p-FullAWSAccess", "name": "FullAWSAccess", "type": "SERVICE_CONTROL_POLICY",
                        "aws_managed": true,
                        "content": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}",
                        "target_ids": [MGMT, MEMBER, WORKLOADS, "r-4f2a"], "tags": {} } ],
        "portfolios": [ {
            "id": PORTFOLIO, "name": "legacy-portfolio", "description": "Pipelines from before vend",
            "provider": "Platform Team", "tags": { "team": "platform" },
            "product_ids": [PRODUCT],
            "principals": [ { "arn": "arn:aws:iam:::role/ProductTeam*", "type": "IAM_PATTERN" } ],
            "shares": [ { "type": "ORGANIZATIONAL_UNIT", "value": WORKLOADS, "status": "COMPLETED",
                          "share_principals": false } ],
            "launch_constraints": [ { "product_id": PRODUCT, "local_role_name": "LegacyLaunchRole" } ]
        } ],
        "products": [ {
            "id": PRODUCT, "name": "legacy-pipeline", "owner": "Platform Team", "tags": {},
            "versions": [ version("v1", "DEPRECATED"), version("v2", "DEFAULT"), version("v3", "DEFAULT") ]
        } ],
        "provisioned_products": [
            { "id": "pp-0rd3r5ap1aaaa", "name": "orders-api", "account_id": MEMBER, "product_id": PRODUCT,
              "version_id": artifact("v2"), "status": "AVAILABLE",
              "params": { "BranchName": "main", "RepositoryName": "orders-api", "WebhookSecret": "****" },
              "tags": { "team": "orders" } },
            { "id": "pp-0rd3r5b4tchbb", "name": "orders-batch", "account_id": MEMBER, "product_id": PRODUCT,
              "version_id": artifact("v1"), "status": "AVAILABLE",
              "params": { "BranchName": "main", "RepositoryName": "orders-batch" } }
        ],
        "launch_path": { "servicecatalog_organizations_access": "ENABLED", "buckets": [],
                         "roles": [ role(MGMT), role(MEMBER) ] }
    })
}

/// The workspace that adopts it all, in `dir/ws`, with `dir/config` for the operator key.
fn brownfield() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let config = dir.path().join("config");
    fs::create_dir_all(&config).unwrap();
    let write = |path: &str, text: &str| {
        let p = ws.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    };
    write("catalog/vend.yaml", VEND_YAML);
    write("catalog/organization.yaml", "units: {}\n");
    write("catalog/portfolios.yaml", PORTFOLIOS);
    for v in ["v1", "v2", "v3"] {
        write(
            &format!("blueprints/pipelines/legacy-pipeline/{v}/blueprint.yaml"),
            "description: The pipeline teams used before vend\nproduct: legacy-pipeline\nowner: Platform Team\ntemplate: template.yaml\n",
        );
        write(&format!("blueprints/pipelines/legacy-pipeline/{v}/template.yaml"), &template(v));
    }
    write(
        "catalog/pipelines/orders-api.yaml",
        &pipeline_request("orders-api", "v2", "RepositoryName: orders-api, WebhookSecret: s3cret"),
    );
    write(
        "catalog/pipelines/orders-batch.yaml",
        &pipeline_request("orders-batch", "v1", "RepositoryName: orders-batch"),
    );
    write_state(&ws, &brownfield_state());
    (dir, ws, config)
}

fn state(ws: &Path) -> Value {
    serde_json::from_slice(&fs::read(ws.join("state.json")).unwrap()).unwrap()
}

/// Write `s` as the state file (a hand-edited state carries no digest).
fn write_state(ws: &Path, s: &Value) {
    let mut s = s.clone();
    s.as_object_mut().unwrap().remove("digest");
    fs::write(ws.join("state.json"), serde_json::to_vec_pretty(&s).unwrap()).unwrap();
}

fn apply(ws: &Path, cfg: &Path) {
    let out = vend_ws(ws, cfg, &["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out.stdout), text(&out.stderr));
}

fn errors(plan: &Value) -> Vec<(String, String)> {
    plan["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| (d["code"].as_str().unwrap().to_string(), d["message"].as_str().unwrap().to_string()))
        .collect()
}

fn change<'p>(plan: &'p Value, address: &str) -> &'p Value {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == address)
        .unwrap_or_else(|| panic!("no {address}: {plan:#}"))
}

fn pipeline<'s>(s: &'s Value, name: &str) -> &'s Value {
    s["provisioned_products"].as_array().unwrap().iter().find(|p| p["name"] == name).unwrap()
}

#[test]
fn a_brownfield_catalog_is_adopted_with_adopt_changes_only_and_converges() {
    let (_dir, ws, cfg) = brownfield();
    let before = state(&ws);
    let p = plan(&ws, &cfg);
    assert_eq!(p["applyable"], true, "{p:#}");
    assert!(errors(&p).is_empty(), "{p:#}");
    let mut list = changes(&p);
    list.sort();
    assert_eq!(
        list,
        [
            ("portfolio:legacy-portfolio", "adopt"),
            ("product:legacy-pipeline", "adopt"),
            ("product_version:legacy-pipeline@v1", "adopt"),
            ("product_version:legacy-pipeline@v2", "adopt"),
            ("product_version:legacy-pipeline@v3", "adopt"),
        ]
        .map(|(a, x)| (a.to_string(), x.to_string())),
        "only adoptions: no pipeline, share, principal, bucket or role change: {p:#}"
    );
    let v1 = change(&p, "product_version:legacy-pipeline@v1");
    assert_eq!(v1["before"]["description"], "legacy pipeline v1, uploaded by hand");
    let recorded = v1["after"]["description"].as_str().unwrap();
    assert!(recorded.starts_with("vend-sha256:") && recorded.len() == 12 + 64, "{v1:#}");
    assert_eq!(v1["after"]["guidance"], "DEPRECATED", "guidance as the workspace lists it");
    assert_eq!(v1["after"]["template_url"], v1["before"]["template_url"], "the template stays");
    assert!(v1["reason"].as_str().unwrap().contains("blueprints/pipelines/legacy-pipeline/v1/"), "{v1:#}");
    assert_eq!(v1["depends_on"], json!(["product:legacy-pipeline"]));

    // Saved, shown and applied from the file: the version adoptions read back as they were.
    let out = vend_ws(&ws, &cfg, &["plan", "--out", "p.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = vend_ws(&ws, &cfg, &["show", "p.json", "--json"]);
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["changes"], p["changes"]);
    let out = vend_ws(&ws, &cfg, &["apply", "p.json", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let replan = vend_ws(&ws, &cfg, &["plan", "--detailed-exitcode"]);
    assert_eq!(replan.status.code(), Some(0), "re-plan not empty:\n{}", text(&replan.stdout));

    // What was sent: the tags of portfolio and product, the versions' descriptions; nothing
    // launched, updated, terminated or created.
    let log = fs::read_to_string(ws.join(".vend/audit.jsonl")).unwrap();
    let calls: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["event"] == "intent")
        .map(|r| r["detail"]["call"].clone())
        .collect();
    let mut ops: Vec<&str> = calls.iter().map(|c| c["op"].as_str().unwrap()).collect();
    ops.sort();
    assert_eq!(
        ops,
        [
            "UpdatePortfolio",
            "UpdateProduct",
            "UpdateProvisioningArtifact",
            "UpdateProvisioningArtifact",
            "UpdateProvisioningArtifact"
        ],
        "{log}"
    );
    assert!(
        calls
            .iter()
            .filter(|c| c["op"] == "UpdateProvisioningArtifact")
            .all(|c| c["description"].as_str().is_some_and(|d| d.starts_with("vend-sha256:"))),
        "{log}"
    );

    let after = state(&ws);
    assert_eq!(after["portfolios"][0]["id"], PORTFOLIO);
    assert_eq!(after["portfolios"][0]["tags"], json!({ "team": "platform", "vend:managed": "true" }));
    let share = &after["portfolios"][0]["shares"][0];
    assert_eq!((&share["value"], &share["status"]), (&json!(WORKLOADS), &json!("COMPLETED")));
    assert_ne!(share["share_principals"], true, "principal sharing stays off: {share:#}");
    assert_eq!(after["portfolios"][0]["principals"], before["portfolios"][0]["principals"]);
    let versions = after["products"][0]["versions"].as_array().unwrap();
    assert!(versions.iter().all(|v| v["description"].as_str().unwrap().starts_with("vend-sha256:")));
    assert_eq!(versions.iter().find(|v| v["name"] == "v1").unwrap()["description"], recorded);
    assert_eq!(after["provisioned_products"], before["provisioned_products"], "pipelines untouched");
    assert!(after["launch_path"]["buckets"].as_array().unwrap().is_empty(), "no bucket made");

    // Removing an adopted pipeline's request leaves it running: it carries no ownership tag.
    fs::remove_file(ws.join("catalog/pipelines/orders-batch.yaml")).unwrap();
    let p = plan(&ws, &cfg);
    assert!(changes(&p).is_empty(), "{p:#}");
}

#[test]
fn a_changed_parameter_of_an_adopted_pipeline_is_one_update_that_leaves_its_tags() {
    let (_dir, ws, cfg) = brownfield();
    apply(&ws, &cfg);
    let file = ws.join("catalog/pipelines/orders-api.yaml");
    let yaml = fs::read_to_string(&file).unwrap();
    fs::write(&file, yaml.replace("RepositoryName: orders-api,", "RepositoryName: orders-web,")).unwrap();
    let p = plan(&ws, &cfg);
    assert_eq!(p["applyable"], true, "{p:#}");
    assert_eq!(
        changes(&p),
        [("provisioned_pipeline:orders-prod/orders-api".to_string(), "update".to_string())],
        "one update; principal sharing is off (share_principals: false), so vend's member role is not added: {p:#}"
    );
    let c = change(&p, "provisioned_pipeline:orders-prod/orders-api");
    assert_eq!(c["reason"], "parameters differ");
    assert_eq!(c["after"]["id"], "pp-0rd3r5ap1aaaa");
    assert_eq!(c["after"]["tags"], json!({ "team": "orders" }), "UpdateProvisionedProduct sends no tags");
    apply(&ws, &cfg);
    let s = state(&ws);
    let pp = pipeline(&s, "orders-api");
    assert_eq!(pp["params"]["RepositoryName"], "orders-web");
    assert_eq!(pp["tags"], json!({ "team": "orders" }));
    let replan = vend_ws(&ws, &cfg, &["plan", "--detailed-exitcode"]);
    assert_eq!(replan.status.code(), Some(0), "re-plan not empty:\n{}", text(&replan.stdout));
}

#[test]
fn adopting_a_pipeline_that_does_not_run_is_adopt_missing() {
    let (_dir, ws, cfg) = brownfield();
    let mut s = state(&ws);
    s["provisioned_products"].as_array_mut().unwrap().retain(|p| p["name"] != "orders-batch");
    write_state(&ws, &s);
    let p = plan(&ws, &cfg);
    assert_eq!(p["applyable"], false, "{p:#}");
    let errs = errors(&p);
    let (_, message) = errs.iter().find(|(c, _)| c == "adopt-missing").unwrap_or_else(|| panic!("{errs:#?}"));
    assert!(message.contains("orders-prod") && message.contains("orders-batch"), "{message}");
    let d = p["diagnostics"].as_array().unwrap().iter().find(|d| d["code"] == "adopt-missing").unwrap();
    assert_eq!(
        (d["file"].as_str(), d["line"].as_u64()),
        (Some("catalog/pipelines/orders-batch.yaml"), Some(5))
    );
    assert!(!changes(&p).iter().any(|(a, _)| a.starts_with("provisioned_pipeline:")), "{p:#}");
}

#[test]
fn without_lifecycle_adopt_the_pipeline_is_still_a_conflict() {
    let (_dir, ws, cfg) = brownfield();
    let file = ws.join("catalog/pipelines/orders-api.yaml");
    let yaml = fs::read_to_string(&file).unwrap();
    fs::write(&file, yaml.replace("lifecycle: adopt\n", "")).unwrap();
    let errs = errors(&plan(&ws, &cfg));
    assert!(errs.iter().any(|(c, m)| c == "unmanaged-conflict" && m.contains("orders-api")), "{errs:#?}");
}

#[test]
fn a_listed_version_with_another_vend_hash_stays_version_modified() {
    let (_dir, ws, cfg) = brownfield();
    let mut s = state(&ws);
    let hash = format!("vend-sha256:{}", "0".repeat(64));
    for v in s["products"][0]["versions"].as_array_mut().unwrap() {
        if v["name"] == "v3" {
            v["description"] = json!(hash);
        }
    }
    write_state(&ws, &s);
    let p = plan(&ws, &cfg);
    let errs = errors(&p);
    assert!(
        errs.iter()
            .any(|(c, m)| c == "version-modified"
                && m.contains("legacy-pipeline@v3 was published with sha256")),
        "{errs:#?}"
    );
    assert!(!changes(&p).iter().any(|(a, _)| a == "product_version:legacy-pipeline@v3"), "{p:#}");
}

/// The launch path is planned only where something is launched or uploaded: a new version
/// needs the template bucket; vend's member role, once on the portfolio, stays; without
/// `share_principals:` the planner's choice applies again (the pattern principal turns sharing
/// on).
#[test]
fn the_launch_path_follows_what_the_plan_launches() {
    let (_dir, ws, cfg) = brownfield();
    apply(&ws, &cfg);

    // A new version: uploaded, so the bucket comes first.
    fs::create_dir_all(ws.join("blueprints/pipelines/legacy-pipeline/v4")).unwrap();
    for f in ["blueprint.yaml", "template.yaml"] {
        fs::copy(
            ws.join(format!("blueprints/pipelines/legacy-pipeline/v3/{f}")),
            ws.join(format!("blueprints/pipelines/legacy-pipeline/v4/{f}")),
        )
        .unwrap();
    }
    let ports = ws.join("catalog/portfolios.yaml");
    let yaml = fs::read_to_string(&ports).unwrap();
    fs::write(&ports, yaml.replace("[v1, v2, v3]", "[v1, v2, v3, v4]")).unwrap();
    let p = plan(&ws, &cfg);
    let list = changes(&p);
    let at = |a: &str| list.iter().position(|(x, _)| x == a).unwrap_or_else(|| panic!("{a}: {list:#?}"));
    let bucket = "template_bucket:vend-templates-111111111111";
    assert_eq!(list[at(bucket)].1, "create");
    assert!(at(bucket) < at("product_version:legacy-pipeline@v4"));
    assert_eq!(list.len(), 2, "{list:#?}");
    fs::write(&ports, yaml).unwrap();

    // vend's member role already on the portfolio: kept, though nothing is launched.
    let mut s = state(&ws);
    s["portfolios"][0]["principals"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "arn": MEMBER_ROLE, "type": "IAM_PATTERN" }));
    write_state(&ws, &s);
    assert!(changes(&plan(&ws, &cfg)).is_empty());

    // Without share_principals: the pattern principals turn principal sharing on.
    fs::write(&ports, fs::read_to_string(&ports).unwrap().replace("    share_principals: false\n", ""))
        .unwrap();
    let p = plan(&ws, &cfg);
    assert_eq!(
        changes(&p),
        [("portfolio_share:legacy-portfolio/ou:Workloads".to_string(), "update".to_string())],
        "{p:#}"
    );
    assert_eq!(
        change(&p, "portfolio_share:legacy-portfolio/ou:Workloads")["after"]["share_principals"],
        true
    );
}

#[test]
fn a_tainted_adopted_pipeline_is_repaired() {
    let (_dir, ws, cfg) = brownfield();
    let mut s = state(&ws);
    for p in s["provisioned_products"].as_array_mut().unwrap() {
        if p["name"] == "orders-batch" {
            p["status"] = json!("TAINTED");
        }
    }
    write_state(&ws, &s);
    let p = plan(&ws, &cfg);
    let list = changes(&p);
    assert!(
        list.contains(&("provisioned_pipeline:orders-prod/orders-batch".into(), "repair".into())),
        "{p:#}"
    );
    assert!(!list.iter().any(|(a, _)| a.starts_with("portfolio_principal:")), "{p:#}");
}
