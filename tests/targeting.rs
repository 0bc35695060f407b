//! `--target ADDRESS` / `--exclude ADDRESS` on `plan` and `apply` (issue 17 part 6), through the
//! real binary on the embedded backend: the closures (a target brings what it depends on, an
//! exclusion takes what depends on it), the plan's `excluded` list as saved and shown, an
//! address that is no change, applying only the closure (saved or planned now), and errors on
//! excluded changes not counting against the rest.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Output;

fn describe(out: &Output) -> String {
    format!("exit {:?}\nstdout:\n{}\nstderr:\n{}", out.status.code(), text(&out.stdout), text(&out.stderr))
}

fn plan_json(ws: &Path, cfg: &Path, args: &[&str]) -> Value {
    let out = vend_in(ws, cfg, &[&["plan", "--json"], args].concat());
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn addresses(list: &Value) -> BTreeSet<String> {
    list.as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_string)).collect()
}

fn change_addresses(plan: &Value) -> Vec<String> {
    plan["changes"].as_array().unwrap().iter().map(|c| c["address"].as_str().unwrap().to_string()).collect()
}

/// `address` with everything it depends on in `plan` (from the JSON, independently of vend).
fn needs(plan: &Value, address: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut todo = vec![address.to_string()];
    while let Some(a) = todo.pop() {
        if out.insert(a.clone()) {
            let c = plan["changes"].as_array().unwrap().iter().find(|c| c["address"] == a.as_str()).unwrap();
            todo.extend(addresses(&c["depends_on"]));
        }
    }
    out
}

#[test]
fn a_target_keeps_what_it_depends_on_and_an_exclusion_takes_its_dependents() {
    let (_dir, ws, cfg) = demo_with_config();
    let full = plan_json(&ws, &cfg, &[]);
    let all: BTreeSet<String> = change_addresses(&full).into_iter().collect();
    assert!(full.get("excluded").is_none());
    // search-staging needs its new OU (and whatever else it depends on).
    let wanted = needs(&full, "account:search-staging");
    assert!(wanted.contains("ou:Workloads/staging"), "{wanted:?}");
    let targeted = plan_json(&ws, &cfg, &["--target", "account:search-staging"]);
    assert_eq!(change_addresses(&targeted), change_addresses(&full), "the JSON keeps every change");
    assert_eq!(targeted["plan_id"], full["plan_id"], "the plan id does not change");
    assert_eq!(targeted["summary"], full["summary"], "summary counts every change (JSON contract)");
    let excluded = addresses(&targeted["excluded"]);
    assert_eq!(excluded, all.difference(&wanted).cloned().collect::<BTreeSet<_>>());
    // The list is in plan order.
    let order: Vec<String> = change_addresses(&full).into_iter().filter(|a| excluded.contains(a)).collect();
    let listed: Vec<String> =
        targeted["excluded"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    assert_eq!(listed, order);
    // Excluding the OU takes the account (which depends on it) with it.
    let without = plan_json(&ws, &cfg, &["--exclude", "ou:Workloads/staging"]);
    let excluded = addresses(&without["excluded"]);
    assert!(
        excluded.contains("ou:Workloads/staging") && excluded.contains("account:search-staging"),
        "{excluded:?}"
    );
    for c in full["changes"].as_array().unwrap() {
        let a = c["address"].as_str().unwrap();
        let deps = addresses(&c["depends_on"]);
        if !excluded.contains(a) {
            assert!(deps.is_disjoint(&excluded), "{a} is kept but depends on an excluded change");
        }
    }
    // Both: the target's closure minus the exclusion's.
    let both =
        plan_json(&ws, &cfg, &["--target", "account:search-staging", "--exclude", "ou:Workloads/staging"]);
    assert_eq!(addresses(&both["excluded"]), all, "the account needs the excluded OU: nothing is left");
}

#[test]
fn an_address_that_is_no_change_is_an_error_naming_it() {
    let (_dir, ws, cfg) = demo_with_config();
    let out = vend_in(&ws, &cfg, &["plan", "--target", "account:search-stagin"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("--target account:search-stagin matches no change of the plan"), "{err}");
    assert!(err.contains("did you mean account:search-staging?"), "{err}");
    let out = vend_in(&ws, &cfg, &["apply", "--exclude", "account:nobody", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(text(&out.stderr).contains("--exclude account:nobody matches no change"), "{}", describe(&out));
    assert!(!ws.join(".vend/audit.jsonl").exists(), "nothing applied");
    // Not an address at all: a usage error.
    let out = vend_in(&ws, &cfg, &["plan", "--target", "search-staging"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(text(&out.stderr).contains("is not <kind>:<key>"), "{}", describe(&out));
    // A saved plan is applied as saved: targeting it is refused.
    let out = vend_in(&ws, &cfg, &["apply", "p.json", "--target", "account:search-staging"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
}

#[test]
fn a_targeted_saved_plan_shows_and_applies_only_the_closure() {
    let (_dir, ws, cfg) = demo_with_config();
    let full = plan_json(&ws, &cfg, &[]);
    let wanted = needs(&full, "account:search-staging");
    let out = vend_in(&ws, &cfg, &["plan", "--target", "account:search-staging", "--out", "f.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let left_out = full["changes"].as_array().unwrap().len() - wanted.len();
    let shown = text(&out.stdout);
    assert!(
        shown.contains(&format!("{left_out} of ")) && shown.contains("left out by --target/--exclude"),
        "{shown}"
    );
    assert!(shown.contains("+ account:search-staging") && !shown.contains("-> account:data-dev"), "{shown}");
    assert!(shown.contains(&format!("Plan: {} to create", wanted.len())), "{shown}");
    // `show` renders the same selection; its JSON keeps every change and the list.
    let out = vend_in(&ws, &cfg, &["show", "f.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(text(&out.stdout), shown.replace("Saved the plan to f.json.\n", ""));
    let out = vend_in(&ws, &cfg, &["show", "f.json", "--json"]);
    let saved: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(saved["changes"].as_array().unwrap().len(), full["changes"].as_array().unwrap().len());
    assert_eq!(addresses(&saved["excluded"]).len(), left_out);
    // Applying it applies exactly the closure; the next plan is everything else.
    let out = vend_in(&ws, &cfg, &["apply", "f.json", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        text(&out.stdout).contains(&format!("Apply complete! {} change(s) applied", wanted.len())),
        "{}",
        describe(&out)
    );
    let after = plan_json(&ws, &cfg, &[]);
    let rest: BTreeSet<String> = change_addresses(&after).into_iter().collect();
    assert!(rest.is_disjoint(&wanted), "{rest:?}");
    assert_eq!(rest.len(), left_out, "{rest:?}");
    let out = vend_in(&ws, &cfg, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
}

#[test]
fn apply_with_a_target_plans_and_applies_only_that() {
    let (_dir, ws, cfg) = demo_with_config();
    let out = vend_in(&ws, &cfg, &["apply", "--target", "account:data-dev", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("-> account:data-dev") && stdout.contains("left out by --target/--exclude"),
        "{stdout}"
    );
    assert!(stdout.contains("Apply complete! 1 change(s) applied"), "{stdout}");
    let after = plan_json(&ws, &cfg, &[]);
    assert!(!change_addresses(&after).contains(&"account:data-dev".to_string()));
    assert!(change_addresses(&after).contains(&"account:search-staging".to_string()));
}

#[test]
fn errors_on_excluded_changes_do_not_block_the_rest() {
    let (_dir, ws, cfg) = demo_with_config();
    assert_eq!(vend_in(&ws, &cfg, &["plan"]).status.code(), Some(0));
    // payments-prod is at AWS's 50-tag limit (45 tags added outside vend), and its request adds
    // a tag: the plan's promise check finds that change would fail, so the plan as a whole
    // cannot be applied.
    let path = ws.join(".vend/state.json");
    let mut state: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    state.as_object_mut().unwrap().remove("digest");
    let accounts = state["accounts"].as_array_mut().unwrap();
    let prod = accounts.iter_mut().find(|a| a["name"] == "payments-prod").unwrap();
    for i in 0..45 {
        prod["tags"][format!("finance:label-{i:02}")] = json!("x");
    }
    fs::write(&path, serde_json::to_string_pretty(&state).unwrap()).unwrap();
    let request = ws.join("catalog/accounts/payments-prod.yaml");
    let text_ = fs::read_to_string(&request)
        .unwrap()
        .replace("data-class: confidential", "data-class: confidential, backup: daily");
    fs::write(&request, text_).unwrap();
    let out = vend_in(&ws, &cfg, &["plan"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(text(&out.stdout).contains("account:payments-prod: apply would fail"), "{}", describe(&out));
    // Leaving that change out, the rest is applyable (and checked without it).
    let out = vend_in(&ws, &cfg, &["plan", "--exclude", "account:payments-prod", "--out", "rest.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let saved: Value = serde_json::from_slice(&fs::read(ws.join("rest.json")).unwrap()).unwrap();
    assert_eq!(saved["applyable"], json!(true));
    assert!(saved["diagnostics"].as_array().unwrap().iter().all(|d| d["code"] != "apply-would-fail"));
    let out = vend_in(&ws, &cfg, &["show", "rest.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let out = vend_in(&ws, &cfg, &["apply", "rest.json", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let after = plan_json_any(&ws, &cfg);
    assert_eq!(change_addresses(&after), ["account:payments-prod"], "only the excluded change is left");
    // Targeting it alone keeps the error: the plan is not applyable.
    let out = vend_in(&ws, &cfg, &["plan", "--target", "account:payments-prod"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
}

/// The plan as JSON whatever its exit code.
fn plan_json_any(ws: &Path, cfg: &Path) -> Value {
    let out = vend_in(ws, cfg, &["plan", "--json"]);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&out)))
}
