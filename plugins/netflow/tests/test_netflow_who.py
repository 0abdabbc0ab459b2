# ruff: noqa: F811  (pytest fixtures imported by name)
"""Who used an address (and port) at a time: the holder from the IPAM history and the CGNAT mapping,
confirmed by the flows stored around that moment — directly assigned addresses, a CGNAT public
address with a port, before and after an assignment changed hands."""

from __future__ import annotations

import pytest

from mango_netflow.queries import service as queries
from mango_netflow.queries.models import QueryLog
from mango_netflow.queries.testing import at, network, stored_flows  # noqa: F401

CLI = queries.Asker("cli", "tester")


def test_a_directly_assigned_address_before_and_after_it_changed_hands(db, world, in_loc, network):
    with in_loc(world.loc_a):
        answer = queries.who(db, "198.51.100.10", at(1, 720.5))
        [found] = answer.holders
        assert (found.holder.service_id, found.flows) == (network["a"].id, 2)
        answer = queries.who(db, "198.51.100.10", at(7, 61))
        [found] = answer.holders
        assert (found.holder.service_id, found.flows) == (network["b"].id, 1)
        # held by A on day 3, but no traffic then: still A, "no flows seen"
        [found] = queries.who(db, "198.51.100.10", at(3)).holders
        assert (found.holder.service_id, found.flows) == (network["a"].id, 0)
        # between the release and the next holder: nobody
        assert queries.who(db, "198.51.100.10", at(5, 720)).holders == []
        # the window: 4 minutes after the flow still confirms, 10 minutes after does not
        assert queries.who(db, "198.51.100.10", at(1, 725)).holders[0].flows == 2
        assert queries.who(db, "198.51.100.10", at(1, 735)).holders[0].flows == 0


def test_a_cgnat_public_address_and_port_resolve_to_the_subscriber(db, world, in_loc, network):
    with in_loc(world.loc_a):
        [found] = queries.who(db, "198.51.100.193", at(2, 600.5), port=5000).holders
        assert found.holder.service_id == network["c"].id
        assert (found.holder.nat.inside, found.holder.nat.first_port, found.flows) == ("100.64.0.1", 1024, 1)
        # a port of the same block but not used then: the holder without confirmation
        [found] = queries.who(db, "198.51.100.193", at(2, 600.5), port=6000).holders
        assert (found.holder.service_id, found.flows) == (network["c"].id, 0)
        # a port of another block: nobody holds it
        assert queries.who(db, "198.51.100.193", at(2, 600.5), port=20000).holders == []
        # without a port: everyone sharing the address, each confirmed by its inside address's flows
        [found] = queries.who(db, "198.51.100.193", at(2, 600.5)).holders
        assert (found.holder.service_id, found.flows) == (network["c"].id, 1)


def test_asking_logs_the_query_and_bad_input_neither_runs_nor_logs(db, world, in_loc, network):
    with in_loc(world.loc_a):
        answer, log = queries.ask_who(db, CLI, " PČR-123/2025 ", "198.51.100.10", at(1, 720.5), "")
        db.commit()
        assert (log.reference, log.kind, log.channel, log.operator, log.result_count) == (
            "PČR-123/2025", "who", "cli", "tester", 1)
        assert log.params == {"ip": "198.51.100.10", "port": None, "at": at(1, 720.5).isoformat()}
        assert answer.as_json()["holders"][0]["confirmed"] is True
        for reference, ip, port in (("", "198.51.100.10", None), ("R1", "not-an-ip", None),
                                    ("R1", "198.51.100.10", "70000"), ("a\nb", "198.51.100.10", None)):
            with pytest.raises(queries.QueryError):
                queries.ask_who(db, CLI, reference, ip, at(1), port)
        db.rollback()
        assert db.query(QueryLog).count() == 1


def test_an_address_of_another_location_is_not_found(db, world, in_loc, network):
    with in_loc(world.loc_b):
        assert queries.who(db, "198.51.100.10", at(1, 720.5)).holders == []
