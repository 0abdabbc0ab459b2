"""Login credentials of managed devices, stored encrypted (:mod:`mango_isp.queue.secrets`).

The NETCONF driver reads them with :func:`login_of`; pages show the user name and
:func:`mango_isp.queue.secrets.mask` only.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_isp.queue import secrets
from mango_isp.queue.models import DeviceCredential


def credential_of(session: Session, device_id: int) -> DeviceCredential | None:
    return session.scalar(select(DeviceCredential).where(DeviceCredential.device_id == device_id))


def set_login(session: Session, device_id: int, username: str, password: str) -> DeviceCredential:
    """Store (or replace) a device's login; the password is encrypted before it reaches the session."""
    row = credential_of(session, device_id) or DeviceCredential(device_id=device_id)
    row.username = str(username or "").strip()[:100]
    row.secret = secrets.encrypt(password) if password else ""
    session.add(row)
    session.flush()
    return row


def login_of(session: Session, device_id: int) -> tuple[str, str] | None:
    """``(username, password)`` in plain text for a driver, or None when none is stored."""
    row = credential_of(session, device_id)
    if row is None:
        return None
    return row.username, secrets.decrypt(row.secret) if row.secret else ""
