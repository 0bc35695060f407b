//! The S3 backend (`--backend s3://BUCKET/PREFIX`) against the emulator's S3: the shared audit
//! log as one object per record that verifies like the local log (and catches an edited or a
//! deleted record object), two `vend apply` processes started at the same time from two copies
//! of the workspace (exactly one applies; the other fails fast naming the holder, or waits with
//! `--lock-timeout` and then finds nothing to do), a SIGKILLed lock holder (refused while its
//! lease runs, taken over after it ran out, the interrupted apply recorded as a recovery), and
//! `vend force-unlock`. Usage errors that need no emulator are checked first.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

mod common;
mod emulator_harness;

use emulator_harness::seed::{demo, rt, seed_catalog, seed_organization};
use emulator_harness::workspace::{VendWorkspace, describe, list_accounts};
use emulator_harness::{Emulator, lock};
use serde_json::{Value, json};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BUCKET: &str = "vend-shared-state";
const PREFIX: &str = "teams/platform";

fn backend() -> String {
    format!("s3://{BUCKET}/{PREFIX}")
}

fn s3(emu: &Emulator) -> aws_sdk_s3::Client {
    let conf = emu.sdk_config();
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&conf).force_path_style(true).build())
}

fn create_bucket(emu: &Emulator) {
    rt().block_on(s3(emu).create_bucket().bucket(BUCKET).send()).unwrap();
}

/// Every key under the prefix, sorted.
fn keys(emu: &Emulator) -> Vec<String> {
    let c = s3(emu);
    rt().block_on(async {
        let mut out = vec![];
        let mut token = None;
        loop {
            let page = c
                .list_objects_v2()
                .bucket(BUCKET)
                .prefix(format!("{PREFIX}/"))
                .set_continuation_token(token)
                .send()
                .await
                .unwrap();
            out.extend(page.contents().iter().map(|o| o.key().unwrap().to_string()));
            token = page.next_continuation_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        out.sort();
        out
    })
}

fn get(emu: &Emulator, key: &str) -> Option<Vec<u8>> {
    let c = s3(emu);
    rt().block_on(async {
        match c.get_object().bucket(BUCKET).key(key).send().await {
            Ok(o) => Some(o.body.collect().await.unwrap().into_bytes().to_vec()),
            Err(_) => None,
        }
    })
}

fn put(emu: &Emulator, key: &str, body: Vec<u8>) {
    let c = s3(emu);
    rt().block_on(c.put_object().bucket(BUCKET).key(key).body(body.into()).send()).unwrap();
}

fn delete(emu: &Emulator, key: &str) {
    let c = s3(emu);
    rt().block_on(c.delete_object().bucket(BUCKET).key(key).send()).unwrap();
}

fn record_key(seq: u64) -> String {
    format!("{PREFIX}/audit/{seq:012}.json")
}

/// The shared log's records, in key order.
fn shared_records(emu: &Emulator) -> Vec<Value> {
    keys(emu)
        .iter()
        .filter(|k| k.starts_with(&format!("{PREFIX}/audit/")) && !k.ends_with("head.json"))
        .map(|k| serde_json::from_slice(&get(emu, k).unwrap()).unwrap())
        .collect()
}

/// `vend --aws --endpoint-url … --backend s3://… ARGS -C WS`.
fn shared(ws: &VendWorkspace, args: &[&str]) -> Command {
    let mut c = ws.command(&["--backend", &backend()]);
    c.args(args);
    c
}

fn run_shared(ws: &VendWorkspace, args: &[&str]) -> Output {
    shared(ws, args).stdin(Stdio::null()).output().unwrap()
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A seeded demo organization, the shared bucket, and a workspace copy.
fn setup(emu: &Emulator) -> (VendWorkspace<'_>, String) {
    let mut ids = seed_organization(emu);
    seed_catalog(emu, &mut ids);
    create_bucket(emu);
    let mgmt = ids[&demo().organization.management_account_id].clone();
    // Count only what vend sends from here on.
    let (status, body) = emu.http("POST", "/_vend/stats/reset", "");
    assert_eq!(status, 200, "{body}");
    (VendWorkspace::new(emu, &mgmt), mgmt)
}

/// Every requested account exists exactly once, and CreateAccount was sent once per account the
/// demo plan creates (those the seeded demo organization lacks).
fn assert_no_duplicates(emu: &Emulator, ws: &VendWorkspace, label: &str) {
    let creates = emu.stats()["services"]["organizations"]["CreateAccount"].as_u64().unwrap_or(0);
    let seeded = demo();
    let new = ws
        .requested_emails()
        .iter()
        .filter(|(_, email)| !seeded.accounts.iter().any(|a| a.email.eq_ignore_ascii_case(email)))
        .count() as u64;
    assert!(new > 0, "{label}: the demo plan creates no account");
    assert_eq!(creates, new, "{label}: CreateAccount sent {creates} times for {new} new account(s)");
    let accounts = list_accounts(emu, false);
    for (name, email) in ws.requested_emails() {
        let n = accounts.iter().filter(|a| a.email.eq_ignore_ascii_case(&email)).count();
        assert_eq!(n, 1, "{label}: account {name} <{email}> exists {n} times");
    }
}

fn assert_verifies(ws: &VendWorkspace, label: &str) -> String {
    let v = run_shared(ws, &["audit", "verify"]);
    assert!(v.status.success(), "{label}: audit verify --backend\n{}", describe(&v));
    text(&v).0
}

// ------------------------------------------------------------------------------------------------
// Usage, no emulator needed

fn vend() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vend"));
    c.env("NO_COLOR", "1").stdin(Stdio::null());
    c
}

#[test]
fn a_malformed_backend_url_is_a_usage_error() {
    for bad in ["vend-shared/x", "s3://", "s3://Bad_Bucket/x", "s3://bucket//x"] {
        let out = vend().args(["--aws", "--backend", bad, "audit", "verify"]).output().unwrap();
        let (_, err) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{bad}: {err}");
        assert!(err.contains("s3://BUCKET/PREFIX") && err.contains("--backend"), "{bad}: {err}");
    }
}

#[test]
fn the_backend_needs_aws_and_excludes_a_local_audit_log() {
    let out = vend().args(["--backend", "s3://vend-shared/x", "audit", "verify"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(text(&out).1.contains("--aws"), "{}", describe(&out));
    let out = vend()
        .args(["--aws", "--backend", "s3://vend-shared/x", "--audit-log", "a.jsonl", "audit", "verify"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(text(&out).1.contains("--audit-log"), "{}", describe(&out));
}

#[test]
fn force_unlock_without_a_backend_explains_that_there_is_nothing_to_unlock() {
    let dir = tempfile::tempdir().unwrap();
    let out = vend().args(["force-unlock", "0123abcd", "--force", "-C"]).arg(dir.path()).output().unwrap();
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("OS file lock") && err.contains("kernel releases it"), "{err}");
}

// ------------------------------------------------------------------------------------------------
// Against the emulator

#[test]
fn a_shared_apply_logs_objects_that_verify_and_an_edited_or_deleted_record_is_caught() {
    let started = Instant::now();
    let (_guard, emu) = lock();
    let (ws, _) = setup(emu);
    let out = run_shared(&ws, &["apply", "--auto-approve", "--poll-interval-ms", "50"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(!ws.ws.join(".vend/audit.jsonl").exists(), "the local log was written too");

    // One object per record, named by its seq, plus the head; the lock was released.
    let all = keys(emu);
    assert!(!all.iter().any(|k| k.ends_with("lock.json")), "the lock was not released: {all:?}");
    let records = shared_records(emu);
    let n = records.len() as u64;
    assert!(n > 10, "only {n} records: {all:?}");
    for (i, r) in records.iter().enumerate() {
        let seq = i as u64 + 1;
        assert_eq!(r["seq"], json!(seq));
        let body = get(emu, &record_key(seq)).unwrap();
        // The body is exactly the record's canonical line, as in the local log.
        assert_eq!(vend::adapter::audit::record_line(r).unwrap().as_bytes(), &body[..], "record {seq}");
    }
    assert_eq!(records.first().unwrap()["event"], "apply-start");
    assert_eq!(records.last().unwrap()["event"], "apply-end");
    let head: Value =
        serde_json::from_slice(&get(emu, &format!("{PREFIX}/audit/head.json")).unwrap()).unwrap();
    assert_eq!(head["seq"], json!(n));
    assert_eq!(head["hash"], records.last().unwrap()["hash"]);

    let ok = assert_verifies(&ws, "after the apply");
    assert!(ok.contains(&format!("{n} records")) && ok.contains(&backend()), "{ok}");
    let listed = run_shared(&ws, &["audit", "log", "--json"]);
    assert!(listed.status.success(), "{}", describe(&listed));
    assert_eq!(text(&listed).0.lines().count() as u64, n);
    let metrics = run_shared(&ws, &["metrics", "--json"]);
    assert!(metrics.status.success(), "{}", describe(&metrics));
    // Without --backend the (empty) local log is what is read.
    let local = ws.run(&["audit", "log"]);
    assert!(text(&local).0.contains("is empty"), "{}", describe(&local));

    // A request is logged in the shared log too (under the lock, which is released again).
    let request = common::account_request("web-dev");
    let req = run_shared(&ws, &request.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(req.status.success(), "{}", describe(&req));
    let records = shared_records(emu);
    let n = records.len() as u64;
    assert_eq!(
        (records.last().unwrap()["event"].as_str(), records.last().unwrap()["address"].as_str()),
        (Some("request"), Some("account:web-dev"))
    );
    assert!(get(emu, &format!("{PREFIX}/lock.json")).is_none(), "the request left the lock behind");
    assert!(!ws.ws.join(".vend/audit.jsonl").exists(), "the request wrote the local log");
    assert_verifies(&ws, "after the request");

    // An edited record object.
    let key3 = record_key(3);
    let genuine = get(emu, &key3).unwrap();
    let edited = String::from_utf8(genuine.clone()).unwrap().replacen("\"ts\":\"20", "\"ts\":\"19", 1);
    assert_ne!(edited.as_bytes(), &genuine[..]);
    put(emu, &key3, edited.into_bytes());
    let v = run_shared(&ws, &["audit", "verify"]);
    let (_, err) = text(&v);
    assert_eq!(v.status.code(), Some(1), "edited: {}", describe(&v));
    assert!(err.contains(&format!("{BUCKET}/{key3}")) && err.contains("edited"), "edited: {err}");
    put(emu, &key3, genuine);
    assert_verifies(&ws, "record 3 restored");

    // A deleted record object.
    let key5 = record_key(5);
    let genuine = get(emu, &key5).unwrap();
    delete(emu, &key5);
    let v = run_shared(&ws, &["audit", "verify"]);
    let (_, err) = text(&v);
    assert_eq!(v.status.code(), Some(1), "deleted: {}", describe(&v));
    assert!(err.contains("deleted") && err.contains(&record_key(6)), "deleted: {err}");
    put(emu, &key5, genuine);
    assert_verifies(&ws, "record 5 restored");

    // A deleted last record: the head says more than the log has.
    let last = record_key(n);
    let genuine = get(emu, &last).unwrap();
    delete(emu, &last);
    let v = run_shared(&ws, &["audit", "verify"]);
    assert_eq!(v.status.code(), Some(1), "truncated: {}", describe(&v));
    assert!(text(&v).1.contains("truncated"), "truncated: {}", describe(&v));
    put(emu, &last, genuine);
    assert_verifies(&ws, "last record restored");
    eprintln!("shared apply: {n} record objects, edits caught; {:.1}s", started.elapsed().as_secs_f64());
}

/// Start `vend apply --auto-approve` in both workspaces at the same moment.
fn race(a: &VendWorkspace, b: &VendWorkspace, extra: &[&str]) -> [(Output, u32); 2] {
    let mut args = vec!["apply", "--auto-approve", "--poll-interval-ms", "50"];
    args.extend_from_slice(extra);
    let spawn = |ws: &VendWorkspace, user: &str| {
        shared(ws, &args)
            .env("USER", user)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (ca, cb) = (spawn(a, "ana"), spawn(b, "bob"));
    let (pa, pb) = (ca.id(), cb.id());
    [(ca.wait_with_output().unwrap(), pa), (cb.wait_with_output().unwrap(), pb)]
}

/// Two copies of the workspace of one team (the same operator key: a team pins its operators'
/// keys in `vend.yaml`; here both shells belong to one operator).
fn two_copies<'a>(emu: &'a Emulator, mgmt: &str, first: &VendWorkspace) -> VendWorkspace<'a> {
    let mut other = VendWorkspace::new(emu, mgmt);
    other.config = first.config.clone();
    other
}

#[test]
fn two_applies_started_together_one_applies_and_the_other_fails_fast_naming_the_holder() {
    let started = Instant::now();
    let (_guard, emu) = lock();
    let (a, mgmt) = setup(emu);
    let b = two_copies(emu, &mgmt, &a);
    let [(oa, pa), (ob, pb)] = race(&a, &b, &[]);
    let (winner, loser, winner_pid) = match (oa.status.success(), ob.status.success()) {
        (true, false) => (&oa, &ob, pa),
        (false, true) => (&ob, &oa, pb),
        _ => panic!("exactly one apply must succeed\nana:\n{}\nbob:\n{}", describe(&oa), describe(&ob)),
    };
    let (_, err) = text(loser);
    assert_eq!(loser.status.code(), Some(1), "{}", describe(loser));
    assert!(
        err.contains("another operator holds the shared lock")
            && err.contains(&format!("pid {winner_pid}"))
            && err.contains("lock id ")
            && err.contains("lease until")
            && err.contains("--lock-timeout"),
        "the refusal must name the holder, its lock id and expiry: {err}"
    );
    assert!(winner.status.success(), "{}", describe(winner));
    // The refused apply wrote nothing: every record is the winner's one apply.
    let records = shared_records(emu);
    assert_eq!(records.iter().filter(|r| r["event"] == "apply-start").count(), 1);
    assert_no_duplicates(emu, &a, "fail fast");
    assert_verifies(&a, "fail fast");
    a.assert_empty_replan("fail fast");
    eprintln!("race, fail fast: winner pid {winner_pid}; {:.1}s", started.elapsed().as_secs_f64());
}

#[test]
fn two_applies_started_together_with_a_lock_timeout_run_one_after_the_other() {
    let started = Instant::now();
    let (_guard, emu) = lock();
    let (a, mgmt) = setup(emu);
    let b = two_copies(emu, &mgmt, &a);
    let [(oa, _), (ob, _)] = race(&a, &b, &["--lock-timeout", "180"]);
    assert!(oa.status.success() && ob.status.success(), "ana:\n{}\nbob:\n{}", describe(&oa), describe(&ob));
    let empty: Vec<&Output> = [&oa, &ob].into_iter().filter(|o| text(o).0.contains("No changes")).collect();
    assert_eq!(
        empty.len(),
        1,
        "the apply that waited must find nothing left to do\nana:\n{}\nbob:\n{}",
        describe(&oa),
        describe(&ob)
    );
    let records = shared_records(emu);
    assert_eq!(records.iter().filter(|r| r["event"] == "apply-start").count(), 1);
    assert_no_duplicates(emu, &a, "waited");
    assert_verifies(&a, "waited");
    b.assert_empty_replan("waited");
    eprintln!("race, waiting: {:.1}s", started.elapsed().as_secs_f64());
}

/// Start an apply, wait until the emulator holds the answer of `op` (it has run), SIGKILL vend.
/// Returns the killed process's pid.
fn kill_at(emu: &Emulator, ws: &VendWorkspace, op: &str, after: u32, extra: &[&str]) -> u32 {
    emu.set_faults(
        &json!({ "script": [{ "match": op, "fault": "hold", "after": after, "hold_ms": 120000 }] }),
    );
    let (status, body) = emu.http("POST", "/_vend/stats/reset", "");
    assert_eq!(status, 200, "{body}");
    let mut args = vec!["apply", "--auto-approve", "--poll-interval-ms", "50"];
    args.extend_from_slice(extra);
    let log = ws.dir.path().join(format!("killed-{}.out", op.replace('.', "-")));
    let out = std::fs::File::create(&log).unwrap();
    let mut child = shared(ws, &args)
        .env("USER", "ana")
        .stdin(Stdio::null())
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(out))
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    while emu.stats()["faults"][op]["hold"].as_u64().unwrap_or(0) == 0 {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("{op}: vend ended ({status}) before the hold\n{}", std::fs::read_to_string(&log).unwrap());
        }
        assert!(Instant::now() < deadline, "{op}: the hold did not fire");
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid = child.id();
    child.kill().unwrap(); // SIGKILL
    assert!(!child.wait().unwrap().success());
    emu.set_faults(&json!({ "script": [] }));
    emu.release();
    pid
}

fn lock_object(emu: &Emulator) -> Value {
    serde_json::from_slice(&get(emu, &format!("{PREFIX}/lock.json")).expect("the lock object")).unwrap()
}

#[test]
fn a_killed_holder_blocks_until_its_lease_ends_then_is_taken_over_and_its_apply_recovered() {
    let started = Instant::now();
    let (_guard, emu) = lock();
    let (ws, _) = setup(emu);
    let lease = 8u64;
    let killed = kill_at(emu, &ws, "organizations.CreateAccount", 0, &["--lock-lease", &lease.to_string()]);
    let held = lock_object(emu);
    assert_eq!(held["holder"]["pid"], json!(killed));
    assert_eq!(held["operation"], "apply");
    let id = held["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 32);

    // While the lease runs: refused at once, naming the holder, the lock id and the expiry.
    let refused = run_shared(&ws, &["apply", "--auto-approve", "--poll-interval-ms", "50"]);
    let (_, err) = text(&refused);
    assert_eq!(refused.status.code(), Some(1), "{}", describe(&refused));
    assert!(
        err.contains(&format!("pid {killed}"))
            && err.contains(&id)
            && err.contains(held["expires"].as_str().unwrap()),
        "{err}"
    );

    // force-unlock with another id refuses, naming the lock's real id and holder.
    let wrong = run_shared(&ws, &["force-unlock", "0123456789abcdef0123456789abcdef", "--force"]);
    let (_, err) = text(&wrong);
    assert_eq!(wrong.status.code(), Some(1), "{}", describe(&wrong));
    assert!(
        err.contains(&id) && err.contains(&format!("pid {killed}")) && err.contains("nothing was removed"),
        "{err}"
    );
    assert_eq!(lock_object(emu)["id"], json!(id), "a refused force-unlock must leave the lock");

    // Once the lease ran out, the next apply takes the lock over and finishes the work.
    let expires: jiff::Timestamp = held["expires"].as_str().unwrap().parse().unwrap();
    while jiff::Timestamp::now() <= expires {
        std::thread::sleep(Duration::from_millis(200));
    }
    let resumed = run_shared(&ws, &["apply", "--auto-approve", "--poll-interval-ms", "50"]);
    let (_, err) = text(&resumed);
    assert!(resumed.status.success(), "{}", describe(&resumed));
    assert!(err.contains("took over the expired lease") && err.contains(&id), "{err}");
    assert!(get(emu, &format!("{PREFIX}/lock.json")).is_none(), "the lock was not released");

    let records = shared_records(emu);
    let recovery = records
        .iter()
        .find(|r| r["event"] == "recovery" && r["detail"]["reason"] == "interrupted apply")
        .unwrap_or_else(|| panic!("no interrupted-apply recovery: {records:#?}"));
    let writes = recovery["detail"]["writes_without_outcome"].as_array().unwrap();
    assert!(writes.iter().any(|w| w["call"]["op"] == "CreateAccount"), "{recovery}");
    let takeover = records.iter().find(|r| r["event"] == "lock-takeover").expect("a lock-takeover record");
    assert_eq!(takeover["detail"]["previous"]["id"], json!(id));
    assert!(recovery["seq"].as_u64() < takeover["seq"].as_u64());
    assert_no_duplicates(emu, &ws, "takeover");
    assert_verifies(&ws, "takeover");
    ws.assert_empty_replan("takeover");
    eprintln!("killed holder taken over after its {lease}s lease; {:.1}s", started.elapsed().as_secs_f64());
}

#[test]
fn force_unlock_removes_a_dead_holders_lock_only_by_its_id_and_with_confirmation() {
    let started = Instant::now();
    let (_guard, emu) = lock();
    let (ws, _) = setup(emu);
    // Killed after it took the lock (its first STS call) and before it wrote anything (the
    // second, where the apply asks who it is in AWS): a lock with a long lease and no records.
    let killed = kill_at(emu, &ws, "sts.GetCallerIdentity", 1, &[]);
    let held = lock_object(emu);
    assert_eq!(held["holder"]["pid"], json!(killed));
    assert_eq!(held["lease_seconds"], json!(120));
    let id = held["id"].as_str().unwrap().to_string();

    let refused = run_shared(&ws, &["apply", "--auto-approve"]);
    assert_eq!(refused.status.code(), Some(1), "{}", describe(&refused));
    let hint = format!("vend --aws --backend {} force-unlock {id}", backend());
    assert!(text(&refused).1.contains(&hint), "{}", describe(&refused));

    let wrong = run_shared(&ws, &["force-unlock", &id.replace(|c: char| c != '0', "0"), "--force"]);
    assert_eq!(wrong.status.code(), Some(1), "{}", describe(&wrong));
    assert!(text(&wrong).1.contains(&id), "{}", describe(&wrong));

    // No terminal and no --force: refused, nothing removed.
    let unconfirmed = run_shared(&ws, &["force-unlock", &id]);
    assert_eq!(unconfirmed.status.code(), Some(1), "{}", describe(&unconfirmed));
    assert!(text(&unconfirmed).1.contains("--force"), "{}", describe(&unconfirmed));
    assert_eq!(lock_object(emu)["id"], json!(id));

    let removed = run_shared(&ws, &["force-unlock", &id, "--force"]);
    assert!(removed.status.success(), "{}", describe(&removed));
    assert!(text(&removed).0.contains(&format!("Removed the shared lock {id}")), "{}", describe(&removed));
    assert!(get(emu, &format!("{PREFIX}/lock.json")).is_none(), "the lock is still there");
    let records = shared_records(emu);
    let last = records.last().unwrap();
    assert_eq!(last["event"], "force-unlock");
    assert_eq!(last["detail"]["removed"]["id"], json!(id));
    assert_eq!(last["detail"]["removed"]["holder"]["pid"], json!(killed));
    assert_verifies(&ws, "force-unlock");

    // The lock is free again: an apply runs at once.
    let out = run_shared(&ws, &["apply", "--auto-approve", "--poll-interval-ms", "50"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_verifies(&ws, "after force-unlock");
    eprintln!("force-unlock: {:.1}s", started.elapsed().as_secs_f64());
}

#[test]
fn a_long_apply_renews_its_lease_and_stops_when_its_lock_is_taken_from_it() {
    let started = Instant::now();
    let (_guard, emu) = lock();
    let (ws, _) = setup(emu);
    // Every request takes 150 ms: the apply runs many times longer than its 3 s lease.
    emu.set_faults(&json!({ "latency_ms": 150 }));
    let log = ws.dir.path().join("long-apply.out");
    let out = std::fs::File::create(&log).unwrap();
    let mut child =
        shared(&ws, &["apply", "--auto-approve", "--poll-interval-ms", "50", "--lock-lease", "3"])
            .env("USER", "ana")
            .stdin(Stdio::null())
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .unwrap();
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(emu, &format!("{PREFIX}/lock.json")).is_none() {
        assert!(Instant::now() < deadline, "the apply never took the lock");
        std::thread::sleep(Duration::from_millis(50));
    }
    let first = lock_object(emu);
    // Two leases later the lock is still the apply's, renewed (a later expiry), and refuses others.
    std::thread::sleep(Duration::from_secs(6));
    assert!(child.try_wait().unwrap().is_none(), "the apply ended too soon to test renewal");
    let renewed = lock_object(emu);
    assert_eq!(renewed["id"], first["id"]);
    assert!(renewed["expires"].as_str() > first["expires"].as_str(), "not renewed: {first} -> {renewed}");
    let expires: jiff::Timestamp = renewed["expires"].as_str().unwrap().parse().unwrap();
    assert!(expires > jiff::Timestamp::now(), "the lease ran out while the apply runs: {renewed}");
    let refused = run_shared(&ws, &["apply", "--auto-approve"]);
    assert_eq!(refused.status.code(), Some(1), "{}", describe(&refused));
    assert!(text(&refused).1.contains(&format!("pid {pid}")), "{}", describe(&refused));

    // Someone else's lock replaces it (as a takeover would): the apply notices at its next
    // renewal and stops before its next step, saying why.
    let mut intruder = renewed.clone();
    intruder["id"] = json!("feedfacefeedfacefeedfacefeedface");
    intruder["holder"]["user"] = json!("mallory");
    intruder["expires"] = json!("2099-01-01T00:00:00Z");
    put(emu, &format!("{PREFIX}/lock.json"), serde_json::to_vec_pretty(&intruder).unwrap());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline + Duration::from_secs(90), "the apply did not stop");
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(1), "{output}");
    // Between two steps the engine's stop closure ends the apply (an `apply-end` with
    // `stopped`); inside a step the audit log refuses the next intent, so its write is not sent
    // (no `apply-end`: the next apply records the interrupted one).
    let records = shared_records(emu);
    let end = records.last().unwrap();
    let how = if end["event"] == "apply-end" {
        assert_eq!(end["detail"]["stopped"], json!(true), "{end}");
        assert!(output.contains("the shared lock is no longer ours"), "{output}");
        "stopped between steps"
    } else {
        assert!(output.contains("not recording the intent"), "{output}");
        "stopped inside a step: the next intent was refused"
    };
    assert!(output.contains("taken over by mallory@"), "the apply must say who holds the lock: {output}");
    // Its lock (now mallory's) was left alone.
    assert_eq!(lock_object(emu)["id"], json!("feedfacefeedfacefeedfacefeedface"));

    // Mallory's lock gone, the rest of the work is done by the next apply.
    delete(emu, &format!("{PREFIX}/lock.json"));
    emu.set_faults(&json!({ "latency_ms": 0 }));
    let rest = run_shared(&ws, &["apply", "--auto-approve", "--poll-interval-ms", "50"]);
    assert!(rest.status.success(), "{}", describe(&rest));
    assert_no_duplicates(emu, &ws, "stopped and resumed");
    assert_verifies(&ws, "stopped and resumed");
    ws.assert_empty_replan("stopped and resumed");
    eprintln!("renewed lease; on loss {how}; {:.1}s", started.elapsed().as_secs_f64());
}

/// The emulator's conditional S3 writes are atomic (`tests/emulator/vend_moto/s3.py`): of many
/// simultaneous `If-None-Match: *` puts, and of many `If-Match` puts naming one version, exactly
/// one wins each round.
#[test]
fn the_emulators_conditional_writes_are_atomic() {
    let (_guard, emu) = lock();
    create_bucket(emu);
    let c = s3(emu);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
    for round in 0..10 {
        let key = format!("{PREFIX}/race-{round}.json");
        let wins = runtime.block_on(async {
            let tries = (0..16).map(|i| {
                let c = c.clone();
                let key = key.clone();
                tokio::spawn(async move {
                    c.put_object()
                        .bucket(BUCKET)
                        .key(&key)
                        .if_none_match("*")
                        .body(format!("writer {i}").into_bytes().into())
                        .send()
                        .await
                        .map(|o| o.e_tag().unwrap_or_default().to_string())
                })
            });
            let mut wins = vec![];
            for t in tries.collect::<Vec<_>>() {
                if let Ok(etag) = t.await.unwrap() {
                    wins.push(etag);
                }
            }
            wins
        });
        assert_eq!(wins.len(), 1, "round {round}: If-None-Match let {} writers in", wins.len());
        let etag = wins[0].clone();
        let takers = runtime.block_on(async {
            let tries = (0..16).map(|i| {
                let c = c.clone();
                let key = key.clone();
                let etag = etag.clone();
                tokio::spawn(async move {
                    c.put_object()
                        .bucket(BUCKET)
                        .key(&key)
                        .if_match(etag)
                        .body(format!("taker {i}").into_bytes().into())
                        .send()
                        .await
                        .is_ok()
                })
            });
            let mut n = 0;
            for t in tries.collect::<Vec<_>>() {
                n += usize::from(t.await.unwrap());
            }
            n
        });
        assert_eq!(takers, 1, "round {round}: If-Match let {takers} writers replace one version");
    }
}

#[test]
fn a_holder_killed_between_a_record_and_its_head_is_recovered_by_the_next_writer() {
    let started = Instant::now();
    let (_guard, emu) = lock();
    let (ws, _) = setup(emu);
    // PutObjects of the apply: the lock, record 1 (apply-start), its head, record 2 (the first
    // intent) — held once it is stored, and vend killed before it writes the head.
    let killed = kill_at(emu, &ws, "s3.PutObject", 3, &[]);
    let records = shared_records(emu);
    assert_eq!(records.len(), 2, "{records:#?}");
    assert_eq!(records[1]["event"], "intent");
    let stale = run_shared(&ws, &["audit", "verify"]);
    assert_eq!(stale.status.code(), Some(1), "{}", describe(&stale));
    assert!(text(&stale).1.contains("one record behind"), "{}", describe(&stale));

    // The dead holder's lock (120 s lease) is removed by its id; that writer records the stale
    // head and the interrupted apply before its own record, and the log verifies again.
    let id = lock_object(emu)["id"].as_str().unwrap().to_string();
    let removed = run_shared(&ws, &["force-unlock", &id, "--force"]);
    assert!(removed.status.success(), "{}", describe(&removed));
    assert!(text(&removed).1.contains("interrupted by a crash"), "{}", describe(&removed));
    let records = shared_records(emu);
    let events: Vec<String> = records
        .iter()
        .map(|r| format!("{} {}", r["event"].as_str().unwrap(), r["detail"]["reason"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        events,
        ["apply-start ", "intent ", "recovery stale head", "recovery interrupted apply", "force-unlock "],
        "killed pid {killed}"
    );
    assert_verifies(&ws, "stale head recovered");
    let out = run_shared(&ws, &["apply", "--auto-approve", "--poll-interval-ms", "50"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_no_duplicates(emu, &ws, "stale head");
    assert_verifies(&ws, "after the stale head");
    ws.assert_empty_replan("stale head");
    eprintln!("stale head recovered; {:.1}s", started.elapsed().as_secs_f64());
}
