"""Opcare pages of events and visits: permissions, a new event from the form, notification from the
event page, the week calendar, scheduling with a clash check, the outcome, the work order PDF, and
another location's rows answering 404."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from mango_callcenter.comms.models import SmsMessage
from mango_callcenter.events import notices, visits
from mango_callcenter.events import service as events
from mango_callcenter.events.models import Visit
from mango_core.db import utcnow
from mango_core.documents.models import Document
from mango_core.mail.models import MailMessage
from mango_core.tenancy import location_scope
from mango_core.tenancy.validators import InvalidValue
from mango_core.testing.fixtures import login, post

PRAGUE = ZoneInfo("Europe/Prague")


def enter(client, world, user=None) -> None:  # noqa: ANN001
    login(client, (user or world.admin_a).email)
    assert post(client, "/location", {"location_id": world.loc_a.id}).status_code == 302


@pytest.fixture
def service_a(db, world, in_loc, customer_a):  # noqa: ANN001, ANN201
    from mango_core.catalog import service as catalog
    from mango_core.services import service as services

    with in_loc(world.loc_a):
        cls = catalog.create_class(db, name="Internet", kind="internet")
        product = catalog.create_product(db, class_id=cls.id, name="Internet 100", code="NET100", price="499.00",
                                         valid_from=datetime(2020, 1, 1).date(), location_ids=[world.loc_a.id])
        service = services.create_service(db, customer_id=customer_a.id, product_id=product.id,
                                          start_date=datetime(2024, 1, 1).date(), activate=True)
        db.commit()
    return service


def test_pages_need_their_permissions(client, world):
    enter(client, world, world.clerk_a)
    for path in ("/callcenter/events/", "/callcenter/events/visits", "/callcenter/events/1",
                 "/callcenter/events/visits/1", "/callcenter/events/settings"):
        assert client.get(path).status_code == 403, path
    for path in ("/callcenter/events/new", "/callcenter/events/visits/1/work-order.pdf", "/callcenter/events/1/notify"):
        assert post(client, path, {"title": "x"}, token_from="/").status_code == 403, path


def test_an_event_is_made_and_announced_from_the_pages(client, db, world, customer_a, service_a):
    enter(client, world)
    page = client.get("/callcenter/events/").get_data(as_text=True)
    assert 'id="event-form"' in page and "Výpadky a práce" in page  # the Czech UI
    resp = post(client, "/callcenter/events/new",
                {"kind": "planned", "title": "Výměna baterií UPS", "description": "Možný krátký výpadek.",
                 "starts_at": "2030-05-04T22:00", "ends_at": "2030-05-05T02:00", "state": "planned",
                 "scope": "manual", "service_ids": str(service_a.id), "product_id": ""}, token_from="/callcenter/events/")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    event_id = int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    with location_scope(world.loc_a.id):
        event = events.get_event(db, event_id)
        # typed in Prague time, stored in UTC
        assert event.starts_at == datetime(2030, 5, 4, 22, 0, tzinfo=PRAGUE).astimezone(UTC)
    detail = client.get(f"/callcenter/events/{event_id}").get_data(as_text=True)
    assert f'data-customer="{customer_a.id}"' in detail and 'id="notify"' in detail
    assert 'name="channel" value="sms"' in detail
    nothing = post(client, f"/callcenter/events/{event_id}/notify", {"stage": "announce"},
                   token_from=f"/callcenter/events/{event_id}", follow_redirects=True).get_data(as_text=True)
    assert "Zvolte e-mail, SMS nebo obojí." in nothing  # no channel chosen: nobody told
    for _ in range(2):
        resp = post(client, f"/callcenter/events/{event_id}/notify", {"stage": "announce", "channel": ["email", "sms"]},
                    token_from=f"/callcenter/events/{event_id}", follow_redirects=True)
        assert resp.status_code == 200
    assert "e-mailem: 0, SMS: 0" in resp.get_data(as_text=True)  # the second time: nobody twice
    with location_scope(world.loc_a.id):
        sent = list(db.scalars(select(MailMessage).where(MailMessage.entity == "callcenter_event")))
        texts = list(db.scalars(select(SmsMessage)))
    assert len(sent) == 1 and sent[0].recipients == ["jana@example.test"]
    assert "Plánované práce" in sent[0].subject  # the location's (default Czech) template
    assert [t.recipient for t in texts] == ["+420777123456"] and "Výměna baterií UPS" in texts[0].text
    detail = client.get(f"/callcenter/events/{event_id}").get_data(as_text=True)
    assert 'data-stage="announce" data-channel="sms"><td>oznámení</td><td>SMS</td><td data-sent="1">' in detail
    card = client.get(f"/customers/{customer_a.id}?tab=callcenter_events").get_data(as_text=True)
    assert f'data-event="{event_id}"' in card and 'data-notice="announce:sms:queued"' in card
    bad = post(client, "/callcenter/events/new", {"kind": "planned", "title": "Bez služeb", "starts_at": "2030-05-04T22:00",
                                                  "ends_at": "2030-05-03T22:00", "state": "planned", "scope": "all"},
               token_from="/callcenter/events/", follow_redirects=True)
    assert "nesmí být před začátkem" in bad.get_data(as_text=True)


def test_automatic_notices_are_switched_on_per_location(client, db, world):
    enter(client, world)
    assert 'id="event-settings-link"' in client.get("/callcenter/events/").get_data(as_text=True)
    page = client.get("/callcenter/events/settings").get_data(as_text=True)
    assert 'id="event-settings"' in page and "Oznámení výpadků" in page
    bad = post(client, "/callcenter/events/settings", {"auto_notify": "y", "auto_delay_minutes": "5"},
               token_from="/callcenter/events/settings", follow_redirects=True)
    assert "Zvolte e-mail, SMS nebo obojí." in bad.get_data(as_text=True)  # on, but no channel
    assert post(client, "/callcenter/events/settings", {"auto_notify": "y", "auto_delay_minutes": "5", "auto_sms": "y"},
                token_from="/callcenter/events/settings").status_code == 302
    with location_scope(world.loc_a.id):
        row = notices.settings(db)
        assert (row.auto_notify, row.auto_delay_minutes, row.channels) == (True, 5, ("sms",))
    with location_scope(world.loc_b.id):
        assert notices.settings(db) is None  # another location's setting is its own


def test_visits_in_the_calendar_outcome_and_work_order(app, client, db, world, in_loc, customer_a, service_a):
    monday = datetime(2030, 5, 6, 8, 0, tzinfo=PRAGUE)
    with in_loc(world.loc_a):
        visit = visits.schedule(db, technician_id=world.admin_a.id, starts_at=monday, ends_at=monday + timedelta(hours=2),
                                title="Výměna routeru", place="Dlouhá 1, Praha", customer_id=customer_a.id,
                                service_id=service_a.id, actor=world.admin_a.id)
        with pytest.raises(InvalidValue) as clash:  # the same technician, overlapping window
            visits.schedule(db, technician_id=world.admin_a.id, starts_at=monday + timedelta(hours=1),
                            ends_at=monday + timedelta(hours=3), title="Jiná práce")
        assert clash.value.field == "starts_at"
        with pytest.raises(InvalidValue):  # a user without a role in the location
            visits.schedule(db, technician_id=world.admin_b.id, starts_at=monday, ends_at=monday + timedelta(hours=1),
                            title="Cizí technik")
        db.commit()
    enter(client, world)
    week = client.get("/callcenter/events/visits?week=2030-05-08").get_data(as_text=True)
    monday_cell = week.split('data-day="2030-05-06"')[1].split('data-day="2030-05-07"')[0]
    assert f'data-visit="{visit.id}"' in monday_cell
    assert "08:00–10:00 Výměna routeru" in week
    other_week = client.get("/callcenter/events/visits?week=2030-05-13").get_data(as_text=True)
    assert f'data-visit="{visit.id}"' not in other_week
    resp = post(client, "/callcenter/events/visits/new",
                {"technician_id": str(world.admin_a.id), "starts_at": "2030-05-07T13:00", "ends_at": "2030-05-07T14:00",
                 "title": "Instalace antény", "customer_id": str(customer_a.id)}, token_from="/callcenter/events/visits")
    assert resp.status_code == 302 and "/visits/" in resp.headers["Location"]
    pdf = post(client, f"/callcenter/events/visits/{visit.id}/work-order.pdf", {},
               token_from=f"/callcenter/events/visits/{visit.id}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    with location_scope(world.loc_a.id):
        archived = db.scalar(select(Document).where(Document.kind == visits.WORK_ORDER))
        assert archived is not None and archived.customer_id == customer_a.id
    text = _pdf_text(pdf.data)
    if text is not None:
        assert "Výměna routeru" in text and "Dlouhá 1, Praha" in text
    assert post(client, f"/callcenter/events/visits/{visit.id}/outcome", {"state": "done", "outcome": "Router vyměněn."},
                token_from=f"/callcenter/events/visits/{visit.id}").status_code == 302
    with location_scope(world.loc_a.id):
        db.expire_all()
        done = db.get(Visit, visit.id)
        assert done.state == "done" and done.outcome == "Router vyměněn." and done.finished_at is not None
        with pytest.raises(InvalidValue):  # recorded once
            visits.finish(db, done, state="failed", outcome="x")
    # another location's admin: 404 for this visit
    other = app.test_client()
    login(other, world.admin_b.email)
    assert other.get(f"/callcenter/events/visits/{visit.id}").status_code == 404


def _pdf_text(data: bytes) -> str | None:
    """The text of a PDF where pypdf is installed (the check is extra; the PDF itself is checked above)."""
    try:
        from pypdf import PdfReader
    except ImportError:
        return None
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def test_another_locations_event_is_not_found(client, db, world, in_loc):
    with in_loc(world.loc_b):
        event = events.create_event(db, kind="outage", title="Brno", starts_at=utcnow(), scope="all", state="ongoing")
        db.commit()
    enter(client, world)
    assert client.get(f"/callcenter/events/{event.id}").status_code == 404
