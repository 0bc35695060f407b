//! SDK errors into `port::CloudError`: `classify` decides per AWS-NOTES whether a failure was
//! a rejection (safe to resend: `Retryable`), may hide a request that was carried out
//! (`Unknown`) or is a rule or a missing resource (`Hard`); `read_gave_up` says that a read of
//! the state ran out of retries. It makes no call and holds no client.
//!
//! Failures that no retry can help — no credentials, an SSO session to renew, an endpoint that
//! refuses connections or a host name that does not resolve (a wrong `--endpoint-url` or
//! region), a TLS failure — are recognised here as a `Class` (`class_of`), never retried by the
//! SDK (`NotRetried`, on every client) nor by the engine (`ErrorKind::Hard`), and put in words
//! by `explain.rs`, which knows where the settings came from.

use super::config::READ_ATTEMPTS;
use crate::port::{CloudError, ErrorKind};
use aws_sdk_organizations as org;
use org::config::http::HttpResponse;
use org::error::{ProvideErrorMetadata, SdkError};

/// A read of the state that failed although it may be retried: say that the retries ran out
/// (the call is named in the error's message) and that no partial state is used. The SDK makes
/// all `READ_ATTEMPTS` for throttling and server errors; an error it does not classify as
/// retryable ends sooner, hence "up to". A rule or a missing resource (`Hard`) is returned as
/// it is.
pub(super) fn read_gave_up(e: CloudError) -> CloudError {
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

/// Map an SDK error to vend's `CloudError` (AWS-NOTES: which errors are worth a retry).
pub(super) fn classify<E>(op: &str, err: SdkError<E, HttpResponse>) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let e = classify_error(op, &err);
    // The SDK's own structure, for `-v`: the message above is the human one.
    tracing::debug!(
        op,
        code = %e.code,
        kind = ?e.kind,
        request_id = org::operation::RequestId::request_id(&err).unwrap_or(""),
        sdk_error = ?err,
        "AWS call failed"
    );
    e
}

fn classify_error<E>(op: &str, err: &SdkError<E, HttpResponse>) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let unknown = |code: &str, what: String| CloudError {
        kind: ErrorKind::Unknown,
        code: code.into(),
        message: what,
        rule: None,
    };
    if let SdkError::DispatchFailure(d) = err
        && let Some(class) = d.as_connector_error().and_then(|c| class_of(c))
    {
        return CloudError::hard(class.code(), format!("{op}: {}", class.detail()));
    }
    match err {
        SdkError::TimeoutError(_) => unknown(
            "RequestTimeout",
            format!("{op}: no answer in time; the request may have been carried out"),
        ),
        SdkError::DispatchFailure(d) => unknown(
            "DispatchFailure",
            format!(
                "{op}: the request could not be completed ({}); it may have been carried out",
                d.as_connector_error().map(|c| full(c)).unwrap_or_else(|| "no connector error".into())
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
                Some(code) if is_access_denied(&code) => {
                    CloudError::hard(&code, format!("{op}: {}", access_denied(&message)))
                }
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
                    ) || (
                        // IAM Identity Center: "Occurs when a conflict with a previous successful
                        // write is detected. ... A retry (with appropriate backoff logic) is the
                        // recommended response" (SSO Admin API reference, ConflictException): a
                        // request on the same account assignment still in progress. Not for
                        // permission sets, where it also means a taken name or a set in use.
                        code == "ConflictException"
                            && matches!(op, "CreateAccountAssignment" | "DeleteAccountAssignment")
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
                    CloudError { kind, code, message: format!("{op}: {message}"), rule: None }
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
pub(super) fn full(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}

/// A failure no retry helps, recognised in the SDK's error (`class_of`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Class {
    /// The credential chain found nothing (`CredentialsNotLoaded` from every provider).
    NoCredentials(String),
    /// An SSO profile whose cached token is missing or expired (`aws sso login` renews it).
    SsoSession(String),
    /// Nothing listens at the endpoint (connection refused).
    Refused(String),
    /// The endpoint's host name does not resolve (a wrong URL, or a region name that is none).
    UnresolvedHost(String),
    /// The TLS handshake failed (certificate, protocol).
    Tls(String),
}

/// Codes of the classes, in `CloudError::code` (vend's, not AWS's: no AWS answer was received).
pub(super) const NO_CREDENTIALS: &str = "NoCredentials";
pub(super) const SSO_SESSION: &str = "SsoSessionExpired";
pub(super) const ENDPOINT_REFUSED: &str = "EndpointUnreachable";
pub(super) const HOST_UNRESOLVED: &str = "EndpointNotFound";
pub(super) const TLS_FAILED: &str = "EndpointTlsError";

impl Class {
    pub(super) fn code(&self) -> &'static str {
        match self {
            Class::NoCredentials(_) => NO_CREDENTIALS,
            Class::SsoSession(_) => SSO_SESSION,
            Class::Refused(_) => ENDPOINT_REFUSED,
            Class::UnresolvedHost(_) => HOST_UNRESOLVED,
            Class::Tls(_) => TLS_FAILED,
        }
    }
    /// The SDK's innermost words for it (one line, no debug structure).
    pub(super) fn detail(&self) -> &str {
        match self {
            Class::NoCredentials(d)
            | Class::SsoSession(d)
            | Class::Refused(d)
            | Class::UnresolvedHost(d)
            | Class::Tls(d) => d,
        }
    }
}

/// The class of a dispatch failure, if no retry can help it. The credential errors come from
/// `aws-credential-types` (`CredentialsError`) and `aws-config`'s SSO token provider, which vend
/// does not depend on directly: they are told apart by their names in the error's `Debug` form
/// (`CredentialsNotLoaded`, the SSO token cache path `…/.aws/sso/cache/…`, `the SSO token has
/// expired`), the network ones by the `std::io::Error` kind and hyper-util's `dns error` text.
pub(super) fn class_of(e: &(dyn std::error::Error + 'static)) -> Option<Class> {
    let debug = format!("{e:?}");
    let mut chain = vec![];
    let mut at: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(x) = at {
        chain.push(x);
        at = x.source();
    }
    let inner = chain.last().map(|x| x.to_string()).unwrap_or_default();
    let text = chain.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(": ");
    // The SSO token provider: its cache file missing ("…/.aws/sso/cache/<hash>.json"), or
    // `SsoTokenProviderError::ExpiredToken` ("the SSO token has expired and cannot be refreshed").
    if debug.contains("sso/cache") || text.contains("SSO token") {
        return Some(Class::SsoSession(inner));
    }
    // The chain's last provider, EC2 instance metadata (IMDS), could not get its session token:
    // off EC2 that is a timeout, or a proxy's refusal (seen here: `ProviderError(FailedToLoadToken
    // … status 403 … "resolve_deny: denied destination")`). aws-config's IMDS credentials provider
    // reports it as a `ProviderError`, not `CredentialsNotLoaded`, yet it means the same: the
    // chain found no credentials anywhere.
    let imds = debug.contains("FailedToLoadToken");
    if imds || (debug.contains("CredentialsNotLoaded") && !debug.contains("ConnectError")) {
        // The profile provider's own words when the profile is missing from the files.
        let detail = if debug.contains("was not defined") {
            "the profile was not defined".to_string()
        } else {
            first_line(&full(e))
        };
        return Some(Class::NoCredentials(detail));
    }
    let io_kind = chain.iter().find_map(|x| x.downcast_ref::<std::io::Error>()).map(std::io::Error::kind);
    if io_kind == Some(std::io::ErrorKind::ConnectionRefused) {
        return Some(Class::Refused(inner));
    }
    // A name that does not exist (EAI_NONAME); "Temporary failure in name resolution"
    // (EAI_AGAIN) may pass and is left to the SDK's retries.
    if text.contains("dns error") && !text.contains("Temporary failure") {
        return Some(Class::UnresolvedHost(inner));
    }
    if text.contains("invalid peer certificate") || text.contains("InvalidCertificate") {
        return Some(Class::Tls(inner));
    }
    None
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

/// The SDK's retry rule for the failures of `class_of`: never retried. The SDK's own
/// `TransientErrorClassifier` retries every I/O connector error (aws-smithy-runtime 1.16,
/// `src/client/retries/classifiers.rs`: "if error.is_timeout() || error.is_io() {
/// RetryAction::transient_error() }"), a refused connection and an unknown host name included:
/// with the read budget that was 10 attempts and ~20 s of backoff before a wrong
/// `--endpoint-url` was reported. A refused connection or a host name that does not exist is a
/// setting to fix, not a transient fault of AWS (whose endpoints do not refuse connections), so
/// vend stops at the first attempt and says so. Credential errors are not retried by the SDK
/// either (`ConnectorError` kind `Other`, no retry action); `RetryForbidden` makes that explicit
/// and overrides any other classifier.
#[derive(Debug)]
pub struct NotRetried;

impl org::config::retry::ClassifyRetry for NotRetried {
    fn classify_retry(
        &self,
        ctx: &org::config::interceptors::InterceptorContext,
    ) -> org::config::retry::RetryAction {
        use org::config::retry::RetryAction;
        let connector = match ctx.output_or_error() {
            Some(Err(e)) => e.as_connector_error(),
            _ => None,
        };
        match connector.and_then(|c| class_of(c)) {
            Some(class) => {
                tracing::debug!(code = class.code(), "not retried: no retry helps this failure");
                RetryAction::RetryForbidden
            }
            None => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "vend: failures no retry helps"
    }
}

/// AWS's codes for a caller that may not do what it asked (or whose credentials AWS refused).
fn is_access_denied(code: &str) -> bool {
    matches!(
        code,
        "AccessDeniedException"
            | "AccessDenied"
            | "UnauthorizedOperation"
            | "UnrecognizedClientException"
            | "InvalidClientTokenId"
            | "ExpiredToken"
            | "ExpiredTokenException"
            | "SignatureDoesNotMatch"
    )
}

/// AWS's access-denied message with the principal and the action pulled out when it names them
/// ("User: arn:aws:iam::111122223333:user/ops is not authorized to perform:
/// organizations:ListRoots on resource: …"), and the fix.
pub(super) fn access_denied(message: &str) -> String {
    let principal = message
        .split_once("User: ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .filter(|p| p.starts_with("arn:"));
    let action = message
        .split_once("perform: ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .map(|a| a.trim_end_matches([',', '.', ';']));
    let aws = if message.is_empty() { "(no message)".to_string() } else { message.to_string() };
    match (principal, action) {
        (Some(p), Some(a)) => format!(
            "access denied: {p} is not allowed to call {a} (AWS said: {aws})\n  \
             fix: allow {a} for {p} (its IAM policy or permission set; an SCP or permissions boundary may deny it too), or run vend with a profile that has it"
        ),
        _ => format!(
            "access denied (AWS said: {aws})\n  \
             fix: check the identity vend runs as (`aws sts get-caller-identity`) and that its policies allow this call, or run vend with a profile that has it"
        ),
    }
}
