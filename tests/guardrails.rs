//! Plan guardrails, the template lint and the effective-policy preview through the real binary,
//! on the planner fixture cases (tests/fixtures/plan/<case>/ over _base/): each built-in check
//! and a custom rule with its severity and place, each lint rule at its resource's line with the
//! configured severities, and the SCPs of touched accounts before and after.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use serde_json::{Value, json};
use std::path::Path;

fn case(name: &str) -> tempfile::TempDir {
    let base = root().join("tests/fixtures/plan/_base");
    materialize(&base, &base.join("state.json"), &root().join("tests/fixtures/plan").join(name))
}

fn plan(ws: &Path) -> (Value, i32) {
    let out = run(&["-C", ".", "--state", "state.json", "plan", "--json"], ws);
    let v: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)));
    (v, out.status.code().unwrap())
}

/// (severity, code, file:line, message) of every diagnostic.
fn diags(plan: &Value) -> Vec<(String, String, String, String)> {
    plan["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let place = match d["file"].as_str() {
                Some(f) => format!("{f}:{}", d["line"]),
                None => "-".into(),
            };
            (
                d["severity"].as_str().unwrap().into(),
                d["code"].as_str().unwrap().into(),
                place,
                d["message"].as_str().unwrap().into(),
            )
        })
        .collect()
}

fn find<'a>(
    all: &'a [(String, String, String, String)],
    code: &str,
    needle: &str,
) -> &'a (String, String, String, String) {
    all.iter()
        .find(|d| d.1 == code && d.3.contains(needle))
        .unwrap_or_else(|| panic!("no [{code}] mentioning {needle:?} in {all:#?}"))
}

#[test]
fn every_built_in_guardrail_and_a_custom_rule_report_with_their_severity() {
    let ws = case("48-guardrails");
    let (p, code) = plan(ws.path());
    assert_eq!(code, 1, "errors make the plan fail");
    assert_eq!(p["applyable"], false);
    let all = diags(&p);
    let d = find(&all, "account-in-root", "legacy-billing");
    assert_eq!((d.0.as_str(), d.2.as_str()), ("warning", "-"));
    let d = find(&all, "full-access-only", "Workloads/dev");
    assert_eq!((d.0.as_str(), d.2.as_str()), ("error", "catalog/organization.yaml:8"));
    let d = find(&all, "required-scp-missing", "'Security' would lack required SCP(s) region-guard");
    assert_eq!((d.0.as_str(), d.2.as_str()), ("error", "catalog/organization.yaml:3"));
    // Workloads/prod inherits deny-leave-org and has region-guard: not reported.
    assert!(!all.iter().any(|d| d.1 == "required-scp-missing" && d.3.contains("Workloads")));
    let d = find(&all, "required-tag-missing", "security-audit");
    assert_eq!((d.0.as_str(), d.2.as_str()), ("error", "catalog/accounts/security-audit.yaml:2"));
    let d = find(&all, "custom-rule", "rule 'prod-backup'");
    assert_eq!((d.0.as_str(), d.2.as_str()), ("warning", "catalog/accounts/payments-prod.yaml:2"));
    assert!(d.3.contains("lacks tag(s) backup"));
    let d = find(&all, "too-many-destructive", "provisioned_pipeline:search-prod/search-api");
    assert_eq!((d.0.as_str(), d.2.as_str()), ("error", "catalog/guardrails.yaml:1"));
    // The management account (in the root, protected) is never reported.
    assert!(!all.iter().any(|d| d.3.contains("'management'")));
}

#[test]
fn severities_can_be_overridden_and_a_clean_plan_stays_applyable() {
    let ws = case("48-guardrails");
    std::fs::write(
        ws.path().join("catalog/guardrails.yaml"),
        "max_destructive: 1\nscp_required_under: [Workloads]\nseverity: { full-access-only: warning, account-in-root: error }\n",
    )
    .unwrap();
    let (p, code) = plan(ws.path());
    let all = diags(&p);
    assert_eq!(find(&all, "full-access-only", "Workloads/dev").0, "warning");
    assert_eq!(find(&all, "account-in-root", "legacy-billing").0, "error");
    assert!(!all.iter().any(|d| d.1 == "too-many-destructive"), "{all:#?}");
    assert_eq!(code, 1);
}

#[test]
fn a_protected_account_is_never_closed() {
    // The close of a protected id stays refused (plan-stage `protected`), guardrails or not.
    let base = root();
    let ws = materialize(
        &base,
        &base.join("snapshots/demo.state.json"),
        &root().join("tests/fixtures/invalid/plan-protected"),
    );
    let out = run(&["-C", ".", "--state", "state.json", "plan", "--json"], ws.path());
    assert_eq!(out.status.code(), Some(1));
    let p: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(diags(&p).iter().any(|d| d.0 == "error" && d.1 == "protected"));
}

#[test]
fn each_template_lint_rule_points_at_its_resource() {
    let ws = case("49-template-lint");
    let (p, code) = plan(ws.path());
    assert_eq!(code, 0, "lint findings are warnings by default");
    let file = "blueprints/pipelines/service-pipeline/v3/template.yaml";
    let all = diags(&p);
    for (rule, line, needle) in [
        ("lint-unencrypted-bucket", 9, "ArtifactBucket"),
        ("lint-iam-wildcard", 14, "DeployRole"),
        ("lint-open-ingress", 28, "admin port 22"),
        ("lint-no-approval", 35, "stage 'Production'"),
    ] {
        let d = find(&all, rule, needle);
        assert_eq!((d.0.as_str(), d.2.clone()), ("warning", format!("{file}:{line}")), "{rule}");
    }
    // The demo-style templates (v1, v2) are clean: no finding names them.
    assert!(!all.iter().any(|d| d.2.contains("/v1/") || d.2.contains("/v2/")), "{all:#?}");
    // `vend validate` runs the same lint.
    let out = run(&["-C", ".", "validate"], ws.path());
    let found = parse_diagnostics(&text(&out.stderr));
    assert_eq!(found.iter().filter(|d| d.1.starts_with("lint-")).count(), 4, "{found:?}");
}

#[test]
fn lint_rules_can_be_errors_or_disabled() {
    let ws = case("49-template-lint");
    std::fs::write(
        ws.path().join("catalog/guardrails.yaml"),
        "template_lint:\n  errors: [lint-iam-wildcard]\n  disable: [lint-unencrypted-bucket]\n",
    )
    .unwrap();
    let out = run(&["-C", ".", "validate"], ws.path());
    assert_eq!(out.status.code(), Some(1));
    let found = parse_diagnostics(&text(&out.stderr));
    let lint: Vec<(&str, &str)> =
        found.iter().filter(|d| d.1.starts_with("lint-")).map(|d| (d.0.as_str(), d.1.as_str())).collect();
    assert_eq!(
        lint,
        vec![
            ("error", "lint-iam-wildcard"),
            ("warning", "lint-open-ingress"),
            ("warning", "lint-no-approval")
        ]
    );
}

#[test]
fn the_effective_policy_preview_shows_touched_accounts_before_and_after() {
    // 07: prod swaps region-guard for deny-leave-org (already inherited from the root).
    let ws = case("07-scp-attach-detach");
    let (p, _) = plan(ws.path());
    assert_eq!(
        p["effective_policies"],
        json!([
            { "account": "payments-prod", "account_id": "530192847561", "ou_before": "Workloads/prod", "ou_after": "Workloads/prod",
              "before": ["FullAWSAccess", "deny-leave-org", "region-guard"], "after": ["FullAWSAccess", "deny-leave-org"] },
            { "account": "search-prod", "account_id": "718264093315", "ou_before": "Workloads/prod", "ou_after": "Workloads/prod",
              "before": ["FullAWSAccess", "deny-leave-org", "region-guard"], "after": ["FullAWSAccess", "deny-leave-org"] }
        ])
    );
    // 02: a drifted account moves back to its OU and gains that OU's SCP.
    let ws = case("02-move-drifted-account");
    let (p, _) = plan(ws.path());
    let e = &p["effective_policies"][0];
    assert_eq!(
        (e["account"].as_str(), e["ou_before"].as_str(), e["ou_after"].as_str()),
        (Some("payments-prod"), Some("Workloads"), Some("Workloads/prod"))
    );
    assert_eq!(e["after"], json!(["FullAWSAccess", "deny-leave-org", "region-guard"]));
    // The text plan shows the same section.
    let out = run(&["-C", ".", "--state", "state.json", "plan"], ws.path());
    let t = text(&out.stdout);
    assert!(t.contains("Effective SCPs (before -> after)"), "{t}");
    assert!(
        t.contains("    payments-prod (530192847561)  Workloads -> Workloads/prod\n        + region-guard\n"),
        "{t}"
    );
    // A converged organization has no preview at all (the key is absent).
    let ws = case("00-converged");
    let (p, _) = plan(ws.path());
    assert!(p.get("effective_policies").is_none());
}
