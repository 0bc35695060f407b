//! `tui::view` snapshots: every screen drawn with ratatui's `TestBackend` at 80x24 and 120x40
//! (text only, colour off — symbols and words must carry the meaning), stored under
//! tests/snapshots/. `INSTA_UPDATE=always cargo test --test tui_view` rewrites them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod tui_support;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tui_support::*;
use vend::engine::EngineEvent;
use vend::plan::Action;
use vend::tui::model::*;
use vend::tui::{Key, update, view};

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

fn snap(name: &str, m: &Model) {
    for (w, h) in SIZES {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| view(m, f)).unwrap();
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), t.backend());
    }
}

#[test]
fn loading() {
    let (m, _) = Model::new("demo", false);
    snap("loading", &m);
    let (mut m, _) = Model::new("demo", false);
    let g = m.gens.load;
    update(&mut m, Msg::Loaded { generation: g, result: Err("state file /x does not exist".into()) });
    snap("load_failed", &m);
}

#[test]
fn plan_screen() {
    let mut m = ready();
    snap("plan", &m);
    keys(&mut m, &[Key::Char(' ')]);
    snap("plan_excluded", &m);
    keys(&mut m, &[Key::Char('/')]);
    type_text(&mut m, "region-guard");
    keys(&mut m, &[Key::Enter, Key::Enter]);
    snap("plan_detail_policy", &m);
    keys(&mut m, &[Key::Esc, Key::Esc, Key::Char('/')]);
    type_text(&mut m, "service-pipeline@v3");
    keys(&mut m, &[Key::Enter, Key::Enter]);
    snap("plan_detail_template", &m);
}

#[test]
fn confirm_dialog() {
    let mut m = ready();
    keys(&mut m, &[Key::Char(' '), Key::Char('a')]);
    type_text(&mut m, "ye");
    snap("confirm", &m);
}

#[test]
fn apply_screen() {
    let mut m = ready();
    keys(&mut m, &[Key::Char('4')]);
    snap("apply_none", &m);
    let mut m = ready();
    keys(&mut m, &[Key::Char(' '), Key::Char('a')]);
    type_text(&mut m, "yes");
    let e = keys(&mut m, &[Key::Enter]);
    let Some(Effect::Apply { generation, .. }) = e.first() else { panic!() };
    let g = *generation;
    let steps: Vec<(String, Action)> =
        m.apply.as_ref().unwrap().steps.iter().map(|s| (s.address.clone(), s.action)).collect();
    let ev = |e, at_ms| Msg::Engine { generation: g, event: e, at_ms };
    for (a, _) in &steps[..3] {
        update(&mut m, ev(EngineEvent::StepSucceeded { address: a.clone() }, 1_000));
    }
    update(
        &mut m,
        ev(
            EngineEvent::StepFailed {
                address: steps[3].0.clone(),
                error: "ConcurrentModificationException".into(),
            },
            2_000,
        ),
    );
    update(
        &mut m,
        ev(
            EngineEvent::StepStarted { index: 5, total: 9, address: steps[4].0.clone(), action: steps[4].1 },
            20_000,
        ),
    );
    update(
        &mut m,
        ev(EngineEvent::Polled { address: steps[4].0.clone(), status: "IN_PROGRESS".into() }, 21_000),
    );
    update(&mut m, Msg::Tick { now_ms: 65_000 });
    snap("apply_running", &m);
    update(&mut m, Msg::Key(Key::Ctrl('c')));
    snap("apply_stopping", &m);
    let report = vend::engine::Report {
        plan_id: m.apply.as_ref().unwrap().plan_id.clone(),
        stopped: true,
        steps: steps
            .iter()
            .enumerate()
            .map(|(i, (a, act))| vend::engine::StepReport {
                address: a.clone(),
                action: *act,
                status: if i < 3 || i == 4 {
                    vend::engine::StepStatus::Succeeded
                } else if i == 3 {
                    vend::engine::StepStatus::Failed
                } else {
                    vend::engine::StepStatus::Skipped
                },
                error: match i {
                    0..=2 | 4 => None,
                    3 => Some("ConcurrentModificationException".into()),
                    _ => Some("not started: the apply was stopped".into()),
                },
            })
            .collect(),
    };
    update(&mut m, Msg::Tick { now_ms: 70_000 });
    update(&mut m, Msg::ApplyDone { generation: g, result: Ok(report) });
    snap("apply_stopped", &m);
}

#[test]
fn apply_screen_with_three_steps_in_flight() {
    let mut m = ready();
    keys(&mut m, &[Key::Char(' '), Key::Char('a')]);
    type_text(&mut m, "yes");
    let e = keys(&mut m, &[Key::Enter]);
    let Some(Effect::Apply { generation, .. }) = e.first() else { panic!() };
    let g = *generation;
    let steps: Vec<(String, Action)> =
        m.apply.as_ref().unwrap().steps.iter().map(|s| (s.address.clone(), s.action)).collect();
    let total = steps.len();
    let ev = |e, at_ms| Msg::Engine { generation: g, event: e, at_ms };
    let start = |i: usize| EngineEvent::StepStarted {
        index: i + 1,
        total,
        address: steps[i].0.clone(),
        action: steps[i].1,
    };
    update(&mut m, ev(start(0), 1_000));
    update(&mut m, ev(EngineEvent::StepSucceeded { address: steps[0].0.clone() }, 3_000));
    update(&mut m, ev(start(1), 3_000));
    update(&mut m, ev(start(2), 30_000));
    update(&mut m, ev(start(3), 62_000));
    update(
        &mut m,
        ev(EngineEvent::Polled { address: steps[1].0.clone(), status: "IN_PROGRESS".into() }, 64_000),
    );
    update(
        &mut m,
        ev(
            EngineEvent::Retrying {
                address: steps[3].0.clone(),
                op: "AttachPolicy".into(),
                attempt: 1,
                error: "ConcurrentModificationException".into(),
            },
            70_000,
        ),
    );
    update(&mut m, Msg::Tick { now_ms: 75_000 });
    assert_eq!(m.apply.as_ref().unwrap().progress.in_flight().len(), 3);
    snap("apply_in_flight", &m);
}

#[test]
fn catalog_screen() {
    let mut m = ready();
    keys(&mut m, &[Key::Char('1')]);
    snap("catalog", &m);
    keys(&mut m, &[Key::Char('G')]);
    snap("catalog_version", &m);
    keys(&mut m, &[Key::Char('d')]);
    snap("catalog_diff", &m);
}

#[test]
fn request_screen() {
    let mut m = ready();
    let e = keys(&mut m, &[Key::Char('2'), Key::Up, Key::Right, Key::Right, Key::Down]);
    answer_validation(&mut m, &e);
    type_text(&mut m, "web-dev");
    keys(&mut m, &[Key::Down]);
    let e = type_text(&mut m, "web@example.com");
    answer_validation(&mut m, &e);
    snap("request_errors", &m);
    keys(&mut m, &[Key::Ctrl('u')]);
    type_text(&mut m, "aws+web-dev@example.com");
    // workload@v3 (the newest) gives '{owner}-admins' access: the request names an owner whose
    // group Identity Center has.
    keys(&mut m, &[Key::Down]);
    type_text(&mut m, "team-checkout");
    keys(&mut m, &[Key::Down, Key::Down]);
    let e = type_text(&mut m, "4711");
    answer_validation(&mut m, &e);
    snap("request_valid", &m);
}

/// An account blueprint that declares access and contacts (issue 18), beside the demo's.
const PEOPLE_V1: &str = "description: Accounts a team signs in to
params:
  stage: { allowed: [dev, prod], default: dev }
ou: Sandbox
access:
  - { group: '{owner}-admins', permission_set: AdministratorAccess }
  - { group: platform-readonly, permission_set: ReadOnlyAccess }
request_access:
  groups: ['{owner}-developers']
  permission_sets: [PowerUserAccess, ReadOnlyAccess]
contacts:
  security: { name: Security Team, email: security@example.com, phone: '+1 555 0100', title: SecOps }
  operations: { name: '{owner} on call', email: 'ops+{name}@example.com', phone: '+1 555 0101', title: '{stage} on call' }
";

#[test]
fn access_in_catalog_and_request_preview() {
    let ws = demo_with(&[("blueprints/accounts/people/v1.yaml", PEOPLE_V1)]);
    assert!(ws.loaded.diagnostics.iter().all(|d| !d.is_error()), "{:?}", ws.loaded.diagnostics);
    let (mut m, _) = ready_with(ws);
    // The catalog: the version's access as written (group -> permission set), what a request
    // may add, the contacts.
    keys(&mut m, &[Key::Char('1'), Key::Char('j')]);
    snap("catalog_access", &m);
    // The request form on that blueprint: who gets in, filled with the form's values.
    keys(&mut m, &[Key::Char('2')]);
    assert_eq!(vend::tui::form::value(&m.form, &vend::tui::form::FieldId::Blueprint), "people@v1");
    let focus = |m: &mut Model, id: vend::tui::form::FieldId| {
        for _ in 0..m.form.fields.len() {
            if m.form.fields[m.form.focus].id == id {
                return;
            }
            keys(m, &[Key::Down]);
        }
        panic!("no field {id:?}");
    };
    focus(&mut m, vend::tui::form::FieldId::Name);
    type_text(&mut m, "people-dev");
    focus(&mut m, vend::tui::form::FieldId::Email);
    let e = type_text(&mut m, "aws+people-dev@example.com");
    answer_validation(&mut m, &e);
    // Without an owner: `{owner}` stays as written, and the check says why under Owner.
    let owner = &vend::tui::form::FieldId::Owner;
    assert!(vend::tui::form::messages(&m.form, owner).iter().any(|(e, t)| *e && t.contains("missing-owner")));
    snap("request_access_no_owner", &m);
    focus(&mut m, vend::tui::form::FieldId::Owner);
    // An owner whose '{owner}-admins' group the demo's Identity Center has (the check plans it).
    let e = type_text(&mut m, "team-checkout");
    answer_validation(&mut m, &e);
    snap("request_access", &m);
}

#[test]
fn audit_screen() {
    let mut m = ready();
    let e = keys(&mut m, &[Key::Char('5')]);
    snap("audit_loading", &m);
    let Some(Effect::LoadAudit { generation }) = e.first() else { panic!() };
    let events = ["request", "apply-start", "intent", "outcome", "intent", "outcome", "apply-end"];
    let rows = events
        .iter()
        .enumerate()
        .map(|(i, ev)| AuditRow {
            seq: i as u64 + 1,
            ts: format!("2026-11-22T10:00:{:02}Z", i),
            actor: "dana".into(),
            plan_id: if i == 0 { String::new() } else { "sha256:2b57f6d04767aaaa".into() },
            event: (*ev).into(),
            address: match *ev {
                "request" => "account:web-dev".into(),
                "intent" | "outcome" => "policy:region-guard".into(),
                _ => String::new(),
            },
            detail: format!("{{\n  \"seq\": {},\n  \"event\": \"{ev}\"\n}}", i + 1),
        })
        .collect();
    update(
        &mut m,
        Msg::AuditLoaded {
            generation: *generation,
            result: Ok(AuditData {
                path: ".vend/audit.jsonl".into(),
                rows,
                chain: Ok("7 records, last seq 7, signed by 953551d9a30e… (first key; none pinned)".into()),
                metrics: vend::metrics::compute(&[]),
            }),
        },
    );
    snap("audit", &m);
    keys(&mut m, &[Key::Char('j'), Key::Enter]);
    snap("audit_detail", &m);
    let mut m = ready();
    let e = keys(&mut m, &[Key::Char('5')]);
    let Some(Effect::LoadAudit { generation }) = e.first() else { panic!() };
    update(
        &mut m,
        Msg::AuditLoaded {
            generation: *generation,
            result: Ok(AuditData {
                path: ".vend/audit.jsonl".into(),
                rows: vec![],
                chain: Err("line 3 (seq 3): hash is sha256:1 but the record hashes to sha256:2 (the record was edited)".into()),
                metrics: vend::metrics::compute(&[]),
            }),
        },
    );
    snap("audit_broken", &m);
}

#[test]
fn help_overlay() {
    let mut m = ready();
    keys(&mut m, &[Key::Char('?')]);
    snap("help", &m);
}

#[test]
fn apply_refused() {
    let mut m = ready();
    keys(&mut m, &[Key::Char(' '), Key::Char('a')]);
    type_text(&mut m, "yes");
    let e = keys(&mut m, &[Key::Enter]);
    let Some(Effect::Apply { generation, .. }) = e.first() else { panic!() };
    update(&mut m, Msg::Tick { now_ms: 1_000 });
    update(
        &mut m,
        Msg::ApplyRefused {
            generation: *generation,
            reason: "the workspace requires 2 approval(s): save the plan (`vend plan --out FILE`), have it approved (`vend approve FILE`), then `vend apply FILE`".into(),
        },
    );
    snap("apply_refused", &m);
}

#[test]
fn metrics_screen() {
    let mut m = ready();
    let e = keys(&mut m, &[Key::Char('6')]);
    snap("metrics_loading", &m);
    let Some(Effect::LoadAudit { generation }) = e.first() else { panic!() };
    update(&mut m, Msg::AuditLoaded { generation: *generation, result: Ok(sample_audit()) });
    snap("metrics", &m);
    let mut m = ready();
    let e = keys(&mut m, &[Key::Char('6')]);
    let Some(Effect::LoadAudit { generation }) = e.first() else { panic!() };
    let empty = AuditData {
        path: ".vend/audit.jsonl".into(),
        rows: vec![],
        chain: Ok("empty log".into()),
        metrics: vend::metrics::compute(&[]),
    };
    update(&mut m, Msg::AuditLoaded { generation: *generation, result: Ok(empty) });
    snap("metrics_empty", &m);
}

#[test]
fn plan_effective_policies() {
    let mut m = ready();
    keys(&mut m, &[Key::Char('e')]);
    snap("plan_effective", &m);
}

/// First use: the note that the local state was seeded is on the status line — the last row —
/// once, and nowhere else on the first frame; the help lists it under the notes.
#[test]
fn first_use_note_on_the_status_line() {
    let mut ws = std::sync::Arc::try_unwrap(demo()).unwrap();
    let seeded = "vend: no local state yet; seeded .vend/state.json from /ws/snapshots/demo.state.json";
    ws.notes.push(seeded.into());
    let (mut m, _) = ready_with(std::sync::Arc::new(ws));
    for (w, h) in SIZES {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| view(&m, f)).unwrap();
        let buf = t.backend().buffer();
        let rows: Vec<String> =
            (0..h).map(|y| (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>()).collect();
        let last = rows.last().unwrap().trim_end();
        // The status line shows what fits of the note.
        let fits: String = seeded.chars().take(w as usize).collect();
        assert_eq!(last, fits.trim_end(), "{w}x{h}");
        // (The note's own words: at 120 columns the review's detail pane shows `tags.vend:…`.)
        assert_eq!(rows.iter().filter(|r| r.contains("vend: no local state")).count(), 1, "{rows:#?}");
    }
    snap("first_use", &m);
    keys(&mut m, &[Key::Char('?')]);
    snap("help_notes", &m);
}

/// The sizes of issue 19's acceptance: the 80-column layout and the wide one.
const WIDE: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn snap_at(name: &str, m: &Model, sizes: &[(u16, u16)]) {
    for &(w, h) in sizes {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| view(m, f)).unwrap();
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), t.backend());
    }
}

#[test]
fn organization_screen() {
    let (mut m, _) = ready_with(demo_org());
    keys(&mut m, &[Key::Char('7')]);
    snap_at("org", &m, &WIDE);
    // An account: blueprint, owner, attached and effective SCPs, its pipelines, its changes.
    org_find(&mut m, "data-dev");
    snap_at("org_account", &m, &WIDE);
    // A TAINTED pipeline found by the search (its account opened), the repair marked.
    org_find(&mut m, "payments-api");
    snap_at("org_pipeline", &m, &WIDE);
    // A folded OU says how many changes it hides.
    org_find(&mut m, "Workloads");
    keys(&mut m, &[Key::Char(' ')]);
    snap_at("org_folded", &m, &WIDE);
}

#[test]
fn plan_review_split() {
    let mut m = ready();
    keys(&mut m, &[Key::Char('j'), Key::Char('j')]);
    snap_at("plan_split", &m, &WIDE);
    keys(&mut m, &[Key::Char('/')]);
    type_text(&mut m, "region-guard");
    keys(&mut m, &[Key::Enter, Key::Enter, Key::Char('j')]);
    snap_at("plan_split_detail", &m, &WIDE);
}
