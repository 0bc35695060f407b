//! Guardrail settings: what `catalog/guardrails.yaml` asks every plan to respect (built-in
//! checks, their severities, custom account rules) and how the static template lint reports.
//! Pure data, validated by `workspace::guardrails`, applied by `plan::guardrails` and the
//! template lint of `workspace::template_lint`.

use crate::model::{Origin, Severity};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Built-in guardrail codes and their default severities.
pub const BUILTIN: [(&str, Severity); 5] = [
    ("account-in-root", Severity::Warning),
    ("full-access-only", Severity::Error),
    ("required-scp-missing", Severity::Error),
    ("required-tag-missing", Severity::Error),
    ("too-many-destructive", Severity::Error),
];

/// Template lint rule codes (all warnings unless listed under `template_lint.errors`).
pub const LINT_RULES: [&str; 4] =
    ["lint-iam-wildcard", "lint-open-ingress", "lint-unencrypted-bucket", "lint-no-approval"];

/// Default of `max_destructive`: more destructive changes (delete, close, replace) than this in
/// one plan is a `too-many-destructive` error.
pub const DEFAULT_MAX_DESTRUCTIVE: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Guardrails {
    pub max_destructive: usize,
    /// OU paths: every OU at or below one must carry an SCP besides `FullAWSAccess`.
    pub scp_required_under: Vec<(String, Origin)>,
    /// OU path -> SCPs that OU must have attached (directly or inherited) after the plan.
    pub required_scps: Vec<RequiredScps>,
    /// Tags every account vend manages must carry.
    pub required_tags: Vec<String>,
    pub required_tags_origin: Origin,
    pub max_destructive_origin: Origin,
    /// Severity overrides of the built-in checks (code -> severity).
    pub severity: BTreeMap<String, Severity>,
    pub rules: Vec<CustomRule>,
    /// Lint codes reported as errors instead of warnings.
    pub lint_errors: BTreeSet<String>,
    /// Lint codes not reported at all.
    pub lint_disabled: BTreeSet<String>,
}

impl Default for Guardrails {
    fn default() -> Self {
        Guardrails {
            max_destructive: DEFAULT_MAX_DESTRUCTIVE,
            scp_required_under: vec![],
            required_scps: vec![],
            required_tags: vec![],
            required_tags_origin: Origin::default(),
            max_destructive_origin: Origin::default(),
            severity: BTreeMap::new(),
            rules: vec![],
            lint_errors: BTreeSet::new(),
            lint_disabled: BTreeSet::new(),
        }
    }
}

impl Guardrails {
    /// The severity of a built-in check (its default unless overridden).
    pub fn severity_of(&self, code: &str) -> Severity {
        self.severity
            .get(code)
            .copied()
            .or_else(|| BUILTIN.iter().find(|(c, _)| *c == code).map(|(_, s)| *s))
            .unwrap_or(Severity::Error)
    }

    /// The severity of a lint finding, or `None` when the rule is disabled.
    pub fn lint_severity(&self, code: &str) -> Option<Severity> {
        if self.lint_disabled.contains(code) {
            None
        } else if self.lint_errors.contains(code) {
            Some(Severity::Error)
        } else {
            Some(Severity::Warning)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequiredScps {
    pub under: String,
    pub policies: Vec<String>,
    pub origin: Origin,
}

/// A declarative account rule: accounts at or below `accounts_under` must carry `require_tags`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomRule {
    pub name: String,
    pub description: String,
    pub severity: Severity,
    /// OU path; empty: every account.
    pub accounts_under: String,
    pub require_tags: Vec<String>,
    pub origin: Origin,
}

/// Is `path` the OU `under` or below it? (`""` is the root: everything is below it.)
pub fn is_under(path: &str, under: &str) -> bool {
    under.is_empty() || path == under || path.starts_with(&format!("{under}/"))
}
