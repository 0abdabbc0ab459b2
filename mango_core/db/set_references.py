"""References checked once per statement instead of once per row (PostgreSQL).

PostgreSQL checks a foreign key with one query per inserted row, and locks the referenced row
``FOR KEY SHARE`` — for a row inserted by the same transaction that lock is written to the page and
the WAL again. A 50,000-line bank import writes 100,000 rows with seven such references each: on a
2-core machine those checks were more than half of the database's work; in a billing run (invoices,
their lines and ledger entries, which lock every billed customer and service row) nearly half. For a
few bulk-written tables, a migration therefore replaces chosen foreign keys by :func:`install` (a
later migration adds more of a table's references with ``checked=`` the earlier ones):

- **insert and update side:** one ``AFTER … FOR EACH STATEMENT`` trigger per table looks up the
  distinct referenced values of the statement's new rows (its transition table) with one anti-join
  per column and raises ``foreign_key_violation`` (SQLSTATE 23503, the foreign key's own name as
  constraint, the same message as PostgreSQL's) for the first missing one. The statement is undone,
  as with a foreign key.
- **referenced side (``ON DELETE RESTRICT``):** a ``BEFORE DELETE OR UPDATE OF <key>`` row trigger on
  the referenced table refuses while a row still refers to it, and ``TRUNCATE`` is refused while the
  referring table has rows. Without row locks on the insert side, the guard first takes ``SHARE``
  on the referring table: it waits for every transaction writing there and then looks with a new
  snapshot, so a concurrent insert is either seen or waits for the delete and then fails its check.
- **isolation:** that last step needs READ COMMITTED (Mango's level). Under REPEATABLE READ or
  SERIALIZABLE the insert side locks the referenced rows ``FOR KEY SHARE`` as a foreign key would,
  and the guard refuses the delete, since an older snapshot could miss a committed reference.

The models keep their ``ForeignKey`` (SQLite keeps real foreign keys, the ORM its joins and the
tenant guard its cross-location check); ``table.info[SET_CHECKED]`` names the columns so that the
migration check does not ask for the foreign keys back on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

SET_CHECKED = "mango_set_checked_references"  # key of Table.info: the set-checked column names


@dataclass(frozen=True)
class Reference:
    """``table.column`` refers to ``target.key``; ``constraint`` is the foreign key it replaces."""

    table: str
    column: str
    target: str
    key: str = "id"

    @property
    def constraint(self) -> str:  # the naming convention of mango_core.db.base
        return f"fk_{self.table}_{self.column}_{self.target}"


ROW_MEMORY = 1024  # bytes of work_mem per new row; 50,000 payments made a transition table of about 19 MB
MAX_MEMORY = 256 * 1024 * 1024


def room_for(cursor: Any, rows: int) -> None:  # noqa: ANN401 (a psycopg cursor)
    """Let the set checks of a statement of ``rows`` rows keep its transition table in memory.

    PostgreSQL keeps a transition table within ``work_mem`` (4 MB by default) and writes a larger one
    to a temporary file, which every checked column then reads back: a 50,000-line import wrote 19 MB
    of temporary files. This raises ``work_mem`` for the rest of the transaction only (``set_config``
    with ``is_local``), to at most 256 MB, and never lowers it.
    """
    wanted = min(MAX_MEMORY, rows * ROW_MEMORY)
    cursor.execute("SELECT set_config('work_mem', %s, true) WHERE pg_size_bytes(current_setting('work_mem')) < %s",
                   (f"{wanted // 1024}kB", wanted))


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _check_function(table: str, refs: list[Reference]) -> str:
    # Every query goes through EXECUTE: planned afresh with the real size of the statement's rows (a
    # transition table's row count is known to the planner) and of the referenced table. A plan cached by
    # the function would keep a sequential scan chosen while a table was empty (measured: a 50,000-line
    # import after a billing run in the same connection took 160 s instead of 3).
    locks, checks = [], []
    for ref in refs:
        distinct = f"SELECT DISTINCT n.{ref.column} FROM mango_new n WHERE n.{ref.column} IS NOT NULL"
        locks.append("EXECUTE " + _literal(
            f"SELECT 1 FROM {ref.target} t WHERE t.{ref.key} IN ({distinct}) FOR KEY SHARE OF t") + ";")
        message = _literal(f'insert or update on table "{table}" violates foreign key constraint '
                           f'"{ref.constraint}"')
        detail = _literal(f"Key ({ref.column})=(%s) is not present in table \"{ref.target}\".")
        query = _literal(f"SELECT CAST(r.v AS text) FROM ({distinct}) AS r(v) "
                         f"WHERE NOT EXISTS (SELECT 1 FROM {ref.target} t WHERE t.{ref.key} = r.v) LIMIT 1")
        checks.append(
            f"EXECUTE {query} INTO missing;\n"
            f"  IF missing IS NOT NULL THEN RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', "
            f"MESSAGE = {message}, CONSTRAINT = {_literal(ref.constraint)}, TABLE = {_literal(table)}, "
            f"DETAIL = format({detail}, missing); END IF;")
    return (
        f"CREATE OR REPLACE FUNCTION {table}_check_references() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "DECLARE missing text;\n"
        "BEGIN\n"
        "  IF current_setting('transaction_isolation') <> 'read committed' THEN\n    "
        + "\n    ".join(locks) + "\n  END IF;\n  "
        + "\n  ".join(checks) + "\n  RETURN NULL;\nEND $$")


def _guard_function(ref: Reference) -> str:
    name = f"{ref.table}_{ref.column}_guard"
    message = _literal(f'update or delete on table "{ref.target}" violates foreign key constraint '
                       f'"{ref.constraint}" on table "{ref.table}"')
    detail = _literal(f"Key ({ref.key})=(%s) is still referenced from table \"{ref.table}\".")
    query = _literal(f"SELECT EXISTS (SELECT 1 FROM {ref.table} WHERE {ref.column} = $1)")
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "DECLARE referenced boolean;\n"
        "BEGIN\n"
        f"  IF TG_OP = 'UPDATE' AND NEW.{ref.key} IS NOT DISTINCT FROM OLD.{ref.key} THEN RETURN NEW; END IF;\n"
        "  IF current_setting('transaction_isolation') <> 'read committed' THEN\n"
        "    RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state', MESSAGE = "
        + _literal(f"{ref.target} rows referred to from {ref.table} are deleted only under READ COMMITTED")
        + ";\n  END IF;\n"
        # wait for the transactions writing the referring table; the query below sees what they wrote
        f"  LOCK TABLE {ref.table} IN SHARE MODE;\n"
        f"  EXECUTE {query} INTO referenced USING OLD.{ref.key};\n"
        "  IF referenced THEN\n"
        f"    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', MESSAGE = {message}, "
        f"CONSTRAINT = {_literal(ref.constraint)}, TABLE = {_literal(ref.target)}, "
        f"DETAIL = format({detail}, OLD.{ref.key});\n"
        "  END IF;\n"
        "  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;\n"
        "  RETURN NEW;\n"
        "END $$")


def _truncate_function(ref: Reference) -> str:
    name = f"{ref.table}_{ref.column}_truncate_guard"
    message = _literal(f'cannot truncate "{ref.target}": table "{ref.table}" refers to it '
                       f'("{ref.constraint}")')
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        f"  IF EXISTS (SELECT 1 FROM {ref.table} WHERE {ref.column} IS NOT NULL) THEN\n"
        f"    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', MESSAGE = {message};\n"
        "  END IF;\n"
        "  RETURN NULL;\n"
        "END $$")


def install_statements(table: str, refs: list[Reference], checked: Sequence[Reference] = ()) -> list[str]:
    """The SQL that replaces the foreign keys ``refs`` of ``table`` by set checks (in this order).

    ``checked`` are the table's references that an earlier migration set-checked already: the check
    function is written again for all of them, its triggers and their guards stay.
    """
    if any(ref.table != table for ref in [*refs, *checked]):
        raise ValueError(f"every reference must be of table {table}")
    out = [f"ALTER TABLE {table} DROP CONSTRAINT {ref.constraint}" for ref in refs]
    out.append(_check_function(table, [*checked, *refs]))
    if not checked:
        for event in ("INSERT", "UPDATE"):
            out.append(f"CREATE TRIGGER {table}_references_{event.lower()} AFTER {event} ON {table} "
                       f"REFERENCING NEW TABLE AS mango_new FOR EACH STATEMENT "
                       f"EXECUTE FUNCTION {table}_check_references()")
    for ref in refs:
        out.append(_guard_function(ref))
        out.append(f"CREATE TRIGGER {ref.table}_{ref.column}_guard BEFORE DELETE OR UPDATE OF {ref.key} "
                   f"ON {ref.target} FOR EACH ROW EXECUTE FUNCTION {ref.table}_{ref.column}_guard()")
        out.append(_truncate_function(ref))
        out.append(f"CREATE TRIGGER {ref.table}_{ref.column}_truncate_guard BEFORE TRUNCATE ON {ref.target} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION {ref.table}_{ref.column}_truncate_guard()")
    return out


def remove_statements(table: str, refs: list[Reference], checked: Sequence[Reference] = ()) -> list[str]:
    """The SQL that puts the foreign keys ``refs`` back (the rows are checked again when they are added);
    ``checked`` stay set checks."""
    out = []
    for ref in refs:
        out.append(f"DROP TRIGGER IF EXISTS {ref.table}_{ref.column}_guard ON {ref.target}")
        out.append(f"DROP TRIGGER IF EXISTS {ref.table}_{ref.column}_truncate_guard ON {ref.target}")
        out.append(f"DROP FUNCTION IF EXISTS {ref.table}_{ref.column}_guard()")
        out.append(f"DROP FUNCTION IF EXISTS {ref.table}_{ref.column}_truncate_guard()")
    if checked:
        out.append(_check_function(table, list(checked)))
    else:
        for event in ("insert", "update"):
            out.append(f"DROP TRIGGER IF EXISTS {table}_references_{event} ON {table}")
        out.append(f"DROP FUNCTION IF EXISTS {table}_check_references()")
    out += [f"ALTER TABLE {table} ADD CONSTRAINT {ref.constraint} FOREIGN KEY ({ref.column}) "
            f"REFERENCES {ref.target} ({ref.key}) ON DELETE RESTRICT" for ref in refs]
    return out


def install(table: str, refs: list[Reference], checked: Sequence[Reference] = ()) -> None:
    """From a migration's ``upgrade()``: set checks on PostgreSQL; other databases keep the foreign keys."""
    from alembic import op

    if op.get_bind().dialect.name == "postgresql":
        for statement in install_statements(table, refs, checked):
            op.execute(statement)


def remove(table: str, refs: list[Reference], checked: Sequence[Reference] = ()) -> None:
    """From ``downgrade()``: the foreign keys again."""
    from alembic import op

    if op.get_bind().dialect.name == "postgresql":
        for statement in remove_statements(table, refs, checked):
            op.execute(statement)
