//! Files written by vend 0.1.0 (`tests/fixtures/compat/v0.1/`, see its README) still load,
//! apply and verify: the demo plan is the same to the byte, an old saved plan shows and applies,
//! an old state file plans, and an old audit log verifies and grows.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use std::fs;
use std::path::{Path, PathBuf};

fn fixture() -> PathBuf {
    root().join("tests/fixtures/compat/v0.1")
}

/// A temp dir with the frozen workspace in `ws/` (its state file seeded from `state`) and the
/// fixture's operator key in `config/`.
fn setup(state: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    copy_dir(&fixture().join("workspace"), &ws);
    fs::create_dir_all(ws.join(".vend")).unwrap();
    fs::copy(fixture().join(state), ws.join(".vend/state.json")).unwrap();
    let config = dir.path().join("config");
    copy_dir(&fixture().join("cfg"), &config);
    // git keeps no file modes but the executable bit, and vend refuses a key file others can read.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = config.join("vend/operator.key");
        fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    }
    (dir, ws, config)
}

fn ok(out: &std::process::Output) -> String {
    assert_eq!(out.status.code(), Some(0), "stdout:\n{}\nstderr:\n{}", text(&out.stdout), text(&out.stderr));
    text(&out.stdout)
}

/// The JSON document without its top-level `created_at` and `digest` lines (the only parts
/// that differ between two runs).
fn without_time_and_digest(json: &str) -> String {
    json.lines()
        .filter(|l| !l.starts_with("  \"created_at\": ") && !l.starts_with("  \"digest\": "))
        .collect::<Vec<_>>()
        .join("\n")
}

fn state_without_time(path: &Path) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    let o = v.as_object_mut().unwrap();
    o.shift_remove("captured_at");
    o.shift_remove("digest");
    o.shift_remove("source");
    v
}

#[test]
fn the_demo_plan_is_the_same_to_the_byte() {
    let (_dir, ws, config) = setup("state.before.json");
    let out = vend_in(&ws, &config, &["plan"]);
    assert_eq!(ok(&out), fs::read_to_string(fixture().join("plan.txt")).unwrap());
    let out = vend_in(&ws, &config, &["plan", "--json"]);
    let old = fs::read_to_string(fixture().join("plan.json")).unwrap();
    assert_eq!(without_time_and_digest(&ok(&out)), without_time_and_digest(&old));
}

#[test]
fn an_old_saved_plan_shows_and_applies_to_the_same_state() {
    let (_dir, ws, config) = setup("state.before.json");
    let plan = fixture().join("saved.plan.json");
    let plan = plan.to_str().unwrap();
    let shown = ok(&vend_in(&ws, &config, &["show", plan]));
    assert!(shown.contains("Plan: 8 to create, 2 to update, 1 to move"), "{shown}");
    // `--parallelism 1`: the old version applied one step at a time, and the embedded backend
    // mints ids in call order, so only the plan's order reproduces its ids (at the default
    // parallelism the same changes are made, with other ids).
    let out = vend_in(&ws, &config, &["apply", plan, "--auto-approve", "--parallelism", "1"]);
    ok(&out);
    assert_eq!(
        state_without_time(&ws.join(".vend/state.json")),
        state_without_time(&fixture().join("state.after.json")),
        "the new version's apply of the old plan leaves another state than the old version's did"
    );
    let out = vend_in(&ws, &config, &["plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    ok(&vend_in(&ws, &config, &["audit", "verify"]));
}

#[test]
fn an_old_state_file_plans_no_changes_and_an_old_log_verifies_and_grows() {
    let (_dir, ws, config) = setup("state.after.json");
    fs::copy(fixture().join("audit.jsonl"), ws.join(".vend/audit.jsonl")).unwrap();
    fs::copy(fixture().join("audit.head"), ws.join(".vend/audit.head")).unwrap();
    let out = vend_in(&ws, &config, &["plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    ok(&vend_in(&ws, &config, &["audit", "verify"]));
    let listed = ok(&vend_in(&ws, &config, &["audit", "log", "--json"]));
    let listed: Vec<serde_json::Value> = listed.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let old_records = fs::read_to_string(fixture().join("audit.jsonl")).unwrap().lines().count();
    assert_eq!(listed.len(), old_records);
    assert_eq!(listed[0]["event"], "apply-start", "{:?}", listed[0]);

    // One more change applied by this version: appended to the old chain, which still verifies.
    let request = ws.join("catalog/accounts/payments-prod.yaml");
    let yaml = fs::read_to_string(&request).unwrap();
    assert!(yaml.contains("\"4712\""), "{yaml}");
    fs::write(&request, yaml.replace("\"4712\"", "\"4713\"")).unwrap();
    ok(&vend_in(&ws, &config, &["apply", "--auto-approve"]));
    ok(&vend_in(&ws, &config, &["audit", "verify"]));
    let grown = fs::read_to_string(ws.join(".vend/audit.jsonl")).unwrap().lines().count();
    assert!(grown > old_records, "{grown} records after the apply, {old_records} before");
    let out = vend_in(&ws, &config, &["plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}
