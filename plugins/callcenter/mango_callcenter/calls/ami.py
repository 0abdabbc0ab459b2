"""A small Asterisk Manager Interface (AMI) client: log in, listen for calls, report each one.

AMI is a plain TCP line protocol: the server greets with ``Asterisk Call Manager/x.y``, then
messages are ``Key: Value`` lines ended by an empty line. We send ``Action: Login`` and read events;
an incoming call shows as ``Newchannel`` (``CallerIDNum``, ``Exten``, ``Uniqueid``) and, when it
rings an extension, ``Dial``/``DialBegin`` (``CallerIDNum``, ``DestExten`` or ``Dialstring``,
``Uniqueid``). Each is handed to ``on_call(call_id, caller, called)`` — in Mango the same
:func:`mango_callcenter.calls.service.incoming_call` as the webhook (idempotent by call id, so the
two events of one call store it once).

Run it for a location with ``mango callcenter ami --location PRG --host pbx --user mango``
(password from ``MANGO_AMI_SECRET``); it reconnects after a lost connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)
CALL_EVENTS = {"newchannel", "dial", "dialbegin"}


class AmiError(RuntimeError):
    """The server refused the login or spoke something that is not AMI."""


@dataclass(frozen=True)
class AmiCall:
    call_id: str
    caller: str
    called: str


def parse_message(block: str) -> dict[str, str]:
    """One AMI message (its lines without the final empty one) as a dict with lower-case keys."""
    out: dict[str, str] = {}
    for line in block.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip().lower()] = value.strip()
    return out


def call_of(message: dict[str, str]) -> AmiCall | None:
    """The call an event announces, or None (other events, calls with no caller number)."""
    if message.get("event", "").lower() not in CALL_EVENTS:
        return None
    caller = message.get("calleridnum", "")
    call_id = message.get("linkedid") or message.get("uniqueid") or ""
    called = message.get("destexten") or message.get("exten") or message.get("dialstring", "")
    if not caller or caller.lower() in {"<unknown>", "anonymous"} or not call_id:
        return None
    return AmiCall(call_id=call_id, caller=caller, called=called)


class AmiClient:
    """``await AmiClient(host, port, user, secret, on_call).run(stop)``: login, then events until ``stop`` is set."""

    def __init__(self, host: str, port: int, username: str, secret: str, on_call: Callable[[AmiCall], None], *,
                 timeout: float = 10.0):
        self.host, self.port, self.username, self.secret = host, port, username, secret
        self.on_call = on_call
        self.timeout = timeout

    async def _read_message(self, reader: asyncio.StreamReader) -> dict[str, str] | None:
        lines: list[str] = []
        while True:
            raw = await reader.readline()
            if not raw:
                return None  # connection closed
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not line:
                if lines:
                    return parse_message("\n".join(lines))
                continue
            lines.append(line)

    async def _login(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        greeting = await asyncio.wait_for(reader.readline(), self.timeout)
        if not greeting.startswith(b"Asterisk Call Manager"):
            raise AmiError(f"not an AMI server: {greeting[:60]!r}")
        writer.write(f"Action: Login\r\nActionID: mango-login\r\nUsername: {self.username}\r\n"
                     f"Secret: {self.secret}\r\nEvents: call\r\n\r\n".encode())
        await writer.drain()
        while True:
            message = await asyncio.wait_for(self._read_message(reader), self.timeout)
            if message is None:
                raise AmiError("the server closed the connection during login")
            if message.get("actionid") == "mango-login" or "response" in message:
                if message.get("response", "").lower() != "success":
                    raise AmiError(f"login refused: {message.get('message', '')}")
                return

    async def run_once(self, stop: asyncio.Event) -> int:
        """One connection: log in and report calls until the server closes it or ``stop`` is set."""
        reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), self.timeout)
        reported = 0
        try:
            await self._login(reader, writer)
            while not stop.is_set():
                read = asyncio.ensure_future(self._read_message(reader))
                stopped = asyncio.ensure_future(stop.wait())
                done, _ = await asyncio.wait({read, stopped}, return_when=asyncio.FIRST_COMPLETED)
                if read not in done:
                    read.cancel()
                    break
                stopped.cancel()
                message = read.result()
                if message is None:
                    break
                call = call_of(message)
                if call is not None:
                    self.on_call(call)
                    reported += 1
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                log.debug("AMI connection closed uncleanly")
        return reported

    async def run(self, stop: asyncio.Event, *, retry_after: float = 5.0) -> None:
        """Stay connected until ``stop``: a lost connection is opened again after ``retry_after`` seconds."""
        while not stop.is_set():
            try:
                await self.run_once(stop)
            except (TimeoutError, OSError, AmiError) as exc:
                log.warning("AMI %s:%s: %s", self.host, self.port, exc)
            if not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), retry_after)
                except TimeoutError:
                    continue


def store_call(app, location_id: int) -> Callable[[AmiCall], None]:  # noqa: ANN001
    """``on_call`` that stores each call in the location in its own transaction (as the webhook does)."""
    from mango_callcenter.calls.models import AMI
    from mango_callcenter.calls.service import incoming_call
    from mango_core.tenancy import location_scope
    from mango_core.tenancy.validators import InvalidValue

    def on_call(call: AmiCall) -> None:
        with app.app_context(), location_scope(location_id), app.extensions["mango"].db.session() as session:
            try:
                incoming_call(session, call_id=call.call_id, caller=call.caller, called=call.called, source=AMI)
                session.commit()
            except InvalidValue as exc:
                session.rollback()
                log.warning("AMI call %s not stored: %s", call.call_id, exc)

    return on_call
