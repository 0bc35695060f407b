//! The AWS-rule suite (AWS-NOTES.md), written against `&mut dyn Cloud` only, so that the same
//! rules run against the in-process cloud (`tests/cloud_rules.rs`) and, later, the AWS adapter
//! over the extended emulator. Each case names the seed organization it expects (`Seed`); a
//! harness builds that organization, hands the cloud and the seed state to the case, and then
//! checks `invariants` on the state the cloud reports.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use vend::model::{State, Tags};
use vend::port::{ArtifactSpec, Cloud, CloudError, ErrorKind, Op, Outcome};

/// The organization a case starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seed {
    /// `snapshots/demo.state.json`: SCPs enabled, OU tree, 13 accounts, a portfolio shared with
    /// the Workloads OU, a product with two versions and one provisioned product.
    Demo,
    /// A small organization without SCPs enabled: root, OU `Apps`, the management account and
    /// one member account in `Apps`.
    NoScp,
}

pub type Rule = fn(&mut dyn Cloud, &State);

pub struct Case {
    pub name: &'static str,
    pub seed: Seed,
    pub run: Rule,
}

pub fn seed_state(seed: Seed) -> State {
    match seed {
        Seed::Demo => {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots/demo.state.json");
            vend::adapter::fs::read_state(&path).unwrap()
        }
        Seed::NoScp => {
            let mut s = State::empty("2026-11-22T10:00:00Z");
            s.organization.enabled_policy_types.clear();
            s.organization.root_policy_ids.clear();
            s.policies.clear();
            s.organizational_units.push(vend::model::OrgUnit {
                id: "ou-a1b2-apps0001".into(),
                name: "Apps".into(),
                parent_id: s.organization.root_id.clone(),
                tags: Tags::new(),
            });
            s.accounts.push(vend::model::Account {
                id: "222222222222".into(),
                name: "member".into(),
                email: "aws+member@example.com".into(),
                state: "ACTIVE".into(),
                parent_id: "ou-a1b2-apps0001".into(),
                tags: Tags::new(),
            });
            s.normalize();
            s
        }
    }
}

// ------------------------------------------------------------------ helpers

pub fn ok(c: &mut dyn Cloud, op: Op) -> Outcome {
    match c.call(&op) {
        Ok(o) => {
            assert!(!o.request_id.is_empty(), "{} returned no request id", op.name());
            o
        }
        Err(e) => panic!("{} should succeed: {e}\n{op:?}", op.name()),
    }
}

/// `op` is turned away with `code` as a rejection to retry after a backoff (nothing changed).
pub fn rejected(c: &mut dyn Cloud, op: Op, code: &str) -> CloudError {
    let before = state(c);
    match c.call(&op) {
        Ok(o) => panic!("{} should be turned away with {code}, returned {o:?}\n{op:?}", op.name()),
        Err(e) => {
            assert_eq!(e.code, code, "{} failed with the wrong code: {e}", op.name());
            assert_eq!(e.kind, ErrorKind::Retryable, "{e}");
            assert_eq!(state(c), before, "a rejected {} changed the state", op.name());
            e
        }
    }
}

pub fn fails(c: &mut dyn Cloud, op: Op, code: &str) -> CloudError {
    let before = state(c);
    match c.call(&op) {
        Ok(o) => panic!("{} should fail with {code}, returned {o:?}\n{op:?}", op.name()),
        Err(e) => {
            assert_eq!(e.code, code, "{} failed with the wrong code: {e}", op.name());
            assert_eq!(e.kind, ErrorKind::Hard, "{e}");
            assert_eq!(state(c), before, "a failed {} changed the state", op.name());
            e
        }
    }
}

pub fn state(c: &mut dyn Cloud) -> State {
    c.read_state().unwrap()
}

pub fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

pub fn ou(s: &State, name: &str) -> String {
    s.organizational_units
        .iter()
        .find(|o| o.name == name)
        .unwrap_or_else(|| panic!("no OU {name}"))
        .id
        .clone()
}

pub fn account(s: &State, name: &str) -> String {
    s.accounts.iter().find(|a| a.name == name).unwrap_or_else(|| panic!("no account {name}")).id.clone()
}

pub fn policy(s: &State, name: &str) -> String {
    s.policies.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("no policy {name}")).id.clone()
}

pub fn targets(s: &State, policy_id: &str) -> Vec<String> {
    s.policies.iter().find(|p| p.id == policy_id).map(|p| p.target_ids.clone()).unwrap_or_default()
}

pub fn scps_on(s: &State, target: &str) -> Vec<String> {
    s.policies.iter().filter(|p| p.target_ids.iter().any(|t| t == target)).map(|p| p.name.clone()).collect()
}

pub fn portfolio(s: &State) -> String {
    s.portfolios[0].id.clone()
}

pub fn product(s: &State) -> String {
    s.products[0].id.clone()
}

pub fn version(s: &State, product_id: &str, name: &str) -> String {
    let p = s.products.iter().find(|p| p.id == product_id).unwrap();
    p.versions.iter().find(|v| v.name == name).unwrap_or_else(|| panic!("no version {name}")).id.clone()
}

const DOC: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#;

pub fn create_policy(c: &mut dyn Cloud, name: &str) -> String {
    ok(c, Op::CreatePolicy { name: name.into(), content: DOC.into(), tags: Tags::new() }).id.unwrap()
}

/// Poll a CreateAccount request until it leaves IN_PROGRESS.
pub fn poll_account(c: &mut dyn Cloud, request_id: &str) -> Outcome {
    for _ in 0..20 {
        let o = ok(c, Op::DescribeCreateAccountStatus { request_id: request_id.into() });
        if o.status.as_deref() != Some("IN_PROGRESS") {
            return o;
        }
    }
    panic!("{request_id} still in progress")
}

pub fn poll_share(c: &mut dyn Cloud, token: &str) -> Outcome {
    for _ in 0..20 {
        let o = ok(c, Op::DescribePortfolioShareStatus { token: token.into() });
        if !matches!(o.status.as_deref(), Some("IN_PROGRESS" | "NOT_STARTED")) {
            return o;
        }
    }
    panic!("share {token} still in progress")
}

pub fn poll_record(c: &mut dyn Cloud, record_id: &str) -> Outcome {
    for _ in 0..20 {
        let o = ok(c, Op::DescribeRecord { record_id: record_id.into() });
        if !matches!(o.status.as_deref(), Some("CREATED" | "IN_PROGRESS" | "IN_PROGRESS_IN_ERROR")) {
            return o;
        }
    }
    panic!("record {record_id} still in progress")
}

/// Create an account and wait for it; returns its id.
pub fn new_account(c: &mut dyn Cloud, name: &str, email: &str, t: Tags) -> String {
    let car = ok(c, Op::CreateAccount { name: name.into(), email: email.into(), tags: t }).id.unwrap();
    let done = poll_account(c, &car);
    assert_eq!(done.status.as_deref(), Some("SUCCEEDED"), "{done:?}");
    done.result.unwrap()
}

pub fn template_url(name: &str) -> String {
    format!("https://vend-templates-111111111111.s3.us-east-1.amazonaws.com/templates/test/{name}.yaml")
}

pub fn put_template(c: &mut dyn Cloud, name: &str) -> String {
    let url = template_url(name);
    // The one parameter `provision` gives.
    let body =
        format!("Description: {name}\nParameters:\n  RepositoryName:\n    Type: String\nResources: {{}}\n");
    ok(c, Op::PutTemplate { url: url.clone(), body });
    url
}

pub fn spec(name: &str, url: &str) -> ArtifactSpec {
    ArtifactSpec {
        name: name.into(),
        description: format!("vend-sha256:{}", "0".repeat(64)),
        template_url: url.into(),
        guidance: "DEFAULT".into(),
    }
}

pub fn new_product(c: &mut dyn Cloud, name: &str, token: &str) -> (String, String) {
    let url = put_template(c, &format!("{name}-v1"));
    let o = ok(
        c,
        Op::CreateProduct {
            name: name.into(),
            owner: "Platform Team".into(),
            description: "test".into(),
            tags: tags(&[("vend:managed", "true")]),
            version: spec("v1", &url),
            token: token.into(),
        },
    );
    (o.id.unwrap(), o.artifact_id.unwrap())
}

pub fn new_portfolio(c: &mut dyn Cloud, name: &str, token: &str) -> String {
    ok(
        c,
        Op::CreatePortfolio {
            name: name.into(),
            description: "test".into(),
            provider: "Platform Team".into(),
            tags: Tags::new(),
            token: token.into(),
        },
    )
    .id
    .unwrap()
}

pub fn provision(account_id: &str, name: &str, product_id: &str, artifact_id: &str, token: &str) -> Op {
    Op::ProvisionProduct {
        account_id: account_id.into(),
        name: name.into(),
        product_id: product_id.into(),
        artifact_id: artifact_id.into(),
        params: BTreeMap::from([("RepositoryName".to_string(), name.to_string())]),
        tags: tags(&[("vend:managed", "true")]),
        token: token.into(),
    }
}

fn is_alnum13(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix)
        .is_some_and(|r| r.len() == 13 && r.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
}

/// What every state a cloud reports must satisfy (format v1 and the AWS invariants).
pub fn invariants(s: &State) {
    assert!(s.is_normalized(), "the state is not normalized");
    let root = &s.organization.root_id;
    let mut at_root: Vec<String> =
        s.policies.iter().filter(|p| p.target_ids.contains(root)).map(|p| p.id.clone()).collect();
    at_root.sort();
    assert_eq!(
        s.organization.root_policy_ids, at_root,
        "root_policy_ids disagree with the policies' targets"
    );
    let is_parent = |id: &str| id == root || s.organizational_units.iter().any(|o| o.id == id);
    for o in &s.organizational_units {
        assert!(is_parent(&o.parent_id), "OU {} has no parent {}", o.id, o.parent_id);
    }
    for a in &s.accounts {
        assert!(is_parent(&a.parent_id), "account {} has no parent {}", a.id, a.parent_id);
    }
    let scp = s.organization.enabled_policy_types.iter().any(|t| t == "SERVICE_CONTROL_POLICY");
    let mut all_targets = vec![root.clone()];
    all_targets.extend(s.organizational_units.iter().map(|o| o.id.clone()));
    all_targets.extend(s.accounts.iter().map(|a| a.id.clone()));
    for p in &s.policies {
        for t in &p.target_ids {
            assert!(all_targets.contains(t), "policy {} targets unknown {t}", p.name);
        }
    }
    for t in &all_targets {
        let n = scps_on(s, t).len();
        if scp {
            assert!((1..=5).contains(&n), "{t} has {n} SCPs attached");
        } else {
            assert_eq!(n, 0, "{t} has SCPs while the type is disabled");
        }
    }
    for pp in &s.provisioned_products {
        let prod = s.products.iter().find(|p| p.id == pp.product_id);
        assert!(prod.is_some_and(|p| p.versions.iter().any(|v| v.id == pp.version_id)), "{} dangles", pp.id);
    }
    for p in &s.products {
        assert!(!p.versions.is_empty(), "product {} has no version", p.id);
    }
}

// ------------------------------------------------------------------ Organizations: accounts

/// CreateAccount is asynchronous: a `car-…` id, IN_PROGRESS until polled.
pub fn create_account_is_asynchronous(c: &mut dyn Cloud, _seed: &State) {
    let o = ok(
        c,
        Op::CreateAccount {
            name: "orders-dev".into(),
            email: "aws+orders-dev@example.com".into(),
            tags: Tags::new(),
        },
    );
    let car = o.id.unwrap();
    let hex = car.strip_prefix("car-").unwrap();
    assert!(hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()), "{car}");
    let s = state(c);
    let r = s.create_account_requests.iter().find(|r| r.id == car).unwrap();
    assert_eq!(
        (r.state.as_str(), r.account_name.as_str(), r.account_id.as_deref()),
        ("IN_PROGRESS", "orders-dev", None)
    );
    assert!(
        !s.accounts.iter().any(|a| a.name == "orders-dev"),
        "the account exists before the request completes"
    );
    let done = poll_account(c, &car);
    assert_eq!(done.status.as_deref(), Some("SUCCEEDED"));
    let id = done.result.unwrap();
    assert!(id.len() == 12 && id.chars().all(|c| c.is_ascii_digit()), "{id}");
    let s = state(c);
    let r = s.create_account_requests.iter().find(|r| r.id == car).unwrap();
    assert_eq!((r.state.as_str(), r.account_id.as_deref()), ("SUCCEEDED", Some(id.as_str())));
    // Polling a finished request keeps answering the same.
    let again = ok(c, Op::DescribeCreateAccountStatus { request_id: car });
    assert_eq!((again.status.as_deref(), again.result.as_deref()), (Some("SUCCEEDED"), Some(id.as_str())));
}

/// New accounts start in the root, ACTIVE, with the given tags and FullAWSAccess attached.
pub fn new_account_in_root_active_tagged_with_full_access(c: &mut dyn Cloud, seed: &State) {
    let t = tags(&[("vend:managed", "true"), ("cost-center", "4711")]);
    let id = new_account(c, "orders-prod", "aws+orders-prod@example.com", t.clone());
    let s = state(c);
    let a = s.accounts.iter().find(|a| a.id == id).unwrap();
    assert_eq!(a.parent_id, seed.organization.root_id);
    assert_eq!(
        (a.state.as_str(), a.name.as_str(), a.email.as_str()),
        ("ACTIVE", "orders-prod", "aws+orders-prod@example.com")
    );
    assert_eq!(a.tags, t);
    assert_eq!(scps_on(&s, &id), vec!["FullAWSAccess".to_string()]);
}

/// Without SCPs enabled, new accounts and OUs get no policy.
pub fn no_scp_no_automatic_attachment(c: &mut dyn Cloud, seed: &State) {
    let id = new_account(c, "orders", "aws+orders@example.com", Tags::new());
    let ou_id = ok(
        c,
        Op::CreateOrganizationalUnit {
            parent_id: seed.organization.root_id.clone(),
            name: "Lab".into(),
            tags: Tags::new(),
        },
    )
    .id
    .unwrap();
    let s = state(c);
    assert!(scps_on(&s, &id).is_empty() && scps_on(&s, &ou_id).is_empty());
}

/// A duplicate e-mail (any case) against an existing account makes the request FAILED.
pub fn duplicate_email_of_existing_account_fails(c: &mut dyn Cloud, seed: &State) {
    let existing =
        &seed.accounts.iter().find(|a| a.id != seed.organization.management_account_id).unwrap().email;
    let shouted = existing.to_ascii_uppercase();
    let car = ok(c, Op::CreateAccount { name: "copy".into(), email: shouted, tags: Tags::new() }).id.unwrap();
    let done = poll_account(c, &car);
    assert_eq!(
        (done.status.as_deref(), done.result.as_deref()),
        (Some("FAILED"), Some("EMAIL_ALREADY_EXISTS"))
    );
    let s = state(c);
    let r = s.create_account_requests.iter().find(|r| r.id == car).unwrap();
    assert_eq!((r.state.as_str(), r.failure_reason.as_deref()), ("FAILED", Some("EMAIL_ALREADY_EXISTS")));
    assert_eq!(s.accounts.len(), seed.accounts.len());
}

/// Sending CreateAccount twice while the first is in flight: the second fails.
pub fn duplicate_email_of_request_in_flight_fails(c: &mut dyn Cloud, seed: &State) {
    let op = |email: &str| Op::CreateAccount { name: "twice".into(), email: email.into(), tags: Tags::new() };
    let first = ok(c, op("aws+twice@example.com")).id.unwrap();
    let second = ok(c, op("AWS+Twice@Example.com")).id.unwrap();
    assert_ne!(first, second);
    let b = poll_account(c, &second);
    let a = poll_account(c, &first);
    assert_eq!(a.status.as_deref(), Some("SUCCEEDED"));
    assert_eq!((b.status.as_deref(), b.result.as_deref()), (Some("FAILED"), Some("EMAIL_ALREADY_EXISTS")));
    assert_eq!(state(c).accounts.len(), seed.accounts.len() + 1);
}

/// At most `limit` account creations in progress at a time (the quotas table: "only five can be
/// in progress at a time"): the next CreateAccount is refused at the call with
/// ConstraintViolationException ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED and creates nothing; once
/// one has finished, a new one is accepted. (The emulator keeps a request IN_PROGRESS only with
/// `create_account_polls` > 0: tests/aws_apply.rs sets it for this case.)
pub fn account_creations_in_progress_limit(c: &mut dyn Cloud, seed: &State) {
    let limit = vend::adapter::aws_rules::limit("organizations.account-creations-in-progress", 5);
    let op = |i: u64| Op::CreateAccount {
        name: format!("wave-{i}"),
        email: format!("aws+wave-{i}@example.com"),
        tags: Tags::new(),
    };
    let cars: Vec<String> = (0..limit).map(|i| ok(c, op(i)).id.unwrap()).collect();
    let s = state(c);
    let in_progress = s.create_account_requests.iter().filter(|r| r.state == "IN_PROGRESS").count();
    assert_eq!(in_progress as u64, limit, "{:?}", s.create_account_requests);
    let e = fails(c, op(limit), "ConstraintViolationException");
    assert!(e.message.contains("ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED"), "{e}");
    // One finishes: the next is accepted, and then every one completes.
    assert_eq!(poll_account(c, &cars[0]).status.as_deref(), Some("SUCCEEDED"));
    let last = ok(c, op(limit)).id.unwrap();
    for car in cars[1..].iter().chain([&last]) {
        assert_eq!(poll_account(c, car).status.as_deref(), Some("SUCCEEDED"));
    }
    assert_eq!(state(c).accounts.len(), seed.accounts.len() + limit as usize + 1);
}

/// Account names at CreateAccount: 1–50 printable ASCII characters (API model:
/// CreateAccountName, length 1–50, pattern `[\u0020-\u007E]+`).
pub fn account_name_rules(c: &mut dyn Cloud, _seed: &State) {
    for name in ["", &"x".repeat(51), "tab\there", "naïve"] {
        fails(
            c,
            Op::CreateAccount { name: name.into(), email: "aws+n@example.com".into(), tags: Tags::new() },
            "InvalidInputException",
        );
    }
    let fifty = "y ~".repeat(16) + "yy";
    assert_eq!(fifty.len(), 50);
    let car =
        ok(c, Op::CreateAccount { name: fifty, email: "aws+fifty@example.com".into(), tags: Tags::new() });
    assert!(car.id.is_some());
}

/// E-mail: 6–64 ASCII characters, one `@`, a dotted domain.
pub fn email_rules(c: &mut dyn Cloud, _seed: &State) {
    let long = format!("{}@example.com", "a".repeat(53));
    assert_eq!(long.len(), 65);
    for email in [
        "a@b.c",
        "no-at.example.com",
        "two@@example.com",
        "a@b@example.com",
        "user@localhost",
        "ünï@example.com",
        "sp ace@example.com",
        &long,
    ] {
        fails(
            c,
            Op::CreateAccount { name: "mail".into(), email: email.into(), tags: Tags::new() },
            "InvalidInputException",
        );
    }
    ok(c, Op::CreateAccount { name: "mail".into(), email: "a@b.co".into(), tags: Tags::new() });
}

/// Tags on CreateAccount are all-or-nothing: one bad tag fails the whole creation.
pub fn create_account_bad_tag_fails_whole_request(c: &mut dyn Cloud, seed: &State) {
    let t = tags(&[("cost-center", "4711"), ("aws:reserved", "x")]);
    fails(
        c,
        Op::CreateAccount { name: "tagged".into(), email: "aws+tagged@example.com".into(), tags: t },
        "InvalidInputException",
    );
    assert_eq!(state(c).create_account_requests.len(), seed.create_account_requests.len());
}

/// MoveAccount needs the right source; a move repeated after a lost response is a duplicate.
pub fn move_account_rules(c: &mut dyn Cloud, seed: &State) {
    let acct = account(seed, "legacy-billing");
    let (workloads, sandbox, dev) = (ou(seed, "Workloads"), ou(seed, "Sandbox"), ou(seed, "dev"));
    let mv = |src: &str, dst: &str| Op::MoveAccount {
        account_id: acct.clone(),
        source_parent_id: src.into(),
        destination_parent_id: dst.into(),
    };
    fails(c, mv(&dev, &sandbox), "SourceParentNotFoundException");
    fails(c, mv("ou-4f2a-zzzzzzzz", &sandbox), "SourceParentNotFoundException");
    fails(c, mv(&workloads, "ou-4f2a-zzzzzzzz"), "DestinationParentNotFoundException");
    fails(c, mv(&workloads, &workloads), "DuplicateAccountException");
    ok(c, mv(&workloads, &sandbox));
    assert_eq!(state(c).accounts.iter().find(|a| a.id == acct).unwrap().parent_id, sandbox);
    // The same call again (a retry after a lost response).
    fails(c, mv(&workloads, &sandbox), "DuplicateAccountException");
    fails(
        c,
        Op::MoveAccount {
            account_id: "999999999999".into(),
            source_parent_id: sandbox.clone(),
            destination_parent_id: dev,
        },
        "AccountNotFoundException",
    );
    ok(c, mv(&sandbox, &seed.organization.root_id));
}

/// CloseAccount: ACTIVE -> SUSPENDED once; never the management account.
pub fn close_account_rules(c: &mut dyn Cloud, seed: &State) {
    let acct = account(seed, "sandbox-bob");
    ok(c, Op::CloseAccount { account_id: acct.clone() });
    let s = state(c);
    let a = s.accounts.iter().find(|a| a.id == acct).unwrap();
    assert_eq!(a.state, "SUSPENDED");
    assert_eq!(a.parent_id, account_parent(seed, &acct), "closing does not move the account");
    fails(c, Op::CloseAccount { account_id: acct }, "AccountAlreadyClosedException");
    fails(
        c,
        Op::CloseAccount { account_id: seed.organization.management_account_id.clone() },
        "ConstraintViolationException",
    );
    fails(c, Op::CloseAccount { account_id: "999999999999".into() }, "AccountNotFoundException");
}

fn account_parent(s: &State, id: &str) -> String {
    s.accounts.iter().find(|a| a.id == id).unwrap().parent_id.clone()
}

/// DescribeCreateAccountStatus of an unknown request.
pub fn unknown_create_account_request(c: &mut dyn Cloud, _seed: &State) {
    fails(
        c,
        Op::DescribeCreateAccountStatus { request_id: format!("car-{}", "0".repeat(32)) },
        "CreateAccountStatusNotFoundException",
    );
}

// ------------------------------------------------------------------ Organizations: OUs

/// CreateOrganizationalUnit: the parent must exist; FullAWSAccess is attached to the new OU.
pub fn create_ou_parent_must_exist_and_gets_full_access(c: &mut dyn Cloud, seed: &State) {
    fails(
        c,
        Op::CreateOrganizationalUnit {
            parent_id: "ou-4f2a-zzzzzzzz".into(),
            name: "x".into(),
            tags: Tags::new(),
        },
        "ParentNotFoundException",
    );
    let t = tags(&[("vend:managed", "true")]);
    let id = ok(
        c,
        Op::CreateOrganizationalUnit {
            parent_id: ou(seed, "Workloads"),
            name: "staging".into(),
            tags: t.clone(),
        },
    )
    .id
    .unwrap();
    let root = seed.organization.root_id.trim_start_matches("r-");
    let suffix = id.strip_prefix(&format!("ou-{root}-")).unwrap_or_else(|| panic!("{id}"));
    assert!(
        suffix.len() == 8 && suffix.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
        "{id}"
    );
    let s = state(c);
    let o = s.organizational_units.iter().find(|o| o.id == id).unwrap();
    assert_eq!(
        (o.name.as_str(), o.parent_id.as_str(), &o.tags),
        ("staging", ou(seed, "Workloads").as_str(), &t)
    );
    assert_eq!(scps_on(&s, &id), vec!["FullAWSAccess".to_string()]);
    fails(
        c,
        Op::CreateOrganizationalUnit {
            parent_id: seed.organization.root_id.clone(),
            name: String::new(),
            tags: Tags::new(),
        },
        "InvalidInputException",
    );
}

/// At most 5 levels of OUs below the root.
pub fn ou_depth_limit(c: &mut dyn Cloud, seed: &State) {
    let mut parent = seed.organization.root_id.clone();
    for level in 1..=5 {
        parent = ok(
            c,
            Op::CreateOrganizationalUnit { parent_id: parent, name: format!("L{level}"), tags: Tags::new() },
        )
        .id
        .unwrap();
    }
    let e = fails(
        c,
        Op::CreateOrganizationalUnit { parent_id: parent, name: "L6".into(), tags: Tags::new() },
        "ConstraintViolationException",
    );
    assert!(e.message.contains("OU_DEPTH_LIMIT_EXCEEDED"), "{e}");
}

/// OU names are unique under one parent (not across parents).
pub fn ou_name_unique_under_parent(c: &mut dyn Cloud, seed: &State) {
    let root = seed.organization.root_id.clone();
    fails(
        c,
        Op::CreateOrganizationalUnit { parent_id: root, name: "Security".into(), tags: Tags::new() },
        "DuplicateOrganizationalUnitException",
    );
    ok(
        c,
        Op::CreateOrganizationalUnit {
            parent_id: ou(seed, "Workloads"),
            name: "Security".into(),
            tags: Tags::new(),
        },
    );
}

/// UpdateOrganizationalUnit renames in place: same id, its accounts, child OUs and SCPs stay;
/// the name is 1-128 characters and unique among its siblings (not across parents); an unknown
/// OU is not found. (Renaming an OU to its own name is left out: the API reference does not say.)
pub fn rename_ou_rules(c: &mut dyn Cloud, seed: &State) {
    let dev = ou(seed, "dev");
    let before = state(c);
    let kids = |s: &State, id: &str| {
        let mut k: Vec<String> = s
            .accounts
            .iter()
            .filter(|a| a.parent_id == id)
            .map(|a| a.id.clone())
            .chain(s.organizational_units.iter().filter(|o| o.parent_id == id).map(|o| o.id.clone()))
            .collect();
        k.sort();
        k
    };
    fails(
        c,
        Op::UpdateOrganizationalUnit { ou_id: dev.clone(), name: "prod".into() },
        "DuplicateOrganizationalUnitException",
    );
    fails(
        c,
        Op::UpdateOrganizationalUnit { ou_id: dev.clone(), name: String::new() },
        "InvalidInputException",
    );
    fails(
        c,
        Op::UpdateOrganizationalUnit { ou_id: dev.clone(), name: "x".repeat(129) },
        "InvalidInputException",
    );
    fails(
        c,
        Op::UpdateOrganizationalUnit { ou_id: "ou-4f2a-zzzzzzzz".into(), name: "nope".into() },
        "OrganizationalUnitNotFoundException",
    );
    // A name used under another parent is free here.
    ok(c, Op::UpdateOrganizationalUnit { ou_id: dev.clone(), name: "Security".into() });
    ok(c, Op::UpdateOrganizationalUnit { ou_id: dev.clone(), name: "x".repeat(128) });
    let out = ok(c, Op::UpdateOrganizationalUnit { ou_id: dev.clone(), name: "development".into() });
    assert_eq!(out.id.as_deref(), Some(dev.as_str()));
    let after = state(c);
    let o = after.organizational_units.iter().find(|o| o.id == dev).expect("same id");
    assert_eq!((o.name.as_str(), o.parent_id.as_str()), ("development", ou(seed, "Workloads").as_str()));
    assert_eq!(o.tags, before.organizational_units.iter().find(|o| o.id == dev).unwrap().tags);
    assert_eq!(kids(&after, &dev), kids(&before, &dev));
    assert!(!kids(&after, &dev).is_empty(), "the demo's dev OU holds accounts");
    assert_eq!(scps_on(&after, &dev), scps_on(&before, &dev));
    assert_eq!(after.organizational_units.len(), before.organizational_units.len());
    // The old name is free again under the parent.
    ok(
        c,
        Op::CreateOrganizationalUnit {
            parent_id: ou(seed, "Workloads"),
            name: "dev".into(),
            tags: Tags::new(),
        },
    );
}

/// DeleteOrganizationalUnit only when the OU holds no account and no OU.
pub fn delete_ou_must_be_empty(c: &mut dyn Cloud, seed: &State) {
    fails(
        c,
        Op::DeleteOrganizationalUnit { ou_id: ou(seed, "Workloads") },
        "OrganizationalUnitNotEmptyException",
    );
    fails(c, Op::DeleteOrganizationalUnit { ou_id: ou(seed, "dev") }, "OrganizationalUnitNotEmptyException");
    let empty = ok(
        c,
        Op::CreateOrganizationalUnit {
            parent_id: ou(seed, "Sandbox"),
            name: "tmp".into(),
            tags: Tags::new(),
        },
    )
    .id
    .unwrap();
    fails(
        c,
        Op::DeleteOrganizationalUnit { ou_id: ou(seed, "Sandbox") },
        "OrganizationalUnitNotEmptyException",
    );
    ok(c, Op::DeleteOrganizationalUnit { ou_id: empty.clone() });
    let s = state(c);
    assert!(!s.organizational_units.iter().any(|o| o.id == empty));
    assert!(scps_on(&s, &empty).is_empty(), "a deleted OU stays a policy target");
    fails(c, Op::DeleteOrganizationalUnit { ou_id: empty }, "OrganizationalUnitNotFoundException");
}

/// A suspended account still keeps its OU non-empty.
pub fn suspended_account_keeps_ou_non_empty(c: &mut dyn Cloud, seed: &State) {
    let lab = ok(
        c,
        Op::CreateOrganizationalUnit {
            parent_id: seed.organization.root_id.clone(),
            name: "lab".into(),
            tags: Tags::new(),
        },
    )
    .id
    .unwrap();
    let acct = account(seed, "sandbox-alice");
    ok(
        c,
        Op::MoveAccount {
            account_id: acct.clone(),
            source_parent_id: ou(seed, "Sandbox"),
            destination_parent_id: lab.clone(),
        },
    );
    ok(c, Op::CloseAccount { account_id: acct });
    fails(c, Op::DeleteOrganizationalUnit { ou_id: lab }, "OrganizationalUnitNotEmptyException");
}

/// TagResource sets (adds or overwrites) tags on OUs, accounts and policies.
pub fn tag_resource_rules(c: &mut dyn Cloud, seed: &State) {
    let w = ou(seed, "Workloads");
    let a = account(seed, "legacy-billing");
    let p = policy(seed, "region-guard");
    for id in [&w, &a, &p] {
        ok(
            c,
            Op::TagResource {
                resource_id: id.clone(),
                tags: tags(&[("vend:managed", "true"), ("tier", "gold")]),
            },
        );
    }
    let s = state(c);
    let ot = &s.organizational_units.iter().find(|o| o.id == w).unwrap().tags;
    assert_eq!(ot.get("tier").map(String::as_str), Some("gold"));
    let at = &s.accounts.iter().find(|x| x.id == a).unwrap().tags;
    assert_eq!(at.get("team").map(String::as_str), Some("finance"), "TagResource removed an existing tag");
    assert_eq!(at.get("vend:managed").map(String::as_str), Some("true"));
    let pt = &s.policies.iter().find(|x| x.id == p).unwrap().tags;
    assert_eq!(pt.get("tier").map(String::as_str), Some("gold"));
    fails(
        c,
        Op::TagResource { resource_id: "ou-4f2a-zzzzzzzz".into(), tags: tags(&[("a", "b")]) },
        "TargetNotFoundException",
    );
    fails(
        c,
        Op::TagResource { resource_id: a.clone(), tags: tags(&[("aws:x", "b")]) },
        "InvalidInputException",
    );
    // At most 50 tags per resource, counting those it has.
    let have = state(c).accounts.iter().find(|x| x.id == a).unwrap().tags.len();
    let more: Tags = (have..50).map(|n| (format!("k{n}"), "v".to_string())).collect();
    ok(c, Op::TagResource { resource_id: a.clone(), tags: more });
    fails(
        c,
        Op::TagResource { resource_id: a.clone(), tags: tags(&[("one-more", "v")]) },
        "ConstraintViolationException",
    );
    // Overwriting an existing key adds nothing.
    ok(c, Op::TagResource { resource_id: a, tags: tags(&[("team", "payments")]) });
}

// ------------------------------------------------------------------ Organizations: SCPs

/// EnablePolicyType: FullAWSAccess then exists and is attached to the root, every OU and account.
pub fn enable_policy_type_attaches_full_access_everywhere(c: &mut dyn Cloud, seed: &State) {
    let root = seed.organization.root_id.clone();
    fails(
        c,
        Op::EnablePolicyType { root_id: "r-zzzz".into(), policy_type: "SERVICE_CONTROL_POLICY".into() },
        "RootNotFoundException",
    );
    ok(c, Op::EnablePolicyType { root_id: root.clone(), policy_type: "SERVICE_CONTROL_POLICY".into() });
    let s = state(c);
    assert!(s.organization.enabled_policy_types.contains(&"SERVICE_CONTROL_POLICY".to_string()));
    let full = s.policies.iter().find(|p| p.name == "FullAWSAccess").expect("FullAWSAccess exists");
    assert!(full.aws_managed);
    let mut expected = vec![root.clone()];
    expected.extend(seed.organizational_units.iter().map(|o| o.id.clone()));
    expected.extend(seed.accounts.iter().map(|a| a.id.clone()));
    expected.sort();
    assert_eq!(full.target_ids, expected);
    assert_eq!(s.organization.root_policy_ids, vec![full.id.clone()]);
    fails(
        c,
        Op::EnablePolicyType { root_id: root, policy_type: "SERVICE_CONTROL_POLICY".into() },
        "PolicyTypeAlreadyEnabledException",
    );
}

/// CreatePolicy needs the SCP type enabled.
pub fn create_policy_needs_scp_enabled(c: &mut dyn Cloud, seed: &State) {
    let op = Op::CreatePolicy { name: "deny-s3".into(), content: DOC.into(), tags: Tags::new() };
    fails(c, op.clone(), "PolicyTypeNotEnabledException");
    ok(
        c,
        Op::EnablePolicyType {
            root_id: seed.organization.root_id.clone(),
            policy_type: "SERVICE_CONTROL_POLICY".into(),
        },
    );
    let id = ok(c, op).id.unwrap();
    let rest = id.strip_prefix("p-").unwrap();
    assert!(rest.len() >= 8 && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{id}");
}

/// Policy names are unique (the AWS-managed FullAWSAccess included).
pub fn create_policy_unique_name(c: &mut dyn Cloud, _seed: &State) {
    for name in ["deny-leave-org", "FullAWSAccess"] {
        fails(
            c,
            Op::CreatePolicy { name: name.into(), content: DOC.into(), tags: Tags::new() },
            "DuplicatePolicyException",
        );
    }
}

/// A policy document is at most 5,120 bytes (as bytes, not characters).
pub fn policy_size_limit_in_bytes(c: &mut dyn Cloud, _seed: &State) {
    let doc = |filler: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{filler}","Effect":"Deny","Action":"s3:*","Resource":"*"}}]}}"#
        )
    };
    let base = doc("").len();
    let exact = doc(&"a".repeat(5120 - base));
    assert_eq!(exact.len(), 5120);
    ok(c, Op::CreatePolicy { name: "exact".into(), content: exact, tags: Tags::new() });
    // AWS: ConstraintViolationException, reason POLICY_CONTENT_LIMIT_EXCEEDED.
    let over = doc(&"a".repeat(5121 - base));
    let e = fails(
        c,
        Op::CreatePolicy { name: "over".into(), content: over, tags: Tags::new() },
        "ConstraintViolationException",
    );
    assert!(e.message.contains("POLICY_CONTENT_LIMIT_EXCEEDED"), "{e}");
    // 2,600 two-byte characters: fewer than 5,120 characters, more than 5,120 bytes.
    let wide = doc(&"é".repeat(2600));
    assert!(wide.chars().count() < 5120 && wide.len() > 5120);
    let e = fails(
        c,
        Op::CreatePolicy { name: "wide".into(), content: wide, tags: Tags::new() },
        "ConstraintViolationException",
    );
    assert!(e.message.contains("POLICY_CONTENT_LIMIT_EXCEEDED"), "{e}");
}

/// A policy document must be JSON of the SCP grammar.
pub fn policy_must_be_json(c: &mut dyn Cloud, seed: &State) {
    fails(
        c,
        Op::CreatePolicy { name: "bad".into(), content: "{not json".into(), tags: Tags::new() },
        "MalformedPolicyDocumentException",
    );
    let id = policy(seed, "region-guard");
    fails(
        c,
        Op::UpdatePolicy { policy_id: id.clone(), content: "[1".into() },
        "MalformedPolicyDocumentException",
    );
    // JSON, but not the SCP grammar (AWS Organizations User Guide, "SCP syntax": Effect is Allow
    // or Deny; a statement names its actions).
    for content in [
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"s3:*","Resource":"*"}]}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Resource":"*"}]}"#,
        r#"{"Version":"2012-10-17","Statement":[]}"#,
    ] {
        fails(
            c,
            Op::CreatePolicy { name: "bad-grammar".into(), content: content.into(), tags: Tags::new() },
            "MalformedPolicyDocumentException",
        );
    }
    ok(c, Op::UpdatePolicy { policy_id: id.clone(), content: DOC.into() });
    assert_eq!(state(c).policies.iter().find(|p| p.id == id).unwrap().content, DOC);
    fails(
        c,
        Op::UpdatePolicy { policy_id: "p-zzzzzzzz".into(), content: DOC.into() },
        "PolicyNotFoundException",
    );
}

/// At most 5 SCPs directly attached to one target.
pub fn attach_at_most_five_per_target(c: &mut dyn Cloud, seed: &State) {
    let root = seed.organization.root_id.clone();
    let have = scps_on(seed, &root).len();
    for n in have..5 {
        let id = create_policy(c, &format!("extra-{n}"));
        ok(c, Op::AttachPolicy { policy_id: id, target_id: root.clone() });
    }
    assert_eq!(scps_on(&state(c), &root).len(), 5);
    let sixth = create_policy(c, "sixth");
    let e = fails(
        c,
        Op::AttachPolicy { policy_id: sixth.clone(), target_id: root },
        "ConstraintViolationException",
    );
    assert!(e.message.contains("LIMIT"), "{e}");
    // Another target still takes it.
    ok(c, Op::AttachPolicy { policy_id: sixth, target_id: ou(seed, "dev") });
}

/// Attaching a policy twice fails; unknown policies and targets are not found.
pub fn attach_twice_fails(c: &mut dyn Cloud, seed: &State) {
    let p = policy(seed, "deny-leave-org");
    fails(
        c,
        Op::AttachPolicy { policy_id: p.clone(), target_id: ou(seed, "Workloads") },
        "DuplicatePolicyAttachmentException",
    );
    fails(
        c,
        Op::AttachPolicy { policy_id: p.clone(), target_id: "ou-4f2a-zzzzzzzz".into() },
        "TargetNotFoundException",
    );
    fails(
        c,
        Op::AttachPolicy { policy_id: "p-zzzzzzzz".into(), target_id: ou(seed, "dev") },
        "PolicyNotFoundException",
    );
    ok(c, Op::AttachPolicy { policy_id: p.clone(), target_id: ou(seed, "dev") });
    assert!(targets(&state(c), &p).contains(&ou(seed, "dev")));
}

/// Detaching what is not attached fails.
pub fn detach_not_attached_fails(c: &mut dyn Cloud, seed: &State) {
    let p = policy(seed, "deny-root-user");
    fails(
        c,
        Op::DetachPolicy { policy_id: p.clone(), target_id: ou(seed, "dev") },
        "PolicyNotAttachedException",
    );
    ok(c, Op::DetachPolicy { policy_id: p.clone(), target_id: ou(seed, "prod") });
    fails(c, Op::DetachPolicy { policy_id: p, target_id: ou(seed, "prod") }, "PolicyNotAttachedException");
}

/// Every target keeps at least one SCP: attach the replacement before detaching FullAWSAccess.
pub fn detach_last_scp_fails(c: &mut dyn Cloud, seed: &State) {
    let acct = account(seed, "data-dev");
    let full = policy(seed, "FullAWSAccess");
    assert_eq!(scps_on(seed, &acct), vec!["FullAWSAccess".to_string()]);
    let e = fails(
        c,
        Op::DetachPolicy { policy_id: full.clone(), target_id: acct.clone() },
        "ConstraintViolationException",
    );
    assert!(e.message.contains("MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED"), "{e}");
    let other = create_policy(c, "replacement");
    ok(c, Op::AttachPolicy { policy_id: other.clone(), target_id: acct.clone() });
    ok(c, Op::DetachPolicy { policy_id: full, target_id: acct.clone() });
    fails(c, Op::DetachPolicy { policy_id: other, target_id: acct }, "ConstraintViolationException");
}

/// Attaching to and detaching from the root keeps `root_policy_ids` in step.
pub fn root_policy_ids_follow_attachments(c: &mut dyn Cloud, seed: &State) {
    let root = seed.organization.root_id.clone();
    let p = create_policy(c, "at-root");
    ok(c, Op::AttachPolicy { policy_id: p.clone(), target_id: root.clone() });
    assert!(state(c).organization.root_policy_ids.contains(&p));
    ok(c, Op::DetachPolicy { policy_id: p.clone(), target_id: root });
    assert!(!state(c).organization.root_policy_ids.contains(&p));
}

/// DeletePolicy fails while the policy is attached anywhere.
pub fn delete_attached_policy_fails(c: &mut dyn Cloud, seed: &State) {
    let p = policy(seed, "region-guard");
    fails(c, Op::DeletePolicy { policy_id: p.clone() }, "PolicyInUseException");
    for t in targets(seed, &p) {
        ok(c, Op::DetachPolicy { policy_id: p.clone(), target_id: t });
    }
    ok(c, Op::DeletePolicy { policy_id: p.clone() });
    assert!(!state(c).policies.iter().any(|x| x.id == p));
    fails(c, Op::DeletePolicy { policy_id: p }, "PolicyNotFoundException");
}

/// The AWS-managed FullAWSAccess cannot be updated or deleted.
pub fn full_access_is_immutable(c: &mut dyn Cloud, seed: &State) {
    let full = policy(seed, "FullAWSAccess");
    fails(c, Op::UpdatePolicy { policy_id: full.clone(), content: DOC.into() }, "InvalidInputException");
    fails(c, Op::DeletePolicy { policy_id: full }, "InvalidInputException");
}

// ------------------------------------------------------------------ S3 + Service Catalog

/// A version's template must have been uploaded before CreateProduct or
/// CreateProvisioningArtifact uses its URL.
pub fn template_must_be_uploaded_first(c: &mut dyn Cloud, seed: &State) {
    let url = template_url("missing");
    let create = |url: &str| Op::CreateProduct {
        name: "late".into(),
        owner: "Platform Team".into(),
        description: String::new(),
        tags: Tags::new(),
        version: spec("v1", url),
        token: "t-late".into(),
    };
    fails(c, create(&url), "InvalidParametersException");
    let prod = product(seed);
    let artifact = |url: &str| Op::CreateProvisioningArtifact {
        product_id: prod.clone(),
        version: spec("v3", url),
        token: "t-v3".into(),
    };
    fails(c, artifact(&url), "InvalidParametersException");
    ok(c, Op::PutTemplate { url: url.clone(), body: "Resources: {}\n".into() });
    ok(c, artifact(&url));
    ok(c, create(&url));
}

/// CreatePortfolio with the same idempotency token returns the same portfolio.
pub fn create_portfolio_token_is_idempotent(c: &mut dyn Cloud, seed: &State) {
    let a = new_portfolio(c, "platform", "tok-1");
    assert!(is_alnum13(&a, "port-"), "{a}");
    let again = new_portfolio(c, "platform", "tok-1");
    assert_eq!(a, again);
    assert_eq!(state(c).portfolios.len(), seed.portfolios.len() + 1);
    let b = new_portfolio(c, "platform", "tok-2");
    assert_ne!(a, b, "portfolio names are not unique in AWS: another token makes another portfolio");
    fails(
        c,
        Op::CreatePortfolio {
            name: "x".into(),
            description: String::new(),
            provider: String::new(),
            tags: Tags::new(),
            token: "tok-3".into(),
        },
        "InvalidParametersException",
    );
}

/// UpdatePortfolio changes description and provider and merges tags.
pub fn update_portfolio_rules(c: &mut dyn Cloud, seed: &State) {
    let p = portfolio(seed);
    ok(
        c,
        Op::UpdatePortfolio {
            portfolio_id: p.clone(),
            description: "new".into(),
            provider: "Platform".into(),
            tags: tags(&[("tier", "1")]),
        },
    );
    let s = state(c);
    let got = s.portfolios.iter().find(|x| x.id == p).unwrap();
    assert_eq!((got.description.as_str(), got.provider.as_str()), ("new", "Platform"));
    assert_eq!(got.tags.get("vend:managed").map(String::as_str), Some("true"));
    assert_eq!(got.tags.get("tier").map(String::as_str), Some("1"));
    fails(
        c,
        Op::UpdatePortfolio {
            portfolio_id: "port-zzzzzzzzzzzzz".into(),
            description: String::new(),
            provider: "x".into(),
            tags: Tags::new(),
        },
        "ResourceNotFoundException",
    );
}

/// DeletePortfolio fails while products, principals, shares or constraints remain.
pub fn delete_portfolio_in_use_fails(c: &mut dyn Cloud, seed: &State) {
    let p = portfolio(seed);
    let prod = product(seed);
    fails(c, Op::DeletePortfolio { portfolio_id: p.clone() }, "ResourceInUseException");
    ok(c, Op::DeleteConstraint { portfolio_id: p.clone(), product_id: prod.clone() });
    ok(c, Op::DisassociateProductFromPortfolio { product_id: prod, portfolio_id: p.clone() });
    fails(c, Op::DeletePortfolio { portfolio_id: p.clone() }, "ResourceInUseException");
    for pr in seed.portfolios[0].principals.clone() {
        ok(
            c,
            Op::DisassociatePrincipalFromPortfolio {
                portfolio_id: p.clone(),
                arn: pr.arn,
                principal_type: pr.principal_type,
            },
        );
    }
    fails(c, Op::DeletePortfolio { portfolio_id: p.clone() }, "ResourceInUseException");
    for sh in seed.portfolios[0].shares.clone() {
        ok(
            c,
            Op::DeletePortfolioShare { portfolio_id: p.clone(), share_type: sh.share_type, value: sh.value },
        );
    }
    ok(c, Op::DeletePortfolio { portfolio_id: p.clone() });
    fails(c, Op::DeletePortfolio { portfolio_id: p }, "ResourceNotFoundException");
}

/// CreateProduct creates the product with its first version; the token is idempotent.
pub fn create_product_with_first_version(c: &mut dyn Cloud, seed: &State) {
    let (prod, pa) = new_product(c, "batch-pipeline", "tok-p");
    assert!(is_alnum13(&prod, "prod-") && is_alnum13(&pa, "pa-"), "{prod} {pa}");
    let (again, pa_again) = new_product(c, "batch-pipeline", "tok-p");
    assert_eq!((prod.as_str(), pa.as_str()), (again.as_str(), pa_again.as_str()));
    let s = state(c);
    assert_eq!(s.products.len(), seed.products.len() + 1);
    let p = s.products.iter().find(|p| p.id == prod).unwrap();
    assert_eq!((p.name.as_str(), p.owner.as_str()), ("batch-pipeline", "Platform Team"));
    assert_eq!(p.versions.len(), 1);
    let v = &p.versions[0];
    assert_eq!(
        (v.id.as_str(), v.name.as_str(), v.active, v.guidance.as_str()),
        (pa.as_str(), "v1", true, "DEFAULT")
    );
    assert_eq!(v.template_url, template_url("batch-pipeline-v1"));
}

/// UpdateProduct changes the owner and merges tags.
pub fn update_product_rules(c: &mut dyn Cloud, seed: &State) {
    let prod = product(seed);
    ok(
        c,
        Op::UpdateProduct {
            product_id: prod.clone(),
            owner: "Delivery".into(),
            tags: tags(&[("tier", "1")]),
        },
    );
    let s = state(c);
    let p = s.products.iter().find(|p| p.id == prod).unwrap();
    assert_eq!(p.owner, "Delivery");
    assert_eq!(p.tags.len(), 2);
    fails(
        c,
        Op::UpdateProduct { product_id: "prod-zzzzzzzzzzzzz".into(), owner: "x".into(), tags: Tags::new() },
        "ResourceNotFoundException",
    );
}

/// CreateProvisioningArtifact: token idempotent, names unique per product, about 100 versions.
pub fn create_artifact_rules(c: &mut dyn Cloud, seed: &State) {
    let prod = product(seed);
    let url = put_template(c, "v3");
    let op = |name: &str, token: &str| Op::CreateProvisioningArtifact {
        product_id: prod.clone(),
        version: spec(name, &url),
        token: token.into(),
    };
    let a = ok(c, op("v3", "tok-v3")).id.unwrap();
    assert!(is_alnum13(&a, "pa-"), "{a}");
    assert_eq!(ok(c, op("v3", "tok-v3")).id.unwrap(), a);
    fails(c, op("v3", "tok-v3-again"), "InvalidParametersException");
    let have = seed.products[0].versions.len() + 1;
    for n in have..100 {
        ok(c, op(&format!("v{}", n + 10), &format!("tok-{n}")));
    }
    assert_eq!(state(c).products.iter().find(|p| p.id == prod).unwrap().versions.len(), 100);
    fails(c, op("v999", "tok-999"), "LimitExceededException");
    fails(
        c,
        Op::CreateProvisioningArtifact {
            product_id: "prod-zzzzzzzzzzzzz".into(),
            version: spec("v1", &url),
            token: "t".into(),
        },
        "ResourceNotFoundException",
    );
}

/// UpdateProvisioningArtifact sets active and guidance, and the description when given (how
/// vend records its content hash on a version it adopts); without one the description stays.
pub fn update_artifact_rules(c: &mut dyn Cloud, seed: &State) {
    let prod = product(seed);
    let v1 = version(seed, &prod, "v1");
    let described =
        |active: bool, guidance: &str, description: Option<String>| Op::UpdateProvisioningArtifact {
            product_id: prod.clone(),
            artifact_id: v1.clone(),
            active,
            guidance: guidance.into(),
            description,
        };
    let up = |active: bool, guidance: &str| described(active, guidance, None);
    let description = |c: &mut dyn Cloud| {
        let s = state(c);
        s.products[0].versions.iter().find(|v| v.id == v1).unwrap().description.clone()
    };
    let original = description(c);
    ok(c, up(true, "DEPRECATED"));
    let s = state(c);
    let v = s.products[0].versions.iter().find(|v| v.id == v1).unwrap();
    assert_eq!((v.active, v.guidance.as_str()), (true, "DEPRECATED"));
    assert_eq!(description(c), original, "no description given: it stays");
    ok(c, described(true, "DEFAULT", Some("vend-sha256:00ff".into())));
    assert_eq!(description(c), "vend-sha256:00ff");
    fails(c, described(true, "DEFAULT", Some("x".repeat(8193))), "InvalidParametersException");
    assert_eq!(description(c), "vend-sha256:00ff", "a refused call changes nothing");
    ok(c, up(false, "DEFAULT"));
    fails(c, up(true, "OBSOLETE"), "InvalidParametersException");
    fails(
        c,
        Op::UpdateProvisioningArtifact {
            product_id: prod,
            artifact_id: "pa-zzzzzzzzzzzzz".into(),
            active: true,
            guidance: "DEFAULT".into(),
            description: None,
        },
        "ResourceNotFoundException",
    );
}

/// DeleteProvisioningArtifact: not while a provisioned product uses it; never the last one.
pub fn delete_artifact_rules(c: &mut dyn Cloud, seed: &State) {
    let prod = product(seed);
    let (v1, v2) = (version(seed, &prod, "v1"), version(seed, &prod, "v2"));
    assert!(seed.provisioned_products.iter().any(|pp| pp.version_id == v2));
    fails(
        c,
        Op::DeleteProvisioningArtifact { product_id: prod.clone(), artifact_id: v2.clone() },
        "ResourceInUseException",
    );
    ok(c, Op::DeleteProvisioningArtifact { product_id: prod.clone(), artifact_id: v1.clone() });
    fails(
        c,
        Op::DeleteProvisioningArtifact { product_id: prod.clone(), artifact_id: v2 },
        "InvalidParametersException",
    );
    fails(
        c,
        Op::DeleteProvisioningArtifact { product_id: prod, artifact_id: v1 },
        "ResourceNotFoundException",
    );
}

/// DeleteProduct fails while the product is in a portfolio.
pub fn delete_product_in_portfolio_fails(c: &mut dyn Cloud, seed: &State) {
    fails(c, Op::DeleteProduct { product_id: product(seed) }, "ResourceInUseException");
    let (prod, _) = new_product(c, "short-lived", "tok-s");
    let p = portfolio(seed);
    ok(c, Op::AssociateProductWithPortfolio { product_id: prod.clone(), portfolio_id: p.clone() });
    fails(c, Op::DeleteProduct { product_id: prod.clone() }, "ResourceInUseException");
    ok(c, Op::DisassociateProductFromPortfolio { product_id: prod.clone(), portfolio_id: p });
    ok(c, Op::DeleteProduct { product_id: prod.clone() });
    fails(c, Op::DeleteProduct { product_id: prod }, "ResourceNotFoundException");
}

/// Associate is idempotent; disassociate fails while a launch constraint for the product
/// exists in that portfolio, and when not associated.
pub fn product_portfolio_association_rules(c: &mut dyn Cloud, seed: &State) {
    let (p, prod) = (portfolio(seed), product(seed));
    ok(c, Op::AssociateProductWithPortfolio { product_id: prod.clone(), portfolio_id: p.clone() });
    assert_eq!(state(c).portfolios[0].product_ids, vec![prod.clone()]);
    fails(
        c,
        Op::DisassociateProductFromPortfolio { product_id: prod.clone(), portfolio_id: p.clone() },
        "ResourceInUseException",
    );
    ok(c, Op::DeleteConstraint { portfolio_id: p.clone(), product_id: prod.clone() });
    ok(c, Op::DisassociateProductFromPortfolio { product_id: prod.clone(), portfolio_id: p.clone() });
    fails(
        c,
        Op::DisassociateProductFromPortfolio { product_id: prod.clone(), portfolio_id: p.clone() },
        "ResourceNotFoundException",
    );
    fails(
        c,
        Op::AssociateProductWithPortfolio { product_id: "prod-zzzzzzzzzzzzz".into(), portfolio_id: p },
        "ResourceNotFoundException",
    );
    fails(
        c,
        Op::AssociateProductWithPortfolio { product_id: prod, portfolio_id: "port-zzzzzzzzzzzzz".into() },
        "ResourceNotFoundException",
    );
}

/// Principals: at most 10 IAM_PATTERN per portfolio; the type must match the ARN; disassociate
/// with the same type and ARN.
pub fn principal_rules(c: &mut dyn Cloud, seed: &State) {
    let p = portfolio(seed);
    let assoc = |arn: &str, t: &str| Op::AssociatePrincipalWithPortfolio {
        portfolio_id: p.clone(),
        arn: arn.into(),
        principal_type: t.into(),
    };
    let have = seed.portfolios[0].principals.iter().filter(|x| x.principal_type == "IAM_PATTERN").count();
    for n in have..10 {
        ok(c, assoc(&format!("arn:aws:iam:::role/Team{n}*"), "IAM_PATTERN"));
    }
    fails(c, assoc("arn:aws:iam:::role/Eleventh*", "IAM_PATTERN"), "LimitExceededException");
    // Associating again what is associated is not an error, and does not count twice.
    ok(c, assoc("arn:aws:iam:::role/Team9*", "IAM_PATTERN"));
    // Full ARNs are not patterns.
    ok(c, assoc("arn:aws:iam::111111111111:role/Admin", "IAM"));
    fails(c, assoc("arn:aws:iam::111111111111:role/Admin2", "IAM_PATTERN"), "InvalidParametersException");
    fails(c, assoc("arn:aws:iam:::role/Pattern*", "IAM"), "InvalidParametersException");
    fails(c, assoc("not-an-arn", "IAM"), "InvalidParametersException");
    let dis = |arn: &str, t: &str| Op::DisassociatePrincipalFromPortfolio {
        portfolio_id: p.clone(),
        arn: arn.into(),
        principal_type: t.into(),
    };
    fails(c, dis("arn:aws:iam::111111111111:role/Admin", "IAM_PATTERN"), "ResourceNotFoundException");
    ok(c, dis("arn:aws:iam::111111111111:role/Admin", "IAM"));
    ok(c, dis("arn:aws:iam:::role/Team9*", "IAM_PATTERN"));
    ok(c, assoc("arn:aws:iam:::role/Tenth*", "IAM_PATTERN"));
    assert_eq!(state(c).portfolios[0].principals.len(), 10);
}

/// CreatePortfolioShare returns a token; the share is IN_PROGRESS until its status is polled.
pub fn portfolio_share_is_asynchronous(c: &mut dyn Cloud, seed: &State) {
    let p = portfolio(seed);
    let sandbox = ou(seed, "Sandbox");
    let o = ok(
        c,
        Op::CreatePortfolioShare {
            portfolio_id: p.clone(),
            share_type: "ORGANIZATIONAL_UNIT".into(),
            value: sandbox.clone(),
            share_principals: false,
        },
    );
    let token = o.id.unwrap();
    let find =
        |s: &State| s.portfolios[0].shares.iter().find(|x| x.value == sandbox).map(|x| x.status.clone());
    assert_eq!(find(&state(c)).as_deref(), Some("IN_PROGRESS"));
    let done = poll_share(c, &token);
    assert_eq!(done.status.as_deref(), Some("COMPLETED"));
    assert_eq!(find(&state(c)).as_deref(), Some("COMPLETED"));
    fails(
        c,
        Op::DescribePortfolioShareStatus { token: "share-zzzzzzzzzzzzz".into() },
        "ResourceNotFoundException",
    );
    ok(
        c,
        Op::DeletePortfolioShare {
            portfolio_id: p.clone(),
            share_type: "ORGANIZATIONAL_UNIT".into(),
            value: sandbox.clone(),
        },
    );
    assert_eq!(find(&state(c)), None);
    fails(
        c,
        Op::DeletePortfolioShare {
            portfolio_id: p,
            share_type: "ORGANIZATIONAL_UNIT".into(),
            value: sandbox,
        },
        "ResourceNotFoundException",
    );
}

/// A share must name an existing OU, account or this organization.
pub fn portfolio_share_target_must_exist(c: &mut dyn Cloud, seed: &State) {
    let p = portfolio(seed);
    let share = |t: &str, v: &str| Op::CreatePortfolioShare {
        portfolio_id: p.clone(),
        share_type: t.into(),
        value: v.into(),
        share_principals: false,
    };
    fails(c, share("ORGANIZATIONAL_UNIT", "ou-4f2a-zzzzzzzz"), "InvalidParametersException");
    fails(c, share("ACCOUNT", "999999999999"), "InvalidParametersException");
    fails(c, share("ORGANIZATION", "o-zzzzzzzzzz"), "InvalidParametersException");
    fails(c, share("EVERYONE", &seed.organization.id), "InvalidParametersException");
    fails(
        c,
        Op::CreatePortfolioShare {
            portfolio_id: "port-zzzzzzzzzzzzz".into(),
            share_type: "ORGANIZATION".into(),
            value: seed.organization.id.clone(),
            share_principals: false,
        },
        "ResourceNotFoundException",
    );
    let org = ok(c, share("ORGANIZATION", &seed.organization.id)).id.unwrap();
    assert_eq!(poll_share(c, &org).status.as_deref(), Some("COMPLETED"));
    // A share with an account has no PortfolioShareToken in AWS: it is listed at once.
    let data_dev = account(seed, "data-dev");
    ok(c, share("ACCOUNT", &data_dev));
    let s = state(c);
    assert!(s.portfolios[0].shares.iter().any(|x| x.share_type == "ACCOUNT" && x.value == data_dev));
}

/// One launch constraint per product per portfolio; the product must be in the portfolio.
pub fn launch_constraint_rules(c: &mut dyn Cloud, seed: &State) {
    let (p, prod) = (portfolio(seed), product(seed));
    let create = |prod: &str, token: &str| Op::CreateConstraint {
        portfolio_id: p.clone(),
        product_id: prod.into(),
        local_role_name: "VendPipelineLaunchRole".into(),
        token: token.into(),
    };
    fails(c, create(&prod, "tok-c1"), "DuplicateResourceException");
    let (other, _) = new_product(c, "other", "tok-o");
    fails(c, create(&other, "tok-c2"), "InvalidParametersException");
    ok(c, Op::AssociateProductWithPortfolio { product_id: other.clone(), portfolio_id: p.clone() });
    ok(c, create(&other, "tok-c3"));
    // The same token again (a retry): the same answer, no duplicate.
    ok(c, create(&other, "tok-c3"));
    let s = state(c);
    let lcs: Vec<_> = s.portfolios[0].launch_constraints.iter().filter(|l| l.product_id == other).collect();
    assert_eq!(lcs.len(), 1);
    assert_eq!(lcs[0].local_role_name, "VendPipelineLaunchRole");
    ok(c, Op::DeleteConstraint { portfolio_id: p.clone(), product_id: other.clone() });
    fails(c, Op::DeleteConstraint { portfolio_id: p, product_id: other }, "ResourceNotFoundException");
}

/// ProvisionProduct returns a record id; the record is IN_PROGRESS until DescribeRecord is
/// polled, then SUCCEEDED with the provisioned product AVAILABLE.
pub fn provision_product_is_asynchronous(c: &mut dyn Cloud, seed: &State) {
    let (prod, acct) = (product(seed), account(seed, "checkout-prod"));
    let v2 = version(seed, &prod, "v2");
    let o = ok(c, provision(&acct, "checkout-api", &prod, &v2, "tok-pp"));
    let rec = o.id.unwrap();
    assert!(is_alnum13(&rec, "rec-"), "{rec}");
    let s = state(c);
    let pp = s.provisioned_products.iter().find(|p| p.name == "checkout-api").unwrap();
    assert!(is_alnum13(&pp.id, "pp-"), "{}", pp.id);
    assert_eq!(
        (pp.account_id.as_str(), pp.version_id.as_str(), pp.status.as_str()),
        (acct.as_str(), v2.as_str(), "UNDER_CHANGE")
    );
    let done = poll_record(c, &rec);
    assert_eq!(done.status.as_deref(), Some("SUCCEEDED"));
    assert_eq!(done.result.as_deref(), Some(pp.id.as_str()));
    let s = state(c);
    let pp = s.provisioned_products.iter().find(|p| p.name == "checkout-api").unwrap();
    assert_eq!(pp.status, "AVAILABLE");
    assert_eq!(pp.params.get("RepositoryName").map(String::as_str), Some("checkout-api"));
    fails(c, Op::DescribeRecord { record_id: "rec-zzzzzzzzzzzzz".into() }, "ResourceNotFoundException");
}

/// Launch parameters meet the version's template (rule servicecatalog.launch-parameters):
/// CloudFormation refuses a parameter the template does not declare and needs a value for each
/// one without a default; an update keeps the values it does not give.
pub fn provision_checks_parameters_against_the_template(c: &mut dyn Cloud, seed: &State) {
    let (prod, acct) = (product(seed), account(seed, "checkout-prod"));
    let url = template_url("params-v9");
    let body = "Parameters:\n  RepositoryName:\n    Type: String\n  Stage:\n    Type: String\n    Default: dev\nResources: {}\n";
    ok(c, Op::PutTemplate { url: url.clone(), body: body.into() });
    let v9 = ok(
        c,
        Op::CreateProvisioningArtifact {
            product_id: prod.clone(),
            version: spec("v9", &url),
            token: "t-v9".into(),
        },
    )
    .id
    .unwrap();
    let params = |kv: &[(&str, &str)]| -> BTreeMap<String, String> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    };
    let launch = |name: &str, kv: &[(&str, &str)], token: &str| Op::ProvisionProduct {
        account_id: acct.clone(),
        name: name.into(),
        product_id: prod.clone(),
        artifact_id: v9.clone(),
        params: params(kv),
        tags: tags(&[("vend:managed", "true")]),
        token: token.into(),
    };
    fails(
        c,
        launch("p1", &[("RepositoryName", "p1"), ("DeployRegion", "eu-west-1")], "t-p1"),
        "InvalidParametersException",
    );
    fails(c, launch("p2", &[("Stage", "prod")], "t-p2"), "InvalidParametersException");
    let rec = ok(c, launch("p3", &[("RepositoryName", "p3")], "t-p3")).id.unwrap();
    assert_eq!(poll_record(c, &rec).status.as_deref(), Some("SUCCEEDED"));
    let pp = state(c).provisioned_products.iter().find(|p| p.name == "p3").unwrap().id.clone();
    let update = |kv: &[(&str, &str)], token: &str| Op::UpdateProvisionedProduct {
        provisioned_product_id: pp.clone(),
        artifact_id: v9.clone(),
        params: params(kv),
        token: token.into(),
    };
    fails(c, update(&[("DeployRegion", "eu-west-1")], "t-u1"), "InvalidParametersException");
    // RepositoryName is kept from the launch.
    let rec = ok(c, update(&[("Stage", "prod")], "t-u2")).id.unwrap();
    assert_eq!(poll_record(c, &rec).status.as_deref(), Some("SUCCEEDED"));
}

/// The ProvisionProduct token is idempotent; names are unique per account.
pub fn provision_token_idempotent_and_name_unique(c: &mut dyn Cloud, seed: &State) {
    let (prod, acct) = (product(seed), account(seed, "checkout-prod"));
    let v2 = version(seed, &prod, "v2");
    let a = ok(c, provision(&acct, "svc", &prod, &v2, "tok-1")).id.unwrap();
    let b = ok(c, provision(&acct, "svc", &prod, &v2, "tok-1")).id.unwrap();
    assert_eq!(a, b);
    assert_eq!(state(c).provisioned_products.len(), seed.provisioned_products.len() + 1);
    poll_record(c, &a);
    fails(c, provision(&acct, "svc", &prod, &v2, "tok-2"), "DuplicateResourceException");
    // The same name in another account is fine.
    let other = account(seed, "search-prod");
    give_launch_role(c, &other);
    let r = ok(c, provision(&other, "svc", &prod, &v2, "tok-3")).id.unwrap();
    assert_eq!(poll_record(c, &r).status.as_deref(), Some("SUCCEEDED"));
    fails(c, provision(&acct, "bad name!", &prod, &v2, "tok-4"), "InvalidParametersException");
}

/// The product must reach the account through a share (OU chain, organization, account), or
/// the account is the management account.
pub fn provision_needs_a_launch_path(c: &mut dyn Cloud, seed: &State) {
    let (p, prod) = (portfolio(seed), product(seed));
    let v2 = version(seed, &prod, "v2");
    let sandbox_acct = account(seed, "sandbox-alice");
    fails(c, provision(&sandbox_acct, "x", &prod, &v2, "t1"), "ResourceNotFoundException");
    // The management account launches from its own portfolios.
    let mgmt = seed.organization.management_account_id.clone();
    let r = ok(c, provision(&mgmt, "x", &prod, &v2, "t2")).id.unwrap();
    poll_record(c, &r);
    // A share to the account itself, once completed.
    let token = ok(
        c,
        Op::CreatePortfolioShare {
            portfolio_id: p.clone(),
            share_type: "ACCOUNT".into(),
            value: sandbox_acct.clone(),
            share_principals: false,
        },
    )
    .id
    .unwrap();
    fails(c, provision(&sandbox_acct, "x", &prod, &v2, "t3"), "ResourceNotFoundException");
    poll_share(c, &token);
    // Completed, the account share is a launch path, but vend's role there has no access: the
    // portfolio's IAM_PATTERN principals do not travel with an account share (issue 14).
    fails(c, provision(&sandbox_acct, "x", &prod, &v2, "t4"), "ResourceNotFoundException");
    // A share to the organization reaches every account — and vend's role, through the
    // portfolio's `role/OrganizationAccountAccessRole` pattern, once principal sharing is on.
    let data = account(seed, "data-dev");
    fails(c, provision(&data, "y", &prod, &v2, "t5"), "ResourceNotFoundException");
    let org = seed.organization.id.clone();
    let token = ok(
        c,
        Op::CreatePortfolioShare {
            portfolio_id: p.clone(),
            share_type: "ORGANIZATION".into(),
            value: org.clone(),
            share_principals: false,
        },
    )
    .id
    .unwrap();
    poll_share(c, &token);
    fails(c, provision(&data, "y", &prod, &v2, "t6"), "ResourceNotFoundException");
    let token = ok(
        c,
        Op::UpdatePortfolioShare {
            portfolio_id: p,
            share_type: "ORGANIZATION".into(),
            value: org,
            share_principals: true,
        },
    )
    .id
    .unwrap();
    poll_share(c, &token);
    give_launch_role(c, &data);
    ok(c, provision(&data, "y", &prod, &v2, "t7"));
    // A product in no portfolio cannot be launched even from the management account.
    let (lonely, pa) = new_product(c, "lonely", "tok-l");
    fails(c, provision(&mgmt, "z", &lonely, &pa, "t8"), "ResourceNotFoundException");
}

/// ProvisionProduct in a member account as vend's member role (issue 14): the product must
/// reach the account through a share (`servicecatalog.launch-path`), and the role must match an
/// IAM_PATTERN principal of the portfolio shared there with principal sharing on
/// (`servicecatalog.launch-principal`) — an account share, or an OU share with principal sharing
/// off, gives no access. Both answer ResourceNotFoundException ("No launch paths found").
pub fn member_launch_needs_principal_access(c: &mut dyn Cloud, seed: &State) {
    let (p, prod) = (portfolio(seed), product(seed));
    let v2 = version(seed, &prod, "v2");
    let (alice, checkout) = (account(seed, "sandbox-alice"), account(seed, "checkout-prod"));
    let workloads = ou(seed, "Workloads");
    fails(c, provision(&alice, "x", &prod, &v2, "t1"), "ResourceNotFoundException");
    let share = ok(
        c,
        Op::CreatePortfolioShare {
            portfolio_id: p.clone(),
            share_type: "ACCOUNT".into(),
            value: alice.clone(),
            share_principals: false,
        },
    );
    // Completed once polled here; AwsCloud reports an account share COMPLETED at once, with no
    // request behind the poll.
    c.call(&Op::DescribePortfolioShareStatus { token: share.id.unwrap() }).unwrap();
    fails(c, provision(&alice, "x", &prod, &v2, "t2"), "ResourceNotFoundException");
    // The demo's Workloads share carries principal sharing and the role's pattern.
    let r = ok(c, provision(&checkout, "m1", &prod, &v2, "t3")).id.unwrap();
    poll_record(c, &r);
    let update = |on: bool| Op::UpdatePortfolioShare {
        portfolio_id: p.clone(),
        share_type: "ORGANIZATIONAL_UNIT".into(),
        value: workloads.clone(),
        share_principals: on,
    };
    let token = ok(c, update(false)).id.unwrap();
    poll_share(c, &token);
    fails(c, provision(&checkout, "m2", &prod, &v2, "t4"), "ResourceNotFoundException");
    let token = ok(c, update(true)).id.unwrap();
    poll_share(c, &token);
    let r = ok(c, provision(&checkout, "m2", &prod, &v2, "t5")).id.unwrap();
    poll_record(c, &r);
}

/// The account must exist and be ACTIVE.
pub fn provision_needs_an_active_account(c: &mut dyn Cloud, seed: &State) {
    let prod = product(seed);
    let v2 = version(seed, &prod, "v2");
    fails(c, provision("999999999999", "x", &prod, &v2, "t1"), "ResourceNotFoundException");
    let acct = account(seed, "checkout-dev");
    ok(c, Op::CloseAccount { account_id: acct.clone() });
    fails(c, provision(&acct, "x", &prod, &v2, "t2"), "InvalidParametersException");
}

/// No new launches of a DEPRECATED or inactive version; existing products may still update to
/// a deprecated one.
pub fn deprecated_version_no_new_launch_but_update(c: &mut dyn Cloud, seed: &State) {
    let prod = product(seed);
    let (v1, v2) = (version(seed, &prod, "v1"), version(seed, &prod, "v2"));
    let acct = account(seed, "checkout-prod");
    let up = |id: &str, active: bool, g: &str| Op::UpdateProvisioningArtifact {
        product_id: prod.clone(),
        artifact_id: id.into(),
        active,
        guidance: g.into(),
        description: None,
    };
    ok(c, up(&v1, true, "DEPRECATED"));
    fails(c, provision(&acct, "old", &prod, &v1, "t1"), "InvalidParametersException");
    let pp = seed.provisioned_products[0].id.clone();
    let update = |artifact: &str, token: &str| Op::UpdateProvisionedProduct {
        provisioned_product_id: pp.clone(),
        artifact_id: artifact.into(),
        params: BTreeMap::from([("RepositoryName".to_string(), "payments-api".to_string())]),
        token: token.into(),
    };
    let r = ok(c, update(&v1, "u1")).id.unwrap();
    assert_eq!(state(c).provisioned_products[0].status, "UNDER_CHANGE");
    // UpdateProvisionedProduct's errors (API reference): InvalidParameters, ResourceNotFound.
    fails(c, update(&v2, "u2"), "InvalidParametersException");
    assert_eq!(poll_record(c, &r).status.as_deref(), Some("SUCCEEDED"));
    let s = state(c);
    assert_eq!(
        (s.provisioned_products[0].version_id.as_str(), s.provisioned_products[0].status.as_str()),
        (v1.as_str(), "AVAILABLE")
    );
    // The update's parameter (a CloudFormation stack also reports its template's defaults).
    assert_eq!(
        s.provisioned_products[0].params.get("RepositoryName").map(String::as_str),
        Some("payments-api")
    );
    ok(c, up(&v2, false, "DEFAULT"));
    fails(c, provision(&acct, "new", &prod, &v2, "t2"), "InvalidParametersException");
    fails(c, update(&v2, "u3"), "InvalidParametersException");
    fails(
        c,
        Op::UpdateProvisionedProduct {
            provisioned_product_id: "pp-zzzzzzzzzzzzz".into(),
            artifact_id: v1,
            params: BTreeMap::new(),
            token: "u4".into(),
        },
        "ResourceNotFoundException",
    );
}

/// TerminateProvisionedProduct: a record; the provisioned product is gone once it completes.
pub fn terminate_provisioned_product(c: &mut dyn Cloud, seed: &State) {
    let pp = seed.provisioned_products[0].id.clone();
    let op = Op::TerminateProvisionedProduct { provisioned_product_id: pp.clone(), token: "tok-t".into() };
    let r = ok(c, op.clone()).id.unwrap();
    assert_eq!(ok(c, op).id.unwrap(), r, "the token is idempotent");
    assert_eq!(state(c).provisioned_products[0].status, "UNDER_CHANGE");
    assert_eq!(poll_record(c, &r).status.as_deref(), Some("SUCCEEDED"));
    assert!(state(c).provisioned_products.is_empty());
    fails(
        c,
        Op::TerminateProvisionedProduct { provisioned_product_id: pp, token: "tok-t2".into() },
        "ResourceNotFoundException",
    );
    // The version it used can go now.
    let prod = product(seed);
    ok(
        c,
        Op::DeleteProvisioningArtifact { product_id: prod.clone(), artifact_id: version(seed, &prod, "v2") },
    );
}

/// Unknown ids give the matching NotFound error.
pub fn unknown_ids_are_not_found(c: &mut dyn Cloud, seed: &State) {
    let p = portfolio(seed);
    let cases: Vec<(Op, &str)> = vec![
        (
            Op::DeleteOrganizationalUnit { ou_id: "ou-4f2a-zzzzzzzz".into() },
            "OrganizationalUnitNotFoundException",
        ),
        (Op::CloseAccount { account_id: "999999999999".into() }, "AccountNotFoundException"),
        (
            Op::DetachPolicy { policy_id: "p-zzzzzzzz".into(), target_id: seed.organization.root_id.clone() },
            "PolicyNotFoundException",
        ),
        (Op::DeletePortfolio { portfolio_id: "port-zzzzzzzzzzzzz".into() }, "ResourceNotFoundException"),
        (Op::DeleteProduct { product_id: "prod-zzzzzzzzzzzzz".into() }, "ResourceNotFoundException"),
        (
            Op::DeleteConstraint { portfolio_id: "port-zzzzzzzzzzzzz".into(), product_id: product(seed) },
            "ResourceNotFoundException",
        ),
        (
            Op::DeletePortfolioShare {
                portfolio_id: p.clone(),
                share_type: "ACCOUNT".into(),
                value: "999999999999".into(),
            },
            "ResourceNotFoundException",
        ),
        (
            Op::DisassociatePrincipalFromPortfolio {
                portfolio_id: p,
                arn: "arn:aws:iam:::role/Nobody*".into(),
                principal_type: "IAM_PATTERN".into(),
            },
            "ResourceNotFoundException",
        ),
        (
            Op::TerminateProvisionedProduct {
                provisioned_product_id: "pp-zzzzzzzzzzzzz".into(),
                token: "t".into(),
            },
            "ResourceNotFoundException",
        ),
        (Op::DescribeRecord { record_id: "rec-zzzzzzzzzzzzz".into() }, "ResourceNotFoundException"),
    ];
    for (op, code) in cases {
        fails(c, op, code);
    }
}

/// Minted ids have the AWS shapes and never collide with existing ones.
pub fn minted_ids_have_aws_shapes_and_are_unique(c: &mut dyn Cloud, seed: &State) {
    let mut ids = vec![];
    for n in 0..20 {
        ids.push(
            ok(
                c,
                Op::CreateOrganizationalUnit {
                    parent_id: seed.organization.root_id.clone(),
                    name: format!("u{n}"),
                    tags: Tags::new(),
                },
            )
            .id
            .unwrap(),
        );
        ids.push(create_policy(c, &format!("p{n}")));
        ids.push(new_account(c, &format!("a{n}"), &format!("aws+a{n}@example.com"), Tags::new()));
    }
    let s = state(c);
    let mut all: Vec<String> = s.organizational_units.iter().map(|o| o.id.clone()).collect();
    all.extend(s.policies.iter().map(|p| p.id.clone()));
    all.extend(s.accounts.iter().map(|a| a.id.clone()));
    all.extend(s.create_account_requests.iter().map(|r| r.id.clone()));
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "an id was minted twice");
    // Every new OU, policy and account is listed (finished creation requests may or may not be:
    // the AWS backend lists only those in progress or failed).
    assert_eq!(
        n - s.create_account_requests.len(),
        seed.organizational_units.len() + seed.policies.len() + seed.accounts.len() + 60
    );
}

/// CreatePolicy: a name is 1 to 128 characters.
pub fn policy_name_rules(c: &mut dyn Cloud, _seed: &State) {
    let op = |name: String| Op::CreatePolicy { name, content: DOC.into(), tags: Tags::new() };
    fails(c, op(String::new()), "InvalidInputException");
    fails(c, op("p".repeat(129)), "InvalidInputException");
    ok(c, op("p".repeat(128)));
}

/// EnablePolicyType: the policy type must be one Organizations knows.
pub fn enable_unknown_policy_type_fails(c: &mut dyn Cloud, seed: &State) {
    let op = Op::EnablePolicyType {
        root_id: seed.organization.root_id.clone(),
        policy_type: "NOT_A_POLICY_TYPE".into(),
    };
    fails(c, op, "InvalidInputException");
}

/// PutTemplate: a template goes to an S3 object URL.
pub fn template_url_must_be_s3(c: &mut dyn Cloud, _seed: &State) {
    fails(
        c,
        Op::PutTemplate { url: "ftp://example.com/t.yaml".into(), body: "Resources: {}\n".into() },
        "InvalidArgument",
    );
}

/// The template bucket (issue 14): an upload to, or a setting on, a bucket that does not exist
/// is refused (NoSuchBucket); a bucket name follows S3's naming rules; re-creating a bucket the
/// caller owns answers 200 OK in us-east-1 and BucketAlreadyOwnedByYou elsewhere.
pub fn template_bucket_rules(c: &mut dyn Cloud, _seed: &State) {
    let bucket = "vend-templates-222222222222";
    let url = format!("https://{bucket}.s3.us-east-1.amazonaws.com/templates/test/t.yaml");
    let put = |url: &str| Op::PutTemplate { url: url.into(), body: "Resources: {}\n".into() };
    fails(c, put(&url), "NoSuchBucket");
    fails(c, Op::PutBucketVersioning { bucket: bucket.into() }, "NoSuchBucket");
    fails(
        c,
        Op::PutBucketTagging { bucket: bucket.into(), tags: tags(&[("vend:managed", "true")]) },
        "NoSuchBucket",
    );
    for bad in
        ["Vend_Templates", "ab", "vend..templates", "192.168.5.4", "xn--vend-templates", "vend-templates-"]
    {
        fails(c, Op::CreateBucket { bucket: bad.into(), region: "us-east-1".into() }, "InvalidBucketName");
    }
    ok(c, Op::CreateBucket { bucket: bucket.into(), region: "us-east-1".into() });
    ok(c, Op::PutBucketTagging { bucket: bucket.into(), tags: tags(&[("vend:managed", "true")]) });
    ok(c, Op::PutPublicAccessBlock { bucket: bucket.into() });
    ok(c, Op::PutBucketEncryption { bucket: bucket.into(), algorithm: "AES256".into() });
    ok(c, Op::PutBucketVersioning { bucket: bucket.into() });
    ok(c, put(&url));
    // us-east-1's legacy answer to re-creating one's own bucket.
    ok(c, Op::CreateBucket { bucket: bucket.into(), region: "us-east-1".into() });
    let elsewhere = "vend-templates-333333333333";
    ok(c, Op::CreateBucket { bucket: elsewhere.into(), region: "eu-west-1".into() });
    fails(
        c,
        Op::CreateBucket { bucket: elsewhere.into(), region: "eu-west-1".into() },
        "BucketAlreadyOwnedByYou",
    );
}

/// Shares to an OU or the organization need Service Catalog's AWS Organizations access
/// (InvalidStateException before it is enabled); an account share does not. Enabling it is
/// reported by GetAWSOrganizationsAccessStatus.
pub fn organization_share_needs_catalog_access(c: &mut dyn Cloud, seed: &State) {
    let status = |c: &mut dyn Cloud| ok(c, Op::GetAwsOrganizationsAccessStatus {}).status.unwrap_or_default();
    assert_eq!(status(c), "DISABLED");
    let portfolio = new_portfolio(c, "platform", "tok-share");
    let apps = ou(seed, "Apps");
    let share = |share_type: &str, value: &str| Op::CreatePortfolioShare {
        portfolio_id: portfolio.clone(),
        share_type: share_type.into(),
        value: value.into(),
        share_principals: false,
    };
    fails(c, share("ORGANIZATIONAL_UNIT", &apps), "InvalidStateException");
    fails(c, share("ORGANIZATION", &seed.organization.id), "InvalidStateException");
    ok(c, share("ACCOUNT", &account(seed, "member")));
    ok(c, Op::EnableAwsOrganizationsAccess {});
    assert_eq!(status(c), "ENABLED");
    ok(c, share("ORGANIZATIONAL_UNIT", &apps));
}

/// Principal sharing (`SharePrincipals`) is switched on an existing organization or OU share
/// with UpdatePortfolioShare (asynchronous, a token to poll) and reported by the share; it is
/// refused on an account share, on a share still being created, and on a share that does not
/// exist.
pub fn share_principals_rules(c: &mut dyn Cloud, seed: &State) {
    let p = portfolio(seed);
    let (workloads, sandbox) = (ou(seed, "Workloads"), ou(seed, "Sandbox"));
    let update = |value: &str, on: bool| Op::UpdatePortfolioShare {
        portfolio_id: p.clone(),
        share_type: "ORGANIZATIONAL_UNIT".into(),
        value: value.into(),
        share_principals: on,
    };
    let on = |s: &State, value: &str| {
        s.portfolios
            .iter()
            .find(|x| x.id == p)
            .and_then(|x| x.shares.iter().find(|s| s.value == value))
            .map(|s| s.share_principals)
    };
    // The demo's Workloads share has it on; off, then on again.
    assert_eq!(on(&state(c), &workloads), Some(true));
    let token = ok(c, update(&workloads, false)).id.unwrap();
    assert_eq!(poll_share(c, &token).status.as_deref(), Some("COMPLETED"));
    assert_eq!(on(&state(c), &workloads), Some(false));
    let token = ok(c, update(&workloads, true)).id.unwrap();
    assert_eq!(poll_share(c, &token).status.as_deref(), Some("COMPLETED"));
    assert_eq!(on(&state(c), &workloads), Some(true));
    let member = account(seed, "checkout-prod");
    fails(
        c,
        Op::CreatePortfolioShare {
            portfolio_id: p.clone(),
            share_type: "ACCOUNT".into(),
            value: member.clone(),
            share_principals: true,
        },
        "InvalidParametersException",
    );
    let creating = ok(
        c,
        Op::CreatePortfolioShare {
            portfolio_id: p.clone(),
            share_type: "ORGANIZATIONAL_UNIT".into(),
            value: sandbox.clone(),
            share_principals: false,
        },
    )
    .id
    .unwrap();
    fails(c, update(&sandbox, true), "InvalidStateException");
    poll_share(c, &creating);
    let token = ok(c, update(&sandbox, true)).id.unwrap();
    poll_share(c, &token);
    assert_eq!(on(&state(c), &sandbox), Some(true));
    fails(
        c,
        Op::UpdatePortfolioShare {
            portfolio_id: p.clone(),
            share_type: "ACCOUNT".into(),
            value: member,
            share_principals: false,
        },
        "ResourceNotFoundException",
    );
}

/// Service Catalog tags: the allowed characters, at most 20 per resource.
pub fn catalog_tag_rules(c: &mut dyn Cloud, _seed: &State) {
    let create = |t: Tags, token: &str| Op::CreatePortfolio {
        name: "tagged".into(),
        description: "test".into(),
        provider: "Platform Team".into(),
        tags: t,
        token: token.into(),
    };
    fails(c, create(tags(&[("bad#key", "x")]), "tok-t1"), "InvalidParametersException");
    fails(c, create(tags(&[("k", &"v".repeat(257))]), "tok-t2"), "InvalidParametersException");
    let many: Tags = (0..21).map(|i| (format!("k{i}"), "v".to_string())).collect();
    fails(c, create(many, "tok-t3"), "LimitExceededException");
    let twenty: Tags = (0..20).map(|i| (format!("k{i}"), "v".to_string())).collect();
    ok(c, create(twenty, "tok-t4"));
}

/// CreateProduct: a name and an owner of 1 to 8,191 characters.
pub fn product_field_rules(c: &mut dyn Cloud, _seed: &State) {
    let url = put_template(c, "fields-v1");
    let create = |name: String, owner: String, token: &str| Op::CreateProduct {
        name,
        owner,
        description: "test".into(),
        tags: Tags::new(),
        version: spec("v1", &url),
        token: token.into(),
    };
    fails(c, create(String::new(), "Platform Team".into(), "tok-f1"), "InvalidParametersException");
    fails(c, create("fields".into(), String::new(), "tok-f2"), "InvalidParametersException");
    fails(c, create("fields".into(), "o".repeat(8192), "tok-f3"), "InvalidParametersException");
    ok(c, create("fields".into(), "Platform Team".into(), "tok-f4"));
}

/// CreateConstraint: a launch constraint's LocalRoleName is an IAM role name.
pub fn launch_constraint_role_name(c: &mut dyn Cloud, seed: &State) {
    let op = Op::CreateConstraint {
        portfolio_id: portfolio(seed),
        product_id: product(seed),
        local_role_name: "not a role!".into(),
        token: "tok-r1".into(),
    };
    fails(c, op, "InvalidParametersException");
}

/// CreateConstraint: one launch constraint per product per portfolio (the demo's product has one).
pub fn launch_constraint_once_per_product(c: &mut dyn Cloud, seed: &State) {
    let op = Op::CreateConstraint {
        portfolio_id: portfolio(seed),
        product_id: product(seed),
        local_role_name: "VendPipelineLaunchRole".into(),
        token: "tok-once".into(),
    };
    fails(c, op, "DuplicateResourceException");
}

/// TerminateProvisionedProduct: not while the product is under change.
pub fn terminate_under_change_fails(c: &mut dyn Cloud, seed: &State) {
    let (prod, acct) = (product(seed), account(seed, "checkout-prod"));
    let v2 = version(seed, &prod, "v2");
    let rec = ok(c, provision(&acct, "busy", &prod, &v2, "tok-b1")).id.unwrap();
    let pp = state(c).provisioned_products.iter().find(|p| p.name == "busy").unwrap().id.clone();
    let terminate = |token: &str| Op::TerminateProvisionedProduct {
        provisioned_product_id: pp.clone(),
        token: token.into(),
    };
    fails(c, terminate("tok-b2"), "InvalidStateException");
    assert_eq!(poll_record(c, &rec).status.as_deref(), Some("SUCCEEDED"));
    let r = ok(c, terminate("tok-b3")).id.unwrap();
    assert_eq!(poll_record(c, &r).status.as_deref(), Some("SUCCEEDED"));
}

/// The demo's launch role, created in `account` as vend creates it (trusted by Service Catalog,
/// tagged, with an inline policy): what a launch there needs (`servicecatalog.launch-role`).
pub fn give_launch_role(c: &mut dyn Cloud, account: &str) {
    ok(
        c,
        Op::CreateRole {
            account_id: account.into(),
            name: LAUNCH_ROLE.into(),
            trust_policy: vend::model::LAUNCH_ROLE_TRUST.into(),
            tags: tags(&[("vend:managed", "true")]),
        },
    );
    ok(
        c,
        Op::PutRolePolicy {
            account_id: account.into(),
            name: LAUNCH_ROLE.into(),
            policy_name: vend::model::LAUNCH_ROLE_POLICY.into(),
            document: LAUNCH_POLICY.into(),
        },
    );
}

const LAUNCH_ROLE: &str = "VendPipelineLaunchRole";
const LAUNCH_POLICY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"cloudformation:*","Resource":"*"}]}"#;

/// Launch roles (issue 14). A launch constraint's LocalRoleName must name a role of the account
/// the constraint is created in (`servicecatalog.constraint-role-exists`), and Service Catalog
/// assumes the role of that name in the account it launches or updates in, so the role must
/// exist there and trust Service Catalog (`servicecatalog.launch-role`). IAM: role names are
/// unique per account (`iam.role-unique`) and shaped (`iam.role-name`), the role and its
/// inline policy must exist to be changed or deleted (`iam.role-exists`), a role goes only once
/// its inline policies are gone (`iam.delete-role-policies-first`), and a permission policy is
/// one IAM parses (`iam.policy-document`).
pub fn launch_roles_in_member_accounts(c: &mut dyn Cloud, seed: &State) {
    let (p, prod) = (portfolio(seed), product(seed));
    let v2 = version(seed, &prod, "v2");
    let search = account(seed, "search-prod");
    // A constraint naming a role the management account lacks.
    let (other, _) = new_product(c, "other", "tok-o");
    ok(c, Op::AssociateProductWithPortfolio { product_id: other.clone(), portfolio_id: p.clone() });
    let constraint = |role: &str, token: &str| Op::CreateConstraint {
        portfolio_id: p.clone(),
        product_id: other.clone(),
        local_role_name: role.into(),
        token: token.into(),
    };
    fails(c, constraint("NoSuchLaunchRole", "tok-c1"), "InvalidParametersException");
    // search-prod is under Workloads (shared, principal sharing on) but has no launch role.
    fails(c, provision(&search, "p1", &prod, &v2, "t1"), "InvalidParametersException");
    let role = |name: &str, trust: &str| Op::CreateRole {
        account_id: search.clone(),
        name: name.into(),
        trust_policy: trust.into(),
        tags: tags(&[("vend:managed", "true")]),
    };
    fails(c, role("not a role!", vend::model::LAUNCH_ROLE_TRUST), "ValidationError");
    // A role Service Catalog may not assume is no launch role.
    let ec2 = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    ok(c, role(LAUNCH_ROLE, ec2));
    fails(c, role(LAUNCH_ROLE, ec2), "EntityAlreadyExists");
    fails(c, provision(&search, "p1", &prod, &v2, "t2"), "InvalidParametersException");
    ok(
        c,
        Op::UpdateAssumeRolePolicy {
            account_id: search.clone(),
            name: LAUNCH_ROLE.into(),
            trust_policy: vend::model::LAUNCH_ROLE_TRUST.into(),
        },
    );
    let put = |doc: &str| Op::PutRolePolicy {
        account_id: search.clone(),
        name: LAUNCH_ROLE.into(),
        policy_name: vend::model::LAUNCH_ROLE_POLICY.into(),
        document: doc.into(),
    };
    fails(c, put("{not json"), "MalformedPolicyDocument");
    ok(c, put(LAUNCH_POLICY));
    let r = ok(c, provision(&search, "p1", &prod, &v2, "t3")).id.unwrap();
    assert_eq!(poll_record(c, &r).status.as_deref(), Some("SUCCEEDED"));
    // The role exists in the management account too (the demo's): the constraint is created.
    ok(c, constraint(LAUNCH_ROLE, "tok-c2"));
    // Deleting: the inline policy first.
    let delete = Op::DeleteRole { account_id: search.clone(), name: LAUNCH_ROLE.into() };
    fails(c, delete.clone(), "DeleteConflict");
    let delete_policy = Op::DeleteRolePolicy {
        account_id: search.clone(),
        name: LAUNCH_ROLE.into(),
        policy_name: vend::model::LAUNCH_ROLE_POLICY.into(),
    };
    ok(c, delete_policy.clone());
    fails(c, delete_policy, "NoSuchEntity");
    ok(c, delete.clone());
    fails(c, delete, "NoSuchEntity");
    assert!(
        state(c).launch_path.as_ref().is_none_or(|l| !l.roles.iter().any(|r| r.account_id == search)),
        "the role is gone from search-prod"
    );
}

/// Call `op(i)` for i = 0, 1, … until it is refused (at most `limit` + 1 times); returns how
/// many calls succeeded and the refusal.
fn until_refused(c: &mut dyn Cloud, limit: usize, op: impl Fn(usize) -> Op) -> (usize, CloudError) {
    for i in 0..=limit {
        if let Err(e) = c.call(&op(i)) {
            return (i, e);
        }
    }
    panic!("{} calls of {} were all accepted", limit + 1, op(0).name())
}

/// An organization holds at most 1,000 OUs (the default quota of the rule table).
pub fn ou_count_limit(c: &mut dyn Cloud, seed: &State) {
    let limit = SUITE_OU_LIMIT;
    let root = seed.organization.root_id.clone();
    let (made, e) = until_refused(c, limit, |i| Op::CreateOrganizationalUnit {
        parent_id: root.clone(),
        name: format!("many-{i}"),
        tags: Tags::new(),
    });
    assert_eq!((e.code.as_str(), e.kind), ("ConstraintViolationException", ErrorKind::Hard), "{e}");
    assert!(e.message.contains("OU_NUMBER_LIMIT_EXCEEDED"), "{e}");
    assert_eq!(made + seed.organizational_units.len(), limit);
    assert_eq!(state(c).organizational_units.len(), limit);
}

/// An organization holds at most 1,000 SCPs (FullAWSAccess included).
pub fn policy_count_limit(c: &mut dyn Cloud, seed: &State) {
    let limit = SUITE_POLICY_LIMIT;
    let (made, e) = until_refused(c, limit, |i| Op::CreatePolicy {
        name: format!("many-{i}"),
        content: DOC.into(),
        tags: Tags::new(),
    });
    assert_eq!((e.code.as_str(), e.kind), ("ConstraintViolationException", ErrorKind::Hard), "{e}");
    assert!(e.message.contains("POLICY_NUMBER_LIMIT_EXCEEDED"), "{e}");
    assert_eq!(made + seed.policies.len(), limit);
}

/// The OU and policy quotas the suite runs under (AWS's are 2,000 and 10,000, see the rule
/// table): both clouds take lowered quotas — the in-process cloud through `Settings`
/// ([`local_settings`]), the emulator through its `limits` configuration ([`emulator_limits`]) —
/// so the count limits are exercised in seconds, not minutes.
pub const SUITE_OU_LIMIT: usize = 40;
pub const SUITE_POLICY_LIMIT: usize = 40;

/// `Settings` of the in-process cloud for the suite.
pub fn local_settings() -> vend::adapter::local_cloud::Settings {
    vend::adapter::local_cloud::Settings {
        max_ous: SUITE_OU_LIMIT,
        max_policies: SUITE_POLICY_LIMIT,
        ..Default::default()
    }
}

/// The emulator's configuration for the suite (`POST /_vend/faults`): the suite's `limits`, and
/// records that finish only when polled — as in the in-process cloud — rather than also on their
/// own after `record_settle_ms` (3 s by default): a case that checks a product is still
/// UNDER_CHANGE between two calls must not depend on how fast a loaded machine makes them.
pub fn emulator_config() -> String {
    format!(
        r#"{{"limits": {{"organizations.ou-count": {SUITE_OU_LIMIT}, "organizations.policy-count": {SUITE_POLICY_LIMIT}}}, "record_settle_ms": 3600000}}"#
    )
}

// ------------------------------------------------------------------ issue 18: access and contacts

/// The organization's Identity Center instance: as the cloud reports it, else as seeded.
pub fn identity_center(c: &mut dyn Cloud, seed: &State) -> vend::model::IdentityCenter {
    let seeded =
        seed.access.as_ref().and_then(|a| a.identity_center.clone()).expect("the seed has an instance");
    let mut ic = state(c).access.and_then(|a| a.identity_center).unwrap_or_else(|| seeded.clone());
    // A read without a workspace names no group: the seed's (the harness seeds the same names).
    if ic.groups.is_empty() {
        ic.groups = seeded.groups;
    }
    ic
}

pub fn group_id(ic: &vend::model::IdentityCenter, name: &str) -> String {
    ic.groups.iter().find(|g| g.display_name == name).unwrap_or_else(|| panic!("no group {name}")).id.clone()
}

pub fn permission_set_arn(ic: &vend::model::IdentityCenter, name: &str) -> String {
    ic.permission_sets
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no permission set {name}"))
        .arn
        .clone()
}

fn assignment_op(create: bool, ic: &vend::model::IdentityCenter, account: &str, ps: &str, group: &str) -> Op {
    let (instance_arn, account_id, permission_set_arn, principal_type, principal_id) = (
        ic.instance_arn.clone(),
        account.to_string(),
        ps.to_string(),
        "GROUP".to_string(),
        group.to_string(),
    );
    if create {
        Op::CreateAccountAssignment {
            instance_arn,
            account_id,
            permission_set_arn,
            principal_type,
            principal_id,
        }
    } else {
        Op::DeleteAccountAssignment {
            instance_arn,
            account_id,
            permission_set_arn,
            principal_type,
            principal_id,
        }
    }
}

/// Poll an assignment request until it leaves IN_PROGRESS.
pub fn poll_assignment(c: &mut dyn Cloud, create: bool, instance_arn: &str, request_id: &str) -> Outcome {
    for _ in 0..20 {
        let (instance_arn, request_id) = (instance_arn.to_string(), request_id.to_string());
        let op = if create {
            Op::DescribeAccountAssignmentCreationStatus { instance_arn, request_id }
        } else {
            Op::DescribeAccountAssignmentDeletionStatus { instance_arn, request_id }
        };
        let o = ok(c, op);
        if o.status.as_deref() != Some("IN_PROGRESS") {
            return o;
        }
    }
    panic!("assignment request {request_id} still in progress")
}

/// Is the assignment in the state the cloud reports? `None` when the cloud did not read the
/// account's assignments (a read without a workspace reads none).
fn assigned(c: &mut dyn Cloud, account: &str, ps: &str, group: &str) -> Option<bool> {
    let a = state(c).access?;
    a.read_accounts.iter().any(|x| x == account).then(|| {
        a.assignments
            .iter()
            .any(|x| x.account_id == account && x.permission_set_arn == ps && x.principal_id == group)
    })
}

pub fn account_assignment_is_asynchronous(c: &mut dyn Cloud, seed: &State) {
    let ic = identity_center(c, seed);
    let (account, ps, group) = (
        account(seed, "checkout-dev"),
        permission_set_arn(&ic, "ReadOnlyAccess"),
        group_id(&ic, "platform-readonly"),
    );
    let o = ok(c, assignment_op(true, &ic, &account, &ps, &group));
    let request = o.id.expect("a request id");
    assert_ne!(assigned(c, &account, &ps, &group), Some(true), "assigned before the request completed");
    // A second identical request while the first is in progress: ConflictException, which AWS
    // asks callers to retry after a backoff (a rejection, not a failure).
    rejected(c, assignment_op(true, &ic, &account, &ps, &group), "ConflictException");
    let done = poll_assignment(c, true, &ic.instance_arn, &request);
    assert_eq!(done.status.as_deref(), Some("SUCCEEDED"), "{done:?}");
    assert_ne!(assigned(c, &account, &ps, &group), Some(false));
    // Once it succeeded, the same create is accepted and changes nothing.
    let again = ok(c, assignment_op(true, &ic, &account, &ps, &group)).id.unwrap();
    assert_eq!(poll_assignment(c, true, &ic.instance_arn, &again).status.as_deref(), Some("SUCCEEDED"));
    let del = ok(c, assignment_op(false, &ic, &account, &ps, &group)).id.unwrap();
    assert_eq!(poll_assignment(c, false, &ic.instance_arn, &del).status.as_deref(), Some("SUCCEEDED"));
    assert_ne!(assigned(c, &account, &ps, &group), Some(true));
    // Deleting what does not exist: ResourceNotFoundException.
    fails(c, assignment_op(false, &ic, &account, &ps, &group), "ResourceNotFoundException");
}

pub fn account_assignment_rules(c: &mut dyn Cloud, seed: &State) {
    let ic = identity_center(c, seed);
    let (account, ps, group) = (
        account(seed, "checkout-dev"),
        permission_set_arn(&ic, "PowerUserAccess"),
        group_id(&ic, "team-checkout-developers"),
    );
    // An instance that does not exist.
    let mut other = ic.clone();
    other.instance_arn = "arn:aws:sso:::instance/ssoins-0000000000000000".into();
    fails(c, assignment_op(true, &other, &account, &ps, &group), "ResourceNotFoundException");
    fails(
        c,
        Op::DescribeAccountAssignmentCreationStatus {
            instance_arn: other.instance_arn.clone(),
            request_id: "00000000-0000-0000-0000-000000000000".into(),
        },
        "ResourceNotFoundException",
    );
    // A permission set that does not exist.
    let missing_ps = format!("{}/ps-0000000000000000", ps.rsplit_once('/').unwrap().0);
    fails(c, assignment_op(true, &ic, &account, &missing_ps, &group), "ResourceNotFoundException");
    // A group that is not in the identity store: accepted, the request FAILS naming it.
    let nobody = "9067000000-00000000-0000-0000-0000-000000000000";
    let r = ok(c, assignment_op(true, &ic, &account, &ps, nobody)).id.unwrap();
    let done = poll_assignment(c, true, &ic.instance_arn, &r);
    assert_eq!(done.status.as_deref(), Some("FAILED"), "{done:?}");
    assert!(done.result.as_deref().unwrap_or_default().contains(nobody), "{done:?}");
    // A target outside the organization: accepted, the request FAILS.
    let r = ok(c, assignment_op(true, &ic, "999999999999", &ps, &group)).id.unwrap();
    let done = poll_assignment(c, true, &ic.instance_arn, &r);
    assert_eq!(done.status.as_deref(), Some("FAILED"), "{done:?}");
    assert!(done.result.as_deref().unwrap_or_default().contains("999999999999"), "{done:?}");
}

fn contact(account: &str, name: &str, email: &str, phone: &str, title: &str) -> Op {
    Op::PutAlternateContact {
        account_id: account.into(),
        contact_type: "SECURITY".into(),
        name: name.into(),
        email: email.into(),
        phone: phone.into(),
        title: title.into(),
    }
}

pub fn alternate_contact_rules(c: &mut dyn Cloud, seed: &State) {
    let member = account(seed, "checkout-dev");
    let good = |a: &str| contact(a, "Security Team", "security@example.com", "+1 555 0100", "SecOps");
    // Without trusted access for AWS Account Management: AccessDeniedException.
    fails(c, good(&member), "AccessDeniedException");
    ok(c, Op::EnableAwsServiceAccess { service_principal: "account.amazonaws.com".into() });
    if let Some(a) = state(c).access {
        assert!(a.account_management_access, "trusted access is not recorded");
    }
    // Not a member account: an account of no organization.
    fails(c, good("999999999999"), "AccessDeniedException");
    // The management account's own contact: the caller's own account, set in the standalone
    // context (the AWS adapter sends no AccountId: AWS refuses the management account's own id,
    // rule account.member-account), which needs no trusted access.
    let mgmt = seed.organization.management_account_id.clone();
    ok(c, good(&mgmt));
    ok(c, Op::DeleteAlternateContact { account_id: mgmt, contact_type: "SECURITY".into() });
    // The fields' formats (API_PutAlternateContact).
    let long = "x".repeat(65);
    fails(c, contact(&member, &long, "security@example.com", "+1 555 0100", "SecOps"), "ValidationException");
    fails(
        c,
        contact(&member, "Sec", "security@example.com", "+1 555 0100", &"t".repeat(51)),
        "ValidationException",
    );
    fails(c, contact(&member, "Sec", "not-an-email", "+1 555 0100", "SecOps"), "ValidationException");
    fails(c, contact(&member, "Sec", "security@example.com", "call me", "SecOps"), "ValidationException");
    ok(c, good(&member));
    // Put again replaces it; delete removes it; a second delete finds nothing.
    ok(c, contact(&member, "Security Office", "secops@example.com", "(555) 0101", "CISO"));
    if let Some(a) = state(c).access.filter(|a| a.read_accounts.contains(&member)) {
        let set = a.contacts.iter().find(|x| x.account_id == member && x.contact_type == "SECURITY");
        assert_eq!(set.map(|x| x.name.as_str()), Some("Security Office"));
    }
    ok(c, Op::DeleteAlternateContact { account_id: member.clone(), contact_type: "SECURITY".into() });
    fails(
        c,
        Op::DeleteAlternateContact { account_id: member, contact_type: "SECURITY".into() },
        "ResourceNotFoundException",
    );
}

/// Twenty-one AWS managed policies (one over the per-permission-set quota).
const MANAGED: [&str; 21] = [
    "ReadOnlyAccess",
    "AdministratorAccess",
    "PowerUserAccess",
    "AmazonS3ReadOnlyAccess",
    "AmazonEC2ReadOnlyAccess",
    "AmazonS3FullAccess",
    "AmazonEC2FullAccess",
    "AmazonDynamoDBFullAccess",
    "AmazonDynamoDBReadOnlyAccess",
    "AmazonSQSFullAccess",
    "AmazonSQSReadOnlyAccess",
    "AmazonSNSFullAccess",
    "AmazonSNSReadOnlyAccess",
    "AWSLambda_FullAccess",
    "AWSLambda_ReadOnlyAccess",
    "AmazonRDSFullAccess",
    "AmazonRDSReadOnlyAccess",
    "CloudWatchFullAccess",
    "CloudWatchReadOnlyAccess",
    "AWSCloudFormationFullAccess",
    "AWSCloudFormationReadOnlyAccess",
];

/// A permission set vend manages (issue 18, catalog/permission_sets/): created with tags, its
/// name, uniqueness and session duration checked; updated; policies attached up to the quota;
/// the inline policy's size checked; re-provisioned asynchronously; not deleted while assigned.
pub fn permission_set_rules(c: &mut dyn Cloud, seed: &State) {
    let ic = identity_center(c, seed);
    let instance_arn = ic.instance_arn.clone();
    let create = |name: &str, session: &str| Op::CreatePermissionSet {
        instance_arn: instance_arn.clone(),
        name: name.into(),
        description: "Deploys the workload".into(),
        session_duration: session.into(),
        tags: tags(&[("vend:managed", "true")]),
    };
    fails(c, create("Not a name!", "PT1H"), "ValidationException");
    fails(c, create("SuiteDeploy", "PT13H"), "ValidationException");
    let arn = ok(c, create("SuiteDeploy", "PT4H")).id.expect("the new permission set's ARN");
    assert!(arn.starts_with("arn:aws:sso:::permissionSet/"), "{arn}");
    fails(c, create("SuiteDeploy", "PT1H"), "ConflictException");
    let update = |session: &str| Op::UpdatePermissionSet {
        instance_arn: instance_arn.clone(),
        permission_set_arn: arn.clone(),
        description: "Deploys the workload, reads the rest".into(),
        session_duration: session.into(),
    };
    fails(c, update("PT30M"), "ValidationException");
    ok(c, update("PT8H"));
    ok(
        c,
        Op::TagPermissionSet {
            instance_arn: instance_arn.clone(),
            permission_set_arn: arn.clone(),
            tags: tags(&[("team", "platform")]),
        },
    );
    let attach = |name: &str| Op::AttachManagedPolicyToPermissionSet {
        instance_arn: instance_arn.clone(),
        permission_set_arn: arn.clone(),
        managed_policy_arn: format!("arn:aws:iam::aws:policy/{name}"),
    };
    for name in &MANAGED[..20] {
        ok(c, attach(name));
    }
    fails(c, attach(MANAGED[20]), "ServiceQuotaExceededException");
    ok(
        c,
        Op::DetachManagedPolicyFromPermissionSet {
            instance_arn: instance_arn.clone(),
            permission_set_arn: arn.clone(),
            managed_policy_arn: format!("arn:aws:iam::aws:policy/{}", MANAGED[19]),
        },
    );
    let inline = |policy: String| Op::PutInlinePolicyToPermissionSet {
        instance_arn: instance_arn.clone(),
        permission_set_arn: arn.clone(),
        inline_policy: policy,
    };
    let big = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"{}"}}]}}"#,
        "x".repeat(10_240)
    );
    fails(c, inline(big), "ValidationException");
    let policy = r#"{"Statement":[{"Action":"codepipeline:StartPipelineExecution","Effect":"Allow","Resource":"*"}],"Version":"2012-10-17"}"#;
    ok(c, inline(policy.into()));
    // Re-provisioning is asynchronous: polled until it leaves IN_PROGRESS.
    let r = ok(
        c,
        Op::ProvisionPermissionSet { instance_arn: instance_arn.clone(), permission_set_arn: arn.clone() },
    );
    let request_id = r.id.expect("a provisioning request id");
    let mut done = None;
    for _ in 0..20 {
        let o = ok(
            c,
            Op::DescribePermissionSetProvisioningStatus {
                instance_arn: instance_arn.clone(),
                request_id: request_id.clone(),
            },
        );
        if o.status.as_deref() != Some("IN_PROGRESS") {
            done = Some(o);
            break;
        }
    }
    assert_eq!(done.and_then(|o| o.status).as_deref(), Some("SUCCEEDED"));
    // What a read reports of it.
    let read = identity_center(c, seed);
    let ps = read.permission_sets.iter().find(|p| p.arn == arn).expect("listed");
    assert_eq!(ps.name, "SuiteDeploy");
    let d = ps.details.as_ref().expect("vend's permission set is described");
    assert_eq!(d.session_duration, "PT8H");
    assert_eq!(d.description, "Deploys the workload, reads the rest");
    assert_eq!(d.tags.get("vend:managed").map(String::as_str), Some("true"));
    assert_eq!(d.tags.get("team").map(String::as_str), Some("platform"));
    assert_eq!(d.managed_policies.len(), 19);
    assert_eq!(d.inline_policy.as_deref(), Some(policy));
    // Assigned, it cannot be deleted; once the assignment is gone, it can.
    let (account, group) = (account(seed, "checkout-dev"), group_id(&ic, "team-checkout-developers"));
    let r = ok(c, assignment_op(true, &ic, &account, &arn, &group)).id.unwrap();
    assert_eq!(poll_assignment(c, true, &instance_arn, &r).status.as_deref(), Some("SUCCEEDED"));
    let delete =
        || Op::DeletePermissionSet { instance_arn: instance_arn.clone(), permission_set_arn: arn.clone() };
    fails(c, delete(), "ConflictException");
    let r = ok(c, assignment_op(false, &ic, &account, &arn, &group)).id.unwrap();
    assert_eq!(poll_assignment(c, false, &instance_arn, &r).status.as_deref(), Some("SUCCEEDED"));
    ok(c, delete());
    assert!(identity_center(c, seed).permission_sets.iter().all(|p| p.arn != arn), "deleted");
    fails(c, delete(), "ResourceNotFoundException");
}

pub fn suite() -> Vec<Case> {
    macro_rules! cases {
        ($($name:ident: $seed:ident),* $(,)?) => {
            vec![$(Case { name: stringify!($name), seed: Seed::$seed, run: $name }),*]
        };
    }
    cases![
        create_account_is_asynchronous: Demo,
        new_account_in_root_active_tagged_with_full_access: Demo,
        no_scp_no_automatic_attachment: NoScp,
        duplicate_email_of_existing_account_fails: Demo,
        duplicate_email_of_request_in_flight_fails: Demo,
        account_creations_in_progress_limit: Demo,
        account_name_rules: Demo,
        email_rules: Demo,
        create_account_bad_tag_fails_whole_request: Demo,
        move_account_rules: Demo,
        close_account_rules: Demo,
        unknown_create_account_request: Demo,
        create_ou_parent_must_exist_and_gets_full_access: Demo,
        ou_depth_limit: Demo,
        ou_name_unique_under_parent: Demo,
        rename_ou_rules: Demo,
        delete_ou_must_be_empty: Demo,
        suspended_account_keeps_ou_non_empty: Demo,
        tag_resource_rules: Demo,
        enable_policy_type_attaches_full_access_everywhere: NoScp,
        create_policy_needs_scp_enabled: NoScp,
        create_policy_unique_name: Demo,
        policy_size_limit_in_bytes: Demo,
        policy_must_be_json: Demo,
        attach_at_most_five_per_target: Demo,
        attach_twice_fails: Demo,
        detach_not_attached_fails: Demo,
        detach_last_scp_fails: Demo,
        root_policy_ids_follow_attachments: Demo,
        delete_attached_policy_fails: Demo,
        full_access_is_immutable: Demo,
        template_must_be_uploaded_first: Demo,
        create_portfolio_token_is_idempotent: Demo,
        update_portfolio_rules: Demo,
        delete_portfolio_in_use_fails: Demo,
        create_product_with_first_version: Demo,
        update_product_rules: Demo,
        create_artifact_rules: Demo,
        update_artifact_rules: Demo,
        delete_artifact_rules: Demo,
        delete_product_in_portfolio_fails: Demo,
        product_portfolio_association_rules: Demo,
        principal_rules: Demo,
        portfolio_share_is_asynchronous: Demo,
        portfolio_share_target_must_exist: Demo,
        launch_constraint_rules: Demo,
        provision_product_is_asynchronous: Demo,
        provision_token_idempotent_and_name_unique: Demo,
        provision_needs_a_launch_path: Demo,
        provision_needs_an_active_account: Demo,
        provision_checks_parameters_against_the_template: Demo,
        deprecated_version_no_new_launch_but_update: Demo,
        terminate_provisioned_product: Demo,
        unknown_ids_are_not_found: Demo,
        minted_ids_have_aws_shapes_and_are_unique: Demo,
        policy_name_rules: Demo,
        enable_unknown_policy_type_fails: Demo,
        template_url_must_be_s3: Demo,
        template_bucket_rules: Demo,
        organization_share_needs_catalog_access: NoScp,
        share_principals_rules: Demo,
        member_launch_needs_principal_access: Demo,
        catalog_tag_rules: Demo,
        product_field_rules: Demo,
        launch_constraint_role_name: Demo,
        launch_constraint_once_per_product: Demo,
        launch_roles_in_member_accounts: Demo,
        terminate_under_change_fails: Demo,
        ou_count_limit: Demo,
        policy_count_limit: Demo,
        account_assignment_is_asynchronous: Demo,
        account_assignment_rules: Demo,
        alternate_contact_rules: Demo,
        permission_set_rules: Demo,
    ]
}
