"""Invoice series and gapless document numbers (per series and calendar year).

Numbers come from the core's gapless counters (:mod:`mango_core.db.sequences`), taken inside the
issuing transaction: the counter row stays locked until the commit, so concurrent issuers wait for
each other, and a rolled-back (or killed) transaction gives its numbers back — no gap, no duplicate.
A billing run takes one block of numbers per batch (:func:`take_numbers`).

The first use of a kind creates its default series: ``FV`` for invoices, ``OD`` for credit notes,
``ZF`` for advance invoices (format ``<code><year><number:06d>``).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mango_billing.models import DOCUMENT_KINDS, InvoiceSeries
from mango_core.db import sequences

DEFAULT_CODES = {"invoice": "FV", "credit_note": "OD", "advance": "ZF"}


class NumberingError(ValueError):
    """A series that cannot number documents (unknown kind, bad format)."""


def default_series(session: Session, kind: str = "invoice") -> InvoiceSeries:
    """The location's default series of ``kind``, created on first use."""
    if kind not in DOCUMENT_KINDS:
        raise NumberingError(f"document kind {kind!r} is not one of {', '.join(DOCUMENT_KINDS)}")
    stmt = (select(InvoiceSeries).where(InvoiceSeries.kind == kind, InvoiceSeries.is_default.is_(True))
            .order_by(InvoiceSeries.id).limit(1))
    series = session.scalar(stmt)
    if series is not None:
        return series
    code = DEFAULT_CODES[kind]
    try:
        with session.begin_nested():
            series = InvoiceSeries(code=code, kind=kind, format=code + "{year}{number:06d}", is_default=True)
            session.add(series)
    except IntegrityError:
        # created by a concurrent transaction at the same moment (or a non-default series uses the code)
        series = session.scalar(select(InvoiceSeries).where(InvoiceSeries.code == code))
        if series is None:  # pragma: no cover
            raise NumberingError(f"could not create the default series {code}") from None
    return series


def format_number(series: InvoiceSeries, year: int, number: int) -> str:
    try:
        text = series.number_for(year, number)
    except (KeyError, ValueError, IndexError) as exc:
        raise NumberingError(f"series {series.code}: format {series.format!r} cannot number "
                             f"({year}, {number}): {exc}") from exc
    if not text or len(text) > 30:
        raise NumberingError(f"series {series.code}: number {text!r} is empty or longer than 30 characters")
    return text


def take_numbers(session: Session, series: InvoiceSeries, year: int, count: int) -> list[tuple[int, str]]:
    """``count`` consecutive (sequence, number) pairs of the series and year, in this transaction."""
    first = sequences.take_block(session, series.counter, count, year=year)
    return [(n, format_number(series, year, n)) for n in range(first, first + count)]
