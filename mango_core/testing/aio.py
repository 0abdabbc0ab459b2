"""Running a coroutine from a test, whatever else runs in the main thread.

The browser tests' Playwright keeps an event loop running in the main thread for the rest of the
run, and ``asyncio.run`` refuses to start inside a running loop: a test that drives asyncio code
(an AMI client, a fake server) runs it in a thread of its own, through :func:`run`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)`` in a new thread; its result, or its exception raised here."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread below
            box["error"] = exc

    thread = threading.Thread(target=target, name="mango-test-asyncio", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]
