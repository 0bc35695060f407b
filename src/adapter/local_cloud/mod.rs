//! The in-process cloud behind the local state file: a `port::Cloud` that holds a `State` and
//! enforces the AWS rules of AWS-NOTES.md (Organizations, Service Catalog, the S3 template
//! bucket) the way AWS does — asynchronous account creation, shares and provisioning records,
//! idempotency tokens, quotas, the SCP invariants — so that apply can be tested and run offline.
//!
//! A call is all or nothing: every operation checks everything before it changes anything, so
//! a refused call leaves the state as it was (debug builds keep a copy and assert it, and that
//! the call's record covers all it changed). Lookups go through an `index` of id -> position,
//! so a call costs about the same at 10 accounts and at 10,000.
//! With a state-file path, every successful call is durable before it returns: its record
//! (the after-images of what it changed) is appended to a journal beside the state file, and
//! now and then — and when the cloud is dropped, i.e. when vend finishes a command — the journal
//! is compacted into the state file (see `journal` for the format and the crash cases).
//!
//! This file owns the cloud's data (state, extras, ids), the lookups and checks the rules
//! share, and the dispatch of an `Op`; the journal and state file are in `journal`, the index
//! and the change tracking in `index`, the rules per service in `organizations`, `catalog` and
//! `provisioning`. It reads and writes no file itself.

mod access;
mod catalog;
mod index;
mod journal;
mod organizations;
mod permission_sets;
mod provisioning;

use crate::adapter::aws_rules::{limit, refuse};
use crate::model::{Account, OrgUnit, State, Tags};
use crate::port::{ArtifactSpec, Cloud, CloudError, Op, Outcome};
use crate::workspace::rules;
use index::{Index, Touched};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const SCP: &str = "SERVICE_CONTROL_POLICY";
const FULL_ACCESS_NAME: &str = "FullAWSAccess";
const FULL_ACCESS_ID: &str = "p-FullAWSAccess";
const FULL_ACCESS_CONTENT: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// Quotas and timing of the in-process cloud. The defaults are AWS's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Polls of an asynchronous request (account creation, share, provisioning record) before it
    /// completes; 1 = the first poll completes it. 0 is treated as 1.
    pub polls_to_complete: u32,
    /// Levels of OUs below the root.
    pub max_ou_depth: usize,
    pub max_ous: usize,
    /// SCPs directly attached to one root, OU or account.
    pub max_policies_per_target: usize,
    pub max_policies: usize,
    /// SCP document size, in bytes.
    pub max_policy_bytes: usize,
    pub max_org_tags: usize,
    pub max_catalog_tags: usize,
    /// Provisioning artifacts (versions) per product.
    pub max_versions_per_product: usize,
    /// IAM_PATTERN principals per portfolio.
    pub max_principal_patterns: usize,
    /// Accounts in the organization (the AWS default quota is 10; unlimited unless set).
    pub account_limit: Option<usize>,
    /// Account creations in progress at a time (IN_PROGRESS requests); CreateAccount beyond
    /// them is refused at the call.
    pub max_account_creations_in_progress: usize,
    /// Accounts this cloud may close (AWS: a changing quota per rolling 30 days).
    pub close_limit: Option<u32>,
    /// The journal is compacted into the state file once the records appended since the last
    /// compaction reach this many bytes or the size of the last checkpoint, whichever is more
    /// (so the bytes written grow linearly with the calls); 0 compacts after every call.
    pub compact_after_bytes: u64,
    /// The role vend launches pipelines as in member accounts (`member_role` in `vend.yaml`):
    /// with the launch path modelled, ProvisionProduct in a member account needs it to match an
    /// `IAM_PATTERN` principal of the portfolio shared there with principal sharing on.
    pub member_role: String,
    /// The account IAM Identity Center is administered from (`identity_center.delegated_admin`
    /// in `vend.yaml`); `None`: the management account. A delegated administrator cannot give
    /// or take access to the management account (`identitycenter.delegated-admin-management-account`).
    pub identity_center_admin: Option<String>,
}

/// A default quota of the rule table (`fallback` only if the table lost it; tests/aws_rules.rs).
fn quota(rule: &str, fallback: usize) -> usize {
    usize::try_from(limit(rule, fallback as u64)).unwrap_or(fallback)
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            polls_to_complete: 1,
            max_ou_depth: quota("organizations.ou-depth", 5),
            max_ous: quota("organizations.ou-count", 1000),
            max_policies_per_target: quota("organizations.scp-max-per-target", 5),
            max_policies: quota("organizations.policy-count", 1000),
            max_policy_bytes: quota("organizations.policy-size", 5120),
            max_org_tags: quota("organizations.tag-count", 50),
            max_catalog_tags: quota("servicecatalog.tag-count", 20),
            max_versions_per_product: quota("servicecatalog.version-count", 100),
            max_principal_patterns: quota("servicecatalog.principal-pattern-count", 10),
            account_limit: None,
            max_account_creations_in_progress: quota("organizations.account-creations-in-progress", 5),
            close_limit: None,
            compact_after_bytes: 1 << 20,
            member_role: crate::model::DEFAULT_MEMBER_ROLE.into(),
            identity_center_admin: None,
        }
    }
}

/// What the state format cannot hold, kept in the journal.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
struct Extras {
    /// Ids minted so far (the input of the id hash).
    seq: u64,
    /// Request ids handed out so far.
    requests: u64,
    /// Uploaded templates: URL -> body.
    templates: BTreeMap<String, String>,
    /// `<operation>/<token>` -> the outcome of the call that first used the token.
    tokens: BTreeMap<String, Outcome>,
    /// CreateAccount requests still in progress: `car-…` -> what was asked.
    pending_accounts: BTreeMap<String, PendingAccount>,
    /// Polls so far of shares still in progress, by share token.
    share_polls: BTreeMap<String, u32>,
    /// Service Catalog records (ProvisionProduct, UpdateProvisionedProduct, Terminate…).
    records: BTreeMap<String, Record>,
    /// Accounts closed through this cloud.
    closed: u32,
    /// Identity Center account assignment requests (issue 18), by request id.
    assignment_requests: BTreeMap<String, access::AssignmentRequest>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PendingAccount {
    name: String,
    email: String,
    tags: Tags,
    polls: u32,
    /// Decided when the request was accepted (EMAIL_ALREADY_EXISTS, ACCOUNT_LIMIT_EXCEEDED),
    /// reported when it completes.
    failure: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum RecordKind {
    Provision,
    Update,
    Terminate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Record {
    kind: RecordKind,
    provisioned_product_id: String,
    status: String,
    polls: u32,
    #[serde(default)]
    artifact_id: Option<String>,
    #[serde(default)]
    params: Option<BTreeMap<String, String>>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Debug, Clone, Copy)]
enum IdKind {
    Ou,
    Policy,
    Account,
    CreateAccount,
    Portfolio,
    Product,
    Artifact,
    Provisioned,
    Record,
    Constraint,
}

/// The in-process cloud. See the module documentation.
#[derive(Debug)]
pub struct LocalCloud {
    /// The lists keep insertion order (sorted on load); nested lists are kept sorted.
    state: State,
    x: Extras,
    idx: Index,
    /// What the running call changed.
    touched: Touched,
    path: Option<PathBuf>,
    /// The open journal of a file-backed cloud.
    journal: Option<journal::Writer>,
    /// Set when the journal can no longer be written: every call is refused.
    broken: Option<String>,
    settings: Settings,
    /// The parameters each uploaded template declares (URL -> name -> has a default), parsed
    /// once: templates are content-addressed, so an URL's body never changes.
    declared: BTreeMap<String, Option<BTreeMap<String, bool>>>,
}

fn hard(code: &str, message: impl Into<String>) -> CloudError {
    CloudError::hard(code, message)
}

fn sha(text: &str) -> [u8; 32] {
    sha2::Sha256::digest(text.as_bytes()).into()
}

fn alnum(hash: &[u8], n: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    hash.iter().take(n).map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()])).collect()
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

impl LocalCloud {
    /// A cloud over `state`, kept in memory only.
    pub fn in_memory(state: State) -> LocalCloud {
        LocalCloud::over(state, Extras::default(), None)
    }

    fn over(mut state: State, x: Extras, path: Option<PathBuf>) -> LocalCloud {
        state.normalize();
        let idx = Index::build(&state, &x);
        LocalCloud {
            state,
            x,
            idx,
            touched: Touched::default(),
            path,
            journal: None,
            broken: None,
            settings: Settings::default(),
            declared: BTreeMap::new(),
        }
    }

    pub fn with_settings(mut self, settings: Settings) -> LocalCloud {
        self.settings = settings;
        self
    }

    /// Polls before an asynchronous request completes (default 1: the first poll completes it).
    pub fn with_polls(mut self, polls: u32) -> LocalCloud {
        self.settings.polls_to_complete = polls;
        self
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// A copy of the current state (normalized).
    pub fn state(&self) -> State {
        let mut s = self.state.clone();
        s.normalize();
        s
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The body uploaded to a template URL, if any.
    pub fn template(&self, url: &str) -> Option<&str> {
        self.x.templates.get(url).map(String::as_str)
    }

    /// Tell a cloud seeded from a state alone what an account creation the state lists as in
    /// progress asked for (the state format does not hold it; the plan that resumes it does), so
    /// it completes like any other instead of failing as unknown. Used by the plan check; a
    /// request the cloud already knows, or one not in progress, is left as it is.
    pub fn assume_in_flight(&mut self, request_id: &str, name: &str, email: &str, tags: &Tags) {
        let in_progress =
            self.state.create_account_requests.iter().any(|r| r.id == request_id && r.state == "IN_PROGRESS");
        if in_progress && !self.x.pending_accounts.contains_key(request_id) {
            self.x.pending_accounts.insert(
                request_id.to_string(),
                PendingAccount {
                    name: name.into(),
                    email: email.into(),
                    tags: tags.clone(),
                    polls: 0,
                    failure: None,
                },
            );
        }
    }

    fn polls_needed(&self) -> u32 {
        self.settings.polls_to_complete.max(1)
    }

    // ---------------------------------------------------------------- ids

    fn id_taken(&self, id: &str) -> bool {
        let (s, i) = (&self.state, &self.idx);
        s.organization.root_id == id
            || s.organization.id == id
            || i.ous.contains_key(id)
            || i.accounts.contains_key(id)
            || i.requests.contains_key(id)
            || i.policies.contains_key(id)
            || i.portfolios.contains_key(id)
            || i.products.contains_key(id)
            || s.products.iter().any(|p| p.versions.iter().any(|v| v.id == id))
            || i.provisioned.contains_key(id)
            || self.x.records.contains_key(id)
            || self.x.pending_accounts.contains_key(id)
            || i.token_ids.contains(id)
    }

    /// A fresh id of the AWS shape for `kind`: a counter hashed, skipping ids in use.
    fn mint(&mut self, kind: IdKind) -> String {
        loop {
            self.x.seq += 1;
            let h =
                sha(&format!("vend-local-cloud\0{}\0{kind:?}\0{}", self.state.organization.id, self.x.seq));
            let id = match kind {
                IdKind::Ou => {
                    let root = self.state.organization.root_id.trim_start_matches("r-");
                    format!("ou-{root}-{}", alnum(&h, 8))
                }
                IdKind::Policy => format!("p-{}", alnum(&h, 8)),
                IdKind::Account => {
                    let mut n = [0u8; 8];
                    n.copy_from_slice(&h[..8]);
                    format!("{:012}", u64::from_be_bytes(n) % 1_000_000_000_000)
                }
                IdKind::CreateAccount => format!("car-{}", hex::encode(&h[..16])),
                IdKind::Portfolio => format!("port-{}", alnum(&h, 13)),
                IdKind::Product => format!("prod-{}", alnum(&h, 13)),
                IdKind::Artifact => format!("pa-{}", alnum(&h, 13)),
                IdKind::Provisioned => format!("pp-{}", alnum(&h, 13)),
                IdKind::Record => format!("rec-{}", alnum(&h, 13)),
                IdKind::Constraint => format!("cons-{}", alnum(&h, 13)),
            };
            if !self.id_taken(&id) {
                return id;
            }
        }
    }

    fn next_request_id(&mut self) -> String {
        self.x.requests += 1;
        let h = hex::encode(&sha(&format!("vend-local-cloud/request\0{}", self.x.requests))[..16]);
        format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
    }

    /// The token of a portfolio share, derived from what it is, so it survives a restart.
    pub fn share_token(portfolio_id: &str, share_type: &str, value: &str) -> String {
        format!("share-{}", alnum(&sha(&format!("{portfolio_id}\0{share_type}\0{value}")), 13))
    }

    // ---------------------------------------------------------------- lookups

    fn scp_enabled(&self) -> bool {
        self.state.organization.enabled_policy_types.iter().any(|t| t == SCP)
    }

    fn full_access_index(&self) -> Option<usize> {
        let policies = &self.state.policies;
        (0..policies.len())
            .filter(|&i| {
                let p = &policies[i];
                p.aws_managed && p.name == FULL_ACCESS_NAME && p.policy_type == SCP
            })
            .min_by(|&a, &b| policies[a].id.cmp(&policies[b].id))
    }

    fn is_root(&self, id: &str) -> bool {
        self.state.organization.root_id == id
    }

    fn ou(&self, id: &str) -> Option<&OrgUnit> {
        self.idx.ous.get(id).map(|&i| &self.state.organizational_units[i])
    }

    fn account(&self, id: &str) -> Option<&Account> {
        self.idx.accounts.get(id).map(|&i| &self.state.accounts[i])
    }

    fn is_parent(&self, id: &str) -> bool {
        self.is_root(id) || self.ou(id).is_some()
    }

    fn is_target(&self, id: &str) -> bool {
        self.is_parent(id) || self.account(id).is_some()
    }

    /// Levels below the root: the root is 0, its OUs 1.
    fn depth(&self, id: &str) -> usize {
        let mut depth = 0;
        let mut cur = id.to_string();
        while let Some(ou) = self.ou(&cur) {
            depth += 1;
            if depth > self.state.organizational_units.len() {
                break; // a cycle in a hand-edited state
            }
            cur = ou.parent_id.clone();
        }
        depth
    }

    /// The parents of an account up to the root.
    fn chain(&self, account: &Account) -> Vec<String> {
        let mut out = vec![account.parent_id.clone()];
        let mut cur = account.parent_id.clone();
        while let Some(ou) = self.ou(&cur) {
            if out.len() > self.state.organizational_units.len() + 1 {
                break;
            }
            out.push(ou.parent_id.clone());
            cur = ou.parent_id.clone();
        }
        out
    }

    fn policy_index(&self, id: &str) -> Result<usize, CloudError> {
        self.idx
            .policies
            .get(id)
            .copied()
            .ok_or_else(|| refuse("organizations.policy-exists", format!("no policy {id}")))
    }

    fn attached(&self, policy: usize, target: &str) -> bool {
        self.state.policies[policy].target_ids.binary_search_by(|t| t.as_str().cmp(target)).is_ok()
    }

    fn scp_count(&self, target: &str) -> usize {
        (0..self.state.policies.len())
            .filter(|&i| self.state.policies[i].policy_type == SCP && self.attached(i, target))
            .count()
    }

    fn attach(&mut self, policy: usize, target: &str) {
        let is_root = self.is_root(target);
        let p = &mut self.state.policies[policy];
        index::insert_sorted(&mut p.target_ids, target.to_string());
        let id = p.id.clone();
        self.touched.attachments.insert((id.clone(), target.to_string()));
        if is_root && index::insert_sorted(&mut self.state.organization.root_policy_ids, id) {
            self.touched.organization = true;
        }
    }

    fn detach(&mut self, policy: usize, target: &str) {
        let is_root = self.is_root(target);
        let p = &mut self.state.policies[policy];
        index::remove_sorted(&mut p.target_ids, &target.to_string());
        let id = p.id.clone();
        self.touched.attachments.insert((id.clone(), target.to_string()));
        if is_root && index::remove_sorted(&mut self.state.organization.root_policy_ids, &id) {
            self.touched.organization = true;
        }
    }

    /// AWS attaches FullAWSAccess to every new OU and account while SCPs are enabled.
    fn attach_full_access(&mut self, target: &str) {
        if self.scp_enabled()
            && let Some(i) = self.full_access_index()
        {
            self.attach(i, target);
        }
    }

    fn portfolio_index(&self, id: &str) -> Result<usize, CloudError> {
        self.idx
            .portfolios
            .get(id)
            .copied()
            .ok_or_else(|| refuse("servicecatalog.portfolio-exists", format!("no portfolio {id}")))
    }

    fn product_index(&self, id: &str) -> Result<usize, CloudError> {
        self.idx
            .products
            .get(id)
            .copied()
            .ok_or_else(|| refuse("servicecatalog.product-exists", format!("no product {id}")))
    }

    fn artifact_index(&self, product: usize, id: &str) -> Result<usize, CloudError> {
        let p = &self.state.products[product];
        p.versions.iter().position(|v| v.id == id).ok_or_else(|| {
            refuse(
                "servicecatalog.product-exists",
                format!("no provisioning artifact {id} in product {}", p.id),
            )
        })
    }

    fn provisioned_index(&self, id: &str) -> Result<usize, CloudError> {
        self.idx.provisioned.get(id).copied().ok_or_else(|| {
            refuse("servicecatalog.provisioned-exists", format!("no provisioned product {id}"))
        })
    }

    fn template_known(&self, url: &str) -> bool {
        self.x.templates.contains_key(url)
            || self.state.products.iter().any(|p| p.versions.iter().any(|v| v.template_url == url))
    }

    // ---------------------------------------------------------------- checks

    fn check_org_tags(&self, tags: &Tags, existing: usize) -> Result<(), CloudError> {
        for (k, v) in tags {
            rules::tag(k, v).map_err(|e| refuse("organizations.tag-shape", e))?;
        }
        if existing.max(tags.len()) > self.settings.max_org_tags {
            return Err(refuse(
                "organizations.tag-count",
                format!("at most {} tags per resource", self.settings.max_org_tags),
            ));
        }
        Ok(())
    }

    fn check_catalog_tags(&self, tags: &Tags, total: usize) -> Result<(), CloudError> {
        for (k, v) in tags {
            rules::tag(k, v).map_err(|e| refuse("servicecatalog.tag-shape", e))?;
        }
        if total.max(tags.len()) > self.settings.max_catalog_tags {
            return Err(refuse(
                "servicecatalog.tag-count",
                format!("at most {} tags per resource", self.settings.max_catalog_tags),
            ));
        }
        Ok(())
    }

    fn check_policy_content(&self, content: &str) -> Result<(), CloudError> {
        // AWS answers an oversized document with ConstraintViolationException, reason
        // POLICY_CONTENT_LIMIT_EXCEEDED (API reference: ConstraintViolationException).
        if content.len() > self.settings.max_policy_bytes {
            return Err(refuse(
                "organizations.policy-size",
                format!(
                    "the document is {} bytes; at most {} are allowed",
                    content.len(),
                    self.settings.max_policy_bytes
                ),
            ));
        }
        match serde_json::from_str::<serde_json::Value>(content) {
            Ok(doc) => rules::scp_document(&doc).map_err(|e| refuse("organizations.policy-json", e)),
            Err(e) => {
                Err(refuse("organizations.policy-json", format!("the document is not valid JSON: {e}")))
            }
        }
    }

    fn check_artifact(&self, spec: &ArtifactSpec) -> Result<(), CloudError> {
        let bad = |m: String| refuse("servicecatalog.version-fields", m);
        if spec.name.is_empty() || chars(&spec.name) > 8192 {
            return Err(bad("the version name must be 1 to 8192 characters".into()));
        }
        if chars(&spec.description) > 8192 {
            return Err(bad("the version description must be at most 8192 characters".into()));
        }
        if spec.guidance != "DEFAULT" && spec.guidance != "DEPRECATED" {
            return Err(bad(format!("guidance must be DEFAULT or DEPRECATED, not '{}'", spec.guidance)));
        }
        if !self.template_known(&spec.template_url) {
            return Err(refuse(
                "servicecatalog.version-template",
                format!("LoadTemplateFromURL: no template at '{}'", spec.template_url),
            ));
        }
        Ok(())
    }

    /// The outcome stored for an idempotency token, if the token was used and what it created
    /// still exists.
    fn replay(&self, op: &str, token: &str, exists: impl Fn(&Outcome) -> bool) -> Option<Outcome> {
        if token.is_empty() {
            return None;
        }
        self.x.tokens.get(&format!("{op}/{token}")).filter(|o| exists(o)).cloned()
    }

    fn remember(&mut self, op: &str, token: &str, outcome: &Outcome) {
        if !token.is_empty() {
            let key = format!("{op}/{token}");
            self.touched.tokens.insert(key.clone());
            self.idx
                .token_ids
                .extend([outcome.id.clone(), outcome.artifact_id.clone()].into_iter().flatten());
            self.x.tokens.insert(key, outcome.clone());
        }
    }

    // ---------------------------------------------------------------- operations

    fn apply(&mut self, op: &Op) -> Result<Outcome, CloudError> {
        match op {
            Op::EnablePolicyType { root_id, policy_type } => self.enable_policy_type(root_id, policy_type),
            Op::CreateOrganizationalUnit { parent_id, name, tags } => self.create_ou(parent_id, name, tags),
            Op::UpdateOrganizationalUnit { ou_id, name } => self.rename_ou(ou_id, name),
            Op::DeleteOrganizationalUnit { ou_id } => self.delete_ou(ou_id),
            Op::TagResource { resource_id, tags } => self.tag_resource(resource_id, tags),
            Op::CreateAccount { name, email, tags } => self.create_account(name, email, tags),
            Op::DescribeCreateAccountStatus { request_id } => self.describe_create_account(request_id),
            Op::FindCreateAccount { name, email } => Ok(self.find_create_account(name, email)),
            Op::ListParents { child_id } => match self.account(child_id) {
                Some(a) => Ok(Outcome { id: Some(a.parent_id.clone()), ..Outcome::default() }),
                None => Err(hard("ChildNotFoundException", format!("no account {child_id}"))),
            },
            Op::MoveAccount { account_id, source_parent_id, destination_parent_id } => {
                self.move_account(account_id, source_parent_id, destination_parent_id)
            }
            Op::CloseAccount { account_id } => self.close_account(account_id),
            Op::CreatePolicy { name, content, tags } => self.create_policy(name, content, tags),
            Op::UpdatePolicy { policy_id, content } => self.update_policy(policy_id, content),
            Op::DeletePolicy { policy_id } => self.delete_policy(policy_id),
            Op::AttachPolicy { policy_id, target_id } => self.attach_policy(policy_id, target_id),
            Op::DetachPolicy { policy_id, target_id } => self.detach_policy(policy_id, target_id),
            Op::PutTemplate { url, body } => self.put_template(url, body),
            Op::CreateBucket { bucket, region } => self.create_bucket(bucket, region),
            Op::PutPublicAccessBlock { bucket } => {
                self.set_bucket(bucket, |b| b.public_access_blocked = true)
            }
            Op::PutBucketEncryption { bucket, algorithm } => {
                let algorithm = algorithm.clone();
                self.set_bucket(bucket, move |b| b.encryption = algorithm)
            }
            Op::PutBucketVersioning { bucket } => self.set_bucket(bucket, |b| b.versioning = true),
            Op::PutBucketTagging { bucket, tags } => self.tag_bucket(bucket, tags),
            Op::EnableAwsOrganizationsAccess {} => self.enable_catalog_org_access(),
            Op::CreateRole { account_id, name, trust_policy, tags } => {
                self.create_role(account_id, name, trust_policy, tags)
            }
            Op::UpdateAssumeRolePolicy { account_id, name, trust_policy } => {
                self.update_trust(account_id, name, trust_policy)
            }
            Op::PutRolePolicy { account_id, name, policy_name, document } => {
                self.put_role_policy(account_id, name, policy_name, document)
            }
            Op::DeleteRolePolicy { account_id, name, policy_name } => {
                self.delete_role_policy(account_id, name, policy_name)
            }
            Op::DeleteRole { account_id, name } => self.delete_role(account_id, name),
            Op::EnableAwsServiceAccess { service_principal } => self.enable_service_access(service_principal),
            Op::CreateAccountAssignment {
                instance_arn,
                account_id,
                permission_set_arn,
                principal_type,
                principal_id,
            }
            | Op::DeleteAccountAssignment {
                instance_arn,
                account_id,
                permission_set_arn,
                principal_type,
                principal_id,
            } => {
                let create = matches!(op, Op::CreateAccountAssignment { .. });
                let a = crate::model::Assignment {
                    account_id: account_id.clone(),
                    permission_set_arn: permission_set_arn.clone(),
                    principal_type: principal_type.clone(),
                    principal_id: principal_id.clone(),
                };
                self.assignment_request(create, instance_arn, a)
            }
            Op::DescribeAccountAssignmentCreationStatus { instance_arn, request_id } => {
                self.assignment_status(true, instance_arn, request_id)
            }
            Op::DescribeAccountAssignmentDeletionStatus { instance_arn, request_id } => {
                self.assignment_status(false, instance_arn, request_id)
            }
            Op::CreatePermissionSet { instance_arn, name, description, session_duration, tags } => {
                self.create_permission_set(instance_arn, name, description, session_duration, tags)
            }
            Op::UpdatePermissionSet { instance_arn, permission_set_arn, description, session_duration } => {
                self.update_permission_set(instance_arn, permission_set_arn, description, session_duration)
            }
            Op::TagPermissionSet { instance_arn, permission_set_arn, tags } => {
                self.tag_permission_set(instance_arn, permission_set_arn, tags)
            }
            Op::AttachManagedPolicyToPermissionSet {
                instance_arn,
                permission_set_arn,
                managed_policy_arn,
            } => self.managed_policy(true, instance_arn, permission_set_arn, managed_policy_arn),
            Op::DetachManagedPolicyFromPermissionSet {
                instance_arn,
                permission_set_arn,
                managed_policy_arn,
            } => self.managed_policy(false, instance_arn, permission_set_arn, managed_policy_arn),
            Op::PutInlinePolicyToPermissionSet { instance_arn, permission_set_arn, inline_policy } => {
                self.inline_policy(instance_arn, permission_set_arn, Some(inline_policy))
            }
            Op::DeleteInlinePolicyFromPermissionSet { instance_arn, permission_set_arn } => {
                self.inline_policy(instance_arn, permission_set_arn, None)
            }
            Op::ProvisionPermissionSet { instance_arn, permission_set_arn } => {
                self.provision_permission_set(instance_arn, permission_set_arn)
            }
            Op::DescribePermissionSetProvisioningStatus { instance_arn, request_id } => {
                self.provisioning_status(instance_arn, request_id)
            }
            Op::DeletePermissionSet { instance_arn, permission_set_arn } => {
                self.delete_permission_set(instance_arn, permission_set_arn)
            }
            Op::PutAlternateContact { account_id, contact_type, name, email, phone, title } => self
                .put_contact(crate::model::AlternateContact {
                    account_id: account_id.clone(),
                    contact_type: contact_type.clone(),
                    name: name.clone(),
                    email: email.clone(),
                    phone: phone.clone(),
                    title: title.clone(),
                }),
            Op::DeleteAlternateContact { account_id, contact_type } => {
                self.delete_contact(account_id, contact_type)
            }
            Op::GetAwsOrganizationsAccessStatus {} => Ok(Outcome {
                status: Some(if self.state.catalog_org_access() { "ENABLED" } else { "DISABLED" }.into()),
                ..Outcome::default()
            }),
            Op::CreatePortfolio { name, description, provider, tags, token } => {
                self.create_portfolio(name, description, provider, tags, token)
            }
            Op::UpdatePortfolio { portfolio_id, description, provider, tags } => {
                self.update_portfolio(portfolio_id, description, provider, tags)
            }
            Op::DeletePortfolio { portfolio_id } => self.delete_portfolio(portfolio_id),
            Op::CreateProduct { name, owner, description, tags, version, token } => {
                self.create_product(name, owner, description, tags, version, token)
            }
            Op::UpdateProduct { product_id, owner, tags } => self.update_product(product_id, owner, tags),
            Op::DeleteProduct { product_id } => self.delete_product(product_id),
            Op::CreateProvisioningArtifact { product_id, version, token } => {
                self.create_artifact(product_id, version, token)
            }
            Op::UpdateProvisioningArtifact { product_id, artifact_id, active, guidance, description } => {
                self.update_artifact(product_id, artifact_id, *active, guidance, description.as_deref())
            }
            Op::DeleteProvisioningArtifact { product_id, artifact_id } => {
                self.delete_artifact(product_id, artifact_id)
            }
            Op::AssociateProductWithPortfolio { product_id, portfolio_id } => {
                self.associate_product(product_id, portfolio_id)
            }
            Op::DisassociateProductFromPortfolio { product_id, portfolio_id } => {
                self.disassociate_product(product_id, portfolio_id)
            }
            Op::AssociatePrincipalWithPortfolio { portfolio_id, arn, principal_type } => {
                self.associate_principal(portfolio_id, arn, principal_type)
            }
            Op::DisassociatePrincipalFromPortfolio { portfolio_id, arn, principal_type } => {
                self.disassociate_principal(portfolio_id, arn, principal_type)
            }
            Op::CreatePortfolioShare { portfolio_id, share_type, value, share_principals } => {
                self.create_share(portfolio_id, share_type, value, *share_principals)
            }
            Op::UpdatePortfolioShare { portfolio_id, share_type, value, share_principals } => {
                self.update_share(portfolio_id, share_type, value, *share_principals)
            }
            Op::DescribePortfolioShareStatus { token } => self.describe_share(token),
            Op::DeletePortfolioShare { portfolio_id, share_type, value } => {
                self.delete_share(portfolio_id, share_type, value)
            }
            Op::CreateConstraint { portfolio_id, product_id, local_role_name, token } => {
                self.create_constraint(portfolio_id, product_id, local_role_name, token)
            }
            Op::DeleteConstraint { portfolio_id, product_id } => {
                self.delete_constraint(portfolio_id, product_id)
            }
            Op::ProvisionProduct { account_id, name, product_id, artifact_id, params, tags, token } => {
                self.provision(account_id, name, product_id, artifact_id, params, tags, token)
            }
            Op::UpdateProvisionedProduct { provisioned_product_id, artifact_id, params, token } => {
                self.update_provisioned(provisioned_product_id, artifact_id, params, token)
            }
            Op::TerminateProvisionedProduct { provisioned_product_id, token } => {
                self.terminate(provisioned_product_id, token)
            }
            Op::DescribeRecord { record_id } => self.describe_record(record_id),
        }
    }
}

impl Cloud for LocalCloud {
    fn read_state(&mut self) -> Result<State, CloudError> {
        self.check_usable()?;
        Ok(self.state())
    }

    /// Carry out `op` whole or not at all: on an error nothing changes (every operation checks
    /// before it changes anything; debug builds assert it). A successful call is durable (when
    /// the cloud has a path) before this returns; if it cannot be made durable, the cloud goes
    /// back to what is on disk and the call fails as not carried out.
    fn call(&mut self, op: &Op) -> Result<Outcome, CloudError> {
        self.check_usable()?;
        self.touched = Touched::default();
        #[cfg(debug_assertions)]
        let before = (self.state.clone(), self.x.clone());
        let mut out = match self.apply(op) {
            Ok(out) => out,
            Err(e) => {
                #[cfg(debug_assertions)]
                index::verify::after_failure(&before, &self.state, &self.x);
                return Err(e);
            }
        };
        out.request_id = self.next_request_id();
        #[cfg(debug_assertions)]
        index::verify::after_success(&before, &self.state, &self.x, &self.touched, &self.idx);
        self.persist()?;
        Ok(out)
    }
}
