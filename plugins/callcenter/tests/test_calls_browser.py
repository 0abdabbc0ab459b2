"""The incoming-call pop-up in a real browser against a real `mango serve`: the PBX posts to the
webhook, the operator's open Opcare page shows the pop-up (under the site's Content-Security-Policy)
with the customer, and one click opens a phone ticket for the caller."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from mango_core.testing import live
from mango_core.testing.browser import log_in
from mango_core.testing.fixtures import CHROMIUM

pytestmark = pytest.mark.browser


@dataclass
class Site:
    url: str
    token: str


def _prepare(url: str, instance: Path, plugins: list[str]) -> str:
    """A PRG customer with a phone number, and the webhook token of PRG."""
    from mango_callcenter.calls import service as calls
    from mango_core.config import load_settings
    from mango_core.customers import service as customers
    from mango_core.kernel import Mango
    from mango_core.tenancy import location_scope, operator_scope
    from mango_core.tenancy.models import Location

    mango = Mango.start(load_settings({"database_url": url, "plugins": plugins}, instance_path=instance))
    try:
        with mango.db.session() as session:
            with operator_scope():
                prg = session.scalar(select(Location).where(Location.code == "PRG"))
            with location_scope(prg.id):
                customer = customers.create_customer(session, kind="person", first_name="Tomáš",
                                                     last_name="Volající", state="active")
                customers.add_contact(session, customer, name="Tomáš Volající", roles=["owner"],
                                      phones=["+420 603 111 222"])
                token = calls.new_token(session)
                session.commit()
                return token
    finally:
        mango.db.dispose()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, mango_test_plugins: list[str]) -> Iterator[Site]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")
    instance = tmp_path_factory.mktemp("calls-live")
    with live.served(instance, "calls", mango_test_plugins,
                     lambda url: _prepare(url, instance, mango_test_plugins)) as (base, _env, token):
        yield Site(base, token)


def test_an_incoming_call_pops_up_and_one_click_opens_a_ticket(chromium, site):
    ctx = chromium.new_context(base_url=site.url, viewport={"width": 1366, "height": 900})
    ctx.set_default_timeout(90_000)
    try:
        page = ctx.new_page()
        refused = []
        page.on("console", lambda msg: refused.append((page.url, msg.text))
                if "Content Security Policy" in msg.text else None)
        log_in(page, "admin@alfa.test")
        if page.eval_on_selector("#location_id", "s => s.options[s.selectedIndex].text") != "PRG – Praha":
            with page.expect_navigation():
                page.select_option("#location_id", label="PRG – Praha")
        page.goto("/callcenter/")
        assert page.locator("#callcenter-popup-script").count() == 1
        request = urllib.request.Request(
            f"{site.url}/callcenter/hook/calls/PRG", method="POST",
            data=json.dumps({"call_id": "browser-1", "caller": "00420603111222", "called": "800"}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {site.token}"})
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - our own live server
            assert answer.status == 201
        popup = page.locator("#callcenter-popup [data-call]")
        popup.wait_for(state="visible", timeout=30_000)
        text = popup.inner_text()
        assert "00420603111222" in text and "Volající" in text
        assert refused == [], refused  # the pop-up needs no inline script or style
        with page.expect_navigation():
            popup.locator("button.btn-primary").click()
        assert re.search(r"/callcenter/\d+$", page.url)
        assert "Telefonát z 00420603111222" in page.locator("h1").inner_text()
    finally:
        ctx.close()
