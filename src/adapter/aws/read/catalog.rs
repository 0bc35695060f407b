//! Reading the Service Catalog part of the state: portfolios (tags, products, principals,
//! shares, launch constraints), products (tags, versions and their template URLs) and the
//! provisioned products of the reader's account with their launch parameters (from each
//! product's CloudFormation stack: Service Catalog never returns them). Every request in its
//! turn (`Reader::turn`); the requests of one portfolio or product go at once.

use super::Reader;
use crate::adapter::aws::PAGE;
use crate::adapter::aws::errors::classify;
use crate::model::{
    LaunchConstraint, Portfolio, Principal, Product, ProductVersion, ProvisionedProduct, Share, Tags,
};
use crate::port::CloudError;
use aws_sdk_organizations::config::http::HttpResponse;
use aws_sdk_organizations::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_servicecatalog as sc;
use futures_util::future::{try_join, try_join_all, try_join3};
use std::collections::BTreeMap;

fn sc_tags(tags: &[sc::types::Tag]) -> Tags {
    tags.iter().map(|t| (t.key().to_string(), t.value().to_string())).collect()
}

/// What the catalog read found in the reader's account.
pub(in crate::adapter::aws) type Catalog = (Vec<Portfolio>, Vec<Product>, Vec<ProvisionedProduct>);

impl Reader {
    /// Portfolios, products and the reader's account's provisioned products, at once.
    pub(in crate::adapter::aws) async fn catalog(&self) -> Result<Catalog, CloudError> {
        try_join3(self.portfolios(), self.products(), provisioned(self)).await
    }

    async fn portfolios(&self) -> Result<Vec<Portfolio>, CloudError> {
        let details: Vec<sc::types::PortfolioDetail> = self
            .sent(self.sc.list_portfolios().into_paginator().page_size(PAGE).send().try_collect())
            .await
            .map_err(|e| classify("ListPortfolios", e))?
            .iter()
            .flat_map(|p: &sc::operation::list_portfolios::ListPortfoliosOutput| {
                p.portfolio_details().iter().cloned()
            })
            .collect();
        try_join_all(details.into_iter().map(|d| self.portfolio(d))).await
    }

    async fn products(&self) -> Result<Vec<Product>, CloudError> {
        let ids: Vec<String> = self
            .sent(self.sc.search_products_as_admin().into_paginator().page_size(PAGE).send().try_collect())
            .await
            .map_err(|e| classify("SearchProductsAsAdmin", e))?
            .iter()
            .flat_map(|p: &sc::operation::search_products_as_admin::SearchProductsAsAdminOutput| {
                product_ids(p.product_view_details())
            })
            .collect();
        try_join_all(ids.into_iter().map(|id| self.product(id))).await
    }

    async fn portfolio(&self, d: sc::types::PortfolioDetail) -> Result<Portfolio, CloudError> {
        let c = &self.sc;
        let id = d.id().unwrap_or_default().to_string();
        let tags = async {
            let described = self
                .sent(c.describe_portfolio().id(&id).send())
                .await
                .map_err(|e| classify("DescribePortfolio", e))?;
            Ok::<_, CloudError>(sc_tags(described.tags()))
        };
        let product_ids = async {
            Ok::<Vec<String>, CloudError>(
                self.sent(
                    c.search_products_as_admin()
                        .portfolio_id(&id)
                        .into_paginator()
                        .page_size(PAGE)
                        .send()
                        .try_collect(),
                )
                .await
                .map_err(|e| classify("SearchProductsAsAdmin", e))?
                .iter()
                .flat_map(|p: &sc::operation::search_products_as_admin::SearchProductsAsAdminOutput| {
                    product_ids(p.product_view_details())
                })
                .collect(),
            )
        };
        let principals = async {
            Ok::<Vec<Principal>, CloudError>(
                self.sent(
                    c.list_principals_for_portfolio()
                        .portfolio_id(&id)
                        .into_paginator()
                        .page_size(PAGE)
                        .send()
                        .try_collect(),
                )
                .await
                .map_err(|e| classify("ListPrincipalsForPortfolio", e))?
                .iter()
                .flat_map(
                    |p: &sc::operation::list_principals_for_portfolio::ListPrincipalsForPortfolioOutput| {
                        p.principals()
                    },
                )
                .map(|p| Principal {
                    arn: p.principal_arn().unwrap_or_default().to_string(),
                    principal_type: p.principal_type().map(|t| t.as_str().to_string()).unwrap_or_default(),
                })
                .collect(),
            )
        };
        use sc::types::DescribePortfolioShareType as T;
        let shares = try_join_all([T::Organization, T::OrganizationalUnit, T::Account].into_iter().map(|share_type| {
            let id = &id;
            async move {
                let pages: Vec<_> = self
                    .sent(
                        c.describe_portfolio_shares()
                            .portfolio_id(id)
                            .r#type(share_type.clone())
                            .into_paginator()
                            .page_size(PAGE)
                            .send()
                            .try_collect(),
                    )
                    .await
                    .map_err(|e| classify("DescribePortfolioShares", e))?;
                // A listed share exists; the status of a running share is only known to whoever
                // holds its token, so a listed one counts as COMPLETED.
                Ok::<Vec<Share>, CloudError>(
                    pages
                        .iter()
                        .flat_map(|p: &sc::operation::describe_portfolio_shares::DescribePortfolioSharesOutput| {
                            p.portfolio_share_details()
                        })
                        .map(|s| Share {
                            share_type: s
                                .r#type()
                                .map(|t| t.as_str().to_string())
                                .unwrap_or_else(|| share_type.as_str().to_string()),
                            value: s.principal_id().unwrap_or_default().to_string(),
                            status: "COMPLETED".into(),
                            share_principals: s.share_principals(),
                        })
                        .collect(),
                )
            }
        }));
        let constraints = async {
            let listed: Vec<(String, String)> = self
                .sent(
                    c.list_constraints_for_portfolio()
                        .portfolio_id(&id)
                        .into_paginator()
                        .page_size(PAGE)
                        .send()
                        .try_collect(),
                )
                .await
                .map_err(|e| classify("ListConstraintsForPortfolio", e))?
                .iter()
                .flat_map(
                    |p: &sc::operation::list_constraints_for_portfolio::ListConstraintsForPortfolioOutput| {
                        p.constraint_details()
                    },
                )
                .filter(|d| d.r#type() == Some("LAUNCH"))
                .map(|d| {
                    (
                        d.constraint_id().unwrap_or_default().to_string(),
                        d.product_id().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            // The role is only in the constraint's parameters: one DescribeConstraint each.
            try_join_all(listed.into_iter().map(|(cid, product_id)| async move {
                let d = self
                    .sent(c.describe_constraint().id(&cid).send())
                    .await
                    .map_err(|e| classify("DescribeConstraint", e))?;
                let params: serde_json::Value =
                    d.constraint_parameters().and_then(|p| serde_json::from_str(p).ok()).unwrap_or_default();
                let local_role_name = params
                    .get("LocalRoleName")
                    .and_then(|v| v.as_str())
                    .or_else(|| params.get("RoleArn").and_then(|v| v.as_str()))
                    .unwrap_or_default()
                    .to_string();
                Ok::<_, CloudError>(LaunchConstraint { product_id, local_role_name })
            }))
            .await
        };
        let ((tags, product_ids), (principals, shares), launch_constraints) =
            try_join3(try_join(tags, product_ids), try_join(principals, shares), constraints).await?;
        Ok(Portfolio {
            id,
            name: d.display_name().unwrap_or_default().to_string(),
            description: d.description().unwrap_or_default().to_string(),
            provider: d.provider_name().unwrap_or_default().to_string(),
            tags,
            product_ids,
            principals,
            shares: shares.into_iter().flatten().collect(),
            launch_constraints,
        })
    }

    async fn product(&self, id: String) -> Result<Product, CloudError> {
        let c = &self.sc;
        let described = async {
            self.sent(c.describe_product_as_admin().id(&id).send())
                .await
                .map_err(|e| classify("DescribeProductAsAdmin", e))
        };
        // ListProvisioningArtifacts is not paged (one answer with every version); the template
        // URL is only in DescribeProvisioningArtifact's `Info`, one each.
        let versions = async {
            let listed = self
                .sent(c.list_provisioning_artifacts().product_id(&id).send())
                .await
                .map_err(|e| classify("ListProvisioningArtifacts", e))?;
            try_join_all(listed.provisioning_artifact_details().iter().map(|a| self.version(&id, a))).await
        };
        let (described, versions) = try_join(described, versions).await?;
        let summary = described.product_view_detail().and_then(|d| d.product_view_summary());
        let name = summary.and_then(|s| s.name()).unwrap_or_default().to_string();
        let owner = summary.and_then(|s| s.owner()).unwrap_or_default().to_string();
        let tags = sc_tags(described.tags());
        Ok(Product { id, name, owner, tags, versions })
    }

    async fn version(
        &self,
        product_id: &str,
        a: &sc::types::ProvisioningArtifactDetail,
    ) -> Result<ProductVersion, CloudError> {
        let aid = a.id().unwrap_or_default().to_string();
        let d = self
            .sent(
                self.sc
                    .describe_provisioning_artifact()
                    .product_id(product_id)
                    .provisioning_artifact_id(&aid)
                    .send(),
            )
            .await
            .map_err(|e| classify("DescribeProvisioningArtifact", e))?;
        let template_url = d
            .info()
            .and_then(|i| i.get("TemplateUrl").or_else(|| i.get("LoadTemplateFromURL")))
            .cloned()
            .unwrap_or_default();
        Ok(ProductVersion {
            id: aid,
            name: a.name().unwrap_or_default().to_string(),
            active: a.active().unwrap_or(true),
            guidance: a.guidance().map(|g| g.as_str().to_string()).unwrap_or_else(|| "DEFAULT".into()),
            description: a.description().unwrap_or_default().to_string(),
            template_url,
        })
    }
}

fn product_ids(views: &[sc::types::ProductViewDetail]) -> impl Iterator<Item = String> + '_ {
    views.iter().filter_map(|v| v.product_view_summary().and_then(|s| s.product_id()).map(str::to_string))
}

/// The provisioned products of the account `r`'s clients act in, with their launch parameters
/// read from each product's CloudFormation stack (same account and credentials): Service
/// Catalog never returns them. No stack id yet (still launching), a stack that is gone or being
/// deleted, or a product that is not a CloudFormation stack: empty parameters.
pub(in crate::adapter::aws) async fn provisioned(r: &Reader) -> Result<Vec<ProvisionedProduct>, CloudError> {
    let filter = sc::types::AccessLevelFilter::builder()
        .key(sc::types::AccessLevelFilterKey::Account)
        .value("self")
        .build();
    let pages: Vec<_> = r
        .sent(
            r.sc.search_provisioned_products()
                .access_level_filter(filter)
                .into_paginator()
                .page_size(PAGE)
                .send()
                .try_collect(),
        )
        .await
        .map_err(|e| classify("SearchProvisionedProducts", e))?;
    let found: Vec<sc::types::ProvisionedProductAttribute> = pages
        .iter()
        .flat_map(|p: &sc::operation::search_provisioned_products::SearchProvisionedProductsOutput| {
            p.provisioned_products().iter().cloned()
        })
        .collect();
    try_join_all(found.into_iter().map(|p| async move {
        let stack = p.physical_id().filter(|s| !s.is_empty() && p.r#type().is_none_or(|t| t == "CFN_STACK"));
        let params = match stack {
            Some(stack) => stack_parameters(r, stack).await?,
            None => BTreeMap::new(),
        };
        // arn:aws:servicecatalog:REGION:ACCOUNT:stack/NAME/pp-…
        let account_id = p.arn().and_then(|a| a.split(':').nth(4)).unwrap_or_default().to_string();
        Ok::<_, CloudError>(ProvisionedProduct {
            id: p.id().unwrap_or_default().to_string(),
            name: p.name().unwrap_or_default().to_string(),
            account_id,
            product_id: p.product_id().unwrap_or_default().to_string(),
            version_id: p.provisioning_artifact_id().unwrap_or_default().to_string(),
            status: p.status().map(|s| s.as_str().to_string()).unwrap_or_default(),
            params,
            tags: sc_tags(p.tags()),
        })
    }))
    .await
}

/// A stack's parameters (ParameterKey -> ParameterValue; CloudFormation reports every parameter,
/// defaulted ones too, and `****` for NoEcho ones). A stack that no longer exists, or is
/// deleted, has none.
async fn stack_parameters(r: &Reader, stack: &str) -> Result<BTreeMap<String, String>, CloudError> {
    let out = match r.sent(r.cfn.describe_stacks().stack_name(stack).send()).await {
        Ok(out) => out,
        Err(e) if stack_is_gone(&e) => return Ok(BTreeMap::new()),
        Err(e) => return Err(classify("DescribeStacks", e)),
    };
    let Some(s) = out.stacks().first() else { return Ok(BTreeMap::new()) };
    if s.stack_status().is_some_and(|st| st.as_str() == "DELETE_COMPLETE") {
        return Ok(BTreeMap::new());
    }
    Ok(s.parameters()
        .iter()
        .filter_map(|p| {
            Some((p.parameter_key()?.to_string(), p.parameter_value().unwrap_or_default().to_string()))
        })
        .collect())
}

/// CloudFormation answers a stack that does not exist with `ValidationError` "Stack with id …
/// does not exist".
fn stack_is_gone<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    match e {
        SdkError::ServiceError(s) => {
            s.err().code() == Some("ValidationError")
                && s.err().message().is_some_and(|m| m.contains("does not exist"))
        }
        _ => false,
    }
}
