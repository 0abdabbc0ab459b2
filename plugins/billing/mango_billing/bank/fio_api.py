"""A client of the Fio banka REST API for downloading movements (Fio "API Bankovnictví" v1.7.1, §5.2).

- ``last()``: ``GET {base}/last/{token}/transactions.json`` - movements since the previous download; the bank
  moves its download mark on every answer that holds movements, so the raw body is kept on a parse error
  (:class:`FioStatementError`) for the caller to store or to move the mark back (``set_last_id``).
- ``periods(from, to)``: ``GET {base}/periods/{token}/{from}/{to}/transactions.json``.
- ``set_last_id(id)`` / ``set_last_date(day)``: move the download mark.

Fio allows one request per token every 30 seconds (HTTP 409 otherwise). The client checks that itself
against a :class:`FioRateLimit` the caller passes in and may persist (``to_dict()``): it stores the last
call time per token under a hash of the token, never the token. Too early means :class:`FioTooEarlyError`
(with ``retry_after``), or a sleep when the client was made with ``wait=True``.

The token never appears in log records, exception messages or exception chains (errors are raised
outside the ``except`` block, so ``__context__`` holds no urllib error whose URL carries the token).

Not verified: the base URL. The documentation (2021) gives https://www.fio.cz/ib_api/rest, which is the
default; Fio later published https://fioapi.fio.cz/v1/rest; pass ``base_url`` to choose.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import date

from mango_billing.bank import fio
from mango_billing.bank.statement import BankStatement, StatementError

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://www.fio.cz/ib_api/rest"
MIN_INTERVAL = 30.0  # seconds between two requests with one token (Fio's documented limit)
MAX_BODY = 64 * 1024 * 1024  # 50,000 movements of JSON stay far below this


class FioApiError(Exception):
    """The Fio API could not be used; the message says why (never with the token)."""


class FioTooEarlyError(FioApiError):
    """Fewer than 30 seconds since the last request with this token."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FioStatementError(FioApiError):
    """The API answered, but the body is not a statement we can read; ``body`` keeps it."""

    def __init__(self, message: str, body: bytes) -> None:
        super().__init__(message)
        self.body = body


class FioRateLimit:
    """Last request time per token, keyed by a hash of the token; persist it with :meth:`to_dict`."""

    def __init__(self, last_calls: dict[str, float] | None = None) -> None:
        self._last_calls = dict(last_calls or {})
        self._lock = threading.Lock()

    def last_call(self, key: str) -> float | None:
        with self._lock:
            return self._last_calls.get(key)

    def record(self, key: str, when: float) -> None:
        with self._lock:
            self._last_calls[key] = when

    def to_dict(self) -> dict[str, float]:
        with self._lock:
            return dict(self._last_calls)


def token_key(token: str) -> str:
    """The rate-limit key of a token: a hash, so a persisted limiter holds no secret."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:24]


_STATUS_MESSAGES = {
    404: "the request URL or its parameters are wrong (HTTP 404)",
    413: "too many movements for one download (Fio returns at most 50,000); shorten the period or move "
    "the download mark with set_last_id (HTTP 413)",
    500: "the token does not exist or is not active; check it in Fio internet banking (HTTP 500)",
}


class FioClient:
    """Downloads movements of the one account a token belongs to."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        rate_limit: FioRateLimit | None = None,
        timeout: float = 60.0,
        min_interval: float = MIN_INTERVAL,
        wait: bool = False,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not isinstance(token, str) or not token or not token.isascii() or not token.isalnum():
            raise FioApiError("the Fio API token must be a non-empty string of letters and digits")
        if not base_url.startswith(("https://", "http://")):
            raise FioApiError(f"the Fio API base URL must be http(s), not {base_url!r}")
        self._token = token
        self._key = token_key(token)
        self.base_url = base_url.rstrip("/")
        self.rate_limit = rate_limit if rate_limit is not None else FioRateLimit()
        self.timeout = timeout
        self.min_interval = min_interval
        self.wait = wait
        self._clock = clock
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"FioClient(base_url={self.base_url!r}, token=***)"

    # --- public calls ---------------------------------------------------------------------------

    def last(self) -> BankStatement:
        """Movements since the last download (the bank then moves its mark)."""
        return self._statement(self._get("last/{token}/transactions.json"))

    def periods(self, date_from: date, date_to: date) -> BankStatement:
        """Movements booked from ``date_from`` to ``date_to`` inclusive."""
        if date_from > date_to:
            raise FioApiError(f"the period starts ({date_from}) after it ends ({date_to})")
        return self._statement(
            self._get(f"periods/{{token}}/{date_from.isoformat()}/{date_to.isoformat()}/transactions.json")
        )

    def set_last_id(self, movement_id: int) -> None:
        """Move the download mark: the next ``last()`` returns movements after ``movement_id``."""
        if isinstance(movement_id, bool) or not isinstance(movement_id, int) or movement_id < 0:
            raise FioApiError(f"a movement id is a non-negative integer, not {movement_id!r}")
        self._get(f"set-last-id/{{token}}/{movement_id}/")

    def set_last_date(self, day: date) -> None:
        """Move the download mark: the next ``last()`` returns movements after ``day``."""
        self._get(f"set-last-date/{{token}}/{day.isoformat()}/")

    # --- plumbing -------------------------------------------------------------------------------

    def _statement(self, body: bytes) -> BankStatement:
        try:
            return fio.parse_json(body)
        except StatementError as exc:
            error = FioStatementError(f"the Fio API answered with an unreadable statement: {exc}", body)
        raise error

    def _wait_for_slot(self) -> None:
        now = self._clock()
        last = self.rate_limit.last_call(self._key)
        if last is not None and now - last < self.min_interval:
            remaining = self.min_interval - (now - last)
            if not self.wait:
                raise FioTooEarlyError(
                    f"Fio allows one request per token every {self.min_interval:g} s; "
                    f"try again in {remaining:.0f} s",
                    retry_after=remaining,
                )
            log.info("Fio API: waiting %.1f s for the per-token rate limit", remaining)
            self._sleep(remaining)
            now = self._clock()
        # Recorded before the request: Fio counts the attempt even when it fails.
        self.rate_limit.record(self._key, now)

    def _get(self, path: str) -> bytes:
        self._wait_for_slot()
        shown = f"{self.base_url}/{path.format(token='***')}"
        url = f"{self.base_url}/{path.format(token=self._token)}"
        log.info("Fio API: GET %s", shown)
        request = urllib.request.Request(
            url, headers={"Accept": "application/json", "User-Agent": "Mango billing (mango_billing.bank)"}
        )
        error: FioApiError | None = None
        body = b""
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - http(s) only
                body = response.read(MAX_BODY + 1)
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.close()
            if status == 409:
                self.rate_limit.record(self._key, self._clock())
                error = FioTooEarlyError(
                    f"too early: Fio allows one request per token every {self.min_interval:g} s (HTTP 409)",
                    retry_after=self.min_interval,
                )
            else:
                error = FioApiError(
                    f"Fio API: {_STATUS_MESSAGES.get(status, f'unexpected answer HTTP {status}')}"
                )
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            reason = str(getattr(exc, "reason", exc)).replace(self._token, "***")
            error = FioApiError(f"cannot reach the Fio API at {self.base_url}: {reason}")
        # Raised here, outside the except blocks, so no urllib error (its URL holds the token) is chained.
        if error is not None:
            log.warning("Fio API: GET %s failed: %s", shown, error)
            raise error
        if len(body) > MAX_BODY:
            raise FioApiError(f"the Fio API answer is larger than {MAX_BODY} bytes")
        return body
