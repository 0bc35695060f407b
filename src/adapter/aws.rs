//! The AWS backend: `AwsCloud` implements `port::Cloud` over the official AWS SDK for Rust
//! (Organizations, Service Catalog, S3 for templates, STS for identity). It owns a private tokio
//! runtime and blocks on it, so the `Cloud` trait stays synchronous. `read_state` walks the
//! organization and the catalog with the fewest calls the APIs allow (bounded concurrency for
//! per-resource calls) and converts SDK types into `model::State` here and nowhere else; `call`
//! performs the Organizations, S3 and Service Catalog writes (always with vend's idempotency
//! tokens), and classifies SDK errors into `ErrorKind` per AWS-NOTES. Provisioned products live
//! in their account: they are read, launched, updated and terminated there through the member
//! role (`AwsOptions::member_role_name`, STS AssumeRole). `read_state` visits only the member
//! accounts named by `AwsCloud::set_pipeline_accounts` and those tagged `vend:pipelines=true`
//! (set by apply when it launches a pipeline there), so reading a large organization costs about
//! one request per account (its tags) plus the tree and the SCPs. A provisioned product's launch parameters come from its CloudFormation stack
//! (`DescribeStacks` on the product's `PhysicalId`, in its account): Service Catalog never
//! returns them. Listings use the SDK's paginators with pages of 20 (an empty page that still
//! has a token continues).

use crate::model::{
    Account, CreateAccountRequest, FORMAT_VERSION, LaunchConstraint, OrgUnit, Organization, PIPELINES_TAG,
    Policy, Portfolio, Principal, Product, ProductVersion, ProvisionedProduct, Share, State, Tags,
};

use crate::adapter::credentials::StoredCredentials;
use crate::port::{ArtifactSpec, Cloud, CloudError, ErrorKind, Op, Outcome};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_cloudformation as cfn;
use aws_sdk_organizations as org;
use aws_sdk_servicecatalog as sc;
use futures_util::future::try_join;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use org::config::http::HttpResponse;
use org::error::{ProvideErrorMetadata, SdkError};
use std::collections::{BTreeMap, BTreeSet, HashMap};
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
/// The account-creation request states `read_state` lists (see `Reader::create_account_requests`).
const CREATE_ACCOUNT_STATES: &[&str] = &["IN_PROGRESS", "FAILED"];

/// The role vend assumes in a member account to launch products there (the role AWS
/// Organizations creates in every account it creates).
pub const DEFAULT_MEMBER_ROLE: &str = "OrganizationAccountAccessRole";

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
}

impl Default for AwsOptions {
    fn default() -> Self {
        AwsOptions {
            profile: None,
            region: None,
            endpoint_url: None,
            credentials: None,
            member_role_name: DEFAULT_MEMBER_ROLE.into(),
        }
    }
}

/// AWS through the SDK, behind the synchronous `Cloud` trait.
pub struct AwsCloud {
    rt: tokio::runtime::Runtime,
    org: org::Client,
    sc: sc::Client,
    s3: aws_sdk_s3::Client,
    sts: aws_sdk_sts::Client,
    /// The SDK config the clients were built from (for clients with assumed-role credentials).
    conf: aws_config::SdkConfig,
    routes: Routes,
    /// Clients for `read_state`, with the read retry budget (`READ_ATTEMPTS`).
    read: Reader,
}

/// Clients acting in a member account through the member role, and when their credentials
/// expire.
#[derive(Debug, Clone)]
struct Member {
    sc: sc::Client,
    /// Service Catalog and CloudFormation there with the read retry budget: for `read_state`.
    read: Reader,
    expires: Option<std::time::SystemTime>,
}

/// What the adapter learns while it runs: who the caller is, which account each provisioned
/// product and record lives in (Service Catalog answers for them only in that account), and
/// Service Catalog clients acting in member accounts.
#[derive(Debug, Default)]
struct Routes {
    member_role_name: String,
    /// (account id, ARN partition) of the caller.
    caller: Option<(String, String)>,
    /// Provisioned product id -> account id.
    provisioned: HashMap<String, String>,
    /// Record id -> account id.
    records: HashMap<String, String>,
    /// Account id -> clients with credentials of the member role there.
    members: HashMap<String, Member>,
    /// The names of the member accounts `read_state` visits (see `AwsCloud::set_pipeline_accounts`).
    pipeline_accounts: BTreeSet<String>,
    /// EnableAWSOrganizationsAccess is known to be on.
    org_access: bool,
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
        let mut cloud = AwsCloud::with_runtime(rt, &conf);
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
        // A custom endpoint (an emulator) cannot serve virtual-hosted bucket names.
        let custom_endpoint = conf.endpoint_url().is_some();
        let s3_conf = aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(custom_endpoint)
            .retry_partition(retry_partition())
            .build();
        AwsCloud {
            org: org_client(&conf, RetryConfig::standard().with_max_attempts(CALL_ATTEMPTS)),
            sc: sc::Client::from_conf(
                sc::config::Builder::from(&conf).retry_partition(retry_partition()).build(),
            ),
            s3: aws_sdk_s3::Client::from_conf(s3_conf),
            // GetCallerIdentity and AssumeRole: reads, also made by `read_state`.
            sts: aws_sdk_sts::Client::from_conf(
                aws_sdk_sts::config::Builder::from(&conf)
                    .retry_config(read_retries())
                    .retry_partition(retry_partition())
                    .build(),
            ),
            read: Reader::new(&conf),
            conf,
            routes: Routes { member_role_name: DEFAULT_MEMBER_ROLE.into(), ..Routes::default() },
            rt,
        }
    }

    /// Only the Organizations part of the state (no Service Catalog calls): for diagnosis, and
    /// for endpoints without Service Catalog.
    pub fn read_organizations(&mut self) -> Result<State, CloudError> {
        let reader = self.read.clone();
        self.rt.block_on(async move {
            let mut s = reader.organizations().await.map_err(read_gave_up)?;
            s.normalize();
            Ok(s)
        })
    }

    /// The account id of the caller (STS GetCallerIdentity).
    pub fn caller_account(&mut self) -> Result<String, CloudError> {
        Ok(self.caller_identity()?.account)
    }

    /// Who vend acts as (STS GetCallerIdentity): for the audit log.
    pub fn caller_identity(&mut self) -> Result<CallerIdentity, CloudError> {
        let sts = self.sts.clone();
        let id = self.rt.block_on(async move {
            let out = sts.get_caller_identity().send().await.map_err(|e| classify("GetCallerIdentity", e))?;
            Ok::<_, CloudError>(CallerIdentity {
                account: out.account().unwrap_or_default().to_string(),
                arn: out.arn().unwrap_or_default().to_string(),
                user_id: out.user_id().unwrap_or_default().to_string(),
            })
        })?;
        tracing::debug!(account = %id.account, arn = %id.arn, "AWS caller identity");
        self.routes.caller = Some((id.account.clone(), partition_of(&id.arn)));
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

impl Cloud for AwsCloud {
    fn read_state(&mut self) -> Result<State, CloudError> {
        let AwsCloud { rt, org, sc, s3, sts, conf, routes, read } = self;
        let mut w =
            Writer { org: org.clone(), sc: sc.clone(), s3: s3.clone(), sts: sts.clone(), conf, routes };
        let reader = read.clone();
        rt.block_on(async move {
            let mut state = reader.state().await.map_err(read_gave_up)?;
            // Provisioned products live in the account they were launched in: ask the member
            // accounts vend has pipelines for (through the member role), and only those.
            let (me, partition) = w.caller().await.map_err(read_gave_up)?;
            let members: Vec<(String, String)> = state
                .accounts
                .iter()
                .filter(|a| {
                    a.id != me
                        && a.state == "ACTIVE"
                        && (w.routes.pipeline_accounts.contains(&a.name)
                            || a.tags.get(PIPELINES_TAG).is_some_and(|v| v == "true"))
                })
                .map(|a| (a.id.clone(), a.name.clone()))
                .collect();
            let mut clients = vec![];
            for (account, name) in members {
                let m = w.member(&account).await.map_err(|e| {
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
                clients.push((account, m));
            }
            let found = each(clients, |(account, m)| async move {
                let mut pps = provisioned(&m.read.sc, &m.read.cfn).await.map_err(read_gave_up)?;
                for p in &mut pps {
                    if p.account_id.is_empty() {
                        p.account_id = account.clone();
                    }
                }
                Ok(pps)
            })
            .await?;
            for pps in found {
                state.provisioned_products.extend(pps);
            }
            for p in &state.provisioned_products {
                w.routes.provisioned.insert(p.id.clone(), p.account_id.clone());
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
    }

    fn call(&mut self, op: &Op) -> Result<Outcome, CloudError> {
        let AwsCloud { rt, org, sc, s3, sts, conf, routes, .. } = self;
        let mut w =
            Writer { org: org.clone(), sc: sc.clone(), s3: s3.clone(), sts: sts.clone(), conf, routes };
        let name = op.name();
        tracing::debug!(op = %name, "AWS write");
        let result = rt.block_on(w.call(op));
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

/// Retry the Organizations errors that mean "not now" and that the SDK does not retry by
/// itself (AWS-NOTES): ConcurrentModification, PolicyChangesInProgress, FinalizingOrganization.
/// They are rejections (nothing was done), so a retry is safe for every operation; CreateAccount
/// and MoveAccount are retried by the SDK only for these rejections (`OnlyRejections`).
#[derive(Debug)]
struct RejectedByOrganizations;

impl org::config::retry::ClassifyRetry for RejectedByOrganizations {
    fn classify_retry(
        &self,
        ctx: &org::config::interceptors::InterceptorContext,
    ) -> org::config::retry::RetryAction {
        use org::config::retry::RetryAction;
        let Some(resp) = ctx.response() else { return RetryAction::NoActionIndicated };
        if resp.status().as_u16() != 400 {
            return RetryAction::NoActionIndicated;
        }
        // The code is in the `x-amzn-ErrorType` header or the body's `__type`, either plain or
        // prefixed (`…#ConcurrentModificationException`, `…:http://…` suffixes stripped).
        let from_header = resp.headers().get("x-amzn-ErrorType").map(str::to_string);
        let from_body = || {
            let v: serde_json::Value = serde_json::from_slice(resp.body().bytes()?).ok()?;
            v.get("__type").and_then(|t| t.as_str()).map(str::to_string)
        };
        let Some(code) = from_header.or_else(from_body) else { return RetryAction::NoActionIndicated };
        let code = code.split(':').next().unwrap_or_default();
        let code = code.rsplit('#').next().unwrap_or_default();
        match code {
            "ConcurrentModificationException"
            | "PolicyChangesInProgressException"
            | "FinalizingOrganizationException" => {
                tracing::debug!(
                    code,
                    "Organizations turned the request away; the SDK retries it after a backoff"
                );
                RetryAction::retryable_error(aws_config::retry::ErrorKind::ThrottlingError)
            }
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "vend: Organizations rejections"
    }
}

/// SDK attempts per call (standard mode: exponential backoff with jitter) for writes and for the
/// reads the engine makes while it applies (status polls, reconciliation): the engine's own loop
/// (`engine::Options::max_attempts`) runs around every call, so one operation is sent at most
/// `CALL_ATTEMPTS` × `max_attempts` times. CreateAccount and MoveAccount too, but the SDK retries
/// them only when they were turned away (`OnlyRejections`).
const CALL_ATTEMPTS: u32 = 3;
/// SDK attempts per call of `read_state`: no engine loop runs around a read of the state, and
/// reads are safe to repeat, so they get more, with the backoff capped at `READ_MAX_BACKOFF` so
/// that all of them fit in the 90 s operation timeout. When they run out, the read fails the
/// command (`read_gave_up`): a state with a part missing is never returned.
pub const READ_ATTEMPTS: u32 = 10;
const READ_MAX_BACKOFF: Duration = Duration::from_secs(8);

fn read_retries() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(READ_ATTEMPTS).with_max_backoff(READ_MAX_BACKOFF)
}

/// vend's retry budget is the number of attempts, never the SDK's retry quota. The SDK's
/// standard mode also draws every retry from a token bucket shared by the whole process (500
/// tokens, 5 per throttled retry); an empty bucket makes the SDK give up after one attempt and
/// say so only in a debug log, so a wide read under throttling would silently cut every later
/// call's retries. vend's load is one process with sequential writes and at most
/// `READ_CONCURRENCY` reads in flight — not the fleet of clients the quota protects AWS from —
/// so its clients use their own partition with an unlimited bucket: each call gets exactly its
/// attempts, with backoff.
fn retry_partition() -> org::config::retry::RetryPartition {
    org::config::retry::RetryPartition::custom("vend")
        .token_bucket(org::config::retry::TokenBucket::unlimited())
        .build()
}

/// An Organizations client with vend's classifier, retry partition and retries.
fn org_client(conf: &aws_config::SdkConfig, retries: RetryConfig) -> org::Client {
    org::Client::from_conf(
        org::config::Builder::from(conf)
            .retry_classifier(RejectedByOrganizations)
            .retry_config(retries)
            .retry_partition(retry_partition())
            .build(),
    )
}

/// A read of the state that failed although it may be retried: say that the retries ran out
/// (the call is named in the error's message) and that no partial state is used. The SDK makes
/// all `READ_ATTEMPTS` for throttling and server errors; an error it does not classify as
/// retryable ends sooner, hence "up to". A rule or a missing resource (`Hard`) is returned as
/// it is.
fn read_gave_up(e: CloudError) -> CloudError {
    match e.kind {
        ErrorKind::Hard => e,
        _ => CloudError {
            message: format!(
                "{} (gave up after the SDK's retries, up to {READ_ATTEMPTS} attempts; the state was not read and nothing was written)",
                e.message
            ),
            ..e
        },
    }
}

/// The SDK configuration the options describe: the standard chain (profile, region, endpoint),
/// before vend's timeouts and retry mode. Every AWS client vend builds starts from this.
/// Credentials in `opts.credentials` (from the OS keyring) replace the chain's credential
/// providers; region and endpoint still come from the profile and environment as usual.
pub async fn load_sdk_config(opts: &AwsOptions) -> aws_config::SdkConfig {
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
    if let Some(c) = &opts.credentials {
        let expires = c.expiration.map(std::time::SystemTime::from);
        loader = loader.credentials_provider(aws_sdk_sts::config::Credentials::new(
            c.access_key_id.clone(),
            c.secret_access_key.clone(),
            c.session_token.clone(),
            expires,
            "vend-os-keyring",
        ));
    }
    tracing::debug!(
        profile = opts.profile.as_deref().unwrap_or("(default)"),
        region = opts.region.as_deref().unwrap_or("(from the profile or environment)"),
        endpoint = opts.endpoint_url.as_deref().unwrap_or("(default)"),
        credentials = if opts.credentials.is_some() { "OS keyring" } else { "default chain" },
        "loading the AWS SDK configuration"
    );
    loader.load().await
}

/// A small multi-threaded runtime for the synchronous adapters' SDK calls.
pub fn runtime() -> Result<tokio::runtime::Runtime, CloudError> {
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
    let e = classify_error(op, &err);
    tracing::debug!(
        op,
        code = %e.code,
        kind = ?e.kind,
        request_id = org::operation::RequestId::request_id(&err).unwrap_or(""),
        "AWS call failed"
    );
    e
}

fn classify_error<E>(op: &str, err: &SdkError<E, HttpResponse>) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let unknown =
        |code: &str, what: String| CloudError { kind: ErrorKind::Unknown, code: code.into(), message: what };
    match err {
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
        SdkError::ConstructionFailure(_) => {
            CloudError::hard("InvalidRequest", format!("{op}: the request could not be built: {}", full(err)))
        }
        SdkError::ResponseError(r) => {
            let status = r.raw().status().as_u16();
            if status >= 500 {
                unknown(
                    &format!("HTTP{status}"),
                    format!(
                        "{op}: the endpoint answered HTTP {status} with no AWS error (an emulator that does not implement {op}?)"
                    ),
                )
            } else {
                unknown(
                    "InvalidResponse",
                    format!("{op}: unreadable response (HTTP {status}): {}", full(err)),
                )
            }
        }
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            let e = s.err();
            let code = e.code().map(str::to_string);
            let mut message = e.message().unwrap_or_default().to_string();
            // Organizations says *which* rule failed in the body's `Reason`
            // (ConstraintViolationException: OU_DEPTH_LIMIT_EXCEEDED, …); the generic error
            // metadata drops it.
            if let Some(reason) = body_reason(s.raw().body().bytes())
                && !message.contains(&reason)
            {
                message = format!("{message} (reason: {reason})");
            }
            match code {
                Some(code) => {
                    // Turned away without being carried out: safe to send again.
                    let rejected = matches!(
                        code.as_str(),
                        "TooManyRequestsException"
                            | "ThrottlingException"
                            | "Throttling"
                            | "SlowDown"
                            | "ConcurrentModificationException"
                            | "PolicyChangesInProgressException"
                            | "FinalizingOrganizationException"
                    );
                    // A server error may hide a request that was carried out.
                    let kind = if rejected {
                        ErrorKind::Retryable
                    } else if status >= 500
                        || matches!(
                            code.as_str(),
                            "ServiceException" | "InternalError" | "ServiceUnavailable"
                        )
                    {
                        ErrorKind::Unknown
                    } else {
                        ErrorKind::Hard
                    };
                    CloudError { kind, code, message: format!("{op}: {message}") }
                }
                None if status >= 500 => unknown(
                    &format!("HTTP{status}"),
                    format!(
                        "{op}: the endpoint answered HTTP {status} with no AWS error code (an emulator that does not implement {op}?)"
                    ),
                ),
                None => CloudError::hard(&format!("HTTP{status}"), format!("{op}: {}", full(err))),
            }
        }
        _ => unknown("Unknown", format!("{op}: {}", full(err))),
    }
}

/// The `Reason` field of a JSON error body, if any.
fn body_reason(body: Option<&[u8]>) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body?).ok()?;
    v.get("Reason").and_then(|r| r.as_str()).filter(|r| !r.is_empty()).map(str::to_string)
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

#[derive(Debug, Clone)]
struct Reader {
    org: org::Client,
    sc: sc::Client,
    cfn: cfn::Client,
}

impl Reader {
    /// Clients for reading the state: `READ_ATTEMPTS` per call, vend's retry partition.
    fn new(conf: &aws_config::SdkConfig) -> Reader {
        Reader {
            org: org_client(conf, read_retries()),
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
            digest: None,
        })
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
async fn provisioned(sc: &sc::Client, cfn: &cfn::Client) -> Result<Vec<ProvisionedProduct>, CloudError> {
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

// ------------------------------------------------------------------------------------ writes

struct Writer<'a> {
    org: org::Client,
    sc: sc::Client,
    s3: aws_sdk_s3::Client,
    sts: aws_sdk_sts::Client,
    conf: &'a aws_config::SdkConfig,
    routes: &'a mut Routes,
}

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

fn guidance(g: &str) -> sc::types::ProvisioningArtifactGuidance {
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
    /// The caller's account id and partition (GetCallerIdentity once).
    async fn caller(&mut self) -> Result<(String, String), CloudError> {
        if let Some(c) = &self.routes.caller {
            return Ok(c.clone());
        }
        let out =
            self.sts.get_caller_identity().send().await.map_err(|e| classify("GetCallerIdentity", e))?;
        let c = (out.account().unwrap_or_default().to_string(), partition_of(out.arn().unwrap_or_default()));
        self.routes.caller = Some(c.clone());
        Ok(c)
    }

    /// A Service Catalog client acting in `account`: the caller's own client, or one with the
    /// member role's credentials there (assumed again when they are about to expire).
    async fn client_for(&mut self, account: &str) -> Result<sc::Client, CloudError> {
        let (me, _) = self.caller().await?;
        if account.is_empty() || account == me {
            return Ok(self.sc.clone());
        }
        Ok(self.member(account).await?.sc)
    }

    /// Service Catalog and CloudFormation clients acting in the member account `account` with
    /// the member role's credentials (STS AssumeRole once, again when they are about to expire).
    async fn member(&mut self, account: &str) -> Result<Member, CloudError> {
        let (_, partition) = self.caller().await?;
        let soon = std::time::SystemTime::now() + Duration::from_secs(300);
        if let Some(m) = self.routes.members.get(account)
            && m.expires.is_none_or(|e| e > soon)
        {
            return Ok(m.clone());
        }
        let role = format!("arn:{partition}:iam::{account}:role/{}", self.routes.member_role_name);
        let out = self
            .sts
            .assume_role()
            .role_arn(&role)
            .role_session_name("vend")
            .send()
            .await
            .map_err(|e| classify("AssumeRole", e))?;
        let creds = out.credentials().ok_or_else(|| {
            CloudError::hard("AssumeRole", format!("AssumeRole {role}: no credentials in the answer"))
        })?;
        let expires = std::time::SystemTime::try_from(*creds.expiration()).ok();
        let provider = sc::config::Credentials::new(
            creds.access_key_id(),
            creds.secret_access_key(),
            Some(creds.session_token().to_string()),
            expires,
            "vend-member-role",
        );
        let conf = self
            .conf
            .to_builder()
            .credentials_provider(sc::config::SharedCredentialsProvider::new(provider))
            .build();
        let m = Member {
            sc: sc::Client::from_conf(
                sc::config::Builder::from(&conf).retry_partition(retry_partition()).build(),
            ),
            read: Reader::new(&conf),
            expires,
        };
        self.routes.members.insert(account.to_string(), m.clone());
        Ok(m)
    }

    /// The client for a provisioned product (its account, when known).
    async fn client_for_provisioned(&mut self, pp_id: &str) -> Result<sc::Client, CloudError> {
        let account = self.routes.provisioned.get(pp_id).cloned().unwrap_or_default();
        self.client_for(&account).await
    }

    async fn ensure_org_access(&mut self) -> Result<(), CloudError> {
        if self.routes.org_access {
            return Ok(());
        }
        let status = self
            .sc
            .get_aws_organizations_access_status()
            .send()
            .await
            .map_err(|e| classify("GetAWSOrganizationsAccessStatus", e))?;
        if status.access_status().map(|s| s.as_str()) != Some("ENABLED") {
            self.sc
                .enable_aws_organizations_access()
                .send()
                .await
                .map_err(|e| classify("EnableAWSOrganizationsAccess", e))?;
        }
        self.routes.org_access = true;
        Ok(())
    }

    fn artifact_props(v: &ArtifactSpec) -> sc::types::ProvisioningArtifactProperties {
        sc::types::ProvisioningArtifactProperties::builder()
            .name(&v.name)
            .description(&v.description)
            .r#type(sc::types::ProvisioningArtifactType::CloudFormationTemplate)
            .info("LoadTemplateFromURL", &v.template_url)
            .build()
    }

    async fn set_guidance(&self, product_id: &str, artifact_id: &str, g: &str) -> Result<(), CloudError> {
        self.sc
            .update_provisioning_artifact()
            .product_id(product_id)
            .provisioning_artifact_id(artifact_id)
            .guidance(guidance(g))
            .send()
            .await
            .map_err(|x| classify("UpdateProvisioningArtifact", x))?;
        Ok(())
    }

    async fn catalog_call(&mut self, op: &Op) -> Result<Outcome, CloudError> {
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
            Op::UpdateProvisioningArtifact { product_id, artifact_id, active, guidance: g } => {
                let out = c
                    .update_provisioning_artifact()
                    .product_id(product_id)
                    .provisioning_artifact_id(artifact_id)
                    .active(*active)
                    .guidance(guidance(g))
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
            Op::CreatePortfolioShare { portfolio_id, share_type, value } => {
                if is_org_node(share_type)? {
                    self.ensure_org_access().await?;
                    let out = c
                        .create_portfolio_share()
                        .portfolio_id(portfolio_id)
                        .organization_node(org_node(share_type, value))
                        .send()
                        .await
                        .map_err(|x| classify(&name, x))?;
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
                    self.routes.records.insert(r.clone(), account_id.clone());
                }
                if let Some(p) = d.and_then(|r| r.provisioned_product_id()) {
                    self.routes.provisioned.insert(p.to_string(), account_id.clone());
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
                let account = self.routes.records.get(record_id).cloned().unwrap_or_default();
                let client = self.client_for(&account).await?;
                let out =
                    client.describe_record().id(record_id).send().await.map_err(|x| classify(&name, x))?;
                let d = out.record_detail();
                let status = d.and_then(|r| r.status()).map(|s| s.as_str().to_string());
                let pp = d.and_then(|r| r.provisioned_product_id()).map(str::to_string);
                if let Some(p) = &pp {
                    self.routes.provisioned.insert(p.clone(), account);
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
            let account = self.routes.provisioned.get(pp_id).cloned().unwrap_or_default();
            self.routes.records.insert(r.clone(), account);
        }
        Ok(Outcome {
            request_id,
            id: record,
            status: d.and_then(|r| r.status()).map(|s| s.as_str().to_string()),
            ..Outcome::default()
        })
    }
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

/// For writes that must be reconciled, never resent blindly (CreateAccount, MoveAccount:
/// AWS-NOTES): the SDK retries only what `OnlyRejections` allows.
fn rejections_only() -> org::config::Builder {
    org::config::Builder::default()
        .retry_config(RetryConfig::standard().with_max_attempts(CALL_ATTEMPTS))
        .retry_classifier(OnlyRejections)
}

/// The SDK's retry rule for CreateAccount and MoveAccount: an answer that says the request was
/// turned away — throttling, ConcurrentModification, PolicyChangesInProgress,
/// FinalizingOrganization: nothing was done, so sending it again is safe — is retried like any
/// call; anything else is not (`RetryForbidden` overrides every other classifier): a 5xx, a
/// timeout or a lost connection may hide a request that was carried out, and goes back to the
/// engine, which finds out what happened before it sends the request again.
#[derive(Debug)]
struct OnlyRejections;

impl org::config::retry::ClassifyRetry for OnlyRejections {
    fn classify_retry(
        &self,
        ctx: &org::config::interceptors::InterceptorContext,
    ) -> org::config::retry::RetryAction {
        use org::config::retry::RetryAction;
        let code = ctx.response().filter(|r| r.status().as_u16() == 400).and_then(error_code);
        match code.as_deref() {
            Some(
                "TooManyRequestsException"
                | "ConcurrentModificationException"
                | "PolicyChangesInProgressException"
                | "FinalizingOrganizationException",
            ) => RetryAction::throttling_error(),
            _ => RetryAction::RetryForbidden,
        }
    }

    fn name(&self) -> &'static str {
        "vend: rejections only"
    }
}

/// The AWS error code of a JSON-protocol error answer: the `x-amzn-ErrorType` header or the
/// body's `__type`, either plain or prefixed (`…#Code`, `:http://…` suffixes stripped).
fn error_code(resp: &HttpResponse) -> Option<String> {
    let from_header = resp.headers().get("x-amzn-ErrorType").map(str::to_string);
    let code = from_header.or_else(|| {
        let v: serde_json::Value = serde_json::from_slice(resp.body().bytes()?).ok()?;
        v.get("__type").and_then(|t| t.as_str()).map(str::to_string)
    })?;
    let code = code.split(':').next().unwrap_or_default();
    Some(code.rsplit('#').next().unwrap_or_default().to_string())
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

impl Writer<'_> {
    async fn call(&mut self, op: &Op) -> Result<Outcome, CloudError> {
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
                    .config_override(rejections_only())
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
            Op::FindCreateAccount { name: account_name, email } => {
                use org::types::CreateAccountState as S;
                let mut statuses = vec![];
                let mut pages = c
                    .list_create_account_status()
                    .states(S::InProgress)
                    .states(S::Succeeded)
                    .max_results(PAGE)
                    .into_paginator()
                    .send();
                let mut request_id = String::new();
                while let Some(page) = pages.next().await {
                    let page = page.map_err(|x| classify("ListCreateAccountStatus", x))?;
                    request_id = rid(&page);
                    statuses.extend(
                        page.create_account_statuses()
                            .iter()
                            .filter(|s| s.account_name() == Some(account_name.as_str()))
                            .cloned(),
                    );
                }
                // Newest first; a finished one counts only if its account has this e-mail.
                statuses.sort_by_key(|s| std::cmp::Reverse(s.requested_timestamp().map(|t| t.as_nanos())));
                for s in statuses {
                    let found = match (s.state(), s.account_id()) {
                        (Some(S::InProgress), _) => true,
                        (Some(S::Succeeded), Some(id)) => {
                            let d = c
                                .describe_account()
                                .account_id(id)
                                .send()
                                .await
                                .map_err(|x| classify("DescribeAccount", x))?;
                            d.account().and_then(|a| a.email()).is_some_and(|e| e.eq_ignore_ascii_case(email))
                        }
                        _ => false,
                    };
                    if found {
                        return Ok(Outcome {
                            request_id,
                            id: s.id().map(str::to_string),
                            status: s.state().map(|x| x.as_str().to_string()),
                            ..Outcome::default()
                        });
                    }
                }
                Ok(Outcome { request_id, ..Outcome::default() })
            }
            Op::ListParents { child_id } => {
                let out = c.list_parents().child_id(child_id).send().await.map_err(|x| classify(&name, x))?;
                Ok(Outcome {
                    request_id: rid(&out),
                    id: out.parents().first().and_then(|p| p.id()).map(str::to_string),
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
                    .config_override(rejections_only())
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
            _ => self.catalog_call(op).await,
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
