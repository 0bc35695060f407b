//! Parallel apply benchmark against the emulator (issue 16; not a test): the demo organization
//! and catalog seeded into the project's emulator (`tests/emulator/run` on a free loopback port,
//! through the test harness), plus N new account requests on `workload@v2` — each a new account
//! with a baseline pipeline launched in it — applied with the release `vend --aws apply
//! --auto-approve` three ways, each on a freshly reset and reseeded emulator:
//!
//! 1. `--parallelism 1` (today's order exactly);
//! 2. the default parallelism (no flag);
//! 3. the default parallelism with 20 % of all requests throttled (`throttle: 0.2`).
//!
//! The emulator runs with realistic asynchrony: every request waits `latency_ms`,
//! `CreateAccount` answers IN_PROGRESS for `create_account_polls` status polls, a launch's record
//! for `record_polls` polls and a launch settles on its own after `record_settle_ms`. For each run
//! it reports the wall time, the requests the emulator counted (all services), the CreateAccount
//! calls that ran (throttled ones refused before running) against the plan's account creations,
//! the refusals of the two AWS limits a parallel apply can hit (one writer per Organizations
//! entity, 5 account creations in progress: they must stay 0), the duplicate or missing accounts
//! per requested e-mail (must be 0), and whether the re-plan is empty. Then the ratios the issue
//! sets as goals: wall(default) / wall(1) ≤ 0.25; requests(default) / requests(1) within 5 %;
//! the throttled run exits 0. Exit code 1 when a goal is missed.
//!
//!     cargo bench --bench aws_apply_parallel
//!     VEND_BENCH_ACCOUNTS=30 VEND_BENCH_LATENCY_MS=20 cargo bench --bench aws_apply_parallel
//!
//! Environment: `VEND_BENCH_ACCOUNTS` (default 100), `VEND_BENCH_LATENCY_MS` (default 40),
//! `VEND_BENCH_CREATE_POLLS` (default 4), `VEND_BENCH_RECORD_POLLS` (default 3),
//! `VEND_BENCH_POLL_MS` (vend's `--poll-interval-ms`, default 250), `VEND_BENCH_MODES`
//! (comma-separated subset of `serial,parallel,throttled`, default all three).

#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/emulator_harness/mod.rs"]
mod emulator_harness;

use emulator_harness::Emulator;
use emulator_harness::load::{op_count, organization_problems};
use emulator_harness::seed::{demo, seed_catalog, seed_organization};
use emulator_harness::workspace::{VendWorkspace, describe};
use serde_json::{Value, json};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const RULE_ONE_WRITER: &str = "organizations.one-writer-per-entity";
const RULE_CREATIONS: &str = "organizations.account-creations-in-progress";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// `n` requests `par-NNN` on `workload@v2` (its baseline pipeline is launched in each new
/// account), alternating dev/prod.
fn write_requests(ws: &VendWorkspace, n: u64) {
    for i in 0..n {
        let name = format!("par-{i:03}");
        let env = if i % 2 == 0 { "dev" } else { "prod" };
        let yaml = format!(
            "blueprint: workload@v2\nname: {name}\nemail: aws+{name}@example.com\nowner: team-par\n\
             params: {{ environment: {env} }}\ntags: {{ cost-center: \"8{i:03}\" }}\n\
             requested_by: bench@example.com\nrequested_at: \"2026-12-01T10:00:00Z\"\nreason: Parallel apply bench\n"
        );
        std::fs::write(ws.ws.join(format!("catalog/accounts/{name}.yaml")), yaml).unwrap();
    }
}

/// What one apply measured.
struct Run {
    label: String,
    exit: Option<i32>,
    wall: Duration,
    requests: u64,
    /// CreateAccount calls that ran (throttled ones excluded).
    create_account: u64,
    /// Account creations in the plan.
    planned_creations: u64,
    launches: u64,
    throttled: u64,
    limit_refusals: u64,
    problems: Vec<String>,
    replan_empty: bool,
}

/// Every request the emulator counted, over all services and operations.
fn total_requests(stats: &Value) -> u64 {
    stats["total"].as_u64().unwrap_or(0)
}

fn rule_count(stats: &Value, rule: &str) -> u64 {
    stats["rules"][rule].as_u64().unwrap_or(0)
}

fn throttles(stats: &Value) -> u64 {
    stats["faults"]
        .as_object()
        .map(|ops| ops.values().filter_map(|kinds| kinds["throttle"].as_u64()).sum())
        .unwrap_or(0)
}

/// Reseed, apply with `parallelism` (None: the default) under `faults`, and measure.
fn run(emu: &Emulator, label: &str, n: u64, parallelism: Option<u32>, faults: &Value, poll_ms: u64) -> Run {
    let (status, body) = emu.http("POST", "/_vend/reset", "");
    assert_eq!(status, 200, "POST /_vend/reset: {body}");
    let mut ids = seed_organization(emu);
    seed_catalog(emu, &mut ids);
    let mgmt = ids[&demo().organization.management_account_id].clone();
    let ws = VendWorkspace::new(emu, &mgmt);
    write_requests(&ws, n);

    // How many accounts the plan creates: the N requests plus whatever the demo itself creates.
    let plan: Value = serde_json::from_slice(&ws.run(&["plan", "--json"]).stdout).unwrap();
    let planned_creations = plan["changes"]
        .as_array()
        .map_or(0, |c| c.iter().filter(|c| c["kind"] == "account" && c["action"] == "create").count())
        as u64;
    assert!(planned_creations >= n, "{label}: the plan creates {planned_creations} accounts");

    emu.set_faults(faults);
    let (status, body) = emu.http("POST", "/_vend/stats/reset", "");
    assert_eq!(status, 200, "{body}");
    let poll = poll_ms.to_string();
    let mut args = vec!["apply", "--auto-approve", "--poll-interval-ms", &poll];
    let p = parallelism.map(|p| p.to_string());
    if let Some(p) = &p {
        args.extend(["--parallelism", p.as_str()]);
    }
    let start = Instant::now();
    let out = ws.run(&args);
    let wall = start.elapsed();
    let stats = emu.stats();
    if !out.status.success() {
        eprintln!("{label}: vend apply failed\n{}", describe(&out));
    }
    // Count before the checks below add their own reads; then stop injecting faults for them.
    emu.set_faults(&json!({ "throttle": 0.0, "latency_ms": 0 }));
    let problems = organization_problems(emu, &ws);
    // A launch may still be UNDER_CHANGE (vend skips it with `pipeline-busy`): AWS, like the
    // emulator (`record_settle_ms`), finishes it on its own; wait for that before re-planning.
    let deadline = Instant::now() + Duration::from_secs(120);
    while String::from_utf8_lossy(&ws.run(&["plan", "--json"]).stdout).contains("pipeline-busy")
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(500));
    }
    let replan = ws.run(&["plan", "--detailed-exitcode"]);
    if replan.status.code() != Some(0) {
        eprintln!("{label}: the re-plan is not empty\n{}", describe(&replan));
    }
    Run {
        label: label.into(),
        exit: out.status.code(),
        wall,
        requests: total_requests(&stats),
        // A throttled request is refused before it runs: it created nothing.
        create_account: op_count(&stats, "organizations.CreateAccount")
            - stats["faults"]["organizations.CreateAccount"]["throttle"].as_u64().unwrap_or(0),
        planned_creations,
        launches: op_count(&stats, "servicecatalog.ProvisionProduct"),
        throttled: throttles(&stats),
        limit_refusals: rule_count(&stats, RULE_ONE_WRITER) + rule_count(&stats, RULE_CREATIONS),
        problems,
        replan_empty: replan.status.code() == Some(0),
    }
}

fn main() -> ExitCode {
    let n = env_num("VEND_BENCH_ACCOUNTS", 100);
    let latency = env_num("VEND_BENCH_LATENCY_MS", 40);
    let create_polls = env_num("VEND_BENCH_CREATE_POLLS", 4);
    let record_polls = env_num("VEND_BENCH_RECORD_POLLS", 3);
    let poll_ms = env_num("VEND_BENCH_POLL_MS", 250);
    let modes = std::env::var("VEND_BENCH_MODES").unwrap_or_else(|_| "serial,parallel,throttled".into());
    let modes: Vec<&str> = modes.split(',').map(str::trim).collect();

    let (_guard, emu) = emulator_harness::lock();
    println!(
        "aws_apply_parallel: emulator on {}; {n} new accounts on workload@v2 (each with a baseline pipeline); \
         latency_ms {latency}, create_account_polls {create_polls}, record_polls {record_polls}, \
         record_settle_ms {}, --poll-interval-ms {poll_ms}",
        emu.endpoint,
        4 * poll_ms
    );
    let faults = json!({
        "latency_ms": latency,
        "create_account_polls": create_polls,
        "record_polls": record_polls,
        "record_settle_ms": 4 * poll_ms,
        "throttle": 0.0,
    });
    let mut throttled_faults = faults.clone();
    throttled_faults["throttle"] = json!(0.2);
    throttled_faults["seed"] = json!(16);

    let mut runs: Vec<Run> = vec![];
    if modes.contains(&"serial") {
        runs.push(run(emu, "--parallelism 1", n, Some(1), &faults, poll_ms));
    }
    if modes.contains(&"parallel") {
        runs.push(run(emu, "default parallelism", n, None, &faults, poll_ms));
    }
    if modes.contains(&"throttled") {
        runs.push(run(emu, "default, 20% throttled", n, None, &throttled_faults, poll_ms));
    }

    println!();
    println!(
        "{:<24} {:>5} {:>9} {:>9} {:>17} {:>9} {:>10} {:>15} {:>9} {:>7}",
        "run",
        "exit",
        "wall s",
        "requests",
        "CreateAccount",
        "launches",
        "throttled",
        "limit refusals",
        "problems",
        "replan"
    );
    for r in &runs {
        println!(
            "{:<24} {:>5} {:>9.1} {:>9} {:>17} {:>9} {:>10} {:>15} {:>9} {:>7}",
            r.label,
            r.exit.map_or("kill".into(), |c| c.to_string()),
            r.wall.as_secs_f64(),
            r.requests,
            format!("{}/{}", r.create_account, r.planned_creations),
            r.launches,
            r.throttled,
            r.limit_refusals,
            r.problems.len(),
            if r.replan_empty { "empty" } else { "NOT" }
        );
        for p in r.problems.iter().take(10) {
            println!("    {p}");
        }
    }

    let mut ok = true;
    for r in &runs {
        let fine = r.exit == Some(0)
            && r.problems.is_empty()
            && r.replan_empty
            && r.create_account == r.planned_creations
            && r.limit_refusals == 0;
        if !fine {
            println!(
                "GOAL MISSED: {}: exit 0, each account exactly once, no limit refusal, empty re-plan",
                r.label
            );
            ok = false;
        }
    }
    let serial = runs.iter().find(|r| r.label == "--parallelism 1");
    let parallel = runs.iter().find(|r| r.label == "default parallelism");
    if let (Some(s), Some(p)) = (serial, parallel) {
        let wall = p.wall.as_secs_f64() / s.wall.as_secs_f64();
        let requests = p.requests as f64 / s.requests as f64;
        println!();
        println!("wall time, default ÷ --parallelism 1: {wall:.3} (goal ≤ 0.25)");
        println!("requests, default ÷ --parallelism 1: {requests:.3} (goal within 5 %: 0.95..=1.05)");
        if wall > 0.25 {
            println!("GOAL MISSED: wall-time ratio {wall:.3} > 0.25");
            ok = false;
        }
        if !(0.95..=1.05).contains(&requests) {
            println!("GOAL MISSED: request ratio {requests:.3} outside 0.95..=1.05");
            ok = false;
        }
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
