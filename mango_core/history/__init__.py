"""The append-only history of key changes of customers and services (who, when, what, why)."""

from mango_core.history.recorder import record, redact

__all__ = ["record", "redact"]
