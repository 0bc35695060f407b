//! Reading the state from AWS: `Reader` walks the organization (OUs, accounts, tags, SCPs,
//! account-creation requests) as a work queue — the children of an OU are listed as soon as the
//! OU is known, the tags of an OU, account or policy are read as soon as it is listed, and every
//! further page is asked for as soon as the previous one answers — while the Service Catalog
//! (`catalog.rs`: portfolios, shares, principals, constraints, products, versions, provisioned
//! products and their stack parameters) is read alongside (and, by `AwsCloud::read_state`, the
//! caller's identity; the launch path follows once the organization is read). Every request
//! of a read waits for its turn (`Reader::turn`): at most `READ_CONCURRENCY` are in flight at
//! once, whatever part of the state they read, so the read keeps the API as busy as that bound
//! allows without ever asking more of it. The order in which answers come back decides nothing:
//! lists are sorted (`State::normalize`) and tags are looked up by id. SDK types become `model`
//! types here. It never writes.

mod catalog;

pub(super) use catalog::provisioned;

use super::config::{org_client, read_retries, retry_partition, s3_client};
use super::errors::{NotRetried, classify};
use super::{CREATE_ACCOUNT_STATES, PAGE, READ_CONCURRENCY, SCP};
use crate::model::{
    Account, Bucket, CreateAccountRequest, FORMAT_VERSION, LAUNCH_ROLE_POLICY, LaunchPath, LaunchRole,
    OrgUnit, Organization, Policy, State, Tags,
};
use crate::port::CloudError;
use aws_sdk_cloudformation as cfn;
use aws_sdk_iam as iam;
use aws_sdk_organizations as org;
use aws_sdk_servicecatalog as sc;
use futures_util::future::{BoxFuture, FutureExt, try_join, try_join_all};
use futures_util::stream::{self, FuturesUnordered, StreamExt, TryStreamExt};
use org::error::ProvideErrorMetadata;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::{Semaphore, SemaphorePermit};

/// An IAM policy document as IAM returns it: URL-encoded (RFC 3986, "The policy document
/// returned in this structure is URL-encoded compliant with RFC 3986", IAM API reference,
/// GetRolePolicy / Role), or plain JSON as some endpoints answer; `Null` when neither parses.
pub(super) fn policy_json(doc: &str) -> serde_json::Value {
    serde_json::from_str(doc).unwrap_or_else(|_| {
        let decoded = percent_encoding::percent_decode_str(doc).decode_utf8_lossy();
        serde_json::from_str(&decoded).unwrap_or(serde_json::Value::Null)
    })
}

/// Run `f` over `items` with bounded concurrency, keeping the input order (for clients that are
/// not a `Reader`'s: template downloads).
pub(super) async fn each<T, R, F, Fut>(items: Vec<T>, f: F) -> Result<Vec<R>, CloudError>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<R, CloudError>>,
{
    stream::iter(items).map(f).buffered(READ_CONCURRENCY).try_collect().await
}

#[derive(Debug, Clone)]
pub(super) struct Reader {
    pub(super) org: org::Client,
    /// AWS Account Management in the reader's account (alternate contacts).
    pub(super) account: aws_sdk_account::Client,
    /// IAM (a global service) in the reader's account.
    pub(super) iam: iam::Client,
    pub(super) s3: aws_sdk_s3::Client,
    pub(super) sc: sc::Client,
    pub(super) cfn: cfn::Client,
    /// The turns of a read: `READ_CONCURRENCY` permits, shared by the clones of this reader and
    /// by the member-account readers that join its read (`Reader::sharing_turns_of`).
    turns: Arc<Semaphore>,
}

impl Reader {
    /// Clients for reading the state: `READ_ATTEMPTS` per call, vend's retry partition.
    pub(super) fn new(conf: &aws_config::SdkConfig) -> Reader {
        Reader {
            org: org_client(conf, read_retries()),
            account: super::access::account_client(conf, read_retries()),
            iam: iam::Client::from_conf(
                iam::config::Builder::from(conf)
                    .retry_config(read_retries())
                    .retry_partition(retry_partition())
                    .retry_classifier(NotRetried)
                    .build(),
            ),
            s3: s3_client(conf, read_retries()),
            sc: sc::Client::from_conf(
                sc::config::Builder::from(conf)
                    .retry_config(read_retries())
                    .retry_partition(retry_partition())
                    .retry_classifier(NotRetried)
                    .build(),
            ),
            cfn: cfn::Client::from_conf(
                cfn::config::Builder::from(conf)
                    .retry_config(read_retries())
                    .retry_partition(retry_partition())
                    .retry_classifier(NotRetried)
                    .build(),
            ),
            turns: Arc::new(Semaphore::new(READ_CONCURRENCY)),
        }
    }

    /// This reader's clients (another account's credentials), taking their turns with `other`:
    /// one bound for the whole read.
    pub(super) fn sharing_turns_of(&self, other: &Reader) -> Reader {
        Reader { turns: Arc::clone(&other.turns), ..self.clone() }
    }

    /// Wait for a turn to send one request (or one listing whose pages follow each other): hold
    /// the permit while the request is in flight, SDK retries and their backoff included. The
    /// semaphore is never closed; were it closed, the request would go without a turn.
    pub(super) async fn turn(&self) -> Option<SemaphorePermit<'_>> {
        self.turns.acquire().await.ok()
    }

    /// `request` sent in its turn.
    pub(super) async fn sent<F: Future>(&self, request: F) -> F::Output {
        let _turn = self.turn().await;
        request.await
    }
}

fn org_tags(tags: &[org::types::Tag]) -> Tags {
    tags.iter().map(|t| (t.key().to_string(), t.value().to_string())).collect()
}

/// What DescribeOrganization says: the organization's id and its management account.
#[derive(Debug, Clone)]
pub(super) struct Described {
    pub id: String,
    pub management_account_id: String,
}

/// The organization tree and its policies, as the walk found them (tags filled in).
#[derive(Debug)]
pub(super) struct Walked {
    root_id: String,
    enabled_policy_types: Vec<String>,
    ous: Vec<OrgUnit>,
    accounts: Vec<Account>,
    policies: Vec<Policy>,
    create_account_requests: Vec<CreateAccountRequest>,
}

/// What one step of the walk found; each may start further steps.
enum Found {
    Root { id: String, enabled_policy_types: Vec<String> },
    Units { parent: String, units: Vec<OrgUnit>, next: Option<String> },
    Accounts { parent: String, accounts: Vec<Account>, next: Option<String> },
    Policies { summaries: Vec<org::types::PolicySummary>, next: Option<String> },
    Policy(Policy),
    Tags { id: String, tags: Tags },
    Requests(Vec<CreateAccountRequest>),
}

type Step<'a> = BoxFuture<'a, Result<Found, CloudError>>;

impl Reader {
    /// The Organizations part of the state (the walk and DescribeOrganization at once); the
    /// Service Catalog parts empty.
    pub(super) async fn organizations(&self) -> Result<State, CloudError> {
        let (described, walked) = try_join(self.describe_organization(), self.walk()).await?;
        Ok(state_of(described, walked))
    }

    pub(super) async fn describe_organization(&self) -> Result<Described, CloudError> {
        let out = self
            .sent(self.org.describe_organization().send())
            .await
            .map_err(|e| classify("DescribeOrganization", e))?;
        let o = out.organization();
        Ok(Described {
            id: o.and_then(|o| o.id()).unwrap_or_default().to_string(),
            management_account_id: o.and_then(|o| o.master_account_id()).unwrap_or_default().to_string(),
        })
    }

    /// The tree, the SCPs and the account-creation requests, as a work queue: ListRoots, the
    /// first ListPolicies page and ListCreateAccountStatus start at once; the root's and each
    /// OU's children (OUs and accounts, page by page) are listed as soon as it is known; the
    /// tags of each OU, account and customer-managed policy, and each policy's content and
    /// targets, are read as soon as it is listed. One request per page or resource, as before:
    /// only the order changes.
    pub(super) async fn walk(&self) -> Result<Walked, CloudError> {
        let mut steps: FuturesUnordered<Step<'_>> = FuturesUnordered::new();
        steps.push(self.root().boxed());
        steps.push(self.policies_page(None).boxed());
        steps.push(self.create_account_requests().boxed());

        let mut root: Option<(String, Vec<String>)> = None;
        let mut ous: Vec<OrgUnit> = vec![];
        let mut accounts: Vec<Account> = vec![];
        let mut policies: Vec<Policy> = vec![];
        let mut tags: HashMap<String, Tags> = HashMap::new();
        let mut create_account_requests = vec![];
        while let Some(found) = steps.next().await {
            match found? {
                Found::Root { id, enabled_policy_types } => {
                    steps.push(self.units_page(id.clone(), None).boxed());
                    steps.push(self.accounts_page(id.clone(), None).boxed());
                    root = Some((id, enabled_policy_types));
                }
                Found::Units { parent, units, next } => {
                    if next.is_some() {
                        steps.push(self.units_page(parent, next).boxed());
                    }
                    // The children first: they widen the walk; the tags only fill it in.
                    for u in &units {
                        steps.push(self.units_page(u.id.clone(), None).boxed());
                        steps.push(self.accounts_page(u.id.clone(), None).boxed());
                    }
                    for u in &units {
                        steps.push(self.tags(u.id.clone()).boxed());
                    }
                    ous.extend(units);
                }
                Found::Accounts { parent, accounts: page, next } => {
                    if next.is_some() {
                        steps.push(self.accounts_page(parent, next).boxed());
                    }
                    for a in &page {
                        steps.push(self.tags(a.id.clone()).boxed());
                    }
                    accounts.extend(page);
                }
                Found::Policies { summaries, next } => {
                    if next.is_some() {
                        steps.push(self.policies_page(next).boxed());
                    }
                    for s in summaries {
                        if !s.aws_managed() {
                            steps.push(self.tags(s.id().unwrap_or_default().to_string()).boxed());
                        }
                        steps.push(self.policy(s).boxed());
                    }
                }
                Found::Policy(p) => policies.push(p),
                Found::Tags { id, tags: t } => {
                    tags.insert(id, t);
                }
                Found::Requests(r) => create_account_requests = r,
            }
        }
        let (root_id, enabled_policy_types) =
            root.ok_or_else(|| CloudError::hard("NoRoot", "ListRoots: the organization has no root"))?;
        for o in &mut ous {
            o.tags = tags.remove(&o.id).unwrap_or_default();
        }
        for a in &mut accounts {
            a.tags = tags.remove(&a.id).unwrap_or_default();
        }
        for p in &mut policies {
            p.tags = tags.remove(&p.id).unwrap_or_default();
        }
        Ok(Walked { root_id, enabled_policy_types, ous, accounts, policies, create_account_requests })
    }

    /// The root (an organization has exactly one) and its enabled policy types.
    async fn root(&self) -> Result<Found, CloudError> {
        let pages: Vec<_> = self
            .sent(self.org.list_roots().into_paginator().page_size(PAGE).send().try_collect())
            .await
            .map_err(|e| classify("ListRoots", e))?;
        let root = pages
            .iter()
            .flat_map(|p| p.roots())
            .next()
            .ok_or_else(|| CloudError::hard("NoRoot", "ListRoots: the organization has no root"))?;
        let mut enabled_policy_types: Vec<String> = root
            .policy_types()
            .iter()
            .filter(|p| p.status().is_some_and(|s| s.as_str() == "ENABLED"))
            .filter_map(|p| p.r#type().map(|t| t.as_str().to_string()))
            .collect();
        enabled_policy_types.sort();
        Ok(Found::Root { id: root.id().unwrap_or_default().to_string(), enabled_policy_types })
    }

    /// One page of the OUs directly under `parent` (tags filled in later). A page may be empty
    /// while a token is still set: the walk asks for the next one.
    async fn units_page(&self, parent: String, token: Option<String>) -> Result<Found, CloudError> {
        let out = self
            .sent(
                self.org
                    .list_organizational_units_for_parent()
                    .parent_id(&parent)
                    .max_results(PAGE)
                    .set_next_token(token)
                    .send(),
            )
            .await
            .map_err(|e| classify("ListOrganizationalUnitsForParent", e))?;
        let units = out
            .organizational_units()
            .iter()
            .map(|o| OrgUnit {
                id: o.id().unwrap_or_default().to_string(),
                name: o.name().unwrap_or_default().to_string(),
                parent_id: parent.clone(),
                tags: Tags::new(),
            })
            .collect();
        let next = out.next_token().map(str::to_string);
        Ok(Found::Units { parent, units, next })
    }

    /// One page of the accounts directly under `parent` (tags filled in later).
    async fn accounts_page(&self, parent: String, token: Option<String>) -> Result<Found, CloudError> {
        let out = self
            .sent(
                self.org
                    .list_accounts_for_parent()
                    .parent_id(&parent)
                    .max_results(PAGE)
                    .set_next_token(token)
                    .send(),
            )
            .await
            .map_err(|e| classify("ListAccountsForParent", e))?;
        let accounts = out
            .accounts()
            .iter()
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
        let next = out.next_token().map(str::to_string);
        Ok(Found::Accounts { parent, accounts, next })
    }

    /// One page of the organization's SCPs.
    async fn policies_page(&self, token: Option<String>) -> Result<Found, CloudError> {
        let out = self
            .sent(
                self.org
                    .list_policies()
                    .filter(org::types::PolicyType::ServiceControlPolicy)
                    .max_results(PAGE)
                    .set_next_token(token)
                    .send(),
            )
            .await
            .map_err(|e| classify("ListPolicies", e))?;
        Ok(Found::Policies { summaries: out.policies().to_vec(), next: out.next_token().map(str::to_string) })
    }

    /// A policy's content (DescribePolicy) and targets (ListTargetsForPolicy), each in its turn.
    async fn policy(&self, s: org::types::PolicySummary) -> Result<Found, CloudError> {
        let c = &self.org;
        let id = s.id().unwrap_or_default().to_string();
        let (described, targets) = try_join(
            async {
                self.sent(c.describe_policy().policy_id(&id).send())
                    .await
                    .map_err(|e| classify("DescribePolicy", e))
            },
            async {
                self.sent(
                    c.list_targets_for_policy()
                        .policy_id(&id)
                        .into_paginator()
                        .page_size(PAGE)
                        .send()
                        .try_collect(),
                )
                .await
                .map_err(|e| classify("ListTargetsForPolicy", e))
            },
        )
        .await?;
        let content = described.policy().and_then(|p| p.content()).unwrap_or_default().to_string();
        let target_ids = targets
            .iter()
            .flat_map(|p: &org::operation::list_targets_for_policy::ListTargetsForPolicyOutput| p.targets())
            .filter_map(|t| t.target_id().map(str::to_string))
            .collect();
        Ok(Found::Policy(Policy {
            id,
            name: s.name().unwrap_or_default().to_string(),
            policy_type: s.r#type().map(|t| t.as_str().to_string()).unwrap_or_else(|| SCP.into()),
            aws_managed: s.aws_managed(),
            content,
            target_ids,
            tags: Tags::new(),
        }))
    }

    /// Organizations' ListTagsForResource pages by token only (no page size).
    async fn tags(&self, id: String) -> Result<Found, CloudError> {
        let tags: Vec<org::types::Tag> = self
            .sent(
                self.org
                    .list_tags_for_resource()
                    .resource_id(&id)
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect(),
            )
            .await
            .map_err(|e| classify("ListTagsForResource", e))?;
        Ok(Found::Tags { id, tags: org_tags(&tags) })
    }

    /// The account-creation requests AWS still reports (in progress, and finished ones within
    /// AWS's retention period), one paged listing of the states the planner uses: IN_PROGRESS
    /// (apply resumes them instead of sending CreateAccount again) and FAILED (the plan says
    /// why). SUCCEEDED ones are left out: their accounts are in the tree, and listing them
    /// would cost a page per 20 accounts created within the retention period.
    async fn create_account_requests(&self) -> Result<Found, CloudError> {
        use org::types::CreateAccountState as S;
        let pages: Vec<_> = self
            .sent(
                self.org
                    .list_create_account_status()
                    .set_states(Some(CREATE_ACCOUNT_STATES.iter().map(|s| S::from(*s)).collect()))
                    .into_paginator()
                    .page_size(PAGE)
                    .send()
                    .try_collect(),
            )
            .await
            .map_err(|e| classify("ListCreateAccountStatus", e))?;
        Ok(Found::Requests(
            pages
                .iter()
                .flat_map(|p: &org::operation::list_create_account_status::ListCreateAccountStatusOutput| {
                    p.create_account_statuses()
                })
                .map(|s| CreateAccountRequest {
                    id: s.id().unwrap_or_default().to_string(),
                    account_name: s.account_name().unwrap_or_default().to_string(),
                    state: s.state().map(|x| x.as_str().to_string()).unwrap_or_default(),
                    account_id: s.account_id().map(str::to_string),
                    failure_reason: s.failure_reason().map(|r| r.as_str().to_string()),
                })
                .collect(),
        ))
    }

    // ----------------------------------------------------------------------- the launch path

    /// Service Catalog's AWS Organizations access (one GetAWSOrganizationsAccessStatus; the
    /// caller is the management account or a delegated administrator) and the template bucket
    /// `bucket` (HeadBucket with the caller as expected owner, then its tags, encryption,
    /// public access block and versioning), all in their turns: five or six requests in all.
    pub(super) async fn launch_path(&self, bucket: &str, caller: &str) -> Result<LaunchPath, CloudError> {
        let access = async {
            Ok(self
                .sent(self.sc.get_aws_organizations_access_status().send())
                .await
                .map_err(|e| classify("GetAWSOrganizationsAccessStatus", e))?
                .access_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|| "DISABLED".into()))
        };
        let (access, bucket) = try_join(access, self.bucket(bucket, caller)).await?;
        Ok(LaunchPath {
            servicecatalog_organizations_access: access,
            buckets: bucket.into_iter().collect(),
            roles: vec![],
        })
    }

    /// The launch roles `names` in the reader's account (`account_id`): GetRole (trust policy
    /// and tags) and GetRolePolicy of vend's inline policy, two requests per name, the names at
    /// once; a role that does not exist is left out.
    pub(super) async fn launch_roles(
        &self,
        account_id: &str,
        names: &[String],
    ) -> Result<Vec<LaunchRole>, CloudError> {
        let roles = try_join_all(names.iter().map(|name| self.launch_role(account_id, name))).await?;
        Ok(roles.into_iter().flatten().collect())
    }

    async fn launch_role(&self, account_id: &str, name: &str) -> Result<Option<LaunchRole>, CloudError> {
        let role = match self.sent(self.iam.get_role().role_name(name).send()).await {
            Ok(r) => r,
            Err(e) if e.as_service_error().is_some_and(|x| x.is_no_such_entity_exception()) => {
                return Ok(None);
            }
            Err(e) => return Err(classify("GetRole", e)),
        };
        let Some(role) = role.role() else { return Ok(None) };
        let trust = role.assume_role_policy_document().map(policy_json).unwrap_or_default();
        let policy = match self
            .sent(self.iam.get_role_policy().role_name(name).policy_name(LAUNCH_ROLE_POLICY).send())
            .await
        {
            Ok(p) => crate::model::canonical_json(&policy_json(p.policy_document())),
            Err(e) if e.as_service_error().is_some_and(|x| x.is_no_such_entity_exception()) => String::new(),
            Err(e) => return Err(classify("GetRolePolicy", e)),
        };
        Ok(Some(LaunchRole {
            account_id: account_id.to_string(),
            name: name.to_string(),
            trusts_catalog: crate::model::trusts_catalog(&trust),
            policy,
            tags: role.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect(),
        }))
    }

    /// The bucket `name` as vend needs to know it; `None` when it does not exist.
    async fn bucket(&self, name: &str, caller: &str) -> Result<Option<Bucket>, CloudError> {
        let c = &self.s3;
        let head = self.sent(c.head_bucket().bucket(name).expected_bucket_owner(caller).send()).await;
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
            match self.sent(c.get_bucket_tagging().bucket(name).send()).await {
                Ok(t) => {
                    Ok(t.tag_set().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect())
                }
                Err(e) if code(&e) == "NoSuchTagSet" => Ok(Tags::new()),
                Err(e) => Err(classify("GetBucketTagging", e)),
            }
        };
        let encryption = async {
            match self.sent(c.get_bucket_encryption().bucket(name).send()).await {
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
            match self.sent(c.get_public_access_block().bucket(name).send()).await {
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
            self.sent(c.get_bucket_versioning().bucket(name).send())
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
}

/// The Organizations part of a `State` from what DescribeOrganization and the walk found
/// (Service Catalog parts empty, not yet normalised).
pub(super) fn state_of(described: Described, walked: Walked) -> State {
    let root_policy_ids: Vec<String> = walked
        .policies
        .iter()
        .filter(|p| p.target_ids.contains(&walked.root_id))
        .map(|p| p.id.clone())
        .collect();
    State {
        format_version: FORMAT_VERSION,
        captured_at: String::new(),
        source: "aws".into(),
        organization: Organization {
            id: described.id,
            management_account_id: described.management_account_id,
            root_id: walked.root_id,
            enabled_policy_types: walked.enabled_policy_types,
            root_policy_ids,
        },
        organizational_units: walked.ous,
        accounts: walked.accounts,
        create_account_requests: walked.create_account_requests,
        policies: walked.policies,
        portfolios: vec![],
        products: vec![],
        provisioned_products: vec![],
        launch_path: None,
        templates: vec![],
        access: None,
        digest: None,
    }
}
