//! `build`: desired vs observed -> ordered changes and plan-stage diagnostics.
//!
//! Rules (DESIGN §2): vend changes only what carries its ownership tag, or what the workspace
//! explicitly takes over (`lifecycle: adopt` for accounts; declaring an existing OU). Managed
//! OUs, SCPs, portfolios, products, versions and launched pipelines absent from the workspace
//! are deleted; accounts never are (only `lifecycle: close` closes one). Tags are merged: vend
//! sets the keys it asks for and never removes keys it did not write.

use super::{Action, Basis, Change, Kind, Plan, order};
use crate::model::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

const SCP: &str = "SERVICE_CONTROL_POLICY";

/// Compute the plan that takes `state` to what `desired` asks for.
pub fn build(desired: &Desired, state: &State) -> Plan {
    let basis = Basis {
        state: state.fingerprint(),
        workspace: desired.fingerprint.clone(),
        source: if state.source == "aws" { "aws".into() } else { "state-file".into() },
    };
    let mut p = Planner::new(desired, state);
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
    p.ou_deletes();
    p.policy_deletes();
    p.removal_after_replacement();
    p.annotate_references();
    let mut changes = p.changes;
    super::lifecycle::mark_upgrades(desired, &mut changes);
    let changes = order::sort(changes);
    let mut diags = p.diags.into_vec();
    diags.extend(super::lifecycle::check(desired, state, &changes));
    let projection = super::effective::Projection::new(state, &changes);
    diags.extend(super::guardrails::check_with(desired, state, &changes, &projection));
    let effective = super::effective::preview_of(&projection);
    let mut plan = Plan::new(basis, changes, diags);
    plan.effective_policies = (!effective.is_empty()).then_some(effective);
    plan
}

/// Every address the workspace asks for, whether or not it changes.
pub fn desired_addresses(d: &Desired) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    out.extend(d.ous.keys().map(|p| format!("ou:{p}")));
    out.extend(d.policies.keys().map(|p| format!("policy:{p}")));
    out.extend(d.accounts.keys().map(|a| format!("account:{a}")));
    out.extend(d.root_policies.iter().map(|p| format!("policy_attachment:{p}@root")));
    for ou in d.ous.values() {
        out.extend(ou.policies.iter().map(|p| format!("policy_attachment:{p}@ou:{}", ou.path)));
    }
    for a in d.accounts.values() {
        out.extend(a.policies.iter().map(|p| format!("policy_attachment:{p}@account:{}", a.name)));
    }
    for p in d.products.values() {
        out.insert(format!("product:{}", p.name));
        out.extend(p.versions.keys().map(|v| format!("product_version:{}@{v}", p.name)));
    }
    for p in d.portfolios.values() {
        out.insert(format!("portfolio:{}", p.name));
        out.extend(p.products.iter().map(|x| format!("portfolio_product:{}/{x}", p.name)));
        out.extend(p.principals.iter().map(|x| format!("portfolio_principal:{}/{x}", p.name)));
        out.extend(p.shares.iter().map(|x| format!("portfolio_share:{}/{}", p.name, x.key())));
        if p.launch_role.is_some() {
            out.extend(p.products.iter().map(|x| format!("launch_constraint:{}/{x}", p.name)));
        }
    }
    out.extend(d.pipelines.keys().map(|k| format!("provisioned_pipeline:{k}")));
    out
}

/// The desired addresses that the plan does not change.
pub fn unchanged(d: &Desired, plan: &Plan) -> Vec<String> {
    let changed: BTreeSet<&str> = plan.changes.iter().map(|c| c.address.as_str()).collect();
    desired_addresses(d).into_iter().filter(|a| !changed.contains(a.as_str())).collect()
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
    /// OU id -> path.
    ou_path: BTreeMap<&'a str, String>,
    /// OU path -> state OU.
    ou_by_path: BTreeMap<String, &'a OrgUnit>,
    accounts_by_id: BTreeMap<&'a str, &'a Account>,
    /// Lower-cased e-mail -> account (e-mails are unique in AWS).
    accounts_by_email: BTreeMap<String, &'a Account>,
    accounts_by_name: BTreeMap<&'a str, Vec<&'a Account>>,
    products_by_id: BTreeMap<&'a str, &'a Product>,
    /// (account id, name) -> provisioned product.
    launched: BTreeMap<(&'a str, &'a str), &'a ProvisionedProduct>,
    fates: BTreeMap<String, AccountFate>,
    /// Account id -> final parent (path; "" for the root), for accounts vend moves.
    moved: BTreeMap<String, String>,
    /// Managed SCPs that will be deleted.
    deleted_policies: BTreeSet<String>,
    /// Managed OUs (paths) that will be deleted.
    deleted_ous: BTreeSet<String>,
    product_ids: BTreeMap<String, &'a Product>,
    portfolio_ids: BTreeMap<String, &'a Portfolio>,
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

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn with(mut v: Value, key: &str, x: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.insert(key.to_string(), x);
    }
    v
}

fn semantic_eq(a: &str, b: &str) -> bool {
    match (serde_json::from_str::<Value>(a), serde_json::from_str::<Value>(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

impl<'a> Planner<'a> {
    fn new(d: &'a Desired, s: &'a State) -> Self {
        let own = d.settings.ownership_tag.as_str();
        let by_id: BTreeMap<&str, &OrgUnit> =
            s.organizational_units.iter().map(|o| (o.id.as_str(), o)).collect();
        let mut ou_path = BTreeMap::new();
        for o in &s.organizational_units {
            let mut names = vec![o.name.as_str()];
            let mut cur = o.parent_id.as_str();
            let mut guard = 0;
            while let Some(parent) = by_id.get(cur) {
                names.push(parent.name.as_str());
                cur = parent.parent_id.as_str();
                guard += 1;
                if guard > 16 {
                    break;
                }
            }
            names.reverse();
            ou_path.insert(o.id.as_str(), names.join("/"));
        }
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
            diags: Diagnostics::default(),
            ou_path,
            ou_by_path,
            accounts_by_id: s.accounts.iter().map(|a| (a.id.as_str(), a)).collect(),
            accounts_by_email: s.accounts.iter().map(|a| (a.email.to_ascii_lowercase(), a)).collect(),
            accounts_by_name: s.accounts.iter().fold(BTreeMap::new(), |mut m, a| {
                m.entry(a.name.as_str()).or_insert_with(Vec::new).push(a);
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
            deleted_ous: BTreeSet::new(),
            product_ids: BTreeMap::new(),
            portfolio_ids: BTreeMap::new(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        kind: Kind,
        address: String,
        action: Action,
        before: Option<Value>,
        after: Option<Value>,
        depends_on: Vec<String>,
        reason: impl Into<String>,
    ) {
        self.changes.push(Change { address, kind, action, before, after, depends_on, reason: reason.into() });
    }

    fn error(&mut self, code: &str, at: &Origin, msg: impl Into<String>) {
        self.diags.error(code, at, msg);
    }

    fn warn(&mut self, code: &str, at: &Origin, msg: impl Into<String>) {
        self.diags.warning(code, at, msg);
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
                format!("policy_type:{SCP}"),
                Action::Create,
                None,
                Some(json!({ "type": SCP, "root_id": self.s.organization.root_id, "status": "ENABLED" })),
                vec![],
                "SCPs are used but the policy type is not enabled on the root",
            );
        }
    }

    // ---------------------------------------------------------------- OUs

    fn ous(&mut self) {
        let mut ous: Vec<&DesiredOu> = self.d.ous.values().collect();
        ous.sort_by_key(|o| (o.path.matches('/').count(), o.path.clone()));
        for ou in ous {
            let address = format!("ou:{}", ou.path);
            let parent_path = ou.parent.clone().unwrap_or_default();
            let parent_dep: Vec<String> = ou.parent.iter().map(|p| format!("ou:{p}")).collect();
            match self.ou_by_path.get(&ou.path).copied() {
                Some(existing) => {
                    let tags = merge_tags(&existing.tags, &ou.tags);
                    let before = with(to_value(existing), "path", json!(ou.path));
                    let after = with(with(before.clone(), "tags", to_value(&tags)), "path", json!(ou.path));
                    if !managed(&existing.tags, self.own) {
                        self.push(
                            Kind::Ou,
                            address,
                            Action::Adopt,
                            Some(before),
                            Some(after),
                            vec![],
                            "declared in organization.yaml; exists without the ownership tag, vend takes it over",
                        );
                    } else if tags != existing.tags {
                        self.push(
                            Kind::Ou,
                            address,
                            Action::Update,
                            Some(before),
                            Some(after),
                            vec![],
                            "tags differ",
                        );
                    }
                }
                None => {
                    let parent_id = self.ou_id(&parent_path);
                    self.push(
                        Kind::Ou,
                        address,
                        Action::Create,
                        None,
                        Some(json!({
                            "id": null, "name": ou.name, "parent_id": parent_id,
                            "path": ou.path, "parent": parent_path, "tags": ou.tags,
                        })),
                        parent_dep,
                        "new OU in organization.yaml",
                    );
                }
            }
        }
    }

    // ---------------------------------------------------------------- SCPs

    fn scp_by_name(&self, name: &str) -> Option<&'a Policy> {
        self.s.policies.iter().find(|p| p.policy_type == SCP && p.name == name)
    }

    fn policies(&mut self) {
        for (name, dp) in &self.d.policies {
            let address = format!("policy:{name}");
            match self.scp_by_name(name) {
                None => {
                    let mut tags = Tags::new();
                    tags.insert(self.own.to_string(), "true".into());
                    self.push(
                        Kind::Policy,
                        address,
                        Action::Create,
                        None,
                        Some(json!({
                            "id": null, "name": name, "type": SCP, "aws_managed": false,
                            "content": dp.content, "target_ids": [], "tags": tags,
                        })),
                        vec![format!("policy_type:{SCP}")],
                        "new SCP document in catalog/policies/",
                    );
                }
                Some(sp) if sp.aws_managed || !managed(&sp.tags, self.own) => {
                    self.error(
                        "unmanaged-conflict",
                        &dp.origin,
                        format!(
                            "an SCP named '{name}' ({}) already exists and vend does not manage it; rename the document or tag the policy {}=true",
                            sp.id, self.own
                        ),
                    );
                }
                Some(sp) => {
                    if !semantic_eq(&sp.content, &dp.content) {
                        let before = to_value(sp);
                        let after = with(before.clone(), "content", json!(dp.content));
                        self.push(
                            Kind::Policy,
                            address,
                            Action::Update,
                            Some(before),
                            Some(after),
                            vec![],
                            "document changed",
                        );
                    }
                }
            }
        }
        for sp in &self.s.policies {
            if sp.policy_type == SCP
                && !sp.aws_managed
                && managed(&sp.tags, self.own)
                && !self.d.policies.contains_key(&sp.name)
            {
                self.deleted_policies.insert(sp.name.clone());
            }
        }
    }

    fn policy_deletes(&mut self) {
        let names: Vec<String> = self.deleted_policies.iter().cloned().collect();
        for name in names {
            let Some(sp) = self.scp_by_name(&name) else { continue };
            let mut deps: Vec<String> = self
                .changes
                .iter()
                .filter(|c| {
                    c.kind == Kind::PolicyAttachment
                        && c.address.starts_with(&format!("policy_attachment:{name}@"))
                })
                .map(|c| c.address.clone())
                .collect();
            deps.extend(self.deleted_ous.iter().map(|p| format!("ou:{p}")));
            self.push(
                Kind::Policy,
                format!("policy:{name}"),
                Action::Delete,
                Some(to_value(sp)),
                None,
                deps,
                "managed SCP no longer in catalog/policies/",
            );
        }
    }

    // ---------------------------------------------------------------- accounts

    fn accounts(&mut self) {
        let protected: BTreeSet<&str> = self.d.settings.protected.iter().map(String::as_str).collect();
        let mgmt = self.s.organization.management_account_id.clone();
        let mut claimed: BTreeSet<String> = BTreeSet::new();
        for (name, da) in &self.d.accounts {
            let address = format!("account:{name}");
            let by_email = self.accounts_by_email.get(&da.email.to_ascii_lowercase()).copied();
            let existing = match by_email {
                Some(a) if a.name != da.name => {
                    self.error(
                        "email-in-use",
                        &da.email_origin,
                        format!(
                            "e-mail {} belongs to account '{}' ({}); e-mails are unique across AWS",
                            da.email, a.name, a.id
                        ),
                    );
                    self.fates.insert(name.clone(), AccountFate::Skip);
                    continue;
                }
                Some(a) => Some(a),
                None => {
                    if let Some(a) =
                        self.account_named(&da.name).into_iter().find(|a| managed(&a.tags, self.own))
                    {
                        self.error(
                            "email-immutable",
                            &da.email_origin,
                            format!(
                                "account '{}' ({}) has e-mail {}; an account's e-mail cannot be changed through the API",
                                a.name, a.id, a.email
                            ),
                        );
                        self.fates.insert(name.clone(), AccountFate::Skip);
                        continue;
                    }
                    None
                }
            };
            let Some(acct) = existing else {
                self.account_new(da, &address);
                continue;
            };
            claimed.insert(acct.id.clone());
            let is_protected = protected.contains(acct.id.as_str()) || acct.id == mgmt;
            let is_managed = managed(&acct.tags, self.own);
            if da.lifecycle == Lifecycle::Close {
                self.fates.insert(name.clone(), AccountFate::Skip);
                if matches!(acct.state.as_str(), "SUSPENDED" | "PENDING_CLOSURE" | "CLOSED") {
                    continue;
                }
                if is_protected {
                    self.error(
                        "protected",
                        &da.lifecycle_origin,
                        format!("account '{}' ({}) is protected; vend never closes it", acct.name, acct.id),
                    );
                    continue;
                }
                if !is_managed {
                    self.error(
                        "unmanaged-account",
                        &da.lifecycle_origin,
                        format!(
                            "account '{}' ({}) is not managed by vend; adopt it before closing it",
                            acct.name, acct.id
                        ),
                    );
                    continue;
                }
                let before = to_value(acct);
                let after = with(before.clone(), "state", json!("PENDING_CLOSURE"));
                self.push(
                    Kind::Account,
                    address,
                    Action::Close,
                    Some(before),
                    Some(after),
                    vec![],
                    "lifecycle: close (suspended, then closed; reopenable through Support for 90 days)",
                );
                continue;
            }
            if acct.state != "ACTIVE" {
                self.warn(
                    "account-suspended",
                    &da.origin,
                    format!(
                        "account '{}' ({}) is {}; nothing is planned for it",
                        acct.name, acct.id, acct.state
                    ),
                );
                self.fates.insert(name.clone(), AccountFate::Skip);
                continue;
            }
            if !is_managed && da.lifecycle != Lifecycle::Adopt {
                self.error(
                    "unmanaged-account",
                    &da.origin,
                    format!(
                        "account '{}' ({}) exists without the ownership tag {}; add `lifecycle: adopt` to take it over",
                        acct.name, acct.id, self.own
                    ),
                );
                self.fates.insert(name.clone(), AccountFate::Skip);
                continue;
            }
            // Where should it be?
            if !self.ou_exists(&da.ou) {
                self.error("unknown-ou", &da.ou_origin, format!("OU '{}' for account '{name}' exists neither in organization.yaml nor in the organization", da.ou));
                self.fates.insert(name.clone(), AccountFate::Skip);
                continue;
            }
            let current_parent = self.parent_path(&acct.parent_id);
            let moves = current_parent.as_deref() != Some(da.ou.as_str());
            let retag = da.tags.iter().any(|(k, v)| acct.tags.get(k) != Some(v));
            if (moves || retag) && is_protected {
                self.error(
                    "protected",
                    &da.origin,
                    format!(
                        "account '{}' ({}) is protected; vend never moves or changes it",
                        acct.name, acct.id
                    ),
                );
                self.fates.insert(name.clone(), AccountFate::Skip);
                continue;
            }
            self.fates.insert(name.clone(), AccountFate::Existing(acct.id.clone()));
            if is_managed && !moves && !retag {
                continue;
            }
            let tags = merge_tags(&acct.tags, &da.tags);
            let before = with(to_value(acct), "parent", json!(current_parent));
            let mut after = with(before.clone(), "tags", to_value(&tags));
            let mut deps = vec![];
            if moves {
                after = with(after, "parent_id", json!(self.ou_id(&da.ou)));
                after = with(after, "parent", json!(da.ou));
                deps.push(format!("ou:{}", da.ou));
                self.moved.insert(acct.id.clone(), da.ou.clone());
            }
            let from = current_parent.clone().unwrap_or_else(|| acct.parent_id.clone());
            let (action, reason) = if !is_managed {
                (Action::Adopt, "lifecycle: adopt: vend takes over an existing account".to_string())
            } else if moves {
                (Action::Move, format!("from '{}' to '{}'", display_ou(&from), display_ou(&da.ou)))
            } else if retag {
                (Action::Update, "tags differ".to_string())
            } else {
                continue;
            };
            self.push(Kind::Account, address, action, Some(before), Some(after), deps, reason);
        }
        // Managed accounts without a request: vend stops managing them (never closes).
        for a in &self.s.accounts {
            if managed(&a.tags, self.own) && !claimed.contains(&a.id) && a.state == "ACTIVE" {
                self.diags.push(Diagnostic::warning(
                    "request-removed",
                    format!(
                        "account '{}' ({}) carries {} but has no request in catalog/accounts/; vend leaves it as it is (closing needs `lifecycle: close`)",
                        a.name, a.id, self.own
                    ),
                ));
            }
        }
    }

    fn account_new(&mut self, da: &DesiredAccount, address: &str) {
        let name = &da.name;
        match da.lifecycle {
            Lifecycle::Close => {
                self.warn(
                    "nothing-to-close",
                    &da.origin,
                    format!("account '{name}' does not exist; nothing to close"),
                );
                self.fates.insert(name.clone(), AccountFate::Skip);
                return;
            }
            Lifecycle::Adopt => {
                self.error(
                    "adopt-missing",
                    &da.origin,
                    format!("no account with e-mail {} exists to adopt", da.email),
                );
                self.fates.insert(name.clone(), AccountFate::Skip);
                return;
            }
            Lifecycle::Manage => {}
        }
        let in_flight = self
            .s
            .create_account_requests
            .iter()
            .find(|r| r.account_name == *name && r.state == "IN_PROGRESS");
        if let Some(car) = in_flight {
            self.warn(
                "creation-in-progress",
                &da.origin,
                format!(
                    "account '{name}' is already being created ({}); apply waits for that request and never sends CreateAccount twice",
                    car.id
                ),
            );
        }
        if !self.ou_exists(&da.ou) {
            self.error("unknown-ou", &da.ou_origin, format!("OU '{}' for account '{name}' exists neither in organization.yaml nor in the organization", da.ou));
            self.fates.insert(name.clone(), AccountFate::Skip);
            return;
        }
        let failed = self
            .s
            .create_account_requests
            .iter()
            .filter(|r| r.account_name == *name && r.state == "FAILED")
            .filter_map(|r| r.failure_reason.clone())
            .next_back();
        let reason = match (in_flight, failed) {
            (Some(car), _) => {
                format!("new request; CreateAccount was already sent ({}), apply resumes it", car.id)
            }
            (None, Some(f)) => format!("new request (an earlier creation failed: {f})"),
            (None, None) => "new request".into(),
        };
        self.fates.insert(name.clone(), AccountFate::New);
        let mut after = json!({
            "id": null, "name": name, "email": da.email, "state": "ACTIVE",
            "parent_id": self.ou_id(&da.ou), "parent": da.ou, "tags": da.tags,
            "blueprint": da.blueprint,
            "create_account_request_id": in_flight.map(|r| r.id.clone()),
            "root_id": self.s.organization.root_id,
        });
        if let Some(at) = &da.requested_at {
            // For delivery metrics: apply records it with the creation's intent.
            after = with(after, "requested_at", json!(at));
        }
        self.push(
            Kind::Account,
            address.to_string(),
            Action::Create,
            None,
            Some(after),
            if da.ou.is_empty() { vec![] } else { vec![format!("ou:{}", da.ou)] },
            reason,
        );
    }

    // ---------------------------------------------------------------- SCP attachments

    fn attachments(&mut self) {
        // Current attachments per target id.
        let mut attached: BTreeMap<&str, Vec<&Policy>> = BTreeMap::new();
        for p in &self.s.policies {
            if p.policy_type != SCP {
                continue;
            }
            for t in &p.target_ids {
                attached.entry(t.as_str()).or_default().push(p);
            }
        }
        struct Target {
            address: String,
            id: Option<String>,
            desired: Vec<String>,
            origin: Origin,
            label: String,
        }
        let mut targets = vec![Target {
            address: "root".into(),
            id: Some(self.s.organization.root_id.clone()),
            desired: self.d.root_policies.clone(),
            origin: self.d.root_origin.clone(),
            label: "the root".into(),
        }];
        for ou in self.d.ous.values() {
            targets.push(Target {
                address: format!("ou:{}", ou.path),
                id: self.ou_id(&ou.path),
                desired: ou.policies.clone(),
                origin: ou.origin.clone(),
                label: format!("OU '{}'", ou.path),
            });
        }
        for (name, da) in &self.d.accounts {
            let id = match self.fates.get(name) {
                Some(AccountFate::New) => None,
                Some(AccountFate::Existing(id)) => Some(id.clone()),
                _ => continue,
            };
            targets.push(Target {
                address: format!("account:{name}"),
                id,
                desired: da.policies.clone(),
                origin: da.origin.clone(),
                label: format!("account '{name}'"),
            });
        }
        let covered: BTreeSet<String> = targets.iter().filter_map(|t| t.id.clone()).collect();
        // Targets outside the workspace that hold a policy being deleted.
        for (tid, pols) in &attached {
            if covered.contains(*tid) || !pols.iter().any(|p| self.deleted_policies.contains(&p.name)) {
                continue;
            }
            let (address, label) = if let Some(a) = self.accounts_by_id.get(tid) {
                (format!("account:{}", a.name), format!("account '{}'", a.name))
            } else if let Some(path) = self.ou_path.get(tid) {
                if !self.d.ous.contains_key(path)
                    && self.ou_by_path.get(path).is_some_and(|o| managed(&o.tags, self.own))
                {
                    continue; // the OU itself is deleted, which detaches its policies
                }
                (format!("ou:{path}"), format!("OU '{path}'"))
            } else {
                (tid.to_string(), tid.to_string())
            };
            let keep: Vec<String> = pols
                .iter()
                .filter(|p| {
                    managed(&p.tags, self.own) && !p.aws_managed && !self.deleted_policies.contains(&p.name)
                })
                .map(|p| p.name.clone())
                .collect();
            targets.push(Target {
                address,
                id: Some(tid.to_string()),
                desired: keep,
                origin: Origin::file("catalog/policies"),
                label,
            });
        }
        let enabled_later = !self.scp_enabled();
        for t in targets {
            let current: &[&Policy] =
                t.id.as_deref().and_then(|id| attached.get(id)).map(Vec::as_slice).unwrap_or(&[]);
            let is_new = t.id.is_none();
            let unmanaged = if is_new || (enabled_later && current.is_empty()) {
                1 // AWS attaches FullAWSAccess to new OUs and accounts, and everywhere on enabling
            } else {
                current.iter().filter(|p| p.aws_managed || !managed(&p.tags, self.own)).count()
            };
            let have: BTreeSet<String> = current
                .iter()
                .filter(|p| !p.aws_managed && managed(&p.tags, self.own))
                .map(|p| p.name.clone())
                .collect();
            let want: BTreeSet<String> = t.desired.iter().cloned().collect();
            if unmanaged + want.len() > crate::workspace::MAX_SCPS_PER_TARGET {
                self.error(
                    "scp-limit",
                    &t.origin,
                    format!(
                        "{} would have {} SCPs attached ({} not managed by vend); AWS allows at most {}",
                        t.label,
                        unmanaged + want.len(),
                        unmanaged,
                        crate::workspace::MAX_SCPS_PER_TARGET
                    ),
                );
                continue;
            }
            if unmanaged + want.len() == 0 {
                self.error(
                    "scp-none",
                    &t.origin,
                    format!("{} would be left with no SCP; AWS requires at least one (keep FullAWSAccess attached or list a policy)", t.label),
                );
                continue;
            }
            let union = have.union(&want).count();
            let detach_first = unmanaged + union > crate::workspace::MAX_SCPS_PER_TARGET;
            let attach_addrs: Vec<String> =
                want.difference(&have).map(|p| format!("policy_attachment:{p}@{}", t.address)).collect();
            let detach_addrs: Vec<String> =
                have.difference(&want).map(|p| format!("policy_attachment:{p}@{}", t.address)).collect();
            for p in want.difference(&have) {
                let mut deps = vec![format!("policy:{p}"), t.address.clone(), format!("policy_type:{SCP}")];
                if detach_first {
                    deps.extend(detach_addrs.iter().cloned());
                }
                self.push(
                    Kind::PolicyAttachment,
                    format!("policy_attachment:{p}@{}", t.address),
                    Action::Create,
                    None,
                    Some(json!({ "policy": p, "target": t.address, "target_id": t.id })),
                    deps,
                    format!("listed for {}", t.label),
                );
            }
            for p in have.difference(&want) {
                let deps = if detach_first { vec![] } else { attach_addrs.clone() };
                let reason = if self.deleted_policies.contains(p) {
                    "the SCP is deleted".to_string()
                } else {
                    format!("no longer listed for {}", t.label)
                };
                self.push(
                    Kind::PolicyAttachment,
                    format!("policy_attachment:{p}@{}", t.address),
                    Action::Delete,
                    Some(json!({ "policy": p, "target": t.address, "target_id": t.id })),
                    None,
                    deps,
                    reason,
                );
            }
        }
    }

    // ---------------------------------------------------------------- products and versions

    fn template_url(&self, product: &str, version: &str, sha: &str) -> String {
        let bucket = self
            .d
            .settings
            .template_bucket
            .replace("{management}", &self.s.organization.management_account_id);
        format!(
            "https://{bucket}.s3.{}.amazonaws.com/templates/{product}/{version}/{sha}.yaml",
            self.d.settings.region
        )
    }

    fn managed_products(&self, name: &str) -> Vec<&'a Product> {
        self.s.products.iter().filter(|p| p.name == name && managed(&p.tags, self.own)).collect()
    }

    fn products(&mut self) {
        for (name, dp) in &self.d.products {
            let address = format!("product:{name}");
            let found = self.managed_products(name);
            if found.len() > 1 {
                let ids: Vec<&str> = found.iter().map(|p| p.id.as_str()).collect();
                self.error(
                    "ambiguous-product",
                    &dp.origin,
                    format!("{} products named '{name}' carry the ownership tag ({}); remove the tag from all but one", found.len(), ids.join(", ")),
                );
                continue;
            }
            let existing = found.first().copied();
            match existing {
                None => self.push(
                    Kind::Product,
                    address.clone(),
                    Action::Create,
                    None,
                    Some(json!({
                        "id": null, "name": name, "owner": dp.owner, "description": dp.description,
                        "tags": dp.tags, "versions": [], "blueprint": dp.blueprint,
                    })),
                    vec![],
                    "product published in portfolios.yaml",
                ),
                Some(sp) => {
                    self.product_ids.insert(name.clone(), sp);
                    let tags = merge_tags(&sp.tags, &dp.tags);
                    if sp.owner != dp.owner || tags != sp.tags {
                        let before = to_value(sp);
                        let after =
                            with(with(before.clone(), "owner", json!(dp.owner)), "tags", to_value(&tags));
                        self.push(
                            Kind::Product,
                            address.clone(),
                            Action::Update,
                            Some(before),
                            Some(after),
                            vec![],
                            "owner or tags differ",
                        );
                    }
                }
            }
            let mut creates = vec![];
            for (vname, dv) in &dp.versions {
                let vaddr = format!("product_version:{name}@{vname}");
                let desc = format!("vend-sha256:{}", dv.sha256);
                let guidance = if dv.deprecated { "DEPRECATED" } else { "DEFAULT" };
                let sv = existing.and_then(|p| p.versions.iter().find(|v| v.name == *vname));
                match sv {
                    None => {
                        let mut after = json!({
                            "id": null, "name": vname, "active": true, "guidance": guidance,
                            "description": desc, "template_url": self.template_url(name, vname, &dv.sha256),
                            "product": name, "template_body": dv.template_body,
                        });
                        if let Some(prev) = &dv.previous
                            && let Some(pv) = dp.versions.get(prev)
                        {
                            after = with(after, "previous_version", json!(prev));
                            after = with(after, "previous_template_body", json!(pv.template_body));
                        }
                        creates.push(vaddr.clone());
                        self.push(
                            Kind::ProductVersion,
                            vaddr,
                            Action::Create,
                            None,
                            Some(after),
                            vec![address.clone()],
                            "new version listed in portfolios.yaml",
                        );
                    }
                    Some(sv) => {
                        if sv.description != desc {
                            let recorded = sv.description.strip_prefix("vend-sha256:").unwrap_or("(none)");
                            self.error(
                                "version-modified",
                                &dv.origin,
                                format!(
                                    "{name}@{vname} was published with sha256 {recorded}, but its files ({} and its template in that folder) now hash to {}; published versions are immutable: restore {vname} and publish the change as a new version (a new folder beside it, listed in portfolios.yaml)",
                                    dv.origin.file, dv.sha256
                                ),
                            );
                            continue;
                        }
                        let before = to_value(sv);
                        let after = with(
                            with(before.clone(), "guidance", json!(guidance)),
                            "active",
                            json!(!dv.retired),
                        );
                        if dv.retired {
                            if !sv.active && sv.guidance == "DEPRECATED" {
                                continue;
                            }
                            let users = self.version_users(name, vname, &sv.id);
                            if !users.is_empty() {
                                self.error(
                                    "version-retired-in-use",
                                    &dp.origin,
                                    format!(
                                        "{name}@{vname} is listed under retired: but is still used by {}; upgrade them first (`vend plan --upgrade`)",
                                        users.join(", ")
                                    ),
                                );
                                continue;
                            }
                            self.push(
                                Kind::ProductVersion,
                                vaddr,
                                Action::Update,
                                Some(before),
                                Some(after),
                                vec![],
                                "retired: inactive (hidden, no launches); remove it from versions: to delete it",
                            );
                        } else if dv.deprecated && sv.guidance != "DEPRECATED" {
                            self.push(
                                Kind::ProductVersion,
                                vaddr,
                                Action::Deprecate,
                                Some(before),
                                Some(after),
                                vec![],
                                "listed under deprecated: existing pipelines keep working, no new launches",
                            );
                        } else if (!dv.deprecated && sv.guidance == "DEPRECATED") || !sv.active {
                            self.push(
                                Kind::ProductVersion,
                                vaddr,
                                Action::Update,
                                Some(before),
                                Some(after),
                                vec![],
                                "guidance or active flag differs",
                            );
                        }
                    }
                }
            }
            if let Some(sp) = existing {
                for sv in &sp.versions {
                    if dp.versions.contains_key(&sv.name) {
                        continue;
                    }
                    let mut in_use: Vec<&str> = vec![];
                    let mut leaving: Vec<String> = creates.clone();
                    for pp in self.s.provisioned_products.iter().filter(|pp| pp.version_id == sv.id) {
                        match self.pipeline_leaves(pp, name, &sv.name) {
                            Some(address) => leaving.push(address),
                            None => in_use.push(pp.name.as_str()),
                        }
                    }
                    if !in_use.is_empty() {
                        self.error(
                            "version-in-use",
                            &dp.origin,
                            format!(
                                "{name}@{} is no longer listed but provisioned pipelines still use it ({}); deprecate it instead",
                                sv.name,
                                in_use.join(", ")
                            ),
                        );
                        continue;
                    }
                    self.push(
                        Kind::ProductVersion,
                        format!("product_version:{name}@{}", sv.name),
                        Action::Delete,
                        Some(with(to_value(sv), "product", json!(name))),
                        None,
                        leaving,
                        "version no longer listed in portfolios.yaml",
                    );
                }
            }
        }
        for sp in &self.s.products {
            if !managed(&sp.tags, self.own) || self.d.products.contains_key(&sp.name) {
                continue;
            }
            let in_use: Vec<&str> = self
                .s
                .provisioned_products
                .iter()
                .filter(|pp| pp.product_id == sp.id && !managed(&pp.tags, self.own))
                .map(|pp| pp.name.as_str())
                .collect();
            if !in_use.is_empty() {
                self.diags.push(Diagnostic::error(
                    "product-in-use",
                    format!(
                        "product '{}' ({}) is no longer published, but pipelines vend does not manage still use it ({})",
                        sp.name,
                        sp.id,
                        in_use.join(", ")
                    ),
                ).at(&Origin::file("catalog/portfolios.yaml")));
                continue;
            }
            let deps: Vec<String> = self
                .s
                .portfolios
                .iter()
                .filter(|p| p.product_ids.contains(&sp.id))
                .flat_map(|p| {
                    [
                        format!("portfolio_product:{}/{}", p.name, sp.name),
                        format!("launch_constraint:{}/{}", p.name, sp.name),
                    ]
                })
                .chain(self.s.provisioned_products.iter().filter(|pp| pp.product_id == sp.id).filter_map(
                    |pp| {
                        self.accounts_by_id
                            .get(pp.account_id.as_str())
                            .map(|a| format!("provisioned_pipeline:{}/{}", a.name, pp.name))
                    },
                ))
                .collect();
            self.push(
                Kind::Product,
                format!("product:{}", sp.name),
                Action::Delete,
                Some(to_value(sp)),
                None,
                deps,
                "managed product no longer published in portfolios.yaml",
            );
        }
    }

    // ---------------------------------------------------------------- portfolios

    fn share_key(&self, share: &Share) -> String {
        match share.share_type.as_str() {
            "ORGANIZATION" => "organization".into(),
            "ORGANIZATIONAL_UNIT" => match self.ou_path.get(share.value.as_str()) {
                Some(p) => format!("ou:{p}"),
                None => format!("ou:{}", share.value),
            },
            "ACCOUNT" => match self.accounts_by_id.get(share.value.as_str()) {
                Some(a) => format!("account:{}", a.name),
                None => format!("account:{}", share.value),
            },
            other => format!("{}:{}", other.to_ascii_lowercase(), share.value),
        }
    }

    /// Resolve a desired share target: (key, share type, id if known, dependency).
    fn resolve_share(
        &self,
        t: &ShareTarget,
    ) -> Option<(String, &'static str, Option<String>, Option<String>)> {
        match t {
            ShareTarget::Organization => {
                Some(("organization".into(), "ORGANIZATION", Some(self.s.organization.id.clone()), None))
            }
            ShareTarget::Ou(path) => {
                if self.ou_exists(path) {
                    Some((
                        format!("ou:{path}"),
                        "ORGANIZATIONAL_UNIT",
                        self.ou_id(path),
                        Some(format!("ou:{path}")),
                    ))
                } else if let Some(a) = self.account_named(path).first().copied() {
                    Some((format!("account:{path}"), "ACCOUNT", Some(a.id.clone()), None))
                } else {
                    None
                }
            }
            ShareTarget::Account(name) => {
                let id = match self.fates.get(name) {
                    Some(AccountFate::Existing(id)) => Some(id.clone()),
                    _ => self.account_named(name).first().map(|a| a.id.clone()),
                };
                Some((format!("account:{name}"), "ACCOUNT", id, Some(format!("account:{name}"))))
            }
        }
    }

    fn portfolios(&mut self) {
        for (name, dp) in &self.d.portfolios {
            let address = format!("portfolio:{name}");
            let found: Vec<&Portfolio> =
                self.s.portfolios.iter().filter(|p| p.name == *name && managed(&p.tags, self.own)).collect();
            if found.len() > 1 {
                self.error(
                    "ambiguous-portfolio",
                    &dp.origin,
                    format!("{} portfolios named '{name}' carry the ownership tag", found.len()),
                );
                continue;
            }
            let existing = found.first().copied();
            match existing {
                None => self.push(
                    Kind::Portfolio,
                    address.clone(),
                    Action::Create,
                    None,
                    Some(json!({
                        "id": null, "name": name, "description": dp.description, "provider": dp.provider,
                        "tags": dp.tags, "product_ids": [], "principals": [], "shares": [], "launch_constraints": [],
                    })),
                    vec![],
                    "new portfolio in portfolios.yaml",
                ),
                Some(sp) => {
                    self.portfolio_ids.insert(name.clone(), sp);
                    let tags = merge_tags(&sp.tags, &dp.tags);
                    if sp.description != dp.description || sp.provider != dp.provider || tags != sp.tags {
                        let before = portfolio_core(sp);
                        let after = with(
                            with(with(before.clone(), "description", json!(dp.description)), "provider", json!(dp.provider)),
                            "tags",
                            to_value(&tags),
                        );
                        self.push(Kind::Portfolio, address.clone(), Action::Update, Some(before), Some(after), vec![], "description, provider or tags differ");
                    }
                }
            }
            // Products in the portfolio.
            let current_products: BTreeMap<String, &Product> = existing
                .map(|sp| {
                    sp.product_ids
                        .iter()
                        .filter_map(|id| self.products_by_id.get(id.as_str()).copied())
                        .map(|p| (p.name.clone(), p))
                        .collect()
                })
                .unwrap_or_default();
            for product in &dp.products {
                let in_portfolio = current_products
                    .get(product)
                    .is_some_and(|p| self.product_ids.get(product).is_some_and(|mp| mp.id == p.id));
                if !in_portfolio {
                    self.push(
                        Kind::PortfolioProduct,
                        format!("portfolio_product:{name}/{product}"),
                        Action::Create,
                        None,
                        Some(json!({ "portfolio": name, "product": product,
                                     "portfolio_id": existing.map(|p| p.id.clone()),
                                     "product_id": self.product_ids.get(product).map(|p| p.id.clone()) })),
                        vec![address.clone(), format!("product:{product}")],
                        "product listed in the portfolio",
                    );
                }
            }
            for (pname, p) in &current_products {
                if managed(&p.tags, self.own) && !dp.products.contains(pname) {
                    self.push(
                        Kind::PortfolioProduct,
                        format!("portfolio_product:{name}/{pname}"),
                        Action::Delete,
                        Some(json!({ "portfolio": name, "product": pname, "portfolio_id": existing.map(|p| p.id.clone()), "product_id": p.id })),
                        None,
                        vec![format!("launch_constraint:{name}/{pname}")],
                        "product no longer listed in the portfolio",
                    );
                }
            }
            // Principals.
            let current_principals: Vec<&Principal> =
                existing.map(|p| p.principals.iter().collect()).unwrap_or_default();
            for arn in &dp.principals {
                if !current_principals.iter().any(|p| &p.arn == arn) {
                    let ptype = crate::workspace::rules::principal(arn).unwrap_or("IAM_PATTERN");
                    self.push(
                        Kind::PortfolioPrincipal,
                        format!("portfolio_principal:{name}/{arn}"),
                        Action::Create,
                        None,
                        Some(json!({ "portfolio": name, "arn": arn, "type": ptype })),
                        vec![address.clone()],
                        "principal listed in the portfolio",
                    );
                }
            }
            for p in &current_principals {
                if !dp.principals.contains(&p.arn) {
                    self.push(
                        Kind::PortfolioPrincipal,
                        format!("portfolio_principal:{name}/{}", p.arn),
                        Action::Delete,
                        Some(json!({ "portfolio": name, "arn": p.arn, "type": p.principal_type })),
                        None,
                        vec![],
                        "principal no longer listed",
                    );
                }
            }
            // Shares.
            let current_shares: BTreeMap<String, &Share> = existing
                .map(|p| p.shares.iter().map(|s| (self.share_key(s), s)).collect())
                .unwrap_or_default();
            let mut wanted = BTreeSet::new();
            for t in &dp.shares {
                let Some((key, stype, id, dep)) = self.resolve_share(t) else {
                    let at = dp.share_origins.get(&t.key()).unwrap_or(&dp.origin);
                    self.error(
                        "unknown-share-target",
                        at,
                        format!(
                            "portfolio '{name}' is shared with '{}', which is neither an OU nor an account",
                            t.key().trim_start_matches("ou:")
                        ),
                    );
                    continue;
                };
                wanted.insert(key.clone());
                let after = json!({ "portfolio": name, "target": key, "type": stype, "value": id, "status": "COMPLETED" });
                let saddr = format!("portfolio_share:{name}/{key}");
                let deps: Vec<String> = std::iter::once(address.clone()).chain(dep).collect();
                match current_shares.get(&key) {
                    None => self.push(Kind::PortfolioShare, saddr, Action::Create, None, Some(after), deps, "share listed in the portfolio"),
                    Some(s) if matches!(s.status.as_str(), "ERROR" | "COMPLETED_WITH_ERRORS") => self.push(
                        Kind::PortfolioShare,
                        saddr,
                        Action::Replace,
                        Some(json!({ "portfolio": name, "target": key, "type": s.share_type, "value": s.value, "status": s.status })),
                        Some(after),
                        deps,
                        format!("share ended in {}; share again", s.status),
                    ),
                    Some(_) => {}
                }
            }
            for (key, s) in &current_shares {
                if !wanted.contains(key) {
                    self.push(
                        Kind::PortfolioShare,
                        format!("portfolio_share:{name}/{key}"),
                        Action::Delete,
                        Some(json!({ "portfolio": name, "target": key, "type": s.share_type, "value": s.value, "status": s.status })),
                        None,
                        vec![],
                        "share no longer listed",
                    );
                }
            }
            // Launch constraints: one per product when a launch role is set.
            let current_constraints: BTreeMap<String, &LaunchConstraint> = existing
                .map(|p| {
                    p.launch_constraints
                        .iter()
                        .filter_map(|c| {
                            self.products_by_id.get(c.product_id.as_str()).map(|x| (x.name.clone(), c))
                        })
                        .collect()
                })
                .unwrap_or_default();
            for product in &dp.products {
                let caddr = format!("launch_constraint:{name}/{product}");
                let current = current_constraints.get(product);
                match (&dp.launch_role, current) {
                    (Some(role), None) => self.push(
                        Kind::LaunchConstraint,
                        caddr,
                        Action::Create,
                        None,
                        Some(json!({ "portfolio": name, "product": product, "local_role_name": role })),
                        vec![format!("portfolio_product:{name}/{product}")],
                        "launch_role set on the portfolio",
                    ),
                    (Some(role), Some(c)) if &c.local_role_name != role => self.push(
                        Kind::LaunchConstraint,
                        caddr,
                        Action::Replace,
                        Some(json!({ "portfolio": name, "product": product, "local_role_name": c.local_role_name })),
                        Some(json!({ "portfolio": name, "product": product, "local_role_name": role })),
                        vec![],
                        "launch role changed (one launch constraint per product: delete, then create)",
                    ),
                    (None, Some(c)) => self.push(
                        Kind::LaunchConstraint,
                        caddr,
                        Action::Delete,
                        Some(json!({ "portfolio": name, "product": product, "local_role_name": c.local_role_name })),
                        None,
                        vec![],
                        "launch_role removed from the portfolio",
                    ),
                    _ => {}
                }
            }
            for (pname, c) in &current_constraints {
                let product_managed =
                    self.s.products.iter().any(|p| p.id == c.product_id && managed(&p.tags, self.own));
                if product_managed && !dp.products.contains(pname) {
                    self.push(
                        Kind::LaunchConstraint,
                        format!("launch_constraint:{name}/{pname}"),
                        Action::Delete,
                        Some(json!({ "portfolio": name, "product": pname, "local_role_name": c.local_role_name })),
                        None,
                        vec![],
                        "product no longer listed in the portfolio",
                    );
                }
            }
        }
        // Managed portfolios no longer in the workspace: remove everything in them, then them.
        for sp in &self.s.portfolios {
            if !managed(&sp.tags, self.own) || self.d.portfolios.contains_key(&sp.name) {
                continue;
            }
            let name = &sp.name;
            let mut deps = vec![];
            for c in &sp.launch_constraints {
                let pname = self.product_name(&c.product_id);
                let a = format!("launch_constraint:{name}/{pname}");
                deps.push(a.clone());
                self.push(
                    Kind::LaunchConstraint,
                    a,
                    Action::Delete,
                    Some(
                        json!({ "portfolio": name, "product": pname, "local_role_name": c.local_role_name }),
                    ),
                    None,
                    vec![],
                    "portfolio removed",
                );
            }
            for id in &sp.product_ids {
                let pname = self.product_name(id);
                let a = format!("portfolio_product:{name}/{pname}");
                deps.push(a.clone());
                self.push(Kind::PortfolioProduct, a, Action::Delete, Some(json!({ "portfolio": name, "product": pname, "portfolio_id": sp.id, "product_id": id })), None, vec![format!("launch_constraint:{name}/{pname}")], "portfolio removed");
            }
            for p in &sp.principals {
                let a = format!("portfolio_principal:{name}/{}", p.arn);
                deps.push(a.clone());
                self.push(
                    Kind::PortfolioPrincipal,
                    a,
                    Action::Delete,
                    Some(json!({ "portfolio": name, "arn": p.arn, "type": p.principal_type })),
                    None,
                    vec![],
                    "portfolio removed",
                );
            }
            for s in &sp.shares {
                let key = self.share_key(s);
                let a = format!("portfolio_share:{name}/{key}");
                deps.push(a.clone());
                self.push(Kind::PortfolioShare, a, Action::Delete, Some(json!({ "portfolio": name, "target": key, "type": s.share_type, "value": s.value, "status": s.status })), None, vec![], "portfolio removed");
            }
            self.push(
                Kind::Portfolio,
                format!("portfolio:{name}"),
                Action::Delete,
                Some(portfolio_core(sp)),
                None,
                deps,
                "managed portfolio no longer in portfolios.yaml",
            );
        }
    }

    /// Will this launched pipeline stop using `product@version` in this plan (its request asks
    /// for another version or product, or vend terminates it)? Returns its address if so.
    fn pipeline_leaves(&self, pp: &ProvisionedProduct, product: &str, version: &str) -> Option<String> {
        let account = self.accounts_by_id.get(pp.account_id.as_str())?;
        let key = format!("{}/{}", account.name, pp.name);
        let address = format!("provisioned_pipeline:{key}");
        match self.d.pipelines.get(&key) {
            Some(dp) if dp.product != product || dp.version != version => Some(address),
            Some(_) => None,
            None if managed(&pp.tags, self.own) => Some(address),
            None => None,
        }
    }

    /// Who uses `product@version` after the plan: launched pipelines that stay on it, and
    /// requests for it (as `account/name`).
    fn version_users(&self, product: &str, version: &str, version_id: &str) -> Vec<String> {
        let mut users: BTreeSet<String> = BTreeSet::new();
        for pp in self.s.provisioned_products.iter().filter(|pp| pp.version_id == version_id) {
            if self.pipeline_leaves(pp, product, version).is_none() {
                let account = self.accounts_by_id.get(pp.account_id.as_str()).map(|a| a.name.as_str());
                users.insert(format!("{}/{}", account.unwrap_or(pp.account_id.as_str()), pp.name));
            }
        }
        for (key, dp) in &self.d.pipelines {
            if dp.product == product && dp.version == version {
                users.insert(key.clone());
            }
        }
        users.into_iter().collect()
    }

    fn account_named(&self, name: &str) -> Vec<&'a Account> {
        self.accounts_by_name.get(name).cloned().unwrap_or_default()
    }

    fn product_name(&self, id: &str) -> String {
        self.products_by_id.get(id).map(|p| p.name.clone()).unwrap_or_else(|| id.to_string())
    }

    // ---------------------------------------------------------------- pipelines

    /// Is `account` (final OU path `ou`) covered by a share of a portfolio holding `product`?
    fn shared_with(&self, product: &str, account: &str, ou: Option<&str>) -> bool {
        self.d.portfolios.values().filter(|p| p.products.iter().any(|x| x == product)).any(|p| {
            p.shares.iter().any(|s| match s {
                ShareTarget::Organization => true,
                ShareTarget::Account(a) => a == account,
                ShareTarget::Ou(path) => {
                    path == account || ou.is_some_and(|o| o == path || o.starts_with(&format!("{path}/")))
                }
            })
        })
    }

    fn pipelines(&mut self) {
        let mgmt = self.s.organization.management_account_id.clone();
        let mut kept: BTreeSet<&str> = BTreeSet::new();
        for (key, dp) in &self.d.pipelines {
            let address = format!("provisioned_pipeline:{key}");
            let (account_id, final_ou): (Option<String>, Option<String>) = match self.fates.get(&dp.account) {
                Some(AccountFate::New) => (None, self.d.accounts.get(&dp.account).map(|a| a.ou.clone())),
                Some(AccountFate::Existing(id)) => {
                    (Some(id.clone()), self.d.accounts.get(&dp.account).map(|a| a.ou.clone()))
                }
                Some(AccountFate::Skip) => {
                    self.warn(
                        "pipeline-skipped",
                        &dp.origin,
                        format!(
                            "pipeline '{}' is not planned: its account '{}' is being created, closed, suspended or in error (see above)",
                            dp.name, dp.account
                        ),
                    );
                    continue;
                }
                None => match self.account_named(&dp.account).first().copied() {
                    Some(a) if a.state == "ACTIVE" => (Some(a.id.clone()), self.parent_path(&a.parent_id)),
                    Some(a) => {
                        self.warn(
                            "account-suspended",
                            &dp.origin,
                            format!(
                                "account '{}' is {}; pipeline '{}' is not planned",
                                a.name, a.state, dp.name
                            ),
                        );
                        continue;
                    }
                    None => {
                        self.error("unknown-account", &dp.account_origin, format!("account '{}' is neither requested in catalog/accounts/ nor in the organization", dp.account));
                        continue;
                    }
                },
            };
            if account_id.as_deref() != Some(mgmt.as_str())
                && !self.shared_with(&dp.product, &dp.account, final_ou.as_deref())
            {
                self.error(
                    "pipeline-not-shared",
                    &dp.account_origin,
                    format!(
                        "no portfolio holding '{}' is shared with account '{}' (OU '{}'); add a share in portfolios.yaml",
                        dp.product,
                        dp.account,
                        final_ou.clone().unwrap_or_default()
                    ),
                );
                continue;
            }
            let product = self.product_ids.get(&dp.product).copied();
            let version_id =
                product.and_then(|p| p.versions.iter().find(|v| v.name == dp.version)).map(|v| v.id.clone());
            let mut tags = Tags::new();
            tags.insert(self.own.to_string(), "true".into());
            let after = json!({
                "id": null, "name": dp.name, "account_id": account_id, "product_id": product.map(|p| p.id.clone()),
                "version_id": version_id, "status": "AVAILABLE", "params": dp.params, "tags": tags,
                "account": dp.account, "product": dp.product, "version": dp.version,
            });
            let mut deps = vec![
                format!("account:{}", dp.account),
                format!("product:{}", dp.product),
                format!("product_version:{}@{}", dp.product, dp.version),
            ];
            for p in self.d.portfolios.values().filter(|p| p.products.contains(&dp.product)) {
                deps.push(format!("portfolio_product:{}/{}", p.name, dp.product));
                deps.push(format!("launch_constraint:{}/{}", p.name, dp.product));
                deps.extend(p.shares.iter().map(|s| format!("portfolio_share:{}/{}", p.name, s.key())));
                deps.extend(p.principals.iter().map(|a| format!("portfolio_principal:{}/{a}", p.name)));
            }
            let existing = account_id
                .as_ref()
                .and_then(|id| self.launched.get(&(id.as_str(), dp.name.as_str())).copied());
            let Some(pp) = existing else {
                let after = match &dp.requested_at {
                    Some(at) => with(after, "requested_at", json!(at)),
                    None => after,
                };
                // Mark a vend-managed member account as holding vend's pipelines, so that the
                // AWS backend searches it even once its pipeline requests are gone.
                let mark = account_id.as_deref() != Some(mgmt.as_str())
                    && match account_id.as_deref().and_then(|id| self.accounts_by_id.get(id)) {
                        None => true,
                        Some(a) => {
                            managed(&a.tags, self.own)
                                && a.tags.get(PIPELINES_TAG).map(String::as_str) != Some("true")
                        }
                    };
                let after = if mark { with(after, "mark_account", json!(true)) } else { after };
                self.push(
                    Kind::ProvisionedPipeline,
                    address,
                    Action::Create,
                    None,
                    Some(after),
                    deps,
                    "new pipeline request",
                );
                continue;
            };
            kept.insert(pp.id.as_str());
            let mut before = to_value(pp);
            before = with(before, "account", json!(dp.account));
            before = with(before, "product", json!(self.product_name(&pp.product_id)));
            let current_version = self
                .s
                .products
                .iter()
                .find(|p| p.id == pp.product_id)
                .and_then(|p| p.versions.iter().find(|v| v.id == pp.version_id))
                .map(|v| v.name.clone());
            before = with(before, "version", json!(current_version));
            let same_product = product.is_some_and(|p| p.id == pp.product_id);
            let new_id = if same_product { json!(pp.id) } else { Value::Null };
            let after = with(with(after, "id", new_id), "tags", to_value(&merge_tags(&pp.tags, &tags)));
            if matches!(pp.status.as_str(), "UNDER_CHANGE" | "PLAN_IN_PROGRESS") {
                self.warn(
                    "pipeline-busy",
                    &dp.origin,
                    format!(
                        "pipeline '{}' in account '{}' is {}; plan again when it settles",
                        dp.name, dp.account, pp.status
                    ),
                );
                continue;
            }
            if !same_product {
                self.push(
                    Kind::ProvisionedPipeline,
                    address,
                    Action::Replace,
                    Some(before),
                    Some(after),
                    deps,
                    "the pipeline comes from another product now: terminate, then provision",
                );
            } else if matches!(pp.status.as_str(), "TAINTED" | "ERROR") {
                self.push(
                    Kind::ProvisionedPipeline,
                    address,
                    Action::Repair,
                    Some(before),
                    Some(after),
                    deps,
                    format!(
                        "status is {}: update it again with the requested version and parameters",
                        pp.status
                    ),
                );
            } else if version_id.as_deref() != Some(pp.version_id.as_str()) || !same_params(pp, dp) {
                let reason = if version_id.as_deref() != Some(pp.version_id.as_str()) {
                    format!(
                        "version {} -> {}",
                        current_version.unwrap_or_else(|| pp.version_id.clone()),
                        dp.version
                    )
                } else {
                    "parameters differ".into()
                };
                self.push(
                    Kind::ProvisionedPipeline,
                    address,
                    Action::Update,
                    Some(before),
                    Some(after),
                    deps,
                    reason,
                );
            }
        }
        for pp in &self.s.provisioned_products {
            if kept.contains(pp.id.as_str()) || !managed(&pp.tags, self.own) {
                continue;
            }
            let Some(acct) = self.accounts_by_id.get(pp.account_id.as_str()) else { continue };
            if self.fates.get(&acct.name).is_some_and(|f| matches!(f, AccountFate::Skip)) {
                continue;
            }
            let before = with(
                with(to_value(pp), "account", json!(acct.name)),
                "product",
                json!(self.product_name(&pp.product_id)),
            );
            self.push(
                Kind::ProvisionedPipeline,
                format!("provisioned_pipeline:{}/{}", acct.name, pp.name),
                Action::Delete,
                Some(before),
                None,
                vec![],
                "pipeline launched by vend no longer requested: terminate it",
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
        let product_ids: BTreeMap<&str, &str> = self
            .s
            .products
            .iter()
            .filter(|p| managed(&p.tags, self.own))
            .map(|p| (p.name.as_str(), p.id.as_str()))
            .collect();
        let portfolio_ids: BTreeMap<&str, &str> = self
            .s
            .portfolios
            .iter()
            .filter(|p| managed(&p.tags, self.own))
            .map(|p| (p.name.as_str(), p.id.as_str()))
            .collect();
        let set = |v: &mut Option<Value>, key: &str, value: Value| {
            if let Some(Value::Object(m)) = v
                && m.get(key).is_none_or(|x| x.is_null())
            {
                m.insert(key.to_string(), value);
            }
        };
        let name_of = |v: &Option<Value>, key: &str| -> Option<String> {
            v.as_ref().and_then(|v| v.get(key)).and_then(Value::as_str).map(str::to_string)
        };
        for c in &mut self.changes {
            if c.kind == Kind::ProductVersion
                && let Some((product, _)) = c.address.trim_start_matches("product_version:").rsplit_once('@')
            {
                set(&mut c.before, "product", json!(product));
                set(&mut c.after, "product", json!(product));
            }
            for side in [&mut c.before, &mut c.after] {
                if c.kind == Kind::PolicyAttachment
                    && let Some(p) = name_of(side, "policy")
                {
                    set(side, "policy_id", json!(scp_ids.get(p.as_str())));
                }
                if let Some(p) = name_of(side, "product") {
                    set(side, "product_id", json!(product_ids.get(p.as_str())));
                }
                if let Some(p) = name_of(side, "portfolio") {
                    set(side, "portfolio_id", json!(portfolio_ids.get(p.as_str())));
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
        let adds: Vec<(Kind, String)> = self
            .changes
            .iter()
            .filter(|c| matches!(c.action, Action::Create | Action::Replace))
            .map(|c| (c.kind, c.address.clone()))
            .collect();
        let terminations: Vec<String> = self
            .changes
            .iter()
            .filter(|c| {
                c.kind == Kind::ProvisionedPipeline && matches!(c.action, Action::Delete | Action::Replace)
            })
            .map(|c| c.address.clone())
            .collect();
        let scope = |address: &str| -> String {
            // `kind:<portfolio or product>/…` or `product_version:<product>@v`
            let key = address.split_once(':').map(|(_, k)| k).unwrap_or("");
            key.split(['/', '@']).next().unwrap_or("").to_string()
        };
        for c in &mut self.changes {
            match (c.kind, c.action) {
                (Kind::ProductVersion, Action::Deprecate) => {
                    let product = scope(&c.address);
                    c.depends_on.extend(
                        adds.iter()
                            .filter(|(k, a)| *k == Kind::ProductVersion && scope(a) == product)
                            .map(|(_, a)| a.clone()),
                    );
                }
                (Kind::PortfolioShare | Kind::PortfolioPrincipal, Action::Delete) => {
                    let portfolio = scope(&c.address);
                    let kind = c.kind;
                    c.depends_on.extend(
                        adds.iter()
                            .filter(|(k, a)| *k == kind && scope(a) == portfolio)
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

    // ---------------------------------------------------------------- OU deletes

    fn ou_deletes(&mut self) {
        let doomed: Vec<(String, &OrgUnit)> = self
            .ou_by_path
            .iter()
            .filter(|(path, ou)| managed(&ou.tags, self.own) && !self.d.ous.contains_key(*path))
            .map(|(p, o)| (p.clone(), *o))
            .collect();
        let doomed_ids: BTreeSet<&str> = doomed.iter().map(|(_, o)| o.id.as_str()).collect();
        for (path, ou) in &doomed {
            let children: Vec<String> = self
                .s
                .organizational_units
                .iter()
                .filter(|c| c.parent_id == ou.id && !doomed_ids.contains(c.id.as_str()))
                .map(|c| c.name.clone())
                .collect();
            let staying: Vec<String> = self
                .s
                .accounts
                .iter()
                .filter(|a| a.parent_id == ou.id && !self.moved.contains_key(&a.id))
                .map(|a| {
                    if a.state == "ACTIVE" {
                        a.name.clone()
                    } else {
                        format!("{} ({}: closed accounts stay in their OU for 90 days)", a.name, a.state)
                    }
                })
                .collect();
            if !children.is_empty() || !staying.is_empty() {
                let mut what = vec![];
                if !staying.is_empty() {
                    what.push(format!("accounts {}", staying.join(", ")));
                }
                if !children.is_empty() {
                    what.push(format!("OUs {}", children.join(", ")));
                }
                self.diags.push(Diagnostic::error(
                    "ou-not-empty",
                    format!(
                        "OU '{path}' is no longer declared, but it still holds {}; AWS deletes only empty OUs: move them out (or declare the OU again)",
                        what.join(" and ")
                    ),
                ).at(&Origin::file("catalog/organization.yaml")));
                continue;
            }
            self.deleted_ous.insert(path.clone());
            let mut deps: Vec<String> = self
                .s
                .accounts
                .iter()
                .filter(|a| a.parent_id == ou.id)
                .map(|a| format!("account:{}", a.name))
                .collect();
            deps.extend(
                self.s
                    .organizational_units
                    .iter()
                    .filter(|c| c.parent_id == ou.id)
                    .filter_map(|c| self.ou_path.get(c.id.as_str()).map(|p| format!("ou:{p}"))),
            );
            let before = with(to_value(*ou), "path", json!(path));
            self.push(
                Kind::Ou,
                format!("ou:{path}"),
                Action::Delete,
                Some(before),
                None,
                deps,
                "managed OU no longer in organization.yaml",
            );
        }
    }
}

fn display_ou(path: &str) -> &str {
    if path.is_empty() { "(root)" } else { path }
}

/// A portfolio without its association lists (those are changes of their own).
fn portfolio_core(p: &Portfolio) -> Value {
    json!({ "id": p.id, "name": p.name, "description": p.description, "provider": p.provider, "tags": p.tags })
}

/// Do the stack's parameters match the request? A NoEcho parameter reads back masked (`****`)
/// from AWS: vend cannot see it and counts it as unchanged.
fn same_params(pp: &crate::model::ProvisionedProduct, dp: &crate::model::DesiredPipeline) -> bool {
    pp.params.len() == dp.params.len()
        && pp.params.iter().all(|(k, v)| match dp.params.get(k) {
            Some(want) => want == v || (dp.no_echo.contains(k) && v == "****"),
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
            account_origin: Origin::default(),
            requested_at: None,
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
