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

/// An organization with only its management account (no demo snapshot to seed from: the state
/// file starts empty): the bucket and the access are created first, what needs them depends on
/// them, one apply converges.
#[test]
fn an_empty_organization_gets_its_bucket_and_access_first() {
    let (_dir, ws, config) = demo_with_config();
    fs::remove_dir_all(ws.join("snapshots")).unwrap();
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
            .any(|(a, _)| a.starts_with("template_bucket:") || a.starts_with("service_access:")),
        "{p:#}"
    );
    ok(&vend_in(&ws, &config, &["apply", "--auto-approve"]));
    assert!(plan(&ws, &config)["changes"].as_array().unwrap().is_empty());
}
