//! The platform-governance flows the CLI runs around plans: recording a saved plan's author,
//! `vend approve FILE` (a reviewer's signed approval in the plan file and an `approve` record in
//! the audit log), the checks before an apply (required approvals, rolling 30-day close quota)
//! and `vend metrics` (reading the log for `metrics::compute`). Impure like `app` (files, keys,
//! clock, AWS identity) but prints nothing: messages come back as strings.

use crate::adapter::{audit, fs, keys};
use crate::app;
use crate::config::{Config, Env};
use crate::model::operators;
use crate::plan::approval::{self, Approval, Author};
use crate::plan::{Action, Plan};
use crate::port::{Approve, AuditEvent, Event};
use crate::{metrics, workspace};
use std::path::Path;

fn operator(env: &Env) -> anyhow::Result<(keys::Operator, Vec<String>)> {
    let config_dir = env.config_dir.clone().map_err(|e| anyhow::anyhow!(e))?;
    let (op, location) = keys::load_or_create(env.key_store, &config_dir, &env.user)?;
    let mut notes = vec![];
    if location.is_file() || location.created() {
        notes.push(format!("vend: approvals and audit records are signed with the {location}"));
    }
    Ok((op, notes))
}

/// Sign `plan` as its author (the operator saving it). Returns notes for stderr.
pub fn sign_author(plan: &mut Plan, env: &Env) -> anyhow::Result<Vec<String>> {
    let (op, notes) = operator(env)?;
    plan.author = Some(Author {
        operator: op.public_key_hex.clone(),
        user: op.user.clone(),
        sig: op.sign_hex(approval::author_message(plan).as_bytes()),
    });
    Ok(notes)
}

/// What `vend approve` did.
#[derive(Debug)]
pub struct Approved {
    pub message: String,
    pub notes: Vec<String>,
}

/// Add the operator's signed approval to the saved plan at `file` and log it. Refuses a
/// modified plan and an approval by the plan's author.
pub fn approve(config: &Config, file: &Path) -> anyhow::Result<Approved> {
    // Refuses a plan file edited after it was saved (id, digest, summary, applyable, format).
    let mut plan = fs::read_plan(file)?;
    let (op, mut notes) = operator(&config.env)?;
    if plan.author.as_ref().is_some_and(|a| a.operator == op.public_key_hex) {
        anyhow::bail!(
            "you ({}, key {}…) saved this plan: an approval by its author does not count; another operator must approve it",
            op.user,
            op.public_key_hex.get(..12).unwrap_or_default()
        );
    }
    let pins = app::pinned_operators(config)?;
    if pins.is_empty() {
        anyhow::bail!(
            "no operators are pinned in catalog/vend.yaml: approvals count only from pinned operators (and a \
             second key in the audit log would not verify), so nothing was written. Pin every operator \
             under `operators:` — each runs `vend operator key` to print their line; yours is:\n{}",
            operators::pin_line(&op.user, &op.public_key_hex)
        );
    }
    let author_name =
        plan.author.as_ref().and_then(|a| pins.status(&a.operator)).map(|s| s.name().to_string());
    if let (Some(author), Some(me)) = (&author_name, pins.current_name(&op.public_key_hex))
        && author == me
    {
        anyhow::bail!(
            "operator `{me}` saved this plan (with another of their keys): an approval by its author's identity \
             does not count; another operator must approve it"
        );
    }
    let (existing, _) = approval::approvals(&plan);
    if existing.iter().any(|a| {
        a.operator == op.public_key_hex
            && a.plan_id == plan.plan_id
            && approval::signature_ok(&a.operator, &approval::approval_message(&a.plan_id, &plan), &a.sig)
    }) {
        return Ok(Approved { message: format!("You have already approved plan {}.", plan.plan_id), notes });
    }
    let identity = if config.uses_aws() {
        let id = app::aws_cloud(config)?
            .caller_identity()
            .map_err(|e| anyhow::anyhow!("who am I in AWS (STS): {e}"))?;
        Some(serde_json::json!({ "account": id.account, "arn": id.arn, "user_id": id.user_id }))
    } else {
        None
    };
    let at = app::now();
    let a = Approval {
        operator: op.public_key_hex.clone(),
        user: op.user.clone(),
        aws: identity.clone(),
        at: at.clone(),
        plan_id: plan.plan_id.clone(),
        sig: op.sign_hex(approval::approval_message(&plan.plan_id, &plan).as_bytes()),
    };
    // The log first: an approval that is in a plan file is always in the log.
    let event = Event::Approve(Approve {
        operator: Some(a.operator.clone()),
        user: Some(a.user.clone()),
        at: Some(at.clone()),
        file: Some(file.display().to_string()),
    });
    notes.extend(app::log_event_pinned(
        config,
        identity,
        &pins,
        AuditEvent { plan_id: plan.plan_id.clone(), address: String::new(), event },
    )?);
    let mut list = plan.approvals.as_ref().and_then(|v| v.as_array()).cloned().unwrap_or_default();
    list.push(serde_json::to_value(&a)?);
    plan.approvals = Some(serde_json::Value::Array(list));
    fs::write_plan(file, &plan)?;
    let counted = approval::check(&plan, &pins).counted.len();
    Ok(Approved {
        message: format!(
            "Approved plan {} as {} (key {}…); it now has {counted} valid approval(s).",
            plan.plan_id,
            op.user,
            op.public_key_hex.get(..12).unwrap_or_default()
        ),
        notes,
    })
}

/// The checks an apply must pass before anything is sent: enough approvals (a saved plan is
/// needed when the workspace requires approvals) and the rolling 30-day close quota.
/// `Ok(Err(why))` refuses the apply.
pub fn before_apply(
    config: &Config,
    loaded: &workspace::Loaded,
    plan: &Plan,
    saved: bool,
) -> anyhow::Result<Result<(), String>> {
    let settings = &loaded.desired.settings;
    if settings.required_approvals > 0 {
        if !saved {
            return Ok(Err(format!(
                "the workspace requires {} approval(s): save the plan (`vend plan --out FILE`), have it approved (`vend approve FILE`), then `vend apply FILE`",
                settings.required_approvals
            )));
        }
        if let Err(why) = approval::enough(plan, settings.required_approvals, &settings.operators) {
            return Ok(Err(why));
        }
    }
    // Closes the reviewer excluded (and closes depending on an excluded change) are not sent.
    let excluded = crate::engine::excluded_closure(plan);
    let closes =
        plan.changes.iter().filter(|c| c.action == Action::Close && !excluded.contains(&c.address)).count();
    if closes > 0 {
        let records = read_records(config)?;
        if let Err(why) = metrics::check_close_quota(&records, &app::now(), closes, settings.close_quota_30d)
        {
            return Ok(Err(why));
        }
    }
    Ok(Ok(()))
}

/// The records of the audit log the configuration names (the shared one with `--backend`).
fn read_records(config: &Config) -> anyhow::Result<Vec<metrics::Record>> {
    Ok(metric_records(&app::read_audit(config)?.0))
}

/// The part of each audit record `metrics` reads (the TUI's metrics screen computes them from
/// the records its audit screen already read).
pub fn metric_records(records: &[audit::Record]) -> Vec<metrics::Record> {
    records
        .iter()
        .map(|r| metrics::Record {
            ts: r.ts.clone(),
            plan_id: r.plan_id.clone(),
            address: r.address.clone(),
            event: r.typed(),
        })
        .collect()
}

/// `vend metrics`: the delivery metrics of the workspace's audit log.
pub fn metrics(config: &Config) -> anyhow::Result<metrics::Metrics> {
    Ok(metrics::compute(&read_records(config)?))
}
