//! Reading the state from AWS: `Reader` walks the organization tree (OUs, accounts, tags, SCPs,
//! account-creation requests) and the Service Catalog (portfolios, shares, principals,
//! constraints, products, versions) with the SDK's paginators and bounded concurrency (`each`),
//! searches the provisioned products of an account and reads their launch parameters from their
//! CloudFormation stacks. SDK types become `model` types here. It never writes.

use super::config::{org_client, read_retries, retry_partition, s3_client};
use super::errors::classify;
use super::{CREATE_ACCOUNT_STATES, PAGE, READ_CONCURRENCY, SCP};
use crate::model::{
    Account, Bucket, CreateAccountRequest, FORMAT_VERSION, LAUNCH_ROLE_POLICY, LaunchConstraint, LaunchPath,
    LaunchRole, OrgUnit, Organization, Policy, Portfolio, Principal, Product, ProductVersion,
    ProvisionedProduct, Share, State, Tags,
};
use crate::port::CloudError;
use aws_sdk_cloudformation as cfn;
use aws_sdk_iam as iam;
use aws_sdk_organizations as org;
use aws_sdk_servicecatalog as sc;
use futures_util::future::try_join;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use org::config::http::HttpResponse;
use org::error::{ProvideErrorMetadata, SdkError};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;

/// An IAM policy document as IAM returns it: URL-encoded (RFC 3986, "The policy document
/// returned in this structure is URL-encoded compliant with RFC 3986", IAM API reference,
/// GetRolePolicy / Role), or plain JSON as some endpoints answer; `Null` when neither parses.
pub(super) fn policy_json(doc: &str) -> serde_json::Value {
    serde_json::from_str(doc).unwrap_or_else(|_| {
        let decoded = percent_encoding::percent_decode_str(doc).decode_utf8_lossy();
        serde_json::from_str(&decoded).unwrap_or(serde_json::Value::Null)
    })
}

/// Run `f` over `items` with bounded concurrency, keeping the input order.
pub(super) async fn each<T, R, F, Fut>(items: Vec<T>, f: F) -> Result<Vec<R>, CloudError>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<R, CloudError>>,
{
    stream::iter(items).map(f).buffered(READ_CONCURRENCY).try_collect().await
}

#[derive(Debug, Clone)]
pub(super) struct Reader {
    org: org::Client,
    /// IAM (a global service) in the reader's account.
    pub(super) iam: iam::Client,
    pub(super) s3: aws_sdk_s3::Client,
    pub(super) sc: sc::Client,
    pub(super) cfn: cfn::Client,
}

impl Reader {
    /// Clients for reading the state: `READ_ATTEMPTS` per call, vend's retry partition.
    pub(super) fn new(conf: &aws_config::SdkConfig) -> Reader {
        Reader {
            org: org_client(conf, read_retries()),
            iam: iam::Client::from_conf(
                iam::config::Builder::from(conf)
                    .retry_config(read_retries())
                    .retry_partition(retry_partition())
                    .build(),
            ),
            s3: s3_client(conf, read_retries()),
            sc: sc::Client::from_conf(
                sc::config::Builder::from(conf)
                    .retry_config(read_retries())
                    .retry_partition(retry_partition())
                    .build(),
            ),
            cfn: cfn::Client::from_conf(
                cfn::config::Builder::from(conf)
                    .retry_config(read_retries())
                    .retry_partition(retry_partition())
                    .build(),
            ),
        }
    }
}

fn org_tags(tags: &[org::types::Tag]) -> Tags {
    tags.iter().map(|t| (t.key().to_string(), t.value().to_string())).collect()
}

fn sc_tags(tags: &[sc::types::Tag]) -> Tags {
    tags.iter().map(|t| (t.key().to_string(), t.value().to_string())).collect()
}

impl Reader {
    pub(super) async fn state(&self) -> Result<State, CloudError> {
        let mut state = self.organizations().await?;
        let (portfolios, products, provisioned) = self.catalog().await?;
        state.portfolios = portfolios;
        state.products = products;
        state.provisioned_products = provisioned;
        state.normalize();
        Ok(state)
    }

    pub(super) async fn organizations(&self) -> Result<State, CloudError> {
        let c = &self.org;
        let described =
            c.describe_organization().send().await.map_err(|e| classify("DescribeOrganization", e))?;
        let o = described.organization();
        let org_id = o.and_then(|o| o.id()).unwrap_or_default().to_string();
        let management = o.and_then(|o| o.master_account_id()).unwrap_or_default().to_string();

        // The root (an organization has exactly one) and its enabled policy types.
        let roots = c
            .list_roots()
            .into_paginator()
            .page_size(PAGE)
            .send()
            .try_collect()
            .await
            .map_err(|e| classify("ListRoots", e))?;
        let root = roots
            .iter()
            .flat_map(|p| p.roots())
            .next()
            .ok_or_else(|| CloudError::hard("NoRoot", "ListRoots: the organization has no root"))?;
        let root_id = root.id().unwrap_or_default().to_string();
        let mut enabled_policy_types: Vec<String> = root
            .policy_types()
            .iter()
            .filter(|p| p.status().is_some_and(|s| s.as_str() == "ENABLED"))
            .filter_map(|p| p.r#type().map(|t| t.as_str().to_string()))
            .collect();
        enabled_policy_types.sort();

        // The tree, one level at a time; each parent's children listed concurrently.
        let mut ous: Vec<OrgUnit> = vec![];
        let mut accounts: Vec<Account> = vec![];
        let mut frontier = vec![root_id.clone()];
        while !frontier.is_empty() {
            let children = each(frontier, |parent| self.children(parent)).await?;
            frontier = vec![];
            for (child_ous, child_accounts) in children {
                frontier.extend(child_ous.iter().map(|o| o.id.clone()));
                ous.extend(child_ous);
                accounts.extend(child_accounts);
            }
        }

        // SCPs: list, then content and targets per policy.
        let summaries: Vec<org::types::PolicySummary> = c
            .list_policies()
            .filter(org::types::PolicyType::ServiceControlPolicy)
            .into_paginator()
            .page_size(PAGE)
            .send()
            .try_collect()
            .await
            .map_err(|e| classify("ListPolicies", e))?
            .iter()
            .flat_map(|p| p.policies().iter().cloned())
            .collect();
        let mut policies = each(summaries, |s| self.policy(s)).await?;
        let root_policy_ids: Vec<String> =
            policies.iter().filter(|p| p.target_ids.contains(&root_id)).map(|p| p.id.clone()).collect();

        // Tags, once per OU, account and customer-managed policy.
        let mut tagged: Vec<String> = ous.iter().map(|o| o.id.clone()).collect();
        tagged.extend(accounts.iter().map(|a| a.id.clone()));
        tagged.extend(policies.iter().filter(|p| !p.aws_managed).map(|p| p.id.clone()));
        let tags: HashMap<String, Tags> =
            each(tagged, |id| async move { Ok((id.clone(), self.tags(&id).await?)) })
                .await?
                .into_iter()
                .collect();
        for o in &mut ous {
            o.tags = tags.get(&o.id).cloned().unwrap_or_default();
        }
        for a in &mut accounts {
            a.tags = tags.get(&a.id).cloned().unwrap_or_default();
        }
        for p in &mut policies {
            p.tags = tags.get(&p.id).cloned().unwrap_or_default();
        }

        let create_account_requests = self.create_account_requests().await?;
        Ok(State {
            format_version: FORMAT_VERSION,
            captured_at: String::new(),
            source: "aws".into(),
            organization: Organization {
                id: org_id,
                management_account_id: management,
                root_id,
                enabled_policy_types,
                root_policy_ids,
            },
            organizational_units: ous,
            accounts,
            create_account_requests,
            policies,
            portfolios: vec![],
            products: vec![],
            provisioned_products: vec![],
            launch_path: None,
            templates: vec![],
            digest: None,
        })
    }

    // ----------------------------------------------------------------------- the launch path

    /// Service Catalog's AWS Organizations access (one GetAWSOrganizationsAccessStatus; the
    /// caller is the management account or a delegated administrator) and the template bucket
    /// `bucket` (HeadBucket with the caller as expected owner, then its tags, encryption,
    /// public access block and versioning, concurrently): five or six requests in all.
    pub(super) async fn launch_path(&self, bucket: &str, caller: &str) -> Result<LaunchPath, CloudError> {
        let access = self
            .sc
            .get_aws_organizations_access_status()
            .send()
            .await
            .map_err(|e| classify("GetAWSOrganizationsAccessStatus", e))?
            .access_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|| "DISABLED".into());
        let buckets = self.bucket(bucket, caller).await?.into_iter().collect();
        Ok(LaunchPath { servicecatalog_organizations_access: access, buckets, roles: vec![] })
    }

    /// The launch roles `names` in the reader's account (`account_id`): GetRole (trust policy
    /// and tags) and GetRolePolicy of vend's inline policy, two requests per name; a role that
    /// does not exist is left out.
    pub(super) async fn launch_roles(
        &self,
        account_id: &str,
        names: &[String],
    ) -> Result<Vec<LaunchRole>, CloudError> {
        let mut out = vec![];
        for name in names {
            let role = match self.iam.get_role().role_name(name).send().await {
                Ok(r) => r,
                Err(e) if e.as_service_error().is_some_and(|x| x.is_no_such_entity_exception()) => continue,
                Err(e) => return Err(classify("GetRole", e)),
            };
            let Some(role) = role.role() else { continue };
            let trust = role.assume_role_policy_document().map(policy_json).unwrap_or_default();
            let policy =
                match self.iam.get_role_policy().role_name(name).policy_name(LAUNCH_ROLE_POLICY).send().await
                {
                    Ok(p) => crate::model::canonical_json(&policy_json(p.policy_document())),
                    Err(e) if e.as_service_error().is_some_and(|x| x.is_no_such_entity_exception()) => {
                        String::new()
                    }
                    Err(e) => return Err(classify("GetRolePolicy", e)),
                };
            out.push(LaunchRole {
                account_id: account_id.to_string(),
                name: name.clone(),
                trusts_catalog: crate::model::trusts_catalog(&trust),
                policy,
                tags: role.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect(),
            });
        }
        Ok(out)
    }

    /// The bucket `name` as vend needs to know it; `None` when it does not exist.
    async fn bucket(&self, name: &str, caller: &str) -> Result<Option<Bucket>, CloudError> {
        let c = &self.s3;
        let head = c.head_bucket().bucket(name).expected_bucket_owner(caller).send().await;
        let region = match head {
            Ok(h) => h.bucket_region().unwrap_or_default().to_string(),
            Err(e) => {
                return match e.raw_response().map(|r| r.status().as_u16()) {
                    Some(404) => Ok(None),
                    // Forbidden: the name is held by another account (or refuses the caller).
                    Some(403) => Ok(Some(Bucket {
                        name: name.to_string(),
                        owner: "foreign".into(),
                        region: String::new(),
                        encryption: String::new(),
                        public_access_blocked: false,
                        versioning: false,
                        tags: Tags::new(),
                    })),
                    _ => Err(classify("HeadBucket", e)),
                };
            }
        };
        let code = |e: &dyn ProvideErrorMetadata| e.code().unwrap_or_default().to_string();
        let tags = async {
            match c.get_bucket_tagging().bucket(name).send().await {
                Ok(t) => {
                    Ok(t.tag_set().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect())
                }
                Err(e) if code(&e) == "NoSuchTagSet" => Ok(Tags::new()),
                Err(e) => Err(classify("GetBucketTagging", e)),
            }
        };
        let encryption = async {
            match c.get_bucket_encryption().bucket(name).send().await {
                Ok(out) => Ok(out
                    .server_side_encryption_configuration()
                    .and_then(|c| c.rules().first())
                    .and_then(|r| r.apply_server_side_encryption_by_default())
                    .map(|d| d.sse_algorithm().as_str().to_string())
                    .unwrap_or_default()),
                Err(e) if code(&e) == "ServerSideEncryptionConfigurationNotFoundError" => Ok(String::new()),
                Err(e) => Err(classify("GetBucketEncryption", e)),
            }
        };
        let blocked = async {
            match c.get_public_access_block().bucket(name).send().await {
                Ok(out) => Ok(out.public_access_block_configuration().is_some_and(|b| {
                    b.block_public_acls() == Some(true)
                        && b.ignore_public_acls() == Some(true)
                        && b.block_public_policy() == Some(true)
                        && b.restrict_public_buckets() == Some(true)
                })),
                Err(e) if code(&e) == "NoSuchPublicAccessBlockConfiguration" => Ok(false),
                Err(e) => Err(classify("GetPublicAccessBlock", e)),
            }
        };
        let versioning = async {
            c.get_bucket_versioning()
                .bucket(name)
                .send()
                .await
                .map(|v| v.status().is_some_and(|s| s.as_str() == "Enabled"))
                .map_err(|e| classify("GetBucketVersioning", e))
        };
        let ((tags, encryption), (public_access_blocked, versioning)) =
            try_join(try_join(tags, encryption), try_join(blocked, versioning)).await?;
        Ok(Some(Bucket {
            name: name.to_string(),
            owner: "owned".into(),
            region,
            encryption,
            public_access_blocked,
            versioning,
            tags,
        }))
    }

    /// The OUs and accounts directly under `parent` (tags filled in later).
    async fn children(&self, parent: String) -> Result<(Vec<OrgUnit>, Vec<Account>), CloudError> {
        let c = &self.org;
        let (ou_pages, account_pages) = try_join(
            async {
                c.list_organizational_units_for_parent()
                    .parent_id(&parent)
                    .into_paginator()
                    .page_size(PAGE)
                    .send()
                    .try_collect()
                    .await
                    .map_err(|e| classify("ListOrganizationalUnitsForParent", e))
            },
            async {
                c.list_accounts_for_parent()
                    .parent_id(&parent)
                    .into_paginator()
                    .page_size(PAGE)
                    .send()
                    .try_collect()
                    .await
                    .map_err(|e| classify("ListAccountsForParent", e))
            },
        )
        .await?;
        let ous = ou_pages
            .iter()
            .flat_map(|p| p.organizational_units())
            .map(|o| OrgUnit {
                id: o.id().unwrap_or_default().to_string(),
                name: o.name().unwrap_or_default().to_string(),
                parent_id: parent.clone(),
                tags: Tags::new(),
            })
            .collect();
        let accounts = account_pages
            .iter()
            .flat_map(|p| p.accounts())
            .map(|a| Account {
                id: a.id().unwrap_or_default().to_string(),
                name: a.name().unwrap_or_default().to_string(),
                email: a.email().unwrap_or_default().to_string(),
                // `State` replaces the retiring `Status`; fall back only when it is absent.
                state: match (a.state(), a.status()) {
                    (Some(s), _) => s.as_str().to_string(),
                    (None, Some(s)) => s.as_str().to_string(),
                    (None, None) => String::new(),
                },
                parent_id: parent.clone(),
                tags: Tags::new(),
            })
            .collect();
        Ok((ous, accounts))
    }

    async fn policy(&self, s: org::types::PolicySummary) -> Result<Policy, CloudError> {
        let c = &self.org;
        let id = s.id().unwrap_or_default().to_string();
        let (described, targets) = try_join(
            async {
                c.describe_policy().policy_id(&id).send().await.map_err(|e| classify("DescribePolicy", e))
            },
            async {
                c.list_targets_for_policy()
                    .policy_id(&id)
                    .into_paginator()
                    .page_size(PAGE)
                    .send()
                    .try_collect()
                    .await
                    .map_err(|e| classify("ListTargetsForPolicy", e))
            },
        )
        .await?;
        let content = described.policy().and_then(|p| p.content()).unwrap_or_default().to_string();
        let target_ids = targets
            .iter()
            .flat_map(|p| p.targets())
            .filter_map(|t| t.target_id().map(str::to_string))
            .collect();
        Ok(Policy {
            id,
            name: s.name().unwrap_or_default().to_string(),
            policy_type: s.r#type().map(|t| t.as_str().to_string()).unwrap_or_else(|| SCP.into()),
            aws_managed: s.aws_managed(),
            content,
            target_ids,
            tags: Tags::new(),
        })
    }

    /// Organizations' ListTagsForResource pages by token only (no page size).
    async fn tags(&self, id: &str) -> Result<Tags, CloudError> {
        let tags: Vec<org::types::Tag> = self
            .org
            .list_tags_for_resource()
            .resource_id(id)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| classify("ListTagsForResource", e))?;
        Ok(org_tags(&tags))
    }

    /// The account-creation requests AWS still reports (in progress, and finished ones within
    /// AWS's retention period), one paged listing of the states the planner uses: IN_PROGRESS
    /// (apply resumes them instead of sending CreateAccount again) and FAILED (the plan says
    /// why). SUCCEEDED ones are left out: their accounts are in the tree, and listing them
    /// would cost a page per 20 accounts created within the retention period.
    async fn create_account_requests(&self) -> Result<Vec<CreateAccountRequest>, CloudError> {
        use org::types::CreateAccountState as S;
        let pages = self
            .org
            .list_create_account_status()
            .set_states(Some(CREATE_ACCOUNT_STATES.iter().map(|s| S::from(*s)).collect()))
            .into_paginator()
            .page_size(PAGE)
            .send()
            .try_collect()
            .await
            .map_err(|e| classify("ListCreateAccountStatus", e))?;
        Ok(pages
            .iter()
            .flat_map(|p| p.create_account_statuses())
            .map(|s| CreateAccountRequest {
                id: s.id().unwrap_or_default().to_string(),
                account_name: s.account_name().unwrap_or_default().to_string(),
                state: s.state().map(|x| x.as_str().to_string()).unwrap_or_default(),
                account_id: s.account_id().map(str::to_string),
                failure_reason: s.failure_reason().map(|r| r.as_str().to_string()),
            })
            .collect())
    }

    // ----------------------------------------------------------------------- Service Catalog

    async fn catalog(&self) -> Result<(Vec<Portfolio>, Vec<Product>, Vec<ProvisionedProduct>), CloudError> {
        let c = &self.sc;
        let details: Vec<sc::types::PortfolioDetail> = c
            .list_portfolios()
            .into_paginator()
            .page_size(PAGE)
            .send()
            .try_collect()
            .await
            .map_err(|e| classify("ListPortfolios", e))?
            .iter()
            .flat_map(|p| p.portfolio_details().iter().cloned())
            .collect();
        let portfolios = each(details, |d| self.portfolio(d)).await?;

        let views = c
            .search_products_as_admin()
            .into_paginator()
            .page_size(PAGE)
            .send()
            .try_collect()
            .await
            .map_err(|e| classify("SearchProductsAsAdmin", e))?;
        let ids: Vec<String> = views.iter().flat_map(|p| product_ids(p.product_view_details())).collect();
        let products = each(ids, |id| self.product(id)).await?;
        let provisioned = provisioned(&self.sc, &self.cfn).await?;
        Ok((portfolios, products, provisioned))
    }

    async fn portfolio(&self, d: sc::types::PortfolioDetail) -> Result<Portfolio, CloudError> {
        let c = &self.sc;
        let id = d.id().unwrap_or_default().to_string();
        let described =
            c.describe_portfolio().id(&id).send().await.map_err(|e| classify("DescribePortfolio", e))?;
        let tags = sc_tags(described.tags());

        let product_ids: Vec<String> = c
            .search_products_as_admin()
            .portfolio_id(&id)
            .into_paginator()
            .page_size(PAGE)
            .send()
            .try_collect()
            .await
            .map_err(|e| classify("SearchProductsAsAdmin", e))?
            .iter()
            .flat_map(|p| product_ids(p.product_view_details()))
            .collect();

        let principals = c
            .list_principals_for_portfolio()
            .portfolio_id(&id)
            .into_paginator()
            .page_size(PAGE)
            .send()
            .try_collect()
            .await
            .map_err(|e| classify("ListPrincipalsForPortfolio", e))?
            .iter()
            .flat_map(|p| p.principals())
            .map(|p| Principal {
                arn: p.principal_arn().unwrap_or_default().to_string(),
                principal_type: p.principal_type().map(|t| t.as_str().to_string()).unwrap_or_default(),
            })
            .collect();

        use sc::types::DescribePortfolioShareType as T;
        let mut shares = vec![];
        for share_type in [T::Organization, T::OrganizationalUnit, T::Account] {
            let pages = c
                .describe_portfolio_shares()
                .portfolio_id(&id)
                .r#type(share_type.clone())
                .into_paginator()
                .page_size(PAGE)
                .send()
                .try_collect()
                .await
                .map_err(|e| classify("DescribePortfolioShares", e))?;
            // A listed share exists; the status of a running share is only known to whoever
            // holds its token, so a listed one counts as COMPLETED.
            shares.extend(pages.iter().flat_map(|p| p.portfolio_share_details()).map(|s| {
                Share {
                    share_type: s
                        .r#type()
                        .map(|t| t.as_str().to_string())
                        .unwrap_or_else(|| share_type.as_str().to_string()),
                    value: s.principal_id().unwrap_or_default().to_string(),
                    status: "COMPLETED".into(),
                    share_principals: s.share_principals(),
                }
            }));
        }

        let constraints: Vec<(String, String)> = c
            .list_constraints_for_portfolio()
            .portfolio_id(&id)
            .into_paginator()
            .page_size(PAGE)
            .send()
            .try_collect()
            .await
            .map_err(|e| classify("ListConstraintsForPortfolio", e))?
            .iter()
            .flat_map(|p| p.constraint_details())
            .filter(|d| d.r#type() == Some("LAUNCH"))
            .map(|d| {
                (
                    d.constraint_id().unwrap_or_default().to_string(),
                    d.product_id().unwrap_or_default().to_string(),
                )
            })
            .collect();
        // The role is only in the constraint's parameters: one DescribeConstraint each.
        let mut launch_constraints = vec![];
        for (cid, product_id) in constraints {
            let d = c
                .describe_constraint()
                .id(&cid)
                .send()
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
            launch_constraints.push(LaunchConstraint { product_id, local_role_name });
        }

        Ok(Portfolio {
            id,
            name: d.display_name().unwrap_or_default().to_string(),
            description: d.description().unwrap_or_default().to_string(),
            provider: d.provider_name().unwrap_or_default().to_string(),
            tags,
            product_ids,
            principals,
            shares,
            launch_constraints,
        })
    }

    async fn product(&self, id: String) -> Result<Product, CloudError> {
        let c = &self.sc;
        let described = c
            .describe_product_as_admin()
            .id(&id)
            .send()
            .await
            .map_err(|e| classify("DescribeProductAsAdmin", e))?;
        let summary = described.product_view_detail().and_then(|d| d.product_view_summary());
        let name = summary.and_then(|s| s.name()).unwrap_or_default().to_string();
        let owner = summary.and_then(|s| s.owner()).unwrap_or_default().to_string();
        let tags = sc_tags(described.tags());

        // ListProvisioningArtifacts is not paged (one answer with every version).
        let listed = c
            .list_provisioning_artifacts()
            .product_id(&id)
            .send()
            .await
            .map_err(|e| classify("ListProvisioningArtifacts", e))?;
        let artifacts: Vec<sc::types::ProvisioningArtifactDetail> =
            listed.provisioning_artifact_details().to_vec();
        // The template URL is only in DescribeProvisioningArtifact's `Info`.
        let versions = each(artifacts, |a| {
            let id = id.clone();
            async move {
                let aid = a.id().unwrap_or_default().to_string();
                let d = c
                    .describe_provisioning_artifact()
                    .product_id(&id)
                    .provisioning_artifact_id(&aid)
                    .send()
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
                    guidance: a
                        .guidance()
                        .map(|g| g.as_str().to_string())
                        .unwrap_or_else(|| "DEFAULT".into()),
                    description: a.description().unwrap_or_default().to_string(),
                    template_url,
                })
            }
        })
        .await?;
        Ok(Product { id, name, owner, tags, versions })
    }
}

fn product_ids(views: &[sc::types::ProductViewDetail]) -> impl Iterator<Item = String> + '_ {
    views.iter().filter_map(|v| v.product_view_summary().and_then(|s| s.product_id()).map(str::to_string))
}

/// The provisioned products of the account `sc` acts in, with their launch parameters read from
/// each product's CloudFormation stack through `cfn` (same account and credentials): Service
/// Catalog never returns them. No stack id yet (still launching), a stack that is gone or being
/// deleted, or a product that is not a CloudFormation stack: empty parameters.
pub(super) async fn provisioned(
    sc: &sc::Client,
    cfn: &cfn::Client,
) -> Result<Vec<ProvisionedProduct>, CloudError> {
    let filter = sc::types::AccessLevelFilter::builder()
        .key(sc::types::AccessLevelFilterKey::Account)
        .value("self")
        .build();
    let pages = sc
        .search_provisioned_products()
        .access_level_filter(filter)
        .into_paginator()
        .page_size(PAGE)
        .send()
        .try_collect()
        .await
        .map_err(|e| classify("SearchProvisionedProducts", e))?;
    let found: Vec<sc::types::ProvisionedProductAttribute> =
        pages.iter().flat_map(|p| p.provisioned_products().iter().cloned()).collect();
    each(found, |p| async move {
        let stack = p.physical_id().filter(|s| !s.is_empty() && p.r#type().is_none_or(|t| t == "CFN_STACK"));
        let params = match stack {
            Some(stack) => stack_parameters(cfn, stack).await?,
            None => BTreeMap::new(),
        };
        // arn:aws:servicecatalog:REGION:ACCOUNT:stack/NAME/pp-…
        let account_id = p.arn().and_then(|a| a.split(':').nth(4)).unwrap_or_default().to_string();
        Ok(ProvisionedProduct {
            id: p.id().unwrap_or_default().to_string(),
            name: p.name().unwrap_or_default().to_string(),
            account_id,
            product_id: p.product_id().unwrap_or_default().to_string(),
            version_id: p.provisioning_artifact_id().unwrap_or_default().to_string(),
            status: p.status().map(|s| s.as_str().to_string()).unwrap_or_default(),
            params,
            tags: sc_tags(p.tags()),
        })
    })
    .await
}

/// A stack's parameters (ParameterKey -> ParameterValue; CloudFormation reports every parameter,
/// defaulted ones too, and `****` for NoEcho ones). A stack that no longer exists, or is
/// deleted, has none.
async fn stack_parameters(cfn: &cfn::Client, stack: &str) -> Result<BTreeMap<String, String>, CloudError> {
    let out = match cfn.describe_stacks().stack_name(stack).send().await {
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
