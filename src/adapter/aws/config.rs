//! The AWS SDK configuration vend connects with: `load_sdk_config` (the standard chain plus
//! credentials from the OS keyring), the pinned behaviour version, the retry budgets
//! (`CALL_ATTEMPTS`, `READ_ATTEMPTS`), vend's own retry partition and the Organizations retry
//! classifiers (`RejectedByOrganizations`, `OnlyRejections` for CreateAccount and MoveAccount),
//! and the small runtime the synchronous adapters block on. It makes no AWS call itself and
//! converts no SDK type into the model.

use super::AwsOptions;
use super::errors::NotRetried;
use crate::port::CloudError;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_organizations as org;
use org::config::http::HttpResponse;
use std::time::Duration;

/// The SDK behaviour version vend is tested with (pinned: a newer default must be a decision).
pub fn behavior_version() -> BehaviorVersion {
    BehaviorVersion::v2026_01_12()
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
pub(super) const CALL_ATTEMPTS: u32 = 3;
/// SDK attempts per call of `read_state`: no engine loop runs around a read of the state, and
/// reads are safe to repeat, so they get more, with the backoff capped at `READ_MAX_BACKOFF` so
/// that all of them fit in the 90 s operation timeout. When they run out, the read fails the
/// command (`read_gave_up`): a state with a part missing is never returned.
pub const READ_ATTEMPTS: u32 = 10;
const READ_MAX_BACKOFF: Duration = Duration::from_secs(8);

pub(super) fn read_retries() -> RetryConfig {
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
pub(super) fn retry_partition() -> org::config::retry::RetryPartition {
    org::config::retry::RetryPartition::custom("vend")
        .token_bucket(org::config::retry::TokenBucket::unlimited())
        .build()
}

/// An Organizations client with vend's classifier, retry partition and retries.
pub(super) fn org_client(conf: &aws_config::SdkConfig, retries: RetryConfig) -> org::Client {
    org::Client::from_conf(
        org::config::Builder::from(conf)
            .retry_classifier(RejectedByOrganizations)
            .retry_config(retries)
            .retry_partition(retry_partition())
            .retry_classifier(NotRetried)
            .build(),
    )
}

/// An S3 client with vend's retry partition and `retries`; path-style addressing when the
/// endpoint is a custom one (an emulator cannot serve virtual-hosted bucket names).
pub(super) fn s3_client(conf: &aws_config::SdkConfig, retries: RetryConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(conf.endpoint_url().is_some())
            .retry_config(retries)
            .retry_partition(retry_partition())
            .retry_classifier(NotRetried)
            .build(),
    )
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

/// `conf` in the workspace's region `want`: taken as is when it has that region, given it when
/// it has none; a different region is an error naming both and where the other came from.
pub(super) fn in_workspace_region(
    conf: aws_config::SdkConfig,
    want: &str,
    opts: &AwsOptions,
) -> Result<aws_config::SdkConfig, CloudError> {
    match conf.region().map(|r| r.as_ref().to_string()) {
        Some(have) if have == want => Ok(conf),
        Some(have) => {
            let from = if opts.region.is_some() {
                "--region".to_string()
            } else {
                match &opts.profile {
                    Some(p) => format!("the AWS profile '{p}' (or AWS_REGION / AWS_DEFAULT_REGION)"),
                    None => {
                        "the environment (AWS_REGION / AWS_DEFAULT_REGION) or the default profile".to_string()
                    }
                }
            };
            Err(CloudError::hard(
                "RegionMismatch",
                format!(
                    "the workspace's region is {want} (region: in catalog/vend.yaml) but {from} says {have}; \
                     vend's Service Catalog, S3 and CloudFormation clients work in the workspace's region \
                     and its template URLs name it: drop the other region, or change region: in catalog/vend.yaml"
                ),
            ))
        }
        None => Ok(conf.to_builder().region(Region::new(want.to_string())).build()),
    }
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

/// For writes that must be reconciled, never resent blindly (CreateAccount, MoveAccount:
/// AWS-NOTES): the SDK retries only what `OnlyRejections` allows.
pub(super) fn rejections_only() -> org::config::Builder {
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
