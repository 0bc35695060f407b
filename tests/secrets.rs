//! The secret scan (issue 7, part 4): no secret vend handles — AWS access key id, secret access
//! key, session token, the operator's signing key — appears in anything vend writes or prints.
//! Run with `cargo test --test secrets`.
//!
//! A private D-Bus session with an unlocked `gnome-keyring-daemon` (Secret Service) is started
//! for the test (packages `dbus` and `gnome-keyring`; as root with apt-get the test installs
//! them itself when missing, under a file lock). Distinctive fake credentials are stored with
//! `vend auth login` (piped JSON); then, with no AWS credential in the environment and `-vv`
//! (vend's highest verbosity), a full run against the emulator: `plan --aws --out`, `show`,
//! `apply --aws --auto-approve`, `snapshot save --aws`, `audit log --json`, `audit verify`,
//! `auth logout`. The operator key is created in the same Secret Service (no `VEND_KEY_STORE`)
//! and read back from it. Every command's stdout and stderr and every file under the test's
//! folder (workspace with `.vend/`, config dir, plan file, snapshot) are scanned for each secret
//! and for 20-character pieces of it, in the encodings vend could use (hex, base64, JSON
//! escapes). The emulator's count of signing access key ids proves the keyring's credentials
//! went ahead of the environment's, and that after logout the environment's are used.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout, clippy::print_stderr)]

mod common;
mod emulator_harness;

use emulator_harness::lock;
use emulator_harness::seed::{demo, seed_catalog, seed_organization};
use emulator_harness::workspace::{VendWorkspace, describe};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The Secret Service's well-known bus name.
const SECRETS_NAME: &str = "org.freedesktop.secrets";
const TOOLS: [&str; 3] = ["dbus-daemon", "dbus-send", "gnome-keyring-daemon"];

fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(tool)).find(|p| p.is_file())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Make sure dbus and gnome-keyring are installed: as root with apt-get, install them (one test
/// process at a time, under a file lock); otherwise fail saying what to install.
fn ensure_tools() {
    let missing = || TOOLS.iter().filter(|t| which(t).is_none()).copied().collect::<Vec<_>>();
    if missing().is_empty() {
        return;
    }
    if !is_root() || which("apt-get").is_none() {
        panic!(
            "the secret scan needs a Secret Service: {:?} not found; install the packages `dbus` and \
             `gnome-keyring` (e.g. `sudo apt-get install dbus gnome-keyring`), or run the test as root \
             where apt-get is available and it installs them itself",
            missing()
        );
    }
    let lock_path = std::env::temp_dir().join("vend-secrets-apt.lock");
    let lock = std::fs::File::create(&lock_path).unwrap();
    lock.lock().unwrap();
    if !missing().is_empty() {
        eprintln!("secrets: installing dbus and gnome-keyring with apt-get (missing {:?})", missing());
        let apt = |args: &[&str]| {
            Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .stdin(Stdio::null())
                .output()
                .unwrap()
        };
        let update = apt(&["update", "-qq"]);
        let install = apt(&["install", "-y", "-qq", "--no-install-recommends", "dbus", "gnome-keyring"]);
        assert!(
            missing().is_empty(),
            "apt-get could not install dbus and gnome-keyring (still missing {:?}):\n{}\n{}",
            missing(),
            describe(&update),
            describe(&install)
        );
    }
    let _ = lock.unlock();
}

/// A private D-Bus session bus with an unlocked gnome-keyring Secret Service on it; both daemons
/// are stopped on drop.
struct SecretService {
    address: String,
    dir: tempfile::TempDir,
    dbus: Child,
    keyring: Option<Child>,
}

impl SecretService {
    fn start() -> SecretService {
        ensure_tools();
        let dir = tempfile::tempdir().unwrap();
        for d in ["run", "home"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        std::fs::set_permissions(dir.path().join("run"), std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        let mut dbus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-daemon --session");
        let stdout = dbus.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let address = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) if !line.trim().is_empty() => line.trim().to_string(),
            other => {
                let _ = dbus.kill();
                let _ = dbus.wait();
                panic!("dbus-daemon printed no address: {other:?}");
            }
        };
        let mut ss = SecretService { address, dir, dbus, keyring: None };
        let log = std::fs::File::create(ss.dir.path().join("gnome-keyring.log")).unwrap();
        let mut keyring = ss
            .env(&mut Command::new("gnome-keyring-daemon"))
            .args(["--unlock", "--components=secrets", "--foreground"])
            .stdin(Stdio::piped())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start gnome-keyring-daemon");
        // --unlock reads the login keyring's password from stdin, up to EOF.
        keyring.stdin.take().unwrap().write_all(b"vend-secret-scan").unwrap();
        ss.keyring = Some(keyring);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let owned = ss
                .env(&mut Command::new("dbus-send"))
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    &format!("string:{SECRETS_NAME}"),
                ])
                .output()
                .unwrap();
            if String::from_utf8_lossy(&owned.stdout).contains("boolean true") {
                break;
            }
            if Instant::now() > deadline {
                let log =
                    std::fs::read_to_string(ss.dir.path().join("gnome-keyring.log")).unwrap_or_default();
                panic!(
                    "gnome-keyring-daemon did not take {SECRETS_NAME} on the private bus within 30 s:\n{log}"
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        ss
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// A clean environment on the private bus: no AWS credential, no key-store override.
    fn env<'c>(&self, c: &'c mut Command) -> &'c mut Command {
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("XDG_RUNTIME_DIR", self.dir.path().join("run"))
            .env("XDG_DATA_HOME", self.home().join(".local/share"))
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
    }

    /// The secret of keyring entry `service`/`account` on this bus (`None`: no such entry), read
    /// by this test binary's `keyring_entry` helper running in a child with the bus address.
    fn entry(&self, service: &str, account: &str) -> Option<String> {
        self.helper(service, account, None)
    }

    /// Write entry `service`/`account` directly (not through vend).
    fn set_entry(&self, service: &str, account: &str, text: &str) {
        assert_eq!(self.helper(service, account, Some(text)).as_deref(), Some(text));
    }

    fn helper(&self, service: &str, account: &str, write: Option<&str>) -> Option<String> {
        let mut c = Command::new(std::env::current_exe().unwrap());
        self.env(&mut c)
            .args(["keyring_entry", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env("VEND_SCAN_SERVICE", service)
            .env("VEND_SCAN_ACCOUNT", account);
        if let Some(text) = write {
            c.env("VEND_SCAN_WRITE", text);
        }
        let out = c.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.status.success(), "keyring_entry helper failed:\n{}", describe(&out));
        if text.contains("NO-ENTRY") {
            return None;
        }
        let start = text.find("ENTRY<").expect("helper output") + "ENTRY<".len();
        let end = text[start..].find(">END").expect("helper output") + start;
        Some(text[start..end].to_string())
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        if let Some(k) = &mut self.keyring {
            let _ = k.kill();
            let _ = k.wait();
        }
        let _ = self.dbus.kill();
        let _ = self.dbus.wait();
    }
}

/// Read by `SecretService::entry` in a child process connected to the private bus.
#[test]
#[ignore = "helper: the secret scan runs it in a child process on its private D-Bus session"]
fn keyring_entry() {
    use keyring_core::api::CredentialStoreApi;
    let (Ok(service), Ok(account)) = (std::env::var("VEND_SCAN_SERVICE"), std::env::var("VEND_SCAN_ACCOUNT"))
    else {
        panic!(
            "keyring_entry is a helper of no_secret_leaks_from_a_verbose_aws_run (VEND_SCAN_SERVICE unset)"
        );
    };
    let store = zbus_secret_service_keyring_store::Store::new().unwrap();
    let entry = store.build(&service, &account, None).unwrap();
    if let Ok(text) = std::env::var("VEND_SCAN_WRITE") {
        entry.set_password(&text).unwrap();
    }
    match entry.get_password() {
        Ok(text) => println!("ENTRY<{text}>END"),
        Err(keyring_core::Error::NoEntry) => println!("NO-ENTRY"),
        Err(e) => panic!("reading {service}/{account}: {e}"),
    }
}

fn random_text(len: usize, alphabet: &[u8]) -> String {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).unwrap();
    bytes.iter().map(|b| alphabet[*b as usize % alphabet.len()] as char).collect()
}

const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const SECRET_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// One secret and the forms it could leak in.
struct Secret {
    what: String,
    forms: Vec<String>,
}

impl Secret {
    fn new(what: &str, value: &str) -> Secret {
        let mut forms = vec![value.to_string(), value.replace('/', "\\/")];
        // Pieces: a truncated or wrapped copy is a leak too.
        let chars: Vec<char> = value.chars().collect();
        if chars.len() > 20 {
            for start in (0..=chars.len() - 20).step_by(4) {
                forms.push(chars[start..start + 20].iter().collect());
            }
        }
        forms.sort();
        forms.dedup();
        Secret { what: what.to_string(), forms }
    }

    /// The signing key's 32-byte seed in every encoding vend might use.
    fn signing_key(seed: &[u8]) -> Secret {
        let hex_lower = hex::encode(seed);
        let mut s = Secret::new("operator signing key (hex)", &hex_lower);
        s.forms.push(hex_lower.to_uppercase());
        for b64 in base64_forms(seed) {
            s.forms.push(b64);
        }
        s
    }
}

/// Standard and URL-safe base64 of `bytes`, without padding.
fn base64_forms(bytes: &[u8]) -> Vec<String> {
    let mut out = vec![];
    for alphabet in [
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
    ] {
        let mut s = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                s.push(alphabet[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out.push(s);
    }
    out
}

/// Everything vend printed in this test, by command.
#[derive(Default)]
struct Transcript {
    outputs: Vec<(String, String)>,
}

impl Transcript {
    fn record(&mut self, label: &str, out: &Output) {
        self.outputs.push((format!("{label} (stdout)"), String::from_utf8_lossy(&out.stdout).to_string()));
        self.outputs.push((format!("{label} (stderr)"), String::from_utf8_lossy(&out.stderr).to_string()));
    }
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn ok(label: &str, out: &Output) {
    assert!(out.status.success(), "{label} failed:\n{}", describe(out));
}

fn access_keys(emu: &emulator_harness::Emulator) -> Vec<String> {
    let stats = emu.stats();
    stats["access_keys"].as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
}

#[test]
fn no_secret_leaks_from_a_verbose_aws_run() {
    let ss = SecretService::start();
    let (_guard, emu) = lock();
    let mut ids = seed_organization(emu);
    seed_catalog(emu, &mut ids);
    let mgmt = ids[&demo().organization.management_account_id].clone();
    let w = VendWorkspace::new(emu, &mgmt);
    let ws = w.ws.to_str().unwrap().to_string();
    let plan_file = w.dir.path().join("plan.json");
    let snapshot = w.dir.path().join("snapshot.json");

    let akid = format!("AKIAVENDSCAN{}", random_text(12, UPPER));
    let secret = random_text(40, SECRET_CHARS);
    let token = format!("IQoVENDSCAN{}", random_text(160, SECRET_CHARS));
    let expiration = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(2))
        .round(jiff::Unit::Second)
        .unwrap()
        .to_string();
    // Credentials in the environment for the two checks of which credentials are used.
    let env_akid = format!("AKIAVENDENV{}", random_text(12, UPPER));
    let env_secret = random_text(40, SECRET_CHARS);

    let mut t = Transcript::default();
    let vend = |args: &[&str], stdin: Option<&str>, env_creds: bool| -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_vend"));
        ss.env(&mut c)
            .args(args)
            .env("XDG_CONFIG_HOME", &w.config)
            .env("USER", "tester")
            .env("NO_COLOR", "1")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if env_creds {
            c.env("AWS_ACCESS_KEY_ID", &env_akid).env("AWS_SECRET_ACCESS_KEY", &env_secret);
        }
        let mut child = c.spawn().unwrap();
        if let Some(text) = stdin {
            child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        }
        child.wait_with_output().unwrap()
    };
    let aws = ["-vv", "--aws", "--profile", "scan", "--endpoint-url", emu.endpoint.as_str()];
    let with = |extra: &[&str]| -> Vec<String> {
        aws.iter().chain(extra).map(|s| s.to_string()).chain(["-C".to_string(), ws.clone()]).collect()
    };
    let run = |t: &mut Transcript, label: &str, args: Vec<String>, env_creds: bool| -> Output {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = vend(&args, None, env_creds);
        t.record(label, &out);
        out
    };

    // Log in: the credential_process JSON on stdin, checked with STS at the emulator.
    let login_json = format!(
        r#"{{"Version": 1, "AccessKeyId": "{akid}", "SecretAccessKey": "{secret}", "SessionToken": "{token}", "Expiration": "{expiration}"}}"#
    );
    let (status, body) = emu.http("POST", "/_vend/stats/reset", "");
    assert_eq!(status, 200, "{body}");
    let login = vend(
        &["-vv", "auth", "login", "--profile", "scan", "--endpoint-url", &emu.endpoint],
        Some(&login_json),
        false,
    );
    t.record("auth login", &login);
    ok("auth login", &login);
    let said = String::from_utf8_lossy(&login.stdout);
    assert!(
        said.contains("Stored the AWS credentials of profile scan in the OS keyring (Secret Service")
            && said.contains("They act as arn:aws:"),
        "{}",
        describe(&login)
    );
    let stored: Value =
        serde_json::from_str(&ss.entry("vend-aws", "scan").expect("the vend-aws/scan entry")).unwrap();
    assert_eq!(stored["AccessKeyId"], Value::String(akid.clone()));
    assert_eq!(stored["SessionToken"], Value::String(token.clone()));

    // The full run, with nothing but the keyring to supply credentials.
    let plan = run(&mut t, "plan", with(&["plan", "--out", plan_file.to_str().unwrap()]), false);
    ok("plan", &plan);
    let plan_err = String::from_utf8_lossy(&plan.stderr);
    assert!(
        plan_err.contains("vend: AWS credentials of profile scan from the OS keyring (Secret Service)"),
        "{}",
        describe(&plan)
    );
    // -vv is on: the SDK's debug events and vend's own are there.
    assert!(
        plan_err.contains("DEBUG")
            && plan_err.contains("aws_smithy_runtime")
            && plan_err.contains("vend::adapter::aws"),
        "no verbose log on stderr:\n{}",
        describe(&plan)
    );
    let show =
        run(&mut t, "show", vec!["-vv".into(), "show".into(), plan_file.to_str().unwrap().into()], false);
    ok("show", &show);
    let apply = run(&mut t, "apply", with(&["apply", "--auto-approve", "--poll-interval-ms", "50"]), false);
    ok("apply", &apply);
    let apply_err = String::from_utf8_lossy(&apply.stderr);
    assert!(
        apply_err.contains("operator key created in the OS keyring (Secret Service"),
        "the operator key is not in the Secret Service:\n{}",
        describe(&apply)
    );
    assert!(
        apply_err.contains("AWS write done"),
        "no write events in the verbose log:\n{}",
        describe(&apply)
    );
    let save =
        run(&mut t, "snapshot save", with(&["snapshot", "save", "--out", snapshot.to_str().unwrap()]), false);
    ok("snapshot save", &save);
    let log = run(
        &mut t,
        "audit log",
        vec!["-vv".into(), "audit".into(), "log".into(), "--json".into(), "-C".into(), ws.clone()],
        false,
    );
    ok("audit log", &log);
    let verify = run(
        &mut t,
        "audit verify",
        vec!["-vv".into(), "audit".into(), "verify".into(), "-C".into(), ws.clone()],
        false,
    );
    ok("audit verify", &verify);

    // Every request of the run was signed with the keyring's key (or, in member accounts, with
    // the temporary ASIA… keys of the member role assumed with it).
    let used = access_keys(emu);
    assert!(used.contains(&akid), "the keyring's access key id signed nothing: {used:?}");
    assert!(
        used.iter().all(|k| *k == akid || k.starts_with("ASIA")),
        "requests signed with other credentials than the keyring's: {used:?}"
    );

    // Ahead of the default chain: with other credentials in the environment, still the keyring's.
    emu.http("POST", "/_vend/stats/reset", "");
    let ahead = run(&mut t, "plan with env credentials", with(&["plan"]), true);
    ok("plan with env credentials", &ahead);
    let used = access_keys(emu);
    assert!(
        used.contains(&akid) && !used.contains(&env_akid),
        "keyring credentials not used first: {used:?}"
    );

    // The operator's signing key, as vend keeps it in the Secret Service.
    let key_text = ss.entry("vend", "operator-key:tester").expect("the operator key in the Secret Service");
    let seed =
        hex::decode(key_text.trim().strip_prefix("ed25519-secret:").expect("ed25519-secret:<hex>")).unwrap();
    assert_eq!(seed.len(), 32);

    // Log out: the entry is gone, and the standard chain (here: the environment) is used.
    let logout = run(
        &mut t,
        "auth logout",
        vec!["-vv".into(), "auth".into(), "logout".into(), "--profile".into(), "scan".into()],
        false,
    );
    ok("auth logout", &logout);
    assert!(
        String::from_utf8_lossy(&logout.stdout).contains("Removed the AWS credentials of profile scan"),
        "{}",
        describe(&logout)
    );
    assert_eq!(ss.entry("vend-aws", "scan"), None, "the entry survived logout");
    emu.http("POST", "/_vend/stats/reset", "");
    let after = run(&mut t, "plan after logout", with(&["plan"]), true);
    ok("plan after logout", &after);
    assert!(
        String::from_utf8_lossy(&after.stderr).contains(
            "AWS credentials from the standard chain (none stored for profile scan in the OS keyring"
        ),
        "{}",
        describe(&after)
    );
    let used = access_keys(emu);
    assert!(
        used.contains(&env_akid) && !used.contains(&akid),
        "after logout the environment's credentials are not used: {used:?}"
    );
    let again = run(
        &mut t,
        "auth logout again",
        vec!["auth".into(), "logout".into(), "--profile".into(), "scan".into()],
        false,
    );
    ok("auth logout again", &again);
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("No AWS credentials were stored for profile scan"),
        "{}",
        describe(&again)
    );

    // The scan.
    let secrets = [
        Secret::new("access key id", &akid),
        Secret::new("secret access key", &secret),
        Secret::new("session token", &token),
        Secret::new("environment access key id", &env_akid),
        Secret::new("environment secret access key", &env_secret),
        Secret::signing_key(&seed),
    ];
    // The scan sees what it looks for: the login input holds the three, the entry the key.
    let finds = |s: &Secret, text: &str| s.forms.iter().any(|f| text.contains(f.as_str()));
    assert!(secrets[..3].iter().all(|s| finds(s, &login_json)) && finds(&secrets[5], &key_text));
    let mut haystacks = t.outputs.clone();
    let mut files = vec![];
    files_under(w.dir.path(), &mut files);
    assert!(files.contains(&plan_file) && files.contains(&snapshot), "{files:?}");
    for must in [".vend/audit.jsonl", ".vend/audit.head", ".vend/lock"] {
        assert!(files.contains(&w.ws.join(must)), "{must} not written: {files:?}");
    }
    for f in &files {
        haystacks
            .push((f.display().to_string(), String::from_utf8_lossy(&std::fs::read(f).unwrap()).to_string()));
    }
    let mut leaks = vec![];
    for (place, text) in &haystacks {
        for s in &secrets {
            if let Some(form) = s.forms.iter().find(|f| text.contains(f.as_str())) {
                let at = text.find(form.as_str()).unwrap();
                let line = text[..at].lines().count().max(1);
                leaks.push(format!("{} found in {place}, line {line}", s.what));
            }
        }
    }
    let scanned: usize = haystacks.iter().map(|(_, t)| t.len()).sum();
    assert!(
        leaks.is_empty(),
        "secrets leaked ({} places, {scanned} bytes scanned):\n{}",
        haystacks.len(),
        leaks.join("\n")
    );
    eprintln!(
        "secrets: scanned {} outputs and files ({scanned} bytes) for {} secrets in {} forms: no leak",
        haystacks.len(),
        secrets.len(),
        secrets.iter().map(|s| s.forms.len()).sum::<usize>()
    );
}

/// `vend` in a clean environment without any D-Bus session (so no OS keyring), with the
/// emulator's test credentials in the environment.
fn vend_without_keyring(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vend"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_RUNTIME_DIR", home.join("no-runtime-dir"))
        .env("DBUS_SESSION_BUS_ADDRESS", format!("unix:path={}", home.join("no-bus").display()))
        .env("USER", "tester")
        .env("NO_COLOR", "1")
        .env("AWS_ACCESS_KEY_ID", emulator_harness::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", emulator_harness::SECRET_KEY)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn with_stdin(mut c: Command, text: &str) -> Output {
    let mut child = c.spawn().unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// Without an OS keyring: `auth login` refuses (AWS secrets never go to a file), `auth logout`
/// says why, and `--aws` commands use the standard chain with a note; `--profile` outside
/// `auth` still needs `--aws`.
#[test]
fn without_a_keyring_login_fails_and_aws_commands_use_the_default_chain() {
    let (_guard, emu) = lock();
    let home = tempfile::tempdir().unwrap();
    let secret = random_text(40, SECRET_CHARS);
    let akid = format!("AKIAVENDNOKR{}", random_text(12, UPPER));

    let mut c = vend_without_keyring(home.path());
    c.args(["auth", "login", "--profile", "ops", "--no-verify"]);
    let login = with_stdin(c, &format!("AWS_ACCESS_KEY_ID={akid}\nAWS_SECRET_ACCESS_KEY={secret}\n"));
    assert_eq!(login.status.code(), Some(1), "{}", describe(&login));
    let err = String::from_utf8_lossy(&login.stderr);
    assert!(err.contains("no durable OS keyring is available") && err.contains("never in a file"), "{err}");
    let mut files = vec![];
    files_under(home.path(), &mut files);
    assert!(files.is_empty(), "login without a keyring wrote {files:?}");

    let mut c = vend_without_keyring(home.path());
    c.args(["auth", "logout", "--profile", "ops"]);
    let logout = with_stdin(c, "");
    assert_eq!(logout.status.code(), Some(1), "{}", describe(&logout));
    assert!(
        String::from_utf8_lossy(&logout.stderr).contains("no durable OS keyring"),
        "{}",
        describe(&logout)
    );

    let mut c = vend_without_keyring(home.path());
    c.args(["plan", "--profile", "ops"]);
    let usage = with_stdin(c, "");
    assert_eq!(usage.status.code(), Some(1), "{}", describe(&usage));
    let err = String::from_utf8_lossy(&usage.stderr);
    assert!(err.contains("required arguments were not provided") && err.contains("--aws"), "{err}");

    seed_organization(emu);
    let mut c = vend_without_keyring(home.path());
    c.args(["snapshot", "save", "--aws", "--endpoint-url", &emu.endpoint, "--out"])
        .arg(home.path().join("s.json"));
    let save = with_stdin(c, "");
    assert!(save.status.success(), "{}", describe(&save));
    assert!(
        String::from_utf8_lossy(&save.stderr)
            .contains("vend: AWS credentials from the standard chain (OS keyring not available:"),
        "{}",
        describe(&save)
    );
    assert!(access_keys(emu).contains(&emulator_harness::ACCESS_KEY.to_string()));
}

/// `auth login` refuses malformed and expired credentials without storing or echoing them;
/// stored session credentials past their expiration stop every `--aws` command with the way
/// out, before any AWS call.
#[test]
fn bad_and_expired_credentials_are_refused_with_what_to_do() {
    let ss = SecretService::start();
    let config = tempfile::tempdir().unwrap();
    let akid = format!("ASIAVENDEXPD{}", random_text(12, UPPER));
    let secret = random_text(40, SECRET_CHARS);
    let token = random_text(100, SECRET_CHARS);
    let past = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1))
        .round(jiff::Unit::Second)
        .unwrap()
        .to_string();
    let json = format!(
        r#"{{"Version":1,"AccessKeyId":"{akid}","SecretAccessKey":"{secret}","SessionToken":"{token}","Expiration":"{past}"}}"#
    );
    let vend = |args: &[&str], stdin: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_vend"));
        ss.env(&mut c)
            .args(args)
            .env("XDG_CONFIG_HOME", config.path())
            .env("NO_COLOR", "1")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        with_stdin(c, stdin)
    };

    let bad = vend(
        &["auth", "login", "--profile", "old", "--no-verify"],
        &format!("AWS_ACCESS_KEY_ID={akid}\nAWS_SECRET_ACCESS_KEY=two {secret}\nAWS_SESSION_TOKEN={token}\n"),
    );
    assert_eq!(bad.status.code(), Some(1), "{}", describe(&bad));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("the secret access key contains spaces"), "{err}");
    for s in [&akid, &secret, &token] {
        assert!(!err.contains(s.as_str()), "the error echoes the input: {err}");
    }
    assert_eq!(ss.entry("vend-aws", "old"), None, "bad credentials were stored");

    let login = vend(&["auth", "login", "--profile", "old", "--no-verify"], &json);
    assert_eq!(login.status.code(), Some(1), "{}", describe(&login));
    assert!(
        String::from_utf8_lossy(&login.stderr).contains("these credentials expired at"),
        "{}",
        describe(&login)
    );
    assert_eq!(ss.entry("vend-aws", "old"), None, "expired credentials were stored");

    // Stored while still valid (written here directly), expired since.
    ss.set_entry("vend-aws", "old", &json);
    let plan = vend(&["plan", "--aws", "--profile", "old", "--endpoint-url", "http://127.0.0.1:9"], "");
    assert_eq!(plan.status.code(), Some(1), "{}", describe(&plan));
    let err = String::from_utf8_lossy(&plan.stderr);
    assert!(
        err.contains(&format!(
            "the AWS credentials stored for profile old in the OS keyring (Secret Service) expired at {past}"
        )) && err.contains("run `vend auth login --profile old`"),
        "{err}"
    );
    for s in [&akid, &secret, &token] {
        assert!(!err.contains(s.as_str()), "the error shows a secret: {err}");
    }
}
