//! The AWS backend's writes against the project's emulator: the AWS-rule suite
//! (`tests/cloud_suite`) run through `AwsCloud`, and the acceptance flow — the demo organization
//! seeded through the SDK, `vend --aws plan --out`, `vend --aws apply --auto-approve`, a re-plan
//! that converges, `vend audit verify`, and the emulator's state checked through the SDK.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

mod cloud_suite;
mod common;
mod emulator_harness;

use aws_sdk_organizations as org;
use aws_sdk_servicecatalog as sc;
use cloud_suite::{Seed, invariants};
use emulator_harness::seed::{
    DEMO_MANAGEMENT, demo, demo_groups, demo_permission_sets, role_catalog, role_iam, rt, seed_catalog,
    seed_organization,
};
use emulator_harness::workspace::VendWorkspace;
use emulator_harness::{Emulator, lock};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use vend::adapter::aws::AwsCloud;
use vend::model::State;
use vend::port::Cloud;

/// Build the case's seed organization in the emulator and return it as `AwsCloud` reads it
/// (the cases look ids up in the seed state, so these are the emulator's ids).
fn seed(emu: &Emulator, seed: Seed) -> State {
    match seed {
        Seed::Demo => {
            let mut ids = seed_organization(emu);
            seed_catalog(emu, &mut ids);
            // The suite's template URLs name the demo's management account.
            let conf = emu.sdk_config();
            let s3 = aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&conf).force_path_style(true).build(),
            );
            rt().block_on(s3.create_bucket().bucket(format!("vend-templates-{DEMO_MANAGEMENT}")).send())
                .unwrap();
        }
        Seed::NoScp => {
            let c = org::Client::new(&emu.sdk_config());
            rt().block_on(async {
                c.create_organization()
                    .feature_set(org::types::OrganizationFeatureSet::All)
                    .send()
                    .await
                    .unwrap();
                let root_id = c.list_roots().send().await.unwrap().roots()[0].id().unwrap().to_string();
                let ou =
                    c.create_organizational_unit().parent_id(&root_id).name("Apps").send().await.unwrap();
                let ou = ou.organizational_unit().unwrap().id().unwrap().to_string();
                let car = c
                    .create_account()
                    .account_name("member")
                    .email("aws+member@example.com")
                    .send()
                    .await
                    .unwrap();
                let car = car.create_account_status().unwrap().id().unwrap().to_string();
                let s =
                    c.describe_create_account_status().create_account_request_id(&car).send().await.unwrap();
                let account = s.create_account_status().unwrap().account_id().unwrap().to_string();
                c.move_account()
                    .account_id(&account)
                    .source_parent_id(&root_id)
                    .destination_parent_id(&ou)
                    .send()
                    .await
                    .unwrap();
            });
        }
    }
    cloud(emu).read_state().unwrap()
}

/// `AwsCloud` for the emulator, reading the pipelines of every demo account (the suite's cases
/// launch pipelines in them), and the assignments (every demo permission set) and contacts
/// (every type) of every demo account with the demo's groups (the issue-18 cases check them in
/// the state).
fn cloud(emu: &Emulator) -> AwsCloud {
    let mut c = AwsCloud::from_sdk_config(&emu.sdk_config()).unwrap();
    c.set_pipeline_accounts(demo().accounts.iter().map(|a| a.name.clone()).collect());
    c.set_access(vend::adapter::aws::AccessScope {
        accounts: demo()
            .accounts
            .iter()
            .map(|a| vend::adapter::aws::AccessAccount {
                aws_name: a.name.clone(),
                email: a.email.clone(),
                permission_sets: demo_permission_sets().into_iter().collect(),
                contact_types: vend::model::CONTACT_TYPES.iter().map(|t| t.to_string()).collect(),
            })
            .collect(),
        groups: demo_groups().into_iter().collect(),
        region: None,
        delegated_admin: None,
        // Every permission set vend's ownership tag marks is described (the suite's
        // permission-set case reads them back).
        permission_sets: Default::default(),
        ownership_tag: Some("vend:managed".into()),
    });
    c
}

/// What a case ended with: the rule hits the emulator counted during it (`GET /_vend/stats` →
/// `rules`), or why it failed.
type Outcome = Result<BTreeMap<String, u64>, String>;

/// Each case of `AWS` runs once per test process, whichever of its own test and
/// `every_rule_fires_on_the_emulator` asks first (the other waits for it and takes the same
/// outcome): running every case a second time for the rule tally doubled the binary's time
/// and checked nothing more.
static OUTCOMES: Mutex<BTreeMap<&'static str, Arc<OnceLock<Outcome>>>> = Mutex::new(BTreeMap::new());

fn outcome(name: &'static str) -> Outcome {
    let cell = OUTCOMES.lock().unwrap_or_else(|p| p.into_inner()).entry(name).or_default().clone();
    cell.get_or_init(|| {
        std::panic::catch_unwind(|| {
            let (_guard, emu) = lock();
            run_case(emu, name);
            let stats = emu.stats();
            stats["rules"]
                .as_object()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|(id, n)| (id, n.as_u64().unwrap()))
                .collect()
        })
        .map_err(|p| {
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "(no message)".into())
        })
    })
    .clone()
}

fn run_aws(name: &'static str) {
    if let Err(why) = outcome(name) {
        panic!("case {name} failed: {why}");
    }
}

/// Seed the case's organization in a freshly reset emulator, zero the statistics (so that they
/// count the case's own requests and refusals only) and run the case with the invariants.
fn run_case(emu: &Emulator, name: &str) {
    let case =
        cloud_suite::suite().into_iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no case {name}"));
    let seed_state = seed(emu, case.seed);
    let (status, body) = emu.http("POST", "/_vend/stats/reset", "");
    assert_eq!(status, 200, "POST /_vend/stats/reset: {body}");
    let (status, body) = emu.http("POST", "/_vend/faults", &cloud_suite::emulator_config());
    assert_eq!(status, 200, "POST /_vend/faults suite config: {body}");
    if let Some((_, config, _)) = CASE_CONFIG.iter().find(|(n, _, _)| *n == name) {
        let (status, body) = emu.http("POST", "/_vend/faults", config);
        assert_eq!(status, 200, "POST /_vend/faults {config}: {body}");
    }
    let mut cloud = cloud(emu);
    invariants(&cloud.read_state().unwrap());
    (case.run)(&mut cloud, &seed_state);
    invariants(&cloud.read_state().unwrap());
}

/// Emulator configuration a case needs on top of the suite's, with the reason.
const CASE_CONFIG: &[(&str, &str, &str)] = &[
    (
        "account_creations_in_progress_limit",
        r#"{"create_account_polls": 1}"#,
        "the emulator finishes a creation at once unless create_account_polls > 0 (the in-process cloud keeps it IN_PROGRESS until its first poll, as 1 does here)",
    ),
    (
        "account_assignment_is_asynchronous",
        r#"{"assignment_settle_ms": 120000}"#,
        "the case reads the whole state between a create and the identical second create it expects refused while the first is IN_PROGRESS; on a loaded machine that read outlasts the emulator's default 3 s after which an unpolled request finishes on its own (as in AWS), and the second create is then accepted",
    ),
];

macro_rules! aws {
    ($($name:ident),* $(,)?) => {
        $( #[test] fn $name() { run_aws(stringify!($name)); } )*
        const AWS: &[&str] = &[$(stringify!($name)),*];
    };
}

aws![
    new_account_in_root_active_tagged_with_full_access,
    duplicate_email_of_existing_account_fails,
    duplicate_email_of_request_in_flight_fails,
    account_creations_in_progress_limit,
    move_account_rules,
    ou_name_unique_under_parent,
    rename_ou_rules,
    delete_ou_must_be_empty,
    suspended_account_keeps_ou_non_empty,
    create_policy_unique_name,
    attach_twice_fails,
    detach_not_attached_fails,
    root_policy_ids_follow_attachments,
    delete_attached_policy_fails,
    minted_ids_have_aws_shapes_and_are_unique,
    create_portfolio_token_is_idempotent,
    update_portfolio_rules,
    delete_portfolio_in_use_fails,
    create_product_with_first_version,
    update_product_rules,
    update_artifact_rules,
    delete_product_in_portfolio_fails,
    template_bucket_rules,
    organization_share_needs_catalog_access,
    share_principals_rules,
    member_launch_needs_principal_access,
    product_portfolio_association_rules,
    principal_rules,
    terminate_provisioned_product,
    provision_product_is_asynchronous,
    provision_checks_parameters_against_the_template,
    delete_artifact_rules,
    unknown_ids_are_not_found,
    ou_depth_limit,
    attach_at_most_five_per_target,
    detach_last_scp_fails,
    account_name_rules,
    email_rules,
    create_account_bad_tag_fails_whole_request,
    close_account_rules,
    unknown_create_account_request,
    create_ou_parent_must_exist_and_gets_full_access,
    full_access_is_immutable,
    policy_must_be_json,
    policy_size_limit_in_bytes,
    tag_resource_rules,
    create_artifact_rules,
    deprecated_version_no_new_launch_but_update,
    portfolio_share_target_must_exist,
    provision_token_idempotent_and_name_unique,
    no_scp_no_automatic_attachment,
    enable_policy_type_attaches_full_access_everywhere,
    create_policy_needs_scp_enabled,
    policy_name_rules,
    enable_unknown_policy_type_fails,
    catalog_tag_rules,
    product_field_rules,
    launch_constraint_role_name,
    launch_constraint_once_per_product,
    launch_roles_in_member_accounts,
    terminate_under_change_fails,
    ou_count_limit,
    policy_count_limit,
    account_assignment_is_asynchronous,
    account_assignment_rules,
    alternate_contact_rules,
    permission_set_rules,
];

/// Cases of the suite the emulator cannot run, each with the reason. Every case is either in
/// `AWS` or here (checked below).
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "template_url_must_be_s3",
        "a template URL is vend's own encoding of an S3 bucket and key: AwsCloud parses it before any request (and answers its own error), so the emulator's S3 never sees one that is not an S3 URL",
    ),
    (
        "create_account_is_asynchronous",
        "the case reads the SUCCEEDED request back from the state, but AwsCloud lists only IN_PROGRESS and FAILED requests (by design: finished ones are accounts in the tree); it also needs the emulator's create_account_polls > 0, which run_aws does not set",
    ),
    (
        "launch_constraint_rules",
        "a constraint for a product not in the portfolio: the emulator answers ResourceNotFoundException, the suite InvalidParametersException; both are in CreateConstraint's error list and no AWS reference says which one applies",
    ),
    (
        "template_must_be_uploaded_first",
        "enforcing LoadTemplateFromURL existence in the emulator would break tests/aws_backend.rs, which creates a product from a template it never uploads",
    ),
    (
        "portfolio_share_is_asynchronous",
        "AwsCloud reads shares through DescribePortfolioShares, which has no status, and reports every listed share COMPLETED; the case expects the new OU share IN_PROGRESS in the read state until its token is polled",
    ),
    (
        "provision_needs_a_launch_path",
        "the emulator does not check launch paths; and the case expects an ACCOUNT share to be unusable until polled, while AwsCloud shares with AccountId (an imported share, accepted by the recipient in AWS) and reports it COMPLETED at once",
    ),
    (
        "provision_needs_an_active_account",
        "the emulator does not check that the target account is in the organization and ACTIVE; for a SUSPENDED account AWS fails earlier (the member-role AssumeRole), not with the InvalidParametersException the case expects",
    ),
];

/// Rules of the table the emulator does not make fire in the cases of `AWS`, each with the
/// reason. Every other rule must fire (checked below).
const NOT_FIRED_ON_EMULATOR: &[(&str, &str)] = &[
    (
        "identitycenter.delegated-admin-management-account",
        "a suite case holds the management account's cloud; the call as the delegated administrator is tests/aws_access.rs (a_delegated_administrator_vends_access_but_not_to_the_management_account)",
    ),
    (
        "identitycenter.delegated-admin-management-permission-set",
        "a suite case holds the management account's cloud; the calls as the delegated administrator are tests/aws_permission_sets.rs (a_delegated_administrator_cannot_change_a_permission_set_provisioned_to_the_management_account)",
    ),
    (
        "organizations.one-writer-per-entity",
        "a suite case is one caller making one call at a time; two writes in progress at once are tests/aws_rules.rs (two_writes_to_one_entity_one_is_refused)",
    ),
    ("organizations.account-limit", "the emulator models no account quota (AWS's is set per organization)"),
    (
        "organizations.close-quota",
        "the emulator models no close quota (AWS's changes with the organization and time)",
    ),
    (
        "s3.object-url",
        "see template_url_must_be_s3 in UNSUPPORTED: AwsCloud checks the URL before any request",
    ),
    ("servicecatalog.version-template", "see template_must_be_uploaded_first in UNSUPPORTED"),
    (
        "servicecatalog.constraint-needs-association",
        "see launch_constraint_rules in UNSUPPORTED: the emulator answers ResourceNotFoundException (servicecatalog.association-exists)",
    ),
    (
        "servicecatalog.constraint-exists",
        "AwsCloud finds a constraint to delete by listing the portfolio's constraints and answers ResourceNotFoundException itself when there is none, so DeleteConstraint never reaches the emulator with an unknown id (the emulator refuses one: describe_constraint/delete_constraint)",
    ),
    (
        "servicecatalog.launch-account-exists",
        "the emulator does not check that the launching account is in the organization (issue 14)",
    ),
    (
        "servicecatalog.launch-account-active",
        "the emulator does not check that the launching account is ACTIVE (issue 14)",
    ),
    ("s3.bucket-access", "the emulator does not enforce it (tests/aws_rules.rs NOT_IN_EMULATOR)"),
    (
        "s3.bucket-name-taken",
        "a bucket of another account needs a second account's credentials in the emulator, which a case holding only a `dyn Cloud` (the management account's) cannot get",
    ),
];

/// Every case of `AWS` (each on a freshly reset emulator, run here or by its own test, see
/// `outcome`), adding up the rule hits the emulator counted during each: every rule of the table
/// fires, except those in `NOT_FIRED_ON_EMULATOR`.
#[test]
fn every_rule_fires_on_the_emulator() {
    let mut hits: BTreeMap<String, u64> = BTreeMap::new();
    for name in AWS {
        match outcome(name) {
            Ok(case) => {
                for (id, n) in case {
                    *hits.entry(id).or_default() += n;
                }
            }
            Err(why) => panic!("case {name} failed: {why}"),
        }
    }
    let table = vend::adapter::aws_rules::rules();
    let unknown: Vec<&String> =
        hits.keys().filter(|id| vend::adapter::aws_rules::rule(id).is_none()).collect();
    assert!(unknown.is_empty(), "the emulator counted rules the table lacks: {unknown:?}");
    let total: u64 = hits.values().sum();
    eprintln!("{} of {} rules fired on the emulator, {total} refusals: {hits:?}", hits.len(), table.len());
    let missing: Vec<&str> = table
        .iter()
        .map(|r| r.id.as_str())
        .filter(|id| !hits.contains_key(*id) && !NOT_FIRED_ON_EMULATOR.iter().any(|(n, _)| n == id))
        .collect();
    assert!(missing.is_empty(), "rules the cases never made the emulator refuse: {missing:?}");
    for (id, why) in NOT_FIRED_ON_EMULATOR {
        assert!(table.iter().any(|r| r.id == *id), "{id} is not in the table");
        assert!(!hits.contains_key(*id), "{id} is listed as not fired ({why}) but fired");
    }
}

#[test]
fn every_suite_case_is_run_or_listed_as_unsupported() {
    for case in cloud_suite::suite() {
        let run = AWS.contains(&case.name);
        let skipped = UNSUPPORTED.iter().any(|(n, _)| *n == case.name);
        assert!(run != skipped, "{}: run={run} listed-unsupported={skipped}", case.name);
    }
}

// ------------------------------------------------------------------ the acceptance flow

fn ok(out: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn plan_apply_replan_converges_on_the_emulator() {
    let (_guard, emu) = lock();
    let mut ids = seed_organization(emu);
    seed_catalog(emu, &mut ids);
    let mgmt = ids[&demo().organization.management_account_id].clone();

    let demo_ws = VendWorkspace::new(emu, &mgmt);
    let (dir, ws) = (&demo_ws.dir, &demo_ws.ws);
    let vend = |args: &[&str]| demo_ws.run(args);

    let plan_file = dir.path().join("p.json");
    ok(&vend(&["plan", "--out", plan_file.to_str().unwrap()]));
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(&plan_file).unwrap()).unwrap();
    let addresses: Vec<(String, String)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["address"].as_str().unwrap().to_string(), c["action"].as_str().unwrap().to_string()))
        .collect();
    // The seeded state matches the demo snapshot: the same changes as planned against it.
    for want in [
        ("ou:Workloads/staging", "create"),
        ("account:search-staging", "create"),
        ("product_version:service-pipeline@v3", "create"),
        ("product_version:service-pipeline@v1", "deprecate"),
        ("portfolio_share:delivery-pipelines/ou:Sandbox", "create"),
        ("provisioned_pipeline:checkout-prod/checkout-api", "create"),
        ("provisioned_pipeline:search-staging/baseline", "create"),
    ] {
        assert!(
            addresses.iter().any(|(a, x)| a == want.0 && x == want.1),
            "{want:?} not planned: {addresses:#?}"
        );
    }

    // At the default parallelism, with every request slowed down so that writes in flight
    // overlap: the emulator refuses a second write to one Organizations entity and account
    // creations beyond its limit, and counts each refusal — vend's schedule leaves none (the
    // SDK and the engine would retry a refusal, so the count is what tells).
    let (code, _) = emu.http("POST", "/_vend/faults", r#"{"latency_ms": 25}"#);
    assert_eq!(code, 200);
    let applied =
        ok(&vend(&["apply", plan_file.to_str().unwrap(), "--auto-approve", "--poll-interval-ms", "50"]));
    assert!(!applied.is_empty());
    let (_, stats) = emu.http("GET", "/_vend/stats", "");
    let stats: Value = serde_json::from_str(&stats).unwrap();
    for rule in ["organizations.one-writer-per-entity", "organizations.account-creations-in-progress"] {
        assert!(
            stats["rules"][rule].is_null(),
            "{rule} refused a call of the parallel apply: {:#}",
            stats["rules"]
        );
    }
    let (code, _) = emu.http("POST", "/_vend/faults", r#"{"latency_ms": 0}"#);
    assert_eq!(code, 200);

    // Re-plan: nothing left to do.
    let replan = vend(&["plan", "--json"]);
    let replan: Value = serde_json::from_str(&ok(&replan)).unwrap();
    let left: Vec<(String, String)> = replan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["address"].as_str().unwrap().to_string(), c["action"].as_str().unwrap().to_string()))
        .collect();
    // Launch parameters are read back from each pipeline's CloudFormation stack (defaults
    // included, as the workspace's desired parameters are): nothing differs.
    assert!(left.is_empty(), "the re-plan is not empty: {left:#?}\n{replan:#}");

    // The apply recorded workload@v2 (search-staging uses it now) in blueprints/accounts.lock;
    // with the state read from AWS an edit of it is refused like with the state file.
    let lock = std::fs::read_to_string(ws.join("blueprints/accounts.lock")).unwrap();
    assert!(lock.lines().any(|l| l.starts_with("  workload@v2: ")), "{lock}");
    let v2 = ws.join("blueprints/accounts/workload/v2.yaml");
    let original = std::fs::read_to_string(&v2).unwrap();
    std::fs::write(&v2, original.replace("data-class: internal", "data-class: restricted")).unwrap();
    let edited: Value = serde_json::from_slice(&vend(&["plan", "--json"]).stdout).unwrap();
    assert_eq!(edited["applyable"], false, "{edited:#}");
    assert!(
        edited["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "version-modified" && d["file"] == "blueprints/accounts/workload/v2.yaml"),
        "{edited:#}"
    );
    std::fs::write(&v2, original).unwrap();

    ok(&vend(&["audit", "verify"]));
    // The audit log names the AWS caller.
    let log = std::fs::read_to_string(ws.join(".vend/audit.jsonl")).unwrap();
    let first: Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert_eq!(first["actor"]["aws"]["account"], Value::String(mgmt.clone()), "{first}");

    // The emulator's own view, through the SDK.
    let conf = emu.sdk_config();
    let o = org::Client::new(&conf);
    let s = sc::Client::new(&conf);
    rt().block_on(async {
        let root_id = o.list_roots().send().await.unwrap().roots()[0].id().unwrap().to_string();
        let ous = o.list_organizational_units_for_parent().parent_id(&root_id).send().await.unwrap();
        let workloads = ous.organizational_units().iter().find(|u| u.name() == Some("Workloads")).unwrap();
        let sub =
            o.list_organizational_units_for_parent().parent_id(workloads.id().unwrap()).send().await.unwrap();
        let staging =
            sub.organizational_units().iter().find(|u| u.name() == Some("staging")).expect("staging OU");
        let staging_id = staging.id().unwrap().to_string();
        let tags = o.list_tags_for_resource().resource_id(&staging_id).send().await.unwrap();
        assert!(tags.tags().iter().any(|t| t.key() == "vend:managed" && t.value() == "true"));

        let in_staging = o.list_accounts_for_parent().parent_id(&staging_id).send().await.unwrap();
        let acct = in_staging
            .accounts()
            .iter()
            .find(|a| a.name() == Some("search-staging"))
            .expect("search-staging in Workloads/staging");
        let tags = o.list_tags_for_resource().resource_id(acct.id().unwrap()).send().await.unwrap();
        assert!(
            tags.tags().iter().any(|t| t.key() == "vend:owner" && t.value() == "team-search"),
            "{tags:?}"
        );

        let on_staging = o
            .list_policies_for_target()
            .target_id(&staging_id)
            .filter(org::types::PolicyType::ServiceControlPolicy)
            .send()
            .await
            .unwrap();
        assert!(on_staging.policies().iter().any(|p| p.name() == Some("deny-root-user")), "{on_staging:?}");

        let products = s.search_products_as_admin().send().await.unwrap();
        let pid = products.product_view_details()[0].product_view_summary().unwrap().product_id().unwrap();
        let arts = s.list_provisioning_artifacts().product_id(pid).send().await.unwrap();
        let by_name = |n: &str| {
            arts.provisioning_artifact_details().iter().find(|a| a.name() == Some(n)).cloned().unwrap()
        };
        assert_eq!(by_name("v1").guidance().map(|g| g.as_str()), Some("DEPRECATED"));
        assert_eq!(by_name("v3").guidance().map(|g| g.as_str()), Some("DEFAULT"));
        assert_eq!(by_name("v3").active(), Some(true));
    });
}

/// A CreateAccount whose response is lost (the emulator runs it, then answers 504) is never sent
/// again: the engine asks ListCreateAccountStatus, finds the request it cannot see the answer
/// to, and polls it within the same apply. One account, one CreateAccount call, the outcome
/// record says it was reconciled, a log that verifies and an empty re-plan. (A process killed
/// before it can reconcile is resumed by the next plan: `tests/aws_crash.rs`.)
#[test]
fn a_lost_create_account_response_is_resumed_without_a_duplicate() {
    let (_guard, emu) = lock();
    let mut ids = seed_organization(emu);
    seed_catalog(emu, &mut ids);
    let mgmt = ids[&demo().organization.management_account_id].clone();
    let (status, body) = emu.http(
        "POST",
        "/_vend/faults",
        r#"{"create_account_polls": 2, "script": [{"match": "organizations.CreateAccount", "fault": "lost_response", "times": 1}]}"#,
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = emu.http("POST", "/_vend/stats/reset", "");
    assert_eq!(status, 200, "{body}");

    let demo_ws = VendWorkspace::new(emu, &mgmt);
    let vend = |args: &[&str]| demo_ws.run(args);

    ok(&vend(&["apply", "--auto-approve", "--poll-interval-ms", "50"]));
    let log = std::fs::read_to_string(demo_ws.ws.join(".vend/audit.jsonl")).unwrap();
    // The demo creates two accounts (search-staging, checkout-staging); the first CreateAccount
    // lost its response: one outcome record says it was reconciled, and every one succeeded.
    let outcomes: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["event"] == "outcome" && r["detail"]["op"] == "CreateAccount")
        .collect();
    let new_accounts = ["search-staging", "checkout-staging"];
    assert_eq!(outcomes.len(), new_accounts.len(), "{outcomes:#?}");
    assert!(outcomes.iter().all(|o| o["detail"]["ok"] == true), "{outcomes:#?}");
    let reconciled = outcomes
        .iter()
        .filter(|o| o["detail"]["request_id"].as_str().is_some_and(|r| r.starts_with("reconciled:")))
        .count();
    assert_eq!(reconciled, 1, "{outcomes:#?}");
    ok(&vend(&["audit", "verify"]));
    let replan = vend(&["plan", "--detailed-exitcode"]);
    assert_eq!(replan.status.code(), Some(0), "{}", String::from_utf8_lossy(&replan.stdout));

    let (_, stats) = emu.http("GET", "/_vend/stats", "");
    let stats: Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(
        stats["services"]["organizations"]["CreateAccount"],
        new_accounts.len(),
        "CreateAccount sent more than once for an account: {stats}"
    );
    let conf = emu.sdk_config();
    let o = org::Client::new(&conf);
    let accounts = rt().block_on(async {
        let mut all = vec![];
        let mut token = None;
        loop {
            let page = o.list_accounts().set_next_token(token).send().await.unwrap();
            all.extend(page.accounts().iter().filter_map(|a| a.name().map(str::to_string)));
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        all
    });
    for name in new_accounts {
        assert_eq!(accounts.iter().filter(|n| *n == name).count(), 1, "{name}: {accounts:?}");
    }
}

/// Account creations in progress that vend did not send (another tool's, here four made
/// through the SDK) count against AWS's five in progress: the demo's apply, which creates two
/// accounts, follows them to their end instead of having its second CreateAccount refused
/// (ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED, rule organizations.account-creations-in-progress).
#[test]
fn creations_in_progress_elsewhere_hold_their_slots_on_the_emulator() {
    let (_guard, emu) = lock();
    let mut ids = seed_organization(emu);
    seed_catalog(emu, &mut ids);
    let mgmt = ids[&demo().organization.management_account_id].clone();
    let (status, body) = emu.http("POST", "/_vend/faults", r#"{"create_account_polls": 3}"#);
    assert_eq!(status, 200, "{body}");
    let o = org::Client::new(&emu.sdk_config());
    let elsewhere: Vec<String> = rt().block_on(async {
        let mut cars = vec![];
        for i in 0..4 {
            let out = o
                .create_account()
                .account_name(format!("elsewhere-{i}"))
                .email(format!("aws+elsewhere-{i}@example.com"))
                .send()
                .await
                .unwrap();
            cars.push(out.create_account_status().unwrap().id().unwrap().to_string());
        }
        cars
    });
    let (status, body) = emu.http("POST", "/_vend/stats/reset", "");
    assert_eq!(status, 200, "{body}");

    let demo_ws = VendWorkspace::new(emu, &mgmt);
    let vend = |args: &[&str]| demo_ws.run(args);
    ok(&vend(&["apply", "--auto-approve", "--poll-interval-ms", "50"]));
    ok(&vend(&["audit", "verify"]));
    let replan = vend(&["plan", "--detailed-exitcode"]);
    assert_eq!(replan.status.code(), Some(0), "{}", String::from_utf8_lossy(&replan.stdout));

    let (_, stats) = emu.http("GET", "/_vend/stats", "");
    let stats: Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(
        stats["services"]["organizations"]["CreateAccount"], 2,
        "one CreateAccount per new account: {stats}"
    );
    assert!(
        stats["rules"]["organizations.account-creations-in-progress"].as_u64().unwrap_or(0) == 0,
        "a CreateAccount went over the limit: {stats}"
    );
    let ended = rt().block_on(async {
        let mut states = vec![];
        for car in &elsewhere {
            let s = o.describe_create_account_status().create_account_request_id(car).send().await.unwrap();
            states.push(s.create_account_status().unwrap().state().unwrap().as_str().to_string());
        }
        states
    });
    assert!(ended.iter().all(|s| s == "SUCCEEDED"), "the creations elsewhere: {ended:?}");
}

/// An OU renamed with `renamed_from:` against the emulator: after the demo converged, renaming
/// `Workloads/dev` plans one `rename` change and applies with exactly one
/// UpdateOrganizationalUnit call (no OU created or deleted, no account moved); the OU keeps its
/// id and its accounts, and the re-plan is empty.
#[test]
fn a_renamed_ou_is_one_update_call_on_the_emulator() {
    let (_guard, emu) = lock();
    let mut ids = seed_organization(emu);
    seed_catalog(emu, &mut ids);
    let mgmt = ids[&demo().organization.management_account_id].clone();
    let demo_ws = VendWorkspace::new(emu, &mgmt);
    let vend = |args: &[&str]| demo_ws.run(args);
    ok(&vend(&["apply", "--auto-approve", "--poll-interval-ms", "50"]));

    let org_yaml = demo_ws.ws.join("catalog/organization.yaml");
    let y = std::fs::read_to_string(&org_yaml).unwrap();
    std::fs::write(&org_yaml, y.replace("      dev: {}", "      devs: { renamed_from: dev }")).unwrap();
    let plan: Value = serde_json::from_str(&ok(&vend(&["plan", "--json"]))).unwrap();
    let changes: Vec<(&str, &str)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["address"].as_str().unwrap(), c["action"].as_str().unwrap()))
        .collect();
    assert_eq!(changes, vec![("ou:Workloads/devs", "rename")], "{plan:#}");
    let dev_id = plan["changes"][0]["before"]["id"].as_str().unwrap().to_string();

    let (status, body) = emu.http("POST", "/_vend/stats/reset", "");
    assert_eq!(status, 200, "{body}");
    ok(&vend(&["apply", "--auto-approve", "--poll-interval-ms", "50"]));
    let (_, stats) = emu.http("GET", "/_vend/stats", "");
    let stats: Value = serde_json::from_str(&stats).unwrap();
    let orgs = &stats["services"]["organizations"];
    assert_eq!(orgs["UpdateOrganizationalUnit"], 1, "{stats}");
    for op in ["CreateOrganizationalUnit", "DeleteOrganizationalUnit", "MoveAccount", "CreateAccount"] {
        assert!(orgs.get(op).is_none(), "{op} sent: {stats}");
    }

    let conf = emu.sdk_config();
    let o = org::Client::new(&conf);
    rt().block_on(async {
        let ou = o.describe_organizational_unit().organizational_unit_id(&dev_id).send().await.unwrap();
        assert_eq!(ou.organizational_unit().and_then(|u| u.name()), Some("devs"));
        let inside = o.list_accounts_for_parent().parent_id(&dev_id).send().await.unwrap();
        assert!(!inside.accounts().is_empty(), "the renamed OU lost its accounts");
    });
    let replan: Value = serde_json::from_str(&ok(&vend(&["plan", "--json"]))).unwrap();
    assert!(replan["changes"].as_array().unwrap().is_empty(), "{replan:#}");
    ok(&vend(&["audit", "verify"]));
}

/// `lifecycle: adopt` against the emulator (issue 13, item 4): the demo's portfolio and product
/// exist without vend's tag; the plan adopts both (no second portfolio or product, the live
/// pipeline payments-api not replaced), the apply adds the tag through UpdatePortfolio /
/// UpdateProduct and records vend's hash in the description of v2, made by hand without it
/// (UpdateProvisioningArtifact), and the re-plan is empty.
#[test]
fn an_untagged_portfolio_and_product_are_adopted_on_the_emulator() {
    let (_guard, emu) = lock();
    let mut ids = seed_organization(emu);
    seed_catalog(emu, &mut ids);
    let mgmt = ids[&demo().organization.management_account_id].clone();
    let conf = emu.sdk_config();
    let s = sc::Client::new(&conf);
    let (portfolio_id, product_id) = rt().block_on(async {
        let port = s.list_portfolios().send().await.unwrap().portfolio_details()[0].id().unwrap().to_string();
        s.update_portfolio().id(&port).remove_tags("vend:managed").send().await.unwrap();
        let products = s.search_products_as_admin().send().await.unwrap();
        let pid = products.product_view_details()[0].product_view_summary().unwrap().product_id().unwrap();
        s.update_product().id(pid).remove_tags("vend:managed").send().await.unwrap();
        // v2 as if uploaded by hand: no vend-sha256: marker (adopted with the product entry).
        let v2 = s.list_provisioning_artifacts().product_id(pid).send().await.unwrap();
        let v2 = v2.provisioning_artifact_details().iter().find(|a| a.name() == Some("v2")).unwrap();
        s.update_provisioning_artifact()
            .product_id(pid)
            .provisioning_artifact_id(v2.id().unwrap())
            .description("uploaded by hand")
            .send()
            .await
            .unwrap();
        (port, pid.to_string())
    });

    let demo_ws = VendWorkspace::new(emu, &mgmt);
    let ports = demo_ws.ws.join("catalog/portfolios.yaml");
    let yaml = std::fs::read_to_string(&ports).unwrap();
    let adopted = yaml
        .replacen("  delivery-pipelines:\n", "  delivery-pipelines:\n    lifecycle: adopt\n", 1)
        .replacen("deprecated: [v1] }", "deprecated: [v1], lifecycle: adopt }", 1);
    assert_ne!(adopted, yaml);
    std::fs::write(&ports, &adopted).unwrap();

    let plan: Value = serde_json::from_str(&ok(&demo_ws.run(&["plan", "--json"]))).unwrap();
    let actions: Vec<(String, String)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["address"].as_str().unwrap().to_string(), c["action"].as_str().unwrap().to_string()))
        .collect();
    for want in [
        ("portfolio:delivery-pipelines", "adopt"),
        ("product:service-pipeline", "adopt"),
        ("product_version:service-pipeline@v2", "adopt"),
    ] {
        assert!(actions.iter().any(|(a, x)| a == want.0 && x == want.1), "{want:?}: {actions:#?}");
    }
    assert!(
        !actions
            .iter()
            .any(|(a, x)| (a.starts_with("portfolio:") || a.starts_with("product:")) && x == "create"
                || a == "provisioned_pipeline:payments-prod/payments-api"),
        "{actions:#?}"
    );
    ok(&demo_ws.run(&["apply", "--auto-approve", "--poll-interval-ms", "50"]));
    let replan: Value = serde_json::from_str(&ok(&demo_ws.run(&["plan", "--json"]))).unwrap();
    assert!(replan["changes"].as_array().unwrap().is_empty(), "{replan:#}");

    rt().block_on(async {
        let ports = s.list_portfolios().send().await.unwrap();
        assert_eq!(ports.portfolio_details().len(), 1, "{ports:?}");
        let d = s.describe_portfolio().id(&portfolio_id).send().await.unwrap();
        assert!(d.tags().iter().any(|t| t.key() == "vend:managed" && t.value() == "true"), "{d:?}");
        let products = s.search_products_as_admin().send().await.unwrap();
        assert_eq!(products.product_view_details().len(), 1, "{products:?}");
        let p = s.describe_product_as_admin().id(&product_id).send().await.unwrap();
        assert!(p.tags().iter().any(|t| t.key() == "vend:managed" && t.value() == "true"), "{p:?}");
        let arts = s.list_provisioning_artifacts().product_id(&product_id).send().await.unwrap();
        let v2 = arts.provisioning_artifact_details().iter().find(|a| a.name() == Some("v2")).unwrap();
        assert!(v2.description().is_some_and(|d| d.starts_with("vend-sha256:")), "{v2:?}");
    });
}

/// Issue 14, greenfield: an organization with only its management account. The demo workspace
/// plans as applyable with everything the launch path needs as changes of their own (the
/// template bucket, Service Catalog's Organizations access) ordered before what needs them,
/// applies in one `vend apply`, re-plans empty and leaves a log that verifies; the bucket is
/// private, encrypted, versioned and vend's. (Before: `PutTemplate: NoSuchBucket`, 35 of 44.)
#[test]
fn greenfield_demo_applies_in_one_go() {
    let (_guard, emu) = lock();
    let conf = emu.sdk_config();
    let o = org::Client::new(&conf);
    let mgmt = rt().block_on(async {
        o.create_organization().feature_set(org::types::OrganizationFeatureSet::All).send().await.unwrap();
        o.describe_organization()
            .send()
            .await
            .unwrap()
            .organization()
            .unwrap()
            .master_account_id()
            .unwrap()
            .to_string()
    });
    // IAM Identity Center is set up outside vend (vend references its groups and permission
    // sets by name, issue 18): the demo's.
    emulator_harness::seed::seed_demo_identity_center(emu);
    let demo_ws = VendWorkspace::new(emu, &mgmt);
    let plan: Value = serde_json::from_str(&ok(&demo_ws.run(&["plan", "--json"]))).unwrap();
    let changes = plan["changes"].as_array().unwrap();
    let at = |address: &str| {
        changes
            .iter()
            .position(|c| c["address"] == address)
            .unwrap_or_else(|| panic!("{address} not planned: {plan:#}"))
    };
    let bucket = format!("template_bucket:vend-templates-{mgmt}");
    let access = "service_access:servicecatalog";
    let share = "portfolio_share:delivery-pipelines/ou:Workloads";
    assert!(at(&bucket) < at("product:service-pipeline"), "{plan:#}");
    assert!(at(access) < at(share), "{plan:#}");
    assert!(changes[at(share)]["depends_on"].as_array().unwrap().iter().any(|d| d == access), "{plan:#}");
    assert!(
        !plan["diagnostics"].as_array().unwrap().iter().any(|d| d["severity"] == "error"),
        "not applyable: {plan:#}"
    );

    ok(&demo_ws.run(&["apply", "--auto-approve", "--poll-interval-ms", "50"]));
    let replan: Value = serde_json::from_str(&ok(&demo_ws.run(&["plan", "--json"]))).unwrap();
    assert!(replan["changes"].as_array().unwrap().is_empty(), "{replan:#}");
    ok(&demo_ws.run(&["audit", "verify"]));

    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf).force_path_style(true).build(),
    );
    let name = format!("vend-templates-{mgmt}");
    rt().block_on(async {
        let tags = s3.get_bucket_tagging().bucket(&name).send().await.unwrap();
        assert!(tags.tag_set().iter().any(|t| t.key() == "vend:managed" && t.value() == "true"), "{tags:?}");
        let v = s3.get_bucket_versioning().bucket(&name).send().await.unwrap();
        assert_eq!(v.status().map(|s| s.as_str()), Some("Enabled"));
        let b = s3.get_public_access_block().bucket(&name).send().await.unwrap();
        let b = b.public_access_block_configuration().unwrap();
        assert_eq!(
            (
                b.block_public_acls(),
                b.ignore_public_acls(),
                b.block_public_policy(),
                b.restrict_public_buckets()
            ),
            (Some(true), Some(true), Some(true), Some(true))
        );
        let e = s3.get_bucket_encryption().bucket(&name).send().await.unwrap();
        let algo = e.server_side_encryption_configuration().unwrap().rules()[0]
            .apply_server_side_encryption_by_default()
            .unwrap()
            .sse_algorithm()
            .as_str()
            .to_string();
        assert_eq!(algo, "AES256");
        let sc_access = sc::Client::new(&conf).get_aws_organizations_access_status().send().await.unwrap();
        assert_eq!(sc_access.access_status().map(|s| s.as_str()), Some("ENABLED"));

        // In a vended account under Workloads, a role matching the portfolio's `ProductTeam*`
        // pattern launches the shared product; a role that matches no pattern cannot.
        let accounts = o.list_accounts().send().await.unwrap();
        let account = accounts.accounts().iter().find(|a| a.name() == Some("payments-prod")).unwrap();
        let account = account.id().unwrap().to_string();
        let hub = sc::Client::new(&conf);
        let products = hub.search_products_as_admin().send().await.unwrap();
        let product =
            products.product_view_details()[0].product_view_summary().unwrap().product_id().unwrap();
        let versions = hub.list_provisioning_artifacts().product_id(product).send().await.unwrap();
        let v2 = versions.provisioning_artifact_details().iter().find(|v| v.name() == Some("v2")).unwrap();
        let sts = aws_sdk_sts::Client::new(&conf);
        let launch = |client: sc::Client, name: &'static str| {
            let (product, v2) = (product.to_string(), v2.id().unwrap().to_string());
            async move {
                client
                    .provision_product()
                    .provisioned_product_name(name)
                    .product_id(product)
                    .provisioning_artifact_id(v2)
                    .provisioning_parameters(
                        sc::types::ProvisioningParameter::builder()
                            .key("RepositoryName")
                            .value("team-app")
                            .build(),
                    )
                    .provision_token(name)
                    .send()
                    .await
            }
        };
        // vend created the launch role there (through the member role): trusted by Service
        // Catalog, tagged, with the workspace's policy — and in the management account, where
        // the launch constraint was created.
        for (who, iam) in [
            (
                "payments-prod",
                role_iam(&sts, &conf, &account, "OrganizationAccountAccessRole", "check").await,
            ),
            ("management", aws_sdk_iam::Client::new(&conf)),
        ] {
            let role = iam.get_role().role_name("VendPipelineLaunchRole").send().await;
            let role = role.unwrap_or_else(|e| panic!("no launch role in {who}: {e:?}"));
            let role = role.role().unwrap();
            assert!(
                role.tags().iter().any(|t| t.key() == "vend:managed" && t.value() == "true"),
                "{who}: {role:?}"
            );
            let trust = role.assume_role_policy_document().unwrap_or_default();
            assert!(trust.contains("servicecatalog.amazonaws.com"), "{who}: {trust}");
            let policy = iam
                .get_role_policy()
                .role_name("VendPipelineLaunchRole")
                .policy_name("vend-launch")
                .send()
                .await
                .unwrap();
            assert!(policy.policy_document().contains("cloudformation"), "{who}: {policy:?}");
        }
        let team = role_catalog(&sts, &conf, &account, "ProductTeamPayments", "team").await;
        let out = launch(team, "team-pipeline").await;
        assert!(out.is_ok(), "ProductTeamPayments should launch: {out:?}");
        let other = role_catalog(&sts, &conf, &account, "Auditor", "other").await;
        let err = launch(other, "other-pipeline").await.unwrap_err();
        assert_eq!(
            err.as_service_error().and_then(|e| e.meta().code()),
            Some("ResourceNotFoundException"),
            "{err:?}"
        );
    });
}
