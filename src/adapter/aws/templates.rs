//! Fetching product version templates for `vend import`. Service Catalog keeps only a
//! version's `TemplateUrl` (DescribeProvisioningArtifact's `Info`); no Service Catalog call
//! returns the body, so vend reads the S3 object the URL names with GetObject (the caller needs
//! `s3:GetObject` on that bucket). Both S3 URL styles are understood: virtual-hosted
//! (`https://BUCKET.s3[.-]REGION.amazonaws.com/KEY`, `https://BUCKET.s3.amazonaws.com/KEY`)
//! and path-style (`https://s3[.-]REGION.amazonaws.com/BUCKET/KEY`, and any other host, as
//! emulators serve them) — https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html

use super::AwsCloud;
use super::read::each;
use crate::port::CloudError;
use std::collections::BTreeMap;

/// The S3 object a template URL names.
#[derive(Debug, PartialEq)]
pub(super) struct Object {
    pub bucket: String,
    pub key: String,
    /// `?versionId=` (a pinned object version), if given.
    pub version: Option<String>,
    /// The region the host names (`s3.<region>.` / `s3-<region>.`), if any.
    pub region: Option<String>,
}

/// The S3 object of a template URL, or why not.
pub(super) fn object(url: &str) -> Result<Object, String> {
    let (bucket, key) = bucket_and_key(url)?;
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let version = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("versionId="))
        .map(|v| percent_encoding::percent_decode_str(v).decode_utf8_lossy().into_owned());
    let region = region_of_url(url);
    Ok(Object { bucket, key, version, region })
}

/// The AWS region an S3 URL's host names (`…s3.<region>.amazonaws.com`,
/// `…s3-<region>.amazonaws.com`), if any: `s3.amazonaws.com` and `s3-external-1` name none.
pub fn region_of_url(url: &str) -> Option<String> {
    let host = url.split("://").nth(1)?.split(['/', ':', '?']).next()?;
    let labels = host.strip_suffix(".amazonaws.com")?;
    labels
        .split('.')
        .map(|l| l.strip_prefix("s3-").unwrap_or(l))
        .find(|l| looks_like_region(l))
        .map(str::to_string)
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `ap-southeast-4`, …
fn looks_like_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts.last().is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
}

/// (bucket, key) of an S3 object URL, or why not.
pub(super) fn bucket_and_key(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("{url} is not an http(s) URL"))?;
    let (host, path) = rest.split_once('/').ok_or_else(|| format!("{url} names no object"))?;
    let host = host.split(':').next().unwrap_or(host);
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
    let virtual_hosted = host.ends_with(".amazonaws.com")
        && !host.starts_with("s3.")
        && !host.starts_with("s3-")
        && (host.contains(".s3.") || host.contains(".s3-"));
    let (bucket, key) = if virtual_hosted {
        let bucket = host.rfind(".s3").map(|i| &host[..i]).unwrap_or_default();
        (bucket.to_string(), path.to_string())
    } else {
        let (bucket, key) = path.split_once('/').ok_or_else(|| format!("{url} names no object key"))?;
        (bucket.to_string(), key.to_string())
    };
    let key = decode(key.split('?').next().unwrap_or_default());
    if bucket.is_empty() || key.is_empty() {
        return Err(format!("{url} names no S3 object"));
    }
    Ok((bucket, key))
}

/// A template URL and its body, or why it could not be read.
type Fetched = (String, Result<String, String>);

impl AwsCloud {
    /// The body of each template URL (GetObject, a few at a time), or why it could not be read.
    pub fn template_bodies(&mut self, urls: &[String]) -> BTreeMap<String, Result<String, String>> {
        // One client per region the URLs name (a bucket answers only in its own region), the
        // caller's for the rest; with an endpoint override (an emulator) the caller's for all.
        let mut clients: BTreeMap<String, aws_sdk_s3::Client> = BTreeMap::new();
        for url in urls {
            if let Ok(Object { region: Some(r), .. }) = object(url)
                && self.conf.endpoint_url().is_none()
                && self.conf.region().is_none_or(|c| c.as_ref() != r)
            {
                let conf = self.conf.to_builder().region(aws_config::Region::new(r.clone())).build();
                clients
                    .entry(r)
                    .or_insert_with(|| super::config::s3_client(&conf, super::config::read_retries()));
            }
        }
        let (s3, clients) = (self.s3.clone(), &clients);
        let urls: Vec<String> = urls.to_vec();
        let fetched: Result<Vec<Fetched>, CloudError> = self.rt.block_on(each(urls, |url| {
            let s3 = s3.clone();
            async move {
                let body = match object(&url) {
                    Err(e) => Err(e),
                    Ok(Object { bucket, key, version, region }) => match region
                        .and_then(|r| clients.get(&r))
                        .unwrap_or(&s3)
                        .get_object()
                        .bucket(&bucket)
                        .key(&key)
                        .set_version_id(version)
                        .send()
                        .await
                    {
                        Err(e) => Err(format!(
                            "GetObject s3://{bucket}/{key}: {}",
                            aws_sdk_s3::error::DisplayErrorContext(&e)
                        )),
                        Ok(out) => match out.body.collect().await {
                            Err(e) => Err(format!("reading s3://{bucket}/{key}: {e}")),
                            Ok(bytes) => String::from_utf8(bytes.into_bytes().to_vec())
                                .map_err(|_| format!("s3://{bucket}/{key} is not UTF-8 text")),
                        },
                    },
                };
                Ok((url, body))
            }
        }));
        match fetched {
            Ok(v) => v.into_iter().collect(),
            Err(e) => BTreeMap::from([(String::new(), Err(e.message))]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::bucket_and_key;

    #[test]
    fn both_url_styles() {
        let b = |u: &str| bucket_and_key(u).unwrap();
        assert_eq!(
            b("https://vend-templates-1.s3.us-east-1.amazonaws.com/templates/p/v1/ab.yaml"),
            ("vend-templates-1".into(), "templates/p/v1/ab.yaml".into())
        );
        assert_eq!(b("https://bkt.s3.amazonaws.com/a%20b.yaml"), ("bkt".into(), "a b.yaml".into()));
        assert_eq!(b("https://s3.eu-west-1.amazonaws.com/bkt/k/t.yaml"), ("bkt".into(), "k/t.yaml".into()));
        assert_eq!(b("http://127.0.0.1:5000/bkt/t.yaml"), ("bkt".into(), "t.yaml".into()));
        assert!(bucket_and_key("s3://bkt/t.yaml").is_err());
        assert_eq!(b("https://acme.s3-templates.s3.eu-west-1.amazonaws.com/t.yaml").0, "acme.s3-templates");
        let o = super::object("https://b.s3.eu-west-1.amazonaws.com/k.yaml?versionId=3%2Fx&x=1").unwrap();
        assert_eq!(
            (o.key.as_str(), o.version.as_deref(), o.region.as_deref()),
            ("k.yaml", Some("3/x"), Some("eu-west-1"))
        );
        assert_eq!(
            super::object("https://s3.amazonaws.com/cf-templates-1-us-east-1/k").unwrap().region,
            None
        );
        assert!(bucket_and_key("https://s3.amazonaws.com/bkt").is_err());
    }
}
