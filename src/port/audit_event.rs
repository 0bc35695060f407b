//! The audit log's vocabulary: [`AuditEvent`] (what a writer hands the `Audit` port) and the
//! closed [`Event`] enum of the events vend writes, each with its typed `detail`, plus
//! [`Event::Unknown`] for an event this version does not know (a log written by a newer vend).
//!
//! The JSON of each `detail` is the contract of the log (`adapter::audit` hashes and signs it):
//! a typed detail serialises to exactly the JSON the previous, untyped writer produced — keys
//! the writer leaves out stay out (`Option` fields skipped when `None`), values it always writes
//! stay even when `null`. Reading is lenient: every field a reader may miss is optional, extra
//! keys are ignored, and a detail that still does not fit its event (or an event name this
//! version does not know) is read as [`Event::Unknown`] — it keeps its stored JSON, so the log
//! still verifies (verification works on the stored bytes, never on this typed form).

use crate::plan::Action;
use crate::port::{CloudError, Op, Outcome};
use serde::{Deserialize, Deserializer, Serialize, de::DeserializeOwned};
use serde_json::Value;

/// One entry for the audit log, before the log adds `v`, `seq`, `ts`, `actor`, `prev`, `hash`
/// and `sig`.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub plan_id: String,
    pub address: String,
    /// The record's `event` and `detail`.
    pub event: Event,
}

impl AuditEvent {
    /// An event from its stored parts (`event` name and `detail` JSON): the typed event when
    /// `detail` is exactly what that event's type writes, else [`Event::Unknown`] with the parts
    /// as given — either way the record holds exactly `event` and `detail`.
    pub fn from_parts(plan_id: &str, event: &str, address: &str, detail: Value) -> AuditEvent {
        AuditEvent { plan_id: plan_id.into(), address: address.into(), event: Event::exact(event, detail) }
    }
}

/// The kind of an event, by its stored name: a closed list, plus `Unknown` for the names a newer
/// vend may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    ApplyStart,
    Intent,
    Outcome,
    Completed,
    ApplyEnd,
    Recovery,
    Request,
    Approve,
    LockTakeover,
    ForceUnlock,
    Unknown,
}

impl EventKind {
    pub const KNOWN: [EventKind; 10] = [
        EventKind::ApplyStart,
        EventKind::Intent,
        EventKind::Outcome,
        EventKind::Completed,
        EventKind::ApplyEnd,
        EventKind::Recovery,
        EventKind::Request,
        EventKind::Approve,
        EventKind::LockTakeover,
        EventKind::ForceUnlock,
    ];

    /// The kind a stored `event` name says.
    pub fn of(name: &str) -> EventKind {
        EventKind::KNOWN.into_iter().find(|k| k.name() == Some(name)).unwrap_or(EventKind::Unknown)
    }

    /// The stored name (`None` for `Unknown`, whose name is the record's own).
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            EventKind::ApplyStart => "apply-start",
            EventKind::Intent => "intent",
            EventKind::Outcome => "outcome",
            EventKind::Completed => "completed",
            EventKind::ApplyEnd => "apply-end",
            EventKind::Recovery => "recovery",
            EventKind::Request => "request",
            EventKind::Approve => "approve",
            EventKind::LockTakeover => "lock-takeover",
            EventKind::ForceUnlock => "force-unlock",
            EventKind::Unknown => return None,
        })
    }
}

/// An audit event with its typed detail.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `apply-start`: an apply begins.
    ApplyStart(ApplyStart),
    /// `intent`: a write is about to be sent.
    Intent(Intent),
    /// `outcome`: how a write ended.
    Outcome(OutcomeDetail),
    /// `completed`: an asynchronous request left its in-progress states.
    Completed(Completed),
    /// `apply-end`: an apply ended.
    ApplyEnd(ApplyEnd),
    /// `recovery`: what a crash left, recorded by the next writer.
    Recovery(Recovery),
    /// `request`: an account or pipeline request was written into the workspace.
    Request(RequestDetail),
    /// `approve`: an operator approved a saved plan.
    Approve(Approve),
    /// `lock-takeover`: an expired shared lease was taken over.
    LockTakeover(LockTakeover),
    /// `force-unlock`: the shared lock was removed by hand.
    ForceUnlock(ForceUnlock),
    /// An event this version does not know or cannot read, kept as stored.
    Unknown { event: String, detail: Value },
}

/// `apply-start` detail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApplyStart {
    /// How many changes the apply will attempt (the plan's minus the excluded ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<usize>,
    /// The plan's `summary`, as the plan JSON has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Value>,
    /// The plan's `basis`, as the plan JSON has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<Value>,
}

/// `intent` detail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// The call about to be sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<Call>,
    /// A create's request time (delivery metrics measure lead time from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_at: Option<String>,
}

/// The call of an intent: an [`Op`] of this version, or the stored JSON of one it does not know.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Call {
    Op(Op),
    Other(Value),
}

impl<'de> Deserialize<'de> for Call {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Value::deserialize(d)?;
        Ok(match serde_json::from_value::<Op>(raw.clone()) {
            Ok(op) if serde_json::to_value(&op).ok().as_ref() == Some(&raw) => Call::Op(op),
            _ => Call::Other(raw),
        })
    }
}

impl Call {
    /// The AWS operation name (`CreateAccount`, …), when the call names one.
    pub fn op_name(&self) -> Option<String> {
        match self {
            Call::Op(op) => Some(op.name()),
            Call::Other(v) => v.get("op").and_then(Value::as_str).map(str::to_string),
        }
    }
}

/// `outcome` detail: `op`, `ok`, then `request_id` and `result` for a success, or `error`,
/// `attempts` and `gave_up` (the retry budget ran out) for a failure.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OutcomeDetail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<CloudError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gave_up: Option<bool>,
}

impl OutcomeDetail {
    /// A successful call.
    pub fn succeeded(op: String, out: &Outcome) -> OutcomeDetail {
        OutcomeDetail {
            op: Some(op),
            ok: Some(true),
            request_id: Some(out.request_id.clone()),
            result: Some(out.clone()),
            ..OutcomeDetail::default()
        }
    }

    /// A failed call: its last error, the attempts made, whether the retry budget ran out.
    pub fn failed(op: String, error: &CloudError, attempts: u32, gave_up: bool) -> OutcomeDetail {
        OutcomeDetail {
            op: Some(op),
            ok: Some(false),
            error: Some(error.clone()),
            attempts: Some(attempts),
            gave_up: Some(gave_up),
            ..OutcomeDetail::default()
        }
    }
}

/// `completed` detail: the poll that ended, its final status and result (`null` when none).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Completed {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default)]
    pub result: Option<String>,
}

/// `apply-end` detail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApplyEnd {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<StepCounts>,
    /// `true` when the apply was stopped before its last step (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<bool>,
}

/// How the steps of an apply ended.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepCounts {
    #[serde(default)]
    pub failed: usize,
    #[serde(default)]
    pub skipped: usize,
    #[serde(default)]
    pub succeeded: usize,
}

/// `recovery` detail: what a crash left, by `reason`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason")]
pub enum Recovery {
    /// Bytes after the last `\n`, overwritten by this record (they never enter the chain).
    #[serde(rename = "torn final line")]
    TornLine { offset: u64, bytes: u64, sha256: String, preview: String },
    /// The head was one record behind the log.
    #[serde(rename = "stale head")]
    StaleHead { head_seq: u64, log_seq: u64 },
    /// The log's only record had no head yet (`head_seq` is always `null`).
    #[serde(rename = "missing head")]
    MissingHead { head_seq: Option<u64>, log_seq: u64 },
    /// The last apply has no `apply-end`: writes whose intent has no outcome.
    #[serde(rename = "interrupted apply")]
    InterruptedApply {
        interrupted_plan_id: String,
        apply_start_seq: u64,
        writes_without_outcome: Vec<OpenWrite>,
    },
}

/// A write of an interrupted apply that may or may not have happened: its intent record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenWrite {
    pub seq: u64,
    pub address: String,
    /// The intent's call (`null` when it had none).
    pub call: Option<Call>,
}

/// `request` detail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestDetail {
    /// The request file, workspace-relative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// `account` or `pipeline`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blueprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_at: Option<String>,
    /// Hex SHA-256 of the file written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// `approve` detail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Approve {
    /// The approver's public key, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// The plan file approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// `lock-takeover` detail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LockTakeover {
    /// The lock's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock: Option<String>,
    /// The id of the lock taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_id: Option<String>,
    /// What the new holder does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// The expired lock, as its `lock.json` held it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Value>,
}

/// `force-unlock` detail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ForceUnlock {
    /// The lock's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock: Option<String>,
    /// The lock removed, as its `lock.json` held it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_had_ended: Option<bool>,
}

impl Event {
    /// The event's kind.
    pub fn kind(&self) -> EventKind {
        match self {
            Event::ApplyStart(_) => EventKind::ApplyStart,
            Event::Intent(_) => EventKind::Intent,
            Event::Outcome(_) => EventKind::Outcome,
            Event::Completed(_) => EventKind::Completed,
            Event::ApplyEnd(_) => EventKind::ApplyEnd,
            Event::Recovery(_) => EventKind::Recovery,
            Event::Request(_) => EventKind::Request,
            Event::Approve(_) => EventKind::Approve,
            Event::LockTakeover(_) => EventKind::LockTakeover,
            Event::ForceUnlock(_) => EventKind::ForceUnlock,
            Event::Unknown { .. } => EventKind::Unknown,
        }
    }

    /// The stored `event` name.
    pub fn name(&self) -> &str {
        match self {
            Event::Unknown { event, .. } => event,
            known => known.kind().name().unwrap_or_default(),
        }
    }

    /// The stored `detail` JSON.
    pub fn detail(&self) -> Value {
        let typed = match self {
            Event::ApplyStart(d) => serde_json::to_value(d),
            Event::Intent(d) => serde_json::to_value(d),
            Event::Outcome(d) => serde_json::to_value(d),
            Event::Completed(d) => serde_json::to_value(d),
            Event::ApplyEnd(d) => serde_json::to_value(d),
            Event::Recovery(d) => serde_json::to_value(d),
            Event::Request(d) => serde_json::to_value(d),
            Event::Approve(d) => serde_json::to_value(d),
            Event::LockTakeover(d) => serde_json::to_value(d),
            Event::ForceUnlock(d) => serde_json::to_value(d),
            Event::Unknown { detail, .. } => return detail.clone(),
        };
        // These types serialise to JSON objects with string keys: this cannot fail.
        typed.unwrap_or(Value::Null)
    }

    /// Read a stored event leniently (see the module doc): [`Event::Unknown`] for a name this
    /// version does not know or a detail that does not fit it.
    pub fn read(name: &str, detail: &Value) -> Event {
        fn typed<T: DeserializeOwned>(detail: &Value, wrap: fn(T) -> Event) -> Option<Event> {
            serde_json::from_value(detail.clone()).ok().map(wrap)
        }
        let event = match EventKind::of(name) {
            EventKind::ApplyStart => typed(detail, Event::ApplyStart),
            EventKind::Intent => typed(detail, Event::Intent),
            EventKind::Outcome => typed(detail, Event::Outcome),
            EventKind::Completed => typed(detail, Event::Completed),
            EventKind::ApplyEnd => typed(detail, Event::ApplyEnd),
            EventKind::Recovery => typed(detail, Event::Recovery),
            EventKind::Request => typed(detail, Event::Request),
            EventKind::Approve => typed(detail, Event::Approve),
            EventKind::LockTakeover => typed(detail, Event::LockTakeover),
            EventKind::ForceUnlock => typed(detail, Event::ForceUnlock),
            EventKind::Unknown => None,
        };
        event.unwrap_or_else(|| Event::Unknown { event: name.to_string(), detail: detail.clone() })
    }

    /// The typed event only when it writes back exactly `detail`, else [`Event::Unknown`].
    pub fn exact(name: &str, detail: Value) -> Event {
        match Event::read(name, &detail) {
            Event::Unknown { .. } => Event::Unknown { event: name.to_string(), detail },
            typed if typed.detail() == detail => typed,
            _ => Event::Unknown { event: name.to_string(), detail },
        }
    }

    /// What `vend audit log` shows after the address: the operation (and for an outcome `ok` or
    /// `FAILED`), `unknown event` for one this version does not know.
    pub fn summary(&self) -> String {
        match self {
            Event::Intent(i) => i.call.as_ref().and_then(Call::op_name).unwrap_or_default(),
            Event::Outcome(o) => match (&o.op, o.ok) {
                (Some(op), Some(ok)) => format!("{op} {}", if ok { "ok" } else { "FAILED" }),
                (Some(op), None) => op.clone(),
                (None, _) => String::new(),
            },
            Event::Completed(c) => c.op.clone().unwrap_or_default(),
            Event::Unknown { .. } => "unknown event".to_string(),
            Event::ApplyStart(_)
            | Event::ApplyEnd(_)
            | Event::Recovery(_)
            | Event::Request(_)
            | Event::Approve(_)
            | Event::LockTakeover(_)
            | Event::ForceUnlock(_) => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The rename's intent is a typed call: it reads back as `Op::UpdateOrganizationalUnit` and
    /// writes back the same JSON (an older vend reads the same record as `Call::Other`).
    #[test]
    fn a_rename_intent_reads_back_typed_and_identical() {
        let detail = json!({
            "action": "rename",
            "call": { "op": "UpdateOrganizationalUnit", "ou_id": "ou-4f2a-dev6e7f8", "name": "devs" }
        });
        let event = Event::exact("intent", detail.clone());
        match &event {
            Event::Intent(Intent { action: Some(Action::Rename), call: Some(Call::Op(op)), .. }) => {
                assert_eq!(
                    op,
                    &Op::UpdateOrganizationalUnit { ou_id: "ou-4f2a-dev6e7f8".into(), name: "devs".into() }
                );
            }
            other => panic!("not a typed rename intent: {other:?}"),
        }
        assert_eq!(event.detail(), detail);
        assert_eq!(event.summary(), "UpdateOrganizationalUnit");
    }
}
