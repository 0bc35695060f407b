//! A large apply under injected faults against the emulator: the demo workspace plus generated
//! account requests, applied with `vend apply --aws --auto-approve` while the emulator throttles,
//! answers ConcurrentModification and fails with 5xx at random (fixed seed). The apply must
//! still complete correctly: exit 0, exactly one account per requested e-mail, each in the OU
//! its blueprint names and tagged by vend, an audit log that verifies, and — with the faults
//! cleared — an empty re-plan. ConcurrentModificationException is injected into Organizations
//! calls only: of the services vend calls, only Organizations' API model has it. A second, smaller case adds slow CreateAccount requests (several
//! IN_PROGRESS polls) and latency on every call. The emulator's fault counts are printed
//! (`cargo test --test aws_faults -- --nocapture`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

mod emulator_harness;

use emulator_harness::lock;
use emulator_harness::seed::{demo, seed_catalog, seed_organization};
use emulator_harness::workspace::{VendWorkspace, describe, list_accounts, ou_paths};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Instant;

/// One generated request: `load-NN`, alternating dev/prod; every fifth on `workload@v2` (which
/// adds a baseline pipeline in the new account), the others on `workload@v1`.
fn write_requests(ws: &VendWorkspace, n: usize) {
    for i in 0..n {
        let name = format!("load-{i:02}");
        let env = if i % 2 == 0 { "dev" } else { "prod" };
        let blueprint = if i % 5 == 0 { "workload@v2" } else { "workload@v1" };
        let yaml = format!(
            "blueprint: {blueprint}\nname: {name}\nemail: aws+{name}@example.com\nowner: team-load\n\
             params: {{ environment: {env} }}\ntags: {{ cost-center: \"9{i:03}\" }}\n\
             requested_by: load@example.com\nrequested_at: \"2026-11-21T10:00:00Z\"\nreason: Load test\n"
        );
        std::fs::write(ws.ws.join(format!("catalog/accounts/{name}.yaml")), yaml).unwrap();
    }
}

/// What a request file says: e-mail, blueprint (`name@version`) and the OU path it belongs in.
struct Request {
    name: String,
    email: String,
    blueprint: String,
    ou: String,
}

fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|l| l.strip_prefix(key)).map(|v| v.trim().trim_matches('"'))
}

fn requests(ws: &VendWorkspace) -> Vec<Request> {
    let mut out = vec![];
    for e in std::fs::read_dir(ws.ws.join("catalog/accounts")).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        let blueprint = field(&text, "blueprint:").unwrap().to_string();
        let env = text
            .split("environment:")
            .nth(1)
            .map(|rest| {
                rest.trim_start().split(|c: char| !c.is_ascii_alphanumeric()).next().unwrap().to_string()
            })
            .unwrap_or_else(|| "dev".into());
        let ou = match blueprint.split('@').next().unwrap() {
            "workload" => format!("Workloads/{env}"),
            "sandbox" => "Sandbox".into(),
            "security" => "Security".into(),
            other => panic!("{}: unexpected blueprint {other}", p.display()),
        };
        out.push(Request {
            name: field(&text, "name:").unwrap().to_string(),
            email: field(&text, "email:").unwrap().to_string(),
            blueprint,
            ou,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Injected faults per kind, summed over operations, and per operation.
fn fault_counts(stats: &Value) -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
    let mut by_kind = BTreeMap::new();
    let mut by_op = BTreeMap::new();
    if let Some(faults) = stats["faults"].as_object() {
        for (op, kinds) in faults {
            for (kind, n) in kinds.as_object().unwrap() {
                let n = n.as_u64().unwrap_or(0);
                *by_kind.entry(kind.clone()).or_insert(0) += n;
                *by_op.entry(op.clone()).or_insert(0) += n;
            }
        }
    }
    (by_kind, by_op)
}

/// Seed the demo organization, add `n` generated requests, apply under `faults`, check.
fn apply_under_faults(label: &str, n: usize, faults: Value) {
    let started = Instant::now();
    let (_guard, emu) = lock();
    let mut ids = seed_organization(emu);
    seed_catalog(emu, &mut ids);
    let mgmt = ids[&demo().organization.management_account_id].clone();
    let ws = VendWorkspace::new(emu, &mgmt);
    write_requests(&ws, n);
    emu.set_faults(&faults);
    let (status, body) = emu.http("POST", "/_vend/stats/reset", "");
    assert_eq!(status, 200, "{body}");

    let t = Instant::now();
    let applied = ws.run(&["apply", "--auto-approve", "--poll-interval-ms", "50"]);
    let apply_time = t.elapsed();
    let stats = emu.stats();
    emu.set_faults(&json!({ "throttle": 0, "concurrent": 0, "server_error": 0, "script": [] }));
    let (by_kind, by_op) = fault_counts(&stats);
    eprintln!(
        "{label}: apply exit {:?} in {:.1}s; {} requests; faults by kind {by_kind:?}; by operation {by_op:?}",
        applied.status.code(),
        apply_time.as_secs_f64(),
        stats["total"]
    );
    assert!(applied.status.success(), "{label}: the apply under faults failed\n{}", describe(&applied));

    // Exactly one account per requested e-mail, in its blueprint's OU, tagged by vend.
    let accounts = list_accounts(emu, true);
    let ous = ou_paths(emu);
    let mut problems = vec![];
    for r in requests(&ws) {
        let found: Vec<_> = accounts.iter().filter(|a| a.email.eq_ignore_ascii_case(&r.email)).collect();
        if found.len() != 1 {
            problems.push(format!("{} <{}>: {} accounts", r.name, r.email, found.len()));
            continue;
        }
        let a = found[0];
        if ous.get(&r.ou) != Some(&a.parent) {
            let at =
                ous.iter().find(|(_, id)| **id == a.parent).map(|(p, _)| p.as_str()).unwrap_or(&a.parent);
            problems.push(format!("{}: in {at}, not {}", r.name, r.ou));
        }
        if a.tags.get("vend:managed").map(String::as_str) != Some("true")
            || a.tags.get("vend:blueprint") != Some(&r.blueprint)
        {
            problems.push(format!("{}: tags {:?} (blueprint {})", r.name, a.tags, r.blueprint));
        }
    }
    assert!(problems.is_empty(), "{label}: {problems:#?}");

    let verify = ws.run(&["audit", "verify"]);
    assert!(verify.status.success(), "{label}: audit verify\n{}", describe(&verify));

    ws.assert_empty_replan(label);
    eprintln!("{label}: passed in {:.1}s", started.elapsed().as_secs_f64());
}

#[test]
fn fifty_accounts_apply_under_throttling_conflicts_and_server_errors() {
    apply_under_faults(
        "50 accounts",
        50,
        json!({
            "throttle": 0.2, "concurrent": 0.05, "server_error": 0.01, "seed": 20261122,
            "fault_only": { "concurrent": ["organizations"] }
        }),
    );
}

#[test]
fn slow_account_creation_with_latency_under_faults() {
    apply_under_faults(
        "10 slow accounts",
        10,
        json!({
            "create_account_polls": 4, "latency_ms": 20,
            "throttle": 0.1, "concurrent": 0.05, "server_error": 0.01, "seed": 7,
            "fault_only": { "concurrent": ["organizations"] }
        }),
    );
}
