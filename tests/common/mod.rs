//! Shared test helpers: run the real `vend` binary, and build workspaces from fixture folders.
//!
//! A fixture case is a folder with:
//! - `overlay/`  files copied over the base workspace (catalog/, blueprints/, …);
//! - `remove`    optional, one path per line (relative to the workspace) to delete after copying;
//! - `state.json` optional, replaces the base state;
//! - `expect`    (invalid cases) one expected diagnostic per line: `code file:line`
//!   (or `code file:line:column`, or `code -` for one without a file);
//! - `stage`     (invalid cases) optional, containing `plan` when the rule needs the state.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `vend` binary with colour off and a clean environment for the parts vend reads.
pub fn vend() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vend"));
    c.env("NO_COLOR", "1");
    c
}

pub fn run(args: &[&str], cwd: &Path) -> Output {
    vend().args(args).current_dir(cwd).output().expect("vend runs")
}

/// Run vend in `ws` as user `tester` with the key file in a temp config dir (never the real
/// keyring or home).
pub fn vend_in(ws: &Path, cfg: &Path, args: &[&str]) -> Output {
    vend()
        .args(args)
        .current_dir(ws)
        .env("XDG_CONFIG_HOME", cfg)
        .env("VEND_KEY_STORE", "file")
        .env("USER", "tester")
        .output()
        .unwrap()
}

/// A copy of the repo's demo workspace (catalog/, blueprints/, snapshots/) in a temp dir.
pub fn demo_workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_demo(dir.path());
    dir
}

/// Copy the repo's demo workspace (catalog/, blueprints/, snapshots/) into `to`.
pub fn copy_demo(to: &Path) {
    for top in ["catalog", "blueprints", "snapshots"] {
        copy_dir(&root().join(top), &to.join(top));
    }
}

/// The demo workspace's catalog/ and blueprints/ copied into `ws` (no state), with
/// `catalog/vend.yaml` naming `management` as the management account (for an emulator's ids).
pub fn demo_for_management(ws: &Path, management: &str) {
    for top in ["catalog", "blueprints"] {
        copy_dir(&root().join(top), &ws.join(top));
    }
    let vend_yaml = ws.join("catalog/vend.yaml");
    let y = fs::read_to_string(&vend_yaml).unwrap();
    fs::write(&vend_yaml, y.replace("111111111111", management)).unwrap();
}

/// A temp dir holding a demo workspace in `ws/` and an empty config dir in `config/` (for the
/// operator key file), so the two never share a folder.
pub fn demo_with_config() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    copy_demo(&ws);
    let config = dir.path().join("config");
    fs::create_dir_all(&config).unwrap();
    (dir, ws, config)
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn copy_dir(from: &Path, to: &Path) {
    if !from.exists() {
        return;
    }
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Build a workspace in a temp dir: `base` (with catalog/, blueprints/ and a state file at
/// `base_state`), then the case's overlay, removals and state.
pub fn materialize(base: &Path, base_state: &Path, case: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for top in ["catalog", "blueprints"] {
        copy_dir(&base.join(top), &dir.path().join(top));
    }
    copy_dir(&case.join("overlay"), dir.path());
    if let Ok(list) = fs::read_to_string(case.join("remove")) {
        for line in list.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let p = dir.path().join(line);
            if p.is_dir() {
                fs::remove_dir_all(&p).unwrap();
            } else {
                fs::remove_file(&p).unwrap_or_else(|e| panic!("remove {line}: {e}"));
            }
        }
    }
    let state =
        if case.join("state.json").exists() { case.join("state.json") } else { base_state.to_path_buf() };
    fs::copy(state, dir.path().join("state.json")).unwrap();
    dir
}

/// The case folders under `dir` (sorted; names starting with `_` are bases, not cases).
pub fn cases(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('_'))
        .collect();
    v.sort();
    v
}

pub fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// Parsed `severity[code]: file:line:col: message` lines of `vend validate` (stderr).
pub fn parse_diagnostics(stderr: &str) -> Vec<(String, String, Option<String>)> {
    stderr
        .lines()
        .filter_map(|l| {
            let (head, rest) = l.split_once("]: ")?;
            let (sev, code) = head.split_once('[')?;
            if sev != "error" && sev != "warning" {
                return None;
            }
            // file:line:col: message — the location is the first token ending in ':'.
            let loc = rest.split(": ").next().filter(|s| s.contains(':') && !s.contains(' '));
            Some((sev.to_string(), code.to_string(), loc.map(str::to_string)))
        })
        .collect()
}

/// A plan document's changes as (address, action) pairs, in plan order.
pub fn changes(plan: &serde_json::Value) -> Vec<(String, String)> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["address"].as_str().unwrap().to_string(), c["action"].as_str().unwrap().to_string()))
        .collect()
}

/// The stdout of a vend run that must exit 0 (else fail with what it printed).
pub fn ok(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "stdout:\n{}\nstderr:\n{}", text(&out.stdout), text(&out.stderr));
    text(&out.stdout)
}

/// `vend plan --json` in `ws` (see `vend_in`), which must succeed, parsed.
pub fn plan_in(ws: &Path, config: &Path) -> serde_json::Value {
    serde_json::from_str(&ok(&vend_in(ws, config, &["plan", "--json"]))).unwrap()
}

/// The change of a plan document at `address`.
pub fn change<'a>(plan: &'a serde_json::Value, address: &str) -> Option<&'a serde_json::Value> {
    plan["changes"].as_array().unwrap().iter().find(|c| c["address"] == address)
}

/// The workspace's state file (`.vend/state.json`) as JSON.
pub fn state_file(ws: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(ws.join(".vend/state.json")).unwrap()).unwrap()
}

/// Edit the workspace's state file as JSON (its digest dropped: a state file without one is read
/// as written).
pub fn edit_state(ws: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut s = state_file(ws);
    s.as_object_mut().unwrap().remove("digest");
    edit(&mut s);
    fs::write(ws.join(".vend/state.json"), serde_json::to_string_pretty(&s).unwrap()).unwrap();
}

/// `vend --state state.json ARGS` in the workspace `ws` (whose test keeps its state file there).
pub fn vend_ws(ws: &Path, cfg: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--state", "state.json"];
    all.extend_from_slice(args);
    vend_in(ws, cfg, &all)
}

/// `vend --state state.json plan --json` in `ws`, parsed.
pub fn plan_ws(ws: &Path, cfg: &Path) -> serde_json::Value {
    let out = vend_ws(ws, cfg, &["plan", "--json"]);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", text(&out.stdout), text(&out.stderr)))
}

/// The planner fixture with one SCP document change (`06-scp-document-update`), requiring one
/// approval (`required_approvals: 1`): the workspace of the approval tests.
pub fn approvals_workspace() -> tempfile::TempDir {
    let base = root().join("tests/fixtures/plan/_base");
    let ws = materialize(
        &base,
        &base.join("state.json"),
        &root().join("tests/fixtures/plan/06-scp-document-update"),
    );
    let settings = ws.path().join("catalog/vend.yaml");
    let text =
        fs::read_to_string(&settings).unwrap().replace("required_approvals: 0", "required_approvals: 1");
    fs::write(settings, text).unwrap();
    ws
}

/// `vend request account` arguments for a demo workload@v2 dev account `name` (owner team-web,
/// cost-center 4711): the request the request, operator and shared-backend tests send.
pub fn account_request(name: &str) -> Vec<String> {
    let email = format!("aws+{name}@example.com");
    [
        "request",
        "account",
        "--blueprint",
        "workload@v2",
        "--name",
        name,
        "--email",
        &email,
        "--owner",
        "team-web",
        "--param",
        "environment=dev",
        "--tag",
        "cost-center=4711",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}
