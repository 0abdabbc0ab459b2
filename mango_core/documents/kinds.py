"""Document kinds (``mango_document_kinds``) and the customer context the core's kinds fill.

A kind names what a document is (contract, handover protocol, letter; billing adds invoice and
reminder, the call centre a work order), builds the template context from the data it is about,
and brings a default template that a location starts from. Contexts hold plain values only
(dicts, lists, strings, numbers, dates, decimals): templates run in a sandbox and must not reach
ORM objects or the application.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l

from mango_core.db import utcnow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mango_core.customers.models import Customer

log = logging.getLogger(__name__)
DEFAULTS = Path(__file__).resolve().parent / "defaults"
CUSTOMER = "customer"


@dataclass(frozen=True)
class DocumentKind:
    """A kind of document a plugin contributes.

    ``context(session, customer)`` returns the template context (plain values); kinds whose
    ``subject`` is ``"customer"`` are offered on the customer card. Kinds about other things
    (an invoice) render through :func:`mango_core.documents.service.generate` with a context
    of their own and are not offered there. ``default_body``/``default_css`` are the template a
    location starts from; ``sample`` gives a context for previews when no real data is chosen.
    """

    key: str
    label: Any  # a lazy_gettext string or plain text
    context: Callable[[Session, Customer], dict[str, Any]]
    default_body: str
    default_css: str = ""
    subject: str = CUSTOMER
    sample: Callable[[], dict[str, Any]] | None = None
    plugin: str = ""  # set by :func:`mango_core.documents.service.kinds`


def default_text(name: str) -> str:
    return (DEFAULTS / name).read_text(encoding="utf-8")


# --- the customer context ------------------------------------------------------------------


def _address(a: Any) -> dict[str, Any]:
    return {"kind": a.kind, "street": a.street, "city": a.city, "postal_code": a.postal_code, "country": a.country,
            "one_line": a.one_line, "note": a.note or ""}


def _contact(c: Any) -> dict[str, Any]:
    emails = [ch.value for ch in c.channels if ch.kind == "email"]
    phones = [ch.value for ch in c.channels if ch.kind != "email"]
    roles = [r for r, on in (("billing", c.role_billing), ("technical", c.role_technical), ("owner", c.role_owner))
             if on]
    return {"name": c.name, "roles": roles, "emails": emails, "phones": phones, "email": emails[0] if emails else "",
            "phone": phones[0] if phones else ""}


def location_data(location: Any) -> dict[str, Any]:
    """The location's company data (the supplier on every document)."""
    street_city = " ".join(p for p in (location.postal_code, location.city) if p)
    return {"name": location.name, "company_name": location.company_name, "ico": location.ico or "",
            "dic": location.dic or "", "vat_payer": bool(location.vat_payer), "street": location.street,
            "city": location.city, "postal_code": location.postal_code, "country": location.country,
            "address": ", ".join(p for p in (location.street, street_city) if p),
            "mailing_address": location.mailing_address or "", "email": location.email or "",
            "phone": location.phone or "", "currency": location.currency}


def customer_data(customer: Customer) -> dict[str, Any]:
    return {"id": customer.id, "number": customer.number, "variable_symbol": customer.variable_symbol,
            "kind": customer.kind, "is_company": customer.kind == "company", "name": customer.display_name,
            "first_name": customer.first_name or "", "last_name": customer.last_name or "",
            "company_name": customer.company_name or "", "ico": customer.ico or "", "dic": customer.dic or "",
            "birth_date": customer.birth_date, "state": customer.state, "activated_on": customer.activated_on,
            "custom": dict(customer.custom_fields or {})}


ServiceProvider = Callable[["Session", "Customer"], list[dict[str, Any]]]


def customer_services(session: Session, customer: Customer) -> list[dict[str, Any]]:
    """The customer's services as plain values, read through :mod:`mango_core.services`' public functions.

    The extension point for service data in documents: it reads only ``services_of_customer``
    and documented attributes, and gives an empty list (logged) when the services module is
    absent or its shape changes, so a document never fails for it.
    """
    try:
        services = importlib.import_module("mango_core.services.service")
        rows = services.services_of_customer(session, customer.id)
    except (ImportError, AttributeError) as exc:
        log.warning("documents: services unavailable for the customer context: %s", exc)
        return []
    result = []
    for s in rows:
        try:
            product = s.product
            place = s.service_place
            result.append({
                "id": s.id, "product": product.name, "product_code": getattr(product, "code", ""),
                "price": s.effective_price, "vat_rate": getattr(product, "vat_rate", None), "state": s.state,
                "start_date": s.start_date, "activated_on": s.activated_on, "end_date": s.end_date,
                "commitment_until": s.commitment_until, "payment_period": s.payment_period,
                "params": {k: v for k, v in dict(s.params or {}).items() if isinstance(v, str | int | float | bool)},
                "place": place.one_line if place is not None else "", "note": s.note or "",
            })
        except AttributeError as exc:
            log.warning("documents: service %s left out of the context: %s", getattr(s, "id", "?"), exc)
    return result


def customer_context(session: Session, customer: Customer) -> dict[str, Any]:
    """What the core's customer documents know: the customer, contacts, addresses, services, supplier."""
    from mango_core.tenancy.models import Location

    location = session.get(Location, customer.location_id)
    addresses = [_address(a) for a in customer.addresses]
    by_kind: dict[str, dict[str, Any]] = {}
    for a in addresses:
        by_kind.setdefault(a["kind"], a)
    contacts = [_contact(c) for c in customer.contacts]
    services = customer_services(session, customer)
    total = sum((s["price"] for s in services if isinstance(s.get("price"), Decimal) and s["state"] != "terminated"),
                Decimal("0"))
    return {
        "customer": customer_data(customer),
        "contacts": contacts,
        "contact": contacts[0] if contacts else {},
        "addresses": addresses,
        "address": by_kind.get("permanent") or (addresses[0] if addresses else {}),
        "billing_address": by_kind.get("billing") or by_kind.get("permanent") or {},
        "services": services,
        "services_total": total,
        "location": location_data(location),
        "today": date.today(),
        "now": utcnow(),
    }


def sample_context() -> dict[str, Any]:
    """A made-up customer for previews."""
    address = {"kind": "permanent", "street": "Údolní 12", "city": "Český Krumlov", "postal_code": "38101",
               "country": "CZ", "one_line": "Údolní 12, 381 01 Český Krumlov", "note": ""}
    contact = {"name": "Jiří Šťastný", "roles": ["owner"], "emails": ["jiri.stastny@example.cz"],
               "phones": ["+420 601 234 567"], "email": "jiri.stastny@example.cz", "phone": "+420 601 234 567"}
    service = {"id": 1, "product": "Internet 250/50", "product_code": "NET250", "price": Decimal("499.00"),
               "vat_rate": Decimal("21"), "state": "active", "start_date": date(2024, 1, 1),
               "activated_on": date(2024, 1, 3), "end_date": None, "commitment_until": date(2026, 1, 1),
               "payment_period": 1, "params": {"download": 250, "upload": 50}, "place": address["one_line"],
               "note": ""}
    return {
        "customer": {"id": 0, "number": 1001, "variable_symbol": "1001", "kind": "person", "is_company": False,
                     "name": "Jiří Šťastný", "first_name": "Jiří", "last_name": "Šťastný", "company_name": "",
                     "ico": "", "dic": "", "birth_date": date(1980, 5, 17), "state": "active",
                     "activated_on": date(2024, 1, 3), "custom": {}},
        "contacts": [contact], "contact": contact, "addresses": [address], "address": address,
        "billing_address": address, "services": [service], "services_total": service["price"],
        "location": {"name": "Ukázka", "company_name": "Ukázková síť s.r.o.", "ico": "12345678",
                     "dic": "CZ12345678", "vat_payer": True, "street": "Náměstí 1", "city": "Žďár nad Sázavou",
                     "postal_code": "59101", "country": "CZ", "address": "Náměstí 1, 59101 Žďár nad Sázavou",
                     "mailing_address": "", "email": "info@example.cz", "phone": "+420 566 000 000",
                     "currency": "CZK"},
        "today": date.today(), "now": utcnow(),
    }


def core_kinds() -> list[DocumentKind]:
    css = default_text("document.css")
    return [
        DocumentKind("contract", _l("Contract"), customer_context, default_text("contract.html"), css,
                     sample=sample_context),
        DocumentKind("handover", _l("Handover protocol"), customer_context, default_text("handover.html"), css,
                     sample=sample_context),
        DocumentKind("letter", _l("Letter"), customer_context, default_text("letter.html"), css,
                     sample=sample_context),
    ]
