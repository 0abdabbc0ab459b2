"""Billing run speed: the references of invoices, their lines and ledger entries checked per statement.

A billing run of 100,000 customers writes 100,000 invoices, about 150,000 lines and 100,000 ledger
entries, and PostgreSQL checked each of their foreign keys with one query per row — and locked each
referenced customer, service and invoice ``FOR KEY SHARE``, which writes every customer and service
row once more. Measured with ``perf`` on this project's 2-core machine: those checks were nearly half
of the database's work in a billing run. As billing_0008 did for payments, they become set checks
(:mod:`mango_core.db.set_references`): the same rules, checked once per ``COPY``. Invoices and their
lines are append-only, so only their insert side ever runs. SQLite keeps its foreign keys.

Also dropped: the single-column ``location_id`` indexes of invoices and lines (as billing_0004 did for
payments and the ledger). Every other index of the invoice table starts with ``location_id``, and so
does ``ix_billing_invoice_line_service``: a query by location alone, and the check when a location is
deleted, use those.

Revision ID: billing_0009
Revises: billing_0008
Create Date: 2026-11-28 06:00:00

"""
from collections.abc import Sequence

from alembic import op

from mango_core.db.set_references import Reference, install, remove

revision: str = 'billing_0009'
down_revision: str | Sequence[str] | None = 'billing_0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INVOICE = [Reference('billing_invoice', 'location_id', 'core_location'),
           Reference('billing_invoice', 'customer_id', 'core_customer'),
           Reference('billing_invoice', 'series_id', 'billing_series'),
           Reference('billing_invoice', 'run_id', 'billing_run')]
LINE = [Reference('billing_invoice_line', 'invoice_id', 'billing_invoice'),
        Reference('billing_invoice_line', 'location_id', 'core_location'),
        Reference('billing_invoice_line', 'product_id', 'core_product'),
        Reference('billing_invoice_line', 'service_id', 'core_service')]
# billing_0008 set-checked the ledger's location, customer and payment already
LEDGER_0008 = [Reference('billing_ledger', 'location_id', 'core_location'),
               Reference('billing_ledger', 'customer_id', 'core_customer'),
               Reference('billing_ledger', 'payment_id', 'billing_payment')]
LEDGER = [Reference('billing_ledger', 'invoice_id', 'billing_invoice'),
          Reference('billing_ledger', 'service_id', 'core_service')]


def upgrade() -> None:
    with op.batch_alter_table('billing_invoice', schema=None, recreate='never') as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_invoice_location_id'))
    with op.batch_alter_table('billing_invoice_line', schema=None, recreate='never') as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_invoice_line_location_id'))
    install('billing_invoice', INVOICE)
    install('billing_invoice_line', LINE)
    install('billing_ledger', LEDGER, checked=LEDGER_0008)


def downgrade() -> None:
    remove('billing_ledger', LEDGER, checked=LEDGER_0008)
    remove('billing_invoice_line', LINE)
    remove('billing_invoice', INVOICE)
    with op.batch_alter_table('billing_invoice_line', schema=None, recreate='never') as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_invoice_line_location_id'), ['location_id'], unique=False)
    with op.batch_alter_table('billing_invoice', schema=None, recreate='never') as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_invoice_location_id'), ['location_id'], unique=False)
