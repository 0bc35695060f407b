//! Structural validation of a snapshot (format v1) beyond its JSON schema: the id shapes AWS
//! uses, references that must resolve inside the organization (parents, SCP targets, portfolio
//! products, provisioned products' account/product/version), the duplicates AWS forbids (ids,
//! account e-mails, OU names under one parent, policy names per type, version names per
//! product, provisioned product names per account), the enumerations of every status field and an OU tree without cycles. Every
//! problem names the JSON path of the offending value in the file as read (before sorting),
//! e.g. `accounts[3].parent_id`. Pure: the caller (`adapter::fs`) reads the file and adds its
//! name.

use super::State;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;

/// One structural problem: where (JSON path) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotProblem {
    pub path: String,
    pub message: String,
}

impl fmt::Display for SnapshotProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// AWS Organizations policy types (the in-process cloud accepts the same list).
pub const POLICY_TYPES: [&str; 8] = [
    "SERVICE_CONTROL_POLICY",
    "RESOURCE_CONTROL_POLICY",
    "TAG_POLICY",
    "BACKUP_POLICY",
    "AISERVICES_OPT_OUT_POLICY",
    "CHATBOT_POLICY",
    "DECLARATIVE_POLICY_EC2",
    "SECURITYHUB_POLICY",
];
pub const ACCOUNT_STATES: [&str; 3] = ["ACTIVE", "SUSPENDED", "PENDING_CLOSURE"];
pub const CREATE_ACCOUNT_STATES: [&str; 3] = ["IN_PROGRESS", "SUCCEEDED", "FAILED"];
pub const PRINCIPAL_TYPES: [&str; 2] = ["IAM", "IAM_PATTERN"];
pub const SHARE_TYPES: [&str; 4] =
    ["ACCOUNT", "ORGANIZATION", "ORGANIZATIONAL_UNIT", "ORGANIZATION_MEMBER_ACCOUNT"];
pub const SHARE_STATUSES: [&str; 5] =
    ["NOT_STARTED", "IN_PROGRESS", "COMPLETED", "COMPLETED_WITH_ERRORS", "ERROR"];
pub const GUIDANCES: [&str; 2] = ["DEFAULT", "DEPRECATED"];
pub const PROVISIONED_STATUSES: [&str; 5] =
    ["AVAILABLE", "UNDER_CHANGE", "TAINTED", "ERROR", "PLAN_IN_PROGRESS"];

/// AWS's deepest OU nesting below the root.
const MAX_OU_DEPTH: usize = 5;
/// Stop after this many problems: a hostile file could otherwise produce millions.
const MAX_PROBLEMS: usize = 50;

fn lower_alnum(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

fn len_in(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len())
}

/// `^o-[a-z0-9]{10,32}$`
pub fn is_org_id(s: &str) -> bool {
    s.strip_prefix("o-").is_some_and(|r| len_in(r, 10, 32) && lower_alnum(r))
}

/// `^r-[0-9a-z]{4,32}$`
pub fn is_root_id(s: &str) -> bool {
    s.strip_prefix("r-").is_some_and(|r| len_in(r, 4, 32) && lower_alnum(r))
}

/// `^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$`
pub fn is_ou_id(s: &str) -> bool {
    s.strip_prefix("ou-")
        .and_then(|r| r.split_once('-'))
        .is_some_and(|(a, b)| len_in(a, 4, 32) && lower_alnum(a) && len_in(b, 8, 32) && lower_alnum(b))
}

/// `^\d{12}$`
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `^p-[0-9a-zA-Z_]{8,128}$`
pub fn is_policy_id(s: &str) -> bool {
    s.strip_prefix("p-")
        .is_some_and(|r| len_in(r, 8, 128) && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

/// `^car-[a-z0-9]{8,32}$`
pub fn is_create_account_request_id(s: &str) -> bool {
    s.strip_prefix("car-").is_some_and(|r| len_in(r, 8, 32) && lower_alnum(r))
}

/// Service Catalog ids: `<prefix>` followed by 1 to 96 lowercase letters and digits.
pub fn is_catalog_id(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|r| len_in(r, 1, 96) && lower_alnum(r))
}

struct Checker {
    problems: Vec<SnapshotProblem>,
}

impl Checker {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(SnapshotProblem { path: path.into(), message: message.into() });
        }
    }

    fn shape(&mut self, path: &str, value: &str, ok: bool, what: &str) {
        if !ok {
            self.add(path, format!("{} is not {what}", quote(value)));
        }
    }

    fn one_of(&mut self, path: &str, value: &str, allowed: &[&str]) {
        if !allowed.contains(&value) {
            self.add(path, format!("{} is not one of {}", quote(value), allowed.join(", ")));
        }
    }

    fn not_empty(&mut self, path: &str, value: &str) {
        if value.trim().is_empty() {
            self.add(path, "must not be empty");
        }
    }

    /// Record `key` as seen at `path`; a second occurrence is a duplicate of the first.
    fn unique(&mut self, seen: &mut HashMap<String, String>, key: String, path: &str, what: &str) {
        match seen.get(&key) {
            Some(first) => self.add(path, format!("duplicate {what} {} (also at {first})", quote(&key))),
            None => {
                seen.insert(key, path.to_string());
            }
        }
    }
}

/// Shown values are cut short and quoted so a hostile file cannot flood the terminal.
fn quote(s: &str) -> String {
    const MAX: usize = 80;
    let cut: String = s.chars().take(MAX).collect();
    let more = if s.chars().count() > MAX { "…" } else { "" };
    format!("{:?}", format!("{cut}{more}"))
}

/// Every structural problem of `state` (at most 50), in file order by section.
pub fn check(s: &State) -> Vec<SnapshotProblem> {
    let mut c = Checker { problems: vec![] };
    let org = &s.organization;
    c.shape(
        "organization.id",
        &org.id,
        is_org_id(&org.id),
        "an organization id (o- and 10 to 32 letters or digits)",
    );
    c.shape(
        "organization.management_account_id",
        &org.management_account_id,
        is_account_id(&org.management_account_id),
        "an account id (12 digits)",
    );
    c.shape(
        "organization.root_id",
        &org.root_id,
        is_root_id(&org.root_id),
        "a root id (r- and 4 to 32 letters or digits)",
    );
    let mut seen = HashMap::new();
    for (i, t) in org.enabled_policy_types.iter().enumerate() {
        let path = format!("organization.enabled_policy_types[{i}]");
        c.one_of(&path, t, &POLICY_TYPES);
        c.unique(&mut seen, t.clone(), &path, "policy type");
    }

    // Every id in the organization, each once.
    let mut ids: HashMap<String, String> = HashMap::new();
    ids.insert(org.root_id.clone(), "organization.root_id".into());

    let ou_ids: HashSet<&str> = s.organizational_units.iter().map(|o| o.id.as_str()).collect();
    let mut ou_names: HashMap<String, String> = HashMap::new();
    for (i, o) in s.organizational_units.iter().enumerate() {
        let at = format!("organizational_units[{i}]");
        c.shape(
            &format!("{at}.id"),
            &o.id,
            is_ou_id(&o.id),
            "an OU id (ou-<root>-<8 to 32 letters or digits>)",
        );
        c.unique(&mut ids, o.id.clone(), &format!("{at}.id"), "id");
        c.not_empty(&format!("{at}.name"), &o.name);
        if o.name.chars().count() > 128 {
            c.add(format!("{at}.name"), "is longer than 128 characters (AWS limit)");
        }
        if o.parent_id != org.root_id && !ou_ids.contains(o.parent_id.as_str()) {
            c.add(
                format!("{at}.parent_id"),
                format!("{} is not an OU or root of this organization", quote(&o.parent_id)),
            );
        }
        c.unique(
            &mut ou_names,
            format!("{}/{}", o.parent_id, o.name),
            &format!("{at}.name"),
            "OU name under one parent (parent/name)",
        );
    }
    check_ou_tree(&mut c, s);

    let mut emails: HashMap<String, String> = HashMap::new();
    for (i, a) in s.accounts.iter().enumerate() {
        let at = format!("accounts[{i}]");
        c.shape(&format!("{at}.id"), &a.id, is_account_id(&a.id), "an account id (12 digits)");
        c.unique(&mut ids, a.id.clone(), &format!("{at}.id"), "id");
        c.not_empty(&format!("{at}.name"), &a.name);
        let email_ok = len_in(&a.email, 6, 64)
            && a.email
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.contains('@'));
        c.shape(&format!("{at}.email"), &a.email, email_ok, "an e-mail address (6 to 64 characters)");
        c.unique(&mut emails, a.email.to_ascii_lowercase(), &format!("{at}.email"), "account e-mail");
        c.one_of(&format!("{at}.state"), &a.state, &ACCOUNT_STATES);
        if a.parent_id != org.root_id && !ou_ids.contains(a.parent_id.as_str()) {
            c.add(
                format!("{at}.parent_id"),
                format!("{} is not an OU or root of this organization", quote(&a.parent_id)),
            );
        }
    }
    let account_ids: HashSet<&str> = s.accounts.iter().map(|a| a.id.as_str()).collect();
    if !account_ids.contains(org.management_account_id.as_str()) {
        c.add(
            "organization.management_account_id",
            format!("{} is not among accounts", quote(&org.management_account_id)),
        );
    }

    for (i, r) in s.create_account_requests.iter().enumerate() {
        let at = format!("create_account_requests[{i}]");
        c.shape(
            &format!("{at}.id"),
            &r.id,
            is_create_account_request_id(&r.id),
            "a create-account request id (car- and 8 to 32 letters or digits)",
        );
        c.unique(&mut ids, r.id.clone(), &format!("{at}.id"), "id");
        c.one_of(&format!("{at}.state"), &r.state, &CREATE_ACCOUNT_STATES);
        if let Some(id) = &r.account_id {
            c.shape(&format!("{at}.account_id"), id, is_account_id(id), "an account id (12 digits)");
        }
    }

    let mut policy_names: HashMap<String, String> = HashMap::new();
    let policy_ids: HashSet<&str> = s.policies.iter().map(|p| p.id.as_str()).collect();
    let mut root_targeted: BTreeSet<&str> = BTreeSet::new();
    for (i, p) in s.policies.iter().enumerate() {
        let at = format!("policies[{i}]");
        c.shape(
            &format!("{at}.id"),
            &p.id,
            is_policy_id(&p.id),
            "a policy id (p- and 8 to 128 letters, digits or _)",
        );
        c.unique(&mut ids, p.id.clone(), &format!("{at}.id"), "id");
        c.not_empty(&format!("{at}.name"), &p.name);
        c.one_of(&format!("{at}.type"), &p.policy_type, &POLICY_TYPES);
        c.unique(
            &mut policy_names,
            format!("{}/{}", p.policy_type, p.name),
            &format!("{at}.name"),
            "policy name of one type (type/name)",
        );
        let mut targets = HashMap::new();
        for (j, t) in p.target_ids.iter().enumerate() {
            let path = format!("{at}.target_ids[{j}]");
            if *t == org.root_id {
                root_targeted.insert(&p.id);
            } else if !ou_ids.contains(t.as_str()) && !account_ids.contains(t.as_str()) {
                c.add(
                    &path,
                    format!("{} is not the root, an OU or an account of this organization", quote(t)),
                );
            }
            c.unique(&mut targets, t.clone(), &path, "target");
        }
    }
    let mut root_listed = HashMap::new();
    for (i, id) in org.root_policy_ids.iter().enumerate() {
        let path = format!("organization.root_policy_ids[{i}]");
        if !policy_ids.contains(id.as_str()) {
            c.add(&path, format!("{} is not a policy of this snapshot", quote(id)));
        } else if !root_targeted.contains(id.as_str()) {
            c.add(
                &path,
                format!(
                    "policy {} does not list the root {} in its target_ids",
                    quote(id),
                    quote(&org.root_id)
                ),
            );
        }
        c.unique(&mut root_listed, id.clone(), &path, "policy id");
    }
    for id in root_targeted {
        if !org.root_policy_ids.iter().any(|r| r == id) {
            c.add(
                "organization.root_policy_ids",
                format!("misses {}, which lists the root in its target_ids", quote(id)),
            );
        }
    }

    // Service Catalog.
    let mut products: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    let mut version_ids = HashMap::new();
    for (i, p) in s.products.iter().enumerate() {
        let at = format!("products[{i}]");
        c.shape(
            &format!("{at}.id"),
            &p.id,
            is_catalog_id(&p.id, "prod-"),
            "a product id (prod- and letters or digits)",
        );
        c.unique(&mut ids, p.id.clone(), &format!("{at}.id"), "id");
        c.not_empty(&format!("{at}.name"), &p.name);
        let mut names = HashMap::new();
        for (j, v) in p.versions.iter().enumerate() {
            let vat = format!("{at}.versions[{j}]");
            c.shape(
                &format!("{vat}.id"),
                &v.id,
                is_catalog_id(&v.id, "pa-"),
                "a provisioning artifact id (pa- and letters or digits)",
            );
            c.unique(&mut version_ids, v.id.clone(), &format!("{vat}.id"), "version id");
            c.not_empty(&format!("{vat}.name"), &v.name);
            c.unique(&mut names, v.name.clone(), &format!("{vat}.name"), "version name");
            c.one_of(&format!("{vat}.guidance"), &v.guidance, &GUIDANCES);
        }
        products.insert(&p.id, p.versions.iter().map(|v| v.id.as_str()).collect());
    }
    for (i, p) in s.portfolios.iter().enumerate() {
        let at = format!("portfolios[{i}]");
        c.shape(
            &format!("{at}.id"),
            &p.id,
            is_catalog_id(&p.id, "port-"),
            "a portfolio id (port- and letters or digits)",
        );
        c.unique(&mut ids, p.id.clone(), &format!("{at}.id"), "id");
        c.not_empty(&format!("{at}.name"), &p.name);
        let mut listed = HashMap::new();
        for (j, id) in p.product_ids.iter().enumerate() {
            let path = format!("{at}.product_ids[{j}]");
            if !products.contains_key(id.as_str()) {
                c.add(&path, format!("{} is not a product of this snapshot", quote(id)));
            }
            c.unique(&mut listed, id.clone(), &path, "product id");
        }
        let mut arns = HashMap::new();
        for (j, pr) in p.principals.iter().enumerate() {
            let path = format!("{at}.principals[{j}]");
            c.not_empty(&format!("{path}.arn"), &pr.arn);
            c.one_of(&format!("{path}.type"), &pr.principal_type, &PRINCIPAL_TYPES);
            c.unique(&mut arns, pr.arn.clone(), &format!("{path}.arn"), "principal");
        }
        let mut shares = HashMap::new();
        for (j, sh) in p.shares.iter().enumerate() {
            let path = format!("{at}.shares[{j}]");
            c.one_of(&format!("{path}.type"), &sh.share_type, &SHARE_TYPES);
            c.one_of(&format!("{path}.status"), &sh.status, &SHARE_STATUSES);
            let resolves = match sh.share_type.as_str() {
                "ORGANIZATION" => sh.value == org.id,
                "ORGANIZATIONAL_UNIT" => ou_ids.contains(sh.value.as_str()),
                // A portfolio may be shared with an account outside the organization.
                "ACCOUNT" => is_account_id(&sh.value),
                "ORGANIZATION_MEMBER_ACCOUNT" => account_ids.contains(sh.value.as_str()),
                _ => true,
            };
            if !resolves {
                c.add(
                    format!("{path}.value"),
                    format!(
                        "{} is not a {} of this organization",
                        quote(&sh.value),
                        sh.share_type.to_lowercase().replace('_', " ")
                    ),
                );
            }
            c.unique(&mut shares, format!("{}/{}", sh.share_type, sh.value), &path, "share (type/value)");
        }
        let mut constrained = HashMap::new();
        for (j, lc) in p.launch_constraints.iter().enumerate() {
            let path = format!("{at}.launch_constraints[{j}]");
            if !p.product_ids.contains(&lc.product_id) {
                c.add(
                    format!("{path}.product_id"),
                    format!("{} is not a product of this portfolio", quote(&lc.product_id)),
                );
            }
            c.not_empty(&format!("{path}.local_role_name"), &lc.local_role_name);
            c.unique(
                &mut constrained,
                lc.product_id.clone(),
                &format!("{path}.product_id"),
                "launch constraint for product",
            );
        }
    }
    let mut pp_names = HashMap::new();
    for (i, pp) in s.provisioned_products.iter().enumerate() {
        let at = format!("provisioned_products[{i}]");
        c.shape(
            &format!("{at}.id"),
            &pp.id,
            is_catalog_id(&pp.id, "pp-"),
            "a provisioned product id (pp- and letters or digits)",
        );
        c.unique(&mut ids, pp.id.clone(), &format!("{at}.id"), "id");
        c.not_empty(&format!("{at}.name"), &pp.name);
        c.unique(
            &mut pp_names,
            format!("{}/{}", pp.account_id, pp.name),
            &format!("{at}.name"),
            "provisioned product name in one account (account/name)",
        );
        if !account_ids.contains(pp.account_id.as_str()) {
            c.add(
                format!("{at}.account_id"),
                format!("{} is not an account of this organization", quote(&pp.account_id)),
            );
        }
        match products.get(pp.product_id.as_str()) {
            None => c.add(
                format!("{at}.product_id"),
                format!("{} is not a product of this snapshot", quote(&pp.product_id)),
            ),
            Some(versions) if !versions.contains(pp.version_id.as_str()) => c.add(
                format!("{at}.version_id"),
                format!("{} is not a version of product {}", quote(&pp.version_id), quote(&pp.product_id)),
            ),
            Some(_) => {}
        }
        c.one_of(&format!("{at}.status"), &pp.status, &PROVISIONED_STATUSES);
    }
    check_access(&mut c, s, &account_ids);
    c.problems
}

/// Lower-case hex digits, exactly `n` of them.
fn hex_n(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `(sso)?ins-[a-zA-Z0-9-.]{16}`: an instance's id inside its ARNs.
fn is_instance_part(s: &str) -> bool {
    let rest = s.strip_prefix("ssoins-").or_else(|| s.strip_prefix("ins-")).unwrap_or("");
    rest.len() == 16 && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// An IAM Identity Center instance ARN (API_InstanceMetadata: InstanceArn pattern
/// `arn:(aws|aws-us-gov|aws-cn|aws-iso|aws-iso-b):sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}`).
pub fn is_instance_arn(s: &str) -> bool {
    instance_of(s).is_some()
}

fn instance_of(s: &str) -> Option<&str> {
    let (partition, rest) = s.strip_prefix("arn:")?.split_once(":sso:::instance/")?;
    (["aws", "aws-us-gov", "aws-cn", "aws-iso", "aws-iso-b"].contains(&partition) && is_instance_part(rest))
        .then_some(rest)
}

/// A permission set ARN (API_PermissionSet: PermissionSetArn pattern
/// `arn:…:sso:::permissionSet/(sso)?ins-[a-zA-Z0-9-.]{16}/ps-[a-zA-Z0-9-./]{16}`); the instance
/// part it names.
fn permission_set_instance(s: &str) -> Option<&str> {
    let (_, rest) = s.strip_prefix("arn:")?.split_once(":sso:::permissionSet/")?;
    let (ins, ps) = rest.split_once('/')?;
    let ps = ps.strip_prefix("ps-")?;
    (is_instance_part(ins)
        && ps.len() == 16
        && ps.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'/'))
    .then_some(ins)
}

/// An identity store id (API_ListInstances: IdentityStoreId pattern `d-[0-9a-f]{10}` or a UUID).
fn is_identity_store_id(s: &str) -> bool {
    s.strip_prefix("d-").is_some_and(|h| hex_n(h, 10)) || is_uuid(s)
}

/// A group id (Identity Store API_Group: GroupId pattern
/// `([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}`).
fn is_group_id(s: &str) -> bool {
    is_uuid(s) || s.split_once('-').is_some_and(|(p, rest)| hex_n(p, 10) && is_uuid(rest))
}

/// `access` (issue 18): id and ARN shapes, references to accounts, groups listed once.
fn check_access(c: &mut Checker, s: &State, account_ids: &HashSet<&str>) {
    let Some(a) = &s.access else { return };
    if let Some(ic) = &a.identity_center {
        let at = "access.identity_center";
        let instance = instance_of(&ic.instance_arn);
        c.shape(
            &format!("{at}.instance_arn"),
            &ic.instance_arn,
            instance.is_some(),
            "an Identity Center instance ARN",
        );
        c.shape(
            &format!("{at}.identity_store_id"),
            &ic.identity_store_id,
            is_identity_store_id(&ic.identity_store_id),
            "an identity store id (d- and 10 hex digits)",
        );
        c.not_empty(&format!("{at}.region"), &ic.region);
        let (mut names, mut ids) = (HashMap::new(), HashMap::new());
        for (i, g) in ic.groups.iter().enumerate() {
            let path = format!("{at}.groups[{i}]");
            c.shape(&format!("{path}.id"), &g.id, is_group_id(&g.id), "a group id");
            c.not_empty(&format!("{path}.display_name"), &g.display_name);
            c.unique(&mut names, g.display_name.clone(), &format!("{path}.display_name"), "group");
            c.unique(&mut ids, g.id.clone(), &format!("{path}.id"), "group id");
        }
        let (mut names, mut arns) = (HashMap::new(), HashMap::new());
        for (i, p) in ic.permission_sets.iter().enumerate() {
            let path = format!("{at}.permission_sets[{i}]");
            let ins = permission_set_instance(&p.arn);
            c.shape(&format!("{path}.arn"), &p.arn, ins.is_some(), "a permission set ARN");
            if ins.is_some() && instance.is_some() && ins != instance {
                c.add(
                    format!("{path}.arn"),
                    format!("{} is not of instance {}", quote(&p.arn), quote(&ic.instance_arn)),
                );
            }
            c.not_empty(&format!("{path}.name"), &p.name);
            c.unique(&mut names, p.name.clone(), &format!("{path}.name"), "permission set");
            c.unique(&mut arns, p.arn.clone(), &format!("{path}.arn"), "permission set ARN");
        }
    }
    let read: HashSet<&str> = a.read_accounts.iter().map(String::as_str).collect();
    for (i, id) in a.read_accounts.iter().enumerate() {
        if !account_ids.contains(id.as_str()) {
            c.add(
                format!("access.read_accounts[{i}]"),
                format!("{} is not an account of this organization", quote(id)),
            );
        }
    }
    let sets: HashSet<&str> =
        a.identity_center.iter().flat_map(|ic| ic.permission_sets.iter().map(|p| p.arn.as_str())).collect();
    let mut seen = HashMap::new();
    for (i, x) in a.assignments.iter().enumerate() {
        let at = format!("access.assignments[{i}]");
        if a.identity_center.is_none() {
            c.add(&at, "an assignment without an Identity Center instance");
        }
        if !read.contains(x.account_id.as_str()) {
            c.add(format!("{at}.account_id"), format!("{} is not in read_accounts", quote(&x.account_id)));
        }
        if !sets.contains(x.permission_set_arn.as_str()) {
            c.add(
                format!("{at}.permission_set_arn"),
                format!("{} is not a permission set of the instance", quote(&x.permission_set_arn)),
            );
        }
        c.one_of(&format!("{at}.principal_type"), &x.principal_type, &["GROUP", "USER"]);
        c.not_empty(&format!("{at}.principal_id"), &x.principal_id);
        c.unique(
            &mut seen,
            format!("{}/{}/{}/{}", x.account_id, x.permission_set_arn, x.principal_type, x.principal_id),
            &at,
            "assignment",
        );
    }
    let mut seen = HashMap::new();
    for (i, x) in a.contacts.iter().enumerate() {
        let at = format!("access.contacts[{i}]");
        if !read.contains(x.account_id.as_str()) {
            c.add(format!("{at}.account_id"), format!("{} is not in read_accounts", quote(&x.account_id)));
        }
        c.one_of(&format!("{at}.type"), &x.contact_type, &super::CONTACT_TYPES);
        c.unique(&mut seen, format!("{}/{}", x.account_id, x.contact_type), &at, "contact (account/type)");
    }
}

/// Each OU's parent chain must reach the root without a cycle, within AWS's depth limit. The
/// walk stops one level past the limit, so a hostile chain or cycle costs little.
fn check_ou_tree(c: &mut Checker, s: &State) {
    let parent: HashMap<&str, &str> =
        s.organizational_units.iter().map(|o| (o.id.as_str(), o.parent_id.as_str())).collect();
    for (i, o) in s.organizational_units.iter().enumerate() {
        let mut path = vec![o.id.as_str()];
        let mut at = o.parent_id.as_str();
        while at != s.organization.root_id && path.len() <= MAX_OU_DEPTH {
            if path.contains(&at) {
                c.add(
                    format!("organizational_units[{i}].parent_id"),
                    format!("OU {} is its own ancestor (a cycle)", quote(&o.id)),
                );
                break;
            }
            let Some(next) = parent.get(at) else { break }; // reported as an unknown parent
            path.push(at);
            at = next;
        }
        if path.len() > MAX_OU_DEPTH {
            c.add(
                format!("organizational_units[{i}].parent_id"),
                format!(
                    "OU {} sits more than {MAX_OU_DEPTH} levels below the root (AWS's limit)",
                    quote(&o.id)
                ),
            );
        }
    }
}
