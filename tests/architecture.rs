//! Invariant: the pure layers (model, workspace, plan, render) do no I/O and reach no outside
//! world — no files, environment, processes, clock, printing, async runtime, AWS or terminal.
//! Only `adapter/`, `cli.rs` and `main.rs` may.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::Path;

const PURE: [&str; 6] = ["src/model", "src/workspace", "src/plan", "src/engine", "src/render", "src/metrics"];
const FORBIDDEN: [&str; 16] = [
    "std::fs",
    "std::env",
    "std::process",
    "std::net",
    "std::io::stdin",
    "std::io::stdout",
    "SystemTime",
    "Timestamp::now",
    "tokio",
    "aws_sdk",
    "aws_config",
    "aws_smithy",
    "ratatui",
    "crossterm",
    "println!",
    "eprintln!",
];

fn scan(dir: &Path, hits: &mut Vec<String>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            scan(&p, hits);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let text = fs::read_to_string(&p).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for f in FORBIDDEN {
                    if code.contains(f) {
                        hits.push(format!("{}:{}: {f}", p.display(), n + 1));
                    }
                }
            }
        }
    }
}

#[test]
fn pure_layers_do_no_io() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut hits = vec![];
    for d in PURE {
        scan(&root.join(d), &mut hits);
    }
    assert!(hits.is_empty(), "I/O in a pure module:\n{}", hits.join("\n"));
}

/// The TUI's pure files: model, update and the data helpers may not touch a terminal at all;
/// the view draws into a ratatui buffer (so `ratatui` is allowed there) but reaches nothing
/// else. Only `src/tui/runtime.rs` owns the terminal, threads and files.
const TUI_PURE: [&str; 7] = [
    "src/tui/model.rs",
    "src/tui/update.rs",
    "src/tui/catalog.rs",
    "src/tui/review.rs",
    "src/tui/form.rs",
    "src/tui/view.rs",
    "src/request.rs",
];

#[test]
fn tui_model_update_and_view_are_pure() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut hits = vec![];
    for f in TUI_PURE {
        let p = root.join(f);
        let text = fs::read_to_string(&p).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for bad in FORBIDDEN.iter().chain(["std::thread", "std::sync::mpsc", "Instant::now"].iter()) {
                if *bad == "ratatui" && f == "src/tui/view.rs" {
                    continue;
                }
                if code.contains(bad) {
                    hits.push(format!("{f}:{}: {bad}", n + 1));
                }
            }
        }
    }
    assert!(hits.is_empty(), "I/O in a pure TUI module:\n{}", hits.join("\n"));
    // Every other file under src/tui/ is listed, or is the runtime (or the module root).
    for e in fs::read_dir(root.join("src/tui")).unwrap() {
        let name = format!("src/tui/{}", e.unwrap().file_name().to_string_lossy());
        assert!(
            TUI_PURE.contains(&name.as_str()) || name == "src/tui/runtime.rs" || name == "src/tui/mod.rs",
            "{name}: add it to TUI_PURE or move its I/O into src/tui/runtime.rs"
        );
    }
}

#[test]
fn every_module_starts_with_its_purpose() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut missing = vec![];
    fn walk(dir: &Path, missing: &mut Vec<String>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, missing);
            } else if p.extension().is_some_and(|x| x == "rs")
                && !fs::read_to_string(&p).unwrap().trim_start().starts_with("//!")
            {
                missing.push(p.display().to_string());
            }
        }
    }
    walk(&root, &mut missing);
    assert!(missing.is_empty(), "modules without a //! paragraph: {missing:?}");
}

#[test]
fn every_diagnostic_code_is_listed_in_the_readme() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    let not_codes = ["cost-center", "state-file"];
    let mut missing = vec![];
    for f in [
        "src/workspace/mod.rs",
        "src/workspace/yaml.rs",
        "src/plan/build/mod.rs",
        "src/plan/build/org.rs",
        "src/plan/build/scp.rs",
        "src/plan/build/accounts.rs",
        "src/plan/build/catalog.rs",
        "src/plan/build/pipelines.rs",
        "src/workspace/guardrails.rs",
        "src/workspace/template_lint.rs",
        "src/model/guardrails.rs",
        "src/plan/guardrails.rs",
        "src/plan/lifecycle.rs",
    ] {
        let text = fs::read_to_string(root.join(f)).unwrap();
        for piece in text.split('"').skip(1).step_by(2) {
            let is_code = piece.contains('-')
                && piece.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                && !piece.starts_with('-')
                && !piece.ends_with('-');
            if is_code && !not_codes.contains(&piece) && !readme.contains(&format!("`{piece}`")) {
                missing.push(format!("{f}: {piece}"));
            }
        }
    }
    missing.sort();
    missing.dedup();
    assert!(missing.is_empty(), "diagnostic codes missing from the README table: {missing:?}");
}
