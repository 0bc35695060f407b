//! The Service Catalog operations of the in-process cloud and their AWS rules: portfolios,
//! products and versions (templates uploaded first, quotas), associations, principals, shares
//! (asynchronous for organization nodes) and launch constraints. Provisioned products are in
//! `provisioning`. It does no Organizations operation and no file I/O.

use super::{IdKind, LocalCloud, chars, index};
use crate::adapter::aws_rules::refuse;
use crate::model::{LaunchConstraint, Portfolio, Principal, Product, ProductVersion, Share, Tags};
use crate::port::{ArtifactSpec, CloudError, Outcome};
use crate::workspace::rules;

impl LocalCloud {
    pub(super) fn create_portfolio(
        &mut self,
        name: &str,
        description: &str,
        provider: &str,
        tags: &Tags,
        token: &str,
    ) -> Result<Outcome, CloudError> {
        if let Some(o) = self.replay("CreatePortfolio", token, |o| {
            o.id.as_deref().is_some_and(|id| self.idx.portfolios.contains_key(id))
        }) {
            return Ok(o);
        }
        check_portfolio_fields(description, provider)?;
        if name.is_empty() || chars(name) > 100 {
            return Err(refuse(
                "servicecatalog.portfolio-fields",
                "a portfolio name must be 1 to 100 characters",
            ));
        }
        self.check_catalog_tags(tags, 0)?;
        let id = self.mint(IdKind::Portfolio);
        self.touched.portfolios.insert(id.clone());
        let portfolio = Portfolio {
            id: id.clone(),
            name: name.into(),
            description: description.into(),
            provider: provider.into(),
            tags: tags.clone(),
            product_ids: vec![],
            principals: vec![],
            shares: vec![],
            launch_constraints: vec![],
        };
        index::insert(&mut self.state.portfolios, &mut self.idx.portfolios, &id, portfolio);
        let out = Outcome { id: Some(id), ..Outcome::default() };
        self.remember("CreatePortfolio", token, &out);
        Ok(out)
    }

    pub(super) fn update_portfolio(
        &mut self,
        portfolio_id: &str,
        description: &str,
        provider: &str,
        tags: &Tags,
    ) -> Result<Outcome, CloudError> {
        let i = self.portfolio_index(portfolio_id)?;
        check_portfolio_fields(description, provider)?;
        let mut all = self.state.portfolios[i].tags.clone();
        all.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.check_catalog_tags(tags, all.len())?;
        self.touched.portfolios.insert(portfolio_id.into());
        let p = &mut self.state.portfolios[i];
        p.description = description.into();
        p.provider = provider.into();
        p.tags = all;
        Ok(Outcome { id: Some(portfolio_id.into()), ..Outcome::default() })
    }

    pub(super) fn delete_portfolio(&mut self, portfolio_id: &str) -> Result<Outcome, CloudError> {
        let i = self.portfolio_index(portfolio_id)?;
        let p = &self.state.portfolios[i];
        let mut left = vec![];
        for (what, n) in [
            ("products", p.product_ids.len()),
            ("principals", p.principals.len()),
            ("shares", p.shares.len()),
            ("constraints", p.launch_constraints.len()),
        ] {
            if n > 0 {
                left.push(format!("{n} {what}"));
            }
        }
        if !left.is_empty() {
            return Err(refuse(
                "servicecatalog.portfolio-empty-to-delete",
                format!("portfolio {portfolio_id} still has {}", left.join(", ")),
            ));
        }
        index::remove(&mut self.state.portfolios, &mut self.idx.portfolios, portfolio_id, |p| &p.id);
        self.touched.portfolios.insert(portfolio_id.into());
        Ok(Outcome::default())
    }

    pub(super) fn create_product(
        &mut self,
        name: &str,
        owner: &str,
        description: &str,
        tags: &Tags,
        version: &ArtifactSpec,
        token: &str,
    ) -> Result<Outcome, CloudError> {
        if let Some(o) = self.replay("CreateProduct", token, |o| {
            o.id.as_deref().is_some_and(|id| self.idx.products.contains_key(id))
        }) {
            return Ok(o);
        }
        if name.is_empty() || chars(name) > 8191 {
            return Err(refuse(
                "servicecatalog.product-fields",
                "a product name must be 1 to 8191 characters",
            ));
        }
        if owner.is_empty() || chars(owner) > 8191 {
            return Err(refuse(
                "servicecatalog.product-fields",
                "a product owner must be 1 to 8191 characters",
            ));
        }
        if chars(description) > 8191 {
            return Err(refuse(
                "servicecatalog.product-fields",
                "a product description must be at most 8191 characters",
            ));
        }
        self.check_catalog_tags(tags, 0)?;
        self.check_artifact(version)?;
        let id = self.mint(IdKind::Product);
        let artifact_id = self.mint(IdKind::Artifact);
        let product = Product {
            id: id.clone(),
            name: name.into(),
            owner: owner.into(),
            tags: tags.clone(),
            versions: vec![new_version(&artifact_id, version)],
        };
        index::insert(&mut self.state.products, &mut self.idx.products, &id, product);
        self.touched.products.insert(id.clone());
        let out = Outcome { id: Some(id), artifact_id: Some(artifact_id), ..Outcome::default() };
        self.remember("CreateProduct", token, &out);
        Ok(out)
    }

    pub(super) fn update_product(
        &mut self,
        product_id: &str,
        owner: &str,
        tags: &Tags,
    ) -> Result<Outcome, CloudError> {
        let i = self.product_index(product_id)?;
        if owner.is_empty() || chars(owner) > 8191 {
            return Err(refuse(
                "servicecatalog.product-fields",
                "a product owner must be 1 to 8191 characters",
            ));
        }
        let mut all = self.state.products[i].tags.clone();
        all.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.check_catalog_tags(tags, all.len())?;
        self.touched.products.insert(product_id.into());
        let p = &mut self.state.products[i];
        p.owner = owner.into();
        p.tags = all;
        Ok(Outcome { id: Some(product_id.into()), ..Outcome::default() })
    }

    pub(super) fn delete_product(&mut self, product_id: &str) -> Result<Outcome, CloudError> {
        self.product_index(product_id)?;
        let holder = self.state.portfolios.iter().filter(|p| p.product_ids.iter().any(|x| x == product_id));
        if let Some(p) = holder.min_by(|a, b| a.id.cmp(&b.id)) {
            return Err(refuse(
                "servicecatalog.product-unused-to-delete",
                format!("product {product_id} is associated with portfolio {}", p.id),
            ));
        }
        let launched = self.state.provisioned_products.iter().filter(|pp| pp.product_id == product_id);
        if let Some(pp) = launched.min_by(|a, b| a.id.cmp(&b.id)) {
            return Err(refuse(
                "servicecatalog.product-unused-to-delete",
                format!("product {product_id} is provisioned as {} in account {}", pp.id, pp.account_id),
            ));
        }
        index::remove(&mut self.state.products, &mut self.idx.products, product_id, |p| &p.id);
        self.touched.products.insert(product_id.into());
        Ok(Outcome::default())
    }

    pub(super) fn create_artifact(
        &mut self,
        product_id: &str,
        version: &ArtifactSpec,
        token: &str,
    ) -> Result<Outcome, CloudError> {
        if let Some(o) = self.replay("CreateProvisioningArtifact", token, |o| {
            o.id.as_deref()
                .is_some_and(|id| self.state.products.iter().any(|p| p.versions.iter().any(|v| v.id == id)))
        }) {
            return Ok(o);
        }
        let i = self.product_index(product_id)?;
        self.check_artifact(version)?;
        let p = &self.state.products[i];
        if p.versions.iter().any(|v| v.name == version.name) {
            return Err(refuse(
                "servicecatalog.version-name-unique",
                format!("product {product_id} already has a version named '{}'", version.name),
            ));
        }
        if p.versions.len() >= self.settings.max_versions_per_product {
            return Err(refuse(
                "servicecatalog.version-count",
                format!("product {product_id} has {} versions, the most allowed", p.versions.len()),
            ));
        }
        let id = self.mint(IdKind::Artifact);
        let versions = &mut self.state.products[i].versions;
        let at = versions.partition_point(|v| v.id < id);
        versions.insert(at, new_version(&id, version));
        self.touched.products.insert(product_id.into());
        let out = Outcome { id: Some(id), ..Outcome::default() };
        self.remember("CreateProvisioningArtifact", token, &out);
        Ok(out)
    }

    pub(super) fn update_artifact(
        &mut self,
        product_id: &str,
        artifact_id: &str,
        active: bool,
        guidance: &str,
        description: Option<&str>,
    ) -> Result<Outcome, CloudError> {
        let i = self.product_index(product_id)?;
        let v = self.artifact_index(i, artifact_id)?;
        if guidance != "DEFAULT" && guidance != "DEPRECATED" {
            return Err(refuse(
                "servicecatalog.version-fields",
                format!("guidance must be DEFAULT or DEPRECATED, not '{guidance}'"),
            ));
        }
        if description.is_some_and(|d| d.chars().count() > 8192) {
            return Err(refuse(
                "servicecatalog.version-fields",
                "the version description must be at most 8192 characters".to_string(),
            ));
        }
        self.touched.products.insert(product_id.into());
        let version = &mut self.state.products[i].versions[v];
        version.active = active;
        version.guidance = guidance.into();
        if let Some(d) = description {
            version.description = d.into();
        }
        Ok(Outcome { id: Some(artifact_id.into()), ..Outcome::default() })
    }

    pub(super) fn delete_artifact(
        &mut self,
        product_id: &str,
        artifact_id: &str,
    ) -> Result<Outcome, CloudError> {
        let i = self.product_index(product_id)?;
        let v = self.artifact_index(i, artifact_id)?;
        if self.state.products[i].versions.len() == 1 {
            return Err(refuse(
                "servicecatalog.version-keep-one",
                format!(
                    "{artifact_id} is the last version of product {product_id}; a product keeps at least one"
                ),
            ));
        }
        let launched = self.state.provisioned_products.iter().filter(|pp| pp.version_id == artifact_id);
        if let Some(pp) = launched.min_by(|a, b| a.id.cmp(&b.id)) {
            return Err(refuse(
                "servicecatalog.version-unused-to-delete",
                format!(
                    "{artifact_id} is used by provisioned product {} in account {}",
                    pp.id, pp.account_id
                ),
            ));
        }
        self.state.products[i].versions.remove(v);
        self.touched.products.insert(product_id.into());
        Ok(Outcome::default())
    }

    pub(super) fn associate_product(
        &mut self,
        product_id: &str,
        portfolio_id: &str,
    ) -> Result<Outcome, CloudError> {
        self.product_index(product_id)?;
        let i = self.portfolio_index(portfolio_id)?;
        if index::insert_sorted(&mut self.state.portfolios[i].product_ids, product_id.into()) {
            self.touched.portfolios.insert(portfolio_id.into());
        }
        Ok(Outcome::default())
    }

    pub(super) fn disassociate_product(
        &mut self,
        product_id: &str,
        portfolio_id: &str,
    ) -> Result<Outcome, CloudError> {
        self.product_index(product_id)?;
        let i = self.portfolio_index(portfolio_id)?;
        let p = &self.state.portfolios[i];
        if !p.product_ids.iter().any(|x| x == product_id) {
            return Err(refuse(
                "servicecatalog.association-exists",
                format!("product {product_id} is not associated with portfolio {portfolio_id}"),
            ));
        }
        if p.launch_constraints.iter().any(|c| c.product_id == product_id) {
            return Err(refuse(
                "servicecatalog.constraint-before-disassociate",
                format!("portfolio {portfolio_id} has a launch constraint for {product_id}: delete it first"),
            ));
        }
        self.state.portfolios[i].product_ids.retain(|x| x != product_id);
        self.touched.portfolios.insert(portfolio_id.into());
        Ok(Outcome::default())
    }

    pub(super) fn associate_principal(
        &mut self,
        portfolio_id: &str,
        arn: &str,
        principal_type: &str,
    ) -> Result<Outcome, CloudError> {
        let i = self.portfolio_index(portfolio_id)?;
        if principal_type != "IAM" && principal_type != "IAM_PATTERN" {
            return Err(refuse(
                "servicecatalog.principal-shape",
                format!("principal type must be IAM or IAM_PATTERN, not '{principal_type}'"),
            ));
        }
        let shape = rules::principal(arn)
            .map_err(|e| refuse("servicecatalog.principal-shape", format!("principal {e}")))?;
        if shape != principal_type {
            return Err(refuse(
                "servicecatalog.principal-shape",
                format!("'{arn}' is an {shape} principal, not {principal_type}"),
            ));
        }
        let p = &self.state.portfolios[i];
        if p.principals.iter().any(|x| x.arn == arn && x.principal_type == principal_type) {
            return Ok(Outcome::default());
        }
        let patterns = p.principals.iter().filter(|x| x.principal_type == "IAM_PATTERN").count();
        if principal_type == "IAM_PATTERN" && patterns >= self.settings.max_principal_patterns {
            return Err(refuse(
                "servicecatalog.principal-pattern-count",
                format!("portfolio {portfolio_id} has {patterns} IAM_PATTERN principals, the most allowed"),
            ));
        }
        let principal = Principal { arn: arn.into(), principal_type: principal_type.into() };
        index::insert_sorted(&mut self.state.portfolios[i].principals, principal);
        self.touched.portfolios.insert(portfolio_id.into());
        Ok(Outcome::default())
    }

    pub(super) fn disassociate_principal(
        &mut self,
        portfolio_id: &str,
        arn: &str,
        principal_type: &str,
    ) -> Result<Outcome, CloudError> {
        let i = self.portfolio_index(portfolio_id)?;
        let p = &mut self.state.portfolios[i];
        let Some(k) = p.principals.iter().position(|x| x.arn == arn && x.principal_type == principal_type)
        else {
            return Err(refuse(
                "servicecatalog.principal-associated",
                format!("no {principal_type} principal '{arn}' on portfolio {portfolio_id}"),
            ));
        };
        p.principals.remove(k);
        self.touched.portfolios.insert(portfolio_id.into());
        Ok(Outcome::default())
    }

    // ---- Service Catalog: shares and constraints

    pub(super) fn create_share(
        &mut self,
        portfolio_id: &str,
        share_type: &str,
        value: &str,
        share_principals: bool,
    ) -> Result<Outcome, CloudError> {
        let i = self.portfolio_index(portfolio_id)?;
        principal_sharing_allowed(share_type, share_principals)?;
        let bad = |m: String| refuse("servicecatalog.share-target", m);
        match share_type {
            "ORGANIZATION" if value == self.state.organization.id => {}
            "ORGANIZATION" => return Err(bad(format!("'{value}' is not this organization"))),
            "ORGANIZATIONAL_UNIT" if self.ou(value).is_some() => {}
            "ORGANIZATIONAL_UNIT" => return Err(bad(format!("no OU {value} in this organization"))),
            "ACCOUNT" if value == self.state.organization.management_account_id => {
                return Err(bad("a portfolio cannot be shared with its own account".into()));
            }
            "ACCOUNT" if self.account(value).is_some() => {}
            "ACCOUNT" => return Err(bad(format!("no account {value} in this organization"))),
            other => {
                return Err(bad(format!(
                    "share type must be ORGANIZATION, ORGANIZATIONAL_UNIT or ACCOUNT, not '{other}'"
                )));
            }
        }
        if share_type != "ACCOUNT" && !self.state.catalog_org_access() {
            return Err(refuse(
                "servicecatalog.share-org-access",
                "AWS Organizations access is not enabled. Call EnableAWSOrganizationsAccess first.",
            ));
        }
        let token = Self::share_token(portfolio_id, share_type, value);
        let p = &mut self.state.portfolios[i];
        if let Some(s) = p.shares.iter().find(|s| s.share_type == share_type && s.value == value) {
            // Sharing again what is shared: AWS answers with the share's status.
            return Ok(Outcome { id: Some(token), status: Some(s.status.clone()), ..Outcome::default() });
        }
        index::insert_sorted(
            &mut p.shares,
            Share {
                share_type: share_type.into(),
                value: value.into(),
                status: "IN_PROGRESS".into(),
                share_principals,
            },
        );
        self.touched.portfolios.insert(portfolio_id.into());
        self.touched.share_polls.insert(token.clone());
        self.x.share_polls.insert(token.clone(), 0);
        Ok(Outcome { id: Some(token), status: Some("IN_PROGRESS".into()), ..Outcome::default() })
    }

    fn find_share(&self, token: &str) -> Option<(usize, usize)> {
        self.state.portfolios.iter().enumerate().find_map(|(i, p)| {
            p.shares
                .iter()
                .position(|s| Self::share_token(&p.id, &s.share_type, &s.value) == token)
                .map(|k| (i, k))
        })
    }

    pub(super) fn describe_share(&mut self, token: &str) -> Result<Outcome, CloudError> {
        let Some((i, k)) = self.find_share(token) else {
            return Err(refuse("servicecatalog.share-exists", format!("no portfolio share {token}")));
        };
        let needed = self.polls_needed();
        self.touched.portfolios.insert(self.state.portfolios[i].id.clone());
        self.touched.share_polls.insert(token.to_string());
        let share = &mut self.state.portfolios[i].shares[k];
        if share.status == "IN_PROGRESS" || share.status == "NOT_STARTED" {
            let polls = self.x.share_polls.entry(token.to_string()).or_insert(0);
            *polls += 1;
            if *polls >= needed {
                share.status = "COMPLETED".into();
                self.x.share_polls.remove(token);
            }
        }
        Ok(Outcome {
            id: Some(token.to_string()),
            status: Some(share.status.clone()),
            result: Some(self.state.portfolios[i].id.clone()),
            ..Outcome::default()
        })
    }

    pub(super) fn delete_share(
        &mut self,
        portfolio_id: &str,
        share_type: &str,
        value: &str,
    ) -> Result<Outcome, CloudError> {
        let i = self.portfolio_index(portfolio_id)?;
        let p = &mut self.state.portfolios[i];
        let Some(k) = p.shares.iter().position(|s| s.share_type == share_type && s.value == value) else {
            return Err(refuse(
                "servicecatalog.share-exists",
                format!("portfolio {portfolio_id} is not shared with {share_type} {value}"),
            ));
        };
        p.shares.remove(k);
        let token = Self::share_token(portfolio_id, share_type, value);
        self.touched.portfolios.insert(portfolio_id.into());
        self.touched.share_polls.insert(token.clone());
        self.x.share_polls.remove(&token);
        Ok(Outcome { id: Some(token), status: Some("COMPLETED".into()), ..Outcome::default() })
    }

    /// UpdatePortfolioShare: principal sharing on or off on an existing organization or OU
    /// share that is no longer being created.
    pub(super) fn update_share(
        &mut self,
        portfolio_id: &str,
        share_type: &str,
        value: &str,
        share_principals: bool,
    ) -> Result<Outcome, CloudError> {
        let i = self.portfolio_index(portfolio_id)?;
        let p = &self.state.portfolios[i];
        let Some(k) = p.shares.iter().position(|s| s.share_type == share_type && s.value == value) else {
            return Err(refuse(
                "servicecatalog.share-exists",
                format!("portfolio {portfolio_id} is not shared with {share_type} {value}"),
            ));
        };
        principal_sharing_allowed(share_type, share_principals)?;
        if p.shares[k].status == "IN_PROGRESS" {
            return Err(refuse(
                "servicecatalog.share-update-in-progress",
                format!("the share of {portfolio_id} with {share_type} {value} is still being created"),
            ));
        }
        self.state.portfolios[i].shares[k].share_principals = share_principals;
        self.touched.portfolios.insert(portfolio_id.into());
        let token = Self::share_token(portfolio_id, share_type, value);
        Ok(Outcome { id: Some(token), status: Some("COMPLETED".into()), ..Outcome::default() })
    }

    pub(super) fn create_constraint(
        &mut self,
        portfolio_id: &str,
        product_id: &str,
        local_role_name: &str,
        token: &str,
    ) -> Result<Outcome, CloudError> {
        if let Some(o) = self.replay("CreateConstraint", token, |_| {
            self.idx.portfolios.get(portfolio_id).is_some_and(|&i| {
                self.state.portfolios[i].launch_constraints.iter().any(|c| c.product_id == product_id)
            })
        }) {
            return Ok(o);
        }
        let i = self.portfolio_index(portfolio_id)?;
        self.product_index(product_id)?;
        let p = &self.state.portfolios[i];
        if !p.product_ids.iter().any(|x| x == product_id) {
            return Err(refuse(
                "servicecatalog.constraint-needs-association",
                format!("product {product_id} is not associated with portfolio {portfolio_id}"),
            ));
        }
        rules::role_name(local_role_name)
            .map_err(|e| refuse("servicecatalog.constraint-role", format!("LocalRoleName {e}")))?;
        let mgmt = &self.state.organization.management_account_id;
        if self.state.launch_path.is_some() && self.state.launch_role(mgmt, local_role_name).is_none() {
            return Err(refuse(
                "servicecatalog.constraint-role-exists",
                format!(
                    "Role {local_role_name} does not exist in account {mgmt}, where the constraint is created"
                ),
            ));
        }
        if p.launch_constraints.iter().any(|c| c.product_id == product_id) {
            return Err(refuse(
                "servicecatalog.constraint-one-launch",
                format!("portfolio {portfolio_id} already has a launch constraint for {product_id}"),
            ));
        }
        let constraint =
            LaunchConstraint { product_id: product_id.into(), local_role_name: local_role_name.into() };
        index::insert_sorted(&mut self.state.portfolios[i].launch_constraints, constraint);
        self.touched.portfolios.insert(portfolio_id.into());
        let id = self.mint(IdKind::Constraint);
        let out = Outcome { id: Some(id), ..Outcome::default() };
        self.remember("CreateConstraint", token, &out);
        Ok(out)
    }

    pub(super) fn delete_constraint(
        &mut self,
        portfolio_id: &str,
        product_id: &str,
    ) -> Result<Outcome, CloudError> {
        let i = self.portfolio_index(portfolio_id)?;
        let p = &mut self.state.portfolios[i];
        let Some(k) = p.launch_constraints.iter().position(|c| c.product_id == product_id) else {
            return Err(refuse(
                "servicecatalog.constraint-exists",
                format!("portfolio {portfolio_id} has no launch constraint for {product_id}"),
            ));
        };
        p.launch_constraints.remove(k);
        self.touched.portfolios.insert(portfolio_id.into());
        Ok(Outcome::default())
    }
}

fn check_portfolio_fields(description: &str, provider: &str) -> Result<(), CloudError> {
    if provider.is_empty() || chars(provider) > 50 {
        return Err(refuse(
            "servicecatalog.portfolio-fields",
            "a portfolio provider must be 1 to 50 characters",
        ));
    }
    if chars(description) > 2000 {
        return Err(refuse(
            "servicecatalog.portfolio-fields",
            "a portfolio description must be at most 2000 characters",
        ));
    }
    Ok(())
}

fn new_version(id: &str, spec: &ArtifactSpec) -> ProductVersion {
    ProductVersion {
        id: id.into(),
        name: spec.name.clone(),
        active: true,
        guidance: spec.guidance.clone(),
        description: spec.description.clone(),
        template_url: spec.template_url.clone(),
    }
}

/// Principal sharing is only for shares to the organization or an OU.
fn principal_sharing_allowed(share_type: &str, share_principals: bool) -> Result<(), CloudError> {
    if share_principals && share_type == "ACCOUNT" {
        return Err(refuse(
            "servicecatalog.share-principals-org-only",
            "SharePrincipals is only supported for shares to an organization or an organizational unit",
        ));
    }
    Ok(())
}
