//! The `Address` of a planned resource, `<kind>:<key>` (ARCHITECTURE "Addresses"), and the
//! closed list of resource `Kind`s. Addresses are built by the typed constructors here and
//! taken apart only by the accessors here; nobody else formats or splits `kind:key`. They order
//! as their text (plans sort dependencies and ties by address), and serialize as that text.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Borrow;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    PolicyType,
    Ou,
    Account,
    Policy,
    PolicyAttachment,
    Portfolio,
    Product,
    ProductVersion,
    PortfolioProduct,
    PortfolioPrincipal,
    PortfolioShare,
    LaunchConstraint,
    ProvisionedPipeline,
    /// Service Catalog's AWS Organizations access (issue 14): `service_access:servicecatalog`.
    ServiceAccess,
    /// The S3 bucket product templates are uploaded to: `template_bucket:<bucket name>`.
    TemplateBucket,
    /// A launch constraint's role in one account: `launch_role:<account name>/<role name>`.
    LaunchRole,
    /// An IAM Identity Center account assignment (issue 18):
    /// `account_assignment:<account name>/<group>/<permission set>`.
    AccountAssignment,
    /// An account's alternate contact (issue 18): `alternate_contact:<account name>/<type>`,
    /// the type `billing`, `operations` or `security`.
    AlternateContact,
    /// An IAM Identity Center permission set vend manages (issue 18,
    /// `catalog/permission_sets/<name>.yaml`): `permission_set:<name>`.
    PermissionSet,
}

impl Kind {
    pub const ALL: [Kind; 19] = [
        Kind::PolicyType,
        Kind::Ou,
        Kind::Account,
        Kind::Policy,
        Kind::PolicyAttachment,
        Kind::Portfolio,
        Kind::Product,
        Kind::ProductVersion,
        Kind::PortfolioProduct,
        Kind::PortfolioPrincipal,
        Kind::PortfolioShare,
        Kind::LaunchConstraint,
        Kind::ProvisionedPipeline,
        Kind::ServiceAccess,
        Kind::TemplateBucket,
        Kind::LaunchRole,
        Kind::AccountAssignment,
        Kind::AlternateContact,
        Kind::PermissionSet,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::PolicyType => "policy_type",
            Kind::Ou => "ou",
            Kind::Account => "account",
            Kind::Policy => "policy",
            Kind::PolicyAttachment => "policy_attachment",
            Kind::Portfolio => "portfolio",
            Kind::Product => "product",
            Kind::ProductVersion => "product_version",
            Kind::PortfolioProduct => "portfolio_product",
            Kind::PortfolioPrincipal => "portfolio_principal",
            Kind::PortfolioShare => "portfolio_share",
            Kind::LaunchConstraint => "launch_constraint",
            Kind::ProvisionedPipeline => "provisioned_pipeline",
            Kind::ServiceAccess => "service_access",
            Kind::TemplateBucket => "template_bucket",
            Kind::LaunchRole => "launch_role",
            Kind::AccountAssignment => "account_assignment",
            Kind::AlternateContact => "alternate_contact",
            Kind::PermissionSet => "permission_set",
        }
    }

    /// Heading used when a plan is shown grouped by kind.
    pub fn title(self) -> &'static str {
        match self {
            Kind::PolicyType => "Policy types",
            Kind::Ou => "Organizational units",
            Kind::Account => "Accounts",
            Kind::Policy => "Service control policies",
            Kind::PolicyAttachment => "SCP attachments",
            Kind::Portfolio => "Portfolios",
            Kind::Product => "Products",
            Kind::ProductVersion => "Product versions",
            Kind::PortfolioProduct => "Portfolio products",
            Kind::PortfolioPrincipal => "Portfolio principals",
            Kind::PortfolioShare => "Portfolio shares",
            Kind::LaunchConstraint => "Launch constraints",
            Kind::ProvisionedPipeline => "Provisioned pipelines",
            Kind::ServiceAccess => "Service access",
            Kind::TemplateBucket => "Template buckets",
            Kind::LaunchRole => "Launch roles",
            Kind::AccountAssignment => "Account access (Identity Center)",
            Kind::AlternateContact => "Alternate contacts",
            Kind::PermissionSet => "Permission sets (Identity Center)",
        }
    }

    fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `<kind>:<key>`. Equality, hashing and order are those of the text.
#[derive(Debug, Clone)]
pub struct Address {
    kind: Kind,
    text: String,
}

/// What an SCP is attached to: `root`, `ou:PATH` or `account:NAME` (or, for a target the
/// state does not name, its bare id).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    Root,
    Node(Address),
    Id(String),
}

impl Target {
    pub fn ou(path: &str) -> Target {
        Target::Node(Address::ou(path))
    }

    pub fn account(name: &str) -> Target {
        Target::Node(Address::account(name))
    }

    /// The address of the target, when it is a planned resource (an OU or an account).
    pub fn address(&self) -> Option<&Address> {
        match self {
            Target::Node(a) => Some(a),
            Target::Root | Target::Id(_) => None,
        }
    }

    fn parse(s: &str) -> Target {
        match s {
            "root" => Target::Root,
            _ => match Address::parse(s) {
                Ok(a) => Target::Node(a),
                Err(_) => Target::Id(s.to_string()),
            },
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Root => f.write_str("root"),
            Target::Node(a) => f.write_str(a.as_str()),
            Target::Id(id) => f.write_str(id),
        }
    }
}

impl Serialize for Target {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Target, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Target::parse(&s))
    }
}

impl Address {
    /// The address of `kind` with `key`.
    pub fn new(kind: Kind, key: &str) -> Address {
        let mut text = String::with_capacity(kind.as_str().len() + 1 + key.len());
        text.push_str(kind.as_str());
        text.push(':');
        text.push_str(key);
        Address { kind, text }
    }

    pub fn parse(s: &str) -> Result<Address, String> {
        let (kind, _) = s.split_once(':').ok_or_else(|| format!("address {s:?} is not <kind>:<key>"))?;
        let kind = Kind::parse(kind).ok_or_else(|| format!("address {s:?} has an unknown kind"))?;
        Ok(Address { kind, text: s.to_string() })
    }

    pub fn policy_type(policy_type: &str) -> Address {
        Address::new(Kind::PolicyType, policy_type)
    }

    /// `service` is the short service name (`servicecatalog`).
    pub fn service_access(service: &str) -> Address {
        Address::new(Kind::ServiceAccess, service)
    }

    pub fn template_bucket(name: &str) -> Address {
        Address::new(Kind::TemplateBucket, name)
    }

    /// `account` is the account's name (as the workspace knows it), `role` the role's.
    pub fn launch_role(account: &str, role: &str) -> Address {
        Address::new(Kind::LaunchRole, &format!("{account}/{role}"))
    }

    /// `account` is the account's name (as the workspace knows it), `group` the Identity
    /// Center group's display name, `permission_set` the permission set's name.
    pub fn account_assignment(account: &str, group: &str, permission_set: &str) -> Address {
        Address::new(Kind::AccountAssignment, &format!("{account}/{group}/{permission_set}"))
    }

    /// An Identity Center permission set vend manages, by name.
    pub fn permission_set(name: &str) -> Address {
        Address::new(Kind::PermissionSet, name)
    }

    /// `contact_type` lower case: `billing`, `operations` or `security`.
    pub fn alternate_contact(account: &str, contact_type: &str) -> Address {
        Address::new(Kind::AlternateContact, &format!("{account}/{}", contact_type.to_ascii_lowercase()))
    }

    pub fn ou(path: &str) -> Address {
        Address::new(Kind::Ou, path)
    }

    pub fn account(name: &str) -> Address {
        Address::new(Kind::Account, name)
    }

    pub fn policy(name: &str) -> Address {
        Address::new(Kind::Policy, name)
    }

    pub fn policy_attachment(policy: &str, target: &Target) -> Address {
        Address::new(Kind::PolicyAttachment, &format!("{policy}@{target}"))
    }

    pub fn portfolio(name: &str) -> Address {
        Address::new(Kind::Portfolio, name)
    }

    pub fn product(name: &str) -> Address {
        Address::new(Kind::Product, name)
    }

    pub fn product_version(product: &str, version: &str) -> Address {
        Address::new(Kind::ProductVersion, &format!("{product}@{version}"))
    }

    pub fn portfolio_product(portfolio: &str, product: &str) -> Address {
        Address::new(Kind::PortfolioProduct, &format!("{portfolio}/{product}"))
    }

    pub fn portfolio_principal(portfolio: &str, arn: &str) -> Address {
        Address::new(Kind::PortfolioPrincipal, &format!("{portfolio}/{arn}"))
    }

    /// `share` is `organization`, `ou:PATH` or `account:NAME` ([`ShareKey`]).
    pub fn portfolio_share(portfolio: &str, share: &str) -> Address {
        Address::new(Kind::PortfolioShare, &format!("{portfolio}/{share}"))
    }

    pub fn launch_constraint(portfolio: &str, product: &str) -> Address {
        Address::new(Kind::LaunchConstraint, &format!("{portfolio}/{product}"))
    }

    pub fn provisioned_pipeline(account: &str, name: &str) -> Address {
        Address::new(Kind::ProvisionedPipeline, &format!("{account}/{name}"))
    }

    /// A pipeline by its request key `account/name`.
    pub fn pipeline_key(key: &str) -> Address {
        Address::new(Kind::ProvisionedPipeline, key)
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Everything after `<kind>:`.
    pub fn key(&self) -> &str {
        &self.text[self.kind.as_str().len() + 1..]
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The portfolio or product an address lives under: the part of the key before the first
    /// `/` or `@` (`portfolio_share:p/ou:X` -> `p`, `product_version:p@v` -> `p`).
    pub fn scope(&self) -> &str {
        self.key().split(['/', '@']).next().unwrap_or("")
    }

    /// A policy attachment's policy and target.
    pub fn attachment(&self) -> Option<(&str, Target)> {
        if self.kind != Kind::PolicyAttachment {
            return None;
        }
        self.key().split_once('@').map(|(p, t)| (p, Target::parse(t)))
    }

    /// A product version's product and version.
    pub fn version_of(&self) -> Option<(&str, &str)> {
        if self.kind != Kind::ProductVersion {
            return None;
        }
        self.key().rsplit_once('@')
    }
}

/// The share fragment of a `portfolio_share` address: `organization`, `ou:PATH`, `account:NAME`
/// (or `<type>:<id>` for a share type vend does not know).
pub struct ShareKey;

impl ShareKey {
    pub fn organization() -> String {
        "organization".into()
    }

    pub fn ou(path: &str) -> String {
        Address::ou(path).text
    }

    pub fn account(name: &str) -> String {
        Address::account(name).text
    }

    pub fn other(share_type: &str, value: &str) -> String {
        format!("{}:{value}", share_type.to_ascii_lowercase())
    }

    /// The OU path of an `ou:PATH` fragment.
    pub fn ou_path(key: &str) -> Option<&str> {
        Address::parse(key).ok().filter(|a| a.kind == Kind::Ou).map(|a| &key[a.kind.as_str().len() + 1..])
    }
}

impl PartialEq for Address {
    fn eq(&self, other: &Address) -> bool {
        self.text == other.text
    }
}

impl Eq for Address {}

impl PartialOrd for Address {
    fn partial_cmp(&self, other: &Address) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Address {
    fn cmp(&self, other: &Address) -> std::cmp::Ordering {
        self.text.cmp(&other.text)
    }
}

impl std::hash::Hash for Address {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.text.hash(h);
    }
}

impl PartialEq<str> for Address {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

impl PartialEq<&str> for Address {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl PartialEq<String> for Address {
    fn eq(&self, other: &String) -> bool {
        &self.text == other
    }
}

impl PartialEq<Address> for str {
    fn eq(&self, other: &Address) -> bool {
        self == other.text
    }
}

impl PartialEq<Address> for &str {
    fn eq(&self, other: &Address) -> bool {
        *self == other.text
    }
}

impl PartialEq<Address> for String {
    fn eq(&self, other: &Address) -> bool {
        *self == other.text
    }
}

impl Borrow<str> for Address {
    fn borrow(&self) -> &str {
        &self.text
    }
}

impl AsRef<str> for Address {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl std::ops::Deref for Address {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<Address> for String {
    fn from(a: Address) -> String {
        a.text
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Address, D::Error> {
        let s = String::deserialize(d)?;
        Address::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_build_parse_and_order_as_their_text() {
        let a = Address::policy_attachment("guard", &Target::ou("Workloads/prod"));
        assert_eq!(a.as_str(), "policy_attachment:guard@ou:Workloads/prod");
        assert_eq!(a.kind(), Kind::PolicyAttachment);
        assert_eq!(a.attachment(), Some(("guard", Target::ou("Workloads/prod"))));
        assert_eq!(Address::parse(a.as_str()), Ok(a.clone()));
        let s = Address::portfolio_share("p", &ShareKey::account("x"));
        assert_eq!(s.as_str(), "portfolio_share:p/account:x");
        assert_eq!(s.scope(), "p");
        assert_eq!(Address::product_version("prod", "v1").version_of(), Some(("prod", "v1")));
        let mut v = [Address::ou("b"), Address::account("z"), Address::ou("a/b")];
        v.sort();
        let text: Vec<&str> = v.iter().map(Address::as_str).collect();
        assert_eq!(text, ["account:z", "ou:a/b", "ou:b"]);
        assert!(Address::parse("nope").is_err());
        assert!(Address::parse("thing:x").is_err());
    }
}
