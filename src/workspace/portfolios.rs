//! `catalog/portfolios.yaml`: portfolios, their products and published versions, principals
//! and shares, and the workspace-wide check of share targets. It does not read requests.

use super::raw::*;
use super::{
    Blueprints, Cx, MAX_PRINCIPAL_PATTERNS, PORTFOLIOS, PipelineVersion, Published, origin, rules, yaml,
};
use crate::model::*;
use std::collections::{BTreeMap, BTreeSet};

impl Cx<'_> {
    pub(super) fn portfolios(&mut self, b: &Blueprints) -> Published {
        let mut published: Published = BTreeMap::new();
        let mut published_at: BTreeMap<String, (String, Origin)> = BTreeMap::new();
        let Some(bytes) = self.files.get(PORTFOLIOS) else {
            return published;
        };
        let Some(raw) = yaml::parse::<RawPortfolios>(PORTFOLIOS, bytes, &mut self.diags) else {
            return published;
        };
        for (pname, port) in &raw.portfolios {
            let at = origin(PORTFOLIOS, port);
            let p = &port.value;
            if pname.is_empty() || pname.chars().count() > 100 {
                self.err_rule(
                    "servicecatalog.portfolio-fields",
                    "bad-name",
                    &at,
                    "portfolio name must be 1 to 100 characters",
                );
                continue;
            }
            if p.provider.value.is_empty() || p.provider.value.chars().count() > 50 {
                self.err_rule(
                    "servicecatalog.portfolio-fields",
                    "bad-name",
                    &origin(PORTFOLIOS, &p.provider),
                    "provider must be 1 to 50 characters",
                );
            }
            let mut products = vec![];
            for (bp_name, entry) in &p.products {
                let eat = origin(PORTFOLIOS, entry);
                if !b.pipeline_names.contains(bp_name) {
                    self.err(
                        "unknown-blueprint",
                        &eat,
                        format!("no pipeline blueprint '{bp_name}' in blueprints/pipelines/"),
                    );
                    continue;
                }
                let mut versions = BTreeSet::new();
                for v in &entry.value.versions {
                    if !b.pipeline_versions.contains(&(bp_name.clone(), v.value.clone())) {
                        self.err(
                            "unknown-version",
                            &origin(PORTFOLIOS, v),
                            format!("pipeline blueprint '{bp_name}' has no version '{}'", v.value),
                        );
                        continue;
                    }
                    versions.insert(v.value.clone());
                }
                let mut deprecated = BTreeSet::new();
                let mut retired = BTreeSet::new();
                for v in &entry.value.retired {
                    if !entry.value.versions.iter().any(|x| x.value == v.value) {
                        self.err(
                            "bad-retired",
                            &origin(PORTFOLIOS, v),
                            format!("retired version '{}' is not among the published versions (a retired version stays listed until it is removed)", v.value),
                        );
                        continue;
                    }
                    // Retired implies deprecated: no new launches, and hidden (Active=false).
                    retired.insert(v.value.clone());
                    deprecated.insert(v.value.clone());
                }
                for v in &entry.value.deprecated {
                    if !entry.value.versions.iter().any(|x| x.value == v.value) {
                        self.err(
                            "bad-deprecated",
                            &origin(PORTFOLIOS, v),
                            format!("deprecated version '{}' is not among the published versions", v.value),
                        );
                        continue;
                    }
                    deprecated.insert(v.value.clone());
                }
                if entry.value.versions.is_empty() {
                    self.err(
                        "last-version",
                        &eat,
                        format!("product '{bp_name}' must publish at least one version"),
                    );
                    continue;
                }
                // The product name comes from the blueprint versions (they agree, or the newest wins).
                let Some(product) = versions
                    .iter()
                    .filter_map(|v| b.pipelines.get(&(bp_name.clone(), v.clone())))
                    .map(|v| v.product.clone())
                    .next_back()
                else {
                    continue;
                };
                match published.get(&product) {
                    Some((vs, ds)) if (vs, ds) != (&versions, &deprecated) => {
                        let (other, _) = published_at.get(&product).cloned().unwrap_or_default();
                        self.err(
                            "version-conflict",
                            &eat,
                            format!("product '{product}' is published with other versions by portfolio '{other}'; list the same versions everywhere"),
                        );
                    }
                    Some(_) => {}
                    None => {
                        published.insert(product.clone(), (versions.clone(), deprecated.clone()));
                        published_at.insert(product.clone(), (pname.clone(), eat.clone()));
                    }
                }
                products.push(product.clone());
                self.product(b, bp_name, &product, &versions, &deprecated, &eat);
                if let Some(p) = self.desired.products.get_mut(&product) {
                    if p.adopt.is_none() {
                        p.adopt = entry.value.lifecycle.as_ref().map(|l| origin(PORTFOLIOS, l));
                    }
                    for v in &retired {
                        if let Some(dv) = p.versions.get_mut(v) {
                            dv.retired = true;
                        }
                    }
                }
            }
            let mut principals = vec![];
            let mut patterns = 0;
            let mut over_limit: Option<Origin> = None;
            for pr in &p.principals {
                match rules::principal(&pr.value) {
                    Ok(kind) => {
                        if kind == "IAM_PATTERN" {
                            patterns += 1;
                            if patterns == MAX_PRINCIPAL_PATTERNS + 1 {
                                over_limit = Some(origin(PORTFOLIOS, pr));
                            }
                        }
                        if !principals.contains(&pr.value) {
                            principals.push(pr.value.clone());
                        }
                    }
                    Err(e) => self.err(
                        "bad-principal",
                        &origin(PORTFOLIOS, pr),
                        format!("principal '{}' {e}", pr.value),
                    ),
                }
            }
            if let Some(limit_at) = over_limit {
                self.err(
                    "principal-limit",
                    &limit_at,
                    format!("portfolio '{pname}' has {patterns} IAM_PATTERN principals; AWS allows at most {MAX_PRINCIPAL_PATTERNS}"),
                );
            }
            let mut shares = vec![];
            let mut share_origins = BTreeMap::new();
            for s in &p.shares {
                let target = if s.value == "organization" {
                    ShareTarget::Organization
                } else if self.files.get(&format!("catalog/accounts/{}.yaml", s.value)).is_some() {
                    ShareTarget::Account(s.value.clone())
                } else {
                    ShareTarget::Ou(s.value.clone())
                };
                if !shares.contains(&target) {
                    share_origins.insert(target.key(), origin(PORTFOLIOS, s));
                    shares.push(target);
                }
            }
            let launch_role = match &p.launch_role {
                Some(r) => match rules::role_name(&r.value) {
                    Ok(()) => Some(r.value.clone()),
                    Err(e) => {
                        self.err(
                            "bad-role",
                            &origin(PORTFOLIOS, r),
                            format!("launch_role '{}' {e}", r.value),
                        );
                        None
                    }
                },
                None => None,
            };
            let tags = self.tags_of(PORTFOLIOS, &p.tags, "servicecatalog.tag-shape");
            self.desired.portfolios.insert(
                pname.clone(),
                DesiredPortfolio {
                    name: pname.clone(),
                    description: p.description.clone().unwrap_or_default(),
                    provider: p.provider.value.clone(),
                    tags,
                    products,
                    principals,
                    shares,
                    share_origins,
                    launch_role,
                    origin: at,
                    adopt: p.lifecycle.as_ref().map(|l| origin(PORTFOLIOS, l)),
                    share_principals: p.share_principals.as_ref().map(|b| b.value),
                },
            );
        }
        published
    }

    fn product(
        &mut self,
        b: &Blueprints,
        blueprint: &str,
        product: &str,
        versions: &BTreeSet<String>,
        deprecated: &BTreeSet<String>,
        at: &Origin,
    ) {
        if self.desired.products.contains_key(product) {
            return;
        }
        let mut ordered: Vec<&String> = versions.iter().collect();
        ordered.sort_by(|a, c| rules::version_cmp(a, c));
        let mut out = BTreeMap::new();
        let mut previous: Option<String> = None;
        let mut newest: Option<&PipelineVersion> = None;
        for v in ordered {
            let Some(pv) = b.pipelines.get(&(blueprint.to_string(), v.clone())) else {
                continue; // reported where the version failed to load
            };
            out.insert(
                v.clone(),
                DesiredVersion {
                    name: v.clone(),
                    sha256: pv.sha256.clone(),
                    deprecated: deprecated.contains(v),
                    retired: false,
                    template_body: pv.template_body.clone(),
                    previous: previous.clone(),
                    origin: pv.origin.clone(),
                },
            );
            previous = Some(v.clone());
            newest = Some(pv);
        }
        let Some(newest) = newest else { return };
        let mut tags = Tags::new();
        tags.insert(self.desired.settings.ownership_tag.clone(), "true".into());
        self.desired.products.insert(
            product.to_string(),
            DesiredProduct {
                name: product.to_string(),
                blueprint: blueprint.to_string(),
                owner: newest.owner.clone(),
                description: newest.description.clone(),
                tags,
                versions: out,
                origin: at.clone(),
                adopt: None,
            },
        );
    }

    /// Checks that need the whole workspace: share targets.
    pub(super) fn shares_and_targets(&mut self) {
        let mut warnings = vec![];
        for p in self.desired.portfolios.values() {
            for s in &p.shares {
                if let ShareTarget::Ou(path) = s
                    && !self.desired.has_ou(path)
                    && !self.org_failed
                {
                    warnings.push((
                        p.share_origins.get(&s.key()).unwrap_or(&p.origin).clone(),
                        format!("portfolio '{}' is shared with '{path}', which is neither an OU in organization.yaml nor a requested account; `vend plan` checks the state", p.name),
                    ));
                }
            }
        }
        for (at, m) in warnings {
            self.warn("share-undeclared", &at, m);
        }
    }
}
