//! The flow the CLI (`main.rs`) and the terminal UI (`tui::runtime`) share: pick the state
//! backend from the global options, plan a loaded workspace against it, open the signed audit
//! log, record a request. Impure (files, AWS, clock) but prints nothing: notes for the user come
//! back as strings, and everything read from the environment (user, config dir, key store) is
//! resolved by `main` into an `Env` first.

use crate::adapter::aws::{AwsCloud, AwsOptions};
use crate::adapter::{audit, fs, keys};
use crate::cli::Global;
use crate::model::{Diagnostic, State};
use crate::port::{Audit, AuditEvent, Cloud};
use crate::{plan, request, workspace};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What `main` read from the environment, once.
#[derive(Debug, Clone)]
pub struct Env {
    /// The local user (USER / LOGNAME / USERNAME), `unknown` when none is set.
    pub user: String,
    /// The user's config directory (home of the key file), or why there is none.
    pub config_dir: Result<PathBuf, String>,
    pub key_store: keys::KeyStore,
    /// Colour allowed (NO_COLOR unset).
    pub color: bool,
}

/// Now, RFC 3339 UTC at second precision.
pub fn now() -> String {
    jiff::Timestamp::now().round(jiff::Unit::Second).map(|t| t.to_string()).unwrap_or_default()
}

/// The wall clock for the engine.
pub struct SystemClock;

impl crate::port::Clock for SystemClock {
    fn now(&self) -> String {
        now()
    }
    fn sleep(&self, millis: u64) {
        std::thread::sleep(std::time::Duration::from_millis(millis));
    }
}

/// What to tell the user about first-use seeding of the local state.
pub fn seeded_note(seeded: &fs::Seeded) -> Option<String> {
    match seeded {
        fs::Seeded::No => None,
        fs::Seeded::FromSnapshot(p) => {
            Some(format!("vend: no local state yet; seeded .vend/state.json from {}", p.display()))
        }
        fs::Seeded::Empty => {
            Some("vend: no local state yet; seeded .vend/state.json with an empty organization".into())
        }
    }
}

/// Plan `loaded` against `state` (an invalid workspace plans nothing), stamped `created_at`.
pub fn make_plan(loaded: &workspace::Loaded, state: &State, created_at: String) -> plan::Plan {
    let mut p = if loaded.diagnostics.iter().any(Diagnostic::is_error) {
        // With an invalid workspace vend cannot know the intent: plan nothing, show why.
        let empty = plan::build(
            &crate::model::Desired { fingerprint: loaded.desired.fingerprint.clone(), ..Default::default() },
            state,
        );
        plan::Plan::new(empty.basis, vec![], vec![]).with_diagnostics(loaded.diagnostics.clone())
    } else {
        plan::build(&loaded.desired, state).with_diagnostics(loaded.diagnostics.clone())
    };
    p.created_at = created_at;
    p
}

/// The AWS backend as the global flags describe it.
pub fn aws_cloud(global: &Global) -> anyhow::Result<AwsCloud> {
    Ok(AwsCloud::connect(aws_options(global))?)
}

/// Where and as whom every AWS client connects (the cloud, and the S3 backend), from the flags.
pub fn aws_options(global: &Global) -> AwsOptions {
    AwsOptions {
        profile: global.profile.clone(),
        region: global.region.clone(),
        endpoint_url: global.endpoint_url.clone(),
        ..AwsOptions::default()
    }
}

/// The names of the accounts the workspace's pipeline requests name (baseline pipelines of
/// account blueprints included): the member accounts whose pipelines vend reads from AWS.
pub fn pipeline_accounts(loaded: &workspace::Loaded) -> BTreeSet<String> {
    loaded.desired.pipelines.values().map(|p| p.account.clone()).collect()
}

/// The current state read from AWS (`--aws`), stamped now; provisioned pipelines are read in the
/// member accounts named `pipeline_accounts`.
pub fn aws_state(global: &Global, pipeline_accounts: BTreeSet<String>) -> anyhow::Result<State> {
    let mut cloud = aws_cloud(global)?;
    cloud.set_pipeline_accounts(pipeline_accounts);
    let mut state = cloud.read_state().map_err(|e| anyhow::anyhow!("reading the state from AWS: {e}"))?;
    state.captured_at = now();
    state.source = "aws".into();
    Ok(state)
}

/// The state the global options name: AWS with `--aws`, else the local state file (seeded on
/// first use; the note says so).
pub fn read_state(
    ws: &Path,
    global: &Global,
    loaded: &workspace::Loaded,
) -> anyhow::Result<(State, Option<String>)> {
    if global.aws {
        Ok((aws_state(global, pipeline_accounts(loaded))?, None))
    } else {
        let (state, _, seeded) = fs::open_state(ws, global.state.as_deref(), &now())?;
        Ok((state, seeded_note(&seeded)))
    }
}

/// A cloud to apply to, who vend acts as there (the audit log's `actor.aws`), and a note.
pub type OpenCloud = (Box<dyn Cloud>, Option<serde_json::Value>, Option<String>);

/// The cloud to apply to and who vend acts as there (for the audit log's `actor.aws`), plus a
/// note for the user.
pub fn open_cloud(ws: &Path, global: &Global, loaded: &workspace::Loaded) -> anyhow::Result<OpenCloud> {
    if global.aws {
        let mut aws = aws_cloud(global)?;
        aws.set_pipeline_accounts(pipeline_accounts(loaded));
        let id = aws.caller_identity().map_err(|e| anyhow::anyhow!("who am I in AWS (STS): {e}"))?;
        let identity = serde_json::json!({ "account": id.account, "arn": id.arn, "user_id": id.user_id });
        Ok((Box::new(aws), Some(identity), None))
    } else {
        let (_, state_path, seeded) = fs::open_state(ws, global.state.as_deref(), &now())?;
        Ok((
            Box::new(crate::adapter::local_cloud::LocalCloud::open(&state_path)?),
            None,
            seeded_note(&seeded),
        ))
    }
}

pub fn audit_path(ws: &Path, global: &Global) -> PathBuf {
    global.audit_log.clone().unwrap_or_else(|| ws.join(".vend").join("audit.jsonl"))
}

/// Open the signed audit log with the operator's key (created on first use); the notes say
/// where the key lives and whether a crash is being recovered from.
pub fn open_audit(
    ws: &Path,
    global: &Global,
    env: &Env,
    identity: Option<serde_json::Value>,
) -> anyhow::Result<(audit::JsonlAudit, Vec<String>)> {
    let config_dir = env.config_dir.clone().map_err(|e| anyhow::anyhow!(e))?;
    let (operator, location) = keys::load_or_create(env.key_store, &config_dir, &env.user)?;
    let mut notes = vec![];
    if location.is_file() || location.created() {
        notes.push(format!("vend: audit records are signed with the {location}"));
    }
    let mut log = audit::JsonlAudit::open(audit_path(ws, global), operator, audit::utc_now)?;
    if identity.is_some() {
        log.set_aws_identity(identity);
    }
    for r in log.pending_recoveries() {
        notes.push(format!(
            "vend: the audit log was interrupted by a crash ({r}); this apply records the recovery"
        ));
    }
    Ok((log, notes))
}

/// The pinned operator keys of the workspace (for `audit verify`).
pub fn pinned_operators(ws: &Path) -> Vec<String> {
    fs::read_workspace(ws)
        .map(|files| workspace::load(&files).desired.settings.operators.into_values().collect())
        .unwrap_or_default()
}

/// The address a request's audit record names.
pub fn request_address(req: &request::Request) -> String {
    match req.kind {
        request::RequestKind::Account => format!("account:{}", req.name),
        request::RequestKind::Pipeline => format!("provisioned_pipeline:{}/{}", req.account, req.name),
    }
}

/// Write a checked, valid request into the workspace and log a `request` event. Refuses an
/// invalid one (the caller shows its diagnostics first).
pub fn write_request(
    ws: &Path,
    global: &Global,
    env: &Env,
    req: &request::Request,
    checked: &request::Checked,
) -> anyhow::Result<Vec<String>> {
    if !checked.is_valid() {
        anyhow::bail!("the request has {} error(s); nothing was written", checked.errors());
    }
    let path = ws.join(&checked.path);
    if path.exists() {
        anyhow::bail!("{} already exists; nothing was written", checked.path);
    }
    let (mut log, notes) = open_audit(ws, global, env, None)?;
    log.append(AuditEvent {
        plan_id: String::new(),
        event: "request".into(),
        address: request_address(req),
        detail: serde_json::json!({
            "file": checked.path,
            "kind": req.kind.as_str(),
            "blueprint": req.blueprint,
            "requested_by": req.requested_by,
            "requested_at": req.requested_at,
            "sha256": crate::model::sha256_hex(checked.text.as_bytes()),
        }),
    })?;
    fs::write_atomic(&path, checked.text.as_bytes())?;
    Ok(notes)
}
