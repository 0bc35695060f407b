//! SDK errors into `port::CloudError`: `classify` decides per AWS-NOTES whether a failure was
//! a rejection (safe to resend: `Retryable`), may hide a request that was carried out
//! (`Unknown`) or is a rule or a missing resource (`Hard`); `read_gave_up` says that a read of
//! the state ran out of retries. It makes no call and holds no client.

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
    let unknown = |code: &str, what: String| CloudError {
        kind: ErrorKind::Unknown,
        code: code.into(),
        message: what,
        rule: None,
    };
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
