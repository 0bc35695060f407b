//! The writer: [`AuditLog`] chains, signs and appends records to a [`LogStore`], resuming from its
//! tail and recording what a crash left (torn line, stale or missing head, interrupted apply) as
//! a `recovery` record before the next event.

use super::record::{Head, Record, normalize, record_hash, record_line};
use super::store::{FileStore, LogStore};
use super::verify::{parse_head, parse_last};
use super::{GENESIS, VERSION};
use crate::adapter::keys::Operator;
use crate::port::{Audit, AuditError, AuditEvent, Event, OpenWrite, Recovery};
use serde_json::{Map, Value};
use std::path::PathBuf;

/// What a crash left, found by `scan` and recorded by the next `append` (a `recovery` record).
type Pending = Recovery;

/// The warning for a crash left-over.
fn describe(found: &Recovery) -> String {
    match found {
        Recovery::TornLine { offset, bytes, .. } => {
            format!("torn final line ({bytes} bytes at offset {offset}), left by an interrupted write")
        }
        Recovery::StaleHead { head_seq, log_seq } => {
            format!("head at seq {head_seq} behind the log's last record {log_seq} (interrupted write)")
        }
        Recovery::MissingHead { log_seq, .. } => {
            format!("no head for the log's record {log_seq} (interrupted write)")
        }
        Recovery::InterruptedApply { apply_start_seq, writes_without_outcome, .. } => format!(
            "the apply started at seq {apply_start_seq} never ended; {} write(s) have no recorded outcome and may or may not have happened (the plan reads the live state)",
            writes_without_outcome.len()
        ),
    }
}

/// The signed, hash-chained audit log, appending as one operator, over any [`LogStore`].
/// [`JsonlAudit`] is the same type: the name the local JSON Lines log has always had.
pub struct AuditLog {
    store: Box<dyn LogStore>,
    operator: Operator,
    /// The pinned name of the operator's key (`actor.operator`), when pinned.
    operator_name: Option<String>,
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
            operator_name: None,
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

    /// Set the pinned operator name written as `actor.operator` from now on (`None`: left out).
    pub fn set_operator_name(&mut self, name: Option<String>) {
        self.operator_name = name;
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
        self.pending.iter().map(describe).collect()
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
                self.pending.push(Recovery::MissingHead { head_seq: None, log_seq: rec.seq });
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
                    self.pending.push(Recovery::StaleHead { head_seq: h.seq, log_seq: rec.seq });
                } else {
                    return Err(self.err(format!(
                        "the head (seq {}, {}) does not match the last record (seq {}, {}); run `vend audit verify`",
                        h.seq, h.hash, rec.seq, rec.hash
                    )));
                }
            }
        }
        if let Some(rec) = last {
            if !matches!(rec.typed(), Event::ApplyEnd(_))
                && let Some(found) = interrupted_apply(self.store.as_mut()).map_err(|e| self.err(e))?
            {
                self.pending.push(found);
            }
            self.next_seq = rec.seq + 1;
            self.prev = rec.hash;
        }
        if let Some(t) = tail.torn {
            self.pending.push(Recovery::TornLine {
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
        if let Some(name) = &self.operator_name {
            actor.insert("operator".into(), Value::from(name.clone()));
        }
        let mut body = Map::new();
        body.insert("v".into(), Value::from(VERSION));
        body.insert("seq".into(), Value::from(self.next_seq));
        body.insert("ts".into(), Value::from((self.clock)()));
        body.insert("actor".into(), Value::Object(actor));
        body.insert("plan_id".into(), Value::from(event.plan_id.clone()));
        body.insert("event".into(), Value::from(event.event.name()));
        body.insert("address".into(), Value::from(event.address.clone()));
        body.insert("detail".into(), event.event.detail());
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
        if matches!(event.event, Event::Intent(_))
            && let Some(why) = self.fence.as_ref().and_then(|fence| fence())
        {
            return Err(self
                .err(format!("not recording the intent for {} (so it is not sent): {why}", event.address)));
        }
        if self.rescan {
            self.scan()?;
        }
        // Torn bytes first (the recovery record is written over them), then a stale head.
        self.pending.sort_by_key(|p| !matches!(p, Recovery::TornLine { .. }));
        while let Some(found) = self.pending.first().cloned() {
            let recovery = AuditEvent {
                plan_id: event.plan_id.clone(),
                address: String::new(),
                event: Event::Recovery(found.clone()),
            };
            self.write_record(&recovery)?;
            self.pending.retain(|p| *p != found);
        }
        self.write_record(&event)
    }
}

/// When the log's last `apply-start` has no `apply-end` after it: the writes of that apply whose
/// intent has no outcome. Reads the records backwards to that `apply-start`. Records are only
/// parsed here, not verified: `vend audit verify` does that.
fn interrupted_apply(store: &mut dyn LogStore) -> Result<Option<Pending>, String> {
    let mut records: Vec<Record> = vec![];
    let mut found: Option<Pending> = None;
    store.for_each_back(&mut |stored| {
        let Ok(record) = serde_json::from_slice::<Record>(&stored.bytes) else { return false };
        match record.typed() {
            Event::ApplyEnd(_) | Event::Recovery(Recovery::InterruptedApply { .. }) => false,
            Event::ApplyStart(_) => {
                let mut open: Vec<OpenWrite> = vec![];
                for r in records.drain(..).rev() {
                    match r.typed() {
                        Event::Intent(intent) => {
                            open.push(OpenWrite { seq: r.seq, address: r.address, call: intent.call })
                        }
                        Event::Outcome(_) => {
                            if let Some(i) = open.iter().rposition(|o| o.address == r.address) {
                                open.remove(i);
                            }
                        }
                        Event::ApplyStart(_)
                        | Event::Completed(_)
                        | Event::ApplyEnd(_)
                        | Event::Recovery(_)
                        | Event::Request(_)
                        | Event::Approve(_)
                        | Event::LockTakeover(_)
                        | Event::ForceUnlock(_)
                        | Event::Unknown { .. } => {}
                    }
                }
                found = Some(Recovery::InterruptedApply {
                    interrupted_plan_id: record.plan_id,
                    apply_start_seq: record.seq,
                    writes_without_outcome: open,
                });
                false
            }
            Event::Intent(_)
            | Event::Outcome(_)
            | Event::Completed(_)
            | Event::Recovery(_)
            | Event::Request(_)
            | Event::Approve(_)
            | Event::LockTakeover(_)
            | Event::ForceUnlock(_)
            | Event::Unknown { .. } => {
                records.push(record);
                true
            }
        }
    })?;
    Ok(found)
}
