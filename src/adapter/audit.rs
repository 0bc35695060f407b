//! The append-only, tamper-evident audit log (`port::Audit`): [`AuditLog`] chains, signs and
//! appends records to a [`LogStore`] — the local JSON Lines file at `<log>` (default
//! `.vend/audit.jsonl`) with a signed head beside it (`<log stem>.head`, `.vend/audit.head`)
//! ([`FileStore`], the log named [`JsonlAudit`]), or the S3 backend's one object per record
//! (`adapter::s3_backend`). [`verify_store`] checks records and head, [`read_store`] lists the
//! records for `vend audit log` — one implementation for every store; a store only moves bytes.
//!
//! **Record** (one line, keys in this order, compact, `\n`-terminated):
//! `{"v":1,"seq":N,"ts":"2026-11-02T10:00:00Z","actor":{"user":U,"aws":null|{…},"key":HEX},
//! "plan_id":P,"event":E,"address":A,"detail":{…},"prev":H,"hash":H,"sig":S}`. `seq` starts at 1
//! and is contiguous (it equals the line number); `prev` is the previous record's `hash`, or
//! [`GENESIS`] (`sha256:` and 64 zeros) for the first. `hash` is `sha256:<hex>` of the canonical
//! form of the record without `hash` and `sig` ([`canonical_json`]: object keys sorted by their
//! UTF-8 bytes, no whitespace, strings and numbers written as serde_json writes them). `sig` is the
//! Ed25519 signature (128 lowercase hex digits) by `actor.key` (64 lowercase hex digits) of the
//! ASCII bytes of `hash`.
//! A line has exactly these keys in this order (`actor`: `user`, `aws`, `key`), and every value in
//! canonical form (objects inside `detail` and `aws` get sorted keys): one byte form per record
//! ([`record_line`]), so a reordered, re-indented, re-escaped or duplicate-key line is reported as
//! an edit even when it means the same.
//!
//! **Head** (one line): `{"v":1,"seq":N,"hash":H,"key":HEX,"sig":S}` for the last record, `sig`
//! signing the canonical form of the head without `sig`. `append` stores the record durably,
//! then replaces the head (the local file: fsync, then temporary file, fsync, rename, fsync of
//! the directory).
//! The log is trusted to one key: the pinned operator keys when given, else the first record's
//! key (trust on first use), for every record and the head.
//!
//! **Crash recovery.** A crash can leave (a) a torn final line (bytes after the last `\n`), or (b)
//! a head one record behind (crash between the record's fsync and the head's rename; with one
//! record, no head yet). [`verify`] reports both as such. [`JsonlAudit::open`] finds them and the
//! next `append` first writes a `recovery` record (same `plan_id` as the event being appended,
//! address empty) whose detail says what was found — `{"reason":"torn final line","offset":O,
//! "bytes":N,"sha256":"sha256:…","preview":"<first 256 bytes, lossy UTF-8>"}` or
//! `{"reason":"stale head"|"missing head","head_seq":S|null,"log_seq":L}` — writing it over the
//! torn bytes, which are then truncated: they never enter the chain, and the log verifies again.
//! (c) An apply killed mid-way leaves an `apply-start` with no `apply-end`: the next append first
//! records `{"reason":"interrupted apply","interrupted_plan_id":…,"apply_start_seq":S,
//! "writes_without_outcome":[{seq,address,call}…]}` — writes that may or may not have happened
//! (the next plan reads the live state to find out). Anything a crash
//! cannot explain (head ahead of the log, a different hash, a missing head after several records,
//! a last line that is not a record) makes `open`/`append` refuse, so that an apply never papers
//! over tampering. The caller holds the apply lock (the workspace's, or the S3 backend's lease):
//! this type assumes one writer, and a store refuses to write over a record it did not see (the
//! local file's length moved; an S3 record object already exists).
//!
//! What a local head cannot catch: an attacker who kept an old genuine head can roll the log back
//! to it; and with no pinned keys, a log re-signed from its first record with another key.

use crate::adapter::keys::Operator;
use crate::port::{Audit, AuditError, AuditEvent};
use ed25519_dalek::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Record and head format version.
pub const VERSION: u64 = 1;
/// `prev` of the first record.
pub const GENESIS: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
/// Default log path, relative to the workspace.
pub const DEFAULT_LOG: &str = ".vend/audit.jsonl";
/// Longest torn-line preview kept in a recovery record.
const PREVIEW_BYTES: usize = 256;

/// Who wrote a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    /// Local user name.
    pub user: String,
    /// AWS caller identity (`GetCallerIdentity`: account, arn, user id), `null` offline.
    pub aws: Option<Value>,
    /// The operator's Ed25519 public key, hex.
    pub key: String,
}

/// One audit record as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub v: u64,
    pub seq: u64,
    pub ts: String,
    pub actor: Actor,
    pub plan_id: String,
    pub event: String,
    pub address: String,
    pub detail: Value,
    pub prev: String,
    pub hash: String,
    pub sig: String,
}

/// The signed head: the last record's `seq` and `hash`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Head {
    pub v: u64,
    pub seq: u64,
    pub hash: String,
    pub key: String,
    pub sig: String,
}

impl Head {
    /// A head for `(seq, hash)` signed by `operator`.
    pub fn signed(operator: &Operator, seq: u64, hash: &str) -> Head {
        let mut head = Head {
            v: VERSION,
            seq,
            hash: hash.to_string(),
            key: operator.public_key_hex.clone(),
            sig: String::new(),
        };
        head.sig = operator.sign_hex(head.message().as_bytes());
        head
    }

    /// What `sig` signs: the canonical form of the head without `sig`.
    pub fn message(&self) -> String {
        let mut map = Map::new();
        map.insert("v".into(), Value::from(self.v));
        map.insert("seq".into(), Value::from(self.seq));
        map.insert("hash".into(), Value::from(self.hash.clone()));
        map.insert("key".into(), Value::from(self.key.clone()));
        canonical_json(&Value::Object(map))
    }

    /// The head file's exact bytes.
    pub fn to_line(&self) -> String {
        let mut map = Map::new();
        map.insert("v".into(), Value::from(self.v));
        map.insert("seq".into(), Value::from(self.seq));
        map.insert("hash".into(), Value::from(self.hash.clone()));
        map.insert("key".into(), Value::from(self.key.clone()));
        map.insert("sig".into(), Value::from(self.sig.clone()));
        format!("{}\n", Value::Object(map))
    }
}

/// The head file beside a log: the log's path with extension `head` (`audit.jsonl` ->
/// `audit.head`; a log already named `*.head` gets `*.head.head`).
pub fn head_path(log: &Path) -> PathBuf {
    if log.extension().is_some_and(|e| e == "head") {
        let mut name = log.as_os_str().to_owned();
        name.push(".head");
        PathBuf::from(name)
    } else {
        log.with_extension("head")
    }
}

/// Canonical JSON: object keys sorted by their UTF-8 bytes, no whitespace; strings and numbers as
/// serde_json writes them. (Explicit because serde_json's `preserve_order` keeps insertion order.)
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(key) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Top-level keys of a v1 record, in line order.
pub const RECORD_KEYS: [&str; 11] =
    ["v", "seq", "ts", "actor", "plan_id", "event", "address", "detail", "prev", "hash", "sig"];
/// Keys of `actor`, in line order.
pub const ACTOR_KEYS: [&str; 3] = ["user", "aws", "key"];

/// The one byte form of a record's line (without `\n`): exactly [`RECORD_KEYS`] in that order,
/// `actor` with exactly [`ACTOR_KEYS`] in that order, every other value in canonical form.
pub fn record_line(record: &Value) -> Result<String, String> {
    let map = record.as_object().ok_or("the record is not a JSON object")?;
    let actor = map.get("actor").and_then(Value::as_object).ok_or("`actor` is not an object")?;
    let mut out = String::from("{");
    write_fields(map, &RECORD_KEYS, &mut out, &mut |key, value, out| {
        if key == "actor" {
            out.push('{');
            write_fields(actor, &ACTOR_KEYS, out, &mut |_, v, out| {
                write_canonical(v, out);
                Ok(())
            })?;
            out.push('}');
            Ok(())
        } else {
            write_canonical(value, out);
            Ok(())
        }
    })?;
    out.push('}');
    Ok(out)
}

type FieldWriter<'a> = dyn FnMut(&str, &Value, &mut String) -> Result<(), String> + 'a;

fn write_fields(
    map: &Map<String, Value>,
    keys: &[&str],
    out: &mut String,
    each: &mut FieldWriter<'_>,
) -> Result<(), String> {
    if let Some(extra) = map.keys().find(|k| !keys.contains(&k.as_str())) {
        return Err(format!("unexpected key `{extra}`"));
    }
    for (i, key) in keys.iter().enumerate() {
        let value = map.get(*key).ok_or_else(|| format!("missing key `{key}`"))?;
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::from(*key).to_string());
        out.push(':');
        each(key, value, out)?;
    }
    Ok(())
}

/// `sha256:<hex>` of the canonical form of a record, leaving out its `hash` and `sig` keys.
pub fn record_hash(record: &Value) -> String {
    let text = match record {
        Value::Object(map) => {
            let mut body = map.clone();
            body.shift_remove("hash");
            body.shift_remove("sig");
            canonical_json(&Value::Object(body))
        }
        other => canonical_json(other),
    };
    format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
}

/// The current time as the log writes it: RFC 3339 UTC, seconds precision.
pub fn utc_now() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

// ------------------------------------------------------------------------------------------------
// Storage

/// One stored record as a [`LogStore`] yields it, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    /// Where it is, for messages: `line 3`, `object s3://bucket/prefix/audit/000000000003.json`.
    pub label: String,
    /// The seq its storage name claims (an S3 object's key); `None` where the name says nothing
    /// (a line of the local file).
    pub named_seq: Option<u64>,
    /// The record's line, without a line terminator.
    pub bytes: Vec<u8>,
    /// Bytes after the file's last `\n`: a line torn by a crash (local file only; an object put
    /// is atomic).
    pub torn: bool,
}

/// Bytes a crash left after the last complete record (local file only).
#[derive(Debug, Clone, PartialEq)]
pub struct Torn {
    pub offset: u64,
    pub bytes: u64,
    pub sha256: String,
    pub preview: String,
}

/// The end of a log as the writer resumes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreTail {
    /// The last complete record.
    pub last: Option<StoredRecord>,
    pub torn: Option<Torn>,
}

/// Where a log's records and its signed head are kept: the local JSON Lines file
/// ([`FileStore`]) or one object per record (`adapter::s3_backend::S3LogStore`). A store only
/// moves bytes; chaining, signing, verifying and crash recovery are [`AuditLog`]'s and
/// [`verify_store`]'s, the same for every store.
pub trait LogStore: Send {
    /// The log, for messages (a path or an `s3://` URL).
    fn location(&self) -> String;
    /// The head, for messages.
    fn head_location(&self) -> String;
    /// Whether each record's storage name carries its seq ([`StoredRecord::named_seq`]), which
    /// verification then checks against its position.
    fn names_records(&self) -> bool {
        false
    }
    /// Visit every record oldest first (a torn remainder last); stop when `visit` returns false.
    fn for_each(&mut self, visit: &mut dyn FnMut(StoredRecord) -> bool) -> Result<(), String>;
    /// Visit the complete records newest first; stop when `visit` returns false.
    fn for_each_back(&mut self, visit: &mut dyn FnMut(StoredRecord) -> bool) -> Result<(), String>;
    /// The last complete record and anything torn after it.
    fn tail(&mut self) -> Result<StoreTail, String>;
    /// The head's bytes, `None` when there is none.
    fn read_head(&mut self) -> Result<Option<String>, String>;
    /// Store `line` (a record's canonical line, no terminator) as record `seq`, over any torn
    /// remainder the last `tail` found. Fails when the log changed since that `tail` (another
    /// writer); never overwrites a stored record.
    fn append(&mut self, seq: u64, line: &str) -> Result<(), String>;
    /// Replace the head with `text` (a [`Head::to_line`]).
    fn write_head(&mut self, text: &str) -> Result<(), String>;
}

/// The local log: JSON Lines at `log`, the head in its own file. Appends are fsynced; the head is
/// replaced atomically (temporary file, fsync, rename, fsync of the directory).
#[derive(Debug, Clone)]
pub struct FileStore {
    log: PathBuf,
    head: PathBuf,
    /// The file's length when `tail` or `append` last saw it (`None`: not looked yet).
    expected_len: Option<u64>,
    /// Length of its complete lines.
    end: u64,
}

impl FileStore {
    /// The log at `log` with its head at [`head_path`].
    pub fn new(log: impl Into<PathBuf>) -> FileStore {
        let log = log.into();
        let head = head_path(&log);
        FileStore::with_head(log, head)
    }

    /// The log at `log` with its head at `head`.
    pub fn with_head(log: impl Into<PathBuf>, head: impl Into<PathBuf>) -> FileStore {
        FileStore { log: log.into(), head: head.into(), expected_len: None, end: 0 }
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    pub fn head_path(&self) -> &Path {
        &self.head
    }
}

impl LogStore for FileStore {
    fn location(&self) -> String {
        self.log.display().to_string()
    }

    fn head_location(&self) -> String {
        self.head.display().to_string()
    }

    fn for_each(&mut self, visit: &mut dyn FnMut(StoredRecord) -> bool) -> Result<(), String> {
        let file = match File::open(&self.log) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e.to_string()),
        };
        let mut reader = BufReader::new(file);
        let mut line_no: u64 = 0;
        loop {
            let mut buf = Vec::new();
            let n = reader.read_until(b'\n', &mut buf).map_err(|e| format!("line {}: {e}", line_no + 1))?;
            if n == 0 {
                return Ok(());
            }
            line_no += 1;
            let torn = buf.last() != Some(&b'\n');
            if !torn {
                buf.pop();
            }
            let record = StoredRecord { label: format!("line {line_no}"), named_seq: None, bytes: buf, torn };
            if !visit(record) || torn {
                return Ok(());
            }
        }
    }

    fn for_each_back(&mut self, visit: &mut dyn FnMut(StoredRecord) -> bool) -> Result<(), String> {
        let mut file = match File::open(&self.log) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e.to_string()),
        };
        let len = file.metadata().map_err(|e| e.to_string())?.len();
        let mut hi = match rfind_newline(&mut file, len).map_err(|e| e.to_string())? {
            Some(pos) => pos + 1,
            None => return Ok(()),
        };
        while hi > 0 {
            let start = rfind_newline(&mut file, hi - 1).map_err(|e| e.to_string())?.map_or(0, |p| p + 1);
            let mut line = vec![0u8; usize::try_from(hi - 1 - start).unwrap_or(0)];
            file.seek(SeekFrom::Start(start)).map_err(|e| e.to_string())?;
            file.read_exact(&mut line).map_err(|e| e.to_string())?;
            hi = start;
            let record =
                StoredRecord { label: format!("offset {start}"), named_seq: None, bytes: line, torn: false };
            if !visit(record) {
                return Ok(());
            }
        }
        Ok(())
    }

    fn tail(&mut self) -> Result<StoreTail, String> {
        let (tail, len) = match File::open(&self.log) {
            Ok(mut file) => {
                let len = file.metadata().map_err(|e| e.to_string())?.len();
                (read_tail(&mut file).map_err(|e| e.to_string())?, len)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Tail::default(), 0),
            Err(e) => return Err(e.to_string()),
        };
        self.expected_len = Some(len);
        self.end = tail.end;
        Ok(StoreTail {
            last: tail.last_line.map(|bytes| StoredRecord {
                label: "the last line".into(),
                named_seq: None,
                bytes,
                torn: false,
            }),
            torn: tail.torn,
        })
    }

    fn read_head(&mut self) -> Result<Option<String>, String> {
        match fs::read_to_string(&self.head) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    fn append(&mut self, _seq: u64, line: &str) -> Result<(), String> {
        if self.expected_len.is_none() {
            self.tail()?;
        }
        if let Some(dir) = self.log.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.log)
            .map_err(|e| e.to_string())?;
        let len = file.metadata().map_err(|e| e.to_string())?.len();
        let expected = self.expected_len.unwrap_or(0);
        if len != expected {
            self.expected_len = None;
            return Err(format!(
                "the log changed since it was opened ({len} bytes, expected {expected}); is another vend writing?"
            ));
        }
        // Until the write is durable the file's state is unknown: read it again next time.
        self.expected_len = None;
        let new_end = self.end + line.len() as u64 + 1;
        file.seek(SeekFrom::Start(self.end)).map_err(|e| e.to_string())?;
        file.write_all(format!("{line}\n").as_bytes()).map_err(|e| e.to_string())?;
        if len > new_end {
            file.set_len(new_end).map_err(|e| e.to_string())?;
        }
        file.sync_all().map_err(|e| e.to_string())?;
        if self.end == 0 {
            sync_dir(&self.log);
        }
        self.end = new_end;
        self.expected_len = Some(new_end);
        Ok(())
    }

    fn write_head(&mut self, text: &str) -> Result<(), String> {
        write_atomic(&self.head, text.as_bytes()).map_err(|e| format!("{}: {e}", self.head.display()))
    }
}

// ------------------------------------------------------------------------------------------------
// Writer

/// A crash left-over found by `open`, recorded by the next `append`.
#[derive(Debug, Clone, PartialEq)]
enum Pending {
    Torn {
        offset: u64,
        bytes: u64,
        sha256: String,
        preview: String,
    },
    StaleHead {
        head_seq: Option<u64>,
        log_seq: u64,
    },
    /// The last apply has no `apply-end`: these writes were sent (intent recorded) and their
    /// outcome never was — they may or may not have happened.
    Interrupted {
        plan_id: String,
        start_seq: u64,
        open: Vec<Value>,
    },
}

impl Pending {
    fn detail(&self) -> Value {
        match self {
            Pending::Torn { offset, bytes, sha256, preview } => serde_json::json!({
                "reason": "torn final line",
                "offset": offset,
                "bytes": bytes,
                "sha256": sha256,
                "preview": preview,
            }),
            Pending::StaleHead { head_seq, log_seq } => serde_json::json!({
                "reason": if head_seq.is_some() { "stale head" } else { "missing head" },
                "head_seq": head_seq,
                "log_seq": log_seq,
            }),
            Pending::Interrupted { plan_id, start_seq, open } => serde_json::json!({
                "reason": "interrupted apply",
                "interrupted_plan_id": plan_id,
                "apply_start_seq": start_seq,
                "writes_without_outcome": open,
            }),
        }
    }

    fn describe(&self) -> String {
        match self {
            Pending::Torn { offset, bytes, .. } => {
                format!("torn final line ({bytes} bytes at offset {offset}), left by an interrupted write")
            }
            Pending::StaleHead { head_seq: Some(h), log_seq } => {
                format!("head at seq {h} behind the log's last record {log_seq} (interrupted write)")
            }
            Pending::StaleHead { head_seq: None, log_seq } => {
                format!("no head for the log's record {log_seq} (interrupted write)")
            }
            Pending::Interrupted { start_seq, open, .. } => format!(
                "the apply started at seq {start_seq} never ended; {} write(s) have no recorded outcome and may or may not have happened (the plan reads the live state)",
                open.len()
            ),
        }
    }
}

/// The signed, hash-chained audit log, appending as one operator, over any [`LogStore`].
/// [`JsonlAudit`] is the same type: the name the local JSON Lines log has always had.
pub struct AuditLog {
    store: Box<dyn LogStore>,
    operator: Operator,
    aws: Option<Value>,
    clock: Box<dyn Fn() -> String + Send>,
    /// Seq of the next record.
    next_seq: u64,
    /// Hash of the last record (or `GENESIS`).
    prev: String,
    pending: Vec<Pending>,
    /// A write failed half-way: rescan the store before the next append.
    rescan: bool,
    /// Asked before each `intent` record: `Some(why)` refuses it (see [`AuditLog::set_fence`]).
    fence: Option<Box<dyn Fn() -> Option<String> + Send>>,
}

/// The local JSON Lines log ([`AuditLog`] over a [`FileStore`]).
pub type JsonlAudit = AuditLog;

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("log", &self.store.location())
            .field("head", &self.store.head_location())
            .field("operator", &self.operator)
            .field("next_seq", &self.next_seq)
            .field("pending", &self.pending)
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Open (or prepare to create) the local log at `log`, with its head at [`head_path`].
    /// Resumes the chain from the last record; finds crash left-overs (see the module doc) and
    /// refuses a log whose tail or head shows tampering. Creates nothing until the first
    /// `append`. `clock` returns RFC 3339 UTC timestamps (e.g. [`utc_now`], or a `port::Clock`'s
    /// `now`).
    pub fn open(
        log: impl Into<PathBuf>,
        operator: Operator,
        clock: impl Fn() -> String + Send + 'static,
    ) -> Result<Self, AuditError> {
        AuditLog::open_store(Box::new(FileStore::new(log)), operator, clock)
    }

    /// [`AuditLog::open`] over any store (the S3 backend's objects).
    pub fn open_store(
        store: Box<dyn LogStore>,
        operator: Operator,
        clock: impl Fn() -> String + Send + 'static,
    ) -> Result<Self, AuditError> {
        let mut audit = AuditLog {
            store,
            operator,
            aws: None,
            clock: Box::new(clock),
            next_seq: 1,
            prev: GENESIS.to_string(),
            pending: Vec::new(),
            rescan: false,
            fence: None,
        };
        audit.scan()?;
        Ok(audit)
    }

    /// Refuse every `intent` record from the moment `fence` answers why (the S3 lease is no
    /// longer ours): no intent, so the engine sends no write — the apply stops there instead of
    /// writing to the cloud without the lock. Other records (outcomes, `apply-end`) still go in:
    /// a store never overwrites a record, so they cannot fork the chain.
    pub fn set_fence(&mut self, fence: impl Fn() -> Option<String> + Send + 'static) {
        self.fence = Some(Box::new(fence));
    }

    /// Set the AWS caller identity written as `actor.aws` from now on.
    pub fn set_aws_identity(&mut self, identity: Option<Value>) {
        self.aws = identity;
    }

    /// The log, for messages (a path or an `s3://` URL).
    pub fn location(&self) -> String {
        self.store.location()
    }

    /// Seq the next appended record will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Hash of the last record, [`GENESIS`] for an empty log.
    pub fn last_hash(&self) -> &str {
        &self.prev
    }

    /// Crash left-overs found on open that the next `append` will record (for a warning).
    pub fn pending_recoveries(&self) -> Vec<String> {
        self.pending.iter().map(Pending::describe).collect()
    }

    fn err(&self, message: impl std::fmt::Display) -> AuditError {
        AuditError(format!("{}: {message}", self.store.location()))
    }

    /// Read the tail of the log and the head; set the chain position and the pending recoveries.
    fn scan(&mut self) -> Result<(), AuditError> {
        self.next_seq = 1;
        self.prev = GENESIS.to_string();
        self.pending.clear();
        let tail = self.store.tail().map_err(|e| self.err(e))?;
        let last = match &tail.last {
            None => None,
            Some(stored) => {
                let rec = parse_last(&stored.bytes).map_err(|why| {
                    self.err(format!(
                        "{} is not a valid record ({why}); run `vend audit verify`",
                        stored.label
                    ))
                })?;
                if let Some(named) = stored.named_seq.filter(|n| *n != rec.seq) {
                    return Err(self.err(format!(
                        "{} is named as record {named} but holds record {}; run `vend audit verify`",
                        stored.label, rec.seq
                    )));
                }
                Some(rec)
            }
        };
        let head_location = self.store.head_location();
        let head = self
            .store
            .read_head()
            .and_then(|text| text.map(|t| parse_head(&t)).transpose())
            .map_err(|why| AuditError(format!("{head_location}: {why}")))?;
        match (&last, &head) {
            (None, None) => {}
            (None, Some(h)) => {
                return Err(self.err(format!(
                    "the log has no record but its head says seq {}: the log was truncated; run `vend audit verify`",
                    h.seq
                )));
            }
            (Some(rec), None) if rec.seq == 1 && rec.prev == GENESIS => {
                self.pending.push(Pending::StaleHead { head_seq: None, log_seq: rec.seq });
            }
            (Some(rec), None) => {
                return Err(self.err(format!(
                    "the head {head_location} is missing but the log has {} records; run `vend audit verify`",
                    rec.seq
                )));
            }
            (Some(rec), Some(h)) => {
                if h.seq == rec.seq && h.hash == rec.hash {
                } else if h.seq + 1 == rec.seq && h.hash == rec.prev {
                    self.pending.push(Pending::StaleHead { head_seq: Some(h.seq), log_seq: rec.seq });
                } else {
                    return Err(self.err(format!(
                        "the head (seq {}, {}) does not match the last record (seq {}, {}); run `vend audit verify`",
                        h.seq, h.hash, rec.seq, rec.hash
                    )));
                }
            }
        }
        if let Some(rec) = last {
            if rec.event != "apply-end"
                && let Some(found) = interrupted_apply(self.store.as_mut()).map_err(|e| self.err(e))?
            {
                self.pending.push(found);
            }
            self.next_seq = rec.seq + 1;
            self.prev = rec.hash;
        }
        if let Some(t) = tail.torn {
            self.pending.push(Pending::Torn {
                offset: t.offset,
                bytes: t.bytes,
                sha256: t.sha256,
                preview: t.preview,
            });
        }
        self.rescan = false;
        Ok(())
    }

    /// Build, sign and durably write one record, then the head.
    fn write_record(&mut self, event: &AuditEvent) -> Result<(), AuditError> {
        let mut actor = Map::new();
        actor.insert("user".into(), Value::from(self.operator.user.clone()));
        actor.insert("aws".into(), self.aws.clone().unwrap_or(Value::Null));
        actor.insert("key".into(), Value::from(self.operator.public_key_hex.clone()));
        let mut body = Map::new();
        body.insert("v".into(), Value::from(VERSION));
        body.insert("seq".into(), Value::from(self.next_seq));
        body.insert("ts".into(), Value::from((self.clock)()));
        body.insert("actor".into(), Value::Object(actor));
        body.insert("plan_id".into(), Value::from(event.plan_id.clone()));
        body.insert("event".into(), Value::from(event.event.clone()));
        body.insert("address".into(), Value::from(event.address.clone()));
        body.insert("detail".into(), event.detail.clone());
        body.insert("prev".into(), Value::from(self.prev.clone()));
        let Value::Object(mut record) = normalize(Value::Object(body)).map_err(|e| self.err(e))? else {
            return Err(self.err("record is not an object"));
        };
        let hash = record_hash(&Value::Object(record.clone()));
        let sig = self.operator.sign_hex(hash.as_bytes());
        record.insert("hash".into(), Value::from(hash.clone()));
        record.insert("sig".into(), Value::from(sig));
        let line = record_line(&Value::Object(record)).map_err(|e| self.err(e))?;

        self.rescan = true;
        self.store.append(self.next_seq, &line).map_err(|e| self.err(e))?;
        self.next_seq += 1;
        self.prev = hash;

        let head = Head::signed(&self.operator, self.next_seq - 1, &self.prev);
        self.store.write_head(&head.to_line()).map_err(AuditError)?;
        self.rescan = false;
        Ok(())
    }
}

impl Audit for AuditLog {
    fn append(&mut self, event: AuditEvent) -> Result<(), AuditError> {
        if event.event == "intent"
            && let Some(why) = self.fence.as_ref().and_then(|fence| fence())
        {
            return Err(self
                .err(format!("not recording the intent for {} (so it is not sent): {why}", event.address)));
        }
        if self.rescan {
            self.scan()?;
        }
        // Torn bytes first (the recovery record is written over them), then a stale head.
        self.pending.sort_by_key(|p| !matches!(p, Pending::Torn { .. }));
        while let Some(found) = self.pending.first().cloned() {
            let recovery = AuditEvent {
                plan_id: event.plan_id.clone(),
                event: "recovery".to_string(),
                address: String::new(),
                detail: found.detail(),
            };
            self.write_record(&recovery)?;
            self.pending.retain(|p| *p != found);
        }
        self.write_record(&event)
    }
}

/// Serialize and parse until the value is a fixed point, so that the bytes written parse back to
/// exactly the value that was hashed (floats may otherwise move by one ulp on the way back).
fn normalize(mut value: Value) -> Result<Value, String> {
    for _ in 0..8 {
        let back: Value = serde_json::from_str(&value.to_string()).map_err(|e| e.to_string())?;
        if back == value {
            return Ok(value);
        }
        value = back;
    }
    Err("a number in the record does not survive a JSON round trip".to_string())
}

#[derive(Debug, Default)]
struct Tail {
    /// Length of the complete lines.
    end: u64,
    /// The last complete line, without its `\n`.
    last_line: Option<Vec<u8>>,
    torn: Option<Torn>,
}

/// The last complete line and any torn bytes after it, reading backwards from the end.
fn read_tail(file: &mut File) -> std::io::Result<Tail> {
    let len = file.metadata()?.len();
    let end = match rfind_newline(file, len)? {
        Some(pos) => pos + 1,
        None => 0,
    };
    let torn = if end < len {
        file.seek(SeekFrom::Start(end))?;
        let mut hasher = Sha256::new();
        let mut preview = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            let chunk = buf.get(..n).unwrap_or_default();
            hasher.update(chunk);
            let room = PREVIEW_BYTES.saturating_sub(preview.len());
            preview.extend_from_slice(chunk.get(..room.min(n)).unwrap_or_default());
        }
        Some(Torn {
            offset: end,
            bytes: len - end,
            sha256: format!("sha256:{}", hex::encode(hasher.finalize())),
            preview: String::from_utf8_lossy(&preview).into_owned(),
        })
    } else {
        None
    };
    let last_line = if end == 0 {
        None
    } else {
        let start = rfind_newline(file, end - 1)?.map_or(0, |p| p + 1);
        let mut line = vec![0u8; usize::try_from(end - 1 - start).unwrap_or(0)];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut line)?;
        Some(line)
    };
    Ok(Tail { end, last_line, torn })
}

/// When the log's last `apply-start` has no `apply-end` after it: the writes of that apply whose
/// intent has no outcome. Reads the records backwards to that `apply-start`. Records are only
/// parsed here, not verified: `vend audit verify` does that.
fn interrupted_apply(store: &mut dyn LogStore) -> Result<Option<Pending>, String> {
    let mut records: Vec<Value> = vec![];
    let mut found: Option<Pending> = None;
    store.for_each_back(&mut |stored| {
        let Ok(v) = serde_json::from_slice::<Value>(&stored.bytes) else { return false };
        match v.get("event").and_then(Value::as_str) {
            Some("apply-end") => false,
            Some("recovery")
                if v.get("detail").and_then(|d| d.get("reason")).and_then(Value::as_str)
                    == Some("interrupted apply") =>
            {
                false
            }
            Some("apply-start") => {
                let plan_id = v.get("plan_id").and_then(Value::as_str).unwrap_or_default().to_string();
                let start_seq = v.get("seq").and_then(Value::as_u64).unwrap_or_default();
                let mut open: Vec<Value> = vec![];
                for r in records.drain(..).rev() {
                    let address = r.get("address").cloned().unwrap_or(Value::Null);
                    match r.get("event").and_then(Value::as_str) {
                        Some("intent") => open.push(serde_json::json!({
                            "seq": r.get("seq"),
                            "address": address,
                            "call": r.get("detail").and_then(|d| d.get("call")),
                        })),
                        Some("outcome") => {
                            if let Some(i) = open.iter().rposition(|o| o.get("address") == Some(&address)) {
                                open.remove(i);
                            }
                        }
                        _ => {}
                    }
                }
                found = Some(Pending::Interrupted { plan_id, start_seq, open });
                false
            }
            _ => {
                records.push(v);
                true
            }
        }
    })?;
    Ok(found)
}

/// Position of the last `\n` before byte offset `before`.
fn rfind_newline(file: &mut File, before: u64) -> std::io::Result<Option<u64>> {
    const CHUNK: u64 = 64 * 1024;
    let mut hi = before;
    let mut buf = Vec::new();
    while hi > 0 {
        let lo = hi.saturating_sub(CHUNK);
        buf.resize(usize::try_from(hi - lo).unwrap_or(0), 0);
        file.seek(SeekFrom::Start(lo))?;
        file.read_exact(&mut buf)?;
        if let Some(i) = buf.iter().rposition(|&b| b == b'\n') {
            return Ok(Some(lo + i as u64));
        }
        hi = lo;
    }
    Ok(None)
}

/// The last record, with the checks `open` needs to resume the chain safely.
fn parse_last(line: &[u8]) -> Result<Record, String> {
    let value: Value = serde_json::from_slice(line).map_err(|e| format!("not JSON: {e}"))?;
    if record_line(&value)?.as_bytes() != line {
        return Err("not in the form vend writes".to_string());
    }
    let record: Record = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    if record.v != VERSION {
        return Err(format!("unknown version {}", record.v));
    }
    if record_hash(&value) != record.hash {
        return Err("its hash does not match its content".to_string());
    }
    check_signature(&record.actor.key, record.hash.as_bytes(), &record.sig)?;
    Ok(record)
}

fn parse_head(text: &str) -> Result<Head, String> {
    let head: Head = serde_json::from_str(text).map_err(|e| format!("not a head: {e}"))?;
    if head.to_line() != text {
        return Err("not in the form vend writes (edited?)".to_string());
    }
    if head.v != VERSION {
        return Err(format!("unknown version {}", head.v));
    }
    check_signature(&head.key, head.message().as_bytes(), &head.sig)?;
    Ok(head)
}

/// Check an Ed25519 signature given as hex, by a public key given as hex (both lowercase: another
/// spelling of the same bytes would be an undetected edit).
fn check_signature(key_hex: &str, message: &[u8], sig_hex: &str) -> Result<(), String> {
    let key: [u8; 32] =
        lower_hex(key_hex).ok_or_else(|| "the key is not 64 lowercase hex digits".to_string())?;
    let key =
        VerifyingKey::from_bytes(&key).map_err(|_| "the key is not an Ed25519 public key".to_string())?;
    let sig: [u8; 64] =
        lower_hex(sig_hex).ok_or_else(|| "the signature is not 128 lowercase hex digits".to_string())?;
    key.verify_strict(message, &Signature::from_bytes(&sig)).map_err(|_| "bad signature".to_string())
}

/// Decode lowercase hex of exactly `N` bytes.
fn lower_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    hex::decode(text).ok()?.try_into().ok()
}

/// Replace `path` with `bytes` atomically: temporary file beside it, fsync, rename, fsync of the
/// directory.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp_name);
    let result = File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    let result = result.and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    sync_dir(path);
    Ok(())
}

/// fsync the directory holding `path` (best effort; unix only).
fn sync_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

// ------------------------------------------------------------------------------------------------
// ------------------------------------------------------------------------------------------------
// Reading and verifying

/// The log and its head verified.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyReport {
    pub records: u64,
    /// Seq and hash of the last record (`0` and [`GENESIS`] for an empty log).
    pub last_seq: u64,
    pub last_hash: String,
    /// The key every record is signed with (`None` for an empty log).
    pub key: Option<String>,
    /// Whether the trusted key came from the pinned list (else trust on first use).
    pub pinned: bool,
}

/// What is wrong with a log or its head.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Problem {
    #[error("cannot read: {0}")]
    Io(String),
    #[error("not a JSON line: {0}")]
    NotJson(String),
    #[error("not in the form vend writes (key order, whitespace, escapes or duplicate keys were changed)")]
    NotCanonical,
    #[error("not a v1 record: {0}")]
    BadRecord(String),
    #[error("unknown version {0}")]
    Version(u64),
    #[error("seq is {found}, expected {expected} (a record was deleted, inserted or moved)")]
    Seq { expected: u64, found: u64 },
    #[error(
        "{} but it is record {position} of the log (an object was renamed, copied or added)",
        named.map(|n| format!("named as record {n}")).unwrap_or_else(|| "not named as a record".into())
    )]
    Misnamed { named: Option<u64>, position: u64 },
    #[error("prev is {found}, expected {expected} (the chain is broken)")]
    Prev { expected: String, found: String },
    #[error("hash is {found} but the record hashes to {computed} (the record was edited)")]
    Hash { computed: String, found: String },
    #[error("signature: {0}")]
    Signature(String),
    #[error("signed by key {key}, which is not {}", trust_text(trusted, *pinned))]
    UntrustedKey { key: String, trusted: Vec<String>, pinned: bool },
    #[error(
        "torn final line: {bytes} bytes without a newline (an interrupted write; the next apply records the recovery)"
    )]
    TornLine { bytes: u64 },
    #[error("the head is missing but the log has {records} records")]
    HeadMissing { records: u64 },
    #[error("the head is unreadable: {0}")]
    HeadInvalid(String),
    #[error("the head is signed by key {key}, which is not {}", trust_text(trusted, *pinned))]
    HeadUntrustedKey { key: String, trusted: Vec<String>, pinned: bool },
    #[error(
        "the head says seq {head_seq} ({head_hash}) but the log ends at seq {log_seq} ({log_hash}): the log \
         was truncated or extended"
    )]
    HeadMismatch { head_seq: u64, head_hash: String, log_seq: u64, log_hash: String },
    #[error(
        "the head is one record behind the log (seq {head_seq} of {log_seq}): an interrupted write; the next \
         apply records the recovery"
    )]
    HeadStale { head_seq: u64, log_seq: u64 },
}

fn trust_text(trusted: &[String], pinned: bool) -> String {
    if pinned {
        format!("a pinned operator key ({})", trusted.join(", "))
    } else {
        format!("the log's first key {} (no operator keys pinned)", trusted.join(", "))
    }
}

/// Verification failed: the first bad record (its 1-based position — the line number in the
/// local file — its label, and its seq when readable) or the head (`line` `None`), and what is
/// wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{problem}", where_text(at.as_deref(), *line, *seq))]
pub struct VerifyFailure {
    pub line: Option<u64>,
    pub seq: Option<u64>,
    /// Where the record is (`line 3`, `object s3://…/audit/000000000003.json`); `None`: the head.
    pub at: Option<String>,
    pub problem: Problem,
}

fn where_text(at: Option<&str>, line: Option<u64>, seq: Option<u64>) -> String {
    let at = match (at, line) {
        (Some(at), _) => at.to_string(),
        (None, Some(l)) => format!("line {l}"),
        (None, None) => return "head: ".to_string(),
    };
    match seq {
        Some(s) => format!("{at} (seq {s}): "),
        None => format!("{at}: "),
    }
}

/// Normalise a pinned key: trimmed, lowercase, without an `ed25519:` prefix.
fn normalize_key(key: &str) -> String {
    let key = key.trim().to_ascii_lowercase();
    key.strip_prefix("ed25519:").map(str::to_string).unwrap_or(key)
}

/// Verify the local log at `log` and its head at `head` (see the module doc for the checks).
/// `pinned`: the trusted operator public keys (hex); empty means trust the first record's key.
pub fn verify(log: &Path, head: &Path, pinned: &[String]) -> Result<VerifyReport, VerifyFailure> {
    verify_store(&mut FileStore::with_head(log, head), pinned)
}

/// Verify the log in `store` and its head: every record's canonical form, seq, chain, hash,
/// signature and key, then the signed head against the last record. The one verification of
/// every store.
pub fn verify_store(store: &mut dyn LogStore, pinned: &[String]) -> Result<VerifyReport, VerifyFailure> {
    let pins: Vec<String> = pinned.iter().map(|k| normalize_key(k)).collect();
    let trusted_list = |first: &Option<String>| -> Vec<String> {
        if pins.is_empty() { first.iter().cloned().collect() } else { pins.clone() }
    };
    let is_trusted = |key: &str, first: &Option<String>| -> bool {
        if pins.is_empty() {
            first.as_deref().is_none_or(|k| k == key)
        } else {
            pins.iter().any(|p| p == key)
        }
    };
    let head_fail = |problem| VerifyFailure { line: None, seq: None, at: None, problem };
    let names_records = store.names_records();

    let mut trusted: Option<String> = None;
    let mut prev = GENESIS.to_string();
    let mut last_prev = GENESIS.to_string();
    let mut count: u64 = 0;
    let mut failure: Option<VerifyFailure> = None;
    let walked = store.for_each(&mut |stored| {
        let line_no = count + 1;
        let fail = |seq: Option<u64>, problem| VerifyFailure {
            line: Some(line_no),
            seq,
            at: Some(stored.label.clone()),
            problem,
        };
        if stored.torn {
            failure = Some(fail(None, Problem::TornLine { bytes: stored.bytes.len() as u64 }));
            return false;
        }
        let record = match check_line(&stored.bytes, line_no, &prev) {
            Ok(record) => record,
            Err((seq, p)) => {
                failure = Some(fail(seq, p));
                return false;
            }
        };
        if names_records && stored.named_seq != Some(line_no) {
            let problem = Problem::Misnamed { named: stored.named_seq, position: line_no };
            failure = Some(fail(Some(record.seq), problem));
            return false;
        }
        let key = normalize_key(&record.actor.key);
        if trusted.is_none() && pins.is_empty() {
            trusted = Some(key.clone());
        }
        if !is_trusted(&key, &trusted) {
            let problem =
                Problem::UntrustedKey { key, trusted: trusted_list(&trusted), pinned: !pins.is_empty() };
            failure = Some(fail(Some(record.seq), problem));
            return false;
        }
        if trusted.is_none() {
            trusted = Some(key);
        }
        last_prev = std::mem::replace(&mut prev, record.hash);
        count = line_no;
        true
    });
    if let Some(f) = failure {
        return Err(f);
    }
    if let Err(e) = walked {
        let what = if names_records { "record" } else { "line" };
        return Err(VerifyFailure {
            line: Some(count + 1),
            seq: None,
            at: Some(format!("{what} {}", count + 1)),
            problem: Problem::Io(e),
        });
    }

    match store.read_head().map_err(|e| head_fail(Problem::HeadInvalid(e)))? {
        None if count == 0 => {}
        None => return Err(head_fail(Problem::HeadMissing { records: count })),
        Some(text) => {
            let h = parse_head(&text).map_err(|why| head_fail(Problem::HeadInvalid(why)))?;
            let key = normalize_key(&h.key);
            if !is_trusted(&key, &trusted) {
                return Err(head_fail(Problem::HeadUntrustedKey {
                    key,
                    trusted: trusted_list(&trusted),
                    pinned: !pins.is_empty(),
                }));
            }
            if h.seq + 1 == count && h.hash == last_prev {
                return Err(head_fail(Problem::HeadStale { head_seq: h.seq, log_seq: count }));
            }
            if h.seq != count || h.hash != prev {
                return Err(head_fail(Problem::HeadMismatch {
                    head_seq: h.seq,
                    head_hash: h.hash,
                    log_seq: count,
                    log_hash: prev,
                }));
            }
        }
    }
    Ok(VerifyReport {
        records: count,
        last_seq: count,
        last_hash: prev,
        key: trusted,
        pinned: !pins.is_empty(),
    })
}

/// All checks of one complete line except key trust. On failure: the seq when it was readable.
fn check_line(body: &[u8], line_no: u64, prev: &str) -> Result<Record, (Option<u64>, Problem)> {
    let value: Value = serde_json::from_slice(body).map_err(|e| (None, Problem::NotJson(e.to_string())))?;
    let seq = value.get("seq").and_then(Value::as_u64);
    if let Some(v) = value.get("v").and_then(Value::as_u64).filter(|v| *v != VERSION) {
        return Err((seq, Problem::Version(v)));
    }
    let expected = record_line(&value).map_err(|e| (seq, Problem::BadRecord(e)))?;
    if expected.as_bytes() != body {
        return Err((seq, Problem::NotCanonical));
    }
    let record: Record =
        serde_json::from_value(value.clone()).map_err(|e| (seq, Problem::BadRecord(e.to_string())))?;
    if record.v != VERSION {
        return Err((seq, Problem::Version(record.v)));
    }
    if record.seq != line_no {
        return Err((seq, Problem::Seq { expected: line_no, found: record.seq }));
    }
    if record.prev != prev {
        return Err((seq, Problem::Prev { expected: prev.to_string(), found: record.prev }));
    }
    let computed = record_hash(&value);
    if computed != record.hash {
        return Err((seq, Problem::Hash { computed, found: record.hash }));
    }
    check_signature(&record.actor.key, record.hash.as_bytes(), &record.sig)
        .map_err(|e| (seq, Problem::Signature(e)))?;
    Ok(record)
}

/// Why `read` could not list the log.
#[derive(Debug, thiserror::Error)]
#[error("{location}{}: {message}", at.as_ref().map(|l| format!(" {l}")).unwrap_or_default())]
pub struct ReadError {
    /// The log (a path or an `s3://` URL).
    pub location: String,
    /// The record (`line 3`, `object …`), when one is at fault.
    pub at: Option<String>,
    pub message: String,
}

/// Every complete record of the local log, in order, for `vend audit log` (no verification: use
/// [`verify`]). A missing log is empty; a torn final line is skipped.
pub fn read(log: &Path) -> Result<Vec<Record>, ReadError> {
    read_store(&mut FileStore::new(log))
}

/// Every complete record in `store`, in order (no verification: use [`verify_store`]).
pub fn read_store(store: &mut dyn LogStore) -> Result<Vec<Record>, ReadError> {
    let mut records = Vec::new();
    let mut bad: Option<ReadError> = None;
    let walked = store.for_each(&mut |stored| {
        if stored.torn {
            return false;
        }
        match serde_json::from_slice::<Record>(&stored.bytes) {
            Ok(record) => {
                records.push(record);
                true
            }
            Err(e) => {
                bad = Some(ReadError {
                    location: String::new(),
                    at: Some(stored.label),
                    message: e.to_string(),
                });
                false
            }
        }
    });
    if let Some(mut e) = bad {
        e.location = store.location();
        return Err(e);
    }
    walked.map_err(|message| ReadError { location: store.location(), at: None, message })?;
    Ok(records)
}

/// The key of the log's first record: the one trusted on first use when no operator key is
/// pinned (so an apply by another operator can be refused or warned about before it writes
/// records `verify` will reject). `None` for an empty or missing log.
pub fn first_key(log: &Path) -> Result<Option<String>, ReadError> {
    let mut store = FileStore::new(log);
    let mut first: Option<Result<Record, ReadError>> = None;
    store
        .for_each(&mut |stored| {
            if !stored.torn {
                first = Some(serde_json::from_slice::<Record>(&stored.bytes).map_err(|e| ReadError {
                    location: log.display().to_string(),
                    at: Some(stored.label),
                    message: e.to_string(),
                }));
            }
            false
        })
        .map_err(|message| ReadError { location: log.display().to_string(), at: None, message })?;
    first.transpose().map(|r| r.map(|r| r.actor.key))
}
