//! The AWS backend: `AwsCloud` implements `port::Cloud` over the official AWS SDK for Rust
//! (Organizations, Service Catalog, S3 for templates, STS for identity). It owns a private tokio
//! runtime and blocks on it, so the `Cloud` trait stays synchronous. `read_state` walks the
//! organization and the catalog with the fewest calls the APIs allow (the tree walk, tags, SCPs,
//! catalog and identity overlapped, every request under one bound: `READ_CONCURRENCY`) and converts SDK types into `model::State` here and nowhere else; `call`
//! performs the Organizations, S3 and Service Catalog writes (always with vend's idempotency
//! tokens), and classifies SDK errors into `ErrorKind` per AWS-NOTES. Provisioned products live
//! in their account: they are read, launched, updated and terminated there through the member
//! role (`AwsOptions::member_role_name`, STS AssumeRole). `read_state` visits only the member
//! accounts named by `AwsCloud::set_pipeline_accounts` and those tagged `vend:pipelines=true`
//! (set by apply when it launches a pipeline there), so reading a large organization costs about
//! one request per account (its tags) plus the tree and the SCPs. A provisioned product's launch parameters come from its CloudFormation stack
//! (`DescribeStacks` on the product's `PhysicalId`, in its account): Service Catalog never
//! returns them. Listings ask for pages of 20 (the tree walk page by page, the rest through the
//! SDK's paginators; an empty page that still has a token continues).
//!
//! This file owns `AwsCloud` (its options, clients and routes) and the `port::Cloud` entry
//! points; the work is in `config` (SDK configuration, retries, timeouts), `errors` (SDK errors
//! into `CloudError`), `read` (the state: `read/mod.rs` the organization, `read/catalog.rs`
//! the Service Catalog), `write` and `write_catalog` (the calls), and `access` (issue 18: IAM
//! Identity Center, its identity store and AWS Account Management — `State::access` read within
//! the `AccessScope` of `set_access`, and their writes). Only
//! this module (and `adapter::s3_backend`) imports `aws_sdk_*`.

mod access;
mod config;
mod errors;
mod explain;
mod permission_sets;
mod read;
mod templates;
pub use templates::region_of_url;
mod write;
mod write_catalog;

pub use access::{ACCOUNT_MANAGEMENT_PRINCIPAL, AccessAccount, AccessScope};
pub use config::{READ_ATTEMPTS, behavior_version, load_sdk_config, runtime};
pub use errors::NotRetried;
pub use write::parse_s3_url;

use crate::model::{PIPELINES_TAG, State};

use crate::adapter::credentials::StoredCredentials;
use crate::port::{Cloud, CloudError, ConcurrentCloud, Op, Outcome};
use aws_config::Region;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_organizations as org;
use aws_sdk_servicecatalog as sc;
use config::{CALL_ATTEMPTS, in_workspace_region, org_client, read_retries, retry_partition, s3_client};
use errors::{classify, read_gave_up};
use futures_util::future::{join_all, try_join, try_join_all};
use read::{Reader, provisioned};
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;
use write::Writer;

/// How many requests of one `read_state` are in flight at once, whatever part of the state
/// they read (`read::Reader::turn`; the throttle is shared by the whole account).
pub const READ_CONCURRENCY: usize = 6;
/// Organizations pages at most 20 items; Service Catalog allows the same page size.
const PAGE: i32 = 20;
const SCP: &str = "SERVICE_CONTROL_POLICY";
/// The account-creation request states `read_state` lists (see `Reader::create_account_requests`).
const CREATE_ACCOUNT_STATES: &[&str] = &["IN_PROGRESS", "FAILED"];

/// The role vend assumes in a member account to launch products there (the role AWS
/// Organizations creates in every account it creates).
pub const DEFAULT_MEMBER_ROLE: &str = crate::model::DEFAULT_MEMBER_ROLE;

/// Where and as whom to connect. `None` fields fall back to the standard chain (env vars,
/// `~/.aws/config`, `AWS_ENDPOINT_URL`, …). `Debug` shows no secret (`StoredCredentials`
/// redacts itself).
#[derive(Debug, Clone)]
pub struct AwsOptions {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    /// Static credentials used ahead of the standard chain (`vend auth login` keeps them in the
    /// OS keyring; the caller reads them there): `None` leaves the chain alone.
    pub credentials: Option<StoredCredentials>,
    /// The role assumed (STS AssumeRole) in a member account for its provisioned products.
    pub member_role_name: String,
    /// The workspace's `region` (catalog/vend.yaml), when there is a workspace: the region every
    /// regional client uses (Service Catalog, S3, CloudFormation; Organizations and IAM are
    /// global). A region from `--region`, the profile or the environment that differs is an error
    /// naming both rather than a silent split (resources in one region, their template URLs
    /// naming another).
    pub workspace_region: Option<String>,
    /// The profile the standard chain uses when `profile` is unset (`AWS_PROFILE`, else
    /// `default`), and what the OS keyring of `vend auth login` held for it: both only for the
    /// words of an error (`explain`), set by `flow::auth::resolve`.
    pub profile_name: Option<String>,
    pub keyring_note: Option<String>,
}

impl Default for AwsOptions {
    fn default() -> Self {
        AwsOptions {
            profile: None,
            region: None,
            endpoint_url: None,
            credentials: None,
            member_role_name: DEFAULT_MEMBER_ROLE.into(),
            workspace_region: None,
            profile_name: None,
            keyring_note: None,
        }
    }
}

/// AWS through the SDK, behind the synchronous `Cloud` trait.
pub struct AwsCloud {
    rt: tokio::runtime::Runtime,
    org: org::Client,
    sc: sc::Client,
    s3: aws_sdk_s3::Client,
    /// IAM (global) in the caller's account: launch roles there.
    iam: aws_sdk_iam::Client,
    sts: aws_sdk_sts::Client,
    /// AWS Account Management in the caller's (management) account: alternate contacts.
    account: aws_sdk_account::Client,
    /// The SDK config the clients were built from (for clients with assumed-role credentials).
    conf: aws_config::SdkConfig,
    routes: Routes,
    /// Clients for `read_state`, with the read retry budget (`READ_ATTEMPTS`).
    read: Reader,
    /// Where the profile, region and endpoint came from: the words of errors no retry helps.
    origins: explain::Origins,
}

/// Clients acting in a member account through the member role, and when their credentials
/// expire.
#[derive(Debug, Clone)]
struct Member {
    sc: sc::Client,
    /// IAM in the member account: the launch roles vend manages there.
    iam: aws_sdk_iam::Client,
    /// Service Catalog and CloudFormation there with the read retry budget: for `read_state`.
    read: Reader,
    /// The SDK config with the member role's credentials (Identity Center's clients when this
    /// account is its delegated administrator).
    conf: aws_config::SdkConfig,
    expires: Option<std::time::SystemTime>,
}

/// Where to look (set before a run) and what the adapter learns while it runs (`Learned`,
/// behind a lock: the engine calls from several threads at once).
#[derive(Debug, Default)]
struct Routes {
    member_role_name: String,
    /// The names of the member accounts `read_state` visits (see `AwsCloud::set_pipeline_accounts`).
    pipeline_accounts: BTreeSet<String>,
    /// The workspace's `template_bucket` (`{management}` not yet filled in): the bucket
    /// `read_state` looks up (see `AwsCloud::set_template_bucket`).
    template_bucket: String,
    /// The launch role names `read_state` looks up (see `AwsCloud::set_launch_roles`).
    launch_roles: BTreeSet<String>,
    /// What `read_state` reads of Identity Center and alternate contacts, and where Identity
    /// Center is administered (see `AwsCloud::set_access`).
    access: access::AccessScope,
    /// `vend import`: visit every ACTIVE member account a portfolio is shared with, and skip
    /// (recording it in `unread`) one where the member role cannot be assumed.
    search_shared: bool,
    learned: std::sync::Mutex<Learned>,
}

/// Who the caller is, which account each provisioned product and record lives in (Service
/// Catalog answers for them only in that account), and Service Catalog clients acting in member
/// accounts.
#[derive(Debug, Default)]
struct Learned {
    /// (account id, ARN partition) of the caller.
    caller: Option<(String, String)>,
    /// Provisioned product id -> account id.
    provisioned: HashMap<String, String>,
    /// Record id -> account id.
    records: HashMap<String, String>,
    /// Account id -> clients with credentials of the member role there.
    members: HashMap<String, Member>,
    /// Member accounts `read_state` could not read in `search_shared` mode: (id, why).
    unread: Vec<(String, String)>,
}

impl Routes {
    /// What was learned so far (a short lock, never held across an await; a panic elsewhere
    /// cannot leave a map half-written, so a poisoned lock is taken as it is).
    fn learned(&self) -> std::sync::MutexGuard<'_, Learned> {
        self.learned.lock().unwrap_or_else(|p| p.into_inner())
    }
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
        let conf = rt.block_on(load_sdk_config(&opts));
        // A region that is no region name would only show up as a host name that does not
        // resolve, after a DNS lookup per client: say so before any request.
        if let Some(r) = conf.region()
            && conf.endpoint_url().is_none()
            && !explain::looks_like_region(r.as_ref())
        {
            return Err(explain::not_a_region(&explain::Origins::of(&opts, &conf)));
        }
        let conf = match &opts.workspace_region {
            Some(want) => in_workspace_region(conf, want, &opts)?,
            None => conf,
        };
        let mut cloud = AwsCloud::with_runtime(rt, &conf);
        cloud.origins = explain::Origins::of(&opts, &cloud.conf);
        cloud.routes.member_role_name = opts.member_role_name;
        Ok(cloud)
    }

    /// The member accounts whose provisioned products `read_state` reads, by account NAME as
    /// the workspace knows them: every account named by a pipeline request (baseline pipelines
    /// of account blueprints included; the caller computes the set). `read_state` visits only
    /// the ACTIVE member accounts in this set (one AssumeRole of the member role and one
    /// SearchProvisionedProducts each, plus DescribeStacks per product); the caller's own
    /// account is always read. Without a set, no member account is visited: pipelines in member
    /// accounts are then absent from the state — except in accounts tagged
    /// `vend:pipelines=true` (`model::PIPELINES_TAG`), which are always visited.
    pub fn set_pipeline_accounts(&mut self, names: BTreeSet<String>) {
        self.routes.pipeline_accounts = names;
    }

    /// The bucket product templates go to, as the workspace's `template_bucket` names it
    /// (`{management}` is filled in from the organization): `read_state` looks it up (its
    /// owner, tags, encryption, public access block, versioning). Without it, the default
    /// `vend-templates-{management}`.
    pub fn set_template_bucket(&mut self, pattern: &str) {
        self.routes.template_bucket = pattern.to_string();
    }

    /// The launch roles (portfolios' `launch_role`, and the roles of `catalog/launch_roles/`)
    /// `read_state` looks up in the caller's account and in each member account it visits
    /// (see `set_pipeline_accounts`), with the roles the launch constraints it reads name: two
    /// IAM requests per role and account.
    pub fn set_launch_roles(&mut self, names: BTreeSet<String>) {
        self.routes.launch_roles = names;
    }

    /// Identity Center and alternate contacts (issue 18): the accounts whose assignments and
    /// contacts `read_state` reads (those whose blueprint owns some: one ListAccountAssignments
    /// per owned permission set, one GetAlternateContact per owned contact type), the groups it
    /// looks up, Identity Center's home region and its delegated administrator (reached through
    /// the member role; writes to Identity Center go there too). Without it: the instance, its
    /// permission sets and the trusted access only, in the clients' region.
    pub fn set_access(&mut self, scope: AccessScope) {
        self.routes.access = scope;
    }

    /// `vend import`: `read_state` searches every ACTIVE member account that a portfolio is
    /// shared with (to the organization, an OU above it, or the account) for provisioned
    /// products, as there is no workspace yet to name them; an account where the member role
    /// cannot be assumed is skipped and listed by `unread_accounts`.
    pub fn search_shared_accounts(&mut self) {
        self.routes.search_shared = true;
    }

    /// The member accounts the last `read_state` could not search (`search_shared_accounts`):
    /// (account id, the error).
    pub fn unread_accounts(&self) -> Vec<(String, String)> {
        self.routes.learned().unread.clone()
    }

    /// The region the regional clients use.
    pub fn region(&self) -> Option<String> {
        self.conf.region().map(|r| r.to_string())
    }

    /// Use `role` (instead of `OrganizationAccountAccessRole`) in member accounts.
    pub fn with_member_role_name(mut self, role: &str) -> AwsCloud {
        self.routes.member_role_name = role.to_string();
        self
    }

    /// Build the clients from a ready SDK config (tests: static credentials, an emulator
    /// endpoint), adding vend's timeouts and retry mode and the `us-east-1` region default.
    pub fn from_sdk_config(conf: &aws_config::SdkConfig) -> Result<AwsCloud, CloudError> {
        Ok(AwsCloud::with_runtime(runtime()?, conf))
    }

    fn with_runtime(rt: tokio::runtime::Runtime, conf: &aws_config::SdkConfig) -> AwsCloud {
        let mut b = conf
            .to_builder()
            .retry_config(RetryConfig::standard().with_max_attempts(CALL_ATTEMPTS))
            .timeout_config(
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
        AwsCloud {
            org: org_client(&conf, RetryConfig::standard().with_max_attempts(CALL_ATTEMPTS)),
            sc: sc::Client::from_conf(
                sc::config::Builder::from(&conf)
                    .retry_partition(retry_partition())
                    .retry_classifier(NotRetried)
                    .build(),
            ),
            s3: s3_client(&conf, RetryConfig::standard().with_max_attempts(CALL_ATTEMPTS)),
            iam: aws_sdk_iam::Client::from_conf(
                aws_sdk_iam::config::Builder::from(&conf)
                    .retry_partition(retry_partition())
                    .retry_classifier(NotRetried)
                    .build(),
            ),
            // GetCallerIdentity and AssumeRole: reads, also made by `read_state`.
            sts: aws_sdk_sts::Client::from_conf(
                aws_sdk_sts::config::Builder::from(&conf)
                    .retry_config(read_retries())
                    .retry_partition(retry_partition())
                    .retry_classifier(NotRetried)
                    .build(),
            ),
            account: access::account_client(&conf, RetryConfig::standard().with_max_attempts(CALL_ATTEMPTS)),
            read: Reader::new(&conf),
            origins: explain::Origins::default(),
            conf,
            routes: Routes {
                member_role_name: DEFAULT_MEMBER_ROLE.into(),
                template_bucket: crate::model::Settings::default().template_bucket,
                ..Routes::default()
            },
            rt,
        }
    }

    /// Only the Organizations part of the state (no Service Catalog calls): for diagnosis, and
    /// for endpoints without Service Catalog.
    pub fn read_organizations(&mut self) -> Result<State, CloudError> {
        let reader = self.read.clone();
        self.rt
            .block_on(async move {
                let mut s = reader.organizations().await.map_err(read_gave_up)?;
                s.normalize();
                Ok(s)
            })
            .map_err(|e| self.explained(e))
    }

    /// The account id of the caller (STS GetCallerIdentity).
    pub fn caller_account(&mut self) -> Result<String, CloudError> {
        Ok(self.caller_identity()?.account)
    }

    /// Who vend acts as (STS GetCallerIdentity): for the audit log.
    pub fn caller_identity(&mut self) -> Result<CallerIdentity, CloudError> {
        let sts = self.sts.clone();
        let id = self
            .rt
            .block_on(async move {
                let out =
                    sts.get_caller_identity().send().await.map_err(|e| classify("GetCallerIdentity", e))?;
                Ok::<_, CloudError>(CallerIdentity {
                    account: out.account().unwrap_or_default().to_string(),
                    arn: out.arn().unwrap_or_default().to_string(),
                    user_id: out.user_id().unwrap_or_default().to_string(),
                })
            })
            .map_err(|e| self.explained(e))?;
        tracing::debug!(account = %id.account, arn = %id.arn, "AWS caller identity");
        self.routes.learned().caller = Some((id.account.clone(), partition_of(&id.arn)));
        Ok(id)
    }
}

/// The identity behind the credentials (STS GetCallerIdentity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    pub account: String,
    pub arn: String,
    pub user_id: String,
}

/// `aws` from `arn:aws:iam::…` (`aws-cn`, `aws-us-gov`, …); `aws` when it cannot be read.
fn partition_of(arn: &str) -> String {
    arn.split(':').nth(1).filter(|p| !p.is_empty()).unwrap_or("aws").to_string()
}

impl AwsCloud {
    /// `e` in human terms when no retry helps it (`explain`).
    fn explained(&self, e: CloudError) -> CloudError {
        explain::explain(e, &self.origins)
    }

    /// The runtime, and a `Writer` over the caller's clients and the routes.
    fn writer(&self) -> (&tokio::runtime::Runtime, Writer<'_>) {
        let w = Writer {
            org: self.org.clone(),
            sc: self.sc.clone(),
            s3: self.s3.clone(),
            iam: self.iam.clone(),
            sts: self.sts.clone(),
            account: self.account.clone(),
            conf: &self.conf,
            routes: &self.routes,
        };
        (&self.rt, w)
    }

    /// One write (or poll), on the runtime; any number at once from several threads.
    fn perform(&self, op: &Op) -> Result<Outcome, CloudError> {
        let (rt, mut w) = self.writer();
        let name = op.name();
        tracing::debug!(op = %name, "AWS write");
        let result = rt.block_on(w.call(op)).map_err(|e| self.explained(e));
        match &result {
            Ok(o) => tracing::debug!(
                op = %name,
                request_id = %o.request_id,
                id = o.id.as_deref().unwrap_or(""),
                status = o.status.as_deref().unwrap_or(""),
                "AWS write done"
            ),
            Err(e) => tracing::debug!(op = %name, code = %e.code, kind = ?e.kind, "AWS write failed"),
        }
        result
    }
}

impl ConcurrentCloud for AwsCloud {
    fn call(&self, op: &Op) -> Result<Outcome, CloudError> {
        self.perform(op)
    }
}

impl Cloud for AwsCloud {
    fn read_state(&mut self) -> Result<State, CloudError> {
        let reader = self.read.clone();
        let (rt, mut w) = self.writer();
        rt.block_on(async move {
            // Everything that needs nothing else, at once and under one bound (`Reader::turn`):
            // the organization walk, the catalog, and who the caller is. Then the launch path
            // (its bucket is named after the management account): S3 is asked only once the
            // organization has been read, so a read that fails there sends nothing to S3.
            let caller = async {
                let _turn = reader.turn().await;
                w.caller().await
            };
            let ((described, (me, partition)), (walked, (portfolios, products, provisioned_here))) = try_join(
                try_join(reader.describe_organization(), caller),
                try_join(reader.walk(), reader.catalog()),
            )
            .await
            .map_err(read_gave_up)?;
            let bucket = w.routes.template_bucket.replace("{management}", &described.management_account_id);
            let mut state = read::state_of(described, walked);
            // Identity Center and contacts (issue 18) alongside the launch path.
            let scope = w.routes.access.clone();
            let ic_conf = w.identity_conf(&scope).await;
            let access = async {
                let ic = access::IdentityClients::for_reads(&ic_conf?, scope.region.as_deref());
                access::read(&reader, &ic, &scope, &state, &me).await.map(Some)
            };
            let access = async {
                match access.await {
                    // A workspace that declares no access or contact reads as before when the
                    // caller may not read Identity Center (or there is none to ask).
                    Err(e) if scope.is_empty() && e.kind == crate::port::ErrorKind::Hard => {
                        tracing::debug!(code = %e.code, error = %e.message, "Identity Center and contacts not read");
                        Ok(None)
                    }
                    other => other.map_err(read_gave_up),
                }
            };
            let (path, access) =
                try_join(async { reader.launch_path(&bucket, &me).await.map_err(read_gave_up) }, access).await?;
            state.access = access;
            state.portfolios = portfolios;
            state.products = products;
            state.provisioned_products = provisioned_here;
            state.launch_path = Some(path);
            // Provisioned products live in the account they were launched in: ask the member
            // accounts vend has pipelines for (through the member role), and only those.
            let shared = if w.routes.search_shared { shared_accounts(&state) } else { BTreeSet::new() };
            // Accounts vend has (or will have) pipelines in, as opposed to those only searched.
            let named = |a: &crate::model::Account| {
                w.routes.pipeline_accounts.contains(&a.name)
                    || a.tags.get(PIPELINES_TAG).is_some_and(|v| v == "true")
            };
            let launching: BTreeSet<String> = state.accounts.iter().filter(|a| named(a)).map(|a| a.id.clone()).collect();
            let members: Vec<(String, String)> = state
                .accounts
                .iter()
                .filter(|a| a.id != me && a.state == "ACTIVE" && (named(a) || shared.contains(&a.id)))
                .map(|a| (a.id.clone(), a.name.clone()))
                .collect();
            // The member role in each of them, in their turns (an import searches hundreds); in
            // account order, so what is reported does not depend on timing.
            let assumed: Vec<(String, String, Result<Member, CloudError>)> = {
                let (sts, conf, role) = (w.sts.clone(), w.conf, w.routes.member_role_name.clone());
                let (sts, role, partition, reader) = (&sts, &role, &partition, &reader);
                let cached: HashMap<String, Member> =
                    members.iter().filter_map(|(a, _)| w.cached_member(a).map(|m| (a.clone(), m))).collect();
                join_all(members.into_iter().map(|(account, name)| {
                    let cached = cached.get(&account).cloned();
                    async move {
                        let m = match cached {
                            Some(m) => Ok(m),
                            None => reader.sent(write::assume_member(sts, conf, partition, role, &account)).await,
                        };
                        (account, name, m)
                    }
                }))
                .await
            };
            let mut clients = vec![];
            w.routes.learned().unread.clear();
            for (account, name, m) in assumed {
                if let Ok(m) = &m {
                    w.routes.learned().members.insert(account.clone(), m.clone());
                }
                if w.routes.search_shared
                    && let Err(e) = &m
                {
                    w.routes.learned().unread.push((account.clone(), format!("{name}: {}", e.message)));
                    continue;
                }
                let m = m.map_err(|e| {
                    let e = read_gave_up(e);
                    let role = format!("arn:{partition}:iam::{account}:role/{}", w.routes.member_role_name);
                    CloudError {
                        message: format!(
                            "account {account} ({name}) has pipeline requests or vend-launched pipelines, but vend cannot act there as {role} (reading its provisioned products, and launching them, needs that role): {}",
                            e.message
                        ),
                        ..e
                    }
                })?;
                // Its reads take their turns with the rest of this read.
                clients.push((account, m.read.sharing_turns_of(&reader)));
            }
            let found = try_join_all(clients.iter().map(|(account, r)| async move {
                let mut pps = provisioned(r).await.map_err(read_gave_up)?;
                for p in &mut pps {
                    if p.account_id.is_empty() {
                        p.account_id = account.clone();
                    }
                }
                Ok::<_, CloudError>(pps)
            }))
            .await?;
            for pps in found {
                state.provisioned_products.extend(pps);
            }
            // Launch roles: the workspace's, and those the launch constraints name (a role a
            // constraint used before may be vend's to remove), in the caller's account and in
            // the member accounts just visited (the accounts vend launches into).
            let mut names = w.routes.launch_roles.clone();
            for p in &state.portfolios {
                names.extend(p.launch_constraints.iter().map(|c| c.local_role_name.clone()));
            }
            let names: Vec<String> = names.into_iter().collect();
            if !names.is_empty() {
                // An account only searched (`search_shared_accounts`) matters only where it has
                // provisioned products: a plan of the workspace an import writes visits just those.
                let with_products: BTreeSet<&str> =
                    state.provisioned_products.iter().map(|p| p.account_id.as_str()).collect();
                let mut readers = vec![(me.clone(), reader.clone())];
                readers.extend(
                    clients
                        .iter()
                        .filter(|(a, _)| launching.contains(a) || with_products.contains(a.as_str()))
                        .cloned(),
                );
                let names = &names;
                let roles = try_join_all(readers.iter().map(|(account, r)| async move {
                    r.launch_roles(account, names).await.map_err(read_gave_up)
                }))
                .await?;
                if let Some(lp) = &mut state.launch_path {
                    lp.roles = roles.into_iter().flatten().collect();
                }
            }
            for p in &state.provisioned_products {
                w.routes.learned().provisioned.insert(p.id.clone(), p.account_id.clone());
            }
            state.normalize();
            tracing::debug!(
                accounts = state.accounts.len(),
                ous = state.organizational_units.len(),
                policies = state.policies.len(),
                portfolios = state.portfolios.len(),
                products = state.products.len(),
                provisioned_products = state.provisioned_products.len(),
                "read the state from AWS"
            );
            Ok(state)
        })
        .map_err(|e| self.explained(e))
    }

    fn call(&mut self, op: &Op) -> Result<Outcome, CloudError> {
        self.perform(op)
    }

    fn concurrent(&self) -> Option<&dyn ConcurrentCloud> {
        Some(self)
    }
}

/// The ids of the accounts a portfolio of `state` is shared with: every account for an
/// organization share, the accounts below a shared OU (at any depth), a shared account.
fn shared_accounts(state: &State) -> BTreeSet<String> {
    let parent: HashMap<&str, &str> =
        state.organizational_units.iter().map(|o| (o.id.as_str(), o.parent_id.as_str())).collect();
    let mut out = BTreeSet::new();
    for share in state.portfolios.iter().flat_map(|p| &p.shares) {
        match share.share_type.as_str() {
            "ORGANIZATION" => out.extend(state.accounts.iter().map(|a| a.id.clone())),
            "ACCOUNT" => {
                out.insert(share.value.clone());
            }
            _ => {
                for a in &state.accounts {
                    let mut at = a.parent_id.as_str();
                    for _ in 0..8 {
                        if at == share.value {
                            out.insert(a.id.clone());
                            break;
                        }
                        match parent.get(at) {
                            Some(p) => at = p,
                            None => break,
                        }
                    }
                }
            }
        }
    }
    out
}
