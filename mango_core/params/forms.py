"""Forms for parameter values, built at run time from definitions (Flask-WTF).

Every field is checked by its parameter's own parser, so forms, the API and imports share one set of
rules and messages. :func:`form_values` hands the entered values to
:func:`~mango_core.params.values.validate_values`, which stays the authority (defaults, unknown keys).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, SelectField, StringField
from wtforms.fields.core import UnboundField
from wtforms.validators import DataRequired, ValidationError
from wtforms.widgets import DateInput, NumberInput, TextInput

from mango_core.params.definitions import ParamDef
from mango_core.params.errors import ParamValueError
from mango_core.params.types import TEXT_MAX_LENGTH, JSONValue, Resolvers, is_empty
from mango_core.params.values import REQUIRED
from mango_core.web.forms import options


def _attr(key: str) -> str:
    """The form attribute of a parameter: a key may be ``data`` or ``errors``, which a form has already.

    The HTML name stays the key (with the form's prefix: ``p-speed``).
    """
    return f"param_{key}"


class _Parses:
    """A WTForms validator: the entered value must parse as its parameter (emptiness is checked apart)."""

    def __init__(self, pdef: ParamDef, resolvers: Resolvers | None):
        self.pdef = pdef
        self.resolvers = resolvers

    def __call__(self, _form: FlaskForm, field: Field) -> None:
        if is_empty(field.data):
            return
        try:
            self.pdef.parse(field.data, resolvers=self.resolvers)
        except ParamValueError as exc:
            raise ValidationError(str(exc)) from exc


def _input(pdef: ParamDef) -> tuple[Any, dict[str, Any]]:
    """The widget and its HTML attributes (hints for the browser; the server checks anyway)."""
    bounds = {name: getattr(pdef, name) for name in ("min", "max") if getattr(pdef, name) is not None}
    if pdef.type == "integer":
        return NumberInput(step=1), bounds
    if pdef.type == "decimal":
        step = "any" if pdef.places is None else format(Decimal(1).scaleb(-pdef.places), "f")
        return NumberInput(step=step), {name: format(bound, "f") for name, bound in bounds.items()}
    if pdef.type == "date":
        return DateInput(), {name: bound.isoformat() for name, bound in bounds.items()}
    if pdef.type == "text":
        return TextInput(), {"maxlength": pdef.max if pdef.max is not None else TEXT_MAX_LENGTH}
    return TextInput(), {}


def _field(pdef: ParamDef, resolvers: Resolvers | None) -> UnboundField:
    common: dict[str, Any] = {
        "label": f"{pdef.label} ({pdef.unit})" if pdef.unit else pdef.label,
        "description": pdef.help,
        "name": pdef.key,
    }
    if pdef.type == "boolean":
        return BooleanField(**common)
    validators = [_Parses(pdef, resolvers)]
    if pdef.required:
        validators.insert(0, DataRequired(message=_l(REQUIRED)))
    if pdef.type == "choice":
        blank = [] if pdef.required and pdef.default is not None else [("", "—")]
        return SelectField(choices=options(blank + list(pdef.choices)), validate_choice=False,
                           validators=validators, **common)
    widget, attributes = _input(pdef)
    return StringField(validators=validators, widget=widget, render_kw=attributes, **common)


def _initial(pdef: ParamDef, stored: JSONValue) -> Any:
    if pdef.type == "boolean":
        return bool(stored)
    return "" if stored is None else str(stored)


def build_form(defs: Iterable[ParamDef], values: Mapping[str, JSONValue] | None = None, *, prefix: str = "p",
               only_customer_editable: bool = False, resolvers: Resolvers | None = None,
               **form_kwargs: Any) -> FlaskForm:
    """A form with one field per parameter, in definition order.

    ``values`` are stored (JSON-safe) values to edit; without them the defaults are filled in.
    ``only_customer_editable`` keeps the parameters a customer may change in Selfcare (then validate
    the result with ``partial=True``). ``form_kwargs`` go to the form (``formdata``, ``meta``…);
    on a POST the request's form data is read as usual.
    """
    shown = [pdef for pdef in defs if pdef.customer_editable or not only_customer_editable]
    form_class = type("ParamForm", (FlaskForm,), {_attr(pdef.key): _field(pdef, resolvers) for pdef in shown})
    data = {
        _attr(pdef.key): _initial(pdef, pdef.to_json(pdef.default) if values is None else values.get(pdef.key))
        for pdef in shown
    }
    return form_class(prefix=prefix, data=data, **form_kwargs)


def field_for(form: FlaskForm, key: str) -> Field | None:
    """The field of parameter ``key`` (``None`` when the form does not show it)."""
    return form[_attr(key)] if _attr(key) in form else None


def form_values(form: FlaskForm, defs: Iterable[ParamDef]) -> dict[str, Any]:
    """The entered values by key, for :func:`~mango_core.params.values.validate_values`."""
    return {pdef.key: field.data for pdef in defs if (field := field_for(form, pdef.key)) is not None}


def attach_errors(form: FlaskForm, errors: Mapping[str, str]) -> dict[str, str]:
    """Show the errors of a :class:`~mango_core.params.errors.ParamValidationError` at their fields.

    Returns those that have no field in the form (to be shown above it).
    """
    rest = {}
    for key, message in errors.items():
        field = field_for(form, key)
        if field is None:
            rest[key] = message
        else:
            field.errors = [*field.errors, message]
    return rest
