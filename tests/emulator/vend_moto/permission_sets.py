"""IAM Identity Center permission sets vend manages (issue 18, catalog/permission_sets/).

moto 5.2.5 creates, describes, lists and deletes permission sets and attaches policies, but its
UpdatePermissionSet handler changes nothing, it has no TagResource / ListTagsForResource, no
DescribePermissionSetProvisioningStatus (ProvisionPermissionSet answers SUCCEEDED at once), and it
checks none of the rules below. This module replaces those handlers (installed after
identitycenter.py, whose instance routing and permission set lookup it uses):

* CreatePermissionSet: the ARN AWS gives (`arn:aws:sso:::permissionSet/…`, moto's says
  `instance/`), `identitycenter.permission-set-name` (1-32 of [\\w+=,.@-]),
  `identitycenter.permission-set-name-unique` (ConflictException), the description (1-700),
  `identitycenter.session-duration` (PT1H..PT12H); its Tags are kept for ListTagsForResource.
* UpdatePermissionSet updates description and session duration (same rules).
* TagResource / ListTagsForResource on a permission set's ARN.
* AttachManagedPolicyToPermissionSet: `identitycenter.managed-policy-limit` (20).
* PutInlinePolicyToPermissionSet: `identitycenter.inline-policy-size` (32,768 bytes, 10,240
  without whitespace).
* ProvisionPermissionSet is asynchronous like an assignment request (IN_PROGRESS for
  `assignment_polls` status reads), read with DescribePermissionSetProvisioningStatus.
* DeletePermissionSet: `identitycenter.permission-set-in-use` (ConflictException while an
  account assignment uses it).
* ListPermissionSetsProvisionedToAccount: the sets assigned in AccountId (moto's ignores
  AccountId and lists what ProvisionPermissionSet was called for).
* `identitycenter.delegated-admin-management-permission-set`: the delegated administrator
  (served the management account's instance) may not update, tag, attach or detach policies of,
  put or delete the inline policy of, provision or delete a permission set provisioned to the
  management account (one with an assignment there) — AccessDeniedException.
"""

import json
import re
import uuid

from moto.ssoadmin.responses import SSOAdminResponse

from . import control, rules
from .errors import AwsError
from .identitycenter import (
    LOCK, _instance, _paged, _params, _permission_set, _sso, _xstate, owner_account, validation,
)
from .util import now

NAME = re.compile(r"^[\w+=,.@-]{1,32}$", re.ASCII)
DURATION = re.compile(r"^PT(?:(\d{1,3})H)?(?:(\d{1,4})M)?$")
MAX_MANAGED = 20
MAX_INLINE = 32768
MAX_INLINE_SOLID = 10240


def _check_fields(a: dict) -> None:
    d = a.get("Description")
    if d is not None and not (1 <= len(d) <= 700):
        raise validation("Description must be 1 to 700 characters.")
    s = a.get("SessionDuration")
    if s is not None:
        m = DURATION.match(s)
        minutes = (int(m.group(1) or 0) * 60 + int(m.group(2) or 0)) if m and (m.group(1) or m.group(2)) else 0
        if not 60 <= minutes <= 720:
            raise rules.refuse(
                "identitycenter.session-duration", f"SessionDuration {s} must be between PT1H and PT12H."
            )


def _tags(ps) -> list:
    return ps.__dict__.setdefault("tags", []) or []


def _provisioned_to(be, account: str) -> list:
    """The ARNs of the permission sets provisioned to `account` (assigned there), sorted."""
    return sorted({x.permission_set_arn for x in be.account_assignments if x.target_id == account})


def _check_admin_set(self, be, ps) -> None:
    """A delegated administrator cannot manage a permission set provisioned to the management
    account (IAM Identity Center user guide, "Register a member account": every task "except
    for: ... Managing permission sets provisioned in the management account")."""
    caller, owner = self.current_account, owner_account(self)
    if caller != owner and ps.permission_set_arn in _provisioned_to(be, owner):
        raise rules.refuse(
            "identitycenter.delegated-admin-management-permission-set",
            f"User: arn:aws:iam::{caller}:root is not authorized to manage permission set "
            f"{ps.permission_set_arn}: it is provisioned to the management account {owner}.",
        )


def _existing(self, be, a: dict, key: str = "PermissionSetArn"):
    """The permission set the request names, checked as every change of one is."""
    _instance(be, a.get("InstanceArn"))
    ps = _permission_set(be, a["InstanceArn"], a.get(key))
    _check_admin_set(self, be, ps)
    return ps


def list_permission_sets_provisioned_to_account(self):
    a = _params(self)
    with LOCK:
        be = _sso(self)
        _instance(be, a.get("InstanceArn"))
        return _paged(a, "PermissionSets", _provisioned_to(be, a.get("AccountId")))


def detach_managed_policy_from_permission_set(self):
    a = _params(self)
    with LOCK:
        be = _sso(self)
        _existing(self, be, a)
        return _MOTO["detach_managed_policy_from_permission_set"](self)


def delete_inline_policy_from_permission_set(self):
    a = _params(self)
    with LOCK:
        be = _sso(self)
        _existing(self, be, a)
        return _MOTO["delete_inline_policy_from_permission_set"](self)


def create_permission_set(self):
    a = _params(self)
    with LOCK:
        be = _sso(self)
        _instance(be, a.get("InstanceArn"))
        name = a.get("Name") or ""
        if not NAME.match(name):
            raise rules.refuse("identitycenter.permission-set-name", f"Name {name!r} must match [\\w+=,.@-]{{1,32}}.")
        if any(p.instance_arn == a["InstanceArn"] and p.name == name for p in be.permission_sets):
            raise rules.refuse(
                "identitycenter.permission-set-name-unique", f"Permission set with name {name} already exists."
            )
        _check_fields(a)
        be.create_permission_set(
            name=name,
            description=a.get("Description"),
            instance_arn=a["InstanceArn"],
            session_duration=a.get("SessionDuration") or "PT1H",
            relay_state=a.get("RelayState"),
            tags=list(a.get("Tags") or []),
        )
        ps = be.permission_sets[-1]
        # moto names it arn:aws:sso:::instance/ssoins-…/ps-…; AWS: arn:aws:sso:::permissionSet/ssoins-…/ps-…
        # (API_PermissionSet: PermissionSetArn pattern).
        ps.permission_set_arn = ps.permission_set_arn.replace(":sso:::instance/", ":sso:::permissionSet/", 1)
        d = ps.to_json(include_creation_date=True)
        return json.dumps({"PermissionSet": {k: v for k, v in d.items() if v is not None}})


def update_permission_set(self):
    a = _params(self)
    with LOCK:
        be = _sso(self)
        ps = _existing(self, be, a)
        _check_fields(a)
        if a.get("Description") is not None:
            ps.description = a["Description"]
        if a.get("SessionDuration") is not None:
            ps.session_duration = a["SessionDuration"]
        return "{}"


def tag_resource(self):
    a = _params(self)
    with LOCK:
        be = _sso(self)
        ps = _existing(self, be, a, "ResourceArn")
        tags = {t["Key"]: t["Value"] for t in _tags(ps)}
        for t in a.get("Tags") or []:
            tags[t["Key"]] = t["Value"]
        ps.tags = [{"Key": k, "Value": v} for k, v in tags.items()]
        return "{}"


def list_tags_for_resource(self):
    a = _params(self)
    with LOCK:
        be = _sso(self)
        _instance(be, a.get("InstanceArn"))
        ps = _permission_set(be, a["InstanceArn"], a.get("ResourceArn"))
        return json.dumps({"Tags": list(_tags(ps))})


def attach_managed_policy_to_permission_set(self):
    a = _params(self)
    with LOCK:
        be = _sso(self)
        ps = _existing(self, be, a)
        arn = a.get("ManagedPolicyArn")
        if any(m.arn == arn for m in ps.managed_policies):
            raise AwsError("ConflictException", f"Permission set already has managed policy {arn}.")
        if len(ps.managed_policies) + len(ps.customer_managed_policies) >= MAX_MANAGED:
            raise rules.refuse(
                "identitycenter.managed-policy-limit",
                f"You have exceeded AWS SSO limits. Cannot attach more than {MAX_MANAGED} policies to a permission set.",
            )
        be.attach_managed_policy_to_permission_set(
            instance_arn=a["InstanceArn"], permission_set_arn=ps.permission_set_arn, managed_policy_arn=arn
        )
        return "{}"


def put_inline_policy_to_permission_set(self):
    a = _params(self)
    with LOCK:
        be = _sso(self)
        ps = _existing(self, be, a)
        text = a.get("InlinePolicy") or ""
        solid = len("".join(text.split()).encode())
        if not text or len(text.encode()) > MAX_INLINE or solid > MAX_INLINE_SOLID:
            raise rules.refuse(
                "identitycenter.inline-policy-size",
                f"InlinePolicy is {len(text.encode())} bytes ({solid} without whitespace); at most {MAX_INLINE} ({MAX_INLINE_SOLID}).",
            )
        ps.inline_policy = text
        return "{}"


def _provisioning(be) -> dict:
    return _xstate(be).setdefault("provisioning", {})


def provision_permission_set(self):
    a = _params(self)
    with LOCK:
        be = _sso(self)
        ps = _existing(self, be, a)
        if a.get("TargetType") not in ("AWS_ACCOUNT", "ALL_PROVISIONED_ACCOUNTS"):
            raise validation("TargetType must be AWS_ACCOUNT or ALL_PROVISIONED_ACCOUNTS.")
        rid = str(uuid.uuid4())
        status = {
            "Status": "IN_PROGRESS",
            "RequestId": rid,
            "PermissionSetArn": ps.permission_set_arn,
            "CreatedDate": now(),
        }
        polls = int(control.CONFIG.get("assignment_polls", 1) or 0)
        if polls <= 0:
            status["Status"] = "SUCCEEDED"
        _provisioning(be)[rid] = {"instance": a["InstanceArn"], "polls_left": polls, "status": status}
        return json.dumps({"PermissionSetProvisioningStatus": dict(status)})


def describe_permission_set_provisioning_status(self):
    a = _params(self)
    with LOCK:
        be = _sso(self)
        _instance(be, a.get("InstanceArn"))
        req = _provisioning(be).get(a.get("ProvisionPermissionSetRequestId") or "")
        if req is None or req["instance"] != a["InstanceArn"]:
            raise AwsError("ResourceNotFoundException", f"Request {a.get('ProvisionPermissionSetRequestId')} not found.")
        if req["status"]["Status"] == "IN_PROGRESS":
            if req["polls_left"] > 0:
                req["polls_left"] -= 1
            if req["polls_left"] <= 0:
                req["status"]["Status"] = "SUCCEEDED"
        return json.dumps({"PermissionSetProvisioningStatus": dict(req["status"])})


def delete_permission_set(self):
    a = _params(self)
    with LOCK:
        be = _sso(self)
        ps = _existing(self, be, a)
        used = [x for x in be.account_assignments if x.permission_set_arn == ps.permission_set_arn]
        if used:
            raise rules.refuse(
                "identitycenter.permission-set-in-use",
                f"Permission set {ps.permission_set_arn} is assigned to {len(used)} account assignment(s).",
            )
        be.permission_sets.remove(ps)
        return "{}"


OPS = [
    create_permission_set, update_permission_set, tag_resource, list_tags_for_resource,
    attach_managed_policy_to_permission_set, put_inline_policy_to_permission_set, provision_permission_set,
    describe_permission_set_provisioning_status, delete_permission_set, list_permission_sets_provisioned_to_account,
    detach_managed_policy_from_permission_set, delete_inline_policy_from_permission_set,
]

# moto's own handlers the wrappers above call after their checks.
_MOTO: dict = {}


def install() -> None:
    for name in ("detach_managed_policy_from_permission_set", "delete_inline_policy_from_permission_set"):
        _MOTO.setdefault(name, getattr(SSOAdminResponse, name))
    for fn in OPS:
        setattr(SSOAdminResponse, fn.__name__, fn)
