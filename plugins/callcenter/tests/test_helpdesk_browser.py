"""The helpdesk end to end in a real browser, against a real `mango serve` and a real SMTP server
(aiosmtpd): a customer opens a request in Selfcare, staff answer it in Opcare (and add an internal
note), `mango jobs run core:send_mail` delivers the answer threaded by its Message-ID, and the
customer sees the answer, but not the note, in Selfcare; staff then split the customer's next message off
into a new ticket (checkbox, confirm dialog under the CSP)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from mango_core.testing import live
from mango_core.testing.browser import log_in
from mango_core.testing.fixtures import CHROMIUM

pytestmark = pytest.mark.browser

CUSTOMER_EMAIL = "h6.helpdesk@example.test"


@dataclass
class Site:
    url: str
    env: dict[str, str]
    smtp: object
    customer_id: int
    location_id: int


def _customer(url: str, instance: Path, plugins: list[str]) -> tuple[int, int]:
    """A PRG customer with an owner contact's e-mail and a portal account (the test password)."""
    from mango_core.config import load_settings
    from mango_core.customers import service as customers
    from mango_core.kernel import Mango
    from mango_core.selfcare.models import SelfcareAccount
    from mango_core.selfcare.testing import password_hash
    from mango_core.tenancy import location_scope, operator_scope
    from mango_core.tenancy.models import Location

    mango = Mango.start(load_settings({"database_url": url, "plugins": plugins}, instance_path=instance))
    try:
        with mango.db.session() as session:
            with operator_scope():
                prg = session.scalar(select(Location).where(Location.code == "PRG"))
            with location_scope(prg.id):
                customer = customers.create_customer(session, kind="person", first_name="Hana",
                                                     last_name="Helpdesková", state="active")
                customers.add_contact(session, customer, name="Hana Helpdesková", roles=["owner"],
                                      emails=[CUSTOMER_EMAIL])
                session.add(SelfcareAccount(customer_id=customer.id, email=CUSTOMER_EMAIL,
                                            password_hash=password_hash(), is_active=True))
                session.commit()
                return customer.id, prg.id
    finally:
        mango.db.dispose()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, mango_test_plugins: list[str]) -> Iterator[Site]:
    from mango_core.mail.testing import running_smtp_server

    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")
    instance = tmp_path_factory.mktemp("helpdesk-live")
    with running_smtp_server() as smtp:
        (instance / "mango.toml").write_text(
            f'[mail]\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "none"\nfrom_address = "podpora@alfa.test"\n',
            encoding="utf-8")
        with live.served(instance, "helpdesk", mango_test_plugins,
                         lambda url: _customer(url, instance, mango_test_plugins)) as (base, env, made):
            customer_id, location_id = made
            yield Site(base, env, smtp, customer_id, location_id)


@pytest.fixture
def context_of(chromium, site):  # noqa: ANN001, ANN201
    with live.contexts(chromium, site.url) as make:
        yield make


def test_customer_asks_in_selfcare_staff_answer_in_opcare_and_the_mail_goes_out(context_of, site):
    from mango_core.selfcare.testing import PASSWORD

    # the customer opens a request in the portal
    customer = context_of().new_page()
    customer.goto("/selfcare/PRG/login")
    customer.fill("input[name=login]", CUSTOMER_EMAIL)
    customer.fill("input[name=password]", PASSWORD)
    with customer.expect_navigation():
        customer.click("#selfcare-login-form button[type=submit]")
    customer.goto("/selfcare/callcenter/")
    assert customer.locator("#tickets-empty").is_visible()
    customer.goto("/selfcare/callcenter/new")
    customer.fill("#subject", "Nejde mi televize")
    customer.fill("#body", "Od včerejška se nenačte žádný program.")
    with customer.expect_navigation():
        customer.click("#selfcare-ticket-new button[type=submit]")
    number = int(re.search(r"/selfcare/callcenter/(\d+)$", customer.url).group(1))
    assert "Nejde mi televize" in customer.locator("h1").inner_text()

    # staff find it in the list, note something internal and answer
    staff = context_of().new_page()
    log_in(staff, "admin@alfa.test")
    if staff.eval_on_selector("#location_id", "s => s.options[s.selectedIndex].text") != "PRG – Praha":
        with staff.expect_navigation():
            staff.select_option("#location_id", label="PRG – Praha")
    staff.goto("/callcenter/")
    with staff.expect_navigation():
        staff.locator(f"tr[data-ticket='{number}'] a").first.click()
    assert "Od včerejška se nenačte žádný program." in staff.locator("#thread").inner_text()
    staff.fill("#body", "Interně: porucha multicastu v uzlu Sever")
    with staff.expect_navigation():
        staff.click("#ticket-message button.btn-outline-warning")
    staff.fill("#body", "Dobrý den, poruchu jsme opravili, zkuste prosím set-top box restartovat.")
    with staff.expect_navigation():
        staff.click("#ticket-message button.btn-primary")
    assert staff.locator(".alert-success").count() == 1
    assert staff.locator("#ticket-summary [data-state]").get_attribute("data-state") == "waiting"

    # the answer goes out through a real SMTP server, threaded by the ticket
    done = subprocess.run([live.venv_bin("mango"), "jobs", "run", "core:send_mail", "--location", "PRG"],
                          env=site.env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    (recipients, message), = site.smtp.messages
    assert recipients == [CUSTOMER_EMAIL]
    assert message["Subject"] == f"[#{number}] Nejde mi televize"
    assert re.fullmatch(rf"<ticket-{number}\.[A-Za-z0-9_-]{{24}}@alfa\.test>", message["Message-ID"])
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "poruchu jsme opravili" in body and "multicast" not in body

    # the customer sees the answer and not the note, and writes back
    customer.reload()
    thread = customer.locator("#thread").inner_text()
    assert "poruchu jsme opravili" in thread and "multicast" not in thread
    customer.fill("#body", "Děkuji, už to jde.")
    with customer.expect_navigation():
        customer.click("#selfcare-reply button[type=submit]")
    assert "Děkuji, už to jde." in customer.locator("#thread").inner_text()
    staff.reload()
    assert staff.locator("#ticket-summary [data-state]").get_attribute("data-state") == "open"

    # staff split the customer's last message off into a new ticket (checkboxes, confirm under the CSP)
    last = staff.locator("#thread [data-message]").last
    assert "Děkuji, už to jde." in last.inner_text()
    message_id = last.get_attribute("data-message")
    staff.check(f"#split-{message_id}")
    staff.fill("#ticket-split input[name=subject]", "Poděkování")
    staff.once("dialog", lambda dialog: dialog.dismiss())  # "no": nothing happens
    staff.click("#ticket-split button[type=submit]")
    assert staff.url.endswith(f"/callcenter/{number}")
    staff.once("dialog", lambda dialog: dialog.accept())
    with staff.expect_navigation():
        staff.click("#ticket-split button[type=submit]")
    assert staff.url.endswith(f"/callcenter/{number + 1}")
    assert "Poděkování" in staff.locator("h1").inner_text()
    assert staff.locator("#thread").inner_text().count("Děkuji, už to jde.") == 1
    assert staff.locator(".alert-success").count() == 1
    staff.goto(f"/callcenter/{number}")
    assert "Děkuji, už to jde." not in staff.locator("#thread").inner_text()
    assert staff.locator("#ticket-events [data-event='split_to']").count() == 1
