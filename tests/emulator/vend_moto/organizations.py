"""AWS Organizations rules moto skips, enforced at the API entry (OrganizationsResponse).

Checks run before moto's own handler; moto's internals (which attach default policies through
the backend) stay untouched. Extra state (pending/failed CreateAccount requests) lives on the
backend object, so moto's reset clears it.
"""

import json
import re
import threading
import uuid
from typing import Any

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
        raise constraint("POLICY_CONTENT_LIMIT_EXCEEDED", "You have exceeded the maximum policy size.")


def invalid_input(reason: str, msg: str) -> AwsError:
    return AwsError("InvalidInputException", msg, Reason=reason)


def _check_json(content: Any) -> None:
    """A policy document must be a JSON object (MalformedPolicyDocumentException)."""
    if content is None:
        return
    try:
        doc = json.loads(content)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise AwsError("MalformedPolicyDocumentException", "The provided policy document doesn't meet the requirements of the specified policy type.")


def _check_length(value: Any, field: str, lo: int, hi: int) -> None:
    n = len(value or "")
    if n < lo:
        raise invalid_input("MIN_LENGTH_EXCEEDED" if value else "INPUT_REQUIRED", f"{field} must be at least {lo} characters.")
    if n > hi:
        raise invalid_input("MAX_LENGTH_EXCEEDED", f"{field} must be at most {hi} characters.")


# Tag (API model): key 1-128, value 0-256, both `^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`; `aws:` keys
# are system tags (INVALID_SYSTEM_TAGS_PARAMETER); at most 50 tags per resource.
MAX_TAGS = 50


def _tag_chars_ok(s: str) -> bool:
    import unicodedata

    return all(c in "_.:/=+-@" or unicodedata.category(c)[0] in "LNZ" for c in s)


def _check_tags(tags: Any, existing: dict | None = None) -> None:
    seen: set[str] = set()
    for t in tags or []:
        k, v = t.get("Key"), t.get("Value")
        if k is None or v is None:
            raise invalid_input("INPUT_REQUIRED", "Every tag needs a Key and a Value.")
        _check_length(k, "Tag key", 1, 128)
        _check_length(v, "Tag value", 0, 256)
        if not _tag_chars_ok(k) or not _tag_chars_ok(v):
            raise invalid_input("INVALID_PATTERN", "You provided a value that does not match the required pattern.")
        if k.lower().startswith("aws:"):
            raise invalid_input("INVALID_SYSTEM_TAGS_PARAMETER", "You specified a tag key that is a system tag.")
        if k in seen:
            raise invalid_input("DUPLICATE_TAG_KEY", "Tag keys must be unique among the tags attached to the same entity.")
        seen.add(k)
    if len(seen | set(existing or {})) > MAX_TAGS:
        raise constraint("TAG_LIMIT_EXCEEDED", "You have exceeded the number of tags allowed on this resource.")


# E-mail (CreateAccount.Email in the API reference): 6-64 characters, 7-bit ASCII, exactly one
# `@`; the local name has no whitespace or any of " ' ( ) < > [ ] : ; , \ | % & and does not
# begin with a dot; the domain is [a-zA-Z0-9.-], neither begins nor ends with `-` or `.`, and
# has at least one dot.
_LOCAL_BAD = set(" \t\r\n\"'()<>[]:;,\\|%&")
_DOMAIN = re.compile(r"^[A-Za-z0-9.-]+$")


def _check_email(email: Any) -> None:
    e = email or ""
    _check_length(e, "Email", 6, 64)
    bad = invalid_input("INVALID_PATTERN", "You provided a value that does not match the required pattern.")
    if not e.isascii() or e.count("@") != 1:
        raise bad
    local, domain = e.split("@")
    if not local or local.startswith(".") or any(c in _LOCAL_BAD or c.isspace() for c in local):
        raise bad
    if not _DOMAIN.match(domain) or domain[0] in ".-" or domain[-1] in ".-" or "." not in domain:
        raise bad


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
        be.validate_parent_id(a.get("ParentId", ""))
        if _depth(be, a["ParentId"]) > MAX_OU_DEPTH:
            raise constraint("OU_DEPTH_LIMIT_EXCEEDED", "You attempted to create an OU tree that is too many levels deep.")
        _check_length(a.get("Name"), "Name", 1, 128)
        _check_tags(a.get("Tags"))
        if any(o.parent_id == a["ParentId"] and o.name == a.get("Name") for o in be.ou):
            raise AwsError("DuplicateOrganizationalUnitException", "An OU with the same name already exists.")
        out = ORIG["create_organizational_unit"](self)
        if not _scp_enabled(be):
            ou_id = json.loads(out)["OrganizationalUnit"]["Id"]
            _drop_scps(be, be.get_organizational_unit_by_id(ou_id))
        return out


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
        ou = be.get_organizational_unit_by_id(a.get("OrganizationalUnitId", ""))
        if getattr(ou, "type", "") == "ROOT":
            raise AwsError("OrganizationalUnitNotFoundException", "You specified an organizational unit that doesn't exist.")
        name = a.get("Name")
        _check_length(name, "Name", 1, 128)
        if any(o.parent_id == ou.parent_id and o.name == name and o.id != ou.id for o in be.ou):
            raise AwsError("DuplicateOrganizationalUnitException", "An OU with the same name already exists.")
        ou.name = name
        return json.dumps({"OrganizationalUnit": ou.describe()["OrganizationalUnit"]})


def create_policy(self):
    a = _params(self)
    with LOCK:
        be = _be(self)
        _require_scp(be, a.get("Type"))
        _check_length(a.get("Name"), "Name", 1, 128)
        _check_tags(a.get("Tags"))
        if (a.get("Type") or SCP) == SCP:
            _check_size(a.get("Content"))
        _check_json(a.get("Content"))
        return ORIG["create_policy"](self)


def update_policy(self):
    a = _params(self)
    with LOCK:
        be = _be(self)
        pol = be.get_policy_by_id(a.get("PolicyId", ""))
        if pol.aws_managed:
            raise invalid_input("IMMUTABLE_POLICY", "You specified a policy that is managed by AWS and can't be modified.")
        if pol.type == SCP:
            _check_size(a.get("Content"))
        _check_json(a.get("Content"))
        return ORIG["update_policy"](self)


def delete_policy(self):
    a = _params(self)
    with LOCK:
        be = _be(self)
        pol = be.get_policy_by_id(a.get("PolicyId", ""))
        if pol.aws_managed:
            raise invalid_input("IMMUTABLE_POLICY", "You specified a policy that is managed by AWS and can't be modified.")
        return ORIG["delete_policy"](self)


def tag_resource(self):
    a = _params(self)
    with LOCK:
        be = _be(self)
        res = be._get_resource_for_tagging(a.get("ResourceId", ""))
        _check_tags(a.get("Tags"), res.tags)
        return ORIG["tag_resource"](self)


def close_account(self):
    a = _params(self)
    with LOCK:
        be = _be(self)
        if _is_management(be, a.get("AccountId", "")):
            raise constraint("CANNOT_CLOSE_MANAGEMENT_ACCOUNT", "You attempted to close the management account.")
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
        _check_length(a.get("AccountName"), "AccountName", 1, 50)
        if not all(0x20 <= ord(ch) <= 0x7E for ch in a.get("AccountName") or ""):
            raise invalid_input("INVALID_PATTERN", "AccountName must be printable ASCII characters.")
        _check_email(a.get("Email"))
        _check_tags(a.get("Tags"))
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
                raise AwsError("CreateAccountStatusNotFoundException", "We can't find an create account request with the CreateAccountRequestId that you specified.")
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
    create_organizational_unit, update_organizational_unit, delete_organizational_unit, create_policy, update_policy,
    delete_policy, tag_resource, close_account, create_organization, enable_policy_type,
    disable_policy_type,
    attach_policy, detach_policy, move_account, create_account, describe_create_account_status,
    list_create_account_status,
]


def install() -> None:
    for fn in PATCHES:
        ORIG.setdefault(fn.__name__, getattr(OrganizationsResponse, fn.__name__))
        setattr(OrganizationsResponse, fn.__name__, fn)
