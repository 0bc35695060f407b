//! Apply progress and the closing report as styled lines: one line per step as it starts and
//! ends, retries and polls muted, and a summary that says what is left to do.

use super::text::{symbol, tone};
use super::{Line, Tone};
use crate::engine::{EngineEvent, Report, StepStatus};

/// A progress line for an engine event (None for events not worth a line).
pub fn apply_event(e: &EngineEvent) -> Option<Line> {
    Some(match e {
        EngineEvent::StepStarted { index, total, address, action } => Line::new()
            .push(format!("[{index}/{total}] "), Tone::Muted)
            .push(format!("{} ", symbol(*action)), tone(*action))
            .push(address.clone(), Tone::Heading)
            .push(format!("  {action}…"), Tone::Plain),
        EngineEvent::Called { op, request_id, .. } => {
            Line::new().push(format!("        {op} (request {request_id})"), Tone::Muted)
        }
        EngineEvent::Retrying { op, attempt, error, .. } => Line::new()
            .push(format!("        {op}: {error}; retrying (attempt {})", attempt + 1), Tone::Warning),
        EngineEvent::Polled { status, .. } => {
            Line::new().push(format!("        status: {status}"), Tone::Muted)
        }
        EngineEvent::StepSucceeded { .. } => Line::new().push("        done", Tone::Create),
        EngineEvent::StepFailed { error, .. } => {
            Line::new().push(format!("        failed: {error}"), Tone::Error)
        }
        EngineEvent::Stopped { remaining } => Line::new().push(
            format!("Stopping: the running step finished; {remaining} step(s) not started."),
            Tone::Warning,
        ),
        EngineEvent::StepSkipped { address, because } => Line::new()
            .push("        skipped ", Tone::Warning)
            .push(address.clone(), Tone::Heading)
            .push(format!(": {because}"), Tone::Plain),
    })
}

/// The closing lines of an apply.
pub fn apply_report(report: &Report) -> Vec<Line> {
    let total = report.steps.len();
    let mut out = vec![Line::new()];
    if report.is_complete() {
        out.push(
            Line::new()
                .push("Apply complete! ", Tone::Create)
                .push(format!("{total} change(s) applied (plan {}).", report.plan_id), Tone::Plain),
        );
        return out;
    }
    out.push(Line::new().push("Apply failed. ", Tone::Error).push(
        format!(
            "{} of {total} change(s) applied, {} failed, {} skipped (plan {}).",
            report.succeeded(),
            report.failed().len(),
            report.skipped(),
            report.plan_id
        ),
        Tone::Plain,
    ));
    for s in report.steps.iter().filter(|s| s.status == StepStatus::Failed) {
        out.push(
            Line::new()
                .push("  failed: ", Tone::Error)
                .push(s.address.clone(), Tone::Heading)
                .push(format!(": {}", error_without_address(&s.address, s.error.as_deref())), Tone::Plain),
        );
    }
    out.push(Line::plain(
        "What was applied is recorded in the state and the audit log; run `vend plan` to see exactly what is left.",
    ));
    out
}

/// A step's error without the address it starts with (the line names the address already).
fn error_without_address<'a>(address: &str, error: Option<&'a str>) -> &'a str {
    let error = error.unwrap_or_default();
    error.strip_prefix(address).and_then(|rest| rest.strip_prefix(": ")).unwrap_or(error)
}
