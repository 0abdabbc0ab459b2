"""``record``: the one way to write history, inside the caller's transaction.

Service functions call it for every key change, so the history is as complete as the services
are; nothing else writes ``core_history`` (and the database refuses to change what is written).

The one exception is :func:`redact`, called only by the customer's anonymisation (GDPR erasure)
in its own transaction: it replaces the personal before/after values of that customer's rows by
:data:`~mango_core.history.models.REDACTED`. The database lets exactly that UPDATE through and
nothing else (migration ``core_0007``).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, or_, update
from sqlalchemy.orm import Session

from mango_core.db import utcnow
from mango_core.history.models import REDACTED, HistoryEntry

Changes = dict[str, tuple[Any, Any]]


class HistoryError(ValueError):
    """A history entry was asked for without an entity or an action."""


def as_text(value: Any) -> str | None:
    """How a value is kept in ``before``/``after`` (see :class:`HistoryEntry`)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, list | tuple | set | frozenset):
        value = sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def record(
    session: Session,
    *,
    entity: str,
    entity_id: int | None,
    customer_id: int | None,
    action: str,
    changes: Changes | None = None,
    reason: str | None = None,
    effective: date | None = None,
    user_id: int | None = None,
) -> list[HistoryEntry]:
    """Add one entry per changed field (one entry without a field when ``changes`` is empty).

    Pairs whose before and after are equal are left out, so callers may pass every field they
    touched. Written in the current location (the tenant guard stamps it).
    """
    if not entity or not action:
        raise HistoryError("history needs an entity and an action")
    now = utcnow()
    effective = effective or now.date()
    common = {"at": now, "effective_date": effective, "user_id": user_id, "entity": entity,
              "entity_id": entity_id, "customer_id": customer_id, "action": action,
              "reason": (reason or "").strip() or None}
    pairs = [(field, as_text(b), as_text(a)) for field, (b, a) in (changes or {}).items()]
    pairs = [p for p in pairs if p[1] != p[2]]
    if changes and not pairs:
        return []
    entries = [HistoryEntry(**common, field=f, before=b, after=a) for f, b, a in pairs] or [HistoryEntry(**common)]
    session.add_all(entries)
    session.flush()
    return entries


def redact(session: Session, *, customer_id: int, at: datetime, fields: dict[str, set[str]],
           prefixes: dict[str, tuple[str, ...]] | None = None) -> int:
    """Erase personal values from the customer's history; returns how many rows were redacted.

    ``fields`` names, per entity, the fields whose before/after are personal (``{"contact":
    {"name", "emails"}}``); ``prefixes`` adds fields by their beginning (``{"customer":
    ("custom.",)}``). Non-empty values of those rows become :data:`REDACTED` and ``redacted_at``
    becomes ``at``, which must be the customer's ``anonymised_at`` already flushed in this
    transaction (the database checks it). Other rows (state, tariff, price…) stay as they are.
    """
    conditions = [and_(HistoryEntry.entity == entity, HistoryEntry.field.in_(sorted(names)))
                  for entity, names in fields.items() if names]
    for entity, starts in (prefixes or {}).items():
        conditions += [and_(HistoryEntry.entity == entity, HistoryEntry.field.startswith(start, autoescape=True))
                       for start in starts]
    if not conditions:
        return 0
    stmt = (update(HistoryEntry)
            .where(HistoryEntry.customer_id == customer_id, HistoryEntry.redacted_at.is_(None), or_(*conditions))
            .values(before=case((HistoryEntry.before.is_(None), None), else_=REDACTED),
                    after=case((HistoryEntry.after.is_(None), None), else_=REDACTED),
                    redacted_at=at)
            .execution_options(synchronize_session="fetch"))
    return session.execute(stmt).rowcount or 0
