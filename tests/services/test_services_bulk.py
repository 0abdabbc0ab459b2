"""``mango demo --customers N``: many customers with 1.5 services each, valid and recorded."""

from sqlalchemy import func, select

from mango_core.catalog import service as catalog
from mango_core.customers.models import Customer
from mango_core.demo import demo_command
from mango_core.history.models import HistoryEntry
from mango_core.params import invalid_values
from mango_core.services.models import Service
from mango_core.tenancy import location_scope
from mango_core.tenancy.models import Location


def test_demo_bulk_customers_get_services_with_history(app, db):
    result = app.test_cli_runner().invoke(demo_command, ["--customers", "30"])
    assert result.exit_code == 0, result.output
    first = db.scalar(select(Location).order_by(Location.code).limit(1))
    with location_scope(first.id):
        imported = list(db.scalars(select(Customer).join(HistoryEntry, HistoryEntry.customer_id == Customer.id)
                                   .where(HistoryEntry.reason == "import", HistoryEntry.entity == "customer")))
        assert len(imported) == 30
        services = list(db.scalars(select(Service).where(Service.customer_id.in_([c.id for c in imported]))))
        assert len(services) == 45  # 1 and 2 services in turn
        for s in services:
            defs = catalog.definitions(db, s.product.service_class, s.class_version)
            assert invalid_values(s.params, defs) == {}
            assert s.state == "active"
        recorded = db.scalar(select(func.count()).select_from(HistoryEntry).where(
            HistoryEntry.entity == "service", HistoryEntry.entity_id.in_([s.id for s in services])))
        assert recorded == 45
