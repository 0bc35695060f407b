//! Guardrails run on every plan (configured in `catalog/guardrails.yaml`, see
//! `model::guardrails`): accounts left in the root (`account-in-root`), OUs under a
//! `scp_required_under` path left with only `FullAWSAccess` (`full-access-only`), OUs missing a
//! `required_scps` policy (inherited counts, `required-scp-missing`), requested accounts
//! missing a `required_tags` tag (`required-tag-missing`), destructive changes to a protected id
//! or the management account (`protected`), more destructive changes than `max_destructive`
//! (`too-many-destructive`), and the workspace's custom account rules (`custom-rule`). Each
//! failing check is a plan diagnostic with its configured severity; errors make the plan not
//! applyable. Pure: evaluated on the organization as the plan leaves it (`effective::Projection`).

use super::Change;
use super::effective::Projection;
use crate::model::guardrails::is_under;
use crate::model::*;

fn diag(severity: Severity, code: &str, message: String) -> Diagnostic {
    match severity {
        Severity::Error => Diagnostic::error(code, message),
        Severity::Warning => Diagnostic::warning(code, message),
    }
}

/// Check the guardrails against a plan's changes.
pub fn check(desired: &Desired, state: &State, changes: &[Change]) -> Vec<Diagnostic> {
    let keys = super::AccountKeys::new(desired, state);
    check_with(desired, state, changes, &Projection::new(state, changes, &keys))
}

/// `check` with the projection already built (the planner shares it with the preview).
pub(crate) fn check_with(
    desired: &Desired,
    state: &State,
    changes: &[Change],
    p: &Projection,
) -> Vec<Diagnostic> {
    let g = &desired.guardrails;
    let mut out = vec![];
    let mgmt = state.organization.management_account_id.as_str();
    let protected = |id: &str| id == mgmt || desired.settings.protected.iter().any(|p| p == id);
    let at = |name: &str| desired.accounts.get(name).map(|a| a.origin.clone());
    let with_origin = |d: Diagnostic, o: Option<Origin>| match o {
        Some(o) => d.at(&o),
        None => d,
    };

    // Accounts in the root (existing ones that stay there, and new ones).
    let in_root = p
        .accounts
        .iter()
        .filter(|(_, (id, _, to))| to.is_empty() && !protected(id))
        .map(|(n, _)| n.clone())
        .chain(p.created.iter().filter(|(_, parent)| parent.is_empty()).map(|(n, _)| n.clone()));
    for name in in_root {
        let d = diag(
            g.severity_of("account-in-root"),
            "account-in-root",
            format!(
                "account '{name}' sits in the organization root, outside any OU: only the root's SCPs apply to it"
            ),
        );
        out.push(with_origin(d, at(&name)));
    }

    // OUs that need more than FullAWSAccess.
    for ou in &p.ous_after {
        let Some((_, origin)) = g.scp_required_under.iter().find(|(u, _)| is_under(ou, u)) else { continue };
        let own = p.after_of(&super::Address::ou(ou)).cloned().unwrap_or_default();
        if own.iter().all(|s| s == "FullAWSAccess") {
            let d = diag(
                g.severity_of("full-access-only"),
                "full-access-only",
                format!(
                    "OU '{ou}' would have only FullAWSAccess attached; guardrails.yaml requires an SCP of its own on every OU under it"
                ),
            );
            out.push(d.at(desired.ous.get(ou).map(|o| &o.origin).unwrap_or(origin)));
        }
    }

    // Required SCPs (directly attached or inherited).
    for r in &g.required_scps {
        for ou in p.ous_after.iter().filter(|o| is_under(o, &r.under)) {
            let effective = p.effective_ou_after(ou);
            let missing: Vec<&str> =
                r.policies.iter().filter(|x| !effective.contains(*x)).map(String::as_str).collect();
            if !missing.is_empty() {
                let d = diag(
                    g.severity_of("required-scp-missing"),
                    "required-scp-missing",
                    format!(
                        "OU '{ou}' would lack required SCP(s) {} (required under '{}')",
                        missing.join(", "),
                        r.under
                    ),
                );
                out.push(d.at(desired.ous.get(ou).map(|o| &o.origin).unwrap_or(&r.origin)));
            }
        }
    }

    // Tags on requested accounts (vend's own tags come from the request and its blueprint).
    let by_email: std::collections::BTreeMap<String, &Account> =
        state.accounts.iter().map(|s| (s.email.to_ascii_lowercase(), s)).collect();
    let checks_accounts = !g.required_tags.is_empty() || !g.rules.is_empty();
    for a in desired.accounts.values().filter(|a| checks_accounts && a.lifecycle != Lifecycle::Close) {
        let current = by_email.get(&a.email.to_ascii_lowercase()).copied();
        let has = |t: &str| a.tags.contains_key(t) || current.is_some_and(|c| c.tags.contains_key(t));
        let missing: Vec<&str> = g.required_tags.iter().filter(|t| !has(t)).map(String::as_str).collect();
        if !missing.is_empty() {
            out.push(
                diag(
                    g.severity_of("required-tag-missing"),
                    "required-tag-missing",
                    format!(
                        "account '{}' lacks tag(s) {} required by guardrails.yaml",
                        a.name,
                        missing.join(", ")
                    ),
                )
                .at(&a.origin),
            );
        }
        for rule in &g.rules {
            let ou = p.accounts.get(&a.name).map(|(_, _, to)| to.as_str()).unwrap_or(a.ou.as_str());
            if !is_under(ou, &rule.accounts_under) {
                continue;
            }
            let missing: Vec<&str> =
                rule.require_tags.iter().filter(|t| !has(t)).map(String::as_str).collect();
            if !missing.is_empty() {
                let why = if rule.description.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", rule.description)
                };
                out.push(
                    diag(
                        rule.severity,
                        "custom-rule",
                        format!(
                            "rule '{}'{why}: account '{}' under '{ou}' lacks tag(s) {}",
                            rule.name,
                            a.name,
                            missing.join(", ")
                        ),
                    )
                    .at(&a.origin),
                );
            }
        }
    }

    // Destructive changes: never to a protected id; not too many at once.
    let destructive: Vec<&Change> = changes.iter().filter(|c| c.action.is_destructive()).collect();
    for c in &destructive {
        let id = c.before.as_ref().and_then(super::Payload::id).unwrap_or("");
        if !id.is_empty() && protected(id) {
            out.push(Diagnostic::error(
                "protected",
                format!("{} would {} protected id {id}; vend never does", c.address, c.action),
            ));
        }
    }
    if destructive.len() > g.max_destructive {
        let list: Vec<&str> = destructive.iter().map(|c| c.address.as_str()).collect();
        let d = diag(
            g.severity_of("too-many-destructive"),
            "too-many-destructive",
            format!(
                "the plan has {} destructive changes (delete, close, replace); guardrails allow at most {} at once: {}",
                destructive.len(),
                g.max_destructive,
                list.join(", ")
            ),
        );
        let origin =
            (g.max_destructive_origin != Origin::default()).then(|| g.max_destructive_origin.clone());
        out.push(with_origin(d, origin));
    }
    out
}
