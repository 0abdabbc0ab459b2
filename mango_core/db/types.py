"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import BigInteger, DateTime, Numeric
from sqlalchemy.types import TypeDecorator


class InexactMoneyError(ValueError):
    """A money value has more decimal places than its column keeps."""


class Money(TypeDecorator[Decimal]):
    """An exact decimal amount with a fixed number of decimal places.

    PostgreSQL stores ``NUMERIC(precision, scale)``. SQLite has no exact decimal type (SQLAlchemy's
    Numeric goes through float there), so the value is stored as an integer count of
    ``10**-scale`` units; ``SUM`` stays exact. A value that does not fit the scale is refused,
    never rounded silently: rounding happens explicitly in the business code (ROUND_HALF_UP).
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, scale: int = 2, precision: int = 18):
        super().__init__()
        self.scale = scale
        self.precision = precision
        self._quantum = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect):  # noqa: ANN001
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def _exact(self, value: Any) -> Decimal:
        if isinstance(value, float):
            raise TypeError("Money refuses float values; use decimal.Decimal")
        try:
            amount = Decimal(value)
        except (InvalidOperation, TypeError) as exc:
            raise InexactMoneyError(f"not a decimal amount: {value!r}") from exc
        if not amount.is_finite():
            raise InexactMoneyError(f"not a finite amount: {value!r}")
        quantized = amount.quantize(self._quantum)
        if quantized != amount:
            raise InexactMoneyError(f"{amount} has more than {self.scale} decimal places; round it first")
        return quantized

    def process_bind_param(self, value: Any, dialect) -> Any:  # noqa: ANN001
        if value is None:
            return None
        amount = self._exact(value)
        if dialect.name == "sqlite":
            return int(amount.scaleb(self.scale))
        return amount

    def process_result_value(self, value: Any, dialect) -> Decimal | None:  # noqa: ANN001
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-self.scale).quantize(self._quantum)
        return Decimal(value).quantize(self._quantum)

    def __repr__(self) -> str:
        return f"Money(scale={self.scale}, precision={self.precision})"


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time, always timezone-aware UTC in Python (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs a timezone-aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:  # noqa: ANN001
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def __repr__(self) -> str:
        return "UTCDateTime()"


def utcnow() -> datetime:
    return datetime.now(UTC)
