"""IAM Identity Center (sso-admin) and Identity Store, with the rules of issue 18.

moto 5.2.5 has both services but answers every account assignment SUCCEEDED at once, checks no
instance, permission set, principal or target, and lets a second identical assignment in. This
module replaces the handlers vend uses (SSOAdminResponse / IdentityStoreResponse) and keeps its
extra state on moto's backend objects (moto's reset clears it):

* Instances: moto creates one instance (with its identity store) per account and region on
  first use; the emulator serves the organization's instance — the management account's — in
  Identity Center's home region only (control setting `identity_center_region`, default
  us-east-1), and no instance in another region or to a member account (`serving_account`). A
  member account registered as delegated administrator for `sso.amazonaws.com`
  (RegisterDelegatedAdministrator, which moto refused for that principal) is served the
  management account's instance and identity store.
* CreateAccountAssignment / DeleteAccountAssignment are asynchronous: the request answers
  IN_PROGRESS for `assignment_polls` Describe…Status calls (control setting, default 1), or
  until `assignment_settle_ms` has passed (AWS finishes on its own), then SUCCEEDED or FAILED.
  An assignment is listed (ListAccountAssignments) from its creation's success on, and no
  longer from its deletion's success on.
* Rules (src/adapter/aws_rules.yaml): `identitycenter.instance-exists` (ResourceNotFoundException),
  `identitycenter.permission-set-exists` (ResourceNotFoundException), `identitycenter.assignment-unique`
  (ConflictException while a request on the same assignment is IN_PROGRESS; an identical create
  after success is accepted and changes nothing), `identitycenter.assignment-exists`
  (ResourceNotFoundException), and, asynchronously (the request's status turns FAILED with a
  FailureReason, counted with `rules.fired`), `identitycenter.principal-exists` and
  `identitycenter.target-in-organization`; `identitystore.group-exists` (GetGroupId);
  `identitycenter.delegated-admin-management-account` (AccessDeniedException: the delegated
  administrator gives or takes access to the management account).
"""

import json
import threading
import time
import uuid
from typing import Any

from moto.identitystore.models import identitystore_backends
from moto.identitystore.responses import IdentityStoreResponse
from moto.organizations.models import FakeDelegatedAdministrator, organizations_backends
from moto.ssoadmin.models import AccountAssignment, PermissionSet, ssoadmin_backends
from moto.ssoadmin.responses import SSOAdminResponse

from . import control, rules

# moto names an instance's identity store `d-` + 10 random lower-case letters and digits; AWS's
# are `d-` + 10 hex digits (Identity Store API reference, IdentityStoreId: "Pattern:
# d-[0-9a-f]{10}$|^[0-9a-f]{8}\b-..."), which vend's snapshot check holds a state to.
import moto.ssoadmin.models as _sso_models

_moto_instance_init = _sso_models.Instance.__init__


def _instance_init(self, account_id: str, region: str) -> None:
    _moto_instance_init(self, account_id, region)
    self.identity_store_id = f"d-{uuid.uuid4().hex[:10]}"


_sso_models.Instance.__init__ = _instance_init
from .errors import AwsError
from .util import now, page

LOCK = threading.RLock()
SSO_PRINCIPAL = "sso.amazonaws.com"
# ListPermissionSets / ListAccountAssignments: MaxResults 1-100 (API reference); AWS documents
# no default, the emulator pages by 100 unless asked for fewer.
PAGE_MAX = 100


def _params(self) -> dict:
    """The request's JSON body ({} when there is none or it is not an object); account.py and
    permission_sets.py read theirs with it too."""
    try:
        a = json.loads(self.body or "{}")
    except ValueError:
        a = {}
    return a if isinstance(a, dict) else {}


def validation(msg: str) -> AwsError:
    """A malformed request (missing member, value outside its enum): not a rule of the table."""
    return AwsError("ValidationException", msg)


# ------------------------------------------------------------------ organizations


def org_of_account(account_id: str, partition: str):
    """The Organizations backend of the organization `account_id` belongs to (its management
    account's), or None."""
    be = organizations_backends[account_id][partition]
    if be.org is not None:
        return be
    for _acct, per_partition in list(organizations_backends.items()):
        other = per_partition.get(partition) if hasattr(per_partition, "get") else None
        if other is not None and other.org is not None and any(a.id == account_id for a in other.accounts):
            return other
    return None


def delegated_admin(org_be, account_id: str, principal: str) -> bool:
    return any(adm.account.id == account_id and principal in adm.services for adm in getattr(org_be, "admins", []))


def owner_account(self) -> str:
    """The account whose instance serves the caller: the caller itself, or — for a member account
    that is delegated administrator for IAM Identity Center — the management account."""
    caller = self.current_account
    org_be = org_of_account(caller, self.partition)
    if org_be is not None and org_be.org.master_account_id != caller and delegated_admin(org_be, caller, SSO_PRINCIPAL):
        return org_be.org.master_account_id
    return caller


# The account whose backends stand for "no instance here" (their moto-made instance removed).
NOBODY = "000000000000"


def serving_account(self) -> str:
    """The account whose Identity Center serves the request, or NOBODY. AWS has one organization
    instance, in the management account, in its home region: ListInstances elsewhere answers no
    instance (an AWS answer to a caller in the wrong region: aws-amplify/amplify-backend#2490,
    `{ "Instances": [] }`, "ensure the CloudShell was opened in the same region as where the
    IAM Identity Center was created"), and so it does for a member account that is not the
    delegated administrator (account instances are not modelled). moto makes an instance per
    account and region on first use; an account outside any organization keeps its own."""
    owner = owner_account(self)
    org_be = org_of_account(owner, self.partition)
    if org_be is None:
        return owner
    if self.region != control.CONFIG.get("identity_center_region") or owner != org_be.org.master_account_id:
        return NOBODY
    return owner


def _nobody(backends, region: str):
    be = backends[NOBODY][region]
    if getattr(be, "instances", None):
        be.instances.clear()
    return be


def _sso(self):
    account = serving_account(self)
    if account == NOBODY:
        return _nobody(ssoadmin_backends, self.region)
    return ssoadmin_backends[account][self.region]


def _xstate(be) -> dict:
    st = be.__dict__.get("_vend")
    if st is None:
        st = {"requests": {}}  # request id -> {kind, key, polls_left, started, status}
        be.__dict__["_vend"] = st
    return st


def _instance(be, arn: Any):
    inst = next((i for i in be.instances if i.instance_arn == arn), None)
    if inst is None:
        raise rules.refuse("identitycenter.instance-exists", f"Instance {arn} not found.")
    return inst


def _permission_set(be, instance_arn: str, arn: Any) -> PermissionSet:
    ps = next((p for p in be.permission_sets if p.permission_set_arn == arn and p.instance_arn == instance_arn), None)
    if ps is None:
        raise rules.refuse("identitycenter.permission-set-exists", f"Could not find PermissionSet with ARN {arn}.")
    return ps


# ------------------------------------------------------------------ permission sets


def create_permission_set(self):
    a = _params(self)
    with LOCK:
        be = _sso(self)
        _instance(be, a.get("InstanceArn"))
        if not a.get("Name"):
            raise validation("Name is required.")
        if any(p.instance_arn == a["InstanceArn"] and p.name == a["Name"] for p in be.permission_sets):
            raise AwsError("ConflictException", f"Permission set with name {a['Name']} already exists.")
        ps = be.create_permission_set(
            name=a["Name"],
            description=a.get("Description"),
            instance_arn=a["InstanceArn"],
            session_duration=a.get("SessionDuration") or "PT1H",
            relay_state=a.get("RelayState"),
            tags=a.get("Tags") or [],
        )
        return json.dumps({"PermissionSet": {k: v for k, v in ps.items() if v is not None}})


def _paged(a: dict, key: str, items: list) -> str:
    """The page of `items` the request `a` asks for (NextToken, MaxResults) as `{key: [...]}`,
    with the NextToken of the next page when there is one."""
    chunk, nxt = page(items, a.get("NextToken"), a.get("MaxResults"), PAGE_MAX)
    out: dict[str, Any] = {key: chunk}
    if nxt:
        out["NextToken"] = nxt
    return json.dumps(out)


def list_permission_sets(self):
    a = _params(self)
    with LOCK:
        be = _sso(self)
        _instance(be, a.get("InstanceArn"))
        arns = [p.permission_set_arn for p in be.permission_sets if p.instance_arn == a["InstanceArn"]]
        return _paged(a, "PermissionSets", arns)


def describe_permission_set(self):
    a = _params(self)
    with LOCK:
        be = _sso(self)
        _instance(be, a.get("InstanceArn"))
        ps = _permission_set(be, a["InstanceArn"], a.get("PermissionSetArn"))
        d = {k: v for k, v in ps.to_json(include_creation_date=True).items() if v is not None}
        return json.dumps({"PermissionSet": d})


# ------------------------------------------------------------------ account assignments

KEY_FIELDS = ("TargetId", "TargetType", "PermissionSetArn", "PrincipalType", "PrincipalId")


def _key(instance_arn: str, a: dict) -> tuple:
    return (instance_arn,) + tuple(a.get(k) for k in KEY_FIELDS)


def _assignment(be, key: tuple) -> AccountAssignment | None:
    for x in be.account_assignments:
        if (x.instance_arn, x.target_id, x.target_type, x.permission_set_arn, x.principal_type, x.principal_id) == key:
            return x
    return None


def _principal_missing(self, inst, ptype: str, pid: str) -> bool:
    store = identitystore_backends[inst.account_id][self.region].identity_stores.get(inst.identity_store_id)
    if store is None:
        return True
    return pid not in (store.groups if ptype == "GROUP" else store.users)


def _target_missing(self, inst, target: str) -> str | None:
    """Why `target` is not an account of the instance's organization (None when it is)."""
    org_be = organizations_backends[inst.account_id][self.partition]
    if org_be.org is None:
        return None if target == inst.account_id else f"account {target} is not the instance's account {inst.account_id}"
    if any(x.id == target for x in org_be.accounts):
        return None
    return f"account {target} is not a member of organization {org_be.org.id}"


def _finalize(self, be, req: dict) -> None:
    """An IN_PROGRESS request ends: SUCCEEDED (the assignment is made or removed) or FAILED."""
    st, key = req["status"], req["key"]
    inst = next((i for i in be.instances if i.instance_arn == key[0]), None)
    if inst is not None and _principal_missing(self, inst, key[4], key[5]):
        st.update(
            Status="FAILED",
            FailureReason=f"Received a 404 status error: the {key[4]} assignee {key[5]} was not found in directory {inst.identity_store_id}",
        )
        rules.fired("identitycenter.principal-exists")
        return
    if req["kind"] == "create" and inst is not None:
        why = _target_missing(self, inst, key[1])
        if why is not None:
            st.update(Status="FAILED", FailureReason=f"Received a 400 status error: {why}")
            rules.fired("identitycenter.target-in-organization")
            return
    existing = _assignment(be, key)
    if req["kind"] == "create":
        if existing is None:
            be.account_assignments.append(AccountAssignment(*key))
    elif existing is not None:
        be.account_assignments.remove(existing)
    st["Status"] = "SUCCEEDED"


def _settle(self, be) -> None:
    """Requests that have been in progress for `assignment_settle_ms` finish on their own."""
    settle = float(control.CONFIG.get("assignment_settle_ms", 3000) or 0) / 1000.0
    t = time.monotonic()
    for req in _xstate(be)["requests"].values():
        if req["status"]["Status"] == "IN_PROGRESS" and t - req["started"] >= settle:
            _finalize(self, be, req)


def _in_progress(be, key: tuple) -> bool:
    return any(r["key"] == key and r["status"]["Status"] == "IN_PROGRESS" for r in _xstate(be)["requests"].values())


def _check_request(be, a: dict) -> tuple:
    _instance(be, a.get("InstanceArn"))
    for k in ("TargetId", "PermissionSetArn", "PrincipalId"):
        if not a.get(k):
            raise validation(f"{k} is required.")
    if a.get("TargetType") != "AWS_ACCOUNT":
        raise validation("TargetType must be AWS_ACCOUNT.")
    if a.get("PrincipalType") not in ("USER", "GROUP"):
        raise validation("PrincipalType must be USER or GROUP.")
    _permission_set(be, a["InstanceArn"], a["PermissionSetArn"])
    return _key(a["InstanceArn"], a)


def _start(self, be, kind: str, key: tuple) -> dict:
    rid = str(uuid.uuid4())
    status = {
        "Status": "IN_PROGRESS",
        "RequestId": rid,
        "TargetId": key[1],
        "TargetType": key[2],
        "PermissionSetArn": key[3],
        "PrincipalType": key[4],
        "PrincipalId": key[5],
        "CreatedDate": now(),
    }
    req = {
        "kind": kind,
        "key": key,
        "instance": key[0],
        "polls_left": int(control.CONFIG.get("assignment_polls", 1) or 0),
        "started": time.monotonic(),
        "status": status,
    }
    _xstate(be)["requests"][rid] = req
    if req["polls_left"] <= 0:
        _finalize(self, be, req)
    return req


CONFLICT = "There is a conflicting operation in process on this account assignment. Please try again later."


def _check_admin(self, a: dict) -> None:
    """A delegated administrator (served the management account's instance) cannot give or take
    access to the management account (rule `identitycenter.delegated-admin-management-account`;
    IAM Identity Center user guide, "Register a member account": every task "except for: ...
    Enabling or disabling user access in the management account")."""
    caller, owner = self.current_account, owner_account(self)
    if caller != owner and a.get("TargetId") == owner:
        raise rules.refuse(
            "identitycenter.delegated-admin-management-account",
            f"User: arn:aws:iam::{caller}:root is not authorized to manage access to the management account {owner}.",
        )


def _assignment_request(self, kind: str, out_member: str) -> str:
    """CreateAccountAssignment (`kind` "create") or DeleteAccountAssignment ("delete"): refused
    while a request on the same assignment is in progress, a deletion also when there is no such
    assignment; else the request started, answered with its status as `out_member`."""
    a = _params(self)
    with LOCK:
        be = _sso(self)
        _settle(self, be)
        key = _check_request(be, a)
        _check_admin(self, a)
        if _in_progress(be, key):
            raise rules.refuse("identitycenter.assignment-unique", CONFLICT)
        if kind == "delete" and _assignment(be, key) is None:
            raise rules.refuse("identitycenter.assignment-exists", "Could not find the account assignment to delete.")
        req = _start(self, be, kind, key)
        return json.dumps({out_member: dict(req["status"])})


def create_account_assignment(self):
    return _assignment_request(self, "create", "AccountAssignmentCreationStatus")


def delete_account_assignment(self):
    return _assignment_request(self, "delete", "AccountAssignmentDeletionStatus")


def _describe(self, kind: str, id_member: str, out_member: str) -> str:
    a = _params(self)
    with LOCK:
        be = _sso(self)
        _instance(be, a.get("InstanceArn"))
        req = _xstate(be)["requests"].get(a.get(id_member) or "")
        if req is None or req["kind"] != kind or req["instance"] != a["InstanceArn"]:
            raise AwsError("ResourceNotFoundException", f"Request {a.get(id_member)} not found.")
        if req["status"]["Status"] == "IN_PROGRESS":
            if req["polls_left"] > 0:
                req["polls_left"] -= 1
                _settle(self, be)
            else:
                _finalize(self, be, req)
        return json.dumps({out_member: dict(req["status"])})


def describe_account_assignment_creation_status(self):
    return _describe(self, "create", "AccountAssignmentCreationRequestId", "AccountAssignmentCreationStatus")


def describe_account_assignment_deletion_status(self):
    return _describe(self, "delete", "AccountAssignmentDeletionRequestId", "AccountAssignmentDeletionStatus")


def list_account_assignments(self):
    a = _params(self)
    with LOCK:
        be = _sso(self)
        _settle(self, be)
        _instance(be, a.get("InstanceArn"))
        if not a.get("AccountId"):
            raise validation("AccountId is required.")
        _permission_set(be, a["InstanceArn"], a.get("PermissionSetArn"))
        items = [
            {"AccountId": x.target_id, "PermissionSetArn": x.permission_set_arn, "PrincipalType": x.principal_type, "PrincipalId": x.principal_id}
            for x in be.account_assignments
            if x.instance_arn == a["InstanceArn"] and x.target_id == a["AccountId"] and x.permission_set_arn == a["PermissionSetArn"]
        ]
        return _paged(a, "AccountAssignments", items)


# ------------------------------------------------------------------ identity store


def _store_backend(self):
    return identitystore_backends[serving_account(self)][self.region]


def get_group_id(self):
    a = _params(self)
    with LOCK:
        be = _store_backend(self)
        store = be.identity_stores.get(a.get("IdentityStoreId") or "")
        attr = (a.get("AlternateIdentifier") or {}).get("UniqueAttribute") or {}
        if (attr.get("AttributePath") or "").lower() != "displayname":
            raise validation("Only the unique attribute displayName is supported for groups.")
        value = attr.get("AttributeValue")
        for g in (store.groups.values() if store is not None else []):
            if g.DisplayName == value:
                return json.dumps({"GroupId": g.GroupId, "IdentityStoreId": a["IdentityStoreId"]})
        raise rules.refuse("identitystore.group-exists", "GROUP not found.", ResourceType="GROUP")


def _route_identitystore(self):
    return _store_backend(self)


SSO_OPS = [
    create_permission_set, list_permission_sets, describe_permission_set, create_account_assignment,
    delete_account_assignment, describe_account_assignment_creation_status,
    describe_account_assignment_deletion_status, list_account_assignments,
]


def install() -> None:
    for fn in SSO_OPS:
        setattr(SSOAdminResponse, fn.__name__, fn)
    # ListInstances and moto's other sso-admin handlers: the instance of the owner account.
    SSOAdminResponse.ssoadmin_backend = property(_sso)
    IdentityStoreResponse.identitystore_backend = property(_route_identitystore)
    IdentityStoreResponse.get_group_id = get_group_id
    # AWS lets IAM Identity Center and Account Management have a delegated administrator; moto
    # 5.2.5 refuses both principals.
    for principal in (SSO_PRINCIPAL, "account.amazonaws.com"):
        if principal not in FakeDelegatedAdministrator.SUPPORTED_SERVICES:
            FakeDelegatedAdministrator.SUPPORTED_SERVICES.append(principal)

