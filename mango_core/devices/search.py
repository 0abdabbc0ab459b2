"""Finding devices: list filters (type, site, state), one search box and keyset pagination.

The search box finds a device by its name (any part, without diacritics), serial number (any
part), MAC address (whole, or a part in any notation: ``4d:5e``, ``4D-5E``) and management IP
(whole, or the beginning: ``10.0.1.``). Pages are cut by keyset on ``(sort_name, id)``, never by
OFFSET, so the 500th page costs what the first does.

:func:`lookup` is the picker's search (linking a device to a service, …): the same box, plus the
beginning of any parameter value (an IP address, a VLAN, a port entered as a device parameter),
a bare number also finds the device of that id, and at most a handful of rows come back.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, String, and_, cast, func, or_, select
from sqlalchemy.orm import Session, selectinload

from mango_core.devices import types as dtypes
from mango_core.devices.models import STATES, Device

PAGE_SIZE = 50
LOOKUP_LIMIT = 20
MAX_QUERY = 200
_HEX_PART = re.compile(r"[0-9a-f]{2}(?:[:\-.]?[0-9a-f]{2})*")
_IP_PREFIX = re.compile(r"[0-9]{1,3}(?:\.[0-9]{0,3}){1,3}|[0-9a-f:]*:[0-9a-f:]*")


def fold(text: str | None) -> str:
    """Lower case without diacritics: ``"Přepínač Kladno"`` -> ``"prepinac kladno"``."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower().strip()


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class Filters:
    query: str = ""
    type_key: str | None = None
    site_id: int | None = None
    state: str | None = None


@dataclass
class Page:
    items: list[Device]
    next_cursor: str | None


def _mac_fragment(text: str) -> str | None:
    """A MAC address or a part of one as stored (``00:1a:…``), or None if it cannot be one."""
    lowered = text.lower()
    if not _HEX_PART.fullmatch(lowered):
        return None
    digits = re.sub(r"[^0-9a-f]", "", lowered)
    if len(digits) < 4 or len(digits) % 2 or len(digits) > 12:
        return None
    return ":".join(digits[i:i + 2] for i in range(0, len(digits), 2))


def search_condition(query: str) -> Any:
    """The WHERE clause of the search box (None for an empty query)."""
    text = (query or "").strip()[:MAX_QUERY]
    if not text:
        return None
    folded = _like(fold(text))
    conditions = [
        Device.sort_name.like(f"%{folded}%", escape="\\"),
        func.lower(Device.serial_number).like(f"%{_like(text.lower())}%", escape="\\"),
    ]
    mac = _mac_fragment(text)
    if mac is not None:
        conditions.append(Device.mac == mac if len(mac) == 17 else Device.mac.like(f"%{mac}%", escape="\\"))
    try:
        conditions.append(Device.management_ip == ipaddress.ip_address(text).compressed)
    except ValueError:
        if _IP_PREFIX.fullmatch(text.lower()):
            conditions.append(Device.management_ip.like(f"{_like(text.lower())}%", escape="\\"))
    return or_(*conditions)


def filtered(filters: Filters) -> Select:
    stmt = select(Device)
    condition = search_condition(filters.query)
    if condition is not None:
        stmt = stmt.where(condition)
    parsed = dtypes.parse_key(filters.type_key)
    if parsed is not None:
        kind, ident = parsed
        stmt = stmt.where(Device.type_id == ident if kind == "ui" else Device.type_code == ident)
    if filters.site_id is not None:
        stmt = stmt.where(Device.site_id == filters.site_id)
    if filters.state in STATES:
        stmt = stmt.where(Device.state == filters.state)
    return stmt


def encode_cursor(device: Device) -> str:
    raw = json.dumps([device.sort_name, device.id], ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[str, int] | None:
    """The last row of the previous page; None for a missing or garbled cursor (the first page)."""
    if not cursor or len(cursor) > 1000:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    if (isinstance(values, list) and len(values) == 2 and isinstance(values[0], str)
            and isinstance(values[1], int) and not isinstance(values[1], bool)):
        return values[0], values[1]
    return None


def list_devices(session: Session, filters: Filters, *, after: str | None = None,
                 page_size: int = PAGE_SIZE) -> Page:
    """One page of devices by name; ``next_cursor`` continues after its last row (None at the end)."""
    stmt = filtered(filters)
    last = decode_cursor(after)
    if last is not None:
        name, last_id = last
        stmt = stmt.where(or_(Device.sort_name > name, and_(Device.sort_name == name, Device.id > last_id)))
    stmt = stmt.options(selectinload(Device.site), selectinload(Device.device_type), selectinload(Device.parent))
    rows = list(session.scalars(stmt.order_by(Device.sort_name, Device.id).limit(page_size + 1)))
    more = len(rows) > page_size
    rows = rows[:page_size]
    return Page(rows, encode_cursor(rows[-1]) if more and rows else None)


def _param_condition(text: str) -> Any:
    """A parameter value that begins with ``text`` (the stored JSON text: ``"key": "value"``).

    The values are matched in the JSON text that both databases keep as written (``json.dumps``
    with its ``": "`` separator), so a string value is found by ``: "text`` and a number by
    ``: text``. Only ASCII text is looked for (JSON may escape the rest).
    """
    if len(text) < 2 or not text.isascii() or '"' in text or "\\" in text:
        return None
    blob = func.lower(cast(Device.params, String))
    escaped = _like(text.lower())
    return or_(blob.like(f'%: "{escaped}%', escape="\\"), blob.like(f"%: {escaped}%", escape="\\"))


def lookup(session: Session, query: str, *, limit: int = LOOKUP_LIMIT) -> tuple[list[Device], bool]:
    """Devices of the current location for a picker, by name; and whether there are more than ``limit``."""
    text = (query or "").strip()[:MAX_QUERY]
    condition = search_condition(text)
    if condition is None:
        return [], False
    extra = [c for c in (_param_condition(text),) if c is not None]
    if text.isdigit() and len(text) < 12:
        extra.append(Device.id == int(text))
    stmt = (select(Device).where(or_(condition, *extra))
            .options(selectinload(Device.site), selectinload(Device.device_type))
            .order_by(Device.sort_name, Device.id).limit(limit + 1))
    rows = list(session.scalars(stmt))
    return rows[:limit], len(rows) > limit
