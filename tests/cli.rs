//! The binary's contract (DESIGN §4–§5) on the demo workspace: output, exit codes, JSON shape,
//! determinism, saved plans, snapshots and state seeding. Each test asserts stdout, stderr and
//! the exit code together.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use std::collections::BTreeSet;
use std::fs;

/// A copy of the repository's demo workspace (catalog/, blueprints/, snapshots/).
fn demo() -> tempfile::TempDir {
    demo_workspace()
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON: {e}\n{}", text(&out.stderr)))
}

#[test]
fn demo_plan_shows_a_week_of_changes_and_seeds_the_state() {
    let ws = demo();
    let out = run(&["plan"], ws.path());
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("seeded .vend/state.json from"), "{stderr}");
    assert!(ws.path().join(".vend/state.json").exists());
    assert!(stdout.contains("Plan: "), "{stdout}");
    for needle in [
        "+ ou:Workloads/staging",
        "+ account:search-staging",
        "-> account:data-dev",
        "~ tags.cost-center: \"4711\" -> \"4712\"",
        "+ policy_attachment:region-guard@ou:Sandbox",
        "- policy_attachment:deny-leave-org@ou:Sandbox",
        "+             \"eu-central-1\",",
        "+ product_version:service-pipeline@v3",
        "~- product_version:service-pipeline@v1  deprecate",
        "+ portfolio_share:delivery-pipelines/ou:Sandbox",
        "+ provisioned_pipeline:checkout-prod/checkout-api",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }
    // Second run: the state exists, nothing is announced.
    let again = run(&["plan"], ws.path());
    assert_eq!(again.status.code(), Some(0));
    assert!(!text(&again.stderr).contains("seeded"));
    assert_eq!(again.stdout, out.stdout);
}

#[test]
fn demo_plan_json_follows_the_contract() {
    let ws = demo();
    let out = run(&["plan", "--json"], ws.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan = json(&out);
    let keys: BTreeSet<&str> = plan.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "format_version",
            "plan_id",
            "created_at",
            "basis",
            "applyable",
            "summary",
            "changes",
            "diagnostics",
            "effective_policies",
            "effective_access",
            "digest"
        ])
    );
    // The demo shows a deprecation with users, a guardrail warning and an effective-policy change.
    let codes: Vec<&str> =
        plan["diagnostics"].as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"blueprint-deprecated-in-use"), "{codes:?}");
    assert!(codes.contains(&"full-access-only"), "{codes:?}");
    let moved = &plan["effective_policies"][0];
    assert_eq!(moved["account"], "data-dev");
    assert_ne!(moved["before"], moved["after"]);
    assert_eq!(plan["format_version"], "1");
    assert!(plan["plan_id"].as_str().unwrap().starts_with("sha256:"));
    assert!(plan["basis"]["state"].as_str().unwrap().starts_with("sha256:"));
    assert!(plan["basis"]["workspace"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(plan["basis"]["source"], "state-file");
    assert_eq!(plan["applyable"], true);
    let changes = plan["changes"].as_array().unwrap();
    let kinds: BTreeSet<&str> = changes.iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert!(changes.len() >= 10, "{} changes", changes.len());
    assert!(kinds.len() >= 7, "kinds: {kinds:?}");
    for c in changes {
        let ck: BTreeSet<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            ck,
            BTreeSet::from(["address", "kind", "action", "before", "after", "depends_on", "reason"])
        );
        assert!(c["address"].as_str().unwrap().starts_with(&format!("{}:", c["kind"].as_str().unwrap())));
    }
    let summary = plan["summary"].as_object().unwrap();
    assert_eq!(summary.len(), 9);
    for (action, n) in summary {
        let count = changes.iter().filter(|c| c["action"] == action.as_str()).count() as u64;
        assert_eq!(n.as_u64().unwrap(), count, "summary.{action}");
    }
    // Dependencies point backwards: apply can run the list in order.
    let mut seen = BTreeSet::new();
    for c in changes {
        for d in c["depends_on"].as_array().unwrap() {
            assert!(seen.contains(d.as_str().unwrap()), "{} depends on later {d}", c["address"]);
        }
        seen.insert(c["address"].as_str().unwrap());
    }
}

#[test]
fn same_inputs_give_byte_identical_plans_apart_from_created_at() {
    let ws = demo();
    let a = run(&["plan", "--json"], ws.path());
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let b = run(&["plan", "--json"], ws.path());
    let strip = |o: &std::process::Output| {
        text(&o.stdout)
            .lines()
            // The digest covers the whole document, created_at included.
            .filter(|l| {
                !l.trim_start().starts_with("\"created_at\"") && !l.trim_start().starts_with("\"digest\"")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&a), strip(&b));
    assert_eq!(json(&a)["plan_id"], json(&b)["plan_id"]);
}

#[test]
fn detailed_exitcode_is_2_with_changes() {
    let ws = demo();
    let out = run(&["plan", "--detailed-exitcode"], ws.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Plan: "));
}

#[test]
fn a_matching_state_gives_no_changes_and_exit_0() {
    let base = root().join("tests/fixtures/plan/_base");
    let state = base.join("state.json");
    let out = vend()
        .args([
            "-C",
            base.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
            "plan",
            "--detailed-exitcode",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("No changes."), "{}", text(&out.stdout));
    assert!(!base.join(".vend").exists(), "an explicit --state must not seed anything");
}

#[test]
fn saved_plans_render_like_the_plan() {
    let ws = demo();
    let out = run(&["plan", "--out", "p.json"], ws.path());
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("Saved the plan to p.json."));
    let saved: serde_json::Value =
        serde_json::from_slice(&fs::read(ws.path().join("p.json")).unwrap()).unwrap();
    let show = run(&["show", "p.json"], ws.path());
    assert_eq!(show.status.code(), Some(0), "{}", text(&show.stderr));
    let plan_text = text(&out.stdout);
    assert!(plan_text.starts_with(&text(&show.stdout)), "show differs from plan:\n{}", text(&show.stdout));
    let show_json = run(&["show", "p.json", "--json"], ws.path());
    assert_eq!(json(&show_json), saved);
}

#[test]
fn show_rejects_a_file_that_is_not_a_plan() {
    let ws = demo();
    fs::write(ws.path().join("bad.json"), "{\n  \"format_version\": \"1\",\n  oops\n}\n").unwrap();
    let out = run(&["show", "bad.json"], ws.path());
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("bad.json:3:"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn snapshot_save_writes_format_v1_and_round_trips() {
    let ws = demo();
    let out = run(&["snapshot", "save", "--out", "snap.json"], ws.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("Saved the state to snap.json."));
    let saved: serde_json::Value =
        serde_json::from_slice(&fs::read(ws.path().join("snap.json")).unwrap()).unwrap();
    let demo: serde_json::Value =
        serde_json::from_slice(&fs::read(root().join("snapshots/demo.state.json")).unwrap()).unwrap();
    let strip = |mut v: serde_json::Value| {
        v.as_object_mut().unwrap().remove("captured_at");
        v.as_object_mut().unwrap().remove("source");
        // vend stamps what it saves with a digest of the content (the demo is hand-written).
        v.as_object_mut().unwrap().remove("digest");
        v
    };
    assert!(saved["digest"].as_str().is_some_and(|d| d.starts_with("sha256:")), "{saved}");
    assert_eq!(saved["format_version"], 1);
    assert_eq!(saved["source"], "state-file");
    assert_eq!(strip(saved.clone()), strip(demo));
    // Every list is sorted by id.
    for list in
        ["organizational_units", "accounts", "policies", "portfolios", "products", "provisioned_products"]
    {
        let ids: Vec<&str> =
            saved[list].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted, "{list} not sorted by id");
    }
    // Planning against the saved snapshot gives the same plan.
    let a = json(&run(&["plan", "--json"], ws.path()));
    let b = json(&run(&["--state", "snap.json", "plan", "--json"], ws.path()));
    assert_eq!(a["plan_id"], b["plan_id"]);
}

#[test]
fn usage_errors_exit_1() {
    let ws = demo();
    let out = run(&["plan", "--no-such-flag"], ws.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--no-such-flag"));
    let out = run(&["frobnicate"], ws.path());
    assert_eq!(out.status.code(), Some(1));
    let out = run(&[], ws.path());
    assert_eq!(out.status.code(), Some(1), "no TTY: usage, exit 1");
    assert!(text(&out.stderr).contains("Usage:"));
    let help = run(&["--help"], ws.path());
    assert_eq!(help.status.code(), Some(0));
    assert!(text(&help.stdout).contains("validate"));
}

#[test]
fn a_missing_state_file_is_an_error() {
    let ws = demo();
    let out = run(&["--state", "nope.json", "plan"], ws.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("state file nope.json does not exist"), "{}", text(&out.stderr));
    assert!(!ws.path().join(".vend").exists());
}

#[test]
fn a_folder_that_is_not_a_workspace_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["validate"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("is not a vend workspace"), "{}", text(&out.stderr));
}

#[test]
fn an_empty_workspace_seeds_an_empty_organization() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("catalog")).unwrap();
    fs::write(dir.path().join("catalog/vend.yaml"), "region: us-east-1\n").unwrap();
    let out = run(&["plan", "--detailed-exitcode"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("with an empty organization"));
    assert!(text(&out.stdout).contains("No changes."));
    let state: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join(".vend/state.json")).unwrap()).unwrap();
    assert_eq!(state["accounts"].as_array().unwrap().len(), 1);
}

#[test]
fn an_invalid_workspace_plans_nothing_and_exits_1() {
    let ws = demo();
    fs::write(ws.path().join("catalog/accounts/payments-prod.yaml"), "blueprint: workload@v2\nname: [\n")
        .unwrap();
    let out = run(&["plan", "--json"], ws.path());
    assert_eq!(out.status.code(), Some(1));
    let plan = json(&out);
    assert_eq!(plan["applyable"], false);
    assert_eq!(plan["changes"].as_array().unwrap().len(), 0);
    let d = &plan["diagnostics"][0];
    assert_eq!(d["file"], "catalog/accounts/payments-prod.yaml");
    assert_eq!(d["line"], 2);
    let out = run(&["validate"], ws.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("catalog/accounts/payments-prod.yaml:2:"), "{}", text(&out.stderr));
}

#[test]
fn colour_only_when_asked_for() {
    let ws = demo();
    let out = run(&["plan"], ws.path());
    assert!(!text(&out.stdout).contains('\u{1b}'), "no escape codes when not a TTY");
}

#[test]
fn show_unchanged_lists_what_needs_no_change() {
    let ws = demo();
    let out = run(&["plan", "--show-unchanged", "--json"], ws.path());
    assert_eq!(out.status.code(), Some(0));
    let plan = json(&out);
    let unchanged: Vec<&str> =
        plan["unchanged"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(unchanged.contains(&"account:checkout-dev"));
    assert!(unchanged.contains(&"ou:Security"));
    assert!(!unchanged.contains(&"account:data-dev"), "moved accounts are changes");
    let changes: BTreeSet<&str> =
        plan["changes"].as_array().unwrap().iter().map(|c| c["address"].as_str().unwrap()).collect();
    assert!(unchanged.iter().all(|u| !changes.contains(u)));
    // Without the flag, no-ops are not listed.
    assert!(json(&run(&["plan", "--json"], ws.path())).get("unchanged").is_none());
    let text_out = text(&run(&["plan", "--show-unchanged"], ws.path()).stdout);
    assert!(text_out.contains("    = account:checkout-dev"), "{text_out}");
}

#[test]
fn validate_reports_every_problem_not_just_the_first() {
    let ws = demo();
    let p = ws.path();
    let edit = |file: &str, from: &str, to: &str| {
        let path = p.join(file);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} has no {from:?}");
        fs::write(&path, text.replacen(from, to, 1)).unwrap();
    };
    edit("catalog/accounts/payments-dev.yaml", "aws+payments-dev@example.com", "payments-dev");
    edit("catalog/organization.yaml", "deny-root-user", "deny-root-usr");
    fs::write(
        p.join("catalog/policies/deny-leave-org.json"),
        "{ \"Version\": \"2012-10-17\",\n  \"Statement\": [ }\n",
    )
    .unwrap();
    edit("catalog/portfolios.yaml", "arn:aws:iam:::role/ProductTeam*", "role/ProductTeam*");
    let out = run(&["validate"], p);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    for needle in [
        "error[bad-email]: catalog/accounts/payments-dev.yaml:",
        "error[unknown-policy]: catalog/organization.yaml:",
        "error[policy-json]: catalog/policies/deny-leave-org.json:2:",
        "error[bad-principal]: catalog/portfolios.yaml:",
        "Workspace is invalid:",
    ] {
        assert!(stderr.contains(needle), "missing {needle:?} in:\n{stderr}");
    }
    assert!(out.stdout.is_empty());
}
