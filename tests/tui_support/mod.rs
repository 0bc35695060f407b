//! Shared helpers for the TUI tests: the demo workspace loaded into a `tui::model::Workspace`
//! (the repo root's catalog/ and blueprints/ against snapshots/demo.state.json), and a model that
//! has received it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::Arc;
use vend::adapter::fs;
use vend::app;
use vend::tui::model::{Effect, Model, Msg, Workspace};
use vend::tui::update;
use vend::workspace;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The demo workspace, planned against the demo state (a fixed `created_at`).
pub fn demo() -> Arc<Workspace> {
    let files = fs::read_workspace(&root()).unwrap();
    let loaded = workspace::load(&files);
    let state = fs::read_state(&root().join("snapshots/demo.state.json")).unwrap();
    let mut plan = app::make_plan(&loaded, &state, "2026-11-22T10:00:00Z".into());
    // Fixed ids, so snapshots do not move with every edit of the demo workspace's bytes.
    plan.plan_id = format!("sha256:{}", "0123456789ab".repeat(5) + "cdef");
    plan.basis.state = format!("sha256:{}", "acfd658b9282".repeat(5) + "0000");
    Arc::new(Workspace::new(files, loaded, state, plan, "local state file".into()))
}

/// The demo workspace with extra files (path, text), planned against the demo state like `demo`.
pub fn demo_with(extra: &[(&str, &str)]) -> Arc<Workspace> {
    let mut files = fs::read_workspace(&root()).unwrap();
    for (path, text) in extra {
        files.entries.insert((*path).to_string(), text.as_bytes().to_vec());
    }
    let loaded = workspace::load(&files);
    let state = fs::read_state(&root().join("snapshots/demo.state.json")).unwrap();
    let mut plan = app::make_plan(&loaded, &state, "2026-11-22T10:00:00Z".into());
    plan.plan_id = format!("sha256:{}", "0123456789ab".repeat(5) + "cdef");
    plan.basis.state = format!("sha256:{}", "acfd658b9282".repeat(5) + "0000");
    Arc::new(Workspace::new(files, loaded, state, plan, "local state file".into()))
}

/// A model that has loaded `ws` (the first load's answer), and the effects that answer caused.
pub fn ready_with(ws: Arc<Workspace>) -> (Model, Vec<Effect>) {
    let (mut m, effects) = Model::new("demo", false);
    let generation = match effects.as_slice() {
        [Effect::Load { generation }] => *generation,
        other => panic!("expected one Load effect, got {other:?}"),
    };
    let out = update(&mut m, Msg::Loaded { generation, result: Ok(ws) });
    (m, out)
}

pub fn ready() -> Model {
    ready_with(demo()).0
}

/// Feed keys one by one, returning every effect.
pub fn keys(m: &mut Model, keys: &[vend::tui::Key]) -> Vec<Effect> {
    keys.iter().flat_map(|k| update(m, Msg::Key(*k))).collect()
}

pub fn type_text(m: &mut Model, text: &str) -> Vec<Effect> {
    text.chars().flat_map(|c| update(m, Msg::Key(vend::tui::Key::Char(c)))).collect()
}

/// The address of the change under the cursor on the plan screen.
pub fn selected_address(m: &Model) -> Option<String> {
    let i = update::selected_change(m)?;
    Some(m.plan()?.changes[i].address.to_string())
}

/// Answer the last Validate effect synchronously, as the runtime would (fixed time stamp).
pub fn answer_validation(m: &mut Model, effects: &[Effect]) {
    if let Some(Effect::Validate { generation, request, base }) =
        effects.iter().rev().find(|e| matches!(e, Effect::Validate { .. }))
    {
        let mut r = request.clone();
        r.requested_by = "tester".into();
        r.requested_at = "2026-11-22T10:00:00Z".into();
        let checked = vend::request::check(&base.files, &base.loaded, Some(&base.state), &r);
        update(m, Msg::Validated { generation: *generation, checked });
    }
}

fn record(
    ts: &str,
    plan_id: &str,
    event: &str,
    address: &str,
    detail: serde_json::Value,
) -> (vend::metrics::Record, serde_json::Value) {
    let record = vend::metrics::Record {
        ts: ts.into(),
        plan_id: plan_id.into(),
        address: address.into(),
        event: vend::port::Event::read(event, &detail),
    };
    (record, detail)
}

/// Audit records with known delivery metrics: two accounts and a pipeline vended (lead times
/// 1d 1h 30m, 2h 30m and 22h 40m), one created and not ready, three applies of which the second
/// failed and the third restored it 2h later.
pub fn sample_records() -> Vec<vend::metrics::Record> {
    sample().into_iter().map(|(r, _)| r).collect()
}

/// `sample_records` with each record's stored detail.
fn sample() -> Vec<(vend::metrics::Record, serde_json::Value)> {
    use serde_json::json;
    let create = |at: &str| json!({ "action": "create", "requested_at": at });
    let ok = json!({ "status": "SUCCEEDED" });
    vec![
        record(
            "2026-11-01T09:00:00Z",
            "",
            "request",
            "account:web-dev",
            json!({ "requested_at": "2026-11-01T09:00:00Z" }),
        ),
        record("2026-11-02T10:00:00Z", "p1", "apply-start", "", json!({})),
        record("2026-11-02T10:00:01Z", "p1", "intent", "account:web-dev", json!({ "action": "create" })),
        record("2026-11-02T10:30:00Z", "p1", "completed", "account:web-dev", ok.clone()),
        record(
            "2026-11-02T10:31:00Z",
            "p1",
            "intent",
            "provisioned_pipeline:web-dev/web-api",
            create("2026-11-01T12:00:00Z"),
        ),
        record("2026-11-02T10:40:00Z", "p1", "completed", "provisioned_pipeline:web-dev/web-api", ok.clone()),
        record("2026-11-02T10:41:00Z", "p1", "apply-end", "", json!({ "complete": true })),
        record("2026-11-05T08:00:00Z", "p2", "apply-start", "", json!({})),
        record("2026-11-05T08:00:01Z", "p2", "intent", "account:data-prod", create("2026-11-05T07:00:00Z")),
        record("2026-11-05T08:05:00Z", "p2", "apply-end", "", json!({ "complete": false })),
        record("2026-11-05T09:00:00Z", "p3", "apply-start", "", json!({})),
        record("2026-11-05T09:00:01Z", "p3", "intent", "account:search-dev", create("2026-11-05T07:00:00Z")),
        record("2026-11-05T09:30:00Z", "p3", "completed", "account:search-dev", ok),
        record("2026-11-05T10:05:00Z", "p3", "apply-end", "", json!({ "complete": true })),
    ]
}

/// The audit screen's data for `sample_records`.
pub fn sample_audit() -> vend::tui::model::AuditData {
    let records = sample();
    let rows = records
        .iter()
        .enumerate()
        .map(|(i, (r, detail))| vend::tui::model::AuditRow {
            seq: i as u64 + 1,
            ts: r.ts.clone(),
            actor: "dana".into(),
            plan_id: r.plan_id.clone(),
            event: r.event.name().to_string(),
            address: r.address.clone(),
            detail: detail.to_string(),
        })
        .collect();
    vend::tui::model::AuditData {
        path: ".vend/audit.jsonl".into(),
        rows,
        chain: Ok("14 records, last seq 14".into()),
        metrics: vend::metrics::compute(&sample_records()),
    }
}

/// The demo workspace against the demo state with an account SUSPENDED (`legacy-billing`) and
/// a pipeline TAINTED (`payments-prod/payments-api`, which the plan then repairs): the
/// organization screen's marks.
pub fn demo_org() -> Arc<Workspace> {
    let files = fs::read_workspace(&root()).unwrap();
    let loaded = workspace::load(&files);
    let mut state = fs::read_state(&root().join("snapshots/demo.state.json")).unwrap();
    state.accounts.iter_mut().find(|a| a.name == "legacy-billing").unwrap().state = "SUSPENDED".into();
    state.provisioned_products.iter_mut().find(|p| p.name == "payments-api").unwrap().status =
        "TAINTED".into();
    let mut plan = app::make_plan(&loaded, &state, "2026-11-22T10:00:00Z".into());
    plan.plan_id = format!("sha256:{}", "0123456789ab".repeat(5) + "cdef");
    plan.basis.state = format!("sha256:{}", "acfd658b9282".repeat(5) + "0000");
    Arc::new(Workspace::new(files, loaded, state, plan, "local state file".into()))
}

/// On the organization screen: the name of the node under the cursor.
pub fn org_selected(m: &Model) -> String {
    let ws = m.workspace.as_ref().unwrap();
    m.org.node().map(|i| ws.org.nodes[i].name.clone()).unwrap_or_default()
}

/// On the organization screen: put the cursor on the node named `name` through the search.
pub fn org_find(m: &mut Model, name: &str) {
    keys(m, &[vend::tui::Key::Char('/')]);
    type_text(m, name);
    keys(m, &[vend::tui::Key::Enter]);
    assert_eq!(org_selected(m), name, "the search lands on {name}");
}
