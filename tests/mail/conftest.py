"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the mail tests."""

from __future__ import annotations

import pytest

from mango_core.mail.testing import running_smtp_server


@pytest.fixture
def smtp_server():  # noqa: ANN201
    with running_smtp_server() as server:
        yield server
