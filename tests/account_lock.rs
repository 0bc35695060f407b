//! Account blueprint versions are immutable once published (issue 13, item 5):
//! `blueprints/accounts.lock` records the hash of every version a vend-managed account uses,
//! `vend apply` adds the versions it finds in use, an edit of a locked version is
//! `version-modified` naming the file, a workspace without the lock plans as before, and an
//! edited lock is an error or a warning. (The same check against the emulator's state:
//! `tests/aws_apply.rs`.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use serde_json::Value;
use std::fs;
use std::path::Path;

const LOCK: &str = "blueprints/accounts.lock";
const WORKLOAD_V1: &str = "blueprints/accounts/workload/v1.yaml";

fn plan_json(ws: &Path, cfg: &Path) -> (Option<i32>, Value, String) {
    let out = vend_in(ws, cfg, &["plan", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", text(&out.stdout), text(&out.stderr)));
    (out.status.code(), v, text(&out.stderr))
}

fn diags<'a>(plan: &'a Value, code: &str) -> Vec<&'a Value> {
    plan["diagnostics"].as_array().unwrap().iter().filter(|d| d["code"] == code).collect()
}

/// The changes (address, action) and diagnostics (code, file) of a plan: what it asks for.
type Pairs = Vec<(String, String)>;

fn shape(plan: &Value) -> (Pairs, Pairs) {
    let changes = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["address"].as_str().unwrap().into(), c["action"].as_str().unwrap().into()))
        .collect();
    let diagnostics = plan["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["code"].as_str().unwrap().into(), d["file"].as_str().unwrap_or("").into()))
        .collect();
    (changes, diagnostics)
}

fn edit(ws: &Path, file: &str, from: &str, to: &str) {
    let path = ws.join(file);
    let before = fs::read_to_string(&path).unwrap();
    assert!(before.contains(from), "{file} has no '{from}':\n{before}");
    fs::write(&path, before.replacen(from, to, 1)).unwrap();
}

fn lock_entries(ws: &Path) -> Vec<String> {
    fs::read_to_string(ws.join(LOCK))
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .map(|l| l.split(':').next().unwrap().to_string())
        .collect()
}

#[test]
fn an_edit_of_the_demos_published_workload_v1_is_an_error_naming_the_file() {
    let (_dir, ws, cfg) = demo_with_config();
    // On main this retags every workload@v1 account (data-class: confidential).
    edit(&ws, WORKLOAD_V1, "data-class: internal", "data-class: confidential");
    let (code, plan, _) = plan_json(&ws, &cfg);
    assert_eq!(code, Some(1), "{plan:#}");
    assert_eq!(plan["applyable"], false);
    assert!(plan["changes"].as_array().unwrap().is_empty(), "nothing is planned: {plan:#}");
    let found = diags(&plan, "version-modified");
    assert_eq!(found.len(), 1, "{plan:#}");
    assert_eq!(found[0]["severity"], "error");
    assert_eq!(found[0]["file"], WORKLOAD_V1);
    let msg = found[0]["message"].as_str().unwrap();
    assert!(msg.contains("workload@v1") && msg.contains(LOCK) && msg.contains("new version"), "{msg}");
    // `vend validate` needs no state and says the same.
    let out = vend_in(&ws, &cfg, &["validate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(&format!("error[version-modified]: {WORKLOAD_V1}:1:1")),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn deprecating_a_published_version_is_not_an_edit() {
    let (_dir, ws, cfg) = demo_with_config();
    let (_, before, _) = plan_json(&ws, &cfg);
    edit(
        &ws,
        WORKLOAD_V1,
        "deprecated: true                       # use v2 (staging stage, baseline pipeline)\n",
        "",
    );
    let (code, plan, _) = plan_json(&ws, &cfg);
    assert_eq!(code, Some(0), "{plan:#}");
    assert!(diags(&plan, "version-modified").is_empty(), "{plan:#}");
    // Only the deprecation warning went away.
    assert_eq!(diags(&before, "blueprint-deprecated-in-use").len(), 1);
    assert!(diags(&plan, "blueprint-deprecated-in-use").is_empty());
    assert_eq!(shape(&plan).0, shape(&before).0);
}

#[test]
fn a_new_version_passes_apply_records_it_and_then_it_is_immutable() {
    let (_dir, ws, cfg) = demo_with_config();
    let v2 = fs::read_to_string(ws.join("blueprints/accounts/workload/v2.yaml")).unwrap();
    fs::write(
        ws.join("blueprints/accounts/workload/v4.yaml"),
        v2.replace("data-class: internal", "data-class: confidential"),
    )
    .unwrap();
    edit(&ws, "catalog/accounts/data-dev.yaml", "workload@v1", "workload@v4");
    let (code, plan, _) = plan_json(&ws, &cfg);
    assert_eq!(code, Some(0), "{plan:#}");
    assert!(diags(&plan, "version-modified").is_empty(), "{plan:#}");
    assert_eq!(lock_entries(&ws), ["sandbox@v1", "security@v1", "workload@v1"]);

    let out = vend_in(&ws, &cfg, &["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out.stdout), text(&out.stderr));
    // workload@v2 (search-staging) and workload@v3 (checkout-staging), created, and workload@v4
    // (data-dev, retagged) are in use now.
    assert!(
        text(&out.stderr)
            .contains(&format!("recorded workload@v2, workload@v3, workload@v4 as published in {LOCK}")),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        lock_entries(&ws),
        ["sandbox@v1", "security@v1", "workload@v1", "workload@v2", "workload@v3", "workload@v4"]
    );
    let out = vend_in(&ws, &cfg, &["plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "re-plan not empty:\n{}", text(&out.stdout));

    // v4 is published now: editing it is refused, a v5 is not.
    edit(&ws, "blueprints/accounts/workload/v4.yaml", "confidential", "restricted");
    let (code, plan, _) = plan_json(&ws, &cfg);
    assert_eq!(code, Some(1));
    assert_eq!(diags(&plan, "version-modified")[0]["file"], "blueprints/accounts/workload/v4.yaml");
    edit(&ws, "blueprints/accounts/workload/v4.yaml", "restricted", "confidential");
    let (code, plan, _) = plan_json(&ws, &cfg);
    assert_eq!(code, Some(0), "restored: {plan:#}");
}

#[test]
fn without_a_lock_a_workspace_plans_as_before_and_the_first_apply_writes_it() {
    let (_dir, ws, cfg) = demo_with_config();
    let (_, with_lock, _) = plan_json(&ws, &cfg);
    fs::remove_file(ws.join(LOCK)).unwrap();
    let (code, without, _) = plan_json(&ws, &cfg);
    assert_eq!(code, Some(0));
    assert_eq!(shape(&without), shape(&with_lock), "the lock changes nothing while files match it");
    // Not checked without a lock (a workspace from before the lock): the edit plans retags.
    edit(&ws, WORKLOAD_V1, "data-class: internal", "data-class: confidential");
    let (code, plan, _) = plan_json(&ws, &cfg);
    assert_eq!(code, Some(0), "{plan:#}");
    assert!(diags(&plan, "version-modified").is_empty());
    edit(&ws, WORKLOAD_V1, "data-class: confidential", "data-class: internal");

    let out = vend_in(&ws, &cfg, &["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(lock_entries(&ws), ["sandbox@v1", "security@v1", "workload@v1", "workload@v2", "workload@v3"]);
    // The written lock is the demo's own plus workload@v2 and workload@v3 (now used by
    // search-staging and checkout-staging).
    let demo = fs::read_to_string(root().join(LOCK)).unwrap();
    let written = fs::read_to_string(ws.join(LOCK)).unwrap();
    for line in demo.lines() {
        assert!(written.lines().any(|l| l == line), "{line} missing from the written lock:\n{written}");
    }
    edit(&ws, WORKLOAD_V1, "data-class: internal", "data-class: confidential");
    let (code, plan, _) = plan_json(&ws, &cfg);
    assert_eq!(code, Some(1));
    assert_eq!(diags(&plan, "version-modified")[0]["file"], WORKLOAD_V1);
}

#[test]
fn a_converged_workspace_gets_its_lock_from_an_apply_with_nothing_to_apply() {
    let (_dir, ws, cfg) = demo_with_config();
    assert_eq!(vend_in(&ws, &cfg, &["apply", "--auto-approve"]).status.code(), Some(0));
    fs::remove_file(ws.join(LOCK)).unwrap();
    let out = vend_in(&ws, &cfg, &["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("No changes"), "{}", text(&out.stdout));
    assert_eq!(lock_entries(&ws), ["sandbox@v1", "security@v1", "workload@v1", "workload@v2", "workload@v3"]);
}

#[test]
fn hand_edits_of_the_lock_are_errors_or_warnings() {
    let (_dir, ws, cfg) = demo_with_config();
    let lock = fs::read_to_string(ws.join(LOCK)).unwrap();
    let hash = lock.lines().find_map(|l| l.strip_prefix("  workload@v1: ")).unwrap().to_string();

    // A changed hash: the file no longer matches what was published.
    let other = format!("{}0", &hash[..63]);
    let other = if other == hash { format!("{}1", &hash[..63]) } else { other };
    fs::write(ws.join(LOCK), lock.replace(&hash, &other)).unwrap();
    let (code, plan, _) = plan_json(&ws, &cfg);
    assert_eq!(code, Some(1));
    assert_eq!(diags(&plan, "version-modified")[0]["file"], WORKLOAD_V1);

    // A removed entry: a warning names the version, its accounts and the file no longer checked.
    fs::write(ws.join(LOCK), lock.replace(&format!("  workload@v1: {hash}\n"), "")).unwrap();
    let (code, plan, _) = plan_json(&ws, &cfg);
    assert_eq!(code, Some(0), "{plan:#}");
    let w = diags(&plan, "version-unlocked");
    assert_eq!(w.len(), 1, "{plan:#}");
    assert_eq!(w[0]["severity"], "warning");
    assert_eq!(w[0]["file"], WORKLOAD_V1);
    let msg = w[0]["message"].as_str().unwrap();
    assert!(msg.contains("workload@v1 is used by 7 account(s)") && msg.contains("payments-prod"), "{msg}");
    // …and the next apply records it again.
    assert_eq!(vend_in(&ws, &cfg, &["apply", "--auto-approve"]).status.code(), Some(0));
    assert!(fs::read_to_string(ws.join(LOCK)).unwrap().contains(&format!("  workload@v1: {hash}\n")));

    // Not a lock any more (a merge conflict left in it): an error at the lock's line.
    fs::write(ws.join(LOCK), format!("<<<<<<< HEAD\n{lock}=======\n>>>>>>> other\n")).unwrap();
    let (code, plan, _) = plan_json(&ws, &cfg);
    assert_eq!(code, Some(1));
    let errors: Vec<&Value> =
        plan["diagnostics"].as_array().unwrap().iter().filter(|d| d["severity"] == "error").collect();
    assert!(!errors.is_empty() && errors.iter().all(|d| d["file"] == LOCK), "{plan:#}");

    // A malformed entry.
    fs::write(ws.join(LOCK), format!("{lock}  workload-v9: nothex\n")).unwrap();
    let (code, plan, _) = plan_json(&ws, &cfg);
    assert_eq!(code, Some(1));
    let bad = diags(&plan, "bad-reference");
    assert_eq!(bad.len(), 1, "{plan:#}");
    assert_eq!(bad[0]["file"], LOCK);
    assert_eq!(bad[0]["line"], 8);
}
