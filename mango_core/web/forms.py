"""Form helpers shared by every module's Flask-WTF forms."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from flask import flash
from flask_wtf import FlaskForm

from mango_core.tenancy.validators import InvalidValue

T = TypeVar("T")

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


@dataclass(frozen=True)
class Saved(Generic[T]):
    """A service call that succeeded and was committed (always true), with what it returned."""

    value: T


def save(form: FlaskForm, action: Callable[[], T], message: str | Callable[[T], str] | None = None, *,
         aliases: Mapping[str, str] | None = None) -> Saved[T] | None:
    """Run the service call ``action`` of a submitted form in the request's session.

    It either succeeds — the session is committed, ``message`` (or ``message(result)``) flashed and
    the result returned as :class:`Saved` — or raises :class:`InvalidValue`: the session is rolled
    back, the error put on its field (:func:`form_error`), and ``None`` returned so the view shows
    the form again. Any other error propagates, and the request's session is discarded unsaved.
    """
    from mango_core.web.request import db

    session = db()
    try:
        result = action()
    except InvalidValue as exc:
        session.rollback()
        form_error(form, exc, aliases)
        return None
    session.commit()
    if message is not None:
        flash(message(result) if callable(message) else message, "success")
    return Saved(result)
