//! Service control policies: the documents (create, update, delete) and where they are
//! attached (root, OUs, accounts), within AWS's per-target limits.

use super::*;

impl<'a> Planner<'a> {
    // ---------------------------------------------------------------- SCPs

    pub(super) fn scp_by_name(&self, name: &str) -> Option<&'a Policy> {
        self.s.policies.iter().find(|p| p.policy_type == SCP && p.name == name)
    }

    pub(super) fn policies(&mut self) {
        for (name, dp) in &self.d.policies {
            let address = Address::policy(name);
            match self.scp_by_name(name) {
                None => {
                    let mut tags = Tags::new();
                    tags.insert(self.own.to_string(), "true".into());
                    self.push(
                        Kind::Policy,
                        address,
                        Action::Create,
                        None,
                        Some(Payload::Policy(PolicyState {
                            id: None,
                            name: name.clone(),
                            policy_type: SCP.into(),
                            aws_managed: false,
                            content: dp.content.clone(),
                            target_ids: vec![],
                            tags,
                        })),
                        vec![Address::policy_type(SCP)],
                        "new SCP document in catalog/policies/",
                    );
                }
                Some(sp) if sp.aws_managed => {
                    self.error(
                        "unmanaged-conflict",
                        &dp.origin,
                        format!(
                            "an SCP named '{name}' ({}) already exists and is managed by AWS; rename the document",
                            sp.id
                        ),
                    );
                }
                // Declaring an existing customer SCP with the same document adopts it (as
                // declaring an existing OU does).
                Some(sp) if !managed(&sp.tags, self.own) && semantic_eq(&sp.content, &dp.content) => {
                    let before = policy_state(sp);
                    let mut after = before.clone();
                    after.tags.insert(self.own.to_string(), "true".into());
                    self.adopted_policies.insert(name.clone());
                    self.push(
                        Kind::Policy,
                        address,
                        Action::Adopt,
                        Some(Payload::Policy(before)),
                        Some(Payload::Policy(after)),
                        vec![],
                        "declared in catalog/policies/ with the same document; exists without the ownership tag, vend takes it over",
                    );
                }
                Some(sp) if !managed(&sp.tags, self.own) => {
                    self.error(
                        "unmanaged-conflict",
                        &dp.origin,
                        format!(
                            "an SCP named '{name}' ({}) already exists without the ownership tag {} and its document differs from this one; make the documents identical to adopt it, or rename the document",
                            sp.id, self.own
                        ),
                    );
                }
                Some(sp) => {
                    if !semantic_eq(&sp.content, &dp.content) {
                        let before = policy_state(sp);
                        let after = PolicyState { content: dp.content.clone(), ..before.clone() };
                        let (before, after) = (Payload::Policy(before), Payload::Policy(after));
                        self.push(
                            Kind::Policy,
                            address,
                            Action::Update,
                            Some(before),
                            Some(after),
                            vec![],
                            "document changed",
                        );
                    }
                }
            }
        }
        for sp in &self.s.policies {
            if sp.policy_type == SCP
                && !sp.aws_managed
                && managed(&sp.tags, self.own)
                && !self.d.policies.contains_key(&sp.name)
            {
                self.deleted_policies.insert(sp.name.clone());
            }
        }
    }

    pub(super) fn policy_deletes(&mut self) {
        let names: Vec<String> = self.deleted_policies.iter().cloned().collect();
        for name in names {
            let Some(sp) = self.scp_by_name(&name) else { continue };
            let mut deps: Vec<Address> = self
                .changes
                .iter()
                .filter(|c| c.address.attachment().is_some_and(|(p, _)| p == name))
                .map(|c| c.address.clone())
                .collect();
            deps.extend(self.deleted_ous.iter().map(|p| Address::ou(p)));
            self.push(
                Kind::Policy,
                Address::policy(&name),
                Action::Delete,
                Some(Payload::Policy(policy_state(sp))),
                None,
                deps,
                "managed SCP no longer in catalog/policies/",
            );
        }
    }

    // ---------------------------------------------------------------- SCP attachments

    pub(super) fn attachments(&mut self) {
        // Current attachments per target id.
        let mut attached: BTreeMap<&str, Vec<&Policy>> = BTreeMap::new();
        for p in &self.s.policies {
            if p.policy_type != SCP {
                continue;
            }
            for t in &p.target_ids {
                attached.entry(t.as_str()).or_default().push(p);
            }
        }
        struct Holder {
            address: Target,
            id: Option<String>,
            desired: Vec<String>,
            origin: Origin,
            label: String,
        }
        let mut targets = vec![Holder {
            address: Target::Root,
            id: Some(self.s.organization.root_id.clone()),
            desired: self.d.root_policies.clone(),
            origin: self.d.root_origin.clone(),
            label: "the root".into(),
        }];
        for ou in self.d.ous.values() {
            targets.push(Holder {
                address: Target::ou(&ou.path),
                id: self.ou_id(&ou.path),
                desired: ou.policies.clone(),
                origin: ou.origin.clone(),
                label: format!("OU '{}'", ou.path),
            });
        }
        for (name, da) in &self.d.accounts {
            let id = match self.fates.get(name) {
                Some(AccountFate::New) => None,
                Some(AccountFate::Existing(id)) => Some(id.clone()),
                _ => continue,
            };
            targets.push(Holder {
                address: Target::account(name),
                id,
                desired: da.policies.clone(),
                origin: da.origin.clone(),
                label: format!("account '{name}'"),
            });
        }
        // Managed SCPs, and those this plan adopts.
        let (own, adopted) = (self.own, self.adopted_policies.clone());
        let vends = move |p: &Policy| !p.aws_managed && (managed(&p.tags, own) || adopted.contains(&p.name));
        let covered: BTreeSet<String> = targets.iter().filter_map(|t| t.id.clone()).collect();
        // Targets outside the workspace that hold a policy being deleted.
        for (tid, pols) in &attached {
            if covered.contains(*tid) || !pols.iter().any(|p| self.deleted_policies.contains(&p.name)) {
                continue;
            }
            let (address, label) = if let Some(a) = self.accounts_by_id.get(tid).copied() {
                let key = self.account_key(a);
                (Target::account(key), format!("account '{key}'"))
            } else if let Some(path) = self.ou_path.get(tid) {
                if !self.d.ous.contains_key(path)
                    && self.ou_by_path.get(path).is_some_and(|o| managed(&o.tags, self.own))
                {
                    continue; // the OU itself is deleted, which detaches its policies
                }
                (Target::ou(path), format!("OU '{path}'"))
            } else {
                (Target::Id(tid.to_string()), tid.to_string())
            };
            let keep: Vec<String> = pols
                .iter()
                .filter(|p| vends(p) && !self.deleted_policies.contains(&p.name))
                .map(|p| p.name.clone())
                .collect();
            targets.push(Holder {
                address,
                id: Some(tid.to_string()),
                desired: keep,
                origin: Origin::file("catalog/policies"),
                label,
            });
        }
        let enabled_later = !self.scp_enabled();
        for t in targets {
            let current: &[&Policy] =
                t.id.as_deref().and_then(|id| attached.get(id)).map(Vec::as_slice).unwrap_or(&[]);
            let is_new = t.id.is_none();
            let unmanaged = if is_new || (enabled_later && current.is_empty()) {
                1 // AWS attaches FullAWSAccess to new OUs and accounts, and everywhere on enabling
            } else {
                current.iter().filter(|p| !vends(p)).count()
            };
            let have: BTreeSet<String> =
                current.iter().filter(|p| vends(p)).map(|p| p.name.clone()).collect();
            let want: BTreeSet<String> = t.desired.iter().cloned().collect();
            if unmanaged + want.len() > crate::workspace::MAX_SCPS_PER_TARGET {
                self.error(
                    "scp-limit",
                    &t.origin,
                    format!(
                        "{} would have {} SCPs attached ({} not managed by vend); AWS allows at most {}",
                        t.label,
                        unmanaged + want.len(),
                        unmanaged,
                        crate::workspace::MAX_SCPS_PER_TARGET
                    ),
                );
                continue;
            }
            if unmanaged + want.len() == 0 {
                self.error(
                    "scp-none",
                    &t.origin,
                    format!("{} would be left with no SCP; AWS requires at least one (keep FullAWSAccess attached or list a policy)", t.label),
                );
                continue;
            }
            let union = have.union(&want).count();
            let detach_first = unmanaged + union > crate::workspace::MAX_SCPS_PER_TARGET;
            let attach_addrs: Vec<Address> =
                want.difference(&have).map(|p| Address::policy_attachment(p, &t.address)).collect();
            let detach_addrs: Vec<Address> =
                have.difference(&want).map(|p| Address::policy_attachment(p, &t.address)).collect();
            for p in want.difference(&have) {
                let mut deps: Vec<Address> = vec![Address::policy(p)];
                deps.extend(t.address.address().cloned());
                deps.push(Address::policy_type(SCP));
                if detach_first {
                    deps.extend(detach_addrs.iter().cloned());
                }
                self.push(
                    Kind::PolicyAttachment,
                    Address::policy_attachment(p, &t.address),
                    Action::Create,
                    None,
                    Some(Payload::Attachment(AttachmentState {
                        policy: p.clone(),
                        target: t.address.to_string(),
                        target_id: t.id.clone(),
                        policy_id: None,
                    })),
                    deps,
                    format!("listed for {}", t.label),
                );
            }
            for p in have.difference(&want) {
                let deps = if detach_first { vec![] } else { attach_addrs.clone() };
                let reason = if self.deleted_policies.contains(p) {
                    "the SCP is deleted".to_string()
                } else {
                    format!("no longer listed for {}", t.label)
                };
                self.push(
                    Kind::PolicyAttachment,
                    Address::policy_attachment(p, &t.address),
                    Action::Delete,
                    Some(Payload::Attachment(AttachmentState {
                        policy: p.clone(),
                        target: t.address.to_string(),
                        target_id: t.id.clone(),
                        policy_id: None,
                    })),
                    None,
                    deps,
                    reason,
                );
            }
        }
    }
}
