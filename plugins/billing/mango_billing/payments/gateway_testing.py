"""Test helpers of online card payments (import from tests only): the gateway simulator as a real
subprocess, and the application served over real HTTP in a thread so that the simulator's
notifications reach it.

The in-process server is single-threaded on purpose: the test's database connection (every test runs
in one rolled-back transaction, see :mod:`mango_core.testing.fixtures`) serves its requests one at a
time, while the test waits for the simulator that sends them.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from flask import Flask
from werkzeug.serving import make_server

from mango_core.testing.live import ReadyProcess

MERCHANT, SECRET = "123456", "gx4q8OV3TJt6noJnfhjqJKyX3Z6Ych0y"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401
        return None


class Simulator(ReadyProcess):
    """``python -m mango_billing.payments.gateway_sim`` on a free loopback port."""

    def __init__(self, *args: str, merchant: str = MERCHANT, secret: str = SECRET) -> None:
        super().__init__("mango_billing.payments.gateway_sim", "--merchant", merchant, "--secret", secret, *args)
        self.base = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.base}/v1.0/"
        self._opener = urllib.request.build_opener(_NoRedirect)

    def _post(self, path: str, fields: dict[str, str] | None = None, query: dict[str, str] | None = None
              ) -> tuple[int, str, dict[str, str]]:
        url = self.base + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
        request = urllib.request.Request(url, data=urllib.parse.urlencode(fields or {}).encode(), method="POST")
        try:
            with self._opener.open(request, timeout=60) as response:
                return response.status, response.read().decode(), dict(response.headers)
        except urllib.error.HTTPError as exc:
            body = exc.read().decode()
            exc.close()
            return exc.code, body, dict(exc.headers)

    def configure(self, **fields: str) -> None:
        status, body, _headers = self._post("/_sim/config", fields)
        assert status == 200, body

    def payer(self, trans_id: str, action: str) -> str:
        """What the payer's browser does on the gateway's page: press a button; the return URL it is sent to."""
        status, body, headers = self._post("/client/pay", {"id": trans_id, "action": action})
        assert status == 302, f"the simulator answered {status}: {body}"
        return headers["Location"]

    def deliver(self, trans_id: str | None = None) -> dict[str, list[int]]:
        """Send the held notifications (``--notify manual``); the app's HTTP answers per transaction."""
        status, body, _headers = self._post("/_sim/deliver", query={"id": trans_id} if trans_id else None)
        assert status == 200, body
        return json.loads(body)

    def state(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.base}/_sim/transactions", timeout=30) as response:  # noqa: S310
            return json.loads(response.read())


class AppServer:
    """The Flask application on a free loopback port, in a daemon thread (one request at a time)."""

    def __init__(self, app: Flask) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=False)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="mango-test-server", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
