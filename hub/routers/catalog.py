"""The catalog's entries over HTTP: certificate types, data resources, items, one-things (admin writes)."""

# Each kind gets the same three routes from add_entry_routes. Search follows every write: the
# embedded index inside the write's own transaction (catalog.service), an external one
# (Elasticsearch, state.search) after the request's commit (catalog.search.follow_commits).

from __future__ import annotations

from catalog import service
from catalog.schemas import CertificateTypeIn, DataResourceIn, ItemIn, OneThingIn
from hub.routers.catalog_routing import EntryPage, Stored, add_entry_routes, catalog_router

router = catalog_router()


class CertificateTypeOut(CertificateTypeIn, Stored):
    """A stored certificate type."""


class DataResourceOut(DataResourceIn, Stored):
    """A stored data resource."""


class ItemOut(ItemIn, Stored):
    """A stored service item."""


class OneThingOut(OneThingIn, Stored):
    """A stored one-thing."""


class CertificateTypePage(EntryPage[CertificateTypeOut]):
    pass


class DataResourcePage(EntryPage[DataResourceOut]):
    pass


class ItemPage(EntryPage[ItemOut]):
    pass


class OneThingPage(EntryPage[OneThingOut]):
    pass


add_entry_routes(
    router,
    "/certificate-types",
    service.CERTIFICATE_TYPE,
    CertificateTypeOut,
    CertificateTypePage,
    label="certificate type",
    put_doc="Create or replace a certificate type (证照类型). Admin only.",
)
add_entry_routes(
    router,
    "/data-resources",
    service.DATA_RESOURCE,
    DataResourceOut,
    DataResourcePage,
    label="data resource",
    put_doc="Create or replace a data resource (数据资源). Admin only.",
)
add_entry_routes(
    router,
    "/items",
    service.ITEM,
    ItemOut,
    ItemPage,
    label="service item",
    put_doc="Create or replace a service item (事项) with its materials and form. Admin only.",
)
add_entry_routes(
    router,
    "/one-things",
    service.ONE_THING,
    OneThingOut,
    OneThingPage,
    label="one-thing",
    put_doc="Create or replace a one-thing (一件事) and its questionnaire. Admin only.",
)
