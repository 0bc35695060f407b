//! `vend request account|pipeline` through the real binary, stdout, stderr and exit code asserted
//! together: a valid request writes its file (with `requested_by`/`requested_at`) and a signed
//! `request` audit record, and the next plan creates it; an invalid one exits 1 with
//! `error[code]: file:line:col` diagnostics and writes nothing. Each test works on a temporary
//! copy of the demo workspace with its own config dir (`XDG_CONFIG_HOME`, `VEND_KEY_STORE=file`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

struct Ws {
    _dir: tempfile::TempDir,
    ws: PathBuf,
    config: PathBuf,
}

impl Ws {
    fn demo() -> Ws {
        let (dir, ws, config) = demo_with_config();
        Ws { _dir: dir, ws, config }
    }

    fn vend(&self, args: &[&str]) -> Output {
        vend()
            .args(args)
            .current_dir(&self.ws)
            .env("XDG_CONFIG_HOME", &self.config)
            .env("VEND_KEY_STORE", "file")
            .env("USER", "tester")
            .output()
            .unwrap()
    }

    /// Every file under catalog/ with its bytes, to prove nothing was written.
    fn catalog(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.insert(p.clone(), std::fs::read(&p).unwrap());
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(&self.ws.join("catalog"), &mut out);
        out
    }

    fn audit_log(&self) -> PathBuf {
        self.ws.join(".vend/audit.jsonl")
    }
}

/// The account request with `flag`'s value replaced (or the pair appended when absent).
fn account_with(flag: &str, value: &str) -> Vec<String> {
    let mut args = account_request("web-dev");
    match args.iter().position(|a| a == flag) {
        Some(i) => args[i + 1] = value.to_string(),
        None => args.extend([flag.to_string(), value.to_string()]),
    }
    args
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn plan_addresses(w: &Ws) -> Vec<(String, String)> {
    let out = w.vend(&["plan", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["applyable"], true, "{plan}");
    changes(&plan)
}

/// The `request` records of the log (read through `vend audit log --json`).
fn request_records(w: &Ws) -> Vec<serde_json::Value> {
    let out = w.vend(&["audit", "log", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["event"] == "request")
        .collect()
}

#[test]
fn a_valid_account_request_is_written_logged_and_planned() {
    let w = Ws::demo();
    let mut args = account_request("web-dev");
    args.extend(["--reason".to_string(), "new team".to_string()]);
    let out = w.vend(&strs(&args));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(
        stdout,
        "Wrote catalog/accounts/web-dev.yaml (logged as a request event); run `vend plan` to see its plan.\n"
    );
    // Only notes on stderr (state seeding, where the key lives); no diagnostics.
    assert!(!stderr.contains("error") && !stderr.contains("warning["), "{stderr}");
    assert!(stderr.contains("operator key"), "{stderr}");

    let file = std::fs::read_to_string(w.ws.join("catalog/accounts/web-dev.yaml")).unwrap();
    for line in [
        "blueprint: workload@v2",
        "name: web-dev",
        "email: aws+web-dev@example.com",
        "owner: team-web",
        "  environment: dev",
        "  cost-center: 4711",
        "requested_by: tester",
        "reason: \"new team\"",
    ] {
        assert!(file.lines().any(|l| l == line), "missing {line:?} in\n{file}");
    }
    let at = file.lines().find_map(|l| l.strip_prefix("requested_at: ")).unwrap().trim_matches('"');
    assert!(at.parse::<jiff::Timestamp>().is_ok(), "requested_at {at:?}");

    // One signed `request` record naming the file, and the chain verifies.
    let records = request_records(&w);
    assert_eq!(records.len(), 1, "{records:#?}");
    let r = &records[0];
    assert_eq!(r["address"], "account:web-dev");
    assert_eq!(r["actor"]["user"], "tester");
    assert_eq!(r["detail"]["file"], "catalog/accounts/web-dev.yaml");
    assert_eq!(r["detail"]["kind"], "account");
    assert_eq!(r["detail"]["blueprint"], "workload@v2");
    assert_eq!(r["detail"]["requested_by"], "tester");
    assert_eq!(r["detail"]["requested_at"], at);
    assert_eq!(r["detail"]["sha256"], vend::model::sha256_hex(file.as_bytes()));
    assert!(r["sig"].as_str().is_some_and(|s| s.len() == 128), "{r}");
    let verify = w.vend(&["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stderr));
    assert!(text(&verify.stdout).contains("is intact: 1 records"), "{}", text(&verify.stdout));

    // The next plan creates the account (and its baseline pipeline).
    let changes = plan_addresses(&w);
    assert!(changes.contains(&("account:web-dev".into(), "create".into())), "{changes:?}");
    assert!(
        changes.contains(&("provisioned_pipeline:web-dev/baseline".into(), "create".into())),
        "{changes:?}"
    );
}

#[test]
fn a_valid_pipeline_request_is_written_logged_and_planned() {
    let w = Ws::demo();
    let out = w.vend(&[
        "request",
        "pipeline",
        "--blueprint",
        "service-pipeline@v3",
        "--account",
        "checkout-dev",
        "--name",
        "checkout-web",
        "--param",
        "RepositoryName=checkout-web",
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(
        stdout,
        "Wrote catalog/pipelines/checkout-web.yaml (logged as a request event); run `vend plan` to see its plan.\n"
    );
    assert!(!stderr.contains("error"), "{stderr}");
    let file = std::fs::read_to_string(w.ws.join("catalog/pipelines/checkout-web.yaml")).unwrap();
    for line in [
        "blueprint: service-pipeline@v3",
        "account: checkout-dev",
        "name: checkout-web",
        "  RepositoryName: checkout-web",
        "requested_by: tester",
    ] {
        assert!(file.lines().any(|l| l == line), "missing {line:?} in\n{file}");
    }
    assert!(file.lines().any(|l| l.starts_with("requested_at: ")), "{file}");
    let records = request_records(&w);
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["address"], "provisioned_pipeline:checkout-dev/checkout-web");
    assert_eq!(records[0]["detail"]["kind"], "pipeline");
    assert_eq!(records[0]["detail"]["file"], "catalog/pipelines/checkout-web.yaml");
    assert_eq!(w.vend(&["audit", "verify"]).status.code(), Some(0));
    let changes = plan_addresses(&w);
    assert!(
        changes.contains(&("provisioned_pipeline:checkout-dev/checkout-web".into(), "create".into())),
        "{changes:?}"
    );
}

/// Run an invalid request: exit 1, nothing on stdout, the expected `(code, file:line)`
/// diagnostics on stderr, the closing error line, and nothing written (catalog unchanged, no
/// audit log).
fn refused(w: &Ws, args: &[&str], kind: &str, expected: &[(&str, &str)]) {
    let before = w.catalog();
    let out = w.vend(args);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(stdout, "", "{args:?}");
    let found: Vec<(String, String)> = parse_diagnostics(&stderr)
        .into_iter()
        .filter(|(sev, _, _)| sev == "error")
        .map(|(_, code, loc)| {
            let loc = loc.unwrap_or_else(|| panic!("{code} has no location:\n{stderr}"));
            // file:line:col -> file:line
            let file_line = loc.rsplit_once(':').map(|(fl, _)| fl.to_string()).unwrap_or(loc);
            (code, file_line)
        })
        .collect();
    let want: Vec<(String, String)> = expected.iter().map(|(c, l)| (c.to_string(), l.to_string())).collect();
    assert_eq!(found, want, "{args:?}\nstderr:\n{stderr}");
    let errors = expected.len();
    assert!(
        stderr.contains(&format!(
            "error: the {kind} request is invalid ({errors} error(s)); nothing was written"
        )),
        "{stderr}"
    );
    assert_eq!(w.catalog(), before, "{args:?}: the catalog must not change");
    assert!(!w.audit_log().exists(), "{args:?}: no audit record for a refused request");
}

#[test]
fn invalid_account_requests_exit_1_with_located_diagnostics_and_write_nothing() {
    let w = Ws::demo();
    let file = "catalog/accounts/web-dev.yaml";
    refused(
        &w,
        &strs(&account_with("--email", "not-an-email")),
        "account",
        &[("bad-email", &format!("{file}:3")), ("email-pattern", &format!("{file}:3"))],
    );
    refused(
        &w,
        &strs(&account_with("--blueprint", "nope@v1")),
        "account",
        &[("unknown-blueprint", &format!("{file}:1"))],
    );
    refused(
        &w,
        &strs(&account_with("--param", "colour=blue")),
        "account",
        &[("unknown-param", &format!("{file}:6"))],
    );
    // A name that already has a request file.
    let mut existing = account_with("--name", "data-dev");
    let i = existing.iter().position(|a| a == "--email").unwrap();
    existing[i + 1] = "aws+data-dev-2@example.com".into();
    refused(&w, &strs(&existing), "account", &[("request-exists", "catalog/accounts/data-dev.yaml:2")]);
    // An e-mail another account already uses.
    refused(
        &w,
        &strs(&account_with("--email", "aws+data-dev@example.com")),
        "account",
        &[("duplicate-email", &format!("{file}:3"))],
    );
}

#[test]
fn invalid_pipeline_requests_exit_1_with_located_diagnostics_and_write_nothing() {
    let w = Ws::demo();
    let base = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut v = vec![
            "request",
            "pipeline",
            "--blueprint",
            "service-pipeline@v3",
            "--account",
            "checkout-dev",
            "--name",
            "web-api",
        ];
        v.extend_from_slice(extra);
        v
    };
    let file = "catalog/pipelines/web-api.yaml";
    refused(
        &w,
        &base(&["--param", "RepositoryName=web-api", "--param", "Colour=blue"]),
        "pipeline",
        // Parameters are written sorted: Colour (line 5) before RepositoryName.
        &[("unknown-param", &format!("{file}:5"))],
    );
    refused(&w, &base(&[]), "pipeline", &[("missing-param", &format!("{file}:3"))]);
    let mut v = base(&["--param", "RepositoryName=web-api"]);
    v[3] = "no-such-pipeline@v1";
    refused(&w, &v, "pipeline", &[("unknown-blueprint", &format!("{file}:1"))]);
    // A pipeline name that already has a request file.
    let mut v = base(&["--param", "RepositoryName=checkout-api"]);
    v[7] = "checkout-api";
    refused(&w, &v, "pipeline", &[("request-exists", "catalog/pipelines/checkout-api.yaml:3")]);
}

#[test]
fn a_malformed_param_is_a_usage_error() {
    let w = Ws::demo();
    let before = w.catalog();
    let out = w.vend(&strs(&account_with("--param", "environment")));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    assert!(text(&out.stderr).starts_with("error: --param "), "{}", text(&out.stderr));
    assert_eq!(w.catalog(), before);
    assert!(!w.audit_log().exists());
}

#[test]
fn requests_on_deprecated_versions_are_refused_naming_the_newest() {
    let w = Ws::demo();
    // workload@v1 is deprecated in the demo (v3 is newest): existing accounts keep it, a new
    // request may not.
    refused(
        &w,
        &strs(&account_with("--blueprint", "workload@v1")),
        "account",
        &[("blueprint-deprecated-request", "catalog/accounts/web-dev.yaml:1")],
    );
    let out = w.vend(&strs(&account_with("--blueprint", "workload@v1")));
    assert!(text(&out.stderr).contains("request workload@v3, the newest version"), "{}", text(&out.stderr));
    // service-pipeline@v1 is deprecated (v3 is newest): Service Catalog takes no new launches.
    let args = [
        "request",
        "pipeline",
        "--blueprint",
        "service-pipeline@v1",
        "--account",
        "checkout-dev",
        "--name",
        "web-api",
        "--param",
        "RepositoryName=web-api",
    ];
    refused(&w, &args, "pipeline", &[("version-deprecated-launch", "catalog/pipelines/web-api.yaml:1")]);
    let out = w.vend(&args);
    assert!(
        text(&out.stderr).contains("request service-pipeline@v3, the newest version that takes launches"),
        "{}",
        text(&out.stderr)
    );
}
