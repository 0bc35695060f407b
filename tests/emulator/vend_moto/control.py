"""Run-time control: fault injection (WSGI middleware), request statistics, reset.

Control endpoints (same port as the emulator, never counted, never faulted):
  GET  /_vend/faults         current fault configuration
  POST /_vend/faults         merge JSON into the configuration (see README.md)
  POST /_vend/reset          moto state + faults + stats back to their start
  GET  /_vend/stats          request counts per service / operation, and per signing access key id
  POST /_vend/stats/reset    zero the counts
  POST /_vend/release        let every held request (script fault "hold") answer now
  GET  /_vend/recorded       the counted requests as they arrived, while "record" is on (benchmarks
                             replay a client's own requests to measure the emulator's ceiling)

Writes in progress: a service may register a write guard (`WRITE_GUARDS`, organizations.py
does): it names the entities a write touches and claims them in `BUSY` from the request's
arrival — before the `latency_ms` sleep, so latency widens the window as a slow write does in
AWS — until the operation has run (a `hold` fault's held response is not part of it). A second
write touching a claimed entity is refused by the guard (`Refused`).
"""

import copy
import io
import json
import random
import re
import socket
import threading
import time
import xml.etree.ElementTree as ET
from typing import Any, Callable

DEFAULTS: dict[str, Any] = {
    # probabilities, 0..1, rolled per request in this order:
    "timeout_before": 0.0,  # fail before the operation runs (504, or a dropped connection)
    "throttle": 0.0,  # TooManyRequestsException, HTTP 400
    "concurrent": 0.0,  # ConcurrentModificationException, HTTP 400
    "server_error": 0.0,  # HTTP 500 / 503 (alternating by the RNG)
    "lost_response": 0.0,  # the operation runs, then 504 or a dropped connection
    "lost_mode": "504",  # "504" or "drop": how timeout_before / lost_response fail
    "latency_ms": 0,  # added to every counted request
    "seed": None,  # RNG seed (int) for reproducible fault sequences
    "only": [],  # restrict faults to these services ("organizations") or ops ("organizations.CreateAccount")
    # restrict one probabilistic fault further, e.g. {"concurrent": ["organizations"]} (only
    # Organizations' API model has ConcurrentModificationException); script faults ignore it
    "fault_only": {},
    # deterministic faults: [{"match": "organizations.CreateAccount", "fault": "throttle", "times": 2}];
    # optional "after": n lets the first n matching requests through first; the script-only fault
    # "hold" runs the operation, then holds its response for "hold_ms" (default 60000)
    "script": [],
    # emulated asynchrony (not faults, but configured here too):
    "create_account_polls": 0,  # DescribeCreateAccountStatus answers IN_PROGRESS this many times
    "share_polls": 1,  # DescribePortfolioShareStatus answers IN_PROGRESS this many times
    "record_polls": 1,  # DescribeRecord answers IN_PROGRESS this many times
    # DescribeAccountAssignmentCreationStatus / ...DeletionStatus answer IN_PROGRESS this many
    # times (issue 18); a request nobody polls finishes on its own after assignment_settle_ms
    "assignment_polls": 1,
    "assignment_settle_ms": 3000,
    # IAM Identity Center's home region: the organization's instance is there only (issue 18)
    "identity_center_region": "us-east-1",
    # ...and, like AWS, a launch/update/terminate finishes on its own this long after it started
    # even when nobody polls its record (seen by DescribeProvisionedProduct/SearchProvisionedProducts)
    "record_settle_ms": 3000,
    # quotas lowered for tests: rule id of src/adapter/aws_rules.yaml -> limit (rules.limit)
    "limits": {},
    # keep every counted request (method, URI, headers, body) for GET /_vend/recorded
    "record": False,
}
FAULTS = ("timeout_before", "throttle", "concurrent", "server_error", "lost_response")
# Faults a `script` entry may name: the probabilistic ones, plus "hold" (the operation runs, then
# its response waits `hold_ms` or until released — a client killed meanwhile has crashed between
# a write and its outcome).
# "access_denied" (script only): the caller may not call the operation — Organizations' (JSON)
# AccessDeniedException, HTTP 400, or a query service's / S3's AccessDenied, HTTP 403, with AWS's
# message naming the principal and the action.
SCRIPT_FAULTS = FAULTS + ("hold", "access_denied")
# The principal the access_denied fault names (moto's default account).
DENIED_PRINCIPAL = "arn:aws:iam::123456789012:user/vend-tests"
SCRIPT_KEYS = ("match", "fault", "times", "after", "hold_ms")
HOLD_MS_DEFAULT = 60000

CONFIG: dict[str, Any] = copy.deepcopy(DEFAULTS)
_LOCK = threading.Lock()
_RNG = random.Random()
STATS: dict[str, Any] = {}
# The counted requests while "record" is on, in arrival order (cleared with the stats).
RECORDED: list[dict] = []


def _reset_stats() -> None:
    STATS.clear()
    STATS.update(
        {"total": 0, "services": {}, "faults": {}, "access_keys": {}, "rules": {}, "not_implemented": {}, "in_flight_max": 0, "held": []}
    )
    RECORDED.clear()


_reset_stats()


def set_config(new: dict) -> dict:
    """Merge `new` into the configuration, all or nothing: a bad value leaves it unchanged."""
    if not isinstance(new, dict):
        raise ValueError("the configuration must be a JSON object")
    with _LOCK:
        unknown = [k for k in new if k not in DEFAULTS]
        if unknown:
            raise ValueError(f"unknown keys: {unknown}")
        for k in FAULTS:
            if k in new and not (0.0 <= float(new[k]) <= 1.0):
                raise ValueError(f"{k} must be within 0..1")
        if "lost_mode" in new and new["lost_mode"] not in ("504", "drop"):
            raise ValueError("lost_mode must be \"504\" or \"drop\"")
        if "fault_only" in new:
            fo = new["fault_only"]
            if not isinstance(fo, dict) or any(
                k not in FAULTS or not isinstance(v, list) or not all(isinstance(x, str) for x in v) for k, v in fo.items()
            ):
                raise ValueError(f"fault_only maps a fault of {FAULTS} to a list of services or operations")
        if "limits" in new:
            _check_limits(new["limits"])
        if "record" in new and not isinstance(new["record"], bool):
            raise ValueError("record must be true or false")
        merged = copy.deepcopy(CONFIG)
        merged.update(copy.deepcopy(new))
        merged["script"] = [_check_script_entry(s) for s in merged.get("script") or []]
        CONFIG.clear()
        CONFIG.update(merged)
        if "seed" in new:
            _RNG.seed(new["seed"])
        return copy.deepcopy(CONFIG)


def _check_limits(limits: Any) -> None:
    """`limits`: rule id of the rule table -> an integer >= 0 replacing that rule's default limit."""
    from . import rules  # rules imports this module

    if not isinstance(limits, dict):
        raise ValueError("limits maps rule ids of src/adapter/aws_rules.yaml to integers")
    for rule_id, value in limits.items():
        if rules.RULES.get(rule_id, {}).get("limit") is None:
            raise ValueError(f"limits: {rule_id} is no rule of the table with a limit")
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"limits: {rule_id} must be an integer >= 0")


def _check_script_entry(entry: Any) -> dict:
    if not isinstance(entry, dict):
        raise ValueError("script entries must be JSON objects")
    s = dict(entry)
    extra = [k for k in s if k not in SCRIPT_KEYS]
    if extra:
        raise ValueError(f"unknown script keys: {extra} (allowed: {list(SCRIPT_KEYS)})")
    if not isinstance(s.get("match"), str) or not s["match"]:
        raise ValueError("script entries need a \"match\" string")
    if s.get("fault") not in SCRIPT_FAULTS:
        raise ValueError(f"script fault must be one of {SCRIPT_FAULTS}")
    s.setdefault("times", 1)
    s.setdefault("after", 0)
    for k in ("times", "after"):
        if not isinstance(s[k], int) or isinstance(s[k], bool) or s[k] < 0:
            raise ValueError(f"script {k} must be an integer >= 0")
    if "hold_ms" in s:
        if s["fault"] != "hold":
            raise ValueError("hold_ms applies to the \"hold\" fault only")
        if not isinstance(s["hold_ms"], int) or isinstance(s["hold_ms"], bool) or s["hold_ms"] < 0:
            raise ValueError("hold_ms must be an integer >= 0")
    elif s["fault"] == "hold":
        s["hold_ms"] = HOLD_MS_DEFAULT
    return s


def reset_config() -> None:
    with _LOCK:
        CONFIG.clear()
        CONFIG.update(copy.deepcopy(DEFAULTS))
        _RNG.seed(None)


# ------------------------------------------------------------------ request identification

CRED_RE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
SERVICE_ALIAS = {"AWS242ServiceCatalogService": "servicecatalog", "AWSOrganizationsV20161128": "organizations"}
# REST-JSON services (no X-Amz-Target): the operation is named by the request path
# (`POST /putAlternateContact` -> PutAlternateContact), and errors are JSON as for the others.
REST_JSON_SERVICES = ("account",)
# The JSON services whose throttling error is ThrottlingException (their API models), not
# TooManyRequestsException: IAM Identity Center (signing name "sso") and Identity Store.
THROTTLING_EXCEPTION = ("sso", "identitystore")

# The access key id of a SigV4 signature (`Credential=AKID/date/region/service/aws4_request`).
ACCESS_KEY_RE = re.compile(r"Credential=([^/,\s]+)/")


def _count_access_key(environ: dict) -> None:
    """Count the access key id that signed the request (tests check which credentials a client used)."""
    m = ACCESS_KEY_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
    key = m.group(1) if m else "(unsigned)"
    with _LOCK:
        keys = STATS["access_keys"]
        keys[key] = keys.get(key, 0) + 1


def identify(environ: dict, body: bytes) -> tuple[str, str]:
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = CRED_RE.search(auth)
    service = m.group(2) if m else ""
    if target:
        prefix, _, op = target.partition(".")
        return (service or SERVICE_ALIAS.get(prefix, prefix)), op
    ctype = environ.get("CONTENT_TYPE", "")
    if "x-www-form-urlencoded" in ctype or environ.get("QUERY_STRING", "").find("Action=") >= 0:
        from urllib.parse import parse_qs

        q = parse_qs(body.decode("utf-8", "replace")) if body else {}
        q.update(parse_qs(environ.get("QUERY_STRING", "")))
        if "Action" in q:
            return service or "query", q["Action"][0]
    method = environ.get("REQUEST_METHOD", "GET")
    if not service:
        host = environ.get("HTTP_HOST", "")
        service = "s3" if ("s3" in host or method in ("PUT", "HEAD")) else "unknown"
    if service == "s3":
        return service, _s3_op(environ, method)
    if service in REST_JSON_SERVICES:
        name = environ.get("PATH_INFO", "/").strip("/")
        if name and "/" not in name:
            return service, name[0].upper() + name[1:]
    return service, f"{method} {environ.get('PATH_INFO', '/')}"


def _s3_op(environ: dict, method: str) -> str:
    path = environ.get("PATH_INFO", "/").strip("/")
    host = environ.get("HTTP_HOST", "")
    virtual = host.count(".") >= 1 and not re.match(r"^[\d.]+(:\d+)?$", host) and not host.startswith("localhost") and ".s3" in host
    has_key = bool(path) if virtual else "/" in path
    qs = environ.get("QUERY_STRING", "")
    if has_key:
        return {"PUT": "CopyObject" if environ.get("HTTP_X_AMZ_COPY_SOURCE") else "PutObject", "GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject", "POST": "PostObject"}.get(method, method)
    if not path and not virtual:
        return "ListBuckets"
    if method == "GET":
        return "ListObjectsV2" if "list-type=2" in qs else ("GetBucket" + qs.split("=")[0].capitalize() if qs and "list-type" not in qs and "prefix" not in qs else "ListObjects")
    return {"PUT": "CreateBucket", "HEAD": "HeadBucket", "DELETE": "DeleteBucket", "POST": "DeleteObjects" if "delete" in qs else "PostBucket"}.get(method, method)


def _record(environ: dict, service: str, op: str, body: bytes) -> None:
    """Keep the request as it arrived: method, URI, headers (signature included), body."""
    headers = [[k[5:].replace("_", "-").title(), v] for k, v in environ.items() if k.startswith("HTTP_")]
    if environ.get("CONTENT_TYPE"):
        headers.append(["Content-Type", environ["CONTENT_TYPE"]])
    uri = environ.get("RAW_URI") or environ.get("PATH_INFO", "/") + (
        "?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else ""
    )
    entry = {
        "service": service,
        "op": op,
        "method": environ.get("REQUEST_METHOD", "GET"),
        "uri": uri,
        "headers": headers,
        "body_hex": body.hex(),
    }
    with _LOCK:
        RECORDED.append(entry)


_IN_FLIGHT = 0  # counted requests the emulator has not answered yet


def _enter_flight() -> None:
    global _IN_FLIGHT
    with _LOCK:
        _IN_FLIGHT += 1
        STATS["in_flight_max"] = max(STATS.get("in_flight_max", 0), _IN_FLIGHT)


def _leave_flight() -> None:
    global _IN_FLIGHT
    with _LOCK:
        _IN_FLIGHT -= 1


def _count(service: str, op: str, fault: str | None) -> None:
    with _LOCK:
        STATS["total"] += 1
        svc = STATS["services"].setdefault(service, {})
        svc[op] = svc.get(op, 0) + 1
        if fault:
            _count_fault_locked(service, op, fault)


def _count_fault_locked(service: str, op: str, fault: str) -> None:
    f = STATS["faults"].setdefault(f"{service}.{op}", {})
    f[fault] = f.get(fault, 0) + 1


# Held requests wait on the Event current when they started holding; release (and reset) sets it
# and installs a fresh one, so later holds wait again.
_RELEASE = threading.Event()
_HOLDING = 0  # requests holding their response right now (shown as "holding" in the stats)


def release_held() -> int:
    """Let every held request answer now; returns how many were holding."""
    global _RELEASE
    with _LOCK:
        held = _HOLDING
        _RELEASE.set()
        _RELEASE = threading.Event()
    return held


def stats_snapshot() -> dict:
    with _LOCK:
        snap = {**copy.deepcopy(STATS), "holding": _HOLDING}
    with _BUSY_LOCK:
        snap["busy"] = len(BUSY)
    return snap


def _hold(service: str, op: str, hold_ms: int, body: bytes) -> None:
    """The operation has run: record the hold (visible in /_vend/stats from now on, with the
    request's body, so a test can tell which of several concurrent calls is held), then wait."""
    global _HOLDING
    with _LOCK:
        _count_fault_locked(service, op, "hold")
        STATS["held"].append({"op": f"{service}.{op}", "body": body[:4096].decode("utf-8", "replace")})
        _HOLDING += 1
        release = _RELEASE
    try:
        release.wait(hold_ms / 1000.0)
    finally:
        with _LOCK:
            _HOLDING -= 1


def _choose_fault(service: str, op: str) -> tuple[str | None, int]:
    """The fault for this request (or None) and, for "hold", how long to hold (ms)."""
    with _LOCK:
        for s in CONFIG.get("script") or []:
            m = s.get("match", "")
            if s["times"] > 0 and m in (service, f"{service}.{op}", op, "*"):
                if s.get("after", 0) > 0:
                    s["after"] -= 1  # let this one through; later entries may still match it
                    continue
                s["times"] -= 1
                return s["fault"], int(s.get("hold_ms", HOLD_MS_DEFAULT))
        only = CONFIG.get("only") or []
        if only and service not in only and f"{service}.{op}" not in only:
            return None, 0
        scoped = CONFIG.get("fault_only") or {}
        for name in FAULTS:
            p = float(CONFIG.get(name) or 0)
            if p > 0 and _RNG.random() < p:
                if name in scoped and service not in scoped[name] and f"{service}.{op}" not in scoped[name]:
                    continue
                return name, 0
        return None, 0


# ------------------------------------------------------------------ error bodies

# What Organizations says with ConcurrentModificationException (the `concurrent` fault and the
# one-writer-per-entity refusal): the message users report, e.g. openshift/aws-account-operator#809.
CONCURRENT_MESSAGE = "AWS Organizations can't complete your request because it conflicts with another attempt to modify the same entity. Try again later."


def _json_error(status: int, code: str, msg: str) -> tuple[str, list, bytes]:
    body = json.dumps({"__type": code, "message": msg, "Message": msg}).encode()
    reason = {400: "Bad Request", 403: "Forbidden", 500: "Internal Server Error", 503: "Service Unavailable", 504: "Gateway Timeout"}[status]
    return f"{status} {reason}", [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code), ("x-amzn-RequestId", "vend-fault"), ("Content-Length", str(len(body)))], body


def _xml_error(status: int, code: str, msg: str, s3: bool) -> tuple[str, list, bytes]:
    if s3:
        body = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{msg}</Message><RequestId>vend-fault</RequestId></Error>'
    else:
        body = f'<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{msg}</Message></Error><RequestId>vend-fault</RequestId></ErrorResponse>'
    data = body.encode()
    reason = {400: "Bad Request", 403: "Forbidden", 500: "Internal Server Error", 503: "Service Unavailable", 504: "Gateway Timeout"}[status]
    return f"{status} {reason}", [("Content-Type", "text/xml"), ("Content-Length", str(len(data)))], data


def fault_response(fault: str, json_protocol: bool, s3: bool, action: str = "", service: str = "") -> tuple[str, list, bytes]:
    if fault == "access_denied":
        # AWS's wording, e.g. "User: arn:aws:iam::111122223333:user/ops is not authorized to
        # perform: organizations:ListRoots on resource: * because no identity-based policy allows
        # the organizations:ListRoots action" (IAM User Guide, "Troubleshoot access denied error
        # messages").
        msg = f"User: {DENIED_PRINCIPAL} is not authorized to perform: {action} on resource: * because no identity-based policy allows the {action} action"
        if json_protocol:
            return _json_error(400, "AccessDeniedException", msg)
        return _xml_error(403, "AccessDenied", msg, s3)
    if fault == "throttle":
        code, status, msg = ("SlowDown", 503, "Please reduce your request rate.") if s3 else (
            ("ThrottlingException" if service in THROTTLING_EXCEPTION else "TooManyRequestsException") if json_protocol else "Throttling",
            400,
            "Rate exceeded",
        )
    elif fault == "concurrent":
        code, status, msg = "ConcurrentModificationException", 400, CONCURRENT_MESSAGE
    elif fault == "server_error":
        status = 500 if _RNG.random() < 0.5 else 503
        code = ("ServiceException" if status == 500 else "ServiceUnavailableException") if json_protocol else ("InternalError" if status == 500 else "ServiceUnavailable")
        msg = "AWS Organizations can't complete your request because of an internal service error. Try again later."
    else:  # timeout_before / lost_response in 504 mode
        code, status, msg = "GatewayTimeout", 504, "The gateway timed out."
    if json_protocol:
        return _json_error(status, code, msg)
    return _xml_error(status, code, msg, s3)


def _drop(environ: dict) -> None:
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except OSError:
            pass
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _xml_to_json_error(body: bytes) -> tuple[str, str] | None:
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    code = root.findtext(".//Code") or root.findtext(".//{*}Code")
    msg = root.findtext(".//Message") or root.findtext(".//{*}Message") or ""
    return (code, msg) if code else None


# ------------------------------------------------------------------ writes in progress


class Refused(Exception):
    """A write guard's refusal: answered as a JSON error, HTTP 400, like the faults."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# service -> guard(op, environ, body): None when the request claims nothing (a read, or an
# operation the guard does not cover), else a function that releases what it claimed; raises
# Refused when an entity it needs is claimed by a write in progress.
WRITE_GUARDS: dict[str, Callable[[str, dict, bytes], Callable[[], None] | None]] = {}

# Entity key -> the token of the request that claims it (a request releases only its own
# claims, so one still running across a reset cannot free a later request's).
_BUSY_LOCK = threading.Lock()
BUSY: dict[str, object] = {}


def claim(keys: list[str]) -> object | None:
    """Claim every key, all or none: a token to release them with, or None if one is claimed."""
    token = object()
    with _BUSY_LOCK:
        if any(k in BUSY for k in keys):
            return None
        for k in keys:
            BUSY[k] = token
    return token


def release(keys: list[str], token: object) -> None:
    with _BUSY_LOCK:
        for k in keys:
            if BUSY.get(k) is token:
                del BUSY[k]


def clear_claims() -> None:
    with _BUSY_LOCK:
        BUSY.clear()


# ------------------------------------------------------------------ the middleware


class VendMiddleware:
    def __init__(self, app: Callable, reset_backends: Callable[[], None]):
        self.app = app
        self.reset_backends = reset_backends

    def _reply(self, start_response, status: str, obj: Any):
        body = json.dumps(obj, indent=None).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    def control(self, environ, start_response, path: str, body: bytes):
        method = environ.get("REQUEST_METHOD")
        try:
            if path == "/_vend/faults" and method == "GET":
                return self._reply(start_response, "200 OK", CONFIG)
            if path == "/_vend/faults" and method == "POST":
                return self._reply(start_response, "200 OK", set_config(json.loads(body or b"{}")))
            if path == "/_vend/reset" and method == "POST":
                release_held()
                clear_claims()
                self.reset_backends()
                reset_config()
                with _LOCK:
                    _reset_stats()
                return self._reply(start_response, "200 OK", {"reset": True})
            if path == "/_vend/stats" and method == "GET":
                return self._reply(start_response, "200 OK", stats_snapshot())
            if path == "/_vend/recorded" and method == "GET":
                with _LOCK:
                    recorded = list(RECORDED)
                return self._reply(start_response, "200 OK", recorded)
            if path == "/_vend/release" and method == "POST":
                return self._reply(start_response, "200 OK", {"released": release_held()})
            if path == "/_vend/stats/reset" and method == "POST":
                with _LOCK:
                    _reset_stats()
                return self._reply(start_response, "200 OK", {"reset": True})
            if path == "/_vend/health":
                return self._reply(start_response, "200 OK", {"ok": True})
        except (ValueError, TypeError) as e:
            return self._reply(start_response, "400 Bad Request", {"error": str(e)})
        return self._reply(start_response, "404 Not Found", {"error": f"no control endpoint {method} {path}"})

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        if path.startswith("/_vend/"):
            return self.control(environ, start_response, path, body)
        if path.startswith("/moto-api"):
            return self.app(environ, start_response)

        service, op = identify(environ, body)
        _enter_flight()
        try:
            return self._counted(environ, start_response, service, op, body)
        finally:
            _leave_flight()

    def _counted(self, environ, start_response, service: str, op: str, body: bytes):
        _count_access_key(environ)
        if CONFIG.get("record"):
            _record(environ, service, op, body)
        json_protocol = bool(environ.get("HTTP_X_AMZ_TARGET")) or service in REST_JSON_SERVICES
        s3 = service == "s3"
        fault, hold_ms = _choose_fault(service, op)
        # A hold is recorded once the operation has run (see _hold), not on arrival.
        _count(service, op, None if fault == "hold" else fault)
        turned_away = fault in ("timeout_before", "throttle", "concurrent", "server_error", "access_denied")
        # A write that will reach the operation claims its entities on arrival, before the
        # latency: a second write to one of them meanwhile is refused (organizations.py).
        unclaim, refused = None, None
        guard = WRITE_GUARDS.get(service)
        if guard is not None and not turned_away:
            try:
                unclaim = guard(op, environ, body)
            except Refused as e:
                refused = _json_error(400, e.code, e.message)
            except Exception as e:  # noqa: BLE001 — as in _run: a typed error, not an HTML 500
                refused = _json_error(500, "InternalFailure", f"vend emulator: write guard: {type(e).__name__}: {e}")
        try:
            latency = int(CONFIG.get("latency_ms") or 0)
            if latency > 0:
                time.sleep(latency / 1000.0)
            mode = CONFIG.get("lost_mode", "504")

            if turned_away:
                if fault == "timeout_before" and mode == "drop":
                    _drop(environ)
                    start_response("504 Gateway Timeout", [("Content-Length", "0")])
                    return [b""]
                status, headers, data = fault_response(fault, json_protocol, s3, f"{service}:{op}", service)
                start_response(status, headers)
                return [data]

            status, headers, data = refused or self._run(environ, service, op, json_protocol, s3)
        finally:
            # The operation has run (or was refused): its entities are free again, also while a
            # hold keeps its answer back below.
            if unclaim is not None:
                unclaim()

        if fault == "hold":
            # The operation ran (whatever it answered); the client waits for the answer. A client
            # killed meanwhile never learns the outcome. Released (or timed out): answer normally.
            _hold(service, op, hold_ms, body)

        if fault == "lost_response":
            if mode == "drop":
                _drop(environ)
                start_response("504 Gateway Timeout", [("Content-Length", "0")])
                return [b""]
            status, headers, data = fault_response(fault, json_protocol, s3, service=service)
        start_response(status, headers)
        return [data]

    def _run(self, environ, service: str, op: str, json_protocol: bool, s3: bool) -> tuple[str, list, bytes]:
        """Run the request through moto; moto's errors come back in the AWS shape of the protocol."""
        captured: dict[str, Any] = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda _data: None

        error = _json_error if json_protocol else (lambda st, c, m: _xml_error(st, c, m, s3))
        try:
            chunks = self.app(environ, capture)
            try:
                data = b"".join(chunks)
            finally:
                if hasattr(chunks, "close"):
                    chunks.close()
        except NotImplementedError as e:
            with _LOCK:
                missing = STATS["not_implemented"]
                missing[f"{service}.{op}"] = missing.get(f"{service}.{op}", 0) + 1
            # moto lacks the operation: a typed, non-retryable error instead of an HTML 500
            return error(400, "NotImplementedByEmulator", f"vend emulator: {service}.{op} is not implemented ({e})")
        except Exception as e:  # noqa: BLE001
            return error(500, "InternalFailure", f"vend emulator: {type(e).__name__}: {e}")

        status, headers = captured["status"], captured["headers"]
        code = int(status.split()[0])
        if json_protocol and code >= 400 and data.lstrip().startswith(b"<"):
            conv = _xml_to_json_error(data)
            if conv:
                ecode = 400 if code < 500 else code
                status, headers, data = _json_error(ecode if ecode in (400, 500, 503, 504) else 400, conv[0], conv[1])
        elif json_protocol and code >= 500 and not data.lstrip().startswith(b"{"):
            status, headers, data = _json_error(500, "ServiceException", "emulator: unhandled error (operation not implemented?)")
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"] + [("Content-Length", str(len(data)))]
        return status, headers, data
