"""Self-registration in a real browser against a real `mango serve`: staff open registration in Opcare,
a stranger registers on a phone-sized screen, the link is read from the outbox, confirmed, and the
new customer lands on the portal's dashboard, logged in; staff find the customer marked."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from mango_core.testing import live
from mango_core.testing.browser import log_in
from mango_core.testing.fixtures import CHROMIUM

pytestmark = pytest.mark.browser

EMAIL = "nova.tiskarna@example.test"
PASSWORD = "heslo-nove-tiskarny-7"
PHONE = {"width": 390, "height": 844}


@dataclass
class Site:
    url: str
    env: dict[str, str]
    instance: Path
    plugins: list[str]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, mango_test_plugins: list[str]) -> Iterator[Site]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")
    instance = tmp_path_factory.mktemp("register-live")
    with live.served(instance, "register", mango_test_plugins) as (base, env, _extra):
        yield Site(base, env, instance, mango_test_plugins)


@pytest.fixture
def context_of(chromium, site):  # noqa: ANN001, ANN201
    with live.contexts(chromium, site.url) as make:
        yield make


def _outbox_link(site: Site) -> str:
    """The confirmation link of the newest registration mail (what the customer's mailbox would show)."""
    from mango_core.config import load_settings
    from mango_core.kernel import Mango
    from mango_core.mail.models import MailMessage
    from mango_core.tenancy import location_scope, operator_scope
    from mango_core.tenancy.models import Location

    mango = Mango.start(load_settings({"database_url": site.env["MANGO_DATABASE_URL"], "plugins": site.plugins},
                                      instance_path=site.instance))
    try:
        with mango.db.session() as session:
            with operator_scope():
                prg = session.scalar(select(Location).where(Location.code == "PRG"))
            with location_scope(prg.id):
                message = session.scalar(select(MailMessage).where(MailMessage.entity == "selfcare_registration")
                                         .order_by(MailMessage.id.desc()))
                assert message is not None and message.recipients == [EMAIL]
                match = re.search(r"https?://\S+/selfcare/PRG/register/[A-Za-z0-9_-]{40,}", message.text)
                assert match, message.text
                return match.group(0)
    finally:
        mango.db.dispose()


def test_a_stranger_registers_confirms_and_is_logged_in(context_of, site):
    staff = context_of().new_page()
    log_in(staff, "admin@alfa.test")
    if staff.eval_on_selector("#location_id", "s => s.options[s.selectedIndex].text") != "PRG – Praha":
        with staff.expect_navigation():
            staff.select_option("#location_id", label="PRG – Praha")
    staff.goto("/selfcare-settings/registration")
    staff.check("#enabled")
    staff.check("#allow_person")
    staff.check("#allow_company")
    staff.fill("#terms_text", "Obchodní podmínky tiskárny, verze pro zkoušku.")
    with staff.expect_navigation():
        staff.click("#registration-settings-form button[type=submit]")
    assert staff.locator(".alert-success").count() == 1

    customer = context_of().new_page()
    customer.set_viewport_size(PHONE)
    customer.goto("/selfcare/PRG/login")
    with customer.expect_navigation():
        customer.click("#register-link")
    assert customer.url.endswith("/selfcare/PRG/register")
    customer.check("input[name=kind][value=company]")
    customer.fill("#company_name", "Nová tiskárna s.r.o.")
    customer.fill("#ico", "25596641")
    customer.fill("#first_name", "Nina")
    customer.fill("#last_name", "Nová")
    customer.fill("#email", EMAIL)
    customer.fill("#phone", "777 888 999")
    customer.fill("#street", "Tiskařská 10")
    customer.fill("#city", "Praha")
    customer.fill("#postal_code", "190 00")
    customer.fill("#password", PASSWORD)
    customer.fill("#confirm", PASSWORD)
    assert customer.locator("#website").is_hidden()  # the honeypot is not for people
    with customer.expect_navigation():
        customer.click("#register-submit")
    assert customer.locator(".invalid-feedback").first.inner_text() == "Pro registraci prosím přijměte podmínky."
    customer.fill("#password", PASSWORD)  # a browser does not send a password back
    customer.fill("#confirm", PASSWORD)
    customer.check("#terms")
    with customer.expect_navigation():
        customer.click("#register-submit")
    assert customer.url.endswith("/selfcare/PRG/register/sent")
    assert customer.locator("#register-sent").is_visible()

    link = _outbox_link(site)
    customer.goto(link)
    assert EMAIL in customer.locator("#register-confirm").inner_text()
    with customer.expect_navigation():
        customer.click("#register-confirm-button")
    assert re.search(r"/selfcare/$", customer.url)
    assert "Vítejte! Váš účet je připraven a jste přihlášeni." in customer.locator(".alert-success").inner_text()
    assert customer.locator("#selfcare-logout").count() == 1
    assert "Nová tiskárna s.r.o." in customer.content()

    # the link again: the same customer just goes on to the portal
    customer.goto(link)
    assert re.search(r"/selfcare/$", customer.url)

    staff.goto("/customers/?q=25596641")  # one hit: straight to the card
    assert re.search(r"/customers/\d+", staff.url)
    assert "zákazníkem v portálu" in staff.locator("#selfcare-registered").inner_text()
