//! What the fuzz targets share: the demo workspace and state (read once from the repository),
//! the fuzz input's container format for workspaces, and "do everything the CLI would do with
//! this value" helpers, so each target exercises the same code paths as `vend`.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;
use vend::model::State;
use vend::plan::Plan;
use vend::workspace::{self, Files};
use vend::{app, engine, render};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The repository's demo workspace (catalog/ + blueprints/).
pub fn demo_files() -> &'static Files {
    static FILES: OnceLock<Files> = OnceLock::new();
    FILES.get_or_init(|| vend::adapter::fs::read_workspace(&repo()).unwrap_or_default())
}

/// The demo workspace, loaded.
pub fn demo_loaded() -> &'static workspace::Loaded {
    static LOADED: OnceLock<workspace::Loaded> = OnceLock::new();
    LOADED.get_or_init(|| workspace::load(demo_files()))
}

/// `snapshots/demo.state.json`.
pub fn demo_state() -> &'static State {
    static STATE: OnceLock<State> = OnceLock::new();
    STATE.get_or_init(|| {
        vend::adapter::fs::read_state(&repo().join("snapshots/demo.state.json"))
            .unwrap_or_else(|_| State::empty("2026-11-22T10:00:00Z"))
    })
}

/// Paths the workspace input's `#N` selects from: every demo file plus new ones of each kind.
pub fn known_paths() -> &'static [String] {
    static PATHS: OnceLock<Vec<String>> = OnceLock::new();
    PATHS.get_or_init(|| {
        let mut v: Vec<String> = demo_files().entries.keys().cloned().collect();
        for extra in [
            "catalog/accounts/fuzz.yaml",
            "catalog/pipelines/fuzz.yaml",
            "catalog/policies/fuzz.json",
            "catalog/guardrails.yaml",
            "blueprints/accounts/workload/v9.yaml",
            "blueprints/accounts/fuzz/v1.yaml",
            "blueprints/pipelines/fuzz/v1/blueprint.yaml",
            "blueprints/pipelines/fuzz/v1/template.yaml",
            "blueprints/pipelines/service-pipeline/v9/blueprint.yaml",
            "blueprints/pipelines/service-pipeline/v9/template.yaml",
        ] {
            v.push(extra.to_string());
        }
        v
    })
}

/// The workspace input format (seeds are made by `fuzz/make_seeds.py`):
///
/// ```text
/// <flags>@@@ <path>\n<bytes>@@@ <path>\n<bytes>…
/// ```
///
/// Flags (before the first `@@@ `): `+` starts from the demo workspace (else from nothing),
/// `u` loads with `--upgrade`. A path `#N` picks `known_paths()[N % len]`; `-PATH` deletes that
/// file (and `-DIR/` every file under it); any other path is used as is.
pub fn files_from(data: &[u8]) -> (Files, bool) {
    const SEP: &[u8] = b"@@@ ";
    let mut chunks = split(data, SEP).into_iter();
    let flags = chunks.next().unwrap_or_default();
    let mut files = if flags.contains(&b'+') { demo_files().clone() } else { Files::default() };
    let upgrade = flags.contains(&b'u');
    for chunk in chunks {
        let (spec, bytes) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (&chunk[..i], &chunk[i + 1..]),
            None => (chunk, &[][..]),
        };
        let spec = String::from_utf8_lossy(spec).trim().to_string();
        if let Some(path) = spec.strip_prefix('-') {
            files.entries.retain(|p, _| p != path && !(path.ends_with('/') && p.starts_with(path)));
            continue;
        }
        let path = match spec.strip_prefix('#').and_then(|n| n.parse::<usize>().ok()) {
            Some(n) => known_paths()[n % known_paths().len()].clone(),
            None => spec,
        };
        files.entries.insert(path, bytes.to_vec());
    }
    (files, upgrade)
}

fn split<'a>(data: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut out = vec![];
    let mut start = 0;
    let mut i = 0;
    while i + sep.len() <= data.len() {
        if &data[i..i + sep.len()] == sep {
            out.push(&data[start..i]);
            i += sep.len();
            start = i;
        } else {
            i += 1;
        }
    }
    out.push(&data[start..]);
    out
}

/// What `vend validate` and `vend plan` do with a loaded workspace and a state: diagnostics
/// text, the plan (nothing when the workspace has errors), its text and JSON views.
pub fn validate_and_plan(loaded: &workspace::Loaded, state: &State) {
    let _ = render::to_ansi(&render::diagnostics_text(&loaded.diagnostics), true);
    let mut p = app::make_plan(loaded, state, "2026-11-22T10:00:00Z".into());
    p.unchanged = Some(vend::plan::unchanged(&loaded.desired, &p));
    show(&p);
}

/// What `vend show FILE` and `vend show FILE --json` print.
pub fn show(p: &Plan) {
    let _ = render::to_ansi(&render::plan_text(p), true);
    let _ = render::to_ansi(&render::plan_text(p), false);
    let _ = render::plan_json(p);
}

/// The checks `vend apply FILE` runs on a saved plan before any cloud call: staleness against
/// the demo workspace and state, applyability, approvals (with and without pinned keys), the
/// exclusion closure and the closes it would send.
pub fn apply_guards(p: &Plan) {
    // Scoped staleness: with another state basis, a re-plan, `plan::scope::moved` and the
    // promise check of the saved plan run here.
    let _ = app::stale_saved_plan(p, demo_files(), demo_loaded(), demo_state());
    let _ = vend::plan::scope::applyable(p);
    let _ = p.has_changes();
    for required in [0, 1, 2] {
        let none = vend::model::operators::Operators::default();
        let _ = vend::plan::approval::enough(p, required, &none);
        let one = vend::model::operators::Operators::from_keys(&["00".repeat(32)]);
        let _ = vend::plan::approval::enough(p, required, &one);
    }
    let excluded = engine::excluded_closure(p);
    let _ = p
        .changes
        .iter()
        .filter(|c| c.action == vend::plan::Action::Close && !excluded.contains(&c.address))
        .count();
    let _ = vend::plan::approval::author_message(p);
}
