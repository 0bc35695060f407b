//! Pinned operators (`operators:` in `catalog/vend.yaml`): who may sign the audit log and whose
//! approvals count. Each name holds its current keys and its retired keys, each retired key
//! with the time `until` which records it signed stay valid. Keys are kept normalised: 64
//! lowercase hex digits, without the `ed25519:` prefix. The pure decisions over them live here:
//! which operator a key belongs to ([`Operators::status`]), whether this operator may append to
//! a log ([`may_append`]), and the line to paste under `operators:` ([`pin_line`]).

use jiff::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;

/// The pinned operators, by name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Operators {
    pub by_name: BTreeMap<String, Operator>,
}

/// One pinned operator.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Operator {
    /// Current keys (one per machine, say): they sign new records and approvals.
    pub keys: Vec<String>,
    /// Keys taken out of use: records they signed up to `until` still verify; they can no longer
    /// append or approve.
    pub retired: Vec<Retired>,
}

/// A retired key and the last time it may have signed a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Retired {
    pub key: String,
    pub until: Timestamp,
}

/// What a key is among the pins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus<'a> {
    Current { name: &'a str },
    Retired { name: &'a str, until: Timestamp },
}

impl KeyStatus<'_> {
    pub fn name(&self) -> &str {
        match self {
            KeyStatus::Current { name } | KeyStatus::Retired { name, .. } => name,
        }
    }
}

impl Operators {
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Pins from bare keys, each its own operator named after its key's first 12 digits (the
    /// library's older interface: a list of trusted keys).
    pub fn from_keys(keys: &[String]) -> Operators {
        let mut by_name = BTreeMap::new();
        for k in keys {
            let key = normalize_key(k);
            let name = key.get(..12).unwrap_or(&key).to_string();
            by_name.insert(name, Operator { keys: vec![key], retired: vec![] });
        }
        Operators { by_name }
    }

    /// Whose key `key` is (any spelling), current or retired; `None` when it is not pinned.
    pub fn status(&self, key: &str) -> Option<KeyStatus<'_>> {
        let key = normalize_key(key);
        for (name, op) in &self.by_name {
            if op.keys.contains(&key) {
                return Some(KeyStatus::Current { name });
            }
        }
        for (name, op) in &self.by_name {
            if let Some(r) = op.retired.iter().find(|r| r.key == key) {
                return Some(KeyStatus::Retired { name, until: r.until });
            }
        }
        None
    }

    /// The operator whose *current* key `key` is.
    pub fn current_name(&self, key: &str) -> Option<&str> {
        match self.status(key)? {
            KeyStatus::Current { name } => Some(name),
            KeyStatus::Retired { .. } => None,
        }
    }

    /// Every current key, `name (key…)` per key, for messages.
    pub fn describe_current(&self) -> Vec<String> {
        self.by_name
            .iter()
            .flat_map(|(name, op)| op.keys.iter().map(move |k| format!("{name} ({})", short(k))))
            .collect()
    }
}

/// A key's normalised form: trimmed, lowercase, without an `ed25519:` prefix (any case).
pub fn normalize_key(key: &str) -> String {
    let key = key.trim().to_ascii_lowercase();
    key.strip_prefix("ed25519:").map(str::to_string).unwrap_or(key)
}

/// A key as written under `operators:`, checked: 64 hex digits, with or without `ed25519:`.
pub fn parse_key(text: &str) -> Result<String, String> {
    let key = normalize_key(text);
    if key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(key)
    } else {
        Err(format!("`{}` is not an Ed25519 public key (`ed25519:` and 64 hex digits)", text.trim()))
    }
}

/// The first 12 digits of a key, for messages.
pub fn short(key: &str) -> String {
    format!("{}…", key.get(..12).unwrap_or(key))
}

/// An identity (user name, e-mail, `uid:1000`) as a YAML-safe mapping key: letters, digits,
/// `-`, `_` and `.` kept, `@` and every other character turned into `-`, no leading or
/// trailing `-`/`.`, lowercase; `operator` when nothing is left.
pub fn yaml_name(identity: &str) -> String {
    let mapped: String = identity
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '.' { c.to_ascii_lowercase() } else { '-' })
        .collect();
    let mut out = String::new();
    for c in mapped.chars() {
        if c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
    }
    let trimmed = out.trim_matches(|c| c == '-' || c == '.');
    // Words YAML reads as something other than a string (a number, a boolean, null) get a prefix.
    let special = ["true", "false", "yes", "no", "on", "off", "null", "y", "n"];
    if trimmed.is_empty() {
        "operator".to_string()
    } else if trimmed.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'_')
        || special.contains(&trimmed)
    {
        format!("op-{trimmed}")
    } else {
        trimmed.to_string()
    }
}

/// The line to paste under `operators:` for `name` and `key`: `  name: ed25519:<hex>`.
pub fn pin_line(name: &str, key: &str) -> String {
    format!("  {}: ed25519:{}", yaml_name(name), normalize_key(key))
}

/// Whether the operator holding `key` (identity `user`) may append to a log whose first record
/// was signed by `first` (key and user; `None` for an empty log). With pins: only a current
/// pinned key, and the answer is its operator's name (`actor.operator`). Without pins: trust on
/// first use — only the first record's key (or anyone on an empty log). `Err` says why not and
/// what to add to `catalog/vend.yaml`. The one rule every writer of the log obeys, so that a
/// normal workflow never leaves a log `vend audit verify` rejects.
pub fn may_append(
    pins: &Operators,
    key: &str,
    user: &str,
    first: Option<(&str, &str)>,
) -> Result<Option<String>, String> {
    let key = normalize_key(key);
    if !pins.is_empty() {
        return match pins.status(&key) {
            Some(KeyStatus::Current { name }) => Ok(Some(name.to_string())),
            Some(KeyStatus::Retired { name, until }) => Err(format!(
                "your key {key} was retired on {until} (operator `{name}` in catalog/vend.yaml): it can no \
                 longer write to the audit log; pin your current key (`vend operator key` prints the line) \
                 under `{name}: keys:`"
            )),
            None => Err(format!(
                "your key {key} is not pinned in catalog/vend.yaml, so what you write would not verify; \
                 add this line under `operators:` (`vend operator key` prints it):\n{}",
                pin_line(user, &key)
            )),
        };
    }
    match first {
        None => Ok(None),
        Some((first_key, _)) if normalize_key(first_key) == key => Ok(None),
        Some((first_key, first_user)) => Err(format!(
            "the audit log was started by key {} ({first_user}) and no operators are pinned: a record \
             signed by your key {key} would make `vend audit verify` fail. Pin both operators in \
             catalog/vend.yaml (each runs `vend operator key` to print their line):\noperators:\n{}\n{}",
            normalize_key(first_key),
            pin_line(first_user, first_key),
            pin_line(user, &key)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aa00000000000000000000000000000000000000000000000000000000000000";
    const A2: &str = "aa22222222222222222222222222222222222222222222222222222222222222";
    const B: &str = "bb00000000000000000000000000000000000000000000000000000000000000";

    fn pins() -> Operators {
        let mut by_name = BTreeMap::new();
        by_name.insert(
            "alice".to_string(),
            Operator {
                keys: vec![A2.into()],
                retired: vec![Retired { key: A.into(), until: "2026-12-01T00:00:00Z".parse().unwrap() }],
            },
        );
        by_name.insert("bob".to_string(), Operator { keys: vec![B.into()], retired: vec![] });
        Operators { by_name }
    }

    #[test]
    fn keys_are_normalised_and_checked() {
        assert_eq!(parse_key(&format!("ED25519:{}", A.to_uppercase())).unwrap(), A);
        assert_eq!(parse_key(A).unwrap(), A);
        assert!(parse_key("ed25519:abc").unwrap_err().contains("not an Ed25519 public key"));
        assert!(parse_key(&format!("{}zz", &A[..62])).is_err());
    }

    #[test]
    fn status_names_the_operator_and_whether_the_key_is_retired() {
        let p = pins();
        assert_eq!(p.status(&format!("ed25519:{A2}")), Some(KeyStatus::Current { name: "alice" }));
        assert!(matches!(p.status(A), Some(KeyStatus::Retired { name: "alice", .. })));
        assert_eq!(p.current_name(A), None);
        assert_eq!(p.current_name(B), Some("bob"));
        assert_eq!(p.status(&"cc".repeat(32)), None);
    }

    #[test]
    fn names_are_yaml_safe() {
        assert_eq!(yaml_name("alice"), "alice");
        assert_eq!(yaml_name("Alice.Smith@example.com"), "alice.smith-example.com");
        assert_eq!(yaml_name("uid:1000"), "uid-1000");
        assert_eq!(yaml_name("  "), "operator");
        assert_eq!(yaml_name("1000"), "op-1000");
        assert_eq!(pin_line("bob", &B.to_uppercase()), format!("  bob: ed25519:{B}"));
    }

    #[test]
    fn with_pins_only_a_current_key_may_append() {
        let p = pins();
        assert_eq!(may_append(&p, B, "bob", Some((A, "alice"))), Ok(Some("bob".into())));
        let retired = may_append(&p, A, "alice", None).unwrap_err();
        assert!(retired.contains("retired on 2026-12-01T00:00:00Z"), "{retired}");
        let c = "cc".repeat(32);
        let unpinned = may_append(&p, &c, "carol", None).unwrap_err();
        assert!(unpinned.contains(&format!("  carol: ed25519:{c}")), "{unpinned}");
    }

    #[test]
    fn without_pins_only_the_first_key_may_append() {
        let none = Operators::default();
        assert_eq!(may_append(&none, A, "alice", None), Ok(None));
        assert_eq!(may_append(&none, A, "alice", Some((A, "alice"))), Ok(None));
        let refused = may_append(&none, B, "bob", Some((A, "alice"))).unwrap_err();
        assert!(refused.contains(&format!("  alice: ed25519:{A}")), "{refused}");
        assert!(refused.contains(&format!("  bob: ed25519:{B}")), "{refused}");
        assert!(refused.contains("no operators are pinned"), "{refused}");
    }
}
