#!/usr/bin/env python3
"""Hand-run self-check of the extended emulator (not part of the Rust tests).

    tests/emulator/run 45999 &            # wait for READY 45999
    target/emulator-venv/bin/python tests/emulator/smoke.py 45999

Prints one PASS/FAIL line per check and a closing "N passed, N failed" line.
"""

import json
import re
import sys
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
URL = f"http://127.0.0.1:{PORT}"
RESULTS = {"pass": 0, "fail": 0}


def ctl(method: str, path: str, body=None):
    data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
    req = urllib.request.Request(URL + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def client(svc: str, retries: int = 1, region: str = "us-east-1"):
    return boto3.client(
        svc, endpoint_url=URL, region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": retries, "mode": "standard"}, read_timeout=10, connect_timeout=5),
    )


def check(name: str, fn):
    try:
        fn()
        RESULTS["pass"] += 1
        print(f"PASS {name}")
    except Exception as e:  # noqa: BLE001
        RESULTS["fail"] += 1
        print(f"FAIL {name}: {type(e).__name__}: {e}")


def expect_error(code: str, fn, reason: str | None = None):
    try:
        fn()
    except ClientError as e:
        got = e.response["Error"]["Code"]
        assert got == code, f"expected {code}, got {got}: {e}"
        if reason:
            assert e.response.get("Reason") == reason, f"expected Reason {reason}, got {e.response.get('Reason')}"
        return e
    raise AssertionError(f"expected {code}, got success")


def eq(a, b):
    assert a == b, f"{a!r} != {b!r}"


ctl("POST", "/_vend/reset")
org = client("organizations")
sc = client("servicecatalog")
s3 = client("s3")
sts = client("sts")

# ------------------------------------------------------------------ Organizations rules
org.create_organization(FeatureSet="ALL")
root = org.list_roots()["Roots"][0]["Id"]
ctx = {}


def scp_needs_enable():
    expect_error("PolicyTypeNotEnabledException", lambda: org.create_policy(Name="x", Description="", Type="SERVICE_CONTROL_POLICY", Content='{"Version":"2012-10-17","Statement":[]}'))
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    ctx["p1"] = org.create_policy(Name="deny1", Description="", Type="SERVICE_CONTROL_POLICY", Content='{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ec2:*","Resource":"*"}]}')["Policy"]["PolicySummary"]["Id"]


check("orgs: CreatePolicy requires SERVICE_CONTROL_POLICY enabled", scp_needs_enable)


def scp_size():
    big = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"' + "é" * 2600 + '","Resource":"*"}]}'
    assert len(big) < 5120 < len(big.encode())
    expect_error("ConstraintViolationException", lambda: org.create_policy(Name="big", Description="", Type="SERVICE_CONTROL_POLICY", Content=big), "POLICY_CONTENT_LIMIT_EXCEEDED")


check("orgs: SCP content > 5120 bytes rejected (bytes, not chars)", scp_size)


def ou_depth():
    parent = root
    for i in range(5):
        parent = org.create_organizational_unit(ParentId=parent, Name=f"lvl{i + 1}")["OrganizationalUnit"]["Id"]
    ctx["deep"] = parent
    expect_error("ConstraintViolationException", lambda: org.create_organizational_unit(ParentId=parent, Name="lvl6"), "OU_DEPTH_LIMIT_EXCEEDED")


check("orgs: OU depth <= 5", ou_depth)


def five_scps():
    ou = org.create_organizational_unit(ParentId=root, Name="scps")["OrganizationalUnit"]["Id"]
    ctx["ou"] = ou
    ids = []
    for i in range(5):
        ids.append(org.create_policy(Name=f"p{i}", Description="", Type="SERVICE_CONTROL_POLICY", Content='{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ec2:*","Resource":"*"}]}')["Policy"]["PolicySummary"]["Id"])
    for pid in ids[:4]:
        org.attach_policy(PolicyId=pid, TargetId=ou)  # + FullAWSAccess = 5
    expect_error("ConstraintViolationException", lambda: org.attach_policy(PolicyId=ids[4], TargetId=ou), "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED")
    expect_error("DuplicatePolicyAttachmentException", lambda: org.attach_policy(PolicyId=ids[0], TargetId=ou))
    ctx["ids"] = ids


check("orgs: at most 5 SCPs per target; double attach fails", five_scps)


def last_scp():
    ou = ctx["ou"]
    for pid in ctx["ids"][:4]:
        org.detach_policy(PolicyId=pid, TargetId=ou)
    expect_error("ConstraintViolationException", lambda: org.detach_policy(PolicyId="p-FullAWSAccess", TargetId=ou), "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED")
    expect_error("PolicyNotAttachedException", lambda: org.detach_policy(PolicyId=ctx["ids"][0], TargetId=ou))


check("orgs: detaching the last SCP fails; detaching a non-attached one fails", last_scp)


def dup_email():
    st = org.create_account(AccountName="a1", Email="a1@example.com")["CreateAccountStatus"]
    eq(st["State"], "SUCCEEDED")
    ctx["acct"] = st["AccountId"]
    st2 = org.create_account(AccountName="a1b", Email="A1@example.com")["CreateAccountStatus"]
    d = org.describe_create_account_status(CreateAccountRequestId=st2["Id"])["CreateAccountStatus"]
    eq((d["State"], d.get("FailureReason")), ("FAILED", "EMAIL_ALREADY_EXISTS"))
    listed = org.list_create_account_status(States=["FAILED"])["CreateAccountStatuses"]
    assert any(s["Id"] == st2["Id"] for s in listed)


check("orgs: duplicate e-mail -> FAILED EMAIL_ALREADY_EXISTS", dup_email)


def pending_polls():
    ctl("POST", "/_vend/faults", {"create_account_polls": 2})
    st = org.create_account(AccountName="slow", Email="slow@example.com")["CreateAccountStatus"]
    eq(st["State"], "IN_PROGRESS")
    assert not any(a["Email"] == "slow@example.com" for a in org.list_accounts()["Accounts"])
    states = [org.describe_create_account_status(CreateAccountRequestId=st["Id"])["CreateAccountStatus"]["State"] for _ in range(3)]
    eq(states, ["IN_PROGRESS", "IN_PROGRESS", "SUCCEEDED"])
    assert any(a["Email"] == "slow@example.com" for a in org.list_accounts()["Accounts"])
    ctl("POST", "/_vend/faults", {"create_account_polls": 0})


check("orgs: CreateAccount IN_PROGRESS for n polls (create_account_polls)", pending_polls)


def request_rules():
    expect_error("InvalidInputException", lambda: org.create_account(AccountName="x" * 129, Email="ok@example.com"))
    expect_error("InvalidInputException", lambda: org.create_account(AccountName="x", Email="user@localhost"))
    expect_error("InvalidInputException", lambda: org.create_account(AccountName="x", Email="t@example.com", Tags=[{"Key": "aws:x", "Value": "v"}]))
    car = org.create_account(AccountName="hexid", Email="hexid@example.com")["CreateAccountStatus"]["Id"]
    assert re.fullmatch(r"car-[0-9a-f]{32}", car), car
    expect_error("CreateAccountStatusNotFoundException", lambda: org.describe_create_account_status(CreateAccountRequestId="car-" + "0" * 32))
    mgmt = org.describe_organization()["Organization"]["MasterAccountId"]
    expect_error("ConstraintViolationException", lambda: org.close_account(AccountId=mgmt), "CANNOT_CLOSE_MANAGEMENT_ACCOUNT")
    full = next(p["Id"] for p in org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"] if p["AwsManaged"])
    expect_error("InvalidInputException", lambda: org.update_policy(PolicyId=full, Description="x"), "IMMUTABLE_POLICY")
    expect_error("InvalidInputException", lambda: org.delete_policy(PolicyId=full), "IMMUTABLE_POLICY")
    expect_error("MalformedPolicyDocumentException", lambda: org.create_policy(Name="bad", Description="", Type="SERVICE_CONTROL_POLICY", Content="{not json"))
    expect_error("InvalidInputException", lambda: org.tag_resource(ResourceId=root, Tags=[{"Key": "aws:x", "Value": "v"}]))
    expect_error("ParentNotFoundException", lambda: org.create_organizational_unit(ParentId="ou-zzzz-zzzzzzzz", Name="x"))


check("orgs: CreateAccount name/e-mail/tag rules, car- ids, CloseAccount/FullAWSAccess/JSON/tag rules", request_rules)


def move_rules():
    acct, ou = ctx["acct"], ctx["ou"]
    expect_error("SourceParentNotFoundException", lambda: org.move_account(AccountId=acct, SourceParentId=ou, DestinationParentId=ctx["deep"]))
    org.move_account(AccountId=acct, SourceParentId=root, DestinationParentId=ou)
    expect_error("DuplicateAccountException", lambda: org.move_account(AccountId=acct, SourceParentId=root, DestinationParentId=ou))
    eq(org.list_parents(ChildId=acct)["Parents"][0]["Id"], ou)


check("orgs: MoveAccount checks source; move to current parent -> DuplicateAccountException", move_rules)


def nonempty_ou():
    expect_error("OrganizationalUnitNotEmptyException", lambda: org.delete_organizational_unit(OrganizationalUnitId=ctx["ou"]))
    org.move_account(AccountId=ctx["acct"], SourceParentId=ctx["ou"], DestinationParentId=root)
    org.delete_organizational_unit(OrganizationalUnitId=ctx["ou"])


check("orgs: deleting a non-empty OU fails, an empty one works", nonempty_ou)

# ------------------------------------------------------------------ S3 + Service Catalog
URL_T = "https://vend-templates.s3.amazonaws.com/t/abc.yaml"


def s3_put():
    s3.create_bucket(Bucket="vend-templates")
    s3.put_object(Bucket="vend-templates", Key="t/abc.yaml", Body=b"Parameters:\n  Cidr:\n    Type: String\n    Default: 10.1.0.0/16\nResources: {}\n")
    expect_error("PreconditionFailed", lambda: s3.put_object(Bucket="vend-templates", Key="t/abc.yaml", Body=b"x", IfNoneMatch="*"))


check("s3: PutObject (+ If-None-Match)", s3_put)


def portfolio():
    p = sc.create_portfolio(DisplayName="Base", ProviderName="vend", Description="d", Tags=[{"Key": "vend:owner", "Value": "x"}], IdempotencyToken="tok-p")
    p2 = sc.create_portfolio(DisplayName="Base", ProviderName="vend", Description="d", Tags=[{"Key": "vend:owner", "Value": "x"}], IdempotencyToken="tok-p")
    eq(p["PortfolioDetail"]["Id"], p2["PortfolioDetail"]["Id"])
    ctx["port"] = pid = p["PortfolioDetail"]["Id"]
    sc.update_portfolio(Id=pid, Description="d2", AddTags=[{"Key": "k", "Value": "v"}], RemoveTags=["vend:owner"])
    d = sc.describe_portfolio(Id=pid)
    eq(d["PortfolioDetail"]["Description"], "d2")
    eq(d["Tags"], [{"Key": "k", "Value": "v"}])
    assert any(x["Id"] == pid for x in sc.list_portfolios()["PortfolioDetails"])


check("sc: CreatePortfolio (token) / UpdatePortfolio / DescribePortfolio with Tags", portfolio)


def product():
    r = sc.create_product(Name="net", Owner="platform", ProductType="CLOUD_FORMATION_TEMPLATE", Tags=[{"Key": "vend:owner", "Value": "x"}],
                          ProvisioningArtifactParameters={"Name": "v1", "Info": {"LoadTemplateFromURL": URL_T}, "Type": "CLOUD_FORMATION_TEMPLATE"}, IdempotencyToken="tok-prod")
    pid = r["ProductViewDetail"]["ProductViewSummary"]["ProductId"]
    ctx["prod"], ctx["pa1"] = pid, r["ProvisioningArtifactDetail"]["Id"]
    again = sc.create_product(Name="net", Owner="platform", ProductType="CLOUD_FORMATION_TEMPLATE",
                              ProvisioningArtifactParameters={"Name": "v1", "Info": {"LoadTemplateFromURL": URL_T}}, IdempotencyToken="tok-prod")
    eq(again["ProductViewDetail"]["ProductViewSummary"]["ProductId"], pid)
    d = sc.describe_product_as_admin(Id=pid)
    eq([a["Id"] for a in d["ProvisioningArtifactSummaries"]], [ctx["pa1"]])
    eq(d["Tags"], [{"Key": "vend:owner", "Value": "x"}])
    sc.update_product(Id=pid, Owner="platform2", AddTags=[{"Key": "t", "Value": "1"}])
    eq(sc.describe_product_as_admin(Id=pid)["ProductViewDetail"]["ProductViewSummary"]["Owner"], "platform2")
    assert any(p["ProductViewSummary"]["ProductId"] == pid for p in sc.search_products_as_admin()["ProductViewDetails"])


check("sc: CreateProduct with first artifact (token) / DescribeProductAsAdmin / UpdateProduct / SearchProductsAsAdmin", product)


def artifacts():
    pid = ctx["prod"]
    a2 = sc.create_provisioning_artifact(ProductId=pid, Parameters={"Name": "v2", "Info": {"LoadTemplateFromURL": URL_T}, "Type": "CLOUD_FORMATION_TEMPLATE"}, IdempotencyToken="tok-v2")
    a2b = sc.create_provisioning_artifact(ProductId=pid, Parameters={"Name": "v2", "Info": {"LoadTemplateFromURL": URL_T}}, IdempotencyToken="tok-v2")
    eq(a2["ProvisioningArtifactDetail"]["Id"], a2b["ProvisioningArtifactDetail"]["Id"])
    ctx["pa2"] = a2["ProvisioningArtifactDetail"]["Id"]
    eq(len(sc.list_provisioning_artifacts(ProductId=pid)["ProvisioningArtifactDetails"]), 2)
    sc.update_provisioning_artifact(ProductId=pid, ProvisioningArtifactId=ctx["pa1"], Guidance="DEPRECATED")
    d = sc.describe_provisioning_artifact(ProductId=pid, ProvisioningArtifactId=ctx["pa1"])
    eq((d["ProvisioningArtifactDetail"]["Guidance"], d["Info"]["TemplateUrl"]), ("DEPRECATED", URL_T))


check("sc: Create/List/Update/DescribeProvisioningArtifact", artifacts)


def assoc():
    sc.associate_product_with_portfolio(ProductId=ctx["prod"], PortfolioId=ctx["port"])
    eq([p["Id"] for p in sc.list_portfolios_for_product(ProductId=ctx["prod"])["PortfolioDetails"]], [ctx["port"]])
    eq([p["ProductViewSummary"]["ProductId"] for p in sc.search_products_as_admin(PortfolioId=ctx["port"])["ProductViewDetails"]], [ctx["prod"]])
    expect_error("ResourceInUseException", lambda: sc.delete_product(Id=ctx["prod"]))


check("sc: AssociateProductWithPortfolio / ListPortfoliosForProduct / SearchProductsAsAdmin(PortfolioId)", assoc)


def principals():
    pid = ctx["port"]
    sc.associate_principal_with_portfolio(PortfolioId=pid, PrincipalARN="arn:aws:iam:::role/ProductTeam*", PrincipalType="IAM_PATTERN")
    sc.associate_principal_with_portfolio(PortfolioId=pid, PrincipalARN="arn:aws:iam::123456789012:role/Admin", PrincipalType="IAM")
    expect_error("InvalidParametersException", lambda: sc.associate_principal_with_portfolio(PortfolioId=pid, PrincipalARN="arn:aws:iam::123456789012:role/X", PrincipalType="IAM_PATTERN"))
    eq(len(sc.list_principals_for_portfolio(PortfolioId=pid)["Principals"]), 2)
    sc.disassociate_principal_from_portfolio(PortfolioId=pid, PrincipalARN="arn:aws:iam::123456789012:role/Admin", PrincipalType="IAM")
    eq(sc.list_principals_for_portfolio(PortfolioId=pid)["Principals"], [{"PrincipalARN": "arn:aws:iam:::role/ProductTeam*", "PrincipalType": "IAM_PATTERN"}])


check("sc: Associate/Disassociate/ListPrincipals (IAM, IAM_PATTERN)", principals)


def constraints():
    pid, prod = ctx["port"], ctx["prod"]
    # The role must exist in the account the constraint is created in (issue 14).
    expect_error("InvalidParametersException", lambda: sc.create_constraint(PortfolioId=pid, ProductId=prod, Type="LAUNCH", Parameters=json.dumps({"LocalRoleName": "SCLaunch"}), IdempotencyToken="tok-c0"))
    client("iam").create_role(RoleName="SCLaunch", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "servicecatalog.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    c = sc.create_constraint(PortfolioId=pid, ProductId=prod, Type="LAUNCH", Parameters=json.dumps({"LocalRoleName": "SCLaunch"}), IdempotencyToken="tok-c")
    c2 = sc.create_constraint(PortfolioId=pid, ProductId=prod, Type="LAUNCH", Parameters=json.dumps({"LocalRoleName": "SCLaunch"}), IdempotencyToken="tok-c")
    eq(c["ConstraintDetail"]["ConstraintId"], c2["ConstraintDetail"]["ConstraintId"])
    expect_error("DuplicateResourceException", lambda: sc.create_constraint(PortfolioId=pid, ProductId=prod, Type="LAUNCH", Parameters=json.dumps({"RoleArn": "arn:aws:iam::123456789012:role/R"}), IdempotencyToken="tok-c2"))
    expect_error("InvalidParametersException", lambda: sc.create_constraint(PortfolioId=pid, ProductId=prod, Type="LAUNCH", Parameters=json.dumps({"RoleArn": "arn:aws:iam::1:role/R", "LocalRoleName": "R"}), IdempotencyToken="tok-c3"))
    cid = c["ConstraintDetail"]["ConstraintId"]
    eq(sc.describe_constraint(Id=cid)["ConstraintParameters"], json.dumps({"LocalRoleName": "SCLaunch"}))
    eq([x["ConstraintId"] for x in sc.list_constraints_for_portfolio(PortfolioId=pid)["ConstraintDetails"]], [cid])
    expect_error("ResourceInUseException", lambda: sc.disassociate_product_from_portfolio(ProductId=prod, PortfolioId=pid))
    sc.delete_constraint(Id=cid)
    eq(sc.list_constraints_for_portfolio(PortfolioId=pid)["ConstraintDetails"], [])
    sc.create_constraint(PortfolioId=pid, ProductId=prod, Type="LAUNCH", Parameters=json.dumps({"LocalRoleName": "SCLaunch"}), IdempotencyToken="tok-c4")


check("sc: Create (token, one LAUNCH per product+portfolio) / Describe / List / DeleteConstraint", constraints)


def shares():
    pid = ctx["port"]
    expect_error("InvalidStateException", lambda: sc.create_portfolio_share(PortfolioId=pid, OrganizationNode={"Type": "ORGANIZATIONAL_UNIT", "Value": "ou-x"}))
    sc.enable_aws_organizations_access()
    eq(sc.get_aws_organizations_access_status()["AccessStatus"], "ENABLED")
    # The target must be in the organization (an OU, an account, the organization itself).
    expect_error("InvalidParametersException", lambda: sc.create_portfolio_share(PortfolioId=pid, OrganizationNode={"Type": "ORGANIZATIONAL_UNIT", "Value": "ou-abcd-12345678"}))
    expect_error("InvalidParametersException", lambda: sc.create_portfolio_share(PortfolioId=pid, AccountId="111122223333"))
    ou, acct = ctx["deep"], ctx["acct"]
    tok = sc.create_portfolio_share(PortfolioId=pid, OrganizationNode={"Type": "ORGANIZATIONAL_UNIT", "Value": ou}, SharePrincipals=True)["PortfolioShareToken"]
    s1 = sc.describe_portfolio_share_status(PortfolioShareToken=tok)["Status"]
    s2 = sc.describe_portfolio_share_status(PortfolioShareToken=tok)["Status"]
    eq((s1, s2), ("IN_PROGRESS", "COMPLETED"))
    sc.create_portfolio_share(PortfolioId=pid, AccountId=acct)
    ous = sc.describe_portfolio_shares(PortfolioId=pid, Type="ORGANIZATIONAL_UNIT")["PortfolioShareDetails"]
    eq([(x["PrincipalId"], x["SharePrincipals"]) for x in ous], [(ou, True)])
    eq([x["PrincipalId"] for x in sc.describe_portfolio_shares(PortfolioId=pid, Type="ACCOUNT")["PortfolioShareDetails"]], [acct])
    tok2 = sc.delete_portfolio_share(PortfolioId=pid, OrganizationNode={"Type": "ORGANIZATIONAL_UNIT", "Value": ou})["PortfolioShareToken"]
    assert tok2
    sc.delete_portfolio_share(PortfolioId=pid, AccountId=acct)
    eq(sc.describe_portfolio_shares(PortfolioId=pid, Type="ORGANIZATIONAL_UNIT")["PortfolioShareDetails"], [])


check("sc: EnableAWSOrganizationsAccess / Create/Describe(Status)/DeletePortfolioShare", shares)


def provisioning():
    prod = ctx["prod"]
    expect_error("InvalidParametersException", lambda: sc.provision_product(ProductId=prod, ProvisioningArtifactId=ctx["pa1"], ProvisionedProductName="old", ProvisionToken="tok-old"))
    r = sc.provision_product(ProductId=prod, ProvisioningArtifactId=ctx["pa2"], ProvisionedProductName="net-main", ProvisioningParameters=[{"Key": "Cidr", "Value": "10.0.0.0/16"}], Tags=[{"Key": "vend:owner", "Value": "x"}], ProvisionToken="tok-pp")
    rec = r["RecordDetail"]
    eq(sc.provision_product(ProductId=prod, ProvisioningArtifactId=ctx["pa2"], ProvisionedProductName="net-main", ProvisionToken="tok-pp")["RecordDetail"]["RecordId"], rec["RecordId"])
    ppid = rec["ProvisionedProductId"]
    eq(sc.describe_provisioned_product(Id=ppid)["ProvisionedProductDetail"]["Status"], "UNDER_CHANGE")
    eq(sc.describe_record(Id=rec["RecordId"])["RecordDetail"]["Status"], "IN_PROGRESS")
    eq(sc.describe_provisioned_product(Id=ppid)["ProvisionedProductDetail"]["Status"], "AVAILABLE")
    eq(sc.describe_record(Id=rec["RecordId"])["RecordDetail"]["Status"], "SUCCEEDED")
    found = sc.search_provisioned_products(AccessLevelFilter={"Key": "Account", "Value": "self"})["ProvisionedProducts"]
    eq([(p["Id"], p["Status"]) for p in found], [(ppid, "AVAILABLE")])
    u = sc.update_provisioned_product(ProvisionedProductId=ppid, ProductId=prod, ProvisioningArtifactId=ctx["pa1"], UpdateToken="tok-up")["RecordDetail"]
    sc.describe_record(Id=u["RecordId"])
    eq(sc.describe_record(Id=u["RecordId"])["RecordDetail"]["Status"], "SUCCEEDED")
    eq(sc.describe_provisioned_product(Id=ppid)["ProvisionedProductDetail"]["ProvisioningArtifactId"], ctx["pa1"])
    t = sc.terminate_provisioned_product(ProvisionedProductId=ppid, TerminateToken="tok-t")["RecordDetail"]
    sc.describe_record(Id=t["RecordId"])
    eq(sc.describe_record(Id=t["RecordId"])["RecordDetail"]["Status"], "SUCCEEDED")
    eq(sc.search_provisioned_products(AccessLevelFilter={"Key": "Account", "Value": "self"})["ProvisionedProducts"], [])


check("sc: ProvisionProduct (token) / DescribeRecord / DescribeProvisionedProduct / Search / Update / Terminate", provisioning)


def teardown():
    pid, prod = ctx["port"], ctx["prod"]
    expect_error("InvalidParametersException", lambda: (sc.delete_provisioning_artifact(ProductId=prod, ProvisioningArtifactId=ctx["pa1"]), sc.delete_provisioning_artifact(ProductId=prod, ProvisioningArtifactId=ctx["pa2"])))
    for c in sc.list_constraints_for_portfolio(PortfolioId=pid)["ConstraintDetails"]:
        sc.delete_constraint(Id=c["ConstraintId"])
    sc.disassociate_product_from_portfolio(ProductId=prod, PortfolioId=pid)
    sc.disassociate_principal_from_portfolio(PortfolioId=pid, PrincipalARN="arn:aws:iam:::role/ProductTeam*", PrincipalType="IAM_PATTERN")
    sc.delete_product(Id=prod)
    sc.delete_portfolio(Id=pid)
    expect_error("ResourceNotFoundException", lambda: sc.describe_portfolio(Id=pid))


check("sc: DeleteProvisioningArtifact (not the last) / Disassociate / DeleteProduct / DeletePortfolio", teardown)

STACK_T = """AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  RepositoryName:
    Type: String
  BranchName:
    Type: String
    Default: main
  TimeoutMinutes:
    Type: Number
    Default: 30
Conditions:
  IsMain: !Equals [!Ref BranchName, main]
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub '${RepositoryName}-events'
"""


def stacks():
    """ProvisionProduct launches a CloudFormation stack in the caller's account: PhysicalId in
    SearchProvisionedProducts once launched, DescribeStacks reports defaults + given values."""
    s3.put_object(Bucket="vend-templates", Key="t/stack.yaml", Body=STACK_T.encode())
    url = "https://vend-templates.s3.us-east-1.amazonaws.com/t/stack.yaml"
    r = sc.create_product(Name="stacked", Owner="platform", ProductType="CLOUD_FORMATION_TEMPLATE",
                          ProvisioningArtifactParameters={"Name": "v1", "Info": {"LoadTemplateFromURL": url}, "Type": "CLOUD_FORMATION_TEMPLATE"})
    prod, pa = r["ProductViewDetail"]["ProductViewSummary"]["ProductId"], r["ProvisioningArtifactDetail"]["Id"]
    expect_error("InvalidParametersException", lambda: sc.provision_product(ProductId=prod, ProvisioningArtifactId=pa, ProvisionedProductName="s0", ProvisionToken="tok-s0"))
    expect_error("InvalidParametersException", lambda: sc.provision_product(ProductId=prod, ProvisioningArtifactId=pa, ProvisionedProductName="s0", ProvisioningParameters=[{"Key": "RepositoryName", "Value": "r"}, {"Key": "Nope", "Value": "x"}], ProvisionToken="tok-s0b"))
    rec = sc.provision_product(ProductId=prod, ProvisioningArtifactId=pa, ProvisionedProductName="s1", ProvisioningParameters=[{"Key": "RepositoryName", "Value": "repo"}], ProvisionToken="tok-s1")["RecordDetail"]
    ppid = rec["ProvisionedProductId"]
    eq([p.get("PhysicalId") for p in sc.search_provisioned_products(AccessLevelFilter={"Key": "Account", "Value": "self"})["ProvisionedProducts"] if p["Id"] == ppid], [None])
    sc.describe_record(Id=rec["RecordId"])
    found = [p for p in sc.search_provisioned_products(AccessLevelFilter={"Key": "Account", "Value": "self"})["ProvisionedProducts"] if p["Id"] == ppid]
    stack_id = found[0]["PhysicalId"]
    acct = sts.get_caller_identity()["Account"]
    assert stack_id.startswith(f"arn:aws:cloudformation:us-east-1:{acct}:stack/SC-{acct}-{ppid}/"), stack_id
    cfn = client("cloudformation")
    st = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
    eq((st["StackId"], st["StackName"], st["StackStatus"]), (stack_id, f"SC-{acct}-{ppid}", "CREATE_COMPLETE"))
    eq({p["ParameterKey"]: p["ParameterValue"] for p in st["Parameters"]}, {"RepositoryName": "repo", "BranchName": "main", "TimeoutMinutes": "30"})
    eq(cfn.describe_stacks(StackName=f"SC-{acct}-{ppid}")["Stacks"][0]["StackId"], stack_id)
    u = sc.update_provisioned_product(ProvisionedProductId=ppid, ProvisioningParameters=[{"Key": "RepositoryName", "UsePreviousValue": True}, {"Key": "BranchName", "Value": "dev"}], UpdateToken="tok-su")["RecordDetail"]
    sc.describe_record(Id=u["RecordId"])
    st = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
    eq(st["StackStatus"], "UPDATE_COMPLETE")
    eq({p["ParameterKey"]: p["ParameterValue"] for p in st["Parameters"]}, {"RepositoryName": "repo", "BranchName": "dev", "TimeoutMinutes": "30"})
    # the stack lives in the launching account only
    other = org.create_account(AccountName="stack-other", Email="aws+stack-other@example.com")["CreateAccountStatus"]
    other_id = org.describe_create_account_status(CreateAccountRequestId=other["Id"])["CreateAccountStatus"]["AccountId"]
    cr = sts.assume_role(RoleArn=f"arn:aws:iam::{other_id}:role/OrganizationAccountAccessRole", RoleSessionName="smoke")["Credentials"]
    cfn_other = boto3.client("cloudformation", endpoint_url=URL, region_name="us-east-1", aws_access_key_id=cr["AccessKeyId"],
                             aws_secret_access_key=cr["SecretAccessKey"], aws_session_token=cr["SessionToken"])
    expect_error("ValidationError", lambda: cfn_other.describe_stacks(StackName=stack_id))
    t = sc.terminate_provisioned_product(ProvisionedProductId=ppid, TerminateToken="tok-st")["RecordDetail"]
    sc.describe_record(Id=t["RecordId"])
    eq(cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"], "DELETE_COMPLETE")
    expect_error("ValidationError", lambda: cfn.describe_stacks(StackName=f"SC-{acct}-{ppid}"))
    sc.delete_product(Id=prod)


check("sc+cfn: ProvisionProduct launches a stack: PhysicalId, DescribeStacks parameters (defaults, UsePreviousValue), required/unknown parameters, terminate", stacks)

# ------------------------------------------------------------------ fault switch + stats


def faults():
    ctl("POST", "/_vend/stats/reset")
    ctl("POST", "/_vend/faults", {"script": [{"match": "organizations.ListRoots", "fault": "throttle", "times": 1},
                                             {"match": "organizations.ListRoots", "fault": "concurrent", "times": 1},
                                             {"match": "organizations.ListRoots", "fault": "server_error", "times": 1}]})
    expect_error("TooManyRequestsException", org.list_roots)
    expect_error("ConcurrentModificationException", org.list_roots)
    e = expect_error_any(org.list_roots)
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] in (500, 503), e.response
    org.list_roots()
    ctl("POST", "/_vend/faults", {"script": [{"match": "organizations.CreateOrganizationalUnit", "fault": "timeout_before"}]})
    e = expect_error_any(lambda: org.create_organizational_unit(ParentId=root, Name="before"))
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 504
    assert not any(o["Name"] == "before" for o in org.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"])
    ctl("POST", "/_vend/faults", {"script": [{"match": "organizations.CreateOrganizationalUnit", "fault": "lost_response"}]})
    expect_error_any(lambda: org.create_organizational_unit(ParentId=root, Name="lost"))
    assert any(o["Name"] == "lost" for o in org.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"])
    ctl("POST", "/_vend/faults", {"lost_mode": "drop", "script": [{"match": "organizations.CreateOrganizationalUnit", "fault": "lost_response"}]})
    try:
        org.create_organizational_unit(ParentId=root, Name="dropped")
        raise AssertionError("expected a dropped connection")
    except ClientError as ce:
        raise AssertionError(f"expected a connection error, got {ce}")
    except Exception as ex:  # botocore ConnectionClosedError & co.
        assert "ClientError" not in type(ex).__name__, ex
    assert any(o["Name"] == "dropped" for o in org.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"])
    ctl("POST", "/_vend/faults", {"lost_mode": "504", "script": []})
    # retries are counted: SDK with 3 attempts against one throttle
    ctl("POST", "/_vend/faults", {"script": [{"match": "organizations.DescribeOrganization", "fault": "throttle", "times": 2}]})
    client("organizations", retries=3).describe_organization()
    sts.get_caller_identity()
    stats = ctl("GET", "/_vend/stats")
    eq(stats["services"]["organizations"]["DescribeOrganization"], 3)
    eq(stats["services"]["organizations"]["ListRoots"], 4)
    eq(stats["services"]["sts"]["GetCallerIdentity"], 1)
    eq(stats["faults"]["organizations.DescribeOrganization"], {"throttle": 2})
    assert "_vend" not in json.dumps(stats["services"])


def expect_error_any(fn):
    try:
        fn()
    except ClientError as e:
        return e
    raise AssertionError("expected an error")


check("faults: throttle/concurrent/5xx/timeout_before/lost_response(504|drop) + stats counts retries and STS", faults)


def probabilistic():
    ctl("POST", "/_vend/reset")
    ctl("POST", "/_vend/faults", {"throttle": 0.5, "seed": 7, "only": ["organizations"]})
    org2 = client("organizations")
    outcomes = []
    for _ in range(20):
        try:
            org2.describe_organization()
            outcomes.append("ok")
        except ClientError as e:
            outcomes.append(e.response["Error"]["Code"])
    assert "TooManyRequestsException" in outcomes and "ok" not in outcomes[:0], outcomes
    sc.list_portfolios()  # not in "only": never faulted
    ctl("POST", "/_vend/faults", {"seed": 7})
    again = []
    for _ in range(20):
        try:
            org2.describe_organization()
            again.append("ok")
        except ClientError as e:
            again.append(e.response["Error"]["Code"])
    eq(outcomes, again)
    ctl("POST", "/_vend/reset")
    eq(ctl("GET", "/_vend/stats")["total"], 0)


check("faults: seeded probabilities reproducible; 'only' limits them; reset", probabilistic)


# ------------------------------------------------------------------ writes in progress (issue 16)
SCP_DOC = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}'


def together(*calls):
    """Run the calls in threads released at the same moment; each result or its error code."""
    import threading

    start = threading.Barrier(len(calls))
    out = [None] * len(calls)

    def run(i, fn):
        start.wait()
        try:
            fn()
            out[i] = "ok"
        except ClientError as e:
            out[i] = e.response["Error"]["Code"]

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def one_writer_per_entity():
    ctl("POST", "/_vend/reset")
    o = client("organizations")
    o.create_organization(FeatureSet="ALL")
    r = o.list_roots()["Roots"][0]["Id"]
    o.enable_policy_type(RootId=r, PolicyType="SERVICE_CONTROL_POLICY")
    p1, p2 = (o.create_policy(Name=n, Description="", Type="SERVICE_CONTROL_POLICY", Content=SCP_DOC)["Policy"]["PolicySummary"]["Id"] for n in ("w1", "w2"))
    a, b = (o.create_organizational_unit(ParentId=r, Name=n)["OrganizationalUnit"]["Id"] for n in ("A", "B"))
    ctl("POST", "/_vend/faults", {"latency_ms": 400})
    c1, c2, c3 = client("organizations"), client("organizations"), client("organizations")
    # Two writes to one target: one runs, the other is refused; a read meanwhile is not.
    got = together(lambda: c1.attach_policy(PolicyId=p1, TargetId=a), lambda: c2.attach_policy(PolicyId=p2, TargetId=a), lambda: c3.list_policies_for_target(TargetId=a, Filter="SERVICE_CONTROL_POLICY"))
    eq(sorted(got[:2]), ["ConcurrentModificationException", "ok"])
    eq(got[2], "ok")
    stats = ctl("GET", "/_vend/stats")
    eq(stats["rules"].get("organizations.one-writer-per-entity"), 1)
    eq(stats["busy"], 0)
    # Writes to different entities run side by side.
    ctl("POST", "/_vend/stats/reset")
    got = together(lambda: c1.attach_policy(PolicyId=p1, TargetId=b), lambda: c2.tag_resource(ResourceId=a, Tags=[{"Key": "k", "Value": "v"}]))
    eq(got, ["ok", "ok"])
    eq(ctl("GET", "/_vend/stats")["rules"].get("organizations.one-writer-per-entity"), None)
    # A held answer does not keep the entity: the write has run.
    ctl("POST", "/_vend/faults", {"latency_ms": 0, "script": [{"match": "organizations.UntagResource", "fault": "hold", "hold_ms": 1500}]})
    got = together(lambda: c1.untag_resource(ResourceId=a, TagKeys=["k"]), lambda: (__import__("time").sleep(0.5), c2.tag_resource(ResourceId=a, Tags=[{"Key": "k2", "Value": "v"}])))
    eq(got, ["ok", "ok"])
    ctl("POST", "/_vend/reset")
    eq(ctl("GET", "/_vend/stats")["busy"], 0)


check("orgs: one writer per entity (ConcurrentModificationException, counted; reads and other entities pass; hold frees)", one_writer_per_entity)


def creations_in_progress():
    import urllib.error

    ctl("POST", "/_vend/reset")
    o = client("organizations")
    o.create_organization(FeatureSet="ALL")
    for bad in ({"limits": {"organizations.nope": 1}}, {"limits": {"organizations.account-creations-in-progress": -1}}, {"limits": []}):
        try:
            ctl("POST", "/_vend/faults", bad)
            raise AssertionError(f"accepted {bad}")
        except urllib.error.HTTPError as e:
            eq(e.code, 400)
    ctl("POST", "/_vend/faults", {"create_account_polls": 1, "limits": {"organizations.account-creations-in-progress": 2}})
    cars = [o.create_account(AccountName=f"c{i}", Email=f"c{i}@example.com")["CreateAccountStatus"]["Id"] for i in range(2)]
    expect_error("ConstraintViolationException", lambda: o.create_account(AccountName="c2", Email="c2@example.com"), reason="ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED")
    states = [o.describe_create_account_status(CreateAccountRequestId=cars[0])["CreateAccountStatus"]["State"] for _ in range(2)]
    eq(states, ["IN_PROGRESS", "SUCCEEDED"])
    o.create_account(AccountName="c2", Email="c2@example.com")
    eq(ctl("GET", "/_vend/stats")["rules"].get("organizations.account-creations-in-progress"), 1)
    ctl("POST", "/_vend/reset")


check("orgs: account creations in progress limited (limits override; ConstraintViolation ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED)", creations_in_progress)


def support_and_recording():
    import urllib.error

    ctl("POST", "/_vend/reset")
    try:
        ctl("POST", "/_vend/faults", {"record": 1})
        raise AssertionError("accepted record: 1")
    except urllib.error.HTTPError as e:
        eq(e.code, 400)
    ctl("POST", "/_vend/faults", {"record": True})
    e = expect_error("SubscriptionRequiredException", lambda: client("support").describe_severity_levels())
    eq(e.response["ResponseMetadata"]["HTTPStatusCode"], 400)
    client("sts").get_caller_identity()
    rec = ctl("GET", "/_vend/recorded")
    eq([(r["service"], r["op"]) for r in rec], [("support", "DescribeSeverityLevels"), ("sts", "GetCallerIdentity")])
    assert any(k == "Authorization" and "Credential=testing/" in v for k, v in rec[0]["headers"]), rec[0]["headers"]
    eq(bytes.fromhex(rec[0]["body_hex"]), b"{}")
    ctl("POST", "/_vend/stats/reset")
    eq(ctl("GET", "/_vend/recorded"), [])
    ctl("POST", "/_vend/reset")


check("support: DescribeSeverityLevels answers SubscriptionRequiredException; record keeps the counted requests", support_and_recording)

# ------------------------------------------------------------------ issue 18: Identity Center, Identity Store, Account Management

ISSUE18_RULES = (
    "identitycenter.instance-exists", "identitycenter.permission-set-exists", "identitycenter.principal-exists",
    "identitycenter.target-in-organization", "identitycenter.assignment-unique", "identitycenter.assignment-exists",
    "identitystore.group-exists", "account.trusted-access", "account.member-account", "account.contact-name",
    "account.contact-title", "account.contact-email", "account.contact-phone", "account.contact-exists",
)


def ic_world():
    """A fresh organization with two member accounts, the instance, two groups, two permission sets."""
    ctl("POST", "/_vend/reset")
    o, sso, ids = client("organizations"), client("sso-admin"), client("identitystore")
    o.create_organization(FeatureSet="ALL")
    members = [o.create_account(AccountName=f"m{i}", Email=f"m{i}@example.com")["CreateAccountStatus"]["AccountId"] for i in range(2)]
    inst = sso.list_instances()["Instances"][0]
    arn, store = inst["InstanceArn"], inst["IdentityStoreId"]
    groups = [ids.create_group(IdentityStoreId=store, DisplayName=n)["GroupId"] for n in ("admins", "readers")]
    sets = [sso.create_permission_set(InstanceArn=arn, Name=n)["PermissionSet"]["PermissionSetArn"] for n in ("AdministratorAccess", "ReadOnlyAccess")]
    return o, sso, ids, members, arn, store, groups, sets


def permission_sets_and_groups():
    o, sso, ids, members, arn, store, groups, sets = ic_world()
    p1 = sso.list_permission_sets(InstanceArn=arn, MaxResults=1)
    eq(len(p1["PermissionSets"]), 1)
    p2 = sso.list_permission_sets(InstanceArn=arn, MaxResults=1, NextToken=p1["NextToken"])
    eq(sorted(p1["PermissionSets"] + p2["PermissionSets"]), sorted(sets))
    assert "NextToken" not in p2, p2
    eq(sso.describe_permission_set(InstanceArn=arn, PermissionSetArn=sets[1])["PermissionSet"]["Name"], "ReadOnlyAccess")
    bad_inst = arn[:-4] + "zzzz"
    expect_error("ResourceNotFoundException", lambda: sso.list_permission_sets(InstanceArn=bad_inst))
    expect_error("ResourceNotFoundException", lambda: sso.describe_permission_set(InstanceArn=arn, PermissionSetArn=sets[0] + "x"))
    got = ids.get_group_id(IdentityStoreId=store, AlternateIdentifier={"UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": "readers"}})
    eq(got["GroupId"], groups[1])
    expect_error("ResourceNotFoundException", lambda: ids.get_group_id(IdentityStoreId=store, AlternateIdentifier={"UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": "nobody"}}))
    eq([g["GroupId"] for g in ids.list_groups(IdentityStoreId=store, Filters=[{"AttributePath": "DisplayName", "AttributeValue": "admins"}])["Groups"]], [groups[0]])
    rules_hit = ctl("GET", "/_vend/stats")["rules"]
    for r in ("identitycenter.instance-exists", "identitycenter.permission-set-exists", "identitystore.group-exists"):
        assert rules_hit.get(r, 0) >= 1, (r, rules_hit)


check("sso-admin/identitystore: instance per account, permission sets (paged), GetGroupId/ListGroups; unknown instance, permission set, group refused", permission_sets_and_groups)


def assignments():
    o, sso, ids, members, arn, store, groups, sets = ic_world()
    req = dict(InstanceArn=arn, TargetId=members[0], TargetType="AWS_ACCOUNT", PermissionSetArn=sets[0], PrincipalType="GROUP", PrincipalId=groups[0])
    st = sso.create_account_assignment(**req)["AccountAssignmentCreationStatus"]
    eq(st["Status"], "IN_PROGRESS")
    # A second request on the same assignment while the first is in progress: ConflictException.
    expect_error("ConflictException", lambda: sso.create_account_assignment(**req))
    listed = lambda ps=sets[0], acct=members[0]: sso.list_account_assignments(InstanceArn=arn, AccountId=acct, PermissionSetArn=ps)["AccountAssignments"]
    eq(listed(), [])
    polls = [sso.describe_account_assignment_creation_status(InstanceArn=arn, AccountAssignmentCreationRequestId=st["RequestId"])["AccountAssignmentCreationStatus"]["Status"] for _ in range(2)]
    eq(polls, ["IN_PROGRESS", "SUCCEEDED"])
    eq(listed(), [{"AccountId": members[0], "PermissionSetArn": sets[0], "PrincipalType": "GROUP", "PrincipalId": groups[0]}])
    # An identical create once it succeeded: accepted, nothing changes.
    again = sso.create_account_assignment(**req)["AccountAssignmentCreationStatus"]["RequestId"]
    for _ in range(2):
        last = sso.describe_account_assignment_creation_status(InstanceArn=arn, AccountAssignmentCreationRequestId=again)["AccountAssignmentCreationStatus"]
    eq(last["Status"], "SUCCEEDED")
    eq(len(listed()), 1)
    # Paging: two groups on one permission set.
    ctl("POST", "/_vend/faults", {"assignment_polls": 0})
    eq(sso.create_account_assignment(**{**req, "PrincipalId": groups[1]})["AccountAssignmentCreationStatus"]["Status"], "SUCCEEDED")
    p1 = sso.list_account_assignments(InstanceArn=arn, AccountId=members[0], PermissionSetArn=sets[0], MaxResults=1)
    p2 = sso.list_account_assignments(InstanceArn=arn, AccountId=members[0], PermissionSetArn=sets[0], MaxResults=1, NextToken=p1["NextToken"])
    eq(sorted(x["PrincipalId"] for x in p1["AccountAssignments"] + p2["AccountAssignments"]), sorted(groups))
    # Unknown principal and a target outside the organization: accepted, then FAILED.
    bad = sso.create_account_assignment(**{**req, "PrincipalId": "00000000-0000-0000-0000-000000000000"})["AccountAssignmentCreationStatus"]
    eq(bad["Status"], "FAILED")
    assert "was not found in directory" in bad["FailureReason"], bad
    out = sso.create_account_assignment(**{**req, "TargetId": "999999999999"})["AccountAssignmentCreationStatus"]
    eq(out["Status"], "FAILED")
    # Unknown permission set: at the call.
    expect_error("ResourceNotFoundException", lambda: sso.create_account_assignment(**{**req, "PermissionSetArn": sets[0] + "x"}))
    # Delete: an absent assignment is refused; a present one goes IN_PROGRESS -> SUCCEEDED.
    expect_error("ResourceNotFoundException", lambda: sso.delete_account_assignment(**{**req, "TargetId": members[1]}))
    ctl("POST", "/_vend/faults", {"assignment_polls": 1})
    d = sso.delete_account_assignment(**req)["AccountAssignmentDeletionStatus"]
    eq(d["Status"], "IN_PROGRESS")
    expect_error("ConflictException", lambda: sso.delete_account_assignment(**req))
    polls = [sso.describe_account_assignment_deletion_status(InstanceArn=arn, AccountAssignmentDeletionRequestId=d["RequestId"])["AccountAssignmentDeletionStatus"]["Status"] for _ in range(2)]
    eq(polls, ["IN_PROGRESS", "SUCCEEDED"])
    eq([x["PrincipalId"] for x in listed()], [groups[1]])
    # A request nobody polls finishes on its own after assignment_settle_ms.
    ctl("POST", "/_vend/faults", {"assignment_settle_ms": 0})
    sso.create_account_assignment(**{**req, "PermissionSetArn": sets[1]})
    eq(len(listed(sets[1])), 1)
    hits = ctl("GET", "/_vend/stats")["rules"]
    for r in ("identitycenter.assignment-unique", "identitycenter.assignment-exists", "identitycenter.principal-exists", "identitycenter.target-in-organization", "identitycenter.permission-set-exists"):
        assert hits.get(r, 0) >= 1, (r, hits)


check("sso-admin: assignments asynchronous (assignment_polls, settle), ConflictException in progress, idempotent after, paged list, FAILED principal/target, delete rules", assignments)


def delegated_identity_center():
    o, sso, ids, members, arn, store, groups, sets = ic_world()
    o.register_delegated_administrator(AccountId=members[0], ServicePrincipal="sso.amazonaws.com")
    creds = client("sts").assume_role(RoleArn=f"arn:aws:iam::{members[0]}:role/OrganizationAccountAccessRole", RoleSessionName="vend")["Credentials"]
    kw = dict(endpoint_url=URL, region_name="us-east-1", aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    dsso, dids = boto3.client("sso-admin", **kw), boto3.client("identitystore", **kw)
    eq(dsso.list_instances()["Instances"][0]["InstanceArn"], arn)
    eq(sorted(dsso.list_permission_sets(InstanceArn=arn)["PermissionSets"]), sorted(sets))
    eq(dids.get_group_id(IdentityStoreId=store, AlternateIdentifier={"UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": "admins"}})["GroupId"], groups[0])


check("sso-admin: a delegated administrator for sso.amazonaws.com is served the management account's instance", delegated_identity_center)


def identity_center_home():
    o, sso, ids, members, arn, store, groups, sets = ic_world()
    # Another region: no instance (AWS answers an empty list outside the home region).
    eq(client("sso-admin", region="eu-west-1").list_instances()["Instances"], [])
    # A member account that is not the delegated administrator: no instance either.
    creds = client("sts").assume_role(RoleArn=f"arn:aws:iam::{members[1]}:role/OrganizationAccountAccessRole", RoleSessionName="vend")["Credentials"]
    kw = dict(endpoint_url=URL, region_name="us-east-1", aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    eq(boto3.client("sso-admin", **kw).list_instances()["Instances"], [])
    # The delegated administrator may not give access to the management account.
    o.register_delegated_administrator(AccountId=members[0], ServicePrincipal="sso.amazonaws.com")
    creds = client("sts").assume_role(RoleArn=f"arn:aws:iam::{members[0]}:role/OrganizationAccountAccessRole", RoleSessionName="vend")["Credentials"]
    kw.update(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    dsso = boto3.client("sso-admin", **kw)
    mgmt = o.describe_organization()["Organization"]["MasterAccountId"]
    req = dict(InstanceArn=arn, TargetType="AWS_ACCOUNT", PermissionSetArn=sets[0], PrincipalType="GROUP", PrincipalId=groups[0])
    expect_error("AccessDeniedException", lambda: dsso.create_account_assignment(TargetId=mgmt, **req))
    dsso.create_account_assignment(TargetId=members[1], **req)


check("sso-admin: the instance only in the home region and to the management account or delegated administrator; the delegated administrator cannot assign the management account", identity_center_home)


def alternate_contacts():
    o, sso, ids, members, arn, store, groups, sets = ic_world()
    acc = client("account")
    mgmt = o.describe_organization()["Organization"]["MasterAccountId"]
    good = dict(AlternateContactType="SECURITY", Name="Security Team", Title="SecOps", EmailAddress="security@example.com", PhoneNumber="+1 555 0100")
    e = expect_error("AccessDeniedException", lambda: acc.put_alternate_contact(AccountId=members[0], **good))
    assert "trusted access" in e.response["Error"]["Message"], e.response
    o.enable_aws_service_access(ServicePrincipal="account.amazonaws.com")
    eq([s["ServicePrincipal"] for s in o.list_aws_service_access_for_organization()["EnabledServicePrincipals"]], ["account.amazonaws.com"])
    expect_error("AccessDeniedException", lambda: acc.put_alternate_contact(AccountId=mgmt, **good))
    expect_error("AccessDeniedException", lambda: acc.get_alternate_contact(AccountId="999999999999", AlternateContactType="SECURITY"))
    expect_error("ResourceNotFoundException", lambda: acc.get_alternate_contact(AccountId=members[0], AlternateContactType="SECURITY"))
    expect_error("ResourceNotFoundException", lambda: acc.delete_alternate_contact(AccountId=members[0], AlternateContactType="BILLING"))
    for field, value in (("Name", "n" * 65), ("Title", "t" * 51), ("EmailAddress", "not-an-email"), ("PhoneNumber", "555-CALL-NOW"), ("PhoneNumber", "1" * 26)):
        expect_error("ValidationException", lambda: acc.put_alternate_contact(AccountId=members[0], **{**good, field: value}))
    acc.put_alternate_contact(AccountId=members[0], **good)
    got = acc.get_alternate_contact(AccountId=members[0], AlternateContactType="SECURITY")["AlternateContact"]
    eq((got["Name"], got["EmailAddress"], got["PhoneNumber"], got["Title"]), ("Security Team", "security@example.com", "+1 555 0100", "SecOps"))
    expect_error("ResourceNotFoundException", lambda: acc.get_alternate_contact(AccountId=members[1], AlternateContactType="SECURITY"))
    acc.delete_alternate_contact(AccountId=members[0], AlternateContactType="SECURITY")
    expect_error("ResourceNotFoundException", lambda: acc.get_alternate_contact(AccountId=members[0], AlternateContactType="SECURITY"))
    # Standalone context (no AccountId): the caller's own contacts.
    acc.put_alternate_contact(**{**good, "AlternateContactType": "BILLING"})
    eq(acc.get_alternate_contact(AlternateContactType="BILLING")["AlternateContact"]["Name"], "Security Team")
    stats = ctl("GET", "/_vend/stats")
    for r in ISSUE18_RULES:
        if r.startswith("account."):
            assert stats["rules"].get(r, 0) >= 1, (r, stats["rules"])
    assert stats["services"]["account"].get("PutAlternateContact", 0) >= 1, stats["services"]["account"]


check("account: alternate contacts need trusted access and a member AccountId; field rules; Get/Delete of an unset type", alternate_contacts)


def issue18_faults():
    o, sso, ids, members, arn, store, groups, sets = ic_world()
    ctl("POST", "/_vend/faults", {"script": [
        {"match": "sso.CreateAccountAssignment", "fault": "throttle"},
        {"match": "account.PutAlternateContact", "fault": "throttle"},
        {"match": "identitystore.GetGroupId", "fault": "server_error"},
    ]})
    req = dict(InstanceArn=arn, TargetId=members[0], TargetType="AWS_ACCOUNT", PermissionSetArn=sets[0], PrincipalType="GROUP", PrincipalId=groups[0])
    expect_error("ThrottlingException", lambda: sso.create_account_assignment(**req))
    expect_error("TooManyRequestsException", lambda: client("account").put_alternate_contact(AccountId=members[0], AlternateContactType="SECURITY", Name="n", Title="t", EmailAddress="a@b.co", PhoneNumber="1"))
    try:
        ids.get_group_id(IdentityStoreId=store, AlternateIdentifier={"UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": "admins"}})
        raise AssertionError("no server error")
    except ClientError as e:
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] in (500, 503), e.response
    faults = ctl("GET", "/_vend/stats")["faults"]
    eq(faults.get("sso.CreateAccountAssignment"), {"throttle": 1})
    eq(faults.get("account.PutAlternateContact"), {"throttle": 1})
    # Nothing ran: the assignment was never made.
    eq(sso.list_account_assignments(InstanceArn=arn, AccountId=members[0], PermissionSetArn=sets[0])["AccountAssignments"], [])
    ctl("POST", "/_vend/reset")


check("faults apply to sso-admin (ThrottlingException), account (JSON TooManyRequestsException) and identitystore", issue18_faults)

print(f"{RESULTS['pass']} passed, {RESULTS['fail']} failed")
sys.exit(1 if RESULTS["fail"] else 0)
