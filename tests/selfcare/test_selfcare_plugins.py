"""Plugins in the portal: menu entries checked at start, the example plugin's page, the slots."""

from __future__ import annotations

import pytest

from mango_core.plugins import PluginError
from mango_core.selfcare import menu
from mango_core.selfcare.menu import SelfcareMenuItem
from mango_core.selfcare.testing import portal_login
from mango_core.tenancy import location_scope
from mango_example import service as example_service


def test_entries_come_from_every_enabled_plugin_in_order(app, client, portal):
    portal_login(client, "PRG", portal.email)
    page = client.get("/selfcare/").get_data(as_text=True)
    shown = [e for e in ("core_selfcare.dashboard", "billing_selfcare.invoices", "billing_selfcare.payments",
                         "billing_selfcare.credit", "example_selfcare.news", "core_selfcare.documents_list",
                         "core_selfcare.contact") if f'data-menu="{e}"' in page]
    assert len(shown) == 7
    positions = [page.index(f'data-menu="{e}"') for e in shown]
    assert positions == sorted(positions)  # by each entry's order
    assert 'id="example-selfcare-slot"' in page  # the example plugin's fragment on the overview


def test_an_entry_must_name_a_guarded_view_of_its_own_plugins_portal_blueprint(app, mango, monkeypatch):
    owner = mango.plugins.plugins["example"]
    bad = [
        SelfcareMenuItem("Opcare page", "example.notes"),  # not the portal blueprint
        SelfcareMenuItem("Someone else's", "billing_selfcare.invoices"),  # another plugin's
        SelfcareMenuItem("Nothing", "example_selfcare.nothing"),  # no such view
    ]
    for item in bad:
        monkeypatch.setattr(mango.plugins, "contributed_list", lambda hook, item=item: iter([(owner, item)]))
        app.extensions.pop("mango_selfcare_menu", None)
        with app.test_request_context(), pytest.raises(PluginError, match="example_selfcare"):
            menu.all_items()
    # a view of the right blueprint that skips customer_required is refused as well
    monkeypatch.setitem(app.view_functions, "example_selfcare.unguarded", lambda: "open to all")
    monkeypatch.setattr(mango.plugins, "contributed_list",
                        lambda hook: iter([(owner, SelfcareMenuItem("Open", "example_selfcare.unguarded"))]))
    app.extensions.pop("mango_selfcare_menu", None)
    with app.test_request_context(), pytest.raises(PluginError, match="customer_required"):
        menu.all_items()
    app.extensions.pop("mango_selfcare_menu", None)


def test_the_example_plugins_news_page_shows_its_locations_notes_only(app, client, db, world, portal):
    with location_scope(world.loc_a.id):
        example_service.add_note(db, "Odstávka v sobotu", None)
    with location_scope(world.loc_b.id):
        example_service.add_note(db, "Zpráva jiné lokace", None)
    db.commit()
    portal_login(client, "PRG", portal.email)
    page = client.get("/selfcare/example/").get_data(as_text=True)
    assert "Odstávka v sobotu" in page and "Zpráva jiné lokace" not in page
    assert "Novinky" in page and 'id="selfcare-navbar"' in page


def test_the_demo_gives_customer_number_1_portal_access_once(app, client, db, mango, world):
    from sqlalchemy import func, select

    from mango_core.customers import service as customers
    from mango_core.demo import DEMO_PASSWORD
    from mango_core.selfcare import plugin as selfcare_plugin
    from mango_core.selfcare.models import SelfcareAccount

    with app.test_request_context(), location_scope(world.loc_a.id):
        first = customers.create_customer(db, kind="company", company_name="Demo s.r.o.", state="active")
        customers.add_contact(db, first, name="Petr Demo", roles=["owner"], emails=["Petr.Demo@Example.test"])
        db.commit()
        assert first.number == 1
    for _ in range(2):
        selfcare_plugin.mango_demo(session=db, mango=mango, locations=[world.loc_a, world.loc_b])
    with location_scope(world.loc_a.id):
        assert db.scalar(select(func.count()).select_from(SelfcareAccount)) == 1
        assert db.scalar(select(SelfcareAccount.email)) == "petr.demo@example.test"
    assert portal_login(client, "PRG", "1", DEMO_PASSWORD).status_code == 302
