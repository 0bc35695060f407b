"""Atomic conditional writes for moto's S3, as real S3 has them.

moto 5.2.5 checks `If-None-Match: *` / `If-Match: <etag>` on PutObject and `If-Match` on
DeleteObject and then acts, without a lock, in a threaded server: two concurrent conditional
writes to one key can both pass the check (two lock holders, two records with one seq). Real S3
evaluates the condition and the write as one step (the loser gets 412 PreconditionFailed, or 409
ConditionalRequestConflict). This module wraps `S3Response.put_object` and
`S3Response.delete_object` so that a request carrying a condition holds one module-level lock
across moto's check and its write, and every other put/delete to S3 also takes it (an
unconditional write must not land between a conditional write's check and act either).
Responses, errors and everything else stay moto's.
"""

import threading
from typing import Any

from moto.s3.responses import S3Response

ORIG: dict[str, Any] = {}
# One lock for every object of every bucket: the emulator serves a handful of writers, and a
# conditional write must be atomic against any other write to its key.
_WRITE_LOCK = threading.Lock()


def put_object(self: S3Response) -> Any:
    with _WRITE_LOCK:
        return ORIG["put_object"](self)


def delete_object(self: S3Response) -> Any:
    with _WRITE_LOCK:
        return ORIG["delete_object"](self)


def install() -> None:
    for fn in (put_object, delete_object):
        ORIG.setdefault(fn.__name__, getattr(S3Response, fn.__name__))
        setattr(S3Response, fn.__name__, fn)
