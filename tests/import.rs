//! `vend import` from a state file (issue 15), through the binary: a generated brownfield
//! organization (`brownfield/`) imports with nothing left out; the first plan has only
//! `adopt` changes; applying it succeeds and changes no provisioned product; the re-plan is
//! empty; every OU, account, SCP attachment, portfolio, product, version, share and
//! provisioned product is in the workspace with the same parent, targets and version; the
//! output is deterministic; a non-empty workspace is refused without --force; `--ou` imports a
//! subtree whose plan also only adopts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod brownfield;
mod common;

use common::{changes, text, vend_in};
use std::path::Path;
use vend::model::State;

/// Accounts of the CI-sized organization (`VEND_IMPORT_ACCOUNTS` for the long variant).
fn size() -> usize {
    std::env::var("VEND_IMPORT_ACCOUNTS").ok().and_then(|v| v.parse().ok()).unwrap_or(120)
}

fn write_state(dir: &Path, state: &State) -> std::path::PathBuf {
    let path = dir.join("org.state.json");
    std::fs::write(&path, serde_json::to_vec_pretty(state).unwrap()).unwrap();
    path
}

/// A temp dir with a key config dir, the brownfield organization as a state file, and an
/// empty `ws/` to import into.
struct Setup {
    tmp: tempfile::TempDir,
    cfg: std::path::PathBuf,
    state: State,
    state_path: String,
    ws: std::path::PathBuf,
}

fn setup(accounts: usize, ous: usize) -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("cfg");
    let state = brownfield::organization(accounts, ous);
    let state_path = write_state(tmp.path(), &state).to_str().unwrap().to_string();
    let ws = tmp.path().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    Setup { tmp, cfg, state, state_path, ws }
}

fn plan_json(ws: &Path, cfg: &Path, state: &str) -> serde_json::Value {
    let out = vend_in(ws, cfg, &["--state", state, "plan", "--json"]);
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(2) || out.status.code() == Some(1),
        "{}",
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)))
}

#[test]
fn a_brownfield_organization_imports_and_its_first_plan_only_adopts() {
    let Setup { tmp, cfg, state, state_path, ws } = setup(size(), 50);
    let sp = state_path.as_str();

    let out = vend_in(&ws, &cfg, &["--state", sp, "import"]);
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{report}\n{}", text(&out.stderr));
    assert!(report.contains("Nothing was left out"), "{report}");
    assert!(report.contains("To fill in"), "the NoEcho parameters are reported: {report}");
    assert!(report.contains("'Shared Services'"), "repeated names are reported: {report}");
    assert!(!ws.join(".vend-import-").exists());

    // Deterministic: the same organization gives the same bytes.
    let first = brownfield::files_of(&ws);
    let again = tmp.path().join("again");
    std::fs::create_dir_all(&again).unwrap();
    assert_eq!(vend_in(&again, &cfg, &["--state", sp, "import"]).status.code(), Some(0));
    assert_eq!(first, brownfield::files_of(&again), "two imports of one organization differ");

    // Everything is in the workspace, where it is in the organization.
    let ws_text = |p: &str| String::from_utf8(first[p].clone()).unwrap();
    for a in state.accounts.iter().filter(|a| a.id != brownfield::MGMT) {
        let file = first
            .iter()
            .find(|(p, b)| {
                p.starts_with("catalog/accounts/") && text(b).contains(&format!("email: {}", a.email))
            })
            .map(|(p, _)| p.clone())
            .unwrap_or_else(|| panic!("no request for {} ({})", a.name, a.id));
        assert!(ws_text(&file).contains("lifecycle: adopt"), "{file}");
    }
    for p in state.policies.iter().filter(|p| !p.aws_managed) {
        assert_eq!(first[&format!("catalog/policies/{}.json", p.name)], p.content.as_bytes());
    }
    let portfolios = ws_text("catalog/portfolios.yaml");
    for product in brownfield::PRODUCTS {
        for v in ["v1", "v2", "v3"] {
            let dir = if product == "Data Pipeline" { "data-pipeline" } else { product };
            assert_eq!(
                ws_text(&format!("blueprints/pipelines/{dir}/{v}/template.yaml")),
                brownfield::template(product, v)
            );
        }
    }
    assert!(portfolios.contains("Delivery Pipelines"), "{portfolios}");
    let pipelines = first.keys().filter(|p| p.starts_with("catalog/pipelines/")).count();
    assert_eq!(pipelines, state.provisioned_products.len());

    // The first plan only adopts.
    let plan = plan_json(&ws, &cfg, sp);
    assert_eq!(plan["applyable"], true, "{:#}", plan["diagnostics"]);
    let errors: Vec<&serde_json::Value> =
        plan["diagnostics"].as_array().unwrap().iter().filter(|d| d["severity"] == "error").collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let all = changes(&plan);
    let other: Vec<&(String, String)> = all.iter().filter(|(_, a)| a != "adopt").collect();
    assert!(other.is_empty(), "not only adoptions: {other:#?}");
    let count = |kind: &str| all.iter().filter(|(a, _)| a.starts_with(&format!("{kind}:"))).count();
    let members = state.accounts.iter().filter(|a| a.id != brownfield::MGMT && a.state == "ACTIVE").count();
    assert_eq!(count("account"), members, "every ACTIVE member account is adopted");
    assert_eq!(count("ou"), state.organizational_units.len());
    assert_eq!(count("policy"), 20);
    assert_eq!(count("portfolio"), 1);
    assert_eq!(count("product"), 2);
    assert_eq!(count("product_version"), 6);
    assert_eq!(count("provisioned_pipeline"), 0, "adopting a pipeline changes nothing in AWS");

    // Apply: succeeds, updates no provisioned product; the re-plan is empty.
    let out = vend_in(&ws, &cfg, &["--state", sp, "apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let after: State = serde_json::from_slice(&std::fs::read(sp).unwrap()).unwrap();
    for (before, now) in state.provisioned_products.iter().zip(&after.provisioned_products) {
        assert_eq!((&before.id, &before.version_id, &before.params), (&now.id, &now.version_id, &now.params));
    }
    let replan = plan_json(&ws, &cfg, sp);
    assert_eq!(changes(&replan), vec![], "{:#}", replan["diagnostics"]);
    assert_eq!(vend_in(&ws, &cfg, &["--state", sp, "plan", "--detailed-exitcode"]).status.code(), Some(0));

    // A pipeline whose NoEcho value is still the placeholder is not updated with it.
    let (file, body) = first
        .iter()
        .find(|(p, b)| p.starts_with("catalog/pipelines/") && text(b).contains("fill in"))
        .map(|(p, b)| (p.clone(), text(b)))
        .unwrap();
    let changed = body.replace("BranchName: main", "BranchName: release");
    assert_ne!(changed, body);
    std::fs::write(ws.join(&file), &changed).unwrap();
    let plan = plan_json(&ws, &cfg, sp);
    assert_eq!(plan["applyable"], false);
    let codes: Vec<&str> = plan["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["fill-in-required"], "{:#}", plan["diagnostics"]);
    assert!(changes(&plan).iter().all(|(a, _)| !file.contains(a.rsplit('/').next().unwrap())));
    std::fs::write(ws.join(&file), changed.replace(vend::model::FILL_IN, "s3cr3t-value")).unwrap();
    let plan = plan_json(&ws, &cfg, sp);
    assert_eq!(plan["applyable"], true, "{:#}", plan["diagnostics"]);
    assert_eq!(changes(&plan).len(), 1, "one update once the value is given");
}

#[test]
fn an_existing_workspace_is_refused_without_force_and_replaced_with_it() {
    let Setup { tmp, cfg, state_path, ws, .. } = setup(30, 12);
    let sp = state_path.as_str();
    std::fs::create_dir_all(ws.join("catalog")).unwrap();
    std::fs::write(ws.join("catalog/vend.yaml"), "region: us-east-1\n").unwrap();
    let out = vend_in(&ws, &cfg, &["--state", sp, "import"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--force"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(ws.join("catalog/vend.yaml")).unwrap(), "region: us-east-1\n");
    let out = vend_in(&ws, &cfg, &["--state", sp, "import", "--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(std::fs::read_to_string(ws.join("catalog/vend.yaml")).unwrap().contains("management_account"));
    // Without a state to read, the command says what it needs.
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = vend_in(&empty, &cfg, &["import"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--state FILE"), "{}", text(&out.stderr));
    let out = vend_in(&empty, &cfg, &["--state", "nope.json", "import"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("nope.json does not exist"), "{}", text(&out.stderr));
    std::fs::write(empty.join("bad.json"), "{\"format_version\": 1,\n \"captured_at\": x}").unwrap();
    let out = vend_in(&empty, &cfg, &["--state", "bad.json", "import"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("bad.json:2:17"), "named by line and column: {}", text(&out.stderr));
    assert!(!empty.join("catalog").exists(), "nothing written");
}

#[test]
fn a_subtree_imports_with_only_adoptions_and_an_unknown_ou_is_an_error() {
    let Setup { tmp, cfg, state_path, ws, .. } = setup(size(), 50);
    let sp = state_path.as_str();
    let out = vend_in(&ws, &cfg, &["--state", sp, "import", "--ou", "Workloads"]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out.stderr));
    let plan = plan_json(&ws, &cfg, sp);
    assert_eq!(plan["applyable"], true, "{:#}", plan["diagnostics"]);
    let all = changes(&plan);
    assert!(all.iter().all(|(_, a)| a == "adopt"), "{all:#?}");
    assert!(all.iter().any(|(a, _)| a == "ou:Workloads"));
    assert!(!all.iter().any(|(a, _)| a.starts_with("ou:Core")), "{all:#?}");
    let out = vend_in(tmp.path(), &cfg, &["-C", "x", "--state", sp, "import", "--ou", "Nowhere"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("Nowhere"), "{}", text(&out.stderr));
}

#[test]
fn an_interrupted_import_is_rolled_back_before_the_next_one() {
    let Setup { cfg, state_path, ws, .. } = setup(30, 12);
    let sp = state_path.as_str();
    // The user's workspace, and an import killed after it put its new catalog/ in place and
    // before it swapped blueprints/: the old catalog/ waits in the staging folder.
    for (path, text) in
        [("catalog/vend.yaml", "region: eu-west-1\n"), ("blueprints/accounts.lock", "versions: {}\n")]
    {
        std::fs::create_dir_all(ws.join(path).parent().unwrap()).unwrap();
        std::fs::write(ws.join(path), text).unwrap();
    }
    let staging = ws.join(".vend-import-4242");
    std::fs::create_dir_all(staging.join("old")).unwrap();
    std::fs::create_dir_all(staging.join("new/blueprints")).unwrap();
    std::fs::write(staging.join("tops"), "catalog\nblueprints").unwrap();
    std::fs::rename(ws.join("catalog"), staging.join("old/catalog")).unwrap();
    std::fs::create_dir_all(ws.join("catalog")).unwrap();
    std::fs::write(ws.join("catalog/vend.yaml"), "region: us-east-1 # the new one\n").unwrap();

    let out = vend_in(&ws, &cfg, &["--state", sp, "import"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("--force"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(ws.join("catalog/vend.yaml")).unwrap(), "region: eu-west-1\n");
    assert_eq!(std::fs::read_to_string(ws.join("blueprints/accounts.lock")).unwrap(), "versions: {}\n");
    assert!(!staging.exists(), "the staging folder is gone once rolled back");
}
