"""moto's IAM, its refusals counted under the rules of `src/adapter/aws_rules.yaml` (issue 14).

vend creates, updates and deletes launch roles in member accounts (through the member role) and
the management account. moto's IAM already refuses what IAM refuses on these points — a
duplicate role name (EntityAlreadyExists), a missing role or inline policy (NoSuchEntity), a
role deleted with an inline policy left (DeleteConflict), a malformed policy document
(MalformedPolicyDocument) — so this module counts each refusal under its rule (`rules.fired`);
the answers stay moto's. moto does not check role names: CreateRole here refuses a name outside
`[\\w+=,.@-]{1,64}` with ValidationError (IAM API reference, CreateRole, RoleName).
"""

import re
from typing import Any

from moto.iam.exceptions import (
    DeleteConflictException,
    EntityAlreadyExists,
    MalformedPolicyDocument,
    NotFoundException,
    ValidationError,
)
from moto.iam.models import IAMBackend

from . import rules

ORIG: dict[str, Any] = {}

def _counted(name: str):
    def call(self: IAMBackend, *args: Any, **kwargs: Any) -> Any:
        try:
            return ORIG[name](self, *args, **kwargs)
        except EntityAlreadyExists:
            rules.fired("iam.role-unique")
            raise
        except NotFoundException:
            rules.fired("iam.role-exists")
            raise
        except DeleteConflictException:
            rules.fired("iam.delete-role-policies-first")
            raise
        except MalformedPolicyDocument:
            rules.fired("iam.policy-document")
            raise

    return call


# https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html: RoleName.
_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}")


def _create_role(self: IAMBackend, role_name: str, *args: Any, **kwargs: Any) -> Any:
    if not _ROLE_NAME.fullmatch(role_name or ""):
        rules.fired("iam.role-name")
        raise ValidationError(f"1 validation error detected: Value '{role_name}' at 'roleName' failed to satisfy constraint")
    return _counted("create_role")(self, role_name, *args, **kwargs)


def install() -> None:
    for name in ("create_role", "update_assume_role_policy", "put_role_policy", "delete_role_policy", "delete_role"):
        if name not in ORIG:
            ORIG[name] = getattr(IAMBackend, name)
            setattr(IAMBackend, name, _create_role if name == "create_role" else _counted(name))
