//! TUI frame time: the plan view of a generated 10,000-change plan drawn with ratatui's
//! `TestBackend` at 120x40. Reports the time from start (model created, plan received, rows
//! grouped) to the first frame, and the median / p95 frame time while the cursor moves.
//! Target: median <= 5 ms. Run with `cargo bench --bench tui_frame` (VEND_BENCH_CHANGES=N to
//! change the size). Prints numbers; asserts nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::sync::Arc;
use std::time::{Duration, Instant};
use vend::model::{Desired, State};
use vend::plan::payload::{NewAccount, NewOu, PipelineState};
use vend::plan::{Action, Address, Basis, Change, Kind, Payload, Plan};
use vend::tui::model::{Model, Msg, Workspace};
use vend::tui::{Key, update, view};
use vend::workspace::{Files, Loaded};

fn side(kind: Kind, name: String, parent: String) -> Payload {
    if kind == Kind::Account {
        return Payload::NewAccount(NewAccount {
            id: None,
            name,
            email: String::new(),
            state: "ACTIVE".into(),
            parent_id: None,
            parent,
            tags: Default::default(),
            blueprint: String::new(),
            create_account_request_id: None,
            root_id: String::new(),
            requested_at: None,
        });
    }
    Payload::Pipeline(PipelineState {
        id: None,
        name,
        account_id: None,
        product_id: None,
        version_id: None,
        status: "AVAILABLE".into(),
        params: Default::default(),
        tags: Default::default(),
        account: parent,
        product: String::new(),
        version: None,
        requested_at: None,
        mark_account: None,
    })
}

fn plan(n: usize) -> Plan {
    let mut changes = vec![];
    let ous = 50;
    for i in 0..ous {
        changes.push(Change {
            address: Address::ou(&format!("Workloads/team-{i}")),
            kind: Kind::Ou,
            action: Action::Create,
            before: None,
            after: Some(Payload::NewOu(NewOu {
                id: None,
                name: format!("team-{i}"),
                parent_id: None,
                path: format!("Workloads/team-{i}"),
                parent: "Workloads".into(),
                tags: Default::default(),
            })),
            depends_on: vec![],
            reason: "declared in organization.yaml".into(),
        });
    }
    for i in 0..n - ous {
        let ou = i % ous;
        let (kind, address, action) = match i % 4 {
            0 | 1 => (Kind::Account, Address::account(&format!("acct-{i:05}")), Action::Create),
            2 => (Kind::Account, Address::account(&format!("acct-{i:05}")), Action::Move),
            _ => (
                Kind::ProvisionedPipeline,
                Address::provisioned_pipeline(&format!("acct-{:05}", i - 3), "baseline"),
                Action::Create,
            ),
        };
        changes.push(Change {
            address,
            kind,
            action,
            before: None,
            after: Some(side(kind, format!("acct-{i:05}"), format!("Workloads/team-{ou}"))),
            depends_on: vec![Address::ou(&format!("Workloads/team-{ou}"))],
            reason: "new request".into(),
        });
    }
    Plan::new(
        Basis { state: "sha256:0".into(), workspace: "sha256:1".into(), source: "state-file".into() },
        changes,
        vec![],
    )
}

fn main() {
    let n: usize = std::env::var("VEND_BENCH_CHANGES").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let p = plan(n);
    let ws = Arc::new(Workspace::new(
        Files::default(),
        Loaded { desired: Desired::default(), diagnostics: vec![] },
        State::empty("2026-11-22T10:00:00Z"),
        p,
        "local state file".into(),
    ));
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();

    let start = Instant::now();
    let (mut m, _) = Model::new("bench", true);
    let g = m.gens.load;
    update(&mut m, Msg::Loaded { generation: g, result: Ok(ws) });
    terminal.draw(|f| view(&m, f)).unwrap();
    let first = start.elapsed();

    let mut frames: Vec<Duration> = vec![];
    exclude_one(&mut m);
    for i in 0..400 {
        let k = if i % 100 < 90 { Key::Char('j') } else { Key::PageDown };
        update(&mut m, Msg::Key(k));
        let t = Instant::now();
        terminal.draw(|f| view(&m, f)).unwrap();
        frames.push(t.elapsed());
    }
    frames.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = frames[frames.len() / 2];
    let p95 = frames[frames.len() * 95 / 100];
    println!(
        "tui_frame: {} changes, 120x40: start to first frame {:.2} ms; frame median {:.3} ms, p95 {:.3} ms, max {:.3} ms over {} frames (target median <= 5 ms)",
        m.plan().map(|p| p.changes.len()).unwrap_or(0),
        ms(first),
        ms(median),
        ms(p95),
        ms(frames[frames.len() - 1]),
        frames.len()
    );
}

/// Exclude one OU (and its ~200 dependents) so the frames also show exclusion marks.
fn exclude_one(m: &mut Model) {
    update(m, Msg::Key(Key::Char(' ')));
}
