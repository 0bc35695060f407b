//! What `vend import` relies on from the planner: a workspace written from an existing
//! organization plans only `adopt` changes, and applying them leaves an empty re-plan.
//!
//! - `account_name:` — an account request's key (`name`, the file name, in `account:<key>`) is
//!   separate from the account's name in AWS, which repeats and may hold `/` or spaces.
//! - An existing customer SCP without the ownership tag is adopted by declaring the identical
//!   document in `catalog/policies/`; its attachments are then vend's.
//!
//! Each test builds a small workspace and state file in a temp dir and runs the binary on the
//! embedded backend (`--state state.json`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::{plan_ws as plan, *};
use serde_json::{Value, json};
use std::fs;
use std::path::Path;

const ROOT: &str = "r-ab12";
const OU: &str = "ou-ab12-imp0rt01";
const FULL: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const GUARD: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyLeave","Effect":"Deny","Action":"organizations:LeaveOrganization","Resource":"*"}]}"#;

fn write(ws: &Path, path: &str, text: &str) {
    let p = ws.join(path);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

/// A workspace with one OU `Imported` (declared with `ou_policies`), the root's SCPs, and the
/// account blueprint `plain@v1` (into `Imported`, with `account_policies`).
fn workspace(root_policies: &str, ou_policies: &str, account_policies: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path();
    write(ws, "catalog/vend.yaml", "region: us-east-1\nmanagement_account: \"111111111111\"\n");
    write(
        ws,
        "catalog/organization.yaml",
        &format!("units:\n  Imported: {{ policies: {ou_policies} }}\nroot_policies: {root_policies}\n"),
    );
    write(
        ws,
        "blueprints/accounts/plain/v1.yaml",
        &format!("description: Imported account\nou: Imported\npolicies: {account_policies}\n"),
    );
    dir
}

fn request(ws: &Path, key: &str, account_name: Option<&str>, email: &str, adopt: bool) {
    let mut y = format!("blueprint: plain@v1\nname: {key}\nemail: {email}\n");
    if let Some(n) = account_name {
        y.push_str(&format!("account_name: {}\n", serde_json::to_string(n).unwrap()));
    }
    if adopt {
        y.push_str("lifecycle: adopt\n");
    }
    write(ws, &format!("catalog/accounts/{key}.yaml"), &y);
}

fn account(id: &str, name: &str, email: &str, parent: &str, tags: Value) -> Value {
    json!({ "id": id, "name": name, "email": email, "state": "ACTIVE", "parent_id": parent, "tags": tags })
}

fn policy(id: &str, name: &str, aws_managed: bool, content: &str, targets: &[&str], tags: Value) -> Value {
    json!({ "id": id, "name": name, "type": "SERVICE_CONTROL_POLICY", "aws_managed": aws_managed,
            "content": content, "target_ids": targets, "tags": tags })
}

/// An organization: the management account in the root, the OU `Imported` (`ou_tags`),
/// `accounts` and `policies` (FullAWSAccess is added, attached to every target).
fn state(ou_tags: Value, accounts: Vec<Value>, mut policies: Vec<Value>) -> Value {
    let mut all = vec![account("111111111111", "management", "aws+management@example.com", ROOT, json!({}))];
    all.extend(accounts);
    let mut targets: Vec<String> = all.iter().map(|a| a["id"].as_str().unwrap().to_string()).collect();
    targets.extend([OU.to_string(), ROOT.to_string()]);
    let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
    policies.insert(0, policy("p-FullAWSAccess", "FullAWSAccess", true, FULL, &targets, json!({})));
    let root_ids: Vec<Value> = policies
        .iter()
        .filter(|p| p["target_ids"].as_array().unwrap().iter().any(|t| t == ROOT))
        .map(|p| p["id"].clone())
        .collect();
    json!({
        "format_version": 1, "captured_at": "2026-11-22T10:00:00Z", "source": "state-file",
        "organization": { "id": "o-ab12cd34ef", "management_account_id": "111111111111", "root_id": ROOT,
                          "enabled_policy_types": ["SERVICE_CONTROL_POLICY"], "root_policy_ids": root_ids },
        "organizational_units": [ { "id": OU, "name": "Imported", "parent_id": ROOT, "tags": ou_tags } ],
        "accounts": all,
        "create_account_requests": [],
        "policies": policies,
        "portfolios": [], "products": [], "provisioned_products": []
    })
}

fn put_state(ws: &Path, s: &Value) {
    fs::write(ws.join("state.json"), serde_json::to_vec_pretty(s).unwrap()).unwrap();
}

fn read_state(ws: &Path) -> Value {
    serde_json::from_slice(&fs::read(ws.join("state.json")).unwrap()).unwrap()
}

fn codes(plan: &Value, severity: &str) -> Vec<String> {
    plan["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == severity)
        .map(|d| format!("{}: {}", d["code"].as_str().unwrap(), d["message"].as_str().unwrap()))
        .collect()
}

fn apply_then_replan_is_empty(ws: &Path, cfg: &Path) {
    let out = vend_ws(ws, cfg, &["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let replan = vend_ws(ws, cfg, &["plan", "--detailed-exitcode"]);
    assert_eq!(replan.status.code(), Some(0), "re-plan not empty:\n{}", text(&replan.stdout));
}

/// The operations apply sent, from the audit log's intent records.
fn sent(ws: &Path) -> Vec<String> {
    let log = fs::read_to_string(ws.join(".vend/audit.jsonl")).unwrap();
    log.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["event"] == "intent")
        .map(|r| r["detail"]["call"]["op"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// Two accounts with the same AWS name (holding `/` and a space), an account-level SCP on one.
fn shared_name_case() -> (tempfile::TempDir, tempfile::TempDir) {
    let dir = workspace("[]", "[]", "[acct-guard]");
    let ws = dir.path();
    write(ws, "catalog/policies/acct-guard.json", GUARD);
    request(ws, "shared-a", Some("Shared Name/x"), "aws+shared-a@example.com", true);
    request(ws, "shared-b", Some("Shared Name/x"), "aws+shared-b@example.com", true);
    let s = state(
        json!({ "vend:managed": "true" }),
        vec![
            account("222222222222", "Shared Name/x", "aws+shared-a@example.com", OU, json!({ "team": "a" })),
            account("333333333333", "Shared Name/x", "aws+shared-b@example.com", OU, json!({})),
        ],
        vec![policy(
            "p-acctgrd1",
            "acct-guard",
            false,
            GUARD,
            &["222222222222", "333333333333"],
            json!({ "vend:managed": "true" }),
        )],
    );
    put_state(ws, &s);
    (dir, tempfile::tempdir().unwrap())
}

#[test]
fn account_name_two_accounts_sharing_an_aws_name_are_adopted_under_their_request_keys() {
    let (dir, cfg) = shared_name_case();
    let (ws, cfg) = (dir.path(), cfg.path());
    let p = plan(ws, cfg);
    assert!(codes(&p, "error").is_empty(), "{p:#}");
    assert_eq!(
        changes(&p),
        [
            ("account:shared-a".to_string(), "adopt".to_string()),
            ("account:shared-b".to_string(), "adopt".to_string())
        ],
        "{p:#}"
    );
    for c in p["changes"].as_array().unwrap() {
        assert_eq!(c["after"]["name"], "Shared Name/x", "the payload is the account as in AWS: {c:#}");
    }
    assert!(p["effective_policies"].is_null(), "no account's SCPs change: {p:#}");

    apply_then_replan_is_empty(ws, cfg);
    assert_eq!(sent(ws), ["TagResource", "TagResource"]);
    let after = read_state(ws);
    for id in ["222222222222", "333333333333"] {
        let a = after["accounts"].as_array().unwrap().iter().find(|a| a["id"] == id).unwrap();
        assert_eq!(a["name"], "Shared Name/x");
        assert_eq!(a["tags"]["vend:managed"], "true", "{a:#}");
    }
}

#[test]
fn account_name_attachments_and_the_effective_preview_use_the_request_key() {
    let (dir, cfg) = shared_name_case();
    let (ws, cfg) = (dir.path(), cfg.path());
    apply_then_replan_is_empty(ws, cfg);
    // shared-b moves to a blueprint without the account-level SCP.
    write(ws, "blueprints/accounts/bare/v1.yaml", "description: No own SCP\nou: Imported\n");
    write(
        ws,
        "catalog/accounts/shared-b.yaml",
        "blueprint: bare@v1\nname: shared-b\naccount_name: Shared Name/x\nemail: aws+shared-b@example.com\n",
    );
    let p = plan(ws, cfg);
    assert!(codes(&p, "error").is_empty(), "{p:#}");
    let got = changes(&p);
    assert!(
        got.contains(&("policy_attachment:acct-guard@account:shared-b".into(), "delete".into())),
        "{p:#}"
    );
    assert!(
        got.iter()
            .all(|(a, _)| a == "account:shared-b" || a == "policy_attachment:acct-guard@account:shared-b"),
        "only shared-b changes: {p:#}"
    );
    let effective = p["effective_policies"].as_array().expect("an effective-SCP preview");
    assert_eq!(effective.len(), 1, "{p:#}");
    assert_eq!(effective[0]["account"], "shared-b");
    assert_eq!(effective[0]["account_id"], "333333333333");
    assert_eq!(effective[0]["after"], json!(["FullAWSAccess"]));
    apply_then_replan_is_empty(ws, cfg);
}

#[test]
fn account_name_an_aws_name_that_differs_from_the_e_mails_account_is_email_in_use() {
    let (dir, cfg) = shared_name_case();
    let (ws, cfg) = (dir.path(), cfg.path());
    request(ws, "shared-b", Some("Other name"), "aws+shared-b@example.com", true);
    let p = plan(ws, cfg);
    let errors = codes(&p, "error");
    assert!(
        errors.iter().any(|e| e.starts_with("email-in-use:") && e.contains("'Shared Name/x'")),
        "{errors:#?}"
    );
}

#[test]
fn account_name_a_creation_uses_the_aws_name_and_the_request_key() {
    let dir = workspace("[]", "[]", "[]");
    let ws = dir.path();
    request(ws, "team-one", Some("Team One / Prod"), "aws+team-one@example.com", false);
    put_state(ws, &state(json!({ "vend:managed": "true" }), vec![], vec![]));
    let cfg = tempfile::tempdir().unwrap();
    let cfg = cfg.path();
    let p = plan(ws, cfg);
    assert!(codes(&p, "error").is_empty(), "{p:#}");
    assert_eq!(changes(&p), [("account:team-one".to_string(), "create".to_string())], "{p:#}");
    assert_eq!(p["changes"][0]["after"]["name"], "Team One / Prod");

    apply_then_replan_is_empty(ws, cfg);
    let after = read_state(ws);
    let made: Vec<&Value> = after["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["email"] == "aws+team-one@example.com")
        .collect();
    assert_eq!(made.len(), 1);
    assert_eq!(made[0]["name"], "Team One / Prod");
    assert_eq!(made[0]["parent_id"], OU);
    assert_eq!(after["create_account_requests"][0]["account_name"], "Team One / Prod");
}

#[test]
fn account_name_is_checked_as_an_aws_account_name() {
    let dir = workspace("[]", "[]", "[]");
    let ws = dir.path();
    request(ws, "too-long", Some(&"x".repeat(51)), "aws+too-long@example.com", false);
    let out = vend_in(ws, tempfile::tempdir().unwrap().path(), &["validate"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let diags = parse_diagnostics(&text(&out.stderr));
    assert!(
        diags.iter().any(|(s, c, at)| s == "error"
            && c == "bad-account-name"
            && at.as_deref() == Some("catalog/accounts/too-long.yaml:4:15")),
        "{diags:#?}"
    );
}

/// The untagged customer SCP `guard` on the OU, on `legacy` and on the root; the workspace
/// declares the OU (untagged: adopted), `legacy` (adopted) and `guard` everywhere it is.
fn guard_case(document: &str) -> (tempfile::TempDir, tempfile::TempDir) {
    let dir = workspace("[guard]", "[guard]", "[guard]");
    let ws = dir.path();
    write(ws, "catalog/policies/guard.json", document);
    request(ws, "legacy", None, "aws+legacy@example.com", true);
    let s = state(
        json!({}),
        vec![account("444444444444", "legacy", "aws+legacy@example.com", OU, json!({}))],
        vec![policy(
            "p-guard001",
            "guard",
            false,
            GUARD,
            &["444444444444", OU, ROOT],
            json!({ "team": "sec" }),
        )],
    );
    put_state(ws, &s);
    (dir, tempfile::tempdir().unwrap())
}

#[test]
fn policy_adopt_an_untagged_customer_scp_with_the_same_document_is_adopted_with_its_attachments() {
    // Same document, other formatting: compared as JSON.
    let pretty = serde_json::to_string_pretty(&serde_json::from_str::<Value>(GUARD).unwrap()).unwrap();
    let (dir, cfg) = guard_case(&pretty);
    let (ws, cfg) = (dir.path(), cfg.path());
    let p = plan(ws, cfg);
    assert!(codes(&p, "error").is_empty(), "{p:#}");
    let mut got = changes(&p);
    got.sort();
    assert_eq!(
        got,
        [
            ("account:legacy".to_string(), "adopt".to_string()),
            ("ou:Imported".to_string(), "adopt".to_string()),
            ("policy:guard".to_string(), "adopt".to_string()),
        ],
        "only adoptions, no attachment changes: {p:#}"
    );
    let c = p["changes"].as_array().unwrap().iter().find(|c| c["address"] == "policy:guard").unwrap();
    assert_eq!(c["before"]["tags"], json!({ "team": "sec" }));
    assert_eq!(c["after"]["tags"], json!({ "team": "sec", "vend:managed": "true" }));
    assert_eq!(c["after"]["id"], "p-guard001");
    assert_eq!(c["before"]["content"], c["after"]["content"], "the document is not rewritten");

    apply_then_replan_is_empty(ws, cfg);
    assert_eq!(sent(ws), ["TagResource", "TagResource", "TagResource"]);
    let after = read_state(ws);
    let guard = after["policies"].as_array().unwrap().iter().find(|p| p["name"] == "guard").unwrap();
    assert_eq!(guard["tags"]["vend:managed"], "true");
    assert_eq!(guard["content"], GUARD);
    assert_eq!(guard["target_ids"].as_array().unwrap().len(), 3, "{guard:#}");
}

#[test]
fn policy_adopt_then_the_lists_say_where_it_is_attached() {
    // Adopted in the same plan, the policy's attachments are vend's: the OU does not list it.
    let (dir, cfg) = guard_case(GUARD);
    let (ws, cfg) = (dir.path(), cfg.path());
    write(ws, "catalog/organization.yaml", "units:\n  Imported: {}\nroot_policies: [guard]\n");
    let p = plan(ws, cfg);
    assert!(codes(&p, "error").is_empty(), "{p:#}");
    assert!(
        changes(&p).contains(&("policy_attachment:guard@ou:Imported".to_string(), "delete".to_string())),
        "{p:#}"
    );
    assert!(
        !changes(&p).iter().any(|(a, act)| a.starts_with("policy_attachment:") && act == "create"),
        "{p:#}"
    );
    apply_then_replan_is_empty(ws, cfg);
}

#[test]
fn policy_adopt_a_differing_document_is_unmanaged_conflict() {
    let other = GUARD.replace("organizations:LeaveOrganization", "account:CloseAccount");
    let (dir, cfg) = guard_case(&other);
    let (ws, cfg) = (dir.path(), cfg.path());
    let p = plan(ws, cfg);
    let errors = codes(&p, "error");
    assert!(
        errors.iter().any(|e| e.starts_with("unmanaged-conflict:")
            && e.contains("'guard'")
            && e.contains("identical")),
        "{errors:#?}"
    );
    assert!(!changes(&p).iter().any(|(a, _)| a == "policy:guard"), "{p:#}");
}
