//! One record and the signed head as stored: their types ([`Record`], [`Actor`], [`Head`]), the one
//! byte form of a record's line ([`record_line`]), its hash ([`record_hash`]) and the head file's
//! path beside the log. Pure: no I/O.

use super::VERSION;
use crate::adapter::keys::Operator;
use crate::model::canonical::write_canonical;
pub use crate::model::canonical_json;
use crate::port::Event;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Who wrote a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    /// Local user name.
    pub user: String,
    /// AWS caller identity (`GetCallerIdentity`: account, arn, user id), `null` offline.
    pub aws: Option<Value>,
    /// The operator's Ed25519 public key, hex.
    pub key: String,
    /// The pinned operator name of `key` when it was pinned as the record was written (added in
    /// issue 17; records without it verify as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
}

impl Actor {
    /// Who wrote the record, for listings: the pinned operator name, else the user.
    pub fn who(&self) -> &str {
        self.operator.as_deref().unwrap_or(&self.user)
    }
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

impl Record {
    /// The record's event, typed ([`Event::Unknown`] for one this version does not know). The
    /// stored `event` and `detail` stay the record's truth: verification and listing use them.
    pub fn typed(&self) -> Event {
        Event::read(&self.event, &self.detail)
    }
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

/// Top-level keys of a v1 record, in line order.
pub const RECORD_KEYS: [&str; 11] =
    ["v", "seq", "ts", "actor", "plan_id", "event", "address", "detail", "prev", "hash", "sig"];

/// Keys of `actor`, in line order.
pub const ACTOR_KEYS: [&str; 3] = ["user", "aws", "key"];

/// Keys `actor` may have after [`ACTOR_KEYS`], in line order (each when present).
pub const ACTOR_OPTIONAL_KEYS: [&str; 1] = ["operator"];

/// The one byte form of a record's line (without `\n`): exactly [`RECORD_KEYS`] in that order,
/// `actor` with exactly [`ACTOR_KEYS`] in that order and then those of [`ACTOR_OPTIONAL_KEYS`] it
/// has, every other value in canonical form.
pub fn record_line(record: &Value) -> Result<String, String> {
    let map = record.as_object().ok_or("the record is not a JSON object")?;
    let actor = map.get("actor").and_then(Value::as_object).ok_or("`actor` is not an object")?;
    let mut out = String::from("{");
    write_fields(map, &RECORD_KEYS, &[], &mut out, &mut |key, value, out| {
        if key == "actor" {
            out.push('{');
            write_fields(actor, &ACTOR_KEYS, &ACTOR_OPTIONAL_KEYS, out, &mut |_, v, out| {
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
    optional: &[&str],
    out: &mut String,
    each: &mut FieldWriter<'_>,
) -> Result<(), String> {
    if let Some(extra) = map.keys().find(|k| !keys.contains(&k.as_str()) && !optional.contains(&k.as_str())) {
        return Err(format!("unexpected key `{extra}`"));
    }
    let mut first = true;
    for key in keys.iter().map(|k| (k, true)).chain(optional.iter().map(|k| (k, false))) {
        let (key, required) = key;
        let value = match map.get(*key) {
            Some(v) => v,
            None if required => return Err(format!("missing key `{key}`")),
            None => continue,
        };
        if !first {
            out.push(',');
        }
        first = false;
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

/// Serialize and parse until the value is a fixed point, so that the bytes written parse back to
/// exactly the value that was hashed (floats may otherwise move by one ulp on the way back).
pub(super) fn normalize(mut value: Value) -> Result<Value, String> {
    for _ in 0..8 {
        let back: Value = serde_json::from_str(&value.to_string()).map_err(|e| e.to_string())?;
        if back == value {
            return Ok(value);
        }
        value = back;
    }
    Err("a number in the record does not survive a JSON round trip".to_string())
}
