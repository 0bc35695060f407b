//! The in-process cloud behind the local state file: a `port::Cloud` that holds a `State` and
//! enforces the AWS rules of AWS-NOTES.md (Organizations, Service Catalog, the S3 template
//! bucket) the way AWS does — asynchronous account creation, shares and provisioning records,
//! idempotency tokens, quotas, the SCP invariants — so that apply can be tested and run offline.
//! With a state-file path, every successful call is persisted atomically before it returns:
//! first a journal beside the state file (the new state plus what the state format cannot hold:
//! uploaded templates, tokens, pending requests, records, id counters), then the state file.
//! On open, a journal one step ahead of the state file (a crash between the two writes) is
//! replayed; a journal that matches neither the state nor its predecessor is ignored.

use crate::adapter::fs::{self, FsError};
use crate::model::{
    Account, CreateAccountRequest, LaunchConstraint, OrgUnit, Policy, Portfolio, Principal, Product,
    ProductVersion, ProvisionedProduct, Share, State, Tags,
};
use crate::port::{ArtifactSpec, Cloud, CloudError, ErrorKind, Op, Outcome};
use crate::workspace::rules;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const SCP: &str = "SERVICE_CONTROL_POLICY";
const FULL_ACCESS_NAME: &str = "FullAWSAccess";
const FULL_ACCESS_ID: &str = "p-FullAWSAccess";
const FULL_ACCESS_CONTENT: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const JOURNAL_FORMAT: u32 = 1;

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
    /// Accounts this cloud may close (AWS: a changing quota per rolling 30 days).
    pub close_limit: Option<u32>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            polls_to_complete: 1,
            max_ou_depth: 5,
            max_ous: 1000,
            max_policies_per_target: 5,
            max_policies: 1000,
            max_policy_bytes: 5120,
            max_org_tags: 50,
            max_catalog_tags: 20,
            max_versions_per_product: 100,
            max_principal_patterns: 10,
            account_limit: None,
            close_limit: None,
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

/// The journal file: the state after the last call, its fingerprint and its predecessor's.
#[derive(Serialize, Deserialize)]
struct Journal {
    format: u32,
    prev: String,
    current: String,
    state: State,
    extras: Extras,
}

/// `Journal` as written, borrowing the cloud's state (no copy per call).
#[derive(Serialize)]
struct JournalRef<'a> {
    format: u32,
    prev: &'a str,
    current: &'a str,
    state: &'a State,
    extras: &'a Extras,
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
#[derive(Debug, Clone)]
pub struct LocalCloud {
    state: State,
    x: Extras,
    path: Option<PathBuf>,
    /// Fingerprint of the state as last persisted.
    fingerprint: String,
    settings: Settings,
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
    pub fn in_memory(mut state: State) -> LocalCloud {
        state.normalize();
        let fingerprint = state.fingerprint();
        LocalCloud { state, x: Extras::default(), path: None, fingerprint, settings: Settings::default() }
    }

    /// A cloud over the state file at `path` (which must exist); every successful call is
    /// persisted before it returns. Replays the journal if a crash interrupted the last write.
    pub fn open(path: impl AsRef<Path>) -> Result<LocalCloud, FsError> {
        let path = path.as_ref().to_path_buf();
        let mut state = fs::read_state(&path)?;
        state.normalize();
        let mut fingerprint = state.fingerprint();
        let mut x = Extras::default();
        let journal_path = Self::journal_path(&path);
        let journal = std::fs::read(&journal_path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Journal>(&b).ok())
            .filter(|j| j.format == JOURNAL_FORMAT);
        if let Some(j) = journal {
            if j.current == fingerprint {
                x = j.extras;
            } else if j.prev == fingerprint {
                // The journal was written, the state file not: finish the interrupted write.
                state = j.state;
                state.normalize();
                fs::write_state(&path, &state)?;
                fingerprint = j.current;
                x = j.extras;
            } else {
                // The state file was replaced or edited: the journal describes another state.
                // Keep only the counters, so ids and request ids are not handed out twice.
                x.seq = j.extras.seq;
                x.requests = j.extras.requests;
            }
        }
        Ok(LocalCloud { state, x, path: Some(path), fingerprint, settings: Settings::default() })
    }

    /// Where the journal of the state file `state_path` lives: `<file name>.journal` beside it.
    pub fn journal_path(state_path: &Path) -> PathBuf {
        let name = state_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        state_path.with_file_name(format!("{name}.journal"))
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

    /// The current state (normalized).
    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The body uploaded to a template URL, if any.
    pub fn template(&self, url: &str) -> Option<&str> {
        self.x.templates.get(url).map(String::as_str)
    }

    fn polls_needed(&self) -> u32 {
        self.settings.polls_to_complete.max(1)
    }

    // ---------------------------------------------------------------- ids

    fn id_taken(&self, id: &str) -> bool {
        let s = &self.state;
        s.organization.root_id == id
            || s.organization.id == id
            || s.organizational_units.iter().any(|o| o.id == id)
            || s.accounts.iter().any(|a| a.id == id)
            || s.create_account_requests.iter().any(|r| r.id == id)
            || s.policies.iter().any(|p| p.id == id)
            || s.portfolios.iter().any(|p| p.id == id)
            || s.products.iter().any(|p| p.id == id || p.versions.iter().any(|v| v.id == id))
            || s.provisioned_products.iter().any(|p| p.id == id)
            || self.x.records.contains_key(id)
            || self.x.pending_accounts.contains_key(id)
            || self
                .x
                .tokens
                .values()
                .any(|o| o.id.as_deref() == Some(id) || o.artifact_id.as_deref() == Some(id))
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

    // ---------------------------------------------------------------- persistence

    fn persist(&mut self) -> Result<(), CloudError> {
        let Some(path) = self.path.clone() else {
            return Ok(());
        };
        let current = self.state.fingerprint();
        let journal = JournalRef {
            format: JOURNAL_FORMAT,
            prev: &self.fingerprint,
            current: &current,
            state: &self.state,
            extras: &self.x,
        };
        let bytes = serde_json::to_vec(&journal)
            .map_err(|e| hard("LocalStateWriteFailed", format!("cannot encode the journal: {e}")))?;
        fs::write_atomic(&Self::journal_path(&path), &bytes)
            .map_err(|e| hard("LocalStateWriteFailed", format!("the call was not carried out: {e}")))?;
        // From here on the call is durable: the journal is replayed on the next open.
        self.fingerprint = current;
        fs::write_state(&path, &self.state).map_err(|e| CloudError {
            kind: ErrorKind::Unknown,
            code: "LocalStateWriteFailed".into(),
            message: format!("the call was recorded in the journal but the state file was not written: {e}"),
        })
    }

    // ---------------------------------------------------------------- lookups

    fn scp_enabled(&self) -> bool {
        self.state.organization.enabled_policy_types.iter().any(|t| t == SCP)
    }

    fn full_access_index(&self) -> Option<usize> {
        self.state
            .policies
            .iter()
            .position(|p| p.aws_managed && p.name == FULL_ACCESS_NAME && p.policy_type == SCP)
    }

    fn is_root(&self, id: &str) -> bool {
        self.state.organization.root_id == id
    }

    fn ou(&self, id: &str) -> Option<&OrgUnit> {
        self.state.organizational_units.iter().find(|o| o.id == id)
    }

    fn account(&self, id: &str) -> Option<&Account> {
        self.state.accounts.iter().find(|a| a.id == id)
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
        self.state
            .policies
            .iter()
            .position(|p| p.id == id)
            .ok_or_else(|| hard("PolicyNotFoundException", format!("no policy {id}")))
    }

    fn scp_count(&self, target: &str) -> usize {
        self.state
            .policies
            .iter()
            .filter(|p| p.policy_type == SCP && p.target_ids.iter().any(|t| t == target))
            .count()
    }

    fn attach(&mut self, policy: usize, target: &str) {
        let is_root = self.is_root(target);
        let p = &mut self.state.policies[policy];
        if !p.target_ids.iter().any(|t| t == target) {
            p.target_ids.push(target.to_string());
        }
        let id = p.id.clone();
        if is_root && !self.state.organization.root_policy_ids.contains(&id) {
            self.state.organization.root_policy_ids.push(id);
        }
    }

    fn detach(&mut self, policy: usize, target: &str) {
        let is_root = self.is_root(target);
        let p = &mut self.state.policies[policy];
        p.target_ids.retain(|t| t != target);
        let id = p.id.clone();
        if is_root {
            self.state.organization.root_policy_ids.retain(|r| *r != id);
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
        self.state
            .portfolios
            .iter()
            .position(|p| p.id == id)
            .ok_or_else(|| hard("ResourceNotFoundException", format!("no portfolio {id}")))
    }

    fn product_index(&self, id: &str) -> Result<usize, CloudError> {
        self.state
            .products
            .iter()
            .position(|p| p.id == id)
            .ok_or_else(|| hard("ResourceNotFoundException", format!("no product {id}")))
    }

    fn artifact_index(&self, product: usize, id: &str) -> Result<usize, CloudError> {
        let p = &self.state.products[product];
        p.versions.iter().position(|v| v.id == id).ok_or_else(|| {
            hard("ResourceNotFoundException", format!("no provisioning artifact {id} in product {}", p.id))
        })
    }

    fn provisioned_index(&self, id: &str) -> Result<usize, CloudError> {
        self.state
            .provisioned_products
            .iter()
            .position(|p| p.id == id)
            .ok_or_else(|| hard("ResourceNotFoundException", format!("no provisioned product {id}")))
    }

    fn template_known(&self, url: &str) -> bool {
        self.x.templates.contains_key(url)
            || self.state.products.iter().any(|p| p.versions.iter().any(|v| v.template_url == url))
    }

    // ---------------------------------------------------------------- checks

    fn check_org_tags(&self, tags: &Tags, existing: usize) -> Result<(), CloudError> {
        for (k, v) in tags {
            rules::tag(k, v).map_err(|e| hard("InvalidInputException", e))?;
        }
        if existing.max(tags.len()) > self.settings.max_org_tags {
            return Err(hard(
                "ConstraintViolationException",
                format!("MAX_TAG_LIMIT_EXCEEDED: at most {} tags per resource", self.settings.max_org_tags),
            ));
        }
        Ok(())
    }

    fn check_catalog_tags(&self, tags: &Tags, total: usize) -> Result<(), CloudError> {
        for (k, v) in tags {
            rules::tag(k, v).map_err(|e| hard("InvalidParametersException", e))?;
        }
        if total.max(tags.len()) > self.settings.max_catalog_tags {
            return Err(hard(
                "LimitExceededException",
                format!("at most {} tags per resource", self.settings.max_catalog_tags),
            ));
        }
        Ok(())
    }

    fn check_policy_content(&self, content: &str) -> Result<(), CloudError> {
        // AWS answers an oversized document with ConstraintViolationException, reason
        // POLICY_CONTENT_LIMIT_EXCEEDED (API reference: ConstraintViolationException).
        if content.len() > self.settings.max_policy_bytes {
            return Err(hard(
                "ConstraintViolationException",
                format!(
                    "POLICY_CONTENT_LIMIT_EXCEEDED: the document is {} bytes; at most {} are allowed",
                    content.len(),
                    self.settings.max_policy_bytes
                ),
            ));
        }
        match serde_json::from_str::<serde_json::Value>(content) {
            Ok(serde_json::Value::Object(_)) => Ok(()),
            Ok(_) => Err(hard("MalformedPolicyDocumentException", "the document must be a JSON object")),
            Err(e) => {
                Err(hard("MalformedPolicyDocumentException", format!("the document is not valid JSON: {e}")))
            }
        }
    }

    fn check_artifact(&self, spec: &ArtifactSpec) -> Result<(), CloudError> {
        let bad = |m: String| hard("InvalidParametersException", m);
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
            return Err(bad(format!("LoadTemplateFromURL: no template at '{}'", spec.template_url)));
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
            self.x.tokens.insert(format!("{op}/{token}"), outcome.clone());
        }
    }

    // ---------------------------------------------------------------- operations

    fn apply(&mut self, op: &Op) -> Result<Outcome, CloudError> {
        match op {
            Op::EnablePolicyType { root_id, policy_type } => self.enable_policy_type(root_id, policy_type),
            Op::CreateOrganizationalUnit { parent_id, name, tags } => self.create_ou(parent_id, name, tags),
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
            Op::UpdateProvisioningArtifact { product_id, artifact_id, active, guidance } => {
                self.update_artifact(product_id, artifact_id, *active, guidance)
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
            Op::CreatePortfolioShare { portfolio_id, share_type, value } => {
                self.create_share(portfolio_id, share_type, value)
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

    // ---- Organizations

    fn enable_policy_type(&mut self, root_id: &str, policy_type: &str) -> Result<Outcome, CloudError> {
        if !self.is_root(root_id) {
            return Err(hard("RootNotFoundException", format!("no root {root_id}")));
        }
        if !crate::model::snapshot_check::POLICY_TYPES.contains(&policy_type) {
            return Err(hard("InvalidInputException", format!("unknown policy type '{policy_type}'")));
        }
        if self.state.organization.enabled_policy_types.iter().any(|t| t == policy_type) {
            return Err(hard(
                "PolicyTypeAlreadyEnabledException",
                format!("{policy_type} is already enabled"),
            ));
        }
        self.state.organization.enabled_policy_types.push(policy_type.to_string());
        self.state.organization.enabled_policy_types.sort();
        if policy_type == SCP {
            let index = match self.full_access_index() {
                Some(i) => i,
                None => {
                    let id = if self.id_taken(FULL_ACCESS_ID) {
                        self.mint(IdKind::Policy)
                    } else {
                        FULL_ACCESS_ID.into()
                    };
                    self.state.policies.push(Policy {
                        id,
                        name: FULL_ACCESS_NAME.into(),
                        policy_type: SCP.into(),
                        aws_managed: true,
                        content: FULL_ACCESS_CONTENT.into(),
                        target_ids: vec![],
                        tags: Tags::new(),
                    });
                    self.state.policies.len() - 1
                }
            };
            let mut targets = vec![self.state.organization.root_id.clone()];
            targets.extend(self.state.organizational_units.iter().map(|o| o.id.clone()));
            targets.extend(self.state.accounts.iter().map(|a| a.id.clone()));
            for t in targets {
                self.attach(index, &t);
            }
        }
        Ok(Outcome::default())
    }

    fn create_ou(&mut self, parent_id: &str, name: &str, tags: &Tags) -> Result<Outcome, CloudError> {
        if !self.is_parent(parent_id) {
            return Err(hard("ParentNotFoundException", format!("no root or OU {parent_id}")));
        }
        if name.is_empty() || chars(name) > 128 {
            return Err(hard("InvalidInputException", "an OU name must be 1 to 128 characters"));
        }
        self.check_org_tags(tags, 0)?;
        if self.depth(parent_id) >= self.settings.max_ou_depth {
            return Err(hard(
                "ConstraintViolationException",
                format!(
                    "OU_DEPTH_LIMIT_EXCEEDED: at most {} levels of OUs below the root",
                    self.settings.max_ou_depth
                ),
            ));
        }
        if self.state.organizational_units.len() >= self.settings.max_ous {
            return Err(hard("ConstraintViolationException", "OU_NUMBER_LIMIT_EXCEEDED"));
        }
        if self.state.organizational_units.iter().any(|o| o.parent_id == parent_id && o.name == name) {
            return Err(hard(
                "DuplicateOrganizationalUnitException",
                format!("an OU named '{name}' already exists under {parent_id}"),
            ));
        }
        let id = self.mint(IdKind::Ou);
        self.state.organizational_units.push(OrgUnit {
            id: id.clone(),
            name: name.to_string(),
            parent_id: parent_id.to_string(),
            tags: tags.clone(),
        });
        self.attach_full_access(&id);
        Ok(Outcome { id: Some(id), ..Outcome::default() })
    }

    fn delete_ou(&mut self, ou_id: &str) -> Result<Outcome, CloudError> {
        if self.ou(ou_id).is_none() {
            return Err(hard("OrganizationalUnitNotFoundException", format!("no OU {ou_id}")));
        }
        let s = &self.state;
        if s.accounts.iter().any(|a| a.parent_id == ou_id)
            || s.organizational_units.iter().any(|o| o.parent_id == ou_id)
        {
            return Err(hard(
                "OrganizationalUnitNotEmptyException",
                format!("OU {ou_id} still contains accounts or OUs"),
            ));
        }
        self.state.organizational_units.retain(|o| o.id != ou_id);
        for p in &mut self.state.policies {
            p.target_ids.retain(|t| t != ou_id);
        }
        Ok(Outcome::default())
    }

    fn tag_resource(&mut self, resource_id: &str, tags: &Tags) -> Result<Outcome, CloudError> {
        let merged = |existing: &Tags| {
            let mut all = existing.clone();
            all.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
            all
        };
        let target: &Tags = if let Some(o) = self.ou(resource_id) {
            &o.tags
        } else if let Some(a) = self.account(resource_id) {
            &a.tags
        } else if let Some(p) = self.state.policies.iter().find(|p| p.id == resource_id) {
            if p.aws_managed {
                return Err(hard(
                    "InvalidInputException",
                    format!("IMMUTABLE_POLICY: {resource_id} is managed by AWS"),
                ));
            }
            &p.tags
        } else if self.is_root(resource_id) {
            return Err(hard(
                "InvalidInputException",
                "tags on the root are not modelled by the local state",
            ));
        } else {
            return Err(hard("TargetNotFoundException", format!("no OU, account or policy {resource_id}")));
        };
        let all = merged(target);
        self.check_org_tags(tags, all.len())?;
        let s = &mut self.state;
        if let Some(o) = s.organizational_units.iter_mut().find(|o| o.id == resource_id) {
            o.tags = all;
        } else if let Some(a) = s.accounts.iter_mut().find(|a| a.id == resource_id) {
            a.tags = all;
        } else if let Some(p) = s.policies.iter_mut().find(|p| p.id == resource_id) {
            p.tags = all;
        }
        Ok(Outcome::default())
    }

    fn create_account(&mut self, name: &str, email: &str, tags: &Tags) -> Result<Outcome, CloudError> {
        // The API model's CreateAccountName: 1 to 50 characters of `[\u0020-\u007E]+`.
        rules::account_name(name).map_err(|e| hard("InvalidInputException", format!("account name {e}")))?;
        rules::email(email).map_err(|e| hard("InvalidInputException", format!("e-mail {e}")))?;
        // Tags are all-or-nothing: one bad tag fails the whole creation.
        self.check_org_tags(tags, 0)?;
        let taken = self.state.accounts.iter().any(|a| a.email.eq_ignore_ascii_case(email))
            || self
                .x
                .pending_accounts
                .values()
                .any(|p| p.failure.is_none() && p.email.eq_ignore_ascii_case(email));
        let in_flight = self.x.pending_accounts.values().filter(|p| p.failure.is_none()).count();
        let failure = if taken {
            Some("EMAIL_ALREADY_EXISTS".to_string())
        } else if self.settings.account_limit.is_some_and(|l| self.state.accounts.len() + in_flight >= l) {
            Some("ACCOUNT_LIMIT_EXCEEDED".to_string())
        } else {
            None
        };
        let id = self.mint(IdKind::CreateAccount);
        self.state.create_account_requests.push(CreateAccountRequest {
            id: id.clone(),
            account_name: name.to_string(),
            state: "IN_PROGRESS".into(),
            account_id: None,
            failure_reason: None,
        });
        self.x.pending_accounts.insert(
            id.clone(),
            PendingAccount { name: name.into(), email: email.into(), tags: tags.clone(), polls: 0, failure },
        );
        Ok(Outcome { id: Some(id), status: Some("IN_PROGRESS".into()), ..Outcome::default() })
    }

    fn describe_create_account(&mut self, request_id: &str) -> Result<Outcome, CloudError> {
        let Some(index) = self.state.create_account_requests.iter().position(|r| r.id == request_id) else {
            return Err(hard(
                "CreateAccountStatusNotFoundException",
                format!("no account creation request {request_id}"),
            ));
        };
        if self.state.create_account_requests[index].state == "IN_PROGRESS" {
            self.progress_account(index);
        }
        let r = &self.state.create_account_requests[index];
        Ok(Outcome {
            id: Some(r.id.clone()),
            status: Some(r.state.clone()),
            result: r.account_id.clone().or_else(|| r.failure_reason.clone()),
            ..Outcome::default()
        })
    }

    /// The newest creation request for `name` that is in progress, or that succeeded with
    /// `email` (ListCreateAccountStatus lists requests oldest first).
    fn find_create_account(&self, name: &str, email: &str) -> Outcome {
        let found = self.state.create_account_requests.iter().rev().find(|r| {
            r.account_name == name
                && match r.state.as_str() {
                    "IN_PROGRESS" => true,
                    "SUCCEEDED" => r
                        .account_id
                        .as_deref()
                        .and_then(|id| self.account(id))
                        .is_some_and(|a| a.email.eq_ignore_ascii_case(email)),
                    _ => false,
                }
        });
        Outcome {
            id: found.map(|r| r.id.clone()),
            status: found.map(|r| r.state.clone()),
            ..Outcome::default()
        }
    }

    fn progress_account(&mut self, index: usize) {
        let request_id = self.state.create_account_requests[index].id.clone();
        let needed = self.polls_needed();
        let Some(pending) = self.x.pending_accounts.get_mut(&request_id) else {
            // What was asked is lost (a state edited by hand): AWS would report an internal failure.
            let r = &mut self.state.create_account_requests[index];
            r.state = "FAILED".into();
            r.failure_reason = Some("INTERNAL_FAILURE".into());
            return;
        };
        pending.polls += 1;
        if pending.polls < needed {
            return;
        }
        let Some(p) = self.x.pending_accounts.remove(&request_id) else {
            return;
        };
        let failure = p.failure.clone().or_else(|| {
            self.state
                .accounts
                .iter()
                .any(|a| a.email.eq_ignore_ascii_case(&p.email))
                .then(|| "EMAIL_ALREADY_EXISTS".to_string())
        });
        if let Some(reason) = failure {
            let r = &mut self.state.create_account_requests[index];
            r.state = "FAILED".into();
            r.failure_reason = Some(reason);
            return;
        }
        let account_id = self.mint(IdKind::Account);
        let root = self.state.organization.root_id.clone();
        self.state.accounts.push(Account {
            id: account_id.clone(),
            name: p.name,
            email: p.email,
            state: "ACTIVE".into(),
            parent_id: root,
            tags: p.tags,
        });
        self.attach_full_access(&account_id);
        let r = &mut self.state.create_account_requests[index];
        r.state = "SUCCEEDED".into();
        r.account_id = Some(account_id);
    }

    fn move_account(
        &mut self,
        account_id: &str,
        source: &str,
        destination: &str,
    ) -> Result<Outcome, CloudError> {
        let Some(current) = self.account(account_id).map(|a| a.parent_id.clone()) else {
            return Err(hard("AccountNotFoundException", format!("no account {account_id}")));
        };
        if !self.is_parent(destination) {
            return Err(hard("DestinationParentNotFoundException", format!("no root or OU {destination}")));
        }
        if !self.is_parent(source) {
            return Err(hard("SourceParentNotFoundException", format!("no root or OU {source}")));
        }
        if current == destination {
            return Err(hard(
                "DuplicateAccountException",
                format!("account {account_id} is already in {destination}"),
            ));
        }
        if current != source {
            return Err(hard(
                "SourceParentNotFoundException",
                format!("account {account_id} is not in {source} (it is in {current})"),
            ));
        }
        if let Some(a) = self.state.accounts.iter_mut().find(|a| a.id == account_id) {
            a.parent_id = destination.to_string();
        }
        Ok(Outcome::default())
    }

    fn close_account(&mut self, account_id: &str) -> Result<Outcome, CloudError> {
        let Some(account) = self.account(account_id) else {
            return Err(hard("AccountNotFoundException", format!("no account {account_id}")));
        };
        if account_id == self.state.organization.management_account_id {
            return Err(hard("ConstraintViolationException", "the management account cannot be closed"));
        }
        if account.state != "ACTIVE" {
            return Err(hard(
                "AccountAlreadyClosedException",
                format!("account {account_id} is {}", account.state),
            ));
        }
        if self.settings.close_limit.is_some_and(|l| self.x.closed >= l) {
            return Err(hard("ConstraintViolationException", "CLOSE_ACCOUNT_QUOTA_EXCEEDED"));
        }
        if let Some(a) = self.state.accounts.iter_mut().find(|a| a.id == account_id) {
            a.state = "SUSPENDED".into();
        }
        self.x.closed += 1;
        Ok(Outcome::default())
    }

    fn create_policy(&mut self, name: &str, content: &str, tags: &Tags) -> Result<Outcome, CloudError> {
        if !self.scp_enabled() {
            return Err(hard("PolicyTypeNotEnabledException", format!("{SCP} is not enabled on the root")));
        }
        rules::policy_name(name).map_err(|e| hard("InvalidInputException", format!("policy name {e}")))?;
        if self.state.policies.iter().any(|p| p.policy_type == SCP && p.name == name) {
            return Err(hard("DuplicatePolicyException", format!("a policy named '{name}' already exists")));
        }
        self.check_policy_content(content)?;
        self.check_org_tags(tags, 0)?;
        if self.state.policies.len() >= self.settings.max_policies {
            return Err(hard("ConstraintViolationException", "POLICY_NUMBER_LIMIT_EXCEEDED"));
        }
        let id = self.mint(IdKind::Policy);
        self.state.policies.push(Policy {
            id: id.clone(),
            name: name.to_string(),
            policy_type: SCP.into(),
            aws_managed: false,
            content: content.to_string(),
            target_ids: vec![],
            tags: tags.clone(),
        });
        Ok(Outcome { id: Some(id), ..Outcome::default() })
    }

    fn update_policy(&mut self, policy_id: &str, content: &str) -> Result<Outcome, CloudError> {
        let i = self.policy_index(policy_id)?;
        if self.state.policies[i].aws_managed {
            return Err(hard(
                "InvalidInputException",
                format!("IMMUTABLE_POLICY: {policy_id} is managed by AWS"),
            ));
        }
        self.check_policy_content(content)?;
        self.state.policies[i].content = content.to_string();
        Ok(Outcome { id: Some(policy_id.to_string()), ..Outcome::default() })
    }

    fn delete_policy(&mut self, policy_id: &str) -> Result<Outcome, CloudError> {
        let i = self.policy_index(policy_id)?;
        let p = &self.state.policies[i];
        if p.aws_managed {
            return Err(hard(
                "InvalidInputException",
                format!("IMMUTABLE_POLICY: {policy_id} is managed by AWS"),
            ));
        }
        if !p.target_ids.is_empty() {
            return Err(hard(
                "PolicyInUseException",
                format!("{policy_id} is attached to {}: detach it first", p.target_ids.join(", ")),
            ));
        }
        self.state.policies.remove(i);
        self.state.organization.root_policy_ids.retain(|r| r != policy_id);
        Ok(Outcome::default())
    }

    fn attach_policy(&mut self, policy_id: &str, target_id: &str) -> Result<Outcome, CloudError> {
        let i = self.policy_index(policy_id)?;
        if !self.is_target(target_id) {
            return Err(hard("TargetNotFoundException", format!("no root, OU or account {target_id}")));
        }
        let policy_type = self.state.policies[i].policy_type.clone();
        if !self.state.organization.enabled_policy_types.contains(&policy_type) {
            return Err(hard(
                "PolicyTypeNotEnabledException",
                format!("{policy_type} is not enabled on the root"),
            ));
        }
        if self.state.policies[i].target_ids.iter().any(|t| t == target_id) {
            return Err(hard(
                "DuplicatePolicyAttachmentException",
                format!("{policy_id} is already attached to {target_id}"),
            ));
        }
        if self.scp_count(target_id) >= self.settings.max_policies_per_target {
            return Err(hard(
                "ConstraintViolationException",
                format!(
                    "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED: {target_id} already has {} SCPs attached",
                    self.settings.max_policies_per_target
                ),
            ));
        }
        self.attach(i, target_id);
        Ok(Outcome::default())
    }

    fn detach_policy(&mut self, policy_id: &str, target_id: &str) -> Result<Outcome, CloudError> {
        let i = self.policy_index(policy_id)?;
        if !self.is_target(target_id) {
            return Err(hard("TargetNotFoundException", format!("no root, OU or account {target_id}")));
        }
        if !self.state.policies[i].target_ids.iter().any(|t| t == target_id) {
            return Err(hard(
                "PolicyNotAttachedException",
                format!("{policy_id} is not attached to {target_id}"),
            ));
        }
        if self.state.policies[i].policy_type == SCP && self.scp_count(target_id) <= 1 {
            return Err(hard(
                "ConstraintViolationException",
                format!("MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED: {target_id} must keep at least one SCP"),
            ));
        }
        self.detach(i, target_id);
        Ok(Outcome::default())
    }

    // ---- S3

    fn put_template(&mut self, url: &str, body: &str) -> Result<Outcome, CloudError> {
        if !url.starts_with("https://") && !url.starts_with("s3://") {
            return Err(hard("InvalidArgument", format!("'{url}' is not an S3 object URL")));
        }
        self.x.templates.insert(url.to_string(), body.to_string());
        Ok(Outcome::default())
    }

    // ---- Service Catalog: portfolios and products

    fn create_portfolio(
        &mut self,
        name: &str,
        description: &str,
        provider: &str,
        tags: &Tags,
        token: &str,
    ) -> Result<Outcome, CloudError> {
        if let Some(o) = self.replay("CreatePortfolio", token, |o| {
            o.id.as_deref().is_some_and(|id| self.state.portfolios.iter().any(|p| p.id == id))
        }) {
            return Ok(o);
        }
        check_portfolio_fields(description, provider)?;
        if name.is_empty() || chars(name) > 100 {
            return Err(hard("InvalidParametersException", "a portfolio name must be 1 to 100 characters"));
        }
        self.check_catalog_tags(tags, 0)?;
        let id = self.mint(IdKind::Portfolio);
        self.state.portfolios.push(Portfolio {
            id: id.clone(),
            name: name.into(),
            description: description.into(),
            provider: provider.into(),
            tags: tags.clone(),
            product_ids: vec![],
            principals: vec![],
            shares: vec![],
            launch_constraints: vec![],
        });
        let out = Outcome { id: Some(id), ..Outcome::default() };
        self.remember("CreatePortfolio", token, &out);
        Ok(out)
    }

    fn update_portfolio(
        &mut self,
        portfolio_id: &str,
        description: &str,
        provider: &str,
        tags: &Tags,
    ) -> Result<Outcome, CloudError> {
        let i = self.portfolio_index(portfolio_id)?;
        check_portfolio_fields(description, provider)?;
        let mut all = self.state.portfolios[i].tags.clone();
        all.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.check_catalog_tags(tags, all.len())?;
        let p = &mut self.state.portfolios[i];
        p.description = description.into();
        p.provider = provider.into();
        p.tags = all;
        Ok(Outcome { id: Some(portfolio_id.into()), ..Outcome::default() })
    }

    fn delete_portfolio(&mut self, portfolio_id: &str) -> Result<Outcome, CloudError> {
        let i = self.portfolio_index(portfolio_id)?;
        let p = &self.state.portfolios[i];
        let mut left = vec![];
        for (what, n) in [
            ("products", p.product_ids.len()),
            ("principals", p.principals.len()),
            ("shares", p.shares.len()),
            ("constraints", p.launch_constraints.len()),
        ] {
            if n > 0 {
                left.push(format!("{n} {what}"));
            }
        }
        if !left.is_empty() {
            return Err(hard(
                "ResourceInUseException",
                format!("portfolio {portfolio_id} still has {}", left.join(", ")),
            ));
        }
        self.state.portfolios.remove(i);
        Ok(Outcome::default())
    }

    fn create_product(
        &mut self,
        name: &str,
        owner: &str,
        description: &str,
        tags: &Tags,
        version: &ArtifactSpec,
        token: &str,
    ) -> Result<Outcome, CloudError> {
        if let Some(o) = self.replay("CreateProduct", token, |o| {
            o.id.as_deref().is_some_and(|id| self.state.products.iter().any(|p| p.id == id))
        }) {
            return Ok(o);
        }
        if name.is_empty() || chars(name) > 8191 {
            return Err(hard("InvalidParametersException", "a product name must be 1 to 8191 characters"));
        }
        if owner.is_empty() || chars(owner) > 8191 {
            return Err(hard("InvalidParametersException", "a product owner must be 1 to 8191 characters"));
        }
        if chars(description) > 8191 {
            return Err(hard(
                "InvalidParametersException",
                "a product description must be at most 8191 characters",
            ));
        }
        self.check_catalog_tags(tags, 0)?;
        self.check_artifact(version)?;
        let id = self.mint(IdKind::Product);
        let artifact_id = self.mint(IdKind::Artifact);
        self.state.products.push(Product {
            id: id.clone(),
            name: name.into(),
            owner: owner.into(),
            tags: tags.clone(),
            versions: vec![new_version(&artifact_id, version)],
        });
        let out = Outcome { id: Some(id), artifact_id: Some(artifact_id), ..Outcome::default() };
        self.remember("CreateProduct", token, &out);
        Ok(out)
    }

    fn update_product(&mut self, product_id: &str, owner: &str, tags: &Tags) -> Result<Outcome, CloudError> {
        let i = self.product_index(product_id)?;
        if owner.is_empty() || chars(owner) > 8191 {
            return Err(hard("InvalidParametersException", "a product owner must be 1 to 8191 characters"));
        }
        let mut all = self.state.products[i].tags.clone();
        all.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.check_catalog_tags(tags, all.len())?;
        let p = &mut self.state.products[i];
        p.owner = owner.into();
        p.tags = all;
        Ok(Outcome { id: Some(product_id.into()), ..Outcome::default() })
    }

    fn delete_product(&mut self, product_id: &str) -> Result<Outcome, CloudError> {
        let i = self.product_index(product_id)?;
        if let Some(p) = self.state.portfolios.iter().find(|p| p.product_ids.iter().any(|x| x == product_id))
        {
            return Err(hard(
                "ResourceInUseException",
                format!("product {product_id} is associated with portfolio {}", p.id),
            ));
        }
        if let Some(pp) = self.state.provisioned_products.iter().find(|pp| pp.product_id == product_id) {
            return Err(hard(
                "ResourceInUseException",
                format!("product {product_id} is provisioned as {} in account {}", pp.id, pp.account_id),
            ));
        }
        self.state.products.remove(i);
        Ok(Outcome::default())
    }

    fn create_artifact(
        &mut self,
        product_id: &str,
        version: &ArtifactSpec,
        token: &str,
    ) -> Result<Outcome, CloudError> {
        if let Some(o) = self.replay("CreateProvisioningArtifact", token, |o| {
            o.id.as_deref()
                .is_some_and(|id| self.state.products.iter().any(|p| p.versions.iter().any(|v| v.id == id)))
        }) {
            return Ok(o);
        }
        let i = self.product_index(product_id)?;
        self.check_artifact(version)?;
        let p = &self.state.products[i];
        if p.versions.iter().any(|v| v.name == version.name) {
            return Err(hard(
                "InvalidParametersException",
                format!("product {product_id} already has a version named '{}'", version.name),
            ));
        }
        if p.versions.len() >= self.settings.max_versions_per_product {
            return Err(hard(
                "LimitExceededException",
                format!("product {product_id} has {} versions, the most allowed", p.versions.len()),
            ));
        }
        let id = self.mint(IdKind::Artifact);
        self.state.products[i].versions.push(new_version(&id, version));
        let out = Outcome { id: Some(id), ..Outcome::default() };
        self.remember("CreateProvisioningArtifact", token, &out);
        Ok(out)
    }

    fn update_artifact(
        &mut self,
        product_id: &str,
        artifact_id: &str,
        active: bool,
        guidance: &str,
    ) -> Result<Outcome, CloudError> {
        let i = self.product_index(product_id)?;
        let v = self.artifact_index(i, artifact_id)?;
        if guidance != "DEFAULT" && guidance != "DEPRECATED" {
            return Err(hard(
                "InvalidParametersException",
                format!("guidance must be DEFAULT or DEPRECATED, not '{guidance}'"),
            ));
        }
        let version = &mut self.state.products[i].versions[v];
        version.active = active;
        version.guidance = guidance.into();
        Ok(Outcome { id: Some(artifact_id.into()), ..Outcome::default() })
    }

    fn delete_artifact(&mut self, product_id: &str, artifact_id: &str) -> Result<Outcome, CloudError> {
        let i = self.product_index(product_id)?;
        let v = self.artifact_index(i, artifact_id)?;
        if self.state.products[i].versions.len() == 1 {
            return Err(hard(
                "InvalidParametersException",
                format!(
                    "{artifact_id} is the last version of product {product_id}; a product keeps at least one"
                ),
            ));
        }
        if let Some(pp) = self.state.provisioned_products.iter().find(|pp| pp.version_id == artifact_id) {
            return Err(hard(
                "ResourceInUseException",
                format!(
                    "{artifact_id} is used by provisioned product {} in account {}",
                    pp.id, pp.account_id
                ),
            ));
        }
        self.state.products[i].versions.remove(v);
        Ok(Outcome::default())
    }

    fn associate_product(&mut self, product_id: &str, portfolio_id: &str) -> Result<Outcome, CloudError> {
        self.product_index(product_id)?;
        let i = self.portfolio_index(portfolio_id)?;
        let p = &mut self.state.portfolios[i];
        if !p.product_ids.iter().any(|x| x == product_id) {
            p.product_ids.push(product_id.into());
        }
        Ok(Outcome::default())
    }

    fn disassociate_product(&mut self, product_id: &str, portfolio_id: &str) -> Result<Outcome, CloudError> {
        self.product_index(product_id)?;
        let i = self.portfolio_index(portfolio_id)?;
        let p = &self.state.portfolios[i];
        if !p.product_ids.iter().any(|x| x == product_id) {
            return Err(hard(
                "ResourceNotFoundException",
                format!("product {product_id} is not associated with portfolio {portfolio_id}"),
            ));
        }
        if p.launch_constraints.iter().any(|c| c.product_id == product_id) {
            return Err(hard(
                "ResourceInUseException",
                format!("portfolio {portfolio_id} has a launch constraint for {product_id}: delete it first"),
            ));
        }
        self.state.portfolios[i].product_ids.retain(|x| x != product_id);
        Ok(Outcome::default())
    }

    fn associate_principal(
        &mut self,
        portfolio_id: &str,
        arn: &str,
        principal_type: &str,
    ) -> Result<Outcome, CloudError> {
        let i = self.portfolio_index(portfolio_id)?;
        if principal_type != "IAM" && principal_type != "IAM_PATTERN" {
            return Err(hard(
                "InvalidParametersException",
                format!("principal type must be IAM or IAM_PATTERN, not '{principal_type}'"),
            ));
        }
        let shape = rules::principal(arn)
            .map_err(|e| hard("InvalidParametersException", format!("principal {e}")))?;
        if shape != principal_type {
            return Err(hard(
                "InvalidParametersException",
                format!("'{arn}' is an {shape} principal, not {principal_type}"),
            ));
        }
        let p = &self.state.portfolios[i];
        if p.principals.iter().any(|x| x.arn == arn && x.principal_type == principal_type) {
            return Ok(Outcome::default());
        }
        let patterns = p.principals.iter().filter(|x| x.principal_type == "IAM_PATTERN").count();
        if principal_type == "IAM_PATTERN" && patterns >= self.settings.max_principal_patterns {
            return Err(hard(
                "LimitExceededException",
                format!("portfolio {portfolio_id} has {patterns} IAM_PATTERN principals, the most allowed"),
            ));
        }
        self.state.portfolios[i]
            .principals
            .push(Principal { arn: arn.into(), principal_type: principal_type.into() });
        Ok(Outcome::default())
    }

    fn disassociate_principal(
        &mut self,
        portfolio_id: &str,
        arn: &str,
        principal_type: &str,
    ) -> Result<Outcome, CloudError> {
        let i = self.portfolio_index(portfolio_id)?;
        let p = &mut self.state.portfolios[i];
        let Some(k) = p.principals.iter().position(|x| x.arn == arn && x.principal_type == principal_type)
        else {
            return Err(hard(
                "ResourceNotFoundException",
                format!("no {principal_type} principal '{arn}' on portfolio {portfolio_id}"),
            ));
        };
        p.principals.remove(k);
        Ok(Outcome::default())
    }

    // ---- Service Catalog: shares and constraints

    fn create_share(
        &mut self,
        portfolio_id: &str,
        share_type: &str,
        value: &str,
    ) -> Result<Outcome, CloudError> {
        let i = self.portfolio_index(portfolio_id)?;
        let bad = |m: String| hard("InvalidParametersException", m);
        match share_type {
            "ORGANIZATION" if value == self.state.organization.id => {}
            "ORGANIZATION" => return Err(bad(format!("'{value}' is not this organization"))),
            "ORGANIZATIONAL_UNIT" if self.ou(value).is_some() => {}
            "ORGANIZATIONAL_UNIT" => return Err(bad(format!("no OU {value} in this organization"))),
            "ACCOUNT" if value == self.state.organization.management_account_id => {
                return Err(bad("a portfolio cannot be shared with its own account".into()));
            }
            "ACCOUNT" if self.account(value).is_some() => {}
            "ACCOUNT" => return Err(bad(format!("no account {value} in this organization"))),
            other => {
                return Err(bad(format!(
                    "share type must be ORGANIZATION, ORGANIZATIONAL_UNIT or ACCOUNT, not '{other}'"
                )));
            }
        }
        let token = Self::share_token(portfolio_id, share_type, value);
        let p = &mut self.state.portfolios[i];
        if let Some(s) = p.shares.iter().find(|s| s.share_type == share_type && s.value == value) {
            // Sharing again what is shared: AWS answers with the share's status.
            return Ok(Outcome { id: Some(token), status: Some(s.status.clone()), ..Outcome::default() });
        }
        p.shares.push(Share {
            share_type: share_type.into(),
            value: value.into(),
            status: "IN_PROGRESS".into(),
        });
        self.x.share_polls.insert(token.clone(), 0);
        Ok(Outcome { id: Some(token), status: Some("IN_PROGRESS".into()), ..Outcome::default() })
    }

    fn find_share(&self, token: &str) -> Option<(usize, usize)> {
        self.state.portfolios.iter().enumerate().find_map(|(i, p)| {
            p.shares
                .iter()
                .position(|s| Self::share_token(&p.id, &s.share_type, &s.value) == token)
                .map(|k| (i, k))
        })
    }

    fn describe_share(&mut self, token: &str) -> Result<Outcome, CloudError> {
        let Some((i, k)) = self.find_share(token) else {
            return Err(hard("ResourceNotFoundException", format!("no portfolio share {token}")));
        };
        let needed = self.polls_needed();
        let share = &mut self.state.portfolios[i].shares[k];
        if share.status == "IN_PROGRESS" || share.status == "NOT_STARTED" {
            let polls = self.x.share_polls.entry(token.to_string()).or_insert(0);
            *polls += 1;
            if *polls >= needed {
                share.status = "COMPLETED".into();
                self.x.share_polls.remove(token);
            }
        }
        Ok(Outcome {
            id: Some(token.to_string()),
            status: Some(share.status.clone()),
            result: Some(self.state.portfolios[i].id.clone()),
            ..Outcome::default()
        })
    }

    fn delete_share(
        &mut self,
        portfolio_id: &str,
        share_type: &str,
        value: &str,
    ) -> Result<Outcome, CloudError> {
        let i = self.portfolio_index(portfolio_id)?;
        let p = &mut self.state.portfolios[i];
        let Some(k) = p.shares.iter().position(|s| s.share_type == share_type && s.value == value) else {
            return Err(hard(
                "ResourceNotFoundException",
                format!("portfolio {portfolio_id} is not shared with {share_type} {value}"),
            ));
        };
        p.shares.remove(k);
        let token = Self::share_token(portfolio_id, share_type, value);
        self.x.share_polls.remove(&token);
        Ok(Outcome { id: Some(token), status: Some("COMPLETED".into()), ..Outcome::default() })
    }

    fn create_constraint(
        &mut self,
        portfolio_id: &str,
        product_id: &str,
        local_role_name: &str,
        token: &str,
    ) -> Result<Outcome, CloudError> {
        if let Some(o) = self.replay("CreateConstraint", token, |_| {
            self.state.portfolios.iter().any(|p| {
                p.id == portfolio_id && p.launch_constraints.iter().any(|c| c.product_id == product_id)
            })
        }) {
            return Ok(o);
        }
        let i = self.portfolio_index(portfolio_id)?;
        self.product_index(product_id)?;
        let p = &self.state.portfolios[i];
        if !p.product_ids.iter().any(|x| x == product_id) {
            return Err(hard(
                "InvalidParametersException",
                format!("product {product_id} is not associated with portfolio {portfolio_id}"),
            ));
        }
        rules::role_name(local_role_name)
            .map_err(|e| hard("InvalidParametersException", format!("LocalRoleName {e}")))?;
        if p.launch_constraints.iter().any(|c| c.product_id == product_id) {
            return Err(hard(
                "DuplicateResourceException",
                format!("portfolio {portfolio_id} already has a launch constraint for {product_id}"),
            ));
        }
        self.state.portfolios[i].launch_constraints.push(LaunchConstraint {
            product_id: product_id.into(),
            local_role_name: local_role_name.into(),
        });
        let id = self.mint(IdKind::Constraint);
        let out = Outcome { id: Some(id), ..Outcome::default() };
        self.remember("CreateConstraint", token, &out);
        Ok(out)
    }

    fn delete_constraint(&mut self, portfolio_id: &str, product_id: &str) -> Result<Outcome, CloudError> {
        let i = self.portfolio_index(portfolio_id)?;
        let p = &mut self.state.portfolios[i];
        let Some(k) = p.launch_constraints.iter().position(|c| c.product_id == product_id) else {
            return Err(hard(
                "ResourceNotFoundException",
                format!("portfolio {portfolio_id} has no launch constraint for {product_id}"),
            ));
        };
        p.launch_constraints.remove(k);
        Ok(Outcome::default())
    }

    // ---- Service Catalog: provisioning

    /// May `account` launch `product_id`? Through a portfolio shared (and the share completed)
    /// with the organization, an OU on the account's path to the root, or the account itself;
    /// the management account launches from its own portfolios.
    fn launch_path(&self, account: &Account, product_id: &str) -> bool {
        let mgmt = account.id == self.state.organization.management_account_id;
        let chain = self.chain(account);
        self.state.portfolios.iter().filter(|p| p.product_ids.iter().any(|x| x == product_id)).any(|p| {
            mgmt || p.shares.iter().any(|s| {
                s.status == "COMPLETED"
                    && match s.share_type.as_str() {
                        "ORGANIZATION" => s.value == self.state.organization.id,
                        "ORGANIZATIONAL_UNIT" => chain.contains(&s.value),
                        "ACCOUNT" => s.value == account.id,
                        _ => false,
                    }
            })
        })
    }

    fn record_exists(&self, o: &Outcome) -> bool {
        o.id.as_deref().is_some_and(|id| self.x.records.contains_key(id))
    }

    fn start_record(
        &mut self,
        kind: RecordKind,
        pp_id: &str,
        artifact: Option<&str>,
        params: Option<&BTreeMap<String, String>>,
    ) -> Outcome {
        let record_id = self.mint(IdKind::Record);
        self.x.records.insert(
            record_id.clone(),
            Record {
                kind,
                provisioned_product_id: pp_id.into(),
                status: "IN_PROGRESS".into(),
                polls: 0,
                artifact_id: artifact.map(str::to_string),
                params: params.cloned(),
                error: None,
            },
        );
        if let Some(pp) = self.state.provisioned_products.iter_mut().find(|p| p.id == pp_id) {
            pp.status = "UNDER_CHANGE".into();
        }
        Outcome { id: Some(record_id), status: Some("IN_PROGRESS".into()), ..Outcome::default() }
    }

    #[allow(clippy::too_many_arguments)]
    fn provision(
        &mut self,
        account_id: &str,
        name: &str,
        product_id: &str,
        artifact_id: &str,
        params: &BTreeMap<String, String>,
        tags: &Tags,
        token: &str,
    ) -> Result<Outcome, CloudError> {
        if let Some(o) = self.replay("ProvisionProduct", token, |o| self.record_exists(o)) {
            return Ok(o);
        }
        let bad = |m: String| hard("InvalidParametersException", m);
        let name_ok = name.len() <= 128
            && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !name_ok {
            return Err(bad(format!("'{name}' is not a valid provisioned product name")));
        }
        let Some(account) = self.account(account_id).cloned() else {
            return Err(hard("ResourceNotFoundException", format!("no account {account_id}")));
        };
        if account.state != "ACTIVE" {
            return Err(bad(format!("account {account_id} is {}", account.state)));
        }
        let i = self.product_index(product_id)?;
        let v = self.artifact_index(i, artifact_id)?;
        let version = &self.state.products[i].versions[v];
        if !version.active {
            return Err(bad(format!("version {artifact_id} is not active")));
        }
        if version.guidance == "DEPRECATED" {
            return Err(bad(format!("version {artifact_id} is deprecated: no new launches")));
        }
        if !self.launch_path(&account, product_id) {
            return Err(hard(
                "ResourceNotFoundException",
                format!("product {product_id} is not in a portfolio shared with account {account_id}"),
            ));
        }
        if self.state.provisioned_products.iter().any(|p| p.account_id == account_id && p.name == name) {
            return Err(hard(
                "DuplicateResourceException",
                format!("account {account_id} already has a provisioned product named '{name}'"),
            ));
        }
        self.check_catalog_tags(tags, 0)?;
        let id = self.mint(IdKind::Provisioned);
        self.state.provisioned_products.push(ProvisionedProduct {
            id: id.clone(),
            name: name.into(),
            account_id: account_id.into(),
            product_id: product_id.into(),
            version_id: artifact_id.into(),
            status: "UNDER_CHANGE".into(),
            params: params.clone(),
            tags: tags.clone(),
        });
        let out = self.start_record(RecordKind::Provision, &id, None, None);
        self.remember("ProvisionProduct", token, &out);
        Ok(out)
    }

    fn update_provisioned(
        &mut self,
        pp_id: &str,
        artifact_id: &str,
        params: &BTreeMap<String, String>,
        token: &str,
    ) -> Result<Outcome, CloudError> {
        if let Some(o) = self.replay("UpdateProvisionedProduct", token, |o| self.record_exists(o)) {
            return Ok(o);
        }
        let k = self.provisioned_index(pp_id)?;
        let pp = &self.state.provisioned_products[k];
        // UpdateProvisionedProduct's errors (API reference) are InvalidParametersException and
        // ResourceNotFoundException only.
        if pp.status == "UNDER_CHANGE" || pp.status == "PLAN_IN_PROGRESS" {
            return Err(hard(
                "InvalidParametersException",
                format!("provisioned product {pp_id} is {}", pp.status),
            ));
        }
        let i = self.product_index(&pp.product_id.clone())?;
        let v = self.artifact_index(i, artifact_id)?;
        // A deprecated version is fine here: existing provisioned products may still move to it.
        if !self.state.products[i].versions[v].active {
            return Err(hard("InvalidParametersException", format!("version {artifact_id} is not active")));
        }
        let out = self.start_record(RecordKind::Update, pp_id, Some(artifact_id), Some(params));
        self.remember("UpdateProvisionedProduct", token, &out);
        Ok(out)
    }

    fn terminate(&mut self, pp_id: &str, token: &str) -> Result<Outcome, CloudError> {
        if let Some(o) = self.replay("TerminateProvisionedProduct", token, |o| self.record_exists(o)) {
            return Ok(o);
        }
        let k = self.provisioned_index(pp_id)?;
        let pp = &self.state.provisioned_products[k];
        if pp.status == "UNDER_CHANGE" || pp.status == "PLAN_IN_PROGRESS" {
            return Err(hard(
                "InvalidStateException",
                format!("provisioned product {pp_id} is {}", pp.status),
            ));
        }
        let out = self.start_record(RecordKind::Terminate, pp_id, None, None);
        self.remember("TerminateProvisionedProduct", token, &out);
        Ok(out)
    }

    fn describe_record(&mut self, record_id: &str) -> Result<Outcome, CloudError> {
        let needed = self.polls_needed();
        let Some(record) = self.x.records.get_mut(record_id) else {
            return Err(hard("ResourceNotFoundException", format!("no record {record_id}")));
        };
        if record.status == "IN_PROGRESS" {
            record.polls += 1;
            if record.polls >= needed {
                let r = record.clone();
                let (status, error) = self.finish_record(&r);
                if let Some(record) = self.x.records.get_mut(record_id) {
                    record.status = status;
                    record.error = error;
                }
            }
        }
        let r = self.x.records.get(record_id).cloned();
        Ok(Outcome {
            id: Some(record_id.to_string()),
            status: r.as_ref().map(|r| r.status.clone()),
            result: r.map(|r| r.error.unwrap_or(r.provisioned_product_id)),
            ..Outcome::default()
        })
    }

    /// Carry out what a record asked for; returns its final status and error.
    fn finish_record(&mut self, r: &Record) -> (String, Option<String>) {
        let pps = &mut self.state.provisioned_products;
        let Some(k) = pps.iter().position(|p| p.id == r.provisioned_product_id) else {
            return (
                "FAILED".into(),
                Some(format!("provisioned product {} no longer exists", r.provisioned_product_id)),
            );
        };
        match r.kind {
            RecordKind::Provision => pps[k].status = "AVAILABLE".into(),
            RecordKind::Update => {
                if let Some(a) = &r.artifact_id {
                    pps[k].version_id = a.clone();
                }
                if let Some(p) = &r.params {
                    pps[k].params = p.clone();
                }
                pps[k].status = "AVAILABLE".into();
            }
            RecordKind::Terminate => {
                pps.remove(k);
            }
        }
        ("SUCCEEDED".into(), None)
    }
}

fn check_portfolio_fields(description: &str, provider: &str) -> Result<(), CloudError> {
    if provider.is_empty() || chars(provider) > 50 {
        return Err(hard("InvalidParametersException", "a portfolio provider must be 1 to 50 characters"));
    }
    if chars(description) > 2000 {
        return Err(hard(
            "InvalidParametersException",
            "a portfolio description must be at most 2000 characters",
        ));
    }
    Ok(())
}

fn new_version(id: &str, spec: &ArtifactSpec) -> ProductVersion {
    ProductVersion {
        id: id.into(),
        name: spec.name.clone(),
        active: true,
        guidance: spec.guidance.clone(),
        description: spec.description.clone(),
        template_url: spec.template_url.clone(),
    }
}

impl Cloud for LocalCloud {
    fn read_state(&mut self) -> Result<State, CloudError> {
        Ok(self.state.clone())
    }

    /// Carry out `op` whole or not at all: on an error nothing changes. A successful call is
    /// persisted (when the cloud has a path) before this returns.
    fn call(&mut self, op: &Op) -> Result<Outcome, CloudError> {
        let before_state = self.state.clone();
        let before_extras = self.x.clone();
        let result = self.apply(op).and_then(|mut out| {
            self.state.normalize();
            out.request_id = self.next_request_id();
            self.persist().map(|()| out)
        });
        if let Err(e) = &result
            && e.kind == ErrorKind::Hard
        {
            self.state = before_state;
            self.x = before_extras;
        }
        result
    }
}
