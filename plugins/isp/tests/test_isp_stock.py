"""Stock: receiving, issuing, returning, moving and writing off end devices and spare parts; levels;
the append-only movement log; the CSV import (service and command line)."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from mango_core.customers import service as customers
from mango_core.devices.models import Device
from mango_core.services import lifecycle
from mango_core.services.models import ServiceDevice
from mango_core.tenancy import operator_scope
from mango_core.testing.fixtures import login, post
from mango_isp.stock import service as stock
from mango_isp.stock.importer import CsvImportError, import_received
from mango_isp.stock.models import StockItem, StockMovement
from mango_isp.stock.service import StockError


@pytest.fixture
def store(db, world, in_loc):  # noqa: ANN001, ANN201
    with in_loc(world.loc_a):
        made = {
            "main": stock.save_warehouse(db, None, code="main", name="Hlavní sklad"),
            "van": stock.save_warehouse(db, None, code="VAN", name="Servisní vůz"),
            "router": stock.save_article(db, None, code="rb-hapax2", name="MikroTik hAP ax²", category="router",
                                         serialised=True),
            "cable": stock.save_article(db, None, code="CAT6", name="Patch kabel", category="spare"),
        }
        db.commit()
    return made


def levels_by_code(db) -> dict[tuple[str, str], int]:  # noqa: ANN001
    houses = {w.id: w.code for w in stock.list_warehouses(db)}
    articles = {a.id: a.code for a in stock.list_articles(db)}
    return {(houses[lv.warehouse_id], articles[lv.article_id]): lv.quantity for lv in stock.levels(db)}


def test_receiving_and_levels(db, world, in_loc, store):
    main, van, router, cable = store["main"], store["van"], store["router"], store["cable"]
    with in_loc(world.loc_a):
        assert (main.code, router.code) == ("MAIN", "RB-HAPAX2")  # codes are upper-case
        for n in range(3):
            stock.receive(db, main, router, serial_number=f"HAX{n}", mac=f"02:00:00:00:01:0{n}",
                          configured_by_mango=True, reference="DL-1")
        stock.receive(db, main, cable, quantity="40", reference="DL-1")
        stock.receive(db, van, cable, quantity=5)
        assert levels_by_code(db) == {("MAIN", "RB-HAPAX2"): 3, ("MAIN", "CAT6"): 40, ("VAN", "CAT6"): 5}
        with pytest.raises(StockError, match="recorded already"):
            stock.receive(db, main, router, serial_number="HAX1")
        with pytest.raises(StockError, match="belongs to another item"):
            stock.receive(db, main, router, serial_number="HAX9", mac="02-00-00-00-01-00")
        with pytest.raises(StockError, match="one at a time"):
            stock.receive(db, main, router, serial_number="HAX9", quantity=2)
        with pytest.raises(StockError, match="counted"):
            stock.receive(db, main, cable, serial_number="X1")
        with pytest.raises(StockError, match="This field is required"):
            stock.receive(db, main, router, serial_number="  ")
        for bad in ("0", "-1", "1.5", "abc", "99999999"):
            with pytest.raises(StockError, match="whole number"):
                stock.receive(db, main, cable, quantity=bad)
        with pytest.raises(StockError, match="holds stock"):
            stock.save_warehouse(db, van, code="VAN", name="Servisní vůz", is_active=False)
        with pytest.raises(StockError, match="another warehouse"):
            stock.save_warehouse(db, None, code="van", name="Druhý")
        with pytest.raises(StockError, match="serialised cannot change"):
            stock.save_article(db, cable, code="CAT6", name="Patch kabel", category="spare", serialised=True)
        assert levels_by_code(db)[("MAIN", "RB-HAPAX2")] == 3


def test_a_cpe_travels_and_every_movement_is_kept(db, world, in_loc, store, make_service):
    main, van, router = store["main"], store["van"], store["router"]
    service = make_service()
    with in_loc(world.loc_a):
        stock.receive(db, main, router, serial_number="HAX1", mac="02:00:00:00:02:01")
        item = stock.find_items(db, query="hax1")[0]
        stock.issue_to_technician(db, technician_id=world.admin_a.id, item=item, note="Do auta")
        assert (item.state, item.technician_id, item.warehouse_id) == ("at_technician", world.admin_a.id, None)
        with pytest.raises(StockError, match="works in this location"):
            stock.issue_to_technician(db, technician_id=world.admin_b.id, item=item)
        # the technician installs it for the customer's service; it becomes a network device
        stock.issue_to_customer(db, customer_id=service.customer_id, service_id=service.id, item=item,
                                register_device=True, configured_by_mango=True)
        assert (item.state, item.customer_id, item.service_id, item.configured_by_mango) == (
            "at_customer", service.customer_id, service.id, True)
        device = db.get(Device, item.device_id)
        assert (device.type_code, device.serial_number, device.mac) == ("isp.cpe", "HAX1", "02:00:00:00:02:01")
        assert db.scalar(select(ServiceDevice.id).where(ServiceDevice.service_id == service.id,
                                                        ServiceDevice.device_id == device.id)) is not None
        assert stock.items_of_customer(db, service.customer_id) == [item]
        with pytest.raises(StockError, match="not in stock nor with a technician"):
            stock.issue_to_customer(db, customer_id=service.customer_id, item=item)
        # it comes back into the van, moves to the main store, and breaks
        stock.return_item(db, item, van, note="Výměna za nový")
        assert (item.state, item.warehouse_id, item.service_id, item.customer_id) == ("in_stock", van.id, None, None)
        assert db.scalar(select(ServiceDevice.id).where(ServiceDevice.device_id == device.id)) is None
        assert levels_by_code(db) == {("VAN", "RB-HAPAX2"): 1}
        stock.transfer(db, source=van, target=main, item=item)
        with pytest.raises(StockError, match="not in warehouse VAN"):
            stock.transfer(db, source=van, target=main, item=item)
        with pytest.raises(StockError, match="required"):
            stock.write_off(db, item=item, note="")
        stock.write_off(db, item=item, note="Spálený zdroj")
        assert item.state == "written_off" and levels_by_code(db) == {}
        with pytest.raises(StockError, match="written off already"):
            stock.write_off(db, item=item, note="Znovu")
        moves = stock.movements_of(db, item)
        assert [(m.kind, m.from_warehouse_id, m.to_warehouse_id) for m in moves] == [
            ("received", None, main.id), ("issued_technician", main.id, None), ("issued_customer", None, None),
            ("returned", None, van.id), ("transferred", van.id, main.id), ("written_off", main.id, None)]
        assert moves[2].customer_id == service.customer_id and moves[2].service_id == service.id
        assert moves[3].customer_id == service.customer_id  # returned from whom
        assert moves[1].technician_id == world.admin_a.id


def test_counted_parts_cannot_go_below_zero(db, world, in_loc, store, make_service):
    main, van, cable = store["main"], store["van"], store["cable"]
    service = make_service()
    with in_loc(world.loc_a):
        stock.receive(db, main, cable, quantity=10)
        stock.issue_to_customer(db, customer_id=service.customer_id, article=cable, quantity=3, warehouse=main)
        stock.issue_to_technician(db, technician_id=world.admin_a.id, article=cable, quantity=2, warehouse=main)
        stock.transfer(db, source=main, target=van, article=cable, quantity=4)
        with pytest.raises(StockError, match="has only 1"):
            stock.write_off(db, article=cable, warehouse=main, quantity=2, note="Ztráta")
        stock.write_off(db, article=cable, warehouse=main, quantity=1, note="Ztráta")
        stock.return_quantity(db, cable, main, 2, technician_id=world.admin_a.id, note="Nepoužité")
        assert levels_by_code(db) == {("MAIN", "CAT6"): 2, ("VAN", "CAT6"): 4}
        with pytest.raises(StockError, match="serial numbers"):
            stock.issue_to_customer(db, customer_id=service.customer_id, article=store["router"], warehouse=main)
        with pytest.raises(StockError, match="another warehouse"):
            stock.transfer(db, source=main, target=main, article=cable, quantity=1)
        kinds = Counter(db.scalars(select(StockMovement.kind)))
        assert kinds == {"received": 1, "issued_customer": 1, "issued_technician": 1, "transferred": 1,
                         "written_off": 1, "returned": 1}


def test_levels_of_serialised_articles_match_their_items(db, world, in_loc, store, make_service):
    main, van, router = store["main"], store["van"], store["router"]
    service = make_service()
    with in_loc(world.loc_a):
        for n in range(6):
            stock.receive(db, main, router, serial_number=f"S{n}")
        items = stock.find_items(db, query="S")
        stock.transfer(db, source=main, target=van, item=items[0])
        stock.transfer(db, source=main, target=van, item=items[1])
        stock.issue_to_customer(db, customer_id=service.customer_id, service_id=service.id, item=items[2])
        stock.issue_to_technician(db, technician_id=world.admin_a.id, item=items[3])
        stock.write_off(db, item=items[4], note="Vadný")
        stock.return_item(db, items[2], van)
        counted = {(w, a): q for (w, a), q in stock.items_count(db).items()}
        assert {(lv.warehouse_id, lv.article_id): lv.quantity for lv in stock.levels(db)} == counted
        assert counted == {(main.id, router.id): 1, (van.id, router.id): 3}


def test_movements_are_append_only_in_the_database(db, world, in_loc, store):
    with in_loc(world.loc_a):
        stock.receive(db, store["main"], store["cable"], quantity=5)
        db.commit()
    with operator_scope():
        for statement in ("UPDATE isp_stock_movement SET quantity = 50", "DELETE FROM isp_stock_movement"):
            with pytest.raises(DatabaseError, match="append-only"), db.begin_nested():
                db.execute(text(statement))
        assert db.scalar(select(func.sum(StockMovement.quantity))) == 5


def test_an_installed_cpe_follows_its_service_to_the_new_customer(db, world, in_loc, store, make_service):
    main, router = store["main"], store["router"]
    service = make_service()
    with in_loc(world.loc_a):
        stock.receive(db, main, router, serial_number="HAX7", mac="02:00:00:00:07:01")
        stock.receive(db, main, router, serial_number="HAX8")
        item, spare = stock.find_items(db, query="hax7")[0], stock.find_items(db, query="hax8")[0]
        stock.issue_to_customer(db, customer_id=service.customer_id, service_id=service.id, item=item,
                                register_device=True)
        stock.issue_to_customer(db, customer_id=service.customer_id, item=spare)  # not tied to the service
        old_customer = service.customer_id
        heir = customers.create_customer(db, kind="person", first_name="Eva", last_name="Nová")
        lifecycle.transfer(db, service, heir.id, effective=date.today(), reason="Převod")
        db.commit()
        new = lifecycle.transferred_to(db, service)
        db.refresh(item)
        db.refresh(spare)
        assert (item.state, item.customer_id, item.service_id) == ("at_customer", heir.id, new.id)
        assert (spare.customer_id, spare.service_id) == (old_customer, None)  # stays with the old customer
        assert stock.items_of_customer(db, heir.id) == [item]
        # the registered device is linked to the new service only
        assert db.scalars(select(ServiceDevice.service_id).where(ServiceDevice.device_id == item.device_id)
                          ).all() == [new.id]
        moves = stock.movements_of(db, item)
        assert [(m.kind, m.customer_id, m.service_id, m.reference) for m in moves] == [
            ("received", None, None, None), ("issued_customer", old_customer, service.id, None),
            ("issued_customer", heir.id, new.id, f"service-transfer:{service.id}")]
        assert moves[-1].from_warehouse_id is None and moves[-1].to_warehouse_id is None
        assert levels_by_code(db) == {}  # no warehouse level changed
        # a second call finds nothing installed for the old service any more
        assert stock.follow_service_transfer(db, service, new) == []


def test_the_item_page_names_a_hand_over_by_transfer(client, db, world, in_loc, store, make_service):
    service = make_service()
    with in_loc(world.loc_a):
        stock.receive(db, store["main"], store["router"], serial_number="HAX9")
        item = stock.find_items(db, query="hax9")[0]
        stock.issue_to_customer(db, customer_id=service.customer_id, service_id=service.id, item=item)
        heir = customers.create_customer(db, kind="person", first_name="Eva", last_name="Nová")
        lifecycle.transfer(db, service, heir.id, effective=date.today())
        db.commit()
        item_id = item.id
    login(client, world.admin_a.email)
    assert post(client, "/location", {"location_id": world.loc_a.id}).status_code == 302
    page = client.get(f"/isp/stock/items/{item_id}").get_data(as_text=True)
    assert "service-transfer:" in page and "předán s převodem služby" in page


CSV_OK = (
    "article;serial_number;mac;quantity;configured_by_mango;note\n"
    "RB-HAPAX2;HAX100;02:00:00:00:03:01;;ano;Krabice 1\n"
    "rb-hapax2;HAX101;0200.0000.0302;1;ne;\n"
    "CAT6;;;25;;Kabely\n"
).encode("cp1250")


def test_csv_import_receives_a_delivery_once(db, world, in_loc, store):
    with in_loc(world.loc_a):
        result = import_received(db, CSV_OK, warehouse=store["main"], reference="DL-2025-7")
        assert (result.items, result.pieces, result.already_imported, result.lines) == (2, 25, False, [2, 3, 4])
        items = {i.serial_number: i for i in db.scalars(select(StockItem))}
        assert items["HAX100"].configured_by_mango and not items["HAX101"].configured_by_mango
        assert items["HAX101"].mac == "02:00:00:00:03:02"
        again = import_received(db, CSV_OK, warehouse=store["main"], reference="DL-2025-7")
        assert again.already_imported and levels_by_code(db) == {("MAIN", "RB-HAPAX2"): 2, ("MAIN", "CAT6"): 25}


def test_a_bad_csv_file_is_refused_whole_with_every_bad_line(db, world, in_loc, store):
    bad = (
        b"article,serial_number,mac,quantity\n"
        b"RB-HAPAX2,HAX200,,\n"          # fine
        b"NOPE,X,,\n"                    # unknown article
        b"RB-HAPAX2,,,\n"                # no serial number
        b"RB-HAPAX2,HAX200,,\n"          # the same serial twice in the file
        b"CAT6,,,-3\n"                   # bad quantity
        b"RB-HAPAX2,HAX201,zz:zz,\n"     # bad MAC
    )
    with in_loc(world.loc_a):
        with pytest.raises(CsvImportError) as exc:
            import_received(db, bad, warehouse=store["main"], reference="DL-BAD")
        assert [line for line, _ in exc.value.problems] == [3, 4, 5, 6, 7]
        assert db.scalar(select(func.count()).select_from(StockMovement)) == 0
        for data, match in ((b"", "empty"), (b"foo,bar\n1,2\n", "header"), (b"article\n", "no lines"),
                            (b"\x00\x01\x02", "not a CSV")):
            with pytest.raises(CsvImportError, match=match):
                import_received(db, data, warehouse=store["main"], reference="DL-X")
        with pytest.raises(CsvImportError, match="reference"):
            import_received(db, CSV_OK, warehouse=store["main"], reference=" ")


def test_the_import_command(app, db, world, in_loc, store, tmp_path):
    from mango_core.cli import main

    db.commit()
    path = tmp_path / "dodaci-list-7.csv"
    path.write_bytes(CSV_OK)
    runner = app.test_cli_runner()
    result = runner.invoke(main, ["isp", "stock", "import", str(path), "--location", "prg", "--warehouse", "main"])
    assert result.exit_code == 0, result.output
    assert "2 pieces with serial numbers, 25 counted pieces (delivery dodaci-list-7.csv)" in result.output
    result = runner.invoke(main, ["isp", "stock", "import", str(path), "--location", "PRG", "--warehouse", "MAIN"])
    assert result.exit_code == 0 and "nothing changed" in result.output
    result = runner.invoke(main, ["isp", "stock", "import", str(path), "--location", "PRG", "--warehouse", "NONE"])
    assert result.exit_code != 0 and "no warehouse" in result.output
    path.write_bytes(b"article;serial_number\nRB-HAPAX2;\n")
    result = runner.invoke(main, ["isp", "stock", "import", str(path), "--location", "PRG", "--warehouse", "MAIN",
                                  "--reference", "DL-8"])
    assert result.exit_code != 0 and "2: RB-HAPAX2 needs a serial number" in result.output
    with in_loc(world.loc_a):
        assert levels_by_code(db) == {("MAIN", "RB-HAPAX2"): 2, ("MAIN", "CAT6"): 25}
