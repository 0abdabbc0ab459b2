"""API resources of the catalogue: service classes and products (read; the partner's, shared by its locations)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import object_session, selectinload

from mango_core.api.fields import Field
from mango_core.api.resources import ApiResource
from mango_core.catalog import service as catalog
from mango_core.catalog.models import Product, ServiceClass
from mango_core.tenancy.models import Location

VIEW = "core.catalog.view"
DEFINITION = Field("definition", "object", schema={
    "type": "object", "description": "A parameter definition (key, label, type, required, default, limits…)."})


def _definitions(cls: ServiceClass) -> list[dict[str, Any]]:
    return list(catalog.class_version(object_session(cls), cls.id).definitions or [])


def _location_codes(product: Product) -> list[str]:
    ids = sorted(product.location_ids)
    if not ids:
        return []
    return list(object_session(product).scalars(select(Location.code).where(Location.id.in_(ids)).order_by(Location.code)))


CLASSES = ApiResource(
    name="classes",
    model=ServiceClass,
    title="service classes",
    description="Service classes of the partner: categories of services defined by typed parameters.",
    read_permission=VIEW,
    default_sort="name",
    fields=(
        Field("name", filter=("eq",), sort=True),
        Field("kind", filter=("eq",), description="Which module acts on services of the class (internet, other…)."),
        Field("description", nullable=True),
        Field("version", "integer", description="The current version of the parameter definitions."),
        Field("is_active", "boolean", filter=("eq",)),
        Field("parameters", "array", items=DEFINITION, value=_definitions,
              description="The parameter definitions of the current version."),
        Field("created_at", "datetime", sort=True),
        Field("updated_at", "datetime", sort=True),
    ),
)

PRODUCTS = ApiResource(
    name="products",
    model=Product,
    title="products",
    description="Products (tariffs) of the partner: prices, default parameter values, validity, where sold.",
    read_permission=VIEW,
    default_sort="name",
    options=(selectinload(Product.availability),),
    fields=(
        Field("class_id", "integer", filter=("eq",)),
        Field("code", filter=("eq",), sort=True),
        Field("name", sort=True),
        Field("description", nullable=True),
        Field("price", "money", description="Regular price without VAT."),
        Field("vat_rate", "decimal", description="VAT rate in per cent."),
        Field("second_price", "money", nullable=True, description="Another price (a setup fee), without VAT."),
        Field("second_price_label", nullable=True),
        Field("defaults", "object", schema={"type": "object"}, description="Default parameter values."),
        Field("valid_from", "date", filter=("gte", "lte"), sort=True),
        Field("valid_until", "date", nullable=True),
        Field("locations", "array", items=Field("location"), value=_location_codes,
              description="Codes of the partner's locations where it is sold."),
        Field("created_at", "datetime", sort=True),
        Field("updated_at", "datetime", sort=True),
    ),
)

RESOURCES = [CLASSES, PRODUCTS]
