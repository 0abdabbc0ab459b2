"""Tables of the NetFlow store (registered through mango_netflow.models).

``netflow_block`` holds flows as compressed column blocks (format in store/README.md); on
PostgreSQL it is range-partitioned by ``t_first`` (daily partitions in the schema
``netflow_part``, created ahead by the writer and the retention job). ``netflow_store_settings``
is one row per location: its retention, and the longest block span the writer has stored there
(a lookup's lower time bound, so that partitions before it are pruned).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, SmallInteger, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mango_core.db.base import Base, TenantMixin

DEFAULT_RETENTION_MONTHS = 6
PARTITION_SCHEMA = "netflow_part"

class FlowBlock(TenantMixin, Base):
    """Up to ``max_flows`` flows of one exporter: their time range, address keys and columns."""

    __tablename__ = "netflow_block"
    __table_args__ = (
        Index("ix_netflow_block_location_id_t_first", "location_id", "t_first"),
        {"postgresql_partition_by": "RANGE (t_first)"},
    )

    # PostgreSQL wants the partition key in the primary key; SQLite cannot autoincrement a composite
    # key, so there the writer numbers blocks itself (one writer at a time on SQLite anyway).
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    t_first: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # ms, min(first)
    t_last: Mapped[int] = mapped_column(BigInteger)                     # ms, max(last)
    exporter_id: Mapped[int] = mapped_column(Integer)  # netflow_exporter.id; no FK: flows outlive exporters
    flows: Mapped[int] = mapped_column(Integer)
    format: Mapped[int] = mapped_column(SmallInteger, default=1)
    bloom: Mapped[bytes] = mapped_column(LargeBinary)  # the address summary (see block.py)
    bloom_words: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from mango_netflow.flows import empty
        from mango_netflow.store.block import encode

        flows = empty(1)
        flows["first"] = flows["last"] = 1_700_000_000_000
        block = encode(flows)
        values = {"id": _next_id(session), "t_first": block.t_first, "t_last": block.t_last, "exporter_id": 1,
                  "flows": 1, "bloom": block.bloom, "bloom_words": block.bloom_words, "data": block.data}
        values.update(overrides)
        return cls(**values)


def _next_id(session) -> int:  # noqa: ANN001
    from sqlalchemy import text

    if session.get_bind().dialect.name == "postgresql":
        return session.connection().execute(text("SELECT nextval(pg_get_serial_sequence('netflow_block', 'id'))")).scalar_one()
    return session.connection().execute(text("SELECT coalesce(max(id), 0) + 1 FROM netflow_block")).scalar_one()


class StoreSettings(TenantMixin, Base):
    """A location's flow retention (editable in Opcare) and the writer's longest stored block span."""

    __tablename__ = "netflow_store_settings"
    __table_args__ = (UniqueConstraint("location_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    retention_months: Mapped[int] = mapped_column(Integer, default=DEFAULT_RETENTION_MONTHS)
    longest_block_ms: Mapped[int] = mapped_column(BigInteger, default=0)  # -1: unbounded (garbage times)


MODELS: list[type] = [FlowBlock, StoreSettings]
