//! The one configuration value of a run: what `main` resolved from the command line (`cli`)
//! and the environment (`Env`) before anything else happens — the state backend, the AWS
//! options (keyring credentials included), the audit log and lock target, the apply settings
//! (lock lease and timeout, poll interval), verbosity and the environment facts vend uses. The
//! library (`app`, `governance`, `flow`, `tui`) takes this value; nothing downstream re-reads
//! flags or the environment. Plain data: no I/O here.

use crate::adapter::aws::AwsOptions;
use crate::adapter::keys::KeyStore;
use crate::adapter::s3_backend::S3Url;
use crate::adapter::s3_lock;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What `main` read from the process environment, once.
#[derive(Debug, Clone)]
pub struct Env {
    /// Who runs vend ([`resolve_user`]): USER / LOGNAME / USERNAME, else `git config
    /// user.email`, else `uid:<n>` (`actor.user`, `requested_by`, the name `vend operator key`
    /// suggests).
    pub user: String,
    /// Where `user` came from.
    pub user_source: UserSource,
    /// The user's config directory (XDG_CONFIG_HOME, else ~/.config: home of the key file), or
    /// why there is none.
    pub config_dir: Result<PathBuf, String>,
    /// VEND_KEY_STORE=file keeps the operator key in the key file even where an OS keyring exists.
    pub key_store: KeyStore,
    /// Colour allowed (NO_COLOR unset or empty).
    pub color: bool,
    /// AWS_PROFILE, when set and not empty (the keyring entry of `vend auth` is per profile).
    pub aws_profile: Option<String>,
    /// Whether standard input, output and error are terminals.
    pub stdin_tty: bool,
    pub stdout_tty: bool,
    pub stderr_tty: bool,
    /// TERM, when set (`dumb` turns live progress off).
    pub term: Option<String>,
}

impl Env {
    /// Whether an apply draws live progress (the overall bar and a spinner per step in flight,
    /// on standard error) instead of plain lines: only when standard output and standard error
    /// are both terminals, colour is allowed (NO_COLOR unset or empty) and TERM is not `dumb`.
    pub fn live_progress(&self) -> bool {
        self.stdout_tty && self.stderr_tty && self.color && self.term.as_deref() != Some("dumb")
    }
}

impl Default for Env {
    /// No user, no config dir, no terminal (for tests and tools that build a `Config` by hand).
    fn default() -> Env {
        Env {
            user: "unknown".into(),
            user_source: UserSource::Unknown,
            config_dir: Err("no config directory".into()),
            key_store: KeyStore::Auto,
            color: false,
            aws_profile: None,
            stdin_tty: false,
            stdout_tty: false,
            stderr_tty: false,
            term: None,
        }
    }
}

/// Where [`Env::user`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserSource {
    /// An environment variable (`USER`, `LOGNAME`, `USERNAME`).
    Var(&'static str),
    /// `git config user.email`.
    GitEmail,
    /// The numeric user id (`uid:<n>`).
    Uid,
    /// Nothing answered (only a hand-built `Env`: `main` always finds one of the above).
    Unknown,
}

impl std::fmt::Display for UserSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UserSource::Var(name) => write!(f, "${name}"),
            UserSource::GitEmail => write!(f, "git config user.email"),
            UserSource::Uid => write!(f, "the numeric user id"),
            UserSource::Unknown => write!(f, "no source"),
        }
    }
}

/// Who runs vend: the first of `vars` (name, value) with a value that is not blank, else the git
/// e-mail, else `uid:<n>`; `git_email` and `uid` are asked only when needed (each once). Never
/// `unknown` unless all three are absent.
pub fn resolve_user(
    vars: &[(&'static str, Option<String>)],
    git_email: impl FnOnce() -> Option<String>,
    uid: impl FnOnce() -> Option<u32>,
) -> (String, UserSource) {
    let blank = |v: &String| v.trim().is_empty();
    if let Some((name, Some(v))) = vars.iter().find(|(_, v)| v.as_ref().is_some_and(|v| !blank(v))) {
        return (v.trim().to_string(), UserSource::Var(name));
    }
    if let Some(email) = git_email().filter(|e| !blank(e)) {
        return (email.trim().to_string(), UserSource::GitEmail);
    }
    match uid() {
        Some(n) => (format!("uid:{n}"), UserSource::Uid),
        None => ("unknown".into(), UserSource::Unknown),
    }
}

/// Where the observed state comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum StateBackend {
    /// The local state file (`--state FILE`, default `<workspace>/.vend/state.json`, seeded on
    /// first use) and the in-process cloud behind it.
    Local { file: Option<PathBuf> },
    /// AWS (`--aws`), with [`Config::aws`].
    Aws,
}

/// Where the signed audit log lives — and with it the apply lock.
#[derive(Debug, Clone, PartialEq)]
pub enum AuditTarget {
    /// The local JSON Lines file (`--audit-log`, default `<workspace>/.vend/audit.jsonl`); the
    /// lock is the workspace's OS file lock `.vend/lock`.
    File(PathBuf),
    /// The shared S3 backend (`--backend s3://BUCKET/PREFIX`): one object per record, the lock a
    /// lease on `PREFIX/lock.json`.
    Shared(S3Url),
}

/// How an apply (CLI or TUI) takes the lock and polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplySettings {
    /// With the shared backend: the lease of the lock, renewed every third of it (`--lock-lease`).
    pub lock_lease: Duration,
    /// How long to wait for another apply's lock (`--lock-timeout`); `None` fails at once.
    pub lock_timeout: Option<Duration>,
    /// Milliseconds between polls of an asynchronous request (`--poll-interval-ms`).
    pub poll_interval_ms: u64,
    /// Steps in flight at most (`--parallelism`; 1: strictly in plan order).
    pub parallelism: usize,
    /// Start the steps that may start in this seeded random order (hidden `--shuffle-seed`:
    /// the property test of the schedule's rules).
    pub shuffle: Option<u64>,
    /// The in-process cloud completes an asynchronous request after this many polls instead of
    /// the first (hidden `--local-polls`: a slow cloud for the progress and Ctrl-C tests).
    pub local_polls: Option<u32>,
}

/// The default poll interval (the `--poll-interval-ms` default).
pub const DEFAULT_POLL_INTERVAL_MS: u64 = 2000;

/// The default number of steps in flight (the `--parallelism` default, Terraform's).
pub const DEFAULT_PARALLELISM: usize = 10;

impl Default for ApplySettings {
    fn default() -> ApplySettings {
        ApplySettings {
            lock_lease: s3_lock::DEFAULT_LEASE,
            lock_timeout: None,
            poll_interval_ms: DEFAULT_POLL_INTERVAL_MS,
            parallelism: DEFAULT_PARALLELISM,
            shuffle: None,
            local_polls: None,
        }
    }
}

/// The resolved configuration of one run.
#[derive(Debug, Clone)]
pub struct Config {
    /// The workspace folder (holds catalog/ and blueprints/, and .vend/).
    pub workspace: PathBuf,
    pub state: StateBackend,
    /// Every AWS client's options (the cloud, the S3 backend): `--profile`, `--region`,
    /// `--endpoint-url` and the credentials `main` found in the OS keyring for the profile.
    pub aws: AwsOptions,
    pub audit: AuditTarget,
    pub apply: ApplySettings,
    /// `-v` count.
    pub verbosity: u8,
    pub env: Env,
}

impl Config {
    /// A local configuration for `workspace`: the local state file, the local audit log, default
    /// apply settings.
    pub fn local(workspace: &Path, env: Env) -> Config {
        Config {
            workspace: workspace.to_path_buf(),
            state: StateBackend::Local { file: None },
            aws: AwsOptions::default(),
            audit: AuditTarget::File(default_audit_path(workspace)),
            apply: ApplySettings::default(),
            verbosity: 0,
            env,
        }
    }

    /// Whether the state is read from (and applied to) AWS.
    pub fn uses_aws(&self) -> bool {
        self.state == StateBackend::Aws
    }

    /// The local state file named by `--state`, if any.
    pub fn state_file(&self) -> Option<&Path> {
        match &self.state {
            StateBackend::Local { file } => file.as_deref(),
            StateBackend::Aws => None,
        }
    }

    /// The shared S3 backend (`--backend`), if any.
    pub fn shared_backend(&self) -> Option<&S3Url> {
        match &self.audit {
            AuditTarget::Shared(url) => Some(url),
            AuditTarget::File(_) => None,
        }
    }

    /// The AWS profile the flags and environment select: `--profile`, else AWS_PROFILE, else
    /// `default` (the keyring entry of `vend auth` is per profile).
    pub fn profile_name(&self) -> String {
        self.aws.profile.clone().or_else(|| self.env.aws_profile.clone()).unwrap_or_else(|| "default".into())
    }

    /// The workspace's local apply lock file.
    pub fn lock_file(&self) -> PathBuf {
        self.workspace.join(".vend").join("lock")
    }

    /// How the state source is named in the TUI's header and status.
    pub fn state_label(&self) -> String {
        match &self.state {
            StateBackend::Aws => "AWS".into(),
            StateBackend::Local { file } => {
                file.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| ".vend/state.json".into())
            }
        }
    }
}

/// The default local audit log of a workspace.
pub fn default_audit_path(workspace: &Path) -> PathBuf {
    workspace.join(".vend").join("audit.jsonl")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_is_a_variable_then_the_git_email_then_the_uid() {
        let vars = |user: Option<&str>, logname: Option<&str>| {
            vec![("USER", user.map(String::from)), ("LOGNAME", logname.map(String::from)), ("USERNAME", None)]
        };
        let never = || -> Option<String> { panic!("git asked although a variable answered") };
        assert_eq!(
            resolve_user(&vars(Some("ana"), Some("x")), never, || None),
            ("ana".into(), UserSource::Var("USER"))
        );
        assert_eq!(
            resolve_user(&vars(Some(" "), Some("bo")), || None, || None),
            ("bo".into(), UserSource::Var("LOGNAME"))
        );
        assert_eq!(
            resolve_user(&vars(None, None), || Some("ci@example.com\n".into()), || Some(7)),
            ("ci@example.com".into(), UserSource::GitEmail)
        );
        assert_eq!(
            resolve_user(&vars(None, None), || None, || Some(1001)),
            ("uid:1001".into(), UserSource::Uid)
        );
        assert_eq!(resolve_user(&vars(None, None), || Some("".into()), || Some(0)).0, "uid:0");
    }

    #[test]
    fn the_profile_is_the_flag_then_the_environment_then_default() {
        let mut c = Config::local(Path::new("."), Env::default());
        assert_eq!(c.profile_name(), "default");
        c.env.aws_profile = Some("env".into());
        assert_eq!(c.profile_name(), "env");
        c.aws.profile = Some("flag".into());
        assert_eq!(c.profile_name(), "flag");
    }

    #[test]
    fn the_configuration_shows_no_secret() {
        let mut c = Config::local(Path::new("."), Env::default());
        let (id, secret, token) = ("ASIAVENDCONFIG00ABCD", "config/secret/EXAMPLEKEY", "CONFIGTOKEN+/=");
        c.aws.credentials = Some(crate::adapter::credentials::StoredCredentials {
            access_key_id: id.into(),
            secret_access_key: secret.into(),
            session_token: Some(token.into()),
            expiration: None,
        });
        for text in [format!("{c:?}"), format!("{c:#?}")] {
            for s in [id, secret, token] {
                assert!(!text.contains(s), "{text}");
            }
        }
    }

    #[test]
    fn live_progress_needs_two_terminals_colour_and_a_capable_terminal() {
        let live = Env {
            stdout_tty: true,
            stderr_tty: true,
            color: true,
            term: Some("xterm-256color".into()),
            ..Env::default()
        };
        assert!(live.live_progress());
        assert!(Env { term: None, ..live.clone() }.live_progress(), "TERM unset is not `dumb`");
        for off in [
            Env { stdout_tty: false, ..live.clone() },
            Env { stderr_tty: false, ..live.clone() },
            Env { color: false, ..live.clone() },
            Env { term: Some("dumb".into()), ..live.clone() },
        ] {
            assert!(!off.live_progress(), "{off:?}");
        }
        assert!(!Env::default().live_progress());
    }

    #[test]
    fn the_default_apply_settings_are_the_shared_lease_and_poll_interval() {
        let s = ApplySettings::default();
        assert_eq!(s.lock_lease, s3_lock::DEFAULT_LEASE);
        assert_eq!(s.lock_timeout, None);
        assert_eq!(s.poll_interval_ms, DEFAULT_POLL_INTERVAL_MS);
    }
}
