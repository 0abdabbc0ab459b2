"""Per-location SMS gateways (the password encrypted through the core's SecretBox, the HTTP driver against a
real local HTTP server, the instance-wide gateway for a location without its own) and the gateway's
delivery reports (a webhook authenticated by the location's token, updating the message's state)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from mango_callcenter.comms import gateways, hooks
from mango_callcenter.comms import log as comm_log
from mango_callcenter.comms import sms as sms_queue
from mango_callcenter.comms.models import CommLog, SmsGateway, SmsMessage
from mango_core.scheduler.jobs import JobContext
from mango_core.tenancy import location_scope
from mango_core.tenancy.validators import InvalidValue
from mango_core.testing.fixtures import login, post

KEY = Fernet.generate_key().decode()
SETTINGS = {"sms_driver": "log", "sms_http": {}, "sms_max_attempts": 5, "secret_keys": [KEY]}


class Gateway:
    """An operator's SMS API on 127.0.0.1: answers ``{"id": "g<n>"}`` and records each request."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                gateway.requests.append({"path": self.path, "headers": dict(self.headers),
                                         "body": self.rfile.read(length).decode()})
                payload = json.dumps({"id": f"g{len(gateway.requests)}"}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

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


@pytest.fixture
def keys(mango, monkeypatch):  # noqa: ANN001, ANN201
    configured = {**mango.settings.section("plugin_settings"), "callcenter": {"secret_keys": [KEY]}}
    monkeypatch.setitem(mango.settings.data, "plugin_settings", configured)  # as [plugin_settings.callcenter]


def http_config(gateway: Gateway) -> dict:
    return {"url": gateway.url + "/send", "method": "POST", "content_type": "application/json",
            "body": '{"to": {{ to|tojson }}, "text": {{ text|tojson }}}', "ref_regex": r'"id": "(\w+)"',
            "report_ref": "msgid", "report_status": "stat"}


def _job(db, location) -> str:  # noqa: ANN001
    return hooks._sms_job(JobContext(session=db, location_id=location.id, job_id="callcenter:send_sms",
                                     settings=SETTINGS))


def test_each_location_sends_through_its_own_gateway(db, world, in_loc, keys, gateway):
    with in_loc(world.loc_a):
        row = gateways.save_gateway(db, driver="http", config=json.dumps(http_config(gateway)), auth="basic",
                                    username="alfa", secret="Tajne-heslo-9")
        assert row.secret_enc and "Tajne-heslo-9" not in row.secret_enc
        assert gateways.BOX.decrypt(row.secret_enc) == "Tajne-heslo-9"
        a_sms = sms_queue.queue_sms(db, to="+420777000111", text="Z Prahy")
        db.commit()
    with in_loc(world.loc_a2):  # no gateway of its own: the instance-wide one (the log driver)
        a2_sms = sms_queue.queue_sms(db, to="+420777000222", text="Z Kladna")
        db.commit()
        assert _job(db, world.loc_a2) == "1 sent, 0 to retry, 0 failed"
        assert (a2_sms.state, a2_sms.provider_ref) == ("sent", f"log-{a2_sms.id}")
    assert gateway.requests == []
    with in_loc(world.loc_a):
        assert _job(db, world.loc_a) == "1 sent, 0 to retry, 0 failed"
        (req,) = gateway.requests
        assert req["path"] == "/send" and json.loads(req["body"]) == {"to": "+420777000111", "text": "Z Prahy"}
        assert req["headers"]["Authorization"] == "Basic " + base64.b64encode(b"alfa:Tajne-heslo-9").decode()
        db.refresh(a_sms)
        assert (a_sms.state, a_sms.provider_ref) == ("sent", "g1")
        # saved again without a password: the stored one stays; a bearer token replaces it
        gateways.save_gateway(db, driver="http", config=http_config(gateway), auth="basic", username="alfa2")
        assert gateways.BOX.decrypt(db.scalar(select(SmsGateway)).secret_enc) == "Tajne-heslo-9"
        with pytest.raises(InvalidValue) as err:  # a different kind of secret needs its own
            gateways.save_gateway(db, driver="http", config=http_config(gateway), auth="bearer")
        assert err.value.field == "secret"
        gateways.save_gateway(db, driver="http", config=http_config(gateway), auth="bearer", secret="tok-123")
        sms_queue.queue_sms(db, to="+420777000333", text="Bearer")
        db.commit()
        _job(db, world.loc_a)
        assert gateway.requests[-1]["headers"]["Authorization"] == "Bearer tok-123"
        for config, field in (({"url": "ftp://x"}, "sms_http"), ({**http_config(gateway), "password": "x"}, "config"),
                              ("[1, 2]", "config"), ("{nonsense", "config"), ({"verbose": True}, "config")):
            with pytest.raises(InvalidValue) as err:
                gateways.save_gateway(db, driver="http", config=config, auth="none")
            assert err.value.field == field, config
        db.rollback()


def test_a_stored_password_needs_the_keys(db, world, in_loc, keys, gateway, mango, monkeypatch):
    with in_loc(world.loc_a):
        gateways.save_gateway(db, driver="http", config=http_config(gateway), auth="bearer", secret="tok-123")
        db.commit()
        other = {**mango.settings.section("plugin_settings"), "callcenter": {"secret_keys": [Fernet.generate_key().decode()]}}
        monkeypatch.setitem(mango.settings.data, "plugin_settings", other)
        with pytest.raises(InvalidValue) as err:
            gateways.driver_for(db, SETTINGS)
        assert err.value.field == "secret" and "tok-123" not in str(err.value)


def _enter(client, world, user=None) -> None:  # noqa: ANN001
    login(client, (user or world.admin_a).email)
    assert post(client, "/location", {"location_id": world.loc_a.id}).status_code == 302


def _sent(db, gateway, text: str) -> SmsMessage:  # noqa: ANN001
    sms = sms_queue.queue_sms(db, to="+420777000444", text=text)
    db.commit()
    sms_queue.send_due(db, gateways.driver_for(db, SETTINGS))
    db.refresh(sms)
    assert sms.state == "sent" and sms.provider_ref
    return sms


def test_delivery_reports_update_the_message_state(client, db, world, in_loc, keys, gateway):
    with in_loc(world.loc_a):
        gateways.save_gateway(db, driver="http", config=http_config(gateway), auth="none")
        token = gateways.new_report_token(db)
        db.commit()
        delivered, lost = _sent(db, gateway, "Doručí se"), _sent(db, gateway, "Nedoručí se")
    with in_loc(world.loc_a2):
        gateways.save_gateway(db, driver="log", config={}, auth="none")
        other_token = gateways.new_report_token(db)
        db.commit()
    url = f"/callcenter/hook/sms/{world.loc_a.code}"
    auth = {"Authorization": f"Bearer {token}"}
    report = {"msgid": delivered.provider_ref, "stat": "DELIVRD"}
    assert client.post(url, json=report).status_code == 401
    assert client.post(url, json=report, headers={"Authorization": f"Bearer {other_token}"}).status_code == 401
    assert client.post("/callcenter/hook/sms/NOPE", json=report, headers=auth).status_code == 401
    answer = client.post(url, json=report, headers=auth)
    assert answer.status_code == 200 and answer.get_json() == {"id": delivered.id, "state": "delivered",
                                                               "delivery_status": "DELIVRD"}
    assert client.post(url, json={**report, "stat": "UNDELIV"}, headers=auth).get_json()["state"] == "delivered"
    # a gateway that can only call a URL: GET with the token and the fields in the query string
    late = client.get(f"{url}?token={token}&msgid={lost.provider_ref}&stat=EXPIRED")
    assert late.status_code == 200 and late.get_json()["state"] == "undelivered"
    assert client.post(url, json={"msgid": "nobody", "stat": "DELIVRD"}, headers=auth).status_code == 404
    assert client.post(url, json={"msgid": delivered.provider_ref}, headers=auth).status_code == 400
    assert client.post(url, data="[1]", content_type="application/json", headers=auth).status_code == 400
    # the call centre is not enabled in KLA: its own valid token gets 403
    assert client.post(f"/callcenter/hook/sms/{world.loc_a2.code}", json=report,
                       headers={"X-Mango-Token": other_token}).status_code == 403
    with in_loc(world.loc_a):
        db.expire_all()
        assert db.get(SmsMessage, delivered.id).delivered_at is not None
        rows = list(db.scalars(select(CommLog).order_by(CommLog.id)))
        assert sorted(comm_log.states(db, rows).values()) == ["delivered", "undelivered"]  # the log shows it
        assert db.get(SmsMessage, lost.id).state == "undelivered"
        sms_queue.retry(db, db.get(SmsMessage, lost.id))  # staff may send an undelivered one again
        assert db.get(SmsMessage, lost.id).state == "queued"
        db.rollback()


def test_the_gateway_page_keeps_the_password_secret_and_shows_the_token_once(app, client, db, world, keys, gateway):
    clerk = app.test_client()
    _enter(clerk, world, world.clerk_a)
    assert clerk.get("/callcenter/comms/gateway").status_code == 403
    _enter(client, world)
    page = client.get("/callcenter/comms/gateway").get_data(as_text=True)
    assert 'id="gateway-default"' in page and "SMS brána" in page
    resp = post(client, "/callcenter/comms/gateway", {"action": "save", "driver": "http", "auth": "basic",
                                                       "username": "alfa", "secret": "Velmi-Tajne-7",
                                                       "config": json.dumps(http_config(gateway))},
                token_from="/callcenter/comms/gateway")
    assert resp.status_code == 302
    page = client.get("/callcenter/comms/gateway").get_data(as_text=True)
    assert "Velmi-Tajne-7" not in page and 'id="secret-stored"' in page and gateway.url in page
    made = post(client, "/callcenter/comms/gateway", {"action": "token"}, token_from="/callcenter/comms/gateway")
    token = made.get_data(as_text=True).split('id="new-report-token">', 1)[1].split("<", 1)[0]
    assert len(token) > 30 and token not in client.get("/callcenter/comms/gateway").get_data(as_text=True)
    with location_scope(world.loc_a.id):
        assert gateways.report_token_matches(db, token) and not gateways.report_token_matches(db, "x")
    bad = post(client, "/callcenter/comms/gateway", {"action": "save", "driver": "http", "auth": "none",
                                                      "config": "{nonsense"}, token_from="/callcenter/comms/gateway")
    assert "Zadejte nastavení jako objekt JSON." in bad.get_data(as_text=True)
