//! The launch path (issue 14): what AWS needs before a vended account can run its first
//! pipeline that is neither an Organizations resource nor part of a portfolio — Service
//! Catalog's AWS Organizations access (for shares to the organization or an OU) and the bucket
//! the product templates are uploaded to. Each is a change of its own, and what needs it
//! depends on it. A state without `launch_path` (written before vend modelled it) plans none of
//! this (`State::launch_path`).

use super::*;

/// Service Catalog's service principal, as `service_access:servicecatalog` names it.
const CATALOG: &str = "servicecatalog";
const CATALOG_PRINCIPAL: &str = "servicecatalog.amazonaws.com";
/// The default encryption vend sets on its template bucket (SSE-S3: no KMS key the launch role
/// would need to decrypt with).
const SSE_S3: &str = "AES256";

impl<'a> Planner<'a> {
    /// The workspace's template bucket, `{management}` filled in.
    pub(super) fn bucket_name(&self) -> String {
        self.d.settings.template_bucket.replace("{management}", &self.s.organization.management_account_id)
    }

    /// The principals of portfolio `dp` (`existing`: the portfolio in the state, managed or
    /// adopted in this plan): the workspace's, plus — when the state models the launch path —
    /// vend's own launching role in member accounts (`member_role` in `vend.yaml`) as an
    /// `IAM_PATTERN`: with principal sharing it reaches every account of the share, so
    /// `ProvisionProduct` as that role finds a launch path there (a `ProductTeam*` pattern does
    /// not match it). It is added when the portfolio is shared with the organization or an OU,
    /// pipelines are launched or updated from it (an adopted pipeline that runs as requested
    /// launches nothing: `runs_as_requested`) and `share_principals:` does not turn principal
    /// sharing off (without it the pattern would not leave the hub account); and it is kept
    /// whenever the portfolio has it already, so it never comes and goes between plans.
    pub(super) fn portfolio_principals(
        &self,
        dp: &DesiredPortfolio,
        existing: Option<&Portfolio>,
    ) -> Vec<String> {
        let mut principals = dp.principals.clone();
        if self.s.launch_path.is_none() {
            return principals;
        }
        let arn = format!("arn:aws:iam:::role/{}", self.d.settings.member_role);
        let has = existing.is_some_and(|p| p.principals.iter().any(|x| x.arn == arn));
        let through_org = dp.shares.iter().any(|t| !matches!(t, ShareTarget::Account(_)));
        let launches =
            self.d.pipelines.values().any(|p| dp.products.contains(&p.product) && !self.runs_as_requested(p));
        let reaches = dp.share_principals != Some(false);
        if (has || (through_org && launches && reaches)) && !principals.contains(&arn) {
            principals.push(arn);
        }
        principals
    }

    /// An adopted pipeline (`lifecycle: adopt`) that needs nothing: its provisioned product
    /// exists in the account, from the requested product and version, with the requested
    /// parameters, and is AVAILABLE — nothing is launched or updated, so it needs no launch path.
    pub(super) fn runs_as_requested(&self, dp: &DesiredPipeline) -> bool {
        if dp.adopt.is_none() {
            return false;
        }
        let Some((_, Some(id))) = self.pipeline_account(&dp.account) else { return false };
        let Some(pp) = self.launched.get(&(id.as_str(), dp.name.as_str())) else { return false };
        let Some(product) = self.product_ids.get(&dp.product) else { return false };
        pp.status == "AVAILABLE"
            && pp.product_id == product.id
            && product.versions.iter().any(|v| v.name == dp.version && v.id == pp.version_id)
            && same_params(pp, dp)
    }

    /// Whether a share of `share_type` of portfolio `dp` has principal sharing on. Only
    /// organization and OU shares support it (SharePrincipals: "only supported for portfolios
    /// with an OrganizationalNode Type of ORGANIZATION or ORGANIZATIONAL_UNIT", API reference),
    /// so an account share never has it. `share_principals:` in portfolios.yaml decides when
    /// written (AWS takes the flag whatever the principals are; it shares the `IAM_PATTERN`
    /// ones); else it is on for a portfolio with an `IAM_PATTERN` principal when the state
    /// models the launch path.
    pub(super) fn shares_principals(
        &self,
        dp: &DesiredPortfolio,
        share_type: &str,
        principals: &[String],
    ) -> bool {
        if share_type == "ACCOUNT" {
            return false;
        }
        if let Some(on) = dp.share_principals {
            return on;
        }
        self.s.launch_path.is_some()
            && principals.iter().any(|a| matches!(crate::workspace::rules::principal(a), Ok("IAM_PATTERN")))
    }

    pub(super) fn launch_path(&mut self) {
        let s: &'a State = self.s;
        let Some(lp) = s.launch_path.as_ref() else { return };
        self.catalog_access(lp);
        self.template_bucket();
        self.launch_roles(lp);
    }

    /// Make `needs` depend on `on`.
    pub(super) fn needs(&mut self, needs: &[usize], on: &Address) {
        for &i in needs {
            let deps = &mut self.changes[i].depends_on;
            if !deps.contains(on) {
                deps.push(on.clone());
                deps.sort();
            }
        }
    }

    /// Shares to the organization or an OU need Service Catalog's Organizations access
    /// (rule `servicecatalog.share-org-access`). vend turns it on when a share it creates needs
    /// it and never turns it off (other portfolios of the organization may rely on it).
    fn catalog_access(&mut self, lp: &LaunchPath) {
        let shares: Vec<usize> = self
            .changes
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                c.kind == Kind::PortfolioShare
                    && matches!(c.action, Action::Create | Action::Replace)
                    && matches!(&c.after, Some(Payload::Share(s)) if s.share_type != "ACCOUNT")
            })
            .map(|(i, _)| i)
            .collect();
        let status = lp.servicecatalog_organizations_access.as_str();
        if shares.is_empty() || status == ACCESS_ENABLED {
            return;
        }
        let reason = if status == "UNDER_CHANGE" {
            "Service Catalog's AWS Organizations access is being changed; apply waits until it is enabled"
        } else {
            "shares to the organization or an OU need Service Catalog's AWS Organizations access"
        };
        self.enable_service_access(CATALOG, CATALOG_PRINCIPAL, reason, &shares);
    }

    /// A change that turns on the trusted access of `principal` (`service_access:<key>`) in
    /// Organizations, for `reason`; the changes at `needed_by` depend on it.
    pub(super) fn enable_service_access(
        &mut self,
        key: &str,
        principal: &str,
        reason: &str,
        needed_by: &[usize],
    ) {
        let address = Address::service_access(key);
        self.push(
            Kind::ServiceAccess,
            address.clone(),
            Action::Create,
            None,
            Some(Payload::ServiceAccess(ServiceAccessState {
                service: principal.into(),
                status: ACCESS_ENABLED.into(),
            })),
            vec![],
            reason,
        );
        self.needs(needed_by, &address);
    }

    /// The bucket product templates are uploaded to: created private (all four block-public-
    /// access settings), encrypted (SSE-S3) and versioned when missing and this plan uploads a
    /// template (creates a product or a version: a workspace that only adopts what exists
    /// needs no bucket yet); its settings restored
    /// when a vend-owned bucket drifted; a plan error when the name is held by another account
    /// or by a bucket without the ownership tag (vend never takes over a bucket by its name).
    fn template_bucket(&mut self) {
        if self.d.products.is_empty() {
            return;
        }
        let uploads: Vec<usize> = self
            .changes
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                matches!(c.kind, Kind::Product | Kind::ProductVersion) && c.action == Action::Create
            })
            .map(|(i, _)| i)
            .collect();
        let name = self.bucket_name();
        let address = Address::template_bucket(&name);
        let settings = Origin::file(crate::workspace::SETTINGS);
        let region = self.d.settings.region.clone();
        let own = self.own.to_string();
        let wanted = |current: Option<&Bucket>| BucketState {
            name: name.clone(),
            region: region.clone(),
            encryption: current
                .map(|b| b.encryption.clone())
                .filter(|e| !e.is_empty())
                .unwrap_or_else(|| SSE_S3.into()),
            public_access_blocked: true,
            versioning: true,
            tags: merge_tags(
                &current.map(|b| b.tags.clone()).unwrap_or_default(),
                &[(own.clone(), "true".to_string())].into_iter().collect(),
            ),
        };
        match self.s.bucket(&name) {
            None if uploads.is_empty() => {}
            None => {
                self.push(
                    Kind::TemplateBucket,
                    address.clone(),
                    Action::Create,
                    None,
                    Some(Payload::Bucket(wanted(None))),
                    vec![],
                    "product templates are uploaded to this bucket",
                );
                self.needs(&uploads, &address);
            }
            Some(b) if b.owner != "owned" => {
                self.error_rule(
                    "s3.bucket-name-taken",
                    "unmanaged-conflict",
                    &settings,
                    format!("template_bucket '{name}' is taken by another AWS account (S3 bucket names are global): choose another name"),
                );
                self.refused.insert(address);
            }
            Some(b) if !managed(&b.tags, self.own) => {
                self.error(
                    "unmanaged-conflict",
                    &settings,
                    format!(
                        "template_bucket '{name}' exists in this account without vend's ownership tag ({}=true): tag it to let vend manage it, or choose another name",
                        self.own
                    ),
                );
                self.refused.insert(address);
            }
            Some(b) if !b.region.is_empty() && b.region != self.d.settings.region => {
                self.error(
                    "bucket-region",
                    &settings,
                    format!(
                        "template_bucket '{name}' is in {}, but the workspace's region is {}: template URLs name the workspace's region",
                        b.region, self.d.settings.region
                    ),
                );
                self.refused.insert(address);
            }
            Some(b) => {
                let after = wanted(Some(b));
                let before = BucketState::from(b);
                if after.encryption != before.encryption
                    || after.public_access_blocked != before.public_access_blocked
                    || after.versioning != before.versioning
                {
                    let mut drift = vec![];
                    if !b.public_access_blocked {
                        drift.push("public access not blocked");
                    }
                    if b.encryption.is_empty() {
                        drift.push("no default encryption");
                    }
                    if !b.versioning {
                        drift.push("versioning off");
                    }
                    self.push(
                        Kind::TemplateBucket,
                        address.clone(),
                        Action::Update,
                        Some(Payload::Bucket(before)),
                        Some(Payload::Bucket(after)),
                        vec![],
                        format!("bucket settings drifted: {}", drift.join(", ")),
                    );
                    self.needs(&uploads, &address);
                }
            }
        }
    }

    /// The account (name, id when it exists) a desired pipeline launches into; `None` when the
    /// pipeline is not planned (its account is skipped or unknown).
    fn pipeline_account(&self, account: &str) -> Option<(String, Option<String>)> {
        match self.fates.get(account) {
            Some(AccountFate::New) => Some((account.to_string(), None)),
            Some(AccountFate::Existing(id)) => Some((account.to_string(), Some(id.clone()))),
            Some(AccountFate::Skip) => None,
            None => self
                .account_named(account)
                .first()
                .filter(|a| a.state == "ACTIVE")
                .map(|a| (account.to_string(), Some(a.id.clone()))),
        }
    }

    /// The launch roles of the portfolios holding `product`.
    fn roles_of(&self, product: &str) -> Vec<&'a str> {
        let d: &'a Desired = self.d;
        d.portfolios
            .values()
            .filter(|p| p.products.iter().any(|x| x == product))
            .filter_map(|p| p.launch_role.as_deref())
            .collect()
    }

    /// Launch roles (a portfolio's `launch_role`): Service Catalog assumes the role of that name
    /// in the account a product is launched, updated or terminated in, and the role must exist
    /// in the account the constraint is created in ("The given role name must exist in the
    /// account used to create the launch constraint and the account of the user who launches a
    /// product with this launch constraint", API_CreateConstraint). For a role whose policy is
    /// in `catalog/launch_roles/`, vend creates it — trusted by Service Catalog, with that
    /// policy, tagged — in the management account and in every account a pipeline request
    /// launches into, before what needs it; restores a drifted policy or trust; and deletes the
    /// roles it created that no account needs any more, after the pipelines there are gone. A
    /// same-name role without vend's tag is the user's and is used as it is. Roles vend does
    /// not manage are not planned: the plan check refuses a launch where the state shows none.
    fn launch_roles(&mut self, lp: &'a LaunchPath) {
        let mgmt = self.s.organization.management_account_id.clone();
        let mgmt_name = self
            .accounts_by_id
            .get(mgmt.as_str())
            .map(|a| self.account_key(a).to_string())
            .unwrap_or_else(|| mgmt.clone());
        // (account name, role) -> account id (None: created by this plan).
        let mut needed: BTreeMap<(String, String), Option<String>> = BTreeMap::new();
        for p in self.d.portfolios.values().filter(|p| !p.products.is_empty()) {
            if let Some(r) = &p.launch_role {
                needed.insert((mgmt_name.clone(), r.clone()), Some(mgmt.clone()));
            }
        }
        for dp in self.d.pipelines.values() {
            let Some((name, id)) = self.pipeline_account(&dp.account) else { continue };
            for r in self.roles_of(&dp.product) {
                needed.insert((name.clone(), r.to_string()), id.clone());
            }
        }
        for ((account, role), account_id) in &needed {
            let Some(want) = self.d.launch_roles.get(role) else { continue };
            let address = Address::launch_role(account, role);
            let current = account_id.as_deref().and_then(|id| self.s.launch_role(id, role));
            let mut tags = current.map(|r| r.tags.clone()).unwrap_or_default();
            tags.insert(self.own.to_string(), "true".into());
            let after = LaunchRoleState {
                account: account.clone(),
                account_id: account_id.clone(),
                name: role.clone(),
                trusts_catalog: true,
                policy: want.policy.clone(),
                tags,
            };
            let (action, before, reason) = match current {
                None => (Action::Create, None, format!("Service Catalog launches as {role} in this account")),
                Some(r) if !managed(&r.tags, self.own) => continue,
                Some(r) if r.policy == want.policy && r.trusts_catalog => continue,
                Some(r) => {
                    let mut drift = vec![];
                    if r.policy != want.policy {
                        drift.push("its policy differs from catalog/launch_roles");
                    }
                    if !r.trusts_catalog {
                        drift.push("Service Catalog may not assume it");
                    }
                    (Action::Update, Some(Payload::LaunchRole(role_state(r, account))), drift.join(", "))
                }
            };
            let deps = if account_id.is_none() { vec![Address::account(account)] } else { vec![] };
            self.push(
                Kind::LaunchRole,
                address.clone(),
                action,
                before,
                Some(Payload::LaunchRole(after)),
                deps,
                reason,
            );
            let users: Vec<usize> = self
                .changes
                .iter()
                .enumerate()
                .filter(|(_, c)| match (&c.after, c.action) {
                    (Some(Payload::Pipeline(p)), Action::Create | Action::Update | Action::Replace) => {
                        &p.account == account && self.roles_of(&p.product).contains(&role.as_str())
                    }
                    (Some(Payload::Constraint(k)), Action::Create | Action::Replace) => {
                        *account == mgmt_name && &k.local_role_name == role
                    }
                    _ => false,
                })
                .map(|(i, _)| i)
                .collect();
            self.needs(&users, &address);
        }
        for r in lp.roles.iter().filter(|r| managed(&r.tags, self.own)) {
            let Some(a) = self.accounts_by_id.get(r.account_id.as_str()).copied() else { continue };
            let key = self.account_key(a);
            if needed.contains_key(&(key.to_string(), r.name.clone())) || a.state != "ACTIVE" {
                continue;
            }
            let address = Address::launch_role(self.account_key(a), &r.name);
            let before = role_state(r, self.account_key(a));
            self.push(
                Kind::LaunchRole,
                address.clone(),
                Action::Delete,
                Some(Payload::LaunchRole(before)),
                None,
                vec![],
                "no pipeline or launch constraint needs this role here any more",
            );
            // Terminating a pipeline, and deleting a constraint, still use the role.
            let done: Vec<Address> = self
                .changes
                .iter()
                .filter(|c| match (&c.before, c.action) {
                    (Some(Payload::Pipeline(p)), Action::Delete) => p.account_id.as_deref() == Some(&a.id),
                    // A constraint naming the role goes first (its launches use the role).
                    (Some(Payload::Constraint(k)), Action::Delete | Action::Replace) => {
                        k.local_role_name == r.name
                    }
                    _ => false,
                })
                .map(|c| c.address.clone())
                .collect();
            if let Some(c) = self.changes.last_mut() {
                c.depends_on.extend(done);
                c.depends_on.sort();
                c.depends_on.dedup();
            }
        }
    }
}

/// A launch role as the state has it, as a change side.
fn role_state(r: &LaunchRole, account: &str) -> LaunchRoleState {
    LaunchRoleState {
        account: account.to_string(),
        account_id: Some(r.account_id.clone()),
        name: r.name.clone(),
        trusts_catalog: r.trusts_catalog,
        policy: r.policy.clone(),
        tags: r.tags.clone(),
    }
}
