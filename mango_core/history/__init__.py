"""The append-only history of key changes of customers and services (who, when, what, why)."""

from mango_core.history.recorder import record

__all__ = ["record"]
