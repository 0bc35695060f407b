//! Verification: [`verify_store`] checks every record's canonical form, seq, chain, hash,
//! signature and key, then the signed head — the one verification of every store; and the
//! checks a writer makes on the last record and the head before resuming.

use super::record::{Head, Record, record_hash, record_line};
use super::store::{FileStore, LogStore};
use super::{GENESIS, VERSION};
use crate::model::operators::{KeyStatus, Operators, normalize_key};
use ed25519_dalek::{Signature, VerifyingKey};
use jiff::Timestamp;
use serde_json::Value;
use std::path::Path;

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
    /// With pins: the operators whose keys signed records, in order of first appearance.
    pub operators: Vec<String>,
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
    /// `why` names the operator, the key's `until` and what contradicts it.
    #[error("signed by key {key} of operator {why}")]
    RetiredKey { key: String, why: String },
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
        format!(
            "a pinned operator key (current: {}); pin it under `operators:` in catalog/vend.yaml (its \
             holder runs `vend operator key` to print the line)",
            trusted.join(", ")
        )
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

/// Verify the local log at `log` and its head at `head` (see the module doc for the checks).
/// `pinned`: the trusted operator public keys (hex); empty means trust the first record's key.
pub fn verify(log: &Path, head: &Path, pinned: &[String]) -> Result<VerifyReport, VerifyFailure> {
    verify_store(&mut FileStore::with_head(log, head), pinned)
}

/// [`verify_with`] with each key of `pinned` a current key of its own operator.
pub fn verify_store(store: &mut dyn LogStore, pinned: &[String]) -> Result<VerifyReport, VerifyFailure> {
    verify_with(store, &Operators::from_keys(pinned))
}

/// Verify the log in `store` and its head: every record's canonical form, seq, chain, hash,
/// signature and key, then the signed head against the last record. The one verification of
/// every store. With `pins`: a record's key must be a current pinned key, or a retired one with
/// the record's `ts` at most its `until` and no earlier record later than that `until`; the
/// head's key current, or retired with the last record's `ts` at most its `until`. Without pins:
/// the first record's key, for every record and the head.
pub fn verify_with(store: &mut dyn LogStore, pins: &Operators) -> Result<VerifyReport, VerifyFailure> {
    let pinned = !pins.is_empty();
    let trusted_list = |first: &Option<String>| -> Vec<String> {
        if pinned { pins.describe_current() } else { first.iter().cloned().collect() }
    };
    let head_fail = |problem| VerifyFailure { line: None, seq: None, at: None, problem };
    let names_records = store.names_records();

    let mut trusted: Option<String> = None;
    let mut prev = GENESIS.to_string();
    let mut last_prev = GENESIS.to_string();
    let mut count: u64 = 0;
    // The latest `ts` so far, and the last record's.
    let mut latest: Option<Timestamp> = None;
    let mut last_ts: Option<Timestamp> = None;
    let mut signers: Vec<String> = vec![];
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
        let ts = record.ts.parse::<Timestamp>().ok();
        if trusted.is_none() && !pinned {
            trusted = Some(key.clone());
        }
        let verdict = if pinned {
            match pins.status(&key) {
                Some(KeyStatus::Current { name }) => Ok(name.to_string()),
                Some(KeyStatus::Retired { name, until }) => {
                    let retired = |but: String| Problem::RetiredKey {
                        key: key.clone(),
                        why: format!("`{name}`, retired until {until}, but {but}"),
                    };
                    match ts {
                        None => Err(retired(format!("its ts `{}` is not a time", record.ts))),
                        Some(t) if t > until => Err(retired(format!("the record is dated {t}, after that"))),
                        Some(_) if latest.is_some_and(|l| l > until) => Err(retired(format!(
                            "an earlier record is dated {} (a record signed with a retired key cannot be backdated)",
                            latest.map(|l| l.to_string()).unwrap_or_default()
                        ))),
                        Some(_) => Ok(name.to_string()),
                    }
                }
                None => Err(Problem::UntrustedKey { key: key.clone(), trusted: trusted_list(&trusted), pinned }),
            }
        } else if trusted.as_deref().is_none_or(|k| k == key) {
            Ok(record.actor.user.clone())
        } else {
            Err(Problem::UntrustedKey { key: key.clone(), trusted: trusted_list(&trusted), pinned })
        };
        match verdict {
            Ok(name) => {
                if pinned && !signers.contains(&name) {
                    signers.push(name);
                }
            }
            Err(problem) => {
                failure = Some(fail(Some(record.seq), problem));
                return false;
            }
        }
        if trusted.is_none() {
            trusted = Some(key);
        }
        if let Some(t) = ts {
            latest = Some(latest.map_or(t, |l| l.max(t)));
        }
        last_ts = ts;
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
            let head_trusted = if pinned {
                match pins.status(&key) {
                    Some(KeyStatus::Current { .. }) => true,
                    // The last writer's key, retired after it wrote (its record verified above).
                    Some(KeyStatus::Retired { until, .. }) => last_ts.is_some_and(|t| t <= until),
                    None => false,
                }
            } else {
                trusted.as_deref().is_none_or(|k| k == key)
            };
            if !head_trusted {
                return Err(head_fail(Problem::HeadUntrustedKey {
                    key,
                    trusted: trusted_list(&trusted),
                    pinned,
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
        pinned,
        operators: signers,
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

/// The last record, with the checks `open` needs to resume the chain safely.
pub(super) fn parse_last(line: &[u8]) -> Result<Record, String> {
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

pub(super) fn parse_head(text: &str) -> Result<Head, String> {
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
