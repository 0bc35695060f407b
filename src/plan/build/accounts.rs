//! Accounts: create, adopt, move, retag or close the requested accounts; never delete one.

use super::*;

impl<'a> Planner<'a> {
    // ---------------------------------------------------------------- accounts

    pub(super) fn accounts(&mut self) {
        let protected: BTreeSet<&str> = self.d.settings.protected.iter().map(String::as_str).collect();
        let mgmt = self.s.organization.management_account_id.clone();
        let mut claimed: BTreeSet<String> = BTreeSet::new();
        for (name, da) in &self.d.accounts {
            let address = Address::account(name);
            let by_email = self.accounts_by_email.get(&da.email.to_ascii_lowercase()).copied();
            // The account with the request's e-mail is its account if its AWS name is the
            // request's (`account_name:`, else `name`); the same test as `AccountKeys`.
            let existing = match by_email {
                Some(a) if a.name != da.aws_name => {
                    self.error(
                        "email-in-use",
                        &da.email_origin,
                        format!(
                            "e-mail {} belongs to account '{}' ({}); e-mails are unique across AWS{}",
                            da.email,
                            a.name,
                            a.id,
                            if da.aws_name == da.name {
                                String::new()
                            } else {
                                format!(" (the request's account_name is '{}')", da.aws_name)
                            }
                        ),
                    );
                    self.fates.insert(name.clone(), AccountFate::Skip);
                    continue;
                }
                Some(a) => Some(a),
                None => {
                    // A managed account of this AWS name that no request claims: the e-mail
                    // was edited.
                    let named =
                        self.accounts_by_name.get(da.aws_name.as_str()).map(Vec::as_slice).unwrap_or(&[]);
                    if let Some(a) =
                        named.iter().find(|a| managed(&a.tags, self.own) && !self.keys.claimed(&a.id))
                    {
                        self.error(
                            "email-immutable",
                            &da.email_origin,
                            format!(
                                "account '{}' ({}) has e-mail {}; an account's e-mail cannot be changed through the API",
                                a.name, a.id, a.email
                            ),
                        );
                        self.fates.insert(name.clone(), AccountFate::Skip);
                        continue;
                    }
                    None
                }
            };
            let Some(acct) = existing else {
                self.account_new(da, &address);
                continue;
            };
            claimed.insert(acct.id.clone());
            let is_protected = protected.contains(acct.id.as_str()) || acct.id == mgmt;
            let is_managed = managed(&acct.tags, self.own);
            if da.lifecycle == Lifecycle::Close {
                self.fates.insert(name.clone(), AccountFate::Skip);
                if matches!(acct.state.as_str(), "SUSPENDED" | "PENDING_CLOSURE" | "CLOSED") {
                    continue;
                }
                if is_protected {
                    self.error(
                        "protected",
                        &da.lifecycle_origin,
                        format!("account '{}' ({}) is protected; vend never closes it", acct.name, acct.id),
                    );
                    continue;
                }
                if !is_managed {
                    self.error(
                        "unmanaged-account",
                        &da.lifecycle_origin,
                        format!(
                            "account '{}' ({}) is not managed by vend; adopt it before closing it",
                            acct.name, acct.id
                        ),
                    );
                    continue;
                }
                let before = account_state(acct, None);
                let after = AccountState { state: "PENDING_CLOSURE".into(), ..before.clone() };
                let (before, after) = (Payload::Account(before), Payload::Account(after));
                self.push(
                    Kind::Account,
                    address,
                    Action::Close,
                    Some(before),
                    Some(after),
                    vec![],
                    "lifecycle: close (suspended, then closed; reopenable through Support for 90 days)",
                );
                continue;
            }
            if acct.state != "ACTIVE" {
                self.warn(
                    "account-suspended",
                    &da.origin,
                    format!(
                        "account '{}' ({}) is {}; nothing is planned for it",
                        acct.name, acct.id, acct.state
                    ),
                );
                self.fates.insert(name.clone(), AccountFate::Skip);
                continue;
            }
            if !is_managed && da.lifecycle != Lifecycle::Adopt {
                self.error(
                    "unmanaged-account",
                    &da.origin,
                    format!(
                        "account '{}' ({}) exists without the ownership tag {}; add `lifecycle: adopt` to take it over",
                        acct.name, acct.id, self.own
                    ),
                );
                self.fates.insert(name.clone(), AccountFate::Skip);
                continue;
            }
            // Where should it be?
            if !self.ou_exists(&da.ou) {
                self.error("unknown-ou", &da.ou_origin, format!("OU '{}' for account '{name}' exists neither in organization.yaml nor in the organization", da.ou));
                self.fates.insert(name.clone(), AccountFate::Skip);
                continue;
            }
            let current_parent = self.parent_path(&acct.parent_id);
            let moves = current_parent.as_deref() != Some(da.ou.as_str());
            let retag = da.tags.iter().any(|(k, v)| acct.tags.get(k) != Some(v));
            if (moves || retag) && is_protected {
                self.error(
                    "protected",
                    &da.origin,
                    format!(
                        "account '{}' ({}) is protected; vend never moves or changes it",
                        acct.name, acct.id
                    ),
                );
                self.fates.insert(name.clone(), AccountFate::Skip);
                continue;
            }
            self.fates.insert(name.clone(), AccountFate::Existing(acct.id.clone()));
            if is_managed && !moves && !retag {
                continue;
            }
            let tags = merge_tags(&acct.tags, &da.tags);
            let before = account_state(acct, Some(current_parent.clone()));
            let mut after = AccountState { tags, ..before.clone() };
            let mut deps = vec![];
            if moves {
                after.parent_id = self.ou_id(&da.ou);
                after.parent = Some(Some(da.ou.clone()));
                deps.push(Address::ou(&da.ou));
                self.moved.insert(acct.id.clone(), da.ou.clone());
            }
            let from = current_parent.clone().unwrap_or_else(|| acct.parent_id.clone());
            let (action, reason) = if !is_managed {
                (Action::Adopt, "lifecycle: adopt: vend takes over an existing account".to_string())
            } else if moves {
                (Action::Move, format!("from '{}' to '{}'", display_ou(&from), display_ou(&da.ou)))
            } else if retag {
                (Action::Update, "tags differ".to_string())
            } else {
                continue;
            };
            self.push(
                Kind::Account,
                address,
                action,
                Some(Payload::Account(before)),
                Some(Payload::Account(after)),
                deps,
                reason,
            );
        }
        // Managed accounts without a request: vend stops managing them (never closes).
        for a in &self.s.accounts {
            if managed(&a.tags, self.own) && !claimed.contains(&a.id) && a.state == "ACTIVE" {
                self.diags.push(Diagnostic::warning(
                    "request-removed",
                    format!(
                        "account '{}' ({}) carries {} but has no request in catalog/accounts/; vend leaves it as it is (closing needs `lifecycle: close`)",
                        a.name, a.id, self.own
                    ),
                ));
            }
        }
    }

    pub(super) fn account_new(&mut self, da: &DesiredAccount, address: &Address) {
        let name = &da.name;
        match da.lifecycle {
            Lifecycle::Close => {
                self.warn(
                    "nothing-to-close",
                    &da.origin,
                    format!("account '{name}' does not exist; nothing to close"),
                );
                self.fates.insert(name.clone(), AccountFate::Skip);
                return;
            }
            Lifecycle::Adopt => {
                self.error(
                    "adopt-missing",
                    &da.origin,
                    format!("no account with e-mail {} exists to adopt", da.email),
                );
                self.fates.insert(name.clone(), AccountFate::Skip);
                return;
            }
            Lifecycle::Manage => {}
        }
        // Creation requests are known by the AWS name only.
        let aws_name = &da.aws_name;
        let in_flight = self
            .s
            .create_account_requests
            .iter()
            .find(|r| r.account_name == *aws_name && r.state == "IN_PROGRESS");
        if let Some(car) = in_flight {
            let sharing: Vec<&str> = self
                .d
                .accounts
                .values()
                .filter(|o| {
                    o.aws_name == *aws_name
                        && o.lifecycle == Lifecycle::Manage
                        && !self.accounts_by_email.contains_key(&o.email.to_ascii_lowercase())
                })
                .map(|o| o.name.as_str())
                .collect();
            if sharing.len() > 1 {
                self.warn(
                    "creation-in-progress",
                    &da.origin,
                    format!(
                        "an account named '{aws_name}' is being created ({}), and the new requests {} all ask for that AWS name; vend cannot tell which one it is for and plans none of them until it has finished",
                        car.id,
                        sharing.join(", ")
                    ),
                );
                self.fates.insert(name.clone(), AccountFate::Skip);
                return;
            }
            self.warn(
                "creation-in-progress",
                &da.origin,
                format!(
                    "account '{name}' is already being created ({}); apply waits for that request and never sends CreateAccount twice",
                    car.id
                ),
            );
        }
        if !self.ou_exists(&da.ou) {
            self.error("unknown-ou", &da.ou_origin, format!("OU '{}' for account '{name}' exists neither in organization.yaml nor in the organization", da.ou));
            self.fates.insert(name.clone(), AccountFate::Skip);
            return;
        }
        let failed = self
            .s
            .create_account_requests
            .iter()
            .filter(|r| r.account_name == *aws_name && r.state == "FAILED")
            .filter_map(|r| r.failure_reason.clone())
            .next_back();
        let reason = match (in_flight, failed) {
            (Some(car), _) => {
                format!("new request; CreateAccount was already sent ({}), apply resumes it", car.id)
            }
            (None, Some(f)) => format!("new request (an earlier creation failed: {f})"),
            (None, None) => "new request".into(),
        };
        self.fates.insert(name.clone(), AccountFate::New);
        let after = Payload::NewAccount(NewAccount {
            id: None,
            // CreateAccount's AccountName (the address keeps the request's key).
            name: aws_name.clone(),
            email: da.email.clone(),
            state: "ACTIVE".into(),
            parent_id: self.ou_id(&da.ou),
            parent: da.ou.clone(),
            tags: da.tags.clone(),
            blueprint: da.blueprint.clone(),
            create_account_request_id: in_flight.map(|r| r.id.clone()),
            root_id: self.s.organization.root_id.clone(),
            // For delivery metrics: apply records it with the creation's intent.
            requested_at: da.requested_at.clone(),
        });
        self.push(
            Kind::Account,
            address.clone(),
            Action::Create,
            None,
            Some(after),
            if da.ou.is_empty() { vec![] } else { vec![Address::ou(&da.ou)] },
            reason,
        );
    }
}
