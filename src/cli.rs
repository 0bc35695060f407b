//! Command-line definitions (clap), parsed once into `Cli`. Nothing downstream re-reads flags
//! or the environment: `main` resolves everything it needs from this value.

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
    /// Read the state from AWS (the standard credential chain) instead of the local state file.
    #[arg(long, global = true, conflicts_with = "state")]
    pub aws: bool,
    /// With --aws: the AWS profile to use (default: AWS_PROFILE or the default profile).
    #[arg(long, global = true, requires = "aws", value_name = "P")]
    pub profile: Option<String>,
    /// With --aws: the AWS region (default: from the profile or environment, else us-east-1).
    #[arg(long, global = true, requires = "aws", value_name = "R")]
    pub region: Option<String>,
    /// With --aws: send every AWS call to this endpoint (an emulator); AWS_ENDPOINT_URL also works.
    #[arg(long, global = true, requires = "aws", value_name = "URL")]
    pub endpoint_url: Option<String>,
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
