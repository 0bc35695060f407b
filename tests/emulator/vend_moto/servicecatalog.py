"""Service Catalog operations vend calls, patched onto moto's ServiceCatalogResponse.

All state lives on the moto backend object (`backend._vend`), so moto's reset clears it.
Shapes follow the AWS API reference (AWS JSON 1.1, target AWS242ServiceCatalogService).
"""

import json
import re
import threading
import uuid
from typing import Any

from moto.servicecatalog.models import servicecatalog_backends
from moto.servicecatalog.responses import ServiceCatalogResponse

from . import control, rules
from .checks import check_length, check_tags
from .cloudformation import no_echo, stack_params, template_parameters
from .errors import bad_request, invalid, not_found
from .util import dumps, now, page, rid

LOCK = threading.RLock()


class State:
    def __init__(self) -> None:
        self.portfolios: dict[str, dict] = {}  # id -> portfolio
        self.products: dict[str, dict] = {}  # id -> product
        self.tokens: dict[tuple[str, str], Any] = {}  # (op, token) -> result id
        self.assoc: list[tuple[str, str]] = []  # (product_id, portfolio_id)
        self.principals: dict[str, list[dict]] = {}  # portfolio -> [{PrincipalARN, PrincipalType}]
        self.shares: dict[str, list[dict]] = {}  # portfolio -> shares
        self.share_status: dict[str, dict] = {}  # token -> status record
        self.constraints: dict[str, dict] = {}
        self.org_access = "DISABLED"
        self.provisioned: dict[str, dict] = {}
        self.records: dict[str, dict] = {}
        self.stacks: dict[str, dict] = {}  # stack id -> the CloudFormation stack of a provisioned product
        self.deleted_stacks: dict[str, dict] = {}  # stack id -> DELETE_COMPLETE stack


def state_of(backend: Any) -> State:
    st = backend.__dict__.get("_vend")
    if st is None:
        st = State()
        backend.__dict__["_vend"] = st
    return st


def all_states(region: str):
    for _acct, per_region in list(servicecatalog_backends.items()):
        be = per_region.get(region) if hasattr(per_region, "get") else None
        if be is not None and "_vend" in be.__dict__:
            yield be.__dict__["_vend"]


def tags_list(tags: dict) -> list:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def tags_dict(tags: Any) -> dict:
    return {t["Key"]: t.get("Value", "") for t in (tags or [])}


# ---------------------------------------------------------------- helpers on the response


def _p(self: ServiceCatalogResponse) -> dict:
    try:
        return json.loads(self.body or "{}")
    except ValueError:
        return {}


def _st(self: ServiceCatalogResponse) -> State:
    return state_of(self.servicecatalog_backend)


def _arn(self: ServiceCatalogResponse, kind: str, ident: str) -> str:
    return f"arn:aws:catalog:{self.region}:{self.current_account}:{kind}/{ident}"


def _portfolio(st: State, pid: str) -> dict:
    p = st.portfolios.get(pid or "")
    if p is None:
        raise not_found("servicecatalog.portfolio-exists", f"Portfolio {pid}")
    return p


def _product(self: ServiceCatalogResponse, pid: str | None, name: str | None = None, anywhere: bool = False) -> dict:
    st = _st(self)
    states = [st] + ([s for s in all_states(self.region) if s is not st] if anywhere else [])
    for s in states:
        if pid and pid in s.products:
            return s.products[pid]
        if name and not pid:
            for p in s.products.values():
                if p["Name"] == name:
                    return p
    raise not_found("servicecatalog.product-exists", f"Product {pid or name}")


def _artifact(prod: dict, aid: str | None, name: str | None = None) -> dict:
    for a in prod["artifacts"]:
        if (aid and a["Id"] == aid) or (name and not aid and a["Name"] == name):
            return a
    raise not_found("servicecatalog.product-exists", f"Provisioning artifact {aid or name}")


def _portfolio_detail(p: dict) -> dict:
    return {k: p[k] for k in ("Id", "ARN", "DisplayName", "Description", "CreatedTime", "ProviderName")}


def _artifact_detail(a: dict) -> dict:
    return {
        "Id": a["Id"],
        "Name": a["Name"],
        "Description": a.get("Description"),
        "Type": a["Type"],
        "CreatedTime": a["CreatedTime"],
        "Active": a["Active"],
        "Guidance": a["Guidance"],
        "SourceRevision": None,
    }


def _view_summary(p: dict) -> dict:
    return {
        "Id": p["ViewId"],
        "ProductId": p["Id"],
        "Name": p["Name"],
        "Owner": p.get("Owner"),
        "ShortDescription": p.get("Description"),
        "Type": p["Type"],
        "Distributor": p.get("Distributor"),
        "HasDefaultPath": False,
        "SupportEmail": p.get("SupportEmail"),
        "SupportDescription": p.get("SupportDescription"),
        "SupportUrl": p.get("SupportUrl"),
    }


def _view_detail(p: dict) -> dict:
    return {
        "ProductViewSummary": _view_summary(p),
        "Status": "CREATED",
        "ProductARN": p["ARN"],
        "CreatedTime": p["CreatedTime"],
    }


def _new_artifact(params: dict) -> dict:
    params = params or {}
    info = params.get("Info") or {}
    url = info.get("LoadTemplateFromURL") or info.get("TemplateUrl")
    if not url and not info.get("ImportFromPhysicalId"):
        raise bad_request("ProvisioningArtifactParameters.Info must contain LoadTemplateFromURL")
    return {
        "Id": rid("pa-"),
        "Name": params.get("Name") or "v1",
        "Description": params.get("Description"),
        "Type": params.get("Type") or "CLOUD_FORMATION_TEMPLATE",
        "CreatedTime": now(),
        "Active": True,
        "Guidance": "DEFAULT",
        "Info": {"TemplateUrl": url} if url else dict(info),
    }


def _token_hit(st: State, op: str, token: str | None) -> Any:
    if token:
        return st.tokens.get((op, token))
    return None


def _token_put(st: State, op: str, token: str | None, value: Any) -> None:
    if token:
        st.tokens[(op, token)] = value


def _check_tags(tags: Any, existing: Any = None, removed: Any = None) -> None:
    """Service Catalog tags (API model): key 1-128, value 0-256 characters of the allowed
    pattern; at most `limit("servicecatalog.tag-count")` on a resource."""
    check_tags("servicecatalog.tag-shape", "servicecatalog.tag-count", tags, existing, removed)


def _check_portfolio_fields(a: dict, create: bool) -> None:
    """CreatePortfolio/UpdatePortfolio (API model): DisplayName 1-100, ProviderName 1-50,
    Description at most 2000 characters."""
    if create or a.get("DisplayName") is not None:
        check_length("servicecatalog.portfolio-fields", a.get("DisplayName"), "DisplayName", 1, 100)
    if create or a.get("ProviderName") is not None:
        check_length("servicecatalog.portfolio-fields", a.get("ProviderName"), "ProviderName", 1, 50)
    check_length("servicecatalog.portfolio-fields", a.get("Description"), "Description", 0, 2000)


def _check_product_fields(a: dict, create: bool) -> None:
    """CreateProduct/UpdateProduct (API model): Name and Owner 1-8191, Description at most
    8191 characters."""
    for k in ("Name", "Owner"):
        if create or a.get(k) is not None:
            check_length("servicecatalog.product-fields", a.get(k), k, 1, 8191)
    check_length("servicecatalog.product-fields", a.get("Description"), "Description", 0, 8191)


def _check_version_fields(params: dict) -> None:
    """ProvisioningArtifactProperties (API model): Name and Description at most 8192 characters."""
    for k in ("Name", "Description"):
        check_length("servicecatalog.version-fields", params.get(k), k, 0, 8192)


# ---------------------------------------------------------------- portfolios


def create_portfolio(self):
    a = _p(self)
    with LOCK:
        st = _st(self)
        hit = _token_hit(st, "CreatePortfolio", a.get("IdempotencyToken"))
        if hit:
            p = st.portfolios[hit]
        else:
            _check_portfolio_fields(a, create=True)
            _check_tags(a.get("Tags"))
            pid = rid("port-")
            p = {
                "Id": pid,
                "ARN": _arn(self, "portfolio", pid),
                "DisplayName": a["DisplayName"],
                "Description": a.get("Description"),
                "ProviderName": a["ProviderName"],
                "CreatedTime": now(),
                "Tags": tags_dict(a.get("Tags")),
            }
            st.portfolios[pid] = p
            _token_put(st, "CreatePortfolio", a.get("IdempotencyToken"), pid)
        return dumps({"PortfolioDetail": _portfolio_detail(p), "Tags": tags_list(p["Tags"])})


def describe_portfolio(self):
    a = _p(self)
    with LOCK:
        p = _portfolio(_st(self), a.get("Id"))
        return dumps({"PortfolioDetail": _portfolio_detail(p), "Tags": tags_list(p["Tags"]), "TagOptions": [], "Budgets": []})


def update_portfolio(self):
    a = _p(self)
    with LOCK:
        p = _portfolio(_st(self), a.get("Id"))
        _check_portfolio_fields(a, create=False)
        _check_tags(a.get("AddTags"), p["Tags"], a.get("RemoveTags"))
        for k in ("DisplayName", "Description", "ProviderName"):
            if a.get(k) is not None:
                p[k] = a[k]
        for k in a.get("RemoveTags") or []:
            p["Tags"].pop(k, None)
        p["Tags"].update(tags_dict(a.get("AddTags")))
        return dumps({"PortfolioDetail": _portfolio_detail(p), "Tags": tags_list(p["Tags"])})


def delete_portfolio(self):
    a = _p(self)
    with LOCK:
        st = _st(self)
        pid = a.get("Id")
        _portfolio(st, pid)
        if any(pf == pid for _, pf in st.assoc):
            raise rules.refuse("servicecatalog.portfolio-empty-to-delete", "Portfolio has associated products.")
        if st.principals.get(pid):
            raise rules.refuse("servicecatalog.portfolio-empty-to-delete", "Portfolio has associated principals.")
        if st.shares.get(pid):
            raise rules.refuse("servicecatalog.portfolio-empty-to-delete", "Portfolio is shared.")
        del st.portfolios[pid]
        return "{}"


def list_portfolios(self):
    a = _p(self)
    with LOCK:
        items = sorted(_st(self).portfolios.values(), key=lambda p: p["CreatedTime"])
        chunk, nxt = page(items, a.get("PageToken"), a.get("PageSize"))
        return dumps({"PortfolioDetails": [_portfolio_detail(p) for p in chunk], "NextPageToken": nxt})


def list_portfolios_for_product(self):
    a = _p(self)
    with LOCK:
        st = _st(self)
        _product(self, a.get("ProductId"))
        items = [st.portfolios[pf] for pr, pf in st.assoc if pr == a.get("ProductId") and pf in st.portfolios]
        chunk, nxt = page(items, a.get("PageToken"), a.get("PageSize"))
        return dumps({"PortfolioDetails": [_portfolio_detail(p) for p in chunk], "NextPageToken": nxt})


# ---------------------------------------------------------------- products


def create_product(self):
    a = _p(self)
    with LOCK:
        st = _st(self)
        hit = _token_hit(st, "CreateProduct", a.get("IdempotencyToken"))
        if hit:
            p = st.products[hit]
        else:
            if not a.get("ProductType"):
                raise bad_request("ProductType is required")
            _check_product_fields(a, create=True)
            _check_tags(a.get("Tags"))
            _check_version_fields(a.get("ProvisioningArtifactParameters") or {})
            art = _new_artifact(a.get("ProvisioningArtifactParameters"))
            pid = rid("prod-")
            p = {
                "Id": pid,
                "ViewId": rid("prodview-"),
                "ARN": _arn(self, "product", pid),
                "Name": a["Name"],
                "Owner": a["Owner"],
                "Description": a.get("Description"),
                "Distributor": a.get("Distributor"),
                "SupportDescription": a.get("SupportDescription"),
                "SupportEmail": a.get("SupportEmail"),
                "SupportUrl": a.get("SupportUrl"),
                "Type": a["ProductType"],
                "CreatedTime": now(),
                "Tags": tags_dict(a.get("Tags")),
                "artifacts": [art],
            }
            st.products[pid] = p
            _token_put(st, "CreateProduct", a.get("IdempotencyToken"), pid)
        return dumps(
            {
                "ProductViewDetail": _view_detail(p),
                "ProvisioningArtifactDetail": _artifact_detail(p["artifacts"][0]),
                "Tags": tags_list(p["Tags"]),
            }
        )


def describe_product_as_admin(self):
    a = _p(self)
    with LOCK:
        p = _product(self, a.get("Id"), a.get("Name"))
        return dumps(
            {
                "ProductViewDetail": _view_detail(p),
                "ProvisioningArtifactSummaries": [
                    {"Id": x["Id"], "Name": x["Name"], "Description": x.get("Description"), "CreatedTime": x["CreatedTime"]}
                    for x in p["artifacts"]
                ],
                "Tags": tags_list(p["Tags"]),
                "TagOptions": [],
                "Budgets": [],
            }
        )


def describe_product(self):
    a = _p(self)
    with LOCK:
        p = _product(self, a.get("Id"), a.get("Name"), anywhere=True)
        return dumps(
            {
                "ProductViewSummary": _view_summary(p),
                "ProvisioningArtifacts": [
                    {"Id": x["Id"], "Name": x["Name"], "Description": x.get("Description"), "CreatedTime": x["CreatedTime"], "Guidance": x["Guidance"]}
                    for x in p["artifacts"]
                    if x["Active"]
                ],
                "Budgets": [],
                "LaunchPaths": [],
            }
        )


def update_product(self):
    a = _p(self)
    with LOCK:
        p = _product(self, a.get("Id"))
        _check_product_fields(a, create=False)
        _check_tags(a.get("AddTags"), p["Tags"], a.get("RemoveTags"))
        for k in ("Name", "Owner", "Description", "Distributor", "SupportDescription", "SupportEmail", "SupportUrl"):
            if a.get(k) is not None:
                p[k] = a[k]
        for k in a.get("RemoveTags") or []:
            p["Tags"].pop(k, None)
        p["Tags"].update(tags_dict(a.get("AddTags")))
        return dumps({"ProductViewDetail": _view_detail(p), "Tags": tags_list(p["Tags"])})


def delete_product(self):
    a = _p(self)
    with LOCK:
        st = _st(self)
        pid = a.get("Id")
        _product(self, pid)
        if any(pr == pid for pr, _ in st.assoc):
            raise rules.refuse("servicecatalog.product-unused-to-delete", "Product is associated with a portfolio.")
        del st.products[pid]
        return "{}"


def search_products_as_admin(self):
    a = _p(self)
    with LOCK:
        st = _st(self)
        items = list(st.products.values())
        if a.get("PortfolioId"):
            _portfolio(st, a["PortfolioId"])
            ids = {pr for pr, pf in st.assoc if pf == a["PortfolioId"]}
            items = [p for p in items if p["Id"] in ids]
        filters = a.get("Filters") or {}
        for text in filters.get("FullTextSearch") or []:
            t = text.lower()
            items = [p for p in items if t in p["Name"].lower() or t in (p.get("Description") or "").lower() or t in (p.get("Owner") or "").lower()]
        for owner in filters.get("Owner") or []:
            items = [p for p in items if p.get("Owner") == owner]
        for pt in filters.get("ProductType") or []:
            items = [p for p in items if p["Type"] == pt]
        key = {"Title": "Name", "VersionCount": None, "CreationDate": "CreatedTime"}.get(a.get("SortBy") or "Title") or "Name"
        items.sort(key=lambda p: p[key], reverse=a.get("SortOrder") == "DESCENDING")
        chunk, nxt = page(items, a.get("PageToken"), a.get("PageSize"))
        return dumps({"ProductViewDetails": [_view_detail(p) for p in chunk], "NextPageToken": nxt})


# ---------------------------------------------------------------- provisioning artifacts


def list_provisioning_artifacts(self):
    a = _p(self)
    with LOCK:
        p = _product(self, a.get("ProductId"))
        return dumps({"ProvisioningArtifactDetails": [_artifact_detail(x) for x in p["artifacts"]]})


def create_provisioning_artifact(self):
    a = _p(self)
    with LOCK:
        st = _st(self)
        p = _product(self, a.get("ProductId"))
        hit = _token_hit(st, "CreateProvisioningArtifact", a.get("IdempotencyToken"))
        if hit:
            art = _artifact(p, hit)
        else:
            params = a.get("Parameters") or {}
            # CreateProvisioningArtifact's errors (API reference) have no DuplicateResource:
            # a name already used by the product's versions is an invalid parameter.
            _check_version_fields(params)
            if any(x["Name"] == params.get("Name") for x in p["artifacts"]):
                raise invalid("servicecatalog.version-name-unique", f"Provisioning artifact {params.get('Name')} already exists.")
            if len(p["artifacts"]) >= rules.limit("servicecatalog.version-count"):
                raise rules.refuse("servicecatalog.version-count", "Provisioning artifact limit reached.")
            art = _new_artifact(params)
            p["artifacts"].append(art)
            _token_put(st, "CreateProvisioningArtifact", a.get("IdempotencyToken"), art["Id"])
        return dumps({"ProvisioningArtifactDetail": _artifact_detail(art), "Info": art["Info"], "Status": "AVAILABLE"})


def update_provisioning_artifact(self):
    a = _p(self)
    with LOCK:
        p = _product(self, a.get("ProductId"))
        art = _artifact(p, a.get("ProvisioningArtifactId"))
        _check_version_fields(a)
        if a.get("Guidance") is not None:
            if a["Guidance"] not in ("DEFAULT", "DEPRECATED"):
                raise invalid("servicecatalog.version-fields", "Guidance must be DEFAULT or DEPRECATED")
            art["Guidance"] = a["Guidance"]
        if a.get("Active") is not None:
            art["Active"] = bool(a["Active"])
        for k in ("Name", "Description"):
            if a.get(k) is not None:
                art[k] = a[k]
        return dumps({"ProvisioningArtifactDetail": _artifact_detail(art), "Info": art["Info"], "Status": "AVAILABLE"})


def delete_provisioning_artifact(self):
    a = _p(self)
    with LOCK:
        p = _product(self, a.get("ProductId"))
        art = _artifact(p, a.get("ProvisioningArtifactId"))
        if len(p["artifacts"]) == 1:
            raise invalid("servicecatalog.version-keep-one", "You cannot delete the last provisioning artifact of a product.")
        for s in all_states(self.region):
            for pp in s.provisioned.values():
                if pp["ProvisioningArtifactId"] == art["Id"] and pp["Status"] != "TERMINATED":
                    raise rules.refuse("servicecatalog.version-unused-to-delete", "Provisioning artifact is in use by a provisioned product.")
        p["artifacts"].remove(art)
        return "{}"


def describe_provisioning_artifact(self):
    a = _p(self)
    with LOCK:
        p = _product(self, a.get("ProductId"), a.get("ProductName"), anywhere=True)
        art = _artifact(p, a.get("ProvisioningArtifactId"), a.get("ProvisioningArtifactName"))
        return dumps({"ProvisioningArtifactDetail": _artifact_detail(art), "Info": art["Info"], "Status": "AVAILABLE"})


# ---------------------------------------------------------------- associations


def associate_product_with_portfolio(self):
    a = _p(self)
    with LOCK:
        st = _st(self)
        _portfolio(st, a.get("PortfolioId"))
        _product(self, a.get("ProductId"))
        pair = (a["ProductId"], a["PortfolioId"])
        if pair not in st.assoc:
            st.assoc.append(pair)
        return "{}"


def disassociate_product_from_portfolio(self):
    a = _p(self)
    with LOCK:
        st = _st(self)
        _portfolio(st, a.get("PortfolioId"))
        _product(self, a.get("ProductId"))
        pair = (a["ProductId"], a["PortfolioId"])
        if pair not in st.assoc:
            raise not_found("servicecatalog.association-exists", f"Association of {pair[0]} with {pair[1]}")
        if any(c["ProductId"] == pair[0] and c["PortfolioId"] == pair[1] for c in st.constraints.values()):
            raise rules.refuse("servicecatalog.constraint-before-disassociate", "Delete the product's constraints in this portfolio first.")
        st.assoc.remove(pair)
        return "{}"


# An IAM role name (IAM API model): 1-64 characters of [\w+=,.@-].
ROLE_NAME = re.compile(r"[A-Za-z0-9+=,.@_-]{1,64}")
IAM_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(role|user|group)/.+$")
IAM_PATTERN = re.compile(r"^arn:aws[a-z-]*:iam:::(role|user|group)/.+$")


def associate_principal_with_portfolio(self):
    a = _p(self)
    with LOCK:
        st = _st(self)
        pid = a.get("PortfolioId")
        _portfolio(st, pid)
        arn, typ = a.get("PrincipalARN") or "", a.get("PrincipalType")
        if typ == "IAM":
            if not IAM_ARN.match(arn):
                raise invalid("servicecatalog.principal-shape", "PrincipalARN of type IAM must be a full IAM ARN with an account id.")
        elif typ == "IAM_PATTERN":
            if not IAM_PATTERN.match(arn):
                raise invalid("servicecatalog.principal-shape", "PrincipalARN of type IAM_PATTERN must be an IAM ARN without an account id.")
        else:
            raise bad_request("PrincipalType must be IAM or IAM_PATTERN")
        lst = st.principals.setdefault(pid, [])
        entry = {"PrincipalARN": arn, "PrincipalType": typ}
        if entry not in lst:
            most = rules.limit("servicecatalog.principal-pattern-count")
            if typ == "IAM_PATTERN" and sum(1 for e in lst if e["PrincipalType"] == "IAM_PATTERN") >= most:
                raise rules.refuse("servicecatalog.principal-pattern-count", f"At most {most} IAM_PATTERN principals per portfolio.")
            lst.append(entry)
        return "{}"


def disassociate_principal_from_portfolio(self):
    a = _p(self)
    with LOCK:
        st = _st(self)
        pid = a.get("PortfolioId")
        _portfolio(st, pid)
        typ = a.get("PrincipalType") or "IAM"
        entry = {"PrincipalARN": a.get("PrincipalARN"), "PrincipalType": typ}
        lst = st.principals.get(pid, [])
        if entry not in lst:
            raise not_found("servicecatalog.principal-associated", f"Principal {entry['PrincipalARN']} ({typ})")
        lst.remove(entry)
        return "{}"


def list_principals_for_portfolio(self):
    a = _p(self)
    with LOCK:
        st = _st(self)
        _portfolio(st, a.get("PortfolioId"))
        chunk, nxt = page(st.principals.get(a["PortfolioId"], []), a.get("PageToken"), a.get("PageSize"))
        return dumps({"Principals": chunk, "NextPageToken": nxt})


# ---------------------------------------------------------------- sharing


def enable_aws_organizations_access(self):
    with LOCK:
        _st(self).org_access = "ENABLED"
        return "{}"


def disable_aws_organizations_access(self):
    with LOCK:
        _st(self).org_access = "DISABLED"
        return "{}"


def get_aws_organizations_access_status(self):
    with LOCK:
        return dumps({"AccessStatus": _st(self).org_access})


def _share_target(a: dict) -> tuple[str, str]:
    node = a.get("OrganizationNode")
    if node:
        typ, val = node.get("Type"), node.get("Value")
        if typ not in ("ORGANIZATION", "ORGANIZATIONAL_UNIT", "ACCOUNT") or not val:
            raise bad_request("OrganizationNode needs Type ORGANIZATION|ORGANIZATIONAL_UNIT|ACCOUNT and a Value")
        return typ, val
    if a.get("AccountId"):
        return "ACCOUNT", a["AccountId"]
    raise bad_request("Either AccountId or OrganizationNode is required")


def _org_of(self):
    """The caller's organization backend (None when it is in no organization)."""
    from moto.organizations.models import organizations_backends

    be = organizations_backends[self.current_account][self.partition]
    return be if be.org is not None else None


def _check_share_target(self, typ: str, val: str) -> None:
    """The share target must be this organization, one of its OUs or one of its accounts."""
    org = _org_of(self)
    if org is None:
        if typ != "ACCOUNT":
            raise invalid("servicecatalog.share-target", "The caller is not in an organization: share with an account instead.")
        return
    if typ == "ORGANIZATION":
        ok = val == org.org.id
    elif typ == "ORGANIZATIONAL_UNIT":
        ok = any(o.id == val and getattr(o, "type", "") != "ROOT" for o in org.ou)
    else:
        ok = any(x.id == val for x in org.accounts)
    if not ok:
        raise invalid("servicecatalog.share-target", f"{typ} {val} is not part of the organization.")


def _check_share_principals(a: dict, typ: str) -> None:
    # CreatePortfolioShare/UpdatePortfolioShare: SharePrincipals "is only supported for portfolios
    # with an OrganizationalNode Type of ORGANIZATION or ORGANIZATIONAL_UNIT".
    if a.get("SharePrincipals") and typ not in ("ORGANIZATION", "ORGANIZATIONAL_UNIT"):
        raise invalid("servicecatalog.share-principals-org-only", "SharePrincipals is only supported for an OrganizationNode of type ORGANIZATION or ORGANIZATIONAL_UNIT.")


def create_portfolio_share(self):
    a = _p(self)
    with LOCK:
        st = _st(self)
        pid = a.get("PortfolioId")
        _portfolio(st, pid)
        typ, val = _share_target(a)
        via_org = bool(a.get("OrganizationNode"))
        _check_share_principals(a, typ)
        if via_org and st.org_access != "ENABLED":
            raise rules.refuse("servicecatalog.share-org-access", "AWS Organizations access is not enabled. Call EnableAWSOrganizationsAccess first.")
        _check_share_target(self, typ, val)
        shares = st.shares.setdefault(pid, [])
        share = next((s for s in shares if s["Type"] == typ and s["PrincipalId"] == val), None)
        if share is None:
            share = {
                "PrincipalId": val,
                "Type": typ,
                "Accepted": via_org,
                "ShareTagOptions": bool(a.get("ShareTagOptions")),
                "SharePrincipals": bool(a.get("SharePrincipals")),
                "via_org": via_org,
            }
            shares.append(share)
        else:
            share["SharePrincipals"] = bool(a.get("SharePrincipals")) or share["SharePrincipals"]
            share["ShareTagOptions"] = bool(a.get("ShareTagOptions")) or share["ShareTagOptions"]
        if not via_org:
            return "{}"
        token = rid("share-")
        st.share_status[token] = {"PortfolioId": pid, "Value": val, "polls": 0, "op": "create"}
        return dumps({"PortfolioShareToken": token})


def update_portfolio_share(self):
    # https://docs.aws.amazon.com/servicecatalog/latest/dg/API_UpdatePortfolioShare.html
    a = _p(self)
    with LOCK:
        st = _st(self)
        pid = a.get("PortfolioId")
        _portfolio(st, pid)
        typ, val = _share_target(a)
        share = next((s for s in st.shares.get(pid, []) if s["Type"] == typ and s["PrincipalId"] == val), None)
        if share is None:
            raise not_found("servicecatalog.share-exists", f"Share of {pid} with {typ} {val}")
        _check_share_principals(a, typ)
        needed = control.CONFIG.get("share_polls", 1)
        creating = any(
            s["PortfolioId"] == pid and s["Value"] == val and s["op"] == "create" and s["polls"] < needed
            for s in st.share_status.values()
        )
        if creating:
            raise rules.refuse("servicecatalog.share-update-in-progress", "The portfolio share cannot be updated while CreatePortfolioShare is IN_PROGRESS.")
        if a.get("SharePrincipals") is not None:
            share["SharePrincipals"] = bool(a.get("SharePrincipals"))
        if a.get("ShareTagOptions") is not None:
            share["ShareTagOptions"] = bool(a.get("ShareTagOptions"))
        if not share["via_org"]:
            return dumps({"Status": "COMPLETED"})
        token = rid("share-")
        # Already applied: the token's first poll answers COMPLETED.
        st.share_status[token] = {"PortfolioId": pid, "Value": val, "polls": needed, "op": "update"}
        return dumps({"PortfolioShareToken": token, "Status": "IN_PROGRESS"})


def delete_portfolio_share(self):
    a = _p(self)
    with LOCK:
        st = _st(self)
        pid = a.get("PortfolioId")
        _portfolio(st, pid)
        typ, val = _share_target(a)
        shares = st.shares.get(pid, [])
        share = next((s for s in shares if s["Type"] == typ and s["PrincipalId"] == val), None)
        if share is None:
            raise not_found("servicecatalog.share-exists", f"Share of {pid} with {typ} {val}")
        shares.remove(share)
        if not a.get("OrganizationNode"):
            return "{}"
        token = rid("share-")
        st.share_status[token] = {"PortfolioId": pid, "Value": val, "polls": 0, "op": "delete"}
        return dumps({"PortfolioShareToken": token})


def describe_portfolio_share_status(self):
    a = _p(self)
    with LOCK:
        st = _st(self)
        s = st.share_status.get(a.get("PortfolioShareToken") or "")
        if s is None:
            raise not_found("servicecatalog.share-exists", f"Portfolio share token {a.get('PortfolioShareToken')}")
        needed = control.CONFIG.get("share_polls", 1)
        status = "IN_PROGRESS" if s["polls"] < needed else "COMPLETED"
        s["polls"] += 1
        body = {
            "PortfolioShareToken": a["PortfolioShareToken"],
            "PortfolioId": s["PortfolioId"],
            "OrganizationNodeValue": s["Value"],
            "Status": status,
        }
        if status == "COMPLETED":
            body["ShareDetails"] = {"SuccessfulShares": [s["Value"]], "ShareErrors": []}
        return dumps(body)


def describe_portfolio_shares(self):
    a = _p(self)
    with LOCK:
        st = _st(self)
        pid = a.get("PortfolioId")
        _portfolio(st, pid)
        typ = a.get("Type")
        if typ not in ("ACCOUNT", "ORGANIZATION", "ORGANIZATIONAL_UNIT", "ORGANIZATION_MEMBER_ACCOUNT"):
            raise bad_request("Type must be ACCOUNT|ORGANIZATION|ORGANIZATIONAL_UNIT|ORGANIZATION_MEMBER_ACCOUNT")
        items = []
        for s in st.shares.get(pid, []):
            if typ == "ACCOUNT" and s["Type"] == "ACCOUNT" and not s["via_org"]:
                items.append(s)
            elif typ == "ORGANIZATION_MEMBER_ACCOUNT" and s["Type"] == "ACCOUNT" and s["via_org"]:
                items.append(s)
            elif typ == s["Type"] and typ != "ACCOUNT":
                items.append(s)
        chunk, nxt = page(items, a.get("PageToken"), a.get("PageSize"), default=50)
        out = [
            {
                "PrincipalId": s["PrincipalId"],
                "Type": typ,
                "Accepted": s["Accepted"],
                "ShareTagOptions": s["ShareTagOptions"],
                "SharePrincipals": s["SharePrincipals"],
            }
            for s in chunk
        ]
        return dumps({"PortfolioShareDetails": out, "NextPageToken": nxt})


def list_portfolio_access(self):
    a = _p(self)
    with LOCK:
        st = _st(self)
        pid = a.get("PortfolioId")
        _portfolio(st, pid)
        ids = [s["PrincipalId"] for s in st.shares.get(pid, []) if s["Type"] == "ACCOUNT"]
        chunk, nxt = page(ids, a.get("PageToken"), a.get("PageSize"))
        return dumps({"AccountIds": chunk, "NextPageToken": nxt})


# ---------------------------------------------------------------- constraints


def _constraint_detail(c: dict) -> dict:
    return {k: c[k] for k in ("ConstraintId", "Type", "Description", "Owner", "ProductId", "PortfolioId")}


def create_constraint(self):
    a = _p(self)
    with LOCK:
        st = _st(self)
        hit = _token_hit(st, "CreateConstraint", a.get("IdempotencyToken"))
        if hit and hit in st.constraints:
            c = st.constraints[hit]
        else:
            pid, prod = a.get("PortfolioId"), a.get("ProductId")
            _portfolio(st, pid)
            _product(self, prod)
            if (prod, pid) not in st.assoc:
                raise not_found("servicecatalog.association-exists", f"Product {prod} is not associated with portfolio {pid}")
            typ = a.get("Type")
            if typ not in ("LAUNCH", "NOTIFICATION", "RESOURCE_UPDATE", "STACKSET", "TEMPLATE"):
                raise bad_request(f"Unknown constraint type {typ}")
            try:
                params = json.loads(a.get("Parameters") or "")
            except ValueError:
                raise bad_request("Parameters must be a JSON document")
            if typ == "LAUNCH":
                if not isinstance(params, dict):
                    raise bad_request("Parameters must be a JSON object")
                has_role = "RoleArn" in params
                has_local = "LocalRoleName" in params
                if has_role == has_local:
                    raise invalid("servicecatalog.constraint-role", "A launch constraint needs exactly one of RoleArn or LocalRoleName.")
                if has_local and not ROLE_NAME.fullmatch(str(params["LocalRoleName"])):
                    raise invalid("servicecatalog.constraint-role", "LocalRoleName must be an IAM role name: 1-64 characters of [A-Za-z0-9+=,.@_-].")
                # "The given role name must exist in the account used to create the launch
                # constraint" (CloudFormation, AWS::ServiceCatalog::LaunchRoleConstraint).
                if has_local and _role(self, self.current_account, params["LocalRoleName"]) is None:
                    raise rules.refuse("servicecatalog.constraint-role-exists", f"Role {params['LocalRoleName']} does not exist in account {self.current_account}.")
                if any(c["Type"] == "LAUNCH" and c["ProductId"] == prod and c["PortfolioId"] == pid for c in st.constraints.values()):
                    raise rules.refuse("servicecatalog.constraint-one-launch", "A launch constraint already exists for this product and portfolio.")
            cid = rid("cons-")
            c = {
                "ConstraintId": cid,
                "Type": typ,
                "Description": a.get("Description"),
                "Owner": self.current_account,
                "ProductId": prod,
                "PortfolioId": pid,
                "Parameters": a.get("Parameters"),
            }
            st.constraints[cid] = c
            _token_put(st, "CreateConstraint", a.get("IdempotencyToken"), cid)
        return dumps({"ConstraintDetail": _constraint_detail(c), "ConstraintParameters": c["Parameters"], "Status": "AVAILABLE"})


def describe_constraint(self):
    a = _p(self)
    with LOCK:
        c = _st(self).constraints.get(a.get("Id") or "")
        if c is None:
            raise not_found("servicecatalog.constraint-exists", f"Constraint {a.get('Id')}")
        return dumps({"ConstraintDetail": _constraint_detail(c), "ConstraintParameters": c["Parameters"], "Status": "AVAILABLE"})


def delete_constraint(self):
    a = _p(self)
    with LOCK:
        st = _st(self)
        if a.get("Id") not in st.constraints:
            raise not_found("servicecatalog.constraint-exists", f"Constraint {a.get('Id')}")
        del st.constraints[a["Id"]]
        return "{}"


def list_constraints_for_portfolio(self):
    a = _p(self)
    with LOCK:
        st = _st(self)
        _portfolio(st, a.get("PortfolioId"))
        items = [c for c in st.constraints.values() if c["PortfolioId"] == a["PortfolioId"] and (not a.get("ProductId") or c["ProductId"] == a["ProductId"])]
        chunk, nxt = page(items, a.get("PageToken"), a.get("PageSize"))
        return dumps({"ConstraintDetails": [_constraint_detail(c) for c in chunk], "NextPageToken": nxt})


# ---------------------------------------------------------------- provisioning


def _pp(self, a: dict) -> dict:
    st = _st(self)
    if a.get("ProvisionedProductId") or a.get("Id"):
        pp = st.provisioned.get(a.get("ProvisionedProductId") or a.get("Id"))
    else:
        name = a.get("ProvisionedProductName") or a.get("Name")
        pp = next((x for x in st.provisioned.values() if x["Name"] == name), None)
    if pp is None:
        raise not_found("servicecatalog.provisioned-exists", "Provisioned product")
    return pp


def _record(self, pp: dict, typ: str, token: str | None, params: Any, tags: Any = None) -> dict:
    st = _st(self)
    rec = {
        "RecordId": rid("rec-"),
        "ProvisionedProductName": pp["Name"],
        "Status": "CREATED",
        "CreatedTime": now(),
        "UpdatedTime": now(),
        "ProvisionedProductType": "CFN_STACK",
        "RecordType": typ,
        "ProvisionedProductId": pp["Id"],
        "ProductId": pp["ProductId"],
        "ProvisioningArtifactId": pp["ProvisioningArtifactId"],
        "PathId": pp.get("PathId"),
        "RecordErrors": [],
        "RecordTags": tags_list(pp["Tags"]),
        "polls": 0,
        "params": params,
    }
    st.records[rec["RecordId"]] = rec
    pp["LastRecordId"] = rec["RecordId"]
    if typ != "TERMINATE_PROVISIONED_PRODUCT":
        pp["LastProvisioningRecordId"] = rec["RecordId"]
    pp["Status"] = "UNDER_CHANGE"
    return rec


def _record_view(rec: dict) -> dict:
    return {k: v for k, v in rec.items() if k not in ("polls", "params")}


def _declared(art: dict) -> dict | None:
    """The artifact template's Parameters (None when the template is not in the emulator's S3:
    then the given parameters are taken as they are, unchecked)."""
    return template_parameters((art.get("Info") or {}).get("TemplateUrl") or "")


def _launchable(art: dict, update: bool) -> None:
    if not art["Active"]:
        raise invalid("servicecatalog.launch-version-active", f"Provisioning artifact {art['Id']} is not active.")
    if art["Guidance"] == "DEPRECATED" and not update:
        raise invalid("servicecatalog.launch-version-not-deprecated", f"Provisioning artifact {art['Id']} is deprecated: no new launches.")


PP_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]*")


def _owner_of(self: ServiceCatalogResponse, product_id: str) -> tuple[str, State] | None:
    """The account whose Service Catalog holds the product, and its state."""
    for acct, per_region in list(servicecatalog_backends.items()):
        be = per_region.get(self.region) if hasattr(per_region, "get") else None
        st = be.__dict__.get("_vend") if be is not None else None
        if st is not None and product_id in st.products:
            return acct, st
    return None


def _ou_chain(owner: str, partition: str, account_id: str) -> tuple[str | None, set[str]]:
    """The organization id and the OUs above `account_id`, as the owner's organization has them."""
    from moto.organizations.models import organizations_backends

    be = organizations_backends[owner][partition]
    if be.org is None:
        return None, set()
    acct = next((a for a in be.accounts if a.id == account_id), None)
    if acct is None:
        return be.org.id, set()
    chain, parent = set(), acct.parent_id
    ous = {o.id: o for o in be.ou}
    while parent in ous:
        chain.add(parent)
        parent = getattr(ous[parent], "parent_id", None)
    return be.org.id, chain


def _caller_role(self: ServiceCatalogResponse) -> str | None:
    """The caller's role as an account-less ARN (`arn:aws:iam:::role/NAME`), when the request is
    signed with credentials of an assumed role (moto's STS); None for users and roots."""
    from moto.sts.models import sts_backends

    role = sts_backends[self.current_account][self.partition].get_assumed_role_from_access_key(self.get_access_key())
    if role is None:
        return None
    return re.sub(r"^arn:([^:]+):iam::\d{12}:", r"arn:\1:iam:::", role.role_arn)


def _role(self: ServiceCatalogResponse, account: str, name: str):
    """moto's IAM role `name` in `account`, or None."""
    from moto.iam.models import iam_backends

    return next((r for r in iam_backends[account][self.partition].roles.values() if r.name == name), None)


def _trusts_catalog(doc: str) -> bool:
    """Does the trust policy let servicecatalog.amazonaws.com assume the role?"""
    from urllib.parse import unquote

    try:
        policy = json.loads(doc)
    except ValueError:
        try:
            policy = json.loads(unquote(doc))
        except ValueError:
            return False
    many = lambda v: v if isinstance(v, list) else ([] if v is None else [v])  # noqa: E731
    for st in many(policy.get("Statement")):
        principal = st.get("Principal") if isinstance(st.get("Principal"), dict) else {}
        if (
            st.get("Effect") == "Allow"
            and any(a in ("sts:AssumeRole", "sts:*", "*") for a in many(st.get("Action")))
            and "servicecatalog.amazonaws.com" in many(principal.get("Service"))
        ):
            return True
    return False


def _check_launch_role(self: ServiceCatalogResponse, product_id: str) -> None:
    """`servicecatalog.launch-role`: Service Catalog assumes a LAUNCH constraint's LocalRoleName
    role in the account it launches or updates in (the caller's), so the role must exist there
    and trust Service Catalog ("A launch constraint specifies the IAM role that AWS Service
    Catalog assumes when an end user launches, updates, or terminates a product",
    constraints-launch; "The given role name must exist in ... the account of the user who
    launches a product with this launch constraint", CloudFormation LaunchRoleConstraint). The
    constraints of every portfolio holding the product count."""
    found = _owner_of(self, product_id)
    if found is None:
        return
    _, st = found
    for c in list(st.constraints.values()):
        if c["Type"] != "LAUNCH" or c["ProductId"] != product_id:
            continue
        try:
            name = json.loads(c.get("Parameters") or "{}").get("LocalRoleName")
        except ValueError:
            name = None
        if not name:
            continue
        role = _role(self, self.current_account, name)
        if role is None:
            raise rules.refuse("servicecatalog.launch-role", f"Launch role {name} does not exist in account {self.current_account}.")
        if not _trusts_catalog(role.assume_role_policy_document):
            raise rules.refuse("servicecatalog.launch-role", f"Service Catalog cannot assume launch role {name} in account {self.current_account}.")


def _pattern_matches(pattern: str, arn: str) -> bool:
    # IAM_PATTERN: `*` any run of characters, `?` one (AssociatePrincipalWithPortfolio).
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, arn) is not None


def _check_member_launch(self: ServiceCatalogResponse, prod: dict) -> None:
    """ProvisionProduct in an account other than the portfolio's: the product must be in a
    portfolio shared with the account (its organization, an OU above it, or the account itself:
    `servicecatalog.launch-path`), and the caller must have access to it there — a role matching
    one of the portfolio's IAM_PATTERN principals through an organization or OU share with
    principal sharing on (`servicecatalog.launch-principal`; principals associated in the member
    account itself are not emulated). AWS answers both with "No launch paths found" (aws-cdk#8404)."""
    found = _owner_of(self, prod["Id"])
    if found is None or found[0] == self.current_account:
        return
    owner, st = found
    org_id, chain = _ou_chain(owner, self.partition, self.current_account)
    needed = control.CONFIG.get("share_polls", 1)
    creating = {
        (s["PortfolioId"], s["Value"]) for s in st.share_status.values() if s["op"] == "create" and s["polls"] < needed
    }
    paths = []
    for prod_id, pid in st.assoc:
        if prod_id != prod["Id"]:
            continue
        for sh in st.shares.get(pid, []):
            if (pid, sh["PrincipalId"]) in creating:
                continue
            covers = (
                (sh["Type"] == "ORGANIZATION" and sh["PrincipalId"] == org_id)
                or (sh["Type"] == "ORGANIZATIONAL_UNIT" and sh["PrincipalId"] in chain)
                or (sh["Type"] == "ACCOUNT" and sh["PrincipalId"] == self.current_account)
            )
            if covers:
                paths.append((pid, sh))
    message = f"No launch paths found for resource: {prod['Id']}"
    if not paths:
        raise rules.refuse("servicecatalog.launch-path", message)
    me = _caller_role(self)
    for pid, sh in paths:
        if sh["Type"] == "ACCOUNT" or not sh["SharePrincipals"] or me is None:
            continue
        if any(
            p["PrincipalType"] == "IAM_PATTERN" and _pattern_matches(p["PrincipalARN"], me)
            for p in st.principals.get(pid, [])
        ):
            return
    raise rules.refuse("servicecatalog.launch-principal", message)


def provision_product(self):
    a = _p(self)
    with LOCK:
        st = _st(self)
        hit = _token_hit(st, "ProvisionProduct", a.get("ProvisionToken"))
        if hit:
            return dumps({"RecordDetail": _record_view(st.records[hit])})
        prod = _product(self, a.get("ProductId"), a.get("ProductName"), anywhere=True)
        art = _artifact(prod, a.get("ProvisioningArtifactId"), a.get("ProvisioningArtifactName"))
        _launchable(art, update=False)
        _check_member_launch(self, prod)
        _check_launch_role(self, prod["Id"])
        name = a.get("ProvisionedProductName")
        # ProvisionedProductName (API model): 1-128 characters, `[a-zA-Z0-9][a-zA-Z0-9._-]*`.
        if not name or len(name) > rules.limit("servicecatalog.provisioned-name") or not PP_NAME.fullmatch(name):
            raise invalid("servicecatalog.provisioned-name", "ProvisionedProductName must be 1-128 characters matching [a-zA-Z0-9][a-zA-Z0-9._-]*")
        if any(x["Name"] == name and x["Status"] != "TERMINATED" for x in st.provisioned.values()):
            raise rules.refuse("servicecatalog.provisioned-name-unique", f"A provisioned product named {name} already exists.")
        _check_tags(a.get("Tags"))
        # The stack's parameters, checked against the template now (as AWS does at the call).
        declared = _declared(art)
        params = stack_params(declared, a.get("ProvisioningParameters") or [], None)
        ppid = rid("pp-")
        stack_name = f"SC-{self.current_account}-{ppid}"
        pp = {
            "Id": ppid,
            "Name": name,
            "Arn": _arn(self, "stack", f"{name}/{ppid}"),
            "Type": "CFN_STACK",
            "Status": "UNDER_CHANGE",
            "CreatedTime": now(),
            "IdempotencyToken": a.get("ProvisionToken"),
            "ProductId": prod["Id"],
            "ProductName": prod["Name"],
            "ProvisioningArtifactId": art["Id"],
            "ProvisioningArtifactName": art["Name"],
            "PathId": a.get("PathId"),
            "Tags": tags_dict(a.get("Tags")),
            "Parameters": params,
            "NoEcho": no_echo(declared),
            "UserArn": f"arn:aws:iam::{self.current_account}:root",
            "StackId": f"arn:aws:cloudformation:{self.region}:{self.current_account}:stack/{stack_name}/{uuid.uuid4()}",
            "StackName": stack_name,
        }
        st.provisioned[ppid] = pp
        rec = _record(self, pp, "PROVISION_PRODUCT", a.get("ProvisionToken"), params)
        _token_put(st, "ProvisionProduct", a.get("ProvisionToken"), rec["RecordId"])
        return dumps({"RecordDetail": _record_view(rec)})


def update_provisioned_product(self):
    a = _p(self)
    with LOCK:
        st = _st(self)
        hit = _token_hit(st, "UpdateProvisionedProduct", a.get("UpdateToken"))
        if hit:
            return dumps({"RecordDetail": _record_view(st.records[hit])})
        _settle(st)
        pp = _pp(self, a)
        if pp["Status"] in ("UNDER_CHANGE", "PLAN_IN_PROGRESS"):
            raise invalid("servicecatalog.update-available-only", f"Provisioned product {pp['Id']} is {pp['Status']}.")
        prod = _product(self, a.get("ProductId") or pp["ProductId"], a.get("ProductName"), anywhere=True)
        art = _artifact(prod, a.get("ProvisioningArtifactId") or pp["ProvisioningArtifactId"], a.get("ProvisioningArtifactName"))
        _launchable(art, update=True)
        _check_launch_role(self, prod["Id"])
        # Parameters not given keep their previous value (UsePreviousValue likewise); new ones
        # of the new version's template take their defaults.
        declared = _declared(art)
        params = stack_params(declared, a.get("ProvisioningParameters") or [], pp["Parameters"])
        pp["ProductId"], pp["ProductName"] = prod["Id"], prod["Name"]
        pp["ProvisioningArtifactId"], pp["ProvisioningArtifactName"] = art["Id"], art["Name"]
        pp["Parameters"] = params
        pp["NoEcho"] = no_echo(declared)
        if a.get("Tags") is not None:
            pp["Tags"] = tags_dict(a.get("Tags"))
        rec = _record(self, pp, "UPDATE_PROVISIONED_PRODUCT", a.get("UpdateToken"), params)
        _token_put(st, "UpdateProvisionedProduct", a.get("UpdateToken"), rec["RecordId"])
        return dumps({"RecordDetail": _record_view(rec)})


def terminate_provisioned_product(self):
    a = _p(self)
    with LOCK:
        st = _st(self)
        hit = _token_hit(st, "TerminateProvisionedProduct", a.get("TerminateToken"))
        if hit:
            return dumps({"RecordDetail": _record_view(st.records[hit])})
        _settle(st)
        pp = _pp(self, a)
        if pp["Status"] in ("UNDER_CHANGE", "PLAN_IN_PROGRESS"):
            raise rules.refuse("servicecatalog.terminate-not-under-change", f"Provisioned product {pp['Id']} is {pp['Status']}.")
        rec = _record(self, pp, "TERMINATE_PROVISIONED_PRODUCT", a.get("TerminateToken"), None)
        _token_put(st, "TerminateProvisionedProduct", a.get("TerminateToken"), rec["RecordId"])
        return dumps({"RecordDetail": _record_view(rec)})


def describe_record(self):
    a = _p(self)
    with LOCK:
        st = _st(self)
        rec = st.records.get(a.get("Id") or "")
        if rec is None:
            raise not_found("servicecatalog.record-exists", f"Record {a.get('Id')}")
        needed = control.CONFIG.get("record_polls", 1)
        if rec["Status"] in ("CREATED", "IN_PROGRESS"):
            if rec["polls"] >= needed:
                rec["Status"] = "SUCCEEDED"
            else:
                rec["Status"] = "IN_PROGRESS"
                rec["polls"] += 1
                if rec["polls"] >= needed:
                    # the work is done once the record has been seen in progress: the product
                    # reaches its final state now, the record reports it on the next poll
                    _finish(st, rec)
        if rec["Status"] == "SUCCEEDED":
            _finish(st, rec)
        rec["UpdatedTime"] = now()
        return dumps({"RecordDetail": _record_view(rec), "RecordOutputs": []})


def _settle(st: State) -> None:
    """Records nobody polled finish on their own after `record_settle_ms` (AWS does not wait
    for the caller to poll)."""
    age = control.CONFIG.get("record_settle_ms", 3000) / 1000.0
    for rec in list(st.records.values()):
        if rec["Status"] in ("CREATED", "IN_PROGRESS") and now() - rec["CreatedTime"] >= age:
            rec["Status"] = "SUCCEEDED"
            _finish(st, rec)


def _finish(st: State, rec: dict) -> None:
    if rec.get("finished"):
        return
    rec["finished"] = True
    pp = st.provisioned.get(rec["ProvisionedProductId"])
    if pp is None:
        return
    if rec["RecordType"] == "TERMINATE_PROVISIONED_PRODUCT":
        del st.provisioned[pp["Id"]]
        stack = st.stacks.pop(pp.get("StackId") or "", None)
        if stack is not None:
            stack.update(StackStatus="DELETE_COMPLETE", DeletionTime=now())
            st.deleted_stacks[stack["StackId"]] = stack
    else:
        pp["Status"] = "AVAILABLE"
        pp["LastSuccessfulProvisioningRecordId"] = rec["RecordId"]
        # The stack exists (and the product has its PhysicalId) once launched.
        stack = st.stacks.get(pp["StackId"])
        if stack is None:
            st.stacks[pp["StackId"]] = {
                "StackId": pp["StackId"],
                "StackName": pp["StackName"],
                "StackStatus": "CREATE_COMPLETE",
                "CreationTime": now(),
                "Parameters": dict(rec["params"] or {}),
                "NoEcho": list(pp.get("NoEcho") or []),
                "Tags": dict(pp["Tags"]),
            }
        else:
            stack.update(
                StackStatus="UPDATE_COMPLETE",
                LastUpdatedTime=now(),
                Parameters=dict(rec["params"] or {}),
                NoEcho=list(pp.get("NoEcho") or []),
            )
        pp["PhysicalId"] = pp["StackId"]


def _pp_view(pp: dict, with_tags: bool) -> dict:
    keys = [
        "Name", "Arn", "Type", "Id", "Status", "CreatedTime", "IdempotencyToken", "LastRecordId",
        "LastProvisioningRecordId", "LastSuccessfulProvisioningRecordId", "ProductId",
        "ProvisioningArtifactId",
    ]
    out = {k: pp.get(k) for k in keys}
    if with_tags:
        # ProvisionedProductAttribute (search) has PhysicalId; ProvisionedProductDetail does not.
        out.update({
            "PhysicalId": pp.get("PhysicalId"),
            "Tags": tags_list(pp["Tags"]),
            "ProductName": pp["ProductName"],
            "ProvisioningArtifactName": pp["ProvisioningArtifactName"],
            "UserArn": pp["UserArn"],
        })
    return out


def describe_provisioned_product(self):
    a = _p(self)
    with LOCK:
        _settle(_st(self))
        pp = _pp(self, a)
        return dumps({"ProvisionedProductDetail": _pp_view(pp, False), "CloudWatchDashboards": []})


def search_provisioned_products(self):
    a = _p(self)
    with LOCK:
        st = _st(self)
        _settle(st)
        alf = a.get("AccessLevelFilter") or {}
        if alf and alf.get("Key") not in ("Account", "Role", "User"):
            raise bad_request("AccessLevelFilter.Key must be Account, Role or User")
        items = sorted(st.provisioned.values(), key=lambda p: p["CreatedTime"])
        for q in (a.get("Filters") or {}).get("SearchQuery") or []:
            if ":" in q:
                field, val = q.split(":", 1)
                fmap = {"name": "Name", "id": "Id", "productId": "ProductId", "status": "Status", "type": "Type", "arn": "Arn", "provisioningArtifactId": "ProvisioningArtifactId"}
                k = fmap.get(field)
                if k:
                    items = [p for p in items if p.get(k) == val]
            else:
                items = [p for p in items if q.lower() in p["Name"].lower()]
        chunk, nxt = page(items, a.get("PageToken"), a.get("PageSize"))
        return dumps({"ProvisionedProducts": [_pp_view(p, True) for p in chunk], "TotalResultsCount": len(items), "NextPageToken": nxt})


OPS = [
    create_portfolio, describe_portfolio, update_portfolio, delete_portfolio, list_portfolios,
    list_portfolios_for_product, create_product, describe_product_as_admin, describe_product,
    update_product, delete_product, search_products_as_admin, list_provisioning_artifacts,
    create_provisioning_artifact, update_provisioning_artifact, delete_provisioning_artifact,
    describe_provisioning_artifact, associate_product_with_portfolio,
    disassociate_product_from_portfolio, associate_principal_with_portfolio,
    disassociate_principal_from_portfolio, list_principals_for_portfolio,
    enable_aws_organizations_access, disable_aws_organizations_access,
    get_aws_organizations_access_status, create_portfolio_share, update_portfolio_share, delete_portfolio_share,
    describe_portfolio_share_status, describe_portfolio_shares, list_portfolio_access,
    create_constraint, describe_constraint, delete_constraint, list_constraints_for_portfolio,
    provision_product, update_provisioned_product, terminate_provisioned_product, describe_record,
    describe_provisioned_product, search_provisioned_products,
]


def install() -> None:
    for fn in OPS:
        setattr(ServiceCatalogResponse, fn.__name__, fn)
