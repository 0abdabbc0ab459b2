"""The append-only audit log, access-denied records and the audit log page."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from mango_core.auth import audit
from mango_core.auth.models import AuthEvent
from mango_core.testing.fixtures import login


def count(db, **where):
    query = select(func.count()).select_from(AuthEvent)
    for key, value in where.items():
        query = query.where(getattr(AuthEvent, key) == value)
    return db.scalar(query)


@pytest.mark.parametrize("statement", [
    "UPDATE core_auth_event SET detail = 'rewritten'",
    "DELETE FROM core_auth_event",
])
def test_auth_events_are_append_only_in_the_database(db, world, statement):
    audit.record(db, audit.LOGIN_OK, user=world.admin_a, detail="original")
    db.commit()
    before = count(db)
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(text(statement))
    # The test's transaction survived the refused statement; nothing changed.
    assert count(db) == before
    assert db.scalar(select(AuthEvent.detail).where(AuthEvent.detail == "original")) == "original"
    assert count(db, detail="rewritten") == 0


def test_access_denied_shows_a_friendly_page_and_is_recorded(client, world, db):
    login(client, world.clerk_a.email)
    resp = client.get("/admin/users")
    assert resp.status_code == 403
    page = resp.get_data(as_text=True)
    assert "Přístup odepřen" in page and "Pokus byl zaznamenán" in page
    db.expire_all()
    [event] = db.scalars(select(AuthEvent).where(AuthEvent.event == audit.ACCESS_DENIED)).all()
    assert event.user_id == world.clerk_a.id
    assert event.location_id == world.loc_a.id
    assert event.detail == "GET /admin/users needs core.users.view"
    # The clerk's menu does not offer the administration pages either.
    home = client.get("/").get_data(as_text=True)
    assert "core_staff.users" not in home and "core_audit.events" not in home


def test_menu_offers_administration_to_administrators(client, world):
    login(client, world.admin_a.email)
    home = client.get("/").get_data(as_text=True)
    for endpoint in ("core_staff.users", "core_staff.roles", "core_audit.events"):
        assert f'data-menu="{endpoint}"' in home
    assert "bi-shield-lock" in home and "bi-journal-text" in home


def test_audit_page_shows_local_time_and_filters(client, world, db):
    db.add_all([
        AuthEvent(at=datetime(2024, 1, 15, 12, 0, tzinfo=UTC), event="login_failed", email="admin@alfa.test",
                  user_id=world.admin_a.id, partner_id=world.partner_a.id, ip="192.0.2.7",
                  location_id=world.loc_a.id, detail="bad password"),
        AuthEvent(at=datetime(2024, 1, 15, 23, 30, tzinfo=UTC), event="login_ok", email="admin@alfa.test",
                  user_id=world.admin_a.id, partner_id=world.partner_a.id, ip="192.0.2.8", detail="late"),
    ])
    db.commit()
    login(client, world.admin_a.email)

    page = client.get("/admin/audit/?event=login_failed").get_data(as_text=True)
    assert "192.0.2.7" in page and "192.0.2.8" not in page
    assert "13:00" in page  # 12:00 UTC is 13:00 in Prague in winter
    assert "Neúspěšné přihlášení" in page and ">PRG<" in page

    # 23:30 UTC on the 15th is already the 16th in Prague.
    page = client.get("/admin/audit/?date_from=2024-01-15&date_to=2024-01-15").get_data(as_text=True)
    assert "192.0.2.7" in page and "192.0.2.8" not in page
    page = client.get("/admin/audit/?date_from=2024-01-16&date_to=2024-01-16").get_data(as_text=True)
    assert "192.0.2.8" in page and "192.0.2.7" not in page

    page = client.get("/admin/audit/?email=CLERK@alfa").get_data(as_text=True)
    assert "192.0.2.7" not in page and "Filtru neodpovídá žádná událost." in page

    page = client.get("/admin/audit/?date_from=not-a-date").get_data(as_text=True)
    assert "is-invalid" in page


def test_audit_page_is_paged_newest_first(client, world, db):
    for i in range(60):
        audit.record(db, audit.LOGIN_FAILED, user=world.clerk_a, ip=f"198.51.100.{i}", detail=f"n{i}")
    db.commit()
    login(client, world.admin_a.email)
    first = client.get("/admin/audit/?event=login_failed").get_data(as_text=True)
    assert first.count('data-event="login_failed"') == 50
    assert "198.51.100.59<" in first and "198.51.100.9<" not in first
    older = [line for line in first.splitlines() if 'id="older"' in line][0]
    href = older.split('href="')[1].split('"')[0].replace("&amp;", "&")
    second = client.get(href).get_data(as_text=True)
    assert second.count('data-event="login_failed"') == 10
    assert "198.51.100.9<" in second and "198.51.100.59<" not in second
    assert 'id="older"' not in second


def test_partner_staff_see_only_their_partners_events(app, client, world, db):
    alfa = app.test_client()
    login(alfa, world.clerk_a.email, "wrong-password-1")
    login(client, world.admin_b.email)
    page = client.get("/admin/audit/").get_data(as_text=True)
    assert "admin@beta.test" in page
    assert "clerk@alfa.test" not in page
    assert "operator@mango.test" not in page

    operator = app.test_client()
    login(operator, world.operator.email)
    page = operator.get("/admin/audit/").get_data(as_text=True)
    assert "clerk@alfa.test" in page and "admin@beta.test" in page
