//! Invariant: the pure layers (model, workspace, plan, render, import) do no I/O and reach no outside
//! world — no files, environment, processes, clock, printing, async runtime, AWS or terminal.
//! Only `adapter/`, `cli.rs` and `main.rs` may.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::Path;

const PURE: [&str; 7] =
    ["src/model", "src/workspace", "src/plan", "src/engine", "src/render", "src/metrics", "src/import"];
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
/// the view (`view.rs` and its screens under `view/`) draws into a ratatui buffer (so `ratatui`
/// is allowed there) but reaches nothing else. Only `src/tui/runtime.rs` owns the terminal, threads and files.
const TUI_PURE: [&str; 20] = [
    "src/tui/model.rs",
    "src/tui/access.rs",
    "src/tui/update.rs",
    "src/tui/edit.rs",
    "src/tui/plan_keys.rs",
    "src/tui/screen_keys.rs",
    "src/tui/catalog.rs",
    "src/tui/review.rs",
    "src/tui/form.rs",
    "src/tui/apply.rs",
    "src/tui/text.rs",
    "src/tui/org.rs",
    "src/tui/org_keys.rs",
    "src/tui/view.rs",
    "src/tui/view/plan.rs",
    "src/tui/view/catalog.rs",
    "src/tui/view/apply.rs",
    "src/tui/view/audit.rs",
    "src/tui/view/org.rs",
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
                if *bad == "ratatui" && (f == "src/tui/view.rs" || f.starts_with("src/tui/view/")) {
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
    let mut files = vec![];
    rust_files(&root.join("src/tui"), &mut files);
    for p in files {
        let name = p.strip_prefix(root).unwrap().display().to_string();
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
    let mut files = vec![];
    for dir in ["src/workspace", "src/plan"] {
        rust_files(&root.join(dir), &mut files);
    }
    files.push(root.join("src/model/guardrails.rs"));
    for path in files {
        let f = path.strip_prefix(root).unwrap().display().to_string();
        let text = fs::read_to_string(&path).unwrap();
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

// ------------------------------------------------------------------ shape of the code (issue 12)

/// Every `.rs` file below `dir`, sorted.
fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// A file's code: comments removed, and nothing from its first `#[cfg(test)]` on (unit tests
/// sit at the end of a module by convention).
fn code_of(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let code = line.split("//").next().unwrap_or("");
        out.push_str(code);
        out.push('\n');
    }
    out
}

fn src_files() -> Vec<(String, std::path::PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![];
    rust_files(&root.join("src"), &mut files);
    files.into_iter().map(|p| (p.strip_prefix(root).unwrap().display().to_string(), p)).collect()
}

#[test]
fn no_file_in_src_is_over_900_lines_and_main_stays_thin() {
    let mut long = vec![];
    for (name, path) in src_files() {
        let lines = fs::read_to_string(&path).unwrap().lines().count();
        let limit = if name == "src/main.rs" { 300 } else { 900 };
        if lines > limit {
            long.push(format!("{name}: {lines} lines (limit {limit})"));
        }
    }
    assert!(long.is_empty(), "split these files along their jobs:\n{}", long.join("\n"));
}

/// The library's layers point one way: the pure layers never reach an adapter, the app glue,
/// the TUI or clap; clap lives in `cli.rs` and `main.rs` only.
#[test]
fn dependencies_point_one_way() {
    let lower = [
        "src/model",
        "src/workspace",
        "src/plan",
        "src/engine",
        "src/render",
        "src/metrics",
        "src/import",
        "src/port.rs",
    ];
    let upper =
        ["crate::adapter", "crate::app", "crate::tui", "crate::governance", "crate::cli", "crate::request"];
    let mut hits = vec![];
    for (name, path) in src_files() {
        let code = code_of(&path);
        if lower.iter().any(|l| name.starts_with(l)) {
            for u in upper {
                if code.contains(u) {
                    hits.push(format!("{name}: uses {u}"));
                }
            }
        }
        if name != "src/cli.rs" && name != "src/main.rs" && code.contains("clap") {
            hits.push(format!("{name}: uses clap (only cli.rs and main.rs may)"));
        }
    }
    assert!(hits.is_empty(), "dependency direction broken:\n{}", hits.join("\n"));
}

/// The planner builds typed payloads and the engine reads them: no JSON literals in the planner,
/// no JSON field reads in the engine.
#[test]
fn the_plan_is_typed_from_planner_to_engine() {
    let mut hits = vec![];
    for (name, path) in src_files() {
        let code = code_of(&path);
        if name.starts_with("src/plan/") && code.contains("json!") {
            hits.push(format!("{name}: json! in the planner"));
        }
        if name.starts_with("src/engine/") {
            for bad in ["serde_json::Value", "json!", ".get(\"", "Value::"] {
                if code.contains(bad) {
                    hits.push(format!("{name}: {bad} in the engine"));
                }
            }
        }
    }
    assert!(hits.is_empty(), "untyped plan data:\n{}", hits.join("\n"));
}

/// Addresses are built and taken apart by `Address` alone.
#[test]
fn addresses_are_built_only_by_the_address_type() {
    let kinds = [
        "policy_type",
        "ou",
        "account",
        "policy",
        "policy_attachment",
        "portfolio",
        "product",
        "product_version",
        "portfolio_product",
        "portfolio_principal",
        "portfolio_share",
        "launch_constraint",
        "provisioned_pipeline",
    ];
    let mut hits = vec![];
    for (name, path) in src_files() {
        if name.ends_with("/address.rs") {
            continue;
        }
        let code = code_of(&path);
        for (n, line) in code.lines().enumerate() {
            for k in kinds {
                // `kind:key` (a YAML line `account: …` has a space after the colon).
                let pattern = format!("format!(\"{k}:");
                if line.match_indices(&pattern).any(|(i, _)| !line[i + pattern.len()..].starts_with(' ')) {
                    hits.push(format!("{name}:{}: formats a {k} address", n + 1));
                }
            }
            if line.contains("address.split_once(") || line.contains("address.split(") {
                hits.push(format!("{name}:{}: takes an address apart by hand", n + 1));
            }
        }
    }
    assert!(hits.is_empty(), "hand-made addresses:\n{}", hits.join("\n"));
}

/// Module paths a file refers to (`crate::…`, `super::…`, `self::…`, `use` trees expanded),
/// resolved against the file's own module path.
fn references(code: &str, own: &[String]) -> Vec<Vec<String>> {
    fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
        let tree = tree.trim();
        if let Some(open) = tree.find('{') {
            let head = tree[..open].trim().trim_end_matches("::");
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let base = if head.is_empty() { prefix.to_string() } else { format!("{prefix}{head}::") };
            let (mut depth, mut start) = (0, 0);
            for (i, ch) in inner.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(&base, &inner[start..i], out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            expand(&base, &inner[start..], out);
        } else if !tree.is_empty() {
            out.push(format!("{prefix}{}", tree.split(" as ").next().unwrap_or(tree).trim()));
        }
    }
    let mut paths = vec![];
    // `use` statements (may span lines), then every other path expression.
    let mut pending: Option<String> = None;
    for line in code.lines() {
        let t = line.trim_start();
        if pending.is_none() {
            let t = t
                .strip_prefix("pub ")
                .or_else(|| t.split_once(") ").filter(|_| t.starts_with("pub(")).map(|x| x.1))
                .unwrap_or(t);
            if let Some(u) = t.strip_prefix("use ") {
                pending = Some(String::new());
                pending.as_mut().unwrap().push_str(u);
            }
        } else if let Some(p) = pending.as_mut() {
            p.push_str(t);
        }
        if pending.as_ref().is_some_and(|p| p.contains(';')) {
            let p = pending.take().unwrap();
            expand("", p.split(';').next().unwrap_or(""), &mut paths);
        }
    }
    let bytes = code.as_bytes();
    for start in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(start) {
            let at = from + i;
            let ok = at == 0
                || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_' || bytes[at - 1] == b':');
            let len = code[at..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(code.len() - at);
            if ok {
                paths.push(code[at..at + len].trim_end_matches(':').to_string());
            }
            from = at + len.max(1);
        }
    }
    let mut out = vec![];
    for p in paths {
        let segs: Vec<&str> = p.split("::").filter(|s| !s.is_empty()).collect();
        let mut resolved: Vec<String> = match segs.first() {
            Some(&"crate") => vec![],
            Some(&"super") | Some(&"self") => own.to_vec(),
            _ => continue,
        };
        let mut i = if segs.first() == Some(&"crate") { 1 } else { 0 };
        while i < segs.len() && (segs[i] == "super" || segs[i] == "self") {
            if segs[i] == "super" {
                resolved.pop();
            }
            i += 1;
        }
        resolved.extend(segs[i..].iter().map(|s| s.to_string()));
        out.push(resolved);
    }
    out
}

/// The strongly connected parts of a graph with more than one node (the import circles).
fn circles(
    graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
) -> Vec<Vec<String>> {
    use std::collections::BTreeSet;
    let reach = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(n) = stack.pop() {
            for m in graph.get(&n).into_iter().flatten() {
                if seen.insert(m.clone()) {
                    stack.push(m.clone());
                }
            }
        }
        seen
    };
    let reaches: std::collections::BTreeMap<&String, BTreeSet<String>> =
        graph.keys().map(|k| (k, reach(k))).collect();
    let mut done = BTreeSet::new();
    let mut out = vec![];
    for a in graph.keys() {
        if done.contains(a) {
            continue;
        }
        let group: Vec<String> = graph
            .keys()
            .filter(|b| *b == a || (reaches[a].contains(*b) && reaches[*b].contains(a)))
            .cloned()
            .collect();
        done.extend(group.iter().cloned());
        if group.len() > 1 {
            out.push(group);
        }
    }
    out
}

/// The module graph of `src/`: each file's module path -> the module files it refers to.
fn module_graph(
    within: &[&str],
    depth: usize,
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let files = src_files();
    let module_of = |name: &str| -> Vec<String> {
        let rel = name.trim_start_matches("src/").trim_end_matches(".rs");
        let mut segs: Vec<String> = rel.split('/').map(str::to_string).collect();
        if segs.last().is_some_and(|s| s == "mod" || s == "lib" || s == "main") {
            segs.pop();
        }
        segs
    };
    let mut graph = std::collections::BTreeMap::new();
    for (name, path) in &files {
        let own = module_of(name);
        if own.is_empty() || !own.starts_with(&within.iter().map(|s| s.to_string()).collect::<Vec<_>>()) {
            continue;
        }
        let node = own[..depth.min(own.len())].join("::");
        let edges: &mut std::collections::BTreeSet<String> = graph.entry(node.clone()).or_default();
        for r in references(&code_of(path), &own) {
            if r.len() < depth || !r.starts_with(&within.iter().map(|s| s.to_string()).collect::<Vec<_>>()) {
                continue;
            }
            let target = r[..depth].join("::");
            if target != node && files.iter().any(|(n, _)| module_of(n).starts_with(&r[..depth])) {
                edges.insert(target);
            }
        }
    }
    graph
}

#[test]
fn no_import_circles_between_top_level_modules_or_tui_files() {
    let top = module_graph(&[], 1);
    assert!(
        top.contains_key("plan") && top["engine"].contains("port"),
        "the module graph reads nothing: {top:?}"
    );
    assert_eq!(circles(&top), Vec::<Vec<String>>::new(), "import circles between the modules of src/");
    let tui = module_graph(&["tui"], 2);
    assert!(tui.len() > 3, "{tui:?}");
    assert_eq!(circles(&tui), Vec::<Vec<String>>::new(), "import circles between the files of src/tui/");
}
