//! One change -> the AWS operations that carry it out, with intent/outcome records around every
//! write, polling of asynchronous requests, retries, and resolution of ids created earlier in
//! the same apply (a `null` id in a change is looked up by the address it refers to).

use super::shared::{Calls, SharedAudit, SharedIds};
use super::{EngineEvent, Options};
use crate::model::{Tags, sha256_hex};
use crate::plan::apply_view::*;
use crate::plan::{Action, Address, Change, Kind, Payload};
use crate::port::{
    AuditError, AuditEvent, Call, Clock, CloudError, Completed, ErrorKind, Event, Intent, Op, Outcome,
    OutcomeDetail,
};
use std::collections::BTreeMap;

/// A step's own failure (a message), or the audit log failing (which stops everything).
pub type StepResult = Result<Result<(), String>, AuditError>;

pub struct Run<'c, 'r> {
    plan_id: &'r str,
    cloud: &'r Calls<'r>,
    audit: &'r SharedAudit<'r>,
    clock: &'r dyn Clock,
    options: &'r Options,
    on_event: &'c dyn Fn(EngineEvent),
    ids: &'r SharedIds,
    /// Jitter state (deterministic: derived from the plan id and the step's address).
    jitter: u64,
    first_version: &'r BTreeMap<String, Change>,
}

/// What every step of one apply shares (see `engine::shared`).
pub struct Context<'r> {
    pub plan_id: &'r str,
    pub cloud: &'r Calls<'r>,
    pub audit: &'r SharedAudit<'r>,
    pub clock: &'r dyn Clock,
    pub options: &'r Options,
    pub ids: &'r SharedIds,
    /// Product name -> the plan's first version change of a product the plan creates.
    pub first_version: &'r BTreeMap<String, Change>,
}

/// Try `$e` (a `Result<T, String>`); on a step failure return it as the step's result.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(msg) => return Ok(Err(msg)),
        }
    };
}

mod access;
mod catalog;
mod launch_role;
mod permission_set;

/// What reconciliation found out about an ambiguous write.
enum Reconciled {
    /// It was carried out: this is its outcome.
    Done(Outcome),
    /// It was not: sending it again is safe.
    NotDone,
    /// vend cannot tell: stop (the next plan reconciles from the state).
    Unclear(String),
}

/// A write sent again after an ambiguous answer, refused because the first attempt had done it.
fn already_done(op: &Op, code: &str) -> bool {
    matches!(
        (op, code),
        (Op::AttachPolicy { .. }, "DuplicatePolicyAttachmentException")
            | (Op::DetachPolicy { .. }, "PolicyNotAttachedException")
            | (Op::DeleteOrganizationalUnit { .. }, "OrganizationalUnitNotFoundException")
            // The plan found no sibling of that name: after an ambiguous answer, a duplicate
            // name is the OU itself, renamed by the first attempt.
            | (Op::UpdateOrganizationalUnit { .. }, "DuplicateOrganizationalUnitException")
            | (Op::DeletePolicy { .. }, "PolicyNotFoundException")
            | (Op::EnablePolicyType { .. }, "PolicyTypeAlreadyEnabledException")
            | (Op::CloseAccount { .. }, "AccountAlreadyClosedException")
            | (Op::MoveAccount { .. }, "DuplicateAccountException")
            | (Op::CreateBucket { .. }, "BucketAlreadyOwnedByYou")
            | (Op::CreateRole { .. }, "EntityAlreadyExists")
            | (Op::DeleteRole { .. } | Op::DeleteRolePolicy { .. }, "NoSuchEntity")
            // The first request on the assignment is still in progress (AWS finishes it), or
            // already removed it; the contact is already gone.
            | (Op::CreateAccountAssignment { .. } | Op::DeleteAccountAssignment { .. }, "ConflictException")
            | (Op::DeleteAccountAssignment { .. } | Op::DeleteAlternateContact { .. }, "ResourceNotFoundException")
    )
}

fn missing(what: &str, change: &Change) -> String {
    format!("{}: the change has no {what} (a malformed plan?)", change.address)
}

impl<'c, 'r> Run<'c, 'r> {
    /// The step `c` of an apply, reporting through `on_event`.
    pub fn new(cx: &Context<'r>, c: &Change, on_event: &'c dyn Fn(EngineEvent)) -> Self {
        let seed = sha256_hex(format!("{}\0{}", cx.plan_id, c.address).as_bytes());
        let jitter = u64::from_str_radix(&seed[..12], 16).unwrap_or(7) | 1;
        Run {
            plan_id: cx.plan_id,
            cloud: cx.cloud,
            audit: cx.audit,
            clock: cx.clock,
            options: cx.options,
            on_event,
            ids: cx.ids,
            jitter,
            first_version: cx.first_version,
        }
    }

    /// The idempotency token of a change: derived from its address and desired content, so a
    /// fresh plan after an interrupted apply sends the same token (AWS-NOTES).
    fn token(change: &Change, part: &str) -> String {
        let content = change.after.as_ref().map(Payload::json_text).unwrap_or_default();
        sha256_hex(format!("{}\0{part}\0{content}", change.address).as_bytes())
    }

    fn backoff(&mut self, attempt: u32) -> u64 {
        // xorshift jitter: full jitter over an exponential cap.
        self.jitter ^= self.jitter << 13;
        self.jitter ^= self.jitter >> 7;
        self.jitter ^= self.jitter << 17;
        let cap = self.options.backoff_ms.saturating_mul(1 << attempt.min(10));
        cap / 2 + self.jitter % (cap / 2 + 1)
    }

    /// Perform one operation: intent record, call (with retries where safe), outcome record.
    fn call(&mut self, change: &Change, op: Op) -> Result<Result<Outcome, String>, AuditError> {
        let name = op.name();
        let write = !op.is_read();
        if write {
            // A create carries its request's time: delivery metrics measure lead time from it.
            let requested_at = change.requested_at();
            self.audit.append(AuditEvent {
                plan_id: self.plan_id.to_string(),
                address: change.address.to_string(),
                event: Event::Intent(Intent {
                    action: Some(change.action),
                    call: Some(Call::Op(op.clone())),
                    requested_at,
                }),
            })?;
        }
        let mut attempt = 1;
        let mut ambiguous = false;
        let result = loop {
            let err = match self.cloud.call(&op) {
                Ok(out) => break Ok(out),
                Err(e) => e,
            };
            if ambiguous && err.kind == ErrorKind::Hard && already_done(&op, &err.code) {
                // The earlier attempt did go through: AWS refuses to do it twice.
                break Ok(Outcome { request_id: format!("reconciled:{}", err.code), ..Outcome::default() });
            }
            if err.kind == ErrorKind::Hard {
                break Err(Failure::Refused(err));
            }
            if attempt >= self.options.max_attempts {
                // The retry budget is spent: say so, with the last error (never a silent stop).
                break Err(Failure::GaveUp(err));
            }
            if err.kind == ErrorKind::Unknown {
                ambiguous = true;
                // CreateAccount has no idempotency token and MoveAccount is not idempotent:
                // find out what happened before sending them again.
                match self.reconcile(change, &op)? {
                    Reconciled::Done(out) => break Ok(out),
                    Reconciled::NotDone => {}
                    Reconciled::Unclear(why) => {
                        break Err(Failure::Unclear(CloudError {
                            message: format!("{}; {why}", err.message),
                            ..err
                        }));
                    }
                }
            }
            (self.on_event)(EngineEvent::Retrying {
                address: change.address.to_string(),
                op: name.clone(),
                attempt,
                error: err.to_string(),
            });
            let wait = self.backoff(attempt);
            self.clock.sleep(wait);
            attempt += 1;
        };
        if write {
            let detail = match &result {
                Ok(out) => OutcomeDetail::succeeded(name.clone(), out),
                Err(f) => {
                    OutcomeDetail::failed(name.clone(), f.error(), attempt, matches!(f, Failure::GaveUp(_)))
                }
            };
            self.audit.append(AuditEvent {
                plan_id: self.plan_id.to_string(),
                address: change.address.to_string(),
                event: Event::Outcome(detail),
            })?;
        }
        Ok(match result {
            Ok(out) => {
                (self.on_event)(EngineEvent::Called {
                    address: change.address.to_string(),
                    op: name,
                    request_id: out.request_id.clone(),
                });
                Ok(out)
            }
            Err(f) => Err(describe(&change.address, &name, &f, attempt)),
        })
    }

    /// A read the engine makes to settle an ambiguous write (reads are safe to repeat): retried
    /// like any call while AWS turns it away or fails, within the same attempt budget. The
    /// error, when the budget is spent, says how many attempts were made.
    fn read_with_retries(&mut self, change: &Change, op: &Op) -> Result<Outcome, String> {
        let mut attempt = 1;
        loop {
            match self.cloud.call(op) {
                Ok(out) => return Ok(out),
                Err(e) if e.kind == ErrorKind::Hard => return Err(e.to_string()),
                Err(e) if attempt >= self.options.max_attempts => {
                    return Err(format!("{} gave up after {attempt} attempts: {e}", op.name()));
                }
                Err(e) => {
                    (self.on_event)(EngineEvent::Retrying {
                        address: change.address.to_string(),
                        op: op.name(),
                        attempt,
                        error: e.to_string(),
                    });
                    let wait = self.backoff(attempt);
                    self.clock.sleep(wait);
                    attempt += 1;
                }
            }
        }
    }

    /// After an ambiguous answer to a write that must not be repeated blindly: did it happen?
    fn reconcile(&mut self, change: &Change, op: &Op) -> Result<Reconciled, AuditError> {
        Ok(match op {
            Op::CreateAccount { name, email, .. } => {
                let find = Op::FindCreateAccount { name: name.clone(), email: email.clone() };
                match self.read_with_retries(change, &find) {
                    Ok(Outcome { id: Some(car), request_id, .. }) => Reconciled::Done(Outcome {
                        request_id: format!("reconciled:{request_id}"),
                        id: Some(car),
                        ..Outcome::default()
                    }),
                    Ok(_) => Reconciled::NotDone,
                    Err(e) => Reconciled::Unclear(format!("cannot tell whether it was carried out: {e}")),
                }
            }
            Op::MoveAccount { account_id, source_parent_id, destination_parent_id } => {
                match self.read_with_retries(change, &Op::ListParents { child_id: account_id.clone() }) {
                    Ok(Outcome { id: Some(p), request_id, .. }) if &p == destination_parent_id => {
                        Reconciled::Done(Outcome {
                            request_id: format!("reconciled:{request_id}"),
                            ..Outcome::default()
                        })
                    }
                    Ok(Outcome { id: Some(p), .. }) if &p == source_parent_id => Reconciled::NotDone,
                    Ok(Outcome { id, .. }) => Reconciled::Unclear(format!(
                        "account {account_id} is now under {} (neither source nor destination)",
                        id.unwrap_or_default()
                    )),
                    Err(e) => Reconciled::Unclear(format!("cannot tell whether it was carried out: {e}")),
                }
            }
            // Everything else is safe to send again: Service Catalog writes carry idempotency
            // tokens, and a repeated Organizations write is refused (`already_done`).
            _ => Reconciled::NotDone,
        })
    }

    /// Poll an asynchronous request until it leaves its in-progress states.
    fn poll(
        &mut self,
        change: &Change,
        op: Op,
        pending: &[&str],
    ) -> Result<Result<Outcome, String>, AuditError> {
        for _ in 0..self.options.max_polls {
            let out = tri!(self.call(change, op.clone())?);
            let status = out.status.clone().unwrap_or_default();
            (self.on_event)(EngineEvent::Polled {
                address: change.address.to_string(),
                status: status.clone(),
            });
            if !pending.contains(&status.as_str()) {
                self.audit.append(AuditEvent {
                    plan_id: self.plan_id.to_string(),
                    address: change.address.to_string(),
                    event: Event::Completed(Completed {
                        op: Some(op.name()),
                        status: Some(status),
                        result: out.result.clone(),
                    }),
                })?;
                return Ok(Ok(out));
            }
            self.clock.sleep(self.options.poll_interval_ms);
        }
        Ok(Err(format!(
            "{}: still in progress after {} polls; plan again later to resume",
            change.address, self.options.max_polls
        )))
    }

    /// The id a [`Ref`] stands for: known, or created earlier in this apply.
    fn resolve(&self, c: &Change, r: Ref) -> Result<String, String> {
        match r {
            Ref::Known(id) => Ok(id),
            Ref::Pending { field, by } => self
                .ids
                .get(&by)
                .ok_or_else(|| format!("{}: {field} of {by} is not known (was it created?)", c.address)),
        }
    }

    pub fn step(&mut self, c: &Change) -> StepResult {
        use Action::*;
        use Kind::*;
        match (c.kind, c.action) {
            (PolicyType, Create) => {
                let p: Sides<PolicyTypeFields> = tri!(Sides::of(c));
                let root_id = tri!(p.after.root_id.clone().ok_or_else(|| missing("root_id", c)));
                let policy_type =
                    p.after.policy_type.clone().unwrap_or_else(|| "SERVICE_CONTROL_POLICY".into());
                tri!(self.call(c, Op::EnablePolicyType { root_id, policy_type })?);
            }
            (Ou, Create) => {
                let p: Sides<OuFields> = tri!(Sides::of(c));
                let parent_id = tri!(self.resolve(c, p.parent()));
                let name = tri!(p.after.name.clone().ok_or_else(|| missing("name", c)));
                let tags = p.after.tags.clone();
                let out = tri!(self.call(c, Op::CreateOrganizationalUnit { parent_id, name, tags })?);
                self.remember(c, out.id);
            }
            (Ou, Rename) => {
                let p: Sides<OuFields> = tri!(Sides::of(c));
                let ou_id = tri!(self.resolve(c, own_id(c, &p.after.id, &p.before.id)));
                let name = tri!(p.after.name.clone().ok_or_else(|| missing("name", c)));
                tri!(self.call(c, Op::UpdateOrganizationalUnit { ou_id: ou_id.clone(), name })?);
                // A rename that also takes the OU over (or retags it) sets its tags after.
                tri!(self.retag(c, &ou_id, tag_changes(&p.before.tags, &p.after.tags))?);
            }
            (Ou, Update | Adopt) => {
                let p: Sides<OuFields> = tri!(Sides::of(c));
                let id = tri!(self.resolve(c, own_id(c, &p.after.id, &p.before.id)));
                tri!(self.retag(c, &id, tag_changes(&p.before.tags, &p.after.tags))?);
            }
            (Account, Update | Adopt) => {
                let p: Sides<AccountFields> = tri!(Sides::of(c));
                let id = tri!(self.resolve(c, own_id(c, &p.after.id, &p.before.id)));
                tri!(self.retag(c, &id, tag_changes(&p.before.tags, &p.after.tags))?);
                tri!(self.move_account(c, &p, &id)?);
            }
            (Account, Move) => {
                let p: Sides<AccountFields> = tri!(Sides::of(c));
                let id = tri!(self.resolve(c, own_id(c, &p.after.id, &p.before.id)));
                tri!(self.move_account(c, &p, &id)?);
                tri!(self.retag(c, &id, tag_changes(&p.before.tags, &p.after.tags))?);
            }
            (Ou, Delete) => {
                let p: Sides<OuFields> = tri!(Sides::of(c));
                let ou_id = tri!(self.resolve(c, own_id(c, &p.after.id, &p.before.id)));
                tri!(self.call(c, Op::DeleteOrganizationalUnit { ou_id })?);
            }
            (Account, Create) => tri!(self.create_account(c)?),
            (Account, Close) => {
                let p: Sides<AccountFields> = tri!(Sides::of(c));
                let account_id = tri!(self.resolve(c, own_id(c, &p.after.id, &p.before.id)));
                tri!(self.call(c, Op::CloseAccount { account_id })?);
            }
            (Policy, Create) => {
                let p: Sides<PolicyFields> = tri!(Sides::of(c));
                let name = tri!(p.after.name.clone().ok_or_else(|| missing("name", c)));
                let content = tri!(p.after.content.clone().ok_or_else(|| missing("content", c)));
                let tags = p.after.tags.clone();
                let out = tri!(self.call(c, Op::CreatePolicy { name, content, tags })?);
                self.remember(c, out.id);
            }
            (Policy, Update) => {
                let p: Sides<PolicyFields> = tri!(Sides::of(c));
                let policy_id = tri!(self.resolve(c, own_id(c, &p.after.id, &p.before.id)));
                let content = tri!(p.after.content.clone().ok_or_else(|| missing("content", c)));
                tri!(self.call(c, Op::UpdatePolicy { policy_id, content })?);
            }
            (Policy, Adopt) => {
                // Tags on a policy: TagResource takes a policy id (API_TagResource).
                let p: Sides<PolicyFields> = tri!(Sides::of(c));
                let policy_id = tri!(self.resolve(c, own_id(c, &p.after.id, &p.before.id)));
                tri!(self.retag(c, &policy_id, tag_changes(&p.before.tags, &p.after.tags))?);
            }
            (Policy, Delete) => {
                let p: Sides<PolicyFields> = tri!(Sides::of(c));
                let policy_id = tri!(self.resolve(c, own_id(c, &p.after.id, &p.before.id)));
                tri!(self.call(c, Op::DeletePolicy { policy_id })?);
            }
            (PolicyAttachment, Create | Delete) => {
                let p: Sides<AttachmentFields> = tri!(Sides::of(c));
                let policy_id = tri!(self.resolve(c, p.policy()));
                let target = tri!(p.target().map_err(|e| format!("{}: {e}", c.address)));
                let target_id = tri!(self.resolve(c, target));
                let op = if c.action == Create {
                    Op::AttachPolicy { policy_id, target_id }
                } else {
                    Op::DetachPolicy { policy_id, target_id }
                };
                tri!(self.call(c, op)?);
            }
            (Product, Create) => tri!(self.create_product(c)?),
            (Product, Update | Adopt) => {
                let p: Sides<ProductFields> = tri!(Sides::of(c));
                let product_id = tri!(self.resolve(c, own_id(c, &p.after.id, &p.before.id)));
                let owner = p.after.owner.clone().unwrap_or_default();
                let tags = tag_changes(&p.before.tags, &p.after.tags);
                tri!(self.call(c, Op::UpdateProduct { product_id, owner, tags })?);
            }
            (Product, Delete) => {
                let p: Sides<ProductFields> = tri!(Sides::of(c));
                let product_id = tri!(self.resolve(c, own_id(c, &p.after.id, &p.before.id)));
                tri!(self.call(c, Op::DeleteProduct { product_id })?);
            }
            (ProductVersion, Create) => tri!(self.create_version(c)?),
            (ProductVersion, Update | Deprecate | Adopt) => {
                let p: Sides<VersionFields> = tri!(Sides::of(c));
                let product_id = tri!(self.resolve(c, p.product()));
                let artifact_id = tri!(self.resolve(c, own_id(c, &p.after.id, &p.before.id)));
                let guidance = p.after.guidance.clone().unwrap_or_else(|| "DEFAULT".into());
                let active = p.after.active.unwrap_or(true);
                // Adopting a version records vend's content hash in its description.
                let description = if c.action == Adopt { p.after.description.clone() } else { None };
                let op =
                    Op::UpdateProvisioningArtifact { product_id, artifact_id, active, guidance, description };
                tri!(self.call(c, op)?);
            }
            (ProductVersion, Delete) => {
                let p: Sides<VersionFields> = tri!(Sides::of(c));
                let product_id = tri!(self.resolve(c, p.product()));
                let artifact_id = tri!(self.resolve(c, own_id(c, &p.after.id, &p.before.id)));
                tri!(self.call(c, Op::DeleteProvisioningArtifact { product_id, artifact_id })?);
            }
            (Portfolio, Create) => {
                let p: Sides<PortfolioFields> = tri!(Sides::of(c));
                let op = Op::CreatePortfolio {
                    name: p.after.name.clone().unwrap_or_default(),
                    description: p.after.description.clone().unwrap_or_default(),
                    provider: p.after.provider.clone().unwrap_or_default(),
                    tags: p.after.tags.clone(),
                    token: Self::token(c, "portfolio"),
                };
                let out = tri!(self.call(c, op)?);
                self.remember(c, out.id);
            }
            (Portfolio, Update | Adopt) => {
                let p: Sides<PortfolioFields> = tri!(Sides::of(c));
                let portfolio_id = tri!(self.resolve(c, own_id(c, &p.after.id, &p.before.id)));
                let op = Op::UpdatePortfolio {
                    portfolio_id,
                    description: p.after.description.clone().unwrap_or_default(),
                    provider: p.after.provider.clone().unwrap_or_default(),
                    tags: tag_changes(&p.before.tags, &p.after.tags),
                };
                tri!(self.call(c, op)?);
            }
            (Portfolio, Delete) => {
                let p: Sides<PortfolioFields> = tri!(Sides::of(c));
                let portfolio_id = tri!(self.resolve(c, own_id(c, &p.after.id, &p.before.id)));
                tri!(self.call(c, Op::DeletePortfolio { portfolio_id })?);
            }
            (PortfolioProduct, Create | Delete) => {
                let p: Sides<MemberFields> = tri!(Sides::of(c));
                let (portfolio_id, product_id) = tri!(self.portfolio_and_product(c, &p));
                let op = if c.action == Create {
                    Op::AssociateProductWithPortfolio { product_id, portfolio_id }
                } else {
                    Op::DisassociateProductFromPortfolio { product_id, portfolio_id }
                };
                tri!(self.call(c, op)?);
            }
            (PortfolioPrincipal, Create | Delete) => {
                let p: Sides<MemberFields> = tri!(Sides::of(c));
                let portfolio_id = tri!(self.resolve(c, p.portfolio()));
                let side = p.subject();
                let arn = side.arn.clone().unwrap_or_default();
                let principal_type = side.member_type.clone().unwrap_or_else(|| "IAM_PATTERN".into());
                let op = if c.action == Create {
                    Op::AssociatePrincipalWithPortfolio { portfolio_id, arn, principal_type }
                } else {
                    Op::DisassociatePrincipalFromPortfolio { portfolio_id, arn, principal_type }
                };
                tri!(self.call(c, op)?);
            }
            (PortfolioShare, Create | Delete | Replace | Update) => {
                let p: Sides<MemberFields> = tri!(Sides::of(c));
                if matches!(c.action, Delete | Replace) {
                    tri!(self.share(c, &p, false)?);
                }
                if matches!(c.action, Create | Replace | Update) {
                    tri!(self.share(c, &p, true)?);
                }
            }
            (LaunchConstraint, Create | Delete | Replace) => {
                let p: Sides<MemberFields> = tri!(Sides::of(c));
                let (portfolio_id, product_id) = tri!(self.portfolio_and_product(c, &p));
                if matches!(c.action, Delete | Replace) {
                    let op = Op::DeleteConstraint {
                        portfolio_id: portfolio_id.clone(),
                        product_id: product_id.clone(),
                    };
                    tri!(self.call(c, op)?);
                }
                if matches!(c.action, Create | Replace) {
                    let local_role_name = p.after.local_role_name.clone().unwrap_or_default();
                    let token = Self::token(c, "constraint");
                    tri!(self.call(
                        c,
                        Op::CreateConstraint { portfolio_id, product_id, local_role_name, token }
                    )?);
                }
            }
            (ProvisionedPipeline, Create) => {
                let p: Sides<PipelineFields> = tri!(Sides::of(c));
                tri!(self.provision(c, &p)?)
            }
            (ProvisionedPipeline, Update | Repair) => {
                let p: Sides<PipelineFields> = tri!(Sides::of(c));
                let provisioned_product_id = tri!(self.resolve(c, own_id(c, &p.after.id, &p.before.id)));
                let artifact_id = tri!(self.pipeline_artifact(c, &p));
                let op = Op::UpdateProvisionedProduct {
                    provisioned_product_id,
                    artifact_id,
                    params: p.after.params.clone(),
                    token: Self::token(c, "update"),
                };
                let out = tri!(self.call(c, op)?);
                tri!(self.wait_record(c, out)?);
            }
            (ProvisionedPipeline, Replace | Delete) => {
                let p: Sides<PipelineFields> = tri!(Sides::of(c));
                let provisioned_product_id = tri!(p.before.id.clone().ok_or_else(|| missing("id", c)));
                let op = Op::TerminateProvisionedProduct {
                    provisioned_product_id,
                    token: Self::token(c, "terminate"),
                };
                let out = tri!(self.call(c, op)?);
                tri!(self.wait_record(c, out)?);
                if c.action == Replace {
                    tri!(self.provision(c, &p)?);
                }
            }
            (ServiceAccess, Create) if access::is_account_management(c) => return self.account_management(c),
            (ServiceAccess, Create) => {
                let _: Sides<ServiceAccessFields> = tri!(Sides::of(c));
                tri!(self.call(c, Op::EnableAwsOrganizationsAccess {})?);
                // Enabling is asynchronous on AWS (UNDER_CHANGE until done); shares wait for it.
                let done = tri!(self.poll(c, Op::GetAwsOrganizationsAccessStatus {}, &["UNDER_CHANGE"])?);
                if done.status.as_deref() != Some("ENABLED") {
                    return Ok(Err(format!(
                        "{}: Service Catalog's AWS Organizations access is {} after enabling it",
                        c.address,
                        done.status.unwrap_or_default()
                    )));
                }
            }
            (TemplateBucket, Create | Update) => {
                let p: Sides<crate::plan::payload::BucketState> = tri!(Sides::of(c));
                let (b, a) = (&p.before, &p.after);
                let bucket = a.name.clone();
                let create = c.action == Create;
                if create {
                    tri!(
                        self.call(c, Op::CreateBucket { bucket: bucket.clone(), region: a.region.clone() })?
                    );
                }
                // The ownership tag first: a bucket vend created carries it from its second call on.
                if create || a.tags != b.tags {
                    tri!(
                        self.call(c, Op::PutBucketTagging { bucket: bucket.clone(), tags: a.tags.clone() })?
                    );
                }
                if a.public_access_blocked && (create || !b.public_access_blocked) {
                    tri!(self.call(c, Op::PutPublicAccessBlock { bucket: bucket.clone() })?);
                }
                if create || a.encryption != b.encryption {
                    let algorithm = a.encryption.clone();
                    tri!(self.call(c, Op::PutBucketEncryption { bucket: bucket.clone(), algorithm })?);
                }
                if a.versioning && (create || !b.versioning) {
                    tri!(self.call(c, Op::PutBucketVersioning { bucket })?);
                }
            }
            (LaunchRole, Create | Update | Delete) => return self.launch_role(c),
            (AccountAssignment, Create | Delete) => return self.account_assignment(c),
            (AlternateContact, Create | Update | Delete) => return self.alternate_contact(c),
            (PermissionSet, Create | Update | Adopt | Delete) => return self.permission_set(c),
            (kind, action) => return Ok(Err(format!("{}: vend cannot {action} a {kind}", c.address))),
        }
        Ok(Ok(()))
    }

    fn remember(&mut self, c: &Change, id: Option<String>) {
        if let Some(id) = id {
            self.ids.insert(c.address.clone(), id);
        }
    }

    fn retag(&mut self, c: &Change, id: &str, changed: Tags) -> Result<Result<(), String>, AuditError> {
        if !changed.is_empty() {
            tri!(self.call(c, Op::TagResource { resource_id: id.to_string(), tags: changed })?);
        }
        Ok(Ok(()))
    }

    fn move_account(
        &mut self,
        c: &Change,
        p: &Sides<AccountFields>,
        id: &str,
    ) -> Result<Result<(), String>, AuditError> {
        let from = p.before.parent_id.clone();
        let (to, to_path) = p.destination();
        let to = to.or_else(|| self.ids.get(&Address::ou(&to_path)));
        if from.is_some() && from == to {
            return Ok(Ok(()));
        }
        let source_parent_id = tri!(from.ok_or_else(|| missing("current parent", c)));
        let destination_parent_id =
            tri!(to.ok_or_else(|| format!("{}: OU '{to_path}' is not known", c.address)));
        let op = Op::MoveAccount { account_id: id.to_string(), source_parent_id, destination_parent_id };
        tri!(self.call(c, op)?);
        Ok(Ok(()))
    }

    fn create_account(&mut self, c: &Change) -> Result<Result<(), String>, AuditError> {
        let p: Sides<AccountFields> = tri!(Sides::of(c));
        let op = Op::CreateAccount {
            name: p.after.name.clone().unwrap_or_default(),
            email: p.after.email.clone().unwrap_or_default(),
            tags: p.after.tags.clone(),
        };
        // A CreateAccount already sent (found in the state by the planner) is resumed, never resent.
        let mut request_id = match p.after.create_account_request_id.clone() {
            Some(id) => id,
            None => {
                let out = tri!(self.call(c, op.clone())?);
                tri!(out.id.ok_or_else(|| format!("{}: CreateAccount returned no request id", c.address)))
            }
        };
        let mut attempt = 1;
        let done = loop {
            let done = tri!(self.poll(
                c,
                Op::DescribeCreateAccountStatus { request_id: request_id.clone() },
                &["IN_PROGRESS"]
            )?);
            // A creation that failed on a transient condition made no account: ask again.
            let transient = done.status.as_deref() == Some("FAILED")
                && matches!(
                    done.result.as_deref(),
                    Some("CONCURRENT_ACCOUNT_MODIFICATION" | "INTERNAL_FAILURE")
                );
            if !transient || attempt >= self.options.max_attempts {
                break done;
            }
            (self.on_event)(EngineEvent::Retrying {
                address: c.address.to_string(),
                op: "CreateAccount".into(),
                attempt,
                error: format!("account creation {request_id} failed: {}", done.result.unwrap_or_default()),
            });
            let wait = self.backoff(attempt);
            self.clock.sleep(wait);
            attempt += 1;
            let out = tri!(self.call(c, op.clone())?);
            request_id =
                tri!(out.id.ok_or_else(|| format!("{}: CreateAccount returned no request id", c.address)));
        };
        if done.status.as_deref() != Some("SUCCEEDED") {
            let transient = matches!(
                done.result.as_deref(),
                Some("CONCURRENT_ACCOUNT_MODIFICATION" | "INTERNAL_FAILURE")
            );
            let tried =
                if transient { format!(" (gave up after {attempt} attempts)") } else { String::new() };
            return Ok(Err(format!(
                "{}: account creation {request_id} {}: {}{tried}",
                c.address,
                done.status.unwrap_or_default(),
                done.result.unwrap_or_default()
            )));
        }
        let account_id =
            tri!(done.result.ok_or_else(|| format!("{}: {request_id} gave no account id", c.address)));
        self.ids.insert(c.address.clone(), account_id.clone());
        // New accounts start in the root.
        let parent = p.after.parent.clone().unwrap_or_default();
        if !parent.is_empty() {
            let destination_parent_id = tri!(self.resolve(c, p.new_parent()));
            // AWS creates accounts in the root.
            let root = tri!(p.after.root_id.clone().ok_or_else(|| missing("root_id", c)));
            let op = Op::MoveAccount { account_id, source_parent_id: root, destination_parent_id };
            tri!(self.call(c, op)?);
        }
        Ok(Ok(()))
    }
}

/// Why a call failed for good.
enum Failure {
    /// AWS said no (a rule, a quota, a missing resource): not sent again.
    Refused(CloudError),
    /// Turned away or failed at every one of `Options::max_attempts` attempts.
    GaveUp(CloudError),
    /// An ambiguous answer that reconciliation could not settle.
    Unclear(CloudError),
}

impl Failure {
    fn error(&self) -> &CloudError {
        match self {
            Failure::Refused(e) | Failure::GaveUp(e) | Failure::Unclear(e) => e,
        }
    }
}

/// The step's error message: the address, the operation, how it ended (with the number of
/// attempts when the retry budget ran out) and the last error.
fn describe(address: &str, op: &str, f: &Failure, attempts: u32) -> String {
    let e = f.error();
    let how = match f {
        Failure::GaveUp(_) => format!("{op} gave up after {attempts} attempts"),
        Failure::Refused(_) | Failure::Unclear(_) => op.to_string(),
    };
    match e.kind {
        ErrorKind::Unknown => format!(
            "{address}: {how}: {e} — the outcome is unknown (the request may have been carried out); plan again to reconcile"
        ),
        _ => format!("{address}: {how}: {e}"),
    }
}
