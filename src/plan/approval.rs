//! Separation of duties (DESIGN §6): a saved plan's `author` (the operator key that saved it)
//! and its reviewers' `approvals`, each an Ed25519 signature by an operator key (the key that
//! signs the audit log) over the plan id, domain-separated: the author signs
//! `vend-author:v1:<plan_id>`, a reviewer `vend-approval:v1:<plan_id>` (each followed by
//! `:excluded:<JSON>` when the saved plan excludes changes, since `excluded` is not in the id). [`check`] decides which
//! approvals count: valid signature, `plan_id` equal to the plan's own and to the id its content
//! hashes to (a modified plan voids them all), not by the author, one per key, and — when
//! operators are pinned in `catalog/vend.yaml` — only by a pinned key. Pure: signing happens in
//! the caller (`approve`), which holds the key.

use super::Plan;
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
    /// Operator keys whose approvals count.
    pub counted: Vec<String>,
    /// Approvals that do not count, with why.
    pub void: Vec<String>,
    /// Why the author is not established (no author, bad signature), if so.
    pub author_problem: Option<String>,
}

/// Which approvals of `plan` count (see the module doc). `pinned`: the pinned operator keys.
pub fn check(plan: &Plan, pinned: &[String]) -> Verdict {
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
    let (list, unreadable) = approvals(plan);
    if unreadable > 0 {
        v.void.push(format!("{unreadable} approval(s) are not readable"));
    }
    for a in list {
        let who = format!("{} ({}…)", a.user, a.operator.get(..12).unwrap_or(&a.operator));
        let why = if modified {
            Some("the plan was modified after it was approved")
        } else if a.plan_id != plan.plan_id {
            Some("it approves another plan id")
        } else if !signature_ok(&a.operator, &approval_message(&a.plan_id, plan), &a.sig) {
            Some("its signature does not verify (was the plan's excluded list changed?)")
        } else if author.as_deref() == Some(a.operator.as_str()) {
            Some("it is by the plan's author")
        } else if !pinned.is_empty() && !pinned.contains(&a.operator) {
            Some("its key is not among the operators pinned in catalog/vend.yaml")
        } else if v.counted.contains(&a.operator) {
            Some("the same operator approved twice")
        } else {
            None
        };
        match why {
            Some(why) => v.void.push(format!("approval by {who} is void: {why}")),
            None => v.counted.push(a.operator.clone()),
        }
    }
    v
}

/// `Ok(())` when `plan` carries at least `required` approvals that count, else why not.
pub fn enough(plan: &Plan, required: u32, pinned: &[String]) -> Result<(), String> {
    if required == 0 {
        return Ok(());
    }
    let v = check(plan, pinned);
    if let Some(problem) = &v.author_problem {
        return Err(format!("the workspace requires {required} approval(s), but {problem}"));
    }
    if v.counted.len() >= required as usize {
        return Ok(());
    }
    let mut msg = format!(
        "the workspace requires {required} approval(s) from operators other than the plan's author; plan {} has {} valid",
        plan.plan_id,
        v.counted.len()
    );
    for why in &v.void {
        msg.push_str(&format!("; {why}"));
    }
    msg.push_str("; a reviewer runs `vend approve FILE`");
    Err(msg)
}
