"""Retention: per-location months, the job and the command drop old partitions / delete old blocks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from mango_core.tenancy import location_scope, operator_scope
from mango_core.tenancy.validators import InvalidValue
from mango_core.testing.fixtures import login, post
from mango_netflow.flows import FlowBatch
from mango_netflow.store import partitions, read
from mango_netflow.store.models import FlowBlock, StoreSettings
from mango_netflow.store.retention import months_before, retention_months, run_retention, save_retention
from mango_netflow.store.testing import sample_flows as make_flows
from mango_netflow.store.writer import FlowWriter

NOW = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def blocks_of(db, location_id: int) -> list[int]:  # noqa: ANN001
    with operator_scope():
        found = db.scalars(select(FlowBlock.t_first).where(FlowBlock.location_id == location_id))
        return sorted(t // partitions.DAY_MS for t in found)


def test_months_before_clamps_the_day():
    assert months_before(datetime(2026, 8, 31, 5, tzinfo=UTC), 6) == datetime(2026, 2, 28, 5, tzinfo=UTC)
    assert months_before(datetime(2026, 3, 15, tzinfo=UTC), 15) == datetime(2024, 12, 15, tzinfo=UTC)
    assert months_before(datetime(2024, 8, 29, tzinfo=UTC), 6) == datetime(2024, 2, 29, tzinfo=UTC)


def test_retention_setting_is_checked_and_per_location(db, world):
    with location_scope(world.loc_a.id):
        assert retention_months(db, world.loc_a.id) == 6
        for bad in ("0", "121", "six", "", "2.5"):
            with pytest.raises(InvalidValue):
                save_retention(db, world.loc_a.id, bad)
        save_retention(db, world.loc_a.id, " 12 ")
        assert retention_months(db, world.loc_a.id) == 12
    with location_scope(world.loc_b.id):
        assert retention_months(db, world.loc_b.id) == 6


@pytest.fixture
def aged(mango, db, world):
    """Blocks of A and B 8 months, 4 months and 1 day old; B keeps 3 months, A the default 6."""
    ages = {"old": NOW - timedelta(days=240), "middle": NOW - timedelta(days=120), "new": NOW - timedelta(days=1)}
    with FlowWriter(mango, max_flows=1000) as writer:
        for seed, (_name, moment) in enumerate(ages.items()):
            for loc in (world.loc_a, world.loc_b):
                writer.add(FlowBatch(loc.id, 1, make_flows(50, t0=ms(moment), seed=seed + loc.id)))
            writer.flush()
    with location_scope(world.loc_b.id):
        save_retention(db, world.loc_b.id, 3)
    db.commit()
    return {name: ms(moment) // partitions.DAY_MS for name, moment in ages.items()}


def test_retention_removes_per_location_and_keeps_the_rest(mango, db, world, aged):
    postgres = mango.db.dialect == "postgresql"
    with location_scope(world.loc_a.id):
        dry = run_retention(db, world.loc_a.id, now=NOW, dry_run=True)
        assert dry.deleted_blocks == 1 and dry.deleted_flows == 50
        assert len(blocks_of(db, world.loc_a.id)) == 3  # a dry run changes nothing
        result = run_retention(db, world.loc_a.id, now=NOW)
    assert result.deleted_blocks == 1 and result.cutoff == months_before(NOW, 6)
    assert blocks_of(db, world.loc_a.id) == [aged["middle"], aged["new"]]
    old_day = partitions.partition_name(partitions.day_of(aged["old"] * partitions.DAY_MS))
    middle_day = partitions.partition_name(partitions.day_of(aged["middle"] * partitions.DAY_MS))
    if postgres:  # every block of the 8-month-old day is past both locations' retention: the day goes whole
        assert result.dropped_partitions == [old_day]
        assert len(blocks_of(db, world.loc_b.id)) == 2
    else:
        assert result.dropped_partitions == []
        assert len(blocks_of(db, world.loc_b.id)) == 3
    with location_scope(world.loc_b.id):
        result_b = run_retention(db, world.loc_b.id, now=NOW)
    assert result_b.dropped_partitions == []  # A keeps its 4-month-old block in that day's partition
    assert blocks_of(db, world.loc_b.id) == [aged["new"]]
    assert blocks_of(db, world.loc_a.id) == [aged["middle"], aged["new"]]
    if postgres:
        names = {p.name for p in partitions.existing(db.connection())}
        assert old_day not in names and middle_day in names
        today = partitions.partition_name(NOW.date())
        ahead = partitions.partition_name(NOW.date() + timedelta(days=partitions.AHEAD_DAYS))
        assert {today, ahead} <= names  # the job also creates partitions ahead
    with location_scope(world.loc_a.id):  # again: nothing more to do
        again = run_retention(db, world.loc_a.id, now=NOW)
        assert (again.deleted_blocks, again.dropped_partitions) == (0, [])
        flows = read.flows(db, world.loc_a.id, NOW - timedelta(days=400), NOW)
    assert len(flows) == 100


def test_the_job_and_the_command(app, mango, db, world, aged):
    from mango_core.cli import main
    from mango_netflow.store.hooks import RETENTION_JOB

    assert RETENTION_JOB.id == "netflow:retention" and RETENTION_JOB.trigger["trigger"] == "cron"
    runner = app.test_cli_runner()
    result = runner.invoke(main, ["netflow", "retention", "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["dry_run"] and [r["location"] for r in payload["locations"]] == ["PRG"]  # netflow on in PRG only
    assert payload["locations"][0]["deleted_blocks"] == 1
    assert len(blocks_of(db, world.loc_a.id)) == 3
    result = runner.invoke(main, ["netflow", "retention"])
    assert result.exit_code == 0, result.output
    assert "PRG: removed" in result.output
    assert len(blocks_of(db, world.loc_a.id)) == 2
    from mango_core.scheduler.jobs import JobContext

    with location_scope(world.loc_b.id):  # the job's function, as the scheduler runs it for one location
        summary = RETENTION_JOB.func(JobContext(session=db, location_id=world.loc_b.id, job_id=RETENTION_JOB.id,
                                                settings={}))
    assert "blocks" in summary and len(blocks_of(db, world.loc_b.id)) == 1  # B keeps 3 months


def test_settings_page(app, client, db, world):
    login(client, world.admin_a.email)
    assert post(client, "/location", {"location_id": world.loc_a.id}).status_code == 302
    page = client.get("/netflow/store/")
    assert page.status_code == 200 and 'id="retention-form"' in page.get_data(as_text=True)
    assert post(client, "/netflow/store/", {"retention_months": "0"}, token_from="/netflow/store/").status_code == 302
    with location_scope(world.loc_a.id):
        assert retention_months(db, world.loc_a.id) == 6
    assert post(client, "/netflow/store/", {"retention_months": "9"}, token_from="/netflow/store/").status_code == 302
    with location_scope(world.loc_a.id):
        assert retention_months(db, world.loc_a.id) == 9
    with operator_scope():
        assert db.scalar(select(func.count()).select_from(StoreSettings)) == 1
    clerk = app.test_client()
    login(clerk, world.clerk_a.email)
    post(clerk, "/location", {"location_id": world.loc_a.id})
    assert clerk.get("/netflow/store/").status_code == 403
