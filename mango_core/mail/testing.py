"""A real SMTP server (aiosmtpd) on 127.0.0.1 for tests of mail (core and plugins).

aiosmtpd is a test dependency (the root ``test`` extra); import this module from tests only.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from mango_core.mail.smtp import MailSettings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Recorder:
    """Keeps what the server accepted; refuses recipients at unknown.test and subjects with REJECT."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201, N802
        if address.endswith("@unknown.test"):
            return "550 5.1.1 No such user here"
        if address.endswith("@busy.test"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        if "REJECT" in str(parsed["Subject"]):
            return "550 5.7.1 Message content rejected"
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.recorder = Recorder()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[tuple[list[str], EmailMessage]]:
        return self.recorder.messages

    def settings(self, **overrides) -> MailSettings:  # noqa: ANN003
        values = {"host": "127.0.0.1", "port": self.port, "security": "none", "from_address": "billing@alfa.test",
                  "timeout": 5, "max_attempts": 4}
        return MailSettings.from_section({**values, **overrides})


@contextmanager
def running_smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()
