//! What apply reads from a change, typed: per kind, a view of the apply fields of its
//! payloads (nothing display-only: a version's `previous_version`/`previous_template_body` and
//! an account's `blueprint` are not here, so they cannot steer apply). Ids are [`Ref`]s: known
//! when the plan was made, or the address of the change in the same plan that creates them.

use super::{Address, Change, Payload, Target};
use crate::model::Tags;
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

/// The fields apply reads from one kind's payloads.
pub trait View: Default + Sized {
    /// The view of `p`, if `p` is a payload of this view's kind.
    fn view(p: &Payload) -> Option<Self>;
}

impl<T: View> Sides<T> {
    /// Read both sides of `c` as `T`; a side of another kind is a malformed plan.
    pub fn of(c: &Change) -> Result<Sides<T>, String> {
        let read = |side: &Option<Payload>| -> Result<T, String> {
            match side {
                None => Ok(T::default()),
                Some(p) => T::view(p)
                    .ok_or_else(|| format!("{}: the change does not read as a {}", c.address, c.kind)),
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

#[derive(Debug, Clone, Default)]
pub struct PolicyTypeFields {
    pub policy_type: Option<String>,
    pub root_id: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct OuFields {
    pub id: Option<String>,
    pub name: Option<String>,
    pub parent_id: Option<String>,
    pub parent: Option<String>,
    pub tags: Tags,
}

#[derive(Debug, Clone, Default)]
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

#[derive(Debug, Clone, Default)]
pub struct PolicyFields {
    pub id: Option<String>,
    pub name: Option<String>,
    pub content: Option<String>,
    pub tags: Tags,
}

#[derive(Debug, Clone, Default)]
pub struct AttachmentFields {
    pub policy: Option<String>,
    pub target: Option<String>,
    pub policy_id: Option<String>,
    pub target_id: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ProductFields {
    pub id: Option<String>,
    pub name: Option<String>,
    pub owner: Option<String>,
    pub description: Option<String>,
    pub tags: Tags,
}

#[derive(Debug, Clone, Default)]
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

#[derive(Debug, Clone, Default)]
pub struct PortfolioFields {
    pub id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub provider: Option<String>,
    pub tags: Tags,
}

/// Portfolio members: product associations, launch constraints, principals and shares.
#[derive(Debug, Clone, Default)]
pub struct MemberFields {
    pub portfolio: Option<String>,
    pub portfolio_id: Option<String>,
    pub product: Option<String>,
    pub product_id: Option<String>,
    pub local_role_name: Option<String>,
    pub arn: Option<String>,
    pub member_type: Option<String>,
    pub target: Option<String>,
    pub value: Option<String>,
    /// Shares: principal sharing on.
    pub share_principals: bool,
}

#[derive(Debug, Clone, Default)]
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

impl View for PolicyTypeFields {
    fn view(p: &Payload) -> Option<Self> {
        match p {
            Payload::PolicyType(t) => Some(PolicyTypeFields {
                policy_type: Some(t.policy_type.clone()),
                root_id: Some(t.root_id.clone()),
            }),
            _ => None,
        }
    }
}

impl View for OuFields {
    fn view(p: &Payload) -> Option<Self> {
        match p {
            Payload::NewOu(o) => Some(OuFields {
                id: o.id.clone(),
                name: Some(o.name.clone()),
                parent_id: o.parent_id.clone(),
                parent: Some(o.parent.clone()),
                tags: o.tags.clone(),
            }),
            Payload::Ou(o) => Some(OuFields {
                id: Some(o.id.clone()),
                name: Some(o.name.clone()),
                parent_id: Some(o.parent_id.clone()),
                parent: None,
                tags: o.tags.clone(),
            }),
            _ => None,
        }
    }
}

impl View for AccountFields {
    fn view(p: &Payload) -> Option<Self> {
        match p {
            Payload::NewAccount(a) => Some(AccountFields {
                id: a.id.clone(),
                name: Some(a.name.clone()),
                email: Some(a.email.clone()),
                parent_id: a.parent_id.clone(),
                parent: Some(a.parent.clone()),
                tags: a.tags.clone(),
                create_account_request_id: a.create_account_request_id.clone(),
                root_id: Some(a.root_id.clone()),
            }),
            Payload::Account(a) => Some(AccountFields {
                id: Some(a.id.clone()),
                name: Some(a.name.clone()),
                email: Some(a.email.clone()),
                parent_id: a.parent_id.clone(),
                parent: a.parent.clone().flatten(),
                tags: a.tags.clone(),
                create_account_request_id: None,
                root_id: None,
            }),
            _ => None,
        }
    }
}

impl View for PolicyFields {
    fn view(p: &Payload) -> Option<Self> {
        match p {
            Payload::Policy(x) => Some(PolicyFields {
                id: x.id.clone(),
                name: Some(x.name.clone()),
                content: Some(x.content.clone()),
                tags: x.tags.clone(),
            }),
            _ => None,
        }
    }
}

impl View for AttachmentFields {
    fn view(p: &Payload) -> Option<Self> {
        match p {
            Payload::Attachment(a) => Some(AttachmentFields {
                policy: Some(a.policy.clone()),
                target: Some(a.target.clone()),
                policy_id: a.policy_id.clone(),
                target_id: a.target_id.clone(),
            }),
            _ => None,
        }
    }
}

impl View for ProductFields {
    fn view(p: &Payload) -> Option<Self> {
        match p {
            Payload::Product(x) => Some(ProductFields {
                id: x.id.clone(),
                name: Some(x.name.clone()),
                owner: Some(x.owner.clone()),
                description: x.description.clone(),
                tags: x.tags.clone(),
            }),
            _ => None,
        }
    }
}

impl View for VersionFields {
    fn view(p: &Payload) -> Option<Self> {
        match p {
            Payload::Version(v) => Some(VersionFields {
                id: v.id.clone(),
                name: Some(v.name.clone()),
                product: Some(v.product.clone()),
                product_id: v.product_id.clone(),
                description: Some(v.description.clone()),
                template_url: Some(v.template_url.clone()),
                template_body: v.template_body.clone(),
                guidance: Some(v.guidance.clone()),
                active: Some(v.active),
            }),
            _ => None,
        }
    }
}

impl View for PortfolioFields {
    fn view(p: &Payload) -> Option<Self> {
        match p {
            Payload::Portfolio(x) => Some(PortfolioFields {
                id: x.id.clone(),
                name: Some(x.name.clone()),
                description: Some(x.description.clone()),
                provider: Some(x.provider.clone()),
                tags: x.tags.clone(),
            }),
            _ => None,
        }
    }
}

impl View for MemberFields {
    fn view(p: &Payload) -> Option<Self> {
        let m = match p {
            Payload::PortfolioProduct(x) => MemberFields {
                portfolio: Some(x.portfolio.clone()),
                portfolio_id: x.portfolio_id.clone(),
                product: Some(x.product.clone()),
                product_id: x.product_id.clone(),
                ..MemberFields::default()
            },
            Payload::Constraint(x) => MemberFields {
                portfolio: Some(x.portfolio.clone()),
                portfolio_id: x.portfolio_id.clone(),
                product: Some(x.product.clone()),
                product_id: x.product_id.clone(),
                local_role_name: Some(x.local_role_name.clone()),
                ..MemberFields::default()
            },
            Payload::Principal(x) => MemberFields {
                portfolio: Some(x.portfolio.clone()),
                portfolio_id: x.portfolio_id.clone(),
                arn: Some(x.arn.clone()),
                member_type: Some(x.principal_type.clone()),
                ..MemberFields::default()
            },
            Payload::Share(x) => MemberFields {
                portfolio: Some(x.portfolio.clone()),
                portfolio_id: x.portfolio_id.clone(),
                member_type: Some(x.share_type.clone()),
                target: Some(x.target.clone()),
                value: x.value.clone(),
                share_principals: x.share_principals,
                ..MemberFields::default()
            },
            _ => return None,
        };
        Some(m)
    }
}

impl View for PipelineFields {
    fn view(p: &Payload) -> Option<Self> {
        match p {
            Payload::Pipeline(x) => Some(PipelineFields {
                id: x.id.clone(),
                name: Some(x.name.clone()),
                account: Some(x.account.clone()),
                account_id: x.account_id.clone(),
                product: Some(x.product.clone()),
                product_id: x.product_id.clone(),
                version: x.version.clone().flatten(),
                version_id: x.version_id.clone(),
                params: x.params.clone(),
                tags: x.tags.clone(),
                mark_account: x.mark_account,
            }),
            _ => None,
        }
    }
}

/// A `template_bucket` change is read as its payload.
impl View for super::payload::BucketState {
    fn view(p: &Payload) -> Option<Self> {
        match p {
            Payload::Bucket(b) => Some(b.clone()),
            _ => None,
        }
    }
}

/// A `launch_role` change is read as its payload.
impl View for super::payload::LaunchRoleState {
    fn view(p: &Payload) -> Option<Self> {
        match p {
            Payload::LaunchRole(r) => Some(r.clone()),
            _ => None,
        }
    }
}

impl Sides<super::payload::LaunchRoleState> {
    /// The account the role is in: its id, or the account created earlier in the same apply.
    pub fn account(&self) -> Ref {
        let s = self.subject();
        Ref::of("account_id", s.account_id.as_ref(), Address::account(&s.account))
    }
}

/// What apply reads of a `service_access` change: nothing but that it is one.
#[derive(Debug, Clone, Default)]
pub struct ServiceAccessFields {
    pub service: String,
}

impl View for ServiceAccessFields {
    fn view(p: &Payload) -> Option<Self> {
        match p {
            Payload::ServiceAccess(a) => Some(ServiceAccessFields { service: a.service.clone() }),
            _ => None,
        }
    }
}

/// An `account_assignment` change is read as its payload.
impl View for super::payload::AssignmentState {
    fn view(p: &Payload) -> Option<Self> {
        match p {
            Payload::Assignment(a) => Some(a.clone()),
            _ => None,
        }
    }
}

impl Sides<super::payload::AssignmentState> {
    /// The account assigned to: its id, or the account created earlier in the same apply.
    pub fn account(&self) -> Ref {
        let s = self.subject();
        Ref::of("account_id", s.account_id.as_ref(), Address::account(&s.account))
    }

    /// The permission set's ARN, or the managed permission set created earlier in the same apply.
    pub fn permission_set(&self) -> Ref {
        let s = self.subject();
        Ref::of(
            "permission_set_arn",
            s.permission_set_arn.as_ref(),
            Address::permission_set(&s.permission_set),
        )
    }
}

/// An `alternate_contact` change is read as its payload.
impl View for super::payload::ContactState {
    fn view(p: &Payload) -> Option<Self> {
        match p {
            Payload::Contact(c) => Some(c.clone()),
            _ => None,
        }
    }
}

impl Sides<super::payload::ContactState> {
    /// The account whose contact it is: its id, or the account created earlier in the same apply.
    pub fn account(&self) -> Ref {
        let s = self.subject();
        Ref::of("account_id", s.account_id.as_ref(), Address::account(&s.account))
    }
}

/// A `permission_set` change is read as its payload.
impl View for super::payload::PermissionSetState {
    fn view(p: &Payload) -> Option<Self> {
        match p {
            Payload::PermissionSet(p) => Some(p.clone()),
            _ => None,
        }
    }
}
