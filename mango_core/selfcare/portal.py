"""What a logged-in customer may see and change, and nothing more.

Every query runs in the account's location scope (the tenant guard) *and* names the customer:
an object is found only when it belongs to the customer being looked at, which is the account's
own customer or one of its children (:func:`visible_customers`). Anything else is
:class:`NotFound` — the portal answers 404, the same as for an id that does not exist.

Changes go through the core services, so they are validated, kept in the history and announced
to plugins like the same change made by staff; their author is the system (no staff user), and
service changes carry the reason :data:`REASON`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_core.catalog import service as catalog
from mango_core.customers import service as customers
from mango_core.customers.models import Customer, CustomerContact
from mango_core.documents import service as documents
from mango_core.documents.models import Document
from mango_core.params import ParamDef
from mango_core.selfcare.accounts import SelfcareError
from mango_core.selfcare.models import SelfcareAccount
from mango_core.services import lifecycle
from mango_core.services import service as services
from mango_core.services.models import TERMINATED, Service, ServiceChange
from mango_core.tenancy.validators import N_

REASON = "Selfcare"
MAX_DEPTH = 10  # parent → child levels shown (the customers module forbids cycles; this bounds the walk)


class NotFound(SelfcareError):
    default_message = N_("Not found.")


def visible_customers(session: Session, account: SelfcareAccount) -> list[Customer]:
    """The account's customer first, then its children and their children (not anonymised ones)."""
    own = session.get(Customer, account.customer_id)
    if own is None or own.anonymised_at is not None:
        return []
    found, level = [own], [own.id]
    seen = {own.id}
    for _depth in range(MAX_DEPTH):
        children = list(session.scalars(select(Customer).where(Customer.parent_id.in_(level),
                                                               Customer.anonymised_at.is_(None))
                                        .order_by(Customer.sort_name, Customer.id)))
        children = [c for c in children if c.id not in seen]
        if not children:
            break
        seen.update(c.id for c in children)
        found.extend(children)
        level = [c.id for c in children]
    return found


def customer_in_view(customers_: list[Customer], customer_id: int | None) -> Customer:
    """The visible customer ``customer_id`` (the first, the account's own, when it is not visible)."""
    return next((c for c in customers_ if c.id == customer_id), customers_[0])


# --- services ---------------------------------------------------------------------------------------


def services_of(session: Session, customer: Customer) -> list[Service]:
    return services.services_of_customer(session, customer.id)


def service_of(session: Session, customer: Customer, service_id: int) -> Service:
    found = session.get(Service, service_id)
    if found is None or found.customer_id != customer.id:
        raise NotFound()
    return found


def definitions(session: Session, service: Service) -> list[ParamDef]:
    """The parameter definitions of the service's stored values (its class version)."""
    return list(catalog.definitions(session, service.product.service_class, service.class_version))


def editable_definitions(session: Session, service: Service) -> list[ParamDef]:
    """Parameters the customer may change: marked so in the class's current version, while the service lives."""
    if service.state == TERMINATED:
        return []
    return [pdef for pdef in catalog.definitions(session, service.product.service_class) if pdef.customer_editable]


def change_params(session: Session, service: Service, raw: dict[str, Any]) -> ServiceChange:
    """Apply the customer's values through the lifecycle (history, ``mango_service_changed``).

    Only parameters the class marks as customer-editable are accepted; the whole set is then
    checked by the lifecycle against the class (``ServiceError`` on a bad value).
    """
    allowed = {pdef.key for pdef in editable_definitions(session, service)}
    refused = sorted(set(raw) - allowed)
    if refused or not raw:
        raise SelfcareError(N_("These settings cannot be changed here: %(keys)s"), field="params",
                            keys=", ".join(refused) or "—")
    return lifecycle.change_params(session, service, dict(raw), actor=None, reason=REASON)


# --- contacts ---------------------------------------------------------------------------------------


def contacts_of(customer: Customer) -> list[CustomerContact]:
    return list(customer.contacts)


def contact_of(session: Session, customer: Customer, contact_id: int) -> CustomerContact:
    try:
        return customers.get_contact(session, customer, contact_id)
    except customers.NotFound as exc:
        raise NotFound() from exc


def update_contact(session: Session, contact: CustomerContact, *, name: str, emails: list[str],
                   phones: list[str]) -> dict:
    """The customer's own name, e-mails and phones of a contact (roles and staff notes stay)."""
    return customers.update_contact(session, contact, name=name, roles=contact.roles, emails=emails, phones=phones,
                                    note=contact.note, actor=None)


def add_contact(session: Session, customer: Customer, *, name: str, emails: list[str],
                phones: list[str]) -> CustomerContact:
    return customers.add_contact(session, customer, name=name, emails=emails, phones=phones, actor=None)


# --- archived documents -------------------------------------------------------------------------------


def documents_of(session: Session, customer: Customer) -> list[Document]:
    return documents.documents_of(session, customer.id)


def open_document(session: Session, customer: Customer, document_id: int) -> tuple[Document, bytes]:
    """The customer's archived document and its verified bytes (IntegrityFailure when they changed)."""
    owner = session.scalar(select(Document.customer_id).where(Document.id == document_id))
    if owner is None or owner != customer.id:
        raise NotFound()
    return documents.open_document(session, document_id)
