//! The Service Catalog side: products and their versions, portfolios with their product
//! associations, principals, shares and launch constraints. Whether a same-name resource vend
//! does not manage is adopted or refused is decided in `claim.rs`.

use super::claim::{ADOPT_PORTFOLIO, ADOPT_PRODUCT, Claim, HASH_MARKER};
use super::*;

impl<'a> Planner<'a> {
    // ---------------------------------------------------------------- products and versions

    pub(super) fn template_url(&self, product: &str, version: &str, sha: &str) -> String {
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

    pub(super) fn managed_products(&self, name: &str) -> Vec<&'a Product> {
        self.s.products.iter().filter(|p| p.name == name && managed(&p.tags, self.own)).collect()
    }

    pub(super) fn products(&mut self) {
        for (name, dp) in &self.d.products {
            let address = Address::product(name);
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
            let mut existing = found.first().copied();
            let mut adopting = false;
            if existing.is_none() {
                let state = self.s;
                let same_name = state.products.iter().map(|p| (p.name.as_str(), &p.tags, p.id.as_str(), p));
                match self.claim(address.clone(), name, same_name, &dp.origin, dp.adopt.as_ref()) {
                    Claim::Create => {}
                    Claim::Adopt(p) => (existing, adopting) = (Some(p), true),
                    Claim::Refused => continue,
                }
            }
            match existing {
                None => self.push(
                    Kind::Product,
                    address.clone(),
                    Action::Create,
                    None,
                    Some(Payload::Product(ProductState {
                        id: None,
                        name: name.clone(),
                        owner: dp.owner.clone(),
                        description: Some(dp.description.clone()),
                        tags: dp.tags.clone(),
                        versions: vec![],
                        blueprint: Some(dp.blueprint.clone()),
                    })),
                    vec![],
                    "product published in portfolios.yaml",
                ),
                Some(sp) => {
                    self.product_ids.insert(name.clone(), sp);
                    let tags = merge_tags(&sp.tags, &dp.tags);
                    if adopting || sp.owner != dp.owner || tags != sp.tags {
                        let before = product_state(sp);
                        let after = ProductState { owner: dp.owner.clone(), tags, ..before.clone() };
                        let (before, after) = (Payload::Product(before), Payload::Product(after));
                        let (action, reason) = if adopting {
                            (Action::Adopt, ADOPT_PRODUCT)
                        } else {
                            (Action::Update, "owner or tags differ")
                        };
                        self.push(
                            Kind::Product,
                            address.clone(),
                            action,
                            Some(before),
                            Some(after),
                            vec![],
                            reason,
                        );
                    }
                }
            }
            let mut creates = vec![];
            for (vname, dv) in &dp.versions {
                let vaddr = Address::product_version(name, vname);
                let desc = format!("{HASH_MARKER}{}", dv.sha256);
                let guidance = if dv.deprecated { "DEPRECATED" } else { "DEFAULT" };
                let sv = existing.and_then(|p| p.versions.iter().find(|v| v.name == *vname));
                match sv {
                    None => {
                        let mut display = VersionDisplay::default();
                        if let Some(prev) = &dv.previous
                            && let Some(pv) = dp.versions.get(prev)
                        {
                            display = VersionDisplay {
                                previous_version: Some(prev.clone()),
                                previous_template_body: Some(pv.template_body.clone()),
                            };
                        }
                        let after = Payload::Version(VersionState {
                            id: None,
                            name: vname.clone(),
                            active: true,
                            guidance: guidance.into(),
                            description: desc,
                            template_url: self.template_url(name, vname, &dv.sha256),
                            product: name.clone(),
                            template_body: Some(dv.template_body.clone()),
                            display,
                            product_id: None,
                        });
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
                        if dp.adopt.is_some() && !sv.description.starts_with(HASH_MARKER) {
                            self.adopt_version(&address, dp, dv, sv);
                            continue;
                        }
                        if sv.description != desc {
                            let message = match sv.description.strip_prefix(HASH_MARKER) {
                                Some(recorded) => format!(
                                    "{name}@{vname} was published with sha256 {recorded}, but its files ({} and its template in that folder) now hash to {}; published versions are immutable: restore {vname} and publish the change as a new version (a new folder beside it, listed in portfolios.yaml)",
                                    dv.origin.file, dv.sha256
                                ),
                                None => format!(
                                    "{name}@{vname} ({}) exists in Service Catalog but was not published by vend (no {HASH_MARKER} in its description), so vend cannot tell whether it holds the files of {}; publish them under a new version name (versions vend did not publish are left alone), or add `lifecycle: adopt` to the product to take the version over with these files",
                                    sv.id, dv.origin.file
                                ),
                            };
                            self.error("version-modified", &dv.origin, message);
                            continue;
                        }
                        let before = version_state(sv, name);
                        let after =
                            VersionState { guidance: guidance.into(), active: !dv.retired, ..before.clone() };
                        let (before, after) = (Payload::Version(before), Payload::Version(after));
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
                    // Versions vend did not publish (an adopted product's own) are left alone.
                    if dp.versions.contains_key(&sv.name) || !sv.description.starts_with(HASH_MARKER) {
                        continue;
                    }
                    let mut in_use: Vec<&str> = vec![];
                    let mut leaving: Vec<Address> = creates.clone();
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
                        Address::product_version(name, &sv.name),
                        Action::Delete,
                        Some(Payload::Version(version_state(sv, name))),
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
            let deps: Vec<Address> = self
                .s
                .portfolios
                .iter()
                .filter(|p| p.product_ids.contains(&sp.id))
                .flat_map(|p| {
                    [
                        Address::portfolio_product(&p.name, &sp.name),
                        Address::launch_constraint(&p.name, &sp.name),
                    ]
                })
                .chain(self.s.provisioned_products.iter().filter(|pp| pp.product_id == sp.id).filter_map(
                    |pp| {
                        self.accounts_by_id
                            .get(pp.account_id.as_str())
                            .map(|a| Address::provisioned_pipeline(self.account_key(a), &pp.name))
                    },
                ))
                .collect();
            self.push(
                Kind::Product,
                Address::product(&sp.name),
                Action::Delete,
                Some(Payload::Product(product_state(sp))),
                None,
                deps,
                "managed product no longer published in portfolios.yaml",
            );
        }
    }

    // ---------------------------------------------------------------- portfolios

    pub(super) fn share_key(&self, share: &Share) -> String {
        match share.share_type.as_str() {
            "ORGANIZATION" => ShareKey::organization(),
            "ORGANIZATIONAL_UNIT" => match self.ou_path.get(share.value.as_str()) {
                Some(p) => ShareKey::ou(p),
                None => ShareKey::ou(&share.value),
            },
            "ACCOUNT" => match self.accounts_by_id.get(share.value.as_str()) {
                Some(a) => ShareKey::account(self.account_key(a)),
                None => ShareKey::account(&share.value),
            },
            other => ShareKey::other(other, &share.value),
        }
    }

    /// Resolve a desired share target: (key, share type, id if known, dependency).
    pub(super) fn resolve_share(
        &self,
        t: &ShareTarget,
    ) -> Option<(String, &'static str, Option<String>, Option<Address>)> {
        match t {
            ShareTarget::Organization => {
                Some((ShareKey::organization(), "ORGANIZATION", Some(self.s.organization.id.clone()), None))
            }
            ShareTarget::Ou(path) => {
                if self.ou_exists(path) {
                    Some((
                        ShareKey::ou(path),
                        "ORGANIZATIONAL_UNIT",
                        self.ou_id(path),
                        Some(Address::ou(path)),
                    ))
                } else if let Some(a) = self.account_named(path).first().copied() {
                    Some((ShareKey::account(path), "ACCOUNT", Some(a.id.clone()), None))
                } else {
                    None
                }
            }
            ShareTarget::Account(name) => {
                let id = match self.fates.get(name) {
                    Some(AccountFate::Existing(id)) => Some(id.clone()),
                    _ => self.account_named(name).first().map(|a| a.id.clone()),
                };
                Some((ShareKey::account(name), "ACCOUNT", id, Some(Address::account(name))))
            }
        }
    }

    pub(super) fn portfolios(&mut self) {
        for (name, dp) in &self.d.portfolios {
            let address = Address::portfolio(name);
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
            let mut existing = found.first().copied();
            let mut adopting = false;
            if existing.is_none() {
                let state = self.s;
                let same_name = state.portfolios.iter().map(|p| (p.name.as_str(), &p.tags, p.id.as_str(), p));
                match self.claim(address.clone(), name, same_name, &dp.origin, dp.adopt.as_ref()) {
                    Claim::Create => {}
                    Claim::Adopt(p) => (existing, adopting) = (Some(p), true),
                    Claim::Refused => continue,
                }
            }
            match existing {
                None => self.push(
                    Kind::Portfolio,
                    address.clone(),
                    Action::Create,
                    None,
                    Some(Payload::Portfolio(PortfolioState {
                        id: None,
                        name: name.clone(),
                        description: dp.description.clone(),
                        provider: dp.provider.clone(),
                        tags: dp.tags.clone(),
                        product_ids: Some(vec![]),
                        principals: Some(vec![]),
                        shares: Some(vec![]),
                        launch_constraints: Some(vec![]),
                    })),
                    vec![],
                    "new portfolio in portfolios.yaml",
                ),
                Some(sp) => {
                    self.portfolio_ids.insert(name.clone(), sp);
                    let tags = merge_tags(&sp.tags, &dp.tags);
                    if adopting
                        || sp.description != dp.description
                        || sp.provider != dp.provider
                        || tags != sp.tags
                    {
                        let before = portfolio_core(sp);
                        let after = PortfolioState {
                            description: dp.description.clone(),
                            provider: dp.provider.clone(),
                            tags,
                            ..before.clone()
                        };
                        let (before, after) = (Payload::Portfolio(before), Payload::Portfolio(after));
                        let (action, reason) = if adopting {
                            (Action::Adopt, ADOPT_PORTFOLIO)
                        } else {
                            (Action::Update, "description, provider or tags differ")
                        };
                        self.push(
                            Kind::Portfolio,
                            address.clone(),
                            action,
                            Some(before),
                            Some(after),
                            vec![],
                            reason,
                        );
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
                        Address::portfolio_product(name, product),
                        Action::Create,
                        None,
                        Some(Payload::PortfolioProduct(PortfolioProductState {
                            portfolio: name.clone(),
                            product: product.clone(),
                            portfolio_id: existing.map(|p| p.id.clone()),
                            product_id: self.product_ids.get(product).map(|p| p.id.clone()),
                        })),
                        vec![address.clone(), Address::product(product)],
                        "product listed in the portfolio",
                    );
                }
            }
            for (pname, p) in &current_products {
                if managed(&p.tags, self.own) && !dp.products.contains(pname) {
                    self.push(
                        Kind::PortfolioProduct,
                        Address::portfolio_product(name, pname),
                        Action::Delete,
                        Some(Payload::PortfolioProduct(PortfolioProductState {
                            portfolio: name.clone(),
                            product: pname.clone(),
                            portfolio_id: existing.map(|p| p.id.clone()),
                            product_id: Some(p.id.clone()),
                        })),
                        None,
                        vec![Address::launch_constraint(name, pname)],
                        "product no longer listed in the portfolio",
                    );
                }
            }
            // Principals: the workspace's, and vend's launching role where it launches (launch.rs).
            let principals = self.portfolio_principals(dp, existing);
            let current_principals: Vec<&Principal> =
                existing.map(|p| p.principals.iter().collect()).unwrap_or_default();
            for arn in &principals {
                if !current_principals.iter().any(|p| &p.arn == arn) {
                    let ptype = crate::workspace::rules::principal(arn).unwrap_or("IAM_PATTERN");
                    self.push(
                        Kind::PortfolioPrincipal,
                        Address::portfolio_principal(name, arn),
                        Action::Create,
                        None,
                        Some(principal(name, arn, ptype)),
                        vec![address.clone()],
                        if dp.principals.contains(arn) {
                            "principal listed in the portfolio"
                        } else {
                            "vend's role in member accounts (member_role) launches pipelines through the portfolio's shares"
                        },
                    );
                }
            }
            for p in &current_principals {
                if !principals.contains(&p.arn) {
                    self.push(
                        Kind::PortfolioPrincipal,
                        Address::portfolio_principal(name, &p.arn),
                        Action::Delete,
                        Some(principal(name, &p.arn, &p.principal_type)),
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
                            match t {
                                ShareTarget::Ou(path) => path.clone(),
                                other => other.key(),
                            }
                        ),
                    );
                    continue;
                };
                wanted.insert(key.clone());
                let share_principals = self.shares_principals(dp, stype, &principals);
                let after = Payload::Share(ShareState {
                    portfolio: name.clone(),
                    target: key.clone(),
                    share_type: stype.into(),
                    value: id,
                    status: "COMPLETED".into(),
                    portfolio_id: None,
                    share_principals,
                });
                let saddr = Address::portfolio_share(name, &key);
                let deps: Vec<Address> = std::iter::once(address.clone()).chain(dep).collect();
                match current_shares.get(&key) {
                    None => self.push(
                        Kind::PortfolioShare,
                        saddr,
                        Action::Create,
                        None,
                        Some(after),
                        deps,
                        "share listed in the portfolio",
                    ),
                    Some(s) if matches!(s.status.as_str(), "ERROR" | "COMPLETED_WITH_ERRORS") => self.push(
                        Kind::PortfolioShare,
                        saddr,
                        Action::Replace,
                        Some(share(name, &key, s)),
                        Some(after),
                        deps,
                        format!("share ended in {}; share again", s.status),
                    ),
                    Some(s) if s.status == "COMPLETED" && s.share_principals != share_principals => self.push(
                        Kind::PortfolioShare,
                        saddr,
                        Action::Update,
                        Some(share(name, &key, s)),
                        Some(after),
                        deps,
                        match (share_principals, dp.share_principals.is_some()) {
                            (true, false) => "principal sharing on: the portfolio's IAM_PATTERN principals reach the share's accounts",
                            (false, false) => "principal sharing off: the portfolio has no IAM_PATTERN principal",
                            (true, true) => "principal sharing on: share_principals: true in portfolios.yaml",
                            (false, true) => "principal sharing off: share_principals: false in portfolios.yaml",
                        },
                    ),
                    Some(_) => {}
                }
            }
            for (key, s) in &current_shares {
                if !wanted.contains(key) {
                    self.push(
                        Kind::PortfolioShare,
                        Address::portfolio_share(name, key),
                        Action::Delete,
                        Some(share(name, key, s)),
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
                let caddr = Address::launch_constraint(name, product);
                let current = current_constraints.get(product);
                match (&dp.launch_role, current) {
                    (Some(role), None) => self.push(
                        Kind::LaunchConstraint,
                        caddr,
                        Action::Create,
                        None,
                        Some(constraint(name, product, role)),
                        vec![Address::portfolio_product(name, product)],
                        "launch_role set on the portfolio",
                    ),
                    (Some(role), Some(c)) if &c.local_role_name != role => self.push(
                        Kind::LaunchConstraint,
                        caddr,
                        Action::Replace,
                        Some(constraint(name, product, &c.local_role_name)),
                        Some(constraint(name, product, role)),
                        vec![],
                        "launch role changed (one launch constraint per product: delete, then create)",
                    ),
                    (None, Some(c)) => self.push(
                        Kind::LaunchConstraint,
                        caddr,
                        Action::Delete,
                        Some(constraint(name, product, &c.local_role_name)),
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
                        Address::launch_constraint(name, pname),
                        Action::Delete,
                        Some(constraint(name, pname, &c.local_role_name)),
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
                let a = Address::launch_constraint(name, &pname);
                deps.push(a.clone());
                self.push(
                    Kind::LaunchConstraint,
                    a,
                    Action::Delete,
                    Some(constraint(name, &pname, &c.local_role_name)),
                    None,
                    vec![],
                    "portfolio removed",
                );
            }
            for id in &sp.product_ids {
                let pname = self.product_name(id);
                let a = Address::portfolio_product(name, &pname);
                deps.push(a.clone());
                self.push(
                    Kind::PortfolioProduct,
                    a,
                    Action::Delete,
                    Some(Payload::PortfolioProduct(PortfolioProductState {
                        portfolio: name.clone(),
                        product: pname.clone(),
                        portfolio_id: Some(sp.id.clone()),
                        product_id: Some(id.clone()),
                    })),
                    None,
                    vec![Address::launch_constraint(name, &pname)],
                    "portfolio removed",
                );
            }
            for p in &sp.principals {
                let a = Address::portfolio_principal(name, &p.arn);
                deps.push(a.clone());
                self.push(
                    Kind::PortfolioPrincipal,
                    a,
                    Action::Delete,
                    Some(principal(name, &p.arn, &p.principal_type)),
                    None,
                    vec![],
                    "portfolio removed",
                );
            }
            for s in &sp.shares {
                let key = self.share_key(s);
                let a = Address::portfolio_share(name, &key);
                deps.push(a.clone());
                self.push(
                    Kind::PortfolioShare,
                    a,
                    Action::Delete,
                    Some(share(name, &key, s)),
                    None,
                    vec![],
                    "portfolio removed",
                );
            }
            self.push(
                Kind::Portfolio,
                Address::portfolio(name),
                Action::Delete,
                Some(Payload::Portfolio(portfolio_core(sp))),
                None,
                deps,
                "managed portfolio no longer in portfolios.yaml",
            );
        }
    }

    /// Will this launched pipeline stop using `product@version` in this plan (its request asks
    /// for another version or product, or vend terminates it)? Returns its address if so.
    pub(super) fn pipeline_leaves(
        &self,
        pp: &ProvisionedProduct,
        product: &str,
        version: &str,
    ) -> Option<Address> {
        let account = self.accounts_by_id.get(pp.account_id.as_str())?;
        let key = format!("{}/{}", self.account_key(account), pp.name);
        let address = Address::pipeline_key(&key);
        match self.d.pipelines.get(&key) {
            Some(dp) if dp.product != product || dp.version != version => Some(address),
            Some(_) => None,
            None if managed(&pp.tags, self.own) => Some(address),
            None => None,
        }
    }

    /// Who uses `product@version` after the plan: launched pipelines that stay on it, and
    /// requests for it (as `account/name`).
    pub(super) fn version_users(&self, product: &str, version: &str, version_id: &str) -> Vec<String> {
        let mut users: BTreeSet<String> = BTreeSet::new();
        for pp in self.s.provisioned_products.iter().filter(|pp| pp.version_id == version_id) {
            if self.pipeline_leaves(pp, product, version).is_none() {
                let account = self.accounts_by_id.get(pp.account_id.as_str()).map(|a| self.account_key(a));
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

    pub(super) fn account_named(&self, name: &str) -> Vec<&'a Account> {
        self.accounts_by_key.get(name).cloned().unwrap_or_default()
    }

    pub(super) fn product_name(&self, id: &str) -> String {
        self.products_by_id.get(id).map(|p| p.name.clone()).unwrap_or_else(|| id.to_string())
    }
}

fn principal(portfolio: &str, arn: &str, principal_type: &str) -> Payload {
    Payload::Principal(PrincipalState {
        portfolio: portfolio.to_string(),
        arn: arn.to_string(),
        principal_type: principal_type.to_string(),
        portfolio_id: None,
    })
}

fn share(portfolio: &str, key: &str, s: &Share) -> Payload {
    Payload::Share(ShareState {
        portfolio: portfolio.to_string(),
        target: key.to_string(),
        share_type: s.share_type.clone(),
        value: Some(s.value.clone()),
        status: s.status.clone(),
        portfolio_id: None,
        share_principals: s.share_principals,
    })
}

fn constraint(portfolio: &str, product: &str, local_role_name: &str) -> Payload {
    Payload::Constraint(ConstraintState {
        portfolio: portfolio.to_string(),
        product: product.to_string(),
        local_role_name: local_role_name.to_string(),
        product_id: None,
        portfolio_id: None,
    })
}
