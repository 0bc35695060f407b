//! The AWS rule table (`src/adapter/aws_rules.yaml`) and its two readers: the table parses,
//! every rule id the in-process cloud (`src/`: `refuse("…")`, `limit("…")`, `quota("…")`) or
//! the emulator's extension (`tests/emulator/vend_moto/`: `refuse("…")`, `fired("…")`,
//! `limit("…")`, and the helpers that take a rule id as their first argument) names exists in
//! the table, and every rule of the table is named on both sides — except the rules listed
//! below with the reason one side does not enforce them. Then, on the emulator, the two rules of
//! a parallel apply (issue 16) that no serial suite case can reach: one writer per Organizations
//! entity, and the account creations in progress.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod emulator_harness;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use vend::adapter::aws_rules;

/// Rules the in-process cloud does not enforce, with the reason.
const NOT_IN_SRC: &[(&str, &str)] = &[
    (
        "identitystore.group-exists",
        "GetGroupId is a read: the AWS adapter reads a group it does not find as not listed (the planner then says unknown-group), and the in-process cloud holds its groups in the state, with no such call to refuse",
    ),
    (
        "organizations.one-writer-per-entity",
        "the in-process cloud carries out one call at a time (`Cloud::call` takes `&mut self`): a write is never in progress when another arrives, so there is nothing to refuse; the emulator enforces it (threaded server), see the emulator tests below",
    ),
];

/// Rules the emulator does not enforce, with the reason.
const NOT_IN_EMULATOR: &[(&str, &str)] = &[
    (
        "s3.bucket-access",
        "moto's S3 does not refuse a write to a bucket of another account (it keeps one bucket namespace and answers from the owner's backend)",
    ),
    ("organizations.account-limit", "the emulator models no account quota"),
    ("organizations.close-quota", "the emulator models no close quota"),
    (
        "s3.object-url",
        "the URL is vend's own encoding of bucket and key: AwsCloud parses it before any request, so the emulator's S3 only ever sees a bucket and a key",
    ),
    (
        "servicecatalog.version-template",
        "enforcing LoadTemplateFromURL existence would break tests/aws_backend.rs, which creates a product from a template it never uploads",
    ),
    (
        "servicecatalog.constraint-needs-association",
        "the emulator answers ResourceNotFoundException (servicecatalog.association-exists) for a constraint on a product not in the portfolio; CreateConstraint lists both errors and no AWS reference says which applies",
    ),
    (
        "servicecatalog.launch-account-exists",
        "the emulator does not check that the launching account is in the organization (issue 14)",
    ),
    (
        "servicecatalog.launch-account-active",
        "the emulator does not check that the launching account is ACTIVE (issue 14)",
    ),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

/// The rule ids named as the first (string literal) argument of one of `calls` in `text`,
/// with the call spanning lines (`refuse(\n    "id", …)`).
fn ids_in(text: &str, calls: &[&str]) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for call in calls {
        let pat = format!("{call}(");
        let mut rest = text;
        while let Some(at) = rest.find(&pat) {
            let before = rest[..at].chars().last();
            rest = &rest[at + pat.len()..];
            // `refuse(` but not `xrefuse(` or `.refuse_all(`.
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let arg = rest.trim_start();
            if let Some(q) = arg.strip_prefix('"')
                && let Some(end) = q.find('"')
            {
                let id = &q[..end];
                if id.contains('.') && !id.contains(' ') {
                    ids.insert(id.to_string());
                }
            }
        }
    }
    ids
}

fn named(dir: &Path, ext: &str, calls: &[&str]) -> BTreeMap<String, Vec<String>> {
    let mut paths = Vec::new();
    files(dir, ext, &mut paths);
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in paths {
        let text = std::fs::read_to_string(&p).unwrap();
        for id in ids_in(&text, calls) {
            out.entry(id).or_default().push(p.strip_prefix(root()).unwrap().display().to_string());
        }
    }
    out
}

#[test]
fn the_table_parses_with_sources_and_unique_ids() {
    let rules = aws_rules::parse(aws_rules::TABLE_TEXT).unwrap();
    assert_eq!(rules.len(), aws_rules::rules().len(), "the compiled-in table did not load");
    assert!(rules.len() >= 70, "{} rules", rules.len());
    for r in &rules {
        let (service, what) =
            r.id.split_once('.').unwrap_or_else(|| panic!("{}: not <service>.<what>", r.id));
        assert!(
            ["organizations", "servicecatalog", "s3", "iam", "identitycenter", "identitystore", "account"]
                .contains(&service)
                && !what.is_empty(),
            "{}",
            r.id
        );
        assert!(r.source.starts_with("https://"), "{}: {}", r.id, r.source);
        assert!(!r.says.trim().is_empty() && !r.quote.trim().is_empty(), "{}", r.id);
        assert!(!r.code.is_empty(), "{}", r.id);
    }
    // A second copy of a rule, an unknown format or an unsourced rule is refused.
    let twice =
        format!("{}\n{}", aws_rules::TABLE_TEXT, aws_rules::TABLE_TEXT.split("rules:\n").nth(1).unwrap());
    assert!(aws_rules::parse(&twice).unwrap_err().contains("listed twice"));
    assert!(aws_rules::parse(&aws_rules::TABLE_TEXT.replace("format: 1", "format: 2")).is_err());
}

#[test]
fn every_rule_is_named_by_the_local_cloud_and_the_emulator() {
    let table: BTreeSet<String> = aws_rules::rules().iter().map(|r| r.id.clone()).collect();
    // In src/: the refusals, the quotas, and the local `bad(rule, …)` closures.
    let src = named(&root().join("src"), "rs", &["refuse", "limit", "quota", "bad"]);
    // In the emulator: rules.refuse/fired/limit and the helpers that take a rule id first.
    let emu = named(
        &root().join("tests/emulator/vend_moto"),
        "py",
        &[
            "refuse",
            "fired",
            "limit",
            "rule",
            "invalid",
            "not_found",
            "check_length",
            "check_tags",
            "_check_email",
            "_target",
        ],
    );
    for (side, ids) in [("src/", &src), ("tests/emulator/vend_moto/", &emu)] {
        let unknown: Vec<(&String, &Vec<String>)> =
            ids.iter().filter(|(id, _)| !table.contains(*id)).collect();
        assert!(unknown.is_empty(), "{side} names rules the table lacks: {unknown:?}");
    }
    // The rules of a failed account creation are named by the failure reason in src/ (the
    // in-process cloud reports them in the request's status, not as a refusal).
    let local_cloud: String = ["organizations.rs", "mod.rs"]
        .iter()
        .map(|f| std::fs::read_to_string(root().join("src/adapter/local_cloud").join(f)).unwrap())
        .collect();
    let status_rules: BTreeSet<String> = aws_rules::rules()
        .iter()
        .filter(|r| r.code.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .filter(|r| local_cloud.contains(&format!("\"{}\"", r.code)))
        .map(|r| r.id.clone())
        .collect();
    for (side, ids, extra, exempt) in
        [("src/", &src, &status_rules, NOT_IN_SRC), ("the emulator", &emu, &BTreeSet::new(), NOT_IN_EMULATOR)]
    {
        let missing: Vec<&String> = table
            .iter()
            .filter(|id| {
                !ids.contains_key(*id) && !extra.contains(*id) && !exempt.iter().any(|(e, _)| e == id)
            })
            .collect();
        assert!(missing.is_empty(), "rules {side} never names: {missing:?}");
        for (id, why) in exempt {
            assert!(table.contains(*id), "{id} (exempt on {side}: {why}) is not in the table");
            assert!(
                !ids.contains_key(*id),
                "{id} is listed as not enforced by {side} ({why}) but {side} names it"
            );
        }
    }
}

// ------------------------------------------------------------------ on the emulator (issue 16)
//
// The two limits a parallel apply must respect, as the emulator enforces them: one write at a
// time per Organizations entity, and at most `limit` account creations in progress. The SDK
// clients here retry nothing, so each refusal comes back as AWS sends it.

use aws_sdk_organizations as org;
use emulator_harness::seed::rt;
use emulator_harness::{Emulator, lock};
use std::time::{Duration, Instant};

const ONE_WRITER: &str = "organizations.one-writer-per-entity";
const CREATIONS: &str = "organizations.account-creations-in-progress";
const SCP_DOC: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#;

/// An Organizations client for the emulator that sends every request once.
fn client(emu: &Emulator) -> org::Client {
    let conf = org::config::Builder::from(&emu.sdk_config())
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    org::Client::from_conf(conf)
}

fn faults(emu: &Emulator, config: &str) {
    let (status, body) = emu.http("POST", "/_vend/faults", config);
    assert_eq!(status, 200, "POST /_vend/faults {config}: {body}");
}

fn stats(emu: &Emulator) -> serde_json::Value {
    let (status, body) = emu.http("GET", "/_vend/stats", "");
    assert_eq!(status, 200, "GET /_vend/stats: {body}");
    serde_json::from_str(&body).unwrap()
}

fn hits(emu: &Emulator, rule: &str) -> u64 {
    stats(emu)["rules"][rule].as_u64().unwrap_or(0)
}

/// An organization with SCPs enabled, two SCPs and two OUs under the root: (root, [p1, p2], [a, b]).
async fn organization(c: &org::Client) -> (String, [String; 2], [String; 2]) {
    c.create_organization().feature_set(org::types::OrganizationFeatureSet::All).send().await.unwrap();
    let root = c.list_roots().send().await.unwrap().roots()[0].id().unwrap().to_string();
    c.enable_policy_type()
        .root_id(&root)
        .policy_type(org::types::PolicyType::ServiceControlPolicy)
        .send()
        .await
        .unwrap();
    let mut policies = vec![];
    for name in ["guard-1", "guard-2"] {
        let p = c
            .create_policy()
            .name(name)
            .description("")
            .content(SCP_DOC)
            .r#type(org::types::PolicyType::ServiceControlPolicy)
            .send()
            .await
            .unwrap();
        policies.push(p.policy().unwrap().policy_summary().unwrap().id().unwrap().to_string());
    }
    let mut ous = vec![];
    for name in ["A", "B"] {
        let o = c.create_organizational_unit().parent_id(&root).name(name).send().await.unwrap();
        ous.push(o.organizational_unit().unwrap().id().unwrap().to_string());
    }
    (root, [policies[0].clone(), policies[1].clone()], [ous[0].clone(), ous[1].clone()])
}

fn code<E: org::error::ProvideErrorMetadata>(r: &Result<impl Sized, E>) -> &str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.code().unwrap_or("(no code)"),
    }
}

/// Two AttachPolicy to one OU sent together while every request takes 500 ms: the first to
/// arrive holds the OU until it has run, the other answers ConcurrentModificationException (HTTP
/// 400, nothing attached) and is counted under the rule; a read of the OU meanwhile is answered.
/// Then two writes to different entities sent together both run, side by side; a held answer
/// does not keep its entity; a reset frees what writes in progress hold.
#[test]
fn two_writes_to_one_entity_one_is_refused() {
    let (_guard, emu) = lock();
    let c = client(emu);
    let (_, [p1, p2], [a, b]) = rt().block_on(organization(&c));
    let latency = Duration::from_millis(500);
    faults(emu, &format!(r#"{{"latency_ms": {}}}"#, latency.as_millis()));
    let rt = rt();
    let (one, two, read) = rt.block_on(futures_util::future::join3(
        c.attach_policy().policy_id(&p1).target_id(&a).send(),
        c.attach_policy().policy_id(&p2).target_id(&a).send(),
        c.list_policies_for_target()
            .target_id(&a)
            .filter(org::types::PolicyType::ServiceControlPolicy)
            .send(),
    ));
    let (winner, refused, refusal) = match (&one, &two) {
        (Ok(_), Err(e)) => (&p1, &p2, e),
        (Err(e), Ok(_)) => (&p2, &p1, e),
        _ => panic!("exactly one of the two should run: {one:?} {two:?}"),
    };
    assert_eq!(org::error::ProvideErrorMetadata::code(refusal), Some("ConcurrentModificationException"));
    assert_eq!(refusal.raw_response().map(|r| r.status().as_u16()), Some(400), "{refusal:?}");
    assert_eq!(code(&read), "ok", "a read is never refused: {read:?}");
    assert_eq!(hits(emu, ONE_WRITER), 1);
    assert_eq!(stats(emu)["busy"], 0, "every claim is released once its write has run");
    let attached: Vec<String> = rt
        .block_on(
            c.list_policies_for_target()
                .target_id(&a)
                .filter(org::types::PolicyType::ServiceControlPolicy)
                .send(),
        )
        .unwrap()
        .policies()
        .iter()
        .filter_map(|p| p.id().map(str::to_string))
        .collect();
    assert!(attached.contains(winner) && !attached.contains(refused), "{attached:?}");

    // Different entities at once: {refused policy, B} and {A}. Both run, and together (two
    // writes one after the other would take twice the latency).
    let started = Instant::now();
    let (one, two) = rt.block_on(futures_util::future::join(
        c.attach_policy().policy_id(refused).target_id(&b).send(),
        c.tag_resource()
            .resource_id(&a)
            .tags(org::types::Tag::builder().key("team").value("x").build().unwrap())
            .send(),
    ));
    assert_eq!((code(&one), code(&two)), ("ok", "ok"), "{one:?} {two:?}");
    assert!(started.elapsed() < latency * 2, "the two writes did not overlap: {:?}", started.elapsed());
    assert_eq!(hits(emu, ONE_WRITER), 1, "writes to different entities are not refused");

    // A write whose answer is held has run: its entity is free for the next write.
    faults(
        emu,
        r#"{"latency_ms": 0, "script": [{"match": "organizations.UntagResource", "fault": "hold", "hold_ms": 2000}]}"#,
    );
    let untag = c.untag_resource().resource_id(&a).tag_keys("team").send();
    let tag_later = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        c.tag_resource()
            .resource_id(&a)
            .tags(org::types::Tag::builder().key("owner").value("y").build().unwrap())
            .send()
            .await
    };
    let (one, two) = rt.block_on(futures_util::future::join(untag, tag_later));
    assert_eq!((code(&one), code(&two)), ("ok", "ok"), "{one:?} {two:?}");
    assert_eq!(hits(emu, ONE_WRITER), 1);

    // A reset frees the entities of writes still in progress.
    faults(emu, r#"{"latency_ms": 3000}"#);
    let slow = c
        .tag_resource()
        .resource_id(&b)
        .tags(org::types::Tag::builder().key("k").value("v").build().unwrap())
        .send();
    let reset = async {
        let deadline = Instant::now() + Duration::from_secs(10);
        while stats(emu)["busy"] == 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let busy = stats(emu)["busy"].clone();
        let (status, body) = emu.http("POST", "/_vend/reset", "");
        assert_eq!(status, 200, "POST /_vend/reset: {body}");
        (busy, stats(emu)["busy"].clone())
    };
    let (_, (before, after)) = rt.block_on(futures_util::future::join(slow, reset));
    assert_eq!((before, after), (serde_json::json!(1), serde_json::json!(0)));
}

/// At most `limit` creations IN_PROGRESS (the table's 5): the next CreateAccount is refused at the
/// call with ConstraintViolationException, reason ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED, nothing
/// created, counted under the rule; accepted again once one has finished. A test may lower the
/// limit through `limits`.
#[test]
fn account_creations_beyond_the_limit_are_refused() {
    let (_guard, emu) = lock();
    let c = client(emu);
    let rt = rt();
    rt.block_on(organization(&c));
    let create = |i: usize| {
        c.create_account().account_name(format!("wave-{i}")).email(format!("aws+wave-{i}@example.com")).send()
    };
    let limit = usize::try_from(aws_rules::limit(CREATIONS, 5)).unwrap();
    assert_eq!(limit, 5, "the quotas table's number");
    for (limit, polls) in [(limit, 2), (2, 1)] {
        let (status, body) = emu.http("POST", "/_vend/reset", "");
        assert_eq!(status, 200, "{body}");
        rt.block_on(organization(&c));
        let lowered =
            if limit == 5 { String::new() } else { format!(r#", "limits": {{"{CREATIONS}": {limit}}}"#) };
        faults(emu, &format!(r#"{{"create_account_polls": {polls}{lowered}}}"#));
        let mut cars = vec![];
        for i in 0..limit {
            let out = rt.block_on(create(i)).unwrap();
            let s = out.create_account_status().unwrap();
            assert_eq!(s.state(), Some(&org::types::CreateAccountState::InProgress));
            cars.push(s.id().unwrap().to_string());
        }
        let requests =
            || rt.block_on(c.list_create_account_status().send()).unwrap().create_account_statuses().len();
        let before = requests();
        let err = rt.block_on(create(limit)).unwrap_err();
        let service = err.as_service_error().unwrap_or_else(|| panic!("{err:?}"));
        let org::operation::create_account::CreateAccountError::ConstraintViolationException(cv) = service
        else {
            panic!("not ConstraintViolationException: {service:?}")
        };
        assert_eq!(
            cv.reason(),
            Some(&org::types::ConstraintViolationExceptionReason::AccountCreationRateLimitExceeded),
            "{cv:?}"
        );
        assert_eq!(hits(emu, CREATIONS), 1);
        assert_eq!(requests(), before, "the refused request created nothing");
        // The first finishes; then one more may start.
        for _ in 0..polls {
            let s =
                rt.block_on(c.describe_create_account_status().create_account_request_id(&cars[0]).send());
            assert_eq!(
                s.unwrap().create_account_status().unwrap().state(),
                Some(&org::types::CreateAccountState::InProgress)
            );
        }
        let s = rt.block_on(c.describe_create_account_status().create_account_request_id(&cars[0]).send());
        assert_eq!(
            s.unwrap().create_account_status().unwrap().state(),
            Some(&org::types::CreateAccountState::Succeeded)
        );
        rt.block_on(create(limit)).unwrap();
        assert_eq!(hits(emu, CREATIONS), 1);
    }
}
