//! `vend import --aws` against `vend snapshot save --aws` on the same organization (issue 15; not
//! a test): start the project's emulator (through the test harness), seed the brownfield
//! organization of `tests/brownfield` — 1,000 accounts in 50 OUs up to 5 deep, 20 SCPs,
//! suspended accounts, a portfolio with 2 products × 3 versions shared with two OUs, 10
//! provisioned products in member accounts — through the SDK (`emulator_harness/brownfield.rs`),
//! then time the release binary's
//!
//! * `vend --aws snapshot save` in the workspace the import wrote (the read every plan makes:
//!   the member accounts its pipeline requests name),
//! * `vend --aws snapshot save` outside a workspace (no member account visited),
//! * `vend --aws import` into an empty folder (reads every ACTIVE member account a portfolio is
//!   shared with, and fetches each version's template),
//!
//! and report what the emulator counted for each — every HTTP request (retries, STS, S3, Service
//! Catalog, CloudFormation, IAM), by operation, per account — side by side, with the wall times
//! (median) and the import's ratio to the read. Goal: the import costs at most 1.5× the read;
//! reported, not asserted.
//!
//!     cargo bench --bench aws_import
//!     VEND_BENCH_ACCOUNTS=300 VEND_BENCH_RUNS=1 cargo bench --bench aws_import
//!
//! Environment: `VEND_BENCH_ACCOUNTS` (default 1000), `VEND_BENCH_RUNS` (timed runs of each
//! command, default 3).

#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/brownfield/mod.rs"]
mod brownfield;
#[path = "../tests/emulator_harness/brownfield.rs"]
mod brownfield_seed;
#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/emulator_harness/mod.rs"]
mod emulator_harness;

use emulator_harness::Emulator;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const GOAL: f64 = 1.5;
const OUS: usize = 50;

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// One command's measurements: wall times of every run, and the first run's counts by
/// operation (`service.Operation`).
struct Measured {
    walls: Vec<Duration>,
    by_op: BTreeMap<String, u64>,
    total: u64,
    same_each_run: bool,
}

impl Measured {
    fn median(&self) -> Duration {
        let mut w = self.walls.clone();
        w.sort();
        w[w.len() / 2]
    }
}

fn stats(emu: &Emulator) -> Value {
    let (status, body) = emu.http("GET", "/_vend/stats", "");
    assert_eq!(status, 200, "GET /_vend/stats: {body}");
    serde_json::from_str(&body).unwrap()
}

fn by_op(s: &Value) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for (svc, ops) in s["services"].as_object().into_iter().flatten() {
        for (op, n) in ops.as_object().into_iter().flatten() {
            out.insert(format!("{svc}.{op}"), n.as_u64().unwrap_or(0));
        }
    }
    out
}

/// Run `args` (with `--aws --endpoint-url` first) `runs` times in `cwd`, `prepare`d before each.
fn measure(emu: &Emulator, cwd: &Path, runs: usize, args: &[&str], prepare: &dyn Fn(usize)) -> Measured {
    let mut walls = vec![];
    let mut counted: Vec<Value> = vec![];
    for run in 0..runs {
        prepare(run);
        let (status, body) = emu.http("POST", "/_vend/stats/reset", "");
        assert_eq!(status, 200, "{body}");
        let start = Instant::now();
        let out = emu
            .vend()
            .args(["--aws", "--endpoint-url", &emu.endpoint])
            .args(args)
            .current_dir(cwd)
            .output()
            .unwrap();
        walls.push(start.elapsed());
        assert!(
            out.status.success(),
            "vend {} failed ({:?}):\n{}\n{}",
            args.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        counted.push(stats(emu));
    }
    let first = &counted[0];
    Measured {
        walls,
        by_op: by_op(first),
        total: first["total"].as_u64().unwrap_or(0),
        same_each_run: counted.iter().all(|c| c["total"] == first["total"]),
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn main() -> ExitCode {
    let n = env_num("VEND_BENCH_ACCOUNTS", 1000);
    let runs = env_num("VEND_BENCH_RUNS", 3).max(1);
    let (_guard, emu) = emulator_harness::lock();
    println!("aws_import: emulator on {}", emu.endpoint);

    let t = Instant::now();
    let seeded = brownfield_seed::seed(emu, n, OUS);
    let s = &seeded.state;
    println!(
        "seeded {n} accounts ({} suspended), {} OUs, {} SCPs, {} products, {} provisioned products in {:.1} s",
        s.accounts.iter().filter(|a| a.state == "SUSPENDED").count(),
        s.organizational_units.len(),
        s.policies.iter().filter(|p| !p.aws_managed).count(),
        s.products.len(),
        s.provisioned_products.len(),
        t.elapsed().as_secs_f64()
    );
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let empty = root.join("empty");
    std::fs::create_dir_all(&empty).unwrap();

    // The import, each run into a fresh folder.
    let import = measure(emu, root, runs, &["import", "-C", "ws"], &|run| {
        let ws = root.join("ws");
        if run > 0 {
            std::fs::remove_dir_all(&ws).unwrap();
        }
    });
    let ws = root.join("ws");
    let out_file = root.join("aws.state.json");
    let out = out_file.to_str().unwrap();
    let read_ws = measure(emu, &ws, runs, &["snapshot", "save", "--out", out], &|_| {});
    let state: vend::model::State =
        serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    let read_bare = measure(emu, &empty, runs, &["snapshot", "save", "--out", out], &|_| {});

    println!();
    println!(
        "organization as read: {} accounts, {} OUs, {} SCPs, {} provisioned products",
        state.accounts.len(),
        state.organizational_units.len(),
        state.policies.len(),
        state.provisioned_products.len()
    );
    let cols = [("read (ws)", &read_ws), ("read (no ws)", &read_bare), ("import", &import)];
    let ops: BTreeSet<&String> = cols.iter().flat_map(|(_, m)| m.by_op.keys()).collect();
    let mut rows: Vec<(&String, [u64; 3])> = ops
        .into_iter()
        .map(|op| (op, [0, 1, 2].map(|i| cols[i].1.by_op.get(op).copied().unwrap_or(0))))
        .collect();
    rows.sort_by(|a, b| b.1[2].cmp(&a.1[2]).then(b.1[0].cmp(&a.1[0])).then(a.0.cmp(b.0)));
    println!();
    println!("requests counted at the emulator, by operation (first run):");
    println!("  {:<55} {:>10} {:>12} {:>10}", "operation", cols[0].0, cols[1].0, cols[2].0);
    for (op, c) in &rows {
        println!("  {op:<55} {:>10} {:>12} {:>10}", c[0], c[1], c[2]);
    }
    let per = |m: &Measured| m.total as f64 / n as f64;
    println!("  {:<55} {:>10} {:>12} {:>10}", "total", read_ws.total, read_bare.total, import.total);
    println!(
        "  {:<55} {:>10.3} {:>12.3} {:>10.3}",
        "per account",
        per(&read_ws),
        per(&read_bare),
        per(&import)
    );
    println!(
        "  {:<55} {:>10.2} {:>12.2} {:>10.2}",
        format!("wall time, s (median of {runs})"),
        secs(read_ws.median()),
        secs(read_bare.median()),
        secs(import.median())
    );
    for (name, m) in cols {
        if !m.same_each_run {
            println!("  note: {name}: request counts differ between runs (first run shown)");
        }
        let all: Vec<String> = m.walls.iter().map(|w| format!("{:.2}", secs(*w))).collect();
        println!("  {name} runs: [{}] s", all.join(", "));
    }
    let req_ratio = import.total as f64 / read_ws.total.max(1) as f64;
    let wall_ratio = secs(import.median()) / secs(read_ws.median()).max(1e-9);
    let verdict = |r: f64| if r <= GOAL { "OK" } else { "OVER" };
    println!();
    println!(
        "import / read (ws): requests {req_ratio:.2}× ({}), wall time {wall_ratio:.2}× ({}); goal <= {GOAL}×",
        verdict(req_ratio),
        verdict(wall_ratio)
    );
    println!(
        "import / read (no ws): requests {:.2}×, wall time {:.2}×",
        import.total as f64 / read_bare.total.max(1) as f64,
        secs(import.median()) / secs(read_bare.median()).max(1e-9)
    );
    ExitCode::SUCCESS
}
