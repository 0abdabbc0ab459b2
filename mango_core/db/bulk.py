"""Bulk writes that cost about the same for 10 rows and for 10,000: new ids up front, COPY on PostgreSQL.

Used where one operation writes thousands of rows in one transaction (a billing run's invoices,
lines and ledger entries, the e-mails it queues). Both functions write on the session's connection,
inside its transaction, and bypass the ORM: the caller stamps ``location_id`` on every row
(:data:`STAMPED` tells the tenant guard so on SQLite's executemany path).
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql as pgsql
from sqlalchemy import JSON, String, Text, any_, bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from mango_core.db.types import Money

STAMPED = {"mango_tenant_stamped": True}  # location_id is set on every row by the caller
SEPARATOR = "\x1f"  # the ASCII unit separator: no symbol, account or key contains it
CHUNK = 5000  # bound parameters per IN query (SQLite allows 32,766; PostgreSQL 65,535)


class BulkInsertError(ValueError):
    """A bulk write used wrongly (no location stamped, ids outside a transaction)."""


@contextmanager
def paused_gc() -> Iterator[None]:
    """No automatic cyclic garbage collection inside (nested uses are fine).

    Bulk work makes hundreds of thousands of objects that live until it ends (rows, drafts, parsed
    movements): every collection of the oldest generation scans them all again and frees nothing.
    Measured: a quarter of a bank import's Python time, a sixth of a billing run's. Reference
    counting still frees everything else at once; what is cyclic waits for the next collection.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def on_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def chunks(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def text_array(values: Sequence[str]) -> Any | None:
    """PostgreSQL: ``values`` as one text parameter split by ``string_to_array`` (much cheaper to adapt
    than a list of 50,000), or None when a value is empty or holds the separator."""
    joined = SEPARATOR.join(values)
    # string_to_array('') is an empty array, so an empty value cannot go this way
    if joined.count(SEPARATOR) != len(values) - 1 or not all(values):
        return None
    return func.string_to_array(bindparam(None, joined, type_=Text), SEPARATOR, type_=ARRAY(Text))


def among(session: Session, column: Any, values: Sequence[str]) -> Iterable[tuple[Any, Any]]:
    """``(criterion, part)`` pairs that test ``column`` against ``values``, as few queries as possible.

    PostgreSQL takes the whole list as one parameter: a query text with thousands of placeholders costs
    more to build and parse than to run. The values go joined into one text split by ``string_to_array``
    (adapting a 50,000-element list parameter item by item took longer than the query), or as an array
    when a value holds the separator. Elsewhere: IN chunks of :data:`CHUNK`.
    """
    if not values:
        return
    if on_postgres(session):
        array = text_array(values)
        if array is not None:
            yield column == any_(array), values
        else:
            yield column == any_(bindparam(None, list(values), type_=ARRAY(String))), values
        return
    for part in chunks(values):
        yield column.in_(part), part


def allocate_ids(session: Session, model: Any, count: int) -> list[int]:
    """``count`` new primary keys of ``model``'s table, for rows this transaction will insert.

    PostgreSQL: taken from the table's own sequence (what the rows would get anyway; an id of a
    rolled-back batch is simply never used). SQLite: after the largest id — the caller has written
    in this transaction already, so it holds SQLite's one write lock and no other writer can take
    the same ids before it commits.
    """
    if count < 1:
        return []
    table = model.__table__
    conn = session.connection()  # Core on the connection: ids are global, not per tenant
    if conn.dialect.name == "postgresql":
        sequence = func.pg_get_serial_sequence(table.name, "id")
        return list(conn.scalars(select(func.nextval(sequence)).select_from(func.generate_series(1, count))))
    if not conn.in_transaction():  # pragma: no cover - the callers always write first
        raise BulkInsertError("ids are allocated only inside the writing transaction")
    last = conn.scalar(select(func.max(table.c.id))) or 0
    return list(range(last + 1, last + 1 + count))


def bulk_insert(session: Session, model: Any, columns: dict[str, list[Any]], constants: dict[str, Any]) -> None:
    """INSERT rows given column by column (``columns``: name → one value per row) plus ``constants``
    that are the same in every row — ``location_id`` among them: the caller stamps the tenant.

    PostgreSQL: one ``COPY … FROM STDIN`` on the session's connection (in its transaction: a
    rollback takes the rows back), the fastest way in; every value still passes its column type's
    bind processing (Money refuses an inexact amount). SQLite: an executemany of the same rows
    (sqlite3 prepares the statement once), through the tenant guard as a stamped insert.
    """
    if "location_id" not in constants:
        raise BulkInsertError(f"bulk insert into {model.__tablename__}: location_id must be stamped")
    names = list(columns)
    count = len(columns[names[0]]) if names else 0
    if count == 0:
        return
    table = model.__table__
    for column in table.columns:
        # COPY knows only the database's defaults: give it the model's own, as an ORM insert would
        default = column.default
        if column.name in columns or column.name in constants or default is None or column.primary_key:
            continue
        if default.is_scalar:
            constants = {**constants, column.name: default.arg}
        elif default.is_callable:
            columns = {**columns, column.name: [default.arg(None) for _ in range(count)]}
    names = list(columns)
    if not on_postgres(session):
        rows = [dict(constants) for _ in range(count)]
        for name in names:
            for row, value in zip(rows, columns[name], strict=True):
                row[name] = value
        session.execute(insert(model).execution_options(**STAMPED), rows)
        return
    conn = session.connection()

    def processor(name: str) -> Callable[[Any], Any] | None:
        kind = table.c[name].type
        if isinstance(kind, JSON):
            return json.dumps  # COPY's text format: PostgreSQL parses the JSON text
        return kind.bind_processor(conn.dialect)

    values = []
    for name in names:
        process = processor(name)
        if process is None:
            values.append(columns[name])
        elif isinstance(table.c[name].type, Money):
            # amounts repeat (prices, VAT rates): check each distinct value once; equal Decimals
            # (1.0 == 1.00) quantize to the same column value, and an inexact one equals no exact one
            seen: dict[Decimal, Any] = {}
            values.append([None if v is None else seen[v] if v in seen else seen.setdefault(v, process(v))
                           for v in columns[name]])
        else:
            values.append([None if v is None else process(v) for v in columns[name]])
    fixed = tuple(v if (process := processor(name)) is None or v is None else process(v)
                  for name, v in constants.items())
    statement = pgsql.SQL("COPY {} ({}) FROM STDIN").format(
        pgsql.Identifier(table.name), pgsql.SQL(", ").join(pgsql.Identifier(n) for n in names + list(constants)))
    raw = conn.connection.driver_connection
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in zip(*values, strict=True):
                copy.write_row(row + fixed)
    except psycopg.Error as exc:
        # as SQLAlchemy's own exceptions: callers tell a lost race (IntegrityError) from the rest
        raise DBAPIError.instance(statement.as_string(raw), None, exc, psycopg.Error) from exc
