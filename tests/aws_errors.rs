//! AWS errors in human terms (issue 19, part 6), through the real binary: no credentials found
//! (and where vend looked), an expired SSO session, access denied (action and principal), an
//! unreachable endpoint, a wrong region — each one or two lines with the fix, no SDK structure
//! (only with `-v`), and without the retries that cannot help: a listener that counts
//! connections shows that no request left for the credential errors, the emulator counts the
//! requests of a denied call, and the messages say how many attempts were made. Also `vend show`
//! of a missing file: one line, the OS error once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod emulator_harness;

use common::{demo_workspace, text};
use emulator_harness::load::{fault_counts, op_count};
use emulator_harness::seed::{demo, seed_catalog, seed_organization};
use emulator_harness::workspace::{VendWorkspace, describe};
use emulator_harness::{Emulator, lock};
use serde_json::json;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Words of the SDK's debug structures that must not reach stderr without `-v`.
const SDK_STRUCTURE: &[&str] = &[
    "DispatchFailure",
    "ConnectorError",
    "CredentialsNotLoaded",
    "ProviderChainError",
    "hyper_util",
    "{ kind",
];

/// `vend` with a bare environment: no AWS variables, empty AWS config and credentials files in
/// a temp home, IMDS off, no OS keyring (the session bus points nowhere), the operator key in a
/// temp config dir.
fn bare_vend(home: &Path) -> Command {
    let config = home.join("config");
    let credentials = home.join("credentials");
    for f in [&config, &credentials] {
        if !f.exists() {
            std::fs::write(f, "").unwrap();
        }
    }
    let mut c = Command::new(env!("CARGO_BIN_EXE_vend"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("USER", "tester")
        .env("NO_COLOR", "1")
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("VEND_KEY_STORE", "file")
        .env("XDG_CONFIG_HOME", home.join("xdg"))
        .env("DBUS_SESSION_BUS_ADDRESS", format!("unix:path={}", home.join("no-bus").display()));
    c
}

/// A local endpoint that counts the TCP connections made to it (and closes each at once).
fn counting_listener() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(conn);
        }
    });
    (url, count)
}

/// A port nothing listens on: bound, then released.
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn stderr(out: &Output) -> String {
    text(&out.stderr)
}

/// Exit 1, every phrase in stderr, no SDK structure, and the `error:` part short: the message
/// itself and at most one fix line.
fn assert_human(out: &Output, phrases: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{}", err);
    for p in phrases {
        assert!(err.contains(p), "missing {p:?} in:\n{err}");
    }
    for s in SDK_STRUCTURE {
        assert!(!err.contains(s), "SDK structure {s:?} in:\n{err}");
    }
    let from_error: Vec<&str> = err.lines().skip_while(|l| !l.starts_with("error: ")).collect();
    assert!(
        (1..=2).contains(&from_error.len()) && from_error.last().is_some_and(|l| l.contains("fix: ")),
        "one or two lines with the fix expected:\n{err}"
    );
}

#[test]
fn no_credentials_says_where_vend_looked_and_sends_nothing() {
    let home = tempfile::tempdir().unwrap();
    let ws = demo_workspace();
    let (url, connections) = counting_listener();
    let out = bare_vend(home.path())
        .args(["--aws", "--endpoint-url", &url, "plan", "-C"])
        .arg(ws.path())
        .output()
        .unwrap();
    assert_human(
        &out,
        &[
            "no AWS credentials found",
            "AWS_ACCESS_KEY_ID",
            "profile default in ~/.aws/config and ~/.aws/credentials",
            "SSO cache",
            "(IMDS)",
            "OS keyring of `vend auth login`",
            "fix: `vend auth login --profile default`",
            "1 attempt, not retried",
        ],
    );
    assert_eq!(connections.load(Ordering::SeqCst), 0, "a request was sent without credentials");

    // A profile that is not in the files (which hold another one): named, with its fix.
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("config"), "[profile other]\nregion = us-east-1\n").unwrap();
    let out = bare_vend(home.path())
        .args(["--aws", "--profile", "nope", "--endpoint-url", &url, "plan", "-C"])
        .arg(ws.path())
        .output()
        .unwrap();
    assert_human(&out, &["profile nope is not defined there", "aws configure --profile nope"]);
    assert_eq!(connections.load(Ordering::SeqCst), 0);
}

/// An HTTP endpoint that answers every request 403 (as a proxy that denies the destination
/// does): the EC2 instance metadata service (IMDS) off EC2 behind such a proxy.
fn denying_imds() -> String {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let body = "resolve_deny: denied destination";
            let _ = write!(
                conn,
                "HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// The credential chain ends at IMDS; where IMDS cannot give a token (off EC2: a timeout, or a
/// proxy's 403), that is still "no credentials found" in words, not the SDK's
/// `ProviderError(FailedToLoadToken …)` structure.
#[test]
fn no_credentials_when_imds_refuses_its_token_is_said_in_words() {
    let home = tempfile::tempdir().unwrap();
    let ws = demo_workspace();
    let (url, connections) = counting_listener();
    let out = bare_vend(home.path())
        .env_remove("AWS_EC2_METADATA_DISABLED")
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", denying_imds())
        .args(["--aws", "--endpoint-url", &url, "plan", "-C"])
        .arg(ws.path())
        .output()
        .unwrap();
    assert_human(
        &out,
        &[
            "no AWS credentials found",
            "(IMDS)",
            "fix: `vend auth login --profile default`",
            "1 attempt, not retried",
        ],
    );
    for s in ["FailedToLoadToken", "ProviderError", "StatusCode"] {
        assert!(!stderr(&out).contains(s), "SDK structure {s:?} in:\n{}", stderr(&out));
    }
    assert_eq!(connections.load(Ordering::SeqCst), 0, "a request was sent without credentials");
}

#[test]
fn sdk_structure_only_with_verbose() {
    let home = tempfile::tempdir().unwrap();
    let ws = demo_workspace();
    let (url, _) = counting_listener();
    let out = bare_vend(home.path())
        .args(["-v", "--aws", "--endpoint-url", &url, "plan", "-C"])
        .arg(ws.path())
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no AWS credentials found"), "{err}");
    assert!(err.contains("CredentialsNotLoaded") && err.contains("ConnectorError"), "{err}");
}

#[test]
fn expired_sso_session_says_aws_sso_login() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("config"),
        "[profile ops]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = Admin\nregion = us-east-1\n\n\
         [sso-session corp]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n\n\
         [profile legacy]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n\
         sso_account_id = 111111111111\nsso_role_name = Admin\nregion = us-east-1\n",
    )
    .unwrap();
    let ws = demo_workspace();
    let (url, connections) = counting_listener();
    for profile in ["ops", "legacy"] {
        let out = bare_vend(home.path())
            .args(["--aws", "--profile", profile, "--endpoint-url", &url, "plan", "-C"])
            .arg(ws.path())
            .output()
            .unwrap();
        assert_human(
            &out,
            &[
                &format!("SSO session of profile {profile} has expired or was never started"),
                &format!("fix: `aws sso login --profile {profile}`"),
                "1 attempt, not retried",
            ],
        );
    }
    // A cached token that has expired (no refresh token): the same words. The SDK names the
    // cache file after the SHA-1 of the sso-session name ("corp").
    let cache = home.path().join(".aws/sso/cache");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(
        cache.join("ee0bfd2552fbd840c02cc48b6e823320543c450f.json"),
        r#"{"accessToken": "expired-token", "expiresAt": "2020-01-01T00:00:00Z", "region": "us-east-1", "startUrl": "https://example.awsapps.com/start"}"#,
    )
    .unwrap();
    let out = bare_vend(home.path())
        .args(["--aws", "--profile", "ops", "--endpoint-url", &url, "plan", "-C"])
        .arg(ws.path())
        .output()
        .unwrap();
    assert_human(&out, &["SSO session of profile ops has expired", "fix: `aws sso login --profile ops`"]);
    assert_eq!(connections.load(Ordering::SeqCst), 0);
}

#[test]
fn unreachable_endpoint_is_named_and_tried_once() {
    let home = tempfile::tempdir().unwrap();
    let ws = demo_workspace();
    let url = format!("http://127.0.0.1:{}", closed_port());
    let out = bare_vend(home.path())
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        .args(["--aws", "--endpoint-url", &url, "plan", "-C"])
        .arg(ws.path())
        .output()
        .unwrap();
    assert_human(
        &out,
        &[
            &format!("cannot reach the AWS endpoint {url} (from --endpoint-url)"),
            "connection refused",
            "1 attempt, not retried",
            "fix: check --endpoint-url / AWS_ENDPOINT_URL",
        ],
    );
    assert!(!stderr(&out).contains("up to 10 attempts"), "{}", stderr(&out));

    // A host name that does not resolve (RFC 2606 `.invalid`): the same class, named.
    let url = "http://vend-endpoint.invalid:4566";
    let out = bare_vend(home.path())
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        .args(["--aws", "--endpoint-url", url, "plan", "-C"])
        .arg(ws.path())
        .output()
        .unwrap();
    assert_human(&out, &[&format!("cannot reach the AWS endpoint {url} (from --endpoint-url)"), "1 attempt"]);
}

#[test]
fn wrong_region_names_the_region_and_where_it_came_from() {
    let home = tempfile::tempdir().unwrap();
    let ws = demo_workspace();
    let (url, connections) = counting_listener();
    let creds = |c: &mut Command| {
        c.env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    };
    // Not a region name at all: refused before any request, from --region or from the environment.
    let mut c = bare_vend(home.path());
    creds(&mut c);
    let out = c.args(["--aws", "--region", "not-a-region", "plan", "-C"]).arg(ws.path()).output().unwrap();
    assert_human(
        &out,
        &[
            "not-a-region (from --region) is not an AWS region name",
            "no request was sent",
            "fix: use a valid region",
        ],
    );
    let mut c = bare_vend(home.path());
    creds(&mut c);
    let out =
        c.env("AWS_REGION", "not-a-region").args(["--aws", "plan", "-C"]).arg(ws.path()).output().unwrap();
    assert_human(&out, &["not-a-region (from the AWS profile default or AWS_REGION / AWS_DEFAULT_REGION)"]);
    // A real region other than the workspace's (catalog/vend.yaml says us-east-1): both named.
    let mut c = bare_vend(home.path());
    creds(&mut c);
    let out = c
        .args(["--aws", "--region", "eu-west-1", "--endpoint-url", &url, "plan", "-C"])
        .arg(ws.path())
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for p in ["the workspace's region is us-east-1", "--region says eu-west-1"] {
        assert!(err.contains(p), "missing {p:?}:\n{err}");
    }
    assert_eq!(connections.load(Ordering::SeqCst), 0);
}

/// The demo organization and catalog seeded into the emulator, and a workspace for it.
fn seeded(emu: &Emulator) -> VendWorkspace<'_> {
    let mut ids = seed_organization(emu);
    seed_catalog(emu, &mut ids);
    let mgmt = ids[&demo().organization.management_account_id].clone();
    VendWorkspace::new(emu, &mgmt)
}

/// A read AWS refuses: the action and the principal from AWS's message, and one request — the
/// fault answers only the first ListRoots, so a retry would have succeeded.
#[test]
fn access_denied_on_a_read_names_action_and_principal_without_retry() {
    let (_guard, emu) = lock();
    let ws = seeded(emu);
    emu.set_faults(&json!({ "script": [
        { "match": "organizations.ListRoots", "fault": "access_denied", "times": 1 }
    ]}));
    let (status, body) = emu.http("POST", "/_vend/stats/reset", "");
    assert_eq!(status, 200, "{body}");
    let out = ws.run(&["plan"]);
    let stats = emu.stats();
    emu.set_faults(&json!({ "script": [] }));
    assert_human(
        &out,
        &[
            "AccessDeniedException",
            "access denied: arn:aws:iam::123456789012:user/vend-tests is not allowed to call organizations:ListRoots",
            "fix: allow organizations:ListRoots for arn:aws:iam::123456789012:user/vend-tests",
        ],
    );
    assert!(!stderr(&out).contains("up to 10 attempts"), "{}", describe(&out));
    assert_eq!(op_count(&stats, "organizations.ListRoots"), 1, "{stats}");
    assert_eq!(fault_counts(&stats).0.get("access_denied"), Some(&1), "{stats}");
}

/// A write AWS refuses during an apply: the step fails at once (neither the SDK nor the engine
/// sends it again — the fault answers only the first AttachPolicy, so a resend would have
/// gone through), named with the action and the principal.
#[test]
fn access_denied_on_a_write_is_not_resent() {
    let (_guard, emu) = lock();
    let ws = seeded(emu);
    emu.set_faults(&json!({ "script": [
        { "match": "organizations.AttachPolicy", "fault": "access_denied", "times": 1 }
    ]}));
    let (status, body) = emu.http("POST", "/_vend/stats/reset", "");
    assert_eq!(status, 200, "{body}");
    let out = ws.run(&["apply", "--auto-approve", "--poll-interval-ms", "50", "--parallelism", "1"]);
    let stats = emu.stats();
    emu.set_faults(&json!({ "script": [] }));
    // The report (stdout) names the failed step; stderr has the notes.
    let err = format!("{}{}", text(&out.stdout), stderr(&out));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        err.contains("is not allowed to call organizations:AttachPolicy")
            && err.contains("arn:aws:iam::123456789012:user/vend-tests"),
        "{}",
        describe(&out)
    );
    for s in SDK_STRUCTURE {
        assert!(!err.contains(s), "SDK structure {s:?} in:\n{err}");
    }
    assert_eq!(fault_counts(&stats).0.get("access_denied"), Some(&1), "{stats}");
    // The denied attachment was not sent again: it is still in the re-plan.
    let replan = ws.run(&["plan", "--json"]);
    let plan: serde_json::Value =
        serde_json::from_slice(&replan.stdout).unwrap_or_else(|_| panic!("{}", describe(&replan)));
    assert!(
        plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["address"].as_str().unwrap_or("").starts_with("policy_attachment:")),
        "{plan}"
    );
}

#[test]
fn show_of_a_missing_file_is_one_line_with_the_os_error_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::run(&["show", "missing.json"], dir.path());
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("missing.json"), "{err}");
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
}
