//! `build`: desired vs observed -> ordered changes and plan-stage diagnostics.
//!
//! Rules (DESIGN §2): vend changes only what carries its ownership tag, or what the workspace
//! explicitly takes over (`lifecycle: adopt` for accounts; declaring an existing OU, or an
//! existing customer SCP with the same document). Managed
//! OUs, SCPs, portfolios, products, versions and launched pipelines absent from the workspace
//! are deleted; accounts never are (only `lifecycle: close` closes one). Tags are merged: vend
//! sets the keys it asks for and never removes keys it did not write.
//!
//! This file holds the entry points, the `Planner` and what crosses kinds (policy type, the
//! ids apply needs, removal-after-replacement ordering); one file per job beside it: `org`
//! (OUs), `scp` (SCP documents and attachments), `accounts`, `catalog` (products, versions,
//! portfolios and their members), `pipelines`. Each change side is a typed `Payload`.

use super::payload::*;
use super::{AccountKeys, Action, Address, Basis, Change, Kind, Plan, ShareKey, Target, order};
use crate::model::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

mod access;
mod accounts;
mod catalog;
mod claim;
mod launch;
mod org;
mod permission_sets;
mod pipelines;
mod scp;

const SCP: &str = "SERVICE_CONTROL_POLICY";

/// Compute the plan that takes `state` to what `desired` asks for.
pub fn build(desired: &Desired, state: &State) -> Plan {
    let basis = Basis {
        state: state.fingerprint(),
        workspace: desired.fingerprint.clone(),
        source: if state.source == "aws" { "aws".into() } else { "state-file".into() },
    };
    let keys = AccountKeys::new(desired, state);
    let mut p = Planner::new(desired, state, &keys);
    if let Some(m) = &desired.settings.management_account
        && m != &state.organization.management_account_id
    {
        p.diags.push(Diagnostic::error(
            "wrong-organization",
            format!(
                "catalog/vend.yaml expects management account {m}, but the state belongs to {} ({}); refusing to plan against another organization",
                state.organization.management_account_id, state.organization.id
            ),
        ).at(&desired.settings.management_origin));
        return Plan::new(basis, vec![], p.diags.into_vec());
    }
    p.policy_type();
    p.ous();
    p.policies();
    p.accounts();
    p.attachments();
    p.products();
    p.portfolios();
    p.pipelines();
    p.launch_path();
    p.permission_sets();
    p.access();
    p.permission_set_deletes();
    p.ou_deletes();
    p.policy_deletes();
    p.removal_after_replacement();
    p.annotate_references();
    let mut changes = p.changes;
    super::lifecycle::mark_upgrades(desired, &mut changes);
    let changes = order::sort(changes);
    let mut diags = p.diags.into_vec();
    diags.extend(super::lifecycle::check(desired, state, &changes, &keys));
    let projection = super::effective::Projection::new(state, &changes, &keys);
    diags.extend(super::guardrails::check_with(desired, state, &changes, &projection));
    let effective = super::effective::preview_of(&projection);
    let access = super::effective::access_preview(state, &changes);
    let mut plan = Plan::new(basis, changes, diags);
    plan.effective_policies = (!effective.is_empty()).then_some(effective);
    plan.effective_access = (!access.is_empty()).then_some(access);
    plan
}

/// Every address the workspace asks for, whether or not it changes.
pub fn desired_addresses(d: &Desired) -> BTreeSet<Address> {
    let mut out = BTreeSet::new();
    out.extend(d.ous.keys().map(|p| Address::ou(p)));
    out.extend(d.policies.keys().map(|p| Address::policy(p)));
    out.extend(d.accounts.keys().map(|a| Address::account(a)));
    out.extend(d.root_policies.iter().map(|p| Address::policy_attachment(p, &Target::Root)));
    for ou in d.ous.values() {
        out.extend(ou.policies.iter().map(|p| Address::policy_attachment(p, &Target::ou(&ou.path))));
    }
    for a in d.accounts.values() {
        out.extend(a.policies.iter().map(|p| Address::policy_attachment(p, &Target::account(&a.name))));
    }
    for p in d.products.values() {
        out.insert(Address::product(&p.name));
        out.extend(p.versions.keys().map(|v| Address::product_version(&p.name, v)));
    }
    for p in d.portfolios.values() {
        out.insert(Address::portfolio(&p.name));
        out.extend(p.products.iter().map(|x| Address::portfolio_product(&p.name, x)));
        out.extend(p.principals.iter().map(|x| Address::portfolio_principal(&p.name, x)));
        out.extend(p.shares.iter().map(|x| Address::portfolio_share(&p.name, &x.key())));
        if p.launch_role.is_some() {
            out.extend(p.products.iter().map(|x| Address::launch_constraint(&p.name, x)));
        }
    }
    out.extend(d.pipelines.keys().map(|k| Address::pipeline_key(k)));
    for a in d.accounts.values() {
        out.extend(
            a.access.iter().map(|e| Address::account_assignment(&a.name, &e.group, &e.permission_set)),
        );
        out.extend(a.contacts.iter().map(|c| Address::alternate_contact(&a.name, &c.contact_type)));
    }
    out
}

/// The desired addresses that the plan does not change.
pub fn unchanged(d: &Desired, plan: &Plan) -> Vec<Address> {
    let changed: BTreeSet<&Address> = plan.changes.iter().map(|c| &c.address).collect();
    desired_addresses(d).into_iter().filter(|a| !changed.contains(a)).collect()
}

/// What the planner decided about a requested account.
#[derive(Debug, Clone)]
enum AccountFate {
    /// Will be created: no id yet.
    New,
    /// Exists (managed, or adopted in this plan) and stays.
    Existing(String),
    /// Being created already, being closed, suspended, or in error: nothing depends on it.
    Skip,
}

struct Planner<'a> {
    d: &'a Desired,
    s: &'a State,
    own: &'a str,
    changes: Vec<Change>,
    diags: Diagnostics,
    /// OU id -> path (with the new names of the OUs renamed by `renamed_from:`: the paths
    /// the workspace uses).
    ou_path: BTreeMap<&'a str, String>,
    /// OUs renamed in place: id -> (the OU as the state has it, its path before the rename).
    renames: BTreeMap<&'a str, (&'a OrgUnit, String)>,
    /// OU path -> state OU.
    ou_by_path: BTreeMap<String, &'a OrgUnit>,
    accounts_by_id: BTreeMap<&'a str, &'a Account>,
    /// Lower-cased e-mail -> account (e-mails are unique in AWS).
    accounts_by_email: BTreeMap<String, &'a Account>,
    /// AWS account name -> accounts (AWS names repeat).
    accounts_by_name: BTreeMap<&'a str, Vec<&'a Account>>,
    /// Each state account's key in addresses (`account_key`): its request's, else its AWS name.
    keys: &'a AccountKeys,
    /// Key -> accounts (`account_named`).
    accounts_by_key: BTreeMap<&'a str, Vec<&'a Account>>,
    products_by_id: BTreeMap<&'a str, &'a Product>,
    /// (account id, name) -> provisioned product.
    launched: BTreeMap<(&'a str, &'a str), &'a ProvisionedProduct>,
    fates: BTreeMap<String, AccountFate>,
    /// Account id -> final parent (path; "" for the root), for accounts vend moves.
    moved: BTreeMap<String, String>,
    /// Managed SCPs that will be deleted.
    deleted_policies: BTreeSet<String>,
    /// Customer SCPs without the ownership tag that this plan adopts (by name).
    adopted_policies: BTreeSet<String>,
    /// Managed OUs (paths) that will be deleted.
    deleted_ous: BTreeSet<String>,
    product_ids: BTreeMap<String, &'a Product>,
    portfolio_ids: BTreeMap<String, &'a Portfolio>,
    /// Creations refused with an error (a same-name resource vend does not own): what depends
    /// on them is not planned either.
    refused: BTreeSet<Address>,
    /// Managed permission sets (names) this plan creates (their ARN is resolved at apply) and
    /// deletes (`permission_sets`).
    new_permission_sets: BTreeSet<String>,
    deleted_permission_sets: BTreeSet<String>,
}

fn managed(tags: &Tags, own: &str) -> bool {
    State::is_managed(tags, own)
}

/// `after` tags: the current tags with the desired keys set.
fn merge_tags(current: &Tags, desired: &Tags) -> Tags {
    let mut t = current.clone();
    for (k, v) in desired {
        t.insert(k.clone(), v.clone());
    }
    t
}

/// An existing OU as a change side: the snapshot with its path.
fn ou_state(o: &OrgUnit, path: &str) -> Payload {
    Payload::Ou(OuState {
        id: o.id.clone(),
        name: o.name.clone(),
        parent_id: o.parent_id.clone(),
        tags: o.tags.clone(),
        path: path.to_string(),
    })
}

/// An existing account as a change side, with its parent path when the change carries it.
fn account_state(a: &Account, parent: Option<Option<String>>) -> AccountState {
    AccountState {
        id: a.id.clone(),
        name: a.name.clone(),
        email: a.email.clone(),
        state: a.state.clone(),
        parent_id: Some(a.parent_id.clone()),
        tags: a.tags.clone(),
        parent,
    }
}

fn policy_state(p: &Policy) -> PolicyState {
    PolicyState {
        id: Some(p.id.clone()),
        name: p.name.clone(),
        policy_type: p.policy_type.clone(),
        aws_managed: p.aws_managed,
        content: p.content.clone(),
        target_ids: p.target_ids.clone(),
        tags: p.tags.clone(),
    }
}

fn product_state(p: &Product) -> ProductState {
    ProductState {
        id: Some(p.id.clone()),
        name: p.name.clone(),
        owner: p.owner.clone(),
        description: None,
        tags: p.tags.clone(),
        versions: p.versions.clone(),
        blueprint: None,
    }
}

fn version_state(v: &ProductVersion, product: &str) -> VersionState {
    VersionState {
        id: Some(v.id.clone()),
        name: v.name.clone(),
        active: v.active,
        guidance: v.guidance.clone(),
        description: v.description.clone(),
        template_url: v.template_url.clone(),
        product: product.to_string(),
        template_body: None,
        display: VersionDisplay::default(),
        product_id: None,
    }
}

/// A launched pipeline as a change side: the snapshot, then its account and product by name
/// (and its current version, when the change carries it).
fn pipeline_state(
    pp: &ProvisionedProduct,
    account: &str,
    product: String,
    version: Option<Option<String>>,
) -> PipelineState {
    PipelineState {
        id: Some(pp.id.clone()),
        name: pp.name.clone(),
        account_id: Some(pp.account_id.clone()),
        product_id: Some(pp.product_id.clone()),
        version_id: Some(pp.version_id.clone()),
        status: pp.status.clone(),
        params: pp.params.clone(),
        tags: pp.tags.clone(),
        account: account.to_string(),
        product,
        version,
        requested_at: None,
        mark_account: None,
    }
}

/// Set an id not known yet from `known`.
fn fill(slot: &mut Option<String>, known: Option<&&str>) {
    if slot.is_none() {
        *slot = known.map(|s| s.to_string());
    }
}

fn semantic_eq(a: &str, b: &str) -> bool {
    match (serde_json::from_str::<Value>(a), serde_json::from_str::<Value>(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

impl<'a> Planner<'a> {
    fn new(d: &'a Desired, s: &'a State, keys: &'a AccountKeys) -> Self {
        let own = d.settings.ownership_tag.as_str();
        let by_id: BTreeMap<&str, &OrgUnit> =
            s.organizational_units.iter().map(|o| (o.id.as_str(), o)).collect();
        let mut diags = Diagnostics::default();
        let renamed = org::resolve_renames(d, s, &mut diags);
        // An OU's path by its names: before the renames (`old`), or after them.
        let path_of = |o: &'a OrgUnit, old: bool| {
            let name = |o: &'a OrgUnit| match renamed.get(o.id.as_str()) {
                Some(ou) if !old => ou.name.as_str(),
                _ => o.name.as_str(),
            };
            let mut names = vec![name(o)];
            let mut cur = o.parent_id.as_str();
            let mut guard = 0;
            while let Some(parent) = by_id.get(cur) {
                names.push(name(parent));
                cur = parent.parent_id.as_str();
                guard += 1;
                if guard > 16 {
                    break;
                }
            }
            names.reverse();
            names.join("/")
        };
        let mut ou_path = BTreeMap::new();
        for o in &s.organizational_units {
            ou_path.insert(o.id.as_str(), path_of(o, false));
        }
        let renames =
            renamed.keys().filter_map(|id| by_id.get(id).map(|o| (*id, (*o, path_of(o, true))))).collect();
        let ou_by_path = s
            .organizational_units
            .iter()
            .filter_map(|o| ou_path.get(o.id.as_str()).map(|p| (p.clone(), o)))
            .collect();
        Planner {
            d,
            s,
            own,
            changes: vec![],
            diags,
            ou_path,
            renames,
            ou_by_path,
            accounts_by_id: s.accounts.iter().map(|a| (a.id.as_str(), a)).collect(),
            accounts_by_email: s.accounts.iter().map(|a| (a.email.to_ascii_lowercase(), a)).collect(),
            accounts_by_name: s.accounts.iter().fold(BTreeMap::new(), |mut m, a| {
                m.entry(a.name.as_str()).or_insert_with(Vec::new).push(a);
                m
            }),
            keys,
            accounts_by_key: s.accounts.iter().fold(BTreeMap::new(), |mut m, a| {
                m.entry(keys.key(a)).or_insert_with(Vec::new).push(a);
                m
            }),
            products_by_id: s.products.iter().map(|p| (p.id.as_str(), p)).collect(),
            launched: s
                .provisioned_products
                .iter()
                .map(|pp| ((pp.account_id.as_str(), pp.name.as_str()), pp))
                .collect(),
            fates: BTreeMap::new(),
            moved: BTreeMap::new(),
            deleted_policies: BTreeSet::new(),
            adopted_policies: BTreeSet::new(),
            deleted_ous: BTreeSet::new(),
            product_ids: BTreeMap::new(),
            portfolio_ids: BTreeMap::new(),
            refused: BTreeSet::new(),
            new_permission_sets: BTreeSet::new(),
            deleted_permission_sets: BTreeSet::new(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        kind: Kind,
        address: Address,
        action: Action,
        before: Option<Payload>,
        after: Option<Payload>,
        depends_on: Vec<Address>,
        reason: impl Into<String>,
    ) {
        self.changes.push(Change { address, kind, action, before, after, depends_on, reason: reason.into() });
    }

    fn error(&mut self, code: &str, at: &Origin, msg: impl Into<String>) {
        self.diags.error(code, at, msg);
    }

    /// An error that AWS would answer with `rule` (an id of `adapter::aws_rules`), for a code
    /// several rules share.
    fn error_rule(&mut self, rule: &str, code: &str, at: &Origin, msg: impl Into<String>) {
        self.diags.push(Diagnostic::error(code, msg).at(at).by_rule(Some(rule)));
    }

    fn warn(&mut self, code: &str, at: &Origin, msg: impl Into<String>) {
        self.diags.warning(code, at, msg);
    }

    /// A state account's key in addresses and in the workspace (`account:<key>`): the key of
    /// the request that claims it (same e-mail and AWS name), else its AWS name (`AccountKeys`).
    fn account_key(&self, a: &'a Account) -> &'a str {
        self.keys.key(a)
    }

    /// The path of a parent id ("" for the root), if known.
    fn parent_path(&self, parent_id: &str) -> Option<String> {
        if parent_id == self.s.organization.root_id {
            Some(String::new())
        } else {
            self.ou_path.get(parent_id).cloned()
        }
    }

    /// Does this OU path exist after the plan (declared, or in the state and not deleted)?
    fn ou_exists(&self, path: &str) -> bool {
        path.is_empty() || self.d.ous.contains_key(path) || self.ou_by_path.contains_key(path)
    }

    fn ou_id(&self, path: &str) -> Option<String> {
        if path.is_empty() {
            return Some(self.s.organization.root_id.clone());
        }
        self.ou_by_path.get(path).map(|o| o.id.clone())
    }

    fn scp_enabled(&self) -> bool {
        self.s.organization.enabled_policy_types.iter().any(|t| t == SCP)
    }

    // ---------------------------------------------------------------- policy type

    fn policy_type(&mut self) {
        if !self.d.policies.is_empty() && !self.scp_enabled() {
            self.push(
                Kind::PolicyType,
                Address::policy_type(SCP),
                Action::Create,
                None,
                Some(Payload::PolicyType(PolicyTypeState {
                    policy_type: SCP.into(),
                    root_id: self.s.organization.root_id.clone(),
                    status: "ENABLED".into(),
                })),
                vec![],
                "SCPs are used but the policy type is not enabled on the root",
            );
        }
    }

    // ---------------------------------------------------------------- references for apply

    /// Give every change the ids apply needs next to the names it refers to: `policy_id` on SCP
    /// attachments, `product` + `product_id` on versions, constraints and associations,
    /// `portfolio_id` on associations, principals, shares and constraints. An id is `null` when
    /// the referenced resource is created earlier in the same plan (apply resolves it then).
    fn annotate_references(&mut self) {
        let scp_ids: BTreeMap<&str, &str> = self
            .s
            .policies
            .iter()
            .filter(|p| p.policy_type == SCP)
            .map(|p| (p.name.as_str(), p.id.as_str()))
            .collect();
        // Managed ones, and those this plan adopts (`lifecycle: adopt`: not tagged yet).
        let product_ids: BTreeMap<&str, &str> = self
            .s
            .products
            .iter()
            .filter(|p| managed(&p.tags, self.own))
            .map(|p| (p.name.as_str(), p.id.as_str()))
            .chain(self.product_ids.iter().map(|(n, p)| (n.as_str(), p.id.as_str())))
            .collect();
        let portfolio_ids: BTreeMap<&str, &str> = self
            .s
            .portfolios
            .iter()
            .filter(|p| managed(&p.tags, self.own))
            .map(|p| (p.name.as_str(), p.id.as_str()))
            .chain(self.portfolio_ids.iter().map(|(n, p)| (n.as_str(), p.id.as_str())))
            .collect();
        for c in &mut self.changes {
            for side in [&mut c.before, &mut c.after].into_iter().flatten() {
                match side {
                    Payload::Attachment(a) => fill(&mut a.policy_id, scp_ids.get(a.policy.as_str())),
                    Payload::Version(v) => fill(&mut v.product_id, product_ids.get(v.product.as_str())),
                    Payload::Pipeline(p) => fill(&mut p.product_id, product_ids.get(p.product.as_str())),
                    Payload::PortfolioProduct(p) => {
                        fill(&mut p.product_id, product_ids.get(p.product.as_str()));
                        fill(&mut p.portfolio_id, portfolio_ids.get(p.portfolio.as_str()));
                    }
                    Payload::Constraint(p) => {
                        fill(&mut p.product_id, product_ids.get(p.product.as_str()));
                        fill(&mut p.portfolio_id, portfolio_ids.get(p.portfolio.as_str()));
                    }
                    Payload::Principal(p) => {
                        fill(&mut p.portfolio_id, portfolio_ids.get(p.portfolio.as_str()))
                    }
                    Payload::Share(p) => fill(&mut p.portfolio_id, portfolio_ids.get(p.portfolio.as_str())),
                    _ => {}
                }
            }
        }
    }

    // ---------------------------------------------------------------- cross-kind ordering

    /// Take away only after the replacement is in place: a deprecated version waits for the
    /// product's new versions; a removed share or principal waits for the portfolio's new ones;
    /// portfolio associations, shares, principals and launch constraints are removed only after
    /// the pipelines launched through them are terminated or replaced.
    fn removal_after_replacement(&mut self) {
        let adds: Vec<(Kind, Address)> = self
            .changes
            .iter()
            .filter(|c| matches!(c.action, Action::Create | Action::Replace))
            .map(|c| (c.kind, c.address.clone()))
            .collect();
        let terminations: Vec<Address> = self
            .changes
            .iter()
            .filter(|c| {
                c.kind == Kind::ProvisionedPipeline && matches!(c.action, Action::Delete | Action::Replace)
            })
            .map(|c| c.address.clone())
            .collect();
        for c in &mut self.changes {
            match (c.kind, c.action) {
                (Kind::ProductVersion, Action::Deprecate) => {
                    let product = c.address.scope().to_string();
                    c.depends_on.extend(
                        adds.iter()
                            .filter(|(k, a)| *k == Kind::ProductVersion && a.scope() == product)
                            .map(|(_, a)| a.clone()),
                    );
                }
                (Kind::PortfolioShare | Kind::PortfolioPrincipal, Action::Delete) => {
                    let portfolio = c.address.scope().to_string();
                    let kind = c.kind;
                    c.depends_on.extend(
                        adds.iter()
                            .filter(|(k, a)| *k == kind && a.scope() == portfolio)
                            .map(|(_, a)| a.clone()),
                    );
                    c.depends_on.extend(terminations.iter().cloned());
                }
                (Kind::PortfolioProduct | Kind::LaunchConstraint, Action::Delete) => {
                    c.depends_on.extend(terminations.iter().cloned());
                }
                _ => {}
            }
        }
    }
}

fn display_ou(path: &str) -> &str {
    if path.is_empty() { "(root)" } else { path }
}

/// A portfolio without its association lists (those are changes of their own).
fn portfolio_core(p: &Portfolio) -> PortfolioState {
    PortfolioState {
        id: Some(p.id.clone()),
        name: p.name.clone(),
        description: p.description.clone(),
        provider: p.provider.clone(),
        tags: p.tags.clone(),
        product_ids: None,
        principals: None,
        shares: None,
        launch_constraints: None,
    }
}

/// Do the stack's parameters match the request? A NoEcho parameter reads back masked (`****`)
/// from AWS: vend cannot see it and counts it as unchanged.
fn same_params(pp: &crate::model::ProvisionedProduct, dp: &crate::model::DesiredPipeline) -> bool {
    pp.params.len() == dp.params.len()
        && pp.params.iter().all(|(k, v)| match dp.params.get(k) {
            Some(want) => want == v || (dp.no_echo.contains(k) && v == crate::model::MASKED),
            None => false,
        })
}

#[cfg(test)]
mod tests {
    use super::same_params;
    use crate::model::{DesiredPipeline, Origin, ProvisionedProduct};
    use std::collections::BTreeMap;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn pair(state: &[(&str, &str)], want: &[(&str, &str)], no_echo: &[&str]) -> bool {
        let pp = ProvisionedProduct {
            id: "pp-1".into(),
            name: "p".into(),
            account_id: "222222222222".into(),
            product_id: "prod-1".into(),
            version_id: "pa-1".into(),
            status: "AVAILABLE".into(),
            params: map(state),
            tags: BTreeMap::new(),
        };
        let dp = DesiredPipeline {
            account: "a".into(),
            name: "p".into(),
            product: "prod".into(),
            version: "v1".into(),
            params: map(want),
            no_echo: no_echo.iter().map(|s| s.to_string()).collect(),
            origin: Origin::default(),
            blueprint_origin: Origin::default(),
            account_origin: Origin::default(),
            requested_at: None,
            adopt: None,
        };
        same_params(&pp, &dp)
    }

    #[test]
    fn parameters_compare_by_value_and_a_masked_no_echo_value_counts_as_unchanged() {
        assert!(pair(&[("A", "1"), ("B", "x")], &[("A", "1"), ("B", "x")], &[]));
        assert!(!pair(&[("A", "1")], &[("A", "2")], &[]));
        assert!(!pair(&[("A", "1")], &[("A", "1"), ("B", "x")], &[]), "a missing parameter differs");
        assert!(!pair(&[("A", "1"), ("B", "x")], &[("A", "1")], &[]), "an extra parameter differs");
        assert!(pair(&[("A", "1"), ("S", "****")], &[("A", "1"), ("S", "secret")], &["S"]));
        assert!(!pair(&[("S", "****")], &[("S", "secret")], &[]), "only NoEcho parameters are masked");
    }
}
