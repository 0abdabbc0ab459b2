"""The Asterisk AMI client against a tiny fake AMI server (plain TCP on 127.0.0.1): login, a refused
login, Newchannel and Dial of one call stored once through the same service as the webhook,
events that are no calls ignored, and the message parser."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from mango_callcenter.calls.ami import AmiCall, AmiClient, AmiError, call_of, parse_message, store_call
from mango_callcenter.calls.models import Call
from mango_core.tenancy import location_scope
from mango_core.testing.aio import run as run_async

EVENTS = [
    "Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n",
    "Event: Newchannel\r\nChannel: SIP/trunk-00000001\r\nCallerIDNum: 00420777123456\r\nExten: 800100200\r\n"
    "Uniqueid: 1700000000.11\r\nLinkedid: 1700000000.11\r\n\r\n",
    "Event: DialBegin\r\nCallerIDNum: 00420777123456\r\nDestExten: 201\r\nUniqueid: 1700000000.11\r\n"
    "Linkedid: 1700000000.11\r\n\r\n",
    "Event: Newchannel\r\nCallerIDNum: <unknown>\r\nUniqueid: 1700000000.12\r\n\r\n",
    "Event: Newchannel\r\nCallerIDNum: 602000111\r\nExten: 800100200\r\nUniqueid: 1700000000.13\r\n\r\n",
]


class FakeAmi:
    """Greets, checks the login, sends the events, then closes (or stays open until the client leaves)."""

    def __init__(self, secret: str = "s3cret", *, keep_open: bool = False):
        self.secret, self.keep_open = secret, keep_open
        self.logins: list[dict[str, str]] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"Asterisk Call Manager/5.0.1\r\n")
        await writer.drain()
        lines = []
        while True:
            line = (await reader.readline()).decode().rstrip("\r\n")
            if not line:
                break
            lines.append(line)
        login = parse_message("\n".join(lines))
        self.logins.append(login)
        if login.get("action", "").lower() != "login" or login.get("secret") != self.secret:
            writer.write(f"Response: Error\r\nActionID: {login.get('actionid', '')}\r\n"
                         "Message: Authentication failed\r\n\r\n".encode())
            await writer.drain()
            writer.close()
            return
        writer.write(f"Response: Success\r\nActionID: {login['actionid']}\r\nMessage: Authentication accepted\r\n\r\n"
                     .encode())
        for event in EVENTS:
            writer.write(event.encode())
        await writer.drain()
        if self.keep_open:
            await reader.read()  # until the client closes
        writer.close()

    async def start(self) -> tuple[asyncio.AbstractServer, int]:
        server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return server, server.sockets[0].getsockname()[1]


def test_the_parser_and_the_call_events():
    message = parse_message("Event: Dial\nCallerIDNum: 777\nDialstring: SIP/201\nUniqueid: 1.2")
    assert call_of(message) == AmiCall("1.2", "777", "SIP/201")
    assert call_of(parse_message("Event: Hangup\nCallerIDNum: 777\nUniqueid: 1.2")) is None
    assert call_of(parse_message("Event: Newchannel\nCallerIDNum: anonymous\nUniqueid: 1.3")) is None
    assert call_of(parse_message("garbage without colons")) is None


def _run(fake: FakeAmi, secret: str, on_call) -> int:  # noqa: ANN001
    async def go() -> int:
        server, port = await fake.start()
        async with server:
            client = AmiClient("127.0.0.1", port, "mango", secret, on_call, timeout=5)
            return await asyncio.wait_for(client.run_once(asyncio.Event()), 10)

    return run_async(go())


def test_login_and_calls_reported():
    seen: list[AmiCall] = []
    fake = FakeAmi()
    assert _run(fake, "s3cret", seen.append) == 3
    assert fake.logins[0]["username"] == "mango" and fake.logins[0]["action"] == "Login"
    assert seen == [AmiCall("1700000000.11", "00420777123456", "800100200"),
                    AmiCall("1700000000.11", "00420777123456", "201"),
                    AmiCall("1700000000.13", "602000111", "800100200")]


def test_a_refused_login_raises():
    with pytest.raises(AmiError, match="Authentication failed"):
        _run(FakeAmi(), "wrong", lambda call: None)


def test_run_stops_when_asked_and_reconnects_after_a_lost_connection():
    fake = FakeAmi(keep_open=True)
    seen: list[AmiCall] = []

    async def go() -> None:
        server, port = await fake.start()
        async with server:
            stop = asyncio.Event()
            client = AmiClient("127.0.0.1", port, "mango", "s3cret", seen.append, timeout=5)
            task = asyncio.ensure_future(client.run(stop, retry_after=0.05))
            for _ in range(200):
                if len(seen) >= 3:
                    break
                await asyncio.sleep(0.02)
            stop.set()
            await asyncio.wait_for(task, 5)

    run_async(go())
    assert len(seen) == 3 and len(fake.logins) == 1


def test_ami_calls_are_stored_once_like_webhook_calls(app, db, world, customer_a):
    fake = FakeAmi()
    assert _run(fake, "s3cret", store_call(app, world.loc_a.id)) == 3
    with location_scope(world.loc_a.id):
        rows = list(db.scalars(select(Call).order_by(Call.id)))
    assert [(r.pbx_call_id, r.source, r.customer_id, r.called_line) for r in rows] == [
        ("1700000000.11", "ami", customer_a.id, "800100200"), ("1700000000.13", "ami", None, "800100200")]
