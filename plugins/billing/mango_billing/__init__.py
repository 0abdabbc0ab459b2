"""Mango billing: the money core (plans, invoices, ledger, payments, bank import, dunning)."""
