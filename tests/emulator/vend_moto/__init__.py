"""vend's extension of moto: Service Catalog operations (with the CloudFormation stacks of
provisioned products), Organizations rules, atomic conditional S3 writes, IAM refusals counted
under vend's rules, the Support API of an account without a support plan, IAM Identity Center
account assignments, permission sets vend manages and Account Management alternate contacts
(issue 18), fault switch."""

from . import (
    account,
    cloudformation,
    iam,
    identitycenter,
    organizations,
    permission_sets,
    s3,
    servicecatalog,
    support,
)


def install() -> None:
    servicecatalog.install()
    cloudformation.install()
    organizations.install()
    s3.install()
    iam.install()
    support.install()
    identitycenter.install()
    permission_sets.install()
    account.install()
