"""vend's extension of moto: Service Catalog operations (with the CloudFormation stacks of
provisioned products), Organizations rules, fault switch."""

from . import cloudformation, organizations, servicecatalog


def install() -> None:
    servicecatalog.install()
    cloudformation.install()
    organizations.install()
