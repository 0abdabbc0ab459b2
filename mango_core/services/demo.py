"""Demo catalogue and services: classes Internet, VoIP and IPTV, Czech tariffs, and services of the
demo customers in every state (pending, active, blocked, terminated, with scheduled changes).

Idempotent: classes are matched by name, products by code, and a location whose customers have
services already gets none.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_core.catalog import service as catalog
from mango_core.catalog.models import Product, ServiceClass
from mango_core.customers.models import Customer
from mango_core.params import ParamDef
from mango_core.services import lifecycle
from mango_core.services import service as svc
from mango_core.services.models import Service
from mango_core.tenancy import location_scope

CLASSES = {
    "Internet": ("other", [
        ParamDef("download", "Rychlost stahování", "integer", required=True, min=1, max=10000, unit="Mbit/s",
                 on_invoice=True),
        ParamDef("upload", "Rychlost odesílání", "integer", required=True, min=1, max=10000, unit="Mbit/s",
                 on_invoice=True),
        ParamDef("technology", "Technologie", "choice", default="wifi",
                 choices=[("wifi", "Bezdrát 5 GHz"), ("ftth", "Optika FTTH"), ("lte", "LTE")]),
        ParamDef("ipv4", "Veřejná IPv4 adresa", "ipv4"),
        ParamDef("wifi_name", "Název Wi-Fi", "text", max=32, customer_editable=True),
    ]),
    "VoIP": ("other", [
        ParamDef("phone_number", "Telefonní číslo", "text", required=True, regex=r"\+420 ?[0-9]{3} ?[0-9]{3} ?[0-9]{3}",
                 on_invoice=True),
        ParamDef("lines", "Počet linek", "integer", default=1, min=1, max=30),
        ParamDef("international", "Mezinárodní hovory", "boolean", customer_editable=True),
    ]),
    "IPTV": ("other", [
        ParamDef("package", "Programový balíček", "choice", required=True,
                 choices=[("basic", "Základ (60 programů)"), ("plus", "Plus (120 programů)")]),
        ParamDef("set_top_boxes", "Počet set-top boxů", "integer", default=1, min=0, max=5),
        ParamDef("recording_hours", "Nahrávání", "integer", default=0, min=0, unit="h"),
    ]),
}

# code, class, name, price without VAT, setup fee, defaults
PRODUCTS = [
    ("NET50", "Internet", "Internet Start 50", "330.58", "826.45", {"download": 50, "upload": 10}),
    ("NET250", "Internet", "Internet Standard 250", "494.21", "826.45", {"download": 250, "upload": 50}),
    ("NET1000", "Internet", "Internet Optika 1000", "742.15", "0.00",
     {"download": 1000, "upload": 300, "technology": "ftth"}),
    ("VOIP", "VoIP", "Telefon Paušál", "165.29", None, {}),
    ("TVZAKLAD", "IPTV", "Televize Základ", "247.11", None, {"package": "basic"}),
    ("TVPLUS", "IPTV", "Televize Plus", "411.57", None, {"package": "plus", "recording_hours": 30}),
]


def load_catalog(session: Session, location_id: int, location_ids: list[int]) -> int:
    """The partner's demo classes and products (sold in ``location_ids``); how many things were made."""
    made = 0
    with location_scope(location_id):
        classes = {c.name: c for c in session.scalars(select(ServiceClass))}
        for name, (kind, params) in CLASSES.items():
            if name not in classes:
                classes[name] = catalog.create_class(session, name=name, kind=kind, params=params)
                made += 1
        codes = set(session.scalars(select(Product.code)))
        for code, cls, name, price, fee, defaults in PRODUCTS:
            if code not in codes:
                catalog.create_product(session, class_id=classes[cls].id, code=code, name=name, price=price,
                                       vat_rate="21", second_price=fee, second_price_label="Zřízení" if fee else None,
                                       valid_from=date(2020, 1, 1), defaults=defaults, location_ids=location_ids)
                made += 1
        session.commit()
    return made


def _params(code: str, rng: random.Random, n: int) -> dict:
    if code.startswith("NET"):
        return {"ipv4": f"100.64.{n // 250}.{n % 250 + 1}"} if rng.random() < 0.3 else {}
    if code == "VOIP":
        return {"phone_number": f"+420 2{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)}"}
    return {}


def load_services(session: Session, location_id: int) -> int:
    """Services for the demo customers of a location (none when it has services already)."""
    with location_scope(location_id):
        if session.scalar(select(Service.id).limit(1)) is not None:
            return 0
        products = {p.code: p for p in catalog.products_for_sale(session, location_id)}
        if not products:
            return 0
        rng = random.Random(location_id * 7)
        today = date.today()
        made = 0
        for customer in session.scalars(select(Customer).where(Customer.anonymised_at.is_(None)).order_by(Customer.id)):
            codes = [rng.choice(["NET50", "NET250", "NET250", "NET1000"])]
            if rng.random() < 0.3:
                codes.append("VOIP")
            if rng.random() < 0.25:
                codes.append(rng.choice(["TVZAKLAD", "TVPLUS"]))
            for code in codes:
                made += 1
                start = today - timedelta(days=rng.randint(30, 1500))
                if customer.state == "lead":
                    svc.create_service(session, customer_id=customer.id, product_id=products[code].id,
                                       params=_params(code, rng, made), start_date=today + timedelta(days=7),
                                       activate=True)
                    continue
                service = svc.create_service(session, customer_id=customer.id, product_id=products[code].id,
                                             params=_params(code, rng, made), start_date=start,
                                             commitment_until=start + timedelta(days=730), activate=True,
                                             reason="Smlouva podepsána")
                roll = rng.random()
                if customer.state == "former" or roll < 0.08:
                    lifecycle.terminate(session, service, effective=today - timedelta(days=rng.randint(0, 20)),
                                        reason="Výpověď zákazníka")
                elif roll < 0.16:
                    lifecycle.block(session, service, "debt", effective=today - timedelta(days=rng.randint(1, 14)),
                                    reason="Neuhrazená faktura")
                elif roll < 0.2 and code == "NET50":
                    first_of_next = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
                    lifecycle.change_product(session, service, products["NET250"].id, effective=first_of_next,
                                             reason="Zákazník chce vyšší rychlost")
        session.commit()
        return made
