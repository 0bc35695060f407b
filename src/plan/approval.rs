//! Separation of duties (DESIGN §6): a saved plan's `author` (the operator key that saved it)
//! and its reviewers' `approvals`, each an Ed25519 signature by an operator key (the key that
//! signs the audit log) over the plan id, domain-separated: the author signs
//! `vend-author:v1:<plan_id>`, a reviewer `vend-approval:v1:<plan_id>` (each followed by
//! `:excluded:<JSON>` when the saved plan excludes changes, since `excluded` is not in the id). [`check`] decides which
//! approvals count: valid signature, `plan_id` equal to the plan's own and to the id its content
//! hashes to (a modified plan voids them all), by a *current* key of an operator pinned in
//! `catalog/vend.yaml`, one per pinned identity (two keys of one operator count once), never by
//! the author's identity (the author's key, or another key pinned under the author's name).
//! Without pins nothing counts. Identities are resolved at check time from the pins in force,
//! never stored in the plan: adding or rotating an operator voids no saved plan. Pure: signing
//! happens in the caller (`approve`), which holds the key.

use super::Plan;
use crate::model::operators::{KeyStatus, Operators, short};
use ed25519_dalek::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who saved the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Author {
    /// Operator public key, 64 lowercase hex digits.
    pub operator: String,
    pub user: String,
    /// Signature of [`author_message`] (128 hex digits).
    pub sig: String,
}

/// One reviewer's approval (an element of the saved plan's `approvals`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// Operator public key, 64 lowercase hex digits.
    pub operator: String,
    pub user: String,
    /// AWS caller identity when approved with `--aws`, else null.
    #[serde(default)]
    pub aws: Option<Value>,
    /// RFC 3339 time of the approval.
    pub at: String,
    pub plan_id: String,
    /// Signature of [`approval_message`] (128 hex digits).
    pub sig: String,
}

/// What the author signs: the plan id, plus the `excluded` list when the plan has one (it is
/// not part of the id, but changes what apply does).
pub fn author_message(plan: &Plan) -> String {
    format!("vend-author:v1:{}{}", plan.plan_id, excluded_suffix(plan))
}

/// What a reviewer signs for `plan_id` (with the plan's `excluded` list, if any).
pub fn approval_message(plan_id: &str, plan: &Plan) -> String {
    format!("vend-approval:v1:{plan_id}{}", excluded_suffix(plan))
}

fn excluded_suffix(plan: &Plan) -> String {
    match &plan.excluded {
        Some(v) => format!(":excluded:{v}"),
        None => String::new(),
    }
}

/// Check an Ed25519 signature, key and signature in lowercase hex.
pub fn signature_ok(key_hex: &str, message: &str, sig_hex: &str) -> bool {
    let lower = |s: &str| !s.bytes().any(|b| b.is_ascii_uppercase());
    let (Ok(key), Ok(sig)) = (hex::decode(key_hex), hex::decode(sig_hex)) else { return false };
    let (Ok(key), Ok(sig)) = (<[u8; 32]>::try_from(key), <[u8; 64]>::try_from(sig)) else { return false };
    let Ok(key) = VerifyingKey::from_bytes(&key) else { return false };
    lower(key_hex)
        && lower(sig_hex)
        && key.verify_strict(message.as_bytes(), &Signature::from_bytes(&sig)).is_ok()
}

/// The approvals recorded in a saved plan (unreadable entries are skipped and reported void).
pub fn approvals(plan: &Plan) -> (Vec<Approval>, usize) {
    let items = plan.approvals.as_ref().and_then(Value::as_array).cloned().unwrap_or_default();
    let total = items.len();
    let parsed: Vec<Approval> = items.into_iter().filter_map(|v| serde_json::from_value(v).ok()).collect();
    let unreadable = total - parsed.len();
    (parsed, unreadable)
}

/// The verdict on a plan's approvals.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verdict {
    /// Pinned operator names whose approvals count (one each).
    pub counted: Vec<String>,
    /// Approvals that do not count, with why.
    pub void: Vec<String>,
    /// Why the author is not established (no author, bad signature), if so.
    pub author_problem: Option<String>,
}

/// Which approvals of `plan` count (see the module doc), by the operators `pins` names.
pub fn check(plan: &Plan, pins: &Operators) -> Verdict {
    let mut v = Verdict::default();
    let modified = plan.compute_id() != plan.plan_id;
    let author = match &plan.author {
        None => {
            v.author_problem = Some(
                "the plan records no author (save it with `vend plan --out` where approvals are required)"
                    .into(),
            );
            None
        }
        Some(a) if !signature_ok(&a.operator, &author_message(plan), &a.sig) => {
            v.author_problem =
                Some("the plan's author signature does not verify (the plan was modified)".into());
            None
        }
        Some(a) => Some(a.operator.clone()),
    };
    // The author's identity: the pinned name of their key (current or retired).
    let author_name = author.as_deref().and_then(|k| pins.status(k)).map(|s| s.name().to_string());
    let (list, unreadable) = approvals(plan);
    if unreadable > 0 {
        v.void.push(format!("{unreadable} approval(s) are not readable"));
    }
    if pins.is_empty() {
        if !list.is_empty() {
            v.void.push(format!(
                "{} approval(s) do not count: no operators are pinned in catalog/vend.yaml (approvals count only \
                 from pinned operators; each runs `vend operator key` and adds the line it prints under `operators:`)",
                list.len()
            ));
        }
        return v;
    }
    for a in list {
        let who = format!("{} ({})", a.user, short(&a.operator));
        let status = pins.status(&a.operator);
        let why = if modified {
            Some("the plan was modified after it was approved".to_string())
        } else if a.plan_id != plan.plan_id {
            Some("it approves another plan id".to_string())
        } else if !signature_ok(&a.operator, &approval_message(&a.plan_id, plan), &a.sig) {
            Some("its signature does not verify (was the plan's excluded list changed?)".to_string())
        } else if author.as_deref() == Some(a.operator.as_str()) {
            Some("it is by the plan's author".to_string())
        } else {
            match status {
                None => Some("its key is not among the operators pinned in catalog/vend.yaml".to_string()),
                Some(KeyStatus::Retired { name, until }) => {
                    Some(format!("its key is a retired key of operator `{name}` (retired {until})"))
                }
                Some(KeyStatus::Current { name }) if author_name.as_deref() == Some(name) => {
                    Some(format!("it is by the plan's author, operator `{name}`, with another of their keys"))
                }
                Some(KeyStatus::Current { name }) if v.counted.iter().any(|c| c == name) => Some(format!(
                    "operator `{name}` already approved (one approval per operator, whatever the key)"
                )),
                Some(KeyStatus::Current { .. }) => None,
            }
        };
        match (why, status) {
            (Some(why), _) => v.void.push(format!("approval by {who} is void: {why}")),
            (None, Some(s)) => v.counted.push(s.name().to_string()),
            (None, None) => {}
        }
    }
    v
}

/// `Ok(())` when `plan` carries at least `required` approvals that count, else why not.
pub fn enough(plan: &Plan, required: u32, pins: &Operators) -> Result<(), String> {
    if required == 0 {
        return Ok(());
    }
    let v = check(plan, pins);
    if let Some(problem) = &v.author_problem {
        return Err(format!("the workspace requires {required} approval(s), but {problem}"));
    }
    if v.counted.len() >= required as usize {
        return Ok(());
    }
    let mut msg = format!(
        "the workspace requires {required} approval(s) from pinned operators other than the plan's author; plan {} has {} valid",
        plan.plan_id,
        v.counted.len()
    );
    for why in &v.void {
        msg.push_str(&format!("; {why}"));
    }
    msg.push_str("; a reviewer runs `vend approve FILE`");
    Err(msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::operators::{Operator, Retired};
    use crate::plan::Basis;
    use ed25519_dalek::{Signer, SigningKey};

    struct Key(SigningKey);

    impl Key {
        fn new(n: u8) -> Key {
            Key(SigningKey::from_bytes(&[n; 32]))
        }
        fn hex(&self) -> String {
            hex::encode(self.0.verifying_key().to_bytes())
        }
        fn sign(&self, message: &str) -> String {
            hex::encode(self.0.sign(message.as_bytes()).to_bytes())
        }
    }

    /// A plan authored by `author` and approved by each of `approvers`.
    fn plan(author: &Key, approvers: &[&Key]) -> Plan {
        let mut p = Plan::new(Basis::default(), vec![], vec![]);
        p.author =
            Some(Author { operator: author.hex(), user: "a".into(), sig: author.sign(&author_message(&p)) });
        let list: Vec<Value> = approvers
            .iter()
            .map(|k| {
                serde_json::to_value(Approval {
                    operator: k.hex(),
                    user: "r".into(),
                    aws: None,
                    at: "2026-12-01T00:00:00Z".into(),
                    plan_id: p.plan_id.clone(),
                    sig: k.sign(&approval_message(&p.plan_id, &p)),
                })
                .unwrap()
            })
            .collect();
        p.approvals = Some(Value::Array(list));
        p
    }

    fn pins(entries: &[(&str, &[&Key], &[&Key])]) -> Operators {
        let mut o = Operators::default();
        for (name, keys, retired) in entries {
            o.by_name.insert(
                name.to_string(),
                Operator {
                    keys: keys.iter().map(|k| k.hex()).collect(),
                    retired: retired
                        .iter()
                        .map(|k| Retired { key: k.hex(), until: "2026-12-01T00:00:00Z".parse().unwrap() })
                        .collect(),
                },
            );
        }
        o
    }

    #[test]
    fn distinct_pinned_identities_other_than_the_author_count() {
        let (alice, bob, bob2, carol) = (Key::new(1), Key::new(2), Key::new(3), Key::new(4));
        let pins =
            pins(&[("alice", &[&alice], &[]), ("bob", &[&bob, &bob2], &[]), ("carol", &[&carol], &[])]);
        let v = check(&plan(&alice, &[&bob, &bob2, &carol]), &pins);
        assert_eq!(v.counted, vec!["bob".to_string(), "carol".to_string()]);
        assert!(v.void.iter().any(|w| w.contains("operator `bob` already approved")), "{:?}", v.void);
        assert!(enough(&plan(&alice, &[&bob, &bob2]), 2, &pins).is_err(), "two keys of bob count once");
        assert!(enough(&plan(&alice, &[&bob, &carol]), 2, &pins).is_ok());
    }

    #[test]
    fn another_key_of_the_author_does_not_count() {
        let (bob, bob2) = (Key::new(2), Key::new(3));
        let pins = pins(&[("bob", &[&bob, &bob2], &[])]);
        let v = check(&plan(&bob, &[&bob2]), &pins);
        assert!(v.counted.is_empty());
        assert!(
            v.void[0].contains("by the plan's author, operator `bob`, with another of their keys"),
            "{:?}",
            v.void
        );
        assert!(enough(&plan(&bob, &[&bob2]), 1, &pins).unwrap_err().contains("has 0 valid"));
    }

    #[test]
    fn retired_and_unpinned_keys_do_not_count() {
        let (alice, old, new, eve) = (Key::new(1), Key::new(5), Key::new(6), Key::new(7));
        let pins = pins(&[("alice", &[&alice], &[]), ("dan", &[&new], &[&old])]);
        let v = check(&plan(&alice, &[&old, &eve]), &pins);
        assert!(v.counted.is_empty());
        assert!(v.void[0].contains("retired key of operator `dan`"), "{:?}", v.void);
        assert!(v.void[1].contains("not among the operators pinned"), "{:?}", v.void);
    }

    #[test]
    fn without_pins_nothing_counts_and_the_verdict_says_why() {
        let (alice, bob) = (Key::new(1), Key::new(2));
        let v = check(&plan(&alice, &[&bob]), &Operators::default());
        assert!(v.counted.is_empty());
        assert!(v.void[0].contains("no operators are pinned"), "{:?}", v.void);
        assert!(
            enough(&plan(&alice, &[&bob]), 1, &Operators::default())
                .unwrap_err()
                .contains("no operators are pinned")
        );
    }
}
