"""Loading many customers at once: an import from another system, or a benchmark data set.

The same validation and normalisation as :mod:`mango_core.customers.service`, but a batch at a
time: numbers are taken as one block of the location's gapless counter, keywords and the
"imported" history rows go in as multi-row INSERTs, and no per-customer event is sent (an
import is one event for the plugins, not 100,000). Runs in the caller's location scope.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date
from itertools import islice
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from mango_core.customers import search
from mango_core.customers.models import (
    ACTIVE,
    FORMER,
    STATES,
    Customer,
    CustomerAddress,
    CustomerContact,
    CustomerKeyword,
)
from mango_core.customers.service import (  # the service's own checks, shared on purpose
    NUMBER_SEQUENCE,
    CustomerError,
    _address_values,
    _contact_values,
    _fill_contact,
    _values,
)
from mango_core.db import sequences, utcnow
from mango_core.db.bulk import STAMPED
from mango_core.history.models import HistoryEntry
from mango_core.tenancy.context import current_scope
from mango_core.tenancy.validators import N_

BATCH = 1000


def _batches(records: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    it = iter(records)
    while batch := list(islice(it, size)):
        yield batch


def _customer(record: dict[str, Any], number: int) -> Customer:
    values = _values(record["customer"])
    values["variable_symbol"] = values["variable_symbol"] or str(number)
    state = record.get("state", ACTIVE)
    if state not in STATES:
        raise CustomerError(N_("Unknown state."), field="state")
    since = record.get("since") or date.today()
    customer = Customer(number=number, state=state, state_changed_on=since,
                        activated_on=since if state in (ACTIVE, FORMER) else None,
                        terminated_on=since if state == FORMER else None, custom_fields={}, **values)
    for data in record.get("contacts", ()):
        contact = CustomerContact()
        _fill_contact(contact, _contact_values(data["name"], data.get("roles", ()), data.get("emails", ()),
                                               data.get("phones", ()), data.get("note")))
        customer.contacts.append(contact)
    for data in record.get("addresses", ()):
        customer.addresses.append(CustomerAddress(**_address_values(data)))
    return customer


def bulk_create(session: Session, records: Iterable[dict[str, Any]], *, batch: int = BATCH,
                progress: Callable[[int], None] | None = None, reason: str = "import") -> int:
    """Create customers from ``records``; returns how many. The caller commits.

    A record: ``{"customer": {...fields of create_customer}, "state": "active", "since": date,
    "contacts": [{"name", "roles", "emails", "phones"}], "addresses": [{"kind", "street", …}]}``.
    A bad record raises :class:`CustomerError` and nothing of its batch is kept by the caller's
    rollback.
    """
    location_id = current_scope().write_location_id
    made = 0
    for chunk in _batches(records, batch):
        first = sequences.take(session, NUMBER_SEQUENCE)
        sequences.set_next(session, NUMBER_SEQUENCE, first + len(chunk))
        customers = [_customer(record, first + i) for i, record in enumerate(chunk)]
        taken = set(session.scalars(select(Customer.variable_symbol).where(
            Customer.variable_symbol.in_([c.variable_symbol for c in customers]))))
        if taken:
            raise CustomerError(N_("Variable symbol %(vs)s belongs to another customer."),
                                field="variable_symbol", vs=min(taken))
        session.add_all(customers)
        session.flush()
        keywords = [{"customer_id": c.id, "value": word, "location_id": location_id}
                    for c in customers for word in sorted(search.keywords_of(c))]
        session.execute(insert(CustomerKeyword).execution_options(**STAMPED), keywords)
        now = utcnow()
        session.execute(insert(HistoryEntry).execution_options(**STAMPED), [
            {"at": now, "effective_date": now.date(), "entity": "customer", "entity_id": c.id, "customer_id": c.id,
             "action": "created", "field": "number", "after": str(c.number), "reason": reason,
             "location_id": location_id}
            for c in customers
        ])
        session.expunge_all()  # keep memory flat over 100,000 customers
        made += len(chunk)
        if progress:
            progress(made)
    return made
