//! Who gets into vended accounts (issue 18) through the binary on the embedded backend: IAM
//! Identity Center account assignments and alternate contacts from the account blueprint
//! (`workload@v3`: `access`, `request_access`, `contacts`) and the request, AWS Account
//! Management's trusted access before the first contact, removals when a blueprint version drops
//! an entry, plan errors for groups and permission sets Identity Center does not have, and
//! assignments vend does not own left alone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use serde_json::Value;
use std::fs;
use std::path::Path;

const STAGING: &str = "checkout-staging";

/// Addresses and actions of the changes of `kind`.
fn of_kind(plan: &Value, kind: &str) -> Vec<(String, String)> {
    changes(plan).into_iter().filter(|(a, _)| a.starts_with(&format!("{kind}:"))).collect()
}

fn id_of(s: &Value, list: &str, key: &str, name: &str, field: &str) -> String {
    s["access"]["identity_center"][list]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x[key] == name)
        .unwrap_or_else(|| panic!("no {name} in {list}"))[field]
        .as_str()
        .unwrap()
        .to_string()
}

fn account_id(s: &Value, name: &str) -> String {
    s["accounts"].as_array().unwrap().iter().find(|a| a["name"] == name).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The assignments of `account` in the state as (group, permission set) names.
fn assignments(ws: &Path, account: &str) -> Vec<(String, String)> {
    let s = state_file(ws);
    let id = account_id(&s, account);
    let ic = &s["access"]["identity_center"];
    let name = |list: &str, key: &str, v: &Value, field: &str| {
        ic[list]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x[key] == *v)
            .map(|x| x[field].as_str().unwrap().to_string())
    };
    let mut out: Vec<(String, String)> = s["access"]["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["account_id"] == id.as_str())
        .map(|a| {
            (
                name("groups", "id", &a["principal_id"], "display_name").unwrap_or_default(),
                name("permission_sets", "arn", &a["permission_set_arn"], "name").unwrap_or_default(),
            )
        })
        .collect();
    out.sort();
    out
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = list.iter().map(|(g, p)| (g.to_string(), p.to_string())).collect();
    v.sort();
    v
}

/// A new workload@v4 of the demo (v3 with `edit` applied to its text) and the staging request
/// moved to it.
fn publish_v4(ws: &Path, edit: impl FnOnce(String) -> String) {
    let v3 = fs::read_to_string(ws.join("blueprints/accounts/workload/v3.yaml")).unwrap();
    fs::write(ws.join("blueprints/accounts/workload/v4.yaml"), edit(v3)).unwrap();
    let req = ws.join(format!("catalog/accounts/{STAGING}.yaml"));
    let r = fs::read_to_string(&req).unwrap();
    fs::write(&req, r.replace("workload@v3", "workload@v4")).unwrap();
}

/// The demo plan vends checkout-staging with its assignments (blueprint and request entries)
/// and its security contact, after the account and — for the contact — after AWS Account
/// Management's trusted access; the text plan shows who gets in.
#[test]
fn the_demo_plan_vends_access_and_contacts() {
    let (_d, ws, config) = demo_with_config();
    let p = plan_in(&ws, &config);
    assert_eq!(p["applyable"], true, "{p:#}");
    let expected = [
        format!("account_assignment:{STAGING}/platform-readonly/ReadOnlyAccess"),
        format!("account_assignment:{STAGING}/team-checkout-admins/AdministratorAccess"),
        format!("account_assignment:{STAGING}/team-checkout-developers/PowerUserAccess"),
        format!("account_assignment:{STAGING}/team-checkout-developers/WorkloadDeploy"),
    ];
    let mut got: Vec<String> = of_kind(&p, "account_assignment").into_iter().map(|(a, _)| a).collect();
    got.sort();
    assert_eq!(got, expected);
    for a in &expected {
        let c = change(&p, a).unwrap();
        assert_eq!(c["action"], "create");
        assert_eq!(c["after"]["account_id"], Value::Null, "the account is created by the plan");
        assert!(c["depends_on"].as_array().unwrap().iter().any(|d| d == &format!("account:{STAGING}")));
        assert!(c["after"]["group_id"].is_string());
        // WorkloadDeploy is vend's permission set (catalog/permission_sets/), created by the
        // plan: its ARN is resolved at apply (tests/permission_sets.rs).
        if a.ends_with("/WorkloadDeploy") {
            assert!(c["after"]["permission_set_arn"].is_null());
            assert!(c["depends_on"].as_array().unwrap().iter().any(|d| d == "permission_set:WorkloadDeploy"));
        } else {
            assert!(c["after"]["permission_set_arn"].is_string());
        }
    }
    let contact = change(&p, &format!("alternate_contact:{STAGING}/security")).unwrap();
    assert_eq!(contact["action"], "create");
    assert_eq!(contact["after"]["type"], "SECURITY");
    assert_eq!(contact["after"]["email"], "security@example.com");
    let deps: Vec<&str> =
        contact["depends_on"].as_array().unwrap().iter().map(|d| d.as_str().unwrap()).collect();
    assert!(
        deps.contains(&"service_access:account") && deps.contains(&"account:checkout-staging"),
        "{deps:?}"
    );
    let access = change(&p, "service_access:account").unwrap();
    assert_eq!(access["after"]["service"], "account.amazonaws.com");
    // No other account's access changes (their blueprint versions declare none).
    assert!(of_kind(&p, "alternate_contact").iter().all(|(a, _)| a.contains(STAGING)));
    let after = p["effective_access"].as_array().unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0]["account"], STAGING);
    assert_eq!(after[0]["after"].as_array().unwrap().len(), 4);
    let human = ok(&vend_in(&ws, &config, &["plan"]));
    assert!(human.contains("Who gets in"), "{human}");
    assert!(human.contains("+ team-checkout-admins -> AdministratorAccess"), "{human}");
}

/// Apply makes the assignments and the contact; the next plan is empty; a blueprint version that
/// drops an access entry and changes the contact plans a delete and an update, applied in turn.
#[test]
fn apply_converges_and_a_new_blueprint_version_deletes_and_updates() {
    let (_d, ws, config) = demo_with_config();
    ok(&vend_in(&ws, &config, &["apply", "--auto-approve"]));
    assert_eq!(
        assignments(&ws, STAGING),
        pairs(&[
            ("platform-readonly", "ReadOnlyAccess"),
            ("team-checkout-admins", "AdministratorAccess"),
            ("team-checkout-developers", "PowerUserAccess"),
            ("team-checkout-developers", "WorkloadDeploy"),
        ])
    );
    let s = state_file(&ws);
    assert_eq!(s["access"]["account_management_access"], true);
    let id = account_id(&s, STAGING);
    let contacts: Vec<&Value> = s["access"]["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["account_id"] == id.as_str())
        .collect();
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0]["phone"], "+1 555 0100");
    assert!(plan_in(&ws, &config)["changes"].as_array().unwrap().is_empty(), "re-plan after apply");

    publish_v4(&ws, |v3| {
        v3.replace("  - { group: platform-readonly, permission_set: ReadOnlyAccess }\n", "")
            .replace("'+1 555 0100'", "'+1 555 0199'")
    });
    let p = plan_in(&ws, &config);
    let mut acc = of_kind(&p, "account_assignment");
    acc.sort();
    assert_eq!(
        acc,
        vec![(
            format!("account_assignment:{STAGING}/platform-readonly/ReadOnlyAccess"),
            "delete".to_string()
        )]
    );
    let contact = change(&p, &format!("alternate_contact:{STAGING}/security")).unwrap();
    assert_eq!(contact["action"], "update");
    assert_eq!(contact["before"]["phone"], "+1 555 0100");
    assert_eq!(contact["after"]["phone"], "+1 555 0199");
    assert!(change(&p, "service_access:account").is_none(), "trusted access is on already");
    ok(&vend_in(&ws, &config, &["apply", "--auto-approve"]));
    assert_eq!(
        assignments(&ws, STAGING),
        pairs(&[
            ("team-checkout-admins", "AdministratorAccess"),
            ("team-checkout-developers", "PowerUserAccess"),
            ("team-checkout-developers", "WorkloadDeploy")
        ])
    );
    assert!(
        plan_in(&ws, &config)["changes"].as_array().unwrap().is_empty(),
        "re-plan after the second apply"
    );

    // Dropping the contact from the blueprint deletes it.
    fs::write(
        ws.join("blueprints/accounts/workload/v5.yaml"),
        fs::read_to_string(ws.join("blueprints/accounts/workload/v4.yaml"))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("contacts:") && !l.trim_start().starts_with("security:"))
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    )
    .unwrap();
    let req = ws.join(format!("catalog/accounts/{STAGING}.yaml"));
    fs::write(&req, fs::read_to_string(&req).unwrap().replace("workload@v4", "workload@v5")).unwrap();
    let p = plan_in(&ws, &config);
    assert_eq!(
        of_kind(&p, "alternate_contact"),
        vec![(format!("alternate_contact:{STAGING}/security"), "delete".to_string())]
    );
    ok(&vend_in(&ws, &config, &["apply", "--auto-approve"]));
    assert!(plan_in(&ws, &config)["changes"].as_array().unwrap().is_empty());
}

/// A group or a permission set Identity Center does not have is a plan error at the blueprint
/// line (naming the request), never an apply failure.
#[test]
fn unknown_groups_and_permission_sets_are_plan_errors_at_the_entry() {
    let (_d, ws, config) = demo_with_config();
    publish_v4(&ws, |v3| {
        v3.replace(
            "{ group: platform-readonly, permission_set: ReadOnlyAccess }",
            "{ group: platform-auditors, permission_set: ReadOnlyAccess }",
        )
        .replace(
            "{ group: '{owner}-admins', permission_set: AdministratorAccess }",
            "{ group: '{owner}-admins', permission_set: BreakGlass }",
        )
    });
    let out = vend_in(&ws, &config, &["plan"]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let diags = parse_diagnostics(&format!("{}{}", text(&out.stdout), text(&out.stderr)));
    let v4 = "blueprints/accounts/workload/v4.yaml";
    let line_of = |needle: &str| {
        let body = fs::read_to_string(ws.join(v4)).unwrap();
        body.lines().position(|l| l.contains(needle)).unwrap() + 1
    };
    let at = |code: &str| {
        diags
            .iter()
            .find(|(_, c, _)| c == code)
            .and_then(|(_, _, loc)| loc.clone())
            .unwrap_or_else(|| panic!("no {code} with a location: {diags:?}"))
    };
    assert!(at("unknown-group").starts_with(&format!("{v4}:{}:", line_of("platform-auditors"))), "{diags:?}");
    assert!(
        at("unknown-permission-set").starts_with(&format!("{v4}:{}:", line_of("BreakGlass"))),
        "{diags:?}"
    );
    let stderr = text(&out.stdout);
    assert!(stderr.contains(&format!("account request '{STAGING}'")), "{stderr}");
    assert!(stderr.contains("platform-auditors") && stderr.contains("BreakGlass"), "{stderr}");
}

/// An assignment of a group the blueprint family neither declares nor lets a request declare is
/// not vend's: it stays; an owned one nothing asks for any more is deleted.
#[test]
fn assignments_vend_does_not_own_are_left_alone() {
    let (_d, ws, config) = demo_with_config();
    ok(&vend_in(&ws, &config, &["apply", "--auto-approve"]));
    edit_state(&ws, |s| {
        let staging = account_id(s, STAGING);
        let dev = account_id(s, "checkout-dev");
        let read_only = id_of(s, "permission_sets", "name", "ReadOnlyAccess", "arn");
        let admin = id_of(s, "permission_sets", "name", "AdministratorAccess", "arn");
        let auditors = id_of(s, "groups", "display_name", "security-auditors", "id");
        let admins = id_of(s, "groups", "display_name", "team-checkout-admins", "id");
        let list = s["access"]["assignments"].as_array_mut().unwrap();
        let row = |account: &str, ps: &str, group: &str| serde_json::json!({"account_id": account, "permission_set_arn": ps, "principal_type": "GROUP", "principal_id": group});
        // Someone gave the auditors read access by hand, on the new account and an older one.
        list.push(row(&staging, &read_only, &auditors));
        list.push(row(&dev, &read_only, &auditors));
        // …and the checkout admins admin access on checkout-dev, whose blueprint family owns
        // that pair (workload@v3 declares '{owner}-admins' with AdministratorAccess) while its
        // version (v1) does not ask for it.
        list.push(row(&dev, &admin, &admins));
        list.sort_by_key(|a| {
            (
                a["account_id"].as_str().unwrap().to_string(),
                a["permission_set_arn"].as_str().unwrap().to_string(),
                a["principal_id"].as_str().unwrap().to_string(),
            )
        });
    });
    let p = plan_in(&ws, &config);
    assert_eq!(
        of_kind(&p, "account_assignment"),
        vec![(
            "account_assignment:checkout-dev/team-checkout-admins/AdministratorAccess".to_string(),
            "delete".to_string()
        )],
        "{p:#}"
    );
    ok(&vend_in(&ws, &config, &["apply", "--auto-approve"]));
    assert!(assignments(&ws, STAGING).contains(&("security-auditors".into(), "ReadOnlyAccess".into())));
    assert_eq!(assignments(&ws, "checkout-dev"), pairs(&[("security-auditors", "ReadOnlyAccess")]));
    assert!(plan_in(&ws, &config)["changes"].as_array().unwrap().is_empty());
}

/// A state file written before vend read access (no `access`) plans none and says why.
#[test]
fn a_state_without_access_is_a_plan_error_for_accounts_that_declare_some() {
    let (_d, ws, config) = demo_with_config();
    let mut s: Value =
        serde_json::from_str(&fs::read_to_string(root().join("snapshots/demo.state.json")).unwrap()).unwrap();
    s.as_object_mut().unwrap().remove("access");
    fs::create_dir_all(ws.join(".vend")).unwrap();
    fs::write(ws.join(".vend/state.json"), serde_json::to_string_pretty(&s).unwrap()).unwrap();
    let out = vend_in(&ws, &config, &["plan"]);
    assert_ne!(out.status.code(), Some(0));
    let diags = parse_diagnostics(&format!("{}{}", text(&out.stdout), text(&out.stderr)));
    assert!(
        diags.iter().any(|(_, code, at)| {
            code == "access-unknown"
                && at.as_deref().is_some_and(|a| a.starts_with(&format!("catalog/accounts/{STAGING}.yaml")))
        }),
        "{diags:?}"
    );
}

/// An organization without an Identity Center instance: a request that asks for access is a plan
/// error at its first access entry; a state whose access lists an instance ARN of the wrong shape
/// is refused as a snapshot.
#[test]
fn without_an_instance_access_is_a_plan_error_and_bad_ids_are_refused() {
    let (_d, ws, config) = demo_with_config();
    let mut s: Value =
        serde_json::from_str(&fs::read_to_string(root().join("snapshots/demo.state.json")).unwrap()).unwrap();
    s["access"].as_object_mut().unwrap().remove("identity_center");
    fs::create_dir_all(ws.join(".vend")).unwrap();
    fs::write(ws.join(".vend/state.json"), serde_json::to_string_pretty(&s).unwrap()).unwrap();
    let out = vend_in(&ws, &config, &["plan"]);
    assert_ne!(out.status.code(), Some(0));
    let diags = parse_diagnostics(&format!("{}{}", text(&out.stdout), text(&out.stderr)));
    let v3 = "blueprints/accounts/workload/v3.yaml";
    let line =
        fs::read_to_string(ws.join(v3)).unwrap().lines().position(|l| l.contains("{owner}-admins")).unwrap()
            + 1;
    assert!(
        diags.iter().any(|(_, code, at)| code == "identity-center-missing"
            && at.as_deref().is_some_and(|a| a.starts_with(&format!("{v3}:{line}:")))),
        "{diags:?}"
    );

    let mut s: Value =
        serde_json::from_str(&fs::read_to_string(root().join("snapshots/demo.state.json")).unwrap()).unwrap();
    s["access"]["identity_center"]["instance_arn"] = Value::from("arn:aws:sso:::instance/nope");
    fs::write(ws.join(".vend/state.json"), serde_json::to_string_pretty(&s).unwrap()).unwrap();
    let out = vend_in(&ws, &config, &["plan"]);
    assert_ne!(out.status.code(), Some(0));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(all.contains("access.identity_center.instance_arn"), "{all}");
}

/// IAM Identity Center administered from a delegated administrator cannot give or take access
/// to the management account (rule `identitycenter.delegated-admin-management-account`): the
/// plan that would is refused at the entry, the same workspace plans the assignment when
/// Identity Center is administered from the management account, and the in-process cloud
/// refuses the call itself.
#[test]
fn a_delegated_administrator_cannot_change_access_to_the_management_account() {
    let (_d, ws, config) = demo_with_config();
    // The management account as a request (vend never moves or retags it: it sits under the
    // root and already carries the tags), through a blueprint that gives a group access.
    let bp = "blueprints/accounts/admin/v1.yaml";
    fs::create_dir_all(ws.join("blueprints/accounts/admin")).unwrap();
    fs::write(
        ws.join(bp),
        "description: The management account\nou: ''\npolicies: []\ntags: {}\naccess:\n  - { group: platform-readonly, permission_set: ReadOnlyAccess }\n",
    )
    .unwrap();
    fs::write(
        ws.join("catalog/accounts/management.yaml"),
        "blueprint: admin@v1\nname: management\nemail: aws+management@example.com\nowner: platform\nlifecycle: adopt\n",
    )
    .unwrap();
    let mut s: Value =
        serde_json::from_str(&fs::read_to_string(root().join("snapshots/demo.state.json")).unwrap()).unwrap();
    let mgmt = s["organization"]["management_account_id"].as_str().unwrap().to_string();
    for a in s["accounts"].as_array_mut().unwrap() {
        if a["id"] == mgmt.as_str() {
            a["tags"] = serde_json::json!({ "vend:blueprint": "admin@v1", "vend:managed": "true", "vend:owner": "platform" });
        }
    }
    let read = s["access"]["read_accounts"].as_array_mut().unwrap();
    read.push(Value::from(mgmt.clone()));
    read.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    s.as_object_mut().unwrap().remove("digest");
    fs::create_dir_all(ws.join(".vend")).unwrap();
    fs::write(ws.join(".vend/state.json"), serde_json::to_string_pretty(&s).unwrap()).unwrap();

    // From the management account: the assignment is planned.
    let p = plan_in(&ws, &config);
    assert_eq!(p["applyable"], true, "{:#}", p["diagnostics"]);
    let address = "account_assignment:management/platform-readonly/ReadOnlyAccess";
    assert_eq!(change(&p, address).map(|c| c["action"].clone()), Some(Value::from("create")), "{p:#}");

    // From a delegated administrator: a plan error at the blueprint's entry, naming the request.
    let admin =
        s["access"]["read_accounts"].as_array().unwrap().iter().find(|a| **a != mgmt.as_str()).unwrap();
    let admin = admin.as_str().unwrap().to_string();
    let vend_yaml = ws.join("catalog/vend.yaml");
    let settings = fs::read_to_string(&vend_yaml).unwrap();
    fs::write(&vend_yaml, format!("{settings}identity_center: {{ delegated_admin: \"{admin}\" }}\n"))
        .unwrap();
    let out = vend_in(&ws, &config, &["plan"]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let diags = parse_diagnostics(&format!("{}{}", text(&out.stdout), text(&out.stderr)));
    let line = fs::read_to_string(ws.join(bp))
        .unwrap()
        .lines()
        .position(|l| l.contains("platform-readonly"))
        .unwrap()
        + 1;
    assert!(
        diags.iter().any(|(_, code, at)| code == "delegated-admin-management-account"
            && at.as_deref().is_some_and(|a| a.starts_with(&format!("{bp}:{line}:")))),
        "{diags:?}"
    );
    let all = text(&out.stdout);
    assert!(all.contains("account request 'management'") && all.contains(&admin), "{all}");

    // The in-process cloud, administered from the delegated administrator, refuses the call on
    // the management account and takes it on a member account.
    use vend::adapter::local_cloud::{LocalCloud, Settings};
    use vend::port::{Cloud, Op};
    let state = vend::adapter::fs::read_state(&root().join("snapshots/demo.state.json")).unwrap();
    let ic = state.access.clone().unwrap().identity_center.unwrap();
    let mut cloud = LocalCloud::in_memory(state)
        .with_settings(Settings { identity_center_admin: Some(admin.clone()), ..Settings::default() });
    let assign = |account_id: &str| Op::CreateAccountAssignment {
        instance_arn: ic.instance_arn.clone(),
        account_id: account_id.into(),
        permission_set_arn: ic.permission_sets[0].arn.clone(),
        principal_type: "GROUP".into(),
        principal_id: ic.groups[0].id.clone(),
    };
    let refused = cloud.call(&assign(&mgmt)).unwrap_err();
    assert_eq!(refused.code, "AccessDeniedException", "{refused:?}");
    assert!(refused.to_string().contains("management account"), "{refused}");
    cloud.call(&assign(&admin)).unwrap();
}
