"""Session expiry (absolute and idle, per realm) and disabling a user."""

from datetime import timedelta

from sqlalchemy import select, update

from mango_core.auth import sessions
from mango_core.auth.models import AuthEvent, UserSession
from mango_core.db import utcnow
from mango_core.testing.fixtures import login, post


def _backdate(db, record, **fields):
    db.execute(update(UserSession).where(UserSession.id == record.id).values(**fields))
    db.commit()
    db.expire_all()


def test_selfcare_sessions_expire_after_24_hours(db, world, mango):
    limits = sessions.SessionLimits.for_realm(mango.settings.section("sessions"), "selfcare")
    assert limits.absolute == timedelta(hours=24) and limits.idle == timedelta(hours=24)
    token, record, _ = sessions.start_session(db, world.clerk_a, realm="selfcare")
    db.commit()
    now = utcnow()
    _backdate(db, record, created_at=now - timedelta(hours=23), last_seen_at=now - timedelta(hours=1))
    assert sessions.lookup(db, token, limits).record is not None

    _backdate(db, record, created_at=now - timedelta(hours=24, minutes=1), last_seen_at=now - timedelta(minutes=5))
    found = sessions.lookup(db, token, limits)
    assert found.record is None and found.ended_reason == sessions.EXPIRED
    db.commit()
    db.expire_all()
    stored = db.get(UserSession, record.id)
    assert stored.ended_at is not None and stored.end_reason == sessions.EXPIRED
    # Once ended, the token stays dead.
    assert sessions.lookup(db, token, limits).record is None


def test_idle_limit_is_configurable_and_enforced(db, world):
    limits = sessions.SessionLimits.for_realm(
        {"selfcare_absolute_hours": 24, "selfcare_idle_hours": 2}, "selfcare"
    )
    token, record, _ = sessions.start_session(db, world.clerk_a, realm="selfcare")
    db.commit()
    now = utcnow()
    _backdate(db, record, created_at=now - timedelta(hours=3), last_seen_at=now - timedelta(hours=1))
    found = sessions.lookup(db, token, limits)
    assert found.record is not None
    assert found.record.last_seen_at > now - timedelta(minutes=1)  # the lookup touched it
    db.commit()

    _backdate(db, record, last_seen_at=now - timedelta(hours=2, minutes=1))
    found = sessions.lookup(db, token, limits)
    assert found.record is None and found.ended_reason == sessions.IDLE


def test_selfcare_and_opcare_sessions_are_separate(db, world):
    _, opcare, _ = sessions.start_session(db, world.clerk_a, realm="opcare")
    _, selfcare, ended = sessions.start_session(db, world.clerk_a, realm="selfcare")
    assert ended == [] and opcare.ended_at is None
    _, _, ended = sessions.start_session(db, world.clerk_a, realm="selfcare")
    assert ended == [selfcare] and selfcare.end_reason == sessions.REPLACED


def test_expired_opcare_session_sends_to_login_with_a_message(client, world, db):
    login(client, world.admin_a.email)
    assert client.get("/").status_code == 200
    record = db.scalar(select(UserSession).where(UserSession.user_id == world.admin_a.id))
    _backdate(db, record, created_at=utcnow() - timedelta(days=7, minutes=1))
    resp = client.get("/admin/users")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Platnost vašeho přihlášení vypršela." in page
    ended = db.scalars(select(AuthEvent).where(AuthEvent.event == "session_ended",
                                               AuthEvent.user_id == world.admin_a.id)).all()
    assert [e.detail for e in ended] == ["expired"]


def test_disabling_a_user_ends_the_users_sessions(app, client, world, db):
    clerk = app.test_client()
    login(clerk, world.clerk_a.email)
    assert clerk.get("/").status_code == 200

    login(client, world.admin_a.email)
    resp = post(client, f"/admin/users/{world.clerk_a.id}/disable", token_from=f"/admin/users/{world.clerk_a.id}")
    assert resp.status_code == 302
    assert "Relace ukončeny: 1" in client.get(resp.headers["Location"]).get_data(as_text=True)

    resp = clerk.get("/")
    assert resp.status_code == 302
    assert "Váš účet byl zablokován." in clerk.get(resp.headers["Location"]).get_data(as_text=True)
    db.expire_all()
    record = db.scalar(select(UserSession).where(UserSession.user_id == world.clerk_a.id))
    assert record.end_reason == sessions.DISABLED
    # A disabled user cannot log in again.
    resp = login(clerk, world.clerk_a.email)
    assert resp.status_code == 200 and "Tento účet je zablokován." in resp.get_data(as_text=True)
