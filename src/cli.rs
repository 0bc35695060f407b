//! Command-line definitions (clap), parsed once into `Cli`, plus the one cross-flag rule clap
//! cannot express (`Cli::check`). Nothing downstream re-reads flags or the environment: `main`
//! resolves everything it needs from this value.

use crate::adapter::credentials::StoredCredentials;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

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
    /// The AWS credentials `main` found in the OS keyring for the selected profile (not a flag).
    #[arg(skip)]
    pub aws_credentials: Option<StoredCredentials>,
}

impl Cli {
    /// The rules clap cannot say: `--profile`, `--region` and `--endpoint-url` belong to the AWS
    /// backend, so outside `vend auth` they need `--aws` (a usage error, exit 1, otherwise).
    pub fn check(&self) -> Result<(), clap::Error> {
        if self.global.aws || matches!(self.command, Some(Command::Auth(_))) {
            return Ok(());
        }
        let given: Vec<&str> = [
            ("--profile", self.global.profile.is_some()),
            ("--region", self.global.region.is_some()),
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
    #[arg(long, value_name = "SECONDS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(3..=86400))]
    pub lock_lease: u64,
    /// Milliseconds between polls of an asynchronous request (CreateAccount, shares, records).
    #[arg(long, value_name = "MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(10..))]
    pub poll_interval_ms: u64,
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

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Print the plan as JSON (format v1) instead of text.
    #[arg(long)]
    pub json: bool,
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
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan saved with `vend plan --out FILE`.
    pub file: PathBuf,
    /// Print the saved plan as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Write the current state (format v1) to FILE.
    Save {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}
