//! The plan as data (DESIGN §4, plan JSON format v1): `Plan`, `Change`, `Action`, `Kind`,
//! `Summary`, `Basis`. Its serde form is the contract that `vend plan --json`, saved plan files
//! and `vend show FILE` share. Also the integrity of a saved plan: `plan_id` covers basis +
//! changes, `digest` (saved files only) covers the rest of the document except `approvals`
//! (appended later, each signed), and `summary`/`applyable` are re-derived on reading
//! ([`Plan::integrity_problem`]), so a hand edit of any field that steers apply is refused.

pub use super::payload::Payload;
pub use crate::model::{Address, Kind, ShareKey, Target};
use crate::model::{Diagnostic, canonical_json, sha256_prefixed};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

pub const FORMAT_VERSION: &str = "1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Move,
    Replace,
    Delete,
    Close,
    Adopt,
    Deprecate,
    Repair,
    /// An OU renamed in place (`renamed_from:`): same id, everything in it stays.
    Rename,
}

impl Action {
    pub const ALL: [Action; 10] = [
        Action::Create,
        Action::Update,
        Action::Move,
        Action::Replace,
        Action::Delete,
        Action::Close,
        Action::Adopt,
        Action::Deprecate,
        Action::Repair,
        Action::Rename,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Move => "move",
            Action::Replace => "replace",
            Action::Delete => "delete",
            Action::Close => "close",
            Action::Adopt => "adopt",
            Action::Deprecate => "deprecate",
            Action::Repair => "repair",
            Action::Rename => "rename",
        }
    }

    /// Is this action always counted in the summary line and `summary` (the first nine), or
    /// only when a plan has one (`rename`, added later: plans without it keep their bytes)?
    pub fn always_listed(self) -> bool {
        self != Action::Rename
    }

    /// Does applying this change destroy something that cannot be brought back as it was?
    pub fn is_destructive(self) -> bool {
        matches!(self, Action::Delete | Action::Close | Action::Replace)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One planned change. `before`/`after` are the resource as in the snapshot (plus the
/// display-and-apply fields documented in the README), or null; typed per kind
/// ([`Payload`]), read back from JSON with the change's kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawChange")]
pub struct Change {
    pub address: Address,
    pub kind: Kind,
    pub action: Action,
    pub before: Option<Payload>,
    pub after: Option<Payload>,
    pub depends_on: Vec<Address>,
    pub reason: String,
}

/// The serde mirror of a change in plan JSON, before its sides are typed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChange {
    address: Address,
    kind: Kind,
    action: Action,
    before: Option<Value>,
    after: Option<Value>,
    depends_on: Vec<Address>,
    reason: String,
}

impl TryFrom<RawChange> for Change {
    type Error = String;

    fn try_from(r: RawChange) -> Result<Change, String> {
        let side = |v: &Option<Value>, after: bool| -> Result<Option<Payload>, String> {
            v.as_ref().map(|v| Payload::read(r.kind, r.action, after, v)).transpose().map_err(|e| {
                format!("{}: {} is not a {} ({e})", r.address, if after { "after" } else { "before" }, r.kind)
            })
        };
        Ok(Change {
            before: side(&r.before, false)?,
            after: side(&r.after, true)?,
            address: r.address,
            kind: r.kind,
            action: r.action,
            depends_on: r.depends_on,
            reason: r.reason,
        })
    }
}

impl Change {
    /// `before` as plan JSON (for display).
    pub fn before_json(&self) -> Option<Value> {
        self.before.as_ref().map(Payload::to_json)
    }

    /// `after` as plan JSON (for display).
    pub fn after_json(&self) -> Option<Value> {
        self.after.as_ref().map(Payload::to_json)
    }
}

/// What `plan_id` covers.
#[derive(Serialize)]
struct IdDoc<'a> {
    basis: &'a Basis,
    changes: &'a [Change],
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    #[serde(rename = "move")]
    pub move_: usize,
    pub replace: usize,
    pub delete: usize,
    pub close: usize,
    pub adopt: usize,
    pub deprecate: usize,
    pub repair: usize,
    /// Present only when the plan renames something (added after plan JSON v1 was first
    /// written: plans without a rename keep their bytes).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rename: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Summary {
    pub fn of(changes: &[Change]) -> Summary {
        let mut s = Summary::default();
        for c in changes {
            *s.slot(c.action) += 1;
        }
        s
    }

    fn slot(&mut self, a: Action) -> &mut usize {
        match a {
            Action::Create => &mut self.create,
            Action::Update => &mut self.update,
            Action::Move => &mut self.move_,
            Action::Replace => &mut self.replace,
            Action::Delete => &mut self.delete,
            Action::Close => &mut self.close,
            Action::Adopt => &mut self.adopt,
            Action::Deprecate => &mut self.deprecate,
            Action::Repair => &mut self.repair,
            Action::Rename => &mut self.rename,
        }
    }

    pub fn get(&self, a: Action) -> usize {
        let mut copy = self.clone();
        *copy.slot(a)
    }

    pub fn total(&self) -> usize {
        Action::ALL.iter().map(|a| self.get(*a)).sum()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Basis {
    pub state: String,
    pub workspace: String,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub format_version: String,
    pub plan_id: String,
    pub created_at: String,
    pub basis: Basis,
    pub applyable: bool,
    pub summary: Summary,
    pub changes: Vec<Change>,
    pub diagnostics: Vec<Diagnostic>,
    /// Effective-policy preview: accounts whose effective SCP set or OU the plan changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_policies: Option<Vec<super::EffectivePolicy>>,
    /// Who may sign in after the plan (issue 18): accounts whose assignments the plan changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_access: Option<Vec<super::effective::EffectiveAccess>>,
    /// Addresses the workspace asks for that need no change (only with `--show-unchanged`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unchanged: Option<Vec<Address>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvals: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded: Option<Value>,
    /// Who saved the plan (`vend plan --out` when approvals are required): operator key and a
    /// signature of `plan_id` by it (see `plan::approval`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<super::approval::Author>,
    /// Saved plan files only: `sha256:` of the document without `digest` and `approvals`
    /// ([`Plan::compute_digest`]), set by the writer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

impl Plan {
    /// Assemble a plan: summary, id and applyability follow from the parts.
    pub fn new(basis: Basis, changes: Vec<Change>, diagnostics: Vec<Diagnostic>) -> Plan {
        let mut plan = Plan {
            format_version: FORMAT_VERSION.to_string(),
            plan_id: String::new(),
            created_at: String::new(),
            basis,
            applyable: true,
            summary: Summary::of(&changes),
            changes,
            diagnostics,
            effective_policies: None,
            effective_access: None,
            unchanged: None,
            approvals: None,
            excluded: None,
            author: None,
            digest: None,
        };
        plan.plan_id = plan.compute_id();
        plan.applyable = !plan.diagnostics.iter().any(Diagnostic::is_error);
        plan
    }

    /// `sha256:` of the canonical JSON of basis + changes.
    pub fn compute_id(&self) -> String {
        let doc =
            serde_json::to_string(&IdDoc { basis: &self.basis, changes: &self.changes }).unwrap_or_default();
        sha256_prefixed(doc.as_bytes())
    }

    /// `sha256:` of the canonical JSON (object keys sorted, no spaces) of the whole plan document
    /// without `digest` and `approvals`: what a saved plan's `digest` records.
    pub fn compute_digest(&self) -> String {
        let mut doc = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(o) = doc.as_object_mut() {
            o.shift_remove("digest");
            o.shift_remove("approvals");
        }
        sha256_prefixed(canonical_json(&doc).as_bytes())
    }

    /// Is `applyable` what the diagnostics say? Errors on changes the plan excludes
    /// (`excluded`, with what depends on them) do not count (`plan::scope::applyable`).
    pub fn derived_applyable(&self) -> bool {
        super::scope::applyable(self)
    }

    /// Why this saved plan is not as vend wrote it, if so: an unsupported format, a `plan_id`
    /// that is not its basis + changes, a missing or wrong `digest` (any other field edited),
    /// a `summary` or `applyable` that its changes and diagnostics do not give.
    pub fn integrity_problem(&self) -> Option<String> {
        if self.format_version != FORMAT_VERSION {
            return Some(format!(
                "plan format_version {:?} is not supported (this vend reads {FORMAT_VERSION:?})",
                self.format_version
            ));
        }
        let edited = "the plan was edited after it was saved";
        let id = self.compute_id();
        if id != self.plan_id {
            return Some(format!("{edited}: its plan_id {} does not match its content ({id})", self.plan_id));
        }
        let Some(digest) = &self.digest else {
            return Some(format!(
                "{edited}, or not saved by `vend plan --out`: it has no digest (plan {})",
                self.plan_id
            ));
        };
        let computed = self.compute_digest();
        if *digest != computed {
            return Some(format!("{edited}: its digest {digest} does not match its content ({computed})"));
        }
        if self.summary != Summary::of(&self.changes) {
            return Some(format!("{edited}: its summary does not count its changes"));
        }
        // A plan saved before excluded changes' errors stopped counting (the TUI's) may say
        // false where its diagnostics now allow true; never true where they say false.
        let unscoped = !self.diagnostics.iter().any(Diagnostic::is_error);
        if self.applyable != self.derived_applyable() && self.applyable != unscoped {
            return Some(format!(
                "{edited}: applyable is {} but its diagnostics say {}",
                self.applyable,
                self.derived_applyable()
            ));
        }
        None
    }

    /// Recompute every derived field (plan id, summary, applyable, digest) from the rest: what
    /// a consistent plan file would hold. The id and digest are checksums against accidental
    /// and hand edits, not signatures (author and approvals are signed).
    pub fn reseal(mut self) -> Plan {
        self.format_version = FORMAT_VERSION.to_string();
        self.plan_id = self.compute_id();
        self.summary = Summary::of(&self.changes);
        self.applyable = self.derived_applyable();
        self.digest = Some(self.compute_digest());
        self
    }

    /// Put workspace (load-stage) diagnostics in front of the plan's own.
    pub fn with_diagnostics(mut self, mut first: Vec<Diagnostic>) -> Plan {
        first.append(&mut self.diagnostics);
        self.diagnostics = first;
        self.applyable = !self.diagnostics.iter().any(Diagnostic::is_error);
        self
    }

    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    pub fn change(&self, address: &str) -> Option<&Change> {
        self.changes.iter().find(|c| c.address == address)
    }
}
