//! Blueprint version lifecycle through the real binary, on the planner fixture cases
//! (tests/fixtures/plan/<case>/ over _base/): an edited published version, a deprecation with
//! users (pipelines and account blueprints), retiring a version with and without users, and
//! upgrade proposals (`upgrade: propose` and `vend plan --upgrade`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use serde_json::Value;
use std::path::Path;

fn case(name: &str) -> tempfile::TempDir {
    let base = root().join("tests/fixtures/plan/_base");
    materialize(&base, &base.join("state.json"), &root().join("tests/fixtures/plan").join(name))
}

fn plan(ws: &Path, extra: &[&str]) -> (Value, i32) {
    let mut args = vec!["-C", ".", "--state", "state.json", "plan", "--json"];
    args.extend_from_slice(extra);
    let out = run(&args, ws);
    let v: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)));
    (v, out.status.code().unwrap())
}

fn diag<'a>(plan: &'a Value, code: &str) -> &'a Value {
    plan["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == code)
        .unwrap_or_else(|| panic!("no [{code}] in {:#}", plan["diagnostics"]))
}

fn change<'a>(plan: &'a Value, address: &str) -> &'a Value {
    plan["changes"].as_array().unwrap().iter().find(|c| c["address"] == address).unwrap_or_else(|| {
        panic!(
            "no change {address} in {:?}",
            plan["changes"].as_array().unwrap().iter().map(|c| &c["address"]).collect::<Vec<_>>()
        )
    })
}

#[test]
fn an_edited_published_version_is_an_error_asking_for_a_new_version() {
    let ws = case("31-published-version-modified");
    let (p, code) = plan(ws.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(p["applyable"], false);
    let d = diag(&p, "version-modified");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["file"], "blueprints/pipelines/service-pipeline/v1/blueprint.yaml");
    let msg = d["message"].as_str().unwrap();
    assert!(msg.contains("publish the change as a new version"), "{msg}");
    assert!(msg.contains("immutable"), "{msg}");
}

#[test]
fn deprecating_a_version_lists_who_still_uses_it() {
    let ws = case("44-deprecate-with-users");
    let (p, code) = plan(ws.path(), &[]);
    assert_eq!(code, 0, "warnings only");
    assert_eq!(change(&p, "product_version:service-pipeline@v1")["action"], "deprecate");
    let d = diag(&p, "version-deprecated-in-use");
    assert_eq!(d["severity"], "warning");
    assert_eq!(d["file"], "catalog/portfolios.yaml");
    let msg = d["message"].as_str().unwrap();
    assert!(msg.contains("search-prod/search-api"), "{msg}");
    assert!(!msg.contains("payments-api"), "payments-api runs v2: {msg}");
    assert!(msg.contains("newest version is v2"), "{msg}");
}

#[test]
fn a_deprecated_account_blueprint_lists_its_accounts_until_upgraded() {
    let ws = case("47-upgrade-proposals");
    // Without the setting: warnings list the users, nothing is upgraded.
    let settings = ws.path().join("catalog/vend.yaml");
    let text_before = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(&settings, text_before.replace("upgrade: propose\n", "")).unwrap();
    let (p, code) = plan(ws.path(), &[]);
    assert_eq!(code, 0);
    let d = diag(&p, "blueprint-deprecated-in-use");
    assert_eq!(d["file"], "blueprints/accounts/workload/v1.yaml");
    let msg = d["message"].as_str().unwrap();
    assert!(msg.contains("payments-prod, search-prod"), "{msg}");
    assert!(msg.contains("`vend plan --upgrade`"), "{msg}");
    assert!(
        diag(&p, "version-deprecated-in-use")["message"].as_str().unwrap().contains("search-prod/search-api")
    );
    assert!(p["changes"].as_array().unwrap().is_empty(), "{:#}", p["changes"]);

    // `vend plan --upgrade` proposes the updates, listed by blueprint and version.
    let (up, code) = plan(ws.path(), &["--upgrade"]);
    assert_eq!(code, 0);
    let pipe = change(&up, "provisioned_pipeline:search-prod/search-api");
    assert_eq!(pipe["action"], "update");
    assert_eq!(pipe["after"]["version"], "v2");
    assert!(pipe["reason"].as_str().unwrap().starts_with("upgrade proposal from service-pipeline@v1"));
    let acct = change(&up, "account:payments-prod");
    assert_eq!(acct["after"]["tags"]["vend:blueprint"], "workload@v2");
    let proposals: Vec<&str> = up["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "upgrade-proposed")
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert_eq!(proposals.len(), 2, "{proposals:?}");
    assert!(proposals[0].contains("from service-pipeline@v1 to service-pipeline@v2"));
    assert!(
        proposals[1]
            .contains("from workload@v1 to workload@v2 for account:payments-prod, account:search-prod")
    );
    // Once upgraded, nobody is left on the deprecated versions.
    assert!(up["diagnostics"].as_array().unwrap().iter().all(|d| d["code"] != "version-deprecated-in-use"));
}

#[test]
fn the_workspace_setting_proposes_the_same_upgrades() {
    let ws = case("47-upgrade-proposals");
    let (with_setting, _) = plan(ws.path(), &[]);
    let (with_flag, _) = plan(ws.path(), &["--upgrade"]);
    assert_eq!(with_setting["changes"], with_flag["changes"]);
    assert_eq!(with_setting["summary"]["update"], 3);
}

#[test]
fn a_retired_version_without_users_becomes_inactive() {
    let ws = case("45-retire-version-without-users");
    let (p, code) = plan(ws.path(), &[]);
    assert_eq!(code, 0);
    let c = change(&p, "product_version:service-pipeline@v1");
    assert_eq!(c["action"], "update");
    assert_eq!(c["before"]["active"], true);
    assert_eq!(c["after"]["active"], false);
    assert_eq!(c["after"]["guidance"], "DEPRECATED");
}

#[test]
fn a_retired_version_with_users_is_an_error_naming_them() {
    let ws = case("46-retire-version-in-use");
    let (p, code) = plan(ws.path(), &[]);
    assert_eq!(code, 1);
    let d = diag(&p, "version-retired-in-use");
    assert_eq!(d["severity"], "error");
    assert!(d["message"].as_str().unwrap().contains("search-prod/search-api"));
    assert!(
        p["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["address"] != "product_version:service-pipeline@v1")
    );
}

#[test]
fn a_retired_version_is_removed_only_when_unlisted_and_unused() {
    // Unlisting a version still in use stays an error (`version-in-use`); the fixture case
    // 16-version-removed shows the delete once nothing uses it.
    let ws = case("17-version-removed-with-upgrade");
    let (p, _) = plan(ws.path(), &[]);
    assert_eq!(change(&p, "product_version:service-pipeline@v1")["action"], "delete");
}

/// AWS takes no new launches on a deprecated version, but existing provisioned products may
/// still update to it: moving an existing pipeline onto a deprecated version is an applyable
/// update, while a new pipeline on it is a plan error (`version-deprecated-launch`).
#[test]
fn an_existing_pipeline_may_update_to_a_deprecated_version_but_none_is_launched_on_it() {
    let ws = demo_workspace();
    let cfg = tempfile::tempdir().unwrap();
    let request = ws.path().join("catalog/pipelines/payments-api.yaml");
    // v1's template has fewer parameters than v2's: the request keeps the ones v1 declares.
    std::fs::write(
        &request,
        "blueprint: service-pipeline@v1\naccount: payments-prod\nname: payments-api\nparams: { RepositoryName: payments-api, BuildComputeType: BUILD_GENERAL1_MEDIUM }\n",
    )
    .unwrap();
    let out = vend_in(ws.path(), cfg.path(), &["plan", "--json"]);
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["applyable"], true, "{:#}", plan["diagnostics"]);
    let c = change(&plan, "provisioned_pipeline:payments-prod/payments-api");
    assert_eq!(c["action"], "update", "{c}");
    let out = vend_in(ws.path(), cfg.path(), &["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let out = vend_in(ws.path(), cfg.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));

    // A second pipeline on the same deprecated version is a new launch: refused by the plan.
    std::fs::write(
        ws.path().join("catalog/pipelines/payments-batch.yaml"),
        "blueprint: service-pipeline@v1\naccount: payments-prod\nname: payments-batch\nparams: { RepositoryName: payments-batch }\n",
    )
    .unwrap();
    let out = vend_in(ws.path(), cfg.path(), &["plan", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["applyable"], false);
    let d = diag(&plan, "version-deprecated-launch");
    assert_eq!(d["file"], "catalog/pipelines/payments-batch.yaml");
    assert!(
        d["message"].as_str().unwrap().contains("provisioned_pipeline:payments-prod/payments-batch"),
        "{d}"
    );
}
