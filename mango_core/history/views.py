"""The history tab of the customer card and its CSV export.

The CSV is meant for Czech Excel: UTF-8 with a byte-order mark, ``;`` between fields, one row
per changed field. Columns (fixed, in this order; documented for people who import it):
``id; at (UTC, ISO 8601); effective_date; user; entity; entity_id; action; field; before;
after; reason``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask import Blueprint, Response, abort, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_core.auth.access import permission_required
from mango_core.auth.models import User
from mango_core.customers.models import Customer
from mango_core.history.models import HistoryEntry
from mango_core.web.access import has_permission
from mango_core.web.request import db

bp = Blueprint("core_history", __name__)

CSV_COLUMNS = ("id", "at", "effective_date", "user", "entity", "entity_id", "action", "field", "before", "after",
               "reason")
TAB_LIMIT = 500
EXPORT_LIMIT = 100_000


@dataclass
class HistoryFilter:
    entity: str | None = None
    action: str | None = None
    since: date | None = None
    until: date | None = None

    @classmethod
    def from_args(cls, args) -> HistoryFilter:  # noqa: ANN001
        def day(name: str) -> date | None:
            try:
                return date.fromisoformat(args.get(name, ""))
            except ValueError:
                return None

        def word(name: str) -> str | None:
            value = args.get(name, "").strip()
            return value if value and value.replace("_", "").isalnum() and len(value) <= 30 else None

        return cls(entity=word("entity"), action=word("action"), since=day("since"), until=day("until"))


def entries(session: Session, customer_id: int, flt: HistoryFilter, limit: int) -> list[HistoryEntry]:
    """Newest first; ``since``/``until`` are days of the change (UTC), both inclusive."""
    stmt = select(HistoryEntry).where(HistoryEntry.customer_id == customer_id)
    if flt.entity:
        stmt = stmt.where(HistoryEntry.entity == flt.entity)
    if flt.action:
        stmt = stmt.where(HistoryEntry.action == flt.action)
    if flt.since:
        stmt = stmt.where(HistoryEntry.at >= datetime.combine(flt.since, time.min, UTC))
    if flt.until:
        stmt = stmt.where(HistoryEntry.at < datetime.combine(flt.until + timedelta(days=1), time.min, UTC))
    return list(session.scalars(stmt.order_by(HistoryEntry.id.desc()).limit(limit)))


def _authors(session: Session, rows: list[HistoryEntry]) -> dict[int, str]:
    ids = {r.user_id for r in rows if r.user_id is not None}
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


def _choices(session: Session, customer_id: int) -> tuple[list[str], list[str]]:
    base = select(HistoryEntry.entity, HistoryEntry.action).where(HistoryEntry.customer_id == customer_id).distinct()
    pairs = session.execute(base).all()
    return sorted({e for e, _ in pairs}), sorted({a for _, a in pairs})


def _cell(value: object) -> str:
    """Text for a CSV cell; a leading = + - @ is quoted so that Excel never runs it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def render_tab(customer: Customer) -> str:
    """The card's history tab (filters from the query string)."""
    session = db()
    flt = HistoryFilter.from_args(request.args)
    rows = entries(session, customer.id, flt, TAB_LIMIT)
    entities, actions = _choices(session, customer.id)
    return render_template("history/tab.html", customer=customer, rows=rows, authors=_authors(session, rows),
                           flt=flt, entities=entities, actions=actions, limit=TAB_LIMIT,
                           can_export=has_permission("core.customers.export"))


@bp.get("/customers/<int:customer_id>/history.csv")
@permission_required("core.customers.export")
def export_csv(customer_id: int):  # noqa: ANN201
    session = db()
    customer = session.get(Customer, customer_id)
    if customer is None:
        abort(404)
    rows = entries(session, customer.id, HistoryFilter.from_args(request.args), EXPORT_LIMIT)
    authors = _authors(session, rows)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow([_cell(x) for x in (r.id, r.at.isoformat(timespec="seconds"), r.effective_date.isoformat(),
                         authors.get(r.user_id, "") if r.user_id else "system", r.entity, r.entity_id or "",
                         r.action, r.field or "", r.before, r.after, r.reason)])
    name = f"historie-{customer.number}.csv"
    return Response(out.getvalue().encode("utf-8"), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
