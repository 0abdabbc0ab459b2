"""Login, throttling, one session per user, logout, CSRF and security headers."""

from sqlalchemy import func, select

from mango_core.auth.models import AuthEvent, LoginAttempt, UserSession
from mango_core.testing.fixtures import csrf_token, login, post


def events(db, kind, email=None):
    query = select(AuthEvent).where(AuthEvent.event == kind)
    if email:
        query = query.where(AuthEvent.email == email)
    db.expire_all()
    return list(db.scalars(query.order_by(AuthEvent.id)))


def test_login_ok_writes_audit_row_and_session(client, world, db):
    resp = login(client, world.admin_a.email)
    assert resp.status_code == 302
    assert client.get("/").status_code == 200
    [event] = events(db, "login_ok", world.admin_a.email)
    assert event.user_id == world.admin_a.id
    assert event.partner_id == world.partner_a.id
    assert event.ip == "127.0.0.1"
    assert event.at.tzinfo is not None and event.at.utcoffset().total_seconds() == 0
    live = db.scalars(select(UserSession).where(UserSession.user_id == world.admin_a.id,
                                                UserSession.ended_at.is_(None))).all()
    assert len(live) == 1


def test_failed_login_is_refused_and_audited(client, world, db):
    resp = login(client, world.admin_a.email, "wrong-password-1")
    assert resp.status_code == 200
    assert "Nesprávný e-mail nebo heslo." in resp.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still anonymous
    [event] = events(db, "login_failed", world.admin_a.email)
    assert event.user_id == world.admin_a.id and event.detail == "bad password"

    login(client, "nobody@nowhere.test", "whatever-password")
    [unknown] = events(db, "login_failed", "nobody@nowhere.test")
    assert unknown.user_id is None and unknown.detail == "unknown e-mail"


def test_throttling_is_shared_by_workers_and_answers_429(app, client, world, db):
    worker_2 = app.test_client()
    for _ in range(5):
        assert login(client, world.clerk_a.email, "wrong-password-1").status_code == 200
    # The right password, from another client (another worker), is refused now.
    resp = login(worker_2, world.clerk_a.email)
    assert resp.status_code == 429
    assert "Příliš mnoho neúspěšných pokusů" in resp.get_data(as_text=True)
    assert worker_2.get("/").status_code == 302
    db.expire_all()
    failures = db.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.email == world.clerk_a.email, LoginAttempt.success.is_(False)))
    assert failures == 5
    assert len(events(db, "login_throttled", world.clerk_a.email)) == 1
    # Another account from the same address is not affected.
    assert login(worker_2, world.admin_a.email).status_code == 302


def test_success_resets_the_failure_count_of_the_account(app, client, world):
    for _ in range(4):
        login(client, world.clerk_a.email, "wrong-password-1")
    assert login(client, world.clerk_a.email).status_code == 302
    other = app.test_client()
    for _ in range(4):
        assert login(other, world.clerk_a.email, "wrong-password-1").status_code == 200
    assert login(other, world.clerk_a.email).status_code == 302


def test_new_login_ends_the_older_session_with_a_message(app, client, world, db):
    assert login(client, world.admin_a.email).status_code == 302
    assert client.get("/").status_code == 200
    second = app.test_client()
    assert login(second, world.admin_a.email).status_code == 302

    resp = client.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Byli jste odhlášeni, protože se váš účet přihlásil jinde." in page
    assert second.get("/").status_code == 200
    [ended] = events(db, "session_ended", world.admin_a.email)
    assert "replaced" in ended.detail


def test_logout_ends_the_session_on_the_server(app, client, world, db):
    login(client, world.admin_a.email)
    old_cookie = client.get_cookie("mango_session").value
    resp = post(client, "/logout")
    assert resp.status_code == 302
    assert "Byli jste odhlášeni." in client.get("/login").get_data(as_text=True)
    # The old cookie, replayed by another client, is anonymous now.
    replay = app.test_client()
    replay.set_cookie("mango_session", old_cookie)
    assert replay.get("/").status_code == 302
    assert replay.get("/admin/users").status_code == 302
    assert len(events(db, "logout", world.admin_a.email)) == 1
    db.expire_all()
    [record] = db.scalars(select(UserSession).where(UserSession.user_id == world.admin_a.id)).all()
    assert record.end_reason == "logout" and record.ended_at is not None


def test_post_without_csrf_token_is_refused_and_changes_nothing(client, world, db):
    resp = client.post("/login", data={"email": world.admin_a.email, "password": world.password})
    assert resp.status_code == 400
    assert db.scalar(select(func.count()).select_from(LoginAttempt)) == 0

    login(client, world.operator.email)
    resp = client.post(f"/admin/users/{world.clerk_a.id}/disable")
    assert resp.status_code == 400
    resp = client.post(f"/admin/users/{world.clerk_a.id}/disable", data={"csrf_token": "forged"})
    assert resp.status_code == 400
    db.expire_all()
    assert db.get(type(world.clerk_a), world.clerk_a.id).is_active


def test_security_headers(client, world):
    for path in ("/login", "/healthz"):
        resp = client.get(path)
        assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    login(client, world.admin_a.email)
    assert client.get("/admin/users").headers["Cache-Control"] == "no-store"


def test_login_form_carries_a_csrf_token(client):
    assert csrf_token(client, "/login")
