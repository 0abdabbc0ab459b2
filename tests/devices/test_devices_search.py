"""Device list: search by name, serial, MAC and IP; filters; keyset pagination."""

from __future__ import annotations

from mango_core.devices import search, service

SWITCH = "code:example.switch"


def make(db, name, **data):
    return service.create_device(db, type_key=data.pop("type_key", SWITCH), name=name, **data)


def names(db, **filters):
    return [d.name for d in search.list_devices(db, search.Filters(**filters)).items]


def test_search_box(db, in_a):
    make(db, "Přepínač Žižkov", serial_number="HD0860AB12", mac="00:1a:2b:3c:4d:5e", management_ip="10.10.0.2")
    make(db, "Router 50%", management_ip="10.10.1.1")
    make(db, "AP Lesná", mac="02:00:00:00:00:01", management_ip="2001:db8::1")
    assert names(db, query="zizkov") == names(db, query="ŽIŽKOV") == ["Přepínač Žižkov"]
    assert names(db, query="0860ab") == ["Přepínač Žižkov"]  # serial, any part, any case
    assert names(db, query="00-1A-2B-3C-4D-5E") == ["Přepínač Žižkov"]
    assert names(db, query="4d:5e") == names(db, query="4D5E") == ["Přepínač Žižkov"]
    assert names(db, query="10.10.0.2") == ["Přepínač Žižkov"]
    assert names(db, query="10.10.") == ["Přepínač Žižkov", "Router 50%"]
    assert names(db, query="2001:DB8::1") == ["AP Lesná"]
    assert names(db, query="50%") == ["Router 50%"]  # LIKE wildcards are literal
    assert names(db, query="_") == []
    assert names(db, query="nothing") == []


def test_filters(db, in_a):
    kind = service.create_device_type(db, name="CPE")
    site = service.create_site(db, name="DC")
    make(db, "a", site_id=site.id, state="active")
    make(db, "b", state="broken")
    make(db, "c", type_key=f"ui:{kind.id}", site_id=site.id)
    assert names(db, site_id=site.id) == ["a", "c"]
    assert names(db, state="broken") == ["b"]
    assert names(db, type_key=f"ui:{kind.id}") == ["c"]
    assert names(db, type_key=SWITCH) == ["a", "b"]
    assert names(db, type_key=SWITCH, site_id=site.id, state="active") == ["a"]


def test_keyset_pagination(db, in_a):
    for i in range(7):
        make(db, f"dev {i % 3}")  # equal names: the id breaks ties
    seen, after = [], None
    while True:
        page = search.list_devices(db, search.Filters(), after=after, page_size=3)
        seen += [(d.sort_name, d.id) for d in page.items]
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert len(seen) == 7 and seen == sorted(seen)
    assert search.decode_cursor("garbage!") is None and search.decode_cursor(None) is None
    assert len(search.list_devices(db, search.Filters(), after="bm90IGpzb24").items) == 7
