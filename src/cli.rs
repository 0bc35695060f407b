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
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the workspace alone (syntax, schema, references, AWS limits).
    Validate,
    /// Compute and show the plan.
    Plan(PlanArgs),
    /// Render a saved plan.
    Show(ShowArgs),
    /// Work with state snapshots.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
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
