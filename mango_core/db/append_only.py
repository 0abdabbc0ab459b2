"""Append-only tables: the database itself refuses UPDATE and DELETE.

Used by migrations for audit logs and ledgers, so that not even a bug or a hand-written SQL
statement can rewrite history. Works on SQLite and PostgreSQL.
"""

from __future__ import annotations

from alembic import op


class AppendOnlyError(RuntimeError):
    pass


def create(table: str) -> None:
    """Call from a migration's ``upgrade()`` after the table exists."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_append_only_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION mango_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION mango_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION mango_refuse_change()"
        )
    else:
        raise AppendOnlyError(f"append-only triggers are not written for {dialect}")


def drop(table: str) -> None:
    """Call from ``downgrade()`` before the table is dropped."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only_{action}")
    elif dialect == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only_truncate ON {table}")


# --- the one controlled exception: erasing personal values (GDPR) --------------------------------
#
# An erasure request must really erase personal data, and an append-only table would keep them for
# ever. So a table may allow exactly one kind of UPDATE: every column stays as it was except the
# ``redactable`` ones, each of which becomes ``marker`` (NULL stays NULL), and ``stamp`` goes from
# NULL to a value accepted by ``owner_condition`` (an SQL condition over OLD/NEW, e.g. "the row's
# customer was anonymised at exactly this time"). Anything else (another column, another value,
# a second redaction, a row whose owner was not erased) is refused as before; DELETE and TRUNCATE
# stay refused. PostgreSQL compares the whole row (``to_jsonb``), so a column added later is
# frozen too; SQLite compares the ``frozen`` columns named by the migration (a migration that adds
# a column to such a table recreates the guard).

_REDACTION_REFUSED = "is append-only (only the erasure of personal values of an anonymised customer is allowed)"


def _sqlite_redaction_condition(frozen: list[str], redactable: list[str], stamp: str, marker: str,
                                owner_condition: str) -> str:
    quoted = marker.replace("'", "''")
    parts = [f"OLD.{stamp} IS NULL", f"NEW.{stamp} IS NOT NULL"]
    parts += [f"NEW.{col} IS OLD.{col}" for col in frozen]
    parts += [f"NEW.{col} IS (CASE WHEN OLD.{col} IS NULL THEN NULL ELSE '{quoted}' END)" for col in redactable]
    parts.append(f"({owner_condition})")
    return " AND ".join(parts)


def allow_redaction(table: str, *, frozen: list[str], redactable: list[str], stamp: str, marker: str,
                    owner_condition: str) -> None:
    """Replace the UPDATE refusal of ``table`` (made by :func:`create`) by the redaction guard."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        condition = _sqlite_redaction_condition(frozen, redactable, stamp, marker, owner_condition)
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only_update")
        # coalesce: a NULL condition must refuse, not let the UPDATE through
        op.execute(
            f"CREATE TRIGGER {table}_append_only_update BEFORE UPDATE ON {table} "
            f"WHEN NOT coalesce(({condition}), 0) "
            f"BEGIN SELECT RAISE(ABORT, '{table} {_REDACTION_REFUSED}'); END"
        )
    elif dialect == "postgresql":
        quoted = marker.replace("'", "''")
        ignored = " - ".join(f"'{col}'" for col in (*redactable, stamp))
        checks = " AND ".join(
            f"NEW.{col} IS NOT DISTINCT FROM (CASE WHEN OLD.{col} IS NULL THEN NULL ELSE '{quoted}' END)"
            for col in redactable
        )
        op.execute(
            f"CREATE OR REPLACE FUNCTION {table}_redaction_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN IF OLD.{stamp} IS NULL AND NEW.{stamp} IS NOT NULL "
            f"AND (to_jsonb(NEW) - {ignored}) = (to_jsonb(OLD) - {ignored}) AND {checks} "
            f"AND ({owner_condition}) THEN RETURN NEW; END IF; "
            f"RAISE EXCEPTION '% {_REDACTION_REFUSED}', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; "
            "END $$"
        )
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION mango_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_redaction_only BEFORE UPDATE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_redaction_only()"
        )
    else:
        raise AppendOnlyError(f"append-only triggers are not written for {dialect}")


def refuse_redaction(table: str) -> None:
    """Undo :func:`allow_redaction`: every UPDATE is refused again (``downgrade()``)."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only_update")
        op.execute(
            f"CREATE TRIGGER {table}_append_only_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        )
    elif dialect == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_redaction_only ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_redaction_only()")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION mango_refuse_change()"
        )
