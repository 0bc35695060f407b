//! Scale benchmark for apply on the embedded backend (not a test): the demo workspace plus N new
//! account requests (`sandbox@v1`: CreateAccount, DescribeCreateAccountStatus, MoveAccount per
//! account), applied two ways, with wall time and calls per second reported against the targets
//! of issue 13:
//!
//! - `file`: `vend apply --auto-approve` through the real binary (state file, journal, signed
//!   audit log, lock), then a re-plan that must be empty. Calls = outcome records in the log.
//! - `memory`: in process, what the plan check does: `workspace::load` + `plan::build`, then
//!   `engine::apply` on `LocalCloud::in_memory` with an in-memory audit and a clock that does not
//!   sleep. Calls = `Cloud::call`s counted by a wrapper.
//!
//! Run:
//!
//!     cargo bench --bench apply_scale
//!     VEND_BENCH_SIZES=1000,2000 VEND_BENCH_MODES=file cargo bench --bench apply_scale
//!
//! Environment: `VEND_BENCH_SIZES` (comma-separated N, default `1000,2000,10000`),
//! `VEND_BENCH_MODES` (`plan,memory,file` by default; `plan`: `vend plan --json` of the N new
//! accounts through the binary, planned and checked), `VEND_BENCH_TIMEOUT` (seconds per binary run,
//! default 600; a run that times out is reported as such), `VEND_BENCH_KEEP=1` keeps the
//! generated workspaces.

#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};
use vend::adapter::local_cloud::LocalCloud;
use vend::engine::{self, Options};
use vend::model::State;
use vend::port::{Audit, AuditError, AuditEvent, Clock, Cloud, CloudError, Op, Outcome};

const VEND: &str = env!("CARGO_BIN_EXE_vend");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Targets of issue 13: 10,000 new accounts applied on the embedded backend in <= 60 s; the plan
/// check of a plan creating 10,000 accounts (planning included) in <= 3 s.
const TARGET_FILE_10K_SECS: f64 = 60.0;
const TARGET_MEMORY_10K_SECS: f64 = 3.0;

fn env_list(name: &str, default: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// The demo workspace with `n` new sandbox account requests.
fn generate(dir: &Path, n: usize) {
    for top in ["catalog", "blueprints", "snapshots"] {
        copy_dir(&Path::new(ROOT).join(top), &dir.join(top));
    }
    for i in 0..n {
        let name = format!("bench-{i:05}");
        fs::write(
            dir.join("catalog/accounts").join(format!("{name}.yaml")),
            format!(
                "blueprint: sandbox@v1\nname: {name}\nemail: aws+{name}@example.com\nowner: bench\n\
                 requested_by: bench@example.com\nrequested_at: \"2026-11-20T09:00:00Z\"\n"
            ),
        )
        .unwrap();
    }
}

fn vend(ws: &Path, cfg: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(VEND);
    c.args(args)
        .current_dir(ws)
        .env("NO_COLOR", "1")
        .env("XDG_CONFIG_HOME", cfg)
        .env("VEND_KEY_STORE", "file")
        .env("USER", "bench");
    c
}

struct FileRun {
    secs: f64,
    calls: usize,
    timed_out: bool,
    state_bytes: u64,
    journal_bytes: u64,
    replan_empty: bool,
}

fn run_file(ws: &Path, timeout: Duration) -> FileRun {
    let cfg = ws.join(".bench-config");
    fs::create_dir_all(&cfg).unwrap();
    let out = fs::File::create(ws.join(".bench-apply.out")).unwrap();
    let start = Instant::now();
    let mut child = vend(ws, &cfg, &["apply", "--auto-approve"])
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .expect("vend runs");
    let timed_out = loop {
        if child.try_wait().unwrap().is_some() {
            break false;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break true;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let secs = start.elapsed().as_secs_f64();
    let log = fs::read_to_string(ws.join(".vend/audit.jsonl")).unwrap_or_default();
    let calls = log.lines().filter(|l| l.contains("\"event\":\"outcome\"")).count();
    let size = |p: &str| fs::metadata(ws.join(p)).map(|m| m.len()).unwrap_or(0);
    let replan_empty = !timed_out
        && vend(ws, &cfg, &["plan", "--detailed-exitcode"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .code()
            == Some(0);
    FileRun {
        secs,
        calls,
        timed_out,
        state_bytes: size(".vend/state.json"),
        journal_bytes: size(".vend/state.json.journal"),
        replan_empty,
    }
}

/// The audit of the plan check: kept in memory, counted.
#[derive(Default)]
struct MemoryAudit {
    records: usize,
}

impl Audit for MemoryAudit {
    fn append(&mut self, _event: AuditEvent) -> Result<(), AuditError> {
        self.records += 1;
        Ok(())
    }
}

struct NoWait;

impl Clock for NoWait {
    fn now(&self) -> String {
        "2026-11-22T12:00:00Z".into()
    }
    fn sleep(&self, _millis: u64) {}
}

/// Counts the calls that reach the cloud.
struct Counting<C> {
    inner: C,
    calls: usize,
}

impl<C: Cloud> Cloud for Counting<C> {
    fn read_state(&mut self) -> Result<State, CloudError> {
        self.inner.read_state()
    }
    fn call(&mut self, op: &Op) -> Result<Outcome, CloudError> {
        self.calls += 1;
        self.inner.call(op)
    }
}

struct MemoryRun {
    plan_secs: f64,
    /// `check::check` (the plan check as `vend plan` runs it).
    check_secs: f64,
    apply_secs: f64,
    changes: usize,
    calls: usize,
    complete: bool,
}

fn run_memory(ws: &Path) -> MemoryRun {
    let start = Instant::now();
    let files = vend::adapter::fs::read_workspace(ws).unwrap();
    let loaded = vend::workspace::load(&files);
    assert!(!loaded.diagnostics.iter().any(|d| d.is_error()), "the generated workspace is valid");
    let state = vend::adapter::fs::read_state(&ws.join("snapshots/demo.state.json")).unwrap();
    let plan = vend::plan::build(&loaded.desired, &state);
    let plan_secs = start.elapsed().as_secs_f64();
    // The plan check itself (what `vend plan` runs before calling a plan applyable).
    let start = Instant::now();
    let found = vend::check::check(&plan, &state, &vend::adapter::local_cloud::Settings::default());
    let check_secs = start.elapsed().as_secs_f64();
    assert!(found.is_empty(), "the check refuses the generated plan: {found:?}");
    let start = Instant::now();
    let mut cloud = Counting { inner: LocalCloud::in_memory(state), calls: 0 };
    let mut audit = MemoryAudit::default();
    let options = Options { poll_interval_ms: 0, ..Options::default() };
    let report = engine::apply(&plan, &mut cloud, &mut audit, &NoWait, &options, &mut |_| {}).unwrap();
    let apply_secs = start.elapsed().as_secs_f64();
    MemoryRun {
        plan_secs,
        check_secs,
        apply_secs,
        changes: plan.changes.len(),
        calls: cloud.calls,
        complete: report.is_complete(),
    }
}

fn main() -> ExitCode {
    let sizes: Vec<usize> = env_list("VEND_BENCH_SIZES", "1000,2000,10000")
        .iter()
        .map(|s| s.parse().expect("VEND_BENCH_SIZES: numbers"))
        .collect();
    let modes = env_list("VEND_BENCH_MODES", "plan,memory,file");
    let timeout = Duration::from_secs(
        std::env::var("VEND_BENCH_TIMEOUT").ok().and_then(|s| s.parse().ok()).unwrap_or(600),
    );
    let keep = std::env::var("VEND_BENCH_KEEP").is_ok_and(|v| v == "1");
    let mut ok = true;
    println!("apply_scale: demo workspace + N new sandbox accounts (2 cores shared; one run each)");
    for &n in &sizes {
        let dir = tempfile::tempdir().unwrap();
        let ws: PathBuf = dir.path().to_path_buf();
        generate(&ws, n);
        if modes.iter().any(|m| m == "memory") {
            let r = run_memory(&ws);
            let total = r.plan_secs + r.apply_secs;
            let target = if n == 10_000 {
                let met = total <= TARGET_MEMORY_10K_SECS && r.complete;
                ok &= met;
                format!("  target <= {TARGET_MEMORY_10K_SECS} s: {}", if met { "met" } else { "MISSED" })
            } else {
                String::new()
            };
            println!(
                "memory N={n:>6}: plan {:.2} s + check (engine::apply in memory) {:.2} s = {total:.2} s; \
                 {} changes, {} calls, {:.0} calls/s, complete={}{target}; check::check itself {:.2} s",
                r.plan_secs,
                r.apply_secs,
                r.changes,
                r.calls,
                r.calls as f64 / r.apply_secs.max(1e-9),
                r.complete,
                r.check_secs
            );
        }
        if modes.iter().any(|m| m == "plan") {
            // `vend plan --json` through the binary: load, plan, check, render (the state file
            // is the demo's; the plan creates the N accounts).
            let cfg = ws.join(".bench-config");
            fs::create_dir_all(&cfg).unwrap();
            let start = Instant::now();
            let out = vend(&ws, &cfg, &["plan", "--json"]).stderr(Stdio::null()).output().unwrap();
            let secs = start.elapsed().as_secs_f64();
            let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            let applyable = plan["applyable"] == serde_json::Value::Bool(true);
            let changes = plan["changes"].as_array().map_or(0, Vec::len);
            let target = if n == 10_000 {
                let met = secs <= TARGET_MEMORY_10K_SECS && applyable;
                ok &= met;
                format!("  target <= {TARGET_MEMORY_10K_SECS} s: {}", if met { "met" } else { "MISSED" })
            } else {
                String::new()
            };
            println!(
                "plan   N={n:>6}: vend plan --json (planned and checked) {secs:.2} s; {changes} changes, \
                 applyable={applyable}{target}"
            );
            let _ = fs::remove_dir_all(ws.join(".vend"));
            let _ = fs::remove_dir_all(&cfg);
        }
        if modes.iter().any(|m| m == "file") {
            let r = run_file(&ws, timeout);
            let target = if n == 10_000 {
                let met = !r.timed_out && r.secs <= TARGET_FILE_10K_SECS && r.replan_empty;
                ok &= met;
                format!("  target <= {TARGET_FILE_10K_SECS} s: {}", if met { "met" } else { "MISSED" })
            } else {
                String::new()
            };
            println!(
                "file   N={n:>6}: vend apply {:.2} s{}; {} calls, {:.0} calls/s; state {} KB, journal {} KB; \
                 re-plan empty={}{target}",
                r.secs,
                if r.timed_out { " (TIMED OUT, killed)" } else { "" },
                r.calls,
                r.calls as f64 / r.secs.max(1e-9),
                r.state_bytes / 1024,
                r.journal_bytes / 1024,
                r.replan_empty
            );
        }
        if keep {
            println!("  kept {}", dir.keep().display());
        }
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
