"""IPAM rules: nested prefixes and pools, assignments with history, conflicts, next-free allocation,
MAC bindings — what the database keeps and what it refuses."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, insert, select

from mango_isp.ipam import addresses as ad
from mango_isp.ipam import assignments as asg
from mango_isp.ipam import prefixes as px
from mango_isp.ipam.models import Assignment, MacBinding, Prefix
from mango_isp.ipam.prefixes import IpamError

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def cidrs(rows) -> list[str]:  # noqa: ANN001
    return [r.cidr for r in rows]


def test_prefixes_nest_and_rehang_when_one_comes_between(db, world, in_loc):
    with in_loc(world.loc_a):
        outer = px.create_prefix(db, prefix="10.0.0.0/8", kind="private")
        leaf = px.create_prefix(db, prefix="10.1.2.0/24")
        assert leaf.parent_id == outer.id
        middle = px.create_prefix(db, prefix="10.1.0.0/16")  # comes between: the /24 moves under it
        db.expire_all()
        assert middle.parent_id == outer.id and db.get(Prefix, leaf.id).parent_id == middle.id
        assert cidrs(px.list_prefixes(db)) == ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24"]
        assert cidrs(px.containing(db, 4, int(ad.parse_address("10.1.2.3")), 32)) == [
            "10.1.2.0/24", "10.1.0.0/16", "10.0.0.0/8"]
        with pytest.raises(IpamError, match="exists already"):
            px.create_prefix(db, prefix="10.1.0.0/16")
        with pytest.raises(IpamError, match="host bits"):
            px.create_prefix(db, prefix="10.1.0.1/16")
        with pytest.raises(IpamError, match="CGNAT"):
            px.create_prefix(db, prefix="2001:db8::/32", kind="cgnat")
        with pytest.raises(IpamError):
            px.create_prefix(db, prefix="10.9.0.0/16", kind="bogus")
        px.delete_prefix(db, db.get(Prefix, middle.id))  # the /24 goes back under the /8
        db.expire_all()
        assert db.get(Prefix, leaf.id).parent_id == outer.id


def test_pools_do_not_nest_and_take_existing_assignments(db, world, in_loc, make_service):
    service = make_service()
    with in_loc(world.loc_a):
        px.create_prefix(db, prefix="192.0.2.0/24", kind="public")
        single = asg.assign(db, service, "192.0.2.70", valid_from=at(0))
        wide = asg.assign(db, service, "192.0.2.8/29", valid_from=at(0))
        with pytest.raises(IpamError, match="192.0.2.8/29"):  # the /29 is not a /32 unit of the pool
            px.create_prefix(db, prefix="192.0.2.0/26", is_pool=True, unit_prefixlen=32)
        asg.release(db, wide, at=at(1))
        with pytest.raises(IpamError, match="192.0.2.8/29"):  # history too: a pool numbers every unit it holds
            px.create_prefix(db, prefix="192.0.2.0/26", is_pool=True, unit_prefixlen=32)
        pool = px.create_prefix(db, prefix="192.0.2.64/26", is_pool=True, unit_prefixlen=32)
        db.refresh(single)
        assert (single.pool_id, single.slot) == (pool.id, 6)
        with pytest.raises(IpamError, match="pools cannot nest"):
            px.create_prefix(db, prefix="192.0.2.64/27", is_pool=True)
        with pytest.raises(IpamError, match="pools cannot nest"):
            px.create_prefix(db, prefix="192.0.2.0/25", is_pool=True)
        with pytest.raises(IpamError):
            px.create_prefix(db, prefix="192.0.2.128/25", auto_assign=True)  # only a pool assigns on activation
        with pytest.raises(IpamError, match="2\\^62"):
            px.create_prefix(db, prefix="2001:db8::/32", is_pool=True, unit_prefixlen=128)
        with pytest.raises(IpamError, match="gateway"):
            px.create_prefix(db, prefix="192.0.2.128/26", gateway="192.0.2.1")


def test_assignment_history_answers_who_had_an_address_when(db, world, in_loc, make_service):
    first, second = make_service(), make_service()
    with in_loc(world.loc_a):
        px.create_prefix(db, prefix="198.51.100.0/24", kind="public")
        a = asg.assign(db, first, "198.51.100.10", valid_from=at(0), note="statická")
        with pytest.raises(IpamError, match="is assigned to service"):
            asg.assign(db, second, "198.51.100.10", valid_from=at(5))
        asg.release(db, a, at=at(10), reason="výměna")
        with pytest.raises(IpamError, match="was assigned to service"):  # overlaps the closed interval
            asg.assign(db, second, "198.51.100.10", valid_from=at(9))
        b = asg.assign(db, second, "198.51.100.10", valid_from=at(10))
        with pytest.raises(IpamError, match="ended already"):
            asg.release(db, a)
        db.commit()
        from mango_isp.ipam.lookup import who_had

        assert [h.service_id for h in who_had(db, "198.51.100.10", at(3))] == [first.id]
        assert [h.service_id for h in who_had(db, "198.51.100.10", at(10))] == [second.id]  # [from, to)
        assert [h.service_id for h in who_had(db, "198.51.100.10", at(9.99))] == [first.id]
        assert who_had(db, "198.51.100.10", at(-1)) == []
        assert who_had(db, "198.51.100.11", at(3)) == []
        history = asg.assignments_of(db, first.id)
        assert [(h.text, h.valid_from, h.valid_to, h.release_reason) for h in history] == [
            ("198.51.100.10", at(0), at(10), "výměna")]
        assert asg.assignments_of(db, second.id, with_history=False) == [b]
        # the service history on the customer card has both events
        from mango_core.history.models import HistoryEntry

        actions = list(db.scalars(select(HistoryEntry.action).where(HistoryEntry.entity == "service",
                                                                    HistoryEntry.entity_id == first.id,
                                                                    HistoryEntry.action.like("ip_%"))
                                  .order_by(HistoryEntry.id)))
        assert actions == ["ip_assigned", "ip_released"]


def test_nested_prefixes_conflict_with_single_addresses_both_ways(db, world, in_loc, make_service):
    one, two = make_service(), make_service()
    with in_loc(world.loc_a):
        px.create_prefix(db, prefix="203.0.113.0/24", kind="public")
        px.create_prefix(db, prefix="2001:db8:100::/48", kind="public")
        asg.assign(db, one, "203.0.113.16/29", valid_from=at(0))
        for inside in ("203.0.113.16", "203.0.113.23", "203.0.113.20/30", "203.0.113.0/27"):
            with pytest.raises(IpamError, match="203.0.113.16/29"):
                asg.assign(db, two, inside, valid_from=at(1))
        assert asg.assign(db, two, "203.0.113.24", valid_from=at(1)).text == "203.0.113.24"
        # the same network key with another length is caught too (the /32 at the /29's first address)
        asg.assign(db, one, "2001:db8:100:100::/64", valid_from=at(0))
        with pytest.raises(IpamError):
            asg.assign(db, two, "2001:db8:100:100::/56", valid_from=at(0))
        with pytest.raises(IpamError, match="lies in no prefix"):
            asg.assign(db, two, "192.168.1.1", valid_from=at(0))
        with pytest.raises(IpamError, match="before"):
            asg.assign(db, two, "203.0.113.30", valid_from=at(2), valid_to=at(1))


def test_the_database_refuses_two_open_assignments_of_one_address(db, world, in_loc, make_service):
    """Even a caller that skips the service's checks cannot hold one address twice at once."""
    one, two = make_service(), make_service()
    with in_loc(world.loc_a):
        px.create_prefix(db, prefix="203.0.113.0/24", kind="public")
        row = asg.assign(db, one, "203.0.113.5", valid_from=at(0))
        db.commit()
        from sqlalchemy.exc import IntegrityError

        with pytest.raises(IntegrityError), db.begin_nested():
            db.add(Assignment(service_id=two.id, family=4, network=row.network, last=row.last, prefixlen=32,
                              valid_from=at(1), origin="manual"))
            db.flush()
        # a closed one beside an open one is history, which the index allows
        asg.release(db, row, at=at(2))
        db.add(Assignment(service_id=two.id, family=4, network=row.network, last=row.last, prefixlen=32,
                          valid_from=at(3), origin="manual"))
        db.flush()


def test_pools_hand_out_the_next_free_unit_skipping_reserved_ones(db, world, in_loc, make_service):
    services = [make_service() for _ in range(5)]
    with in_loc(world.loc_a):
        pool = px.create_prefix(db, prefix="100.64.0.0/29", kind="cgnat", is_pool=True, unit_prefixlen=32,
                                gateway="100.64.0.1")
        got = [asg.allocate(db, s, pool, valid_from=at(0)).text for s in services]
        # .0 network, .1 gateway, .7 broadcast are never handed out; the pool has five addresses
        assert got == ["100.64.0.2", "100.64.0.3", "100.64.0.4", "100.64.0.5", "100.64.0.6"]
        assert px.usage(db, [pool], at(1))[pool.id].percent == 100
        with pytest.raises(IpamError, match="no free address"):
            asg.allocate(db, make_service(), pool, valid_from=at(1))
        with pytest.raises(IpamError, match="reserved"):
            asg.assign(db, services[0], "100.64.0.7", valid_from=at(5))
        with pytest.raises(IpamError, match="hands out /32"):
            asg.assign(db, services[0], "100.64.0.4/30", valid_from=at(5))
        # a released address in the middle is found again, the lowest first
        fourth = asg.assignments_of(db, services[3].id)[0]
        second = asg.assignments_of(db, services[1].id)[0]
        asg.release(db, fourth, at=at(2))
        asg.release(db, second, at=at(3))
        later = make_service()
        assert asg.allocate(db, later, pool, valid_from=at(4)).text == "100.64.0.3"
        # from a time before the release, the released address was not free yet
        assert asg.next_free_slot(db, pool, at(2.5)) == 5


def test_quarantine_keeps_a_released_address_from_the_next_customer(db, world, in_loc, make_service):
    a, b = make_service(), make_service()
    with in_loc(world.loc_a):
        pool = px.create_prefix(db, prefix="100.64.1.0/30", kind="cgnat", is_pool=True, unit_prefixlen=32,
                                quarantine_hours=48)
        first = asg.allocate(db, a, pool, valid_from=at(0))
        assert first.text == "100.64.1.1"
        asg.release(db, first, at=at(1))
        assert asg.allocate(db, b, pool, valid_from=at(2)).text == "100.64.1.2"  # .1 is in quarantine
        assert asg.next_free_slot(db, pool, at(2)) is None
        assert asg.next_free_slot(db, pool, at(3.1)) == 1


def test_next_free_in_a_large_pool_asks_a_few_indexed_questions(db, world, in_loc, make_service):
    """A /8 pool with hundreds of holders: the next free unit takes a bounded number of queries,
    and no query returns more than one row (nothing lists the pool)."""
    service = make_service()
    with in_loc(world.loc_a):
        pool = px.create_prefix(db, prefix="10.0.0.0/8", kind="private", is_pool=True, unit_prefixlen=32)
        rows = [{"location_id": world.loc_a.id, "service_id": service.id, "family": 4,
                 "network": ad.key((10 << 24) + slot), "last": ad.key((10 << 24) + slot), "prefixlen": 32,
                 "pool_id": pool.id, "slot": slot, "valid_from": at(0), "origin": "pool", "created_at": at(0)}
                for slot in list(range(1, 400)) + list(range(401, 700))]
        db.execute(insert(Assignment).execution_options(mango_tenant_stamped=True), rows)
        statements: list[str] = []

        def count(_conn, _cursor, statement, *_args):  # noqa: ANN001, ANN202
            statements.append(statement)

        engine = db.get_bind().engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            slot = asg.next_free_slot(db, pool, at(1))
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert slot == 400
        assert len(statements) <= 6, statements
        assert asg.allocate(db, service, pool, valid_from=at(1)).text == "10.0.1.144"  # slot 400
        assert asg.next_free_slot(db, pool, at(1)) == 700


def test_mac_bindings_have_history_and_no_double_binding(db, world, in_loc, make_service):
    one, two = make_service(), make_service()
    with in_loc(world.loc_a):
        px.create_prefix(db, prefix="198.51.100.0/24", kind="public")
        address = asg.assign(db, one, "198.51.100.7", valid_from=at(0))
        binding = asg.bind_mac(db, one, "00-1A-2B-3C-4D-5E", assignment_id=address.id, valid_from=at(0))
        assert binding.mac == "00:1a:2b:3c:4d:5e"
        with pytest.raises(IpamError, match="bound to service"):
            asg.bind_mac(db, two, "001a.2b3c.4d5e", valid_from=at(1))
        with pytest.raises(IpamError, match="MAC"):
            asg.bind_mac(db, two, "zz:zz", valid_from=at(1))
        with pytest.raises(IpamError, match="open assignment of this service"):
            asg.bind_mac(db, two, "00:1a:2b:3c:4d:5f", assignment_id=address.id)
        asg.release(db, address, at=at(3))  # the binding tied to it ends with it
        db.refresh(binding)
        assert binding.valid_to == at(3)
        assert asg.bind_mac(db, two, "00:1a:2b:3c:4d:5e", valid_from=at(3)).service_id == two.id
        from mango_isp.ipam.lookup import customers_by_mac

        assert customers_by_mac(db, "00:1A:2B:3C:4D:5E", at(4)) == {two.customer_id}
        assert customers_by_mac(db, "00:1A:2B:3C:4D:5E", at(1)) == {one.customer_id}
        assert db.scalar(select(func.count()).select_from(MacBinding)) == 2


def test_usage_counts_pools_children_and_direct_assignments(db, world, in_loc, make_service):
    service = make_service()
    with in_loc(world.loc_a):
        outer = px.create_prefix(db, prefix="192.0.2.0/24", kind="public")
        pool = px.create_prefix(db, prefix="192.0.2.0/26", kind="public", is_pool=True, unit_prefixlen=32)
        asg.allocate(db, service, pool, valid_from=at(0))
        asg.assign(db, service, "192.0.2.128/29", valid_from=at(0))
        usage = px.usage(db, [outer, pool], at(1))
        assert (usage[pool.id].used, usage[pool.id].total) == (1, 62)
        assert (usage[outer.id].used, usage[outer.id].total) == (64 + 8, 256)
        assert usage[outer.id].percent == 28
        assert px.usage(db, [outer], at(-1))[outer.id].used == 64  # nothing was assigned yet


def test_delete_is_refused_while_addresses_are_held_and_keeps_history(db, world, in_loc, make_service):
    service = make_service()
    with in_loc(world.loc_a):
        pool = px.create_prefix(db, prefix="192.0.2.0/28", kind="public", is_pool=True, unit_prefixlen=32)
        row = asg.allocate(db, service, pool, valid_from=at(0))
        with pytest.raises(IpamError, match="release them first"):
            px.delete_prefix(db, pool)
        asg.release(db, row, at=at(1))
        px.delete_prefix(db, pool)
        db.refresh(row)
        assert (row.pool_id, row.slot, row.text, row.valid_to) == (None, None, "192.0.2.1", at(1))


def test_gateway_changes_are_checked_against_assignments(db, world, in_loc, make_service):
    service = make_service()
    with in_loc(world.loc_a):
        prefix = px.create_prefix(db, prefix="192.0.2.0/24", kind="public")
        asg.assign(db, service, "192.0.2.1")
        with pytest.raises(IpamError, match="gateway address is assigned"):
            px.update_prefix(db, prefix, kind="public", gateway="192.0.2.1")
        changes = px.update_prefix(db, prefix, kind="public", gateway="192.0.2.254", description="Páteř")
        assert set(changes) == {"gateway", "description"}
        with pytest.raises(IpamError, match="gateway"):
            asg.assign(db, service, "192.0.2.254")


ON_POSTGRES = os.environ.get("MANGO_TEST_DATABASE_URL", "").startswith("postgresql")


@pytest.mark.postgres_only
@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL: set MANGO_TEST_DATABASE_URL=postgresql+psycopg://…")
def test_concurrent_allocations_from_one_pool_get_different_addresses(tmp_path):
    """Transactions allocating from one pool at once: the row lock of the pool's root makes the later
    ones wait and then see the earlier ones' addresses. Runs in a database of its own, since the
    other tests' data never commit."""
    import threading

    from sqlalchemy.orm import Session

    from mango_core.config import load_settings
    from mango_core.db.migrations import upgrade_all
    from mango_core.kernel import Mango
    from mango_core.services.models import Service
    from mango_core.tenancy import location_scope
    from mango_core.testing import live
    from mango_core.testing.factories import make_row
    from mango_core.testing.fixtures import build_world

    url, drop = live.server_database(tmp_path, "isp_race")
    mango = Mango.start(load_settings({"database_url": url, "plugins": ["isp"]}, instance_path=tmp_path))
    try:
        upgrade_all(mango.db.engine, mango.plugins, progress=lambda _line: None)
        with Session(mango.db.engine) as session:
            location_id = build_world(session, mango).loc_a.id
            with location_scope(location_id):
                pool_id = px.create_prefix(session, prefix="100.64.2.0/24", kind="cgnat", is_pool=True,
                                           unit_prefixlen=32).id
                service_ids = [make_row(session, Service).id for _ in range(4)]
            session.commit()
        barrier = threading.Barrier(len(service_ids))
        got: list[str] = []
        errors: list[BaseException] = []

        def worker(service_id: int) -> None:
            try:
                with Session(mango.db.engine) as session, location_scope(location_id):
                    service, pool = session.get(Service, service_id), session.get(Prefix, pool_id)
                    barrier.wait()
                    row = asg.allocate(session, service, pool, valid_from=at(0))
                    session.commit()
                    got.append(row.text)
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(sid,)) for sid in service_ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors, errors
        assert sorted(got) == ["100.64.2.1", "100.64.2.2", "100.64.2.3", "100.64.2.4"]
    finally:
        mango.db.dispose()
        drop()


def test_lookups_by_address_use_the_index(db, world, in_loc, make_service):
    """SQLite's plan for "who had X" searches the address index (PostgreSQL plans tiny tables by scans,
    so the plan is asserted where it is stable)."""
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("query plans of tiny tables on PostgreSQL prefer scans")
    from mango_isp.ipam.lookup import who_had

    service = make_service()
    with in_loc(world.loc_a):
        px.create_prefix(db, prefix="198.51.100.0/24", kind="public")
        asg.assign(db, service, "198.51.100.9", valid_from=at(0))
        captured: list[tuple[str, object]] = []

        def grab(_conn, _cursor, statement, parameters, *_args):  # noqa: ANN001, ANN202
            if "FROM isp_assignment" in statement:
                captured.append((statement, parameters))

        connection = db.connection()
        event.listen(connection.engine, "before_cursor_execute", grab)
        try:
            assert [h.service_id for h in who_had(db, "198.51.100.9", at(1))] == [service.id]
        finally:
            event.remove(connection.engine, "before_cursor_execute", grab)
        statement, parameters = captured[0]
        plan = " ".join(str(row) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}",
                                                                        parameters))
        assert "ix_isp_assignment_lookup" in plan or "uq_isp_assignment_open" in plan, plan
