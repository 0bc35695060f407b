//! OU renames in place (`renamed_from:`, issue 13 item 3) on the embedded backend, through the
//! binary: on the converged demo, renaming `Workloads/dev` plans exactly one `rename` change;
//! applying it keeps the OU's id, its accounts, its SCP attachments and the portfolio's shares,
//! sends one UpdateOrganizationalUnit (no OU created or deleted, no account moved), and the
//! re-plan is empty. A parent and its child renamed in one plan apply the same way.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use serde_json::Value;
use std::fs;
use std::path::Path;
use vend::model::State;

fn vend_ok(ws: &Path, cfg: &Path, args: &[&str]) -> String {
    let out = vend_in(ws, cfg, args);
    assert_eq!(out.status.code(), Some(0), "vend {args:?}\n{}\n{}", text(&out.stdout), text(&out.stderr));
    text(&out.stdout)
}

fn state(ws: &Path) -> State {
    vend::adapter::fs::read_state(&ws.join(".vend/state.json")).unwrap()
}

fn plan_json(ws: &Path, cfg: &Path) -> Value {
    serde_json::from_str(&vend_ok(ws, cfg, &["plan", "--json"])).unwrap()
}

/// The OU tree of the demo's organization.yaml with `edit` applied to its text.
fn edit_organization(ws: &Path, edit: &[(&str, &str)]) {
    let path = ws.join("catalog/organization.yaml");
    let mut y = fs::read_to_string(&path).unwrap();
    for (from, to) in edit {
        assert!(y.contains(from), "organization.yaml has no {from:?}");
        y = y.replace(from, to);
    }
    fs::write(&path, y).unwrap();
}

/// What a rename must leave alone: accounts' parents, SCP targets, portfolio shares, OU ids.
fn untouched(s: &State) -> Value {
    let mut accounts: Vec<_> = s.accounts.iter().map(|a| (a.id.clone(), a.parent_id.clone())).collect();
    accounts.sort();
    let mut targets: Vec<_> = s.policies.iter().map(|p| (p.id.clone(), p.target_ids.clone())).collect();
    targets.sort();
    let shares = serde_json::to_value(s.portfolios.iter().map(|p| &p.shares).collect::<Vec<_>>()).unwrap();
    let mut ous: Vec<_> = s.organizational_units.iter().map(|o| o.id.clone()).collect();
    ous.sort();
    serde_json::json!({ "accounts": accounts, "targets": targets, "shares": shares, "ous": ous })
}

/// The calls of the audit log's intents after record `from`.
fn calls_after(ws: &Path, from: usize) -> Vec<String> {
    let records = vend::adapter::audit::read(&ws.join(".vend/audit.jsonl")).unwrap();
    records[from..]
        .iter()
        .filter(|r| r.event == "intent")
        .map(|r| r.detail["call"]["op"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn converged_demo() -> (tempfile::TempDir, tempfile::TempDir) {
    let ws = demo_workspace();
    let cfg = tempfile::tempdir().unwrap();
    vend_ok(ws.path(), cfg.path(), &["apply", "--auto-approve"]);
    assert!(changes(&plan_json(ws.path(), cfg.path())).is_empty());
    (ws, cfg)
}

#[test]
fn renaming_workloads_dev_is_one_change_that_keeps_the_ou_and_everything_in_it() {
    let (ws, cfg) = converged_demo();
    let (ws, cfg) = (ws.path(), cfg.path());
    let before = state(ws);
    let dev = before.organizational_units.iter().find(|o| o.name == "dev").unwrap().clone();
    let log_len = vend::adapter::audit::read(&ws.join(".vend/audit.jsonl")).unwrap().len();

    edit_organization(ws, &[("      dev: {}", "      devs: { renamed_from: dev }")]);
    let plan = plan_json(ws, cfg);
    assert_eq!(changes(&plan), vec![("ou:Workloads/devs".to_string(), "rename".to_string())], "{plan:#}");
    assert_eq!(plan["summary"]["rename"], 1);
    assert_eq!(plan["applyable"], true);
    let c = &plan["changes"][0];
    assert_eq!((c["before"]["id"].as_str(), c["after"]["id"].as_str()), (Some(&*dev.id), Some(&*dev.id)));
    assert_eq!((c["before"]["name"].as_str(), c["after"]["name"].as_str()), (Some("dev"), Some("devs")));
    assert_eq!(c["before"]["path"], "Workloads/dev");
    let shown = vend_ok(ws, cfg, &["plan"]);
    assert!(shown.contains("~> ou:Workloads/devs  rename  (renamed from Workloads/dev)"), "{shown}");
    assert!(shown.contains("1 to rename."), "{shown}");

    vend_ok(ws, cfg, &["apply", "--auto-approve"]);
    let after = state(ws);
    let renamed = after.organizational_units.iter().find(|o| o.id == dev.id).unwrap();
    assert_eq!((renamed.name.as_str(), renamed.parent_id.as_str()), ("devs", dev.parent_id.as_str()));
    assert_eq!(untouched(&after), untouched(&before), "accounts, attachments, shares or OU ids changed");
    assert_eq!(calls_after(ws, log_len), vec!["UpdateOrganizationalUnit".to_string()]);

    // The blueprints still say Workloads/{environment}: the old path keeps meaning the renamed
    // OU, so renamed_from stays needed and nothing is hinted.
    let replan = plan_json(ws, cfg);
    assert!(changes(&replan).is_empty(), "{replan:#}");
    assert!(
        !replan["diagnostics"].as_array().unwrap().iter().any(|d| d["code"] == "renamed-from-done"),
        "{replan:#}"
    );
    vend_ok(ws, cfg, &["audit", "verify"]);
}

#[test]
fn a_parent_and_its_child_renamed_in_one_plan() {
    let (ws, cfg) = converged_demo();
    let (ws, cfg) = (ws.path(), cfg.path());
    let before = state(ws);
    let log_len = vend::adapter::audit::read(&ws.join(".vend/audit.jsonl")).unwrap().len();
    edit_organization(
        ws,
        &[
            ("  Workloads:\n", "  Apps:\n    renamed_from: Workloads\n"),
            ("      dev: {}", "      devs: { renamed_from: dev }"),
        ],
    );
    let plan = plan_json(ws, cfg);
    assert_eq!(
        changes(&plan),
        vec![
            ("ou:Apps".to_string(), "rename".to_string()),
            ("ou:Apps/devs".to_string(), "rename".to_string())
        ],
        "{plan:#}"
    );
    vend_ok(ws, cfg, &["apply", "--auto-approve"]);
    let after = state(ws);
    assert_eq!(untouched(&after), untouched(&before));
    let names: Vec<(&str, &str)> =
        after.organizational_units.iter().map(|o| (o.id.as_str(), o.name.as_str())).collect();
    for (old, new) in [("Workloads", "Apps"), ("dev", "devs")] {
        let id = &before.organizational_units.iter().find(|o| o.name == old).unwrap().id;
        assert!(names.contains(&(id.as_str(), new)), "{old} -> {new}: {names:?}");
    }
    assert_eq!(calls_after(ws, log_len), vec!["UpdateOrganizationalUnit"; 2]);
    assert!(changes(&plan_json(ws, cfg)).is_empty());
}

/// An applied `renamed_from:` that nothing names by its old path any more is inert: the plan
/// stays empty and a warning says it can go.
#[test]
fn an_applied_rename_that_nothing_names_is_hinted() {
    let (ws, cfg) = converged_demo();
    let (ws, cfg) = (ws.path(), cfg.path());
    edit_organization(ws, &[("root_policies:", "  Labs: {}\nroot_policies:")]);
    assert_eq!(changes(&plan_json(ws, cfg)), vec![("ou:Labs".to_string(), "create".to_string())]);
    vend_ok(ws, cfg, &["apply", "--auto-approve"]);
    edit_organization(ws, &[("  Labs: {}", "  Lab: { renamed_from: Labs }")]);
    let plan = plan_json(ws, cfg);
    assert_eq!(changes(&plan), vec![("ou:Lab".to_string(), "rename".to_string())], "{plan:#}");
    assert!(!plan["diagnostics"].as_array().unwrap().iter().any(|d| d["code"] == "renamed-from-done"));
    vend_ok(ws, cfg, &["apply", "--auto-approve"]);
    let plan = plan_json(ws, cfg);
    assert!(changes(&plan).is_empty(), "{plan:#}");
    let hint: Vec<&Value> =
        plan["diagnostics"].as_array().unwrap().iter().filter(|d| d["code"] == "renamed-from-done").collect();
    assert_eq!(hint.len(), 1, "{plan:#}");
    assert_eq!(hint[0]["severity"], "warning");
    assert_eq!(hint[0]["file"], "catalog/organization.yaml");
    assert!(hint[0]["message"].as_str().unwrap().contains("'Labs'"), "{}", hint[0]);
}
