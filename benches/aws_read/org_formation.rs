//! org-formation beside vend: npm package `aws-organization-formation@1.0.17`, installed into a
//! temporary folder, runs `init` (it reads the organization — roots, OUs, accounts, SCPs, tags —
//! and, in every account through `OrganizationAccountAccessRole`, the IAM alias, the password
//! policy and the support level, then writes its template and its state to an S3 bucket)
//! against the same seeded emulator: every client pointed at it with `AWS_ENDPOINT_URL`, static
//! test credentials, `us-east-1`, no profile files. The emulator answers the Support API's
//! DescribeSeverityLevels as AWS does for an account without a support plan
//! (`tests/emulator/vend_moto/support.py`).

use crate::emulator_harness::{ACCESS_KEY, Emulator, REGION, SECRET_KEY};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub const PACKAGE: &str = "aws-organization-formation@1.0.17";

/// What one `init` run did.
pub struct Run {
    pub wall: Duration,
    /// The emulator's stats for the run.
    pub stats: Value,
    /// Lines of its output that name an error or a warning.
    pub complaints: Vec<String>,
}

/// Install the package into `dir`; the CLI's path, or why not.
pub fn install(dir: &Path) -> Result<PathBuf, String> {
    let out = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix"])
        .arg(dir)
        .arg(PACKAGE)
        .output()
        .map_err(|e| format!("cannot run npm: {e}"))?;
    if !out.status.success() {
        return Err(format!("npm install {PACKAGE} failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    let cli = dir.join("node_modules/aws-organization-formation/dist/cli.js");
    if cli.exists() { Ok(cli) } else { Err(format!("npm installed {PACKAGE} without {}", cli.display())) }
}

/// `org-formation init` against the emulator (stats zeroed first), writing its template into
/// `dir`; an error with its output when it fails.
pub fn init(emu: &Emulator, cli: &Path, dir: &Path) -> Result<Run, String> {
    let (status, body) = emu.http("POST", "/_vend/stats/reset", "");
    assert_eq!(status, 200, "{body}");
    let template = dir.join("organization.yml");
    let start = Instant::now();
    let out = Command::new("node")
        .arg(cli)
        .arg("init")
        .arg(&template)
        .args(["--region", REGION])
        .current_dir(dir)
        .env("AWS_ENDPOINT_URL", &emu.endpoint)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", REGION)
        .env("AWS_DEFAULT_REGION", REGION)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1")
        .output()
        .map_err(|e| format!("cannot run node: {e}"))?;
    let wall = start.elapsed();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if !out.status.success() || !template.exists() {
        let tail: Vec<&str> = text.lines().rev().take(20).collect();
        return Err(format!(
            "org-formation init failed ({}):\n{}",
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ));
    }
    let (status, body) = emu.http("GET", "/_vend/stats", "");
    assert_eq!(status, 200, "{body}");
    let complaints = text
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            (l.contains("error") || l.contains("warn")) && !l.contains("nodeversionsupportwarning")
        })
        .map(str::to_string)
        .collect();
    Ok(Run { wall, stats: serde_json::from_str(&body).unwrap(), complaints })
}
