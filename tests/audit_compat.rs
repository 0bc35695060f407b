//! Audit logs across versions: a log written by the previous (untyped) vend
//! (`tests/fixtures/compat/audit-v0.1`) still verifies, lists and feeds the metrics exactly as
//! that version did, and every event in it reads as its typed event and writes back the same
//! record; a log holding an event this version does not know (written by a newer vend) verifies
//! and is listed as unknown.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{copy_dir, root, run, text};
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use std::fs;
use std::path::Path;
use vend::adapter::audit::{self, JsonlAudit, Record};
use vend::adapter::keys::Operator;
use vend::port::{Audit, AuditEvent, Call, Event, EventKind};

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("tests/fixtures/compat/audit-v0.1"), dir.path());
    dir
}

fn expected(name: &str) -> String {
    fs::read_to_string(root().join("tests/fixtures/compat/audit-v0.1").join(name)).unwrap()
}

fn vend_ok(args: &[&str], cwd: &Path) -> String {
    let out = run(args, cwd);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}{}", text(&out.stdout), text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn a_log_of_the_previous_version_verifies_lists_and_measures_as_before() {
    let ws = fixture();
    let verified = vend_ok(&["audit", "verify"], ws.path());
    assert!(
        verified.contains("is intact: 57 records") && verified.contains("a pinned operator key"),
        "{verified}"
    );
    assert_eq!(vend_ok(&["audit", "log"], ws.path()), expected("expected-audit-log.txt"));
    assert_eq!(vend_ok(&["audit", "log", "--json"], ws.path()), expected("expected-audit-log.jsonl"));
    assert_eq!(vend_ok(&["metrics", "--json"], ws.path()), expected("expected-metrics.json"));
    assert_eq!(vend_ok(&["metrics"], ws.path()), expected("expected-metrics.txt"));
}

#[test]
fn every_event_of_the_previous_version_reads_typed_and_writes_back_the_same_record() {
    let ws = fixture();
    let records = audit::read(&ws.path().join(".vend/audit.jsonl")).unwrap();
    assert_eq!(records.len(), 57);
    let mut kinds = vec![];
    for r in &records {
        let typed = r.typed();
        assert_ne!(typed.kind(), EventKind::Unknown, "seq {}: {} {}", r.seq, r.event, r.detail);
        assert_eq!(typed.name(), r.event);
        assert_eq!(typed.detail(), r.detail, "seq {}", r.seq);
        let exact = AuditEvent::from_parts(&r.plan_id, &r.event, &r.address, r.detail.clone());
        assert_eq!(exact.event, typed, "seq {}", r.seq);
        if let Event::Intent(intent) = &typed {
            assert!(matches!(intent.call, Some(Call::Op(_))), "seq {}: the call reads as an Op", r.seq);
        }
        if !kinds.contains(&typed.kind()) {
            kinds.push(typed.kind());
        }
    }
    for kind in [
        EventKind::Request,
        EventKind::Approve,
        EventKind::ApplyStart,
        EventKind::Intent,
        EventKind::Outcome,
        EventKind::Completed,
        EventKind::ApplyEnd,
        EventKind::Recovery,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} in the fixture");
    }
    // Written again through the library (typed), each record's event, detail and its canonical
    // bytes are the ones the previous version wrote.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let op = Operator::new(SigningKey::from_bytes(&[9; 32]), "tester");
    let times: Vec<String> = records.iter().map(|r| r.ts.clone()).collect();
    let tick = std::sync::atomic::AtomicUsize::new(0);
    let clock =
        move || times[tick.fetch_add(1, std::sync::atomic::Ordering::SeqCst).min(times.len() - 1)].clone();
    let mut a = JsonlAudit::open(&log, op, clock).unwrap();
    for r in &records {
        a.append(AuditEvent { plan_id: r.plan_id.clone(), address: r.address.clone(), event: r.typed() })
            .unwrap();
    }
    drop(a);
    let old = fs::read_to_string(ws.path().join(".vend/audit.jsonl")).unwrap();
    let new = fs::read_to_string(&log).unwrap();
    assert_eq!(new.lines().count(), 57);
    for (o, n) in old.lines().zip(new.lines()) {
        let (o, n): (Value, Value) = (serde_json::from_str(o).unwrap(), serde_json::from_str(n).unwrap());
        for key in ["seq", "ts", "plan_id", "event", "address"] {
            assert_eq!(o[key], n[key], "{key}");
        }
        assert_eq!(
            vend::model::canonical_json(&o["detail"]),
            vend::model::canonical_json(&n["detail"]),
            "seq {}",
            o["seq"]
        );
    }
    audit::verify(&log, &audit::head_path(&log), &[]).unwrap();
}

/// A newer vend's event: unknown here, written through the library as such.
fn newer_event() -> AuditEvent {
    AuditEvent {
        plan_id: "sha256:newer".into(),
        address: "account:web-dev".into(),
        event: Event::Unknown {
            event: "budget-alarm".into(),
            detail: json!({"limit": {"usd": 100}, "op": "PutBudget", "ok": true}),
        },
    }
}

#[test]
fn an_event_this_version_does_not_know_verifies_and_is_listed_as_unknown() {
    let ws = tempfile::tempdir().unwrap();
    let log = ws.path().join(".vend/audit.jsonl");
    let op = Operator::new(SigningKey::from_bytes(&[5; 32]), "nova");
    let mut a = JsonlAudit::open(&log, op.clone(), audit::utc_now).unwrap();
    a.append(AuditEvent::from_parts(
        "",
        "request",
        "account:web-dev",
        json!({"requested_at": "2026-11-01T09:00:00Z"}),
    ))
    .unwrap();
    a.append(newer_event()).unwrap();
    a.append(AuditEvent::from_parts("p", "apply-start", "", json!({"changes": 0}))).unwrap();
    a.append(AuditEvent::from_parts("p", "apply-end", "", json!({"complete": true}))).unwrap();
    drop(a);
    // Stored as given: name and detail, chained and signed like any record.
    let records: Vec<Record> = audit::read(&log).unwrap();
    assert_eq!(records[1].event, "budget-alarm");
    assert_eq!(records[1].detail, json!({"limit": {"usd": 100}, "op": "PutBudget", "ok": true}));
    assert!(matches!(records[1].typed(), Event::Unknown { .. }));
    assert_eq!(records[1].typed(), newer_event().event);

    let verified = vend_ok(&["audit", "verify"], ws.path());
    assert!(verified.contains("is intact: 4 records"), "{verified}");
    let listed = vend_ok(&["audit", "log"], ws.path());
    let row = listed.lines().nth(1).unwrap();
    assert!(
        row.contains("budget-alarm") && row.contains("account:web-dev") && row.ends_with("unknown event"),
        "{row}"
    );
    assert!(!listed.lines().next().unwrap().contains("unknown"), "{listed}");
    let json_rows: Vec<Value> = vend_ok(&["audit", "log", "--json"], ws.path())
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(json_rows.len(), 4);
    assert_eq!(json_rows[1]["event"], "budget-alarm");
    assert_eq!(json_rows[1]["unknown_event"], true);
    assert_eq!(json_rows[1]["detail"]["limit"]["usd"], 100);
    assert!(json_rows.iter().enumerate().all(|(i, r)| (i == 1) == r.get("unknown_event").is_some()));
    // The metrics pass over it; the writer resumes after it.
    let metrics: Value = serde_json::from_str(&vend_ok(&["metrics", "--json"], ws.path())).unwrap();
    assert_eq!(metrics["applies"], 1);
    let mut a = JsonlAudit::open(&log, op, audit::utc_now).unwrap();
    assert!(a.pending_recoveries().is_empty());
    a.append(newer_event()).unwrap();
    assert!(vend_ok(&["audit", "verify"], ws.path()).contains("is intact: 5 records"));
}

#[test]
fn an_event_written_from_parts_is_typed_only_when_it_writes_back_the_same_detail() {
    let typed = AuditEvent::from_parts(
        "p",
        "apply-end",
        "",
        json!({"complete": true, "steps": {"succeeded": 1, "failed": 0, "skipped": 0}}),
    );
    assert!(matches!(typed.event, Event::ApplyEnd(_)));
    // Extra keys this version would drop: kept as given.
    let extra = AuditEvent::from_parts("p", "apply-end", "", json!({"complete": true, "by": "newer"}));
    assert!(matches!(&extra.event, Event::Unknown { event, .. } if event == "apply-end"));
    assert_eq!(extra.event.detail(), json!({"complete": true, "by": "newer"}));
    // Reading is lenient: the extra key is ignored and the apply-end is seen.
    assert!(matches!(Event::read("apply-end", &extra.event.detail()), Event::ApplyEnd(_)));
    assert_eq!(EventKind::of("budget-alarm"), EventKind::Unknown);
    assert_eq!(EventKind::of("lock-takeover"), EventKind::LockTakeover);
}

#[test]
fn a_saved_plan_of_the_previous_version_keeps_its_digest() {
    let path = root().join("tests/fixtures/compat/audit-v0.1/approved-plan.json");
    let plan = vend::adapter::fs::decode_plan(&fs::read(&path).unwrap(), "approved-plan.json").unwrap();
    assert_eq!(plan.integrity_problem(), None);
    assert_eq!(plan.digest.as_deref(), Some(plan.compute_digest().as_str()));
}
