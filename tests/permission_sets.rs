//! IAM Identity Center permission sets vend manages (issue 18, `catalog/permission_sets/`)
//! through the binary on the embedded backend: the demo's `WorkloadDeploy` is created (tagged
//! with vend's ownership tag, its managed and inline policies) before the assignment of
//! workload@v3 that uses it; an edit is an update that re-provisions it; removing its file (and
//! the entry, in a new blueprint version) deletes it after its assignment; a same-name set vend
//! does not manage is refused unless `lifecycle: adopt`; file errors are reported at file:line:col.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use serde_json::Value;
use std::fs;
use std::path::Path;

const STAGING: &str = "checkout-staging";
const SET: &str = "WorkloadDeploy";
const FILE: &str = "catalog/permission_sets/WorkloadDeploy.yaml";

fn position(plan: &Value, address: &str) -> usize {
    plan["changes"].as_array().unwrap().iter().position(|c| c["address"] == address).unwrap()
}

/// The permission set `name` as the state records it.
fn permission_set(ws: &Path, name: &str) -> Option<Value> {
    state_file(ws)["access"]["identity_center"]["permission_sets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .cloned()
}

/// The assignments of the permission set `arn` in the state.
fn assignments_of(ws: &Path, arn: &str) -> usize {
    state_file(ws)["access"]["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["permission_set_arn"] == arn)
        .count()
}

/// The permission-set operations the audit log records as done (outcome records), in order.
fn audited_ops(ws: &Path) -> Vec<String> {
    fs::read_to_string(ws.join(".vend/audit.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["event"] == "outcome" && r["detail"]["ok"] == true)
        .filter_map(|r| r["detail"]["op"].as_str().map(str::to_string))
        .filter(|op| {
            ["CreatePermissionSet", "UpdatePermissionSet", "ProvisionPermissionSet", "DeletePermissionSet"]
                .contains(&op.as_str())
        })
        .collect()
}

fn assignment() -> String {
    format!("account_assignment:{STAGING}/team-checkout-developers/{SET}")
}

/// The demo plan creates the managed permission set (tagged, its policies) before the
/// assignment that uses it, whose ARN is pending until apply.
#[test]
fn the_demo_plan_creates_the_permission_set_before_its_assignment() {
    let (_d, ws, config) = demo_with_config();
    let p = plan_in(&ws, &config);
    assert_eq!(p["applyable"], true, "{p:#}");
    let c = change(&p, &format!("permission_set:{SET}")).unwrap_or_else(|| panic!("{p:#}"));
    assert_eq!(c["action"], "create");
    let after = &c["after"];
    assert_eq!(after["arn"], Value::Null);
    assert_eq!(after["session_duration"], "PT4H");
    assert_eq!(after["tags"]["vend:managed"], "true");
    assert_eq!(
        after["managed_policies"],
        serde_json::json!([
            "arn:aws:iam::aws:policy/AWSCloudFormationFullAccess",
            "arn:aws:iam::aws:policy/ReadOnlyAccess"
        ])
    );
    assert!(after["inline_policy"].as_str().unwrap().contains("codepipeline:StartPipelineExecution"));
    let a = change(&p, &assignment()).unwrap_or_else(|| panic!("{p:#}"));
    assert_eq!(a["action"], "create");
    assert_eq!(a["after"]["permission_set_arn"], Value::Null);
    assert!(a["depends_on"].as_array().unwrap().iter().any(|d| d == &format!("permission_set:{SET}")));
    assert!(position(&p, &format!("permission_set:{SET}")) < position(&p, &assignment()));
    let human = ok(&vend_in(&ws, &config, &["plan"]));
    assert!(human.contains(&format!("permission_set:{SET}")), "{human}");
}

/// Apply creates it and assigns it; an edit is an update that re-provisions it; removing its
/// file and the entry deletes the assignment, then the permission set.
#[test]
fn created_assigned_updated_and_deleted_after_its_assignment() {
    let (_d, ws, config) = demo_with_config();
    ok(&vend_in(&ws, &config, &["apply", "--auto-approve"]));
    let ps = permission_set(&ws, SET).expect("created");
    let arn = ps["arn"].as_str().unwrap().to_string();
    assert!(arn.starts_with("arn:aws:sso:::permissionSet/"), "{arn}");
    let d = &ps["details"];
    assert_eq!(d["tags"]["vend:managed"], "true");
    assert_eq!(d["session_duration"], "PT4H");
    assert_eq!(d["managed_policies"].as_array().unwrap().len(), 2);
    assert!(d["inline_policy"].as_str().unwrap().contains("codepipeline"));
    assert_eq!(assignments_of(&ws, &arn), 1, "assigned to {STAGING}");
    assert!(plan_in(&ws, &config)["changes"].as_array().unwrap().is_empty(), "re-plan after apply");
    assert_eq!(audited_ops(&ws), vec!["CreatePermissionSet"]);

    // An edit: a longer session, one managed policy fewer, no inline policy.
    let f = ws.join(FILE);
    let body = fs::read_to_string(&f).unwrap();
    let edited =
        body.replace("PT4H", "PT8H").replace("  - arn:aws:iam::aws:policy/AWSCloudFormationFullAccess\n", "");
    let edited = edited[..edited.find("inline_policy:").unwrap()].to_string();
    fs::write(&f, edited).unwrap();
    let p = plan_in(&ws, &config);
    let c = change(&p, &format!("permission_set:{SET}")).unwrap_or_else(|| panic!("{p:#}"));
    assert_eq!(c["action"], "update", "{c:#}");
    let reason = c["reason"].as_str().unwrap();
    assert!(reason.contains("session duration") && reason.contains("inline policy"), "{reason}");
    assert_eq!(p["changes"].as_array().unwrap().len(), 1, "{p:#}");
    ok(&vend_in(&ws, &config, &["apply", "--auto-approve"]));
    let d = permission_set(&ws, SET).unwrap()["details"].clone();
    assert_eq!(d["session_duration"], "PT8H");
    assert_eq!(d["managed_policies"], serde_json::json!(["arn:aws:iam::aws:policy/ReadOnlyAccess"]));
    assert!(d.get("inline_policy").is_none_or(Value::is_null), "{d:#}");
    assert_eq!(
        audited_ops(&ws),
        vec!["CreatePermissionSet", "UpdatePermissionSet", "ProvisionPermissionSet"]
    );
    assert!(plan_in(&ws, &config)["changes"].as_array().unwrap().is_empty(), "re-plan after the update");

    // The file removed while workload@v3 still names it: a plan error at the entry.
    fs::remove_file(&f).unwrap();
    let out = vend_in(&ws, &config, &["plan"]);
    assert_ne!(out.status.code(), Some(0));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        all.contains("permission-set-in-use") && all.contains("blueprints/accounts/workload/v3.yaml"),
        "{all}"
    );

    // A new blueprint version without the entry: the assignment is deleted, then the set.
    let v3 = fs::read_to_string(ws.join("blueprints/accounts/workload/v3.yaml")).unwrap();
    let v4 = v3.replace(&format!("  - {{ group: '{{owner}}-developers', permission_set: {SET} }}\n"), "");
    assert_ne!(v3, v4);
    fs::write(ws.join("blueprints/accounts/workload/v4.yaml"), v4).unwrap();
    let req = ws.join(format!("catalog/accounts/{STAGING}.yaml"));
    fs::write(&req, fs::read_to_string(&req).unwrap().replace("workload@v3", "workload@v4")).unwrap();
    let p = plan_in(&ws, &config);
    assert_eq!(p["applyable"], true, "{p:#}");
    let del = change(&p, &format!("permission_set:{SET}")).unwrap_or_else(|| panic!("{p:#}"));
    assert_eq!(del["action"], "delete");
    assert_eq!(change(&p, &assignment()).unwrap()["action"], "delete");
    assert!(del["depends_on"].as_array().unwrap().iter().any(|d| d == &assignment()), "{del:#}");
    assert!(position(&p, &assignment()) < position(&p, &format!("permission_set:{SET}")));
    ok(&vend_in(&ws, &config, &["apply", "--auto-approve"]));
    assert!(permission_set(&ws, SET).is_none(), "deleted");
    assert_eq!(assignments_of(&ws, &arn), 0);
    assert_eq!(audited_ops(&ws).last().map(String::as_str), Some("DeletePermissionSet"));
    assert!(plan_in(&ws, &config)["changes"].as_array().unwrap().is_empty(), "re-plan after the delete");
}

/// A same-name permission set without vend's ownership tag is refused (`unmanaged-conflict`)
/// unless the file says `lifecycle: adopt`, which tags it and sets its fields.
#[test]
fn an_existing_set_is_refused_unless_adopted() {
    let (_d, ws, config) = demo_with_config();
    ok(&vend_in(&ws, &config, &["apply", "--auto-approve"]));
    // The demo's ReadOnlyAccess, described as AWS would: no vend tag.
    edit_state(&ws, |s| {
        let sets = s["access"]["identity_center"]["permission_sets"].as_array_mut().unwrap();
        let ro = sets.iter_mut().find(|p| p["name"] == "ReadOnlyAccess").unwrap();
        ro["details"] = serde_json::json!({
            "description": "Read only",
            "session_duration": "PT1H",
            "managed_policies": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
            "tags": { "team": "platform" }
        });
    });
    let file = ws.join("catalog/permission_sets/ReadOnlyAccess.yaml");
    let body = "description: Read only, for everyone\nsession_duration: PT2H\nmanaged_policies:\n  - arn:aws:iam::aws:policy/ReadOnlyAccess\n";
    fs::write(&file, body).unwrap();
    let out = vend_in(&ws, &config, &["plan"]);
    assert_ne!(out.status.code(), Some(0));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        all.contains("unmanaged-conflict") && all.contains("catalog/permission_sets/ReadOnlyAccess.yaml"),
        "{all}"
    );

    fs::write(&file, format!("{body}lifecycle: adopt\n")).unwrap();
    let p = plan_in(&ws, &config);
    assert_eq!(p["applyable"], true, "{p:#}");
    let c = change(&p, "permission_set:ReadOnlyAccess").unwrap_or_else(|| panic!("{p:#}"));
    assert_eq!(c["action"], "adopt");
    assert_eq!(c["after"]["tags"]["vend:managed"], "true");
    assert_eq!(c["after"]["tags"]["team"], "platform", "tags vend did not write are kept");
    ok(&vend_in(&ws, &config, &["apply", "--auto-approve"]));
    let d = permission_set(&ws, "ReadOnlyAccess").unwrap()["details"].clone();
    assert_eq!(d["tags"]["vend:managed"], "true");
    assert_eq!(d["session_duration"], "PT2H");
    assert!(plan_in(&ws, &config)["changes"].as_array().unwrap().is_empty(), "re-plan after adopting");
}

/// What IAM Identity Center would refuse is an error at the file's line and column.
#[test]
fn invalid_files_are_errors_at_file_line_col() {
    let (_d, ws, config) = demo_with_config();
    let dir = ws.join("catalog/permission_sets");
    fs::write(
        dir.join("Ops.yaml"),
        "description: Operations\nsession_duration: PT13H\nmanaged_policies:\n  - arn:aws:iam::123456789012:policy/Mine\n",
    )
    .unwrap();
    let many: String =
        (0..21).map(|i| format!("  - arn:aws:iam::aws:policy/P{i}\n")).collect::<Vec<_>>().concat();
    fs::write(
        dir.join("Many.yaml"),
        format!("description: Many\nsession_duration: PT1H\nmanaged_policies:\n{many}"),
    )
    .unwrap();
    fs::write(dir.join("Bad$Name.yaml"), "description: x\nsession_duration: PT1H\n").unwrap();
    fs::write(dir.join("Typo.yaml"), "description: x\nsession_duration: PT1H\nsesion: PT2H\n").unwrap();
    let out = vend_in(&ws, &config, &["validate"]);
    assert_ne!(out.status.code(), Some(0));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    for want in [
        "catalog/permission_sets/Ops.yaml:2:19",
        "session_duration 'PT13H' must be from PT1H to PT12H",
        "catalog/permission_sets/Ops.yaml:4:5",
        "catalog/permission_sets/Many.yaml:24:5",
        "at most 20",
        "catalog/permission_sets/Bad$Name.yaml",
        "catalog/permission_sets/Typo.yaml:3",
    ] {
        assert!(all.contains(want), "missing {want:?} in:\n{all}");
    }
    // The schema is served like the others.
    let schema = ok(&vend_in(&ws, &config, &["schema", "permission-set"]));
    assert!(schema.contains("session_duration") && schema.contains("inline_policy"), "{schema}");
}

/// IAM Identity Center administered from a delegated administrator cannot change a permission
/// set provisioned to the management account (rule
/// `identitycenter.delegated-admin-management-permission-set`): the demo's set, once assigned
/// in the management account behind vend's back, cannot be updated from there — a plan error at
/// its file — while before that assignment the same edit plans as an update; the in-process
/// cloud administered from the delegated administrator refuses the call itself.
#[test]
fn a_delegated_administrator_cannot_change_a_permission_set_provisioned_to_the_management_account() {
    use vend::adapter::local_cloud::{LocalCloud, Settings};
    use vend::port::{Cloud, Op};
    let (_d, ws, config) = demo_with_config();
    ok(&vend_in(&ws, &config, &["apply", "--auto-approve"]));
    let arn = permission_set(&ws, SET).unwrap()["arn"].as_str().unwrap().to_string();
    let s = state_file(&ws);
    let mgmt = s["organization"]["management_account_id"].as_str().unwrap().to_string();
    let admin =
        s["accounts"].as_array().unwrap().iter().find(|a| a["name"] == "security-audit").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
    let f = ws.join(FILE);
    fs::write(&f, fs::read_to_string(&f).unwrap().replace("PT4H", "PT8H")).unwrap();
    let vend_yaml = ws.join("catalog/vend.yaml");
    let settings = fs::read_to_string(&vend_yaml).unwrap();
    fs::write(&vend_yaml, format!("{settings}identity_center: {{ delegated_admin: \"{admin}\" }}\n"))
        .unwrap();

    // Not provisioned to the management account: the delegated administrator may update it.
    let p = plan_in(&ws, &config);
    assert_eq!(p["applyable"], true, "{:#}", p["diagnostics"]);
    assert_eq!(change(&p, &format!("permission_set:{SET}")).unwrap()["action"], "update");

    // Someone assigns it in the management account (from the management account itself).
    let state_path = ws.join(".vend/state.json");
    let state = vend::adapter::fs::read_state(&state_path).unwrap();
    let ic = state.access.clone().unwrap().identity_center.unwrap();
    {
        let mut cloud = LocalCloud::open(&state_path).unwrap();
        let out = cloud
            .call(&Op::CreateAccountAssignment {
                instance_arn: ic.instance_arn.clone(),
                account_id: mgmt.clone(),
                permission_set_arn: arn.clone(),
                principal_type: "GROUP".into(),
                principal_id: ic.groups[0].id.clone(),
            })
            .unwrap();
        let request_id = out.id.unwrap();
        for _ in 0..10 {
            let s = cloud
                .call(&Op::DescribeAccountAssignmentCreationStatus {
                    instance_arn: ic.instance_arn.clone(),
                    request_id: request_id.clone(),
                })
                .unwrap();
            if s.status.as_deref() != Some("IN_PROGRESS") {
                assert_eq!(s.status.as_deref(), Some("SUCCEEDED"), "{s:?}");
                break;
            }
        }
    }
    let out = vend_in(&ws, &config, &["plan"]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let diags = parse_diagnostics(&format!("{}{}", text(&out.stdout), text(&out.stderr)));
    assert!(
        diags.iter().any(|(_, code, at)| code == "delegated-admin-management-permission-set"
            && at.as_deref().is_some_and(|a| a.starts_with(FILE))),
        "{diags:?}\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let all = text(&out.stdout);
    assert!(all.contains(&mgmt) && all.contains(&admin), "{all}");

    // The same edit from the management account plans again.
    fs::write(&vend_yaml, &settings).unwrap();
    let p = plan_in(&ws, &config);
    assert_eq!(p["applyable"], true, "{:#}", p["diagnostics"]);

    // The in-process cloud, administered from the delegated administrator, refuses the call.
    let state = vend::adapter::fs::read_state(&state_path).unwrap();
    let mut cloud = LocalCloud::in_memory(state)
        .with_settings(Settings { identity_center_admin: Some(admin.clone()), ..Settings::default() });
    let refused = cloud
        .call(&Op::UpdatePermissionSet {
            instance_arn: ic.instance_arn.clone(),
            permission_set_arn: arn.clone(),
            description: "changed".into(),
            session_duration: "PT8H".into(),
        })
        .unwrap_err();
    assert_eq!(refused.code, "AccessDeniedException", "{refused:?}");
    assert_eq!(refused.rule.as_deref(), Some("identitycenter.delegated-admin-management-permission-set"));
}
