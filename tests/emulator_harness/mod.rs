//! The emulator for integration tests: a small pool of `tests/emulator/run PORT` servers per test
//! binary, one per test thread at most (libtest's `RUST_TEST_THREADS`, else the number of CPUs),
//! each started on a free 127.0.0.1 port on first use (the first run builds its virtualenv, hence
//! the long timeout), and stopped when the test process ends. Rust never drops statics, so each
//! server runs in its own process group and a small `sh` watchdog sends the group SIGTERM (then
//! SIGKILL) once the test process is gone; the emulator's stdin is also kept open as a pipe, so
//! it sees EOF when the process ends. A test takes `lock()`, which leases it one server of the
//! pool for itself (waiting while all are leased) and resets it: every test runs alone against a
//! clean organization, while the tests of other threads run against the other servers (a test's
//! requests keep about one core busy between the Python server and the debug client, so one
//! server for the whole binary left the other core idle through the emulator tests).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod load;
pub mod seed;
pub mod workspace;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

/// How long the first start may take (it creates the virtualenv and installs moto).
const START_TIMEOUT: Duration = Duration::from_secs(300);

pub const ACCESS_KEY: &str = "testing";
pub const SECRET_KEY: &str = "testing";
pub const REGION: &str = "us-east-1";

pub struct Emulator {
    pub port: u16,
    pub endpoint: String,
    /// Held so the server keeps running (and its stdin open) for the life of the process.
    _child: Mutex<Child>,
    _stdin: Mutex<Option<ChildStdin>>,
}

/// At most this many servers per test binary, whatever the number of test threads.
const POOL_MAX: usize = 8;
/// The pool: server `i` starts when a test first leases slot `i`.
static SERVERS: [OnceLock<Result<Emulator, String>>; POOL_MAX] = [const { OnceLock::new() }; POOL_MAX];
/// Which slots are leased now.
static LEASED: Mutex<[bool; POOL_MAX]> = Mutex::new([false; POOL_MAX]);
static RETURNED: Condvar = Condvar::new();

use crate::common::root;

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().unwrap().port()
}

fn start() -> Result<Emulator, String> {
    let script = root().join("tests/emulator/run");
    if !script.exists() {
        return Err(format!(
            "{} does not exist: the AWS backend tests need the project's emulator (DESIGN §8)",
            script.display()
        ));
    }
    let port = free_port();
    let log_path = root().join("target").join(format!("emulator-{port}.log"));
    std::fs::create_dir_all(root().join("target")).map_err(|e| e.to_string())?;
    let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
    let mut child = Command::new(&script)
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", script.display()))?;
    let pgid = child.id();
    // The watchdog: when this test process is gone, stop the emulator's whole group.
    let me = std::process::id();
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "while kill -0 {me} 2>/dev/null; do sleep 1; done; kill -TERM -{pgid} 2>/dev/null; sleep 3; kill -KILL -{pgid} 2>/dev/null; exit 0"
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();

    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let want = format!("READY {port}");
    let deadline = std::time::Instant::now() + START_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.trim() == want => break,
            Ok(_) => continue,
            Err(e) => {
                let _ = child.kill();
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                let tail: String = log
                    .lines()
                    .rev()
                    .take(30)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("\n");
                return Err(format!(
                    "tests/emulator/run {port} did not print `{want}` ({e}); its stderr ({}):\n{tail}",
                    log_path.display()
                ));
            }
        }
    }
    let stdin = child.stdin.take();
    Ok(Emulator {
        port,
        endpoint: format!("http://127.0.0.1:{port}"),
        _child: Mutex::new(child),
        _stdin: Mutex::new(stdin),
    })
}

/// Send an Organizations write again while the emulator answers ConcurrentModificationException
/// for it: another write to one of its entities is still in progress (rule
/// `organizations.one-writer-per-entity`, as AWS does). Seeding that writes in parallel waits its
/// turn like any client must; a refused request did nothing, so sending it again is safe.
/// Gives up (returns the refusal) after 60 s.
pub async fn when_free<T, E, R, F, Fut>(
    mut send: F,
) -> Result<T, aws_sdk_organizations::error::SdkError<E, R>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, aws_sdk_organizations::error::SdkError<E, R>>>,
    E: aws_sdk_organizations::error::ProvideErrorMetadata,
{
    use aws_sdk_organizations::error::ProvideErrorMetadata;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut wait = Duration::from_millis(2);
    loop {
        match send().await {
            Err(e)
                if e.code() == Some("ConcurrentModificationException")
                    && std::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

/// How many servers the pool may hold: one per test thread (libtest runs `RUST_TEST_THREADS`
/// tests at a time, else one per CPU), at least 1, at most `POOL_MAX`.
fn pool_size() -> usize {
    let threads = std::env::var("RUST_TEST_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    threads.clamp(1, POOL_MAX)
}

/// A test's exclusive use of one server of the pool, until dropped (also when the test panics).
pub struct Lease {
    slot: usize,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut leased = LEASED.lock().unwrap_or_else(|p| p.into_inner());
        leased[self.slot] = false;
        RETURNED.notify_one();
    }
}

/// Lease the lowest free slot (servers already started come first), waiting while all are leased.
fn lease() -> Lease {
    let size = pool_size();
    let mut leased = LEASED.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        if let Some(slot) = (0..size).find(|&i| !leased[i]) {
            leased[slot] = true;
            return Lease { slot };
        }
        leased = RETURNED.wait(leased).unwrap_or_else(|p| p.into_inner());
    }
}

/// Lease one server of the pool and reset it: the test runs alone against a clean organization
/// (other tests of the binary may run meanwhile, each against its own server). Fails the test
/// loudly when the server cannot start.
pub fn lock() -> (Lease, &'static Emulator) {
    let lease = lease();
    let emu = match SERVERS[lease.slot].get_or_init(start) {
        Ok(e) => e,
        Err(why) => panic!("the emulator is not available: {why}"),
    };
    let (status, body) = emu.http("POST", "/_vend/reset", "");
    assert_eq!(status, 200, "POST /_vend/reset: {body}");
    (lease, emu)
}

impl Emulator {
    /// A minimal HTTP/1.1 request to the emulator's control endpoints.
    pub fn http(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the emulator");
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        )
        .unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        let status = resp.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let body = resp.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
        (status, body)
    }

    /// SDK config for the emulator: static test credentials, us-east-1, its endpoint.
    pub fn sdk_config(&self) -> aws_config::SdkConfig {
        let creds =
            aws_sdk_organizations::config::Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "vend-tests");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(
            aws_config::defaults(vend::adapter::aws::behavior_version())
                .credentials_provider(creds)
                .region(aws_config::Region::new(REGION))
                .endpoint_url(&self.endpoint)
                .load(),
        )
    }

    /// The `vend` binary set up for the emulator (test credentials, region, no profile files).
    pub fn vend(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_vend"));
        c.env("NO_COLOR", "1")
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_REGION", REGION)
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        c
    }
}
