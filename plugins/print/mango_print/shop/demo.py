"""`mango demo`'s print shop: a print class with the standard parameters, flyers and business cards with
price rules, sold in every demo location where the plugin is enabled. Safe to run again: what exists
(by class name and product code, per partner) is kept, a new location is only added to the products."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_core.catalog import service as catalog
from mango_core.catalog.models import Product, ServiceClass
from mango_core.tenancy import location_scope
from mango_core.tenancy.models import Location
from mango_print.shop import products

CLASS_NAME = "Tiskoviny"
RULES = {
    "tables": {"format": {"A4": "4", "A5": "2", "A6": "1", "85x55": "0.5"},
               "paper": {"matt": "0.80", "gloss": "0.95"}, "colours": {"4/0": "1.00", "4/4": "1.60"},
               "finishing": {"none": "0", "matt_lam": "0.50", "gloss_lam": "0.60"}},
    "formula": "format * (paper * grammage / 170 + colours) + finishing",
    "setup": "150", "breaks": [[1, "1"], [500, "0.8"], [1000, "0.65"]], "minimum": "400",
}
PRODUCTS = (  # code, name, defaults, pages, advance
    ("TISK-LETAK", "Letáky", {"format": "A5", "colours": "4/4"}, 2, False),
    ("TISK-VIZITKY", "Vizitky", {"format": "85x55", "grammage": 350, "quantity": 500}, 2, True),
)


def load(session: Session, locations: list[Location]) -> list[str]:
    """Create what is missing; the lines say what was done."""
    done = []
    for location in sorted(locations, key=lambda loc: loc.code):
        with location_scope(location.id):
            cls = session.scalar(select(ServiceClass).where(ServiceClass.name == CLASS_NAME))
            if cls is None:
                cls = catalog.create_class(session, name=CLASS_NAME, kind=products.KIND,
                                           params=products.standard_params())
                done.append(f"class {CLASS_NAME}")
            for code, name, defaults, pages, advance in PRODUCTS:
                product = session.scalar(select(Product).where(Product.code == code))
                if product is None:
                    product = catalog.create_product(session, class_id=cls.id, name=name, code=code, price="0.00",
                                                     defaults=defaults, valid_from=date(2020, 1, 1),
                                                     location_ids=[location.id])
                    products.save_spec(session, product.id, rules=RULES, pages=pages, bleed_mm="3", advance=advance)
                    done.append(f"product {code}")
                elif location.id not in product.location_ids:
                    catalog.set_availability(session, product, sorted(product.location_ids | {location.id}))
                    done.append(f"{code} sold in {location.code}")
            session.commit()
    return done
