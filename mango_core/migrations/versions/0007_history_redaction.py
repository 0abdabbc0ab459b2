"""GDPR erasure in the history: ``core_history.redacted_at`` and the redaction-only UPDATE guard.

The history stays append-only (DELETE and TRUNCATE refused, every UPDATE refused) except for one
UPDATE: the personal ``before``/``after`` values of an anonymised customer's rows become the fixed
marker ``[redacted]`` and ``redacted_at`` goes from NULL to the customer's ``anonymised_at``.
Everything else of the row (id, location, times, author, entity, customer, action, field, reason)
must stay as it was, and the row's customer must have been anonymised at that very time, so no
other customer's rows and no other column can be changed through it (see
:func:`mango_core.db.append_only.allow_redaction`).

Revision ID: core_0007
Revises: core_0006
Create Date: 2026-11-27 12:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mango_core.db.types
from mango_core.db import append_only

revision: str = 'core_0007'
down_revision: str | Sequence[str] | None = 'core_0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here on purpose: the trigger must not change when the Python code does.
MARKER = "[redacted]"
FROZEN = ["id", "location_id", "at", "effective_date", "user_id", "entity", "entity_id", "customer_id",
          "action", "field", "reason"]
OWNER = ("OLD.customer_id IS NOT NULL AND EXISTS (SELECT 1 FROM core_customer c WHERE c.id = OLD.customer_id "
         "AND c.anonymised_at IS NOT NULL AND c.anonymised_at = NEW.redacted_at)")


def upgrade() -> None:
    with op.batch_alter_table('core_history', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('redacted_at', mango_core.db.types.UTCDateTime(), nullable=True))
    append_only.allow_redaction("core_history", frozen=FROZEN, redactable=["before", "after"], stamp="redacted_at",
                                marker=MARKER, owner_condition=OWNER)


def downgrade() -> None:
    append_only.refuse_redaction("core_history")
    with op.batch_alter_table('core_history', schema=None) as batch_op:
        batch_op.drop_column('redacted_at')
    # dropping the column on SQLite recreates the table, and the table's triggers with it
    if op.get_bind().dialect.name == "sqlite":
        append_only.drop("core_history")
        append_only.create("core_history")
