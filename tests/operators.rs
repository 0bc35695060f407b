//! Teams (issue 17) through the real binary: operators pinned with what `vend operator key`
//! printed, a plan saved by one and approved by another, logs written by both that verify; a
//! second key refused *before* it appends when nothing is pinned; one operator with two keys
//! cannot approve their own plan; a rotated key (`retired:` with `until`) keeps its records valid
//! and can no longer append, and a record it signs after `until` (or backdated) does not
//! verify; the identity without USER/LOGNAME/USERNAME. Each operator is a config dir
//! (`XDG_CONFIG_HOME` temp dir, `VEND_KEY_STORE=file`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use vend::adapter::audit;
use vend::model::operators::{Operator as Pinned, Operators, Retired};
use vend::port::{Audit, AuditEvent, Event};

/// One operator: a config dir holding a key file, and a user name.
struct Op {
    config: tempfile::TempDir,
    user: &'static str,
}

impl Op {
    fn new(user: &'static str) -> Op {
        Op { config: tempfile::tempdir().unwrap(), user }
    }

    fn cmd(&self, ws: &Path) -> Command {
        let mut c = vend();
        c.current_dir(ws)
            .env("XDG_CONFIG_HOME", self.config.path())
            .env("VEND_KEY_STORE", "file")
            .env("USER", self.user);
        c
    }

    fn run(&self, args: &[&str], ws: &Path) -> Output {
        self.cmd(ws).args(args).output().unwrap()
    }

    /// `vend operator key`: the key (`ed25519:…`) and the line to pin.
    fn key(&self, ws: &Path) -> (String, String) {
        let out = self.run(&["operator", "key"], ws);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 2, "{stdout}");
        assert!(lines[0].starts_with("ed25519:") && lines[0].len() == 8 + 64, "{stdout}");
        assert_eq!(lines[1], format!("  {}: {}", self.user, lines[0]));
        assert!(
            text(&out.stderr).contains("paste the second line under `operators:`"),
            "{}",
            text(&out.stderr)
        );
        (lines[0].to_string(), lines[1].to_string())
    }

    /// The signing key in this operator's key file.
    fn signing(&self) -> vend::adapter::keys::Operator {
        let file = std::fs::read_to_string(self.config.path().join("vend/operator.key")).unwrap();
        let line = file.lines().find(|l| l.starts_with("ed25519-secret:")).unwrap();
        let seed: [u8; 32] = hex::decode(&line["ed25519-secret:".len()..]).unwrap().try_into().unwrap();
        vend::adapter::keys::Operator::new(ed25519_dalek::SigningKey::from_bytes(&seed), self.user)
    }
}

/// Append `operators:` with `lines` to the workspace's settings.
fn pin(ws: &Path, lines: &[String]) {
    let settings = ws.join("catalog/vend.yaml");
    let text = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(&settings, format!("{text}operators:\n{}\n", lines.join("\n"))).unwrap();
}

/// `extra` on the planner fixture's state file.
fn with(extra: &[&'static str]) -> Vec<&'static str> {
    [&["-C", ".", "--state", "state.json"][..], extra].concat()
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn records(op: &Op, ws: &Path) -> Vec<Value> {
    let out = op.run(&["audit", "log", "--json"], ws);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn verify(op: &Op, ws: &Path) -> Output {
    op.run(&["audit", "verify"], ws)
}

fn log_bytes(ws: &Path) -> Vec<u8> {
    std::fs::read(ws.join(".vend/audit.jsonl")).unwrap_or_default()
}

#[test]
fn two_pinned_operators_plan_approve_and_apply_and_the_log_verifies() {
    let ws = approvals_workspace();
    let ws = ws.path();
    let (alice, bob) = (Op::new("alice"), Op::new("bob"));
    let (alice_key, alice_line) = alice.key(ws);
    let (bob_key, bob_line) = bob.key(ws);
    assert_ne!(alice_key, bob_key);
    pin(ws, &[alice_line, bob_line]);

    let out = alice.run(&with(&["plan", "--out", "p.json"]), ws);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = bob.run(&with(&["approve", "p.json"]), ws);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("it now has 1 valid approval(s)"), "{}", text(&out.stdout));
    let out = alice.run(&with(&["apply", "p.json", "--auto-approve", "--poll-interval-ms", "10"]), ws);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));

    let out = verify(&alice, ws);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("pinned operator key of bob, alice"), "{}", text(&out.stdout));

    // Every record names its operator; the approval is bob's, the apply alice's.
    let recs = records(&alice, ws);
    assert!(recs.len() >= 4, "{recs:?}");
    let approve = recs.iter().find(|r| r["event"] == "approve").unwrap();
    assert_eq!(approve["actor"]["operator"], "bob");
    assert_eq!(format!("ed25519:{}", approve["actor"]["key"].as_str().unwrap()), bob_key);
    for r in recs.iter().filter(|r| r["event"] != "approve") {
        assert_eq!(r["actor"]["operator"], "alice", "{r}");
        assert_eq!(r["actor"]["user"], "alice", "{r}");
    }
    let listing = text(&alice.run(&["audit", "log"], ws).stdout);
    let who: Vec<&str> = listing.lines().map(|l| l.split_whitespace().nth(2).unwrap()).collect();
    assert!(who.contains(&"bob") && who.contains(&"alice"), "{listing}");
}

#[test]
fn without_pins_a_second_key_is_refused_before_it_writes_and_the_log_still_verifies() {
    let (dir, ws, _) = demo_with_config();
    let _keep = dir;
    let (alice, bob) = (Op::new("alice"), Op::new("bob"));
    // alice starts the log (trust on first use) and saves a plan.
    let out = alice.run(&args(&account_request("web-dev")), &ws);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = alice.run(&["plan", "--out", "p.json"], &ws);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let before = log_bytes(&ws);
    let plan_before = std::fs::read(ws.join("p.json")).unwrap();
    let (_, bob_line) = bob.key(&ws);

    // bob's approval: refused with the instruction, nothing written.
    let out = bob.run(&["approve", "p.json"], &ws);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("no operators are pinned in catalog/vend.yaml"), "{err}");
    assert!(err.contains("vend operator key") && err.contains(&bob_line), "{err}");
    assert_eq!(std::fs::read(ws.join("p.json")).unwrap(), plan_before);
    assert_eq!(log_bytes(&ws), before);
    assert_eq!(verify(&bob, &ws).status.code(), Some(0));

    // bob's apply and request: refused before the first record, naming both lines to pin.
    let alice_line = alice.key(&ws).1;
    for (what, argv) in [
        ("apply", vec!["apply".to_string(), "--auto-approve".to_string()]),
        ("request", account_request("web-qa")),
    ] {
        let out = bob.run(&args(&argv), &ws);
        assert_eq!(out.status.code(), Some(1), "{what}: {}", text(&out.stdout));
        let err = text(&out.stderr);
        assert!(err.contains("refusing to write to the audit log"), "{what}: {err}");
        assert!(
            err.contains("no operators are pinned") && err.contains("Pin both operators"),
            "{what}: {err}"
        );
        assert!(err.contains(&alice_line) && err.contains(&bob_line), "{what}: {err}");
        assert_eq!(log_bytes(&ws), before, "{what}");
        let out = verify(&bob, &ws);
        assert_eq!(out.status.code(), Some(0), "{what}: {}", text(&out.stderr));
    }
    assert!(!ws.join("catalog/accounts/web-qa.yaml").exists());
}

#[test]
fn one_operator_with_two_keys_cannot_approve_their_own_plan() {
    let ws = approvals_workspace();
    let ws = ws.path();
    // Two machines of alice: two config dirs, both keys under one name.
    let (laptop, desktop) = (Op::new("alice"), Op::new("alice"));
    let (k1, _) = laptop.key(ws);
    let (k2, _) = desktop.key(ws);
    pin(ws, &[format!("  alice:\n    keys: [{k1}, {}]", k2.to_uppercase().replace("ED25519:", "ed25519:"))]);
    let out = laptop.run(&with(&["plan", "--out", "p.json"]), ws);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = desktop.run(&with(&["approve", "p.json"]), ws);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("operator `alice` saved this plan (with another of their keys)"), "{err}");
    let out = laptop.run(&with(&["apply", "p.json", "--auto-approve"]), ws);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("requires 1 approval(s)") && err.contains("has 0 valid"), "{err}");

    // An approval signed by the second key and put into the plan by hand does not count either.
    let path = ws.join("p.json");
    let mut plan = vend::adapter::fs::read_plan(&path).unwrap();
    let key = desktop.signing();
    let approval = vend::plan::approval::Approval {
        operator: key.public_key_hex.clone(),
        user: "alice".into(),
        aws: None,
        at: "2026-12-01T00:00:00Z".into(),
        plan_id: plan.plan_id.clone(),
        sig: key.sign_hex(vend::plan::approval::approval_message(&plan.plan_id, &plan).as_bytes()),
    };
    plan.approvals = Some(json!([approval]));
    vend::adapter::fs::write_plan(&path, &plan).unwrap();
    let out = laptop.run(&with(&["apply", "p.json", "--auto-approve"]), ws);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("has 0 valid") && err.contains("operator `alice`, with another of their keys"),
        "{err}"
    );
}

#[test]
fn a_rotated_key_keeps_its_records_valid_and_can_no_longer_append() {
    let (dir, ws, _) = demo_with_config();
    let _keep = dir;
    let (old, new) = (Op::new("alice.w"), Op::new("alice.w"));
    let (old_key, old_line) = old.key(&ws);
    let (new_key, _) = new.key(&ws);
    let settings = std::fs::read_to_string(ws.join("catalog/vend.yaml")).unwrap();
    // A record before any pin (trust on first use: no `actor.operator`), one after.
    let out = old.run(&args(&account_request("web-dev")), &ws);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(records(&old, &ws)[0]["actor"].get("operator"), None);
    pin(&ws, &[old_line.replace("alice.w:", "alice:")]);
    let out = old.run(&args(&account_request("web-stage")), &ws);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(records(&old, &ws)[1]["actor"]["operator"], "alice");
    assert_eq!(records(&old, &ws)[1]["actor"]["user"], "alice.w");

    // Rotate: the old key retired as of now, the new key current.
    let until = jiff::Timestamp::now().round(jiff::Unit::Second).unwrap();
    std::fs::write(
        ws.join("catalog/vend.yaml"),
        format!(
            "{settings}operators:\n  alice:\n    keys: [{new_key}]\n    retired:\n      - {{ key: {old_key}, until: {until} }}\n"
        ),
    )
    .unwrap();
    let out = verify(&new, &ws);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    // `audit log` names both records' operator, the first through the pins in force.
    let listing = text(&new.run(&["audit", "log"], &ws).stdout);
    let who: Vec<&str> = listing.lines().map(|l| l.split_whitespace().nth(2).unwrap()).collect();
    assert_eq!(who, ["alice", "alice"], "{listing}");

    // The retired key can no longer append; the new one can, and the log verifies.
    let before = log_bytes(&ws);
    let out = old.run(&args(&account_request("web-qa")), &ws);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains(&format!("was retired on {until}")), "{}", text(&out.stderr));
    assert_eq!(log_bytes(&ws), before);
    let out = new.run(&args(&account_request("web-qa")), &ws);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(verify(&new, &ws).status.code(), Some(0));

    // A record forged with the retired key, dated after `until`, does not verify.
    let later = (until + jiff::SignedDuration::from_hours(1)).to_string();
    let mut forged =
        audit::AuditLog::open(ws.join(".vend/audit.jsonl"), old.signing(), move || later.clone()).unwrap();
    forged
        .append(AuditEvent {
            plan_id: String::new(),
            address: String::new(),
            event: Event::read("approve", &json!({})),
        })
        .unwrap();
    let out = verify(&new, &ws);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("line 4 (seq 4)") && err.contains("operator `alice`, retired until"), "{err}");
    assert!(err.contains("after that"), "{err}");
}

/// The library's verification rules on a log written by three keys at chosen times.
#[test]
fn retired_keys_verify_up_to_until_and_cannot_backdate() {
    let dir = tempfile::tempdir().unwrap();
    let key = |n: u8, user: &str| {
        vend::adapter::keys::Operator::new(ed25519_dalek::SigningKey::from_bytes(&[n; 32]), user)
    };
    let (old, new, bob) = (key(1, "alice"), key(2, "alice"), key(3, "bob"));
    let until: jiff::Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
    let mut pins = Operators::default();
    pins.by_name.insert(
        "alice".into(),
        Pinned {
            keys: vec![new.public_key_hex.clone()],
            retired: vec![Retired { key: old.public_key_hex.clone(), until }],
        },
    );
    let event = || AuditEvent {
        plan_id: String::new(),
        address: String::new(),
        event: Event::read("approve", &json!({})),
    };
    let write = |log: &PathBuf, who: &vend::adapter::keys::Operator, ts: &'static str| {
        let mut l = audit::AuditLog::open(log.clone(), who.clone(), move || ts.to_string()).unwrap();
        l.append(event()).unwrap();
    };
    let check = |log: &PathBuf, pins: &Operators| {
        audit::verify_with(&mut audit::FileStore::with_head(log, audit::head_path(log)), pins)
    };

    // Old key before `until` (its head too), then the new key: verifies.
    let log = dir.path().join("a.jsonl");
    write(&log, &old, "2026-11-30T00:00:00Z");
    let r = check(&log, &pins).unwrap();
    assert_eq!(r.operators, vec!["alice".to_string()], "a head by the retired key, last record before until");
    write(&log, &new, "2026-12-02T00:00:00Z");
    assert_eq!(check(&log, &pins).unwrap().records, 2);

    // The retired key after `until`: fails.
    write(&log, &old, "2026-12-03T00:00:00Z");
    let e = check(&log, &pins).unwrap_err();
    assert_eq!(e.seq, Some(3));
    assert!(e.to_string().contains("after that"), "{e}");

    // The retired key backdated after a later record: fails.
    let log = dir.path().join("b.jsonl");
    write(&log, &new, "2026-12-02T00:00:00Z");
    write(&log, &old, "2026-11-30T00:00:00Z");
    let e = check(&log, &pins).unwrap_err();
    assert_eq!(e.seq, Some(2));
    assert!(e.to_string().contains("cannot be backdated"), "{e}");

    // An unpinned key fails naming the key and how to pin it; without pins, the first key rules.
    let log = dir.path().join("c.jsonl");
    write(&log, &new, "2026-12-02T00:00:00Z");
    write(&log, &bob, "2026-12-02T00:00:01Z");
    let e = check(&log, &pins).unwrap_err();
    assert!(
        e.to_string().contains(&bob.public_key_hex) && e.to_string().contains("vend operator key"),
        "{e}"
    );
    let e = check(&log, &Operators::default()).unwrap_err();
    assert!(e.to_string().contains("the log's first key"), "{e}");
}

/// A git config file with `email`, or none.
fn gitconfig(dir: &Path, email: Option<&str>) -> PathBuf {
    let p = dir.join("gitconfig");
    let body = email.map(|e| format!("[user]\n\temail = {e}\n")).unwrap_or_default();
    std::fs::write(&p, body).unwrap();
    p
}

#[test]
fn without_user_variables_the_identity_is_the_git_email_else_the_uid() {
    let uid = text(&Command::new("id").arg("-u").output().unwrap().stdout).trim().to_string();
    for (email, expected) in
        [(Some("ci@example.com"), "ci@example.com".to_string()), (None, format!("uid:{uid}"))]
    {
        let (dir, ws, config) = demo_with_config();
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let out = vend()
            .args(args(&account_request("web-dev")))
            .current_dir(&ws)
            .env_remove("USER")
            .env_remove("LOGNAME")
            .env_remove("USERNAME")
            .env("HOME", &home)
            .env("GIT_CONFIG_GLOBAL", gitconfig(dir.path(), email))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("XDG_CONFIG_HOME", &config)
            .env("VEND_KEY_STORE", "file")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let file = std::fs::read_to_string(ws.join("catalog/accounts/web-dev.yaml")).unwrap();
        let line = file.lines().find(|l| l.starts_with("requested_by:")).unwrap();
        assert!(line.contains(&expected) && !line.contains("unknown"), "{line}");
        let log = std::fs::read_to_string(ws.join(".vend/audit.jsonl")).unwrap();
        let rec: Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
        assert_eq!(rec["actor"]["user"], expected.as_str());
        assert_eq!(rec["detail"]["requested_by"], expected.as_str());
    }
}

#[test]
fn operator_key_json_and_the_settings_diagnostics() {
    let (dir, ws, _) = demo_with_config();
    let _keep = dir;
    let op = Op::new("Ana.Lee@Example.com");
    let out = op.run(&["operator", "key", "--json"], &ws);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["name"], "ana.lee-example.com");
    assert_eq!(v["identity_source"], "$USER");
    assert_eq!(v["line"], format!("  ana.lee-example.com: {}", v["key"].as_str().unwrap()));
    assert_eq!(v["pinned"], Value::Null);

    // Bad pins are errors at their line and column.
    let key = v["key"].as_str().unwrap().to_string();
    pin(
        &ws,
        &[
            format!("  ana: {key}"),
            format!("  bo: {}", key.to_uppercase()),
            "  cy: ed25519:1234".to_string(),
            format!(
                "  dee:\n    keys: [{}]\n    retired:\n      - {{ key: {}, until: soon }}",
                "ab".repeat(32),
                "cd".repeat(32)
            ),
        ],
    );
    let out = op.run(&["validate"], &ws);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    let lines = std::fs::read_to_string(ws.join("catalog/vend.yaml")).unwrap();
    let line_of = |needle: &str| lines.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
    for (code, at) in [
        ("duplicate-operator-key", format!("catalog/vend.yaml:{}:", line_of("  bo:"))),
        ("bad-operator-key", format!("catalog/vend.yaml:{}:", line_of("  cy:"))),
        ("bad-operator-until", format!("catalog/vend.yaml:{}:", line_of("    keys:"))),
    ] {
        assert!(err.lines().any(|l| l.contains(code) && l.contains(&at)), "{code} at {at}:\n{err}");
    }
    // ... and nothing verifies (or appends) against half-read pins.
    let out = op.run(&["audit", "verify"], &ws);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("the pinned operators cannot be read"), "{}", text(&out.stderr));
}

/// The demo with `required_approvals: 1` and alice and bob pinned (a copy in a temp dir).
fn approving_demo(alice: &Op, bob: &Op) -> tempfile::TempDir {
    let dir = demo_workspace();
    let ws = dir.path();
    let settings = ws.join("catalog/vend.yaml");
    let text =
        std::fs::read_to_string(&settings).unwrap().replace("required_approvals: 0", "required_approvals: 1");
    std::fs::write(&settings, text).unwrap();
    let (_, a) = alice.key(ws);
    let (_, b) = bob.key(ws);
    pin(ws, &[a, b]);
    dir
}

/// Alice saves a plan of `targeting` arguments, bob approves it: the approved plan file `file`.
fn approved(alice: &Op, bob: &Op, ws: &Path, file: &str, targeting: &[&str]) {
    let plan = [&["plan", "--out", file][..], targeting].concat();
    let out = alice.run(&plan, ws);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = bob.run(&["approve", file], ws);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("it now has 1 valid approval(s)"), "{}", text(&out.stdout));
}

/// Issue 17's second acceptance point with approvals: an approved plan (everything but
/// payments-prod's retag) stays applyable after an approved `--target` plan retagged
/// payments-prod meanwhile; the re-plan is empty and the log, written by both, verifies.
#[test]
fn an_approved_plan_stays_applyable_after_an_unrelated_account_changed_meanwhile() {
    let (alice, bob) = (Op::new("alice"), Op::new("bob"));
    let dir = approving_demo(&alice, &bob);
    let ws = dir.path();
    approved(&alice, &bob, ws, "p.json", &["--exclude", "account:payments-prod"]);
    approved(&alice, &bob, ws, "q.json", &["--target", "account:payments-prod"]);
    let out = alice.run(&["apply", "q.json", "--auto-approve"], ws);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("1 change(s) applied"), "{}", text(&out.stdout));

    let out = alice.run(&["apply", "p.json", "--auto-approve"], ws);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let out = alice.run(&["plan", "--detailed-exitcode"], ws);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let out = verify(&alice, ws);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let approvals = records(&alice, ws).iter().filter(|r| r["event"] == "approve").count();
    assert_eq!(approvals, 2);
}

/// ... and is refused, naming the account, when an account it moves was moved meanwhile (by
/// another approved plan of another version of the workspace: data-dev to Workloads/prod).
#[test]
fn an_approved_plan_is_refused_naming_the_account_it_moves_when_that_account_moved_meanwhile() {
    let (alice, bob) = (Op::new("alice"), Op::new("bob"));
    let dir = approving_demo(&alice, &bob);
    let ws = dir.path();
    approved(&alice, &bob, ws, "p.json", &[]);
    // Another branch of the workspace puts data-dev in prod; its approved plan is applied first.
    let request = ws.join("catalog/accounts/data-dev.yaml");
    let original = std::fs::read_to_string(&request).unwrap();
    assert!(original.contains("environment: dev"), "{original}");
    std::fs::write(&request, original.replace("environment: dev", "environment: prod")).unwrap();
    approved(&alice, &bob, ws, "other.json", &["--target", "account:data-dev"]);
    let out = alice.run(&["apply", "other.json", "--auto-approve"], ws);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    std::fs::write(&request, original).unwrap();

    let log = log_bytes(ws);
    let out = alice.run(&["apply", "p.json", "--auto-approve"], ws);
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("is stale") && err.contains("account:data-dev changed since it was planned"),
        "{err}"
    );
    assert_eq!(log_bytes(ws), log, "nothing appended by a refused apply");
    let out = verify(&alice, ws);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
}
