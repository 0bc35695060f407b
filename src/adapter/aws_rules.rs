//! The AWS rule table, `aws_rules.yaml`: every AWS rule vend relies on, with the error AWS
//! answers, the default limit where there is one, and its source. The in-process cloud refuses
//! through [`refuse`] (so its errors name the rule), takes its default quotas from [`limit`], and
//! the plan check (`crate::check`) turns a refusal into a diagnostic naming the rule. The test
//! emulator's extension loads the same file (`tests/emulator/vend_moto/rules.py`). The table is
//! compiled in; `tests/aws_rules.rs` checks it and that every rule is enforced on both sides.

use crate::port::{CloudError, ErrorKind};
use serde::Deserialize;
use std::sync::LazyLock;

/// The table as written.
pub const TABLE_TEXT: &str = include_str!("aws_rules.yaml");

/// Who can run into a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reach {
    /// An everyday workspace edit can (the plan check must catch it).
    Plan,
    /// Only a call the planner never builds can (an unknown id, a wrong enum value).
    Call,
}

/// One rule of the table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Stable id, `<service>.<what>`.
    pub id: String,
    /// The operations that enforce it.
    pub operations: Vec<String>,
    /// The AWS error code (or, for a failed account creation, the status's failure reason).
    pub code: String,
    /// The reason AWS gives inside ConstraintViolationException / InvalidInputException.
    #[serde(default)]
    pub reason: Option<String>,
    /// The rule in one line.
    pub says: String,
    /// The diagnostic codes with which vend refuses a workspace that would run into the rule
    /// before any call is planned.
    #[serde(default)]
    pub planner: Vec<String>,
    /// The default quota, where the rule is one.
    #[serde(default)]
    pub limit: Option<u64>,
    pub reach: Reach,
    /// For a `reach: plan` rule the plan-promise property test cannot run into: why (the
    /// planner's ordering or own checks pre-empt it, or the quota is beyond a test sequence).
    #[serde(default)]
    pub preempted: Option<String>,
    /// Where AWS says so: a URL and a quote from it.
    pub source: String,
    pub quote: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    format: u32,
    rules: Vec<Rule>,
}

/// Parse a rule table (the compiled-in one is [`rules`]); refuses an unknown format, duplicate
/// ids and rules without a source.
pub fn parse(text: &str) -> Result<Vec<Rule>, String> {
    let table: Table = serde_saphyr::from_str(text).map_err(|e| format!("aws_rules.yaml: {e}"))?;
    if table.format != 1 {
        return Err(format!("aws_rules.yaml: format {} is not supported (1 is)", table.format));
    }
    let mut seen = std::collections::BTreeSet::new();
    for r in &table.rules {
        if !seen.insert(r.id.as_str()) {
            return Err(format!("aws_rules.yaml: rule {} is listed twice", r.id));
        }
        if r.preempted.is_some() && r.reach != Reach::Plan {
            return Err(format!("aws_rules.yaml: rule {} is preempted but not reach: plan", r.id));
        }
        if !r.source.starts_with("https://") || r.quote.trim().is_empty() || r.operations.is_empty() {
            return Err(format!(
                "aws_rules.yaml: rule {} needs operations, an https source and a quote",
                r.id
            ));
        }
    }
    Ok(table.rules)
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    // The table is compiled in and checked by tests/aws_rules.rs; an empty table would only make
    // every refusal name no rule.
    parse(TABLE_TEXT).unwrap_or_default()
});

/// Every rule, in table order.
pub fn rules() -> &'static [Rule] {
    &RULES
}

/// The rule `id`, if the table has it.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// The default limit of rule `id` (`fallback` if the table has none — tests keep that from
/// happening).
/// The rule that limits account creations in progress at once (the apply engine keeps its
/// CreateAccount steps under it).
pub const CONCURRENT_ACCOUNT_CREATIONS: &str = "organizations.account-creations-in-progress";

pub fn limit(id: &str, fallback: u64) -> u64 {
    rule(id).and_then(|r| r.limit).unwrap_or(fallback)
}

/// The error AWS answers when rule `id` refuses a call, with `detail` as its message: the rule's
/// code, its reason in front of the message where AWS gives one, and the rule id.
pub fn refuse(id: &str, detail: impl Into<String>) -> CloudError {
    let detail = detail.into();
    match rule(id) {
        Some(r) => CloudError {
            kind: ErrorKind::Hard,
            code: r.code.clone(),
            message: match &r.reason {
                Some(reason) => format!("{reason}: {detail}"),
                None => detail,
            },
            rule: Some(r.id.clone()),
        },
        None => CloudError {
            kind: ErrorKind::Hard,
            code: "InternalFailure".into(),
            message: format!("{detail} (rule {id} is missing from aws_rules.yaml)"),
            rule: Some(id.to_string()),
        },
    }
}

/// The rule a diagnostic code of vend's own checks enforces, when exactly one rule lists it.
pub fn for_diagnostic(code: &str) -> Option<&'static Rule> {
    let mut claims = RULES.iter().filter(|r| r.planner.iter().any(|c| c == code));
    match (claims.next(), claims.next()) {
        (Some(r), None) => Some(r),
        _ => None,
    }
}
