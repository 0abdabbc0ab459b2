"""Loading many services at once (an import, or the benchmark data set of ``mango demo --customers``).

Like :mod:`mango_core.customers.bulk`: product defaults validated once per product instead of
once per service, multi-row INSERTs, one "created" history row per service, no per-service
event. Runs in the caller's location scope; the caller commits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta
from itertools import cycle

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from mango_core.catalog import service as catalog
from mango_core.catalog.models import Product
from mango_core.customers.models import Customer
from mango_core.db import utcnow
from mango_core.db.bulk import STAMPED
from mango_core.history.models import HistoryEntry
from mango_core.params import ParamValidationError, validate_values
from mango_core.services.models import ACTIVE, Service
from mango_core.tenancy.context import current_scope

BATCH = 5000


def bulk_services(session: Session, customer_ids: Sequence[int], *, per_customer: Callable[[int], int],
                  start_within_days: int = 2000, progress: Callable[[int], None] | None = None) -> int:
    """Give each customer ``per_customer(index)`` active services of the products sold here whose
    defaults are complete parameter values (the others need values per service)."""
    location_id = current_scope().write_location_id
    today = date.today()
    offered = catalog.products_for_sale(session, location_id, today)
    params = {}
    for product in offered:
        try:
            params[product.id] = validate_values(catalog.definitions(session, product.service_class),
                                                 product.defaults or {})
        except ParamValidationError:
            continue  # needs values of its own per service (a phone number): not for bulk loading
    products = [p for p in offered if p.id in params]
    if not products:
        return 0
    versions = {p.id: p.service_class.version for p in products}
    offer = cycle(products)
    rows = []
    for i, customer_id in enumerate(customer_ids):
        for _ in range(per_customer(i)):
            product: Product = next(offer)
            start = today - timedelta(days=i % start_within_days)
            rows.append({"customer_id": customer_id, "product_id": product.id, "class_id": product.class_id,
                         "class_version": versions[product.id], "params": params[product.id], "state": ACTIVE,
                         "start_date": start, "activated_on": start, "location_id": location_id})
    made = 0
    for first in range(0, len(rows), BATCH):
        chunk = rows[first:first + BATCH]
        ids = session.scalars(insert(Service).returning(Service.id, sort_by_parameter_order=True)
                              .execution_options(**STAMPED), chunk).all()
        now = utcnow()
        session.execute(insert(HistoryEntry).execution_options(**STAMPED), [
            {"at": now, "effective_date": row["start_date"], "entity": "service", "entity_id": service_id,
             "customer_id": row["customer_id"], "action": "created", "field": "product_id",
             "after": str(row["product_id"]), "reason": "import", "location_id": location_id}
            for service_id, row in zip(ids, chunk, strict=True)
        ])
        made += len(chunk)
        if progress:
            progress(made)
    return made


def customers_without_services(session: Session) -> list[int]:
    """Customers of the scope's location that have no service yet (the ones to fill)."""
    return list(session.scalars(select(Customer.id).where(~Customer.id.in_(select(Service.customer_id)))
                                .order_by(Customer.id)))
