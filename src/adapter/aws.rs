//! The AWS backend: `AwsCloud` implements `port::Cloud` over the official AWS SDK for Rust
//! (Organizations, Service Catalog, S3 for templates, STS for identity). It owns a private tokio
//! runtime and blocks on it, so the `Cloud` trait stays synchronous. `read_state` walks the
//! organization and the catalog with the fewest calls the APIs allow (bounded concurrency for
//! per-resource calls) and converts SDK types into `model::State` here and nowhere else; `call`
//! performs the Organizations writes and the S3 template upload, and classifies SDK errors into
//! `ErrorKind` per AWS-NOTES. Service Catalog writes are not available yet (`NotSupported`).

use crate::model::{
    Account, CreateAccountRequest, FORMAT_VERSION, LaunchConstraint, OrgUnit, Organization, Policy,
    Portfolio, Principal, Product, ProductVersion, ProvisionedProduct, Share, State, Tags,
};

use crate::port::{Cloud, CloudError, ErrorKind, Op, Outcome};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_organizations as org;
use aws_sdk_servicecatalog as sc;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use org::config::http::HttpResponse;
use org::error::{ProvideErrorMetadata, SdkError};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::time::Duration;

/// The SDK behaviour version vend is tested with (pinned: a newer default must be a decision).
pub fn behavior_version() -> BehaviorVersion {
    BehaviorVersion::v2026_01_12()
}

/// How many per-resource read calls run at once (the throttle is shared by the whole account).
const READ_CONCURRENCY: usize = 6;
/// Organizations pages at most 20 items; Service Catalog allows the same page size.
const PAGE: i32 = 20;
const SCP: &str = "SERVICE_CONTROL_POLICY";

/// Where and as whom to connect. `None` fields fall back to the standard chain (env vars,
/// `~/.aws/config`, `AWS_ENDPOINT_URL`, …).
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

/// AWS through the SDK, behind the synchronous `Cloud` trait.
pub struct AwsCloud {
    rt: tokio::runtime::Runtime,
    org: org::Client,
    sc: sc::Client,
    s3: aws_sdk_s3::Client,
    sts: aws_sdk_sts::Client,
}

impl std::fmt::Debug for AwsCloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCloud").finish_non_exhaustive()
    }
}

impl AwsCloud {
    /// Build the clients: standard credential chain, region (default `us-east-1`, where the
    /// Organizations endpoint lives), per-operation timeouts, standard retry mode.
    pub fn connect(opts: AwsOptions) -> Result<AwsCloud, CloudError> {
        let rt = runtime()?;
        let conf = rt.block_on(async {
            let mut loader = aws_config::defaults(behavior_version());
            if let Some(p) = &opts.profile {
                loader = loader.profile_name(p);
            }
            if let Some(r) = &opts.region {
                loader = loader.region(Region::new(r.clone()));
            }
            if let Some(u) = &opts.endpoint_url {
                loader = loader.endpoint_url(u);
            }
            loader.load().await
        });
        Ok(AwsCloud::with_runtime(rt, &conf))
    }

    /// Build the clients from a ready SDK config (tests: static credentials, an emulator
    /// endpoint), adding vend's timeouts and retry mode and the `us-east-1` region default.
    pub fn from_sdk_config(conf: &aws_config::SdkConfig) -> Result<AwsCloud, CloudError> {
        Ok(AwsCloud::with_runtime(runtime()?, conf))
    }

    fn with_runtime(rt: tokio::runtime::Runtime, conf: &aws_config::SdkConfig) -> AwsCloud {
        let mut b =
            conf.to_builder().retry_config(RetryConfig::standard().with_max_attempts(3)).timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(30))
                    .operation_timeout(Duration::from_secs(90))
                    .build(),
            );
        if conf.region().is_none() {
            b = b.region(Region::new("us-east-1"));
        }
        let conf = b.build();
        // A custom endpoint (an emulator) cannot serve virtual-hosted bucket names.
        let custom_endpoint = conf.endpoint_url().is_some();
        let s3_conf = aws_sdk_s3::config::Builder::from(&conf).force_path_style(custom_endpoint).build();
        AwsCloud {
            org: org::Client::new(&conf),
            sc: sc::Client::new(&conf),
            s3: aws_sdk_s3::Client::from_conf(s3_conf),
            sts: aws_sdk_sts::Client::new(&conf),
            rt,
        }
    }

    /// Only the Organizations part of the state (no Service Catalog calls): for diagnosis, and
    /// for endpoints without Service Catalog.
    pub fn read_organizations(&mut self) -> Result<State, CloudError> {
        let reader = Reader { org: self.org.clone(), sc: self.sc.clone() };
        self.rt.block_on(async move {
            let mut s = reader.organizations().await?;
            s.normalize();
            Ok(s)
        })
    }

    /// The account id of the caller (STS GetCallerIdentity).
    pub fn caller_account(&mut self) -> Result<String, CloudError> {
        let sts = self.sts.clone();
        self.rt.block_on(async move {
            let out = sts.get_caller_identity().send().await.map_err(|e| classify("GetCallerIdentity", e))?;
            Ok(out.account().unwrap_or_default().to_string())
        })
    }
}

impl Cloud for AwsCloud {
    fn read_state(&mut self) -> Result<State, CloudError> {
        let reader = Reader { org: self.org.clone(), sc: self.sc.clone() };
        self.rt.block_on(reader.state())
    }

    fn call(&mut self, op: &Op) -> Result<Outcome, CloudError> {
        let w = Writer { org: self.org.clone(), s3: self.s3.clone() };
        self.rt.block_on(w.call(op))
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CloudError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("vend-aws")
        .enable_all()
        .build()
        .map_err(|e| CloudError::hard("RuntimeError", format!("cannot start the async runtime: {e}")))
}

// ------------------------------------------------------------------------------------ errors

/// Map an SDK error to vend's `CloudError` (AWS-NOTES: which errors are worth a retry).
fn classify<E>(op: &str, err: SdkError<E, HttpResponse>) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let unknown =
        |code: &str, what: String| CloudError { kind: ErrorKind::Unknown, code: code.into(), message: what };
    match &err {
        SdkError::TimeoutError(_) => unknown(
            "RequestTimeout",
            format!("{op}: no answer in time; the request may have been carried out"),
        ),
        SdkError::DispatchFailure(d) => unknown(
            "DispatchFailure",
            format!(
                "{op}: the request could not be completed ({:?}); it may have been carried out",
                d.as_connector_error()
            ),
        ),
        SdkError::ConstructionFailure(_) => CloudError::hard(
            "InvalidRequest",
            format!("{op}: the request could not be built: {}", full(&err)),
        ),
        SdkError::ResponseError(r) => {
            let status = r.raw().status().as_u16();
            if status >= 500 {
                CloudError::retryable(
                    &format!("HTTP{status}"),
                    format!(
                        "{op}: the endpoint answered HTTP {status} with no AWS error (an emulator that does not implement {op}?)"
                    ),
                )
            } else {
                unknown(
                    "InvalidResponse",
                    format!("{op}: unreadable response (HTTP {status}): {}", full(&err)),
                )
            }
        }
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            let e = s.err();
            let code = e.code().map(str::to_string);
            let message = e.message().unwrap_or_default().to_string();
            match code {
                Some(code) => {
                    let retryable = status >= 500
                        || matches!(
                            code.as_str(),
                            "TooManyRequestsException"
                                | "ThrottlingException"
                                | "Throttling"
                                | "ConcurrentModificationException"
                                | "PolicyChangesInProgressException"
                                | "FinalizingOrganizationException"
                                | "ServiceException"
                                | "SlowDown"
                                | "InternalError"
                                | "ServiceUnavailable"
                        );
                    let kind = if retryable { ErrorKind::Retryable } else { ErrorKind::Hard };
                    CloudError { kind, code, message: format!("{op}: {message}") }
                }
                None if status >= 500 => CloudError::retryable(
                    &format!("HTTP{status}"),
                    format!(
                        "{op}: the endpoint answered HTTP {status} with no AWS error code (an emulator that does not implement {op}?)"
                    ),
                ),
                None => CloudError::hard(&format!("HTTP{status}"), format!("{op}: {}", full(&err))),
            }
        }
        _ => unknown("Unknown", format!("{op}: {}", full(&err))),
    }
}

/// The error and its sources on one line.
fn full(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}

/// Run `f` over `items` with bounded concurrency, keeping the input order.
async fn each<T, R, F, Fut>(items: Vec<T>, f: F) -> Result<Vec<R>, CloudError>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<R, CloudError>>,
{
    stream::iter(items).map(f).buffered(READ_CONCURRENCY).try_collect().await
}

// ------------------------------------------------------------------------------------- reads

struct Reader {
    org: org::Client,
    sc: sc::Client,
}

fn org_tags(tags: &[org::types::Tag]) -> Tags {
    tags.iter().map(|t| (t.key().to_string(), t.value().to_string())).collect()
}

fn sc_tags(tags: &[sc::types::Tag]) -> Tags {
    tags.iter().map(|t| (t.key().to_string(), t.value().to_string())).collect()
}

impl Reader {
    async fn state(&self) -> Result<State, CloudError> {
        let mut state = self.organizations().await?;
        let (portfolios, products, provisioned) = self.catalog().await?;
        state.portfolios = portfolios;
        state.products = products;
        state.provisioned_products = provisioned;
        state.normalize();
        Ok(state)
    }

    async fn organizations(&self) -> Result<State, CloudError> {
        let c = &self.org;
        let described =
            c.describe_organization().send().await.map_err(|e| classify("DescribeOrganization", e))?;
        let o = described.organization();
        let org_id = o.and_then(|o| o.id()).unwrap_or_default().to_string();
        let management = o.and_then(|o| o.master_account_id()).unwrap_or_default().to_string();

        // The root (an organization has exactly one) and its enabled policy types.
        let mut roots = vec![];
        let mut token = None;
        loop {
            let page = c
                .list_roots()
                .max_results(PAGE)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| classify("ListRoots", e))?;
            roots.extend(page.roots().iter().cloned());
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        let root = roots
            .first()
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
        let mut summaries = vec![];
        let mut token = None;
        loop {
            let page = c
                .list_policies()
                .filter(org::types::PolicyType::ServiceControlPolicy)
                .max_results(PAGE)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| classify("ListPolicies", e))?;
            summaries.extend(page.policies().iter().cloned());
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
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
        })
    }

    /// The OUs and accounts directly under `parent` (tags filled in later).
    async fn children(&self, parent: String) -> Result<(Vec<OrgUnit>, Vec<Account>), CloudError> {
        let c = &self.org;
        let mut ous = vec![];
        let mut token = None;
        loop {
            let page = c
                .list_organizational_units_for_parent()
                .parent_id(&parent)
                .max_results(PAGE)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| classify("ListOrganizationalUnitsForParent", e))?;
            ous.extend(page.organizational_units().iter().map(|o| OrgUnit {
                id: o.id().unwrap_or_default().to_string(),
                name: o.name().unwrap_or_default().to_string(),
                parent_id: parent.clone(),
                tags: Tags::new(),
            }));
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        let mut accounts = vec![];
        let mut token = None;
        loop {
            let page = c
                .list_accounts_for_parent()
                .parent_id(&parent)
                .max_results(PAGE)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| classify("ListAccountsForParent", e))?;
            accounts.extend(page.accounts().iter().map(|a| Account {
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
            }));
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        Ok((ous, accounts))
    }

    async fn policy(&self, s: org::types::PolicySummary) -> Result<Policy, CloudError> {
        let c = &self.org;
        let id = s.id().unwrap_or_default().to_string();
        let described =
            c.describe_policy().policy_id(&id).send().await.map_err(|e| classify("DescribePolicy", e))?;
        let content = described.policy().and_then(|p| p.content()).unwrap_or_default().to_string();
        let mut target_ids = vec![];
        let mut token = None;
        loop {
            let page = c
                .list_targets_for_policy()
                .policy_id(&id)
                .max_results(PAGE)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| classify("ListTargetsForPolicy", e))?;
            target_ids.extend(page.targets().iter().filter_map(|t| t.target_id().map(str::to_string)));
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
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

    async fn tags(&self, id: &str) -> Result<Tags, CloudError> {
        let mut tags = Tags::new();
        let mut token = None;
        loop {
            let page = self
                .org
                .list_tags_for_resource()
                .resource_id(id)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| classify("ListTagsForResource", e))?;
            tags.extend(org_tags(page.tags()));
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        Ok(tags)
    }

    /// The account-creation requests AWS still reports (in progress, and finished ones within
    /// AWS's retention period), one paged call.
    async fn create_account_requests(&self) -> Result<Vec<CreateAccountRequest>, CloudError> {
        use org::types::CreateAccountState as S;
        let mut out = vec![];
        let mut token = None;
        loop {
            let page = self
                .org
                .list_create_account_status()
                .states(S::InProgress)
                .states(S::Succeeded)
                .states(S::Failed)
                .max_results(PAGE)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| classify("ListCreateAccountStatus", e))?;
            out.extend(page.create_account_statuses().iter().map(|s| CreateAccountRequest {
                id: s.id().unwrap_or_default().to_string(),
                account_name: s.account_name().unwrap_or_default().to_string(),
                state: s.state().map(|x| x.as_str().to_string()).unwrap_or_default(),
                account_id: s.account_id().map(str::to_string),
                failure_reason: s.failure_reason().map(|r| r.as_str().to_string()),
            }));
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        Ok(out)
    }

    // ----------------------------------------------------------------------- Service Catalog

    async fn catalog(&self) -> Result<(Vec<Portfolio>, Vec<Product>, Vec<ProvisionedProduct>), CloudError> {
        let c = &self.sc;
        let mut details = vec![];
        let mut token = None;
        loop {
            let page = c
                .list_portfolios()
                .page_size(PAGE)
                .set_page_token(token)
                .send()
                .await
                .map_err(|e| classify("ListPortfolios", e))?;
            details.extend(page.portfolio_details().iter().cloned());
            token = page.next_page_token().map(str::to_string).filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
        let portfolios = each(details, |d| self.portfolio(d)).await?;

        let mut views = vec![];
        let mut token = None;
        loop {
            let page = c
                .search_products_as_admin()
                .page_size(PAGE)
                .set_page_token(token)
                .send()
                .await
                .map_err(|e| classify("SearchProductsAsAdmin", e))?;
            views.extend(
                page.product_view_details().iter().filter_map(|v| {
                    v.product_view_summary().and_then(|s| s.product_id()).map(str::to_string)
                }),
            );
            token = page.next_page_token().map(str::to_string).filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
        let products = each(views, |id| self.product(id)).await?;
        let provisioned = self.provisioned().await?;
        Ok((portfolios, products, provisioned))
    }

    async fn portfolio(&self, d: sc::types::PortfolioDetail) -> Result<Portfolio, CloudError> {
        let c = &self.sc;
        let id = d.id().unwrap_or_default().to_string();
        let described =
            c.describe_portfolio().id(&id).send().await.map_err(|e| classify("DescribePortfolio", e))?;
        let tags = sc_tags(described.tags());

        let mut product_ids = vec![];
        let mut token = None;
        loop {
            let page = c
                .search_products_as_admin()
                .portfolio_id(&id)
                .page_size(PAGE)
                .set_page_token(token)
                .send()
                .await
                .map_err(|e| classify("SearchProductsAsAdmin", e))?;
            product_ids.extend(
                page.product_view_details().iter().filter_map(|v| {
                    v.product_view_summary().and_then(|s| s.product_id()).map(str::to_string)
                }),
            );
            token = page.next_page_token().map(str::to_string).filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }

        let mut principals = vec![];
        let mut token = None;
        loop {
            let page = c
                .list_principals_for_portfolio()
                .portfolio_id(&id)
                .page_size(PAGE)
                .set_page_token(token)
                .send()
                .await
                .map_err(|e| classify("ListPrincipalsForPortfolio", e))?;
            principals.extend(page.principals().iter().map(|p| Principal {
                arn: p.principal_arn().unwrap_or_default().to_string(),
                principal_type: p.principal_type().map(|t| t.as_str().to_string()).unwrap_or_default(),
            }));
            token = page.next_page_token().map(str::to_string).filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }

        use sc::types::DescribePortfolioShareType as T;
        let mut shares = vec![];
        for share_type in [T::Organization, T::OrganizationalUnit, T::Account] {
            let mut token = None;
            loop {
                let page = c
                    .describe_portfolio_shares()
                    .portfolio_id(&id)
                    .r#type(share_type.clone())
                    .page_size(PAGE)
                    .set_page_token(token)
                    .send()
                    .await
                    .map_err(|e| classify("DescribePortfolioShares", e))?;
                // A listed share exists; the status of a running share is only known to whoever
                // holds its token, so a listed one counts as COMPLETED.
                shares.extend(page.portfolio_share_details().iter().map(|s| {
                    Share {
                        share_type: s
                            .r#type()
                            .map(|t| t.as_str().to_string())
                            .unwrap_or_else(|| share_type.as_str().to_string()),
                        value: s.principal_id().unwrap_or_default().to_string(),
                        status: "COMPLETED".into(),
                    }
                }));
                token = page.next_page_token().map(str::to_string).filter(|t| !t.is_empty());
                if token.is_none() {
                    break;
                }
            }
        }

        let mut constraints = vec![];
        let mut token = None;
        loop {
            let page = c
                .list_constraints_for_portfolio()
                .portfolio_id(&id)
                .page_size(PAGE)
                .set_page_token(token)
                .send()
                .await
                .map_err(|e| classify("ListConstraintsForPortfolio", e))?;
            constraints.extend(
                page.constraint_details().iter().filter(|d| d.r#type() == Some("LAUNCH")).map(|d| {
                    (
                        d.constraint_id().unwrap_or_default().to_string(),
                        d.product_id().unwrap_or_default().to_string(),
                    )
                }),
            );
            token = page.next_page_token().map(str::to_string).filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
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

    async fn provisioned(&self) -> Result<Vec<ProvisionedProduct>, CloudError> {
        let filter = sc::types::AccessLevelFilter::builder()
            .key(sc::types::AccessLevelFilterKey::Account)
            .value("self")
            .build();
        let mut out = vec![];
        let mut token = None;
        loop {
            let page = self
                .sc
                .search_provisioned_products()
                .access_level_filter(filter.clone())
                .page_size(PAGE)
                .set_page_token(token)
                .send()
                .await
                .map_err(|e| classify("SearchProvisionedProducts", e))?;
            out.extend(page.provisioned_products().iter().map(|p| {
                // arn:aws:servicecatalog:REGION:ACCOUNT:stack/NAME/pp-…
                let account_id = p.arn().and_then(|a| a.split(':').nth(4)).unwrap_or_default().to_string();
                ProvisionedProduct {
                    id: p.id().unwrap_or_default().to_string(),
                    name: p.name().unwrap_or_default().to_string(),
                    account_id,
                    product_id: p.product_id().unwrap_or_default().to_string(),
                    version_id: p.provisioning_artifact_id().unwrap_or_default().to_string(),
                    status: p.status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                    // Service Catalog does not return launch parameters (they live in the
                    // CloudFormation stack of the target account).
                    params: BTreeMap::new(),
                    tags: sc_tags(p.tags()),
                }
            }));
            token = page.next_page_token().map(str::to_string).filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
        Ok(out)
    }
}

// ------------------------------------------------------------------------------------ writes

struct Writer {
    org: org::Client,
    s3: aws_sdk_s3::Client,
}

fn to_org_tags(tags: &Tags) -> Result<Option<Vec<org::types::Tag>>, CloudError> {
    if tags.is_empty() {
        return Ok(None);
    }
    tags.iter()
        .map(|(k, v)| {
            org::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| CloudError::hard("InvalidInputException", format!("tag {k}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// No automatic retries: for writes that must be reconciled, never resent (AWS-NOTES).
fn no_retries() -> org::config::Builder {
    org::config::Builder::default().retry_config(RetryConfig::disabled())
}

fn rid(r: &impl org::operation::RequestId) -> String {
    r.request_id().unwrap_or_default().to_string()
}

/// `https://BUCKET.s3[.REGION].amazonaws.com/KEY` or `https://s3[.REGION].amazonaws.com/BUCKET/KEY`.
pub fn parse_s3_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("https://")?;
    let (host, path) = rest.split_once('/')?;
    if path.is_empty() {
        return None;
    }
    if host.starts_with("s3.") || host == "s3.amazonaws.com" {
        let (bucket, key) = path.split_once('/')?;
        return (!bucket.is_empty() && !key.is_empty()).then(|| (bucket.to_string(), key.to_string()));
    }
    let (bucket, domain) = host.split_once(".s3")?;
    if bucket.is_empty() || !domain.ends_with(".amazonaws.com") {
        return None;
    }
    Some((bucket.to_string(), path.to_string()))
}

impl Writer {
    async fn call(&self, op: &Op) -> Result<Outcome, CloudError> {
        let c = &self.org;
        let name = op.name();
        let done = |request_id: String, id: Option<String>| Outcome { request_id, id, ..Outcome::default() };
        match op {
            Op::EnablePolicyType { root_id, policy_type } => {
                let out = c
                    .enable_policy_type()
                    .root_id(root_id)
                    .policy_type(org::types::PolicyType::from(policy_type.as_str()))
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                Ok(done(rid(&out), Some(root_id.clone())))
            }
            Op::CreateOrganizationalUnit { parent_id, name: ou, tags } => {
                let out = c
                    .create_organizational_unit()
                    .parent_id(parent_id)
                    .name(ou)
                    .set_tags(to_org_tags(tags)?)
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                let id = out.organizational_unit().and_then(|o| o.id()).map(str::to_string);
                Ok(done(rid(&out), id))
            }
            Op::DeleteOrganizationalUnit { ou_id } => {
                let out = c
                    .delete_organizational_unit()
                    .organizational_unit_id(ou_id)
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                Ok(done(rid(&out), Some(ou_id.clone())))
            }
            Op::TagResource { resource_id, tags } => {
                let out = c
                    .tag_resource()
                    .resource_id(resource_id)
                    .set_tags(Some(to_org_tags(tags)?.unwrap_or_default()))
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                Ok(done(rid(&out), Some(resource_id.clone())))
            }
            Op::CreateAccount { name: account, email, tags } => {
                let out = c
                    .create_account()
                    .account_name(account)
                    .email(email)
                    .set_tags(to_org_tags(tags)?)
                    .customize()
                    .config_override(no_retries())
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                let s = out.create_account_status();
                Ok(Outcome {
                    request_id: rid(&out),
                    id: s.and_then(|s| s.id()).map(str::to_string),
                    status: s.and_then(|s| s.state()).map(|x| x.as_str().to_string()),
                    result: s.and_then(|s| s.account_id().map(str::to_string)),
                    ..Outcome::default()
                })
            }
            Op::DescribeCreateAccountStatus { request_id } => {
                let out = c
                    .describe_create_account_status()
                    .create_account_request_id(request_id)
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                let s = out.create_account_status();
                Ok(Outcome {
                    request_id: rid(&out),
                    id: Some(request_id.clone()),
                    status: s.and_then(|s| s.state()).map(|x| x.as_str().to_string()),
                    result: s.and_then(|s| {
                        s.account_id()
                            .map(str::to_string)
                            .or_else(|| s.failure_reason().map(|r| r.as_str().to_string()))
                    }),
                    ..Outcome::default()
                })
            }
            Op::MoveAccount { account_id, source_parent_id, destination_parent_id } => {
                let out = c
                    .move_account()
                    .account_id(account_id)
                    .source_parent_id(source_parent_id)
                    .destination_parent_id(destination_parent_id)
                    .customize()
                    .config_override(no_retries())
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                Ok(done(rid(&out), Some(account_id.clone())))
            }
            Op::CloseAccount { account_id } => {
                let out =
                    c.close_account().account_id(account_id).send().await.map_err(|x| classify(&name, x))?;
                Ok(done(rid(&out), Some(account_id.clone())))
            }
            Op::CreatePolicy { name: policy, content, tags } => {
                let out = c
                    .create_policy()
                    .name(policy)
                    .description("")
                    .content(content)
                    .r#type(org::types::PolicyType::ServiceControlPolicy)
                    .set_tags(to_org_tags(tags)?)
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                let id =
                    out.policy().and_then(|p| p.policy_summary()).and_then(|s| s.id()).map(str::to_string);
                Ok(done(rid(&out), id))
            }
            Op::UpdatePolicy { policy_id, content } => {
                let out = c
                    .update_policy()
                    .policy_id(policy_id)
                    .content(content)
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                Ok(done(rid(&out), Some(policy_id.clone())))
            }
            Op::DeletePolicy { policy_id } => {
                let out =
                    c.delete_policy().policy_id(policy_id).send().await.map_err(|x| classify(&name, x))?;
                Ok(done(rid(&out), Some(policy_id.clone())))
            }
            Op::AttachPolicy { policy_id, target_id } => {
                let out = c
                    .attach_policy()
                    .policy_id(policy_id)
                    .target_id(target_id)
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                Ok(done(rid(&out), Some(policy_id.clone())))
            }
            Op::DetachPolicy { policy_id, target_id } => {
                let out = c
                    .detach_policy()
                    .policy_id(policy_id)
                    .target_id(target_id)
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                Ok(done(rid(&out), Some(policy_id.clone())))
            }
            Op::PutTemplate { url, body } => {
                let (bucket, key) = parse_s3_url(url).ok_or_else(|| {
                    CloudError::hard(
                        "InvalidTemplateUrl",
                        format!("PutTemplate: {url} is not an https S3 object URL"),
                    )
                })?;
                let out = self
                    .s3
                    .put_object()
                    .bucket(&bucket)
                    .key(&key)
                    .content_type("application/x-yaml")
                    .body(aws_sdk_s3::primitives::ByteStream::from(body.clone().into_bytes()))
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                use aws_sdk_s3::operation::RequestId as _;
                Ok(Outcome {
                    request_id: out.request_id().unwrap_or_default().to_string(),
                    id: Some(url.clone()),
                    ..Outcome::default()
                })
            }
            _ => Err(CloudError::hard("NotSupported", format!("vend's AWS backend cannot do {name} yet"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls_parse_in_both_styles() {
        assert_eq!(
            parse_s3_url("https://vend-111.s3.us-east-1.amazonaws.com/templates/p/v1/abc.yaml"),
            Some(("vend-111".into(), "templates/p/v1/abc.yaml".into()))
        );
        assert_eq!(
            parse_s3_url("https://s3.eu-west-1.amazonaws.com/b/k/x.yaml"),
            Some(("b".into(), "k/x.yaml".into()))
        );
        assert_eq!(parse_s3_url("http://b.s3.amazonaws.com/k"), None);
        assert_eq!(parse_s3_url("https://example.com/k"), None);
    }
}
