//! End to end: the real `vend` binary in tmux (120x40) on a temporary copy of the demo
//! workspace, driven with `send-keys` and read with `capture-pane`, polling with a timeout.
//! Each test uses its own tmux server (`-L`) and kills it at the end. One test runs the UI with
//! `--aws` against the project's emulator (`emulator_harness`), seeded with the demo organization.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod emulator_harness;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
    last: String,
}

impl Tmux {
    /// Start `vend` in `ws` in a detached 120x40 session.
    fn start(name: &str, ws: &Path, config: &Path) -> Tmux {
        Tmux::start_with(name, ws, config, "USER=tester", &[])
    }

    /// Start `env VARS vend ARGS -C ws` in a detached 120x40 session (`vars`: `env`'s
    /// `-u NAME` options first, then `K=V …`); the
    /// pane stays 30 s after vend exits, showing what is left on the terminal.
    fn start_with(name: &str, ws: &Path, config: &Path, vars: &str, args: &[&str]) -> Tmux {
        let socket = format!("vend-e2e-{name}-{}", std::process::id());
        let t = Tmux { socket, last: String::new() };
        let cmd = format!(
            "env {vars} XDG_CONFIG_HOME={} VEND_KEY_STORE=file NO_COLOR=1 {} {} -C {}; sleep 30",
            config.display(),
            env!("CARGO_BIN_EXE_vend"),
            args.join(" "),
            ws.display()
        );
        let ok = t.tmux(&["new-session", "-d", "-x", "120", "-y", "40", &cmd]).status.success();
        assert!(ok, "tmux new-session failed (is tmux installed?)");
        t
    }

    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux").arg("-L").arg(&self.socket).args(args).output().expect("tmux runs")
    }

    fn keys(&self, keys: &[&str]) {
        assert!(self.tmux(&[&["send-keys"], keys].concat()).status.success());
    }

    fn text(&self, text: &str) {
        assert!(self.tmux(&["send-keys", "-l", text]).status.success());
    }

    fn screen(&mut self) -> String {
        self.last = String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p"]).stdout).into_owned();
        self.last.clone()
    }

    /// Poll the pane until `pred` holds (30 s at most).
    fn wait(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.wait_up_to(Duration::from_secs(30), what, pred)
    }

    fn wait_up_to(&mut self, limit: Duration, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        while start.elapsed() < limit {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("timed out waiting for {what}; the screen was:\n{}", self.last);
    }

    fn wait_for(&mut self, text: &str) -> String {
        self.wait(text, |s| s.contains(text))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

fn demo_copy() -> (tempfile::TempDir, PathBuf, PathBuf) {
    common::demo_with_config()
}

fn vend(ws: &Path, config: &Path, args: &[&str]) -> std::process::Output {
    common::vend()
        .args(args)
        .current_dir(ws)
        .env("XDG_CONFIG_HOME", config)
        .env("VEND_KEY_STORE", "file")
        .output()
        .unwrap()
}

#[test]
fn review_exclude_apply_then_only_the_excluded_change_is_left() {
    let (_dir, ws, config) = demo_copy();
    // What excluding the new OU must leave: it and everything that depends on it, transitively.
    let before: serde_json::Value =
        serde_json::from_slice(&vend(&ws, &config, &["plan", "--json"]).stdout).unwrap();
    let mut expected: Vec<String> = vec!["ou:Workloads/staging".into()];
    for c in before["changes"].as_array().unwrap() {
        let deps: Vec<&str> =
            c["depends_on"].as_array().unwrap().iter().map(|d| d.as_str().unwrap()).collect();
        if deps.iter().any(|d| expected.iter().any(|e| e == d)) {
            expected.push(c["address"].as_str().unwrap().to_string());
        }
    }
    expected.sort();
    let total = before["changes"].as_array().unwrap().len();
    let n = expected.len();
    let mut t = Tmux::start("apply", &ws, &config);
    // The plan loads; the first change is the new OU, which three others depend on.
    t.wait_for("> [x]   + ou:Workloads/staging  create  #2");
    // Review: drill into the SCP document change and back.
    t.keys(&["/"]);
    t.text("region-guard");
    t.keys(&["Enter", "Enter"]);
    t.wait_for("document:");
    // At 120 columns the list stays beside the detail, whose title says it has the keys.
    t.wait_for("(j/k scroll, esc back)");
    // One Escape at a time: two in a row read as an Alt sequence.
    t.keys(&["Escape"]);
    t.wait("the detail closed", |s| s.contains("changes by kind") && !s.contains("esc back"));
    t.keys(&["Escape"]);
    t.wait("the filter cleared", |s| s.contains("ou:Workloads/staging") && !s.contains("search:"));
    // Exclude the OU: its dependents go with it, and the view says so.
    t.keys(&["g", "Space"]);
    // (At 120 columns the list shares the screen with the change's detail: the rows' marks
    // and the status line say what went with it.)
    t.wait_for("[-]   + account:search-staging");
    let s = t.wait_for("Excluded ou:Workloads/staging and");
    assert!(s.contains(&format!("{total} change(s), {} to apply, {n} excluded", total - n)), "{s}");
    // Apply with the typed word.
    t.keys(&["a"]);
    t.wait_for("Type yes to apply these changes:");
    t.text("yes");
    t.keys(&["Enter"]);
    let s = t.wait_for("Apply complete!");
    let k = total - n;
    assert!(s.contains(&format!("{k}/{k}  done {k}  failed 0")), "{s}");
    assert!(s.contains(&format!("({n} excluded)")), "{s}");
    // Back on the plan, re-read after the apply: only the excluded changes remain.
    t.keys(&["Enter"]);
    t.wait_for(&format!("{n} change(s), 0 to apply, {n} excluded"));
    t.keys(&["q"]);
    drop(t);

    let out = vend(&ws, &config, &["plan", "--json"]);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut left: Vec<String> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["address"].as_str().unwrap().to_string())
        .collect();
    left.sort();
    assert_eq!(left, expected);
    assert!(expected.len() >= 4, "the OU has dependents in the demo: {expected:?}");
    let verify = vend(&ws, &config, &["audit", "verify"]);
    assert!(verify.status.success(), "{}", common::text(&verify.stderr));
}

/// The acceptance flow with a change nothing depends on: exclude it, apply the rest with `yes`,
/// and the next plan is exactly that one change.
#[test]
fn exclude_one_change_apply_then_the_replan_is_exactly_that_change() {
    let (_dir, ws, config) = demo_copy();
    let mut t = Tmux::start("leaf", &ws, &config);
    t.wait_for("ou:Workloads/staging");
    t.keys(&["/"]);
    t.text("account:payments-prod");
    t.keys(&["Enter"]);
    t.wait_for("account:payments-prod");
    t.keys(&["Space"]);
    t.wait_for("1 excluded");
    t.keys(&["Escape"]);
    t.wait("the filter cleared", |s| s.contains("ou:Workloads/staging") && !s.contains("search:"));
    t.keys(&["a"]);
    t.wait_for("Type yes to apply these changes:");
    t.text("yes");
    t.keys(&["Enter"]);
    let s = t.wait_for("Apply complete!");
    assert!(s.contains("(1 excluded)"), "{s}");
    t.keys(&["Enter"]);
    t.wait_for("1 change(s), 0 to apply, 1 excluded");
    t.keys(&["q"]);
    drop(t);
    let out = vend(&ws, &config, &["plan", "--json"]);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let left: Vec<&str> =
        plan["changes"].as_array().unwrap().iter().map(|c| c["address"].as_str().unwrap()).collect();
    assert_eq!(left, ["account:payments-prod"]);
    assert!(vend(&ws, &config, &["audit", "verify"]).status.success());
}

#[test]
fn request_form_writes_an_account_and_shows_its_plan() {
    let (_dir, ws, config) = demo_copy();
    let text = request_web_dev(Tmux::start("request", &ws, &config), &ws);
    assert!(text.contains("requested_by: tester"), "{text}");
    let log = vend(&ws, &config, &["audit", "log"]);
    assert!(
        common::text(&log.stdout).contains("request      account:web-dev"),
        "{}",
        common::text(&log.stdout)
    );
}

/// Without USER, LOGNAME and USERNAME the form's request names the operator as `vend request`
/// does — the git e-mail, else `uid:<n>` — never `unknown`.
#[test]
fn request_form_without_user_variables_names_the_operator() {
    let (_dir, ws, config) = demo_copy();
    let t = Tmux::start_with("request-nouser", &ws, &config, "-u USER -u LOGNAME -u USERNAME", &[]);
    let text = request_web_dev(t, &ws);
    let by = text.lines().find_map(|l| l.strip_prefix("requested_by:")).unwrap().trim().trim_matches('"');
    let git = Command::new("git").args(["config", "user.email"]).output().unwrap();
    let git = String::from_utf8_lossy(&git.stdout).trim().to_string();
    if git.is_empty() {
        assert!(by.strip_prefix("uid:").is_some_and(|n| n.parse::<u32>().is_ok()), "{text}");
    } else {
        assert_eq!(by, git, "{text}");
    }
}

/// Fill the request form for account web-dev on workload@v2, submit, check the plan preview,
/// quit; the request file's text.
fn request_web_dev(mut t: Tmux, ws: &Path) -> String {
    t.wait_for("ou:Workloads/staging");
    t.keys(&["2"]);
    t.wait_for("request an account or a pipeline");
    // Blueprint: workload@v2 (one field up, three choices right: workload@v3 is newer).
    t.keys(&["Up", "Right", "Right", "Right"]);
    t.wait_for("< workload@v2 >");
    t.keys(&["Down"]);
    t.text("web-dev");
    t.keys(&["Down"]);
    t.text("aws+web-dev@example.com");
    t.keys(&["Down"]);
    t.text("team-web");
    // environment (a choice, default dev), then the required cost-center tag.
    t.keys(&["Down", "Down"]);
    t.text("4711");
    t.wait_for("ok: valid; Submit writes catalog/accounts/web-dev.yaml");
    t.keys(&["C-s"]);
    let s = t.wait_for("+ account:web-dev  create");
    assert!(s.contains("Wrote catalog/accounts/web-dev.yaml"), "{s}");
    assert!(s.contains("provisioned_pipeline:web-dev/baseline"), "{s}");
    t.keys(&["q"]);
    drop(t);

    let text = std::fs::read_to_string(ws.join("catalog/accounts/web-dev.yaml")).unwrap();
    assert!(text.contains("email: aws+web-dev@example.com"), "{text}");
    assert!(!text.contains("unknown"), "{text}");
    text
}

#[test]
fn with_required_approvals_save_signs_the_author_and_apply_is_refused() {
    let (_dir, ws, config) = demo_copy();
    let settings = ws.join("catalog/vend.yaml");
    let text = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(&settings, text.replace("required_approvals: 0", "required_approvals: 1")).unwrap();
    let state_before = std::fs::read(ws.join("snapshots/demo.state.json")).unwrap();
    let mut t = Tmux::start("governance", &ws, &config);
    t.wait_for("> [x]   + ou:Workloads/staging  create  #2");
    // Save: the plan is signed by the saving operator, as `vend plan --out` does.
    t.keys(&["s", "Enter"]);
    t.wait_for("signed by tester as its author");
    // Apply: the checks before an apply refuse it; nothing is sent.
    t.keys(&["a"]);
    t.wait_for("Type yes to apply these changes:");
    t.text("yes");
    t.keys(&["Enter"]);
    let s = t.wait_for("REFUSED: nothing was sent");
    assert!(s.contains("the workspace requires 1 approval(s)"), "{s}");
    t.keys(&["q"]);
    drop(t);

    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ws.join("plan.json")).unwrap()).unwrap();
    assert_eq!(plan["author"]["user"], "tester", "{}", plan["author"]);
    // The author's own approval is refused, exactly as for a plan saved by the CLI.
    let out = vend(&ws, &config, &["approve", "plan.json"]);
    assert_eq!(out.status.code(), Some(1), "{}", common::text(&out.stderr));
    assert!(common::text(&out.stderr).contains("saved this plan"), "{}", common::text(&out.stderr));
    // Nothing was applied: no apply records, and the plan still has every change.
    let log = common::text(&vend(&ws, &config, &["audit", "log"]).stdout);
    assert!(!log.contains("apply-start"), "{log}");
    let after: serde_json::Value =
        serde_json::from_slice(&vend(&ws, &config, &["plan", "--json"]).stdout).unwrap();
    assert_eq!(after["changes"].as_array().unwrap().len(), plan["changes"].as_array().unwrap().len());
    assert_eq!(std::fs::read(ws.join("snapshots/demo.state.json")).unwrap(), state_before);
}

/// The pane's rows.
fn rows(screen: &str) -> Vec<&str> {
    screen.lines().collect()
}

/// After `q`: the terminal vend leaves behind (the UI's alternate screen gone) holds no line of
/// vend's — nothing was printed before, behind or after the UI.
fn assert_nothing_printed(t: &mut Tmux) {
    t.keys(&["q"]);
    let s = t.wait("the UI closed", |s| !s.contains("1 Catalog"));
    assert!(!s.contains("vend:") && !s.contains("error") && !s.contains("warning"), "{s}");
}

/// First use (a fresh copy: no .vend/): the first screen is the UI and nothing else — the note
/// that the state was seeded is on the status line (the last row) once, not over the UI.
#[test]
fn first_use_shows_the_seeding_note_on_the_status_line_only() {
    let (_dir, ws, config) = demo_copy();
    assert!(!ws.join(".vend").exists());
    let mut t = Tmux::start("first-use", &ws, &config);
    let s = t.wait("the plan and the note", |s| {
        s.contains("> [x]   + ou:Workloads/staging  create  #2") && s.contains("no local state yet")
    });
    let r = rows(&s);
    assert_eq!(r.len(), 40, "{s}");
    assert!(r[0].starts_with("vend  1 Catalog  2 Request [3 Plan]"), "{s}");
    let note = format!(
        "vend: no local state yet; seeded .vend/state.json from {}",
        ws.join("snapshots/demo.state.json").display()
    );
    let fits: String = note.chars().take(120).collect();
    assert_eq!(r[39].trim_end(), fits.trim_end(), "{s}");
    assert_eq!(s.matches("vend: ").count(), 1, "{s}");
    // The rows between are the plan screen's: each one the UI drew (a header, a kind, a
    // group, a change row or the blank rest), none starting with a note's or an error's words.
    for row in &r[1..39] {
        assert!(!row.starts_with("vend") && !row.starts_with("error") && !row.starts_with("warning"), "{s}");
    }
    // The help lists it under the notes.
    t.keys(&["?"]);
    t.wait_for("notes (1, latest last)");
    t.keys(&["Escape"]);
    t.wait("the help closed", |s| !s.contains("latest last"));
    assert!(ws.join(".vend/state.json").exists());
    assert_nothing_printed(&mut t);
}

/// `--aws` against the emulator seeded with the demo organization: the plan appears, nothing
/// excluded, apply with the typed `yes`, completion, the audit screen lists the records; the
/// re-plan through `vend --aws plan` is empty and the log verifies.
#[test]
fn aws_review_apply_audit_on_the_emulator() {
    use emulator_harness::seed::{demo, seed_catalog, seed_organization};
    use emulator_harness::{ACCESS_KEY, REGION, SECRET_KEY, lock};
    let (_guard, emu) = lock();
    let mut ids = seed_organization(emu);
    seed_catalog(emu, &mut ids);
    let mgmt = ids[&demo().organization.management_account_id].clone();
    let vws = emulator_harness::workspace::VendWorkspace::new(emu, &mgmt);
    let before = vws.run(&["plan", "--json"]);
    assert!(before.status.success(), "{}", emulator_harness::workspace::describe(&before));
    let before: serde_json::Value = serde_json::from_slice(&before.stdout).unwrap();
    let total = before["changes"].as_array().unwrap().len();
    assert!(total >= 10, "{before:#}");
    // What `Emulator::vend` sets: test credentials and region, no profile files.
    let vars = format!(
        "-u AWS_PROFILE -u AWS_SESSION_TOKEN USER=tester AWS_ACCESS_KEY_ID={ACCESS_KEY} AWS_SECRET_ACCESS_KEY={SECRET_KEY} \
         AWS_REGION={REGION} AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
         AWS_EC2_METADATA_DISABLED=true"
    );
    let mut t =
        Tmux::start_with("aws", &vws.ws, &vws.config, &vars, &["--aws", "--endpoint-url", &emu.endpoint]);
    // The plan review: read from AWS, every change included; the credential note is on the
    // status line, not printed behind the UI.
    let s = t.wait_up_to(Duration::from_secs(120), "the plan from AWS", |s| {
        s.contains(&format!("{total} change(s), {total} to apply, 0 excluded"))
    });
    assert!(s.contains("(AWS)"), "{s}");
    assert!(s.contains("+ ou:Workloads/staging  create"), "{s}");
    assert!(rows(&s)[39].starts_with("vend: AWS credentials from the standard chain"), "{s}");
    assert_eq!(s.matches("vend: ").count(), 1, "{s}");
    t.keys(&["a"]);
    t.wait_for("Type yes to apply these changes:");
    t.text("yes");
    t.keys(&["Enter"]);
    let s = t.wait_up_to(Duration::from_secs(300), "the apply to finish", |s| {
        s.contains("Apply complete!") || s.contains("Apply incomplete") || s.contains("did not run")
    });
    assert!(s.contains("Apply complete!"), "{s}");
    assert!(s.contains(&format!("{total}/{total}  done {total}  failed 0")), "{s}");
    // The audit screen lists the apply's records.
    t.keys(&["5"]);
    let s = t.wait_up_to(Duration::from_secs(60), "the audit records", |s| s.contains("chain: verified"));
    for want in ["apply-start", "intent", "outcome", "account:search-staging"] {
        assert!(s.contains(want), "{want} not on the audit screen:\n{s}");
    }
    // The last record, at the end of the list.
    t.keys(&["G"]);
    let s = t.wait_for("apply-end");
    assert!(s.contains("completed    provisioned_pipeline:"), "{s}");
    assert_nothing_printed(&mut t);
    drop(t);

    let replan = vws.run(&["plan", "--json"]);
    assert!(replan.status.success(), "{}", emulator_harness::workspace::describe(&replan));
    let replan: serde_json::Value = serde_json::from_slice(&replan.stdout).unwrap();
    assert!(replan["changes"].as_array().unwrap().is_empty(), "the re-plan is not empty: {replan:#}");
    let records = vws.audit_records();
    assert_eq!(records.last().map(|r| r["event"].clone()), Some("apply-end".into()), "{records:#?}");
    let verify = vws.run(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", emulator_harness::workspace::describe(&verify));
}
