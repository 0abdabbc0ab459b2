"""Usage billing of VoIP services: CDR import and rating by prefix price lists (no database here)."""

from mango_billing.usage.cdr import CallRecord, CdrError, ColumnMapping, parse_asterisk_csv, parse_csv
from mango_billing.usage.pricelist import PriceList, PriceRow, RatingError, Rounding, TimeBands
from mango_billing.usage.rating import FreeAllowance, RatedCall, RatingResult, rate_calls

__all__ = [
    "CallRecord", "CdrError", "ColumnMapping", "FreeAllowance", "PriceList", "PriceRow", "RatedCall",
    "RatingError", "RatingResult", "Rounding", "TimeBands", "parse_asterisk_csv", "parse_csv", "rate_calls",
]
