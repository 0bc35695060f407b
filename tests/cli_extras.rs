//! `vend completions`, `vend man` and `vend schema` through the real binary (issue 19 part 7):
//! the bash script loads in bash, the other shells' scripts name the commands, the man page
//! renders with `man -l` (groff when man is missing), and every schema is a valid draft 2020-12
//! JSON Schema that accepts every demo file of its kind — and the files `vend request` and
//! `vend import` write — and rejects a copy with an unknown field or a value of the wrong type.
//! The catalog/ files end with their schema's modeline; blueprint files (hashed as published)
//! have none.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const SCHEMA_NAMES: [&str; 9] = [
    "vend",
    "organization",
    "portfolios",
    "guardrails",
    "permission-set",
    "account-request",
    "pipeline-request",
    "account-blueprint",
    "pipeline-blueprint",
];

fn stdout_of(args: &[&str]) -> String {
    let out = vend().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "vend {args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn bash_completion_loads() {
    let out = Command::new("bash")
        .args(["-c", r#"source <("$VEND" completions bash) && complete -p vend"#])
        .env("VEND", env!("CARGO_BIN_EXE_vend"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("-F _vend vend"), "{}", text(&out.stdout));
    assert!(text(&out.stderr).is_empty(), "{}", text(&out.stderr));
}

#[test]
fn other_shells_name_the_commands() {
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let script = stdout_of(&["completions", shell]);
        for word in ["plan", "apply", "audit", "schema", "completions", "workspace"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    // The schema names complete as values of `vend schema`.
    let bash = stdout_of(&["completions", "bash"]);
    assert!(bash.contains("account-request"), "schema names not completed");
    let bad = vend().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(1));
}

/// The rendered text of a man page file: `man -l`, else groff; backspace overstrikes removed.
fn render_man(file: &Path) -> String {
    let man = Command::new("man")
        .arg("-l")
        .arg(file)
        .env("MANWIDTH", "80")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .stdin(Stdio::null())
        .output();
    let out = match man {
        Ok(out) => out,
        Err(_) => Command::new("groff").args(["-man", "-Tutf8"]).arg(file).output().unwrap(),
    };
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let raw = text(&out.stdout);
    let mut clean = String::new();
    for c in raw.chars() {
        if c == '\u{8}' {
            clean.pop();
        } else {
            clean.push(c);
        }
    }
    clean
}

#[test]
fn man_page_renders() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("vend.1");
    std::fs::write(&page, stdout_of(&["man"])).unwrap();
    let shown = render_man(&page);
    for word in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SUBCOMMANDS", "vend-plan", "--workspace"] {
        assert!(shown.contains(word), "man page lacks {word}:\n{shown}");
    }

    // `vend man | man -l -`: the page from standard input (where man is installed).
    let piped = Command::new("bash")
        .args(["-c", r#"set -o pipefail; "$VEND" man | man -l -"#])
        .env("VEND", env!("CARGO_BIN_EXE_vend"))
        .env("MANWIDTH", "80")
        .env("MANPAGER", "cat")
        .output()
        .unwrap();
    if Command::new("man").arg("--version").output().is_ok() {
        assert_eq!(piped.status.code(), Some(0), "{}", text(&piped.stderr));
        assert!(text(&piped.stdout).contains("SYNOPSIS"), "{}", text(&piped.stdout));
    }

    // --all: one page per command, each rendering with its own synopsis.
    let all = dir.path().join("all");
    let out = vend().args(["man", "--all"]).arg(&all).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for name in ["vend.1", "vend-plan.1", "vend-audit-verify.1", "vend-schema.1", "vend-request-account.1"] {
        let shown = render_man(&all.join(name));
        assert!(shown.contains("SYNOPSIS"), "{name}:\n{shown}");
    }
    let plan = render_man(&all.join("vend-plan.1"));
    assert!(plan.contains("--detailed-exitcode"), "{plan}");
}

/// Every schema as `vend schema NAME` prints it, checked against the draft 2020-12 meta-schema.
fn schemas() -> BTreeMap<&'static str, Value> {
    SCHEMA_NAMES
        .iter()
        .map(|name| {
            let schema: Value = serde_json::from_str(&stdout_of(&["schema", name])).unwrap();
            assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema", "{name}");
            if let Err(e) = jsonschema::meta::validate(&schema) {
                panic!("{name}: not a valid JSON Schema: {e}");
            }
            (*name, schema)
        })
        .collect()
}

/// Which schema a workspace file follows, by where it lives (independent of vend's own table).
fn kind_of(rel: &str) -> Option<&'static str> {
    let parts: Vec<&str> = rel.split('/').collect();
    if !rel.ends_with(".yaml") {
        return None;
    }
    Some(match parts.as_slice() {
        ["catalog", "vend.yaml"] => "vend",
        ["catalog", "organization.yaml"] => "organization",
        ["catalog", "portfolios.yaml"] => "portfolios",
        ["catalog", "guardrails.yaml"] => "guardrails",
        ["catalog", "accounts", _] => "account-request",
        ["catalog", "permission_sets", _] => "permission-set",
        ["catalog", "pipelines", ..] => "pipeline-request",
        ["blueprints", "accounts", _, _] => "account-blueprint",
        ["blueprints", "pipelines", _, _, "blueprint.yaml"] => "pipeline-blueprint",
        _ => return None,
    })
}

/// Every YAML file of the workspace at `ws` that has a schema: (relative path, kind, text).
fn workspace_files(ws: &Path) -> Vec<(String, &'static str, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() { walk(&p, out) } else { out.push(p) }
        }
    }
    let mut paths = vec![];
    for top in ["catalog", "blueprints"] {
        walk(&ws.join(top), &mut paths);
    }
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| {
            let rel = p.strip_prefix(ws).unwrap().to_string_lossy().replace('\\', "/");
            let kind = kind_of(&rel)?;
            Some((rel, kind, std::fs::read_to_string(&p).unwrap()))
        })
        .collect()
}

/// The YAML document as JSON, as an editor's YAML language server sees it.
fn as_json(rel: &str, yaml: &str) -> Value {
    serde_saphyr::from_str::<Value>(yaml).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn errors(schema: &Value, doc: &Value) -> Vec<String> {
    let v = jsonschema::validator_for(schema).unwrap();
    v.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

/// Each file is accepted by its schema; a copy with an unknown top-level key, and copies with
/// each of its top-level values replaced by one of no allowed type, are rejected.
fn check_files(schemas: &BTreeMap<&str, Value>, files: &[(String, &'static str, String)]) {
    for (rel, kind, yaml) in files {
        let schema = &schemas[kind];
        let doc = as_json(rel, yaml);
        let errs = errors(schema, &doc);
        assert!(errs.is_empty(), "{rel} rejected by the {kind} schema: {errs:#?}");

        let mut unknown = doc.clone();
        unknown.as_object_mut().unwrap().insert("no_such_field".into(), json!("x"));
        let errs = errors(schema, &unknown);
        assert!(errs.iter().any(|e| e.contains("no_such_field")), "{rel}: unknown field accepted: {errs:?}");

        for key in doc.as_object().unwrap().keys() {
            let mut wrong = doc.clone();
            wrong[key] = json!([[{ "deep": 1 }]]);
            assert!(!errors(schema, &wrong).is_empty(), "{rel}: a nested list accepted as {key}");
        }
    }
}

#[test]
fn schemas_accept_the_demo_and_reject_edited_copies() {
    let schemas = schemas();
    let files = workspace_files(&root());
    for name in SCHEMA_NAMES {
        assert!(files.iter().any(|(_, k, _)| *k == name), "no demo file for the {name} schema");
    }
    check_files(&schemas, &files);

    // Unknown keys below the top level are refused too (every object is closed).
    let org = files.iter().find(|(r, _, _)| r == "catalog/organization.yaml").unwrap();
    let mut doc = as_json(&org.0, &org.2);
    doc["units"]["Workloads"]["units"]["dev"]["owner"] = json!("x");
    assert!(!errors(&schemas["organization"], &doc).is_empty(), "nested unknown key accepted");
    let bp = files.iter().find(|(_, k, _)| *k == "account-blueprint").unwrap();
    let mut doc = as_json(&bp.0, &bp.2);
    doc["tags"] = json!({ "required": ["a"], "optional": ["b"] });
    assert!(!errors(&schemas["account-blueprint"], &doc).is_empty(), "unknown tags key accepted");

    // `operators:` as issue 17 writes it: a key, or current keys and retired ones with `until`.
    let key = "a".repeat(64);
    let mut settings = json!({ "region": "us-east-1" });
    settings["operators"] = json!({
        "alice": key,
        "bob": { "keys": [key], "retired": [{ "key": key, "until": "2026-01-01T00:00:00Z" }] }
    });
    assert!(errors(&schemas["vend"], &settings).is_empty(), "{:?}", errors(&schemas["vend"], &settings));
    settings["operators"]["bob"]["retired"][0]["since"] = json!("x");
    assert!(!errors(&schemas["vend"], &settings).is_empty(), "unknown key in a retired entry accepted");

    // A wrong type inside a value: a list of numbers where SCP names are strings.
    let mut doc = as_json(&org.0, &org.2);
    doc["root_policies"] = json!([1, 2]);
    assert!(!errors(&schemas["organization"], &doc).is_empty(), "numbers accepted as SCP names");
}

#[test]
fn catalog_files_name_their_schema_and_blueprints_do_not() {
    for (rel, kind, yaml) in workspace_files(&root()) {
        let last = yaml.lines().last().unwrap_or_default();
        if rel.starts_with("catalog/") {
            let up = "../".repeat(rel.matches('/').count());
            assert_eq!(
                last,
                format!("# yaml-language-server: $schema={up}.vend/schemas/{kind}.schema.json"),
                "{rel}"
            );
        } else {
            assert!(!yaml.contains("yaml-language-server"), "{rel} (hashed as published) has a modeline");
        }
    }
}

#[test]
fn schema_out_writes_what_schema_prints_and_the_modelines_resolve() {
    let ws = demo_workspace();
    let out = vend().current_dir(ws.path()).args(["schema", "--out", ".vend/schemas"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for name in SCHEMA_NAMES {
        let written =
            std::fs::read_to_string(ws.path().join(format!(".vend/schemas/{name}.schema.json"))).unwrap();
        assert_eq!(written, stdout_of(&["schema", name]), "{name}");
    }
    // Every catalog/ modeline points at a file that now exists.
    for (rel, _, yaml) in workspace_files(ws.path()) {
        if let Some(target) =
            yaml.lines().last().and_then(|l| l.strip_prefix("# yaml-language-server: $schema="))
        {
            let file = ws.path().join(&rel);
            let resolved = file.parent().unwrap().join(target);
            assert!(resolved.is_file(), "{rel}: {target} does not resolve");
        }
    }
    // The listing names each schema with the files it covers; an unknown name is a usage error.
    let list = stdout_of(&["schema"]);
    assert_eq!(list.lines().count(), SCHEMA_NAMES.len(), "{list}");
    assert!(list.contains("account-request     catalog/accounts/*.yaml"), "{list}");
    let bad = vend().args(["schema", "nope"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(1));
    // The workspace with the modelines (and the schemas written beside it) still validates.
    let v = vend().current_dir(ws.path()).arg("validate").output().unwrap();
    assert_eq!(v.status.code(), Some(0), "{}", text(&v.stderr));
}

/// Every field of the serde mirrors in src/workspace/raw.rs is a property of the schema of its
/// type (the derive guarantees it; this catches a type left out of a schema or renamed in one).
#[test]
fn every_raw_field_is_in_a_schema() {
    let schemas = schemas();
    let roots = [
        ("RawSettings", "vend"),
        ("RawOrganization", "organization"),
        ("RawPortfolios", "portfolios"),
        ("RawGuardrails", "guardrails"),
        ("RawAccountRequest", "account-request"),
        ("RawPermissionSet", "permission-set"),
        ("RawPipelineRequest", "pipeline-request"),
        ("RawAccountBlueprint", "account-blueprint"),
        ("RawPipelineBlueprint", "pipeline-blueprint"),
    ];
    // Struct name -> its object schema, from the roots and every schema's $defs.
    let mut objects: BTreeMap<String, &Value> = BTreeMap::new();
    for (ty, name) in roots {
        objects.insert(ty.into(), &schemas[name]);
    }
    for s in schemas.values() {
        for (ty, def) in s["$defs"].as_object().into_iter().flatten() {
            objects.insert(ty.clone(), def);
        }
    }
    let src = std::fs::read_to_string(root().join("src/workspace/raw.rs")).unwrap();
    let mut checked = 0;
    let mut current: Option<String> = None;
    let mut rename: Option<String> = None;
    for line in src.lines() {
        let l = line.trim();
        if let Some(rest) = l.strip_prefix("pub struct ") {
            rename = None;
            current = rest.split([' ', '{']).next().filter(|t| objects.contains_key(*t)).map(String::from);
        } else if l == "}" {
            current = None;
        } else if let Some(r) = l.strip_prefix("#[serde(rename = \"") {
            rename = r.split('"').next().map(String::from);
        } else if let (Some(ty), Some(field)) =
            (&current, l.strip_prefix("pub ").and_then(|f| f.split(':').next()))
        {
            let key = rename.take().unwrap_or_else(|| field.to_string());
            let props = &objects[ty]["properties"];
            assert!(props.get(&key).is_some(), "{ty}.{key} is not in its schema: {props}");
            assert_eq!(objects[ty]["additionalProperties"], false, "{ty} is not closed");
            checked += 1;
        }
    }
    assert!(checked > 60, "only {checked} fields found in raw.rs");
}

#[test]
fn request_and_import_write_the_modeline_and_valid_files() {
    let schemas = schemas();
    let (_dir, ws, cfg) = demo_with_config();
    let args = [
        "request",
        "account",
        "--blueprint",
        "workload@v2",
        "--name",
        "web-dev",
        "--email",
        "aws+web-dev@example.com",
        "--param",
        "environment=dev",
        "--tag",
        "cost-center=4711",
    ];
    let out = vend_in(&ws, &cfg, &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let pipeline = [
        "request",
        "pipeline",
        "--blueprint",
        "service-pipeline@v3",
        "--account",
        "web-dev",
        "--name",
        "web-api",
        "--param",
        "RepositoryName=web-api",
    ];
    let out = vend_in(&ws, &cfg, &pipeline);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let written: Vec<_> = workspace_files(&ws)
        .into_iter()
        .filter(|(rel, _, _)| {
            rel == "catalog/accounts/web-dev.yaml" || rel == "catalog/pipelines/web-api.yaml"
        })
        .collect();
    assert_eq!(written.len(), 2, "{written:?}");
    for (rel, kind, yaml) in &written {
        let up = "../".repeat(rel.matches('/').count());
        assert!(
            yaml.ends_with(&format!(
                "\n# yaml-language-server: $schema={up}.vend/schemas/{kind}.schema.json\n"
            )),
            "{rel}:\n{yaml}"
        );
    }
    check_files(&schemas, &written);

    // `vend import` of the demo organization: catalog/ files with modelines, all valid.
    let target = tempfile::tempdir().unwrap();
    let state = root().join("snapshots/demo.state.json");
    let out = vend_in(target.path(), &cfg, &["--state", state.to_str().unwrap(), "import"]);
    assert!(target.path().join("catalog/vend.yaml").is_file(), "{}", text(&out.stderr));
    let imported = workspace_files(target.path());
    assert!(imported.iter().any(|(_, k, _)| *k == "account-request"), "{imported:?}");
    for (rel, kind, yaml) in &imported {
        let modeline = yaml.lines().last().is_some_and(|l| l.starts_with("# yaml-language-server: $schema="));
        assert_eq!(modeline, rel.starts_with("catalog/"), "{rel} ({kind}):\n{yaml}");
    }
    check_files(&schemas, &imported);
}
