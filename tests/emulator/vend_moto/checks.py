"""Input checks shared by the Organizations and Service Catalog rules: lengths and tags.

Each check refuses through the rule its caller names (`rules.refuse`), so the error code, the
reason and the hit count come from the rule table; the limits a rule has come from it too.
"""

import unicodedata
from typing import Any

from . import rules

# Tag (both services' API models): key 1-128, value 0-256, both `^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$`.
TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256


def check_length(rule_id: str, value: Any, field: str, lo: int, hi: int) -> None:
    """`value` has lo..hi characters, else rule `rule_id` refuses (Organizations' reasons
    INPUT_REQUIRED / MIN_LENGTH_EXCEEDED / MAX_LENGTH_EXCEEDED)."""
    n = len(value or "")
    if n < lo:
        reason = "MIN_LENGTH_EXCEEDED" if value else "INPUT_REQUIRED"
        raise rules.refuse(rule_id, f"{field} must be at least {lo} characters.", reason=reason)
    if n > hi:
        raise rules.refuse(rule_id, f"{field} must be at most {hi} characters.", reason="MAX_LENGTH_EXCEEDED")


def _tag_chars_ok(s: str) -> bool:
    return all(c in "_.:/=+-@" or unicodedata.category(c)[0] in "LNZ" for c in s)


def check_tags(shape_rule: str, count_rule: str, tags: Any, existing: Any = None, removed: Any = None) -> None:
    """Tags as the API models allow them (rule `shape_rule`), and at most `limit(count_rule)` on
    the resource once `tags` are added to `existing` (minus the `removed` keys)."""
    seen: set[str] = set()
    for t in tags or []:
        k, v = t.get("Key"), t.get("Value")
        if k is None or v is None:
            raise rules.refuse(shape_rule, "Every tag needs a Key and a Value.", reason="INPUT_REQUIRED")
        check_length(shape_rule, k, "Tag key", 1, TAG_KEY_MAX)
        check_length(shape_rule, v, "Tag value", 0, TAG_VALUE_MAX)
        if not _tag_chars_ok(k) or not _tag_chars_ok(v):
            raise rules.refuse(shape_rule, "You provided a value that does not match the required pattern.", reason="INVALID_PATTERN")
        if k.lower().startswith("aws:"):
            raise rules.refuse(shape_rule, "You specified a tag key that is a system tag.", reason="INVALID_SYSTEM_TAGS_PARAMETER")
        if k in seen:
            raise rules.refuse(shape_rule, "Tag keys must be unique among the tags attached to the same entity.", reason="DUPLICATE_TAG_KEY")
        seen.add(k)
    keep = set(existing or {}) - set(removed or [])
    if len(seen | keep) > rules.limit(count_rule):
        raise rules.refuse(count_rule, "You have exceeded the number of tags allowed on this resource.")
