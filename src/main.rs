//! The `vend` binary: parse arguments once, build the adapters, run the command, print what the
//! renderers produced, and map the outcome to the exit codes of DESIGN §5 (0 ok / no changes,
//! 1 any error, 2 changes with `plan --detailed-exitcode`).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use clap::Parser;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use vend::cli::{Cli, Command, PlanArgs, SnapshotCommand};
use vend::model::Diagnostic;
use vend::{adapter::fs, plan, render, workspace};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // Help and version are not errors; every usage error exits 1 (DESIGN §5).
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

struct Out {
    color: bool,
}

impl Out {
    fn new() -> Out {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Out { color: !no_color && std::io::stdout().is_terminal() }
    }
    fn lines(&self, lines: &[render::Line]) {
        print!("{}", render::to_ansi(lines, self.color));
    }
    fn err_lines(&self, lines: &[render::Line]) {
        let color = self.color && std::io::stderr().is_terminal();
        eprint!("{}", render::to_ansi(lines, color));
    }
}

fn now() -> String {
    jiff::Timestamp::now().round(jiff::Unit::Second).map(|t| t.to_string()).unwrap_or_default()
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    let ws: PathBuf = cli.global.workspace.clone().unwrap_or_else(|| PathBuf::from("."));
    let out = Out::new();
    let Some(command) = cli.command else {
        eprintln!(
            "vend: the terminal UI is not part of this build yet; use a command:\n\n{}",
            <Cli as clap::CommandFactory>::command().render_usage()
        );
        eprintln!("Run `vend --help` for the commands.");
        return Ok(1);
    };
    match command {
        Command::Validate => {
            let files = fs::read_workspace(&ws)?;
            let loaded = workspace::load(&files);
            let errors = loaded.diagnostics.iter().filter(|d| d.is_error()).count();
            let warnings = loaded.diagnostics.len() - errors;
            out.err_lines(&render::diagnostics_text(&loaded.diagnostics));
            let d = &loaded.desired;
            if errors > 0 {
                eprintln!("Workspace is invalid: {errors} error(s), {warnings} warning(s).");
                Ok(1)
            } else {
                println!(
                    "Workspace is valid: {} OUs, {} SCPs, {} accounts, {} portfolios, {} products, {} pipelines ({warnings} warning(s)).",
                    d.ous.len(),
                    d.policies.len(),
                    d.accounts.len(),
                    d.portfolios.len(),
                    d.products.len(),
                    d.pipelines.len()
                );
                Ok(0)
            }
        }
        Command::Plan(args) => plan_cmd(&ws, cli.global.state.as_deref(), &args, &out),
        Command::Show(args) => {
            let plan = fs::read_plan(&args.file)?;
            if plan.format_version != plan::FORMAT_VERSION {
                anyhow::bail!(
                    "{}: plan format_version {} is not supported (this vend reads {})",
                    args.file.display(),
                    plan.format_version,
                    plan::FORMAT_VERSION
                );
            }
            if args.json {
                print!("{}", render::plan_json(&plan));
            } else {
                out.lines(&render::plan_text(&plan));
            }
            Ok(if plan.applyable { 0 } else { 1 })
        }
        Command::Apply(_) | Command::Audit(_) => anyhow::bail!("apply and audit are being wired in"),
        Command::Snapshot(SnapshotCommand::Save { out: file }) => {
            let (mut state, _, seeded) = fs::open_state(&ws, cli.global.state.as_deref(), &now())?;
            announce(&seeded);
            state.captured_at = now();
            state.source = "state-file".into();
            fs::write_state(&file, &state)?;
            eprintln!("Saved the state to {}.", file.display());
            Ok(0)
        }
    }
}

fn announce(seeded: &fs::Seeded) {
    match seeded {
        fs::Seeded::No => {}
        fs::Seeded::FromSnapshot(p) => {
            eprintln!("vend: no local state yet; seeded .vend/state.json from {}", p.display())
        }
        fs::Seeded::Empty => {
            eprintln!("vend: no local state yet; seeded .vend/state.json with an empty organization")
        }
    }
}

fn plan_cmd(ws: &Path, state: Option<&Path>, args: &PlanArgs, out: &Out) -> anyhow::Result<u8> {
    let files = fs::read_workspace(ws)?;
    let (state, _, seeded) = fs::open_state(ws, state, &now())?;
    announce(&seeded);
    let loaded = workspace::load(&files);
    let mut p = if loaded.diagnostics.iter().any(Diagnostic::is_error) {
        // With an invalid workspace vend cannot know the intent: plan nothing, show why.
        let empty = plan::build(
            &vend::model::Desired { fingerprint: loaded.desired.fingerprint.clone(), ..Default::default() },
            &state,
        );
        plan::Plan::new(empty.basis, vec![], vec![]).with_diagnostics(loaded.diagnostics.clone())
    } else {
        plan::build(&loaded.desired, &state).with_diagnostics(loaded.diagnostics.clone())
    };
    p.created_at = now();
    if args.show_unchanged {
        p.unchanged = Some(plan::unchanged(&loaded.desired, &p));
    }
    if let Some(file) = &args.out {
        fs::write_plan(file, &p)?;
    }
    if args.json {
        print!("{}", render::plan_json(&p));
    } else {
        out.lines(&render::plan_text(&p));
        if let Some(file) = &args.out {
            println!("Saved the plan to {}.", file.display());
        }
    }
    Ok(if !p.applyable {
        1
    } else if args.detailed_exitcode && p.has_changes() {
        2
    } else {
        0
    })
}
