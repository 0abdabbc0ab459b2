"""Form helpers shared by every module's Flask-WTF forms."""

from __future__ import annotations

from collections.abc import Mapping

from flask import flash
from flask_wtf import FlaskForm

from mango_core.tenancy.validators import InvalidValue

try:
    from wtforms.fields.choices import SelectChoice
except ImportError:  # WTForms < 3.3 takes (value, label) pairs
    SelectChoice = None


def options(pairs: list[tuple]) -> list:
    """Select choices in the form the installed WTForms prefers."""
    return [SelectChoice(value, label) if SelectChoice else (value, label) for value, label in pairs]


def form_error(form: FlaskForm, exc: InvalidValue, aliases: Mapping[str, str] | None = None) -> None:
    """Put a service error on its form field, or flash it when it belongs to no field.

    ``aliases`` maps a service's field name to the form's where they differ.
    """
    name = (aliases or {}).get(exc.field, exc.field) if exc.field else None
    field = getattr(form, name, None) if name else None
    if field is not None:
        field.errors = [*field.errors, str(exc)]
    else:
        flash(str(exc), "danger")
