"""Models and migrations agree, on whichever database the suite runs."""

import pytest

from mango_core.db.migrations import is_up_to_date, lineages, pending_diff, script_heads


def test_every_lineage_is_applied(mango):
    assert is_up_to_date(mango.db.engine, mango.plugins)


def test_autogenerate_finds_nothing(mango):
    for plugin, _folder in lineages(mango.plugins):
        assert pending_diff(mango.db.engine, plugin) == [], f"{plugin}: models and migrations differ"


def test_core_lineage_comes_first_and_has_one_head(mango):
    found = lineages(mango.plugins)
    assert found[0][0] == "core"
    for plugin, folder in found:
        assert len(script_heads(folder, plugin)) == 1, plugin


@pytest.mark.parametrize("statement", ["UPDATE core_auth_event SET detail = 'x'", "DELETE FROM core_auth_event"])
def test_auth_event_is_append_only_in_the_database(db, world, client, statement):
    from sqlalchemy import text

    from mango_core.testing.fixtures import login

    login(client, world.admin_a.email)
    assert db.execute(text("SELECT count(*) FROM core_auth_event")).scalar_one() > 0
    nested = db.begin_nested()
    with pytest.raises(Exception, match="append-only"):
        db.execute(text(statement))
    nested.rollback()
