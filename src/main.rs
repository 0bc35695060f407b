//! The `vend` binary: parse arguments once, read the environment once, resolve both into the
//! library's `Config` (AWS credentials from the OS keyring included), run the command's flow
//! (`vend::flow`, or the TUI) over the process's standard streams, and map the outcome to the
//! exit codes of DESIGN §5 (0 ok / no changes, 1 any error, 2 changes with
//! `plan --detailed-exitcode`). The only place that reads the environment.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use clap::Parser;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use vend::adapter::keys;
use vend::cli::{AuditCommand, AuthCommand, Cli, Command, OperatorCommand, SnapshotCommand};
use vend::config::{Config, Env};
use vend::flow::{self, Console, confirm::Consent};
use vend::render;

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
    let config = cli.config(read_env());
    // The terminal UI owns the terminal: `-v`'s stderr lines would draw over it.
    if !matches!(cli.command, None | Some(Command::Tui)) {
        init_tracing(&config);
    }
    match run(cli, config) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli, mut config: Config) -> anyhow::Result<u8> {
    let mut term =
        Term { color: config.env.color && config.env.stdout_tty, stderr_tty: config.env.stderr_tty };
    let console: &mut dyn Console = &mut term;
    if let Some(Command::Auth(cmd)) = &cli.command {
        return match cmd {
            AuthCommand::Login { no_verify } => flow::auth::login(&config, *no_verify, console),
            AuthCommand::Logout => flow::auth::logout(&config, console),
        };
    }
    // Text from the definitions alone: no workspace, state or AWS.
    match &cli.command {
        Some(Command::Completions { shell }) => {
            console.out(&vend::cli::completions(*shell));
            return Ok(0);
        }
        Some(Command::Man { all }) => {
            let pages = vend::cli::man_pages(all.is_some())?;
            return match all {
                Some(dir) => flow::extras::write_files(dir, &pages, console),
                None => {
                    pages.iter().take(1).for_each(|(_, text)| console.out(text));
                    Ok(0)
                }
            };
        }
        Some(Command::Schema { name, out }) => {
            return flow::extras::schema(name.as_deref(), out.as_deref(), console);
        }
        _ => {}
    }
    // Every AWS client (the cloud, and the shared S3 backend, which needs --aws) starts from these.
    let tui = matches!(cli.command, None | Some(Command::Tui));
    let mut notes = vec![];
    if config.uses_aws() {
        let note = flow::auth::resolve(&mut config)?;
        // The UI shows it on its status line instead: nothing is printed behind the UI.
        if tui { notes.push(note) } else { console.note(&note) }
    }
    let command = match cli.command {
        None | Some(Command::Tui) => {
            if !(config.env.stdin_tty && config.env.stdout_tty) {
                eprintln!(
                    "vend: the terminal UI needs a terminal; use a command:\n\n{}",
                    <Cli as clap::CommandFactory>::command().render_usage()
                );
                eprintln!("Run `vend --help` for the commands.");
                return Ok(1);
            }
            return vend::tui::run(config, notes);
        }
        Some(c) => c,
    };
    match command {
        Command::Tui
        | Command::Auth(_)
        | Command::Completions { .. }
        | Command::Man { .. }
        | Command::Schema { .. } => Ok(1),
        Command::Request(req) => flow::request::run(&config, req.request()?, console),
        Command::Approve(args) => flow::audit::approve(&config, &args.file, console),
        Command::Metrics { json } => flow::audit::metrics(&config, json, console),
        Command::Validate => flow::plan::validate(&config, console),
        Command::Plan(args) => flow::plan::plan(&config, &args.options(), console),
        Command::Show(args) => flow::plan::show(&config, &args.file, args.format(), console),
        Command::Apply(args) => {
            let selection = args.selection();
            let consent = if args.auto_approve {
                Consent::Auto { allow_close: args.allow_close }
            } else {
                Consent::Ask { terminal: config.env.stdin_tty }
            };
            flow::apply::cli(&config, args.file, selection, &consent, console)
        }
        Command::ForceUnlock(args) => flow::audit::force_unlock(&config, &args.id, args.force, console),
        Command::Operator(OperatorCommand::Key { json }) => flow::audit::operator_key(&config, json, console),
        Command::Audit(AuditCommand::Verify) => flow::audit::verify(&config, console),
        Command::Audit(AuditCommand::Log { json }) => flow::audit::log(&config, json, console),
        Command::Snapshot(SnapshotCommand::Save { out, for_import }) => {
            flow::plan::snapshot_save(&config, &out, for_import, console)
        }
        Command::Import(args) => flow::import::import(
            &config,
            &flow::import::ImportOptions { ou: args.ou, force: args.force },
            console,
        ),
    }
}

/// The process's standard streams: colour on stdout when it is a terminal and NO_COLOR is unset,
/// on stderr when it is a terminal too.
struct Term {
    color: bool,
    stderr_tty: bool,
}

impl Console for Term {
    fn out(&mut self, text: &str) {
        print!("{text}");
        let _ = std::io::stdout().flush();
    }
    fn err(&mut self, text: &str) {
        eprint!("{text}");
        let _ = std::io::stderr().flush();
    }
    fn out_lines(&mut self, lines: &[render::Line]) {
        print!("{}", render::to_ansi(lines, self.color));
    }
    fn err_lines(&mut self, lines: &[render::Line]) {
        eprint!("{}", render::to_ansi(lines, self.color && self.stderr_tty));
    }
    fn read_line(&mut self) -> anyhow::Result<String> {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        Ok(line)
    }
    fn read_hidden(&mut self, prompt: &str) -> anyhow::Result<String> {
        Ok(rpassword::prompt_password(prompt)?)
    }
    fn read_all(&mut self) -> std::io::Result<String> {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
        Ok(text)
    }
}

/// What the library needs from the environment, read once here.
fn read_env() -> Env {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    // VEND_KEY_STORE=file keeps the key in the key file even where an OS keyring exists.
    let key_store = match std::env::var("VEND_KEY_STORE").as_deref() {
        Ok("file") => keys::KeyStore::FileOnly,
        _ => keys::KeyStore::Auto,
    };
    // Who runs vend: USER / LOGNAME / USERNAME, else `git config user.email`, else the uid.
    let (user, user_source) = vend::config::resolve_user(
        &[("USER", var("USER")), ("LOGNAME", var("LOGNAME")), ("USERNAME", var("USERNAME"))],
        git_email,
        uid,
    );
    Env {
        user,
        user_source,
        config_dir: config_dir(),
        key_store,
        color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        aws_profile: var("AWS_PROFILE"),
        stdin_tty: std::io::stdin().is_terminal(),
        stdout_tty: std::io::stdout().is_terminal(),
        stderr_tty: std::io::stderr().is_terminal(),
        term: var("TERM"),
    }
}

/// `git config user.email` (run once; any failure is no answer).
fn git_email() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["config", "user.email"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The numeric user id of this process (Unix: the owner of `/proc/self`, else `id -u`).
fn uid() -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(m) = std::fs::metadata("/proc/self") {
            return Some(m.uid());
        }
        let out = std::process::Command::new("id").arg("-u").output().ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    }
    #[cfg(not(unix))]
    None
}

/// The user's config directory (XDG_CONFIG_HOME, else ~/.config): home of the key file.
fn config_dir() -> Result<PathBuf, String> {
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
        let p = PathBuf::from(x);
        if p.is_absolute() {
            return Ok(p);
        }
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(h) => Ok(PathBuf::from(h).join(".config")),
        None => Err("neither XDG_CONFIG_HOME nor HOME is set: cannot find the operator key file".into()),
    }
}

/// `-v`: vend's own debug events and the AWS SDK's info; `-vv` (and more): the SDK's debug
/// events too, except endpoint resolution (its debug event prints the resolved identity: the
/// access key id). Never the SDK's trace level: its canonical requests and signing details carry
/// the access key id and the session token. `tests/secrets.rs` scans `-vv` output for secrets.
fn init_tracing(config: &Config) {
    let directives = match config.verbosity {
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
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(config.env.color && config.env.stderr_tty)
        .try_init();
}
