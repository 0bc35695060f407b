//! Progress for people: `Progress`, a model of an apply as it runs — the steps in flight (address,
//! action, when each started, its last status from a poll or a retry) and the counts of steps
//! done, failed and skipped out of the total — fed by the engine's events, each stamped by the
//! caller with the time it happened (milliseconds on any clock that only moves forward). It
//! renders the in-flight lines with their elapsed time, the counts line, and the Ctrl-C note.
//! Shared by the CLI (the live bars of `adapter::bars`, the interrupt note) and the TUI's apply
//! screen. Pure: it reads no clock (the time comes with each event and each draw) and prints
//! nothing.

use super::text::{symbol, tone};
use super::{Line, Tone};
use crate::engine::EngineEvent;
use crate::plan::Action;

/// A step that started and has not finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFlight {
    pub address: String,
    pub action: Action,
    /// When it started (the stamp of its `StepStarted`).
    pub started_ms: u64,
    /// Its last status: what the last poll answered, or the retry under way.
    pub status: Option<String>,
}

impl InFlight {
    /// Milliseconds since it started, at `now_ms` (0 for a clock read before the start).
    pub fn elapsed_ms(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.started_ms)
    }

    /// What the step is, without time: `+ account:x  create  IN_PROGRESS`.
    pub fn label(&self) -> Line {
        let mut l = Line::new()
            .push(format!("{} ", symbol(self.action)), tone(self.action))
            .push(self.address.clone(), Tone::Heading)
            .push(format!("  {}", self.action), Tone::Plain);
        if let Some(status) = &self.status {
            l = l.push(format!("  {status}"), Tone::Muted);
        }
        l
    }

    /// The step's in-flight line at `now_ms`: its elapsed time, then its label.
    pub fn line(&self, now_ms: u64) -> Line {
        let mut l = Line::new().push(format!("{:>7}  ", elapsed(self.elapsed_ms(now_ms))), Tone::Muted);
        l.0.extend(self.label().0);
        l
    }
}

/// An apply as it runs, from its events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Steps the apply will walk (0 until known: the first `StepStarted` says it too).
    pub total: usize,
    pub done: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Asked to stop: no step starts any more (the engine said `Stopped`).
    pub stopping: bool,
    /// In the order they started.
    in_flight: Vec<InFlight>,
}

impl Progress {
    /// An apply of `total` steps, none started.
    pub fn new(total: usize) -> Progress {
        Progress { total, ..Progress::default() }
    }

    /// Take the event `e`, which happened at `at_ms`.
    pub fn apply(&mut self, e: &EngineEvent, at_ms: u64) {
        match e {
            EngineEvent::StepStarted { total, address, action, .. } => {
                if self.total == 0 {
                    self.total = *total;
                }
                self.in_flight.retain(|f| &f.address != address);
                self.in_flight.push(InFlight {
                    address: address.clone(),
                    action: *action,
                    started_ms: at_ms,
                    status: None,
                });
            }
            EngineEvent::Called { .. } => {}
            EngineEvent::Retrying { address, op, attempt, .. } => {
                self.set_status(address, format!("{op}: retrying (attempt {})", attempt + 1));
            }
            EngineEvent::Polled { address, status } => self.set_status(address, status.clone()),
            EngineEvent::StepSucceeded { address } => {
                self.end(address);
                self.done += 1;
            }
            EngineEvent::StepFailed { address, .. } => {
                self.end(address);
                self.failed += 1;
            }
            EngineEvent::StepSkipped { address, .. } => {
                self.end(address);
                self.skipped += 1;
            }
            EngineEvent::Stopped { .. } => self.stopping = true,
        }
    }

    fn set_status(&mut self, address: &str, status: String) {
        if let Some(f) = self.in_flight.iter_mut().find(|f| f.address == address) {
            f.status = Some(status);
        }
    }

    fn end(&mut self, address: &str) {
        self.in_flight.retain(|f| f.address != address);
    }

    /// The steps in flight, in the order they started.
    pub fn in_flight(&self) -> &[InFlight] {
        &self.in_flight
    }

    /// Steps that ended, whatever the outcome.
    pub fn finished(&self) -> usize {
        self.done + self.failed + self.skipped
    }

    /// One line per step in flight at `now_ms`, oldest first; past `max` lines, the last says how
    /// many more there are.
    pub fn lines(&self, now_ms: u64, max: usize) -> Vec<Line> {
        let n = self.in_flight.len();
        if n <= max {
            return self.in_flight.iter().map(|f| f.line(now_ms)).collect();
        }
        let shown = max.saturating_sub(1);
        let mut out: Vec<Line> = self.in_flight.iter().take(shown).map(|f| f.line(now_ms)).collect();
        out.push(Line::new().push(format!("    … and {} more in flight", n - shown), Tone::Muted));
        out
    }

    /// The counts: `3/12 done, 1 failed, 2 skipped, 4 in flight` (zero counts left out, except
    /// done).
    pub fn counts(&self) -> String {
        let mut parts = vec![format!("{}/{} done", self.done, self.total)];
        if self.failed > 0 {
            parts.push(format!("{} failed", self.failed));
        }
        if self.skipped > 0 {
            parts.push(format!("{} skipped", self.skipped));
        }
        if !self.in_flight.is_empty() {
            parts.push(format!("{} in flight", self.in_flight.len()));
        }
        parts.join(", ")
    }
}

/// A duration for people: `850ms`, `12s`, `3m05s`, `1h02m`.
pub fn elapsed(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0 => format!("{ms}ms"),
        1..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// The note on the first Ctrl-C of an apply, with `in_flight` steps still running.
pub fn interrupt_note(in_flight: usize) -> String {
    if in_flight == 0 {
        "Ctrl-C: stopping — no new step starts; press Ctrl-C again to exit now".into()
    } else {
        format!(
            "Ctrl-C: stopping — waiting for {in_flight} step(s) in flight; press Ctrl-C again to exit now"
        )
    }
}

/// The line of the engine's `Stopped` event: nothing starts any more, `in_flight` steps are
/// finishing, `remaining` will not start.
pub fn stopped_text(in_flight: usize, remaining: usize) -> String {
    if in_flight == 0 {
        format!("Stopping: no step was in flight; {remaining} step(s) not started.")
    } else {
        format!(
            "Stopping: no new step starts; waiting for the {in_flight} step(s) in flight to finish; {remaining} step(s) not started."
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn started(address: &str, action: Action) -> EngineEvent {
        EngineEvent::StepStarted { index: 1, total: 5, address: address.into(), action }
    }

    #[test]
    fn steps_enter_and_leave_the_in_flight_list_and_are_counted() {
        let mut p = Progress::new(5);
        p.apply(&started("account:a", Action::Create), 1_000);
        p.apply(&started("ou:Workloads", Action::Create), 1_500);
        p.apply(&started("policy:x", Action::Update), 2_000);
        assert_eq!(
            p.in_flight().iter().map(|f| f.address.as_str()).collect::<Vec<_>>(),
            ["account:a", "ou:Workloads", "policy:x"]
        );
        p.apply(&EngineEvent::StepSucceeded { address: "ou:Workloads".into() }, 2_100);
        p.apply(&EngineEvent::StepFailed { address: "policy:x".into(), error: "boom".into() }, 2_200);
        p.apply(&EngineEvent::StepSkipped { address: "account:b".into(), because: "dep".into() }, 2_300);
        assert_eq!((p.done, p.failed, p.skipped, p.finished()), (1, 1, 1, 3));
        assert_eq!(p.in_flight().len(), 1);
        assert_eq!(p.counts(), "1/5 done, 1 failed, 1 skipped, 1 in flight");
        p.apply(&EngineEvent::StepSucceeded { address: "account:a".into() }, 9_000);
        assert!(p.in_flight().is_empty());
        assert_eq!(p.counts(), "2/5 done, 1 failed, 1 skipped");
    }

    #[test]
    fn the_last_poll_or_retry_is_the_status_and_the_elapsed_time_counts_from_the_start() {
        let mut p = Progress::new(0);
        p.apply(&started("account:a", Action::Create), 10_000);
        assert_eq!(p.total, 5, "the first start says the total when it was not known");
        p.apply(
            &EngineEvent::Called {
                address: "account:a".into(),
                op: "CreateAccount".into(),
                request_id: "r".into(),
            },
            10_010,
        );
        assert_eq!(p.in_flight()[0].status, None);
        p.apply(&EngineEvent::Polled { address: "account:a".into(), status: "IN_PROGRESS".into() }, 12_000);
        assert_eq!(p.lines(75_000, 10)[0].text(), "  1m05s  + account:a  create  IN_PROGRESS");
        p.apply(
            &EngineEvent::Retrying {
                address: "account:a".into(),
                op: "DescribeCreateAccountStatus".into(),
                attempt: 1,
                error: "throttled".into(),
            },
            13_000,
        );
        assert_eq!(
            p.in_flight()[0].line(13_500).text(),
            "     3s  + account:a  create  DescribeCreateAccountStatus: retrying (attempt 2)"
        );
        // An event for a step not in flight changes nothing.
        p.apply(&EngineEvent::Polled { address: "account:zz".into(), status: "x".into() }, 14_000);
        assert_eq!(p.in_flight().len(), 1);
        // A clock read before the start shows no time rather than wrapping.
        assert_eq!(p.in_flight()[0].elapsed_ms(9_000), 0);
    }

    #[test]
    fn past_the_room_given_the_last_line_counts_the_rest() {
        let mut p = Progress::new(10);
        for i in 0..6 {
            p.apply(&started(&format!("account:a{i}"), Action::Create), i * 1000);
        }
        let lines: Vec<String> = p.lines(10_000, 4).iter().map(Line::text).collect();
        assert_eq!(
            lines,
            [
                "    10s  + account:a0  create",
                "     9s  + account:a1  create",
                "     8s  + account:a2  create",
                "    … and 3 more in flight"
            ]
        );
        assert_eq!(p.lines(10_000, 6).len(), 6);
    }

    #[test]
    fn stopping_is_remembered_and_the_texts_count_the_steps_in_flight() {
        let mut p = Progress::new(3);
        p.apply(&EngineEvent::Stopped { remaining: 2, in_flight: 1 }, 5);
        assert!(p.stopping);
        assert_eq!(
            interrupt_note(3),
            "Ctrl-C: stopping — waiting for 3 step(s) in flight; press Ctrl-C again to exit now"
        );
        assert!(interrupt_note(0).contains("no new step starts"));
        assert_eq!(
            stopped_text(4, 7),
            "Stopping: no new step starts; waiting for the 4 step(s) in flight to finish; 7 step(s) not started."
        );
        assert_eq!(stopped_text(0, 7), "Stopping: no step was in flight; 7 step(s) not started.");
    }

    #[test]
    fn durations_read_like_a_person_would_say_them() {
        assert_eq!(elapsed(850), "850ms");
        assert_eq!(elapsed(12_400), "12s");
        assert_eq!(elapsed(185_000), "3m05s");
        assert_eq!(elapsed(3_720_000), "1h02m");
    }
}
