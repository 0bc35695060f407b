"""The AWS rule table vend shares with this emulator: `src/adapter/aws_rules.yaml`.

The emulator implements each rule on its own (in organizations.py, servicecatalog.py, s3.py),
independently of vend's in-process cloud; what it takes from the table is the rule's id, the
error code AWS answers with, the reason where AWS gives one, and the default limit. Every
refusal goes through `refuse`, which counts it: `GET /_vend/stats` lists the hits per rule under
"rules", so tests can show that every rule of the table is enforced here too.
"""

from pathlib import Path
from typing import Any

import yaml

from . import control
from .errors import AwsError

TABLE_PATH = Path(__file__).resolve().parents[3] / "src" / "adapter" / "aws_rules.yaml"

with TABLE_PATH.open(encoding="utf-8") as f:
    _TABLE = yaml.safe_load(f)
if _TABLE.get("format") != 1:
    raise RuntimeError(f"{TABLE_PATH}: format {_TABLE.get('format')} is not supported")
RULES: dict[str, dict] = {r["id"]: r for r in _TABLE["rules"]}

# The codes that carry a Reason field in AWS's error shape.
_WITH_REASON = {"ConstraintViolationException", "InvalidInputException"}


def rule(rule_id: str) -> dict:
    if rule_id not in RULES:
        raise KeyError(f"rule {rule_id} is not in {TABLE_PATH}")
    return RULES[rule_id]


def limit(rule_id: str) -> int:
    """The rule's limit: the table's, unless a test lowered it (`limits` in /_vend/faults)."""
    override = (control.CONFIG.get("limits") or {}).get(rule_id)
    if override is not None:
        return int(override)
    value = rule(rule_id).get("limit")
    if value is None:
        raise KeyError(f"rule {rule_id} has no limit in {TABLE_PATH}")
    return int(value)


def fired(rule_id: str) -> None:
    """Count a refusal by `rule_id` that is not an error response (a failed account creation)."""
    rule(rule_id)
    with control._LOCK:
        hits = control.STATS.setdefault("rules", {})
        hits[rule_id] = hits.get(rule_id, 0) + 1


def refuse(rule_id: str, message: str, reason: str | None = None, **extra: Any) -> AwsError:
    """The error AWS answers when `rule_id` refuses a call (to be raised by the caller).

    `reason` overrides the table's reason where AWS distinguishes finer ones (INVALID_PATTERN vs
    MAX_LENGTH_EXCEEDED for one input rule)."""
    r = rule(rule_id)
    fired(rule_id)
    why = reason or r.get("reason")
    if why and r["code"] in _WITH_REASON:
        extra.setdefault("Reason", why)
    return AwsError(r["code"], message, **extra)
