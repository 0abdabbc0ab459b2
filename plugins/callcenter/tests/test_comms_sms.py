"""Outbound SMS through the HTTP driver against a real local HTTP server (http.server in a thread):
the request as configured (URL, method, basic auth, body template), success by status and regex,
retries with backoff on 500, a permanent refusal, the log-only driver, the job, and the
communication log."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select

from mango_callcenter.comms import hooks, service
from mango_callcenter.comms import sms as sms_queue
from mango_callcenter.comms.models import CommLog, SmsMessage
from mango_core.db import utcnow
from mango_core.scheduler.jobs import JobContext
from mango_core.tenancy.validators import InvalidValue


class Gateway:
    """A fake operator's SMS API: answers from ``self.answers`` in turn (then 200 OK), records requests."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answers: list[tuple[int, str]] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                gateway.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                         "body": self.rfile.read(length).decode()})
                status, text = gateway.answers.pop(0) if gateway.answers else (200, "OK id=777")
                payload = text.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _answer  # noqa: N815

            def log_message(self, *args) -> None:  # noqa: ANN002
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    gw = Gateway()
    gw.thread.start()
    yield gw
    gw.server.shutdown()
    gw.server.server_close()


def http_driver(gateway: Gateway, **over) -> sms_queue.HttpDriver:  # noqa: ANN003
    config = {"url": gateway.url + "/api/send?from={{ sender|urlencode }}", "method": "POST", "username": "alfa",
              "password": "heslo", "sender": "AlfaNet", "content_type": "application/json",
              "body": '{"to": {{ to|tojson }}, "text": {{ text|tojson }}, "ref": {{ id }}}',
              "success_regex": r"^OK", "ref_regex": r"id=(\d+)", **over}
    return sms_queue.HttpDriver(config)


def test_the_http_driver_sends_as_configured_and_logs_it_for_the_customer(db, world, in_loc, customer_a, gateway):
    with in_loc(world.loc_a):
        sms = service.send_sms(db, customer_a, "ticket_reply", {"ticket": {"number": 7, "subject": "x"}},
                               dedup_key="t7")
        db.commit()
        assert service.send_sms(db, customer_a, "ticket_reply", {"ticket": {"number": 7, "subject": "x"}},
                                dedup_key="t7").id == sms.id  # a re-run queues nothing twice
        result = sms_queue.send_due(db, http_driver(gateway))
        assert (result.sent, result.failed, result.retried) == (1, 0, 0)
        (req,) = gateway.requests
        assert req["method"] == "POST" and urlparse(req["path"]).path == "/api/send"
        assert parse_qs(urlparse(req["path"]).query) == {"from": ["AlfaNet"]}
        assert req["headers"]["Authorization"] == "Basic YWxmYTpoZXNsbw=="  # alfa:heslo
        assert req["headers"]["Content-Type"] == "application/json"
        body = json.loads(req["body"])
        assert body == {"to": "+420777123456", "text": sms.text, "ref": sms.id}
        assert "požadavek #7" in sms.text
        assert (sms.state, sms.provider_ref, sms.attempts) == ("sent", "777", 1)
        (entry,) = db.scalars(select(CommLog).where(CommLog.customer_id == customer_a.id))
        assert (entry.channel, entry.recipient, entry.ref_id) == ("sms", "+420777123456", sms.id)
        assert sms_queue.send_due(db, http_driver(gateway)).sent == 0  # nothing sent twice


def test_a_500_is_retried_with_backoff_until_it_succeeds_and_gives_up_after_max_attempts(db, world, in_loc, gateway):
    gateway.answers = [(500, "busy"), (503, "busy"), (200, "OK id=9")]
    with in_loc(world.loc_a):
        sms = sms_queue.queue_sms(db, to="+420 777 000 111", text="Test")
        db.commit()
        now = utcnow() + timedelta(seconds=1)
        first = sms_queue.send_due(db, http_driver(gateway), now=now)
        assert first.retried == 1 and sms.state == "queued" and "HTTP 500" in sms.last_error
        assert sms.next_attempt_at == now + timedelta(minutes=1)
        assert sms_queue.send_due(db, http_driver(gateway), now=now + timedelta(seconds=30)).retried == 0  # not due
        sms_queue.send_due(db, http_driver(gateway), now=now + timedelta(minutes=1))
        assert sms.next_attempt_at == now + timedelta(minutes=1) + timedelta(minutes=2) and sms.attempts == 2
        done = sms_queue.send_due(db, http_driver(gateway), now=now + timedelta(minutes=3))
        assert done.sent == 1 and sms.state == "sent" and sms.last_error == "" and sms.provider_ref == "9"
        assert len(gateway.requests) == 3 and sms.recipient == "+420777000111"
        # a gateway that stays down: failed after max_attempts, the error kept
        gateway.answers = [(500, "down")] * 3
        down = sms_queue.queue_sms(db, to="+420777000222", text="Test 2")
        db.commit()
        for minute in (0, 10, 100):
            sms_queue.send_due(db, http_driver(gateway), max_attempts=3, now=now + timedelta(minutes=minute))
        assert down.state == "failed" and down.last_error.startswith("gave up after 3 attempts: HTTP 500")
        sms_queue.retry(db, down)
        assert (down.state, down.attempts) == ("queued", 0)


def test_a_refusal_fails_at_once_and_a_200_without_the_success_text_is_no_success(db, world, in_loc, gateway):
    gateway.answers = [(400, "bad number"), (200, "ERROR credit")]
    with in_loc(world.loc_a):
        refused = sms_queue.queue_sms(db, to="+420777000333", text="A")
        no_credit = sms_queue.queue_sms(db, to="+420777000444", text="B")
        db.commit()
        result = sms_queue.send_due(db, http_driver(gateway))
        assert result.failed == 2
        assert refused.state == "failed" and refused.last_error == "HTTP 400: bad number" and refused.attempts == 1
        assert no_credit.state == "failed" and "ERROR credit" in no_credit.last_error


def test_an_unreachable_gateway_is_retried(db, world, in_loc, gateway):
    url = gateway.url
    gateway.server.shutdown()
    gateway.server.server_close()
    with in_loc(world.loc_a):
        sms = sms_queue.queue_sms(db, to="+420777000555", text="C")
        db.commit()
        result = sms_queue.send_due(db, sms_queue.HttpDriver({"url": url + "/x", "method": "GET", "timeout": 2}))
        assert result.retried == 1 and sms.state == "queued" and "unreachable" in sms.last_error


def test_the_job_uses_the_log_driver_of_the_demo_and_bad_input_queues_nothing(db, world, in_loc, caplog):
    with in_loc(world.loc_a):
        for bad, field in (("abc", "recipient"), ("+420777000666", "text")):
            with pytest.raises(InvalidValue) as err:
                sms_queue.queue_sms(db, to=bad, text="" if field == "text" else "x")
            assert err.value.field == field
        sms_queue.queue_sms(db, to="00420777000777", text="Demo")
        db.commit()
        ctx = JobContext(session=db, location_id=world.loc_a.id, job_id="callcenter:send_sms",
                         settings={"sms_driver": "log", "sms_http": {}, "sms_max_attempts": 5})
        with caplog.at_level("INFO", logger="mango.callcenter.sms"):
            assert hooks._sms_job(ctx) == "1 sent, 0 to retry, 0 failed"
        assert "+420777000777: Demo" in caplog.text
        assert db.scalar(select(SmsMessage.state)) == "sent"
        with pytest.raises(InvalidValue):
            sms_queue.driver_from({"sms_driver": "http", "sms_http": {"url": "ftp://x"}})
