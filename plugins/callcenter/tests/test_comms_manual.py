"""A message staff write on the customer card: free text or a template around it, by e-mail or SMS to one of
the customer's addresses, permission-checked, in the communication log with its author."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mango_callcenter.comms import service, templates
from mango_callcenter.comms.models import CommLog, SmsMessage
from mango_core.customers import service as customers
from mango_core.mail.models import MailMessage
from mango_core.tenancy import location_scope
from mango_core.tenancy.validators import InvalidValue
from mango_core.testing.fixtures import login, post


def enter(client, world, user=None) -> None:  # noqa: ANN001
    login(client, (user or world.admin_a).email)
    assert post(client, "/location", {"location_id": world.loc_a.id}).status_code == 302


def test_a_message_goes_to_one_of_the_customers_addresses_as_written_or_in_a_template(db, world, in_loc, customer_a):
    with in_loc(world.loc_a):
        customers.add_contact(db, customer_a, name="Pevná linka", roles=["billing"], phones=["+420 212 345 678"])
        assert service.addresses(customer_a, "sms") == ["+420777123456"]  # the landline gets no SMS
        assert service.manual_templates(db, customer_a, "sms") == ["notice"]  # the others need a ticket or event
        sms_log = service.send_manual(db, customer_a, channel="sms", to="+420777123456", text="Technik dorazí v 10:00.",
                                      actor=world.admin_a.id)
        sms = db.get(SmsMessage, sms_log.ref_id)
        assert (sms.text, sms.recipient, sms.state) == ("Technik dorazí v 10:00.", "+420777123456", "queued")
        assert (sms_log.customer_id, sms_log.created_by_id, sms_log.entity) == (customer_a.id, world.admin_a.id,
                                                                               "core_customer")
        templates.save(db, channel="email", code="notice", subject="{{ company }}: {{ subject }}",
                       body="Dobrý den, {{ customer.name }},\n\n{{ text }}\n")
        mail_log = service.send_manual(db, customer_a, channel="email", to="jana@example.test", code="notice",
                                       subject="Výjezd technika", text="Přijedeme zítra.", actor=world.admin_a.id)
        mail = db.get(MailMessage, mail_log.ref_id)
        assert mail.subject.endswith(": Výjezd technika") and mail.recipients == ["jana@example.test"]
        assert mail.text.startswith(f"Dobrý den, {customer_a.display_name},") and "Přijedeme zítra." in mail.text
        for kwargs, field in (({"channel": "sms", "to": "+420212345678", "text": "x"}, "to"),
                              ({"channel": "email", "to": "cizi@example.test", "text": "x", "subject": "s"}, "to"),
                              ({"channel": "email", "to": "jana@example.test", "text": "x"}, "subject"),
                              ({"channel": "sms", "to": "+420777123456", "text": "  "}, "text"),
                              ({"channel": "sms", "to": "+420777123456", "text": "x", "code": "ticket_reply"}, "code"),
                              ({"channel": "fax", "to": "+420777123456", "text": "x"}, "channel")):
            with pytest.raises(InvalidValue) as err:
                service.send_manual(db, customer_a, **kwargs)
            assert err.value.field == field, kwargs
        db.commit()
        assert len(db.scalars(select(CommLog)).all()) == 2


def test_the_card_form_sends_and_needs_its_permission(app, client, db, world, customer_a):
    clerk = app.test_client()
    enter(clerk, world, world.clerk_a)
    assert post(clerk, f"/callcenter/comms/customers/{customer_a.id}/send",
                {"channel": "sms", "to": "+420777123456", "text": "x"}, token_from="/").status_code == 403
    enter(client, world)
    card = client.get(f"/customers/{customer_a.id}?tab=callcenter_comms").get_data(as_text=True)
    assert 'id="compose-sms"' in card and '<option value="+420777123456">' in card and "Napsat SMS" in card
    resp = post(client, f"/callcenter/comms/customers/{customer_a.id}/send",
                {"channel": "sms", "to": "+420777123456", "code": "", "text": "Zítra v 9 přijede technik."},
                token_from=f"/customers/{customer_a.id}?tab=callcenter_comms", follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert "Zpráva je zařazena k odeslání." in page and "Zítra v 9 přijede technik." in page
    assert f'data-author="{world.admin_a.id}"' in page
    refused = post(client, f"/callcenter/comms/customers/{customer_a.id}/send",
                   {"channel": "email", "to": "jana@example.test", "code": "", "text": "Bez předmětu"},
                   token_from=f"/customers/{customer_a.id}?tab=callcenter_comms", follow_redirects=True)
    assert "Tato položka je povinná." in refused.get_data(as_text=True)
    with location_scope(world.loc_a.id):
        assert [s.text for s in db.scalars(select(SmsMessage))] == ["Zítra v 9 přijede technik."]
        assert db.scalars(select(MailMessage)).all() == []


def test_a_customer_of_another_location_is_not_found(client, db, world, in_loc):
    with in_loc(world.loc_b):
        other = customers.create_customer(db, kind="person", first_name="Petr", last_name="Brněnský", state="active")
        db.commit()
    enter(client, world)
    assert post(client, f"/callcenter/comms/customers/{other.id}/send",
                {"channel": "sms", "to": "+420777123456", "text": "x"}, token_from="/").status_code == 404
