//! Permission sets vend manages (issue 18, `catalog/permission_sets/`) end to end against the
//! project's emulator, checked through the SDK: the demo's `WorkloadDeploy` is created with vend's
//! ownership tag, its managed and inline policies, and assigned to the new account; an edit is an
//! update that re-provisions it; removing its file and the blueprint entry deletes the assignment,
//! then the permission set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod emulator_harness;

use aws_sdk_ssoadmin as sso;
use emulator_harness::lock;
use emulator_harness::seed::rt;
use emulator_harness::workspace::{VendWorkspace, list_accounts, permission_set_named};
use serde_json::Value;

const NEW: &str = "checkout-staging";
const SET: &str = "WorkloadDeploy";

fn action(p: &Value, address: &str) -> Option<String> {
    p["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == address)
        .map(|c| c["action"].as_str().unwrap().to_string())
}

/// What the emulator holds of the permission set `name`: (ARN, session duration, tags, managed
/// policy ARNs, inline policy), through the SDK; `None` when there is none.
type Seen = (String, String, Vec<(String, String)>, Vec<String>, String);

fn seen(c: &sso::Client, instance_arn: &str, name: &str) -> Option<Seen> {
    rt().block_on(async {
        let (arn, ps) = permission_set_named(c, instance_arn, name).await?;
        let tags =
            c.list_tags_for_resource().instance_arn(instance_arn).resource_arn(&arn).send().await.unwrap();
        let managed = c
            .list_managed_policies_in_permission_set()
            .instance_arn(instance_arn)
            .permission_set_arn(&arn)
            .send()
            .await
            .unwrap();
        let inline = c
            .get_inline_policy_for_permission_set()
            .instance_arn(instance_arn)
            .permission_set_arn(&arn)
            .send()
            .await
            .unwrap();
        let mut policies: Vec<String> =
            managed.attached_managed_policies().iter().filter_map(|m| m.arn().map(str::to_string)).collect();
        policies.sort();
        Some((
            arn,
            ps.session_duration().unwrap_or_default().to_string(),
            tags.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect(),
            policies,
            inline.inline_policy().unwrap_or_default().to_string(),
        ))
    })
}

fn assigned(c: &sso::Client, instance_arn: &str, account_id: &str, arn: &str) -> usize {
    rt().block_on(async {
        c.list_account_assignments()
            .instance_arn(instance_arn)
            .account_id(account_id)
            .permission_set_arn(arn)
            .send()
            .await
            .unwrap()
            .account_assignments()
            .len()
    })
}

#[test]
fn created_assigned_updated_and_deleted_after_its_assignment() {
    let (_guard, emu) = lock();
    let (ws, ic) = VendWorkspace::with_demo_identity_center(emu);
    let c = sso::Client::new(&emu.sdk_config());

    let p = ws.plan();
    assert_eq!(action(&p, &format!("permission_set:{SET}")).as_deref(), Some("create"), "{p:#}");
    let assignment = format!("account_assignment:{NEW}/team-checkout-developers/{SET}");
    assert_eq!(action(&p, &assignment).as_deref(), Some("create"));
    common::ok(&ws.run(&["apply", "--auto-approve", "--poll-interval-ms", "50"]));
    let (arn, session, tags, policies, inline) =
        seen(&c, &ic.instance_arn, SET).expect("created in the emulator");
    assert_eq!(session, "PT4H");
    assert!(tags.contains(&("vend:managed".to_string(), "true".to_string())), "{tags:?}");
    assert_eq!(
        policies,
        ["arn:aws:iam::aws:policy/AWSCloudFormationFullAccess", "arn:aws:iam::aws:policy/ReadOnlyAccess"]
    );
    assert!(inline.contains("codepipeline:StartPipelineExecution"), "{inline}");
    let id = list_accounts(emu, false).into_iter().find(|a| a.name == NEW).expect("the new account").id;
    assert_eq!(assigned(&c, &ic.instance_arn, &id, &arn), 1);
    ws.assert_empty_replan("after the apply");

    // An edit: another session duration and one managed policy fewer -> update, re-provisioned.
    let file = ws.ws.join(format!("catalog/permission_sets/{SET}.yaml"));
    let body = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        body.replace("PT4H", "PT8H").replace("  - arn:aws:iam::aws:policy/AWSCloudFormationFullAccess\n", ""),
    )
    .unwrap();
    let p = ws.plan();
    assert_eq!(action(&p, &format!("permission_set:{SET}")).as_deref(), Some("update"), "{p:#}");
    assert_eq!(p["changes"].as_array().unwrap().len(), 1, "{p:#}");
    common::ok(&ws.run(&["apply", "--auto-approve", "--poll-interval-ms", "50"]));
    let (_, session, _, policies, _) = seen(&c, &ic.instance_arn, SET).unwrap();
    assert_eq!(session, "PT8H");
    assert_eq!(policies, ["arn:aws:iam::aws:policy/ReadOnlyAccess"]);
    let ops: Vec<String> = ws
        .audit_records()
        .iter()
        .filter(|r| r["event"] == "outcome" && r["detail"]["ok"] == true)
        .filter_map(|r| r["detail"]["op"].as_str().map(str::to_string))
        .collect();
    for op in ["UpdatePermissionSet", "DetachManagedPolicyFromPermissionSet", "ProvisionPermissionSet"] {
        assert!(ops.iter().any(|o| o == op), "{op} not in {ops:?}");
    }
    ws.assert_empty_replan("after the update");

    // The file and the blueprint entry removed: the assignment goes, then the permission set.
    std::fs::remove_file(&file).unwrap();
    let dir = ws.ws.join("blueprints/accounts/workload");
    let v3 = std::fs::read_to_string(dir.join("v3.yaml")).unwrap();
    let v90 = v3.replace(&format!("  - {{ group: '{{owner}}-developers', permission_set: {SET} }}\n"), "");
    assert_ne!(v3, v90);
    std::fs::write(dir.join("v90.yaml"), v90).unwrap();
    let req = ws.ws.join(format!("catalog/accounts/{NEW}.yaml"));
    std::fs::write(&req, std::fs::read_to_string(&req).unwrap().replace("workload@v3", "workload@v90"))
        .unwrap();
    let p = ws.plan();
    assert_eq!(action(&p, &format!("permission_set:{SET}")).as_deref(), Some("delete"), "{p:#}");
    assert_eq!(action(&p, &assignment).as_deref(), Some("delete"));
    let order: Vec<&str> =
        p["changes"].as_array().unwrap().iter().map(|c| c["address"].as_str().unwrap()).collect();
    let at = |a: &str| order.iter().position(|x| *x == a).unwrap();
    assert!(at(&assignment) < at(&format!("permission_set:{SET}")), "{order:?}");
    common::ok(&ws.run(&["apply", "--auto-approve", "--poll-interval-ms", "50"]));
    // The emulator refuses DeletePermissionSet while an assignment uses it
    // (identitycenter.permission-set-in-use): gone means its assignment went first.
    assert!(seen(&c, &ic.instance_arn, SET).is_none(), "deleted in the emulator");
    ws.assert_empty_replan("after the deletion");
}

/// IAM Identity Center administered from a delegated administrator cannot change a permission
/// set provisioned to the management account (rule
/// `identitycenter.delegated-admin-management-permission-set`): once the demo's set is assigned
/// in the management account, vend reads that from the delegated administrator
/// (ListPermissionSetsProvisionedToAccount) and an edit of the set is a plan error at its file;
/// the emulator refuses the delegated administrator's UpdatePermissionSet and takes the
/// management account's.
#[test]
fn a_delegated_administrator_cannot_change_a_permission_set_provisioned_to_the_management_account() {
    let (_guard, emu) = lock();
    let (ws, ic) = VendWorkspace::with_demo_identity_center(emu);
    let conf = emu.sdk_config();
    let c = sso::Client::new(&conf);
    common::ok(&ws.run(&["apply", "--auto-approve", "--poll-interval-ms", "50"]));
    let (arn, ..) = seen(&c, &ic.instance_arn, SET).expect("created in the emulator");
    let admin = list_accounts(emu, false).into_iter().find(|a| a.name == "security-audit").unwrap().id;
    let group = ic.groups.values().next().unwrap().clone();
    let mgmt = rt().block_on(async {
        let o = aws_sdk_organizations::Client::new(&conf);
        let mgmt = o
            .describe_organization()
            .send()
            .await
            .unwrap()
            .organization()
            .unwrap()
            .master_account_id()
            .unwrap()
            .to_string();
        o.register_delegated_administrator()
            .account_id(&admin)
            .service_principal("sso.amazonaws.com")
            .send()
            .await
            .unwrap();
        // Someone assigns the set in the management account, from the management account.
        let out = c
            .create_account_assignment()
            .instance_arn(&ic.instance_arn)
            .target_id(&mgmt)
            .target_type(sso::types::TargetType::AwsAccount)
            .permission_set_arn(&arn)
            .principal_type(sso::types::PrincipalType::Group)
            .principal_id(&group)
            .send()
            .await
            .unwrap();
        let request = out.account_assignment_creation_status().unwrap().request_id().unwrap().to_string();
        for _ in 0..20 {
            let s = c
                .describe_account_assignment_creation_status()
                .instance_arn(&ic.instance_arn)
                .account_assignment_creation_request_id(&request)
                .send()
                .await
                .unwrap();
            match s.account_assignment_creation_status().unwrap().status().unwrap().as_str() {
                "IN_PROGRESS" => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
                done => {
                    assert_eq!(done, "SUCCEEDED");
                    break;
                }
            }
        }
        mgmt
    });
    assert_eq!(assigned(&c, &ic.instance_arn, &mgmt, &arn), 1);

    let vend_yaml = ws.ws.join("catalog/vend.yaml");
    let settings = std::fs::read_to_string(&vend_yaml).unwrap();
    std::fs::write(&vend_yaml, format!("{settings}identity_center: {{ delegated_admin: \"{admin}\" }}\n"))
        .unwrap();
    let file = ws.ws.join(format!("catalog/permission_sets/{SET}.yaml"));
    std::fs::write(&file, std::fs::read_to_string(&file).unwrap().replace("PT4H", "PT8H")).unwrap();
    let out = ws.run(&["plan", "--json"]);
    let p: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", emulator_harness::workspace::describe(&out)));
    assert_eq!(p["applyable"], false, "{p:#}");
    let d = p["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "delegated-admin-management-permission-set")
        .unwrap_or_else(|| panic!("{:#}", p["diagnostics"]));
    assert_eq!(d["rule"], "identitycenter.delegated-admin-management-permission-set");
    assert!(d["file"].as_str().is_some_and(|f| f.ends_with(&format!("{SET}.yaml"))), "{d:#}");
    assert!(action(&p, &format!("permission_set:{SET}")).is_none(), "{p:#}");

    // The emulator: refused to the delegated administrator, taken from the management account.
    rt().block_on(async {
        let sts = aws_sdk_sts::Client::new(&conf);
        let as_admin =
            emulator_harness::seed::role_conf(&sts, &conf, &admin, "OrganizationAccountAccessRole", "t")
                .await;
        let s = sso::Client::new(&as_admin);
        let listed = s
            .list_permission_sets_provisioned_to_account()
            .instance_arn(&ic.instance_arn)
            .account_id(&mgmt)
            .send()
            .await
            .unwrap();
        assert_eq!(listed.permission_sets(), std::slice::from_ref(&arn));
        let update = |client: &sso::Client| {
            client
                .update_permission_set()
                .instance_arn(&ic.instance_arn)
                .permission_set_arn(&arn)
                .session_duration("PT8H")
                .send()
        };
        let refused = update(&s).await.unwrap_err();
        assert!(refused.as_service_error().is_some_and(|e| e.is_access_denied_exception()), "{refused:?}");
        update(&c).await.unwrap();
    });
    let stats = emu.stats();
    assert_eq!(stats["rules"]["identitycenter.delegated-admin-management-permission-set"], 1, "{stats}");
}
