//! Provisioned pipelines: launch, update, repair, replace or terminate the requested pipelines.

use super::*;

impl<'a> Planner<'a> {
    // ---------------------------------------------------------------- pipelines

    /// Is `account` (final OU path `ou`) covered by a share of a portfolio holding `product`?
    pub(super) fn shared_with(&self, product: &str, account: &str, ou: Option<&str>) -> bool {
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

    /// A new launch (create, or the provision half of a replace) on a version the workspace
    /// deprecates or retires is refused by Service Catalog (AWS-NOTES: a DEPRECATED version takes
    /// no new launches; an inactive one is hidden): a plan error naming the newest version that
    /// takes launches. Updating an existing pipeline to a deprecated version stays allowed.
    /// Returns whether the launch may be planned.
    fn launchable(&mut self, address: &Address, dp: &DesiredPipeline) -> bool {
        let Some(product) = self.d.products.get(&dp.product) else { return true };
        let Some(version) = product.versions.get(&dp.version) else { return true };
        if !version.deprecated && !version.retired {
            return true;
        }
        let newest = product
            .versions
            .values()
            .filter(|v| !v.deprecated && !v.retired)
            .map(|v| v.name.as_str())
            .max_by(|a, b| crate::workspace::rules::version_cmp(a, b));
        let advice = match newest {
            Some(n) => format!("request {}@{n}, the newest version that takes launches", dp.product),
            None => format!("no version of {} takes launches: publish one first", dp.product),
        };
        let state = if version.retired { "retired" } else { "deprecated" };
        self.error(
            "version-deprecated-launch",
            &dp.blueprint_origin,
            format!(
                "{address}: pipeline '{}' in account '{}' would be launched on {}@{}, which is {state} \
                 (no new launches); {advice}",
                dp.name, dp.account, dp.product, dp.version
            ),
        );
        false
    }

    pub(super) fn pipelines(&mut self) {
        let mgmt = self.s.organization.management_account_id.clone();
        let mut kept: BTreeSet<&str> = BTreeSet::new();
        for (key, dp) in &self.d.pipelines {
            let address = Address::pipeline_key(key);
            if self.refused.contains(&Address::product(&dp.product)) {
                // Its product's creation was refused (reported there): nothing to launch from.
                continue;
            }
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
            let after = PipelineState {
                id: None,
                name: dp.name.clone(),
                account_id: account_id.clone(),
                product_id: product.map(|p| p.id.clone()),
                version_id: version_id.clone(),
                status: "AVAILABLE".into(),
                params: dp.params.clone(),
                tags: tags.clone(),
                account: dp.account.clone(),
                product: dp.product.clone(),
                version: Some(Some(dp.version.clone())),
                requested_at: None,
                mark_account: None,
            };
            let mut deps = vec![
                Address::account(&dp.account),
                Address::product(&dp.product),
                Address::product_version(&dp.product, &dp.version),
            ];
            for p in self.d.portfolios.values().filter(|p| p.products.contains(&dp.product)) {
                deps.push(Address::portfolio_product(&p.name, &dp.product));
                deps.push(Address::launch_constraint(&p.name, &dp.product));
                deps.extend(p.shares.iter().map(|s| Address::portfolio_share(&p.name, &s.key())));
                deps.extend(p.principals.iter().map(|a| Address::portfolio_principal(&p.name, a)));
            }
            let existing = account_id
                .as_ref()
                .and_then(|id| self.launched.get(&(id.as_str(), dp.name.as_str())).copied());
            let Some(pp) = existing else {
                if let Some(at) = &dp.adopt {
                    self.error(
                        "adopt-missing",
                        at,
                        format!(
                            "{address}: lifecycle: adopt, but account '{}' has no provisioned product named '{}' \
                             to adopt; remove `lifecycle: adopt` to launch it",
                            dp.account, dp.name
                        ),
                    );
                    continue;
                }
                if !self.launchable(&address, dp) {
                    continue;
                }
                let mut after = PipelineState { requested_at: dp.requested_at.clone(), ..after };
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
                if mark {
                    after.mark_account = Some(true);
                }
                self.push(
                    Kind::ProvisionedPipeline,
                    address,
                    Action::Create,
                    None,
                    Some(Payload::Pipeline(after)),
                    deps,
                    "new pipeline request",
                );
                continue;
            };
            // `lifecycle: adopt`: the request records vend's ownership of a provisioned product
            // launched outside vend. Its tags stay as they are: they change only through
            // UpdateProvisionedProduct (which updates the stack, and takes tags only with a
            // RESOURCE_UPDATE constraint allowing it), so adopting must not touch it.
            let adopted = dp.adopt.is_some() && !managed(&pp.tags, self.own);
            if !managed(&pp.tags, self.own) && !adopted {
                // A provisioned product of that name exists in the account but was not launched
                // by vend (no ownership tag): updating it would take over (or replace) someone
                // else's stack, and launching next to it is refused by Service Catalog, whose
                // provisioned product names are unique per account
                // (rule servicecatalog.provisioned-name-unique).
                self.error_rule(
                    "servicecatalog.provisioned-name-unique",
                    "unmanaged-conflict",
                    &dp.origin,
                    format!(
                        "{address}: a provisioned product named '{}' already exists in account '{}' ({}) and vend \
                         did not launch it (no {} tag); vend does not take it over or replace it unasked: give the \
                         pipeline another name, add `lifecycle: adopt` to the request to take it over as it \
                         runs, or terminate the existing one first",
                        dp.name, dp.account, pp.id, self.own
                    ),
                );
                continue;
            }
            kept.insert(pp.id.as_str());
            let current_version = self
                .s
                .products
                .iter()
                .find(|p| p.id == pp.product_id)
                .and_then(|p| p.versions.iter().find(|v| v.id == pp.version_id))
                .map(|v| v.name.clone());
            let before = Payload::Pipeline(pipeline_state(
                pp,
                &dp.account,
                self.product_name(&pp.product_id),
                Some(current_version.clone()),
            ));
            let same_product = product.is_some_and(|p| p.id == pp.product_id);
            let new_id = if same_product { Some(pp.id.clone()) } else { None };
            let tags = if adopted { pp.tags.clone() } else { merge_tags(&pp.tags, &tags) };
            let after = Payload::Pipeline(PipelineState { id: new_id, tags, ..after });
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
                if !self.launchable(&address, dp) {
                    continue;
                }
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
        self.refuse_unfilled();
        for pp in &self.s.provisioned_products {
            if kept.contains(pp.id.as_str()) || !managed(&pp.tags, self.own) {
                continue;
            }
            let Some(acct) = self.accounts_by_id.get(pp.account_id.as_str()) else { continue };
            if self.fates.get(self.account_key(acct)).is_some_and(|f| matches!(f, AccountFate::Skip)) {
                continue;
            }
            let address = Address::provisioned_pipeline(self.account_key(acct), &pp.name);
            if self
                .d
                .pipelines
                .get(address.key())
                .is_some_and(|dp| self.refused.contains(&Address::product(&dp.product)))
            {
                // Still requested; only its product's creation was refused: leave it running.
                continue;
            }
            let before = Payload::Pipeline(pipeline_state(
                pp,
                self.account_key(acct),
                self.product_name(&pp.product_id),
                None,
            ));
            self.push(
                Kind::ProvisionedPipeline,
                address,
                Action::Delete,
                Some(before),
                None,
                vec![],
                "pipeline launched by vend no longer requested: terminate it",
            );
        }
    }

    /// A launch or update sends every parameter; one still holding `vend import`'s NoEcho
    /// placeholder (`model::FILL_IN`) would become the stack's value: refused, naming it
    /// (`fill-in-required`), until the request gives the real value.
    fn refuse_unfilled(&mut self) {
        let mut refused = vec![];
        for c in &self.changes {
            if c.kind != Kind::ProvisionedPipeline
                || !matches!(c.action, Action::Create | Action::Update | Action::Repair | Action::Replace)
            {
                continue;
            }
            let Some(Payload::Pipeline(p)) = &c.after else { continue };
            let unfilled: Vec<&str> = p
                .params
                .iter()
                .filter(|(_, v)| *v == crate::model::FILL_IN)
                .map(|(k, _)| k.as_str())
                .collect();
            if !unfilled.is_empty() {
                refused.push((c.address.clone(), unfilled.join(", ")));
            }
        }
        for (address, names) in refused {
            let origin = self.d.pipelines.get(address.key()).map(|dp| dp.origin.clone()).unwrap_or_default();
            self.error(
                "fill-in-required",
                &origin,
                format!(
                    "{address}: the {} would send NoEcho parameter(s) {names} with vend import's placeholder; give the real value(s) in the request first",
                    self.changes.iter().find(|c| c.address == address).map(|c| c.action.as_str()).unwrap_or("change")
                ),
            );
            self.changes.retain(|c| c.address != address);
        }
    }
}
