"""The driver of a register's card terminal, with the timeouts of the ``ixpos`` settings."""

from __future__ import annotations

from typing import Any

from mango_ixpos.cashdesk.models import CashRegister
from mango_ixpos.terminal.driver import TerminalDriver, TerminalUnavailable
from mango_ixpos.terminal.tcp import TcpTerminal

DEFAULTS: dict[str, Any] = {
    "terminal_connect_timeout": 3.0,  # seconds to reach the terminal
    "terminal_ack_timeout": 2.0,      # seconds for the terminal to acknowledge a request
    "terminal_result_timeout": 90.0,  # seconds for the card holder to finish (PIN, contactless)
    "terminal_status_timeout": 5.0,   # seconds for STATUS and LAST answers
}


def settings() -> dict[str, Any]:
    from flask import current_app, has_app_context

    if not has_app_context():
        return dict(DEFAULTS)
    return {**DEFAULTS, **current_app.extensions["mango"].plugin_settings("ixpos")}


def driver_for(register: CashRegister, values: dict[str, Any] | None = None) -> TerminalDriver:
    if not register.terminal_host or not register.terminal_port:
        raise TerminalUnavailable(f"cash register {register.name!r} has no card terminal")
    values = values or settings()
    return TcpTerminal(register.terminal_host, register.terminal_port,
                       connect_timeout=float(values["terminal_connect_timeout"]),
                       ack_timeout=float(values["terminal_ack_timeout"]),
                       result_timeout=float(values["terminal_result_timeout"]),
                       status_timeout=float(values["terminal_status_timeout"]))
