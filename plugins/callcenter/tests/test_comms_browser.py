"""The whole e-mail loop in a real browser, against a real `mango serve`, a real SMTP server (aiosmtpd)
and a maildir mail source: a customer opens a ticket in Selfcare, staff answer in Opcare, the answer goes
out by SMTP, the customer sees it in Selfcare and answers by e-mail; `callcenter:fetch_mail` threads the
answer into the same ticket (staff see it), the next staff reply carries In-Reply-To/References to the
customer's mail, and the customer card's *Communication* tab lists both e-mails."""

from __future__ import annotations

import mailbox
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from mango_core.testing import live
from mango_core.testing.browser import log_in
from mango_core.testing.fixtures import CHROMIUM

pytestmark = pytest.mark.browser

CUSTOMER_EMAIL = "h9.comms@example.test"


@dataclass
class Site:
    url: str
    env: dict[str, str]
    smtp: object
    maildir: mailbox.Maildir
    customer_id: int


def _prepare(url: str, instance: Path, plugins: list[str], maildir: Path) -> int:
    """A PRG customer with an e-mail and a portal account, and PRG's maildir mail source."""
    from mango_callcenter.comms import mailboxes
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
                customer = customers.create_customer(session, kind="person", first_name="Karel",
                                                     last_name="Komunikativní", state="active")
                customers.add_contact(session, customer, name="Karel Komunikativní", roles=["owner"],
                                      emails=[CUSTOMER_EMAIL])
                session.add(SelfcareAccount(customer_id=customer.id, email=CUSTOMER_EMAIL,
                                            password_hash=password_hash(), is_active=True))
                mailboxes.save_source(session, name="Podpora", kind="maildir", path=str(maildir))
                session.commit()
                return customer.id
    finally:
        mango.db.dispose()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, mango_test_plugins: list[str]) -> Iterator[Site]:
    from mango_core.mail.testing import running_smtp_server

    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")
    instance = tmp_path_factory.mktemp("comms-live")
    box = mailbox.Maildir(instance / "Maildir", create=True)
    with running_smtp_server() as smtp:
        (instance / "mango.toml").write_text(
            f'[mail]\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "none"\nfrom_address = "podpora@alfa.test"\n',
            encoding="utf-8")
        with live.served(instance, "comms", mango_test_plugins,
                         lambda url: _prepare(url, instance, mango_test_plugins, instance / "Maildir")
                         ) as (base, env, customer_id):
            yield Site(base, env, smtp, box, customer_id)


@pytest.fixture
def context_of(chromium, site):  # noqa: ANN001, ANN201
    with live.contexts(chromium, site.url) as make:
        yield make


def run_job(site: Site, job: str) -> str:
    done = subprocess.run([live.venv_bin("mango"), "jobs", "run", job, "--location", "PRG"], env=site.env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def answer(site: Site, replied: EmailMessage, text: str) -> str:
    """The customer's mail client answers ``replied`` (delivered into the support maildir)."""
    msg = EmailMessage()
    msg["From"] = f"Karel <{CUSTOMER_EMAIL}>"
    msg["To"] = "podpora@alfa.test"
    msg["Subject"] = "Re: " + str(replied["Subject"])
    msg["Message-ID"] = "<h9-answer.1@example.test>"
    msg["In-Reply-To"] = replied["Message-ID"]
    msg["References"] = replied["Message-ID"]
    msg.set_content(text + "\n\n> " + replied.get_body(preferencelist=("plain",)).get_content().replace("\n", "\n> "))
    site.maildir.add(msg)
    return msg["Message-ID"]


def test_selfcare_ticket_answered_in_opcare_mailed_answered_by_mail_and_threaded_back(context_of, site):
    from mango_core.selfcare.testing import PASSWORD

    customer = context_of().new_page()
    customer.goto("/selfcare/PRG/login")
    customer.fill("input[name=login]", CUSTOMER_EMAIL)
    customer.fill("input[name=password]", PASSWORD)
    with customer.expect_navigation():
        customer.click("#selfcare-login-form button[type=submit]")
    customer.goto("/selfcare/callcenter/new")
    customer.fill("#subject", "Padá wifi")
    customer.fill("#body", "Wifi každou hodinu vypadne.")
    with customer.expect_navigation():
        customer.click("#selfcare-ticket-new button[type=submit]")
    number = int(re.search(r"/selfcare/callcenter/(\d+)$", customer.url).group(1))

    staff = context_of().new_page()
    log_in(staff, "admin@alfa.test")
    if staff.eval_on_selector("#location_id", "s => s.options[s.selectedIndex].text") != "PRG – Praha":
        with staff.expect_navigation():
            staff.select_option("#location_id", label="PRG – Praha")
    staff.goto(f"/callcenter/{number}")
    staff.fill("#body", "Dobrý den, změňte prosím kanál wifi na 6.")
    with staff.expect_navigation():
        staff.click("#ticket-message button.btn-primary")
    assert staff.locator(".alert-success").count() == 1

    # the answer goes out by SMTP; the customer sees it in Selfcare and gets the e-mail
    run_job(site, "core:send_mail")
    (recipients, first), = site.smtp.messages
    assert recipients == [CUSTOMER_EMAIL] and first["Subject"] == f"[#{number}] Padá wifi"
    assert "kanál wifi na 6" in first.get_body(preferencelist=("plain",)).get_content()
    customer.reload()
    assert "kanál wifi na 6" in customer.locator("#thread").inner_text()

    # the customer answers the e-mail; the fetch job threads it into the same ticket, once
    answer_id = answer(site, first, "Změnil jsem kanál, už to drží.")
    assert "1 new messages: 0 tickets, 1 threaded" in run_job(site, "callcenter:fetch_mail")
    assert "0 new messages" in run_job(site, "callcenter:fetch_mail")
    staff.reload()
    assert "Změnil jsem kanál, už to drží." in staff.locator("#thread").inner_text()
    assert staff.locator("#ticket-summary [data-state]").get_attribute("data-state") == "open"
    customer.reload()
    assert "Změnil jsem kanál, už to drží." in customer.locator("#thread").inner_text()

    # the next reply is threaded to the customer's mail
    staff.fill("#body", "Výborně, ticket uzavíráme.")
    with staff.expect_navigation():
        staff.click("#ticket-message button.btn-primary")
    run_job(site, "core:send_mail")
    second = site.smtp.messages[-1][1]
    assert second["In-Reply-To"] == answer_id
    assert second["References"].split() == [first["Message-ID"], answer_id]

    # both e-mails are in the customer's communication log on the card
    staff.goto(f"/customers/{site.customer_id}?tab=callcenter_comms")
    log = staff.locator("#card-comms")
    assert log.locator("tr[data-channel='email']").count() == 2
    assert f"[#{number}] Padá wifi" in log.inner_text()
