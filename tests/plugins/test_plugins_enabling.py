"""A module is installed process-wide but active only where licensed and switched on.

The example plugin is licensed to both partners and switched on only in PRG. In KLA (same
partner, module off), in BRN (other partner, module off) and anywhere once the licence has
expired, its routes answer 404, its menu item and dashboard fragment are gone, its job skips the
location and its event hooks are not called.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from mango_core.scheduler.runner import run_everywhere
from mango_core.tenancy import location_scope, operator_scope
from mango_core.tenancy.models import Licence
from mango_core.testing.fixtures import login, post
from mango_example import plugin as example_plugin
from mango_example.models import ExampleNote

MENU = 'data-menu="example.notes"'
SLOT = 'id="example-dashboard"'


@pytest.fixture(autouse=True)
def _clear_recorded_events():
    example_plugin.AUTH_EVENTS.clear()
    example_plugin.MODULE_CHANGES.clear()
    yield
    example_plugin.AUTH_EVENTS.clear()
    example_plugin.MODULE_CHANGES.clear()


def switch(client, location) -> None:
    resp = post(client, "/location", {"location_id": location.id})
    assert resp.status_code == 302, resp.get_data(as_text=True)


def expire_licence(db, world) -> None:
    with operator_scope():
        db.execute(
            update(Licence)
            .where(Licence.partner_id == world.partner_a.id, Licence.module == "example")
            .values(valid_until=date.today() - timedelta(days=1))
        )
        db.commit()


def assert_active(client) -> None:
    assert client.get("/example/").status_code == 200
    home = client.get("/").get_data(as_text=True)
    assert MENU in home
    assert SLOT in home


def assert_inactive(client) -> None:
    assert client.get("/example/").status_code == 404
    assert post(client, "/example/", {"text": "should not be stored"}).status_code == 404
    home = client.get("/").get_data(as_text=True)
    assert MENU not in home
    assert SLOT not in home


def test_enabled_location_has_page_menu_and_dashboard(client, world, db):
    login(client, world.admin_a.email)
    switch(client, world.loc_a)
    assert_active(client)
    resp = post(client, "/example/", {"text": "Rozvaděč v 2. patře"}, token_from="/example/")
    assert resp.status_code == 302
    page = client.get("/example/").get_data(as_text=True)
    assert "Rozvaděč v 2. patře" in page
    assert "Poznámky" in page  # the plugin's own Czech catalogue (mango_translations)
    assert "Poznámek v této lokaci: 1" in client.get("/").get_data(as_text=True)
    with location_scope(world.loc_a.id):
        note = db.scalars(select(ExampleNote)).one()
    assert note.location_id == world.loc_a.id and note.author_id == world.admin_a.id


def test_location_without_the_module_answers_404_and_hides_it(client, world):
    login(client, world.admin_a.email)
    switch(client, world.loc_a2)
    assert_inactive(client)
    # The core's own pages stay available there.
    assert client.get("/jobs/").status_code == 200


def test_other_partner_without_the_module_switched_on(client, world):
    login(client, world.admin_b.email)
    assert_inactive(client)


def test_permission_is_still_needed_where_enabled(client, world):
    login(client, world.clerk_a.email)  # only core.jobs.view in PRG
    assert client.get("/example/").status_code == 403
    home = client.get("/").get_data(as_text=True)
    assert MENU not in home
    assert SLOT not in home


def test_expired_licence_disables_the_module_although_switched_on(client, world, db):
    login(client, world.admin_a.email)
    switch(client, world.loc_a)
    assert_active(client)
    expire_licence(db, world)
    assert_inactive(client)


def test_job_runs_only_where_the_module_is_enabled(mango, world, db):
    job = mango.jobs["example:count_notes"]
    runs = run_everywhere(mango, job)
    assert [r.location_id for r in runs] == [world.loc_a.id]
    core_runs = run_everywhere(mango, mango.jobs["core:purge_job_runs"])
    assert sorted(r.location_id for r in core_runs) == sorted([world.loc_a.id, world.loc_a2.id, world.loc_b.id])


def test_job_skips_a_location_whose_licence_expired(mango, world, db):
    expire_licence(db, world)
    assert run_everywhere(mango, mango.jobs["example:count_notes"]) == []


def test_auth_events_reach_the_plugin_only_for_enabled_locations(client, world, db):
    login(client, world.admin_a.email)
    switch(client, world.loc_a2)
    assert [e for e in example_plugin.AUTH_EVENTS if e["location_id"] == world.loc_a2.id] == []
    switch(client, world.loc_a)
    switched = [e for e in example_plugin.AUTH_EVENTS if e["event"] == "location_switched"]
    assert [e["location_id"] for e in switched] == [world.loc_a.id]
    assert switched[0]["user_id"] == world.admin_a.id
    assert all(e["location_id"] == world.loc_a.id for e in example_plugin.AUTH_EVENTS)

    example_plugin.AUTH_EVENTS.clear()
    expire_licence(db, world)
    switch(client, world.loc_a)
    assert example_plugin.AUTH_EVENTS == []


def test_operator_level_events_reach_no_licensed_plugin(client, world):
    login(client, "nobody@nowhere.test", "wrong password")
    assert example_plugin.AUTH_EVENTS == []


def test_module_change_event_follows_enabling(mango, world):
    mango.plugins.emit("mango_location_module_changed", location_id=world.loc_a.id, module="example", enabled=True)
    mango.plugins.emit("mango_location_module_changed", location_id=world.loc_a2.id, module="example", enabled=False)
    assert example_plugin.MODULE_CHANGES == [{"location_id": world.loc_a.id, "module": "example", "enabled": True}]


def test_plugin_cli_group(app, world, db):
    from mango_core.cli import main

    with location_scope(world.loc_a.id):
        db.add(ExampleNote(text="one"))
        db.add(ExampleNote(text="two"))
        db.commit()
    result = app.test_cli_runner().invoke(main, ["example", "count"])
    assert result.exit_code == 0, result.output
    assert "PRG\t2" in result.output and "KLA\t0" in result.output and "BRN\t0" in result.output
