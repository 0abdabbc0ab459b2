"""Moments typed by people (forms, the command line) and shown back to them.

A time without a zone is local time of the given zone (the UI's, or the operator's for the
command line); one with an offset or ``Z`` is taken as written. Stored and compared in UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from typing import Any

from mango_core.tenancy.validators import N_, InvalidValue

_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


class MomentError(InvalidValue):
    default_message = N_("Enter a date and time, e.g. 2025-03-01 14:30.")


def parse_moment(value: Any, zone: tzinfo, field: str = "at") -> datetime:
    """An aware UTC datetime from ``2025-03-01 14:30``, ``2025-03-01T14:30:05+01:00``, ``…Z`` or a date."""
    text = str(value or "").strip()
    if not text or len(text) > 40:
        raise MomentError(field=field)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text.replace(" ", "T", 1) if not _DATE_ONLY.fullmatch(text) else text)
    except ValueError:
        raise MomentError(field=field) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def local_text(moment: datetime | None, zone: tzinfo) -> str:
    """``2025-03-01 14:30`` in ``zone`` (for a form field)."""
    if moment is None:
        return ""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")
