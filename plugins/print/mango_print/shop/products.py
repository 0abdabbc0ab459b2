"""Print products: core products of a class of kind ``print`` with a :class:`PrintSpec`.

The parameters are the class's (the core catalogue edits them); a print class is expected to
have ``format`` (a choice whose values are ISO names like ``A4`` or ``WxH`` in millimetres),
``paper``, ``grammage``, ``colours`` (``4/0``, ``4/4``), ``finishing`` and ``quantity``;
:func:`standard_params` gives that set to start from. Only this module writes ``print_spec``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_core.catalog import service as catalog
from mango_core.catalog.models import Product
from mango_core.params import DefinitionSet, ParamDef, validate_values
from mango_core.tenancy.validators import N_, InvalidValue
from mango_print.shop.models import PrintSpec
from mango_print.shop.preflight import DEFAULT_MIN_DPI
from mango_print.shop.pricing import PriceRules, Quote, quote

KIND = "print"
FORMATS_MM = {"A3": (297, 420), "A4": (210, 297), "A5": (148, 210), "A6": (105, 148), "DL": (99, 210)}
_SIZE_RE = re.compile(r"([0-9]{1,4})\s*[x×]\s*([0-9]{1,4})")
MAX_BLEED = Decimal("20")


class PrintError(InvalidValue):
    """Bad input to the print shop; nothing was changed."""


def standard_params() -> list[ParamDef]:
    """The parameters of a typical flat print product (a partner adapts choices in the catalogue)."""
    return [
        ParamDef("format", "Formát", "choice", required=True, choices=(("A4", "A4"), ("A5", "A5"), ("A6", "A6"),
                                                                       ("85x55", "Vizitka 85 × 55 mm"))),
        ParamDef("paper", "Papír", "choice", required=True, choices=(("matt", "Matný"), ("gloss", "Lesklý"))),
        ParamDef("grammage", "Gramáž", "integer", required=True, min=80, max=400, unit="g/m²", default=170),
        ParamDef("colours", "Barevnost", "choice", required=True, choices=(("4/0", "4/0 jednostranně"),
                                                                           ("4/4", "4/4 oboustranně"))),
        ParamDef("finishing", "Povrchová úprava", "choice", required=True,
                 choices=(("none", "Bez úpravy"), ("matt_lam", "Matné lamino"), ("gloss_lam", "Lesklé lamino"))),
        ParamDef("quantity", "Počet kusů", "integer", required=True, min=1, max=1000000, unit="ks", default=100),
    ]


def format_size(value: Any) -> tuple[Decimal, Decimal]:
    """Width and height in mm of a format option (``A5``, ``85x55``)."""
    text = str(value or "").strip()
    if text.upper() in FORMATS_MM:
        width, height = FORMATS_MM[text.upper()]
        return Decimal(width), Decimal(height)
    match = _SIZE_RE.fullmatch(text)
    if match is None:
        raise PrintError(N_("The format %(format)s has no size: use A3–A6, DL or WxH in mm."), field="format",
                         format=text)
    return Decimal(match.group(1)), Decimal(match.group(2))


@dataclass(frozen=True)
class PrintProduct:
    product: Product
    spec: PrintSpec
    defs: DefinitionSet
    rules: PriceRules


def spec_of(session: Session, product_id: int) -> PrintSpec | None:
    return session.scalar(select(PrintSpec).where(PrintSpec.product_id == product_id))


def load(session: Session, product_id: int) -> PrintProduct:
    """A product with its print spec and checked rules; :class:`PrintError` when it is not a print product."""
    product = session.scalar(select(Product).where(Product.id == product_id))  # scoped, unlike session.get
    spec = spec_of(session, product_id) if product is not None else None
    if product is None or spec is None or product.service_class.kind != KIND:
        raise PrintError(N_("Product not found."), field="product")
    defs = catalog.definitions(session, product.service_class)
    return PrintProduct(product, spec, defs, PriceRules.from_json(spec.rules, defs))


def order_rows(session: Session, product: Product, params: dict[str, Any], version: int) -> list[tuple[str, str]]:
    """An order's parameters for people, by the class version its values were checked against (the
    class may have changed since; the order keeps what was ordered)."""
    defs = catalog.definitions(session, product.service_class, version)
    return [(p.label, p.display(p.from_json(params.get(p.key)), "cs")) for p in defs]


def product_of(session: Session, product_id: int) -> Product:
    product = session.scalar(select(Product).where(Product.id == product_id))
    if product is None:
        raise PrintError(N_("Product not found."), field="product")
    return product


def print_products(session: Session) -> list[tuple[Product, PrintSpec | None]]:
    """Every product of a print class of the partner, with its spec when it has one."""
    products = [p for p in catalog.list_products(session) if p.service_class.kind == KIND]
    specs = {s.product_id: s for s in session.scalars(select(PrintSpec))}
    return [(p, specs.get(p.id)) for p in products]


def for_sale(session: Session, location_id: int) -> list[Product]:
    """Print products sold in ``location_id`` today that have a spec."""
    specs = set(session.scalars(select(PrintSpec.product_id)))
    return [p for p in catalog.products_for_sale(session, location_id)
            if p.service_class.kind == KIND and p.id in specs]


def _bleed(value: Any) -> Decimal:
    try:
        bleed = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation as exc:
        raise PrintError(N_("Enter the bleed in millimetres, e.g. 3."), field="bleed_mm") from exc
    if not bleed.is_finite() or bleed < 0 or bleed > MAX_BLEED or bleed != bleed.quantize(Decimal("0.1")):
        raise PrintError(N_("Enter the bleed in millimetres, e.g. 3."), field="bleed_mm")
    return bleed.quantize(Decimal("0.1"))


def _pages(value: Any) -> int | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        pages = int(str(value).strip())
    except ValueError as exc:
        raise PrintError(N_("Pages must be a whole number from 1."), field="pages") from exc
    if not 1 <= pages <= 1000:
        raise PrintError(N_("Pages must be a whole number from 1."), field="pages")
    return pages


def _min_dpi(value: Any) -> int:
    try:
        dpi = int(str(value).strip())
    except ValueError as exc:
        raise PrintError(N_("The lowest image resolution must be a whole number from 1 to 1200 dpi."),
                         field="min_dpi") from exc
    if not 1 <= dpi <= 1200:
        raise PrintError(N_("The lowest image resolution must be a whole number from 1 to 1200 dpi."),
                         field="min_dpi")
    return dpi


def save_spec(session: Session, product_id: int, *, rules: Any, pages: Any = None, bleed_mm: Any = "3",
              advance: bool = False, min_dpi: Any = DEFAULT_MIN_DPI) -> PrintSpec:
    """Make a product of a print class a print product (or change its spec); everything checked first."""
    product = catalog.get_product(session, product_id)
    if product.service_class.kind != KIND:
        raise PrintError(N_("Only a product of a print class can be a print product."), field="product")
    defs = catalog.definitions(session, product.service_class)
    for key in ("format", "quantity"):
        if key not in defs:
            raise PrintError(N_("The class needs the parameter %(key)s."), field="rules", key=key)
    for value, _label in defs.get("format").choices:
        format_size(value)
    checked = PriceRules.from_json(rules, defs)
    values = {"rules": checked.to_json(), "pages": _pages(pages), "bleed_mm": _bleed(bleed_mm),
              "advance": bool(advance), "min_dpi": _min_dpi(min_dpi)}
    spec = spec_of(session, product.id)
    if spec is None:
        spec = PrintSpec(product_id=product.id, **values)
        session.add(spec)
    else:
        for key, value in values.items():
            setattr(spec, key, value)
    session.flush()
    return spec


def configure(item: PrintProduct, raw: dict[str, Any]) -> tuple[dict[str, Any], Quote]:
    """Checked values of a customer's configuration (the product's defaults filled in) and their price."""
    given = {k: v for k, v in raw.items() if k in item.defs}
    merged = {**(item.product.defaults or {}), **given}
    values = validate_values(item.defs, merged)  # ParamValidationError names every bad value
    return values, quote(item.rules, item.defs, values)
