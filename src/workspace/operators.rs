//! `operators:` in `catalog/vend.yaml` -> [`Operators`]: per name one key (`alice: ed25519:…`)
//! or a mapping with current `keys:` and `retired:` keys (`{ key, until }`). Keys are accepted
//! with or without `ed25519:`, in any case, and kept normalised. Each problem is an error at the
//! operator's entry: a key that is not an Ed25519 key, one key under two names (or twice under
//! one), a key both current and retired, an `until` that is not an RFC 3339 time, an operator
//! without any key.

use super::SETTINGS;
use super::raw::{RawOperator, S};
use super::yaml::origin;
use crate::model::Diagnostics;
use crate::model::operators::{Operator, Operators, Retired, parse_key};
use std::collections::BTreeMap;

/// The pinned operators of `raw`, every problem reported in `diags` (a bad entry is left out).
pub(super) fn operators(raw: &BTreeMap<String, S<RawOperator>>, diags: &mut Diagnostics) -> Operators {
    let mut out = Operators::default();
    // Every key seen so far: whose, and whether current.
    let mut seen: BTreeMap<String, (String, bool)> = BTreeMap::new();
    for (name, entry) in raw {
        let at = origin(SETTINGS, entry);
        let mut bad = |code: &str, msg: String| diags.error(code, &at, format!("operators.{name}: {msg}"));
        let (keys, retired) = match &entry.value {
            RawOperator::Key(k) => (vec![k.clone()], vec![]),
            RawOperator::Keys(k) => (k.keys.clone(), k.retired.clone()),
        };
        if keys.is_empty() && retired.is_empty() {
            bad("operator-no-key", "no key: give `keys:` (or one key as the value)".into());
            continue;
        }
        let mut op = Operator::default();
        let mut claim = |key: &str, current: bool, bad: &mut dyn FnMut(&str, String)| -> bool {
            match seen.get(key) {
                Some((other, was_current)) if other == name && *was_current != current => {
                    bad("operator-key-retired-and-current", format!("key {key} is both current and retired"));
                    false
                }
                Some((other, _)) if other == name => {
                    bad("duplicate-operator-key", format!("key {key} is listed twice"));
                    false
                }
                Some((other, _)) => {
                    bad(
                        "duplicate-operator-key",
                        format!("key {key} is already pinned under `{other}`: one key, one operator"),
                    );
                    false
                }
                None => {
                    seen.insert(key.to_string(), (name.clone(), current));
                    true
                }
            }
        };
        for k in &keys {
            match parse_key(k) {
                Err(e) => bad("bad-operator-key", e),
                Ok(key) => {
                    if claim(&key, true, &mut bad) {
                        op.keys.push(key);
                    }
                }
            }
        }
        for r in &retired {
            let until = match r.until.trim().parse::<jiff::Timestamp>() {
                Ok(t) => t,
                Err(_) => {
                    bad(
                        "bad-operator-until",
                        format!(
                            "retired key until `{}` is not an RFC 3339 time (e.g. 2026-12-01T00:00:00Z)",
                            r.until
                        ),
                    );
                    continue;
                }
            };
            match parse_key(&r.key) {
                Err(e) => bad("bad-operator-key", e),
                Ok(key) => {
                    if claim(&key, false, &mut bad) {
                        op.retired.push(Retired { key, until });
                    }
                }
            }
        }
        out.by_name.insert(name.clone(), op);
    }
    out
}
