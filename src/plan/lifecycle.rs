//! Blueprint version lifecycle on a plan (expand / contract): who still uses a deprecated
//! pipeline version (`version-deprecated-in-use`) or account blueprint version
//! (`blueprint-deprecated-in-use`) once the plan is applied, and which upgrades the plan
//! proposes (`upgrade-proposed`, with `upgrade: propose` or `vend plan --upgrade`; each
//! upgraded change's reason says where it comes from). Retiring (`retired:`) and removing a
//! version are planned in `build` (they need the version's changes); immutability of published
//! versions is `version-modified` there (pipeline versions) and in the loader (account
//! blueprint versions, `workspace::lock`); an account blueprint version in use but missing from
//! an existing `blueprints/accounts.lock` is `version-unlocked` here. Pure.

use super::{AccountKeys, Action, Change, Kind, Payload};
use crate::model::*;
use crate::workspace::rules::version_cmp;
use std::collections::{BTreeMap, BTreeSet};

/// The product and version a pipeline change asks for.
fn runs(c: &Change) -> (Option<&str>, Option<&str>) {
    match c.after.as_ref().and_then(Payload::pipeline_version) {
        Some((product, version)) => (Some(product), version),
        None => (None, None),
    }
}

/// Prefix the reason of every change the loader upgraded (`Desired::upgraded`).
pub fn mark_upgrades(desired: &Desired, changes: &mut [Change]) {
    for c in changes.iter_mut() {
        if let Some(from) = desired.upgraded.get(&c.address) {
            c.reason = format!("upgrade proposal from {from} (deprecated): {}", c.reason);
        }
    }
}

/// The users of deprecated versions after the plan, and the proposed upgrades (accounts named
/// by their keys, `AccountKeys`).
pub fn check(desired: &Desired, state: &State, changes: &[Change], keys: &AccountKeys) -> Vec<Diagnostic> {
    let mut out = vec![];
    let by_address: BTreeMap<&str, &Change> = changes.iter().map(|c| (c.address.as_str(), c)).collect();
    let account_names: BTreeMap<&str, &str> =
        state.accounts.iter().map(|a| (a.id.as_str(), keys.key(a))).collect();
    let hint = if desired.settings.upgrade {
        "it could not be upgraded (no newer published version)".to_string()
    } else {
        "`vend plan --upgrade` (or `upgrade: propose` in catalog/vend.yaml) proposes the upgrades".to_string()
    };

    // Pipeline versions.
    for product in desired.products.values() {
        let newest = product
            .versions
            .values()
            .filter(|v| !v.deprecated)
            .map(|v| v.name.clone())
            .max_by(|a, b| version_cmp(a, b));
        let sp = state
            .products
            .iter()
            .find(|p| p.name == product.name && State::is_managed(&p.tags, &desired.settings.ownership_tag));
        for v in product.versions.values().filter(|v| v.deprecated && !v.retired) {
            let mut users: BTreeSet<String> = BTreeSet::new();
            let version_id =
                sp.and_then(|p| p.versions.iter().find(|x| x.name == v.name)).map(|x| x.id.as_str());
            for pp in
                state.provisioned_products.iter().filter(|pp| Some(pp.version_id.as_str()) == version_id)
            {
                let Some(account) = account_names.get(pp.account_id.as_str()) else { continue };
                let key = format!("{account}/{}", pp.name);
                let leaves = by_address.get(Address::pipeline_key(&key).as_str()).is_some_and(|c| {
                    c.action == Action::Delete
                        || runs(c) != (Some(product.name.as_str()), Some(v.name.as_str()))
                });
                if !leaves {
                    users.insert(key);
                }
            }
            for c in
                changes.iter().filter(|c| c.kind == Kind::ProvisionedPipeline && c.action == Action::Create)
            {
                if runs(c) == (Some(product.name.as_str()), Some(v.name.as_str())) {
                    users.insert(format!("{} (new)", c.address.key()));
                }
            }
            if users.is_empty() {
                continue;
            }
            let newer = newest.as_ref().filter(|n| version_cmp(n, &v.name).is_gt());
            let advice = match newer {
                Some(n) => format!("the newest version is {n}; {hint}"),
                None => "no newer version is published".to_string(),
            };
            out.push(
                Diagnostic::warning(
                    "version-deprecated-in-use",
                    format!(
                        "{}@{} is deprecated and still used by {} pipeline(s): {}; {advice}",
                        product.name,
                        v.name,
                        users.len(),
                        users.into_iter().collect::<Vec<_>>().join(", ")
                    ),
                )
                .at(&product.origin),
            );
        }
    }

    // Account blueprint versions.
    for (name, deprecated) in &desired.deprecated_account_blueprints {
        let newest = desired.account_blueprints.get(name).and_then(|vs| {
            vs.iter().filter(|v| !deprecated.contains(v)).max_by(|a, b| version_cmp(a, b)).cloned()
        });
        for v in deprecated {
            let reference = format!("{name}@{v}");
            let mut users: BTreeSet<String> = desired
                .accounts
                .values()
                .filter(|a| a.blueprint == reference && a.lifecycle != Lifecycle::Close)
                .map(|a| a.name.clone())
                .collect();
            for a in &state.accounts {
                if a.state == "ACTIVE"
                    && a.tags.get("vend:blueprint") == Some(&reference)
                    && !keys.claimed(&a.id)
                {
                    users.insert(format!("{} (no request)", keys.key(a)));
                }
            }
            if users.is_empty() {
                continue;
            }
            let advice = match newest.as_ref().filter(|n| version_cmp(n, v).is_gt()) {
                Some(n) => format!("the newest version is {n}; {hint}"),
                None => "no newer version exists".to_string(),
            };
            out.push(
                Diagnostic::warning(
                    "blueprint-deprecated-in-use",
                    format!(
                        "account blueprint {reference} is deprecated and still used by {} account(s): {}; {advice}",
                        users.len(),
                        users.into_iter().collect::<Vec<_>>().join(", ")
                    ),
                )
                .at(&Origin::file(format!("blueprints/accounts/{name}/{v}.yaml"))),
            );
        }
    }

    out.extend(unlocked(desired, state, keys));

    // Proposed upgrades, by blueprint and version.
    let mut proposals: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (address, from) in &desired.upgraded {
        let to = if address.kind() == Kind::Account {
            desired.accounts.get(address.key()).map(|a| a.blueprint.clone())
        } else {
            desired.pipelines.get(address.key()).map(|p| {
                let blueprint = from.split('@').next().unwrap_or(&p.product);
                format!("{blueprint}@{}", p.version)
            })
        };
        if let Some(to) = to {
            proposals.entry((from.clone(), to)).or_default().push(address.to_string());
        }
    }
    for ((from, to), addresses) in proposals {
        out.push(Diagnostic::warning(
            "upgrade-proposed",
            format!(
                "upgrade proposed from {from} to {to} for {}; change the requests to {to} (or keep `upgrade: propose`) so later plans keep it",
                addresses.join(", ")
            ),
        ));
    }
    out
}

/// Account blueprint versions that vend-managed accounts use in the state, but that an existing
/// `blueprints/accounts.lock` does not list: edits of their files cannot be detected until
/// `vend apply` records them (a lock entry removed by hand shows up here).
fn unlocked(desired: &Desired, state: &State, keys: &AccountKeys) -> Vec<Diagnostic> {
    let Some(locked) = &desired.account_lock else { return vec![] };
    let mut users: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for a in &state.accounts {
        if !State::is_managed(&a.tags, &desired.settings.ownership_tag) {
            continue;
        }
        let Some(reference) = a.tags.get("vend:blueprint") else { continue };
        let known = crate::workspace::parse_ref(reference).is_some_and(|(n, v)| {
            desired.account_blueprints.get(n).is_some_and(|vs| vs.iter().any(|x| x == v))
        });
        if known && !locked.contains(reference) {
            users.entry(reference).or_default().push(keys.key(a));
        }
    }
    users
        .into_iter()
        .map(|(reference, accounts)| {
            let (name, version) = crate::workspace::parse_ref(reference).unwrap_or((reference, ""));
            let file = crate::workspace::lock::account_blueprint_file(name, version);
            Diagnostic::warning(
                "version-unlocked",
                format!(
                    "account blueprint {reference} is used by {} account(s) ({}) but {} does not record its hash, so an edit of {file} cannot be detected; `vend apply` records it (commit the lock)",
                    accounts.len(),
                    accounts.join(", "),
                    crate::workspace::lock::ACCOUNT_LOCK,
                ),
            )
            .at(&Origin::file(file))
        })
        .collect()
}
