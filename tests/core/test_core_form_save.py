"""``mango_core.web.forms.save``: the one way a view commits a service call made from a form."""

from __future__ import annotations

import pytest
from flask import get_flashed_messages
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField

from mango_core.tenancy.context import location_scope
from mango_core.tenancy.models import Partner
from mango_core.tenancy.validators import InvalidValue
from mango_core.web.forms import Saved, save
from mango_core.web.request import db as request_db


class NameForm(FlaskForm):
    class Meta:
        csrf = False

    name = StringField()


def _rename(partner_id: int, name: str) -> str:
    partner = request_db().get(Partner, partner_id)
    partner.name = name
    request_db().flush()
    if not name:
        raise InvalidValue("a name is required", field="name")
    return name.upper()


def _name_in_database(db, partner_id: int) -> str:  # noqa: ANN001
    db.expire_all()
    return db.scalar(select(Partner.name).where(Partner.id == partner_id))


def test_success_commits_flashes_and_returns_the_result(app, db, world):  # noqa: ANN001
    with app.test_request_context(), location_scope(world.loc_a.id):
        form = NameForm()
        saved = save(form, lambda: _rename(world.partner_a.id, "Alfa renamed"),
                     lambda value: f"Saved as {value}.")
        assert saved == Saved("ALFA RENAMED") and saved
        assert get_flashed_messages(with_categories=True) == [("success", "Saved as ALFA RENAMED.")]
        assert not form.errors
    assert _name_in_database(db, world.partner_a.id) == "Alfa renamed"


def test_invalid_value_rolls_back_and_lands_on_its_field(app, db, world):  # noqa: ANN001
    before = _name_in_database(db, world.partner_a.id)
    with app.test_request_context(), location_scope(world.loc_a.id):
        form = NameForm()
        assert save(form, lambda: _rename(world.partner_a.id, ""), "never shown") is None
        assert form.name.errors == ["a name is required"]
        assert get_flashed_messages() == []
    assert _name_in_database(db, world.partner_a.id) == before


def test_an_error_on_no_field_is_flashed(app, db, world):  # noqa: ANN001
    def refuse() -> None:
        raise InvalidValue("not now")

    with app.test_request_context(), location_scope(world.loc_a.id):
        assert save(NameForm(), refuse, "never shown") is None
        assert get_flashed_messages(with_categories=True) == [("danger", "not now")]


def test_other_errors_propagate(app, db, world):  # noqa: ANN001
    def crash() -> None:
        raise RuntimeError("bug")

    with app.test_request_context(), location_scope(world.loc_a.id), pytest.raises(RuntimeError):
        save(NameForm(), crash, "never shown")
