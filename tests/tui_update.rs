//! `tui::update` key handling per screen, and background results of superseded requests being
//! dropped. Pure: no terminal, no threads; background answers are fed in as messages.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod tui_support;

use tui_support::*;
use vend::engine::{EngineEvent, Report, StepReport, StepStatus};
use vend::plan::Action;
use vend::request::RequestKind;
use vend::tui::model::*;
use vend::tui::{Key, update};

fn has<F: Fn(&Effect) -> bool>(effects: &[Effect], f: F) -> bool {
    effects.iter().any(f)
}

#[test]
fn starts_by_loading_and_shows_the_plan() {
    let (m, effects) = Model::new("demo", false);
    assert!(matches!(effects.as_slice(), [Effect::Load { .. }]));
    assert!(matches!(m.loading, Loading::Busy { .. }));
    assert_eq!(m.screen, Screen::Plan);
    let (m, effects) = ready_with(demo());
    assert_eq!(m.loading, Loading::Idle);
    assert!(m.workspace.is_some());
    // The form is checked as soon as the workspace is there.
    assert!(has(&effects, |e| matches!(e, Effect::Validate { .. })));
    assert_eq!(selected_address(&m).as_deref(), Some("ou:Workloads/staging"));
}

#[test]
fn stale_results_are_dropped() {
    let (mut m, effects) = Model::new("demo", false);
    let Effect::Load { generation: first } = effects[0] else { panic!() };
    // A reload supersedes the first load.
    let effects = update(&mut m, Msg::Key(Key::Char('r')));
    let Some(Effect::Load { generation: second }) = effects.first() else { panic!("{effects:?}") };
    assert_ne!(first, *second);
    update(&mut m, Msg::Loaded { generation: first, result: Ok(demo()) });
    assert!(m.workspace.is_none(), "the superseded load must be dropped");
    assert_eq!(m.dropped, 1);
    update(&mut m, Msg::Loaded { generation: *second, result: Ok(demo()) });
    assert!(m.workspace.is_some());

    // Validation, audit, engine and submit answers with an old generation change nothing.
    let ws = m.workspace.clone().unwrap();
    let checked = vend::request::check(&ws.files, &ws.loaded, None, &vend::request::Request::default());
    update(&mut m, Msg::Validated { generation: 9999, checked });
    assert!(m.form.checked.is_none());
    update(&mut m, Msg::AuditLoaded { generation: 9999, result: Err("old".into()) });
    assert!(m.audit.error.is_none());
    update(&mut m, Msg::Submitted { generation: 9999, result: Err("old".into()) });
    assert!(m.status.is_none());
    update(
        &mut m,
        Msg::Engine { generation: 9999, event: EngineEvent::StepSucceeded { address: "x".into() }, at_ms: 1 },
    );
    update(&mut m, Msg::ApplyDone { generation: 9999, result: Err("old".into()) });
    assert!(m.apply.is_none());
    assert_eq!(m.dropped, 6);
}

#[test]
fn global_keys_switch_screens_help_and_quit() {
    let mut m = ready();
    update(&mut m, Msg::Key(Key::Char('1')));
    assert_eq!(m.screen, Screen::Catalog);
    let e = update(&mut m, Msg::Key(Key::Char('5')));
    assert_eq!(m.screen, Screen::Audit);
    assert!(has(&e, |e| matches!(e, Effect::LoadAudit { .. })));
    let e = update(&mut m, Msg::Key(Key::Tab));
    assert_eq!(m.screen, Screen::Metrics);
    assert!(has(&e, |e| matches!(e, Effect::LoadAudit { .. })), "metrics read the audit log");
    update(&mut m, Msg::Key(Key::Tab));
    assert_eq!(m.screen, Screen::Org);
    update(&mut m, Msg::Key(Key::Tab));
    assert_eq!(m.screen, Screen::Catalog);
    update(&mut m, Msg::Key(Key::BackTab));
    assert_eq!(m.screen, Screen::Org);
    update(&mut m, Msg::Key(Key::BackTab));
    assert_eq!(m.screen, Screen::Metrics);
    update(&mut m, Msg::Key(Key::BackTab));
    assert_eq!(m.screen, Screen::Audit);
    update(&mut m, Msg::Key(Key::Char('4')));
    assert_eq!(m.screen, Screen::Apply);
    update(&mut m, Msg::Key(Key::Char('?')));
    assert!(m.help);
    // Any of the help keys closes it; others are swallowed.
    update(&mut m, Msg::Key(Key::Char('1')));
    assert!(m.help && m.screen == Screen::Apply);
    update(&mut m, Msg::Key(Key::Esc));
    assert!(!m.help);
    let e = update(&mut m, Msg::Key(Key::Char('q')));
    assert!(m.quit && has(&e, |e| matches!(e, Effect::Quit)));
    let mut m = ready();
    let e = update(&mut m, Msg::Key(Key::Ctrl('c')));
    assert!(m.quit && has(&e, |e| matches!(e, Effect::Quit)));
    // Resizes and ticks only change the clock.
    let mut m = ready();
    assert!(update(&mut m, Msg::Resize).is_empty());
    update(&mut m, Msg::Tick { now_ms: 1234 });
    assert_eq!(m.now_ms, 1234);
}

#[test]
fn plan_navigation_lands_on_changes_and_drills_down() {
    let mut m = ready();
    let first = selected_address(&m).unwrap();
    keys(&mut m, &[Key::Char('j')]);
    let second = selected_address(&m).unwrap();
    assert_ne!(first, second);
    assert!(matches!(m.review.rows[m.review.selected], Row::Change(_)), "never on a heading");
    keys(&mut m, &[Key::Up]);
    assert_eq!(selected_address(&m).unwrap(), first);
    keys(&mut m, &[Key::Char('G')]);
    assert_eq!(selected_address(&m).as_deref(), Some("permission_set:WorkloadDeploy"));
    keys(&mut m, &[Key::Char('g')]);
    assert_eq!(selected_address(&m).unwrap(), first);
    // Drill into the SCP document change: its line diff is there.
    keys(&mut m, &[Key::Char('/')]);
    type_text(&mut m, "region-guard");
    keys(&mut m, &[Key::Enter]);
    assert!(!m.review.editing_filter);
    assert_eq!(selected_address(&m).as_deref(), Some("policy:region-guard"));
    keys(&mut m, &[Key::Enter]);
    let d = m.review.detail.as_ref().expect("detail open");
    let text: Vec<String> = d.lines.iter().map(|l| l.text()).collect();
    assert!(text.iter().any(|l| l.contains("document:")), "{text:#?}");
    assert!(text.iter().any(|l| l.contains("@@")));
    keys(&mut m, &[Key::Char('j'), Key::Char('j')]);
    assert_eq!(m.review.detail.as_ref().unwrap().scroll, 2);
    keys(&mut m, &[Key::Esc]);
    assert!(m.review.detail.is_none());
}

#[test]
fn plan_filter_and_action_filter() {
    let mut m = ready();
    let all = m.review.rows.len();
    keys(&mut m, &[Key::Char('/')]);
    type_text(&mut m, "sandbox");
    let shown: Vec<String> = m
        .review
        .rows
        .iter()
        .filter_map(|r| {
            if let Row::Change(i) = r {
                let c = &m.plan().unwrap().changes[*i];
                Some(format!("{} {}", c.address, c.reason))
            } else {
                None
            }
        })
        .collect();
    // Search matches the address or the reason.
    assert!(!shown.is_empty() && shown.iter().all(|a| a.to_lowercase().contains("sandbox")), "{shown:?}");
    assert!(shown.len() < m.plan().unwrap().changes.len());
    // Typing while searching does not trigger other keys.
    assert_eq!(m.screen, Screen::Plan);
    keys(&mut m, &[Key::Esc]);
    assert_eq!(m.review.rows.len(), all);
    keys(&mut m, &[Key::Char('f')]);
    assert_eq!(m.review.action_filter, Some(Action::Create));
    assert!(m.review.rows.iter().all(|r| match r {
        Row::Change(i) => m.plan().unwrap().changes[*i].action == Action::Create,
        _ => true,
    }));
    keys(&mut m, &[Key::Char('f')]);
    assert_eq!(m.review.action_filter, Some(Action::Update));
    keys(&mut m, &[Key::Esc]);
    assert_eq!(m.review.action_filter, None);
}

#[test]
fn excluding_a_change_excludes_its_dependents_and_says_so() {
    let mut m = ready();
    assert_eq!(selected_address(&m).as_deref(), Some("ou:Workloads/staging"));
    keys(&mut m, &[Key::Char(' ')]);
    let ex: Vec<&String> = m.review.excluded.keys().collect();
    assert_eq!(
        ex,
        [
            "account:checkout-staging",
            "account:search-staging",
            "account_assignment:checkout-staging/platform-readonly/ReadOnlyAccess",
            "account_assignment:checkout-staging/team-checkout-admins/AdministratorAccess",
            "account_assignment:checkout-staging/team-checkout-developers/PowerUserAccess",
            "account_assignment:checkout-staging/team-checkout-developers/WorkloadDeploy",
            "alternate_contact:checkout-staging/security",
            "launch_role:checkout-staging/VendPipelineLaunchRole",
            "launch_role:search-staging/VendPipelineLaunchRole",
            "ou:Workloads/staging",
            "policy_attachment:deny-root-user@ou:Workloads/staging",
            "provisioned_pipeline:checkout-staging/baseline",
            "provisioned_pipeline:search-staging/baseline"
        ]
    );
    let status = m.status.as_ref().unwrap().text.clone();
    assert!(status.contains("12 change(s) that depend on it"), "{status}");
    assert_eq!(m.review.included.create, 6);
    // A dependent cannot be included on its own.
    keys(&mut m, &[Key::Char('/')]);
    type_text(&mut m, "account:search-staging");
    keys(&mut m, &[Key::Enter, Key::Char('x')]);
    assert!(m.status.as_ref().unwrap().error);
    assert_eq!(m.review.excluded.len(), 13);
    keys(&mut m, &[Key::Enter]);
    let detail: Vec<String> = m.review.detail.as_ref().unwrap().lines.iter().map(|l| l.text()).collect();
    assert!(detail.iter().any(|l| l.contains("because it depends on ou:Workloads/staging")), "{detail:#?}");
    keys(&mut m, &[Key::Esc, Key::Esc]);
    // Including the root brings everything back; X clears all.
    keys(&mut m, &[Key::Char('g'), Key::Char(' ')]);
    assert!(m.review.excluded.is_empty());
    keys(&mut m, &[Key::Char(' '), Key::Char('X')]);
    assert!(m.review.excluded.is_empty());
}

#[test]
fn saving_the_plan_carries_the_excluded_list() {
    let mut m = ready();
    keys(&mut m, &[Key::Char(' '), Key::Char('s')]);
    assert_eq!(m.review.save_input.as_deref(), Some("plan.json"));
    keys(&mut m, &[Key::Backspace; 9]);
    type_text(&mut m, "reviewed.json");
    let e = keys(&mut m, &[Key::Enter]);
    let Some(Effect::SavePlan { path, plan, required_approvals }) = e.first() else { panic!("{e:?}") };
    assert_eq!(path, "reviewed.json");
    assert_eq!(*required_approvals, 0, "the demo workspace requires no approvals: no author");
    let list = plan.excluded.as_ref().unwrap().as_array().unwrap();
    assert_eq!(list.len(), 13);
    assert_eq!(plan.plan_id, m.plan().unwrap().plan_id, "excluding does not change the plan id");
    update(&mut m, Msg::Saved { result: Ok(SavedPlan { path: "reviewed.json".into(), author: None }) });
    assert!(m.status.as_ref().unwrap().text.contains("Saved the plan"));
    // Esc cancels the file prompt.
    keys(&mut m, &[Key::Char('s'), Key::Esc]);
    assert!(m.review.save_input.is_none());
}

#[test]
fn apply_needs_the_typed_word_yes() {
    let mut m = ready();
    keys(&mut m, &[Key::Char(' '), Key::Char('a')]);
    assert!(m.confirm.is_some());
    // Keys go to the dialog, not to the screens.
    let e = type_text(&mut m, "no");
    assert!(e.is_empty());
    assert_eq!(m.screen, Screen::Plan);
    let e = keys(&mut m, &[Key::Enter]);
    assert!(e.is_empty());
    assert!(m.confirm.as_ref().unwrap().error.as_ref().unwrap().contains("is not 'yes'"));
    type_text(&mut m, "yes");
    let e = keys(&mut m, &[Key::Enter]);
    let Some(Effect::Apply { plan, .. }) = e.first() else { panic!("{e:?}") };
    assert_eq!(plan.excluded.as_ref().unwrap().as_array().unwrap().len(), 13);
    assert!(m.confirm.is_none());
    assert_eq!(m.screen, Screen::Apply);
    let run = m.apply.as_ref().unwrap();
    assert_eq!(run.steps.len(), 11);
    assert_eq!(run.excluded, 13);
    assert!(run.steps.iter().all(|s| s.state == StepState::Pending));
    // Esc cancels without an effect.
    let mut m = ready();
    keys(&mut m, &[Key::Char('a')]);
    let e = keys(&mut m, &[Key::Esc]);
    assert!(e.is_empty() && m.confirm.is_none() && m.apply.is_none());
}

#[test]
fn a_close_also_needs_the_account_name() {
    let ws = demo();
    let mut plan = ws.plan.clone();
    let i = plan.changes.iter().position(|c| c.address == "account:payments-prod").unwrap();
    plan.changes[i].action = Action::Close;
    let ws = std::sync::Arc::new(Workspace::new(
        ws.files.clone(),
        ws.loaded.clone(),
        ws.state.clone(),
        plan,
        "local state file".into(),
    ));
    let (mut m, _) = ready_with(ws);
    keys(&mut m, &[Key::Char('a')]);
    type_text(&mut m, "yes");
    let e = keys(&mut m, &[Key::Enter]);
    assert!(e.is_empty());
    let c = m.confirm.as_ref().unwrap();
    assert_eq!(c.step, 1);
    assert!(c.prompts[1].text.contains("payments-prod"));
    type_text(&mut m, "payments-dev");
    assert!(keys(&mut m, &[Key::Enter]).is_empty());
    type_text(&mut m, "payments-prod");
    let e = keys(&mut m, &[Key::Enter]);
    assert!(matches!(e.first(), Some(Effect::Apply { .. })));
}

fn applying() -> (Model, u64) {
    let mut m = ready();
    keys(&mut m, &[Key::Char('a')]);
    type_text(&mut m, "yes");
    let e = keys(&mut m, &[Key::Enter]);
    let Some(Effect::Apply { generation, .. }) = e.first() else { panic!() };
    (m, *generation)
}

#[test]
fn apply_progress_follows_engine_events() {
    let (mut m, g) = applying();
    let ev = |e| Msg::Engine { generation: g, event: e, at_ms: 500 };
    update(&mut m, Msg::Tick { now_ms: 500 });
    update(
        &mut m,
        ev(EngineEvent::StepStarted {
            index: 2,
            total: 22,
            address: "ou:Workloads/staging".into(),
            action: Action::Create,
        }),
    );
    // The demo's first step is service_access:account; the OU is the second.
    assert_eq!(m.apply.as_ref().unwrap().steps[1].state, StepState::Running);
    // The step is in flight since the event's time.
    let flying = m.apply.as_ref().unwrap().progress.in_flight().to_vec();
    assert_eq!(flying.len(), 1);
    assert_eq!((flying[0].address.as_str(), flying[0].started_ms), ("ou:Workloads/staging", 500));
    update(
        &mut m,
        ev(EngineEvent::Polled { address: "ou:Workloads/staging".into(), status: "IN_PROGRESS".into() }),
    );
    assert_eq!(m.apply.as_ref().unwrap().steps[1].state, StepState::Polling("IN_PROGRESS".into()));
    update(&mut m, ev(EngineEvent::StepSucceeded { address: "ou:Workloads/staging".into() }));
    update(
        &mut m,
        ev(EngineEvent::StepFailed { address: "policy:region-guard".into(), error: "boom".into() }),
    );
    let run = m.apply.as_ref().unwrap();
    assert_eq!(run.steps[1].state, StepState::Done);
    assert!(run.progress.in_flight().is_empty(), "a finished step leaves the in-flight list");
    assert_eq!((run.progress.done, run.progress.failed), (1, 1));
    assert!(run.steps.iter().any(|s| s.state == StepState::Failed("boom".into())));
    // q does not quit while applying; Ctrl-C asks to stop (the steps in flight finish).
    let e = update(&mut m, Msg::Key(Key::Char('q')));
    assert!(e.is_empty() && !m.quit);
    let e = update(&mut m, Msg::Key(Key::Ctrl('c')));
    assert!(matches!(e.as_slice(), [Effect::StopApply]));
    assert!(!m.quit && m.apply.as_ref().unwrap().stopping);
    assert!(update(&mut m, Msg::Key(Key::Ctrl('c'))).is_empty(), "asked once");
    update(&mut m, ev(EngineEvent::Stopped { remaining: 11, in_flight: 0 }));
    update(&mut m, Msg::Tick { now_ms: 4500 });
    let report = Report {
        plan_id: m.apply.as_ref().unwrap().plan_id.clone(),
        stopped: true,
        steps: vec![
            StepReport {
                address: "ou:Workloads/staging".into(),
                action: Action::Create,
                status: StepStatus::Succeeded,
                error: None,
            },
            StepReport {
                address: "policy:region-guard".into(),
                action: Action::Update,
                status: StepStatus::Skipped,
                error: Some("not started: the apply was stopped".into()),
            },
        ],
    };
    let e = update(&mut m, Msg::ApplyDone { generation: g, result: Ok(report) });
    // The plan is read again so it shows what is left.
    assert!(matches!(e.as_slice(), [Effect::Load { .. }]));
    let run = m.apply.as_ref().unwrap();
    assert_eq!(run.finished_ms, Some(4500));
    assert!(m.status.as_ref().unwrap().text.contains("stopped"));
    assert!(matches!(run.steps[2].state, StepState::Skipped(_)));
    // After it ends, Enter goes back to the plan and q quits again.
    update(&mut m, Msg::Key(Key::Enter));
    assert_eq!(m.screen, Screen::Plan);
}

#[test]
fn catalog_keys_diff_mark_and_request() {
    let mut m = ready();
    keys(&mut m, &[Key::Char('1')]);
    let rows = vend::tui::catalog::rows(&m.workspace.as_ref().unwrap().catalog);
    // Down to service-pipeline v3 (the last row).
    keys(&mut m, &[Key::End]);
    assert_eq!(m.catalog.selected, rows.len() - 1);
    keys(&mut m, &[Key::Char('d')]);
    let d = m.catalog.diff.as_ref().expect("diff against the previous version");
    assert_eq!(d.title, "service-pipeline v2 -> v3");
    assert!(d.lines.iter().any(|l| l.text().starts_with("+++ v3/template.yaml")));
    keys(&mut m, &[Key::Char('j')]);
    assert_eq!(m.catalog.diff.as_ref().unwrap().scroll, 1);
    keys(&mut m, &[Key::Esc]);
    assert!(m.catalog.diff.is_none());
    // Mark v1, then diff v3 against it.
    keys(&mut m, &[Key::Char('k'), Key::Char('k'), Key::Char('m'), Key::Char('G'), Key::Char('d')]);
    assert_eq!(m.catalog.diff.as_ref().unwrap().title, "service-pipeline v1 -> v3");
    keys(&mut m, &[Key::Esc]);
    // n opens the request form on that version, focused on the name.
    let e = keys(&mut m, &[Key::Char('n')]);
    assert_eq!(m.screen, Screen::Request);
    assert!(has(&e, |e| matches!(e, Effect::Validate { .. })));
    assert_eq!(vend::tui::form::value(&m.form, &FieldId::Blueprint), "service-pipeline@v3");
    assert_eq!(vend::tui::form::kind(&m.form), RequestKind::Pipeline);
    assert_eq!(m.form.fields[m.form.focus].id, FieldId::Name);
}

#[test]
fn request_form_types_validates_and_submits() {
    let mut m = ready();
    keys(&mut m, &[Key::Char('2')]);
    assert_eq!(m.screen, Screen::Request);
    assert_eq!(m.form.fields[m.form.focus].id, FieldId::Name);
    // Pick workload@v2 (Up to the blueprint, Right three times: workload@v3 is newer).
    keys(&mut m, &[Key::Up, Key::Right, Key::Right, Key::Right]);
    assert_eq!(vend::tui::form::value(&m.form, &FieldId::Blueprint), "workload@v2");
    assert!(m.form.fields.iter().any(|f| f.id == FieldId::Param("environment".into())));
    assert!(m.form.fields.iter().any(|f| f.id == FieldId::Tag("cost-center".into())));
    keys(&mut m, &[Key::Down]);
    // Every edit asks for a check; digits and q are typed, not screen keys.
    let e = type_text(&mut m, "web-dev");
    assert_eq!(e.iter().filter(|e| matches!(e, Effect::Validate { .. })).count(), 7);
    keys(&mut m, &[Key::Down]);
    let e = type_text(&mut m, "qa@example.com");
    assert_eq!(m.screen, Screen::Request);
    answer_validation(&mut m, &e);
    let errs = vend::tui::form::messages(&m.form, &FieldId::Email);
    assert!(errs.iter().any(|(e, t)| *e && t.contains("email-pattern")), "{errs:?}");
    let errs = vend::tui::form::messages(&m.form, &FieldId::Tag("cost-center".into()));
    assert!(errs.iter().any(|(e, t)| *e && t.contains("missing-tag")), "{errs:?}");
    // Submitting an invalid request is refused.
    let e = keys(&mut m, &[Key::Ctrl('s')]);
    assert!(e.is_empty());
    assert!(m.status.as_ref().unwrap().error);
    // Fix it: clear the e-mail, type a good one, fill the tag.
    keys(&mut m, &[Key::Ctrl('u')]);
    type_text(&mut m, "aws+web-dev@example.com");
    keys(&mut m, &[Key::Down, Key::Down]);
    assert_eq!(m.form.fields[m.form.focus].id, FieldId::Param("environment".into()));
    keys(&mut m, &[Key::Right]);
    assert_eq!(vend::tui::form::value(&m.form, &FieldId::Param("environment".into())), "staging");
    keys(&mut m, &[Key::Down]);
    let e = type_text(&mut m, "4711");
    answer_validation(&mut m, &e);
    assert!(m.form.checked.as_ref().unwrap().is_valid(), "{:?}", m.form.checked);
    let e = keys(&mut m, &[Key::Ctrl('s')]);
    let Some(Effect::Submit { generation, request }) = e.first() else { panic!("{e:?}") };
    assert_eq!(request.name, "web-dev");
    assert_eq!(request.tags.get("cost-center").map(String::as_str), Some("4711"));
    assert!(m.form.submitting);
    // The answer: the new plan, filtered to the request.
    let generation = *generation;
    update(
        &mut m,
        Msg::Submitted { generation, result: Ok(("catalog/accounts/web-dev.yaml".into(), demo())) },
    );
    assert_eq!(m.screen, Screen::Plan);
    assert_eq!(m.review.filter, "web-dev");
    assert!(m.status.as_ref().unwrap().text.contains("Wrote catalog/accounts/web-dev.yaml"));
    // Esc leaves the form for the catalog.
    keys(&mut m, &[Key::Char('2'), Key::Esc]);
    assert_eq!(m.screen, Screen::Catalog);
}

/// The blueprint choices a new request is offered: published, not deprecated, newest first per
/// blueprint — by `workspace::rules::version_cmp`, the catalog's own marks deciding "deprecated".
#[test]
fn request_form_offers_versions_newest_first_and_no_deprecated_one() {
    use vend::workspace::rules::version_cmp;
    let mut m = ready();
    let ws = m.workspace.clone().unwrap();
    let catalog = &ws.catalog;
    // The demo's deprecated versions: workload@v1 (`deprecated: true` in its file) and
    // service-pipeline@v1 (`deprecated: [v1]` in the portfolio), both marked on the catalog.
    let deprecated: Vec<String> = catalog
        .blueprints
        .iter()
        .flat_map(|b| {
            b.versions.iter().filter(|v| v.deprecated).map(move |v| format!("{}@{}", b.name, v.name))
        })
        .collect();
    assert_eq!(deprecated, ["workload@v1", "service-pipeline@v1"]);
    for (kind, expected) in [
        (RequestKind::Account, vec!["sandbox@v1", "security@v1", "workload@v3", "workload@v2"]),
        (RequestKind::Pipeline, vec!["service-pipeline@v3", "service-pipeline@v2"]),
    ] {
        keys(&mut m, &[Key::Char('2')]);
        if vend::tui::form::kind(&m.form) != kind {
            // On the kind, the other kind.
            m.form.focus = 0;
            keys(&mut m, &[Key::Right]);
        }
        assert_eq!(vend::tui::form::kind(&m.form), kind);
        let choices = m.form.fields.iter().find(|f| f.id == FieldId::Blueprint).unwrap().choices.clone();
        assert_eq!(choices, expected);
        for c in &choices {
            assert!(!deprecated.contains(c), "{c} is deprecated and offered");
        }
        // Newest first within each blueprint, by the workspace's version order.
        for pair in choices.windows(2) {
            let (a, b) = (pair[0].split_once('@').unwrap(), pair[1].split_once('@').unwrap());
            if a.0 == b.0 {
                assert_eq!(version_cmp(a.1, b.1), std::cmp::Ordering::Greater, "{pair:?}");
            }
        }
        // Cycling through every choice never lands on a deprecated version.
        keys(&mut m, &[Key::Esc, Key::Char('2'), Key::Up]);
        for _ in 0..choices.len() + 1 {
            keys(&mut m, &[Key::Right]);
            let v = vend::tui::form::value(&m.form, &FieldId::Blueprint);
            assert!(!deprecated.contains(&v), "{v}");
        }
        keys(&mut m, &[Key::Esc]);
    }
}

/// `n` on a deprecated version in the catalog does not open a request on it: the status names
/// the version to request instead.
#[test]
fn catalog_does_not_start_a_request_on_a_deprecated_version() {
    let mut m = ready();
    keys(&mut m, &[Key::Char('1')]);
    let rows = vend::tui::catalog::rows(&m.workspace.as_ref().unwrap().catalog);
    let ws = m.workspace.clone().unwrap();
    let at = rows
        .iter()
        .position(|(b, v)| {
            let bp = &ws.catalog.blueprints[*b];
            bp.name == "workload" && v.is_some_and(|v| bp.versions[v].name == "v1")
        })
        .unwrap();
    m.catalog.selected = at;
    let e = keys(&mut m, &[Key::Char('n')]);
    assert!(e.is_empty(), "{e:?}");
    assert_eq!(m.screen, Screen::Catalog);
    let s = m.status.as_ref().unwrap();
    assert!(
        s.error && s.text.contains("workload@v1 is deprecated") && s.text.contains("workload@v3"),
        "{s:?}"
    );
    // The request check still refuses one written by hand (`vend request` shares it).
    let r = vend::request::Request {
        kind: RequestKind::Account,
        blueprint: "workload@v1".into(),
        name: "web-dev".into(),
        ..Default::default()
    };
    let checked = vend::request::check(&ws.files, &ws.loaded, Some(&ws.state), &r);
    assert!(
        checked.diagnostics.iter().any(|d| d.is_error() && d.code == "blueprint-deprecated-request"),
        "{:?}",
        checked.diagnostics
    );
}

/// Notes (what the CLI prints on stderr) go to the status line: the last one shown, every one
/// kept for the help; the first load's seeding note is one of them.
#[test]
fn notes_go_to_the_status_line_and_are_kept() {
    let mut ws = std::sync::Arc::try_unwrap(demo()).unwrap();
    let seeded = "vend: no local state yet; seeded .vend/state.json from /ws/snapshots/demo.state.json";
    ws.notes.push(seeded.into());
    let (mut m, _) = ready_with(std::sync::Arc::new(ws));
    assert_eq!(m.status.as_ref().unwrap().text, seeded);
    assert!(!m.status.as_ref().unwrap().error);
    assert_eq!(m.notes, [seeded]);
    // Keys and ticks leave it there.
    update(&mut m, Msg::Tick { now_ms: 5_000 });
    keys(&mut m, &[Key::Char('j'), Key::Char('k')]);
    assert_eq!(m.status.as_ref().unwrap().text, seeded);
    // A later note (one the apply flow sends, multi-line) replaces it on the one status line.
    let key = "vend: audit records are signed with the key file /cfg/vend/operator.key\n  (created now)";
    update(&mut m, Msg::Notes(vec![key.into(), String::new()]));
    assert_eq!(
        m.status.as_ref().unwrap().text,
        "vend: audit records are signed with the key file /cfg/vend/operator.key (created now)"
    );
    assert_eq!(m.notes, [seeded, key]);
    // No note, no change.
    update(&mut m, Msg::Notes(vec![]));
    assert_eq!(m.notes.len(), 2);
}

#[test]
fn request_form_switches_to_pipelines() {
    let mut m = ready();
    keys(&mut m, &[Key::Char('2'), Key::Up, Key::Up]);
    assert_eq!(m.form.fields[m.form.focus].id, FieldId::Kind);
    keys(&mut m, &[Key::Right]);
    assert_eq!(vend::tui::form::kind(&m.form), RequestKind::Pipeline);
    assert!(m.form.fields.iter().any(|f| f.id == FieldId::Account));
    assert!(m.form.fields.iter().any(|f| f.id == FieldId::Param("RepositoryName".into())));
    assert!(!m.form.fields.iter().any(|f| f.id == FieldId::Email));
}

#[test]
fn audit_keys_move_and_show_details() {
    let mut m = ready();
    let e = keys(&mut m, &[Key::Char('5')]);
    let Some(Effect::LoadAudit { generation }) = e.first() else { panic!() };
    assert!(m.audit.loading);
    let rows = (1..=3)
        .map(|i| AuditRow {
            seq: i,
            ts: format!("2026-11-22T10:00:0{i}Z"),
            actor: "dana".into(),
            plan_id: "sha256:abc".into(),
            event: "intent".into(),
            address: format!("account:a{i}"),
            detail: format!("{{\n  \"seq\": {i}\n}}"),
        })
        .collect();
    update(
        &mut m,
        Msg::AuditLoaded {
            generation: *generation,
            result: Ok(AuditData {
                path: "x".into(),
                rows,
                chain: Ok("3 records".into()),
                metrics: vend::metrics::compute(&[]),
            }),
        },
    );
    assert!(!m.audit.loading);
    keys(&mut m, &[Key::Char('j'), Key::Char('j'), Key::Char('j')]);
    assert_eq!(m.audit.selected, 2);
    keys(&mut m, &[Key::Enter]);
    assert_eq!(m.audit.detail.as_ref().unwrap().title, "record seq 3");
    keys(&mut m, &[Key::Esc]);
    assert!(m.audit.detail.is_none());
    let e = keys(&mut m, &[Key::Char('r')]);
    assert!(matches!(e.first(), Some(Effect::LoadAudit { .. })));
}

/// The demo workspace with `required_approvals: 2` in its settings.
fn requiring_approvals() -> Model {
    let ws = demo();
    let mut loaded = ws.loaded.clone();
    loaded.desired.settings.required_approvals = 2;
    let w = Workspace::new(ws.files.clone(), loaded, ws.state.clone(), ws.plan.clone(), ws.source.clone());
    ready_with(std::sync::Arc::new(w)).0
}

#[test]
fn saving_signs_the_author_when_approvals_are_required() {
    let mut m = requiring_approvals();
    keys(&mut m, &[Key::Char('s')]);
    let e = keys(&mut m, &[Key::Enter]);
    let Some(Effect::SavePlan { path, required_approvals, .. }) = e.first() else { panic!("{e:?}") };
    assert_eq!((path.as_str(), *required_approvals), ("plan.json", 2));
    update(
        &mut m,
        Msg::Saved { result: Ok(SavedPlan { path: "/ws/plan.json".into(), author: Some("dana".into()) }) },
    );
    let s = m.status.as_ref().unwrap();
    assert!(!s.error);
    assert!(s.text.contains("signed by dana as its author"), "{}", s.text);
    assert!(s.text.contains("vend approve /ws/plan.json"), "{}", s.text);
}

#[test]
fn a_refused_apply_shows_why_and_runs_nothing() {
    let (mut m, g) = applying();
    let why = "the workspace requires 2 approval(s): save the plan (`vend plan --out FILE`), have it approved (`vend approve FILE`), then `vend apply FILE`";
    // A refusal for an older apply is dropped.
    update(&mut m, Msg::ApplyRefused { generation: g + 100, reason: "old".into() });
    assert!(m.apply_running());
    update(&mut m, Msg::Tick { now_ms: 900 });
    let e = update(&mut m, Msg::ApplyRefused { generation: g, reason: why.into() });
    assert!(e.is_empty(), "nothing runs and nothing changed, so nothing is re-read: {e:?}");
    let run = m.apply.as_ref().unwrap();
    assert!(!run.running());
    assert_eq!(run.refused.as_deref(), Some(why));
    assert!(run.report.is_none());
    assert!(run.steps.iter().all(|s| matches!(&s.state, StepState::Skipped(w) if w.contains("refused"))));
    let s = m.status.as_ref().unwrap();
    assert!(s.error && s.text.contains("Apply refused, nothing was sent") && s.text.contains(why));
    // Back to the plan, which is as it was; a new apply can be asked for.
    keys(&mut m, &[Key::Enter]);
    assert_eq!(m.screen, Screen::Plan);
    keys(&mut m, &[Key::Char('a')]);
    assert!(m.confirm.is_some());
}

#[test]
fn metrics_screen_reads_the_audit_log_and_scrolls() {
    let mut m = ready();
    let e = keys(&mut m, &[Key::Char('6')]);
    assert_eq!(m.screen, Screen::Metrics);
    let Some(Effect::LoadAudit { generation }) = e.first() else { panic!("{e:?}") };
    assert!(m.audit.loading);
    update(&mut m, Msg::AuditLoaded { generation: *generation, result: Ok(sample_audit()) });
    let x = &m.audit.data.as_ref().unwrap().metrics;
    assert_eq!(x.applies, 3);
    assert_eq!(x.failed_applies, 1);
    assert_eq!(x.lead_times.len(), 3);
    assert_eq!(x.not_ready, vec!["account:data-prod".to_string()]);
    assert_eq!(x.mean_time_to_restore_seconds, Some(2 * 3600));
    keys(&mut m, &[Key::Char('j'), Key::Char('j'), Key::Char('j'), Key::Char('j')]);
    assert_eq!(m.metrics.scroll, 3, "scrolls over the lead times and the not-ready ones");
    keys(&mut m, &[Key::Char('g')]);
    assert_eq!(m.metrics.scroll, 0);
    // r reloads the log (not the workspace), as on the audit screen.
    let e = keys(&mut m, &[Key::Char('r')]);
    assert!(matches!(e.as_slice(), [Effect::LoadAudit { .. }]), "{e:?}");
    // The audit screen shows the same load.
    keys(&mut m, &[Key::Char('5')]);
    assert_eq!(m.screen, Screen::Audit);
}

#[test]
fn effective_scp_preview_opens_from_the_plan() {
    let mut m = ready();
    keys(&mut m, &[Key::Char('e')]);
    let v = m.review.effective.as_ref().expect("the demo plan changes effective SCPs");
    let text: Vec<String> = v.lines.iter().map(|l| l.text()).collect();
    assert!(
        text.iter().any(|l| l.contains("data-dev") && l.contains("Sandbox -> Workloads/dev")),
        "{text:#?}"
    );
    assert!(text.iter().any(|l| l.contains("+ region-guard")), "{text:#?}");
    // Keys scroll it; the list underneath does not move; esc closes it.
    let before = m.review.selected;
    keys(&mut m, &[Key::Char('j')]);
    assert_eq!(m.review.selected, before);
    assert_eq!(m.review.effective.as_ref().unwrap().scroll, 1);
    keys(&mut m, &[Key::Esc]);
    assert!(m.review.effective.is_none());
    // With the policy attachments excluded, only the move's effect is left.
    keys(&mut m, &[Key::Char('/')]);
    type_text(&mut m, "policy_attachment:region-guard@ou:Sandbox");
    keys(&mut m, &[Key::Enter, Key::Char(' '), Key::Esc, Key::Char('e')]);
    let text: Vec<String> = m.review.effective.as_ref().unwrap().lines.iter().map(|l| l.text()).collect();
    assert!(text.iter().any(|l| l.contains("Excluded changes are left out")), "{text:#?}");
    assert!(!text.iter().any(|l| l.contains("sandbox-alice")), "{text:#?}");
}

fn org_ready() -> Model {
    let (mut m, _) = ready_with(demo_org());
    keys(&mut m, &[Key::Char('7')]);
    assert_eq!(m.screen, Screen::Org);
    m
}

fn node<'a>(m: &'a Model, name: &str) -> (usize, &'a vend::tui::org::Node) {
    let ws = m.workspace.as_ref().unwrap();
    ws.org.nodes.iter().enumerate().find(|(_, n)| n.name == name).unwrap()
}

#[test]
fn organization_tree_moves_folds_and_searches() {
    let mut m = org_ready();
    let ws = m.workspace.clone().unwrap();
    // Root, 5 OUs + the planned staging OU, 13 accounts + the planned search-staging and
    // checkout-staging; the accounts are closed, so their pipelines are not rows.
    assert_eq!(m.org.rows.len(), 1 + 6 + 15, "{:?}", m.org.rows);
    assert_eq!(org_selected(&m), "Root");
    keys(&mut m, &[Key::Char('j')]);
    assert_eq!(org_selected(&m), "Sandbox");
    // Folding an OU hides its accounts; the cursor stays on it.
    keys(&mut m, &[Key::Char('h')]);
    assert_eq!(m.org.rows.len(), 22 - 3);
    assert_eq!(org_selected(&m), "Sandbox");
    keys(&mut m, &[Key::Char('l')]);
    assert_eq!(m.org.rows.len(), 22);
    keys(&mut m, &[Key::Char('l')]);
    assert_eq!(org_selected(&m), "data-dev", "l on an open node goes to its first child");
    keys(&mut m, &[Key::Char('h')]);
    assert_eq!(org_selected(&m), "Sandbox", "h on a leaf goes to its parent");

    // The search finds the pipeline inside a closed account and opens the account.
    org_find(&mut m, "payments-api");
    let (pipe, n) = node(&m, "payments-api");
    assert_eq!(n.state, "TAINTED");
    assert!(n.alarming());
    let (acct, _) = node(&m, "payments-prod");
    assert!(m.org.open[acct]);
    assert_eq!(m.org.rows.len(), 23);
    assert_eq!(m.org.node(), Some(pipe));

    // Name or id, next / previous match in tree order, wrapping.
    keys(&mut m, &[Key::Char('/')]);
    type_text(&mut m, "dev");
    keys(&mut m, &[Key::Enter]);
    assert_eq!(org_selected(&m), "data-dev", "the first match in tree order");
    let names = |m: &Model| m.org.matches.iter().map(|i| ws.org.nodes[*i].name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&m), ["data-dev", "dev", "checkout-dev", "payments-dev", "search-dev"]);
    keys(&mut m, &[Key::Char('n')]);
    assert_eq!(org_selected(&m), "dev");
    keys(&mut m, &[Key::Char('n'), Key::Char('n'), Key::Char('n')]);
    assert_eq!(org_selected(&m), "search-dev");
    keys(&mut m, &[Key::Char('n')]);
    assert_eq!(org_selected(&m), "data-dev", "n wraps to the first match");
    keys(&mut m, &[Key::Char('N')]);
    assert_eq!(org_selected(&m), "search-dev", "N wraps to the last match");
    keys(&mut m, &[Key::Char('/')]);
    type_text(&mut m, "530192847561");
    assert_eq!(org_selected(&m), "payments-prod", "ids are searched too");
    keys(&mut m, &[Key::Esc]);
    assert!(m.org.search.is_empty() && m.org.matches.is_empty());
    keys(&mut m, &[Key::Char('/')]);
    type_text(&mut m, "no-such-thing");
    keys(&mut m, &[Key::Enter]);
    assert!(m.status.as_ref().unwrap().error, "no match is said");
    assert!(m.org.matches.is_empty());
    // Folds and the cursor survive a reload.
    org_find(&mut m, "Security");
    keys(&mut m, &[Key::Char(' ')]);
    let rows = m.org.rows.len();
    let e = keys(&mut m, &[Key::Char('r')]);
    let Some(Effect::Load { generation }) = e.first() else { panic!("{e:?}") };
    update(&mut m, Msg::Loaded { generation: *generation, result: Ok(demo_org()) });
    assert_eq!(org_selected(&m), "Security");
    assert_eq!(m.org.rows.len(), rows);
}

#[test]
fn organization_nodes_carry_facts_scps_and_the_plans_changes() {
    let m = org_ready();
    let ws = m.workspace.clone().unwrap();
    let org = &ws.org;
    let (_, n) = node(&m, "payments-prod");
    assert_eq!(
        (n.id.as_str(), n.blueprint.as_str(), n.owner.as_str()),
        ("530192847561", "workload@v1", "team-payments")
    );
    let (_, n) = node(&m, "legacy-billing");
    assert!(n.alarming() && n.state == "SUSPENDED");
    let (_, n) = node(&m, "Root");
    let scps: Vec<(&str, bool)> = n.scps.iter().map(|s| (s.name.as_str(), s.aws_managed)).collect();
    assert_eq!(scps, [("FullAWSAccess", true), ("deny-leave-org", false)]);
    // Every change of the plan to an OU, account or pipeline, or an SCP attachment, is on a node.
    let on_nodes: usize = org.nodes.iter().map(|n| n.changes.len()).sum();
    let expected = ws
        .plan
        .changes
        .iter()
        .filter(|c| {
            use vend::plan::Kind::*;
            matches!(c.kind, Ou | Account | PolicyAttachment | ProvisionedPipeline)
        })
        .count();
    assert_eq!(on_nodes, expected);
    let (_, n) = node(&m, "payments-api");
    let c = &ws.plan.changes[n.changes[0]];
    assert_eq!(
        (c.address.as_str(), c.action),
        ("provisioned_pipeline:payments-prod/payments-api", Action::Repair)
    );
    let (_, n) = node(&m, "search-staging");
    assert!(n.planned);
    // The effective SCPs are the plan's own projection: equal to its preview for every
    // account the preview lists.
    let preview = ws.plan.effective_policies.clone().unwrap_or_default();
    assert!(!preview.is_empty());
    for e in &preview {
        let (i, _) = node(&m, &e.account);
        let got = org.effective(i).unwrap();
        assert_eq!(got.before.iter().cloned().collect::<Vec<_>>(), e.before, "{}", e.account);
        assert_eq!(got.after.iter().cloned().collect::<Vec<_>>(), e.after, "{}", e.account);
    }
    let (i, _) = node(&m, "payments-prod");
    let e = org.effective(i).unwrap();
    assert_eq!(
        e.after.iter().map(String::as_str).collect::<Vec<_>>(),
        ["FullAWSAccess", "deny-leave-org", "deny-root-user", "region-guard"]
    );
    assert_eq!(e.before, e.after);
}

#[test]
fn enter_on_a_node_shows_its_changes_in_the_plan_review() {
    let mut m = org_ready();
    org_find(&mut m, "payments-api");
    keys(&mut m, &[Key::Enter]);
    assert_eq!(m.screen, Screen::Plan);
    assert_eq!(m.review.filter, "provisioned_pipeline:payments-prod/payments-api");
    assert_eq!(selected_address(&m).as_deref(), Some("provisioned_pipeline:payments-prod/payments-api"));
    // The split review's detail follows the cursor.
    assert_eq!(m.review.preview.as_ref().map(|p| p.0), update::selected_change(&m));

    // An OU whose changes are SCP attachments: the cursor on the first of them in the list.
    keys(&mut m, &[Key::Esc, Key::Char('7')]);
    org_find(&mut m, "Sandbox");
    keys(&mut m, &[Key::Enter]);
    assert_eq!(m.review.filter, "ou:Sandbox");
    let first = m
        .review
        .rows
        .iter()
        .find_map(|r| match r {
            Row::Change(i) => Some(m.plan().unwrap().changes[*i].address.to_string()),
            _ => None,
        })
        .unwrap();
    assert_eq!(selected_address(&m), Some(first.clone()));
    assert!(first.ends_with("@ou:Sandbox"), "{first}");

    // An account moved by the plan.
    keys(&mut m, &[Key::Char('7')]);
    org_find(&mut m, "data-dev");
    keys(&mut m, &[Key::Enter]);
    assert_eq!(selected_address(&m).as_deref(), Some("account:data-dev"));

    // A node without changes stays; one with changes only below it folds and says so.
    keys(&mut m, &[Key::Char('7')]);
    org_find(&mut m, "security-audit");
    keys(&mut m, &[Key::Enter]);
    assert_eq!(m.screen, Screen::Org);
    assert!(m.status.as_ref().unwrap().text.contains("does not change"));
    org_find(&mut m, "Workloads");
    let (w, _) = node(&m, "Workloads");
    keys(&mut m, &[Key::Enter]);
    assert_eq!(m.screen, Screen::Org);
    assert!(!m.org.open[w]);
    assert!(m.status.as_ref().unwrap().text.contains("below it"));
}

#[test]
fn the_review_preview_follows_the_cursor() {
    let mut m = ready();
    assert_eq!(m.review.preview.as_ref().map(|p| p.0), update::selected_change(&m));
    for _ in 0..3 {
        let before = update::selected_change(&m);
        keys(&mut m, &[Key::Char('j')]);
        assert_ne!(update::selected_change(&m), before);
        let (i, view) = m.review.preview.clone().unwrap();
        assert_eq!(Some(i), update::selected_change(&m));
        assert!(view.title.ends_with(&selected_address(&m).unwrap()), "{}", view.title);
    }
    // Excluding shows in the preview at once.
    keys(&mut m, &[Key::Char(' ')]);
    let (_, view) = m.review.preview.clone().unwrap();
    assert!(view.lines.iter().any(|l| l.0.iter().any(|s| s.text.contains("EXCLUDED"))));
}
