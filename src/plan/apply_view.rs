//! Typed views of a change's `before`/`after` for apply: per kind, the fields apply reads
//! (and nothing display-only: a version's `previous_version`/`previous_template_body`, an
//! account's `blueprint` are not here, so they cannot steer apply). Ids are [`Ref`]s: known
//! when the plan was made, or the address of the change in the same plan that creates them.
//! The plan JSON (v1) stays the wire form; these are read from it with the change's kind.

use super::{Address, Change, Payload, Target};
use crate::model::Tags;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// An id apply needs: known when the plan was made, or created earlier in the same apply by
/// the change at `by` (`field` names it in messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ref {
    Known(String),
    Pending { field: &'static str, by: Address },
}

impl Ref {
    fn of(field: &'static str, known: Option<&String>, by: Address) -> Ref {
        match known {
            Some(id) => Ref::Known(id.clone()),
            None => Ref::Pending { field, by },
        }
    }
}

/// The two sides of a change, typed as `T` (a side that is absent reads as `T::default()`).
#[derive(Debug, Clone, Default)]
pub struct Sides<T> {
    pub before: T,
    pub after: T,
    has_after: bool,
}

impl<T: DeserializeOwned + Default> Sides<T> {
    /// Read both sides of `c` as `T`; a side that does not fit `T` is a malformed plan.
    pub fn of(c: &Change) -> Result<Sides<T>, String> {
        let read = |side: &Option<Payload>| -> Result<T, String> {
            match side {
                None => Ok(T::default()),
                Some(p) => T::deserialize(&p.to_json())
                    .map_err(|e| format!("{}: the change does not read as a {} ({e})", c.address, c.kind)),
            }
        };
        Ok(Sides { before: read(&c.before)?, after: read(&c.after)?, has_after: c.after.is_some() })
    }

    /// `after` when the change has one, else `before` (what a create or a delete is about).
    pub fn subject(&self) -> &T {
        if self.has_after { &self.after } else { &self.before }
    }
}

fn either<'a>(a: &'a Option<String>, b: &'a Option<String>) -> Option<&'a String> {
    a.as_ref().or(b.as_ref())
}

/// Tags in `after` that are new or different from `before`.
pub fn tag_changes(before: &Tags, after: &Tags) -> Tags {
    after.iter().filter(|(k, v)| before.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect()
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PolicyTypeFields {
    #[serde(rename = "type")]
    pub policy_type: Option<String>,
    pub root_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OuFields {
    pub id: Option<String>,
    pub name: Option<String>,
    pub parent_id: Option<String>,
    pub parent: Option<String>,
    pub tags: Tags,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AccountFields {
    pub id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub parent_id: Option<String>,
    pub parent: Option<String>,
    pub tags: Tags,
    pub create_account_request_id: Option<String>,
    pub root_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PolicyFields {
    pub id: Option<String>,
    pub name: Option<String>,
    pub content: Option<String>,
    pub tags: Tags,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AttachmentFields {
    pub policy: Option<String>,
    pub target: Option<String>,
    pub policy_id: Option<String>,
    pub target_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ProductFields {
    pub id: Option<String>,
    pub name: Option<String>,
    pub owner: Option<String>,
    pub description: Option<String>,
    pub tags: Tags,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct VersionFields {
    pub id: Option<String>,
    pub name: Option<String>,
    pub product: Option<String>,
    pub product_id: Option<String>,
    pub description: Option<String>,
    pub template_url: Option<String>,
    pub template_body: Option<String>,
    pub guidance: Option<String>,
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PortfolioFields {
    pub id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub provider: Option<String>,
    pub tags: Tags,
}

/// Portfolio members: product associations, launch constraints, principals and shares.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MemberFields {
    pub portfolio: Option<String>,
    pub portfolio_id: Option<String>,
    pub product: Option<String>,
    pub product_id: Option<String>,
    pub local_role_name: Option<String>,
    pub arn: Option<String>,
    #[serde(rename = "type")]
    pub member_type: Option<String>,
    pub target: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PipelineFields {
    pub id: Option<String>,
    pub name: Option<String>,
    pub account: Option<String>,
    pub account_id: Option<String>,
    pub product: Option<String>,
    pub product_id: Option<String>,
    pub version: Option<String>,
    pub version_id: Option<String>,
    pub params: BTreeMap<String, String>,
    pub tags: Tags,
    pub mark_account: Option<bool>,
}

impl Change {
    /// The request time a create carries for delivery metrics (accounts and pipelines).
    pub fn requested_at(&self) -> Option<String> {
        match self.after.as_ref()? {
            Payload::NewAccount(a) => a.requested_at.clone(),
            Payload::Pipeline(p) => p.requested_at.clone(),
            _ => None,
        }
    }
}

/// The change's own id: known (in `after`, else `before`), or created earlier by it.
pub fn own_id(c: &Change, after: &Option<String>, before: &Option<String>) -> Ref {
    Ref::of("id", either(after, before), c.address.clone())
}

impl Sides<OuFields> {
    pub fn parent(&self) -> Ref {
        let path = self.after.parent.clone().unwrap_or_default();
        Ref::of("parent_id", either(&self.after.parent_id, &self.before.parent_id), Address::ou(&path))
    }
}

impl Sides<AccountFields> {
    /// Where the account goes: its parent id, or the OU created for it.
    pub fn destination(&self) -> (Option<String>, String) {
        (self.after.parent_id.clone(), self.after.parent.clone().unwrap_or_default())
    }

    pub fn new_parent(&self) -> Ref {
        let path = self.after.parent.clone().unwrap_or_default();
        Ref::of("parent_id", either(&self.after.parent_id, &self.before.parent_id), Address::ou(&path))
    }
}

impl Sides<AttachmentFields> {
    pub fn policy(&self) -> Ref {
        let s = self.subject();
        let name = s.policy.clone().unwrap_or_default();
        Ref::of("policy_id", either(&self.after.policy_id, &self.before.policy_id), Address::policy(&name))
    }

    /// The target's id, or the OU / account created for it.
    pub fn target(&self) -> Result<Ref, String> {
        let s = self.subject();
        let target = s.target.clone().unwrap_or_default();
        let known = either(&self.after.target_id, &self.before.target_id);
        if let Some(id) = known {
            return Ok(Ref::Known(id.clone()));
        }
        match Address::parse(&target) {
            Ok(by) => Ok(Ref::Pending { field: "target_id", by }),
            Err(_) => Err(format!("target_id of {} is not known (was it created?)", Target::Id(target))),
        }
    }
}

impl Sides<VersionFields> {
    pub fn product(&self) -> Ref {
        let s = self.subject();
        let name = s.product.clone().unwrap_or_default();
        Ref::of(
            "product_id",
            either(&self.after.product_id, &self.before.product_id),
            Address::product(&name),
        )
    }
}

impl Sides<MemberFields> {
    pub fn portfolio(&self) -> Ref {
        let s = self.subject();
        let name = s.portfolio.clone().unwrap_or_default();
        Ref::of(
            "portfolio_id",
            either(&self.after.portfolio_id, &self.before.portfolio_id),
            Address::portfolio(&name),
        )
    }

    pub fn product(&self) -> Ref {
        let s = self.subject();
        let name = s.product.clone().unwrap_or_default();
        Ref::of(
            "product_id",
            either(&self.after.product_id, &self.before.product_id),
            Address::product(&name),
        )
    }
}

impl Sides<PipelineFields> {
    /// Only from `after`: a replaced pipeline's `before` names the old product.
    pub fn account(&self) -> Ref {
        let name = self.after.account.clone().unwrap_or_default();
        Ref::of("account_id", self.after.account_id.as_ref(), Address::account(&name))
    }

    pub fn product(&self) -> Ref {
        let name = self.after.product.clone().unwrap_or_default();
        Ref::of("product_id", self.after.product_id.as_ref(), Address::product(&name))
    }

    /// The version to run: its id, or the version created for it.
    pub fn artifact(&self) -> Ref {
        let product = self.after.product.clone().unwrap_or_default();
        let version = self.after.version.clone().unwrap_or_default();
        Ref::of("version_id", self.after.version_id.as_ref(), Address::product_version(&product, &version))
    }
}
