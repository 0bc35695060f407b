//! A generated brownfield organization (issue 15): nothing tagged by vend; OUs up to 5 levels
//! deep (one with a space in its name), accounts under OUs and directly under the root,
//! suspended accounts, account names that repeat or are no file names, 20 customer SCPs
//! attached to the root, OUs and accounts, a portfolio with 2 products × 3 versions (v1
//! deprecated; templates recorded in the state) shared with two OUs, and provisioned products
//! (one product has a NoEcho parameter, masked as AWS returns it).

#![allow(dead_code, clippy::unwrap_used)]

use vend::model::*;

pub const MGMT: &str = "100000000000";
pub const ROOT: &str = "r-bf01";
const TOP: [&str; 5] = ["Core", "Workloads", "Sandbox", "Suspended", "Data Platform"];
pub const PRODUCTS: [&str; 2] = ["service-pipeline", "Data Pipeline"];
pub const BUCKET: &str = "brownfield-templates";

fn ou_id(i: usize) -> String {
    format!("ou-bf01-{:08x}", 0x1000_0000 + i)
}

/// The template of `product` at `version` (the demo's service-pipeline templates; the data
/// pipeline's declare a NoEcho `DbPassword` too).
pub fn template(product: &str, version: &str) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    let body = std::fs::read_to_string(format!(
        "{root}/blueprints/pipelines/service-pipeline/{version}/template.yaml"
    ))
    .unwrap();
    if product == PRODUCTS[0] {
        body
    } else {
        body.replacen(
            "Parameters:\n",
            "Parameters:\n  DbPassword:\n    Type: String\n    NoEcho: true\n    MinLength: 8\n    MaxLength: 41\n    AllowedPattern: '^[A-Za-z0-9-]*$'\n    Description: Password of the data store.\n",
            1,
        )
    }
}

pub fn template_url(product: &str, version: &str) -> String {
    let key = product.replace(' ', "-").to_ascii_lowercase();
    format!("https://{BUCKET}.s3.us-east-1.amazonaws.com/{key}/{version}.yaml")
}

/// OU `i`'s parent index (`None`: the root) for `n` OUs: 5 at the top, then fan-out, and the
/// last one 5 levels down.
pub fn ou_parent(i: usize, n: usize) -> Option<usize> {
    match i {
        0..=4 => None,
        _ if i == n - 1 && n >= 40 => Some(35),
        5..=14 => Some((i - 5) % 5),
        15..=34 => Some(5 + (i - 15) % 10),
        _ => Some(15 + (i - 35) % 20),
    }
}

pub fn ou_name(i: usize) -> String {
    if i < TOP.len() { TOP[i].to_string() } else { format!("team-{i:02}") }
}

/// Where account `i` lives: `None` for the root, else an OU index. Every 10th under the root;
/// every 97th (from 3) suspended in the "Suspended" OU.
pub fn account_parent(i: usize, ous: usize) -> Option<usize> {
    if suspended(i) {
        Some(3)
    } else if i.is_multiple_of(10) {
        None
    } else {
        Some(i % ous)
    }
}

pub fn suspended(i: usize) -> bool {
    i % 97 == 3
}

pub fn account_name(i: usize) -> String {
    match i {
        1 | 2 => "Shared Services".into(),
        5 => "payments/prod (EU)".into(),
        _ => format!("acct-{i:04}"),
    }
}

pub fn account_id(i: usize) -> String {
    format!("{}", 200_000_000_000u64 + i as u64)
}

/// The organization with `accounts` member accounts and `ous` OUs (at least 10).
pub fn organization(accounts: usize, ous: usize) -> State {
    let mut s = State::empty("2026-12-06T00:00:00Z");
    s.source = "aws".into();
    s.organization.id = "o-brownfield01".into();
    s.organization.management_account_id = MGMT.into();
    s.organization.root_id = ROOT.into();
    s.accounts.clear();
    s.policies.clear();
    s.accounts.push(Account {
        id: MGMT.into(),
        name: "management".into(),
        email: "aws+management@example.com".into(),
        state: "ACTIVE".into(),
        parent_id: ROOT.into(),
        tags: Tags::new(),
    });
    for i in 0..ous {
        let mut tags = Tags::new();
        if i.is_multiple_of(4) {
            tags.insert("tier".into(), format!("t{}", i % 3));
        }
        s.organizational_units.push(OrgUnit {
            id: ou_id(i),
            name: ou_name(i),
            parent_id: ou_parent(i, ous).map(ou_id).unwrap_or_else(|| ROOT.into()),
            tags,
        });
    }
    for i in 0..accounts {
        let mut tags = Tags::new();
        tags.insert("cost-center".into(), format!("{}", 4000 + i % 7));
        tags.insert("env".into(), if i.is_multiple_of(2) { "prod".into() } else { "dev".into() });
        if i.is_multiple_of(3) {
            tags.insert("team".into(), format!("team-{}", i % 11));
        }
        s.accounts.push(Account {
            id: account_id(i),
            name: account_name(i),
            email: format!("aws+acct-{i:04}@example.com"),
            state: if suspended(i) { "SUSPENDED".into() } else { "ACTIVE".into() },
            parent_id: account_parent(i, ous).map(ou_id).unwrap_or_else(|| ROOT.into()),
            tags,
        });
    }
    // FullAWSAccess everywhere, as AWS has it.
    let mut full: Vec<String> = vec![ROOT.into()];
    full.extend(s.organizational_units.iter().map(|o| o.id.clone()));
    full.extend(s.accounts.iter().map(|a| a.id.clone()));
    s.policies.push(Policy {
        id: "p-FullAWSAccess".into(),
        name: "FullAWSAccess".into(),
        policy_type: "SERVICE_CONTROL_POLICY".into(),
        aws_managed: true,
        content: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
            .into(),
        target_ids: full,
        tags: Tags::new(),
    });
    for k in 0..20usize {
        let mut targets = vec![];
        if k == 0 {
            targets.push(ROOT.to_string());
        }
        if (1..=10).contains(&k) {
            targets.extend((0..ous).filter(|o| o.is_multiple_of(3) && 1 + o % 10 == k).map(ou_id));
        }
        if k == 15 {
            targets.extend((0..accounts).filter(|i| i % 25 == 1).map(account_id));
        }
        let service = ["s3", "ec2", "iam", "kms", "rds"][k % 5];
        s.policies.push(Policy {
            id: format!("p-bf{k:08}"),
            name: format!("guard-{k:02}"),
            policy_type: "SERVICE_CONTROL_POLICY".into(),
            aws_managed: false,
            content: format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Guard{k}","Effect":"Deny","Action":"{service}:Delete*","Resource":"*"}}]}}"#
            ),
            target_ids: targets,
            tags: Tags::new(),
        });
    }
    s.organization.root_policy_ids = vec!["p-FullAWSAccess".into(), "p-bf00000000".into()];
    // Service Catalog.
    let mut product_ids = vec![];
    for (n, product) in PRODUCTS.iter().enumerate() {
        let id = format!("prod-bf{n}");
        product_ids.push(id.clone());
        s.products.push(Product {
            id: id.clone(),
            name: product.to_string(),
            owner: "Platform Team".into(),
            tags: Tags::new(),
            versions: ["v1", "v2", "v3"]
                .iter()
                .enumerate()
                .map(|(k, v)| ProductVersion {
                    id: format!("pa-bf{n}{k}"),
                    name: v.to_string(),
                    active: true,
                    guidance: if *v == "v1" { "DEPRECATED".into() } else { "DEFAULT".into() },
                    description: format!("{product} {v}"),
                    template_url: template_url(product, v),
                })
                .collect(),
        });
        for v in ["v1", "v2", "v3"] {
            s.templates.push(TemplateBody { url: template_url(product, v), body: template(product, v) });
        }
    }
    s.portfolios.push(Portfolio {
        id: "port-bf01".into(),
        name: "Delivery Pipelines".into(),
        description: "Pipelines for product teams".into(),
        provider: "Platform Team".into(),
        tags: [("department".to_string(), "platform".to_string())].into_iter().collect(),
        product_ids: product_ids.clone(),
        principals: vec![Principal {
            arn: "arn:aws:iam:::role/ProductTeam*".into(),
            principal_type: "IAM_PATTERN".into(),
        }],
        shares: [1usize, 4]
            .iter()
            .map(|o| Share {
                share_type: "ORGANIZATIONAL_UNIT".into(),
                value: ou_id(*o),
                status: "COMPLETED".into(),
                share_principals: false,
            })
            .collect(),
        launch_constraints: product_ids
            .iter()
            .map(|p| LaunchConstraint {
                product_id: p.clone(),
                local_role_name: "BrownfieldLaunchRole".into(),
            })
            .collect(),
    });
    // Provisioned products in ACTIVE accounts below Workloads (1) or Data Platform (4).
    let below = |mut o: usize, top: usize| loop {
        if o == top {
            return true;
        }
        match ou_parent(o, ous) {
            Some(p) => o = p,
            None => return false,
        }
    };
    let hosts: Vec<usize> = (0..accounts)
        .filter(|i| !suspended(*i))
        .filter(|i| account_parent(*i, ous).is_some_and(|o| below(o, 1) || below(o, 4)))
        .take(10)
        .collect();
    for (k, i) in hosts.iter().enumerate() {
        let n = k % 2;
        let version = if k.is_multiple_of(3) { 1 } else { 2 };
        let mut params: std::collections::BTreeMap<String, String> = [
            ("RepositoryName".to_string(), format!("svc-{k}")),
            ("BranchName".to_string(), "main".to_string()),
            ("BuildComputeType".to_string(), "BUILD_GENERAL1_SMALL".to_string()),
        ]
        .into_iter()
        .collect();
        // AWS returns every parameter of the stack, defaults included.
        if version >= 1 {
            for (k, v) in [
                ("RepositoryOwner", "example-org"),
                ("ConnectionArn", ""),
                ("AcceptanceTimeoutMinutes", "30"),
                ("ApprovalNotificationEmail", ""),
            ] {
                params.insert(k.into(), v.into());
            }
        }
        if version == 2 {
            params.insert("HealthCheckPath".into(), "/health".into());
        }
        if n == 1 {
            params.insert("DbPassword".into(), "****".into());
        }
        s.provisioned_products.push(ProvisionedProduct {
            id: format!("pp-bf{k:02}"),
            name: format!("svc-{k}"),
            account_id: account_id(*i),
            product_id: format!("prod-bf{n}"),
            version_id: format!("pa-bf{n}{version}"),
            status: "AVAILABLE".into(),
            params,
            tags: Tags::new(),
        });
    }
    if let Some(lp) = &mut s.launch_path {
        lp.servicecatalog_organizations_access = ACCESS_ENABLED.into();
        lp.buckets.clear();
        // The launch constraint's role, the user's (untagged), where it is needed: the
        // management account (constraints) and every account with a provisioned product.
        let mut accounts: Vec<String> = s.provisioned_products.iter().map(|p| p.account_id.clone()).collect();
        accounts.push(MGMT.into());
        lp.roles = accounts
            .into_iter()
            .map(|account_id| LaunchRole {
                account_id,
                name: "BrownfieldLaunchRole".into(),
                trusts_catalog: true,
                policy: String::new(),
                tags: Tags::new(),
            })
            .collect();
    }
    s.normalize();
    s
}

/// The files of a workspace's `catalog/` and `blueprints/` (workspace-relative path -> bytes).
pub fn files_of(dir: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    for top in ["catalog", "blueprints"] {
        walk(&dir.join(top), top, &mut out);
    }
    out
}

fn walk(dir: &std::path::Path, rel: &str, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let p = e.path();
        if p.is_dir() {
            walk(&p, &format!("{rel}/{name}"), out);
        } else {
            out.insert(format!("{rel}/{name}"), std::fs::read(&p).unwrap());
        }
    }
}
