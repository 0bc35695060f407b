//! The in-process cloud's journal (format 2, see `adapter::local_cloud::journal`): a crash at
//! any point re-opens to the state before or after each call — a torn last record, a crash
//! between an append and the compaction, a crash inside a compaction (new journal written,
//! state file not), a corrupt record refused by name, a format 1 journal of vend 0.1.0 still
//! replayed — and what it costs: the bytes written to the state directory grow linearly with
//! the accounts applied (they grew quadratically when every call rewrote the whole state).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

mod common;
use std::fs;
use std::path::{Path, PathBuf};
use vend::adapter::fs as vfs;
use vend::adapter::local_cloud::{LocalCloud, Settings};
use vend::model::{State, Tags};
use vend::port::{Audit, AuditError, AuditEvent, Clock, Cloud, Op};

fn demo() -> State {
    vfs::read_state(&common::root().join("snapshots/demo.state.json")).unwrap()
}

fn temp_state(state: &State) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    vfs::write_state(&path, state).unwrap();
    (dir, path)
}

fn root_ou(name: &str, s: &State) -> Op {
    Op::CreateOrganizationalUnit {
        parent_id: s.organization.root_id.clone(),
        name: name.into(),
        tags: Tags::new(),
    }
}

fn ou_names(s: &State) -> Vec<String> {
    let mut v: Vec<String> = s.organizational_units.iter().map(|o| o.name.clone()).collect();
    v.sort();
    v
}

fn file(path: &Path) -> State {
    vfs::read_state(path).unwrap()
}

/// The process dies: no drop, so no compaction.
fn crash(c: LocalCloud) {
    std::mem::forget(c);
}

fn compact_every_call() -> Settings {
    Settings { compact_after_bytes: 0, ..Settings::default() }
}

fn never_compact() -> Settings {
    Settings { compact_after_bytes: u64::MAX, ..Settings::default() }
}

#[test]
fn a_crash_between_append_and_compaction_replays_every_record() {
    let seed = demo();
    let (_dir, path) = temp_state(&seed);
    let mut c = LocalCloud::open(&path).unwrap().with_settings(never_compact());
    for name in ["A", "B", "C"] {
        c.call(&root_ou(name, &seed)).unwrap();
    }
    let url = "https://vend-templates-111111111111.s3.us-east-1.amazonaws.com/t/a.yaml".to_string();
    c.call(&Op::PutTemplate { url: url.clone(), body: "Resources: {}\n".into() }).unwrap();
    let expected = c.read_state().unwrap();
    crash(c);
    // The state file was not rewritten per call: it still holds the seed.
    assert_eq!(ou_names(&file(&path)), ou_names(&seed));
    let c = LocalCloud::open(&path).unwrap();
    assert_eq!(c.state(), expected, "every appended record replays");
    assert_eq!(c.template(&url), Some("Resources: {}\n"), "what the state format cannot hold replays too");
    assert_eq!(file(&path), expected, "opening brings the state file up to date");
}

#[test]
fn a_torn_last_record_is_a_call_that_never_happened() {
    let seed = demo();
    let (_dir, path) = temp_state(&seed);
    let journal = LocalCloud::journal_path(&path);
    let mut c = LocalCloud::open(&path).unwrap().with_settings(never_compact());
    c.call(&root_ou("Kept", &seed)).unwrap();
    let kept = fs::metadata(&journal).unwrap().len();
    c.call(&root_ou("Torn", &seed)).unwrap();
    crash(c);
    // The crash hit the middle of the second append.
    let bytes = fs::read(&journal).unwrap();
    let cut = kept as usize + (bytes.len() - kept as usize) / 2;
    fs::write(&journal, &bytes[..cut]).unwrap();
    // A plan reads the state before the torn call, and writes nothing.
    let read = LocalCloud::catch_up(&path, file(&path)).unwrap();
    assert!(ou_names(&read).contains(&"Kept".to_string()));
    assert!(!ou_names(&read).contains(&"Torn".to_string()));
    assert_eq!(fs::read(&journal).unwrap().len(), cut);
    // Opening drops the torn bytes for good: later records are not appended after garbage.
    let mut c = LocalCloud::open(&path).unwrap().with_settings(never_compact());
    assert_eq!(c.state(), read);
    c.call(&root_ou("Torn", &seed)).unwrap();
    let expected = c.read_state().unwrap();
    crash(c);
    assert_eq!(LocalCloud::open(&path).unwrap().state(), expected);
}

#[test]
fn a_crash_inside_a_compaction_reopens_to_the_new_journal() {
    let seed = demo();
    let (_dir, path) = temp_state(&seed);
    let mut c = LocalCloud::open(&path).unwrap().with_settings(compact_every_call());
    c.call(&root_ou("One", &seed)).unwrap();
    let after_one = fs::read(&path).unwrap();
    assert!(ou_names(&file(&path)).contains(&"One".to_string()), "compacted after the call");
    c.call(&root_ou("Two", &seed)).unwrap();
    // More calls after that compaction, appended to the new journal.
    let mut c = c.with_settings(never_compact());
    c.call(&root_ou("Three", &seed)).unwrap();
    let expected = c.read_state().unwrap();
    crash(c);
    // As if the second compaction's state-file write had failed after the new journal: the
    // file still holds the first compaction, and no line says the file was written.
    fs::write(&path, &after_one).unwrap();
    let journal = LocalCloud::journal_path(&path);
    let text = fs::read_to_string(&journal).unwrap();
    assert!(text.lines().nth(2).unwrap().starts_with("{\"state_file\""), "{text}");
    let kept: String =
        text.lines().filter(|l| !l.starts_with("{\"state_file\"")).map(|l| format!("{l}\n")).collect();
    fs::write(&journal, kept).unwrap();
    assert_eq!(LocalCloud::catch_up(&path, file(&path)).unwrap(), expected);
    let c = LocalCloud::open(&path).unwrap();
    assert_eq!(c.state(), expected);
    assert_eq!(file(&path), expected);
}

#[test]
fn a_state_file_put_back_by_hand_after_a_compaction_is_not_mistaken_for_a_crash() {
    let seed = demo();
    let (_dir, path) = temp_state(&seed);
    let before = fs::read(&path).unwrap();
    let mut c = LocalCloud::open(&path).unwrap();
    c.call(&root_ou("Later", &seed)).unwrap();
    drop(c); // compacted: the state file has "Later"
    fs::write(&path, &before).unwrap();
    let c = LocalCloud::open(&path).unwrap();
    assert_eq!(ou_names(&c.state()), ou_names(&seed), "the restored file is taken as it is");
}

#[test]
fn a_corrupt_record_before_the_last_refuses_to_open_naming_the_journal() {
    let seed = demo();
    let (_dir, path) = temp_state(&seed);
    let journal = LocalCloud::journal_path(&path);
    let mut c = LocalCloud::open(&path).unwrap().with_settings(never_compact());
    for name in ["A", "B"] {
        c.call(&root_ou(name, &seed)).unwrap();
    }
    crash(c);
    let text = fs::read_to_string(&journal).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "header, checkpoint, two records");
    lines[2] = "{\"seq\": oops}";
    fs::write(&journal, format!("{}\n", lines.join("\n"))).unwrap();
    let e = LocalCloud::open(&path).unwrap_err().to_string();
    assert!(e.contains("state.json.journal") && e.contains(":3:"), "{e}");
    assert!(LocalCloud::catch_up(&path, file(&path)).is_err());
}

#[test]
fn a_format_1_journal_of_vend_0_1_0_still_opens() {
    let seed = demo();
    let (_dir, path) = temp_state(&seed);
    let journal = LocalCloud::journal_path(&path);
    let mut next = seed.clone();
    next.organizational_units[0].tags.insert("from".into(), "journal-v1".into());
    let url = "https://vend-templates-111111111111.s3.us-east-1.amazonaws.com/t/v1.yaml";
    let v1 = |prev: &State, current: &State| {
        serde_json::json!({
            "format": 1, "prev": prev.fingerprint(), "current": current.fingerprint(), "state": current,
            "extras": { "seq": 40, "requests": 7, "templates": { url: "Resources: {}\n" } }
        })
        .to_string()
    };
    // A crash between the journal and the state file: the journal is one step ahead.
    fs::write(&journal, v1(&seed, &next)).unwrap();
    assert_eq!(LocalCloud::catch_up(&path, file(&path)).unwrap().organizational_units, {
        let mut n = next.clone();
        n.normalize();
        n.organizational_units
    });
    let mut c = LocalCloud::open(&path).unwrap();
    assert_eq!(c.state().organizational_units[0].tags.get("from").map(String::as_str), Some("journal-v1"));
    assert_eq!(file(&path), c.state(), "the interrupted write is finished");
    assert_eq!(c.template(url), Some("Resources: {}\n"));
    // The counters carry on: the next id is minted after the 40th.
    let ou = c.call(&root_ou("After", &seed)).unwrap().id.unwrap();
    drop(c);
    let fresh = LocalCloud::in_memory(seed.clone()).call(&root_ou("After", &seed)).unwrap().id.unwrap();
    assert_ne!(ou, fresh, "ids minted before the upgrade are not handed out again");
    // The journal is format 2 from then on.
    assert!(fs::read_to_string(&journal).unwrap().starts_with("{\"format\":2,"));
}

#[test]
fn a_failed_call_appends_nothing_and_a_successful_one_is_durable_at_once() {
    let seed = demo();
    let (_dir, path) = temp_state(&seed);
    let journal = LocalCloud::journal_path(&path);
    let mut c = LocalCloud::open(&path).unwrap().with_settings(never_compact());
    let before = fs::read(&journal).unwrap();
    assert!(c.call(&root_ou("Security", &seed)).is_err(), "the demo has a Security OU");
    assert_eq!(fs::read(&journal).unwrap(), before);
    c.call(&root_ou("Durable", &seed)).unwrap();
    // Another reader sees it before any compaction.
    assert!(ou_names(&LocalCloud::catch_up(&path, file(&path)).unwrap()).contains(&"Durable".to_string()));
    drop(c);
}

// ------------------------------------------------------------------ cost

#[derive(Default)]
struct MemoryAudit;

impl Audit for MemoryAudit {
    fn append(&mut self, _event: AuditEvent) -> Result<(), AuditError> {
        Ok(())
    }
}

struct NoWait;

impl Clock for NoWait {
    fn now(&self) -> String {
        "2026-11-22T12:00:00Z".into()
    }
    fn sleep(&self, _millis: u64) {}
}

/// Bytes this thread has passed to write(2) so far (Linux: /proc/thread-self/io).
fn written_by_this_thread() -> u64 {
    let io = fs::read_to_string("/proc/thread-self/io").unwrap();
    io.lines().find_map(|l| l.strip_prefix("wchar: ")).unwrap().trim().parse().unwrap()
}

/// Apply the demo plus `n` new sandbox accounts on a file-backed cloud (in-memory audit): the
/// bytes written from opening the cloud to dropping it (the end of the command), and the calls.
fn bytes_to_apply(n: usize) -> (u64, usize) {
    let ws = common::demo_workspace();
    for i in 0..n {
        let name = format!("scale-{i:04}");
        fs::write(
            ws.path().join(format!("catalog/accounts/{name}.yaml")),
            format!("blueprint: sandbox@v1\nname: {name}\nemail: aws+{name}@example.com\nowner: scale\n"),
        )
        .unwrap();
    }
    let files = vfs::read_workspace(ws.path()).unwrap();
    let loaded = vend::workspace::load(&files);
    assert!(!loaded.diagnostics.iter().any(|d| d.is_error()));
    let path = ws.path().join("state.json");
    vfs::write_state(&path, &demo()).unwrap();
    let plan = vend::plan::build(&loaded.desired, &demo());
    let options = vend::engine::Options { poll_interval_ms: 0, ..vend::engine::Options::default() };
    let start = written_by_this_thread();
    let mut cloud = LocalCloud::open(&path).unwrap();
    let report =
        vend::engine::apply(&plan, &mut cloud, &mut MemoryAudit, &NoWait, &options, &mut |_| {}).unwrap();
    assert!(report.is_complete(), "{:?}", report.failed());
    let state = cloud.read_state().unwrap();
    assert_eq!(state.accounts.iter().filter(|a| a.name.starts_with("scale-")).count(), n);
    drop(cloud);
    let written = written_by_this_thread() - start;
    (written, report.steps.len())
}

/// Issue 13: applying N new accounts rewrote the whole state (twice) per call, so the bytes
/// written grew with N²: about 4x from 100 to 200 accounts. With per-call records and
/// compaction they grow linearly.
#[cfg(target_os = "linux")]
#[test]
fn bytes_written_grow_linearly_with_the_accounts_applied() {
    let (small, steps_small) = bytes_to_apply(100);
    let (large, steps_large) = bytes_to_apply(200);
    let ratio = large as f64 / small as f64;
    eprintln!(
        "bytes written: 100 accounts {small} ({steps_small} steps), 200 accounts {large} ({steps_large} steps), ratio {ratio:.2}"
    );
    assert!(
        ratio <= 2.3,
        "applying 200 accounts wrote {large} bytes, 100 wrote {small} ({steps_large} vs {steps_small} steps): ratio {ratio:.2}"
    );
    // And the per-call cost is small: well under the size of the state per call.
    let state_bytes = vfs::state_file_bytes(&demo()).len() as u64;
    assert!(large / (steps_large as u64) < state_bytes, "{large} bytes for {steps_large} steps");
}

/// Poll `op` (a status read) until it leaves IN_PROGRESS; the final outcome.
fn settle(c: &mut LocalCloud, op: &Op) -> vend::port::Outcome {
    for _ in 0..50 {
        let out = c.call(op).unwrap();
        if out.status.as_deref() != Some("IN_PROGRESS") {
            return out;
        }
    }
    panic!("{op:?} stayed IN_PROGRESS");
}

/// Issue 18's access rows are recorded per account: a call that changes one account's
/// assignments, contacts or read mark writes that account's rows, not the whole access section
/// (which lists every account read), and the records replay to the same state after a crash.
#[test]
fn access_rows_are_recorded_per_account_and_replay() {
    let seed = demo();
    let (_dir, path) = temp_state(&seed);
    let access = seed.access.clone().unwrap();
    let ic = access.identity_center.clone().unwrap();
    let (member, bystander) = (access.read_accounts[0].clone(), access.read_accounts[1].clone());
    let mut c = LocalCloud::open(&path).unwrap().with_settings(never_compact());
    c.call(&Op::EnableAwsServiceAccess { service_principal: "account.amazonaws.com".into() }).unwrap();
    for contact_type in ["SECURITY", "BILLING"] {
        c.call(&Op::PutAlternateContact {
            account_id: member.clone(),
            contact_type: contact_type.into(),
            name: "Security Team".into(),
            email: "security@example.com".into(),
            phone: "+1 555 0100".into(),
            title: "SecOps".into(),
        })
        .unwrap();
    }
    c.call(&Op::DeleteAlternateContact { account_id: member.clone(), contact_type: "BILLING".into() })
        .unwrap();
    let made = c
        .call(&Op::CreateAccountAssignment {
            instance_arn: ic.instance_arn.clone(),
            account_id: member.clone(),
            permission_set_arn: ic.permission_sets[0].arn.clone(),
            principal_type: "GROUP".into(),
            principal_id: ic.groups[0].id.clone(),
        })
        .unwrap();
    let status = Op::DescribeAccountAssignmentCreationStatus {
        instance_arn: ic.instance_arn.clone(),
        request_id: made.id.unwrap(),
    };
    assert_eq!(settle(&mut c, &status).status.as_deref(), Some("SUCCEEDED"));
    let created = c
        .call(&Op::CreateAccount {
            name: "rows".into(),
            email: "aws+rows@example.com".into(),
            tags: Tags::new(),
        })
        .unwrap();
    let created = settle(&mut c, &Op::DescribeCreateAccountStatus { request_id: created.id.unwrap() });
    assert_eq!(created.status.as_deref(), Some("SUCCEEDED"));
    let expected = c.read_state().unwrap();
    let got = expected.access.as_ref().unwrap();
    assert_eq!(got.contacts.len(), 1, "{:?}", got.contacts);
    assert_eq!(got.assignments.len(), 1, "{:?}", got.assignments);
    assert_eq!(got.read_accounts.len(), access.read_accounts.len() + 1, "the new account is read");
    crash(c);

    // The records after the checkpoint name only the accounts they changed.
    let journal = fs::read_to_string(LocalCloud::journal_path(&path)).unwrap();
    let records: Vec<&str> = journal.lines().skip(2).collect();
    assert!(records.len() >= 6, "{journal}");
    assert!(!records.iter().any(|l| l.contains(&bystander)), "a record rewrote other accounts' rows");
    let c = LocalCloud::open(&path).unwrap();
    assert_eq!(c.state(), expected, "every access record replays");
}
