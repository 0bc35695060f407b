"""Account Management: alternate contacts, with the rules of issue 18.

moto 5.2.5 stores alternate contacts per account but checks neither who may name another
account (AccountId) nor the contact's fields, and DeleteAlternateContact of an unset type
succeeds. The handlers here replace moto's (AccountResponse) and keep moto's storage
(`account_backends[account]._alternate_contacts`):

* With AccountId (organizations context), the caller must be the management account of the
  account's organization or its delegated administrator for `account.amazonaws.com`, AccountId
  must be a member account (the management account's own id is refused: only the delegated
  administrator may name itself) — else AccessDeniedException (`account.member-account`) — and
  the organization must have trusted access for `account.amazonaws.com` (Organizations
  EnableAWSServiceAccess) — else AccessDeniedException (`account.trusted-access`).
* Without AccountId (standalone context): the caller's own contacts, no organization check.
* PutAlternateContact: Name 1-64, Title 1-50, EmailAddress 1-254 matching the API's pattern,
  PhoneNumber 1-25 of `[\\s0-9()+-]` → ValidationException (`account.contact-*`).
* Get/DeleteAlternateContact of a type that is not set → ResourceNotFoundException
  (`account.contact-exists`).
"""

import json
import re
import threading
from typing import Any

from moto.account.models import ALLOWED_CONTACT_TYPES, AlternateContact, account_backends
from moto.account.responses import AccountResponse

from . import rules
from .errors import AwsError
from .identitycenter import _params, delegated_admin, org_of_account

LOCK = threading.RLock()
ACCOUNT_PRINCIPAL = "account.amazonaws.com"
# https://docs.aws.amazon.com/accounts/latest/reference/API_PutAlternateContact.html
EMAIL = re.compile(r"^[\s]*[\w+=.#|!&-]+@[\w.-]+\.[\w]+[\s]*$", re.ASCII)
PHONE = re.compile(r"^[\s0-9()+-]+$")


def _not_authorized(self, action: str, why: str) -> str:
    return f"User: arn:aws:iam::{self.current_account}:root is not authorized to perform: account:{action} ({why})"


def _target(self, a: dict, action: str) -> str:
    """The account whose contacts the request reads or changes, after the organization checks."""
    target = a.get("AccountId")
    caller = self.current_account
    if not target:
        return caller
    org_be = org_of_account(caller, self.partition)
    if org_be is None:
        raise rules.refuse("account.member-account", _not_authorized(self, action, "the caller is not in an organization"))
    management = org_be.org.master_account_id
    admin = caller != management and delegated_admin(org_be, caller, ACCOUNT_PRINCIPAL)
    if caller != management and not admin:
        raise rules.refuse("account.member-account", _not_authorized(self, action, "only the management account or the delegated administrator can specify an AccountId"))
    if target == management:
        raise rules.refuse("account.member-account", _not_authorized(self, action, "the management account cannot specify its own AccountId"))
    if not any(x.id == target for x in org_be.accounts):
        raise rules.refuse("account.member-account", _not_authorized(self, action, f"account {target} is not a member of the organization"))
    if not any(s.get("ServicePrincipal") == ACCOUNT_PRINCIPAL for s in org_be.services):
        raise rules.refuse("account.trusted-access", _not_authorized(self, action, "trusted access for account.amazonaws.com is not enabled in the organization"))
    return target


def _contact_type(a: dict) -> str:
    t = a.get("AlternateContactType")
    if t not in ALLOWED_CONTACT_TYPES:
        raise AwsError("ValidationException", "AlternateContactType must be one of BILLING, OPERATIONS, SECURITY.")
    return t


def _field(rule_id: str, name: str, value: Any, hi: int, pattern: re.Pattern | None = None) -> None:
    v = value if isinstance(value, str) else ""
    if not 1 <= len(v) <= hi or (pattern is not None and not pattern.match(v)):
        raise rules.refuse(rule_id, f"1 validation error detected: Value at '{name}' failed to satisfy constraint: Member must have length between 1 and {hi}" + (" and match the required pattern" if pattern is not None else ""))


def _contacts(self, account_id: str) -> dict:
    return account_backends[account_id][self.partition]._alternate_contacts


def put_alternate_contact(self):
    a = _params(self)
    with LOCK:
        target = _target(self, a, "PutAlternateContact")
        kind = _contact_type(a)
        _field("account.contact-name", "name", a.get("Name"), rules.limit("account.contact-name"))
        _field("account.contact-title", "title", a.get("Title"), rules.limit("account.contact-title"))
        _field("account.contact-email", "emailAddress", a.get("EmailAddress"), rules.limit("account.contact-email"), EMAIL)
        _field("account.contact-phone", "phoneNumber", a.get("PhoneNumber"), rules.limit("account.contact-phone"), PHONE)
        _contacts(self, target)[kind] = AlternateContact(
            alternate_contact_type=kind, title=a["Title"], name=a["Name"], email_address=a["EmailAddress"], phone_number=a["PhoneNumber"]
        )
        return "{}"


def _existing(self, a: dict, action: str) -> tuple[str, str]:
    target = _target(self, a, action)
    kind = _contact_type(a)
    if kind not in _contacts(self, target):
        raise rules.refuse("account.contact-exists", "No contact of the inputted alternate contact type found.")
    return target, kind


def get_alternate_contact(self):
    a = _params(self)
    with LOCK:
        target, kind = _existing(self, a, "GetAlternateContact")
        c = _contacts(self, target)[kind]
        return json.dumps(
            {
                "AlternateContact": {
                    "AlternateContactType": kind,
                    "Name": c.name,
                    "Title": c.title,
                    "EmailAddress": c.email_address,
                    "PhoneNumber": c.phone_number,
                }
            }
        )


def delete_alternate_contact(self):
    a = _params(self)
    with LOCK:
        target, kind = _existing(self, a, "DeleteAlternateContact")
        del _contacts(self, target)[kind]
        return "{}"


def install() -> None:
    for fn in (put_alternate_contact, get_alternate_contact, delete_alternate_contact):
        setattr(AccountResponse, fn.__name__, fn)
