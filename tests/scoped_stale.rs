//! Staleness scoped to the plan (issue 17 part 4), through the real binary on the embedded
//! backend: a saved plan survives a change to something it does not touch (applied meanwhile
//! with `--target`), is refused naming the account when an account it moves was moved
//! meanwhile, is refused naming the change and the rule when its promise no longer holds
//! against the state as it is now, and survives an `operators:` pin added to `vend.yaml` (a
//! plan saved by a version that hashed the pins too still applies) while any other edit of
//! `vend.yaml` still voids it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use serde_json::{Value, json};
use std::fs;
use std::path::Path;
use std::process::Output;
use vend::adapter::keys::{self, KeyStore};

fn describe(out: &Output) -> String {
    format!("exit {:?}\nstdout:\n{}\nstderr:\n{}", out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// Change the local state behind vend's back (as another tool would), keeping it a valid
/// hand-written snapshot (no digest).
fn edit_state(ws: &Path, edit: impl FnOnce(&mut Value)) {
    let path = ws.join(".vend/state.json");
    let mut state: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    state.as_object_mut().unwrap().remove("digest");
    edit(&mut state);
    fs::write(&path, serde_json::to_string_pretty(&state).unwrap()).unwrap();
}

fn verify(ws: &Path, cfg: &Path) {
    let out = vend_in(ws, cfg, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
}

#[test]
fn a_saved_plan_survives_an_unrelated_account_applied_meanwhile() {
    let (_dir, ws, cfg) = demo_with_config();
    // The saved plan moves data-dev (and the rest of the demo), not payments-prod's retag.
    let out = vend_in(&ws, &cfg, &["plan", "--exclude", "account:payments-prod", "--out", "p.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let saved: Value = serde_json::from_slice(&fs::read(ws.join("p.json")).unwrap()).unwrap();
    assert_eq!(saved["excluded"], json!(["account:payments-prod"]));
    assert!(saved["changes"].as_array().unwrap().iter().any(|c| c["address"] == "account:data-dev"));
    // Meanwhile someone applies payments-prod's retag alone: the organization's state moves.
    let out = vend_in(&ws, &cfg, &["apply", "--target", "account:payments-prod", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(text(&out.stdout).contains("Apply complete! 1 change(s) applied"), "{}", describe(&out));
    // The saved plan touches nothing that moved: it applies, its promise checked again.
    let out = vend_in(&ws, &cfg, &["apply", "p.json", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let applied = saved["changes"].as_array().unwrap().len() - 1;
    assert!(
        text(&out.stdout).contains(&format!("Apply complete! {applied} change(s) applied")),
        "{}",
        describe(&out)
    );
    // Both pieces of work are done: nothing left to plan, and the log verifies.
    let out = vend_in(&ws, &cfg, &["plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(text(&out.stdout).contains("No changes."), "{}", describe(&out));
    let state = fs::read_to_string(ws.join(".vend/state.json")).unwrap();
    assert!(state.contains("\"4712\""), "payments-prod's cost-center was retagged");
    verify(&ws, &cfg);
}

#[test]
fn a_saved_plan_is_refused_naming_the_account_it_moves_when_that_account_moved_meanwhile() {
    let (_dir, ws, cfg) = demo_with_config();
    let out = vend_in(&ws, &cfg, &["plan", "--out", "p.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    // data-dev (which the plan moves from Sandbox to Workloads/dev) is moved to prod meanwhile.
    edit_state(&ws, |s| {
        let accounts = s["accounts"].as_array_mut().unwrap();
        let a = accounts.iter_mut().find(|a| a["name"] == "data-dev").unwrap();
        a["parent_id"] = json!("ou-4f2a-prd9g0h1");
    });
    let before = fs::read(ws.join(".vend/state.json")).unwrap();
    let out = vend_in(&ws, &cfg, &["apply", "p.json", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("is stale") && err.contains("account:data-dev changed since it was planned"),
        "{err}"
    );
    assert!(err.contains("ou-4f2a-sbx2j3k4") && err.contains("ou-4f2a-prd9g0h1"), "what moved: {err}");
    assert!(err.contains("run `vend plan` again"), "{err}");
    // Nothing was applied or logged.
    assert_eq!(fs::read(ws.join(".vend/state.json")).unwrap(), before);
    assert!(!ws.join(".vend/audit.jsonl").exists());
    verify(&ws, &cfg);
}

#[test]
fn a_saved_plan_is_refused_naming_the_change_and_the_rule_when_scps_were_attached_meanwhile() {
    let (_dir, ws, cfg) = demo_with_config();
    let out = vend_in(&ws, &cfg, &["plan", "--out", "p.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    // Outside vend, three more SCPs are attached to Sandbox, where the plan attaches region-guard
    // before detaching deny-leave-org: AWS's five-per-target limit would now refuse that order.
    edit_state(&ws, |s| {
        let policies = s["policies"].as_array_mut().unwrap();
        let content = policies[0]["content"].clone();
        for i in 1..=3 {
            policies.push(json!({
                "id": format!("p-outside{i:04}"), "name": format!("outside-{i}"),
                "type": "SERVICE_CONTROL_POLICY", "aws_managed": false, "content": content,
                "target_ids": ["ou-4f2a-sbx2j3k4"], "tags": {}
            }));
        }
    });
    let out = vend_in(&ws, &cfg, &["apply", "p.json", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = text(&out.stderr);
    // What moved (planned now, the detach goes first) and why the saved order would fail.
    assert!(
        err.contains("policy_attachment:region-guard@ou:Sandbox changed since it was planned (depends_on:"),
        "{err}"
    );
    assert!(err.contains("policy_attachment:region-guard@ou:Sandbox: apply would fail"), "{err}");
    assert!(err.contains("(rule organizations.scp-max-per-target"), "the AWS rule is named: {err}");
    assert!(!ws.join(".vend/audit.jsonl").exists(), "nothing applied");
}

#[test]
fn a_saved_plan_is_refused_naming_the_account_and_the_rule_when_its_e_mail_was_taken_meanwhile() {
    let (_dir, ws, cfg) = demo_with_config();
    let out = vend_in(&ws, &cfg, &["plan", "--out", "p.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    // Outside vend, an account is created with the e-mail the plan's new account asks for.
    edit_state(&ws, |s| {
        s["accounts"].as_array_mut().unwrap().push(json!({
            "id": "999999999999", "name": "someone-else", "email": "aws+search-staging@example.com",
            "state": "ACTIVE", "parent_id": "r-4f2a", "tags": {}
        }));
    });
    let out = vend_in(&ws, &cfg, &["apply", "p.json", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("account:search-staging changed since it was planned (it is not planned any more)"),
        "{err}"
    );
    assert!(err.contains("planned now: error[email-in-use]"), "{err}");
    assert!(err.contains("account:search-staging: apply would fail"), "{err}");
    assert!(err.contains("(rule organizations.email-unique"), "the AWS rule is named: {err}");
    assert!(!ws.join(".vend/audit.jsonl").exists(), "nothing applied");
}

#[test]
fn pinning_an_operator_keeps_a_saved_plan_but_another_vend_yaml_edit_voids_it() {
    let (_dir, ws, cfg) = demo_with_config();
    let out = vend_in(&ws, &cfg, &["plan", "--out", "p.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let (operator, _) = keys::load_or_create(KeyStore::FileOnly, &cfg, "tester").unwrap();
    let settings = ws.join("catalog/vend.yaml");
    let original = fs::read_to_string(&settings).unwrap();
    let pinned = original.replace(
        "protected:",
        &format!("operators:\n  # the team\n  tester: {}\nprotected:", operator.public_key_hex),
    );
    fs::write(&settings, &pinned).unwrap();
    let out = vend_in(&ws, &cfg, &["apply", "p.json", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    verify(&ws, &cfg);
    // Any other line of vend.yaml is part of the basis.
    let out = vend_in(&ws, &cfg, &["plan", "--out", "q.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    fs::write(
        &settings,
        pinned.replace("protected: [\"111111111111\"]", "protected: [\"111111111111\", \"280519374126\"]"),
    )
    .unwrap();
    let out = vend_in(&ws, &cfg, &["apply", "q.json", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(text(&out.stderr).contains("workspace (catalog/ or blueprints/) changed"), "{}", describe(&out));
}

#[test]
fn a_plan_saved_when_pins_were_hashed_still_applies() {
    let (_dir, ws, cfg) = demo_with_config();
    let (operator, _) = keys::load_or_create(KeyStore::FileOnly, &cfg, "tester").unwrap();
    let settings = ws.join("catalog/vend.yaml");
    let pinned = format!(
        "{}operators:\n  tester: {}\n",
        fs::read_to_string(&settings).unwrap(),
        operator.public_key_hex
    );
    fs::write(&settings, pinned).unwrap();
    let out = vend_in(&ws, &cfg, &["plan", "--out", "p.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    // What the previous version wrote: the workspace fingerprint over every byte, pins included.
    let files = vend::adapter::fs::read_workspace(&ws).unwrap();
    assert_ne!(files.fingerprint(), files.legacy_fingerprint());
    let mut plan = vend::adapter::fs::read_plan(&ws.join("p.json")).unwrap();
    assert_eq!(plan.basis.workspace, files.fingerprint());
    plan.basis.workspace = files.legacy_fingerprint();
    vend::adapter::fs::write_plan(&ws.join("old.json"), &plan.reseal()).unwrap();
    let out = vend_in(&ws, &cfg, &["apply", "old.json", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    verify(&ws, &cfg);
}
