//! Read benchmark (not a test): start the project's emulator (`tests/emulator/run` on a free
//! loopback port, through the test harness), seed an organization of 1,000 accounts in 50 OUs
//! (two levels) with 20 SCPs attached to OUs and accounts and tags on every account, OU and SCP
//! — through the SDK, so it is real moto Organizations data — plus a pipeline product launched
//! in a handful of accounts (through a portfolio shared with the organization, the launch path
//! member accounts need), then run the release `vend --aws snapshot save` on a workspace whose
//! pipeline requests name those accounts, and report what the emulator counted: every HTTP
//! request (retries, STS, S3, Service Catalog, CloudFormation), by operation, per account, the
//! wall time (median) and vend's requests per second. In the same run, after each of vend's
//! runs, the emulator's ceiling for that request mix: the requests of vend's first run,
//! recorded by the emulator and sent again byte for byte at high concurrency
//! (`aws_read/ceiling.rs`); the ratio of the two rates has the goal >= 0.8. Beside it,
//! org-formation `init` on the same emulator (`aws_read/org_formation.rs`): its wall time and
//! requests against vend's (goal: vend 10x faster).
//!
//!     cargo bench --bench aws_read
//!     VEND_BENCH_ACCOUNTS=300 VEND_BENCH_RUNS=5 VEND_BENCH_ORG_FORMATION=0 cargo bench --bench aws_read
//!
//! Environment: `VEND_BENCH_ACCOUNTS` (default 1000), `VEND_BENCH_RUNS` (timed runs, default 3),
//! `VEND_BENCH_ORG_FORMATION=0` skips org-formation (it needs `npm` and `node`, and the npm
//! registry to install the package). Exit 1 when vend sends more than `TARGET_PER_ACCOUNT`
//! requests per account (tags included); the two speed goals print PASS or MISS.
//!
//! Issue 18: then the extra requests of access and contacts — Identity Center seeded (groups,
//! permission sets) and Account Management trusted access enabled, the same workspace read
//! once as it is and once with `VEND_BENCH_ACCESS_ACCOUNTS` (default 50; 0 skips) of the
//! accounts requested from a blueprint that declares two assignments and a contact: the
//! difference by operation, per such account (expected 3: two ListAccountAssignments, one
//! GetAlternateContact) and once per read (the group lookups).

#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/emulator_harness/mod.rs"]
mod emulator_harness;

use aws_sdk_organizations as org;
use aws_sdk_servicecatalog as sc;
use emulator_harness::{Emulator, when_free};
use futures_util::stream::{self, StreamExt};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[path = "aws_read/ceiling.rs"]
mod ceiling;
#[path = "aws_read/org_formation.rs"]
mod org_formation;

const TARGET_PER_ACCOUNT: f64 = 1.35;
/// vend's requests per second over the ceiling's, at least.
const GOAL_RATIO: f64 = 0.8;
/// org-formation's wall time over vend's, at least.
const GOAL_VS_ORG_FORMATION: f64 = 10.0;
const OUS_TOP: usize = 10;
const OUS_PER_TOP: usize = 4;
const SCPS: usize = 20;
const PIPELINE_ACCOUNTS: usize = 5;

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn org_tags(pairs: &[(&str, String)]) -> Option<Vec<org::types::Tag>> {
    Some(pairs.iter().map(|(k, v)| org::types::Tag::builder().key(*k).value(v).build().unwrap()).collect())
}

/// What the seed made: account names by index, and the management account id.
struct Seeded {
    mgmt: String,
    pipeline_accounts: Vec<String>,
}

fn seed(emu: &Emulator, n_accounts: usize) -> Seeded {
    let conf = emu.sdk_config();
    let c = org::Client::new(&conf);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let o = c.create_organization().feature_set(org::types::OrganizationFeatureSet::All).send().await.unwrap();
        let mgmt = o.organization().unwrap().master_account_id().unwrap().to_string();
        let root_id = c.list_roots().send().await.unwrap().roots()[0].id().unwrap().to_string();
        let _ = c
            .enable_policy_type()
            .root_id(&root_id)
            .policy_type(org::types::PolicyType::ServiceControlPolicy)
            .send()
            .await;

        // 10 top-level OUs, 4 under each: 50.
        let mut ous: Vec<String> = vec![];
        for t in 0..OUS_TOP {
            let top = c
                .create_organizational_unit()
                .parent_id(&root_id)
                .name(format!("unit-{t:02}"))
                .set_tags(org_tags(&[("tier", format!("t{t}")), ("vend:managed", "true".into())]))
                .send()
                .await
                .unwrap();
            let top = top.organizational_unit().unwrap().id().unwrap().to_string();
            ous.push(top.clone());
            for k in 0..OUS_PER_TOP {
                let sub = c
                    .create_organizational_unit()
                    .parent_id(&top)
                    .name(format!("env-{k}"))
                    .set_tags(org_tags(&[("env", format!("e{k}")), ("vend:managed", "true".into())]))
                    .send()
                    .await
                    .unwrap();
                ous.push(sub.organizational_unit().unwrap().id().unwrap().to_string());
            }
        }

        // Accounts, unevenly over the OUs and the root (every 51st stays in the root).
        let parents: Vec<String> = ous.iter().cloned().chain([root_id.clone()]).collect();
        let created: Vec<(usize, String)> = stream::iter(0..n_accounts)
            .map(|i| {
                let c = c.clone();
                let root_id = root_id.clone();
                let parent = parents[(i * 7 + i / 13) % parents.len()].clone();
                async move {
                    let name = format!("acct-{i:04}");
                    // In parallel: each write waits while another holds the root or its OU.
                    let out = when_free(|| {
                        c.create_account()
                            .account_name(&name)
                            .email(format!("aws+{name}@example.com"))
                            .set_tags(org_tags(&[
                                ("cost-center", format!("{}", 4000 + i % 97)),
                                ("owner", format!("team-{}", i % 31)),
                                ("vend:managed", "true".into()),
                            ]))
                            .send()
                    })
                    .await
                    .unwrap();
                    let s = out.create_account_status().unwrap();
                    let id = s.account_id().expect("the emulator creates accounts at once").to_string();
                    if parent != root_id {
                        when_free(|| {
                            c.move_account()
                                .account_id(&id)
                                .source_parent_id(&root_id)
                                .destination_parent_id(&parent)
                                .send()
                        })
                        .await
                        .unwrap();
                    }
                    (i, id)
                }
            })
            .buffer_unordered(8)
            .collect()
            .await;
        let mut account_ids = vec![String::new(); n_accounts];
        for (i, id) in created {
            account_ids[i] = id;
        }

        // 20 SCPs: each on 2 OUs and, for half of them, 3 accounts (at most 4 custom per target).
        for p in 0..SCPS {
            let doc = format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":"svc{p}:*","Resource":"*"}}]}}"#
            );
            let out = c
                .create_policy()
                .name(format!("guard-{p:02}"))
                .description("")
                .content(doc)
                .r#type(org::types::PolicyType::ServiceControlPolicy)
                .set_tags(org_tags(&[("vend:managed", "true".into())]))
                .send()
                .await
                .unwrap();
            let id = out.policy().unwrap().policy_summary().unwrap().id().unwrap().to_string();
            let mut targets = vec![ous[p % ous.len()].clone(), ous[(p + SCPS) % ous.len()].clone()];
            if p % 2 == 0 {
                targets.extend((0..3).map(|k| account_ids[(p * 37 + k * 101) % n_accounts].clone()));
            }
            for t in targets {
                c.attach_policy().policy_id(&id).target_id(&t).send().await.unwrap();
            }
        }

        // A pipeline product, launched in a handful of accounts through their member role.
        let pipeline_idx: Vec<usize> = (0..PIPELINE_ACCOUNTS).map(|k| (k * 211 + 3) % n_accounts).collect();
        let s3 =
            aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&conf).force_path_style(true).build());
        let bucket = format!("vend-templates-{mgmt}");
        let key = "templates/service-pipeline/v2/bench.yaml";
        s3.create_bucket().bucket(&bucket).send().await.unwrap();
        let template = std::fs::read(common::root().join("blueprints/pipelines/service-pipeline/v2/template.yaml")).unwrap();
        s3.put_object()
            .bucket(&bucket)
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from(template))
            .send()
            .await
            .unwrap();
        let scc = sc::Client::new(&conf);
        let prod = scc
            .create_product()
            .name("service-pipeline")
            .owner("Platform Team")
            .product_type(sc::types::ProductType::CloudFormationTemplate)
            .provisioning_artifact_parameters(
                sc::types::ProvisioningArtifactProperties::builder()
                    .name("v2")
                    .description("vend-sha256:bench")
                    .r#type(sc::types::ProvisioningArtifactType::CloudFormationTemplate)
                    .info("LoadTemplateFromURL", format!("https://{bucket}.s3.us-east-1.amazonaws.com/{key}"))
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let product_id =
            prod.product_view_detail().unwrap().product_view_summary().unwrap().product_id().unwrap().to_string();
        let artifact_id = prod.provisioning_artifact_detail().unwrap().id().unwrap().to_string();
        // The launch path a member account needs (AWS-NOTES, "the launch path in a member
        // account"): the product in a portfolio shared with the organization, with principal
        // sharing on, and an IAM_PATTERN principal the member role matches.
        scc.enable_aws_organizations_access().send().await.unwrap();
        let portfolio = scc
            .create_portfolio()
            .display_name("bench-pipelines")
            .provider_name("Platform Team")
            .send()
            .await
            .unwrap();
        let portfolio = portfolio.portfolio_detail().unwrap().id().unwrap().to_string();
        scc.associate_product_with_portfolio().product_id(&product_id).portfolio_id(&portfolio).send().await.unwrap();
        scc.associate_principal_with_portfolio()
            .portfolio_id(&portfolio)
            .principal_arn(format!("arn:aws:iam:::role/{}", vend::adapter::aws::DEFAULT_MEMBER_ROLE))
            .principal_type(sc::types::PrincipalType::IamPattern)
            .send()
            .await
            .unwrap();
        let org_id = o.organization().unwrap().id().unwrap().to_string();
        let share = scc
            .create_portfolio_share()
            .portfolio_id(&portfolio)
            .organization_node(
                sc::types::OrganizationNode::builder()
                    .r#type(sc::types::OrganizationNodeType::Organization)
                    .value(&org_id)
                    .build(),
            )
            .share_principals(true)
            .send()
            .await
            .unwrap();
        // The share is usable once it has completed.
        if let Some(token) = share.portfolio_share_token() {
            for _ in 0..20 {
                let s = scc.describe_portfolio_share_status().portfolio_share_token(token).send().await.unwrap();
                if s.status().map(|x| x.as_str()) == Some("COMPLETED") {
                    break;
                }
            }
        }
        let sts = aws_sdk_sts::Client::new(&conf);
        for &i in &pipeline_idx {
            let account = &account_ids[i];
            let member = emulator_harness::seed::member_catalog(&sts, &conf, account, "bench-seed").await;
            let name = format!("acct-{i:04}");
            let rec = member
                .provision_product()
                .provisioned_product_name(format!("{name}-api"))
                .product_id(&product_id)
                .provisioning_artifact_id(&artifact_id)
                .provisioning_parameters(
                    sc::types::ProvisioningParameter::builder().key("RepositoryName").value(format!("{name}-api")).build(),
                )
                .send()
                .await
                .unwrap();
            let rec = rec.record_detail().unwrap().record_id().unwrap().to_string();
            for _ in 0..5 {
                let r = member.describe_record().id(&rec).send().await.unwrap();
                if r.record_detail().and_then(|d| d.status()).map(|s| s.as_str()) == Some("SUCCEEDED") {
                    break;
                }
            }
        }
        Seeded { mgmt, pipeline_accounts: pipeline_idx.iter().map(|i| format!("acct-{i:04}")).collect() }
    })
}

/// The demo workspace with its pipeline requests replaced by one per pipeline account.
fn workspace(dir: &Path, seeded: &Seeded) -> PathBuf {
    let ws = dir.join("ws");
    common::demo_for_management(&ws, &seeded.mgmt);
    let pipelines = ws.join("catalog/pipelines");
    std::fs::remove_dir_all(&pipelines).unwrap();
    std::fs::create_dir_all(&pipelines).unwrap();
    for a in &seeded.pipeline_accounts {
        std::fs::write(
            pipelines.join(format!("{a}-api.yaml")),
            format!("blueprint: service-pipeline@v2\naccount: {a}\nname: {a}-api\nparams:\n  RepositoryName: {a}-api\n"),
        )
        .unwrap();
    }
    ws
}

fn stats(emu: &Emulator) -> Value {
    let (status, body) = emu.http("GET", "/_vend/stats", "");
    assert_eq!(status, 200, "GET /_vend/stats: {body}");
    serde_json::from_str(&body).unwrap()
}

fn by_op(stats: &Value) -> Vec<(String, u64)> {
    let mut by_op: BTreeMap<String, u64> = BTreeMap::new();
    if let Some(services) = stats["services"].as_object() {
        for (svc, ops) in services {
            for (op, n) in ops.as_object().into_iter().flatten() {
                by_op.insert(format!("{svc}.{op}"), n.as_u64().unwrap_or(0));
            }
        }
    }
    let mut rows: Vec<_> = by_op.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    rows
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn secs(xs: &[f64]) -> String {
    xs.iter().map(|x| format!("{x:.2}")).collect::<Vec<_>>().join(", ")
}

fn pass(ok: bool) -> &'static str {
    if ok { "PASS" } else { "MISS" }
}

fn main() -> ExitCode {
    let n_accounts = env_num("VEND_BENCH_ACCOUNTS", 1000);
    let runs = env_num("VEND_BENCH_RUNS", 3).max(1);
    let with_org_formation = std::env::var("VEND_BENCH_ORG_FORMATION").map(|v| v != "0").unwrap_or(true);
    let (_guard, emu) = emulator_harness::lock();
    println!("aws_read: emulator on {}", emu.endpoint);

    let t = Instant::now();
    let seeded = seed(emu, n_accounts);
    println!(
        "seeded {n_accounts} accounts, {} OUs, {SCPS} SCPs, {} pipelines in {:.1} s",
        OUS_TOP * (OUS_PER_TOP + 1),
        seeded.pipeline_accounts.len(),
        t.elapsed().as_secs_f64()
    );
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path(), &seeded);
    let out_file = dir.path().join("aws.state.json");

    // vend's runs, each followed by a replay of vend's own requests (recorded in the first run)
    // at high concurrency: the two rates measured side by side, under the same machine load.
    let mut walls: Vec<f64> = vec![];
    let mut counted: Vec<Value> = vec![];
    let mut ceilings: Vec<ceiling::Replay> = vec![];
    let mut recorded: Vec<ceiling::Recorded> = vec![];
    for run in 0..runs {
        let (status, body) = emu.http("POST", "/_vend/stats/reset", "");
        assert_eq!(status, 200, "{body}");
        if run == 0 {
            ceiling::start_recording(emu);
        }
        let start = Instant::now();
        let out = emu
            .vend()
            .args(["--aws", "--endpoint-url", &emu.endpoint, "snapshot", "save", "--out"])
            .arg(&out_file)
            .arg("-C")
            .arg(&ws)
            .output()
            .unwrap();
        walls.push(start.elapsed().as_secs_f64());
        assert!(out.status.success(), "vend snapshot save failed: {}", String::from_utf8_lossy(&out.stderr));
        counted.push(stats(emu));
        if run == 0 {
            recorded = ceiling::recorded(emu);
            let total = counted[0]["total"].as_u64().unwrap_or(0) as usize;
            assert_eq!(recorded.len(), total, "the emulator recorded every request it counted");
        }
        let (status, body) = emu.http("POST", "/_vend/stats/reset", "");
        assert_eq!(status, 200, "{body}");
        let replay = ceiling::replay(emu, &recorded);
        let replayed = stats(emu)["total"].as_u64().unwrap_or(0) as usize;
        assert_eq!(replayed, recorded.len(), "the emulator counted every replayed request");
        ceilings.push(replay);
    }
    let state: vend::model::State =
        serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    let members = state.accounts.len();
    let with_params = state.provisioned_products.iter().filter(|p| !p.params.is_empty()).count();

    let vend_wall = median(walls.clone());
    let s = &counted[0];
    let total = s["total"].as_u64().unwrap_or(0);
    let same = counted.iter().all(|c| c["total"] == s["total"]);
    let per_account = total as f64 / n_accounts as f64;
    let rates: Vec<f64> = walls.iter().map(|w| total as f64 / w).collect();
    let vend_rate = median(rates.clone());
    let ceiling_rates: Vec<f64> = ceilings.iter().map(|c| c.per_second()).collect();
    let ceiling_rate = median(ceiling_rates.clone());
    let ratio = vend_rate / ceiling_rate;

    println!();
    println!(
        "vend --aws snapshot save: {members} accounts read ({} OUs, {} SCPs), {} provisioned pipelines ({with_params} with stack parameters)",
        state.organizational_units.len(),
        state.policies.len(),
        state.provisioned_products.len()
    );
    println!(
        "requests counted at the emulator: {total}{}",
        if same { "" } else { " (first run; runs differ)" }
    );
    for (op, n) in by_op(s) {
        println!("  {n:>6}  {op}");
    }
    if s["faults"].as_object().is_some_and(|f| !f.is_empty()) {
        println!("  faults: {}", s["faults"]);
    }
    let count_ok = per_account <= TARGET_PER_ACCOUNT;
    println!(
        "requests per account: {per_account:.3} (target <= {TARGET_PER_ACCOUNT}) {}",
        if count_ok { "OK" } else { "OVER" }
    );
    println!("wall time: median {vend_wall:.2} s of {runs} run(s) [{}]", secs(&walls));
    println!("vend: {vend_rate:.0} requests/s (median; [{}])", secs(&rates));
    let statuses: Vec<String> = ceilings[0].statuses.iter().map(|(k, v)| format!("{v} x {k}")).collect();
    println!(
        "ceiling: vend's {} requests replayed with {} in flight: {ceiling_rate:.0} requests/s (median; [{}]; answers {})",
        recorded.len(),
        ceiling::IN_FLIGHT,
        secs(&ceiling_rates),
        statuses.join(", ")
    );
    println!("vend / ceiling: {ratio:.2} (goal >= {GOAL_RATIO}) {}", pass(ratio >= GOAL_RATIO));

    if with_org_formation {
        println!();
        let ofn_dir = tempfile::tempdir().unwrap();
        let t = Instant::now();
        match org_formation::install(ofn_dir.path()) {
            Err(why) => println!("org-formation: not run: {why}"),
            Ok(cli) => {
                println!(
                    "org-formation: installed {} in {:.1} s",
                    org_formation::PACKAGE,
                    t.elapsed().as_secs_f64()
                );
                ceiling::start_recording(emu);
                match org_formation::init(emu, &cli, ofn_dir.path()) {
                    Err(why) => println!("org-formation: {why}"),
                    Ok(run) => {
                        let its_requests = ceiling::recorded(emu);
                        let ofn_total = run.stats["total"].as_u64().unwrap_or(0);
                        println!(
                            "org-formation init: {:.2} s, {ofn_total} requests ({:.2} per account)",
                            run.wall.as_secs_f64(),
                            ofn_total as f64 / n_accounts as f64
                        );
                        for (op, n) in by_op(&run.stats) {
                            println!("  {n:>6}  {op}");
                        }
                        if let Some(missing) =
                            run.stats["not_implemented"].as_object().filter(|m| !m.is_empty())
                        {
                            println!(
                                "  answered NotImplementedByEmulator: {}",
                                Value::Object(missing.clone())
                            );
                        }
                        for line in run.complaints.iter().take(10) {
                            println!("  org-formation said: {line}");
                        }
                        let speedup = run.wall.as_secs_f64() / vend_wall;
                        println!(
                            "org-formation / vend: wall {speedup:.1}x (goal >= {GOAL_VS_ORG_FORMATION}x) {}, requests {:.2}x",
                            pass(speedup >= GOAL_VS_ORG_FORMATION),
                            ofn_total as f64 / total as f64
                        );
                        // What the emulator allows: org-formation's own requests replayed the
                        // same way, and vend's at vend's ceiling.
                        let (status, body) = emu.http("POST", "/_vend/stats/reset", "");
                        assert_eq!(status, 200, "{body}");
                        let its = ceiling::replay(emu, &its_requests);
                        let vend_at_ceiling = total as f64 / ceiling_rate;
                        let ofn_at_ceiling = its.requests as f64 / its.per_second();
                        println!(
                            "ceiling for org-formation's {} requests: {:.0} requests/s ({ofn_at_ceiling:.2} s); vend at its ceiling {vend_at_ceiling:.2} s: \
                             org-formation as it ran / vend at its ceiling {:.1}x, both at their ceilings {:.1}x",
                            its.requests,
                            its.per_second(),
                            run.wall.as_secs_f64() / vend_at_ceiling,
                            ofn_at_ceiling / vend_at_ceiling
                        );
                    }
                }
            }
        }
    }
    let access_accounts = env_num("VEND_BENCH_ACCESS_ACCOUNTS", 50).min(n_accounts);
    if access_accounts > 0 {
        println!();
        access_extra(emu, &ws, &out_file, access_accounts);
    }
    if count_ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// The blueprint of the accounts whose access and contacts are read (issue 18 syntax).
const ACCESS_BLUEPRINT: &str = "description: Benchmark account whose access and contacts vend reads
ou: \"\"
access:
  - { group: '{owner}-admins', permission_set: AdministratorAccess }
  - { group: platform-readonly, permission_set: ReadOnlyAccess }
contacts:
  security: { name: Security Team, email: security@example.com, phone: '+1 555 0100', title: SecOps }
";

/// `vend --aws snapshot save` in `ws`: the emulator's counts of that one run.
fn counted_save(emu: &Emulator, ws: &Path, out_file: &Path) -> Value {
    let (status, body) = emu.http("POST", "/_vend/stats/reset", "");
    assert_eq!(status, 200, "{body}");
    let out = emu
        .vend()
        .args(["--aws", "--endpoint-url", &emu.endpoint, "snapshot", "save", "--out"])
        .arg(out_file)
        .arg("-C")
        .arg(ws)
        .output()
        .unwrap();
    assert!(out.status.success(), "vend snapshot save failed: {}", String::from_utf8_lossy(&out.stderr));
    stats(emu)
}

/// Issue 18: the requests access and contacts add, per account whose blueprint declares them
/// (see the module's doc).
fn access_extra(emu: &Emulator, ws: &Path, out_file: &Path, k: usize) {
    let groups = ["team-bench-admins".to_string(), "platform-readonly".to_string()];
    let sets = ["AdministratorAccess".to_string(), "ReadOnlyAccess".to_string()];
    emulator_harness::seed::seed_identity_center(emu, &groups, &sets);
    let conf = emu.sdk_config();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(
        org::Client::new(&conf).enable_aws_service_access().service_principal("account.amazonaws.com").send(),
    )
    .unwrap();
    let base = counted_save(emu, ws, out_file);
    let dir = ws.join("blueprints/accounts/bench-access");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("v1.yaml"), ACCESS_BLUEPRINT).unwrap();
    for i in 0..k {
        let name = format!("acct-{i:04}");
        std::fs::write(
            ws.join(format!("catalog/accounts/{name}.yaml")),
            format!(
                "blueprint: bench-access@v1\nname: {name}\nemail: aws+{name}@example.com\nowner: team-bench\n"
            ),
        )
        .unwrap();
    }
    let with = counted_save(emu, ws, out_file);
    let state: vend::model::State =
        serde_json::from_str(&std::fs::read_to_string(out_file).unwrap()).unwrap();
    let read = state.access.as_ref().map(|a| a.read_accounts.len()).unwrap_or(0);
    let before: BTreeMap<String, u64> = by_op(&base).into_iter().collect();
    let mut extra: Vec<(String, u64)> = by_op(&with)
        .into_iter()
        .map(|(op, n)| {
            let was = before.get(&op).copied().unwrap_or(0);
            (op, n.saturating_sub(was))
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    extra.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let total = |s: &Value| s["total"].as_u64().unwrap_or(0);
    let added = total(&with).saturating_sub(total(&base));
    println!(
        "access and contacts: {k} accounts requested from a blueprint with 2 assignments and 1 contact ({read} read): \
         {} requests without them, {} with them",
        total(&base),
        total(&with)
    );
    for (op, n) in &extra {
        println!("  +{n:>5}  {op}");
    }
    // The per-account operations; the rest (group lookups) is once per read.
    let per_account: u64 = extra
        .iter()
        .filter(|(op, _)| op.ends_with("ListAccountAssignments") || op.ends_with("GetAlternateContact"))
        .map(|(_, n)| n)
        .sum();
    println!(
        "extra requests per such account: {:.2} (expected 3: ListAccountAssignments x 2, GetAlternateContact x 1); \
         once per read: {} (group lookups); all extra requests / accounts: {:.2}",
        per_account as f64 / k as f64,
        added - per_account.min(added),
        added as f64 / k as f64
    );
}
