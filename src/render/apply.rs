//! Apply progress and the closing report as styled lines: one line per step as it starts and
//! ends (each line about a step names it, so overlapping steps read unambiguously), retries and
//! polls muted, and a summary that says what is left to do. The plain lines of a CLI apply when
//! no live progress is drawn (`render::progress` models the steps in flight).

use super::progress::stopped_text;
use super::text::{symbol, tone};
use super::{Line, Tone};
use crate::engine::{EngineEvent, Report, StepStatus};

/// A progress line for an engine event (None for events not worth a line). Every line about one
/// step names it — the lines after the start end with its address — so the lines of steps in
/// flight at the same time can be told apart.
pub fn apply_event(e: &EngineEvent) -> Option<Line> {
    Some(match e {
        EngineEvent::StepStarted { index, total, address, action } => Line::new()
            .push(format!("[{index}/{total}] "), Tone::Muted)
            .push(format!("{} ", symbol(*action)), tone(*action))
            .push(address.clone(), Tone::Heading)
            .push(format!("  {action}…"), Tone::Plain),
        EngineEvent::Called { address, op, request_id } => Line::new()
            .push(format!("        {op} (request {request_id})  "), Tone::Muted)
            .push(address.clone(), Tone::Muted),
        EngineEvent::Retrying { address, op, attempt, error } => Line::new()
            .push(format!("        {op}: {error}; retrying (attempt {})  ", attempt + 1), Tone::Warning)
            .push(address.clone(), Tone::Muted),
        EngineEvent::Polled { address, status } => Line::new()
            .push(format!("        status: {status}  "), Tone::Muted)
            .push(address.clone(), Tone::Muted),
        EngineEvent::StepSucceeded { address } => {
            Line::new().push("        done  ", Tone::Create).push(address.clone(), Tone::Heading)
        }
        EngineEvent::StepFailed { address, error } => Line::new()
            .push(format!("        failed: {}  ", error_without_address(address, Some(error))), Tone::Error)
            .push(address.clone(), Tone::Heading),
        EngineEvent::Stopped { remaining, in_flight } => {
            Line::new().push(stopped_text(*in_flight, *remaining), Tone::Warning)
        }
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
    let failed = report.failed().len();
    if report.stopped && failed == 0 {
        // Nothing went wrong: the apply was asked to stop, and did.
        out.push(Line::new().push("Apply stopped. ", Tone::Warning).push(
            format!(
                "{} of {total} change(s) applied, {} not started (plan {}).",
                report.succeeded(),
                report.skipped(),
                report.plan_id
            ),
            Tone::Plain,
        ));
    } else {
        out.push(Line::new().push("Apply failed. ", Tone::Error).push(
            format!(
                "{} of {total} change(s) applied, {failed} failed, {} skipped (plan {}).",
                report.succeeded(),
                report.skipped(),
                report.plan_id
            ),
            Tone::Plain,
        ));
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::StepReport;
    use crate::plan::Action;

    fn text(e: EngineEvent) -> String {
        apply_event(&e).map(|l| l.text()).unwrap_or_default()
    }

    #[test]
    fn every_line_about_a_step_ends_with_its_address() {
        let a = || "account:payments-prod".to_string();
        assert_eq!(
            text(EngineEvent::StepStarted { index: 2, total: 9, address: a(), action: Action::Create }),
            "[2/9] + account:payments-prod  create…"
        );
        assert_eq!(text(EngineEvent::StepSucceeded { address: a() }), "        done  account:payments-prod");
        assert_eq!(
            text(EngineEvent::StepFailed {
                address: a(),
                error: "account:payments-prod: CreateAccount gave up after 5 attempts: throttled".into()
            }),
            "        failed: CreateAccount gave up after 5 attempts: throttled  account:payments-prod"
        );
        assert_eq!(
            text(EngineEvent::Polled { address: a(), status: "IN_PROGRESS".into() }),
            "        status: IN_PROGRESS  account:payments-prod"
        );
        assert_eq!(
            text(EngineEvent::Called {
                address: a(),
                op: "CreateAccount".into(),
                request_id: "car-1".into()
            }),
            "        CreateAccount (request car-1)  account:payments-prod"
        );
        assert_eq!(
            text(EngineEvent::Retrying {
                address: a(),
                op: "CreateAccount".into(),
                attempt: 1,
                error: "slow".into()
            }),
            "        CreateAccount: slow; retrying (attempt 2)  account:payments-prod"
        );
    }

    fn step(address: &str, status: StepStatus, error: Option<&str>) -> StepReport {
        StepReport {
            address: address.into(),
            action: Action::Create,
            status,
            error: error.map(str::to_string),
        }
    }

    #[test]
    fn a_stopped_apply_says_stopped_unless_a_step_failed() {
        let mut report = Report {
            plan_id: "sha256:1".into(),
            steps: vec![
                step("ou:A", StepStatus::Succeeded, None),
                step("ou:B", StepStatus::Skipped, Some("not started: the apply was stopped")),
            ],
            stopped: true,
        };
        let text = |r: &Report| apply_report(r).iter().map(|l| l.text()).collect::<Vec<_>>().join("\n");
        assert!(
            text(&report).contains("Apply stopped. 1 of 2 change(s) applied, 1 not started (plan sha256:1)."),
            "{}",
            text(&report)
        );
        report.steps[0] = step("ou:A", StepStatus::Failed, Some("ou:A: boom"));
        assert!(
            text(&report).contains("Apply failed. 0 of 2 change(s) applied, 1 failed, 1 skipped"),
            "{}",
            text(&report)
        );
        report.stopped = false;
        assert!(text(&report).contains("Apply failed."), "{}", text(&report));
    }

    #[test]
    fn the_stop_line_counts_the_steps_in_flight() {
        assert_eq!(
            text(EngineEvent::Stopped { remaining: 5, in_flight: 3 }),
            "Stopping: no new step starts; waiting for the 3 step(s) in flight to finish; 5 step(s) not started."
        );
    }
}
