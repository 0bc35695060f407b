//! The TUI runtime — the one impure part of `tui/`: owns the terminal (raw mode, alternate
//! screen, restored on exit and, through ratatui's panic hook, on panic), turns terminal events
//! into `Msg`s, runs each `Effect` on a background thread that answers with a `Msg` carrying the
//! request's generation, and draws after every batch of messages. Background work runs on plain
//! threads rather than a tokio pool: the AWS adapter owns a tokio runtime and blocks on it, which
//! may not happen inside another runtime's worker. The engine's events stream in while it
//! applies, so the UI never waits on AWS. Everything it needs from the command line and the
//! environment comes resolved in the `Config`; an apply goes through the CLI's flow
//! (`flow::apply::run`, with this runtime as its frontend).

use super::model::{AuditData, AuditRow, Effect, Key, Model, Msg, SavedPlan, Workspace};
use super::{update, view};
use crate::adapter::fs;
use crate::app;
use crate::config::Config;
use crate::flow::apply::{Frontend, Outcome, Source};
use crate::flow::confirm::{self, Ask, Cancelled, Consent, Refusal};
use crate::request::Request;
use crate::workspace;
use crate::{engine, governance};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

/// Run the terminal UI until the user quits. Returns the exit code. `notes` are what the
/// caller would have printed before the UI started (the AWS credentials found): they open on
/// the status line, as every note produced while the UI runs does — nothing is written to the
/// terminal behind the UI.
pub fn run(config: Config, notes: Vec<String>) -> anyhow::Result<u8> {
    let label = format!("{} · {}", config.workspace.display(), config.state_label());
    let color = config.env.color;
    let mut terminal = ratatui::try_init()?;
    let result = event_loop(
        &mut terminal,
        Runtime { config: Arc::new(config), stop: Arc::default(), start: Instant::now() },
        label,
        color,
        notes,
    );
    ratatui::try_restore()?;
    result
}

struct Runtime {
    config: Arc<Config>,
    /// Set to stop the running apply: no new step starts, the steps in flight finish.
    stop: Arc<AtomicBool>,
    /// When the UI started: `Tick`'s clock, also stamped on the engine's events.
    start: Instant,
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    rt: Runtime,
    label: String,
    color: bool,
    notes: Vec<String>,
) -> anyhow::Result<u8> {
    let start = rt.start;
    let (tx, rx): (Sender<Msg>, Receiver<Msg>) = channel();
    let input_done = Arc::new(AtomicBool::new(false));
    spawn_input(tx.clone(), input_done.clone());
    let (mut model, mut effects) = Model::new(label, color);
    effects.extend(update::update(&mut model, Msg::Notes(notes)));
    terminal.draw(|f| view::view(&model, f))?;
    let mut quit = run_effects(&rt, &tx, effects);
    while !quit && !model.quit {
        let msg = match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(msg) => msg,
            Err(RecvTimeoutError::Timeout) => Msg::Tick { now_ms: start.elapsed().as_millis() as u64 },
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let mut effects = update::update(&mut model, msg);
        // Take whatever else is waiting before drawing again.
        while let Ok(more) = rx.try_recv() {
            effects.extend(update::update(&mut model, more));
        }
        effects.extend(update::update(&mut model, Msg::Tick { now_ms: start.elapsed().as_millis() as u64 }));
        quit = run_effects(&rt, &tx, effects);
        terminal.draw(|f| view::view(&model, f))?;
    }
    input_done.store(true, Ordering::SeqCst);
    Ok(0)
}

fn spawn_input(tx: Sender<Msg>, done: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        while !done.load(Ordering::SeqCst) {
            match event::poll(Duration::from_millis(100)) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(_) => return,
            }
            let msg = match event::read() {
                Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => convert(k).map(Msg::Key),
                Ok(Event::Resize(_, _)) => Some(Msg::Resize),
                Ok(_) => None,
                Err(_) => return,
            };
            if let Some(msg) = msg
                && tx.send(msg).is_err()
            {
                return;
            }
        }
    });
}

fn convert(k: KeyEvent) -> Option<Key> {
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    Some(match k.code {
        KeyCode::Char(c) if ctrl => Key::Ctrl(c.to_ascii_lowercase()),
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Tab => Key::Tab,
        KeyCode::BackTab => Key::BackTab,
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::Left => Key::Left,
        KeyCode::Right => Key::Right,
        KeyCode::PageUp => Key::PageUp,
        KeyCode::PageDown => Key::PageDown,
        KeyCode::Home => Key::Home,
        KeyCode::End => Key::End,
        KeyCode::Backspace => Key::Backspace,
        KeyCode::F(n) => Key::F(n),
        _ => return None,
    })
}

/// Start every effect; true when one asks to quit.
fn run_effects(rt: &Runtime, tx: &Sender<Msg>, effects: Vec<Effect>) -> bool {
    let mut quit = false;
    for e in effects {
        match e {
            Effect::Quit => quit = true,
            Effect::StopApply => rt.stop.store(true, Ordering::SeqCst),
            Effect::Load { generation } => {
                let (config, tx) = (rt.config.clone(), tx.clone());
                std::thread::spawn(move || {
                    let result = load(&config).map(Arc::new).map_err(|e| format!("{e:#}"));
                    let _ = tx.send(Msg::Loaded { generation, result });
                });
            }
            Effect::Validate { generation, request, base } => {
                let (config, tx) = (rt.config.clone(), tx.clone());
                std::thread::spawn(move || {
                    let request = stamp(request, &config);
                    let checked =
                        crate::request::check(&base.files, &base.loaded, Some(&base.state), &request);
                    let _ = tx.send(Msg::Validated { generation, checked });
                });
            }
            Effect::Submit { generation, request } => {
                let (config, tx) = (rt.config.clone(), tx.clone());
                std::thread::spawn(move || {
                    let result = submit(&config, request, &tx).map_err(|e| format!("{e:#}"));
                    let _ = tx.send(Msg::Submitted { generation, result });
                });
            }
            Effect::SavePlan { path, plan, required_approvals } => {
                let (config, tx) = (rt.config.clone(), tx.clone());
                std::thread::spawn(move || {
                    let result = save_plan(&config, &path, *plan, required_approvals, &tx)
                        .map_err(|e| format!("{e:#}"));
                    let _ = tx.send(Msg::Saved { result });
                });
            }
            Effect::Apply { generation, plan } => {
                rt.stop.store(false, Ordering::SeqCst);
                let (config, tx, stop, start) = (rt.config.clone(), tx.clone(), rt.stop.clone(), rt.start);
                std::thread::spawn(move || {
                    let msg = apply(&config, plan, Ui { tx: &tx, generation, start }, &stop);
                    let _ = tx.send(msg);
                });
            }
            Effect::LoadAudit { generation } => {
                let (config, tx) = (rt.config.clone(), tx.clone());
                std::thread::spawn(move || {
                    let result = read_audit(&config).map_err(|e| format!("{e:#}"));
                    let _ = tx.send(Msg::AuditLoaded { generation, result });
                });
            }
        }
    }
    quit
}

fn stamp(mut r: Request, config: &Config) -> Request {
    r.requested_by = config.env.user.clone();
    r.requested_at = app::now();
    r
}

/// Read the workspace and the state, plan (the CLI's `vend plan`).
fn load(config: &Config) -> anyhow::Result<Workspace> {
    let files = fs::read_workspace(&config.workspace)?;
    let loaded = workspace::load(&files);
    let (state, note) = app::read_state(config, &loaded)?;
    let plan = app::make_plan(&loaded, &state, app::now());
    let source = if config.uses_aws() { "AWS".to_string() } else { "local state file".to_string() };
    let mut w = Workspace::new(files, loaded, state, plan, source);
    w.notes.extend(note);
    Ok(w)
}

/// Check and write the request, log it, reload. Its notes (the state seeded, the operator key
/// created) go to the UI as `Msg::Notes`.
fn submit(config: &Config, request: Request, tx: &Sender<Msg>) -> anyhow::Result<(String, Arc<Workspace>)> {
    let request = stamp(request, config);
    let files = fs::read_workspace(&config.workspace)?;
    let loaded = workspace::load(&files);
    let (state, note) = app::read_state(config, &loaded)?;
    let _ = tx.send(Msg::Notes(note.into_iter().collect()));
    let checked = crate::request::check(&files, &loaded, Some(&state), &request);
    if let Some(d) = checked.diagnostics.iter().find(|d| d.is_error()) {
        anyhow::bail!("{}: {}", d.code, d.message);
    }
    let notes = app::write_request(config, &request, &checked)?;
    let _ = tx.send(Msg::Notes(notes));
    Ok((checked.path.clone(), Arc::new(load(config)?)))
}

/// `vend plan --out FILE` for the reviewed plan: signed as its author when the workspace
/// requires approvals (`governance::sign_author`, as the CLI does), then written.
fn save_plan(
    config: &Config,
    path: &str,
    mut plan: crate::plan::Plan,
    required_approvals: u32,
    tx: &Sender<Msg>,
) -> anyhow::Result<SavedPlan> {
    let target = if std::path::Path::new(path).is_absolute() {
        PathBuf::from(path)
    } else {
        config.workspace.join(path)
    };
    if required_approvals > 0 {
        // The notes (where the key lives) are the CLI's stderr lines; the status names the author.
        let notes = governance::sign_author(&mut plan, &config.env)?;
        let _ = tx.send(Msg::Notes(notes));
    }
    fs::write_plan(&target, &plan)?;
    Ok(SavedPlan { path: target.display().to_string(), author: plan.author.as_ref().map(|a| a.user.clone()) })
}

/// `vend apply` with the plan reviewed and confirmed in the UI, through the CLI's flow
/// (`flow::apply::run`: lock with the configured lease, stale-plan guard, the checks before an
/// apply, signed audit log, engine): its events stream in as `Msg::Engine`. A refusal by the
/// checks before an apply is `Msg::ApplyRefused`; any other stop before the engine (a stale
/// plan, …) ends the run like an error, and the plan is read again. Texts are the CLI's.
fn apply(config: &Config, plan: Box<crate::plan::Plan>, mut ui: Ui, stop: &AtomicBool) -> Msg {
    let generation = ui.generation;
    // The prompts of `confirm::asks` were answered in the UI before this effect.
    let consent = Consent::Ask { terminal: true };
    match crate::flow::apply::run(config, Source::Reviewed(plan), &consent, &mut ui, stop) {
        Ok(Outcome::Applied { report, lost: None }) => Msg::ApplyDone { generation, result: Ok(report) },
        Ok(Outcome::Applied { lost: Some(why), .. }) => {
            Msg::ApplyDone { generation, result: Err(confirm::lock_lost(&why)) }
        }
        Ok(Outcome::Refused(Refusal::Guard(reason))) => Msg::ApplyRefused { generation, reason },
        Ok(Outcome::Refused(why)) => Msg::ApplyDone { generation, result: Err(why.to_string()) },
        Ok(Outcome::Cancelled(c)) => Msg::ApplyDone { generation, result: Err(c.to_string()) },
        Ok(Outcome::NothingToApply) => {
            Msg::ApplyDone { generation, result: Err(confirm::NOTHING_TO_APPLY.to_string()) }
        }
        Err(e) => Msg::ApplyDone { generation, result: Err(format!("{e:#}")) },
    }
}

/// The TUI as the apply flow's frontend: the UI confirmed already; notes (the key file, the
/// lock, …) become `Msg::Notes` for the status line; engine events become messages stamped
/// with the UI's clock.
struct Ui<'a> {
    tx: &'a Sender<Msg>,
    generation: u64,
    start: Instant,
}

impl Frontend for Ui<'_> {
    fn note(&mut self, note: &str) {
        let _ = self.tx.send(Msg::Notes(vec![note.to_string()]));
    }
    fn planned(&mut self, _plan: &crate::plan::Plan) {}
    fn confirm(&mut self, _asks: &[Ask]) -> anyhow::Result<Result<(), Cancelled>> {
        Ok(Ok(()))
    }
    fn event(&mut self, event: engine::EngineEvent) {
        let at_ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        let _ = self.tx.send(Msg::Engine { generation: self.generation, event, at_ms });
    }
    fn finished(&mut self, _report: &engine::Report) {}
}

fn read_audit(config: &Config) -> anyhow::Result<AuditData> {
    // The log the configuration names: the shared S3 one with --backend.
    let (records, path) = app::read_audit(config)?;
    let (verified, _) = app::verify_audit(config)?;
    let chain = match verified {
        Ok(r) => Ok(match &r.key {
            None => "empty log".to_string(),
            Some(key) => format!(
                "{} records, last seq {}, signed by {}…{}",
                r.records,
                r.last_seq,
                key.chars().take(12).collect::<String>(),
                if r.pinned { " (pinned key)" } else { " (first key; none pinned)" }
            ),
        }),
        Err(e) => Err(e.to_string()),
    };
    let rows = records
        .iter()
        .map(|r| AuditRow {
            seq: r.seq,
            ts: r.ts.clone(),
            actor: r.actor.who().to_string(),
            plan_id: r.plan_id.clone(),
            event: r.event.clone(),
            address: r.address.clone(),
            detail: serde_json::to_string_pretty(r).unwrap_or_default(),
        })
        .collect();
    let metrics = crate::metrics::compute(&governance::metric_records(&records));
    Ok(AuditData { path, rows, chain, metrics })
}
