//! Writing to AWS: `Writer` performs one `port::Op` — the Organizations operations (OUs,
//! accounts, tags, SCPs) and the template upload to S3 here, the Service Catalog ones in
//! `write_catalog` — always with vend's idempotency tokens, and finds the clients to act with
//! (the caller's, or the member role's in a member account, through STS AssumeRole). It never
//! reads the whole state.

use super::config::{rejections_only, retry_partition};
use super::errors::{NotRetried, classify};
use super::read::Reader;
use super::write_catalog::guidance;
use super::{Member, PAGE, Routes, partition_of};
use crate::model::Tags;
use crate::port::{ArtifactSpec, CloudError, Op, Outcome};
use aws_sdk_organizations as org;
use aws_sdk_s3 as s3;
use aws_sdk_servicecatalog as sc;
use std::time::Duration;

pub(super) struct Writer<'a> {
    pub(super) org: org::Client,
    pub(super) sc: sc::Client,
    pub(super) s3: aws_sdk_s3::Client,
    pub(super) iam: aws_sdk_iam::Client,
    pub(super) sts: aws_sdk_sts::Client,
    pub(super) account: aws_sdk_account::Client,
    pub(super) conf: &'a aws_config::SdkConfig,
    pub(super) routes: &'a Routes,
}

impl Writer<'_> {
    /// The caller's account id and partition (GetCallerIdentity once).
    pub(super) async fn caller(&mut self) -> Result<(String, String), CloudError> {
        if let Some(c) = self.routes.learned().caller.clone() {
            return Ok(c);
        }
        let out =
            self.sts.get_caller_identity().send().await.map_err(|e| classify("GetCallerIdentity", e))?;
        let c = (out.account().unwrap_or_default().to_string(), partition_of(out.arn().unwrap_or_default()));
        self.routes.learned().caller = Some(c.clone());
        Ok(c)
    }

    /// A Service Catalog client acting in `account`: the caller's own client, or one with the
    /// member role's credentials there (assumed again when they are about to expire).
    pub(super) async fn client_for(&mut self, account: &str) -> Result<sc::Client, CloudError> {
        let (me, _) = self.caller().await?;
        if account.is_empty() || account == me {
            return Ok(self.sc.clone());
        }
        Ok(self.member(account).await?.sc)
    }

    /// Service Catalog and CloudFormation clients acting in the member account `account` with
    /// the member role's credentials (STS AssumeRole once, again when they are about to expire).
    pub(super) async fn member(&mut self, account: &str) -> Result<Member, CloudError> {
        let (_, partition) = self.caller().await?;
        if let Some(m) = self.cached_member(account) {
            return Ok(m);
        }
        let m =
            assume_member(&self.sts, self.conf, &partition, &self.routes.member_role_name, account).await?;
        self.routes.learned().members.insert(account.to_string(), m.clone());
        Ok(m)
    }

    /// The member role's clients in `account` already assumed, unless they are about to expire.
    pub(super) fn cached_member(&self, account: &str) -> Option<Member> {
        let soon = std::time::SystemTime::now() + Duration::from_secs(300);
        self.routes.learned().members.get(account).filter(|m| m.expires.is_none_or(|e| e > soon)).cloned()
    }
}

/// Clients acting in member `account` as `role_name` (STS AssumeRole with `sts`, the caller's).
/// Takes no `Writer`, so `read_state` can assume the roles of many accounts at once.
pub(super) async fn assume_member(
    sts: &aws_sdk_sts::Client,
    conf: &aws_config::SdkConfig,
    partition: &str,
    role_name: &str,
    account: &str,
) -> Result<Member, CloudError> {
    let role = format!("arn:{partition}:iam::{account}:role/{role_name}");
    let out = sts
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
    let conf =
        conf.to_builder().credentials_provider(sc::config::SharedCredentialsProvider::new(provider)).build();
    Ok(Member {
        sc: sc::Client::from_conf(
            sc::config::Builder::from(&conf)
                .retry_partition(retry_partition())
                .retry_classifier(NotRetried)
                .build(),
        ),
        iam: aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::config::Builder::from(&conf)
                .retry_partition(retry_partition())
                .retry_classifier(NotRetried)
                .build(),
        ),
        read: Reader::new(&conf),
        conf,
        expires,
    })
}

impl Writer<'_> {
    /// An IAM client acting in `account`: the caller's own, or the member role's there.
    pub(super) async fn iam_for(&mut self, account: &str) -> Result<aws_sdk_iam::Client, CloudError> {
        let (me, _) = self.caller().await?;
        if account.is_empty() || account == me {
            return Ok(self.iam.clone());
        }
        Ok(self.member(account).await?.iam)
    }

    /// The client for a provisioned product (its account, when known).
    pub(super) async fn client_for_provisioned(&mut self, pp_id: &str) -> Result<sc::Client, CloudError> {
        let account = self.routes.learned().provisioned.get(pp_id).cloned().unwrap_or_default();
        self.client_for(&account).await
    }

    pub(super) fn artifact_props(v: &ArtifactSpec) -> sc::types::ProvisioningArtifactProperties {
        sc::types::ProvisioningArtifactProperties::builder()
            .name(&v.name)
            .description(&v.description)
            .r#type(sc::types::ProvisioningArtifactType::CloudFormationTemplate)
            .info("LoadTemplateFromURL", &v.template_url)
            .build()
    }

    pub(super) async fn set_guidance(
        &self,
        product_id: &str,
        artifact_id: &str,
        g: &str,
    ) -> Result<(), CloudError> {
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
    pub(super) async fn call(&mut self, op: &Op) -> Result<Outcome, CloudError> {
        if let Some(done) = self.access_call(op).await {
            return done;
        }
        if let Some(done) = self.permission_set_call(op).await {
            return done;
        }
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
            Op::UpdateOrganizationalUnit { ou_id, name: ou } => {
                let out = c
                    .update_organizational_unit()
                    .organizational_unit_id(ou_id)
                    .name(ou)
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                Ok(done(rid(&out), Some(ou_id.clone())))
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
            Op::CreateBucket { bucket, region } => {
                let mut req = self.s3.create_bucket().bucket(bucket);
                // us-east-1 takes no LocationConstraint (S3 API reference, CreateBucket).
                if region != "us-east-1" {
                    req = req.create_bucket_configuration(
                        s3::types::CreateBucketConfiguration::builder()
                            .location_constraint(s3::types::BucketLocationConstraint::from(region.as_str()))
                            .build(),
                    );
                }
                let out = req.send().await.map_err(|x| classify(&name, x))?;
                Ok(done(s3_rid(&out), Some(bucket.clone())))
            }
            Op::PutPublicAccessBlock { bucket } => {
                let all = s3::types::PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build();
                let out = self
                    .s3
                    .put_public_access_block()
                    .bucket(bucket)
                    .public_access_block_configuration(all)
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                Ok(done(s3_rid(&out), Some(bucket.clone())))
            }
            Op::PutBucketEncryption { bucket, algorithm } => {
                let rule = s3::types::ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(
                        s3::types::ServerSideEncryptionByDefault::builder()
                            .sse_algorithm(s3::types::ServerSideEncryption::from(algorithm.as_str()))
                            .build()
                            .map_err(|e| CloudError::hard("InvalidRequest", e.to_string()))?,
                    )
                    .build();
                let conf = s3::types::ServerSideEncryptionConfiguration::builder()
                    .rules(rule)
                    .build()
                    .map_err(|e| CloudError::hard("InvalidRequest", e.to_string()))?;
                let out = self
                    .s3
                    .put_bucket_encryption()
                    .bucket(bucket)
                    .server_side_encryption_configuration(conf)
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                Ok(done(s3_rid(&out), Some(bucket.clone())))
            }
            Op::PutBucketVersioning { bucket } => {
                let out = self
                    .s3
                    .put_bucket_versioning()
                    .bucket(bucket)
                    .versioning_configuration(
                        s3::types::VersioningConfiguration::builder()
                            .status(s3::types::BucketVersioningStatus::Enabled)
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                Ok(done(s3_rid(&out), Some(bucket.clone())))
            }
            Op::PutBucketTagging { bucket, tags } => {
                let set = tags
                    .iter()
                    .map(|(k, v)| s3::types::Tag::builder().key(k).value(v).build())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| CloudError::hard("InvalidTag", e.to_string()))?;
                let tagging = s3::types::Tagging::builder()
                    .set_tag_set(Some(set))
                    .build()
                    .map_err(|e| CloudError::hard("InvalidTag", e.to_string()))?;
                let out = self
                    .s3
                    .put_bucket_tagging()
                    .bucket(bucket)
                    .tagging(tagging)
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                Ok(done(s3_rid(&out), Some(bucket.clone())))
            }
            Op::CreateRole { account_id, name: role, trust_policy, tags } => {
                let iam = self.iam_for(account_id).await?;
                let tags = tags
                    .iter()
                    .map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(k).value(v).build())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| CloudError::hard("InvalidInput", e.to_string()))?;
                let out = iam
                    .create_role()
                    .role_name(role)
                    .assume_role_policy_document(trust_policy)
                    .description("Service Catalog launch role, managed by vend")
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                Ok(done(iam_rid(&out), out.role().map(|r| r.arn().to_string())))
            }
            Op::UpdateAssumeRolePolicy { account_id, name: role, trust_policy } => {
                let iam = self.iam_for(account_id).await?;
                let out = iam
                    .update_assume_role_policy()
                    .role_name(role)
                    .policy_document(trust_policy)
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                Ok(done(iam_rid(&out), None))
            }
            Op::PutRolePolicy { account_id, name: role, policy_name, document } => {
                let iam = self.iam_for(account_id).await?;
                let out = iam
                    .put_role_policy()
                    .role_name(role)
                    .policy_name(policy_name)
                    .policy_document(document)
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                Ok(done(iam_rid(&out), None))
            }
            Op::DeleteRolePolicy { account_id, name: role, policy_name } => {
                let iam = self.iam_for(account_id).await?;
                let out = iam
                    .delete_role_policy()
                    .role_name(role)
                    .policy_name(policy_name)
                    .send()
                    .await
                    .map_err(|x| classify(&name, x))?;
                Ok(done(iam_rid(&out), None))
            }
            Op::DeleteRole { account_id, name: role } => {
                let iam = self.iam_for(account_id).await?;
                let out = iam.delete_role().role_name(role).send().await.map_err(|x| classify(&name, x))?;
                Ok(done(iam_rid(&out), None))
            }
            _ => self.catalog_call(op).await,
        }
    }
}

/// The request id of an IAM answer (for the audit log).
fn iam_rid<T: aws_sdk_iam::operation::RequestId>(out: &T) -> String {
    out.request_id().unwrap_or_default().to_string()
}

/// The request id of an S3 answer (for the audit log).
fn s3_rid<T: aws_sdk_s3::operation::RequestId>(out: &T) -> String {
    out.request_id().unwrap_or_default().to_string()
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
