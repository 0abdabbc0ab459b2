"""The outbox page: permission, the current location only, retry by POST with CSRF."""

from __future__ import annotations

from mango_core.mail import service
from mango_core.mail.models import FAILED, QUEUED, MailMessage
from mango_core.tenancy import location_scope
from mango_core.testing.fixtures import login, post


def as_admin_in_prg(client, world) -> None:
    login(client, world.admin_a.email)
    assert post(client, "/location", {"location_id": world.loc_a.id}).status_code == 302


def failed_message(db, location_id: int, subject: str) -> int:
    with location_scope(location_id):
        message = service.queue(db, to="jana@example.test", subject=subject, text="x")
        service.fail(db, message, "550 5.1.1 No such user here")
        db.commit()
        return message.id


def test_page_needs_the_permission(client, world, db):
    login(client, world.clerk_a.email)  # only core.jobs.view
    assert client.get("/mail/").status_code == 403


def test_page_lists_this_locations_mail_with_the_error(client, world, db):
    failed_message(db, world.loc_a.id, "Faktura PRG")
    failed_message(db, world.loc_b.id, "Faktura BRN")
    as_admin_in_prg(client, world)
    html = client.get("/mail/").get_data(as_text=True)
    assert "Faktura PRG" in html and "Faktura BRN" not in html
    assert "550 5.1.1 No such user here" in html and "Odeslat znovu" in html
    assert "Odchozí e-maily" in html and 'data-menu="core_mail.outbox"' in html
    assert "Faktura PRG" not in client.get("/mail/?state=sent").get_data(as_text=True)


def test_retry_is_a_post_with_csrf(client, world, db):
    message_id = failed_message(db, world.loc_a.id, "Faktura PRG")
    as_admin_in_prg(client, world)
    assert client.get(f"/mail/{message_id}/retry").status_code == 405
    assert client.post(f"/mail/{message_id}/retry").status_code == 400  # no CSRF token
    with location_scope(world.loc_a.id):
        assert db.get(MailMessage, message_id).state == FAILED
    response = post(client, f"/mail/{message_id}/retry", token_from="/mail/")
    assert response.status_code == 302
    with location_scope(world.loc_a.id):
        db.expire_all()
        assert db.get(MailMessage, message_id).state == QUEUED


def test_retry_of_another_locations_message_is_404(client, world, db):
    other = failed_message(db, world.loc_b.id, "Faktura BRN")
    as_admin_in_prg(client, world)
    assert post(client, f"/mail/{other}/retry", token_from="/mail/").status_code == 404
    with location_scope(world.loc_b.id):
        db.expire_all()
        assert db.get(MailMessage, other).state == FAILED
