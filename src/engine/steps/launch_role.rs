//! The steps of a `launch_role` change: IAM calls in the role's account.

use super::{Run, StepResult};
use crate::model::{LAUNCH_ROLE_POLICY, LAUNCH_ROLE_TRUST};
use crate::plan::apply_view::Sides;
use crate::plan::payload::LaunchRoleState;
use crate::plan::{Action, Change};
use crate::port::Op;

impl Run<'_, '_> {
    /// A launch role in its account: created trusted by Service Catalog and tagged in one call
    /// (no window in which vend's role exists without its tag), then its inline policy; on an
    /// update, the trust and the policy that drifted; on a delete, the inline policy first
    /// (IAM refuses DeleteRole while the role has one: DeleteConflict).
    pub(super) fn launch_role(&mut self, c: &Change) -> StepResult {
        let p: Sides<LaunchRoleState> = tri!(Sides::of(c));
        let account_id = tri!(self.resolve(c, p.account()));
        let (b, a) = (&p.before, &p.after);
        let name = p.subject().name.clone();
        let trust = || LAUNCH_ROLE_TRUST.to_string();
        match c.action {
            Action::Create => {
                let op = Op::CreateRole {
                    account_id: account_id.clone(),
                    name: name.clone(),
                    trust_policy: trust(),
                    tags: a.tags.clone(),
                };
                tri!(self.call(c, op)?);
            }
            Action::Update if !b.trusts_catalog => {
                let op = Op::UpdateAssumeRolePolicy {
                    account_id: account_id.clone(),
                    name: name.clone(),
                    trust_policy: trust(),
                };
                tri!(self.call(c, op)?);
            }
            Action::Delete => {
                if !b.policy.is_empty() {
                    let op = Op::DeleteRolePolicy {
                        account_id: account_id.clone(),
                        name: name.clone(),
                        policy_name: LAUNCH_ROLE_POLICY.into(),
                    };
                    tri!(self.call(c, op)?);
                }
                tri!(self.call(c, Op::DeleteRole { account_id, name })?);
                return Ok(Ok(()));
            }
            _ => {}
        }
        if c.action == Action::Create || a.policy != b.policy {
            let op = Op::PutRolePolicy {
                account_id,
                name,
                policy_name: LAUNCH_ROLE_POLICY.into(),
                document: a.policy.clone(),
            };
            tri!(self.call(c, op)?);
        }
        Ok(Ok(()))
    }
}
