//! The AWS backend (`adapter::aws`) against the project's emulator (`tests/emulator/run`): the
//! demo organization is seeded through the SDK, read back with `AwsCloud`, saved and planned
//! through the binary, and changed through `Cloud::call`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod emulator_harness;

use aws_sdk_organizations as org;
use aws_sdk_servicecatalog as sc;
use emulator_harness::seed::{demo, rt, seed_organization};
use emulator_harness::{Emulator, lock};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use vend::adapter::aws::AwsCloud;
use vend::model::State;
use vend::port::{Cloud, ErrorKind, Op};

/// The Organizations part of a state by names and paths (ids differ between backends).
fn org_shape(s: &State) -> Value {
    let mut names: HashMap<&str, String> =
        HashMap::from([(s.organization.root_id.as_str(), "root".to_string())]);
    let mut pending: Vec<_> = s.organizational_units.iter().collect();
    while !pending.is_empty() {
        let before = pending.len();
        pending.retain(|ou| match names.get(ou.parent_id.as_str()).cloned() {
            Some(parent) => {
                let path = if parent == "root" { ou.name.clone() } else { format!("{parent}/{}", ou.name) };
                names.insert(&ou.id, format!("ou:{path}"));
                false
            }
            None => true,
        });
        assert!(pending.len() < before, "OUs with unknown parents: {pending:?}");
    }
    for a in &s.accounts {
        names.insert(&a.id, format!("account:{}", a.name));
    }
    let name = |id: &str| names.get(id).cloned().unwrap_or_else(|| format!("?{id}"));
    let mgmt = s.organization.management_account_id.as_str();
    let ous: BTreeMap<String, Value> =
        s.organizational_units.iter().map(|o| (name(&o.id), json!({ "tags": o.tags }))).collect();
    let accounts: BTreeMap<String, Value> = s
        .accounts
        .iter()
        .filter(|a| a.id != mgmt)
        .map(|a| {
            (
                a.name.clone(),
                json!({ "email": a.email, "state": a.state, "parent": name(&a.parent_id), "tags": a.tags }),
            )
        })
        .collect();
    let policies: BTreeMap<String, Value> = s
        .policies
        .iter()
        .filter(|p| !p.aws_managed)
        .map(|p| {
            let mut targets: Vec<String> = p.target_ids.iter().map(|t| name(t)).collect();
            targets.sort();
            (
                p.name.clone(),
                json!({ "content": p.content, "targets": targets, "tags": p.tags, "type": p.policy_type }),
            )
        })
        .collect();
    let by_id: HashMap<&str, &str> = s.policies.iter().map(|p| (p.id.as_str(), p.name.as_str())).collect();
    let mut root_policies: Vec<&str> = s
        .organization
        .root_policy_ids
        .iter()
        .map(|id| by_id.get(id.as_str()).copied().unwrap_or("?"))
        .collect();
    root_policies.sort();
    json!({
        "enabled_policy_types": s.organization.enabled_policy_types,
        "root_policies": root_policies,
        "ous": ous, "accounts": accounts, "policies": policies,
    })
}

#[test]
fn reads_back_the_seeded_organization() {
    let (_guard, emu) = lock();
    let ids = seed_organization(emu);
    let mut cloud = AwsCloud::from_sdk_config(&emu.sdk_config()).unwrap();
    let state = cloud.read_organizations().unwrap();
    assert_eq!(org_shape(&state), org_shape(&demo()));
    assert!(state.is_normalized());
    assert_eq!(state.source, "aws");
    assert_eq!(state.organization.root_id, ids[&demo().organization.root_id]);
    // Finished creation requests are not listed (their accounts are in the tree); none of the
    // seeded ones is in progress or failed.
    assert!(state.create_account_requests.is_empty(), "{:?}", state.create_account_requests);
    // FullAWSAccess is AWS-managed and on the root.
    let full = state.policies.iter().find(|p| p.id == "p-FullAWSAccess").expect("FullAWSAccess");
    assert!(full.aws_managed && full.target_ids.contains(&state.organization.root_id));
}

/// Seed a small catalog like the demo's: one portfolio with a product, a principal pattern, an
/// organization and an OU share, and a launch constraint.
fn seed_catalog(emu: &Emulator, ou_id: &str, org_id: &str) -> (String, String) {
    let c = sc::Client::new(&emu.sdk_config());
    let iam = aws_sdk_iam::Client::new(&emu.sdk_config());
    rt().block_on(async {
        let t = |k: &str, v: &str| sc::types::Tag::builder().key(k).value(v).build().unwrap();
        let p = c
            .create_portfolio()
            .display_name("delivery-pipelines")
            .description("Pipelines")
            .provider_name("platform")
            .tags(t("vend:managed", "true"))
            .send()
            .await
            .unwrap();
        let portfolio = p.portfolio_detail().unwrap().id().unwrap().to_string();
        let mut info = HashMap::new();
        info.insert(
            "LoadTemplateFromURL".to_string(),
            "https://vend-templates.s3.us-east-1.amazonaws.com/templates/sp/v1/abc.yaml".to_string(),
        );
        let prod = c
            .create_product()
            .name("service-pipeline")
            .owner("platform")
            .product_type(sc::types::ProductType::CloudFormationTemplate)
            .tags(t("vend:managed", "true"))
            .provisioning_artifact_parameters(
                sc::types::ProvisioningArtifactProperties::builder()
                    .name("v1")
                    .description("vend-sha256:abc")
                    .r#type(sc::types::ProvisioningArtifactType::CloudFormationTemplate)
                    .set_info(Some(info))
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let product = prod
            .product_view_detail()
            .unwrap()
            .product_view_summary()
            .unwrap()
            .product_id()
            .unwrap()
            .to_string();
        c.associate_product_with_portfolio()
            .product_id(&product)
            .portfolio_id(&portfolio)
            .send()
            .await
            .unwrap();
        c.associate_principal_with_portfolio()
            .portfolio_id(&portfolio)
            .principal_arn("arn:aws:iam:::role/ProductTeam*")
            .principal_type(sc::types::PrincipalType::IamPattern)
            .send()
            .await
            .unwrap();
        c.enable_aws_organizations_access().send().await.unwrap();
        c.create_portfolio_share()
            .portfolio_id(&portfolio)
            .organization_node(
                sc::types::OrganizationNode::builder()
                    .r#type(sc::types::OrganizationNodeType::OrganizationalUnit)
                    .value(ou_id)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        c.create_portfolio_share()
            .portfolio_id(&portfolio)
            .organization_node(
                sc::types::OrganizationNode::builder()
                    .r#type(sc::types::OrganizationNodeType::Organization)
                    .value(org_id)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        // The constraint's role must exist in the account it is created in (issue 14).
        iam.create_role()
            .role_name("SCLaunchRole")
            .assume_role_policy_document(vend::model::LAUNCH_ROLE_TRUST)
            .send()
            .await
            .unwrap();
        c.create_constraint()
            .portfolio_id(&portfolio)
            .product_id(&product)
            .r#type("LAUNCH")
            .parameters(r#"{"LocalRoleName":"SCLaunchRole"}"#)
            .send()
            .await
            .unwrap();
        (portfolio, product)
    })
}

#[test]
fn reads_the_service_catalog_too() {
    let (_guard, emu) = lock();
    let ids = seed_organization(emu);
    let d = demo();
    let sandbox = ids[&d.organizational_units.iter().find(|o| o.name == "Sandbox").unwrap().id].clone();
    let org_id = {
        let mut cloud = AwsCloud::from_sdk_config(&emu.sdk_config()).unwrap();
        cloud.read_organizations().unwrap().organization.id
    };
    let (portfolio, product) = seed_catalog(emu, &sandbox, &org_id);
    let mut cloud = AwsCloud::from_sdk_config(&emu.sdk_config()).unwrap();
    let state = cloud.read_state().unwrap_or_else(|e| panic!("read_state: {e:?}"));
    assert_eq!(org_shape(&state), org_shape(&d));
    assert_eq!(state.portfolios.len(), 1, "{:?}", state.portfolios);
    let p = &state.portfolios[0];
    assert_eq!(
        (p.id.as_str(), p.name.as_str(), p.provider.as_str()),
        (portfolio.as_str(), "delivery-pipelines", "platform")
    );
    assert_eq!(p.tags.get("vend:managed").map(String::as_str), Some("true"));
    assert_eq!(p.product_ids, vec![product.clone()]);
    assert_eq!(p.principals.len(), 1);
    assert_eq!(
        (p.principals[0].arn.as_str(), p.principals[0].principal_type.as_str()),
        ("arn:aws:iam:::role/ProductTeam*", "IAM_PATTERN")
    );
    let shares: Vec<(&str, &str)> =
        p.shares.iter().map(|s| (s.share_type.as_str(), s.value.as_str())).collect();
    assert!(shares.contains(&("ORGANIZATIONAL_UNIT", sandbox.as_str())), "{shares:?}");
    assert!(shares.contains(&("ORGANIZATION", org_id.as_str())), "{shares:?}");
    assert_eq!(p.launch_constraints.len(), 1);
    assert_eq!(p.launch_constraints[0].local_role_name, "SCLaunchRole");
    assert_eq!(p.launch_constraints[0].product_id, product);
    assert_eq!(state.products.len(), 1);
    let pr = &state.products[0];
    assert_eq!((pr.name.as_str(), pr.owner.as_str()), ("service-pipeline", "platform"));
    assert_eq!(pr.tags.get("vend:managed").map(String::as_str), Some("true"));
    assert_eq!(pr.versions.len(), 1);
    let v = &pr.versions[0];
    assert_eq!((v.name.as_str(), v.description.as_str(), v.active), ("v1", "vend-sha256:abc", true));
    assert_eq!(v.guidance, "DEFAULT");
    assert_eq!(v.template_url, "https://vend-templates.s3.us-east-1.amazonaws.com/templates/sp/v1/abc.yaml");
    assert!(state.provisioned_products.is_empty());
}

#[test]
fn snapshot_save_and_plan_through_the_binary() {
    let (_guard, emu) = lock();
    seed_organization(emu);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("aws.state.json");
    let out = emu
        .vend()
        .args(["--aws", "--endpoint-url", &emu.endpoint, "snapshot", "save", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&file).unwrap();
    let saved: State = serde_json::from_str(&text).unwrap();
    assert_eq!(saved.format_version, 1);
    assert_eq!(saved.source, "aws");
    assert!(saved.is_normalized());
    assert_eq!(org_shape(&saved), org_shape(&demo()));

    // Plan the demo workspace against the emulator and against the demo state file: the
    // Organizations changes are the same, and the catalog (not seeded) is created.
    let ws = dir.path().join("ws");
    let mgmt = &saved.organization.management_account_id;
    common::demo_for_management(&ws, mgmt);
    let aws_plan = emu
        .vend()
        .args(["--aws", "--endpoint-url", &emu.endpoint, "plan", "--json"])
        .arg("-C")
        .arg(&ws)
        .output()
        .unwrap();
    assert!(aws_plan.status.success(), "stderr: {}", String::from_utf8_lossy(&aws_plan.stderr));
    let aws_plan: Value = serde_json::from_slice(&aws_plan.stdout).unwrap();
    assert_eq!(aws_plan["basis"]["source"], "aws");

    let demo_state = dir.path().join("demo.state.json");
    std::fs::write(
        &demo_state,
        std::fs::read_to_string(common::root().join("snapshots/demo.state.json"))
            .unwrap()
            .replace("111111111111", mgmt),
    )
    .unwrap();
    let local =
        emu.vend().args(["plan", "--json", "--state"]).arg(&demo_state).arg("-C").arg(&ws).output().unwrap();
    assert!(local.status.success(), "stderr: {}", String::from_utf8_lossy(&local.stderr));
    let local: Value = serde_json::from_slice(&local.stdout).unwrap();

    let org_changes = |p: &Value| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = p["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| {
                let a = c["address"].as_str().unwrap();
                ["ou:", "account:", "policy:", "policy_attachment:", "policy_type:"]
                    .iter()
                    .any(|k| a.starts_with(k))
            })
            .map(|c| (c["address"].as_str().unwrap().to_string(), c["action"].as_str().unwrap().to_string()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(org_changes(&aws_plan), org_changes(&local));
    assert!(!org_changes(&aws_plan).is_empty());
    let creates_portfolio = aws_plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["address"] == "portfolio:delivery-pipelines" && c["action"] == "create");
    assert!(creates_portfolio, "{aws_plan:#}");
}

#[test]
fn organizations_writes_through_call() {
    let (_guard, emu) = lock();
    let c = org::Client::new(&emu.sdk_config());
    rt().block_on(c.create_organization().feature_set(org::types::OrganizationFeatureSet::All).send())
        .unwrap();
    let mut cloud = AwsCloud::from_sdk_config(&emu.sdk_config()).unwrap();
    let s = cloud.read_organizations().unwrap();
    let root_id = s.organization.root_id.clone();
    let managed = BTreeMap::from([("vend:managed".to_string(), "true".to_string())]);

    let _ = cloud.call(&Op::EnablePolicyType {
        root_id: root_id.clone(),
        policy_type: "SERVICE_CONTROL_POLICY".into(),
    });
    let ou = cloud
        .call(&Op::CreateOrganizationalUnit {
            parent_id: root_id.clone(),
            name: "Workloads".into(),
            tags: managed.clone(),
        })
        .unwrap()
        .id
        .unwrap();
    assert!(ou.starts_with("ou-"), "{ou}");
    cloud
        .call(&Op::TagResource {
            resource_id: ou.clone(),
            tags: BTreeMap::from([("tier".into(), "w".into())]),
        })
        .unwrap();
    let car = cloud
        .call(&Op::CreateAccount {
            name: "app-dev".into(),
            email: "aws+app-dev@example.com".into(),
            tags: managed.clone(),
        })
        .unwrap();
    let car_id = car.id.clone().unwrap();
    assert!(car_id.starts_with("car-"), "{car:?}");
    let mut account = None;
    for _ in 0..50 {
        let st = cloud.call(&Op::DescribeCreateAccountStatus { request_id: car_id.clone() }).unwrap();
        if st.status.as_deref() == Some("SUCCEEDED") {
            account = st.result;
            break;
        }
        assert_eq!(st.status.as_deref(), Some("IN_PROGRESS"), "{st:?}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let account = account.expect("the account is created");
    cloud
        .call(&Op::MoveAccount {
            account_id: account.clone(),
            source_parent_id: root_id.clone(),
            destination_parent_id: ou.clone(),
        })
        .unwrap();
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"organizations:LeaveOrganization","Resource":"*"}]}"#;
    let policy = cloud
        .call(&Op::CreatePolicy { name: "deny-leave-org".into(), content: doc.into(), tags: managed.clone() })
        .unwrap()
        .id
        .unwrap();
    cloud.call(&Op::AttachPolicy { policy_id: policy.clone(), target_id: ou.clone() }).unwrap();
    let doc2 = doc.replace("Deny", "Deny ").replace("Deny ", "Deny");
    cloud.call(&Op::UpdatePolicy { policy_id: policy.clone(), content: doc2.clone() }).unwrap();

    let s = cloud.read_organizations().unwrap();
    let o = s.organizational_units.iter().find(|o| o.id == ou).unwrap();
    assert_eq!(o.tags.get("tier").map(String::as_str), Some("w"));
    assert_eq!(o.tags.get("vend:managed").map(String::as_str), Some("true"));
    let a = s.accounts.iter().find(|a| a.id == account).unwrap();
    assert_eq!((a.parent_id.as_str(), a.name.as_str(), a.state.as_str()), (ou.as_str(), "app-dev", "ACTIVE"));
    let p = s.policies.iter().find(|p| p.id == policy).unwrap();
    assert!(p.target_ids.contains(&ou) && p.content == doc2 && p.tags == managed);

    // AWS's rules come back as hard errors with their codes.
    let err = cloud.call(&Op::DeleteOrganizationalUnit { ou_id: ou.clone() }).unwrap_err();
    assert_eq!(
        (err.kind, err.code.as_str()),
        (ErrorKind::Hard, "OrganizationalUnitNotEmptyException"),
        "{err:?}"
    );
    let err = cloud.call(&Op::DeletePolicy { policy_id: policy.clone() }).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Hard, "{err:?}");

    cloud.call(&Op::DetachPolicy { policy_id: policy.clone(), target_id: ou.clone() }).unwrap();
    cloud.call(&Op::DeletePolicy { policy_id: policy.clone() }).unwrap();
    cloud
        .call(&Op::MoveAccount {
            account_id: account.clone(),
            source_parent_id: ou.clone(),
            destination_parent_id: root_id,
        })
        .unwrap();
    cloud.call(&Op::DeleteOrganizationalUnit { ou_id: ou.clone() }).unwrap();
    cloud.call(&Op::CloseAccount { account_id: account.clone() }).unwrap();
    let s = cloud.read_organizations().unwrap();
    assert!(s.organizational_units.is_empty());
    assert!(!s.policies.iter().any(|p| p.id == policy));
    let a = s.accounts.iter().find(|a| a.id == account).unwrap();
    assert_ne!(a.state, "ACTIVE");

    // A Service Catalog rule comes back the same way.
    let err = cloud.call(&Op::DeletePortfolio { portfolio_id: "port-zzzzzzzzzzzzz".into() }).unwrap_err();
    assert_eq!((err.kind, err.code.as_str()), (ErrorKind::Hard, "ResourceNotFoundException"), "{err:?}");
}

/// Provisioned pipelines are read only in the member accounts named by
/// `set_pipeline_accounts` (one AssumeRole each), with their launch parameters from the
/// product's CloudFormation stack: the template's defaults and the given values.
#[test]
fn reads_pipelines_in_the_named_accounts_with_stack_parameters() {
    let (_guard, emu) = lock();
    let mut ids = seed_organization(emu);
    emulator_harness::seed::seed_catalog(emu, &mut ids);
    let d = demo();
    let seeded = &d.provisioned_products[0];
    let account = d.accounts.iter().find(|a| a.id == seeded.account_id).unwrap();

    // No set: no member account is visited.
    let stats = |emu: &Emulator| -> Value {
        let (_, body) = emu.http("GET", "/_vend/stats", "");
        serde_json::from_str(&body).unwrap()
    };
    emu.http("POST", "/_vend/stats/reset", "");
    let state = AwsCloud::from_sdk_config(&emu.sdk_config()).unwrap().read_state().unwrap();
    assert!(state.provisioned_products.is_empty(), "{:?}", state.provisioned_products);
    assert!(stats(emu)["services"]["sts"].get("AssumeRole").is_none(), "{}", stats(emu));

    // Named (with an account that has no pipelines, and one that does not exist): one AssumeRole
    // per existing named member account, DescribeStacks per product.
    emu.http("POST", "/_vend/stats/reset", "");
    let mut cloud = AwsCloud::from_sdk_config(&emu.sdk_config()).unwrap();
    cloud.set_pipeline_accounts(
        [account.name.clone(), "search-dev".into(), "no-such-account".into()].into_iter().collect(),
    );
    let state = cloud.read_state().unwrap();
    let s = stats(emu);
    assert_eq!(s["services"]["sts"]["AssumeRole"], 2, "{s}");
    assert_eq!(s["services"]["cloudformation"]["DescribeStacks"], 1, "{s}");
    assert_eq!(state.provisioned_products.len(), 1, "{:?}", state.provisioned_products);
    let pp = &state.provisioned_products[0];
    assert_eq!((pp.name.as_str(), pp.account_id.as_str()), (seeded.name.as_str(), ids[&account.id].as_str()));
    // The seeded values, and the v2 template's defaults for the others.
    for (k, v) in &seeded.params {
        assert_eq!(pp.params.get(k), Some(v), "{k}: {:?}", pp.params);
    }
    assert_eq!(pp.params.get("BranchName").map(String::as_str), Some("main"), "{:?}", pp.params);
    assert_eq!(pp.params.get("AcceptanceTimeoutMinutes").map(String::as_str), Some("30"), "{:?}", pp.params);

    // A named account whose member role cannot be assumed is an error naming it and the role.
    let (status, body) = emu.http(
        "POST",
        "/_vend/faults",
        r#"{"script": [{"match": "sts.AssumeRole", "fault": "concurrent", "times": 1}]}"#,
    );
    assert_eq!(status, 200, "{body}");
    let mut cloud = AwsCloud::from_sdk_config(&emu.sdk_config()).unwrap();
    cloud.set_pipeline_accounts([account.name.clone()].into_iter().collect());
    let err = cloud.read_state().unwrap_err();
    let id = &ids[&account.id];
    assert!(
        err.message.contains(id.as_str())
            && err.message.contains(&account.name)
            && err.message.contains(&format!("arn:aws:iam::{id}:role/OrganizationAccountAccessRole")),
        "{err:?}"
    );
}

/// Issue 16, item 4: `read_state` overlaps the tree walk, the tags, the SCPs, the catalog and
/// the caller's identity under one bound. With latency, the emulator sees `READ_CONCURRENCY`
/// requests in flight at once and never more; Service Catalog, STS and tag requests arrive
/// before the tree walk has ended (today's order: tree, tags, catalog, one phase after
/// another); and what is read does not depend on the order of the answers — the same state and
/// the same number of requests with and without latency.
#[test]
fn the_read_overlaps_under_one_bound_and_is_deterministic() {
    let (_guard, emu) = lock();
    let mut ids = seed_organization(emu);
    emulator_harness::seed::seed_catalog(emu, &mut ids);
    let d = demo();
    let member =
        d.accounts.iter().find(|a| a.id == d.provisioned_products[0].account_id).unwrap().name.clone();
    let control = |path: &str, body: &str| {
        let (status, answer) = emu.http("POST", path, body);
        assert_eq!(status, 200, "{path}: {answer}");
    };
    let read = || -> (Value, Value) {
        control("/_vend/stats/reset", "");
        let mut cloud = AwsCloud::from_sdk_config(&emu.sdk_config()).unwrap();
        cloud.set_pipeline_accounts([member.clone()].into_iter().collect());
        let state = cloud.read_state().unwrap_or_else(|e| panic!("read_state: {e:?}"));
        let (_, stats) = emu.http("GET", "/_vend/stats", "");
        (serde_json::to_value(&state).unwrap(), serde_json::from_str(&stats).unwrap())
    };
    let (quick, quick_stats) = read();
    control("/_vend/faults", r#"{"latency_ms": 40, "record": true}"#);
    let (slow, slow_stats) = read();
    let (_, recorded) = emu.http("GET", "/_vend/recorded", "");
    control("/_vend/faults", r#"{"latency_ms": 0, "record": false}"#);

    assert_eq!(quick, slow, "the same state whatever the order of the answers");
    assert_eq!(quick_stats["total"], slow_stats["total"], "{quick_stats}\n{slow_stats}");
    assert_eq!(quick_stats["services"], slow_stats["services"]);
    assert_eq!(slow["provisioned_products"].as_array().map(Vec::len), Some(1), "{slow}");
    assert_eq!(
        slow_stats["in_flight_max"].as_u64(),
        Some(vend::adapter::aws::READ_CONCURRENCY as u64),
        "at most READ_CONCURRENCY requests in flight, and that many reached: {slow_stats}"
    );
    let ops: Vec<String> = serde_json::from_str::<Vec<Value>>(&recorded)
        .unwrap()
        .iter()
        .map(|r| format!("{}.{}", r["service"].as_str().unwrap(), r["op"].as_str().unwrap()))
        .collect();
    assert_eq!(ops.len() as u64, slow_stats["total"].as_u64().unwrap());
    let first =
        |op: &str| ops.iter().position(|o| o.starts_with(op)).unwrap_or_else(|| panic!("no {op}: {ops:?}"));
    let last_listing = ops.iter().rposition(|o| o == "organizations.ListAccountsForParent").unwrap();
    for op in [
        "servicecatalog.",
        "sts.GetCallerIdentity",
        "organizations.ListTagsForResource",
        "organizations.DescribePolicy",
    ] {
        assert!(first(op) < last_listing, "{op} before the walk has ended: {ops:?}");
    }
}

/// Issue 14, item 4: the workspace's `region` is the region of vend's regional clients. A region
/// from `--region` or the environment that differs is an error naming both (old main: a silent
/// split — Service Catalog in one region, template URLs naming another); with no region
/// anywhere, Service Catalog is read in the workspace's region.
#[test]
fn the_workspace_region_is_the_clients_region() {
    let (_guard, emu) = lock();
    let mut ids = seed_organization(emu);
    emulator_harness::seed::seed_catalog(emu, &mut ids);
    let mgmt = ids[&demo().organization.management_account_id].clone();
    let ws = emulator_harness::workspace::VendWorkspace::new(emu, &mgmt);

    let out = ws.run(&["--region", "eu-west-1", "plan"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("us-east-1") && err.contains("eu-west-1") && err.contains("--region"),
        "the error names both regions and where the other came from: {err}"
    );

    let out = ws.command(&["plan"]).env("AWS_REGION", "eu-west-1").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("eu-west-1") && err.contains("AWS_REGION"), "{err}");

    // Same region everywhere: plans as before.
    let out = ws.run(&["plan", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    // The workspace in eu-west-1 and no region elsewhere: Service Catalog is read there, where
    // the seeded portfolio (us-east-1) is not, so the plan creates it, with templates in
    // eu-west-1.
    let settings = ws.ws.join("catalog/vend.yaml");
    let text = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(&settings, text.replace("region: us-east-1", "region: eu-west-1")).unwrap();
    let out = ws
        .command(&["plan", "--json"])
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .output()
        .unwrap();
    let plan: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let created: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "create")
        .filter_map(|c| c["address"].as_str())
        .collect();
    assert!(created.contains(&"portfolio:delivery-pipelines"), "{created:?}");
    let text = plan.to_string();
    assert!(text.contains(".s3.eu-west-1.amazonaws.com/"), "template URLs name eu-west-1");
}

// ------------------------------------------------------------------ access and contacts (issue 18)

/// Requests the emulator counted for `op`, whatever service it was sent to (a REST-JSON
/// operation such as Account Management's is counted by its path: `POST /getAlternateContact`).
fn requests(stats: &Value, op: &str) -> u64 {
    let is = |key: &str| {
        let key = key.rsplit('/').next().unwrap_or(key);
        key.eq_ignore_ascii_case(op)
    };
    stats["services"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|ops| ops.as_object().unwrap().iter())
        .filter(|(k, _)| is(k))
        .filter_map(|(_, n)| n.as_u64())
        .sum()
}

/// Poll an assignment request (seeding) until it is no longer IN_PROGRESS.
async fn assignment_done(
    sso: &aws_sdk_ssoadmin::Client,
    instance: &str,
    request_id: &str,
    create: bool,
) -> String {
    for _ in 0..100 {
        let status = if create {
            let out = sso
                .describe_account_assignment_creation_status()
                .instance_arn(instance)
                .account_assignment_creation_request_id(request_id)
                .send()
                .await
                .unwrap();
            out.account_assignment_creation_status().unwrap().status().unwrap().as_str().to_string()
        } else {
            let out = sso
                .describe_account_assignment_deletion_status()
                .instance_arn(instance)
                .account_assignment_deletion_request_id(request_id)
                .send()
                .await
                .unwrap();
            out.account_assignment_deletion_status().unwrap().status().unwrap().as_str().to_string()
        };
        if status != "IN_PROGRESS" {
            return status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("assignment request {request_id} still IN_PROGRESS");
}

/// Issue 18, reads: `State::access` holds the instance, every permission set, the groups the
/// scope names that exist, and — for the scoped accounts only — the GROUP assignments of the
/// owned permission sets and the owned contact types; nothing of the other accounts. The
/// requests are the ones the design names, counted at the emulator. Without a scope the
/// instance, its permission sets and the trusted access are still read, and no account.
#[test]
fn reads_access_and_contacts_of_the_scoped_accounts_only() {
    use aws_sdk_account as account;
    use aws_sdk_ssoadmin as sso;
    let (_guard, emu) = lock();
    seed_organization(emu);
    let groups = ["team-search-admins", "platform-readonly", "other-team"].map(String::from);
    let ic = emulator_harness::seed::seed_identity_center(
        emu,
        &groups,
        &emulator_harness::seed::demo_permission_sets(),
    );
    let orgs = AwsCloud::from_sdk_config(&emu.sdk_config()).unwrap().read_organizations().unwrap();
    let find = |n: &str| orgs.accounts.iter().find(|a| a.name == n).unwrap().clone();
    let (scoped, other) = (find("search-prod"), find("search-dev"));
    let conf = emu.sdk_config();
    let o = org::Client::new(&conf);
    let s = sso::Client::new(&conf);
    let a = account::Client::new(&conf);
    rt().block_on(async {
        o.enable_aws_service_access().service_principal("account.amazonaws.com").send().await.unwrap();
        for (acct, group, ps) in [
            (&scoped.id, "team-search-admins", "AdministratorAccess"),
            (&scoped.id, "other-team", "AdministratorAccess"),
            (&scoped.id, "platform-readonly", "PowerUserAccess"),
            (&other.id, "team-search-admins", "AdministratorAccess"),
        ] {
            let out = s
                .create_account_assignment()
                .instance_arn(&ic.instance_arn)
                .target_id(acct)
                .target_type(sso::types::TargetType::AwsAccount)
                .permission_set_arn(&ic.permission_sets[ps])
                .principal_type(sso::types::PrincipalType::Group)
                .principal_id(&ic.groups[group])
                .send()
                .await
                .unwrap();
            let id = out.account_assignment_creation_status().unwrap().request_id().unwrap().to_string();
            assert_eq!(assignment_done(&s, &ic.instance_arn, &id, true).await, "SUCCEEDED");
        }
        for acct in [&scoped.id, &other.id] {
            a.put_alternate_contact()
                .account_id(acct)
                .alternate_contact_type(account::types::AlternateContactType::Security)
                .name("Security Team")
                .email_address("security@example.com")
                .phone_number("+1 555 0100")
                .title("SecOps")
                .send()
                .await
                .unwrap();
        }
    });

    let scope = vend::adapter::aws::AccessScope {
        accounts: vec![vend::adapter::aws::AccessAccount {
            aws_name: scoped.name.clone(),
            email: scoped.email.to_uppercase(),
            permission_sets: ["AdministratorAccess", "ReadOnlyAccess"].map(String::from).into(),
            contact_types: ["SECURITY", "BILLING"].map(String::from).into(),
        }],
        groups: ["team-search-admins", "platform-readonly", "no-such-group"].map(String::from).into(),
        region: Some("us-east-1".into()),
        delegated_admin: None,
        permission_sets: Default::default(),
        ownership_tag: None,
    };
    let (status, body) = emu.http("POST", "/_vend/stats/reset", "");
    assert_eq!(status, 200, "{body}");
    let mut cloud = AwsCloud::from_sdk_config(&emu.sdk_config()).unwrap();
    cloud.set_access(scope);
    let state = cloud.read_state().unwrap();
    assert!(state.is_normalized());
    let access = state.access.clone().expect("access read");
    assert!(access.account_management_access);
    let center = access.identity_center.clone().expect("the instance");
    assert_eq!(center.instance_arn, ic.instance_arn);
    assert_eq!(center.identity_store_id, ic.identity_store_id);
    assert_eq!(center.region, "us-east-1");
    let names: Vec<(&str, &str)> =
        center.groups.iter().map(|g| (g.display_name.as_str(), g.id.as_str())).collect();
    assert_eq!(
        names,
        [
            ("platform-readonly", ic.groups["platform-readonly"].as_str()),
            ("team-search-admins", ic.groups["team-search-admins"].as_str())
        ],
        "the named groups that exist, and only those"
    );
    let sets: Vec<(&str, &str)> =
        center.permission_sets.iter().map(|p| (p.name.as_str(), p.arn.as_str())).collect();
    let want: Vec<(&str, &str)> = ic.permission_sets.iter().map(|(n, a)| (n.as_str(), a.as_str())).collect();
    assert_eq!(sets, want, "every permission set, by name");
    assert_eq!(access.read_accounts, vec![scoped.id.clone()]);
    let mut got: Vec<(String, String, String)> = access
        .assignments
        .iter()
        .map(|x| (x.account_id.clone(), x.permission_set_arn.clone(), x.principal_id.clone()))
        .collect();
    got.sort();
    let mut want = vec![
        (
            scoped.id.clone(),
            ic.permission_sets["AdministratorAccess"].clone(),
            ic.groups["team-search-admins"].clone(),
        ),
        (
            scoped.id.clone(),
            ic.permission_sets["AdministratorAccess"].clone(),
            ic.groups["other-team"].clone(),
        ),
    ];
    want.sort();
    assert_eq!(got, want, "the owned permission sets' GROUP assignments on the scoped account");
    assert!(access.assignments.iter().all(|x| x.principal_type == "GROUP"));
    assert_eq!(access.contacts.len(), 1, "{:?}", access.contacts);
    let c = &access.contacts[0];
    assert_eq!(
        (
            c.account_id.as_str(),
            c.contact_type.as_str(),
            c.name.as_str(),
            c.email.as_str(),
            c.phone.as_str(),
            c.title.as_str()
        ),
        (scoped.id.as_str(), "SECURITY", "Security Team", "security@example.com", "+1 555 0100", "SecOps")
    );
    let stats = emu.stats();
    for (op, n) in [
        ("ListAWSServiceAccessForOrganization", 1),
        ("ListInstances", 1),
        ("ListPermissionSets", 1),
        ("DescribePermissionSet", 3),
        ("GetGroupId", 3),
        // AdministratorAccess and ReadOnlyAccess on the one scoped account.
        ("ListAccountAssignments", 2),
        // SECURITY and BILLING on it.
        ("GetAlternateContact", 2),
    ] {
        assert_eq!(requests(&stats, op), n, "{op}: {:#}", stats["services"]);
    }

    // No scope (no workspace): the instance, its permission sets and the trusted access; no
    // account, no group.
    let mut bare = AwsCloud::from_sdk_config(&emu.sdk_config()).unwrap();
    let access = bare.read_state().unwrap().access.expect("access read");
    assert!(access.account_management_access);
    let center = access.identity_center.expect("the instance");
    assert_eq!(center.permission_sets.len(), 3);
    assert!(center.groups.is_empty() && access.read_accounts.is_empty());
    assert!(access.assignments.is_empty() && access.contacts.is_empty());
}

/// Issue 18, writes through `Cloud::call`: trusted access, an assignment created and deleted
/// (each a request polled to SUCCEEDED), a member's contact and the management account's own
/// (sent without AccountId) put and deleted; each checked through the SDK.
#[test]
fn access_writes_through_call() {
    use aws_sdk_account as account;
    use aws_sdk_ssoadmin as sso;
    let (_guard, emu) = lock();
    seed_organization(emu);
    let ic = emulator_harness::seed::seed_identity_center(
        emu,
        &["team-search-admins".to_string()],
        &["AdministratorAccess".to_string()],
    );
    let mut cloud = AwsCloud::from_sdk_config(&emu.sdk_config()).unwrap();
    let before = cloud.read_state().unwrap();
    let member = before.accounts.iter().find(|a| a.name == "search-prod").unwrap().id.clone();
    let mgmt = before.organization.management_account_id.clone();
    assert!(!before.access.as_ref().unwrap().account_management_access);

    cloud.call(&Op::EnableAwsServiceAccess { service_principal: "account.amazonaws.com".into() }).unwrap();
    let (instance_arn, ps, group) = (
        ic.instance_arn.clone(),
        ic.permission_sets["AdministratorAccess"].clone(),
        ic.groups["team-search-admins"].clone(),
    );
    // The group's assignment on the member created or deleted: the first answer, and the
    // request's status polled until it is no longer IN_PROGRESS.
    let assignment = |cloud: &mut AwsCloud, create: bool| {
        let (account_id, permission_set_arn, principal_type, principal_id) =
            (member.clone(), ps.clone(), "GROUP".to_string(), group.clone());
        let i = instance_arn.clone();
        let op = if create {
            Op::CreateAccountAssignment {
                instance_arn: i,
                account_id,
                permission_set_arn,
                principal_type,
                principal_id,
            }
        } else {
            Op::DeleteAccountAssignment {
                instance_arn: i,
                account_id,
                permission_set_arn,
                principal_type,
                principal_id,
            }
        };
        let first = cloud.call(&op).unwrap();
        let mut out = first.clone();
        for _ in 0..100 {
            if out.status.as_deref() != Some("IN_PROGRESS") {
                return (first, out);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            let (instance_arn, request_id) = (instance_arn.clone(), out.id.clone().unwrap());
            out = cloud
                .call(&if create {
                    Op::DescribeAccountAssignmentCreationStatus { instance_arn, request_id }
                } else {
                    Op::DescribeAccountAssignmentDeletionStatus { instance_arn, request_id }
                })
                .unwrap();
        }
        panic!("still IN_PROGRESS: {out:?}");
    };
    let (created, done) = assignment(&mut cloud, true);
    assert!(!created.request_id.is_empty() && created.id.is_some(), "{created:?}");
    assert_eq!(done.status.as_deref(), Some("SUCCEEDED"), "{done:?}");

    for (acct, name) in [(&member, "Member Security"), (&mgmt, "Org Security")] {
        cloud
            .call(&Op::PutAlternateContact {
                account_id: acct.clone(),
                contact_type: "SECURITY".into(),
                name: name.into(),
                email: "security@example.com".into(),
                phone: "+1 555 0100".into(),
                title: "SecOps".into(),
            })
            .unwrap();
    }
    let conf = emu.sdk_config();
    let s = sso::Client::new(&conf);
    let a = account::Client::new(&conf);
    // The member's assignments of the permission set, through the SDK.
    let assignments = || async {
        let listed = s
            .list_account_assignments()
            .instance_arn(&instance_arn)
            .account_id(&member)
            .permission_set_arn(&ps)
            .send()
            .await
            .unwrap();
        listed.account_assignments().to_vec()
    };
    rt().block_on(async {
        let listed = assignments().await;
        let principals: Vec<&str> = listed.iter().filter_map(|x| x.principal_id()).collect();
        assert_eq!(principals, [group.as_str()]);
        let got = a
            .get_alternate_contact()
            .account_id(&member)
            .alternate_contact_type(account::types::AlternateContactType::Security)
            .send()
            .await
            .unwrap();
        assert_eq!(got.alternate_contact().unwrap().name(), Some("Member Security"));
        // The management account's own, asked without AccountId.
        let own = a
            .get_alternate_contact()
            .alternate_contact_type(account::types::AlternateContactType::Security)
            .send()
            .await
            .unwrap();
        assert_eq!(own.alternate_contact().unwrap().name(), Some("Org Security"));
    });

    let (_, done) = assignment(&mut cloud, false);
    assert_eq!(done.status.as_deref(), Some("SUCCEEDED"), "{done:?}");
    cloud
        .call(&Op::DeleteAlternateContact { account_id: member.clone(), contact_type: "SECURITY".into() })
        .unwrap();
    // Deleting it again: the type is not set any more (rule account.contact-exists).
    let again = cloud
        .call(&Op::DeleteAlternateContact { account_id: member.clone(), contact_type: "SECURITY".into() });
    let err = again.unwrap_err();
    assert_eq!((err.code.as_str(), err.kind), ("ResourceNotFoundException", ErrorKind::Hard), "{err}");
    let listed = rt().block_on(assignments());
    assert!(listed.is_empty(), "{listed:?}");
}
