//! Who gets into accounts in the in-process cloud (issue 18): it holds `State::access` and
//! enforces the rules of `aws_rules.yaml` for IAM Identity Center account assignments
//! (asynchronous: a request completes after `polls_to_complete` status polls, like an account
//! creation), AWS Account Management alternate contacts, and Organizations trusted access
//! (EnableAWSServiceAccess). A state without `access`, or without an instance, refuses every
//! assignment operation (`identitycenter.instance-exists`). It does no file I/O.

use super::{LocalCloud, sha};
use crate::adapter::aws_rules::{limit, refuse};
use crate::model::{Access, AlternateContact, Assignment, CONTACT_TYPES, IdentityCenter};
use crate::port::{CloudError, Outcome};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// AWS Account Management's service principal.
pub const ACCOUNT_PRINCIPAL: &str = "account.amazonaws.com";

/// An assignment creation or deletion request (`Extras::assignment_requests`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct AssignmentRequest {
    /// Creation (true) or deletion.
    create: bool,
    instance_arn: String,
    assignment: Assignment,
    polls: u32,
    /// IN_PROGRESS | SUCCEEDED | FAILED.
    status: String,
    #[serde(default)]
    failure: Option<String>,
    /// The cloud's call count (`Extras::requests`) when the request was made: a request nobody
    /// polls finishes on its own once `SETTLES_AFTER_CALLS` more calls were served.
    #[serde(default)]
    at: u64,
}

/// Calls after which an unpolled assignment request has finished (AWS finishes them on its
/// own within seconds; an engine whose answer was lost never polls it).
const SETTLES_AFTER_CALLS: u64 = 3;

/// The key of an assignment in `Index::assignments_in_flight`.
pub(super) fn flight_key(instance_arn: &str, a: &Assignment) -> String {
    format!(
        "{instance_arn}\0{}\0{}\0{}\0{}",
        a.account_id, a.permission_set_arn, a.principal_type, a.principal_id
    )
}

impl AssignmentRequest {
    /// Its `flight_key` while it is in progress.
    pub(super) fn in_flight(&self) -> Option<String> {
        (self.status == "IN_PROGRESS").then(|| flight_key(&self.instance_arn, &self.assignment))
    }
}

/// API_PutAlternateContact: EmailAddress pattern.
static EMAIL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[\s]*[\w+=.#|!&-]+@[\w.-]+\.[\w]+[\s]*$").ok());
/// API_PutAlternateContact: PhoneNumber pattern.
static PHONE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"^[\s0-9()+-]+$").ok());

fn matches(re: &LazyLock<Option<Regex>>, s: &str) -> bool {
    re.as_ref().is_some_and(|r| r.is_match(s))
}

/// The FailureReason of a request that rule `rule` makes fail when it completes (AWS reports
/// these in the request's status, not as an error of the call).
fn bad(rule: &str, reason: String) -> String {
    debug_assert!(
        crate::adapter::aws_rules::rules().iter().any(|r| r.id == rule),
        "{rule} is not in the table"
    );
    reason
}

fn length(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.chars().count())
}

impl LocalCloud {
    /// `State::access` to change its settings (trusted access, the Identity Center instance).
    pub(super) fn access_mut(&mut self) -> &mut Access {
        self.touched.access = true;
        self.state.access.get_or_insert_with(Access::default)
    }

    /// `State::access` to change the rows of `account_id` (assignments, contacts, read).
    pub(super) fn access_of_mut(&mut self, account_id: &str) -> &mut Access {
        self.touched.access_accounts.insert(account_id.to_string());
        let access = self.state.access.get_or_insert_with(Access::default);
        // The in-process cloud knows every account's access in full: one it writes is read (an
        // assignment or contact on an account not listed would not be a snapshot AWS could
        // hold: `access.read_accounts`).
        super::index::insert_sorted(&mut access.read_accounts, account_id.to_string());
        access
    }

    /// The instance `instance_arn` names (rule `identitycenter.instance-exists`).
    pub(super) fn instance(&self, instance_arn: &str) -> Result<&IdentityCenter, CloudError> {
        self.state
            .access
            .as_ref()
            .and_then(|a| a.identity_center.as_ref())
            .filter(|ic| ic.instance_arn == instance_arn)
            .ok_or_else(|| {
                refuse("identitycenter.instance-exists", format!("Instance {instance_arn} does not exist"))
            })
    }

    /// The synchronous checks of CreateAccountAssignment and DeleteAccountAssignment: the
    /// instance and the permission set exist (ResourceNotFoundException), a delegated
    /// administrator does not touch the management account (AccessDeniedException), and no other request
    /// on the same assignment is in progress (ConflictException). The principal and the target
    /// are checked when the request completes: AWS accepts the call and the request turns FAILED
    /// (`identitycenter.principal-exists`, `identitycenter.target-in-organization`).
    fn check_assignment(&mut self, instance_arn: &str, a: &Assignment) -> Result<(), CloudError> {
        let ic = self.instance(instance_arn)?;
        let mgmt = &self.state.organization.management_account_id;
        if let Some(admin) = &self.settings.identity_center_admin
            && admin != mgmt
            && &a.account_id == mgmt
        {
            return Err(refuse(
                "identitycenter.delegated-admin-management-account",
                format!(
                    "The delegated administrator {admin} is not authorized to manage access to the management account {mgmt}"
                ),
            ));
        }
        if !ic.permission_sets.iter().any(|p| p.arn == a.permission_set_arn) {
            return Err(refuse(
                "identitycenter.permission-set-exists",
                format!("Permission set {} does not exist", a.permission_set_arn),
            ));
        }
        let key = flight_key(instance_arn, a);
        if let Some(id) = self.idx.assignments_in_flight.get(&key).cloned() {
            let old = self.x.assignment_requests.get(&id).map(|r| r.at).unwrap_or_default();
            if self.x.requests.saturating_sub(old) < SETTLES_AFTER_CALLS {
                // A rejection AWS asks to retry after a backoff (ConflictException).
                let mut e = refuse(
                    "identitycenter.assignment-unique",
                    format!("Account assignment request {id} on this assignment is still in progress"),
                );
                e.kind = crate::port::ErrorKind::Retryable;
                return Err(e);
            }
            // AWS finishes a request on its own, polled or not: one nobody polled (its answer
            // was lost) has finished by now.
            self.finish_assignment(&id);
        }
        Ok(())
    }

    /// Why a request on `a` fails when it completes (the FailureReason AWS reports), if it does.
    fn assignment_failure(&self, create: bool, instance_arn: &str, a: &Assignment) -> Option<String> {
        let ic = self.instance(instance_arn).ok()?;
        // The in-process cloud holds groups only: a USER principal is never found.
        if a.principal_type != "GROUP" || !ic.groups.iter().any(|g| g.id == a.principal_id) {
            return Some(bad(
                "identitycenter.principal-exists",
                format!(
                    "Received a 404 status error: the {} assignee {} was not found in directory {}",
                    a.principal_type, a.principal_id, ic.identity_store_id
                ),
            ));
        }
        if create && self.account(&a.account_id).is_none() {
            return Some(bad(
                "identitycenter.target-in-organization",
                format!(
                    "Received a 400 status error: account {} is not a member of organization {}",
                    a.account_id, self.state.organization.id
                ),
            ));
        }
        None
    }

    fn assigned(&self, a: &Assignment) -> bool {
        self.state.access.as_ref().is_some_and(|x| x.assignments.contains(a))
    }

    /// A request id of the shape AWS gives assignment requests (a UUID).
    fn assignment_request_id(&mut self) -> String {
        loop {
            self.x.seq += 1;
            let h = hex::encode(&sha(&format!("vend-local-cloud/assignment\0{}", self.x.seq))[..16]);
            let id = format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]);
            if !self.x.assignment_requests.contains_key(&id) {
                return id;
            }
        }
    }

    /// CreateAccountAssignment (`create`) or DeleteAccountAssignment: checked now, carried out
    /// when the request completes.
    pub(super) fn assignment_request(
        &mut self,
        create: bool,
        instance_arn: &str,
        assignment: Assignment,
    ) -> Result<Outcome, CloudError> {
        self.check_assignment(instance_arn, &assignment)?;
        if !create && !self.assigned(&assignment) {
            return Err(refuse(
                "identitycenter.assignment-exists",
                format!(
                    "No assignment of {} {} to account {} with {}",
                    assignment.principal_type,
                    assignment.principal_id,
                    assignment.account_id,
                    assignment.permission_set_arn
                ),
            ));
        }
        let id = self.assignment_request_id();
        self.touched.assignment_requests.insert(id.clone());
        self.idx.assignments_in_flight.insert(flight_key(instance_arn, &assignment), id.clone());
        self.x.assignment_requests.insert(
            id.clone(),
            AssignmentRequest {
                create,
                instance_arn: instance_arn.to_string(),
                assignment,
                polls: 0,
                status: "IN_PROGRESS".into(),
                failure: None,
                at: self.x.requests,
            },
        );
        Ok(Outcome { id: Some(id), status: Some("IN_PROGRESS".into()), ..Outcome::default() })
    }

    /// Complete the in-progress request `id`: FAILED with AWS's reason, or SUCCEEDED with the
    /// assignment made (or removed).
    fn finish_assignment(&mut self, id: &str) {
        let Some(mut r) = self.x.assignment_requests.get(id).cloned() else { return };
        if r.status != "IN_PROGRESS" {
            return;
        }
        self.idx.assignments_in_flight.remove(&flight_key(&r.instance_arn, &r.assignment));
        if let Some(why) = self.assignment_failure(r.create, &r.instance_arn, &r.assignment) {
            r.status = "FAILED".into();
            r.failure = Some(why);
        } else {
            r.status = "SUCCEEDED".into();
            let a = r.assignment.clone();
            let access = self.access_of_mut(&a.account_id);
            if r.create {
                if !access.assignments.contains(&a) {
                    access.assignments.push(a);
                    access.assignments.sort_by(|x, y| {
                        (&x.account_id, &x.permission_set_arn, &x.principal_id).cmp(&(
                            &y.account_id,
                            &y.permission_set_arn,
                            &y.principal_id,
                        ))
                    });
                }
            } else {
                access.assignments.retain(|x| x != &a);
            }
        }
        self.touched.assignment_requests.insert(id.to_string());
        self.x.assignment_requests.insert(id.to_string(), r);
    }

    /// DescribeAccountAssignmentCreationStatus / …DeletionStatus: one poll of the request; the
    /// poll that completes it makes (or removes) the assignment.
    pub(super) fn assignment_status(
        &mut self,
        create: bool,
        instance_arn: &str,
        request_id: &str,
    ) -> Result<Outcome, CloudError> {
        self.instance(instance_arn)?;
        let Some(r) = self.x.assignment_requests.get_mut(request_id).filter(|r| r.create == create) else {
            return Err(CloudError::hard(
                "ResourceNotFoundException",
                format!("No account assignment request {request_id}"),
            ));
        };
        if r.status == "IN_PROGRESS" {
            r.polls += 1;
            let done = r.polls >= self.settings.polls_to_complete.max(1);
            self.touched.assignment_requests.insert(request_id.to_string());
            if done {
                self.finish_assignment(request_id);
            }
        }
        let r = self.x.assignment_requests.get(request_id).cloned();
        Ok(Outcome {
            id: Some(request_id.to_string()),
            status: r.as_ref().map(|r| r.status.clone()),
            result: r.and_then(|r| r.failure),
            ..Outcome::default()
        })
    }

    /// EnableAWSServiceAccess: trusted access for AWS Account Management is recorded; the
    /// in-process cloud models no other service's.
    pub(super) fn enable_service_access(&mut self, principal: &str) -> Result<Outcome, CloudError> {
        if principal == ACCOUNT_PRINCIPAL
            && !self.state.access.as_ref().is_some_and(|a| a.account_management_access)
        {
            self.access_mut().account_management_access = true;
        }
        Ok(Outcome::default())
    }

    /// What Put/Get/DeleteAlternateContact check about the account: a member of this
    /// organization with AWS Account Management trusted access on — or the management account
    /// itself (the caller's own), which `adapter::aws` asks without AccountId, in the
    /// standalone context that needs neither (AWS refuses its own id as AccountId: rule
    /// `account.member-account`, which the adapter therefore never sends).
    fn check_contact_account(&self, account_id: &str, contact_type: &str) -> Result<(), CloudError> {
        if !CONTACT_TYPES.contains(&contact_type) {
            return Err(CloudError::hard(
                "ValidationException",
                format!("AlternateContactType must be one of {}", CONTACT_TYPES.join(", ")),
            ));
        }
        if account_id == self.state.organization.management_account_id {
            return Ok(());
        }
        if self.account(account_id).is_none() {
            return Err(refuse(
                "account.member-account",
                format!("Account {account_id} is not a member account of the caller's organization"),
            ));
        }
        if !self.state.access.as_ref().is_some_and(|a| a.account_management_access) {
            return Err(refuse(
                "account.trusted-access",
                format!(
                    "Trusted access for {ACCOUNT_PRINCIPAL} is not enabled in the organization (account {account_id})"
                ),
            ));
        }
        Ok(())
    }

    pub(super) fn put_contact(&mut self, c: AlternateContact) -> Result<Outcome, CloudError> {
        // API_PutAlternateContact: Name 1–64, Title 1–50, EmailAddress 1–254 and its pattern,
        // PhoneNumber 1–25 and its pattern.
        let max = |rule: &str, fallback: u64| usize::try_from(limit(rule, fallback)).unwrap_or(0);
        if !length(&c.name, max("account.contact-name", 64)) {
            return Err(refuse("account.contact-name", "Name must be 1 to 64 characters"));
        }
        if !length(&c.title, max("account.contact-title", 50)) {
            return Err(refuse("account.contact-title", "Title must be 1 to 50 characters"));
        }
        if !length(&c.email, max("account.contact-email", 254)) || !matches(&EMAIL, &c.email) {
            return Err(refuse("account.contact-email", format!("EmailAddress {:?} is not valid", c.email)));
        }
        if !length(&c.phone, max("account.contact-phone", 25)) || !matches(&PHONE, &c.phone) {
            return Err(refuse("account.contact-phone", format!("PhoneNumber {:?} is not valid", c.phone)));
        }
        self.check_contact_account(&c.account_id, &c.contact_type)?;
        let access = self.access_of_mut(&c.account_id);
        access.contacts.retain(|x| !(x.account_id == c.account_id && x.contact_type == c.contact_type));
        access.contacts.push(c);
        access
            .contacts
            .sort_by(|x, y| (&x.account_id, &x.contact_type).cmp(&(&y.account_id, &y.contact_type)));
        Ok(Outcome::default())
    }

    pub(super) fn delete_contact(
        &mut self,
        account_id: &str,
        contact_type: &str,
    ) -> Result<Outcome, CloudError> {
        self.check_contact_account(account_id, contact_type)?;
        let set = self.state.access.as_ref().is_some_and(|a| {
            a.contacts.iter().any(|x| x.account_id == account_id && x.contact_type == contact_type)
        });
        if !set {
            return Err(refuse(
                "account.contact-exists",
                format!("No {contact_type} alternate contact is set for account {account_id}"),
            ));
        }
        self.access_of_mut(account_id)
            .contacts
            .retain(|x| !(x.account_id == account_id && x.contact_type == contact_type));
        Ok(Outcome::default())
    }
}
