//! Plans reviewed in pull requests (issue 17 part 5), through the real binary: `vend plan
//! --format markdown` and `vend show FILE --format markdown` on the demo (snapshotted), a
//! 2,000-change plan with errors and destructive changes cut under GitHub's 65,536-character
//! comment limit (summary, every error and every destructive change kept, with the note), and
//! `--json` being `--format json`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use std::fmt::Write as _;
use std::fs;
use vend::render::thousands;

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON: {e}\n{}", text(&out.stderr)))
}

#[test]
fn the_demo_plan_as_markdown_and_its_saved_file_render_alike() {
    let ws = demo_workspace();
    let out = run(&["plan", "--format", "markdown"], ws.path());
    let (md, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(md.starts_with("## vend plan `"), "{md}");
    // Every change of the plan is in it, with its kind's section.
    let plan = json(&run(&["plan", "--json"], ws.path()));
    for c in plan["changes"].as_array().unwrap() {
        let address = c["address"].as_str().unwrap();
        assert!(md.contains(&format!("`{address}`")), "missing {address}");
        assert!(
            md.contains(&format!("<summary>{}", c["kind"].as_str().unwrap())) || md.contains("<summary>⚠ ")
        );
    }
    assert!(!md.contains("Shortened"), "the demo fits: {md}");
    insta::assert_snapshot!("demo_plan_markdown", md);

    // The saved plan renders the same; with --out the note goes to standard error.
    let saved = run(&["plan", "--out", "plan.json", "--format", "markdown"], ws.path());
    assert_eq!(saved.status.code(), Some(0));
    assert_eq!(text(&saved.stdout), md);
    assert!(text(&saved.stderr).contains("Saved the plan to plan.json."), "{}", text(&saved.stderr));
    let show = run(&["show", "plan.json", "--format", "markdown"], ws.path());
    assert_eq!(show.status.code(), Some(0), "{}", text(&show.stderr));
    assert_eq!(text(&show.stdout), md);
    // The detailed exit code is the text plan's.
    let detailed = run(&["plan", "--format", "markdown", "--detailed-exitcode"], ws.path());
    assert_eq!(detailed.status.code(), Some(2));
}

#[test]
fn json_is_format_json_and_conflicts_with_the_other_formats() {
    let ws = demo_workspace();
    let redact = |mut v: serde_json::Value| {
        v["created_at"] = "[created_at]".into();
        v.as_object_mut().unwrap().remove("digest");
        v
    };
    let a = run(&["plan", "--json"], ws.path());
    let b = run(&["plan", "--format", "json"], ws.path());
    let c = run(&["plan", "--json", "--format", "json"], ws.path());
    for out in [&a, &b, &c] {
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    assert_eq!(redact(json(&a)), redact(json(&b)));
    assert_eq!(redact(json(&a)), redact(json(&c)));
    let text_plan = run(&["plan"], ws.path());
    assert_eq!(run(&["plan", "--format", "text"], ws.path()).stdout, text_plan.stdout);

    assert_eq!(run(&["plan", "--out", "p.json"], ws.path()).status.code(), Some(0));
    let show_json = run(&["show", "p.json", "--json"], ws.path());
    assert_eq!(show_json.status.code(), Some(0));
    assert_eq!(run(&["show", "p.json", "--format", "json"], ws.path()).stdout, show_json.stdout);
    assert_eq!(
        run(&["show", "p.json", "--format", "text"], ws.path()).stdout,
        run(&["show", "p.json"], ws.path()).stdout
    );

    for args in
        [&["plan", "--json", "--format", "markdown"][..], &["show", "p.json", "--json", "--format", "text"]]
    {
        let out = run(args, ws.path());
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(out.stdout.is_empty());
        assert!(
            text(&out.stderr).contains("'--json' cannot be used with '--format"),
            "{}",
            text(&out.stderr)
        );
    }
    let bad = run(&["plan", "--format", "html"], ws.path());
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stderr).contains("markdown"), "{}", text(&bad.stderr));
}

/// The demo workspace plus 2,000 sandbox account requests (a dozen without the `cost-center` tag
/// the guardrails now require: errors), two pipelines no longer requested (deletes) and no
/// destructive change allowed (one more error).
fn large_workspace() -> tempfile::TempDir {
    let ws = demo_workspace();
    let accounts = ws.path().join("catalog/accounts");
    for i in 0..2000 {
        let name = format!("gen-{i:04}");
        let tags = if i % 167 == 0 { String::new() } else { "tags: { cost-center: \"9000\" }\n".to_string() };
        let mut y =
            format!("blueprint: sandbox@v1\nname: {name}\nemail: aws+{name}@example.com\nowner: team-gen\n");
        let _ = write!(
            y,
            "{tags}requested_by: gen@example.com\nrequested_at: \"2026-12-01T10:00:00Z\"\nreason: Generated\n"
        );
        fs::write(accounts.join(format!("{name}.yaml")), y).unwrap();
    }
    let guardrails = ws.path().join("catalog/guardrails.yaml");
    let g = fs::read_to_string(&guardrails).unwrap().replace("max_destructive: 5", "max_destructive: 0");
    fs::write(&guardrails, format!("{g}required_tags: [cost-center]\n")).unwrap();
    let mut pipelines: Vec<_> =
        fs::read_dir(ws.path().join("catalog/pipelines")).unwrap().map(|e| e.unwrap().path()).collect();
    pipelines.sort();
    for p in pipelines.iter().filter(|p| p.extension().is_some_and(|e| e == "yaml")).take(2) {
        fs::remove_file(p).unwrap();
    }
    ws
}

#[test]
fn a_2000_change_plan_fits_a_github_comment_with_its_summary_errors_and_destructive_changes() {
    let ws = large_workspace();
    let out = run(&["plan", "--out", "plan.json", "--format", "markdown"], ws.path());
    let (md, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "errors: not applyable\n{stderr}");
    let plan = json(&run(&["show", "plan.json", "--json"], ws.path()));
    let changes = plan["changes"].as_array().unwrap();
    assert!(changes.len() >= 2000, "{} changes", changes.len());

    let chars = md.chars().count();
    assert!(chars <= 65_536, "{chars} characters");
    assert!(chars > 40_000, "the budget is used, not wasted: {chars} characters");
    assert!(md.contains("❌ not applyable"), "{}", &md[..500]);
    // The note says what was left out and how to see it all.
    let note = md.lines().find(|l| l.contains("Shortened to fit GitHub's comment limit (65,536 characters)"));
    let note = note.unwrap_or_else(|| panic!("no note:\n{}", &md[..3000]));
    assert!(note.contains(" create") && note.contains("Run `vend show plan.json` for all of it."), "{note}");

    // The summary table: every non-zero action and the total.
    let summary = plan["summary"].as_object().unwrap();
    for (action, n) in summary {
        let n = n.as_u64().unwrap();
        if n > 0 {
            let row = md.lines().find(|l| l.starts_with("| ") && l.contains(&format!(" {action} | ")));
            let row = row.unwrap_or_else(|| panic!("no summary row for {action}"));
            assert!(row.ends_with(&format!(" | {} |", thousands(n as usize))), "{row}");
        }
    }
    let total: u64 = summary.values().map(|n| n.as_u64().unwrap()).sum();
    assert!(md.contains(&format!("| **total** | **{}** |", thousands(total as usize))));

    // Every error, with its code, location and message.
    let errors: Vec<&serde_json::Value> =
        plan["diagnostics"].as_array().unwrap().iter().filter(|d| d["severity"] == "error").collect();
    assert!(errors.len() >= 13, "{} errors", errors.len());
    assert_eq!(md.lines().filter(|l| l.starts_with("- **error** ")).count(), errors.len());
    for d in &errors {
        let loc = format!("{}:{}:{}", d["file"].as_str().unwrap(), d["line"], d["column"]);
        let line = format!("- **error** `{}` `{loc}`", d["code"].as_str().unwrap());
        assert!(md.contains(&line), "missing {line}");
    }
    // Every destructive change: in the summary's list and as a change line.
    let destructive: Vec<&str> = changes
        .iter()
        .filter(|c| ["delete", "close", "replace"].contains(&c["action"].as_str().unwrap()))
        .map(|c| c["address"].as_str().unwrap())
        .collect();
    assert!(destructive.len() >= 3, "{destructive:?}");
    for address in &destructive {
        let lines: Vec<&str> = md.lines().filter(|l| l.contains(&format!("`{address}`"))).collect();
        assert!(lines.len() >= 2 && lines.iter().all(|l| l.starts_with("- ⚠ ")), "{address}: {lines:?}");
    }
    // Cut changes are counted in their section.
    assert!(md.contains("more not shown ("), "{}", &md[md.len() - 2000..]);

    // The saved plan renders the same comment.
    let show = run(&["show", "plan.json", "--format", "markdown"], ws.path());
    assert_eq!(show.status.code(), Some(1));
    assert_eq!(text(&show.stdout), md);
}
