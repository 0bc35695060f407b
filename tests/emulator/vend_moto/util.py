import json
import random
import string
import time
from typing import Any


def now() -> float:
    return round(time.time(), 3)


def rid(prefix: str, n: int = 13) -> str:
    alphabet = string.ascii_lowercase + string.digits
    return prefix + "".join(random.SystemRandom().choice(alphabet) for _ in range(n))


def page(items: list, token: Any, size: Any, default: int = 20) -> tuple[list, str | None]:
    start = int(token) if token else 0
    size = int(size) if size else default
    chunk = items[start : start + size]
    nxt = str(start + size) if start + size < len(items) else None
    return chunk, nxt


def dumps(obj: Any) -> str:
    def clean(o: Any) -> Any:
        if isinstance(o, dict):
            return {k: clean(v) for k, v in o.items() if v is not None}
        if isinstance(o, list):
            return [clean(v) for v in o]
        return o

    return json.dumps(clean(obj))
