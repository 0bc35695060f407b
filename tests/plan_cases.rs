//! Planner fixture cases (tests/fixtures/plan/<case>/, overlaid on tests/fixtures/plan/_base/):
//! each is planned twice through the real binary; the text and JSON plans are snapshotted, the
//! summary must equal the per-action count of the changes, and both runs must agree byte for
//! byte apart from `created_at` (and the `digest` over it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use std::collections::BTreeMap;

/// Without `created_at`, and without the file `digest` that covers it (`plan --json` prints the
/// saved-plan document; `tests/hostile_input.rs` checks digests).
fn redact(mut v: serde_json::Value) -> serde_json::Value {
    v["created_at"] = serde_json::json!("[created_at]");
    let digest = v.as_object_mut().and_then(|o| o.remove("digest"));
    assert!(
        digest.as_ref().and_then(|d| d.as_str()).is_some_and(|d| d.starts_with("sha256:")),
        "digest: {digest:?}"
    );
    v
}

#[test]
fn plan_cases_match_their_snapshots() {
    let base = root().join("tests/fixtures/plan/_base");
    let cases = cases(&root().join("tests/fixtures/plan"));
    assert!(cases.len() >= 15, "expected at least 15 planner cases, found {}", cases.len());
    let mut actions_seen = std::collections::BTreeSet::new();
    for case in &cases {
        let ws = materialize(&base, &base.join("state.json"), case);
        let args = ["-C", ".", "--state", "state.json", "plan", "--json"];
        let first = run(&args, ws.path());
        let second = run(&args, ws.path());
        let stderr = text(&first.stderr);
        assert!(!stderr.contains("panicked"), "{}: panicked\n{stderr}", name(case));
        let a: serde_json::Value = serde_json::from_slice(&first.stdout)
            .unwrap_or_else(|e| panic!("{}: not JSON ({e})\n{stderr}", name(case)));
        let b: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
        assert_eq!(redact(a.clone()), redact(b), "{}: two runs differ", name(case));
        // summary == per-action counts
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for c in a["changes"].as_array().unwrap() {
            *counts.entry(c["action"].as_str().unwrap().to_string()).or_default() += 1;
            actions_seen.insert(c["action"].as_str().unwrap().to_string());
        }
        for (action, n) in a["summary"].as_object().unwrap() {
            assert_eq!(
                n.as_u64().unwrap(),
                counts.get(action).copied().unwrap_or(0),
                "{}: summary.{action}",
                name(case)
            );
        }
        let text_out = run(&["-C", ".", "--state", "state.json", "plan"], ws.path());
        insta::with_settings!({ snapshot_suffix => name(case), prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!("text", text(&text_out.stdout));
            insta::assert_json_snapshot!("json", redact(a));
        });
    }
    for action in
        ["create", "update", "move", "replace", "delete", "close", "adopt", "deprecate", "repair", "rename"]
    {
        assert!(actions_seen.contains(action), "no planner case uses action '{action}'");
    }
}
