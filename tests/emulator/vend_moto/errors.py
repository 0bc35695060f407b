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


def not_found(what: str) -> AwsError:
    return AwsError("ResourceNotFoundException", f"{what} not found.")


def invalid(msg: str) -> AwsError:
    return AwsError("InvalidParametersException", msg)
