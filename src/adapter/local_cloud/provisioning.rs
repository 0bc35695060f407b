//! Provisioned products in the in-process cloud: launching (only along a launch path: a
//! completed share or the management account's own portfolios), updating and terminating them
//! through asynchronous Service Catalog records, and DescribeRecord. It does no Organizations
//! operation and no file I/O.

use super::{IdKind, LocalCloud, Record, RecordKind, index};
use crate::adapter::aws_rules::refuse;
use crate::model::{Account, ProvisionedProduct, Tags};
use crate::port::{CloudError, Outcome};
use std::collections::BTreeMap;

impl LocalCloud {
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

    /// Whether vend, as its member role in `account`, has access to `product_id` there: in the
    /// portfolio's own account always (the in-process cloud does not model its callers there);
    /// in a member account, through a portfolio holding the product with an `IAM_PATTERN`
    /// principal that matches the role, shared with the account (its organization or an OU
    /// above it) with principal sharing on. Pattern principals do not travel with account
    /// shares, and principals associated in the member account itself are not modelled, so an
    /// account share alone gives no access. A state without `launch_path` (written before
    /// issue 14) is not checked.
    fn launch_access(&self, account: &Account, product_id: &str) -> bool {
        if self.state.launch_path.is_none() || account.id == self.state.organization.management_account_id {
            return true;
        }
        let me = format!("arn:aws:iam:::role/{}", self.settings.member_role);
        let chain = self.chain(account);
        self.state.portfolios.iter().filter(|p| p.product_ids.iter().any(|x| x == product_id)).any(|p| {
            let matched = p
                .principals
                .iter()
                .any(|x| x.principal_type == "IAM_PATTERN" && iam_pattern_matches(&x.arn, &me));
            matched
                && p.shares.iter().any(|s| {
                    s.status == "COMPLETED"
                        && s.share_principals
                        && match s.share_type.as_str() {
                            "ORGANIZATION" => s.value == self.state.organization.id,
                            "ORGANIZATIONAL_UNIT" => chain.contains(&s.value),
                            _ => false,
                        }
                })
        })
    }

    /// Rule `servicecatalog.launch-role`: Service Catalog assumes the launch constraint's role
    /// (`LocalRoleName`) in the account it launches, updates or terminates in, so the role must
    /// exist there and trust Service Catalog. The constraints of every portfolio holding the
    /// product count (the in-process cloud does not pick one launch path). A state without
    /// `launch_path` is not checked.
    fn check_launch_role(&self, account_id: &str, product_id: &str) -> Result<(), CloudError> {
        if self.state.launch_path.is_none() {
            return Ok(());
        }
        let roles = self
            .state
            .portfolios
            .iter()
            .filter(|p| p.product_ids.iter().any(|x| x == product_id))
            .flat_map(|p| p.launch_constraints.iter().filter(|c| c.product_id == product_id));
        for c in roles {
            let role = &c.local_role_name;
            match self.state.launch_role(account_id, role) {
                Some(r) if r.trusts_catalog => {}
                Some(_) => {
                    return Err(refuse(
                        "servicecatalog.launch-role",
                        format!(
                            "Service Catalog cannot assume the launch role {role} in account {account_id}: its trust policy does not name servicecatalog.amazonaws.com"
                        ),
                    ));
                }
                None => {
                    return Err(refuse(
                        "servicecatalog.launch-role",
                        format!("The launch role {role} does not exist in account {account_id}"),
                    ));
                }
            }
        }
        Ok(())
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
        self.touched.records.insert(record_id.clone());
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
        if let Some(&k) = self.idx.provisioned.get(pp_id) {
            self.state.provisioned_products[k].status = "UNDER_CHANGE".into();
            self.touched.provisioned.insert(pp_id.into());
        }
        Outcome { id: Some(record_id), status: Some("IN_PROGRESS".into()), ..Outcome::default() }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn provision(
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
        let bad = |rule: &str, m: String| refuse(rule, m);
        let name_ok = name.len() <= 128
            && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !name_ok {
            return Err(bad(
                "servicecatalog.provisioned-name",
                format!("'{name}' is not a valid provisioned product name"),
            ));
        }
        let Some(account) = self.account(account_id).cloned() else {
            return Err(refuse("servicecatalog.launch-account-exists", format!("no account {account_id}")));
        };
        if account.state != "ACTIVE" {
            return Err(bad(
                "servicecatalog.launch-account-active",
                format!("account {account_id} is {}", account.state),
            ));
        }
        let i = self.product_index(product_id)?;
        let v = self.artifact_index(i, artifact_id)?;
        let version = &self.state.products[i].versions[v];
        if !version.active {
            return Err(bad(
                "servicecatalog.launch-version-active",
                format!("version {artifact_id} is not active"),
            ));
        }
        if version.guidance == "DEPRECATED" {
            return Err(bad(
                "servicecatalog.launch-version-not-deprecated",
                format!("version {artifact_id} is deprecated: no new launches"),
            ));
        }
        let url = version.template_url.clone();
        if !self.launch_path(&account, product_id) {
            return Err(refuse(
                "servicecatalog.launch-path",
                format!("product {product_id} is not in a portfolio shared with account {account_id}"),
            ));
        }
        if !self.launch_access(&account, product_id) {
            return Err(refuse(
                "servicecatalog.launch-principal",
                format!(
                    "No launch paths found for resource: {product_id} (role {} in account {account_id} matches no IAM_PATTERN principal shared there with principal sharing on)",
                    self.settings.member_role
                ),
            ));
        }
        self.check_launch_role(account_id, product_id)?;
        if self.idx.launched.contains_key(&(account_id.to_string(), name.to_string())) {
            return Err(refuse(
                "servicecatalog.provisioned-name-unique",
                format!("account {account_id} already has a provisioned product named '{name}'"),
            ));
        }
        self.check_catalog_tags(tags, 0)?;
        // Last, as CloudFormation checks them when Service Catalog creates the stack.
        self.check_launch_parameters(&url, params, None)?;
        let id = self.mint(IdKind::Provisioned);
        *self.idx.launched.entry((account_id.to_string(), name.to_string())).or_insert(0) += 1;
        self.touched.provisioned.insert(id.clone());
        let launched = ProvisionedProduct {
            id: id.clone(),
            name: name.into(),
            account_id: account_id.into(),
            product_id: product_id.into(),
            version_id: artifact_id.into(),
            status: "UNDER_CHANGE".into(),
            params: params.clone(),
            tags: tags.clone(),
        };
        index::insert(&mut self.state.provisioned_products, &mut self.idx.provisioned, &id, launched);
        let out = self.start_record(RecordKind::Provision, &id, None, None);
        self.remember("ProvisionProduct", token, &out);
        Ok(out)
    }

    /// Launch parameters against the version's template (rule servicecatalog.launch-parameters:
    /// CloudFormation refuses a parameter the template does not declare, and needs a value for
    /// each one without a default — given now or, on an update, kept from before). Checked when
    /// the template was uploaded to this cloud; a cloud seeded from a state alone knows only the
    /// templates its plan uploads, and takes launches of other versions as given (as the emulator
    /// does for templates not in its S3).
    fn check_launch_parameters(
        &mut self,
        template_url: &str,
        given: &BTreeMap<String, String>,
        previous: Option<&BTreeMap<String, String>>,
    ) -> Result<(), CloudError> {
        if !self.declared.contains_key(template_url) {
            let parsed = self.template(template_url).and_then(crate::workspace::template_parameters);
            self.declared.insert(template_url.to_string(), parsed);
        }
        let Some(Some(declared)) = self.declared.get(template_url) else { return Ok(()) };
        let unknown: Vec<&str> =
            given.keys().filter(|k| !declared.contains_key(*k)).map(String::as_str).collect();
        if !unknown.is_empty() {
            return Err(refuse(
                "servicecatalog.launch-parameters",
                format!("Parameters: [{}] do not exist in the template", unknown.join(", ")),
            ));
        }
        let missing: Vec<&str> = declared
            .iter()
            .filter(|(k, has_default)| {
                !**has_default && !given.contains_key(*k) && !previous.is_some_and(|p| p.contains_key(*k))
            })
            .map(|(k, _)| k.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(refuse(
                "servicecatalog.launch-parameters",
                format!("Parameters: [{}] must have values", missing.join(", ")),
            ));
        }
        Ok(())
    }

    pub(super) fn update_provisioned(
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
            return Err(refuse(
                "servicecatalog.update-available-only",
                format!("provisioned product {pp_id} is {}", pp.status),
            ));
        }
        let i = self.product_index(&pp.product_id.clone())?;
        let v = self.artifact_index(i, artifact_id)?;
        // A deprecated version is fine here: existing provisioned products may still move to it.
        if !self.state.products[i].versions[v].active {
            return Err(refuse(
                "servicecatalog.launch-version-active",
                format!("version {artifact_id} is not active"),
            ));
        }
        let url = self.state.products[i].versions[v].template_url.clone();
        let pp = &self.state.provisioned_products[k];
        self.check_launch_role(&pp.account_id.clone(), &pp.product_id.clone())?;
        let previous = self.state.provisioned_products[k].params.clone();
        self.check_launch_parameters(&url, params, Some(&previous))?;
        let out = self.start_record(RecordKind::Update, pp_id, Some(artifact_id), Some(params));
        self.remember("UpdateProvisionedProduct", token, &out);
        Ok(out)
    }

    pub(super) fn terminate(&mut self, pp_id: &str, token: &str) -> Result<Outcome, CloudError> {
        if let Some(o) = self.replay("TerminateProvisionedProduct", token, |o| self.record_exists(o)) {
            return Ok(o);
        }
        let k = self.provisioned_index(pp_id)?;
        let pp = &self.state.provisioned_products[k];
        if pp.status == "UNDER_CHANGE" || pp.status == "PLAN_IN_PROGRESS" {
            return Err(refuse(
                "servicecatalog.terminate-not-under-change",
                format!("provisioned product {pp_id} is {}", pp.status),
            ));
        }
        let out = self.start_record(RecordKind::Terminate, pp_id, None, None);
        self.remember("TerminateProvisionedProduct", token, &out);
        Ok(out)
    }

    pub(super) fn describe_record(&mut self, record_id: &str) -> Result<Outcome, CloudError> {
        let needed = self.polls_needed();
        let Some(record) = self.x.records.get_mut(record_id) else {
            return Err(refuse("servicecatalog.record-exists", format!("no record {record_id}")));
        };
        self.touched.records.insert(record_id.to_string());
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
        let pp_id = r.provisioned_product_id.as_str();
        let Some(&k) = self.idx.provisioned.get(pp_id) else {
            return (
                "FAILED".into(),
                Some(format!("provisioned product {} no longer exists", r.provisioned_product_id)),
            );
        };
        self.touched.provisioned.insert(pp_id.to_string());
        let pps = &mut self.state.provisioned_products;
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
                let key = (pps[k].account_id.clone(), pps[k].name.clone());
                if let Some(n) = self.idx.launched.get_mut(&key) {
                    *n -= 1;
                    if *n == 0 {
                        self.idx.launched.remove(&key);
                    }
                }
                index::remove(pps, &mut self.idx.provisioned, pp_id, |p| &p.id);
            }
        }
        ("SUCCEEDED".into(), None)
    }
}

/// An `IAM_PATTERN` principal (`arn:aws:iam:::role/ProductTeam*`: `*` any run of characters, `?`
/// one) against an account-less role ARN.
pub(super) fn iam_pattern_matches(pattern: &str, arn: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some((b'*', rest)) => (0..=t.len()).any(|i| go(rest, &t[i..])),
            Some((b'?', rest)) => !t.is_empty() && go(rest, &t[1..]),
            Some((c, rest)) => t.first() == Some(c) && go(rest, &t[1..]),
        }
    }
    go(pattern.as_bytes(), arn.as_bytes())
}
