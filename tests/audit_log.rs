//! The audit log and the operator key through the library API (no CLI): append, reopen and
//! resume, crash recovery (torn line, stale or missing head), verification of genuine logs,
//! refusal to write over a tampered tail, the key file (mode 0600, reused across runs), and the
//! same log over an in-memory object store shaped like the S3 backend (recovery, no fork).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use vend::adapter::audit::{self, GENESIS, Head, JsonlAudit, Problem, Record, head_path, verify};
use vend::adapter::keys::{self, KeyError, KeyLocation, KeyStore, Operator};
use vend::port::{Audit, AuditEvent};

fn operator(seed: u8, user: &str) -> Operator {
    Operator::new(SigningKey::from_bytes(&[seed; 32]), user)
}

/// A clock that ticks one second per call from 2026-11-02T10:00:00Z.
fn clock() -> impl Fn() -> String + Send + 'static {
    let t = Arc::new(AtomicU64::new(0));
    move || {
        let s = t.fetch_add(1, Ordering::SeqCst);
        format!("2026-11-02T10:{:02}:{:02}Z", (s / 60) % 60, s % 60)
    }
}

/// Synthetic records in groups of four. Not `apply-start`/`apply-end`: a log whose last apply
/// has no end gets an `interrupted apply` recovery (tested on its own below), which these
/// tests of the file mechanics keep out of the way.
fn event(i: usize) -> AuditEvent {
    let kinds = ["begin", "intent", "outcome", "end"];
    AuditEvent::from_parts(
        &format!("sha256:plan{}", i / 4),
        kinds[i % 4],
        &format!("account:team-{i}"),
        json!({"op": "CreateAccount", "n": i, "ok": !i.is_multiple_of(3), "list": [1, 2.5, "x"], "note": "é ✓ \"q\" \n"}),
    )
}

struct Log {
    _dir: tempfile::TempDir,
    log: PathBuf,
    head: PathBuf,
}

fn new_log() -> Log {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join(".vend").join("audit.jsonl");
    let head = head_path(&log);
    Log { _dir: dir, log, head }
}

fn append_n(log: &Path, op: &Operator, from: usize, n: usize) {
    let mut a = JsonlAudit::open(log, op.clone(), clock()).unwrap();
    for i in from..from + n {
        a.append(event(i)).unwrap();
    }
}

#[test]
fn head_path_is_beside_the_log() {
    assert_eq!(head_path(Path::new(".vend/audit.jsonl")), PathBuf::from(".vend/audit.head"));
    assert_eq!(head_path(Path::new("x/log")), PathBuf::from("x/log.head"));
    assert_eq!(head_path(Path::new("x/a.head")), PathBuf::from("x/a.head.head"));
}

#[test]
fn empty_or_missing_log_verifies_and_creates_nothing_on_open() {
    let l = new_log();
    let r = verify(&l.log, &l.head, &[]).unwrap();
    assert_eq!((r.records, r.last_hash.as_str(), r.key.clone()), (0, GENESIS, None));
    let a = JsonlAudit::open(&l.log, operator(1, "ana"), clock()).unwrap();
    assert_eq!(a.next_seq(), 1);
    assert!(!l.log.exists() && !l.head.exists());
    fs::create_dir_all(l.log.parent().unwrap()).unwrap();
    fs::write(&l.log, "").unwrap();
    assert_eq!(verify(&l.log, &l.head, &[]).unwrap().records, 0);
    assert!(audit::read(&l.log).unwrap().is_empty());
    assert_eq!(audit::first_key(&l.log).unwrap(), None);
}

#[test]
fn record_and_head_format() {
    let l = new_log();
    let op = operator(1, "ana");
    let mut a = JsonlAudit::open(&l.log, op.clone(), || "2026-11-02T10:00:00Z".to_string()).unwrap();
    a.set_aws_identity(Some(json!({"account": "111111111111", "arn": "arn:aws:iam::111111111111:user/ana"})));
    a.append(AuditEvent::from_parts("sha256:abc", "apply-start", "", json!({"z": 1, "a": [true, null]})))
        .unwrap();
    let text = fs::read_to_string(&l.log).unwrap();
    assert!(text.ends_with('\n') && text.lines().count() == 1);
    assert!(text.contains(r#","detail":{"a":[true,null],"z":1},"prev":"#), "{text}");
    assert!(
        text.starts_with(
            r#"{"v":1,"seq":1,"ts":"2026-11-02T10:00:00Z","actor":{"user":"ana","aws":{"account":"#
        ),
        "{text}"
    );
    let v: Value = serde_json::from_str(&text).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["v", "seq", "ts", "actor", "plan_id", "event", "address", "detail", "prev", "hash", "sig"]
    );
    let rec: Record = serde_json::from_value(v.clone()).unwrap();
    assert_eq!((rec.v, rec.seq, rec.ts.as_str()), (1, 1, "2026-11-02T10:00:00Z"));
    assert_eq!(rec.actor.user, "ana");
    assert_eq!(rec.actor.key, op.public_key_hex);
    assert_eq!(rec.actor.aws.as_ref().unwrap()["account"], "111111111111");
    assert_eq!(rec.prev, GENESIS);
    assert_eq!(rec.hash, audit::record_hash(&v));
    assert!(rec.hash.starts_with("sha256:") && rec.hash.len() == 71);
    assert_eq!(rec.sig.len(), 128);
    // The hash is over the canonical form: sorted keys, no whitespace, no hash/sig.
    let mut body = v.as_object().unwrap().clone();
    body.shift_remove("hash");
    body.shift_remove("sig");
    let canon = audit::canonical_json(&Value::Object(body));
    assert!(canon.starts_with(r#"{"actor":{"aws":{"account":"111111111111","arn":"#), "{canon}");
    assert!(canon.contains(r#""detail":{"a":[true,null],"z":1},"event":"apply-start""#), "{canon}");
    use sha2::Digest;
    assert_eq!(rec.hash, format!("sha256:{}", hex::encode(sha2::Sha256::digest(canon.as_bytes()))));
    // The head.
    let head = fs::read_to_string(&l.head).unwrap();
    let expected = Head::signed(&op, 1, &rec.hash);
    assert_eq!(head, expected.to_line());
    assert!(head.starts_with(&format!(
        r#"{{"v":1,"seq":1,"hash":"{}","key":"{}","sig":""#,
        rec.hash, op.public_key_hex
    )));
    assert_eq!(
        expected.message(),
        format!(r#"{{"hash":"{}","key":"{}","seq":1,"v":1}}"#, rec.hash, op.public_key_hex)
    );
}

#[test]
fn append_reopen_resume() {
    let l = new_log();
    let op = operator(1, "ana");
    append_n(&l.log, &op, 0, 3);
    let a = JsonlAudit::open(&l.log, op.clone(), clock()).unwrap();
    assert_eq!(a.next_seq(), 4);
    assert!(a.pending_recoveries().is_empty());
    drop(a);
    append_n(&l.log, &op, 3, 2);
    let recs = audit::read(&l.log).unwrap();
    assert_eq!(recs.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    assert_eq!(
        recs.iter().map(|r| r.event.as_str()).collect::<Vec<_>>(),
        ["begin", "intent", "outcome", "end", "begin"]
    );
    for w in recs.windows(2) {
        assert_eq!(w[1].prev, w[0].hash);
    }
    let r = verify(&l.log, &l.head, &[]).unwrap();
    assert_eq!((r.records, r.last_seq), (5, 5));
    assert_eq!(r.last_hash, recs[4].hash);
    assert_eq!(r.key.as_deref(), Some(op.public_key_hex.as_str()));
    assert!(!r.pinned);
    let r = verify(&l.log, &l.head, &[op.public_key_hex.to_uppercase()]).unwrap();
    assert!(r.pinned);
}

#[test]
fn genuine_logs_of_several_sizes_verify() {
    for n in [1, 2, 3, 10, 57, 120] {
        let l = new_log();
        let op = operator(3, "bo");
        append_n(&l.log, &op, 0, n);
        let r = verify(&l.log, &l.head, &[]).unwrap();
        assert_eq!(r.records, n as u64);
        verify(&l.log, &l.head, std::slice::from_ref(&op.public_key_hex)).unwrap();
        let other = operator(4, "x").public_key_hex;
        let e = verify(&l.log, &l.head, std::slice::from_ref(&other)).unwrap_err();
        assert_eq!((e.line, e.seq), (Some(1), Some(1)));
        assert!(matches!(e.problem, Problem::UntrustedKey { .. }), "{e}");
        // Two pinned operators, one of them ours.
        verify(&l.log, &l.head, &[other, format!("ed25519:{}", op.public_key_hex)]).unwrap();
    }
}

#[test]
fn awkward_details_survive_the_round_trip() {
    let l = new_log();
    let op = operator(1, "ana");
    let mut a = JsonlAudit::open(&l.log, op, clock()).unwrap();
    let details = [
        json!(0.1),
        json!(1e300),
        json!(-0.0),
        json!(std::f64::consts::PI),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(123_456_789.123_456_79),
        json!(5e-324),
        json!({"\u{0}ctl\t": "\u{1f}\u{7f}\u{2028}", "emoji": "🦀", "": [[], {}]}),
        json!("a/b\\c\"d"),
        Value::Null,
    ];
    for (i, d) in details.iter().enumerate() {
        a.append(AuditEvent::from_parts("p", "outcome", &format!("x:{i}"), d.clone())).unwrap();
    }
    assert_eq!(verify(&l.log, &l.head, &[]).unwrap().records, details.len() as u64);
    let recs = audit::read(&l.log).unwrap();
    assert_eq!(recs[8].detail["emoji"], "🦀");
}

#[test]
fn torn_line_is_reported_then_recovered() {
    for torn in ["{\"v\":1,\"seq\":4,\"ts\":\"20".to_string(), "x".repeat(5000), "\0\0\0\0".to_string()] {
        let l = new_log();
        let op = operator(1, "ana");
        append_n(&l.log, &op, 0, 3);
        let genuine_len = fs::metadata(&l.log).unwrap().len();
        fs::OpenOptions::new().append(true).open(&l.log).unwrap().write_all_bytes(torn.as_bytes());
        let e = verify(&l.log, &l.head, &[]).unwrap_err();
        assert_eq!(e.line, Some(4));
        assert_eq!(e.problem, Problem::TornLine { bytes: torn.len() as u64 });
        assert!(e.to_string().contains("torn final line"), "{e}");
        // `read` skips the torn bytes.
        assert_eq!(audit::read(&l.log).unwrap().len(), 3);

        let mut a = JsonlAudit::open(&l.log, op.clone(), clock()).unwrap();
        assert_eq!(a.pending_recoveries().len(), 1, "{:?}", a.pending_recoveries());
        assert!(a.pending_recoveries()[0].contains("torn final line"));
        a.append(event(3)).unwrap();
        assert!(a.pending_recoveries().is_empty());
        a.append(event(4)).unwrap();
        let r = verify(&l.log, &l.head, &[]).unwrap();
        assert_eq!(r.records, 6);
        let recs = audit::read(&l.log).unwrap();
        let rec = &recs[3];
        assert_eq!((rec.seq, rec.event.as_str(), rec.plan_id.as_str()), (4, "recovery", "sha256:plan0"));
        assert_eq!(rec.detail["reason"], "torn final line");
        assert_eq!(rec.detail["offset"], genuine_len);
        assert_eq!(rec.detail["bytes"], torn.len());
        use sha2::Digest;
        assert_eq!(
            rec.detail["sha256"],
            format!("sha256:{}", hex::encode(sha2::Sha256::digest(torn.as_bytes())))
        );
        let head = &torn.as_bytes()[..torn.len().min(256)];
        assert_eq!(rec.detail["preview"], String::from_utf8_lossy(head).as_ref());
        assert_eq!(recs[4].event, "end");
        // The torn bytes are gone from the file.
        let text = fs::read_to_string(&l.log).unwrap();
        assert_eq!(text.lines().count(), 6);
        assert!(text.ends_with('\n'));
    }
}

trait WriteAll {
    fn write_all_bytes(self, b: &[u8]);
}
impl WriteAll for fs::File {
    fn write_all_bytes(mut self, b: &[u8]) {
        use std::io::Write;
        self.write_all(b).unwrap();
    }
}

#[test]
fn stale_head_after_a_crash_is_reported_then_recovered() {
    let l = new_log();
    let op = operator(1, "ana");
    append_n(&l.log, &op, 0, 4);
    let old_head = fs::read(&l.head).unwrap();
    append_n(&l.log, &op, 4, 1);
    // Crash between the record's fsync and the head's rename: the head is one behind.
    fs::write(&l.head, &old_head).unwrap();
    let e = verify(&l.log, &l.head, &[]).unwrap_err();
    assert_eq!(e.problem, Problem::HeadStale { head_seq: 4, log_seq: 5 });
    assert_eq!(e.line, None);
    let mut a = JsonlAudit::open(&l.log, op.clone(), clock()).unwrap();
    assert_eq!(a.pending_recoveries().len(), 1);
    a.append(event(5)).unwrap();
    assert_eq!(verify(&l.log, &l.head, &[]).unwrap().records, 7);
    let recs = audit::read(&l.log).unwrap();
    assert_eq!(recs[5].event, "recovery");
    assert_eq!(recs[5].detail, json!({"reason": "stale head", "head_seq": 4, "log_seq": 5}));
}

#[test]
fn missing_head_after_the_first_record_is_recovered_but_not_later() {
    let l = new_log();
    let op = operator(1, "ana");
    append_n(&l.log, &op, 0, 1);
    fs::remove_file(&l.head).unwrap();
    let e = verify(&l.log, &l.head, &[]).unwrap_err();
    assert_eq!(e.problem, Problem::HeadMissing { records: 1 });
    append_n(&l.log, &op, 1, 1);
    let recs = audit::read(&l.log).unwrap();
    assert_eq!(recs[1].detail["reason"], "missing head");
    verify(&l.log, &l.head, &[]).unwrap();

    // With several records a missing head is not a crash: refuse to write.
    fs::remove_file(&l.head).unwrap();
    let e = JsonlAudit::open(&l.log, op.clone(), clock()).unwrap_err();
    assert!(e.to_string().contains("head"), "{e}");
    assert!(matches!(verify(&l.log, &l.head, &[]).unwrap_err().problem, Problem::HeadMissing { records: 3 }));
}

#[test]
fn torn_line_and_stale_head_together() {
    let l = new_log();
    let op = operator(1, "ana");
    append_n(&l.log, &op, 0, 2);
    let old_head = fs::read(&l.head).unwrap();
    append_n(&l.log, &op, 2, 1);
    fs::write(&l.head, &old_head).unwrap();
    fs::OpenOptions::new().append(true).open(&l.log).unwrap().write_all_bytes(b"{\"v\":");
    let mut a = JsonlAudit::open(&l.log, op.clone(), clock()).unwrap();
    assert_eq!(a.pending_recoveries().len(), 2);
    a.append(event(3)).unwrap();
    let recs = audit::read(&l.log).unwrap();
    assert_eq!(
        recs.iter().map(|r| r.event.as_str()).collect::<Vec<_>>(),
        ["begin", "intent", "outcome", "recovery", "recovery", "end"]
    );
    verify(&l.log, &l.head, &[]).unwrap();
}

#[test]
fn open_refuses_a_tampered_tail_or_head() {
    let op = operator(1, "ana");
    // Truncated log: head ahead.
    let l = new_log();
    append_n(&l.log, &op, 0, 5);
    let text = fs::read_to_string(&l.log).unwrap();
    let cut: String = text.lines().take(3).map(|s| format!("{s}\n")).collect();
    fs::write(&l.log, cut).unwrap();
    assert!(JsonlAudit::open(&l.log, op.clone(), clock()).is_err());
    assert!(matches!(
        verify(&l.log, &l.head, &[]).unwrap_err().problem,
        Problem::HeadMismatch { head_seq: 5, log_seq: 3, .. }
    ));
    // Log emptied, head left.
    fs::write(&l.log, "").unwrap();
    assert!(JsonlAudit::open(&l.log, op.clone(), clock()).is_err());
    assert!(matches!(
        verify(&l.log, &l.head, &[]).unwrap_err().problem,
        Problem::HeadMismatch { log_seq: 0, .. }
    ));
    fs::remove_file(&l.log).unwrap();
    assert!(verify(&l.log, &l.head, &[]).is_err());
    // Last line edited.
    let l = new_log();
    append_n(&l.log, &op, 0, 3);
    let text = fs::read_to_string(&l.log).unwrap().replace("\"begin\"", "\"begun\"");
    let text = text.replacen("\"outcome\"", "\"0utcome\"", 1);
    fs::write(&l.log, text).unwrap();
    let e = JsonlAudit::open(&l.log, op.clone(), clock()).unwrap_err();
    assert!(e.to_string().contains("not a valid record"), "{e}");
    // Head edited.
    let l = new_log();
    append_n(&l.log, &op, 0, 3);
    let head = fs::read_to_string(&l.head).unwrap().replace("\"seq\":3", "\"seq\":2");
    fs::write(&l.head, head).unwrap();
    assert!(JsonlAudit::open(&l.log, op, clock()).is_err());
}

#[test]
fn a_second_writer_is_refused() {
    let l = new_log();
    let op = operator(1, "ana");
    append_n(&l.log, &op, 0, 1);
    let mut a = JsonlAudit::open(&l.log, op.clone(), clock()).unwrap();
    let mut b = JsonlAudit::open(&l.log, op.clone(), clock()).unwrap();
    a.append(event(1)).unwrap();
    let e = b.append(event(2)).unwrap_err();
    assert!(e.to_string().contains("changed since it was opened"), "{e}");
    verify(&l.log, &l.head, &[]).unwrap();
}

#[test]
fn whitespace_edit_is_detected() {
    let l = new_log();
    let op = operator(1, "ana");
    append_n(&l.log, &op, 0, 3);
    let text = fs::read_to_string(&l.log).unwrap().replacen("{\"v\":1,", "{\"v\": 1,", 1);
    fs::write(&l.log, text).unwrap();
    let e = verify(&l.log, &l.head, &[]).unwrap_err();
    assert_eq!((e.line, e.seq, e.problem.clone()), (Some(1), Some(1), Problem::NotCanonical));
    assert!(e.to_string().starts_with("line 1 (seq 1): "), "{e}");
}

#[test]
fn a_second_operator_needs_pinning() {
    let l = new_log();
    let ana = operator(1, "ana");
    let bo = operator(2, "bo");
    append_n(&l.log, &ana, 0, 2);
    append_n(&l.log, &bo, 2, 2);
    assert_eq!(audit::first_key(&l.log).unwrap(), Some(ana.public_key_hex.clone()));
    let e = verify(&l.log, &l.head, &[]).unwrap_err();
    assert_eq!((e.line, e.seq), (Some(3), Some(3)));
    assert!(matches!(e.problem, Problem::UntrustedKey { .. }));
    let r = verify(&l.log, &l.head, &[ana.public_key_hex.clone(), bo.public_key_hex.clone()]).unwrap();
    assert_eq!(r.records, 4);
}

#[test]
fn utc_now_is_rfc3339_seconds() {
    let now = audit::utc_now();
    assert_eq!(now.len(), 20, "{now}");
    assert!(now.ends_with('Z') && now.as_bytes()[10] == b'T');
    now.parse::<jiff::Timestamp>().unwrap();
}

// ---- keys

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn key_file_is_created_private_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let (op, loc) = keys::load_or_create(KeyStore::FileOnly, dir.path(), "ana").unwrap();
    let path = dir.path().join("vend").join("operator.key");
    assert_eq!(keys::key_file_path(dir.path()), path);
    match &loc {
        KeyLocation::File { path: p, created, reason } => {
            assert_eq!(p, &path);
            assert!(*created);
            assert!(reason.contains("requested"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(loc.is_file() && loc.created());
    assert!(loc.to_string().contains(&path.display().to_string()), "{loc}");
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    assert_eq!(op.user, "ana");
    assert_eq!(op.public_key_hex.len(), 64);
    assert_eq!(op.public_key_hex, hex::encode(op.signing_key.verifying_key().to_bytes()));
    // No temporary file left behind.
    assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    // The secret never shows in Debug.
    let secret = hex::encode(op.signing_key.to_bytes());
    assert!(!format!("{op:?}").contains(&secret));
    assert!(fs::read_to_string(&path).unwrap().contains(&format!("ed25519-secret:{secret}")));

    let (again, loc2) = keys::load_or_create(KeyStore::FileOnly, dir.path(), "ana").unwrap();
    assert_eq!(again.public_key_hex, op.public_key_hex);
    assert!(!loc2.created());
    assert_eq!(mode(&path), 0o600);

    // The key signs a log that verifies against it, across runs.
    let log = dir.path().join("ws/.vend/audit.jsonl");
    append_n(&log, &op, 0, 2);
    append_n(&log, &again, 2, 2);
    verify(&log, &head_path(&log), std::slice::from_ref(&op.public_key_hex)).unwrap();
}

#[test]
fn two_users_share_the_file_but_not_the_user_name() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = keys::load_or_create(KeyStore::FileOnly, dir.path(), "ana").unwrap();
    let (b, _) = keys::load_or_create(KeyStore::FileOnly, dir.path(), "ana@ci").unwrap();
    assert_eq!(a.public_key_hex, b.public_key_hex);
    assert_eq!(b.user, "ana@ci");
}

#[test]
fn fresh_keys_differ() {
    let a = Operator::generate("a").unwrap();
    let b = Operator::generate("a").unwrap();
    assert_ne!(a.public_key_hex, b.public_key_hex);
    let d1 = tempfile::tempdir().unwrap();
    let d2 = tempfile::tempdir().unwrap();
    let (k1, _) = keys::load_or_create(KeyStore::FileOnly, d1.path(), "u").unwrap();
    let (k2, _) = keys::load_or_create(KeyStore::FileOnly, d2.path(), "u").unwrap();
    assert_ne!(k1.public_key_hex, k2.public_key_hex);
}

#[test]
fn key_file_errors() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (_, _) = keys::load_or_create(KeyStore::FileOnly, dir.path(), "ana").unwrap();
    let path = keys::key_file_path(dir.path());
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let e = keys::load_or_create(KeyStore::FileOnly, dir.path(), "ana").unwrap_err();
    assert!(matches!(e, KeyError::Permissions { mode: 0o644, .. }), "{e}");
    assert!(e.to_string().contains("chmod 600"), "{e}");

    fs::write(&path, "# comment\ned25519-secret:abcd\n").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    let e = keys::load_or_create(KeyStore::FileOnly, dir.path(), "ana").unwrap_err();
    assert!(matches!(e, KeyError::BadKeyFile { .. }), "{e}");
    fs::write(&path, "").unwrap();
    assert!(matches!(
        keys::load_or_create(KeyStore::FileOnly, dir.path(), "ana"),
        Err(KeyError::BadKeyFile { .. })
    ));
    // A hand-written key file is accepted.
    fs::write(&path, format!("\n# mine\n  ed25519-secret:{}  \n", "07".repeat(32))).unwrap();
    let (op, loc) = keys::load_or_create(KeyStore::FileOnly, dir.path(), "ana").unwrap();
    assert_eq!(op.public_key_hex, operator(7, "x").public_key_hex);
    assert!(!loc.created());

    assert!(matches!(
        keys::load_or_create(KeyStore::FileOnly, Path::new("relative/dir"), "ana"),
        Err(KeyError::ConfigDirNotAbsolute(_))
    ));
    assert!(matches!(keys::load_or_create(KeyStore::FileOnly, dir.path(), ""), Err(KeyError::EmptyUser)));
}

fn ev(event: &str, address: &str) -> AuditEvent {
    AuditEvent::from_parts(
        "sha256:p1",
        event,
        address,
        json!({"call": {"op": "CreateAccount", "name": address}}),
    )
}

/// A process killed during an apply leaves intents without outcomes and no `apply-end`: the next
/// append records one `recovery` naming those writes (they may or may not have happened), once.
#[test]
fn an_interrupted_apply_is_recorded_once_with_its_writes_without_outcome() {
    let l = new_log();
    let op = operator(7, "alice");
    {
        let mut a = JsonlAudit::open(&l.log, op.clone(), clock()).unwrap();
        for (e, addr) in
            [("apply-start", ""), ("intent", "account:a"), ("outcome", "account:a"), ("intent", "account:b")]
        {
            a.append(ev(e, addr)).unwrap();
        }
        // killed here
    }
    let mut a = JsonlAudit::open(&l.log, op.clone(), clock()).unwrap();
    let pending = a.pending_recoveries();
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert!(pending[0].contains("never ended") && pending[0].contains("1 write"), "{pending:?}");
    a.append(ev("apply-start", "")).unwrap();
    drop(a);
    let records: Vec<Value> =
        fs::read_to_string(&l.log).unwrap().lines().map(|x| serde_json::from_str(x).unwrap()).collect();
    let rec = &records[4];
    assert_eq!(rec["event"], "recovery");
    assert_eq!(rec["detail"]["reason"], "interrupted apply");
    assert_eq!(rec["detail"]["apply_start_seq"], 1);
    let open = rec["detail"]["writes_without_outcome"].as_array().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["address"], "account:b");
    assert_eq!(open[0]["seq"], 4);
    assert_eq!(records[5]["event"], "apply-start");
    verify(&l.log, &l.head, &[]).unwrap();
    // The new apply is itself unfinished, but the old one is not reported again: only the new
    // apply (seq 6, no writes) is.
    let mut a = JsonlAudit::open(&l.log, op.clone(), clock()).unwrap();
    let pending = a.pending_recoveries();
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert!(pending[0].contains("seq 6") && pending[0].contains("0 write"), "{pending:?}");
    a.append(ev("apply-end", "")).unwrap();
    drop(a);
    // After an apply-end nothing is pending.
    let a = JsonlAudit::open(&l.log, op, clock()).unwrap();
    assert!(a.pending_recoveries().is_empty());
    verify(&l.log, &l.head, &[]).unwrap();
}

// ------------------------------------------------------------------------------------------------
// The same log over an object store (the S3 backend's shape, in memory)

/// One object per record named by its seq, plus a head object, shared between "processes" (every
/// clone sees the same objects): the S3 backend's layout, with `If-None-Match` semantics on
/// record writes. `crash_before_head` makes the next head write fail once (a crash after the
/// record landed).
#[derive(Clone, Default)]
struct MemStore {
    objects: Arc<std::sync::Mutex<std::collections::BTreeMap<String, Vec<u8>>>>,
    crash_before_head: Arc<std::sync::atomic::AtomicBool>,
}

impl MemStore {
    fn key(seq: u64) -> String {
        format!("audit/{seq:012}.json")
    }
    fn records(&self) -> Vec<(String, Vec<u8>)> {
        let o = self.objects.lock().unwrap();
        o.iter()
            .filter(|(k, _)| k.as_str() != "audit/head.json")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
    fn stored(key: &str, bytes: Vec<u8>) -> audit::StoredRecord {
        let named = key
            .strip_prefix("audit/")
            .and_then(|n| n.strip_suffix(".json"))
            .filter(|d| d.len() == 12)
            .and_then(|d| d.parse().ok());
        audit::StoredRecord { label: format!("object {key}"), named_seq: named, bytes, torn: false }
    }
}

impl audit::LogStore for MemStore {
    fn location(&self) -> String {
        "mem://audit/".into()
    }
    fn head_location(&self) -> String {
        "mem://audit/head.json".into()
    }
    fn names_records(&self) -> bool {
        true
    }
    fn for_each(&mut self, visit: &mut dyn FnMut(audit::StoredRecord) -> bool) -> Result<(), String> {
        for (k, v) in self.records() {
            if !visit(MemStore::stored(&k, v)) {
                break;
            }
        }
        Ok(())
    }
    fn for_each_back(&mut self, visit: &mut dyn FnMut(audit::StoredRecord) -> bool) -> Result<(), String> {
        for (k, v) in self.records().into_iter().rev() {
            if !visit(MemStore::stored(&k, v)) {
                break;
            }
        }
        Ok(())
    }
    fn tail(&mut self) -> Result<audit::StoreTail, String> {
        Ok(audit::StoreTail { last: self.records().pop().map(|(k, v)| MemStore::stored(&k, v)), torn: None })
    }
    fn read_head(&mut self) -> Result<Option<String>, String> {
        Ok(self.objects.lock().unwrap().get("audit/head.json").map(|b| String::from_utf8(b.clone()).unwrap()))
    }
    fn append(&mut self, seq: u64, line: &str) -> Result<(), String> {
        let mut o = self.objects.lock().unwrap();
        let key = MemStore::key(seq);
        if o.contains_key(&key) {
            return Err(format!("{key} already exists"));
        }
        o.insert(key, line.as_bytes().to_vec());
        Ok(())
    }
    fn write_head(&mut self, text: &str) -> Result<(), String> {
        if self.crash_before_head.swap(false, Ordering::SeqCst) {
            return Err("crashed before the head".into());
        }
        self.objects.lock().unwrap().insert("audit/head.json".into(), text.as_bytes().to_vec());
        Ok(())
    }
}

fn apply_event(event: &str, address: &str, detail: Value) -> AuditEvent {
    AuditEvent::from_parts("sha256:plan", event, address, detail)
}

#[test]
fn a_log_over_an_object_store_chains_verifies_and_recovers_like_the_file() {
    let ana = operator(1, "ana");
    let store = MemStore::default();
    let open = || audit::AuditLog::open_store(Box::new(store.clone()), ana.clone(), clock()).unwrap();
    let mut a = open();
    for i in 0..6 {
        a.append(event(i)).unwrap();
    }
    // The objects are exactly the lines the local log would hold, and verify the same way.
    let l = new_log();
    append_n(&l.log, &ana, 0, 6);
    let bodies: Vec<String> =
        store.records().into_iter().map(|(_, v)| String::from_utf8(v).unwrap()).collect();
    let file = fs::read_to_string(&l.log).unwrap();
    assert_eq!(bodies.len(), 6);
    for (body, line) in bodies.iter().zip(file.lines()) {
        let (b, f): (Value, Value) =
            (serde_json::from_str(body).unwrap(), serde_json::from_str(line).unwrap());
        assert_eq!((b["seq"].clone(), b["event"].clone()), (f["seq"].clone(), f["event"].clone()));
        assert_eq!(audit::record_line(&b).unwrap(), *body, "a record object is its canonical line");
    }
    let r = audit::verify_store(&mut store.clone(), &[]).unwrap();
    assert_eq!((r.records, r.last_seq), (6, 6));

    // An apply killed mid-way, the last record written but not the head: both are found on open
    // and recorded by the next append, and the log verifies again.
    a.append(apply_event("apply-start", "", json!({"changes": 2}))).unwrap();
    a.append(apply_event("intent", "account:payments", json!({"call": {"op": "CreateAccount"}}))).unwrap();
    store.crash_before_head.store(true, Ordering::SeqCst);
    assert!(
        a.append(apply_event("intent", "ou:Workloads", json!({"call": {"op": "CreateOrganizationalUnit"}})))
            .is_err()
    );
    drop(a);
    let e = audit::verify_store(&mut store.clone(), &[]).unwrap_err();
    assert!(matches!(e.problem, Problem::HeadStale { head_seq: 8, log_seq: 9 }), "{e}");
    let mut b = open();
    let pending = b.pending_recoveries();
    assert_eq!(pending.len(), 2, "{pending:?}");
    b.append(apply_event("lock-takeover", "", json!({}))).unwrap();
    let recs: Vec<Value> =
        store.records().into_iter().map(|(_, v)| serde_json::from_slice(&v).unwrap()).collect();
    let reasons: Vec<&str> = recs
        .iter()
        .filter(|r| r["event"] == "recovery")
        .map(|r| r["detail"]["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["stale head", "interrupted apply"]);
    let interrupted = recs.iter().find(|r| r["detail"]["reason"] == "interrupted apply").unwrap();
    assert_eq!(interrupted["detail"]["writes_without_outcome"].as_array().unwrap().len(), 2);
    let r = audit::verify_store(&mut store.clone(), &[]).unwrap();
    assert_eq!(r.records, 12);

    // A second writer that read the log before the first appended cannot fork the chain: its
    // record's seq is taken, the store refuses, nothing is overwritten.
    let mut late = open();
    b.append(event(20)).unwrap();
    let err = late.append(event(21)).unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(audit::verify_store(&mut store.clone(), &[]).unwrap().records, 13);

    // A record object renamed to another seq, or an extra object: named, not just "broken".
    let (k5, v5) = store.records()[4].clone();
    store.objects.lock().unwrap().remove(&k5);
    store.objects.lock().unwrap().insert("audit/000000000004.json.bak".into(), v5.clone());
    let e = audit::verify_store(&mut store.clone(), &[]).unwrap_err();
    assert!(
        e.to_string().starts_with("object audit/000000000004.json.bak (seq 5): not named as a record"),
        "{e}"
    );
    store.objects.lock().unwrap().remove("audit/000000000004.json.bak");
    store.objects.lock().unwrap().insert(k5, v5);
    assert!(audit::verify_store(&mut store.clone(), &[]).is_ok());
}
