//! TUI frame time of the organization screen: a generated organization (10 top OUs with 10
//! OUs each, N accounts spread over them with blueprint/owner tags, one pipeline per account
//! with every tenth TAINTED, FullAWSAccess everywhere and 10 own SCPs on OUs) and a plan that
//! updates every 20th account, repairs the tainted pipelines, attaches an SCP to 50 OUs and
//! creates 200 accounts, drawn with ratatui's `TestBackend` at 120x40. For 1,000 and 10,000
//! accounts (`VEND_BENCH_ACCOUNTS=N[,M…]` to change): the time to build the tree (done with the
//! load, in the background), from the loaded workspace to the first frame, and the median / p95
//! frame time while the cursor moves, nodes fold and the search steps through matches.
//! Run with `cargo bench --bench tui_org_frame`. Prints numbers; asserts nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::sync::Arc;
use std::time::{Duration, Instant};
use vend::model::{Account, Desired, OrgUnit, Policy, ProvisionedProduct, State, Tags};
use vend::plan::payload::NewAccount;
use vend::plan::{Action, Address, Basis, Change, Kind, Payload, Plan, Target};
use vend::tui::model::{Model, Msg, Workspace};
use vend::tui::{Key, update, view};
use vend::workspace::{Files, Loaded};

fn tags(pairs: &[(&str, String)]) -> Tags {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

fn organization(accounts: usize) -> (State, Vec<String>) {
    let mut s = State::empty("2026-11-22T10:00:00Z");
    let root = s.organization.root_id.clone();
    let mut leaves = vec![];
    let mut paths = vec![];
    for t in 0..10 {
        let top = format!("ou-root-top{t:05}");
        s.organizational_units.push(OrgUnit {
            id: top.clone(),
            name: format!("unit-{t}"),
            parent_id: root.clone(),
            tags: Tags::new(),
        });
        for c in 0..10 {
            let id = format!("ou-top{t:01}-sub{c:05}");
            s.organizational_units.push(OrgUnit {
                id: id.clone(),
                name: format!("team-{c}"),
                parent_id: top.clone(),
                tags: Tags::new(),
            });
            leaves.push(id);
            paths.push(format!("unit-{t}/team-{c}"));
        }
    }
    let mut all_targets: Vec<String> = s.organizational_units.iter().map(|o| o.id.clone()).collect();
    for i in 0..accounts {
        let id = format!("{:012}", 200_000_000_000u64 + i as u64);
        s.accounts.push(Account {
            id: id.clone(),
            name: format!("acct-{i:05}"),
            email: format!("aws+acct-{i:05}@example.com"),
            state: if i % 97 == 0 { "SUSPENDED".into() } else { "ACTIVE".into() },
            parent_id: leaves[i % leaves.len()].clone(),
            tags: tags(&[
                ("vend:blueprint", format!("workload@v{}", 1 + i % 3)),
                ("vend:owner", format!("team-{}", i % 40)),
            ]),
        });
        s.provisioned_products.push(ProvisionedProduct {
            id: format!("pp-{i:013}"),
            name: "baseline".into(),
            account_id: id.clone(),
            product_id: "prod-baseline".into(),
            version_id: "pa-v1".into(),
            status: if i % 10 == 3 { "TAINTED".into() } else { "AVAILABLE".into() },
            params: Default::default(),
            tags: Tags::new(),
        });
        all_targets.push(id);
    }
    s.policies[0].target_ids.extend(all_targets);
    for p in 0..10 {
        s.policies.push(Policy {
            id: format!("p-own{p:05}"),
            name: format!("guard-{p}"),
            policy_type: "SERVICE_CONTROL_POLICY".into(),
            aws_managed: false,
            content: "{}".into(),
            target_ids: leaves.iter().skip(p).step_by(10).cloned().collect(),
            tags: Tags::new(),
        });
    }
    (s, paths)
}

fn plan(accounts: usize, paths: &[String]) -> Plan {
    let change = |address: Address, kind, action, after| Change {
        address,
        kind,
        action,
        before: None,
        after,
        depends_on: vec![],
        reason: "bench".into(),
    };
    let mut changes = vec![];
    for i in (0..accounts).step_by(20) {
        changes.push(change(Address::account(&format!("acct-{i:05}")), Kind::Account, Action::Update, None));
    }
    for i in (3..accounts).step_by(10) {
        let a = Address::provisioned_pipeline(&format!("acct-{i:05}"), "baseline");
        changes.push(change(a, Kind::ProvisionedPipeline, Action::Repair, None));
    }
    for p in paths.iter().take(50) {
        let a = Address::policy_attachment("guard-9", &Target::ou(p));
        changes.push(change(a, Kind::PolicyAttachment, Action::Create, None));
    }
    for i in 0..200 {
        let name = format!("new-{i:04}");
        let after = Payload::NewAccount(NewAccount {
            id: None,
            name: name.clone(),
            email: String::new(),
            state: "ACTIVE".into(),
            parent_id: None,
            parent: paths[i % paths.len()].clone(),
            tags: Default::default(),
            blueprint: "workload@v3".into(),
            create_account_request_id: None,
            root_id: String::new(),
            requested_at: None,
        });
        changes.push(change(Address::account(&name), Kind::Account, Action::Create, Some(after)));
    }
    Plan::new(
        Basis { state: "sha256:0".into(), workspace: "sha256:1".into(), source: "state-file".into() },
        changes,
        vec![],
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn run(accounts: usize) {
    let (state, paths) = organization(accounts);
    let p = plan(accounts, &paths);
    let loaded = Loaded { desired: Desired::default(), diagnostics: vec![] };
    let t = Instant::now();
    let ws = Arc::new(Workspace::new(Files::default(), loaded, state, p, "local state file".into()));
    let build = t.elapsed();
    let nodes = ws.org.nodes.len();
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();

    let start = Instant::now();
    let (mut m, _) = Model::new("bench", true);
    let g = m.gens.load;
    update(&mut m, Msg::Loaded { generation: g, result: Ok(ws) });
    update(&mut m, Msg::Key(Key::Char('7')));
    terminal.draw(|f| view(&m, f)).unwrap();
    let first = start.elapsed();

    // Search once: the matches are stepped through below.
    update(&mut m, Msg::Key(Key::Char('/')));
    for c in "acct-0".chars() {
        update(&mut m, Msg::Key(Key::Char(c)));
    }
    update(&mut m, Msg::Key(Key::Enter));
    update(&mut m, Msg::Key(Key::Home));
    let mut frames: Vec<Duration> = vec![];
    let mut updates: Vec<Duration> = vec![];
    for i in 0..400 {
        let k = match i % 50 {
            10 => Key::Char(' '), // fold the node under the cursor (or open it)
            11 => Key::Char(' '),
            20 | 21 => Key::Char('n'),
            30 => Key::PageDown,
            40 => Key::Char('l'),
            _ => Key::Char('j'),
        };
        let t = Instant::now();
        update(&mut m, Msg::Key(k));
        updates.push(t.elapsed());
        let t = Instant::now();
        terminal.draw(|f| view(&m, f)).unwrap();
        frames.push(t.elapsed());
    }
    frames.sort();
    updates.sort();
    let median = frames[frames.len() / 2];
    let p95 = frames[frames.len() * 95 / 100];
    println!(
        "tui_org_frame: {accounts} accounts ({nodes} nodes, {} rows open), 120x40: tree built in {:.2} ms (with the load); \
         load to first frame {:.2} ms; frame median {:.3} ms, p95 {:.3} ms, max {:.3} ms; key update median {:.3} ms, max {:.3} ms over {} frames",
        m.org.rows.len(),
        ms(build),
        ms(first),
        ms(median),
        ms(p95),
        ms(frames[frames.len() - 1]),
        ms(updates[updates.len() / 2]),
        ms(updates[updates.len() - 1]),
        frames.len()
    );
}

fn main() {
    let sizes: Vec<usize> = std::env::var("VEND_BENCH_ACCOUNTS")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000]);
    for n in sizes {
        run(n);
    }
}
