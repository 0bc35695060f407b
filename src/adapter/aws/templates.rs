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
        let bucket = host.split(".s3").next().unwrap_or_default();
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
        let s3 = self.s3.clone();
        let urls: Vec<String> = urls.to_vec();
        let fetched: Result<Vec<Fetched>, CloudError> = self.rt.block_on(each(urls, |url| {
            let s3 = s3.clone();
            async move {
                let body = match bucket_and_key(&url) {
                    Err(e) => Err(e),
                    Ok((bucket, key)) => match s3.get_object().bucket(&bucket).key(&key).send().await {
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
        assert!(bucket_and_key("https://s3.amazonaws.com/bkt").is_err());
    }
}
