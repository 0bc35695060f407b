//! The Organizations operations of the in-process cloud and their AWS rules (OUs and their
//! depth and quotas, tags, asynchronous account creation and its failures, moves, closing, SCPs
//! and the FullAWSAccess invariants), and the S3 template upload. It does no Service Catalog
//! operation and no file I/O.

use super::{
    FULL_ACCESS_CONTENT, FULL_ACCESS_ID, FULL_ACCESS_NAME, IdKind, LocalCloud, PendingAccount, SCP, chars,
    hard, index,
};
use crate::adapter::aws_rules::refuse;
use crate::model::{
    ACCESS_ENABLED, Account, Bucket, CreateAccountRequest, LAUNCH_ROLE_POLICY, LaunchPath, LaunchRole,
    OrgUnit, Policy, Tags, canonical_json, trusts_catalog,
};
use crate::port::{CloudError, Outcome};
use crate::workspace::rules;

impl LocalCloud {
    pub(super) fn enable_policy_type(
        &mut self,
        root_id: &str,
        policy_type: &str,
    ) -> Result<Outcome, CloudError> {
        if !self.is_root(root_id) {
            return Err(refuse("organizations.root-exists", format!("no root {root_id}")));
        }
        if !crate::model::snapshot_check::POLICY_TYPES.contains(&policy_type) {
            return Err(refuse(
                "organizations.policy-type-known",
                format!("unknown policy type '{policy_type}'"),
            ));
        }
        if self.state.organization.enabled_policy_types.iter().any(|t| t == policy_type) {
            return Err(refuse(
                "organizations.policy-type-enable-once",
                format!("{policy_type} is already enabled"),
            ));
        }
        self.state.organization.enabled_policy_types.push(policy_type.to_string());
        self.state.organization.enabled_policy_types.sort();
        self.touched.organization = true;
        if policy_type == SCP {
            let index = match self.full_access_index() {
                Some(i) => i,
                None => {
                    let id = if self.id_taken(FULL_ACCESS_ID) {
                        self.mint(IdKind::Policy)
                    } else {
                        FULL_ACCESS_ID.into()
                    };
                    self.add_policy(Policy {
                        id,
                        name: FULL_ACCESS_NAME.into(),
                        policy_type: SCP.into(),
                        aws_managed: true,
                        content: FULL_ACCESS_CONTENT.into(),
                        target_ids: vec![],
                        tags: Tags::new(),
                    })
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

    pub(super) fn create_ou(
        &mut self,
        parent_id: &str,
        name: &str,
        tags: &Tags,
    ) -> Result<Outcome, CloudError> {
        if !self.is_parent(parent_id) {
            return Err(refuse("organizations.parent-exists", format!("no root or OU {parent_id}")));
        }
        if name.is_empty() || chars(name) > 128 {
            return Err(refuse("organizations.ou-name", "an OU name must be 1 to 128 characters"));
        }
        self.check_org_tags(tags, 0)?;
        if self.depth(parent_id) >= self.settings.max_ou_depth {
            return Err(refuse(
                "organizations.ou-depth",
                format!("at most {} levels of OUs below the root", self.settings.max_ou_depth),
            ));
        }
        if self.state.organizational_units.len() >= self.settings.max_ous {
            return Err(refuse("organizations.ou-count", format!("at most {} OUs", self.settings.max_ous)));
        }
        if self.state.organizational_units.iter().any(|o| o.parent_id == parent_id && o.name == name) {
            return Err(refuse(
                "organizations.ou-name-unique",
                format!("an OU named '{name}' already exists under {parent_id}"),
            ));
        }
        let id = self.mint(IdKind::Ou);
        let ou = OrgUnit {
            id: id.clone(),
            name: name.to_string(),
            parent_id: parent_id.to_string(),
            tags: tags.clone(),
        };
        index::insert(&mut self.state.organizational_units, &mut self.idx.ous, &id, ou);
        self.touched.ous.insert(id.clone());
        self.attach_full_access(&id);
        Ok(Outcome { id: Some(id), ..Outcome::default() })
    }

    /// UpdateOrganizationalUnit renames an OU in place. "Renames the specified organizational
    /// unit (OU). The ID and ARN don't change. The child OUs and accounts remain in place, and
    /// any attached policies of the OU remain attached." Name: "Length Constraints: Minimum
    /// length of 1. Maximum length of 128." Errors include OrganizationalUnitNotFoundException
    /// and DuplicateOrganizationalUnitException ("An OU with the same name already exists") —
    /// <https://docs.aws.amazon.com/organizations/latest/APIReference/API_UpdateOrganizationalUnit.html>.
    /// Names are unique among siblings (as for CreateOrganizationalUnit); renaming an OU to its
    /// own name changes nothing.
    pub(super) fn rename_ou(&mut self, ou_id: &str, name: &str) -> Result<Outcome, CloudError> {
        let Some(parent_id) = self.ou(ou_id).map(|o| o.parent_id.clone()) else {
            return Err(refuse("organizations.ou-exists", format!("no OU {ou_id}")));
        };
        if name.is_empty() || chars(name) > 128 {
            return Err(refuse("organizations.ou-name", "an OU name must be 1 to 128 characters"));
        }
        if self
            .state
            .organizational_units
            .iter()
            .any(|o| o.parent_id == parent_id && o.name == name && o.id != ou_id)
        {
            return Err(refuse(
                "organizations.ou-name-unique",
                format!("an OU named '{name}' already exists under {parent_id}"),
            ));
        }
        if let Some(o) = self.state.organizational_units.iter_mut().find(|o| o.id == ou_id) {
            o.name = name.to_string();
        }
        self.touched.ous.insert(ou_id.into());
        Ok(Outcome { id: Some(ou_id.to_string()), ..Outcome::default() })
    }

    pub(super) fn delete_ou(&mut self, ou_id: &str) -> Result<Outcome, CloudError> {
        if self.ou(ou_id).is_none() {
            return Err(refuse("organizations.ou-exists", format!("no OU {ou_id}")));
        }
        let s = &self.state;
        if s.accounts.iter().any(|a| a.parent_id == ou_id)
            || s.organizational_units.iter().any(|o| o.parent_id == ou_id)
        {
            return Err(refuse(
                "organizations.ou-empty-to-delete",
                format!("OU {ou_id} still contains accounts or OUs"),
            ));
        }
        index::remove(&mut self.state.organizational_units, &mut self.idx.ous, ou_id, |o| &o.id);
        self.touched.ous.insert(ou_id.to_string());
        for i in 0..self.state.policies.len() {
            if self.attached(i, ou_id) {
                self.detach(i, ou_id);
            }
        }
        Ok(Outcome::default())
    }

    pub(super) fn tag_resource(&mut self, resource_id: &str, tags: &Tags) -> Result<Outcome, CloudError> {
        let merged = |existing: &Tags| {
            let mut all = existing.clone();
            all.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
            all
        };
        let target: &Tags = if let Some(o) = self.ou(resource_id) {
            &o.tags
        } else if let Some(a) = self.account(resource_id) {
            &a.tags
        } else if let Some(p) = self.idx.policies.get(resource_id).map(|&i| &self.state.policies[i]) {
            if p.aws_managed {
                return Err(refuse(
                    "organizations.aws-managed-policy-immutable",
                    format!("{resource_id} is managed by AWS"),
                ));
            }
            &p.tags
        } else if self.is_root(resource_id) {
            return Err(hard(
                "InvalidInputException",
                "tags on the root are not modelled by the local state",
            ));
        } else {
            return Err(refuse(
                "organizations.tag-target-exists",
                format!("no OU, account or policy {resource_id}"),
            ));
        };
        let all = merged(target);
        self.check_org_tags(tags, all.len())?;
        let (s, idx, touched) = (&mut self.state, &self.idx, &mut self.touched);
        let id = resource_id.to_string();
        if let Some(&i) = idx.ous.get(resource_id) {
            s.organizational_units[i].tags = all;
            touched.ous.insert(id);
        } else if let Some(&i) = idx.accounts.get(resource_id) {
            s.accounts[i].tags = all;
            touched.accounts.insert(id);
        } else if let Some(&i) = idx.policies.get(resource_id) {
            s.policies[i].tags = all;
            touched.policies.insert(id);
        }
        Ok(Outcome::default())
    }

    pub(super) fn create_account(
        &mut self,
        name: &str,
        email: &str,
        tags: &Tags,
    ) -> Result<Outcome, CloudError> {
        // The API model's CreateAccountName: 1 to 50 characters of `[\u0020-\u007E]+`.
        rules::account_name(name)
            .map_err(|e| refuse("organizations.account-name", format!("account name {e}")))?;
        rules::email(email).map_err(|e| refuse("organizations.email", format!("e-mail {e}")))?;
        // Tags are all-or-nothing: one bad tag fails the whole creation.
        self.check_org_tags(tags, 0)?;
        // Only so many creations can be in progress at a time; the next is refused at the call.
        // (The other Organizations rule of a parallel apply, organizations.one-writer-per-entity,
        // cannot be broken here: this cloud carries out one call at a time, `&mut self`.)
        let in_progress =
            self.state.create_account_requests.iter().filter(|r| r.state == "IN_PROGRESS").count();
        if in_progress >= self.settings.max_account_creations_in_progress {
            return Err(refuse(
                "organizations.account-creations-in-progress",
                format!(
                    "{in_progress} account creations are in progress; at most {} at a time",
                    self.settings.max_account_creations_in_progress
                ),
            ));
        }
        let taken = self.idx.emails.contains_key(&email.to_ascii_lowercase())
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
        let request = CreateAccountRequest {
            id: id.clone(),
            account_name: name.to_string(),
            state: "IN_PROGRESS".into(),
            account_id: None,
            failure_reason: None,
        };
        index::insert(&mut self.state.create_account_requests, &mut self.idx.requests, &id, request);
        self.touched.requests.insert(id.clone());
        self.touched.pending_accounts.insert(id.clone());
        self.x.pending_accounts.insert(
            id.clone(),
            PendingAccount { name: name.into(), email: email.into(), tags: tags.clone(), polls: 0, failure },
        );
        Ok(Outcome { id: Some(id), status: Some("IN_PROGRESS".into()), ..Outcome::default() })
    }

    pub(super) fn describe_create_account(&mut self, request_id: &str) -> Result<Outcome, CloudError> {
        let Some(&index) = self.idx.requests.get(request_id) else {
            return Err(refuse(
                "organizations.create-request-exists",
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

    /// The creation request for `name` with the greatest id that is in progress, or that
    /// succeeded with `email` (ListCreateAccountStatus lists requests oldest first).
    pub(super) fn find_create_account(&self, name: &str, email: &str) -> Outcome {
        let found = self.state.create_account_requests.iter().filter(|r| {
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
        let found = found.max_by(|a, b| a.id.cmp(&b.id));
        Outcome {
            id: found.map(|r| r.id.clone()),
            status: found.map(|r| r.state.clone()),
            ..Outcome::default()
        }
    }

    fn progress_account(&mut self, index: usize) {
        let request_id = self.state.create_account_requests[index].id.clone();
        self.touched.requests.insert(request_id.clone());
        self.touched.pending_accounts.insert(request_id.clone());
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
            self.idx
                .emails
                .contains_key(&p.email.to_ascii_lowercase())
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
        *self.idx.emails.entry(p.email.to_ascii_lowercase()).or_insert(0) += 1;
        let account = Account {
            id: account_id.clone(),
            name: p.name,
            email: p.email,
            state: "ACTIVE".into(),
            parent_id: root,
            tags: p.tags,
        };
        index::insert(&mut self.state.accounts, &mut self.idx.accounts, &account_id, account);
        self.touched.accounts.insert(account_id.clone());
        self.attach_full_access(&account_id);
        // A new account has no assignment and no contact: the in-process cloud knows (issue 18).
        if let Some(a) = &mut self.state.access {
            index::insert_sorted(&mut a.read_accounts, account_id.clone());
            self.touched.access_accounts.insert(account_id.clone());
        }
        let r = &mut self.state.create_account_requests[index];
        r.state = "SUCCEEDED".into();
        r.account_id = Some(account_id);
    }

    pub(super) fn move_account(
        &mut self,
        account_id: &str,
        source: &str,
        destination: &str,
    ) -> Result<Outcome, CloudError> {
        let Some(current) = self.account(account_id).map(|a| a.parent_id.clone()) else {
            return Err(refuse("organizations.account-exists", format!("no account {account_id}")));
        };
        if !self.is_parent(destination) {
            return Err(refuse(
                "organizations.move-destination-exists",
                format!("no root or OU {destination}"),
            ));
        }
        if !self.is_parent(source) {
            return Err(refuse("organizations.move-source-is-parent", format!("no root or OU {source}")));
        }
        if current == destination {
            return Err(refuse(
                "organizations.move-not-already-there",
                format!("account {account_id} is already in {destination}"),
            ));
        }
        if current != source {
            return Err(refuse(
                "organizations.move-source-is-parent",
                format!("account {account_id} is not in {source} (it is in {current})"),
            ));
        }
        if let Some(&i) = self.idx.accounts.get(account_id) {
            self.state.accounts[i].parent_id = destination.to_string();
            self.touched.accounts.insert(account_id.to_string());
        }
        Ok(Outcome::default())
    }

    pub(super) fn close_account(&mut self, account_id: &str) -> Result<Outcome, CloudError> {
        let Some(account) = self.account(account_id) else {
            return Err(refuse("organizations.account-exists", format!("no account {account_id}")));
        };
        if account_id == self.state.organization.management_account_id {
            return Err(refuse(
                "organizations.close-not-management",
                "the management account cannot be closed",
            ));
        }
        if account.state != "ACTIVE" {
            return Err(refuse(
                "organizations.close-active-only",
                format!("account {account_id} is {}", account.state),
            ));
        }
        if self.settings.close_limit.is_some_and(|l| self.x.closed >= l) {
            return Err(refuse(
                "organizations.close-quota",
                "no more account closures allowed in this period",
            ));
        }
        if let Some(&i) = self.idx.accounts.get(account_id) {
            self.state.accounts[i].state = "SUSPENDED".into();
            self.touched.accounts.insert(account_id.to_string());
        }
        self.x.closed += 1;
        Ok(Outcome::default())
    }

    pub(super) fn create_policy(
        &mut self,
        name: &str,
        content: &str,
        tags: &Tags,
    ) -> Result<Outcome, CloudError> {
        if !self.scp_enabled() {
            return Err(refuse("organizations.scp-enabled", format!("{SCP} is not enabled on the root")));
        }
        rules::policy_name(name)
            .map_err(|e| refuse("organizations.policy-name", format!("policy name {e}")))?;
        if self.state.policies.iter().any(|p| p.policy_type == SCP && p.name == name) {
            return Err(refuse(
                "organizations.policy-name-unique",
                format!("a policy named '{name}' already exists"),
            ));
        }
        self.check_policy_content(content)?;
        self.check_org_tags(tags, 0)?;
        if self.state.policies.len() >= self.settings.max_policies {
            return Err(refuse(
                "organizations.policy-count",
                format!("at most {} policies", self.settings.max_policies),
            ));
        }
        let id = self.mint(IdKind::Policy);
        self.add_policy(Policy {
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

    pub(super) fn update_policy(&mut self, policy_id: &str, content: &str) -> Result<Outcome, CloudError> {
        let i = self.policy_index(policy_id)?;
        if self.state.policies[i].aws_managed {
            return Err(refuse(
                "organizations.aws-managed-policy-immutable",
                format!("{policy_id} is managed by AWS"),
            ));
        }
        self.check_policy_content(content)?;
        self.state.policies[i].content = content.to_string();
        self.touched.policies.insert(policy_id.to_string());
        Ok(Outcome { id: Some(policy_id.to_string()), ..Outcome::default() })
    }

    pub(super) fn delete_policy(&mut self, policy_id: &str) -> Result<Outcome, CloudError> {
        let i = self.policy_index(policy_id)?;
        let p = &self.state.policies[i];
        if p.aws_managed {
            return Err(refuse(
                "organizations.aws-managed-policy-immutable",
                format!("{policy_id} is managed by AWS"),
            ));
        }
        if !p.target_ids.is_empty() {
            return Err(refuse(
                "organizations.policy-detached-to-delete",
                format!("{policy_id} is attached to {}: detach it first", p.target_ids.join(", ")),
            ));
        }
        index::remove(&mut self.state.policies, &mut self.idx.policies, policy_id, |p| &p.id);
        self.touched.policies.insert(policy_id.to_string());
        if index::remove_sorted(&mut self.state.organization.root_policy_ids, &policy_id.to_string()) {
            self.touched.organization = true;
        }
        Ok(Outcome::default())
    }

    pub(super) fn attach_policy(&mut self, policy_id: &str, target_id: &str) -> Result<Outcome, CloudError> {
        let i = self.policy_index(policy_id)?;
        if !self.is_target(target_id) {
            return Err(refuse(
                "organizations.attach-target-exists",
                format!("no root, OU or account {target_id}"),
            ));
        }
        let policy_type = self.state.policies[i].policy_type.clone();
        if !self.state.organization.enabled_policy_types.contains(&policy_type) {
            return Err(refuse(
                "organizations.scp-enabled",
                format!("{policy_type} is not enabled on the root"),
            ));
        }
        if self.attached(i, target_id) {
            return Err(refuse(
                "organizations.attach-once",
                format!("{policy_id} is already attached to {target_id}"),
            ));
        }
        if self.scp_count(target_id) >= self.settings.max_policies_per_target {
            return Err(refuse(
                "organizations.scp-max-per-target",
                format!("{target_id} already has {} SCPs attached", self.settings.max_policies_per_target),
            ));
        }
        self.attach(i, target_id);
        Ok(Outcome::default())
    }

    pub(super) fn detach_policy(&mut self, policy_id: &str, target_id: &str) -> Result<Outcome, CloudError> {
        let i = self.policy_index(policy_id)?;
        if !self.is_target(target_id) {
            return Err(refuse(
                "organizations.attach-target-exists",
                format!("no root, OU or account {target_id}"),
            ));
        }
        if !self.attached(i, target_id) {
            return Err(refuse(
                "organizations.detach-attached-only",
                format!("{policy_id} is not attached to {target_id}"),
            ));
        }
        if self.state.policies[i].policy_type == SCP && self.scp_count(target_id) <= 1 {
            return Err(refuse(
                "organizations.scp-min-per-target",
                format!("{target_id} must keep at least one SCP"),
            ));
        }
        self.detach(i, target_id);
        Ok(Outcome::default())
    }

    /// Add a policy (whose `target_ids` are empty); returns its position.
    fn add_policy(&mut self, policy: Policy) -> usize {
        let id = policy.id.clone();
        self.touched.policies.insert(id.clone());
        index::insert(&mut self.state.policies, &mut self.idx.policies, &id, policy);
        self.state.policies.len() - 1
    }

    // ---- S3

    pub(super) fn put_template(&mut self, url: &str, body: &str) -> Result<Outcome, CloudError> {
        if !url.starts_with("https://") && !url.starts_with("s3://") {
            return Err(refuse("s3.object-url", format!("'{url}' is not an S3 object URL")));
        }
        if self.state.launch_path.is_some() {
            let bucket = crate::adapter::aws::parse_s3_url(url).map(|(b, _)| b).unwrap_or_default();
            self.owned_bucket(&bucket)?;
        }
        self.x.templates.insert(url.to_string(), body.to_string());
        self.touched.templates.insert(url.to_string());
        Ok(Outcome::default())
    }

    /// The position of the bucket `name` in this account (`NoSuchBucket` otherwise: a bucket
    /// held by another account answers AccessDenied on AWS).
    fn owned_bucket(&self, name: &str) -> Result<usize, CloudError> {
        let buckets = self.state.launch_path.as_ref().map(|l| l.buckets.as_slice()).unwrap_or_default();
        match buckets.iter().position(|b| b.name == name) {
            Some(i) if buckets[i].owner == "owned" => Ok(i),
            Some(_) => Err(refuse(
                "s3.bucket-access",
                format!("Access Denied: bucket {name} belongs to another account"),
            )),
            None => Err(refuse("s3.bucket-exists", format!("The specified bucket does not exist: {name}"))),
        }
    }

    /// The launch path, started for a state written before vend modelled it (as those
    /// versions behaved: Service Catalog's Organizations access on).
    fn launch_path_mut(&mut self) -> &mut LaunchPath {
        self.touched.launch_path = true;
        self.state.launch_path.get_or_insert_with(|| LaunchPath {
            servicecatalog_organizations_access: ACCESS_ENABLED.into(),
            buckets: vec![],
            roles: vec![],
        })
    }

    pub(super) fn create_bucket(&mut self, name: &str, region: &str) -> Result<Outcome, CloudError> {
        if let Err(e) = rules::bucket_name(name) {
            return Err(refuse("s3.bucket-name", format!("The specified bucket is not valid: {name} {e}")));
        }
        if let Some(b) = self.state.bucket(name) {
            // In us-east-1, re-creating a bucket you own answers 200 OK (legacy behaviour).
            if b.owner == "owned" && region == "us-east-1" {
                return Ok(Outcome { id: Some(name.into()), ..Outcome::default() });
            }
            return Err(if b.owner == "owned" {
                refuse(
                    "s3.bucket-new",
                    format!(
                        "Your previous request to create the named bucket succeeded and you already own it: {name}"
                    ),
                )
            } else {
                refuse("s3.bucket-name-taken", format!("The requested bucket name is not available: {name}"))
            });
        }
        let l = self.launch_path_mut();
        let at = l.buckets.partition_point(|b| b.name.as_str() < name);
        l.buckets.insert(
            at,
            Bucket {
                name: name.into(),
                owner: "owned".into(),
                region: region.into(),
                // New buckets are encrypted with SSE-S3 by default (since January 2023); block
                // public access is on and versioning off (S3 user guide).
                encryption: "AES256".into(),
                public_access_blocked: true,
                versioning: false,
                tags: Tags::new(),
            },
        );
        Ok(Outcome { id: Some(name.into()), ..Outcome::default() })
    }

    pub(super) fn set_bucket(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut Bucket),
    ) -> Result<Outcome, CloudError> {
        let i = self.owned_bucket(name)?;
        f(&mut self.launch_path_mut().buckets[i]);
        Ok(Outcome::default())
    }

    pub(super) fn tag_bucket(&mut self, name: &str, tags: &Tags) -> Result<Outcome, CloudError> {
        let i = self.owned_bucket(name)?;
        self.launch_path_mut().buckets[i].tags = tags.clone();
        Ok(Outcome::default())
    }

    pub(super) fn enable_catalog_org_access(&mut self) -> Result<Outcome, CloudError> {
        if !self.state.catalog_org_access() {
            self.launch_path_mut().servicecatalog_organizations_access = ACCESS_ENABLED.into();
        }
        Ok(Outcome::default())
    }

    // ---------------------------------------------------------------- IAM: launch roles

    /// The index of role `name` in `account_id` (rule `iam.role-exists`: NoSuchEntity).
    fn role_index(&self, account_id: &str, name: &str) -> Result<usize, CloudError> {
        self.state
            .launch_path
            .as_ref()
            .and_then(|l| l.roles.iter().position(|r| r.account_id == account_id && r.name == name))
            .ok_or_else(|| {
                refuse(
                    "iam.role-exists",
                    format!("The role with name {name} cannot be found (account {account_id})."),
                )
            })
    }

    /// A trust or permission policy document as IAM parses it (rule `iam.policy-document`:
    /// MalformedPolicyDocument), in canonical form.
    fn policy_document(doc: &str, trust: bool) -> Result<serde_json::Value, CloudError> {
        let value: serde_json::Value = serde_json::from_str(doc)
            .map_err(|e| refuse("iam.policy-document", format!("Syntax errors in policy: {e}")))?;
        if !trust && let Err(e) = rules::iam_policy_document(&value) {
            return Err(refuse("iam.policy-document", e));
        }
        if trust && value.get("Statement").is_none() {
            return Err(refuse("iam.policy-document", "the trust policy has no Statement".to_string()));
        }
        Ok(value)
    }

    pub(super) fn create_role(
        &mut self,
        account_id: &str,
        name: &str,
        trust: &str,
        tags: &Tags,
    ) -> Result<Outcome, CloudError> {
        if self.account(account_id).is_none_or(|a| a.state != "ACTIVE") {
            // On AWS the member role cannot be assumed there (STS AccessDenied).
            return Err(hard(
                "AccessDenied",
                format!("account {account_id} is not an ACTIVE account of the organization"),
            ));
        }
        if let Err(e) = rules::role_name(name) {
            return Err(refuse("iam.role-name", format!("role name '{name}' {e}")));
        }
        if self.role_index(account_id, name).is_ok() {
            return Err(refuse("iam.role-unique", format!("Role with name {name} already exists.")));
        }
        let trust = Self::policy_document(trust, true)?;
        let role = LaunchRole {
            account_id: account_id.into(),
            name: name.into(),
            trusts_catalog: trusts_catalog(&trust),
            policy: String::new(),
            tags: tags.clone(),
        };
        let roles = &mut self.launch_path_mut().roles;
        roles.push(role);
        roles.sort_by(|a, b| (&a.account_id, &a.name).cmp(&(&b.account_id, &b.name)));
        Ok(Outcome { id: Some(format!("arn:aws:iam::{account_id}:role/{name}")), ..Outcome::default() })
    }

    pub(super) fn update_trust(
        &mut self,
        account_id: &str,
        name: &str,
        trust: &str,
    ) -> Result<Outcome, CloudError> {
        let i = self.role_index(account_id, name)?;
        let trusts = trusts_catalog(&Self::policy_document(trust, true)?);
        self.launch_path_mut().roles[i].trusts_catalog = trusts;
        Ok(Outcome::default())
    }

    /// Only vend's inline policy is modelled (`LAUNCH_ROLE_POLICY`); another name is taken
    /// and forgotten, as the state has no place for it.
    pub(super) fn put_role_policy(
        &mut self,
        account_id: &str,
        name: &str,
        policy_name: &str,
        doc: &str,
    ) -> Result<Outcome, CloudError> {
        let i = self.role_index(account_id, name)?;
        let value = Self::policy_document(doc, false)?;
        if policy_name == LAUNCH_ROLE_POLICY {
            self.launch_path_mut().roles[i].policy = canonical_json(&value);
        }
        Ok(Outcome::default())
    }

    pub(super) fn delete_role_policy(
        &mut self,
        account_id: &str,
        name: &str,
        policy_name: &str,
    ) -> Result<Outcome, CloudError> {
        let i = self.role_index(account_id, name)?;
        let has = policy_name == LAUNCH_ROLE_POLICY
            && self.state.launch_path.as_ref().is_some_and(|l| !l.roles[i].policy.is_empty());
        if !has {
            return Err(refuse(
                "iam.role-exists",
                format!("The role policy with name {policy_name} cannot be found."),
            ));
        }
        self.launch_path_mut().roles[i].policy.clear();
        Ok(Outcome::default())
    }

    pub(super) fn delete_role(&mut self, account_id: &str, name: &str) -> Result<Outcome, CloudError> {
        let i = self.role_index(account_id, name)?;
        if self.state.launch_path.as_ref().is_some_and(|l| !l.roles[i].policy.is_empty()) {
            return Err(refuse(
                "iam.delete-role-policies-first",
                "Cannot delete entity, must delete policies first.".to_string(),
            ));
        }
        self.launch_path_mut().roles.remove(i);
        Ok(Outcome::default())
    }
}
