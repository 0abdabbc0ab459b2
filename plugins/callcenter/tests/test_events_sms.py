"""SMS notices of service events: mobile numbers (Czech and foreign, landlines left out), the location's
SMS template per customer, once per event, stage and customer even when notify runs again, the
communication log, the counts of customers without an address, the queue sending them; and the
automatic notices of outages opened from ISP alerts (a delay against flapping, safe to re-run)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from mango_callcenter.comms import sms as sms_queue
from mango_callcenter.comms import templates
from mango_callcenter.comms.models import CommLog, SmsMessage
from mango_callcenter.comms.phones import mobile, mobile_numbers
from mango_callcenter.events import notices
from mango_callcenter.events import service as events
from mango_callcenter.events.hooks import OUTAGES_JOB
from mango_callcenter.events.models import FINISHED, ONGOING, EventCustomer, EventNotice, ServiceEvent
from mango_core.customers import service as customers
from mango_core.customers.models import Customer
from mango_core.db import utcnow
from mango_core.devices.models import Device
from mango_core.mail.models import MailMessage
from mango_core.scheduler.jobs import JobContext
from mango_core.tenancy.validators import InvalidValue
from mango_core.testing.factories import make_row
from mango_isp.testing import internet, make_service  # noqa: F401 - fixtures
from mango_isp.topology import service as topology


@pytest.mark.parametrize(("written", "expected"), [
    ("777 123 456", "+420777123456"),
    ("00420 602 111 222", "+420602111222"),
    ("+420 730-111-222", "+420730111222"),
    ("+420 212 345 678", None),      # a Prague landline
    ("+420 800 123 456", None),      # a free-phone number
    ("+421 905 123 456", "+421905123456"),  # a Slovak mobile
    ("+421 2 1234 5678", None),      # a Bratislava landline
    ("+49 151 2345 6789", "+4915123456789"),  # other countries: as written, once the length is right
    ("12345", None),
    ("+1234567890123456", None),     # longer than E.164
    ("tel. 777 123 456", None),
    ("", None),
])
def test_mobile_numbers_are_normalised_and_landlines_left_out(written, expected):
    assert mobile(written) == expected


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_text_is_a_number_or_none_never_an_error(text):
    found = mobile(text)
    assert found is None or (found.startswith("+") and found[1:].isdigit() and len(found) <= 16)


@pytest.fixture
def people(db, world, in_loc, make_service):  # noqa: ANN001, ANN201, F811
    """Four customers of PRG with services on one access point:
    ``both`` (e-mail, a mobile and a landline contact), ``two_mobiles`` (two contacts with mobiles, no e-mail),
    ``landline`` (e-mail and a landline only), ``nobody`` (no contact)."""
    services = {name: make_service() for name in ("both", "two_mobiles", "landline", "nobody")}
    with in_loc(world.loc_a):
        ap = make_row(db, Device, name="ap-sever", sort_name="ap-sever")
        for service in services.values():
            topology.depend(db, service, ap)
        who = {name: db.get(Customer, s.customer_id) for name, s in services.items()}
        customers.add_contact(db, who["both"], name="Majitel", roles=["owner"], emails=["both@example.test"],
                              phones=["+420 212 345 678", "777 100 200"])
        customers.add_contact(db, who["two_mobiles"], name="Technik", roles=["technical"], phones=["602 300 400"])
        customers.add_contact(db, who["two_mobiles"], name="Majitelka", roles=["owner"], phones=["00421 905 123 456"])
        customers.add_contact(db, who["landline"], name="Firma", roles=["owner"], emails=["firma@example.test"],
                              phones=["+420 222 333 444"])
        db.commit()
    return ap, who


def _outage(db, ap):  # noqa: ANN001, ANN202
    return events.create_event(db, kind="outage", title="Výpadek AP sever", description="Pracujeme na tom.",
                               starts_at=utcnow(), scope="topology", device_ids=[ap.id], state=ONGOING)


def test_an_outage_is_told_by_sms_and_email_once_per_customer(db, world, in_loc, people):
    ap, who = people
    with in_loc(world.loc_a):
        assert mobile_numbers(who["both"]) == ["+420777100200"]
        assert mobile_numbers(who["two_mobiles"]) == ["+421905123456", "+420602300400"]  # the owner first
        templates.save(db, channel="sms", code="outage", subject="",
                       body="{{ customer.name }}: {{ event.title }} od {{ event.starts }}. {{ company }}")
        event = _outage(db, ap)
        result = notices.notify(db, event, channels=["email", "sms"])
        assert (result.sent["email"], result.sent["sms"]) == (2, 2)
        assert (result.unreachable["email"], result.unreachable["sms"]) == (2, 2)
        db.commit()
        texts = {s.recipient: s for s in db.scalars(select(SmsMessage))}
        assert sorted(texts) == ["+420602300400", "+420777100200", "+421905123456"]
        both = texts["+420777100200"]
        assert both.text.startswith(f"{who['both'].display_name}: Výpadek AP sever od ") and both.state == "queued"
        assert both.dedup_key == f"callcenter:event:{event.id}:announce:{who['both'].id}:+420777100200"
        # every SMS and e-mail is in its customer's communication log
        log = {(r.customer_id, r.channel, r.recipient) for r in db.scalars(select(CommLog))}
        assert log == {(who["both"].id, "sms", "+420777100200"), (who["two_mobiles"].id, "sms", "+420602300400"),
                       (who["two_mobiles"].id, "sms", "+421905123456"), (who["both"].id, "email", "both@example.test"),
                       (who["landline"].id, "email", "firma@example.test")}
        assert notices.counts(db, event) == {("announce", "email", "queued"): 2, ("announce", "email", "no_contact"): 2,
                                             ("announce", "sms", "queued"): 2, ("announce", "sms", "no_contact"): 2}
        # notify again: nobody twice; even with the notices lost, the queues' dedup keys hold
        assert notices.notify(db, event, channels=["sms", "email"]).total == 0
        db.execute(delete(EventNotice))
        db.flush()
        notices.notify(db, event, channels=["sms", "email"])
        assert len(db.scalars(select(SmsMessage)).all()) == 3
        assert len(db.scalars(select(MailMessage)).all()) == 2
        assert len(db.scalars(select(CommLog)).all()) == 5
        # a mobile added later: the next notification reaches that customer, and only them
        customers.add_contact(db, who["nobody"], name="Nový", roles=["owner"], phones=["+420 731 000 111"])
        db.flush()
        again = notices.notify(db, event, channels=["sms"])
        assert (again.sent["sms"], again.unreachable["sms"]) == (1, 1)
        assert notices.counts(db, event)[("announce", "sms", "no_contact")] == 1
        told = db.scalar(select(EventCustomer).where(EventCustomer.customer_id == who["nobody"].id))
        assert told.notified_at is not None
        with pytest.raises(InvalidValue) as err:
            notices.notify(db, event, channels=["fax"])
        assert err.value.field == "channels"
        with pytest.raises(InvalidValue):
            notices.notify(db, event, channels=[])
        db.commit()


def test_anonymising_a_customer_erases_the_addresses_of_its_notices(db, world, in_loc, people):
    ap, who = people
    with in_loc(world.loc_a):
        event = _outage(db, ap)
        notices.notify(db, event, channels=["email", "sms"])
        customers.change_state(db, who["both"], "former")
        customers.anonymise(db, who["both"], reason="GDPR")
        mine = list(db.scalars(select(EventNotice).where(EventNotice.customer_id == who["both"].id)))
        assert [(n.channel, n.recipients) for n in sorted(mine, key=lambda n: n.channel)] == [("email", ""), ("sms", "")]
        others = db.scalars(select(EventNotice.recipients).where(EventNotice.customer_id == who["two_mobiles"].id,
                                                                 EventNotice.channel == "sms")).one()
        assert others == "+421905123456, +420602300400"
        db.commit()


def test_the_end_notice_uses_its_own_template_and_the_queue_sends_it(db, world, in_loc, people):
    ap, who = people
    with in_loc(world.loc_a):
        event = _outage(db, ap)
        notices.notify(db, event, channels=["sms"])
        events.change_state(db, event, FINISHED)
        end = notices.notify(db, event, stage=events.END, channels=["sms"], only_told=True)
        assert end.sent["sms"] == 2 and end.unreachable["sms"] == 0  # only those told of the start
        db.commit()
        ends = list(db.scalars(select(SmsMessage).where(SmsMessage.dedup_key.like(f"callcenter:event:{event.id}:end:%"))))
        assert len(ends) == 3 and all("ukončeno: Výpadek AP sever" in s.text for s in ends)
        driver = sms_queue.LogDriver()
        result = sms_queue.send_due(db, driver)
        assert result.sent == 6 and sorted({to for to, _text in driver.sent}) == [
            "+420602300400", "+420777100200", "+421905123456"]
        assert sms_queue.send_due(db, driver).sent == 0


def test_a_broken_location_template_tells_nobody(db, world, in_loc, people):
    ap, who = people
    with in_loc(world.loc_a):
        event = _outage(db, ap)
        db.commit()
        from mango_callcenter.comms.models import CommTemplate

        db.add(CommTemplate(channel="sms", code="outage", subject="", body="{{ ticket.number }}"))  # saved around the check
        db.flush()
        with pytest.raises(InvalidValue):
            notices.notify(db, event, channels=["email", "sms"])
        db.rollback()
        assert db.scalars(select(SmsMessage)).all() == [] and db.scalars(select(EventNotice)).all() == []


def test_a_run_that_loses_the_race_is_undone_and_says_so(db, world, in_loc, people, monkeypatch):
    ap, who = people
    with in_loc(world.loc_a):
        event = _outage(db, ap)
        db.commit()
        real = notices.mobile_numbers

        def racing(customer):  # noqa: ANN001, ANN202 - another run tells this customer just now
            if customer.id == who["both"].id:
                db.add(EventNotice(event_id=event.id, customer_id=customer.id, stage="announce", channel="sms",
                                   outcome="queued", recipients="+420777100200"))
                db.flush()
            return real(customer)

        monkeypatch.setattr(notices, "mobile_numbers", racing)
        with pytest.raises(InvalidValue) as err:
            notices.notify(db, event, channels=["email", "sms"])
        assert err.value.field == "stage" and "right now" in str(err.value)
        assert db.scalars(select(EventNotice)).all() == [] and db.scalars(select(SmsMessage)).all() == []
        assert db.scalars(select(MailMessage)).all() == []
        monkeypatch.undo()
        assert notices.notify(db, event, channels=["email", "sms"]).sent["sms"] == 2  # the session still works
        db.commit()


# --- automatic notices of outages from ISP alerts ---------------------------------------------------------------


def _alert(db, device):  # noqa: ANN001, ANN202
    from mango_isp.monitoring.models import Alert

    now = utcnow()
    alert = Alert(device_id=device.id, state="open", opened_at=now, down_since=now - timedelta(minutes=3), failures=3,
                  message="neodpovídá")
    db.add(alert)
    db.flush()
    return alert


def _job(db, world, now):  # noqa: ANN001, ANN202
    synced = events.sync_alerts(db, world.loc_a.id, now=now)
    told = notices.auto_notify(db, now=now)
    db.commit()
    return synced, told


def test_outages_from_alerts_are_told_automatically_after_the_delay(db, world, in_loc, people):
    ap, who = people
    with in_loc(world.loc_a):
        alert = _alert(db, ap)
        db.commit()
        now = utcnow()
        assert _job(db, world, now)[1].total == 0  # not switched on: staff tell by hand
        notices.save_settings(db, auto_notify=True, delay_minutes=10, email=True, sms=True)
        db.commit()
        assert _job(db, world, now + timedelta(minutes=5))[1].total == 0  # not yet: it may be a flap
        told = _job(db, world, now + timedelta(minutes=11))[1]
        assert (told.sent["email"], told.sent["sms"]) == (2, 2)
        assert _job(db, world, now + timedelta(minutes=13))[1].total == 0  # re-runs tell nobody twice
        event = db.scalar(select(ServiceEvent).where(ServiceEvent.alert_id == alert.id))
        assert {k[:2] for k in notices.counts(db, event)} == {("announce", "email"), ("announce", "sms")}
        alert.state, alert.resolved_at = "resolved", now + timedelta(minutes=30)
        db.commit()
        synced, over = _job(db, world, now + timedelta(minutes=31))
        assert synced == "0 opened, 1 finished" and (over.sent["email"], over.sent["sms"]) == (2, 2)
        assert _job(db, world, now + timedelta(minutes=33))[1].total == 0
        assert len(db.scalars(select(SmsMessage)).all()) == 6  # 3 numbers × (start, end)


def test_a_flapping_alert_tells_nobody_and_the_job_reports_it(db, world, in_loc, people):
    ap, who = people
    with in_loc(world.loc_a):
        notices.save_settings(db, auto_notify=True, delay_minutes=10, email=True, sms=False)
        alert = _alert(db, ap)
        db.commit()
        now = utcnow()
        _job(db, world, now + timedelta(minutes=1))
        alert.state, alert.resolved_at = "resolved", now + timedelta(minutes=2)
        db.commit()
        _job(db, world, now + timedelta(minutes=3))
        assert _job(db, world, now + timedelta(minutes=30))[1].total == 0
        assert db.scalars(select(MailMessage)).all() == [] and db.scalars(select(EventNotice)).all() == []
        _alert(db, ap)  # down again, and stays down
        db.commit()
        result = OUTAGES_JOB.func(JobContext(db, world.loc_a.id, OUTAGES_JOB.id, {}))
        assert result.startswith("1 opened, 0 finished; told automatically: nothing to do")
        with pytest.raises(InvalidValue) as err:
            notices.save_settings(db, auto_notify=True, delay_minutes=5, email=False, sms=False)
        assert err.value.field == "channels"
        with pytest.raises(InvalidValue) as err:
            notices.save_settings(db, auto_notify=True, delay_minutes="-1", email=True, sms=False)
        assert err.value.field == "auto_delay_minutes"
