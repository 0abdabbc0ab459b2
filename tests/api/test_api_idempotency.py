"""Idempotency-Key on POST: the same key replays the first answer; another request with it is refused;
a refused request does not use the key up; concurrent duplicates create one object."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mango_core.api import idempotency
from mango_core.api.models import ApiIdempotencyKey
from mango_core.customers.models import Customer
from mango_core.tenancy import location_scope
from mango_example.models import ExampleNote
from tests.api.conftest import make_token

NEW = {"kind": "person", "first_name": "Eva", "last_name": "Svobodová"}


def _count(db, model, location) -> int:  # noqa: ANN001
    db.expire_all()
    with location_scope(location.id):
        return db.scalar(select(func.count(model.id)))


@pytest.fixture
def prg(db, world, api_client):  # noqa: ANN001, ANN201
    return api_client(make_token(db, world.admin_a, location=world.loc_a))


def test_the_same_key_replays_the_first_answer(db, world, prg):
    first = prg.post("/api/v1/customers", NEW, headers={"Idempotency-Key": "order-1"})
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = prg.post("/api/v1/customers", NEW, headers={"Idempotency-Key": "order-1"})
    assert again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _count(db, Customer, world.loc_a) == 1
    # without a key, the same body is simply another customer
    assert prg.post("/api/v1/customers", NEW).status_code == 201
    assert _count(db, Customer, world.loc_a) == 2


def test_the_same_key_with_another_request_is_refused(db, world, seeded, prg):
    customer_id = seeded[0].customer.id
    before = _count(db, Customer, world.loc_a)
    assert prg.post("/api/v1/customers", NEW, headers={"Idempotency-Key": "k"}).status_code == 201
    for path, body in (("/api/v1/customers", {**NEW, "first_name": "Eva2"}),  # another body
                       ("/api/v1/example-notes", {"text": "hello"}),  # another path
                       (f"/api/v1/customers/{customer_id}/actions/add-tag", {"tag": "VIP"})):
        response = prg.post(path, body, headers={"Idempotency-Key": "k"})
        assert response.status_code == 422, path
        problem = response.get_json()
        assert problem["type"].endswith("#problem-idempotency-key-reused")
        assert problem["title"] == "Idempotency Key Reused"
    assert _count(db, Customer, world.loc_a) == before + 1
    with location_scope(world.loc_a.id):
        assert [t.name for t in db.get(Customer, customer_id).tags] == []


def test_a_refused_request_does_not_use_the_key_up(db, world, prg):
    bad = prg.post("/api/v1/customers", {"kind": "person"}, headers={"Idempotency-Key": "retry-me"})
    assert bad.status_code == 422  # a person needs a last name
    assert _count(db, ApiIdempotencyKey, world.loc_a) == 0
    fixed = prg.post("/api/v1/customers", NEW, headers={"Idempotency-Key": "retry-me"})
    assert fixed.status_code == 201


def test_actions_are_idempotent_too(db, world, seeded, prg):
    a, _b = seeded
    path = f"/api/v1/services/{a.service.id}/actions/block"
    first = prg.post(path, {"kind": "manual", "reason": "lost"}, headers={"Idempotency-Key": "block-1"})
    assert first.status_code == 200 and first.get_json()["state"] == "blocked"
    again = prg.post(path, {"kind": "manual", "reason": "lost"}, headers={"Idempotency-Key": "block-1"})
    assert again.status_code == 200 and again.get_json() == first.get_json()
    # without the key, the second block of the same kind is refused by the lifecycle rules
    assert prg.post(path, {"kind": "manual", "reason": "lost"}).status_code == 422


def test_keys_belong_to_a_token_and_a_location(db, world, api_client, prg):
    assert prg.post("/api/v1/example-notes", {"text": "one"}, headers={"Idempotency-Key": "n"}).status_code == 201
    other_token = api_client(make_token(db, world.admin_a, location=world.loc_a))
    response = other_token.post("/api/v1/example-notes", {"text": "one"}, headers={"Idempotency-Key": "n"})
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert _count(db, ExampleNote, world.loc_a) == 2


def test_a_key_is_kept_for_24_hours(db, world, prg):
    assert prg.post("/api/v1/example-notes", {"text": "x"}, headers={"Idempotency-Key": "old"}).status_code == 201
    with location_scope(world.loc_a.id):
        row = db.scalar(select(ApiIdempotencyKey))
        assert row.status == 201 and '"text": "x"' in row.body and row.location_header
        row.created_at -= timedelta(hours=25)
        db.flush()
    db.commit()
    again = prg.post("/api/v1/example-notes", {"text": "x"}, headers={"Idempotency-Key": "old"})
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert _count(db, ExampleNote, world.loc_a) == 2


def test_the_purge_job_forgets_old_keys(db, world, prg, app):
    from mango_core.api.jobs import purge_idempotency_keys
    from mango_core.scheduler.jobs import JobContext

    for key in ("a", "b"):
        prg.post("/api/v1/example-notes", {"text": key}, headers={"Idempotency-Key": key})
    with location_scope(world.loc_a.id):
        db.scalar(select(ApiIdempotencyKey).where(ApiIdempotencyKey.key == "a")).created_at -= timedelta(days=2)
        db.flush()
        result = purge_idempotency_keys(JobContext(db, world.loc_a.id, "core:purge_api_idempotency_keys", {}))
        assert result == "1 removed"
        assert db.scalars(select(ApiIdempotencyKey.key)).all() == ["b"]
    assert "core:purge_api_idempotency_keys" in app.extensions["mango"].jobs


@pytest.mark.parametrize("key", ["", "with space", "ž", "x" * 256])
def test_a_malformed_key_is_a_bad_request(db, world, prg, key):
    response = prg.post("/api/v1/example-notes", {"text": "x"}, headers={"Idempotency-Key": key})
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert _count(db, ExampleNote, world.loc_a) == 0


def test_concurrent_duplicates_wait_for_the_first_and_replay_it(mango):
    """Two connections claim the same key at once: the second waits for the first's commit, then replays.

    Real connections (not the test's rolled-back one), so the rows are made and removed here.
    """
    from flask import Flask, Response
    from sqlalchemy import delete
    from sqlalchemy.orm import Session

    from mango_core.api.models import ApiToken
    from mango_core.auth.models import User
    from mango_core.tenancy import operator_scope
    from mango_core.tenancy.models import Location, Partner

    engine = mango.db.engine
    flask_app = Flask("idempotency-race")
    with Session(engine) as setup, operator_scope():
        partner = Partner(code="RACE", name="Race", company_name="Race s.r.o.")
        location = Location(partner=partner, code="RACE1", name="Race", company_name="Race s.r.o.")
        user = User(email="race@api.test", name="Race", is_operator=True)
        setup.add_all([partner, location, user])
        setup.flush()
        token = ApiToken(user_id=user.id, name="race", prefix="mango_race", token_hash="f" * 64)
        setup.add(token)
        setup.commit()
        ids = (partner.id, location.id, user.id, token.id)
    partner_id, location_id, user_id, token_id = ids
    print_ = idempotency.fingerprint("POST", "/api/v1/example-notes", {"text": "x"})
    results: dict[str, object] = {}
    first = Session(engine)
    try:
        with flask_app.test_request_context(), location_scope(location_id):
            row, replayed = idempotency.claim(first, token_id, "same", print_)
            assert row is not None and replayed is None

        def second_claim() -> None:
            with flask_app.test_request_context(), location_scope(location_id), Session(engine) as other:
                try:
                    claimed, answer = idempotency.claim(other, token_id, "same", print_)
                    results["second"] = (claimed, answer.status_code, dict(answer.headers), answer.get_data())
                except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                    results["error"] = exc
                other.rollback()

        thread = threading.Thread(target=second_claim)
        thread.start()
        thread.join(timeout=1.5)
        assert thread.is_alive(), "the duplicate did not wait for the first request"
        with flask_app.test_request_context(), location_scope(location_id):
            idempotency.complete(row, Response('{"id": 7}', status=201, headers={"Location": "/api/v1/x/7"}))
            first.commit()
        thread.join(timeout=30)
        assert "error" not in results, results.get("error")
        claimed, status, headers, body = results["second"]
        assert claimed is None and status == 201 and body == b'{"id": 7}'
        assert headers["Location"] == "/api/v1/x/7" and headers["Idempotent-Replayed"] == "true"
    finally:
        first.close()
        with Session(engine) as cleanup, operator_scope():
            cleanup.execute(delete(ApiIdempotencyKey).where(ApiIdempotencyKey.token_id == token_id))
            cleanup.execute(delete(ApiToken).where(ApiToken.id == token_id))
            cleanup.execute(delete(User).where(User.id == user_id))
            cleanup.execute(delete(Location).where(Location.id == location_id))
            cleanup.execute(delete(Partner).where(Partner.id == partner_id))
            cleanup.commit()
