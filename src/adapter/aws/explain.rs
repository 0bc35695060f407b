//! The failures no retry helps (`errors::Class`), in human terms: what went wrong, where vend
//! looked or which setting it used and where that came from, and the fix — one or two lines,
//! no SDK structure (that is logged with `-v`). `Origins` is what the adapter knows of its
//! settings (`AwsCloud::connect`); `explain` rewrites the message of a classified `CloudError`
//! and leaves every other error as it is. Pure: no call, no environment.

use super::AwsOptions;
use super::errors::{ENDPOINT_REFUSED, HOST_UNRESOLVED, NO_CREDENTIALS, SSO_SESSION, TLS_FAILED};
use crate::port::CloudError;

/// Said of every classified failure: the SDK made one attempt (`errors::NotRetried`) and the
/// engine does not repeat a `Hard` error.
pub(super) const ONE_ATTEMPT: &str = "1 attempt, not retried: no retry helps";

/// Where the settings vend connected with came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Origins {
    /// The profile of the credential chain and of `vend auth login`'s keyring entry.
    pub profile: String,
    /// What the keyring lookup found (`AwsOptions::keyring_note`).
    pub keyring: Option<String>,
    /// The region the clients use and where it came from.
    pub region: String,
    pub region_from: String,
    /// A custom endpoint and where it came from; `None`: AWS's own endpoints.
    pub endpoint: Option<(String, String)>,
}

impl Default for Origins {
    fn default() -> Self {
        Origins {
            profile: "default".into(),
            keyring: None,
            region: "us-east-1".into(),
            region_from: "vend's default".into(),
            endpoint: None,
        }
    }
}

impl Origins {
    /// The origins of `conf`, the configuration `opts` gave (region and endpoint as the
    /// clients will use them).
    pub(super) fn of(opts: &AwsOptions, conf: &aws_config::SdkConfig) -> Origins {
        let profile =
            opts.profile.clone().or_else(|| opts.profile_name.clone()).unwrap_or_else(|| "default".into());
        let chain = format!("the AWS profile {profile} or AWS_REGION / AWS_DEFAULT_REGION");
        let (region, region_from) = match (conf.region(), &opts.region, &opts.workspace_region) {
            (Some(r), Some(_), _) => (r.to_string(), "--region".to_string()),
            (Some(r), None, Some(w)) if r.as_ref() == w.as_str() => {
                (r.to_string(), format!("region: in catalog/vend.yaml (or {chain})"))
            }
            (Some(r), None, _) => (r.to_string(), chain),
            (None, _, Some(w)) => (w.clone(), "region: in catalog/vend.yaml".to_string()),
            (None, _, None) => ("us-east-1".to_string(), "vend's default".to_string()),
        };
        let endpoint = match (&opts.endpoint_url, conf.endpoint_url()) {
            (Some(u), _) => Some((u.clone(), "--endpoint-url".to_string())),
            (None, Some(u)) => {
                Some((u.to_string(), format!("AWS_ENDPOINT_URL or the AWS profile {profile}")))
            }
            (None, None) => None,
        };
        Origins { profile, keyring: opts.keyring_note.clone(), region, region_from, endpoint }
    }
}

/// `e` in human terms when it is a failure no retry helps; any other error unchanged.
pub(super) fn explain(e: CloudError, o: &Origins) -> CloudError {
    let (call, detail) = match e.message.split_once(": ") {
        Some((call, detail)) => (call.to_string(), detail.to_string()),
        None => (String::new(), e.message.clone()),
    };
    let p = &o.profile;
    let message = match e.code.as_str() {
        NO_CREDENTIALS => {
            let keyring = o.keyring.as_deref().unwrap_or("nothing stored for this profile");
            let profile_note = if detail.contains("was not defined") {
                format!(" (profile {p} is not defined there)")
            } else {
                String::new()
            };
            format!(
                "no AWS credentials found for {call} ({ONE_ATTEMPT}); vend looked in: the environment \
                 (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), profile {p} in ~/.aws/config and ~/.aws/credentials \
                 (or AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE){profile_note}, the SSO cache, web identity \
                 (AWS_WEB_IDENTITY_TOKEN_FILE), the ECS container and EC2 instance metadata (IMDS) endpoints, and \
                 the OS keyring of `vend auth login` ({keyring})\n  \
                 fix: `vend auth login --profile {p}`, `aws configure --profile {p}` or `aws sso login --profile {p}`, \
                 or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            )
        }
        SSO_SESSION => format!(
            "the AWS SSO session of profile {p} has expired or was never started: no valid token in the SSO \
             cache (~/.aws/sso/cache) for {call} ({ONE_ATTEMPT}; the SDK said: {detail})\n  \
             fix: `aws sso login --profile {p}`, then run vend again"
        ),
        ENDPOINT_REFUSED | HOST_UNRESOLVED | TLS_FAILED => {
            let what = match e.code.as_str() {
                ENDPOINT_REFUSED => "connection refused",
                HOST_UNRESOLVED => "host name not found",
                _ => "TLS handshake failed",
            };
            match &o.endpoint {
                Some((url, from)) => format!(
                    "cannot reach the AWS endpoint {url} (from {from}) for {call}: {what} ({ONE_ATTEMPT}; {detail})\n  \
                     fix: check --endpoint-url / AWS_ENDPOINT_URL (is the service running there, http or https?) and the network"
                ),
                None if e.code == HOST_UNRESOLVED => format!(
                    "cannot reach AWS for {call}: the endpoint for region {r} (from {from}) was not found \
                     ({ONE_ATTEMPT}; {detail}){hint}\n  \
                     fix: use a valid region (--region, region = in the AWS profile {p}, or region: in \
                     catalog/vend.yaml), or check the network and DNS",
                    r = o.region,
                    from = o.region_from,
                    hint = if looks_like_region(&o.region) {
                        String::new()
                    } else {
                        format!("; {} is not an AWS region name (like us-east-1)", o.region)
                    }
                ),
                None => format!(
                    "cannot reach AWS for {call} in region {r} (from {from}): {what} ({ONE_ATTEMPT}; {detail})\n  \
                     fix: check the network, a proxy (HTTPS_PROXY) and the region",
                    r = o.region,
                    from = o.region_from
                ),
            }
        }
        _ => return e,
    };
    CloudError { message, ..e }
}

/// The region vend was given is no region name: refused before any request.
pub(super) fn not_a_region(o: &Origins) -> CloudError {
    CloudError::hard(
        "InvalidRegion",
        format!(
            "{r} (from {from}) is not an AWS region name (like us-east-1); no request was sent\n  \
             fix: use a valid region (--region, region = in the AWS profile {p}, AWS_REGION, or region: in catalog/vend.yaml)",
            r = o.region,
            from = o.region_from,
            p = o.profile
        ),
    )
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`, `eusc-de-east-1`: lower-case
/// words joined by `-`, ending in a number.
pub(super) fn looks_like_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts.last().is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        && parts[..parts.len() - 1].iter().all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::port::ErrorKind;

    fn origins() -> Origins {
        Origins { profile: "ops".into(), ..Origins::default() }
    }

    #[test]
    fn regions() {
        for r in ["us-east-1", "eu-central-2", "us-gov-west-1", "cn-north-1", "eusc-de-east-1"] {
            assert!(looks_like_region(r), "{r}");
        }
        for r in ["not-a-region", "useast1", "us-east-", "US-EAST-1", ""] {
            assert!(!looks_like_region(r), "{r}");
        }
    }

    #[test]
    fn no_credentials_names_the_places_and_the_fix() {
        let e = explain(CloudError::hard(NO_CREDENTIALS, "DescribeOrganization: x"), &origins());
        assert_eq!(e.kind, ErrorKind::Hard);
        for phrase in [
            "no AWS credentials found for DescribeOrganization",
            "profile ops",
            "IMDS",
            "vend auth login --profile ops",
            "1 attempt",
        ] {
            assert!(e.message.contains(phrase), "{phrase}: {}", e.message);
        }
    }

    #[test]
    fn unresolved_default_endpoint_is_a_region_problem() {
        let o = Origins { region: "not-a-region".into(), region_from: "--region".into(), ..origins() };
        let e = explain(CloudError::hard(HOST_UNRESOLVED, "ListRoots: dns error"), &o);
        assert!(e.message.contains("region not-a-region (from --region)"), "{}", e.message);
        assert!(e.message.contains("not an AWS region name"), "{}", e.message);
    }

    #[test]
    fn other_errors_are_left_alone() {
        let e = CloudError::hard("ConstraintViolationException", "CreateOrganizationalUnit: too deep");
        assert_eq!(explain(e.clone(), &origins()), e);
    }
}
