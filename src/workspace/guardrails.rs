//! `catalog/guardrails.yaml` -> `model::guardrails::Guardrails`: the plan guardrails' limits,
//! required SCPs and tags, severity overrides, custom account rules and the template lint's
//! error/disable lists. Optional file; unknown keys and unknown codes are diagnostics like in
//! every other file. Checks only the file itself (and that named SCPs exist); the checks
//! against a plan live in `plan::guardrails`.

use super::raw::{RawGuardrails, RawSeverity};
use super::{Cx, origin, rules, yaml};
use crate::model::guardrails::{BUILTIN, CustomRule, Guardrails, LINT_RULES, RequiredScps};
use crate::model::{Origin, Severity};

pub const GUARDRAILS: &str = "catalog/guardrails.yaml";

fn severity(s: RawSeverity) -> Severity {
    match s {
        RawSeverity::Error => Severity::Error,
        RawSeverity::Warning => Severity::Warning,
    }
}

impl Cx<'_> {
    /// Read the guardrails (after the SCP documents, so `required_scps` can be checked).
    pub(super) fn guardrails(&mut self) {
        let Some(bytes) = self.files.get(GUARDRAILS) else { return };
        let Some(raw) = yaml::parse::<RawGuardrails>(GUARDRAILS, bytes, &mut self.diags) else { return };
        let mut g = Guardrails::default();
        if let Some(m) = &raw.max_destructive {
            g.max_destructive = m.value as usize;
            g.max_destructive_origin = origin(GUARDRAILS, m);
        }
        for p in &raw.scp_required_under {
            g.scp_required_under.push((p.value.trim_matches('/').to_string(), origin(GUARDRAILS, p)));
        }
        for r in &raw.required_scps {
            let mut policies = vec![];
            for p in &r.value.policies {
                if self.desired.policies.contains_key(&p.value) {
                    policies.push(p.value.clone());
                } else {
                    self.err(
                        "unknown-policy",
                        &origin(GUARDRAILS, p),
                        format!("SCP '{}' has no document catalog/policies/{}.json", p.value, p.value),
                    );
                }
            }
            g.required_scps.push(RequiredScps {
                under: r.value.under.value.trim_matches('/').to_string(),
                policies,
                origin: origin(GUARDRAILS, &r.value.under),
            });
        }
        for t in &raw.required_tags {
            if let Err(e) = rules::tag(&t.value, "x") {
                self.err("bad-tag", &origin(GUARDRAILS, t), e);
                continue;
            }
            if g.required_tags.is_empty() {
                g.required_tags_origin = origin(GUARDRAILS, t);
            }
            g.required_tags.push(t.value.clone());
        }
        for (code, s) in &raw.severity {
            if BUILTIN.iter().any(|(c, _)| c == code) {
                g.severity.insert(code.clone(), severity(s.value));
            } else {
                let known: Vec<&str> = BUILTIN.iter().map(|(c, _)| *c).collect();
                self.err(
                    "bad-guardrail",
                    &origin(GUARDRAILS, s),
                    format!("'{code}' is not a built-in guardrail (known: {})", known.join(", ")),
                );
            }
        }
        for r in &raw.rules {
            let at = origin(GUARDRAILS, &r.value.name);
            let name = r.value.name.value.clone();
            if let Err(e) = rules::key_name(&name) {
                self.err("bad-name", &at, format!("rule name '{name}' {e}"));
                continue;
            }
            if g.rules.iter().any(|x| x.name == name) {
                self.err("bad-guardrail", &at, format!("rule '{name}' is declared twice"));
                continue;
            }
            if r.value.require_tags.is_empty() {
                self.err("bad-guardrail", &at, format!("rule '{name}' requires nothing (add require_tags)"));
                continue;
            }
            g.rules.push(CustomRule {
                name,
                description: r.value.description.clone().unwrap_or_default(),
                severity: r.value.severity.map(severity).unwrap_or(Severity::Error),
                accounts_under: r
                    .value
                    .accounts_under
                    .as_ref()
                    .map(|p| p.value.trim_matches('/').to_string())
                    .unwrap_or_default(),
                require_tags: r.value.require_tags.iter().map(|t| t.value.clone()).collect(),
                origin: at,
            });
        }
        if let Some(lint) = &raw.template_lint {
            for (list, target) in [(&lint.errors, &mut g.lint_errors), (&lint.disable, &mut g.lint_disabled)]
            {
                for code in list {
                    if LINT_RULES.contains(&code.value.as_str()) {
                        target.insert(code.value.clone());
                    } else {
                        self.diags.error(
                            "bad-guardrail",
                            &origin(GUARDRAILS, code),
                            format!(
                                "'{}' is not a template lint rule (known: {})",
                                code.value,
                                LINT_RULES.join(", ")
                            ),
                        );
                    }
                }
            }
        }
        self.desired.guardrails = g;
    }

    /// Report a template lint finding with the configured severity.
    pub(super) fn lint_finding(&mut self, code: &str, at: &Origin, message: String) {
        match self.desired.guardrails.lint_severity(code) {
            Some(Severity::Error) => self.err(code, at, message),
            Some(Severity::Warning) => self.warn(code, at, message),
            None => {}
        }
    }
}
