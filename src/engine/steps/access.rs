//! The steps of issue 18's kinds: IAM Identity Center account assignments (asynchronous: the
//! request is polled through the engine's clock and poll settings, like an account creation)
//! and AWS Account Management alternate contacts.

use super::{Run, StepResult};
use crate::plan::apply_view::Sides;
use crate::plan::payload::{AssignmentState, ContactState};
use crate::plan::{Action, Change};
use crate::port::Op;

/// Is this `service_access` change AWS Account Management's (`service_access:account`)?
pub(super) fn is_account_management(c: &Change) -> bool {
    matches!(&c.after, Some(crate::plan::Payload::ServiceAccess(s)) if s.service == "account.amazonaws.com")
}

/// Account assignments vend makes are for groups.
const GROUP: &str = "GROUP";

impl Run<'_, '_> {
    /// CreateAccountAssignment or DeleteAccountAssignment, then its status polled until it is
    /// no longer IN_PROGRESS (API_DescribeAccountAssignmentCreationStatus: Status "IN_PROGRESS
    /// | FAILED | SUCCEEDED"); FAILED fails the step with AWS's reason.
    pub(super) fn account_assignment(&mut self, c: &Change) -> StepResult {
        let p: Sides<AssignmentState> = tri!(Sides::of(c));
        let account_id = tri!(self.resolve(c, p.account()));
        let s = p.subject();
        let instance_arn = s.instance_arn.clone();
        if instance_arn.is_empty() {
            return Ok(Err(super::missing("instance_arn", c)));
        }
        // A managed permission set created earlier in this apply is known by its address.
        let permission_set_arn = tri!(self.resolve(c, p.permission_set()));
        let principal_id = tri!(s.group_id.clone().ok_or_else(|| super::missing("group_id", c)));
        let create = c.action == Action::Create;
        let op = if create {
            Op::CreateAccountAssignment {
                instance_arn: instance_arn.clone(),
                account_id,
                permission_set_arn,
                principal_type: GROUP.into(),
                principal_id,
            }
        } else {
            Op::DeleteAccountAssignment {
                instance_arn: instance_arn.clone(),
                account_id,
                permission_set_arn,
                principal_type: GROUP.into(),
                principal_id,
            }
        };
        let out = tri!(self.call(c, op)?);
        let Some(request_id) = out.id else {
            // An ambiguous answer, then AWS refusing the resend because the first request was
            // carried out or is in progress (`already_done`): nothing left to poll here; the next
            // plan shows the assignment if that request did not finish.
            if out.request_id.starts_with("reconciled:") {
                return Ok(Ok(()));
            }
            return Ok(Err(format!("{}: AWS returned no request id", c.address)));
        };
        let status = if create {
            Op::DescribeAccountAssignmentCreationStatus { instance_arn, request_id: request_id.clone() }
        } else {
            Op::DescribeAccountAssignmentDeletionStatus { instance_arn, request_id: request_id.clone() }
        };
        let done = tri!(self.poll(c, status, &["IN_PROGRESS"])?);
        if done.status.as_deref() != Some("SUCCEEDED") {
            return Ok(Err(format!(
                "{}: assignment {} request {request_id} {}: {}",
                c.address,
                if create { "creation" } else { "deletion" },
                done.status.unwrap_or_default(),
                done.result.unwrap_or_default()
            )));
        }
        Ok(Ok(()))
    }

    /// Organizations trusted access for AWS Account Management, which alternate contacts of
    /// member accounts need: EnableAWSServiceAccess, synchronous (API_EnableAWSServiceAccess).
    pub(super) fn account_management(&mut self, c: &Change) -> StepResult {
        let p: Sides<crate::plan::apply_view::ServiceAccessFields> = tri!(Sides::of(c));
        let service_principal = p.after.service.clone();
        tri!(self.call(c, Op::EnableAwsServiceAccess { service_principal })?);
        Ok(Ok(()))
    }

    /// PutAlternateContact (create and update alike) or DeleteAlternateContact.
    pub(super) fn alternate_contact(&mut self, c: &Change) -> StepResult {
        let p: Sides<ContactState> = tri!(Sides::of(c));
        let account_id = tri!(self.resolve(c, p.account()));
        let op = match c.action {
            Action::Delete => {
                Op::DeleteAlternateContact { account_id, contact_type: p.before.contact_type.clone() }
            }
            _ => {
                let a = &p.after;
                Op::PutAlternateContact {
                    account_id,
                    contact_type: a.contact_type.clone(),
                    name: a.name.clone(),
                    email: a.email.clone(),
                    phone: a.phone.clone(),
                    title: a.title.clone(),
                }
            }
        };
        tri!(self.call(c, op)?);
        Ok(Ok(()))
    }
}
