"""Per-request state: the database session and the current location."""

from __future__ import annotations

from flask import g, has_request_context, request
from sqlalchemy.orm import Session

from mango_core.kernel import current_mango


def db() -> Session:
    """The request's database session (opened on first use, closed at teardown)."""
    if "db_session" not in g:
        g.db_session = current_mango().db.session()
    return g.db_session


def close_db(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def current_location_id() -> int | None:
    return g.get("location_id") if has_request_context() else None


def client_ip() -> str | None:
    # Behind a reverse proxy, ProxyFix (enabled by `proxy_fix_hops`) sets remote_addr.
    return request.remote_addr if has_request_context() else None


def user_agent() -> str | None:
    return request.headers.get("User-Agent", "")[:300] if has_request_context() else None
