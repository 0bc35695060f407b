//! Seeding the emulator through the SDK (never through vend): the demo organization of
//! `snapshots/demo.state.json`, and its Service Catalog part (portfolio, product with its
//! versions and their templates in S3, principal, share, launch constraint, the provisioned
//! pipeline in its account).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::Emulator;
use aws_sdk_organizations as org;
use aws_sdk_servicecatalog as sc;
use std::collections::{BTreeMap, HashMap};
use vend::model::State;

use crate::common::root;

pub fn demo() -> State {
    serde_json::from_str(&std::fs::read_to_string(root().join("snapshots/demo.state.json")).unwrap()).unwrap()
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

pub fn tags(t: &BTreeMap<String, String>) -> Option<Vec<org::types::Tag>> {
    Some(t.iter().map(|(k, v)| org::types::Tag::builder().key(k).value(v).build().unwrap()).collect())
}

/// Seed the Organizations part of the demo snapshot, and its IAM Identity Center instance with
/// the groups and permission sets it has (`seed_demo_identity_center`); returns demo id ->
/// emulator id.
pub fn seed_organization(emu: &Emulator) -> HashMap<String, String> {
    let ids = seed_organizations_only(emu);
    seed_demo_identity_center(emu);
    ids
}

/// The Organizations part of the demo snapshot only; returns demo id -> emulator id.
pub fn seed_organizations_only(emu: &Emulator) -> HashMap<String, String> {
    let d = demo();
    let c = org::Client::new(&emu.sdk_config());
    rt().block_on(async {
        let o = c
            .create_organization()
            .feature_set(org::types::OrganizationFeatureSet::All)
            .send()
            .await
            .unwrap();
        let mgmt = o.organization().unwrap().master_account_id().unwrap().to_string();
        let root_id = c.list_roots().send().await.unwrap().roots()[0].id().unwrap().to_string();
        let mut ids = HashMap::from([
            (d.organization.root_id.clone(), root_id.clone()),
            (d.organization.management_account_id.clone(), mgmt),
            ("p-FullAWSAccess".to_string(), "p-FullAWSAccess".to_string()),
        ]);
        let _ = c
            .enable_policy_type()
            .root_id(&root_id)
            .policy_type(org::types::PolicyType::ServiceControlPolicy)
            .send()
            .await;
        let mut pending = d.organizational_units.clone();
        while !pending.is_empty() {
            let mut later = vec![];
            for ou in pending {
                match ids.get(&ou.parent_id).cloned() {
                    Some(parent) => {
                        let out = c
                            .create_organizational_unit()
                            .parent_id(parent)
                            .name(&ou.name)
                            .set_tags(tags(&ou.tags))
                            .send()
                            .await
                            .unwrap();
                        ids.insert(
                            ou.id.clone(),
                            out.organizational_unit().unwrap().id().unwrap().to_string(),
                        );
                    }
                    None => later.push(ou),
                }
            }
            pending = later;
        }
        for a in d.accounts.iter().filter(|a| a.id != d.organization.management_account_id) {
            let out = c
                .create_account()
                .account_name(&a.name)
                .email(&a.email)
                .set_tags(tags(&a.tags))
                .send()
                .await
                .unwrap();
            let car = out.create_account_status().unwrap().id().unwrap().to_string();
            let mut account_id = None;
            for _ in 0..50 {
                let s =
                    c.describe_create_account_status().create_account_request_id(&car).send().await.unwrap();
                let s = s.create_account_status().unwrap();
                if let Some(id) =
                    s.account_id().filter(|_| s.state().map(|x| x.as_str()) == Some("SUCCEEDED"))
                {
                    account_id = Some(id.to_string());
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            let account_id = account_id.expect("CreateAccount succeeds");
            c.move_account()
                .account_id(&account_id)
                .source_parent_id(&root_id)
                .destination_parent_id(&ids[&a.parent_id])
                .send()
                .await
                .unwrap();
            ids.insert(a.id.clone(), account_id);
        }
        for p in d.policies.iter().filter(|p| !p.aws_managed) {
            let out = c
                .create_policy()
                .name(&p.name)
                .description("")
                .content(&p.content)
                .r#type(org::types::PolicyType::ServiceControlPolicy)
                .set_tags(if p.tags.is_empty() { None } else { tags(&p.tags) })
                .send()
                .await
                .unwrap();
            let id = out.policy().unwrap().policy_summary().unwrap().id().unwrap().to_string();
            for t in &p.target_ids {
                c.attach_policy().policy_id(&id).target_id(&ids[t]).send().await.unwrap();
            }
            ids.insert(p.id.clone(), id);
        }
        ids
    })
}

/// Create the template bucket `name` as vend sets it up (`template_bucket:` create): tagged
/// `vend:managed=true`, all block-public-access settings on, SSE-S3, versioning on.
pub async fn vend_bucket(s3: &aws_sdk_s3::Client, name: &str) {
    use aws_sdk_s3::types as t;
    s3.create_bucket().bucket(name).send().await.unwrap();
    let tag = t::Tag::builder().key("vend:managed").value("true").build().unwrap();
    s3.put_bucket_tagging()
        .bucket(name)
        .tagging(t::Tagging::builder().tag_set(tag).build().unwrap())
        .send()
        .await
        .unwrap();
    let block = t::PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    s3.put_public_access_block().bucket(name).public_access_block_configuration(block).send().await.unwrap();
    let sse = t::ServerSideEncryptionByDefault::builder()
        .sse_algorithm(t::ServerSideEncryption::Aes256)
        .build()
        .unwrap();
    let rule = t::ServerSideEncryptionRule::builder().apply_server_side_encryption_by_default(sse).build();
    let conf = t::ServerSideEncryptionConfiguration::builder().rules(rule).build().unwrap();
    s3.put_bucket_encryption().bucket(name).server_side_encryption_configuration(conf).send().await.unwrap();
    let versioning = t::VersioningConfiguration::builder().status(t::BucketVersioningStatus::Enabled).build();
    s3.put_bucket_versioning().bucket(name).versioning_configuration(versioning).send().await.unwrap();
}

/// The demo's management account id as it appears in URLs and ARNs of the demo files.
pub const DEMO_MANAGEMENT: &str = "111111111111";

/// Seed the Service Catalog part of the demo snapshot (after `seed_organization`, with its id
/// map): demo id -> emulator id is extended with the portfolio, product, versions and the
/// provisioned product. Template URLs name the emulator's management account; the template
/// bucket exists (empty).
pub fn seed_catalog(emu: &Emulator, ids: &mut HashMap<String, String>) {
    let d = demo();
    let conf = emu.sdk_config();
    let c = sc::Client::new(&conf);
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf).force_path_style(true).build(),
    );
    let mgmt = ids[&d.organization.management_account_id].clone();
    let sts = aws_sdk_sts::Client::new(&conf);
    let t = |k: &str, v: &str| sc::types::Tag::builder().key(k).value(v).build().unwrap();
    let sc_tags = |m: &BTreeMap<String, String>| -> Option<Vec<sc::types::Tag>> {
        (!m.is_empty()).then(|| m.iter().map(|(k, v)| t(k, v)).collect())
    };
    rt().block_on(async {
        // As the demo snapshot records it: vend's, private, encrypted, versioned.
        vend_bucket(&s3, &format!("vend-templates-{mgmt}")).await;
        // The launch roles the snapshot records (the management account's, and those of the
        // accounts with pipelines), as vend creates them.
        for r in d.launch_path.iter().flat_map(|l| &l.roles) {
            let account = ids[&r.account_id].clone();
            let iam = if account == mgmt {
                aws_sdk_iam::Client::new(&conf)
            } else {
                role_iam(&sts, &conf, &account, "OrganizationAccountAccessRole", "seed").await
            };
            launch_role(&iam, &r.name, r.trusts_catalog, &r.policy, &r.tags).await;
        }
        // The versions' templates, from the demo workspace's blueprints (the emulator launches a
        // product's stack from its template: defaults and required parameters).
        for p in &d.products {
            for v in &p.versions {
                let file = root().join(format!("blueprints/pipelines/{}/{}/template.yaml", p.name, v.name));
                let (Ok(body), Some((_, key))) =
                    (std::fs::read(&file), v.template_url.split_once(".amazonaws.com/"))
                else {
                    continue;
                };
                s3.put_object()
                    .bucket(format!("vend-templates-{mgmt}"))
                    .key(key)
                    .body(aws_sdk_s3::primitives::ByteStream::from(body))
                    .send()
                    .await
                    .unwrap();
            }
        }
        c.enable_aws_organizations_access().send().await.unwrap();
        for p in &d.products {
            let mut versions = p.versions.iter();
            let first = versions.next().unwrap();
            let props = |v: &vend::model::ProductVersion| {
                sc::types::ProvisioningArtifactProperties::builder()
                    .name(&v.name)
                    .description(&v.description)
                    .r#type(sc::types::ProvisioningArtifactType::CloudFormationTemplate)
                    .info("LoadTemplateFromURL", v.template_url.replace(DEMO_MANAGEMENT, &mgmt))
                    .build()
            };
            let out = c
                .create_product()
                .name(&p.name)
                .owner(&p.owner)
                .product_type(sc::types::ProductType::CloudFormationTemplate)
                .set_tags(sc_tags(&p.tags))
                .provisioning_artifact_parameters(props(first))
                .send()
                .await
                .unwrap();
            let pid =
                out.product_view_detail().unwrap().product_view_summary().unwrap().product_id().unwrap();
            ids.insert(p.id.clone(), pid.to_string());
            ids.insert(
                first.id.clone(),
                out.provisioning_artifact_detail().unwrap().id().unwrap().to_string(),
            );
            for v in versions {
                let out = c
                    .create_provisioning_artifact()
                    .product_id(pid)
                    .parameters(props(v))
                    .send()
                    .await
                    .unwrap();
                ids.insert(
                    v.id.clone(),
                    out.provisioning_artifact_detail().unwrap().id().unwrap().to_string(),
                );
            }
            for v in &p.versions {
                if v.guidance != "DEFAULT" || !v.active {
                    c.update_provisioning_artifact()
                        .product_id(pid)
                        .provisioning_artifact_id(&ids[&v.id])
                        .guidance(sc::types::ProvisioningArtifactGuidance::from(v.guidance.as_str()))
                        .active(v.active)
                        .send()
                        .await
                        .unwrap();
                }
            }
        }
        for p in &d.portfolios {
            let out = c
                .create_portfolio()
                .display_name(&p.name)
                .description(&p.description)
                .provider_name(&p.provider)
                .set_tags(sc_tags(&p.tags))
                .send()
                .await
                .unwrap();
            let port = out.portfolio_detail().unwrap().id().unwrap().to_string();
            ids.insert(p.id.clone(), port.clone());
            for prod in &p.product_ids {
                c.associate_product_with_portfolio()
                    .product_id(&ids[prod])
                    .portfolio_id(&port)
                    .send()
                    .await
                    .unwrap();
            }
            for pr in &p.principals {
                c.associate_principal_with_portfolio()
                    .portfolio_id(&port)
                    .principal_arn(pr.arn.replace(DEMO_MANAGEMENT, &mgmt))
                    .principal_type(sc::types::PrincipalType::from(pr.principal_type.as_str()))
                    .send()
                    .await
                    .unwrap();
            }
            for sh in &p.shares {
                let b = c.create_portfolio_share().portfolio_id(&port);
                let b = if sh.share_principals { b.share_principals(true) } else { b };
                let b = if sh.share_type == "ACCOUNT" {
                    b.account_id(&ids[&sh.value])
                } else {
                    let value = ids.get(&sh.value).cloned().unwrap_or_else(|| sh.value.clone());
                    b.organization_node(
                        sc::types::OrganizationNode::builder()
                            .r#type(sc::types::OrganizationNodeType::from(sh.share_type.as_str()))
                            .value(value)
                            .build(),
                    )
                };
                let out = b.send().await.unwrap();
                // An organization share is usable once it has completed (the seed launches next).
                if let Some(token) = out.portfolio_share_token() {
                    for _ in 0..20 {
                        let s = c
                            .describe_portfolio_share_status()
                            .portfolio_share_token(token)
                            .send()
                            .await
                            .unwrap();
                        if s.status().map(|x| x.as_str()) == Some("COMPLETED") {
                            break;
                        }
                    }
                }
            }
            for lc in &p.launch_constraints {
                c.create_constraint()
                    .portfolio_id(&port)
                    .product_id(&ids[&lc.product_id])
                    .r#type("LAUNCH")
                    .parameters(serde_json::json!({ "LocalRoleName": lc.local_role_name }).to_string())
                    .send()
                    .await
                    .unwrap();
            }
        }
        // Provisioned products live in their account: launch them as that account's
        // OrganizationAccountAccessRole, and wait for each record.
        for pp in &d.provisioned_products {
            let account = ids[&pp.account_id].clone();
            let client =
                if account == mgmt { c.clone() } else { member_catalog(&sts, &conf, &account, "seed").await };
            let out = client
                .provision_product()
                .provisioned_product_name(&pp.name)
                .product_id(&ids[&pp.product_id])
                .provisioning_artifact_id(&ids[&pp.version_id])
                .set_provisioning_parameters(Some(
                    pp.params
                        .iter()
                        .map(|(k, v)| sc::types::ProvisioningParameter::builder().key(k).value(v).build())
                        .collect(),
                ))
                .set_tags(sc_tags(&pp.tags))
                .send()
                .await
                .unwrap();
            let rec = out.record_detail().unwrap().record_id().unwrap().to_string();
            let mut pp_id = None;
            for _ in 0..20 {
                let r = client.describe_record().id(&rec).send().await.unwrap();
                let d = r.record_detail().unwrap();
                if d.status().map(|s| s.as_str()) == Some("SUCCEEDED") {
                    pp_id = d.provisioned_product_id().map(str::to_string);
                    break;
                }
            }
            ids.insert(pp.id.clone(), pp_id.expect("the seeded pipeline is provisioned"));
        }
    });
}

/// Create launch role `name` as vend does: trusted by Service Catalog (when `trusted`), tagged,
/// with vend's inline policy `policy` (none when empty).
pub async fn launch_role(
    iam: &aws_sdk_iam::Client,
    name: &str,
    trusted: bool,
    policy: &str,
    tags: &BTreeMap<String, String>,
) {
    let trust = if trusted {
        vend::model::LAUNCH_ROLE_TRUST.to_string()
    } else {
        vend::model::LAUNCH_ROLE_TRUST.replace("servicecatalog.amazonaws.com", "ec2.amazonaws.com")
    };
    iam.create_role()
        .role_name(name)
        .assume_role_policy_document(trust)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(k).value(v).build().unwrap())
                .collect(),
        ))
        .send()
        .await
        .unwrap();
    if !policy.is_empty() {
        iam.put_role_policy()
            .role_name(name)
            .policy_name(vend::model::LAUNCH_ROLE_POLICY)
            .policy_document(policy)
            .send()
            .await
            .unwrap();
    }
}

/// An IAM client acting as `role` in `account` (STS AssumeRole through the emulator).
pub async fn role_iam(
    sts: &aws_sdk_sts::Client,
    conf: &aws_config::SdkConfig,
    account: &str,
    role: &str,
    session: &str,
) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&role_conf(sts, conf, account, role, session).await)
}

/// The SDK config of `conf` with the credentials of `role` in `account` (STS AssumeRole
/// through the emulator).
pub async fn role_conf(
    sts: &aws_sdk_sts::Client,
    conf: &aws_config::SdkConfig,
    account: &str,
    role: &str,
    session: &str,
) -> aws_config::SdkConfig {
    let out = sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/{role}"))
        .role_session_name(session)
        .send()
        .await
        .unwrap();
    let cr = out.credentials().unwrap();
    let creds = sc::config::Credentials::new(
        cr.access_key_id(),
        cr.secret_access_key(),
        Some(cr.session_token().to_string()),
        None,
        "vend-test",
    );
    conf.to_builder().credentials_provider(sc::config::SharedCredentialsProvider::new(creds)).build()
}

/// A Service Catalog client acting in member `account` through its
/// `OrganizationAccountAccessRole` (STS AssumeRole against the emulator).
pub async fn member_catalog(
    sts: &aws_sdk_sts::Client,
    conf: &aws_config::SdkConfig,
    account: &str,
    session: &str,
) -> sc::Client {
    role_catalog(sts, conf, account, "OrganizationAccountAccessRole", session).await
}

/// A Service Catalog client acting as `role` in `account` (STS AssumeRole through the emulator).
pub async fn role_catalog(
    sts: &aws_sdk_sts::Client,
    conf: &aws_config::SdkConfig,
    account: &str,
    role: &str,
    session: &str,
) -> sc::Client {
    sc::Client::new(&role_conf(sts, conf, account, role, session).await)
}

// ------------------------------------------------------------------ Identity Center (issue 18)

/// The demo's Identity Center groups (display names), as `snapshots/demo.state.json` has them.
pub fn demo_groups() -> Vec<String> {
    let d = demo();
    let ic =
        d.access.and_then(|a| a.identity_center).expect("the demo state has an Identity Center instance");
    ic.groups.into_iter().map(|g| g.display_name).collect()
}

/// The demo's permission sets (names), as `snapshots/demo.state.json` has them.
pub fn demo_permission_sets() -> Vec<String> {
    let d = demo();
    let ic =
        d.access.and_then(|a| a.identity_center).expect("the demo state has an Identity Center instance");
    ic.permission_sets.into_iter().map(|p| p.name).collect()
}

/// What `seed_identity_center` made: the instance, and groups / permission sets by name.
#[derive(Debug, Clone)]
pub struct IdentitySeed {
    pub instance_arn: String,
    pub identity_store_id: String,
    /// Display name -> group id.
    pub groups: BTreeMap<String, String>,
    /// Name -> permission set ARN.
    pub permission_sets: BTreeMap<String, String>,
}

/// The organization's IAM Identity Center instance (the one ListInstances lists, created when
/// there is none) in the emulator's region, with `groups` in its identity store and
/// `permission_sets`, through the SDK as the management account.
pub fn seed_identity_center(emu: &Emulator, groups: &[String], permission_sets: &[String]) -> IdentitySeed {
    let conf = emu.sdk_config();
    let sso = aws_sdk_ssoadmin::Client::new(&conf);
    let ids = aws_sdk_identitystore::Client::new(&conf);
    rt().block_on(async {
        let mut listed = sso.list_instances().send().await.unwrap();
        if listed.instances().is_empty() {
            sso.create_instance().name("vend-demo").send().await.unwrap();
            listed = sso.list_instances().send().await.unwrap();
        }
        let instance = &listed.instances()[0];
        let instance_arn = instance.instance_arn().unwrap().to_string();
        let identity_store_id = instance.identity_store_id().unwrap().to_string();
        let mut seed = IdentitySeed {
            instance_arn,
            identity_store_id,
            groups: BTreeMap::new(),
            permission_sets: BTreeMap::new(),
        };
        // Idempotent: a group or permission set of that name already there is reused (AWS
        // refuses a second one with a ConflictException).
        for g in groups {
            let by_name = aws_sdk_identitystore::types::UniqueAttribute::builder()
                .attribute_path("displayName")
                .attribute_value(g.as_str().into())
                .build()
                .unwrap();
            let found = ids
                .get_group_id()
                .identity_store_id(&seed.identity_store_id)
                .alternate_identifier(aws_sdk_identitystore::types::AlternateIdentifier::UniqueAttribute(
                    by_name,
                ))
                .send()
                .await;
            let id = match found {
                Ok(out) => out.group_id().to_string(),
                Err(_) => ids
                    .create_group()
                    .identity_store_id(&seed.identity_store_id)
                    .display_name(g)
                    .send()
                    .await
                    .unwrap()
                    .group_id()
                    .to_string(),
            };
            seed.groups.insert(g.clone(), id);
        }
        let mut existing = BTreeMap::new();
        let listed = sso.list_permission_sets().instance_arn(&seed.instance_arn).send().await.unwrap();
        for arn in listed.permission_sets() {
            let d = sso
                .describe_permission_set()
                .instance_arn(&seed.instance_arn)
                .permission_set_arn(arn)
                .send()
                .await
                .unwrap();
            existing.insert(d.permission_set().unwrap().name().unwrap().to_string(), arn.clone());
        }
        for p in permission_sets {
            let arn = match existing.get(p) {
                Some(arn) => arn.clone(),
                None => {
                    let out = sso
                        .create_permission_set()
                        .instance_arn(&seed.instance_arn)
                        .name(p)
                        .session_duration("PT1H")
                        .send()
                        .await
                        .unwrap();
                    out.permission_set().unwrap().permission_set_arn().unwrap().to_string()
                }
            };
            seed.permission_sets.insert(p.clone(), arn);
        }
        seed
    })
}

/// The demo's Identity Center (`demo_groups()`, `demo_permission_sets()`), as
/// `snapshots/demo.state.json` has it; no assignment, no contact, no trusted access, as there.
pub fn seed_demo_identity_center(emu: &Emulator) -> IdentitySeed {
    seed_identity_center(emu, &demo_groups(), &demo_permission_sets())
}
