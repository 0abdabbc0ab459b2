"""The set checks of payments and ledger entries probe the referenced keys' index.

billing_0008's check let the planner hash the whole referenced table when a statement referred to
many rows: the ledger rows of a 50,000-line import were checked against every payment ever imported
(0.3 s with 200,000 payments, growing with the table). The check function is written again as
:mod:`mango_core.db.set_references` now writes it: a single referenced value is one index probe,
several are probed one by one, whatever the table's size. The rules and errors do not change, so
the downgrade keeps the new function.

Revision ID: billing_0009
Revises: billing_0008
Create Date: 2026-11-28 02:20:00

"""
from collections.abc import Sequence

from mango_core.db.set_references import Reference, refresh

revision: str = 'billing_0009'
down_revision: str | Sequence[str] | None = 'billing_0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# billing_0008's set checks (a migration keeps its own copy of what it touches)
PAYMENT = [Reference('billing_payment', 'location_id', 'core_location'),
           Reference('billing_payment', 'customer_id', 'core_customer'),
           Reference('billing_payment', 'statement_id', 'billing_statement_file'),
           Reference('billing_payment', 'bank_account_id', 'core_bank_account')]
LEDGER = [Reference('billing_ledger', 'location_id', 'core_location'),
          Reference('billing_ledger', 'customer_id', 'core_customer'),
          Reference('billing_ledger', 'payment_id', 'billing_payment')]


def upgrade() -> None:
    refresh('billing_payment', PAYMENT)
    refresh('billing_ledger', LEDGER)


def downgrade() -> None:
    pass
