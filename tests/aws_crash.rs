//! Crash tests against the emulator: `vend apply --aws` is SIGKILLed while the emulator holds
//! the response of one operation that has already run (the emulator's `hold` script fault), i.e.
//! between a write and its outcome record. Then, with the faults cleared, a second
//! `vend apply --aws --auto-approve` must finish the work: every requested account exists exactly
//! once (by e-mail), `vend audit verify` exits 0 (the torn or open intent is recovered) and a
//! re-plan is empty (`plan --detailed-exitcode` exits 0). One case per crash point, each on a
//! freshly seeded demo organization; the cases share one emulator and run one at a time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

mod emulator_harness;

use emulator_harness::lock;
use emulator_harness::seed::{demo, seed_catalog, seed_organization};
use emulator_harness::workspace::{VendWorkspace, describe, list_accounts};
use serde_json::{Value, json};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// How long the first apply may take to reach the held operation.
const HOLD_DEADLINE: Duration = Duration::from_secs(90);

/// A crash point: the operation (`service.Operation`, as the emulator's stats name it), how many
/// matching calls to let through first, and extra emulator configuration.
struct Point {
    op: &'static str,
    after: u32,
    config: Value,
}

fn point(op: &'static str, after: u32) -> Point {
    Point { op, after, config: json!({}) }
}

/// The address of the last intent without an outcome in the audit log: the write in flight.
fn in_flight(ws: &VendWorkspace) -> String {
    let records = ws.audit_records();
    let mut open: Vec<(String, String)> = vec![];
    for r in &records {
        let address = r["address"].as_str().unwrap_or_default().to_string();
        match r["event"].as_str() {
            Some("intent") => {
                let call = r["detail"]["call"]["op"].as_str().unwrap_or_default().to_string();
                open.push((address, call))
            }
            Some("outcome") => {
                if let Some(i) = open.iter().rposition(|(a, _)| *a == address) {
                    open.remove(i);
                }
            }
            _ => {}
        }
    }
    match open.last() {
        Some((a, call)) => format!("{a} ({call})"),
        None => "no open intent (a read was held)".into(),
    }
}

/// Start `vend apply`, wait until the emulator holds `p.op`, SIGKILL vend, clear the faults,
/// apply again, and check the organization, the audit log and the re-plan.
fn crash_at(p: Point) {
    let started = Instant::now();
    let (_guard, emu) = lock();
    let mut ids = seed_organization(emu);
    seed_catalog(emu, &mut ids);
    let mgmt = ids[&demo().organization.management_account_id].clone();
    let ws = VendWorkspace::new(emu, &mgmt);

    let mut config = p.config.clone();
    config["script"] = json!([{ "match": p.op, "fault": "hold", "after": p.after, "hold_ms": 120000 }]);
    emu.set_faults(&config);
    let (status, body) = emu.http("POST", "/_vend/stats/reset", "");
    assert_eq!(status, 200, "{body}");

    let out_path = ws.dir.path().join("first-apply.out");
    let out = std::fs::File::create(&out_path).unwrap();
    let mut child = ws
        .command(&["apply", "--auto-approve", "--poll-interval-ms", "50"])
        .stdin(Stdio::null())
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(out))
        .spawn()
        .unwrap();
    let deadline = Instant::now() + HOLD_DEADLINE;
    loop {
        let stats = emu.stats();
        if stats["faults"][p.op]["hold"].as_u64().unwrap_or(0) >= 1 {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "{} after {}: vend apply ended ({status}) before the hold fired\n{}\nstats: {stats}",
                p.op,
                p.after,
                std::fs::read_to_string(&out_path).unwrap_or_default()
            );
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{} after {}: the hold did not fire within {HOLD_DEADLINE:?}; stats: {stats}",
                p.op, p.after
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // The operation has run and vend waits for its answer: crash now.
    child.kill().unwrap(); // SIGKILL
    let killed = child.wait().unwrap();
    assert!(!killed.success());
    let flight = in_flight(&ws);
    emu.set_faults(&json!({ "script": [] }));
    emu.release();

    let second = ws.run(&["apply", "--auto-approve", "--poll-interval-ms", "50"]);
    let recovered = String::from_utf8_lossy(&second.stderr).contains("interrupted by a crash");
    assert!(
        second.status.success(),
        "{} after {} (in flight: {flight}): the second apply failed\n{}\nfirst apply:\n{}",
        p.op,
        p.after,
        describe(&second),
        std::fs::read_to_string(&out_path).unwrap_or_default()
    );

    // CreateAccount has no idempotency token: the demo creates one account, so exactly one
    // CreateAccount may have been sent over both applies (a resend would show here even though
    // the emulator refuses the duplicate e-mail).
    let creates = emu.stats()["services"]["organizations"]["CreateAccount"].as_u64().unwrap_or(0);
    assert_eq!(
        creates, 1,
        "{} after {} (in flight: {flight}): CreateAccount sent {creates} times",
        p.op, p.after
    );

    // Every requested account exists exactly once.
    let accounts = list_accounts(emu, false);
    for (name, email) in ws.requested_emails() {
        let n = accounts.iter().filter(|a| a.email.eq_ignore_ascii_case(&email)).count();
        assert_eq!(
            n, 1,
            "{} after {}: account {name} <{email}> exists {n} times: {accounts:#?}",
            p.op, p.after
        );
    }

    let verify = ws.run(&["audit", "verify"]);
    assert!(verify.status.success(), "{}: audit verify\n{}", p.op, describe(&verify));

    // A pipeline launched just before the crash may still be UNDER_CHANGE: vend skips it with a
    // `pipeline-busy` warning ("plan again when it settles"). The emulator, like AWS, finishes
    // it on its own (`record_settle_ms`): wait for that, then re-plan.
    let mut settled = vec![];
    let deadline = Instant::now() + Duration::from_secs(20);
    while String::from_utf8_lossy(&ws.run(&["plan", "--json"]).stdout).contains("pipeline-busy") {
        assert!(Instant::now() < deadline, "{}: a pipeline stays UNDER_CHANGE", p.op);
        settled.push("waited");
        std::thread::sleep(Duration::from_millis(500));
    }

    ws.assert_empty_replan(&format!(
        "{} after {} (in flight: {flight}; recovery reported: {recovered}; settled {settled:?})",
        p.op, p.after
    ));
    eprintln!(
        "crash at {} (after {}): in flight {flight}; recovery reported: {recovered}; settled after the re-apply: {settled:?}; {:.1}s",
        p.op,
        p.after,
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn crash_after_create_account_runs() {
    crash_at(point("organizations.CreateAccount", 0));
}

#[test]
fn crash_after_create_account_runs_while_in_progress() {
    crash_at(Point {
        config: json!({ "create_account_polls": 3 }),
        ..point("organizations.CreateAccount", 0)
    });
}

#[test]
fn crash_during_a_create_account_status_poll() {
    crash_at(Point {
        config: json!({ "create_account_polls": 3 }),
        ..point("organizations.DescribeCreateAccountStatus", 1)
    });
}

#[test]
fn crash_after_move_account_runs() {
    crash_at(point("organizations.MoveAccount", 0));
}

#[test]
fn crash_after_the_move_of_a_new_account_runs() {
    crash_at(point("organizations.MoveAccount", 1));
}

#[test]
fn crash_after_create_organizational_unit_runs() {
    crash_at(point("organizations.CreateOrganizationalUnit", 0));
}

#[test]
fn crash_after_attach_policy_runs() {
    crash_at(point("organizations.AttachPolicy", 0));
}

#[test]
fn crash_after_template_upload_runs() {
    crash_at(point("s3.PutObject", 0));
}

#[test]
fn crash_after_create_provisioning_artifact_runs() {
    crash_at(point("servicecatalog.CreateProvisioningArtifact", 0));
}

#[test]
fn crash_after_create_portfolio_share_runs() {
    crash_at(point("servicecatalog.CreatePortfolioShare", 0));
}

#[test]
fn crash_after_provision_product_runs() {
    crash_at(point("servicecatalog.ProvisionProduct", 0));
}

#[test]
fn crash_during_describe_record() {
    crash_at(point("servicecatalog.DescribeRecord", 0));
}
