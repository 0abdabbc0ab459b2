"""Database layer: declarative base, types, engine and sessions."""

from mango_core.db.base import Base, PartnerMixin, TenantMixin, TimestampMixin
from mango_core.db.session import Database
from mango_core.db.types import Money, UTCDateTime, utcnow

__all__ = ["Base", "Database", "Money", "PartnerMixin", "TenantMixin", "TimestampMixin", "UTCDateTime", "utcnow"]
