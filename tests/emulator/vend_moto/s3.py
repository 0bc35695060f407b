"""moto's S3 made as strict as S3 where vend depends on it, and its conditional writes atomic.

Rules (issue 14, `src/adapter/aws_rules.yaml`): CreateBucket checks the whole bucket naming rule
(moto checks only the length: `s3.bucket-name`); moto's own refusals of a missing bucket
(NoSuchBucket on PutObject and the bucket configuration PUTs: `s3.bucket-exists`), of a bucket
the caller already owns outside us-east-1 (`s3.bucket-new`) and of a name another account holds
(`s3.bucket-name-taken`) are counted under their rules. The answers stay moto's.

GetBucketVersioning answers S3's documented `<VersioningConfiguration>` document: moto 5.2.5
serialises it under a `<GetBucketVersioningResponse>` root, which the AWS SDKs refuse to parse.

Atomic conditional writes, as real S3 has them:

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

import ipaddress
import re
import threading
from typing import Any

from moto.s3.exceptions import BucketAlreadyExists, BucketAlreadyOwnedByYou, InvalidBucketName, MissingBucket
from moto.s3.responses import S3Response

from . import rules

ORIG: dict[str, Any] = {}
# One lock for every object of every bucket: the emulator serves a handful of writers, and a
# conditional write must be atomic against any other write to its key.
_WRITE_LOCK = threading.Lock()


# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_name_ok(name: str) -> bool:
    if not _BUCKET_NAME.match(name) or ".." in name:
        return False
    try:
        ipaddress.IPv4Address(name)
        return False
    except ValueError:
        pass
    return not name.startswith(_RESERVED_PREFIXES) and not name.endswith(_RESERVED_SUFFIXES)


def _bucket_response_put(self: S3Response, request: Any, bucket_name: str, querystring: dict[str, Any]) -> Any:
    creating = not querystring
    if creating and not bucket_name_ok(bucket_name):
        rules.fired("s3.bucket-name")
        raise InvalidBucketName()
    try:
        return ORIG["_bucket_response_put"](self, request, bucket_name, querystring)
    except MissingBucket:
        rules.fired("s3.bucket-exists")
        raise
    except BucketAlreadyOwnedByYou:
        rules.fired("s3.bucket-new")
        raise
    except BucketAlreadyExists:
        rules.fired("s3.bucket-name-taken")
        raise


def get_bucket_versioning(self: S3Response) -> Any:
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketVersioning.html (response syntax)
    status = self.backend.get_bucket_versioning(self.bucket_name)
    inner = f"<Status>{status}</Status>" if status else ""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{inner}</VersioningConfiguration>'
    )
    return 200, {}, body


def put_object(self: S3Response) -> Any:
    with _WRITE_LOCK:
        try:
            return ORIG["put_object"](self)
        except MissingBucket:
            rules.fired("s3.bucket-exists")
            raise


def delete_object(self: S3Response) -> Any:
    with _WRITE_LOCK:
        return ORIG["delete_object"](self)


def install() -> None:
    for fn in (put_object, delete_object, _bucket_response_put, get_bucket_versioning):
        ORIG.setdefault(fn.__name__, getattr(S3Response, fn.__name__))
        setattr(S3Response, fn.__name__, fn)
