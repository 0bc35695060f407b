"""AWS Organizations rules moto skips, enforced at the API entry (OrganizationsResponse).

Checks run before moto's own handler; moto's internals (which attach default policies through
the backend) stay untouched. Extra state (pending/failed CreateAccount requests) lives on the
backend object, so moto's reset clears it.

One writer per entity (`write_guard`, registered with control.WRITE_GUARDS): a write claims the
entities it is "the target" of (`WRITE_TARGETS`) from its arrival until it has run, and a second
write touching one of them meanwhile answers ConcurrentModificationException, as AWS does.
"""

import json
import re
import threading
import uuid
from typing import Any

from moto.iam.models import get_account_id_from
from moto.organizations.models import organizations_backends
from moto.organizations.responses import OrganizationsResponse
from moto.utilities.utils import get_partition

from . import control, rules
from .checks import check_length, check_tags
from .errors import AwsError
from .util import now

LOCK = threading.RLock()
SCP = "SERVICE_CONTROL_POLICY"
# The policy types Organizations knows (EnablePolicyType's PolicyType enum).
POLICY_TYPES = (
    "SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY", "TAG_POLICY", "BACKUP_POLICY",
    "AISERVICES_OPT_OUT_POLICY", "CHATBOT_POLICY", "DECLARATIVE_POLICY_EC2",
)


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


def _root(be):
    return next((o for o in be.ou if getattr(o, "type", "") == "ROOT"), None)


def _scp_enabled(be) -> bool:
    root = _root(be)
    return bool(root) and any(t["Type"] == SCP and t.get("Status") == "ENABLED" for t in root.policy_types)


def _require_scp(be, ptype: str | None) -> None:
    if be.org is None:
        raise AwsError("AWSOrganizationsNotInUseException", "Your account is not a member of an organization.")
    if (ptype or SCP) == SCP and not _scp_enabled(be):
        raise rules.refuse("organizations.scp-enabled", "This operation can be performed only for enabled policy types.")


def _target(rule_id: str, be, target_id: str):
    """The root, OU or account `target_id` (rule `rule_id` refuses an unknown one)."""
    for o in be.ou:
        if o.id == target_id:
            return o
    for a in be.accounts:
        if a.id == target_id:
            return a
    raise rules.refuse(rule_id, "You specified a target that doesn't exist.")


def _ou(be, ou_id: str):
    """The OU `ou_id` (not the root)."""
    ou = next((o for o in be.ou if o.id == ou_id and getattr(o, "type", "") != "ROOT"), None)
    if ou is None:
        raise rules.refuse("organizations.ou-exists", "We can't find an OU with the OrganizationalUnitId that you specified.")
    return ou


def _policy(be, policy_id: str):
    pol = next((p for p in be.policies if p.id == policy_id), None)
    if pol is None:
        raise rules.refuse("organizations.policy-exists", "We can't find a policy with the PolicyId that you specified.")
    return pol


def _account(be, account_id: str):
    acct = next((a for a in be.accounts if a.id == account_id), None)
    if acct is None:
        raise rules.refuse("organizations.account-exists", "We can't find an AWS account with the AccountId that you specified.")
    return acct


def _depth(be, parent_id: str) -> int:
    """Depth of an entity whose parent is parent_id (root children are depth 1)."""
    depth = 1
    cur = next((o for o in be.ou if o.id == parent_id), None)
    while cur is not None and getattr(cur, "type", "") != "ROOT":
        depth += 1
        cur = next((o for o in be.ou if o.id == cur.parent_id), None)
    return depth


def _check_size(content: Any) -> None:
    if content is not None and len(content.encode("utf-8")) > rules.limit("organizations.policy-size"):
        raise rules.refuse("organizations.policy-size", "You have exceeded the maximum policy size.")


def _check_json(content: Any) -> None:
    """A policy document must be a JSON object (MalformedPolicyDocumentException)."""
    if content is None:
        return
    try:
        doc = json.loads(content)
    except ValueError:
        doc = None
    statements = doc.get("Statement") if isinstance(doc, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    # SCP syntax (AWS Organizations User Guide, "SCP syntax"): Effect is Allow or Deny; a statement
    # names its actions with Action or NotAction.
    valid = isinstance(statements, list) and len(statements) > 0 and all(
        isinstance(st, dict) and st.get("Effect") in ("Allow", "Deny") and (("Action" in st) != ("NotAction" in st))
        for st in statements
    )
    if not valid:
        raise rules.refuse("organizations.policy-json", "The provided policy document doesn't meet the requirements of the specified policy type.")


def _check_tags(tags: Any, existing: dict | None = None) -> None:
    """Organizations tags: key 1-128, value 0-256 characters of the API model's pattern; an
    `aws:` key is a system tag (INVALID_SYSTEM_TAGS_PARAMETER); at most
    `limit("organizations.tag-count")` tags per resource."""
    check_tags("organizations.tag-shape", "organizations.tag-count", tags, existing)


# E-mail (CreateAccount.Email in the API reference): 6-64 characters, 7-bit ASCII, exactly one
# `@`; the local name has no whitespace or any of " ' ( ) < > [ ] : ; , \ | % & and does not
# begin with a dot; the domain is [a-zA-Z0-9.-], neither begins nor ends with `-` or `.`, and
# has at least one dot.
_LOCAL_BAD = set(" \t\r\n\"'()<>[]:;,\\|%&")
_DOMAIN = re.compile(r"^[A-Za-z0-9.-]+$")


def _check_email(rule_id: str, email: Any) -> None:
    e = email or ""
    check_length(rule_id, e, "Email", 6, rules.limit(rule_id))

    def bad() -> AwsError:
        return rules.refuse(rule_id, "You provided a value that does not match the required pattern.", reason="INVALID_PATTERN")

    if not e.isascii() or e.count("@") != 1:
        raise bad()
    local, domain = e.split("@")
    if not local or local.startswith(".") or any(c in _LOCAL_BAD or c.isspace() for c in local):
        raise bad()
    if not _DOMAIN.match(domain) or domain[0] in ".-" or domain[-1] in ".-" or "." not in domain:
        raise bad()


def _is_management(be, account_id: str) -> bool:
    return be.org is not None and account_id == be.org.master_account_id


def _drop_scps(be, target) -> None:
    """Detach every SCP from `target` (moto attaches FullAWSAccess to new OUs and accounts even
    when the SCP type is disabled; AWS attaches nothing then)."""
    for p in [p for p in target.attached_policies if p.type == SCP]:
        target.attached_policies.remove(p)
        if target in p.attachments:
            p.attachments.remove(target)


ORIG: dict[str, Any] = {}


def create_organizational_unit(self):
    a = _params(self)
    with LOCK:
        be = _be(self)
        if not any(o.id == a.get("ParentId") for o in be.ou):
            raise rules.refuse("organizations.parent-exists", "We can't find a root or OU with the ParentId that you specified.")
        if _depth(be, a["ParentId"]) > rules.limit("organizations.ou-depth"):
            raise rules.refuse("organizations.ou-depth", "You attempted to create an OU tree that is too many levels deep.")
        check_length("organizations.ou-name", a.get("Name"), "Name", 1, rules.limit("organizations.ou-name"))
        _check_tags(a.get("Tags"))
        if any(o.parent_id == a["ParentId"] and o.name == a.get("Name") for o in be.ou):
            raise rules.refuse("organizations.ou-name-unique", "An OU with the same name already exists.")
        if sum(1 for o in be.ou if getattr(o, "type", "") != "ROOT") >= rules.limit("organizations.ou-count"):
            raise rules.refuse("organizations.ou-count", "You have reached the maximum number of OUs in your organization.")
        out = ORIG["create_organizational_unit"](self)
        if not _scp_enabled(be):
            ou_id = json.loads(out)["OrganizationalUnit"]["Id"]
            _drop_scps(be, be.get_organizational_unit_by_id(ou_id))
        return out


def delete_organizational_unit(self):
    a = _params(self)
    with LOCK:
        be = _be(self)
        ou = _ou(be, a.get("OrganizationalUnitId", ""))
        if any(x.parent_id == ou.id for x in be.accounts) or any(x.parent_id == ou.id for x in be.ou):
            raise rules.refuse("organizations.ou-empty-to-delete", "The specified OU is not empty. Move all accounts to another root or OU and delete all child OUs, then try the operation again.")
        for p in list(ou.attached_policies):
            ou.attached_policies.remove(p)
            if ou in p.attachments:
                p.attachments.remove(ou)
        return ORIG["delete_organizational_unit"](self)


def update_organizational_unit(self):
    """Rename an OU in place. moto 5.2.5 refuses a name any OU in the organization has (itself
    included) and checks neither the OU's existence first nor the length. AWS: "Renames the
    specified organizational unit (OU). The ID and ARN don't change." Name: "Minimum length of 1.
    Maximum length of 128." DuplicateOrganizationalUnitException: "An OU with the same name
    already exists." (https://docs.aws.amazon.com/organizations/latest/APIReference/API_UpdateOrganizationalUnit.html);
    names are unique among siblings, as for CreateOrganizationalUnit."""
    a = _params(self)
    with LOCK:
        be = _be(self)
        ou = _ou(be, a.get("OrganizationalUnitId", ""))
        name = a.get("Name")
        check_length("organizations.ou-name", name, "Name", 1, rules.limit("organizations.ou-name"))
        if any(o.parent_id == ou.parent_id and o.name == name and o.id != ou.id for o in be.ou):
            raise rules.refuse("organizations.ou-name-unique", "An OU with the same name already exists.")
        ou.name = name
        return json.dumps({"OrganizationalUnit": ou.describe()["OrganizationalUnit"]})


def create_policy(self):
    a = _params(self)
    with LOCK:
        be = _be(self)
        ptype = a.get("Type") or SCP
        _require_scp(be, ptype)
        check_length("organizations.policy-name", a.get("Name"), "Name", 1, rules.limit("organizations.policy-name"))
        if any(p.type == ptype and p.name == a.get("Name") for p in be.policies):
            raise rules.refuse("organizations.policy-name-unique", "A policy with the same name already exists.")
        if ptype == SCP:
            _check_size(a.get("Content"))
        _check_json(a.get("Content"))
        _check_tags(a.get("Tags"))
        # The quota counts every policy of the type, FullAWSAccess included.
        if sum(1 for p in be.policies if p.type == ptype) >= rules.limit("organizations.policy-count"):
            raise rules.refuse("organizations.policy-count", "You have reached the maximum number of policies of this type in your organization.")
        return ORIG["create_policy"](self)


def update_policy(self):
    a = _params(self)
    with LOCK:
        be = _be(self)
        pol = _policy(be, a.get("PolicyId", ""))
        if pol.aws_managed:
            raise rules.refuse("organizations.aws-managed-policy-immutable", "You specified a policy that is managed by AWS and can't be modified.")
        if pol.type == SCP:
            _check_size(a.get("Content"))
        _check_json(a.get("Content"))
        return ORIG["update_policy"](self)


def delete_policy(self):
    a = _params(self)
    with LOCK:
        be = _be(self)
        pol = _policy(be, a.get("PolicyId", ""))
        if pol.aws_managed:
            raise rules.refuse("organizations.aws-managed-policy-immutable", "You specified a policy that is managed by AWS and can't be modified.")
        if pol.attachments:
            raise rules.refuse("organizations.policy-detached-to-delete", "The policy is attached to one or more entities. You must detach it from all roots, OUs, and accounts before performing this operation.")
        return ORIG["delete_policy"](self)


def tag_resource(self):
    a = _params(self)
    with LOCK:
        be = _be(self)
        rid = a.get("ResourceId", "")
        res = next((x for x in list(be.ou) + list(be.accounts) + list(be.policies) if x.id == rid), None)
        if res is None:
            raise rules.refuse("organizations.tag-target-exists", "We can't find a root, OU, account, or policy with the TargetId that you specified.")
        if getattr(res, "aws_managed", False):
            raise rules.refuse("organizations.aws-managed-policy-immutable", "You specified a policy that is managed by AWS and can't be modified.")
        _check_tags(a.get("Tags"), res.tags)
        return ORIG["tag_resource"](self)


def close_account(self):
    a = _params(self)
    with LOCK:
        be = _be(self)
        acct = _account(be, a.get("AccountId", ""))
        if _is_management(be, acct.id):
            raise rules.refuse("organizations.close-not-management", "You attempted to close the management account.")
        if acct.status != "ACTIVE":
            raise rules.refuse("organizations.close-active-only", "You attempted to close an account that is already closed.")
        return ORIG["close_account"](self)


def create_organization(self):
    """moto's CreateOrganization leaves the SCP type disabled on the root (AWS enables it for
    FeatureSet ALL; vend's seeds call EnablePolicyType) but attaches FullAWSAccess anyway. While
    the type is disabled nothing carries an SCP, as in an AWS organization whose SCPs were
    disabled; EnablePolicyType then attaches FullAWSAccess everywhere."""
    with LOCK:
        out = ORIG["create_organization"](self)
        be = _be(self)
        if not _scp_enabled(be):
            for t in list(be.ou) + list(be.accounts):
                _drop_scps(be, t)
        return out


def enable_policy_type(self):
    """Enabling SCPs attaches FullAWSAccess to the root, every OU and every account (AWS)."""
    a = _params(self)
    with LOCK:
        be = _be(self)
        root = next((o for o in be.ou if o.id == a.get("RootId") and getattr(o, "type", "") == "ROOT"), None)
        if root is None:
            raise rules.refuse("organizations.root-exists", "We can't find a root with the RootId that you specified.")
        if a.get("PolicyType") not in POLICY_TYPES:
            raise rules.refuse("organizations.policy-type-known", "You specified an invalid value.", reason="INVALID_ENUM")
        if any(t["Type"] == a["PolicyType"] and t.get("Status") == "ENABLED" for t in root.policy_types):
            raise rules.refuse("organizations.policy-type-enable-once", "The specified policy type is already enabled in the specified root.")
        out = ORIG["enable_policy_type"](self)
        if a.get("PolicyType") == SCP:
            full = next((p for p in be.policies if p.aws_managed and p.type == SCP), None)
            if full is not None:
                for t in list(be.ou) + list(be.accounts):
                    if full not in t.attached_policies:
                        t.attached_policies.append(full)
                        full.attachments.append(t)
        return out


def disable_policy_type(self):
    """Disabling SCPs detaches every SCP from every root, OU and account (AWS)."""
    a = _params(self)
    with LOCK:
        be = _be(self)
        out = ORIG["disable_policy_type"](self)
        if a.get("PolicyType") == SCP:
            for t in list(be.ou) + list(be.accounts):
                _drop_scps(be, t)
        return out


def attach_policy(self):
    a = _params(self)
    with LOCK:
        be = _be(self)
        pol = _policy(be, a.get("PolicyId", ""))
        _require_scp(be, pol.type)
        tgt = _target("organizations.attach-target-exists", be, a.get("TargetId", ""))
        if pol in tgt.attached_policies:
            raise rules.refuse("organizations.attach-once", "The selected policy is already attached to the specified target.")
        most = rules.limit("organizations.scp-max-per-target")
        if pol.type == SCP and sum(1 for p in tgt.attached_policies if p.type == SCP) >= most:
            raise rules.refuse("organizations.scp-max-per-target", "You attempted to exceed the number of policies of a certain type that can be attached to an entity.")
        return ORIG["attach_policy"](self)


def detach_policy(self):
    a = _params(self)
    with LOCK:
        be = _be(self)
        pol = _policy(be, a.get("PolicyId", ""))
        tgt = _target("organizations.attach-target-exists", be, a.get("TargetId", ""))
        if pol not in tgt.attached_policies:
            raise rules.refuse("organizations.detach-attached-only", "The policy isn't attached to the specified target.")
        least = rules.limit("organizations.scp-min-per-target")
        if pol.type == SCP and sum(1 for p in tgt.attached_policies if p.type == SCP) <= least:
            raise rules.refuse("organizations.scp-min-per-target", "You attempted to detach a policy from an entity that would leave it without any policy of that type.")
        return ORIG["detach_policy"](self)


def move_account(self):
    a = _params(self)
    with LOCK:
        be = _be(self)
        acct = _account(be, a.get("AccountId", ""))
        src, dst = a.get("SourceParentId", ""), a.get("DestinationParentId", "")
        if not any(o.id == src for o in be.ou):
            raise rules.refuse("organizations.move-source-is-parent", "You specified a source parent that doesn't exist.")
        if not any(o.id == dst for o in be.ou):
            raise rules.refuse("organizations.move-destination-exists", "You specified a destination parent that doesn't exist.")
        if acct.parent_id == dst:
            raise rules.refuse("organizations.move-not-already-there", "That account is already present in the specified destination.")
        if acct.parent_id != src:
            raise rules.refuse("organizations.move-source-is-parent", "The account is not a child of the specified source parent.")
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
        st.update(State="FAILED", FailureReason=rules.rule("organizations.email-unique")["code"], CompletedTimestamp=now())
        rules.fired("organizations.email-unique")
        return
    out = be.create_account(**req["kwargs"])
    acct_id = out["CreateAccountStatus"]["AccountId"]
    acct = be.get_account_by_id(acct_id)
    acct.create_account_status_id = st["Id"]
    if not _scp_enabled(be):
        _drop_scps(be, acct)
    st.update(State="SUCCEEDED", AccountId=acct_id, CompletedTimestamp=now())


def create_account(self):
    a = _params(self)
    with LOCK:
        be = _be(self)
        if be.org is None:
            raise AwsError("AWSOrganizationsNotInUseException", "Your account is not a member of an organization.")
        # The request is checked at the call (InvalidInputException, nothing created): the
        # e-mail rules and the account name of the API model (CreateAccountName: 1-50
        # characters of [\u0020-\u007E]), and the tags, all-or-nothing.
        check_length("organizations.account-name", a.get("AccountName"), "AccountName", 1, rules.limit("organizations.account-name"))
        if not all(0x20 <= ord(ch) <= 0x7E for ch in a.get("AccountName") or ""):
            raise rules.refuse("organizations.account-name", "AccountName must be printable ASCII characters.", reason="INVALID_PATTERN")
        _check_email("organizations.email", a.get("Email"))
        _check_tags(a.get("Tags"))
        # Only so many creations can be in progress at a time (the quotas table: "only five can
        # be in progress at a time"); AWS refuses the next one at the call with
        # ConstraintViolationException ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED ("You attempted to
        # exceed the number of accounts that can be in progress at a time.", API model). A
        # request is in progress while it answers IN_PROGRESS (`create_account_polls`).
        in_progress = sum(1 for r in _xstate(be)["requests"].values() if r["status"]["State"] == "IN_PROGRESS")
        if in_progress >= rules.limit("organizations.account-creations-in-progress"):
            raise rules.refuse(
                "organizations.account-creations-in-progress",
                "You attempted to exceed the number of accounts that can be in progress at a time.",
            )
        # AWS request ids are `car-` + 32 hex digits (moto's are 8 characters).
        car = "car-" + uuid.uuid4().hex
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
        rid = a.get("CreateAccountRequestId", "")
        req = _xstate(be)["requests"].get(rid)
        if req is None:
            if not any(getattr(x, "create_account_status_id", None) == rid for x in be.accounts):
                raise rules.refuse("organizations.create-request-exists", "We can't find an create account request with the CreateAccountRequestId that you specified.")
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


# ------------------------------------------------------------------ one writer per entity

# The entities each Organizations write holds while it is in progress: the request members that
# name them, ROOT (the organization as a whole, held through its root: an organization has
# exactly one) or PARENT_OF + a member (the current parent of the OU or account it names).
# AWS documents ConcurrentModificationException ("The target of the operation is currently
# being modified by a different request. Try again later.") on these operations of the API
# model and says no more of what "the target" is; where the request names it, that is it, and
# where it does not the reading is the conservative one: an operation that adds to or removes
# from a parent's children (a new OU, a moved, created or removed account, a deleted OU) holds
# the parent too, and one that changes the organization as a whole — a new account (it joins
# the root), a new policy (it counts against the organization's quota), service access,
# delegated administrators, the resource policy, invitations — holds the root. Reads are never
# refused (the API model lists the error on DescribeOrganization, DescribeHandshake and the
# ListHandshakes* reads too).
ROOT = "@root"
PARENT_OF = "parent-of"
WRITE_TARGETS: dict[str, tuple] = {
    "AttachPolicy": ("PolicyId", "TargetId"),
    "DetachPolicy": ("PolicyId", "TargetId"),
    "MoveAccount": ("AccountId", "SourceParentId", "DestinationParentId"),
    "CloseAccount": ("AccountId",),
    "CreateAccount": (ROOT,),
    "CreateGovCloudAccount": (ROOT,),
    "CreateOrganizationalUnit": ("ParentId",),
    "UpdateOrganizationalUnit": ("OrganizationalUnitId",),
    "DeleteOrganizationalUnit": ("OrganizationalUnitId", (PARENT_OF, "OrganizationalUnitId")),
    "CreatePolicy": (ROOT,),
    "UpdatePolicy": ("PolicyId",),
    "DeletePolicy": ("PolicyId",),
    "TagResource": ("ResourceId",),
    "UntagResource": ("ResourceId",),
    "EnablePolicyType": ("RootId",),
    "DisablePolicyType": ("RootId",),
    "AcceptHandshake": ("HandshakeId",),
    "CancelHandshake": ("HandshakeId",),
    "DeclineHandshake": ("HandshakeId",),
    "CreateOrganization": (ROOT,),
    "DeleteOrganization": (ROOT,),
    "EnableAllFeatures": (ROOT,),
    "EnableAWSServiceAccess": (ROOT,),
    "DisableAWSServiceAccess": (ROOT,),
    "RegisterDelegatedAdministrator": (ROOT, "AccountId"),
    "DeregisterDelegatedAdministrator": (ROOT, "AccountId"),
    "PutResourcePolicy": (ROOT,),
    "DeleteResourcePolicy": (ROOT,),
    "InviteAccountToOrganization": (ROOT,),
    "RemoveAccountFromOrganization": ("AccountId", (PARENT_OF, "AccountId")),
    "LeaveOrganization": (ROOT,),
    "InviteOrganizationToTransferResponsibility": (ROOT,),
    "TerminateResponsibilityTransfer": (ROOT,),
}


def _caller_account(environ: dict) -> str:
    """The account moto serves the request as (moto.core.responses.BaseResponse.get_current_account)."""
    import os

    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    if environ.get("HTTP_X_MOTO_ACCOUNT_ID"):
        return environ["HTTP_X_MOTO_ACCOUNT_ID"]
    m = control.ACCESS_KEY_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return get_account_id_from(m.group(1) if m else "AKIAEXAMPLE")


def write_entities(op: str, environ: dict, body: bytes) -> list[str] | None:
    """The entity ids the write `op` holds (None: not a write AWS may refuse for this)."""
    spec = WRITE_TARGETS.get(op)
    if spec is None:
        return None
    try:
        a = json.loads(body or b"{}")
    except ValueError:
        a = {}
    if not isinstance(a, dict):
        a = {}
    account = _caller_account(environ)
    m = control.CRED_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
    be = organizations_backends[account][get_partition(m.group(1) if m else "us-east-1")]
    keys: set[str] = set()
    with LOCK:
        for what in spec:
            if what == ROOT:
                root = _root(be) if be.org is not None else None
                # No organization yet (CreateOrganization): the caller's would-be organization.
                keys.add(root.id if root is not None else f"organization-of-{account}")
            elif isinstance(what, tuple):
                child = a.get(what[1])
                node = next((x for x in list(be.ou) + list(be.accounts) if x.id == child), None)
                if node is not None and getattr(node, "parent_id", None):
                    keys.add(node.parent_id)
            elif isinstance(a.get(what), str) and a[what]:
                keys.add(a[what])
    return sorted(keys)


def write_guard(op: str, environ: dict, body: bytes):
    """control.WRITE_GUARDS["organizations"]: claim the write's entities, or refuse it."""
    keys = write_entities(op, environ, body)
    if not keys:
        return None
    token = control.claim(keys)
    if token is None:
        err = rules.refuse("organizations.one-writer-per-entity", control.CONCURRENT_MESSAGE)
        raise control.Refused(err.error_type, control.CONCURRENT_MESSAGE)
    return lambda: control.release(keys, token)


PATCHES = [
    create_organizational_unit, update_organizational_unit, delete_organizational_unit, create_policy, update_policy,
    delete_policy, tag_resource, close_account, create_organization, enable_policy_type,
    disable_policy_type,
    attach_policy, detach_policy, move_account, create_account, describe_create_account_status,
    list_create_account_status,
]


def install() -> None:
    control.WRITE_GUARDS["organizations"] = write_guard
    for fn in PATCHES:
        ORIG.setdefault(fn.__name__, getattr(OrganizationsResponse, fn.__name__))
        setattr(OrganizationsResponse, fn.__name__, fn)
