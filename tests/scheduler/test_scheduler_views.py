"""The Opcare page of scheduled jobs: runs of the current location only, filters, run now."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from mango_core.db import utcnow
from mango_core.scheduler.models import JobRun
from mango_core.tenancy import location_scope, operator_scope
from mango_core.testing.fixtures import login, post


def switch(client, location) -> None:
    assert post(client, "/location", {"location_id": location.id}).status_code == 302


def add_run(db, location_id: int, **values) -> None:
    defaults = {"job_id": "example:count_notes", "status": "ok", "result": "", "started_at": utcnow(),
                "finished_at": utcnow()}
    with location_scope(location_id):
        db.add(JobRun(**{**defaults, **values}))
        db.commit()


def rows(html: str) -> list[str]:
    return re.findall(r'<tr data-run="\d+">(.*?)</tr>', html, re.S)


@pytest.fixture
def runs_everywhere(world, db):
    add_run(db, world.loc_a.id, result="run-in-PRG")
    add_run(db, world.loc_a2.id, job_id="core:purge_job_runs", result="run-in-KLA")
    add_run(db, world.loc_b.id, job_id="core:purge_job_runs", result="run-in-BRN")


def test_page_shows_runs_of_the_current_location_only(client, world, runs_everywhere):
    login(client, world.clerk_a.email)
    html = client.get("/jobs/").get_data(as_text=True)
    assert "run-in-PRG" in html
    assert "run-in-KLA" not in html and "run-in-BRN" not in html
    assert 'data-job="example:count_notes"' in html and 'data-job="core:purge_job_runs"' in html
    assert "interval: minutes=15" in html
    assert "Plánované úlohy" in html  # Czech by default
    assert 'data-menu="core_jobs.runs"' in html


def test_other_partner_sees_its_own_runs(client, world, runs_everywhere):
    login(client, world.admin_b.email)
    html = client.get("/jobs/").get_data(as_text=True)
    assert "run-in-BRN" in html and "run-in-PRG" not in html
    # example is not enabled in BRN: its job is not offered, its runs are not listed
    assert 'data-job="example:count_notes"' not in html


def test_jobs_of_a_disabled_module_are_hidden(client, world, db):
    add_run(db, world.loc_a2.id, result="old example run in KLA")
    login(client, world.admin_a.email)
    switch(client, world.loc_a2)
    html = client.get("/jobs/").get_data(as_text=True)
    assert 'data-job="example:count_notes"' not in html
    assert 'data-job="core:purge_job_runs"' in html
    assert "old example run in KLA" not in html
    assert post(client, "/jobs/run", {"job_id": "example:count_notes"}, token_from="/jobs/").status_code == 404


def test_view_permission_needed(client, world):
    login(client, world.admin_b.email)
    assert client.get("/jobs/").status_code == 200
    client.post("/logout", data={"csrf_token": ""})
    with client.session_transaction() as s:
        s.clear()
    assert client.get("/jobs/").status_code == 302  # to the login page


def test_clerk_cannot_run_jobs(client, world, db):
    login(client, world.clerk_a.email)
    html = client.get("/jobs/").get_data(as_text=True)
    assert "Spustit nyní" not in html
    assert post(client, "/jobs/run", {"job_id": "example:count_notes"}, token_from="/jobs/").status_code == 403
    with operator_scope():
        assert db.scalars(select(JobRun)).all() == []


def test_run_now_records_a_manual_run_by_the_user(client, world, db):
    login(client, world.admin_a.email)
    switch(client, world.loc_a)
    html = client.get("/jobs/").get_data(as_text=True)
    assert "Spustit nyní" in html
    resp = post(client, "/jobs/run", {"job_id": "example:count_notes"}, token_from="/jobs/")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/jobs/?job=example:count_notes")
    with operator_scope():
        run = db.scalars(select(JobRun)).one()
    assert (run.location_id, run.trigger, run.triggered_by_id, run.status, run.result) == (
        world.loc_a.id, "manual", world.admin_a.id, "ok", "0 notes")
    page = client.get("/jobs/?job=example:count_notes").get_data(as_text=True)
    assert "Úloha Spočítat poznámky doběhla: 0 notes" in page
    (row,) = rows(page)
    assert "Ručně (web)" in row and "Adam Alfa" in row and 'data-status="ok"' in row


def test_run_now_needs_csrf_and_a_known_job(client, world):
    login(client, world.admin_a.email)
    switch(client, world.loc_a)
    assert client.post("/jobs/run", data={"job_id": "example:count_notes"}).status_code == 400
    assert post(client, "/jobs/run", {"job_id": "nope:nothing"}, token_from="/jobs/").status_code == 404
    assert client.get("/jobs/run").status_code == 405


def test_failed_run_shows_badge_and_error(client, world, db):
    add_run(db, world.loc_a.id, status="failed", error="Traceback …\nValueError: boom")
    add_run(db, world.loc_a.id, status="ok", result="fine")
    login(client, world.clerk_a.email)
    html = client.get("/jobs/?status=failed").get_data(as_text=True)
    (row,) = rows(html)
    assert 'data-status="failed"' in row and "text-bg-danger" in row and "ValueError: boom" in row
    (row,) = rows(client.get("/jobs/?status=ok").get_data(as_text=True))
    assert "fine" in row


def test_filter_by_job(client, world, db):
    add_run(db, world.loc_a.id, job_id="example:count_notes", result="counted")
    add_run(db, world.loc_a.id, job_id="core:purge_job_runs", result="purged")
    login(client, world.clerk_a.email)
    (row,) = rows(client.get("/jobs/?job=core:purge_job_runs").get_data(as_text=True))
    assert "purged" in row
    assert len(rows(client.get("/jobs/?job=unknown&status=bogus").get_data(as_text=True))) == 2


def test_pagination(client, world, db):
    with location_scope(world.loc_a.id):
        db.add_all(JobRun(job_id="example:count_notes", status="ok", result=f"run {i:02d}", started_at=utcnow(),
                          finished_at=utcnow()) for i in range(30))
        db.commit()
    login(client, world.clerk_a.email)
    first = client.get("/jobs/").get_data(as_text=True)
    assert len(rows(first)) == 25 and "run 29" in first and "Strana 1 z 2" in first
    second = client.get("/jobs/?page=2").get_data(as_text=True)
    assert len(rows(second)) == 5 and "run 00" in second and "run 29" not in second
    assert len(rows(client.get("/jobs/?page=99").get_data(as_text=True))) == 5  # clamped to the last page
