//! The AWS rules against the in-process cloud: every case of `cloud_suite::suite()` as its own
//! test on a fresh `LocalCloud`, followed by the state invariants; then what only the local cloud
//! has (configurable polling, deterministic ids, per-call atomic persistence with its journal)
//! and the fault-injecting `FaultyCloud`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

mod cloud_suite;

use cloud_suite::{Seed, fails, invariants, ok, seed_state, state, tags};
use std::path::Path;
use vend::adapter::faulty_cloud::{FaultPoint, FaultyCloud, INJECTED_FAULT};
use vend::adapter::local_cloud::LocalCloud;
use vend::model::{State, Tags};
use vend::port::{Cloud, ErrorKind, Op};

fn run_local(name: &str) {
    let case =
        cloud_suite::suite().into_iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no case {name}"));
    let seed = seed_state(case.seed);
    let mut cloud = LocalCloud::in_memory(seed.clone()).with_settings(cloud_suite::local_settings());
    invariants(&cloud.read_state().unwrap());
    (case.run)(&mut cloud, &seed);
    invariants(&cloud.read_state().unwrap());
}

macro_rules! local {
    ($($name:ident),* $(,)?) => {
        $( #[test] fn $name() { run_local(stringify!($name)); } )*
        const LOCAL: &[&str] = &[$(stringify!($name)),*];
    };
}

local![
    create_account_is_asynchronous,
    new_account_in_root_active_tagged_with_full_access,
    no_scp_no_automatic_attachment,
    duplicate_email_of_existing_account_fails,
    duplicate_email_of_request_in_flight_fails,
    account_creations_in_progress_limit,
    account_name_rules,
    email_rules,
    create_account_bad_tag_fails_whole_request,
    move_account_rules,
    close_account_rules,
    unknown_create_account_request,
    create_ou_parent_must_exist_and_gets_full_access,
    ou_depth_limit,
    ou_name_unique_under_parent,
    rename_ou_rules,
    delete_ou_must_be_empty,
    suspended_account_keeps_ou_non_empty,
    tag_resource_rules,
    enable_policy_type_attaches_full_access_everywhere,
    create_policy_needs_scp_enabled,
    create_policy_unique_name,
    policy_size_limit_in_bytes,
    policy_must_be_json,
    attach_at_most_five_per_target,
    attach_twice_fails,
    detach_not_attached_fails,
    detach_last_scp_fails,
    root_policy_ids_follow_attachments,
    delete_attached_policy_fails,
    full_access_is_immutable,
    template_must_be_uploaded_first,
    create_portfolio_token_is_idempotent,
    update_portfolio_rules,
    delete_portfolio_in_use_fails,
    create_product_with_first_version,
    update_product_rules,
    create_artifact_rules,
    update_artifact_rules,
    delete_artifact_rules,
    delete_product_in_portfolio_fails,
    product_portfolio_association_rules,
    principal_rules,
    portfolio_share_is_asynchronous,
    portfolio_share_target_must_exist,
    launch_constraint_rules,
    provision_product_is_asynchronous,
    provision_token_idempotent_and_name_unique,
    provision_needs_a_launch_path,
    provision_needs_an_active_account,
    provision_checks_parameters_against_the_template,
    deprecated_version_no_new_launch_but_update,
    terminate_provisioned_product,
    unknown_ids_are_not_found,
    minted_ids_have_aws_shapes_and_are_unique,
    policy_name_rules,
    enable_unknown_policy_type_fails,
    template_url_must_be_s3,
    template_bucket_rules,
    organization_share_needs_catalog_access,
    share_principals_rules,
    member_launch_needs_principal_access,
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

#[test]
fn every_suite_case_has_a_local_test() {
    let suite: Vec<&str> = cloud_suite::suite().iter().map(|c| c.name).collect();
    let missing: Vec<&&str> = suite.iter().filter(|n| !LOCAL.contains(n)).collect();
    assert!(missing.is_empty(), "suite cases without a local test: {missing:?}");
    assert!(suite.len() >= 30);
}

fn demo() -> State {
    seed_state(Seed::Demo)
}

fn root_ou(name: &str, s: &State) -> Op {
    Op::CreateOrganizationalUnit {
        parent_id: s.organization.root_id.clone(),
        name: name.into(),
        tags: Tags::new(),
    }
}

// ------------------------------------------------------------------ local-only behaviour

#[test]
fn polls_before_completion_are_configurable() {
    let seed = demo();
    let mut c = LocalCloud::in_memory(seed.clone()).with_polls(3);
    let car = ok(
        &mut c,
        Op::CreateAccount { name: "slow".into(), email: "aws+slow@example.com".into(), tags: Tags::new() },
    )
    .id
    .unwrap();
    for _ in 0..2 {
        let o = ok(&mut c, Op::DescribeCreateAccountStatus { request_id: car.clone() });
        assert_eq!(o.status.as_deref(), Some("IN_PROGRESS"));
    }
    let o = ok(&mut c, Op::DescribeCreateAccountStatus { request_id: car });
    assert_eq!(o.status.as_deref(), Some("SUCCEEDED"));

    let token = ok(
        &mut c,
        Op::CreatePortfolioShare {
            portfolio_id: seed.portfolios[0].id.clone(),
            share_type: "ORGANIZATION".into(),
            value: seed.organization.id.clone(),
            share_principals: false,
        },
    )
    .id
    .unwrap();
    let statuses: Vec<_> = (0..3)
        .map(|_| ok(&mut c, Op::DescribePortfolioShareStatus { token: token.clone() }).status.unwrap())
        .collect();
    assert_eq!(statuses, ["IN_PROGRESS", "IN_PROGRESS", "COMPLETED"]);

    let pp = seed.provisioned_products[0].id.clone();
    let rec = ok(&mut c, Op::TerminateProvisionedProduct { provisioned_product_id: pp, token: "t".into() })
        .id
        .unwrap();
    let statuses: Vec<_> =
        (0..3).map(|_| ok(&mut c, Op::DescribeRecord { record_id: rec.clone() }).status.unwrap()).collect();
    assert_eq!(statuses, ["IN_PROGRESS", "IN_PROGRESS", "SUCCEEDED"]);
    assert!(c.state().provisioned_products.is_empty());
}

#[test]
fn ids_and_request_ids_are_deterministic() {
    let run = || {
        let seed = demo();
        let mut c = LocalCloud::in_memory(seed.clone());
        let a = ok(&mut c, root_ou("one", &seed));
        let b = ok(
            &mut c,
            Op::CreateAccount { name: "x".into(), email: "aws+x@example.com".into(), tags: Tags::new() },
        );
        let d = ok(&mut c, Op::DescribeCreateAccountStatus { request_id: b.id.clone().unwrap() });
        (a, b, d, c.read_state().unwrap())
    };
    let (first, second) = (run(), run());
    assert_eq!(first, second);
    let (a, b, ..) = first;
    assert_ne!(a.request_id, b.request_id);
    assert_eq!(a.request_id.len(), 36, "{}", a.request_id);
}

#[test]
fn account_limit_is_a_setting() {
    let seed = demo();
    let settings = vend::adapter::local_cloud::Settings {
        account_limit: Some(seed.accounts.len() + 1),
        ..Default::default()
    };
    let mut c = LocalCloud::in_memory(seed).with_settings(settings);
    let mk = |n: &str| Op::CreateAccount {
        name: n.into(),
        email: format!("aws+{n}@example.com"),
        tags: Tags::new(),
    };
    let a = ok(&mut c, mk("fits")).id.unwrap();
    let b = ok(&mut c, mk("too-many")).id.unwrap();
    let sa = ok(&mut c, Op::DescribeCreateAccountStatus { request_id: a });
    let sb = ok(&mut c, Op::DescribeCreateAccountStatus { request_id: b });
    assert_eq!(sa.status.as_deref(), Some("SUCCEEDED"));
    assert_eq!(
        (sb.status.as_deref(), sb.result.as_deref()),
        (Some("FAILED"), Some("ACCOUNT_LIMIT_EXCEEDED"))
    );
}

#[test]
fn a_failed_call_changes_nothing() {
    let seed = demo();
    let mut c = LocalCloud::in_memory(seed.clone());
    let before = c.read_state().unwrap();
    fails(&mut c, root_ou("Security", &seed), "DuplicateOrganizationalUnitException");
    assert_eq!(c.read_state().unwrap(), before);
}

// ------------------------------------------------------------------ persistence

fn temp_state(state: &State) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    vend::adapter::fs::write_state(&path, state).unwrap();
    (dir, path)
}

/// What is durable on disk: the state file continued by its journal (as `vend plan` reads it).
fn on_disk(path: &Path) -> State {
    LocalCloud::catch_up(path, vend::adapter::fs::read_state(path).unwrap()).unwrap()
}

#[test]
fn every_call_is_persisted_before_it_returns() {
    let seed = demo();
    let (dir, path) = temp_state(&seed);
    let mut c = LocalCloud::open(&path).unwrap();
    let ou = ok(&mut c, root_ou("Data", &seed)).id.unwrap();
    // Without dropping the cloud: the file already has the OU.
    assert!(on_disk(&path).organizational_units.iter().any(|o| o.id == ou));
    let car = ok(
        &mut c,
        Op::CreateAccount { name: "d".into(), email: "aws+d@example.com".into(), tags: Tags::new() },
    )
    .id
    .unwrap();
    assert_eq!(
        on_disk(&path).create_account_requests.iter().find(|r| r.id == car).unwrap().state,
        "IN_PROGRESS"
    );
    // A poll that completes the request is persisted too.
    let done = ok(&mut c, Op::DescribeCreateAccountStatus { request_id: car });
    let id = done.result.unwrap();
    assert!(on_disk(&path).accounts.iter().any(|a| a.id == id));
    assert_eq!(on_disk(&path), c.read_state().unwrap());
    // No temporary files are left behind: only the state and its journal.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["state.json", "state.json.journal"]);
    // A failed call writes nothing.
    let journal = LocalCloud::journal_path(&path);
    let bytes = (std::fs::read(&path).unwrap(), std::fs::read(&journal).unwrap());
    fails(&mut c, root_ou("Data", &seed), "DuplicateOrganizationalUnitException");
    assert_eq!((std::fs::read(&path).unwrap(), std::fs::read(&journal).unwrap()), bytes);
    // Dropping the cloud (the end of a command) brings the state file itself up to date.
    drop(c);
    assert_eq!(vend::adapter::fs::read_state(&path).unwrap(), on_disk(&path));
    assert!(vend::adapter::fs::read_state(&path).unwrap().accounts.iter().any(|a| a.id == id));
}

#[test]
fn reopening_continues_where_the_last_call_ended() {
    let seed = demo();
    let (_dir, path) = temp_state(&seed);
    let (car, portfolio, token) = {
        let mut c = LocalCloud::open(&path).unwrap();
        let car = ok(
            &mut c,
            Op::CreateAccount {
                name: "later".into(),
                email: "aws+later@example.com".into(),
                tags: tags(&[("k", "v")]),
            },
        )
        .id
        .unwrap();
        let url = "https://vend-templates-111111111111.s3.us-east-1.amazonaws.com/t/x.yaml".to_string();
        ok(&mut c, Op::PutTemplate { url, body: "Resources: {}\n".into() });
        let portfolio = ok(
            &mut c,
            Op::CreatePortfolio {
                name: "p".into(),
                description: String::new(),
                provider: "me".into(),
                tags: Tags::new(),
                token: "tok".into(),
            },
        )
        .id
        .unwrap();
        let token = ok(
            &mut c,
            Op::CreatePortfolioShare {
                portfolio_id: seed.portfolios[0].id.clone(),
                share_type: "ORGANIZATION".into(),
                value: seed.organization.id.clone(),
                share_principals: false,
            },
        )
        .id
        .unwrap();
        (car, portfolio, token)
        // dropped: as if the process ended
    };
    let mut c = LocalCloud::open(&path).unwrap();
    // The in-flight account creation remembers what was asked.
    let done = ok(&mut c, Op::DescribeCreateAccountStatus { request_id: car });
    assert_eq!(done.status.as_deref(), Some("SUCCEEDED"));
    let s = c.read_state().unwrap();
    let a = s.accounts.iter().find(|a| Some(&a.id) == done.result.as_ref()).unwrap();
    assert_eq!((a.email.as_str(), a.tags.get("k").map(String::as_str)), ("aws+later@example.com", Some("v")));
    // Tokens, templates and shares survive.
    let again = ok(
        &mut c,
        Op::CreatePortfolio {
            name: "p".into(),
            description: String::new(),
            provider: "me".into(),
            tags: Tags::new(),
            token: "tok".into(),
        },
    );
    assert_eq!(again.id.as_deref(), Some(portfolio.as_str()));
    assert!(c.template("https://vend-templates-111111111111.s3.us-east-1.amazonaws.com/t/x.yaml").is_some());
    assert_eq!(ok(&mut c, Op::DescribePortfolioShareStatus { token }).status.as_deref(), Some("COMPLETED"));
    // New ids do not repeat those minted before the restart.
    let ou = ok(&mut c, root_ou("after", &seed)).id.unwrap();
    assert!(!seed.organizational_units.iter().any(|o| o.id == ou));
}

#[test]
fn a_crash_between_journal_and_state_write_is_replayed() {
    let seed = demo();
    let (_dir, path) = temp_state(&seed);
    let before = std::fs::read(&path).unwrap();
    let ou = {
        let mut c = LocalCloud::open(&path).unwrap();
        ok(&mut c, root_ou("Replayed", &seed)).id.unwrap()
    };
    // Simulate the crash: the compaction at the end wrote the new journal, but not the state
    // file (nor, after it, the line saying the file was written).
    std::fs::write(&path, &before).unwrap();
    let journal = LocalCloud::journal_path(&path);
    let kept: String = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("{\"state_file\""))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&journal, kept).unwrap();
    let file = || vend::adapter::fs::read_state(&path).unwrap();
    assert!(!file().organizational_units.iter().any(|o| o.id == ou));
    // A plan reads the journal's state without writing anything.
    assert!(on_disk(&path).organizational_units.iter().any(|o| o.id == ou), "a reader missed the journal");
    assert!(!file().organizational_units.iter().any(|o| o.id == ou), "a reader wrote the state file");
    let c = LocalCloud::open(&path).unwrap();
    assert!(c.state().organizational_units.iter().any(|o| o.id == ou), "the journal was not replayed");
    assert!(file().organizational_units.iter().any(|o| o.id == ou), "the replay was not written back");
}

#[test]
fn a_journal_of_another_state_is_ignored() {
    let seed = demo();
    let (_dir, path) = temp_state(&seed);
    {
        let mut c = LocalCloud::open(&path).unwrap();
        ok(&mut c, root_ou("Old", &seed));
        ok(&mut c, root_ou("Older", &seed));
    }
    // Someone replaces the state file with another organization.
    let other = State::empty("2026-11-22T10:00:00Z");
    vend::adapter::fs::write_state(&path, &other).unwrap();
    let mut c = LocalCloud::open(&path).unwrap();
    assert!(c.state().organizational_units.is_empty());
    ok(&mut c, root_ou("New", &other));
    assert_eq!(on_disk(&path).organizational_units.len(), 1);
}

#[test]
fn open_fails_on_a_missing_state_file() {
    let dir = tempfile::tempdir().unwrap();
    assert!(LocalCloud::open(dir.path().join("nope.json")).is_err());
}

// ------------------------------------------------------------------ fault injection

#[test]
fn faulty_before_does_not_carry_out_the_call() {
    let seed = demo();
    let mut c = FaultyCloud::new(LocalCloud::in_memory(seed.clone()), 2, FaultPoint::Before);
    let car = ok(
        &mut c,
        Op::CreateAccount { name: "f".into(), email: "aws+f@example.com".into(), tags: Tags::new() },
    )
    .id
    .unwrap();
    // Polls and reads do not count.
    ok(&mut c, Op::DescribeCreateAccountStatus { request_id: car });
    c.read_state().unwrap();
    assert_eq!((c.mutating_calls(), c.calls()), (1, 2));
    let before = c.read_state().unwrap();
    let e = c.call(&root_ou("Faulty", &seed)).unwrap_err();
    assert_eq!((e.kind, e.code.as_str()), (ErrorKind::Hard, INJECTED_FAULT));
    assert_eq!(c.read_state().unwrap(), before, "a Before fault carried the call out");
    // The next call goes through.
    ok(&mut c, root_ou("Faulty", &seed));
    assert_eq!((c.mutating_calls(), c.calls()), (3, 4));
    assert_eq!(c.fired().len(), 1);
    assert_eq!(c.fired()[0].1, "CreateOrganizationalUnit");
}

#[test]
fn faulty_after_carries_out_the_call_and_loses_the_response() {
    let seed = demo();
    let mut c = FaultyCloud::new(LocalCloud::in_memory(seed.clone()), 1, FaultPoint::After);
    let op = Op::CreatePortfolio {
        name: "lost".into(),
        description: String::new(),
        provider: "me".into(),
        tags: Tags::new(),
        token: "tok-lost".into(),
    };
    let e = c.call(&op).unwrap_err();
    assert_eq!((e.kind, e.code.as_str()), (ErrorKind::Unknown, INJECTED_FAULT));
    let s = c.read_state().unwrap();
    let created =
        s.portfolios.iter().find(|p| p.name == "lost").expect("the call was carried out").id.clone();
    // Recovery: the same token returns the same portfolio.
    assert_eq!(ok(&mut c, op).id.as_deref(), Some(created.as_str()));
    assert_eq!(c.read_state().unwrap().portfolios.len(), seed.portfolios.len() + 1);
}

#[test]
fn faulty_after_on_a_move_makes_the_retry_a_duplicate() {
    let seed = demo();
    let acct = cloud_suite::account(&seed, "legacy-billing");
    let mv = Op::MoveAccount {
        account_id: acct.clone(),
        source_parent_id: cloud_suite::ou(&seed, "Workloads"),
        destination_parent_id: cloud_suite::ou(&seed, "Sandbox"),
    };
    let mut c = FaultyCloud::new(LocalCloud::in_memory(seed.clone()), 1, FaultPoint::After);
    assert_eq!(c.call(&mv).unwrap_err().kind, ErrorKind::Unknown);
    fails(&mut c, mv, "DuplicateAccountException");
    assert_eq!(
        state(&mut c).accounts.iter().find(|a| a.id == acct).unwrap().parent_id,
        cloud_suite::ou(&seed, "Sandbox")
    );
}

#[test]
fn faulty_after_a_failing_call_still_reports_unknown() {
    let seed = demo();
    let mut c =
        FaultyCloud::passthrough(LocalCloud::in_memory(seed.clone())).with_fault(1, FaultPoint::After);
    let e = c.call(&root_ou("Security", &seed)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unknown);
    assert!(e.message.contains("DuplicateOrganizationalUnitException"), "{e}");
    assert_eq!(c.into_inner().state().organizational_units.len(), seed.organizational_units.len());
}

#[test]
fn faulty_cloud_persists_through_the_inner_cloud() {
    let seed = demo();
    let (_dir, path) = temp_state(&seed);
    let mut c = FaultyCloud::new(LocalCloud::open(&path).unwrap(), 1, FaultPoint::After);
    assert!(c.call(&root_ou("Durable", &seed)).is_err());
    // The lost response does not lose the call: it is on disk.
    assert!(on_disk(&path).organizational_units.iter().any(|o| o.name == "Durable"));
}

// ------------------------------------------------------------------ every rule of the table fires

/// A `Cloud` that passes every call through and records the rule of each refusal: the
/// `CloudError.rule` of a refused call, and for a FAILED account creation the rule whose code is
/// the status's failure reason (AWS reports those in DescribeCreateAccountStatus, not as errors).
struct Recording<'a> {
    inner: &'a mut dyn Cloud,
    hits: &'a mut std::collections::BTreeMap<String, u64>,
    failed_requests: std::collections::BTreeSet<String>,
}

impl Cloud for Recording<'_> {
    fn read_state(&mut self) -> Result<State, vend::port::CloudError> {
        self.inner.read_state()
    }

    fn call(&mut self, op: &Op) -> Result<vend::port::Outcome, vend::port::CloudError> {
        let out = self.inner.call(op);
        match &out {
            Err(e) => {
                let rule = e.rule.clone().unwrap_or_else(|| format!("(no rule: {} {})", e.code, op.name()));
                *self.hits.entry(rule).or_default() += 1;
            }
            Ok(o) if o.status.as_deref() == Some("FAILED") => {
                if let Op::DescribeAccountAssignmentCreationStatus { request_id, .. }
                | Op::DescribeAccountAssignmentDeletionStatus { request_id, .. } = op
                    && self.failed_requests.insert(request_id.clone())
                {
                    // AWS's FailureReason: "Received a 404 status error: the GROUP assignee … was
                    // not found in directory …", or a 400 for a target outside the organization.
                    let reason = o.result.clone().unwrap_or_default();
                    let rule = if reason.contains("was not found in directory") {
                        "identitycenter.principal-exists".to_string()
                    } else if reason.contains("is not a member of organization") {
                        "identitycenter.target-in-organization".to_string()
                    } else {
                        format!("(no rule for the failure reason {reason})")
                    };
                    *self.hits.entry(rule).or_default() += 1;
                } else if let Op::DescribeCreateAccountStatus { request_id } = op
                    && self.failed_requests.insert(request_id.clone())
                {
                    let reason = o.result.clone().unwrap_or_default();
                    let rule = vend::adapter::aws_rules::rules()
                        .iter()
                        .find(|r| r.code == reason)
                        .map(|r| r.id.clone())
                        .unwrap_or_else(|| format!("(no rule for the failure reason {reason})"));
                    *self.hits.entry(rule).or_default() += 1;
                }
            }
            Ok(_) => {}
        }
        out
    }
}

/// Rules of the table the suite cannot make the in-process cloud refuse, each with the reason.
const NOT_FIRED_LOCALLY: &[(&str, &str)] = &[
    (
        "identitycenter.delegated-admin-management-account",
        "a suite case holds the management account's cloud; the call as the delegated administrator is tests/access.rs (a_delegated_administrator_cannot_change_access_to_the_management_account)",
    ),
    (
        "identitycenter.delegated-admin-management-permission-set",
        "a suite case holds the management account's cloud; the calls as the delegated administrator are tests/permission_sets.rs (a_delegated_administrator_cannot_change_a_permission_set_provisioned_to_the_management_account)",
    ),
    (
        "identitystore.group-exists",
        "GetGroupId is a read of the AWS adapter (groups by display name into the state); the in-process cloud holds its groups in the state and has no such call",
    ),
    (
        "organizations.one-writer-per-entity",
        "the in-process cloud carries out one call at a time (`&mut self`), so no write is ever in progress when another arrives (tests/aws_rules.rs: NOT_IN_SRC)",
    ),
    (
        "organizations.account-limit",
        "the organization's account quota is a per-organization setting (Settings::account_limit, unlimited by default) that a case holding only a `dyn Cloud` cannot lower; account_limit_is_a_setting above makes it fail a creation",
    ),
    (
        "organizations.close-quota",
        "the close quota changes with the organization and time (Settings::close_limit, unlimited by default) and a case holding only a `dyn Cloud` cannot set it",
    ),
    (
        "s3.bucket-access",
        "a bucket held by another account exists in the in-process cloud only when its state says so (a read from AWS records HeadBucket's 403); a case holding only a `dyn Cloud` cannot make one (the planner refuses such a bucket: tests/plan_cases.rs)",
    ),
    (
        "s3.bucket-name-taken",
        "a bucket held by another account exists in the in-process cloud only when its state says so; a case holding only a `dyn Cloud` cannot make one",
    ),
];

#[test]
fn every_rule_fires_on_the_local_cloud() {
    let mut hits = std::collections::BTreeMap::new();
    for case in cloud_suite::suite() {
        let seed = seed_state(case.seed);
        let mut cloud = LocalCloud::in_memory(seed.clone()).with_settings(cloud_suite::local_settings());
        let mut rec = Recording { inner: &mut cloud, hits: &mut hits, failed_requests: Default::default() };
        (case.run)(&mut rec, &seed);
    }
    let unnamed: Vec<&String> = hits.keys().filter(|k| k.starts_with('(')).collect();
    assert!(unnamed.is_empty(), "refusals that name no rule of the table: {unnamed:?}");
    let table = vend::adapter::aws_rules::rules();
    let missing: Vec<&str> = table
        .iter()
        .map(|r| r.id.as_str())
        .filter(|id| !hits.contains_key(*id) && !NOT_FIRED_LOCALLY.iter().any(|(n, _)| n == id))
        .collect();
    let total: u64 = hits.values().sum();
    eprintln!("{} of {} rules fired on the local cloud, {total} refusals: {hits:?}", hits.len(), table.len());
    assert!(missing.is_empty(), "rules the suite never made the local cloud refuse: {missing:?}");
    for (id, why) in NOT_FIRED_LOCALLY {
        assert!(table.iter().any(|r| r.id == *id), "{id} is not in the table");
        assert!(!hits.contains_key(*id), "{id} is listed as unreachable ({why}) but fired");
    }
}
