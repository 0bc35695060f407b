//! `lifecycle: adopt` for Service Catalog portfolios and products (issue 13, item 4): a
//! same-name portfolio or product vend does not manage is taken over by an `adopt` change that
//! adds the ownership tag (UpdatePortfolio / UpdateProduct), never created a second time; its
//! live pipeline is not replaced and its versions vend did not publish are left alone (a listed
//! one is adopted while the product entry says `lifecycle: adopt`). Adopt with
//! nothing to adopt, or with several candidates, is an error. The plan itself is snapshotted by
//! `tests/plan_cases.rs` (case `50-adopt-portfolio-and-product`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use serde_json::{Value, json};
use std::fs;
use std::path::Path;

const CASE: &str = "tests/fixtures/plan/50-adopt-portfolio-and-product";
const PORTS: &str = "catalog/portfolios.yaml";

/// The adopt case (base workspace, its portfolios.yaml and state) in a temp dir, plus a config dir.
fn adopt_case() -> (tempfile::TempDir, tempfile::TempDir) {
    let base = root().join("tests/fixtures/plan/_base");
    let ws = materialize(&base, &base.join("state.json"), &root().join(CASE));
    (ws, tempfile::tempdir().unwrap())
}

fn plan(ws: &Path, cfg: &Path) -> (Option<i32>, Value) {
    let out = vend_ws(ws, cfg, &["plan", "--json"]);
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", text(&out.stdout), text(&out.stderr)));
    (out.status.code(), v)
}

fn errors(plan: &Value) -> Vec<(String, String, String)> {
    plan["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| {
            let at = format!("{}:{}", d["file"].as_str().unwrap_or(""), d["line"]);
            (d["code"].as_str().unwrap().to_string(), at, d["message"].as_str().unwrap().to_string())
        })
        .collect()
}

fn state(ws: &Path) -> Value {
    serde_json::from_slice(&fs::read(ws.join("state.json")).unwrap()).unwrap()
}

fn write_state(ws: &Path, s: &Value) {
    fs::write(ws.join("state.json"), serde_json::to_vec_pretty(s).unwrap()).unwrap();
}

#[test]
fn adopting_takes_over_the_portfolio_and_product_and_the_live_pipeline_keeps_running() {
    let (ws, cfg) = adopt_case();
    let (ws, cfg) = (ws.path(), cfg.path());
    let before = state(ws);
    let (code, p) = plan(ws, cfg);
    assert_eq!(code, Some(0), "{p:#}");
    assert_eq!(
        changes(&p),
        [
            ("product:service-pipeline".to_string(), "adopt".to_string()),
            ("portfolio:delivery-pipelines".to_string(), "adopt".to_string())
        ],
        "only the two adoptions: no second portfolio or product, no replaced pipeline, v0 kept: {p:#}"
    );

    let out = vend_ws(ws, cfg, &["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let replan = vend_ws(ws, cfg, &["plan", "--detailed-exitcode"]);
    assert_eq!(replan.status.code(), Some(0), "re-plan not empty:\n{}", text(&replan.stdout));

    // What was sent: two updates adding the tag; nothing created, terminated or deleted. The
    // two steps are independent, so they may run side by side and log in either order.
    let log = fs::read_to_string(ws.join(".vend/audit.jsonl")).unwrap();
    let mut ops: Vec<String> = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["event"] == "intent")
        .map(|r| r["detail"]["call"]["op"].as_str().unwrap_or("?").to_string())
        .collect();
    ops.sort();
    assert_eq!(ops, ["UpdatePortfolio", "UpdateProduct"], "{log}");

    // Same ids, now tagged; the hand-made v0 and the live pipeline are untouched.
    let after = state(ws);
    let (port0, port1) = (&before["portfolios"][0], &after["portfolios"][0]);
    assert_eq!(after["portfolios"].as_array().unwrap().len(), 1);
    assert_eq!(port1["id"], port0["id"]);
    assert_eq!(port1["tags"]["vend:managed"], "true");
    assert_eq!(after["products"].as_array().unwrap().len(), 1);
    let product = &after["products"][0];
    assert_eq!(product["id"], before["products"][0]["id"]);
    assert_eq!(product["tags"], json!({"team": "platform", "vend:managed": "true"}));
    assert_eq!(product["versions"], before["products"][0]["versions"]);
    assert_eq!(after["provisioned_products"], before["provisioned_products"]);
}

#[test]
fn adopt_without_a_candidate_is_adopt_missing_and_plans_nothing_for_it() {
    let (ws, cfg) = adopt_case();
    let (ws, cfg) = (ws.path(), cfg.path());
    let mut s = state(ws);
    s["portfolios"] = json!([]);
    write_state(ws, &s);
    let (code, p) = plan(ws, cfg);
    assert_eq!(code, Some(1), "{p:#}");
    let errs = errors(&p);
    assert!(
        errs.iter().any(|(c, at, m)| c == "adopt-missing"
            && at == &format!("{PORTS}:10")
            && m.contains("no portfolio named 'delivery-pipelines'")),
        "{errs:#?}"
    );
    assert!(!changes(&p).iter().any(|(a, _)| a.starts_with("portfolio")), "{p:#}");
}

#[test]
fn adopt_with_several_candidates_names_their_ids() {
    let (ws, cfg) = adopt_case();
    let (ws, cfg) = (ws.path(), cfg.path());
    let mut s = state(ws);
    let mut twin = s["products"][0].clone();
    twin["id"] = json!("prod-tw1nc0py2222");
    twin["versions"] = json!([]);
    s["products"].as_array_mut().unwrap().push(twin);
    write_state(ws, &s);
    let (code, p) = plan(ws, cfg);
    assert_eq!(code, Some(1), "{p:#}");
    let errs = errors(&p);
    let found = errs.iter().find(|(c, _, _)| c == "ambiguous-product").unwrap_or_else(|| panic!("{errs:#?}"));
    assert_eq!(found.1, format!("{PORTS}:6"));
    let id = s["products"][0]["id"].as_str().unwrap();
    assert!(found.2.contains(id) && found.2.contains("prod-tw1nc0py2222"), "{}", found.2);
    // Nothing is created, and the pipeline on the product is not replaced.
    assert!(
        !changes(&p).iter().any(|(a, x)| a.starts_with("product") || x == "replace" || x == "delete"),
        "{p:#}"
    );
}

#[test]
fn adopt_of_what_vend_already_manages_changes_nothing() {
    let (ws, cfg) = adopt_case();
    let (ws, cfg) = (ws.path(), cfg.path());
    let base = root().join("tests/fixtures/plan/_base/state.json");
    fs::copy(base, ws.join("state.json")).unwrap();
    let (code, p) = plan(ws, cfg);
    assert_eq!(code, Some(0), "{p:#}");
    assert!(changes(&p).is_empty(), "{p:#}");
}

#[test]
fn a_listed_version_vend_did_not_publish_is_adopted_or_refused_and_close_is_no_catalog_lifecycle() {
    let (ws, cfg) = adopt_case();
    let (ws, cfg) = (ws.path(), cfg.path());
    // The hand-made product's v2 has no vend-sha256: marker: under the adopting product entry it
    // is adopted (its description gets the hash of the workspace's files for v2).
    let mut s = state(ws);
    for v in s["products"][0]["versions"].as_array_mut().unwrap() {
        if v["name"] == "v2" {
            v["description"] = json!("uploaded by hand");
        }
    }
    write_state(ws, &s);
    let (code, p) = plan(ws, cfg);
    assert_eq!(code, Some(0), "{p:#}");
    assert!(
        changes(&p).contains(&("product_version:service-pipeline@v2".to_string(), "adopt".to_string())),
        "{p:#}"
    );
    // Without `lifecycle: adopt` on the product entry (the product managed already), vend cannot
    // tell what it holds.
    s["products"][0]["tags"]["vend:managed"] = json!("true");
    write_state(ws, &s);
    let yaml = fs::read_to_string(ws.join(PORTS)).unwrap();
    fs::write(ws.join(PORTS), yaml.replace("versions: [v1, v2], lifecycle: adopt", "versions: [v1, v2]"))
        .unwrap();
    let (code, p) = plan(ws, cfg);
    assert_eq!(code, Some(1), "{p:#}");
    let errs = errors(&p);
    assert!(
        errs.iter().any(|(c, _, m)| c == "version-modified" && m.contains("was not published by vend")),
        "{errs:#?}"
    );
    fs::write(ws.join(PORTS), yaml).unwrap();

    let yaml = fs::read_to_string(ws.join(PORTS)).unwrap();
    fs::write(ws.join(PORTS), yaml.replace("    lifecycle: adopt\n", "    lifecycle: close\n")).unwrap();
    let out = vend_ws(ws, cfg, &["validate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains(&format!("error[schema]: {PORTS}:10")), "{}", text(&out.stderr));
}

#[test]
fn members_added_with_the_adoption_use_the_adopted_ids() {
    let (ws, cfg) = adopt_case();
    let (ws, cfg) = (ws.path(), cfg.path());
    // A new share of the adopted portfolio in the same plan: apply needs the portfolio's id,
    // which the adopt change does not create (found by the emulator run first).
    let yaml = fs::read_to_string(ws.join(PORTS)).unwrap();
    fs::write(ws.join(PORTS), yaml.replace("shares: [Workloads]", "shares: [Workloads, Security]")).unwrap();
    let (code, p) = plan(ws, cfg);
    assert_eq!(code, Some(0), "{p:#}");
    let share = p["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "portfolio_share:delivery-pipelines/ou:Security")
        .unwrap_or_else(|| panic!("{p:#}"));
    assert_eq!(share["after"]["portfolio_id"], state(ws)["portfolios"][0]["id"], "{share:#}");
    let out = vend_ws(ws, cfg, &["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let replan = vend_ws(ws, cfg, &["plan", "--detailed-exitcode"]);
    assert_eq!(replan.status.code(), Some(0), "re-plan not empty:\n{}", text(&replan.stdout));
}
