//! The one apply flow, used by `vend apply` and the TUI: take the lock the configuration names
//! (local flock or S3 lease, with `Config::apply`'s lease and timeout), read the workspace and
//! the state, guard a saved or reviewed plan against what it touches having moved
//! (`app::stale_saved_plan`), plan with `--target`/`--exclude` when given, run the governance guard
//! (approvals, close quota), the confirmation policy (`confirm::required`), open the signed audit
//! log (fenced by the shared lock), run the engine and report. The frontends differ only in how
//! they confirm and show progress (`Frontend`); refusals and their texts come from here and
//! `confirm`. Prints nothing itself.

use super::Console;
use super::confirm::{self, Ask, Cancelled, Consent, Refusal};
use crate::adapter::bars::{Bars, Notes};
use crate::adapter::interrupt::Interrupt;
use crate::adapter::{aws_rules, fs};
use crate::config::Config;
use crate::engine::{self, EngineEvent, Report, StepStatus};
use crate::model::{BLUEPRINT_TAG, State};
use crate::plan::scope::Selection;
use crate::plan::{Kind, Payload, Plan};
use crate::render::progress::{self, Progress};
use crate::{app, governance, render, workspace};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

/// Which plan to apply.
#[derive(Debug)]
pub enum Source {
    /// A plan saved with `vend plan --out FILE` (its approvals count).
    File(PathBuf),
    /// Plan now (only the changes `--target`/`--exclude` select, when given), show it, then
    /// confirm (`vend apply` without FILE).
    Fresh(Selection),
    /// A plan reviewed (and confirmed) in the TUI.
    Reviewed(Box<Plan>),
}

/// How a frontend confirms and shows progress.
pub trait Frontend {
    /// A note for the user (where the key lives, a seeded state, a lock taken over, …).
    fn note(&mut self, note: &str);
    /// A plan computed now ([`Source::Fresh`]), before it is confirmed.
    fn planned(&mut self, plan: &Plan);
    /// Ask what [`confirm::required`] says must be confirmed, in order.
    fn confirm(&mut self, asks: &[Ask]) -> anyhow::Result<Result<(), Cancelled>>;
    /// The engine is about to start on `steps` steps (after every check and confirmation).
    fn starting(&mut self, _steps: usize) {}
    /// The engine's progress.
    fn event(&mut self, event: EngineEvent);
    /// The engine's report, before the lock is released.
    fn finished(&mut self, report: &Report);
}

/// How an apply ended.
#[derive(Debug)]
pub enum Outcome {
    /// The plan has no changes ([`confirm::NOTHING_TO_APPLY`]).
    NothingToApply,
    /// Refused before anything was sent.
    Refused(Refusal),
    /// The operator did not confirm; nothing was sent.
    Cancelled(Cancelled),
    /// The engine ran; `lost`: why the shared lock was lost while it ran (it stopped before its
    /// next step; see [`confirm::lock_lost`]).
    Applied { report: Report, lost: Option<String> },
}

impl Outcome {
    /// The CLI's exit code (DESIGN §5): 0 when nothing was left to do, else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::NothingToApply => 0,
            Outcome::Applied { report, lost: None } if report.is_complete() => 0,
            _ => 1,
        }
    }
}

/// The lock wait and lease every apply uses: `Config::apply`'s (`--lock-timeout`,
/// `--lock-lease`; the TUI's config carries their defaults).
pub fn lock_settings(config: &Config) -> (Option<std::time::Duration>, std::time::Duration) {
    (config.apply.lock_timeout, config.apply.lock_lease)
}

/// Apply the plan `source` names, as `consent` allows; `stop` asks to stop: no new step starts,
/// the steps in flight finish.
pub fn run(
    config: &Config,
    source: Source,
    consent: &Consent,
    ui: &mut dyn Frontend,
    stop: &AtomicBool,
) -> anyhow::Result<Outcome> {
    // A saved plan that does not parse or was edited is refused before any lock or AWS call.
    let selection = match &source {
        Source::Fresh(selection) => selection.clone(),
        _ => Selection::default(),
    };
    let (given, saved) = match source {
        Source::File(path) => (Some(fs::read_plan(&path)?), true),
        Source::Reviewed(plan) => (Some(*plan), false),
        Source::Fresh(_) => (None, false),
    };
    // The workspace's OS file lock, or with --backend the shared S3 lease (renewed while held).
    let (wait, lease) = lock_settings(config);
    let (held, notes) = app::lock(config, "apply", wait, lease)?;
    for note in notes {
        ui.note(&note);
    }
    let files = fs::read_workspace(&config.workspace)?;
    let loaded = workspace::load(&files);
    // The cloud to apply to, and who vend acts as there (for the audit log's `actor.aws`).
    let (mut cloud, identity, note) = app::open_cloud(config, &loaded)?;
    if let Some(note) = note {
        ui.note(&note);
    }
    let state = cloud.read_state().map_err(|e| {
        if config.uses_aws() {
            anyhow::anyhow!("reading the state from AWS: {e}")
        } else {
            anyhow::anyhow!(e)
        }
    })?;
    let plan = match given {
        Some(p) => {
            // Refused only when something it reads or writes moved (or its promise broke).
            if let Some(why) = app::stale_saved_plan(&p, &files, &loaded, &state) {
                return Ok(Outcome::Refused(Refusal::Stale(why)));
            }
            p
        }
        None => {
            let p = app::make_selected_plan(&loaded, &state, app::now(), &selection)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            ui.planned(&p);
            p
        }
    };
    if !plan.applyable {
        return Ok(Outcome::Refused(Refusal::NotApplyable));
    }
    if !plan.has_changes() {
        record_account_versions(config, &files, &loaded, &state, &plan, None, ui);
        return Ok(Outcome::NothingToApply);
    }
    if let Err(why) = governance::before_apply(config, &loaded, &plan, saved)? {
        return Ok(Outcome::Refused(Refusal::Guard(why)));
    }
    let asks = match confirm::required(&plan, consent) {
        Ok(asks) => asks,
        Err(why) => return Ok(Outcome::Refused(why)),
    };
    if !asks.is_empty()
        && let Err(cancelled) = ui.confirm(&asks)?
    {
        return Ok(Outcome::Cancelled(cancelled));
    }
    let (mut audit, notes) = app::open_audit_pinned(config, identity, &loaded.desired.settings.operators)?;
    held.fence(&mut audit);
    for note in notes {
        ui.note(&note);
    }
    let options = engine::Options {
        poll_interval_ms: config.apply.poll_interval_ms,
        parallelism: config.apply.parallelism,
        shuffle: config.apply.shuffle,
        max_account_creations: usize::try_from(aws_rules::limit(aws_rules::CONCURRENT_ACCOUNT_CREATIONS, 1))
            .unwrap_or(1),
        creations_in_progress: state.creations_in_progress(),
        ..engine::Options::default()
    };
    let excluded = engine::excluded_closure(&plan);
    ui.starting(plan.changes.iter().filter(|c| !excluded.contains(&c.address)).count());
    // A lost shared lock (taken over after its lease ran out, or force-unlocked) stops the apply
    // before its next step, as does the frontend's stop.
    let report = engine::apply_until(
        &plan,
        cloud.as_mut(),
        &mut audit,
        &app::SystemClock,
        &options,
        &mut |e| ui.event(e),
        &|| stop.load(Ordering::SeqCst) || held.lost().is_some(),
    )?;
    ui.finished(&report);
    record_account_versions(config, &files, &loaded, &state, &plan, Some(&report), ui);
    let lost = held.lost();
    if let Some(note) = held.release() {
        ui.note(&note);
    }
    Ok(Outcome::Applied { report, lost })
}

/// Add the account blueprint versions now in use to `blueprints/accounts.lock` (see
/// `workspace::lock`): those vend-managed accounts carried before the apply, and those of the
/// account changes that succeeded (`report`; none without one). Each entry is added with the
/// version file's hash as read for this apply (the bytes the plan was checked against); existing
/// entries never change. Runs under the apply lock; a failure to write is a note, not an error
/// (the apply itself is done, and the next apply tries again).
fn record_account_versions(
    config: &Config,
    files: &workspace::Files,
    loaded: &workspace::Loaded,
    state: &State,
    plan: &Plan,
    report: Option<&Report>,
    ui: &mut dyn Frontend,
) {
    let owner = &loaded.desired.settings.ownership_tag;
    let mut used: BTreeSet<String> = state
        .accounts
        .iter()
        .filter(|a| State::is_managed(&a.tags, owner))
        .filter_map(|a| a.tags.get(BLUEPRINT_TAG).cloned())
        .collect();
    let done: BTreeSet<&str> = report
        .map(|r| {
            r.steps.iter().filter(|s| s.status == StepStatus::Succeeded).map(|s| s.address.as_str()).collect()
        })
        .unwrap_or_default();
    for c in plan.changes.iter().filter(|c| c.kind == Kind::Account && done.contains(c.address.as_str())) {
        let tags = match &c.after {
            Some(Payload::NewAccount(a)) => &a.tags,
            Some(Payload::Account(a)) => &a.tags,
            _ => continue,
        };
        if State::is_managed(tags, owner)
            && let Some(reference) = tags.get(BLUEPRINT_TAG)
        {
            used.insert(reference.clone());
        }
    }
    let Some((text, added)) = workspace::lock::updated(files, &used) else { return };
    let path = config.workspace.join(workspace::lock::ACCOUNT_LOCK);
    match fs::write_atomic(&path, text.as_bytes()) {
        Ok(()) => ui.note(&format!(
            "recorded {} as published in {} (commit it with the workspace)",
            added.join(", "),
            workspace::lock::ACCOUNT_LOCK
        )),
        Err(e) => ui.note(&format!(
            "warning: could not record {} in {}: {e}",
            added.join(", "),
            workspace::lock::ACCOUNT_LOCK
        )),
    }
}

/// `vend apply [FILE]`: the flow with the terminal as frontend; returns the exit code.
pub fn cli(
    config: &Config,
    file: Option<PathBuf>,
    selection: Selection,
    consent: &Consent,
    console: &mut dyn Console,
) -> anyhow::Result<u8> {
    let source = file.map_or(Source::Fresh(selection), Source::File);
    let stop = Arc::new(AtomicBool::new(false));
    let mut terminal = Terminal::new(&mut *console, config.env.live_progress(), Arc::clone(&stop));
    let outcome = run(config, source, consent, &mut terminal, &stop)?;
    drop(terminal);
    match &outcome {
        Outcome::NothingToApply => console.say(confirm::NOTHING_TO_APPLY),
        Outcome::Refused(why) => console.note(&format!("error: {why}")),
        Outcome::Cancelled(c) => console.note(&c.to_string()),
        Outcome::Applied { lost: Some(why), .. } => {
            console.note(&format!("error: {}", confirm::lock_lost(why)))
        }
        Outcome::Applied { lost: None, .. } => {}
    }
    Ok(outcome.exit_code())
}

/// The CLI frontend: notes on stderr, the plan on stdout, questions on the terminal. Progress:
/// live bars on stderr with the lines of finished steps above them on stdout
/// (`Env::live_progress`), else one plain line per event on stdout. While the engine runs,
/// Ctrl-C stops it (`adapter::interrupt`): the first starts no new step and lets those in flight
/// finish, the second exits at once.
struct Terminal<'a> {
    console: &'a mut dyn Console,
    live: bool,
    /// The engine's stop flag, set by the first Ctrl-C.
    stop: Arc<AtomicBool>,
    progress: Progress,
    /// Steps in flight now, for the Ctrl-C note (read on the interrupt's thread).
    in_flight: Arc<AtomicUsize>,
    /// The clock events are stamped with (the bars' when live).
    started: Instant,
    bars: Option<Bars>,
    interrupt: Option<Interrupt>,
}

impl<'a> Terminal<'a> {
    fn new(console: &'a mut dyn Console, live: bool, stop: Arc<AtomicBool>) -> Terminal<'a> {
        Terminal {
            console,
            live,
            stop,
            progress: Progress::default(),
            in_flight: Arc::default(),
            started: Instant::now(),
            bars: None,
            interrupt: None,
        }
    }

    fn now_ms(&self) -> u64 {
        match &self.bars {
            Some(bars) => bars.now_ms(),
            None => u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// Stop drawing and handling Ctrl-C (the engine has returned).
    fn done(&mut self) {
        if let Some(bars) = self.bars.take() {
            bars.finish();
        }
        self.interrupt = None;
    }
}

impl Drop for Terminal<'_> {
    fn drop(&mut self) {
        self.done();
    }
}

impl Frontend for Terminal<'_> {
    fn note(&mut self, note: &str) {
        match &self.bars {
            Some(bars) => {
                let console = &mut *self.console;
                bars.suspend(|| console.note(note));
            }
            None => self.console.note(note),
        }
    }
    fn starting(&mut self, steps: usize) {
        self.progress = Progress::new(steps);
        let notes = if self.live {
            let bars = Bars::new(steps);
            let notes = bars.notes();
            self.bars = Some(bars);
            notes
        } else {
            Notes::Stderr
        };
        let in_flight = Arc::clone(&self.in_flight);
        match Interrupt::install(Arc::clone(&self.stop), move || {
            notes.println(&progress::interrupt_note(in_flight.load(Ordering::SeqCst)));
        }) {
            Ok(interrupt) => self.interrupt = Some(interrupt),
            Err(e) => self
                .note(&format!("warning: Ctrl-C cannot stop this apply cleanly ({e}); it ends vend at once")),
        }
    }
    fn planned(&mut self, plan: &Plan) {
        self.console.out_lines(&render::plan_text(plan));
    }
    fn confirm(&mut self, asks: &[Ask]) -> anyhow::Result<Result<(), Cancelled>> {
        for ask in asks {
            match ask {
                Ask::Apply => {
                    self.console.say("");
                    let answer = self
                        .console
                        .ask("Do you want to perform these actions? Only 'yes' will be accepted: ")?;
                    if answer != "yes" {
                        return Ok(Err(Cancelled::Declined));
                    }
                }
                Ask::Close(name) => {
                    let typed = self.console.ask(&format!(
                        "Closing account '{name}' cannot be undone by vend. Type its name to confirm: "
                    ))?;
                    if &typed != name {
                        return Ok(Err(Cancelled::WrongName { typed, name: name.clone() }));
                    }
                }
            }
        }
        Ok(Ok(()))
    }
    fn event(&mut self, event: EngineEvent) {
        let at = self.now_ms();
        self.progress.apply(&event, at);
        self.in_flight.store(self.progress.in_flight().len(), Ordering::SeqCst);
        let Some(bars) = self.bars.as_mut() else {
            if let Some(line) = render::apply_event(&event) {
                self.console.out_lines(&[line]);
            }
            return;
        };
        bars.show(&self.progress);
        // The bars show what runs; what ended (and the stop) stays above them as plain lines.
        let ended = matches!(
            event,
            EngineEvent::StepSucceeded { .. }
                | EngineEvent::StepFailed { .. }
                | EngineEvent::StepSkipped { .. }
                | EngineEvent::Stopped { .. }
        );
        if ended && let Some(line) = render::apply_event(&event) {
            let console = &mut *self.console;
            bars.suspend(|| console.out_lines(&[line]));
        }
    }
    fn finished(&mut self, report: &Report) {
        self.done();
        self.console.out_lines(&render::apply_report(report));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Env;

    #[test]
    fn the_cli_and_the_tui_take_the_lock_with_the_same_lease() {
        // Both frontends call `run`, which takes the lock with `lock_settings(config)`; the TUI's
        // configuration carries the `vend apply` defaults, the CLI's the flags.
        let tui = Config::local(std::path::Path::new("."), Env::default());
        assert_eq!(lock_settings(&tui), (None, crate::adapter::s3_lock::DEFAULT_LEASE));
        let mut cli = tui.clone();
        cli.apply.lock_lease = std::time::Duration::from_secs(7);
        assert_eq!(lock_settings(&cli).1, std::time::Duration::from_secs(7));
    }
}
