//! Parallel apply (issue 16) on the in-process cloud, at library level: the demo plus new
//! workload accounts (each with its baseline pipeline) applied with several steps in flight
//! through a cloud that takes calls from several threads and watches what AWS would refuse —
//! two writes to one Organizations entity at once, more account creations in progress than the
//! limit — then: nothing refused, the report in plan order, the re-plan empty. Also: one step
//! at a time keeps plan order exactly; a stop lets the steps in flight finish and reports the
//! rest as not started; a failed step's dependents are skipped while the independent steps run;
//! account creations in progress (resumed by a step, or outside the plan) hold their slots.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use vend::adapter::faulty_cloud::{FaultPoint, FaultyCloud};
use vend::adapter::local_cloud::LocalCloud;
use vend::engine::{self, EngineEvent, Options, StepStatus};
use vend::model::State;
use vend::plan::Plan;
use vend::port::{Audit, AuditError, AuditEvent, Clock, Cloud, CloudError, ConcurrentCloud, Op, Outcome};

struct Quick;
impl Clock for Quick {
    fn now(&self) -> String {
        "2026-12-06T12:00:00Z".into()
    }
    fn sleep(&self, millis: u64) {
        std::thread::sleep(Duration::from_millis(millis.min(2)));
    }
}

#[derive(Default)]
struct Memory(Vec<AuditEvent>);
impl Audit for Memory {
    fn append(&mut self, event: AuditEvent) -> Result<(), AuditError> {
        self.0.push(event);
        Ok(())
    }
}

/// What the watching cloud saw.
#[derive(Default, Debug)]
struct Seen {
    busy: BTreeSet<String>,
    overlaps: Vec<String>,
    creating: BTreeSet<String>,
    max_creating: usize,
    in_calls: usize,
    max_in_calls: usize,
    /// CreateAccount calls made through this cloud.
    created: usize,
    /// DescribeCreateAccountStatus calls per creation request.
    polls: BTreeMap<String, usize>,
}

/// The in-process cloud behind a lock, taking calls from several threads (each call takes a
/// few milliseconds, so calls of different steps overlap) and recording what AWS would refuse.
struct Watching {
    inner: Mutex<LocalCloud>,
    seen: Mutex<Seen>,
    /// A creation request answered IN_PROGRESS until this many CreateAccount calls have been
    /// made through this cloud (a slow creation, so other steps run beside it).
    hold: Option<(String, usize)>,
    /// Every other creation answers IN_PROGRESS to this many polls first.
    slow_polls: usize,
}

impl Watching {
    fn new(cloud: LocalCloud) -> Self {
        Watching { inner: Mutex::new(cloud), seen: Mutex::new(Seen::default()), hold: None, slow_polls: 0 }
    }
}

impl ConcurrentCloud for Watching {
    fn call(&self, op: &Op) -> Result<Outcome, CloudError> {
        let entities: Vec<String> = op.entities().into_iter().map(str::to_string).collect();
        {
            let mut s = self.seen.lock().unwrap();
            for e in &entities {
                if !s.busy.insert(e.clone()) {
                    s.overlaps.push(format!("{} while {e} was being written", op.name()));
                }
            }
            s.in_calls += 1;
            s.max_in_calls = s.max_in_calls.max(s.in_calls);
        }
        std::thread::sleep(Duration::from_millis(3));
        let mut out = self.inner.lock().unwrap().call(op);
        let mut s = self.seen.lock().unwrap();
        if let (Op::DescribeCreateAccountStatus { request_id }, Ok(o)) = (op, &mut out) {
            let polls = s.polls.entry(request_id.clone()).or_default();
            *polls += 1;
            let slow = match &self.hold {
                Some((held, until)) if held == request_id => s.created < *until,
                _ => *polls <= self.slow_polls,
            };
            if slow {
                o.status = Some("IN_PROGRESS".into());
                o.result = None;
            }
        }
        if matches!(op, Op::CreateAccount { .. }) && out.is_ok() {
            s.created += 1;
        }
        s.in_calls -= 1;
        for e in &entities {
            s.busy.remove(e);
        }
        match (op, &out) {
            (Op::CreateAccount { .. }, Ok(o)) => {
                s.creating.insert(o.id.clone().unwrap_or_default());
            }
            (Op::DescribeCreateAccountStatus { request_id }, Ok(o))
                if o.status.as_deref() != Some("IN_PROGRESS") =>
            {
                s.creating.remove(request_id);
            }
            _ => {}
        }
        s.max_creating = s.max_creating.max(s.creating.len());
        out
    }
}

impl Cloud for Watching {
    fn read_state(&mut self) -> Result<State, CloudError> {
        self.inner.lock().unwrap().read_state()
    }
    fn call(&mut self, op: &Op) -> Result<Outcome, CloudError> {
        ConcurrentCloud::call(self, op)
    }
    fn concurrent(&self) -> Option<&dyn ConcurrentCloud> {
        Some(self)
    }
}

/// The demo workspace with `n` more workload accounts (each gets the blueprint's baseline
/// pipeline), and its state file.
fn workspace(n: usize) -> (tempfile::TempDir, std::path::PathBuf) {
    let ws = demo_workspace();
    for i in 0..n {
        let name = format!("team{i:02}-dev");
        fs::write(
            ws.path().join(format!("catalog/accounts/{name}.yaml")),
            format!(
                "blueprint: workload@v2\nname: {name}\nemail: aws+{name}@example.com\nowner: team-{i}\nparams: {{ environment: dev }}\ntags: {{ cost-center: \"{}\" }}\n",
                7000 + i
            ),
        )
        .unwrap();
    }
    let state = ws.path().join("state.json");
    fs::copy(root().join("snapshots/demo.state.json"), &state).unwrap();
    (ws, state)
}

fn plan_for(ws: &Path, cloud: &mut dyn Cloud) -> Plan {
    let files = vend::adapter::fs::read_workspace(ws).unwrap();
    let loaded = vend::workspace::load(&files);
    assert!(!loaded.diagnostics.iter().any(|d| d.is_error()), "{:?}", loaded.diagnostics);
    vend::plan::build(&loaded.desired, &cloud.read_state().unwrap())
}

/// Start `n` account creations in `cloud` as another tool would (names not in the workspace);
/// their request ids, each IN_PROGRESS until polled.
fn start_elsewhere(cloud: &mut LocalCloud, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            cloud
                .call(&Op::CreateAccount {
                    name: format!("elsewhere-{i}"),
                    email: format!("aws+elsewhere-{i}@example.com"),
                    tags: Default::default(),
                })
                .unwrap()
                .id
                .unwrap()
        })
        .collect()
}

fn options(parallelism: usize) -> Options {
    Options {
        parallelism,
        max_account_creations: 2,
        max_polls: 50,
        poll_interval_ms: 1,
        ..Options::default()
    }
}

#[test]
fn parallel_steps_respect_entities_and_the_creation_limit_and_converge() {
    let (ws, state) = workspace(12);
    let mut cloud = Watching::new(LocalCloud::open(&state).unwrap());
    // Each creation takes a few polls, as in AWS, so creations started together overlap.
    cloud.slow_polls = 5;
    let plan = plan_for(ws.path(), &mut cloud);
    assert!(plan.applyable, "{:?}", plan.diagnostics);
    let creates = plan.changes.iter().filter(|c| engine::creates_account(c)).count();
    assert!(creates >= 12, "{creates} account creations");
    let in_flight = AtomicUsize::new(0);
    let mut most = 0;
    let report =
        engine::apply(&plan, &mut cloud, &mut Memory::default(), &Quick, &options(8), &mut |e| match e {
            EngineEvent::StepStarted { .. } => {
                most = most.max(in_flight.fetch_add(1, Ordering::SeqCst) + 1);
            }
            EngineEvent::StepSucceeded { .. } | EngineEvent::StepFailed { .. } => {
                in_flight.fetch_sub(1, Ordering::SeqCst);
            }
            _ => {}
        })
        .unwrap();
    assert!(report.is_complete(), "{:?}", report.failed());
    let order: Vec<&str> = report.steps.iter().map(|s| s.address.as_str()).collect();
    let planned: Vec<String> = plan.changes.iter().map(|c| c.address.to_string()).collect();
    assert_eq!(order, planned, "the report keeps plan order");
    assert!((2..=8).contains(&most), "steps in flight at most: {most}");
    let seen = cloud.seen.lock().unwrap();
    assert!(seen.overlaps.is_empty(), "two writes to one entity at once: {:?}", seen.overlaps);
    assert_eq!(seen.max_creating, 2, "account creations in progress at most");
    assert!(seen.max_in_calls > 1, "calls overlapped");
    drop(seen);
    let again = plan_for(ws.path(), &mut cloud);
    assert!(
        again.changes.is_empty(),
        "re-plan: {:?}",
        again.changes.iter().map(|c| c.address.to_string()).collect::<Vec<_>>()
    );
}

/// An apply interrupted after a CreateAccount left that creation in progress; AWS counts it
/// against the limit whether or not the resume has started its step, so the resume starts at
/// most limit − 1 new creations beside it (aws_crash `first_create_account_in_progress` saw the
/// emulator refuse the sixth: ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED).
#[test]
fn a_creation_left_in_progress_holds_its_slot_from_the_start() {
    let (ws, state) = workspace(6);
    let mut inner = LocalCloud::open(&state).unwrap();
    let left = inner
        .call(&Op::CreateAccount {
            name: "team05-dev".into(),
            email: "aws+team05-dev@example.com".into(),
            tags: Default::default(),
        })
        .unwrap()
        .id
        .unwrap();
    let mut cloud = Watching::new(inner);
    cloud.seen.lock().unwrap().creating.insert(left.clone());
    // The creation left behind stays in progress until two new creations have been made, so
    // the new ones run beside it whichever step the engine starts first.
    // Each new creation takes a few polls, so two started together overlap.
    cloud.hold = Some((left.clone(), 2));
    cloud.slow_polls = 20;
    let plan = plan_for(ws.path(), &mut cloud);
    let resumed: Vec<&str> =
        plan.changes.iter().filter(|c| engine::resumes_creation(c)).map(|c| c.address.as_str()).collect();
    assert_eq!(resumed, ["account:team05-dev"], "the plan resumes the creation left in progress");
    let patient = Options { max_polls: 1_000_000, ..options(8) };
    let report =
        engine::apply(&plan, &mut cloud, &mut Memory::default(), &Quick, &patient, &mut |_| {}).unwrap();
    assert!(report.is_complete(), "{:?}", report.failed());
    let seen = cloud.seen.lock().unwrap();
    assert!(seen.created >= 2, "new creations beside the one left: {}", seen.created);
    assert_eq!(seen.max_creating, 2, "account creations in progress at most, the one left included");
    assert!(!seen.creating.contains(&left), "the creation left in progress was followed to its end");
}

/// Account creations in progress that no step of the plan resumes (another tool's, or an
/// interrupted apply's for an account the workspace no longer asks for) hold AWS's slots as
/// well: the engine counts them from the state it was given and follows them to their end
/// before it starts the creations that would go over the limit. Without that the in-process
/// cloud refuses the second new creation (four outside the plan + one = its limit of five).
#[test]
fn creations_in_progress_outside_the_plan_hold_their_slots_until_they_end() {
    let (ws, state) = workspace(4);
    let mut inner = LocalCloud::open(&state).unwrap();
    let others = start_elsewhere(&mut inner, 4);
    let mut cloud = Watching::new(inner);
    cloud.seen.lock().unwrap().creating.extend(others.iter().cloned());
    cloud.slow_polls = 3;
    let plan = plan_for(ws.path(), &mut cloud);
    assert!(plan.applyable, "{:?}", plan.diagnostics);
    assert!(!plan.changes.iter().any(engine::resumes_creation), "no step resumes the creations elsewhere");
    let creates = plan.changes.iter().filter(|c| engine::creates_account(c)).count();
    assert!(creates > 1, "{creates} account creations");
    let in_progress = cloud.read_state().unwrap();
    let listed: Vec<String> = in_progress
        .create_account_requests
        .iter()
        .filter(|r| r.state == "IN_PROGRESS")
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(
        listed.iter().collect::<BTreeSet<_>>(),
        others.iter().collect::<BTreeSet<_>>(),
        "the state lists the creations in progress"
    );
    let opts = Options { max_account_creations: 5, creations_in_progress: listed, ..options(8) };
    let report =
        engine::apply(&plan, &mut cloud, &mut Memory::default(), &Quick, &opts, &mut |_| {}).unwrap();
    assert!(report.is_complete(), "{:?}", report.failed());
    let seen = cloud.seen.lock().unwrap();
    assert!(seen.max_creating <= 5, "account creations in progress at most: {}", seen.max_creating);
    assert!(
        others.iter().all(|r| !seen.creating.contains(r)),
        "the creations elsewhere were followed to their end"
    );
    drop(seen);
    let again = plan_for(ws.path(), &mut cloud);
    assert!(
        again.changes.is_empty(),
        "re-plan: {:?}",
        again.changes.iter().map(|c| c.address.to_string()).collect::<Vec<_>>()
    );
}

#[test]
fn one_step_at_a_time_is_plan_order_exactly() {
    let (ws, state) = workspace(3);
    let mut cloud = LocalCloud::open(&state).unwrap();
    let plan = plan_for(ws.path(), &mut cloud);
    let mut events = vec![];
    let report = engine::apply(&plan, &mut cloud, &mut Memory::default(), &Quick, &options(1), &mut |e| {
        events.push(e)
    })
    .unwrap();
    assert!(report.is_complete());
    // Each step starts after the previous one finished, in plan order.
    let mut expect = 1;
    let mut open = false;
    for e in &events {
        match e {
            EngineEvent::StepStarted { index, .. } => {
                assert!(!open, "a step started while another ran: {e:?}");
                assert_eq!(*index, expect);
                expect += 1;
                open = true;
            }
            EngineEvent::StepSucceeded { .. } => open = false,
            _ => {}
        }
    }
    assert_eq!(expect, plan.changes.len() + 1);
}

#[test]
fn a_stop_lets_the_steps_in_flight_finish_and_reports_the_rest_as_not_started() {
    let (ws, state) = workspace(8);
    let mut cloud = Watching::new(LocalCloud::open(&state).unwrap());
    let plan = plan_for(ws.path(), &mut cloud);
    let started = AtomicUsize::new(0);
    let mut stopped = vec![];
    // Steps started and not finished, as the events tell.
    let mut open = 0usize;
    let report = engine::apply_until(
        &plan,
        &mut cloud,
        &mut Memory::default(),
        &Quick,
        &options(4),
        &mut |e| match e {
            EngineEvent::StepStarted { .. } => {
                started.fetch_add(1, Ordering::SeqCst);
                open += 1;
            }
            EngineEvent::StepSucceeded { .. } | EngineEvent::StepFailed { .. } => open -= 1,
            EngineEvent::Stopped { remaining, in_flight } => {
                assert_eq!(in_flight, open, "the Stopped event counts the steps in flight");
                stopped.push(remaining)
            }
            _ => {}
        },
        &|| started.load(Ordering::SeqCst) >= 3,
    )
    .unwrap();
    assert_eq!(stopped.len(), 1, "one Stopped event");
    let ran = report.steps.iter().filter(|s| s.status != StepStatus::Skipped).count();
    assert_eq!(ran, started.load(Ordering::SeqCst), "every step started finished");
    assert!(report.failed().is_empty());
    assert_eq!(stopped[0], plan.changes.len() - ran);
    assert!(
        report
            .steps
            .iter()
            .filter(|s| s.status == StepStatus::Skipped)
            .all(|s| s.error.as_deref() == Some("not started: the apply was stopped"))
    );
    // The next plan is exactly what did not run.
    let again = plan_for(ws.path(), &mut cloud);
    let left: BTreeSet<String> = again.changes.iter().map(|c| c.address.to_string()).collect();
    let skipped: BTreeSet<String> =
        report.steps.iter().filter(|s| s.status == StepStatus::Skipped).map(|s| s.address.clone()).collect();
    assert_eq!(left, skipped);
}

#[test]
fn a_failed_step_skips_its_dependents_and_the_independent_steps_run() {
    let (ws, state) = workspace(4);
    let mut cloud = FaultyCloud::new(LocalCloud::open(&state).unwrap(), u64::MAX, FaultPoint::Before)
        .with_op_fault("CreateAccount", FaultPoint::Before);
    let plan = plan_for(ws.path(), &mut cloud);
    let report =
        engine::apply(&plan, &mut cloud, &mut Memory::default(), &Quick, &options(6), &mut |_| {}).unwrap();
    let status: BTreeMap<&str, StepStatus> =
        report.steps.iter().map(|s| (s.address.as_str(), s.status)).collect();
    for c in &plan.changes {
        let s = status[c.address.as_str()];
        if engine::creates_account(c) {
            assert_eq!(s, StepStatus::Failed, "{}", c.address);
        } else if c
            .depends_on
            .iter()
            .any(|d| d.as_str().starts_with("account:") && status[d.as_str()] != StepStatus::Succeeded)
        {
            assert_eq!(s, StepStatus::Skipped, "{}", c.address);
        }
    }
    assert!(report.succeeded() > 0, "independent steps ran");
    assert!(
        status.iter().any(|(a, s)| a.starts_with("provisioned_pipeline:team") && *s == StepStatus::Skipped)
    );
}

/// One step at a time stays plan order exactly when a creation has to wait for a slot that
/// creations outside the plan hold: nothing after it in the plan overtakes it.
#[test]
fn one_at_a_time_waits_in_plan_order_for_a_slot_held_elsewhere() {
    let (ws, state) = workspace(2);
    let mut inner = LocalCloud::open(&state).unwrap();
    let others = start_elsewhere(&mut inner, 5);
    let mut cloud = Watching::new(inner);
    cloud.seen.lock().unwrap().creating.extend(others.iter().cloned());
    cloud.slow_polls = 3;
    let plan = plan_for(ws.path(), &mut cloud);
    let opts = Options { max_account_creations: 5, creations_in_progress: others, ..options(1) };
    let mut started = vec![];
    let report = engine::apply(&plan, &mut cloud, &mut Memory::default(), &Quick, &opts, &mut |e| {
        if let EngineEvent::StepStarted { index, .. } = e {
            started.push(index);
        }
    })
    .unwrap();
    assert!(report.is_complete(), "{:?}", report.failed());
    assert_eq!(started, (1..=plan.changes.len()).collect::<Vec<_>>(), "steps started in plan order");
    assert!(cloud.seen.lock().unwrap().max_creating <= 5);
}

/// Through the binary on the embedded backend: all five creation slots held by creations
/// started elsewhere. The plan's check must not call the plan unapplyable for it (the apply
/// waits for a slot), and the apply must follow them to their end and create the demo's new
/// accounts; the re-plan is empty.
#[test]
fn a_plan_with_every_creation_slot_taken_elsewhere_is_applyable_and_applies() {
    let (_dir, ws, cfg) = demo_with_config();
    let state = ws.join(".vend/state.json");
    fs::create_dir_all(state.parent().unwrap()).unwrap();
    fs::copy(root().join("snapshots/demo.state.json"), &state).unwrap();
    {
        start_elsewhere(&mut LocalCloud::open(&state).unwrap(), 5);
    }
    let plan = plan_in(&ws, &cfg);
    assert_eq!(plan["applyable"], true, "{:#}", plan["diagnostics"]);
    let applied = vend_in(&ws, &cfg, &["apply", "--auto-approve", "--poll-interval-ms", "10"]);
    ok(&applied);
    let replan = vend_in(&ws, &cfg, &["plan", "--detailed-exitcode"]);
    assert_eq!(replan.status.code(), Some(0), "{}", text(&replan.stdout));
    let requests = LocalCloud::open(&state).unwrap().read_state().unwrap().create_account_requests;
    assert!(
        requests.iter().filter(|r| r.account_name.starts_with("elsewhere-")).all(|r| r.state == "SUCCEEDED"),
        "{requests:?}"
    );
}
