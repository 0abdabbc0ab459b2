"""Payments: manual payments, bank statement import with matching, pairing, SIPO and Fio download.

Public entry points: :func:`mango_billing.payments.importer.import_statement`,
:mod:`mango_billing.payments.service` (manual payments, pairing, refunds) and
:mod:`mango_billing.payments.sipo`.
"""
