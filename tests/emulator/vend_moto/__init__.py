"""vend's extension of moto: Service Catalog operations, Organizations rules, fault switch."""

from . import organizations, servicecatalog


def install() -> None:
    servicecatalog.install()
    organizations.install()
