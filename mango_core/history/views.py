"""The history tab of the customer card, the history section of catalogue pages, and CSV exports.

The CSV is meant for Czech Excel: UTF-8 with a byte-order mark, ``;`` between fields, one row
per changed field. Columns (fixed, in this order; documented for people who import it):
``id; at (UTC, ISO 8601); effective_date; user; entity; entity_id; action; field; before;
after; reason``; the catalogue's export adds ``location`` (the code of the location where the
change was made) at the end. Values erased by a customer's anonymisation read ``[redacted]``.

Catalogue history (service classes, products) is the partner's: it is read from every location
of the partner (see :mod:`mango_core.catalog.service`), never from another partner's.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask import Blueprint, Response, abort, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_core.auth.access import permission_required
from mango_core.auth.models import User
from mango_core.customers.models import Customer
from mango_core.history.models import REDACTED, HistoryEntry
from mango_core.tenancy.context import current_scope, location_scope
from mango_core.tenancy.models import Location
from mango_core.web.access import has_permission
from mango_core.web.request import db

bp = Blueprint("core_history", __name__)
bp.add_app_template_global(REDACTED, "HISTORY_REDACTED")

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


def _filtered(stmt, flt: HistoryFilter):  # noqa: ANN001, ANN202
    """``since``/``until`` are days of the change (UTC), both inclusive."""
    if flt.entity:
        stmt = stmt.where(HistoryEntry.entity == flt.entity)
    if flt.action:
        stmt = stmt.where(HistoryEntry.action == flt.action)
    if flt.since:
        stmt = stmt.where(HistoryEntry.at >= datetime.combine(flt.since, time.min, UTC))
    if flt.until:
        stmt = stmt.where(HistoryEntry.at < datetime.combine(flt.until + timedelta(days=1), time.min, UTC))
    return stmt


def entries(session: Session, customer_id: int, flt: HistoryFilter, limit: int) -> list[HistoryEntry]:
    """Newest first."""
    stmt = _filtered(select(HistoryEntry).where(HistoryEntry.customer_id == customer_id), flt)
    return list(session.scalars(stmt.order_by(HistoryEntry.id.desc()).limit(limit)))


def object_entries(session: Session, entity: str, entity_id: int, flt: HistoryFilter, limit: int,
                   location_ids: Iterable[int]) -> list[HistoryEntry]:
    """History of a partner-level object (no customer), newest first, read from ``location_ids``
    (the partner's locations) besides the current one; writes stay limited to the current one."""
    stmt = _filtered(select(HistoryEntry).where(HistoryEntry.entity == entity, HistoryEntry.entity_id == entity_id,
                                                HistoryEntry.customer_id.is_(None)), flt)
    with location_scope(current_scope().write_location_id, also_read=location_ids):
        return list(session.scalars(stmt.order_by(HistoryEntry.id.desc()).limit(limit)))


def object_actions(session: Session, entity: str, entity_id: int, location_ids: Iterable[int]) -> list[str]:
    stmt = select(HistoryEntry.action).where(HistoryEntry.entity == entity, HistoryEntry.entity_id == entity_id,
                                             HistoryEntry.customer_id.is_(None)).distinct()
    with location_scope(current_scope().write_location_id, also_read=location_ids):
        return sorted(set(session.scalars(stmt)))


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


def _location_codes(session: Session, rows: list[HistoryEntry]) -> dict[int, str]:
    ids = {r.location_id for r in rows}
    if not ids:
        return {}
    return dict(session.execute(select(Location.id, Location.code).where(Location.id.in_(ids))).all())


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
    return csv_response(rows, authors, f"historie-{customer.number}.csv")


def csv_response(rows: list[HistoryEntry], authors: dict[int, str], name: str,
                 locations: dict[int, str] | None = None) -> Response:
    """The CSV export of ``rows`` (see the module's note); ``locations`` adds the location column."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS + (("location",) if locations is not None else ()))
    for r in rows:
        cells = [r.id, r.at.isoformat(timespec="seconds"), r.effective_date.isoformat(),
                 authors.get(r.user_id, "") if r.user_id else "system", r.entity, r.entity_id or "",
                 r.action, r.field or "", r.before, r.after, r.reason]
        if locations is not None:
            cells.append(locations.get(r.location_id, ""))
        writer.writerow([_cell(x) for x in cells])
    return Response(out.getvalue().encode("utf-8"), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def render_object_history(entity: str, entity_id: int, location_ids: Iterable[int], export_url: str) -> str:
    """The "History" section of a catalogue page (filters from the query string)."""
    session = db()
    ids = list(location_ids)
    flt = HistoryFilter.from_args(request.args)
    flt.entity = None  # one object: only its own entity
    rows = object_entries(session, entity, entity_id, flt, TAB_LIMIT, ids)
    return render_template("history/section.html", rows=rows, authors=_authors(session, rows), flt=flt,
                           actions=object_actions(session, entity, entity_id, ids), limit=TAB_LIMIT,
                           locations=_location_codes(session, rows), export_url=export_url)


def export_object_history(entity: str, entity_id: int, location_ids: Iterable[int], name: str) -> Response:
    session = db()
    flt = HistoryFilter.from_args(request.args)
    flt.entity = None
    rows = object_entries(session, entity, entity_id, flt, EXPORT_LIMIT, location_ids)
    return csv_response(rows, _authors(session, rows), name, _location_codes(session, rows))
