//! Delivery metrics and the close quota from a recorded audit log with known answers. The log is
//! written by the real `JsonlAudit` with a fixed clock (so it also verifies), then read by the
//! real binary: `vend metrics --json`, `vend metrics`, and `vend apply` refusing a close over the
//! rolling 30-day quota.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::{Arc, Mutex};
use vend::adapter::audit::JsonlAudit;
use vend::adapter::keys::Operator;
use vend::port::{Audit, AuditEvent};

/// A log writer whose clock says what the test sets.
struct Recorder {
    log: JsonlAudit,
    now: Arc<Mutex<String>>,
}

impl Recorder {
    fn new(path: &Path) -> Recorder {
        Recorder::signed_by(path, Operator::generate("ops").unwrap())
    }
    fn signed_by(path: &Path, operator: Operator) -> Recorder {
        let now = Arc::new(Mutex::new(String::new()));
        let clock = now.clone();
        let log = JsonlAudit::open(path, operator, move || clock.lock().unwrap().clone()).unwrap();
        Recorder { log, now }
    }
    fn at(&mut self, ts: &str, plan_id: &str, event: &str, address: &str, detail: Value) {
        *self.now.lock().unwrap() = ts.to_string();
        self.log.append(AuditEvent::from_parts(plan_id, event, address, detail)).unwrap();
    }
    fn apply(&mut self, plan: &str, start: &str, end: &str, complete: bool) {
        self.at(start, plan, "apply-start", "", json!({ "changes": 1 }));
        self.at(end, plan, "apply-end", "", json!({ "complete": complete }));
    }
}

const ACCOUNT: &str = "account:checkout-prod";
const PIPELINE: &str = "provisioned_pipeline:checkout-prod/checkout-api";

fn recorded_log(path: &Path) {
    let mut r = Recorder::new(path);
    r.at("2026-11-01T09:00:00Z", "", "request", ACCOUNT, json!({ "requested_at": "2026-11-01T09:00:00Z" }));
    // Apply 1: the account and its pipeline are created and become ready.
    r.at("2026-11-02T10:00:00Z", "p1", "apply-start", "", json!({}));
    r.at(
        "2026-11-02T10:00:01Z",
        "p1",
        "intent",
        ACCOUNT,
        json!({ "action": "create", "call": { "op": "CreateAccount" } }),
    );
    r.at("2026-11-02T10:00:02Z", "p1", "outcome", ACCOUNT, json!({ "op": "CreateAccount", "ok": true }));
    r.at(
        "2026-11-02T10:30:00Z",
        "p1",
        "completed",
        ACCOUNT,
        json!({ "op": "DescribeCreateAccountStatus", "status": "SUCCEEDED" }),
    );
    r.at(
        "2026-11-02T10:31:00Z",
        "p1",
        "intent",
        PIPELINE,
        json!({ "action": "create", "call": { "op": "ProvisionProduct" }, "requested_at": "2026-11-01T12:00:00Z" }),
    );
    r.at("2026-11-02T10:31:01Z", "p1", "outcome", PIPELINE, json!({ "op": "ProvisionProduct", "ok": true }));
    r.at(
        "2026-11-02T11:00:00Z",
        "p1",
        "completed",
        PIPELINE,
        json!({ "op": "DescribeRecord", "status": "SUCCEEDED" }),
    );
    r.at("2026-11-02T11:00:01Z", "p1", "apply-end", "", json!({ "complete": true }));
    // Apply 2 fails (a pipeline that never became ready), apply 3 fails too, apply 4 restores.
    r.at("2026-11-05T10:00:00Z", "p2", "apply-start", "", json!({}));
    r.at(
        "2026-11-05T10:01:00Z",
        "p2",
        "intent",
        "provisioned_pipeline:search-prod/x",
        json!({ "action": "create" }),
    );
    r.at(
        "2026-11-05T10:02:00Z",
        "p2",
        "outcome",
        "provisioned_pipeline:search-prod/x",
        json!({ "op": "ProvisionProduct", "ok": false }),
    );
    r.at("2026-11-05T10:10:00Z", "p2", "apply-end", "", json!({ "complete": false }));
    r.apply("p3", "2026-11-05T12:00:00Z", "2026-11-05T12:05:00Z", false);
    r.apply("p4", "2026-11-06T10:00:00Z", "2026-11-06T10:10:00Z", true);
    // Apply 5, two weeks after the first.
    r.apply("p5", "2026-11-16T10:00:00Z", "2026-11-16T10:05:00Z", true);
}

#[test]
fn metrics_from_a_recorded_log_have_the_known_answers() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    recorded_log(&log);
    let log_arg = log.to_str().unwrap();
    let verify = run(&["--audit-log", log_arg, "audit", "verify"], dir.path());
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stderr));

    let out = run(&["--audit-log", log_arg, "metrics", "--json"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let m: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        m["lead_times"],
        json!([
            { "address": ACCOUNT, "kind": "account", "requested_at": "2026-11-01T09:00:00Z",
              "ready_at": "2026-11-02T10:30:00Z", "seconds": 91800 },
            { "address": PIPELINE, "kind": "pipeline", "requested_at": "2026-11-01T12:00:00Z",
              "ready_at": "2026-11-02T11:00:00Z", "seconds": 82800 }
        ])
    );
    assert_eq!(m["lead_time_median_seconds"], 87300);
    assert_eq!(m["not_ready"], json!(["provisioned_pipeline:search-prod/x"]));
    assert_eq!(m["applies"], 5);
    assert_eq!(m["failed_applies"], 2);
    assert_eq!(m["weeks"], 2.0);
    assert_eq!(m["applies_per_week"], 2.5);
    assert_eq!(m["change_failure_rate"], 0.4);
    assert_eq!(
        m["restores"],
        json!([{ "failed_plan_id": "p2", "failed_at": "2026-11-05T10:10:00Z",
                 "restored_plan_id": "p4", "restored_at": "2026-11-06T10:10:00Z", "seconds": 86400 }])
    );
    assert_eq!(m["mean_time_to_restore_seconds"], 86400);

    let out = run(&["--audit-log", log_arg, "metrics"], dir.path());
    let t = text(&out.stdout);
    for needle in [
        "account:checkout-prod",
        "1d 1h 30m",
        "median: 1d 0h 15m",
        "5 applies over 2.0 week(s): 2.50 per week",
        "change failure rate: 40.0% (2 of 5 failed)",
        "time to restore: 1d 0h 0m (mean of 1)",
    ] {
        assert!(t.contains(needle), "missing {needle:?} in:\n{t}");
    }
}

#[test]
fn an_empty_log_has_no_metrics_yet() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["--audit-log", "none.jsonl", "metrics", "--json"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let m: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((m["applies"].as_u64(), &m["change_failure_rate"]), (Some(0), &Value::Null));
}

/// A workspace planning one close (fixture case 11) with `close_quota_30d: 1`, and a log
/// holding one successful CloseAccount `days_ago`, signed by the key of the config dir returned
/// (the operator who applies: without pinned operators only the log's first key may append).
fn close_workspace(days_ago: i64) -> (tempfile::TempDir, tempfile::TempDir) {
    let base = root().join("tests/fixtures/plan/_base");
    let ws =
        materialize(&base, &base.join("state.json"), &root().join("tests/fixtures/plan/11-close-account"));
    let settings = ws.path().join("catalog/vend.yaml");
    let text = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(&settings, format!("{text}close_quota_30d: 1\n")).unwrap();
    let when = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * days_ago);
    let ts = when.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let config = tempfile::tempdir().unwrap();
    let (operator, _) =
        vend::adapter::keys::load_or_create(vend::adapter::keys::KeyStore::FileOnly, config.path(), "ops")
            .unwrap();
    let mut r = Recorder::signed_by(&ws.path().join(".vend/audit.jsonl"), operator);
    r.at(&ts, "p0", "intent", "account:old-app", json!({ "action": "close" }));
    r.at(&ts, "p0", "outcome", "account:old-app", json!({ "op": "CloseAccount", "ok": true }));
    (ws, config)
}

fn apply_close((ws, config): &(tempfile::TempDir, tempfile::TempDir)) -> std::process::Output {
    let ws = ws.path();
    let args =
        ["-C", ".", "--state", "state.json", "apply", "--auto-approve", "--allow-close", "search-prod"];
    vend()
        .args(args)
        .current_dir(ws)
        .env("XDG_CONFIG_HOME", config.path())
        .env("VEND_KEY_STORE", "file")
        .output()
        .unwrap()
}

#[test]
fn a_close_over_the_rolling_30_day_quota_is_refused_naming_the_numbers() {
    let ws = close_workspace(3);
    let out = apply_close(&ws);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(
        err.contains("the plan closes 1 account(s) and 1 were closed in the last 30 days: 2 would exceed the rolling 30-day close quota of 1"),
        "{err}"
    );
    let state = std::fs::read_to_string(ws.0.path().join("state.json")).unwrap();
    assert!(!state.contains("PENDING_CLOSURE") && !state.contains("SUSPENDED"), "nothing was closed");
}

#[test]
fn closes_older_than_30_days_do_not_count() {
    let ws = close_workspace(40);
    let out = apply_close(&ws);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
}

#[test]
fn an_apply_records_request_times_so_lead_times_come_from_the_real_log() {
    let base = root().join("tests/fixtures/plan/_base");
    let ws = materialize(
        &base,
        &base.join("state.json"),
        &root().join("tests/fixtures/plan/26-new-account-with-pipeline"),
    );
    let config = tempfile::tempdir().unwrap();
    let out = vend()
        .args(["-C", ".", "--state", "state.json", "apply", "--auto-approve", "--poll-interval-ms", "10"])
        .current_dir(ws.path())
        .env("XDG_CONFIG_HOME", config.path())
        .env("VEND_KEY_STORE", "file")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let out = run(&["-C", ".", "metrics", "--json"], ws.path());
    let m: Value = serde_json::from_slice(&out.stdout).unwrap();
    let lead: Vec<(&str, &str)> = m["lead_times"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["address"].as_str().unwrap(), l["requested_at"].as_str().unwrap()))
        .collect();
    assert_eq!(
        lead,
        vec![
            ("account:checkout-prod", "2026-11-21T14:00:00Z"),
            ("provisioned_pipeline:checkout-prod/checkout-api", "2026-11-21T14:05:00Z")
        ]
    );
    assert_eq!((m["applies"].as_u64(), m["failed_applies"].as_u64()), (Some(1), Some(0)));
}
