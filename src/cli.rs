//! Command-line definitions (clap), parsed once into `Cli`, plus the cross-flag rules clap
//! cannot express (`Cli::check`), and the conversion of the parsed flags (with the `Env` that
//! `main` read) into the library's one configuration value (`Cli::config`) and a request
//! (`RequestCommand::request`). Clap types stop here and in `main`: nothing downstream re-reads
//! flags or the environment. Reads neither the environment nor files.

use crate::adapter::aws::AwsOptions;
use crate::config::{ApplySettings, AuditTarget, Config, Env, StateBackend, default_audit_path};
use crate::request::{self, Request, RequestKind};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "vend",
    version,
    about = "Account vending and pipeline factory for AWS, driven by a Terraform-like planner",
    long_about = None,
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Workspace folder (holds catalog/ and blueprints/); default: the current directory.
    #[arg(short = 'C', long = "workspace", global = true, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Local state file (snapshot format v1); default: <workspace>/.vend/state.json, seeded on
    /// first use from snapshots/demo.state.json.
    #[arg(long, global = true, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Audit log (JSON Lines); default: <workspace>/.vend/audit.jsonl, its signed head beside it.
    #[arg(long, global = true, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    /// Read the state from AWS instead of the local state file (credentials stored by `vend auth
    /// login` for the profile, else the standard credential chain).
    #[arg(long, global = true, conflicts_with = "state")]
    pub aws: bool,
    /// With --aws or `vend auth`: the AWS profile to use (default: AWS_PROFILE, else `default`);
    /// credentials `vend auth login` stored for it in the OS keyring come first.
    #[arg(long, global = true, value_name = "P")]
    pub profile: Option<String>,
    /// With --aws or `vend auth login`: the AWS region (default: from the profile or environment,
    /// else us-east-1).
    #[arg(long, global = true, value_name = "R")]
    pub region: Option<String>,
    /// With --aws or `vend auth login`: send every AWS call to this endpoint (an emulator);
    /// AWS_ENDPOINT_URL also works.
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Log to stderr: -v vend's debug events and the AWS SDK's info, -vv the SDK's debug events
    /// too. Never a secret.
    #[arg(short = 'v', long = "verbose", global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Share the apply lock and the audit log through S3 (teams): a lease lock at
    /// PREFIX/lock.json and one object per audit record under PREFIX/audit/, instead of
    /// .vend/lock and the local log. Needs --aws (same profile, region and endpoint).
    #[arg(
        long,
        global = true,
        requires = "aws",
        conflicts_with = "audit_log",
        value_name = "s3://BUCKET/PREFIX",
        value_parser = crate::adapter::s3_backend::S3Url::parse
    )]
    pub backend: Option<crate::adapter::s3_backend::S3Url>,
}

impl Cli {
    /// The run's configuration: these flags resolved against `env` (read once by `main`). The
    /// AWS credentials from the OS keyring are not flags: `main` adds them (`Config::aws`).
    pub fn config(&self, env: Env) -> Config {
        let g = &self.global;
        let workspace = g.workspace.clone().unwrap_or_else(|| PathBuf::from("."));
        let apply = match &self.command {
            Some(Command::Apply(a)) => ApplySettings {
                lock_lease: Duration::from_secs(a.lock_lease),
                lock_timeout: a.lock_timeout.map(Duration::from_secs),
                poll_interval_ms: a.poll_interval_ms,
                parallelism: a.parallelism,
                shuffle: a.shuffle_seed,
                local_polls: a.local_polls,
            },
            // The TUI's apply takes the lock with the same settings as `vend apply`'s defaults.
            _ => ApplySettings::default(),
        };
        Config {
            state: if g.aws { StateBackend::Aws } else { StateBackend::Local { file: g.state.clone() } },
            aws: AwsOptions {
                profile: g.profile.clone(),
                region: g.region.clone(),
                endpoint_url: g.endpoint_url.clone(),
                ..AwsOptions::default()
            },
            audit: match &g.backend {
                Some(url) => AuditTarget::Shared(url.clone()),
                None => {
                    AuditTarget::File(g.audit_log.clone().unwrap_or_else(|| default_audit_path(&workspace)))
                }
            },
            apply,
            verbosity: g.verbose,
            env,
            workspace,
        }
    }

    /// The rules clap cannot say: `--profile`, `--region` and `--endpoint-url` belong to the AWS
    /// backend, so outside `vend auth` they need `--aws` (a usage error, exit 1, otherwise);
    /// `--json` goes with no `--format` but json.
    pub fn check(&self) -> Result<(), clap::Error> {
        // `--json` is `--format json`: it goes with no other format.
        let format = match &self.command {
            Some(Command::Plan(a)) => a.json.then_some(a.format).flatten(),
            Some(Command::Show(a)) => a.json.then_some(a.format).flatten(),
            _ => None,
        };
        if let Some(f) = format.filter(|f| *f != OutputFormat::Json) {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let name =
                clap::ValueEnum::to_possible_value(&f).map(|v| v.get_name().to_string()).unwrap_or_default();
            return Err(cmd.error(
                clap::error::ErrorKind::ArgumentConflict,
                format!(
                    "the argument '--json' cannot be used with '--format {name}' (--json is --format json)"
                ),
            ));
        }
        if self.global.aws || matches!(self.command, Some(Command::Auth(_))) {
            return Ok(());
        }
        // `vend import --state FILE --region R`: the region the workspace is written for.
        let import = matches!(self.command, Some(Command::Import(_)));
        let given: Vec<&str> = [
            ("--profile", self.global.profile.is_some()),
            ("--region", self.global.region.is_some() && !import),
            ("--endpoint-url", self.global.endpoint_url.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, set)| set.then_some(flag))
        .collect();
        if given.is_empty() {
            return Ok(());
        }
        let mut cmd = <Cli as clap::CommandFactory>::command();
        Err(cmd.error(
            clap::error::ErrorKind::MissingRequiredArgument,
            format!(
                "the following required arguments were not provided:\n  --aws\n\n{} {} to the AWS backend: add --aws (or use {} with `vend auth`)",
                given.join(", "),
                if given.len() == 1 { "belongs" } else { "belong" },
                if given.len() == 1 { "it" } else { "them" }
            ),
        ))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the workspace alone (syntax, schema, references, AWS limits).
    Validate,
    /// Compute and show the plan.
    Plan(PlanArgs),
    /// Render a saved plan.
    Show(ShowArgs),
    /// Apply a saved plan, or plan, show and ask, then apply.
    Apply(ApplyArgs),
    /// Work with state snapshots.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Write a workspace from an existing organization (--aws, or --state FILE) whose first plan
    /// only adopts; reports what it wrote and what it left out (exit 1 if anything was).
    Import(ImportArgs),
    /// Check or list the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Open the terminal UI (also what `vend` alone does on a terminal).
    Tui,
    /// Request an account or a pipeline: validate, write the request file, log a request event.
    #[command(subcommand)]
    Request(RequestCommand),
    /// Add your signed approval to a saved plan (and an `approve` record to the audit log).
    Approve(ApproveArgs),
    /// Delivery metrics from the audit log: lead time, apply frequency, change failure rate,
    /// time to restore.
    Metrics {
        /// Print the metrics as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove the shared S3 lock (--backend) whose lock id is ID, when its holder is gone and its
    /// lease cannot be waited out; logged in the shared audit log. Asks for `yes` unless --force.
    ForceUnlock(ForceUnlockArgs),
    /// AWS credentials in the OS keyring (per --profile), used ahead of the standard chain by
    /// every --aws command.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Print a shell completion script (bash: `source <(vend completions bash)`).
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print vend's man page (roff: `vend man | man -l -`), or with --all write one page per
    /// command into DIR.
    Man {
        /// Write vend.1 and a vend-<command>.1 per command into DIR instead of printing.
        #[arg(long, value_name = "DIR")]
        all: Option<PathBuf>,
    },
    /// JSON Schemas (draft 2020-12) of the workspace's YAML files, for editors: print the one
    /// named NAME, or with --out write them as DIR/<name>.schema.json (the modelines of catalog/
    /// files look in .vend/schemas); alone, list them.
    Schema {
        /// The schema to print or write (all of them with --out when omitted).
        #[arg(value_parser = schema_names())]
        name: Option<String>,
        /// Write the schema files into DIR (created if missing) instead of printing.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// This operator's signing key, for pinning under `operators:` in catalog/vend.yaml.
    #[command(subcommand)]
    Operator(OperatorCommand),
}

#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Print this operator's public key (created on first use) and the line to paste under
    /// `operators:` in catalog/vend.yaml.
    Key {
        /// Print the key, the name and the line as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// The names `vend schema` accepts (and completes).
fn schema_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(crate::workspace::schema::SCHEMAS.iter().map(|s| s.name))
}

/// The completion script of `vend` for `shell`.
pub fn completions(shell: clap_complete::Shell) -> String {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "vend", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// vend's man pages as (file name, roff text): `vend.1` first, then, with `all`, one per command
/// and subcommand (`vend-plan.1`, `vend-audit-verify.1`, …), hidden ones left out.
pub fn man_pages(all: bool) -> std::io::Result<Vec<(String, String)>> {
    fn walk(cmd: clap::Command, pages: &mut Vec<(String, String)>) -> std::io::Result<()> {
        let subs: Vec<clap::Command> = cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned().collect();
        let man = clap_mangen::Man::new(cmd);
        let mut text = Vec::new();
        man.render(&mut text)?;
        pages.push((man.get_filename(), String::from_utf8_lossy(&text).into_owned()));
        for sub in subs {
            walk(sub, pages)?;
        }
        Ok(())
    }
    let mut cmd = <Cli as clap::CommandFactory>::command().disable_help_subcommand(true);
    cmd.build();
    let mut pages = Vec::new();
    if all {
        walk(cmd, &mut pages)?;
    } else {
        let man = clap_mangen::Man::new(cmd);
        let mut text = Vec::new();
        man.render(&mut text)?;
        pages.push((man.get_filename(), String::from_utf8_lossy(&text).into_owned()));
    }
    Ok(pages)
}

#[derive(Debug, Args)]
pub struct ForceUnlockArgs {
    /// The lock id, as the refused apply or `vend force-unlock` without the right id names it.
    pub id: String,
    /// Do not ask for confirmation (needed without a terminal).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Store AWS credentials for --profile in the OS keyring: piped on standard input (the JSON
    /// of `aws configure export-credentials --format process`, or AWS_ACCESS_KEY_ID=… /
    /// AWS_SECRET_ACCESS_KEY=… / AWS_SESSION_TOKEN=… lines), or asked for on a terminal (secret
    /// and token hidden). Checked with STS GetCallerIdentity first.
    Login {
        /// Store without asking STS who the credentials belong to.
        #[arg(long)]
        no_verify: bool,
    },
    /// Remove the AWS credentials of --profile from the OS keyring.
    Logout,
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// A plan saved with `vend plan --out FILE`.
    pub file: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum RequestCommand {
    /// Write catalog/accounts/NAME.yaml from an account blueprint.
    Account(RequestAccountArgs),
    /// Write catalog/pipelines/NAME.yaml from a pipeline blueprint.
    Pipeline(RequestPipelineArgs),
}

impl RequestCommand {
    /// The request these flags describe (not yet stamped with who asked and when); a malformed
    /// `--param`/`--tag` pair is refused naming the flag.
    pub fn request(&self) -> anyhow::Result<Request> {
        let mut req = Request::default();
        let (params, tags) = match self {
            RequestCommand::Account(a) => {
                req.kind = RequestKind::Account;
                req.blueprint = a.blueprint.clone();
                req.name = a.name.clone();
                req.email = a.email.clone();
                req.owner = a.owner.clone().unwrap_or_default();
                req.reason = a.reason.clone().unwrap_or_default();
                (a.param.as_slice(), a.tag.as_slice())
            }
            RequestCommand::Pipeline(p) => {
                req.kind = RequestKind::Pipeline;
                req.blueprint = p.blueprint.clone();
                req.name = p.name.clone();
                req.account = p.account.clone();
                req.reason = p.reason.clone().unwrap_or_default();
                (p.param.as_slice(), &[][..])
            }
        };
        req.params = request::parse_pairs(params).map_err(|e| anyhow::anyhow!("--param {e}"))?;
        req.tags = request::parse_pairs(tags).map_err(|e| anyhow::anyhow!("--tag {e}"))?;
        Ok(req)
    }
}

#[derive(Debug, Args)]
pub struct RequestAccountArgs {
    /// The account blueprint, `name@version`.
    #[arg(long, value_name = "B@V")]
    pub blueprint: String,
    /// The account name (also the file name).
    #[arg(long, value_name = "N")]
    pub name: String,
    /// The account's root e-mail.
    #[arg(long, value_name = "E")]
    pub email: String,
    /// The owning team.
    #[arg(long, value_name = "O")]
    pub owner: Option<String>,
    /// A blueprint parameter, `key=value`. Repeatable.
    #[arg(long, value_name = "K=V")]
    pub param: Vec<String>,
    /// A tag, `key=value`. Repeatable.
    #[arg(long, value_name = "K=V")]
    pub tag: Vec<String>,
    /// Why (kept in the request file).
    #[arg(long)]
    pub reason: Option<String>,
}

#[derive(Debug, Args)]
pub struct RequestPipelineArgs {
    /// The pipeline blueprint, `name@version`.
    #[arg(long, value_name = "B@V")]
    pub blueprint: String,
    /// The account to launch the pipeline in.
    #[arg(long, value_name = "A")]
    pub account: String,
    /// The pipeline name (also the file name).
    #[arg(long, value_name = "N")]
    pub name: String,
    /// A template parameter, `key=value`. Repeatable.
    #[arg(long, value_name = "K=V")]
    pub param: Vec<String>,
    /// Why (kept in the request file).
    #[arg(long)]
    pub reason: Option<String>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved with `vend plan --out FILE`; refused when the state or workspace moved since.
    pub file: Option<PathBuf>,
    /// Do not ask: with FILE, apply it if its basis still matches; without, plan and apply at once.
    #[arg(long)]
    pub auto_approve: bool,
    /// Allow closing this account (needed for every close with --auto-approve). Repeatable.
    #[arg(long, value_name = "NAME")]
    pub allow_close: Vec<String>,
    /// Wait up to this many seconds for another apply's lock instead of failing at once.
    #[arg(long, value_name = "SECONDS")]
    pub lock_timeout: Option<u64>,
    /// With --backend: the lease of the shared lock, renewed every third of it while the apply
    /// runs; another operator may take the lock over once it ran out (a crashed holder).
    #[arg(long, value_name = "SECONDS", default_value_t = crate::adapter::s3_lock::DEFAULT_LEASE.as_secs(), value_parser = clap::value_parser!(u64).range(3..=86400))]
    pub lock_lease: u64,
    /// Milliseconds between polls of an asynchronous request (CreateAccount, shares, records).
    #[arg(long, value_name = "MS", default_value_t = crate::config::DEFAULT_POLL_INTERVAL_MS, value_parser = clap::value_parser!(u64).range(10..))]
    pub poll_interval_ms: u64,
    /// Steps in flight at most. Steps that could interfere keep their plan order; writes to one
    /// Organizations entity never overlap; account creations stay under AWS's limit. 1: one
    /// step at a time, in plan order.
    #[arg(long, value_name = "N", default_value_t = crate::config::DEFAULT_PARALLELISM, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=256))]
    pub parallelism: usize,
    /// Testing aid: start the steps that may start in a random order from this seed instead of
    /// plan order (every order the schedule allows must apply).
    #[arg(long, value_name = "SEED", hide = true)]
    pub shuffle_seed: Option<u64>,
    /// Testing aid: the in-process cloud (state file) completes an asynchronous request —
    /// account creation, share, provisioning record — after N polls instead of the first, so
    /// steps stay in flight for N poll intervals (progress and Ctrl-C tests).
    #[arg(long, value_name = "N", hide = true, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub local_polls: Option<u32>,
    /// Without FILE: apply only this change and what it depends on. Repeatable (save a targeted
    /// plan with `vend plan --target … --out FILE`).
    #[arg(long, value_name = "ADDRESS", value_parser = crate::plan::Address::parse, conflicts_with = "file")]
    pub target: Vec<crate::plan::Address>,
    /// Without FILE: leave this change out, with what depends on it. Repeatable.
    #[arg(long, value_name = "ADDRESS", value_parser = crate::plan::Address::parse, conflicts_with = "file")]
    pub exclude: Vec<crate::plan::Address>,
}

impl ApplyArgs {
    /// The changes `--target` / `--exclude` select.
    pub fn selection(&self) -> crate::plan::scope::Selection {
        crate::plan::scope::Selection { targets: self.target.clone(), excludes: self.exclude.clone() }
    }
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check every record's hash, chain and signature, and the signed head (exit 1 on any change).
    Verify,
    /// List the records.
    Log {
        /// One JSON record per line, as stored.
        #[arg(long)]
        json: bool,
    },
}

/// `--format` of `plan` and `show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// The human plan.
    Text,
    /// The plan JSON document (format v1), as `--json`.
    Json,
    /// GitHub-flavoured markdown for a pull-request comment, cut to GitHub's 65,536 characters.
    Markdown,
}

impl OutputFormat {
    /// The format `--format` and `--json` ask for together (clap refuses `--json` with a
    /// `--format` other than json: `Cli::check`).
    fn resolve(format: Option<OutputFormat>, json: bool) -> crate::flow::plan::Format {
        use crate::flow::plan::Format;
        match (format, json) {
            (Some(OutputFormat::Json), _) | (None, true) => Format::Json,
            (Some(OutputFormat::Markdown), _) => Format::Markdown,
            (Some(OutputFormat::Text), _) | (None, false) => Format::Text,
        }
    }
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Print the plan as JSON (format v1) instead of text: the same as --format json.
    #[arg(long)]
    pub json: bool,
    /// Print the plan as text (default), json, or markdown (a pull-request comment).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<OutputFormat>,
    /// Also save the plan to FILE (the JSON document).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 2 when the plan has changes (0: none, 1: error).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// List resources that need no change too.
    #[arg(long)]
    pub show_unchanged: bool,
    /// Propose upgrades of accounts and pipelines on deprecated blueprint versions to the newest
    /// published one (as `upgrade: propose` in catalog/vend.yaml does).
    #[arg(long)]
    pub upgrade: bool,
    /// Plan only this change and what it depends on (the rest is listed in the plan's
    /// `excluded`). Repeatable.
    #[arg(long, value_name = "ADDRESS", value_parser = crate::plan::Address::parse)]
    pub target: Vec<crate::plan::Address>,
    /// Leave this change out, with everything that depends on it. Repeatable.
    #[arg(long, value_name = "ADDRESS", value_parser = crate::plan::Address::parse)]
    pub exclude: Vec<crate::plan::Address>,
}

impl PlanArgs {
    /// The flow's options these flags set.
    pub fn options(&self) -> crate::flow::plan::PlanOptions {
        crate::flow::plan::PlanOptions {
            format: OutputFormat::resolve(self.format, self.json),
            out: self.out.clone(),
            detailed_exitcode: self.detailed_exitcode,
            show_unchanged: self.show_unchanged,
            upgrade: self.upgrade,
            selection: crate::plan::scope::Selection {
                targets: self.target.clone(),
                excludes: self.exclude.clone(),
            },
        }
    }
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan saved with `vend plan --out FILE`.
    pub file: PathBuf,
    /// Print the saved plan as JSON: the same as --format json.
    #[arg(long)]
    pub json: bool,
    /// Print the saved plan as text (default), json, or markdown (a pull-request comment).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<OutputFormat>,
}

impl ShowArgs {
    /// The format asked for.
    pub fn format(&self) -> crate::flow::plan::Format {
        OutputFormat::resolve(self.format, self.json)
    }
}

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Write the current state (format v1) to FILE.
    Save {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Save what `vend import --state FILE` needs: with --aws, every member account a
        /// portfolio is shared with searched for provisioned products (as `vend import` reads),
        /// and the template body of every product version. Exit 1 if part of it could not be read.
        #[arg(long)]
        for_import: bool,
    },
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Import only this OU (a path such as Workloads/prod) and what is below it.
    #[arg(long, value_name = "PATH")]
    pub ou: Option<String>,
    /// Replace the catalog/ and blueprints/ of an existing workspace.
    #[arg(long)]
    pub force: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ApplySettings, AuditTarget, StateBackend};

    fn config(args: &[&str]) -> Config {
        Cli::try_parse_from(args).unwrap().config(Env::default())
    }

    #[test]
    fn the_tui_and_vend_apply_get_the_same_lock_settings() {
        // The TUI (`vend`, `vend tui`) has no apply flags: its apply takes the lock with the
        // same settings `vend apply` uses by default, through the same `Config::apply`.
        let apply = config(&["vend", "apply"]).apply;
        assert_eq!(config(&["vend"]).apply, apply);
        assert_eq!(config(&["vend", "tui"]).apply, apply);
        assert_eq!(apply, ApplySettings::default());
        let set = config(&[
            "vend",
            "apply",
            "--lock-lease",
            "7",
            "--lock-timeout",
            "3",
            "--poll-interval-ms",
            "50",
        ]);
        assert_eq!(set.apply.lock_lease, Duration::from_secs(7));
        assert_eq!(set.apply.lock_timeout, Some(Duration::from_secs(3)));
        assert_eq!(set.apply.poll_interval_ms, 50);
    }

    #[test]
    fn the_flags_resolve_into_one_configuration() {
        let c = config(&["vend", "-C", "ws", "--state", "s.json", "--audit-log", "a.jsonl", "-vv", "plan"]);
        assert_eq!(c.workspace, PathBuf::from("ws"));
        assert_eq!(c.state, StateBackend::Local { file: Some("s.json".into()) });
        assert_eq!(c.audit, AuditTarget::File("a.jsonl".into()));
        assert_eq!(c.verbosity, 2);
        let c = config(&["vend", "-C", "ws", "plan"]);
        assert_eq!(c.audit, AuditTarget::File(PathBuf::from("ws").join(".vend").join("audit.jsonl")));
        let c = config(&[
            "vend",
            "--aws",
            "--profile",
            "ops",
            "--region",
            "eu-west-1",
            "--backend",
            "s3://bucket/team",
            "plan",
        ]);
        assert!(c.uses_aws());
        assert_eq!((c.aws.profile.as_deref(), c.aws.region.as_deref()), (Some("ops"), Some("eu-west-1")));
        assert!(matches!(&c.audit, AuditTarget::Shared(url) if c.shared_backend() == Some(url)));
    }
}
