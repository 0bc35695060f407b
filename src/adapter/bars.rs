//! Live apply progress on a terminal (indicatif), drawn on standard error: one overall bar
//! (steps finished of the total, elapsed time, the counts) and one spinner line per step in
//! flight with its elapsed time, removed when the step ends. It draws what a
//! `render::progress::Progress` holds (`show`) and owns no apply state of its own; lines printed
//! while it draws go above the bars (`suspend`, `Notes::println`). Used only when
//! `Env::live_progress` says so; otherwise the CLI prints the plain lines.

use crate::render::progress::{self, Progress};
use crate::render::to_ansi;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{Duration, Instant};

/// Spinner lines at most; further steps in flight are counted on the overall bar's line.
pub const MAX_SPINNERS: usize = 12;

const TICK: Duration = Duration::from_millis(120);

/// The bars of one apply.
pub struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    /// Address -> its spinner, for the steps in flight that have one.
    spinners: Vec<(String, ProgressBar)>,
    started: Instant,
}

/// Where a note printed from another thread goes (the Ctrl-C note): above the bars, or, without
/// them, standard error.
#[derive(Clone)]
pub enum Notes {
    Bars(MultiProgress),
    Stderr,
}

impl Notes {
    pub fn println(&self, text: &str) {
        match self {
            Notes::Bars(multi) => {
                let _ = multi.println(text);
            }
            Notes::Stderr => {
                let _ = writeln!(std::io::stderr().lock(), "{text}");
            }
        }
    }
}

/// `{vend_elapsed}`: the bar's elapsed time as `render::progress::elapsed` writes it.
fn elapsed_key(state: &ProgressState, w: &mut dyn std::fmt::Write) {
    let ms = u64::try_from(state.elapsed().as_millis()).unwrap_or(u64::MAX);
    let _ = w.write_str(&progress::elapsed(ms));
}

fn style(template: &str, fallback: ProgressStyle) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .map(|s| s.with_key("vend_elapsed", elapsed_key))
        .unwrap_or(fallback)
}

impl Bars {
    /// Start drawing an apply of `total` steps on standard error.
    pub fn new(total: usize) -> Bars {
        Bars::with_target(total, ProgressDrawTarget::stderr())
    }

    /// The same on another draw target (hidden in tests).
    pub fn with_target(total: usize, target: ProgressDrawTarget) -> Bars {
        let multi = MultiProgress::with_draw_target(target);
        let overall = multi.add(
            ProgressBar::new(total as u64).with_style(
                style(
                    "{bar:30.green/dim} {pos}/{len} steps  {vend_elapsed:>6}  {msg}",
                    ProgressStyle::default_bar(),
                )
                .progress_chars("=> "),
            ),
        );
        overall.enable_steady_tick(TICK * 4);
        Bars { multi, overall, spinners: vec![], started: Instant::now() }
    }

    /// Milliseconds since the bars started: the clock the caller stamps events with.
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// A handle that prints above the bars from another thread.
    pub fn notes(&self) -> Notes {
        Notes::Bars(self.multi.clone())
    }

    /// Run `f` (which prints) with the bars cleared, then draw them again below its output.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.multi.suspend(f)
    }

    /// Draw `p`: the overall bar's position and counts, a spinner for each step in flight (the
    /// oldest [`MAX_SPINNERS`]), none for a step that ended.
    pub fn show(&mut self, p: &Progress) {
        self.overall.set_length(p.total as u64);
        self.overall.set_position(p.finished() as u64);
        self.overall.set_message(overall_message(p));
        let shown: Vec<&progress::InFlight> = p.in_flight().iter().take(MAX_SPINNERS).collect();
        let multi = &self.multi;
        self.spinners.retain(|(address, bar)| {
            let keep = shown.iter().any(|f| &f.address == address);
            if !keep {
                bar.finish_and_clear();
                multi.remove(bar);
            }
            keep
        });
        let now = self.now_ms();
        for f in shown {
            let message = label(f);
            match self.spinners.iter().find(|(a, _)| a == &f.address) {
                Some((_, bar)) => bar.set_message(message),
                None => {
                    let bar = self.multi.add(
                        ProgressBar::new_spinner()
                            .with_style(style(
                                "  {spinner:.cyan} {vend_elapsed:>6}  {msg}",
                                ProgressStyle::default_spinner(),
                            ))
                            .with_elapsed(Duration::from_millis(f.elapsed_ms(now)))
                            .with_message(message),
                    );
                    bar.enable_steady_tick(TICK);
                    self.spinners.push((f.address.clone(), bar));
                }
            }
        }
    }

    /// Remove the bars from the terminal (the report follows as plain lines).
    pub fn finish(self) {
        for (_, bar) in &self.spinners {
            bar.finish_and_clear();
        }
        self.overall.finish_and_clear();
        let _ = self.multi.clear();
    }

    /// Spinners on screen (for tests).
    pub fn spinners(&self) -> Vec<&str> {
        self.spinners.iter().map(|(a, _)| a.as_str()).collect()
    }
}

/// The overall bar's message: what is not a plain count of finished steps.
fn overall_message(p: &Progress) -> String {
    let mut m = String::new();
    if p.failed > 0 {
        let _ = write!(m, "{} failed  ", p.failed);
    }
    if p.skipped > 0 {
        let _ = write!(m, "{} skipped  ", p.skipped);
    }
    let _ = write!(m, "{} in flight", p.in_flight().len());
    if p.stopping {
        m.push_str("  stopping: no new step starts");
    }
    m
}

fn label(f: &progress::InFlight) -> String {
    to_ansi(&[f.label()], true).trim_end_matches('\n').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineEvent;
    use crate::plan::Action;

    #[test]
    fn a_spinner_per_step_in_flight_removed_when_it_ends() {
        let mut bars = Bars::with_target(20, ProgressDrawTarget::hidden());
        let mut p = Progress::new(20);
        for i in 0..(MAX_SPINNERS + 3) {
            p.apply(
                &EngineEvent::StepStarted {
                    index: i + 1,
                    total: 20,
                    address: format!("account:a{i:02}"),
                    action: Action::Create,
                },
                bars.now_ms(),
            );
            bars.show(&p);
        }
        assert_eq!(bars.spinners().len(), MAX_SPINNERS, "the oldest steps in flight have spinners");
        assert_eq!(bars.spinners()[0], "account:a00");
        p.apply(&EngineEvent::StepSucceeded { address: "account:a00".into() }, bars.now_ms());
        p.apply(&EngineEvent::StepFailed { address: "account:a05".into(), error: "x".into() }, bars.now_ms());
        bars.show(&p);
        let shown = bars.spinners();
        assert_eq!(shown.len(), MAX_SPINNERS, "a step waiting for a spinner gets the freed one");
        assert!(!shown.contains(&"account:a00") && !shown.contains(&"account:a05"));
        assert!(shown.contains(&"account:a13"));
        assert_eq!(bars.overall.position(), 2);
        assert_eq!(bars.overall.message(), "1 failed  13 in flight");
        bars.finish();
    }
}
