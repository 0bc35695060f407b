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
//! Since issue 17 `actor` may end with `"operator":NAME`, the pinned operator name of `key` when
//! the record was written (records without it verify as before).
//! A line has exactly these keys in this order (`actor`: `user`, `aws`, `key`[, `operator`]), and every value in
//! canonical form (objects inside `detail` and `aws` get sorted keys): one byte form per record
//! ([`record_line`]), so a reordered, re-indented, re-escaped or duplicate-key line is reported as
//! an edit even when it means the same.
//!
//! **Head** (one line): `{"v":1,"seq":N,"hash":H,"key":HEX,"sig":S}` for the last record, `sig`
//! signing the canonical form of the head without `sig`. `append` stores the record durably,
//! then replaces the head (the local file: fsync, then temporary file, fsync, rename, fsync of
//! the directory).
//! Trust: with operators pinned (`model::operators::Operators`), a record verifies when its key
//! is a current pinned key, or a retired one and the record's `ts` is at most the key's `until`
//! with no earlier record later than that `until` (a retired key cannot backdate); the head when
//! its key is current, or retired with the last record's `ts` at most its `until`. Without pins
//! the log is trusted to its first record's key (trust on first use), for every record and the
//! head. Writers refuse beforehand what would not verify (`model::operators::may_append`).
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
//!
//! **Events.** `event` + `detail` are a `port::Event` (closed, typed; `port::audit_event` keeps
//! each detail's JSON as the log has always had it). A record with an event this version does
//! not know (a newer vend's) is read as `Event::Unknown` and kept as stored: verification and
//! listing work on the stored JSON, never on the typed form, so such a log verifies, and
//! `vend audit log` marks the record as unknown ([`text_row`], [`json_row`]).
//!
//! Files: `record` (record and head types, byte form, hash), `store` ([`LogStore`],
//! [`FileStore`]), `writer` ([`AuditLog`], crash recovery), `verify` ([`verify_store`]), `list`
//! ([`read_store`], the `vend audit log` rows).

mod list;
mod record;
mod store;
mod verify;
mod writer;

pub use list::{ReadError, first_actor, first_key, json_row, read, read_store, text_row, text_row_as};
pub use record::{
    ACTOR_KEYS, ACTOR_OPTIONAL_KEYS, Actor, Head, RECORD_KEYS, Record, canonical_json, head_path,
    record_hash, record_line,
};
pub use store::{FileStore, LogStore, StoreTail, StoredRecord, Torn};
pub use verify::{Problem, VerifyFailure, VerifyReport, verify, verify_store, verify_with};
pub use writer::{AuditLog, JsonlAudit};

/// Record and head format version.
pub const VERSION: u64 = 1;

/// `prev` of the first record.
pub const GENESIS: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// Default log path, relative to the workspace.
pub const DEFAULT_LOG: &str = ".vend/audit.jsonl";

/// The current time as the log writes it: RFC 3339 UTC, seconds precision.
pub fn utc_now() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}
