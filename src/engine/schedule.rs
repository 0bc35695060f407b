//! Which steps may be in flight together. The plan's order is a serial order that works; a
//! parallel apply may start step `i` before an earlier step `j` has finished only when the two
//! cannot interfere. Step `i` waits for `j < i` when:
//! - `i` depends on `j` (`depends_on`: ids created by `j`, replacements before removals, …);
//! - they hold a common entity (`holds`): two steps on one target keep their plan order (the
//!   5-SCP limit and the last-SCP rule count a target's attachments as they stand), as do OUs
//!   under one parent (a rename and a create of the same name);
//! - `i` launches or updates a provisioned pipeline and `j` changes the launch path it goes
//!   through (portfolio, its products, principals, shares, launch constraints, launch roles,
//!   versions, Service Catalog's Organizations access): Service Catalog checks the whole path at
//!   launch (a principal added in the same plan must be there first), and the plan names only
//!   some of those links in `depends_on`;
//! - `i` takes something away (the plan's removal phases: terminations, detachments of
//!   portfolio members, deletions of versions, products, portfolios, policies and OUs, account
//!   closure) and `j` belongs to an earlier phase: a removal relies on everything before it
//!   (an OU is empty only once the moves out of it are done, a policy is detached everywhere
//!   only once the detachments are), so it waits for the whole earlier flow.
//!
//! Besides, CreateAccount steps hold one of the organization's account-creation slots while
//! they run (`Options::max_account_creations`) — a creation an interrupted apply left in
//! progress holds its slot from the start, since AWS counts it whether or not its step has
//! started — and each call waits for the Organizations
//! entities it writes (`port::Op::entities`, `engine::shared::Calls`). With parallelism 1 the
//! steps run exactly in plan order.

use crate::plan::apply_view::{AccountFields, AttachmentFields, ProductFields, Sides, VersionFields};
use crate::plan::{Action, Change, Kind, phase};
use std::collections::{BTreeMap, BTreeSet};

/// The first phase of the plan's removal flow (see `plan::order`): changes in it or later that
/// take something away wait for every earlier change of a lower phase.
const REMOVALS_FROM: u8 = 12;

/// The entities a step holds for its whole run, beyond its own address: an SCP attachment its
/// target; an OU the sets of its parent's children and of its own.
pub fn holds(c: &Change) -> Vec<String> {
    let mut out = vec![c.address.to_string()];
    match c.kind {
        Kind::PolicyAttachment => {
            if let Ok(p) = Sides::<AttachmentFields>::of(c)
                && let Some(target) = &p.subject().target
            {
                out.push(target.clone());
            }
        }
        Kind::Ou => {
            let path = c.address.key();
            let parent = path.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
            out.push(format!("children-of:{parent}"));
            // …and its own children: a parent is deleted only after its children are.
            out.push(format!("children-of:{path}"));
        }
        // IAM Identity Center updates one permission set role in an account at a time
        // ("Number of IAM roles (permission sets) in the AWS account that can be updated at a
        // time: 1", IAM Identity Center user guide, Quotas): one assignment request per account
        // in flight.
        Kind::AccountAssignment => {
            let account = c.address.key().split('/').next().unwrap_or_default();
            out.push(format!("access-of:{account}"));
        }
        _ => {}
    }
    out
}

/// Does this change alter what a launch goes through (and not take it away: removals come after
/// the launches anyway)?
fn changes_launch_path(c: &Change) -> bool {
    matches!(
        c.kind,
        Kind::Portfolio
            | Kind::Product
            | Kind::ProductVersion
            | Kind::PortfolioProduct
            | Kind::PortfolioPrincipal
            | Kind::PortfolioShare
            | Kind::LaunchConstraint
            | Kind::LaunchRole
            | Kind::ServiceAccess
    ) && c.action != Action::Delete
}

/// Does this step create an account (and so hold an account-creation slot)?
pub fn creates_account(c: &Change) -> bool {
    c.kind == Kind::Account && c.action == Action::Create
}

/// Does this step resume an account creation already in progress in AWS (sent by an earlier,
/// interrupted apply, found in the state by the planner)? Its request holds one of AWS's
/// creation slots from the start of the apply, whether the step has started or not.
pub fn resumes_creation(c: &Change) -> bool {
    resumed_request(c).is_some()
}

/// The creation request (`car-…`) this step resumes, if it resumes one (see [`resumes_creation`]).
pub fn resumed_request(c: &Change) -> Option<String> {
    if !creates_account(c) {
        return None;
    }
    Sides::<AccountFields>::of(c).ok().and_then(|p| p.after.create_account_request_id)
}

/// For each step (by index into `changes`), the earlier steps it must wait for, beyond the
/// removal barrier (see [`Schedule::barrier`]).
pub struct Schedule {
    pub after: Vec<Vec<usize>>,
    /// The step's phase, when it is a removal that waits for every earlier lower phase.
    pub barrier: Vec<Option<u8>>,
    pub phase: Vec<u8>,
    pub creates_account: Vec<bool>,
    /// Creates an account whose CreateAccount an earlier apply sent (see [`resumes_creation`]).
    pub resumes_creation: Vec<bool>,
}

impl Schedule {
    pub fn of(changes: &[&Change]) -> Schedule {
        let index: BTreeMap<String, usize> =
            changes.iter().enumerate().map(|(i, c)| (c.address.to_string(), i)).collect();
        let mut last_holder: BTreeMap<String, usize> = BTreeMap::new();
        let mut launch_path: Vec<usize> = vec![];
        let mut after = Vec::with_capacity(changes.len());
        let mut barrier = Vec::with_capacity(changes.len());
        let mut phases = Vec::with_capacity(changes.len());
        for (i, c) in changes.iter().enumerate() {
            let mut wait: BTreeSet<usize> = c
                .depends_on
                .iter()
                .filter_map(|d| index.get(d.as_str()).copied())
                .filter(|&j| j < i)
                .collect();
            for key in holds(c) {
                if let Some(j) = last_holder.insert(key, i) {
                    wait.insert(j);
                }
            }
            if c.kind == Kind::ProvisionedPipeline && c.action != Action::Delete {
                wait.extend(launch_path.iter().copied());
            }
            if changes_launch_path(c) {
                launch_path.push(i);
            }
            let p = phase(c.kind, c.action);
            let removal = p >= REMOVALS_FROM
                && matches!(c.action, Action::Delete | Action::Close | Action::Replace | Action::Deprecate);
            barrier.push(removal.then_some(p));
            phases.push(p);
            after.push(wait.into_iter().collect());
        }
        Schedule {
            after,
            barrier,
            phase: phases,
            creates_account: changes.iter().map(|c| creates_account(c)).collect(),
            resumes_creation: changes.iter().map(|c| resumes_creation(c)).collect(),
        }
    }
}

/// Product name -> the plan's first version change of each product the plan creates (AWS
/// creates a product together with its first version).
pub fn first_versions(changes: &[&Change]) -> BTreeMap<String, Change> {
    let new_products: Vec<String> = changes
        .iter()
        .filter(|c| c.kind == Kind::Product && c.action == Action::Create)
        .filter_map(|c| Sides::<ProductFields>::of(c).ok().and_then(|p| p.after.name))
        .collect();
    let mut first_version = BTreeMap::new();
    for c in changes.iter().filter(|c| c.kind == Kind::ProductVersion && c.action == Action::Create) {
        if let Some(product) = Sides::<VersionFields>::of(c).ok().and_then(|p| p.after.product)
            && new_products.contains(&product)
        {
            first_version.entry(product).or_insert_with(|| (*c).clone());
        }
    }
    first_version
}
