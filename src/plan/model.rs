//! The plan as data (DESIGN §4, plan JSON format v1): `Plan`, `Change`, `Action`, `Kind`,
//! `Summary`, `Basis`. Its serde form is the contract that `vend plan --json`, saved plan files
//! and `vend show FILE` share.

use crate::model::{Diagnostic, sha256_prefixed};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

pub const FORMAT_VERSION: &str = "1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Move,
    Replace,
    Delete,
    Close,
    Adopt,
    Deprecate,
    Repair,
}

impl Action {
    pub const ALL: [Action; 9] = [
        Action::Create,
        Action::Update,
        Action::Move,
        Action::Replace,
        Action::Delete,
        Action::Close,
        Action::Adopt,
        Action::Deprecate,
        Action::Repair,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Move => "move",
            Action::Replace => "replace",
            Action::Delete => "delete",
            Action::Close => "close",
            Action::Adopt => "adopt",
            Action::Deprecate => "deprecate",
            Action::Repair => "repair",
        }
    }

    /// Does applying this change destroy something that cannot be brought back as it was?
    pub fn is_destructive(self) -> bool {
        matches!(self, Action::Delete | Action::Close | Action::Replace)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
}

impl Kind {
    pub const ALL: [Kind; 13] = [
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
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One planned change. `before`/`after` are the resource as in the snapshot (plus the
/// display-and-apply fields documented in the README), or null.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub address: String,
    pub kind: Kind,
    pub action: Action,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub depends_on: Vec<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    #[serde(rename = "move")]
    pub move_: usize,
    pub replace: usize,
    pub delete: usize,
    pub close: usize,
    pub adopt: usize,
    pub deprecate: usize,
    pub repair: usize,
}

impl Summary {
    pub fn of(changes: &[Change]) -> Summary {
        let mut s = Summary::default();
        for c in changes {
            *s.slot(c.action) += 1;
        }
        s
    }

    fn slot(&mut self, a: Action) -> &mut usize {
        match a {
            Action::Create => &mut self.create,
            Action::Update => &mut self.update,
            Action::Move => &mut self.move_,
            Action::Replace => &mut self.replace,
            Action::Delete => &mut self.delete,
            Action::Close => &mut self.close,
            Action::Adopt => &mut self.adopt,
            Action::Deprecate => &mut self.deprecate,
            Action::Repair => &mut self.repair,
        }
    }

    pub fn get(&self, a: Action) -> usize {
        let mut copy = self.clone();
        *copy.slot(a)
    }

    pub fn total(&self) -> usize {
        Action::ALL.iter().map(|a| self.get(*a)).sum()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Basis {
    pub state: String,
    pub workspace: String,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: String,
    pub plan_id: String,
    pub created_at: String,
    pub basis: Basis,
    pub applyable: bool,
    pub summary: Summary,
    pub changes: Vec<Change>,
    pub diagnostics: Vec<Diagnostic>,
    /// Effective-policy preview: accounts whose effective SCP set or OU the plan changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_policies: Option<Vec<super::EffectivePolicy>>,
    /// Addresses the workspace asks for that need no change (only with `--show-unchanged`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unchanged: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvals: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded: Option<Value>,
    /// Who saved the plan (`vend plan --out` when approvals are required): operator key and a
    /// signature of `plan_id` by it (see `plan::approval`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<super::approval::Author>,
}

impl Plan {
    /// Assemble a plan: summary, id and applyability follow from the parts.
    pub fn new(basis: Basis, changes: Vec<Change>, diagnostics: Vec<Diagnostic>) -> Plan {
        let mut plan = Plan {
            format_version: FORMAT_VERSION.to_string(),
            plan_id: String::new(),
            created_at: String::new(),
            basis,
            applyable: true,
            summary: Summary::of(&changes),
            changes,
            diagnostics,
            effective_policies: None,
            unchanged: None,
            approvals: None,
            excluded: None,
            author: None,
        };
        plan.plan_id = plan.compute_id();
        plan.applyable = !plan.diagnostics.iter().any(Diagnostic::is_error);
        plan
    }

    /// `sha256:` of the canonical JSON of basis + changes.
    pub fn compute_id(&self) -> String {
        let doc = serde_json::json!({ "basis": self.basis, "changes": self.changes });
        sha256_prefixed(doc.to_string().as_bytes())
    }

    /// Put workspace (load-stage) diagnostics in front of the plan's own.
    pub fn with_diagnostics(mut self, mut first: Vec<Diagnostic>) -> Plan {
        first.append(&mut self.diagnostics);
        self.diagnostics = first;
        self.applyable = !self.diagnostics.iter().any(Diagnostic::is_error);
        self
    }

    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    pub fn change(&self, address: &str) -> Option<&Change> {
        self.changes.iter().find(|c| c.address == address)
    }
}
