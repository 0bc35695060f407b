//! The `vend` binary: parse arguments once, build the adapters, run the command, print what the
//! renderers produced, and map the outcome to the exit codes of DESIGN §5 (0 ok / no changes,
//! 1 any error, 2 changes with `plan --detailed-exitcode`).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use clap::Parser;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use vend::adapter::{audit, keys, lock};
use vend::app::{self, Env, aws_state, make_plan, now, pipeline_accounts};
use vend::cli::{ApplyArgs, AuditCommand, Cli, Command, Global, PlanArgs, RequestCommand, SnapshotCommand};
use vend::{adapter::fs, engine, plan, render, request, workspace};

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

fn run(cli: Cli) -> anyhow::Result<u8> {
    let ws: PathBuf = cli.global.workspace.clone().unwrap_or_else(|| PathBuf::from("."));
    let out = Out::new();
    let command = match cli.command {
        None | Some(Command::Tui) => {
            if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
                eprintln!(
                    "vend: the terminal UI needs a terminal; use a command:\n\n{}",
                    <Cli as clap::CommandFactory>::command().render_usage()
                );
                eprintln!("Run `vend --help` for the commands.");
                return Ok(1);
            }
            return vend::tui::run(ws, cli.global, env());
        }
        Some(c) => c,
    };
    match command {
        Command::Tui => Ok(1),
        Command::Request(req) => request_cmd(&ws, &cli.global, &req, &out),
        Command::Approve(args) => {
            let done = vend::governance::approve(&ws, &cli.global, &env(), &args.file)?;
            for note in done.notes {
                eprintln!("{note}");
            }
            println!("{}", done.message);
            Ok(0)
        }
        Command::Metrics { json } => {
            let m = vend::governance::metrics(&ws, &cli.global)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&m)?);
            } else {
                out.lines(&render::metrics_text(&m));
            }
            Ok(0)
        }
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
        Command::Plan(args) => plan_cmd(&ws, &cli.global, &args, &out),
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
        Command::Apply(args) => apply_cmd(&ws, &cli.global, &args, &out),
        Command::Audit(AuditCommand::Verify) => audit_verify(&ws, &cli.global),
        Command::Audit(AuditCommand::Log { json }) => audit_log(&ws, &cli.global, json),
        Command::Snapshot(SnapshotCommand::Save { out: file }) => {
            let mut state = if cli.global.aws {
                // Outside a workspace no member account is named: the snapshot then holds the
                // pipelines of the caller's own account only.
                let names = fs::read_workspace(&ws)
                    .map(|files| pipeline_accounts(&workspace::load(&files)))
                    .unwrap_or_default();
                aws_state(&cli.global, names)?
            } else {
                let (state, _, seeded) = fs::open_state(&ws, cli.global.state.as_deref(), &now())?;
                announce(&seeded);
                state
            };
            state.captured_at = now();
            state.source = if cli.global.aws { "aws" } else { "state-file" }.into();
            fs::write_state(&file, &state)?;
            eprintln!("Saved the state to {}.", file.display());
            Ok(0)
        }
    }
}

fn announce(seeded: &fs::Seeded) {
    if let Some(note) = app::seeded_note(seeded) {
        eprintln!("{note}");
    }
}

fn plan_cmd(ws: &Path, global: &Global, args: &PlanArgs, out: &Out) -> anyhow::Result<u8> {
    let files = fs::read_workspace(ws)?;
    let loaded = workspace::load_with(&files, args.upgrade);
    let state = if global.aws {
        aws_state(global, pipeline_accounts(&loaded))?
    } else {
        let (state, _, seeded) = fs::open_state(ws, global.state.as_deref(), &now())?;
        announce(&seeded);
        state
    };
    let mut p = make_plan(&loaded, &state, now());
    if args.show_unchanged {
        p.unchanged = Some(plan::unchanged(&loaded.desired, &p));
    }
    if let Some(file) = &args.out {
        if loaded.desired.settings.required_approvals > 0 {
            // Separation of duties: the saved plan names its author (their approval won't count).
            for note in vend::governance::sign_author(&mut p, &env())? {
                eprintln!("{note}");
            }
        }
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

fn user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .or_else(|_| std::env::var("USERNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// What the library needs from the environment, read once here.
fn env() -> Env {
    // VEND_KEY_STORE=file keeps the key in the key file even where an OS keyring exists.
    let key_store = match std::env::var("VEND_KEY_STORE").as_deref() {
        Ok("file") => keys::KeyStore::FileOnly,
        _ => keys::KeyStore::Auto,
    };
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    Env { user: user(), config_dir: config_dir().map_err(|e| e.to_string()), key_store, color: !no_color }
}

/// The user's config directory (XDG_CONFIG_HOME, else ~/.config): home of the key file.
fn config_dir() -> anyhow::Result<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
        let p = PathBuf::from(x);
        if p.is_absolute() {
            return Ok(p);
        }
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(h) => Ok(PathBuf::from(h).join(".config")),
        None => anyhow::bail!("neither XDG_CONFIG_HOME nor HOME is set: cannot find the operator key file"),
    }
}

fn ask(prompt: &str) -> anyhow::Result<String> {
    use std::io::Write;
    print!("{prompt}");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim().to_string())
}

fn apply_cmd(ws: &Path, global: &Global, args: &ApplyArgs, out: &Out) -> anyhow::Result<u8> {
    let user = user();
    let _lock = lock::acquire(
        &ws.join(".vend").join("lock"),
        &user,
        &now(),
        args.lock_timeout.map(std::time::Duration::from_secs),
    )?;
    let files = fs::read_workspace(ws)?;
    let loaded = workspace::load(&files);
    // The cloud to apply to, and who vend acts as there (for the audit log's `actor.aws`).
    let (mut cloud, identity, note) = app::open_cloud(ws, global, &loaded)?;
    if let Some(note) = note {
        eprintln!("{note}");
    }
    let state = cloud.read_state().map_err(|e| {
        if global.aws { anyhow::anyhow!("reading the state from AWS: {e}") } else { anyhow::anyhow!(e) }
    })?;
    let plan = match &args.file {
        Some(file) => {
            let p = fs::read_plan(file)?;
            if let Some(why) = engine::stale_reason(&p, &files.fingerprint(), &state.fingerprint()) {
                eprintln!("error: {why}");
                return Ok(1);
            }
            p
        }
        None => {
            let p = make_plan(&loaded, &state, now());
            out.lines(&render::plan_text(&p));
            p
        }
    };
    if !plan.applyable {
        eprintln!("error: the plan has errors and cannot be applied; fix them and plan again");
        return Ok(1);
    }
    if !plan.has_changes() {
        println!("No changes. Nothing to apply.");
        return Ok(0);
    }
    if let Err(why) = vend::governance::before_apply(ws, global, &loaded, &plan, args.file.is_some())? {
        eprintln!("error: {why}");
        return Ok(1);
    }
    let closes: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| c.action == plan::Action::Close)
        .map(|c| c.address.trim_start_matches("account:").to_string())
        .collect();
    if args.auto_approve {
        let missing: Vec<&String> = closes.iter().filter(|n| !args.allow_close.contains(n)).collect();
        if !missing.is_empty() {
            let flags: Vec<String> = missing.iter().map(|n| format!("--allow-close {n}")).collect();
            eprintln!(
                "error: the plan closes account(s) {}; a close is never auto-approved: add {}",
                missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
                flags.join(" ")
            );
            return Ok(1);
        }
    } else {
        if !std::io::stdin().is_terminal() {
            eprintln!(
                "error: no terminal to confirm on; review the plan, then run `vend apply FILE --auto-approve` with a saved plan"
            );
            return Ok(1);
        }
        println!();
        let answer = ask("Do you want to perform these actions? Only 'yes' will be accepted: ")?;
        if answer != "yes" {
            eprintln!("Apply cancelled.");
            return Ok(1);
        }
        for name in &closes {
            let typed = ask(&format!(
                "Closing account '{name}' cannot be undone by vend. Type its name to confirm: "
            ))?;
            if &typed != name {
                eprintln!("Apply cancelled: '{typed}' is not '{name}'.");
                return Ok(1);
            }
        }
    }
    let (mut audit, notes) = app::open_audit(ws, global, &env(), identity)?;
    for note in notes {
        eprintln!("{note}");
    }
    let options = engine::Options { poll_interval_ms: args.poll_interval_ms, ..engine::Options::default() };
    let mut show = |e: engine::EngineEvent| {
        if let Some(line) = render::apply_event(&e) {
            out.lines(&[line]);
        }
    };
    let report = engine::apply(&plan, cloud.as_mut(), &mut audit, &app::SystemClock, &options, &mut show)?;
    out.lines(&render::apply_report(&report));
    Ok(if report.is_complete() { 0 } else { 1 })
}

fn audit_verify(ws: &Path, global: &Global) -> anyhow::Result<u8> {
    let log = app::audit_path(ws, global);
    let pinned = app::pinned_operators(ws);
    match audit::verify(&log, &audit::head_path(&log), &pinned) {
        Ok(r) => {
            let trust =
                if r.pinned { "a pinned operator key" } else { "the log's first key (no operators pinned)" };
            match &r.key {
                None => println!("Audit log {}: empty, nothing to verify.", log.display()),
                Some(key) => println!(
                    "Audit log {} is intact: {} records, last seq {} ({}), signed by {key} ({trust}).",
                    log.display(),
                    r.records,
                    r.last_seq,
                    r.last_hash
                ),
            }
            Ok(0)
        }
        Err(f) => {
            eprintln!("error: audit log {} does not verify: {f}", log.display());
            Ok(1)
        }
    }
}

fn audit_log(ws: &Path, global: &Global, json: bool) -> anyhow::Result<u8> {
    let log = app::audit_path(ws, global);
    let records = audit::read(&log)?;
    for r in &records {
        if json {
            println!("{}", serde_json::to_string(r)?);
        } else {
            let what = match (
                r.detail.get("op").or_else(|| r.detail.get("call").and_then(|c| c.get("op"))),
                r.detail.get("ok"),
            ) {
                (Some(op), Some(ok)) => {
                    format!("{} {}", op.as_str().unwrap_or(""), if ok == true { "ok" } else { "FAILED" })
                }
                (Some(op), None) => op.as_str().unwrap_or("").to_string(),
                _ => String::new(),
            };
            println!("{:>5}  {}  {:<10} {:<12} {:<50} {what}", r.seq, r.ts, r.actor.user, r.event, r.address);
        }
    }
    if records.is_empty() && !json {
        println!("The audit log {} is empty.", log.display());
    }
    Ok(0)
}

fn request_cmd(ws: &Path, global: &Global, cmd: &RequestCommand, out: &Out) -> anyhow::Result<u8> {
    let env = env();
    let mut req = request::Request {
        requested_by: env.user.clone(),
        requested_at: now(),
        ..request::Request::default()
    };
    let (params, tags) = match cmd {
        RequestCommand::Account(a) => {
            req.kind = request::RequestKind::Account;
            req.blueprint = a.blueprint.clone();
            req.name = a.name.clone();
            req.email = a.email.clone();
            req.owner = a.owner.clone().unwrap_or_default();
            req.reason = a.reason.clone().unwrap_or_default();
            (a.param.as_slice(), a.tag.as_slice())
        }
        RequestCommand::Pipeline(p) => {
            req.kind = request::RequestKind::Pipeline;
            req.blueprint = p.blueprint.clone();
            req.name = p.name.clone();
            req.account = p.account.clone();
            req.reason = p.reason.clone().unwrap_or_default();
            (p.param.as_slice(), &[][..])
        }
    };
    req.params = request::parse_pairs(params).map_err(|e| anyhow::anyhow!("--param {e}"))?;
    req.tags = request::parse_pairs(tags).map_err(|e| anyhow::anyhow!("--tag {e}"))?;
    let files = fs::read_workspace(ws)?;
    let loaded = workspace::load(&files);
    if loaded.diagnostics.iter().any(vend::model::Diagnostic::is_error) {
        out.err_lines(&render::diagnostics_text(&loaded.diagnostics));
        eprintln!("error: the workspace is invalid; fix it before adding a request");
        return Ok(1);
    }
    let (state, note) = app::read_state(ws, global, &loaded)?;
    if let Some(note) = note {
        eprintln!("{note}");
    }
    let checked = request::check(&files, &loaded, Some(&state), &req);
    out.err_lines(&render::diagnostics_text(&checked.diagnostics));
    if !checked.is_valid() {
        eprintln!(
            "error: the {} request is invalid ({} error(s)); nothing was written",
            req.kind.as_str(),
            checked.errors()
        );
        return Ok(1);
    }
    for note in app::write_request(ws, global, &env, &req, &checked)? {
        eprintln!("{note}");
    }
    println!("Wrote {} (logged as a request event); run `vend plan` to see its plan.", checked.path);
    Ok(0)
}
