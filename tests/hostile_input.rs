//! Hostile input, the fast part of the fuzzing (issue 7): the three readers the fuzz targets in
//! `fuzz/` exercise — the workspace loader, the snapshot reader and the saved-plan reader —
//! over the regression cases in `tests/fixtures/hostile/` and over bounded, seeded random
//! mutations of the demo files. Nothing may panic; every refusal names the file (and line and
//! column, or the JSON path). Also: a snapshot or plan edited by hand is refused, through the
//! library and through the binary (`show`, `apply`, `approve`, `plan --state`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use vend::adapter::fs as vfs;
use vend::model::State;
use vend::plan::Plan;
use vend::workspace::{self, Files};
use vend::{app, render};

/// A small deterministic generator (xorshift64*): the same cases on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

/// Fragments that upset YAML and JSON parsers, and values that break rules.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    ": ",
    "- ",
    "\"",
    "'",
    "\n",
    "\t",
    "#",
    "&a ",
    "*a",
    "!!binary ",
    "!Ref ",
    "<<: *a",
    "---\n",
    "...\n",
    "%YAML 1.2\n",
    "\u{0}",
    "\u{feff}",
    "\u{202e}",
    "é",
    "null",
    "~",
    "true",
    "-1",
    "99999999999999999999999",
    "1e999",
    "0x10",
    "{a: [b, {c: d}]}",
    "ou-zzzz-zzzzzzzz",
    "p-00000000",
    "r-0000",
    "111111111111",
    "@",
    "{name}",
    "{environment}",
    "v0",
    "v999",
    "@v1",
    "../",
    "/",
    "\\u0000",
    "\\ud800",
];

fn mutate(rng: &mut Rng, bytes: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(b.len() + 1);
        match rng.below(6) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] = rng.next() as u8;
            }
            1 if !b.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(b.len());
                b.drain(at.min(end)..end);
            }
            2 => {
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                b.splice(at..at, t.iter().copied());
            }
            3 if !b.is_empty() => {
                let from = rng.below(b.len());
                let end = (from + 1 + rng.below(64)).min(b.len());
                let piece = b[from..end].to_vec();
                b.splice(at..at, piece);
            }
            4 => b.truncate(at),
            _ => {
                // A deeply nested prefix: stack exhaustion must not be possible.
                let depth = 1 + rng.below(300);
                let open = if rng.below(2) == 0 { "[" } else { "{a: " };
                b.splice(at..at, open.repeat(depth).into_bytes());
            }
        }
    }
    b
}

fn demo_files() -> Files {
    vfs::read_workspace(&root()).unwrap()
}

fn demo_state_bytes() -> Vec<u8> {
    fs::read(root().join("snapshots/demo.state.json")).unwrap()
}

fn demo_state() -> State {
    vfs::read_state(&root().join("snapshots/demo.state.json")).unwrap()
}

/// What `vend validate` and `vend plan` do after loading: diagnostics text, plan, both views.
fn plan_and_render(loaded: &workspace::Loaded, state: &State) -> Plan {
    let _ = render::to_ansi(&render::diagnostics_text(&loaded.diagnostics), true);
    let p = app::make_plan(loaded, state, "2026-11-22T10:00:00Z".into());
    let _ = render::to_ansi(&render::plan_text(&p), true);
    let _ = render::plan_json(&p);
    p
}

/// Every error diagnostic of a loaded workspace names a file of the workspace, with a line and
/// column (workspace files are YAML or JSON, both have positions).
fn assert_diagnostics_are_placed(what: &str, files: &Files, loaded: &workspace::Loaded) {
    for d in loaded.diagnostics.iter().filter(|d| d.is_error()) {
        let file = d.file.as_deref().unwrap_or_else(|| panic!("{what}: diagnostic without a file: {d:?}"));
        assert!(
            files.entries.contains_key(file)
                || file.starts_with("catalog/")
                || file.starts_with("blueprints/"),
            "{what}: diagnostic names {file}, not a workspace file: {d:?}"
        );
        assert!(
            d.line.is_some_and(|l| l >= 1) && d.column.is_some_and(|c| c >= 1),
            "{what}: no line/column: {d:?}"
        );
    }
}

// ---------------------------------------------------------------- regression cases

fn hostile(kind: &str) -> PathBuf {
    root().join("tests/fixtures/hostile").join(kind)
}

/// `<case>.json` with `<case>.expect` (a text the error must contain), sorted.
fn file_cases(kind: &str) -> Vec<(PathBuf, String)> {
    let mut v: Vec<(PathBuf, String)> = fs::read_dir(hostile(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let expect = fs::read_to_string(p.with_extension("expect"))
                .unwrap_or_else(|_| panic!("{} has no .expect file", p.display()));
            (p, expect.trim().to_string())
        })
        .collect();
    v.sort();
    v
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap().display().to_string()
}

#[test]
fn hostile_snapshots_are_refused_naming_file_and_place() {
    let cases = file_cases("snapshot");
    assert!(cases.len() >= 8, "{} snapshot cases", cases.len());
    for (path, expect) in cases {
        let name = rel(&path);
        match vfs::parse_state(&fs::read(&path).unwrap(), &name) {
            Ok(_) => panic!("{name}: accepted"),
            Err(e) => {
                let msg = e.to_string();
                assert!(msg.starts_with(&format!("{name}:")), "{name}: error does not name the file: {msg}");
                assert!(msg.contains(&expect), "{name}: expected {expect:?} in:\n{msg}");
            }
        }
    }
}

#[test]
fn hostile_plans_are_refused_naming_the_file() {
    let cases = file_cases("plan");
    assert!(!cases.is_empty());
    for (path, expect) in cases {
        let name = rel(&path);
        let msg = vfs::parse_plan(&fs::read(&path).unwrap(), &name).map(|_| ()).unwrap_err().to_string();
        assert!(msg.starts_with(&format!("{name}:")), "{name}: error does not name the file: {msg}");
        assert!(msg.contains(&expect), "{name}: expected {expect:?} in:\n{msg}");
    }
}

#[test]
fn hostile_workspaces_load_without_panicking() {
    let cases = cases(&hostile("workspace"));
    assert!(!cases.is_empty());
    let state = demo_state();
    for case in &cases {
        let ws = materialize(&root(), &root().join("snapshots/demo.state.json"), case);
        let files = vfs::read_workspace(ws.path()).unwrap();
        let loaded = workspace::load(&files);
        let what = case.display().to_string();
        assert_diagnostics_are_placed(&what, &files, &loaded);
        let expect = fs::read_to_string(case.join("expect")).unwrap_or_default();
        for want in expect.lines().filter(|l| !l.trim().is_empty()) {
            let (code, file) = want.split_once(' ').unwrap_or((want, ""));
            assert!(
                loaded
                    .diagnostics
                    .iter()
                    .any(|d| d.code == code && d.file.as_deref().unwrap_or("-") == file.trim()),
                "{what}: expected {want}, got {:#?}",
                loaded.diagnostics
            );
        }
        plan_and_render(&loaded, &state);
    }
}

#[test]
fn every_snapshot_in_the_repository_passes_the_structural_check() {
    let mut found = vec![root().join("snapshots/demo.state.json")];
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() && !p.ends_with("hostile") {
                walk(&p, out);
            } else if p.file_name().is_some_and(|n| n.to_string_lossy().ends_with("state.json")) {
                out.push(p);
            }
        }
    }
    walk(&root().join("tests/fixtures"), &mut found);
    assert!(found.len() > 10);
    for p in found {
        if let Err(e) = vfs::read_state(&p) {
            panic!("{e}");
        }
    }
}

// ---------------------------------------------------------------- bounded random mutations

#[test]
fn mutated_workspace_files_never_panic_and_errors_are_placed() {
    let base = demo_files();
    let state = demo_state();
    let paths: Vec<String> = base.entries.keys().cloned().collect();
    let mut rng = Rng(0x5eed_0001);
    for i in 0..48 {
        let path = &paths[rng.below(paths.len())];
        let mut files = base.clone();
        let mutated = mutate(&mut rng, &files.entries[path]);
        files.entries.insert(path.clone(), mutated);
        let loaded = workspace::load(&files);
        let what = format!("mutation {i} of {path}");
        assert_diagnostics_are_placed(&what, &files, &loaded);
        plan_and_render(&loaded, &state);
    }
}

#[test]
fn mutated_snapshot_bytes_never_panic_and_errors_name_the_place() {
    let bytes = demo_state_bytes();
    let loaded = workspace::load(&demo_files());
    let mut rng = Rng(0x5eed_0002);
    let name = "snapshots/demo.state.json";
    for i in 0..200 {
        let mutated = mutate(&mut rng, &bytes);
        match vfs::parse_state(&mutated, name) {
            Ok(state) => {
                let _ = state.fingerprint();
                plan_and_render(&loaded, &state);
            }
            Err(e) => {
                let msg = e.to_string();
                assert!(msg.starts_with(&format!("{name}:")), "mutation {i}: {msg}");
                if let vfs::FsError::Parse { line, column, .. } = e {
                    assert!(line >= 1 && column >= 1, "mutation {i}: {msg}");
                }
            }
        }
    }
}

/// JSON pointers of every leaf (string, number, bool, null) of `v`.
fn leaves(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => o
            .iter()
            .for_each(|(k, x)| leaves(x, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out)),
        Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| leaves(x, format!("{at}/{i}"), out)),
        _ => out.push(at),
    }
}

/// A different value of the same JSON type (so the file still fits the schema).
fn changed(v: &Value) -> Value {
    match v {
        Value::String(s) if s.is_empty() => Value::from("x"),
        Value::String(s) => {
            let mut s = s.clone();
            s.pop();
            Value::from(s)
        }
        Value::Number(n) => Value::from(n.as_i64().map_or(1, |n| n + 1)),
        Value::Bool(b) => Value::from(!b),
        _ => Value::from("x"),
    }
}

#[test]
fn edited_snapshot_values_are_refused_with_the_json_path_or_accepted_consistently() {
    let demo: Value = serde_json::from_slice(&demo_state_bytes()).unwrap();
    let mut paths = vec![];
    leaves(&demo, String::new(), &mut paths);
    let loaded = workspace::load(&demo_files());
    let name = "hand.state.json";
    let mut rng = Rng(0x5eed_0003);
    let mut refused = 0;
    for i in 0..160 {
        let mut v = demo.clone();
        let at = &paths[rng.below(paths.len())];
        let other = v.pointer(&paths[rng.below(paths.len())]).cloned().unwrap();
        let target = v.pointer_mut(at).unwrap();
        *target = match rng.below(3) {
            0 => changed(target),
            1 => other,
            _ => Value::from(TOKENS[rng.below(TOKENS.len())]),
        };
        match vfs::parse_state(&serde_json::to_vec_pretty(&v).unwrap(), name) {
            Ok(state) => {
                plan_and_render(&loaded, &state);
            }
            Err(e) => {
                refused += 1;
                let msg = e.to_string();
                assert!(msg.starts_with(&format!("{name}:")), "edit {i} at {at}: {msg}");
                match e {
                    vfs::FsError::Parse { line, .. } => assert!(line >= 1, "{msg}"),
                    vfs::FsError::InvalidSnapshot { problems, .. } => {
                        // The JSON path of the edited value (or of what it breaks) is named.
                        let dotted = at.trim_start_matches('/').split('/').fold(String::new(), |acc, seg| {
                            if seg.bytes().all(|b| b.is_ascii_digit()) {
                                format!("{acc}[{seg}]")
                            } else if acc.is_empty() {
                                seg.to_string()
                            } else {
                                format!("{acc}.{seg}")
                            }
                        });
                        assert!(!problems.is_empty(), "{msg}");
                        assert!(
                            problems.iter().all(|p| !p.path.is_empty()),
                            "edit {i} at {dotted}: a problem without a path: {msg}"
                        );
                    }
                    vfs::FsError::Format { .. } => {}
                    other => panic!("edit {i} at {at}: unexpected error kind: {other}"),
                }
            }
        }
    }
    assert!(refused > 40, "only {refused} of 160 edits were refused");
}

// ---------------------------------------------------------------- hand-edited snapshots

#[test]
fn a_saved_snapshot_carries_a_digest_and_an_edit_is_refused() {
    let state = demo_state();
    let bytes = vfs::state_file_bytes(&state);
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains("\"digest\": \"sha256:"), "{text}");
    let back = vfs::parse_state(&bytes, "s.json").unwrap();
    assert_eq!(back.digest, None, "the reader clears the digest it verified");
    let mut normal = state.clone();
    normal.normalize();
    assert_eq!(back, normal);
    assert_eq!(back.fingerprint(), state.fingerprint(), "the digest is not part of basis.state");
    // A plausible hand edit: an account's e-mail.
    let edited = text.replacen("aws+", "aws+x", 1);
    let msg = vfs::parse_state(edited.as_bytes(), "s.json").unwrap_err().to_string();
    assert!(
        msg.starts_with("s.json: the snapshot was edited after vend saved it: its digest sha256:"),
        "{msg}"
    );
    assert!(
        msg.contains("does not match its content (sha256:") && msg.contains("vend snapshot save"),
        "{msg}"
    );
    // Removing the digest turns it into a hand-written snapshot: accepted after the checks.
    let v: Value = serde_json::from_str(&edited).unwrap();
    let mut v = v;
    v.as_object_mut().unwrap().remove("digest");
    assert!(vfs::parse_state(&serde_json::to_vec(&v).unwrap(), "s.json").is_ok());
    // A digest that is not one.
    let bad = text.replacen("\"digest\": \"sha256:", "\"digest\": \"md5:", 1);
    let msg = vfs::parse_state(bad.as_bytes(), "s.json").unwrap_err().to_string();
    assert!(msg.contains("is not sha256:<64 hex digits>"), "{msg}");
}

#[test]
fn an_inconsistent_hand_written_snapshot_is_refused_with_its_json_path() {
    let mut v: Value = serde_json::from_slice(&demo_state_bytes()).unwrap();
    v["accounts"][3]["parent_id"] = Value::from("ou-xyz");
    v["accounts"][4]["email"] = v["accounts"][5]["email"].clone();
    v["organizational_units"][0]["parent_id"] = v["organizational_units"][0]["id"].clone();
    v["provisioned_products"][0]["status"] = Value::from("RUNNING");
    let msg = vfs::parse_state(&serde_json::to_vec_pretty(&v).unwrap(), "hand.json").unwrap_err().to_string();
    for want in [
        "hand.json: accounts[3].parent_id: \"ou-xyz\" is not an OU or root of this organization",
        "hand.json: accounts[5].email: duplicate account e-mail",
        "(also at accounts[4].email)",
        "hand.json: organizational_units[0].parent_id: OU",
        "is its own ancestor (a cycle)",
        "hand.json: provisioned_products[0].status: \"RUNNING\" is not one of AVAILABLE, UNDER_CHANGE, TAINTED, ERROR, PLAN_IN_PROGRESS",
        "hand.json: not a snapshot AWS could hold",
    ] {
        assert!(msg.contains(want), "expected {want:?} in:\n{msg}");
    }
}

#[test]
fn the_cli_refuses_an_edited_state_file_and_an_inconsistent_snapshot() {
    let ws = demo_workspace();
    // `snapshot save` writes a digest; editing the saved file is refused by `plan --state`.
    let out = run(&["snapshot", "save", "--out", "snap.json"], ws.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let snap = ws.path().join("snap.json");
    let saved = fs::read_to_string(&snap).unwrap();
    assert!(saved.contains("\"digest\": \"sha256:"));
    fs::write(&snap, saved.replacen("\"ACTIVE\"", "\"SUSPENDED\"", 1)).unwrap();
    let out = run(&["plan", "--state", "snap.json"], ws.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: snap.json: the snapshot was edited after vend saved it: its digest sha256:"),
        "{err}"
    );
    // The local state file is written with a digest too (seeded from the demo snapshot).
    assert_eq!(run(&["plan"], ws.path()).status.code(), Some(0));
    let state = ws.path().join(".vend/state.json");
    let text_state = fs::read_to_string(&state).unwrap();
    assert!(text_state.contains("\"digest\": \"sha256:"));
    fs::write(&state, text_state.replacen("\"ACTIVE\"", "\"SUSPENDED\"", 1)).unwrap();
    let out = run(&["plan"], ws.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(".vend/state.json: the snapshot was edited after vend saved it"),
        "{}",
        text(&out.stderr)
    );
    // A hand-written snapshot (no digest) with a dangling reference names the JSON path.
    let mut v: Value = serde_json::from_slice(&demo_state_bytes()).unwrap();
    v["policies"][1]["target_ids"][0] = Value::from("ou-gone-00000000");
    fs::write(ws.path().join("hand.json"), serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    let out = run(&["plan", "--state", "hand.json"], ws.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    assert!(
        err.contains("error: hand.json: policies[1].target_ids[0]: \"ou-gone-00000000\" is not the root, an OU or an account of this organization"),
        "{err}"
    );
}

// ---------------------------------------------------------------- hand-edited plans

/// The demo plan as `vend plan --out` saves it (without an author).
fn saved_demo_plan() -> (Plan, Vec<u8>) {
    let loaded = workspace::load(&demo_files());
    let plan = app::make_plan(&loaded, &demo_state(), "2026-11-22T10:00:00Z".into());
    let bytes = vfs::plan_file_bytes(&plan);
    (plan, bytes)
}

#[test]
fn a_saved_plan_reads_back_and_every_edited_value_is_refused() {
    let (plan, bytes) = saved_demo_plan();
    let name = "p.json";
    let back = vfs::parse_plan(&bytes, name).unwrap();
    assert_eq!(Plan { digest: None, ..back }, plan);
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    let mut paths = vec![];
    leaves(&doc, String::new(), &mut paths);
    assert!(paths.len() > 100, "{} leaves", paths.len());
    // Every field outside the changes, and every third value inside them (time budget).
    let sample = paths.iter().enumerate().filter(|(i, p)| !p.starts_with("/changes/") || i % 3 == 0);
    for (_, at) in sample {
        let mut v = doc.clone();
        let target = v.pointer_mut(at).unwrap();
        *target = changed(target);
        let msg = match vfs::parse_plan(&serde_json::to_vec_pretty(&v).unwrap(), name) {
            Ok(_) => panic!("an edit at {at} was accepted"),
            Err(e) => e.to_string(),
        };
        assert!(msg.starts_with("p.json:"), "{at}: {msg}");
        assert!(
            msg.contains("edited after it was saved")
                || msg.contains("format_version")
                || msg.contains("unknown variant")
                || msg.contains("invalid"),
            "{at}: {msg}"
        );
    }
    // Formatting is not content: the compact form of the same document reads.
    assert!(vfs::parse_plan(&serde_json::to_vec(&doc).unwrap(), name).is_ok());
}

/// The first change whose `after` has a `name` (the demo's first change, `service_access:account`,
/// has none).
fn first_named(plan: &Value) -> usize {
    plan["changes"].as_array().unwrap().iter().position(|c| c["after"]["name"].is_string()).unwrap()
}

#[test]
fn the_fields_that_steer_apply_are_covered() {
    let (plan, bytes) = saved_demo_plan();
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    let refuse = |edit: &dyn Fn(&mut Value), want: &str| {
        let mut v = doc.clone();
        edit(&mut v);
        let msg = vfs::parse_plan(&serde_json::to_vec_pretty(&v).unwrap(), "p.json").unwrap_err().to_string();
        assert!(msg.contains(want), "expected {want:?} in {msg}");
        assert!(msg.ends_with("make a new plan with `vend plan --out FILE`"), "{msg}");
    };
    let id = plan.plan_id.clone();
    refuse(
        &|v| {
            let i = first_named(v);
            v["changes"][i]["after"]["name"] = Value::from("evil")
        },
        &format!("its plan_id {id} does not match its content (sha256:"),
    );
    refuse(&|v| v["applyable"] = Value::from(false), "its digest sha256:");
    refuse(&|v| v["summary"]["create"] = Value::from(0), "its digest");
    refuse(&|v| v["diagnostics"] = Value::Array(vec![]), "its digest");
    refuse(&|v| v["excluded"] = serde_json::json!(["ou:Workloads/staging"]), "its digest");
    refuse(&|v| v["created_at"] = Value::from("2020-01-01T00:00:00Z"), "its digest");
    refuse(
        &|v| {
            v.as_object_mut().unwrap().remove("digest");
        },
        "it has no digest",
    );
    refuse(&|v| v["format_version"] = Value::from("2"), "plan format_version \"2\" is not supported");
    // With the digest recomputed (a checksum anyone can redo), `applyable` must still follow
    // from the diagnostics, and `summary` from the changes.
    let mut unerred = plan.clone();
    unerred.applyable = false;
    let sealed_wrong = vfs::plan_file_bytes(&unerred);
    let msg = vfs::parse_plan(&sealed_wrong, "p.json").unwrap_err().to_string();
    assert!(msg.contains("applyable is false but its diagnostics say true"), "{msg}");
    let mut miscounted = plan.clone();
    miscounted.summary.create += 1;
    let msg = vfs::parse_plan(&vfs::plan_file_bytes(&miscounted), "p.json").unwrap_err().to_string();
    assert!(msg.contains("its summary does not count its changes"), "{msg}");
    // Unknown fields are refused by name.
    let mut v = doc.clone();
    v["auto_approve"] = Value::from(true);
    let msg = vfs::parse_plan(&serde_json::to_vec(&v).unwrap(), "p.json").unwrap_err().to_string();
    assert!(msg.contains("unknown field `auto_approve`"), "{msg}");
}

#[test]
fn mutated_plan_bytes_are_refused_or_read_unchanged() {
    let (plan, bytes) = saved_demo_plan();
    let mut rng = Rng(0x5eed_0004);
    for i in 0..150 {
        let mutated = mutate(&mut rng, &bytes);
        match vfs::parse_plan(&mutated, "p.json") {
            Ok(back) => assert_eq!(
                Plan { digest: None, ..back },
                plan,
                "mutation {i} changed the plan and was accepted"
            ),
            Err(e) => {
                let msg = e.to_string();
                assert!(msg.starts_with("p.json:"), "mutation {i}: {msg}");
            }
        }
        // Structurally valid mutations, re-sealed: what show and the apply guards do with a
        // consistent forged plan must not panic either.
        if let Ok(p) = vfs::decode_plan(&mutated, "p.json") {
            let p = p.reseal();
            let _ = render::plan_text(&p);
            let _ = render::plan_json(&p);
            let _ = vend::engine::excluded_closure(&p);
            let _ = vend::plan::approval::enough(&p, 1, &Default::default());
            assert!(
                vfs::parse_plan(&vfs::plan_file_bytes(&p), "p.json").is_ok(),
                "mutation {i}: re-sealed plan refused"
            );
        }
    }
}

#[test]
fn show_apply_and_approve_refuse_an_edited_plan() {
    let ws = demo_workspace();
    let cfg = tempfile::tempdir().unwrap();
    // Approvals need pinned operators (issue 17): pin the reviewer with what `operator key` prints.
    let out = vend_in(ws.path(), cfg.path(), &["operator", "key"]);
    let line = text(&out.stdout).lines().nth(1).unwrap().to_string();
    let settings = ws.path().join("catalog/vend.yaml");
    let yaml = fs::read_to_string(&settings).unwrap();
    fs::write(&settings, format!("{yaml}operators:\n{line}\n")).unwrap();
    let out = vend_in(ws.path(), cfg.path(), &["plan", "--out", "p.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let saved: Value = serde_json::from_slice(&fs::read(ws.path().join("p.json")).unwrap()).unwrap();
    assert!(saved["digest"].as_str().is_some_and(|d| d.starts_with("sha256:")), "{saved}");
    // The reviewer's approval is appended to the saved plan; the plan still reads.
    let out = vend_in(ws.path(), cfg.path(), &["approve", "p.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = vend_in(ws.path(), cfg.path(), &["show", "p.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let approved: Value = serde_json::from_slice(&fs::read(ws.path().join("p.json")).unwrap()).unwrap();
    assert_eq!(approved["approvals"].as_array().map(Vec::len), Some(1));
    assert_eq!(approved["digest"], saved["digest"], "approvals are outside the digest");

    // Someone turns a change's `after` into something else, and flips `applyable` elsewhere.
    let mut after = approved.clone();
    let i = first_named(&after);
    after["changes"][i]["after"]["name"] = Value::from("evil");
    fs::write(ws.path().join("after.json"), serde_json::to_string_pretty(&after).unwrap()).unwrap();
    let mut flag = approved.clone();
    flag["applyable"] = Value::from(false);
    fs::write(ws.path().join("flag.json"), serde_json::to_string_pretty(&flag).unwrap()).unwrap();
    let id = approved["plan_id"].as_str().unwrap();
    for (file, want) in [
        (
            "after.json",
            format!(
                "error: after.json: the plan was edited after it was saved: its plan_id {id} does not match its content (sha256:"
            ),
        ),
        (
            "flag.json",
            "error: flag.json: the plan was edited after it was saved: its digest sha256:".to_string(),
        ),
    ] {
        for args in [
            vec!["show", file],
            vec!["show", file, "--json"],
            vec!["apply", file, "--auto-approve"],
            vec!["approve", file],
        ] {
            let out = vend_in(ws.path(), cfg.path(), &args);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
            assert!(out.stdout.is_empty(), "{args:?}: {}", text(&out.stdout));
            assert!(err.contains(&want), "{args:?}: expected {want:?} in {err}");
            assert!(
                err.trim_end().ends_with("make a new plan with `vend plan --out FILE`"),
                "{args:?}: {err}"
            );
        }
    }
    // Nothing was applied: the log holds only the approval.
    let log = fs::read_to_string(ws.path().join(".vend/audit.jsonl")).unwrap();
    assert!(!log.contains("apply-start"), "{log}");
}
