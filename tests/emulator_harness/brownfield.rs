//! Issue 15's brownfield organization (`tests/brownfield`) in the emulator, made through the
//! SDK (never through vend), and the emulator's organization listed back through the SDK.
//!
//! `seed` builds what `brownfield::organization(accounts, ous)` describes (the description's
//! ids are not the emulator's: `Seeded::ids` maps them): the OUs, the accounts (CreateAccount,
//! MoveAccount, tags; the suspended ones closed with CloseAccount, which moto answers with the
//! account SUSPENDED at once), the customer SCPs attached to the root, OUs and accounts, the
//! template bucket (not vend's: untagged) with each version's template at its URL's key, the
//! portfolio (tags, products, the IAM_PATTERN principal, launch constraints naming a role in the
//! management account, two OU shares without principal sharing), the products and their
//! versions (`LoadTemplateFromURL`, v1 DEPRECATED), the launch role in every account with a
//! provisioned product, and the provisioned products launched in their member accounts through
//! the member role, as vend launches (the NoEcho `DbPassword` given a value).
//!
//! A member account's launch needs its role to reach the portfolio there (the emulator's
//! `servicecatalog.launch-principal`): the seed lets the member role in for the launches (its
//! pattern associated, principal sharing on) and then takes both back, so what is left is the
//! description's portfolio — as when a team launched through a principal it no longer has.
//!
//! Included with `#[path]` next to `brownfield` and `emulator_harness` (tests/aws_import.rs,
//! benches/aws_import.rs).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::brownfield;
use crate::emulator_harness::seed::{member_catalog, role_conf, role_iam};
use crate::emulator_harness::{Emulator, when_free};
use aws_sdk_organizations as org;
use aws_sdk_servicecatalog as sc;
use futures_util::stream::{self, StreamExt};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use vend::model::State;

/// The member role vend (and the seed) use in member accounts.
pub const MEMBER_ROLE: &str = "OrganizationAccountAccessRole";
/// How many seeding calls run at once (the emulator is threaded; the machine is small).
const PARALLEL: usize = 8;

/// What was seeded: the description, the emulator's management account and root, and
/// description id -> emulator id (OUs, accounts, policies, products, versions, the portfolio,
/// provisioned products; the root and the management account too).
pub struct Seeded {
    pub state: State,
    pub mgmt: String,
    pub root: String,
    pub ids: HashMap<String, String>,
}

impl Seeded {
    pub fn id(&self, described: &str) -> &str {
        self.ids.get(described).map(String::as_str).unwrap_or_else(|| panic!("{described} was not seeded"))
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn org_tags(t: &BTreeMap<String, String>) -> Option<Vec<org::types::Tag>> {
    (!t.is_empty())
        .then(|| t.iter().map(|(k, v)| org::types::Tag::builder().key(k).value(v).build().unwrap()).collect())
}

fn sc_tags(t: &BTreeMap<String, String>) -> Option<Vec<sc::types::Tag>> {
    (!t.is_empty())
        .then(|| t.iter().map(|(k, v)| sc::types::Tag::builder().key(k).value(v).build().unwrap()).collect())
}

/// An S3 client for the emulator (path-style, as the emulator serves buckets).
pub fn s3_client(conf: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(conf).force_path_style(true).build())
}

/// (bucket, key) of a virtual-hosted template URL of the description.
fn bucket_key(url: &str) -> (String, String) {
    let rest = url.strip_prefix("https://").unwrap();
    let (host, key) = rest.split_once('/').unwrap();
    (host.split(".s3.").next().unwrap().to_string(), key.to_string())
}

/// Wait until an organization-node share operation has completed.
async fn share_done(c: &sc::Client, token: Option<&str>) {
    let Some(token) = token else { return };
    for _ in 0..50 {
        let s = c.describe_portfolio_share_status().portfolio_share_token(token).send().await.unwrap();
        if s.status().map(|x| x.as_str()) == Some("COMPLETED") {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("portfolio share {token} did not complete");
}

/// Seed `brownfield::organization(accounts, ous)` into the (reset) emulator.
pub fn seed(emu: &Emulator, accounts: usize, ous: usize) -> Seeded {
    let state = brownfield::organization(accounts, ous);
    let conf = emu.sdk_config();
    let rt = runtime();
    let (mgmt, root, ids) = rt.block_on(async {
        let mut ids = seed_organization(&conf, &state).await;
        seed_catalog(&conf, &state, &mut ids).await;
        let mgmt = ids[brownfield::MGMT].clone();
        let root = ids[brownfield::ROOT].clone();
        (mgmt, root, ids)
    });
    Seeded { state, mgmt, root, ids }
}

async fn seed_organization(conf: &aws_config::SdkConfig, d: &State) -> HashMap<String, String> {
    let c = org::Client::new(conf);
    let o =
        c.create_organization().feature_set(org::types::OrganizationFeatureSet::All).send().await.unwrap();
    let mgmt = o.organization().unwrap().master_account_id().unwrap().to_string();
    let root = c.list_roots().send().await.unwrap().roots()[0].id().unwrap().to_string();
    // AWS enables SCPs with feature set ALL; moto needs the call (and then attaches
    // FullAWSAccess to everything created after it, as AWS does).
    c.enable_policy_type()
        .root_id(&root)
        .policy_type(org::types::PolicyType::ServiceControlPolicy)
        .send()
        .await
        .unwrap();
    let mut ids = HashMap::from([
        (d.organization.root_id.clone(), root.clone()),
        (d.organization.management_account_id.clone(), mgmt.clone()),
    ]);
    // OUs: a parent always comes before its children in the description.
    for ou in &d.organizational_units {
        let parent = ids.get(&ou.parent_id).unwrap_or_else(|| panic!("parent of {} first", ou.id)).clone();
        let out = c
            .create_organizational_unit()
            .parent_id(parent)
            .name(&ou.name)
            .set_tags(org_tags(&ou.tags))
            .send()
            .await
            .unwrap();
        ids.insert(ou.id.clone(), out.organizational_unit().unwrap().id().unwrap().to_string());
    }
    // Accounts: created under the root, moved, closed when the description has them suspended.
    let members: Vec<&vend::model::Account> =
        d.accounts.iter().filter(|a| a.id != d.organization.management_account_id).collect();
    let created: Vec<(String, String)> = stream::iter(members)
        .map(|a| {
            let c = c.clone();
            let root = root.clone();
            let parent = ids.get(&a.parent_id).cloned().unwrap_or_else(|| panic!("parent of {}", a.id));
            async move {
                // In parallel: each write waits while another holds its root or OU (`when_free`).
                let out = when_free(|| {
                    c.create_account()
                        .account_name(&a.name)
                        .email(&a.email)
                        .set_tags(org_tags(&a.tags))
                        .send()
                })
                .await
                .unwrap();
                let car = out.create_account_status().unwrap();
                let id = match car.account_id() {
                    Some(id) => id.to_string(),
                    None => {
                        let car = car.id().unwrap().to_string();
                        let mut id = None;
                        for _ in 0..100 {
                            let s = c
                                .describe_create_account_status()
                                .create_account_request_id(&car)
                                .send()
                                .await
                                .unwrap();
                            let s = s.create_account_status().unwrap();
                            if s.state().map(|x| x.as_str()) == Some("SUCCEEDED") {
                                id = s.account_id().map(str::to_string);
                                break;
                            }
                            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        }
                        id.expect("CreateAccount succeeds")
                    }
                };
                if parent != root {
                    when_free(|| {
                        c.move_account()
                            .account_id(&id)
                            .source_parent_id(&root)
                            .destination_parent_id(&parent)
                            .send()
                    })
                    .await
                    .unwrap();
                }
                if a.state == "SUSPENDED" {
                    when_free(|| c.close_account().account_id(&id).send()).await.unwrap();
                }
                (a.id.clone(), id)
            }
        })
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    ids.extend(created);
    // Customer SCPs and their attachments (FullAWSAccess is already everywhere).
    for p in d.policies.iter().filter(|p| !p.aws_managed) {
        let out = c
            .create_policy()
            .name(&p.name)
            .description("")
            .content(&p.content)
            .r#type(org::types::PolicyType::ServiceControlPolicy)
            .set_tags(org_tags(&p.tags))
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
}

async fn seed_catalog(conf: &aws_config::SdkConfig, d: &State, ids: &mut HashMap<String, String>) {
    let mgmt = ids[&d.organization.management_account_id].clone();
    let c = sc::Client::new(conf);
    let s3 = s3_client(conf);
    let sts = aws_sdk_sts::Client::new(conf);
    // The template bucket (the organization's own, not vend's) and each version's template.
    let mut buckets = BTreeSet::new();
    for t in &d.templates {
        let (bucket, key) = bucket_key(&t.url);
        if buckets.insert(bucket.clone()) {
            s3.create_bucket().bucket(&bucket).send().await.unwrap();
        }
        s3.put_object()
            .bucket(&bucket)
            .key(&key)
            .body(aws_sdk_s3::primitives::ByteStream::from(t.body.clone().into_bytes()))
            .send()
            .await
            .unwrap();
    }
    // The launch roles the description records: the management account's (the constraints
    // need it) and those of the accounts with provisioned products (the launches need them).
    for r in d.launch_path.iter().flat_map(|l| &l.roles) {
        let account = ids[&r.account_id].clone();
        let iam = if account == mgmt {
            aws_sdk_iam::Client::new(conf)
        } else {
            role_iam(&sts, conf, &account, MEMBER_ROLE, "brownfield-seed").await
        };
        let trust = if r.trusts_catalog {
            vend::model::LAUNCH_ROLE_TRUST.to_string()
        } else {
            vend::model::LAUNCH_ROLE_TRUST.replace("servicecatalog.amazonaws.com", "ec2.amazonaws.com")
        };
        iam.create_role()
            .role_name(&r.name)
            .assume_role_policy_document(trust)
            .set_tags((!r.tags.is_empty()).then(|| {
                r.tags
                    .iter()
                    .map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(k).value(v).build().unwrap())
                    .collect()
            }))
            .send()
            .await
            .unwrap();
    }
    let access = d.launch_path.as_ref().is_some_and(|l| l.servicecatalog_organizations_access == "ENABLED");
    if access {
        c.enable_aws_organizations_access().send().await.unwrap();
    }
    // Products and their versions.
    for p in &d.products {
        let props = |v: &vend::model::ProductVersion| {
            sc::types::ProvisioningArtifactProperties::builder()
                .name(&v.name)
                .description(&v.description)
                .r#type(sc::types::ProvisioningArtifactType::CloudFormationTemplate)
                .info("LoadTemplateFromURL", &v.template_url)
                .build()
        };
        let first = &p.versions[0];
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
        let pid = out
            .product_view_detail()
            .unwrap()
            .product_view_summary()
            .unwrap()
            .product_id()
            .unwrap()
            .to_string();
        ids.insert(p.id.clone(), pid.clone());
        ids.insert(first.id.clone(), out.provisioning_artifact_detail().unwrap().id().unwrap().to_string());
        for v in &p.versions[1..] {
            let out =
                c.create_provisioning_artifact().product_id(&pid).parameters(props(v)).send().await.unwrap();
            ids.insert(v.id.clone(), out.provisioning_artifact_detail().unwrap().id().unwrap().to_string());
        }
    }
    // The portfolios, with the member role let in for the launches below.
    let member_pattern = format!("arn:aws:iam:::role/{MEMBER_ROLE}");
    let mut let_in: Vec<(String, vend::model::Share)> = vec![];
    let mut pattern_added: Vec<String> = vec![];
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
                .principal_arn(&pr.arn)
                .principal_type(sc::types::PrincipalType::from(pr.principal_type.as_str()))
                .send()
                .await
                .unwrap();
        }
        let has_member_role = p.principals.iter().any(|x| x.arn == member_pattern);
        if !has_member_role {
            c.associate_principal_with_portfolio()
                .portfolio_id(&port)
                .principal_arn(&member_pattern)
                .principal_type(sc::types::PrincipalType::IamPattern)
                .send()
                .await
                .unwrap();
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
        for sh in &p.shares {
            let b = c.create_portfolio_share().portfolio_id(&port);
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
                .share_principals(true)
            };
            let out = b.send().await.unwrap();
            share_done(&c, out.portfolio_share_token()).await;
            if sh.share_type != "ACCOUNT" {
                let_in.push((port.clone(), sh.clone()));
            }
        }
        if !has_member_role {
            pattern_added.push(port.clone());
        }
    }
    // The provisioned products, each launched in its account through the member role.
    let launches: Vec<(String, String)> = stream::iter(d.provisioned_products.iter().enumerate())
        .map(|(k, pp)| {
            let sts = sts.clone();
            let account = ids[&pp.account_id].clone();
            let product = ids[&pp.product_id].clone();
            let version = ids[&pp.version_id].clone();
            let client = c.clone();
            let mgmt = mgmt.clone();
            async move {
                let client = if account == mgmt {
                    client
                } else {
                    member_catalog(&sts, conf, &account, "brownfield-seed").await
                };
                let params: Vec<sc::types::ProvisioningParameter> = pp
                    .params
                    .iter()
                    .map(|(key, v)| {
                        // A NoEcho value is masked in the description (as AWS returns it).
                        let v = if v == "****" { format!("brownfield-secret-{k}") } else { v.clone() };
                        sc::types::ProvisioningParameter::builder().key(key).value(v).build()
                    })
                    .collect();
                let out = client
                    .provision_product()
                    .provisioned_product_name(&pp.name)
                    .product_id(&product)
                    .provisioning_artifact_id(&version)
                    .set_provisioning_parameters(Some(params))
                    .set_tags(sc_tags(&pp.tags))
                    .send()
                    .await
                    .unwrap_or_else(|e| {
                        panic!("launching {} in {account}: {}", pp.name, sc::error::DisplayErrorContext(&e))
                    });
                let rec = out.record_detail().unwrap().record_id().unwrap().to_string();
                for _ in 0..100 {
                    let r = client.describe_record().id(&rec).send().await.unwrap();
                    let r = r.record_detail().unwrap();
                    if r.status().map(|s| s.as_str()) == Some("SUCCEEDED") {
                        return (pp.id.clone(), r.provisioned_product_id().unwrap().to_string());
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                panic!("{} in {account} was not provisioned", pp.name);
            }
        })
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    ids.extend(launches);
    // The member role out again: the description's principals and share settings.
    for port in pattern_added {
        c.disassociate_principal_from_portfolio()
            .portfolio_id(&port)
            .principal_arn(&member_pattern)
            .principal_type(sc::types::PrincipalType::IamPattern)
            .send()
            .await
            .unwrap();
    }
    for (port, sh) in let_in {
        let value = ids.get(&sh.value).cloned().unwrap_or_else(|| sh.value.clone());
        let out = c
            .update_portfolio_share()
            .portfolio_id(&port)
            .organization_node(
                sc::types::OrganizationNode::builder()
                    .r#type(sc::types::OrganizationNodeType::from(sh.share_type.as_str()))
                    .value(value)
                    .build(),
            )
            .share_principals(sh.share_principals)
            .send()
            .await
            .unwrap();
        share_done(&c, out.portfolio_share_token()).await;
    }
    // Deprecations last (a deprecated version takes no new launch).
    for p in &d.products {
        for v in p.versions.iter().filter(|v| v.guidance != "DEFAULT" || !v.active) {
            c.update_provisioning_artifact()
                .product_id(&ids[&p.id])
                .provisioning_artifact_id(&ids[&v.id])
                .guidance(sc::types::ProvisioningArtifactGuidance::from(v.guidance.as_str()))
                .active(v.active)
                .send()
                .await
                .unwrap();
        }
    }
}

/// An account as the SDK lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedAccount {
    pub name: String,
    pub email: String,
    pub status: String,
    /// The parent's path: "" for the root.
    pub parent: String,
    pub tags: BTreeMap<String, String>,
}

/// A portfolio as the SDK lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListedPortfolio {
    pub id: String,
    pub products: BTreeSet<String>,
    /// `organization`, `ou:PATH` or `account:ID`, with principal sharing.
    pub shares: BTreeMap<String, bool>,
    pub principals: BTreeSet<String>,
    /// Product name -> the launch constraint's LocalRoleName.
    pub launch_roles: BTreeMap<String, String>,
}

/// A provisioned product as the SDK lists it (DescribeProvisionedProduct in its account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedProvisioned {
    pub id: String,
    pub product: String,
    pub version: String,
    pub version_id: String,
    pub status: String,
    pub last_record: String,
}

/// The emulator's organization, listed through the SDK as the management account (member
/// accounts through the member role).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listed {
    pub mgmt: String,
    pub root: String,
    /// OU id -> path.
    pub ous: BTreeMap<String, String>,
    /// Member account id -> the account (the management account not included).
    pub accounts: BTreeMap<String, ListedAccount>,
    /// (customer SCP name, target: `root`, `ou:PATH` or `account:ID`).
    pub attachments: BTreeSet<(String, String)>,
    /// Portfolio name -> the portfolio.
    pub portfolios: BTreeMap<String, ListedPortfolio>,
    /// Product name -> version name -> guidance.
    pub products: BTreeMap<String, BTreeMap<String, String>>,
    /// (account id, name) -> the provisioned product.
    pub provisioned: BTreeMap<(String, String), ListedProvisioned>,
}

/// List the emulator's organization through the SDK (not vend).
pub fn list(emu: &Emulator) -> Listed {
    let conf = emu.sdk_config();
    runtime().block_on(list_async(&conf))
}

async fn list_async(conf: &aws_config::SdkConfig) -> Listed {
    let c = org::Client::new(conf);
    let o = c.describe_organization().send().await.unwrap();
    let mut out = Listed {
        mgmt: o.organization().unwrap().master_account_id().unwrap().to_string(),
        root: c.list_roots().send().await.unwrap().roots()[0].id().unwrap().to_string(),
        ..Default::default()
    };
    // OUs, depth first, and the accounts under each parent.
    let mut parents = vec![(out.root.clone(), String::new())];
    while let Some((id, path)) = parents.pop() {
        let mut pages = c.list_organizational_units_for_parent().parent_id(&id).into_paginator().send();
        let mut ous = vec![];
        while let Some(page) = pages.next().await {
            ous.extend(page.unwrap().organizational_units().iter().cloned());
        }
        for ou in ous {
            let p = if path.is_empty() {
                ou.name().unwrap().to_string()
            } else {
                format!("{path}/{}", ou.name().unwrap())
            };
            out.ous.insert(ou.id().unwrap().to_string(), p.clone());
            parents.push((ou.id().unwrap().to_string(), p));
        }
        let mut pages = c.list_accounts_for_parent().parent_id(&id).into_paginator().send();
        let mut accounts = vec![];
        while let Some(page) = pages.next().await {
            accounts.extend(page.unwrap().accounts().iter().cloned());
        }
        for a in accounts {
            let aid = a.id().unwrap().to_string();
            if aid == out.mgmt {
                continue;
            }
            #[allow(deprecated)]
            let status = match (a.state(), a.status()) {
                (Some(s), _) => s.as_str().to_string(),
                (None, Some(s)) => s.as_str().to_string(),
                (None, None) => String::new(),
            };
            out.accounts.insert(
                aid,
                ListedAccount {
                    name: a.name().unwrap_or_default().to_string(),
                    email: a.email().unwrap_or_default().to_string(),
                    status,
                    parent: path.clone(),
                    tags: BTreeMap::new(),
                },
            );
        }
    }
    for (id, a) in out.accounts.iter_mut() {
        let mut tags = c.list_tags_for_resource().resource_id(id).into_paginator().items().send();
        while let Some(t) = tags.next().await {
            let t = t.unwrap();
            a.tags.insert(t.key().to_string(), t.value().to_string());
        }
    }
    // Customer SCPs and their targets.
    let mut pages =
        c.list_policies().filter(org::types::PolicyType::ServiceControlPolicy).into_paginator().send();
    let mut policies = vec![];
    while let Some(page) = pages.next().await {
        policies.extend(page.unwrap().policies().iter().cloned());
    }
    for p in policies {
        if p.aws_managed() {
            continue;
        }
        let mut pages = c.list_targets_for_policy().policy_id(p.id().unwrap()).into_paginator().send();
        let mut targets = vec![];
        while let Some(page) = pages.next().await {
            targets.extend(page.unwrap().targets().iter().cloned());
        }
        for t in targets {
            let tid = t.target_id().unwrap();
            let target = match t.r#type().map(|x| x.as_str()) {
                Some("ROOT") => "root".to_string(),
                Some("ORGANIZATIONAL_UNIT") => format!("ou:{}", out.ous[tid]),
                _ => format!("account:{tid}"),
            };
            out.attachments.insert((p.name().unwrap().to_string(), target));
        }
    }
    // Service Catalog, in the management account.
    let s = sc::Client::new(conf);
    let mut product_names: HashMap<String, String> = HashMap::new();
    let mut version_names: HashMap<String, String> = HashMap::new();
    let mut page: Option<String> = None;
    loop {
        let r = s.search_products_as_admin().set_page_token(page.clone()).send().await.unwrap();
        for p in r.product_view_details() {
            let v = p.product_view_summary().unwrap();
            let (pid, name) = (v.product_id().unwrap().to_string(), v.name().unwrap().to_string());
            let arts = s.list_provisioning_artifacts().product_id(&pid).send().await.unwrap();
            let mut versions = BTreeMap::new();
            for a in arts.provisioning_artifact_details() {
                version_names.insert(a.id().unwrap().to_string(), a.name().unwrap().to_string());
                versions.insert(
                    a.name().unwrap().to_string(),
                    a.guidance().map(|g| g.as_str().to_string()).unwrap_or_else(|| "DEFAULT".into()),
                );
            }
            out.products.insert(name.clone(), versions);
            product_names.insert(pid, name);
        }
        page = r.next_page_token().filter(|t| !t.is_empty()).map(str::to_string);
        if page.is_none() {
            break;
        }
    }
    let ports = s.list_portfolios().send().await.unwrap();
    for p in ports.portfolio_details() {
        let pid = p.id().unwrap().to_string();
        let mut lp = ListedPortfolio { id: pid.clone(), ..Default::default() };
        let r = s.search_products_as_admin().portfolio_id(&pid).send().await.unwrap();
        for v in r.product_view_details() {
            lp.products.insert(v.product_view_summary().unwrap().name().unwrap().to_string());
        }
        let r = s.list_principals_for_portfolio().portfolio_id(&pid).send().await.unwrap();
        lp.principals = r.principals().iter().map(|x| x.principal_arn().unwrap().to_string()).collect();
        for typ in [
            sc::types::DescribePortfolioShareType::Organization,
            sc::types::DescribePortfolioShareType::OrganizationalUnit,
            sc::types::DescribePortfolioShareType::Account,
        ] {
            let r =
                s.describe_portfolio_shares().portfolio_id(&pid).r#type(typ.clone()).send().await.unwrap();
            for sh in r.portfolio_share_details() {
                let v = sh.principal_id().unwrap();
                let key = match typ {
                    sc::types::DescribePortfolioShareType::Organization => "organization".to_string(),
                    sc::types::DescribePortfolioShareType::OrganizationalUnit => format!("ou:{}", out.ous[v]),
                    _ => format!("account:{v}"),
                };
                lp.shares.insert(key, sh.share_principals());
            }
        }
        let r = s.list_constraints_for_portfolio().portfolio_id(&pid).send().await.unwrap();
        for cd in r.constraint_details().iter().filter(|c| c.r#type() == Some("LAUNCH")) {
            let d = s.describe_constraint().id(cd.constraint_id().unwrap()).send().await.unwrap();
            let params: serde_json::Value =
                serde_json::from_str(d.constraint_parameters().unwrap_or("{}")).unwrap();
            let role = params["LocalRoleName"].as_str().unwrap_or_default().to_string();
            lp.launch_roles.insert(product_names[cd.product_id().unwrap()].clone(), role);
        }
        out.portfolios.insert(p.display_name().unwrap().to_string(), lp);
    }
    // Provisioned products: in the management account and in every ACTIVE member account.
    let sts = aws_sdk_sts::Client::new(conf);
    let active: Vec<String> =
        out.accounts.iter().filter(|(_, a)| a.status == "ACTIVE").map(|(id, _)| id.clone()).collect();
    let mgmt = out.mgmt.clone();
    let found: Vec<Vec<((String, String), ListedProvisioned)>> =
        stream::iter(std::iter::once(mgmt.clone()).chain(active))
            .map(|account| {
                let sts = sts.clone();
                let s = s.clone();
                let mgmt = mgmt.clone();
                async move {
                    let client = if account == mgmt {
                        s
                    } else {
                        sc::Client::new(&role_conf(&sts, conf, &account, MEMBER_ROLE, "list").await)
                    };
                    let mut rows = vec![];
                    let r = client
                        .search_provisioned_products()
                        .access_level_filter(
                            sc::types::AccessLevelFilter::builder()
                                .key(sc::types::AccessLevelFilterKey::Account)
                                .value("self")
                                .build(),
                        )
                        .page_size(100)
                        .send()
                        .await
                        .unwrap();
                    for p in r.provisioned_products() {
                        let d =
                            client.describe_provisioned_product().id(p.id().unwrap()).send().await.unwrap();
                        let d = d.provisioned_product_detail().unwrap();
                        let art = d.provisioning_artifact_id().unwrap_or_default().to_string();
                        let product = d.product_id().unwrap_or_default().to_string();
                        rows.push((
                            (account.clone(), p.name().unwrap().to_string()),
                            ListedProvisioned {
                                id: p.id().unwrap().to_string(),
                                product,
                                version: String::new(),
                                version_id: art,
                                status: d.status().map(|x| x.as_str().to_string()).unwrap_or_default(),
                                last_record: d.last_record_id().unwrap_or_default().to_string(),
                            },
                        ));
                    }
                    rows
                }
            })
            .buffer_unordered(PARALLEL)
            .collect()
            .await;
    for ((account, name), mut p) in found.into_iter().flatten() {
        if let Some(n) = product_names.get(&p.product) {
            p.product = n.clone();
        }
        if let Some(v) = version_names.get(&p.version_id) {
            p.version = v.clone();
        }
        out.provisioned.insert((account, name), p);
    }
    out
}
