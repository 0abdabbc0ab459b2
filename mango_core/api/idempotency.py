"""``Idempotency-Key`` on POST: the same key replays the first answer; another request with it is refused.

Keys belong to a token and a location and live 24 hours. The key's row is inserted before the
work, in the same transaction, and completed with the answer before the commit:

* a retry after the commit finds the row and gets the stored answer (status, body, Location),
  marked ``Idempotent-Replayed: true``;
* a concurrent duplicate waits on the unique constraint (PostgreSQL) or the write lock (SQLite)
  until the first commits, then replays it;
* a refused request (4xx) or a failure rolls back the row with the work, so the key may be
  used again — nothing was done under it;
* the same key with another method, path or body answers 422 (type ``idempotency-key-reused``).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta
from typing import Any

from flask import Response
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mango_core.api.models import ApiIdempotencyKey
from mango_core.api.problems import IDEMPOTENCY_MISMATCH, ApiProblem
from mango_core.db import utcnow
from mango_core.tenancy.validators import N_

HEADER = "Idempotency-Key"
KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")
KEEP = timedelta(hours=24)


def parse_key(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not KEY_RE.fullmatch(raw):
        raise ApiProblem(400, N_("An Idempotency-Key is 1 to 255 visible ASCII characters."))
    return raw


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _find(session: Session, token_id: int, key: str) -> ApiIdempotencyKey | None:
    return session.scalar(select(ApiIdempotencyKey).where(ApiIdempotencyKey.token_id == token_id,
                                                          ApiIdempotencyKey.key == key))


def replay(row: ApiIdempotencyKey, print_: str) -> Response:
    if row.fingerprint != print_:
        raise ApiProblem(422, N_("This Idempotency-Key was used for another request; use a new key."),
                         kind=IDEMPOTENCY_MISMATCH)
    response = Response(row.body, status=row.status, mimetype="application/json")
    if row.location_header:
        response.headers["Location"] = row.location_header
    response.headers["Idempotent-Replayed"] = "true"
    return response


def claim(session: Session, token_id: int, key: str, print_: str, now: datetime | None = None
          ) -> tuple[ApiIdempotencyKey | None, Response | None]:
    """Take the key for this request (the row to complete), or the stored answer to replay.

    Runs in the write location's scope (the row is tenant-owned), before the request has read
    anything it will act on: the claim commits what came before and starts its transaction with
    the INSERT, so a duplicate waits for the first request's commit (PostgreSQL: on the unique
    index; SQLite: on the write lock, which a transaction that has read nothing yet may wait for)
    and then sees its row.
    """
    now = now or utcnow()
    session.commit()
    row = ApiIdempotencyKey(token_id=token_id, key=key, fingerprint=print_, status=0, body="", created_at=now)
    for _attempt in range(2):
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:
            existing = _find(session, token_id, key)
            if existing is None:
                raise
            if existing.created_at >= now - KEEP:
                return None, replay(existing, print_)
            session.delete(existing)  # past its 24 hours: the key is free again
            session.flush()
            row = ApiIdempotencyKey(token_id=token_id, key=key, fingerprint=print_, status=0, body="",
                                    created_at=now)
        else:
            return row, None
    raise RuntimeError("the idempotency key could not be claimed")


def complete(row: ApiIdempotencyKey, response: Response) -> None:
    """Store the answer with the work (same transaction)."""
    row.status = response.status_code
    row.body = response.get_data(as_text=True)
    row.location_header = response.headers.get("Location")


def purge(session: Session, now: datetime | None = None) -> int:
    """Forget keys older than 24 hours (in the scope's location); returns how many."""
    cutoff = (now or utcnow()) - KEEP
    result = session.execute(delete(ApiIdempotencyKey).where(ApiIdempotencyKey.created_at < cutoff)
                             .execution_options(synchronize_session=False))
    return result.rowcount or 0
