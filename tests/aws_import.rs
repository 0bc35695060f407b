//! `vend import --aws` against the emulator (issue 15's acceptance), through the binary: the
//! brownfield organization of `tests/brownfield` seeded through the SDK
//! (`emulator_harness/brownfield.rs`) imports with nothing left out; `vend --aws plan --json`
//! has only `adopt` changes and is applyable; `vend --aws apply` succeeds and updates no
//! provisioned product; the re-plan is empty; everything the SDK lists — accounts, OUs, SCP
//! attachments, portfolios, products, versions, shares, provisioned products — is in the
//! workspace and in `vend --aws snapshot save` with the same parent, targets and version. A
//! snapshot saved with `--for-import` imports (`--state`) to the same bytes.
//!
//! CI size: 120 accounts in 50 OUs; `VEND_IMPORT_ACCOUNTS=1000` for the size.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod brownfield;
#[path = "emulator_harness/brownfield.rs"]
mod brownfield_seed;
mod common;
mod emulator_harness;

use brownfield_seed::{Listed, ListedProvisioned};
use common::{changes, text};
use emulator_harness::{Emulator, lock};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Output;
use vend::model::{Desired, ShareTarget, State};

fn size() -> usize {
    std::env::var("VEND_IMPORT_ACCOUNTS").ok().and_then(|v| v.parse().ok()).unwrap_or(120)
}

/// `vend ARGS` in `cwd` against the emulator (`--aws` is the caller's), with a file key store in
/// `cfg`.
fn vend(emu: &Emulator, cwd: &Path, cfg: &Path, args: &[&str]) -> Output {
    emu.vend()
        .args(args)
        .current_dir(cwd)
        .env("XDG_CONFIG_HOME", cfg)
        .env("VEND_KEY_STORE", "file")
        .env("USER", "tester")
        .output()
        .unwrap()
}

fn aws<'a>(emu: &'a Emulator, args: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["--aws", "--endpoint-url", emu.endpoint.as_str()];
    v.extend_from_slice(args);
    v
}

fn says(out: &Output) -> String {
    format!("exit {:?}\nstdout:\n{}\nstderr:\n{}", out.status.code(), text(&out.stdout), text(&out.stderr))
}

fn plan_json(emu: &Emulator, ws: &Path, cfg: &Path) -> serde_json::Value {
    let out = vend(emu, ws, cfg, &aws(emu, &["plan", "--json"]));
    assert!(matches!(out.status.code(), Some(0..=2)), "{}", says(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", says(&out)))
}

/// The workspace as vend loads it (no diagnostics of severity error).
fn desired(ws: &Path) -> Desired {
    let files = vend::adapter::fs::read_workspace(ws).unwrap();
    let loaded = vend::workspace::load(&files);
    let errors: Vec<_> =
        loaded.diagnostics.iter().filter(|d| d.severity == vend::model::Severity::Error).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    loaded.desired
}

/// What the workspace declares, in the terms of `Listed` (account ids through the e-mails of
/// the SDK's listing).
fn declared(d: &Desired, listed: &Listed) -> Listed {
    let by_email: BTreeMap<String, String> =
        listed.accounts.iter().map(|(id, a)| (a.email.to_ascii_lowercase(), id.clone())).collect();
    let account_id = |key: &str| -> String {
        if let Some(a) = d.accounts.get(key) {
            return by_email
                .get(&a.email.to_ascii_lowercase())
                .unwrap_or_else(|| panic!("request {key}: no account with e-mail {}", a.email))
                .clone();
        }
        // Pipelines in the management account name it by its AWS name.
        assert_eq!(d.settings.management_account.as_deref(), Some(listed.mgmt.as_str()), "{key}");
        listed.mgmt.clone()
    };
    let mut out = Listed { mgmt: listed.mgmt.clone(), root: listed.root.clone(), ..Default::default() };
    out.ous = d.ous.keys().map(|p| (p.clone(), p.clone())).collect();
    for (key, a) in &d.accounts {
        let id = account_id(key);
        let l = &listed.accounts[&id];
        out.accounts.insert(
            id.clone(),
            brownfield_seed::ListedAccount {
                name: a.aws_name.clone(),
                email: a.email.clone(),
                status: l.status.clone(),
                parent: a.ou.clone(),
                tags: BTreeMap::new(),
            },
        );
        for p in &a.policies {
            out.attachments.insert((p.clone(), format!("account:{id}")));
        }
    }
    for p in &d.root_policies {
        out.attachments.insert((p.clone(), "root".into()));
    }
    for (path, ou) in &d.ous {
        for p in &ou.policies {
            out.attachments.insert((p.clone(), format!("ou:{path}")));
        }
    }
    for (name, p) in &d.portfolios {
        let lp = brownfield_seed::ListedPortfolio {
            id: String::new(),
            products: p.products.iter().cloned().collect(),
            shares: p
                .shares
                .iter()
                .map(|s| {
                    let key = match s {
                        ShareTarget::Organization => "organization".to_string(),
                        ShareTarget::Ou(path) => format!("ou:{path}"),
                        ShareTarget::Account(a) => format!("account:{}", account_id(a)),
                    };
                    (key, p.share_principals.unwrap_or(false))
                })
                .collect(),
            principals: p.principals.iter().cloned().collect(),
            launch_roles: p
                .launch_role
                .iter()
                .flat_map(|r| p.products.iter().map(move |prod| (prod.clone(), r.clone())))
                .collect(),
        };
        out.portfolios.insert(name.clone(), lp);
    }
    for (name, p) in &d.products {
        out.products.insert(
            name.clone(),
            p.versions
                .iter()
                .map(|(v, dv)| (v.clone(), if dv.deprecated { "DEPRECATED" } else { "DEFAULT" }.to_string()))
                .collect(),
        );
    }
    for pl in d.pipelines.values() {
        out.provisioned.insert(
            (account_id(&pl.account), pl.name.clone()),
            ListedProvisioned {
                id: String::new(),
                product: pl.product.clone(),
                version: pl.version.clone(),
                version_id: String::new(),
                status: String::new(),
                last_record: String::new(),
            },
        );
    }
    out
}

/// What a snapshot holds, in the terms of `Listed`.
fn snapshot_listed(s: &State) -> Listed {
    let mut out = Listed {
        mgmt: s.organization.management_account_id.clone(),
        root: s.organization.root_id.clone(),
        ..Default::default()
    };
    let ou = |id: &str| s.organizational_units.iter().find(|o| o.id == id).cloned();
    let path = |id: &str| -> String {
        let mut names = vec![];
        let mut id = id.to_string();
        while let Some(o) = ou(&id) {
            names.push(o.name.clone());
            id = o.parent_id;
        }
        names.reverse();
        names.join("/")
    };
    out.ous = s.organizational_units.iter().map(|o| (o.id.clone(), path(&o.id))).collect();
    for a in s.accounts.iter().filter(|a| a.id != out.mgmt) {
        out.accounts.insert(
            a.id.clone(),
            brownfield_seed::ListedAccount {
                name: a.name.clone(),
                email: a.email.clone(),
                status: a.state.clone(),
                parent: path(&a.parent_id),
                tags: a.tags.clone(),
            },
        );
    }
    for p in s.policies.iter().filter(|p| !p.aws_managed) {
        for t in &p.target_ids {
            let target = if *t == out.root {
                "root".to_string()
            } else if ou(t).is_some() {
                format!("ou:{}", path(t))
            } else {
                format!("account:{t}")
            };
            out.attachments.insert((p.name.clone(), target));
        }
    }
    let product = |id: &str| s.products.iter().find(|p| p.id == id).unwrap();
    for p in &s.portfolios {
        let lp = brownfield_seed::ListedPortfolio {
            id: p.id.clone(),
            products: p.product_ids.iter().map(|id| product(id).name.clone()).collect(),
            shares: p
                .shares
                .iter()
                .map(|sh| {
                    let key = match sh.share_type.as_str() {
                        "ORGANIZATION" => "organization".to_string(),
                        "ORGANIZATIONAL_UNIT" => format!("ou:{}", path(&sh.value)),
                        _ => format!("account:{}", sh.value),
                    };
                    (key, sh.share_principals)
                })
                .collect(),
            principals: p.principals.iter().map(|x| x.arn.clone()).collect(),
            launch_roles: p
                .launch_constraints
                .iter()
                .map(|c| (product(&c.product_id).name.clone(), c.local_role_name.clone()))
                .collect(),
        };
        out.portfolios.insert(p.name.clone(), lp);
    }
    for p in &s.products {
        out.products.insert(
            p.name.clone(),
            p.versions.iter().map(|v| (v.name.clone(), v.guidance.clone())).collect(),
        );
    }
    for pp in &s.provisioned_products {
        let prod = product(&pp.product_id);
        let version = prod.versions.iter().find(|v| v.id == pp.version_id).unwrap();
        out.provisioned.insert(
            (pp.account_id.clone(), pp.name.clone()),
            ListedProvisioned {
                id: pp.id.clone(),
                product: prod.name.clone(),
                version: version.name.clone(),
                version_id: pp.version_id.clone(),
                status: pp.status.clone(),
                last_record: String::new(),
            },
        );
    }
    out
}

/// `listed` without what a workspace does not say: ids, statuses, tags, records (the OUs by path).
fn shape(l: &Listed) -> Listed {
    let mut out = l.clone();
    out.ous = l.ous.values().map(|p| (p.clone(), p.clone())).collect();
    for a in out.accounts.values_mut() {
        a.tags.clear();
    }
    for p in out.portfolios.values_mut() {
        p.id.clear();
    }
    for p in out.provisioned.values_mut() {
        *p = ListedProvisioned { product: p.product.clone(), version: p.version.clone(), ..blank() };
    }
    out
}

fn blank() -> ListedProvisioned {
    ListedProvisioned {
        id: String::new(),
        product: String::new(),
        version: String::new(),
        version_id: String::new(),
        status: String::new(),
        last_record: String::new(),
    }
}

/// Compare two listings part by part (readable failures on a large organization).
fn same(what: &str, want: &Listed, got: &Listed) {
    fn diff<K: Ord + std::fmt::Debug + Clone, V: PartialEq + std::fmt::Debug>(
        what: &str,
        part: &str,
        want: &BTreeMap<K, V>,
        got: &BTreeMap<K, V>,
    ) {
        let missing: Vec<&K> = want.keys().filter(|k| !got.contains_key(k)).collect();
        let extra: Vec<&K> = got.keys().filter(|k| !want.contains_key(k)).collect();
        let differ: Vec<(&K, &V, &V)> =
            want.iter().filter_map(|(k, v)| got.get(k).filter(|g| *g != v).map(|g| (k, v, g))).collect();
        assert!(
            missing.is_empty() && extra.is_empty() && differ.is_empty(),
            "{what}, {part}: missing {missing:#?}\nextra {extra:#?}\ndiffering (want, got) {differ:#?}"
        );
    }
    assert_eq!(want.mgmt, got.mgmt, "{what}: management account");
    diff(what, "OUs", &want.ous, &got.ous);
    diff(what, "accounts", &want.accounts, &got.accounts);
    let (w, g): (BTreeMap<_, ()>, BTreeMap<_, ()>) = (
        want.attachments.iter().map(|a| (a.clone(), ())).collect(),
        got.attachments.iter().map(|a| (a.clone(), ())).collect(),
    );
    diff(what, "SCP attachments", &w, &g);
    diff(what, "portfolios", &want.portfolios, &got.portfolios);
    diff(what, "products", &want.products, &got.products);
    diff(what, "provisioned products", &want.provisioned, &got.provisioned);
}

#[test]
fn a_brownfield_organization_imports_from_aws_and_its_first_plan_only_adopts() {
    let (_guard, emu) = lock();
    let n = size();
    let seeded = brownfield_seed::seed(emu, n, 50);
    let d = &seeded.state;
    let before = brownfield_seed::list(emu);
    // The seed is the description.
    assert_eq!(before.ous.len(), d.organizational_units.len());
    assert_eq!(before.accounts.len(), n);
    assert_eq!(
        before.accounts.values().filter(|a| a.status == "SUSPENDED").count(),
        (0..n).filter(|i| brownfield::suspended(*i)).count()
    );
    assert_eq!(before.provisioned.len(), d.provisioned_products.len());
    assert_eq!(before.products.values().map(BTreeMap::len).sum::<usize>(), 6);
    assert!(before.provisioned.values().all(|p| p.status == "AVAILABLE"), "{:#?}", before.provisioned);
    let port = &before.portfolios["Delivery Pipelines"];
    assert_eq!(port.shares.len(), 2);
    assert!(port.shares.values().all(|sp| !sp), "principal sharing off, as described: {port:#?}");
    assert_eq!(port.principals, BTreeSet::from(["arn:aws:iam:::role/ProductTeam*".to_string()]));

    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("cfg");

    // The import from AWS.
    let out = vend(emu, tmp.path(), &cfg, &aws(emu, &["import", "-C", "ws"]));
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", says(&out));
    assert!(report.contains("Nothing was left out"), "{report}");
    assert!(report.contains("To fill in"), "the NoEcho parameters are reported: {report}");
    let ws = tmp.path().join("ws");
    let imported = brownfield::files_of(&ws);

    // The same from a snapshot saved with its templates, without AWS (compared at the end).
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let snap = tmp.path().join("org.state.json");
    let out = vend(
        emu,
        &empty,
        &cfg,
        &aws(emu, &["snapshot", "save", "--for-import", "--out", snap.to_str().unwrap()]),
    );
    assert_eq!(out.status.code(), Some(0), "{}", says(&out));
    let out = vend(emu, tmp.path(), &cfg, &["--state", snap.to_str().unwrap(), "import", "-C", "ws2"]);
    assert_eq!(out.status.code(), Some(0), "{}", says(&out));
    assert!(text(&out.stdout).contains("Nothing was left out"), "{}", says(&out));
    // And from one saved in the imported workspace (whose pipeline requests name the accounts).
    let in_ws = tmp.path().join("ws.state.json");
    let out = vend(
        emu,
        &ws,
        &cfg,
        &aws(emu, &["snapshot", "save", "--for-import", "--out", in_ws.to_str().unwrap()]),
    );
    assert_eq!(out.status.code(), Some(0), "{}", says(&out));
    let out = vend(emu, tmp.path(), &cfg, &["--state", in_ws.to_str().unwrap(), "import", "-C", "ws3"]);
    assert_eq!(out.status.code(), Some(0), "{}", says(&out));
    // Everything the SDK lists is in the workspace, where it is in the organization.
    same("the workspace", &shape(&before), &declared(&desired(&ws), &before));
    for product in brownfield::PRODUCTS {
        for v in ["v1", "v2", "v3"] {
            let body = brownfield::template(product, v);
            assert!(
                imported.iter().any(|(p, b)| p.starts_with("blueprints/pipelines/")
                    && p.ends_with(&format!("/{v}/template.yaml"))
                    && *b == body.as_bytes()),
                "{product} {v}: its template is not in the workspace"
            );
        }
    }

    // The first plan only adopts, and is applyable.
    let plan = plan_json(emu, &ws, &cfg);
    assert_eq!(plan["applyable"], true, "{:#}", plan["diagnostics"]);
    let errors: Vec<&serde_json::Value> =
        plan["diagnostics"].as_array().unwrap().iter().filter(|d| d["severity"] == "error").collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let all = changes(&plan);
    let other: Vec<&(String, String)> = all.iter().filter(|(_, a)| a != "adopt").collect();
    assert!(other.is_empty(), "not only adoptions: {other:#?}");
    let count = |kind: &str| all.iter().filter(|(a, _)| a.starts_with(&format!("{kind}:"))).count();
    let active = before.accounts.values().filter(|a| a.status == "ACTIVE").count();
    assert_eq!(count("account"), active, "every ACTIVE member account is adopted");
    assert_eq!(count("ou"), before.ous.len());
    assert_eq!(count("policy"), 20);
    assert_eq!(count("portfolio"), 1);
    assert_eq!(count("product"), 2);
    assert_eq!(count("product_version"), 6);
    assert_eq!(count("provisioned_pipeline"), 0, "adopting a pipeline changes nothing in AWS");

    // Apply: succeeds; no provisioned product is launched, updated or terminated.
    let (status, body) = emu.http("POST", "/_vend/stats/reset", "");
    assert_eq!(status, 200, "{body}");
    let out = vend(emu, &ws, &cfg, &aws(emu, &["apply", "--auto-approve"]));
    assert_eq!(out.status.code(), Some(0), "{}", says(&out));
    let (_, body) = emu.http("GET", "/_vend/stats", "");
    let stats: serde_json::Value = serde_json::from_str(&body).unwrap();
    // (Adopting a version records its hash with UpdateProvisioningArtifact; its guidance stays.)
    for op in ["ProvisionProduct", "UpdateProvisionedProduct", "TerminateProvisionedProduct"] {
        assert!(
            stats["services"]["servicecatalog"][op].is_null(),
            "apply called {op}: {}",
            stats["services"]
        );
    }
    for op in ["MoveAccount", "CloseAccount", "CreateAccount", "DetachPolicy", "CreatePolicy", "UpdatePolicy"]
    {
        assert!(stats["services"]["organizations"][op].is_null(), "apply called {op}: {}", stats["services"]);
    }
    let after = brownfield_seed::list(emu);
    for (k, p) in &before.provisioned {
        let now = &after.provisioned[k];
        assert_eq!(
            (&p.id, &p.version_id, &p.last_record, now.status.as_str()),
            (&now.id, &now.version_id, &now.last_record, "AVAILABLE"),
            "{k:?} changed"
        );
    }
    let untagged = |l: &Listed| {
        let mut l = l.clone();
        l.accounts.values_mut().for_each(|a| a.tags.clear());
        l
    };
    same("the organization after apply (tags aside)", &untagged(&before), &untagged(&after));

    // The re-plan is empty.
    let replan = plan_json(emu, &ws, &cfg);
    assert_eq!(changes(&replan), vec![], "{:#}", replan["diagnostics"]);
    let out = vend(emu, &ws, &cfg, &aws(emu, &["plan", "--detailed-exitcode"]));
    assert_eq!(out.status.code(), Some(0), "{}", says(&out));

    // `vend snapshot save --aws` in the workspace reads what the SDK lists.
    let saved = tmp.path().join("after.state.json");
    let out = vend(emu, &ws, &cfg, &aws(emu, &["snapshot", "save", "--out", saved.to_str().unwrap()]));
    assert_eq!(out.status.code(), Some(0), "{}", says(&out));
    let state: State = serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
    let mut want = after.clone();
    for p in want.provisioned.values_mut() {
        p.last_record.clear();
    }
    let mut got = snapshot_listed(&state);
    for (id, a) in got.accounts.iter_mut() {
        // Tags as the SDK lists them (the snapshot's, vend's own included).
        assert_eq!(a.tags, after.accounts[id].tags, "{id}: tags");
    }
    got.root = want.root.clone();
    same("vend snapshot save --aws", &want, &got);

    // The imports from the snapshots (saved before the apply) are the import from AWS.
    same_files(
        "a snapshot saved in the workspace",
        &imported,
        &brownfield::files_of(&tmp.path().join("ws3")),
    );
    same_files(
        "a snapshot saved outside a workspace",
        &imported,
        &brownfield::files_of(&tmp.path().join("ws2")),
    );
}

fn same_files(what: &str, want: &BTreeMap<String, Vec<u8>>, got: &BTreeMap<String, Vec<u8>>) {
    let differ: Vec<&String> = want
        .keys()
        .chain(got.keys())
        .filter(|k| want.get(*k) != got.get(*k))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert!(
        differ.is_empty(),
        "the imports from AWS and from {what} differ in {differ:#?}; the first:\n--- AWS\n{}\n--- snapshot\n{}",
        text(want.get(differ[0]).map(Vec::as_slice).unwrap_or_default()),
        text(got.get(differ[0]).map(Vec::as_slice).unwrap_or_default())
    );
}
