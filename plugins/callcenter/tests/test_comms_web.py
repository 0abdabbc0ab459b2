"""Templates (sandboxed Jinja2, per location, checked on saving, preview), the Opcare pages of
communication (log with filters, templates, mail sources, SMS queue) with their permissions, and the
customer card's communication tab."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from mango_callcenter.comms import service, templates
from mango_callcenter.comms import sms as sms_queue
from mango_callcenter.comms.models import CommTemplate, MailSource
from mango_core.tenancy.validators import InvalidValue
from mango_core.testing.fixtures import login, post


def enter(client, world, user=None) -> None:  # noqa: ANN001
    login(client, (user or world.admin_a).email)
    assert post(client, "/location", {"location_id": world.loc_a.id}).status_code == 302


def test_templates_are_per_location_sandboxed_and_checked_before_saving(db, world, in_loc, customer_a):
    with in_loc(world.loc_a):
        templates.save(db, channel="sms", code="notice", subject="", body="{{ company }} hlásí: {{ text }}")
        db.commit()
        for body, error in (("{{ ''.__class__.__mro__ }}", "cannot be rendered"), ("{{ nic }}", "nic"),
                            ("{% for %}", "cannot be rendered"), ("x" * 700, "at most")):
            with pytest.raises(InvalidValue) as err:
                templates.save(db, channel="sms", code="notice", subject="", body=body)
            assert error in str(err.value), body
        with pytest.raises(InvalidValue):
            templates.save(db, channel="email", code="notice", subject="", body="x")  # an e-mail needs a subject
        with pytest.raises(InvalidValue):
            templates.save(db, channel="sms", code="nonsense", subject="", body="x")
        sent = service.send_sms(db, customer_a, "notice", {"text": "Zítra výpadek."})
        assert sent.text.endswith("hlásí: Zítra výpadek.")
        mail = service.send_email(db, customer_a, "notice", {"text": "Zítra výpadek.", "subject": "Údržba"})
        assert mail.subject.endswith(": Údržba") and "Zítra výpadek." in mail.text
    with in_loc(world.loc_b):  # another location still has the default
        assert templates.render(db, "sms", "notice", {**templates.SAMPLE}).body.startswith("Alfa Net s.r.o.: ")
        assert db.scalar(select(func.count()).select_from(CommTemplate)) == 0


def test_pages_need_their_permissions(client, world):
    enter(client, world, world.clerk_a)
    for path in ("/callcenter/comms/", "/callcenter/comms/templates", "/callcenter/comms/sources",
                 "/callcenter/comms/sms"):
        assert client.get(path).status_code == 403, path
    assert post(client, "/callcenter/comms/sources", {"name": "x", "kind": "maildir", "path": "/tmp"}).status_code == 403


def test_template_page_previews_without_saving_and_saves(client, db, world, in_loc):
    enter(client, world)
    page = client.get("/callcenter/comms/templates?channel=sms&code=outage").get_data(as_text=True)
    assert "event.title" in page and 'id="template-form"' in page
    preview = post(client, "/callcenter/comms/templates", {"channel": "sms", "code": "outage", "action": "preview",
                                                            "body": "Pozor: {{ event.title }} od {{ event.starts }}"})
    html = preview.get_data(as_text=True)
    assert "Pozor: Plánovaná údržba od 01.12.26 22:00" in html
    with in_loc(world.loc_a):
        assert db.scalar(select(func.count()).select_from(CommTemplate)) == 0
    broken = post(client, "/callcenter/comms/templates", {"channel": "sms", "code": "outage", "action": "preview",
                                                           "body": "{{ event.nope }}"})
    assert 'id="template-error"' in broken.get_data(as_text=True)
    saved = post(client, "/callcenter/comms/templates", {"channel": "sms", "code": "outage", "action": "save",
                                                          "body": "Pozor: {{ event.title }}"})
    assert saved.status_code == 302
    refused = post(client, "/callcenter/comms/templates", {"channel": "sms", "code": "outage", "action": "save",
                                                            "body": "{{ event.nope }}"})
    assert refused.status_code == 200
    with in_loc(world.loc_a):
        assert db.scalar(select(CommTemplate.body)) == "Pozor: {{ event.title }}"


def test_the_log_filters_and_the_customer_card_shows_the_customers_messages(client, db, world, in_loc, customer_a):
    with in_loc(world.loc_a):
        service.send_sms(db, customer_a, "notice", {"text": "SMS pro Janu"})
        service.send_email(db, customer_a, "notice", {"text": "Mail pro Janu"})
        sms_queue.queue_sms(db, to="+420777999888", text="Bez zákazníka")
        db.commit()
    enter(client, world)
    everything = client.get("/callcenter/comms/").get_data(as_text=True)
    assert everything.count('data-log="') == 3
    only_sms = client.get("/callcenter/comms/?channel=sms").get_data(as_text=True)
    assert only_sms.count('data-log="') == 2 and 'data-channel="email"' not in only_sms
    by_customer = client.get(f"/callcenter/comms/?customer={customer_a.number}").get_data(as_text=True)
    assert by_customer.count('data-log="') == 2 and "Bez zákazníka" not in by_customer
    by_text = client.get("/callcenter/comms/?q=Mail pro").get_data(as_text=True)
    assert by_text.count('data-log="') == 1
    card = client.get(f"/customers/{customer_a.id}?tab=callcenter_comms").get_data(as_text=True)
    assert 'id="card-comms"' in card and "SMS pro Janu" in card and "Bez zákazníka" not in card
    assert "+420777999888" in client.get("/callcenter/comms/sms").get_data(as_text=True)


def test_sources_page_stores_the_password_encrypted_and_never_shows_it(client, db, world, in_loc, mango,
                                                                        monkeypatch):
    from cryptography.fernet import Fernet

    configured = {**mango.settings.section("plugin_settings"),
                  "callcenter": {"secret_keys": [Fernet.generate_key().decode()]}}
    monkeypatch.setitem(mango.settings.data, "plugin_settings", configured)  # as [plugin_settings.callcenter]
    enter(client, world)
    resp = post(client, "/callcenter/comms/sources", {"name": "Podpora", "kind": "imap", "host": "imap.alfa.test",
                                                       "port": "993", "security": "ssl", "username": "podpora",
                                                       "password": "Velmi-Tajne-1", "folder": "INBOX",
                                                       "is_active": "y"}, token_from="/callcenter/comms/sources")
    assert resp.status_code == 302
    with in_loc(world.loc_a):
        source = db.scalar(select(MailSource))
        assert source.password_enc and "Velmi-Tajne-1" not in source.password_enc
        token = source.password_enc
    page = client.get("/callcenter/comms/sources").get_data(as_text=True)
    assert "Velmi-Tajne-1" not in page and token not in page and f'data-source="{source.id}"' in page
    # saving again without a password keeps the stored one
    post(client, f"/callcenter/comms/sources/{source.id}", {"name": "Podpora", "kind": "imap",
                                                              "host": "imap2.alfa.test", "security": "ssl",
                                                              "username": "podpora", "password": ""},
         token_from="/callcenter/comms/sources")
    with in_loc(world.loc_a):
        db.expire_all()
        source = db.scalar(select(MailSource))
        assert source.host == "imap2.alfa.test" and source.password_enc == token
    bad = post(client, "/callcenter/comms/sources", {"name": "Maildir", "kind": "maildir", "path": "relative"},
               token_from="/callcenter/comms/sources", follow_redirects=True)
    assert "absolute path" in bad.get_data(as_text=True) or "absolutní cestu" in bad.get_data(as_text=True)
    with in_loc(world.loc_a):
        assert db.scalar(select(func.count()).select_from(MailSource)) == 1


def test_anonymising_a_customer_erases_its_communication_and_cancels_queued_sms(db, world, in_loc, customer_a):
    from mango_callcenter.comms import mailin
    from mango_callcenter.comms.models import CommLog, InboundMail, SmsMessage
    from mango_core.customers import service as customers

    raw = (b"From: jana@example.test\r\nSubject: Tajny predmet\r\nMessage-ID: <gdpr@example.test>\r\n\r\nText\r\n")
    with in_loc(world.loc_a):
        assert mailin.ingest(db, raw).inbound.outcome == "created"
        service.send_sms(db, customer_a, "notice", {"text": "Tajná zpráva"})
        service.send_email(db, customer_a, "notice", {"text": "Tajný mail"})
        other = sms_queue.queue_sms(db, to="+420777999888", text="Cizí")
        db.commit()
        customers.change_state(db, customer_a, "former")
        customers.anonymise(db, customer_a, reason="GDPR")
        db.commit()
        db.expire_all()
        rows = db.scalars(select(CommLog).where(CommLog.customer_id == customer_a.id)).all()
        assert len(rows) == 2 and all("Tajn" not in r.body and "jana" not in r.recipient for r in rows)
        sms = db.scalar(select(SmsMessage).where(SmsMessage.customer_id == customer_a.id))
        assert (sms.state, sms.recipient, sms.text) == ("failed", "", "[anonymised]")
        assert db.scalar(select(SmsMessage.text).where(SmsMessage.id == other.id)) == "Cizí"
        assert db.execute(select(InboundMail.sender, InboundMail.subject)).one() == ("", "[anonymised]")


def test_every_default_template_renders_with_the_sample_and_fits_an_sms():
    for (channel, code), default in templates.DEFAULTS.items():
        rendered = templates.render_text(channel, default.subject, default.body, templates.SAMPLE)
        assert rendered.body.strip(), (channel, code)
        if channel == "email":
            assert rendered.subject and "{{" not in rendered.subject, code
        else:
            assert len(rendered.body) <= templates.MAX_SMS, code
    assert {"planned", "outage", "event_end"} <= set(templates.codes())
