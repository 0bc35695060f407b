//! The Service Catalog writes of `Writer`: portfolios, products and versions, associations,
//! principals, shares, launch constraints and provisioned products (launched, updated and
//! terminated in their account), with the record of an asynchronous one remembered for
//! DescribeRecord. It does no Organizations or S3 call and never reads the whole state.

use super::PAGE;
use super::errors::classify;
use super::write::Writer;
use crate::model::Tags;
use crate::port::{CloudError, Op, Outcome};
use aws_sdk_servicecatalog as sc;
use std::collections::BTreeMap;

/// The synthetic share token of an account share: AWS gives a token only for shares to
/// organization nodes; an account share is done when the call returns.
const ACCOUNT_SHARE_TOKEN: &str = "vend-account-share:";

fn to_sc_tags(tags: &Tags) -> Result<Option<Vec<sc::types::Tag>>, CloudError> {
    if tags.is_empty() {
        return Ok(None);
    }
    tags.iter()
        .map(|(k, v)| {
            sc::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| CloudError::hard("InvalidParametersException", format!("tag {k}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn sc_rid(r: &impl sc::operation::RequestId) -> String {
    r.request_id().unwrap_or_default().to_string()
}

fn sc_params(params: &BTreeMap<String, String>) -> Option<Vec<sc::types::ProvisioningParameter>> {
    (!params.is_empty()).then(|| {
        params
            .iter()
            .map(|(k, v)| sc::types::ProvisioningParameter::builder().key(k).value(v).build())
            .collect()
    })
}

fn sc_update_params(
    params: &BTreeMap<String, String>,
) -> Option<Vec<sc::types::UpdateProvisioningParameter>> {
    (!params.is_empty()).then(|| {
        params
            .iter()
            .map(|(k, v)| sc::types::UpdateProvisioningParameter::builder().key(k).value(v).build())
            .collect()
    })
}

pub(super) fn guidance(g: &str) -> sc::types::ProvisioningArtifactGuidance {
    sc::types::ProvisioningArtifactGuidance::from(g)
}

/// An organization node for a share of type ORGANIZATION or ORGANIZATIONAL_UNIT.
fn org_node(share_type: &str, value: &str) -> sc::types::OrganizationNode {
    sc::types::OrganizationNode::builder()
        .r#type(sc::types::OrganizationNodeType::from(share_type))
        .value(value)
        .build()
}

fn is_org_node(share_type: &str) -> Result<bool, CloudError> {
    match share_type {
        "ORGANIZATION" | "ORGANIZATIONAL_UNIT" => Ok(true),
        "ACCOUNT" => Ok(false),
        other => Err(CloudError::hard(
            "InvalidParametersException",
            format!("share type must be ORGANIZATION, ORGANIZATIONAL_UNIT or ACCOUNT, not '{other}'"),
        )),
    }
}

impl Writer<'_> {
    pub(super) async fn catalog_call(&mut self, op: &Op) -> Result<Outcome, CloudError> {
        let name = op.name();
        let c = self.sc.clone();
        let done = |request_id: String, id: Option<String>| Outcome { request_id, id, ..Outcome::default() };
        match op {
            Op::CreatePortfolio { name: display, description, provider, tags, token } => {
                let out = c
                    .create_portfolio()
                    .display_name(display)
                    .description(description)
                    .provider_name(provider)
                    .set_tags(to_sc_tags(tags)?)
                    .idempotency_token(token)
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                Ok(done(sc_rid(&out), out.portfolio_detail().and_then(|d| d.id()).map(str::to_string)))
            }
            Op::UpdatePortfolio { portfolio_id, description, provider, tags } => {
                let out = c
                    .update_portfolio()
                    .id(portfolio_id)
                    .description(description)
                    .provider_name(provider)
                    .set_add_tags(to_sc_tags(tags)?)
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                Ok(done(sc_rid(&out), Some(portfolio_id.clone())))
            }
            Op::DeletePortfolio { portfolio_id } => {
                let out =
                    c.delete_portfolio().id(portfolio_id).send().await.map_err(|x| classify(&name, x))?;
                Ok(done(sc_rid(&out), Some(portfolio_id.clone())))
            }
            Op::CreateProduct { name: product, owner, description, tags, version, token } => {
                let out = c
                    .create_product()
                    .name(product)
                    .owner(owner)
                    .description(description)
                    .product_type(sc::types::ProductType::CloudFormationTemplate)
                    .set_tags(to_sc_tags(tags)?)
                    .provisioning_artifact_parameters(Self::artifact_props(version))
                    .idempotency_token(token)
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                let id = out
                    .product_view_detail()
                    .and_then(|d| d.product_view_summary())
                    .and_then(|s| s.product_id())
                    .map(str::to_string);
                let artifact_id = out.provisioning_artifact_detail().and_then(|a| a.id()).map(str::to_string);
                if version.guidance == "DEPRECATED"
                    && let (Some(p), Some(a)) = (&id, &artifact_id)
                {
                    self.set_guidance(p, a, "DEPRECATED").await?;
                }
                Ok(Outcome { request_id: sc_rid(&out), id, artifact_id, ..Outcome::default() })
            }
            Op::UpdateProduct { product_id, owner, tags } => {
                let out = c
                    .update_product()
                    .id(product_id)
                    .owner(owner)
                    .set_add_tags(to_sc_tags(tags)?)
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                Ok(done(sc_rid(&out), Some(product_id.clone())))
            }
            Op::DeleteProduct { product_id } => {
                let out = c.delete_product().id(product_id).send().await.map_err(|x| classify(&name, x))?;
                Ok(done(sc_rid(&out), Some(product_id.clone())))
            }
            Op::CreateProvisioningArtifact { product_id, version, token } => {
                let out = c
                    .create_provisioning_artifact()
                    .product_id(product_id)
                    .parameters(Self::artifact_props(version))
                    .idempotency_token(token)
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                let id = out.provisioning_artifact_detail().and_then(|a| a.id()).map(str::to_string);
                if version.guidance == "DEPRECATED"
                    && let Some(a) = &id
                {
                    self.set_guidance(product_id, a, "DEPRECATED").await?;
                }
                Ok(done(sc_rid(&out), id))
            }
            Op::UpdateProvisioningArtifact { product_id, artifact_id, active, guidance: g, description } => {
                let out = c
                    .update_provisioning_artifact()
                    .product_id(product_id)
                    .provisioning_artifact_id(artifact_id)
                    .active(*active)
                    .guidance(guidance(g))
                    .set_description(description.clone())
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                Ok(done(sc_rid(&out), Some(artifact_id.clone())))
            }
            Op::DeleteProvisioningArtifact { product_id, artifact_id } => {
                let out = c
                    .delete_provisioning_artifact()
                    .product_id(product_id)
                    .provisioning_artifact_id(artifact_id)
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                Ok(done(sc_rid(&out), Some(artifact_id.clone())))
            }
            Op::AssociateProductWithPortfolio { product_id, portfolio_id } => {
                let out = c
                    .associate_product_with_portfolio()
                    .product_id(product_id)
                    .portfolio_id(portfolio_id)
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                Ok(done(sc_rid(&out), Some(product_id.clone())))
            }
            Op::DisassociateProductFromPortfolio { product_id, portfolio_id } => {
                let out = c
                    .disassociate_product_from_portfolio()
                    .product_id(product_id)
                    .portfolio_id(portfolio_id)
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                Ok(done(sc_rid(&out), Some(product_id.clone())))
            }
            Op::AssociatePrincipalWithPortfolio { portfolio_id, arn, principal_type } => {
                let out = c
                    .associate_principal_with_portfolio()
                    .portfolio_id(portfolio_id)
                    .principal_arn(arn)
                    .principal_type(sc::types::PrincipalType::from(principal_type.as_str()))
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                Ok(done(sc_rid(&out), Some(portfolio_id.clone())))
            }
            Op::DisassociatePrincipalFromPortfolio { portfolio_id, arn, principal_type } => {
                let out = c
                    .disassociate_principal_from_portfolio()
                    .portfolio_id(portfolio_id)
                    .principal_arn(arn)
                    .principal_type(sc::types::PrincipalType::from(principal_type.as_str()))
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                Ok(done(sc_rid(&out), Some(portfolio_id.clone())))
            }
            Op::CreatePortfolioShare { portfolio_id, share_type, value, share_principals } => {
                if is_org_node(share_type)? {
                    let mut req = c
                        .create_portfolio_share()
                        .portfolio_id(portfolio_id)
                        .organization_node(org_node(share_type, value));
                    if *share_principals {
                        req = req.share_principals(true);
                    }
                    let out = req.send().await.map_err(|x| classify(&name, x))?;
                    let token = out.portfolio_share_token().map(str::to_string).ok_or_else(|| {
                        CloudError::hard(
                            "InvalidResponse",
                            format!("{name}: no PortfolioShareToken for a share to {share_type} {value}"),
                        )
                    })?;
                    Ok(Outcome {
                        request_id: sc_rid(&out),
                        id: Some(token),
                        status: Some("IN_PROGRESS".into()),
                        ..Outcome::default()
                    })
                } else {
                    let out = c
                        .create_portfolio_share()
                        .portfolio_id(portfolio_id)
                        .account_id(value)
                        .set_share_principals(share_principals.then_some(true))
                        .send()
                        .await
                        .map_err(|x| classify(&name, x))?;
                    Ok(Outcome {
                        request_id: sc_rid(&out),
                        id: Some(format!("{ACCOUNT_SHARE_TOKEN}{portfolio_id}:{value}")),
                        status: Some("COMPLETED".into()),
                        ..Outcome::default()
                    })
                }
            }
            Op::UpdatePortfolioShare { portfolio_id, share_type, value, share_principals } => {
                let mut req =
                    c.update_portfolio_share().portfolio_id(portfolio_id).share_principals(*share_principals);
                req = if is_org_node(share_type)? {
                    req.organization_node(org_node(share_type, value))
                } else {
                    req.account_id(value)
                };
                let out = req.send().await.map_err(|x| classify(&name, x))?;
                // The update is asynchronous for organization shares (a token to poll); without
                // one it has finished.
                Ok(match out.portfolio_share_token() {
                    Some(token) => Outcome {
                        request_id: sc_rid(&out),
                        id: Some(token.to_string()),
                        status: Some("IN_PROGRESS".into()),
                        ..Outcome::default()
                    },
                    None => Outcome {
                        request_id: sc_rid(&out),
                        id: Some(format!("{ACCOUNT_SHARE_TOKEN}{portfolio_id}:{value}")),
                        status: Some("COMPLETED".into()),
                        ..Outcome::default()
                    },
                })
            }
            Op::DescribePortfolioShareStatus { token } => {
                if let Some(rest) = token.strip_prefix(ACCOUNT_SHARE_TOKEN) {
                    return Ok(Outcome {
                        id: Some(token.clone()),
                        status: Some("COMPLETED".into()),
                        result: rest.split(':').next().map(str::to_string),
                        ..Outcome::default()
                    });
                }
                let out = c
                    .describe_portfolio_share_status()
                    .portfolio_share_token(token)
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                Ok(Outcome {
                    request_id: sc_rid(&out),
                    id: Some(token.clone()),
                    status: out.status().map(|s| s.as_str().to_string()),
                    result: out.portfolio_id().map(str::to_string),
                    ..Outcome::default()
                })
            }
            Op::DeletePortfolioShare { portfolio_id, share_type, value } => {
                let b = c.delete_portfolio_share().portfolio_id(portfolio_id);
                let b = if is_org_node(share_type)? {
                    b.organization_node(org_node(share_type, value))
                } else {
                    b.account_id(value)
                };
                let out = b.send().await.map_err(|x| classify(&name, x))?;
                Ok(Outcome {
                    request_id: sc_rid(&out),
                    id: out.portfolio_share_token().map(str::to_string),
                    status: Some("COMPLETED".into()),
                    ..Outcome::default()
                })
            }
            Op::CreateConstraint { portfolio_id, product_id, local_role_name, token } => {
                let params = serde_json::json!({ "LocalRoleName": local_role_name }).to_string();
                let out = c
                    .create_constraint()
                    .portfolio_id(portfolio_id)
                    .product_id(product_id)
                    .r#type("LAUNCH")
                    .parameters(params)
                    .idempotency_token(token)
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                Ok(done(
                    sc_rid(&out),
                    out.constraint_detail().and_then(|d| d.constraint_id()).map(str::to_string),
                ))
            }
            Op::DeleteConstraint { portfolio_id, product_id } => {
                let mut found;
                let mut token = None;
                loop {
                    let page = c
                        .list_constraints_for_portfolio()
                        .portfolio_id(portfolio_id)
                        .product_id(product_id)
                        .page_size(PAGE)
                        .set_page_token(token)
                        .send()
                        .await
                        .map_err(|x| classify("ListConstraintsForPortfolio", x))?;
                    found = page
                        .constraint_details()
                        .iter()
                        .find(|d| d.r#type() == Some("LAUNCH") && d.product_id() == Some(product_id.as_str()))
                        .and_then(|d| d.constraint_id())
                        .map(str::to_string);
                    token = page.next_page_token().map(str::to_string).filter(|t| !t.is_empty());
                    if found.is_some() || token.is_none() {
                        break;
                    }
                }
                let Some(id) = found else {
                    return Err(CloudError::hard(
                        "ResourceNotFoundException",
                        format!("{name}: portfolio {portfolio_id} has no launch constraint for {product_id}"),
                    ));
                };
                let out = c.delete_constraint().id(&id).send().await.map_err(|x| classify(&name, x))?;
                Ok(done(sc_rid(&out), Some(id)))
            }
            Op::ProvisionProduct { account_id, name: pp, product_id, artifact_id, params, tags, token } => {
                let client = self.client_for(account_id).await?;
                let out = client
                    .provision_product()
                    .provisioned_product_name(pp)
                    .product_id(product_id)
                    .provisioning_artifact_id(artifact_id)
                    .set_provisioning_parameters(sc_params(params))
                    .set_tags(to_sc_tags(tags)?)
                    .provision_token(token)
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                let d = out.record_detail();
                let record = d.and_then(|r| r.record_id()).map(str::to_string);
                if let Some(r) = &record {
                    self.routes.learned().records.insert(r.clone(), account_id.clone());
                }
                if let Some(p) = d.and_then(|r| r.provisioned_product_id()) {
                    self.routes.learned().provisioned.insert(p.to_string(), account_id.clone());
                }
                Ok(Outcome {
                    request_id: sc_rid(&out),
                    id: record,
                    status: d.and_then(|r| r.status()).map(|s| s.as_str().to_string()),
                    ..Outcome::default()
                })
            }
            Op::UpdateProvisionedProduct { provisioned_product_id, artifact_id, params, token } => {
                let client = self.client_for_provisioned(provisioned_product_id).await?;
                let out = client
                    .update_provisioned_product()
                    .provisioned_product_id(provisioned_product_id)
                    .provisioning_artifact_id(artifact_id)
                    .set_provisioning_parameters(sc_update_params(params))
                    .update_token(token)
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                self.record_outcome(provisioned_product_id, out.record_detail(), sc_rid(&out))
            }
            Op::TerminateProvisionedProduct { provisioned_product_id, token } => {
                let client = self.client_for_provisioned(provisioned_product_id).await?;
                let out = client
                    .terminate_provisioned_product()
                    .provisioned_product_id(provisioned_product_id)
                    .terminate_token(token)
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                self.record_outcome(provisioned_product_id, out.record_detail(), sc_rid(&out))
            }
            Op::DescribeRecord { record_id } => {
                let account = self.routes.learned().records.get(record_id).cloned().unwrap_or_default();
                let client = self.client_for(&account).await?;
                let out =
                    client.describe_record().id(record_id).send().await.map_err(|x| classify(&name, x))?;
                let d = out.record_detail();
                let status = d.and_then(|r| r.status()).map(|s| s.as_str().to_string());
                let pp = d.and_then(|r| r.provisioned_product_id()).map(str::to_string);
                if let Some(p) = &pp {
                    self.routes.learned().provisioned.insert(p.clone(), account);
                }
                let result = match status.as_deref() {
                    Some("SUCCEEDED") => pp,
                    Some("FAILED" | "IN_PROGRESS_IN_ERROR") => {
                        let errors: Vec<String> = d
                            .map(|r| r.record_errors())
                            .unwrap_or_default()
                            .iter()
                            .map(|e| {
                                format!(
                                    "{}: {}",
                                    e.code().unwrap_or_default(),
                                    e.description().unwrap_or_default()
                                )
                            })
                            .collect();
                        Some(errors.join("; "))
                    }
                    _ => None,
                };
                Ok(Outcome {
                    request_id: sc_rid(&out),
                    id: Some(record_id.clone()),
                    status,
                    result,
                    ..Outcome::default()
                })
            }
            Op::EnableAwsOrganizationsAccess {} => {
                let out = c.enable_aws_organizations_access().send().await.map_err(|x| classify(&name, x))?;
                Ok(done(sc_rid(&out), None))
            }
            Op::GetAwsOrganizationsAccessStatus {} => {
                let out =
                    c.get_aws_organizations_access_status().send().await.map_err(|x| classify(&name, x))?;
                Ok(Outcome {
                    request_id: sc_rid(&out),
                    status: out.access_status().map(|s| s.as_str().to_string()),
                    ..Outcome::default()
                })
            }
            _ => Err(CloudError::hard("NotSupported", format!("vend's AWS backend cannot do {name}"))),
        }
    }

    /// The outcome of an Update/TerminateProvisionedProduct: the record id, remembered with the
    /// provisioned product's account so DescribeRecord asks there.
    fn record_outcome(
        &mut self,
        pp_id: &str,
        d: Option<&sc::types::RecordDetail>,
        request_id: String,
    ) -> Result<Outcome, CloudError> {
        let record = d.and_then(|r| r.record_id()).map(str::to_string);
        if let Some(r) = &record {
            let account = self.routes.learned().provisioned.get(pp_id).cloned().unwrap_or_default();
            self.routes.learned().records.insert(r.clone(), account);
        }
        Ok(Outcome {
            request_id,
            id: record,
            status: d.and_then(|r| r.status()).map(|s| s.as_str().to_string()),
            ..Outcome::default()
        })
    }
}
