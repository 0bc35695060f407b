"""CloudFormation stacks of provisioned products, as the account they run in sees them.

Service Catalog (`servicecatalog.py`) launches a product as a CloudFormation stack named
`SC-<account>-<pp id>` in the launching account; the stack's parameters are the template's
`Parameters` defaults overlaid by the ProvisioningParameters, exactly as CloudFormation reports
them. This module answers `DescribeStacks` (query protocol, XML) for those stacks, by name or by
stack id, in the owning account; any other stack, and a DescribeStacks without a name, is moto's
own. Terminated products' stacks are described by stack id as DELETE_COMPLETE (as AWS does), by
name not at all.

Template parsing reads only the `Parameters` section, with a YAML loader that keeps every plain
scalar a string and ignores CloudFormation short-form tags (`!Ref`, `!Sub`, ...).
"""

import uuid
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlparse
from xml.sax.saxutils import escape

import yaml
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.responses import CloudFormationResponse

ORIG: dict[str, Any] = {}


class _TemplateLoader(yaml.SafeLoader):
    """Safe YAML loader: no implicit typing (scalars stay strings), any `!Tag` node is read as
    the plain node under it."""


_TemplateLoader.yaml_implicit_resolvers = {}


def _untagged(loader: yaml.Loader, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


_TemplateLoader.add_multi_constructor("!", _untagged)


def template_body(url: str) -> str | None:
    """The template object at an S3 URL, from moto's S3 (any account); None when absent."""
    from moto.s3.models import s3_backends

    u = urlparse(url or "")
    host, path = u.netloc, u.path.lstrip("/")
    if not host or not path:
        return None
    if host.startswith("s3.") or host == "s3.amazonaws.com" or host.startswith("127.0.0.1") or host.startswith("localhost"):
        if "/" not in path:
            return None
        bucket, key = path.split("/", 1)
    elif ".s3" in host:
        bucket, key = host.split(".s3", 1)[0], path
    else:
        return None
    owner = s3_backends.bucket_accounts.get(bucket)
    if owner is None:
        return None
    partition, account = owner
    try:
        obj = s3_backends[account][partition].get_object(bucket, key)
    except Exception:  # noqa: BLE001 - missing key/bucket
        return None
    if obj is None:
        return None
    return obj.value.decode("utf-8", "replace")


def template_parameters(url: str) -> dict[str, dict] | None:
    """`Parameters` of the template at `url`: name -> its declaration (Default etc.); None when
    the template is not in the emulator's S3 or cannot be parsed."""
    body = template_body(url)
    if body is None:
        return None
    try:
        doc = yaml.load(body, Loader=_TemplateLoader)  # noqa: S506 - safe loader subclass
    except yaml.YAMLError:
        return None
    if not isinstance(doc, dict):
        return None
    params = doc.get("Parameters") or {}
    return {str(k): (v if isinstance(v, dict) else {}) for k, v in params.items()} if isinstance(params, dict) else {}


# What DescribeStacks answers for a NoEcho parameter: "If you set the NoEcho attribute to true,
# CloudFormation returns the parameter value masked as asterisks ... for any calls that describe
# the stack or stack events" (CloudFormation User Guide, "Parameters template section syntax",
# NoEcho: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html).
# The API answers four asterisks.
MASK = "****"


def no_echo(declared: dict[str, dict] | None) -> list[str]:
    """The parameters the template declares with `NoEcho: true` (scalars are strings here)."""
    return sorted(n for n, d in (declared or {}).items() if str(d.get("NoEcho", "")).lower() == "true")


def stack_params(declared: dict[str, dict] | None, given: list[dict], previous: dict[str, str] | None) -> dict[str, str]:
    """The parameters CloudFormation would report for a stack: defaults, overlaid by the given
    values (UsePreviousValue keeps the previous one). Raises InvalidParametersException for a
    parameter with neither (and for unknown names) when the template is known."""
    from .errors import invalid

    prev = dict(previous or {})
    out: dict[str, str] = {}
    if declared is not None:
        for name, decl in declared.items():
            if "Default" in decl and decl["Default"] is not None:
                d = decl["Default"]
                out[name] = ",".join(map(str, d)) if isinstance(d, list) else str(d)
            if name in prev:
                out[name] = prev[name]
    else:
        out.update(prev)
    unknown = []
    for p in given or []:
        key = p.get("Key")
        if not key:
            continue
        if declared is not None and key not in declared:
            unknown.append(key)
            continue
        if p.get("UsePreviousValue"):
            if key in prev:
                out[key] = prev[key]
            continue
        out[key] = "" if p.get("Value") is None else str(p.get("Value"))
    if unknown:
        raise invalid("servicecatalog.launch-parameters", f"Parameters: [{', '.join(sorted(unknown))}] do not exist in the template")
    if declared is not None:
        missing = [n for n in declared if n not in out]
        if missing:
            raise invalid("servicecatalog.launch-parameters", f"Parameters: [{', '.join(missing)}] must have values")
    return out


def _sc_stacks(account: str, region: str):
    from moto.servicecatalog.models import servicecatalog_backends

    per_region = servicecatalog_backends.get(account) if hasattr(servicecatalog_backends, "get") else None
    be = per_region.get(region) if per_region is not None and hasattr(per_region, "get") else None
    if be is None or "_vend" not in be.__dict__:
        return None
    return be.__dict__["_vend"]


def _iso(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _member(xml: list[str], tag: str, value: Any) -> None:
    if value is not None:
        xml.append(f"<{tag}>{escape(str(value))}</{tag}>")


def _stack_xml(stack: dict) -> str:
    x: list[str] = ["<member>"]
    _member(x, "StackId", stack["StackId"])
    _member(x, "StackName", stack["StackName"])
    _member(x, "CreationTime", _iso(stack["CreationTime"]))
    _member(x, "LastUpdatedTime", _iso(stack.get("LastUpdatedTime")))
    _member(x, "DeletionTime", _iso(stack.get("DeletionTime")))
    _member(x, "StackStatus", stack["StackStatus"])
    _member(x, "DisableRollback", "false")
    x.append("<Parameters>")
    hidden = set(stack.get("NoEcho") or [])
    for k, v in sorted(stack["Parameters"].items()):
        if k in hidden:
            v = MASK
        x.append("<member>")
        _member(x, "ParameterKey", k)
        _member(x, "ParameterValue", v)
        x.append("</member>")
    x.append("</Parameters><Tags>")
    for k, v in sorted((stack.get("Tags") or {}).items()):
        x.append("<member>")
        _member(x, "Key", k)
        _member(x, "Value", v)
        x.append("</member>")
    x.append("</Tags><Outputs/><Capabilities/></member>")
    return "".join(x)


def _describe_stacks_xml(stacks: list[dict]) -> str:
    body = "".join(_stack_xml(s) for s in stacks)
    return (
        '<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">'
        f"<DescribeStacksResult><Stacks>{body}</Stacks></DescribeStacksResult>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        "</DescribeStacksResponse>"
    )


def describe_stacks(self):
    from .servicecatalog import LOCK

    name = self._get_param("StackName")
    if not name:
        # moto's own stacks (Service Catalog's are described by name or id only)
        return ORIG["describe_stacks"](self)
    with LOCK:
        st = _sc_stacks(self.current_account, self.region)
        for stack in st.stacks.values() if st else []:
            if name in (stack["StackId"], stack["StackName"]):
                return _describe_stacks_xml([stack])
        gone = st.deleted_stacks.get(name) if st else None
        if gone is not None:
            return _describe_stacks_xml([gone])
    sc_stack = f"arn:aws:cloudformation:{self.region}:{self.current_account}:stack/SC-"
    if name.startswith(sc_stack) or name.startswith("SC-"):
        raise ValidationError(name, message=f"Stack with id {name} does not exist")
    return ORIG["describe_stacks"](self)


def install() -> None:
    ORIG.setdefault("describe_stacks", CloudFormationResponse.describe_stacks)
    CloudFormationResponse.describe_stacks = describe_stacks
