"""Gapless per-location counters: customer numbers now, invoice numbers (per series and year) later.

A number is taken by one ``UPDATE core_sequence SET next_value = next_value + 1 … RETURNING``
inside the caller's transaction. The row lock that the UPDATE takes is held until the caller
commits or rolls back, so:

* two transactions never get the same number (the second waits for the first);
* a rolled-back transaction gives its number back (the UPDATE is undone with it): no gaps.

The price is that transactions taking numbers of the same counter run one after another; keep
them short (take the number last, just before the commit). The first use of a counter inserts
its row inside a SAVEPOINT; when another transaction inserted it at the same moment, the unique
constraint refuses the second row and the UPDATE is simply tried again.

``year`` separates yearly series (invoices restart at 1 every year); ``None`` means a counter
that never restarts (stored as 0, because NULLs are distinct in unique constraints).
"""

from __future__ import annotations

from sqlalchemy import Integer, String, UniqueConstraint, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from mango_core.db.base import Base, TenantMixin
from mango_core.tenancy.context import TenancyError, current_scope

NO_YEAR = 0


class SequenceError(ValueError):
    """A counter was asked for with a bad name, year or start value."""


class Sequence(TenantMixin, Base):
    """The next free number of one counter of one location."""

    __tablename__ = "core_sequence"
    __table_args__ = (UniqueConstraint("location_id", "name", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    # 0 = a counter that never restarts; else the calendar year of a yearly series
    year: Mapped[int] = mapped_column(Integer, default=NO_YEAR)
    next_value: Mapped[int] = mapped_column(Integer, default=1)


def _key(name: str, year: int | None) -> tuple[str, int]:
    if not name or len(name) > 60:
        raise SequenceError(f"sequence name must have 1 to 60 characters: {name!r}")
    if year is not None and not 1900 <= year <= 9999:
        raise SequenceError(f"sequence year out of range: {year!r}")
    return name, year or NO_YEAR


def _write_location() -> int:
    location_id = current_scope().write_location_id
    if location_id is None:
        raise TenancyError("Taking a number needs a write location in the scope.")
    return location_id


def take(session: Session, name: str, *, year: int | None = None, start: int = 1) -> int:
    """Take the next number of counter ``name`` (of the scope's write location) and return it.

    ``start`` is the first number of a counter that does not exist yet. The number belongs to
    the caller's transaction: commit to keep it, roll back to give it back.
    """
    name, year_key = _key(name, year)
    location_id = _write_location()
    stmt = (
        update(Sequence)
        .where(Sequence.location_id == location_id, Sequence.name == name, Sequence.year == year_key)
        .values(next_value=Sequence.next_value + 1)
        .returning(Sequence.next_value)
        .execution_options(synchronize_session=False)
    )
    for _attempt in range(3):
        value = session.execute(stmt).scalar_one_or_none()
        if value is not None:
            return value - 1
        try:
            with session.begin_nested():
                session.add(Sequence(location_id=location_id, name=name, year=year_key, next_value=start + 1))
        except IntegrityError:
            continue  # another transaction created the counter first: take from it
        return start
    raise SequenceError(f"could not create counter {name!r}")  # pragma: no cover


def peek(session: Session, name: str, *, year: int | None = None, start: int = 1) -> int:
    """The number ``take`` would return now (for display only: another user may take it first)."""
    name, year_key = _key(name, year)
    value = session.scalar(
        select(Sequence.next_value).where(
            Sequence.location_id == _write_location(), Sequence.name == name, Sequence.year == year_key
        )
    )
    return start if value is None else value


def set_next(session: Session, name: str, value: int, *, year: int | None = None) -> None:
    """Let counter ``name`` continue from ``value`` (a partner moving from another system).

    Refuses to go back below a number already handed out, which would create duplicates.
    """
    if value < 1:
        raise SequenceError("a counter continues from 1 or more")
    name, year_key = _key(name, year)
    location_id = _write_location()
    row = session.scalar(
        select(Sequence).where(Sequence.location_id == location_id, Sequence.name == name, Sequence.year == year_key)
        .with_for_update()
    )
    if row is None:
        session.add(Sequence(location_id=location_id, name=name, year=year_key, next_value=value))
    elif value < row.next_value:
        raise SequenceError(f"counter {name!r} has already reached {row.next_value - 1}")
    else:
        row.next_value = value
    session.flush()


def take_block(session: Session, name: str, count: int, *, year: int | None = None, start: int = 1) -> int:
    """Take ``count`` consecutive numbers of counter ``name`` at once and return the first.

    One UPDATE for a whole batch (a billing run issues thousands of documents). Like :func:`take`,
    the numbers belong to the caller's transaction: a rollback gives all of them back.
    """
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise SequenceError(f"a block of numbers has at least one number, not {count!r}")
    name, year_key = _key(name, year)
    location_id = _write_location()
    stmt = (
        update(Sequence)
        .where(Sequence.location_id == location_id, Sequence.name == name, Sequence.year == year_key)
        .values(next_value=Sequence.next_value + count)
        .returning(Sequence.next_value)
        .execution_options(synchronize_session=False)
    )
    for _attempt in range(3):
        value = session.execute(stmt).scalar_one_or_none()
        if value is not None:
            return value - count
        try:
            with session.begin_nested():
                session.add(Sequence(location_id=location_id, name=name, year=year_key, next_value=start + count))
        except IntegrityError:
            continue  # another transaction created the counter first: take from it
        return start
    raise SequenceError(f"could not create counter {name!r}")  # pragma: no cover
