//! The launch path on the embedded backend (issue 14): the template bucket and Service
//! Catalog's Organizations access are changes of their own, planned when the state says they are
//! missing or drifted, applied through the binary, and never planned for a state written before
//! vend modelled them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use serde_json::Value;
use std::fs;
use std::path::Path;

fn ok(out: &std::process::Output) -> String {
    assert_eq!(out.status.code(), Some(0), "stdout:\n{}\nstderr:\n{}", text(&out.stdout), text(&out.stderr));
    text(&out.stdout)
}

fn plan(ws: &Path, config: &Path) -> Value {
    serde_json::from_str(&ok(&vend_in(ws, config, &["plan", "--json"]))).unwrap()
}

/// The demo snapshot with `edit` applied to its JSON, as the workspace's state file.
fn state_from_demo(ws: &Path, edit: impl FnOnce(&mut Value)) {
    let mut s: Value =
        serde_json::from_str(&fs::read_to_string(root().join("snapshots/demo.state.json")).unwrap()).unwrap();
    edit(&mut s);
    fs::create_dir_all(ws.join(".vend")).unwrap();
    fs::write(ws.join(".vend/state.json"), serde_json::to_string_pretty(&s).unwrap()).unwrap();
}

/// An empty organization has no IAM Identity Center instance: the demo request that asks for
/// access through it (checkout-staging, workload@v3) and the permission set vend manages there
/// (catalog/permission_sets/) would be plan errors there (issue 18).
fn no_identity_center_requests(ws: &Path) {
    fs::remove_file(ws.join("catalog/accounts/checkout-staging.yaml")).unwrap();
    fs::remove_dir_all(ws.join("catalog/permission_sets")).unwrap();
}

/// An organization with only its management account (no demo snapshot to seed from: the state
/// file starts empty): the bucket and the access are created first, what needs them depends on
/// them, one apply converges.
#[test]
fn an_empty_organization_gets_its_bucket_and_access_first() {
    let (_dir, ws, config) = demo_with_config();
    fs::remove_dir_all(ws.join("snapshots")).unwrap();
    no_identity_center_requests(&ws);
    let p = plan(&ws, &config);
    assert_eq!(p["applyable"], true, "{p:#}");
    let list = changes(&p);
    let at = |a: &str| list.iter().position(|(x, _)| x == a).unwrap_or_else(|| panic!("{a}: {list:#?}"));
    let bucket = "template_bucket:vend-templates-111111111111";
    assert_eq!(list[at(bucket)].1, "create");
    assert_eq!(list[at("service_access:servicecatalog")].1, "create");
    assert!(at(bucket) < at("product:service-pipeline"));
    assert!(at("service_access:servicecatalog") < at("portfolio_share:delivery-pipelines/ou:Workloads"));
    let bucket_change = &p["changes"][at(bucket)];
    assert_eq!(bucket_change["after"]["public_access_blocked"], true);
    assert_eq!(bucket_change["after"]["versioning"], true);
    assert_eq!(bucket_change["after"]["encryption"], "AES256");
    assert_eq!(bucket_change["after"]["tags"]["vend:managed"], "true");
    ok(&vend_in(&ws, &config, &["apply", "--auto-approve"]));
    let again = plan(&ws, &config);
    assert!(again["changes"].as_array().unwrap().is_empty(), "{again:#}");
    let state: Value =
        serde_json::from_str(&fs::read_to_string(ws.join(".vend/state.json")).unwrap()).unwrap();
    assert_eq!(state["launch_path"]["servicecatalog_organizations_access"], "ENABLED");
    assert_eq!(state["launch_path"]["buckets"][0]["versioning"], true);
}

/// A vend bucket whose versioning was suspended and public access unblocked by hand is an
/// update that restores both (and keeps the tags others set).
#[test]
fn a_drifted_bucket_is_restored() {
    let (_dir, ws, config) = demo_with_config();
    state_from_demo(&ws, |s| {
        let b = &mut s["launch_path"]["buckets"][0];
        b["versioning"] = false.into();
        b["public_access_blocked"] = false.into();
        b["tags"]["team"] = "platform".into();
    });
    let p = plan(&ws, &config);
    let c = p["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "template_bucket")
        .unwrap_or_else(|| panic!("{p:#}"));
    assert_eq!(c["action"], "update");
    assert!(c["reason"].as_str().unwrap().contains("versioning off"), "{c:#}");
    ok(&vend_in(&ws, &config, &["apply", "--auto-approve"]));
    let state: Value =
        serde_json::from_str(&fs::read_to_string(ws.join(".vend/state.json")).unwrap()).unwrap();
    let b = &state["launch_path"]["buckets"][0];
    assert_eq!((b["versioning"].clone(), b["public_access_blocked"].clone()), (true.into(), true.into()));
    assert_eq!(b["tags"]["team"], "platform");
    assert!(plan(&ws, &config)["changes"].as_array().unwrap().is_empty());
}

/// A state file written before vend modelled the launch path (no `launch_path`) plans none of
/// it, and the in-process cloud behaves as those versions did: the demo still applies.
#[test]
fn an_older_state_file_plans_no_launch_path() {
    let (_dir, ws, config) = demo_with_config();
    state_from_demo(&ws, |s| {
        s.as_object_mut().unwrap().shift_remove("launch_path");
    });
    let p = plan(&ws, &config);
    assert!(
        !changes(&p)
            .iter()
            .any(|(a, _)| a.starts_with("template_bucket:") || a.starts_with("service_access:servicecatalog")),
        "{p:#}"
    );
    ok(&vend_in(&ws, &config, &["apply", "--auto-approve"]));
    assert!(plan(&ws, &config)["changes"].as_array().unwrap().is_empty());
}

fn state(ws: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(ws.join(".vend/state.json")).unwrap()).unwrap()
}

/// The launch roles in the state: (account id, role name, tagged by vend, trusts Service Catalog).
fn roles(ws: &Path) -> Vec<(String, String, bool, bool)> {
    state(ws)["launch_path"]["roles"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                r["account_id"].as_str().unwrap().to_string(),
                r["name"].as_str().unwrap().to_string(),
                r["tags"]["vend:managed"] == "true",
                r["trusts_catalog"] == true,
            )
        })
        .collect()
}

/// Launch roles (issue 14) on an empty organization: vend creates `VendPipelineLaunchRole` from
/// `catalog/launch_roles/` in the management account (before the launch constraint) and in each
/// account a pipeline is launched in (after the account, before the pipeline); one apply
/// converges.
#[test]
fn an_empty_organization_gets_its_launch_roles_before_the_launches() {
    let (_dir, ws, config) = demo_with_config();
    fs::remove_dir_all(ws.join("snapshots")).unwrap();
    no_identity_center_requests(&ws);
    let p = plan(&ws, &config);
    assert_eq!(p["applyable"], true, "{p:#}");
    let list = changes(&p);
    let at = |a: &str| list.iter().position(|(x, _)| x == a).unwrap_or_else(|| panic!("{a}: {list:#?}"));
    let mgmt_role = "launch_role:management/VendPipelineLaunchRole";
    assert!(at(mgmt_role) < at("launch_constraint:delivery-pipelines/service-pipeline"));
    let role = "launch_role:payments-prod/VendPipelineLaunchRole";
    assert!(at("account:payments-prod") < at(role));
    assert!(at(role) < at("provisioned_pipeline:payments-prod/payments-api"));
    let c = &p["changes"][at(role)];
    assert_eq!(c["depends_on"], serde_json::json!(["account:payments-prod"]), "{c:#}");
    assert_eq!(c["after"]["account_id"], Value::Null);
    assert_eq!(c["after"]["trusts_catalog"], true);
    assert!(c["after"]["policy"].as_str().unwrap().contains("cloudformation:CreateStack"), "{c:#}");
    let pipeline = &p["changes"][at("provisioned_pipeline:payments-prod/payments-api")];
    assert!(pipeline["depends_on"].as_array().unwrap().iter().any(|d| d == role), "{pipeline:#}");
    ok(&vend_in(&ws, &config, &["apply", "--auto-approve"]));
    assert!(plan(&ws, &config)["changes"].as_array().unwrap().is_empty());
    let found = roles(&ws);
    // The management account, payments-prod, checkout-prod, search-staging and every account
    // of the workload blueprint v2 (baseline pipeline): all vend's, all trusted.
    assert!(found.len() >= 4, "{found:?}");
    assert!(found.iter().all(|(_, n, tagged, trusted)| n == "VendPipelineLaunchRole" && *tagged && *trusted));
}

/// A changed policy file is an update of every role; a trust edited by hand is restored; a role
/// deleted by hand is created again; a role no account needs any more (its pipelines removed)
/// is deleted after the pipeline is terminated.
#[test]
fn launch_roles_follow_the_workspace() {
    let (_dir, ws, config) = demo_with_config();
    let checkout = "627380194452";
    state_from_demo(&ws, |s| {
        for r in s["launch_path"]["roles"].as_array_mut().unwrap() {
            if r["account_id"] == checkout {
                r["trusts_catalog"] = false.into();
            }
        }
    });
    let p = plan(&ws, &config);
    let list = changes(&p);
    assert!(
        list.contains(&("launch_role:checkout-prod/VendPipelineLaunchRole".into(), "update".into())),
        "{list:#?}"
    );
    ok(&vend_in(&ws, &config, &["apply", "--auto-approve"]));
    assert!(plan(&ws, &config)["changes"].as_array().unwrap().is_empty());
    assert!(roles(&ws).iter().all(|r| r.3), "trust restored: {:?}", roles(&ws));

    // A new statement in the policy file: one update per role.
    let file = ws.join("catalog/launch_roles/VendPipelineLaunchRole.json");
    let mut doc: Value = serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
    doc["Statement"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({ "Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*" }));
    fs::write(&file, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let p = plan(&ws, &config);
    let updates: Vec<String> = changes(&p)
        .into_iter()
        .filter(|(a, act)| a.starts_with("launch_role:") && act == "update")
        .map(|(a, _)| a)
        .collect();
    assert_eq!(updates.len(), roles(&ws).len(), "{p:#}");
    ok(&vend_in(&ws, &config, &["apply", "--auto-approve"]));
    assert!(plan(&ws, &config)["changes"].as_array().unwrap().is_empty());

    // checkout-prod's only pipeline request goes: the pipeline is terminated, then the role.
    fs::remove_file(ws.join("catalog/pipelines/checkout-api.yaml")).unwrap();
    let p = plan(&ws, &config);
    let list = changes(&p);
    let at = |a: &str| list.iter().position(|(x, _)| x == a).unwrap_or_else(|| panic!("{a}: {list:#?}"));
    let role = "launch_role:checkout-prod/VendPipelineLaunchRole";
    assert_eq!(list[at(role)].1, "delete");
    ok(&vend_in(&ws, &config, &["apply", "--auto-approve"]));
    assert!(!roles(&ws).iter().any(|r| r.0 == checkout), "{:?}", roles(&ws));
    assert!(plan(&ws, &config)["changes"].as_array().unwrap().is_empty());
}

/// Without a policy file the role is the user's: a launch into an account where the state shows
/// none is refused by the plan check, naming the rule.
#[test]
fn an_unmanaged_launch_role_missing_where_a_pipeline_launches_is_refused() {
    let (_dir, ws, config) = demo_with_config();
    fs::remove_file(ws.join("catalog/launch_roles/VendPipelineLaunchRole.json")).unwrap();
    let out = vend_in(&ws, &config, &["plan", "--json"]);
    let p: Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(p["applyable"], false, "{p:#}");
    let refused: Vec<&Value> = p["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["rule"] == "servicecatalog.launch-role")
        .collect();
    assert!(refused.iter().any(|d| d["address"] == "provisioned_pipeline:search-staging/baseline"), "{p:#}");
}
