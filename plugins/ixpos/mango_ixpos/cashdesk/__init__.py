"""cash sessions, payments, receipts, closing reports."""
