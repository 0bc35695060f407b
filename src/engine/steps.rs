//! One change -> the AWS operations that carry it out, with intent/outcome records around every
//! write, polling of asynchronous requests, retries, and resolution of ids created earlier in
//! the same apply (a `null` id in a change is looked up by the address it refers to).

use super::{EngineEvent, Options};
use crate::model::{PIPELINES_TAG, Tags, sha256_hex};
use crate::plan::{Action, Change, Kind};
use crate::port::{
    ArtifactSpec, Audit, AuditError, AuditEvent, Call, Clock, Cloud, CloudError, Completed, ErrorKind, Event,
    Intent, Op, Outcome, OutcomeDetail,
};
use serde_json::Value;
use std::collections::BTreeMap;

/// A step's own failure (a message), or the audit log failing (which stops everything).
pub type StepResult = Result<Result<(), String>, AuditError>;

pub struct Run<'a> {
    plan_id: String,
    cloud: &'a mut dyn Cloud,
    pub audit: &'a mut dyn Audit,
    clock: &'a dyn Clock,
    options: &'a Options,
    pub on_event: &'a mut dyn FnMut(EngineEvent),
    /// Address -> id of what earlier steps created (`product_version:p@v` -> artifact id).
    ids: BTreeMap<String, String>,
    /// Jitter state (deterministic: derived from the plan id).
    jitter: u64,
    /// Product name -> the plan's first version change of a product the plan creates.
    first_version: BTreeMap<String, Change>,
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

fn text(v: &Option<Value>, key: &str) -> Option<String> {
    v.as_ref().and_then(|v| v.get(key)).and_then(Value::as_str).map(str::to_string)
}

fn tags(v: &Option<Value>) -> Tags {
    v.as_ref()
        .and_then(|v| v.get("tags"))
        .and_then(|t| serde_json::from_value(t.clone()).ok())
        .unwrap_or_default()
}

fn params(v: &Option<Value>) -> BTreeMap<String, String> {
    v.as_ref()
        .and_then(|v| v.get("params"))
        .and_then(|t| serde_json::from_value(t.clone()).ok())
        .unwrap_or_default()
}

/// Tags in `after` that are new or different from `before`.
fn tag_changes(before: &Option<Value>, after: &Option<Value>) -> Tags {
    let b = tags(before);
    tags(after).into_iter().filter(|(k, v)| b.get(k) != Some(v)).collect()
}

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
            | (Op::DeletePolicy { .. }, "PolicyNotFoundException")
            | (Op::EnablePolicyType { .. }, "PolicyTypeAlreadyEnabledException")
            | (Op::CloseAccount { .. }, "AccountAlreadyClosedException")
            | (Op::MoveAccount { .. }, "DuplicateAccountException")
    )
}

fn missing(what: &str, change: &Change) -> String {
    format!("{}: the change has no {what} (a malformed plan?)", change.address)
}

impl<'a> Run<'a> {
    pub fn new(
        plan_id: String,
        cloud: &'a mut dyn Cloud,
        audit: &'a mut dyn Audit,
        clock: &'a dyn Clock,
        options: &'a Options,
        on_event: &'a mut dyn FnMut(EngineEvent),
        changes: &[&Change],
    ) -> Self {
        let jitter = u64::from_str_radix(&sha256_hex(plan_id.as_bytes())[..12], 16).unwrap_or(7) | 1;
        let new_products: Vec<String> = changes
            .iter()
            .filter(|c| c.kind == Kind::Product && c.action == Action::Create)
            .filter_map(|c| text(&c.after, "name"))
            .collect();
        let mut first_version = BTreeMap::new();
        for c in changes.iter().filter(|c| c.kind == Kind::ProductVersion && c.action == Action::Create) {
            if let Some(product) = text(&c.after, "product")
                && new_products.contains(&product)
            {
                first_version.entry(product).or_insert_with(|| (*c).clone());
            }
        }
        Run { plan_id, cloud, audit, clock, options, on_event, ids: BTreeMap::new(), jitter, first_version }
    }

    /// An id from the change (`key` in `after`, else in `before`), or one created earlier in this
    /// apply for `address`.
    fn id(&self, change: &Change, key: &str, address: &str) -> Result<String, String> {
        text(&change.after, key)
            .or_else(|| text(&change.before, key))
            .or_else(|| self.ids.get(address).cloned())
            .ok_or_else(|| format!("{}: {key} of {address} is not known (was it created?)", change.address))
    }

    /// The idempotency token of a change: derived from its address and desired content, so a
    /// fresh plan after an interrupted apply sends the same token (AWS-NOTES).
    fn token(change: &Change, part: &str) -> String {
        let content = change.after.as_ref().map(|v| v.to_string()).unwrap_or_default();
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
            let requested_at = change
                .after
                .as_ref()
                .and_then(|a| a.get("requested_at"))
                .and_then(|a| a.as_str())
                .map(String::from);
            self.audit.append(AuditEvent {
                plan_id: self.plan_id.clone(),
                address: change.address.clone(),
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
                address: change.address.clone(),
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
                plan_id: self.plan_id.clone(),
                address: change.address.clone(),
                event: Event::Outcome(detail),
            })?;
        }
        Ok(match result {
            Ok(out) => {
                (self.on_event)(EngineEvent::Called {
                    address: change.address.clone(),
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
                        address: change.address.clone(),
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
            (self.on_event)(EngineEvent::Polled { address: change.address.clone(), status: status.clone() });
            if !pending.contains(&status.as_str()) {
                self.audit.append(AuditEvent {
                    plan_id: self.plan_id.clone(),
                    address: change.address.clone(),
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

    pub fn step(&mut self, c: &Change) -> StepResult {
        use Action::*;
        use Kind::*;
        match (c.kind, c.action) {
            (PolicyType, Create) => {
                let root_id = tri!(text(&c.after, "root_id").ok_or_else(|| missing("root_id", c)));
                let policy_type = text(&c.after, "type").unwrap_or_else(|| "SERVICE_CONTROL_POLICY".into());
                tri!(self.call(c, Op::EnablePolicyType { root_id, policy_type })?);
            }
            (Ou, Create) => {
                let parent = text(&c.after, "parent").unwrap_or_default();
                let parent_id = tri!(self.id(c, "parent_id", &format!("ou:{parent}")));
                let name = tri!(text(&c.after, "name").ok_or_else(|| missing("name", c)));
                let out = tri!(
                    self.call(c, Op::CreateOrganizationalUnit { parent_id, name, tags: tags(&c.after) })?
                );
                self.remember(c, out.id);
            }
            (Ou | Account, Update | Adopt) => {
                let id = tri!(self.id(c, "id", &c.address));
                tri!(self.retag(c, &id)?);
                if c.kind == Account {
                    tri!(self.move_account(c, &id)?);
                }
            }
            (Account, Move) => {
                let id = tri!(self.id(c, "id", &c.address));
                tri!(self.move_account(c, &id)?);
                tri!(self.retag(c, &id)?);
            }
            (Ou, Delete) => {
                let ou_id = tri!(self.id(c, "id", &c.address));
                tri!(self.call(c, Op::DeleteOrganizationalUnit { ou_id })?);
            }
            (Account, Create) => tri!(self.create_account(c)?),
            (Account, Close) => {
                let account_id = tri!(self.id(c, "id", &c.address));
                tri!(self.call(c, Op::CloseAccount { account_id })?);
            }
            (Policy, Create) => {
                let name = tri!(text(&c.after, "name").ok_or_else(|| missing("name", c)));
                let content = tri!(text(&c.after, "content").ok_or_else(|| missing("content", c)));
                let out = tri!(self.call(c, Op::CreatePolicy { name, content, tags: tags(&c.after) })?);
                self.remember(c, out.id);
            }
            (Policy, Update) => {
                let policy_id = tri!(self.id(c, "id", &c.address));
                let content = tri!(text(&c.after, "content").ok_or_else(|| missing("content", c)));
                tri!(self.call(c, Op::UpdatePolicy { policy_id, content })?);
            }
            (Policy, Delete) => {
                let policy_id = tri!(self.id(c, "id", &c.address));
                tri!(self.call(c, Op::DeletePolicy { policy_id })?);
            }
            (PolicyAttachment, Create | Delete) => {
                let side = if c.action == Create { &c.after } else { &c.before };
                let policy = text(side, "policy").unwrap_or_default();
                let target = text(side, "target").unwrap_or_default();
                let policy_id = tri!(self.id(c, "policy_id", &format!("policy:{policy}")));
                let target_id = tri!(self.id(c, "target_id", &target));
                let op = if c.action == Create {
                    Op::AttachPolicy { policy_id, target_id }
                } else {
                    Op::DetachPolicy { policy_id, target_id }
                };
                tri!(self.call(c, op)?);
            }
            (Product, Create) => tri!(self.create_product(c)?),
            (Product, Update) => {
                let product_id = tri!(self.id(c, "id", &c.address));
                let owner = text(&c.after, "owner").unwrap_or_default();
                tri!(self.call(
                    c,
                    Op::UpdateProduct { product_id, owner, tags: tag_changes(&c.before, &c.after) }
                )?);
            }
            (Product, Delete) => {
                let product_id = tri!(self.id(c, "id", &c.address));
                tri!(self.call(c, Op::DeleteProduct { product_id })?);
            }
            (ProductVersion, Create) => tri!(self.create_version(c)?),
            (ProductVersion, Update | Deprecate) => {
                let product = text(&c.after, "product").unwrap_or_default();
                let product_id = tri!(self.id(c, "product_id", &format!("product:{product}")));
                let artifact_id = tri!(self.id(c, "id", &c.address));
                let guidance = text(&c.after, "guidance").unwrap_or_else(|| "DEFAULT".into());
                let active =
                    c.after.as_ref().and_then(|a| a.get("active")).and_then(Value::as_bool).unwrap_or(true);
                tri!(
                    self.call(
                        c,
                        Op::UpdateProvisioningArtifact { product_id, artifact_id, active, guidance }
                    )?
                );
            }
            (ProductVersion, Delete) => {
                let product = text(&c.before, "product").unwrap_or_default();
                let product_id = tri!(self.id(c, "product_id", &format!("product:{product}")));
                let artifact_id = tri!(self.id(c, "id", &c.address));
                tri!(self.call(c, Op::DeleteProvisioningArtifact { product_id, artifact_id })?);
            }
            (Portfolio, Create) => {
                let op = Op::CreatePortfolio {
                    name: text(&c.after, "name").unwrap_or_default(),
                    description: text(&c.after, "description").unwrap_or_default(),
                    provider: text(&c.after, "provider").unwrap_or_default(),
                    tags: tags(&c.after),
                    token: Self::token(c, "portfolio"),
                };
                let out = tri!(self.call(c, op)?);
                self.remember(c, out.id);
            }
            (Portfolio, Update) => {
                let portfolio_id = tri!(self.id(c, "id", &c.address));
                let op = Op::UpdatePortfolio {
                    portfolio_id,
                    description: text(&c.after, "description").unwrap_or_default(),
                    provider: text(&c.after, "provider").unwrap_or_default(),
                    tags: tag_changes(&c.before, &c.after),
                };
                tri!(self.call(c, op)?);
            }
            (Portfolio, Delete) => {
                let portfolio_id = tri!(self.id(c, "id", &c.address));
                tri!(self.call(c, Op::DeletePortfolio { portfolio_id })?);
            }
            (PortfolioProduct, Create | Delete) => {
                let (portfolio_id, product_id) = tri!(self.portfolio_and_product(c));
                let op = if c.action == Create {
                    Op::AssociateProductWithPortfolio { product_id, portfolio_id }
                } else {
                    Op::DisassociateProductFromPortfolio { product_id, portfolio_id }
                };
                tri!(self.call(c, op)?);
            }
            (PortfolioPrincipal, Create | Delete) => {
                let side = if c.action == Create { &c.after } else { &c.before };
                let portfolio = text(side, "portfolio").unwrap_or_default();
                let portfolio_id = tri!(self.id(c, "portfolio_id", &format!("portfolio:{portfolio}")));
                let arn = text(side, "arn").unwrap_or_default();
                let principal_type = text(side, "type").unwrap_or_else(|| "IAM_PATTERN".into());
                let op = if c.action == Create {
                    Op::AssociatePrincipalWithPortfolio { portfolio_id, arn, principal_type }
                } else {
                    Op::DisassociatePrincipalFromPortfolio { portfolio_id, arn, principal_type }
                };
                tri!(self.call(c, op)?);
            }
            (PortfolioShare, Create | Delete | Replace) => {
                if matches!(c.action, Delete | Replace) {
                    tri!(self.share(c, false)?);
                }
                if matches!(c.action, Create | Replace) {
                    tri!(self.share(c, true)?);
                }
            }
            (LaunchConstraint, Create | Delete | Replace) => {
                let (portfolio_id, product_id) = tri!(self.portfolio_and_product(c));
                if matches!(c.action, Delete | Replace) {
                    let op = Op::DeleteConstraint {
                        portfolio_id: portfolio_id.clone(),
                        product_id: product_id.clone(),
                    };
                    tri!(self.call(c, op)?);
                }
                if matches!(c.action, Create | Replace) {
                    let local_role_name = text(&c.after, "local_role_name").unwrap_or_default();
                    let token = Self::token(c, "constraint");
                    tri!(self.call(
                        c,
                        Op::CreateConstraint { portfolio_id, product_id, local_role_name, token }
                    )?);
                }
            }
            (ProvisionedPipeline, Create) => tri!(self.provision(c)?),
            (ProvisionedPipeline, Update | Repair) => {
                let provisioned_product_id = tri!(self.id(c, "id", &c.address));
                let artifact_id = tri!(self.pipeline_artifact(c));
                let op = Op::UpdateProvisionedProduct {
                    provisioned_product_id,
                    artifact_id,
                    params: params(&c.after),
                    token: Self::token(c, "update"),
                };
                let out = tri!(self.call(c, op)?);
                tri!(self.wait_record(c, out)?);
            }
            (ProvisionedPipeline, Replace | Delete) => {
                let provisioned_product_id = tri!(text(&c.before, "id").ok_or_else(|| missing("id", c)));
                let op = Op::TerminateProvisionedProduct {
                    provisioned_product_id,
                    token: Self::token(c, "terminate"),
                };
                let out = tri!(self.call(c, op)?);
                tri!(self.wait_record(c, out)?);
                if c.action == Replace {
                    tri!(self.provision(c)?);
                }
            }
            (kind, action) => return Ok(Err(format!("{}: vend cannot {action} a {kind}", c.address))),
        }
        Ok(Ok(()))
    }

    fn remember(&mut self, c: &Change, id: Option<String>) {
        if let Some(id) = id {
            self.ids.insert(c.address.clone(), id);
        }
    }

    fn retag(&mut self, c: &Change, id: &str) -> Result<Result<(), String>, AuditError> {
        let changed = tag_changes(&c.before, &c.after);
        if !changed.is_empty() {
            tri!(self.call(c, Op::TagResource { resource_id: id.to_string(), tags: changed })?);
        }
        Ok(Ok(()))
    }

    fn move_account(&mut self, c: &Change, id: &str) -> Result<Result<(), String>, AuditError> {
        let from = text(&c.before, "parent_id");
        let to_path = text(&c.after, "parent").unwrap_or_default();
        let to = text(&c.after, "parent_id").or_else(|| self.ids.get(&format!("ou:{to_path}")).cloned());
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
        let op = Op::CreateAccount {
            name: text(&c.after, "name").unwrap_or_default(),
            email: text(&c.after, "email").unwrap_or_default(),
            tags: tags(&c.after),
        };
        // A CreateAccount already sent (found in the state by the planner) is resumed, never resent.
        let mut request_id = match text(&c.after, "create_account_request_id") {
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
                address: c.address.clone(),
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
        let parent = text(&c.after, "parent").unwrap_or_default();
        if !parent.is_empty() {
            let destination_parent_id = tri!(self.id(c, "parent_id", &format!("ou:{parent}")));
            // AWS creates accounts in the root.
            let root = tri!(text(&c.after, "root_id").ok_or_else(|| missing("root_id", c)));
            let op = Op::MoveAccount { account_id, source_parent_id: root, destination_parent_id };
            tri!(self.call(c, op)?);
        }
        Ok(Ok(()))
    }

    fn artifact(&self, c: &Change) -> ArtifactSpec {
        ArtifactSpec {
            name: text(&c.after, "name").unwrap_or_default(),
            description: text(&c.after, "description").unwrap_or_default(),
            template_url: text(&c.after, "template_url").unwrap_or_default(),
            guidance: text(&c.after, "guidance").unwrap_or_else(|| "DEFAULT".into()),
        }
    }

    fn put_template(&mut self, c: &Change) -> Result<Result<(), String>, AuditError> {
        let url = tri!(text(&c.after, "template_url").ok_or_else(|| missing("template_url", c)));
        let body = tri!(text(&c.after, "template_body").ok_or_else(|| missing("template_body", c)));
        tri!(self.call(c, Op::PutTemplate { url, body })?);
        Ok(Ok(()))
    }

    /// AWS creates a product together with its first version: take the plan's first version
    /// change of this product (they follow the product in the plan) as that version.
    fn create_product(&mut self, c: &Change) -> Result<Result<(), String>, AuditError> {
        let name = text(&c.after, "name").unwrap_or_default();
        let Some(first) = self.first_version.get(&name).cloned() else {
            return Ok(Err(format!("{}: a new product needs a version in the same plan", c.address)));
        };
        tri!(self.put_template(&first)?);
        let op = Op::CreateProduct {
            name: name.clone(),
            owner: text(&c.after, "owner").unwrap_or_default(),
            description: text(&c.after, "description").unwrap_or_default(),
            tags: tags(&c.after),
            version: self.artifact(&first),
            token: Self::token(c, "product"),
        };
        let out = tri!(self.call(c, op)?);
        self.remember(c, out.id);
        if let Some(a) = out.artifact_id {
            self.ids.insert(first.address.clone(), a);
        }
        Ok(Ok(()))
    }

    fn create_version(&mut self, c: &Change) -> Result<Result<(), String>, AuditError> {
        if self.ids.contains_key(&c.address) {
            // Created with its product.
            return Ok(Ok(()));
        }
        let product = text(&c.after, "product").unwrap_or_default();
        let product_id = tri!(self.id(c, "product_id", &format!("product:{product}")));
        tri!(self.put_template(c)?);
        let op = Op::CreateProvisioningArtifact {
            product_id,
            version: self.artifact(c),
            token: Self::token(c, "version"),
        };
        let out = tri!(self.call(c, op)?);
        self.remember(c, out.id);
        Ok(Ok(()))
    }

    fn portfolio_and_product(&self, c: &Change) -> Result<(String, String), String> {
        let side = if c.after.is_some() { &c.after } else { &c.before };
        let portfolio = text(side, "portfolio").unwrap_or_default();
        let product = text(side, "product").unwrap_or_default();
        Ok((
            self.id(c, "portfolio_id", &format!("portfolio:{portfolio}"))?,
            self.id(c, "product_id", &format!("product:{product}"))?,
        ))
    }

    fn share(&mut self, c: &Change, create: bool) -> Result<Result<(), String>, AuditError> {
        let side = if create { &c.after } else { &c.before };
        let portfolio = text(side, "portfolio").unwrap_or_default();
        let target = text(side, "target").unwrap_or_default();
        let share_type = text(side, "type").unwrap_or_default();
        let portfolio_id = tri!(self.id(c, "portfolio_id", &format!("portfolio:{portfolio}")));
        let value = match text(side, "value").or_else(|| self.ids.get(&target).cloned()) {
            Some(v) => v,
            None => return Ok(Err(format!("{}: the id of {target} is not known", c.address))),
        };
        if !create {
            tri!(self.call(c, Op::DeletePortfolioShare { portfolio_id, share_type, value })?);
            return Ok(Ok(()));
        }
        let out = tri!(self.call(c, Op::CreatePortfolioShare { portfolio_id, share_type, value })?);
        let token =
            tri!(out.id.ok_or_else(|| format!("{}: CreatePortfolioShare returned no token", c.address)));
        let done = tri!(self.poll(
            c,
            Op::DescribePortfolioShareStatus { token },
            &["NOT_STARTED", "IN_PROGRESS"]
        )?);
        if done.status.as_deref() != Some("COMPLETED") {
            return Ok(Err(format!("{}: share ended in {}", c.address, done.status.unwrap_or_default())));
        }
        Ok(Ok(()))
    }

    fn pipeline_artifact(&self, c: &Change) -> Result<String, String> {
        let product = text(&c.after, "product").unwrap_or_default();
        let version = text(&c.after, "version").unwrap_or_default();
        text(&c.after, "version_id")
            .or_else(|| self.ids.get(&format!("product_version:{product}@{version}")).cloned())
            .ok_or_else(|| format!("{}: version {product}@{version} is not known", c.address))
    }

    fn provision(&mut self, c: &Change) -> Result<Result<(), String>, AuditError> {
        let account = text(&c.after, "account").unwrap_or_default();
        let product = text(&c.after, "product").unwrap_or_default();
        let account_id = tri!(self.id_after(c, "account_id", &format!("account:{account}")));
        let product_id = tri!(self.id_after(c, "product_id", &format!("product:{product}")));
        let artifact_id = tri!(self.pipeline_artifact(c));
        if c.after.as_ref().and_then(|a| a.get("mark_account")).and_then(Value::as_bool) == Some(true) {
            let tags = Tags::from([(PIPELINES_TAG.to_string(), "true".to_string())]);
            tri!(self.call(c, Op::TagResource { resource_id: account_id.clone(), tags })?);
        }
        let op = Op::ProvisionProduct {
            account_id,
            name: text(&c.after, "name").unwrap_or_default(),
            product_id,
            artifact_id,
            params: params(&c.after),
            tags: tags(&c.after),
            token: Self::token(c, "provision"),
        };
        let out = tri!(self.call(c, op)?);
        tri!(self.wait_record(c, out)?);
        Ok(Ok(()))
    }

    /// Like `id`, but only from `after` (a replaced pipeline's `before` names the old product).
    fn id_after(&self, c: &Change, key: &str, address: &str) -> Result<String, String> {
        text(&c.after, key)
            .or_else(|| self.ids.get(address).cloned())
            .ok_or_else(|| format!("{}: {key} of {address} is not known (was it created?)", c.address))
    }

    fn wait_record(&mut self, c: &Change, out: Outcome) -> Result<Result<(), String>, AuditError> {
        let record_id = tri!(out.id.ok_or_else(|| format!("{}: no record id returned", c.address)));
        let done = tri!(self.poll(
            c,
            Op::DescribeRecord { record_id },
            &["CREATED", "IN_PROGRESS", "IN_PROGRESS_IN_ERROR"]
        )?);
        if done.status.as_deref() != Some("SUCCEEDED") {
            return Ok(Err(format!(
                "{}: provisioning ended in {}: {}",
                c.address,
                done.status.unwrap_or_default(),
                done.result.unwrap_or_default()
            )));
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
