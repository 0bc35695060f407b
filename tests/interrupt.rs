//! Progress for people and Ctrl-C during `vend apply` (issue 16), through the real binary on the
//! embedded backend. On a pseudo-terminal (util-linux `script`) apply draws the live bars instead
//! of the `[i/n]` lines, and prints the plain lines with `TERM=dumb`. Ctrl-C: the
//! demo applied, then eight new workload accounts (each with its baseline pipeline) applied with
//! several steps in flight on a slow in-process cloud (hidden `--local-polls`: each account
//! creation and launch stays in progress for several polls), and SIGINT sent once the first
//! account creations started.
//! - Once: the note says how many steps are in flight; no new step starts; every step that
//!   started finishes (its outcome in the audit log, a `done` line naming it); exit 1 with the
//!   report; the log verifies; the next plan is exactly the steps reported as not started.
//! - Twice: exit 130 at once, without waiting for the steps in flight; the next apply finishes
//!   the work with each account created exactly once and a log that verifies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

const ACCOUNTS: usize = 8;

/// The demo applied, then `ACCOUNTS` new account requests added: (dir, workspace, config dir).
fn applied_demo_with_new_accounts() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let (dir, ws, cfg) = demo_with_config();
    let out = vend_in(&ws, &cfg, &["apply", "--auto-approve", "--allow-close", "sandbox-bob"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out.stdout), text(&out.stderr));
    for i in 0..ACCOUNTS {
        let name = format!("team{i:02}-dev");
        fs::write(
            ws.join(format!("catalog/accounts/{name}.yaml")),
            format!(
                "blueprint: workload@v2\nname: {name}\nemail: aws+{name}@example.com\nowner: team-{i}\nparams: {{ environment: dev }}\ntags: {{ cost-center: \"{}\" }}\n",
                7000 + i
            ),
        )
        .unwrap();
    }
    (dir, ws, cfg)
}

/// Lines of a child's stream as they come.
fn lines_of(stream: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// A slow apply of the new accounts, started in the background.
fn slow_apply(ws: &Path, cfg: &Path) -> (Child, Receiver<String>, Receiver<String>) {
    let mut child = vend()
        .args([
            "apply",
            "--auto-approve",
            "--parallelism",
            "10",
            "--poll-interval-ms",
            "300",
            "--local-polls",
            "15",
        ])
        .current_dir(ws)
        .env("XDG_CONFIG_HOME", cfg)
        .env("VEND_KEY_STORE", "file")
        .env("USER", "tester")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = lines_of(child.stdout.take().unwrap());
    let err = lines_of(child.stderr.take().unwrap());
    (child, out, err)
}

/// Read `rx` into `seen` until a line satisfies `until` (panics after a minute).
fn read_until(rx: &Receiver<String>, seen: &mut Vec<String>, until: impl Fn(&[String]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !until(seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => panic!("timed out; so far:\n{}", seen.join("\n")),
        }
    }
}

fn sigint(child: &Child) {
    let status = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success(), "kill -INT");
}

/// The addresses of the `[i/n] <symbol> <address>  <action>…` lines.
fn started(lines: &[String]) -> BTreeSet<String> {
    lines
        .iter()
        .filter(|l| l.starts_with('['))
        .filter_map(|l| l.split_whitespace().nth(2).map(str::to_string))
        .collect()
}

fn account_creations_started(lines: &[String]) -> usize {
    started(lines).iter().filter(|a| a.starts_with("account:team")).count()
}

/// The address a plain line ends with after `prefix` (`        done  <address>`).
fn ended(lines: &[String], prefix: &str) -> BTreeSet<String> {
    lines.iter().filter_map(|l| l.strip_prefix(prefix)).map(str::to_string).collect()
}

fn wait_for_exit(child: &mut Child, within: Duration) -> Option<i32> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("vend did not exit within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A slow apply sent one SIGINT once at least three account creations have started, read up to
/// the Ctrl-C note on standard error; the lines read so far and the rest still to come.
struct Interrupted {
    child: Child,
    out: Receiver<String>,
    err: Receiver<String>,
    stdout: Vec<String>,
    stderr: Vec<String>,
}

fn interrupted_apply(ws: &Path, cfg: &Path) -> Interrupted {
    let (child, out, err) = slow_apply(ws, cfg);
    let mut stdout = vec![];
    read_until(&out, &mut stdout, |seen| account_creations_started(seen) >= 3);
    sigint(&child);
    let mut stderr = vec![];
    read_until(&err, &mut stderr, |seen| seen.iter().any(|l| l.starts_with("Ctrl-C: stopping")));
    Interrupted { child, out, err, stdout, stderr }
}

fn verify(ws: &Path, cfg: &Path) {
    let out = vend_in(ws, cfg, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
}

#[test]
fn one_ctrl_c_lets_the_steps_in_flight_finish_and_reports_the_rest() {
    let (_dir, ws, cfg) = applied_demo_with_new_accounts();
    let before = vend::adapter::audit::read(&ws.join(".vend/audit.jsonl")).unwrap().len();
    let Interrupted { mut child, out, err, mut stdout, mut stderr } = interrupted_apply(&ws, &cfg);
    let code = wait_for_exit(&mut child, Duration::from_secs(120));
    stdout.extend(out.iter());
    stderr.extend(err.iter());
    let (stdout_text, stderr_text) = (stdout.join("\n"), stderr.join("\n"));
    assert_eq!(code, Some(1), "{stdout_text}\n{stderr_text}");

    // The note counts the steps in flight and says how to leave at once.
    let note = stderr.iter().find(|l| l.starts_with("Ctrl-C: stopping")).unwrap();
    let n: usize = note
        .strip_prefix("Ctrl-C: stopping — waiting for ")
        .and_then(|r| r.split_once(" step(s) in flight; press Ctrl-C again to exit now"))
        .map(|(n, _)| n.parse().unwrap())
        .unwrap_or_else(|| panic!("note: {note}"));
    assert!(n >= 1, "{note}");
    assert!(
        stdout.iter().any(|l| l.starts_with("Stopping: no new step starts; waiting for the ")),
        "{stdout_text}"
    );

    // Every step that started finished (none abandoned), and nothing else ran.
    let started = started(&stdout);
    let done = ended(&stdout, "        done  ");
    assert_eq!(started, done, "every step started is done:\n{stdout_text}");
    let not_started: BTreeSet<String> = stdout
        .iter()
        .filter_map(|l| l.strip_prefix("        skipped "))
        .filter_map(|l| l.strip_suffix(": not started: the apply was stopped"))
        .map(str::to_string)
        .collect();
    assert!(!not_started.is_empty(), "the stop came before the end:\n{stdout_text}");
    assert!(started.is_disjoint(&not_started));
    // The closing line says the apply stopped (nothing failed), with what was not started.
    assert!(stdout_text.contains("Apply stopped. "), "{stdout_text}");
    assert!(!stdout_text.contains("Apply failed."), "{stdout_text}");
    assert!(stdout_text.contains(&format!("{} not started (plan", not_started.len())), "{stdout_text}");

    // The log holds an outcome for every intent, ends with a stopped apply-end, and verifies.
    let records = vend::adapter::audit::read(&ws.join(".vend/audit.jsonl")).unwrap();
    let this_apply = &records[before..];
    let intents = this_apply.iter().filter(|r| r.event == "intent").count();
    let outcomes = this_apply.iter().filter(|r| r.event == "outcome").count();
    assert!(intents > 0);
    assert_eq!(intents, outcomes, "an outcome for every intent");
    let end = this_apply.last().unwrap();
    assert_eq!(end.event, "apply-end");
    assert_eq!(end.detail["stopped"], serde_json::json!(true), "{:?}", end.detail);
    verify(&ws, &cfg);

    // The next plan is exactly what was not started.
    let plan = vend_in(&ws, &cfg, &["plan", "--json"]);
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let left: BTreeSet<String> = changes(&plan).into_iter().map(|(a, _)| a).collect();
    assert_eq!(left, not_started);
}

#[test]
fn a_second_ctrl_c_exits_130_at_once_and_the_next_apply_finishes_the_work() {
    let (_dir, ws, cfg) = applied_demo_with_new_accounts();
    let Interrupted { mut child, out, mut stdout, .. } = interrupted_apply(&ws, &cfg);
    let second = Instant::now();
    sigint(&child);
    let code = wait_for_exit(&mut child, Duration::from_secs(30));
    let took = second.elapsed();
    stdout.extend(out.iter());
    assert_eq!(code, Some(130), "{}", stdout.join("\n"));
    // Each account creation stays in progress for 15 polls of 300 ms; exiting at once means not
    // waiting for them.
    assert!(took < Duration::from_millis(2500), "the second Ctrl-C took {took:?}");
    let in_flight_left = started(&stdout).difference(&ended(&stdout, "        done  ")).count();
    assert!(in_flight_left > 0, "steps were still in flight when vend exited");

    // The next apply finds the creations that were sent and finishes: no account twice.
    let out = vend_in(&ws, &cfg, &["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out.stdout), text(&out.stderr));
    verify(&ws, &cfg);
    let state: serde_json::Value =
        serde_json::from_slice(&fs::read(ws.join(".vend/state.json")).unwrap()).unwrap();
    for i in 0..ACCOUNTS {
        let name = format!("team{i:02}-dev");
        let n = state["accounts"].as_array().unwrap().iter().filter(|a| a["name"] == name.as_str()).count();
        assert_eq!(n, 1, "{name} exists once");
    }
    let again = vend_in(&ws, &cfg, &["plan", "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stdout));
}

/// `text` without ANSI escape sequences (CSI `ESC [ … letter`, and lone `ESC x`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        if chars.next_if_eq(&'[').is_some() {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            chars.next();
        }
    }
    out
}

/// `vend apply` of the new accounts on a pseudo-terminal (stdout and stderr both terminals), with
/// `term` as TERM and colour allowed; the terminal's output without escape sequences.
fn apply_on_tty(ws: &Path, cfg: &Path, term: &str) -> (Option<i32>, String) {
    let cmd =
        format!("{} apply --auto-approve --poll-interval-ms 100 --local-polls 5", env!("CARGO_BIN_EXE_vend"));
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(ws)
        .env_remove("NO_COLOR")
        .env("TERM", term)
        .env("XDG_CONFIG_HOME", cfg)
        .env("VEND_KEY_STORE", "file")
        .env("USER", "tester")
        .stdin(Stdio::null())
        .output()
        .expect("util-linux `script` runs vend on a pseudo-terminal");
    (out.status.code(), strip_ansi(&text(&out.stdout)))
}

#[test]
fn on_a_terminal_apply_draws_bars_and_with_term_dumb_plain_lines() {
    let (_dir, ws, cfg) = applied_demo_with_new_accounts();
    let (code, screen) = apply_on_tty(&ws, &cfg, "xterm-256color");
    assert_eq!(code, Some(0), "{screen}");
    // The overall bar and the spinner lines instead of the `[i/n]` start lines; the finished
    // steps' lines and the report as usual.
    assert!(screen.contains("/24 steps"), "no overall bar:\n{screen}");
    assert!(screen.contains(" in flight"), "{screen}");
    assert!(screen.contains("+ account:team00-dev  create"), "no spinner line:\n{screen}");
    assert!(!screen.contains("[1/24]"), "plain start lines on a terminal:\n{screen}");
    assert!(screen.contains("        done  account:team07-dev"), "{screen}");
    assert!(screen.contains("Apply complete! 24 change(s) applied"), "{screen}");

    let (_dir, ws, cfg) = applied_demo_with_new_accounts();
    let (code, screen) = apply_on_tty(&ws, &cfg, "dumb");
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("[1/24] + account:team00-dev  create…"), "{screen}");
    assert!(!screen.contains("/24 steps"), "bars with TERM=dumb:\n{screen}");
    assert!(screen.contains("        done  account:team07-dev"), "{screen}");
}
