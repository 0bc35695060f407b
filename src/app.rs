//! The building blocks the CLI's and the terminal UI's flows (`flow`) share: the state backend
//! the configuration names, planning a loaded workspace against it, the apply lock and the signed
//! audit log the configuration names (local, or the shared S3 backend of `--backend`), recording
//! a request, `vend force-unlock`. Impure (files, AWS, clock) but prints nothing: notes for the
//! user come back as strings. Everything from the command line and the environment arrives
//! resolved in a `Config`; nothing here reads either.

use crate::adapter::aws::{AccessAccount, AccessScope, AwsCloud};
use crate::adapter::s3_backend::S3Backend;
use crate::adapter::{audit, fs, keys, lock as file_lock, s3_lock};
use crate::config::{AuditTarget, Config};
use crate::model::operators::{self, Operators};
use crate::model::{Diagnostic, State};
use crate::port::{Audit, AuditEvent, Cloud, Event, LockTakeover, RequestDetail};
use crate::{plan, request, workspace};
use std::collections::BTreeSet;

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
    promise(loaded, state, planned(loaded, state, created_at))
}

/// [`make_plan`] with `--target` / `--exclude` (`plan::scope::select`): the plan keeps every
/// change and lists the ones left out in `excluded`; errors on those do not count, and the
/// promise check runs on the others. An address that is no change of the plan is an error
/// (unless the plan has none because of errors: then the plan, which says why).
pub fn make_selected_plan(
    loaded: &workspace::Loaded,
    state: &State,
    created_at: String,
    selection: &plan::scope::Selection,
) -> Result<plan::Plan, plan::scope::Unmatched> {
    let mut p = planned(loaded, state, created_at);
    if !selection.is_empty() && (p.has_changes() || p.applyable) {
        let excluded = plan::scope::select(&p, selection)?;
        p = plan::scope::with_excluded(p, &excluded);
        if p.excluded.is_some() {
            // The effective-SCP preview of what is applied.
            let kept: Vec<plan::Change> = plan::scope::included(&p).into_iter().cloned().collect();
            let list = plan::effective::preview(&loaded.desired, state, &kept);
            p.effective_policies = (!list.is_empty()).then_some(list);
            let access = plan::effective::access_preview(state, &kept);
            p.effective_access = (!access.is_empty()).then_some(access);
        }
        p.applyable = p.derived_applyable();
    }
    Ok(promise(loaded, state, p))
}

/// The plan of `loaded` against `state`, before the promise check.
fn planned(loaded: &workspace::Loaded, state: &State, created_at: String) -> plan::Plan {
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
    for d in &mut p.diagnostics {
        if d.rule.is_none() {
            d.rule = crate::adapter::aws_rules::for_diagnostic(&d.code).map(|r| r.id.clone());
        }
    }
    p
}

/// A plan is a promise: it is called applyable only once it has run, change by change (those
/// it does not exclude), on a scratch copy of the state with the AWS rules apply will meet.
fn promise(loaded: &workspace::Loaded, state: &State, mut p: plan::Plan) -> plan::Plan {
    if p.applyable {
        let found = crate::check::check(&p, state, &local_settings(loaded));
        if !found.is_empty() {
            p.diagnostics.extend(found);
            p.applyable = false;
        }
    }
    p
}

/// Why the saved (or reviewed) plan `saved` may not be applied to `state` now, if so (issue 17,
/// scoped staleness). The workspace must be the one it was planned from (`vend.yaml`'s
/// `operators:` aside; the fingerprint of older versions is accepted). The same state: nothing
/// more to check. Another state: `loaded` is planned against it again, and every change the
/// plan applies must be planned exactly as saved (`plan::scope::moved`) — else the refusal
/// names what moved; then the saved plan must still pass the promise check against the state
/// as it is now — else the refusal names the changes and rules.
pub fn stale_saved_plan(
    saved: &plan::Plan,
    files: &workspace::Files,
    loaded: &workspace::Loaded,
    state: &State,
) -> Option<String> {
    let stale = |why: String| format!("saved plan {} is stale: {why}; run `vend plan` again", saved.plan_id);
    if saved.basis.workspace != files.fingerprint() && saved.basis.workspace != files.legacy_fingerprint() {
        return Some(stale("the workspace (catalog/ or blueprints/) changed since it was planned".into()));
    }
    if saved.basis.state == state.fingerprint() {
        return None;
    }
    let fresh = plan::build(&loaded.desired, state);
    let mut found = plan::scope::moved(saved, &fresh);
    if !found.is_empty() && !loaded.desired.settings.upgrade {
        // A plan saved with `vend plan --upgrade` is compared with the proposals it made.
        let upgraded = workspace::load_with(files, true);
        if plan::scope::moved(saved, &plan::build(&upgraded.desired, state)).is_empty() {
            found.clear();
        }
    }
    // The promise, against the state as it is now (also said when something moved: why).
    let failing: Vec<String> =
        crate::check::check(saved, state, &local_settings(loaded)).into_iter().map(|d| d.message).collect();
    if found.is_empty() {
        return (!failing.is_empty()).then(|| {
            format!(
                "saved plan {} no longer holds its promise against the organization as it is now: {}; run `vend plan` again",
                saved.plan_id,
                failing.join("; ")
            )
        });
    }
    let mut why: Vec<String> = found.iter().map(ToString::to_string).collect();
    let errors: Vec<String> = fresh
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("error[{}]: {}", d.code, d.message))
        .collect();
    if !errors.is_empty() {
        why.push(format!("planned now: {}", errors.join("; ")));
    }
    if !failing.is_empty() {
        why.push(format!("against the organization as it is now: {}", failing.join("; ")));
    }
    Some(stale(why.join("; ")))
}

/// The AWS backend as the configuration describes it (`Config::aws`: where and as whom every AWS
/// client connects, keyring credentials included).
pub fn aws_cloud(config: &Config) -> anyhow::Result<AwsCloud> {
    Ok(AwsCloud::connect(config.aws.clone())?)
}

/// The in-process cloud's settings for the workspace `loaded`: AWS's default quotas, and the
/// workspace's `member_role` as the role vend launches pipelines as in member accounts, and the
/// account IAM Identity Center is administered from.
pub fn local_settings(loaded: &workspace::Loaded) -> crate::adapter::local_cloud::Settings {
    crate::adapter::local_cloud::Settings {
        member_role: loaded.desired.settings.member_role.clone(),
        identity_center_admin: loaded.desired.settings.identity_center.delegated_admin.clone(),
        ..Default::default()
    }
}

/// `config` for work on the workspace `loaded`: its AWS clients in the workspace's region
/// (`AwsOptions::workspace_region`).
pub fn in_workspace(config: &Config, loaded: &workspace::Loaded) -> Config {
    let mut config = config.clone();
    config.aws.workspace_region = Some(loaded.desired.settings.region.clone());
    config.aws.member_role_name = loaded.desired.settings.member_role.clone();
    config
}

/// The AWS names of the accounts the workspace's pipeline requests name (baseline pipelines of
/// account blueprints included): the member accounts whose pipelines vend reads from AWS.
pub fn pipeline_accounts(loaded: &workspace::Loaded) -> BTreeSet<String> {
    let d = &loaded.desired;
    // A pipeline names its account by the request's key; AWS knows the account's own name.
    d.pipelines
        .values()
        .map(|p| d.accounts.get(&p.account).map(|a| a.aws_name.clone()).unwrap_or_else(|| p.account.clone()))
        .collect()
}

/// What a read from AWS looks at for the workspace `loaded`: provisioned pipelines in the member
/// accounts its pipeline requests name, and its template bucket.
fn read_scope(cloud: &mut AwsCloud, loaded: &workspace::Loaded) {
    cloud.set_pipeline_accounts(pipeline_accounts(loaded));
    cloud.set_template_bucket(&loaded.desired.settings.template_bucket);
    let d = &loaded.desired;
    let mut roles: std::collections::BTreeSet<String> = d.launch_roles.keys().cloned().collect();
    roles.extend(d.portfolios.values().filter_map(|p| p.launch_role.clone()));
    cloud.set_launch_roles(roles);
    cloud.set_access(access_scope(&loaded.desired));
}

/// What a read from AWS looks at of Identity Center and alternate contacts (issue 18): the
/// accounts whose blueprint owns assignments or contacts (not those being closed), each with the
/// permission sets and contact types vend may own there, every group the workspace names, and
/// where Identity Center is administered (`identity_center:` of `catalog/vend.yaml`; its region
/// defaults to the workspace's).
pub fn access_scope(d: &crate::model::Desired) -> AccessScope {
    let mut scope = AccessScope {
        region: Some(d.settings.identity_center.region.clone().unwrap_or_else(|| d.settings.region.clone())),
        delegated_admin: d.settings.identity_center.delegated_admin.clone(),
        permission_sets: d.permission_sets.keys().cloned().collect(),
        ownership_tag: Some(d.settings.ownership_tag.clone()),
        ..AccessScope::default()
    };
    for a in d.accounts.values() {
        scope.groups.extend(a.access.iter().map(|e| e.group.clone()));
        scope.groups.extend(a.owned.groups());
        if a.lifecycle == crate::model::Lifecycle::Close {
            continue;
        }
        let mut permission_sets = a.owned.permission_sets();
        permission_sets.extend(a.access.iter().map(|e| e.permission_set.clone()));
        let mut contact_types = a.owned.contact_types.clone();
        contact_types.extend(a.contacts.iter().map(|c| c.contact_type.clone()));
        if permission_sets.is_empty() && contact_types.is_empty() {
            continue;
        }
        scope.accounts.push(AccessAccount {
            aws_name: a.aws_name.clone(),
            email: a.email.clone(),
            permission_sets,
            contact_types,
        });
    }
    scope
}

/// The current state read from AWS (`--aws`), stamped now, for the workspace `loaded` when
/// there is one (`read_scope`; without one, no member account and the default template bucket).
pub fn aws_state(config: &Config, loaded: Option<&workspace::Loaded>) -> anyhow::Result<State> {
    let mut cloud = aws_cloud(config)?;
    if let Some(loaded) = loaded {
        read_scope(&mut cloud, loaded);
    }
    let mut state = cloud.read_state().map_err(|e| anyhow::anyhow!("reading the state from AWS: {e}"))?;
    state.captured_at = now();
    state.source = "aws".into();
    Ok(state)
}

/// The state the configuration names: AWS with `--aws`, else the local state file (seeded on
/// first use; the note says so).
pub fn read_state(config: &Config, loaded: &workspace::Loaded) -> anyhow::Result<(State, Option<String>)> {
    if config.uses_aws() {
        Ok((aws_state(&in_workspace(config, loaded), Some(loaded))?, None))
    } else {
        let (state, seeded) = local_state(config)?;
        Ok((state, seeded_note(&seeded)))
    }
}

/// The local state file the configuration names (seeded on first use), continued by its
/// journal: what an apply that was interrupted made durable but had not yet written into the
/// file. Reads only (no lock is held).
pub fn local_state(config: &Config) -> anyhow::Result<(State, fs::Seeded)> {
    let (state, path, seeded) = fs::open_state(&config.workspace, config.state_file(), &now())?;
    Ok((crate::adapter::local_cloud::LocalCloud::catch_up(&path, state)?, seeded))
}

/// A cloud to apply to, who vend acts as there (the audit log's `actor.aws`), and a note.
pub type OpenCloud = (Box<dyn Cloud>, Option<serde_json::Value>, Option<String>);

/// The cloud to apply to and who vend acts as there (for the audit log's `actor.aws`), plus a
/// note for the user.
pub fn open_cloud(config: &Config, loaded: &workspace::Loaded) -> anyhow::Result<OpenCloud> {
    if config.uses_aws() {
        let mut aws = aws_cloud(&in_workspace(config, loaded))?;
        read_scope(&mut aws, loaded);
        let id = aws.caller_identity().map_err(|e| anyhow::anyhow!("who am I in AWS (STS): {e}"))?;
        let identity = serde_json::json!({ "account": id.account, "arn": id.arn, "user_id": id.user_id });
        Ok((Box::new(aws), Some(identity), None))
    } else {
        let (_, state_path, seeded) = fs::open_state(&config.workspace, config.state_file(), &now())?;
        Ok((
            Box::new(crate::adapter::local_cloud::LocalCloud::open(&state_path)?.with_settings(
                crate::adapter::local_cloud::Settings {
                    polls_to_complete: config.apply.local_polls.unwrap_or(1),
                    ..local_settings(loaded)
                },
            )),
            None,
            seeded_note(&seeded),
        ))
    }
}

/// The S3 backend `--backend` names, connected with the `--aws` options; `None` without it.
pub fn s3_backend(config: &Config) -> anyhow::Result<Option<S3Backend>> {
    config.shared_backend().map(|url| connect_backend(config, url)).transpose()
}

fn connect_backend(config: &Config, url: &crate::adapter::s3_backend::S3Url) -> anyhow::Result<S3Backend> {
    S3Backend::connect(&config.aws, url.clone()).map_err(|e| anyhow::anyhow!("--backend {url}: {e}"))
}

/// The audit log the configuration names: the S3 backend's objects with `--backend`, else the
/// local file. Every command that reads, verifies or appends to the log goes through here.
pub fn audit_store(config: &Config) -> anyhow::Result<Box<dyn audit::LogStore>> {
    Ok(match &config.audit {
        AuditTarget::Shared(url) => Box::new(connect_backend(config, url)?.log_store()),
        AuditTarget::File(path) => Box::new(audit::FileStore::new(path.clone())),
    })
}

/// Every record of the audit log the configuration names (unverified, for listing and
/// metrics), and where it is.
pub fn read_audit(config: &Config) -> anyhow::Result<(Vec<audit::Record>, String)> {
    let mut store = audit_store(config)?;
    Ok((audit::read_store(store.as_mut())?, store.location()))
}

/// Verify the audit log the configuration names against the workspace's pinned operator keys;
/// also returns where it is.
pub fn verify_audit(
    config: &Config,
) -> anyhow::Result<(Result<audit::VerifyReport, audit::VerifyFailure>, String)> {
    let pins = pinned_operators(config)?;
    let mut store = audit_store(config)?;
    let report = audit::verify_with(store.as_mut(), &pins);
    Ok((report, store.location()))
}

/// Open the signed audit log the configuration names with the operator's key (created on first
/// use), checked against the workspace's pinned operators ([`open_audit_pinned`]).
pub fn open_audit(
    config: &Config,
    identity: Option<serde_json::Value>,
) -> anyhow::Result<(audit::AuditLog, Vec<String>)> {
    open_audit_pinned(config, identity, &pinned_operators(config)?)
}

/// Open the signed audit log the configuration names with the operator's key (created on first
/// use), refusing before anything is written when what this operator appends would not verify
/// (`operators::may_append`: with `pins`, only a current pinned key; without, only the log's
/// first key); records then carry `actor.operator`, the key's pinned name. The notes say where
/// the key lives and whether a crash is being recovered from. With `--backend` the caller holds
/// the backend's lock ([`lock`], or use [`log_event`]).
pub fn open_audit_pinned(
    config: &Config,
    identity: Option<serde_json::Value>,
    pins: &Operators,
) -> anyhow::Result<(audit::AuditLog, Vec<String>)> {
    let env = &config.env;
    let config_dir = env.config_dir.clone().map_err(|e| anyhow::anyhow!(e))?;
    let (operator, location) = keys::load_or_create(env.key_store, &config_dir, &env.user)?;
    let mut notes = vec![];
    if location.is_file() || location.created() {
        notes.push(format!("vend: audit records are signed with the {location}"));
    }
    let mut store = audit_store(config)?;
    let first = if pins.is_empty() { audit::first_actor(store.as_mut())? } else { None };
    let name = operators::may_append(
        pins,
        &operator.public_key_hex,
        &env.user,
        first.as_ref().map(|a| (a.key.as_str(), a.user.as_str())),
    )
    .map_err(|why| {
        anyhow::anyhow!(
            "refusing to write to the audit log {} (nothing was written): {why}",
            store.location()
        )
    })?;
    let mut log = audit::AuditLog::open_store(store, operator, audit::utc_now)?;
    log.set_operator_name(name);
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

/// Append one event (a request, an approval) to the audit log the configuration names. With
/// `--backend`, under the backend's lock (taken for this one record, waiting up to
/// [`SHARED_LOG_WAIT`] for a running apply): only the lock holder writes to the shared log, so
/// what it finds unfinished there is really a crash.
pub fn log_event(
    config: &Config,
    identity: Option<serde_json::Value>,
    event: AuditEvent,
) -> anyhow::Result<Vec<String>> {
    log_event_pinned(config, identity, &pinned_operators(config)?, event)
}

/// [`log_event`] with the workspace's pinned operators already read.
pub fn log_event_pinned(
    config: &Config,
    identity: Option<serde_json::Value>,
    pins: &Operators,
    event: AuditEvent,
) -> anyhow::Result<Vec<String>> {
    // The local log keeps its habit: no lock for one record (the file refuses an append when it
    // moved under the writer).
    let (held, mut notes) = if config.shared_backend().is_some() {
        let operation = event.event.name().to_string();
        let (held, notes) = lock(config, &operation, Some(SHARED_LOG_WAIT), s3_lock::DEFAULT_LEASE)?;
        (Some(held), notes)
    } else {
        (None, vec![])
    };
    let (mut log, more) = match open_audit_pinned(config, identity, pins) {
        Ok(opened) => opened,
        Err(e) => {
            // Refused (or unreadable): let go of the shared lock at once rather than at its lease's end.
            if let Some(held) = held {
                let _ = held.release();
            }
            return Err(e);
        }
    };
    notes.extend(more);
    log.append(event)?;
    notes.extend(held.and_then(HeldLock::release));
    Ok(notes)
}

/// How long a one-record writer of the shared log ([`log_event`]) waits for the lock.
pub const SHARED_LOG_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// The lock an apply (or a writer of the shared log) holds: the workspace's OS file lock, or the
/// S3 backend's lease.
#[derive(Debug)]
pub enum HeldLock {
    Local(file_lock::ApplyLock),
    Shared(s3_lock::Lease),
}

impl HeldLock {
    /// Why the lock is no longer ours (S3 lease taken over, removed or not renewed in time);
    /// the apply stops before its next step. A local file lock is never lost.
    pub fn lost(&self) -> Option<String> {
        match self {
            HeldLock::Local(_) => None,
            HeldLock::Shared(lease) => lease.lost(),
        }
    }

    /// Make `log` refuse intents (so the engine sends no write) once the shared lock is lost.
    pub fn fence(&self, log: &mut audit::AuditLog) {
        if let HeldLock::Shared(lease) = self {
            let watch = lease.watch();
            log.set_fence(move || watch.lost());
        }
    }

    /// Let go of the lock; a note when the shared lock could not be removed (it then ends with
    /// its lease).
    pub fn release(self) -> Option<String> {
        match self {
            HeldLock::Local(l) => {
                drop(l);
                None
            }
            HeldLock::Shared(lease) => {
                lease.release().err().map(|e| format!("vend: warning: releasing the shared lock: {e}"))
            }
        }
    }
}

/// Take the lock the configuration names for `operation`: with `--backend` the S3 lease
/// (`lease` long, renewed while held; waiting up to `wait` for another holder; taking over an
/// expired lease — announced in the notes and recorded in the shared audit log as a
/// `lock-takeover` record), else the workspace's `.vend/lock`.
pub fn lock(
    config: &Config,
    operation: &str,
    wait: Option<std::time::Duration>,
    lease: std::time::Duration,
) -> anyhow::Result<(HeldLock, Vec<String>)> {
    let env = &config.env;
    let Some(backend) = s3_backend(config)? else {
        let held = file_lock::acquire(&config.lock_file(), &env.user, &now(), wait)?;
        return Ok((HeldLock::Local(held), vec![]));
    };
    let request = s3_lock::LockRequest {
        holder: s3_lock::Holder::this_process(&env.user, backend.caller_arn()),
        operation: operation.to_string(),
        lease,
        wait,
        poll: std::time::Duration::from_millis(500).min(lease / 4),
    };
    let acquired = s3_lock::S3Lock::new(&backend).acquire(&request)?;
    let held = HeldLock::Shared(acquired.lease);
    let mut notes = vec![];
    if let (Some(previous), HeldLock::Shared(lease)) = (&acquired.took_over, &held) {
        notes.push(format!(
            "vend: took over the expired lease of {} on {} (its lease ended {}); the work it left unfinished is recorded as a recovery in the shared audit log",
            previous.describe(),
            lease.url(),
            previous.expires
        ));
        let (mut log, more) = open_audit(config, None)?;
        notes.extend(more);
        log.append(AuditEvent {
            plan_id: String::new(),
            address: String::new(),
            event: Event::LockTakeover(LockTakeover {
                lock: Some(lease.url()),
                lock_id: Some(lease.info().id),
                operation: Some(operation.to_string()),
                previous: serde_json::to_value(previous).ok(),
            }),
        })?;
    }
    Ok((held, notes))
}

/// What `vend force-unlock` did, or why it refused (nothing removed).
#[derive(Debug)]
pub enum ForceUnlock {
    Removed { message: String, notes: Vec<String> },
    Refused(String),
}

/// `vend force-unlock ID`: remove the S3 backend's lock if its id is `id`. `confirm` is shown the
/// lock and whether its lease has ended, and says whether to go on (the caller asks on a
/// terminal, or `--force`). The lock is replaced by one of ours atomically (`If-Match` on the
/// version that was read and confirmed), a `force-unlock` record naming the removed lock is
/// appended to the shared audit log, and then ours is released. Without `--backend` there is
/// nothing to unlock: the local lock is an OS file lock the kernel releases when its holder dies.
pub fn force_unlock(
    config: &Config,
    id: &str,
    confirm: &mut dyn FnMut(&s3_lock::LockInfo, bool) -> anyhow::Result<bool>,
) -> anyhow::Result<ForceUnlock> {
    let env = &config.env;
    let Some(backend) = s3_backend(config)? else {
        return Ok(ForceUnlock::Refused(format!(
            "without --backend the apply lock is the workspace's OS file lock ({}): the kernel releases it \
             when its holder exits, even after a kill, so there is nothing to unlock (an apply that holds \
             it is still running; its pid is in that file). force-unlock is for the shared S3 lock: pass \
             --aws --backend s3://BUCKET/PREFIX",
            config.lock_file().display()
        )));
    };
    let lock = s3_lock::S3Lock::new(&backend);
    let (info, etag) = match lock.current()? {
        s3_lock::Current::Free => {
            return Ok(ForceUnlock::Refused(format!(
                "there is no lock at {}: nothing to unlock",
                lock.url()
            )));
        }
        s3_lock::Current::Unreadable { why, .. } => {
            return Ok(ForceUnlock::Refused(format!(
                "{} is not a vend lock ({why}); inspect it, and delete it by hand if no vend is running against this backend",
                lock.url()
            )));
        }
        s3_lock::Current::Held { info, etag } => (info, etag),
    };
    if info.id != id {
        return Ok(ForceUnlock::Refused(format!(
            "the lock {} is {}, not {id}: it is held by {}; nothing was removed (force-unlock only the lock \
             id a refused apply named, once you know its holder is gone)",
            lock.url(),
            info.id,
            info.describe()
        )));
    }
    let ended = info.expired_at(jiff::Timestamp::now());
    if !confirm(&info, ended)? {
        return Ok(ForceUnlock::Refused("force-unlock cancelled; nothing was removed".into()));
    }
    let request = s3_lock::LockRequest {
        holder: s3_lock::Holder::this_process(&env.user, backend.caller_arn()),
        operation: "force-unlock".into(),
        lease: s3_lock::DEFAULT_LEASE,
        wait: None,
        poll: std::time::Duration::from_millis(500),
    };
    let lease = match lock.take(&etag, &request) {
        Ok(lease) => lease,
        Err(crate::adapter::s3_backend::WriteError::Other(e)) => anyhow::bail!("{}: {e}", lock.url()),
        Err(_) => {
            return Ok(ForceUnlock::Refused(format!(
                "the lock {} changed while you confirmed (renewed, released or taken over); nothing was removed — run                  `vend force-unlock` again to see who holds it now",
                lock.url()
            )));
        }
    };
    let (mut log, mut notes) = open_audit(config, None)?;
    log.append(AuditEvent {
        plan_id: String::new(),
        address: String::new(),
        event: Event::ForceUnlock(crate::port::ForceUnlock {
            lock: Some(lock.url()),
            removed: serde_json::to_value(&info).ok(),
            lease_had_ended: Some(ended),
        }),
    })?;
    if let Err(e) = lease.release() {
        notes.push(format!("vend: warning: {e}"));
    }
    Ok(ForceUnlock::Removed {
        message: format!(
            "Removed the shared lock {} of {} from {}; recorded in the shared audit log {}.",
            info.id,
            info.holder,
            lock.url(),
            log.location()
        ),
        notes,
    })
}

/// The pinned operators of the workspace (`operators:` in catalog/vend.yaml; none when there is
/// no workspace to read). An error when catalog/vend.yaml has errors: pins read half-way would
/// let the wrong keys append, approve or verify.
pub fn pinned_operators(config: &Config) -> anyhow::Result<Operators> {
    let Ok(files) = fs::read_workspace(&config.workspace) else { return Ok(Operators::default()) };
    let loaded = workspace::load(&files);
    settings_operators(&loaded)
}

/// The pinned operators of a loaded workspace, refused when catalog/vend.yaml has errors.
pub fn settings_operators(loaded: &workspace::Loaded) -> anyhow::Result<Operators> {
    if let Some(d) = loaded
        .diagnostics
        .iter()
        .find(|d| d.is_error() && d.file.as_deref() == Some(workspace::SETTINGS) && d.code != "missing-file")
    {
        anyhow::bail!(
            "{}:{}: {} ({}); the pinned operators cannot be read until it is fixed (`vend validate`)",
            workspace::SETTINGS,
            d.line.unwrap_or(1),
            d.message,
            d.code
        );
    }
    Ok(loaded.desired.settings.operators.clone())
}

/// The address a request's audit record names.
pub fn request_address(req: &request::Request) -> String {
    match req.kind {
        request::RequestKind::Account => crate::plan::Address::account(&req.name).to_string(),
        request::RequestKind::Pipeline => {
            crate::plan::Address::provisioned_pipeline(&req.account, &req.name).to_string()
        }
    }
}

/// Write a checked, valid request into the workspace and log a `request` event. Refuses an
/// invalid one (the caller shows its diagnostics first).
pub fn write_request(
    config: &Config,
    req: &request::Request,
    checked: &request::Checked,
) -> anyhow::Result<Vec<String>> {
    if !checked.is_valid() {
        anyhow::bail!("the request has {} error(s); nothing was written", checked.errors());
    }
    let path = config.workspace.join(&checked.path);
    if path.exists() {
        anyhow::bail!("{} already exists; nothing was written", checked.path);
    }
    let notes = log_event(
        config,
        None,
        AuditEvent {
            plan_id: String::new(),
            address: request_address(req),
            event: Event::Request(RequestDetail {
                file: Some(checked.path.clone()),
                kind: Some(req.kind.as_str().to_string()),
                blueprint: Some(req.blueprint.clone()),
                requested_by: Some(req.requested_by.clone()),
                requested_at: Some(req.requested_at.clone()),
                sha256: Some(crate::model::sha256_hex(checked.text.as_bytes())),
            }),
        },
    )?;
    fs::write_atomic(&path, checked.text.as_bytes())?;
    Ok(notes)
}
