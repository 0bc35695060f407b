//! Apply on the embedded backend: the acceptance flow through the binary (plan, apply, re-plan,
//! verify), stale-plan and workspace-edit refusal, confirmation rules, the lock, and failures
//! injected at step k (library level) that leave the state file and audit log consistent, with
//! the next plan showing exactly what is left.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use vend::adapter::audit::{self, JsonlAudit};
use vend::adapter::faulty_cloud::{FaultPoint, FaultyCloud};
use vend::adapter::keys::{self, KeyStore};
use vend::adapter::local_cloud::LocalCloud;
use vend::engine::{self, Options};
use vend::port::{Clock, Cloud};

fn demo() -> tempfile::TempDir {
    demo_workspace()
}

#[test]
fn plan_apply_replan_verify_on_the_demo() {
    let ws = demo();
    let cfg = tempfile::tempdir().unwrap();
    let out = vend_in(ws.path(), cfg.path(), &["plan", "--out", "p.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = vend_in(ws.path(), cfg.path(), &["apply", "p.json", "--auto-approve"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("Apply complete! 24 change(s) applied"), "{stdout}");
    let err = text(&out.stderr);
    assert!(
        err.contains("signed with the operator key") && err.contains("key file"),
        "key file announced: {err}"
    );
    let out = vend_in(ws.path(), cfg.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("No changes."));
    let out = vend_in(ws.path(), cfg.path(), &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("is intact"));
    // The log holds start, intent/outcome pairs with request ids, and end.
    let records = audit::read(&ws.path().join(".vend/audit.jsonl")).unwrap();
    assert_eq!(records.first().unwrap().event, "apply-start");
    assert_eq!(records.last().unwrap().event, "apply-end");
    let intents = records.iter().filter(|r| r.event == "intent").count();
    let outcomes: Vec<_> = records.iter().filter(|r| r.event == "outcome").collect();
    assert_eq!(intents, outcomes.len());
    assert!(outcomes.iter().all(|r| r.detail["request_id"].as_str().is_some_and(|s| !s.is_empty())));
    assert!(records.iter().all(|r| r.actor.user == "tester"));
    // The saved plan cannot be applied twice: the state moved.
    let out = vend_in(ws.path(), cfg.path(), &["apply", "p.json", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("is stale"), "{}", text(&out.stderr));
    let listing = vend_in(ws.path(), cfg.path(), &["audit", "log"]);
    assert!(text(&listing.stdout).contains("CreateAccount ok"));
}

#[test]
fn a_stale_state_is_refused() {
    let ws = demo();
    let cfg = tempfile::tempdir().unwrap();
    assert_eq!(vend_in(ws.path(), cfg.path(), &["plan", "--out", "p.json"]).status.code(), Some(0));
    // Someone changes the organization after the plan was made: an account the plan retags
    // (cost-center 4711 -> 4712) is retagged outside vend. (A change to something the plan does
    // not touch leaves it applyable: tests/scoped_stale.rs.)
    let state_path = ws.path().join(".vend/state.json");
    let state = fs::read_to_string(&state_path).unwrap();
    // Edited by hand, the file would be refused for its digest; without one it is a hand-written
    // snapshot, accepted after the structural checks.
    let mut state: serde_json::Value = serde_json::from_str(&state).unwrap();
    state.as_object_mut().unwrap().remove("digest");
    let accounts = state["accounts"].as_array_mut().unwrap();
    let prod = accounts.iter_mut().find(|a| a["name"] == "payments-prod").unwrap();
    prod["tags"]["cost-center"] = serde_json::json!("4710");
    fs::write(&state_path, serde_json::to_string_pretty(&state).unwrap()).unwrap();
    let out = vend_in(ws.path(), cfg.path(), &["apply", "p.json", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("is stale") && err.contains("account:payments-prod changed since it was planned"),
        "{err}"
    );
    assert!(!ws.path().join(".vend/audit.jsonl").exists(), "nothing was applied or logged");
}

#[test]
fn a_workspace_edit_after_planning_is_refused() {
    let ws = demo();
    let cfg = tempfile::tempdir().unwrap();
    assert_eq!(vend_in(ws.path(), cfg.path(), &["plan", "--out", "p.json"]).status.code(), Some(0));
    let f = ws.path().join("catalog/accounts/payments-prod.yaml");
    fs::write(&f, fs::read_to_string(&f).unwrap().replace("4712", "4713")).unwrap();
    let out = vend_in(ws.path(), cfg.path(), &["apply", "p.json", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("workspace (catalog/ or blueprints/) changed"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn without_a_terminal_apply_refuses_instead_of_waiting() {
    let ws = demo();
    let cfg = tempfile::tempdir().unwrap();
    let out = vend_in(ws.path(), cfg.path(), &["apply"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no terminal to confirm on"), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Plan: "), "the plan is shown first");
    assert!(!ws.path().join(".vend/audit.jsonl").exists());
}

#[test]
fn a_close_needs_allow_close_even_with_auto_approve() {
    let ws = demo();
    let cfg = tempfile::tempdir().unwrap();
    let f = ws.path().join("catalog/accounts/sandbox-bob.yaml");
    fs::write(&f, format!("{}lifecycle: close\n", fs::read_to_string(&f).unwrap())).unwrap();
    let out = vend_in(ws.path(), cfg.path(), &["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--allow-close sandbox-bob"), "{}", text(&out.stderr));
    let out = vend_in(ws.path(), cfg.path(), &["apply", "--auto-approve", "--allow-close", "sandbox-bob"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let state = fs::read_to_string(ws.path().join(".vend/state.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&state).unwrap();
    let bob = v["accounts"].as_array().unwrap().iter().find(|a| a["name"] == "sandbox-bob").unwrap();
    assert_eq!(bob["state"], "SUSPENDED");
}

#[test]
fn a_second_apply_is_refused_while_one_holds_the_lock() {
    let ws = demo();
    let cfg = tempfile::tempdir().unwrap();
    let held =
        vend::adapter::lock::acquire(&ws.path().join(".vend/lock"), "alice", "2026-11-22T10:00:00Z", None)
            .unwrap();
    let out = vend_in(ws.path(), cfg.path(), &["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("another apply holds the lock") && err.contains("user alice"), "{err}");
    assert!(err.contains(&format!("pid {}", std::process::id())), "{err}");
    let out = vend_in(ws.path(), cfg.path(), &["apply", "--auto-approve", "--lock-timeout", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("gave up after 1 s"), "{}", text(&out.stderr));
    drop(held);
    let out = vend_in(ws.path(), cfg.path(), &["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

struct NoWait;
impl Clock for NoWait {
    fn now(&self) -> String {
        "2026-11-22T12:00:00Z".into()
    }
    fn sleep(&self, _millis: u64) {}
}

fn plan_for(ws: &Path, cloud: &mut dyn Cloud) -> vend::plan::Plan {
    let files = vend::adapter::fs::read_workspace(ws).unwrap();
    let loaded = vend::workspace::load(&files);
    assert!(!loaded.diagnostics.iter().any(|d| d.is_error()));
    vend::plan::build(&loaded.desired, &cloud.read_state().unwrap())
}

fn addresses(p: &vend::plan::Plan) -> BTreeSet<String> {
    p.changes.iter().map(|c| c.address.to_string()).collect()
}

/// A demo workspace with its own state file, audit log and operator key, and its first plan.
struct Run {
    ws: tempfile::TempDir,
    cfg: tempfile::TempDir,
    state_path: std::path::PathBuf,
    log: std::path::PathBuf,
    operator: keys::Operator,
    opts: Options,
    first: vend::plan::Plan,
}

impl Run {
    fn new() -> Run {
        let ws = demo();
        let cfg = tempfile::tempdir().unwrap();
        let state_path = ws.path().join("state.json");
        fs::copy(root().join("snapshots/demo.state.json"), &state_path).unwrap();
        let log = ws.path().join("audit.jsonl");
        let (operator, _) = keys::load_or_create(KeyStore::FileOnly, cfg.path(), "tester").unwrap();
        let opts = Options { max_polls: 3, poll_interval_ms: 0, ..Options::default() };
        let first = plan_for(ws.path(), &mut LocalCloud::open(&state_path).unwrap());
        Run { ws, cfg, state_path, log, operator, opts, first }
    }
}

/// Fail the k-th write before it happens: the state file and the log stay consistent, the next
/// plan is exactly what did not complete, and applying it finishes the job.
#[test]
fn a_failure_at_step_k_leaves_state_and_log_consistent_and_the_rest_is_planned() {
    let mut ks = vec![];
    for k in [1u64, 2, 3, 5, 8, 12, 16, 20] {
        let Run { ws, cfg: _cfg, state_path, log, operator, opts, first } = Run::new();
        let report = {
            let mut cloud = FaultyCloud::new(LocalCloud::open(&state_path).unwrap(), k, FaultPoint::Before);
            let mut audit =
                JsonlAudit::open(&log, operator.clone(), || "2026-11-22T12:00:00Z".into()).unwrap();
            engine::apply(&first, &mut cloud, &mut audit, &NoWait, &opts, &mut |_| {}).unwrap()
        };
        if report.is_complete() {
            continue; // fewer than k writes in this plan
        }
        ks.push(k);
        audit::verify(&log, &audit::head_path(&log), &[]).unwrap_or_else(|e| panic!("k={k}: {e}"));
        // The state file re-reads cleanly; the next plan is exactly the unfinished part.
        let mut cloud = LocalCloud::open(&state_path).unwrap();
        let next = plan_for(ws.path(), &mut cloud);
        let done: BTreeSet<String> = report
            .steps
            .iter()
            .filter(|s| s.status == engine::StepStatus::Succeeded)
            .map(|s| s.address.clone())
            .collect();
        let expected: BTreeSet<String> = addresses(&first).difference(&done).cloned().collect();
        assert_eq!(addresses(&next), expected, "k={k}: the next plan must be what is left");
        // Resume: apply the rest, then nothing is left and the log still verifies.
        let mut audit = JsonlAudit::open(&log, operator.clone(), || "2026-11-22T12:01:00Z".into()).unwrap();
        let report = engine::apply(&next, &mut cloud, &mut audit, &NoWait, &opts, &mut |_| {}).unwrap();
        assert!(report.is_complete(), "k={k}: {:?}", report.failed());
        assert!(plan_for(ws.path(), &mut cloud).changes.is_empty(), "k={k}");
        audit::verify(&log, &audit::head_path(&log), &[]).unwrap_or_else(|e| panic!("k={k}: {e}"));
    }
    assert!(ks.len() >= 6, "faults fired at {ks:?}");
}

/// A lost response (the write happened, the answer did not arrive), at every write of the demo:
/// planning again and applying finishes with no account created twice and a log that verifies.
#[test]
fn a_lost_response_anywhere_is_resumed_without_duplicates() {
    for k in 1u64..=20 {
        let Run { ws, cfg: _cfg, state_path, log, operator, opts, first } = Run::new();
        {
            let mut cloud = FaultyCloud::new(LocalCloud::open(&state_path).unwrap(), k, FaultPoint::After);
            let mut audit =
                JsonlAudit::open(&log, operator.clone(), || "2026-11-22T12:00:00Z".into()).unwrap();
            engine::apply(&first, &mut cloud, &mut audit, &NoWait, &opts, &mut |_| {}).unwrap();
        }
        let mut cloud = LocalCloud::open(&state_path).unwrap();
        for _round in 0..3 {
            let next = plan_for(ws.path(), &mut cloud);
            if next.changes.is_empty() {
                break;
            }
            let mut audit =
                JsonlAudit::open(&log, operator.clone(), || "2026-11-22T12:01:00Z".into()).unwrap();
            engine::apply(&next, &mut cloud, &mut audit, &NoWait, &opts, &mut |_| {}).unwrap();
        }
        assert!(plan_for(ws.path(), &mut cloud).changes.is_empty(), "k={k}: converged");
        let state = cloud.read_state().unwrap();
        let emails: Vec<&str> = state.accounts.iter().map(|a| a.email.as_str()).collect();
        let unique: BTreeSet<&str> = emails.iter().copied().collect();
        assert_eq!(emails.len(), unique.len(), "k={k}: an account was created twice");
        assert_eq!(state.accounts.iter().filter(|a| a.name == "search-staging").count(), 1, "k={k}");
        audit::verify(&log, &audit::head_path(&log), &[]).unwrap_or_else(|e| panic!("k={k}: {e}"));
    }
}

/// A write turned away (throttling) or answered with a server error that hid nothing, at every
/// write of the demo: the engine sends it again — CreateAccount and MoveAccount only after
/// finding out that they did not happen — and the one apply finishes everything.
#[test]
fn rejected_and_server_error_writes_are_sent_again_within_the_apply() {
    for point in [FaultPoint::Rejected, FaultPoint::ServerError] {
        for k in 1u64..=20 {
            let Run { ws, cfg: _cfg, state_path, log, operator, opts, first } = Run::new();
            let (report, fired) = {
                let mut cloud = FaultyCloud::new(LocalCloud::open(&state_path).unwrap(), k, point);
                let mut audit =
                    JsonlAudit::open(&log, operator.clone(), || "2026-11-22T12:00:00Z".into()).unwrap();
                let report =
                    engine::apply(&first, &mut cloud, &mut audit, &NoWait, &opts, &mut |_| {}).unwrap();
                (report, cloud.fired().to_vec())
            };
            assert!(report.is_complete(), "{point:?} k={k} ({fired:?}): {:?}", report.failed());
            let mut cloud = LocalCloud::open(&state_path).unwrap();
            assert!(plan_for(ws.path(), &mut cloud).changes.is_empty(), "{point:?} k={k}");
            let state = cloud.read_state().unwrap();
            assert_eq!(state.accounts.iter().filter(|a| a.name == "search-staging").count(), 1, "k={k}");
            assert_eq!(
                state.create_account_requests.iter().filter(|r| r.account_name == "search-staging").count(),
                1,
                "{point:?} k={k}: CreateAccount sent once"
            );
            audit::verify(&log, &audit::head_path(&log), &[]).unwrap_or_else(|e| panic!("k={k}: {e}"));
        }
    }
}

/// A lost response to CreateAccount or MoveAccount is settled within the same apply: the
/// engine asks AWS what happened (ListCreateAccountStatus, ListParents) instead of resending,
/// and carries on.
#[test]
fn a_lost_create_or_move_response_is_reconciled_within_the_apply() {
    let mut seen = BTreeSet::new();
    for k in 1u64..=20 {
        let Run { ws, cfg: _cfg, state_path, log, operator, opts, first } = Run::new();
        let (report, fired) = {
            let mut cloud = FaultyCloud::new(LocalCloud::open(&state_path).unwrap(), k, FaultPoint::After);
            let mut audit =
                JsonlAudit::open(&log, operator.clone(), || "2026-11-22T12:00:00Z".into()).unwrap();
            let report = engine::apply(&first, &mut cloud, &mut audit, &NoWait, &opts, &mut |_| {}).unwrap();
            (report, cloud.fired().to_vec())
        };
        let Some((_, op, _)) = fired.first() else { continue };
        if op != "CreateAccount" && op != "MoveAccount" {
            continue;
        }
        seen.insert(op.clone());
        assert!(report.is_complete(), "k={k} ({op}): {:?}", report.failed());
        let mut cloud = LocalCloud::open(&state_path).unwrap();
        assert!(plan_for(ws.path(), &mut cloud).changes.is_empty(), "k={k}");
        let state = cloud.read_state().unwrap();
        assert_eq!(
            state.create_account_requests.iter().filter(|r| r.account_name == "search-staging").count(),
            1
        );
        let log_text = fs::read_to_string(&log).unwrap();
        assert!(log_text.contains("reconciled:"), "k={k}: the outcome record says it was reconciled");
        audit::verify(&log, &audit::head_path(&log), &[]).unwrap_or_else(|e| panic!("k={k}: {e}"));
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["CreateAccount", "MoveAccount"]);
}

/// Run vend on a pseudo-terminal (util-linux `script`), typing `input`.
fn vend_on_tty(ws: &Path, cfg: &Path, args: &str, input: &str) -> (Option<i32>, String) {
    use std::io::Write;
    let cmd = format!("{} {args}", env!("CARGO_BIN_EXE_vend"));
    let mut child = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(ws)
        .env("XDG_CONFIG_HOME", cfg)
        .env("VEND_KEY_STORE", "file")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs vend on a pseudo-terminal");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code(), text(&out.stdout))
}

#[test]
fn interactive_apply_asks_for_yes_and_for_each_closed_account_name() {
    let ws = demo();
    let cfg = tempfile::tempdir().unwrap();
    let (code, screen) = vend_on_tty(ws.path(), cfg.path(), "apply", "no\n");
    assert_eq!(code, Some(1), "{screen}");
    assert!(
        screen.contains("Only 'yes' will be accepted") && screen.contains("Apply cancelled."),
        "{screen}"
    );
    assert!(!ws.path().join(".vend/audit.jsonl").exists());

    let f = ws.path().join("catalog/accounts/sandbox-bob.yaml");
    fs::write(&f, format!("{}lifecycle: close\n", fs::read_to_string(&f).unwrap())).unwrap();
    let (code, screen) = vend_on_tty(ws.path(), cfg.path(), "apply", "yes\nsandbox-alice\n");
    assert_eq!(code, Some(1), "{screen}");
    assert!(
        screen.contains("Type its name to confirm") && screen.contains("is not 'sandbox-bob'"),
        "{screen}"
    );
    assert!(!ws.path().join(".vend/audit.jsonl").exists());

    let (code, screen) = vend_on_tty(ws.path(), cfg.path(), "apply", "yes\nsandbox-bob\n");
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("Apply complete!"), "{screen}");
}

#[test]
fn a_torn_last_line_is_reported_and_the_next_apply_records_the_recovery() {
    let ws = demo();
    let cfg = tempfile::tempdir().unwrap();
    assert_eq!(vend_in(ws.path(), cfg.path(), &["apply", "--auto-approve"]).status.code(), Some(0));
    let log = ws.path().join(".vend/audit.jsonl");
    let mut f = fs::OpenOptions::new().append(true).open(&log).unwrap();
    std::io::Write::write_all(&mut f, b"{\"v\":1,\"seq\":99,\"ts\"").unwrap();
    drop(f);
    let out = vend_in(ws.path(), cfg.path(), &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("torn final line"), "{}", text(&out.stderr));
    let p = ws.path().join("catalog/accounts/payments-prod.yaml");
    fs::write(&p, fs::read_to_string(&p).unwrap().replace("4712", "4713")).unwrap();
    let out = vend_in(ws.path(), cfg.path(), &["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("records the recovery"), "{}", text(&out.stderr));
    let out = vend_in(ws.path(), cfg.path(), &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(audit::read(&log).unwrap().iter().any(|r| r.event == "recovery"));
}

/// Apply `plan` on the run's state file through a `FaultyCloud` that fails every call of `op` at
/// `point`; returns the report and the Retrying events.
fn apply_with_op_fault(
    run: &Run,
    plan: &vend::plan::Plan,
    op: &str,
    point: FaultPoint,
    extra: Option<(u64, FaultPoint)>,
) -> (engine::Report, Vec<engine::EngineEvent>) {
    let mut cloud =
        FaultyCloud::passthrough(LocalCloud::open(&run.state_path).unwrap()).with_op_fault(op, point);
    if let Some((k, p)) = extra {
        cloud = cloud.with_fault(k, p);
    }
    let mut audit =
        JsonlAudit::open(&run.log, run.operator.clone(), || "2026-11-22T12:00:00Z".into()).unwrap();
    let mut retries = vec![];
    let report = engine::apply(plan, &mut cloud, &mut audit, &NoWait, &run.opts, &mut |e| {
        if matches!(e, engine::EngineEvent::Retrying { .. }) {
            retries.push(e);
        }
    })
    .unwrap();
    (report, retries)
}

/// After a failed apply: the log verifies, the next plan is exactly what did not complete, and
/// applying it without faults finishes the job (nothing left, the log still verifies).
fn assert_rest_is_planned_and_applies(run: &Run, report: &engine::Report, label: &str) {
    audit::verify(&run.log, &audit::head_path(&run.log), &[]).unwrap_or_else(|e| panic!("{label}: {e}"));
    let mut cloud = LocalCloud::open(&run.state_path).unwrap();
    let next = plan_for(run.ws.path(), &mut cloud);
    let done: BTreeSet<String> = report
        .steps
        .iter()
        .filter(|s| s.status == engine::StepStatus::Succeeded)
        .map(|s| s.address.clone())
        .collect();
    let expected: BTreeSet<String> = addresses(&run.first).difference(&done).cloned().collect();
    assert_eq!(addresses(&next), expected, "{label}: the next plan must be what is left");
    let mut audit =
        JsonlAudit::open(&run.log, run.operator.clone(), || "2026-11-22T12:01:00Z".into()).unwrap();
    let again = engine::apply(&next, &mut cloud, &mut audit, &NoWait, &run.opts, &mut |_| {}).unwrap();
    assert!(again.is_complete(), "{label}: {:?}", again.failed());
    assert!(plan_for(run.ws.path(), &mut cloud).changes.is_empty(), "{label}: converged");
    let state = cloud.read_state().unwrap();
    assert_eq!(state.accounts.iter().filter(|a| a.name == "search-staging").count(), 1, "{label}");
    audit::verify(&run.log, &audit::head_path(&run.log), &[]).unwrap_or_else(|e| panic!("{label}: {e}"));
}

/// A write AWS turns away at every attempt (100 % throttling of one operation): the retry budget
/// runs out loudly — each such step fails with its address, the operation, the number of
/// attempts and the last error, and its outcome record says so — the other steps still run, and
/// the next plan is exactly what is left.
#[test]
fn a_write_rejected_at_every_attempt_gives_up_loudly_and_the_rest_is_planned() {
    let run = Run::new();
    let (report, retries) = apply_with_op_fault(&run, &run.first, "AttachPolicy", FaultPoint::Rejected, None);
    let failed = report.failed();
    assert!(!failed.is_empty() && report.succeeded() > 0, "{:?}", report.steps);
    let attempts = run.opts.max_attempts;
    for s in &failed {
        let e = s.error.as_deref().unwrap();
        assert!(s.address.starts_with("policy_attachment:"), "{}: {e}", s.address);
        assert!(
            e.starts_with(&format!(
                "{}: AttachPolicy gave up after {attempts} attempts: InjectedFault: ",
                s.address
            )),
            "{e}"
        );
    }
    // attempts - 1 retries per failed step, each announced.
    assert_eq!(retries.len(), failed.len() * (attempts as usize - 1), "{retries:?}");
    let records = audit::read(&run.log).unwrap();
    for s in &failed {
        let outcome = records
            .iter()
            .rev()
            .find(|r| r.event == "outcome" && r.address == s.address)
            .unwrap_or_else(|| panic!("{}: no outcome record", s.address));
        assert_eq!(outcome.detail["ok"], false);
        assert_eq!(outcome.detail["attempts"], attempts);
        assert_eq!(outcome.detail["gave_up"], true);
        assert_eq!(outcome.detail["error"]["code"], "InjectedFault");
    }
    let end = records.iter().rev().find(|r| r.event == "apply-end").unwrap();
    assert_eq!(end.detail["complete"], false);
    assert_rest_is_planned_and_applies(&run, &report, "AttachPolicy throttled");
}

/// A status poll AWS turns away at every attempt: the account creation step fails naming the
/// poll and the attempts; the request made is kept in the state, so the next plan resumes it
/// (no second CreateAccount).
#[test]
fn a_poll_rejected_at_every_attempt_gives_up_loudly_and_the_creation_is_resumed() {
    let run = Run::new();
    let (report, _) =
        apply_with_op_fault(&run, &run.first, "DescribeCreateAccountStatus", FaultPoint::Rejected, None);
    // The demo creates two accounts (checkout-staging, search-staging): both polls give up.
    let failed = report.failed();
    assert_eq!(failed.len(), 2, "{:?}", report.steps);
    for (s, name) in failed.iter().zip(["checkout-staging", "search-staging"]) {
        let e = s.error.as_deref().unwrap();
        assert!(
            e.starts_with(&format!(
                "account:{name}: DescribeCreateAccountStatus gave up after 5 attempts: InjectedFault"
            )),
            "{e}"
        );
    }
    assert_rest_is_planned_and_applies(&run, &report, "DescribeCreateAccountStatus throttled");
    let state = LocalCloud::open(&run.state_path).unwrap().read_state().unwrap();
    for name in ["checkout-staging", "search-staging"] {
        assert_eq!(
            state.create_account_requests.iter().filter(|r| r.account_name == name).count(),
            1,
            "{name}: CreateAccount sent once"
        );
    }
}

/// A CreateAccount answered with a server error, and the read that would settle it
/// (ListCreateAccountStatus + ListAccounts) turned away at every attempt: the engine does not
/// resend, it stops the step saying it cannot tell (and why, with the attempts); the next plan
/// finds the account request and the account is created once.
#[test]
fn an_ambiguous_create_whose_reconciliation_read_gives_up_is_not_resent() {
    let run = Run::new();
    // Which mutating call is the CreateAccount?
    let k = {
        let mut cloud = FaultyCloud::passthrough(LocalCloud::open(&run.state_path).unwrap());
        let ws = demo();
        let log = ws.path().join("probe.jsonl");
        let mut audit =
            JsonlAudit::open(&log, run.operator.clone(), || "2026-11-22T12:00:00Z".into()).unwrap();
        let mut n = 0;
        let mut seen = None;
        engine::apply(&run.first, &mut cloud, &mut audit, &NoWait, &run.opts, &mut |e| {
            if let engine::EngineEvent::Called { op, .. } = &e
                && !["DescribeCreateAccountStatus", "DescribePortfolioShareStatus", "DescribeRecord"]
                    .contains(&op.as_str())
            {
                n += 1;
                if op == "CreateAccount" {
                    seen = Some(n);
                }
            }
        })
        .unwrap();
        // Start again from the demo state (once the probe's cloud has finished with the file).
        drop(cloud);
        fs::copy(root().join("snapshots/demo.state.json"), &run.state_path).unwrap();
        seen.unwrap()
    };
    let (report, _) = apply_with_op_fault(
        &run,
        &run.first,
        "FindCreateAccount",
        FaultPoint::Rejected,
        Some((k, FaultPoint::ServerError)),
    );
    let failed = report.failed();
    assert_eq!(failed.len(), 1, "{:?}", report.steps);
    let e = failed[0].error.as_deref().unwrap();
    assert!(e.starts_with("account:search-staging: CreateAccount: InjectedFault"), "{e}");
    assert!(
        e.contains("cannot tell whether it was carried out: FindCreateAccount gave up after 5 attempts"),
        "{e}"
    );
    assert!(e.contains("the outcome is unknown"), "{e}");
    assert_rest_is_planned_and_applies(&run, &report, "FindCreateAccount throttled");
}
