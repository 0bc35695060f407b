"""AWS Organizations rules moto skips, enforced at the API entry (OrganizationsResponse).

Checks run before moto's own handler; moto's internals (which attach default policies through
the backend) stay untouched. Extra state (pending/failed CreateAccount requests) lives on the
backend object, so moto's reset clears it.
"""

import json
import threading
from typing import Any

from moto.organizations import utils as org_utils
from moto.organizations.responses import OrganizationsResponse

from . import control
from .errors import AwsError
from .util import now

LOCK = threading.RLock()
SCP = "SERVICE_CONTROL_POLICY"
MAX_OU_DEPTH = 5
MAX_SCPS_PER_TARGET = 5
MAX_SCP_BYTES = 5120


def _params(self) -> dict:
    try:
        return json.loads(self.body or "{}")
    except ValueError:
        return {}


def _be(self):
    return self.organizations_backend


def _xstate(be) -> dict:
    st = be.__dict__.get("_vend")
    if st is None:
        st = {"requests": {}}  # car id -> {status dict, kwargs, polls_left}
        be.__dict__["_vend"] = st
    return st


def constraint(reason: str, msg: str) -> AwsError:
    return AwsError("ConstraintViolationException", msg, Reason=reason)


def _root(be):
    return next((o for o in be.ou if getattr(o, "type", "") == "ROOT"), None)


def _scp_enabled(be) -> bool:
    root = _root(be)
    return bool(root) and any(t["Type"] == SCP and t.get("Status") == "ENABLED" for t in root.policy_types)


def _require_scp(be, ptype: str | None) -> None:
    if be.org is None:
        raise AwsError("AWSOrganizationsNotInUseException", "Your account is not a member of an organization.")
    if (ptype or SCP) == SCP and not _scp_enabled(be):
        raise AwsError("PolicyTypeNotEnabledException", "This operation can be performed only for enabled policy types.")


def _target(be, target_id: str):
    for o in be.ou:
        if o.id == target_id:
            return o
    for a in be.accounts:
        if a.id == target_id:
            return a
    raise AwsError("TargetNotFoundException", "You specified a target that doesn't exist.")


def _depth(be, parent_id: str) -> int:
    """Depth of an entity whose parent is parent_id (root children are depth 1)."""
    depth = 1
    cur = next((o for o in be.ou if o.id == parent_id), None)
    while cur is not None and getattr(cur, "type", "") != "ROOT":
        depth += 1
        cur = next((o for o in be.ou if o.id == cur.parent_id), None)
    return depth


def _check_size(content: Any) -> None:
    if content is not None and len(content.encode("utf-8")) > MAX_SCP_BYTES:
        raise constraint("POLICY_CONTENT_LIMIT_EXCEEDED", f"The policy document exceeds {MAX_SCP_BYTES} bytes.")


ORIG: dict[str, Any] = {}


def create_organizational_unit(self):
    a = _params(self)
    with LOCK:
        be = _be(self)
        be.validate_parent_id(a.get("ParentId", ""))
        if _depth(be, a["ParentId"]) > MAX_OU_DEPTH:
            raise constraint("OU_DEPTH_LIMIT_EXCEEDED", "You attempted to create an OU tree that is too many levels deep.")
        if any(o.parent_id == a["ParentId"] and o.name == a.get("Name") for o in be.ou):
            raise AwsError("DuplicateOrganizationalUnitException", "An OU with the same name already exists.")
        return ORIG["create_organizational_unit"](self)


def delete_organizational_unit(self):
    a = _params(self)
    with LOCK:
        be = _be(self)
        ou = be.get_organizational_unit_by_id(a.get("OrganizationalUnitId", ""))
        if any(x.parent_id == ou.id for x in be.accounts) or any(x.parent_id == ou.id for x in be.ou):
            raise AwsError("OrganizationalUnitNotEmptyException", "The specified OU is not empty. Move all accounts to another root or OU and delete all child OUs, then try the operation again.")
        for p in list(ou.attached_policies):
            ou.attached_policies.remove(p)
            if ou in p.attachments:
                p.attachments.remove(ou)
        return ORIG["delete_organizational_unit"](self)


def create_policy(self):
    a = _params(self)
    with LOCK:
        be = _be(self)
        _require_scp(be, a.get("Type"))
        if (a.get("Type") or SCP) == SCP:
            _check_size(a.get("Content"))
        return ORIG["create_policy"](self)


def update_policy(self):
    a = _params(self)
    with LOCK:
        be = _be(self)
        pol = be.get_policy_by_id(a.get("PolicyId", ""))
        if pol.type == SCP:
            _check_size(a.get("Content"))
        return ORIG["update_policy"](self)


def attach_policy(self):
    a = _params(self)
    with LOCK:
        be = _be(self)
        pol = be.get_policy_by_id(a.get("PolicyId", ""))
        _require_scp(be, pol.type)
        tgt = _target(be, a.get("TargetId", ""))
        if pol in tgt.attached_policies:
            raise AwsError("DuplicatePolicyAttachmentException", "The selected policy is already attached to the specified target.")
        if pol.type == SCP and sum(1 for p in tgt.attached_policies if p.type == SCP) >= MAX_SCPS_PER_TARGET:
            raise constraint("MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED", "You attempted to exceed the number of policies of a certain type that can be attached to an entity.")
        return ORIG["attach_policy"](self)


def detach_policy(self):
    a = _params(self)
    with LOCK:
        be = _be(self)
        pol = be.get_policy_by_id(a.get("PolicyId", ""))
        tgt = _target(be, a.get("TargetId", ""))
        if pol not in tgt.attached_policies:
            raise AwsError("PolicyNotAttachedException", "The policy isn't attached to the specified target.")
        if pol.type == SCP and sum(1 for p in tgt.attached_policies if p.type == SCP) <= 1:
            raise constraint("MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED", "You attempted to detach a policy from an entity that would leave it without any policy of that type.")
        return ORIG["detach_policy"](self)


def move_account(self):
    a = _params(self)
    with LOCK:
        be = _be(self)
        acct = be.get_account_by_id(a.get("AccountId", ""))
        src, dst = a.get("SourceParentId", ""), a.get("DestinationParentId", "")
        if not any(o.id == src for o in be.ou):
            raise AwsError("SourceParentNotFoundException", "You specified a source parent that doesn't exist.")
        if not any(o.id == dst for o in be.ou):
            raise AwsError("DestinationParentNotFoundException", "You specified a destination parent that doesn't exist.")
        if acct.parent_id == dst:
            raise AwsError("DuplicateAccountException", "That account is already present in the specified destination.")
        if acct.parent_id != src:
            raise AwsError("SourceParentNotFoundException", "The account is not a child of the specified source parent.")
        acct.parent_id = dst
        return "{}"


def _status(req: dict) -> dict:
    return {k: v for k, v in req["status"].items() if v is not None}


def _email_taken(be, email: str) -> bool:
    e = (email or "").lower()
    return any((x.email or "").lower() == e for x in be.accounts)


def _finalize(self, be, req: dict) -> None:
    """Turn a pending request into SUCCEEDED (creating the account) or FAILED."""
    st = req["status"]
    if _email_taken(be, req["kwargs"].get("Email")):
        st.update(State="FAILED", FailureReason="EMAIL_ALREADY_EXISTS", CompletedTimestamp=now())
        return
    out = be.create_account(**req["kwargs"])
    acct_id = out["CreateAccountStatus"]["AccountId"]
    acct = be.get_account_by_id(acct_id)
    acct.create_account_status_id = st["Id"]
    st.update(State="SUCCEEDED", AccountId=acct_id, CompletedTimestamp=now())


def create_account(self):
    a = _params(self)
    with LOCK:
        be = _be(self)
        if be.org is None:
            raise AwsError("AWSOrganizationsNotInUseException", "Your account is not a member of an organization.")
        car = org_utils.make_random_create_account_status_id()
        req = {
            "kwargs": a,
            "polls_left": int(control.CONFIG.get("create_account_polls", 0) or 0),
            "status": {"Id": car, "AccountName": a.get("AccountName"), "State": "IN_PROGRESS", "RequestedTimestamp": now()},
        }
        _xstate(be)["requests"][car] = req
        if req["polls_left"] <= 0:
            _finalize(self, be, req)
        return json.dumps({"CreateAccountStatus": _status(req)})


def describe_create_account_status(self):
    a = _params(self)
    with LOCK:
        be = _be(self)
        req = _xstate(be)["requests"].get(a.get("CreateAccountRequestId", ""))
        if req is None:
            return ORIG["describe_create_account_status"](self)
        if req["status"]["State"] == "IN_PROGRESS":
            if req["polls_left"] > 0:
                req["polls_left"] -= 1
            else:
                _finalize(self, be, req)
        return json.dumps({"CreateAccountStatus": _status(req)})


def list_create_account_status(self):
    a = _params(self)
    with LOCK:
        be = _be(self)
        states = a.get("States") or ["IN_PROGRESS", "SUCCEEDED", "FAILED"]
        ours = _xstate(be)["requests"]
        ours_ids = set(ours)
        items = [
            acc.create_account_status["CreateAccountStatus"]
            for acc in be.accounts
            if acc.create_account_status_id not in ours_ids
        ]
        items += [_status(r) for r in ours.values()]
        items = [s for s in items if s["State"] in states]
        start = int(a.get("NextToken") or 0)
        size = int(a.get("MaxResults") or 20)
        chunk = items[start : start + size]
        out: dict[str, Any] = {"CreateAccountStatuses": chunk}
        if start + size < len(items):
            out["NextToken"] = str(start + size)
        return json.dumps(out)


PATCHES = [
    create_organizational_unit, delete_organizational_unit, create_policy, update_policy,
    attach_policy, detach_policy, move_account, create_account, describe_create_account_status,
    list_create_account_status,
]


def install() -> None:
    for fn in PATCHES:
        ORIG.setdefault(fn.__name__, getattr(OrganizationsResponse, fn.__name__))
        setattr(OrganizationsResponse, fn.__name__, fn)
