//! The Service Catalog part of `vend import`: products (each version a pipeline blueprint
//! folder holding the template fetched from the provisioning artifact), portfolios with their
//! products, principals, shares and launch constraint role, and the provisioned products as
//! `lifecycle: adopt` pipeline requests. A product, a portfolio or a pipeline is written whole
//! or left out with the reason: adopting a portfolio makes vend own its members, so a member
//! the workspace could not name would be planned for removal.

use super::files::{
    PipelineBlueprintYaml, PipelineRequestYaml, PortfolioYaml, PortfoliosYaml, ProductEntryYaml, Value,
    file_safe, slug, yaml,
};
use super::{FILL_IN, Importer, KEY_MAX};
use crate::model::{Portfolio, Product, ProvisionedProduct};
use std::collections::{BTreeMap, BTreeSet};

/// A product the import writes: its blueprint name and the versions listed.
struct Written {
    blueprint: String,
    /// Version names listed in portfolios.yaml (active, named, template fetched).
    versions: BTreeSet<String>,
    deprecated: Vec<String>,
}

impl<'a> Importer<'a> {
    pub(super) fn catalog(&mut self, templates: &BTreeMap<String, String>) -> Result<(), String> {
        let s = self.s;
        // Products, by id.
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        for p in &s.products {
            *names.entry(p.name.as_str()).or_default() += 1;
        }
        let mut products: BTreeMap<&'a str, Written> = BTreeMap::new();
        let mut sorted: Vec<&'a Product> = s.products.iter().collect();
        sorted.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        for p in sorted {
            if names.get(p.name.as_str()).copied().unwrap_or(0) > 1 {
                self.left_out(
                    format!("product '{}' ({})", p.name, p.id),
                    "several products have that name; vend adopts a product by its name and could not tell them apart",
                );
                continue;
            }
            if let Some(w) = self.product(p, templates)? {
                products.insert(p.id.as_str(), w);
            }
        }
        // Portfolios.
        let mut out = PortfoliosYaml::default();
        let mut in_portfolio: BTreeSet<&str> = BTreeSet::new();
        let mut portfolios: Vec<&'a Portfolio> = s.portfolios.iter().collect();
        portfolios.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for p in &portfolios {
            *seen.entry(p.name.as_str()).or_default() += 1;
        }
        let mut written: Vec<&'a Portfolio> = vec![];
        for p in portfolios {
            if seen.get(p.name.as_str()).copied().unwrap_or(0) > 1 {
                self.left_out(
                    format!("portfolio '{}' ({})", p.name, p.id),
                    "several portfolios have that name; vend adopts a portfolio by its name",
                );
                continue;
            }
            match self.portfolio(p, &products) {
                Ok(y) => {
                    in_portfolio.extend(p.product_ids.iter().map(String::as_str));
                    out.portfolios.insert(p.name.clone(), y);
                    written.push(p);
                }
                Err(reason) => self.left_out(format!("portfolio '{}' ({})", p.name, p.id), reason),
            }
        }
        // Products in no written portfolio cannot be listed anywhere.
        let orphans: Vec<(&str, String)> = products
            .iter()
            .filter(|(id, _)| !in_portfolio.contains(*id))
            .map(|(id, w)| (*id, w.blueprint.clone()))
            .collect();
        for (id, bp) in orphans {
            products.remove(id);
            self.files.retain(|path, _| !path.starts_with(&format!("blueprints/pipelines/{bp}/")));
            let name = s.products.iter().find(|p| p.id == id).map(|p| p.name.clone()).unwrap_or_default();
            self.left_out(
                format!("product '{name}' ({id})"),
                "it is in no portfolio the import could write (portfolios.yaml lists products under their portfolios)",
            );
        }
        if !out.portfolios.is_empty() {
            let text = yaml(
                "Written by `vend import`: Service Catalog portfolios (`lifecycle: adopt` takes over what vend does not manage yet).",
                &out,
            )?;
            self.put("catalog/portfolios.yaml".into(), text);
        }
        let versions: usize = products.values().map(|w| w.versions.len()).sum();
        self.report.counts.push(format!(
            "{} portfolios, {} products ({versions} versions as pipeline blueprints)",
            out.portfolios.len(),
            products.len()
        ));
        self.pipelines(&products, &written)
    }

    /// The blueprint folders of product `p`, or `None` (left out, said why).
    fn product(
        &mut self,
        p: &'a Product,
        templates: &BTreeMap<String, String>,
    ) -> Result<Option<Written>, String> {
        let what = format!("product '{}' ({})", p.name, p.id);
        if let Some(v) =
            p.versions.iter().find(|v| v.description.starts_with(crate::model::VERSION_HASH_MARKER))
        {
            self.left_out(
                what,
                format!(
                    "version '{}' was published by vend (its description records the hash of its blueprint files): restore that blueprint folder from the workspace's history instead",
                    v.name
                ),
            );
            return Ok(None);
        }
        let base = if file_safe(&p.name, 64) { p.name.clone() } else { slug(&p.name, KEY_MAX, "product") };
        let blueprint = self.taken("pipeline-blueprints").bump(&base);
        if blueprint != p.name {
            self.report.renamed.push(format!(
                "product '{}' ({}) -> blueprints/pipelines/{blueprint}/ with `product: {}`",
                p.name, p.id, p.name
            ));
        }
        let mut w = Written { blueprint: blueprint.clone(), versions: BTreeSet::new(), deprecated: vec![] };
        let mut versions: Vec<_> = p.versions.iter().collect();
        versions.sort_by(|a, b| a.name.cmp(&b.name));
        for v in versions {
            let vwhat = format!("version '{}' of product '{}' ({})", v.name, p.name, v.id);
            if !v.active {
                self.left_out(
                    vwhat,
                    "it is inactive (hidden from users): vend leaves versions it does not list alone",
                );
                continue;
            }
            if let Err(e) = crate::workspace::rules::version_name(&v.name) {
                self.left_out(vwhat, format!("its name {e}"));
                continue;
            }
            if w.versions.iter().any(|x| x.eq_ignore_ascii_case(&v.name)) {
                self.left_out(vwhat, "another version's name differs from it only in case (one folder)");
                continue;
            }
            let Some(body) = templates.get(&v.template_url) else {
                self.left_out(vwhat, format!("its template ({}) could not be fetched", v.template_url));
                continue;
            };
            let bp = PipelineBlueprintYaml {
                description: format!(
                    "Service Catalog product {} ({}), version {} ({}), written by vend import",
                    p.name, p.id, v.name, v.id
                ),
                product: (blueprint != p.name).then(|| p.name.clone()),
                owner: p.owner.clone(),
                template: "template.yaml",
            };
            let dir = format!("blueprints/pipelines/{blueprint}/{}", v.name);
            let text = yaml("Written by `vend import`.", &bp)?;
            self.put(format!("{dir}/blueprint.yaml"), text);
            self.put(format!("{dir}/template.yaml"), body.clone().into_bytes());
            if v.guidance == "DEPRECATED" {
                w.deprecated.push(v.name.clone());
            }
            w.versions.insert(v.name.clone());
        }
        if w.versions.is_empty() {
            self.left_out(what, "none of its versions could be written");
            return Ok(None);
        }
        Ok(Some(w))
    }

    /// A share as portfolios.yaml names it.
    fn share_target(&self, share: &crate::model::Share) -> Result<String, String> {
        match share.share_type.as_str() {
            "ORGANIZATION" => Ok("organization".into()),
            "ORGANIZATIONAL_UNIT" => {
                self.ou_path.get(share.value.as_str()).cloned().ok_or_else(|| {
                    format!("it is shared with OU {}, which the import cannot name", share.value)
                })
            }
            "ACCOUNT" => {
                if let Some(k) = self.account_key.get(share.value.as_str()) {
                    return Ok(k.clone());
                }
                match self.s.accounts.iter().find(|a| a.id == share.value) {
                    Some(a) if self.s.accounts.iter().filter(|x| x.name == a.name).count() == 1 => {
                        Ok(a.name.clone())
                    }
                    _ => Err(format!(
                        "it is shared with account {}, which is not an account of the imported organization (scope)",
                        share.value
                    )),
                }
            }
            other => Err(format!("it has a share of type {other}")),
        }
    }

    fn portfolio(
        &mut self,
        p: &'a Portfolio,
        products: &BTreeMap<&str, Written>,
    ) -> Result<PortfolioYaml, String> {
        let mut entries = BTreeMap::new();
        for id in &p.product_ids {
            let Some(w) = products.get(id.as_str()) else {
                return Err(format!("it holds product {id}, which is left out"));
            };
            entries.insert(
                w.blueprint.clone(),
                ProductEntryYaml {
                    versions: w.versions.iter().cloned().collect(),
                    deprecated: w.deprecated.clone(),
                    lifecycle: "adopt",
                },
            );
        }
        let mut principals = vec![];
        for pr in &p.principals {
            crate::workspace::rules::principal(&pr.arn).map_err(|e| format!("principal {}: {e}", pr.arn))?;
            principals.push(pr.arn.clone());
        }
        principals.sort();
        let mut shares = vec![];
        let mut flags = BTreeSet::new();
        for sh in &p.shares {
            shares.push(self.share_target(sh)?);
            if sh.share_type != "ACCOUNT" {
                flags.insert(sh.share_principals);
            }
            if sh.status != "COMPLETED" {
                self.report.notes.push(format!(
                    "portfolio '{}': its share with {} is {} in AWS",
                    p.name, sh.value, sh.status
                ));
            }
        }
        shares.sort();
        shares.dedup();
        if flags.len() > 1 {
            return Err("principal sharing is on for some of its organization/OU shares and off for others; portfolios.yaml sets it per portfolio".into());
        }
        let roles: BTreeSet<&str> = p.launch_constraints.iter().map(|c| c.local_role_name.as_str()).collect();
        let constrained: BTreeSet<&str> =
            p.launch_constraints.iter().map(|c| c.product_id.as_str()).collect();
        let launch_role = match roles.len() {
            0 => None,
            1 if p.product_ids.iter().all(|id| constrained.contains(id.as_str())) => {
                roles.iter().next().map(|r| r.to_string())
            }
            _ => {
                return Err(
                    "its products have different launch constraint roles, or some have none; portfolios.yaml sets one launch_role per portfolio".into(),
                );
            }
        };
        let own = &self.opts.ownership_tag;
        Ok(PortfolioYaml {
            description: p.description.clone(),
            provider: p.provider.clone(),
            products: entries,
            principals,
            shares,
            share_principals: flags.into_iter().next(),
            launch_role,
            tags: p
                .tags
                .iter()
                .filter(|(k, _)| *k != own)
                .map(|(k, v)| (k.clone(), Value::text(v)))
                .collect(),
            lifecycle: p.tags.get(own).is_none_or(|v| v != "true").then_some("adopt"),
        })
    }

    /// Is account `id` (OU path `ou`) covered by a share of a written portfolio holding product `pid`?
    fn shared(&self, portfolios: &[&Portfolio], pid: &str, id: &str, ou: &str) -> bool {
        portfolios.iter().filter(|p| p.product_ids.iter().any(|x| x == pid)).any(|p| {
            p.shares.iter().any(|sh| match sh.share_type.as_str() {
                "ORGANIZATION" => true,
                "ACCOUNT" => sh.value == id,
                "ORGANIZATIONAL_UNIT" => self
                    .ou_path
                    .get(sh.value.as_str())
                    .is_some_and(|p| ou == p || ou.starts_with(&format!("{p}/"))),
                _ => false,
            })
        })
    }

    fn pipelines(
        &mut self,
        products: &BTreeMap<&str, Written>,
        portfolios: &[&'a Portfolio],
    ) -> Result<(), String> {
        let s = self.s;
        let mgmt = &s.organization.management_account_id;
        let mgmt_name = s.accounts.iter().find(|a| &a.id == mgmt).map(|a| a.name.clone()).unwrap_or_default();
        let mut pps: Vec<&'a ProvisionedProduct> = s.provisioned_products.iter().collect();
        pps.sort_by(|a, b| (&a.account_id, &a.name).cmp(&(&b.account_id, &b.name)));
        let mut count = 0;
        for pp in pps {
            let what = format!("provisioned product '{}' ({}) in account {}", pp.name, pp.id, pp.account_id);
            let (account, folder) = if &pp.account_id == mgmt {
                if self.scope().is_some() {
                    continue;
                }
                (mgmt_name.clone(), self.mgmt_folder.clone())
            } else {
                match self.account_key.get(pp.account_id.as_str()) {
                    Some(k) => (k.clone(), k.clone()),
                    None if self.scope().is_some() => continue,
                    None => {
                        self.left_out(what, "its account is not imported");
                        continue;
                    }
                }
            };
            let Some(w) = products.get(pp.product_id.as_str()) else {
                self.left_out(what, format!("its product {} is left out", pp.product_id));
                continue;
            };
            let product = s.products.iter().find(|p| p.id == pp.product_id);
            let version = product.and_then(|p| p.versions.iter().find(|v| v.id == pp.version_id));
            let Some(version) = version.filter(|v| w.versions.contains(&v.name)) else {
                self.left_out(what, format!("its version {} is left out", pp.version_id));
                continue;
            };
            if &pp.account_id != mgmt {
                let ou = self.account_ou.get(pp.account_id.as_str()).cloned().unwrap_or_default();
                if !self.shared(portfolios, &pp.product_id, &pp.account_id, &ou) {
                    self.left_out(
                        what,
                        "no written portfolio holding its product is shared with its account (launched through a portfolio the account imported locally?)",
                    );
                    continue;
                }
            }
            if pp.status != "AVAILABLE" {
                self.report.not_only_adoptions.push(format!(
                    "{what} is {}: written, but the plan repairs a TAINTED or ERROR pipeline (an update of its stack) and waits for one UNDER_CHANGE",
                    pp.status
                ));
            }
            let mut params = BTreeMap::new();
            for (k, v) in &pp.params {
                if v == crate::model::MASKED {
                    self.report.fill_in.push(format!("catalog/pipelines/{folder}/{}.yaml: {k}", pp.name));
                    params.insert(k.clone(), Value::text(FILL_IN));
                } else {
                    params.insert(k.clone(), Value::of(v));
                }
            }
            let req = PipelineRequestYaml {
                blueprint: format!("{}@{}", w.blueprint, version.name),
                account,
                name: pp.name.clone(),
                params,
                lifecycle: "adopt",
                reason: format!("Imported from Service Catalog (provisioned product {})", pp.id),
            };
            let text = yaml("Written by `vend import`.", &req)?;
            self.put(format!("catalog/pipelines/{folder}/{}.yaml", pp.name), text);
            count += 1;
        }
        self.report.counts.push(format!("{count} provisioned pipelines"));
        Ok(())
    }
}
