"""Invoice series and gapless document numbers (per series and calendar year).

Numbers come from the core's gapless counters (:mod:`mango_core.db.sequences`), taken inside the
issuing transaction: the counter row stays locked until the commit, so concurrent issuers wait for
each other, and a rolled-back (or killed) transaction gives its numbers back — no gap, no duplicate.
A billing run takes one block of numbers per batch (:func:`take_numbers`), and holds the counter
from before it computes the batch (:func:`lock_numbers`).

The first use of a kind creates its default series: ``FV`` for invoices, ``OD`` for credit notes,
``ZF`` for advance invoices, ``ZD`` for tax documents of payments received on them (format
``<code><year><number:06d>``).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mango_billing.models import DOCUMENT_KINDS, InvoiceSeries
from mango_core.db import sequences
from mango_core.db.sequences import Sequence
from mango_core.tenancy.context import current_scope

DEFAULT_CODES = {"invoice": "FV", "credit_note": "OD", "advance": "ZF", "advance_tax": "ZD"}


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


def lock_numbers(session: Session, series: InvoiceSeries, year: int) -> None:
    """Wait for the series' counter of ``year``, and hold it until this transaction ends — no number taken.

    A billing run calls this before it computes a batch: issuers of the series then run one after
    another from their reads on, so a batch is rated from what the others have committed (a run of
    another month that has just billed the same services) and cannot bill their days twice. The
    counter is created first when the year has none yet (a concurrent creator wins the unique
    constraint; this one then locks theirs).
    """
    name = series.counter
    location_id = current_scope().write_location_id
    if location_id is None:
        raise NumberingError("issuing numbers needs a write location in the scope")
    stmt = (update(Sequence)
            .where(Sequence.location_id == location_id, Sequence.name == name, Sequence.year == year)
            .values(next_value=Sequence.next_value).returning(Sequence.id)
            .execution_options(synchronize_session=False))
    for _attempt in range(3):
        if session.execute(stmt).first() is not None:
            return
        try:
            with session.begin_nested():
                session.add(Sequence(location_id=location_id, name=name, year=year, next_value=1))
        except IntegrityError:
            continue  # created by a concurrent transaction at the same moment: lock theirs
    raise NumberingError(f"could not lock the counter of series {series.code} for {year}")  # pragma: no cover
