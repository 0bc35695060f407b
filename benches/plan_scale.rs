//! Scale benchmark for `vend plan` (not a test): generate a workspace where every one of N
//! accounts has a request and about 1 % of them change (tag change, move to another OU, a few
//! new accounts), plus a local state file (snapshot format v1) holding the same organization,
//! then run the real binary end to end and report wall time, peak RSS and the number of
//! planned changes against the targets.
//!
//!     cargo bench --bench plan_scale
//!     VEND_BENCH_SIZES=1000,10000 VEND_BENCH_RUNS=5 cargo bench --bench plan_scale
//!
//! Environment: `VEND_BENCH_SIZES` (comma-separated N, default `10000,100000`),
//! `VEND_BENCH_RUNS` (timed runs per N; default 5 up to 20 000 accounts, else 1),
//! `VEND_BENCH_TIMEOUT` (seconds per run, default 150), `VEND_BENCH_KEEP=1` keeps the
//! generated workspaces (their paths are printed).
//!
//! Peak RSS is measured exactly per run: the bench re-executes itself as a small wrapper
//! (`__measure`) that spawns `vend`, waits for it and reads `getrusage(RUSAGE_CHILDREN)`, whose
//! only child is that one `vend` process.

#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const VEND: &str = env!("CARGO_BIN_EXE_vend");

/// Targets (see the task): 10k accounts in <= 0.5 s and <= 200 MB; 100k within 12x of 10k.
const TARGET_10K_SECS: f64 = 0.5;
const TARGET_10K_MB: f64 = 200.0;
const TARGET_RATIO: f64 = 12.0;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("__measure") {
        return measure_child(&args[2..]);
    }
    bench()
}

// ------------------------------------------------------------------------- measuring wrapper

/// `__measure <timeout_secs> <stdout_file> <program> <args…>`: run the program with stdout to
/// the file, print `wall_ns maxrss_kb exit_code` (exit code -1: killed after the timeout).
fn measure_child(args: &[String]) -> ExitCode {
    let timeout = Duration::from_secs_f64(args[0].parse().unwrap_or(150.0));
    let out = fs::File::create(&args[1]).expect("stdout file");
    let start = Instant::now();
    let mut child = Command::new(&args[2])
        .args(&args[3..])
        .stdout(out)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vend");
    // Drain stderr on a thread so a chatty run cannot block on a full pipe.
    let mut stderr = child.stderr.take().expect("stderr");
    let drain = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code().unwrap_or(-2);
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break -1;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let wall = start.elapsed();
    let usage =
        nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN).expect("getrusage");
    let err = drain.join().unwrap_or_default();
    if !err.trim().is_empty() {
        // Pass vend's stderr on (first lines only) so failures are visible.
        for line in err.lines().take(5) {
            eprintln!("    vend: {line}");
        }
    }
    println!("{} {} {}", wall.as_nanos(), usage.max_rss(), code);
    ExitCode::SUCCESS
}

struct Run {
    wall: Duration,
    max_rss_kb: i64,
    code: i32,
}

fn run_once(ws: &Path, stdout_file: &Path, timeout_secs: f64) -> Run {
    let me = std::env::current_exe().expect("current_exe");
    let state = ws.join("state.json");
    let out = Command::new(me)
        .arg("__measure")
        .arg(timeout_secs.to_string())
        .arg(stdout_file)
        .arg(VEND)
        .arg("-C")
        .arg(ws)
        .arg("--state")
        .arg(&state)
        .args(["plan", "--json"])
        .stderr(Stdio::inherit())
        .output()
        .expect("run the measuring wrapper");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace();
    let wall_ns: u64 = it.next().and_then(|s| s.parse().ok()).expect("wall time from wrapper");
    let max_rss_kb: i64 = it.next().and_then(|s| s.parse().ok()).expect("max rss from wrapper");
    let code: i32 = it.next().and_then(|s| s.parse().ok()).expect("exit code from wrapper");
    Run { wall: Duration::from_nanos(wall_ns), max_rss_kb, code }
}

// ------------------------------------------------------------------------------ generation

/// splitmix64: a deterministic, well-mixed hash of an index.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

const TEAMS: &[&str] = &[
    "payments",
    "checkout",
    "search",
    "data",
    "identity",
    "billing",
    "ledger",
    "fraud",
    "catalog",
    "pricing",
    "inventory",
    "shipping",
    "returns",
    "loyalty",
    "ads",
    "recs",
    "media",
    "messaging",
    "notifications",
    "onboarding",
    "support",
    "analytics",
    "ml",
    "platform",
    "network",
    "edge",
    "observability",
    "security",
    "compliance",
    "finance",
    "hr",
    "legal",
];
const SERVICES: &[&str] = &[
    "api", "web", "worker", "stream", "batch", "etl", "gateway", "auth", "store", "cache", "index", "events",
    "jobs", "reports", "portal", "mobile", "admin", "sync", "export", "ingest",
];
const PEOPLE: &[&str] = &["dana", "marco", "lena", "omar", "priya", "alice", "bob", "chen", "ines", "yuki"];

/// OU placement: (workspace path, state OU id).
const PLACEMENTS: &[(&str, &str)] = &[
    ("Workloads/dev", "ou-7q3x-dev4k8m2"),
    ("Workloads/prod", "ou-7q3x-prd9w1c5"),
    ("Sandbox", "ou-7q3x-sbx6j2n8"),
];
const WORKLOADS_ID: &str = "ou-7q3x-wkl5r7t1";
const ROOT_ID: &str = "r-7q3x";
const MGMT: &str = "111111111111";

const DENY_LEAVE_ORG: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "DenyLeaveOrganization",
      "Effect": "Deny",
      "Action": "organizations:LeaveOrganization",
      "Resource": "*"
    }
  ]
}
"#;
const DENY_ROOT_USER: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "DenyRootUser",
      "Effect": "Deny",
      "Action": "*",
      "Resource": "*",
      "Condition": { "StringLike": { "aws:PrincipalArn": ["arn:aws:iam::*:root"] } }
    }
  ]
}
"#;
const REGION_GUARD: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "DenyAllOutsideApprovedRegions",
      "Effect": "Deny",
      "NotAction": ["iam:*", "organizations:*", "route53:*", "sts:*", "support:*", "budgets:*"],
      "Resource": "*",
      "Condition": {
        "StringNotEquals": { "aws:RequestedRegion": ["eu-central-1", "eu-west-1", "us-east-1"] },
        "ArnNotLike": { "aws:PrincipalARN": ["arn:aws:iam::*:role/OrganizationAccountAccessRole"] }
      }
    }
  ]
}
"#;
const FULL_AWS_ACCESS: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

#[derive(Default, Clone, Copy)]
struct Expected {
    create: usize,
    update: usize,
    moves: usize,
}

impl Expected {
    fn total(&self) -> usize {
        self.create + self.update + self.moves
    }
}

enum Fate {
    Same,
    Retag,
    Move,
    New,
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, text).expect("write");
}

/// Write workspace + state.json for `n` requested accounts into `dir`; return what the plan
/// must contain.
fn generate(dir: &Path, n: usize) -> Expected {
    write(
        &dir.join("catalog/vend.yaml"),
        &format!(
            "region: us-east-1\nmanagement_account: \"{MGMT}\"\ntemplate_bucket: vend-templates-{{management}}\n\
             ownership_tag: vend:managed\nprotected: [\"{MGMT}\"]\nrequired_approvals: 0\n"
        ),
    );
    write(
        &dir.join("catalog/organization.yaml"),
        "units:\n  Workloads:\n    policies: [deny-leave-org, region-guard]\n    tags: { tier: workloads }\n    units:\n      \
         dev: {}\n      prod: { policies: [deny-root-user] }\n  Sandbox:\n    policies: [region-guard]\n\
         root_policies: [deny-leave-org]\n",
    );
    write(&dir.join("catalog/policies/deny-leave-org.json"), DENY_LEAVE_ORG);
    write(&dir.join("catalog/policies/deny-root-user.json"), DENY_ROOT_USER);
    write(&dir.join("catalog/policies/region-guard.json"), REGION_GUARD);
    write(
        &dir.join("blueprints/accounts/workload/v1.yaml"),
        "description: Account for a product team's workload or a personal sandbox\nparams:\n  \
         placement:\n    description: Where the account lives\n    allowed: [Workloads/dev, Workloads/prod, Sandbox]\n    \
         default: Workloads/dev\n  app:\n    description: Application the account runs\n    pattern: '^[a-z0-9-]+$'\n    \
         default: shared\nou: '{placement}'\npolicies: []\ntags: { required: [cost-center], defaults: { data-class: internal } }\n\
         email: { pattern: '^aws\\+[a-z0-9-]+@example\\.com$' }\n",
    );

    let accounts_dir = dir.join("catalog/accounts");
    fs::create_dir_all(&accounts_dir).expect("mkdir accounts");
    let mut expected = Expected::default();
    let mut state_accounts: Vec<Value> = Vec::with_capacity(n + 1);
    state_accounts.push(json!({
        "id": MGMT, "name": "management", "email": "aws+management@example.com", "state": "ACTIVE",
        "parent_id": ROOT_ID, "tags": {}
    }));
    let mut yaml = String::with_capacity(512);
    for i in 0..n {
        let h = mix(i as u64);
        let team = TEAMS[i % TEAMS.len()];
        let service = SERVICES[(i / TEAMS.len()) % SERVICES.len()];
        let k = i / (TEAMS.len() * SERVICES.len());
        let name = format!("{team}-{service}-{k}");
        let email = format!("aws+{name}@example.com");
        let owner = format!("team-{team}");
        let person = PEOPLE[(h >> 8) as usize % PEOPLE.len()];
        let cost_center = 1000 + (i % TEAMS.len()) * 137 % 9000;
        // Placement: 60 % dev, 30 % prod, 10 % sandbox.
        let pick = (h >> 16) % 10;
        let placement = if pick < 6 {
            0
        } else if pick < 9 {
            1
        } else {
            2
        };
        // About 1 % change: 10 % of those are new accounts, 45 % retags, 45 % moves.
        let fate = if h.is_multiple_of(100) {
            match (h >> 32) % 20 {
                0 | 1 => Fate::New,
                2..=10 => Fate::Retag,
                _ => Fate::Move,
            }
        } else {
            Fate::Same
        };
        let (req_placement, req_cost_center) = match fate {
            Fate::Same | Fate::New => (placement, cost_center),
            Fate::Retag => (placement, cost_center + 1),
            Fate::Move => ((placement + 1) % PLACEMENTS.len(), cost_center),
        };
        match fate {
            Fate::Same => {}
            Fate::New => expected.create += 1,
            Fate::Retag => expected.update += 1,
            Fate::Move => expected.moves += 1,
        }
        let month = 1 + (h >> 40) % 12;
        let day = 1 + (h >> 44) % 28;
        yaml.clear();
        let _ = write!(
            yaml,
            "blueprint: workload@v1\nname: {name}\nemail: {email}\nowner: {owner}\n\
             params: {{ placement: {}, app: {service} }}\ntags: {{ cost-center: \"{req_cost_center}\", app: {service} }}\n\
             requested_by: {person}@example.com\nrequested_at: \"2026-{month:02}-{day:02}T09:30:00Z\"\n\
             reason: {} account for the {team} {service} service\n",
            PLACEMENTS[req_placement].0,
            if req_placement == 2 { "Sandbox" } else { "Workload" },
        );
        fs::write(accounts_dir.join(format!("{name}.yaml")), &yaml).expect("write request");
        if matches!(fate, Fate::New) {
            continue;
        }
        // A 12-digit id: i -> i * c mod 7e11 is a permutation (c coprime with 7e11).
        let id = 200_000_000_000u64 + (i as u64 * 7_919_333) % 700_000_000_000;
        state_accounts.push(json!({
            "id": format!("{id:012}"), "name": name, "email": email, "state": "ACTIVE",
            "parent_id": PLACEMENTS[placement].1,
            "tags": {
                "app": service,
                "cost-center": cost_center.to_string(),
                "data-class": "internal",
                "vend:blueprint": "workload@v1",
                "vend:managed": "true",
                "vend:owner": owner,
            }
        }));
    }
    state_accounts.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));

    let managed = json!({ "vend:managed": "true" });
    let mut ous = vec![
        json!({ "id": PLACEMENTS[0].1, "name": "dev", "parent_id": WORKLOADS_ID, "tags": managed }),
        json!({ "id": PLACEMENTS[1].1, "name": "prod", "parent_id": WORKLOADS_ID, "tags": managed }),
        json!({ "id": PLACEMENTS[2].1, "name": "Sandbox", "parent_id": ROOT_ID, "tags": managed }),
        json!({ "id": WORKLOADS_ID, "name": "Workloads", "parent_id": ROOT_ID,
                "tags": { "tier": "workloads", "vend:managed": "true" } }),
    ];
    ous.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));

    let mut full_targets: Vec<String> = state_accounts
        .iter()
        .map(|a| a["id"].as_str().expect("id").to_string())
        .chain(ous.iter().map(|o| o["id"].as_str().expect("id").to_string()))
        .chain([ROOT_ID.to_string()])
        .collect();
    full_targets.sort();
    let mut policies = vec![
        json!({ "id": "p-FullAWSAccess", "name": "FullAWSAccess", "type": "SERVICE_CONTROL_POLICY",
                "aws_managed": true, "content": FULL_AWS_ACCESS, "target_ids": full_targets, "tags": {} }),
        json!({ "id": "p-dl7q2w9x", "name": "deny-leave-org", "type": "SERVICE_CONTROL_POLICY",
                "aws_managed": false, "content": DENY_LEAVE_ORG,
                "target_ids": sorted(&[ROOT_ID, WORKLOADS_ID]), "tags": managed }),
        json!({ "id": "p-dr5t3v6b", "name": "deny-root-user", "type": "SERVICE_CONTROL_POLICY",
                "aws_managed": false, "content": DENY_ROOT_USER,
                "target_ids": sorted(&[PLACEMENTS[1].1]), "tags": managed }),
        json!({ "id": "p-rg4k8m1n", "name": "region-guard", "type": "SERVICE_CONTROL_POLICY",
                "aws_managed": false, "content": REGION_GUARD,
                "target_ids": sorted(&[WORKLOADS_ID, PLACEMENTS[2].1]), "tags": managed }),
    ];
    policies.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));

    let state = json!({
        "format_version": 1,
        "captured_at": "2026-11-22T10:00:00Z",
        "source": "state-file",
        "organization": {
            "id": "o-7q3xk2m9ds", "management_account_id": MGMT, "root_id": ROOT_ID,
            "enabled_policy_types": ["SERVICE_CONTROL_POLICY"],
            "root_policy_ids": ["p-FullAWSAccess", "p-dl7q2w9x"],
        },
        "organizational_units": ous,
        "accounts": state_accounts,
        "create_account_requests": [],
        "policies": policies,
        "portfolios": [],
        "products": [],
        "provisioned_products": [],
    });
    let f = fs::File::create(dir.join("state.json")).expect("create state.json");
    let mut w = BufWriter::new(f);
    serde_json::to_writer_pretty(&mut w, &state).expect("write state.json");
    w.flush().expect("flush state.json");
    expected
}

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

// ----------------------------------------------------------------------------------- bench

struct Row {
    n: usize,
    generated: Duration,
    runs: usize,
    median: Option<Duration>,
    min: Option<Duration>,
    peak_mb: f64,
    planned: Option<usize>,
    expected: usize,
    ok: bool,
    note: String,
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

fn bench() -> ExitCode {
    let sizes: Vec<usize> = std::env::var("VEND_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().replace('_', "").parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| vec![10_000, 100_000]);
    let runs_override = env_usize("VEND_BENCH_RUNS");
    let timeout: f64 = std::env::var("VEND_BENCH_TIMEOUT").ok().and_then(|v| v.parse().ok()).unwrap_or(150.0);
    let keep = std::env::var_os("VEND_BENCH_KEEP").is_some();
    eprintln!("plan_scale: vend = {VEND}");
    eprintln!("plan_scale: sizes = {sizes:?}, timeout {timeout} s per run, {}", load_average());

    let mut rows = Vec::new();
    for &n in &sizes {
        let tmp = tempfile::Builder::new().prefix(&format!("vend-bench-{n}-")).tempdir().expect("tempdir");
        let dir: PathBuf = tmp.path().to_path_buf();
        let t0 = Instant::now();
        let expected = generate(&dir, n);
        let generated = t0.elapsed();
        eprintln!(
            "plan_scale: N={n}: generated in {:.2} s at {} (expect {} changes: {} create, {} update, {} move)",
            generated.as_secs_f64(),
            dir.display(),
            expected.total(),
            expected.create,
            expected.update,
            expected.moves
        );

        // Untimed first run with stdout captured to a file: checks the plan (and warms caches).
        let plan_file = dir.join("plan.json");
        let first = run_once(&dir, &plan_file, timeout);
        let mut row = Row {
            n,
            generated,
            runs: 0,
            median: None,
            min: None,
            peak_mb: first.max_rss_kb as f64 / 1024.0,
            planned: None,
            expected: expected.total(),
            ok: false,
            note: String::new(),
        };
        if first.code != 0 {
            row.note = if first.code == -1 {
                format!("timed out after {timeout} s")
            } else {
                format!("vend exited {}", first.code)
            };
            eprintln!("plan_scale: N={n}: {} ({:.2} s)", row.note, first.wall.as_secs_f64());
            row.median = (first.code == -1).then_some(first.wall);
            rows.push(row);
            if keep {
                let _ = tmp.keep();
            }
            continue;
        }
        match check_plan(&plan_file, expected) {
            Ok(count) => {
                row.planned = Some(count);
                row.ok = true;
            }
            Err((count, msg)) => {
                row.planned = count;
                row.note = msg;
            }
        }
        eprintln!(
            "plan_scale: N={n}: check run {:.3} s, {:.1} MB, {} changes{}",
            first.wall.as_secs_f64(),
            row.peak_mb,
            row.planned.map_or("?".into(), |c| c.to_string()),
            if row.note.is_empty() { String::new() } else { format!(" — {}", row.note) }
        );

        let runs = runs_override.unwrap_or(if n <= 20_000 { 5 } else { 1 }).max(1);
        let mut walls = Vec::new();
        let devnull = Path::new("/dev/null");
        for r in 0..runs {
            let run = run_once(&dir, devnull, timeout);
            eprintln!(
                "plan_scale: N={n}: run {}/{runs}: {:.3} s, {:.1} MB, exit {}",
                r + 1,
                run.wall.as_secs_f64(),
                run.max_rss_kb as f64 / 1024.0,
                run.code
            );
            row.peak_mb = row.peak_mb.max(run.max_rss_kb as f64 / 1024.0);
            if run.code != 0 {
                row.note = format!("timed run exited {}", run.code);
                row.ok = false;
                break;
            }
            walls.push(run.wall);
        }
        walls.sort();
        row.runs = walls.len();
        row.median = walls.get(walls.len() / 2).copied();
        row.min = walls.first().copied();
        rows.push(row);
        if keep {
            let _ = tmp.keep();
        }
    }

    report(&rows);
    println!("({}; wall times on a busy machine are inflated)", load_average());
    ExitCode::SUCCESS
}

/// `/proc/loadavg`, so a reader can tell whether the machine was busy during the runs.
fn load_average() -> String {
    let text = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let parts: Vec<&str> = text.split_whitespace().take(3).collect();
    format!("load average {}", if parts.is_empty() { "?".to_string() } else { parts.join(" ") })
}

/// Parse the captured plan and compare it with what was generated.
fn check_plan(file: &Path, expected: Expected) -> Result<usize, (Option<usize>, String)> {
    let bytes = fs::read(file).map_err(|e| (None, format!("reading the plan: {e}")))?;
    let plan: Value = serde_json::from_slice(&bytes).map_err(|e| (None, format!("plan is not JSON: {e}")))?;
    let changes = plan["changes"].as_array().ok_or((None, "plan has no changes array".to_string()))?;
    let count = changes.len();
    let mut by: BTreeMap<(String, String), usize> = BTreeMap::new();
    for c in changes {
        let key =
            (c["kind"].as_str().unwrap_or("?").to_string(), c["action"].as_str().unwrap_or("?").to_string());
        *by.entry(key).or_default() += 1;
    }
    let errors: Vec<&Value> = plan["diagnostics"]
        .as_array()
        .map(|d| d.iter().filter(|x| x["severity"] == "error").collect())
        .unwrap_or_default();
    let warnings = plan["diagnostics"].as_array().map_or(0, Vec::len) - errors.len();
    let got =
        |kind: &str, action: &str| by.get(&(kind.to_string(), action.to_string())).copied().unwrap_or(0);
    let mut problems = Vec::new();
    if plan["applyable"] != Value::Bool(true) {
        problems.push("plan is not applyable".to_string());
    }
    if !errors.is_empty() {
        problems.push(format!("{} error diagnostic(s), first: {}", errors.len(), errors[0]["message"]));
    }
    if warnings > 0 {
        problems.push(format!("{warnings} warning(s)"));
    }
    for (kind, action, want) in [
        ("account", "create", expected.create),
        ("account", "update", expected.update),
        ("account", "move", expected.moves),
    ] {
        if got(kind, action) != want {
            problems.push(format!("{kind}/{action}: planned {}, generated {want}", got(kind, action)));
        }
    }
    if count != expected.total() {
        let other: Vec<String> = by.iter().map(|((k, a), c)| format!("{k}/{a}={c}")).collect();
        problems.push(format!(
            "planned {count} changes, generated {} ({})",
            expected.total(),
            other.join(", ")
        ));
    }
    if problems.is_empty() { Ok(count) } else { Err((Some(count), problems.join("; "))) }
}

fn report(rows: &[Row]) {
    let mut t = String::new();
    let _ = writeln!(t, "\nvend plan --json, end to end (release build)");
    let _ = writeln!(
        t,
        "{:>8} {:>11} {:>5} {:>10} {:>10} {:>10} {:>9} {:>9}  check",
        "accounts", "generated s", "runs", "median s", "min s", "peak MB", "changes", "expected"
    );
    for r in rows {
        let secs = |d: Option<Duration>| d.map_or("-".to_string(), |d| format!("{:.3}", d.as_secs_f64()));
        let _ = writeln!(
            t,
            "{:>8} {:>11.2} {:>5} {:>10} {:>10} {:>10.1} {:>9} {:>9}  {}",
            r.n,
            r.generated.as_secs_f64(),
            r.runs,
            secs(r.median),
            secs(r.min),
            r.peak_mb,
            r.planned.map_or("-".into(), |c| c.to_string()),
            r.expected,
            if r.ok { "ok".to_string() } else { format!("FAIL: {}", r.note) }
        );
    }
    let find = |n: usize| rows.iter().find(|r| r.n == n);
    let _ = writeln!(t, "\ntargets:");
    match find(10_000) {
        Some(r) => {
            let time = r.median.map(|d| d.as_secs_f64());
            let _ = writeln!(
                t,
                "  10k time   <= {TARGET_10K_SECS} s  : {} ({})",
                time.map_or("-".into(), |s| format!("{s:.3} s")),
                verdict(r.ok && time.is_some_and(|s| s <= TARGET_10K_SECS))
            );
            let _ = writeln!(
                t,
                "  10k memory <= {TARGET_10K_MB} MB : {:.1} MB ({})",
                r.peak_mb,
                verdict(r.peak_mb <= TARGET_10K_MB)
            );
        }
        None => {
            let _ = writeln!(t, "  10k: not measured (add 10000 to VEND_BENCH_SIZES)");
        }
    }
    match (find(10_000), find(100_000)) {
        (Some(a), Some(b)) => match (a.median, b.median) {
            (Some(x), Some(y)) if a.ok && b.ok => {
                let ratio = y.as_secs_f64() / x.as_secs_f64();
                let _ = writeln!(
                    t,
                    "  100k/10k   <= {TARGET_RATIO}x   : {ratio:.1}x ({})",
                    verdict(ratio <= TARGET_RATIO)
                );
            }
            _ => {
                let _ = writeln!(t, "  100k/10k   <= {TARGET_RATIO}x   : - (a run failed) (MISSED)");
            }
        },
        _ => {
            let _ = writeln!(t, "  100k/10k: not measured");
        }
    }
    // Ratios between all consecutive sizes, for quick runs with other N lists.
    for w in rows.windows(2) {
        if let (Some(x), Some(y)) = (w[0].median, w[1].median) {
            let _ = writeln!(
                t,
                "  scaling {} -> {}: time x{:.1} for size x{:.1}",
                w[0].n,
                w[1].n,
                y.as_secs_f64() / x.as_secs_f64(),
                w[1].n as f64 / w[0].n as f64
            );
        }
    }
    print!("{t}");
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}
