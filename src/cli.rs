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

#[derive(Debug, Args)]
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
