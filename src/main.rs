//! The `vend` binary: parse arguments once, build the adapters, run the command, print what the
//! renderers produced, and map the outcome to the exit codes of DESIGN §5 (0 ok / no changes,
//! 1 any error, 2 changes with `plan --detailed-exitcode`).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use clap::Parser;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use vend::adapter::{audit, credentials, keys};
use vend::app::{self, Env, aws_state, make_plan, now, pipeline_accounts};
use vend::cli::{
    ApplyArgs, AuditCommand, AuthCommand, Cli, Command, ForceUnlockArgs, Global, PlanArgs, RequestCommand,
    SnapshotCommand,
};
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
    if let Err(e) = cli.check() {
        let _ = e.print();
        return ExitCode::from(1);
    }
    init_tracing(cli.global.verbose);
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

fn run(mut cli: Cli) -> anyhow::Result<u8> {
    let ws: PathBuf = cli.global.workspace.clone().unwrap_or_else(|| PathBuf::from("."));
    let out = Out::new();
    if let Some(Command::Auth(cmd)) = &cli.command {
        return auth_cmd(&cli.global, cmd);
    }
    // Every AWS client (the cloud, and the shared S3 backend, which needs --aws) starts from these.
    if cli.global.aws {
        resolve_aws_credentials(&mut cli.global)?;
    }
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
        Command::Tui | Command::Auth(_) => Ok(1),
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
            // Refuses a plan file edited after it was saved (and an unsupported format).
            let plan = fs::read_plan(&args.file)?;
            if args.json {
                print!("{}", render::plan_json(&plan));
            } else {
                out.lines(&render::plan_text(&plan));
            }
            Ok(if plan.applyable { 0 } else { 1 })
        }
        Command::Apply(args) => apply_cmd(&ws, &cli.global, &args, &out),
        Command::ForceUnlock(args) => force_unlock_cmd(&ws, &cli.global, &args),
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

/// `-v`: vend's own debug events and the AWS SDK's info; `-vv` (and more): the SDK's debug
/// events too, except endpoint resolution (its debug event prints the resolved identity: the
/// access key id). Never the SDK's trace level: its canonical requests and signing details carry
/// the access key id and the session token. `tests/secrets.rs` scans `-vv` output for secrets.
fn init_tracing(verbose: u8) {
    let directives = match verbose {
        0 => return,
        1 => {
            "warn,vend=debug,aws_config=info,aws_smithy_runtime=info,aws_sdk_organizations=info,\
              aws_sdk_servicecatalog=info,aws_sdk_cloudformation=info,aws_sdk_s3=info,aws_sdk_sts=info,\
              aws_runtime=info"
        }
        _ => {
            "warn,vend=debug,aws_config=debug,aws_smithy_runtime=debug,aws_smithy_runtime_api=debug,\
              aws_smithy_http=debug,aws_smithy_http_client=debug,aws_sdk_organizations=debug,\
              aws_sdk_servicecatalog=debug,aws_sdk_cloudformation=debug,aws_sdk_s3=debug,\
              aws_sdk_sts=debug,aws_runtime=debug,aws_sigv4=debug,\
              aws_smithy_runtime::client::orchestrator::endpoints=info"
        }
    };
    let filter = tracing_subscriber::EnvFilter::builder().parse_lossy(directives);
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(!no_color && std::io::stderr().is_terminal())
        .try_init();
}

/// The AWS profile the flags and environment select: `--profile`, else AWS_PROFILE, else
/// `default` (the keyring entry of `vend auth` is per profile).
fn aws_profile(global: &Global) -> String {
    global
        .profile
        .clone()
        .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()))
        .unwrap_or_else(|| "default".into())
}

/// With `--aws`: credentials `vend auth login` stored for the profile go ahead of the standard
/// chain; one line on stderr says which source is used (never a secret).
fn resolve_aws_credentials(global: &mut Global) -> anyhow::Result<()> {
    let profile = aws_profile(global);
    match credentials::load(&profile)? {
        credentials::Lookup::Found { credentials, store } => {
            if let Some(at) =
                credentials.expiration.filter(|_| credentials.is_expired(jiff::Timestamp::now()))
            {
                anyhow::bail!(
                    "the AWS credentials stored for profile {profile} in the OS keyring ({store}) expired at {at}; \
                     run `vend auth login --profile {profile}` with fresh ones, or `vend auth logout --profile \
                     {profile}` to use the standard credential chain"
                );
            }
            eprintln!("vend: AWS credentials of profile {profile} from the OS keyring ({store})");
            global.aws_credentials = Some(credentials);
        }
        credentials::Lookup::Missing { store } => eprintln!(
            "vend: AWS credentials from the standard chain (none stored for profile {profile} in the OS keyring, {store})"
        ),
        credentials::Lookup::Unavailable(why) => {
            eprintln!("vend: AWS credentials from the standard chain (OS keyring not available: {why})")
        }
    }
    Ok(())
}

/// `vend auth login|logout`: AWS credentials of a profile in the OS keyring.
fn auth_cmd(global: &Global, cmd: &AuthCommand) -> anyhow::Result<u8> {
    let profile = aws_profile(global);
    match cmd {
        AuthCommand::Login { no_verify } => {
            // No keyring, no login: say so before anyone types a secret.
            credentials::keyring_name()?;
            let creds = if std::io::stdin().is_terminal() {
                ask_credentials()?
            } else {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                    .map_err(|e| anyhow::anyhow!("reading the credentials from standard input: {e}"))?;
                credentials::parse_input(&text)?
            };
            if let Some(at) = creds.expiration.filter(|_| creds.is_expired(jiff::Timestamp::now())) {
                anyhow::bail!(
                    "these credentials expired at {at}; nothing was stored: get fresh ones and log in again"
                );
            }
            let identity = if *no_verify {
                None
            } else {
                let mut global = global.clone();
                global.aws_credentials = Some(creds.clone());
                let mut cloud = app::aws_cloud(&global)?;
                let id = cloud.caller_identity().map_err(|e| {
                    anyhow::anyhow!(
                        "AWS did not accept the credentials (STS GetCallerIdentity: {e}); nothing was stored \
                         (check them, or pass --no-verify to store them unchecked)"
                    )
                })?;
                Some(id)
            };
            let store = credentials::store(&profile, &creds)?;
            println!(
                "Stored the AWS credentials of profile {profile} in the OS keyring ({store}, service {}).",
                credentials::KEYRING_SERVICE
            );
            match identity {
                Some(id) => println!("They act as {} (account {}).", id.arn, id.account),
                None => println!("Not checked with AWS (--no-verify)."),
            }
            println!("Commands with --aws --profile {profile} use them ahead of the standard chain.");
            Ok(0)
        }
        AuthCommand::Logout => {
            let (store, removed) = credentials::delete(&profile)?;
            if removed {
                println!("Removed the AWS credentials of profile {profile} from the OS keyring ({store}).");
            } else {
                println!(
                    "No AWS credentials were stored for profile {profile} in the OS keyring ({store}); nothing to remove."
                );
            }
            Ok(0)
        }
    }
}

/// Ask for credentials on the terminal: the access key id visibly, the secret and the token
/// hidden.
fn ask_credentials() -> anyhow::Result<credentials::StoredCredentials> {
    use std::io::Write;
    eprint!("AWS access key id: ");
    std::io::stderr().flush()?;
    let mut id = String::new();
    std::io::stdin().read_line(&mut id)?;
    let secret = rpassword::prompt_password("AWS secret access key (hidden): ")?;
    let token = rpassword::prompt_password("AWS session token (hidden; empty for long-term keys): ")?;
    let creds = credentials::StoredCredentials {
        access_key_id: id.trim().to_string(),
        secret_access_key: secret.trim().to_string(),
        session_token: Some(token.trim().to_string()).filter(|t| !t.is_empty()),
        expiration: None,
    };
    creds.validate()?;
    Ok(creds)
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
        // The same document `--out` saves (with its digest), so `plan --json > FILE` is a plan
        // file `show`/`apply`/`approve` accept.
        print!("{}", String::from_utf8_lossy(&fs::plan_file_bytes(&p)));
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
    // A saved plan that does not parse or was edited is refused before any lock or AWS call.
    let saved = args.file.as_deref().map(fs::read_plan).transpose()?;
    // The workspace's OS file lock, or with --backend the shared S3 lease (renewed while held).
    let (held, notes) = app::lock(
        ws,
        global,
        &env(),
        "apply",
        args.lock_timeout.map(std::time::Duration::from_secs),
        std::time::Duration::from_secs(args.lock_lease),
    )?;
    for note in notes {
        eprintln!("{note}");
    }
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
    let plan = match saved {
        Some(p) => {
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
    held.fence(&mut audit);
    for note in notes {
        eprintln!("{note}");
    }
    let options = engine::Options { poll_interval_ms: args.poll_interval_ms, ..engine::Options::default() };
    let mut show = |e: engine::EngineEvent| {
        if let Some(line) = render::apply_event(&e) {
            out.lines(&[line]);
        }
    };
    // A lost shared lock (taken over after its lease ran out, or force-unlocked) stops the apply
    // before its next step.
    let report = engine::apply_until(
        &plan,
        cloud.as_mut(),
        &mut audit,
        &app::SystemClock,
        &options,
        &mut show,
        &|| held.lost().is_some(),
    )?;
    out.lines(&render::apply_report(&report));
    let lost = held.lost();
    if let Some(note) = held.release() {
        eprintln!("{note}");
    }
    if let Some(why) = lost {
        eprintln!(
            "error: the apply stopped before its next step because the shared lock is no longer ours: {why}; \
             plan again once you know who holds it"
        );
        return Ok(1);
    }
    Ok(if report.is_complete() { 0 } else { 1 })
}

fn audit_verify(ws: &Path, global: &Global) -> anyhow::Result<u8> {
    // The local file, or with --backend the shared log's objects: the same checks.
    let (verified, log) = app::verify_audit(ws, global)?;
    match verified {
        Ok(r) => {
            let trust =
                if r.pinned { "a pinned operator key" } else { "the log's first key (no operators pinned)" };
            match &r.key {
                None => println!("Audit log {log}: empty, nothing to verify."),
                Some(key) => println!(
                    "Audit log {log} is intact: {} records, last seq {} ({}), signed by {key} ({trust}).",
                    r.records, r.last_seq, r.last_hash
                ),
            }
            Ok(0)
        }
        Err(f) => {
            eprintln!("error: audit log {log} does not verify: {f}");
            Ok(1)
        }
    }
}

fn audit_log(ws: &Path, global: &Global, json: bool) -> anyhow::Result<u8> {
    let (records, log) = app::read_audit(ws, global)?;
    for r in &records {
        if json {
            println!("{}", audit::json_row(r)?);
        } else {
            println!("{}", audit::text_row(r));
        }
    }
    if records.is_empty() && !json {
        println!("The audit log {log} is empty.");
    }
    Ok(0)
}

/// `vend force-unlock ID` (see `app::force_unlock`): confirmation by the typed word `yes` on a
/// terminal, or `--force`; without either it refuses.
fn force_unlock_cmd(ws: &Path, global: &Global, args: &ForceUnlockArgs) -> anyhow::Result<u8> {
    let force = args.force;
    let mut confirm = |info: &vend::adapter::s3_lock::LockInfo, ended: bool| -> anyhow::Result<bool> {
        if force {
            return Ok(true);
        }
        if !std::io::stdin().is_terminal() {
            eprintln!(
                "error: no terminal to confirm on; pass --force to remove lock {} held by {}",
                info.id, info.holder
            );
            return Ok(false);
        }
        println!("The shared lock is held by {}.", info.describe());
        if ended {
            println!("Its lease has ended: its holder stopped renewing it.");
        } else {
            println!(
                "Its lease is still running: its holder may be alive, and removing the lock lets another apply start while it writes."
            );
        }
        Ok(ask("Remove it? Only 'yes' will be accepted: ")? == "yes")
    };
    match app::force_unlock(ws, global, &env(), &args.id, &mut confirm)? {
        app::ForceUnlock::Removed { message, notes } => {
            for note in notes {
                eprintln!("{note}");
            }
            println!("{message}");
            Ok(0)
        }
        app::ForceUnlock::Refused(why) => {
            eprintln!("error: {why}");
            Ok(1)
        }
    }
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
