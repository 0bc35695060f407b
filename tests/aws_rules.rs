//! The AWS rule table (`src/adapter/aws_rules.yaml`) and its two readers: the table parses,
//! every rule id the in-process cloud (`src/`: `refuse("…")`, `limit("…")`, `quota("…")`) or
//! the emulator's extension (`tests/emulator/vend_moto/`: `refuse("…")`, `fired("…")`,
//! `limit("…")`, and the helpers that take a rule id as their first argument) names exists in
//! the table, and every rule of the table is named on both sides — except the rules listed
//! below with the reason one side does not enforce them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use vend::adapter::aws_rules;

/// Rules the in-process cloud does not enforce, with the reason.
const NOT_IN_SRC: &[(&str, &str)] = &[];

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
            ["organizations", "servicecatalog", "s3", "iam"].contains(&service) && !what.is_empty(),
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
