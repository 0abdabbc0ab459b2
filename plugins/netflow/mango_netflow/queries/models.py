"""Tables of the NetFlow queries: the append-only audit log of every data-retention query.

Data retention (act 127/2005 Sb. §97) lets an ISP hand traffic data only to an authority that
asks for them, so every query — in Opcare, the API or the command line — leaves a row here: who
asked, under which reference (the authority's case number), what was asked and how many records
were found. The migration makes the database refuse UPDATE, DELETE and TRUNCATE of the table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from mango_core.db import Base, TenantMixin, utcnow

WEB, API, CLI = "web", "api", "cli"
CHANNELS = (WEB, API, CLI)
WHO, FLOWS = "who", "flows"
KINDS = (WHO, FLOWS)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class QueryLog(TenantMixin, Base):
    """One data-retention query (append-only). ``user_id`` for Opcare and the API; the command line
    records the operator's name (``--operator`` or the OS user) in ``operator``."""

    __tablename__ = "netflow_query_log"
    __table_args__ = (
        Index("ix_netflow_query_log_asked", "location_id", "asked_at"),
        Index("ix_netflow_query_log_reference", "location_id", "reference"),
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        CheckConstraint(_in("kind", KINDS), name="kind"),
        CheckConstraint("length(reference) > 0", name="reference"),
        CheckConstraint("result_count >= 0", name="result_count"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    channel: Mapped[str] = mapped_column(String(8))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="RESTRICT"))
    operator: Mapped[str] = mapped_column(String(200))  # the user's login, or the CLI operator's name
    reference: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    result_count: Mapped[int] = mapped_column(Integer)

    @classmethod
    def __mango_test_factory__(cls, session, **overrides: Any) -> QueryLog:  # noqa: ANN001
        """A valid row for the contract tests (the check constraints want known values)."""
        values = {"channel": CLI, "operator": "factory", "reference": "TEST-1", "kind": WHO,
                  "params": {"ip": "192.0.2.1"}, "result_count": 0, **overrides}
        return cls(**values)


MODELS: list[type] = [QueryLog]
