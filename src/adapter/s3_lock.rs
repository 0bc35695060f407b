//! The S3 backend's apply lock (DESIGN §6): a lease on the object `<prefix>/lock.json`.
//!
//! * **Acquire**: `PutObject` with `If-None-Match: *` — of two writers exactly one gets the
//!   object. The body ([`LockInfo`]) names the lock `id` (16 random bytes, hex), the holder
//!   (user, host, pid, AWS caller ARN when known), the operation, `created` and `expires`.
//! * **Held by someone else**: fail at once naming holder, id and expiry, or poll until the
//!   caller's deadline (`--lock-timeout`).
//! * **Expired** (`expires` is past by this machine's clock, or — while waiting — the object
//!   stayed the same version for a whole lease by this process's monotonic clock, which covers a
//!   holder whose clock runs ahead): take it over with `PutObject` `If-Match: <ETag of the expired
//!   object>`, so two takers cannot both win; the caller announces and logs it.
//! * **Renewal**: a thread rewrites the lock every lease/3 with `If-Match: <our ETag>` and a new
//!   `expires`. A renewal that finds the object gone or someone else's marks the lease lost
//!   (with who holds it now); failing to renew until `expires` passes marks it lost too. The
//!   apply asks [`Lease::lost`] before each step (`engine::apply_until`) and stops.
//! * **Release**: `DeleteObject` with `If-Match: <our ETag>` — never someone else's lock.
//!
//! An object put or a version check is atomic in S3 (and in the emulator, see
//! `tests/emulator/vend_moto/s3.py`). Expiry compares wall clocks of different machines: keep
//! them in sync (NTP); the lease (default 120 s) should exceed any expected skew by far.
//! What it must not do: decide for the caller (it returns what happened; announcing, logging and
//! confirming are the caller's), or print.

use crate::adapter::s3_backend::{Condition, S3Backend, WriteError};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The default lease length.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(120);
/// Lock object format version.
pub const LOCK_VERSION: u64 = 1;

/// Who holds a lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub user: String,
    pub host: String,
    pub pid: u32,
    /// The AWS caller identity's ARN, when STS answered.
    pub aws_arn: Option<String>,
}

impl Holder {
    /// This process: `user` (the caller resolves it from the environment), the host name, the
    /// pid, and the caller's ARN if known.
    pub fn this_process(user: &str, aws_arn: Option<String>) -> Holder {
        let host = ["/proc/sys/kernel/hostname", "/etc/hostname"]
            .iter()
            .find_map(|p| {
                std::fs::read_to_string(p).ok().map(|h| h.trim().to_string()).filter(|h| !h.is_empty())
            })
            .unwrap_or_else(|| "unknown-host".into());
        Holder { user: user.to_string(), host, pid: std::process::id(), aws_arn }
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{} (pid {}", self.user, self.host, self.pid)?;
        if let Some(arn) = &self.aws_arn {
            write!(f, ", {arn}")?;
        }
        write!(f, ")")
    }
}

/// The body of `lock.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockInfo {
    pub v: u64,
    /// Random, 32 hex digits: what `vend force-unlock ID` names.
    pub id: String,
    pub holder: Holder,
    /// What the holder is doing (`apply`, `approve`, `request`, `force-unlock`).
    pub operation: String,
    /// When the lock was taken (RFC 3339 UTC).
    pub created: String,
    /// When the lease ends unless renewed (RFC 3339 UTC).
    pub expires: String,
    pub lease_seconds: u64,
}

impl LockInfo {
    /// The lease end, `None` when `expires` is not a timestamp.
    pub fn expires_at(&self) -> Option<jiff::Timestamp> {
        self.expires.parse().ok()
    }

    /// Whether the lease has ended at `now` (an unreadable `expires` counts as ended: nothing
    /// can say it is valid).
    pub fn expired_at(&self, now: jiff::Timestamp) -> bool {
        self.expires_at().is_none_or(|t| now >= t)
    }

    /// One line naming the lock for messages.
    pub fn describe(&self) -> String {
        format!(
            "{} (lock id {}, {} since {}, lease until {})",
            self.holder, self.id, self.operation, self.created, self.expires
        )
    }

    fn body(&self) -> Vec<u8> {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text.into_bytes()
    }
}

/// What `lock.json` holds now.
#[derive(Debug, Clone, PartialEq)]
pub enum Current {
    Free,
    Held {
        info: LockInfo,
        etag: String,
    },
    /// An object that is not a vend lock (edited, or another tool's).
    Unreadable {
        etag: String,
        why: String,
    },
}

/// Why a lock was not acquired.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another operator holds the shared lock {url}: {}; wait for it (--lock-timeout SECONDS), or, if that \
         process is gone and you cannot wait for the lease to end, `vend --aws --backend {backend} force-unlock {}`",
        info.describe(), info.id
    )]
    Held { url: String, backend: String, info: Box<LockInfo> },
    #[error("gave up after {seconds} s waiting for the shared lock {url}, held by {}", info.describe())]
    Timeout { url: String, seconds: u64, info: Box<LockInfo> },
    #[error(
        "the shared lock {url} is not a vend lock ({why}); if no vend is running against this backend, \
         inspect and delete that object by hand"
    )]
    Unreadable { url: String, why: String },
    #[error("the shared lock: {message}")]
    S3 { url: String, message: String },
}

/// What `acquire` asks for.
#[derive(Debug, Clone)]
pub struct LockRequest {
    pub holder: Holder,
    pub operation: String,
    pub lease: Duration,
    /// Wait up to this long for a lock held by someone else; `None`: fail at once.
    pub wait: Option<Duration>,
    /// Pause between two looks while waiting.
    pub poll: Duration,
}

/// A lock acquired: the lease, and the expired lock it replaced, if any.
#[derive(Debug)]
pub struct Acquired {
    pub lease: Lease,
    pub took_over: Option<LockInfo>,
}

/// 16 random bytes as 32 hex digits.
pub fn new_lock_id() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness for the lock id: {e}"))?;
    Ok(hex::encode(bytes))
}

fn stamp(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `t + d` (saturating at the far future).
fn plus(t: jiff::Timestamp, d: Duration) -> jiff::Timestamp {
    jiff::SignedDuration::try_from(d).ok().and_then(|d| t.checked_add(d).ok()).unwrap_or(jiff::Timestamp::MAX)
}

/// A lease's expiry: the earlier of the stated `expires` and a whole lease of this observer's
/// monotonic time without the object changing (`unchanged_for`). Pure, for the tests.
pub fn is_expired(info: &LockInfo, now: jiff::Timestamp, unchanged_for: Option<Duration>) -> bool {
    info.expired_at(now) || unchanged_for.is_some_and(|d| d >= Duration::from_secs(info.lease_seconds.max(1)))
}

/// How often a lease of `lease` is renewed.
pub fn renew_interval(lease: Duration) -> Duration {
    (lease / 3).max(Duration::from_millis(200))
}

/// The lock of an S3 backend.
#[derive(Debug, Clone)]
pub struct S3Lock {
    backend: S3Backend,
    key: String,
}

impl S3Lock {
    pub fn new(backend: &S3Backend) -> S3Lock {
        S3Lock { key: backend.url().key("lock.json"), backend: backend.clone() }
    }

    /// `s3://bucket/prefix/lock.json`.
    pub fn url(&self) -> String {
        self.backend.url().object_url(&self.key)
    }

    fn s3(&self, message: impl std::fmt::Display) -> LockError {
        LockError::S3 { url: self.url(), message: message.to_string() }
    }

    /// What the lock object holds now.
    pub fn current(&self) -> Result<Current, LockError> {
        Ok(match self.backend.get(&self.key).map_err(|e| self.s3(e))? {
            None => Current::Free,
            Some((bytes, etag)) => match serde_json::from_slice::<LockInfo>(&bytes) {
                Ok(info) if info.v == LOCK_VERSION => Current::Held { info, etag },
                Ok(info) => Current::Unreadable { etag, why: format!("lock format version {}", info.v) },
                Err(e) => Current::Unreadable { etag, why: e.to_string() },
            },
        })
    }

    fn fresh(&self, req: &LockRequest, id: &str, created: Option<&str>) -> LockInfo {
        let now = jiff::Timestamp::now();
        LockInfo {
            v: LOCK_VERSION,
            id: id.to_string(),
            holder: req.holder.clone(),
            operation: req.operation.clone(),
            created: created.map(str::to_string).unwrap_or_else(|| stamp(now)),
            expires: stamp(plus(now, req.lease)),
            lease_seconds: req.lease.as_secs().max(1),
        }
    }

    /// Take the lock (see the module doc): at once, after waiting, or over an expired lease.
    pub fn acquire(&self, req: &LockRequest) -> Result<Acquired, LockError> {
        let id = new_lock_id().map_err(|e| self.s3(format!("{}: {e}", self.url())))?;
        let started = Instant::now();
        // The version of someone else's lock we are looking at, and since when (monotonic).
        let mut watching: Option<(String, Instant)> = None;
        loop {
            let info = self.fresh(req, &id, None);
            match self.backend.put(&self.key, info.body(), Condition::Absent) {
                Ok(etag) => {
                    return Ok(Acquired {
                        lease: Lease::start(self.clone(), info, etag, req.lease),
                        took_over: None,
                    });
                }
                Err(WriteError::Precondition) => {}
                Err(e) => return Err(self.s3(e)),
            }
            let (theirs, etag) = match self.current()? {
                Current::Free => {
                    // Released in between: try again (after a breath, should S3 ever disagree
                    // with itself for a moment).
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
                Current::Unreadable { why, .. } => {
                    return Err(LockError::Unreadable { url: self.url(), why });
                }
                Current::Held { info: theirs, etag } if theirs.id == id => {
                    // Our own put landed and its answer was lost (an SDK retry then saw it).
                    return Ok(Acquired {
                        lease: Lease::start(self.clone(), theirs, etag, req.lease),
                        took_over: None,
                    });
                }
                Current::Held { info, etag } => (info, etag),
            };
            let unchanged_for = match &watching {
                Some((seen, since)) if *seen == etag => Some(since.elapsed()),
                _ => {
                    watching = Some((etag.clone(), Instant::now()));
                    None
                }
            };
            if is_expired(&theirs, jiff::Timestamp::now(), unchanged_for) {
                let ours = self.fresh(req, &id, None);
                match self.backend.put(&self.key, ours.body(), Condition::Matches(etag)) {
                    Ok(new_etag) => {
                        return Ok(Acquired {
                            lease: Lease::start(self.clone(), ours, new_etag, req.lease),
                            took_over: Some(theirs),
                        });
                    }
                    // Someone else took it over, renewed or released it first: look again.
                    Err(WriteError::Precondition | WriteError::Missing) => continue,
                    Err(e) => return Err(self.s3(e)),
                }
            }
            match req.wait {
                Some(wait) if started.elapsed() < wait => {
                    std::thread::sleep(
                        req.poll.min(wait.saturating_sub(started.elapsed())).max(Duration::from_millis(50)),
                    );
                }
                Some(wait) => {
                    return Err(LockError::Timeout {
                        url: self.url(),
                        seconds: wait.as_secs(),
                        info: Box::new(theirs),
                    });
                }
                None => {
                    return Err(LockError::Held {
                        url: self.url(),
                        backend: self.backend.url().to_string(),
                        info: Box::new(theirs),
                    });
                }
            }
        }
    }

    /// Replace the lock version `etag` (someone else's, named by the caller after checking its
    /// id) with a lock of our own, atomically: what `vend force-unlock` does before it logs and
    /// releases. `Precondition`/`Missing`: the lock changed meanwhile.
    pub fn take(&self, etag: &str, req: &LockRequest) -> Result<Lease, WriteError> {
        let id = new_lock_id().map_err(WriteError::Other)?;
        let ours = self.fresh(req, &id, None);
        let new_etag = self.backend.put(&self.key, ours.body(), Condition::Matches(etag.to_string()))?;
        Ok(Lease::start(self.clone(), ours, new_etag, req.lease))
    }
}

#[derive(Debug)]
struct LeaseState {
    info: LockInfo,
    etag: String,
    /// Why the lease is no longer ours.
    lost: Option<String>,
    /// The last renewal error, while renewals fail.
    last_error: Option<String>,
    released: bool,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<LeaseState>,
    stop: Mutex<bool>,
    wake: Condvar,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, LeaseState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Whether a [`Lease`] is still ours, from another owner (cheap: no request).
#[derive(Debug, Clone)]
pub struct LeaseWatch(Arc<Shared>);

impl LeaseWatch {
    /// See [`Lease::lost`].
    pub fn lost(&self) -> Option<String> {
        let s = self.0.state();
        if let Some(why) = &s.lost {
            return Some(why.clone());
        }
        if s.info.expired_at(jiff::Timestamp::now()) {
            return Some(format!(
                "the lease ran out at {} without a renewal{}",
                s.info.expires,
                s.last_error.as_ref().map(|e| format!(" (last error: {e})")).unwrap_or_default()
            ));
        }
        None
    }
}

/// A held lock, renewed in the background until released (or dropped, which releases it too).
#[derive(Debug)]
pub struct Lease {
    lock: S3Lock,
    shared: Arc<Shared>,
    renewer: Option<JoinHandle<()>>,
}

impl Lease {
    fn start(lock: S3Lock, info: LockInfo, etag: String, lease: Duration) -> Lease {
        let shared = Arc::new(Shared {
            state: Mutex::new(LeaseState { info, etag, lost: None, last_error: None, released: false }),
            stop: Mutex::new(false),
            wake: Condvar::new(),
        });
        let renewer = {
            let lock = lock.clone();
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("vend-lease".into())
                .spawn(move || renew_loop(&lock, &shared, lease))
                .ok()
        };
        Lease { lock, shared, renewer }
    }

    /// The lock as last written.
    pub fn info(&self) -> LockInfo {
        self.shared.state().info.clone()
    }

    pub fn url(&self) -> String {
        self.lock.url()
    }

    /// Why the lease is no longer ours (taken over, removed, or not renewed in time); `None`
    /// while it is.
    pub fn lost(&self) -> Option<String> {
        self.watch().lost()
    }

    /// A handle that answers [`Lease::lost`] from elsewhere (the audit log's fence).
    pub fn watch(&self) -> LeaseWatch {
        LeaseWatch(self.shared.clone())
    }

    fn stop_renewer(&mut self) {
        *self.shared.stop.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.shared.wake.notify_all();
        if let Some(t) = self.renewer.take() {
            let _ = t.join();
        }
    }

    /// Stop renewing and delete the lock if it is still ours (`If-Match` our ETag). An error
    /// says why it could not be deleted (it then ends with its lease).
    pub fn release(mut self) -> Result<(), String> {
        self.release_inner()
    }

    fn release_inner(&mut self) -> Result<(), String> {
        self.stop_renewer();
        let (id, etag, expires) = {
            let mut s = self.shared.state();
            if s.released {
                return Ok(());
            }
            s.released = true;
            (s.info.id.clone(), s.etag.clone(), s.info.expires.clone())
        };
        let url = self.lock.url();
        let mut etag = etag;
        for _ in 0..3 {
            match self.lock.backend.delete_if(&self.lock.key, &etag) {
                Ok(()) => return Ok(()),
                Err(WriteError::Missing) => return Err(format!("{url} was already removed (force-unlock?)")),
                Err(WriteError::Precondition) => match self.lock.current() {
                    // Still ours under another version (a renewal whose answer was lost).
                    Ok(Current::Held { info, etag: e }) if info.id == id => etag = e,
                    Ok(Current::Held { info, .. }) => {
                        return Err(format!("{url} is no longer ours: held by {}", info.describe()));
                    }
                    Ok(Current::Free) => return Ok(()),
                    Ok(Current::Unreadable { why, .. }) => return Err(format!("{url} was replaced: {why}")),
                    Err(e) => return Err(e.to_string()),
                },
                Err(WriteError::Other(e)) => {
                    return Err(format!("could not remove {url} ({e}); it ends with its lease at {expires}"));
                }
            }
        }
        Err(format!("could not remove {url}: it kept changing; it ends with its lease at {expires}"))
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let _ = self.release_inner();
    }
}

/// Renew every lease/3 until stopped or lost.
fn renew_loop(lock: &S3Lock, shared: &Shared, lease: Duration) {
    let interval = renew_interval(lease);
    loop {
        {
            let stop = shared.stop.lock().unwrap_or_else(|p| p.into_inner());
            let (stop, _) =
                shared.wake.wait_timeout_while(stop, interval, |s| !*s).unwrap_or_else(|p| p.into_inner());
            if *stop {
                return;
            }
        }
        if !renew_once(lock, shared, lease) {
            return;
        }
    }
}

/// One renewal; false once the lease is lost for good.
fn renew_once(lock: &S3Lock, shared: &Shared, lease: Duration) -> bool {
    let (mut info, etag) = {
        let s = shared.state();
        (s.info.clone(), s.etag.clone())
    };
    info.expires = stamp(plus(jiff::Timestamp::now(), lease));
    match lock.backend.put(&lock.key, info.body(), Condition::Matches(etag)) {
        Ok(new_etag) => {
            let mut s = shared.state();
            s.info = info;
            s.etag = new_etag;
            s.last_error = None;
            true
        }
        Err(WriteError::Precondition | WriteError::Missing) => match lock.current() {
            Ok(Current::Held { info: now, etag: e }) if now.id == info.id => {
                // Ours still: an earlier renewal landed but its answer was lost.
                shared.state().etag = e;
                true
            }
            Ok(Current::Held { info: now, .. }) => {
                shared.state().lost = Some(format!("the lock was taken over by {}", now.describe()));
                false
            }
            Ok(Current::Free) => {
                shared.state().lost =
                    Some(format!("the lock {} was removed (vend force-unlock?)", lock.url()));
                false
            }
            Ok(Current::Unreadable { why, .. }) => {
                shared.state().lost =
                    Some(format!("the lock {} was replaced by something else ({why})", lock.url()));
                false
            }
            Err(e) => {
                shared.state().last_error = Some(e.to_string());
                true
            }
        },
        Err(WriteError::Other(e)) => {
            shared.state().last_error = Some(e);
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(expires: &str, lease: u64) -> LockInfo {
        LockInfo {
            v: LOCK_VERSION,
            id: "00".repeat(16),
            holder: Holder { user: "ana".into(), host: "h".into(), pid: 7, aws_arn: None },
            operation: "apply".into(),
            created: "2026-11-22T10:00:00Z".into(),
            expires: expires.into(),
            lease_seconds: lease,
        }
    }

    fn at(t: &str) -> jiff::Timestamp {
        t.parse().unwrap()
    }

    #[test]
    fn a_lease_ends_at_its_stated_expiry() {
        let i = info("2026-11-22T10:02:00Z", 120);
        assert!(!is_expired(&i, at("2026-11-22T10:01:59Z"), None));
        assert!(is_expired(&i, at("2026-11-22T10:02:00Z"), None));
        assert!(is_expired(&i, at("2026-11-22T11:00:00Z"), None));
    }

    #[test]
    fn a_lock_unchanged_for_a_whole_lease_is_expired_whatever_it_says() {
        // A holder whose clock runs an hour ahead states an expiry far in our future; it stopped
        // renewing, so the object stays the same version.
        let i = info("2026-11-22T11:02:00Z", 120);
        let now = at("2026-11-22T10:00:30Z");
        assert!(!is_expired(&i, now, Some(Duration::from_secs(119))));
        assert!(is_expired(&i, now, Some(Duration::from_secs(120))));
    }

    #[test]
    fn an_unreadable_expiry_counts_as_expired() {
        assert!(is_expired(&info("soon", 120), at("2026-11-22T10:00:00Z"), None));
    }

    #[test]
    fn renewal_runs_three_times_per_lease_but_not_in_a_busy_loop() {
        assert_eq!(renew_interval(Duration::from_secs(120)), Duration::from_secs(40));
        assert_eq!(renew_interval(Duration::from_millis(300)), Duration::from_millis(200));
    }

    #[test]
    fn lock_ids_are_random_hex() {
        let (a, b) = (new_lock_id().unwrap(), new_lock_id().unwrap());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn the_lock_body_round_trips_and_names_its_holder() {
        let mut i = info("2026-11-22T10:02:00Z", 120);
        i.holder.aws_arn = Some("arn:aws:iam::111111111111:user/ana".into());
        let back: LockInfo = serde_json::from_slice(&i.body()).unwrap();
        assert_eq!(back, i);
        let d = i.describe();
        assert!(d.contains("ana@h (pid 7, arn:aws:iam::111111111111:user/ana)") && d.contains(&i.id), "{d}");
    }
}
