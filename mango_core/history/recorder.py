"""``record``: the one way to write history, inside the caller's transaction.

Service functions call it for every key change, so the history is as complete as the services
are; nothing else writes ``core_history`` (and the database refuses to change what is written).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from mango_core.db import utcnow
from mango_core.history.models import HistoryEntry

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
