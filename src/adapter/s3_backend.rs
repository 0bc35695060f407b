//! The S3 backend (`--backend s3://BUCKET/PREFIX`): where operators who share one organization
//! share the apply lock and the audit log. This module owns the URL, the S3 client (built from
//! the same options as the AWS cloud, through `aws::load_sdk_config`), the few object
//! operations both need (conditional `PutObject` / `DeleteObject`, `GetObject`, paginated
//! `ListObjectsV2`) with their outcomes in vend's terms (written / precondition failed / missing),
//! and [`S3LogStore`]: the audit log as one object per record under `<prefix>/audit/` —
//! `000000000001.json`, … (the seq zero-padded to 12 digits; the body is exactly the record's
//! canonical line, `audit::record_line`), written with `If-None-Match: *` so no seq is ever
//! written twice, and the signed head at `<prefix>/audit/head.json` (the local head's bytes).
//! The lease lock on `<prefix>/lock.json` is `adapter::s3_lock`.
//!
//! It must not hold audit logic: chaining, signing, verification and crash recovery are
//! `adapter::audit`'s, the same code as for the local log (`audit::LogStore`). It converts SDK
//! types here and leaks none.

use crate::adapter::audit::{LogStore, StoreTail, StoredRecord};
use crate::adapter::aws::{self, AwsOptions};
use aws_config::Region;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use futures_util::stream::{self, StreamExt};
use std::sync::Arc;
use std::time::Duration;

/// How many objects are fetched at once when a log is read.
const FETCH_CONCURRENCY: usize = 16;
/// Digits of the seq in a record object's name.
const SEQ_DIGITS: usize = 12;

/// `s3://BUCKET/PREFIX`: the bucket and the key prefix (no leading or trailing `/`; may be empty)
/// under which the lock and the audit log live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    pub bucket: String,
    pub prefix: String,
}

impl S3Url {
    /// Parse `s3://BUCKET[/PREFIX]` (the clap value parser of `--backend`). The bucket must be a
    /// valid S3 bucket name (3–63 lowercase letters, digits, `.` and `-`, starting and ending
    /// with a letter or digit); the prefix may not contain empty segments, `.`/`..` segments or
    /// control characters.
    pub fn parse(text: &str) -> Result<S3Url, String> {
        let usage = "expected s3://BUCKET/PREFIX, e.g. s3://acme-vend-state/platform";
        let rest = text.strip_prefix("s3://").ok_or_else(|| format!("`{text}` is not an S3 URL: {usage}"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_end_matches('/');
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
            && bucket.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && bucket.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
            && !bucket.contains("..");
        if !bucket_ok {
            return Err(format!(
                "`{bucket}` in `{text}` is not a valid S3 bucket name (3-63 lowercase letters, digits, `.` and `-`, \
                 starting and ending with a letter or digit): {usage}"
            ));
        }
        if !prefix.is_empty() {
            if let Some(bad) = prefix.split('/').find(|s| s.is_empty() || *s == "." || *s == "..") {
                return Err(format!(
                    "the prefix `{prefix}` in `{text}` has an empty, `.` or `..` segment (`{bad}`): {usage}"
                ));
            }
            if prefix.chars().any(char::is_control) {
                return Err(format!("the prefix in `{text}` contains control characters: {usage}"));
            }
        }
        Ok(S3Url { bucket: bucket.to_string(), prefix: prefix.to_string() })
    }

    /// The key of `name` under the prefix.
    pub fn key(&self, name: &str) -> String {
        if self.prefix.is_empty() { name.to_string() } else { format!("{}/{name}", self.prefix) }
    }

    /// `s3://bucket/<key>`.
    pub fn object_url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// The name of record `seq`'s object (under `<prefix>/audit/`).
pub fn record_name(seq: u64) -> String {
    format!("{seq:0width$}.json", width = SEQ_DIGITS)
}

/// The seq a record object's file name claims (`000000000003.json` -> 3), `None` for any other
/// name.
pub fn named_seq(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".json")?;
    if digits.len() != SEQ_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// How a conditional write or delete ended, when it did not succeed.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteError {
    /// 412 PreconditionFailed (or 409 ConditionalRequestConflict: another conditional write to
    /// the key won): the object is not as the condition required.
    Precondition,
    /// 404: there is no such object (an `If-Match` on a key that is gone).
    Missing,
    /// Anything else (network, permissions, a missing bucket, …): what S3 said.
    Other(String),
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::Precondition => write!(f, "the object changed (precondition failed)"),
            WriteError::Missing => write!(f, "the object does not exist"),
            WriteError::Other(e) => write!(f, "{e}"),
        }
    }
}

/// The condition of a write.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    None,
    /// `If-None-Match: *`: only if there is no object.
    Absent,
    /// `If-Match: <etag>`: only if the object is exactly this version.
    Matches(String),
}

/// The S3 backend: a client for the bucket of `url`, on its own runtime (shared with the lock's
/// renewal thread; every call blocks on it, never from inside another runtime).
#[derive(Clone)]
pub struct S3Backend {
    pub(crate) rt: Arc<tokio::runtime::Runtime>,
    client: aws_sdk_s3::Client,
    sts: aws_sdk_sts::Client,
    url: S3Url,
}

impl std::fmt::Debug for S3Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Backend").field("url", &self.url).finish_non_exhaustive()
    }
}

impl S3Backend {
    /// Build the S3 client from the same options as the AWS cloud (profile, region, endpoint,
    /// credentials through `aws::load_sdk_config`), with timeouts and standard retries; path-style
    /// addressing for a custom endpoint (an emulator cannot serve virtual-hosted bucket names).
    pub fn connect(opts: &AwsOptions, url: S3Url) -> Result<S3Backend, String> {
        let rt = aws::runtime().map_err(|e| e.message)?;
        let conf = rt.block_on(aws::load_sdk_config(opts));
        let mut b =
            conf.to_builder().retry_config(RetryConfig::standard().with_max_attempts(3)).timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(20))
                    .operation_timeout(Duration::from_secs(60))
                    .build(),
            );
        if conf.region().is_none() {
            b = b.region(Region::new("us-east-1"));
        }
        let conf = b.build();
        let custom_endpoint = conf.endpoint_url().is_some();
        // Like the cloud's clients: no retry of what no retry helps (credentials, a refused or
        // unresolvable endpoint; `aws::NotRetried`).
        let s3_conf = aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(custom_endpoint)
            .retry_classifier(aws::NotRetried)
            .build();
        Ok(S3Backend {
            rt: Arc::new(rt),
            client: aws_sdk_s3::Client::from_conf(s3_conf),
            sts: aws_sdk_sts::Client::from_conf(
                aws_sdk_sts::config::Builder::from(&conf).retry_classifier(aws::NotRetried).build(),
            ),
            url,
        })
    }

    pub fn url(&self) -> &S3Url {
        &self.url
    }

    /// The caller's ARN (STS GetCallerIdentity), for naming a lock's holder; `None` when STS
    /// does not answer (the lock works without it).
    pub fn caller_arn(&self) -> Option<String> {
        let sts = self.sts.clone();
        self.rt.block_on(async move {
            sts.get_caller_identity().send().await.ok().and_then(|o| o.arn().map(str::to_string))
        })
    }

    /// The audit log's store under `<prefix>/audit/`.
    pub fn log_store(&self) -> S3LogStore {
        S3LogStore { backend: self.clone() }
    }

    /// `PutObject` of `body` at `key` under `condition`; the new object's ETag.
    pub fn put(&self, key: &str, body: Vec<u8>, condition: Condition) -> Result<String, WriteError> {
        let mut req = self
            .client
            .put_object()
            .bucket(&self.url.bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body));
        req = match condition {
            Condition::None => req,
            Condition::Absent => req.if_none_match("*"),
            Condition::Matches(etag) => req.if_match(etag),
        };
        let url = self.url.object_url(key);
        self.rt.block_on(async move {
            match req.send().await {
                Ok(out) => Ok(out.e_tag().unwrap_or_default().to_string()),
                Err(e) => Err(write_error(&url, "PutObject", e)),
            }
        })
    }

    /// `GetObject`: the body and ETag, `None` when there is no such object.
    pub fn get(&self, key: &str) -> Result<Option<(Vec<u8>, String)>, String> {
        let client = self.client.clone();
        let bucket = self.url.bucket.clone();
        let url = self.url.object_url(key);
        let key = key.to_string();
        self.rt.block_on(get_object(client, bucket, key, url))
    }

    /// `DeleteObject` of `key`, only if its ETag is `etag`.
    pub fn delete_if(&self, key: &str, etag: &str) -> Result<(), WriteError> {
        let req = self.client.delete_object().bucket(&self.url.bucket).key(key).if_match(etag);
        let url = self.url.object_url(key);
        self.rt.block_on(async move {
            match req.send().await {
                Ok(_) => Ok(()),
                Err(e) => Err(write_error(&url, "DeleteObject", e)),
            }
        })
    }

    /// Every key under `prefix` (`ListObjectsV2`, page by page), in S3's order (UTF-8 binary).
    pub fn list(&self, prefix: &str) -> Result<Vec<String>, String> {
        let client = self.client.clone();
        let bucket = self.url.bucket.clone();
        let prefix = prefix.to_string();
        self.rt.block_on(async move {
            let mut pages = client.list_objects_v2().bucket(&bucket).prefix(&prefix).into_paginator().send();
            let mut keys = vec![];
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| s3_error("", "ListObjectsV2", &e))?;
                keys.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_string)));
            }
            Ok(keys)
        })
    }

    /// The bodies of `keys`, in order (fetched a few at a time); a key that vanished meanwhile
    /// is an error.
    fn get_many(&self, keys: &[String]) -> Result<Vec<Vec<u8>>, String> {
        let client = self.client.clone();
        let bucket = self.url.bucket.clone();
        let jobs: Vec<(String, String)> = keys.iter().map(|k| (k.clone(), self.url.object_url(k))).collect();
        self.rt.block_on(async move {
            let results: Vec<Result<Vec<u8>, String>> = stream::iter(jobs)
                .map(|(key, url)| {
                    let client = client.clone();
                    let bucket = bucket.clone();
                    async move {
                        match get_object(client, bucket, key, url.clone()).await? {
                            Some((body, _)) => Ok(body),
                            None => Err(format!("{url} disappeared while it was read")),
                        }
                    }
                })
                .buffered(FETCH_CONCURRENCY)
                .collect()
                .await;
            results.into_iter().collect()
        })
    }
}

async fn get_object(
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    url: String,
) -> Result<Option<(Vec<u8>, String)>, String> {
    match client.get_object().bucket(&bucket).key(&key).send().await {
        Ok(out) => {
            let etag = out.e_tag().unwrap_or_default().to_string();
            let body = out.body.collect().await.map_err(|e| format!("{url}: reading the body: {e}"))?;
            Ok(Some((body.into_bytes().to_vec(), etag)))
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
        Err(e)
            if e.raw_response().is_some_and(|r| r.status().as_u16() == 404)
                && e.code() != Some("NoSuchBucket") =>
        {
            Ok(None)
        }
        Err(e) => Err(s3_error(&url, "GetObject", &e)),
    }
}

fn write_error<E>(url: &str, op: &str, err: SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> WriteError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err.code();
    match (status, code) {
        (_, Some("NoSuchBucket")) => WriteError::Other(s3_error(url, op, &err)),
        (Some(412), _) | (_, Some("PreconditionFailed")) => WriteError::Precondition,
        (Some(409), _) | (_, Some("ConditionalRequestConflict")) => WriteError::Precondition,
        (Some(404), _) | (_, Some("NoSuchKey")) => WriteError::Missing,
        _ => WriteError::Other(s3_error(url, op, &err)),
    }
}

/// What S3 said (code and message, or the transport failure), with what to do for the usual
/// causes; `url` is left out when empty (the caller names the place).
fn s3_error<E>(url: &str, op: &str, err: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let said = match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => {
            let status = err.raw_response().map(|r| r.status().as_u16()).unwrap_or_default();
            format!("{code} (HTTP {status})")
        }
        _ => DisplayErrorContext(err).to_string(),
    };
    let place = if url.is_empty() { String::new() } else { format!("{url}: ") };
    let hint = match err.code() {
        Some("NoSuchBucket") => {
            "; the bucket does not exist: create it (versioning on is recommended) or fix --backend"
        }
        Some("AccessDenied") => {
            "; the credentials need s3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket there"
        }
        _ => "",
    };
    format!("{place}{op}: {said}{hint}")
}

/// The audit log as objects: record `seq` at `<prefix>/audit/<seq, 12 digits>.json` (body: the
/// canonical line, no terminator), the head at `<prefix>/audit/head.json`. Appends use
/// `If-None-Match: *`: a seq is written once, so two writers can never fork the chain; a put that
/// reports 412 is checked against what is stored (the same bytes: an SDK retry of our own write
/// that had landed).
#[derive(Debug, Clone)]
pub struct S3LogStore {
    backend: S3Backend,
}

impl S3LogStore {
    fn folder(&self) -> String {
        self.backend.url.key("audit/")
    }

    fn head_key(&self) -> String {
        self.backend.url.key("audit/head.json")
    }

    /// Every object of the log folder but the head, in key order, with the seq its name claims.
    fn record_keys(&self) -> Result<Vec<(String, Option<u64>)>, String> {
        let folder = self.folder();
        let head = self.head_key();
        let mut keys: Vec<(String, Option<u64>)> = self
            .backend
            .list(&folder)?
            .into_iter()
            .filter(|k| *k != head)
            .map(|k| {
                let seq = k.strip_prefix(&folder).and_then(named_seq);
                (k, seq)
            })
            .collect();
        keys.sort();
        Ok(keys)
    }

    fn visit(
        &self,
        keys: &[(String, Option<u64>)],
        visit: &mut dyn FnMut(StoredRecord) -> bool,
    ) -> Result<(), String> {
        for chunk in keys.chunks(FETCH_CONCURRENCY * 4) {
            let names: Vec<String> = chunk.iter().map(|(k, _)| k.clone()).collect();
            let bodies = self.backend.get_many(&names)?;
            for ((key, seq), bytes) in chunk.iter().zip(bodies) {
                let record = StoredRecord {
                    label: format!("object {}", self.backend.url.object_url(key)),
                    named_seq: *seq,
                    bytes,
                    torn: false,
                };
                if !visit(record) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

impl LogStore for S3LogStore {
    fn location(&self) -> String {
        self.backend.url.object_url(&self.folder())
    }

    fn head_location(&self) -> String {
        self.backend.url.object_url(&self.head_key())
    }

    fn names_records(&self) -> bool {
        true
    }

    fn for_each(&mut self, visit: &mut dyn FnMut(StoredRecord) -> bool) -> Result<(), String> {
        let keys = self.record_keys()?;
        self.visit(&keys, visit)
    }

    fn for_each_back(&mut self, visit: &mut dyn FnMut(StoredRecord) -> bool) -> Result<(), String> {
        let mut keys = self.record_keys()?;
        keys.reverse();
        self.visit(&keys, visit)
    }

    fn tail(&mut self) -> Result<StoreTail, String> {
        let keys = self.record_keys()?;
        let Some((key, seq)) = keys.last() else { return Ok(StoreTail::default()) };
        let url = self.backend.url.object_url(key);
        let (bytes, _) =
            self.backend.get(key)?.ok_or_else(|| format!("{url} disappeared while it was read"))?;
        Ok(StoreTail {
            last: Some(StoredRecord { label: format!("object {url}"), named_seq: *seq, bytes, torn: false }),
            torn: None,
        })
    }

    fn read_head(&mut self) -> Result<Option<String>, String> {
        let key = self.head_key();
        match self.backend.get(&key)? {
            None => Ok(None),
            Some((bytes, _)) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| format!("{} is not UTF-8", self.backend.url.object_url(&key))),
        }
    }

    fn append(&mut self, seq: u64, line: &str) -> Result<(), String> {
        let key = self.backend.url.key(&format!("audit/{}", record_name(seq)));
        let url = self.backend.url.object_url(&key);
        match self.backend.put(&key, line.as_bytes().to_vec(), Condition::Absent) {
            Ok(_) => Ok(()),
            Err(WriteError::Precondition) => match self.backend.get(&key)? {
                // An SDK retry of this very write, whose first attempt had landed.
                Some((stored, _)) if stored == line.as_bytes() => Ok(()),
                _ => Err(format!(
                    "record {seq} already exists at {url}: someone else appended to the shared audit log since it was \
                     read (only the holder of the backend's lock may write to it); nothing was overwritten — run \
                     `vend audit verify --backend {}`",
                    self.backend.url
                )),
            },
            Err(e) => Err(format!("{url}: {e}")),
        }
    }

    fn write_head(&mut self, text: &str) -> Result<(), String> {
        let key = self.head_key();
        self.backend
            .put(&key, text.as_bytes().to_vec(), Condition::None)
            .map(|_| ())
            .map_err(|e| format!("{}: {e}", self.backend.url.object_url(&key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_and_without_prefix() {
        let u = S3Url::parse("s3://acme-vend/platform/prod/").unwrap();
        assert_eq!((u.bucket.as_str(), u.prefix.as_str()), ("acme-vend", "platform/prod"));
        assert_eq!(u.key("lock.json"), "platform/prod/lock.json");
        assert_eq!(u.to_string(), "s3://acme-vend/platform/prod");
        let bare = S3Url::parse("s3://acme-vend").unwrap();
        assert_eq!(bare.key("lock.json"), "lock.json");
        assert_eq!(bare.to_string(), "s3://acme-vend");
    }

    #[test]
    fn malformed_urls_are_refused_with_the_expected_form() {
        for bad in [
            "acme/x",
            "https://acme/x",
            "s3://",
            "s3://AB/x",
            "s3://-acme/x",
            "s3://a..b/x",
            "s3://acme//x",
            "s3://acme/a/../b",
        ] {
            let e = S3Url::parse(bad).unwrap_err();
            assert!(e.contains("s3://BUCKET/PREFIX"), "{bad}: {e}");
        }
    }

    #[test]
    fn record_names_round_trip_and_nothing_else_is_a_record() {
        assert_eq!(record_name(3), "000000000003.json");
        assert_eq!(named_seq(&record_name(123_456)), Some(123_456));
        for other in ["head.json", "3.json", "000000000003.json.bak", "00000000000x.json", "000000000003"] {
            assert_eq!(named_seq(other), None, "{other}");
        }
    }
}
