//! Listing: every record of a log in order for `vend audit log` (no verification), its rows as
//! text or JSON (an event this version does not know is marked as such), and the key of the
//! first record.

use super::record::{Actor, Record};
use super::store::{FileStore, LogStore};
use crate::port::Event;
use std::path::Path;

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
    Ok(first_actor(&mut FileStore::new(log))?.map(|a| a.key))
}

/// Who wrote the first record in `store` (its key is trusted on first use when no operator is
/// pinned); `None` for an empty or missing log.
pub fn first_actor(store: &mut dyn LogStore) -> Result<Option<Actor>, ReadError> {
    let location = store.location();
    let mut first: Option<Result<Record, ReadError>> = None;
    store
        .for_each(&mut |stored| {
            if !stored.torn {
                first = Some(serde_json::from_slice::<Record>(&stored.bytes).map_err(|e| ReadError {
                    location: location.clone(),
                    at: Some(stored.label),
                    message: e.to_string(),
                }));
            }
            false
        })
        .map_err(|message| ReadError { location: location.clone(), at: None, message })?;
    first.transpose().map(|r| r.map(|r| r.actor))
}

/// A record as a `vend audit log` text row: seq, time, who (the pinned operator name, else the
/// user), event, address, and what the event did ([`Event::summary`]; `unknown event` for one
/// this version does not know).
pub fn text_row(r: &Record) -> String {
    text_row_as(r, r.actor.who())
}

/// [`text_row`] naming the record's writer `who` (`vend audit log` passes the name the current
/// pins give a record written before its key was pinned).
pub fn text_row_as(r: &Record, who: &str) -> String {
    let what = r.typed().summary();
    format!("{:>5}  {}  {:<10} {:<12} {:<50} {what}", r.seq, r.ts, who, r.event, r.address)
}

/// A record as a `vend audit log --json` line: the record as stored, plus `"unknown_event":true`
/// at the end when this version does not know its event.
pub fn json_row(r: &Record) -> Result<String, serde_json::Error> {
    let mut value = serde_json::to_value(r)?;
    if let (Event::Unknown { .. }, Some(map)) = (r.typed(), value.as_object_mut()) {
        map.insert("unknown_event".into(), serde_json::Value::Bool(true));
    }
    serde_json::to_string(&value)
}
