//! The key under which a plan names each account of the state (`account:<key>`, SCP attachment
//! targets, `provisioned_pipeline:<key>/<name>`, portfolio shares, launch roles): the key (file
//! name) of the request that claims the account — the one with its e-mail and its AWS name
//! (`account_name:`, else `name`) — or, for an account no request claims, its AWS name; that
//! falls back to the account id when the AWS name is itself a request's key, so two accounts
//! never share an address. AWS account names repeat and may hold characters a file name cannot;
//! request keys are unique. Pure.

use crate::model::{Account, Desired, State};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Default)]
pub struct AccountKeys {
    /// Account id -> key, for the accounts whose key is not their AWS name.
    by_id: BTreeMap<String, String>,
    /// Ids of the accounts a request claims.
    claimed: BTreeSet<String>,
}

impl AccountKeys {
    pub fn new(desired: &Desired, state: &State) -> AccountKeys {
        let by_email: BTreeMap<String, &Account> =
            state.accounts.iter().map(|a| (a.email.to_ascii_lowercase(), a)).collect();
        let mut keys = AccountKeys::default();
        for (key, da) in &desired.accounts {
            let Some(a) = by_email.get(&da.email.to_ascii_lowercase()) else { continue };
            if a.name != da.aws_name {
                continue; // not this request's account (`email-in-use`)
            }
            keys.claimed.insert(a.id.clone());
            if &a.name != key {
                keys.by_id.insert(a.id.clone(), key.clone());
            }
        }
        for a in &state.accounts {
            if !keys.claimed.contains(&a.id) && desired.accounts.contains_key(&a.name) {
                keys.by_id.insert(a.id.clone(), a.id.clone());
            }
        }
        keys
    }

    /// The account's key in the plan's addresses.
    pub fn key<'a>(&'a self, a: &'a Account) -> &'a str {
        self.by_id.get(&a.id).map(String::as_str).unwrap_or(a.name.as_str())
    }

    /// Does a request claim this account (by e-mail and AWS name)?
    pub fn claimed(&self, id: &str) -> bool {
        self.claimed.contains(id)
    }
}

#[cfg(test)]
mod tests {
    use super::AccountKeys;
    use crate::model::{Account, Desired, DesiredAccount, Lifecycle, Origin, State};

    fn account(id: &str, name: &str, email: &str) -> Account {
        Account {
            id: id.into(),
            name: name.into(),
            email: email.into(),
            state: "ACTIVE".into(),
            parent_id: "r-ab12".into(),
            tags: Default::default(),
        }
    }

    fn request(key: &str, aws_name: &str, email: &str) -> DesiredAccount {
        DesiredAccount {
            name: key.into(),
            aws_name: aws_name.into(),
            email: email.into(),
            owner: None,
            blueprint: "plain@v1".into(),
            ou: String::new(),
            tags: Default::default(),
            policies: vec![],
            lifecycle: Lifecycle::Adopt,
            origin: Origin::default(),
            ou_origin: Origin::default(),
            email_origin: Origin::default(),
            lifecycle_origin: Origin::default(),
            requested_at: None,
            access: vec![],
            contacts: vec![],
            owned: Default::default(),
        }
    }

    #[test]
    fn claimed_accounts_take_the_request_key_and_an_unclaimed_one_never_takes_a_request_key() {
        let mut state = State::empty("2026-11-22T10:00:00Z");
        state.accounts = vec![
            account("222222222222", "Shared/x", "a@example.com"),
            account("333333333333", "Shared/x", "b@example.com"),
            // Not claimed (other e-mail), but named like a request key.
            account("444444444444", "shareda", "old@example.com"),
            // Its e-mail is requested under another AWS name: not claimed.
            account("555555555555", "other", "c@example.com"),
            account("666666666666", "plain", "d@example.com"),
        ];
        let mut desired = Desired::default();
        for r in [
            request("shareda", "Shared/x", "a@example.com"),
            request("sharedb", "Shared/x", "B@example.com"),
            request("mismatch", "notother", "c@example.com"),
            request("plain", "plain", "d@example.com"),
        ] {
            desired.accounts.insert(r.name.clone(), r);
        }
        let keys = AccountKeys::new(&desired, &state);
        let got: Vec<(&str, bool)> =
            state.accounts.iter().map(|a| (keys.key(a), keys.claimed(&a.id))).collect();
        assert_eq!(
            got,
            [
                ("shareda", true),
                ("sharedb", true),
                ("444444444444", false),
                ("other", false),
                ("plain", true),
            ]
        );
    }
}
