"""Warehouses, stock articles, serialised items (CPE) and the append-only movements between them.

Every change of stock is a :class:`StockMovement` (received, issued to a customer or a
technician, returned, written off, moved between warehouses); the database refuses to change or
delete one. A warehouse's level of an article is the sum of the movements into it less those out
of it. A serialised item (a router, an ONT, a set-top box) also carries where it is now, a
projection of its movements kept for quick lists; :mod:`mango_isp.stock.service` writes both in
one transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mango_core.db import Base, TenantMixin, utcnow
from mango_isp.ipam.models import require_scope

ROUTER, ONT, STB, SPARE, OTHER = "router", "ont", "stb", "spare", "other"
CATEGORIES = (ROUTER, ONT, STB, SPARE, OTHER)
# code-defined device type (mango_device_types) of a category's items registered as network devices
DEVICE_TYPES = {ROUTER: "isp.cpe", ONT: "isp.ont", STB: "isp.stb"}

IN_STOCK, AT_CUSTOMER, AT_TECHNICIAN, WRITTEN_OFF = "in_stock", "at_customer", "at_technician", "written_off"
ITEM_STATES = (IN_STOCK, AT_CUSTOMER, AT_TECHNICIAN, WRITTEN_OFF)

RECEIVED, ISSUED_CUSTOMER, ISSUED_TECHNICIAN, RETURNED, WRITTEN_OFF_KIND, TRANSFERRED = (
    "received", "issued_customer", "issued_technician", "returned", "written_off", "transferred")
MOVEMENT_KINDS = (RECEIVED, ISSUED_CUSTOMER, ISSUED_TECHNICIAN, RETURNED, WRITTEN_OFF_KIND, TRANSFERRED)


def _in(column: str, values: tuple) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Warehouse(TenantMixin, Base):
    """A store of a location (a room at a site, a technician's van)."""

    __tablename__ = "isp_warehouse"
    __table_args__ = (UniqueConstraint("location_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("core_site.id", ondelete="SET NULL"), index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    site = relationship("Site")

    def __str__(self) -> str:
        return f"{self.code} – {self.name}"


class Article(TenantMixin, Base):
    """A kind of stocked thing: a CPE model (serialised, one item per piece) or a spare part (counted)."""

    __tablename__ = "isp_article"
    __table_args__ = (
        UniqueConstraint("location_id", "code"),
        CheckConstraint(_in("category", CATEGORIES), name="category"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(10), default=OTHER)
    serialised: Mapped[bool] = mapped_column(Boolean, default=False)
    unit: Mapped[str] = mapped_column(String(10), default="ks")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __str__(self) -> str:
        return f"{self.code} – {self.name}"


class StockItem(TenantMixin, Base):
    """One serialised piece and where it is now (derived from its movements).

    While it is installed at a customer it names the customer's service (and, when it is
    registered as a network device, the core device, which is then linked to the service too).
    """

    __tablename__ = "isp_stock_item"
    __table_args__ = (
        UniqueConstraint("location_id", "article_id", "serial_number"),
        UniqueConstraint("location_id", "mac"),
        Index("ix_isp_stock_item_serial", "location_id", "serial_number"),
        Index("ix_isp_stock_item_place", "location_id", "state", "warehouse_id"),
        Index("ix_isp_stock_item_customer", "location_id", "customer_id"),
        Index("ix_isp_stock_item_service", "location_id", "service_id"),
        CheckConstraint(_in("state", ITEM_STATES), name="state"),
        CheckConstraint("(state = 'in_stock') = (warehouse_id IS NOT NULL)", name="in_warehouse"),
        CheckConstraint("state <> 'at_customer' OR customer_id IS NOT NULL", name="at_customer"),
        CheckConstraint("state <> 'at_technician' OR technician_id IS NOT NULL", name="at_technician"),
        CheckConstraint("service_id IS NULL OR state = 'at_customer'", name="installed"),
        CheckConstraint("mac IS NULL OR length(mac) = 17", name="mac"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # every index of the table starts with location_id; a location_id index of its own would tempt
    # SQLite's planner (which has no statistics) away from them
    location_id: Mapped[int] = mapped_column(ForeignKey("core_location.id", ondelete="RESTRICT"), nullable=False)
    article_id: Mapped[int] = mapped_column(ForeignKey("isp_article.id", ondelete="RESTRICT"))
    serial_number: Mapped[str] = mapped_column(String(100))
    mac: Mapped[str | None] = mapped_column(String(17))
    configured_by_mango: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(14), default=IN_STOCK)
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("isp_warehouse.id", ondelete="RESTRICT"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("core_customer.id", ondelete="RESTRICT"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("core_service.id", ondelete="SET NULL"))
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="RESTRICT"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("core_device.id", ondelete="SET NULL"), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    article: Mapped[Article] = relationship(lazy="joined")
    warehouse: Mapped[Warehouse | None] = relationship()
    customer = relationship("Customer")
    service = relationship("Service")
    technician = relationship("User")
    device = relationship("Device")

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from mango_core.customers.models import Customer
        from mango_core.testing.factories import _counter, make_row

        require_scope()
        if "article_id" not in overrides and "article" not in overrides:
            overrides["article_id"] = make_row(session, Article, serialised=True, category=ROUTER).id
        if overrides.get("service_id") is not None:
            overrides.setdefault("state", AT_CUSTOMER)
        state = overrides.get("state", IN_STOCK)
        if state == AT_CUSTOMER and "customer_id" not in overrides:
            overrides["customer_id"] = make_row(session, Customer).id
        if state == IN_STOCK and "warehouse_id" not in overrides and "warehouse" not in overrides:
            overrides["warehouse_id"] = make_row(session, Warehouse).id
        return cls(**{"serial_number": f"SN{next(_counter)}", "state": state, "configured_by_mango": False,
                      **overrides})


class StockMovement(TenantMixin, Base):
    """One movement of stock; append-only (the database refuses UPDATE and DELETE).

    ``quantity`` pieces of ``article`` (one, naming ``item``, for a serialised article) leave
    ``from_warehouse`` and/or enter ``to_warehouse``; issues name the customer (and service) or
    the technician.
    """

    __tablename__ = "isp_stock_movement"
    __table_args__ = (
        Index("ix_isp_stock_movement_item", "location_id", "item_id", "id"),
        Index("ix_isp_stock_movement_into", "location_id", "to_warehouse_id", "article_id"),
        Index("ix_isp_stock_movement_out", "location_id", "from_warehouse_id", "article_id"),
        Index("ix_isp_stock_movement_reference", "location_id", "reference"),
        CheckConstraint(_in("kind", MOVEMENT_KINDS), name="kind"),
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("item_id IS NULL OR quantity = 1", name="one_item"),
        CheckConstraint("from_warehouse_id IS NULL OR to_warehouse_id IS NULL "
                        "OR from_warehouse_id <> to_warehouse_id", name="two_warehouses"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # every index of the table starts with location_id; a location_id index of its own would tempt
    # SQLite's planner (which has no statistics) away from them
    location_id: Mapped[int] = mapped_column(ForeignKey("core_location.id", ondelete="RESTRICT"), nullable=False)
    kind: Mapped[str] = mapped_column(String(20))
    article_id: Mapped[int] = mapped_column(ForeignKey("isp_article.id", ondelete="RESTRICT"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("isp_stock_item.id", ondelete="RESTRICT"))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    from_warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("isp_warehouse.id", ondelete="RESTRICT"))
    to_warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("isp_warehouse.id", ondelete="RESTRICT"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("core_customer.id", ondelete="RESTRICT"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("core_service.id", ondelete="RESTRICT"))
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="RESTRICT"))
    reference: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    article: Mapped[Article] = relationship()
    item: Mapped[StockItem | None] = relationship()
    from_warehouse: Mapped[Warehouse | None] = relationship(foreign_keys=[from_warehouse_id])
    to_warehouse: Mapped[Warehouse | None] = relationship(foreign_keys=[to_warehouse_id])
    customer = relationship("Customer")
    service = relationship("Service")
    technician = relationship("User", foreign_keys=[technician_id])
    created_by = relationship("User", foreign_keys=[created_by_id])

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from mango_core.testing.factories import make_row

        require_scope()
        if "article_id" not in overrides and "article" not in overrides:
            overrides["article_id"] = make_row(session, Article, category=SPARE).id
        if "to_warehouse_id" not in overrides and "from_warehouse_id" not in overrides:
            overrides["to_warehouse_id"] = make_row(session, Warehouse).id
        return cls(**{"kind": RECEIVED, "quantity": 1, "at": utcnow(), **overrides})


MODELS = [Warehouse, Article, StockItem, StockMovement]
