"""AWS JSON-protocol errors: body {"__type", "message"} plus the x-amzn-ErrorType header."""

import json
from typing import Any

from moto.core.exceptions import JsonRESTError


class AwsError(JsonRESTError):
    code = 400

    def __init__(self, error_type: str, message: str, status: int = 400, **extra: Any):
        super().__init__(error_type, message)
        self.code = status
        body = {"__type": error_type, "message": message, "Message": message}
        body.update(extra)
        self.description = json.dumps(body)

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        return [
            ("X-Amzn-ErrorType", self.error_type),
            ("Content-Type", "application/x-amz-json-1.1"),
        ]


def not_found(rule_id: str, what: str) -> AwsError:
    """`what` does not exist: the refusal of rule `rule_id` (ResourceNotFoundException)."""
    from . import rules

    return rules.refuse(rule_id, f"{what} not found.")


def invalid(rule_id: str, msg: str) -> AwsError:
    """The refusal of rule `rule_id` (an InvalidParametersException rule of the table)."""
    from . import rules

    return rules.refuse(rule_id, msg)


def bad_request(msg: str) -> AwsError:
    """A malformed request (a missing required member, a value outside its enum): a protocol
    error, not a rule of the table."""
    return AwsError("InvalidParametersException", msg)
